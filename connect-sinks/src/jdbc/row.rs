//! A record as a row operation: the table it goes to, the primary key columns `pk.mode` takes
//! from it, the value columns, and whether it writes or deletes.
//!
//! A struct's fields are read through a [`StructPlan`], worked out once per schema (records of one
//! topic share their schema): which fields become columns in which order under `pk.mode`,
//! `pk.fields` and `fields.whitelist`, each one's declared kind and semantic type. Schemaless maps
//! are read field by field.

use std::borrow::Cow;

use connect_core::data::{Schema, SchemaType, Value};
use connect_core::record::SinkRecord;

use super::cell::{cell_as, cell_of, Cell, Semantic};
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

/// A struct field as a column: its position, its declaration (or why it has none) and its
/// semantic type.
#[derive(Debug, Clone)]
struct PlannedField {
    index: usize,
    spec: Result<ColumnSpec, RowError>,
    semantic: Semantic,
}

impl PlannedField {
    fn new(index: usize, name: &str, schema: &Schema) -> PlannedField {
        PlannedField {
            index,
            spec: spec(schema).map_err(|e| format!("field {name}: {e}")),
            semantic: Semantic::of(Some(schema)),
        }
    }

    /// The column of this field in `s`, a struct of the planned schema.
    fn column<'a>(&self, s: &'a connect_core::data::Struct) -> Result<Column<'a>, RowError> {
        let field = &s.schema().fields()[self.index];
        let value = s.get_index(self.index).unwrap_or(&Value::Null);
        let spec = self.spec.clone()?;
        let cell = cell_as(value, Some(field.schema()), self.semantic)
            .map_err(|e| format!("field {}: expected {e}", field.name()))?;
        Ok(Column {
            name: Cow::Borrowed(field.name()),
            cell,
            spec: Some(spec),
        })
    }
}

/// Which part of a record a struct is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Key,
    Value,
}

/// A struct schema's fields in the order a row takes them, for one config and role.
#[derive(Debug)]
struct StructPlan {
    schema: Schema,
    role: Role,
    /// The key columns it gives (`pk.mode=record_key` for a key; `record_value` for a value), or
    /// why it cannot give them.
    key: Result<Vec<PlannedField>, RowError>,
    /// The value columns after the key (a value only): not in the key, in `fields.whitelist`.
    rest: Vec<PlannedField>,
}

impl StructPlan {
    fn new(cfg: &JdbcSinkConfig, schema: &Schema, role: Role) -> StructPlan {
        let fields = schema.fields();
        let all = || {
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| PlannedField::new(i, f.name(), f.schema()))
                .collect::<Vec<_>>()
        };
        let what = match role {
            Role::Key => "key",
            Role::Value => "value",
        };
        let key = if role == Role::Key || cfg.pk_mode == PkMode::RecordValue {
            if cfg.pk_fields.is_empty() {
                Ok(all())
            } else {
                cfg.pk_fields
                    .iter()
                    .map(|want| {
                        fields
                            .iter()
                            .position(|f| f.name() == want.as_str())
                            .map(|i| PlannedField::new(i, want, fields[i].schema()))
                            .ok_or_else(|| format!("the {what} has no field {want} (pk.fields)"))
                    })
                    .collect()
            }
        } else {
            Ok(Vec::new())
        };
        let rest = match (role, &key) {
            (Role::Value, Ok(key)) => fields
                .iter()
                .enumerate()
                .filter(|(i, _)| !key.iter().any(|k| k.index == *i))
                .filter(|(_, f)| {
                    cfg.fields_whitelist.is_empty()
                        || cfg.fields_whitelist.iter().any(|w| w == f.name())
                })
                .map(|(i, f)| PlannedField::new(i, f.name(), f.schema()))
                .collect(),
            _ => Vec::new(),
        };
        StructPlan {
            schema: schema.clone(),
            role,
            key,
            rest,
        }
    }
}

/// The plans of the struct schemas a writer has seen (a few per topic), found by schema identity,
/// for one config (a writer's: a plan depends on `pk.mode`, `pk.fields` and `fields.whitelist`).
/// Each plan keeps its schema alive, so an address is never reused for another schema while the
/// plan is kept.
#[derive(Debug, Default)]
pub struct Plans {
    plans: Vec<StructPlan>,
}

impl Plans {
    /// Schemas kept; past this, the oldest plan is dropped.
    const KEPT: usize = 32;

    fn get(&mut self, cfg: &JdbcSinkConfig, schema: &Schema, role: Role) -> &StructPlan {
        let found = self
            .plans
            .iter()
            .rposition(|p| p.role == role && p.schema.ptr_eq(schema));
        let at = match found {
            Some(at) => at,
            None => {
                if self.plans.len() >= Self::KEPT {
                    self.plans.remove(0);
                }
                self.plans.push(StructPlan::new(cfg, schema, role));
                self.plans.len() - 1
            }
        };
        &self.plans[at]
    }
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
    row_in(
        cfg,
        &mut Plans::default(),
        index,
        record,
        table_for(cfg, &record.record.topic)?,
    )
}

