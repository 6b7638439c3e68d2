//! Each SMT on a 20-field struct record and on the same record as a schemaless map, a chain of five,
//! and the allocations each makes per record (a counting global allocator, printed before the timings).
//!
//! Every timing is one clone of the record plus `apply` (the clone keeps the input hot in cache, as a
//! record fresh from a converter is, and gives each apply a record to own); the group's
//! `baseline_record_clone` is the clone alone. An SMT's own cost is its figure minus the baseline.

use std::alloc::System;

use connect_benches::{allocations, encounter, encounter_schema, CountingAlloc};
use connect_core::config::Props;
use connect_core::data::{Map, Schema, Struct, Value};
use connect_core::record::{ConnectRecord, SourceRecord};
use connect_core::registry::Registry;
use connect_core::transform::TransformChain;
use criterion::{criterion_group, Criterion, Throughput};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc(System);

/// The bench cases: a name and the transform config (without `transforms=`).
fn cases() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "MaskField",
            vec![("type", "MaskField$Value"), ("fields", "given_name")],
        ),
        (
            "ReplaceField",
            vec![
                ("type", "ReplaceField$Value"),
                ("exclude", "notes"),
                ("renames", "mrn:patient_mrn"),
            ],
        ),
        (
            "InsertField",
            vec![
                ("type", "InsertField$Value"),
                ("static.field", "source"),
                ("static.value", "ehr"),
            ],
        ),
        (
            "Cast",
            vec![("type", "Cast$Value"), ("spec", "acuity:int64")],
        ),
        (
            "ExtractField",
            vec![("type", "ExtractField$Value"), ("field", "mrn")],
        ),
        (
            "ValueToKey",
            vec![("type", "ValueToKey"), ("fields", "mrn")],
        ),
        (
            "HoistField",
            vec![("type", "HoistField$Value"), ("field", "encounter")],
        ),
        ("Flatten", vec![("type", "Flatten$Value")]),
        (
            "SetSchemaMetadata",
            vec![
                ("type", "SetSchemaMetadata$Value"),
                ("schema.name", "enc.v2"),
            ],
        ),
        (
            "TimestampConverter",
            vec![
                ("type", "TimestampConverter$Value"),
                ("field", "admitted_at"),
                ("target.type", "unix"),
            ],
        ),
        (
            "RegexRouter",
            vec![
                ("type", "RegexRouter"),
                ("regex", "clinical\\.(.*)"),
                ("replacement", "deid.$1"),
            ],
        ),
        (
            "TimestampRouter",
            vec![
                ("type", "TimestampRouter"),
                ("topic.format", "${topic}-${timestamp}"),
            ],
        ),
        (
            "InsertHeader",
            vec![
                ("type", "InsertHeader"),
                ("header", "origin"),
                ("value.literal", "ehr"),
            ],
        ),
        (
            "DropHeaders",
            vec![("type", "DropHeaders"), ("headers", "trace")],
        ),
        (
            "HeaderFrom",
            vec![
                ("type", "HeaderFrom$Value"),
                ("fields", "mrn"),
                ("headers", "mrn"),
                ("operation", "copy"),
            ],
        ),
        (
            "Filter+TopicNameMatches",
            vec![
                ("type", "Filter"),
                ("predicate", "other"),
                ("negate", "true"),
            ],
        ),
        (
            "Deidentify(pseudonymize+zip)",
            vec![
                ("type", "Deidentify$Value"),
                ("pseudonym.key", "bench-key-0123456789abcdef"),
                ("pseudonymize.fields", "mrn"),
                ("zip.fields", "ward"),
            ],
        ),
        (
            "Deidentify(redact)",
            vec![("type", "Deidentify$Value"), ("redact.fields", "notes")],
        ),
    ]
}

/// The chain of five a PHI pipeline typically runs.
const CHAIN_OF_FIVE: &[(&str, &str)] = &[
    ("transforms", "mask,drop,tag,cast,route"),
    ("transforms.mask.type", "MaskField$Value"),
    ("transforms.mask.fields", "given_name,family_name"),
    ("transforms.drop.type", "ReplaceField$Value"),
    ("transforms.drop.exclude", "notes"),
    ("transforms.tag.type", "InsertField$Value"),
    ("transforms.tag.static.field", "source"),
    ("transforms.tag.static.value", "ehr"),
    ("transforms.cast.type", "Cast$Value"),
    ("transforms.cast.spec", "acuity:int64"),
    ("transforms.route.type", "RegexRouter"),
    ("transforms.route.regex", "clinical\\.(.*)"),
    ("transforms.route.replacement", "deid.$1"),
];

