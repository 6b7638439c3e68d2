//! The structured form of a message: a schemaless map a record can carry as its value, so JSON
//! consumers, SMTs and sinks see fields by name (the seed's `output.format=json` with
//! `hl7.message.structure=true`).
//!
//! # Shape
//!
//! ```json
//! {
//!   "MSH": {"1": "|", "2": "^~\\&", "3": "ADT", "9": "ADT^A01", "9.1": "ADT", "9.2": "A01", "10": "MSG1", "12": "2.5"},
//!   "PID": {"3": "12345^^^HOSP^MR~999^^^SSA^SS", "3.1": "12345", "3.4": "HOSP", "3.5": "MR",
//!           "3(2)": "999^^^SSA^SS", "3(2).1": "999", "3(2).4": "SSA", "3(2).5": "SS",
//!           "5": "DOE^JANE", "5.1": "DOE", "5.2": "JANE"},
//!   "OBX": {"1": "1", "5": "7.2"},
//!   "OBX(2)": {"1": "2", "5": "140"}
//! }
//! ```
//!
//! * One entry per segment, in message order. The first occurrence of a segment is under its name;
//!   later ones under `NAME(n)`, the notation of paths such as `OBX(2)-5`.
//! * In a segment, `"N"` holds field N exactly as it is in ER7, all repetitions, delimiters and escape
//!   sequences included. These keys alone define the message: [`from_value`] encodes from them.
//! * Derived keys, present only for non-empty parts and only where they add something: `"N.C"` and
//!   `"N.C.S"` hold the unescaped text of a component and subcomponent of the first repetition when the
//!   field has more than one component (subcomponent); `"N(R)"`, `"N(R).C"`, `"N(R).C.S"` the same for
//!   repetition R ≥ 2. They are views for readers; to change a field, use [`set`], which rewrites the
//!   field and its views together.
//! * Empty fields are absent. All values are strings; MSH-1 and MSH-2 hold the delimiters, which the
//!   path functions here read back.
//!
//! ```
//! use connect_core::hl7::{structured, Message, Path};
//!
//! let msg = Message::parse(bytes::Bytes::from_static(
//!     b"MSH|^~\\&|ADT|HOSP|EHR|HOSP|202401010830||ADT^A01|MSG1|P|2.5\rPID|1||12345^^^HOSP^MR||DOE^JANE\r",
//! ))
//! .unwrap();
//! let mut value = structured::to_value(&msg);
//! let pid = value.as_map().unwrap().get("PID").unwrap().as_map().unwrap();
//! assert_eq!(pid.get("3.1").and_then(|v| v.as_str()), Some("12345"));
//!
//! let path = Path::parse("PID.5.2").unwrap();
//! structured::set(value.as_map_mut().unwrap(), &path, "JOAN").unwrap();
//! assert_eq!(structured::get(value.as_map().unwrap(), &path).as_deref(), Some("JOAN"));
//! let er7 = structured::from_value(&value).unwrap();
//! assert!(er7.ends_with(b"PID|1||12345^^^HOSP^MR||DOE^JOAN\r"));
//! ```

use std::borrow::Cow;

use super::{escape, unescape, Charset, Delimiters, Message, Path};
use crate::data::{Map, Value};

/// Why a value is not a structured message, or a path cannot be set in it. No field content is quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructuredError {
    /// The value is not a map with an `MSH` (or `FHS`/`BHS`) segment map first.
    #[error("not a structured HL7 message: {0}")]
    NotStructured(&'static str),
    /// A segment key is not `NAME` or `NAME(n)` with a 3-character name.
    #[error("segment key '{0}' is not NAME or NAME(n) with a 3-character name")]
    BadSegmentKey(String),
    /// A field key inside a segment is not a field number (derived keys are skipped, not rejected).
    #[error("segment {segment}: field '{key}' must hold a string")]
    BadField {
        /// The segment key.
        segment: String,
        /// The field key.
        key: String,
    },
    /// A character cannot be written in the message's character set (MSH-18).
    #[error("segment {0}: a character is outside the message's character set (MSH-18)")]
    Unencodable(String),
    /// [`set`] was given a path into a segment the message does not have.
    #[error("the message has no segment {0}")]
    NoSegment(String),
    /// [`set`] was given MSH-1 or MSH-2, which hold the delimiters.
    #[error("{0} holds the delimiters and cannot be set")]
    Delimiters(String),
    /// A field number or a path position beyond the documented limits ([`super::MAX_FIELD`]
    /// and the others).
    #[error("segment {segment}: {what}")]
    OutOfRange {
        /// The segment key.
        segment: String,
        /// Which position and its limit.
        what: String,
    },
}

