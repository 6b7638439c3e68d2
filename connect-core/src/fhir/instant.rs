//! FHIR `instant` (`YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)`) as microseconds since the Unix
//! epoch, so watermarks from servers that write different offsets or precisions compare as numbers.

use crate::data::{civil_from_days, days_from_civil};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Parses an instant; `None` for anything that is not one (out-of-range fields included). Digits of
/// the fraction beyond microseconds are dropped.
pub fn parse(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 64 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > days_in_month || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros: i64 = 0;
    if sep(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b':') => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 14 || om > 59 {
                return None;
            }
            let o = i64::from(oh * 3600 + om * 60);
            if c == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset_secs;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// Prints an instant in UTC with `Z`: milliseconds when the microseconds are whole milliseconds,
/// else microseconds.
pub fn format(t: Micros) -> String {
    let secs = t.div_euclid(1_000_000);
    let micros = t.rem_euclid(1_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
    if micros % 1000 == 0 {
        format!(
            "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
            micros / 1000
        )
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z")
    }
}

/// The current time.
pub fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_precisions_compare_as_instants() {
        let z = parse("2026-12-01T09:00:00.250Z").unwrap();
        assert_eq!(parse("2026-12-01T10:00:00.25+01:00"), Some(z));
        assert_eq!(parse("2026-12-01T04:00:00.250000-05:00"), Some(z));
        assert_eq!(parse("2026-12-01T09:00:00.250000999Z"), Some(z));
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format(z), "2026-12-01T09:00:00.250Z");
        assert_eq!(format(z + 7), "2026-12-01T09:00:00.250007Z");
        assert_eq!(format(-1), "1969-12-31T23:59:59.999999Z");
        for t in [0, z, z + 7, -86_400_000_000 * 365] {
            assert_eq!(parse(&format(t)), Some(t));
        }
    }

    #[test]
    fn malformed_instants_are_refused() {
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01T09:00:00",
            "2026-13-01T09:00:00Z",
            "2026-02-29T09:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T09:00:00.Z",
            "2026-12-01T09:00:00+1:00",
            "2026-12-01T09:00:00+15:00",
            "2026-12-01T09:00:00Zjunk",
            "２026-12-01T09:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(parse("2024-02-29T09:00:00Z").is_some());
    }
}
