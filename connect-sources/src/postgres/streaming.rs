//! Streaming from the slot: pgoutput messages become change events, each with an offset that says
//! exactly where a restart resumes.
//!
//! The records of each change are held back until the next message arrives, so the last records of
//! a transaction are known when its Commit comes: only they carry the transaction's end as
//! `lsn_commit`, the position the slot may confirm once they are acknowledged. Every other record
//! carries the end of the previous transaction, and its own LSN as `lsn_proc` with the transaction
//! id, so a restart inside a transaction reads it again from its Begin and skips what was delivered.
//! The slot is told a position only after the task reports it durable (from its `commit`), never on
//! receipt.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_core::error::ConnectError;
use connect_core::record::{Header, SourceOffset, SourceRecord};
use pgwire_replication::{Lsn, ReplicationClient, ReplicationEvent};

use super::columns::Modes;
use super::events::{Cell, ColumnDesc, SourceInfo, TableDesc, TableEvents};
use super::offsets::{lsn_text, PgOffset};
use super::pgoutput::{self, Message, Relation, Tuple};
use super::reader::{replication_error, Reader};
use super::visibility::SnapshotVisibility;
use crate::cdc::envelope::Op;
use crate::cdc::heartbeat::Heartbeat;
use crate::cdc::table::TableId;
use crate::cdc::transaction::{TransactionTopic, TxCounter};

/// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// The transaction being read.
struct Tx {
    xid: u32,
    /// Commit time, µs since the Unix epoch.
    ts_us: i64,
    /// Changes at or before this LSN were delivered before a restart.
    skip_upto: Option<u64>,
    /// `provide.transaction.metadata` counts, and the id.
    counter: Option<TxCounter>,
}

/// The records of the last change, not yet handed on.
struct Held {
    records: Vec<SourceRecord>,
    lsn: u64,
    xid: u32,
    ts_us: i64,
}

struct State {
    /// Relations as the stream described them; None for tables not captured.
    relations: HashMap<u32, Option<Arc<TableEvents>>>,
    /// End of the last transaction whose every record was handed on.
    last_commit: u64,
    /// The last change LSN completely handed on.
    last_proc: u64,
    /// The newest position with nothing in flight before it (a commit end or an idle keepalive).
    position: u64,
    tx: Option<Tx>,
    held: Option<Held>,
    /// The stored offset's transaction and last delivered change, when it was inside one.
    skip: Option<(u32, u64)>,
    /// The transactions a snapshot of a later moment already holds (skipped), until the stream
    /// passes them.
    visibility: Option<Arc<SnapshotVisibility>>,
    last_heartbeat: Instant,
}

fn cells(t: &Tuple) -> impl ExactSizeIterator<Item = Cell<'_>> + Clone {
    t.iter().map(|c| match c {
        pgoutput::Cell::Null => Cell::Null,
        pgoutput::Cell::Unchanged => Cell::Unchanged,
        // The server encoding is UTF8 (checked at start); a value that is not is refused by the
        // conversion of its column.
        pgoutput::Cell::Text(b) => match std::str::from_utf8(b) {
            Ok(s) => Cell::Text(s),
            Err(_) => Cell::Text("\u{fffd}"),
        },
    })
}

