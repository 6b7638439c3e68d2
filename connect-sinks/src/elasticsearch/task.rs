//! The sink task: each `put` encodes its records into one buffer, writes them in bulk requests (up to
//! `max.in.flight.requests` at once), and reads every answer item by item. Busy items are retried
//! alone, malformed documents follow `behavior.on.malformed.documents`, other failures are errant.
//! `put` returns only once every document of the batch is written or deliberately skipped, so the
//! offsets the runtime commits never pass a document that is not in the index.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;

use connect_core::error::{ConnectError, DataError};
use connect_core::record::SinkRecord;
use connect_core::runtime::ErrantRecordReporter;
use connect_core::sink::{SinkTask, SinkTaskContext};

use super::config::{ElasticsearchSinkConfig, MalformedDocuments};
use super::encoder::{Encoder, Item};
use super::mapping;
use super::response::{self, Outcome};
use super::service::BulkService;

struct State {
    cfg: ElasticsearchSinkConfig,
    service: BulkService,
    reporter: Option<Arc<ErrantRecordReporter>>,
    /// Topics whose index mapping was checked (or given) since the task started (an index is a
    /// function of its topic, so the topic stands for it without building the name per record).
    mapped: HashSet<String>,
}

/// An Elasticsearch / OpenSearch sink task.
#[derive(Default)]
pub struct ElasticsearchSinkTask {
    state: Option<State>,
}

/// Counts of one `put`, logged at debug level.
#[derive(Debug, Default)]
struct PutStats {
    written: usize,
    conflicts: usize,
    retried: usize,
    skipped: usize,
}

impl State {
    /// Gives each index these records go to a mapping from the first struct value schema seen for
    /// it, unless the topic ignores schemas; once per index for the task's life.
    async fn ensure_mappings(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        for r in records {
            let topic = &r.record.topic;
            if self.mapped.contains(topic.as_str()) || self.cfg.ignores_schema(topic) {
                continue;
            }
            let Some(mapping) = r.record.value_schema.as_ref().and_then(mapping::infer) else {
                continue;
            };
            let index = self.cfg.index_for(topic);
            self.service.ensure_mapping(&index, &mapping).await?;
            tracing::info!(index = %index, "index mapping checked");
            self.mapped.insert(topic.clone());
        }
        Ok(())
    }

    /// A record that could not become a document.
    async fn invalid(
        &self,
        rec: &SinkRecord,
        e: DataError,
        stats: &mut PutStats,
    ) -> Result<(), ConnectError> {
        if self.cfg.drop_invalid {
            tracing::warn!(record = %rec.original, error = %e, "record dropped (drop.invalid.message=true)");
            stats.skipped += 1;
            return Ok(());
        }
        self.errant(rec, ConnectError::Data(e), stats).await
    }

    /// Reports an errant record: to the DLQ when the connector tolerates errors, else the task fails.
    async fn errant(
        &self,
        rec: &SinkRecord,
        e: ConnectError,
        stats: &mut PutStats,
    ) -> Result<(), ConnectError> {
        match &self.reporter {
            Some(r) => {
                r.report(rec, &e).await?;
                stats.skipped += 1;
                Ok(())
            }
            None => Err(e),
        }
    }

    fn server_reason(&self, reason: &str) -> String {
        match &self.reporter {
            Some(r) if r.includes_messages() && !reason.is_empty() => format!(": {reason}"),
            _ => String::new(),
        }
    }

    async fn malformed(
        &self,
        rec: &SinkRecord,
        index: &str,
        kind: &str,
        reason: &str,
        stats: &mut PutStats,
    ) -> Result<(), ConnectError> {
        let msg = format!(
            "record {} rejected by index '{index}' as a malformed document ({kind}){}",
            rec.original,
            self.server_reason(reason)
        );
        match self.cfg.malformed {
            MalformedDocuments::Fail => {
                return Err(ConnectError::other(format!(
                    "{msg}; behavior.on.malformed.documents=fail"
                )))
            }
            MalformedDocuments::Warn => {
                tracing::warn!("{msg}; skipped (behavior.on.malformed.documents=warn)")
            }
            MalformedDocuments::Ignore => {}
        }
        stats.skipped += 1;
        if let Some(r) = self.reporter.as_ref().filter(|r| r.tolerates()) {
            r.report(rec, &ConnectError::Data(DataError::new(msg)))
                .await?;
        }
        Ok(())
    }

