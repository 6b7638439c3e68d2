//! Low-level JSON output that matches what Jackson (and so Kafka Connect's JsonConverter) writes:
//! compact, non-ASCII as UTF-8, control characters as `\uXXXX` with upper-case hex, and numbers in
//! Java's `Float.toString` / `Double.toString` notation.

use std::io::Write;

/// Appends a JSON string literal with Jackson's escaping.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most strings need no escape: one branch-free pass (which the compiler vectorizes) tells, and
    // the string is copied whole.
    let needs_escape = bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a double as Java's `Double.toString` writes it (`1.0`, `0.001`, `1.0E7`, `1.0E-4`).
pub fn write_java_f64(out: &mut Vec<u8>, v: f64) {
    if !write_non_finite(out, v.is_nan(), v.is_infinite(), v < 0.0) {
        let mut buf = [0u8; 40];
        let len = {
            let mut cur = std::io::Cursor::new(&mut buf[..]);
            let _ = write!(cur, "{v:e}");
            cur.position() as usize
        };
        write_java_sci(out, &buf[..len]);
    }
}

/// Appends a float as Java's `Float.toString` writes it.
pub fn write_java_f32(out: &mut Vec<u8>, v: f32) {
    if !write_non_finite(out, v.is_nan(), v.is_infinite(), v < 0.0) {
        let mut buf = [0u8; 40];
        let len = {
            let mut cur = std::io::Cursor::new(&mut buf[..]);
            let _ = write!(cur, "{v:e}");
            cur.position() as usize
        };
        write_java_sci(out, &buf[..len]);
    }
}

fn write_non_finite(out: &mut Vec<u8>, nan: bool, inf: bool, neg: bool) -> bool {
    // Jackson's default (WRITE_NAN_AS_STRINGS) quotes the non-finite values.
    if nan {
        out.extend_from_slice(b"\"NaN\"");
    } else if inf {
        out.extend_from_slice(if neg {
            b"\"-Infinity\""
        } else {
            b"\"Infinity\""
        });
    } else {
        return false;
    }
    true
}

/// Rewrites Rust's shortest `{:e}` form (`-1.2345e-5`, `1e20`, `0e0`) in Java's notation.
fn write_java_sci(out: &mut Vec<u8>, sci: &[u8]) {
    let (neg, sci) = match sci.first() {
        Some(b'-') => (true, &sci[1..]),
        _ => (false, sci),
    };
    let e_pos = sci.iter().position(|&b| b == b'e').unwrap_or(sci.len());
    let mantissa = &sci[..e_pos];
    let exp: i32 = std::str::from_utf8(sci.get(e_pos + 1..).unwrap_or(b"0"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 40];
    let mut n = 0;
    for &b in mantissa {
        if b != b'.' {
            digits[n] = b;
            n += 1;
        }
    }
    let digits = &digits[..n];
    if neg {
        out.push(b'-');
    }
    if digits == b"0" {
        out.extend_from_slice(b"0.0");
        return;
    }
    if (-3..7).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        let _ = write!(out, "{exp}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: f64) -> String {
        let mut o = Vec::new();
        write_java_f64(&mut o, v);
        String::from_utf8(o).unwrap()
    }
    fn f(v: f32) -> String {
        let mut o = Vec::new();
        write_java_f32(&mut o, v);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn java_double_to_string() {
        // Expected strings are what Java's Double.toString prints for these values.
        assert_eq!(d(0.0), "0.0");
        assert_eq!(d(-0.0), "-0.0");
        assert_eq!(d(1.0), "1.0");
        assert_eq!(d(-12.5), "-12.5");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(0.0001), "1.0E-4");
        assert_eq!(d(1234567.0), "1234567.0");
        assert_eq!(d(12345678.0), "1.2345678E7");
        assert_eq!(d(1e20), "1.0E20");
        assert_eq!(d(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(d(f64::MAX), "1.7976931348623157E308");
        assert_eq!(d(f64::MIN_POSITIVE), "2.2250738585072014E-308");
        assert_eq!(d(100.0), "100.0");
        assert_eq!(d(f64::NAN), "\"NaN\"");
    }

    #[test]
    fn java_float_to_string() {
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(3.4028235e38), "3.4028235E38");
        assert_eq!(f(1.0e-5), "1.0E-5");
    }

    #[test]
    fn jackson_string_escaping() {
        let mut o = Vec::new();
        write_json_string(&mut o, "a\"b\\c\nd\u{1}é/</");
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001é/</\""
        );
    }
}
