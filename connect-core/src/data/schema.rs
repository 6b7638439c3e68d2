//! Kafka Connect schemas: types, optionality, defaults, names, versions, docs, parameters and logical types.

use std::fmt;
use std::sync::Arc;

use crate::data::Value;
use crate::error::DataError;

/// The primitive and composite types of Kafka Connect's data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// 8-bit signed integer.
    Int8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// IEEE 754 single precision.
    Float32,
    /// IEEE 754 double precision.
    Float64,
    /// true or false.
    Boolean,
    /// UTF-8 text.
    String,
    /// Raw bytes.
    Bytes,
    /// A list of values of one schema.
    Array,
    /// Key/value pairs with one key schema and one value schema.
    Map,
    /// Named fields in order, each with its own schema.
    Struct,
}

impl SchemaType {
    /// The name Kafka Connect uses, as in JsonConverter's `"type"` (e.g. `int32`, `struct`).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// Parses a type name as written in Kafka Connect configs and JSON schemas. Accepts both the JSON names
    /// (`float`, `double`) and the Java enum names (`float32`, `float64`), case-insensitively.
    pub fn parse(name: &str) -> Option<SchemaType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" | "float32" => SchemaType::Float32,
            "double" | "float64" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }

    /// True for every type but array, map and struct.
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Logical type names, as Kafka Connect spells them in schema names.
pub mod logical {
    /// `org.apache.kafka.connect.data.Decimal` (bytes; parameter `scale`).
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    /// `org.apache.kafka.connect.data.Date` (int32 days since the epoch).
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// `org.apache.kafka.connect.data.Time` (int32 milliseconds since midnight).
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    /// `org.apache.kafka.connect.data.Timestamp` (int64 milliseconds since the epoch).
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// The Decimal schema parameter that holds the scale.
    pub const SCALE_PARAM: &str = "scale";
}

/// One field of a struct schema.
#[derive(Clone)]
pub struct Field {
    name: String,
    index: usize,
    schema: Schema,
    /// The name as a JSON object key with its colon (`"name":`), escaped once here instead of for
    /// every record the JSON converter writes.
    json_key: Box<[u8]>,
}

impl Field {
    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The field's position in its struct.
    pub fn index(&self) -> usize {
        self.index
    }
    /// The field's schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
    pub(crate) fn json_key(&self) -> &[u8] {
        &self.json_key
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("schema", &self.schema)
            .finish()
    }
}

impl PartialEq for Field {
    /// Name, position and schema (the JSON key follows from the name).
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.name == other.name && self.schema == other.schema
    }
}

fn json_key(name: &str) -> Box<[u8]> {
    let mut key = Vec::with_capacity(name.len() + 3);
    crate::converter::write_json_string(&mut key, name);
    key.push(b':');
    key.into_boxed_slice()
}

#[derive(Debug, PartialEq)]
struct SchemaInner {
    ty: SchemaType,
    optional: bool,
    default: Option<Value>,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    parameters: Option<Vec<(String, String)>>,
    fields: Vec<Field>,
    key: Option<Schema>,
    value: Option<Schema>,
}

/// An immutable Kafka Connect schema. Cloning is a reference count increment.
///
/// ```
/// use connect_core::data::{Schema, SchemaBuilder, Struct, Value};
///
/// let patient = SchemaBuilder::struct_()
///     .name("clinical.Patient")
///     .field("mrn", Schema::string())
///     .field("age", Schema::optional_int32())
///     .build();
/// let mut s = Struct::new(patient.clone());
/// s.put("mrn", "12345").unwrap();
/// assert_eq!(s.get("mrn"), Some(&Value::from("12345")));
/// assert!(s.validate().is_ok());
/// ```
#[derive(Clone, PartialEq)]
pub struct Schema(Arc<SchemaInner>);

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schema{{{}", self.0.ty)?;
        if let Some(n) = &self.0.name {
            write!(f, " {n}")?;
        }
        if self.0.optional {
            f.write_str(" optional")?;
        }
        if !self.0.fields.is_empty() {
            f.write_str(" [")?;
            for (i, field) in self.0.fields.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}: {:?}", field.name, field.schema)?;
            }
            f.write_str("]")?;
        }
        f.write_str("}")
    }
}

macro_rules! primitive_ctors {
    ($($req:ident, $opt:ident => $ty:expr;)*) => {
        $(
            #[doc = concat!("A required `", stringify!($req), "` schema (shared; cloning is a reference count).")]
            pub fn $req() -> Schema {
                static S: std::sync::LazyLock<Schema> =
                    std::sync::LazyLock::new(|| SchemaBuilder::new($ty).build());
                S.clone()
            }
            #[doc = concat!("An optional `", stringify!($req), "` schema (shared; cloning is a reference count).")]
            pub fn $opt() -> Schema {
                static S: std::sync::LazyLock<Schema> =
                    std::sync::LazyLock::new(|| SchemaBuilder::new($ty).optional().build());
                S.clone()
            }
        )*
    };
}

