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
        // One pass over `topic.format`, into one string.
        let base = record.base();
        let mut topic = String::with_capacity(self.topic_format.len() + base.topic.len() + 16);
        let mut rest = self.topic_format.as_str();
        while let Some(at) = rest.find("${") {
            topic.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("${topic}") {
                topic.push_str(&base.topic);
                rest = after;
            } else if let Some(after) = tail.strip_prefix("${timestamp}") {
                if let Some(f) = &self.format {
                    f.format_into(ts, &mut topic);
                }
                rest = after;
            } else {
                topic.push_str("${");
                rest = &tail[2..];
            }
        }
        topic.push_str(rest);
        record.base_mut().topic = topic;
        Ok(Some(record))
    }
}
