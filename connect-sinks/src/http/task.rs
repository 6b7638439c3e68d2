//! The sink task: records in order, consecutive records for one URL batched up to `batch.max.size`,
//! one request at a time (so each key's records arrive in order). A 2xx answer makes a batch
//! durable; statuses in `retry.on.status.codes` and broken connections are retried with backoff (a
//! `Retry-After` honoured); a batch that still fails follows `behavior.on.error`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use connect_core::converter::JsonConverter;
use connect_core::data::Value;
use connect_core::error::{ConnectError, DataError};
use connect_core::http::{retry_after, TokenSource};
use connect_core::record::SinkRecord;
use connect_core::runtime::ErrantRecordReporter;
use connect_core::sink::{SinkTask, SinkTaskContext};

use super::config::{HttpSinkConfig, NullValues, OnError};
use super::template::url_for;

/// The longest wait a `Retry-After` may ask for.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

struct State {
    cfg: HttpSinkConfig,
    client: reqwest::Client,
    reporter: Option<Arc<ErrantRecordReporter>>,
    tokens: Option<TokenSource>,
    json: JsonConverter,
    content_type: String,
}

/// An HTTP sink task.
#[derive(Default)]
pub struct HttpSinkTask {
    state: Option<State>,
}

/// Why a request finally failed: its status (none: no answer) and what the server said.
struct Failure {
    status: Option<u16>,
    detail: String,
}

/// A request that failed for its records, or a failure of the task itself (no OAuth2 token).
enum SendError {
    Records(Failure),
    Task(ConnectError),
}

impl State {
    fn body_of(&self, rec: &SinkRecord, out: &mut Vec<u8>) {
        let r = &rec.record;
        if let Some(t) = &self.cfg.template {
            t.render(rec, &self.json, out);
            return;
        }
        match (&r.value, self.cfg.json_body) {
            (Value::String(s), false) => out.extend_from_slice(s.as_bytes()),
            (Value::Bytes(b), false) => out.extend_from_slice(b),
            (v, _) => {
                let start = out.len();
                if self
                    .json
                    .write_value(r.value_schema.as_ref(), v, out)
                    .is_err()
                {
                    out.truncate(start);
                    out.extend_from_slice(b"null");
                }
            }
        }
    }

