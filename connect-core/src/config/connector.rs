//! Connector configs in the shape users already have: `{"name": "...", "config": {...}}`, as posted to
//! Kafka Connect's REST API, and worker configs as Java properties (`connect-distributed.properties`).

use std::time::Duration;

use crate::config::{ConfigDef, ConfigType, Importance, ParsedConfig, Props, Validator};
use crate::error::ConfigError;

/// A connector's name and its flat string config.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorConfig {
    /// The connector's name (also its consumer group suffix and its key in the offsets topic).
    pub name: String,
    /// Every config entry as given (values are strings; JSON numbers and booleans are stringified).
    pub props: Props,
}

impl ConnectorConfig {
    /// A config from a name and props.
    pub fn new(name: impl Into<String>, props: Props) -> Self {
        ConnectorConfig {
            name: name.into(),
            props,
        }
    }

    /// Parses `{"name": ..., "config": {...}}`, or a flat config object that holds `name` itself (as in
    /// `PUT /connectors/NAME/config`).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::new("<connector json>", format!("not valid JSON: {e}")))?;
        Self::from_json_value(&v)
    }

    /// As [`ConnectorConfig::from_json`], from a parsed JSON value.
    pub fn from_json_value(v: &serde_json::Value) -> Result<Self, ConfigError> {
        let obj = v
            .as_object()
            .ok_or_else(|| ConfigError::new("<connector json>", "must be a JSON object"))?;
        let (config, outer_name) = match obj.get("config") {
            Some(serde_json::Value::Object(c)) => (c, obj.get("name").and_then(|n| n.as_str())),
            Some(_) => return Err(ConfigError::new("config", "must be a JSON object")),
            None => (obj, None),
        };
        let mut props = Props::new();
        let mut err: Option<ConfigError> = None;
        for (k, val) in config {
            let s = match val {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                _ => {
                    let e = ConfigError::new(k, "must be a string, number or boolean");
                    match &mut err {
                        Some(all) => all.extend(e),
                        None => err = Some(e),
                    }
                    continue;
                }
            };
            props.set(k, s);
        }
        if let Some(e) = err {
            return Err(e);
        }
        let name = outer_name
            .map(str::to_owned)
            .or_else(|| props.get("name").map(str::to_owned))
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ConfigError::new("name", "missing connector name"))?;
        props.set("name", name.clone());
        Ok(ConnectorConfig { name, props })
    }

    /// `connector.class`.
    pub fn connector_class(&self) -> Option<&str> {
        self.props.get("connector.class")
    }
}

/// `errors.tolerance`: what happens to a record that fails conversion or transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorTolerance {
    /// The first failed record fails the task (the default).
    None,
    /// Failed records are skipped (logged and sent to the DLQ when configured); the task goes on.
    All,
}

