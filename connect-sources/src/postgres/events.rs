//! Change events of captured tables: per-table schemas (key, row, envelope), the PostgreSQL `source`
//! block, and the records built from row images in text form.

use std::sync::Arc;

use connect_core::data::{Schema, Struct, Value};
use connect_core::record::{ConnectRecord, Header, OffsetMap, SourceOffset, SourceRecord};

use super::columns::{convert, ConvertError, Kind, Modes, Types};
use super::config::PostgresConfig;
use crate::cdc::envelope::{
    source_schema_builder, EventSchemas, Op, SnapshotMarker, CONNECTOR_VERSION,
};
use crate::cdc::filters::Mask;
use crate::cdc::table::TableId;

/// One column of a table as the connector knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDesc {
    /// Name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier.
    pub modifier: i32,
    /// Nullable.
    pub optional: bool,
}

/// A table: its columns in the order row images carry them, and its key.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDesc {
    /// Schema and name.
    pub id: TableId,
    /// Columns in order.
    pub columns: Vec<ColumnDesc>,
    /// Primary key columns (or the replica identity's, for a table without one).
    pub primary_key: Vec<String>,
}

#[derive(Debug, Clone)]
struct Included {
    index: usize,
    name: String,
    kind: Kind,
    optional: bool,
    mask: Option<Mask>,
    schema: Schema,
}

/// Everything needed to turn a captured table's row images into events.
#[derive(Debug)]
pub struct TableEvents {
    /// The table.
    pub id: TableId,
    /// `<prefix>.<schema>.<table>`.
    pub topic: String,
    /// Schemas.
    pub schemas: EventSchemas,
    /// Number of columns a full row image has.
    pub width: usize,
    included: Vec<Included>,
    key: Vec<usize>,
}

/// A row image that could not be converted: which column and what was expected (never the value).
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
    /// The image has another number of columns than the table's description.
    #[error("the row image has {got} columns where the table's description has {expected}")]
    Width {
        /// Columns in the image.
        got: usize,
        /// Columns known.
        expected: usize,
    },
}

/// One value of a row image, borrowed from the message or the query result.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// NULL, or a column the image does not carry (the old image of REPLICA IDENTITY DEFAULT).
    Null,
    /// An unchanged TOASTed value the server did not send.
    Unchanged,
    /// The value in text output form.
    Text(&'a str),
}

impl TableEvents {
    /// Schemas and converters of `def`, with the config's filters, masks and key columns applied.
    pub fn new(
        cfg: &PostgresConfig,
        types: &Types,
        source: &Schema,
        def: &TableDesc,
    ) -> TableEvents {
        let id = &def.id;
        let topic = format!("{}.{}.{}", cfg.topic_prefix, id.db, id.table);
        let mut included = Vec::new();
        for (i, c) in def.columns.iter().enumerate() {
            let kind = Kind::of(c.type_oid, c.modifier, types);
            if !cfg.filters.column(id, &c.name) || !kind.included(&cfg.modes) {
                continue;
            }
            let schema = kind.schema(&cfg.modes, c.optional);
            let mask = cfg
                .masks
                .for_column(id, &c.name)
                .filter(|_| schema.schema_type() == connect_core::data::SchemaType::String)
                .cloned();
            included.push(Included {
                index: i,
                name: c.name.clone(),
                kind,
                optional: c.optional,
                mask,
                schema,
            });
        }
        let key_names: Vec<String> = match cfg.key_columns.for_table(id) {
            Some(cols) => cols.to_vec(),
            None => def.primary_key.clone(),
        };
        let key: Vec<usize> = key_names
            .iter()
            .filter_map(|k| included.iter().position(|c| c.name == *k))
            .collect();
        let row_fields: Vec<(String, Schema)> = included
            .iter()
            .map(|c| (c.name.clone(), c.schema.clone()))
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

    /// A row image (every column of the table, in order) as the event's row struct.
    pub fn row<'a>(
        &self,
        cells: impl ExactSizeIterator<Item = Cell<'a>> + Clone,
        modes: &Modes,
    ) -> Result<Struct, RowError> {
        if cells.len() != self.width {
            return Err(RowError::Width {
                got: cells.len(),
                expected: self.width,
            });
        }
        // `included` is in column order: one pass over the image picks its cells.
        let mut values = Vec::with_capacity(self.included.len());
        let mut cells = cells.enumerate();
        for c in &self.included {
            let Some((_, cell)) = cells.find(|(i, _)| *i == c.index) else {
                break;
            };
            let v = match cell {
                Cell::Null if c.optional => Value::Null,
                Cell::Null => c.kind.fallback(modes),
                Cell::Unchanged => c.kind.placeholder(modes, c.optional),
                Cell::Text(t) => match &c.mask {
                    Some(m) => Value::String(m.apply(t, None)),
                    None => convert(&c.kind, t, modes, &c.schema).map_err(|source| {
                        RowError::Column {
                            column: c.name.clone(),
                            source,
                        }
                    })?,
                },
            };
            values.push(v);
        }
        Ok(Struct::from_values(self.schemas.row.clone(), values)
            .unwrap_or_else(|_| Struct::new(self.schemas.row.clone())))
    }

