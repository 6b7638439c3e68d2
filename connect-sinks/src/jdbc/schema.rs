//! What a column holds: the kind a Connect schema (with Kafka Connect's logical types and
//! Debezium's semantic types) asks for, the table as the database describes it, and the tables and
//! columns `auto.create` and `auto.evolve` add.

use connect_core::data::{logical, Schema, SchemaType};

/// The SQL type family a Connect schema maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// `boolean`.
    Bool,
    /// `int8`.
    Int8,
    /// `int16`.
    Int16,
    /// `int32` (and `io.debezium.time.Year`).
    Int32,
    /// `int64`.
    Int64,
    /// `float32`.
    Float32,
    /// `float64`.
    Float64,
    /// Decimal with a fixed scale, or a variable one (Debezium's `VariableScaleDecimal`).
    Decimal(Option<i32>),
    /// Text (strings, Debezium's `Enum`, `EnumSet`, `ZonedTime`).
    Text,
    /// Bytes.
    Bytes,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time without zone (Connect's Timestamp, Debezium's `Timestamp`,
    /// `MicroTimestamp`, `NanoTimestamp`).
    Timestamp,
    /// An instant with its zone (Debezium's `ZonedTimestamp`).
    TimestampTz,
    /// JSON (Debezium's `Json`, and structs, maps and arrays written as JSON).
    Json,
    /// A UUID (Debezium's `Uuid`).
    Uuid,
}

/// Debezium's semantic type names this sink reads.
pub mod debezium {
    /// `io.debezium.time.Date`: int32 days since the epoch.
    pub const DATE: &str = "io.debezium.time.Date";
    /// `io.debezium.time.Time`: int32 milliseconds since midnight.
    pub const TIME: &str = "io.debezium.time.Time";
    /// `io.debezium.time.MicroTime`: int64 microseconds since midnight.
    pub const MICRO_TIME: &str = "io.debezium.time.MicroTime";
    /// `io.debezium.time.NanoTime`: int64 nanoseconds since midnight.
    pub const NANO_TIME: &str = "io.debezium.time.NanoTime";
    /// `io.debezium.time.Timestamp`: int64 milliseconds since the epoch (the column's wall clock).
    pub const TIMESTAMP: &str = "io.debezium.time.Timestamp";
    /// `io.debezium.time.MicroTimestamp`.
    pub const MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
    /// `io.debezium.time.NanoTimestamp`.
    pub const NANO_TIMESTAMP: &str = "io.debezium.time.NanoTimestamp";
    /// `io.debezium.time.ZonedTimestamp`: ISO-8601 text with an offset.
    pub const ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
    /// `io.debezium.time.ZonedTime`.
    pub const ZONED_TIME: &str = "io.debezium.time.ZonedTime";
    /// `io.debezium.time.Year`.
    pub const YEAR: &str = "io.debezium.time.Year";
    /// `io.debezium.data.Json`.
    pub const JSON: &str = "io.debezium.data.Json";
    /// `io.debezium.data.Uuid`.
    pub const UUID: &str = "io.debezium.data.Uuid";
    /// `io.debezium.data.VariableScaleDecimal`: a struct of `scale` and `value` (unscaled bytes).
    pub const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";
    /// The prefix of Debezium's spatial types, which this sink does not write.
    pub const GEOMETRY_PREFIX: &str = "io.debezium.data.geometry.";
}

/// The kind of a column for a field's schema; `Err` names why the schema cannot be written.
pub fn kind_of(schema: &Schema) -> Result<ColumnKind, String> {
    use debezium as dbz;
    if let Some(name) = schema.name() {
        match name {
            logical::DECIMAL => {
                return Ok(ColumnKind::Decimal(schema.decimal_scale().ok()));
            }
            logical::DATE | dbz::DATE => return Ok(ColumnKind::Date),
            logical::TIME | dbz::TIME | dbz::MICRO_TIME | dbz::NANO_TIME => {
                return Ok(ColumnKind::Time)
            }
            logical::TIMESTAMP | dbz::TIMESTAMP | dbz::MICRO_TIMESTAMP | dbz::NANO_TIMESTAMP => {
                return Ok(ColumnKind::Timestamp)
            }
            dbz::ZONED_TIMESTAMP => return Ok(ColumnKind::TimestampTz),
            dbz::JSON => return Ok(ColumnKind::Json),
            dbz::UUID => return Ok(ColumnKind::Uuid),
            dbz::VARIABLE_SCALE_DECIMAL => return Ok(ColumnKind::Decimal(None)),
            n if n.starts_with(dbz::GEOMETRY_PREFIX) => {
                return Err(format!(
                    "spatial type {n} is not written by this sink (drop the column with ReplaceField or a column.exclude.list at the source)"
                ))
            }
            _ => {}
        }
    }
    Ok(match schema.schema_type() {
        SchemaType::Boolean => ColumnKind::Bool,
        SchemaType::Int8 => ColumnKind::Int8,
        SchemaType::Int16 => ColumnKind::Int16,
        SchemaType::Int32 => ColumnKind::Int32,
        SchemaType::Int64 => ColumnKind::Int64,
        SchemaType::Float32 => ColumnKind::Float32,
        SchemaType::Float64 => ColumnKind::Float64,
        SchemaType::String => ColumnKind::Text,
        SchemaType::Bytes => ColumnKind::Bytes,
        SchemaType::Array | SchemaType::Map | SchemaType::Struct => ColumnKind::Json,
    })
}