    fn batch_body(&self, records: &[&SinkRecord]) -> Vec<u8> {
        let mut out = Vec::new();
        let (open, sep, close) = if self.cfg.batch_json_as_array {
            ("[", ",", "]")
        } else {
            (
                self.cfg.batch_prefix.as_str(),
                self.cfg.batch_separator.as_str(),
                self.cfg.batch_suffix.as_str(),
            )
        };
        let single = records.len() == 1 && !self.cfg.batch_json_as_array;
        if !single {
            out.extend_from_slice(open.as_bytes());
        }
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(sep.as_bytes());
            }
            self.body_of(r, &mut out);
        }
        if !single {
            out.extend_from_slice(close.as_bytes());
        }
        out
    }

    /// One request, retried as configured.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(), SendError> {
        let body = body.map(bytes::Bytes::from);
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            let mut req = self.client.request(method.clone(), url);
            if let Some(t) = &self.tokens {
                let token = t.token().await.map_err(SendError::Task)?;
                req = connect_core::http::Auth::Bearer(token).apply(req);
            }
            for (k, v) in &self.cfg.headers {
                req = req.header(k, v);
            }
            if let Some(b) = &body {
                if !self
                    .cfg
                    .headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                {
                    req = req.header(reqwest::header::CONTENT_TYPE, &self.content_type);
                }
                req = req.body(b.clone());
            }
            let (wait, failure) = match self.cfg.auth.apply(req).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    // An OAuth2 token the server no longer takes: one new token, at once.
                    if let (401, Some(t), false) = (status, &self.tokens, refreshed) {
                        t.invalidate().await;
                        refreshed = true;
                        continue;
                    }
                    let after = retry_after(resp.headers(), RETRY_AFTER_CAP);
                    let detail = resp.text().await.unwrap_or_default();
                    let f = Failure {
                        status: Some(status),
                        detail,
                    };
                    if !self.cfg.retries(status) {
                        return Err(SendError::Records(f));
                    }
                    tracing::warn!(url = %self.cfg.url, status, attempt, "request refused; retrying");
                    (after, f)
                }
                Err(e) => {
                    // Without the URL: a key substituted into it may be patient data.
                    let detail = e.without_url().to_string();
                    tracing::warn!(url = %self.cfg.url, error = %detail, attempt, "request failed; retrying");
                    (
                        None,
                        Failure {
                            status: None,
                            detail,
                        },
                    )
                }
            };
            attempt += 1;
            if !self.cfg.retry.allows(attempt - 1) {
                return Err(SendError::Records(failure));
            }
            tokio::time::sleep(wait.unwrap_or_else(|| self.cfg.retry.delay(attempt))).await;
        }
    }

    /// A batch that finally failed: each record per `behavior.on.error`.
    async fn failed(
        &self,
        method: &reqwest::Method,
        records: &[&SinkRecord],
        f: Failure,
    ) -> Result<(), ConnectError> {
        let answer = match f.status {
            Some(s) => format!("answered HTTP {s}"),
            None => "could not be reached".to_owned(),
        };
        let detail = match &self.reporter {
            Some(r) if r.includes_messages() && !f.detail.is_empty() => format!(": {}", f.detail),
            _ => String::new(),
        };
        for rec in records {
            // The configured URL, not the substituted one: a key in the URL may be patient data.
            let msg = format!(
                "{method} {} {answer} for record {}{detail}",
                self.cfg.url, rec.original
            );
            match self.cfg.on_error {
                OnError::Fail => match &self.reporter {
                    Some(r) => r.report(rec, &ConnectError::other(msg)).await?,
                    None => return Err(ConnectError::other(msg)),
                },
                OnError::Log | OnError::Ignore => {
                    if self.cfg.on_error == OnError::Log {
                        tracing::warn!("{msg}; skipped (behavior.on.error=log)");
                    }
                    if let Some(r) = self.reporter.as_ref().filter(|r| r.tolerates()) {
                        r.report(rec, &ConnectError::other(msg)).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn flush_batch(
        &self,
        batch: &mut Vec<&SinkRecord>,
        url: &str,
    ) -> Result<(), ConnectError> {
        if batch.is_empty() {
            return Ok(());
        }
        let body = self.batch_body(batch);
        let method = self.cfg.method.clone();
        match self.send(method.clone(), url, Some(body)).await {
            Ok(()) => {}
            Err(SendError::Records(f)) => self.failed(&method, batch, f).await?,
            Err(SendError::Task(e)) => return Err(e),
        }
        batch.clear();
        Ok(())
    }
}

#[async_trait]
impl SinkTask for HttpSinkTask {
    async fn start(&mut self, ctx: SinkTaskContext) -> Result<(), ConnectError> {
        let cfg = HttpSinkConfig::parse(&ctx.config)?;
        let client = cfg.client.build()?;
        let content_type = if cfg.json_body || cfg.template.is_some() {
            "application/json"
        } else {
            "text/plain"
        }
        .to_owned();
        tracing::info!(url = %cfg.url, auth = ?cfg.auth, "HTTP sink started");
        let tokens = cfg
            .oauth2
            .clone()
            .map(|c| TokenSource::new(c, client.clone()));
        self.state = Some(State {
            cfg,
            client,
            reporter: ctx.errant_record_reporter,
            tokens,
            json: JsonConverter::new(false),
            content_type,
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let Some(st) = &self.state else {
            return Err(ConnectError::other("put before start"));
        };
        let mut batch: Vec<&SinkRecord> = Vec::new();
        let mut batch_url = String::new();
        for r in records {
            if r.record.value.is_null() {
                st.flush_batch(&mut batch, &batch_url).await?;
                match st.cfg.null_values {
                    NullValues::Ignore => {}
                    NullValues::Log => tracing::info!(record = %r.original, "null value skipped"),
                    NullValues::Delete => {
                        let url = url_for(&st.cfg.url, r);
                        match st.send(reqwest::Method::DELETE, &url, None).await {
                            Ok(()) => {}
                            Err(SendError::Records(f)) => {
                                st.failed(&reqwest::Method::DELETE, &[r], f).await?
                            }
                            Err(SendError::Task(e)) => return Err(e),
                        }
                    }
                    NullValues::Fail => {
                        let e = ConnectError::Data(DataError::new(format!(
                            "record {} has a null value (behavior.on.null.values=fail)",
                            r.original
                        )));
                        match &st.reporter {
                            Some(rep) => rep.report(r, &e).await?,
                            None => return Err(e),
                        }
                    }
                }
                continue;
            }
            let url = url_for(&st.cfg.url, r);
            if !batch.is_empty() && (url != batch_url || batch.len() >= st.cfg.batch_max_size) {
                st.flush_batch(&mut batch, &batch_url).await?;
            }
            batch.push(r);
            batch_url = url;
        }
        st.flush_batch(&mut batch, &batch_url).await
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.state = None;
        Ok(())
    }
}
