//! Change events of captured tables: per-table schemas (key, row, envelope), the MySQL `source` block,
//! and the records (with tombstones after deletes) the reader hands to the task.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use connect_core::data::{Schema, SchemaBuilder, Struct, Value};
use connect_core::record::{ConnectRecord, OffsetMap, SourceOffset, SourceRecord};
use mysql_async::Value as My;

use super::columns::{convert, ConvertError, Kind, Modes, Origin};
use super::config::{Flavor, MySqlConfig};
use crate::cdc::envelope::{
    source_schema_builder, EventSchemas, Op, SnapshotMarker, CONNECTOR_VERSION,
};
use crate::cdc::filters::Mask;
use crate::cdc::table::{ChangeSchemas, TableChange, TableDef, TableId};

/// One included column: where it is in the table's rows, and how it converts.
#[derive(Debug, Clone)]
struct Included {
    index: usize,
    name: String,
    kind: Kind,
    optional: bool,
    mask: Option<(Mask, Option<i32>)>,
}

/// Everything needed to turn a captured table's rows into events.
#[derive(Debug)]
pub struct TableEvents {
    /// The table.
    pub id: TableId,
    /// `<prefix>.<db>.<table>`.
    pub topic: String,
    /// Schemas.
    pub schemas: EventSchemas,
    /// Number of columns a full row has.
    pub width: usize,
    included: Vec<Included>,
    /// Positions (in `included`) of the key's columns.
    key: Vec<usize>,
}

/// A row that could not be decoded: which column and what was expected (never the value).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RowError {
    /// A value did not convert.
    #[error("column '{column}': {source}")]
    Column {
        /// The column.
        column: String,
        /// What was expected.
        source: ConvertError,
    },
    /// The row has another number of columns than the known definition.
    #[error("the row has {got} columns where the table's definition has {expected} (schema history out of step with the binlog)")]
    Width {
        /// Columns in the event.
        got: usize,
        /// Columns known.
        expected: usize,
    },
}

impl TableEvents {
    /// Schemas and converters of `def`, with the config's filters, masks and key columns applied.
    pub fn new(cfg: &MySqlConfig, source: &Schema, id: &TableId, def: &TableDef) -> TableEvents {
        let topic = format!("{}.{}.{}", cfg.topic_prefix, id.db, id.table);
        let mut included = Vec::new();
        for (i, c) in def.columns.iter().enumerate() {
            if !cfg.filters.column(id, &c.name) {
                continue;
            }
            included.push(Included {
                index: i,
                name: c.name.clone(),
                kind: Kind::of(c),
                optional: c.optional,
                mask: cfg
                    .masks
                    .for_column(id, &c.name)
                    .cloned()
                    .map(|m| (m, c.length)),
            });
        }
        let key_names: Vec<String> = match cfg.key_columns.for_table(id) {
            Some(cols) => cols.to_vec(),
            None => def.primary_key.clone(),
        };
        let key: Vec<usize> = key_names
            .iter()
            .filter_map(|k| included.iter().position(|c| c.name.eq_ignore_ascii_case(k)))
            .collect();
        let row_fields: Vec<(String, Schema)> = included
            .iter()
            .map(|c| {
                let schema = match &c.mask {
                    // A masked column is text whatever its type was.
                    Some(_) if !matches!(c.kind, Kind::Text { .. }) => {
                        c.kind.schema(&cfg.modes, c.optional)
                    }
                    _ => c.kind.schema(&cfg.modes, c.optional),
                };
                (c.name.clone(), schema)
            })
            .collect();
        let key_fields: Vec<(String, Schema)> = key
            .iter()
            .map(|&i| {
                (
                    included[i].name.clone(),
                    included[i].kind.schema(&cfg.modes, false),
                )
            })
            .collect();
        TableEvents {
            id: id.clone(),
            schemas: EventSchemas::new(&topic, &row_fields, &key_fields, source),
            topic,
            width: def.columns.len(),
            included,
            key,
        }
    }

    /// A full row (every column of the table, in order) as the event's row struct.
    pub fn row(&self, values: &[My], origin: Origin, modes: &Modes) -> Result<Struct, RowError> {
        self.row_with(values.len(), |i| Cow::Borrowed(&values[i]), origin, modes)
    }

