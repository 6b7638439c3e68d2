//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp (the whole key/value, or
//! `field`) between string (Java `SimpleDateFormat` `format`, UTC), unix (`unix.precision`), and the
//! Date, Time and Timestamp logical types.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Schema, Struct, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::java_date::JavaDateFormat;
use crate::schema_cache::{struct_like, SchemaCache};
use crate::target::{
    need_map, need_struct, with_replace_null_with_default, NullReplacement, Target,
};

const PURPOSE: &str = "converting timestamp formats";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

/// See the [module docs](self).
#[derive(Debug)]
pub struct TimestampConverter {
    target: Target,
    to: Kind,
    field: Option<String>,
    format: Option<JavaDateFormat>,
    unix_per_ms: (i64, i64),
    cache: SchemaCache,
    nulls: NullReplacement,
}

impl TimestampConverter {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        TimestampConverter {
            target,
            to: Kind::Timestamp,
            field: None,
            format: None,
            unix_per_ms: (1, 1),
            cache: SchemaCache::default(),
            nulls: NullReplacement::default(),
        }
    }

    fn read_millis(&self, v: &Value) -> Result<Option<i64>, DataError> {
        Ok(Some(match v {
            Value::Null => return Ok(None),
            Value::Timestamp(ms) => *ms,
            Value::Date(days) => *days as i64 * 86_400_000,
            Value::Time(ms) => *ms as i64,
            Value::Int64(u) => {
                let (mul, div) = self.unix_per_ms;
                // unix value in the configured precision -> ms: value * div / mul
                u.checked_mul(div)
                    .map(|x| x / mul)
                    .ok_or_else(|| DataError::new("unix timestamp out of range"))?
            }
            Value::String(s) => {
                let f = self.format.as_ref().ok_or_else(|| {
                    DataError::new("TimestampConverter needs 'format' to read strings")
                })?;
                f.parse_millis(s).map_err(DataError::new)?
            }
            other => {
                return Err(DataError::new(format!(
                    "TimestampConverter cannot read a {}",
                    other.type_name()
                )))
            }
        }))
    }

    fn write_millis(&self, ms: Option<i64>) -> Result<Value, DataError> {
        let Some(ms) = ms else { return Ok(Value::Null) };
        Ok(match self.to {
            Kind::Timestamp => Value::Timestamp(ms),
            Kind::Date => Value::Date(
                i32::try_from(ms.div_euclid(86_400_000))
                    .map_err(|_| DataError::new("timestamp out of the range of a Date"))?,
            ),
            Kind::Time => Value::Time(ms.rem_euclid(86_400_000) as i32),
            Kind::Unix => {
                let (mul, div) = self.unix_per_ms;
                Value::Int64(
                    ms.checked_mul(mul)
                        .ok_or_else(|| DataError::new("timestamp out of range"))?
                        / div,
                )
            }
            Kind::String => Value::String(
                self.format
                    .as_ref()
                    .ok_or_else(|| {
                        DataError::new("TimestampConverter needs 'format' to write strings")
                    })?
                    .format(ms),
            ),
        })
    }

    fn out_schema(&self, optional: bool) -> Schema {
        let b = match self.to {
            Kind::Timestamp => Schema::timestamp(),
            Kind::Date => Schema::date(),
            Kind::Time => Schema::time(),
            Kind::Unix => {
                connect_core::data::SchemaBuilder::new(connect_core::data::SchemaType::Int64)
            }
            Kind::String => {
                connect_core::data::SchemaBuilder::new(connect_core::data::SchemaType::String)
            }
        };
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }

    /// Converts one value; errors name the field (or the whole value), never the data.
    fn convert(&self, v: &Value, field: Option<&str>) -> Result<Value, ConnectError> {
        self.read_millis(v)
            .and_then(|ms| self.write_millis(ms))
            .map_err(|e| {
                let at = field.map_or_else(|| "value".to_owned(), |f| format!("field {f}"));
                ConnectError::Data(DataError::new(format!("{at}: {e}")))
            })
    }
}