/// As [`row_of`], with the record's table already resolved (a batch resolves each topic once) and
/// struct plans kept in `plans`.
pub fn row_in<'a>(
    cfg: &'a JdbcSinkConfig,
    plans: &mut Plans,
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
                Value::Struct(s) => {
                    let plan = plans.get(cfg, s.schema(), Role::Key);
                    for f in plan.key.as_ref().map_err(Clone::clone)? {
                        columns.push(f.column(s)?);
                    }
                }
                Value::Map(_) => {
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
    if let Value::Struct(s) = &r.value {
        let plan = plans.get(cfg, s.schema(), Role::Value);
        let key = plan.key.as_ref().map_err(Clone::clone)?;
        columns.reserve(key.len() + plan.rest.len());
        for f in key {
            columns.push(f.column(s)?);
        }
        // The plan left out the value's own key fields; a key taken from elsewhere (the record's
        // key, the Kafka coordinates) still wins over a value field of the same name.
        let key_len = columns.len();
        let key_from_elsewhere = matches!(cfg.pk_mode, PkMode::RecordKey | PkMode::Kafka);
        for f in &plan.rest {
            let name = s.schema().fields()[f.index].name();
            if key_from_elsewhere && columns[..key_len].iter().any(|c| c.name == name) {
                continue;
            }
            columns.push(f.column(s)?);
        }
        return Ok(RowOp {
            record: index,
            table,
            kind: op_kind(cfg),
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
    Ok(RowOp {
        record: index,
        table,
        kind: op_kind(cfg),
        columns,
        key_len,
    })
}

/// What a record with a value does under `insert.mode`.
fn op_kind(cfg: &JdbcSinkConfig) -> OpKind {
    match cfg.insert_mode {
        InsertMode::Insert => OpKind::Insert,
        InsertMode::Upsert => OpKind::Upsert,
        InsertMode::Update => OpKind::Update,
    }
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
    fn a_plan_serves_records_of_its_schema_only() {
        let c = cfg(&[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "mrn"),
        ]);
        let mut plans = Plans::default();
        let (vs, v) = patient();
        let table = table_for(&c, "clinical.patient").unwrap();
        let first = record(Value::Null, None, v, Some(vs.clone()));
        let mut second_value = Struct::new(vs.clone());
        second_value.put("id", Value::Int32(2)).unwrap();
        second_value
            .put("mrn", Value::String("MRN002".into()))
            .unwrap();
        second_value
            .put("family", Value::String("DOE".into()))
            .unwrap();
        let second = record(Value::Null, None, Value::Struct(second_value), Some(vs));
        for (r, mrn, family) in [
            (&first, "MRN001", Cell::Null),
            (&second, "MRN002", Cell::Text(Cow::Borrowed("DOE"))),
        ] {
            let op = row_in(&c, &mut plans, 0, r, table.clone()).unwrap();
            let names: Vec<&str> = op.columns.iter().map(|c| c.name.as_ref()).collect();
            assert_eq!(names, ["mrn", "id", "family"]);
            assert_eq!(op.key_len, 1);
            assert_eq!(op.columns[0].cell, Cell::Text(Cow::Borrowed(mrn)));
            assert_eq!(op.columns[2].cell, family);
        }
        assert_eq!(plans.plans.len(), 1, "one schema, one plan");
        // A schema with the same field names but another type for one of them gets its own plan.
        let other = SchemaBuilder::struct_()
            .field("id", Schema::int32())
            .field("mrn", Schema::string())
            .field("family", Schema::optional_int64())
            .build();
        let mut v = Struct::new(other.clone());
        v.put("id", Value::Int32(3)).unwrap();
        v.put("mrn", Value::String("MRN003".into())).unwrap();
        v.put("family", Value::Int64(4)).unwrap();
        let third = record(Value::Null, None, Value::Struct(v), Some(other));
        let op = row_in(&c, &mut plans, 0, &third, table.clone()).unwrap();
        assert_eq!(op.columns[2].cell, Cell::Int(4));
        assert_eq!(op.columns[2].spec.as_ref().unwrap().kind, ColumnKind::Int64);
        // A value without the pk.fields field is refused by every record of its schema.
        let by_id = cfg(&[("pk.mode", "record_value"), ("pk.fields", "encounter")]);
        let mut plans = Plans::default();
        for _ in 0..2 {
            let e = row_in(&by_id, &mut plans, 0, &first, table.clone()).unwrap_err();
            assert!(e.contains("no field encounter"), "{e}");
        }
    }

    #[test]
    fn a_struct_keys_columns_before_the_values_and_value_fields_of_the_key_s_names_yield() {
        // pk.mode=record_key: the key's fields first, a value field of the same name left out;
        // pk.mode=kafka: the coordinates first, likewise.
        let ks = SchemaBuilder::struct_()
            .field("mrn", Schema::string())
            .build();
        let mut k = Struct::new(ks.clone());
        k.put("mrn", Value::String("K-MRN".into())).unwrap();
        let (vs, v) = patient();
        let r = record(Value::Struct(k), Some(ks), v, Some(vs.clone()));
        let c = cfg(&[("pk.mode", "record_key"), ("fields.whitelist", "mrn,id")]);
        let mut plans = Plans::default();
        let t = table_for(&c, "x").unwrap();
        let op = row_in(&c, &mut plans, 0, &r, t.clone()).unwrap();
        let cols: Vec<(&str, &Cell<'_>)> = op
            .columns
            .iter()
            .map(|c| (c.name.as_ref(), &c.cell))
            .collect();
        assert_eq!(
            cols,
            [
                ("mrn", &Cell::Text(Cow::Borrowed("K-MRN"))),
                ("id", &Cell::Int(1))
            ]
        );
        let kafka = cfg(&[("pk.fields", "mrn,partition,offset"), ("pk.mode", "kafka")]);
        let op = row_in(&kafka, &mut Plans::default(), 0, &r, t).unwrap();
        let names: Vec<&str> = op.columns.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(names, ["mrn", "partition", "offset", "id", "family"]);
        assert_eq!(
            op.columns[0].cell,
            Cell::Text(Cow::Borrowed("clinical.patient"))
        );
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