    /// A full row of `width` columns, column `i` read by `value(i)` (`i < width`), as the event's row
    /// struct: a binlog row's values are converted where they lie, not copied into a row first.
    pub fn row_with<'a>(
        &self,
        width: usize,
        value: impl Fn(usize) -> Cow<'a, My>,
        origin: Origin,
        modes: &Modes,
    ) -> Result<Struct, RowError> {
        if width != self.width {
            return Err(RowError::Width {
                got: width,
                expected: self.width,
            });
        }
        let mut s = Struct::new(self.schemas.row.clone());
        for (pos, c) in self.included.iter().enumerate() {
            let v = convert(
                &c.kind,
                &value(c.index),
                origin,
                modes,
                c.optional,
                c.mask.as_ref().map(|(m, l)| (m, *l)),
            )
            .map_err(|source| RowError::Column {
                column: c.name.clone(),
                source,
            })?;
            s.put_index_unchecked(pos, v);
        }
        Ok(s)
    }

    fn key_of(&self, row: &Struct) -> Option<(Schema, Value)> {
        let schema = self.schemas.key.clone()?;
        let values = self
            .key
            .iter()
            .map(|&src| row.values()[src].clone())
            .collect();
        let k = Struct::from_values(schema.clone(), values).ok()?;
        Some((schema, Value::Struct(k)))
    }

    /// The records of one change: the event, and a tombstone after a delete when configured.
    #[allow(clippy::too_many_arguments)]
    pub fn records(
        &self,
        op: Op,
        before: Option<Struct>,
        after: Option<Struct>,
        source: Struct,
        partition: &Arc<OffsetMap>,
        offset: SourceOffset,
        tombstone: bool,
        transaction: Option<(&str, i64, i64)>,
        out: &mut Vec<SourceRecord>,
    ) {
        let key = after
            .as_ref()
            .or(before.as_ref())
            .and_then(|r| self.key_of(r));
        let ts = source.values().get(3).and_then(Value::as_i64);
        let value = self
            .schemas
            .envelope_value(op, before, after, source, transaction);
        let (key_schema, key_value) = match key {
            Some((s, v)) => (Some(s), v),
            None => (None, Value::Null),
        };
        let with_tombstone = op == Op::Delete && tombstone && key_schema.is_some();
        // The key is copied only when a tombstone follows.
        let (key_schema_tomb, key_tomb) = if with_tombstone {
            (key_schema.clone(), key_value.clone())
        } else {
            (None, Value::Null)
        };
        out.push(SourceRecord {
            record: ConnectRecord {
                topic: self.topic.clone(),
                key_schema,
                key: key_value,
                value_schema: Some(self.schemas.envelope.clone()),
                value,
                timestamp: ts,
                ..Default::default()
            },
            source_partition: partition.clone(),
            source_offset: offset.clone(),
        });
        if with_tombstone {
            out.push(SourceRecord {
                record: ConnectRecord {
                    topic: self.topic.clone(),
                    key_schema: key_schema_tomb,
                    key: key_tomb,
                    value_schema: None,
                    value: Value::Null,
                    timestamp: ts,
                    ..Default::default()
                },
                source_partition: partition.clone(),
                source_offset: offset,
            });
        }
    }
}

/// The MySQL `source` block's schema (`io.debezium.connector.mysql.Source` or `...mariadb.Source`).
pub fn source_schema(flavor: Flavor) -> Schema {
    source_schema_builder()
        .name(format!(
            "io.debezium.connector.{}.Source",
            flavor.connector()
        ))
        .field("table", Schema::optional_string())
        .field("server_id", Schema::int64())
        .field("gtid", Schema::optional_string())
        .field("file", Schema::string())
        .field("pos", Schema::int64())
        .field("row", Schema::int32())
        .field("thread", Schema::optional_int64())
        .field("query", Schema::optional_string())
        .build()
}

/// The values of one `source` block.
#[derive(Debug, Clone, Default)]
pub struct SourceInfo<'a> {
    /// Commit time, ms.
    pub ts_ms: i64,
    /// Snapshot marker (None when streaming).
    pub snapshot: Option<SnapshotMarker>,
    /// Database.
    pub db: &'a str,
    /// Table.
    pub table: Option<&'a str>,
    /// Originating server.
    pub server_id: i64,
    /// GTID of the transaction.
    pub gtid: Option<&'a str>,
    /// Binlog file of the event.
    pub file: &'a str,
    /// Position of the event.
    pub pos: i64,
    /// Row within the event.
    pub row: i32,
    /// Thread id.
    pub thread: Option<i64>,
}

