//! Debezium's semantic types: the schema names and parameters downstream tools key on, and the
//! handling modes that choose between them (`decimal.handling.mode`, `time.precision.mode`,
//! `binary.handling.mode`, `bigint.unsigned.handling.mode`).

use base64::Engine;
use connect_core::data::{Schema, SchemaBuilder, SchemaType, Value};

/// `io.debezium.time.Date`: int32, days since the epoch.
pub const DATE: &str = "io.debezium.time.Date";
/// `io.debezium.time.Time`: int32, milliseconds past midnight.
pub const TIME: &str = "io.debezium.time.Time";
/// `io.debezium.time.MicroTime`: int64, microseconds past midnight.
pub const MICRO_TIME: &str = "io.debezium.time.MicroTime";
/// `io.debezium.time.Timestamp`: int64, milliseconds since the epoch, no time zone.
pub const TIMESTAMP: &str = "io.debezium.time.Timestamp";
/// `io.debezium.time.MicroTimestamp`: int64, microseconds since the epoch, no time zone.
pub const MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
/// `io.debezium.time.ZonedTimestamp`: an ISO-8601 string with its offset (UTC for MySQL's TIMESTAMP).
pub const ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
/// `io.debezium.time.Year`: int32.
pub const YEAR: &str = "io.debezium.time.Year";
/// `io.debezium.data.Enum`: a string, with the allowed values in the `allowed` parameter.
pub const ENUM: &str = "io.debezium.data.Enum";
/// `io.debezium.data.EnumSet`: a comma-separated string of members.
pub const ENUM_SET: &str = "io.debezium.data.EnumSet";
/// `io.debezium.data.Json`: JSON text.
pub const JSON: &str = "io.debezium.data.Json";
/// `io.debezium.data.Bits`: bytes, little-endian, `length` parameter in bits.
pub const BITS: &str = "io.debezium.data.Bits";
/// `io.debezium.data.geometry.Geometry`: struct of `wkb` and `srid`.
pub const GEOMETRY: &str = "io.debezium.data.geometry.Geometry";
/// Kafka Connect's decimal.
pub const CONNECT_DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalHandling {
    /// `precise` (default): Kafka Connect's Decimal (bytes, `scale` and `connect.decimal.precision`).
    Precise,
    /// `double`: float64, loses precision.
    Double,
    /// `string`: the plain decimal text.
    String,
}

impl DecimalHandling {
    /// Parses the config value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "precise" => Some(Self::Precise),
            "double" => Some(Self::Double),
            "string" => Some(Self::String),
            _ => None,
        }
    }
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePrecision {
    /// `adaptive_time_microseconds` (MySQL default): TIME as MicroTime, DATETIME by its precision.
    AdaptiveTimeMicroseconds,
    /// `adaptive`: TIME and DATETIME by their precision (Time / MicroTime, Timestamp / MicroTimestamp).
    Adaptive,
    /// `connect`: Kafka Connect's Date, Time and Timestamp (millisecond precision).
    Connect,
}

impl TimePrecision {
    /// Parses the config value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "adaptive_time_microseconds" => Some(Self::AdaptiveTimeMicroseconds),
            "adaptive" => Some(Self::Adaptive),
            "connect" => Some(Self::Connect),
            _ => None,
        }
    }
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryHandling {
    /// `bytes` (default).
    Bytes,
    /// `base64`: standard base64 text.
    Base64,
    /// `base64-url-safe`.
    Base64UrlSafe,
    /// `hex`: lowercase hex text.
    Hex,
}

impl BinaryHandling {
    /// Parses the config value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bytes" => Some(Self::Bytes),
            "base64" => Some(Self::Base64),
            "base64-url-safe" => Some(Self::Base64UrlSafe),
            "hex" => Some(Self::Hex),
            _ => None,
        }
    }
}

/// `bigint.unsigned.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BigintUnsignedHandling {
    /// `long` (default): int64; values above i64::MAX wrap, as in Debezium.
    Long,
    /// `precise`: Decimal with precision 20, scale 0.
    Precise,
}

impl BigintUnsignedHandling {
    /// Parses the config value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "long" => Some(Self::Long),
            "precise" => Some(Self::Precise),
            _ => None,
        }
    }
}

fn named(ty: SchemaType, name: &str) -> SchemaBuilder {
    SchemaBuilder::new(ty).name(name).version(1)
}

