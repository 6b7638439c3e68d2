//! Kafka Connect's sink task contract, proved with a recording task that logs every call in one global
//! order: `open` before any `put` of a partition; on revocation `pre_commit`, a synchronous commit of
//! what it returned, then `close`, and no `put` of a closed partition; on stop `pre_commit`, `close` of
//! everything, `stop`; committed offsets never beyond what `pre_commit` returned; a paused connector
//! stays paused across a rebalance with a bounded buffer; retriable `pre_commit` failures and
//! retriable sink-side transforms are retried; transforms and predicates are closed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connect_core::async_trait;
use connect_core::config::{ConfigDef, ConnectorConfig, Props};
use connect_core::error::{ConfigError, ConnectError};
use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
use connect_core::rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use connect_core::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use connect_core::record::{Record, SinkRecord};
use connect_core::registry::Registry;
use connect_core::runtime::{TaskState, Worker};
use connect_core::sink::{
    PartitionOffsets, SinkConnector, SinkTask, SinkTaskContext, TopicPartition,
};
use connect_core::transform::{Predicate, Transformation};

use common::{init_tracing, SeqSource};

type Tp = (String, i32);

#[derive(Debug, Clone)]
enum Call {
    Start,
    Open(Vec<Tp>),
    Put(Vec<(Tp, i64)>),
    PreCommit {
        given: BTreeMap<Tp, i64>,
        returned: BTreeMap<Tp, i64>,
    },
    /// The partitions, and each one's committed offset in the group as `close` saw it.
    Close(Vec<(Tp, Option<i64>)>),
    Stop,
}

/// A sink whose tasks log every call. `pre_commit` returns the offsets it was given the time before
/// (one round behind), so a runtime that committed what was put instead of what `pre_commit` returned
/// would be caught.
#[derive(Clone, Default)]
struct RecordingSink {
    log: Arc<Mutex<Vec<(usize, Call)>>>,
    next_id: Arc<AtomicUsize>,
    /// The greatest offset `pre_commit` ever returned per partition, recorded before returning it.
    returned_max: Arc<Mutex<BTreeMap<Tp, i64>>>,
    bootstrap: Arc<Mutex<String>>,
    group: Arc<Mutex<String>>,
    /// Retriable `pre_commit` failures still to give.
    fail_pre_commit: Arc<AtomicU32>,
}

