//! Source offset storage: where a source connector's positions are kept between runs.
//!
//! Three stores, picked by the worker config:
//! * [`KafkaOffsetStore`] (`offset.storage.topic`): Kafka Connect's `connect-offsets` format, so offsets
//!   move between this SDK and a Java Connect cluster in both directions;
//! * [`FileOffsetStore`] (`offset.storage.file.filename`): a JSON file replaced atomically;
//! * [`MemoryOffsetStore`]: for tests and throwaway pipelines.

mod file;
mod kafka;
mod memory;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ConnectError;
use crate::record::OffsetMap;

pub use file::FileOffsetStore;
pub use kafka::{KafkaOffsetStore, OffsetsTopicConfig};
pub use memory::MemoryOffsetStore;

/// One connector's offsets: source partition to source offset.
pub type ConnectorOffsets = HashMap<PartitionKey, (OffsetMap, OffsetMap)>;

/// A source partition's canonical JSON text (sorted keys), used as a map key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey(pub String);

impl PartitionKey {
    /// The key of a source partition.
    pub fn of(partition: &OffsetMap) -> Self {
        PartitionKey(canonical_json(partition))
    }
}

/// JSON text of an offset map with keys sorted (nested objects too), so equal maps give equal text.
pub fn canonical_json(map: &OffsetMap) -> String {
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(o) => {
                let mut keys: Vec<_> = o.iter().collect();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(
                    keys.into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let obj: serde_json::Map<String, serde_json::Value> =
        map.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
    serde_json::Value::Object(obj).to_string()
}

/// Where source offsets are kept.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// Every stored offset of a connector.
    async fn load(&self, connector: &str) -> Result<ConnectorOffsets, ConnectError>;
    /// Stores offsets durably; returns once they would survive a crash. Later writes of a partition win.
    async fn store(
        &self,
        connector: &str,
        offsets: &[(Arc<OffsetMap>, Arc<OffsetMap>)],
    ) -> Result<(), ConnectError>;
}

/// A read-only view of a connector's stored offsets, as a source task sees them at start.
#[derive(Debug, Clone, Default)]
pub struct OffsetReader {
    offsets: Arc<ConnectorOffsets>,
}

impl OffsetReader {
    /// A reader over loaded offsets.
    pub fn new(offsets: ConnectorOffsets) -> Self {
        OffsetReader {
            offsets: Arc::new(offsets),
        }
    }
    /// The stored offset of one source partition.
    pub fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        self.offsets
            .get(&PartitionKey::of(partition))
            .map(|(_, o)| o.clone())
    }
    /// Every stored (partition, offset).
    pub fn all(&self) -> impl Iterator<Item = &(OffsetMap, OffsetMap)> {
        self.offsets.values()
    }
}
