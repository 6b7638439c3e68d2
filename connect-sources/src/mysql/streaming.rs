//! Streaming the binlog: row events become change events, DDL updates the table definitions and the
//! schema history, transaction boundaries drive the restart position, and heartbeats keep the offset
//! moving while the captured tables are quiet. A lost connection is re-established with backoff from
//! the last position handed to the task.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use futures::StreamExt;
use mysql_async::binlog::events::{EventData, OptionalMetadataField, RowsEventData, TableMapEvent};
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;

use connect_core::error::ConnectError;
use connect_core::record::{SourceOffset, SourceRecord};

use super::columns::Origin;
use super::config::Flavor;
use super::ddl;
use super::events::SourceInfo;
use super::offsets::{clean_binlog_name, BinlogOffset, RowOffset};
use super::reader::{backoff, Reader};
use crate::cdc::envelope::{now_triple, Op};
use crate::cdc::table::{TableDef, TableId};
use crate::cdc::transaction::TxCounter;

const ROTATE: u8 = 4;
const QUERY: u8 = 2;
const XID: u8 = 16;
const MARIADB_GTID: u8 = 162;
const MYSQL_GTID: u8 = 33;

/// The transaction being read.
#[derive(Debug, Clone)]
struct Tx {
    /// Where it starts (the position to restart from while inside it).
    file: String,
    pos: u64,
    /// Events of the transaction seen so far, its first event included.
    events: u64,
    gtid: Option<String>,
    /// The GTID set before this transaction (what a restart inside it repeats from), computed once.
    gtids_before: Option<String>,
    /// Transaction metadata counters (`provide.transaction.metadata`).
    meta: Option<TxCounter>,
}

impl Tx {
    fn new(
        file: &str,
        pos: u64,
        gtid: Option<String>,
        gtids_before: Option<String>,
        metadata: bool,
    ) -> Tx {
        let meta = metadata.then(|| {
            TxCounter::new(
                gtid.clone()
                    .unwrap_or_else(|| format!("file={file},pos={pos}")),
            )
        });
        Tx {
            file: file.to_owned(),
            pos,
            events: 1,
            gtid,
            gtids_before,
            meta,
        }
    }
}

/// MariaDB GTID state: the last sequence per domain.
#[derive(Debug, Clone, Default)]
struct Gtids(BTreeMap<u32, (u32, u64)>);