/// True when `value` has the shape of a structured message (a map whose first entry is an MSH, FHS
/// or BHS segment map). Cheap: it looks at the first entry only.
pub fn is_structured(value: &Value) -> bool {
    match value {
        Value::Map(m) => m.iter().next().is_some_and(|(k, v)| {
            matches!(k.as_str(), Some("MSH" | "FHS" | "BHS")) && matches!(v, Value::Map(_))
        }),
        _ => false,
    }
}

/// The structured form of a parsed message (see the module documentation for its shape).
pub fn to_value(msg: &Message) -> Value {
    let d = msg.delimiters();
    let mut out = Map::with_capacity(16);
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for seg in msg.segments() {
        let name = seg.name();
        let n = match seen.iter_mut().find(|(s, _)| *s == name) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                seen.push((name, 1));
                1
            }
        };
        let key = if n == 1 {
            name.to_owned()
        } else {
            format!("{name}({n})")
        };
        let mut fields = Map::with_capacity(seg.field_count() * 2);
        let header = matches!(name, "MSH" | "FHS" | "BHS");
        for f in 1..=seg.field_count() {
            let Some(raw) = seg.field_raw(f) else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            if header && f <= 2 {
                fields.push(
                    Value::String(f.to_string()),
                    Value::String(msg.decode_text(raw)),
                );
                continue;
            }
            push_field(&mut fields, f, raw, d, msg.charset());
        }
        out.push(Value::String(key), Value::Map(fields));
    }
    Value::Map(out)
}

fn decode(bytes: &[u8], charset: Charset) -> String {
    match charset {
        Charset::Latin1 => bytes.iter().map(|&b| b as char).collect(),
        Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn encode_text(text: &str, charset: Charset) -> Option<Cow<'_, [u8]>> {
    match charset {
        Charset::Utf8 => Some(Cow::Borrowed(text.as_bytes())),
        Charset::Latin1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<Vec<u8>>>()
            .map(Cow::Owned),
    }
}

/// Adds `"N"` and its derived keys for one field's ER7 bytes.
fn push_field(fields: &mut Map, n: usize, raw: &[u8], d: &Delimiters, charset: Charset) {
    fields.push(
        Value::String(n.to_string()),
        Value::String(decode(raw, charset)),
    );
    let text = |b: &[u8]| decode(&unescape(b, d), charset);
    for (r, rep) in raw.split(|&b| b == d.repetition).enumerate() {
        let prefix = if r == 0 {
            n.to_string()
        } else {
            let p = format!("{n}({})", r + 1);
            if !rep.is_empty() {
                fields.push(
                    Value::String(p.clone()),
                    Value::String(decode(rep, charset)),
                );
            }
            p
        };
        let multi_comp = rep.contains(&d.component);
        for (c, comp) in rep.split(|&b| b == d.component).enumerate() {
            if comp.is_empty() {
                continue;
            }
            if multi_comp {
                fields.push(
                    Value::String(format!("{prefix}.{}", c + 1)),
                    Value::String(text(comp)),
                );
            }
            if comp.contains(&d.subcomponent) {
                for (s, sub) in comp.split(|&b| b == d.subcomponent).enumerate() {
                    if !sub.is_empty() {
                        fields.push(
                            Value::String(format!("{prefix}.{}.{}", c + 1, s + 1)),
                            Value::String(text(sub)),
                        );
                    }
                }
            }
        }
    }
}

/// Splits a segment key `OBX(2)` into `("OBX", 2)`.
fn segment_key(key: &str) -> Option<(&str, usize)> {
    let (name, n) = match key.split_once('(') {
        Some((name, rest)) => (name, rest.strip_suffix(')')?.parse::<usize>().ok()?),
        None => (key, 1),
    };
    (name.len() == 3 && name.bytes().all(|b| b.is_ascii_alphanumeric()) && n >= 1)
        .then_some((name, n))
}

/// The delimiters and character set a structured message declares in its MSH-1, MSH-2 and MSH-18.
pub fn delimiters(map: &Map) -> (Delimiters, Charset) {
    let header = map.iter().next().and_then(|(_, v)| v.as_map());
    let mut d = Delimiters::default();
    let mut charset = Charset::Utf8;
    if let Some(h) = header {
        if let Some(&f) = h
            .get("1")
            .and_then(Value::as_str)
            .and_then(|s| s.as_bytes().first())
        {
            d.field = f;
        }
        if let Some(enc) = h.get("2").and_then(Value::as_str).map(str::as_bytes) {
            if enc.len() >= 4 {
                d.component = enc[0];
                d.repetition = enc[1];
                d.escape = enc[2];
                d.subcomponent = enc[3];
                d.truncation = enc.get(4).copied();
            }
        }
        if let Some(cs) = h.get("18").and_then(Value::as_str) {
            let cs = cs.to_ascii_uppercase();
            if cs.contains("8859/1") || cs.contains("8859-1") || cs.contains("LATIN") {
                charset = Charset::Latin1;
            }
        }
    }
    (d, charset)
}

fn segment_map_key(path: &Path) -> Cow<'_, str> {
    if path.segment_rep == 1 {
        Cow::Borrowed(path.segment.as_str())
    } else {
        Cow::Owned(format!("{}({})", path.segment, path.segment_rep))
    }
}

