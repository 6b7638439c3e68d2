//! Behaviour of the SMTs as Kafka Connect's and Debezium's test suites describe it.

use connect_core::config::Props;
use connect_core::data::{Decimal, Map, Schema, SchemaBuilder, Struct, Value};
use connect_core::record::{
    ConnectRecord, SinkRecord, SourceRecord, TimestampType, TopicPartitionOffset,
};
use connect_core::registry::Registry;
use connect_core::transform::TransformChain;

fn chain<R: connect_core::registry::ChainRecord>(pairs: &[(&str, &str)]) -> TransformChain<R> {
    let mut r = Registry::with_builtins();
    connect_smt::register(&mut r);
    let props: Props = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    r.transform_chain(&props).unwrap()
}

fn chain_err(pairs: &[(&str, &str)]) -> String {
    let mut r = Registry::with_builtins();
    connect_smt::register(&mut r);
    let props: Props = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    r.transform_chain::<SourceRecord>(&props)
        .err()
        .unwrap()
        .to_string()
}

fn src(
    key: Value,
    key_schema: Option<Schema>,
    value: Value,
    value_schema: Option<Schema>,
) -> SourceRecord {
    SourceRecord {
        record: ConnectRecord {
            topic: "t".into(),
            kafka_partition: Some(2),
            key,
            key_schema,
            value,
            value_schema,
            timestamp: Some(1_700_000_000_000),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn map(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(*k, v.clone());
    }
    Value::Map(m)
}

fn patient() -> (Schema, Value) {
    let s = SchemaBuilder::struct_()
        .field("mrn", Schema::string())
        .field("ssn", Schema::optional_string())
        .field("age", Schema::int32())
        .field("balance", Schema::decimal(2).build())
        .field("dob", Schema::date().build())
        .build();
    let mut v = Struct::new(s.clone());
    v.put("mrn", "M1").unwrap();
    v.put("ssn", "123-45-6789").unwrap();
    v.put("age", 44i32).unwrap();
    v.put("balance", Value::Decimal(Decimal::new(1050, 2)))
        .unwrap();
    v.put("dob", Value::Date(3000)).unwrap();
    (s, Value::Struct(v))
}

#[test]
fn extract_field_key_schemaless_and_struct() {
    let c = chain::<SourceRecord>(&[
        ("transforms", "x"),
        (
            "transforms.x.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        ),
        ("transforms.x.field", "providerId"),
    ]);
    let r = c
        .apply(src(
            map(&[("providerId", "P-1".into()), ("x", 1i64.into())]),
            None,
            Value::Null,
            None,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(r.record.key, Value::from("P-1"));
    assert!(r.record.key_schema.is_none());
    let missing = c
        .apply(src(map(&[]), None, Value::Null, None))
        .unwrap()
        .unwrap();
    assert_eq!(missing.record.key, Value::Null);
    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "x"),
        ("transforms.x.type", "ExtractField$Value"),
        ("transforms.x.field", "mrn"),
    ]);
    let r = c
        .apply(src(Value::Null, None, v.clone(), Some(s.clone())))
        .unwrap()
        .unwrap();
    assert_eq!(r.record.value, Value::from("M1"));
    assert_eq!(r.record.value_schema, Some(Schema::string()));
    let c = chain::<SourceRecord>(&[
        ("transforms", "x"),
        ("transforms.x.type", "ExtractField$Value"),
        ("transforms.x.field", "nope"),
    ]);
    let e = c.apply(src(Value::Null, None, v, Some(s))).unwrap_err();
    assert!(e.error.to_string().contains("Unknown field: nope"));
    let e = c
        .apply(src(Value::Null, None, Value::from("text"), None))
        .unwrap_err();
    assert!(
        e.error.to_string().contains("Only Map objects supported"),
        "{}",
        e.error
    );
}

#[test]
fn extract_field_v2_nested_path() {
    let c = chain::<SourceRecord>(&[
        ("transforms", "x"),
        ("transforms.x.type", "ExtractField$Value"),
        ("transforms.x.field", "PID.`3.1`"),
        ("transforms.x.field.syntax.version", "V2"),
    ]);
    let v = map(&[("PID", map(&[("3.1", "12345".into())]))]);
    assert_eq!(
        c.apply(src(Value::Null, None, v, None))
            .unwrap()
            .unwrap()
            .record
            .value,
        Value::from("12345")
    );
}

#[test]
fn mask_field_type_aware_and_replacement() {
    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "m"),
        ("transforms.m.type", "MaskField$Value"),
        ("transforms.m.fields", "ssn,age,balance,dob"),
    ]);
    let r = c
        .apply(src(Value::Null, None, v.clone(), Some(s.clone())))
        .unwrap()
        .unwrap();
    let st = r.record.value.as_struct().unwrap();
    assert_eq!(st.get("ssn"), Some(&Value::from("")));
    assert_eq!(st.get("age"), Some(&Value::Int32(0)));
    assert_eq!(st.get("balance"), Some(&Value::Decimal(Decimal::new(0, 2))));
    assert_eq!(st.get("dob"), Some(&Value::Date(0)));
    assert_eq!(st.get("mrn"), Some(&Value::from("M1")));
    assert!(st.validate().is_ok());
    let c = chain::<SourceRecord>(&[
        ("transforms", "m"),
        ("transforms.m.type", "MaskField$Value"),
        ("transforms.m.fields", "ssn"),
        ("transforms.m.replacement", "***-**-****"),
    ]);
    let r = c
        .apply(src(
            Value::Null,
            None,
            map(&[("ssn", "123-45-6789".into())]),
            None,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(r.record.value, map(&[("ssn", "***-**-****".into())]));
    let c = chain::<SourceRecord>(&[
        ("transforms", "m"),
        ("transforms.m.type", "MaskField$Value"),
        ("transforms.m.fields", "age"),
        ("transforms.m.replacement", "abc"),
    ]);
    assert!(
        c.apply(src(Value::Null, None, v, Some(s))).is_err(),
        "bad replacement for int is a data error"
    );
    assert!(chain_err(&[
        ("transforms", "m"),
        ("transforms.m.type", "MaskField$Value")
    ])
    .contains("transforms.m.fields"));
}

#[test]
fn insert_field_struct_and_map_with_required_and_optional() {
    let (s, v) = patient();
    let c = chain::<SinkRecord>(&[
        ("transforms", "i"),
        ("transforms.i.type", "InsertField$Value"),
        ("transforms.i.topic.field", "topic!"),
        ("transforms.i.offset.field", "offset"),
        ("transforms.i.static.field", "source"),
        ("transforms.i.static.value", "ehr-a"),
    ]);
    let rec = SinkRecord {
        record: ConnectRecord {
            topic: "clinical".into(),
            value: v,
            value_schema: Some(s),
            ..Default::default()
        },
        kafka_offset: 42,
        timestamp_type: TimestampType::CreateTime,
        original: TopicPartitionOffset {
            topic: "clinical".into(),
            partition: 0,
            offset: 42,
        },
    };
    let r = c.apply(rec).unwrap().unwrap();
    let st = r.record.value.as_struct().unwrap();
    assert_eq!(st.get("topic"), Some(&Value::from("clinical")));
    assert_eq!(st.get("offset"), Some(&Value::Int64(42)));
    assert_eq!(st.get("source"), Some(&Value::from("ehr-a")));
    assert!(!st.schema().field("topic").unwrap().schema().is_optional());
    assert!(st.schema().field("offset").unwrap().schema().is_optional());
    assert!(st.validate().is_ok());
    // A source record has no Kafka offset: optional offset field is null, required would fail.
    let c = chain::<SourceRecord>(&[
        ("transforms", "i"),
        ("transforms.i.type", "InsertField$Value"),
        ("transforms.i.offset.field", "o!"),
    ]);
    assert!(c.apply(src(Value::Null, None, map(&[]), None)).is_err());
    let tomb = c
        .apply(src(Value::Null, None, Value::Null, None))
        .unwrap()
        .unwrap();
    assert_eq!(tomb.record.value, Value::Null);
}

#[test]
fn value_to_key_struct() {
    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "k"),
        ("transforms.k.type", "ValueToKey"),
        ("transforms.k.fields", "mrn,age"),
    ]);
    let r = c
        .apply(src(Value::Null, None, v, Some(s)))
        .unwrap()
        .unwrap();
    let k = r.record.key.as_struct().unwrap();
    assert_eq!(k.get("mrn"), Some(&Value::from("M1")));
    assert_eq!(k.get("age"), Some(&Value::Int32(44)));
    assert_eq!(r.record.key_schema.unwrap().fields().len(), 2);
}

