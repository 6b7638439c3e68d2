//! One column value of one row, borrowed from its record where it can be, and how each dialect
//! sends it: PostgreSQL in binary for numbers, booleans, dates and timestamps bound for columns of
//! their own family and as text cast to the column's type otherwise, MariaDB/MySQL as typed binary
//! parameters.
//!
//! Errors name what was expected, never the value (it may be patient data).

use std::borrow::Cow;
use std::fmt::Write as _;

use connect_core::converter::JsonConverter;
use connect_core::data::{civil_from_days, Decimal, Schema, Value};

use super::schema::debezium as dbz;
use crate::zone::{format_offset, Zone};

/// A column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer.
    Int(i64),
    /// A 32-bit float.
    Float32(f32),
    /// A 64-bit float.
    Float64(f64),
    /// A decimal, as its exact text.
    Decimal(String),
    /// Text.
    Text(Cow<'a, str>),
    /// JSON text.
    Json(Cow<'a, str>),
    /// Bytes.
    Bytes(&'a [u8]),
    /// Days since 1970-01-01.
    Date(i64),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since the epoch: a wall clock read as UTC (Connect's Timestamp is an instant,
    /// Debezium's `Timestamp` types are the source column's wall clock, both encoded so).
    Timestamp(i64),
}

/// Why a value could not become a cell: the expected form, without the value.
pub type CellError = String;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What a field's schema name says its values mean (Debezium's semantic types), looked up once
/// per schema rather than once per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    /// No semantic type this sink reads: the value's own type decides.
    None,
    /// `io.debezium.time.Date`: int32 days.
    Date,
    /// `io.debezium.time.Time`: int32 milliseconds since midnight.
    TimeMillis,
    /// `io.debezium.time.MicroTime`.
    MicroTime,
    /// `io.debezium.time.NanoTime`.
    NanoTime,
    /// `io.debezium.time.Timestamp`: int64 milliseconds.
    TimestampMillis,
    /// `io.debezium.time.MicroTimestamp`.
    MicroTimestamp,
    /// `io.debezium.time.NanoTimestamp`.
    NanoTimestamp,
    /// `io.debezium.time.ZonedTimestamp`: ISO-8601 text with an offset.
    ZonedTimestamp,
    /// `io.debezium.data.Json`.
    Json,
    /// `io.debezium.data.VariableScaleDecimal`.
    VariableScaleDecimal,
}

impl Semantic {
    /// The semantic type a schema names.
    pub fn of(schema: Option<&Schema>) -> Semantic {
        match schema.and_then(|s| s.name()) {
            Some(dbz::DATE) => Semantic::Date,
            Some(dbz::TIME) => Semantic::TimeMillis,
            Some(dbz::MICRO_TIME) => Semantic::MicroTime,
            Some(dbz::NANO_TIME) => Semantic::NanoTime,
            Some(dbz::TIMESTAMP) => Semantic::TimestampMillis,
            Some(dbz::MICRO_TIMESTAMP) => Semantic::MicroTimestamp,
            Some(dbz::NANO_TIMESTAMP) => Semantic::NanoTimestamp,
            Some(dbz::ZONED_TIMESTAMP) => Semantic::ZonedTimestamp,
            Some(dbz::JSON) => Semantic::Json,
            Some(dbz::VARIABLE_SCALE_DECIMAL) => Semantic::VariableScaleDecimal,
            _ => Semantic::None,
        }
    }
}

/// Converts a field's value, read with its schema (if any).
pub fn cell_of<'a>(value: &'a Value, schema: Option<&Schema>) -> Result<Cell<'a>, CellError> {
    cell_as(value, schema, Semantic::of(schema))
}

