//! The consistent snapshot: schemas and the binlog position read together (under a short global read
//! lock with `snapshot.locking.mode=minimal`, or from MariaDB's `binlog_snapshot_*` status, which is
//! consistent with the transaction's view without any lock), then every captured table's rows read in
//! that one `REPEATABLE READ` transaction and streamed in chunks. Streaming starts at the recorded
//! position, so a row changed during the snapshot appears once as `r` and then as its change.

use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use connect_core::error::ConnectError;
use connect_core::record::{SourceOffset, SourceRecord};

use super::columns::Origin;
use super::config::Flavor;
use super::ddl;
use super::events::SourceInfo;
use super::offsets::BinlogOffset;
use super::reader::{connect_error, Reader};
use crate::cdc::envelope::{now_triple, Op, SnapshotMarker};
use crate::cdc::table::TableId;

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

impl Reader {
    /// Runs a snapshot; `with_data` false reads schemas only (`no_data`, `recovery`). Returns the
    /// position streaming continues from.
    pub(super) async fn snapshot(
        &mut self,
        with_data: bool,
    ) -> Result<Option<BinlogOffset>, ConnectError> {
        self.set_phase("snapshot");
        let mut conn = self.connect().await?;
        self.check_server(&mut conn).await?;
        let cfg = self.cfg.clone();
        let err = |e: mysql_async::Error| connect_error(&cfg, &e);
        let locked = if self.cfg.snapshot_lock {
            conn.query_drop("FLUSH TABLES WITH READ LOCK").await.map_err(|e| {
                match &e {
                    mysql_async::Error::Server(s) if s.code == 1227 => ConnectError::other(format!(
                        "snapshot.locking.mode=minimal needs the RELOAD privilege for database.user '{}'; grant it or set snapshot.locking.mode=none",
                        self.cfg.user
                    )),
                    _ => connect_error(&self.cfg, &e),
                }
            })?;
            true
        } else {
            false
        };
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(&err)?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await
            .map_err(&err)?;
        let mut position = self.snapshot_position(&mut conn, locked).await?;
        position.snapshot = true;
        // Schemas of every table in the captured databases.
        let dbs: Vec<String> = conn.query("SHOW DATABASES").await.map_err(&err)?;
        let mut captured_tables = Vec::new();
        self.tables.clear();
        self.captured.clear();
        let (now_ms, _, _) = now_triple();
        let captured_dbs: Vec<String> = dbs
            .into_iter()
            .filter(|d| cfg.filters.database(d))
            .collect();
        for db in captured_dbs.iter() {
            let tables: Vec<(String, String)> = conn
                .query(format!("SHOW FULL TABLES FROM {}", quote(db)))
                .await
                .map_err(&err)?;
            for (t, kind) in tables {
                if kind != "BASE TABLE" {
                    continue;
                }
                let id = TableId::new(db.clone(), t.clone());
                if self.cfg.history_only_captured && !self.cfg.filters.table(&id) {
                    continue;
                }
                let create: Option<(String, String)> = conn
                    .query_first(format!("SHOW CREATE TABLE {}.{}", quote(db), quote(&t)))
                    .await
                    .map_err(&err)?;
                let Some((_, ddl_text)) = create else {
                    continue;
                };
                let effects = match ddl::apply(&ddl_text, db, &mut self.tables) {
                    Ok(e) => e,
                    Err(e) if !self.cfg.filters.table(&id) => {
                        tracing::warn!(table = %id, error = %e, "table definition not understood; the table is not captured");
                        continue;
                    }
                    Err(e) => {
                        return Err(ConnectError::other(format!(
                            "snapshot: the definition of captured table {id}: {e}"
                        )))
                    }
                };
                let (changes, _) = self.apply_effects(effects);
                let source = SourceInfo {
                    ts_ms: now_ms,
                    snapshot: Some(SnapshotMarker::True),
                    db,
                    table: Some(&t),
                    server_id: 0,
                    file: &position.file,
                    pos: position.pos as i64,
                    ..Default::default()
                };
                if !self
                    .record_ddl(db, &ddl_text, changes, &position, &source, false)
                    .await?
                {
                    return Ok(None);
                }
                if self.cfg.filters.table(&id) {
                    captured_tables.push(id);
                }
            }
        }
        if locked {
            conn.query_drop("UNLOCK TABLES").await.map_err(&err)?;
        }
        tracing::info!(
            tables = captured_tables.len(),
            file = %position.file,
            pos = position.pos,
            "snapshot: schemas read; streaming will start at the snapshot position"
        );
        self.progress.update(|p| {
            p.phase = "snapshot";
            p.tables_total = if with_data { captured_tables.len() } else { 0 };
        });
        let mut held: Option<(SourceRecord, bool)> = None;
        if with_data {
            let n = captured_tables.len();
            for (ti, id) in captured_tables.iter().enumerate() {
                self.progress.update(|p| p.table = Some(id.to_string()));
                if !self
                    .snapshot_table(&mut conn, id, ti == 0, ti + 1 == n, &position, &mut held)
                    .await?
                {
                    return Ok(None);
                }
                self.progress.update(|p| {
                    p.tables_done = ti + 1;
                    p.table = None;
                });
            }
        }
        conn.query_drop("COMMIT").await.map_err(&err)?;
        let _ = conn.disconnect().await;
        tracing::info!(
            tables = captured_tables.len(),
            with_data,
            "snapshot complete"
        );
        // The last record of the snapshot carries the completed position: once it is acknowledged,
        // a restart streams instead of snapshotting again.
        let mut done = position.clone();
        done.snapshot = false;
        if let Some((mut last, _)) = held.take() {
            mark_last(&mut last);
            last.source_offset = SourceOffset::new(done.clone());
            if !self.emit(last).await {
                return Ok(None);
            }
        }
        Ok(Some(done))
    }