impl SourceInfo<'_> {
    /// The struct.
    pub fn to_struct(&self, schema: &Schema, server_name: &str, flavor: Flavor) -> Struct {
        let opt = |s: Option<&str>| {
            s.map(|s| Value::String(s.to_owned()))
                .unwrap_or(Value::Null)
        };
        let values = vec![
            Value::String(CONNECTOR_VERSION.to_owned()),
            Value::String(flavor.connector().to_owned()),
            Value::String(server_name.to_owned()),
            Value::Int64(self.ts_ms),
            Value::String(
                self.snapshot
                    .unwrap_or(SnapshotMarker::False)
                    .as_str()
                    .to_owned(),
            ),
            Value::String(self.db.to_owned()),
            Value::Null,
            Value::Int64(self.ts_ms.saturating_mul(1000)),
            Value::Int64(self.ts_ms.saturating_mul(1_000_000)),
            opt(self.table),
            Value::Int64(self.server_id),
            opt(self.gtid),
            Value::String(self.file.to_owned()),
            Value::Int64(self.pos),
            Value::Int32(self.row),
            self.thread.map(Value::Int64).unwrap_or(Value::Null),
            Value::Null,
        ];
        // One allocation for the values (the schema has exactly these fields, in this order).
        Struct::from_values(schema.clone(), values).unwrap_or_else(|_| Struct::new(schema.clone()))
    }
}

/// Schema change events on the `<topic.prefix>` topic.
#[derive(Debug, Clone)]
pub struct SchemaChanges {
    topic: String,
    key: Schema,
    value: Schema,
    changes: ChangeSchemas,
}

impl SchemaChanges {
    /// Schemas for a connector.
    pub fn new(topic_prefix: &str, flavor: Flavor, source: &Schema) -> Self {
        let ns = flavor.connector();
        let changes = ChangeSchemas::new();
        SchemaChanges {
            topic: topic_prefix.to_owned(),
            key: SchemaBuilder::struct_()
                .name(format!("io.debezium.connector.{ns}.SchemaChangeKey"))
                .version(1)
                .field("databaseName", Schema::string())
                .build(),
            value: SchemaBuilder::struct_()
                .name(format!("io.debezium.connector.{ns}.SchemaChangeValue"))
                .version(1)
                .field("source", source.clone())
                .field("ts_ms", Schema::int64())
                .field("databaseName", Schema::optional_string())
                .field("schemaName", Schema::optional_string())
                .field("ddl", Schema::optional_string())
                .field(
                    "tableChanges",
                    SchemaBuilder::array(changes.change.clone()).build(),
                )
                .build(),
            changes,
        }
    }

    /// One schema change event, `tableChanges` as Debezium's `Change` structs.
    pub fn record(
        &self,
        db: &str,
        ddl: &str,
        changes: &[TableChange],
        source: Struct,
        partition: &Arc<OffsetMap>,
        offset: SourceOffset,
    ) -> SourceRecord {
        let ts = source.values().get(3).and_then(Value::as_i64).unwrap_or(0);
        let mut k = Struct::new(self.key.clone());
        k.put_index_unchecked(0, Value::String(db.to_owned()));
        let mut v = Struct::new(self.value.clone());
        let values = vec![
            Value::Struct(source),
            Value::Int64(ts),
            Value::String(db.to_owned()),
            Value::Null,
            Value::String(ddl.to_owned()),
            Value::Array(
                changes
                    .iter()
                    .map(|c| Value::Struct(c.to_struct(&self.changes)))
                    .collect(),
            ),
        ];
        for (i, x) in values.into_iter().enumerate() {
            v.put_index_unchecked(i, x);
        }
        SourceRecord {
            record: ConnectRecord {
                topic: self.topic.clone(),
                key_schema: Some(self.key.clone()),
                key: Value::Struct(k),
                value_schema: Some(self.value.clone()),
                value: Value::Struct(v),
                timestamp: Some(ts),
                ..Default::default()
            },
            source_partition: partition.clone(),
            source_offset: offset,
        }
    }
}

/// Event builders of the captured tables, rebuilt when a table's definition changes.
pub type Captured = HashMap<TableId, Arc<TableEvents>>;
