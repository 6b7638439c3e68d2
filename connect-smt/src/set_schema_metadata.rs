//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the schema's name and/or version; a struct
//! value is re-attached to the updated schema.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props};
use connect_core::data::{Struct, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::SchemaCache;
use crate::target::{with_replace_null_with_default, NullReplacement, Target};

/// See the [module docs](self).
#[derive(Debug)]
pub struct SetSchemaMetadata {
    target: Target,
    name: Option<String>,
    version: Option<i32>,
    cache: SchemaCache,
    nulls: NullReplacement,
}

impl SetSchemaMetadata {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        SetSchemaMetadata {
            target,
            name: None,
            version: None,
            cache: SchemaCache::default(),
            nulls: NullReplacement::default(),
        }
    }
}

impl<R: Record> Transformation<R> for SetSchemaMetadata {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define_optional(
                    "schema.name",
                    ConfigType::String,
                    Importance::High,
                    "New schema name.",
                )
                .define_optional(
                    "schema.version",
                    ConfigType::Int,
                    Importance::High,
                    "New schema version.",
                ),
        )
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        self.name = c.string("schema.name").map(str::to_owned);
        self.version = match c.get("schema.version") {
            Some(connect_core::config::ConfigValue::Int(v)) => Some(*v),
            _ => None,
        };
        if self.name.is_none() && self.version.is_none() {
            return Err(ConfigError::new(
                "schema.name",
                "set schema.name, schema.version or both",
            ));
        }
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        let Some(schema) = schema else {
            self.target.set(base, None, value);
            return Err(DataError::new("SetSchemaMetadata needs a schema").into());
        };
        let updated = self
            .cache
            .get_or_derive(&schema, || {
                let mut b = schema.to_builder();
                if let Some(n) = &self.name {
                    b = b.name(n.clone());
                }
                if let Some(v) = self.version {
                    b = b.version(v);
                }
                Ok::<_, std::convert::Infallible>(b.build())
            })
            .unwrap_or_else(|e| match e {});
        let value = match value {
            Value::Struct(s) => {
                let mut values = s.into_values();
                self.nulls.fill(&schema, &mut values);
                Value::Struct(Struct::from_values(updated.clone(), values)?)
            }
            other => other,
        };
        self.target.set(base, Some(updated), value);
        Ok(Some(record))
    }
}