    async fn snapshot_position(
        &self,
        conn: &mut Conn,
        locked: bool,
    ) -> Result<BinlogOffset, ConnectError> {
        let err = |e: mysql_async::Error| connect_error(&self.cfg, &e);
        let mut file = None;
        let mut pos = None;
        if self.flavor == Flavor::MariaDb || !locked {
            // MariaDB: the binlog position of this transaction's consistent snapshot.
            let rows: Vec<(String, String)> = conn
                .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
                .await
                .unwrap_or_default();
            for (k, v) in rows {
                match k.as_str() {
                    "Binlog_snapshot_file" if !v.is_empty() => file = Some(v),
                    "Binlog_snapshot_position" => pos = v.parse().ok(),
                    _ => {}
                }
            }
        }
        if file.is_none() || pos.is_none() {
            let row: Option<Row> = conn.query_first("SHOW MASTER STATUS").await.map_err(&err)?;
            let row = row.ok_or_else(|| {
                ConnectError::other(
                    "SHOW MASTER STATUS returned nothing: is the binary log on (log_bin)?",
                )
            })?;
            file = row.get::<String, _>(0);
            pos = row.get::<u64, _>(1);
        }
        let gtids: Option<String> = if self.flavor == Flavor::MariaDb {
            conn.query_first("SELECT @@gtid_binlog_pos")
                .await
                .ok()
                .flatten()
        } else {
            conn.query_first("SELECT @@global.gtid_executed")
                .await
                .ok()
                .flatten()
        };
        Ok(BinlogOffset {
            file: file.unwrap_or_default(),
            pos: pos.unwrap_or(4),
            gtids: gtids.filter(|g| !g.is_empty()),
            ts_sec: now_triple().0 / 1000,
            ..Default::default()
        })
    }

    /// Streams one table's rows (`snapshot.fetch.size` at a time through the bounded queue). Returns
    /// false once the task is gone.
    async fn snapshot_table(
        &mut self,
        conn: &mut Conn,
        id: &TableId,
        first_table: bool,
        last_table: bool,
        position: &BinlogOffset,
        held: &mut Option<(SourceRecord, bool)>,
    ) -> Result<bool, ConnectError> {
        let Some(te) = self.captured.get(id).cloned() else {
            return Ok(true);
        };
        let sql = format!("SELECT * FROM {}.{}", quote(&id.db), quote(&id.table));
        let mut result = conn
            .query_iter(sql)
            .await
            .map_err(|e| connect_error(&self.cfg, &e))?;
        let mut stream = match result.stream::<Row>().await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(true),
            Err(e) => return Err(connect_error(&self.cfg, &e)),
        };
        let mut index: u64 = 0;
        let mut out = Vec::with_capacity(2);
        let fetch = self.cfg.snapshot_fetch_size.max(1) as u64;
        while let Some(row) = stream.next().await {
            let row = row.map_err(|e| connect_error(&self.cfg, &e))?;
            let values = row.unwrap();
            let after = match te.row(&values, Origin::Text, &self.cfg.modes) {
                Ok(s) => s,
                Err(e) => {
                    self.cfg.failure_handling.apply(
                        format!("snapshot of {id}, row {}: {e}", index + 1),
                        "row skipped",
                    )?;
                    continue;
                }
            };
            let first_row = index == 0;
            let (ms, _, _) = now_triple();
            let source = SourceInfo {
                ts_ms: ms,
                snapshot: Some(SnapshotMarker::for_row(
                    first_table,
                    false,
                    first_row,
                    false,
                )),
                db: &id.db,
                table: Some(&id.table),
                server_id: 0,
                file: &position.file,
                pos: position.pos as i64,
                ..Default::default()
            };
            let s = source.to_struct(&self.source_schema, &self.cfg.topic_prefix, self.flavor);
            out.clear();
            te.records(
                Op::Read,
                None,
                Some(after),
                s,
                &self.partition,
                SourceOffset::new(position.clone()),
                false,
                None,
                &mut out,
            );
            for r in out.drain(..) {
                if let Some((prev, _)) = held.replace((r, last_table)) {
                    if !self.emit(prev).await {
                        return Ok(false);
                    }
                }
            }
            index += 1;
            if index % fetch == 0 {
                self.progress.update(|p| p.rows += fetch);
                tracing::debug!(table = %id, rows = index, "snapshot progress");
            }
        }
        drop(stream);
        drop(result);
        if let Some((r, _)) = held.as_mut() {
            // The held record is this table's last row; mark it so unless it ends the snapshot.
            if index > 0 && !last_table {
                set_marker(
                    r,
                    SnapshotMarker::LastInDataCollection,
                    index == 1 && first_table,
                );
            }
        }
        self.progress.update(|p| p.rows += index % fetch);
        tracing::info!(table = %id, rows = index, "snapshot: table read");
        Ok(true)
    }
}

fn set_marker(r: &mut SourceRecord, marker: SnapshotMarker, keep_first: bool) {
    if keep_first {
        return;
    }
    if let connect_core::data::Value::Struct(env) = &mut r.record.value {
        if let Some(connect_core::data::Value::Struct(src)) = env.values_mut().get_mut(2) {
            src.values_mut()[4] = connect_core::data::Value::String(marker.as_str().to_owned());
        }
    }
}

fn mark_last(r: &mut SourceRecord) {
    set_marker(r, SnapshotMarker::Last, false);
}
