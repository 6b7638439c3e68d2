//! Runs one sink task with Kafka Connect's `WorkerSinkTask` contract:
//!
//! * `open(partitions)` before the first `put` of their records, at start and after every rebalance;
//! * on revocation (eager or cooperative): everything already handed to the task goes through
//!   `pre_commit`, the offsets it returns are committed synchronously, then `close(partitions)`; only
//!   then does the consumer give the partitions up, and no record of them is `put` after `close`;
//! * on stop: `pre_commit`, a synchronous commit, `close` of every open partition, then `stop`;
//! * only offsets that `pre_commit` returned are committed, for the record's original coordinates.
//!
//! One dedicated thread owns the consumer's poll loop. Batches and rebalance events reach the async
//! runner through one ordered channel, and a revocation blocks the consumer thread (inside librdkafka's
//! rebalance callback) until the runner has flushed, committed and closed, so the order above holds
//! whatever the timing.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{mpsc as tmpsc, watch};

use crate::config::{ErrorPolicy, Props};
use crate::converter::{Converter, HeaderConverter};
use crate::error::ConnectError;
use crate::record::{
    ConnectRecord, Headers as RecordHeaders, SinkRecord, TimestampType, TopicPartitionOffset,
};
use crate::runtime::dlq::{owned_headers, ErrantRecordReporter, RawRecord, Stage};
use crate::runtime::retry::{apply_chain, backoff};
use crate::runtime::status::{TaskMetrics, TaskShared, TaskState};
use crate::runtime::Control;
use crate::sink::{PartitionOffsets, SinkTask, SinkTaskContext, TopicPartition};
use crate::transform::TransformChain;

/// How long a commit on revocation or stop keeps retrying a retriable `pre_commit`/commit failure
/// (at least; `errors.retry.timeout` when longer). After it the partitions go uncommitted past the last
/// commit, and their next owner reads those records again.
const FINAL_COMMIT_RETRY: Duration = Duration::from_secs(10);

/// The most a commit on revocation or stop keeps retrying, whatever `errors.retry.timeout` says.
const FINAL_COMMIT_RETRY_MAX: Duration = Duration::from_secs(60);

/// How long one offset commit may take before it counts as failed (Kafka Connect's
/// `offset.flush.timeout.ms` default).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long stopping waits for the consumer to close (leave the group).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the consumer thread tells the runner, in the order it happened.
pub(crate) enum ConsumerEvent {
    /// Records read from assigned partitions.
    Batch(Vec<RawRecord>),
    /// Partitions were assigned; `open` them before any of their records.
    Assigned(Vec<TopicPartition>),
    /// Partitions are being revoked: flush, commit and close them, then answer. The consumer thread
    /// waits for the answer (or for the runner to be gone) before giving the partitions up.
    Revoked(Vec<TopicPartition>, std::sync::mpsc::SyncSender<()>),
    /// The consumer failed with a non-retriable error.
    Failed(ConnectError),
}

/// The consumer context: turns librdkafka's rebalance callbacks (run on the consumer thread) into
/// ordered events for the runner.
pub(crate) struct SinkConsumerContext {
    events: tmpsc::Sender<ConsumerEvent>,
    /// Set when the task stops: a revocation stops waiting for the runner.
    stopping: Arc<AtomicBool>,
    /// True while the connector is paused: newly assigned partitions are paused at once. A lock, not
    /// a flag: the runner's pause/resume and this thread's pausing of new partitions must not
    /// interleave (a resume between reading the flag and pausing would leave partitions paused).
    paused: Arc<Mutex<bool>>,
    /// Partitions revoked during the current poll call, so the consumer thread drops what it had read
    /// of them but not yet handed over (their next owner reads them again).
    revoked_now: Mutex<Vec<TopicPartition>>,
}

impl ClientContext for SinkConsumerContext {}

