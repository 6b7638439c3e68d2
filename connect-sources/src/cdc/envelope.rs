//! Debezium's change event envelope: key and value schemas per table, the `source` block's common
//! fields, the transaction block, and the records themselves.

use std::time::{SystemTime, UNIX_EPOCH};

use connect_core::data::{Schema, SchemaBuilder, Struct, Value};

use super::types;

/// The `version` field of every `source` block: which implementation wrote the event.
pub const CONNECTOR_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-connect-rs");

/// Envelope schema version (Debezium's `Envelope.SCHEMA_VERSION`).
pub const ENVELOPE_VERSION: i32 = 2;

/// The `op` of a change event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `r`: read by a snapshot.
    Read,
    /// `c`: inserted.
    Create,
    /// `u`: updated.
    Update,
    /// `d`: deleted.
    Delete,
    /// `t`: truncated.
    Truncate,
}

impl Op {
    /// The code in the event.
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
        }
    }
    /// Parses a `skipped.operations` item.
    pub fn parse(code: &str) -> Option<Op> {
        match code.trim() {
            "r" => Some(Op::Read),
            "c" => Some(Op::Create),
            "u" => Some(Op::Update),
            "d" => Some(Op::Delete),
            "t" => Some(Op::Truncate),
            _ => None,
        }
    }
}

/// `source.snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMarker {
    /// A snapshot record, neither first nor last.
    True,
    /// The first record of the snapshot.
    First,
    /// The first record of a table (not of the snapshot).
    FirstInDataCollection,
    /// The last record of a table (not of the snapshot).
    LastInDataCollection,
    /// The last record of the snapshot.
    Last,
    /// A streamed record.
    False,
}

impl SnapshotMarker {
    /// The value in the event.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMarker::True => "true",
            SnapshotMarker::First => "first",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
            SnapshotMarker::Last => "last",
            SnapshotMarker::False => "false",
        }
    }
    /// The marker of row `index` of `table_rows` in table `table_index` of `tables`, as Debezium
    /// assigns them: `first` / `last` for the snapshot's first and last rows, `first_in_data_collection`
    /// / `last_in_data_collection` for a table's, `true` otherwise.
    pub fn for_row(first_table: bool, last_table: bool, first_row: bool, last_row: bool) -> Self {
        match (
            first_table && first_row,
            last_table && last_row,
            first_row,
            last_row,
        ) {
            (true, _, _, _) => SnapshotMarker::First,
            (_, true, _, _) => SnapshotMarker::Last,
            (_, _, true, _) => SnapshotMarker::FirstInDataCollection,
            (_, _, _, true) => SnapshotMarker::LastInDataCollection,
            _ => SnapshotMarker::True,
        }
    }
}

/// The schema of `source.snapshot`: an optional Enum defaulting to `false`.
pub fn snapshot_schema() -> Schema {
    types::enumeration(
        &[
            "true",
            "first",
            "first_in_data_collection",
            "last_in_data_collection",
            "last",
            "false",
            "incremental",
        ]
        .map(String::from),
    )
    .optional()
    .default_value(Value::String("false".into()))
    .build()
}

/// The common head of every `source` schema (version, connector, name, ts_ms, snapshot, db, sequence,
/// ts_us, ts_ns); connectors add their own fields and a name.
pub fn source_schema_builder() -> SchemaBuilder {
    SchemaBuilder::struct_()
        .version(1)
        .field("version", Schema::string())
        .field("connector", Schema::string())
        .field("name", Schema::string())
        .field("ts_ms", Schema::int64())
        .field("snapshot", snapshot_schema())
        .field("db", Schema::string())
        .field("sequence", Schema::optional_string())
        .field("ts_us", Schema::optional_int64())
        .field("ts_ns", Schema::optional_int64())
}

/// The transaction block (`event.block`).
pub fn transaction_schema() -> Schema {
    SchemaBuilder::struct_()
        .optional()
        .name("event.block")
        .version(1)
        .field("id", Schema::string())
        .field("total_order", Schema::int64())
        .field("data_collection_order", Schema::int64())
        .build()
}

