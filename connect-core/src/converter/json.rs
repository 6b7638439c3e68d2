//! `JsonConverter`, byte-compatible with Kafka Connect's `org.apache.kafka.connect.json.JsonConverter`.
//!
//! With `schemas.enable=true` (the default) each message is an envelope
//! `{"schema": {...}, "payload": ...}`; with `false`, plain JSON. Logical types are encoded as Kafka
//! Connect does: Decimal as base64 of the unscaled two's complement bytes (or a JSON number with
//! `decimal.format=NUMERIC`), Date as days since the epoch, Time as milliseconds of the day, Timestamp
//! as epoch milliseconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use crate::converter::json_writer::{write_java_f32, write_java_f64, write_json_string};
use crate::converter::{Converter, HeaderConverter};
use crate::data::{
    logical, Decimal, Map, Schema, SchemaAndValue, SchemaBuilder, SchemaType, Struct, Value,
};
use crate::error::{ConfigError, DataError};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Schema identity to (schema kept alive, its JSON bytes).
type SchemaJsonCache = HashMap<usize, (Schema, Arc<[u8]>)>;

/// How Decimal values are written (`decimal.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the unscaled value's bytes (the default, as Kafka Connect).
    Base64,
    /// A plain JSON number.
    Numeric,
}

/// Kafka Connect's JSON converter, byte-compatible with `org.apache.kafka.connect.json.JsonConverter`.
///
/// With `schemas.enable=true` (the default) each message is an envelope
/// `{"schema": {...}, "payload": ...}`; with `false`, plain JSON. Logical types are encoded as Kafka
/// Connect does: Decimal as base64 of the unscaled two's complement bytes (or a JSON number with
/// `decimal.format=NUMERIC`), Date as days since the epoch, Time as milliseconds of the day, Timestamp
/// as epoch milliseconds.
///
/// ```
/// use connect_core::converter::{Converter, JsonConverter};
/// use connect_core::data::{Schema, SchemaBuilder, Struct};
///
/// let conv = JsonConverter::new(true);
/// let schema = SchemaBuilder::struct_().field("id", Schema::int32()).build();
/// let mut s = Struct::new(schema.clone());
/// s.put("id", 7i32).unwrap();
/// let bytes = conv.from_connect_data("t", Some(&schema), &s.into()).unwrap().unwrap();
/// assert_eq!(
///     std::str::from_utf8(&bytes).unwrap(),
///     r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false},"payload":{"id":7}}"#
/// );
/// ```
pub struct JsonConverter {
    schemas_enable: bool,
    decimal_format: DecimalFormat,
    replace_null_with_default: bool,
    cache_size: usize,
    to_json_cache: Mutex<SchemaJsonCache>,
    to_connect_cache: Mutex<HashMap<Box<str>, Schema>>,
}

impl std::fmt::Debug for JsonConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonConverter")
            .field("schemas_enable", &self.schemas_enable)
            .field("decimal_format", &self.decimal_format)
            .finish()
    }
}

impl Default for JsonConverter {
    fn default() -> Self {
        JsonConverter::new(true)
    }
}

impl JsonConverter {
    /// A converter with `schemas.enable` set as given and every other key at its default.
    pub fn new(schemas_enable: bool) -> Self {
        JsonConverter {
            schemas_enable,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
            cache_size: 1000,
            to_json_cache: Mutex::new(HashMap::new()),
            to_connect_cache: Mutex::new(HashMap::new()),
        }
    }

    /// Sets `decimal.format`.
    pub fn with_decimal_format(mut self, f: DecimalFormat) -> Self {
        self.decimal_format = f;
        self
    }

