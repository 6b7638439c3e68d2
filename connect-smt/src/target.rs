//! Which part of a record an SMT works on: the `$Key` or the `$Value` variant.

use connect_core::config::{ConfigDef, ConfigType, Importance, ParsedConfig};
use connect_core::data::{Schema, Struct, Value};
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

/// `replace.null.with.default` (KIP-1040): whether reading a null struct field whose schema has a
/// default gives the default (`true`, Kafka Connect's behaviour and default) or keeps the null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NullReplacement(bool);

impl Default for NullReplacement {
    fn default() -> Self {
        NullReplacement(true)
    }
}

impl NullReplacement {
    /// From a config defined with [`with_replace_null_with_default`].
    pub(crate) fn from_config(c: &ParsedConfig) -> Self {
        NullReplacement(c.boolean("replace.null.with.default"))
    }

    /// Replaces nulls with their fields' defaults in values taken from a struct of `schema`.
    pub(crate) fn fill(self, schema: &Schema, values: &mut [Value]) {
        if !self.0 {
            return;
        }
        for (f, v) in schema.fields().iter().zip(values.iter_mut()) {
            if v.is_null() {
                if let Some(d) = f.schema().default_value() {
                    *v = d.clone();
                }
            }
        }
    }

    /// A field's value as this policy reads it.
    pub(crate) fn field<'a>(self, st: &'a Struct, name: &str) -> Option<&'a Value> {
        if self.0 {
            st.get_or_default(name)
        } else {
            st.get(name)
        }
    }
}
