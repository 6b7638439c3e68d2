//! Heartbeat records (`__debezium-heartbeat.<topic.prefix>`): sent when the captured tables are quiet,
//! so the connector's source offset keeps moving with the log and the database can recycle what it
//! retains for the connector.

use std::sync::Arc;

use connect_core::data::{Schema, SchemaBuilder, Struct, Value};
use connect_core::record::{ConnectRecord, OffsetMap, SourceOffset, SourceRecord};

/// Builds heartbeat records for one connector.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    topic: String,
    server: String,
    key_schema: Schema,
    value_schema: Schema,
}

impl Heartbeat {
    /// Heartbeats of `topic.prefix` `server` on `<topic.heartbeat.prefix>.<server>`.
    pub fn new(topic_prefix: &str, server: &str) -> Self {
        Heartbeat {
            topic: format!("{topic_prefix}.{server}"),
            server: server.to_owned(),
            key_schema: SchemaBuilder::struct_()
                .name("io.debezium.connector.common.ServerNameKey")
                .version(1)
                .field("serverName", Schema::string())
                .build(),
            value_schema: SchemaBuilder::struct_()
                .name("io.debezium.connector.common.Heartbeat")
                .version(1)
                .field("ts_ms", Schema::int64())
                .build(),
        }
    }

    /// The heartbeat topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// A heartbeat carrying the connector's current position.
    pub fn record(
        &self,
        partition: Arc<OffsetMap>,
        offset: SourceOffset,
        now_ms: i64,
    ) -> SourceRecord {
        let mut key = Struct::new(self.key_schema.clone());
        key.put_index_unchecked(0, Value::String(self.server.clone()));
        let mut value = Struct::new(self.value_schema.clone());
        value.put_index_unchecked(0, Value::Int64(now_ms));
        SourceRecord {
            record: ConnectRecord {
                topic: self.topic.clone(),
                key_schema: Some(self.key_schema.clone()),
                key: Value::Struct(key),
                value_schema: Some(self.value_schema.clone()),
                value: Value::Struct(value),
                timestamp: Some(now_ms),
                ..Default::default()
            },
            source_partition: partition,
            source_offset: offset,
        }
    }
}
