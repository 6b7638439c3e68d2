//! Debezium's `ExtractNewRecordState`: flattens a change event envelope (`before`, `after`, `source`,
//! `op`, `ts_ms`) to the row state after the change, so sinks see plain rows.
//!
//! * `delete.tombstone.handling.mode`: `drop` (drop deletes and tombstones), `tombstone` (drop deletes,
//!   keep tombstones; the default), `rewrite` (deletes become the `before` row with `__deleted`
//!   = `"true"`, other rows get `"false"`; tombstones dropped), `rewrite-with-tombstone` (the same,
//!   tombstones kept), `delete-to-tombstone` (deletes become tombstones, original tombstones dropped).
//! * The legacy keys the seed still uses, `drop.tombstones` and `delete.handling.mode`
//!   (`drop`/`rewrite`/`none`), are mapped to the equivalent mode when the new key is absent.
//! * `add.fields` (`op`, `table`, `source.ts_ms`, optionally `path:alias`) adds envelope fields to the
//!   row as `__op`, `__table`, `__source_ts_ms` (prefix `add.fields.prefix`); `add.headers` does the same
//!   as headers (prefix `add.headers.prefix`).
//! * `route.by.field`: the record's topic becomes the value of that row field.
//! * Truncate events are dropped; records that are not change events pass through unchanged.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::{Schema, SchemaType, Struct, Value};

use crate::schema_cache::{with_extra_fields, SchemaCache};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

/// How deletes and tombstones are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteMode {
    /// Drop deletes and tombstones.
    Drop,
    /// Drop deletes, keep tombstones (Debezium's default).
    #[default]
    Tombstone,
    /// Deletes become the `before` row flagged `__deleted`; tombstones dropped.
    Rewrite,
    /// As `Rewrite`, tombstones kept.
    RewriteWithTombstone,
    /// Deletes become tombstones; original tombstones dropped.
    DeleteToTombstone,
    /// Legacy `delete.handling.mode=none` with `drop.tombstones=false`: deletes become null-valued
    /// records and tombstones are kept.
    PassThrough,
}

#[derive(Debug, Clone)]
struct AddedField {
    path: Vec<String>,
    name: String,
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub struct ExtractNewRecordState {
    mode: DeleteMode,
    fields: Vec<AddedField>,
    headers: Vec<AddedField>,
    route_by: Option<String>,
    cache: SchemaCache,
}

const DELETED: &str = "__deleted";

fn parse_added(list: &[String], prefix: &str) -> Vec<AddedField> {
    list.iter()
        .map(|item| {
            let (path, alias) = match item.split_once(':') {
                Some((p, a)) => (p.trim(), Some(a.trim())),
                None => (item.trim(), None),
            };
            AddedField {
                path: path.split('.').map(str::to_owned).collect(),
                name: format!(
                    "{prefix}{}",
                    alias
                        .map(str::to_owned)
                        .unwrap_or_else(|| path.replace('.', "_"))
                ),
            }
        })
        .collect()
}

/// An envelope field (`op`, `source.ts_ms`) and its schema, from a struct or a map envelope. A single
/// name that is not a top-level envelope field is looked up in `source` (`table`, `db`, `lsn`), as
/// Debezium does.
fn envelope_field(
    schema: Option<&Schema>,
    env: &Value,
    path: &[String],
) -> (Option<Schema>, Value) {
    let top_level = match env {
        Value::Struct(st) => st.schema().field(&path[0]).is_some(),
        Value::Map(m) => m.get(&path[0]).is_some(),
        _ => false,
    };
    if path.len() == 1 && !top_level {
        let mut p = vec!["source".to_owned()];
        p.extend_from_slice(path);
        return envelope_get(schema, env, &p);
    }
    envelope_get(schema, env, path)
}

fn envelope_get(schema: Option<&Schema>, env: &Value, path: &[String]) -> (Option<Schema>, Value) {
    let mut s = schema.cloned();
    let mut v = env;
    for seg in path {
        match v {
            Value::Struct(st) => {
                s = st.schema().field(seg).map(|f| f.schema().clone());
                v = st.get(seg).unwrap_or(&Value::Null);
            }
            Value::Map(m) => {
                s = None;
                v = m.get(seg).unwrap_or(&Value::Null);
            }
            _ => return (None, Value::Null),
        }
    }
    (s, v.clone())
}

fn optional(s: &Schema) -> Schema {
    if s.is_optional() {
        s.clone()
    } else {
        s.to_builder().optional().build()
    }
}

impl ExtractNewRecordState {
    fn is_envelope(schema: Option<&Schema>, v: &Value) -> bool {
        match (schema, v) {
            (Some(s), Value::Struct(_)) => s.field("op").is_some() && s.field("after").is_some(),
            (None, Value::Map(m)) => {
                m.get("op").is_some() && (m.get("after").is_some() || m.get("before").is_some())
            }
            _ => false,
        }
    }

