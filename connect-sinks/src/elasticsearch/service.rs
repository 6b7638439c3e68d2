//! Sends bulk bodies to the cluster: nodes tried in turn, busy answers and broken connections
//! retried with backoff, an answer that can never succeed (401, 403, 400 on the whole request)
//! returned as a failure naming the node and the status.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use connect_core::error::ConnectError;
use connect_core::http::{read_capped, retry_after, Auth, BodyError, RetryPolicy};

/// A bulk endpoint over one or more nodes.
pub struct BulkService {
    client: reqwest::Client,
    urls: Vec<String>,
    auth: Auth,
    retry: RetryPolicy,
    next: AtomicUsize,
}

/// The largest mapping answer read (one index's mapping; real ones are kilobytes).
const MAPPING_ANSWER_LIMIT: usize = 16 << 20;

/// The largest bulk answer read for a request of `request_bytes`: item results are far smaller than
/// the documents they answer, even with reasons, so four times the request (at least 64 MiB) is
/// never a real answer.
fn bulk_answer_limit(request_bytes: usize) -> usize {
    request_bytes.saturating_mul(4).max(64 << 20)
}

/// The longest wait a `Retry-After` may ask for.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

impl BulkService {
    /// A service over `urls` (at least one).
    pub fn new(client: reqwest::Client, urls: Vec<String>, auth: Auth, retry: RetryPolicy) -> Self {
        BulkService {
            client,
            urls,
            auth,
            retry,
            next: AtomicUsize::new(0),
        }
    }

