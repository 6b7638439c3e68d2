//! Task state and counters, readable by the host while tasks run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A task's lifecycle state, as Kafka Connect reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Created, not yet started.
    Unassigned,
    /// Moving data.
    Running,
    /// Paused by the host; holds its position.
    Paused,
    /// Stopped by an error; see [`TaskStatus::error`].
    Failed,
    /// Stopped on request.
    Stopped,
}

impl TaskState {
    /// Kafka Connect's upper-case name (`RUNNING`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Unassigned => "UNASSIGNED",
            TaskState::Running => "RUNNING",
            TaskState::Paused => "PAUSED",
            TaskState::Failed => "FAILED",
            TaskState::Stopped => "STOPPED",
        }
    }
}

/// A task's state and, when failed, the error that stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// The connector's name.
    pub connector: String,
    /// The task's number within the connector.
    pub task_id: usize,
    /// The state.
    pub state: TaskState,
    /// For `FAILED`: the error (messages never carry record payloads or secrets).
    pub error: Option<String>,
    /// What the task last said of its progress through [`TaskProgress`] (a CDC snapshot's tables
    /// and rows, the log position it streams from), as Debezium's snapshot and streaming metrics.
    /// Never record values.
    pub progress: Option<String>,
}

/// A task's handle to the progress line of its status ([`TaskStatus::progress`]). Cheap to clone and
/// to update; outside a worker it is detached and only keeps the last text.
#[derive(Debug, Clone, Default)]
pub struct TaskProgress(std::sync::Arc<Mutex<Option<String>>>);

impl TaskProgress {
    /// Replaces the progress line. It must not carry record values (it is shown in statuses).
    pub fn set(&self, text: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(text.into());
    }

    /// The current progress line.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Counters of one task. Monotonic; read with [`TaskMetrics::snapshot`].
#[derive(Debug, Default)]
pub struct TaskMetrics {
    pub(crate) polled: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) filtered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dlq: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) offset_commits: AtomicU64,
}

/// A copy of a task's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Records polled from the source, or read from Kafka by a sink.
    pub records_polled: u64,
    /// Records acknowledged by Kafka (source) or put to the sink.
    pub records_written: u64,
    /// Records dropped by a transform or predicate.
    pub records_filtered: u64,
    /// Records that failed and were skipped or stopped the task.
    pub records_failed: u64,
    /// Records written to the dead letter queue.
    pub records_dlq: u64,
    /// Retried operations.
    pub retries: u64,
    /// Offset commits (sink: to the consumer group; source: to the offset store).
    pub offset_commits: u64,
}

impl TaskMetrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
    /// The current values.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            records_polled: self.polled.load(Ordering::Relaxed),
            records_written: self.written.load(Ordering::Relaxed),
            records_filtered: self.filtered.load(Ordering::Relaxed),
            records_failed: self.failed.load(Ordering::Relaxed),
            records_dlq: self.dlq.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            offset_commits: self.offset_commits.load(Ordering::Relaxed),
        }
    }
}

/// State shared between a running task and the host's handle.
#[derive(Debug)]
pub struct TaskShared {
    status: Mutex<TaskStatus>,
    /// The task's own progress line.
    pub progress: TaskProgress,
    /// The task's counters.
    pub metrics: TaskMetrics,
}

impl TaskShared {
    pub(crate) fn new(connector: &str, task_id: usize) -> Self {
        TaskShared {
            status: Mutex::new(TaskStatus {
                connector: connector.to_owned(),
                task_id,
                state: TaskState::Unassigned,
                error: None,
                progress: None,
            }),
            progress: TaskProgress::default(),
            metrics: TaskMetrics::default(),
        }
    }
    /// The current status.
    pub fn status(&self) -> TaskStatus {
        let mut s = self
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        s.progress = self.progress.get();
        s
    }
    pub(crate) fn set_state(&self, state: TaskState) {
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if s.state != TaskState::Failed && s.state != state {
            s.state = state;
            tracing::info!(connector = %s.connector, task = s.task_id, state = state.as_str(), "task state changed");
        }
    }
    pub(crate) fn fail(&self, error: String) {
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        tracing::error!(connector = %s.connector, task = s.task_id, state = "FAILED", error = %error, "task failed");
        s.state = TaskState::Failed;
        s.error = Some(error);
    }
}
