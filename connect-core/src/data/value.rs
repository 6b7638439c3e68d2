//! Dynamic values: what a record's key, value and headers hold, with or without a schema.

use std::fmt;

use bytes::Bytes;

use crate::data::schema::{Schema, SchemaType};
use crate::error::DataError;

/// The largest decimal scale (either sign) accepted from data or schemas: a number written with more
/// than this many digits after (or zeros before) the point is a data error, not a padding of
/// gigabytes.
pub const MAX_DECIMAL_SCALE: i32 = 1000;

fn check_scale(scale: i64) -> Result<i32, DataError> {
    if scale.abs() > i64::from(MAX_DECIMAL_SCALE) {
        return Err(DataError::new(format!(
            "decimal scale out of range: at most {MAX_DECIMAL_SCALE} either way"
        )));
    }
    Ok(scale as i32)
}

/// A decimal number as Kafka Connect's `Decimal` logical type holds it: an unscaled integer and a scale.
///
/// The unscaled value is held in 128 bits (38 decimal digits), which covers SQL `DECIMAL(38, s)`.
/// Larger values are rejected with a [`DataError`] when decoded, never truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    unscaled: i128,
    scale: i32,
}

impl Decimal {
    /// `unscaled * 10^-scale`.
    pub fn new(unscaled: i128, scale: i32) -> Self {
        Decimal { unscaled, scale }
    }
    /// The unscaled integer.
    pub fn unscaled(&self) -> i128 {
        self.unscaled
    }
    /// The scale (digits after the decimal point).
    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// The minimal big-endian two's complement bytes of the unscaled value, as Java's
    /// `BigInteger.toByteArray()` (Kafka Connect's wire form of a Decimal).
    pub fn to_be_bytes(&self) -> Vec<u8> {
        let full = self.unscaled.to_be_bytes();
        let mut start = 0;
        while start < full.len() - 1 {
            let b = full[start];
            let next_sign = full[start + 1] & 0x80;
            if (b == 0x00 && next_sign == 0) || (b == 0xff && next_sign != 0) {
                start += 1;
            } else {
                break;
            }
        }
        full[start..].to_vec()
    }

    /// Decodes big-endian two's complement bytes with the given scale (at most
    /// [`MAX_DECIMAL_SCALE`] either way).
    pub fn from_be_bytes(bytes: &[u8], scale: i32) -> Result<Self, DataError> {
        check_scale(i64::from(scale))?;
        if bytes.is_empty() {
            return Err(DataError::new("Decimal bytes are empty"));
        }
        if bytes.len() > 16 {
            return Err(DataError::new(format!(
                "Decimal of {} bytes exceeds the 128-bit unscaled range",
                bytes.len()
            )));
        }
        let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
        let mut full = [fill; 16];
        full[16 - bytes.len()..].copy_from_slice(bytes);
        Ok(Decimal::new(i128::from_be_bytes(full), scale))
    }

