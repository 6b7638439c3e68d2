//! Runner throughput against the embedded cluster, each beside its bare rdkafka peer in the same run:
//! the source runner against a bare `FutureProducer` sending the same bytes, the sink runner against a
//! bare `StreamConsumer` reading the same records.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_benches::{
    bench_worker_props, encounter, encounter_json_bytes, encounter_schema, BudgetSource,
    CountingSink,
};
use connect_core::config::{ConnectorConfig, Props};
use connect_core::data::{Schema, Value};
use connect_core::rdkafka::consumer::{Consumer, StreamConsumer};
use connect_core::rdkafka::producer::{FutureProducer, FutureRecord};
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

const N: u64 = 20_000;

fn cfg(name: &str, pairs: &[(&str, &str)]) -> ConnectorConfig {
    let p: Props = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    ConnectorConfig::new(name, p.with("name", name))
}

fn source_runner(c: &mut Criterion) {
    let rt = connect_benches::bench_runtime();
    let bytes = encounter_json_bytes(1);
    // Each contender writes to its own topic, so none runs against a log the others grew.
    let src = |value: Value, schema: Schema, offset_per_record: bool, topic: &str| BudgetSource {
        budget: Arc::new(AtomicU64::new(0)),
        value,
        schema: Some(schema),
        topic: topic.into(),
        offset_per_record,
    };
    let byte_src = src(
        Value::Bytes(bytes.clone()),
        Schema::bytes(),
        false,
        "bench.src.bytes",
    );
    let byte_src_offsets = src(
        Value::Bytes(bytes.clone()),
        Schema::bytes(),
        true,
        "bench.src.offsets",
    );
    let struct_src = src(
        Value::Struct(encounter(1)),
        encounter_schema(),
        true,
        "bench.src.struct",
    );
    let mut reg = Registry::with_builtins();
    reg.register_source(&["BytesSource"], byte_src.clone());
    reg.register_source(&["BytesSourceOffsets"], byte_src_offsets.clone());
    reg.register_source(&["StructSource"], struct_src.clone());
    let worker = rt
        .block_on(Worker::start(bench_worker_props(), reg))
        .unwrap();
    for t in [
        "bench.src.bare",
        "bench.src.bytes",
        "bench.src.offsets",
        "bench.src.struct",
    ] {
        worker.embedded().unwrap().create_topic(t, 1, 1).unwrap();
    }

    let mut g = c.benchmark_group("source_runner");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(N));

    let producer: FutureProducer = worker.kafka().producer_config().create().unwrap();
    g.bench_function("peer_bare_future_producer", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut pending = Vec::with_capacity(N as usize);
                    for _ in 0..N {
                        loop {
                            match producer.send_result(
                                FutureRecord::<[u8], [u8]>::to("bench.src.bare")
                                    .payload(&bytes[..]),
                            ) {
                                Ok(d) => {
                                    pending.push(d);
                                    break;
                                }
                                Err(_) => tokio::time::sleep(Duration::from_micros(100)).await,
                            }
                        }
                    }
                    for d in pending {
                        d.await.unwrap().unwrap();
                    }
                }
                start.elapsed()
            })
        })
    });

    for (name, class, src, conv) in [
        (
            "runner_bytes_bytearray_converter",
            "BytesSource",
            &byte_src,
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        ),
        (
            "runner_bytes_offset_map_per_record",
            "BytesSourceOffsets",
            &byte_src_offsets,
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        ),
        (
            "runner_20_field_struct_json_converter",
            "StructSource",
            &struct_src,
            "org.apache.kafka.connect.json.JsonConverter",
        ),
    ] {
        let handle = rt
            .block_on(worker.start_connector(cfg(
                name,
                &[
                    ("connector.class", class),
                    ("value.converter", conv),
                    ("value.converter.schemas.enable", "false"),
                ],
            )))
            .unwrap();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let target = handle.metrics().records_written + N;
                        src.budget.fetch_add(N, Ordering::AcqRel);
                        // Poll the counter tightly: ConnectorHandle::wait_for sleeps 20 ms between checks,
                        // which would be a large part of a 20k-record run.
                        let deadline = Instant::now() + Duration::from_secs(120);
                        while handle.metrics().records_written < target {
                            assert!(
                                Instant::now() < deadline,
                                "runner stalled: {:?}",
                                handle.status()
                            );
                            tokio::time::sleep(Duration::from_micros(200)).await;
                        }
                    }
                    start.elapsed()
                })
            })
        });
        rt.block_on(worker.stop_connector(name)).unwrap();
    }
    g.finish();
    rt.block_on(worker.shutdown());
}

