//! Values as text and text as values, in the spirit of Kafka Connect's `Values.convertToString` and
//! `Values.parseString` (used by header converters and by the string converter).

use crate::converter::JsonConverter;
use crate::data::{Schema, SchemaAndValue, Value};

/// The text form of a value: strings as they are, numbers as Java prints them, logical types as their
/// numeric encoding, arrays and maps as compact JSON, structs as JSON objects.
pub fn value_to_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Decimal(d) => d.to_string(),
        other => {
            let mut out = Vec::new();
            let conv = JsonConverter::new(false);
            let schema = match other {
                Value::Struct(s) => Some(s.schema().clone()),
                _ => None,
            };
            match conv.write_value(schema.as_ref(), other, &mut out) {
                Ok(()) => {
                    let text = String::from_utf8_lossy(&out).into_owned();
                    // Bytes are written as base64 inside quotes; drop the quotes.
                    match other {
                        Value::Bytes(_) => text.trim_matches('"').to_owned(),
                        _ => text,
                    }
                }
                Err(_) => format!("<{}>", other.type_name()),
            }
        }
    }
}

/// Parses header text, inferring the type: booleans, the smallest integer type that holds the number,
/// float64, JSON arrays and objects (schemaless), otherwise a string.
pub fn parse_text(s: &str) -> SchemaAndValue {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return SchemaAndValue::new(
            Some(Schema::boolean()),
            Value::Boolean(t.eq_ignore_ascii_case("true")),
        );
    }
    if let Ok(i) = t.parse::<i64>() {
        return if let Ok(v) = i8::try_from(i) {
            SchemaAndValue::new(Some(Schema::int8()), Value::Int8(v))
        } else if let Ok(v) = i16::try_from(i) {
            SchemaAndValue::new(Some(Schema::int16()), Value::Int16(v))
        } else if let Ok(v) = i32::try_from(i) {
            SchemaAndValue::new(Some(Schema::int32()), Value::Int32(v))
        } else {
            SchemaAndValue::new(Some(Schema::int64()), Value::Int64(i))
        };
    }
    if t.contains(['.', 'e', 'E']) && !t.chars().any(|c| c.is_alphabetic() && c != 'e' && c != 'E')
    {
        if let Ok(f) = t.parse::<f64>() {
            return SchemaAndValue::new(Some(Schema::float64()), Value::Float64(f));
        }
    }
    if t.starts_with('[') || t.starts_with('{') {
        let conv = JsonConverter::new(false);
        if let Ok(sv) = conv.decode(Some(t.as_bytes())) {
            return sv;
        }
    }
    SchemaAndValue::new(Some(Schema::string()), Value::String(s.to_owned()))
}
