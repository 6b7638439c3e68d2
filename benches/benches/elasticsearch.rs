//! The Elasticsearch sink against a real OpenSearch API server (osmem-server, started by the bench),
//! each contender beside its peer in the same run:
//!
//! * `es_bulk_encode`: 2 000 encounter records (20-field structs) into one bulk body, by the sink's
//!   encoder (straight into the buffer) and by the detour the encoder avoids (each document built as
//!   a `serde_json::Value` tree, then serialized); bytes of bulk body per second.
//! * `es_index`: 20 000 encounters indexed per run, by the sink task (`put` of 2 000 records at a
//!   time: encoding, the request, the answer read item by item) and by a bare reqwest client posting
//!   the same bulk bodies one after another and reading nothing of the answer but its status.
//!   Documents per second. Each run writes a fresh index, dropped (untimed) after it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_benches::{bench_runtime, encounter_sink_records};
use connect_core::config::Props;
use connect_core::record::SinkRecord;
use connect_core::sink::{SinkTask, SinkTaskContext};
use connect_sinks::elasticsearch::encoder::Encoder;
use connect_sinks::elasticsearch::{ElasticsearchSinkConfig, ElasticsearchSinkTask};
use connect_test_support::OpenSearch;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

const BATCH: usize = 2_000;

/// Records per indexing run: 20 000 when benchmarking, 2 000 when `cargo test` runs the bench once.
fn docs() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        BATCH
    }
}

fn records(topic: &str, n: usize) -> Vec<SinkRecord> {
    encounter_sink_records(topic, n)
}

fn config(url: &str) -> Props {
    Props::new()
        .with("connection.url", url)
        .with("batch.size", BATCH.to_string())
        .with("read.timeout.ms", "30000")
}

/// The bulk bodies the sink sends for `recs`, `BATCH` records each.
fn bodies(cfg: &ElasticsearchSinkConfig, recs: &[SinkRecord]) -> Vec<Bytes> {
    let enc = Encoder::new(cfg);
    recs.chunks(BATCH)
        .map(|chunk| {
            let mut buf = Vec::new();
            for (i, r) in chunk.iter().enumerate() {
                enc.encode(i, r, &mut buf).unwrap();
            }
            Bytes::from(buf)
        })
        .collect()
}

/// The detour: each document as a `serde_json::Value` tree, then written.
fn tree_body(recs: &[SinkRecord]) -> Vec<u8> {
    let conv = connect_core::converter::JsonConverter::new(false);
    let mut out = Vec::new();
    for r in recs {
        let mut doc = Vec::new();
        conv.write_value(r.record.value_schema.as_ref(), &r.record.value, &mut doc)
            .unwrap();
        let tree: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        let action = serde_json::json!({"index": {"_index": r.record.topic, "_id": r.record.key.as_str(),
            "version": r.kafka_offset, "version_type": "external"}});
        serde_json::to_writer(&mut out, &action).unwrap();
        out.push(b'\n');
        serde_json::to_writer(&mut out, &tree).unwrap();
        out.push(b'\n');
    }
    out
}

fn es(c: &mut Criterion) {
    let rt = bench_runtime();
    let os = OpenSearch::start();
    let url = os.url();
    let cfg = ElasticsearchSinkConfig::parse(&config(&url)).unwrap();

    let recs = records("encode", BATCH);
    let body_len = bodies(&cfg, &recs)[0].len() as u64;
    let mut g = c.benchmark_group("es_bulk_encode");
    g.throughput(Throughput::Bytes(body_len));
    g.bench_function("peer_serde_json_tree", |b| {
        b.iter(|| black_box(tree_body(&recs)))
    });
    g.bench_function("encoder_direct", |b| {
        let enc = Encoder::new(&cfg);
        let mut buf = Vec::with_capacity(body_len as usize);
        b.iter(|| {
            buf.clear();
            for (i, r) in recs.iter().enumerate() {
                enc.encode(i, r, &mut buf).unwrap();
            }
            black_box(buf.len())
        })
    });
    g.finish();

    let n = docs();
    let client = reqwest::Client::new();
    let run = std::cell::Cell::new(0u32);
    let fresh = || {
        let i = run.get();
        run.set(i + 1);
        format!("bench-{i}")
    };
    let drop_index = |index: &str| {
        let _ = os.request("DELETE", &format!("/{index}"), None);
    };
    let mut g = c.benchmark_group("es_index");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n as u64));
    g.bench_function("peer_bare_reqwest_bulk", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let index = fresh();
                let bodies = bodies(&cfg, &records(&index, n));
                total += rt.block_on(async {
                    let start = Instant::now();
                    for body in bodies {
                        let resp = client
                            .post(format!("{url}/_bulk"))
                            .header("content-type", "application/x-ndjson")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        assert!(resp.status().is_success());
                        black_box(resp.bytes().await.unwrap());
                    }
                    start.elapsed()
                });
                drop_index(&index);
            }
            total
        })
    });
    g.bench_function("sink_task_put", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let index = fresh();
                let recs = records(&index, n);
                total += rt.block_on(async {
                    let mut task = ElasticsearchSinkTask::default();
                    task.start(SinkTaskContext {
                        config: config(&url),
                        errant_record_reporter: None,
                    })
                    .await
                    .unwrap();
                    let start = Instant::now();
                    for chunk in recs.chunks(BATCH) {
                        task.put(chunk).await.unwrap();
                    }
                    let t = start.elapsed();
                    task.stop().await.unwrap();
                    t
                });
                drop_index(&index);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, es);
criterion_main!(benches);