fn sink_runner(c: &mut Criterion) {
    let rt = connect_benches::bench_runtime();
    let sink = CountingSink::default();
    let mut reg = Registry::with_builtins();
    reg.register_sink(&["CountingSink"], sink.clone());
    let worker = rt
        .block_on(Worker::start(bench_worker_props(), reg))
        .unwrap();
    // Four partitions: the mock cluster keeps about 5 MB per partition and drops older segments.
    worker
        .embedded()
        .unwrap()
        .create_topic("bench.sink", 4, 1)
        .unwrap();
    // The records both peers read.
    rt.block_on(async {
        let p: FutureProducer = worker.kafka().producer_config().create().unwrap();
        let mut pending = Vec::new();
        for i in 0..N {
            let b = encounter_json_bytes(i as i64);
            pending.push(
                p.send_result(
                    FutureRecord::<[u8], [u8]>::to("bench.sink")
                        .partition((i % 4) as i32)
                        .payload(&b[..]),
                )
                .ok()
                .unwrap(),
            );
            if pending.len() >= 5000 {
                for d in pending.drain(..) {
                    d.await.unwrap().unwrap();
                }
            }
        }
        for d in pending {
            d.await.unwrap().unwrap();
        }
    });

    {
        let probe: connect_core::rdkafka::consumer::BaseConsumer =
            worker.kafka().consumer_config("probe").create().unwrap();
        let kept: i64 = (0..4)
            .map(|p| {
                let wm = probe
                    .fetch_watermarks("bench.sink", p, Duration::from_secs(10))
                    .unwrap();
                wm.1 - wm.0
            })
            .sum();
        assert_eq!(kept, N as i64, "records kept in bench.sink");
    }
    let mut g = c.benchmark_group("sink_runner");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(N));
    let run_id = AtomicU64::new(0);

    g.bench_function("peer_bare_stream_consumer", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let group = format!("bare-{}", run_id.fetch_add(1, Ordering::Relaxed));
                    let consumer: StreamConsumer =
                        worker.kafka().consumer_config(&group).create().unwrap();
                    consumer.subscribe(&["bench.sink"]).unwrap();
                    let mut first = None;
                    let mut n = 0u64;
                    let mut sum = 0usize;
                    while n < N {
                        let m = match tokio::time::timeout(Duration::from_secs(10), consumer.recv())
                            .await
                        {
                            Ok(m) => m.unwrap(),
                            Err(_) => panic!(
                                "bare consumer got {n} of {N} records in 10 s; assignment {:?}",
                                consumer.assignment()
                            ),
                        };
                        first.get_or_insert_with(Instant::now);
                        sum += connect_core::rdkafka::Message::payload(&m)
                            .map(|p| p.len())
                            .unwrap_or(0);
                        n += 1;
                    }
                    std::hint::black_box(sum);
                    total += first.unwrap().elapsed();
                }
                total
            })
        })
    });

    for (name, conv) in [
        (
            "runner_bytearray_converter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        ),
        (
            "runner_json_converter_schemaless",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let conn = format!("{name}-{}", run_id.fetch_add(1, Ordering::Relaxed));
                        sink.count.store(0, Ordering::Release);
                        sink.target.store(N, Ordering::Release);
                        *sink.times.lock().unwrap() = (None, None);
                        let h = worker
                            .start_connector(cfg(
                                &conn,
                                &[
                                    ("connector.class", "CountingSink"),
                                    ("topics", "bench.sink"),
                                    ("value.converter", conv),
                                    ("value.converter.schemas.enable", "false"),
                                ],
                            ))
                            .await
                            .unwrap();
                        h.wait_for(Duration::from_secs(120), |m| m.records_written >= N)
                            .await
                            .unwrap();
                        let (first, last) = *sink.times.lock().unwrap();
                        total += last.unwrap() - first.unwrap();
                        worker.stop_connector(&conn).await.unwrap();
                    }
                    total
                })
            })
        });
    }
    g.finish();
    rt.block_on(worker.shutdown());
}

criterion_group!(runners, source_runner, sink_runner);
criterion_main!(runners);
