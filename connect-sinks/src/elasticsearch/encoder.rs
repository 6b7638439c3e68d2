//! Records to bulk actions, written straight into one buffer: the action line and the document JSON
//! from the record's value (structs, maps, or a JSON object carried as text or bytes), no tree built
//! in between.

use std::io::Write;
use std::ops::Range;

use connect_core::converter::{write_json_string, DecimalFormat, JsonConverter};
use connect_core::data::Value;
use connect_core::error::DataError;
use connect_core::record::SinkRecord;

use super::config::{ElasticsearchSinkConfig, NullValues, WriteMethod};

/// The bulk operation of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `index`.
    Index,
    /// `create` (data streams).
    Create,
    /// `update` with `doc_as_upsert`.
    Update,
    /// `delete`.
    Delete,
}

/// One encoded action: where its lines are in the buffer and what it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The action and document lines, newline-terminated, in the buffer.
    pub range: Range<usize>,
    /// The record's position in the batch.
    pub record: usize,
    /// The operation.
    pub op: Op,
    /// Index (or data stream) and document id: items with the same address keep their order.
    pub address: (String, Option<String>),
    /// True when the action carries an external version (a conflict then means "already newer").
    pub versioned: bool,
}

/// Turns records into bulk actions for one configuration.
pub struct Encoder<'a> {
    cfg: &'a ElasticsearchSinkConfig,
    /// Decimals as base64 bytes, as Kafka's JsonConverter writes them (`schema.ignore=true`).
    json: JsonConverter,
    /// Decimals as numbers, as Confluent's sink writes them when it maps the schema
    /// (`schema.ignore=false`: a Decimal is mapped as `double`).
    json_numeric: JsonConverter,
}

impl<'a> Encoder<'a> {
    /// An encoder for `cfg`.
    pub fn new(cfg: &'a ElasticsearchSinkConfig) -> Self {
        Encoder {
            cfg,
            json: JsonConverter::new(false),
            json_numeric: JsonConverter::new(false).with_decimal_format(DecimalFormat::Numeric),
        }
    }

    /// Appends the record's action to `out`. `Ok(None)`: nothing to write (a null value ignored).
    /// Errors name what is wrong with the record, never its content.
    pub fn encode(
        &self,
        position: usize,
        rec: &SinkRecord,
        out: &mut Vec<u8>,
    ) -> Result<Option<Item>, DataError> {
        let r = &rec.record;
        let start = out.len();
        let index = self.cfg.index_for(&r.topic);
        let op = if r.value.is_null() {
            match self.cfg.null_values {
                NullValues::Ignore => return Ok(None),
                NullValues::Fail => {
                    return Err(DataError::new(
                        "the record's value is null (behavior.on.null.values=fail)",
                    ))
                }
                NullValues::Delete => Op::Delete,
            }
        } else if self.cfg.data_stream.is_some() {
            Op::Create
        } else if self.cfg.write_method == WriteMethod::Upsert {
            Op::Update
        } else {
            Op::Index
        };
        let id = if op == Op::Create {
            None
        } else if self.cfg.ignores_key(&r.topic) {
            Some(format!(
                "{}+{}+{}",
                r.topic,
                r.kafka_partition.unwrap_or(rec.original.partition),
                rec.kafka_offset
            ))
        } else {
            Some(document_id(&r.key)?)
        };
        // External versions order writes of one id: a replay or a late retry never regresses a
        // document. Updates cannot carry them (the server refuses), nor can data stream creates.
        let version = match (op, self.cfg.ignores_key(&r.topic)) {
            (Op::Index | Op::Delete, false) => Some(self.version(rec)?),
            _ => None,
        };
        let verb: &[u8] = match op {
            Op::Index => b"{\"index\":{\"_index\":",
            Op::Create => b"{\"create\":{\"_index\":",
            Op::Update => b"{\"update\":{\"_index\":",
            Op::Delete => b"{\"delete\":{\"_index\":",
        };
        out.extend_from_slice(verb);
        write_json_string(out, &index);
        if let Some(id) = &id {
            out.extend_from_slice(b",\"_id\":");
            write_json_string(out, id);
        }
        if let Some(v) = version {
            out.extend_from_slice(b",\"version\":");
            // Into the buffer, not through a String per record (writing to a Vec cannot fail).
            let _ = write!(out, "{v}");
            out.extend_from_slice(b",\"version_type\":\"external\"");
        }
        out.extend_from_slice(b"}}\n");
        match op {
            Op::Delete => {}
            Op::Update => {
                out.extend_from_slice(b"{\"doc\":");
                self.document(rec, out)
                    .inspect_err(|_| out.truncate(start))?;
                out.extend_from_slice(b",\"doc_as_upsert\":true}\n");
            }
            Op::Index | Op::Create => {
                self.document(rec, out)
                    .inspect_err(|_| out.truncate(start))?;
                out.push(b'\n');
            }
        }
        Ok(Some(Item {
            range: start..out.len(),
            record: position,
            op,
            address: (index, id),
            versioned: version.is_some(),
        }))
    }

