//! `MaskField$Key` / `MaskField$Value`: replaces the listed fields with a type-appropriate empty value
//! (false, 0, "", empty bytes, empty array or map, epoch for dates and times), or with `replacement`
//! for strings and numbers. The usual way to keep SSNs and similar PHI out of a topic.
//!
//! On the [structured form of an HL7 message](connect_core::hl7::structured), a field that is an HL7
//! path (`PID.19`, `PID-3(2).1`, `NK1.5`) masks that part of the message: it is emptied, or set to
//! `replacement`, in the ER7 field and its views alike, so the message the map encodes to is masked too.
//! A path to a whole field without a repetition (`PID.5`) masks every repetition of it (aliases are
//! names too); `PID-5(2)` or `PID-5.1` mask just that part.

use bytes::Bytes;
use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use std::sync::{Arc, Mutex};

use connect_core::data::{Decimal, Map, Schema, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use connect_core::hl7::{structured, Path as Hl7Path};

use crate::target::{need_map, need_struct, Target};

const PURPOSE: &str = "mask fields";

/// See the [module docs](self).
#[derive(Debug)]
pub struct MaskField {
    target: Target,
    /// The names to mask: a short list, scanned (hashing each field name of each record cost more).
    fields: Vec<String>,
    /// The field indices to mask for the last struct schema seen: hashing every field name of every
    /// record cost more than the masking itself.
    indices: Mutex<Option<(Schema, Arc<[usize]>)>>,
    hl7_paths: Vec<(String, Hl7Path)>,
    replacement: Option<String>,
}

impl MaskField {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        MaskField {
            target,
            fields: Vec::new(),
            indices: Mutex::new(None),
            hl7_paths: Vec::new(),
            replacement: None,
        }
    }

    fn masks(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f == name)
    }

    /// The indices of the fields to mask in `schema` (shared, so a record costs no allocation).
    fn indices_for(&self, schema: &Schema) -> Arc<[usize]> {
        if let Ok(cache) = self.indices.lock() {
            if let Some((s, idx)) = cache.as_ref() {
                if s.ptr_eq(schema) {
                    return idx.clone();
                }
            }
        }
        let idx: Arc<[usize]> = schema
            .fields()
            .iter()
            .filter(|f| self.masks(f.name()))
            .map(|f| f.index())
            .collect();
        if let Ok(mut cache) = self.indices.lock() {
            *cache = Some((schema.clone(), idx.clone()));
        }
        idx
    }

    fn masked(&self, field: &str, v: &Value) -> Result<Value, ConnectError> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        if let Some(r) = &self.replacement {
            let bad = |ty: &str| {
                ConnectError::Data(DataError::new(format!(
                    "Unable to convert the replacement for field '{field}' to {ty}"
                )))
            };
            return Ok(match v {
                Value::String(_) => Value::String(r.clone()),
                Value::Int8(_) => Value::Int8(r.trim().parse().map_err(|_| bad("int8"))?),
                Value::Int16(_) => Value::Int16(r.trim().parse().map_err(|_| bad("int16"))?),
                Value::Int32(_) => Value::Int32(r.trim().parse().map_err(|_| bad("int32"))?),
                Value::Int64(_) => Value::Int64(r.trim().parse().map_err(|_| bad("int64"))?),
                Value::Float32(_) => Value::Float32(r.trim().parse().map_err(|_| bad("float32"))?),
                Value::Float64(_) => Value::Float64(r.trim().parse().map_err(|_| bad("float64"))?),
                Value::Decimal(d) => Value::Decimal(
                    Decimal::parse(r.trim())
                        .and_then(|x| x.rescale(d.scale()))
                        .map_err(|_| bad("Decimal"))?,
                ),
                other => {
                    return Err(DataError::new(format!(
                        "Cannot mask value of type {} with a replacement (field '{field}')",
                        other.type_name()
                    ))
                    .into())
                }
            });
        }
        match v {
            Value::Struct(_) => {
                Err(DataError::new(format!("Cannot mask struct field '{field}'")).into())
            }
            other => Ok(empty_like(other)),
        }
    }
}

/// The empty value of a value's type: false, 0, "", empty bytes, array or map, the epoch for dates and
/// times, 0 at the same scale for decimals; null for null and for structs (which have no single empty
/// value). Kafka Connect's MaskField semantics, shared with the de-identification SMT.
pub(crate) fn empty_like(v: &Value) -> Value {
    match v {
        Value::Null | Value::Struct(_) => Value::Null,
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Bytes(_) => Value::Bytes(Bytes::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Map::new()),
        Value::Decimal(d) => Value::Decimal(Decimal::new(0, d.scale())),
        Value::Date(_) => Value::Date(0),
        Value::Time(_) => Value::Time(0),
        Value::Timestamp(_) => Value::Timestamp(0),
    }
}

impl<R: Record> Transformation<R> for MaskField {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "fields",
                ConfigType::List,
                None,
                Importance::High,
                "Names of fields to mask.",
            )
            .with_validator("fields", Validator::non_empty())
            .define_optional(
                "replacement",
                ConfigType::String,
                Importance::Low,
                "Replacement for string and numeric fields.",
            )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.fields = c.list("fields").to_vec();
        self.hl7_paths = c
            .list("fields")
            .iter()
            .filter_map(|f| Hl7Path::parse(f).ok().map(|p| (f.clone(), p)))
            .collect();
        self.replacement = c.string("replacement").map(str::to_owned);
        if self.replacement.as_deref() == Some("") {
            return Err(ConfigError::new("replacement", "must not be empty"));
        }
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let value = match self.target {
            Target::Key => &mut base.key,
            Target::Value => &mut base.value,
        };
        let has_schema = match self.target {
            Target::Key => base.key_schema.is_some(),
            Target::Value => base.value_schema.is_some(),
        };
        let is_hl7 = !self.hl7_paths.is_empty() && structured::is_structured(value);
        match value {
            Value::Null => {}
            Value::Struct(s) if has_schema => {
                let indices = self.indices_for(s.schema());
                for &i in indices.iter() {
                    let m = self.masked(s.schema().fields()[i].name(), &s.values()[i])?;
                    s.values_mut()[i] = m;
                }
            }
            Value::Map(m) if !has_schema => {
                for (k, v) in m.iter_mut() {
                    if let Some(name) = k.as_str() {
                        if self.masks(name) {
                            *v = self.masked(name, v)?;
                        }
                    }
                }
                if is_hl7 {
                    let text = self.replacement.as_deref().unwrap_or("");
                    for (name, path) in &self.hl7_paths {
                        if m.get(name).is_none() && structured::get(m, path).is_some() {
                            let whole_field = path.component.is_none()
                                && !name
                                    .split_once(['-', '.'])
                                    .is_some_and(|(_, f)| f.contains('('));
                            let set = if whole_field {
                                structured::set_field
                            } else {
                                structured::set
                            };
                            set(m, path, text)
                                .map_err(|e| DataError::new(format!("MaskField '{name}': {e}")))?;
                        }
                    }
                }
            }
            other if has_schema => return Err(need_struct(PURPOSE, other)),
            other => return Err(need_map(PURPOSE, other)),
        }
        Ok(Some(record))
    }
}
