//! An MLLP sink: sends each record's HL7 v2 message to a downstream receiver and waits for the ACK
//! whose MSA-2 matches the message's MSH-10 (stale or foreign ACKs are skipped, never taken for it).
//!
//! * AA/CA: written. AE/AR (and CE/CR): the record is errant; it goes to the DLQ under
//!   `errors.tolerance=all`, and otherwise fails the task.
//! * No ACK within `mllp.ack.timeout.ms`, a refused or broken connection: the batch is retried (the
//!   runtime redelivers it with backoff) on a new connection. Records of the batch already
//!   acknowledged are not sent again.

mod task;
mod tls;

use std::time::Duration;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::sink::{SinkConnector, SinkTask};

pub use task::MllpSinkTask;
pub use tls::TlsClientSettings;

/// The MLLP sink's settings.
#[derive(Debug, Clone)]
pub struct MllpSinkConfig {
    /// `mllp.address`: the receiver, `host:port`.
    pub address: String,
    /// `mllp.connect.timeout.ms`.
    pub connect_timeout: Duration,
    /// `mllp.ack.timeout.ms`.
    pub ack_timeout: Duration,
    /// `mllp.tls.*`: TLS to the receiver, when a CA is configured.
    pub tls: Option<TlsClientSettings>,
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
            .define_optional(
                "mllp.tls.ca.path",
                ConfigType::String,
                Importance::High,
                "PEM CA certificates the receiver's certificate must chain to; setting it turns TLS on.",
            )
            .define_optional(
                "mllp.tls.server.name",
                ConfigType::String,
                Importance::Medium,
                "Name the receiver's certificate must carry (default: the host of mllp.address).",
            )
            .define_optional(
                "mllp.tls.cert.path",
                ConfigType::String,
                Importance::Medium,
                "PEM client certificate, for receivers that require mutual TLS.",
            )
            .define_optional(
                "mllp.tls.key.path",
                ConfigType::String,
                Importance::Medium,
                "PEM private key of the client certificate.",
            )
    }
    /// Parses the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        let address = c.string("mllp.address").unwrap_or_default().to_owned();
        let get = |k: &str| {
            c.string(k)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let client_cert = match (get("mllp.tls.cert.path"), get("mllp.tls.key.path")) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "mllp.tls.key.path",
                    "required with mllp.tls.cert.path",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "mllp.tls.cert.path",
                    "required with mllp.tls.key.path",
                ))
            }
        };
        let tls = match get("mllp.tls.ca.path") {
            Some(ca_path) => Some(TlsClientSettings {
                ca_path,
                server_name: get("mllp.tls.server.name").unwrap_or_else(|| {
                    let host = address
                        .rsplit_once(':')
                        .map_or(address.as_str(), |(h, _)| h);
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned()
                }),
                client_cert,
            }),
            None if client_cert.is_some() => {
                return Err(ConfigError::new(
                    "mllp.tls.ca.path",
                    "required for TLS (a client certificate was given)",
                ))
            }
            None => None,
        };
        Ok(MllpSinkConfig {
            address,
            connect_timeout: c.millis("mllp.connect.timeout.ms"),
            ack_timeout: c.millis("mllp.ack.timeout.ms"),
            tls,
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