    /// Sends `items` in bulks, at most `max.in.flight.requests` at once; returns each item's outcome.
    async fn send(&self, buf: &Bytes, items: &[Item]) -> Result<Vec<Outcome>, ConnectError> {
        let mut chunks: Vec<&[Item]> = Vec::new();
        let mut start = 0;
        let mut bytes = 0;
        for (i, it) in items.iter().enumerate() {
            let len = it.range.len();
            if i > start
                && (i - start >= self.cfg.batch_size || bytes + len > self.cfg.bulk_size_bytes)
            {
                chunks.push(&items[start..i]);
                start = i;
                bytes = 0;
            }
            bytes += len;
        }
        if start < items.len() {
            chunks.push(&items[start..]);
        }
        // Unversioned writes of one document must reach the server in order: one bulk at a time.
        let in_flight = if items.iter().all(|i| i.versioned || i.address.1.is_none()) {
            self.cfg.max_in_flight
        } else {
            1
        };
        let requests: Vec<(Bytes, Vec<_>)> = chunks
            .iter()
            .map(|c| {
                (
                    body_of(buf, c),
                    c.iter().map(|i| (i.op, i.versioned)).collect(),
                )
            })
            .collect();
        let service = &self.service;
        let answers: Vec<Result<Vec<Outcome>, ConnectError>> = futures::stream::iter(requests)
            .map(move |(body, ops)| async move {
                let answer = service.send(body).await?;
                response::read(&answer, &ops).map_err(|e| ConnectError::retriable(e.to_string()))
            })
            .buffered(in_flight)
            .collect()
            .await;
        let mut out = Vec::with_capacity(items.len());
        for a in answers {
            out.extend(a?);
        }
        Ok(out)
    }
}

/// The bulk body of consecutive items: a slice of the buffer when they are adjacent in it.
fn body_of(buf: &Bytes, items: &[Item]) -> Bytes {
    let adjacent = items.windows(2).all(|w| w[0].range.end == w[1].range.start);
    match (items.first(), items.last()) {
        (Some(f), Some(l)) if adjacent => buf.slice(f.range.start..l.range.end),
        _ => {
            let mut b = Vec::with_capacity(items.iter().map(|i| i.range.len()).sum());
            for i in items {
                b.extend_from_slice(&buf[i.range.clone()]);
            }
            Bytes::from(b)
        }
    }
}

/// The items to send again: the busy ones, and for unversioned writes every later item of the same
/// document (so the last write stays last), in their original order.
fn retry_set(pending: &[Item], outcomes: &[Outcome]) -> Vec<Item> {
    let mut again = vec![false; pending.len()];
    for (i, o) in outcomes.iter().enumerate() {
        if *o == Outcome::Retry {
            again[i] = true;
            if !pending[i].versioned {
                for (j, later) in pending.iter().enumerate().skip(i + 1) {
                    if later.address == pending[i].address {
                        again[j] = true;
                    }
                }
            }
        }
    }
    pending
        .iter()
        .zip(again)
        .filter(|(_, a)| *a)
        .map(|(i, _)| i.clone())
        .collect()
}

