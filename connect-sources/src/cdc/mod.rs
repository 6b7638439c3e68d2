//! The Debezium-compatible change data capture foundation, independent of the database: event
//! envelopes and semantic types, capture filters and source masking, schema history, heartbeats, and
//! the keys and legacy key names every CDC connector shares. The MySQL/MariaDB connector
//! ([`crate::mysql`]) is built on it.
//!
//! The concepts are kept apart as Debezium keeps them: what an event looks like ([`envelope`],
//! [`types`]), what is captured ([`filters`]), what a table is ([`table`]), how the definitions of the
//! past are kept ([`history`]), how quiet periods still move offsets ([`heartbeat`]), and where transactions begin and end
//! ([`transaction`]).

pub mod config;
pub mod envelope;
pub mod filters;
pub mod heartbeat;
pub mod history;
pub mod table;
pub mod transaction;
pub mod types;

use std::sync::Arc;

use connect_core::record::OffsetMap;

/// The source partition of a CDC connector, as Debezium keys it: `{"server": <topic.prefix>}`.
pub fn server_partition(topic_prefix: &str) -> Arc<OffsetMap> {
    Arc::new(OffsetMap::from_iter([(
        "server".to_owned(),
        serde_json::Value::String(topic_prefix.to_owned()),
    )]))
}

/// `snapshot.mode`: when the connector reads the captured tables' rows before streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// `initial` (default): snapshot when there is no stored offset, then stream.
    Initial,
    /// `initial_only`: snapshot when there is no stored offset, then stop producing.
    InitialOnly,
    /// `no_data` (formerly `schema_only`): record the schemas, stream from the current position.
    NoData,
    /// `when_needed`: snapshot when there is no offset or the stored position is gone from the log.
    WhenNeeded,
    /// `always`: snapshot at every start.
    Always,
    /// `recovery` (formerly `schema_only_recovery`): rebuild a lost schema history from the current
    /// schemas, then stream from the stored offset.
    Recovery,
    /// `never`: stream from the log's start with no snapshot (requires the full log).
    Never,
}

impl SnapshotMode {
    /// Parses the config value, old names included.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "initial" => Some(Self::Initial),
            "initial_only" => Some(Self::InitialOnly),
            "no_data" | "schema_only" => Some(Self::NoData),
            "when_needed" => Some(Self::WhenNeeded),
            "always" => Some(Self::Always),
            "recovery" | "schema_only_recovery" => Some(Self::Recovery),
            "never" => Some(Self::Never),
            _ => None,
        }
    }

    /// The values `validate` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "initial",
        "initial_only",
        "no_data",
        "schema_only",
        "when_needed",
        "always",
        "recovery",
        "schema_only_recovery",
        "never",
    ];

    /// Whether table rows are read by the snapshot (as opposed to schemas only).
    pub fn reads_data(self) -> bool {
        matches!(
            self,
            Self::Initial | Self::InitialOnly | Self::WhenNeeded | Self::Always
        )
    }
}

/// `event.processing.failure.handling.mode`: what happens to an event that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureHandling {
    /// `fail` (default): the task fails, naming the log position.
    Fail,
    /// `warn`: the event is skipped and logged with its position.
    Warn,
    /// `skip` (`ignore`): skipped silently.
    Skip,
}

impl FailureHandling {
    /// Parses the config value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail" => Some(Self::Fail),
            "warn" => Some(Self::Warn),
            "skip" | "ignore" => Some(Self::Skip),
            _ => None,
        }
    }

    /// Applies the mode to something that cannot be decoded: `Err` fails the task, `Ok` means go
    /// on without it (logged under `warn`). `failure` names the position and the reason, never a
    /// value; `skipped` says what is left out ("row skipped").
    pub fn apply(
        self,
        failure: String,
        skipped: &str,
    ) -> Result<(), connect_core::error::ConnectError> {
        match self {
            Self::Fail => Err(connect_core::error::ConnectError::other(format!(
                "{failure} (event.processing.failure.handling.mode=fail)"
            ))),
            Self::Warn => {
                tracing::warn!("{failure}; {skipped}");
                Ok(())
            }
            Self::Skip => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FailureHandling;

    #[test]
    fn failure_modes_fail_naming_the_key_or_go_on() {
        let e = FailureHandling::Fail
            .apply(
                "binlog f position 4, row 2: not UTF-8".into(),
                "row skipped",
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 2: not UTF-8")
                && e.contains("event.processing.failure.handling.mode=fail"),
            "{e}"
        );
        for mode in [FailureHandling::Warn, FailureHandling::Skip] {
            assert!(mode.apply("x".into(), "row skipped").is_ok());
        }
    }
}
