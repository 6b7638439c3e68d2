//! The JSON tree a Bundle is built in: the maps need to amend resources after making them (a later
//! segment adds a note, a specimen, a participant), so they build a tree, not bytes. This tree is
//! made for that and for being written once:
//!
//! * object keys are `&'static str` wherever the key is a literal (every key the maps write), so a
//!   key costs no allocation, and objects are vectors of pairs in insertion order, with no hash
//!   table (FHIR objects have a handful of keys; a lookup is a short scan);
//! * [`Json::write_json`] writes the tree as compact JSON straight into a byte buffer, the same text
//!   `serde_json::to_string` writes for the equivalent `serde_json::Value` (except that a control
//!   character without a short escape is written as Jackson writes it, `\u001F`, where serde_json
//!   writes `\u001f`: strings go through the JsonConverter's writer);
//! * [`Json::into_value`] moves it into the schemaless map [`Value`] the JsonConverter reads and
//!   writes, and [`Json::into_serde`] into a `serde_json::Value`, for callers that want one.
//!
//! The methods mirror `serde_json::Value`'s (`["key"]`, `get`, `as_str`, `From`), so the maps read
//! as they would with serde_json; `remove` keeps serde_json's `preserve_order` semantics (the last
//! entry takes the removed one's place) so the output is the same.

use std::borrow::Cow;
use std::ops::{Index, IndexMut};

use connect_core::converter::write_json_string;
use connect_core::data::Value;
use serde_json::Number;

/// An object key: a literal, or (rarely) a key made at run time.
pub(crate) type Key = Cow<'static, str>;

/// A string value: borrowed when it is a literal or a constant (a code system, a status, a code from
/// a table), so the many fixed strings of a Bundle cost no allocation; owned when it came from the
/// message.
pub(crate) type Str = Cow<'static, str>;

/// A JSON value of a Bundle being built.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Json {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Str),
    Array(Vec<Json>),
    Object(JsonMap),
}

/// A JSON object: keys in insertion order, each once.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct JsonMap(Vec<(Key, Json)>);

static NULL: Json = Json::Null;

impl JsonMap {
    pub(crate) fn new() -> Self {
        JsonMap(Vec::new())
    }

    pub(crate) fn with_capacity(n: usize) -> Self {
        JsonMap(Vec::with_capacity(n))
    }