/// The error-handling keys of a connector config, with Kafka Connect's names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorPolicy {
    /// `errors.retry.timeout` (ms): how long a failing operation is retried; 0 = never, -1 = forever.
    pub retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms`: the cap of the exponential backoff between retries.
    pub retry_delay_max: Duration,
    /// `errors.tolerance`.
    pub tolerance: ErrorTolerance,
    /// `errors.log.enable`: log each failed operation.
    pub log_enable: bool,
    /// `errors.log.include.messages`: include the record's topic/partition/offset and payload in the
    /// log. Off by default: payloads may hold PHI.
    pub log_include_messages: bool,
    /// `errors.deadletterqueue.topic.name` (empty = no DLQ).
    pub dlq_topic: Option<String>,
    /// `errors.deadletterqueue.topic.replication.factor`.
    pub dlq_replication_factor: i16,
    /// `errors.deadletterqueue.context.headers.enable`.
    pub dlq_context_headers: bool,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy {
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_millis(60_000),
            tolerance: ErrorTolerance::None,
            log_enable: false,
            log_include_messages: false,
            dlq_topic: None,
            dlq_replication_factor: 3,
            dlq_context_headers: false,
        }
    }
}

/// Kafka Connect's rule for connector names (`NonEmptyStringWithoutControlChars`): the name ends up
/// in consumer group ids, offsets keys, thread names and logs.
fn connector_name_validator() -> Validator {
    Validator::new(|v| match v {
        crate::config::ConfigValue::String(s) if s.trim().is_empty() => {
            Err("must not be empty".into())
        }
        crate::config::ConfigValue::String(s) if s.chars().any(char::is_control) => {
            Err("must not contain control characters".into())
        }
        _ => Ok(()),
    })
}

/// Checks a connector name as Kafka Connect does (non-empty, no control characters).
pub fn check_connector_name(name: &str) -> Result<(), ConfigError> {
    if name.trim().is_empty() {
        return Err(ConfigError::new("name", "must not be empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(ConfigError::new(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// The keys every connector accepts (Kafka's `ConnectorConfig`, `SinkConnectorConfig` and
/// `SourceConnectorConfig` common keys).
pub fn common_connector_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            "name",
            ConfigType::String,
            None,
            Importance::High,
            "Globally unique name of the connector.",
        )
        .with_validator("name", connector_name_validator())
        .define(
            "connector.class",
            ConfigType::Class,
            None,
            Importance::High,
            "The connector plugin: a Java class name or a Rust alias.",
        )
        .define(
            "tasks.max",
            ConfigType::Int,
            Some("1"),
            Importance::High,
            "Maximum number of tasks.",
        )
        .with_validator("tasks.max", Validator::at_least(1))
        .define_optional(
            "key.converter",
            ConfigType::Class,
            Importance::Low,
            "Converter for keys; overrides the worker's.",
        )
        .define_optional(
            "value.converter",
            ConfigType::Class,
            Importance::Low,
            "Converter for values; overrides the worker's.",
        )
        .define_optional(
            "header.converter",
            ConfigType::Class,
            Importance::Low,
            "Converter for headers; overrides the worker's.",
        )
        .define(
            "transforms",
            ConfigType::List,
            Some(""),
            Importance::Low,
            "Aliases of the transformations, applied in order.",
        )
        .define(
            "predicates",
            ConfigType::List,
            Some(""),
            Importance::Low,
            "Aliases of the predicates used by transformations.",
        )
        .define(
            "errors.retry.timeout",
            ConfigType::Long,
            Some("0"),
            Importance::Medium,
            "Milliseconds to retry a failed operation; -1 retries forever.",
        )
        .with_validator("errors.retry.timeout", Validator::at_least(-1))
        .define(
            "errors.retry.delay.max.ms",
            ConfigType::Long,
            Some("60000"),
            Importance::Medium,
            "Maximum delay between retries.",
        )
        .with_validator("errors.retry.delay.max.ms", Validator::at_least(1))
        .define(
            "errors.tolerance",
            ConfigType::String,
            Some("none"),
            Importance::Medium,
            "none: fail the task on an error; all: skip failed records.",
        )
        .with_validator("errors.tolerance", Validator::one_of(&["none", "all"]))
        .define(
            "errors.log.enable",
            ConfigType::Boolean,
            Some("false"),
            Importance::Medium,
            "Log each error.",
        )
        .define(
            "errors.log.include.messages",
            ConfigType::Boolean,
            Some("false"),
            Importance::Medium,
            "Include record coordinates and payloads in error logs (may hold PHI).",
        )
        .define(
            "errors.deadletterqueue.topic.name",
            ConfigType::String,
            Some(""),
            Importance::Medium,
            "Topic that receives failed records.",
        )
        .define(
            "errors.deadletterqueue.topic.replication.factor",
            ConfigType::Int,
            Some("3"),
            Importance::Low,
            "Replication factor of the DLQ topic when created.",
        )
        .define(
            "errors.deadletterqueue.context.headers.enable",
            ConfigType::Boolean,
            Some("false"),
            Importance::Medium,
            "Add __connect.errors.* headers to DLQ records.",
        )
}

impl ErrorPolicy {
    /// Reads the `errors.*` keys from a parsed config that includes [`common_connector_def`].
    pub fn from_parsed(c: &ParsedConfig) -> Self {
        let timeout = c.long("errors.retry.timeout");
        ErrorPolicy {
            retry_timeout: if timeout < 0 {
                None
            } else {
                Some(Duration::from_millis(timeout as u64))
            },
            retry_delay_max: c.millis("errors.retry.delay.max.ms"),
            tolerance: if c
                .string("errors.tolerance")
                .is_some_and(|s| s.eq_ignore_ascii_case("all"))
            {
                ErrorTolerance::All
            } else {
                ErrorTolerance::None
            },
            log_enable: c.boolean("errors.log.enable"),
            log_include_messages: c.boolean("errors.log.include.messages"),
            dlq_topic: c
                .string("errors.deadletterqueue.topic.name")
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned),
            dlq_replication_factor: c
                .int("errors.deadletterqueue.topic.replication.factor")
                .clamp(-1, i16::MAX as i32) as i16,
            dlq_context_headers: c.boolean("errors.deadletterqueue.context.headers.enable"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_and_flat_shapes() {
        let c = ConnectorConfig::from_json(
            r#"{"name":"a","config":{"connector.class":"X","tasks.max":3,"flag":true}}"#,
        )
        .unwrap();
        assert_eq!(c.name, "a");
        assert_eq!(c.props.get("tasks.max"), Some("3"));
        assert_eq!(c.props.get("flag"), Some("true"));
        assert_eq!(c.props.get("name"), Some("a"));
        let flat = ConnectorConfig::from_json(r#"{"name":"b","connector.class":"X"}"#).unwrap();
        assert_eq!(flat.name, "b");
        let e = ConnectorConfig::from_json(r#"{"config":{"x":[1]}}"#).unwrap_err();
        assert_eq!(e.problems[0].key, "x");
        assert!(ConnectorConfig::from_json("{").is_err());
    }

    #[test]
    fn error_policy_defaults_and_overrides() {
        let p = Props::new().with("name", "n").with("connector.class", "c");
        let d = ErrorPolicy::from_parsed(&common_connector_def().parse(&p).unwrap());
        assert_eq!(d, ErrorPolicy::default());
        let p = p
            .with("errors.retry.timeout", "-1")
            .with("errors.tolerance", "all")
            .with("errors.deadletterqueue.topic.name", "dlq")
            .with("errors.deadletterqueue.context.headers.enable", "true");
        let e = ErrorPolicy::from_parsed(&common_connector_def().parse(&p).unwrap());
        assert_eq!(e.retry_timeout, None);
        assert_eq!(e.tolerance, ErrorTolerance::All);
        assert_eq!(e.dlq_topic.as_deref(), Some("dlq"));
        assert!(e.dlq_context_headers);
    }
}
