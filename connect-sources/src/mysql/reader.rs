//! The reader behind a task: it owns the database connections, the table definitions and the schema
//! history, runs the snapshot and then streams the binlog, and hands records to the task through a
//! bounded queue (`max.queue.size`), so a slow broker slows the reader instead of filling memory.

use std::sync::Arc;
use std::time::Duration;

use connect_core::data::Schema;
use connect_core::error::ConnectError;
use connect_core::record::{OffsetMap, SourceOffset, SourceRecord};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};
use tokio::sync::mpsc;

use super::config::{Flavor, MySqlConfig};
use super::ddl::{self, Effect, Tables};
use super::events::{source_schema, Captured, SchemaChanges, SourceInfo, TableEvents};
use super::offsets::{compare, partition, BinlogOffset};
use crate::cdc::heartbeat::Heartbeat;
use crate::cdc::history::{HistoryRecord, SchemaHistory};
use crate::cdc::table::{ChangeType, TableId};
use crate::cdc::transaction::TransactionTopic;
use connect_core::runtime::TaskProgress;

/// What flows from the reader to the task.
pub type Item = Result<SourceRecord, ConnectError>;

/// Snapshot progress, for status and tracing.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// `snapshot`, `streaming` or `idle`.
    pub phase: &'static str,
    /// Tables whose rows were read.
    pub tables_done: usize,
    /// Tables to read.
    pub tables_total: usize,
    /// Rows read by the snapshot.
    pub rows: u64,
    /// The table the snapshot reads now.
    pub table: Option<String>,
    /// Where streaming started (`file:pos`).
    pub position: Option<String>,
}

impl Progress {
    /// The task status's progress line: tables, counts and positions, never values.
    pub fn describe(&self) -> String {
        match self.phase {
            "snapshot" => match &self.table {
                Some(t) => format!(
                    "snapshot: reading {t} (table {} of {}), {} rows read",
                    self.tables_done + 1,
                    self.tables_total,
                    self.rows
                ),
                None => format!(
                    "snapshot: {} of {} tables read, {} rows",
                    self.tables_done, self.tables_total, self.rows
                ),
            },
            "streaming" => format!(
                "streaming the binlog from {}; snapshot: {} tables, {} rows",
                self.position.as_deref().unwrap_or("?"),
                self.tables_done,
                self.rows
            ),
            "idle" => format!(
                "snapshot complete ({} tables, {} rows); not streaming",
                self.tables_done, self.rows
            ),
            other => other.to_owned(),
        }
    }
}

/// Progress as the reader updates it, mirrored into the task status's progress line.
#[derive(Debug, Clone, Default)]
pub struct ProgressTracker {
    state: Arc<std::sync::Mutex<Progress>>,
    line: TaskProgress,
}

impl ProgressTracker {
    /// Progress shown on `line`.
    pub fn new(line: TaskProgress) -> Self {
        let t = ProgressTracker {
            state: Arc::default(),
            line,
        };
        t.update(|p| p.phase = "starting");
        t
    }

