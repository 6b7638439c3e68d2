//! The source task: starts the reader (snapshot, then binlog) and hands its records to the runtime in
//! batches of `max.batch.size`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use connect_core::error::ConnectError;
use connect_core::record::SourceRecord;
use connect_core::runtime::TaskProgress;
use connect_core::source::{stored_offset, SourceTask, SourceTaskContext, WorkerCluster};

use super::config::{Flavor, HistoryStore, MySqlConfig};
use super::offsets::{partition, BinlogOffset};
use super::reader::{new_reader, Item, Progress, ProgressTracker, Reader};
use crate::cdc::history::{
    FileSchemaHistory, KafkaSchemaHistory, MemorySchemaHistory, SchemaHistory,
};
use crate::cdc::SnapshotMode;

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Running {
    rx: tokio::sync::Mutex<mpsc::Receiver<Item>>,
    /// A reader failure that came after records still to be handed on: returned by the next poll.
    failed: Mutex<Option<ConnectError>>,
    _reader: AbortOnDrop,
    cfg: Arc<MySqlConfig>,
}

/// A MySQL / MariaDB CDC task.
pub struct MySqlSourceTask {
    flavor: Flavor,
    running: Option<Running>,
    stopped: AtomicBool,
    progress: ProgressTracker,
}

impl MySqlSourceTask {
    /// A task for a server family.
    pub fn new(flavor: Flavor) -> Self {
        MySqlSourceTask {
            flavor,
            running: None,
            stopped: AtomicBool::new(false),
            progress: ProgressTracker::new(TaskProgress::default()),
        }
    }

    /// Snapshot and streaming progress.
    pub fn progress(&self) -> Progress {
        self.progress.get()
    }
}

fn history_store(
    cfg: &MySqlConfig,
    cluster: Option<&WorkerCluster>,
) -> Result<Arc<dyn SchemaHistory>, ConnectError> {
    Ok(match &cfg.history {
        HistoryStore::Memory => Arc::new(MemorySchemaHistory::default()),
        HistoryStore::File(f) => Arc::new(FileSchemaHistory::new(f)),
        HistoryStore::Kafka { topic, bootstrap } => {
            let worker = cluster.filter(|c| {
                bootstrap
                    .as_deref()
                    .is_none_or(|b| b.trim() == c.settings.bootstrap_servers())
            });
            match (worker, bootstrap) {
                (Some(c), _) => Arc::new(KafkaSchemaHistory::new(
                    topic.clone(),
                    c.settings.producer_config(),
                    c.settings.admin_config(),
                    Some(c.admin.clone()),
                    c.settings.admin_config(),
                )?),
                (None, Some(b)) => {
                    // Outside a worker: the SDK's client defaults (its reconnect backoff) all the
                    // same.
                    let base = connect_core::runtime::kafka::client_config(b);
                    Arc::new(KafkaSchemaHistory::new(
                        topic.clone(),
                        base.clone(),
                        base.clone(),
                        None,
                        base,
                    )?)
                }
                (None, None) => {
                    return Err(ConnectError::Config(connect_core::error::ConfigError::new(
                        "schema.history.internal.kafka.bootstrap.servers",
                        "required when the task runs outside a worker",
                    )))
                }
            }
        }
    })
}

async fn run(
    mut reader: Reader,
    stored: Option<BinlogOffset>,
    mode: SnapshotMode,
) -> Result<(), ConnectError> {
    let records = reader.history.recover().await?;
    let start = match stored {
        None => None,
        Some(o) if o.snapshot && mode != SnapshotMode::NoData => {
            tracing::info!("the previous snapshot did not finish; starting it again");
            None
        }
        Some(o) => Some(o),
    };
    let stream_from = match (start, mode) {
        (None, SnapshotMode::Never) => {
            let first = reader.first_binlog().await?;
            Some(BinlogOffset {
                file: first,
                pos: 4,
                ..Default::default()
            })
        }
        (None, m) => reader.snapshot(m.reads_data()).await?,
        (Some(_), SnapshotMode::Always) => reader.snapshot(true).await?,
        (Some(o), SnapshotMode::Recovery) => {
            reader.snapshot(false).await?;
            Some(o)
        }
        (Some(o), m) => {
            let applied = reader.replay_history(&records, Some(&o))?;
            if applied == 0 && !records.is_empty() {
                tracing::warn!("no schema history record precedes the stored offset");
            }
            if records.is_empty() {
                return Err(ConnectError::other(
                    "the schema history is empty but the connector has stored offsets (the history topic was deleted or is another one): set snapshot.mode=recovery to rebuild it from the current schemas",
                ));
            }
            if m == SnapshotMode::WhenNeeded && !reader.binlog_available(&o.file).await? {
                tracing::warn!(file = %o.file, "the stored binlog position was purged; taking a new snapshot (snapshot.mode=when_needed)");
                reader.snapshot(true).await?
            } else {
                Some(o)
            }
        }
    };
    let Some(from) = stream_from else {
        return Ok(());
    };
    if mode == SnapshotMode::InitialOnly {
        reader.set_phase("idle");
        tracing::info!("snapshot.mode=initial_only: snapshot complete, not streaming");
        return Ok(());
    }
    reader.stream(from).await
}

