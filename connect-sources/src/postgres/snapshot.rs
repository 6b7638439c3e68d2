//! The initial snapshot: every captured table read in one REPEATABLE READ transaction. When the slot
//! was just created, the transaction imports the snapshot the slot exported, so the rows read are
//! exactly the database as of the slot's consistent point and streaming from that point has no gap
//! and no duplicate. When the slot already existed, the rows are the database as of now, and the
//! snapshot's [`SnapshotVisibility`] tells the stream which of the transactions it replays from the
//! slot's position the rows already hold.
//!
//! Rows come through a cursor, `snapshot.fetch.size` at a time, in text form (the same form pgoutput
//! sends), so one conversion path serves both.

use std::sync::Arc;

use connect_core::data::Struct;
use connect_core::error::ConnectError;
use connect_core::record::SourceOffset;
use pgwire_replication::ReplicationClient;
use tokio_postgres::SimpleQueryMessage;

use super::catalog::{quoted, sql_error};
use super::events::{Cell, SourceInfo, TableEvents};
use super::offsets::{lsn_text, PgOffset};
use super::reader::Reader;
use super::visibility::SnapshotVisibility;
use crate::cdc::envelope::{Op, SnapshotMarker};
use crate::cdc::table::TableId;

/// A row read but not yet handed on: whether it is the last of its table (or of the snapshot) is
/// known only when the next one is read.
struct Pending {
    table: usize,
    row: Struct,
    first_of_snapshot: bool,
    first_of_table: bool,
}

/// What every record of one snapshot run shares.
struct Run {
    /// The snapshot's transaction id (its `xmax`, as Debezium reports).
    xid: u32,
    ts_us: i64,
    /// Where streaming continues.
    lsn: u64,
    /// The transactions the rows hold, when not read at the slot's position.
    visibility: Option<Arc<SnapshotVisibility>>,
}

fn now_us() -> i64 {
    crate::cdc::envelope::now_triple().1
}

impl Reader {
    /// Reads every table of `tables`, in the exported snapshot `session` holds when there is one
    /// (otherwise in a snapshot of now, whose visible transactions it returns); `lsn` is the
    /// position streaming continues from.
    pub(super) async fn snapshot(
        &mut self,
        tables: &[(u32, TableId)],
        session: Option<(ReplicationClient, String)>,
        lsn: u64,
    ) -> Result<Option<Arc<SnapshotVisibility>>, ConnectError> {
        let cfg = self.cfg.clone();
        let client = self.catalog.client();
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| sql_error(&cfg, "starting the snapshot transaction", &e))?;
        if let Some((_, name)) = &session {
            client
                .batch_execute(&format!(
                    "SET TRANSACTION SNAPSHOT '{}'",
                    name.replace('\'', "''")
                ))
                .await
                .map_err(|e| sql_error(&cfg, "importing the slot's exported snapshot", &e))?;
        }
        let exported = session.is_some();
        // Imported: the exporting session may end.
        drop(session);
        // The first statement takes the transaction's snapshot; the insert position is read after it.
        let row = client
            .query_one(
                "SELECT txid_current_snapshot()::text, (pg_current_wal_insert_lsn() - '0/0')::text",
                &[],
            )
            .await
            .map_err(|e| sql_error(&cfg, "reading the snapshot's transactions", &e))?;
        let (txids, insert_lsn): (String, String) = (row.get(0), row.get(1));
        let xid = txids
            .split(':')
            .nth(1)
            .and_then(|x| x.parse::<u64>().ok())
            .map_or(0, |x| x as u32);
        let visibility = if exported {
            None
        } else {
            let v = insert_lsn
                .parse::<u64>()
                .ok()
                .and_then(|until| SnapshotVisibility::parse(&txids, until))
                .ok_or_else(|| {
                    ConnectError::other("the server returned a snapshot description not understood")
                })?;
            Some(Arc::new(v))
        };
        let run = Run {
            xid,
            ts_us: now_us(),
            lsn,
            visibility,
        };
        tracing::info!(tables = tables.len(), lsn = %lsn_text(lsn), "snapshot started");
        let mut events = Vec::with_capacity(tables.len());
        for (oid, id) in tables {
            match self.catalog.table(&cfg, *oid).await? {
                Some(desc) => events.push((
                    desc.columns
                        .iter()
                        .map(|c| format!("\"{}\"", c.name.replace('"', "\"\"")))
                        .collect::<Vec<_>>(),
                    Arc::new(TableEvents::new(
                        &cfg,
                        &self.types,
                        &self.source_schema,
                        &desc,
                    )),
                )),
                None => tracing::warn!(table = %id, "table dropped before the snapshot read it"),
            }
        }
        let mut pending: Option<Pending> = None;
        let mut rows = 0u64;
        let n_tables = events.len();
        for (t, (columns, te)) in events.iter().enumerate() {
            self.set_progress(format!(
                "snapshot: reading {} (table {} of {n_tables}), {rows} rows read",
                te.id,
                t + 1
            ));
            let select = format!("SELECT {} FROM {}", columns.join(", "), quoted(&te.id));
            self.catalog
                .client()
                .batch_execute(&format!(
                    "DECLARE connect_snapshot NO SCROLL CURSOR FOR {select}"
                ))
                .await
                .map_err(|e| sql_error(&cfg, "opening the snapshot cursor", &e))?;
            let fetch = format!(
                "FETCH FORWARD {} FROM connect_snapshot",
                cfg.snapshot_fetch_size
            );
            let mut first_of_table = true;
            loop {
                let messages = self
                    .catalog
                    .client()
                    .simple_query(&fetch)
                    .await
                    .map_err(|e| sql_error(&cfg, "reading a table in the snapshot", &e))?;
                let mut fetched = 0usize;
                for m in &messages {
                    let SimpleQueryMessage::Row(r) = m else {
                        continue;
                    };
                    fetched += 1;
                    let cells = (0..r.len()).map(|i| match r.get(i) {
                        Some(t) => Cell::Text(t),
                        None => Cell::Null,
                    });
                    let row = te.row(cells, &cfg.modes).map_err(|e| {
                        ConnectError::other(format!("snapshot of table {}: {e}", te.id))
                    })?;
                    if let Some(p) = pending.take() {
                        let last_of_table = p.table != t;
                        self.emit_snapshot_row(&events, p, last_of_table, false, &run)
                            .await?;
                    }
                    pending = Some(Pending {
                        table: t,
                        row,
                        first_of_snapshot: rows == 0,
                        first_of_table,
                    });
                    first_of_table = false;
                    rows += 1;
                }
                // What this fetch read goes to the task while the next is read.
                self.out.flush().await?;
                if fetched < cfg.snapshot_fetch_size {
                    break;
                }
            }
            self.catalog
                .client()
                .batch_execute("CLOSE connect_snapshot")
                .await
                .map_err(|e| sql_error(&cfg, "closing the snapshot cursor", &e))?;
        }
        if let Some(p) = pending.take() {
            self.emit_snapshot_row(&events, p, true, true, &run).await?;
        }