#[test]
fn filter_with_predicate_and_negate() {
    let pairs = [
        ("transforms", "drop"),
        (
            "transforms.drop.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.drop.predicate", "isTest"),
        ("predicates", "isTest"),
        (
            "predicates.isTest.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        ("predicates.isTest.pattern", "test\\..*"),
    ];
    let c = chain::<SourceRecord>(&pairs);
    let mut r = src(Value::Null, None, map(&[]), None);
    r.record.topic = "test.x".into();
    assert!(c.apply(r.clone()).unwrap().is_none());
    r.record.topic = "clinical.x".into();
    assert!(c.apply(r.clone()).unwrap().is_some());
    let mut negated = pairs.to_vec();
    negated.push(("transforms.drop.negate", "true"));
    let c = chain::<SourceRecord>(&negated);
    assert!(c.apply(r).unwrap().is_none());
    assert!(chain_err(&[
        ("transforms", "f"),
        ("transforms.f.type", "Filter"),
        ("transforms.f.predicate", "missing")
    ])
    .contains("transforms.f.predicate"));
}

fn debezium_event(
    op: &str,
    before: Option<(i32, &str)>,
    after: Option<(i32, &str)>,
) -> (Schema, Value) {
    let row = SchemaBuilder::struct_()
        .name("clinical.patients.patient.Value")
        .optional()
        .field("id", Schema::int32())
        .field("name", Schema::string())
        .build();
    let source = SchemaBuilder::struct_()
        .field("table", Schema::string())
        .field("ts_ms", Schema::int64())
        .build();
    let env = SchemaBuilder::struct_()
        .name("clinical.patients.patient.Envelope")
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source.clone())
        .field("op", Schema::string())
        .field("ts_ms", Schema::optional_int64())
        .build();
    let mk = |r: Option<(i32, &str)>| {
        r.map(|(id, name)| {
            let mut s = Struct::new(row.clone());
            s.put("id", id).unwrap();
            s.put("name", name).unwrap();
            Value::Struct(s)
        })
        .unwrap_or(Value::Null)
    };
    let mut src_s = Struct::new(source);
    src_s.put("table", "patient").unwrap();
    src_s.put("ts_ms", 1_700_000_000_123i64).unwrap();
    let mut e = Struct::new(env.clone());
    e.put("before", mk(before)).unwrap();
    e.put("after", mk(after)).unwrap();
    e.put("source", Value::Struct(src_s)).unwrap();
    e.put("op", op).unwrap();
    (env, Value::Struct(e))
}

