//! Java `SimpleDateFormat` patterns, as users paste them into SMT configs (`yyyyMMdd`,
//! `yyyy-MM-dd'T'HH:mm:ss.SSS`), formatting UTC epoch milliseconds.

use connect_core::data::civil_from_days;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Field(char, usize),
}

/// A compiled pattern. Supported letters: `y M d H m s S` (and `'...'` literals, `''` for a quote).
#[derive(Debug, Clone, PartialEq)]
pub struct JavaDateFormat(Vec<Part>);

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
        Ok(JavaDateFormat(parts))
    }

    /// Formats epoch milliseconds in UTC.
    pub fn format(&self, epoch_ms: i64) -> String {
        let days = epoch_ms.div_euclid(86_400_000);
        let ms_of_day = epoch_ms.rem_euclid(86_400_000);
        let (y, mo, d) = civil_from_days(days);
        let (h, mi, s, ms) = (
            ms_of_day / 3_600_000,
            (ms_of_day / 60_000) % 60,
            (ms_of_day / 1000) % 60,
            ms_of_day % 1000,
        );
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::Field('y', 2) => out.push_str(&format!("{:02}", y.rem_euclid(100))),
                Part::Field('y', n) => out.push_str(&format!("{y:0n$}")),
                Part::Field('M', n) => out.push_str(&format!("{mo:0n$}")),
                Part::Field('d', n) => out.push_str(&format!("{d:0n$}")),
                Part::Field('H', n) => out.push_str(&format!("{h:0n$}")),
                Part::Field('m', n) => out.push_str(&format!("{mi:0n$}")),
                Part::Field('s', n) => out.push_str(&format!("{s:0n$}")),
                Part::Field('S', n) => out.push_str(&format!("{ms:0n$}")),
                Part::Field(_, _) => {}
            }
        }
        out
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
}
