//! A line-oriented file sink, in the spirit of Kafka's `FileStreamSinkConnector`: each record's value
//! is appended to a file as one line (strings as they are, other values as compact JSON, tombstones
//! skipped). Writes are buffered; `flush` (called before every offset commit) writes and fsyncs them, so
//! a committed offset always means the lines are on disk.

mod config;
mod task;

pub use config::{FileSinkConfig, FileStreamSinkConnector};
pub use task::FileStreamSinkTask;

#[cfg(test)]
mod tests;
