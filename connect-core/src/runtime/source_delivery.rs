//! A source task's records between the producer and the broker's acknowledgement.
//!
//! librdkafka reports each record's fate from its polling thread through
//! [`DeliveryContext::delivery`], with the record's id as the delivery opaque (a plain integer: no
//! allocation and no future per record). The callbacks queue the answers; the source runner wakes once
//! for whatever queued meanwhile and settles each record in the order its answer came, as Kafka
//! Connect's producer callbacks do: a record acknowledged on one partition is not held back by a slower
//! one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use rdkafka::message::Message;
use rdkafka::producer::{ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use tokio::sync::Notify;

use crate::runtime::dlq::{owned_headers, RawRecord};
use crate::source::RecordPosition;

/// The producer of a source task.
pub(crate) type SourceProducer = ThreadedProducer<DeliveryContext>;

/// The producer's answer for one record: the partition and offset it landed at, or why it was not
/// delivered with the record as it was handed to the producer (for the DLQ; the topic is filled in
/// by the runner).
pub(crate) type DeliveryResult = Result<(i32, i64), (String, RawRecord)>;

/// Collects the producer's answers, keyed by record id, for the runner to take in batches.
#[derive(Default)]
pub(crate) struct DeliveryContext {
    answers: Mutex<Vec<(usize, DeliveryResult)>>,
    ready: Notify,
}

impl DeliveryContext {
    /// Moves every answer that arrived into `into` (which is expected empty), without waiting.
    pub(crate) fn take(&self, into: &mut Vec<(usize, DeliveryResult)>) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut *answers, into);
    }

    /// Resolves once an answer arrived since the last [`take`](Self::take) emptied the queue (at once if
    /// one is waiting).
    pub(crate) async fn ready(&self) {
        self.ready.notified().await
    }
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, id: usize) {
        let answer = match result {
            Ok(m) => Ok((m.partition(), m.offset())),
            Err((e, m)) => Err((e.to_string(), undelivered(m))),
        };
        self.answer(id, answer);
    }
}

impl DeliveryContext {
    fn answer(&self, id: usize, answer: DeliveryResult) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        let was_empty = answers.is_empty();
        answers.push((id, answer));
        drop(answers);
        // The runner empties the whole queue each time it wakes, so one wake-up per batch suffices
        // (a wake-up with nobody waiting is kept for the next wait).
        if was_empty {
            self.ready.notify_one();
        }
    }
}

/// The record the producer gave back with its final delivery error: key, value and headers exactly as
/// the connector's converters produced them, for the DLQ.
fn undelivered(msg: &rdkafka::message::BorrowedMessage<'_>) -> RawRecord {
    RawRecord {
        topic: Arc::from(""),
        partition: -1,
        offset: -1,
        timestamp: msg.timestamp().to_millis(),
        key: msg.key().map(Bytes::copy_from_slice),
        value: msg.payload().map(Bytes::copy_from_slice),
        headers: owned_headers(msg.headers()),
    }
}

/// A record handed to the producer and not yet answered.
pub(crate) struct InFlight {
    /// Its source partition's index in the runner's offset tracker.
    pub pidx: usize,
    /// Its sequence number within that source partition.
    pub seq: u64,
    pub pos: RecordPosition,
    pub topic: Arc<str>,
}

/// The records in flight, by id. Ids are handed out in send order; an answered record leaves a gap
/// until every older one is answered too, so the storage is one ring of slots (no allocation per
/// record once it has grown).
#[derive(Default)]
pub(crate) struct InFlightRecords {
    slots: VecDeque<Option<InFlight>>,
    /// The id of `slots[0]`.
    base: usize,
    pending: usize,
}

impl InFlightRecords {
    /// The id the next record sent gets.
    pub(crate) fn next_id(&self) -> usize {
        self.base.wrapping_add(self.slots.len())
    }

    /// Records `f` as sent under [`next_id`](Self::next_id).
    pub(crate) fn push(&mut self, f: InFlight) {
        self.slots.push_back(Some(f));
        self.pending += 1;
    }

    /// The record answered under `id`; None for an id that is not in flight (never sent, or answered
    /// already).
    pub(crate) fn take(&mut self, id: usize) -> Option<InFlight> {
        let i = id.wrapping_sub(self.base);
        let f = self.slots.get_mut(i)?.take()?;
        self.pending -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base = self.base.wrapping_add(1);
        }
        Some(f)
    }

    /// How many records await their answer.
    pub(crate) fn len(&self) -> usize {
        self.pending
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64) -> InFlight {
        InFlight {
            pidx: 0,
            seq,
            pos: RecordPosition {
                source_partition: Arc::default(),
                source_offset: Default::default(),
            },
            topic: Arc::from("t"),
        }
    }

    #[test]
    fn records_are_answered_in_any_order_and_each_once() {
        let mut f = InFlightRecords::default();
        let ids: Vec<usize> = (0..5)
            .map(|s| {
                let id = f.next_id();
                f.push(rec(s));
                id
            })
            .collect();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
        assert_eq!(f.take(3).map(|r| r.seq), Some(3));
        assert!(f.take(3).is_none(), "answered once");
        assert_eq!(f.take(0).map(|r| r.seq), Some(0));
        assert_eq!(f.len(), 3);
        assert_eq!(f.take(1).map(|r| r.seq), Some(1));
        assert_eq!(f.take(2).map(|r| r.seq), Some(2));
        // 0..=3 answered: the ring keeps only 4.
        assert_eq!(f.slots.len(), 1);
        assert_eq!(f.next_id(), 5);
        assert!(f.take(5).is_none(), "never sent");
        assert!(f.take(usize::MAX).is_none());
        assert_eq!(f.take(4).map(|r| r.seq), Some(4));
        assert!(f.is_empty());
        assert_eq!(f.next_id(), 5, "ids are never reused");
    }

    #[tokio::test]
    async fn one_wake_up_covers_every_answer_queued_before_the_take() {
        let ctx = DeliveryContext::default();
        for id in 0..3 {
            ctx.answer(id, Ok((0, id as i64)));
        }
        tokio::time::timeout(std::time::Duration::from_secs(1), ctx.ready())
            .await
            .expect("woken by the first answer");
        let mut got = Vec::new();
        ctx.take(&mut got);
        assert_eq!(got.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), ctx.ready())
                .await
                .is_err(),
            "no stale wake-up once the queue was emptied"
        );
    }
}