impl Reader {
    /// Streams from `start`; `skip` is the stored offset's transaction and last delivered change,
    /// `visibility` the transactions the snapshot before holds.
    pub(super) async fn stream(
        &mut self,
        start: u64,
        skip: Option<(u32, u64)>,
        visibility: Option<Arc<SnapshotVisibility>>,
    ) -> Result<(), ConnectError> {
        let cfg = self.cfg.clone();
        let durable = self.durable.get().max(start);
        let mut client = ReplicationClient::connect(self.replication_config(start, durable))
            .await
            .map_err(|e| replication_error(&cfg, "connecting for replication", &e))?;
        client
            .wait_started()
            .await
            .map_err(|e| replication_error(&cfg, "starting replication", &e))?;
        tracing::info!(slot = %cfg.slot_name, from = %lsn_text(start), "streaming");
        self.set_progress(format!(
            "streaming slot {} from {}",
            cfg.slot_name,
            lsn_text(start)
        ));
        let heartbeat = Heartbeat::new(&cfg.heartbeat_prefix, &cfg.topic_prefix);
        let transactions = TransactionTopic::new(&cfg.topic_prefix, &cfg.transaction_topic);
        let mut st = State {
            relations: HashMap::new(),
            last_commit: start,
            last_proc: start,
            position: start,
            tx: None,
            held: None,
            skip,
            visibility: visibility.filter(|v| !v.passed(start)),
            last_heartbeat: Instant::now(),
        };
        let mut reported = durable;
        let tick = cfg.heartbeat_interval.unwrap_or(Duration::from_secs(3600));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                ev = client.recv() => {
                    let done = match ev {
                        Ok(Some(ev)) => self.on_event(ev, &mut st, &transactions).await,
                        Ok(None) => Err(ConnectError::retriable("the replication stream ended")),
                        Err(e) => Err(replication_error(&cfg, "streaming", &e)),
                    };
                    if let Err(e) = done {
                        // What was read before the failure still goes to the task, as it did
                        // record by record.
                        let _ = self.out.flush().await;
                        return Err(e);
                    }
                }
                _ = self.durable.raised() => {}
                _ = ticker.tick(), if cfg.heartbeat_interval.is_some() => {
                    if let Some(sql) = &cfg.heartbeat_action_query {
                        if let Err(e) = self.catalog.heartbeat_action(&cfg, sql).await {
                            tracing::warn!(error = %e, "heartbeat.action.query failed");
                        }
                    }
                    self.heartbeat(&mut st, &heartbeat).await?;
                }
            }
            let d = self.durable.get();
            if d > reported {
                client.update_applied_lsn(Lsn::from_u64(d));
                reported = d;
            }
        }
    }

    /// Hands on the held records. The last of them completes the change (`lsn_proc`); with
    /// `commit_end`, it also completes its transaction (`lsn_commit`).
    async fn release(&self, st: &mut State, commit_end: Option<u64>) -> Result<(), ConnectError> {
        let Some(h) = st.held.take() else {
            return Ok(());
        };
        let n = h.records.len();
        for (i, mut r) in h.records.into_iter().enumerate() {
            let last = i + 1 == n;
            let o = PgOffset {
                lsn: h.lsn,
                tx_id: Some(h.xid),
                ts_usec: h.ts_us,
                lsn_proc: if last { h.lsn } else { st.last_proc },
                lsn_commit: match commit_end {
                    Some(end) if last => end,
                    _ => st.last_commit,
                },
                snapshot: false,
                last_snapshot_record: false,
                visibility: st.visibility.clone(),
            };
            let commit = o.lsn_commit;
            r.source_offset = SourceOffset::new(o);
            self.out.push(r, commit).await?;
        }
        st.last_proc = h.lsn;
        Ok(())
    }

    async fn heartbeat(&self, st: &mut State, hb: &Heartbeat) -> Result<(), ConnectError> {
        let Some(interval) = self.cfg.heartbeat_interval else {
            return Ok(());
        };
        if st.tx.is_some() || st.held.is_some() || st.last_heartbeat.elapsed() < interval {
            return Ok(());
        }
        st.last_heartbeat = Instant::now();
        let now_us = crate::cdc::envelope::now_triple().1;
        let o = PgOffset {
            lsn: st.position,
            tx_id: None,
            ts_usec: now_us,
            lsn_proc: st.position,
            lsn_commit: st.position,
            snapshot: false,
            last_snapshot_record: false,
            visibility: st.visibility.clone(),
        };
        let r = hb.record(self.partition.clone(), SourceOffset::new(o), now_us / 1000);
        self.out.push(r, st.position).await?;
        self.out.flush().await
    }

    async fn on_event(
        &mut self,
        ev: ReplicationEvent,
        st: &mut State,
        transactions: &TransactionTopic,
    ) -> Result<(), ConnectError> {
        match ev {
            ReplicationEvent::Begin {
                final_lsn,
                xid,
                commit_time_micros,
            } => {
                let skip_upto = if st
                    .visibility
                    .as_ref()
                    .is_some_and(|v| v.holds(xid, final_lsn.as_u64()))
                {
                    // The snapshot read its rows after this transaction committed.
                    Some(u64::MAX)
                } else {
                    match st.skip {
                        Some((x, upto)) if x == xid => Some(upto),
                        _ => None,
                    }
                };
                st.tx = Some(Tx {
                    xid,
                    ts_us: commit_time_micros.saturating_add(PG_EPOCH_US),
                    skip_upto,
                    counter: self
                        .cfg
                        .transaction_metadata
                        .then(|| TxCounter::new(format!("{xid}:{}", final_lsn.as_u64()))),
                });
            }
            ReplicationEvent::Commit { end_lsn, .. } => {
                let end = end_lsn.as_u64();
                if let Some(mut tx) = st.tx.take() {
                    if let Some(counter) = tx.counter.take().filter(|c| !c.is_empty()) {
                        // END is the transaction's last record: it carries the commit.
                        let end_record = transactions.end(
                            &counter,
                            tx.ts_us / 1000,
                            &self.partition,
                            Default::default(),
                        );
                        match &mut st.held {
                            Some(h) => h.records.push(end_record),
                            None => {
                                st.held = Some(Held {
                                    records: vec![end_record],
                                    lsn: st.last_proc,
                                    xid: tx.xid,
                                    ts_us: tx.ts_us,
                                })
                            }
                        }
                    }
                }
                self.release(st, Some(end)).await?;
                // The transaction is complete: its records go to the task now.
                self.out.flush().await?;
                st.last_commit = end;
                st.position = st.position.max(end);
                st.skip = None;
                if st.visibility.as_ref().is_some_and(|v| v.passed(end)) {
                    st.visibility = None;
                }
            }
            ReplicationEvent::KeepAlive { wal_end, .. } => {
                if st.tx.is_none() && st.held.is_none() {
                    st.position = st.position.max(wal_end.as_u64());
                }
            }
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => {
                self.on_change(wal_start.as_u64(), &data, st, transactions)
                    .await?;
            }
            ReplicationEvent::Message { .. } | ReplicationEvent::StoppedAt { .. } => {}
        }
        Ok(())
    }

    async fn on_change(
        &mut self,
        lsn: u64,
        data: &Bytes,
        st: &mut State,
        transactions: &TransactionTopic,
    ) -> Result<(), ConnectError> {
        let message = match pgoutput::decode(data) {
            Ok(m) => m,
            Err(e) => {
                return self.failed(format!("at LSN {}: {e}", lsn_text(lsn)));
            }
        };
        // One relation for a row change, several for a TRUNCATE (no vector made for the one).
        let (one, truncated);
        let (relations, kind): (&[u32], Change) = match message {
            Message::Relation(r) => return self.on_relation(r, st).await,
            Message::Type { oid, .. } => {
                if !self.types.contains_key(&oid) {
                    self.types = self.catalog.types(&self.cfg).await?;
                }
                return Ok(());
            }
            Message::Origin => return Ok(()),
            Message::Insert { relation, new } => {
                one = [relation];
                (&one, Change::Insert(new))
            }
            Message::Update {
                relation,
                old,
                old_is_key,
                new,
            } => {
                one = [relation];
                (&one, Change::Update(old, old_is_key, new))
            }
            Message::Delete { relation, old, .. } => {
                one = [relation];
                (&one, Change::Delete(old))
            }
            Message::Truncate { relations, .. } => {
                truncated = relations;
                (&truncated, Change::Truncate)
            }
        };
        let Some(tx) = &mut st.tx else {
            return self.failed(format!(
                "a change outside a transaction at LSN {}",
                lsn_text(lsn)
            ));
        };
        if tx.skip_upto.is_some_and(|upto| lsn <= upto) {
            return Ok(());
        }
        let (xid, ts_us) = (tx.xid, tx.ts_us);
        let mut out = Vec::new();
        for &rel in relations {
            let Some(r) = st.relations.get(&rel) else {
                return self.failed(format!(
                    "a change of relation {rel} before its Relation message at LSN {}",
                    lsn_text(lsn)
                ));
            };
            let Some(te) = r.clone() else {
                continue;
            };
            let op = kind.op();
            if self.cfg.skipped.contains(&op) {
                continue;
            }
            let source = SourceInfo {
                ts_us,
                snapshot: None,
                db: &self.cfg.dbname,
                table: &te.id,
                tx_id: Some(xid),
                lsn: Some(lsn),
                sequence: Some((st.last_commit, lsn)),
            }
            .to_struct(&self.source_schema, &self.cfg.topic_prefix);
            let block = tx.counter.as_mut().map(|c| {
                if c.is_empty() {
                    out.push(transactions.begin(
                        c,
                        ts_us / 1000,
                        &self.partition,
                        Default::default(),
                    ));
                }
                let (total, per) = c.next(&te.id.to_string());
                (c.id().to_owned(), total, per)
            });
            let block = block.as_ref().map(|(id, t, p)| (id.as_str(), *t, *p));
            if let Err(e) = self.change_records(&te, &kind, source, block, &mut out) {
                let table = te.id.clone();
                return self.failed(format!("at LSN {}, table {table}: {e}", lsn_text(lsn)));
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        self.release(st, None).await?;
        st.held = Some(Held {
            records: out,
            lsn,
            xid,
            ts_us,
        });
        Ok(())
    }

    fn change_records(
        &self,
        te: &TableEvents,
        kind: &Change,
        source: connect_core::data::Struct,
        block: Option<(&str, i64, i64)>,
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), super::events::RowError> {
        let modes: &Modes = &self.cfg.modes;
        let tomb = self.cfg.tombstones_on_delete;
        match kind {
            Change::Insert(new) => {
                let after = te.row(cells(new), modes)?;
                te.records(
                    Op::Create,
                    None,
                    Some(after),
                    source,
                    &self.partition,
                    tomb,
                    block,
                    vec![],
                    out,
                );
            }
            Change::Update(old, old_is_key, new) => {
                let after = te.row(cells(new), modes)?;
                let before = old.as_ref().map(|o| te.row(cells(o), modes)).transpose()?;
                let new_key = te.key_of(&after);
                let old_key = before.as_ref().and_then(|b| te.key_of(b));
                match (old_key, new_key) {
                    // The key changed: Debezium emits a delete of the old key (with its tombstone)
                    // and a create of the new one, each naming the other key in a header.
                    (Some((ks, ok)), Some((_, nk))) if *old_is_key && ok != nk => {
                        let header = |k: &str, v| Header {
                            key: k.to_owned(),
                            schema: Some(ks.clone()),
                            value: v,
                        };
                        te.records(
                            Op::Delete,
                            before,
                            None,
                            source.clone(),
                            &self.partition,
                            tomb,
                            block,
                            vec![header("__debezium.newkey", nk)],
                            out,
                        );
                        te.records(
                            Op::Create,
                            None,
                            Some(after),
                            source,
                            &self.partition,
                            tomb,
                            block,
                            vec![header("__debezium.oldkey", ok)],
                            out,
                        );
                    }
                    _ => {
                        // Without a key change the old image is only sent with REPLICA IDENTITY FULL.
                        let before = before.filter(|_| !*old_is_key);
                        te.records(
                            Op::Update,
                            before,
                            Some(after),
                            source,
                            &self.partition,
                            tomb,
                            block,
                            vec![],
                            out,
                        );
                    }
                }
            }
            Change::Delete(old) => {
                let before = te.row(cells(old), modes)?;
                te.records(
                    Op::Delete,
                    Some(before),
                    None,
                    source,
                    &self.partition,
                    tomb,
                    block,
                    vec![],
                    out,
                );
            }
            Change::Truncate => te.truncate(source, &self.partition, out),
        }
        Ok(())
    }

    async fn on_relation(&mut self, r: Relation, st: &mut State) -> Result<(), ConnectError> {
        let id = TableId::new(r.namespace.clone(), r.name.clone());
        let captured = self.cfg.filters.database(&id.db) && self.cfg.filters.table(&id);
        let events = if captured {
            if r.columns
                .iter()
                .any(|c| c.type_oid >= 10_000 && !self.types.contains_key(&c.type_oid))
            {
                self.types = self.catalog.types(&self.cfg).await?;
            }
            // Nullability and the primary key come from the catalog (the message has neither); the
            // columns and their order from the message, which describes the rows that follow.
            let catalog = self.catalog.table(&self.cfg, r.id).await?;
            let optional = |name: &str| {
                catalog
                    .as_ref()
                    .and_then(|d| d.columns.iter().find(|c| c.name == name))
                    .is_none_or(|c| c.optional)
            };
            let desc = TableDesc {
                id: id.clone(),
                columns: r
                    .columns
                    .iter()
                    .map(|c| ColumnDesc {
                        name: c.name.clone(),
                        type_oid: c.type_oid,
                        modifier: c.type_modifier,
                        optional: optional(&c.name),
                    })
                    .collect(),
                primary_key: catalog
                    .as_ref()
                    .map(|d| {
                        d.primary_key
                            .iter()
                            .filter(|k| r.columns.iter().any(|c| &c.name == *k))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            tracing::debug!(table = %id, columns = desc.columns.len(), "relation described");
            Some(Arc::new(TableEvents::new(
                &self.cfg,
                &self.types,
                &self.source_schema,
                &desc,
            )))
        } else {
            None
        };
        st.relations.insert(r.id, events);
        Ok(())
    }

    /// An event that cannot be turned into records, per `event.processing.failure.handling.mode`.
    fn failed(&self, what: String) -> Result<(), ConnectError> {
        self.cfg
            .failure_handling
            .apply(format!("cannot decode a change {what}"), "change skipped")
    }
}

/// A row change, by kind.
enum Change {
    Insert(Tuple),
    Update(Option<Tuple>, bool, Tuple),
    Delete(Tuple),
    Truncate,
}

impl Change {
    fn op(&self) -> Op {
        match self {
            Change::Insert(_) => Op::Create,
            Change::Update(..) => Op::Update,
            Change::Delete(_) => Op::Delete,
            Change::Truncate => Op::Truncate,
        }
    }
}
