//! The crash matrix both CDC connectors run: a writer commits thousands of mixed INSERT, UPDATE and
//! DELETE statements (some in multi-statement transactions, some rolled back) against a table
//! `(id BIGINT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40))` whose rows `1..=rows` start with
//! `v = -id`, and the topic is checked against what was committed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use connect_core::config::Props;
use connect_core::runtime::Worker;
use connect_test_support::{Stored, TopicTail};
use serde_json::Value as Json;

/// The run's seed: `CONNECT_CDC_SEED` repeats a failing run.
pub fn seed() -> u64 {
    std::env::var("CONNECT_CDC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cdc0_u64)
}

/// A worker on the embedded cluster with the connectors registered, offsets flushed often, and a
/// tail reading `topic` as it is written (the embedded cluster keeps only about 5 MB of a partition).
pub async fn start_worker(topic: &str) -> (Worker, TopicTail) {
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    let worker = Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap();
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    let tail = TopicTail::start(worker.kafka().bootstrap_servers(), topic);
    (worker, tail)
}

/// A small deterministic generator (xorshift64*), so a failing run can be repeated by its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One committed change of a key: the row's `v` after it (`None` = deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub op: char,
    pub v: i64,
    pub after: Option<i64>,
}

pub struct Plan {
    pub rows: i64,
    pub changes: usize,
    pub kills: usize,
}

impl Plan {
    pub fn get() -> Plan {
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

/// The writer on its own thread, started 200 ms after the connector so that it runs into the snapshot.
pub struct Writer(std::thread::JoinHandle<Written>);

impl Writer {
    pub fn spawn(
        exec: impl Fn(&str) -> String + Send + 'static,
        table: &'static str,
        seed: u64,
    ) -> Writer {
        Writer(std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            write(&exec, table, &Plan::get(), seed)
        }))
    }

    /// Waits (off the runtime's threads) until every statement was run.
    pub async fn finish(self) -> Written {
        tokio::task::spawn_blocking(move || self.0.join().unwrap())
            .await
            .unwrap()
    }
}

/// What the writer committed.
pub struct Written {
    /// Every committed change per key, in commit order.
    pub history: BTreeMap<i64, Vec<Change>>,
    /// Keys only ever written by rolled-back transactions.
    pub rolled_back: Vec<i64>,
    /// Each batch of statements: what the client printed after it, and its committed changes.
    pub batches: Vec<(String, Vec<(i64, Change)>)>,
}

/// Runs the writer: batches of statements against `table`, each batch one call of `exec` (which
/// returns what the client printed).
pub fn write(exec: &dyn Fn(&str) -> String, table: &str, plan: &Plan, seed: u64) -> Written {
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
    let mut batches = Vec::new();
    while done < plan.changes {
        let mut sql = String::new();
        let mut batch_changes = Vec::new();
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
                        let c = Change {
                            op: 'c',
                            v,
                            after: Some(v),
                        };
                        history.entry(k).or_default().push(c);
                        batch_changes.push((k, c));
                    }
                    sql.push_str(&format!("INSERT INTO {table} VALUES {};", values.join(",")));
                    done += n as usize - 1;
                } else if choice < 8 {
                    let k = live[rng.below(live.len() as u64) as usize];
                    let v = next_v;
                    next_v += 1;
                    sql.push_str(&format!("UPDATE {table} SET v={v} WHERE id={k};"));
                    state.insert(k, v);
                    let c = Change {
                        op: 'u',
                        v,
                        after: Some(v),
                    };
                    history.entry(k).or_default().push(c);
                    batch_changes.push((k, c));
                } else {
                    let n = (1 + rng.below(2)).min(live.len() as u64);
                    let mut ids = Vec::new();
                    for _ in 0..n {
                        let i = rng.below(live.len() as u64) as usize;
                        let k = live.swap_remove(i);
                        let v = state.remove(&k).unwrap();
                        ids.push(k.to_string());
                        let c = Change {
                            op: 'd',
                            v,
                            after: None,
                        };
                        history.entry(k).or_default().push(c);
                        batch_changes.push((k, c));
                    }
                    sql.push_str(&format!(
                        "DELETE FROM {table} WHERE id IN ({});",
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
                    "BEGIN; INSERT INTO {table} VALUES ({rollback_key},0,'rb'); ROLLBACK;"
                ));
                rolled_back.push(rollback_key);
                rollback_key += 1;
            }
            batch += 1;
        }
        let output = exec(&sql);
        batches.push((output, batch_changes));
        // Paced, so the kills interleave with the writes.
        std::thread::sleep(Duration::from_millis(10));
    }
    Written {
        history,
        rolled_back,
        batches,
    }
}

