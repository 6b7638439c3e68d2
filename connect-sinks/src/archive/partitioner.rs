//! Where in the store a record goes: Confluent's partitioners (`DefaultPartitioner`,
//! `FieldPartitioner`, `TimeBasedPartitioner` and its daily and hourly forms), each giving the
//! encoded partition of a record (`partition=3`, `ward=ICU`, `year=2026/month=12/day=01`).

use connect_core::data::{Value, ValuePath};
use connect_core::error::DataError;
use connect_core::record::SinkRecord;

/// Where a record's time comes from (`timestamp.extractor`).
#[derive(Debug, Clone, PartialEq)]
pub enum TimeSource {
    /// The record's Kafka timestamp (`Record`).
    Record,
    /// A field of the value, epoch milliseconds or a Timestamp (`RecordField`).
    Field(ValuePath),
    /// The time the sink wrote it (`Wallclock`): not repeatable after a crash.
    Wallclock,
}

/// A partitioner.
#[derive(Debug, Clone, PartialEq)]
pub enum Partitioner {
    /// `partition=<kafka partition>`.
    Default,
    /// `<field>=<value>` for each field, joined by `/`.
    Field(Vec<(String, ValuePath)>),
    /// A time bucket formatted by a Joda-style `path.format`.
    Time {
        /// `partition.duration.ms`.
        duration_ms: i64,
        /// The parsed `path.format`.
        format: Vec<Token>,
        /// The zone's fixed offset from UTC, in minutes.
        offset_minutes: i32,
        /// Where the time comes from.
        source: TimeSource,
    },
}

/// A piece of a `path.format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// Quoted or plain literal text.
    Literal(String),
    /// `YYYY`/`yyyy`.
    Year,
    /// `MM`.
    Month,
    /// `dd`.
    Day,
    /// `HH`.
    Hour,
    /// `mm`.
    Minute,
    /// `ss`.
    Second,
}

/// Parses a Joda pattern such as `'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH`.
pub fn parse_path_format(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    let mut lit = String::new();
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            let end = text[i + 1..]
                .find('\'')
                .ok_or_else(|| format!("unclosed quote in path.format '{text}'"))?;
            lit.push_str(&text[i + 1..i + 1 + end]);
            i += end + 2;
            continue;
        }
        let run = b[i..].iter().take_while(|x| **x == c).count();
        let tok = match (c, run) {
            (b'Y' | b'y', 4) => Some(Token::Year),
            (b'M', 2) => Some(Token::Month),
            (b'd', 2) => Some(Token::Day),
            (b'H', 2) => Some(Token::Hour),
            (b'm', 2) => Some(Token::Minute),
            (b's', 2) => Some(Token::Second),
            (c, _) if c.is_ascii_alphabetic() => {
                return Err(format!(
                    "path.format '{text}': '{}' is not supported (YYYY, MM, dd, HH, mm, ss and quoted text)",
                    &text[i..i + run]
                ))
            }
            _ => None,
        };
        match tok {
            Some(t) => {
                if !lit.is_empty() {
                    out.push(Token::Literal(std::mem::take(&mut lit)));
                }
                out.push(t);
            }
            None => lit.push_str(&text[i..i + run]),
        }
        i += run;
    }
    if !lit.is_empty() {
        out.push(Token::Literal(lit));
    }
    Ok(out)
}

/// Parses `UTC`, `GMT`, `Z` or a fixed offset `+hh:mm` / `-hh:mm` into minutes.
pub fn parse_timezone(text: &str) -> Result<i32, String> {
    let t = text.trim();
    if matches!(t, "UTC" | "GMT" | "Z" | "Etc/UTC") {
        return Ok(0);
    }
    let bad = || {
        format!(
            "timezone '{t}': use UTC or a fixed offset such as +01:00 (named zones with daylight saving are not supported)"
        )
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Boolean(b) => Some(b.to_string()),
        other => other.as_i64().map(|n| n.to_string()),
    }
}

