//! Crash matrix for the MySQL/MariaDB connector: a writer commits thousands of mixed INSERT, UPDATE
//! and DELETE statements (some in multi-statement transactions, some rolled back) while the
//! connector is killed again and again (tasks dropped where they are: no flush, no offset commit, no
//! `stop`), during the snapshot and during streaming. Afterwards every committed change is in Kafka,
//! per key in commit order, with nothing missing between the completed snapshot and the first change,
//! and nothing rolled back.
//!
//! `CONNECT_CDC_SOAK=1` runs the long form (more rows, changes and kills).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::{MariaDb, TopicTail};
use serde_json::Value as Json;

/// A small deterministic generator (xorshift64*), so a failing run can be repeated by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One committed change of a key: the row's `v` after it (`None` = deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    op: char,
    v: i64,
    after: Option<i64>,
}

struct Plan {
    rows: i64,
    changes: usize,
    kills: usize,
}

impl Plan {
    fn get() -> Plan {
        if std::env::var_os("CONNECT_CDC_SOAK").is_some() {
            Plan {
                rows: 50_000,
                changes: 30_000,
                kills: 40,
            }
        } else {
            Plan {
                rows: 20_000,
                changes: 10_000,
                kills: 20,
            }
        }
    }
}

/// Runs the writer: batches of statements, each batch one client call. Returns every committed
/// change per key, in commit order, and the keys only ever written by rolled-back transactions.
fn write(db: &MariaDb, plan: &Plan, seed: u64) -> (BTreeMap<i64, Vec<Change>>, Vec<i64>) {
    let mut rng = Rng(seed);
    // Current state: key -> v. Keys 1..=rows exist from the start with v = -key.
    let mut state: HashMap<i64, i64> = (1..=plan.rows).map(|k| (k, -k)).collect();
    let mut live: Vec<i64> = (1..=plan.rows).collect();
    let mut history: BTreeMap<i64, Vec<Change>> = BTreeMap::new();
    let mut rolled_back = Vec::new();
    let mut next_key = plan.rows + 1;
    let mut next_v = 1i64;
    let mut done = 0usize;
    let mut rollback_key = 10_000_000i64;
    while done < plan.changes {
        let mut sql = String::new();
        let mut batch = 0;
        while batch < 10 && done < plan.changes {
            let in_tx = rng.below(4) == 0;
            let n = if in_tx { 2 + rng.below(4) as usize } else { 1 };
            if in_tx {
                sql.push_str("BEGIN;");
            }
            for _ in 0..n {
                let choice = rng.below(10);
                if choice < 4 || live.is_empty() {
                    // One to three rows in one statement: one rows event with several rows.
                    let n = 1 + rng.below(3);
                    let mut values = Vec::new();
                    for _ in 0..n {
                        let k = next_key;
                        next_key += 1;
                        let v = next_v;
                        next_v += 1;
                        values.push(format!("({k},{v},'n{v}')"));
                        state.insert(k, v);
                        live.push(k);
                        history.entry(k).or_default().push(Change {
                            op: 'c',
                            v,
                            after: Some(v),
                        });
                    }
                    sql.push_str(&format!(
                        "INSERT INTO crash.item VALUES {};",
                        values.join(",")
                    ));
                    done += n as usize - 1;
                } else if choice < 8 {
                    let k = live[rng.below(live.len() as u64) as usize];
                    let v = next_v;
                    next_v += 1;
                    sql.push_str(&format!("UPDATE crash.item SET v={v} WHERE id={k};"));
                    state.insert(k, v);
                    history.entry(k).or_default().push(Change {
                        op: 'u',
                        v,
                        after: Some(v),
                    });
                } else {
                    let n = (1 + rng.below(2)).min(live.len() as u64);
                    let mut ids = Vec::new();
                    for _ in 0..n {
                        let i = rng.below(live.len() as u64) as usize;
                        let k = live.swap_remove(i);
                        let v = state.remove(&k).unwrap();
                        ids.push(k.to_string());
                        history.entry(k).or_default().push(Change {
                            op: 'd',
                            v,
                            after: None,
                        });
                    }
                    sql.push_str(&format!(
                        "DELETE FROM crash.item WHERE id IN ({});",
                        ids.join(",")
                    ));
                    done += n as usize - 1;
                }
                done += 1;
            }
            if in_tx {
                sql.push_str("COMMIT;");
            }
            // Now and then a rolled-back transaction, which must never appear.
            if rng.below(25) == 0 {
                sql.push_str(&format!(
                    "BEGIN; INSERT INTO crash.item VALUES ({rollback_key},0,'rb'); ROLLBACK;"
                ));
                rolled_back.push(rollback_key);
                rollback_key += 1;
            }
            batch += 1;
        }
        db.exec(&sql);
        // Paced, so the kills interleave with the writes.
        std::thread::sleep(Duration::from_millis(10));
    }
    (history, rolled_back)
}

