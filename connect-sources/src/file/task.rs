use std::io::SeekFrom;
use std::sync::Arc;
use std::time::Duration;

use connect_core::async_trait;
use connect_core::data::{Schema, Value};
use connect_core::error::ConnectError;
use connect_core::error::DataError;
use connect_core::record::{ConnectRecord, OffsetMap, SourceRecord};
use connect_core::runtime::{ErrantRecordReporter, RawRecord};
use connect_core::source::{SourceTask, SourceTaskContext};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{Mutex, Notify};

use super::FileSourceConfig;

/// Reads lines of one file from the stored position on.
#[derive(Default)]
pub struct FileStreamSourceTask {
    cfg: Option<FileSourceConfig>,
    partition: Arc<OffsetMap>,
    state: Mutex<ReadState>,
    stop: Notify,
    stopped: std::sync::atomic::AtomicBool,
    reporter: Option<Arc<ErrantRecordReporter>>,
}

#[derive(Default)]
struct ReadState {
    file: Option<tokio::fs::File>,
    /// Byte position of the start of `buf` in the file.
    position: u64,
    /// Bytes read but not yet returned (a partial last line).
    buf: Vec<u8>,
}

impl FileStreamSourceTask {
    fn value_schema() -> Schema {
        Schema::string()
    }
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(&mut self, ctx: SourceTaskContext) -> Result<(), ConnectError> {
        let cfg = FileSourceConfig::parse(&ctx.config)?;
        let partition: OffsetMap = [(
            "filename".to_string(),
            serde_json::Value::String(cfg.file.display().to_string()),
        )]
        .into_iter()
        .collect();
        let position = match ctx.offsets.offset(&partition) {
            None => 0,
            Some(o) => match o.get("position") {
                Some(p) => p.as_u64().ok_or_else(|| {
                    ConnectError::other(format!(
                        "stored offset for '{}' has a non-numeric position",
                        cfg.file.display()
                    ))
                })?,
                None => 0,
            },
        };
        tracing::info!(file = %cfg.file.display(), position, "file source starting");
        self.partition = Arc::new(partition);
        self.reporter = ctx.errant_record_reporter.clone();
        self.state.get_mut().position = position;
        self.cfg = Some(cfg);
        Ok(())
    }

    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| ConnectError::other("poll before start"))?;
        if self.stopped.load(std::sync::atomic::Ordering::Acquire) {
            return Err(ConnectError::Stopped);
        }
        let mut st = self.state.lock().await;
        if st.file.is_none() {
            match tokio::fs::File::open(&cfg.file).await {
                Ok(mut f) => {
                    let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
                    if st.position > len {
                        return Err(ConnectError::other(format!(
                            "stored position {} is past the end of '{}' ({len} bytes); was it truncated?",
                            st.position,
                            cfg.file.display()
                        )));
                    }
                    f.seek(SeekFrom::Start(st.position)).await.map_err(|e| {
                        ConnectError::io(format!("seeking in {}", cfg.file.display()), e)
                    })?;
                    st.file = Some(f);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    drop(st);
                    self.idle(cfg).await;
                    return Ok(Vec::new());
                }
                Err(e) => {
                    return Err(ConnectError::io(
                        format!("opening {}", cfg.file.display()),
                        e,
                    ))
                }
            }
        }
        let mut records = Vec::new();
        // Lines that are not UTF-8: (byte position, raw bytes), for the dead letter queue.
        let mut bad: Vec<(u64, Vec<u8>)> = Vec::new();
        let tolerate = self.reporter.as_ref().is_some_and(|r| r.tolerates());
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            // Emit complete lines already buffered.
            let ReadState { buf, position, .. } = &mut *st;
            let mut start = 0;
            while records.len() < cfg.batch_size {
                let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') else {
                    break;
                };
                let end = start + nl;
                let line_end = if end > start && buf[end - 1] == b'\r' {
                    end - 1
                } else {
                    end
                };
                let line_start = *position + start as u64;
                let next_pos = *position + (end + 1) as u64;
                let line = match std::str::from_utf8(&buf[start..line_end]) {
                    Ok(l) => l.to_owned(),
                    Err(_) if tolerate => {
                        bad.push((line_start, buf[start..line_end].to_vec()));
                        start = end + 1;
                        continue;
                    }
                    Err(_) => {
                        return Err(DataError::new(format!(
                            "line at byte {line_start} of '{}' is not valid UTF-8",
                            cfg.file.display()
                        ))
                        .into())
                    }
                };
                let offset: OffsetMap =
                    [("position".to_string(), serde_json::Value::from(next_pos))]
                        .into_iter()
                        .collect();
                records.push(SourceRecord::new(
                    self.partition.clone(),
                    offset,
                    ConnectRecord {
                        topic: cfg.topic.clone(),
                        value_schema: Some(Self::value_schema()),
                        value: Value::String(line),
                        ..Default::default()
                    },
                ));
                start = end + 1;
            }
            if start > 0 {
                buf.drain(..start);
                *position += start as u64;
            }
            if records.len() >= cfg.batch_size {
                break;
            }
            let Some(file) = st.file.as_mut() else { break };
            let n = file
                .read(&mut chunk)
                .await
                .map_err(|e| ConnectError::io(format!("reading {}", cfg.file.display()), e))?;
            if n == 0 {
                break;
            }
            st.buf.extend_from_slice(&chunk[..n]);
        }
        drop(st);
        if let Some(rep) = &self.reporter {
            for (pos, bytes) in bad {
                let err = ConnectError::Data(DataError::new(format!(
                    "line at byte {pos} of '{}' is not valid UTF-8",
                    cfg.file.display()
                )));
                let raw = RawRecord {
                    topic: Arc::from(cfg.topic.as_str()),
                    partition: -1,
                    offset: -1,
                    value: Some(bytes.into()),
                    ..Default::default()
                };
                rep.report_raw(&raw, &err).await?;
            }
        }
        if records.is_empty() {
            self.idle(cfg).await;
        }
        Ok(records)
    }

    async fn stop(&self) -> Result<(), ConnectError> {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Release);
        self.stop.notify_waiters();
        Ok(())
    }
}

impl FileStreamSourceTask {
    async fn idle(&self, cfg: &FileSourceConfig) {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(cfg.poll_interval_ms)) => {}
            _ = self.stop.notified() => {}
        }
    }
}