impl<R: Record> Transformation<R> for TimestampConverter {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define(
                    "target.type",
                    ConfigType::String,
                    None,
                    Importance::High,
                    "string, unix, Date, Time or Timestamp.",
                )
                .with_validator(
                    "target.type",
                    Validator::one_of(&["string", "unix", "Date", "Time", "Timestamp"]),
                )
                .define(
                    "field",
                    ConfigType::String,
                    Some(""),
                    Importance::High,
                    "Field to convert (empty: the whole key/value).",
                )
                .define(
                    "format",
                    ConfigType::String,
                    Some(""),
                    Importance::Medium,
                    "SimpleDateFormat pattern for strings.",
                )
                .define(
                    "unix.precision",
                    ConfigType::String,
                    Some("milliseconds"),
                    Importance::Low,
                    "seconds, milliseconds, microseconds or nanoseconds.",
                )
                .with_validator(
                    "unix.precision",
                    Validator::one_of(&["seconds", "milliseconds", "microseconds", "nanoseconds"]),
                ),
        )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        self.to = match c
            .string("target.type")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "date" => Kind::Date,
            "time" => Kind::Time,
            _ => Kind::Timestamp,
        };
        self.field = c
            .string("field")
            .filter(|f| !f.is_empty())
            .map(str::to_owned);
        let fmt = c.string("format").unwrap_or_default();
        self.format = if fmt.is_empty() {
            None
        } else {
            Some(JavaDateFormat::parse(fmt).map_err(|e| ConfigError::new("format", e))?)
        };
        if self.to == Kind::String && self.format.is_none() {
            return Err(ConfigError::new(
                "format",
                "required when target.type=string",
            ));
        }
        // (multiplier, divisor) turning milliseconds into the unix precision: units = ms * mul / div.
        self.unix_per_ms = match c.string("unix.precision").unwrap_or("milliseconds") {
            "seconds" => (1, 1000),
            "microseconds" => (1000, 1),
            "nanoseconds" => (1_000_000, 1),
            _ => (1, 1),
        };
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        let Some(field) = &self.field else {
            let converted = self.convert(&value, None)?;
            let new_schema = schema.map(|s| self.out_schema(s.is_optional()));
            self.target.set(base, new_schema, converted);
            return Ok(Some(record));
        };
        match (schema, value) {
            (schema, Value::Null) => self.target.set(base, schema, Value::Null),
            (None, Value::Map(mut m)) => {
                if let Some(v) = m.get_mut(field) {
                    *v = self.convert(v, Some(field))?;
                }
                self.target.set(base, None, Value::Map(m));
            }
            (Some(s), Value::Struct(st)) => {
                let idx = s.field(field).map(|f| f.index()).ok_or_else(|| {
                    ConnectError::Data(DataError::new(format!("Unknown field: {field}")))
                })?;
                let updated = self
                    .cache
                    .get_or_derive(&s, || {
                        let mut b = struct_like(&s);
                        for f in s.fields() {
                            b = if f.name() == field {
                                b.field(f.name(), self.out_schema(f.schema().is_optional()))
                            } else {
                                b.field(f.name(), f.schema().clone())
                            };
                        }
                        Ok::<_, std::convert::Infallible>(b.build())
                    })
                    .unwrap_or_else(|e| match e {});
                let mut values = st.into_values();
                self.nulls.fill(&s, &mut values);
                values[idx] = self.convert(&values[idx], Some(field))?;
                let out = Struct::from_values(updated.clone(), values)?;
                self.target.set(base, Some(updated), Value::Struct(out));
            }
            (None, other) => return Err(need_map(PURPOSE, &other)),
            (Some(_), other) => return Err(need_struct(PURPOSE, &other)),
        }
        Ok(Some(record))
    }
}
