//! Request bodies from a JSON template: `{"alert": "critical", "observation": "${value.id}",
//! "ward": "${header.ward}"}`. A string that is one placeholder becomes the field's JSON value
//! (typed: numbers stay numbers, objects stay objects); placeholders inside longer text are replaced
//! by their text. Placeholders: `${topic}`, `${partition}`, `${offset}`, `${timestamp}`,
//! `${key}`, `${key.<path>}`, `${value}`, `${value.<path>}`, `${header.<name>}`; paths as
//! [`ValuePath`] (`interpretation[0].coding[0].code`). A missing field is `null` (or empty text). The
//! template decides what leaves the hospital: a body that names only an Observation id and a ward
//! carries no patient data.

use connect_core::converter::{write_json_string, JsonConverter};
use connect_core::data::{Value, ValuePath};
use connect_core::record::SinkRecord;
use serde_json::Value as Json;

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Topic,
    Partition,
    Offset,
    Timestamp,
    Key(ValuePath),
    Value(ValuePath),
    Header(String),
}

/// A piece of template text.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field(Source),
}

/// A template node.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A literal (number, boolean, null, or text without placeholders).
    Literal(Json),
    /// A string that is exactly one placeholder: the field's typed value.
    Field(Source),
    /// A string with placeholders inside text.
    Text(Vec<Piece>),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// A parsed body template.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyTemplate {
    root: Node,
}

fn source(name: &str) -> Result<Source, String> {
    let (head, rest) = match name.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (name, None),
    };
    Ok(match (head, rest) {
        ("topic", None) => Source::Topic,
        ("partition", None) => Source::Partition,
        ("offset", None) => Source::Offset,
        ("timestamp", None) => Source::Timestamp,
        ("key", r) => Source::Key(ValuePath::parse(r.unwrap_or(""))?),
        ("value", r) => Source::Value(ValuePath::parse(r.unwrap_or(""))?),
        ("header", Some(h)) if !h.is_empty() => Source::Header(h.to_owned()),
        _ => {
            return Err(format!(
                "unknown placeholder '${{{name}}}' (topic, partition, offset, timestamp, key[.path], value[.path], header.NAME)"
            ))
        }
    })
}

fn pieces(s: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if i > 0 {
            out.push(Piece::Text(rest[..i].to_owned()));
        }
        let close = rest[i..]
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder in '{s}'"))?;
        out.push(Piece::Field(source(&rest[i + 2..i + close])?));
        rest = &rest[i + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_owned()));
    }
    Ok(out)
}

fn node(j: &Json) -> Result<Node, String> {
    Ok(match j {
        Json::String(s) if s.contains("${") => {
            let mut p = pieces(s)?;
            match (p.len(), p.pop()) {
                (1, Some(Piece::Field(f))) => Node::Field(f),
                (_, last) => {
                    p.extend(last);
                    Node::Text(p)
                }
            }
        }
        Json::Array(a) => Node::Array(a.iter().map(node).collect::<Result<_, _>>()?),
        Json::Object(o) => Node::Object(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), node(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => Node::Literal(other.clone()),
    })
}

impl BodyTemplate {
    /// Parses a template: JSON with placeholders in its strings.
    pub fn parse(text: &str) -> Result<BodyTemplate, String> {
        let j: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        Ok(BodyTemplate { root: node(&j)? })
    }

    /// Writes the body for one record.
    pub fn render(&self, rec: &SinkRecord, json: &JsonConverter, out: &mut Vec<u8>) {
        write_node(&self.root, rec, json, out);
    }
}

enum Found<'a> {
    /// A value; `whole` when it is the whole key or value (its schema then applies).
    Value {
        v: &'a Value,
        whole: bool,
    },
    Text(&'a str),
    Number(i64),
    Missing,
}

fn lookup<'a>(s: &Source, rec: &'a SinkRecord) -> Found<'a> {
    let r = &rec.record;
    let at = |p: &ValuePath, root: &'a Value| match p.get(root) {
        Some(v) => Found::Value {
            v,
            whole: p.is_empty(),
        },
        None => Found::Missing,
    };
    match s {
        Source::Topic => Found::Text(&r.topic),
        Source::Partition => Found::Number(i64::from(rec.original.partition)),
        Source::Offset => Found::Number(rec.kafka_offset),
        Source::Timestamp => r.timestamp.map(Found::Number).unwrap_or(Found::Missing),
        Source::Key(p) => at(p, &r.key),
        Source::Value(p) => at(p, &r.value),
        Source::Header(h) => match r.headers.last_with_name(h) {
            Some(h) => Found::Value {
                v: &h.value,
                whole: false,
            },
            None => Found::Missing,
        },
    }
}