/// The table as a consumer of the topic sees it: the rows of the last completed snapshot (the last
/// run of `first` .. `last` markers; rows of runs killed before they completed are superseded by
/// it, as with Debezium), then every change after it. Empty until a snapshot completed.
fn derived_state(records: &[connect_test_support::Stored]) -> HashMap<i64, i64> {
    let events: Vec<(i64, Json)> = records
        .iter()
        .filter_map(|r| Some((r.key_json()?["id"].as_i64()?, r.json()?)))
        .collect();
    let marker = |e: &Json| e["source"]["snapshot"].as_str().unwrap_or("").to_owned();
    let Some(end) = events.iter().rposition(|(_, e)| marker(e) == "last") else {
        return HashMap::new();
    };
    let start = events[..=end]
        .iter()
        .rposition(|(_, e)| marker(e) == "first")
        .unwrap_or(0);
    let mut state = HashMap::new();
    for (k, e) in &events[start..] {
        match e["after"]["v"].as_i64() {
            Some(v) => state.insert(*k, v),
            None => state.remove(k),
        };
    }
    state
}

/// Whether the topic holds a snapshot's `last` record.
fn snapshot_completed(tail: &TopicTail) -> bool {
    tail.with(|rs| {
        rs.iter()
            .rev()
            .filter_map(|r| r.json())
            .any(|v| v["source"]["snapshot"] == "last")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_committed_change_survives_repeated_kills() {
    common::init_tracing();
    let plan = Plan::get();
    let seed = std::env::var("CONNECT_CDC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cdc0_u64);
    let db = Arc::new(MariaDb::start());
    db.exec(&format!(
        "CREATE DATABASE crash;
         CREATE TABLE crash.item (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40));
         INSERT INTO crash.item (id, v, note)
           SELECT seq, -seq, CONCAT('seed', seq) FROM crash.seq_1_to_{};",
        plan.rows
    ));
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    let worker = Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap();
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let topic = "crash.crash.item";
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    // Read as written: the embedded cluster keeps only about 5 MB of a partition.
    let tail = TopicTail::start(&bootstrap, topic);
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
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let db = db.clone();
        let writing = writing.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let r = write(&db, &plan, seed);
            writing.store(false, Ordering::SeqCst);
            r
        })
    };
    let plan = Plan::get();
    let mut rng = Rng(seed ^ 0xdead_beef);
    let started = Instant::now();
    const SNAPSHOT_KILLS: usize = 3;
    for i in 0..plan.kills {
        if i == SNAPSHOT_KILLS {
            // The first kills land in the snapshot; the rest once it is complete, in streaming
            // (and inside transactions) while the writer goes on.
            let until = Instant::now() + Duration::from_secs(120);
            while !snapshot_completed(&tail) {
                assert!(Instant::now() < until, "the snapshot never completed");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        let pause = if i < SNAPSHOT_KILLS {
            150 + rng.below(250)
        } else {
            100 + rng.below(500)
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        worker.abort_connector("crash").await.unwrap();
        worker.start_connector(config()).await.unwrap();
    }
    let (history, rolled_back) = tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();
    assert!(!writing.load(Ordering::SeqCst));
    let kills_elapsed = started.elapsed();

    // Wait until the stream holds the final state of every key.
    let final_state: BTreeMap<i64, Option<i64>> = history
        .iter()
        .map(|(k, cs)| (*k, cs.last().unwrap().after))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let records = tail.records();
        let seen = derived_state(&records);
        let wrong: Vec<_> = final_state
            .iter()
            .filter(|(k, v)| seen.get(k).copied() != **v)
            .map(|(k, v)| (*k, *v, seen.get(k).copied()))
            .collect();
        if wrong.is_empty() {
            break records;
        }
        assert!(
            Instant::now() < deadline,
            "the stream never reached the final state ({} records; {} keys differ, e.g. (key, committed, seen) {:?}); status {:?}; metrics {:?}; processlist:\n{}",
            records.len(),
            wrong.len(),
            &wrong[..wrong.len().min(5)],
            worker.connector("crash").map(|c| c.status()),
            worker.connector("crash").map(|c| c.metrics()),
            db.exec("SHOW FULL PROCESSLIST"),
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    worker.shutdown().await;
    drop(tail);

    // The completed snapshot: the last run of `first` .. `last` markers.
    let events: Vec<(i64, Json)> = records
        .iter()
        .filter_map(|r| Some((r.key_json()?["id"].as_i64()?, r.json()?)))
        .collect();
    let marker = |e: &Json| e["source"]["snapshot"].as_str().unwrap_or("").to_owned();
    let last_end = events
        .iter()
        .rposition(|(_, e)| marker(e) == "last")
        .expect("a completed snapshot");
    let last_start = events[..=last_end]
        .iter()
        .rposition(|(_, e)| marker(e) == "first")
        .unwrap();
    let snapshot_runs = events.iter().filter(|(_, e)| marker(e) == "first").count();
    let mut snapshot: HashMap<i64, i64> = HashMap::new();
    for (k, e) in &events[last_start..=last_end] {
        assert_eq!(e["op"], "r");
        snapshot.insert(*k, e["after"]["v"].as_i64().unwrap());
    }
    // Changes after it, per key, the first occurrence of each kept (later ones are redeliveries).
    let mut changes: HashMap<i64, Vec<Change>> = HashMap::new();
    let mut change_records = 0usize;
    for (k, e) in &events[last_end + 1..] {
        let op = e["op"].as_str().unwrap().chars().next().unwrap();
        assert_ne!(op, 'r', "a snapshot read after the completed snapshot");
        change_records += 1;
        let c = Change {
            op,
            v: if op == 'd' {
                e["before"]["v"].as_i64().unwrap()
            } else {
                e["after"]["v"].as_i64().unwrap()
            },
            after: e["after"]["v"].as_i64(),
        };
        let list = changes.entry(*k).or_default();
        if !list.contains(&c) {
            list.push(c);
        }
    }
    for k in &rolled_back {
        assert!(
            !changes.contains_key(k),
            "rolled-back insert of {k} emitted"
        );
    }
    let mut checked = 0;
    let keys: std::collections::BTreeSet<i64> =
        history.keys().copied().chain(1..=plan.rows).collect();
    for k in keys {
        let committed = history.get(&k).cloned().unwrap_or_default();
        let initial = (k <= plan.rows).then_some(-k);
        let emitted = changes.get(&k).cloned().unwrap_or_default();
        let at_snapshot = snapshot.get(&k).copied();
        match emitted.first() {
            None => {
                let final_v = committed.last().map_or(initial, |c| c.after);
                assert_eq!(
                    at_snapshot, final_v,
                    "key {k}: no change emitted, yet the snapshot ({at_snapshot:?}) is not the final state ({final_v:?}); committed {committed:?}"
                );
            }
            Some(first) => {
                let i0 = committed
                    .iter()
                    .position(|c| c == first)
                    .unwrap_or_else(|| {
                        panic!("key {k}: emitted {first:?} was never committed ({committed:?})")
                    });
                assert_eq!(
                    emitted,
                    committed[i0..],
                    "key {k}: the changes after the snapshot are not every committed change in order"
                );
                let before = if i0 == 0 {
                    initial
                } else {
                    committed[i0 - 1].after
                };
                assert_eq!(
                    at_snapshot, before,
                    "key {k}: a change between the snapshot and the first emitted change is missing"
                );
            }
        }
        checked += 1;
    }
    let distinct: usize = changes.values().map(Vec::len).sum();
    eprintln!(
        "crash matrix: {} kills in {kills_elapsed:?}, {snapshot_runs} snapshot runs, {checked} keys, {distinct} changes, {} redelivered",
        plan.kills,
        change_records - distinct
    );
    assert!(
        snapshot_runs >= 2,
        "no kill landed in the snapshot ({snapshot_runs} run)"
    );
    assert!(
        distinct >= plan.changes / 2,
        "most changes should be streamed, not read by the snapshot ({distinct} of {})",
        plan.changes
    );
}
