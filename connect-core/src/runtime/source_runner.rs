//! Runs one source task: poll, transform, convert, produce, and store offsets only for records the
//! broker acknowledged, in order per source partition.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, Producer};
use tokio::sync::{mpsc, watch};

use crate::config::{ErrorPolicy, Props};
use crate::converter::{Converter, HeaderConverter};
use crate::error::ConnectError;
use crate::record::{ConnectRecord, OffsetMap, SourceOffset, SourceRecord};
use crate::runtime::admin::{TopicAdmin, TopicCreation};
use crate::runtime::dlq::{owned_headers, ErrantRecordReporter, RawRecord, Stage};
use crate::runtime::offsets::{OffsetReader, OffsetStore, PartitionKey};
use crate::runtime::retry::{apply_chain, backoff};
use crate::runtime::source_delivery::{DeliveryResult, InFlight, InFlightRecords, SourceProducer};
use crate::runtime::status::{TaskMetrics, TaskShared, TaskState};
use crate::runtime::Control;
use crate::source::{RecordMetadata, RecordOutcome, RecordPosition, SourceTask, SourceTaskContext};
use crate::transform::TransformChain;

/// Records produced but not yet acknowledged, at most; polling pauses beyond it.
const MAX_IN_FLIGHT: usize = 20_000;

/// Tracks, per source partition, which submitted records the broker acknowledged, so that an offset is
/// stored only when every earlier record of its partition is durable (Kafka Connect's
/// `SubmittedRecords`).
#[derive(Default)]
struct OffsetTracker {
    parts: Vec<PartitionTrack>,
    index: HashMap<PartitionKey, usize>,
    last: Option<usize>,
}

struct PartitionTrack {
    partition: Arc<OffsetMap>,
    base_seq: u64,
    pending: VecDeque<(SourceOffset, bool)>,
    /// The newest offset whose every predecessor is settled: built into a map only when stored.
    committable: Option<SourceOffset>,
    dirty: bool,
}

impl OffsetTracker {
    fn submit(&mut self, partition: &Arc<OffsetMap>, offset: &SourceOffset) -> (usize, u64) {
        let idx = match self.last {
            Some(i) if Arc::ptr_eq(&self.parts[i].partition, partition) => i,
            _ => {
                let key = PartitionKey::of(partition);
                let next = self.parts.len();
                let i = *self.index.entry(key).or_insert(next);
                if i == next {
                    self.parts.push(PartitionTrack {
                        partition: partition.clone(),
                        base_seq: 0,
                        pending: VecDeque::new(),
                        committable: None,
                        dirty: false,
                    });
                }
                i
            }
        };
        self.last = Some(idx);
        let t = &mut self.parts[idx];
        let seq = t.base_seq + t.pending.len() as u64;
        t.pending.push_back((offset.clone(), false));
        (idx, seq)
    }

    fn ack(&mut self, idx: usize, seq: u64) {
        let t = &mut self.parts[idx];
        let Some(i) = seq.checked_sub(t.base_seq) else {
            return;
        };
        if let Some(slot) = t.pending.get_mut(i as usize) {
            slot.1 = true;
        }
        while t.pending.front().is_some_and(|(_, acked)| *acked) {
            if let Some((o, _)) = t.pending.pop_front() {
                t.committable = Some(o);
                t.dirty = true;
            }
            t.base_seq += 1;
        }
    }

    fn take_dirty(&mut self) -> Vec<(Arc<OffsetMap>, Arc<OffsetMap>)> {
        let mut out = Vec::new();
        for t in &mut self.parts {
            if t.dirty {
                t.dirty = false;
                if let Some(o) = &t.committable {
                    let o = o.map().into_owned();
                    if !(t.partition.is_empty() && o.is_empty()) {
                        out.push((t.partition.clone(), Arc::new(o)));
                    }
                }
            }
        }
        out
    }

    fn restore_dirty(&mut self, entries: &[(Arc<OffsetMap>, Arc<OffsetMap>)]) {
        for (p, _) in entries {
            if let Some(&i) = self.index.get(&PartitionKey::of(p)) {
                self.parts[i].dirty = true;
            }
        }
    }
}

