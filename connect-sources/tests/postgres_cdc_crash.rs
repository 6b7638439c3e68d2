//! Crash matrix for the PostgreSQL connector: a writer commits thousands of mixed INSERT, UPDATE and
//! DELETE statements (some in multi-statement transactions, some rolled back) while the connector is
//! killed 20 times (tasks dropped where they are: no flush, no offset commit, no `stop`), during the
//! snapshot and during streaming. Afterwards every committed change is in Kafka, per key in commit
//! order, with nothing missing between the completed snapshot and the first change and nothing
//! rolled back; and at every kill, the slot had confirmed no position beyond what Kafka held then.
//!
//! `CONNECT_CDC_SOAK=1` runs the long form (more rows, changes and kills).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::crash::{Plan, Writer, Written};
use connect_core::config::ConnectorConfig;
use connect_test_support::Postgres;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// The end offset of partition 0 of `topic` now.
fn end_offset(bootstrap: &str, topic: &str) -> i64 {
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    c.fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap()
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_committed_change_survives_repeated_kills() {
    common::init_tracing();
    let plan = Plan::get();
    let seed = common::crash::seed();
    let pg = Arc::new(Postgres::start());
    pg.exec(&format!(
        "CREATE TABLE item (id bigint PRIMARY KEY, v bigint NOT NULL, note varchar(40));
         ALTER TABLE item REPLICA IDENTITY FULL;
         INSERT INTO item SELECT g, -g, 'seed' || g FROM generate_series(1, {}) g;",
        plan.rows
    ));
    let topic = "crash.public.item";
    let (worker, tail) = common::crash::start_worker(topic).await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let config = || {
        ConnectorConfig::new(
            "crash",
            common::postgres_source(&pg, "crash", "crash")
                .with("table.include.list", "public.item")
                .with("max.batch.size", "7")
                .with("max.queue.size", "1024")
                .with("snapshot.fetch.size", "500")
                .with("status.update.interval.ms", "50"),
        )
    };
    worker.start_connector(config()).await.unwrap();

    // Each batch reports the WAL position after its commits, to check the slot against.
    let writer = {
        let pg = pg.clone();
        Writer::spawn(
            move |sql| pg.script(&format!("{sql} SELECT pg_current_wal_lsn() - '0/0';")),
            "item",
            seed,
        )
    };
    let started = Instant::now();
    // At each kill: the slot's confirmed position, and how many records Kafka held.
    let at_kills: Mutex<Vec<(u64, i64)>> = Mutex::new(Vec::new());
    common::crash::kill_repeatedly(&worker, config, &tail, &plan, seed, |_| {
        let confirmed: u64 = pg
            .exec("SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = 'debezium'")
            .trim()
            .parse()
            .unwrap_or(0);
        at_kills
            .lock()
            .unwrap()
            .push((confirmed, end_offset(&bootstrap, topic)));
    })
    .await;
    let Written {
        history,
        rolled_back,
        batches,
    } = writer.finish().await;
    let kills_elapsed = started.elapsed();

    let records = common::crash::wait_for_final_state(&tail, &history, || {
        format!(
            "status {:?}; metrics {:?}; slot {}",
            worker.connector("crash").map(|c| c.status()),
            worker.connector("crash").map(|c| c.metrics()),
            pg.exec("SELECT slot_name, active, confirmed_flush_lsn, restart_lsn FROM pg_replication_slots"),
        )
    })
    .await;
    worker.shutdown().await;
    drop(tail);

    // The slot never ran ahead of Kafka: every batch committed after the snapshot's consistent point
    // and at or before a kill's confirmed position has each of its changes in what Kafka held at that
    // kill, as a change record or in the completed snapshot (a snapshot taken again while the slot
    // existed reads rows newer than the slot's position, and the stream skips what it holds).
    let snapshot_lsn = records
        .iter()
        .rev()
        .filter_map(|r| r.json())
        .find(|e| e["source"]["snapshot"] == "last")
        .and_then(|e| e["source"]["lsn"].as_u64())
        .expect("a completed snapshot");
    let mut checked_batches = 0;
    for (confirmed, end) in at_kills.lock().unwrap().iter() {
        let held = &records[..records.partition_point(|r| r.offset < *end)];
        // Rows (key, v) and deletes (key, v) emitted, and the latest snapshot run's rows.
        let mut rows = std::collections::HashSet::new();
        let mut deletes = std::collections::HashSet::new();
        let mut snapshot_rows = std::collections::HashMap::new();
        for r in held {
            let (Some(k), Some(e)) = (r.key_json().and_then(|k| k["id"].as_i64()), r.json()) else {
                continue;
            };
            if e["source"]["snapshot"] == "first" {
                snapshot_rows.clear();
            }
            match e["op"].as_str() {
                Some("d") => {
                    deletes.insert((k, e["before"]["v"].as_i64().unwrap_or(0)));
                }
                Some(op) => {
                    let v = e["after"]["v"].as_i64().unwrap_or(0);
                    rows.insert((k, v));
                    if op == "r" {
                        snapshot_rows.insert(k, v);
                    }
                }
                None => {}
            }
        }
        // Whether the snapshot's row of `k` is at or after the key's `i`th committed change.
        let in_snapshot = |k: i64, i: usize| {
            let h = &history[&k];
            let at = match snapshot_rows.get(&k) {
                Some(v) => h.iter().position(|c| c.after == Some(*v)),
                None => h.iter().position(|c| c.op == 'd'),
            };
            at.is_some_and(|at| at >= i)
        };
        for (output, changes) in &batches {
            let Some(lsn) = output
                .lines()
                .last()
                .and_then(|l| l.trim().parse::<u64>().ok())
            else {
                continue;
            };
            if lsn > *confirmed || lsn <= snapshot_lsn {
                continue;
            }
            checked_batches += 1;
            for (k, c) in changes {
                let i = history[k].iter().position(|h| h == c).unwrap();
                let present = match c.op {
                    'd' => deletes.contains(&(*k, c.v)),
                    _ => rows.contains(&(*k, c.v)),
                } || in_snapshot(*k, i);
                assert!(
                    present,
                    "the slot confirmed {confirmed} but the change {c:?} of key {k} (committed by {lsn}) was not in Kafka"
                );
            }
        }
    }
    let (snapshot_runs, checked, distinct, redelivered) =
        common::crash::verify(&records, &history, &rolled_back, &plan);
    eprintln!(
        "crash matrix: {} kills in {kills_elapsed:?}, {snapshot_runs} snapshot runs, {checked} keys, {distinct} changes, {redelivered} redelivered, {checked_batches} batch checks against the slot",
        plan.kills
    );
    assert!(
        checked_batches > 0,
        "no kill came after a confirmed position"
    );
}
