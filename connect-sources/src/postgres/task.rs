//! The source task: starts the reader, hands its records to the runtime in batches of
//! `max.batch.size`, and tells the reader which position is durable.
//!
//! Durability follows the runtime's settlement: each record handed out is queued with the position
//! the slot may confirm once it is acknowledged; `record_settled` marks it, the settled prefix of the
//! queue is what Kafka holds, and `commit` (called once the runtime stored the offsets of that
//! prefix) raises the durable position the reader reports to the server.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::{mpsc, Semaphore};

use connect_core::error::ConnectError;
use connect_core::record::{SourceOffset, SourceRecord};
use connect_core::source::{
    stored_offset, RecordMetadata, RecordOutcome, RecordPosition, SourceTask, SourceTaskContext,
};

use super::catalog::Catalog;
use super::config::PostgresConfig;
use super::offsets::{partition, PgOffset};
use super::reader::{run, Chunk, Durable, Item, Outbox, Reader};

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Records handed out and not yet settled, in the order they were handed out. The runtime settles them
/// in the order the broker answers, which differs between Kafka partitions, so a record is found by
/// its offset handle rather than by a scan.
#[derive(Default)]
struct Unsettled {
    queue: VecDeque<(SourceOffset, u64, bool)>,
    /// The number of `queue[0]`; records are numbered in the order they were handed out.
    base: u64,
    /// By offset handle ([`SourceOffset::handle_id`]), the number of the oldest unsettled record with
    /// that handle (records of one snapshot row share one).
    numbers: HashMap<usize, u64>,
    /// The greatest position of the settled prefix.
    confirmable: u64,
}

impl Unsettled {
    fn hand_out(&mut self, offset: SourceOffset, flush: u64) {
        let n = self.base + self.queue.len() as u64;
        self.numbers.entry(offset.handle_id()).or_insert(n);
        self.queue.push_back((offset, flush, false));
    }

    fn settle(&mut self, offset: &SourceOffset) {
        let found = match self.numbers.remove(&offset.handle_id()) {
            Some(n) => usize::try_from(n - self.base).ok(),
            // An equal offset from another handle: the oldest unsettled one equal to it.
            None => self
                .queue
                .iter()
                .position(|(o, _, done)| !*done && o == offset),
        };
        let Some(entry) = found.and_then(|i| self.queue.get_mut(i)) else {
            return;
        };
        entry.2 = true;
        let id = entry.0.handle_id();
        let i = found.unwrap_or_default();
        // The handle's number now moves to its next unsettled record, if that follows at once (a
        // snapshot row's records do); a later one is still found through equality.
        self.numbers.remove(&id);
        let next = self
            .queue
            .iter()
            .enumerate()
            .skip(i + 1)
            .take_while(|(_, (o, _, _))| o.handle_id() == id)
            .find(|(_, (_, _, done))| !*done);
        if let Some((j, _)) = next {
            self.numbers.insert(id, self.base + j as u64);
        }
        while let Some((_, flush, true)) = self.queue.front() {
            self.confirmable = self.confirmable.max(*flush);
            self.queue.pop_front();
            self.base += 1;
        }
    }
}

/// The task's end of the reader's queue.
struct Inbox {
    rx: mpsc::Receiver<Item>,
    /// Records of the last chunk beyond what the last poll could take (`max.batch.size`).
    carry: Chunk,
}

struct Running {
    inbox: tokio::sync::Mutex<Inbox>,
    /// Room for records in the queue, given back as chunks are taken (see [`Outbox`]).
    room: Arc<Semaphore>,
    failed: Mutex<Option<ConnectError>>,
    reader: AbortOnDrop,
    cfg: Arc<PostgresConfig>,
}

/// A PostgreSQL CDC task.
#[derive(Default)]
pub struct PostgresSourceTask {
    running: Option<Running>,
    stopped: AtomicBool,
    unsettled: Arc<Mutex<Unsettled>>,
    durable: Arc<Durable>,
}

impl PostgresSourceTask {
    /// A task.
    pub fn new() -> Self {
        Self::default()
    }

