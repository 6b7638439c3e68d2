//! Properties every SMT keeps, over generated schemas and records: it leaves the parts of a record it
//! does not own exactly as they were, and what it outputs validates against the schema it outputs.

use connect_core::config::Props;
use connect_core::data::{Decimal, Schema, SchemaBuilder, SchemaType, Struct, Value};
use connect_core::record::{ConnectRecord, Headers, SourceRecord};
use connect_core::registry::Registry;
use connect_core::transform::TransformChain;
use proptest::prelude::*;

/// One generated field: its type, whether optional, whether null, and raw material for its value.
#[derive(Debug, Clone)]
struct FieldSpec {
    kind: u8,
    optional: bool,
    null: bool,
    n: i64,
    s: String,
}

const KINDS: u8 = 11;

fn schema_of(kind: u8, optional: bool) -> Schema {
    let b = match kind {
        0 => SchemaBuilder::new(SchemaType::Int8),
        1 => SchemaBuilder::new(SchemaType::Int16),
        2 => SchemaBuilder::new(SchemaType::Int32),
        3 => SchemaBuilder::new(SchemaType::Int64),
        4 => SchemaBuilder::new(SchemaType::Float64),
        5 => SchemaBuilder::new(SchemaType::Boolean),
        6 => SchemaBuilder::new(SchemaType::String),
        7 => SchemaBuilder::new(SchemaType::Bytes),
        8 => Schema::date(),
        9 => Schema::timestamp(),
        _ => Schema::decimal(2),
    };
    if optional {
        b.optional().build()
    } else {
        b.build()
    }
}

fn value_of(f: &FieldSpec) -> Value {
    if f.null && f.optional {
        return Value::Null;
    }
    match f.kind {
        0 => Value::Int8(f.n as i8),
        1 => Value::Int16(f.n as i16),
        2 => Value::Int32(f.n as i32),
        3 => Value::Int64(f.n),
        4 => Value::Float64(f.n as f64 / 7.0),
        5 => Value::Boolean(f.n % 2 == 0),
        6 => Value::String(f.s.clone()),
        7 => Value::Bytes(f.s.clone().into_bytes().into()),
        8 => Value::Date((f.n % 100_000) as i32),
        9 => Value::Timestamp(f.n % 4_000_000_000_000),
        _ => Value::Decimal(Decimal::new(i128::from(f.n), 2)),
    }
}

fn field_spec() -> impl Strategy<Value = FieldSpec> {
    (
        0..KINDS,
        any::<bool>(),
        any::<bool>(),
        any::<i64>(),
        "[a-zA-Z0-9 @.-]{0,12}",
    )
        .prop_map(|(kind, optional, null, n, s)| FieldSpec {
            kind,
            optional,
            null,
            n,
            s,
        })
}

/// A record with a generated struct value (and a nested struct field), a key, headers and metadata.
fn record(fields: &[FieldSpec], key: &str) -> SourceRecord {
    let inner = SchemaBuilder::struct_()
        .optional()
        .field("a", Schema::optional_string())
        .field("b", Schema::int32())
        .build();
    let mut b = SchemaBuilder::struct_().name("gen.Value");
    for (i, f) in fields.iter().enumerate() {
        b = b.field(format!("f{i}"), schema_of(f.kind, f.optional));
    }
    let schema = b.field("nested", inner.clone()).build();
    let mut st = Struct::new(schema.clone());
    for (i, f) in fields.iter().enumerate() {
        st.put(&format!("f{i}"), value_of(f)).unwrap();
    }
    let mut n = Struct::new(inner);
    n.put("a", "x").unwrap();
    n.put("b", 5i32).unwrap();
    st.put("nested", Value::Struct(n)).unwrap();
    let mut headers = Headers::new();
    headers.add_string("trace", "t-1");
    SourceRecord {
        record: ConnectRecord {
            topic: "clinical.gen".into(),
            kafka_partition: Some(1),
            key_schema: Some(Schema::string()),
            key: Value::String(key.to_owned()),
            value_schema: Some(schema),
            value: Value::Struct(st),
            timestamp: Some(1_700_000_000_000),
            headers,
        },
        ..Default::default()
    }
}

fn chain(pairs: &[(String, String)]) -> TransformChain<SourceRecord> {
    let mut r = Registry::with_builtins();
    connect_smt::register(&mut r);
    let mut props: Props = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    props.set("transforms", "x");
    r.transform_chain(&props).unwrap()
}

/// Which parts a transform may change.
#[derive(Debug, Clone, Copy, Default)]
struct Owns {
    key: bool,
    value: bool,
    headers: bool,
    topic: bool,
}

const VALUE: Owns = Owns {
    key: false,
    value: true,
    headers: false,
    topic: false,
};

