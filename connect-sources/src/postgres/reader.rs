//! The reader behind a task: it decides between snapshot and streaming from the stored offset and the
//! slot, creates the publication and the slot when they are missing, runs the snapshot in the slot's
//! exported snapshot, then streams, handing records to the task through a bounded queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use connect_core::data::Schema;
use connect_core::error::ConnectError;
use connect_core::record::{OffsetMap, SourceRecord};
use connect_core::runtime::TaskProgress;
use pgwire_replication::{Lsn, PgWireError, ReplicationClient, ReplicationConfig, TlsConfig};
use tokio::sync::{mpsc, Notify, Semaphore};

use super::catalog::Catalog;
use super::columns::{Types, SESSION_SETTINGS};
use super::config::PostgresConfig;
use super::events::source_schema;
use super::offsets::{lsn_text, parse_lsn, partition, PgOffset};
use crate::cdc::SnapshotMode;

/// Records in order, each with the LSN the slot may confirm once it (and everything before it) is
/// acknowledged (0: none, as for snapshot records).
pub type Chunk = Vec<(SourceRecord, u64)>;

/// What the reader hands the task: a chunk of records, or the error that ended the reader.
pub type Item = Result<Chunk, ConnectError>;

/// The reader's end of the queue to the task. Records are handed over in chunks (at most
/// `max.batch.size`, or `max.queue.size` if that is smaller): one hand-over and at most one wake-up
/// of the task per chunk rather than per record. The streaming reader flushes at each commit and
/// the snapshot after each fetch, so nothing waits for a chunk to fill. At most `max.queue.size`
/// records are queued: each chunk takes that many permits of `room`, which the task gives back
/// when it takes the chunk.
pub struct Outbox {
    tx: mpsc::Sender<Item>,
    room: Arc<Semaphore>,
    chunk: usize,
    /// Behind a lock because the reader's methods take `&self`; only the reader touches it, so the
    /// lock is never contended.
    pending: Mutex<Chunk>,
}

