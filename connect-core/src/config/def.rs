//! Typed configuration definitions, as Kafka's `ConfigDef`: each key has a type, a default, an
//! importance, documentation and an optional validator. Parsing reports every problem at once.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Props;
use crate::error::{ConfigError, ConfigProblem};

/// The type of a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false` (case-insensitive).
    Boolean,
    /// Any text.
    String,
    /// A 32-bit integer.
    Int,
    /// A 64-bit integer.
    Long,
    /// A floating point number.
    Double,
    /// A comma-separated list; items are trimmed and empty items dropped.
    List,
    /// A plugin name (a Java class name or a Rust alias).
    Class,
    /// A secret: never shown in `Debug`, logs or status.
    Password,
}

/// How much a key matters, as in Kafka's docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// Most users set it.
    High,
    /// Some users set it.
    Medium,
    /// Rarely set.
    Low,
}

/// A secret value. `Debug` and `Display` print `[hidden]`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Password(String);

impl Password {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }
    /// The secret itself; use only where it is needed (to authenticate), never to log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::config::REDACTED)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::config::REDACTED)
    }
}

/// A parsed configuration value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A boolean.
    Boolean(bool),
    /// Text (also `Class` values).
    String(String),
    /// An `Int`.
    Int(i32),
    /// A `Long`.
    Long(i64),
    /// A `Double`.
    Double(f64),
    /// A `List`.
    List(Vec<String>),
    /// A `Password`.
    Password(Password),
    /// The key has no value and no default (allowed only for keys whose default is null).
    Null,
}

type ValidatorFn = dyn Fn(&ConfigValue) -> Result<(), String> + Send + Sync;

/// Checks a parsed value; the error text says what is allowed.
#[derive(Clone)]
pub struct Validator(Arc<ValidatorFn>);

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Validator")
    }
}

impl Validator {
    /// A validator from a function.
    pub fn new(f: impl Fn(&ConfigValue) -> Result<(), String> + Send + Sync + 'static) -> Self {
        Validator(Arc::new(f))
    }
    /// The string (or each list item) must be one of `allowed`, case-insensitively.
    pub fn one_of(allowed: &'static [&'static str]) -> Self {
        Validator::new(move |v| {
            let check = |s: &str| {
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                    Ok(())
                } else {
                    Err(format!(
                        "must be one of [{}], got '{s}'",
                        allowed.join(", ")
                    ))
                }
            };
            match v {
                ConfigValue::String(s) => check(s),
                ConfigValue::List(items) => items.iter().try_for_each(|s| check(s)),
                _ => Ok(()),
            }
        })
    }
    /// The number must lie within `[min, max]`.
    pub fn range(min: i64, max: i64) -> Self {
        Validator::new(move |v| {
            let n = match v {
                ConfigValue::Int(i) => *i as i64,
                ConfigValue::Long(l) => *l,
                _ => return Ok(()),
            };
            if n < min || n > max {
                Err(format!("must be between {min} and {max}, got {n}"))
            } else {
                Ok(())
            }
        })
    }
    /// The number must be at least `min`.
    pub fn at_least(min: i64) -> Self {
        Self::range(min, i64::MAX)
    }
    /// The string must not be empty.
    pub fn non_empty() -> Self {
        Validator::new(|v| match v {
            ConfigValue::String(s) if s.trim().is_empty() => Err("must not be empty".into()),
            ConfigValue::List(l) if l.is_empty() => Err("must not be empty".into()),
            _ => Ok(()),
        })
    }
    fn check(&self, v: &ConfigValue) -> Result<(), String> {
        (self.0)(v)
    }
}

/// The definition of one key.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key.
    pub name: String,
    /// Its type.
    pub ty: ConfigType,
    /// The default as text; None means the key is required. `Some("")`-style null defaults are
    /// expressed with [`ConfigDef::define_optional`].
    pub default: Option<Option<String>>,
    /// How much it matters.
    pub importance: Importance,
    /// What it does.
    pub documentation: String,
    /// Optional check of the parsed value.
    pub validator: Option<Validator>,
}

