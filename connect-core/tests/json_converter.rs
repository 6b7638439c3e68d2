//! JsonConverter: the exact bytes Kafka Connect's JsonConverter writes, and round trips of every type.
//!
//! The expected strings are what `org.apache.kafka.connect.json.JsonConverter` (Jackson, compact
//! output) produces for the same schema and value: field order `type`, composite members, `optional`,
//! `name`, `version`, `doc`, `parameters`, `default`, with `field` last inside struct fields.

use bytes::Bytes;
use connect_core::config::Props;
use connect_core::converter::{Converter, DecimalFormat, JsonConverter};
use connect_core::data::{Decimal, Map, Schema, SchemaBuilder, Struct, Value};

fn enc(c: &JsonConverter, schema: Option<&Schema>, v: &Value) -> String {
    String::from_utf8(
        c.from_connect_data("t", schema, v)
            .unwrap()
            .unwrap()
            .to_vec(),
    )
    .unwrap()
}

fn round_trip(c: &JsonConverter, schema: Schema, v: Value) {
    let bytes = c
        .from_connect_data("t", Some(&schema), &v)
        .unwrap()
        .unwrap();
    let back = c.to_connect_data("t", Some(&bytes)).unwrap();
    assert_eq!(
        back.schema.as_ref(),
        Some(&schema),
        "schema of {}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(
        back.value,
        v,
        "value of {}",
        String::from_utf8_lossy(&bytes)
    );
    // And the bytes are stable: re-encoding what was read gives the same bytes.
    let again = c
        .from_connect_data("t", back.schema.as_ref(), &back.value)
        .unwrap()
        .unwrap();
    assert_eq!(again, bytes);
}

#[test]
fn golden_primitives() {
    let c = JsonConverter::new(true);
    let cases: Vec<(Schema, Value, &str)> = vec![
        (
            Schema::boolean(),
            true.into(),
            r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#,
        ),
        (
            Schema::int8(),
            12i8.into(),
            r#"{"schema":{"type":"int8","optional":false},"payload":12}"#,
        ),
        (
            Schema::int16(),
            12i16.into(),
            r#"{"schema":{"type":"int16","optional":false},"payload":12}"#,
        ),
        (
            Schema::int32(),
            12i32.into(),
            r#"{"schema":{"type":"int32","optional":false},"payload":12}"#,
        ),
        (
            Schema::int64(),
            4398046511104i64.into(),
            r#"{"schema":{"type":"int64","optional":false},"payload":4398046511104}"#,
        ),
        (
            Schema::float32(),
            12.34f32.into(),
            r#"{"schema":{"type":"float","optional":false},"payload":12.34}"#,
        ),
        (
            Schema::float64(),
            12.34f64.into(),
            r#"{"schema":{"type":"double","optional":false},"payload":12.34}"#,
        ),
        (
            Schema::float64(),
            1.0e20f64.into(),
            r#"{"schema":{"type":"double","optional":false},"payload":1.0E20}"#,
        ),
        (
            Schema::float64(),
            3.0f64.into(),
            r#"{"schema":{"type":"double","optional":false},"payload":3.0}"#,
        ),
        (
            Schema::string(),
            "test-string".into(),
            r#"{"schema":{"type":"string","optional":false},"payload":"test-string"}"#,
        ),
        (
            Schema::bytes(),
            Value::Bytes(Bytes::from_static(b"test-string")),
            r#"{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}"#,
        ),
        (
            Schema::optional_string(),
            Value::Null,
            r#"{"schema":{"type":"string","optional":true},"payload":null}"#,
        ),
    ];
    for (s, v, want) in cases {
        assert_eq!(enc(&c, Some(&s), &v), want);
    }
}

