//! JsonConverter encode and decode of a 20-field struct, with schemas on and off.

use connect_benches::{encounter, encounter_schema};
use connect_core::converter::{Converter, JsonConverter};
use connect_core::data::Value;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

fn group(c: &mut Criterion, schemas: bool) {
    let name = if schemas {
        "json_converter/schemas_on"
    } else {
        "json_converter/schemas_off"
    };
    let mut g: BenchmarkGroup<'_, _> = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    let conv = JsonConverter::new(schemas);
    let schema = encounter_schema();
    let value = Value::Struct(encounter(42));
    let bytes = conv
        .from_connect_data("t", Some(&schema), &value)
        .unwrap()
        .unwrap();
    g.bench_function("encode_20_field_struct", |b| {
        b.iter(|| {
            conv.from_connect_data("t", Some(&schema), std::hint::black_box(&value))
                .unwrap()
        })
    });
    g.bench_function("decode_20_field_struct", |b| {
        b.iter(|| {
            conv.to_connect_data("t", Some(std::hint::black_box(&bytes)))
                .unwrap()
        })
    });
    // The same bytes parsed by serde_json into its own tree: the floor of any JSON decode.
    g.bench_function("peer_serde_json_value_parse", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(std::hint::black_box(&bytes)).unwrap()
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    group(c, true);
    group(c, false);
}

criterion_group!(json, benches);
criterion_main!(json);