#[test]
fn extract_new_record_state_modes() {
    let base = [
        ("transforms", "unwrap"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        chain::<SourceRecord>(&v)
    };
    let (s, update) = debezium_event("u", Some((1, "Ann")), Some((1, "Anne")));
    let (_, delete) = debezium_event("d", Some((1, "Anne")), None);
    let (_, truncate) = debezium_event("t", None, None);
    let tomb = src(Value::Null, None, Value::Null, None);
    let ev = |v: &Value| src(Value::Null, None, v.clone(), Some(s.clone()));

    // The seed's legacy config: drop.tombstones=false -> deletes dropped, tombstones kept.
    let seed = with(&[("transforms.unwrap.drop.tombstones", "false")]);
    let r = seed.apply(ev(&update)).unwrap().unwrap();
    assert_eq!(
        r.record.value.as_struct().unwrap().get("name"),
        Some(&Value::from("Anne"))
    );
    assert_eq!(
        r.record.value_schema.as_ref().unwrap().name(),
        Some("clinical.patients.patient.Value")
    );
    assert!(seed.apply(ev(&delete)).unwrap().is_none());
    assert!(seed.apply(tomb.clone()).unwrap().is_some());
    assert!(seed.apply(ev(&truncate)).unwrap().is_none());

    let drop = with(&[("transforms.unwrap.delete.tombstone.handling.mode", "drop")]);
    assert!(drop.apply(tomb.clone()).unwrap().is_none());
    assert!(drop.apply(ev(&delete)).unwrap().is_none());

    let rewrite = with(&[
        (
            "transforms.unwrap.delete.tombstone.handling.mode",
            "rewrite",
        ),
        ("transforms.unwrap.add.fields", "op,source.ts_ms,table:tbl"),
    ]);
    let r = rewrite.apply(ev(&delete)).unwrap().unwrap();
    let st = r.record.value.as_struct().unwrap();
    assert_eq!(st.get("__deleted"), Some(&Value::from("true")));
    assert_eq!(st.get("name"), Some(&Value::from("Anne")));
    assert_eq!(st.get("__op"), Some(&Value::from("d")));
    assert_eq!(
        st.get("__source_ts_ms"),
        Some(&Value::Int64(1_700_000_000_123))
    );
    assert_eq!(
        st.get("__tbl"),
        Some(&Value::from("patient")),
        "source fields by bare name, renamed"
    );
    assert!(st.validate().is_ok());
    let r = rewrite.apply(ev(&update)).unwrap().unwrap();
    assert_eq!(
        r.record.value.as_struct().unwrap().get("__deleted"),
        Some(&Value::from("false"))
    );
    assert!(rewrite.apply(tomb.clone()).unwrap().is_none());
    let rwt = with(&[(
        "transforms.unwrap.delete.tombstone.handling.mode",
        "rewrite-with-tombstone",
    )]);
    assert!(rwt.apply(tomb.clone()).unwrap().is_some());

    let d2t = with(&[
        (
            "transforms.unwrap.delete.tombstone.handling.mode",
            "delete-to-tombstone",
        ),
        ("transforms.unwrap.add.headers", "op"),
    ]);
    let r = d2t.apply(ev(&delete)).unwrap().unwrap();
    assert_eq!(r.record.value, Value::Null);
    assert!(d2t.apply(tomb).unwrap().is_none());
    let r = d2t.apply(ev(&update)).unwrap().unwrap();
    assert_eq!(
        r.record
            .headers
            .last_with_name("__op")
            .map(|h| h.value.clone()),
        Some(Value::from("u"))
    );

    let route = with(&[("transforms.unwrap.route.by.field", "name")]);
    assert_eq!(
        route.apply(ev(&update)).unwrap().unwrap().record.topic,
        "Anne"
    );

    // Not a change event: untouched.
    let plain = src(Value::Null, None, map(&[("x", 1i64.into())]), None);
    assert_eq!(seed.apply(plain.clone()).unwrap().unwrap(), plain);
    // Schemaless envelope (JsonConverter schemas.enable=false upstream).
    let m = map(&[
        ("op", "c".into()),
        ("before", Value::Null),
        ("after", map(&[("id", 5i64.into())])),
    ]);
    assert_eq!(
        seed.apply(src(Value::Null, None, m, None))
            .unwrap()
            .unwrap()
            .record
            .value,
        map(&[("id", 5i64.into())])
    );
}

#[test]
fn predicates_has_header_and_tombstone() {
    let c = chain::<SourceRecord>(&[
        ("transforms", "f"),
        ("transforms.f.type", "Filter"),
        ("transforms.f.predicate", "tomb"),
        ("predicates", "tomb,hdr"),
        ("predicates.tomb.type", "RecordIsTombstone"),
        ("predicates.hdr.type", "HasHeaderKey"),
        ("predicates.hdr.name", "x"),
    ]);
    assert!(c
        .apply(src(Value::Null, None, Value::Null, None))
        .unwrap()
        .is_none());
    assert!(c
        .apply(src(Value::Null, None, map(&[]), None))
        .unwrap()
        .is_some());
}

#[test]
fn regex_router_java_style_groups() {
    let c = chain::<SourceRecord>(&[
        ("transforms", "r"),
        (
            "transforms.r.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.r.regex", "clinical\\.(.*)\\.raw"),
        ("transforms.r.replacement", "clinical.$1.v2"),
    ]);
    let mut r = src(Value::Null, None, Value::Null, None);
    r.record.topic = "clinical.adt.raw".into();
    assert_eq!(
        c.apply(r.clone()).unwrap().unwrap().record.topic,
        "clinical.adt.v2"
    );
    r.record.topic = "x.clinical.adt.raw".into();
    assert_eq!(
        c.apply(r).unwrap().unwrap().record.topic,
        "x.clinical.adt.raw",
        "whole-name match only"
    );
    assert_eq!(
        connect_smt::regex_router::java_replacement("$10x\\$y$"),
        "${10}x$$y$$"
    );
}

#[test]
fn hoist_replace_and_header_smts() {
    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "rep,hoist,hdr,drop"),
        ("transforms.rep.type", "ReplaceField$Value"),
        ("transforms.rep.exclude", "ssn"),
        ("transforms.rep.renames", "mrn:patient_id"),
        ("transforms.hoist.type", "HoistField$Value"),
        ("transforms.hoist.field", "patient"),
        ("transforms.hdr.type", "InsertHeader"),
        ("transforms.hdr.header", "source"),
        ("transforms.hdr.value.literal", "ehr-a"),
        ("transforms.drop.type", "DropHeaders"),
        ("transforms.drop.headers", "trace"),
    ]);
    let mut rec = src(Value::Null, None, v, Some(s));
    rec.record.headers.add_string("trace", "t-1");
    let out = c.apply(rec).unwrap().unwrap();
    let outer = out.record.value.as_struct().unwrap();
    let inner = outer.get("patient").unwrap().as_struct().unwrap();
    assert_eq!(inner.get("patient_id"), Some(&Value::from("M1")));
    assert!(inner.schema().field("ssn").is_none() && inner.schema().field("mrn").is_none());
    assert!(outer.validate().is_ok());
    assert_eq!(
        out.record
            .headers
            .last_with_name("source")
            .map(|h| h.value.clone()),
        Some(Value::from("ehr-a"))
    );
    assert!(out.record.headers.last_with_name("trace").is_none());
    // Schemaless.
    let c = chain::<SourceRecord>(&[
        ("transforms", "rep"),
        ("transforms.rep.type", "ReplaceField$Value"),
        ("transforms.rep.include", "a,b"),
        ("transforms.rep.renames", "b:c"),
    ]);
    let out = c
        .apply(src(
            Value::Null,
            None,
            map(&[("a", 1i64.into()), ("b", 2i64.into()), ("z", 3i64.into())]),
            None,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(
        out.record.value,
        map(&[("a", 1i64.into()), ("c", 2i64.into())])
    );
    assert!(chain_err(&[
        ("transforms", "rep"),
        ("transforms.rep.type", "ReplaceField$Value"),
        ("transforms.rep.renames", "broken")
    ])
    .contains("transforms.rep.renames"));
}

#[test]
fn timestamp_router_and_set_schema_metadata() {
    let c = chain::<SourceRecord>(&[
        ("transforms", "t"),
        (
            "transforms.t.type",
            "org.apache.kafka.connect.transforms.TimestampRouter",
        ),
        ("transforms.t.topic.format", "archive.${topic}.${timestamp}"),
        ("transforms.t.timestamp.format", "yyyy-MM"),
    ]);
    let r = c
        .apply(src(Value::Null, None, Value::Null, None))
        .unwrap()
        .unwrap();
    assert_eq!(r.record.topic, "archive.t.2023-11");
    let mut no_ts = src(Value::Null, None, Value::Null, None);
    no_ts.record.timestamp = None;
    assert!(c.apply(no_ts).is_err());
    assert!(chain_err(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampRouter"),
        ("transforms.t.timestamp.format", "EEE")
    ])
    .contains("transforms.t.timestamp.format"));

    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "m"),
        ("transforms.m.type", "SetSchemaMetadata$Value"),
        ("transforms.m.schema.name", "clinical.Patient"),
        ("transforms.m.schema.version", "3"),
    ]);
    let r = c
        .apply(src(Value::Null, None, v, Some(s)))
        .unwrap()
        .unwrap();
    let schema = r.record.value_schema.unwrap();
    assert_eq!(
        (schema.name(), schema.version()),
        (Some("clinical.Patient"), Some(3))
    );
    assert_eq!(r.record.value.as_struct().unwrap().schema(), &schema);
    assert!(chain_err(&[
        ("transforms", "m"),
        ("transforms.m.type", "SetSchemaMetadata$Value")
    ])
    .contains("schema.name"));
}