impl Schema {
    primitive_ctors! {
        int8, optional_int8 => SchemaType::Int8;
        int16, optional_int16 => SchemaType::Int16;
        int32, optional_int32 => SchemaType::Int32;
        int64, optional_int64 => SchemaType::Int64;
        float32, optional_float32 => SchemaType::Float32;
        float64, optional_float64 => SchemaType::Float64;
        boolean, optional_boolean => SchemaType::Boolean;
        string, optional_string => SchemaType::String;
        bytes, optional_bytes => SchemaType::Bytes;
    }

    /// The schema's type.
    pub fn schema_type(&self) -> SchemaType {
        self.0.ty
    }
    /// Whether null is a valid value.
    pub fn is_optional(&self) -> bool {
        self.0.optional
    }
    /// The default value, if any.
    pub fn default_value(&self) -> Option<&Value> {
        self.0.default.as_ref()
    }
    /// The schema's name (for logical types, the logical type name).
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// The schema's version.
    pub fn version(&self) -> Option<i32> {
        self.0.version
    }
    /// The schema's documentation.
    pub fn doc(&self) -> Option<&str> {
        self.0.doc.as_deref()
    }
    /// The schema's parameters, in insertion order.
    pub fn parameters(&self) -> Option<&[(String, String)]> {
        self.0.parameters.as_deref()
    }
    /// One parameter's value.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.0
            .parameters
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// The fields of a struct schema, in order (empty for other types).
    pub fn fields(&self) -> &[Field] {
        &self.0.fields
    }
    /// A struct field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.0.fields.iter().find(|f| f.name == name)
    }
    /// The key schema of a map schema.
    pub fn key_schema(&self) -> Option<&Schema> {
        self.0.key.as_ref()
    }
    /// The value schema of a map schema, or the element schema of an array schema.
    pub fn value_schema(&self) -> Option<&Schema> {
        self.0.value.as_ref()
    }
    /// True when both handles point at the same schema object (a cheap first check before `==`).
    pub fn ptr_eq(&self, other: &Schema) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The address of the shared schema object: an identity key for caches that also hold a clone
    /// (which keeps the address from being reused).
    pub fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// A builder initialised with every property of this schema, to derive a changed copy.
    pub fn to_builder(&self) -> SchemaBuilder {
        SchemaBuilder {
            inner: SchemaInner {
                ty: self.0.ty,
                optional: self.0.optional,
                default: self.0.default.clone(),
                name: self.0.name.clone(),
                version: self.0.version,
                doc: self.0.doc.clone(),
                parameters: self.0.parameters.clone(),
                fields: self.0.fields.clone(),
                key: self.0.key.clone(),
                value: self.0.value.clone(),
            },
        }
    }

    /// The Decimal logical type with the given scale.
    pub fn decimal(scale: i32) -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Bytes)
            .name(logical::DECIMAL)
            .version(1)
            .parameter(logical::SCALE_PARAM, scale.to_string())
    }
    /// The Date logical type (days since the epoch).
    pub fn date() -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Int32)
            .name(logical::DATE)
            .version(1)
    }
    /// The Time logical type (milliseconds since midnight).
    pub fn time() -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Int32)
            .name(logical::TIME)
            .version(1)
    }
    /// The Timestamp logical type (milliseconds since the epoch).
    pub fn timestamp() -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Int64)
            .name(logical::TIMESTAMP)
            .version(1)
    }

    /// The scale of a Decimal schema, or an error naming the problem.
    pub fn decimal_scale(&self) -> Result<i32, DataError> {
        let raw = self
            .parameter(logical::SCALE_PARAM)
            .ok_or_else(|| DataError::new("Decimal schema has no 'scale' parameter"))?;
        raw.parse()
            .map_err(|_| DataError::new(format!("Decimal schema has invalid scale '{raw}'")))
    }

    /// Validates a value against this schema, recursively, as Kafka Connect's `ConnectSchema.validateValue`.
    pub fn validate_value(&self, value: &Value) -> Result<(), DataError> {
        validate(self, value, None)
    }
}

