//! PostgreSQL change data capture over logical replication with the built-in `pgoutput` plugin,
//! Debezium-compatible: `io.debezium.connector.postgresql.PostgresConnector` configs run as they are,
//! events have Debezium's topics (`<topic.prefix>.<schema>.<table>`), keys, envelopes, `source` block
//! and semantic types, and offsets have Debezium's form (`lsn`, `txId`, `ts_usec`, `lsn_proc`,
//! `lsn_commit`), so an existing Debezium deployment's offsets can be taken over.
//!
//! What it guarantees:
//! - The initial snapshot reads the tables in the snapshot the slot exported when it was created, so
//!   streaming continues from the slot's consistent point with no gap and no duplicate. A snapshot
//!   taken while the slot already exists (a first snapshot cut short, `snapshot.mode=always`) reads
//!   the tables as of then, and the stream skips exactly the transactions those rows hold
//!   ([`visibility`]), so a consumer never sees a row go back in time.
//! - The slot's confirmed position is raised only to the end of a transaction whose every record the
//!   broker acknowledged and whose offsets the runtime stored; a crash anywhere resumes from the slot
//!   and the stored offset without losing a committed change (a transaction cut by the crash is read
//!   again, its delivered changes skipped).
//! - The slot is never dropped unless `slot.drop.on.stop=true` (unsafe: documented as such).
//! - Heartbeats (`heartbeat.interval.ms`) carry the server's position while the captured tables are
//!   quiet, and `heartbeat.action.query` writes to the captured database, so the slot never holds WAL
//!   without bound.
//!
//! The parts: [`config`] (keys), [`catalog`] (the ordinary connection: types, tables, publication,
//! slot), [`columns`] (the type table), [`pgoutput`] (message decoding), [`events`] (records),
//! [`offsets`] (positions), [`snapshot`] with [`visibility`], [`streaming`], [`reader`] (what runs
//! them) and [`task`].
//!
//! Not supported: TLS to the database (`database.sslmode` require/verify-* are refused), plugins other
//! than `pgoutput`, incremental snapshots.

pub mod catalog;
pub mod columns;
pub mod config;
pub mod events;
pub mod offsets;
pub mod pgoutput;
pub mod reader;
pub mod snapshot;
pub mod streaming;
pub mod task;
pub mod visibility;

use connect_core::config::{ConfigDef, Props};
use connect_core::error::ConfigError;
use connect_core::source::{SourceConnector, SourceTask};

pub use config::PostgresConfig;
pub use task::PostgresSourceTask;

/// The connector: one task (a slot is one ordered stream).
pub struct PostgresConnector;

impl SourceConnector for PostgresConnector {
    fn config_def(&self) -> ConfigDef {
        PostgresConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        let c = PostgresConfig::parse(props)?;
        for (old, new) in &c.legacy_keys {
            tracing::warn!(old, new, "legacy Debezium 1.x key in use; rename it");
        }
        if !c.unknown_keys.is_empty() {
            tracing::warn!(keys = ?c.unknown_keys, "the configuration has keys this connector does not know; they are ignored");
        }
        Ok(())
    }
    fn task_configs(&self, props: &Props, _max_tasks: usize) -> Result<Vec<Props>, ConfigError> {
        Ok(vec![props.clone()])
    }
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(PostgresSourceTask::new())
    }
}