    /// Posts one bulk body and returns the answer's bytes (HTTP 200). Retries failed connections on
    /// the next node and busy answers (429, 502, 503, 504) with backoff, up to `max.retries`; then
    /// a retriable error (the runtime hands the batch back). Other statuses fail at once.
    pub async fn send(&self, body: Bytes) -> Result<Bytes, ConnectError> {
        let mut attempt = 0u32;
        loop {
            let i = self.next.load(Ordering::Relaxed) % self.urls.len();
            let url = &self.urls[i];
            let req = self
                .client
                .post(format!("{url}/_bulk"))
                .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                .body(body.clone());
            let wait = match self.auth.apply(req).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if status == 200 {
                        match read_capped(resp, bulk_answer_limit(body.len())).await {
                            Ok(b) => return Ok(b),
                            Err(BodyError::TooLarge) => {
                                return Err(ConnectError::other(format!(
                                    "{url}/_bulk answered more than {} bytes for a {}-byte request",
                                    bulk_answer_limit(body.len()),
                                    body.len()
                                )))
                            }
                            Err(BodyError::Transport(e)) => {
                                tracing::warn!(node = %url, error = %e, "reading a bulk answer failed; retrying");
                                self.next.fetch_add(1, Ordering::Relaxed);
                                None
                            }
                        }
                    } else if RetryPolicy::retriable_status(status) {
                        let after = retry_after(resp.headers(), RETRY_AFTER_CAP);
                        tracing::warn!(node = %url, status, "the cluster is busy; retrying the bulk request");
                        after
                    } else {
                        let text = resp.text().await.unwrap_or_default();
                        return Err(ConnectError::other(format!(
                            "{url}/_bulk answered HTTP {status}{}",
                            error_type(&text)
                                .map(|t| format!(" ({t})"))
                                .unwrap_or_default()
                        )));
                    }
                }
                Err(e) => {
                    // Connection refused, reset, timed out: the next node, if there is one.
                    tracing::warn!(node = %url, error = %without_url(&e), "a bulk request failed; trying the next node");
                    self.next.fetch_add(1, Ordering::Relaxed);
                    None
                }
            };
            attempt += 1;
            if !self.retry.allows(attempt - 1) {
                return Err(ConnectError::retriable(format!(
                    "bulk request to {} failed {attempt} times",
                    self.urls.join(",")
                )));
            }
            tokio::time::sleep(wait.unwrap_or_else(|| self.retry.delay(attempt))).await;
        }
    }

    /// Gives `index` the `mapping` when it has none, as Confluent's sink does with
    /// `schema.ignore=false`: an absent index is created with it, an existing index without
    /// properties gets it through `_mapping`, and an index that has properties is left as it is.
    /// A broken connection or a busy answer is retriable; any other refusal fails, naming the index
    /// and the status (and the error type, never the reason).
    pub async fn ensure_mapping(
        &self,
        index: &str,
        mapping: &serde_json::Value,
    ) -> Result<(), ConnectError> {
        let url = &self.urls[self.next.load(Ordering::Relaxed) % self.urls.len()];
        let target = format!("{url}/{index}");
        let answer = |what: &str, r: Result<reqwest::Response, reqwest::Error>| match r {
            Ok(resp) => Ok(resp),
            Err(e) => {
                self.next.fetch_add(1, Ordering::Relaxed);
                Err(ConnectError::retriable(format!(
                    "{what} of index '{index}' failed: {}",
                    without_url(&e)
                )))
            }
        };
        let resp = answer(
            "reading the mapping",
            self.auth
                .apply(self.client.get(format!("{target}/_mapping")))
                .send()
                .await,
        )?;
        let status = resp.status().as_u16();
        let (method, endpoint, body) = match status {
            404 => (
                reqwest::Method::PUT,
                target.clone(),
                serde_json::json!({ "mappings": mapping }),
            ),
            200 => {
                let current: serde_json::Value = match read_capped(resp, MAPPING_ANSWER_LIMIT).await
                {
                    Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
                    Err(BodyError::TooLarge) => {
                        return Err(ConnectError::other(format!(
                        "{target}: the mapping answer is larger than {MAPPING_ANSWER_LIMIT} bytes"
                    )))
                    }
                    Err(BodyError::Transport(e)) => {
                        return Err(ConnectError::retriable(format!(
                            "reading the mapping of index '{index}' failed: {}",
                            without_url(&e)
                        )))
                    }
                };
                let has_properties = current
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.values())
                    .any(|i| {
                        i["mappings"]["properties"]
                            .as_object()
                            .is_some_and(|p| !p.is_empty())
                    });
                if has_properties {
                    return Ok(());
                }
                (
                    reqwest::Method::PUT,
                    format!("{target}/_mapping"),
                    mapping.clone(),
                )
            }
            s => return Err(refusal(&target, "reading the mapping", s, resp).await),
        };
        let resp = answer(
            "creating the mapping",
            self.auth
                .apply(
                    self.client
                        .request(method, &endpoint)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.to_string()),
                )
                .send()
                .await,
        )?;
        match resp.status().as_u16() {
            200 | 201 => Ok(()),
            // Another task created the index first.
            400 => {
                let text = resp.text().await.unwrap_or_default();
                if error_type(&text).as_deref() == Some("resource_already_exists_exception") {
                    Ok(())
                } else {
                    Err(ConnectError::other(format!(
                        "{target}: creating the mapping answered HTTP 400{}",
                        error_type(&text)
                            .map(|t| format!(" ({t})"))
                            .unwrap_or_default()
                    )))
                }
            }
            s => Err(refusal(&target, "creating the mapping", s, resp).await),
        }
    }
}

/// An answer other than the expected ones: busy statuses are retriable, the rest fail.
async fn refusal(target: &str, what: &str, status: u16, resp: reqwest::Response) -> ConnectError {
    let text = resp.text().await.unwrap_or_default();
    let message = format!(
        "{target}: {what} answered HTTP {status}{}",
        error_type(&text)
            .map(|t| format!(" ({t})"))
            .unwrap_or_default()
    );
    if RetryPolicy::retriable_status(status) {
        ConnectError::retriable(message)
    } else {
        ConnectError::other(message)
    }
}

/// The error type of an error answer (`{"error":{"type":...}}`), never its reason (which may quote
/// a document).
fn error_type(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("error")?.get("type")?.as_str().map(str::to_owned)
}

fn without_url(e: &reqwest::Error) -> String {
    // reqwest's message includes the URL, which holds no secret here (credentials travel in a header).
    e.to_string()
}
