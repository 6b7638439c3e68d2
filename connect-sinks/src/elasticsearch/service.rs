//! Sends bulk bodies to the cluster: nodes tried in turn, busy answers and broken connections
//! retried with backoff, an answer that can never succeed (401, 403, 400 on the whole request)
//! returned as a failure naming the node and the status.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use connect_core::error::ConnectError;
use connect_core::http::{retry_after, Auth, RetryPolicy};

/// A bulk endpoint over one or more nodes.
pub struct BulkService {
    client: reqwest::Client,
    urls: Vec<String>,
    auth: Auth,
    retry: RetryPolicy,
    next: AtomicUsize,
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
                        match resp.bytes().await {
                            Ok(b) => return Ok(b),
                            Err(e) => {
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
