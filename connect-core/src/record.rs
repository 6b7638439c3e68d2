//! Records: [`ConnectRecord`] and its source and sink forms.
//!
//! A record owns its key, value and headers. Transforms take records by value and hand them back changed,
//! so a chain of transforms rewrites one record in place instead of copying it per step.

use std::sync::Arc;

use crate::data::{Schema, Value};

/// One header: a key and a (possibly schema'd) value.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The header key.
    pub key: String,
    /// The value's schema, or None for schemaless.
    pub schema: Option<Schema>,
    /// The value.
    pub value: Value,
}

/// A record's headers, in order. Keys may repeat, as in Kafka.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers(Vec::new())
    }
    /// Appends a header.
    pub fn add(
        &mut self,
        key: impl Into<String>,
        schema: Option<Schema>,
        value: Value,
    ) -> &mut Self {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
        self
    }
    /// Appends a schemaless string header.
    pub fn add_string(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.add(key, Some(Schema::string()), Value::String(value.into()))
    }
    /// The last header with the key (Kafka Connect's `lastWithName`).
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }
    /// Every header with the key.
    pub fn all_with_name<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.0.iter().filter(move |h| h.key == key)
    }
    /// Removes every header with the key.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.0.retain(|h| h.key != key);
        self
    }
    /// Keeps the headers for which `f` is true.
    pub fn retain(&mut self, f: impl FnMut(&Header) -> bool) {
        self.0.retain(f);
    }
    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Iterates in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The part every record has: topic, partition, key, value, timestamp, headers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectRecord {
    /// Destination (source) or origin (sink) topic. Transforms may rewrite it.
    pub topic: String,
    /// Kafka partition; None lets the producer's partitioner choose.
    pub kafka_partition: Option<i32>,
    /// The key's schema; None for schemaless keys.
    pub key_schema: Option<Schema>,
    /// The key; [`Value::Null`] for no key.
    pub key: Value,
    /// The value's schema; None for schemaless values.
    pub value_schema: Option<Schema>,
    /// The value; [`Value::Null`] for a tombstone.
    pub value: Value,
    /// Milliseconds since the epoch; None lets Kafka set it.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Headers,
}

impl ConnectRecord {
    /// A record for a topic with a schemaless key and value.
    pub fn new(topic: impl Into<String>, key: Value, value: Value) -> Self {
        ConnectRecord {
            topic: topic.into(),
            key,
            value,
            ..Default::default()
        }
    }
}

/// A source partition or source offset: a small JSON object, as in Kafka Connect
/// (e.g. `{"filename": "/data/claims.csv"}` and `{"position": 1024}`).
///
/// Keys keep the order the task inserted them in, as a Java task's map keeps its iteration order:
/// the offsets topic key is written byte for byte as Kafka Connect writes it, so compaction and the
/// murmur2 partition match a Java worker's records for the same partition. Equality ignores the
/// order (`{"a":1,"b":2} == {"b":2,"a":1}`), and lookups use a canonical (sorted) form.
pub type OffsetMap = serde_json::Map<String, serde_json::Value>;

pub use crate::source_offset::{OffsetValue, SourceOffset};

/// A record produced by a [`crate::source::SourceTask`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceRecord {
    /// Topic, key, value and the rest.
    pub record: ConnectRecord,
    /// Where in the source system the record came from (a file, a table, a connection).
    /// Shared because many records come from one partition.
    pub source_partition: Arc<OffsetMap>,
    /// The position within the source partition from which reading resumes after this record: a map,
    /// or the task's own position type, turned into a map only when the runtime stores it.
    pub source_offset: SourceOffset,
}

impl SourceRecord {
    /// A source record.
    pub fn new(
        source_partition: Arc<OffsetMap>,
        source_offset: OffsetMap,
        record: ConnectRecord,
    ) -> Self {
        SourceRecord {
            record,
            source_partition,
            source_offset: source_offset.into(),
        }
    }
}

/// How a sink record's timestamp was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// No timestamp.
    #[default]
    NoTimestampType,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker.
    LogAppendTime,
}

/// A topic, partition and offset in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartitionOffset {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition number.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

/// `topic-partition@offset`: how errors name a record without quoting it.
impl std::fmt::Display for TopicPartitionOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}@{}", self.topic, self.partition, self.offset)
    }
}

/// A record delivered to a [`crate::sink::SinkTask`].
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    /// Topic, key, value and the rest, possibly rewritten by transforms.
    pub record: ConnectRecord,
    /// The Kafka offset (of the original record).
    pub kafka_offset: i64,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// Where the record was read from, before any transform renamed its topic or partition. Offsets are
    /// always committed for these coordinates.
    pub original: TopicPartitionOffset,
}

/// What both record kinds share, so that one transform implementation serves sources and sinks.
pub trait Record: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// The common part.
    fn base(&self) -> &ConnectRecord;
    /// The common part, mutably.
    fn base_mut(&mut self) -> &mut ConnectRecord;
    /// The Kafka offset, for sink records.
    fn kafka_offset(&self) -> Option<i64> {
        None
    }
}

impl Record for SourceRecord {
    fn base(&self) -> &ConnectRecord {
        &self.record
    }
    fn base_mut(&mut self) -> &mut ConnectRecord {
        &mut self.record
    }
}

impl Record for SinkRecord {
    fn base(&self) -> &ConnectRecord {
        &self.record
    }
    fn base_mut(&mut self) -> &mut ConnectRecord {
        &mut self.record
    }
    fn kafka_offset(&self) -> Option<i64> {
        Some(self.kafka_offset)
    }
}

impl Record for ConnectRecord {
    fn base(&self) -> &ConnectRecord {
        self
    }
    fn base_mut(&mut self) -> &mut ConnectRecord {
        self
    }
}