/// A column a record brings, as `auto.create`/`auto.evolve` would declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Its kind.
    pub kind: ColumnKind,
    /// True when the schema allows null.
    pub optional: bool,
}

/// A table name split into its optional schema (PostgreSQL) or database (MariaDB/MySQL) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    /// The schema or database; the connection's current one when `None`.
    pub schema: Option<String>,
    /// The table.
    pub name: String,
}

impl TableId {
    /// From `table.name.format` after `${topic}` was replaced: `table`, `schema.table` or
    /// `catalog.schema.table` (the catalog is the connection's database and is dropped).
    pub fn parse(resolved: &str) -> Result<TableId, String> {
        let parts: Vec<&str> = resolved.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) || resolved.len() > 192 {
            return Err(
                "the table name from table.name.format is empty, has an empty part or is over 192 characters"
                    .into(),
            );
        }
        match parts.as_slice() {
            [t] => Ok(TableId {
                schema: None,
                name: (*t).to_owned(),
            }),
            [s, t] | [_, s, t] => Ok(TableId {
                schema: Some((*s).to_owned()),
                name: (*t).to_owned(),
            }),
            _ => Err("the table name from table.name.format has more than three dot-separated parts (use RegexRouter or table.name.format to name the table)".into()),
        }
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One column of a table, as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Its name, exactly.
    pub name: String,
    /// Its type as the database spells it (`format_type` in PostgreSQL, `COLUMN_TYPE` in
    /// MariaDB/MySQL), lower case.
    pub type_name: String,
}

/// A table's columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableInfo {
    /// In table order.
    pub columns: Vec<ColumnInfo>,
}

impl TableInfo {
    /// The column a field writes to: the same name, or failing that the same name in another case.
    pub fn column(&self, field: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == field).or_else(|| {
            self.columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(field))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::data::SchemaBuilder;

    #[test]
    fn kinds_follow_logical_and_debezium_names() {
        let named = |t: SchemaType, n: &str| SchemaBuilder::new(t).name(n).build();
        assert_eq!(
            kind_of(&named(SchemaType::Int32, debezium::DATE)),
            Ok(ColumnKind::Date)
        );
        assert_eq!(
            kind_of(&named(SchemaType::Int64, debezium::MICRO_TIMESTAMP)),
            Ok(ColumnKind::Timestamp)
        );
        assert_eq!(
            kind_of(&named(SchemaType::String, debezium::ZONED_TIMESTAMP)),
            Ok(ColumnKind::TimestampTz)
        );
        assert_eq!(
            kind_of(&named(SchemaType::String, debezium::JSON)),
            Ok(ColumnKind::Json)
        );
        assert_eq!(
            kind_of(&Schema::decimal(2).build()),
            Ok(ColumnKind::Decimal(Some(2)))
        );
        assert_eq!(kind_of(&Schema::date().build()), Ok(ColumnKind::Date));
        assert_eq!(kind_of(&Schema::int16()), Ok(ColumnKind::Int16));
        assert!(kind_of(&named(
            SchemaType::Struct,
            "io.debezium.data.geometry.Point"
        ))
        .unwrap_err()
        .contains("spatial"));
    }

    #[test]
    fn table_names() {
        assert_eq!(TableId::parse("patient").unwrap().to_string(), "patient");
        let t = TableId::parse("clinical.patient").unwrap();
        assert_eq!(
            (t.schema.as_deref(), t.name.as_str()),
            (Some("clinical"), "patient")
        );
        let t = TableId::parse("warehouse.clinical.patient").unwrap();
        assert_eq!(t.schema.as_deref(), Some("clinical"));
        assert!(TableId::parse("a.b.c.d").is_err());
        assert!(TableId::parse("a..b").is_err());
    }

    #[test]
    fn columns_match_exactly_then_without_case() {
        let t = TableInfo {
            columns: vec![
                ColumnInfo {
                    name: "id".into(),
                    type_name: "integer".into(),
                },
                ColumnInfo {
                    name: "Family".into(),
                    type_name: "text".into(),
                },
            ],
        };
        assert_eq!(t.column("family").unwrap().name, "Family");
        assert!(t.column("given").is_none());
    }
}