impl Outbox {
    /// An outbox sending on `tx` chunks of at most `max_batch` records, with `room` (a semaphore of
    /// `max_queue` permits) for `max_queue` records.
    pub fn new(
        tx: mpsc::Sender<Item>,
        room: Arc<Semaphore>,
        max_batch: usize,
        max_queue: usize,
    ) -> Outbox {
        Outbox {
            tx,
            room,
            chunk: max_batch.min(max_queue).max(1),
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Queues a record; hands the chunk over when it is full.
    pub async fn push(&self, record: SourceRecord, flush: u64) -> Result<(), ConnectError> {
        let full = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.push((record, flush));
            (p.len() >= self.chunk).then(|| std::mem::take(&mut *p))
        };
        match full {
            Some(c) => self.send(c).await,
            None => Ok(()),
        }
    }

    /// Hands over what is queued.
    pub async fn flush(&self) -> Result<(), ConnectError> {
        let c = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if c.is_empty() {
            return Ok(());
        }
        self.send(c).await
    }

    async fn send(&self, c: Chunk) -> Result<(), ConnectError> {
        let stopped = || ConnectError::other("the task stopped");
        // A chunk is never larger than `max.queue.size`, the semaphore's size: this always ends.
        let n = u32::try_from(c.len()).map_err(|_| stopped())?;
        self.room
            .acquire_many(n)
            .await
            .map_err(|_| stopped())?
            .forget();
        self.tx.send(Ok(c)).await.map_err(|_| stopped())
    }
}

/// The LSN the task has made durable, shared by the task (which raises it in `commit`) and the reader
/// (which reports it to the server).
#[derive(Debug, Default)]
pub struct Durable {
    lsn: AtomicU64,
    raised: Notify,
}

impl Durable {
    /// Raises the durable LSN (never lowers it) and wakes the reader.
    pub fn raise(&self, lsn: u64) {
        if self.lsn.fetch_max(lsn, Ordering::AcqRel) < lsn {
            self.raised.notify_one();
        }
    }
    /// The durable LSN.
    pub fn get(&self) -> u64 {
        self.lsn.load(Ordering::Acquire)
    }
    /// Waits until it is raised.
    pub async fn raised(&self) {
        self.raised.notified().await
    }
}

/// The reader's state.
pub struct Reader {
    pub(super) cfg: Arc<PostgresConfig>,
    pub(super) catalog: Catalog,
    pub(super) types: Types,
    pub(super) source_schema: Schema,
    pub(super) partition: Arc<OffsetMap>,
    pub(super) out: Outbox,
    pub(super) durable: Arc<Durable>,
    pub(super) progress: TaskProgress,
}

/// Maps a replication connection error to one that names what to check, without the server's text.
pub fn replication_error(cfg: &PostgresConfig, doing: &str, e: &PgWireError) -> ConnectError {
    let sqlstate = |s: &str| {
        s.rsplit_once("(SQLSTATE ")
            .and_then(|(_, c)| c.get(..5))
            .map(str::to_owned)
    };
    match e {
        PgWireError::Auth(_) => ConnectError::other(format!(
            "authentication failed for database.user '{}' at {}:{} on the replication connection: check database.user, database.password and that the user has the REPLICATION attribute",
            cfg.user, cfg.hostname, cfg.port
        )),
        PgWireError::Server(s) => match sqlstate(s).as_deref() {
            Some("55006") => ConnectError::retriable(format!(
                "replication slot '{}' is in use by another session (SQLSTATE 55006): is a second connector using slot.name '{}'?",
                cfg.slot_name, cfg.slot_name
            )),
            Some("42704") => ConnectError::other(format!(
                "the slot or publication is missing while {doing} (SQLSTATE 42704): check slot.name '{}' and publication.name '{}'",
                cfg.slot_name, cfg.publication_name
            )),
            Some("28000") | Some("28P01") | Some("42501") => ConnectError::other(format!(
                "database.user '{}' may not open a replication connection (needs the REPLICATION attribute and a pg_hba.conf entry)",
                cfg.user
            )),
            Some(c) if c.starts_with("57") || c.starts_with("08") || c == "53300" => {
                ConnectError::retriable(format!("database unavailable while {doing} (SQLSTATE {c})"))
            }
            Some(c) => ConnectError::other(format!("replication error while {doing} (SQLSTATE {c})")),
            None => ConnectError::retriable(format!("replication error while {doing}")),
        },
        PgWireError::Tls(m) => tls_error(cfg, doing, m),
        PgWireError::Task(m) if m.to_ascii_lowercase().contains("tls") => tls_error(cfg, doing, m),
        PgWireError::MessageTooLarge { .. } => ConnectError::other(format!(
            "a change larger than the replication message limit arrived while {doing}"
        )),
        PgWireError::Protocol(_) | PgWireError::Internal(_) => {
            ConnectError::other(format!("replication protocol error while {doing}"))
        }
        _ => ConnectError::retriable(format!(
            "replication connection to {}:{} lost while {doing}",
            cfg.hostname, cfg.port
        )),
    }
}

/// A TLS failure on the replication connection: a setting to fix, not retried. The client's
/// message names the certificate problem and holds no secret.
fn tls_error(cfg: &PostgresConfig, doing: &str, message: &str) -> ConnectError {
    ConnectError::other(format!(
        "TLS on the replication connection to {}:{} failed while {doing} (database.sslmode={}, database.sslrootcert, database.sslcert, database.sslkey): {message}",
        cfg.hostname, cfg.port, cfg.tls.mode
    ))
}

impl Reader {
    /// A reader on a connected catalog.
    pub async fn new(
        cfg: Arc<PostgresConfig>,
        out: Outbox,
        durable: Arc<Durable>,
        progress: TaskProgress,
    ) -> Result<Reader, ConnectError> {
        let catalog = Catalog::connect(&cfg).await?;
        catalog.check_server(&cfg).await?;
        let types = catalog.types(&cfg).await?;
        Ok(Reader {
            partition: partition(&cfg.topic_prefix),
            cfg,
            catalog,
            types,
            source_schema: source_schema(),
            out,
            durable,
            progress,
        })
    }

    /// The replication connection's settings, reading from `start` and reporting `ack` as durable
    /// until the task raises it.
    pub(super) fn replication_config(&self, start: u64, ack: u64) -> ReplicationConfig {
        let options: Vec<String> = SESSION_SETTINGS
            .iter()
            .map(|(k, v)| format!("-c {k}={}", v.replace(' ', "")))
            .collect();
        ReplicationConfig::new(
            self.cfg.hostname.clone(),
            self.cfg.user.clone(),
            self.cfg.password.clone().unwrap_or_default(),
            self.cfg.dbname.clone(),
            self.cfg.slot_name.clone(),
            self.cfg.publication_name.clone(),
        )
        .with_port(self.cfg.port)
        .with_tls(replication_tls(&self.cfg.tls))
        .with_start_lsn(Lsn::from_u64(start))
        .with_ack_lsn(Lsn::from_u64(ack))
        .with_status_interval(self.cfg.status_interval)
        .with_buffer_size(self.cfg.max_queue_size.min(65_536))
        .with_options(options.join(" "))
        .with_application_name(format!("connect-rs-{}", self.cfg.topic_prefix))
    }

