//! Typed errors shared by every crate of connect-rs.
//!
//! Kafka Connect distinguishes three kinds of failure, and so do we:
//! * [`DataError`]: one record's data is wrong (a converter met malformed bytes, an SMT met a value of the
//!   wrong type). The runtime routes the record by the connector's error policy
//!   (`errors.tolerance`, dead letter queue).
//! * [`ConnectError::Retriable`]: a transient failure (a connection reset, a timeout). The runtime retries
//!   the same operation or redelivers the same batch.
//! * Every other [`ConnectError`]: the task cannot go on and is marked `FAILED` with that error.
//!
//! Error messages name what was wrong (a config key, a field, a type) but never carry record payloads:
//! payloads may hold patient data and error messages reach logs.

use std::fmt;

/// A record's data did not fit what was expected of it.
///
/// The message names the field, type or position that was wrong, never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

impl DataError {
    /// Builds a data error from anything displayable.
    pub fn new(msg: impl fmt::Display) -> Self {
        DataError(msg.to_string())
    }
}

/// A configuration problem: one entry per bad or missing key, so a user sees every problem at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every problem found, each naming its key.
    pub problems: Vec<ConfigProblem>,
}

/// One bad or missing configuration key and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The full key as the user wrote it, e.g. `transforms.mask.fields`.
    pub key: String,
    /// Why the value was rejected. Never contains the value of a password-type key.
    pub reason: String,
}

impl ConfigError {
    /// A config error about one key.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![ConfigProblem {
                key: key.into(),
                reason: reason.into(),
            }],
        }
    }

    /// Merges the problems of `other` into `self`.
    pub fn extend(&mut self, other: ConfigError) {
        self.problems.extend(other.problems);
    }

    /// Prefixes every key, e.g. with `transforms.mask.` when a transform's own config failed.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        for p in &mut self.problems {
            p.key = format!("{prefix}{}", p.key);
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid configuration: {}: {}", one.key, one.reason),
            many => {
                write!(f, "invalid configuration ({} problems):", many.len())?;
                for p in many {
                    write!(f, "\n  {}: {}", p.key, p.reason)?;
                }
                Ok(())
            }
        }
    }
}

/// The error type of tasks, transforms, converters and the runtime.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Bad data in one record; routed by the error policy.
    #[error("data error: {0}")]
    Data(#[from] DataError),
    /// Bad configuration; the connector does not start.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A transient failure; the operation is retried (for a sink's `put`, the same batch is redelivered).
    #[error("retriable: {0}")]
    Retriable(String),
    /// A Kafka client error.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `reading /var/spool/claims.csv`.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A plugin name that the registry does not know.
    #[error("unknown {kind} '{name}'; known: {known}")]
    UnknownPlugin {
        /// `connector`, `transformation`, `predicate` or `converter`.
        kind: &'static str,
        /// The name as configured.
        name: String,
        /// Comma-separated list of the registered names.
        known: String,
    },
    /// The task or runtime was asked to stop while the operation was under way.
    #[error("stopped")]
    Stopped,
    /// Any other unrecoverable failure of a task.
    #[error("{0}")]
    Other(String),
}

impl ConnectError {
    /// Builds an unrecoverable error from anything displayable.
    pub fn other(msg: impl fmt::Display) -> Self {
        ConnectError::Other(msg.to_string())
    }

    /// Builds a retriable error from anything displayable.
    pub fn retriable(msg: impl fmt::Display) -> Self {
        ConnectError::Retriable(msg.to_string())
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ConnectError::Io {
            context: context.into(),
            source,
        }
    }

    /// True for errors the runtime retries: [`ConnectError::Retriable`] and transient Kafka errors.
    pub fn is_retriable(&self) -> bool {
        match self {
            ConnectError::Retriable(_) => true,
            ConnectError::Kafka(e) => e
                .rdkafka_error_code()
                .map(is_retriable_kafka_code)
                .unwrap_or(false),
            _ => false,
        }
    }
}

fn is_retriable_kafka_code(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        code,
        C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::RequestTimedOut
            | C::NetworkException
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::QueueFull
            | C::MessageTimedOut
            | C::OperationTimedOut
            | C::CoordinatorLoadInProgress
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::UnknownTopicOrPartition
    )
}

/// Shorthand for results of this crate.
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;