#[test]
fn flatten_struct_and_map() {
    let address = SchemaBuilder::struct_()
        .optional()
        .field("city", Schema::string())
        .field("zip", Schema::string())
        .build();
    let s = SchemaBuilder::struct_()
        .field("mrn", Schema::string())
        .field("address", address.clone())
        .build();
    let mut a = Struct::new(address);
    a.put("city", "Ann Arbor").unwrap();
    a.put("zip", "48109").unwrap();
    let mut v = Struct::new(s.clone());
    v.put("mrn", "M1").unwrap();
    v.put("address", Value::Struct(a)).unwrap();
    let c = chain::<SourceRecord>(&[
        ("transforms", "f"),
        ("transforms.f.type", "Flatten$Value"),
        ("transforms.f.delimiter", "_"),
    ]);
    let r = c
        .apply(src(Value::Null, None, Value::Struct(v), Some(s.clone())))
        .unwrap()
        .unwrap();
    let st = r.record.value.as_struct().unwrap();
    assert_eq!(st.get("address_city"), Some(&Value::from("Ann Arbor")));
    assert!(
        st.schema()
            .field("address_zip")
            .unwrap()
            .schema()
            .is_optional(),
        "under an optional parent"
    );
    assert!(st.validate().is_ok());
    // A null nested struct flattens to nulls.
    let mut v = Struct::new(s.clone());
    v.put("mrn", "M2").unwrap();
    let r = c
        .apply(src(Value::Null, None, Value::Struct(v), Some(s)))
        .unwrap()
        .unwrap();
    assert_eq!(
        r.record.value.as_struct().unwrap().get("address_city"),
        Some(&Value::Null)
    );
    let c = chain::<SourceRecord>(&[("transforms", "f"), ("transforms.f.type", "Flatten$Value")]);
    let m = map(&[
        (
            "a",
            map(&[("b", 1i64.into()), ("c", map(&[("d", true.into())]))]),
        ),
        ("e", Value::Array(vec![])),
    ]);
    let r = c.apply(src(Value::Null, None, m, None)).unwrap().unwrap();
    assert_eq!(
        r.record.value,
        map(&[
            ("a.b", 1i64.into()),
            ("a.c.d", true.into()),
            ("e", Value::Array(vec![]))
        ])
    );
}