fn tpl_to_vec(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl ConsumerContext for SinkConsumerContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let revoked = tpl_to_vec(tpl);
        if revoked.is_empty() {
            return;
        }
        if let Ok(mut r) = self.revoked_now.lock() {
            r.extend(revoked.iter().cloned());
        }
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        // Runs on the consumer thread. A consumer closed on the async runtime (the last reference
        // dropped there) must not block it: the runner is gone or stopping then, and is not waited for.
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = self.events.try_send(ConsumerEvent::Revoked(revoked, reply));
            return;
        }
        if self
            .events
            .blocking_send(ConsumerEvent::Revoked(revoked, reply))
            .is_ok()
        {
            // Waits for the runner (however long its flush takes) unless it is gone (the reply is
            // dropped) or the task is stopping.
            loop {
                match done.recv_timeout(Duration::from_millis(200)) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                        if !self.stopping.load(Ordering::SeqCst) => {}
                    _ => break,
                }
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let assigned = tpl_to_vec(tpl);
                if assigned.is_empty() {
                    return;
                }
                // Every assignment is given the connector's state, both ways: a paused connector
                // stays paused across a rebalance, and a running one resumes what it is given.
                // librdkafka keeps an application pause on a partition through its revocation and a
                // later assignment, so a resume while the consumer held no partitions (between the
                // revocation and the assignment of a rebalance) would otherwise leave them paused.
                let paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
                let r = if *paused {
                    consumer.pause(tpl)
                } else {
                    consumer.resume(tpl)
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, pause = *paused, "pausing or resuming newly assigned partitions failed");
                }
                drop(paused);
                if tokio::runtime::Handle::try_current().is_ok() {
                    let _ = self.events.try_send(ConsumerEvent::Assigned(assigned));
                } else {
                    let _ = self.events.blocking_send(ConsumerEvent::Assigned(assigned));
                }
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
            Rebalance::Revoke(_) => {}
        }
    }
}

pub(crate) type SinkConsumer = BaseConsumer<SinkConsumerContext>;

