//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies (`operation=copy`) or moves (`operation=move`) fields
//! into headers: `fields[i]` becomes header `headers[i]`, with the field's schema. On the structured
//! HL7 message, fields are HL7 paths (`fields=PID.3.1,MSH.10`) and the headers get their text.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Map, Schema, Struct, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::hl7::{structured, Path as Hl7Path};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::{struct_like, SchemaCache};
use crate::target::{
    need_map, need_struct, with_replace_null_with_default, NullReplacement, Target,
};

const PURPOSE: &str = "header from field";

/// See the [module docs](self).
#[derive(Debug)]
pub struct HeaderFrom {
    target: Target,
    pairs: Vec<(String, String)>,
    move_fields: bool,
    cache: SchemaCache,
    nulls: NullReplacement,
}

impl HeaderFrom {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        HeaderFrom {
            target,
            pairs: Vec::new(),
            move_fields: false,
            cache: SchemaCache::default(),
            nulls: NullReplacement::default(),
        }
    }
    fn header_for(&self, field: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, h)| h.as_str())
    }
}

impl<R: Record> Transformation<R> for HeaderFrom {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define(
                    "fields",
                    ConfigType::List,
                    None,
                    Importance::High,
                    "Fields to copy or move.",
                )
                .with_validator("fields", Validator::non_empty())
                .define(
                    "headers",
                    ConfigType::List,
                    None,
                    Importance::High,
                    "Header names, one per field.",
                )
                .with_validator("headers", Validator::non_empty())
                .define(
                    "operation",
                    ConfigType::String,
                    None,
                    Importance::High,
                    "copy or move.",
                )
                .with_validator("operation", Validator::one_of(&["copy", "move"])),
        )
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        let (fields, headers) = (c.list("fields"), c.list("headers"));
        if fields.len() != headers.len() {
            return Err(ConfigError::new(
                "headers",
                format!(
                    "{} headers for {} fields: give one header per field",
                    headers.len(),
                    fields.len()
                ),
            ));
        }
        self.pairs = fields
            .iter()
            .cloned()
            .zip(headers.iter().cloned())
            .collect();
        self.move_fields = c
            .string("operation")
            .is_some_and(|o| o.eq_ignore_ascii_case("move"));
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        let hl7 = schema.is_none() && structured::is_structured(&value);
        match (schema, value) {
            (schema, Value::Null) => self.target.set(base, schema, Value::Null),
            (None, Value::Map(mut m)) if hl7 => {
                // The structured HL7 message: fields are HL7 paths (`PID.3.1`), read as text.
                for (f, h) in &self.pairs {
                    let Ok(path) = Hl7Path::parse(f) else {
                        continue;
                    };
                    if let Some(text) = structured::get(&m, &path) {
                        base.headers
                            .add(h.clone(), Some(Schema::string()), Value::String(text));
                        if self.move_fields {
                            structured::set(&mut m, &path, "")
                                .map_err(|e| DataError::new(format!("HeaderFrom '{f}': {e}")))?;
                        }
                    }
                }
                self.target.set(base, None, Value::Map(m));
            }
            (None, Value::Map(m)) => {
                let mut kept = Map::with_capacity(m.len());
                for (k, v) in m {
                    match k.as_str().and_then(|f| self.header_for(f)) {
                        Some(h) => {
                            base.headers.add(h.to_owned(), None, v.clone());
                            if !self.move_fields {
                                kept.push(k, v);
                            }
                        }
                        None => kept.push(k, v),
                    }
                }
                self.target.set(base, None, Value::Map(kept));
            }
            (Some(s), Value::Struct(st)) => {
                for (f, _) in &self.pairs {
                    if s.field(f).is_none() {
                        self.target.set(base, Some(s.clone()), Value::Struct(st));
                        return Err(DataError::new(format!(
                            "HeaderFrom: no field '{f}' in the schema"
                        ))
                        .into());
                    }
                }
                for (field, _) in st.iter() {
                    if let Some(h) = self.header_for(field.name()) {
                        let v = self
                            .nulls
                            .field(&st, field.name())
                            .cloned()
                            .unwrap_or(Value::Null);
                        base.headers
                            .add(h.to_owned(), Some(field.schema().clone()), v);
                    }
                }
                if self.move_fields {
                    let updated = self
                        .cache
                        .get_or_derive(&s, || {
                            let mut b = struct_like(&s);
                            for f in s
                                .fields()
                                .iter()
                                .filter(|f| self.header_for(f.name()).is_none())
                            {
                                b = b.field(f.name(), f.schema().clone());
                            }
                            Ok::<_, std::convert::Infallible>(b.build())
                        })
                        .unwrap_or_else(|e| match e {});
                    let mut all = st.into_values();
                    self.nulls.fill(&s, &mut all);
                    let values = s
                        .fields()
                        .iter()
                        .zip(all)
                        .filter(|(f, _)| self.header_for(f.name()).is_none())
                        .map(|(_, v)| v)
                        .collect();
                    let out = Struct::from_values(updated.clone(), values)?;
                    self.target.set(base, Some(updated), Value::Struct(out));
                } else {
                    self.target.set(base, Some(s), Value::Struct(st));
                }
            }
            (None, other) => return Err(need_map(PURPOSE, &other)),
            (Some(_), other) => return Err(need_struct(PURPOSE, &other)),
        }
        Ok(Some(record))
    }
}
