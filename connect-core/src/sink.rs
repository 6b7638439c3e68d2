//! The sink task contract, as Kafka Connect's `SinkTask` and `SinkConnector`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigDef, Props};
use crate::error::{ConfigError, ConnectError};
use crate::record::SinkRecord;
use crate::runtime::ErrantRecordReporter;

/// A Kafka topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// Offsets per partition: the offset of the next record to read (last processed + 1), as Kafka commits.
pub type PartitionOffsets = BTreeMap<TopicPartition, i64>;

/// What the runtime gives a sink task when it starts.
#[derive(Clone)]
pub struct SinkTaskContext {
    /// The task's config.
    pub config: Props,
    /// Sends one record that the task cannot write to the dead letter queue (when the connector has
    /// `errors.tolerance=all`; otherwise reporting fails the task), without failing the task.
    pub errant_record_reporter: Option<Arc<ErrantRecordReporter>>,
}

/// A task that writes records from Kafka to an external system.
///
/// The runtime calls one method at a time, in the order Kafka Connect's `WorkerSinkTask` promises:
///
/// 1. [`start`](SinkTask::start), once;
/// 2. [`open`](SinkTask::open) with partitions assigned to the task, before any
///    [`put`](SinkTask::put) of their records, at start and after every rebalance;
/// 3. [`put`](SinkTask::put) with batches of records of open partitions only;
/// 4. [`pre_commit`](SinkTask::pre_commit) every `offset.flush.interval.ms`, and before partitions go;
/// 5. on revocation: [`pre_commit`](SinkTask::pre_commit), a synchronous commit of what it returned,
///    then [`close`](SinkTask::close) with the revoked partitions; no `put` carries their records after
///    it (records read but not yet put are dropped, and their next owner reads them again);
/// 6. on stop: [`pre_commit`](SinkTask::pre_commit), a synchronous commit, [`close`](SinkTask::close)
///    with every open partition, then [`stop`](SinkTask::stop), and nothing after it.
///
/// After a failure the task is closed and stopped without a commit: only what was committed before the
/// failure stands. A task dropped without any of this (a crash) loses nothing either: its partitions'
/// next owner starts at the last commit.
///
/// The runtime commits only the offsets `pre_commit` returns, always for the record's original topic,
/// partition and offset, even when a transform renamed the topic. So a task that buffers writes returns
/// from `pre_commit` only what it has made durable, and nothing is lost when it fails in mid-batch.
#[async_trait]
pub trait SinkTask: Send {
    /// Starts the task.
    async fn start(&mut self, context: SinkTaskContext) -> Result<(), ConnectError>;

    /// Partitions were assigned to this task; records of them may follow. Called before the first
    /// `put` of any of their records.
    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        let _ = partitions;
        Ok(())
    }

    /// Writes (or buffers) records. A [`ConnectError::Retriable`] makes the runtime wait and deliver the
    /// same batch again; any other error fails the task and nothing of the batch is committed. One bad
    /// record is better sent to the errant record reporter.
    ///
    /// The batch is borrowed: most sinks serialize records straight into a request, and the runtime
    /// keeps the batch to redeliver it after a retriable error without copying it first.
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError>;

    /// Makes buffered writes durable. `offsets` are the offsets of everything put so far.
    async fn flush(&mut self, offsets: &PartitionOffsets) -> Result<(), ConnectError> {
        let _ = offsets;
        Ok(())
    }

    /// Returns the offsets that are safe to commit. The default flushes and returns `offsets` whole.
    async fn pre_commit(
        &mut self,
        offsets: &PartitionOffsets,
    ) -> Result<PartitionOffsets, ConnectError> {
        self.flush(offsets).await?;
        Ok(offsets.clone())
    }

    /// Partitions were revoked (or the task stops): what `pre_commit` returned for them was committed
    /// just before. Drop their buffered state; no record of them follows unless they are opened again.
    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        let _ = partitions;
        Ok(())
    }

    /// Stops the task; no call follows.
    async fn stop(&mut self) -> Result<(), ConnectError>;
}

/// A sink connector: validates the connector config and splits the work into task configs.
pub trait SinkConnector: Send + Sync {
    /// The connector's own keys.
    fn config_def(&self) -> ConfigDef;
    /// Checks the config.
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        self.config_def().parse(props).map(|_| ())
    }
    /// Up to `max_tasks` task configs. The default gives `max_tasks` copies of the connector config:
    /// sink tasks share the connector's consumer group, so Kafka spreads the partitions over them.
    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>, ConfigError> {
        Ok(vec![props.clone(); max_tasks.max(1)])
    }
    /// A new, unstarted task.
    fn create_task(&self) -> Box<dyn SinkTask>;
}