/// A sink task's consumer, subscribed, with the thread that polls it.
pub(crate) struct ConsumerHandle {
    pub consumer: Arc<SinkConsumer>,
    pub events: tmpsc::Receiver<ConsumerEvent>,
    paused: Arc<Mutex<bool>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ConsumerHandle {
    /// Creates the consumer, subscribes it (`topics`, or `pattern` as a librdkafka regex) and starts
    /// its poll thread.
    pub(crate) fn start(
        config: &rdkafka::ClientConfig,
        subscription: &[&str],
        max_batch: usize,
        name: &str,
    ) -> Result<Self, ConnectError> {
        let (tx, rx) = tmpsc::channel(2);
        let paused = Arc::new(Mutex::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let consumer: SinkConsumer = config.create_with_context(SinkConsumerContext {
            events: tx.clone(),
            stopping: stop.clone(),
            paused: paused.clone(),
            revoked_now: Mutex::new(Vec::new()),
        })?;
        consumer.subscribe(subscription)?;
        let consumer = Arc::new(consumer);
        let thread = std::thread::Builder::new()
            // The connector name comes from a config: only safe characters go into a thread name
            // (std refuses a NUL byte).
            .name(format!(
                "sink-{}",
                name.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .take(32)
                    .collect::<String>()
            ))
            .spawn({
                let consumer = consumer.clone();
                let stop = stop.clone();
                move || read_loop(consumer, max_batch, tx, stop)
            })
            .map_err(|e| ConnectError::io("starting the sink consumer thread", e))?;
        Ok(ConsumerHandle {
            consumer,
            events: rx,
            paused,
            stop,
            thread: Some(thread),
        })
    }

    /// Pauses or resumes every assigned partition (and, while paused, the ones assigned later).
    fn set_paused(&self, pause: bool) {
        // Held while pausing or resuming, so a rebalance's new partitions are handled either before
        // (and then seen in the assignment) or after (and then see the new state).
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        *paused = pause;
        if let Ok(a) = self.consumer.assignment() {
            let r = if pause {
                self.consumer.pause(&a)
            } else {
                self.consumer.resume(&a)
            };
            if let Err(e) = r {
                tracing::warn!(error = %e, pause, "pausing or resuming partitions failed");
            }
        }
    }

    /// Ends the poll thread, which closes the consumer as it ends (leaving the group), and waits for
    /// it off the async runtime. A handle dropped without this (a crashed runner) ends the same way:
    /// the thread sees the channel closed.
    async fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Closing the channel frees a consumer thread blocked on a full channel or on a revocation.
        self.events.close();
        while self.events.try_recv().is_ok() {}
        drop(self.events);
        // The last reference closes the consumer, and closing runs the revocation callback, which
        // blocks: it must not happen on the async runtime. The poll thread may already have ended
        // (and let go of its reference), so this one is dropped off the runtime too, after it.
        let consumer = self.consumer;
        let thread = self.thread.take();
        // Closing the consumer leaves the group; a broker that does not answer must not hold the
        // stop forever (the close then finishes on its own).
        let close = tokio::task::spawn_blocking(move || {
            if let Some(t) = thread {
                let _ = t.join();
            }
            drop(consumer);
        });
        if tokio::time::timeout(CLOSE_TIMEOUT, close).await.is_err() {
            tracing::warn!(
                "sink consumer did not close within {CLOSE_TIMEOUT:?}; leaving it to finish"
            );
        }
    }
}

/// Everything a sink task runs with.
pub(crate) struct SinkRunner {
    pub connector: String,
    pub task_id: usize,
    pub task: Box<dyn SinkTask>,
    pub task_config: Props,
    pub chain: TransformChain<SinkRecord>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub consumer: ConsumerHandle,
    pub policy: ErrorPolicy,
    pub reporter: Arc<ErrantRecordReporter>,
    pub flush_interval: Duration,
    pub shared: Arc<TaskShared>,
    pub control: watch::Receiver<Control>,
    /// Partitions opened and not yet closed.
    pub open: BTreeSet<TopicPartition>,
    /// Per partition, the offset after the last record put (or skipped): the most that may be committed.
    pub current: PartitionOffsets,
    /// Per partition, the offset last committed synchronously (confirmed by the broker).
    pub committed: PartitionOffsets,
    /// Per partition, the offset last sent in an asynchronous commit (its outcome unknown): periodic
    /// commits skip partitions that did not move since, revocation and stop commit regardless.
    pub requested: PartitionOffsets,
}

impl SinkRunner {
    pub(crate) async fn run(mut self) {
        let ctx = SinkTaskContext {
            config: self.task_config.clone(),
            errant_record_reporter: Some(self.reporter.clone()),
        };
        if let Err(e) = self.task.start(ctx).await {
            self.shared.fail(format!("task failed to start: {e}"));
            self.finish().await;
            return;
        }
        self.shared.set_state(TaskState::Running);
        let failure = self.event_loop().await.err();
        // Stop: commit what is durable (not after a failure: only what was committed before it
        // stands), close every open partition, then stop the task.
        if failure.is_none() {
            if let Err(e) = self.final_commit().await {
                tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "final commit failed; the records after the last commit will be read again");
            }
        }
        let open: Vec<TopicPartition> = std::mem::take(&mut self.open).into_iter().collect();
        if !open.is_empty() {
            if let Err(e) = self.task.close(&open).await {
                tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "task close failed");
            }
        }
        if let Err(e) = self.task.stop().await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "task stop failed");
        }
        match failure {
            Some(ConnectError::Stopped) | None => self.shared.set_state(TaskState::Stopped),
            Some(e) => self.shared.fail(e.to_string()),
        }
        self.finish().await;
    }

    /// Closes the transforms and the consumer.
    async fn finish(self) {
        let SinkRunner {
            chain, consumer, ..
        } = self;
        drop(chain);
        consumer.shutdown().await;
    }

    async fn event_loop(&mut self) -> Result<(), ConnectError> {
        let mut flush = tokio::time::interval(self.flush_interval);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.tick().await;
        let mut control = self.control.clone();
        let mut paused = false;
        // Records read before a pause took effect; at most what the consumer thread had in hand.
        let mut stash: Vec<RawRecord> = Vec::new();
        loop {
            tokio::select! {
                biased;
                changed = control.changed() => {
                    let c = *control.borrow_and_update();
                    if changed.is_err() || c == Control::Stop {
                        return Ok(());
                    }
                    let pause = c == Control::Pause;
                    if pause != paused {
                        paused = pause;
                        self.consumer.set_paused(pause);
                        self.shared.set_state(if pause { TaskState::Paused } else { TaskState::Running });
                    }
                    if !paused && !stash.is_empty() {
                        let batch = std::mem::take(&mut stash);
                        self.deliver(batch).await?;
                    }
                }
                _ = flush.tick() => self.periodic_commit().await?,
                event = self.consumer.events.recv() => match event {
                    Some(ConsumerEvent::Batch(raws)) => {
                        TaskMetrics::add(&self.shared.metrics.polled, raws.len() as u64);
                        if paused {
                            stash.extend(raws);
                        } else {
                            self.deliver(raws).await?;
                        }
                    }
                    Some(ConsumerEvent::Assigned(tps)) => {
                        tracing::info!(connector = %self.connector, task = self.task_id, partitions = ?tps, "partitions assigned");
                        self.task.open(&tps).await?;
                        self.open.extend(tps);
                    }
                    Some(ConsumerEvent::Revoked(tps, reply)) => {
                        tracing::info!(connector = %self.connector, task = self.task_id, partitions = ?tps, "partitions revoked");
                        stash.retain(|r| !tps.iter().any(|tp| tp.partition == r.partition && *tp.topic == *r.topic));
                        self.revoke(&tps).await?;
                        // Only now may the consumer give the partitions up.
                        let _ = reply.send(());
                    }
                    Some(ConsumerEvent::Failed(e)) => return Err(e),
                    None => return Err(ConnectError::other("consumer stopped")),
                }
            }
        }
    }

    /// Revocation: commit what the task made durable (all partitions, as Kafka Connect), then close
    /// the revoked ones and forget their positions.
    async fn revoke(&mut self, tps: &[TopicPartition]) -> Result<(), ConnectError> {
        match self.final_commit().await {
            // The broker refused the commit (the group is already rebalancing, or this member was
            // fenced): as in Kafka Connect, the partitions go all the same, and their next owner reads
            // the records after the last commit again.
            Err(ConnectError::Kafka(e)) => {
                tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "commit on revocation failed; the next owner reads the records after the last commit again");
            }
            other => other?,
        }
        let closing: Vec<TopicPartition> = tps
            .iter()
            .filter(|tp| self.open.contains(*tp))
            .cloned()
            .collect();
        if !closing.is_empty() {
            self.task.close(&closing).await?;
        }
        for tp in tps {
            self.open.remove(tp);
            self.current.remove(tp);
            self.committed.remove(tp);
            self.requested.remove(tp);
        }
        Ok(())
    }

    /// Converts, transforms and puts one batch; on success records the batch's offsets as processed.
    async fn deliver(&mut self, raws: Vec<RawRecord>) -> Result<(), ConnectError> {
        let mut records = Vec::with_capacity(raws.len());
        // The next offset per partition after this batch; a batch holds few partitions.
        let mut processed: Vec<(Arc<str>, i32, i64)> = Vec::new();
        for raw in &raws {
            match processed
                .iter_mut()
                .find(|(t, p, _)| *p == raw.partition && Arc::ptr_eq(t, &raw.topic))
            {
                Some(slot) => slot.2 = slot.2.max(raw.offset + 1),
                None => processed.push((raw.topic.clone(), raw.partition, raw.offset + 1)),
            }
            match self.to_sink_record(raw) {
                Ok(r) => match apply_chain(
                    &self.chain,
                    &self.policy,
                    &self.control,
                    &self.shared,
                    r,
                    false,
                )
                .await
                {
                    Ok(Some(r)) => records.push(r),
                    Ok(None) => TaskMetrics::add(&self.shared.metrics.filtered, 1),
                    Err((alias, e, _)) => {
                        self.reporter
                            .handle(raw, Stage::Transformation, &alias, &e)
                            .await?
                    }
                },
                Err((stage, e)) => self.reporter.handle(raw, stage, "Converter", &e).await?,
            }
        }
        if !records.is_empty() {
            self.reporter.set_batch(raws);
            let n = records.len() as u64;
            let mut attempt = 0u32;
            loop {
                match self.task.put(records.as_slice()).await {
                    Ok(()) => break,
                    Err(e) if e.is_retriable() => {
                        attempt = attempt.saturating_add(1);
                        TaskMetrics::add(&self.shared.metrics.retries, 1);
                        tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, attempt, "put failed; redelivering the batch");
                        wait_backoff(attempt, self.policy.retry_delay_max, &self.control).await?;
                    }
                    Err(e) => return Err(ConnectError::other(format!("put failed: {e}"))),
                }
            }
            TaskMetrics::add(&self.shared.metrics.written, n);
        }
        for (topic, partition, next) in processed {
            let slot = self
                .current
                .entry(TopicPartition::new(&*topic, partition))
                .or_insert(next);
            if *slot < next {
                *slot = next;
            }
        }
        Ok(())
    }

    fn to_sink_record(&self, raw: &RawRecord) -> Result<SinkRecord, (Stage, ConnectError)> {
        let topic = &*raw.topic;
        let key = self
            .key_converter
            .to_connect_data(topic, raw.key.as_ref())
            .map_err(|e| (Stage::KeyConverter, ConnectError::Data(e)))?;
        let value = self
            .value_converter
            .to_connect_data(topic, raw.value.as_ref())
            .map_err(|e| (Stage::ValueConverter, ConnectError::Data(e)))?;
        let mut headers = RecordHeaders::new();
        for (k, v) in &raw.headers {
            let hv = self
                .header_converter
                .to_connect_header(topic, k, v.as_deref())
                .map_err(|e| (Stage::HeaderConverter, ConnectError::Data(e)))?;
            headers.add(k.clone(), hv.schema, hv.value);
        }
        Ok(SinkRecord {
            record: ConnectRecord {
                topic: topic.to_owned(),
                kafka_partition: Some(raw.partition),
                key_schema: key.schema,
                key: key.value,
                value_schema: value.schema,
                value: value.value,
                timestamp: raw.timestamp,
                headers,
            },
            kafka_offset: raw.offset,
            timestamp_type: if raw.timestamp.is_some() {
                TimestampType::CreateTime
            } else {
                TimestampType::NoTimestampType
            },
            original: TopicPartitionOffset {
                topic: raw.topic.clone(),
                partition: raw.partition,
                offset: raw.offset,
            },
        })
    }

    /// The periodic commit: a retriable failure of `pre_commit`/`flush` or of the commit itself skips
    /// this round (the next one tries again); any other failure of the task fails it.
    async fn periodic_commit(&mut self) -> Result<(), ConnectError> {
        match self.commit(CommitMode::Async).await {
            Err(e) if e.is_retriable() => {
                TaskMetrics::add(&self.shared.metrics.retries, 1);
                tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "pre_commit failed; retrying at the next commit");
                Ok(())
            }
            other => other,
        }
    }

    /// The commit on revocation and stop: synchronous, retrying retriable failures with backoff for a
    /// while (`errors.retry.timeout`, between [`FINAL_COMMIT_RETRY`] and [`FINAL_COMMIT_RETRY_MAX`]).
    async fn final_commit(&mut self) -> Result<(), ConnectError> {
        // Bounded even with errors.retry.timeout=-1: a stop or a rebalance must not wait forever.
        let budget = self
            .policy
            .retry_timeout
            .unwrap_or(FINAL_COMMIT_RETRY_MAX)
            .clamp(FINAL_COMMIT_RETRY, FINAL_COMMIT_RETRY_MAX);
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            match self.commit(CommitMode::Sync).await {
                Err(e) if e.is_retriable() && start.elapsed() < budget => {
                    attempt = attempt.saturating_add(1);
                    TaskMetrics::add(&self.shared.metrics.retries, 1);
                    tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, attempt, "commit failed; retrying");
                    let wait = backoff(attempt, self.policy.retry_delay_max);
                    tokio::time::sleep(wait.min(budget.saturating_sub(start.elapsed()))).await;
                }
                other => return other,
            }
        }
    }

    /// Asks the task what is durable and commits it, for open partitions, never beyond what was put.
    async fn commit(&mut self, mode: CommitMode) -> Result<(), ConnectError> {
        let current: PartitionOffsets = self
            .current
            .iter()
            .filter(|(tp, _)| self.open.contains(*tp))
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        if current.is_empty() {
            return Ok(());
        }
        let safe = self.task.pre_commit(&current).await?;
        let sync = matches!(mode, CommitMode::Sync);
        let mut tpl = TopicPartitionList::new();
        let mut next = Vec::new();
        for (tp, off) in &safe {
            let Some(cur) = current.get(tp) else { continue };
            let off = (*off).min(*cur);
            let done = if sync {
                &self.committed
            } else {
                &self.requested
            };
            if done.get(tp).is_some_and(|c| *c >= off) {
                continue;
            }
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(off))?;
            next.push((tp.clone(), off));
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let consumer = self.consumer.consumer.clone();
        let commit = tokio::task::spawn_blocking(move || consumer.commit(&tpl, mode));
        let res = match tokio::time::timeout(COMMIT_TIMEOUT, commit).await {
            Ok(joined) => joined.map_err(|e| ConnectError::other(e.to_string()))?,
            // The commit goes on in the background; this round counts as not committed (the records
            // after the last confirmed commit are read again by whoever owns them next).
            Err(_) => Err(rdkafka::error::KafkaError::ConsumerCommit(
                rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            )),
        };
        match res {
            Ok(()) => {
                if sync {
                    self.committed.extend(next.iter().cloned());
                }
                self.requested.extend(next);
                TaskMetrics::add(&self.shared.metrics.offset_commits, 1);
                Ok(())
            }
            Err(e) if !sync => {
                tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "offset commit failed; will retry");
                Ok(())
            }
            Err(e) => Err(ConnectError::Kafka(e)),
        }
    }
}