impl Gtids {
    fn parse(s: Option<&str>) -> Gtids {
        let mut g = Gtids::default();
        for part in s.unwrap_or("").split(',') {
            let n: Vec<&str> = part.trim().split('-').collect();
            if let [d, s, q] = n.as_slice() {
                if let (Ok(d), Ok(s), Ok(q)) = (d.parse(), s.parse(), q.parse()) {
                    g.0.insert(d, (s, q));
                }
            }
        }
        g
    }
    fn text(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(d, (s, q))| format!("{d}-{s}-{q}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

enum StreamEnd {
    /// The task is gone.
    Closed,
}

impl Reader {
    /// Streams from `start` until the task goes away. Connection failures are retried with backoff
    /// from the last position handed on; other failures end the stream with an error.
    pub(super) async fn stream(&mut self, start: BinlogOffset) -> Result<(), ConnectError> {
        self.set_phase("streaming");
        let mut from = start;
        let mut attempt = 0u32;
        loop {
            match self.stream_once(&mut from).await {
                Ok(StreamEnd::Closed) => return Ok(()),
                Err(e) if e.is_retriable() => {
                    let wait = backoff(attempt);
                    tracing::warn!(error = %e, file = %from.file, pos = from.pos, "binlog stream interrupted; reconnecting in {:?}", wait);
                    attempt = attempt.saturating_add(1);
                    tokio::time::sleep(wait).await;
                    if self.out.is_closed() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the binlog file of a stored position is still on the server.
    pub(super) async fn binlog_available(&self, file: &str) -> Result<bool, ConnectError> {
        let mut conn = self.connect().await?;
        let rows: Vec<mysql_async::Row> = conn
            .query("SHOW BINARY LOGS")
            .await
            .map_err(|e| super::reader::connect_error(&self.cfg, &e))?;
        let _ = conn.disconnect().await;
        Ok(rows
            .iter()
            .any(|r| r.get::<String, _>(0).as_deref() == Some(file)))
    }

    async fn stream_once(&mut self, from: &mut BinlogOffset) -> Result<StreamEnd, ConnectError> {
        let mut conn = self.connect().await?;
        self.check_server(&mut conn).await?;
        tracing::info!(file = %from.file, pos = from.pos, event = from.event, row = from.row, "streaming the binlog");
        let at = format!("{}:{}", from.file, from.pos);
        self.progress.update(|p| {
            p.phase = "streaming";
            p.position = Some(at);
        });
        // MariaDB: a stored file this server does not have (a failover to a replica, whose binlog
        // files are its own) is found again by the stored GTID state, as a replica would.
        let mut by_gtid: Option<String> = None;
        if !from.file.is_empty() && !self.binlog_available(&from.file).await? {
            match from.gtids.as_deref().filter(|g| is_gtid_state(g)) {
                Some(g) if self.flavor == Flavor::MariaDb => {
                    tracing::warn!(file = %from.file, gtids = g, "the binlog file of the stored offset is not on this server; positioning by GTID");
                    by_gtid = Some(g.to_owned());
                }
                _ => {
                    return Err(ConnectError::other(format!(
                        "the binlog file '{}' of the stored offset is no longer on the server (purged); set snapshot.mode=when_needed to take a new snapshot",
                        from.file
                    )))
                }
            }
        }
        if self.flavor == Flavor::MariaDb {
            conn.query_drop("SET @mariadb_slave_capability=4")
                .await
                .map_err(|e| super::reader::connect_error(&self.cfg, &e))?;
        }
        let file = match &by_gtid {
            Some(g) => {
                // Checked to be digits, dashes and commas only: safe inside the quotes.
                conn.query_drop(format!(
                    "SET @slave_connect_state='{g}', @slave_gtid_strict_mode=0, @slave_gtid_ignore_duplicates=0"
                ))
                .await
                .map_err(|e| super::reader::connect_error(&self.cfg, &e))?;
                String::new()
            }
            None => from.file.clone(),
        };
        let request = BinlogStreamRequest::new(self.cfg.server_id)
            .with_filename(file.as_bytes())
            .with_pos(if by_gtid.is_some() {
                4
            } else {
                from.pos.max(4)
            });
        let mut stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(|e| super::reader::connect_error(&self.cfg, &e))?;
        let mut current_file = from.file.clone();
        // Events at the restart position to skip entirely, then rows of the next rows event.
        let mut skip_events = from.event;
        let mut skip_rows = from.row;
        let mut gtids = Gtids::parse(from.gtids.as_deref());
        let mut tx: Option<Tx> = None;
        let mut pending_gtid: Option<String> = None;
        let mut last_emit = Instant::now();
        let heartbeat = self.cfg.heartbeat_interval;
        let mut out: Vec<SourceRecord> = Vec::new();
        let mut restart = from.clone();
        restart.snapshot = false;
        // Table ids whose table map was checked against the history.
        let mut verified: HashSet<u64> = HashSet::new();
        loop {
            // Heartbeats go out on time whether or not other tables are busy, between transactions,
            // with the position reached.
            if let Some(h) = heartbeat {
                if tx.is_none() && last_emit.elapsed() >= h {
                    let hb = self.heartbeat.record(
                        self.partition.clone(),
                        SourceOffset::new(restart.clone()),
                        now_triple().0,
                    );
                    if !self.emit(hb).await {
                        return Ok(StreamEnd::Closed);
                    }
                    last_emit = Instant::now();
                }
            }
            let next = match heartbeat {
                // BinlogStream keeps a partly read packet in itself, so a timed-out `next` loses nothing.
                Some(h) => match tokio::time::timeout(h, stream.next()).await {
                    Ok(n) => n,
                    Err(_) => continue,
                },
                None => stream.next().await,
            };
            let Some(ev) = next else {
                return Err(ConnectError::retriable(
                    "the server closed the binlog stream",
                ));
            };
            let ev = ev.map_err(|e| super::reader::connect_error(&self.cfg, &e))?;
            if self.out.is_closed() {
                return Ok(StreamEnd::Closed);
            }
            let h = ev.header();
            let ty = h.event_type_raw();
            let end = u64::from(h.log_pos());
            let start = end.saturating_sub(u64::from(h.event_size()));
            let ts_ms = i64::from(h.timestamp()) * 1000;
            let server_id = i64::from(h.server_id());
            if let Some(t) = tx.as_mut() {
                t.events += 1;
            }
            // Index of this event within the transaction (0 = its first event).
            let event_index = tx.as_ref().map(|t| t.events - 1).unwrap_or(0);
            let skipping = tx.is_some() && event_index < skip_events;
            match ty {
                ROTATE => {
                    if let Ok(Some(EventData::RotateEvent(r))) = ev.read_data() {
                        current_file = clean_binlog_name(r.name_raw(), &current_file);
                        if h.log_pos() != 0 || h.timestamp() != 0 {
                            // A real rotation: the next file starts at 4.
                            restart.file = current_file.clone();
                            restart.pos = 4;
                        }
                    }
                }
                MARIADB_GTID => {
                    let d = ev.data();
                    if d.len() >= 13 {
                        let seq = u64::from_le_bytes(d[0..8].try_into().unwrap_or([0; 8]));
                        let domain = u32::from_le_bytes(d[8..12].try_into().unwrap_or([0; 4]));
                        let flags = d[12];
                        let g = format!("{domain}-{}-{seq}", h.server_id());
                        let before = gtids.text();
                        gtids.0.insert(domain, (h.server_id(), seq));
                        // FL_STANDALONE (1): a DDL or other statement outside a transaction.
                        if flags & 1 == 0 {
                            tx = Some(Tx::new(
                                &current_file,
                                start,
                                Some(g),
                                before,
                                self.cfg.transaction_metadata,
                            ));
                        } else {
                            pending_gtid = Some(g);
                        }
                    }
                }
                MYSQL_GTID => {
                    if let Ok(Some(EventData::GtidEvent(g))) = ev.read_data() {
                        let sid: String = g.sid().iter().map(|b| format!("{b:02x}")).collect();
                        pending_gtid = Some(format!(
                            "{}-{}-{}-{}-{}:{}",
                            &sid[0..8],
                            &sid[8..12],
                            &sid[12..16],
                            &sid[16..20],
                            &sid[20..32],
                            g.gno()
                        ));
                    }
                }
                QUERY => {
                    let Ok(Some(EventData::QueryEvent(q))) = ev.read_data() else {
                        continue;
                    };
                    let sql = q.query().into_owned();
                    let schema = q.schema().into_owned();
                    let thread = i64::from(q.thread_id());
                    match sql.trim().to_ascii_uppercase().as_str() {
                        "BEGIN" => {
                            if tx.is_none() {
                                tx = Some(Tx::new(
                                    &current_file,
                                    start,
                                    pending_gtid.take(),
                                    gtids.text(),
                                    self.cfg.transaction_metadata,
                                ));
                            }
                        }
                        "COMMIT" | "ROLLBACK" => {
                            restart = committed(&current_file, end, &gtids, ts_ms);
                            *from = restart.clone();
                            skip_events = 0;
                            skip_rows = 0;
                            if !self.end_transaction(tx.take(), ts_ms, &restart).await {
                                return Ok(StreamEnd::Closed);
                            }
                        }
                        _ => {
                            if tx.is_none() {
                                restart = committed(&current_file, end, &gtids, ts_ms);
                                *from = restart.clone();
                                skip_events = 0;
                                skip_rows = 0;
                            }
                            if ddl::is_table_ddl(&sql) {
                                let gtid = pending_gtid.take();
                                match self
                                    .handle_ddl(
                                        &schema,
                                        &sql,
                                        &restart,
                                        &current_file,
                                        start,
                                        ts_ms,
                                        server_id,
                                        gtid.as_deref(),
                                        thread,
                                        &mut out,
                                    )
                                    .await
                                {
                                    Ok(true) => {}
                                    Ok(false) => return Ok(StreamEnd::Closed),
                                    Err(e) => return Err(e),
                                }
                            }
                        }
                    }
                }
                XID => {
                    restart = committed(&current_file, end, &gtids, ts_ms);
                    *from = restart.clone();
                    skip_events = 0;
                    skip_rows = 0;
                    if !self.end_transaction(tx.take(), ts_ms, &restart).await {
                        return Ok(StreamEnd::Closed);
                    }
                }
                _ => {
                    let Ok(Some(EventData::RowsEvent(rows))) = ev.read_data() else {
                        continue;
                    };
                    let Some(tme) = stream.get_tme(rows.table_id()) else {
                        continue;
                    };
                    let id = TableId::new(
                        tme.database_name().into_owned(),
                        tme.table_name().into_owned(),
                    );
                    let Some(te) = self.captured.get(&id).cloned() else {
                        continue;
                    };
                    // A table map is checked once against the history's definition of its table
                    // (a new table id follows every DDL).
                    if verified.len() > 4096 {
                        verified.clear();
                    }
                    if verified.insert(rows.table_id()) {
                        if let Some(def) = self.tables.get(&id) {
                            if let Err(problem) = check_table_map(tme, def) {
                                return Err(ConnectError::other(format!(
                                    "binlog {current_file} position {start}: table {id}: {problem}; the schema history missed a change of this table (a DDL run with sql_log_bin=0, or another history topic): set snapshot.mode=recovery to rebuild the history from the current schemas"
                                )));
                            }
                        }
                    }
                    let op = match rows {
                        RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => {
                            Op::Create
                        }
                        RowsEventData::UpdateRowsEvent(_)
                        | RowsEventData::UpdateRowsEventV1(_)
                        | RowsEventData::PartialUpdateRowsEvent(_) => Op::Update,
                        _ => Op::Delete,
                    };
                    if self.cfg.skipped.contains(&op) {
                        continue;
                    }
                    let collection = tx
                        .as_ref()
                        .filter(|t| t.meta.is_some())
                        .map(|_| format!("{}.{}", id.db, id.table));
                    if skipping {
                        // Acknowledged before a restart: not emitted again, but counted, so the
                        // transaction's orders and END counts stay those of the whole transaction.
                        if let (Some(c), Some(m)) =
                            (&collection, tx.as_mut().and_then(|t| t.meta.as_mut()))
                        {
                            for _ in rows.rows(tme) {
                                m.next(c);
                            }
                        }
                        continue;
                    }
                    let (tx_file, tx_pos, gtid, gtids_before) = match &tx {
                        Some(t) => (
                            t.file.clone(),
                            t.pos,
                            t.gtid.clone(),
                            t.gtids_before.clone(),
                        ),
                        None => (current_file.clone(), start, None, gtids.text()),
                    };
                    let rows_to_skip = if event_index == skip_events {
                        skip_rows
                    } else {
                        0
                    };
                    // This event's position, shared by its rows' offsets, which add their `row`.
                    let event_at = std::sync::Arc::new(BinlogOffset {
                        file: tx_file.clone(),
                        pos: tx_pos,
                        event: event_index,
                        row: 0,
                        // Inside a transaction, the set before it: a restart repeats it.
                        gtids: gtids_before.clone(),
                        ts_sec: ts_ms / 1000,
                        server_id: Some(server_id as u64),
                        snapshot: false,
                    });
                    let mut last_row = None;
                    let decoded_rows = match super::binlog_rows::rows(&rows, tme) {
                        Ok(r) => r,
                        Err(e) => {
                            self.cfg.failure_handling.apply(
                                format!("binlog {tx_file} position {start} (transaction at {tx_pos}), table {id}: {e}"),
                                "event skipped",
                            )?;
                            continue;
                        }
                    };
                    for (ri, row) in decoded_rows.enumerate() {
                        let ri = ri as u64;
                        if ri < rows_to_skip {
                            if let (Some(c), Some(m)) =
                                (&collection, tx.as_mut().and_then(|t| t.meta.as_mut()))
                            {
                                m.next(c);
                            }
                            continue;
                        }
                        let decoded = row.map_err(|e| e.to_string()).and_then(|(b, a)| {
                            let conv = |r: Option<super::binlog_rows::RowImage<'_>>| -> Result<
                                    Option<connect_core::data::Struct>,
                                    String,
                                > {
                                    match r {
                                        None => Ok(None),
                                        Some(r) => te
                                            .row_with(
                                                r.len(),
                                                |i| binlog_value(&r[i]),
                                                Origin::Binlog,
                                                &self.cfg.modes,
                                            )
                                            .map(Some)
                                            .map_err(|e| e.to_string()),
                                    }
                                };
                            Ok((conv(b)?, conv(a)?))
                        });
                        let (before, after) = match decoded {
                            Ok(x) => x,
                            Err(reason) => {
                                self.cfg.failure_handling.apply(
                                    format!(
                                        "binlog {tx_file} position {start} (transaction at {tx_pos}), table {id}, row {}: {reason}",
                                        ri + 1
                                    ),
                                    "row skipped",
                                )?;
                                continue;
                            }
                        };
                        last_row = Some(ri + 1);
                        let source = SourceInfo {
                            ts_ms,
                            snapshot: None,
                            db: &id.db,
                            table: Some(&id.table),
                            server_id,
                            gtid: gtid.as_deref(),
                            file: &current_file,
                            pos: start as i64,
                            row: ri as i32,
                            thread: None,
                        };
                        let s = source.to_struct(
                            &self.source_schema,
                            &self.cfg.topic_prefix,
                            self.flavor,
                        );
                        out.clear();
                        let orders = match (&collection, tx.as_mut().and_then(|t| t.meta.as_mut()))
                        {
                            (Some(c), Some(m)) => {
                                if m.is_empty() {
                                    // BEGIN before the transaction's first captured change; a
                                    // restart at it reads the transaction from its start.
                                    let at = BinlogOffset {
                                        file: tx_file.clone(),
                                        pos: tx_pos,
                                        gtids: gtids_before.clone(),
                                        ts_sec: ts_ms / 1000,
                                        server_id: Some(server_id as u64),
                                        ..Default::default()
                                    };
                                    out.push(self.transactions.begin(
                                        m,
                                        ts_ms,
                                        &self.partition,
                                        SourceOffset::new(at),
                                    ));
                                }
                                Some(m.next(c))
                            }
                            _ => None,
                        };
                        // The transaction id borrowed, not copied per row.
                        let txinfo = orders.and_then(|(total, per_table)| {
                            tx.as_ref()
                                .and_then(|t| t.meta.as_ref())
                                .map(|m| (m.id(), total, per_table))
                        });
                        te.records(
                            op,
                            before,
                            after,
                            s,
                            &self.partition,
                            SourceOffset::new(RowOffset {
                                event: event_at.clone(),
                                row: ri + 1,
                            }),
                            self.cfg.tombstones_on_delete,
                            txinfo,
                            &mut out,
                        );
                        for r in out.drain(..) {
                            if !self.emit(r).await {
                                return Ok(StreamEnd::Closed);
                            }
                        }
                    }
                    // Where a reconnect resumes: after the last row handed on (the connection only
                    // fails between events, so setting it once per event is exact).
                    if let Some(row) = last_row {
                        *from = BinlogOffset {
                            row,
                            ..(*event_at).clone()
                        };
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn handle_ddl(
        &mut self,
        db: &str,
        sql: &str,
        restart: &BinlogOffset,
        file: &str,
        pos: u64,
        ts_ms: i64,
        server_id: i64,
        gtid: Option<&str>,
        thread: i64,
        out: &mut Vec<SourceRecord>,
    ) -> Result<bool, ConnectError> {
        let effects = match ddl::apply(sql, db, &mut self.tables) {
            Ok(e) => e,
            Err(e) if self.cfg.skip_unparseable_ddl => {
                tracing::warn!(file, pos, error = %e, "skipping DDL that could not be parsed");
                return Ok(true);
            }
            Err(e) => {
                return Err(ConnectError::other(format!(
                    "binlog {file} position {pos}: {e} (set schema.history.internal.skip.unparseable.ddl=true to skip it)"
                )))
            }
        };
        let (changes, truncated) = self.apply_effects(effects);
        let first_table = changes.first().map(|c| c.id.clone());
        let source = SourceInfo {
            ts_ms,
            // As Debezium: the database of the table the statement changed, not the session's.
            db: first_table.as_ref().map_or(db, |t| t.db.as_str()),
            table: first_table.as_ref().map(|t| t.table.as_str()),
            server_id,
            gtid,
            file,
            pos: pos as i64,
            thread: Some(thread),
            ..Default::default()
        };
        if !changes.is_empty()
            && !self
                .record_ddl(
                    db,
                    sql,
                    changes,
                    restart,
                    &source,
                    self.cfg.history_only_captured,
                )
                .await?
        {
            return Ok(false);
        }
        if !self.cfg.skipped.contains(&Op::Truncate) {
            for id in truncated {
                let Some(te) = self.captured.get(&id).cloned() else {
                    continue;
                };
                let src = SourceInfo {
                    table: Some(&id.table),
                    db: &id.db,
                    ..source.clone()
                };
                out.clear();
                te.records(
                    Op::Truncate,
                    None,
                    None,
                    src.to_struct(&self.source_schema, &self.cfg.topic_prefix, self.flavor),
                    &self.partition,
                    SourceOffset::new(restart.clone()),
                    false,
                    None,
                    out,
                );
                for r in out.drain(..) {
                    if !self.emit(r).await {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }
}

impl Reader {
    /// After a commit: the transaction's END record when it had captured changes and metadata is
    /// on, at the position after the commit. False when the task is gone.
    async fn end_transaction(&self, tx: Option<Tx>, ts_ms: i64, at: &BinlogOffset) -> bool {
        match tx.and_then(|t| t.meta).filter(|m| !m.is_empty()) {
            Some(m) => {
                let r = self.transactions.end(
                    &m,
                    ts_ms,
                    &self.partition,
                    SourceOffset::new(at.clone()),
                );
                self.emit(r).await
            }
            None => true,
        }
    }
}

/// A MariaDB GTID state as stored in offsets: `domain-server-sequence` entries separated by commas.
/// A binlog row's value as a plain value: borrowed, except a MySQL binary JSON document, which
/// becomes its text.
fn binlog_value<'v>(
    value: &'v mysql_async::binlog::value::BinlogValue<'_>,
) -> Cow<'v, mysql_async::Value> {
    use mysql_async::binlog::value::BinlogValue;
    match value {
        BinlogValue::Value(v) => Cow::Borrowed(v),
        BinlogValue::Jsonb(j) => Cow::Owned(match serde_json::Value::try_from(j.clone()) {
            Ok(js) => mysql_async::Value::Bytes(js.to_string().into_bytes()),
            Err(_) => mysql_async::Value::NULL,
        }),
        _ => Cow::Owned(mysql_async::Value::NULL),
    }
}

fn is_gtid_state(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|g| {
            let parts: Vec<&str> = g.trim().split('-').collect();
            parts.len() == 3
                && parts.iter().all(|p| {
                    !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit())
                })
        })
}

/// Checks a table map against the table's definition from the schema history: the column count
/// always, the column names when the server sends them (`binlog_row_metadata=FULL`). Names only, never
/// values.
fn check_table_map(tme: &TableMapEvent<'_>, def: &TableDef) -> Result<(), String> {
    let count = usize::try_from(tme.columns_count()).unwrap_or(usize::MAX);
    let expected: Vec<&str> = def.columns.iter().map(|c| c.name.as_str()).collect();
    if count != expected.len() {
        return Err(format!(
            "the binlog has {count} columns, the schema history {} ({})",
            expected.len(),
            expected.join(", ")
        ));
    }
    for field in tme.iter_optional_meta() {
        let Ok(OptionalMetadataField::ColumnName(names)) = field else {
            continue;
        };
        let names: Vec<String> = names
            .iter_names()
            .filter_map(Result::ok)
            .map(|n| n.name().into_owned())
            .collect();
        if names.len() == expected.len()
            && names
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
        {
            return Ok(());
        }
        return Err(format!(
            "the binlog's column names (binlog_row_metadata=FULL) are ({}), the schema history's ({})",
            names.join(", "),
            expected.join(", ")
        ));
    }
    Ok(())
}

fn committed(file: &str, next: u64, gtids: &Gtids, ts_ms: i64) -> BinlogOffset {
    BinlogOffset {
        file: file.to_owned(),
        pos: next,
        gtids: gtids.text(),
        ts_sec: ts_ms / 1000,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::is_gtid_state;

    #[test]
    fn only_well_formed_gtid_states_reach_the_server() {
        assert!(is_gtid_state("0-1-100"));
        assert!(is_gtid_state("0-1-100,1-2-7"));
        assert!(!is_gtid_state(""));
        assert!(!is_gtid_state("0-1"));
        assert!(!is_gtid_state("0-1-100'; DROP TABLE x; --"));
        assert!(!is_gtid_state("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"));
    }
}
