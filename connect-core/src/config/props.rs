//! String-keyed configuration maps, Java `.properties` parsing and secret redaction.

use std::collections::BTreeMap;
use std::fmt;

/// A configuration map as Kafka Connect passes them around: string keys, string values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Props(BTreeMap<String, String>);

impl Props {
    /// An empty map.
    pub fn new() -> Self {
        Props(BTreeMap::new())
    }
    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    /// Sets a key; returns self for chaining.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.insert(key.into(), value.into());
        self
    }
    /// Builder-style set.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }
    /// Removes a key.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }
    /// True if the key is set.
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The keys that start with `prefix`, with the prefix removed (Kafka's `originalsWithPrefix`).
    pub fn with_prefix(&self, prefix: &str) -> Props {
        Props(
            self.0
                .range(prefix.to_owned()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k[prefix.len()..].to_owned(), v.clone()))
                .collect(),
        )
    }
    /// Merges `other` over `self` (other's values win).
    pub fn merged(&self, other: &Props) -> Props {
        let mut out = self.clone();
        for (k, v) in other.iter() {
            out.set(k, v);
        }
        out
    }
    /// Mutable access to every value (used by config providers to resolve `${...}` references).
    pub fn values_mut(&mut self) -> impl Iterator<Item = (&String, &mut String)> {
        self.0.iter_mut()
    }

    /// Parses Java `.properties` text: `key=value`, `key: value` or `key value`; `#` and `!` comments;
    /// backslash line continuations; `\t \n \r \f \uXXXX` escapes.
    pub fn parse_properties(text: &str) -> Props {
        let mut out = Props::new();
        let mut logical = String::new();
        for line in text.lines() {
            let trimmed = line.trim_start();
            if logical.is_empty() && (trimmed.is_empty() || trimmed.starts_with(['#', '!'])) {
                continue;
            }
            let piece = if logical.is_empty() {
                trimmed
            } else {
                line.trim_start()
            };
            if ends_with_odd_backslashes(piece) {
                logical.push_str(&piece[..piece.len() - 1]);
                continue;
            }
            logical.push_str(piece);
            let (k, v) = split_property(&logical);
            out.set(unescape(k), unescape(v));
            logical.clear();
        }
        if !logical.is_empty() {
            let (k, v) = split_property(&logical);
            out.set(unescape(k), unescape(v));
        }
        out
    }
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

fn split_property(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if rest.starts_with(['=', ':']) {
        rest = rest[1..].trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// True for keys whose values must never reach logs, status output or `Debug` output: passwords,
/// secrets, tokens, credentials, JAAS configs and private keys.
pub fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.contains("token")
        || k.contains("credential")
        || k.ends_with("jaas.config")
        || k.ends_with("key.pem")
        || k.ends_with("private.key")
        || k.ends_with("api.key")
        || k.ends_with(".pseudonym.key")
}

/// Shown in place of a sensitive value.
pub const REDACTED: &str = "[hidden]";

impl fmt::Debug for Props {
    /// Lists every key; sensitive values are shown as `[hidden]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            if is_sensitive_key(k) {
                m.entry(k, &REDACTED);
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Props {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Props(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_properties() {
        let text = "# comment\n! also\nbootstrap.servers=a:9092,b:9092\nkey.converter : org.X\n\
                    plain value here\nmulti=one,\\\n    two\nesc=tab\\there\\u0041\n  spaced = v \n";
        let p = Props::parse_properties(text);
        assert_eq!(p.get("bootstrap.servers"), Some("a:9092,b:9092"));
        assert_eq!(p.get("key.converter"), Some("org.X"));
        assert_eq!(p.get("plain"), Some("value here"));
        assert_eq!(p.get("multi"), Some("one,two"));
        assert_eq!(p.get("esc"), Some("tab\thereA"));
        assert_eq!(p.get("spaced"), Some("v "));
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn debug_redacts_secrets() {
        let p = Props::new()
            .with("database.password", "hunter2")
            .with("ssl.key.password", "k")
            .with("fhir.auth.token", "t")
            .with("topics", "a");
        let s = format!("{p:?}");
        assert!(!s.contains("hunter2") && !s.contains("\"k\"") && !s.contains("\"t\""));
        assert!(s.contains("\"topics\": \"a\""));
    }

    #[test]
    fn prefix_view() {
        let p = Props::new()
            .with("transforms.a.type", "X")
            .with("transforms.a.field", "f")
            .with("transforms.b.type", "Y");
        let a = p.with_prefix("transforms.a.");
        assert_eq!(a.get("type"), Some("X"));
        assert_eq!(a.get("field"), Some("f"));
        assert_eq!(a.len(), 2);
    }
}
