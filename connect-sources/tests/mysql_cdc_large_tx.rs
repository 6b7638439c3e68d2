//! One 100 000-row transaction streamed from the binlog with bounded memory: the connector hands rows
//! on as the binlog delivers them, through a bounded queue, and never holds the transaction. The
//! process's resident memory is sampled while the transaction streams; its growth stays far below
//! what the transaction's records would take if they were held at once.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::MariaDb;

const ROWS: u64 = 100_000;

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_100_000_row_transaction_streams_with_bounded_memory() {
    let db = MariaDb::start();
    db.exec(
        "CREATE DATABASE bulk;
         CREATE TABLE bulk.obs (id BIGINT PRIMARY KEY, patient_id INT NOT NULL,
           code VARCHAR(20) NOT NULL, value DECIMAL(10,2), taken DATETIME(3), note VARCHAR(200));",
    );
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    let worker = Worker::start(
        Props::new().with("offset.flush.interval.ms", "200"),
        registry,
    )
    .await
    .unwrap();
    let topic = "bulk.bulk.obs";
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    let props = common::mariadb_source(&db, "bulk", "bulk")
        .with("table.include.list", "bulk.obs")
        .with("max.queue.size", "2048")
        .with("max.batch.size", "512");
    let c = worker
        .start_connector(ConnectorConfig::new("bulk", props))
        .await
        .unwrap();
    // Streaming: a first row arrives as a change.
    db.exec("INSERT INTO bulk.obs VALUES (0, 1, 'warmup', 1.00, NOW(3), 'x');");
    c.wait_for(Duration::from_secs(60), |m| m.records_written >= 1)
        .await
        .unwrap();

    let before = c.metrics().records_written;
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let baseline = rss();
    let sampler = std::thread::spawn({
        let stop = stop.clone();
        let peak = peak.clone();
        move || {
            while !stop.load(Ordering::SeqCst) {
                peak.fetch_max(rss(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    });
    let started = Instant::now();
    db.exec(&format!(
        "INSERT INTO bulk.obs
           SELECT seq, seq % 5000, CONCAT('LOINC-', seq % 97), seq / 100, '2026-11-30 12:00:00.000',
                  REPEAT('n', 120)
           FROM bulk.seq_1_to_{ROWS};"
    ));
    c.wait_for(Duration::from_secs(240), |m| {
        m.records_written >= before + ROWS
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {:?} {:?}", c.metrics(), c.status()));
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let growth = peak.load(Ordering::SeqCst).saturating_sub(baseline);
    eprintln!(
        "100 000-row transaction: {elapsed:?}, resident memory {} MiB before, peak growth {} MiB",
        baseline >> 20,
        growth >> 20
    );
    // Serialized alone, the transaction's change events take about 55 MB (some 550 bytes of JSON
    // each), and far more as Connect structs; what streams through the queue, the producer's buffer
    // and the embedded broker (which keeps about 5 MiB of the partition) stays under 40 MiB.
    assert!(
        growth < 40 << 20,
        "resident memory grew by {} MiB while the transaction streamed",
        growth >> 20
    );
    assert_eq!(c.metrics().records_failed, 0);
    assert_eq!(c.metrics().records_written, before + ROWS);
    worker.shutdown().await;
}