    /// The current progress.
    pub fn get(&self) -> Progress {
        self.state.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Changes the progress and the status line with it.
    pub fn update(&self, f: impl FnOnce(&mut Progress)) {
        if let Ok(mut p) = self.state.lock() {
            f(&mut p);
            self.line.set(p.describe());
        }
    }
}

/// The reader's state.
pub struct Reader {
    pub(super) cfg: Arc<MySqlConfig>,
    pub(super) flavor: Flavor,
    pub(super) opts: Opts,
    pub(super) tables: Tables,
    pub(super) captured: Captured,
    pub(super) source_schema: Schema,
    pub(super) schema_changes: SchemaChanges,
    pub(super) heartbeat: Heartbeat,
    pub(super) transactions: TransactionTopic,
    pub(super) history: Arc<dyn SchemaHistory>,
    pub(super) partition: Arc<OffsetMap>,
    pub(super) out: mpsc::Sender<Item>,
    pub(super) progress: ProgressTracker,
}

/// Maps a connection error to one that names the keys to check and never the password.
pub fn connect_error(cfg: &MySqlConfig, e: &mysql_async::Error) -> ConnectError {
    match e {
        mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1044 => ConnectError::other(format!(
            "access denied for database.user '{}' at {}:{} (check database.user and database.password, and database.ssl.mode if the account requires TLS)",
            cfg.user, cfg.hostname, cfg.port
        )),
        mysql_async::Error::Server(s) if s.code == 1227 => ConnectError::other(format!(
            "database.user '{}' lacks a privilege the connector needs (REPLICATION SLAVE, REPLICATION CLIENT, SELECT; RELOAD for snapshot.locking.mode=minimal): server error {}",
            cfg.user, s.code
        )),
        // ER_MASTER_FATAL_ERROR_READING_BINLOG: the requested position or GTID state is not in the
        // server's binlogs (purged, or from another server); retrying does not bring it back.
        mysql_async::Error::Server(s) if s.code == 1236 => ConnectError::other(
            "the server cannot send the binlog from the stored position or GTID state (server error 1236: purged, or not from this server's history); set snapshot.mode=when_needed to take a new snapshot",
        ),
        mysql_async::Error::Server(s) => {
            ConnectError::retriable(format!("database server error {} ({})", s.code, s.state))
        }
        e @ mysql_async::Error::Io(_) if connect_core::tls::is_mysql_tls_failure(e) => ConnectError::other(format!(
            "TLS with the database {}:{} failed: {} (check database.ssl.mode and database.ssl.ca)",
            cfg.hostname,
            cfg.port,
            io_summary(e)
        )),
        other => ConnectError::retriable(format!(
            "database {}:{} unreachable: {}",
            cfg.hostname,
            cfg.port,
            io_summary(other)
        )),
    }
}

fn io_summary(e: &mysql_async::Error) -> String {
    // Driver errors can quote the statement (with values); keep the kind only.
    match e {
        mysql_async::Error::Io(io) => format!("I/O error: {io}"),
        mysql_async::Error::Driver(_) => "driver error".into(),
        mysql_async::Error::Url(_) => "bad connection settings".into(),
        mysql_async::Error::Other(_) => "connection error".into(),
        mysql_async::Error::Server(s) => format!("server error {}", s.code),
    }
}

/// Connection options from the config.
pub fn opts(cfg: &MySqlConfig) -> Opts {
    let mut b = OptsBuilder::default()
        .ip_or_hostname(cfg.hostname.clone())
        .tcp_port(cfg.port)
        .user(Some(cfg.user.clone()))
        .pass(cfg.password.clone())
        .prefer_socket(false)
        .wait_timeout(Some(28_800))
        .stmt_cache_size(0)
        .init(vec![
            "SET NAMES utf8mb4".to_owned(),
            "SET time_zone = '+00:00'".to_owned(),
        ]);
    // The settings were read when the config was parsed; should a file have gone since, the
    // default options still insist on TLS (and fail the handshake) rather than connect plain.
    if let Some(ssl) = cfg
        .tls_settings()
        .mysql()
        .unwrap_or_else(|_| Some(SslOpts::default()))
    {
        b = b.ssl_opts(Some(ssl));
    }
    Opts::from(b)
}

impl Reader {
    /// A connection, with the config's timeout.
    pub(super) async fn connect(&self) -> Result<Conn, ConnectError> {
        connect_core::tls::ensure_default_provider();
        match tokio::time::timeout(self.cfg.connect_timeout, Conn::new(self.opts.clone())).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(connect_error(&self.cfg, &e)),
            Err(_) => Err(ConnectError::retriable(format!(
                "connecting to {}:{} timed out after connect.timeout.ms",
                self.cfg.hostname, self.cfg.port
            ))),
        }
    }