    /// An object of the given pairs, in order (the keys of a `json!` literal, each once).
    pub(crate) fn from_pairs(pairs: Vec<(Key, Json)>) -> Self {
        debug_assert!(
            pairs
                .iter()
                .enumerate()
                .all(|(i, (k, _))| pairs[..i].iter().all(|(seen, _)| seen != k)),
            "a json! object names a key twice"
        );
        JsonMap(pairs)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    /// Sets `key` (in its place when present, else at the end); returns the value it replaces.
    pub(crate) fn insert(&mut self, key: Key, value: Json) -> Option<Json> {
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Removes `key`, moving the last entry into its place (serde_json's `preserve_order` remove).
    pub(crate) fn remove(&mut self, key: &str) -> Option<Json> {
        let i = self.position(key)?;
        Some(self.0.swap_remove(i).1)
    }

    /// The value under `key`, inserting `value` first when there is none.
    pub(crate) fn or_insert(&mut self, key: Key, value: Json) -> &mut Json {
        let i = match self.position(&key) {
            Some(i) => i,
            None => {
                self.0.push((key, value));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// Moves every entry of `other` to the end of this object (a key already here takes the new
    /// value in its place).
    pub(crate) fn append(&mut self, other: &mut JsonMap) {
        self.0.reserve(other.0.len());
        for (k, v) in other.0.drain(..) {
            self.insert(k, v);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

impl<K: Into<Key>> FromIterator<(K, Json)> for JsonMap {
    fn from_iter<I: IntoIterator<Item = (K, Json)>>(iter: I) -> Self {
        let mut m = JsonMap::new();
        for (k, v) in iter {
            m.insert(k.into(), v);
        }
        m
    }
}

impl Json {
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.get(key),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(m) => m.get_mut(key),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// The value at a JSON Pointer (RFC 6901, without `~` escapes, which no map needs).
    pub(crate) fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Json> {
        let rest = pointer.strip_prefix('/')?;
        rest.split('/').try_fold(self, |at, token| match at {
            Json::Object(m) => m.get_mut(token),
            Json::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        })
    }

    /// Writes the value as compact JSON: what `serde_json::to_string` writes for the same
    /// `serde_json::Value` (control characters aside, see the module docs).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Number(n) => write_number(n, out),
            Json::String(s) => write_json_string(out, s),
            Json::Array(a) => {
                out.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write_json(out);
                }
                out.push(b']');
            }
            Json::Object(m) => {
                out.push(b'{');
                for (i, (k, v)) in m.0.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_key(k, out);
                    v.write_json(out);
                }
                out.push(b'}');
            }
        }
    }

    /// The schemaless map form the JsonConverter gives for the same JSON (integers as `Int64`, other
    /// numbers as `Float64`, objects as maps with string keys).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int64(i),
                None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::String(s.into_owned()),
            Json::Array(a) => Value::Array(a.into_iter().map(Json::into_value).collect()),
            Json::Object(m) => Value::Map(
                m.0.into_iter()
                    .map(|(k, v)| (Value::String(k.into_owned()), v.into_value()))
                    .collect(),
            ),
        }
    }

    /// The same value as a `serde_json::Value` (keys in the same order).
    pub(crate) fn into_serde(self) -> serde_json::Value {
        use serde_json::Value as S;
        match self {
            Json::Null => S::Null,
            Json::Bool(b) => S::Bool(b),
            Json::Number(n) => S::Number(n),
            Json::String(s) => S::String(s.into_owned()),
            Json::Array(a) => S::Array(a.into_iter().map(Json::into_serde).collect()),
            Json::Object(m) => S::Object(
                m.0.into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_serde()))
                    .collect(),
            ),
        }
    }
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else {
        // Floats as serde_json writes them (ryu, with its rules for exponents and `.0`).
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// An object key and its colon. Keys are FHIR element names (ASCII letters and digits), which JSON
/// writes as they are.
fn write_key(k: &str, out: &mut Vec<u8>) {
    debug_assert!(
        k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "key {k:?}"
    );
    out.reserve(k.len() + 3);
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

impl Index<&str> for Json {
    type Output = Json;
    /// The value under `key`, or null (as serde_json's).
    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&NULL)
    }
}

impl IndexMut<&'static str> for Json {
    /// The value under `key`, inserted as null when absent; a null becomes an empty object first
    /// (as serde_json's). Only for objects and null.
    fn index_mut(&mut self, key: &'static str) -> &mut Json {
        if self.is_null() {
            *self = Json::Object(JsonMap::new());
        }
        match self {
            Json::Object(m) => m.or_insert(Cow::Borrowed(key), Json::Null),
            // Every map indexes objects it made; serde_json panics here too.
            other => unreachable!("indexing a {other:?} with a key"),
        }
    }
}

impl Index<usize> for Json {
    type Output = Json;
    fn index(&self, i: usize) -> &Json {
        match self {
            Json::Array(a) => a.get(i).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
}

impl From<&str> for Json {
    /// A copy of the string (a literal is borrowed instead through `json!` or [`Str`]).
    fn from(s: &str) -> Self {
        Json::String(Cow::Owned(s.to_owned()))
    }
}
impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::String(Cow::Owned(s))
    }
}
impl From<&String> for Json {
    fn from(s: &String) -> Self {
        Json::String(Cow::Owned(s.clone()))
    }
}
impl From<Str> for Json {
    fn from(s: Str) -> Self {
        Json::String(s)
    }
}

/// A literal in `json!`: a string literal is borrowed, not copied.
pub(crate) trait Literal {
    fn into_json(self) -> Json;
}
impl Literal for &'static str {
    fn into_json(self) -> Json {
        Json::String(Cow::Borrowed(self))
    }
}
macro_rules! literal_via_from {
    ($($t:ty),*) => {$(
        impl Literal for $t {
            fn into_json(self) -> Json {
                Json::from(self)
            }
        }
    )*};
}
literal_via_from!(bool, i32, i64, u32, u64, usize, f64);
impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}
impl From<Number> for Json {
    fn from(n: Number) -> Self {
        Json::Number(n)
    }
}
impl From<f64> for Json {
    /// A finite float, or null (as serde_json's).
    fn from(f: f64) -> Self {
        Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}
macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Self {
                Json::Number(Number::from(n))
            }
        }
    )*};
}
from_integer!(i8, i16, i32, i64, u8, u16, u32, u64, usize);
impl From<Vec<Json>> for Json {
    fn from(a: Vec<Json>) -> Self {
        Json::Array(a)
    }
}
impl From<JsonMap> for Json {
    fn from(m: JsonMap) -> Self {
        Json::Object(m)
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(o: Option<T>) -> Self {
        o.map_or(Json::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Json {
        let mut inner = JsonMap::new();
        inner.insert(
            "code".into(),
            Json::from("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é"),
        );
        inner.insert("n".into(), Json::from(-3));
        inner.insert("u".into(), Json::from(u64::MAX));
        inner.insert("f".into(), Json::from(1.5e300));
        inner.insert("g".into(), Json::from(0.1));
        inner.insert("h".into(), Json::from(12.0));
        let mut m = JsonMap::new();
        m.insert("resourceType".into(), Json::from("Patient"));
        m.insert("flag".into(), Json::from(true));
        m.insert("none".into(), Json::Null);
        m.insert(
            "list".into(),
            Json::Array(vec![Json::Object(inner), Json::Array(vec![])]),
        );
        m.insert("empty".into(), Json::Object(JsonMap::new()));
        Json::Object(m)
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut out = Vec::new();
        sample().write_json(&mut out);
        let ours = String::from_utf8(out).unwrap();
        // The one difference: Jackson's upper-case hex for a control character.
        let theirs = serde_json::to_string(&sample().into_serde())
            .unwrap()
            .replace("\\u001f", "\\u001F");
        assert_eq!(ours, theirs);
        assert!(ours.contains(r#"\u001F"#) && ours.contains(r#"a\"b\\c\n\r\t\b\f\u0001"#));
    }

    #[test]
    fn the_map_form_is_the_json_converters() {
        let expected = connect_core::converter::JsonConverter::json_into_schemaless_value(
            sample().into_serde(),
        );
        assert_eq!(sample().into_value(), expected);
    }

    #[test]
    fn objects_keep_serde_json_preserve_order_semantics() {
        let mut m = JsonMap::new();
        for k in ["a", "b", "c", "d"] {
            m.insert(k.into(), Json::from(k));
        }
        // Replacing keeps the place; removing moves the last entry into the gap.
        m.insert("b".into(), Json::from(2));
        assert_eq!(m.remove("a"), Some(Json::from("a")));
        let mut s = serde_json::Map::new();
        for k in ["a", "b", "c", "d"] {
            s.insert(k.into(), serde_json::Value::from(k));
        }
        s.insert("b".into(), serde_json::Value::from(2));
        s.remove("a");
        let keys: Vec<&str> = m.keys().collect();
        let theirs: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(keys, theirs);
        let mut j = Json::Null;
        j["x"] = Json::from(1);
        j["x"] = Json::from(2);
        assert_eq!(j.into_serde(), serde_json::json!({"x": 2}));
    }

    #[test]
    fn pointers_and_indexes() {
        let mut s = sample();
        assert_eq!(s["list"][0]["n"], Json::from(-3));
        assert!(s["missing"]["deeper"].is_null());
        *s.pointer_mut("/list/0/code").unwrap() = Json::from("x");
        assert_eq!(s["list"][0]["code"].as_str(), Some("x"));
        assert!(s.pointer_mut("/list/9").is_none());
        assert!(s.pointer_mut("nope").is_none());
    }
}
