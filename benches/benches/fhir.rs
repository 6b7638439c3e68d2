//! The FHIR connectors against a real FHIR server (helios-hfs, started by the bench), each beside a
//! bare reqwest client sending the same requests in the same run:
//!
//! * `fhir_sink`: 200 Patients written per run (`PUT Patient/<id>`), by the sink task (`put` of all
//!   of them: JSON from the record's map, four ordered lanes, each answer judged) and by a bare
//!   client sending the same bodies on four concurrent lanes and reading only each status.
//!   Resources per second.
//! * `fhir_source`: 1 000 Patients read per run, by the source task (`poll` until every Patient
//!   arrived: keyset pages of 100, each resource a record with its offset) and by a bare client
//!   paging the same search through `next` links and parsing each page. Resources per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use connect_benches::bench_runtime;
use connect_core::config::Props;
use connect_core::converter::JsonConverter;
use connect_core::data::Value;
use connect_core::record::{ConnectRecord, SinkRecord, TimestampType, TopicPartitionOffset};
use connect_core::runtime::offsets::OffsetReader;
use connect_core::sink::{SinkTask, SinkTaskContext};
use connect_core::source::{SourceTask, SourceTaskContext};
use connect_sinks::fhir::FhirSinkTask;
use connect_sources::fhir::FhirSourceTask;
use connect_test_support::Hfs;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use serde_json::json;

const WRITES: usize = 200;
const LANES: usize = 4;
const READS: usize = 1_000;

fn patient(i: usize) -> serde_json::Value {
    json!({"resourceType": "Patient", "id": format!("bench-{i}"), "active": true,
           "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": format!("MRN{i:06}")}],
           "name": [{"family": format!("Family{i}"), "given": ["Given", "Middle"]}],
           "gender": if i.is_multiple_of(2) { "female" } else { "male" }, "birthDate": "1970-01-01",
           "address": [{"line": [format!("{i} Main Street")], "city": "Springfield", "postalCode": "12345"}]})
}

/// The path and query of an absolute URL.
fn path_of(u: &str) -> &str {
    let after = u.find("://").map_or(0, |i| i + 3);
    u[after..].find('/').map_or("", |i| &u[after + i..])
}

fn sink_records() -> Vec<SinkRecord> {
    (0..WRITES)
        .map(|i| SinkRecord {
            record: ConnectRecord::new(
                "fhir.bench",
                Value::Null,
                JsonConverter::json_into_schemaless_value(patient(i)),
            ),
            kafka_offset: i as i64,
            timestamp_type: TimestampType::CreateTime,
            original: TopicPartitionOffset {
                topic: "fhir.bench".into(),
                partition: 0,
                offset: i as i64,
            },
        })
        .collect()
}

fn fhir(c: &mut Criterion) {
    let rt = bench_runtime();
    let hfs = Hfs::start();
    let url = hfs.url();
    let client = reqwest::Client::new();

    let records = sink_records();
    let bodies: Vec<(String, bytes::Bytes)> = (0..WRITES)
        .map(|i| {
            (
                format!("{url}/Patient/bench-{i}"),
                bytes::Bytes::from(patient(i).to_string()),
            )
        })
        .collect();
    let mut g = c.benchmark_group("fhir_sink");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(WRITES as u64));
    g.bench_function("peer_bare_reqwest_put", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let start = Instant::now();
                    let lanes = (0..LANES).map(|l| {
                        let client = client.clone();
                        let mine: Vec<_> = bodies.iter().skip(l).step_by(LANES).cloned().collect();
                        async move {
                            for (u, body) in mine {
                                let r = client
                                    .put(u)
                                    .header("content-type", "application/fhir+json")
                                    .body(body)
                                    .send()
                                    .await
                                    .unwrap();
                                assert!(r.status().is_success());
                                black_box(r.bytes().await.unwrap());
                            }
                        }
                    });
                    futures::future::join_all(lanes).await;
                    start.elapsed()
                });
            }
            total
        })
    });
    g.bench_function("sink_task_put", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let mut task = FhirSinkTask::default();
                    task.start(SinkTaskContext {
                        config: Props::new()
                            .with("fhir.url", url.as_str())
                            .with("fhir.max.in.flight", LANES.to_string()),
                        errant_record_reporter: None,
                    })
                    .await
                    .unwrap();
                    let start = Instant::now();
                    task.put(&records).await.unwrap();
                    let t = start.elapsed();
                    task.stop().await.unwrap();
                    t
                });
            }
            total
        })
    });
    g.finish();

    // The source reads 1 000 Patients (written here, so the group also runs alone).
    for i in 0..READS {
        hfs.put(&patient(i));
    }
    let mut g = c.benchmark_group("fhir_source");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(READS as u64));
    g.bench_function("peer_bare_reqwest_pages", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let start = Instant::now();
                    let mut next = Some(format!("{url}/Patient?_sort=_lastUpdated&_count=100"));
                    let mut n = 0;
                    while let Some(u) = next.take() {
                        let body = client.get(u).send().await.unwrap().bytes().await.unwrap();
                        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        n += page["entry"].as_array().map_or(0, Vec::len);
                        // The server names itself by another host: its path and query, here.
                        next = page["link"].as_array().and_then(|l| {
                            l.iter()
                                .find(|l| l["relation"] == "next")
                                .and_then(|l| l["url"].as_str())
                                .map(|n| format!("{url}{}", path_of(n)))
                        });
                        black_box(&page);
                    }
                    assert_eq!(n, READS);
                    start.elapsed()
                });
            }
            total
        })
    });
    g.bench_function("source_task_poll", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let mut task = FhirSourceTask::default();
                    task.start(SourceTaskContext {
                        config: Props::new()
                            .with("fhir.url", url.as_str())
                            .with("kafka.topic", "fhir.bench")
                            .with("fhir.page.size", "100"),
                        offsets: OffsetReader::new(Default::default()),
                        errant_record_reporter: None,
                        cluster: None,
                        progress: Default::default(),
                    })
                    .await
                    .unwrap();
                    let start = Instant::now();
                    let mut n = 0;
                    while n < READS {
                        let got = task.poll().await.unwrap();
                        n += got.len();
                        black_box(got);
                    }
                    let t = start.elapsed();
                    task.stop().await.unwrap();
                    assert_eq!(n, READS);
                    t
                });
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, fhir);
criterion_main!(benches);