    /// The keys this converter accepts.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "schemas.enable",
                ConfigType::Boolean,
                Some("true"),
                Importance::High,
                "Wrap data in a {schema, payload} envelope.",
            )
            .define(
                "schemas.cache.size",
                ConfigType::Int,
                Some("1000"),
                Importance::High,
                "Schemas cached per direction.",
            )
            .with_validator("schemas.cache.size", Validator::at_least(0))
            .define(
                "decimal.format",
                ConfigType::String,
                Some("BASE64"),
                Importance::Low,
                "BASE64 or NUMERIC encoding of Decimal values.",
            )
            .with_validator("decimal.format", Validator::one_of(&["BASE64", "NUMERIC"]))
            .define(
                "replace.null.with.default",
                ConfigType::Boolean,
                Some("true"),
                Importance::Low,
                "Write a field's default in place of null.",
            )
            .define(
                "converter.type",
                ConfigType::String,
                Some("value"),
                Importance::Low,
                "key, value or header.",
            )
    }

    fn configure_props(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Self::config_def().parse(props)?;
        self.schemas_enable = c.boolean("schemas.enable");
        self.cache_size = c.int("schemas.cache.size").max(0) as usize;
        self.decimal_format = if c
            .string("decimal.format")
            .is_some_and(|s| s.eq_ignore_ascii_case("NUMERIC"))
        {
            DecimalFormat::Numeric
        } else {
            DecimalFormat::Base64
        };
        self.replace_null_with_default = c.boolean("replace.null.with.default");
        Ok(())
    }

    /// Writes a schema as JSON, as Kafka Connect's `asJsonSchema`.
    pub fn schema_to_json(&self, schema: &Schema, out: &mut Vec<u8>) -> Result<(), DataError> {
        let key = schema.addr();
        if let Ok(cache) = self.to_json_cache.lock() {
            if let Some((_, bytes)) = cache.get(&key) {
                out.extend_from_slice(bytes);
                return Ok(());
            }
        }
        let mut buf = Vec::with_capacity(128);
        self.write_schema(schema, &mut buf)?;
        out.extend_from_slice(&buf);
        if self.cache_size > 0 {
            if let Ok(mut cache) = self.to_json_cache.lock() {
                if cache.len() >= self.cache_size {
                    cache.clear();
                }
                cache.insert(key, (schema.clone(), buf.into()));
            }
        }
        Ok(())
    }

    fn write_schema(&self, schema: &Schema, out: &mut Vec<u8>) -> Result<(), DataError> {
        self.write_schema_body(schema, out)?;
        out.push(b'}');
        Ok(())
    }

    /// Writes every member of a schema object but its closing brace (struct fields append `"field"`).
    fn write_schema_body(&self, schema: &Schema, out: &mut Vec<u8>) -> Result<(), DataError> {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(schema.schema_type().name().as_bytes());
        out.push(b'"');
        match schema.schema_type() {
            SchemaType::Array => {
                out.extend_from_slice(b",\"items\":");
                let elem = schema
                    .value_schema()
                    .ok_or_else(|| DataError::new("array schema without element schema"))?;
                self.write_schema(elem, out)?;
            }
            SchemaType::Map => {
                let (k, v) = map_schemas(schema)?;
                out.extend_from_slice(b",\"keys\":");
                self.write_schema(k, out)?;
                out.extend_from_slice(b",\"values\":");
                self.write_schema(v, out)?;
            }
            SchemaType::Struct => {
                out.extend_from_slice(b",\"fields\":[");
                for (i, f) in schema.fields().iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_schema_body(f.schema(), out)?;
                    out.extend_from_slice(b",\"field\":");
                    write_json_string(out, f.name());
                    out.push(b'}');
                }
                out.push(b']');
            }
            _ => {}
        }
        out.extend_from_slice(if schema.is_optional() {
            b",\"optional\":true"
        } else {
            b",\"optional\":false"
        });
        if let Some(n) = schema.name() {
            out.extend_from_slice(b",\"name\":");
            write_json_string(out, n);
        }
        if let Some(v) = schema.version() {
            out.extend_from_slice(b",\"version\":");
            out.extend_from_slice(v.to_string().as_bytes());
        }
        if let Some(d) = schema.doc() {
            out.extend_from_slice(b",\"doc\":");
            write_json_string(out, d);
        }
        if let Some(params) = schema.parameters() {
            out.extend_from_slice(b",\"parameters\":{");
            for (i, (k, v)) in params.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(out, k);
                out.push(b':');
                write_json_string(out, v);
            }
            out.push(b'}');
        }
        if let Some(d) = schema.default_value() {
            if !d.is_null() {
                out.extend_from_slice(b",\"default\":");
                self.write_value(Some(schema), d, out)?;
            }
        }
        Ok(())
    }

    /// Writes a value as JSON, as Kafka Connect's `convertToJson`.
    pub fn write_value(
        &self,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        if value.is_null() {
            return match schema {
                None => {
                    out.extend_from_slice(b"null");
                    Ok(())
                }
                Some(s) => {
                    if self.replace_null_with_default {
                        if let Some(d) = s.default_value().filter(|d| !d.is_null()) {
                            return self.write_value(Some(s), d, out);
                        }
                    }
                    if s.is_optional() {
                        out.extend_from_slice(b"null");
                        Ok(())
                    } else {
                        Err(DataError::new(
                            "Conversion error: null value for field that is required and has no default value",
                        ))
                    }
                }
            };
        }
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int8(v) => write_int(out, *v as i64),
            Value::Int16(v) => write_int(out, *v as i64),
            Value::Int32(v) | Value::Date(v) | Value::Time(v) => write_int(out, *v as i64),
            Value::Int64(v) | Value::Timestamp(v) => write_int(out, *v),
            Value::Float32(v) => write_java_f32(out, *v),
            Value::Float64(v) => write_java_f64(out, *v),
            Value::String(s) => write_json_string(out, s),
            Value::Bytes(b) => write_base64(out, b),
            Value::Decimal(d) => {
                let d = match schema {
                    Some(s) if s.name() == Some(logical::DECIMAL) => {
                        d.rescale(s.decimal_scale()?)?
                    }
                    _ => *d,
                };
                match self.decimal_format {
                    DecimalFormat::Base64 => write_base64(out, &d.to_be_bytes()),
                    DecimalFormat::Numeric => out.extend_from_slice(d.to_string().as_bytes()),
                }
            }
            Value::Array(items) => {
                let elem = match schema {
                    Some(s) => Some(
                        s.value_schema()
                            .ok_or_else(|| DataError::new("array schema without element schema"))?,
                    ),
                    None => None,
                };
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_value(elem, item, out)?;
                }
                out.push(b']');
            }
            Value::Map(m) => self.write_map(schema, m, out)?,
            Value::Struct(s) => {
                if let Some(schema) = schema {
                    if !s.schema().ptr_eq(schema) && s.schema() != schema {
                        return Err(DataError::new("Mismatching schema."));
                    }
                }
                out.push(b'{');
                for (i, (f, v)) in s.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(f.json_key());
                    self.write_value(Some(f.schema()), v, out)?;
                }
                out.push(b'}');
            }
        }
        if let Some(s) = schema {
            check_type(s, value)?;
        }
        Ok(())
    }

    fn write_map(
        &self,
        schema: Option<&Schema>,
        m: &Map,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        let (ks, vs) = match schema {
            Some(s) => {
                let (k, v) = map_schemas(s)?;
                (Some(k), Some(v))
            }
            None => (None, None),
        };
        let object_mode = match ks {
            Some(k) => k.schema_type() == SchemaType::String,
            None => m.iter().all(|(k, _)| matches!(k, Value::String(_))),
        };
        out.push(if object_mode { b'{' } else { b'[' });
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if object_mode {
                match k {
                    Value::String(s) => write_json_string(out, s),
                    _ => return Err(DataError::new("map key is not a string")),
                }
                out.push(b':');
                self.write_value(vs, v, out)?;
            } else {
                out.push(b'[');
                self.write_value(ks, k, out)?;
                out.push(b',');
                self.write_value(vs, v, out)?;
                out.push(b']');
            }
        }
        out.push(if object_mode { b'}' } else { b']' });
        Ok(())
    }

    /// Reads a JSON schema, as Kafka Connect's `asConnectSchema`.
    pub fn schema_from_json(&self, json: &serde_json::Value) -> Result<Option<Schema>, DataError> {
        if json.is_null() {
            return Ok(None);
        }
        let obj = json
            .as_object()
            .ok_or_else(|| DataError::new("Schema must be a JSON object"))?;
        let ty = obj
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| DataError::new("Schema must contain 'type' field"))?;
        let schema_type = match ty {
            "boolean" | "int8" | "int16" | "int32" | "int64" | "float" | "double" | "bytes"
            | "string" | "array" | "map" | "struct" => SchemaType::parse(ty),
            _ => None,
        }
        .ok_or_else(|| DataError::new(format!("Unknown schema type: {ty}")))?;
        let mut b = match schema_type {
            SchemaType::Array => {
                let items = obj.get("items").filter(|v| !v.is_null()).ok_or_else(|| {
                    DataError::new("Array schema did not specify the element type")
                })?;
                SchemaBuilder::array(self.required_schema(items)?)
            }
            SchemaType::Map => {
                let k = obj
                    .get("keys")
                    .ok_or_else(|| DataError::new("Map schema did not specify the key type"))?;
                let v = obj
                    .get("values")
                    .ok_or_else(|| DataError::new("Map schema did not specify the value type"))?;
                SchemaBuilder::map(self.required_schema(k)?, self.required_schema(v)?)
            }
            SchemaType::Struct => {
                let fields = obj
                    .get("fields")
                    .and_then(|f| f.as_array())
                    .ok_or_else(|| {
                        DataError::new("Struct schema's \"fields\" argument is not an array.")
                    })?;
                let mut b = SchemaBuilder::struct_();
                for f in fields {
                    let name = f.get("field").and_then(|n| n.as_str()).ok_or_else(|| {
                        DataError::new("Struct schema's field name not specified properly")
                    })?;
                    b = b.field(name, self.required_schema(f)?);
                }
                b
            }
            other => SchemaBuilder::new(other),
        };
        if obj.get("optional").and_then(|o| o.as_bool()) == Some(true) {
            b = b.optional();
        }
        if let Some(n) = obj.get("name").and_then(|n| n.as_str()) {
            b = b.name(n);
        }
        if let Some(v) = obj.get("version").and_then(|v| v.as_i64()) {
            b = b.version(v as i32);
        }
        if let Some(d) = obj.get("doc").and_then(|d| d.as_str()) {
            b = b.doc(d);
        }
        if let Some(params) = obj.get("parameters").and_then(|p| p.as_object()) {
            for (k, v) in params {
                let v = v
                    .as_str()
                    .ok_or_else(|| DataError::new("Schema parameters must have string values."))?;
                b = b.parameter(k, v);
            }
        }
        if let Some(d) = obj.get("default") {
            let partial = b.build();
            let dv = self.json_to_value(Some(&partial), d)?;
            b = partial.to_builder().default_value(dv);
        }
        b.try_build().map(Some)
    }

    fn required_schema(&self, json: &serde_json::Value) -> Result<Schema, DataError> {
        self.schema_from_json(json)?
            .ok_or_else(|| DataError::new("nested schema must not be null"))
    }

    fn cached_schema(&self, raw: &str) -> Result<Option<Schema>, DataError> {
        let raw = raw.trim();
        if raw == "null" {
            return Ok(None);
        }
        if let Ok(cache) = self.to_connect_cache.lock() {
            if let Some(s) = cache.get(raw) {
                return Ok(Some(s.clone()));
            }
        }
        let json: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| DataError::new(format!("invalid JSON schema: {e}")))?;
        let schema = self.schema_from_json(&json)?;
        if let (Some(s), true) = (&schema, self.cache_size > 0) {
            if let Ok(mut cache) = self.to_connect_cache.lock() {
                if cache.len() >= self.cache_size {
                    cache.clear();
                }
                cache.insert(raw.into(), s.clone());
            }
        }
        Ok(schema)
    }

    /// Converts a parsed JSON tree to a schemaless value (maps, arrays, strings, `int64`, `float64`,
    /// booleans), as [`json_to_value`](Self::json_to_value) with no schema does, consuming the tree so
    /// that its strings move instead of being copied.
    pub fn json_into_schemaless_value(json: serde_json::Value) -> Value {
        schemaless_from_json_owned(json)
    }

    /// Converts parsed JSON to a value of the given schema, as Kafka Connect's `convertToConnect`.
    pub fn json_to_value(
        &self,
        schema: Option<&Schema>,
        json: &serde_json::Value,
    ) -> Result<Value, DataError> {
        use serde_json::Value as J;
        let Some(schema) = schema else {
            return Ok(schemaless_from_json(json));
        };
        if json.is_null() {
            if let Some(d) = schema.default_value() {
                return Ok(d.clone());
            }
            if schema.is_optional() {
                return Ok(Value::Null);
            }
            return Err(DataError::new(format!(
                "Invalid null value for required {} field",
                schema.schema_type()
            )));
        }
        let mismatch = |want: &str| {
            DataError::new(format!(
                "expected {want} for {} schema, found {}",
                schema.schema_type(),
                json_kind(json)
            ))
        };
        match schema.name() {
            Some(logical::DECIMAL) => {
                let scale = schema.decimal_scale()?;
                let d = match json {
                    J::String(s) => {
                        let bytes = B64
                            .decode(s)
                            .map_err(|_| DataError::new("Decimal is not valid base64"))?;
                        Decimal::from_be_bytes(&bytes, scale)?
                    }
                    J::Number(n) => Decimal::parse(&n.to_string())?.rescale(scale)?,
                    _ => return Err(mismatch("base64 text or number")),
                };
                return Ok(Value::Decimal(d));
            }
            Some(logical::DATE) => return Ok(Value::Date(int_in_range(json, schema)? as i32)),
            Some(logical::TIME) => return Ok(Value::Time(int_in_range(json, schema)? as i32)),
            Some(logical::TIMESTAMP) => return Ok(Value::Timestamp(int_in_range(json, schema)?)),
            _ => {}
        }
        Ok(match schema.schema_type() {
            SchemaType::Boolean => {
                Value::Boolean(json.as_bool().ok_or_else(|| mismatch("boolean"))?)
            }
            SchemaType::Int8 => Value::Int8(int_in_range(json, schema)? as i8),
            SchemaType::Int16 => Value::Int16(int_in_range(json, schema)? as i16),
            SchemaType::Int32 => Value::Int32(int_in_range(json, schema)? as i32),
            SchemaType::Int64 => Value::Int64(int_in_range(json, schema)?),
            SchemaType::Float32 => {
                Value::Float32(json.as_f64().ok_or_else(|| mismatch("number"))? as f32)
            }
            SchemaType::Float64 => Value::Float64(json.as_f64().ok_or_else(|| mismatch("number"))?),
            SchemaType::String => {
                Value::String(json.as_str().ok_or_else(|| mismatch("string"))?.to_owned())
            }
            SchemaType::Bytes => {
                let s = json.as_str().ok_or_else(|| mismatch("base64 text"))?;
                Value::Bytes(
                    B64.decode(s)
                        .map_err(|_| DataError::new("bytes value is not valid base64"))?
                        .into(),
                )
            }
            SchemaType::Array => {
                let elem = schema
                    .value_schema()
                    .ok_or_else(|| DataError::new("array schema without element schema"))?;
                let items = json.as_array().ok_or_else(|| mismatch("array"))?;
                Value::Array(
                    items
                        .iter()
                        .map(|i| self.json_to_value(Some(elem), i))
                        .collect::<Result<_, _>>()?,
                )
            }
            SchemaType::Map => {
                let (ks, vs) = map_schemas(schema)?;
                let mut m = Map::new();
                if ks.schema_type() == SchemaType::String {
                    let obj = json.as_object().ok_or_else(|| mismatch("object"))?;
                    for (k, v) in obj {
                        m.push(Value::String(k.clone()), self.json_to_value(Some(vs), v)?);
                    }
                } else {
                    let pairs = json
                        .as_array()
                        .ok_or_else(|| mismatch("array of [key, value]"))?;
                    for p in pairs {
                        match p.as_array().map(Vec::as_slice) {
                            Some([k, v]) => m.push(
                                self.json_to_value(Some(ks), k)?,
                                self.json_to_value(Some(vs), v)?,
                            ),
                            _ => {
                                return Err(DataError::new(
                                    "Found invalid map entry instead of array tuple",
                                ))
                            }
                        }
                    }
                }
                Value::Map(m)
            }
            SchemaType::Struct => {
                let obj = json.as_object().ok_or_else(|| mismatch("object"))?;
                let mut values = Vec::with_capacity(schema.fields().len());
                for f in schema.fields() {
                    let v = obj.get(f.name()).unwrap_or(&J::Null);
                    values.push(
                        self.json_to_value(Some(f.schema()), v)
                            .map_err(|e| DataError::new(format!("field \"{}\": {e}", f.name())))?,
                    );
                }
                Value::Struct(Struct::from_values(schema.clone(), values)?)
            }
        })
    }
}