/// As [`cell_of`], with the schema's semantic type already looked up.
pub fn cell_as<'a>(
    value: &'a Value,
    schema: Option<&Schema>,
    semantic: Semantic,
) -> Result<Cell<'a>, CellError> {
    Ok(match value {
        Value::Null => Cell::Null,
        Value::Boolean(b) => Cell::Bool(*b),
        Value::Int8(v) => Cell::Int(*v as i64),
        Value::Int16(v) => Cell::Int(*v as i64),
        Value::Int32(v) => match semantic {
            Semantic::Date => Cell::Date(*v as i64),
            Semantic::TimeMillis => Cell::Time(*v as i64 * 1000),
            _ => Cell::Int(*v as i64),
        },
        Value::Int64(v) => match semantic {
            Semantic::MicroTime => Cell::Time(*v),
            Semantic::NanoTime => Cell::Time(v.div_euclid(1000)),
            Semantic::TimestampMillis => Cell::Timestamp(
                v.checked_mul(1000)
                    .ok_or("a timestamp in milliseconds within the representable range")?,
            ),
            Semantic::MicroTimestamp => Cell::Timestamp(*v),
            Semantic::NanoTimestamp => Cell::Timestamp(v.div_euclid(1000)),
            _ => Cell::Int(*v),
        },
        Value::Float32(v) => Cell::Float32(*v),
        Value::Float64(v) => Cell::Float64(*v),
        Value::String(s) => {
            match semantic {
                Semantic::ZonedTimestamp => Cell::Timestamp(parse_zoned_timestamp(s).ok_or(
                    "an ISO-8601 timestamp with an offset (io.debezium.time.ZonedTimestamp)",
                )?),
                Semantic::Json => Cell::Json(Cow::Borrowed(s)),
                _ => Cell::Text(Cow::Borrowed(s)),
            }
        }
        Value::Bytes(b) => Cell::Bytes(b),
        Value::Decimal(d) => Cell::Decimal(d.to_string()),
        Value::Date(d) => Cell::Date(*d as i64),
        Value::Time(ms) => Cell::Time(*ms as i64 * 1000),
        Value::Timestamp(ms) => Cell::Timestamp(
            ms.checked_mul(1000)
                .ok_or("a timestamp within the representable range")?,
        ),
        Value::Struct(s) if semantic == Semantic::VariableScaleDecimal => {
            let scale = match s.get("scale") {
                Some(Value::Int32(v)) => *v,
                _ => return Err("a VariableScaleDecimal struct with an int32 scale".into()),
            };
            let bytes = match s.get("value") {
                Some(Value::Bytes(b)) => b,
                _ => return Err("a VariableScaleDecimal struct with bytes in value".into()),
            };
            Cell::Decimal(
                Decimal::from_be_bytes(bytes, scale)
                    .map_err(|_| "a VariableScaleDecimal of at most 38 digits")?
                    .to_string(),
            )
        }
        Value::Struct(_) | Value::Map(_) | Value::Array(_) => {
            let mut out = Vec::new();
            JsonConverter::new(false)
                .write_value(schema, value, &mut out)
                .map_err(|_| "a struct, map or array that can be written as JSON")?;
            Cell::Json(Cow::Owned(
                String::from_utf8(out).map_err(|_| "JSON text in UTF-8")?,
            ))
        }
    })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM|±HH)` into microseconds since the epoch.
pub fn parse_zoned_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(d).ok()?.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b' '))
    {
        return None;
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 6 {
                micros = micros * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        if i == start || i - start > 12 {
            return None;
        }
        for _ in (i - start)..6 {
            micros *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let rest: Vec<u8> = b[i + 1..].iter().copied().filter(|c| *c != b':').collect();
            if !(rest.len() == 2 || rest.len() == 4) || !rest.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let oh = ((rest[0] - b'0') * 10 + (rest[1] - b'0')) as i64;
            let om = if rest.len() == 4 {
                ((rest[2] - b'0') * 10 + (rest[3] - b'0')) as i64
            } else {
                0
            };
            if oh > 18 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = connect_core::data::days_from_civil(y, m as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

fn push_date(out: &mut String, days: i64) -> Result<(), CellError> {
    let (y, m, d) = civil_from_days(days);
    if !(1..=9999).contains(&y) {
        return Err("a date between the years 1 and 9999".into());
    }
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    Ok(())
}

fn push_time(out: &mut String, micros: i64) {
    let (s, us) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let _ = write!(out, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if us != 0 {
        let _ = write!(out, ".{us:06}");
    }
}

/// Microseconds since the epoch as the wall clock of `zone` at that instant (microseconds since
/// 1970-01-01 on a calendar without zones), with the zone's offset from UTC then, in seconds.
pub fn local_timestamp(micros: i64, zone: Zone) -> Result<(i64, i32), CellError> {
    const RANGE: &str = "a timestamp within the representable range";
    let offset = zone
        .offset_seconds_at(micros.div_euclid(1_000_000))
        .ok_or(RANGE)?;
    let wall = micros
        .checked_add(i64::from(offset) * 1_000_000)
        .ok_or(RANGE)?;
    Ok((wall, offset))
}

/// A wall clock (microseconds since 1970-01-01) as `YYYY-MM-DD HH:MM:SS[.ffffff]`, followed by
/// the offset when one is given; the date must lie in the years 1 to 9999.
fn push_timestamp(out: &mut String, wall: i64, offset: Option<i32>) -> Result<(), CellError> {
    push_date(out, wall.div_euclid(MICROS_PER_DAY))?;
    out.push(' ');
    push_time(out, wall.rem_euclid(MICROS_PER_DAY));
    if let Some(o) = offset {
        out.push_str(&format_offset(o));
    }
    Ok(())
}

/// The text PostgreSQL reads a cell from, for a column of type `target` (lower case, as
/// `format_type` gives it); `None` is NULL. Timestamps are written as the wall clock of `zone`
/// (`db.timezone`), which is what a `timestamp` column keeps; for a `timestamptz` column the
/// zone's offset at that instant follows, so the instant is exact even in the hour a daylight
/// saving change repeats.
pub fn pg_text(cell: &Cell<'_>, target: &str, zone: Zone) -> Result<Option<String>, CellError> {
    let mut out = String::new();
    match cell {
        Cell::Null => return Ok(None),
        Cell::Bool(b) => out.push_str(match (target == "boolean", *b) {
            (true, true) => "t",
            (true, false) => "f",
            (false, true) => "1",
            (false, false) => "0",
        }),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Cell::Float32(f) => push_float(&mut out, *f as f64, Some(*f)),
        Cell::Float64(f) => push_float(&mut out, *f, None),
        Cell::Decimal(d) => out.push_str(d),
        Cell::Text(s) | Cell::Json(s) => {
            if s.contains('\0') {
                return Err("text without NUL characters (PostgreSQL cannot store them)".into());
            }
            if target.ends_with("[]") {
                if let Cell::Json(j) = cell {
                    return json_array_to_pg(j).map(Some);
                }
            }
            out.push_str(s)
        }
        Cell::Bytes(b) => {
            out.reserve(2 + b.len() * 2);
            out.push_str("\\x");
            for byte in *b {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Cell::Date(days) => push_date(&mut out, *days)?,
        Cell::Time(us) => {
            if !(0..=MICROS_PER_DAY).contains(us) {
                return Err("a time of day".into());
            }
            push_time(&mut out, *us)
        }
        Cell::Timestamp(us) => {
            let (wall, offset) = local_timestamp(*us, zone)?;
            let zoned = target.ends_with("with time zone");
            push_timestamp(&mut out, wall, zoned.then_some(offset))?;
        }
    }
    Ok(Some(out))
}

/// A value as it travels to PostgreSQL: numbers, booleans, dates and timestamps bound for columns
/// of their own family in binary, everything else as the text the column's type reads.
#[derive(Debug, Clone, PartialEq)]
pub enum PgCell<'a> {
    /// NULL.
    Null,
    /// Text, cast by the server to the column's type (borrowed from the record when it can be).
    Text(Cow<'a, str>),
    /// An integer for a `smallint`, `integer` or `bigint` column.
    Int(i64),
    /// A float for a `real` or `double precision` column.
    Float(f64),
    /// A boolean for a `boolean` column.
    Bool(bool),
    /// A date for a `date` column: days since 1970-01-01, within the years 1 to 9999.
    Date(i64),
    /// A timestamp for a `timestamp` column: the wall clock of `db.timezone`, as microseconds
    /// since 1970-01-01 on a calendar without zones, within the years 1 to 9999.
    Timestamp(i64),
    /// A timestamp for a `timestamptz` column: the instant, microseconds since the epoch (UTC),
    /// within the years 1 to 9999.
    TimestampTz(i64),
}

impl PgCell<'_> {
    /// The text the column's type reads the value from (`None` for NULL), for a column whose
    /// values are of mixed kinds and so travel as text. Dates and timestamps were range-checked
    /// when the cell was made.
    pub fn to_text(&self) -> Option<String> {
        let mut out = String::new();
        match self {
            PgCell::Null => return None,
            PgCell::Text(t) => out.push_str(t),
            PgCell::Int(i) => {
                let _ = write!(out, "{i}");
            }
            PgCell::Float(f) => push_float(&mut out, *f, None),
            PgCell::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            PgCell::Date(d) => {
                let _ = push_date(&mut out, *d);
            }
            PgCell::Timestamp(us) => {
                let _ = push_timestamp(&mut out, *us, None);
            }
            PgCell::TimestampTz(us) => {
                let _ = push_timestamp(&mut out, *us, Some(0));
            }
        }
        Some(out)
    }
}

/// `micros` (since 1970-01-01) when its date lies in the years 1 to 9999, as the text forms allow.
fn in_year_range(micros: i64) -> Result<i64, CellError> {
    let (y, _, _) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
    if (1..=9999).contains(&y) {
        Ok(micros)
    } else {
        Err("a timestamp between the years 1 and 9999".into())
    }
}

/// A PostgreSQL column type as far as the binary forms care, read from its name (`format_type`'s
/// text) once per statement rather than once per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgTarget {
    /// `smallint`, `integer` or `bigint`.
    Integer,
    /// `real`.
    Real,
    /// `double precision`.
    Double,
    /// `boolean`.
    Boolean,
    /// `date`.
    Date,
    /// `timestamp[(p)] without time zone`.
    Timestamp,
    /// `timestamp[(p)] with time zone`.
    TimestampTz,
    /// Any array type (`…[]`).
    Array,
    /// Anything else: values go as text the type reads.
    Other,
}

impl PgTarget {
    /// The target for a column type name.
    pub fn of(type_name: &str) -> PgTarget {
        match type_name {
            "smallint" | "integer" | "bigint" => PgTarget::Integer,
            "real" => PgTarget::Real,
            "double precision" => PgTarget::Double,
            "boolean" => PgTarget::Boolean,
            "date" => PgTarget::Date,
            t if t.ends_with("[]") => PgTarget::Array,
            t if t.starts_with("timestamp") && t.ends_with("with time zone") => {
                PgTarget::TimestampTz
            }
            t if t.starts_with("timestamp") && t.ends_with("without time zone") => {
                PgTarget::Timestamp
            }
            _ => PgTarget::Other,
        }
    }
}

/// The form a cell is sent to PostgreSQL in, for a column of type `ty` (see [`pg_text`]), whose
/// [`PgTarget`] is `target`. The cell is taken by value, so text it owns (a decimal's, a nested
/// value's JSON) moves into the parameter instead of being copied.
pub fn pg_cell<'a>(
    cell: Cell<'a>,
    ty: &str,
    target: PgTarget,
    zone: Zone,
) -> Result<PgCell<'a>, CellError> {
    Ok(match (cell, target) {
        (Cell::Null, _) => PgCell::Null,
        (Cell::Text(s) | Cell::Json(s), t) if t != PgTarget::Array && !s.contains('\0') => {
            PgCell::Text(s)
        }
        // A decimal's text is digits, a sign and a point.
        (Cell::Decimal(d), _) => PgCell::Text(Cow::Owned(d)),
        (Cell::Int(i), PgTarget::Integer) => PgCell::Int(i),
        (Cell::Float64(f), PgTarget::Double) => PgCell::Float(f),
        // Widening is exact, and the cast back to real gives the same f32.
        (Cell::Float32(f), PgTarget::Real | PgTarget::Double) => PgCell::Float(f as f64),
        (Cell::Bool(b), PgTarget::Boolean) => PgCell::Bool(b),
        (Cell::Date(days), PgTarget::Date) => {
            let (y, _, _) = civil_from_days(days);
            if !(1..=9999).contains(&y) {
                return Err("a date between the years 1 and 9999".into());
            }
            PgCell::Date(days)
        }
        // Not for an array of timestamps (`timestamp without time zone[]`): that is text.
        (Cell::Timestamp(us), PgTarget::TimestampTz) => PgCell::TimestampTz(in_year_range(us)?),
        (Cell::Timestamp(us), PgTarget::Timestamp) => {
            let (wall, _) = local_timestamp(us, zone)?;
            PgCell::Timestamp(in_year_range(wall)?)
        }
        (cell, _) => match pg_text(&cell, ty, zone)? {
            Some(t) => PgCell::Text(Cow::Owned(t)),
            None => PgCell::Null,
        },
    })
}

fn push_float(out: &mut String, v: f64, as_f32: Option<f32>) {
    if v.is_nan() {
        out.push_str("NaN")
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else if let Some(f) = as_f32 {
        // The shortest text that reads back as the same f32.
        let _ = write!(out, "{f}");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// A JSON array of scalars as a PostgreSQL array literal (`{"a","b"}`), for array columns.
fn json_array_to_pg(json: &str) -> Result<String, CellError> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|_| "a JSON array for an array column")?;
    let items = v.as_array().ok_or("an array for an array column")?;
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            serde_json::Value::Null => out.push_str("NULL"),
            serde_json::Value::String(s) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            serde_json::Value::Bool(b) => out.push_str(if *b { "t" } else { "f" }),
            serde_json::Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            _ => return Err("an array of scalars for an array column".into()),
        }
    }
    out.push('}');
    Ok(out)
}

/// The parameter MariaDB/MySQL reads a cell from. Timestamps are sent as the wall clock of `zone`:
/// `db.timezone` for a `DATETIME` column, the session's `time_zone` for a `TIMESTAMP` column, which
/// the server converts from it (see [`crate::jdbc::writer`]).
pub fn mysql_value(cell: &Cell<'_>, zone: Zone) -> Result<mysql_async::Value, CellError> {
    use mysql_async::Value as V;
    Ok(match cell {
        Cell::Null => V::NULL,
        Cell::Bool(b) => V::Int(*b as i64),
        Cell::Int(i) => V::Int(*i),
        Cell::Float32(f) => V::Float(*f),
        Cell::Float64(f) => V::Double(*f),
        Cell::Decimal(d) => V::Bytes(d.as_bytes().to_vec()),
        Cell::Text(s) | Cell::Json(s) => V::Bytes(s.as_bytes().to_vec()),
        Cell::Bytes(b) => V::Bytes(b.to_vec()),
        Cell::Date(days) => {
            let (y, m, d) = civil_from_days(*days);
            if !(0..=9999).contains(&y) {
                return Err("a date between the years 0 and 9999".into());
            }
            V::Date(y as u16, m as u8, d as u8, 0, 0, 0, 0)
        }
        Cell::Time(us) => {
            let neg = *us < 0;
            let a = us.unsigned_abs();
            let (s, frac) = (a / 1_000_000, (a % 1_000_000) as u32);
            let days = s / 86_400;
            if days > 34 {
                return Err("a time within MariaDB/MySQL's TIME range".into());
            }
            V::Time(
                neg,
                days as u32,
                (s / 3600 % 24) as u8,
                (s / 60 % 60) as u8,
                (s % 60) as u8,
                frac,
            )
        }
        Cell::Timestamp(us) => {
            let (wall, _) = local_timestamp(*us, zone)?;
            let tod = wall.rem_euclid(MICROS_PER_DAY);
            let (y, m, d) = civil_from_days(wall.div_euclid(MICROS_PER_DAY));
            if !(0..=9999).contains(&y) {
                return Err("a timestamp between the years 0 and 9999".into());
            }
            let s = tod / 1_000_000;
            V::Date(
                y as u16,
                m as u8,
                d as u8,
                (s / 3600) as u8,
                (s / 60 % 60) as u8,
                (s % 60) as u8,
                (tod % 1_000_000) as u32,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::data::{SchemaBuilder, SchemaType, Struct};

    fn named(t: SchemaType, n: &str) -> Schema {
        SchemaBuilder::new(t).name(n).build()
    }

    #[test]
    fn debezium_temporal_types_become_dates_times_and_timestamps() {
        let v = Value::Int32(19_000);
        assert_eq!(
            cell_of(&v, Some(&named(SchemaType::Int32, dbz::DATE))),
            Ok(Cell::Date(19_000))
        );
        let v = Value::Int64(1_700_000_000_123);
        let c = cell_of(&v, Some(&named(SchemaType::Int64, dbz::TIMESTAMP))).unwrap();
        assert_eq!(
            pg_text(&c, "timestamp(3) without time zone", Zone::UTC)
                .unwrap()
                .unwrap(),
            "2023-11-14 22:13:20.123000"
        );
        let v = Value::Int64(3_600_000_001);
        let c = cell_of(&v, Some(&named(SchemaType::Int64, dbz::MICRO_TIME))).unwrap();
        assert_eq!(
            pg_text(&c, "time", Zone::UTC).unwrap().unwrap(),
            "01:00:00.000001"
        );
        let v = Value::String("2024-02-29T23:30:00.5+01:00".into());
        let c = cell_of(&v, Some(&named(SchemaType::String, dbz::ZONED_TIMESTAMP))).unwrap();
        assert_eq!(
            pg_text(&c, "timestamp with time zone", Zone::UTC)
                .unwrap()
                .unwrap(),
            "2024-02-29 22:30:00.500000+00:00"
        );
        assert_eq!(
            pg_text(&c, "timestamp with time zone", Zone::Fixed(3600))
                .unwrap()
                .unwrap(),
            "2024-02-29 23:30:00.500000+01:00"
        );
        let bad = Value::String("yesterday".into());
        let e = cell_of(&bad, Some(&named(SchemaType::String, dbz::ZONED_TIMESTAMP))).unwrap_err();
        assert!(!e.contains("yesterday"), "{e}");
    }

    #[test]
    fn variable_scale_decimals_and_nested_values() {
        let schema = SchemaBuilder::struct_()
            .name(dbz::VARIABLE_SCALE_DECIMAL)
            .field("scale", Schema::int32())
            .field("value", Schema::bytes())
            .build();
        let mut s = Struct::new(schema.clone());
        s.put("scale", Value::Int32(2)).unwrap();
        s.put(
            "value",
            Value::Bytes(bytes::Bytes::from_static(&[0x30, 0x39])),
        )
        .unwrap();
        let v = Value::Struct(s);
        assert_eq!(
            cell_of(&v, Some(&schema)),
            Ok(Cell::Decimal("123.45".into()))
        );
        let arr = Value::Array(vec![Value::String("a\"b".into()), Value::Null]);
        let c = cell_of(&arr, None).unwrap();
        assert_eq!(
            pg_text(&c, "jsonb", Zone::UTC).unwrap().unwrap(),
            "[\"a\\\"b\",null]"
        );
        assert_eq!(
            pg_text(&c, "text[]", Zone::UTC).unwrap().unwrap(),
            "{\"a\\\"b\",NULL}"
        );
    }

    #[test]
    fn postgres_text_forms() {
        assert_eq!(
            pg_text(&Cell::Bool(true), "boolean", Zone::UTC)
                .unwrap()
                .unwrap(),
            "t"
        );
        assert_eq!(
            pg_text(&Cell::Bool(true), "smallint", Zone::UTC)
                .unwrap()
                .unwrap(),
            "1"
        );
        assert_eq!(
            pg_text(&Cell::Bytes(&[0, 255]), "bytea", Zone::UTC)
                .unwrap()
                .unwrap(),
            "\\x00ff"
        );
        assert_eq!(
            pg_text(&Cell::Float64(f64::NAN), "double precision", Zone::UTC)
                .unwrap()
                .unwrap(),
            "NaN"
        );
        assert_eq!(
            pg_text(&Cell::Float32(0.1), "real", Zone::UTC)
                .unwrap()
                .unwrap(),
            "0.1"
        );
        assert_eq!(
            pg_text(&Cell::Date(-1), "date", Zone::UTC)
                .unwrap()
                .unwrap(),
            "1969-12-31"
        );
        assert_eq!(pg_text(&Cell::Null, "text", Zone::UTC).unwrap(), None);
        let e = pg_text(&Cell::Text("a\0b".into()), "text", Zone::UTC).unwrap_err();
        assert!(e.contains("NUL"), "{e}");
        assert!(pg_text(&Cell::Date(5_000_000), "date", Zone::UTC).is_err());
    }

    #[test]
    fn numbers_and_booleans_go_binary_only_to_columns_of_their_family() {
        let pg = |c: Cell<'static>, ty: &str, zone| pg_cell(c, ty, PgTarget::of(ty), zone);
        assert_eq!(pg(Cell::Int(5), "bigint", Zone::UTC), Ok(PgCell::Int(5)));
        assert_eq!(
            pg(Cell::Int(5), "numeric(8,2)", Zone::UTC),
            Ok(PgCell::Text(Cow::Borrowed("5")))
        );
        assert_eq!(
            pg(Cell::Float32(0.1), "real", Zone::UTC),
            Ok(PgCell::Float(0.1f32 as f64))
        );
        assert_eq!(
            pg(Cell::Bool(true), "boolean", Zone::UTC),
            Ok(PgCell::Bool(true))
        );
        assert_eq!(
            pg(Cell::Bool(true), "integer", Zone::UTC),
            Ok(PgCell::Text(Cow::Borrowed("1")))
        );
        assert_eq!(pg(Cell::Null, "bigint", Zone::UTC), Ok(PgCell::Null));
        // Dates and timestamps for columns of their type go binary: a wall clock for
        // `timestamp`, the instant for `timestamptz`.
        assert_eq!(pg(Cell::Date(-1), "date", Zone::UTC), Ok(PgCell::Date(-1)));
        assert!(pg(Cell::Date(5_000_000), "date", Zone::UTC).is_err());
        let ny = Zone::parse("America/New_York").unwrap();
        let at = Cell::Timestamp(1_793_514_600_000_000);
        assert_eq!(
            pg(at.clone(), "timestamp(3) without time zone", ny),
            Ok(PgCell::Timestamp(1_793_514_600_000_000 - 5 * 3_600_000_000))
        );
        assert_eq!(
            pg(at.clone(), "timestamp with time zone", ny),
            Ok(PgCell::TimestampTz(1_793_514_600_000_000))
        );
        assert!(pg(
            Cell::Timestamp(-70_000_000_000_000_000),
            "timestamp with time zone",
            ny
        )
        .is_err());
        assert!(pg(
            Cell::Timestamp(i64::MIN),
            "timestamp without time zone",
            Zone::UTC
        )
        .is_err());
        // Into a text or an array column, a timestamp is text.
        assert!(matches!(
            pg(at.clone(), "timestamp without time zone[]", ny),
            Ok(PgCell::Text(_))
        ));
        // Into a text column too.
        assert!(matches!(pg(at.clone(), "text", ny), Ok(PgCell::Text(_))));
        // A decimal's text moves into the parameter; owned text is checked for NUL as borrowed
        // text is.
        assert_eq!(
            pg(Cell::Decimal("12.50".into()), "numeric(8,2)", ny),
            Ok(PgCell::Text(Cow::Owned("12.50".into())))
        );
        assert!(pg(Cell::Json(Cow::Owned("\"a\0\"".into())), "jsonb", ny).is_err());
    }

    #[test]
    fn postgres_type_names_read_once_as_targets() {
        for (ty, want) in [
            ("smallint", PgTarget::Integer),
            ("bigint", PgTarget::Integer),
            ("real", PgTarget::Real),
            ("double precision", PgTarget::Double),
            ("boolean", PgTarget::Boolean),
            ("date", PgTarget::Date),
            ("timestamp(3) without time zone", PgTarget::Timestamp),
            ("timestamp without time zone", PgTarget::Timestamp),
            ("timestamp(6) with time zone", PgTarget::TimestampTz),
            ("timestamp with time zone[]", PgTarget::Array),
            ("integer[]", PgTarget::Array),
            ("numeric(8,2)", PgTarget::Other),
            ("time without time zone", PgTarget::Other),
            ("text", PgTarget::Other),
        ] {
            assert_eq!(PgTarget::of(ty), want, "{ty}");
        }
    }

    #[test]
    fn mysql_values() {
        use mysql_async::Value as V;
        assert_eq!(
            mysql_value(&Cell::Date(0), Zone::UTC).unwrap(),
            V::Date(1970, 1, 1, 0, 0, 0, 0)
        );
        assert_eq!(
            mysql_value(
                &Cell::Timestamp(86_400_000_000 + 1_500_000),
                Zone::Fixed(3600)
            )
            .unwrap(),
            V::Date(1970, 1, 2, 1, 0, 1, 500_000)
        );
        assert_eq!(
            mysql_value(&Cell::Time(-1_000_000), Zone::UTC).unwrap(),
            V::Time(true, 0, 0, 0, 1, 0)
        );
        assert_eq!(
            mysql_value(&Cell::Bool(true), Zone::UTC).unwrap(),
            V::Int(1)
        );
    }

    /// A named `db.timezone` follows daylight saving: a `timestamp` column gets New York's wall
    /// clock, which repeats 01:30 on 2026-11-01; a `timestamptz` column gets the offset as well,
    /// so the two instants stay apart; MariaDB's `DATETIME` gets the wall clock.
    #[test]
    fn a_named_zone_writes_the_wall_clock_of_each_instant() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 2026-11-01T05:30Z is 01:30 EDT; an hour later it is 01:30 EST.
        let first = Cell::Timestamp(1_793_511_000_000_000);
        let second = Cell::Timestamp(1_793_514_600_000_000);
        let winter = Cell::Timestamp(1_768_478_400_000_000); // 2026-01-15T12:00Z
        let text = |c: &Cell<'_>, t: &str| pg_text(c, t, ny).unwrap().unwrap();
        assert_eq!(
            text(&first, "timestamp without time zone"),
            "2026-11-01 01:30:00"
        );
        assert_eq!(
            text(&second, "timestamp without time zone"),
            "2026-11-01 01:30:00"
        );
        assert_eq!(
            text(&first, "timestamp(6) with time zone"),
            "2026-11-01 01:30:00-04:00"
        );
        assert_eq!(
            text(&second, "timestamp with time zone"),
            "2026-11-01 01:30:00-05:00"
        );
        assert_eq!(text(&winter, "timestamp"), "2026-01-15 07:00:00");
        use mysql_async::Value as V;
        assert_eq!(
            mysql_value(&second, ny).unwrap(),
            V::Date(2026, 11, 1, 1, 30, 0, 0)
        );
        assert_eq!(format_offset(-4 * 3600), "-04:00");
        // Beyond the calendar: an error naming the expected range, not a panic.
        let far = Cell::Timestamp(i64::MAX);
        assert!(pg_text(&far, "timestamp", ny).is_err());
        assert!(mysql_value(&far, ny).is_err());
    }

    #[test]
    fn zoned_timestamps() {
        assert_eq!(parse_zoned_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_zoned_timestamp("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_zoned_timestamp("1970-01-01T00:00:00.000001Z"),
            Some(1)
        );
        assert_eq!(parse_zoned_timestamp("1969-12-31T23:00:00-0100"), Some(0));
        for bad in [
            "",
            "1970-01-01",
            "1970-13-01T00:00:00Z",
            "1970-01-01T00:00:00",
            "1970-01-01T00:00:00+1",
            "1970-01-01T00:00:00Zjunk",
        ] {
            assert_eq!(parse_zoned_timestamp(bad), None, "{bad}");
        }
    }
}
