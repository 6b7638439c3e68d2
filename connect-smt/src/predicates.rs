//! Kafka Connect's predicates: `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::Value;
use connect_core::error::ConfigError;
use connect_core::record::Record;
use connect_core::transform::Predicate;
use regex::Regex;

/// True when the topic matches `pattern` (a whole-name Java-style regex).
#[derive(Debug, Default, Clone)]
pub struct TopicNameMatches {
    pattern: Option<Regex>,
}

impl<R: Record> Predicate<R> for TopicNameMatches {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "pattern",
                ConfigType::String,
                None,
                Importance::Medium,
                "Regex the whole topic name must match.",
            )
            .with_validator("pattern", Validator::non_empty())
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Predicate::<R>::config_def(self).parse(props)?;
        let p = c.string("pattern").unwrap_or_default();
        self.pattern = Some(
            Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| ConfigError::new("pattern", format!("invalid regex: {e}")))?,
        );
        Ok(())
    }
    fn test(&self, record: &R) -> bool {
        self.pattern
            .as_ref()
            .is_some_and(|p| p.is_match(&record.base().topic))
    }
}

/// True when the record has at least one header named `name`.
#[derive(Debug, Default, Clone)]
pub struct HasHeaderKey {
    name: String,
}

impl<R: Record> Predicate<R> for HasHeaderKey {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "name",
                ConfigType::String,
                None,
                Importance::Medium,
                "Header name.",
            )
            .with_validator("name", Validator::non_empty())
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Predicate::<R>::config_def(self).parse(props)?;
        self.name = c.string("name").unwrap_or_default().to_owned();
        Ok(())
    }
    fn test(&self, record: &R) -> bool {
        record.base().headers.last_with_name(&self.name).is_some()
    }
}

/// True for tombstones (null value).
#[derive(Debug, Default, Clone)]
pub struct RecordIsTombstone;

impl<R: Record> Predicate<R> for RecordIsTombstone {
    fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn test(&self, record: &R) -> bool {
        matches!(record.base().value, Value::Null)
    }
}