fn validate(schema: &Schema, value: &Value, field: Option<&str>) -> Result<(), DataError> {
    let at = || {
        field
            .map(|f| format!(" for field \"{f}\""))
            .unwrap_or_default()
    };
    if value.is_null() {
        if schema.is_optional() || schema.default_value().is_some() {
            return Ok(());
        }
        return Err(DataError::new(format!(
            "invalid value: null used for required {} schema{}",
            schema.schema_type(),
            at()
        )));
    }
    let ok = match (schema.name(), value) {
        (Some(logical::DECIMAL), Value::Decimal(d)) => {
            let scale = schema.decimal_scale()?;
            if d.scale() != scale {
                return Err(DataError::new(format!(
                    "Decimal value has scale {} but schema has scale {scale}{}",
                    d.scale(),
                    at()
                )));
            }
            true
        }
        (Some(logical::DATE), Value::Date(_))
        | (Some(logical::TIME), Value::Time(_))
        | (Some(logical::TIMESTAMP), Value::Timestamp(_)) => true,
        _ => match (schema.schema_type(), value) {
            (SchemaType::Int8, Value::Int8(_))
            | (SchemaType::Int16, Value::Int16(_))
            | (SchemaType::Int32, Value::Int32(_))
            | (SchemaType::Int64, Value::Int64(_))
            | (SchemaType::Float32, Value::Float32(_))
            | (SchemaType::Float64, Value::Float64(_))
            | (SchemaType::Boolean, Value::Boolean(_))
            | (SchemaType::String, Value::String(_))
            | (SchemaType::Bytes, Value::Bytes(_)) => true,
            (SchemaType::Array, Value::Array(items)) => {
                let elem = schema
                    .value_schema()
                    .ok_or_else(|| DataError::new("array schema without element schema"))?;
                for item in items {
                    validate(elem, item, Some("array element"))?;
                }
                true
            }
            (SchemaType::Map, Value::Map(entries)) => {
                let (ks, vs) = match (schema.key_schema(), schema.value_schema()) {
                    (Some(k), Some(v)) => (k, v),
                    _ => return Err(DataError::new("map schema without key or value schema")),
                };
                for (k, v) in entries {
                    validate(ks, k, Some("map key"))?;
                    validate(vs, v, Some("map value"))?;
                }
                true
            }
            (SchemaType::Struct, Value::Struct(s)) => {
                if s.schema() != schema {
                    return Err(DataError::new(format!(
                        "struct schema does not match{}",
                        at()
                    )));
                }
                s.validate()?;
                true
            }
            _ => false,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(DataError::new(format!(
            "invalid value: {} used for {} schema{}{}",
            value.type_name(),
            schema.schema_type(),
            schema
                .name()
                .map(|n| format!(" named {n}"))
                .unwrap_or_default(),
            at()
        )))
    }
}

/// Builds a [`Schema`]. Mirrors Kafka Connect's `SchemaBuilder`.
#[derive(Debug)]
pub struct SchemaBuilder {
    inner: SchemaInner,
}

impl SchemaBuilder {
    /// A builder for a required schema of the given type.
    pub fn new(ty: SchemaType) -> Self {
        SchemaBuilder {
            inner: SchemaInner {
                ty,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: None,
                fields: Vec::new(),
                key: None,
                value: None,
            },
        }
    }
    /// A struct schema builder; add fields with [`SchemaBuilder::field`].
    pub fn struct_() -> Self {
        Self::new(SchemaType::Struct)
    }
    /// An array schema builder.
    pub fn array(elements: Schema) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.inner.value = Some(elements);
        b
    }
    /// A map schema builder.
    pub fn map(key: Schema, value: Schema) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.inner.key = Some(key);
        b.inner.value = Some(value);
        b
    }
    /// Makes the schema optional (null is valid).
    pub fn optional(mut self) -> Self {
        self.inner.optional = true;
        self
    }
    /// Makes the schema required (the default).
    pub fn required(mut self) -> Self {
        self.inner.optional = false;
        self
    }
    /// Sets the schema's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = Some(name.into());
        self
    }
    /// Sets the schema's version.
    pub fn version(mut self, version: i32) -> Self {
        self.inner.version = Some(version);
        self
    }
    /// Sets the schema's documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.inner.doc = Some(doc.into());
        self
    }
    /// Adds or replaces a parameter.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let params = self.inner.parameters.get_or_insert_with(Vec::new);
        let value = value.into();
        match params.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => params.push((key, value)),
        }
        self
    }
    /// Sets the default value. It is checked against the schema by [`SchemaBuilder::try_build`].
    pub fn default_value(mut self, value: Value) -> Self {
        self.inner.default = Some(value);
        self
    }
    /// Appends a struct field. A field with the same name replaces the earlier one in place.
    pub fn field(mut self, name: impl Into<String>, schema: Schema) -> Self {
        let name = name.into();
        if let Some(existing) = self.inner.fields.iter_mut().find(|f| f.name == name) {
            existing.schema = schema;
        } else {
            let index = self.inner.fields.len();
            self.inner.fields.push(Field {
                json_key: json_key(&name),
                name,
                index,
                schema,
            });
        }
        self
    }
    /// The type being built.
    pub fn schema_type(&self) -> SchemaType {
        self.inner.ty
    }

    /// Builds the schema, checking the default value against it.
    pub fn try_build(self) -> Result<Schema, DataError> {
        let default = self.inner.default.clone();
        let schema = Schema(Arc::new(self.inner));
        if let Some(d) = default {
            if !d.is_null() {
                schema
                    .validate_value(&d)
                    .map_err(|e| DataError::new(format!("invalid default value: {e}")))?;
            }
        }
        Ok(schema)
    }

    /// Builds the schema. The default value is not checked; use [`SchemaBuilder::try_build`] for input
    /// from outside the program.
    pub fn build(self) -> Schema {
        Schema(Arc::new(self.inner))
    }
}