fn check_type(schema: &Schema, value: &Value) -> Result<(), DataError> {
    let ok = matches!(
        (schema.schema_type(), value),
        (_, Value::Null)
            | (SchemaType::Int8, Value::Int8(_))
            | (SchemaType::Int16, Value::Int16(_))
            | (
                SchemaType::Int32,
                Value::Int32(_) | Value::Date(_) | Value::Time(_)
            )
            | (SchemaType::Int64, Value::Int64(_) | Value::Timestamp(_))
            | (SchemaType::Float32, Value::Float32(_))
            | (SchemaType::Float64, Value::Float64(_))
            | (SchemaType::Boolean, Value::Boolean(_))
            | (SchemaType::String, Value::String(_))
            | (SchemaType::Bytes, Value::Bytes(_) | Value::Decimal(_))
            | (SchemaType::Array, Value::Array(_))
            | (SchemaType::Map, Value::Map(_))
            | (SchemaType::Struct, Value::Struct(_))
    );
    if ok {
        Ok(())
    } else {
        Err(DataError::new(format!(
            "Invalid type for {}: {}",
            schema.schema_type().name().to_uppercase(),
            value.type_name()
        )))
    }
}

fn map_schemas(schema: &Schema) -> Result<(&Schema, &Schema), DataError> {
    match (schema.key_schema(), schema.value_schema()) {
        (Some(k), Some(v)) => Ok((k, v)),
        _ => Err(DataError::new("map schema without key or value schema")),
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
        0,
    );
    let n = B64.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + n);
    out.push(b'"');
}