impl Reader {
    async fn first_binlog(&self) -> Result<String, ConnectError> {
        use mysql_async::prelude::Queryable;
        let mut conn = self.connect().await?;
        let rows: Vec<mysql_async::Row> = conn
            .query("SHOW BINARY LOGS")
            .await
            .map_err(|e| super::reader::connect_error(&self.cfg, &e))?;
        rows.first()
            .and_then(|r| r.get::<String, _>(0))
            .ok_or_else(|| ConnectError::other("the server has no binary logs (log_bin is off)"))
    }
}

#[async_trait]
impl SourceTask for MySqlSourceTask {
    async fn start(&mut self, ctx: SourceTaskContext) -> Result<(), ConnectError> {
        self.progress = ProgressTracker::new(ctx.progress.clone());
        let cfg = Arc::new(MySqlConfig::parse(&ctx.config)?);
        for (old, new) in &cfg.legacy_keys {
            tracing::warn!(old, new, "legacy Debezium 1.x key in use; rename it");
        }
        if !cfg.unknown_keys.is_empty() {
            tracing::warn!(keys = ?cfg.unknown_keys, "configuration keys this connector does not know (ignored)");
        }
        let history = history_store(&cfg, ctx.cluster.as_ref())?;
        history.start().await?;
        let stored = stored_offset(&ctx, &partition(&cfg.topic_prefix))
            .as_ref()
            .and_then(BinlogOffset::from_map);
        match &stored {
            Some(o) => tracing::info!(
                file = %o.file,
                pos = o.pos,
                event = o.event,
                row = o.row,
                snapshot = o.snapshot,
                "resuming from the stored offset"
            ),
            None => tracing::info!("no stored offset"),
        }
        let (tx, rx) = mpsc::channel(cfg.max_queue_size);
        let reader = new_reader(
            cfg.clone(),
            self.flavor,
            history,
            tx.clone(),
            self.progress.clone(),
        );
        let mode = cfg.snapshot_mode;
        let handle = tokio::spawn(async move {
            if let Err(e) = run(reader, stored, mode).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        self.running = Some(Running {
            rx: tokio::sync::Mutex::new(rx),
            failed: Mutex::new(None),
            _reader: AbortOnDrop(handle),
            cfg,
        });
        Ok(())
    }

    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        let Some(r) = &self.running else {
            return Ok(vec![]);
        };
        if self.stopped.load(Ordering::Acquire) {
            return Ok(vec![]);
        }
        if let Some(e) = r.failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        let mut rx = r.rx.lock().await;
        let mut out = Vec::new();
        let first = match tokio::time::timeout(r.cfg.poll_interval, rx.recv()).await {
            Ok(Some(item)) => item,
            Ok(None) => {
                // The reader finished (initial_only): nothing more will come.
                drop(rx);
                tokio::time::sleep(r.cfg.poll_interval).await;
                return Ok(vec![]);
            }
            Err(_) => return Ok(vec![]),
        };
        out.push(first?);
        while out.len() < r.cfg.max_batch_size {
            match rx.try_recv() {
                Ok(Ok(rec)) => out.push(rec),
                Ok(Err(e)) => {
                    // Hand on what came before the failure; the error comes with the next poll.
                    if let Ok(mut f) = r.failed.lock() {
                        *f = Some(e);
                    }
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(out)
    }

    async fn stop(&self) -> Result<(), ConnectError> {
        self.stopped.store(true, Ordering::Release);
        if let Some(r) = &self.running {
            r._reader.0.abort();
        }
        Ok(())
    }
}