fn chain(props: &Props) -> TransformChain<SourceRecord> {
    let mut r = Registry::with_builtins();
    connect_smt::register(&mut r);
    r.transform_chain(props).expect("bench config")
}

fn single(case: &[(&str, &str)]) -> Props {
    let mut p = Props::new()
        .with("transforms", "x")
        .with("predicates", "other")
        .with("predicates.other.type", "TopicNameMatches")
        .with("predicates.other.pattern", "clinical\\..*");
    for (k, v) in case {
        p.set(format!("transforms.x.{k}"), *v);
    }
    p
}

fn as_map(st: &Struct) -> Value {
    let mut m = Map::with_capacity(st.values().len());
    for (f, v) in st.schema().fields().iter().zip(st.values()) {
        m.push(Value::String(f.name().to_owned()), v.clone());
    }
    Value::Map(m)
}

fn record(schemaless: bool) -> SourceRecord {
    let st = encounter(42);
    let (schema, value): (Option<Schema>, Value) = if schemaless {
        (None, as_map(&st))
    } else {
        (Some(encounter_schema()), Value::Struct(st))
    };
    let mut r = SourceRecord {
        record: ConnectRecord {
            topic: "clinical.encounters".into(),
            kafka_partition: None,
            key_schema: Some(Schema::string()),
            key: Value::String("MRN-00000042".into()),
            value_schema: schema,
            value,
            timestamp: Some(1_700_000_000_000),
            ..Default::default()
        },
        ..Default::default()
    };
    r.record.headers.add_string("trace", "t-1");
    r
}

/// Allocations per `apply`, the input built beforehand and outputs dropped afterwards.
fn allocations_per_record(c: &TransformChain<SourceRecord>, schemaless: bool) -> f64 {
    const N: usize = 2000;
    // Clones of one record share its schema, as records from one converter do.
    let one = record(schemaless);
    let inputs: Vec<SourceRecord> = (0..N).map(|_| one.clone()).collect();
    let mut outputs = Vec::with_capacity(N);
    // Warm the schema caches first, as a running task would have.
    let _ = c.apply(record(schemaless));
    let before = allocations();
    for r in inputs {
        outputs.push(c.apply(r));
    }
    let after = allocations();
    drop(outputs);
    (after - before) as f64 / N as f64
}

fn allocation_table() {
    let _counting = connect_benches::counting();
    println!(
        "allocations per record (counting allocator; input built before, output dropped after):"
    );
    println!("| SMT | 20-field struct | 20-entry map |");
    println!("|---|---|---|");
    for (name, case) in cases() {
        let c = chain(&single(&case));
        println!(
            "| {name} | {:.1} | {:.1} |",
            allocations_per_record(&c, false),
            allocations_per_record(&c, true)
        );
    }
    let c = chain(&CHAIN_OF_FIVE.iter().map(|(k, v)| (*k, *v)).collect());
    println!(
        "| chain of five | {:.1} | {:.1} |",
        allocations_per_record(&c, false),
        allocations_per_record(&c, true)
    );
    let before = allocations();
    let r = record(false);
    let start = allocations();
    let copy = r.clone();
    let after = allocations();
    drop((r, copy));
    println!(
        "| baseline: record clone | {} | |  (building the record: {})",
        after - start,
        start - before
    );
}

fn bench_group(c: &mut Criterion, schemaless: bool) {
    let name = if schemaless {
        "smt/map_20_entries"
    } else {
        "smt/struct_20_fields"
    };
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    let input = record(schemaless);
    g.bench_function("baseline_record_clone", |b| {
        b.iter(|| std::hint::black_box(&input).clone())
    });
    let mut all: Vec<(&str, Props)> = cases()
        .into_iter()
        .map(|(n, case)| (n, single(&case)))
        .collect();
    all.push((
        "chain_of_five",
        CHAIN_OF_FIVE.iter().map(|(k, v)| (*k, *v)).collect(),
    ));
    for (n, props) in all {
        let t = chain(&props);
        // The record is cloned inside the timed loop, so it is hot in cache as a record fresh from a
        // converter is; `baseline_record_clone` is that clone alone, to subtract.
        g.bench_function(n, |b| {
            b.iter(|| t.apply(std::hint::black_box(&input).clone()))
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_group(c, false);
    bench_group(c, true);
}

criterion_group!(smt, benches);

fn main() {
    allocation_table();
    smt();
    Criterion::default().configure_from_args().final_summary();
}