/// A set of key definitions.
///
/// ```
/// use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
///
/// let def = ConfigDef::new()
///     .define("topic", ConfigType::String, None, Importance::High, "Topic to write to")
///     .define("batch.size", ConfigType::Int, Some("100"), Importance::Low, "Records per poll")
///     .with_validator("batch.size", Validator::range(1, 10_000));
/// let cfg = def.parse(&Props::new().with("topic", "claims")).unwrap();
/// assert_eq!(cfg.int("batch.size"), 100);
/// let err = def.parse(&Props::new().with("batch.size", "0")).unwrap_err();
/// assert_eq!(err.problems.len(), 2); // topic missing and batch.size out of range
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    /// No keys.
    pub fn new() -> Self {
        ConfigDef::default()
    }

    /// Defines a key. `default: None` makes it required.
    pub fn define(
        mut self,
        name: &str,
        ty: ConfigType,
        default: Option<&str>,
        importance: Importance,
        documentation: &str,
    ) -> Self {
        self.keys.retain(|k| k.name != name);
        self.keys.push(ConfigKey {
            name: name.to_owned(),
            ty,
            default: default.map(|d| Some(d.to_owned())),
            importance,
            documentation: documentation.to_owned(),
            validator: None,
        });
        self
    }

    /// Defines a key whose default is null (not set, not required).
    pub fn define_optional(
        mut self,
        name: &str,
        ty: ConfigType,
        importance: Importance,
        documentation: &str,
    ) -> Self {
        self.keys.retain(|k| k.name != name);
        self.keys.push(ConfigKey {
            name: name.to_owned(),
            ty,
            default: Some(None),
            importance,
            documentation: documentation.to_owned(),
            validator: None,
        });
        self
    }

    /// Attaches a validator to a defined key.
    pub fn with_validator(mut self, name: &str, validator: Validator) -> Self {
        if let Some(k) = self.keys.iter_mut().find(|k| k.name == name) {
            k.validator = Some(validator);
        }
        self
    }

    /// Adds every key of `other`.
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for k in &other.keys {
            self.keys.retain(|x| x.name != k.name);
            self.keys.push(k.clone());
        }
        self
    }

    /// The key definitions.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// The type of a key, if defined.
    pub fn type_of(&self, name: &str) -> Option<ConfigType> {
        self.keys.iter().find(|k| k.name == name).map(|k| k.ty)
    }

    /// Parses and validates `props`. Every missing required key, unparsable value and failed validator
    /// is reported, each with its key. Password values never appear in the reasons.
    pub fn parse(&self, props: &Props) -> Result<ParsedConfig, ConfigError> {
        let mut values = BTreeMap::new();
        let mut problems = Vec::new();
        for key in &self.keys {
            let raw = match (props.get(&key.name), &key.default) {
                (Some(v), _) => Some(v.to_owned()),
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    problems.push(ConfigProblem {
                        key: key.name.clone(),
                        reason: "missing required configuration with no default value".into(),
                    });
                    continue;
                }
            };
            let parsed = match raw {
                None => Ok(ConfigValue::Null),
                Some(text) => parse_value(key.ty, &text),
            };
            match parsed {
                Ok(v) => {
                    if let (Some(val), false) = (&key.validator, matches!(v, ConfigValue::Null)) {
                        if let Err(reason) = val.check(&v) {
                            problems.push(ConfigProblem {
                                key: key.name.clone(),
                                reason: if key.ty == ConfigType::Password {
                                    "invalid value".into()
                                } else {
                                    reason
                                },
                            });
                            continue;
                        }
                    }
                    values.insert(key.name.clone(), v);
                }
                Err(reason) => problems.push(ConfigProblem {
                    key: key.name.clone(),
                    reason,
                }),
            }
        }
        if problems.is_empty() {
            Ok(ParsedConfig {
                values,
                originals: props.clone(),
            })
        } else {
            Err(ConfigError { problems })
        }
    }
}

fn parse_value(ty: ConfigType, text: &str) -> Result<ConfigValue, String> {
    let t = text.trim();
    match ty {
        ConfigType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" => Ok(ConfigValue::Boolean(true)),
            "false" => Ok(ConfigValue::Boolean(false)),
            _ => Err(format!("expected true or false, got '{t}'")),
        },
        ConfigType::String | ConfigType::Class => Ok(ConfigValue::String(t.to_owned())),
        ConfigType::Int => t
            .parse()
            .map(ConfigValue::Int)
            .map_err(|_| format!("expected a 32-bit integer, got '{t}'")),
        ConfigType::Long => t
            .parse()
            .map(ConfigValue::Long)
            .map_err(|_| format!("expected a 64-bit integer, got '{t}'")),
        ConfigType::Double => t
            .parse()
            .map(ConfigValue::Double)
            .map_err(|_| format!("expected a number, got '{t}'")),
        ConfigType::List => Ok(ConfigValue::List(split_list(t))),
        ConfigType::Password => Ok(ConfigValue::Password(Password::new(text))),
    }
}

