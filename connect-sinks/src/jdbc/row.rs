//! A record as a row operation: the table it goes to, the primary key columns `pk.mode` takes
//! from it, the value columns, and whether it writes or deletes.

use std::borrow::Cow;

use connect_core::data::{Schema, SchemaType, Value};
use connect_core::record::SinkRecord;

use super::cell::{cell_of, Cell};
use super::config::{InsertMode, JdbcSinkConfig, PkMode};
use super::schema::{kind_of, ColumnKind, ColumnSpec, TableId};

/// What a row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `INSERT`.
    Insert,
    /// Insert or update by key.
    Upsert,
    /// `UPDATE` by key.
    Update,
    /// `DELETE` by key (a tombstone with `delete.enabled`).
    Delete,
}

/// One column of a row: its name, value and (with a schema) how `auto.create` declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column<'a> {
    /// The field name.
    pub name: Cow<'a, str>,
    /// The value.
    pub cell: Cell<'a>,
    /// The declaration; `None` for schemaless values.
    pub spec: Option<ColumnSpec>,
}

/// One record's row operation.
#[derive(Debug, Clone, PartialEq)]
pub struct RowOp<'a> {
    /// The record's position in the batch.
    pub record: usize,
    /// The table.
    pub table: TableId,
    /// What it does.
    pub kind: OpKind,
    /// Key columns first (`key_len` of them), then value columns (none for a delete).
    pub columns: Vec<Column<'a>>,
    /// How many of `columns` are the primary key.
    pub key_len: usize,
}

impl RowOp<'_> {
    /// The key columns.
    pub fn key(&self) -> &[Column<'_>] {
        &self.columns[..self.key_len]
    }
}

/// Why a record cannot be written: which field and what was expected, never the value.
pub type RowError = String;

fn spec(schema: &Schema) -> Result<ColumnSpec, RowError> {
    Ok(ColumnSpec {
        kind: kind_of(schema)?,
        optional: schema.is_optional(),
    })
}

/// A field's name, value and schema (when known).
type FieldRef<'a> = (&'a str, &'a Value, Option<&'a Schema>);

/// The fields of a struct or a schemaless map, with their schemas when known.
fn fields<'a>(
    value: &'a Value,
    schema: Option<&'a Schema>,
    what: &str,
) -> Result<Vec<FieldRef<'a>>, RowError> {
    match value {
        Value::Struct(s) => Ok(s
            .iter()
            .map(|(f, v)| (f.name(), v, Some(f.schema())))
            .collect()),
        Value::Map(m) => {
            let value_schema = schema
                .filter(|s| s.schema_type() == SchemaType::Map)
                .and_then(|s| s.value_schema());
            m.iter()
                .map(|(k, v)| match k.as_str() {
                    Some(name) => Ok((name, v, value_schema)),
                    None => Err(format!(
                        "the {what} is a map with a key that is not a string"
                    )),
                })
                .collect()
        }
        _ => Err(format!(
            "the {what} must be a struct or a map of fields, not {}",
            value.type_name()
        )),
    }
}

fn column<'a>(
    name: &'a str,
    value: &'a Value,
    schema: Option<&'a Schema>,
) -> Result<Column<'a>, RowError> {
    let spec = schema
        .map(spec)
        .transpose()
        .map_err(|e| format!("field {name}: {e}"))?;
    let cell = cell_of(value, schema).map_err(|e| format!("field {name}: expected {e}"))?;
    Ok(Column {
        name: Cow::Borrowed(name),
        cell,
        spec,
    })
}

/// The table a topic's records go to.
pub fn table_for(cfg: &JdbcSinkConfig, topic: &str) -> Result<TableId, RowError> {
    TableId::parse(&cfg.table_name_format.replace("${topic}", topic))
}

/// The row operation of record `index`.
pub fn row_of<'a>(
    cfg: &'a JdbcSinkConfig,
    index: usize,
    record: &'a SinkRecord,
) -> Result<RowOp<'a>, RowError> {
    row_in(cfg, index, record, table_for(cfg, &record.record.topic)?)
}