/// The occurrence numbers of segment `name` in a structured message, in message order
/// (`[1, 2, 3]` for three OBX segments).
pub fn occurrences(map: &Map, name: &str) -> Vec<usize> {
    map.iter()
        .filter_map(|(k, _)| segment_key(k.as_str()?))
        .filter(|(n, _)| *n == name)
        .map(|(_, i)| i)
        .collect()
}

/// How many repetitions field `path.field` of segment occurrence `path.segment_rep` has (0 when
/// the segment or the field is absent or empty).
pub fn repetitions(map: &Map, path: &Path) -> usize {
    let (d, _) = delimiters(map);
    map.get(&segment_map_key(path))
        .and_then(Value::as_map)
        .and_then(|seg| seg.get(&path.field.to_string()))
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty())
        .map_or(0, |f| {
            if matches!(path.segment.as_str(), "MSH" | "FHS" | "BHS") && path.field <= 2 {
                1
            } else {
                f.bytes().filter(|&b| b == d.repetition).count() + 1
            }
        })
}

/// The text at `path` in a structured message, unescaped, or None when absent or empty. Reads the
/// `"N"` field keys, so it agrees with [`from_value`] even if a derived key was edited by hand.
pub fn get(map: &Map, path: &Path) -> Option<String> {
    let (d, charset) = delimiters(map);
    let seg = map.get(&segment_map_key(path))?.as_map()?;
    let field = seg.get(&path.field.to_string())?.as_str()?;
    let is_header = matches!(path.segment.as_str(), "MSH" | "FHS" | "BHS");
    if is_header && path.field <= 2 {
        return (!field.is_empty()).then(|| field.to_owned());
    }
    let raw = encode_text(field, charset)?;
    let rep = raw
        .split(|&b| b == d.repetition)
        .nth(path.field_rep.checked_sub(1)?)?;
    let part = match path.component {
        None => rep,
        Some(c) => {
            let comp = rep.split(|&b| b == d.component).nth(c.checked_sub(1)?)?;
            match path.subcomponent {
                None => comp,
                Some(s) => comp
                    .split(|&b| b == d.subcomponent)
                    .nth(s.checked_sub(1)?)?,
            }
        }
    };
    (!part.is_empty()).then(|| decode(&unescape(part, &d), charset))
}

/// Replaces the text at `path` (escaping delimiters in it) and rewrites that field's derived keys.
/// Parts the path names that do not exist yet are created (a missing repetition or component is added
/// with empty ones before it).
pub fn set(map: &mut Map, path: &Path, text: &str) -> Result<(), StructuredError> {
    set_inner(map, path, text, false)
}