    /// Creates the slot on a replication session; with `export`, returns the session (which must
    /// stay open and idle until the snapshot is imported) and the exported snapshot's name. Returns
    /// the slot's consistent point.
    pub(super) async fn create_slot(
        &self,
        export: bool,
    ) -> Result<(u64, Option<(ReplicationClient, String)>), ConnectError> {
        let cfg = &self.cfg;
        let mut session = ReplicationClient::connect_gated(self.replication_config(0, 0))
            .await
            .map_err(|e| replication_error(cfg, "opening a replication session", &e))?;
        let sql = format!(
            "CREATE_REPLICATION_SLOT \"{}\" LOGICAL pgoutput {}",
            cfg.slot_name,
            if export {
                "EXPORT_SNAPSHOT"
            } else {
                "NOEXPORT_SNAPSHOT"
            }
        );
        let rows = session
            .simple_query(&sql)
            .await
            .map_err(|e| replication_error(cfg, "creating the replication slot", &e))?;
        let text = |i: usize| {
            rows.first()
                .and_then(|r| r.get(i))
                .and_then(|c| c.as_ref())
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(str::to_owned)
        };
        let lsn = text(1).and_then(|t| parse_lsn(&t)).ok_or_else(|| {
            ConnectError::other("CREATE_REPLICATION_SLOT returned no consistent point")
        })?;
        tracing::info!(slot = %cfg.slot_name, lsn = %lsn_text(lsn), "created the replication slot");
        if !export {
            return Ok((lsn, None));
        }
        let name = text(2)
            .ok_or_else(|| ConnectError::other("CREATE_REPLICATION_SLOT exported no snapshot"))?;
        Ok((lsn, Some((session, name))))
    }

