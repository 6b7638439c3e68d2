use connect_core::async_trait;
use connect_core::data::Value;
use connect_core::error::ConnectError;
use connect_core::record::SinkRecord;
use connect_core::sink::{PartitionOffsets, SinkTask, SinkTaskContext};
use connect_core::value_to_text;
use tokio::io::AsyncWriteExt;

use super::FileSinkConfig;

/// Appends record values to a file.
#[derive(Default)]
pub struct FileStreamSinkTask {
    cfg: Option<FileSinkConfig>,
    file: Option<tokio::fs::File>,
    buf: Vec<u8>,
}

impl FileStreamSinkTask {
    fn path(&self) -> String {
        self.cfg
            .as_ref()
            .map(|c| c.file.display().to_string())
            .unwrap_or_default()
    }
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, ctx: SinkTaskContext) -> Result<(), ConnectError> {
        let cfg = FileSinkConfig::parse(&ctx.config)?;
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.file)
            .await
            .map_err(|e| ConnectError::io(format!("opening {}", cfg.file.display()), e))?;
        self.file = Some(file);
        self.cfg = Some(cfg);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        for r in records {
            match &r.record.value {
                Value::Null => continue,
                Value::String(s) => self.buf.extend_from_slice(s.as_bytes()),
                other => self.buf.extend_from_slice(value_to_text(other).as_bytes()),
            }
            self.buf.push(b'\n');
        }
        if self.buf.len() > 1 << 20 {
            self.write_out().await?;
        }
        Ok(())
    }

    async fn flush(&mut self, _offsets: &PartitionOffsets) -> Result<(), ConnectError> {
        self.write_out().await?;
        if let Some(f) = self.file.as_mut() {
            f.sync_data()
                .await
                .map_err(|e| ConnectError::retriable(format!("syncing {}: {e}", self.path())))?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.write_out().await?;
        self.file = None;
        Ok(())
    }
}

impl FileStreamSinkTask {
    async fn write_out(&mut self) -> Result<(), ConnectError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let path = self.path();
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| ConnectError::other("file sink not started"))?;
        f.write_all(&self.buf)
            .await
            .map_err(|e| ConnectError::retriable(format!("writing {path}: {e}")))?;
        self.buf.clear();
        Ok(())
    }
}
