//! `ValueToKey`: replaces the key with a struct (or map) of the listed value fields. On a structured
//! HL7 value, a field that is an HL7 path (`PID.3.1`) takes the text at that path.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Map, Schema, SchemaBuilder, Struct, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::hl7::{structured, Path as Hl7Path};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::SchemaCache;
use crate::target::{need_map, need_struct, with_replace_null_with_default, NullReplacement};

const PURPOSE: &str = "copying fields from value to key";

/// See the [module docs](self).
#[derive(Debug, Default)]
pub struct ValueToKey {
    fields: Vec<String>,
    /// The fields that are HL7 paths, for structured HL7 values.
    hl7: Vec<Option<Hl7Path>>,
    cache: SchemaCache,
    nulls: NullReplacement,
}

impl ValueToKey {
    fn key_schema(&self, value_schema: &Schema) -> Result<Schema, ConnectError> {
        self.cache.get_or_derive(value_schema, || {
            let mut b = SchemaBuilder::struct_();
            for f in &self.fields {
                let field = value_schema.field(f).ok_or_else(|| {
                    ConnectError::Data(DataError::new(format!("Field does not exist: {f}")))
                })?;
                b = b.field(f.clone(), field.schema().clone());
            }
            Ok(b.build())
        })
    }
}

impl<R: Record> Transformation<R> for ValueToKey {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define(
                    "fields",
                    ConfigType::List,
                    None,
                    Importance::High,
                    "Value fields that make up the key.",
                )
                .with_validator("fields", Validator::non_empty()),
        )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        self.fields = c.list("fields").to_vec();
        self.hl7 = self.fields.iter().map(|f| Hl7Path::parse(f).ok()).collect();
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        match (&base.value_schema, &base.value) {
            (None, v @ Value::Map(m)) => {
                let hl7 = structured::is_structured(v);
                let mut key = Map::with_capacity(self.fields.len());
                for (f, path) in self.fields.iter().zip(&self.hl7) {
                    let field = match (m.get(f), path) {
                        (Some(v), _) => v.clone(),
                        (None, Some(p)) if hl7 => {
                            structured::get(m, p).map_or(Value::Null, Value::String)
                        }
                        (None, _) => Value::Null,
                    };
                    key.push(Value::String(f.clone()), field);
                }
                base.key_schema = None;
                base.key = Value::Map(key);
            }
            (Some(vs), Value::Struct(st)) => {
                let ks = self.key_schema(vs)?;
                let values = self
                    .fields
                    .iter()
                    .map(|f| self.nulls.field(st, f).cloned().unwrap_or(Value::Null))
                    .collect();
                base.key = Value::Struct(Struct::from_values(ks.clone(), values)?);
                base.key_schema = Some(ks);
            }
            (None, other) => return Err(need_map(PURPOSE, other)),
            (Some(_), other) => return Err(need_struct(PURPOSE, other)),
        }
        Ok(Some(record))
    }
}