#[async_trait]
impl SinkTask for ElasticsearchSinkTask {
    async fn start(&mut self, ctx: SinkTaskContext) -> Result<(), ConnectError> {
        let cfg = ElasticsearchSinkConfig::parse(&ctx.config)?;
        let client = cfg.client.build()?;
        let service = BulkService::new(client, cfg.urls.clone(), cfg.auth.clone(), cfg.retry);
        tracing::info!(nodes = %cfg.urls.join(","), auth = ?cfg.auth, "Elasticsearch sink started");
        self.state = Some(State {
            cfg,
            service,
            reporter: ctx.errant_record_reporter,
            mapped: HashSet::new(),
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let Some(st) = self.state.as_mut() else {
            return Err(ConnectError::other("put before start"));
        };
        if records.is_empty() {
            return Ok(());
        }
        st.ensure_mappings(records).await?;
        let st = &*st;
        let deadline = Instant::now() + st.cfg.flush_timeout;
        let mut stats = PutStats::default();
        let encoder = Encoder::new(&st.cfg);
        let mut buf = Vec::with_capacity(records.len() * 256);
        let mut pending = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            match encoder.encode(i, r, &mut buf) {
                Ok(Some(item)) => pending.push(item),
                Ok(None) => stats.skipped += 1,
                Err(e) => st.invalid(r, e, &mut stats).await?,
            }
        }
        let buf = Bytes::from(buf);
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let outcomes = st.send(&buf, &pending).await?;
            for (item, o) in pending.iter().zip(&outcomes) {
                let rec = &records[item.record];
                match o {
                    Outcome::Done => stats.written += 1,
                    Outcome::Conflict => stats.conflicts += 1,
                    Outcome::Retry => stats.retried += 1,
                    Outcome::Malformed { kind, reason } => {
                        st.malformed(rec, &item.address.0, kind, reason, &mut stats)
                            .await?
                    }
                    Outcome::Failed {
                        status,
                        kind,
                        reason,
                    } => {
                        let e = ConnectError::other(format!(
                            "record {} failed in index '{}' with HTTP {status} ({kind}){}",
                            rec.original,
                            item.address.0,
                            st.server_reason(reason)
                        ));
                        st.errant(rec, e, &mut stats).await?
                    }
                }
            }
            pending = retry_set(&pending, &outcomes);
            if pending.is_empty() {
                break;
            }
            attempt += 1;
            if !st.cfg.retry.allows(attempt - 1) || Instant::now() >= deadline {
                // Not dropped: the runtime hands the whole batch back; versions make it idempotent.
                return Err(ConnectError::retriable(format!(
                    "{} documents were still rejected as busy after {attempt} tries",
                    pending.len()
                )));
            }
            tokio::time::sleep(st.cfg.retry.delay(attempt)).await;
        }
        tracing::debug!(?stats, "bulk batch written");
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.state = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elasticsearch::encoder::Op;

    fn item(record: usize, id: &str, versioned: bool) -> Item {
        Item {
            range: record * 10..record * 10 + 10,
            record,
            op: Op::Index,
            address: ("i".into(), Some(id.into())),
            versioned,
        }
    }

    #[test]
    fn unversioned_retries_keep_later_writes_of_the_document_after_them() {
        let pending = vec![
            item(0, "a", false),
            item(1, "b", false),
            item(2, "a", false),
            item(3, "c", false),
        ];
        let outcomes = vec![Outcome::Retry, Outcome::Done, Outcome::Done, Outcome::Retry];
        let again: Vec<usize> = retry_set(&pending, &outcomes)
            .iter()
            .map(|i| i.record)
            .collect();
        assert_eq!(again, [0, 2, 3]);
        let versioned = vec![item(0, "a", true), item(1, "a", true)];
        let again = retry_set(&versioned, &[Outcome::Retry, Outcome::Done]);
        assert_eq!(again.len(), 1, "a version orders them on the server");
    }

    #[test]
    fn adjacent_items_are_sent_as_a_slice() {
        let buf = Bytes::from((0..40u8).collect::<Vec<_>>());
        let items = [item(1, "a", true), item(2, "b", true)];
        assert_eq!(&body_of(&buf, &items)[..], &buf[10..30]);
        let gap = [item(0, "a", true), item(2, "b", true)];
        let b = body_of(&buf, &gap);
        assert_eq!(&b[..10], &buf[0..10]);
        assert_eq!(&b[10..], &buf[20..30]);
    }
}
