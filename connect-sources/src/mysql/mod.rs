//! MySQL and MariaDB change data capture, Debezium-compatible: `io.debezium.connector.mysql.MySqlConnector`
//! and `io.debezium.connector.mariadb.MariaDbConnector` configs run as they are, events have Debezium's
//! topics, keys, envelopes and semantic types, and offsets have Debezium's form, so an existing
//! Debezium deployment's offsets and schema history can be taken over.
//!
//! Tested against MariaDB 10.11 (Debian's package); MySQL's class names and keys are accepted and
//! handled by the same code (MySQL GTIDs and JSON binary values included), but no MySQL server is part
//! of the test suite.
//!
//! The parts, as Debezium separates them: [`config`] (keys, legacy names), [`snapshot`] (consistent
//! snapshot), [`streaming`] (the binlog; its rows events decoded by the private `binlog_rows`, the
//! layout read once per event), [`ddl`] (DDL applied to table definitions), [`columns`]
//! (the type table), [`events`] (records), [`offsets`] (positions), [`reader`] (what runs them) and
//! [`task`].

mod binlog_rows;
pub mod columns;
pub mod config;
pub mod ddl;
pub mod events;
pub mod offsets;
pub mod reader;
pub mod snapshot;
pub mod streaming;
pub mod task;

use connect_core::config::{ConfigDef, Props};
use connect_core::error::ConfigError;
use connect_core::source::{SourceConnector, SourceTask};

pub use config::{Flavor, MySqlConfig};
pub use task::MySqlSourceTask;

/// The connector: one task (the binlog is one ordered stream).
pub struct MySqlConnector {
    flavor: Flavor,
}

impl MySqlConnector {
    /// Debezium's `MySqlConnector`.
    pub fn mysql() -> Self {
        MySqlConnector {
            flavor: Flavor::MySql,
        }
    }
    /// Debezium's `MariaDbConnector`.
    pub fn mariadb() -> Self {
        MySqlConnector {
            flavor: Flavor::MariaDb,
        }
    }
}

impl SourceConnector for MySqlConnector {
    fn config_def(&self) -> ConfigDef {
        MySqlConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        let c = MySqlConfig::parse(props)?;
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
        Box::new(MySqlSourceTask::new(self.flavor))
    }
}