/// The table as a consumer of the topic sees it: the rows of the last completed snapshot (the last
/// run of `first` .. `last` markers; rows of runs killed before they completed are superseded by
/// it, as with Debezium), then every change after it. Empty until a snapshot completed.
pub fn derived_state(records: &[connect_test_support::Stored]) -> HashMap<i64, i64> {
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
pub fn snapshot_completed(tail: &TopicTail) -> bool {
    tail.with(|rs| {
        rs.iter()
            .rev()
            .filter_map(|r| r.json())
            .any(|v| v["source"]["snapshot"] == "last")
    })
}

/// Checks what the topic holds against what the writer committed: the last completed snapshot, then
/// every committed change of every key in commit order after it (redeliveries allowed), nothing
/// missing between the snapshot and the first change, nothing rolled back. Returns
/// (snapshot runs, keys checked, distinct changes, redelivered changes).
pub fn verify(
    records: &[Stored],
    history: &BTreeMap<i64, Vec<Change>>,
    rolled_back: &[i64],
    plan: &Plan,
) -> (usize, usize, usize, usize) {
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
    for k in rolled_back {
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
    let redelivered = change_records - distinct;
    assert!(
        snapshot_runs >= 2,
        "no kill landed in the snapshot ({snapshot_runs} run)"
    );
    assert!(
        distinct >= plan.changes / 2,
        "most changes should be streamed, not read by the snapshot ({distinct} of {})",
        plan.changes
    );
    (snapshot_runs, checked, distinct, redelivered)
}

/// Kills the connector `plan.kills` times (dropped where it is: no flush, no offset commit, no
/// `stop`) at random moments and starts it again: the first kills during the snapshot, the rest once
/// it completed, while the writer goes on. `after_kill(i)` runs while the connector is down.
pub async fn kill_repeatedly(
    worker: &connect_core::runtime::Worker,
    config: impl Fn() -> connect_core::config::ConnectorConfig,
    tail: &TopicTail,
    plan: &Plan,
    seed: u64,
    mut after_kill: impl FnMut(usize),
) {
    let name = config().name;
    let mut rng = Rng(seed ^ 0xdead_beef);
    const SNAPSHOT_KILLS: usize = 3;
    for i in 0..plan.kills {
        if i == SNAPSHOT_KILLS {
            let until = std::time::Instant::now() + Duration::from_secs(120);
            while !snapshot_completed(tail) {
                assert!(
                    std::time::Instant::now() < until,
                    "the snapshot never completed"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        let pause = if i < SNAPSHOT_KILLS {
            150 + rng.below(250)
        } else {
            100 + rng.below(500)
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        worker.abort_connector(&name).await.unwrap();
        after_kill(i);
        worker.start_connector(config()).await.unwrap();
    }
}

/// Waits (up to 60 s) until the topic holds the final committed state of every key; returns what it
/// read. `diagnostics` describes the connector and the database when it never does.
pub async fn wait_for_final_state(
    tail: &TopicTail,
    history: &BTreeMap<i64, Vec<Change>>,
    diagnostics: impl Fn() -> String,
) -> Vec<Stored> {
    let final_state: BTreeMap<i64, Option<i64>> = history
        .iter()
        .map(|(k, cs)| (*k, cs.last().unwrap().after))
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let records = tail.records();
        let seen = derived_state(&records);
        let wrong: Vec<_> = final_state
            .iter()
            .filter(|(k, v)| seen.get(k).copied() != **v)
            .map(|(k, v)| (*k, *v, seen.get(k).copied()))
            .collect();
        if wrong.is_empty() {
            return records;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the stream never reached the final state ({} records; {} keys differ, e.g. (key, committed, seen) {:?}); {}",
            records.len(),
            wrong.len(),
            &wrong[..wrong.len().min(5)],
            diagnostics(),
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
