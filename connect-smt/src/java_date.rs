//! Java `SimpleDateFormat` patterns, as users paste them into SMT configs (`yyyyMMdd`,
//! `yyyy-MM-dd'T'HH:mm:ss.SSS`), formatting UTC epoch milliseconds.

use connect_core::data::civil_from_days;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Field(char, usize),
}

/// A compiled pattern. Supported letters: `y M d H m s S` (and `'...'` literals, `''` for a quote).
///
/// Parse errors name the pattern and the position, never the text: the text is record data (a birth
/// date, say), and errors reach logs, DLQ headers and task statuses.
#[derive(Debug, Clone, PartialEq)]
pub struct JavaDateFormat(Vec<Part>, String);

impl JavaDateFormat {
    /// Compiles a pattern; an unsupported letter is an error naming it.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    parts.push(Part::Literal("'".into()));
                    i += 2;
                    continue;
                }
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == '\'')
                    .ok_or("unterminated quote")?;
                parts.push(Part::Literal(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            } else if c.is_ascii_alphabetic() {
                if !"yMdHmsS".contains(c) {
                    return Err(format!("pattern letter '{c}' is not supported"));
                }
                let n = chars[i..].iter().take_while(|&&x| x == c).count();
                parts.push(Part::Field(c, n));
                i += n;
            } else {
                parts.push(Part::Literal(c.to_string()));
                i += 1;
            }
        }
        Ok(JavaDateFormat(parts, pattern.to_owned()))
    }

    /// Formats epoch milliseconds in UTC.
    pub fn format(&self, epoch_ms: i64) -> String {
        let mut out = String::with_capacity(24);
        self.format_into(epoch_ms, &mut out);
        out
    }

    /// Formats epoch milliseconds in UTC, appending to `out` (no allocation beyond `out`'s growth).
    pub fn format_into(&self, epoch_ms: i64, out: &mut String) {
        use std::fmt::Write as _;
        let days = epoch_ms.div_euclid(86_400_000);
        let ms_of_day = epoch_ms.rem_euclid(86_400_000);
        let (y, mo, d) = civil_from_days(days);
        let (h, mi, s, ms) = (
            ms_of_day / 3_600_000,
            (ms_of_day / 60_000) % 60,
            (ms_of_day / 1000) % 60,
            ms_of_day % 1000,
        );
        for p in &self.0 {
            // Writing to a String cannot fail.
            let _ = match p {
                Part::Literal(l) => out.write_str(l),
                Part::Field('y', 2) => write!(out, "{:02}", y.rem_euclid(100)),
                Part::Field('y', n) => write!(out, "{y:0n$}"),
                Part::Field('M', n) => write!(out, "{mo:0n$}"),
                Part::Field('d', n) => write!(out, "{d:0n$}"),
                Part::Field('H', n) => write!(out, "{h:0n$}"),
                Part::Field('m', n) => write!(out, "{mi:0n$}"),
                Part::Field('s', n) => write!(out, "{s:0n$}"),
                Part::Field('S', n) => write!(out, "{ms:0n$}"),
                Part::Field(_, _) => Ok(()),
            };
        }
    }
}

impl JavaDateFormat {
    /// Parses text written in this pattern (UTC) to epoch milliseconds. Adjacent numeric fields
    /// (`yyyyMMdd`) take exactly their width; a field followed by a literal takes all its digits.
    pub fn parse_millis(&self, text: &str) -> Result<i64, String> {
        let b = text.as_bytes();
        let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut ms) =
            (1970i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
        let mut pos = 0;
        for (i, p) in self.0.iter().enumerate() {
            match p {
                Part::Literal(l) => {
                    if !text[pos.min(text.len())..].starts_with(l.as_str()) {
                        return Err(format!(
                            "not a valid date for pattern {}: no '{l}' at position {pos}",
                            self.1
                        ));
                    }
                    pos += l.len();
                }
                Part::Field(c, n) => {
                    let adjacent = matches!(self.0.get(i + 1), Some(Part::Field(..)));
                    let avail = b[pos.min(b.len())..]
                        .iter()
                        .take_while(|x| x.is_ascii_digit())
                        .count();
                    let take = if adjacent { (*n).min(avail) } else { avail };
                    if take == 0 {
                        return Err(format!(
                            "not a valid date for pattern {}: no digits for '{c}' at position {pos}",
                            self.1
                        ));
                    }
                    let v: i64 = text[pos..pos + take].parse().map_err(|_| {
                        format!(
                            "not a valid date for pattern {}: number too large at position {pos}",
                            self.1
                        )
                    })?;
                    pos += take;
                    match c {
                        'y' if *n == 2 && take == 2 => y = 2000 + v,
                        'y' => y = v,
                        'M' => mo = v,
                        'd' => d = v,
                        'H' => h = v,
                        'm' => mi = v,
                        's' => s = v,
                        'S' => ms = v,
                        _ => {}
                    }
                }
            }
        }
        if pos != text.len() {
            return Err(format!(
                "not a valid date for pattern {}: unexpected text at position {pos}",
                self.1
            ));
        }
        if !(1..=12).contains(&mo)
            || !(1..=31).contains(&d)
            || h > 23
            || mi > 59
            || s > 60
            || ms > 999
        {
            return Err(format!(
                "not a valid date for pattern {}: a month, day or time out of range",
                self.1
            ));
        }
        // Epoch milliseconds in an i64 reach about 292 million years either way (as Java's Date).
        if y.abs() > 292_000_000 {
            return Err(format!(
                "not a valid date for pattern {}: year out of range",
                self.1
            ));
        }
        let days = connect_core::data::days_from_civil(y, mo as u32, d as u32);
        days.checked_mul(86_400_000)
            .and_then(|t| t.checked_add(h * 3_600_000 + mi * 60_000 + s * 1000 + ms))
            .ok_or_else(|| {
                format!(
                    "not a valid date for pattern {}: out of the range of epoch milliseconds",
                    self.1
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_simple_date_format_in_utc() {
        let ts = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z
        assert_eq!(
            JavaDateFormat::parse("yyyyMMdd").unwrap().format(ts),
            "20231114"
        );
        assert_eq!(
            JavaDateFormat::parse("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
                .unwrap()
                .format(ts),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            JavaDateFormat::parse("yy-M-d H''m").unwrap().format(0),
            "70-1-1 0'0"
        );
        assert!(JavaDateFormat::parse("yyyy-MM-dd EEE").is_err());
        assert!(JavaDateFormat::parse("'open").is_err());
    }

    #[test]
    fn parses_what_it_formats() {
        for pattern in [
            "yyyyMMdd",
            "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
            "yyyyMMddHHmmss",
            "dd/MM/yyyy HH:mm",
        ] {
            let f = JavaDateFormat::parse(pattern).unwrap();
            let ts = 1_700_000_040_000; // 2023-11-14T22:14:00Z, whole minutes
            assert_eq!(
                f.parse_millis(&f.format(ts)).map(|t| f.format(t)),
                Ok(f.format(ts)),
                "{pattern}"
            );
        }
        let f = JavaDateFormat::parse("yyyy-MM-dd").unwrap();
        assert_eq!(f.parse_millis("1970-01-02"), Ok(86_400_000));
        assert!(f.parse_millis("1970-13-02").is_err());
        assert!(f.parse_millis("1970-01-02x").is_err());
        assert!(f.parse_millis("19700102").is_err());
    }
}
