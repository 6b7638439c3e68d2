//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a struct (or map, when schemaless)
//! with a single field named `field`.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Map, SchemaBuilder, Struct, Value};
use connect_core::error::{ConfigError, ConnectError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::SchemaCache;
use crate::target::Target;

/// See the [module docs](self).
#[derive(Debug)]
pub struct HoistField {
    target: Target,
    field: String,
    cache: SchemaCache,
}

impl HoistField {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        HoistField {
            target,
            field: String::new(),
            cache: SchemaCache::default(),
        }
    }
}

impl<R: Record> Transformation<R> for HoistField {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "field",
                ConfigType::String,
                None,
                Importance::Medium,
                "Name of the single field of the new struct or map.",
            )
            .with_validator("field", Validator::non_empty())
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.field = c.string("field").unwrap_or_default().to_owned();
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        match schema {
            None => {
                let mut m = Map::with_capacity(1);
                m.push(Value::String(self.field.clone()), value);
                self.target.set(base, None, Value::Map(m));
            }
            Some(s) => {
                let hoisted = self.cache.get_or_derive(&s, || {
                    Ok::<_, std::convert::Infallible>(
                        SchemaBuilder::struct_()
                            .field(self.field.clone(), s.clone())
                            .build(),
                    )
                });
                let hoisted = hoisted.unwrap_or_else(|e| match e {});
                let st = Struct::from_values(hoisted.clone(), vec![value])?;
                self.target.set(base, Some(hoisted), Value::Struct(st));
            }
        }
        Ok(Some(record))
    }
}
