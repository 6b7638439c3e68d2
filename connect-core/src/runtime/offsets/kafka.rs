//! Offsets in a Kafka topic, in Kafka Connect's `connect-offsets` format:
//! key `["<connector>", {<source partition>}]`, value `{<source offset>}` (null = removed), both plain
//! JSON. Keys are partitioned with murmur2 as the Java producer does, so a Java Connect cluster and this
//! SDK write the same key to the same partition and last-write-wins holds across both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::kafka::close_in_background;
use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{ConnectorOffsets, OffsetStore, PartitionKey};
use crate::error::ConnectError;
use crate::record::OffsetMap;
use crate::runtime::admin::{TopicAdmin, TopicSpec};
use crate::runtime::kafka::KafkaSettings;

/// The offsets topic and how to create it (`offset.storage.topic`, `offset.storage.partitions`,
/// `offset.storage.replication.factor`).
#[derive(Debug, Clone)]
pub struct OffsetsTopicConfig {
    /// Topic name (Kafka Connect's default: `connect-offsets`).
    pub topic: String,
    /// Partitions when created (default 25).
    pub partitions: i32,
    /// Replication factor when created (default 3; -1 = broker default).
    pub replication_factor: i32,
}

/// Offsets in a compacted Kafka topic shared with Java Kafka Connect.
pub struct KafkaOffsetStore {
    topic: String,
    producer: FutureProducer,
    kafka: KafkaSettings,
}

impl std::fmt::Debug for KafkaOffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaOffsetStore")
            .field("topic", &self.topic)
            .finish()
    }
}

impl KafkaOffsetStore {
    /// Creates the topic if absent (compacted) and a producer for it.
    pub async fn open(
        kafka: &KafkaSettings,
        admin: &TopicAdmin,
        cfg: &OffsetsTopicConfig,
    ) -> Result<Self, ConnectError> {
        admin
            .ensure(&TopicSpec {
                name: cfg.topic.clone(),
                partitions: cfg.partitions,
                replication_factor: cfg.replication_factor,
                configs: vec![("cleanup.policy".into(), "compact".into())],
            })
            .await?;
        let mut pc = kafka.producer_config();
        pc.set("partitioner", "murmur2_random")
            .set("linger.ms", "0");
        Ok(KafkaOffsetStore {
            topic: cfg.topic.clone(),
            producer: pc.create()?,
            kafka: kafka.clone(),
        })
    }

    /// The key Kafka Connect writes for a connector's source partition.
    pub fn key_bytes(connector: &str, partition: &OffsetMap) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!([connector, partition])).unwrap_or_default()
    }

    fn read_all(
        kafka: &KafkaSettings,
        topic: &str,
        connector: &str,
    ) -> Result<ConnectorOffsets, ConnectError> {
        let mut cc = kafka.admin_config();
        cc.set(
            "group.id",
            format!("connect-rs-offsets-reader-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
        let consumer: BaseConsumer = cc.create()?;
        let timeout = Duration::from_secs(30);
        let md = consumer.fetch_metadata(Some(topic), timeout)?;
        let mut tpl = TopicPartitionList::new();
        let mut ends = Vec::new();
        for t in md.topics() {
            for p in t.partitions() {
                let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
                if high > low {
                    tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
                    ends.push((p.id(), high));
                }
            }
        }
        let mut out = ConnectorOffsets::new();
        if ends.is_empty() {
            close_in_background(consumer);
            return Ok(out);
        }
        consumer.assign(&tpl)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        // Done when the consumer's position in every partition reached the end read above. The
        // position, not the last message seen: a topic written by Kafka Connect with exactly-once
        // ends in transaction markers, which are never delivered as messages.
        let mut remaining: Vec<(i32, i64)> = ends;
        loop {
            if let Ok(pos) = consumer.position() {
                remaining.retain(|(p, high)| {
                    !matches!(
                        pos.find_partition(topic, *p).map(|e| e.offset()),
                        Some(Offset::Offset(o)) if o >= *high
                    )
                });
            }
            if remaining.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                return Err(ConnectError::retriable(format!(
                    "timed out reading offsets topic '{topic}'"
                )));
            }
            let Some(msg) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let msg = msg?;
            let Some(key) = msg.key() else { continue };
            let Ok(serde_json::Value::Array(parts)) =
                serde_json::from_slice::<serde_json::Value>(key)
            else {
                tracing::warn!(
                    topic,
                    partition = msg.partition(),
                    offset = msg.offset(),
                    "skipping offsets record with an unreadable key"
                );
                continue;
            };
            let (Some(serde_json::Value::String(name)), Some(serde_json::Value::Object(part))) =
                (parts.first(), parts.get(1))
            else {
                continue;
            };
            if name != connector {
                continue;
            }
            let partition: OffsetMap = part.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let pk = PartitionKey::of(&partition);
            match msg.payload() {
                None => {
                    out.remove(&pk);
                }
                Some(v) => match serde_json::from_slice::<serde_json::Value>(v) {
                    Ok(serde_json::Value::Object(o)) => {
                        out.insert(pk, (partition, o.into_iter().collect()));
                    }
                    Ok(serde_json::Value::Null) => {
                        out.remove(&pk);
                    }
                    _ => tracing::warn!(
                        topic,
                        partition = msg.partition(),
                        offset = msg.offset(),
                        "skipping offsets record with an unreadable value"
                    ),
                },
            }
        }
        close_in_background(consumer);
        Ok(out)
    }
}

#[async_trait]
impl OffsetStore for KafkaOffsetStore {
    async fn load(&self, connector: &str) -> Result<ConnectorOffsets, ConnectError> {
        let kafka = self.kafka.clone();
        let topic = self.topic.clone();
        let connector = connector.to_owned();
        tokio::task::spawn_blocking(move || Self::read_all(&kafka, &topic, &connector))
            .await
            .map_err(|e| ConnectError::other(e.to_string()))?
    }

    async fn store(
        &self,
        connector: &str,
        offsets: &[(Arc<OffsetMap>, Arc<OffsetMap>)],
    ) -> Result<(), ConnectError> {
        let mut pending = Vec::with_capacity(offsets.len());
        for (p, o) in offsets {
            let key = Self::key_bytes(connector, p);
            let value = serde_json::to_vec(&**o).map_err(|e| ConnectError::other(e.to_string()))?;
            let rec = FutureRecord::to(&self.topic).key(&key).payload(&value);
            match self.producer.send_result(rec) {
                Ok(delivery) => pending.push(delivery),
                Err((_, rec)) => {
                    // The local queue is full: wait for this one before queueing more.
                    self.producer
                        .send(rec, Duration::from_secs(30))
                        .await
                        .map_err(|(e, _)| ConnectError::Kafka(e))?;
                }
            }
        }
        for delivery in pending {
            delivery
                .await
                .map_err(|_| ConnectError::other("offsets producer closed"))?
                .map_err(|(e, _)| ConnectError::Kafka(e))?;
        }
        Ok(())
    }
}
