use std::path::PathBuf;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::source::{SourceConnector, SourceTask};

use super::FileStreamSourceTask;

/// The file source's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSourceConfig {
    /// `file`: the file to read.
    pub file: PathBuf,
    /// `topic`: where records go.
    pub topic: String,
    /// `batch.size`: most lines per poll.
    pub batch_size: usize,
    /// `poll.interval.ms`: how long a poll waits when the file has no new line.
    pub poll_interval_ms: u64,
}

impl FileSourceConfig {
    /// The accepted keys (Kafka's `file`, `topic`, `batch.size`, plus `poll.interval.ms`).
    pub fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "file",
                ConfigType::String,
                None,
                Importance::High,
                "Source file path.",
            )
            .with_validator("file", Validator::non_empty())
            .define(
                "topic",
                ConfigType::String,
                None,
                Importance::High,
                "Topic to publish lines to.",
            )
            .with_validator("topic", Validator::non_empty())
            .define(
                "batch.size",
                ConfigType::Int,
                Some("2000"),
                Importance::Low,
                "Maximum lines per poll.",
            )
            .with_validator("batch.size", Validator::range(1, 1_000_000))
            .define(
                "poll.interval.ms",
                ConfigType::Long,
                Some("100"),
                Importance::Low,
                "Wait when no new line is available.",
            )
            .with_validator("poll.interval.ms", Validator::range(1, 1000))
    }

    /// Parses the settings, reporting every problem at once.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        Ok(FileSourceConfig {
            file: PathBuf::from(c.string("file").unwrap_or_default()),
            topic: c.string("topic").unwrap_or_default().to_owned(),
            batch_size: c.int("batch.size") as usize,
            poll_interval_ms: c.long("poll.interval.ms") as u64,
        })
    }
}

/// The connector: one task per file.
#[derive(Debug, Default, Clone)]
pub struct FileStreamSourceConnector;

impl SourceConnector for FileStreamSourceConnector {
    fn config_def(&self) -> ConfigDef {
        FileSourceConfig::def()
    }
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(FileStreamSourceTask::default())
    }
}