        self.catalog
            .client()
            .batch_execute("COMMIT")
            .await
            .map_err(|e| sql_error(&cfg, "ending the snapshot transaction", &e))?;
        tracing::info!(rows, tables = n_tables, "snapshot complete");
        self.set_progress(format!("snapshot complete: {n_tables} tables, {rows} rows"));
        Ok(run.visibility)
    }

    async fn emit_snapshot_row(
        &self,
        events: &[(Vec<String>, Arc<TableEvents>)],
        p: Pending,
        last_of_table: bool,
        last: bool,
        run: &Run,
    ) -> Result<(), ConnectError> {
        let (xid, ts_us, lsn) = (run.xid, run.ts_us, run.lsn);
        let te = &events[p.table].1;
        let marker =
            SnapshotMarker::for_row(p.first_of_snapshot, last, p.first_of_table, last_of_table);
        let source = SourceInfo {
            ts_us,
            snapshot: Some(marker),
            db: &self.cfg.dbname,
            table: &te.id,
            tx_id: Some(xid),
            lsn: Some(lsn),
            sequence: None,
        }
        .to_struct(&self.source_schema, &self.cfg.topic_prefix);
        let mut out = Vec::with_capacity(1);
        te.records(
            Op::Read,
            None,
            Some(p.row),
            source,
            &self.partition,
            false,
            None,
            vec![],
            &mut out,
        );
        let offset = SourceOffset::new(PgOffset {
            lsn,
            tx_id: Some(xid),
            ts_usec: ts_us,
            lsn_proc: lsn,
            lsn_commit: lsn,
            snapshot: true,
            last_snapshot_record: last,
            // Only the last record's offset is resumed from without snapshotting again.
            visibility: run.visibility.clone().filter(|_| last),
        });
        for mut r in out {
            r.source_offset = offset.clone();
            self.out.push(r, 0).await?;
        }
        if last {
            self.out.flush().await?;
        }
        Ok(())
    }
}