/// The schemas of one table's change events.
#[derive(Debug, Clone)]
pub struct EventSchemas {
    /// `<prefix>.<db>.<table>.Key`, or None when the table has no key.
    pub key: Option<Schema>,
    /// `<prefix>.<db>.<table>.Value`: the row (optional, as in `before` / `after`).
    pub row: Schema,
    /// `<prefix>.<db>.<table>.Envelope`.
    pub envelope: Schema,
    /// The transaction block's schema (shared).
    pub transaction: Schema,
}

impl EventSchemas {
    /// Builds the schemas of a table whose topic is `topic` (`<prefix>.<db>.<table>`): `row_fields` are
    /// the row's fields in order, `key_fields` the key's (names and schemas).
    pub fn new(
        topic: &str,
        row_fields: &[(String, Schema)],
        key_fields: &[(String, Schema)],
        source: &Schema,
    ) -> EventSchemas {
        let mut row = SchemaBuilder::struct_()
            .optional()
            .name(format!("{topic}.Value"));
        for (n, s) in row_fields {
            row = row.field(n.clone(), s.clone());
        }
        let row = row.build();
        let key = if key_fields.is_empty() {
            None
        } else {
            let mut k = SchemaBuilder::struct_().name(format!("{topic}.Key"));
            for (n, s) in key_fields {
                k = k.field(n.clone(), s.clone());
            }
            Some(k.build())
        };
        let transaction = transaction_schema();
        let envelope = SchemaBuilder::struct_()
            .name(format!("{topic}.Envelope"))
            .version(ENVELOPE_VERSION)
            .field("before", row.clone())
            .field("after", row.clone())
            .field("source", source.clone())
            .field("op", Schema::string())
            .field("ts_ms", Schema::optional_int64())
            .field("ts_us", Schema::optional_int64())
            .field("ts_ns", Schema::optional_int64())
            .field("transaction", transaction.clone())
            .build();
        EventSchemas {
            key,
            row,
            envelope,
            transaction,
        }
    }

    /// The envelope of one change: `before` / `after` rows (Structs of [`EventSchemas::row`]), the
    /// `source` block, and the transaction block when transaction metadata is on.
    pub fn envelope_value(
        &self,
        op: Op,
        before: Option<Struct>,
        after: Option<Struct>,
        source: Struct,
        transaction: Option<(&str, i64, i64)>,
    ) -> Value {
        let (ms, us, ns) = now_triple();
        let tx = transaction.map(|(id, total, per_table)| {
            Value::Struct(
                Struct::from_values(
                    self.transaction.clone(),
                    vec![
                        Value::String(id.to_owned()),
                        Value::Int64(total),
                        Value::Int64(per_table),
                    ],
                )
                .unwrap_or_else(|_| Struct::new(self.transaction.clone())),
            )
        });
        let values = vec![
            before.map(Value::Struct).unwrap_or(Value::Null),
            after.map(Value::Struct).unwrap_or(Value::Null),
            Value::Struct(source),
            Value::String(op.code().to_owned()),
            Value::Int64(ms),
            Value::Int64(us),
            Value::Int64(ns),
            tx.unwrap_or(Value::Null),
        ];
        // One allocation for the values (the envelope has exactly these fields, in this order).
        Value::Struct(
            Struct::from_values(self.envelope.clone(), values)
                .unwrap_or_else(|_| Struct::new(self.envelope.clone())),
        )
    }
}

/// Now as (ms, µs, ns) since the epoch.
pub fn now_triple() -> (i64, i64, i64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    (ns / 1_000_000, ns / 1_000, ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_markers_follow_debezium() {
        use SnapshotMarker::*;
        assert_eq!(SnapshotMarker::for_row(true, false, true, false), First);
        assert_eq!(SnapshotMarker::for_row(false, true, false, true), Last);
        assert_eq!(SnapshotMarker::for_row(true, true, true, true), First);
        assert_eq!(
            SnapshotMarker::for_row(false, false, true, false),
            FirstInDataCollection
        );
        assert_eq!(
            SnapshotMarker::for_row(false, false, false, true),
            LastInDataCollection
        );
        assert_eq!(SnapshotMarker::for_row(true, false, false, false), True);
    }
}