#[test]
fn cast_fields_and_whole_values() {
    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "c"),
        ("transforms.c.type", "Cast$Value"),
        ("transforms.c.spec", "age:string,mrn:string"),
    ]);
    let r = c
        .apply(src(Value::Null, None, v.clone(), Some(s.clone())))
        .unwrap()
        .unwrap();
    let st = r.record.value.as_struct().unwrap();
    assert_eq!(st.get("age"), Some(&Value::from("44")));
    assert_eq!(
        st.schema().field("age").unwrap().schema().schema_type(),
        connect_core::data::SchemaType::String
    );
    assert!(st.validate().is_ok());
    let c = chain::<SourceRecord>(&[
        ("transforms", "c"),
        ("transforms.c.type", "Cast$Value"),
        ("transforms.c.spec", "mrn:int32"),
    ]);
    assert!(
        c.apply(src(Value::Null, None, v, Some(s))).is_err(),
        "'M1' is not a number: a data error"
    );
    let c = chain::<SourceRecord>(&[
        ("transforms", "c"),
        ("transforms.c.type", "Cast$Value"),
        ("transforms.c.spec", "n:int8,f:float64,b:boolean"),
    ]);
    let out = c
        .apply(src(
            Value::Null,
            None,
            map(&[
                ("n", 300i64.into()),
                ("f", "2.5".into()),
                ("b", "TRUE".into()),
            ]),
            None,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(
        out.record.value,
        map(&[
            ("n", Value::Int8(44)),
            ("f", 2.5f64.into()),
            ("b", true.into())
        ]),
        "300 wraps to 44 as in Java"
    );
    let c = chain::<SourceRecord>(&[
        ("transforms", "c"),
        ("transforms.c.type", "Cast$Key"),
        ("transforms.c.spec", "int64"),
    ]);
    let out = c
        .apply(src(
            Value::from("12"),
            Some(Schema::string()),
            Value::Null,
            None,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(
        (out.record.key, out.record.key_schema),
        (Value::Int64(12), Some(Schema::int64()))
    );
    assert!(chain_err(&[
        ("transforms", "c"),
        ("transforms.c.type", "Cast$Value"),
        ("transforms.c.spec", "x:date")
    ])
    .contains("transforms.c.spec"));
}

#[test]
fn header_from_copy_and_move() {
    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "h"),
        ("transforms.h.type", "HeaderFrom$Value"),
        ("transforms.h.fields", "mrn"),
        ("transforms.h.headers", "patient-id"),
        ("transforms.h.operation", "move"),
    ]);
    let r = c
        .apply(src(Value::Null, None, v.clone(), Some(s.clone())))
        .unwrap()
        .unwrap();
    let h = r.record.headers.last_with_name("patient-id").unwrap();
    assert_eq!(
        (h.value.clone(), h.schema.clone()),
        (Value::from("M1"), Some(Schema::string()))
    );
    let st = r.record.value.as_struct().unwrap();
    assert!(st.schema().field("mrn").is_none() && st.validate().is_ok());
    let c = chain::<SourceRecord>(&[
        ("transforms", "h"),
        ("transforms.h.type", "HeaderFrom$Value"),
        ("transforms.h.fields", "a"),
        ("transforms.h.headers", "x"),
        ("transforms.h.operation", "copy"),
    ]);
    let r = c
        .apply(src(Value::Null, None, map(&[("a", 1i64.into())]), None))
        .unwrap()
        .unwrap();
    assert_eq!(r.record.value, map(&[("a", 1i64.into())]));
    assert_eq!(
        r.record
            .headers
            .last_with_name("x")
            .map(|h| h.value.clone()),
        Some(Value::Int64(1))
    );
    assert!(chain_err(&[
        ("transforms", "h"),
        ("transforms.h.type", "HeaderFrom$Value"),
        ("transforms.h.fields", "a,b"),
        ("transforms.h.headers", "x"),
        ("transforms.h.operation", "copy")
    ])
    .contains("transforms.h.headers"));
}