/// Splits a comma-separated list as Kafka does: trims items, drops empty ones.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The typed result of [`ConfigDef::parse`]. Getters of defined keys never fail: a key's presence and
/// type were checked by `parse`. Asking for an undefined key or the wrong type is a programming error of
/// the connector and panics with the key's name.
#[derive(Clone)]
pub struct ParsedConfig {
    values: BTreeMap<String, ConfigValue>,
    originals: Props,
}

impl fmt::Debug for ParsedConfig {
    /// Shows the parsed values only; passwords print as `[hidden]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.values.iter()).finish()
    }
}

impl ParsedConfig {
    fn value(&self, key: &str) -> &ConfigValue {
        match self.values.get(key) {
            Some(v) => v,
            None => panic!("config key '{key}' is not defined in this ConfigDef"),
        }
    }
    /// The raw input, including keys the definition does not know (for pass-through settings).
    pub fn originals(&self) -> &Props {
        &self.originals
    }
    /// A parsed value.
    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.values.get(key)
    }
    /// A `String` or `Class` key; None when null.
    pub fn string(&self, key: &str) -> Option<&str> {
        match self.value(key) {
            ConfigValue::String(s) => Some(s),
            ConfigValue::Null => None,
            other => panic!("config key '{key}' is not a string: {other:?}"),
        }
    }
    /// A `Boolean` key.
    pub fn boolean(&self, key: &str) -> bool {
        match self.value(key) {
            ConfigValue::Boolean(b) => *b,
            other => panic!("config key '{key}' is not a boolean: {other:?}"),
        }
    }
    /// An `Int` key.
    pub fn int(&self, key: &str) -> i32 {
        match self.value(key) {
            ConfigValue::Int(i) => *i,
            other => panic!("config key '{key}' is not an int: {other:?}"),
        }
    }
    /// A `Long` key.
    pub fn long(&self, key: &str) -> i64 {
        match self.value(key) {
            ConfigValue::Long(l) => *l,
            ConfigValue::Int(i) => *i as i64,
            other => panic!("config key '{key}' is not a long: {other:?}"),
        }
    }
    /// A `Long` key holding milliseconds, as a duration (negative values become zero).
    pub fn millis(&self, key: &str) -> Duration {
        Duration::from_millis(self.long(key).max(0) as u64)
    }
    /// A `Double` key.
    pub fn double(&self, key: &str) -> f64 {
        match self.value(key) {
            ConfigValue::Double(d) => *d,
            other => panic!("config key '{key}' is not a double: {other:?}"),
        }
    }
    /// A `List` key (empty when null).
    pub fn list(&self, key: &str) -> &[String] {
        match self.value(key) {
            ConfigValue::List(l) => l,
            ConfigValue::Null => &[],
            other => panic!("config key '{key}' is not a list: {other:?}"),
        }
    }
    /// A `Password` key; None when null.
    pub fn password(&self, key: &str) -> Option<&Password> {
        match self.value(key) {
            ConfigValue::Password(p) => Some(p),
            ConfigValue::Null => None,
            other => panic!("config key '{key}' is not a password: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define("name", ConfigType::String, None, Importance::High, "n")
            .define("n", ConfigType::Int, Some("5"), Importance::Low, "n")
            .define(
                "flag",
                ConfigType::Boolean,
                Some("false"),
                Importance::Low,
                "f",
            )
            .define("mode", ConfigType::String, Some("a"), Importance::Low, "m")
            .with_validator("mode", Validator::one_of(&["a", "b"]))
            .define("pw", ConfigType::Password, Some(""), Importance::Low, "p")
            .define("items", ConfigType::List, Some(""), Importance::Low, "l")
            .define_optional("opt", ConfigType::String, Importance::Low, "o")
    }

    #[test]
    fn parses_types_and_defaults() {
        let c = def()
            .parse(
                &Props::new()
                    .with("name", "x")
                    .with("flag", "TRUE")
                    .with("items", " a, ,b ")
                    .with("pw", "s3cret"),
            )
            .unwrap();
        assert_eq!(c.string("name"), Some("x"));
        assert_eq!(c.int("n"), 5);
        assert!(c.boolean("flag"));
        assert_eq!(c.list("items"), ["a", "b"]);
        assert_eq!(c.password("pw").unwrap().expose(), "s3cret");
        assert_eq!(c.string("opt"), None);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let e = def()
            .parse(
                &Props::new()
                    .with("n", "five")
                    .with("mode", "c")
                    .with("flag", "yes"),
            )
            .unwrap_err();
        let keys: Vec<_> = e.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["name", "n", "flag", "mode"]);
        let text = e.to_string();
        assert!(text.contains("name: missing required"), "{text}");
        assert!(
            text.contains("mode: must be one of [a, b], got 'c'"),
            "{text}"
        );
    }
}