    fn version(&self, rec: &SinkRecord) -> Result<i64, DataError> {
        let Some(h) = &self.cfg.version_header else {
            return Ok(rec.kafka_offset);
        };
        let bad = || {
            DataError::new(format!(
                "header '{h}' (external.version.header) must hold a non-negative integer"
            ))
        };
        let v = match rec.record.headers.last_with_name(h).map(|h| &h.value) {
            Some(Value::Int64(v)) => *v,
            Some(Value::Int32(v)) => i64::from(*v),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| bad())?,
            Some(Value::Bytes(b)) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        if v < 0 {
            return Err(bad());
        }
        Ok(v)
    }

    fn document(&self, rec: &SinkRecord, out: &mut Vec<u8>) -> Result<(), DataError> {
        let r = &rec.record;
        match &r.value {
            Value::Struct(_) | Value::Map(_) => {
                let json = if self.cfg.ignores_schema(&r.topic) {
                    &self.json
                } else {
                    &self.json_numeric
                };
                json.write_value(r.value_schema.as_ref(), &r.value, out)
            }
            Value::String(s) => raw_object(s.as_bytes(), out),
            Value::Bytes(b) => raw_object(b, out),
            other => Err(DataError::new(format!(
                "the record's value is a {}; a document is a struct, a map or a JSON object",
                other.type_name()
            ))),
        }
    }
}

/// A JSON object carried as text or bytes (an HL7ToFHIR Bundle through the ByteArray converter),
/// copied as it is after checking that it is one object.
fn raw_object(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), DataError> {
    let trimmed = bytes.trim_ascii();
    if !trimmed.starts_with(b"{")
        || serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_err()
    {
        return Err(DataError::new(
            "the record's value is text or bytes that are not one JSON object",
        ));
    }
    // A document spans one line of the bulk body.
    if trimmed.contains(&b'\n') || trimmed.contains(&b'\r') {
        let v: serde_json::Value = serde_json::from_slice(trimmed)
            .map_err(|_| DataError::new("the record's value is not one JSON object"))?;
        serde_json::to_writer(&mut *out, &v)
            .map_err(|_| DataError::new("the record's value is not one JSON object"))?;
    } else {
        out.extend_from_slice(trimmed);
    }
    Ok(())
}

