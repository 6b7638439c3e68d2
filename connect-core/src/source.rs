//! The source task contract, as Kafka Connect's `SourceTask` and `SourceConnector`.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigDef, Props};
use crate::error::{ConfigError, ConnectError};
use crate::record::{OffsetMap, SourceOffset, SourceRecord};
use crate::runtime::admin::TopicAdmin;
use crate::runtime::offsets::OffsetReader;
use crate::runtime::{ErrantRecordReporter, KafkaSettings};

/// Where a record landed in Kafka, passed to [`SourceTask::commit_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic written.
    pub topic: Arc<str>,
    /// The partition written.
    pub partition: i32,
    /// The record's offset in that partition.
    pub offset: i64,
}

/// A record's identity for [`SourceTask::commit_record`]: its source partition and source offset, as
/// `poll` returned them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPosition {
    /// The record's source partition.
    pub source_partition: Arc<OffsetMap>,
    /// The record's source offset.
    pub source_offset: SourceOffset,
}

/// What became of one polled record, passed to [`SourceTask::record_settled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome<'a> {
    /// The broker acknowledged it (`acks=all`): it is durable.
    Written(&'a RecordMetadata),
    /// A transform or predicate dropped it on purpose; nothing was written, and nothing will be.
    Filtered,
    /// A transform, a converter or the producer failed it. Per the error policy it was logged and,
    /// with `errors.tolerance=all` and a DLQ, written there; it is not in its topic.
    Failed,
}

/// What the runtime gives a source task when it starts.
#[derive(Clone)]
pub struct SourceTaskContext {
    /// The task's config (the connector's config as split by [`SourceConnector::task_configs`]).
    pub config: Props,
    /// The last committed source offsets of this connector, to resume from.
    pub offsets: OffsetReader,
    /// Sends raw data that could not become a record (say, an unparseable HL7 message) to the
    /// connector's dead letter queue, when one is configured.
    pub errant_record_reporter: Option<Arc<ErrantRecordReporter>>,
    /// The worker's Kafka cluster, for a task that keeps topics of its own there (a CDC connector's
    /// schema history). None outside a worker (unit tests).
    pub cluster: Option<WorkerCluster>,
    /// The progress line of the task's status (snapshot tables and rows, log position).
    pub progress: crate::runtime::TaskProgress,
}

/// The worker's Kafka cluster as a task sees it: client settings (security included) and the admin
/// that creates topics (on the embedded cluster too).
#[derive(Clone)]
pub struct WorkerCluster {
    /// Client settings of the worker's cluster.
    pub settings: KafkaSettings,
    /// Creates topics on it.
    pub admin: TopicAdmin,
}

/// A task that reads from an external system and hands records to the runtime.
///
/// The runtime calls [`start`](SourceTask::start) once, then [`poll`](SourceTask::poll) in a loop. Every
/// other method takes `&self` because the runtime calls them concurrently with a pending `poll`, as Kafka
/// Connect calls them from other threads: [`commit_record`](SourceTask::commit_record) when the broker
/// acknowledges a record, [`commit`](SourceTask::commit) after offsets were flushed, and
/// [`stop`](SourceTask::stop) to end a `poll` that is waiting for data. Implementations keep mutable state
/// behind a lock.
///
/// Delivery is at-least-once: a record's source offset is stored only after the broker acknowledged that
/// record and every earlier record of the same source partition. After a crash, reading resumes from the
/// last stored offset, so records after it are produced again.
#[async_trait]
pub trait SourceTask: Send + Sync {
    /// Starts the task. `context.offsets` holds the stored offsets; resume from them. An error fails the
    /// task before any record is read.
    async fn start(&mut self, context: SourceTaskContext) -> Result<(), ConnectError>;

    /// Returns the next batch of records, waiting a short while (well under a second) for data.
    /// An empty batch is fine. A retriable error is retried after a backoff; any other error fails the
    /// task. Must return promptly once [`stop`](SourceTask::stop) was called.
    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError>;

