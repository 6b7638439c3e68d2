//! Offsets in a local JSON file, replaced atomically on every store so a crash leaves either the old or
//! the new file, never a torn one.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{ConnectorOffsets, OffsetStore, PartitionKey};
use crate::error::ConnectError;
use crate::record::OffsetMap;

/// Offsets in a file: `{"connector": [[partition, offset], ...], ...}`.
#[derive(Debug, Clone)]
pub struct FileOffsetStore {
    path: PathBuf,
    data: Arc<Mutex<Option<HashMap<String, ConnectorOffsets>>>>,
}

impl FileOffsetStore {
    /// A store backed by `path` (created on first store).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileOffsetStore {
            path: path.into(),
            data: Arc::new(Mutex::new(None)),
        }
    }

    fn read(path: &Path) -> Result<HashMap<String, ConnectorOffsets>, ConnectError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => {
                return Err(ConnectError::io(
                    format!("reading offsets file {}", path.display()),
                    e,
                ))
            }
        };
        let raw: HashMap<String, Vec<(OffsetMap, OffsetMap)>> = serde_json::from_str(&text)
            .map_err(|e| {
                ConnectError::other(format!("offsets file {} is corrupt: {e}", path.display()))
            })?;
        Ok(raw
            .into_iter()
            .map(|(c, entries)| {
                let m = entries
                    .into_iter()
                    .map(|(p, o)| (PartitionKey::of(&p), (p, o)))
                    .collect();
                (c, m)
            })
            .collect())
    }

    fn write(path: &Path, data: &HashMap<String, ConnectorOffsets>) -> Result<(), ConnectError> {
        let mut out: std::collections::BTreeMap<&str, Vec<(&OffsetMap, &OffsetMap)>> =
            Default::default();
        for (c, m) in data {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.insert(c, entries.into_iter().map(|(_, (p, o))| (p, o)).collect());
        }
        let text = serde_json::to_vec_pretty(&out)
            .map_err(|e| ConnectError::other(format!("serializing offsets: {e}")))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let ctx = |what: &str| format!("{what} offsets file {}", path.display());
        std::fs::create_dir_all(dir)
            .map_err(|e| ConnectError::io(ctx("creating directory of"), e))?;
        let tmp = path.with_extension("tmp");
        {
            let mut f =
                std::fs::File::create(&tmp).map_err(|e| ConnectError::io(ctx("creating"), e))?;
            f.write_all(&text)
                .map_err(|e| ConnectError::io(ctx("writing"), e))?;
            f.sync_all()
                .map_err(|e| ConnectError::io(ctx("syncing"), e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| ConnectError::io(ctx("replacing"), e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for FileOffsetStore {
    async fn load(&self, connector: &str) -> Result<ConnectorOffsets, ConnectError> {
        let mut guard = self.data.lock().await;
        if guard.is_none() {
            let path = self.path.clone();
            let loaded = tokio::task::spawn_blocking(move || Self::read(&path))
                .await
                .map_err(|e| ConnectError::other(e.to_string()))??;
            *guard = Some(loaded);
        }
        Ok(guard
            .as_ref()
            .and_then(|d| d.get(connector).cloned())
            .unwrap_or_default())
    }

    async fn store(
        &self,
        connector: &str,
        offsets: &[(Arc<OffsetMap>, Arc<OffsetMap>)],
    ) -> Result<(), ConnectError> {
        let mut guard = self.data.lock().await;
        if guard.is_none() {
            let path = self.path.clone();
            *guard = Some(
                tokio::task::spawn_blocking(move || Self::read(&path))
                    .await
                    .map_err(|e| ConnectError::other(e.to_string()))??,
            );
        }
        let data = guard.get_or_insert_with(HashMap::new);
        let c = data.entry(connector.to_owned()).or_default();
        for (p, o) in offsets {
            c.insert(PartitionKey::of(p), ((**p).clone(), (**o).clone()));
        }
        let snapshot = data.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || Self::write(&path, &snapshot))
            .await
            .map_err(|e| ConnectError::other(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn survives_reopen_and_last_write_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/offsets.json");
        let p: OffsetMap = [("filename".to_string(), json!("/a.csv"))]
            .into_iter()
            .collect();
        let o1: OffsetMap = [("position".to_string(), json!(10))].into_iter().collect();
        let o2: OffsetMap = [("position".to_string(), json!(20))].into_iter().collect();
        let s = FileOffsetStore::new(&path);
        s.store("c", &[(Arc::new(p.clone()), Arc::new(o1))])
            .await
            .unwrap();
        s.store("c", &[(Arc::new(p.clone()), Arc::new(o2.clone()))])
            .await
            .unwrap();
        let reopened = FileOffsetStore::new(&path);
        let loaded = reopened.load("c").await.unwrap();
        assert_eq!(loaded.get(&PartitionKey::of(&p)).map(|x| &x.1), Some(&o2));
        assert!(reopened.load("other").await.unwrap().is_empty());
        assert!(!path.with_extension("tmp").exists());
    }

    #[tokio::test]
    async fn corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = FileOffsetStore::new(&path).load("c").await.unwrap_err();
        assert!(e.to_string().contains("corrupt"));
    }
}
