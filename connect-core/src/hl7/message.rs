//! The parsed message: delimiters, segments and field spans over the original bytes.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;

use super::{unescape, Path};

/// Why bytes are not an HL7 v2 message. Positions are byte offsets; no content is quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7Error {
    /// Nothing but blanks.
    #[error("empty message")]
    Empty,
    /// The message does not start with MSH (or FHS/BHS for a batch).
    #[error("message must start with MSH, FHS or BHS (found another segment at byte {0})")]
    NoHeader(usize),
    /// MSH-1/MSH-2 do not declare five distinct delimiters.
    #[error("MSH-1/MSH-2 do not declare valid delimiters: {0}")]
    BadDelimiters(&'static str),
    /// A segment name is not three letters or digits.
    #[error("segment at byte {0} does not start with a 3-character name")]
    BadSegmentName(usize),
}

/// The delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (`|`).
    pub field: u8,
    /// Component separator (`^`).
    pub component: u8,
    /// Repetition separator (`~`).
    pub repetition: u8,
    /// Escape character (`\`).
    pub escape: u8,
    /// Subcomponent separator (`&`).
    pub subcomponent: u8,
    /// Truncation character (`#`, HL7 2.7+), if declared.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
            truncation: None,
        }
    }
}

/// The character set of MSH-18, used to turn field bytes into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// ASCII (the HL7 default) and UTF-8 (`UNICODE UTF-8`): decoded as UTF-8.
    Utf8,
    /// `8859/1`: Latin-1, each byte one character.
    Latin1,
}

#[derive(Debug, Clone)]
struct Segment {
    /// Bytes of the segment without its terminator.
    span: Range<usize>,
    /// The terminator after it (CR, LF, CRLF, or several); empty for a last segment without one.
    terminator: Range<usize>,
    /// Field spans split on the field separator; `fields[0]` is the segment name.
    fields: Vec<Range<usize>>,
    /// MSH, FHS or BHS: field 1 is the field separator itself, so numbering is shifted by one.
    is_header: bool,
}

/// An HL7 v2 message, parsed without copying: every part is a span of the original bytes.
#[derive(Debug, Clone)]
pub struct Message {
    raw: Bytes,
    delimiters: Delimiters,
    charset: Charset,
    prefix: Range<usize>,
    segments: Vec<Segment>,
    suffix: Range<usize>,
}

/// A segment of a message.
#[derive(Debug, Clone, Copy)]
pub struct SegmentRef<'a> {
    msg: &'a Message,
    seg: &'a Segment,
}

impl<'a> SegmentRef<'a> {
    /// The segment's name (`PID`).
    pub fn name(&self) -> &'a str {
        std::str::from_utf8(&self.msg.raw[self.seg.fields[0].clone()]).unwrap_or("")
    }
    /// The raw bytes of field `n` (HL7 numbering: for MSH, field 1 is the field separator).
    pub fn field_raw(&self, n: usize) -> Option<&'a [u8]> {
        let idx = if self.seg.is_header {
            if n == 1 {
                let at = self.seg.span.start + 3;
                return Some(&self.msg.raw[at..at + 1]);
            }
            n.checked_sub(1)?
        } else {
            n
        };
        if idx == 0 {
            return None;
        }
        self.seg.fields.get(idx).map(|r| &self.msg.raw[r.clone()])
    }
    /// Number of fields (not counting the name).
    pub fn field_count(&self) -> usize {
        self.seg.fields.len() - 1 + usize::from(self.seg.is_header)
    }
    /// The raw bytes of the whole segment, without its terminator.
    pub fn raw(&self) -> &'a [u8] {
        &self.msg.raw[self.seg.span.clone()]
    }
}

/// The most segments a message's vector is sized for before parsing (a longer one grows).
const MAX_PRESIZED_SEGMENTS: usize = 256;

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0)
}

