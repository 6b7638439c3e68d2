//! A line-oriented file source, in the spirit of Kafka's `FileStreamSourceConnector`: each line of a
//! file becomes a record whose value is the line (string schema). The source partition is
//! `{"filename": PATH}` and the offset `{"position": BYTES}`, the byte position after the line, so a
//! restarted connector resumes right after the last durable line. Lines still being written (no line
//! end yet) wait until their end arrives; the file is followed as it grows.

mod config;
mod task;

pub use config::{FileSourceConfig, FileStreamSourceConnector};
pub use task::FileStreamSourceTask;

#[cfg(test)]
mod tests;
