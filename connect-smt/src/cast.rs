//! `Cast$Key` / `Cast$Value`: casts the whole key/value (`spec=int32`) or some fields
//! (`spec=age:int16,score:string`) to int8, int16, int32, int64, float32, float64, boolean or string,
//! with Java's conversions (narrowing integer casts wrap, `"true"` in any case is true).

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Schema, SchemaBuilder, SchemaType, Struct, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::{struct_like, SchemaCache};
use crate::target::{
    need_map, need_struct, with_replace_null_with_default, NullReplacement, Target,
};

const PURPOSE: &str = "cast types";
const TYPES: &[&str] = &[
    "int8", "int16", "int32", "int64", "float32", "float64", "boolean", "string",
];

/// See the [module docs](self).
#[derive(Debug)]
pub struct Cast {
    target: Target,
    whole: Option<SchemaType>,
    fields: Vec<(String, SchemaType)>,
    cache: SchemaCache,
    nulls: NullReplacement,
}

impl Cast {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        Cast {
            target,
            whole: None,
            fields: Vec::new(),
            cache: SchemaCache::default(),
            nulls: NullReplacement::default(),
        }
    }

    fn target_of(&self, field: &str) -> Option<SchemaType> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, t)| *t)
    }
}

fn parse_type(t: &str) -> Option<SchemaType> {
    TYPES
        .contains(&t.trim().to_ascii_lowercase().as_str())
        .then(|| SchemaType::parse(t.trim()))
        .flatten()
}

fn schema_of(t: SchemaType, optional: bool) -> Schema {
    let b = SchemaBuilder::new(t);
    if optional {
        b.optional().build()
    } else {
        b.build()
    }
}

/// Casts one value with Java's semantics.
pub fn cast_value(v: &Value, to: SchemaType) -> Result<Value, DataError> {
    let bad = || DataError::new(format!("Cast: cannot cast a {} to {to}", v.type_name()));
    if v.is_null() {
        return Ok(Value::Null);
    }
    // The source as i64 / f64 / bool / text.
    let as_i64 = || -> Result<i64, DataError> {
        Ok(match v {
            Value::Int8(x) => *x as i64,
            Value::Int16(x) => *x as i64,
            Value::Int32(x) => *x as i64,
            Value::Int64(x) => *x,
            Value::Float32(x) => *x as i64,
            Value::Float64(x) => *x as i64,
            Value::Boolean(b) => *b as i64,
            Value::String(s) => s.trim().parse::<i64>().map_err(|_| bad())?,
            _ => return Err(bad()),
        })
    };
    let as_f64 = || -> Result<f64, DataError> {
        Ok(match v {
            Value::Float32(x) => *x as f64,
            Value::Float64(x) => *x,
            Value::Boolean(b) => *b as i64 as f64,
            Value::String(s) => s.trim().parse::<f64>().map_err(|_| bad())?,
            _ => as_i64()? as f64,
        })
    };
    Ok(match to {
        SchemaType::Int8 => Value::Int8(as_i64()? as i8),
        SchemaType::Int16 => Value::Int16(as_i64()? as i16),
        SchemaType::Int32 => Value::Int32(as_i64()? as i32),
        SchemaType::Int64 => Value::Int64(as_i64()?),
        SchemaType::Float32 => Value::Float32(as_f64()? as f32),
        SchemaType::Float64 => Value::Float64(as_f64()?),
        SchemaType::Boolean => Value::Boolean(match v {
            Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
            Value::Boolean(b) => *b,
            Value::Float32(_) | Value::Float64(_) => as_f64()? != 0.0,
            _ => as_i64()? != 0,
        }),
        SchemaType::String => match v {
            Value::Int8(_)
            | Value::Int16(_)
            | Value::Int32(_)
            | Value::Int64(_)
            | Value::Float32(_)
            | Value::Float64(_)
            | Value::Boolean(_)
            | Value::String(_) => Value::String(connect_core::value_to_text(v)),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    })
}

impl<R: Record> Transformation<R> for Cast {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define(
                    "spec",
                    ConfigType::List,
                    None,
                    Importance::High,
                    "TYPE for the whole value, or field:TYPE pairs.",
                )
                .with_validator("spec", Validator::non_empty()),
        )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        let spec = c.list("spec");
        self.whole = None;
        self.fields.clear();
        let bad = |item: &str| {
            ConfigError::new(
                "spec",
                format!("'{item}': type must be one of {}", TYPES.join(", ")),
            )
        };
        if spec.len() == 1 && !spec[0].contains(':') {
            self.whole = Some(parse_type(&spec[0]).ok_or_else(|| bad(&spec[0]))?);
            return Ok(());
        }
        for item in spec {
            let (f, t) = item
                .split_once(':')
                .ok_or_else(|| ConfigError::new("spec", format!("'{item}' is not field:type")))?;
            self.fields
                .push((f.trim().to_owned(), parse_type(t).ok_or_else(|| bad(item))?));
        }
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        if let Some(to) = self.whole {
            let optional = schema.as_ref().is_none_or(Schema::is_optional);
            let casted = cast_value(&value, to)?;
            self.target
                .set(base, schema.map(|_| schema_of(to, optional)), casted);
            return Ok(Some(record));
        }
        match (schema, value) {
            (schema, Value::Null) => self.target.set(base, schema, Value::Null),
            (None, Value::Map(mut m)) => {
                // In place: only the cast entries change.
                for (k, v) in m.iter_mut() {
                    let Some(name) = k.as_str() else { continue };
                    if let Some(t) = self.target_of(name) {
                        *v = cast_value(v, t)
                            .map_err(|e| DataError::new(format!("field \"{name}\": {e}")))?;
                    }
                }
                self.target.set(base, None, Value::Map(m));
            }
            (Some(s), Value::Struct(st)) => {
                let updated = self
                    .cache
                    .get_or_derive(&s, || {
                        let mut b = struct_like(&s);
                        for f in s.fields() {
                            b = match self.target_of(f.name()) {
                                Some(t) => {
                                    b.field(f.name(), schema_of(t, f.schema().is_optional()))
                                }
                                None => b.field(f.name(), f.schema().clone()),
                            };
                        }
                        Ok::<_, std::convert::Infallible>(b.build())
                    })
                    .unwrap_or_else(|e| match e {});
                let mut values = st.into_values();
                self.nulls.fill(&s, &mut values);
                for (i, f) in s.fields().iter().enumerate() {
                    if let Some(t) = self.target_of(f.name()) {
                        values[i] = cast_value(&values[i], t)
                            .map_err(|e| DataError::new(format!("field \"{}\": {e}", f.name())))?;
                    }
                }
                let out = Struct::from_values(updated.clone(), values)?;
                self.target.set(base, Some(updated), Value::Struct(out));
            }
            (None, other) => return Err(need_map(PURPOSE, &other)),
            (Some(_), other) => return Err(need_struct(PURPOSE, &other)),
        }
        Ok(Some(record))
    }
}