/// Everything a source task runs with.
pub(crate) struct SourceRunner {
    pub connector: String,
    pub task_id: usize,
    pub task: Box<dyn SourceTask>,
    pub task_config: Props,
    pub chain: TransformChain<SourceRecord>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub producer: SourceProducer,
    pub offsets: Arc<dyn OffsetStore>,
    pub policy: ErrorPolicy,
    pub reporter: Arc<ErrantRecordReporter>,
    pub admin: TopicAdmin,
    /// The worker's cluster settings, handed to the task ([`SourceTaskContext::cluster`]).
    pub kafka: crate::runtime::KafkaSettings,
    pub topic_creation: TopicCreation,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
    pub shared: Arc<TaskShared>,
    pub control: watch::Receiver<Control>,
    /// [`crate::source::SourceConnector::record_errors_fail_task`].
    pub record_errors_fail_task: bool,
}

struct Loop {
    r: SourceRunner,
    task: Arc<dyn SourceTask>,
    tracker: OffsetTracker,
    in_flight: InFlightRecords,
    /// The producer's answers taken for settling (kept for its capacity).
    answers: Vec<(usize, DeliveryResult)>,
    /// Records acknowledged and not yet handed to the task (kept for its capacity).
    written: Vec<(RecordPosition, RecordMetadata)>,
    last_topic: Option<Arc<str>>,
}

impl SourceRunner {
    /// Runs until stopped or failed. Never panics on task or data errors: they end in the task status.
    pub(crate) async fn run(mut self) {
        let stored = match self.offsets.load(&self.connector).await {
            Ok(o) => o,
            Err(e) => {
                self.shared.fail(format!("loading offsets failed: {e}"));
                return;
            }
        };
        let ctx = SourceTaskContext {
            config: self.task_config.clone(),
            offsets: OffsetReader::new(stored),
            errant_record_reporter: Some(self.reporter.clone()),
            cluster: Some(crate::source::WorkerCluster {
                settings: self.kafka.clone(),
                admin: self.admin.clone(),
            }),
            progress: self.shared.progress.clone(),
        };
        if let Err(e) = self.task.start(ctx).await {
            self.shared.fail(format!("task failed to start: {e}"));
            return;
        }
        let task: Arc<dyn SourceTask> =
            Arc::from(std::mem::replace(&mut self.task, Box::new(Stopped)));
        self.shared.set_state(TaskState::Running);
        let mut lp = Loop {
            r: self,
            task,
            tracker: OffsetTracker::default(),
            in_flight: InFlightRecords::default(),
            answers: Vec::new(),
            written: Vec::new(),
            last_topic: None,
        };
        lp.main().await;
    }
}

/// Placeholder left in the runner once the task moved into an `Arc`.
struct Stopped;

