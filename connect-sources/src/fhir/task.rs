//! The source task: one [`TypeCursor`] per resource type, read in turn. Each `poll` sends at most
//! one request (a page) and returns its records, so a stop is never more than one request away;
//! between reads it waits for the poll interval in short steps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use connect_core::async_trait;
use connect_core::error::ConnectError;
use connect_core::fhir::FhirClient;
use connect_core::record::SourceRecord;
use connect_core::source::{SourceTask, SourceTaskContext};
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use super::config::FhirSourceConfig;
use super::cursor::{Phase, TypeCursor};

/// The longest a `poll` waits when nothing is due.
const IDLE_WAIT: Duration = Duration::from_millis(250);

struct Reading {
    cursors: Vec<TypeCursor>,
    /// When each cursor's next read starts.
    due: Vec<Instant>,
    /// The cursor read last (types take turns).
    turn: usize,
}

/// A FHIR source task.
#[derive(Default)]
pub struct FhirSourceTask {
    client: Option<FhirClient>,
    interval: Duration,
    reading: Mutex<Option<Reading>>,
    stop: Notify,
    stopped: AtomicBool,
}

#[async_trait]
impl SourceTask for FhirSourceTask {
    async fn start(&mut self, ctx: SourceTaskContext) -> Result<(), ConnectError> {
        let cfg = FhirSourceConfig::parse(&ctx.config)?;
        let mut cursors = Vec::with_capacity(cfg.types.len());
        for (t, params) in &cfg.types {
            let partition = [(
                "resourceType".to_owned(),
                serde_json::Value::String(t.clone()),
            )]
            .into_iter()
            .collect();
            let stored = ctx.offsets.offset(&partition);
            cursors.push(TypeCursor::new(&cfg, t, params, stored.as_ref())?);
        }
        let now = Instant::now();
        *self.reading.get_mut() = Some(Reading {
            due: vec![now; cursors.len()],
            cursors,
            turn: 0,
        });
        self.client = Some(cfg.server.connect()?);
        self.interval = cfg.poll_interval;
        tracing::info!(url = %cfg.server.url, types = cfg.types.len(), "FHIR source started");
        Ok(())
    }

    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        let Some(client) = &self.client else {
            return Err(ConnectError::other("poll before start"));
        };
        let mut guard = self.reading.lock().await;
        let Some(r) = guard.as_mut() else {
            return Ok(vec![]);
        };
        let n = r.cursors.len();
        let now = Instant::now();
        // The next cursor (in turn) that is reading or due to start.
        let pick = (1..=n)
            .map(|k| (r.turn + k) % n)
            .find(|&i| r.cursors[i].phase != Phase::Idle || r.due[i] <= now);
        let Some(i) = pick else {
            let wake = r
                .due
                .iter()
                .min()
                .copied()
                .unwrap_or(now + IDLE_WAIT)
                .min(now + IDLE_WAIT);
            drop(guard);
            if !self.stopped.load(Ordering::SeqCst) {
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = self.stop.notified() => {}
                }
            }
            return Ok(vec![]);
        };
        r.turn = i;
        let cursor = &mut r.cursors[i];
        if cursor.phase == Phase::Idle {
            cursor.begin();
        }
        let Some(req) = cursor.request() else {
            return Ok(vec![]);
        };
        let answer = tokio::select! {
            a = client.send(&req) => a,
            _ = self.stop.notified() => return Ok(vec![]),
        };
        let resp = answer?;
        let records = cursor.take_page(&resp.body, resp.date.as_deref())?;
        if cursor.phase == Phase::Idle {
            r.due[i] = Instant::now() + self.interval;
        }
        Ok(records)
    }

    async fn stop(&self) -> Result<(), ConnectError> {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.notify_one();
        Ok(())
    }
}
