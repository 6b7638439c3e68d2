//! Debezium's MySQL type table: each column's Connect schema, and its values converted from the binlog
//! (row events) and from the text protocol (snapshot reads) to the same Connect values.

use connect_core::data::{Decimal, Schema, SchemaBuilder, SchemaType, Struct, Value};
use mysql_async::Value as My;

use super::ddl::parse_type;
use crate::cdc::filters::Mask;
use crate::cdc::table::ColumnDef;
use crate::cdc::types::{
    self, binary, parse_date, parse_hms, BigintUnsignedHandling, BinaryHandling, DecimalHandling,
    TimePrecision,
};

/// The handling modes that choose a column's representation.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    /// `decimal.handling.mode`.
    pub decimal: DecimalHandling,
    /// `time.precision.mode`.
    pub time: TimePrecision,
    /// `binary.handling.mode`.
    pub binary: BinaryHandling,
    /// `bigint.unsigned.handling.mode`.
    pub bigint_unsigned: BigintUnsignedHandling,
}

/// What a column is, for conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// BOOLEAN, BIT(1).
    Bool,
    /// Integers: width in bytes (1, 2, 3, 4, 8) and signedness.
    Int {
        /// Storage width.
        bytes: u8,
        /// UNSIGNED.
        unsigned: bool,
    },
    /// FLOAT.
    Float,
    /// DOUBLE, REAL.
    Double,
    /// DECIMAL(p, s).
    Decimal {
        /// Precision.
        precision: Option<u32>,
        /// Scale.
        scale: u32,
    },
    /// Character data in a charset.
    Text {
        /// The column's charset (binlog bytes are in it).
        charset: Option<String>,
    },
    /// JSON.
    Json,
    /// Binary data.
    Binary,
    /// DATE.
    Date,
    /// TIME(fsp).
    Time(u32),
    /// DATETIME(fsp).
    DateTime(u32),
    /// TIMESTAMP(fsp).
    Timestamp(u32),
    /// YEAR.
    Year,
    /// ENUM members.
    Enum(Vec<String>),
    /// SET members.
    Set(Vec<String>),
    /// BIT(n), n > 1.
    Bits(u32),
    /// Spatial types.
    Geometry,
}