    /// Checks the server variables CDC depends on, naming the variable that is wrong.
    pub(super) async fn check_server(&self, conn: &mut Conn) -> Result<(), ConnectError> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = conn
            .query_first(
                "SELECT @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image",
            )
            .await
            .map_err(|e| connect_error(&self.cfg, &e))?;
        let (log_bin, format, image) = row.unwrap_or_default();
        if !matches!(log_bin.as_deref(), Some("1") | Some("ON")) {
            return Err(ConnectError::other(
                "the server's binary log is off (log_bin): start it with --log-bin",
            ));
        }
        if !format
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case("ROW"))
        {
            return Err(ConnectError::other(format!(
                "server variable binlog_format is {}, CDC needs ROW",
                format.unwrap_or_default()
            )));
        }
        if !image
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case("FULL"))
        {
            return Err(ConnectError::other(format!(
                "server variable binlog_row_image is {}, CDC needs FULL",
                image.unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Hands one record to the task; false once the task is gone.
    pub(super) async fn emit(&self, r: SourceRecord) -> bool {
        self.out.send(Ok(r)).await.is_ok()
    }

    /// Rebuilds the event builder of a table after its definition changed.
    pub(super) fn refresh(&mut self, id: &TableId) {
        match self.tables.get(id) {
            Some(def) if self.cfg.filters.table(id) => {
                self.captured.insert(
                    id.clone(),
                    Arc::new(TableEvents::new(&self.cfg, &self.source_schema, id, def)),
                );
            }
            _ => {
                self.captured.remove(id);
            }
        }
    }

    /// Takes a DDL statement's effects into the captured tables' event builders; returns the table
    /// changes (for the history and schema change events) and the truncated tables.
    pub(super) fn apply_effects(
        &mut self,
        effects: Vec<Effect>,
    ) -> (Vec<crate::cdc::table::TableChange>, Vec<TableId>) {
        let mut changes = Vec::new();
        let mut truncated = Vec::new();
        for e in effects {
            match e {
                Effect::Changed(c) => {
                    self.refresh(&c.id);
                    changes.push(c);
                }
                Effect::Truncated(id) => truncated.push(id),
            }
        }
        (changes, truncated)
    }

    /// Replays stored history up to `upto` (a restart position): every DDL recorded at or before it.
    /// Records after it are skipped: the binlog replays those statements.
    pub(super) fn replay_history(
        &mut self,
        records: &[HistoryRecord],
        upto: Option<&BinlogOffset>,
    ) -> Result<usize, ConnectError> {
        let mut applied = 0;
        for r in records {
            if let (Some(upto), Some(pos)) = (
                upto,
                BinlogOffset::from_map(r.position.as_object().unwrap_or(&OffsetMap::new())),
            ) {
                if !pos.snapshot && compare(&pos.file, pos.pos, &upto.file, upto.pos).is_gt() {
                    continue;
                }
            }
            if !r.table_changes.is_empty() {
                for c in &r.table_changes {
                    match c.kind {
                        ChangeType::Drop => {
                            self.tables.remove(&c.id);
                        }
                        _ => {
                            self.tables.insert(c.id.clone(), c.table.clone());
                        }
                    }
                    let id = c.id.clone();
                    self.refresh(&id);
                }
            } else if let Some(ddl_text) = &r.ddl {
                let db = r.database_name.clone().unwrap_or_default();
                match ddl::apply(ddl_text, &db, &mut self.tables) {
                    Ok(effects) => {
                        self.apply_effects(effects);
                    }
                    Err(e) if self.cfg.skip_unparseable_ddl => {
                        tracing::warn!(error = %e, "skipping unparseable DDL in the schema history")
                    }
                    Err(e) => {
                        return Err(ConnectError::other(format!(
                            "schema history record in database '{db}': {e}"
                        )))
                    }
                }
            }
            applied += 1;
        }
        Ok(applied)
    }

    /// Records a DDL in the history (durably, before any event that depends on it) and, when
    /// `include.schema.changes` is on, emits its schema change event.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn record_ddl(
        &mut self,
        db: &str,
        ddl_text: &str,
        changes: Vec<crate::cdc::table::TableChange>,
        position: &BinlogOffset,
        source: &SourceInfo<'_>,
        captured_only: bool,
    ) -> Result<bool, ConnectError> {
        let touches_captured = changes.iter().any(|c| self.cfg.filters.table(&c.id));
        if captured_only && !touches_captured && !changes.is_empty() {
            return Ok(true);
        }
        let rec = HistoryRecord {
            source: serde_json::json!({"server": self.cfg.topic_prefix}),
            position: serde_json::Value::Object(position.to_map()),
            ts_ms: crate::cdc::envelope::now_triple().0,
            database_name: Some(db.to_owned()),
            schema_name: None,
            ddl: Some(ddl_text.to_owned()),
            table_changes: changes.clone(),
        };
        self.history.record(&rec).await?;
        if self.cfg.include_schema_changes && touches_captured {
            let captured: Vec<_> = changes
                .into_iter()
                .filter(|c| self.cfg.filters.table(&c.id))
                .collect();
            let s = source.to_struct(&self.source_schema, &self.cfg.topic_prefix, self.flavor);
            // Keyed by the changed table's database (as Debezium groups DDL events), which for
            // `ALTER TABLE patients.patient` run from another (or no) default database differs
            // from the session's; the history keeps the session's for replay.
            let event_db = captured.first().map_or(db, |c| c.id.db.as_str());
            let r = self.schema_changes.record(
                event_db,
                ddl_text,
                &captured,
                s,
                &self.partition,
                SourceOffset::new(position.clone()),
            );
            return Ok(self.emit(r).await);
        }
        Ok(true)
    }

    pub(super) fn set_phase(&self, phase: &'static str) {
        self.progress.update(|p| p.phase = phase);
    }
}

/// Builds a reader.
#[allow(clippy::too_many_arguments)]
pub fn new_reader(
    cfg: Arc<MySqlConfig>,
    flavor: Flavor,
    history: Arc<dyn SchemaHistory>,
    out: mpsc::Sender<Item>,
    progress: ProgressTracker,
) -> Reader {
    let source_schema = source_schema(flavor);
    Reader {
        opts: opts(&cfg),
        flavor,
        tables: Tables::new(),
        captured: Captured::new(),
        schema_changes: SchemaChanges::new(&cfg.topic_prefix, flavor, &source_schema),
        heartbeat: Heartbeat::new(&cfg.heartbeat_prefix, &cfg.topic_prefix),
        transactions: TransactionTopic::new(&cfg.topic_prefix, &cfg.transaction_topic),
        partition: partition(&cfg.topic_prefix),
        source_schema,
        history,
        out,
        progress,
        cfg,
    }
}

/// Backoff between reconnection attempts: 1 s doubling to 30 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(1000u64.saturating_mul(1 << attempt.min(5)).min(30_000))
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    #[test]
    fn the_status_line_follows_the_snapshot_and_the_stream() {
        let line = TaskProgress::default();
        let t = ProgressTracker::new(line.clone());
        assert_eq!(line.get().as_deref(), Some("starting"));
        t.update(|p| {
            p.phase = "snapshot";
            p.tables_total = 3;
            p.table = Some("patients.patient".into());
            p.rows = 1024;
        });
        assert_eq!(
            line.get().as_deref(),
            Some("snapshot: reading patients.patient (table 1 of 3), 1024 rows read")
        );
        t.update(|p| {
            p.tables_done = 3;
            p.table = None;
            p.phase = "streaming";
            p.position = Some("binlog.000002:4".into());
        });
        assert_eq!(
            line.get().as_deref(),
            Some("streaming the binlog from binlog.000002:4; snapshot: 3 tables, 1024 rows")
        );
        assert_eq!(t.get().tables_done, 3);
    }
}
