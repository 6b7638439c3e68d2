//! The sink task. `put` writes every record before it returns, so the offsets the runtime commits
//! after it never pass an unwritten record:
//!
//! * records are spread over `fhir.max.in.flight` lanes by the resource they write (`Type/id`, or
//!   the Kafka key for a Bundle), and each lane writes its records in order: concurrency without
//!   reordering one resource's versions;
//! * a 2xx answer (and, in a `batch` Bundle, a 2xx entry) makes a record durable; 408, 429, 5xx and
//!   transport errors are retried by the client (a `batch` entry that answered so is sent again
//!   alone); a 4xx is the record's fault: to the DLQ, with the status and the OperationOutcome's
//!   codes (its free text only with `errors.log.include.messages=true`), never the resource;
//! * 401 and 403 fail the task (credentials are the connector's problem, not the record's); a
//!   DELETE answered 404 or 410 is done (the resource is gone either way);
//! * when retries run out, `put` fails retriably and the runtime delivers the batch again: writes
//!   by id are idempotent.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use connect_core::async_trait;
use connect_core::converter::JsonConverter;
use connect_core::error::ConnectError;
use connect_core::fhir::bundle::Page;
use connect_core::fhir::{FhirClient, FhirError, FhirRequest, OutcomeSummary};
use connect_core::record::SinkRecord;
use connect_core::runtime::ErrantRecordReporter;
use connect_core::sink::{SinkTask, SinkTaskContext};

use super::config::{FhirSinkConfig, WriteMode};
use super::request::{bundle_of, Write};

struct State {
    cfg: FhirSinkConfig,
    client: FhirClient,
    reporter: Option<Arc<ErrantRecordReporter>>,
    json: JsonConverter,
}

/// A FHIR sink task.
#[derive(Default)]
pub struct FhirSinkTask {
    state: Option<Arc<State>>,
}

/// What became of one record's write.
enum Outcome {
    Done,
    /// The record's fault: the reason, without its data.
    Errant(String),
}

impl State {
    fn includes_messages(&self) -> bool {
        self.reporter
            .as_ref()
            .is_some_and(|r| r.includes_messages())
    }

    /// The reason a rejected write gives: status and codes, the server's text only when allowed.
    fn rejected(&self, e: &FhirError) -> String {
        e.describe(self.includes_messages())
    }

    /// Sends one request; the record's outcome, or an error that stops the batch.
    async fn send_one(&self, req: &FhirRequest, delete: bool) -> Result<Outcome, ConnectError> {
        match self.client.send(req).await {
            Ok(_) => Ok(Outcome::Done),
            Err(FhirError::Status {
                status: 404 | 410, ..
            }) if delete => Ok(Outcome::Done),
            Err(
                e @ FhirError::Status {
                    status: 401 | 403, ..
                },
            ) => Err(ConnectError::other(e)),
            Err(e) if e.is_retriable() => Err(ConnectError::retriable(e)),
            Err(e @ FhirError::Status { .. }) => Ok(Outcome::Errant(self.rejected(&e))),
            Err(e) => Err(ConnectError::from(e)),
        }
    }

    /// Writes one lane's records in order.
    async fn write_lane(
        &self,
        lane: Vec<(&SinkRecord, Result<Write, String>)>,
    ) -> Result<Vec<(usize, Outcome)>, ConnectError> {
        let mode = self.cfg.mode;
        let mut outcomes = Vec::with_capacity(lane.len());
        let grouping = matches!(mode, WriteMode::Transaction | WriteMode::Batch);
        let mut group: Vec<(usize, &Write)> = Vec::new();
        for (i, (_, w)) in lane.iter().enumerate() {
            let w = match w {
                Ok(w) => w,
                Err(reason) => {
                    outcomes.push((i, Outcome::Errant(reason.clone())));
                    continue;
                }
            };
            if grouping && !matches!(w, Write::Bundle { .. }) {
                group.push((i, w));
                if group.len() >= self.cfg.batch_size {
                    outcomes.extend(self.write_group(&std::mem::take(&mut group)).await?);
                }
                continue;
            }
            if !group.is_empty() {
                outcomes.extend(self.write_group(&std::mem::take(&mut group)).await?);
            }
            let outcome = match w.request(mode) {
                Ok(req) => {
                    self.send_one(&req, matches!(w, Write::Delete { .. }))
                        .await?
                }
                Err(reason) => Outcome::Errant(reason),
            };
            outcomes.push((i, outcome));
        }
        if !group.is_empty() {
            outcomes.extend(self.write_group(&group).await?);
        }
        Ok(outcomes)
    }

