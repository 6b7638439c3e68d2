//! `TimestampRouter`: rewrites the topic from `topic.format` (default `${topic}-${timestamp}`), with the
//! record timestamp formatted by `timestamp.format` (Java `SimpleDateFormat`, UTC; default `yyyyMMdd`).

use connect_core::config::{ConfigDef, ConfigType, Importance, Props};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::java_date::JavaDateFormat;

/// See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct TimestampRouter {
    topic_format: String,
    format: Option<JavaDateFormat>,
}

impl<R: Record> Transformation<R> for TimestampRouter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "topic.format",
                ConfigType::String,
                Some("${topic}-${timestamp}"),
                Importance::High,
                "Topic name pattern.",
            )
            .define(
                "timestamp.format",
                ConfigType::String,
                Some("yyyyMMdd"),
                Importance::High,
                "SimpleDateFormat pattern of ${timestamp}.",
            )
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.topic_format = c.string("topic.format").unwrap_or_default().to_owned();
        self.format = Some(
            JavaDateFormat::parse(c.string("timestamp.format").unwrap_or_default())
                .map_err(|e| ConfigError::new("timestamp.format", e))?,
        );
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let ts = record.base().timestamp.ok_or_else(|| {
            ConnectError::Data(DataError::new(
                "TimestampRouter: the record has no timestamp",
            ))
        })?;
        let stamp = self
            .format
            .as_ref()
            .map(|f| f.format(ts))
            .unwrap_or_default();
        let topic = self
            .topic_format
            .replace("${topic}", &record.base().topic)
            .replace("${timestamp}", &stamp);
        record.base_mut().topic = topic;
        Ok(Some(record))
    }
}