    /// Parses plain decimal text (`-12.340`, `5`, `1.5E3`) keeping the written scale.
    pub fn parse(text: &str) -> Result<Self, DataError> {
        let bad = || DataError::new("not a decimal number");
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (text, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        let digits = format!("{int_part}{frac_part}");
        if digits.is_empty() || digits == "-" || digits == "+" {
            return Err(bad());
        }
        let unscaled: i128 = digits.parse().map_err(|_| bad())?;
        let scale =
            check_scale(i64::try_from(frac_part.len()).unwrap_or(i64::MAX) - i64::from(exp))?;
        Ok(Decimal::new(unscaled, scale))
    }

    /// The same number at another scale; fails if digits would be lost or the value overflows.
    pub fn rescale(&self, scale: i32) -> Result<Decimal, DataError> {
        let overflow = || DataError::new("Decimal overflows 128 bits when rescaled");
        if scale == self.scale {
            return Ok(*self);
        }
        check_scale(i64::from(scale))?;
        let diff = u32::try_from((i64::from(scale) - i64::from(self.scale)).unsigned_abs())
            .map_err(|_| overflow())?;
        if scale > self.scale {
            let f = 10i128.checked_pow(diff).ok_or_else(overflow)?;
            Ok(Decimal::new(
                self.unscaled.checked_mul(f).ok_or_else(overflow)?,
                scale,
            ))
        } else {
            let f = 10i128.checked_pow(diff).ok_or_else(overflow)?;
            if self.unscaled % f != 0 {
                return Err(DataError::new(format!(
                    "Decimal with scale {} cannot be rescaled to {scale} without rounding",
                    self.scale
                )));
            }
            Ok(Decimal::new(self.unscaled / f, scale))
        }
    }

    /// The nearest f64.
    pub fn to_f64(&self) -> f64 {
        self.unscaled as f64 / 10f64.powi(self.scale)
    }
}

impl fmt::Display for Decimal {
    /// Plain notation, as Java's `BigDecimal.toPlainString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.unscaled < 0;
        let digits = self.unscaled.unsigned_abs().to_string();
        let sign = if neg { "-" } else { "" };
        if i64::from(self.scale).abs() > i64::from(MAX_DECIMAL_SCALE) {
            // A hand-built Decimal beyond the bound: scientific notation, never a huge padding.
            return write!(f, "{sign}{digits}E{}", -i64::from(self.scale));
        }
        if self.scale <= 0 {
            let zeros = "0".repeat((-self.scale) as usize);
            if self.unscaled == 0 {
                return f.write_str("0");
            }
            return write!(f, "{sign}{digits}{zeros}");
        }
        let scale = self.scale as usize;
        if digits.len() > scale {
            let (i, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{i}.{frac}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// An ordered map value. Keys and values are dynamic; order is kept as inserted.
///
/// Small maps are the norm in records, so lookups scan; this keeps clones and iteration cheap and
/// output order stable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(Vec<(Value, Value)>);

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Map(Vec::new())
    }
    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Map(Vec::with_capacity(n))
    }
    /// The value under a string key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
    /// The value under a string key, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
    /// The value under any key.
    pub fn get_value(&self, key: &Value) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: impl Into<Value>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => Some(std::mem::replace(&mut slot.1, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }
    /// Appends without checking for an existing key (for decoders that know keys are unique).
    pub fn push(&mut self, key: Value, value: Value) {
        self.0.push((key, value));
    }
    /// Removes a string key; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self.0.iter().position(|(k, _)| k.as_str() == Some(key))?;
        Some(self.0.remove(pos).1)
    }
    /// Keeps the entries for which `f` returns true, in order, in place; `f` may change them.
    pub fn retain_mut(&mut self, mut f: impl FnMut(&mut Value, &mut Value) -> bool) {
        self.0.retain_mut(|(k, v)| f(k, v));
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &(Value, Value)> {
        self.0.iter()
    }
    /// Entries in order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut (Value, Value)> {
        self.0.iter_mut()
    }
    /// The entries.
    pub fn entries(&self) -> &[(Value, Value)] {
        &self.0
    }
    /// Keeps only the entries for which `f` is true.
    pub fn retain(&mut self, f: impl FnMut(&(Value, Value)) -> bool) {
        let mut f = f;
        self.0.retain(|e| f(e));
    }
}

impl IntoIterator for Map {
    type Item = (Value, Value);
    type IntoIter = std::vec::IntoIter<(Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = &'a (Value, Value);
    type IntoIter = std::slice::Iter<'a, (Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<(Value, Value)> for Map {
    fn from_iter<T: IntoIterator<Item = (Value, Value)>>(iter: T) -> Self {
        Map(iter.into_iter().collect())
    }
}

/// A struct value: one value per field of its schema, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: Schema,
    values: Vec<Value>,
}

impl Struct {
    /// A struct of the given struct schema with every field null.
    pub fn new(schema: Schema) -> Self {
        let n = schema.fields().len();
        Struct {
            schema,
            values: vec![Value::Null; n],
        }
    }

    /// A struct from values already in field order. Fails if the count does not match.
    pub fn from_values(schema: Schema, values: Vec<Value>) -> Result<Self, DataError> {
        if schema.schema_type() != SchemaType::Struct {
            return Err(DataError::new("Struct requires a struct schema"));
        }
        if values.len() != schema.fields().len() {
            return Err(DataError::new(format!(
                "struct schema has {} fields but {} values were given",
                schema.fields().len(),
                values.len()
            )));
        }
        Ok(Struct { schema, values })
    }

    /// The struct's schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The value of a field (None if the schema has no such field).
    pub fn get(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        self.values.get(f.index())
    }

    /// The value of a field, or the field's default when the value is null.
    pub fn get_or_default(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        match self.values.get(f.index()) {
            Some(Value::Null) | None => f.schema().default_value().or(Some(&Value::Null)),
            Some(v) => Some(v),
        }
    }

    /// The value at a field index.
    pub fn get_index(&self, index: usize) -> Option<&Value> {
        self.values.get(index)
    }

    /// Sets a field, checking the value against the field's schema.
    pub fn put(&mut self, field: &str, value: impl Into<Value>) -> Result<&mut Self, DataError> {
        let value = value.into();
        let f = self
            .schema
            .field(field)
            .ok_or_else(|| DataError::new(format!("\"{field}\" is not a valid field name")))?;
        f.schema()
            .validate_value(&value)
            .map_err(|e| DataError::new(format!("field \"{field}\": {e}")))?;
        let idx = f.index();
        self.values[idx] = value;
        Ok(self)
    }

    /// Sets a field by index without validation (for transforms that derive values from a valid struct).
    pub fn put_index_unchecked(&mut self, index: usize, value: Value) {
        if let Some(slot) = self.values.get_mut(index) {
            *slot = value;
        }
    }