/// Replaces the whole field `path` lies in, every repetition of it, with `text` (escaped), and
/// rewrites its derived keys. What a de-identifier wants for `PID-5`: aliases are names too.
pub fn set_field(map: &mut Map, path: &Path, text: &str) -> Result<(), StructuredError> {
    set_inner(map, path, text, true)
}

fn set_inner(map: &mut Map, path: &Path, text: &str, whole: bool) -> Result<(), StructuredError> {
    path.check_limits()
        .map_err(|what| StructuredError::OutOfRange {
            segment: path.segment.clone(),
            what,
        })?;
    let (d, charset) = delimiters(map);
    let is_header = matches!(path.segment.as_str(), "MSH" | "FHS" | "BHS");
    if is_header && path.field <= 2 {
        return Err(StructuredError::Delimiters(format!(
            "{}-{}",
            path.segment, path.field
        )));
    }
    let seg_key = segment_map_key(path).into_owned();
    let seg = map
        .get_mut(&seg_key)
        .and_then(Value::as_map_mut)
        .ok_or_else(|| StructuredError::NoSegment(seg_key.clone()))?;
    let current = seg
        .get(&path.field.to_string())
        .and_then(Value::as_str)
        .unwrap_or("");
    let unencodable = || StructuredError::Unencodable(seg_key.clone());
    let raw = encode_text(current, charset).ok_or_else(unencodable)?;
    let new_text = encode_text(text, charset).ok_or_else(unencodable)?;
    let escaped = escape(&new_text, &d);
    let field = if whole {
        escaped.into_owned()
    } else {
        replace_part(&raw, path, &escaped, &d)
    };
    let mut rebuilt = Map::with_capacity(seg.len() + 4);
    let mut placed = false;
    for (k, v) in std::mem::take(seg).into_iter() {
        let field_no = k.as_str().and_then(field_number);
        match field_no {
            Some(n) if n == path.field => {
                if !placed {
                    if !field.is_empty() {
                        push_field(&mut rebuilt, n, &field, &d, charset);
                    }
                    placed = true;
                }
            }
            Some(n) if n > path.field && !placed => {
                if !field.is_empty() {
                    push_field(&mut rebuilt, path.field, &field, &d, charset);
                }
                placed = true;
                rebuilt.push(k, v);
            }
            _ => rebuilt.push(k, v),
        }
    }
    if !placed && !field.is_empty() {
        push_field(&mut rebuilt, path.field, &field, &d, charset);
    }
    *seg = rebuilt;
    Ok(())
}

/// The field number a key of a segment map belongs to: `3` for `3`, `3.1`, `3(2)`, `3(2).1.2`.
fn field_number(key: &str) -> Option<usize> {
    let end = key.find(['.', '(']).unwrap_or(key.len());
    key[..end].parse().ok()
}

/// Rebuilds a field's bytes with the part `path` names replaced by `new`.
fn replace_part(field: &[u8], path: &Path, new: &[u8], d: &Delimiters) -> Vec<u8> {
    fn splice(whole: &[u8], sep: u8, index: usize, f: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = if whole.is_empty() {
            Vec::new()
        } else {
            whole.split(|&b| b == sep).collect()
        };
        while parts.len() <= index {
            parts.push(&[]);
        }
        let replaced = f(parts[index]);
        let mut out = Vec::with_capacity(whole.len() + replaced.len());
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            if i == index {
                out.extend_from_slice(&replaced);
            } else {
                out.extend_from_slice(p);
            }
        }
        // Trailing empty parts add nothing but delimiters.
        while out.last() == Some(&sep) {
            out.pop();
        }
        out
    }
    splice(
        field,
        d.repetition,
        path.field_rep.saturating_sub(1),
        |rep| match path.component {
            None => new.to_vec(),
            Some(c) => splice(rep, d.component, c.saturating_sub(1), |comp| {
                match path.subcomponent {
                    None => new.to_vec(),
                    Some(s) => splice(comp, d.subcomponent, s.saturating_sub(1), |_| new.to_vec()),
                }
            }),
        },
    )
}