    pub(super) fn set_progress(&self, line: String) {
        self.progress.set(line);
    }
}

/// Decides between snapshot and streaming, then runs them.
pub async fn run(mut reader: Reader, stored: Option<PgOffset>) -> Result<(), ConnectError> {
    let cfg = reader.cfg.clone();
    let mode = cfg.snapshot_mode;
    let tables = reader.catalog.captured_tables(&cfg).await?;
    reader.catalog.ensure_publication(&cfg, &tables).await?;
    let slot = reader.catalog.slot(&cfg).await?;
    if let Some(s) = &slot {
        if s.plugin != "pgoutput" || s.database != cfg.dbname {
            return Err(ConnectError::other(format!(
                "replication slot '{}' exists for plugin '{}' in database '{}': slot.name must name a pgoutput slot of database.dbname, or a slot that does not exist yet",
                cfg.slot_name, s.plugin, s.database
            )));
        }
    }
    let stored = match stored {
        Some(o) if o.snapshot_incomplete() => {
            tracing::info!("the previous snapshot did not complete; taking it again");
            None
        }
        o => o,
    };
    let snapshot = match (&stored, mode) {
        (_, SnapshotMode::Always) => true,
        (None, m) => m.reads_data(),
        (Some(_), SnapshotMode::WhenNeeded) => slot.is_none(),
        (Some(_), _) => false,
    };
    if stored.is_some() && slot.is_none() && !snapshot {
        return Err(ConnectError::other(format!(
            "the connector has stored offsets but replication slot '{}' is gone: changes made since it was dropped cannot be streamed; set snapshot.mode=when_needed to take a new snapshot",
            cfg.slot_name
        )));
    }
    // Where streaming starts, what it skips, and what the slot may already be told is durable.
    let (start, skip, visibility) = if snapshot {
        let (lsn, session) = match &slot {
            None => {
                let (lsn, s) = reader.create_slot(true).await?;
                (lsn, s)
            }
            // The slot exists: a snapshot of now, then the slot from its confirmed position, skipping
            // the transactions the snapshot holds.
            Some(s) => (s.confirmed_flush, None),
        };
        let visibility = reader.snapshot(&tables, session, lsn).await?;
        if mode == SnapshotMode::InitialOnly {
            reader.set_progress(
                "snapshot complete; not streaming (snapshot.mode=initial_only)".into(),
            );
            return Ok(());
        }
        (lsn, None, visibility)
    } else {
        match (&stored, &slot) {
            (Some(o), _) => {
                let skip = (o.lsn_proc > o.lsn_commit)
                    .then_some(o.tx_id)
                    .flatten()
                    .map(|x| (x, o.lsn_proc));
                (o.lsn_commit, skip, o.visibility.clone())
            }
            (None, Some(s)) => (s.confirmed_flush, None, None),
            (None, None) => (reader.create_slot(false).await?.0, None, None),
        }
    };
    reader.durable.raise(start);
    reader.stream(start, skip, visibility).await
}

/// The replication connection's TLS: the same mode and files as the catalog connection
/// (pgwire-replication has no `allow`; it behaves as `prefer`, as on the catalog connection).
fn replication_tls(tls: &connect_core::tls::TlsSettings) -> TlsConfig {
    use connect_core::tls::SslMode;
    use pgwire_replication::config::SslMode as Wire;
    let files = &tls.files;
    let mut out = TlsConfig::disabled();
    out.mode = match tls.mode {
        SslMode::Disable => Wire::Disable,
        SslMode::Allow | SslMode::Prefer => Wire::Prefer,
        // libpq checks the chain under `require` when a root certificate is given.
        SslMode::Require if files.root_cert.is_some() => Wire::VerifyCa,
        SslMode::Require => Wire::Require,
        SslMode::VerifyCa => Wire::VerifyCa,
        SslMode::VerifyFull => Wire::VerifyFull,
    };
    out.ca_pem_path = files.root_cert.as_ref().map(|(p, _)| p.clone());
    out.client_cert_pem_path = files.client_cert.as_ref().map(|(p, _)| p.clone());
    out.client_key_pem_path = files.client_key.as_ref().map(|(p, _)| p.clone());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::record::ConnectRecord;

    fn record(i: u64) -> SourceRecord {
        SourceRecord {
            record: ConnectRecord {
                topic: i.to_string(),
                ..Default::default()
            },
            source_partition: Arc::new(OffsetMap::new()),
            source_offset: Default::default(),
        }
    }

    /// Chunks of `max.batch.size`, never more than `max.queue.size` records queued, every record
    /// once and in order, and a flush hands over a partial chunk.
    #[tokio::test]
    async fn chunks_are_bounded_by_batch_and_queue_sizes_and_keep_order() {
        let (tx, mut rx) = mpsc::channel(5);
        let room = Arc::new(Semaphore::new(5));
        let out = Outbox::new(tx, room.clone(), 3, 5);
        let pusher = tokio::spawn(async move {
            for i in 0..10 {
                out.push(record(i), i).await.unwrap();
            }
            out.flush().await.unwrap();
        });
        let mut seen = Vec::new();
        while seen.len() < 10 {
            // Let the pusher go as far as it can, then count what sits in the queue.
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            let mut queued = Vec::new();
            while let Ok(chunk) = rx.try_recv() {
                queued.push(chunk.unwrap());
            }
            let records: usize = queued.iter().map(Vec::len).sum();
            assert!(records <= 5, "{records} records queued, max.queue.size 5");
            for chunk in queued {
                assert!(
                    !chunk.is_empty() && chunk.len() <= 3,
                    "chunk of {}",
                    chunk.len()
                );
                room.add_permits(chunk.len());
                seen.extend(chunk.into_iter().map(|(r, flush)| {
                    assert_eq!(r.record.topic, flush.to_string());
                    flush
                }));
            }
        }
        pusher.await.unwrap();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(room.available_permits(), 5);
    }

    /// A batch larger than the queue is cut to the queue's size, so a chunk can always get its
    /// permits (it would wait forever otherwise).
    #[tokio::test]
    async fn a_batch_larger_than_the_queue_still_moves() {
        let (tx, mut rx) = mpsc::channel(2);
        let room = Arc::new(Semaphore::new(2));
        let out = Outbox::new(tx, room.clone(), 100, 2);
        for i in 0..2 {
            out.push(record(i), i).await.unwrap();
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
            .await
            .expect("a full chunk is handed over")
            .unwrap()
            .unwrap();
        assert_eq!(chunk.len(), 2);
    }
}