    /// The values in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Takes the values out, in field order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// Mutable access to the values in field order (callers keep them valid for the schema).
    pub fn values_mut(&mut self) -> &mut [Value] {
        &mut self.values
    }

    /// Fields paired with their values.
    pub fn iter(&self) -> impl Iterator<Item = (&crate::data::Field, &Value)> {
        self.schema.fields().iter().zip(self.values.iter())
    }

    /// Checks every field against its schema (required fields must be set unless they have a default).
    pub fn validate(&self) -> Result<(), DataError> {
        for (f, v) in self.iter() {
            f.schema()
                .validate_value(v)
                .map_err(|e| DataError::new(format!("field \"{}\": {e}", f.name())))?;
        }
        Ok(())
    }
}

/// A dynamic value of Kafka Connect's data model.
///
/// The logical types have their own variants so that converters and transforms never guess:
/// [`Value::Decimal`], [`Value::Date`] (days since the epoch), [`Value::Time`] (milliseconds since
/// midnight) and [`Value::Timestamp`] (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// No value (a tombstone, or an optional field that is not set).
    #[default]
    Null,
    /// `boolean`.
    Boolean(bool),
    /// `int8`.
    Int8(i8),
    /// `int16`.
    Int16(i16),
    /// `int32`.
    Int32(i32),
    /// `int64`.
    Int64(i64),
    /// `float32`.
    Float32(f32),
    /// `float64`.
    Float64(f64),
    /// `string`.
    String(String),
    /// `bytes`; cloning shares the buffer.
    Bytes(Bytes),
    /// `array`.
    Array(Vec<Value>),
    /// `map`, or a schemaless JSON-like object.
    Map(Map),
    /// `struct`.
    Struct(Struct),
    /// The Decimal logical type.
    Decimal(Decimal),
    /// The Date logical type: days since 1970-01-01.
    Date(i32),
    /// The Time logical type: milliseconds since midnight.
    Time(i32),
    /// The Timestamp logical type: milliseconds since the epoch.
    Timestamp(i64),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The struct, if this is a struct.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }
    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The map, mutably, if this is a map.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    /// The integer value of any integral variant.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }

    /// The name of the variant's type, for error messages (never the value itself).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Int8(_) => "int8",
            Value::Int16(_) => "int16",
            Value::Int32(_) => "int32",
            Value::Int64(_) => "int64",
            Value::Float32(_) => "float32",
            Value::Float64(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
            Value::Decimal(_) => "Decimal",
            Value::Date(_) => "Date",
            Value::Time(_) => "Time",
            Value::Timestamp(_) => "Timestamp",
        }
    }

    /// The schema type a schemaless value of this variant corresponds to.
    pub fn inferred_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) | Value::Date(_) | Value::Time(_) => SchemaType::Int32,
            Value::Int64(_) | Value::Timestamp(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) | Value::Decimal(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident),*) => {
        $(impl From<$t> for Value {
            fn from(x: $t) -> Self { Value::$v(x) }
        })*
    };
}
value_from!(bool => Boolean, i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64, f32 => Float32,
    f64 => Float64, String => String, Bytes => Bytes, Vec<Value> => Array, Map => Map, Struct => Struct,
    Decimal => Decimal);

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(Bytes::from(b))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map(Into::into).unwrap_or(Value::Null)
    }
}

/// A schema (absent for schemaless data) together with a value, as converters produce them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaAndValue {
    /// The schema, or None for schemaless data.
    pub schema: Option<Schema>,
    /// The value.
    pub value: Value,
}

impl SchemaAndValue {
    /// Pairs a schema and a value.
    pub fn new(schema: Option<Schema>, value: Value) -> Self {
        SchemaAndValue { schema, value }
    }
}

#[cfg(test)]
mod decimal_bounds {
    use super::*;

    #[test]
    fn scales_from_input_are_bounded_and_never_overflow() {
        assert!(Decimal::parse("1E-2000000000").is_err());
        assert!(Decimal::parse("1E-2147483648").is_err());
        assert!(Decimal::parse("1E2147483647").is_err());
        assert!(Decimal::from_be_bytes(&[1], i32::MAX).is_err());
        assert!(Decimal::from_be_bytes(&[1], 1001).is_err());
        assert_eq!(Decimal::parse("1.5E3").unwrap().to_string(), "1500");
        assert_eq!(Decimal::from_be_bytes(&[1], 1000).unwrap().scale(), 1000);
        assert!(Decimal::new(5, 0).rescale(i32::MAX).is_err());
        assert!(Decimal::new(5, i32::MIN).rescale(0).is_err());
        // A hand-built out-of-range scale prints without padding.
        assert_eq!(Decimal::new(-12, i32::MAX).to_string(), "-12E-2147483647");
        assert_eq!(Decimal::new(12, i32::MIN).to_string(), "12E2147483648");
    }
}