fn json_kind(j: &serde_json::Value) -> &'static str {
    match j {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn int_in_range(json: &serde_json::Value, schema: &Schema) -> Result<i64, DataError> {
    let v = json.as_i64().ok_or_else(|| {
        DataError::new(format!(
            "expected an integer for {} schema, found {}",
            schema.schema_type(),
            json_kind(json)
        ))
    })?;
    let (min, max) = match schema.schema_type() {
        SchemaType::Int8 => (i8::MIN as i64, i8::MAX as i64),
        SchemaType::Int16 => (i16::MIN as i64, i16::MAX as i64),
        SchemaType::Int32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    if v < min || v > max {
        return Err(DataError::new(format!(
            "integer out of range for {} schema",
            schema.schema_type()
        )));
    }
    Ok(v)
}

/// Schemaless JSON to a value: integers as int64, other numbers as float64, objects as maps.
/// As [`schemaless_from_json`], consuming the tree: strings and keys move instead of being copied.
fn schemaless_from_json_owned(json: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Boolean(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(s),
        J::Array(a) => Value::Array(a.into_iter().map(schemaless_from_json_owned).collect()),
        J::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| (Value::String(k), schemaless_from_json_owned(v)))
                .collect(),
        ),
    }
}

fn schemaless_from_json(json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(s.clone()),
        J::Array(a) => Value::Array(a.iter().map(schemaless_from_json).collect()),
        J::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (Value::String(k.clone()), schemaless_from_json(v)))
                .collect(),
        ),
    }
}