#[test]
fn golden_logical_types() {
    let c = JsonConverter::new(true);
    let dec = Schema::decimal(2).build();
    assert_eq!(
        enc(&c, Some(&dec), &Value::Decimal(Decimal::new(156, 2))),
        r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}"#
    );
    let numeric = JsonConverter::new(true).with_decimal_format(DecimalFormat::Numeric);
    assert_eq!(
        enc(&numeric, Some(&dec), &Value::Decimal(Decimal::new(-156, 2))),
        r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":-1.56}"#
    );
    assert_eq!(
        enc(&c, Some(&Schema::date().build()), &Value::Date(10000)),
        r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}"#
    );
    assert_eq!(
        enc(&c, Some(&Schema::time().build()), &Value::Time(14_400_000)),
        r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":14400000}"#
    );
    assert_eq!(
        enc(
            &c,
            Some(&Schema::timestamp().build()),
            &Value::Timestamp(4_000_000_000)
        ),
        r#"{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}"#
    );
}

fn patient_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("clinical.Patient")
        .version(2)
        .doc("A patient")
        .field("mrn", Schema::string())
        .field(
            "age",
            SchemaBuilder::new(connect_core::data::SchemaType::Int32)
                .optional()
                .default_value(Value::Int32(0))
                .build(),
        )
        .field(
            "tags",
            SchemaBuilder::array(Schema::string()).optional().build(),
        )
        .field(
            "labs",
            SchemaBuilder::map(Schema::string(), Schema::float64()).build(),
        )
        .field("admitted", Schema::timestamp().optional().build())
        .build()
}

#[test]
fn golden_struct_array_map() {
    let c = JsonConverter::new(true);
    let s = patient_schema();
    let mut labs = Map::new();
    labs.insert("k", 4.5f64);
    let mut v = Struct::new(s.clone());
    v.put("mrn", "MRN-1").unwrap();
    v.put("tags", Value::Array(vec!["a".into(), "b".into()]))
        .unwrap();
    v.put("labs", Value::Map(labs)).unwrap();
    assert_eq!(
        enc(&c, Some(&s), &Value::Struct(v)),
        concat!(
            r#"{"schema":{"type":"struct","fields":["#,
            r#"{"type":"string","optional":false,"field":"mrn"},"#,
            r#"{"type":"int32","optional":true,"default":0,"field":"age"},"#,
            r#"{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"tags"},"#,
            r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"double","optional":false},"optional":false,"field":"labs"},"#,
            r#"{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"admitted"}"#,
            r#"],"optional":false,"name":"clinical.Patient","version":2,"doc":"A patient"},"#,
            r#""payload":{"mrn":"MRN-1","age":0,"tags":["a","b"],"labs":{"k":4.5},"admitted":null}}"#
        )
    );
}

#[test]
fn golden_non_string_map_keys_and_schemaless() {
    let c = JsonConverter::new(true);
    let s = SchemaBuilder::map(Schema::int32(), Schema::string()).build();
    let mut m = Map::new();
    m.insert(1i32, "a");
    m.insert(2i32, "b");
    assert_eq!(
        enc(&c, Some(&s), &Value::Map(m.clone())),
        r#"{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false},"payload":[[1,"a"],[2,"b"]]}"#
    );
    let mut obj = Map::new();
    obj.insert("providerId", "P-9");
    obj.insert("n", 3i64);
    assert_eq!(
        enc(&c, None, &Value::Map(obj.clone())),
        r#"{"schema":null,"payload":{"providerId":"P-9","n":3}}"#
    );
    let plain = JsonConverter::new(false);
    assert_eq!(
        enc(&plain, None, &Value::Map(obj)),
        r#"{"providerId":"P-9","n":3}"#
    );
    assert_eq!(
        plain.from_connect_data("t", None, &Value::Null).unwrap(),
        None
    );
}