/// Part `index` (0-based) of `bytes` split on `sep`: what `bytes.split(|&b| b == sep).nth(index)`
/// gives. None when there are fewer parts. Components are short, so a plain scan finds their
/// separators; a long field is searched with `memchr`.
pub fn nth_part(bytes: &[u8], sep: u8, index: usize) -> Option<&[u8]> {
    if bytes.len() >= 64 {
        let mut seps = memchr::memchr_iter(sep, bytes);
        let mut start = 0;
        for _ in 0..index {
            start = seps.next()? + 1;
        }
        let end = seps.next().unwrap_or(bytes.len());
        return Some(&bytes[start..end]);
    }
    let mut start = 0;
    let mut left = index;
    for (i, &b) in bytes.iter().enumerate() {
        if b == sep {
            if left == 0 {
                return Some(&bytes[start..i]);
            }
            left -= 1;
            start = i + 1;
        }
    }
    (left == 0).then(|| &bytes[start..])
}

impl Message {
    /// Parses one message. Tolerates a UTF-8 byte order mark and blanks before the first segment,
    /// CR, LF or CRLF segment terminators, and trailing blanks; all of them are kept, so
    /// [`encode`](Message::encode) gives back the input exactly.
    pub fn parse(raw: Bytes) -> Result<Message, Hl7Error> {
        let b = &raw[..];
        let mut start = 0;
        if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
            start = 3;
        }
        while start < b.len() && is_blank(b[start]) {
            start += 1;
        }
        let mut end = b.len();
        while end > start && is_blank(b[end - 1]) {
            end -= 1;
        }
        if start >= end {
            return Err(Hl7Error::Empty);
        }
        let head = &b[start..end];
        if !(head.starts_with(b"MSH") || head.starts_with(b"FHS") || head.starts_with(b"BHS")) {
            return Err(Hl7Error::NoHeader(start));
        }
        if head.len() < 8 {
            return Err(Hl7Error::BadDelimiters(
                "the header is shorter than MSH|^~\\&",
            ));
        }
        let field = head[3];
        let enc_end = head[4..]
            .iter()
            .position(|&c| c == field || c == b'\r' || c == b'\n')
            .map(|p| p + 4)
            .unwrap_or(head.len());
        let enc = &head[4..enc_end];
        if enc.len() < 4 {
            return Err(Hl7Error::BadDelimiters(
                "MSH-2 must hold at least four encoding characters",
            ));
        }
        let d = Delimiters {
            field,
            component: enc[0],
            repetition: enc[1],
            escape: enc[2],
            subcomponent: enc[3],
            truncation: enc.get(4).copied(),
        };
        let all = [d.field, d.component, d.repetition, d.escape, d.subcomponent];
        for (i, x) in all.iter().enumerate() {
            // ASCII only: a non-ASCII byte is part of a character in the message's charset, so it
            // could not be written back as one delimiter.
            if !x.is_ascii_punctuation() || all[i + 1..].contains(x) {
                return Err(Hl7Error::BadDelimiters(
                    "delimiters must be distinct ASCII punctuation characters",
                ));
            }
        }
        if d.truncation
            .is_some_and(|t| !t.is_ascii_punctuation() || all.contains(&t))
        {
            return Err(Hl7Error::BadDelimiters(
                "the truncation character must be a distinct ASCII punctuation character",
            ));
        }
        // Sized once for a usual message: at most one segment per line break (blank lines are part
        // of a terminator, so a run of them must not size the vector: capped).
        let breaks = memchr::memchr2_iter(b'\r', b'\n', &b[start..end]).count();
        let mut segments = Vec::with_capacity(breaks.min(MAX_PRESIZED_SEGMENTS) + 1);
        let mut pos = start;
        while pos < end {
            let line_end = memchr::memchr2(b'\r', b'\n', &b[pos..end]).map_or(end, |p| p + pos);
            let mut term_end = line_end;
            while term_end < end && (b[term_end] == b'\r' || b[term_end] == b'\n') {
                term_end += 1;
            }
            let line = &b[pos..line_end];
            if line.len() < 3
                || !line[..3].iter().all(u8::is_ascii_alphanumeric)
                || (line.len() > 3 && line[3] != d.field)
            {
                return Err(Hl7Error::BadSegmentName(pos));
            }
            let mut fields = Vec::with_capacity(memchr::memchr_iter(d.field, line).count() + 1);
            let mut fstart = pos;
            for sep in memchr::memchr_iter(d.field, line) {
                fields.push(fstart..pos + sep);
                fstart = pos + sep + 1;
            }
            fields.push(fstart..line_end);
            segments.push(Segment {
                span: pos..line_end,
                terminator: line_end..term_end,
                fields,
                is_header: matches!(&line[..3], b"MSH" | b"FHS" | b"BHS"),
            });
            pos = term_end;
        }
        let mut msg = Message {
            prefix: 0..start,
            suffix: end..raw.len(),
            raw,
            delimiters: d,
            charset: Charset::Utf8,
            segments,
        };
        let charset = msg
            .segment("MSH", 1)
            .and_then(|s| s.field_raw(18))
            .map(|cs| {
                let cs = String::from_utf8_lossy(cs).to_ascii_uppercase();
                if cs.contains("8859/1") || cs.contains("8859-1") || cs.contains("LATIN") {
                    Charset::Latin1
                } else {
                    Charset::Utf8
                }
            })
            .unwrap_or(Charset::Utf8);
        msg.charset = charset;
        Ok(msg)
    }

    /// The original bytes.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The declared delimiters.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// The character set of MSH-18.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// The segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = SegmentRef<'_>> {
        self.segments
            .iter()
            .map(move |seg| SegmentRef { msg: self, seg })
    }

    /// The `occurrence`-th (1-based) segment named `name`.
    pub fn segment(&self, name: &str, occurrence: usize) -> Option<SegmentRef<'_>> {
        self.segments()
            .filter(|s| s.name() == name)
            .nth(occurrence.checked_sub(1)?)
    }

    /// Rebuilds the message from its parts: leading bytes, each segment's fields joined by the field
    /// separator followed by its own terminator, trailing bytes. For a parsed message this is the input.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len());
        out.extend_from_slice(&self.raw[self.prefix.clone()]);
        for seg in &self.segments {
            for (i, f) in seg.fields.iter().enumerate() {
                if i > 0 {
                    out.push(self.delimiters.field);
                }
                out.extend_from_slice(&self.raw[f.clone()]);
            }
            out.extend_from_slice(&self.raw[seg.terminator.clone()]);
        }
        out.extend_from_slice(&self.raw[self.suffix.clone()]);
        out
    }

    /// The raw bytes at `path` (escape sequences left in place), or None when absent or empty.
    pub fn get_raw_at(&self, path: &Path) -> Option<&[u8]> {
        let seg = self.segment(&path.segment, path.segment_rep)?;
        let field = seg.field_raw(path.field)?;
        let is_enc_chars = matches!(seg.name(), "MSH" | "FHS" | "BHS") && path.field <= 2;
        let d = &self.delimiters;
        let value = if is_enc_chars {
            field
        } else {
            let rep = nth_part(field, d.repetition, path.field_rep.checked_sub(1)?)?;
            match path.component {
                None => rep,
                Some(c) => {
                    let comp = nth_part(rep, d.component, c.checked_sub(1)?)?;
                    match path.subcomponent {
                        None => comp,
                        Some(s) => nth_part(comp, d.subcomponent, s.checked_sub(1)?)?,
                    }
                }
            }
        };
        (!value.is_empty()).then_some(value)
    }

    /// The text at `path`, unescaped and decoded per MSH-18, or None when absent, empty, or the path
    /// does not parse. Use [`Path::parse`] to see why a path is rejected.
    pub fn get(&self, path: &str) -> Option<String> {
        let p = Path::parse(path).ok()?;
        self.get_at(&p)
    }

    /// As [`get`](Message::get), with a parsed path.
    pub fn get_at(&self, path: &Path) -> Option<String> {
        let raw = self.get_raw_at(path)?;
        let is_enc_chars =
            matches!(path.segment.as_str(), "MSH" | "FHS" | "BHS") && path.field <= 2;
        let bytes = if is_enc_chars {
            Cow::Borrowed(raw)
        } else {
            unescape(raw, &self.delimiters)
        };
        Some(self.decode_text(&bytes))
    }

    /// Bytes of this message's character set as text (invalid UTF-8 is replaced, never dropped).
    pub fn decode_text(&self, bytes: &[u8]) -> String {
        match self.charset {
            Charset::Latin1 => bytes.iter().map(|&b| b as char).collect(),
            // Valid UTF-8 (nearly every field) is checked once and copied; only invalid bytes take
            // the replacing path.
            Charset::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            },
        }
    }

    /// MSH-9.1 and MSH-9.2, e.g. `("ADT", "A01")`.
    pub fn message_type(&self) -> Option<(String, String)> {
        Some((
            self.get("MSH-9.1")?,
            self.get("MSH-9.2").unwrap_or_default(),
        ))
    }

    /// MSH-10, the message control id.
    pub fn control_id(&self) -> Option<String> {
        self.get("MSH-10")
    }

    /// MSH-12.1, the HL7 version.
    pub fn version(&self) -> Option<String> {
        self.get("MSH-12.1")
    }
}

