//! Kafka Connect's predicates: `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`; and
//! `ValueFieldMatches`, which tests a field of the value (a critical result's interpretation code).

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Value, ValuePath};
use connect_core::error::ConfigError;
use connect_core::record::Record;
use connect_core::transform::Predicate;
use regex::Regex;

/// `pattern` compiled to match a whole text, as Java's `Pattern.matches`; an invalid one is a config
/// error on `pattern`.
fn whole_match(pattern: &str) -> Result<Regex, ConfigError> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| ConfigError::new("pattern", format!("invalid regex: {e}")))
}

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
        self.pattern = Some(whole_match(c.string("pattern").unwrap_or_default())?);
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

/// True when the value's field at `field` (a path such as `interpretation[0].coding[0].code`) is a
/// string, number or boolean whose text matches `pattern` as a whole. A missing field never
/// matches. Not one of Kafka's: routes and filters on content, e.g. only critical results
/// (`HH`/`LL`) to a notification sink.
#[derive(Debug, Default, Clone)]
pub struct ValueFieldMatches {
    field: Option<ValuePath>,
    pattern: Option<Regex>,
}

impl<R: Record> Predicate<R> for ValueFieldMatches {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "field",
                ConfigType::String,
                None,
                Importance::High,
                "Path of the field in the value: names separated by dots, array elements as [n].",
            )
            .with_validator("field", Validator::non_empty())
            .define(
                "pattern",
                ConfigType::String,
                None,
                Importance::High,
                "Regex the field's whole text must match.",
            )
            .with_validator("pattern", Validator::non_empty())
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Predicate::<R>::config_def(self).parse(props)?;
        self.field = Some(
            ValuePath::parse(c.string("field").unwrap_or_default())
                .map_err(|e| ConfigError::new("field", e))?,
        );
        self.pattern = Some(whole_match(c.string("pattern").unwrap_or_default())?);
        Ok(())
    }
    fn test(&self, record: &R) -> bool {
        let (Some(path), Some(re)) = (&self.field, &self.pattern) else {
            return false;
        };
        match path.get(&record.base().value) {
            Some(Value::String(s)) => re.is_match(s),
            Some(Value::Boolean(b)) => re.is_match(if *b { "true" } else { "false" }),
            Some(v) => v.as_i64().is_some_and(|n| re.is_match(&n.to_string())),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::data::Map;
    use connect_core::record::{ConnectRecord, SourceRecord};

    fn obs(code: Option<&str>) -> SourceRecord {
        let mut m = Map::new();
        m.insert("resourceType", "Observation");
        if let Some(c) = code {
            let mut coding = Map::new();
            coding.insert("code", c);
            let mut i = Map::new();
            i.insert("coding", Value::Array(vec![Value::Map(coding)]));
            m.insert("interpretation", Value::Array(vec![Value::Map(i)]));
        }
        SourceRecord::new(
            Default::default(),
            Default::default(),
            ConnectRecord::new("obs", Value::Null, Value::Map(m)),
        )
    }

    #[test]
    fn value_field_matches_tests_a_path_of_the_value() {
        let mut p = ValueFieldMatches::default();
        Predicate::<SourceRecord>::configure(
            &mut p,
            &Props::new()
                .with("field", "interpretation[0].coding[0].code")
                .with("pattern", "HH|LL"),
        )
        .unwrap();
        assert!(p.test(&obs(Some("HH"))));
        assert!(p.test(&obs(Some("LL"))));
        assert!(!p.test(&obs(Some("H"))), "a whole match, not a prefix");
        assert!(!p.test(&obs(None)));
        let e = Predicate::<SourceRecord>::configure(
            &mut p,
            &Props::new().with("field", "a[").with("pattern", "x"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("field"), "{e}");
    }
}