    /// The key of a row (None when the table has no key).
    pub fn key_of(&self, row: &Struct) -> Option<(Schema, Value)> {
        let schema = self.schemas.key.clone()?;
        let values = self.key.iter().map(|&i| row.values()[i].clone()).collect();
        let k = Struct::from_values(schema.clone(), values).ok()?;
        Some((schema, Value::Struct(k)))
    }

    /// The records of one change: the event, and a tombstone after a delete when configured. Every
    /// record gets `offset` for now; the reader gives each its final offset when it hands it on.
    #[allow(clippy::too_many_arguments)]
    pub fn records(
        &self,
        op: Op,
        before: Option<Struct>,
        after: Option<Struct>,
        source: Struct,
        partition: &Arc<OffsetMap>,
        tombstone: bool,
        transaction: Option<(&str, i64, i64)>,
        headers: Vec<Header>,
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
        let tomb = with_tombstone.then(|| (key_schema.clone(), key_value.clone()));
        let mut record = ConnectRecord {
            topic: self.topic.clone(),
            key_schema,
            key: key_value,
            value_schema: Some(self.schemas.envelope.clone()),
            value,
            timestamp: ts,
            ..Default::default()
        };
        for h in headers {
            record.headers.add(h.key, h.schema, h.value);
        }
        out.push(SourceRecord {
            record,
            source_partition: partition.clone(),
            source_offset: SourceOffset::default(),
        });
        if let Some((key_schema, key)) = tomb {
            out.push(SourceRecord {
                record: ConnectRecord {
                    topic: self.topic.clone(),
                    key_schema,
                    key,
                    timestamp: ts,
                    ..Default::default()
                },
                source_partition: partition.clone(),
                source_offset: SourceOffset::default(),
            });
        }
    }

    /// A truncate event of this table (no key, no rows).
    pub fn truncate(
        &self,
        source: Struct,
        partition: &Arc<OffsetMap>,
        out: &mut Vec<SourceRecord>,
    ) {
        let ts = source.values().get(3).and_then(Value::as_i64);
        out.push(SourceRecord {
            record: ConnectRecord {
                topic: self.topic.clone(),
                value_schema: Some(self.schemas.envelope.clone()),
                value: self
                    .schemas
                    .envelope_value(Op::Truncate, None, None, source, None),
                timestamp: ts,
                ..Default::default()
            },
            source_partition: partition.clone(),
            source_offset: SourceOffset::default(),
        });
    }
}

/// The `source` block's schema, `io.debezium.connector.postgresql.Source`.
pub fn source_schema() -> Schema {
    source_schema_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("schema", Schema::string())
        .field("table", Schema::string())
        .field("txId", Schema::optional_int64())
        .field("lsn", Schema::optional_int64())
        .field("xmin", Schema::optional_int64())
        .build()
}

/// The values of one `source` block.
#[derive(Debug, Clone, Copy)]
pub struct SourceInfo<'a> {
    /// Commit time (snapshot: read time), microseconds since the epoch.
    pub ts_us: i64,
    /// Snapshot marker (None when streaming).
    pub snapshot: Option<SnapshotMarker>,
    /// Database.
    pub db: &'a str,
    /// The table.
    pub table: &'a TableId,
    /// Transaction id.
    pub tx_id: Option<u32>,
    /// The change's LSN.
    pub lsn: Option<u64>,
    /// `[last commit, this change]` (streaming only).
    pub sequence: Option<(u64, u64)>,
}

impl SourceInfo<'_> {
    /// The struct.
    pub fn to_struct(&self, schema: &Schema, server_name: &str) -> Struct {
        let values = vec![
            Value::String(CONNECTOR_VERSION.to_owned()),
            Value::String("postgresql".to_owned()),
            Value::String(server_name.to_owned()),
            Value::Int64(self.ts_us.div_euclid(1000)),
            Value::String(
                self.snapshot
                    .unwrap_or(SnapshotMarker::False)
                    .as_str()
                    .to_owned(),
            ),
            Value::String(self.db.to_owned()),
            self.sequence
                .map(|(c, l)| Value::String(sequence_text(c, l)))
                .unwrap_or(Value::Null),
            Value::Int64(self.ts_us),
            Value::Int64(self.ts_us.saturating_mul(1000)),
            Value::String(self.table.db.clone()),
            Value::String(self.table.table.clone()),
            self.tx_id
                .map(|x| Value::Int64(x as i64))
                .unwrap_or(Value::Null),
            self.lsn
                .map(|l| Value::Int64(l as i64))
                .unwrap_or(Value::Null),
            Value::Null,
        ];
        Struct::from_values(schema.clone(), values).unwrap_or_else(|_| Struct::new(schema.clone()))
    }
}

/// `["<last commit>","<lsn>"]`, Debezium's `sequence` (formatted by hand: one allocation, sized once).
fn sequence_text(commit: u64, lsn: u64) -> String {
    let (mut a, mut b) = (itoa::Buffer::new(), itoa::Buffer::new());
    let (a, b) = (a.format(commit), b.format(lsn));
    let mut s = String::with_capacity(a.len() + b.len() + 7);
    s.push_str("[\"");
    s.push_str(a);
    s.push_str("\",\"");
    s.push_str(b);
    s.push_str("\"]");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_debeziums_json_array_of_two_strings() {
        assert_eq!(sequence_text(0, 1), r#"["0","1"]"#);
        assert_eq!(
            sequence_text(u64::MAX, 22_817_560),
            format!(r#"["{}","22817560"]"#, u64::MAX)
        );
    }
}