/// Encodes a structured message as ER7 bytes from its `"N"` field keys, segments in map order, each
/// ended by CR. Derived keys are ignored. Text is written in the character set of MSH-18.
pub fn from_value(value: &Value) -> Result<Vec<u8>, StructuredError> {
    let map = match value {
        Value::Map(m) if is_structured(value) => m,
        Value::Map(_) => {
            return Err(StructuredError::NotStructured(
                "the first entry must be the MSH segment as a map",
            ))
        }
        _ => return Err(StructuredError::NotStructured("the value is not a map")),
    };
    let (d, charset) = delimiters(map);
    let mut out = Vec::with_capacity(512);
    for (k, v) in map.iter() {
        let key = k.as_str().unwrap_or("");
        let (name, _) =
            segment_key(key).ok_or_else(|| StructuredError::BadSegmentKey(key.to_owned()))?;
        let seg = v
            .as_map()
            .ok_or_else(|| StructuredError::BadSegmentKey(key.to_owned()))?;
        let header = matches!(name, "MSH" | "FHS" | "BHS");
        let mut fields: Vec<(usize, &str)> = Vec::with_capacity(seg.len());
        for (fk, fv) in seg.iter() {
            let Some(fk) = fk.as_str() else { continue };
            let Ok(n) = fk.parse::<usize>() else { continue };
            if n > super::path::MAX_FIELD {
                return Err(StructuredError::OutOfRange {
                    segment: key.to_owned(),
                    what: format!(
                        "field {n} is beyond the limit of {}",
                        super::path::MAX_FIELD
                    ),
                });
            }
            let text = fv.as_str().ok_or_else(|| StructuredError::BadField {
                segment: key.to_owned(),
                key: fk.to_owned(),
            })?;
            if n >= 1 && !(header && n <= 2) {
                fields.push((n, text));
            }
        }
        fields.sort_by_key(|(n, _)| *n);
        out.extend_from_slice(name.as_bytes());
        if header {
            out.push(d.field);
            out.extend_from_slice(&[d.component, d.repetition, d.escape, d.subcomponent]);
            if let Some(t) = d.truncation {
                out.push(t);
            }
        }
        let mut at = if header { 2 } else { 0 };
        for (n, text) in fields {
            while at < n {
                out.push(d.field);
                at += 1;
            }
            let bytes = encode_text(text, charset)
                .ok_or_else(|| StructuredError::Unencodable(key.into()))?;
            out.extend_from_slice(&bytes);
        }
        out.push(b'\r');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(s: &'static [u8]) -> Message {
        Message::parse(Bytes::from_static(s)).unwrap()
    }

    #[test]
    fn repeated_segments_and_fields_get_their_own_keys() {
        let m = msg(b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\rPID|1||7^^^H^MR~8^^^S^SS||DOE^J&K\rOBX|1|NM|X^Y||7.2\rOBX|2|NM|X^Z||140\r");
        let v = to_value(&m);
        let map = v.as_map().unwrap();
        let keys: Vec<_> = map.iter().map(|(k, _)| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["MSH", "PID", "OBX", "OBX(2)"]);
        let pid = map.get("PID").unwrap().as_map().unwrap();
        assert_eq!(pid.get("3(2).5").unwrap().as_str(), Some("SS"));
        assert_eq!(pid.get("5.2.2").unwrap().as_str(), Some("K"));
        assert_eq!(pid.get("1").unwrap().as_str(), Some("1"));
        assert!(
            pid.get("1.1").is_none(),
            "no view for a one-component field"
        );
        assert_eq!(
            get(map, &Path::parse("OBX(2)-5").unwrap()).as_deref(),
            Some("140")
        );
        assert_eq!(from_value(&v).unwrap(), m.raw().to_vec());
    }

    #[test]
    fn set_escapes_creates_parts_and_keeps_field_order() {
        let m = msg(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||7||DOE^J|||F\r");
        let mut v = to_value(&m);
        let map = v.as_map_mut().unwrap();
        set(map, &Path::parse("PID-5.1").unwrap(), "O|NEIL").unwrap();
        set(map, &Path::parse("PID-3(2).4").unwrap(), "SSA").unwrap();
        set(map, &Path::parse("PID-19").unwrap(), "000").unwrap();
        set(map, &Path::parse("PID-8").unwrap(), "").unwrap();
        let pid = map.get("PID").unwrap().as_map().unwrap();
        assert_eq!(pid.get("5.1").unwrap().as_str(), Some("O|NEIL"));
        assert_eq!(
            get(map, &Path::parse("PID-5.1").unwrap()).as_deref(),
            Some("O|NEIL")
        );
        assert_eq!(
            String::from_utf8(from_value(&v).unwrap()).unwrap(),
            "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||7~^^^SSA||O\\F\\NEIL^J||||||||||||||000\r"
        );
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        assert!(from_value(&Value::Int32(1)).is_err());
        let mut m = Map::new();
        m.insert("PID", Value::Map(Map::new()));
        assert!(matches!(
            from_value(&Value::Map(m)),
            Err(StructuredError::NotStructured(_))
        ));
        let mut v = to_value(&msg(b"MSH|^~\\&|A\rPID|1\r"));
        let map = v.as_map_mut().unwrap();
        map.insert("P", Value::Map(Map::new()));
        assert!(matches!(
            from_value(&v),
            Err(StructuredError::BadSegmentKey(_))
        ));
        let mut v = to_value(&msg(b"MSH|^~\\&|A\rPID|1\r"));
        assert!(matches!(
            set(v.as_map_mut().unwrap(), &Path::parse("PV1-2").unwrap(), "I"),
            Err(StructuredError::NoSegment(_))
        ));
        assert!(matches!(
            set(v.as_map_mut().unwrap(), &Path::parse("MSH-2").unwrap(), "x"),
            Err(StructuredError::Delimiters(_))
        ));
    }

    #[test]
    fn positions_from_input_are_bounded_not_allocated() {
        let m = to_value(&msg(
            b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||123\r",
        ));
        // A field key of four billion in the data: an error, not 4 GB of delimiters.
        let mut huge = m.clone();
        if let Value::Map(top) = &mut huge {
            if let Some(Value::Map(pid)) = top.get_mut("PID") {
                pid.insert("4000000000", "x");
            }
        }
        let e = from_value(&huge).unwrap_err();
        assert!(matches!(e, StructuredError::OutOfRange { .. }), "{e}");
        assert!(from_value(&m).is_ok());
        // A hand-built path past the limits (parse refuses them already).
        let Value::Map(mut top) = m else { panic!() };
        let mut p = Path::parse("PID-3").unwrap();
        p.field_rep = usize::MAX;
        assert!(matches!(
            set(&mut top, &p, "x"),
            Err(StructuredError::OutOfRange { .. })
        ));
        p.field_rep = 1;
        p.component = Some(5_000_000);
        assert!(matches!(
            set(&mut top, &p, "x"),
            Err(StructuredError::OutOfRange { .. })
        ));
    }

    #[test]
    fn hand_built_paths_with_zero_positions_find_nothing() {
        let m = msg(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rPID|1||7^^^H||DOE^J\r");
        let mut v = to_value(&m);
        for (rep, comp, sub) in [(0, None, None), (1, Some(0), None), (1, Some(1), Some(0))] {
            let p = Path {
                segment: "PID".into(),
                segment_rep: 1,
                field: 5,
                field_rep: rep,
                component: comp,
                subcomponent: sub,
            };
            assert_eq!(m.get_at(&p), None);
            assert_eq!(get(v.as_map().unwrap(), &p), None);
            assert!(set(v.as_map_mut().unwrap(), &p, "X").is_ok());
        }
    }

    #[test]
    fn latin1_messages_round_trip() {
        let raw: &'static [u8] =
            b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||||D|8859/1\rPID|1||7||M\xdcLLER^J\r";
        let m = msg(raw);
        let v = to_value(&m);
        assert_eq!(
            get(v.as_map().unwrap(), &Path::parse("PID-5.1").unwrap()).as_deref(),
            Some("MÜLLER")
        );
        assert_eq!(from_value(&v).unwrap(), raw.to_vec());
    }
}