impl RecordingSink {
    fn calls(&self) -> Vec<(usize, Call)> {
        self.log.lock().unwrap().clone()
    }
    fn distinct_put(&self) -> BTreeSet<(Tp, i64)> {
        self.calls()
            .into_iter()
            .filter_map(|(_, c)| match c {
                Call::Put(rs) => Some(rs),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

impl SinkConnector for RecordingSink {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(RecordingTask {
            id: self.next_id.fetch_add(1, Ordering::SeqCst),
            sink: self.clone(),
            previous: BTreeMap::new(),
        })
    }
}

struct RecordingTask {
    id: usize,
    sink: RecordingSink,
    previous: BTreeMap<Tp, i64>,
}

fn tps(ps: &[TopicPartition]) -> Vec<Tp> {
    ps.iter().map(|p| (p.topic.clone(), p.partition)).collect()
}

impl RecordingTask {
    fn log(&self, c: Call) {
        self.sink.log.lock().unwrap().push((self.id, c));
    }
}

fn committed_offsets(bootstrap: &str, group: &str, parts: &[Tp]) -> BTreeMap<Tp, Option<i64>> {
    try_committed_offsets(bootstrap, group, parts).expect("committed offsets within 30 s")
}

fn try_committed_offsets(
    bootstrap: &str,
    group: &str,
    parts: &[Tp],
) -> Option<BTreeMap<Tp, Option<i64>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .ok()?;
    let mut tpl = TopicPartitionList::new();
    for (t, p) in parts {
        tpl.add_partition(t, *p);
    }
    // A loaded machine can make one lookup slow: try a few times before giving up.
    let c = (0..3).find_map(|_| {
        consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(10))
            .ok()
    })?;
    let out = c
        .elements()
        .iter()
        .map(|e| {
            let o = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            ((e.topic().to_owned(), e.partition()), o)
        })
        .collect();
    Some(out)
}

#[async_trait]
impl SinkTask for RecordingTask {
    async fn start(&mut self, _ctx: SinkTaskContext) -> Result<(), ConnectError> {
        self.log(Call::Start);
        Ok(())
    }
    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        self.log(Call::Open(tps(partitions)));
        Ok(())
    }
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let rs = records
            .iter()
            .map(|r| {
                (
                    (r.original.topic.to_string(), r.original.partition),
                    r.original.offset,
                )
            })
            .collect();
        self.log(Call::Put(rs));
        Ok(())
    }
    async fn pre_commit(
        &mut self,
        offsets: &PartitionOffsets,
    ) -> Result<PartitionOffsets, ConnectError> {
        if self
            .sink
            .fail_pre_commit
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(ConnectError::retriable("warehouse busy"));
        }
        let given: BTreeMap<Tp, i64> = offsets
            .iter()
            .map(|(tp, o)| ((tp.topic.clone(), tp.partition), *o))
            .collect();
        let returned: BTreeMap<Tp, i64> = self
            .previous
            .iter()
            .filter(|(tp, _)| given.contains_key(*tp))
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        {
            let mut max = self.sink.returned_max.lock().unwrap();
            for (tp, o) in &returned {
                let slot = max.entry(tp.clone()).or_insert(*o);
                *slot = (*slot).max(*o);
            }
        }
        self.previous = given.clone();
        self.log(Call::PreCommit {
            given,
            returned: returned.clone(),
        });
        Ok(returned
            .into_iter()
            .map(|((t, p), o)| (TopicPartition::new(t, p), o))
            .collect())
    }
    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        let parts = tps(partitions);
        for tp in &parts {
            self.previous.remove(tp);
        }
        let bootstrap = self.sink.bootstrap.lock().unwrap().clone();
        let group = self.sink.group.lock().unwrap().clone();
        let q = parts.clone();
        // Tests that do not look at commits set no group.
        let committed = if group.is_empty() {
            Default::default()
        } else {
            tokio::task::spawn_blocking(move || committed_offsets(&bootstrap, &group, &q))
                .await
                .unwrap()
        };
        self.log(Call::Close(
            parts
                .into_iter()
                .map(|tp| {
                    let c = committed.get(&tp).copied().flatten();
                    (tp, c)
                })
                .collect(),
        ));
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.log(Call::Stop);
        Ok(())
    }
}

