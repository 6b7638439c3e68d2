//! Runs one sink task: consume, convert, transform, `put`, and commit only offsets the task reported
//! durable through `pre_commit`, always for the original topic/partition/offset.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{mpsc as tmpsc, watch};

use crate::config::{ErrorPolicy, Props};
use crate::converter::{Converter, HeaderConverter};
use crate::error::ConnectError;
use crate::record::{
    ConnectRecord, Headers as RecordHeaders, SinkRecord, TimestampType, TopicPartitionOffset,
};
use crate::runtime::dlq::{ErrantRecordReporter, RawRecord, Stage};
use crate::runtime::retry::backoff;
use crate::runtime::status::{TaskMetrics, TaskShared, TaskState};
use crate::runtime::Control;
use crate::sink::{PartitionOffsets, SinkTask, SinkTaskContext, TopicPartition};
use crate::transform::TransformChain;

/// Partition assignment changes, passed from librdkafka's rebalance callback to the runner.
#[derive(Debug)]
pub(crate) enum RebalanceEvent {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
}

/// The consumer context: forwards rebalances and, before partitions are revoked, synchronously commits
/// what the task last reported durable for them, so the next owner starts right after it.
pub(crate) struct SinkConsumerContext {
    events: std::sync::mpsc::Sender<RebalanceEvent>,
    safe: Arc<Mutex<PartitionOffsets>>,
}

impl ClientContext for SinkConsumerContext {}

fn tpl_to_vec(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl ConsumerContext for SinkConsumerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked = tpl_to_vec(tpl);
            if let Ok(safe) = self.safe.lock() {
                let mut commit = TopicPartitionList::new();
                for tp in &revoked {
                    if let Some(o) = safe.get(tp) {
                        let _ = commit.add_partition_offset(
                            &tp.topic,
                            tp.partition,
                            Offset::Offset(*o),
                        );
                    }
                }
                if commit.count() > 0 {
                    if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                        tracing::warn!(error = %e, "commit before revocation failed; records may be redelivered");
                    }
                }
            }
            let _ = self.events.send(RebalanceEvent::Revoked(revoked));
        }
    }
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let _ = self.events.send(RebalanceEvent::Assigned(tpl_to_vec(tpl)));
        }
    }
}

pub(crate) type SinkConsumer = StreamConsumer<SinkConsumerContext>;

/// A sink consumer, its rebalance events, and the offsets safe to commit on revocation.
pub(crate) type ConsumerParts = (
    SinkConsumer,
    std::sync::mpsc::Receiver<RebalanceEvent>,
    Arc<Mutex<PartitionOffsets>>,
);

/// Creates a sink consumer with its rebalance channel and shared safe-offsets map.
pub(crate) fn create_consumer(
    config: &rdkafka::ClientConfig,
) -> Result<ConsumerParts, ConnectError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let safe = Arc::new(Mutex::new(PartitionOffsets::new()));
    let consumer = config.create_with_context(SinkConsumerContext {
        events: tx,
        safe: safe.clone(),
    })?;
    Ok((consumer, rx, safe))
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
    pub consumer: Arc<SinkConsumer>,
    pub rebalance: std::sync::mpsc::Receiver<RebalanceEvent>,
    pub safe_offsets: Arc<Mutex<PartitionOffsets>>,
    pub policy: ErrorPolicy,
    pub reporter: Arc<ErrantRecordReporter>,
    pub max_batch: usize,
    pub flush_interval: Duration,
    pub shared: Arc<TaskShared>,
    pub control: watch::Receiver<Control>,
    /// Per partition, the offset after the last record put (or skipped): the most that may be committed.
    pub current: PartitionOffsets,
}

