//! Where in the store a record goes: Confluent's partitioners (`DefaultPartitioner`,
//! `FieldPartitioner`, `TimeBasedPartitioner` and its daily and hourly forms), each giving the
//! encoded partition of a record (`partition=3`, `ward=ICU`, `year=2026/month=12/day=01`).

use connect_core::data::{Value, ValuePath};
use connect_core::error::DataError;
use connect_core::record::SinkRecord;

use super::zone::Zone;

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
        /// `timezone`: buckets start at local boundaries (a day is a local day) and are printed
        /// in local time.
        zone: Zone,
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
                zone,
                source,
            } => {
                let ts = self.time(source, rec, now_ms)?;
                // As Confluent's partitioner: the bucket is cut on the local clock, so a daily
                // bucket is a local day (23 or 25 hours long when daylight saving changes).
                let out_of_range = || {
                    DataError::new(format!(
                        "record {}: its time is out of the calendar's range",
                        rec.original
                    ))
                };
                let local = zone.local_ms(ts).ok_or_else(out_of_range)?;
                let bucket = local
                    .div_euclid(*duration_ms)
                    .checked_mul(*duration_ms)
                    .ok_or_else(out_of_range)?;
                Ok(format_time(format, bucket))
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
    }

    fn record_at(ts: i64) -> SinkRecord {
        use connect_core::record::{ConnectRecord, TimestampType, TopicPartitionOffset};
        SinkRecord {
            record: ConnectRecord {
                timestamp: Some(ts),
                ..ConnectRecord::new("t", Value::Null, Value::Null)
            },
            kafka_offset: 0,
            timestamp_type: TimestampType::CreateTime,
            original: TopicPartitionOffset {
                topic: "t".into(),
                partition: 0,
                offset: 0,
            },
        }
    }

    fn daily(zone: &str) -> Partitioner {
        Partitioner::Time {
            duration_ms: 86_400_000,
            format: parse_path_format("'year'=YYYY/'month'=MM/'day'=dd").unwrap(),
            zone: Zone::parse(zone).unwrap(),
            source: TimeSource::Record,
        }
    }

    #[test]
    fn a_daily_bucket_is_a_local_day() {
        // 2026-12-01T20:00Z is 15:00 on Dec 1 in New York (-05:00): Dec 1, not Nov 30.
        let afternoon = 1_796_155_200_000;
        for zone in ["-05:00", "America/New_York"] {
            let p = daily(zone);
            assert_eq!(
                p.encode(&record_at(afternoon), 0).unwrap(),
                "year=2026/month=12/day=01",
                "{zone}"
            );
            // 04:30Z on Dec 1 is still Nov 30 there.
            assert_eq!(
                p.encode(&record_at(afternoon - 15 * 3_600_000 - 1_800_000), 0)
                    .unwrap(),
                "year=2026/month=11/day=30",
                "{zone}"
            );
        }
    }

    #[test]
    fn hourly_buckets_follow_daylight_saving() {
        let p = Partitioner::Time {
            duration_ms: 3_600_000,
            format: parse_path_format("YYYY-MM-dd/HH").unwrap(),
            zone: Zone::parse("America/New_York").unwrap(),
            source: TimeSource::Record,
        };
        let at = |ts| p.encode(&record_at(ts), 0).unwrap();
        // Spring forward at 2026-03-08T07:00Z: local 01:xx EST, then 03:xx EDT (no 02 bucket).
        let spring = 1_772_953_200_000;
        assert_eq!(at(spring - 1), "2026-03-08/01");
        assert_eq!(at(spring), "2026-03-08/03");
        // Fall back at 2026-11-01T06:00Z: 01:30 EDT and 01:30 EST share the local 01 bucket.
        let fall = 1_793_512_800_000;
        assert_eq!(at(fall - 1_800_000), "2026-11-01/01");
        assert_eq!(at(fall + 1_800_000), "2026-11-01/01");
        assert_eq!(at(fall + 3_600_000), "2026-11-01/02");
        // Winter and summer: the same UTC hour is a different local hour.
        assert_eq!(at(1_768_478_400_000), "2026-01-15/07");
        assert_eq!(at(1_784_116_800_000), "2026-07-15/08");
    }

    #[test]
    fn a_time_out_of_range_is_an_error_naming_the_record() {
        let e = daily("America/New_York")
            .encode(&record_at(i64::MAX), 0)
            .unwrap_err();
        assert!(e.to_string().contains("t-0@0"), "{e}");
    }
}