#[test]
fn timestamp_converter_between_string_unix_and_logical_types() {
    let c = chain::<SourceRecord>(&[
        ("transforms", "t"),
        (
            "transforms.t.type",
            "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        ),
        ("transforms.t.field", "admitted"),
        ("transforms.t.target.type", "Timestamp"),
        ("transforms.t.format", "yyyy-MM-dd HH:mm:ss"),
    ]);
    let r = c
        .apply(src(
            Value::Null,
            None,
            map(&[("admitted", "2023-11-14 22:13:20".into())]),
            None,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(
        r.record.value,
        map(&[("admitted", Value::Timestamp(1_700_000_000_000))])
    );
    assert!(c
        .apply(src(
            Value::Null,
            None,
            map(&[("admitted", "14/11/2023".into())]),
            None
        ))
        .is_err());

    let c = chain::<SourceRecord>(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.target.type", "string"),
        ("transforms.t.format", "yyyyMMdd"),
    ]);
    let r = c
        .apply(src(
            Value::Null,
            None,
            Value::Timestamp(1_700_000_000_000),
            Some(Schema::timestamp().build()),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.record.value, r.record.value_schema),
        (Value::from("20231114"), Some(Schema::string()))
    );

    let (s, v) = patient();
    let c = chain::<SourceRecord>(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.field", "dob"),
        ("transforms.t.target.type", "unix"),
        ("transforms.t.unix.precision", "seconds"),
    ]);
    let r = c
        .apply(src(Value::Null, None, v, Some(s)))
        .unwrap()
        .unwrap();
    let st = r.record.value.as_struct().unwrap();
    assert_eq!(st.get("dob"), Some(&Value::Int64(3000 * 86_400)));
    assert!(st.validate().is_ok());
    assert!(chain_err(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.target.type", "string")
    ])
    .contains("transforms.t.format"));
}