/// Deserializes schemaless JSON straight into a [`Value`] without an intermediate tree.
struct SchemalessSeed;

impl<'de> DeserializeSeed<'de> for SchemalessSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(SchemalessVisitor)
    }
}

struct SchemalessVisitor;

impl<'de> Visitor<'de> for SchemalessVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int64)
            .unwrap_or(Value::Float64(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(SchemalessSeed)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(SchemalessSeed)?;
            // JSON objects with a repeated key keep the last value, as Jackson does.
            if m.get(&k).is_some() {
                m.insert(k, v);
            } else {
                m.push(Value::String(k), v);
            }
        }
        Ok(Value::Map(m))
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    schema: &'a RawValue,
    #[serde(borrow)]
    payload: &'a RawValue,
}

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

impl Converter for JsonConverter {
    fn configure(&mut self, props: &Props, _is_key: bool) -> Result<(), ConfigError> {
        self.configure_props(props)
    }

    fn from_connect_data(
        &self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<bytes::Bytes>, DataError> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        // Written into this thread's scratch buffer, then copied into one allocation of the exact
        // size. A fresh vector would grow (a reallocation for most records) and, as its length
        // rarely equals its capacity, `Bytes::from` would add a third allocation for its header.
        ENCODE_SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                let written = self.encode_into(schema, value, &mut buf);
                let bytes = written.map(|()| bytes::Bytes::copy_from_slice(&buf));
                if buf.capacity() > MAX_KEPT_SCRATCH {
                    *buf = Vec::new();
                }
                bytes.map(Some)
            }
            // Not reached (encoding calls no converter), but a nested call must not panic.
            Err(_) => Ok(self.encode(schema, value)?.map(bytes::Bytes::from)),
        })
    }

    fn to_connect_data(
        &self,
        _topic: &str,
        bytes: Option<&bytes::Bytes>,
    ) -> Result<SchemaAndValue, DataError> {
        self.decode(bytes.map(|b| &b[..]))
    }
}

