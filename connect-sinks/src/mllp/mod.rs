//! An MLLP sink: sends each record's HL7 v2 message to a downstream receiver and waits for the ACK
//! whose MSA-2 matches the message's MSH-10 (stale or foreign ACKs are skipped, never taken for it).
//!
//! * AA/CA: written. AE/AR (and CE/CR): the record is errant; it goes to the DLQ under
//!   `errors.tolerance=all`, and otherwise fails the task.
//! * No ACK within `mllp.ack.timeout.ms`, a refused or broken connection: the batch is retried (the
//!   runtime redelivers it with backoff) on a new connection. Records of the batch already
//!   acknowledged are not sent again.

mod task;

use std::time::Duration;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::sink::{SinkConnector, SinkTask};

pub use task::MllpSinkTask;

/// The MLLP sink's settings.
#[derive(Debug, Clone)]
pub struct MllpSinkConfig {
    /// `mllp.address`: the receiver, `host:port`.
    pub address: String,
    /// `mllp.connect.timeout.ms`.
    pub connect_timeout: Duration,
    /// `mllp.ack.timeout.ms`.
    pub ack_timeout: Duration,
}

impl MllpSinkConfig {
    /// The accepted keys.
    pub fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "mllp.address",
                ConfigType::String,
                None,
                Importance::High,
                "Receiver host:port.",
            )
            .with_validator("mllp.address", Validator::non_empty())
            .define(
                "mllp.connect.timeout.ms",
                ConfigType::Long,
                Some("10000"),
                Importance::Low,
                "Connect timeout.",
            )
            .with_validator("mllp.connect.timeout.ms", Validator::at_least(1))
            .define(
                "mllp.ack.timeout.ms",
                ConfigType::Long,
                Some("30000"),
                Importance::Medium,
                "How long to wait for the ACK of a message.",
            )
            .with_validator("mllp.ack.timeout.ms", Validator::at_least(1))
    }
    /// Parses the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        Ok(MllpSinkConfig {
            address: c.string("mllp.address").unwrap_or_default().to_owned(),
            connect_timeout: c.millis("mllp.connect.timeout.ms"),
            ack_timeout: c.millis("mllp.ack.timeout.ms"),
        })
    }
}

/// The connector.
#[derive(Debug, Default, Clone)]
pub struct MllpSinkConnector;

impl SinkConnector for MllpSinkConnector {
    fn config_def(&self) -> ConfigDef {
        MllpSinkConfig::def()
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(MllpSinkTask::default())
    }
}
