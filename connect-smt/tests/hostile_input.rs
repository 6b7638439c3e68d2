//! No external input can exhaust memory or panic the process: arbitrary and crafted bytes through the
//! JSON and HL7 converters, and hostile values (extreme times and scales, huge numbers, deep nesting,
//! long strings) through every SMT. Each call must return (a value or a clear error), never panic,
//! and allocate at most a fixed multiple of its input, which a counting allocator checks.
//!
//! One test in this binary, so the allocator's counters see nothing else.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use connect_core::config::Props;
use connect_core::converter::{Converter, Hl7Converter, JsonConverter};
use connect_core::data::{Decimal, Map, Schema, SchemaBuilder, SchemaType, Struct, Value};
use connect_core::record::{ConnectRecord, SourceRecord};
use connect_core::registry::Registry;
use connect_core::transform::TransformChain;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The most one call may allocate beyond what was live before it.
const CAP: usize = 64 << 20;

/// Runs `f`, failing on a panic or on a peak allocation above `CAP`.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what}: panicked"));
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert!(peak <= CAP, "{what}: allocated {} MiB", peak >> 20);
    out
}

fn json(schemas: bool) -> JsonConverter {
    let mut c = JsonConverter::new(schemas);
    let props = Props::new().with("schemas.enable", if schemas { "true" } else { "false" });
    Converter::configure(&mut c, &props, false).unwrap();
    c
}

fn hl7() -> Hl7Converter {
    let mut c = Hl7Converter::default();
    Converter::configure(
        &mut c,
        &Props::new().with("hl7.message.structure", "true"),
        false,
    )
    .unwrap();
    c
}