impl Partitioner {
    /// The encoded partition of a record.
    pub fn encode(&self, rec: &SinkRecord, now_ms: i64) -> Result<String, DataError> {
        match self {
            Partitioner::Default => Ok(format!("partition={}", rec.original.partition)),
            Partitioner::Field(fields) => {
                let mut parts = Vec::with_capacity(fields.len());
                for (name, path) in fields {
                    let v = path.get(&rec.record.value).and_then(text_of).ok_or_else(|| {
                        DataError::new(format!(
                            "record {}: field '{name}' (partition.field.name) is missing or not a string, number or boolean",
                            rec.original
                        ))
                    })?;
                    if v.contains('/') || v == ".." || v.is_empty() {
                        return Err(DataError::new(format!(
                            "record {}: field '{name}' (partition.field.name) cannot name a directory",
                            rec.original
                        )));
                    }
                    parts.push(format!("{name}={v}"));
                }
                Ok(parts.join("/"))
            }
            Partitioner::Time {
                duration_ms,
                format,
                offset_minutes,
                source,
            } => {
                let ts = self.time(source, rec, now_ms)?;
                let bucket = ts
                    .div_euclid(*duration_ms)
                    .checked_mul(*duration_ms)
                    .ok_or_else(|| DataError::new("record time out of range"))?;
                let local = bucket
                    .checked_add(i64::from(*offset_minutes) * 60_000)
                    .ok_or_else(|| DataError::new("record time out of range"))?;
                Ok(format_time(format, local))
            }
        }
    }

    fn time(&self, source: &TimeSource, rec: &SinkRecord, now_ms: i64) -> Result<i64, DataError> {
        match source {
            TimeSource::Wallclock => Ok(now_ms),
            TimeSource::Record => rec.record.timestamp.ok_or_else(|| {
                DataError::new(format!(
                    "record {} has no timestamp (timestamp.extractor=Record)",
                    rec.original
                ))
            }),
            TimeSource::Field(p) => match p.get(&rec.record.value) {
                Some(Value::Timestamp(t)) => Ok(*t),
                Some(v) if v.as_i64().is_some() => Ok(v.as_i64().unwrap_or_default()),
                _ => Err(DataError::new(format!(
                    "record {}: timestamp.field is missing or not epoch milliseconds",
                    rec.original
                ))),
            },
        }
    }

    /// The record's time used for `rotate.interval.ms` (None without a time-based partitioner).
    pub fn record_time(&self, rec: &SinkRecord, now_ms: i64) -> Option<i64> {
        match self {
            Partitioner::Time { source, .. } => self.time(source, rec, now_ms).ok(),
            _ => rec.record.timestamp,
        }
    }
}

fn format_time(format: &[Token], ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = connect_core::data::civil_from_days(days);
    let mut out = String::new();
    for t in format {
        match t {
            Token::Literal(s) => out.push_str(s),
            Token::Year => out.push_str(&format!("{y:04}")),
            Token::Month => out.push_str(&format!("{m:02}")),
            Token::Day => out.push_str(&format!("{d:02}")),
            Token::Hour => out.push_str(&format!("{:02}", sod / 3600)),
            Token::Minute => out.push_str(&format!("{:02}", sod % 3600 / 60)),
            Token::Second => out.push_str(&format!("{:02}", sod % 60)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joda_formats_and_zones() {
        let f = parse_path_format("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH").unwrap();
        // 2026-12-01T05:30:00Z
        let t = 1796103000000;
        assert_eq!(format_time(&f, t), "year=2026/month=12/day=01/hour=05");
        assert_eq!(
            format_time(&f, t + 60 * 60_000 * -6),
            "year=2026/month=11/day=30/hour=23"
        );
        assert!(parse_path_format("'x'=QQ").is_err());
        assert!(parse_path_format("'x").is_err());
        assert_eq!(parse_timezone("UTC"), Ok(0));
        assert_eq!(parse_timezone("-05:30"), Ok(-330));
        assert!(parse_timezone("America/New_York").is_err());
    }
}
