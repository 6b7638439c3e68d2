use std::path::PathBuf;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::sink::{SinkConnector, SinkTask};

use super::FileStreamSinkTask;

/// The file sink's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSinkConfig {
    /// `file`: the file to append to (created if absent).
    pub file: PathBuf,
}

impl FileSinkConfig {
    /// The accepted keys.
    pub fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "file",
                ConfigType::String,
                None,
                Importance::High,
                "Destination file path.",
            )
            .with_validator("file", Validator::non_empty())
    }
    /// Parses the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        Ok(FileSinkConfig {
            file: PathBuf::from(c.string("file").unwrap_or_default()),
        })
    }
}

/// The connector.
#[derive(Debug, Default, Clone)]
pub struct FileStreamSinkConnector;

impl SinkConnector for FileStreamSinkConnector {
    fn config_def(&self) -> ConfigDef {
        FileSinkConfig::def()
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(FileStreamSinkTask::default())
    }
}