fn crafted_json() -> Vec<Vec<u8>> {
    let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n)).into_bytes();
    let deep_obj = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes();
    let long = format!("\"{}\"", "x".repeat(2 << 20)).into_bytes();
    let schema = |s: &str, p: &str| format!(r#"{{"schema":{s},"payload":{p}}}"#).into_bytes();
    vec![
        b"1e999999".to_vec(),
        b"-1e-999999".to_vec(),
        b"123456789012345678901234567890123456789012345678901234567890".to_vec(),
        deep(100),
        deep(100_000),
        deep_obj(100_000),
        long,
        schema(
            r#"{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2147483647"}}"#,
            r#""AQ==""#,
        ),
        schema(
            r#"{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"-2147483648"}}"#,
            r#"1e-999"#,
        ),
        schema(
            r#"{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"99999999999999999999"}}"#,
            r#""AQ==""#,
        ),
        schema(r#"{"type":"int8"}"#, "100000"),
        schema(
            r#"{"type":"int32","name":"org.apache.kafka.connect.data.Date"}"#,
            "99999999999",
        ),
        schema(
            r#"{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"}"#,
            "9223372036854775807",
        ),
        schema(
            r#"{"type":"array","items":{"type":"int32"}}"#,
            "[1,2,3,\"x\"]",
        ),
        schema(
            r#"{"type":"struct","fields":[{"field":"a","type":"string"}]}"#,
            "{}",
        ),
        schema(r#"{"type":"bytes"}"#, "\"!!!not base64\""),
        format!(
            r#"{{"schema":{},"payload":1}}"#,
            "{\"type\":\"array\",\"items\":".repeat(5000)
        )
        .into_bytes(),
    ]
}

fn crafted_hl7() -> Vec<Value> {
    let msh = |extra: &[(&str, &str)]| {
        let mut m = Map::new();
        m.insert("1", "|");
        m.insert("2", "^~\\&");
        m.insert("9", "ADT^A01");
        for (k, v) in extra {
            m.insert(*k, *v);
        }
        m
    };
    let with_pid = |key: &str| {
        let mut top = Map::new();
        top.insert("MSH", Value::Map(msh(&[])));
        let mut pid = Map::new();
        pid.insert(key, "x");
        top.insert("PID", Value::Map(pid));
        Value::Map(top)
    };
    vec![
        with_pid("4000000000"),
        with_pid("18446744073709551615"),
        with_pid("99999999999999999999999999"),
        with_pid("1001"),
        Value::Map({
            let mut top = Map::new();
            top.insert("MSH", Value::Map(msh(&[("18", "UNICODE UTF-8")])));
            top.insert("PID(4000000000)", Value::Map(Map::new()));
            top
        }),
        Value::Map({
            let mut top = Map::new();
            top.insert("MSH", Value::Map(msh(&[("2", "")])));
            top
        }),
    ]
}

/// Values a record may carry that stress arithmetic and allocation.
fn hostile_values() -> Vec<(Option<Schema>, Value)> {
    let mut nested = Value::Int32(1);
    for _ in 0..500 {
        let mut m = Map::new();
        m.insert("a", nested);
        nested = Value::Map(m);
    }
    let mut map = Map::new();
    map.insert("ts", Value::Timestamp(i64::MAX));
    map.insert("ts_min", Value::Timestamp(i64::MIN));
    map.insert("date", Value::Date(i32::MAX));
    map.insert("date_min", Value::Date(i32::MIN));
    map.insert("time", Value::Time(i32::MAX));
    map.insert("dec", Value::Decimal(Decimal::new(i128::MAX, i32::MAX)));
    map.insert("dec_neg", Value::Decimal(Decimal::new(i128::MIN, i32::MIN)));
    map.insert("big", Value::Int64(i64::MIN));
    map.insert("nan", Value::Float64(f64::NAN));
    map.insert("inf", Value::Float64(f64::INFINITY));
    map.insert("text", Value::String("9".repeat(1 << 20)));
    map.insert("when", Value::String("99999999999-12-31".into()));
    map.insert(
        "birthDate",
        Value::String("-9223372036854775808-01-01".into()),
    );
    map.insert("bytes", Value::Bytes(Bytes::from(vec![0xffu8; 1 << 20])));
    map.insert("nested", nested);
    let schema = SchemaBuilder::struct_()
        .field("ts", Schema::timestamp().build())
        .field("date", Schema::date().build())
        .field("dec", Schema::decimal(i32::MAX).build())
        .field("big", SchemaBuilder::new(SchemaType::Int64).build())
        .field("birthDate", Schema::string())
        .build();
    let mut st = Struct::new(schema.clone());
    st.put("ts", Value::Timestamp(i64::MAX)).unwrap();
    st.put("date", Value::Date(i32::MIN)).unwrap();
    st.put("dec", Value::Decimal(Decimal::new(1, i32::MAX)))
        .unwrap();
    st.put("big", Value::Int64(i64::MAX)).unwrap();
    st.put("birthDate", "99999999999-12-31").unwrap();
    vec![
        (None, Value::Map(map)),
        (Some(schema), Value::Struct(st)),
        (None, Value::Timestamp(i64::MIN)),
        (None, Value::String("x".repeat(1 << 20))),
    ]
}

fn chain(pairs: &[(&str, &str)]) -> TransformChain<SourceRecord> {
    let mut r = Registry::with_builtins();
    connect_smt::register(&mut r);
    let mut props = Props::new().with("transforms", "x");
    for (k, v) in pairs {
        props.set(format!("transforms.x.{k}"), *v);
    }
    r.transform_chain(&props)
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
}

fn smt_configs() -> Vec<Vec<(&'static str, &'static str)>> {
    let fields =
        "ts,ts_min,date,date_min,time,dec,dec_neg,big,nan,inf,text,when,birthDate,bytes,nested";
    vec![
        vec![
            ("type", "TimestampConverter$Value"),
            ("field", "ts"),
            ("target.type", "Date"),
        ],
        vec![
            ("type", "TimestampConverter$Value"),
            ("field", "ts_min"),
            ("target.type", "string"),
            ("format", "yyyy-MM-dd"),
        ],
        vec![
            ("type", "TimestampConverter$Value"),
            ("field", "date_min"),
            ("target.type", "unix"),
            ("unix.precision", "nanoseconds"),
        ],
        vec![
            ("type", "TimestampConverter$Value"),
            ("field", "when"),
            ("target.type", "Timestamp"),
            ("format", "yyyy-MM-dd"),
        ],
        vec![
            ("type", "TimestampConverter$Value"),
            ("field", "big"),
            ("target.type", "Date"),
            ("unix.precision", "microseconds"),
        ],
        vec![
            ("type", "TimestampConverter$Value"),
            ("target.type", "string"),
            ("format", "yyyy-MM-dd HH:mm:ss.SSS"),
        ],
        vec![
            ("type", "Cast$Value"),
            (
                "spec",
                "big:int8,dec:float32,nan:int32,inf:int64,text:int16,bytes:string",
            ),
        ],
        vec![
            ("type", "Cast$Value"),
            ("spec", "dec:string,dec_neg:string,date:string,ts:string"),
        ],
        vec![("type", "MaskField$Value"), ("fields", fields)],
        vec![
            ("type", "MaskField$Value"),
            ("fields", "dec,text"),
            ("replacement", "0"),
        ],
        vec![("type", "Flatten$Value")],
        vec![
            ("type", "ReplaceField$Value"),
            ("exclude", "text"),
            ("renames", "nested:n"),
        ],
        vec![
            ("type", "InsertField$Value"),
            ("timestamp.field", "at"),
            ("static.field", "s"),
            ("static.value", "v"),
        ],
        vec![("type", "HoistField$Value"), ("field", "w")],
        vec![("type", "ExtractField$Value"), ("field", "nested")],
        vec![("type", "ValueToKey"), ("fields", "dec,ts")],
        vec![
            ("type", "HeaderFrom$Value"),
            ("fields", "dec,text"),
            ("headers", "d,t"),
            ("operation", "copy"),
        ],
        vec![("type", "TimestampRouter")],
        vec![
            ("type", "RegexRouter"),
            ("regex", "(.*)"),
            ("replacement", "$1-$1-$1"),
        ],
        vec![("type", "SetSchemaMetadata$Value"), ("schema.name", "x")],
        vec![
            ("type", "Deidentify"),
            ("pseudonym.key", "0123456789abcdef0123456789abcdef"),
            (
                "date.shift.fields",
                "ts,ts_min,date,date_min,when,birthDate",
            ),
            ("date.shift.max.days", "3650"),
            ("date.shift.subject", "big"),
        ],
        vec![
            ("type", "Deidentify"),
            ("pseudonym.key", "0123456789abcdef0123456789abcdef"),
            ("year.fields", "ts,date,when,birthDate"),
            ("age.fields", "big"),
            ("pseudonymize.fields", "big,text"),
            ("redact.fields", "text"),
            ("zip.fields", "text"),
        ],
        vec![("type", "HL7ToFHIR")],
    ]
}

#[test]
fn hostile_input_never_panics_and_never_allocates_without_bound() {
    // Converters on crafted input.
    for schemas in [true, false] {
        let c = json(schemas);
        for (i, bytes) in crafted_json().into_iter().map(Bytes::from).enumerate() {
            let r = guarded(&format!("json(schemas={schemas}) case {i}"), || {
                c.to_connect_data("t", Some(&bytes)).map(|_| ())
            });
            if let Err(e) = r {
                assert!(!e.to_string().is_empty());
            }
        }
    }
    let h = hl7();
    for (i, v) in crafted_hl7().iter().enumerate() {
        let r = guarded(&format!("hl7 from_connect case {i}"), || {
            h.from_connect_data("t", None, v).map(|_| ())
        });
        // Field numbers that parse but exceed the limit are refused; a key that is no field number
        // at all is skipped like any derived key.
        if [0, 1, 3].contains(&i) {
            assert!(r.is_err(), "case {i} should be refused: {r:?}");
        }
    }
    // Extreme decimals written by the JSON converter.
    let c = json(true);
    for d in [Decimal::new(1, i32::MAX), Decimal::new(-1, i32::MIN)] {
        let schema = Schema::decimal(d.scale()).build();
        let _ = guarded("json write of an extreme decimal", || {
            c.from_connect_data("t", Some(&schema), &Value::Decimal(d))
        });
    }
    // Arbitrary bytes.
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let j = json(true);
    let js = json(false);
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..512), |bytes| {
            let bytes = Bytes::from(bytes);
            guarded("json on arbitrary bytes", || {
                let _ = j.to_connect_data("t", Some(&bytes));
                let _ = js.to_connect_data("t", Some(&bytes));
                let _ = h.to_connect_data("t", Some(&bytes));
            });
            Ok(())
        })
        .unwrap();
    // HL7-shaped arbitrary text.
    runner
        .run(&"MSH\\|\\^~\\\\&\\|[A-Z0-9|^~&\\\\\r]{0,300}", |text| {
            guarded("hl7 on arbitrary ER7", || {
                if let Ok(v) = h.to_connect_data("t", Some(&Bytes::from(text.clone()))) {
                    let _ = h.from_connect_data("t", v.schema.as_ref(), &v.value);
                }
            });
            Ok(())
        })
        .unwrap();
    // Every SMT on hostile values.
    for cfg in smt_configs() {
        let ch = chain(&cfg);
        for (i, (schema, value)) in hostile_values().into_iter().enumerate() {
            let rec = SourceRecord {
                record: ConnectRecord {
                    topic: "clinical.x".into(),
                    key: Value::String("k".into()),
                    key_schema: Some(Schema::string()),
                    value_schema: schema,
                    value,
                    timestamp: Some(i64::MAX),
                    ..Default::default()
                },
                ..Default::default()
            };
            let out = guarded(&format!("{cfg:?} on value {i}"), || ch.apply(rec));
            if let Err(e) = out {
                assert!(!e.error.to_string().is_empty(), "{cfg:?}: an empty error");
            }
        }
    }
}