/// A semantic type's schema builder (optional or not is the caller's choice).
pub fn date() -> SchemaBuilder {
    named(SchemaType::Int32, DATE)
}
/// `io.debezium.time.Time`.
pub fn time_millis() -> SchemaBuilder {
    named(SchemaType::Int32, TIME)
}
/// `io.debezium.time.MicroTime`.
pub fn micro_time() -> SchemaBuilder {
    named(SchemaType::Int64, MICRO_TIME)
}
/// `io.debezium.time.Timestamp`.
pub fn timestamp_millis() -> SchemaBuilder {
    named(SchemaType::Int64, TIMESTAMP)
}
/// `io.debezium.time.MicroTimestamp`.
pub fn micro_timestamp() -> SchemaBuilder {
    named(SchemaType::Int64, MICRO_TIMESTAMP)
}
/// `io.debezium.time.ZonedTimestamp`.
pub fn zoned_timestamp() -> SchemaBuilder {
    named(SchemaType::String, ZONED_TIMESTAMP)
}
/// `io.debezium.time.Year`.
pub fn year() -> SchemaBuilder {
    named(SchemaType::Int32, YEAR)
}
/// `io.debezium.data.Enum` with its allowed values.
pub fn enumeration(allowed: &[String]) -> SchemaBuilder {
    named(SchemaType::String, ENUM).parameter("allowed", allowed.join(","))
}
/// `io.debezium.data.EnumSet` with its allowed members.
pub fn enum_set(allowed: &[String]) -> SchemaBuilder {
    named(SchemaType::String, ENUM_SET).parameter("allowed", allowed.join(","))
}
/// `io.debezium.data.Json`.
pub fn json() -> SchemaBuilder {
    named(SchemaType::String, JSON)
}
/// `io.debezium.data.Bits` of `length` bits.
pub fn bits(length: u32) -> SchemaBuilder {
    named(SchemaType::Bytes, BITS).parameter("length", length.to_string())
}
/// `io.debezium.data.geometry.Geometry`.
pub fn geometry() -> SchemaBuilder {
    SchemaBuilder::struct_()
        .name(GEOMETRY)
        .version(1)
        .doc("Geometry")
        .field("wkb", Schema::bytes())
        .field("srid", Schema::optional_int32())
}
/// Kafka Connect's Decimal with Debezium's precision parameter.
pub fn decimal(precision: Option<u32>, scale: u32) -> SchemaBuilder {
    let b = Schema::decimal(scale as i32);
    match precision {
        Some(p) => b.parameter("connect.decimal.precision", p.to_string()),
        None => b,
    }
}

pub use connect_core::data::{civil_from_days, days_from_civil};

/// ISO-8601 UTC text of epoch seconds and microseconds, with `fsp` fraction digits (0-6), as
/// Debezium's ZonedTimestamp writes it: `2020-01-01T10:00:00.123Z`.
pub fn zoned_utc(secs: i64, micros: u32, fsp: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Written digit by digit into one buffer: this runs for every TIMESTAMP column of every row.
    let mut out = String::with_capacity(28);
    if (0..=9999).contains(&y) {
        push_digits(&mut out, y as u64, 4);
    } else {
        use std::fmt::Write;
        let _ = write!(out, "{y:04}");
    }
    for (sep, v) in [
        ('-', m as i64),
        ('-', d as i64),
        ('T', h),
        (':', mi),
        (':', s),
    ] {
        out.push(sep);
        push_digits(&mut out, v as u64, 2);
    }
    let fsp = fsp.min(6);
    if fsp > 0 {
        out.push('.');
        // The first `fsp` of the six microsecond digits.
        push_digits(
            &mut out,
            u64::from(micros.min(999_999) / 10u32.pow(6 - fsp)),
            fsp as usize,
        );
    }
    out.push('Z');
    out
}

/// `v` in decimal, zero-padded to `width` digits (`v` has at most `width` digits).
fn push_digits(out: &mut String, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let width = width.min(buf.len());
    let mut v = v;
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend(buf[..width].iter().map(|&b| b as char));
}

/// A binary value in `binary.handling.mode`'s form.
pub fn binary(b: &[u8], mode: BinaryHandling) -> Value {
    match mode {
        BinaryHandling::Bytes => Value::Bytes(bytes::Bytes::copy_from_slice(b)),
        BinaryHandling::Base64 => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        BinaryHandling::Base64UrlSafe => {
            Value::String(base64::engine::general_purpose::URL_SAFE.encode(b))
        }
        BinaryHandling::Hex => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

/// `YYYY-MM-DD` (anything after the day ignored) as (year, month, day).
pub fn parse_date(t: &str) -> Option<(i64, u32, u32)> {
    let mut it = t.trim().splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.get(..2)?.parse().ok()?;
    (m <= 12 && d <= 31).then_some((y, m, d))
}

/// `HH:MM:SS[.ffffff]` as (hours, minutes, seconds, microseconds); hours are not bounded here.
pub fn parse_hms(t: &str) -> Option<(i64, i64, i64, i64)> {
    let (hms, frac) = match t.split_once('.') {
        Some((a, b)) => (a, b),
        None => (t, ""),
    };
    let mut it = hms.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let s: i64 = it.next()?.parse().ok()?;
    if frac.len() > 6 || !frac.bytes().all(|c| c.is_ascii_digit()) || m > 59 || s > 59 {
        return None;
    }
    let us = if frac.is_empty() {
        0
    } else {
        // `frac` right-padded with zeros to six digits.
        frac.parse::<i64>().ok()? * 10i64.pow(6 - frac.len() as u32)
    };
    Some((h, m, s, us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_468i64, -1, 0, 1, 18_262, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2020, 1, 1), 18_262);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn zoned_text() {
        assert_eq!(
            zoned_utc(1_577_872_800, 123_000, 3),
            "2020-01-01T10:00:00.123Z"
        );
        assert_eq!(zoned_utc(0, 0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(zoned_utc(59, 999_999, 6), "1970-01-01T00:00:59.999999Z");
        assert_eq!(zoned_utc(1, 5, 5), "1970-01-01T00:00:01.00000Z");
        assert_eq!(
            zoned_utc(2_147_483_647, 40_000, 2),
            "2038-01-19T03:14:07.04Z"
        );
        // Outside 0000-9999 the year keeps its sign and width, as before.
        assert_eq!(zoned_utc(-62_198_755_200, 0, 0), "-001-01-01T00:00:00Z");
    }
}