impl Kind {
    /// The kind of a column definition.
    pub fn of(c: &ColumnDef) -> Kind {
        let t = parse_type(&c.type_name);
        let unsigned = t.unsigned;
        let len = c.length.filter(|l| *l >= 0).map(|l| l as u32);
        match t.base.as_str() {
            "BOOLEAN" => Kind::Bool,
            "BIT" if len.unwrap_or(1) <= 1 => Kind::Bool,
            "BIT" => Kind::Bits(len.unwrap_or(1).min(64)),
            "TINYINT" => Kind::Int { bytes: 1, unsigned },
            "SMALLINT" => Kind::Int { bytes: 2, unsigned },
            "MEDIUMINT" => Kind::Int { bytes: 3, unsigned },
            "INT" => Kind::Int { bytes: 4, unsigned },
            "BIGINT" | "SERIAL" => Kind::Int {
                bytes: 8,
                unsigned: unsigned || t.base == "SERIAL",
            },
            "FLOAT" => Kind::Float,
            "DOUBLE" | "REAL" => Kind::Double,
            "DECIMAL" => Kind::Decimal {
                precision: len.or(Some(10)),
                scale: c.scale.filter(|s| *s >= 0).map(|s| s as u32).unwrap_or(0),
            },
            "JSON" => Kind::Json,
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" => Kind::Text {
                charset: c.charset.clone(),
            },
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                Kind::Binary
            }
            "DATE" => Kind::Date,
            "TIME" => Kind::Time(len.unwrap_or(0).min(6)),
            "DATETIME" => Kind::DateTime(len.unwrap_or(0).min(6)),
            "TIMESTAMP" => Kind::Timestamp(len.unwrap_or(0).min(6)),
            "YEAR" => Kind::Year,
            "ENUM" => Kind::Enum(c.enum_values.clone()),
            "SET" => Kind::Set(c.enum_values.clone()),
            "GEOMETRY" | "POINT" | "LINESTRING" | "POLYGON" | "MULTIPOINT" | "MULTILINESTRING"
            | "MULTIPOLYGON" | "GEOMETRYCOLLECTION" | "GEOMCOLLECTION" => Kind::Geometry,
            _ => Kind::Text { charset: None },
        }
    }

    /// The column's Connect schema (optional when the column is nullable).
    pub fn schema(&self, modes: &Modes, optional: bool) -> Schema {
        let b = match self {
            Kind::Bool => SchemaBuilder::new(SchemaType::Boolean),
            Kind::Int { bytes, unsigned } => match (bytes, unsigned) {
                (1, _) | (2, false) => SchemaBuilder::new(SchemaType::Int16),
                (2, true) | (3, _) | (4, false) => SchemaBuilder::new(SchemaType::Int32),
                (8, true) if modes.bigint_unsigned == BigintUnsignedHandling::Precise => {
                    types::decimal(Some(20), 0)
                }
                _ => SchemaBuilder::new(SchemaType::Int64),
            },
            Kind::Float => SchemaBuilder::new(SchemaType::Float32),
            Kind::Double => SchemaBuilder::new(SchemaType::Float64),
            Kind::Decimal { precision, scale } => match modes.decimal {
                DecimalHandling::Precise => types::decimal(*precision, *scale),
                DecimalHandling::Double => SchemaBuilder::new(SchemaType::Float64),
                DecimalHandling::String => SchemaBuilder::new(SchemaType::String),
            },
            Kind::Text { .. } => SchemaBuilder::new(SchemaType::String),
            Kind::Json => types::json(),
            Kind::Binary => match modes.binary {
                BinaryHandling::Bytes => SchemaBuilder::new(SchemaType::Bytes),
                _ => SchemaBuilder::new(SchemaType::String),
            },
            Kind::Date => match modes.time {
                TimePrecision::Connect => Schema::date(),
                _ => types::date(),
            },
            Kind::Time(fsp) => match modes.time {
                TimePrecision::Connect => Schema::time(),
                TimePrecision::Adaptive if *fsp <= 3 => types::time_millis(),
                _ => types::micro_time(),
            },
            Kind::DateTime(fsp) => match modes.time {
                TimePrecision::Connect => Schema::timestamp(),
                _ if *fsp <= 3 => types::timestamp_millis(),
                _ => types::micro_timestamp(),
            },
            Kind::Timestamp(_) => types::zoned_timestamp(),
            Kind::Year => types::year(),
            Kind::Enum(v) => types::enumeration(v),
            Kind::Set(v) => types::enum_set(v),
            Kind::Bits(n) => types::bits(*n),
            Kind::Geometry => types::geometry(),
        };
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }
}

/// Where a value was read: the binlog's binary row format, or the text protocol of a snapshot query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A row event.
    Binlog,
    /// A snapshot `SELECT` (text protocol, session time zone UTC, utf8mb4).
    Text,
}

/// Why a value could not be converted: the expected form, never the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("expected {expected}")]
pub struct ConvertError {
    /// What the column's type needs.
    pub expected: &'static str,
}

fn err<T>(expected: &'static str) -> Result<T, ConvertError> {
    Err(ConvertError { expected })
}

