//! The runtime: runs source and sink tasks in-process against Kafka with at-least-once delivery.
//!
//! * [`Worker`] holds the Kafka connection (a real cluster or the embedded one), the offset store and
//!   the plugin registry, and starts connectors from their configs.
//! * Source tasks: poll -> transforms -> converters -> idempotent producer (`acks=all`) ->
//!   `commit_record` after delivery; a source offset is stored only when every earlier record of its
//!   source partition was acknowledged; offsets are flushed every `offset.flush.interval.ms` and at
//!   shutdown.
//! * Sink tasks: one consumer group `connect-<name>` per connector; converters -> transforms -> `put`;
//!   only offsets that `pre_commit` returns are committed, for the original coordinates.
//! * Errors follow the connector's `errors.*` keys: retries with backoff, tolerance, dead letter queue.

pub mod admin;
pub mod dlq;
pub mod kafka;
pub mod offsets;
pub mod retry;
mod sink_runner;
mod source_delivery;
mod source_runner;
pub mod status;
mod worker;

pub use dlq::{ErrantRecordReporter, RawRecord, Stage};
pub use kafka::{EmbeddedCluster, KafkaSettings};
pub use status::{MetricsSnapshot, TaskProgress, TaskState, TaskStatus};
pub use worker::{worker_def, ConnectorHandle, Worker};

/// What the host asks of a connector's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    Run,
    Pause,
    Stop,
}