    /// Called after the broker acknowledged `record` (or after a transform filtered it out or the error
    /// policy skipped it, with `metadata` None). This is where a task acknowledges its source: an MLLP
    /// listener sends its ACK here, so a sender only hears "accepted" for durable messages.
    ///
    /// Unlike Kafka Connect, which passes the whole record, the runtime passes the record's source
    /// partition and offset: keeping a copy of every record until its acknowledgement would cost a deep
    /// copy per record on the hot path. A task that must recognise a record (an MLLP connection and
    /// message id, say) puts that identity in its source offset.
    async fn commit_record(
        &self,
        record: &RecordPosition,
        metadata: Option<&RecordMetadata>,
    ) -> Result<(), ConnectError> {
        let _ = (record, metadata);
        Ok(())
    }

    /// What became of one record: called once per polled record, in the order each settled. The
    /// default calls [`commit_record`](SourceTask::commit_record) with the broker's metadata for a
    /// written record and with `None` otherwise, as Kafka Connect does. A task that answers its sender
    /// differently for a filtered and a failed record (an MLLP listener: AA and AE) overrides this.
    async fn record_settled(
        &self,
        record: &RecordPosition,
        outcome: RecordOutcome<'_>,
    ) -> Result<(), ConnectError> {
        match outcome {
            RecordOutcome::Written(m) => self.commit_record(record, Some(m)).await,
            RecordOutcome::Filtered | RecordOutcome::Failed => {
                self.commit_record(record, None).await
            }
        }
    }

    /// Records the broker acknowledged, in the order their acknowledgements came: the runtime settles
    /// acknowledgements in batches, as the producer reports them. The default calls
    /// [`record_settled`](SourceTask::record_settled) with `Written` for each, in order. A task whose
    /// bookkeeping sits behind a lock overrides this to take the lock once per batch; the override must
    /// do exactly what `record_settled` would do for each record, in order.
    async fn records_written(
        &self,
        records: &[(RecordPosition, RecordMetadata)],
    ) -> Result<(), ConnectError> {
        for (position, metadata) in records {
            self.record_settled(position, RecordOutcome::Written(metadata))
                .await?;
        }
        Ok(())
    }

    /// Called after a batch of offsets was durably stored. Tasks that acknowledge upstream in bulk do it
    /// here.
    async fn commit(&self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// Asks the task to stop: a pending `poll` returns soon after. Called once; no `poll` starts after it.
    async fn stop(&self) -> Result<(), ConnectError>;
}

/// A source connector: validates the connector config and splits the work into task configs.
pub trait SourceConnector: Send + Sync {
    /// The connector's own keys (beyond the common ones every connector takes).
    fn config_def(&self) -> ConfigDef;
    /// Checks the config; called before any task is created.
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        self.config_def().parse(props).map(|_| ())
    }
    /// Up to `max_tasks` task configs, one per task to run.
    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>, ConfigError> {
        let _ = max_tasks;
        Ok(vec![props.clone()])
    }
    /// A new, unstarted task.
    fn create_task(&self) -> Box<dyn SourceTask>;
    /// Producer settings this connector works best with (librdkafka keys, such as `linger.ms=0` for a
    /// source whose senders wait for each acknowledgement). A connector config's
    /// `producer.override.*` keys take precedence; `acks` and `enable.idempotence` cannot be changed.
    fn producer_defaults(&self) -> Props {
        Props::new()
    }
    /// Whether a record that fails a transform, a converter or the producer can fail the task (with
    /// `errors.tolerance=none`, as in Kafka Connect). A listener whose senders get a negative
    /// acknowledgement for such a record returns false: the record is still logged and, with
    /// `errors.tolerance=all` and a DLQ, written there, and the task learns of it through
    /// [`SourceTask::record_settled`] (`Failed`), but one bad message never stops the listener.
    fn record_errors_fail_task(&self) -> bool {
        true
    }
}

/// Convenience for tasks: the stored offset of one source partition.
pub fn stored_offset(ctx: &SourceTaskContext, partition: &OffsetMap) -> Option<OffsetMap> {
    ctx.offsets.offset(partition)
}
