//! What a record asks of the server: write a resource, post a Bundle as it is, or delete, and the
//! request (or Bundle entry) that does it in each write mode.
//!
//! Failures here name the field and the expected form, never a value: the record goes to the DLQ
//! with that reason.

use std::borrow::Cow;

use bytes::Bytes;
use connect_core::converter::{write_json_string, JsonConverter};
use connect_core::data::Value;
use connect_core::fhir::{is_id as is_fhir_id, is_resource_type as is_type_name, FhirRequest};
use connect_core::record::SinkRecord;
use serde::Deserialize;

use super::config::WriteMode;

/// What one record asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Write a resource.
    Resource {
        /// `resourceType`.
        resource_type: String,
        /// `id`, if the resource has one.
        id: Option<String>,
        /// The identifier the conditional mode matches on (`system|value`, URL-encoded).
        identifier: Option<String>,
        /// The resource's JSON.
        body: Bytes,
    },
    /// A `transaction` or `batch` Bundle, posted to the base URL as it is.
    Bundle {
        /// `transaction` or `batch`.
        bundle_type: String,
        /// The Bundle's JSON.
        body: Bytes,
    },
    /// A tombstone: delete the resource its key names.
    Delete {
        /// The type.
        resource_type: String,
        /// The id.
        id: String,
    },
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "type", default, borrow)]
    bundle_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    identifier: Vec<Identifier<'a>>,
}

#[derive(Deserialize)]
struct Identifier<'a> {
    #[serde(default, borrow)]
    system: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    value: Option<Cow<'a, str>>,
}

/// Percent-encodes a search parameter value (RFC 3986 unreserved characters stay).
fn encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn text_of<'v>(v: &'v Value, field: &str) -> Option<&'v str> {
    let f = match v {
        Value::Map(m) => m.get(field),
        Value::Struct(s) => s.get(field),
        _ => None,
    }?;
    match f {
        Value::String(s) => Some(s),
        _ => None,
    }
}

impl Write {
    /// What `rec` asks for. `identifier_system` picks the identifier of the conditional mode.
    pub fn of(
        rec: &SinkRecord,
        json: &JsonConverter,
        identifier_system: Option<&str>,
    ) -> Result<Self, String> {
        let r = &rec.record;
        let body: Bytes = match &r.value {
            Value::Null => return Self::delete_of(&r.key),
            Value::Bytes(b) => b.clone(),
            Value::String(s) => Bytes::copy_from_slice(s.as_bytes()),
            v @ (Value::Map(_) | Value::Struct(_)) => {
                let mut out = Vec::with_capacity(512);
                json.write_value(r.value_schema.as_ref(), v, &mut out)
                    .map_err(|_| "the value cannot be written as JSON".to_owned())?;
                Bytes::from(out)
            }
            _ => {
                return Err(
                    "the value is not a FHIR resource (a map, a struct, or JSON text or bytes)"
                        .into(),
                )
            }
        };
        let head: Head<'_> = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "the value is not a JSON object (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let ty = head.resource_type.as_deref().unwrap_or_default();
        if !is_type_name(ty) {
            return Err("the value has no resourceType naming a FHIR resource type".into());
        }
        if ty == "Bundle" {
            if let Some(bt @ ("transaction" | "batch")) = head.bundle_type.as_deref() {
                return Ok(Write::Bundle {
                    bundle_type: bt.to_owned(),
                    body,
                });
            }
        }
        let id = match head.id.as_deref() {
            None | Some("") => None,
            Some(id) if is_fhir_id(id) => Some(id.to_owned()),
            Some(_) => {
                return Err(format!(
                    "{ty}.id is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)"
                ))
            }
        };
        let identifier = head
            .identifier
            .iter()
            .find(|i| identifier_system.is_none_or(|s| i.system.as_deref() == Some(s)))
            .and_then(|i| {
                let value = i.value.as_deref().filter(|v| !v.is_empty())?;
                let mut q = String::new();
                if let Some(s) = i.system.as_deref() {
                    encode(s, &mut q);
                    q.push_str("%7C");
                }
                encode(value, &mut q);
                Some(q)
            });
        let resource_type = ty.to_owned();
        drop(head);
        Ok(Write::Resource {
            resource_type,
            id,
            identifier,
            body,
        })
    }