/// The document id a key gives: a string as it is, an integer in decimal.
pub fn document_id(key: &Value) -> Result<String, DataError> {
    match key {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Int8(v) => Ok(v.to_string()),
        Value::Int16(v) => Ok(v.to_string()),
        Value::Int32(v) => Ok(v.to_string()),
        Value::Int64(v) => Ok(v.to_string()),
        Value::Null => Err(DataError::new(
            "the record's key is null; with key.ignore=false the key is the document id",
        )),
        Value::String(_) => Err(DataError::new(
            "the record's key is an empty string; with key.ignore=false the key is the document id",
        )),
        other => Err(DataError::new(format!(
            "the record's key is a {}; the document id must be a string or an integer (extract one field of the key, e.g. with ExtractField$Key, or set key.ignore=true)",
            other.type_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::config::Props;
    use connect_core::data::{Map, SchemaBuilder, SchemaType, Struct};
    use connect_core::record::{ConnectRecord, TimestampType, TopicPartitionOffset};

    fn cfg(extra: &[(&str, &str)]) -> ElasticsearchSinkConfig {
        let mut p = Props::new().with("connection.url", "http://x");
        for (k, v) in extra {
            p.set(*k, *v);
        }
        ElasticsearchSinkConfig::parse(&p).unwrap()
    }

    fn rec(key: Value, value: Value, offset: i64) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord {
                kafka_partition: Some(2),
                ..ConnectRecord::new("providers", key, value)
            },
            kafka_offset: offset,
            timestamp_type: TimestampType::CreateTime,
            original: TopicPartitionOffset {
                topic: "providers".into(),
                partition: 2,
                offset,
            },
        }
    }

    fn encode(c: &ElasticsearchSinkConfig, r: &SinkRecord) -> Result<String, DataError> {
        let mut out = Vec::new();
        let item = Encoder::new(c).encode(0, r, &mut out)?;
        assert_eq!(item.map(|i| i.range), Some(0..out.len()));
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_mapped_decimal_is_a_number_and_an_unmapped_one_base64() {
        use connect_core::data::{Decimal, Schema};
        let schema = SchemaBuilder::struct_()
            .field("fee", Schema::decimal(2).build())
            .build();
        let mut s = Struct::new(schema.clone());
        s.put("fee", Value::Decimal(Decimal::new(1250, 2))).unwrap();
        let mut r = rec(Value::Int32(9), Value::Struct(s), 1);
        r.record.value_schema = Some(schema);
        let mapped = encode(&cfg(&[]), &r).unwrap();
        assert!(mapped.ends_with("{\"fee\":12.50}\n"), "{mapped}");
        let ignored = encode(&cfg(&[("schema.ignore", "true")]), &r).unwrap();
        assert!(ignored.ends_with("{\"fee\":\"BOI=\"}\n"), "{ignored}");
    }

    #[test]
    fn keyed_documents_are_indexed_with_the_offset_as_external_version() {
        let c = cfg(&[]);
        let mut m = Map::new();
        m.insert(
            Value::String("name".into()),
            Value::String("Dr \"A\"\n".into()),
        );
        let out = encode(&c, &rec(Value::String("P-1".into()), Value::Map(m), 41)).unwrap();
        assert_eq!(
            out,
            "{\"index\":{\"_index\":\"providers\",\"_id\":\"P-1\",\"version\":41,\"version_type\":\"external\"}}\n{\"name\":\"Dr \\\"A\\\"\\n\"}\n"
        );
        let schema = SchemaBuilder::struct_()
            .name("p")
            .field("npi", SchemaBuilder::new(SchemaType::Int64).build())
            .build();
        let mut s = Struct::new(schema.clone());
        s.put("npi", Value::Int64(7)).unwrap();
        let mut r = rec(Value::Int32(9), Value::Struct(s), 1);
        r.record.value_schema = Some(schema);
        let out = encode(&c, &r).unwrap();
        assert!(
            out.ends_with(
                "\"_id\":\"9\",\"version\":1,\"version_type\":\"external\"}}\n{\"npi\":7}\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn nulls_deletes_upserts_and_ignored_keys() {
        let c = cfg(&[("behavior.on.null.values", "delete")]);
        let out = encode(&c, &rec(Value::String("P-1".into()), Value::Null, 5)).unwrap();
        assert_eq!(out, "{\"delete\":{\"_index\":\"providers\",\"_id\":\"P-1\",\"version\":5,\"version_type\":\"external\"}}\n");
        let c = cfg(&[("behavior.on.null.values", "ignore")]);
        let mut buf = Vec::new();
        assert_eq!(
            Encoder::new(&c)
                .encode(0, &rec(Value::Null, Value::Null, 5), &mut buf)
                .unwrap(),
            None
        );
        assert!(encode(&cfg(&[]), &rec(Value::Null, Value::Null, 5)).is_err());
        let c = cfg(&[("write.method", "upsert")]);
        let out = encode(
            &c,
            &rec(
                Value::String("k".into()),
                Value::String("{\"a\":1}".into()),
                5,
            ),
        )
        .unwrap();
        assert_eq!(out, "{\"update\":{\"_index\":\"providers\",\"_id\":\"k\"}}\n{\"doc\":{\"a\":1},\"doc_as_upsert\":true}\n");
        let c = cfg(&[("key.ignore", "true")]);
        let out = encode(
            &c,
            &rec(
                Value::Null,
                Value::Bytes(b" {\"a\":\n1} ".to_vec().into()),
                5,
            ),
        )
        .unwrap();
        assert_eq!(
            out,
            "{\"index\":{\"_index\":\"providers\",\"_id\":\"providers+2+5\"}}\n{\"a\":1}\n"
        );
    }

    #[test]
    fn bad_records_are_named_without_their_content() {
        let c = cfg(&[]);
        let mut buf = b"kept".to_vec();
        let e = Encoder::new(&c)
            .encode(
                0,
                &rec(
                    Value::String("k".into()),
                    Value::String("SSN 123-45-6789".into()),
                    1,
                ),
                &mut buf,
            )
            .unwrap_err()
            .to_string();
        assert!(!e.contains("123-45"), "{e}");
        assert_eq!(buf, b"kept", "a failed record leaves nothing behind");
        let mut m = Map::new();
        m.insert(Value::String("a".into()), Value::Int32(1));
        let e = encode(
            &c,
            &rec(
                Value::Array(vec![Value::String("MRN-77".into())]),
                Value::Map(m.clone()),
                1,
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("array") && !e.contains("MRN-77"), "{e}");
        let c = cfg(&[("external.version.header", "v")]);
        let mut r = rec(Value::String("k".into()), Value::Map(m), 1);
        assert!(encode(&c, &r).unwrap_err().to_string().contains("'v'"));
        r.record.headers.add_string("v", "12");
        assert!(encode(&c, &r).unwrap().contains("\"version\":12,"));
    }
}
