//! A configured time zone: UTC, a fixed offset, or a named IANA zone (`America/New_York`) whose
//! offset follows daylight saving. The archive sink's time-based partitioner (`timezone`, as Joda's
//! `DateTimeZone.forID` accepts it in Confluent's partitioner) and the database sink's `db.timezone`
//! (Java's `TimeZone` IDs in Confluent's JDBC sink) read it.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// A time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC, in seconds (UTC itself is 0).
    Fixed(i32),
    /// A zone of the IANA database, its offset taken at each instant.
    Named(Tz),
}

/// The largest fixed offset accepted, as Java's (`ZoneOffset`: ±18:00).
const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

impl Zone {
    /// UTC.
    pub const UTC: Zone = Zone::Fixed(0);

    /// Parses `UTC` (also `GMT`, `Z`, `UT`, in any case), a fixed offset (`+01:00`, `-0530`, `+5`,
    /// optionally after `UTC`/`GMT`), or an IANA name such as `Europe/Paris` (spelt as the
    /// database spells it). The error says what is accepted and quotes the configured text, which
    /// is a setting, not record data.
    pub fn parse(text: &str) -> Result<Zone, String> {
        let t = text.trim();
        if ["UTC", "GMT", "Z", "UT"]
            .iter()
            .any(|z| t.eq_ignore_ascii_case(z))
        {
            return Ok(Zone::UTC);
        }
        let offset = ["UTC", "GMT", "UT"]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .unwrap_or(t);
        if offset.starts_with(['+', '-']) {
            return parse_offset(offset).map(Zone::Fixed).ok_or_else(|| {
                format!("timezone '{t}': a fixed offset is written +hh:mm or -hh:mm, at most 18:00")
            });
        }
        t.parse::<Tz>().map(Zone::Named).map_err(|_| {
            format!(
                "timezone '{t}': expected UTC, a fixed offset such as +01:00, or an IANA zone name such as America/New_York"
            )
        })
    }

    /// The zone's offset from UTC at the instant `utc_ms` (epoch milliseconds), in milliseconds;
    /// `None` for an instant outside the calendar's range.
    pub fn offset_ms_at(&self, utc_ms: i64) -> Option<i64> {
        let offset = self.offset_seconds_at(utc_ms.div_euclid(1000))?;
        Some(i64::from(offset) * 1000)
    }

    /// The zone's offset from UTC at the instant `utc_seconds` (epoch seconds), in seconds; `None`
    /// for an instant outside the calendar's range.
    pub fn offset_seconds_at(&self, utc_seconds: i64) -> Option<i32> {
        match self {
            Zone::Fixed(seconds) => Some(*seconds),
            Zone::Named(tz) => {
                let at = DateTime::from_timestamp(utc_seconds, 0)?.naive_utc();
                Some(tz.offset_from_utc_datetime(&at).fix().local_minus_utc())
            }
        }
    }

    /// The local wall-clock time of the instant `utc_ms`, as milliseconds on a calendar without
    /// zones (what a formatter prints); `None` when out of range.
    pub fn local_ms(&self, utc_ms: i64) -> Option<i64> {
        utc_ms.checked_add(self.offset_ms_at(utc_ms)?)
    }
}

/// An offset in seconds as `+hh:mm`, or `+hh:mm:ss` when it has seconds (the local mean times of
/// the IANA database before standard time), as PostgreSQL and MariaDB read it.
pub fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let a = seconds.unsigned_abs();
    let (h, m, s) = (a / 3600, a % 3600 / 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// `+hh:mm`, `-hh:mm`, `+hhmm`, `+hh`, `+h` into seconds.
fn parse_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) if digits(h) && m.len() == 2 && digits(m) => (h, m),
        None if digits(rest) => (rest, "0"),
        None if rest.len() == 4 && rest.bytes().all(|b| b.is_ascii_digit()) => {
            (&rest[..2], &rest[2..])
        }
        _ => return None,
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    let seconds = h * 3600 + m * 60;
    (m < 60 && seconds <= MAX_OFFSET_SECONDS).then_some(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_offsets_and_refusals() {
        assert_eq!(Zone::parse("UTC"), Ok(Zone::UTC));
        assert_eq!(Zone::parse("Z"), Ok(Zone::UTC));
        assert_eq!(Zone::parse(" utc "), Ok(Zone::UTC));
        assert_eq!(Zone::parse("UTC+0100"), Ok(Zone::Fixed(3600)));
        assert_eq!(Zone::parse("-05:30"), Ok(Zone::Fixed(-19_800)));
        assert_eq!(Zone::parse("+0100"), Ok(Zone::Fixed(3600)));
        assert_eq!(Zone::parse("GMT+2"), Ok(Zone::Fixed(7200)));
        assert_eq!(
            Zone::parse("America/New_York"),
            Ok(Zone::Named(Tz::America__New_York))
        );
        assert_eq!(Zone::parse("Etc/UTC"), Ok(Zone::Named(Tz::Etc__UTC)));
        for bad in [
            "Mars/Olympus",
            "+19:00",
            "+01:60",
            "+1:2",
            "",
            "america/new_york",
        ] {
            let e = Zone::parse(bad).unwrap_err();
            assert!(e.contains("timezone"), "{bad}: {e}");
        }
    }

    #[test]
    fn offsets_print_as_databases_read_them() {
        assert_eq!(format_offset(0), "+00:00");
        assert_eq!(format_offset(-19_800), "-05:30");
        assert_eq!(format_offset(-17_762), "-04:56:02");
        assert_eq!(format_offset(18 * 3600), "+18:00");
    }

    #[test]
    fn a_named_zone_follows_daylight_saving() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 2026-01-15T12:00Z: EST, 2026-07-15T12:00Z: EDT.
        assert_eq!(ny.offset_ms_at(1_768_478_400_000), Some(-5 * 3_600_000));
        assert_eq!(ny.offset_ms_at(1_784_116_800_000), Some(-4 * 3_600_000));
        // The spring change, 2026-03-08T07:00Z: 01:59:59 EST is followed by 03:00:00 EDT.
        let change = 1_772_953_200_000;
        assert_eq!(
            ny.local_ms(change - 1000).map(|l| l.rem_euclid(86_400_000)),
            Some((3600 + 3599) * 1000)
        );
        assert_eq!(
            ny.local_ms(change).map(|l| l.rem_euclid(86_400_000)),
            Some(3 * 3_600_000)
        );
        assert_eq!(Zone::UTC.local_ms(i64::MAX), Some(i64::MAX));
        assert_eq!(ny.offset_seconds_at(change / 1000), Some(-4 * 3600));
        assert_eq!(ny.offset_seconds_at(change / 1000 - 1), Some(-5 * 3600));
        // Before standard time (1883), New York kept its local mean time, -4:56:02.
        assert_eq!(ny.offset_seconds_at(-3_000_000_000), Some(-17_762));
        assert_eq!(ny.offset_seconds_at(i64::MAX), None);
        assert_eq!(ny.local_ms(i64::MAX), None);
    }
}