    /// Writes records as one `transaction` or `batch` Bundle. A transaction succeeds or fails
    /// whole; a batch's entries are judged one by one, and entries that answered "later" are sent
    /// again (in a smaller batch) until the retries run out.
    async fn write_group(
        &self,
        group: &[(usize, &Write)],
    ) -> Result<Vec<(usize, Outcome)>, ConnectError> {
        let mode = self.cfg.mode;
        let kind = if mode == WriteMode::Transaction {
            "transaction"
        } else {
            "batch"
        };
        let mut out = Vec::with_capacity(group.len());
        let mut pending: Vec<(usize, &Write, Vec<u8>)> = Vec::with_capacity(group.len());
        for (i, w) in group {
            let mut e = Vec::new();
            match w.write_entry(mode, &mut e) {
                Ok(()) => pending.push((*i, w, e)),
                Err(reason) => out.push((*i, Outcome::Errant(reason))),
            }
        }
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let entries: Vec<Vec<u8>> = pending.iter().map(|(_, _, e)| e.clone()).collect();
            let req = FhirRequest {
                method: reqwest::Method::POST,
                url: String::new(),
                body: Some(bundle_of(kind, &entries)),
                headers: vec![],
                label: format!("POST {kind} Bundle"),
            };
            let resp = match self.client.send(&req).await {
                Ok(r) => r,
                Err(
                    e @ FhirError::Status {
                        status: 401 | 403, ..
                    },
                ) => return Err(ConnectError::other(e)),
                Err(e) if e.is_retriable() => return Err(ConnectError::retriable(e)),
                Err(e @ FhirError::Status { .. }) => {
                    let reason = self.rejected(&e);
                    out.extend(
                        pending
                            .iter()
                            .map(|(i, _, _)| (*i, Outcome::Errant(reason.clone()))),
                    );
                    return Ok(out);
                }
                Err(e) => return Err(ConnectError::from(e)),
            };
            if mode == WriteMode::Transaction {
                out.extend(pending.iter().map(|(i, _, _)| (*i, Outcome::Done)));
                return Ok(out);
            }
            let page = Page::parse(&resp.body).map_err(|e| {
                ConnectError::other(format!("the batch response of {}: {e}", self.client.base()))
            })?;
            if page.entry.len() != pending.len() {
                return Err(ConnectError::other(format!(
                    "the batch response of {} has {} entries for {} requests",
                    self.client.base(),
                    page.entry.len(),
                    pending.len()
                )));
            }
            let mut again = Vec::new();
            for ((i, w, e), entry) in pending.into_iter().zip(&page.entry) {
                let status = entry.status().unwrap_or(0);
                let delete = matches!(w, Write::Delete { .. });
                match status {
                    200..=299 => out.push((i, Outcome::Done)),
                    404 | 410 if delete => out.push((i, Outcome::Done)),
                    408 | 429 | 500..=599 => again.push((i, w, e)),
                    _ => {
                        let outcome = entry
                            .response
                            .as_ref()
                            .and_then(|r| r.outcome)
                            .and_then(OutcomeSummary::parse_raw);
                        let detail = match &outcome {
                            Some(o) if self.includes_messages() => {
                                format!(": {}", o.with_diagnostics())
                            }
                            Some(o) => format!(": {o}"),
                            None => String::new(),
                        };
                        let label = w.request(mode).map(|r| r.label).unwrap_or_default();
                        out.push((
                            i,
                            Outcome::Errant(format!(
                                "{label} in a batch at {} answered {status}{detail}",
                                self.client.base()
                            )),
                        ));
                    }
                }
            }
            pending = again;
            if !pending.is_empty() {
                attempt += 1;
                if !self.cfg.server.retry.allows(attempt - 1) {
                    return Err(ConnectError::retriable(format!(
                        "{} batch entries at {} still answered 408, 429 or 5xx after {} retries",
                        pending.len(),
                        self.client.base(),
                        attempt - 1
                    )));
                }
                tokio::time::sleep(self.cfg.server.retry.delay(attempt)).await;
            }
        }
        Ok(out)
    }
}

fn lane_of(rec: &SinkRecord, w: &Result<Write, String>, lanes: usize) -> usize {
    let mut h = DefaultHasher::new();
    match w.as_ref().ok().and_then(Write::target) {
        Some(target) => target.hash(&mut h),
        None => format!("{:?}", rec.record.key).hash(&mut h),
    }
    (h.finish() % lanes as u64) as usize
}

#[async_trait]
impl SinkTask for FhirSinkTask {
    async fn start(&mut self, ctx: SinkTaskContext) -> Result<(), ConnectError> {
        let cfg = FhirSinkConfig::parse(&ctx.config)?;
        let client = cfg.server.connect()?;
        tracing::info!(url = %cfg.server.url, mode = ?cfg.mode, auth = ?cfg.server.auth, "FHIR sink started");
        self.state = Some(Arc::new(State {
            cfg,
            client,
            reporter: ctx.errant_record_reporter,
            json: JsonConverter::new(false),
        }));
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let Some(st) = self.state.clone() else {
            return Err(ConnectError::other("put before start"));
        };
        let lanes_n = st.cfg.max_in_flight.min(records.len()).max(1);
        let mut lanes: Vec<Vec<(&SinkRecord, Result<Write, String>)>> =
            (0..lanes_n).map(|_| Vec::new()).collect();
        let mut index: Vec<Vec<usize>> = vec![Vec::new(); lanes_n];
        for (n, rec) in records.iter().enumerate() {
            let w = Write::of(rec, &st.json, st.cfg.identifier_system.as_deref());
            let l = lane_of(rec, &w, lanes_n);
            lanes[l].push((rec, w));
            index[l].push(n);
        }
        let results =
            futures::future::join_all(lanes.into_iter().map(|lane| st.write_lane(lane))).await;
        let mut errant: Vec<(usize, String)> = Vec::new();
        for (l, r) in results.into_iter().enumerate() {
            for (i, outcome) in r? {
                if let Outcome::Errant(reason) = outcome {
                    errant.push((index[l][i], reason));
                }
            }
        }
        errant.sort_by_key(|(n, _)| *n);
        for (n, reason) in errant {
            let rec = &records[n];
            let err = ConnectError::other(format!("{reason} (record {})", rec.original));
            match &st.reporter {
                Some(r) => r.report(rec, &err).await?,
                None => return Err(err),
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.state = None;
        Ok(())
    }
}