    /// A tombstone's target, from its key: `{"resourceType", "id"}` (a map or a struct, as the FHIR
    /// source writes) or the text `Patient/123`.
    fn delete_of(key: &Value) -> Result<Self, String> {
        let (ty, id) = match key {
            Value::String(s) => s
                .split_once('/')
                .ok_or("a tombstone's key must be Type/id or {resourceType, id}")?,
            k => match (text_of(k, "resourceType"), text_of(k, "id")) {
                (Some(t), Some(i)) => (t, i),
                _ => return Err("a tombstone's key must be Type/id or {resourceType, id}".into()),
            },
        };
        if !is_type_name(ty) || !is_fhir_id(id) {
            return Err("a tombstone's key does not name a resource type and a FHIR id".into());
        }
        Ok(Write::Delete {
            resource_type: ty.to_owned(),
            id: id.to_owned(),
        })
    }

    /// The resource's `Type/id` (what keeps records of one resource in order), or None.
    pub fn target(&self) -> Option<(&str, &str)> {
        match self {
            Write::Resource {
                resource_type,
                id: Some(id),
                ..
            }
            | Write::Delete { resource_type, id } => Some((resource_type, id)),
            _ => None,
        }
    }

    /// The method and relative URL of this write in `mode`, with the label errors use (ids and
    /// identifiers replaced by placeholders). An error when the mode needs what the record lacks.
    fn method_url(&self, mode: WriteMode) -> Result<(reqwest::Method, String, String), String> {
        use reqwest::Method;
        Ok(match self {
            Write::Bundle { bundle_type, .. } => (
                Method::POST,
                String::new(),
                format!("POST {bundle_type} Bundle"),
            ),
            Write::Delete {
                resource_type: t,
                id,
            } => (
                Method::DELETE,
                format!("{t}/{id}"),
                format!("DELETE {t}/[id]"),
            ),
            Write::Resource {
                resource_type: t,
                id,
                identifier,
                ..
            } => match (mode, id, identifier) {
                (WriteMode::Create, _, _)
                | (WriteMode::Update | WriteMode::Transaction | WriteMode::Batch, None, _) => {
                    (Method::POST, t.clone(), format!("POST {t}"))
                }
                (WriteMode::Conditional, _, Some(q)) => (
                    Method::PUT,
                    format!("{t}?identifier={q}"),
                    format!("PUT {t}?identifier=[identifier]"),
                ),
                (WriteMode::Conditional, _, None) => {
                    return Err(format!(
                        "{t}.identifier has no value to match on (fhir.write.mode=conditional)"
                    ))
                }
                (_, Some(id), _) => (Method::PUT, format!("{t}/{id}"), format!("PUT {t}/[id]")),
            },
        })
    }

    /// The request that performs this write on its own.
    pub fn request(&self, mode: WriteMode) -> Result<FhirRequest, String> {
        let (method, url, label) = self.method_url(mode)?;
        let body = match self {
            Write::Resource { body, .. } | Write::Bundle { body, .. } => Some(body.clone()),
            Write::Delete { .. } => None,
        };
        Ok(FhirRequest {
            method,
            url,
            body,
            headers: vec![],
            label,
        })
    }

