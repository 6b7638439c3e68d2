//! `Flatten$Key` / `Flatten$Value`: lifts the fields of nested structs (or nested maps, when schemaless)
//! to the top level, joining names with `delimiter` (default `.`). Arrays and maps inside a schema'd
//! struct are kept as they are; fields under an optional parent become optional.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props};
use connect_core::data::{Map, Schema, SchemaBuilder, SchemaType, Struct, Value};
use connect_core::error::{ConfigError, ConnectError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::{struct_like, SchemaCache};
use crate::target::{need_map, need_struct, Target};

const PURPOSE: &str = "flattening";

/// See the [module docs](self).
#[derive(Debug)]
pub struct Flatten {
    target: Target,
    delimiter: String,
    cache: SchemaCache,
}

impl Flatten {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        Flatten {
            target,
            delimiter: ".".into(),
            cache: SchemaCache::default(),
        }
    }

    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    fn flat_schema(
        &self,
        b: SchemaBuilder,
        prefix: &str,
        s: &Schema,
        optional: bool,
    ) -> SchemaBuilder {
        let mut b = b;
        for f in s.fields() {
            let name = self.name(prefix, f.name());
            let fs = f.schema();
            if fs.schema_type() == SchemaType::Struct {
                b = self.flat_schema(b, &name, fs, optional || fs.is_optional());
            } else if optional && !fs.is_optional() {
                b = b.field(name, fs.to_builder().optional().build());
            } else {
                b = b.field(name, fs.clone());
            }
        }
        b
    }

    /// Moves the values of `value` (all null when it is absent) into `out`, nested structs' values in
    /// place of the struct.
    fn flat_values(&self, out: &mut Vec<Value>, schema: &Schema, value: Option<Struct>) {
        let mut values = value.map(|s| s.into_values().into_iter());
        for f in schema.fields() {
            let v = values
                .as_mut()
                .and_then(Iterator::next)
                .unwrap_or(Value::Null);
            if f.schema().schema_type() == SchemaType::Struct {
                let nested = match v {
                    Value::Struct(s) => Some(s),
                    _ => None,
                };
                self.flat_values(out, f.schema(), nested);
            } else {
                out.push(v);
            }
        }
    }

    fn flat_map(&self, out: &mut Map, prefix: &str, m: Map) {
        for (k, v) in m {
            let key = match k {
                // Top-level keys keep their own string.
                Value::String(s) if prefix.is_empty() => s,
                Value::String(s) => self.name(prefix, &s),
                other => self.name(prefix, &connect_core::value_to_text(&other)),
            };
            match v {
                Value::Map(inner) => self.flat_map(out, &key, inner),
                other => out.push(Value::String(key), other),
            }
        }
    }
}

impl<R: Record> Transformation<R> for Flatten {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            "delimiter",
            ConfigType::String,
            Some("."),
            Importance::Medium,
            "Joins nested field names.",
        )
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.delimiter = c.string("delimiter").unwrap_or(".").to_owned();
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        match (schema, value) {
            (schema, Value::Null) => self.target.set(base, schema, Value::Null),
            (None, Value::Map(m)) if !m.iter().any(|(_, v)| matches!(v, Value::Map(_))) => {
                // Nothing nested: the map is already flat.
                self.target.set(base, None, Value::Map(m));
            }
            (None, Value::Map(m)) => {
                let mut out = Map::with_capacity(m.len());
                self.flat_map(&mut out, "", m);
                self.target.set(base, None, Value::Map(out));
            }
            (Some(s), Value::Struct(st)) => {
                let flat = self
                    .cache
                    .get_or_derive(&s, || {
                        let b = struct_like(&s);
                        Ok::<_, std::convert::Infallible>(
                            self.flat_schema(b, "", &s, false).build(),
                        )
                    })
                    .unwrap_or_else(|e| match e {});
                let nested = s
                    .fields()
                    .iter()
                    .any(|f| f.schema().schema_type() == SchemaType::Struct);
                let values = if !nested {
                    // No nested structs: the values are already in flat order.
                    st.into_values()
                } else {
                    let mut values = Vec::with_capacity(flat.fields().len());
                    self.flat_values(&mut values, &s, Some(st));
                    values
                };
                let out = Struct::from_values(flat.clone(), values)?;
                self.target.set(base, Some(flat), Value::Struct(out));
            }
            (None, other) => return Err(need_map(PURPOSE, &other)),
            (Some(_), other) => return Err(need_struct(PURPOSE, &other)),
        }
        Ok(Some(record))
    }
}