/// Checks the whole log against the contract; returns the number of duplicate puts.
fn check_contract(
    log: &[(usize, Call)],
    total: &BTreeSet<(Tp, i64)>,
    stops_alone: &[usize],
    uncommitted_closes: &mut usize,
) -> usize {
    let tasks: BTreeSet<usize> = log.iter().map(|(t, _)| *t).collect();
    // Per task: lifecycle order, open before put, pre_commit after the last put before close, close
    // saw the commit of what pre_commit returned.
    for task in &tasks {
        let calls: Vec<(usize, &Call)> = log
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| t == task)
            .map(|(i, (_, c))| (i, c))
            .collect();
        assert!(
            matches!(calls.first(), Some((_, Call::Start))),
            "task {task} must start first"
        );
        let mut open: BTreeSet<Tp> = BTreeSet::new();
        let mut stopped = false;
        let mut last_put: BTreeMap<Tp, (usize, i64)> = BTreeMap::new();
        let mut last_returned: BTreeMap<Tp, i64> = BTreeMap::new();
        let mut last_precommit: Option<(usize, BTreeMap<Tp, i64>)> = None;
        for (pos, (i, c)) in calls.iter().enumerate() {
            assert!(!stopped, "task {task}: call after stop at {i}: {c:?}");
            match c {
                Call::Start => {}
                Call::Open(ps) => open.extend(ps.iter().cloned()),
                Call::Put(rs) => {
                    for (tp, o) in rs {
                        assert!(
                            open.contains(tp),
                            "task {task}: put of {tp:?}@{o} at {i} while not open"
                        );
                        last_put.insert(tp.clone(), (*i, *o));
                    }
                }
                Call::PreCommit { given, returned } => {
                    for (tp, o) in returned {
                        last_returned.insert(tp.clone(), *o);
                    }
                    last_precommit = Some((*i, given.clone()));
                }
                Call::Close(ps) => {
                    // A task stopping alone in its group must have its commit landed before `close`.
                    // On revocation (or beside another member leaving, or when a loaded machine lets
                    // a session time out) librdkafka's mock coordinator may already refuse commits
                    // (REBALANCE_IN_PROGRESS, where a real broker accepts them until the rejoin); the
                    // next owner then reads from the last commit, which the duplicate check below
                    // holds to.
                    let stopping = stops_alone.contains(task)
                        && matches!(calls.get(pos + 1), Some((_, Call::Stop)));
                    for (tp, committed) in ps {
                        assert!(
                            open.remove(tp),
                            "task {task}: close of {tp:?} at {i} that was not open"
                        );
                        if let Some((put_at, put_off)) = last_put.get(tp) {
                            let (pc_at, given) = last_precommit.as_ref().unwrap_or_else(|| {
                                panic!("task {task}: close of {tp:?} with no pre_commit")
                            });
                            assert!(pc_at > put_at, "task {task}: close of {tp:?} at {i} without pre_commit after its last put");
                            assert!(
                                given.get(tp).is_some_and(|g| *g > *put_off),
                                "task {task}: pre_commit before close of {tp:?} did not cover its last put"
                            );
                        }
                        if let Some(r) = last_returned.get(tp) {
                            if !committed.is_some_and(|c| c >= *r) {
                                *uncommitted_closes += 1;
                            }
                            assert!(
                                !stopping ||
                                committed.is_some_and(|c| c >= *r),
                                "task {task}: {tp:?} closed at {i} before pre_commit's {r} was committed (committed {committed:?})"
                            );
                        }
                        last_put.remove(tp);
                        last_returned.remove(tp);
                    }
                }
                Call::Stop => {
                    assert!(
                        open.is_empty(),
                        "task {task}: stopped with {open:?} still open"
                    );
                    stopped = true;
                }
            }
        }
    }
    // Every record put at least once; a duplicate only after a close of its partition whose committed
    // offset was at or before it.
    let mut seen: BTreeMap<(Tp, i64), usize> = BTreeMap::new();
    let mut duplicates = 0;
    for (i, (_, c)) in log.iter().enumerate() {
        if let Call::Put(rs) = c {
            for r in rs {
                if let Some(prev) = seen.insert(r.clone(), i) {
                    duplicates += 1;
                    let (tp, o) = r;
                    let explained = log[prev + 1..i].iter().any(|(_, c)| match c {
                        Call::Close(ps) => ps
                            .iter()
                            .any(|(p, committed)| p == tp && committed.unwrap_or(0) <= *o),
                        _ => false,
                    });
                    assert!(explained, "{tp:?}@{o} put again at {i} (first at {prev}) without a close whose commit preceded it");
                }
            }
        }
    }
    let put: BTreeSet<(Tp, i64)> = seen.into_keys().collect();
    let missing: Vec<_> = total.difference(&put).take(5).collect();
    assert!(missing.is_empty(), "records never put, e.g. {missing:?}");
    duplicates
}