#[async_trait::async_trait]
impl SourceTask for Stopped {
    async fn start(&mut self, _: SourceTaskContext) -> Result<(), ConnectError> {
        Ok(())
    }
    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        Err(ConnectError::Stopped)
    }
    async fn stop(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

impl Loop {
    async fn main(&mut self) {
        let (tx, mut rx) = mpsc::channel::<Result<Vec<SourceRecord>, ConnectError>>(1);
        // Aborted with the runner: a runner dropped in a crash lets go of its task at once (a
        // listener's port, say), instead of when the poller next finds its channel closed.
        let mut poller = AbortOnDrop(tokio::spawn(poll_loop(
            self.task.clone(),
            self.r.control.clone(),
            tx,
            self.r.policy.retry_delay_max,
            self.r.shared.clone(),
        )));
        let mut flush = tokio::time::interval(self.r.flush_interval);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.tick().await;
        let mut control = self.r.control.clone();
        let mut failure: Option<String> = None;
        loop {
            tokio::select! {
                biased;
                changed = control.changed() => {
                    let c = *control.borrow_and_update();
                    if changed.is_err() || c == Control::Stop {
                        break;
                    }
                    self.r.shared.set_state(if c == Control::Pause { TaskState::Paused } else { TaskState::Running });
                }
                _ = self.r.producer.context().ready(), if !self.in_flight.is_empty() => {
                    if let Err(e) = self.settle_ready().await {
                        failure = Some(e.to_string());
                        break;
                    }
                }
                _ = flush.tick() => self.flush_offsets().await,
                batch = rx.recv(), if self.in_flight.len() < MAX_IN_FLIGHT => {
                    match batch {
                        Some(Ok(records)) => {
                            if let Err(e) = self.process(records).await {
                                failure = Some(e.to_string());
                                break;
                            }
                        }
                        Some(Err(e)) => {
                            failure = Some(format!("poll failed: {e}"));
                            break;
                        }
                        None => break,
                    }
                }
            }
        }
        if let Err(e) = self.task.stop().await {
            tracing::warn!(connector = %self.r.connector, task = self.r.task_id, error = %e, "task stop failed");
        }
        drop(rx);
        let _ = tokio::time::timeout(self.r.shutdown_timeout, &mut poller.0).await;
        // Drain: wait for what is in flight so its offsets can be stored.
        let deadline = tokio::time::Instant::now() + self.r.shutdown_timeout;
        let _ = self
            .r
            .producer
            .flush(rdkafka::util::Timeout::After(Duration::from_millis(0)));
        while !self.in_flight.is_empty() {
            if let Err(e) = self.settle_ready().await {
                failure.get_or_insert(e.to_string());
                break;
            }
            if self.in_flight.is_empty()
                || tokio::time::timeout_at(deadline, self.r.producer.context().ready())
                    .await
                    .is_err()
            {
                break;
            }
        }
        self.flush_offsets().await;
        match failure {
            Some(e) => {
                tracing::error!(connector = %self.r.connector, task = self.r.task_id, error = %e, "task failed");
                self.r.shared.fail(e);
            }
            None => self.r.shared.set_state(TaskState::Stopped),
        }
    }

    async fn process(&mut self, records: Vec<SourceRecord>) -> Result<(), ConnectError> {
        TaskMetrics::add(&self.r.shared.metrics.polled, records.len() as u64);
        for record in records {
            let pos = RecordPosition {
                source_partition: record.source_partition.clone(),
                source_offset: record.source_offset.clone(),
            };
            let (pidx, seq) = self
                .tracker
                .submit(&pos.source_partition, &pos.source_offset);
            match self.prepare_and_send(record, pidx, seq, &pos).await? {
                Outcome::Sent => {}
                Outcome::Filtered => {
                    TaskMetrics::add(&self.r.shared.metrics.filtered, 1);
                    self.skip(pidx, seq, &pos, RecordOutcome::Filtered).await?;
                }
                Outcome::Skipped => self.skip(pidx, seq, &pos, RecordOutcome::Failed).await?,
            }
        }
        Ok(())
    }

    async fn skip(
        &mut self,
        pidx: usize,
        seq: u64,
        pos: &RecordPosition,
        outcome: RecordOutcome<'_>,
    ) -> Result<(), ConnectError> {
        self.tracker.ack(pidx, seq);
        self.task.record_settled(pos, outcome).await
    }

    /// Routes one failed record by the error policy. An error (tolerance `none`, or a DLQ write that
    /// failed) fails the task, unless the connector answers record errors to its sender instead.
    async fn report(
        &self,
        raw: &RawRecord,
        stage: Stage,
        component: &str,
        error: &ConnectError,
    ) -> Result<(), ConnectError> {
        match self.r.reporter.handle(raw, stage, component, error).await {
            Err(e) if !self.r.record_errors_fail_task => {
                tracing::warn!(connector = %self.r.connector, task = self.r.task_id, stage = stage.as_str(), error = %e, "record failed; the task goes on (its sender is told)");
                Ok(())
            }
            other => other,
        }
    }

    async fn prepare_and_send(
        &mut self,
        record: SourceRecord,
        pidx: usize,
        seq: u64,
        pos: &RecordPosition,
    ) -> Result<Outcome, ConnectError> {
        // Without transforms, skip building the (retrying) transform future for every record.
        let transformed = if self.r.chain.is_empty() {
            Ok(Some(record))
        } else {
            apply_chain(
                &self.r.chain,
                &self.r.policy,
                &self.r.control,
                &self.r.shared,
                record,
                self.r.reporter.keeps_originals(),
            )
            .await
        };
        let record = match transformed {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(Outcome::Filtered),
            Err((alias, e, original)) => {
                // The record as the source produced it, in the connector's formats, so the DLQ holds
                // the data and not only the error (when the converters can write it).
                let raw = match original {
                    Some(o) => {
                        let rec = &o.record;
                        let key = self
                            .r
                            .key_converter
                            .from_connect_data(&rec.topic, rec.key_schema.as_ref(), &rec.key)
                            .ok()
                            .flatten();
                        let value = self
                            .r
                            .value_converter
                            .from_connect_data(&rec.topic, rec.value_schema.as_ref(), &rec.value)
                            .ok()
                            .flatten();
                        unsent(rec, key, value)
                    }
                    None => RawRecord {
                        partition: -1,
                        offset: -1,
                        ..Default::default()
                    },
                };
                self.report(&raw, Stage::Transformation, &alias, &e).await?;
                return Ok(Outcome::Skipped);
            }
        };
        let rec = &record.record;
        let converted = (|| {
            let key = self
                .r
                .key_converter
                .from_connect_data(&rec.topic, rec.key_schema.as_ref(), &rec.key)
                .map_err(|e| (Stage::KeyConverter, e))?;
            let value = self
                .r
                .value_converter
                .from_connect_data(&rec.topic, rec.value_schema.as_ref(), &rec.value)
                .map_err(|e| (Stage::ValueConverter, e))?;
            let mut headers = None;
            if !rec.headers.is_empty() {
                let mut hs = OwnedHeaders::new_with_capacity(rec.headers.len());
                for h in &rec.headers {
                    let v = self
                        .r
                        .header_converter
                        .from_connect_header(&rec.topic, &h.key, h.schema.as_ref(), &h.value)
                        .map_err(|e| (Stage::HeaderConverter, e))?;
                    hs = hs.insert(rdkafka::message::Header {
                        key: &h.key,
                        value: v.as_deref(),
                    });
                }
                headers = Some(hs);
            }
            Ok::<_, (Stage, crate::error::DataError)>((key, value, headers))
        })();
        let (key, value, headers) = match converted {
            Ok(c) => c,
            Err((stage, e)) => {
                let raw = unsent(rec, None, None);
                self.report(&raw, stage, "Converter", &ConnectError::Data(e))
                    .await?;
                return Ok(Outcome::Skipped);
            }
        };
        if self.r.topic_creation.enabled() && !self.r.admin.is_known(&rec.topic) {
            if let Some(spec) = self.r.topic_creation.spec_for(&rec.topic) {
                self.r.admin.ensure(&spec).await?;
            }
        }
        let id = self.in_flight.next_id();
        loop {
            let mut fr: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(&rec.topic, id);
            if let Some(k) = &key {
                fr = fr.key(&k[..]);
            }
            if let Some(v) = &value {
                fr = fr.payload(&v[..]);
            }
            if let Some(p) = rec.kafka_partition {
                fr = fr.partition(p);
            }
            if let Some(ts) = rec.timestamp {
                fr = fr.timestamp(ts);
            }
            if let Some(h) = &headers {
                fr = fr.headers(h.clone());
            }
            match self.r.producer.send(fr) {
                Ok(()) => {
                    let pos = pos.clone();
                    let topic = match &self.last_topic {
                        Some(t) if **t == *rec.topic => t.clone(),
                        _ => {
                            let t: Arc<str> = Arc::from(rec.topic.as_str());
                            self.last_topic = Some(t.clone());
                            t
                        }
                    };
                    self.in_flight.push(InFlight {
                        pidx,
                        seq,
                        pos,
                        topic,
                    });
                    return Ok(Outcome::Sent);
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // The producer's queue is full: settle what was answered, or wait for an answer
                    // (bounded: the queue may also be full of another task's records), then try
                    // again.
                    if self.settle_ready().await? == 0 {
                        let _ = tokio::time::timeout(
                            Duration::from_millis(10),
                            self.r.producer.context().ready(),
                        )
                        .await;
                        self.settle_ready().await?;
                    }
                }
                Err((e, _)) => {
                    let mut raw = unsent(rec, key.clone(), value.clone());
                    raw.headers = owned_headers(headers.as_ref());
                    self.report(
                        &raw,
                        Stage::KafkaProduce,
                        "KafkaProducer",
                        &ConnectError::Kafka(e),
                    )
                    .await?;
                    return Ok(Outcome::Skipped);
                }
            }
        }
    }

    /// Settles every answer that already arrived, in the order they came, without waiting. Returns
    /// how many records it settled.
    async fn settle_ready(&mut self) -> Result<usize, ConnectError> {
        let mut answers = std::mem::take(&mut self.answers);
        if answers.is_empty() {
            self.r.producer.context().take(&mut answers);
        }
        let mut settled = 0;
        let mut drain = answers.drain(..);
        while let Some((id, answer)) = drain.next() {
            let Some(f) = self.in_flight.take(id) else {
                continue;
            };
            settled += 1;
            let result = match answer {
                Ok((partition, offset)) => {
                    self.tracker.ack(f.pidx, f.seq);
                    let meta = RecordMetadata {
                        topic: f.topic,
                        partition,
                        offset,
                    };
                    self.written.push((f.pos, meta));
                    Ok(())
                }
                Err((e, mut raw)) => {
                    raw.topic = f.topic;
                    // The task hears of the records written before this one first, in order.
                    match self.tell_written().await {
                        Ok(()) => self.undelivered(f.pidx, f.seq, &f.pos, e, raw).await,
                        Err(e) => Err(e),
                    }
                }
            };
            if let Err(e) = result {
                // The answers after the failed one are settled by the drain at shutdown.
                self.answers = drain.collect();
                let _ = self.tell_written().await;
                return Err(e);
            }
        }
        drop(drain);
        self.answers = answers;
        self.tell_written().await?;
        Ok(settled)
    }

    /// Hands the records written since the last call to the task, in one call.
    async fn tell_written(&mut self) -> Result<(), ConnectError> {
        if self.written.is_empty() {
            return Ok(());
        }
        TaskMetrics::add(&self.r.shared.metrics.written, self.written.len() as u64);
        let result = self.task.records_written(&self.written).await;
        self.written.clear();
        result
    }

    /// A record the producer finally failed (librdkafka retried until `message.timeout.ms`): it is
    /// not durable, and goes to the DLQ as the producer had it.
    async fn undelivered(
        &mut self,
        pidx: usize,
        seq: u64,
        pos: &RecordPosition,
        error: String,
        raw: RawRecord,
    ) -> Result<(), ConnectError> {
        self.report(
            &raw,
            Stage::KafkaProduce,
            "KafkaProducer",
            &ConnectError::other(error),
        )
        .await?;
        self.skip(pidx, seq, pos, RecordOutcome::Failed).await
    }

    async fn flush_offsets(&mut self) {
        let dirty = self.tracker.take_dirty();
        if dirty.is_empty() {
            return;
        }
        match self.r.offsets.store(&self.r.connector, &dirty).await {
            Ok(()) => {
                TaskMetrics::add(&self.r.shared.metrics.offset_commits, 1);
                if let Err(e) = self.task.commit().await {
                    tracing::warn!(connector = %self.r.connector, task = self.r.task_id, error = %e, "task commit failed");
                }
            }
            Err(e) => {
                tracing::error!(connector = %self.r.connector, task = self.r.task_id, error = %e, "storing offsets failed; will retry");
                self.tracker.restore_dirty(&dirty);
            }
        }
    }
}

/// A spawned task aborted when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a failed source record is reported as: where it was going, with the bytes it had by then (a
/// source record has no Kafka offset yet).
fn unsent(rec: &ConnectRecord, key: Option<Bytes>, value: Option<Bytes>) -> RawRecord {
    RawRecord {
        topic: Arc::from(rec.topic.as_str()),
        partition: rec.kafka_partition.unwrap_or(-1),
        offset: -1,
        timestamp: rec.timestamp,
        key,
        value,
        headers: Vec::new(),
    }
}

enum Outcome {
    Sent,
    Filtered,
    Skipped,
}

async fn poll_loop(
    task: Arc<dyn SourceTask>,
    mut control: watch::Receiver<Control>,
    tx: mpsc::Sender<Result<Vec<SourceRecord>, ConnectError>>,
    max_delay: Duration,
    shared: Arc<TaskShared>,
) {
    let mut attempt = 0u32;
    loop {
        if tx.is_closed() {
            // The runner is gone (stopped, or dropped in a crash): let go of the task.
            return;
        }
        let c = *control.borrow_and_update();
        match c {
            Control::Stop => return,
            Control::Pause => {
                tokio::select! {
                    changed = control.changed() => if changed.is_err() { return },
                    _ = tx.closed() => return,
                }
                continue;
            }
            Control::Run => {}
        }
        let batch = tokio::select! {
            b = task.poll() => b,
            _ = control.changed() => continue,
        };
        match batch {
            Ok(records) if records.is_empty() => {
                attempt = 0;
                tokio::task::yield_now().await;
            }
            Ok(records) => {
                attempt = 0;
                if tx.send(Ok(records)).await.is_err() {
                    return;
                }
            }
            Err(ConnectError::Stopped) => return,
            Err(e) if e.is_retriable() => {
                attempt += 1;
                TaskMetrics::add(&shared.metrics.retries, 1);
                tracing::warn!(task = shared.status().task_id, error = %e, "poll failed; retrying");
                tokio::time::sleep(backoff(attempt, max_delay)).await;
            }
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn om(k: &str, v: serde_json::Value) -> Arc<OffsetMap> {
        Arc::new([(k.to_string(), v)].into_iter().collect())
    }

    #[test]
    fn offsets_advance_only_over_acknowledged_prefix() {
        let mut t = OffsetTracker::default();
        let p = om("file", json!("a"));
        let q = om("file", json!("b"));
        let a = t.submit(&p, &om("pos", json!(1)).into());
        let b = t.submit(&p, &om("pos", json!(2)).into());
        let c = t.submit(&q, &om("pos", json!(7)).into());
        let d = t.submit(&p, &om("pos", json!(3)).into());
        t.ack(b.0, b.1);
        t.ack(c.0, c.1);
        let dirty = t.take_dirty();
        assert_eq!(dirty.len(), 1, "only partition b is committable");
        assert_eq!(dirty[0].1.get("pos"), Some(&json!(7)));
        t.ack(a.0, a.1);
        let dirty = t.take_dirty();
        assert_eq!(
            dirty[0].1.get("pos"),
            Some(&json!(2)),
            "a and b acked, d not yet"
        );
        t.ack(d.0, d.1);
        assert_eq!(t.take_dirty()[0].1.get("pos"), Some(&json!(3)));
        assert!(t.take_dirty().is_empty());
        // An equal partition map from another allocation is the same partition.
        let p2 = om("file", json!("a"));
        let e = t.submit(&p2, &om("pos", json!(4)).into());
        assert_eq!(e.0, a.0);
    }

    /// A position that counts how often it is turned into a map.
    #[derive(Debug)]
    struct Counted(u64, Arc<std::sync::atomic::AtomicUsize>);

    impl crate::record::OffsetValue for Counted {
        fn to_map(&self) -> OffsetMap {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            [("pos".to_owned(), json!(self.0))].into_iter().collect()
        }
    }

    #[test]
    fn a_task_position_becomes_a_map_only_when_stored() {
        let built = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut t = OffsetTracker::default();
        let p = om("server", json!("clinical"));
        let seqs: Vec<_> = (1..=1000)
            .map(|i| t.submit(&p, &SourceOffset::new(Counted(i, built.clone()))))
            .collect();
        for (idx, seq) in &seqs {
            t.ack(*idx, *seq);
        }
        assert_eq!(built.load(std::sync::atomic::Ordering::Relaxed), 0);
        let dirty = t.take_dirty();
        assert_eq!(dirty.len(), 1);
        assert_eq!(
            *dirty[0].1,
            OffsetMap::from_iter([("pos".to_owned(), json!(1000))])
        );
        assert_eq!(
            built.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "one map for a thousand records: the newest settled one"
        );
    }
}