impl SinkRunner {
    pub(crate) async fn run(mut self) {
        let ctx = SinkTaskContext {
            config: self.task_config.clone(),
            errant_record_reporter: Some(self.reporter.clone()),
        };
        if let Err(e) = self.task.start(ctx).await {
            self.shared.fail(format!("task failed to start: {e}"));
            return;
        }
        self.shared.set_state(TaskState::Running);
        let failure = self.main().await.err();
        // Commit what is safe before leaving; on failure, only what was durable before the failure.
        if failure.is_none() {
            if let Err(e) = self.commit(true).await {
                tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "final commit failed");
            }
        }
        let assigned = self.assignment();
        if !assigned.is_empty() {
            let _ = self.task.close(&assigned).await;
        }
        if let Err(e) = self.task.stop().await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "task stop failed");
        }
        drop(self.consumer);
        match failure {
            Some(e) => {
                tracing::error!(connector = %self.connector, task = self.task_id, error = %e, "task failed");
                self.shared.fail(e.to_string());
            }
            None => self.shared.set_state(TaskState::Stopped),
        }
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer
            .assignment()
            .map(|t| tpl_to_vec(&t))
            .unwrap_or_default()
    }

    async fn main(&mut self) -> Result<(), ConnectError> {
        // Batches come from a channel fed by a reader, so a pending read never holds a borrow of the
        // consumer across a `select!` branch and cancellation never drops a message.
        let (btx, mut brx) = tmpsc::channel::<Result<Vec<RawRecord>, ConnectError>>(1);
        let reader = tokio::spawn(read_batches(self.consumer.clone(), self.max_batch, btx));
        let result = self.event_loop(&mut brx).await;
        // The reader holds the consumer: end it before the consumer is closed.
        reader.abort();
        let _ = reader.await;
        result
    }

    async fn event_loop(
        &mut self,
        brx: &mut tmpsc::Receiver<Result<Vec<RawRecord>, ConnectError>>,
    ) -> Result<(), ConnectError> {
        let mut flush = tokio::time::interval(self.flush_interval);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.tick().await;
        let mut control = self.control.clone();
        let mut paused = false;
        let mut stash: Vec<RawRecord> = Vec::new();
        loop {
            self.drain_rebalance_events().await?;
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
                        if let Ok(a) = self.consumer.assignment() {
                            let _ = if pause { self.consumer.pause(&a) } else { self.consumer.resume(&a) };
                        }
                        self.shared.set_state(if pause { TaskState::Paused } else { TaskState::Running });
                    }
                    if !paused && !stash.is_empty() {
                        let batch = std::mem::take(&mut stash);
                        self.deliver(batch).await?;
                    }
                }
                _ = flush.tick() => self.commit(false).await?,
                batch = brx.recv() => {
                    match batch {
                        Some(Ok(raws)) => {
                            if paused {
                                stash.extend(raws);
                            } else {
                                self.deliver(raws).await?;
                            }
                        }
                        Some(Err(e)) => return Err(e),
                        None => return Err(ConnectError::other("consumer stopped")),
                    }
                }
            }
        }
    }

    async fn drain_rebalance_events(&mut self) -> Result<(), ConnectError> {
        while let Ok(ev) = self.rebalance.try_recv() {
            match ev {
                RebalanceEvent::Assigned(tps) => {
                    tracing::info!(connector = %self.connector, task = self.task_id, partitions = tps.len(), "partitions assigned");
                    self.task.open(&tps).await?;
                }
                RebalanceEvent::Revoked(tps) => {
                    tracing::info!(connector = %self.connector, task = self.task_id, partitions = tps.len(), "partitions revoked");
                    self.task.close(&tps).await?;
                    for tp in &tps {
                        self.current.remove(tp);
                        if let Ok(mut s) = self.safe_offsets.lock() {
                            s.remove(tp);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Converts, transforms and puts one batch; on success records the batch's offsets as processed.
    async fn deliver(&mut self, raws: Vec<RawRecord>) -> Result<(), ConnectError> {
        TaskMetrics::add(&self.shared.metrics.polled, raws.len() as u64);
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
                Ok(r) => match self.chain.apply(r) {
                    Ok(Some(r)) => records.push(r),
                    Ok(None) => TaskMetrics::add(&self.shared.metrics.filtered, 1),
                    Err(e) => {
                        self.reporter
                            .handle(raw, Stage::Transformation, &e.alias, &e.error)
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
                        attempt += 1;
                        TaskMetrics::add(&self.shared.metrics.retries, 1);
                        tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, attempt, "put failed; redelivering the batch");
                        let wait = backoff(attempt, self.policy.retry_delay_max);
                        let mut control = self.control.clone();
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = control.wait_for(|c| *c == Control::Stop) => {
                                return Err(ConnectError::Stopped);
                            }
                        }
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

    /// Asks the task what is durable and commits it (never beyond what was put).
    async fn commit(&mut self, sync: bool) -> Result<(), ConnectError> {
        let current = self.current.clone();
        if current.is_empty() {
            return Ok(());
        }
        let safe = self.task.pre_commit(&current).await?;
        let assigned: BTreeSet<TopicPartition> = self.assignment().into_iter().collect();
        let mut tpl = TopicPartitionList::new();
        {
            let mut committed = self
                .safe_offsets
                .lock()
                .map_err(|_| ConnectError::other("lock poisoned"))?;
            for (tp, off) in &safe {
                let Some(cur) = current.get(tp) else { continue };
                let off = (*off).min(*cur);
                if !assigned.contains(tp) || committed.get(tp).is_some_and(|c| *c >= off) {
                    continue;
                }
                tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(off))?;
                committed.insert(tp.clone(), off);
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let consumer = self.consumer.clone();
        let mode = if sync {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        let res = tokio::task::spawn_blocking(move || consumer.commit(&tpl, mode))
            .await
            .map_err(|e| ConnectError::other(e.to_string()))?;
        match res {
            Ok(()) => {
                TaskMetrics::add(&self.shared.metrics.offset_commits, 1);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "offset commit failed; will retry");
                Ok(())
            }
        }
    }
}

/// Reads batches: waits for one message, then takes what is already there, up to `max`. The keys and
/// payloads of a batch are copied out of librdkafka's buffers into one allocation, which every record
/// of the batch shares (`Bytes` slices), instead of one or two allocations per record.
async fn read_batches(
    consumer: Arc<SinkConsumer>,
    max: usize,
    tx: tmpsc::Sender<Result<Vec<RawRecord>, ConnectError>>,
) {
    let mut topics: Vec<Arc<str>> = Vec::new();
    loop {
        let batch = {
            let first = match consumer.recv().await {
                Ok(m) => m,
                Err(e) => {
                    let err = ConnectError::Kafka(e);
                    if err.is_retriable() {
                        tracing::warn!(error = %err, "consumer error; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            };
            let mut msgs = Vec::with_capacity(max.min(1024));
            msgs.push(first);
            while msgs.len() < max {
                match consumer.recv().now_or_never() {
                    Some(Ok(m)) => msgs.push(m),
                    _ => break,
                }
            }
            raws_of(&msgs, &mut topics)
        };
        if tx.send(Ok(batch)).await.is_err() {
            return;
        }
    }
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
            headers: m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_owned(), h.value.map(Bytes::copy_from_slice)))
                        .collect()
                })
                .unwrap_or_default(),
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