#[test]
fn round_trips_every_type() {
    let c = JsonConverter::new(true);
    round_trip(&c, Schema::boolean(), false.into());
    round_trip(&c, Schema::int8(), i8::MIN.into());
    round_trip(&c, Schema::int16(), i16::MAX.into());
    round_trip(&c, Schema::int32(), i32::MIN.into());
    round_trip(&c, Schema::int64(), i64::MAX.into());
    round_trip(&c, Schema::int64(), i64::MIN.into());
    round_trip(&c, Schema::int64(), 0i64.into());
    round_trip(&c, Schema::int64(), (-1_700_000_000_123i64).into());
    round_trip(&c, Schema::float32(), 0.1f32.into());
    round_trip(&c, Schema::float64(), (0.1f64 + 0.2).into());
    round_trip(&c, Schema::float64(), 1.0e-7f64.into());
    round_trip(&c, Schema::string(), "ünïcödé \"quoted\" \n\t\u{1}".into());
    round_trip(
        &c,
        Schema::bytes(),
        Value::Bytes(Bytes::from_static(&[0, 255, 1, 2])),
    );
    round_trip(&c, Schema::optional_int32(), Value::Null);
    round_trip(
        &c,
        Schema::decimal(4).build(),
        Value::Decimal(Decimal::new(-123456789012345678, 4)),
    );
    round_trip(
        &c,
        Schema::decimal(0).build(),
        Value::Decimal(Decimal::new(0, 0)),
    );
    round_trip(&c, Schema::date().build(), Value::Date(-1));
    round_trip(&c, Schema::time().build(), Value::Time(86_399_999));
    round_trip(&c, Schema::timestamp().build(), Value::Timestamp(-5));
    round_trip(
        &c,
        SchemaBuilder::array(Schema::optional_int64()).build(),
        Value::Array(vec![1i64.into(), Value::Null]),
    );
    let mut m = Map::new();
    m.insert(Value::Int64(5), Value::Boolean(true));
    round_trip(
        &c,
        SchemaBuilder::map(Schema::int64(), Schema::boolean()).build(),
        Value::Map(m),
    );
    let s = patient_schema();
    let mut v = Struct::new(s.clone());
    v.put("mrn", "x").unwrap();
    v.put("age", 90i32).unwrap();
    v.put("labs", Value::Map(Map::new())).unwrap();
    v.put("admitted", Value::Timestamp(1_700_000_000_000))
        .unwrap();
    round_trip(&c, s, Value::Struct(v));
    let numeric = JsonConverter::new(true).with_decimal_format(DecimalFormat::Numeric);
    round_trip(
        &numeric,
        Schema::decimal(3).build(),
        Value::Decimal(Decimal::new(1_500, 3)),
    );
}

#[test]
fn reads_what_java_writes_including_defaults() {
    let c = JsonConverter::new(true);
    // A Debezium-style envelope with a default and an omitted optional field.
    let json = br#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"default":"none","field":"note"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"amount"}],"optional":false,"name":"dbserver1.inventory.customers.Value"},"payload":{"id":1001,"amount":"AJw="}}"#;
    let sv = c.decode(Some(json)).unwrap();
    let s = sv.value.as_struct().unwrap();
    assert_eq!(s.get("id"), Some(&Value::Int32(1001)));
    assert_eq!(s.get("note"), Some(&Value::String("none".into())));
    assert_eq!(s.get("amount"), Some(&Value::Decimal(Decimal::new(156, 2))));
    assert_eq!(
        sv.schema.unwrap().name(),
        Some("dbserver1.inventory.customers.Value")
    );
}

#[test]
fn schemaless_decode_infers_types() {
    let c = JsonConverter::new(false);
    let sv = c
        .to_connect_data(
            "t",
            Some(&Bytes::from_static(
                br#"{"a":1,"b":1.5,"c":[true,null],"d":{"e":"f"},"big":18446744073709551615}"#,
            )),
        )
        .unwrap();
    assert!(sv.schema.is_none());
    let m = sv.value.as_map().unwrap();
    assert_eq!(m.get("a"), Some(&Value::Int64(1)));
    assert_eq!(m.get("b"), Some(&Value::Float64(1.5)));
    assert_eq!(
        m.get("c"),
        Some(&Value::Array(vec![Value::Boolean(true), Value::Null]))
    );
    assert_eq!(
        m.get("d").and_then(|d| d.as_map()).and_then(|d| d.get("e")),
        Some(&Value::from("f"))
    );
    assert_eq!(m.get("big"), Some(&Value::Float64(18446744073709551615.0)));
    assert_eq!(c.decode(None).unwrap().value, Value::Null);
}