    /// Appends this write as an entry of a `transaction` or `batch` Bundle.
    pub fn write_entry(&self, mode: WriteMode, out: &mut Vec<u8>) -> Result<(), String> {
        let (method, url, _) = self.method_url(mode)?;
        out.extend_from_slice(b"{");
        if let Write::Resource { body, .. } = self {
            out.extend_from_slice(b"\"resource\":");
            out.extend_from_slice(body);
            out.push(b',');
        }
        out.extend_from_slice(b"\"request\":{\"method\":");
        write_json_string(out, method.as_str());
        out.extend_from_slice(b",\"url\":");
        write_json_string(out, &url);
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// A Bundle of `entries` (already written JSON objects).
pub fn bundle_of(bundle_type: &str, entries: &[Vec<u8>]) -> Bytes {
    let mut out =
        Vec::with_capacity(64 + entries.iter().map(Vec::len).sum::<usize>() + entries.len());
    out.extend_from_slice(b"{\"resourceType\":\"Bundle\",\"type\":");
    write_json_string(&mut out, bundle_type);
    out.extend_from_slice(b",\"entry\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::data::Map;
    use connect_core::record::{ConnectRecord, TimestampType, TopicPartitionOffset};

    fn rec(key: Value, value: Value) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord::new("t", key, value),
            kafka_offset: 0,
            timestamp_type: TimestampType::CreateTime,
            original: TopicPartitionOffset {
                topic: "t".into(),
                partition: 0,
                offset: 0,
            },
        }
    }

    fn json(s: &str) -> Value {
        Value::String(s.to_owned())
    }

    #[test]
    fn requests_per_mode() {
        let j = JsonConverter::new(false);
        let p = Write::of(
            &rec(Value::Null, json(r#"{"resourceType":"Patient","id":"p-1","identifier":[{"system":"urn:oid:1.2","value":"MRN 7"},{"system":"http://ssn","value":"1"}]}"#)),
            &j,
            None,
        )
        .unwrap();
        let r = p.request(WriteMode::Update).unwrap();
        assert_eq!(
            (r.method.as_str(), r.url.as_str(), r.label.as_str()),
            ("PUT", "Patient/p-1", "PUT Patient/[id]")
        );
        assert_eq!(p.request(WriteMode::Create).unwrap().url, "Patient");
        let c = p.request(WriteMode::Conditional).unwrap();
        assert_eq!(c.url, "Patient?identifier=urn%3Aoid%3A1.2%7CMRN%207");
        assert!(!c.label.contains("MRN"));
        let p2 = Write::of(&rec(Value::Null, json(r#"{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2","value":"7"},{"system":"http://ssn","value":"1"}]}"#)), &j, Some("http://ssn")).unwrap();
        assert_eq!(
            p2.request(WriteMode::Conditional).unwrap().url,
            "Patient?identifier=http%3A%2F%2Fssn%7C1"
        );
        assert_eq!(
            p2.request(WriteMode::Update).unwrap().method,
            reqwest::Method::POST
        );
        let b = Write::of(
            &rec(
                Value::Null,
                json(r#"{"resourceType":"Bundle","type":"transaction","entry":[]}"#),
            ),
            &j,
            None,
        )
        .unwrap();
        assert!(matches!(b, Write::Bundle { .. }));
        assert_eq!(b.request(WriteMode::Update).unwrap().url, "");
        let mut key = Map::new();
        key.insert("resourceType", "Patient");
        key.insert("id", "p-1");
        let d = Write::of(&rec(Value::Map(key), Value::Null), &j, None).unwrap();
        assert_eq!(d.request(WriteMode::Update).unwrap().url, "Patient/p-1");
        let mut e = Vec::new();
        d.write_entry(WriteMode::Transaction, &mut e).unwrap();
        assert_eq!(
            String::from_utf8(e.clone()).unwrap(),
            r#"{"request":{"method":"DELETE","url":"Patient/p-1"}}"#
        );
        let body = bundle_of("batch", &[e]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["entry"][0]["request"]["method"], "DELETE");
    }

    #[test]
    fn bad_records_are_named_without_their_values() {
        let j = JsonConverter::new(false);
        for (v, key) in [
            (json("not json Doe"), Value::Null),
            (json(r#"{"name":"Doe"}"#), Value::Null),
            (
                json(r#"{"resourceType":"Patient","id":"Doe/../x"}"#),
                Value::Null,
            ),
            (Value::Int32(5), Value::Null),
            (Value::Null, json("Doe")),
        ] {
            let e = Write::of(&rec(key, v), &j, None).unwrap_err();
            assert!(!e.contains("Doe"), "{e}");
        }
        let p = Write::of(
            &rec(Value::Null, json(r#"{"resourceType":"Patient","id":"a"}"#)),
            &j,
            None,
        )
        .unwrap();
        let e = p.request(WriteMode::Conditional).unwrap_err();
        assert!(e.contains("Patient.identifier"), "{e}");
    }
}
