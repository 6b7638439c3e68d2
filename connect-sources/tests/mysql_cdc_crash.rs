//! Crash matrix for the MySQL/MariaDB connector: a writer commits thousands of mixed INSERT, UPDATE
//! and DELETE statements (some in multi-statement transactions, some rolled back) while the
//! connector is killed again and again (tasks dropped where they are: no flush, no offset commit, no
//! `stop`), during the snapshot and during streaming. Afterwards every committed change is in Kafka,
//! per key in commit order, with nothing missing between the completed snapshot and the first change,
//! and nothing rolled back.
//!
//! `CONNECT_CDC_SOAK=1` runs the long form (more rows, changes and kills).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::crash::{Plan, Writer};
use connect_core::config::ConnectorConfig;
use connect_test_support::MariaDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_committed_change_survives_repeated_kills() {
    common::init_tracing();
    let plan = Plan::get();
    let seed = common::crash::seed();
    let db = Arc::new(MariaDb::start());
    db.exec(&format!(
        "CREATE DATABASE crash;
         CREATE TABLE crash.item (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40));
         INSERT INTO crash.item (id, v, note)
           SELECT seq, -seq, CONCAT('seed', seq) FROM crash.seq_1_to_{};",
        plan.rows
    ));
    let topic = "crash.crash.item";
    let (worker, tail) = common::crash::start_worker(topic).await;
    let config = || {
        ConnectorConfig::new(
            "crash",
            common::mariadb_source(&db, "crash", "crash")
                .with("database.server.id", "91")
                .with("table.include.list", "crash.item")
                .with("max.batch.size", "7")
                .with("max.queue.size", "1024"),
        )
    };
    worker.start_connector(config()).await.unwrap();

    // The writer starts while the snapshot runs; the kills come at random moments throughout.
    let writer = {
        let db = db.clone();
        Writer::spawn(move |sql| db.exec(sql), "crash.item", seed)
    };
    let started = Instant::now();
    common::crash::kill_repeatedly(&worker, config, &tail, &plan, seed, |_| {}).await;
    let common::crash::Written {
        history,
        rolled_back,
        ..
    } = writer.finish().await;
    let kills_elapsed = started.elapsed();

    let records = common::crash::wait_for_final_state(&tail, &history, || {
        format!(
            "status {:?}; metrics {:?}; processlist:\n{}",
            worker.connector("crash").map(|c| c.status()),
            worker.connector("crash").map(|c| c.metrics()),
            db.exec("SHOW FULL PROCESSLIST"),
        )
    })
    .await;
    worker.shutdown().await;
    drop(tail);

    let (snapshot_runs, checked, distinct, redelivered) =
        common::crash::verify(&records, &history, &rolled_back, &plan);
    eprintln!(
        "crash matrix: {} kills in {kills_elapsed:?}, {snapshot_runs} snapshot runs, {checked} keys, {distinct} changes, {redelivered} redelivered",
        plan.kills
    );
}