#[test]
fn malformed_input_is_a_data_error_never_a_panic() {
    let c = JsonConverter::new(true);
    let cases: &[&[u8]] = &[
        b"",
        b"{",
        b"\xff\xfe",
        br#"{"payload":1}"#,
        br#"{"schema":null,"payload":1,"extra":2}"#,
        br#"{"schema":{"type":"int8","optional":false},"payload":300}"#,
        br#"{"schema":{"type":"int32","optional":false},"payload":"12"}"#,
        br#"{"schema":{"type":"int32","optional":false},"payload":null}"#,
        br#"{"schema":{"type":"bytes","optional":false},"payload":"***"}"#,
        br#"{"schema":{"type":"nope","optional":false},"payload":1}"#,
        br#"{"schema":{"type":"struct","fields":{},"optional":false},"payload":{}}"#,
        br#"{"schema":{"type":"array","optional":false},"payload":[]}"#,
        br#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"x"}},"payload":"AA=="}"#,
        br#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"1"}},"payload":"AAAAAAAAAAAAAAAAAAAAAAAA"}"#,
        br#"{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[[1]]}"#,
    ];
    for bad in cases {
        let e = c.to_connect_data("t", Some(&Bytes::copy_from_slice(bad)));
        assert!(e.is_err(), "accepted {}", String::from_utf8_lossy(bad));
    }
    let e = c.decode(Some(br#"{"payload":1}"#)).unwrap_err();
    assert!(e.0.contains("set schemas.enable=false"), "{e}");
    // A value that does not fit its schema on the way out.
    let e = c
        .from_connect_data("t", Some(&Schema::int32()), &Value::from("x"))
        .unwrap_err();
    assert!(e.0.contains("INT32"), "{e}");
    let e = c
        .from_connect_data("t", Some(&Schema::int32()), &Value::Null)
        .unwrap_err();
    assert!(e.0.contains("required"), "{e}");
}

#[test]
fn configures_from_connector_props() {
    let mut c = JsonConverter::default();
    c.configure(
        &Props::new()
            .with("schemas.enable", "false")
            .with("decimal.format", "NUMERIC"),
        false,
    )
    .unwrap();
    assert_eq!(
        enc(
            &c,
            Some(&Schema::decimal(1).build()),
            &Value::Decimal(Decimal::new(15, 1))
        ),
        "1.5"
    );
    let e = c
        .configure(
            &Props::new()
                .with("decimal.format", "HEX")
                .with("schemas.enable", "maybe"),
            false,
        )
        .unwrap_err();
    assert_eq!(e.problems.len(), 2);
}

/// The consuming schemaless conversion gives what `json_to_value` with no schema gives.
#[test]
fn consuming_schemaless_conversion_matches_the_borrowing_one() {
    let json: serde_json::Value = serde_json::from_str(
        r#"{"a":1,"b":-2.5,"c":"x","d":[true,null,{"e":9007199254740993}],"f":{},"g":1e300}"#,
    )
    .unwrap();
    let conv = connect_core::converter::JsonConverter::new(false);
    assert_eq!(
        connect_core::converter::JsonConverter::json_into_schemaless_value(json.clone()),
        conv.json_to_value(None, &json).unwrap()
    );
}

/// Doubles survive JSON -> Connect -> JSON -> Connect unchanged: the reader parses with correct
/// rounding (serde_json's `float_roundtrip`), so what the writer printed reads back to the same bits.
/// Found by the `json_converter` fuzz target: 1.9000222222222223E92 read back one ulp off.
#[test]
fn doubles_round_trip_bit_for_bit() {
    let c = {
        let mut c = JsonConverter::new(false);
        Converter::configure(&mut c, &Props::new().with("schemas.enable", "false"), false).unwrap();
        c
    };
    for text in [
        "190002222222222222222222222222222222222222222222222222222222222222222222222222222222222222222",
        "1.9000222222222223E92",
        "0.1",
        "2.2250738585072014E-308",
        "1.7976931348623157E308",
        "5.0E-324",
        "123456.789e3",
        "9007199254740993.5",
    ] {
        let first = c
            .to_connect_data("t", Some(&bytes::Bytes::from(text.to_owned())))
            .unwrap();
        let written = c
            .from_connect_data("t", first.schema.as_ref(), &first.value)
            .unwrap()
            .unwrap();
        let again = c.to_connect_data("t", Some(&written)).unwrap();
        assert_eq!(again.value, first.value, "{text} -> {}", String::from_utf8_lossy(&written));
    }
}

/// `from_connect_data` writes through a per-thread scratch buffer: records of very different
/// sizes, one after another (a 2 MB one in between, which the buffer lets go of), each come out
/// exactly as `encode` writes them alone, and a failed record leaves nothing behind for the next.
#[test]
fn consecutive_records_of_any_size_encode_independently() {
    for schemas in [false, true] {
        let c = JsonConverter::new(schemas);
        let schema = SchemaBuilder::struct_()
            .name("t.Value")
            .field("id", Schema::int64())
            .field("note", Schema::string())
            .build();
        let rec = |id: i64, note: String| {
            let mut s = Struct::new(schema.clone());
            s.put("id", Value::Int64(id)).unwrap();
            s.put("note", Value::String(note)).unwrap();
            Value::Struct(s)
        };
        let values = [
            rec(1, "short".into()),
            rec(2, "x".repeat(2 << 20)),
            rec(3, String::new()),
            rec(4, "é\"\\\n".repeat(100)),
        ];
        for v in &values {
            let bytes = c.from_connect_data("t", Some(&schema), v).unwrap().unwrap();
            let alone = c.encode(Some(&schema), v).unwrap().unwrap();
            assert_eq!(bytes.len(), alone.len());
            assert!(bytes[..] == alone[..], "schemas {schemas}");
        }
        // A record that fails half-written (a required field null), then a good one.
        let mut half = Struct::new(schema.clone());
        half.put("id", Value::Int64(5)).unwrap();
        let bad = Value::Struct(half);
        assert!(c.from_connect_data("t", Some(&schema), &bad).is_err());
        let good = c
            .from_connect_data("t", Some(&schema), &values[0])
            .unwrap()
            .unwrap();
        assert_eq!(
            &good[..],
            &c.encode(Some(&schema), &values[0]).unwrap().unwrap()[..]
        );
        assert_eq!(c.from_connect_data("t", None, &Value::Null).unwrap(), None);
    }
}

/// Struct field names are written as Jackson escapes them (the key is escaped once, when the schema
/// is built), including names that need escapes, and a field replaced by a later one of the same name
/// keeps its key.
#[test]
fn struct_field_names_are_escaped_keys() {
    let s = SchemaBuilder::struct_()
        .field("plain", Schema::int32())
        .field("quote\"back\\slash", Schema::int32())
        .field("line\nfeed\u{1}", Schema::int32())
        .field("ünïcode", Schema::int32())
        .field("plain", Schema::int64())
        .build();
    let mut v = Struct::new(s.clone());
    v.put("plain", 1i64).unwrap();
    v.put("quote\"back\\slash", 2i32).unwrap();
    v.put("line\nfeed\u{1}", 3i32).unwrap();
    v.put("ünïcode", 4i32).unwrap();
    let off = JsonConverter::new(false);
    assert_eq!(
        enc(&off, Some(&s), &Value::Struct(v.clone())),
        r#"{"plain":1,"quote\"back\\slash":2,"line\nfeed\u0001":3,"ünïcode":4}"#
    );
    round_trip(&JsonConverter::new(true), s, Value::Struct(v));
}