/// As [`row_of`], with the record's table already resolved (a batch resolves each topic once).
pub fn row_in<'a>(
    cfg: &'a JdbcSinkConfig,
    index: usize,
    record: &'a SinkRecord,
    table: TableId,
) -> Result<RowOp<'a>, RowError> {
    let r = &record.record;
    let tombstone = r.value.is_null();
    if tombstone && !cfg.delete_enabled {
        return Err("the record has no value (a tombstone) and delete.enabled is false".into());
    }
    let mut columns = Vec::new();
    // The key columns.
    match cfg.pk_mode {
        PkMode::None => {}
        PkMode::Kafka => {
            let o = &record.original;
            let names = &cfg.pk_fields;
            columns.push(Column {
                name: Cow::Borrowed(names[0].as_str()),
                cell: Cell::Text(Cow::Borrowed(&*o.topic)),
                spec: Some(ColumnSpec {
                    kind: ColumnKind::Text,
                    optional: false,
                }),
            });
            columns.push(Column {
                name: Cow::Borrowed(names[1].as_str()),
                cell: Cell::Int(o.partition as i64),
                spec: Some(ColumnSpec {
                    kind: ColumnKind::Int32,
                    optional: false,
                }),
            });
            columns.push(Column {
                name: Cow::Borrowed(names[2].as_str()),
                cell: Cell::Int(o.offset),
                spec: Some(ColumnSpec {
                    kind: ColumnKind::Int64,
                    optional: false,
                }),
            });
        }
        PkMode::RecordKey => {
            if r.key.is_null() {
                return Err("the record has no key and pk.mode=record_key".into());
            }
            let key_schema = r.key_schema.as_ref();
            match &r.key {
                Value::Struct(_) | Value::Map(_) => {
                    let all = fields(&r.key, key_schema, "key")?;
                    if cfg.pk_fields.is_empty() {
                        for (n, v, s) in all {
                            columns.push(column(n, v, s)?);
                        }
                    } else {
                        for want in &cfg.pk_fields {
                            let (n, v, s) = all
                                .iter()
                                .find(|(n, _, _)| *n == want.as_str())
                                .ok_or_else(|| {
                                    format!("the key has no field {want} (pk.fields)")
                                })?;
                            columns.push(column(n, v, *s)?);
                        }
                    }
                }
                primitive => {
                    let [name] = cfg.pk_fields.as_slice() else {
                        return Err("the key is a primitive value: pk.fields must name exactly one column for it".into());
                    };
                    columns.push(column(name, primitive, key_schema)?);
                }
            }
            if columns.is_empty() {
                return Err("the key has no fields".into());
            }
        }
        PkMode::RecordValue => {}
    }
    if tombstone {
        let key_len = columns.len();
        return Ok(RowOp {
            record: index,
            table,
            kind: OpKind::Delete,
            columns,
            key_len,
        });
    }
    let value_fields = fields(&r.value, r.value_schema.as_ref(), "value")?;
    columns.reserve(value_fields.len());
    if cfg.pk_mode == PkMode::RecordValue {
        if cfg.pk_fields.is_empty() {
            for (n, v, s) in &value_fields {
                columns.push(column(n, v, *s)?);
            }
        } else {
            for want in &cfg.pk_fields {
                let (n, v, s) = value_fields
                    .iter()
                    .find(|(n, _, _)| *n == want.as_str())
                    .ok_or_else(|| format!("the value has no field {want} (pk.fields)"))?;
                columns.push(column(n, v, *s)?);
            }
        }
    }
    let key_len = columns.len();
    for (n, v, s) in value_fields {
        if columns[..key_len].iter().any(|c| c.name == n) {
            continue;
        }
        if !cfg.fields_whitelist.is_empty() && !cfg.fields_whitelist.iter().any(|w| w == n) {
            continue;
        }
        columns.push(column(n, v, s)?);
    }
    let kind = match cfg.insert_mode {
        InsertMode::Insert => OpKind::Insert,
        InsertMode::Upsert => OpKind::Upsert,
        InsertMode::Update => OpKind::Update,
    };
    Ok(RowOp {
        record: index,
        table,
        kind,
        columns,
        key_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::config::Props;
    use connect_core::data::{Map, SchemaBuilder, Struct};
    use connect_core::record::{ConnectRecord, TimestampType, TopicPartitionOffset};

    fn cfg(extra: &[(&str, &str)]) -> JdbcSinkConfig {
        let mut p = Props::new()
            .with("name", "t")
            .with("connection.url", "jdbc:postgresql://h/db");
        for (k, v) in extra {
            p.set(*k, *v);
        }
        JdbcSinkConfig::parse(&p).unwrap()
    }

    fn record(
        key: Value,
        key_schema: Option<Schema>,
        value: Value,
        value_schema: Option<Schema>,
    ) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord {
                topic: "clinical.patient".into(),
                key,
                key_schema,
                value,
                value_schema,
                ..Default::default()
            },
            kafka_offset: 7,
            timestamp_type: TimestampType::NoTimestampType,
            original: TopicPartitionOffset {
                topic: "clinical.patient".into(),
                partition: 2,
                offset: 7,
            },
        }
    }

    fn patient() -> (Schema, Value) {
        let s = SchemaBuilder::struct_()
            .field("id", Schema::int32())
            .field("mrn", Schema::string())
            .field("family", Schema::optional_string())
            .build();
        let mut v = Struct::new(s.clone());
        v.put("id", Value::Int32(1)).unwrap();
        v.put("mrn", Value::String("MRN001".into())).unwrap();
        (s, Value::Struct(v))
    }

    #[test]
    fn record_key_struct_then_value_fields() {
        let c = cfg(&[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("table.name.format", "warehouse_${topic}"),
        ]);
        let ks = SchemaBuilder::struct_()
            .field("id", Schema::int32())
            .build();
        let mut k = Struct::new(ks.clone());
        k.put("id", Value::Int32(1)).unwrap();
        let (vs, v) = patient();
        let r = record(Value::Struct(k), Some(ks), v, Some(vs));
        let op = row_of(&c, 0, &r).unwrap();
        assert_eq!(op.table.to_string(), "warehouse_clinical.patient");
        assert_eq!(op.kind, OpKind::Upsert);
        let names: Vec<&str> = op.columns.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(
            names,
            ["id", "mrn", "family"],
            "the key's id is not repeated from the value"
        );
        assert_eq!(op.key_len, 1);
        assert_eq!(op.columns[2].cell, Cell::Null);
        assert_eq!(
            op.columns[1].spec,
            Some(ColumnSpec {
                kind: ColumnKind::Text,
                optional: false
            })
        );
    }

    #[test]
    fn tombstones_delete_by_key_when_enabled() {
        let c = cfg(&[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("delete.enabled", "true"),
        ]);
        let r = record(Value::Int64(5), Some(Schema::int64()), Value::Null, None);
        let op = row_of(&c, 3, &r).unwrap();
        assert_eq!((op.kind, op.key_len, op.record), (OpKind::Delete, 1, 3));
        assert_eq!(op.columns[0].cell, Cell::Int(5));
        let off = cfg(&[]);
        let e = row_of(&off, 0, &r).unwrap_err();
        assert!(e.contains("delete.enabled"), "{e}");
    }

    #[test]
    fn kafka_coordinates_and_record_value_keys() {
        let (vs, v) = patient();
        let r = record(Value::Null, None, v, Some(vs));
        let kafka = cfg(&[("pk.mode", "kafka")]);
        let op = row_of(&kafka, 0, &r).unwrap();
        assert_eq!(op.key_len, 3);
        assert_eq!(op.columns[1].cell, Cell::Int(2));
        assert_eq!(op.columns[2].cell, Cell::Int(7));
        let by_value = cfg(&[
            ("pk.mode", "record_value"),
            ("pk.fields", "mrn"),
            ("fields.whitelist", "family"),
        ]);
        let op = row_of(&by_value, 0, &r).unwrap();
        let names: Vec<&str> = op.columns.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(names, ["mrn", "family"]);
    }

    #[test]
    fn schemaless_maps_and_bad_shapes() {
        let mut m = Map::new();
        m.insert("id", Value::Int64(9));
        m.insert("note", Value::String("x".into()));
        let r = record(Value::Null, None, Value::Map(m), None);
        let plain = cfg(&[]);
        let op = row_of(&plain, 0, &r).unwrap();
        assert_eq!(op.columns.len(), 2);
        assert!(op.columns.iter().all(|c| c.spec.is_none()));
        let r = record(Value::Null, None, Value::String("secret note".into()), None);
        let e = row_of(&cfg(&[]), 0, &r).unwrap_err();
        assert!(
            e.contains("struct or a map") && !e.contains("secret"),
            "{e}"
        );
        let r = record(
            Value::Int32(1),
            Some(Schema::int32()),
            Value::Map(Map::new()),
            None,
        );
        let e = row_of(&cfg(&[("pk.mode", "record_key")]), 0, &r).unwrap_err();
        assert!(e.contains("pk.fields"), "{e}");
    }
}