fn write_node(n: &Node, rec: &SinkRecord, json: &JsonConverter, out: &mut Vec<u8>) {
    match n {
        Node::Literal(j) => {
            let _ = serde_json::to_writer(&mut *out, j);
        }
        Node::Field(s) => match lookup(s, rec) {
            Found::Value { v, whole } => {
                let schema = match (whole, s) {
                    (false, _) => None,
                    (true, Source::Key(_)) => rec.record.key_schema.as_ref(),
                    (true, _) => rec.record.value_schema.as_ref(),
                };
                let start = out.len();
                if json.write_value(schema, v, out).is_err() {
                    out.truncate(start);
                    out.extend_from_slice(b"null");
                }
            }
            Found::Text(t) => write_json_string(out, t),
            Found::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Found::Missing => out.extend_from_slice(b"null"),
        },
        Node::Text(pieces) => {
            let mut s = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => s.push_str(t),
                    Piece::Field(f) => match lookup(f, rec) {
                        Found::Value {
                            v: Value::String(v),
                            ..
                        } => s.push_str(v),
                        Found::Value { v, .. } => {
                            let mut b = Vec::new();
                            if json.write_value(None, v, &mut b).is_ok() {
                                s.push_str(&String::from_utf8_lossy(&b));
                            }
                        }
                        Found::Text(t) => s.push_str(t),
                        Found::Number(n) => s.push_str(&n.to_string()),
                        Found::Missing => {}
                    },
                }
            }
            write_json_string(out, &s);
        }
        Node::Array(items) => {
            out.push(b'[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_node(it, rec, json, out);
            }
            out.push(b']');
        }
        Node::Object(fields) => {
            out.push(b'{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(out, k);
                out.push(b':');
                write_node(v, rec, json, out);
            }
            out.push(b'}');
        }
    }
}

/// `${topic}` and `${key}` in a URL (Confluent's substitutions), the key as its text.
pub fn url_for(template: &str, rec: &SinkRecord) -> String {
    if !template.contains("${") {
        return template.to_owned();
    }
    let key = match &rec.record.key {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other
            .as_i64()
            .map(|n| n.to_string())
            .unwrap_or_else(|| other.type_name().to_owned()),
    };
    template
        .replace("${topic}", &rec.record.topic)
        .replace("${key}", &percent_encode(&key))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::data::Map;
    use connect_core::record::{ConnectRecord, TimestampType, TopicPartitionOffset};

    fn rec() -> SinkRecord {
        let mut coding = Map::new();
        coding.insert("code", "HH");
        let mut interp = Map::new();
        interp.insert("coding", Value::Array(vec![Value::Map(coding)]));
        let mut obs = Map::new();
        obs.insert("resourceType", "Observation");
        obs.insert("id", "obs-1");
        obs.insert("valueQuantity", {
            let mut q = Map::new();
            q.insert("value", Value::Float64(7.25));
            Value::Map(q)
        });
        obs.insert("interpretation", Value::Array(vec![Value::Map(interp)]));
        let mut r = ConnectRecord::new("critical", Value::String("k/1".into()), Value::Map(obs));
        r.headers.add_string("ward", "ICU-2");
        SinkRecord {
            record: r,
            kafka_offset: 17,
            timestamp_type: TimestampType::CreateTime,
            original: TopicPartitionOffset {
                topic: "critical".into(),
                partition: 3,
                offset: 17,
            },
        }
    }

    #[test]
    fn placeholders_keep_types_and_interpolate_text() {
        let t = BodyTemplate::parse(
            r#"{"alert":"critical","observation":"Observation/${value.id}","ward":"${header.ward}",
               "flag":"${value.interpretation[0].coding[0].code}","value":"${value.valueQuantity}",
               "at":["${topic}","${partition}","${offset}"],"missing":"${value.nope}","n":1}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        t.render(&rec(), &JsonConverter::new(false), &mut out);
        let got: Json = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"alert":"critical","observation":"Observation/obs-1","ward":"ICU-2",
                "flag":"HH","value":{"value":7.25},"at":["critical",3,17],"missing":null,"n":1})
        );
    }

    #[test]
    fn bad_templates_and_urls() {
        assert!(BodyTemplate::parse("{").is_err());
        assert!(BodyTemplate::parse(r#"{"a":"${nope}"}"#)
            .unwrap_err()
            .contains("nope"));
        assert!(BodyTemplate::parse(r#"{"a":"${value"}"#).is_err());
        assert_eq!(
            url_for("http://h/${topic}/${key}", &rec()),
            "http://h/critical/k%2F1"
        );
    }
}
