//! The slot keeps advancing while the captured tables are quiet: another database on the same server
//! writes megabytes of WAL, and with `heartbeat.interval.ms` (alone, carrying the server's position
//! from its keepalives, or with Debezium's usual `heartbeat.action.query` writing to the captured
//! database) the WAL the slot holds back stays bounded, where without heartbeats it grows with
//! everything written.

mod common;

use std::time::{Duration, Instant};

use connect_core::config::ConnectorConfig;
use connect_test_support::Postgres;

/// WAL bytes between the server's current position and the slot's confirmed flush / restart LSN.
fn slot_lag(pg: &Postgres) -> (u64, u64) {
    let t = pg.exec(
        "SELECT pg_current_wal_lsn() - confirmed_flush_lsn, pg_current_wal_lsn() - restart_lsn \
         FROM pg_replication_slots WHERE slot_name = 'debezium'",
    );
    let mut it = t
        .trim()
        .split('|')
        .map(|s| s.trim().parse().unwrap_or(u64::MAX));
    (it.next().unwrap_or(u64::MAX), it.next().unwrap_or(u64::MAX))
}

fn wal_now(pg: &Postgres) -> u64 {
    pg.exec("SELECT pg_current_wal_lsn() - '0/0'")
        .trim()
        .parse()
        .unwrap()
}

struct Run {
    /// WAL written by the other database.
    written: u64,
    /// WAL written in one round of the writer.
    per_round: u64,
    /// The confirmed-flush lag sampled after each round of the second half.
    late_lags: Vec<u64>,
    /// The lags once writing stopped and a checkpoint logged the running transactions.
    settled: (u64, u64),
    heartbeats: usize,
}

const ROUNDS: u64 = 16;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Heartbeats {
    Off,
    On,
    WithActionQuery,
}

async fn run(mode: Heartbeats) -> Run {
    let heartbeat = mode != Heartbeats::Off;
    let pg = Postgres::start();
    pg.exec(
        "CREATE TABLE patient (id int PRIMARY KEY, mrn text NOT NULL);
         CREATE TABLE heartbeat (id int PRIMARY KEY, ts timestamptz NOT NULL);
         INSERT INTO patient VALUES (1, 'MRN1');",
    );
    pg.exec("CREATE DATABASE other");
    pg.script("\\c other\nCREATE TABLE bulk (id bigserial PRIMARY KEY, pad text NOT NULL);");
    let (worker, _) = common::crash::start_worker("hb.public.patient").await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let mut props = common::postgres_source(&pg, "hb", "hb")
        .with("table.include.list", "public.patient")
        .with("status.update.interval.ms", "100");
    if heartbeat {
        props = props.with("heartbeat.interval.ms", "200");
    }
    if mode == Heartbeats::WithActionQuery {
        props = props.with(
            "heartbeat.action.query",
            "INSERT INTO heartbeat (id, ts) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET ts = excluded.ts",
        );
    }
    worker
        .start_connector(ConnectorConfig::new("hb", props))
        .await
        .unwrap();
    let snapshot = connect_test_support::wait_for_records(
        &bootstrap,
        "hb.public.patient",
        1,
        Duration::from_secs(30),
    );
    assert_eq!(snapshot.len(), 1, "the snapshot record");

    let started = wal_now(&pg);
    let mut late_lags = Vec::new();
    for round in 0..ROUNDS {
        pg.script(
            "\\c other\nINSERT INTO bulk (pad) SELECT repeat(md5(g::text), 6) FROM generate_series(1, 4000) g;",
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        if round >= ROUNDS / 2 {
            late_lags.push(slot_lag(&pg).0);
        }
    }
    let written = wal_now(&pg) - started;
    pg.exec("CHECKPOINT");
    // Let heartbeats carry the slot past the checkpoint's running-transactions record.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut settled = slot_lag(&pg);
    while heartbeat && settled.1 > written / 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        settled = slot_lag(&pg);
    }
    if !heartbeat {
        tokio::time::sleep(Duration::from_secs(2)).await;
        settled = slot_lag(&pg);
    }
    let heartbeats = connect_test_support::wait_for_records(
        &bootstrap,
        "__debezium-heartbeat.hb",
        1,
        Duration::from_secs(if heartbeat { 10 } else { 1 }),
    );
    if heartbeat {
        let key = heartbeats[0].key_json().expect("a JSON key");
        assert_eq!(key["serverName"], "hb", "{key}");
    }
    worker.shutdown().await;
    Run {
        written,
        per_round: written / ROUNDS,
        late_lags,
        settled,
        heartbeats: heartbeats.len(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeats_keep_the_slot_advancing_while_another_database_writes() {
    common::init_tracing();
    let quiet = run(Heartbeats::Off).await;
    // The control: nothing is captured, nothing is sent, the slot holds everything written.
    assert_eq!(quiet.heartbeats, 0);
    assert!(
        quiet.settled.0 >= quiet.written && quiet.settled.1 >= quiet.written,
        "without heartbeats the slot should hold all {} bytes written, holds {:?}",
        quiet.written,
        quiet.settled
    );
    for mode in [Heartbeats::On, Heartbeats::WithActionQuery] {
        let beating = run(mode).await;
        assert!(beating.heartbeats >= 1);
        assert!(
            beating.written > 8 << 20,
            "the other database wrote {} bytes",
            beating.written
        );
        let worst = beating.late_lags.iter().copied().max().unwrap_or(u64::MAX);
        assert!(
            worst <= 3 * beating.per_round,
            "{mode:?}: the confirmed flush lagged {worst} bytes behind the server ({} per round): {:?}",
            beating.per_round,
            beating.late_lags
        );
        assert!(
            beating.settled.0 <= beating.per_round && beating.settled.1 <= beating.written / 4,
            "{mode:?}: once writing stopped the slot holds {:?} of {} bytes written",
            beating.settled,
            beating.written
        );
        eprintln!(
            "{mode:?}: wrote {} bytes of WAL in another database; the slot lagged at most {worst} \
             bytes and held {:?} (confirmed, restart) at the end; without heartbeats it held {:?}",
            beating.written, beating.settled, quiet.settled
        );
    }
}
