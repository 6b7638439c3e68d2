//! The archive sink writing JSON lines to a local directory, beside its floor in the same run:
//!
//! * `archive_local/peer_fs_write_prebuilt`: the same JSON-lines files, already encoded, written with
//!   `std::fs::write` (what the sink cannot beat: the file system);
//! * `archive_local/sink_task_put`: the sink task's `put` of the records (encoding, partitioning,
//!   objects through `object_store`'s local store), 1 000 records per file.
//!
//! Throughput in bytes of JSON lines written. Each iteration writes into a fresh directory.
//!
//! * `archive_formats/*`: records per second of the sink task's `put` in JSON lines and in Parquet
//!   (snappy), the same records.

use std::hint::black_box;
use std::time::{Duration, Instant};

use connect_benches::{bench_runtime, encounter_sink_records};
use connect_core::config::Props;
use connect_core::converter::JsonConverter;
use connect_core::record::SinkRecord;
use connect_core::sink::{SinkTask, SinkTaskContext};
use connect_sinks::archive::ArchiveSinkTask;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const FLUSH: usize = 1_000;
const N: usize = 20_000;

fn records() -> Vec<SinkRecord> {
    encounter_sink_records("encounters", N)
}

fn archive(c: &mut Criterion) {
    let rt = bench_runtime();
    let recs = records();
    let json = JsonConverter::new(false);
    let files: Vec<Vec<u8>> = recs
        .chunks(FLUSH)
        .map(|chunk| {
            let mut out = Vec::new();
            for r in chunk {
                json.write_value(r.record.value_schema.as_ref(), &r.record.value, &mut out)
                    .unwrap();
                out.push(b'\n');
            }
            out
        })
        .collect();
    let bytes: u64 = files.iter().map(|f| f.len() as u64).sum();
    let mut g = c.benchmark_group("archive_local");
    g.throughput(Throughput::Bytes(bytes)).sample_size(10);
    g.bench_function("peer_fs_write_prebuilt", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let sub = dir.path().join("topics/encounters/partition=0");
                std::fs::create_dir_all(&sub).unwrap();
                let start = Instant::now();
                for (i, f) in files.iter().enumerate() {
                    let name = format!("encounters+0+{:010}.json", i * FLUSH);
                    std::fs::write(sub.join(name), f).unwrap();
                }
                total += start.elapsed();
                black_box(dir);
            }
            total
        })
    });
    g.bench_function("sink_task_put", |b| {
        b.iter_custom(|iters| {
            put_runs(
                &rt,
                &recs,
                iters,
                "io.confluent.connect.s3.format.json.JsonFormat",
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("archive_formats");
    g.throughput(Throughput::Elements(N as u64)).sample_size(10);
    for (name, class) in [
        (
            "json_lines",
            "io.confluent.connect.s3.format.json.JsonFormat",
        ),
        (
            "parquet_snappy",
            "io.confluent.connect.s3.format.parquet.ParquetFormat",
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| put_runs(&rt, &recs, iters, class))
        });
    }
    g.finish();
}

/// `iters` runs of the sink task writing `recs` in `format` to a fresh directory; the time of the
/// puts only.
fn put_runs(
    rt: &tokio::runtime::Runtime,
    recs: &[SinkRecord],
    iters: u64,
    format: &str,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = tempfile::tempdir().unwrap();
        total += rt.block_on(async {
            let mut task = ArchiveSinkTask::default();
            task.start(SinkTaskContext {
                config: Props::new()
                    .with("store.url", format!("file://{}", dir.path().display()))
                    .with("format.class", format)
                    .with("flush.size", FLUSH.to_string()),
                errant_record_reporter: None,
            })
            .await
            .unwrap();
            let start = Instant::now();
            for chunk in recs.chunks(500) {
                task.put(chunk).await.unwrap();
            }
            let t = start.elapsed();
            task.stop().await.unwrap();
            t
        });
    }
    total
}

criterion_group!(benches, archive);
criterion_main!(benches);