thread_local! {
    /// Where [`Converter::from_connect_data`] writes before copying out the exact bytes.
    static ENCODE_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A scratch buffer grown past this by one large record is let go rather than kept per thread.
const MAX_KEPT_SCRATCH: usize = 1 << 20;

impl JsonConverter {
    /// Serializes a value (the envelope when `schemas.enable`); `None` for a schemaless null.
    pub fn encode(
        &self,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(256);
        self.encode_into(schema, value, &mut out)?;
        Ok(Some(out))
    }

    /// Appends the serialized value (the envelope when `schemas.enable`) to `out`.
    fn encode_into(
        &self,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        if self.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => self.schema_to_json(s, out)?,
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            self.write_value(schema, value, out)?;
            out.push(b'}');
            Ok(())
        } else {
            self.write_value(schema, value, out)
        }
    }

    /// Deserializes bytes (an envelope when `schemas.enable`).
    pub fn decode(&self, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::default());
        };
        if self.schemas_enable {
            let env: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| {
                if e.is_data() {
                    DataError::new(ENVELOPE_ERROR)
                } else {
                    DataError::new(format!(
                        "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
                    ))
                }
            })?;
            let schema = self.cached_schema(env.schema.get())?;
            let value = match &schema {
                None => {
                    let mut de = serde_json::Deserializer::from_str(env.payload.get());
                    SchemalessSeed.deserialize(&mut de).map_err(json_err)?
                }
                Some(s) => {
                    let j: serde_json::Value =
                        serde_json::from_str(env.payload.get()).map_err(json_err)?;
                    self.json_to_value(Some(s), &j)?
                }
            };
            Ok(SchemaAndValue::new(schema, value))
        } else {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let value = SchemalessSeed.deserialize(&mut de).map_err(json_err)?;
            de.end().map_err(json_err)?;
            Ok(SchemaAndValue::new(None, value))
        }
    }
}

fn json_err(e: serde_json::Error) -> DataError {
    // serde_json's message has a position but never the input text.
    DataError::new(format!(
        "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
    ))
}

impl HeaderConverter for JsonConverter {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        self.configure_props(props)
    }
    fn from_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        self.encode(schema, value)
    }
    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.decode(bytes)
    }
}
