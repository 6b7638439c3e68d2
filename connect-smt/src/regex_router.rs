//! `RegexRouter`: renames the topic when it matches `regex` as a whole, using `replacement` with
//! Java-style group references (`$1`), as Kafka Connect does.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::{ConfigError, ConnectError};
use connect_core::record::Record;
use connect_core::transform::Transformation;
use regex::Regex;

/// See the [module docs](self).
#[derive(Debug, Default, Clone)]
pub struct RegexRouter {
    regex: Option<Regex>,
    replacement: String,
}

/// Translates a Java `Matcher.replaceFirst` replacement (`$1`, `\$`) to the `regex` crate's syntax
/// (`${1}`, `$$`).
pub fn java_replacement(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 4);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    out
}

impl<R: Record> Transformation<R> for RegexRouter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "regex",
                ConfigType::String,
                None,
                Importance::High,
                "Regular expression the whole topic must match.",
            )
            .with_validator("regex", Validator::non_empty())
            .define(
                "replacement",
                ConfigType::String,
                None,
                Importance::High,
                "Replacement, with $1-style group references.",
            )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        let re = c.string("regex").unwrap_or_default();
        self.regex = Some(
            Regex::new(&format!("^(?:{re})$"))
                .map_err(|e| ConfigError::new("regex", format!("invalid regex: {e}")))?,
        );
        self.replacement = java_replacement(c.string("replacement").unwrap_or_default());
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        if let Some(re) = &self.regex {
            let topic = &record.base().topic;
            if re.is_match(topic) {
                let new = re.replace(topic, self.replacement.as_str()).into_owned();
                record.base_mut().topic = new;
            }
        }
        Ok(Some(record))
    }
}
