//! `InsertField$Key` / `InsertField$Value`: adds the record's topic, partition, offset (sink records),
//! timestamp, or a static string to the key or value. A field name ending in `!` is required (the
//! record must have that piece), `?` (the default) optional.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props};
use connect_core::data::{Schema, Struct, Value};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

use crate::schema_cache::{with_extra_fields, SchemaCache};
use crate::target::{
    need_map, need_struct, with_replace_null_with_default, NullReplacement, Target,
};

const PURPOSE: &str = "field insertion";

#[derive(Debug, Clone, PartialEq)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(s: Option<&str>) -> Option<Spec> {
        let s = s?.trim();
        if s.is_empty() {
            return None;
        }
        Some(if let Some(n) = s.strip_suffix('!') {
            Spec {
                name: n.to_owned(),
                optional: false,
            }
        } else if let Some(n) = s.strip_suffix('?') {
            Spec {
                name: n.to_owned(),
                optional: true,
            }
        } else {
            Spec {
                name: s.to_owned(),
                optional: true,
            }
        })
    }
}

/// The fields one record gets, in config order.
type Additions<'a> = [Option<(&'a Spec, Schema, Value)>; 5];

/// See the [module docs](self).
#[derive(Debug)]
pub struct InsertField {
    target: Target,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    cache: SchemaCache,
    nulls: NullReplacement,
}

impl InsertField {
    /// An unconfigured transform for the key or the value.
    pub fn new(target: Target) -> Self {
        InsertField {
            target,
            topic: None,
            partition: None,
            offset: None,
            timestamp: None,
            static_field: None,
            static_value: None,
            cache: SchemaCache::default(),
            nulls: NullReplacement::default(),
        }
    }

    fn additions<'a, R: Record>(&'a self, r: &R) -> Result<Additions<'a>, ConnectError> {
        let base = r.base();
        // At most five fields: a fixed array, so no allocation per record for the list itself.
        let mut out: Additions<'a> = Default::default();
        let mut next = 0;
        // Values and schemas are built only for the fields that are configured.
        let mut add = |spec: &'a Option<Spec>,
                       schemas: fn() -> (Schema, Schema),
                       v: &dyn Fn() -> Option<Value>|
         -> Result<(), ConnectError> {
            if let Some(s) = spec {
                match v() {
                    None if !s.optional => {
                        return Err(DataError::new(format!(
                            "required field '{}' has no value in this record",
                            s.name
                        ))
                        .into())
                    }
                    v => {
                        let (schema, opt_schema) = schemas();
                        out[next] = Some((
                            s,
                            if s.optional { opt_schema } else { schema },
                            v.unwrap_or(Value::Null),
                        ));
                        next += 1;
                    }
                }
            }
            Ok(())
        };
        add(
            &self.topic,
            || (Schema::string(), Schema::optional_string()),
            &|| Some(Value::String(base.topic.clone())),
        )?;
        add(
            &self.partition,
            || (Schema::int32(), Schema::optional_int32()),
            &|| base.kafka_partition.map(Value::Int32),
        )?;
        add(
            &self.offset,
            || (Schema::int64(), Schema::optional_int64()),
            &|| r.kafka_offset().map(Value::Int64),
        )?;
        add(
            &self.timestamp,
            || {
                (
                    Schema::timestamp().build(),
                    Schema::timestamp().optional().build(),
                )
            },
            &|| base.timestamp.map(Value::Timestamp),
        )?;
        add(
            &self.static_field,
            || (Schema::string(), Schema::optional_string()),
            &|| self.static_value.clone().map(Value::String),
        )?;
        Ok(out)
    }

    fn updated_schema(&self, schema: &Schema, adds: &Additions<'_>) -> Schema {
        self.cache
            .get_or_derive(schema, || {
                Ok::<_, std::convert::Infallible>(with_extra_fields(
                    schema,
                    adds.iter()
                        .flatten()
                        .map(|(spec, s, _)| (spec.name.as_str(), s.clone())),
                ))
            })
            .unwrap_or_else(|e| match e {})
    }
}

impl<R: Record> Transformation<R> for InsertField {
    fn config_def(&self) -> ConfigDef {
        with_replace_null_with_default(
            ConfigDef::new()
                .define_optional(
                    "topic.field",
                    ConfigType::String,
                    Importance::Medium,
                    "Field for the topic name.",
                )
                .define_optional(
                    "partition.field",
                    ConfigType::String,
                    Importance::Medium,
                    "Field for the Kafka partition.",
                )
                .define_optional(
                    "offset.field",
                    ConfigType::String,
                    Importance::Medium,
                    "Field for the Kafka offset (sink connectors only).",
                )
                .define_optional(
                    "timestamp.field",
                    ConfigType::String,
                    Importance::Medium,
                    "Field for the record timestamp.",
                )
                .define_optional(
                    "static.field",
                    ConfigType::String,
                    Importance::Medium,
                    "Field for a static value.",
                )
                .define_optional(
                    "static.value",
                    ConfigType::String,
                    Importance::Medium,
                    "The static value.",
                ),
        )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.nulls = NullReplacement::from_config(&c);
        self.topic = Spec::parse(c.string("topic.field"));
        self.partition = Spec::parse(c.string("partition.field"));
        self.offset = Spec::parse(c.string("offset.field"));
        self.timestamp = Spec::parse(c.string("timestamp.field"));
        self.static_field = Spec::parse(c.string("static.field"));
        self.static_value = c.string("static.value").map(str::to_owned);
        if self.static_field.is_some() && self.static_value.is_none() {
            return Err(ConfigError::new(
                "static.value",
                "required when static.field is set",
            ));
        }
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        if self.target.get(record.base()).1.is_null() {
            // Tombstones (and null keys) pass through untouched, as in Kafka Connect.
            return Ok(Some(record));
        }
        let adds = self.additions(&record)?;
        let base = record.base_mut();
        let (schema, value) = self.target.take(base);
        match (schema, value) {
            (schema, Value::Null) => self.target.set(base, schema, Value::Null),
            (None, Value::Map(mut m)) => {
                for (spec, _, v) in adds.into_iter().flatten() {
                    m.insert(spec.name.clone(), v);
                }
                self.target.set(base, None, Value::Map(m));
            }
            (Some(s), Value::Struct(st)) => {
                let new_schema = self.updated_schema(&s, &adds);
                let mut values = st.into_values();
                self.nulls.fill(&s, &mut values);
                values.extend(adds.into_iter().flatten().map(|(_, _, v)| v));
                let out = Struct::from_values(new_schema.clone(), values)?;
                self.target.set(base, Some(new_schema), Value::Struct(out));
            }
            (None, other) => return Err(need_map(PURPOSE, &other)),
            (Some(_), other) => return Err(need_struct(PURPOSE, &other)),
        }
        Ok(Some(record))
    }
}
