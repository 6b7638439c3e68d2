//! The index mapping inferred from a record's value schema, as Confluent's sink writes it when
//! `schema.ignore=false`: integers as `byte`/`short`/`integer`/`long`, floats as `float`/`double`,
//! strings as `text` with a `keyword` sub-field (`ignore_above` 256), bytes as `binary`, Date, Time
//! and Timestamp as `date`, Decimal as `double`, structs as `properties`, arrays as their element's
//! mapping, maps as `properties` `key` and `value`; a field's default value becomes its
//! `null_value` (except for text and binary, which Elasticsearch refuses).

use connect_core::data::logical;
use connect_core::data::{Schema, SchemaType, Value};
use serde_json::{json, Map, Value as Json};

/// The mapping document of a value schema (`{"properties": {...}}` for a struct), or `None` for a
/// schema that is not a struct: a document's top level must be an object.
pub fn infer(schema: &Schema) -> Option<Json> {
    (schema.schema_type() == SchemaType::Struct).then(|| field_mapping(schema))
}

fn field_mapping(schema: &Schema) -> Json {
    let logical_type = match schema.name() {
        Some(logical::DATE | logical::TIME | logical::TIMESTAMP) => Some("date"),
        Some(logical::DECIMAL) => Some("double"),
        _ => None,
    };
    if let Some(ty) = logical_type {
        return primitive(ty, schema.default_value());
    }
    match schema.schema_type() {
        SchemaType::Array => schema
            .value_schema()
            .map(field_mapping)
            .unwrap_or_else(|| json!({})),
        SchemaType::Map => {
            let mut props = Map::new();
            if let Some(k) = schema.key_schema() {
                props.insert("key".into(), field_mapping(k));
            }
            if let Some(v) = schema.value_schema() {
                props.insert("value".into(), field_mapping(v));
            }
            json!({ "properties": props })
        }
        SchemaType::Struct => {
            let props: Map<String, Json> = schema
                .fields()
                .iter()
                .map(|f| (f.name().to_owned(), field_mapping(f.schema())))
                .collect();
            json!({ "properties": props })
        }
        SchemaType::Boolean => primitive("boolean", schema.default_value()),
        SchemaType::Int8 => primitive("byte", schema.default_value()),
        SchemaType::Int16 => primitive("short", schema.default_value()),
        SchemaType::Int32 => primitive("integer", schema.default_value()),
        SchemaType::Int64 => primitive("long", schema.default_value()),
        SchemaType::Float32 => primitive("float", schema.default_value()),
        SchemaType::Float64 => primitive("double", schema.default_value()),
        SchemaType::String => primitive("text", None),
        SchemaType::Bytes => primitive("binary", None),
    }
}

fn primitive(ty: &str, default: Option<&Value>) -> Json {
    let mut m = Map::new();
    m.insert("type".into(), Json::from(ty));
    if ty == "text" {
        m.insert(
            "fields".into(),
            json!({"keyword": {"type": "keyword", "ignore_above": 256}}),
        );
    }
    let null_value = match default {
        Some(Value::Boolean(b)) => Some(Json::from(*b)),
        Some(Value::Float32(f)) => Some(Json::from(f64::from(*f))),
        Some(Value::Float64(f)) => Some(Json::from(*f)),
        Some(Value::Date(days)) => Some(Json::from(i64::from(*days) * 86_400_000)),
        Some(Value::Time(ms)) => Some(Json::from(*ms)),
        Some(Value::Timestamp(ms)) => Some(Json::from(*ms)),
        Some(v) => v.as_i64().map(Json::from),
        None => None,
    };
    if let Some(n) = null_value {
        m.insert("null_value".into(), n);
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::data::SchemaBuilder;

    #[test]
    fn a_provider_schema_maps_as_confluents() {
        let address = SchemaBuilder::struct_()
            .field("city", Schema::string())
            .field("zip", Schema::optional_string())
            .build();
        let schema = SchemaBuilder::struct_()
            .field("providerId", Schema::string())
            .field("npi", Schema::int64())
            .field(
                "active",
                SchemaBuilder::new(SchemaType::Boolean)
                    .default_value(Value::Boolean(true))
                    .build(),
            )
            .field("rating", Schema::float32())
            .field("updated", Schema::timestamp().build())
            .field("fee", Schema::decimal(2).build())
            .field("photo", Schema::optional_bytes())
            .field(
                "specialties",
                SchemaBuilder::array(Schema::string()).build(),
            )
            .field("address", address)
            .field(
                "languages",
                SchemaBuilder::map(Schema::string(), Schema::int32()).build(),
            )
            .build();
        let text = json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}});
        assert_eq!(
            infer(&schema).unwrap(),
            json!({"properties": {
                "providerId": text,
                "npi": {"type": "long"},
                "active": {"type": "boolean", "null_value": true},
                "rating": {"type": "float"},
                "updated": {"type": "date"},
                "fee": {"type": "double"},
                "photo": {"type": "binary"},
                "specialties": text,
                "address": {"properties": {"city": text, "zip": text}},
                "languages": {"properties": {"key": text, "value": {"type": "integer"}}},
            }})
        );
        assert_eq!(infer(&Schema::string()), None);
    }
}