    /// Settles the records at `positions` (written or failed alike: either way the slot may move
    /// past them), under one lock.
    fn settle<'a>(&self, positions: impl IntoIterator<Item = &'a RecordPosition>) {
        if let Ok(mut u) = self.unsettled.lock() {
            for position in positions {
                u.settle(&position.source_offset);
            }
        }
    }
}

#[async_trait]
impl SourceTask for PostgresSourceTask {
    async fn start(&mut self, ctx: SourceTaskContext) -> Result<(), ConnectError> {
        let cfg = Arc::new(PostgresConfig::parse(&ctx.config)?);
        for (old, new) in &cfg.legacy_keys {
            tracing::warn!(old, new, "legacy Debezium 1.x key in use; rename it");
        }
        if !cfg.unknown_keys.is_empty() {
            tracing::warn!(keys = ?cfg.unknown_keys, "configuration keys this connector does not know (ignored)");
        }
        let stored = stored_offset(&ctx, &partition(&cfg.topic_prefix))
            .as_ref()
            .and_then(PgOffset::from_map);
        match &stored {
            Some(o) => tracing::info!(
                lsn = o.lsn,
                lsn_commit = o.lsn_commit,
                snapshot = o.snapshot,
                "resuming from the stored offset"
            ),
            None => tracing::info!("no stored offset"),
        }
        // A chunk holds at least one record, and `room` bounds the records: the channel's own
        // bound is never reached.
        let (tx, rx) = mpsc::channel(cfg.max_queue_size);
        let room = Arc::new(Semaphore::new(cfg.max_queue_size));
        let outbox = Outbox::new(
            tx.clone(),
            room.clone(),
            cfg.max_batch_size,
            cfg.max_queue_size,
        );
        let reader_cfg = cfg.clone();
        let durable = self.durable.clone();
        let progress = ctx.progress.clone();
        let handle = tokio::spawn(async move {
            let result = match Reader::new(reader_cfg, outbox, durable, progress).await {
                Ok(reader) => run(reader, stored).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                let _ = tx.send(Err(e)).await;
            }
        });
        self.running = Some(Running {
            inbox: tokio::sync::Mutex::new(Inbox {
                rx,
                carry: Vec::new(),
            }),
            room,
            failed: Mutex::new(None),
            reader: AbortOnDrop(handle),
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
        let mut inbox = r.inbox.lock().await;
        let max = r.cfg.max_batch_size;
        let mut items = std::mem::take(&mut inbox.carry);
        if items.is_empty() {
            items = match tokio::time::timeout(r.cfg.poll_interval, inbox.rx.recv()).await {
                Ok(Some(chunk)) => {
                    let chunk = chunk?;
                    r.room.add_permits(chunk.len());
                    chunk
                }
                Ok(None) => {
                    // The reader finished (initial_only): nothing more will come.
                    drop(inbox);
                    tokio::time::sleep(r.cfg.poll_interval).await;
                    return Ok(vec![]);
                }
                Err(_) => return Ok(vec![]),
            };
        }
        while items.len() < max {
            match inbox.rx.try_recv() {
                Ok(Ok(chunk)) => {
                    r.room.add_permits(chunk.len());
                    items.extend(chunk);
                }
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
        if items.len() > max {
            inbox.carry = items.split_off(max);
        }
        drop(inbox);
        let mut unsettled = self
            .unsettled
            .lock()
            .map_err(|_| ConnectError::other("lock poisoned"))?;
        Ok(items
            .into_iter()
            .map(|(rec, flush)| {
                unsettled.hand_out(rec.source_offset.clone(), flush);
                rec
            })
            .collect())
    }

    async fn record_settled(
        &self,
        position: &RecordPosition,
        _outcome: RecordOutcome<'_>,
    ) -> Result<(), ConnectError> {
        self.settle([position]);
        Ok(())
    }

    async fn records_written(
        &self,
        records: &[(RecordPosition, RecordMetadata)],
    ) -> Result<(), ConnectError> {
        self.settle(records.iter().map(|(position, _)| position));
        Ok(())
    }

    async fn commit(&self) -> Result<(), ConnectError> {
        // The runtime stored the offsets of every settled record before calling this.
        let confirmable = self.unsettled.lock().map(|u| u.confirmable).unwrap_or(0);
        if confirmable > 0 {
            self.durable.raise(confirmable);
        }
        Ok(())
    }

    async fn stop(&self) -> Result<(), ConnectError> {
        self.stopped.store(true, Ordering::Release);
        if let Some(r) = &self.running {
            r.reader.0.abort();
            if r.cfg.slot_drop_on_stop {
                drop_slot(&r.cfg).await;
            }
        }
        Ok(())
    }
}

/// `slot.drop.on.stop`: drops the slot once the aborted reader's session released it (a few tries).
async fn drop_slot(cfg: &PostgresConfig) {
    let Ok(catalog) = Catalog::connect(cfg).await else {
        tracing::warn!(slot = %cfg.slot_name, "slot.drop.on.stop: cannot connect to drop the slot");
        return;
    };
    for _ in 0..50 {
        match catalog.slot(cfg).await {
            Ok(Some(s)) if s.active => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Ok(Some(_)) => {
                match catalog.drop_slot(cfg).await {
                    Ok(()) => {
                        tracing::warn!(slot = %cfg.slot_name, "dropped the replication slot (slot.drop.on.stop=true)")
                    }
                    Err(e) => {
                        tracing::warn!(slot = %cfg.slot_name, error = %e, "slot.drop.on.stop: dropping the slot failed")
                    }
                }
                return;
            }
            _ => return,
        }
    }
    tracing::warn!(slot = %cfg.slot_name, "slot.drop.on.stop: the slot stayed in use; not dropped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_settled_prefix_is_confirmable() {
        let mut u = Unsettled::default();
        let offs: Vec<SourceOffset> = (0..4)
            .map(|i| {
                SourceOffset::from(
                    [("n".to_owned(), serde_json::json!(i))]
                        .into_iter()
                        .collect::<connect_core::record::OffsetMap>(),
                )
            })
            .collect();
        for (o, flush) in offs.iter().zip([10, 10, 30, 40]) {
            u.hand_out(o.clone(), flush);
        }
        // Out of order: the third settles first; nothing before it is settled, so nothing moves.
        u.settle(&offs[2]);
        assert_eq!(u.confirmable, 0);
        u.settle(&offs[0]);
        assert_eq!(u.confirmable, 10);
        u.settle(&offs[1]);
        assert_eq!(u.confirmable, 30);
        assert_eq!(u.queue.len(), 1);
        u.settle(&offs[3]);
        assert_eq!(u.confirmable, 40);
    }

    /// The runtime settles records in the order Kafka's partitions answer: interleaved, out of order,
    /// with runs of records that share one offset handle (a snapshot row) and an equal offset given
    /// back through another handle. Every record is settled exactly once and the confirmable
    /// position is the settled prefix's.
    #[test]
    fn records_settled_in_any_order_are_each_found() {
        let mut u = Unsettled::default();
        let mut handed: Vec<(SourceOffset, u64)> = Vec::new();
        for i in 0..3000u64 {
            // Every tenth handle is shared by three records in a row (not the first record's).
            let o = SourceOffset::from(
                [("n".to_owned(), serde_json::json!(i))]
                    .into_iter()
                    .collect::<connect_core::record::OffsetMap>(),
            );
            let copies = if i % 10 == 5 { 3 } else { 1 };
            for _ in 0..copies {
                u.hand_out(o.clone(), i + 1);
                handed.push((o.clone(), i + 1));
            }
        }
        // Settled by "partition": the records at positions = k (mod 8), partition 7 first, and
        // partition 3 settles through equal offsets built afresh.
        for p in (0..8).rev() {
            for (_, (o, _)) in handed.iter().enumerate().filter(|(k, _)| k % 8 == p) {
                let o = if p == 3 {
                    SourceOffset::from(o.map().into_owned())
                } else {
                    o.clone()
                };
                u.settle(&o);
            }
            if p > 0 {
                assert_eq!(
                    u.confirmable, 0,
                    "record 0 (partition 0) is not settled yet"
                );
            }
        }
        assert!(
            u.queue.is_empty(),
            "{} records left unsettled",
            u.queue.len()
        );
        assert!(u.numbers.is_empty());
        assert_eq!(u.confirmable, 3000);
    }
}