async fn produce_spread(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    range: std::ops::Range<u32>,
) {
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut pending = Vec::new();
    for i in range {
        let key = i.to_string();
        let r: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic)
            .partition((i % partitions as u32) as i32)
            .key(key.as_bytes())
            .payload(key.as_bytes());
        pending.push(p.send_result(r).map_err(|(e, _)| e).unwrap());
    }
    for d in pending {
        d.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

fn registry(sink: &RecordingSink) -> Registry {
    let mut r = Registry::with_builtins();
    r.register_sink(&["Recording"], sink.clone());
    r
}

fn sink_config(name: &str, topic: &str, tasks: &str, extra: &[(&str, &str)]) -> ConnectorConfig {
    let mut props = Props::new()
        .with("name", name)
        .with("connector.class", "Recording")
        .with("topics", topic)
        .with("tasks.max", tasks)
        .with(
            "key.converter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        )
        .with(
            "value.converter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        );
    for (k, v) in extra {
        props.set(*k, *v);
    }
    ConnectorConfig::new(name, props)
}

async fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Samples the group's committed offsets while the test runs: never beyond what `pre_commit` returned.
fn spawn_commit_sampler(
    sink: &RecordingSink,
    topic: &str,
    partitions: i32,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    let sink = sink.clone();
    let parts: Vec<Tp> = (0..partitions).map(|p| (topic.to_owned(), p)).collect();
    std::thread::spawn(move || {
        let mut samples = 0;
        while !stop.load(Ordering::SeqCst) {
            let bootstrap = sink.bootstrap.lock().unwrap().clone();
            let group = sink.group.lock().unwrap().clone();
            // A lookup that fails on a loaded machine skips this sample.
            let Some(committed) = try_committed_offsets(&bootstrap, &group, &parts) else {
                continue;
            };
            let max = sink.returned_max.lock().unwrap().clone();
            for (tp, c) in committed {
                if let Some(c) = c {
                    let r = max.get(&tp).copied().unwrap_or(-1);
                    assert!(
                        c <= r,
                        "{tp:?} committed at {c}, but pre_commit never returned more than {r}"
                    );
                }
            }
            samples += 1;
            std::thread::sleep(Duration::from_millis(150));
        }
        samples
    })
}

async fn rebalance_contract(strategy: &str) {
    init_tracing();
    const TOTAL: u32 = 20_000;
    const PARTITIONS: i32 = 6;
    let topic = "contract.events";
    let sink = RecordingSink::default();
    let a = Worker::start(
        Props::new().with("offset.flush.interval.ms", "200"),
        registry(&sink),
    )
    .await
    .unwrap();
    let bootstrap = a.bootstrap_servers().to_owned();
    *sink.bootstrap.lock().unwrap() = bootstrap.clone();
    *sink.group.lock().unwrap() = "connect-contract".into();
    a.embedded()
        .unwrap()
        .create_topic(topic, PARTITIONS, 1)
        .unwrap();
    produce_spread(&bootstrap, topic, PARTITIONS, 0..TOTAL / 2).await;
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let sampler = spawn_commit_sampler(&sink, topic, PARTITIONS, stop_sampler.clone());

    let extra = [("consumer.override.partition.assignment.strategy", strategy)];
    let on_a = a
        .start_connector(sink_config("contract", topic, "2", &extra))
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(60),
        "a first share of the records",
        || sink.distinct_put().len() >= 3_000,
    )
    .await;

    // A third task joins the group (another worker running the same connector).
    let b = Worker::start(
        Props::new()
            .with("bootstrap.servers", bootstrap.as_str())
            .with("offset.flush.interval.ms", "200"),
        registry(&sink),
    )
    .await
    .unwrap();
    let on_b = b
        .start_connector(sink_config("contract", topic, "1", &extra))
        .await
        .unwrap();
    produce_spread(&bootstrap, topic, PARTITIONS, TOTAL / 2..TOTAL).await;
    let b_task = 2;
    wait_until(
        Duration::from_secs(60),
        "the joining task to receive records",
        || {
            sink.calls()
                .iter()
                .any(|(t, c)| *t == b_task && matches!(c, Call::Put(_)))
        },
    )
    .await;
    // ... and leaves mid-stream.
    wait_until(Duration::from_secs(60), "more records", || {
        sink.distinct_put().len() >= 14_000
    })
    .await;
    on_b.stop().await;
    b.shutdown().await;

    wait_until(Duration::from_secs(90), "every record", || {
        sink.distinct_put().len() >= TOTAL as usize
    })
    .await;
    assert!(!on_a.is_failed(), "{:?}", on_a.status());
    on_a.stop().await;
    a.shutdown().await;
    stop_sampler.store(true, Ordering::SeqCst);
    let samples = sampler.join().unwrap();
    assert!(samples > 3, "the sampler ran {samples} times");

    let log = sink.calls();
    let total: BTreeSet<(Tp, i64)> = (0..PARTITIONS)
        .flat_map(|p| {
            (0..(TOTAL as i64 / PARTITIONS as i64)).map(move |o| ((topic.to_owned(), p), o))
        })
        .collect();
    let mut uncommitted = 0;
    let dups = check_contract(&log, &total, &[], &mut uncommitted);
    let closes = log
        .iter()
        .filter(|(_, c)| matches!(c, Call::Close(_)))
        .count();
    let tasks: BTreeSet<usize> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(tasks.len(), 3, "two tasks, then a third");
    assert!(
        closes >= 3,
        "revocations and stops close partitions ({closes})"
    );
    eprintln!(
        "{strategy}: {} calls, {closes} closes ({uncommitted} on revocation with the commit refused), {dups} duplicate puts",
        log.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_contract_holds_through_joins_and_leaves() {
    let _watchdog = connect_test_support::watchdog(
        "sink_contract_holds_through_joins_and_leaves",
        Duration::from_secs(300),
    );
    rebalance_contract("range").await;
}

/// A worker on the embedded cluster whose recording sink knows the group `connect-<connector>` (to
/// read its commits), with `topic` created and `count` records produced over its partitions.
async fn recording_worker(
    sink: &RecordingSink,
    connector: &str,
    topic: &str,
    partitions: i32,
    count: u32,
) -> (Worker, String) {
    init_tracing();
    let a = Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry(sink),
    )
    .await
    .unwrap();
    let bootstrap = a.bootstrap_servers().to_owned();
    *sink.bootstrap.lock().unwrap() = bootstrap.clone();
    *sink.group.lock().unwrap() = format!("connect-{connector}");
    a.embedded()
        .unwrap()
        .create_topic(topic, partitions, 1)
        .unwrap();
    produce_spread(&bootstrap, topic, partitions, 0..count).await;
    (a, bootstrap)
}

/// A task alone in its group: on stop, what `pre_commit` returned is committed before `close`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_commits_what_pre_commit_returned_before_close() {
    let _watchdog = connect_test_support::watchdog(
        "stop_commits_what_pre_commit_returned_before_close",
        Duration::from_secs(300),
    );
    let topic = "stop.events";
    let sink = RecordingSink::default();
    let (a, _) = recording_worker(&sink, "stopping", topic, 3, 300).await;
    let c = a
        .start_connector(sink_config("stopping", topic, "1", &[]))
        .await
        .unwrap();
    wait_until(Duration::from_secs(30), "every record", || {
        sink.distinct_put().len() >= 300
    })
    .await;
    // Two pre_commit rounds after the last put, so the lagging task returns everything.
    let rounds = |s: &RecordingSink| {
        s.calls()
            .iter()
            .filter(|(_, c)| matches!(c, Call::PreCommit { .. }))
            .count()
    };
    let before = rounds(&sink);
    wait_until(Duration::from_secs(30), "two commit rounds", || {
        rounds(&sink) >= before + 2
    })
    .await;
    c.stop().await;
    a.shutdown().await;
    let log = sink.calls();
    let total: BTreeSet<(Tp, i64)> = (0..3)
        .flat_map(|p| (0..100).map(move |o| ((topic.to_owned(), p), o)))
        .collect();
    let mut uncommitted = 0;
    check_contract(&log, &total, &[0], &mut uncommitted);
    let closes: Vec<_> = log
        .iter()
        .filter_map(|(_, c)| match c {
            Call::Close(ps) => Some(ps.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(closes.len(), 1, "one close, at stop");
    for (tp, committed) in &closes[0] {
        assert_eq!(
            *committed,
            Some(100),
            "{tp:?} committed through its last record"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_connector_stays_paused_across_a_rebalance_with_a_bounded_buffer() {
    let _watchdog = connect_test_support::watchdog(
        "paused_connector_stays_paused_across_a_rebalance_with_a_bounded_buffer",
        Duration::from_secs(300),
    );
    init_tracing();
    const PARTITIONS: i32 = 4;
    let topic = "paused.events";
    let sink = RecordingSink::default();
    let worker_props = Props::new()
        .with("offset.flush.interval.ms", "200")
        .with("consumer.max.poll.records", "100");
    let a = Worker::start(worker_props.clone(), registry(&sink))
        .await
        .unwrap();
    let bootstrap = a.bootstrap_servers().to_owned();
    *sink.bootstrap.lock().unwrap() = bootstrap.clone();
    *sink.group.lock().unwrap() = "connect-paused".into();
    a.embedded()
        .unwrap()
        .create_topic(topic, PARTITIONS, 1)
        .unwrap();
    produce_spread(&bootstrap, topic, PARTITIONS, 0..2_000).await;
    let on_a = a
        .start_connector(sink_config("paused", topic, "1", &[]))
        .await
        .unwrap();
    wait_until(Duration::from_secs(60), "the first records", || {
        sink.distinct_put().len() >= 2_000
    })
    .await;

    on_a.pause();
    wait_until(Duration::from_secs(10), "PAUSED", || {
        on_a.status()[0].state == TaskState::Paused
    })
    .await;
    let paused_at = sink.calls().len();
    let polled_at_pause = on_a.metrics().records_polled;
    produce_spread(&bootstrap, topic, PARTITIONS, 2_000..6_000).await;
    // A second member joins: the paused task's partitions are revoked and reassigned.
    let b = Worker::start(
        worker_props.with("bootstrap.servers", bootstrap.as_str()),
        registry(&sink),
    )
    .await
    .unwrap();
    let on_b = b
        .start_connector(sink_config("paused", topic, "1", &[]))
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(60),
        "the rebalance to reach the paused task",
        || {
            sink.calls()[paused_at..]
                .iter()
                .any(|(t, c)| *t == 0 && matches!(c, Call::Open(_)))
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_pause: Vec<_> = sink.calls()[paused_at..]
        .iter()
        .filter(|(t, c)| *t == 0 && matches!(c, Call::Put(_)))
        .cloned()
        .collect();
    assert!(
        after_pause.is_empty(),
        "the paused task was given records: {:?}",
        after_pause.len()
    );
    let buffered = on_a.metrics().records_polled - polled_at_pause;
    assert!(
        buffered <= 300,
        "the paused task read {buffered} records (max.poll.records=100)"
    );
    assert_eq!(on_a.status()[0].state, TaskState::Paused);

    on_a.resume();
    on_b.stop().await;
    b.shutdown().await;
    // Generous: the mock cluster's rebalance after a member leaves can take several session
    // timeouts on a loaded two-core machine. A timeout says where the records stopped.
    let start = Instant::now();
    loop {
        let seen = sink.distinct_put();
        if seen.len() >= 6_000 {
            break;
        }
        if start.elapsed() > Duration::from_secs(150) {
            let mut per_partition = BTreeMap::new();
            for ((_, p), _) in &seen {
                *per_partition.entry(*p).or_insert(0usize) += 1;
            }
            let calls = sink.calls();
            let tail = &calls[calls.len().saturating_sub(12)..];
            panic!(
                "timed out waiting for every record after resume: {} of 6000 (per partition {per_partition:?}); a: {:?}; last calls: {tail:?}",
                seen.len(),
                on_a.status()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    on_a.stop().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_pre_commit_is_retried_not_fatal() {
    let _watchdog = connect_test_support::watchdog(
        "retriable_pre_commit_is_retried_not_fatal",
        Duration::from_secs(300),
    );
    let topic = "precommit.events";
    let sink = RecordingSink::default();
    sink.fail_pre_commit.store(4, Ordering::SeqCst);
    let (a, bootstrap) = recording_worker(&sink, "precommit", topic, 1, 500).await;
    let c = a
        .start_connector(sink_config("precommit", topic, "1", &[]))
        .await
        .unwrap();
    let parts = vec![(topic.to_owned(), 0)];
    let start = Instant::now();
    loop {
        assert!(
            !c.is_failed(),
            "a retriable pre_commit failed the task: {:?}",
            c.status()
        );
        let b = bootstrap.clone();
        let p = parts.clone();
        let committed =
            tokio::task::spawn_blocking(move || committed_offsets(&b, "connect-precommit", &p))
                .await
                .unwrap();
        // pre_commit lags a round: 500 is committed once two rounds saw everything.
        if committed.values().any(|c| *c == Some(500)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never committed: {committed:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sink.fail_pre_commit.load(Ordering::SeqCst), 0);
    assert!(c.metrics().retries >= 4, "{:?}", c.metrics());
    c.stop().await;
    a.shutdown().await;
}

/// Fails retriably `n` times in all, then passes records through.
#[derive(Clone, Default)]
struct FlakyLookup {
    remaining: Arc<AtomicU32>,
}

impl<R: Record> Transformation<R> for FlakyLookup {
    fn configure(&mut self, _p: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn apply(&self, r: R) -> Result<Option<R>, ConnectError> {
        if self
            .remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(ConnectError::retriable("terminology service unavailable"));
        }
        Ok(Some(r))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_side_transforms_are_retried_within_errors_retry_timeout() {
    let _watchdog = connect_test_support::watchdog(
        "sink_side_transforms_are_retried_within_errors_retry_timeout",
        Duration::from_secs(300),
    );
    init_tracing();
    let topic = "retry.events";
    let sink = RecordingSink::default();
    let flaky = FlakyLookup::default();
    flaky.remaining.store(3, Ordering::SeqCst);
    let mut reg = registry(&sink);
    let f = flaky.clone();
    reg.register_transform(&["FlakyLookup"], move || f.clone());
    let a = Worker::start(Props::new(), reg).await.unwrap();
    let bootstrap = a.bootstrap_servers().to_owned();
    a.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
    produce_spread(&bootstrap, topic, 1, 0..50).await;
    let c = a
        .start_connector(sink_config(
            "retry",
            topic,
            "1",
            &[
                ("transforms", "lookup"),
                ("transforms.lookup.type", "FlakyLookup"),
                ("errors.retry.timeout", "20000"),
                ("errors.retry.delay.max.ms", "200"),
            ],
        ))
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(30),
        "every record through the retried transform",
        || c.is_failed() || sink.distinct_put().len() >= 50,
    )
    .await;
    assert!(!c.is_failed(), "{:?}", c.status());
    assert!(c.metrics().retries >= 3, "{:?}", c.metrics());
    c.stop().await;
    a.shutdown().await;
}

/// Counts configure and close calls of every instance.
#[derive(Clone, Default)]
struct Lifecycle {
    configured: Arc<AtomicU64>,
    closed: Arc<AtomicU64>,
}

impl<R: Record> Transformation<R> for Lifecycle {
    fn configure(&mut self, _p: &Props) -> Result<(), ConfigError> {
        self.configured.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn apply(&self, r: R) -> Result<Option<R>, ConnectError> {
        Ok(Some(r))
    }
    fn close(&mut self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

impl<R: Record> Predicate<R> for Lifecycle {
    fn configure(&mut self, _p: &Props) -> Result<(), ConfigError> {
        self.configured.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn test(&self, _r: &R) -> bool {
        true
    }
    fn close(&mut self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transforms_and_predicates_are_closed_for_sources_and_sinks() {
    let _watchdog = connect_test_support::watchdog(
        "transforms_and_predicates_are_closed_for_sources_and_sinks",
        Duration::from_secs(300),
    );
    init_tracing();
    let transform = Lifecycle::default();
    let predicate = Lifecycle::default();
    let sink = RecordingSink::default();
    let source = SeqSource::default();
    let mut reg = registry(&sink);
    reg.register_source(&["Seq"], source.clone());
    let t = transform.clone();
    reg.register_transform(&["Lifecycle"], move || t.clone());
    let p = predicate.clone();
    reg.register_predicate(&["Always"], move || p.clone());
    let a = Worker::start(Props::new(), reg).await.unwrap();
    a.embedded()
        .unwrap()
        .create_topic("lifecycle", 1, 1)
        .unwrap();
    let chain = [
        ("transforms", "a,b"),
        ("transforms.a.type", "Lifecycle"),
        ("transforms.a.predicate", "always"),
        ("transforms.b.type", "Lifecycle"),
        ("transforms.b.predicate", "always"),
        ("predicates", "always"),
        ("predicates.always.type", "Always"),
    ];
    let mut src = Props::new()
        .with("name", "src")
        .with("connector.class", "Seq")
        .with("topic", "lifecycle")
        .with("count", "10")
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with("value.converter.schemas.enable", "false")
        .with(
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        );
    for (k, v) in chain {
        src.set(k, v);
    }
    let source_c = a
        .start_connector(ConnectorConfig::new("src", src))
        .await
        .unwrap();
    let sink_c = a
        .start_connector(sink_config("snk", "lifecycle", "2", &chain))
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(30),
        "records through both chains",
        || sink.distinct_put().len() >= 10,
    )
    .await;
    assert_eq!(transform.closed.load(Ordering::SeqCst), {
        // Validation builds (and drops) chains too: every instance configured so far but the running
        // tasks' ones (2 transforms x 3 tasks) is closed already.
        transform.configured.load(Ordering::SeqCst) - 6
    });
    source_c.stop().await;
    sink_c.stop().await;
    a.shutdown().await;
    let configured = transform.configured.load(Ordering::SeqCst);
    assert!(configured >= 6);
    assert_eq!(
        transform.closed.load(Ordering::SeqCst),
        configured,
        "every transform closed once"
    );
    let configured = predicate.configured.load(Ordering::SeqCst);
    assert!(configured >= 3);
    assert_eq!(
        predicate.closed.load(Ordering::SeqCst),
        configured,
        "every predicate closed once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_regex_matches_whole_names_and_guards_the_dlq() {
    let _watchdog = connect_test_support::watchdog(
        "topics_regex_matches_whole_names_and_guards_the_dlq",
        Duration::from_secs(300),
    );
    init_tracing();
    let sink = RecordingSink::default();
    let a = Worker::start(Props::new(), registry(&sink)).await.unwrap();
    let bootstrap = a.bootstrap_servers().to_owned();
    for t in ["cdc.a", "cdc.ab", "xcdc.a"] {
        a.embedded().unwrap().create_topic(t, 1, 1).unwrap();
        produce_spread(&bootstrap, t, 1, 0..5).await;
    }
    let mut cfg = sink_config("regex", "", "1", &[("topics.regex", r"cdc\.a")]);
    cfg.props.remove("topics");
    let c = a.start_connector(cfg).await.unwrap();
    wait_until(Duration::from_secs(30), "cdc.a", || {
        sink.distinct_put().len() >= 5
    })
    .await;
    // Give a prefix match time to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let topics: BTreeSet<String> = sink
        .distinct_put()
        .into_iter()
        .map(|((t, _), _)| t)
        .collect();
    assert_eq!(topics, BTreeSet::from(["cdc.a".to_owned()]));
    c.stop().await;

    let mut bad = sink_config(
        "regex-dlq",
        "",
        "1",
        &[
            ("topics.regex", r"clinical\..*"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", "clinical.dlq"),
        ],
    );
    bad.props.remove("topics");
    let e = a.validate(&bad).unwrap_err().to_string();
    assert!(e.contains("errors.deadletterqueue.topic.name"), "{e}");
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_name_with_control_characters_is_a_config_error_not_a_panic() {
    let _watchdog = connect_test_support::watchdog(
        "a_connector_name_with_control_characters_is_a_config_error_not_a_panic",
        Duration::from_secs(300),
    );
    let sink = RecordingSink::default();
    let a = Worker::start(Props::new(), registry(&sink)).await.unwrap();
    for name in ["bad\0name", "tab\tname", " "] {
        let mut cfg = sink_config(name, "t", "1", &[]);
        cfg.props.set("name", name);
        let e = a.start_connector(cfg).await.unwrap_err().to_string();
        assert!(e.contains("name"), "{e}");
    }
    a.shutdown().await;
}
