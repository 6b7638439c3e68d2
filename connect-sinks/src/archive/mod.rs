//! Archive sink with Confluent's `S3SinkConnector` keys (the seed's "cloud storage archival"), on the
//! `object_store` crate: an S3 bucket (AWS or an S3-compatible endpoint in `store.url`), a Google
//! Cloud Storage bucket or an Azure Blob Storage container (Confluent's GCS and Azure sink keys), or
//! a local directory (`store.url=file:///dir`).
//!
//! * [`config`]: the keys and object names (`<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>`);
//! * [`partitioner`]: Default, Field, TimeBased (Daily, Hourly) partitioners;
//! * [`format`]: JSON lines and raw bytes, optionally gzip; [`parquet`]: Parquet files of struct rows;
//! * [`task`]: files per partition, written when due; offsets committed only past written objects.

pub mod config;
pub mod format;
pub mod parquet;
pub mod partitioner;
pub mod task;
/// The `timezone` setting (shared with the database sink's `db.timezone`).
pub use crate::zone;

pub use config::{ArchiveSinkConfig, ArchiveSinkConnector};
pub use task::ArchiveSinkTask;
