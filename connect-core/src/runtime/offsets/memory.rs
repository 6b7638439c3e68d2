//! Offsets in memory: lost when the process ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{ConnectorOffsets, OffsetStore, PartitionKey};
use crate::error::ConnectError;
use crate::record::OffsetMap;

/// Offsets kept in memory, shared by every connector of a worker.
#[derive(Debug, Default, Clone)]
pub struct MemoryOffsetStore {
    data: Arc<Mutex<HashMap<String, ConnectorOffsets>>>,
}

impl MemoryOffsetStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl OffsetStore for MemoryOffsetStore {
    async fn load(&self, connector: &str) -> Result<ConnectorOffsets, ConnectError> {
        let d = self
            .data
            .lock()
            .map_err(|_| ConnectError::other("offset store lock poisoned"))?;
        Ok(d.get(connector).cloned().unwrap_or_default())
    }
    async fn store(
        &self,
        connector: &str,
        offsets: &[(Arc<OffsetMap>, Arc<OffsetMap>)],
    ) -> Result<(), ConnectError> {
        let mut d = self
            .data
            .lock()
            .map_err(|_| ConnectError::other("offset store lock poisoned"))?;
        let c = d.entry(connector.to_owned()).or_default();
        for (p, o) in offsets {
            c.insert(PartitionKey::of(p), ((**p).clone(), (**o).clone()));
        }
        Ok(())
    }
}