fn text(v: &My) -> Option<&str> {
    match v {
        My::Bytes(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// Converts one value of a column. `optional` decides what MySQL's zero dates become (null, or the
/// epoch for NOT NULL columns, as Debezium does).
pub fn convert(
    kind: &Kind,
    v: &My,
    origin: Origin,
    modes: &Modes,
    optional: bool,
    mask: Option<(&Mask, Option<i32>)>,
) -> Result<Value, ConvertError> {
    if matches!(v, My::NULL) {
        return Ok(Value::Null);
    }
    let out = match kind {
        Kind::Bool => match v {
            My::Int(i) => Value::Boolean(*i != 0),
            My::UInt(i) => Value::Boolean(*i != 0),
            My::Bytes(b) => match text(v) {
                Some("0") => Value::Boolean(false),
                Some("1") => Value::Boolean(true),
                _ => Value::Boolean(b.iter().any(|x| *x != 0)),
            },
            _ => return err("a boolean or bit"),
        },
        Kind::Int { bytes, unsigned } => {
            let n: i128 = match v {
                My::Int(i) => *i as i128,
                My::UInt(u) => *u as i128,
                My::Bytes(_) => match text(v).and_then(|t| t.trim().parse::<i128>().ok()) {
                    Some(n) => n,
                    None => return err("an integer"),
                },
                _ => return err("an integer"),
            };
            // Without row metadata the binlog carries unsigned values with the sign bit set as
            // negative numbers: reinterpret them in the column's width.
            let n = if *unsigned && n < 0 {
                let bits = u32::from(*bytes) * 8;
                n + (1i128 << bits)
            } else {
                n
            };
            match (bytes, unsigned) {
                (1, _) | (2, false) => Value::Int16(n as i16),
                (2, true) | (3, _) | (4, false) => Value::Int32(n as i32),
                (8, true) if modes.bigint_unsigned == BigintUnsignedHandling::Precise => {
                    Value::Decimal(Decimal::new(n, 0))
                }
                _ => Value::Int64(n as i64),
            }
        }
        Kind::Float => match v {
            My::Float(f) => Value::Float32(*f),
            My::Double(d) => Value::Float32(*d as f32),
            _ => match text(v).and_then(|t| t.trim().parse::<f32>().ok()) {
                Some(f) => Value::Float32(f),
                None => return err("a FLOAT"),
            },
        },
        Kind::Double => match v {
            My::Double(d) => Value::Float64(*d),
            My::Float(f) => Value::Float64(*f as f64),
            _ => match text(v).and_then(|t| t.trim().parse::<f64>().ok()) {
                Some(f) => Value::Float64(f),
                None => return err("a DOUBLE"),
            },
        },
        Kind::Decimal { scale, .. } => {
            let Some(t) = text(v) else {
                return err("a DECIMAL as text");
            };
            match modes.decimal {
                DecimalHandling::String => Value::String(t.to_owned()),
                DecimalHandling::Double => match t.parse::<f64>() {
                    Ok(f) => Value::Float64(f),
                    Err(_) => return err("a DECIMAL"),
                },
                DecimalHandling::Precise => {
                    match Decimal::parse(t).and_then(|d| d.rescale(*scale as i32)) {
                        Ok(d) => Value::Decimal(d),
                        Err(_) => return err("a DECIMAL within the column's scale"),
                    }
                }
            }
        }
        Kind::Text { charset } => {
            let My::Bytes(b) = v else {
                return err("character data");
            };
            let s = decode_text(
                b,
                if origin == Origin::Binlog {
                    charset.as_deref()
                } else {
                    None
                },
            )?;
            match mask {
                Some((m, len)) => Value::String(m.apply(&s, len)),
                None => Value::String(s),
            }
        }
        Kind::Json => match v {
            My::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => Value::String(s.to_owned()),
                Err(_) => return err("JSON text in UTF-8"),
            },
            _ => return err("JSON text"),
        },
        Kind::Binary => {
            let My::Bytes(b) = v else {
                return err("binary data");
            };
            binary(b, modes.binary)
        }
        Kind::Date => {
            let (y, m, d) = match v {
                My::Date(y, m, d, ..) => (*y as i64, *m as u32, *d as u32),
                _ => match text(v).and_then(parse_date) {
                    Some(x) => x,
                    None => return err("a DATE (YYYY-MM-DD)"),
                },
            };
            if m == 0 || d == 0 {
                return Ok(zero(optional, kind, modes));
            }
            let days = types::days_from_civil(y, m, d) as i32;
            match modes.time {
                TimePrecision::Connect => Value::Date(days),
                _ => Value::Int32(days),
            }
        }
        Kind::Time(fsp) => {
            let micros: i64 = match v {
                My::Time(neg, days, h, m, s, us) => {
                    let t = ((*days as i64 * 24 + *h as i64) * 3600 + *m as i64 * 60 + *s as i64)
                        * 1_000_000
                        + *us as i64;
                    if *neg {
                        -t
                    } else {
                        t
                    }
                }
                _ => match text(v).and_then(parse_time) {
                    Some(t) => t,
                    None => return err("a TIME ([-]HHH:MM:SS[.ffffff])"),
                },
            };
            match modes.time {
                TimePrecision::Connect => Value::Time((micros / 1000) as i32),
                TimePrecision::Adaptive if *fsp <= 3 => Value::Int32((micros / 1000) as i32),
                _ => Value::Int64(micros),
            }
        }
        Kind::DateTime(fsp) => {
            let (y, mo, d, h, mi, s, us) = match v {
                My::Date(y, mo, d, h, mi, s, us) => (
                    *y as i64, *mo as u32, *d as u32, *h as i64, *mi as i64, *s as i64, *us as i64,
                ),
                _ => match text(v).and_then(parse_datetime) {
                    Some(x) => x,
                    None => return err("a DATETIME (YYYY-MM-DD HH:MM:SS[.ffffff])"),
                },
            };
            if mo == 0 || d == 0 {
                return Ok(zero(optional, kind, modes));
            }
            let micros = (types::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
                * 1_000_000
                + us;
            match modes.time {
                TimePrecision::Connect => Value::Timestamp(micros.div_euclid(1000)),
                _ if *fsp <= 3 => Value::Int64(micros.div_euclid(1000)),
                _ => Value::Int64(micros),
            }
        }
        Kind::Timestamp(fsp) => {
            let (secs, us) = match origin {
                Origin::Binlog => match text(v).and_then(parse_epoch) {
                    Some(x) => x,
                    None => return err("a TIMESTAMP as epoch seconds"),
                },
                Origin::Text => match text(v).and_then(parse_datetime) {
                    Some((y, mo, d, h, mi, s, us)) => {
                        if mo == 0 || d == 0 {
                            return Ok(zero(optional, kind, modes));
                        }
                        (
                            types::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s,
                            us as u32,
                        )
                    }
                    None => return err("a TIMESTAMP (YYYY-MM-DD HH:MM:SS[.ffffff])"),
                },
            };
            if secs == 0 && us == 0 && origin == Origin::Binlog {
                // MySQL stores the zero TIMESTAMP as 0.
                return Ok(zero(optional, kind, modes));
            }
            Value::String(types::zoned_utc(secs, us, *fsp))
        }
        Kind::Year => match v {
            My::Int(i) => Value::Int32(*i as i32),
            My::UInt(i) => Value::Int32(*i as i32),
            _ => match text(v).and_then(|t| t.trim().parse::<i32>().ok()) {
                Some(y) => Value::Int32(if y == 1900 && origin == Origin::Binlog {
                    0
                } else {
                    y
                }),
                None => return err("a YEAR"),
            },
        },
        Kind::Enum(members) => match v {
            My::Int(i) | My::Int(i) if *i >= 0 => {
                let i = *i as usize;
                Value::String(if i == 0 {
                    String::new()
                } else {
                    members.get(i - 1).cloned().unwrap_or_default()
                })
            }
            My::UInt(i) => Value::String(
                (*i as usize)
                    .checked_sub(1)
                    .and_then(|i| members.get(i).cloned())
                    .unwrap_or_default(),
            ),
            My::Bytes(b) if origin == Origin::Text => Value::String(decode_text(b, None)?),
            _ => return err("an ENUM member"),
        },
        Kind::Set(members) => match (v, origin) {
            (My::Bytes(b), Origin::Binlog) => {
                let mut bits: u64 = 0;
                for (i, byte) in b.iter().take(8).enumerate() {
                    bits |= u64::from(*byte) << (8 * i);
                }
                set_members(members, bits)
            }
            (My::Bytes(b), Origin::Text) => Value::String(decode_text(b, None)?),
            (My::Int(i), _) => set_members(members, *i as u64),
            _ => return err("a SET value"),
        },
        Kind::Bits(_) => {
            let My::Bytes(b) = v else {
                return err("BIT data");
            };
            // MySQL stores BIT big-endian; Debezium emits little-endian bytes.
            let mut le = b.clone();
            le.reverse();
            Value::Bytes(le.into())
        }
        Kind::Geometry => {
            let My::Bytes(b) = v else {
                return err("spatial data (SRID and WKB)");
            };
            if b.len() < 5 {
                return err("spatial data (SRID and WKB)");
            }
            let srid = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let schema = kind.schema(modes, true);
            let mut s = Struct::new(schema);
            s.put_index_unchecked(0, Value::Bytes(bytes::Bytes::copy_from_slice(&b[4..])));
            s.put_index_unchecked(1, Value::Int32(srid));
            Value::Struct(s)
        }
    };
    Ok(out)
}

/// The members of a SET whose bits are on, comma-separated in declaration order.
fn set_members(members: &[String], bits: u64) -> Value {
    let chosen: Vec<&str> = members
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && bits & (1 << i) != 0)
        .map(|(_, m)| m.as_str())
        .collect();
    Value::String(chosen.join(","))
}

fn zero(optional: bool, kind: &Kind, modes: &Modes) -> Value {
    if optional {
        return Value::Null;
    }
    match (kind, modes.time) {
        (Kind::Date, TimePrecision::Connect) => Value::Date(0),
        (Kind::Date, _) => Value::Int32(0),
        (Kind::DateTime(_), TimePrecision::Connect) => Value::Timestamp(0),
        (Kind::DateTime(_), _) => Value::Int64(0),
        (Kind::Timestamp(fsp), _) => Value::String(types::zoned_utc(0, 0, *fsp)),
        _ => Value::Null,
    }
}

fn decode_text(b: &[u8], charset: Option<&str>) -> Result<String, ConvertError> {
    let cs = charset.unwrap_or("utf8mb4").to_ascii_lowercase();
    if cs.starts_with("latin1") || cs == "cp1252" {
        return Ok(b.iter().map(|&c| c as char).collect());
    }
    if cs.starts_with("binary") {
        return Ok(String::from_utf8_lossy(b).into_owned());
    }
    match std::str::from_utf8(b) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => err("character data in the column's character set"),
    }
}

fn parse_time(t: &str) -> Option<i64> {
    let t = t.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (h, m, s, us) = parse_hms(t)?;
    if h > 838 {
        return None;
    }
    let v = (h * 3600 + m * 60 + s) * 1_000_000 + us;
    Some(if neg { -v } else { v })
}

fn parse_datetime(t: &str) -> Option<(i64, u32, u32, i64, i64, i64, i64)> {
    let t = t.trim();
    let (d, time) = t.split_once([' ', 'T']).unwrap_or((t, "00:00:00"));
    let (y, mo, dd) = parse_date(d)?;
    let (h, mi, s, us) = parse_hms(time)?;
    (h < 24).then_some((y, mo, dd, h, mi, s, us))
}

fn parse_epoch(t: &str) -> Option<(i64, u32)> {
    let (s, f) = t.trim().split_once('.').unwrap_or((t.trim(), ""));
    let secs: i64 = s.parse().ok()?;
    let us: u32 = if f.is_empty() {
        0
    } else if f.len() <= 6 && f.bytes().all(|b| b.is_ascii_digit()) {
        // `f` right-padded with zeros to six digits.
        f.parse::<u32>().ok()? * 10u32.pow(6 - f.len() as u32)
    } else {
        return None;
    };
    Some((secs, us))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes() -> Modes {
        Modes {
            decimal: DecimalHandling::Precise,
            time: TimePrecision::AdaptiveTimeMicroseconds,
            binary: BinaryHandling::Bytes,
            bigint_unsigned: BigintUnsignedHandling::Long,
        }
    }

    fn col(ty: &str, len: Option<i32>, scale: Option<i32>) -> ColumnDef {
        ColumnDef {
            name: "c".into(),
            type_name: ty.into(),
            length: len,
            scale,
            optional: true,
            ..Default::default()
        }
    }

    fn conv(c: &ColumnDef, v: My, o: Origin) -> Value {
        convert(&Kind::of(c), &v, o, &modes(), c.optional, None).unwrap()
    }

    #[test]
    fn binlog_and_snapshot_agree() {
        let ts = col("TIMESTAMP", Some(3), None);
        assert_eq!(
            conv(&ts, My::Bytes(b"1577872800.123".to_vec()), Origin::Binlog),
            conv(
                &ts,
                My::Bytes(b"2020-01-01 10:00:00.123".to_vec()),
                Origin::Text
            )
        );
        let dt = col("DATETIME", Some(6), None);
        assert_eq!(
            conv(&dt, My::Date(2020, 1, 1, 0, 0, 1, 5), Origin::Binlog),
            Value::Int64(1_577_836_801_000_005)
        );
        assert_eq!(
            conv(
                &dt,
                My::Bytes(b"2020-01-01 00:00:01.000005".to_vec()),
                Origin::Text
            ),
            Value::Int64(1_577_836_801_000_005)
        );
        let d = col("DATE", None, None);
        assert_eq!(
            conv(&d, My::Bytes(b"0000-00-00".to_vec()), Origin::Text),
            Value::Null
        );
        let t = col("TIME", None, None);
        assert_eq!(
            conv(&t, My::Bytes(b"-01:00:00".to_vec()), Origin::Text),
            Value::Int64(-3_600_000_000)
        );
    }

    #[test]
    fn unsigned_integers_from_the_binlog_are_reinterpreted() {
        let c = col("INT UNSIGNED", None, None);
        assert_eq!(
            conv(&c, My::Int(-1), Origin::Binlog),
            Value::Int64(4_294_967_295)
        );
        let t = col("TINYINT UNSIGNED", None, None);
        assert_eq!(conv(&t, My::Int(-1), Origin::Binlog), Value::Int16(255));
        assert_eq!(
            Kind::of(&t).schema(&modes(), true).schema_type(),
            SchemaType::Int16
        );
    }

    #[test]
    fn enum_set_bits_decimal() {
        let mut e = col("ENUM", None, None);
        e.enum_values = vec!["a".into(), "b".into()];
        assert_eq!(
            conv(&e, My::Int(2), Origin::Binlog),
            Value::String("b".into())
        );
        let mut s = col("SET", None, None);
        s.enum_values = vec!["x".into(), "y".into(), "z".into()];
        assert_eq!(
            conv(&s, My::Bytes(vec![5]), Origin::Binlog),
            Value::String("x,z".into())
        );
        let b = col("BIT", Some(12), None);
        assert_eq!(
            conv(&b, My::Bytes(vec![0x01, 0x02]), Origin::Binlog),
            Value::Bytes(vec![0x02, 0x01].into())
        );
        let dec = col("DECIMAL", Some(10), Some(2));
        assert_eq!(
            conv(&dec, My::Bytes(b"1.5".to_vec()), Origin::Text),
            Value::Decimal(Decimal::new(150, 2))
        );
    }

    #[test]
    fn errors_never_carry_the_value() {
        let c = col("INT", None, None);
        let e = convert(
            &Kind::of(&c),
            &My::Bytes(b"SSN-123".to_vec()),
            Origin::Text,
            &modes(),
            true,
            None,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("SSN"));
    }
}