/// Splits a batch file (FHS/BHS ... BTS/FTS) or a stream of messages into its messages, without
/// copying: each message is a slice of `raw`. Batch header and trailer segments are not part of any
/// message.
pub fn parse_batch(raw: Bytes) -> Result<Vec<Message>, Hl7Error> {
    let b = &raw[..];
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    let mut line_start = 0;
    let mut i = 0;
    while i <= b.len() {
        if i == b.len() || b[i] == b'\r' || b[i] == b'\n' {
            let line = &b[line_start..i];
            let line = line.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(line);
            if line.starts_with(b"MSH") {
                starts.push(line_start);
            } else if line.starts_with(b"FHS")
                || line.starts_with(b"BHS")
                || line.starts_with(b"BTS")
                || line.starts_with(b"FTS")
            {
                stops.push(line_start);
            }
            line_start = i + 1;
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let next_msh = starts.get(k + 1).copied().unwrap_or(b.len());
        let end = stops
            .iter()
            .copied()
            .find(|&t| t > s && t < next_msh)
            .unwrap_or(next_msh);
        out.push(Message::parse(raw.slice(s..end))?);
    }
    if out.is_empty() {
        return Err(Hl7Error::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn nth_part_is_split_nth(bytes in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'^', b'~', b'&', b'|']), 0..160), index in 0usize..40) {
            for sep in [b'^', b'~', b'|'] {
                proptest::prop_assert_eq!(
                    nth_part(&bytes, sep, index),
                    bytes.split(|&b| b == sep).nth(index)
                );
            }
        }
    }

    #[test]
    fn non_ascii_delimiters_are_refused() {
        // Found by the hl7_converter fuzz target: MSH-2 made of the bytes of multi-byte characters,
        // which the structured form could not write back as single delimiters.
        let mut m = b"\xEF\xBB\xBFMSH|".to_vec();
        m.extend_from_slice(&[0xa2, 0x81, 0xa3, 0xd6]);
        m.extend_from_slice(b"|A|B|C|D|20040629164652||ADT^A01|331|P|2.3.1\rPID|||1\r");
        assert!(matches!(
            Message::parse(Bytes::from(m)),
            Err(Hl7Error::BadDelimiters(_))
        ));
        assert!(Message::parse(Bytes::from_static(b"MSH|^~\\&\xe9|A|B\r")).is_err());
        assert!(Message::parse(Bytes::from_static(b"MSH|^~\\&#|A|B\r")).is_ok());
    }
}