    fn row_schema(&self, after: &Schema, extra: &[(String, Schema)]) -> Schema {
        self.cache
            .get_or_derive(after, || {
                Ok::<_, std::convert::Infallible>(with_extra_fields(
                    after,
                    extra.iter().map(|(n, s)| (n.as_str(), s.clone())),
                ))
            })
            .unwrap_or_else(|e| match e {})
    }
}

impl<R: Record> Transformation<R> for ExtractNewRecordState {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define_optional(
                "delete.tombstone.handling.mode",
                ConfigType::String,
                Importance::Medium,
                "drop, tombstone, rewrite, rewrite-with-tombstone or delete-to-tombstone.",
            )
            .with_validator(
                "delete.tombstone.handling.mode",
                Validator::one_of(&[
                    "drop",
                    "tombstone",
                    "rewrite",
                    "rewrite-with-tombstone",
                    "delete-to-tombstone",
                ]),
            )
            .define_optional(
                "drop.tombstones",
                ConfigType::Boolean,
                Importance::Low,
                "Legacy: drop tombstones.",
            )
            .define_optional(
                "delete.handling.mode",
                ConfigType::String,
                Importance::Low,
                "Legacy: drop, rewrite or none.",
            )
            .with_validator(
                "delete.handling.mode",
                Validator::one_of(&["drop", "rewrite", "none"]),
            )
            .define(
                "add.fields",
                ConfigType::List,
                Some(""),
                Importance::Low,
                "Envelope fields to add to the row.",
            )
            .define(
                "add.fields.prefix",
                ConfigType::String,
                Some("__"),
                Importance::Low,
                "Prefix of added fields.",
            )
            .define(
                "add.headers",
                ConfigType::List,
                Some(""),
                Importance::Low,
                "Envelope fields to add as headers.",
            )
            .define(
                "add.headers.prefix",
                ConfigType::String,
                Some("__"),
                Importance::Low,
                "Prefix of added headers.",
            )
            .define(
                "route.by.field",
                ConfigType::String,
                Some(""),
                Importance::Low,
                "Row field whose value becomes the topic.",
            )
    }

    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.mode = match c
            .string("delete.tombstone.handling.mode")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("drop") => DeleteMode::Drop,
            Some("tombstone") => DeleteMode::Tombstone,
            Some("rewrite") => DeleteMode::Rewrite,
            Some("rewrite-with-tombstone") => DeleteMode::RewriteWithTombstone,
            Some("delete-to-tombstone") => DeleteMode::DeleteToTombstone,
            _ => {
                let legacy_drop_tombstones = props.get("drop.tombstones").map(|_| {
                    c.get("drop.tombstones")
                        == Some(&connect_core::config::ConfigValue::Boolean(true))
                });
                let legacy_delete = c
                    .string("delete.handling.mode")
                    .map(str::to_ascii_lowercase);
                match (legacy_delete.as_deref(), legacy_drop_tombstones) {
                    (None, None) => DeleteMode::Tombstone,
                    (Some("rewrite"), dt) => {
                        if dt.unwrap_or(true) {
                            DeleteMode::Rewrite
                        } else {
                            DeleteMode::RewriteWithTombstone
                        }
                    }
                    (Some("none"), dt) => {
                        if dt.unwrap_or(true) {
                            DeleteMode::DeleteToTombstone
                        } else {
                            DeleteMode::PassThrough
                        }
                    }
                    (_, dt) => {
                        if dt.unwrap_or(true) {
                            DeleteMode::Drop
                        } else {
                            DeleteMode::Tombstone
                        }
                    }
                }
            }
        };
        let fp = c.string("add.fields.prefix").unwrap_or("__").to_owned();
        let hp = c.string("add.headers.prefix").unwrap_or("__").to_owned();
        self.fields = parse_added(c.list("add.fields"), &fp);
        self.headers = parse_added(c.list("add.headers"), &hp);
        self.route_by = c
            .string("route.by.field")
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(())
    }

    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        if base.value.is_null() {
            return Ok(match self.mode {
                DeleteMode::Tombstone
                | DeleteMode::RewriteWithTombstone
                | DeleteMode::PassThrough => Some(record),
                _ => None,
            });
        }
        if !Self::is_envelope(base.value_schema.as_ref(), &base.value) {
            return Ok(Some(record));
        }
        let env_schema = base.value_schema.take();
        let env = std::mem::take(&mut base.value);
        let (_, op) = envelope_get(env_schema.as_ref(), &env, &["op".to_owned()]);
        let op = op.as_str().unwrap_or("").to_owned();
        if op == "t" {
            return Ok(None);
        }
        let after = envelope_get(env_schema.as_ref(), &env, &["after".to_owned()]);
        let is_delete = op == "d" || after.1.is_null();
        let rewrite = matches!(
            self.mode,
            DeleteMode::Rewrite | DeleteMode::RewriteWithTombstone
        );
        let (row_schema, row) = if is_delete {
            match self.mode {
                DeleteMode::Drop | DeleteMode::Tombstone => return Ok(None),
                DeleteMode::DeleteToTombstone | DeleteMode::PassThrough => {
                    base.value_schema = None;
                    base.value = Value::Null;
                    return Ok(Some(record));
                }
                _ => envelope_get(env_schema.as_ref(), &env, &["before".to_owned()]),
            }
        } else {
            after
        };
        for h in &self.headers {
            let (s, v) = envelope_field(env_schema.as_ref(), &env, &h.path);
            base.headers.add(h.name.clone(), s.map(|s| optional(&s)), v);
        }
        let mut extras: Vec<(String, Option<Schema>, Value)> = self
            .fields
            .iter()
            .map(|f| {
                let (s, v) = envelope_field(env_schema.as_ref(), &env, &f.path);
                (f.name.clone(), s, v)
            })
            .collect();
        if rewrite {
            extras.push((
                DELETED.to_owned(),
                Some(Schema::optional_string()),
                Value::String(is_delete.to_string()),
            ));
        }
        let (new_schema, new_value) = match (row_schema, row) {
            (Some(rs), Value::Struct(st)) if rs.schema_type() == SchemaType::Struct => {
                let extra_schemas: Vec<(String, Schema)> = extras
                    .iter()
                    .map(|(n, s, _)| {
                        (
                            n.clone(),
                            s.as_ref()
                                .map(optional)
                                .unwrap_or_else(Schema::optional_string),
                        )
                    })
                    .collect();
                let schema = if extras.is_empty() {
                    rs
                } else {
                    self.row_schema(&rs, &extra_schemas)
                };
                let mut values = st.into_values();
                values.extend(extras.into_iter().map(|(_, _, v)| v));
                let s = Struct::from_values(schema.clone(), values)?;
                (Some(schema), Value::Struct(s))
            }
            (_, Value::Map(mut m)) => {
                for (n, _, v) in extras {
                    m.insert(n, v);
                }
                (None, Value::Map(m))
            }
            (_, other) => {
                return Err(DataError::new(format!(
                    "change event row is a {}, expected a struct or map",
                    other.type_name()
                ))
                .into())
            }
        };
        if let Some(field) = &self.route_by {
            let topic = match &new_value {
                Value::Struct(s) => s.get(field).and_then(|v| v.as_str()).map(str::to_owned),
                Value::Map(m) => m.get(field).and_then(|v| v.as_str()).map(str::to_owned),
                _ => None,
            };
            base.topic = topic.ok_or_else(|| {
                ConnectError::Data(DataError::new(format!(
                    "route.by.field '{field}' is missing or not a string"
                )))
            })?;
        }
        base.value_schema = new_schema;
        base.value = new_value;
        Ok(Some(record))
    }
}
