//! `RegexRouter`: renames the topic when it matches `regex` as a whole, using `replacement` with
//! Java-style group references (`$1`), as Kafka Connect does.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::{ConfigError, ConnectError};
use connect_core::record::Record;
use connect_core::transform::Transformation;
use std::sync::Mutex;

use regex::Regex;

/// See the [module docs](self).
#[derive(Debug, Default)]
pub struct RegexRouter {
    regex: Option<Regex>,
    replacement: String,
    /// The last topic routed and its result: records of a stream share few topics, so the regex runs
    /// once per change of topic rather than once per record.
    last: Mutex<Option<(String, Option<String>)>>,
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
        let Some(re) = &self.regex else {
            return Ok(Some(record));
        };
        let topic = &record.base().topic;
        if let Ok(last) = self.last.lock() {
            if let Some((_, to)) = last.as_ref().filter(|(from, _)| from == topic) {
                if let Some(to) = to {
                    record.base_mut().topic = to.clone();
                }
                return Ok(Some(record));
            }
        }
        let routed = re.captures(topic).map(|caps| {
            let mut out = String::with_capacity(topic.len() + self.replacement.len());
            caps.expand(&self.replacement, &mut out);
            out
        });
        if let Ok(mut last) = self.last.lock() {
            *last = Some((topic.clone(), routed.clone()));
        }
        if let Some(to) = routed {
            record.base_mut().topic = to;
        }
        Ok(Some(record))
    }
}