/// Sleeps the backoff for retry number `attempt`, or returns `Stopped` if the task is stopped.
async fn wait_backoff(
    attempt: u32,
    max: Duration,
    control: &watch::Receiver<Control>,
) -> Result<(), ConnectError> {
    let wait = backoff(attempt, max);
    let mut control = control.clone();
    tokio::select! {
        _ = tokio::time::sleep(wait) => Ok(()),
        _ = control.wait_for(|c| *c == Control::Stop) => Err(ConnectError::Stopped),
    }
}

/// The consumer thread: polls, gathers batches up to `max`, and hands them over in order with the
/// rebalance events its polls raise. Ends when stopped or when the runner is gone.
fn read_loop(
    consumer: Arc<SinkConsumer>,
    max: usize,
    tx: tmpsc::Sender<ConsumerEvent>,
    stop: Arc<AtomicBool>,
) {
    let mut topics: Vec<Arc<str>> = Vec::new();
    let mut msgs: Vec<BorrowedMessage<'_>> = Vec::with_capacity(max.min(1024));
    while !stop.load(Ordering::SeqCst) && !tx.is_closed() {
        let first = consumer.poll(Duration::from_millis(100));
        drop_revoked(&consumer, &mut msgs);
        match first {
            None => continue,
            Some(Ok(m)) => msgs.push(m),
            Some(Err(e)) => {
                let err = ConnectError::Kafka(e);
                if err.is_retriable() {
                    tracing::warn!(error = %err, "consumer error; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                let _ = tx.blocking_send(ConsumerEvent::Failed(err));
                return;
            }
        }
        while msgs.len() < max {
            let next = consumer.poll(Duration::ZERO);
            // A revocation during this poll: what was read of those partitions before it is dropped.
            drop_revoked(&consumer, &mut msgs);
            match next {
                Some(Ok(m)) => msgs.push(m),
                _ => break,
            }
        }
        if msgs.is_empty() {
            continue;
        }
        let batch = raws_of(&msgs, &mut topics);
        msgs.clear();
        if tx.blocking_send(ConsumerEvent::Batch(batch)).is_err() {
            return;
        }
    }
}

/// Drops the messages read of partitions revoked since the last call: they were not handed to the
/// runner, are not counted as processed, and their next owner reads them again.
fn drop_revoked(consumer: &SinkConsumer, msgs: &mut Vec<BorrowedMessage<'_>>) {
    let revoked = match consumer.context().revoked_now.lock() {
        Ok(mut r) if !r.is_empty() => std::mem::take(&mut *r),
        _ => return,
    };
    msgs.retain(|m| {
        !revoked
            .iter()
            .any(|tp| tp.partition == m.partition() && tp.topic == m.topic())
    });
}

fn raws_of(msgs: &[BorrowedMessage<'_>], topics: &mut Vec<Arc<str>>) -> Vec<RawRecord> {
    let total: usize = msgs
        .iter()
        .map(|m| m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len))
        .sum();
    let mut buf = bytes::BytesMut::with_capacity(total);
    let mut spans = Vec::with_capacity(msgs.len());
    for m in msgs {
        let key = m.key().map(|k| {
            let start = buf.len();
            buf.extend_from_slice(k);
            start..buf.len()
        });
        let value = m.payload().map(|p| {
            let start = buf.len();
            buf.extend_from_slice(p);
            start..buf.len()
        });
        spans.push((key, value));
    }
    let all = buf.freeze();
    msgs.iter()
        .zip(spans)
        .map(|(m, (key, value))| RawRecord {
            topic: intern(topics, m.topic()),
            partition: m.partition(),
            offset: m.offset(),
            timestamp: m.timestamp().to_millis(),
            key: key.map(|r| all.slice(r)),
            value: value.map(|r| all.slice(r)),
            headers: owned_headers(m.headers()),
        })
        .collect()
}

/// One shared name per topic, so records carry a reference count instead of a copy of it.
fn intern(topics: &mut Vec<Arc<str>>, name: &str) -> Arc<str> {
    if let Some(t) = topics.iter().find(|t| ***t == *name) {
        return t.clone();
    }
    let t: Arc<str> = Arc::from(name);
    topics.push(t.clone());
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::kafka::EmbeddedCluster;

    /// The poll thread can end before `shutdown` lets go of its own reference (a loaded machine):
    /// the consumer then closes wherever the last reference goes. Closing revokes the assignment,
    /// and the revocation callback must not block inside the async runtime (it panicked there,
    /// killing the runner and hanging the task's stop).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_after_the_poll_thread_ended_closes_off_the_runtime() {
        let cluster = EmbeddedCluster::start(1).unwrap();
        cluster.create_topic("closing", 2, 1).unwrap();
        let mut cfg = rdkafka::ClientConfig::new();
        cfg.set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "closing-group")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000");
        let mut handle = ConsumerHandle::start(&cfg, &["closing"], 10, "closing").unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ev = tokio::time::timeout_at(deadline, handle.events.recv())
                .await
                .expect("an assignment within 30 s");
            if let Some(ConsumerEvent::Assigned(_)) = ev {
                break;
            }
        }
        // The poll thread ends first, as it can under load.
        handle.stop.store(true, Ordering::SeqCst);
        let thread = handle.thread.take().unwrap();
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
        // On a runtime of its own thread, so that a close that blocks or panics there fails this
        // test instead of stalling it.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(handle.shutdown());
            let _ = done.send(());
        });
        let outcome =
            tokio::task::spawn_blocking(move || finished.recv_timeout(Duration::from_secs(40)))
                .await
                .unwrap();
        assert!(
            outcome.is_ok(),
            "shutdown did not finish: {outcome:?} (a panic disconnects, a blocked close times out)"
        );
    }

    /// Waits up to `secs` for an event the filter accepts, answering revocations on the way (as the
    /// runner does) and counting the records of the batches passed over.
    async fn next_event(
        handle: &mut ConsumerHandle,
        secs: u64,
        what: &str,
        mut want: impl FnMut(&ConsumerEvent) -> bool,
    ) -> ConsumerEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let ev = tokio::time::timeout_at(deadline, handle.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {secs} s"))
                .expect("the consumer thread ended");
            if want(&ev) {
                return ev;
            }
            if let ConsumerEvent::Revoked(_, reply) = ev {
                let _ = reply.send(());
            }
        }
    }

    /// librdkafka keeps an application pause on a partition through its revocation and a later
    /// assignment. A connector resumed while its consumer held no partitions (between a revocation
    /// and the next assignment of a rebalance) must still read them once they are assigned again:
    /// every assignment is given the connector's state, resumed as well as paused. (Seen in CI: a
    /// resume racing a rebalance left every partition paused for good.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_resume_between_revocation_and_assignment_reaches_the_next_assignment() {
        use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
        let cluster = EmbeddedCluster::start(1).unwrap();
        cluster.create_topic("resumed", 2, 1).unwrap();
        let produce = |from: u32, to: u32| {
            let producer: BaseProducer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", cluster.bootstrap_servers())
                .create()
                .unwrap();
            for i in from..to {
                let payload = i.to_string();
                producer
                    .send(
                        BaseRecord::<(), _>::to("resumed")
                            .payload(&payload)
                            .partition((i % 2) as i32),
                    )
                    .unwrap();
            }
            producer.flush(Duration::from_secs(10)).unwrap();
        };
        produce(0, 10);
        let mut cfg = rdkafka::ClientConfig::new();
        cfg.set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "resumed-group")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000");
        let mut handle = ConsumerHandle::start(&cfg, &["resumed"], 100, "resumed").unwrap();
        let mut read = 0;
        next_event(&mut handle, 30, "first records", |e| {
            if let ConsumerEvent::Batch(b) = e {
                read += b.len();
            }
            read >= 10
        })
        .await;
        handle.set_paused(true);
        // The assignment goes (as in a rebalance) and the connector is resumed while none is held.
        handle.consumer.unsubscribe();
        next_event(&mut handle, 30, "the revocation", |e| {
            matches!(e, ConsumerEvent::Revoked(..))
        })
        .await;
        // The revocation answered (the event dropped), the consumer gives the partitions up.
        let deadline = Instant::now() + Duration::from_secs(10);
        while handle.consumer.assignment().map(|a| a.count()).ok() != Some(0) {
            assert!(
                Instant::now() < deadline,
                "the assignment was never given up"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handle.set_paused(false);
        handle.consumer.subscribe(&["resumed"]).unwrap();
        next_event(&mut handle, 30, "the new assignment", |e| {
            matches!(e, ConsumerEvent::Assigned(_))
        })
        .await;
        produce(10, 20);
        let mut read = 0;
        next_event(
            &mut handle,
            20,
            "records after the resume (partitions left paused)",
            |e| {
                if let ConsumerEvent::Batch(b) = e {
                    read += b.iter().filter(|r| r.offset >= 5).count();
                }
                read >= 10
            },
        )
        .await;
        handle.shutdown().await;
    }
}