/// The SMT configs under test, with the parts each owns. Field lists are built from the generated
/// schema so that each config is valid for it.
fn configs(fields: &[FieldSpec], pick: &[bool]) -> Vec<(Vec<(String, String)>, Owns)> {
    let picked: Vec<String> = (0..fields.len())
        .filter(|i| pick.get(*i).copied().unwrap_or(false))
        .map(|i| format!("f{i}"))
        .collect();
    let some = if picked.is_empty() {
        "f0".to_owned()
    } else {
        picked.join(",")
    };
    let numeric: Vec<String> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind <= 4)
        .map(|(i, _)| format!("f{i}:string"))
        .collect();
    let ts = fields
        .iter()
        .position(|f| f.kind == 9)
        .map(|i| format!("f{i}"));
    let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (format!("transforms.x.{k}"), v.to_string()))
            .collect()
    };
    let mut out = vec![
        (kv(&[("type", "MaskField$Value"), ("fields", &some)]), VALUE),
        (
            kv(&[
                ("type", "ReplaceField$Value"),
                ("exclude", &some),
                ("renames", "nested:inner"),
            ]),
            VALUE,
        ),
        (
            kv(&[
                ("type", "InsertField$Value"),
                ("topic.field", "src_topic"),
                ("timestamp.field", "ts?"),
                ("static.field", "origin"),
                ("static.value", "gen"),
            ]),
            VALUE,
        ),
        (
            kv(&[("type", "HoistField$Value"), ("field", "wrapped")]),
            VALUE,
        ),
        (kv(&[("type", "Flatten$Value"), ("delimiter", "_")]), VALUE),
        (
            kv(&[
                ("type", "SetSchemaMetadata$Value"),
                ("schema.name", "renamed"),
                ("schema.version", "3"),
            ]),
            VALUE,
        ),
        (
            kv(&[("type", "ExtractField$Value"), ("field", "nested")]),
            VALUE,
        ),
        (
            kv(&[
                ("type", "Deidentify$Value"),
                ("remove.fields", &some),
                ("redact.fields", "nested.a"),
            ]),
            VALUE,
        ),
        (
            kv(&[("type", "ValueToKey"), ("fields", &some)]),
            Owns {
                key: true,
                ..Default::default()
            },
        ),
        (
            kv(&[
                ("type", "HeaderFrom$Value"),
                ("fields", "nested"),
                ("headers", "n"),
                ("operation", "copy"),
            ]),
            Owns {
                headers: true,
                ..Default::default()
            },
        ),
        (
            kv(&[
                ("type", "InsertHeader"),
                ("header", "h"),
                ("value.literal", "v"),
            ]),
            Owns {
                headers: true,
                ..Default::default()
            },
        ),
        (
            kv(&[
                ("type", "RegexRouter"),
                ("regex", "clinical\\.(.*)"),
                ("replacement", "deid.$1"),
            ]),
            Owns {
                topic: true,
                ..Default::default()
            },
        ),
        (
            kv(&[
                ("type", "TimestampRouter"),
                ("topic.format", "${topic}-${timestamp}"),
                ("timestamp.format", "yyyyMMdd"),
            ]),
            Owns {
                topic: true,
                ..Default::default()
            },
        ),
    ];
    if !numeric.is_empty() {
        out.push((
            kv(&[("type", "Cast$Value"), ("spec", &numeric.join(","))]),
            VALUE,
        ));
    }
    if let Some(f) = ts {
        out.push((
            kv(&[
                ("type", "TimestampConverter$Value"),
                ("field", &f),
                ("target.type", "string"),
                ("format", "yyyy-MM-dd HH:mm:ss.SSS"),
            ]),
            VALUE,
        ));
    }
    out
}

fn validates(schema: &Option<Schema>, value: &Value) -> Result<(), String> {
    match schema {
        Some(s) => s.validate_value(value).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn smts_keep_what_they_do_not_own_and_output_valid_data(
        fields in prop::collection::vec(field_spec(), 1..12),
        pick in prop::collection::vec(any::<bool>(), 12),
        key in "[A-Z0-9]{1,8}",
    ) {
        let all = configs(&fields, &pick);
        let mut applied = 0;
        for (cfg, owns) in &all {
            let (cfg, owns) = (cfg, *owns);
            let input = record(&fields, &key);
            let c = chain(cfg);
            let out = c.apply(input.clone());
            let out = match out {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    // Some generated values are legitimately out of reach of a config (a Cast of a
                    // float field that does not fit); what matters is a data error, not a panic.
                    prop_assert!(matches!(e.error, connect_core::error::ConnectError::Data(_)), "{cfg:?}: {}", e.error);
                    continue;
                }
            };
            applied += 1;
            let (i, o) = (&input.record, &out.record);
            if !owns.key {
                prop_assert_eq!(&i.key, &o.key, "{:?} changed the key", cfg);
                prop_assert_eq!(&i.key_schema, &o.key_schema, "{:?}", cfg);
            }
            if !owns.value {
                prop_assert_eq!(&i.value, &o.value, "{:?} changed the value", cfg);
                prop_assert_eq!(&i.value_schema, &o.value_schema, "{:?}", cfg);
            }
            if !owns.headers {
                prop_assert_eq!(&i.headers, &o.headers, "{:?} changed the headers", cfg);
            }
            if !owns.topic {
                prop_assert_eq!(&i.topic, &o.topic, "{:?} changed the topic", cfg);
            }
            prop_assert_eq!(i.kafka_partition, o.kafka_partition);
            prop_assert_eq!(i.timestamp, o.timestamp);
            prop_assert_eq!(&input.source_partition, &out.source_partition);
            prop_assert_eq!(&input.source_offset, &out.source_offset);
            let v = validates(&o.value_schema, &o.value);
            prop_assert!(v.is_ok(), "{:?}: value does not validate: {:?}", cfg, v);
            let k = validates(&o.key_schema, &o.key);
            prop_assert!(k.is_ok(), "{:?}: key does not validate: {:?}", cfg, k);
            for h in o.headers.iter() {
                let hv = validates(&h.schema, &h.value);
                prop_assert!(hv.is_ok(), "{:?}: header {} does not validate: {:?}", cfg, h.key, hv);
            }
        }
        // The configs are built to fit the schema: nearly all of them must have run.
        prop_assert!(applied + 2 >= all.len(), "only {applied} of {} configs applied", all.len());
    }
}
