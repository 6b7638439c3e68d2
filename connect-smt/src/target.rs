//! Which part of a record an SMT works on: the `$Key` or the `$Value` variant.

use connect_core::config::{ConfigDef, ConfigType, Importance};
use connect_core::data::{Schema, Value};
use connect_core::error::{ConnectError, DataError};
use connect_core::record::ConnectRecord;

/// The record part an SMT reads and rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The key (`$Key`).
    Key,
    /// The value (`$Value`).
    Value,
}

impl Target {
    /// The schema and value of the part.
    pub fn get(self, r: &ConnectRecord) -> (Option<&Schema>, &Value) {
        match self {
            Target::Key => (r.key_schema.as_ref(), &r.key),
            Target::Value => (r.value_schema.as_ref(), &r.value),
        }
    }
    /// Takes the part out, leaving null.
    pub fn take(self, r: &mut ConnectRecord) -> (Option<Schema>, Value) {
        match self {
            Target::Key => (r.key_schema.take(), std::mem::take(&mut r.key)),
            Target::Value => (r.value_schema.take(), std::mem::take(&mut r.value)),
        }
    }
    /// Sets the part.
    pub fn set(self, r: &mut ConnectRecord, schema: Option<Schema>, value: Value) {
        match self {
            Target::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Target::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
    }
    /// `key` or `value`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Target::Key => "key",
            Target::Value => "value",
        }
    }
}

/// The error Kafka Connect gives when a schemaless part is not a map.
pub(crate) fn need_map(purpose: &str, v: &Value) -> ConnectError {
    ConnectError::Data(DataError::new(format!(
        "Only Map objects supported in absence of schema for [{purpose}], found: {}",
        v.type_name()
    )))
}

/// The error Kafka Connect gives when a schema'd part is not a struct.
pub(crate) fn need_struct(purpose: &str, v: &Value) -> ConnectError {
    ConnectError::Data(DataError::new(format!(
        "Only Struct objects supported for [{purpose}], found: {}",
        v.type_name()
    )))
}

/// Adds `replace.null.with.default`, which Kafka Connect's field SMTs all accept (default true).
pub(crate) fn with_replace_null_with_default(def: ConfigDef) -> ConfigDef {
    def.define(
        "replace.null.with.default",
        ConfigType::Boolean,
        Some("true"),
        Importance::Low,
        "Use a field's default when its value is null.",
    )
}
