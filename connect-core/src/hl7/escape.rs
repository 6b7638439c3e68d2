//! HL7 escape sequences: `\F\ \S\ \T\ \R\ \E\` for the delimiters, `\Xhh..\` for raw bytes, `\.br\`
//! for a line break. Other sequences (`\H\`, `\N\`, `\Cxxyy\`, ...) are kept verbatim.

use std::borrow::Cow;

use super::Delimiters;

/// Replaces escape sequences in a field value. Returns the input itself when it has none.
pub fn unescape<'a>(raw: &'a [u8], d: &Delimiters) -> Cow<'a, [u8]> {
    if !raw.contains(&d.escape) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != d.escape {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(len) = raw[i + 1..].iter().position(|&c| c == d.escape) else {
            // An unterminated escape: keep the rest as it is.
            out.extend_from_slice(&raw[i..]);
            break;
        };
        let seq = &raw[i + 1..i + 1 + len];
        match seq {
            b"F" => out.push(d.field),
            b"S" => out.push(d.component),
            b"T" => out.push(d.subcomponent),
            b"R" => out.push(d.repetition),
            b"E" => out.push(d.escape),
            b".br" => out.push(b'\n'),
            [b'X', hex @ ..]
                if !hex.is_empty()
                    && hex.len() % 2 == 0
                    && hex.iter().all(u8::is_ascii_hexdigit) =>
            {
                for pair in hex.chunks(2) {
                    let hi = (pair[0] as char).to_digit(16).unwrap_or(0);
                    let lo = (pair[1] as char).to_digit(16).unwrap_or(0);
                    out.push((hi * 16 + lo) as u8);
                }
            }
            _ => out.extend_from_slice(&raw[i..i + len + 2]),
        }
        i += len + 2;
    }
    Cow::Owned(out)
}

/// Escapes the delimiters in a value so it can be placed in a field.
pub fn escape<'a>(value: &'a [u8], d: &Delimiters) -> Cow<'a, [u8]> {
    let special = |b: u8| {
        b == d.field
            || b == d.component
            || b == d.subcomponent
            || b == d.repetition
            || b == d.escape
    };
    if !value.iter().any(|&b| special(b)) {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len() + 8);
    for &b in value {
        let code = if b == d.field {
            Some(b'F')
        } else if b == d.component {
            Some(b'S')
        } else if b == d.subcomponent {
            Some(b'T')
        } else if b == d.repetition {
            Some(b'R')
        } else if b == d.escape {
            Some(b'E')
        } else {
            None
        };
        match code {
            Some(c) => out.extend_from_slice(&[d.escape, c, d.escape]),
            None => out.push(b),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sequences() {
        let d = Delimiters::default();
        let raw = br"A\F\B\S\C\T\D\R\E\E\F\X0D0A\G\.br\H\H\I\Zfoo";
        let u = unescape(raw, &d);
        assert_eq!(&u[..], b"A|B^C&D~E\\F\r\nG\nH\\H\\I\\Zfoo");
        let v = b"a|b^c&d~e\\f";
        assert_eq!(&unescape(&escape(v, &d), &d)[..], v);
        assert!(matches!(unescape(b"plain", &d), Cow::Borrowed(_)));
        assert_eq!(&unescape(br"odd\X0\ok", &d)[..], br"odd\X0\ok");
    }
}