fn structured_adt() -> Value {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/hl7/corpus/ADT-A01-01.hl7"
    ))
    .unwrap();
    let msg = connect_core::hl7::Message::parse(bytes::Bytes::from(raw)).unwrap();
    connect_core::hl7::structured::to_value(&msg)
}

/// The seed's `ExtractField$Key` with `field=PID.3.1`, on a key that is the structured HL7 message
/// (the Hl7Converter as key converter), and the same path in ValueToKey and MaskField.
#[test]
fn hl7_paths_on_the_structured_message() {
    let c = chain::<SourceRecord>(&[
        ("transforms", "extractPatient"),
        (
            "transforms.extractPatient.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        ),
        ("transforms.extractPatient.field", "PID.3.1"),
    ]);
    let out = c
        .apply(src(structured_adt(), None, Value::Null, None))
        .unwrap()
        .unwrap();
    assert_eq!(out.record.key, Value::from("PATID1234"));

    let c = chain::<SourceRecord>(&[
        ("transforms", "key,mask"),
        ("transforms.key.type", "ValueToKey"),
        ("transforms.key.fields", "PID-3.1,MSH-10,nothere"),
        ("transforms.mask.type", "MaskField$Value"),
        ("transforms.mask.fields", "PID.19,PID.5,PID-11(2)"),
        ("transforms.mask.replacement", "***"),
    ]);
    let out = c
        .apply(src(Value::Null, None, structured_adt(), None))
        .unwrap()
        .unwrap();
    assert_eq!(
        out.record.key,
        map(&[
            ("PID-3.1", "PATID1234".into()),
            ("MSH-10", "MSG00001".into()),
            ("nothere", Value::Null),
        ])
    );
    let pid = out.record.value.as_map().unwrap().get("PID").unwrap();
    let pid = pid.as_map().unwrap();
    assert_eq!(pid.get("19").unwrap().as_str(), Some("***"));
    assert_eq!(pid.get("5").unwrap().as_str(), Some("***"));
    assert!(pid.get("5.1").is_none(), "the name's views go with it");
    assert_eq!(pid.get("3.1").unwrap().as_str(), Some("PATID1234"));
    let er7 = connect_core::hl7::structured::from_value(&out.record.value).unwrap();
    let er7 = String::from_utf8(er7).unwrap();
    assert!(!er7.contains("JONES"), "the encoded message is masked too");

    // HeaderFrom: the patient id and control id into headers; with move, out of the message too.
    let c = chain::<SourceRecord>(&[
        ("transforms", "h"),
        ("transforms.h.type", "HeaderFrom$Value"),
        ("transforms.h.fields", "PID.3.1,MSH.10"),
        ("transforms.h.headers", "patient.id,hl7.control.id"),
        ("transforms.h.operation", "move"),
    ]);
    let out = c
        .apply(src(Value::Null, None, structured_adt(), None))
        .unwrap()
        .unwrap();
    let h = |k: &str| {
        out.record
            .headers
            .last_with_name(k)
            .and_then(|h| h.value.as_str().map(str::to_owned))
    };
    assert_eq!(h("patient.id").as_deref(), Some("PATID1234"));
    assert_eq!(h("hl7.control.id").as_deref(), Some("MSG00001"));
    let pid = out.record.value.as_map().unwrap().get("PID").unwrap();
    assert!(pid.as_map().unwrap().get("3.1").is_none(), "moved out");

    // A plain map keeps Kafka Connect's meaning: the literal key, absent here, gives null.
    let c = chain::<SourceRecord>(&[
        ("transforms", "x"),
        ("transforms.x.type", "ExtractField$Value"),
        ("transforms.x.field", "PID.3.1"),
    ]);
    let v = map(&[("PID", map(&[("3.1", "12345".into())]))]);
    let out = c.apply(src(Value::Null, None, v, None)).unwrap().unwrap();
    assert_eq!(out.record.value, Value::Null);
}

/// KIP-1040: with `replace.null.with.default=true` (the default) a null field whose schema has a
/// default reads as the default; with false the null is kept.
#[test]
fn replace_null_with_default_in_field_smts() {
    let s = SchemaBuilder::struct_()
        .field("id", Schema::int32())
        .field(
            "status",
            SchemaBuilder::new(connect_core::data::SchemaType::String)
                .optional()
                .default_value(Value::from("active"))
                .build(),
        )
        .build();
    let v = Value::Struct(Struct::new(s.clone()).put("id", 7i32).unwrap().clone());
    let run = |ty: &str, extra: &[(&str, &str)], replace: &str| {
        let mut pairs = vec![
            ("transforms", "x"),
            ("transforms.x.type", ty),
            ("transforms.x.replace.null.with.default", replace),
        ];
        pairs.extend_from_slice(extra);
        chain::<SourceRecord>(&pairs)
            .apply(src(Value::Null, None, v.clone(), Some(s.clone())))
            .unwrap()
            .unwrap()
    };
    let status = |r: &SourceRecord| {
        r.record
            .value
            .as_struct()
            .and_then(|st| st.get("status").cloned())
    };
    for replace in ["true", "false"] {
        let want = if replace == "true" {
            Value::from("active")
        } else {
            Value::Null
        };
        let out = run(
            "ExtractField$Value",
            &[("transforms.x.field", "status")],
            replace,
        );
        assert_eq!(out.record.value, want, "ExtractField {replace}");
        let out = run("ValueToKey", &[("transforms.x.fields", "status")], replace);
        assert_eq!(
            out.record.key.as_struct().unwrap().get("status"),
            Some(&want),
            "ValueToKey {replace}"
        );
        for (ty, extra) in [
            ("Cast$Value", ("transforms.x.spec", "id:int64")),
            ("ReplaceField$Value", ("transforms.x.exclude", "id")),
            ("InsertField$Value", ("transforms.x.topic.field", "topic")),
            ("SetSchemaMetadata$Value", ("transforms.x.schema.name", "n")),
            ("HeaderFrom$Value", ("transforms.x.fields", "id")),
        ] {
            let mut extra = vec![extra];
            if ty.starts_with("HeaderFrom") {
                extra.push(("transforms.x.headers", "h"));
                extra.push(("transforms.x.operation", "move"));
            }
            let out = run(ty, &extra, replace);
            assert_eq!(status(&out), Some(want.clone()), "{ty} {replace}");
        }
        let out = run(
            "HeaderFrom$Value",
            &[
                ("transforms.x.fields", "status"),
                ("transforms.x.headers", "h"),
                ("transforms.x.operation", "copy"),
            ],
            replace,
        );
        assert_eq!(
            out.record
                .headers
                .last_with_name("h")
                .map(|h| h.value.clone()),
            Some(want.clone()),
            "HeaderFrom header {replace}"
        );
    }
}
