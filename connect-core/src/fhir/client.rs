//! One FHIR REST client for the FHIR connectors: requests relative to a base URL, credentials,
//! retries and bounded answers.
//!
//! Retried: 429 and 503 after their `Retry-After` (capped), 408 and other 5xx and transport errors
//! (refused connections, timeouts) with exponential backoff, up to the policy's retries. A 401 drops
//! the OAuth2 token and is tried once more with a new one. Everything else is returned as it is:
//! a connector decides what a 4xx means for its record.

use std::time::Duration;

use bytes::Bytes;

use crate::error::ConnectError;
use crate::http::{read_capped, retry_after, Auth, BodyError, RetryPolicy, TokenSource};

use super::outcome::OutcomeSummary;

/// The longest wait a `Retry-After` may ask for.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(120);

/// A request: method, a URL relative to the base (or absolute, as a `next` link), an optional
/// body, and the label errors use instead of the URL (a URL can hold an identifier value).
#[derive(Debug, Clone)]
pub struct FhirRequest {
    /// The method.
    pub method: reqwest::Method,
    /// `Patient/123`, `Patient?_count=10`, `` (the base, for a transaction) or an absolute URL.
    pub url: String,
    /// A JSON body.
    pub body: Option<Bytes>,
    /// `If-Match` and the like.
    pub headers: Vec<(&'static str, String)>,
    /// What errors name: `PUT Patient/[id]`.
    pub label: String,
}

impl FhirRequest {
    /// A GET.
    pub fn get(url: impl Into<String>, label: impl Into<String>) -> Self {
        FhirRequest {
            method: reqwest::Method::GET,
            url: url.into(),
            body: None,
            headers: vec![],
            label: label.into(),
        }
    }
}

/// A 2xx answer, or the final answer of a request whose status a connector must judge.
#[derive(Debug, Clone)]
pub struct FhirResponse {
    /// The status.
    pub status: u16,
    /// The body (at most the client's limit).
    pub body: Bytes,
    /// The `Date` header (the server's clock).
    pub date: Option<String>,
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `Location` or `Content-Location` header.
    pub location: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// The server answered with a status that is not retried, or retries ran out. The summary
    /// holds issue codes and locations, never the server's free text (see [`OutcomeSummary`]).
    #[error("{label} at {base} answered {status}{}", outcome.as_ref().map(|o| format!(": {o}")).unwrap_or_default())]
    Status {
        /// The request's label.
        label: String,
        /// The server's base URL.
        base: String,
        /// The status.
        status: u16,
        /// The OperationOutcome in the body, if it was one.
        outcome: Option<OutcomeSummary>,
        /// Whether a later try may succeed (408, 429, 5xx after the retries ran out).
        retriable: bool,
    },
    /// No answer: connection refused or reset, timeout (after the retries ran out).
    #[error("{label} at {base} failed: {reason}")]
    Transport {
        /// The request's label.
        label: String,
        /// The server's base URL.
        base: String,
        /// reqwest's reason, without the URL.
        reason: String,
    },
    /// The answer was larger than the client accepts.
    #[error("{label} at {base}: the answer is larger than {limit} bytes")]
    TooLarge {
        /// The request's label.
        label: String,
        /// The server's base URL.
        base: String,
        /// The limit.
        limit: usize,
    },
    /// No token from the OAuth2 token endpoint.
    #[error("{0}")]
    Token(ConnectError),
}

impl FhirError {
    /// Whether the runtime should try again later rather than fail.
    pub fn is_retriable(&self) -> bool {
        match self {
            FhirError::Status { retriable, .. } => *retriable,
            FhirError::Transport { .. } => true,
            FhirError::TooLarge { .. } => false,
            FhirError::Token(e) => e.is_retriable(),
        }
    }

    /// The message, with the OperationOutcome's free text when `include_text` (only where
    /// `errors.log.include.messages=true`: the text can quote data).
    pub fn describe(&self, include_text: bool) -> String {
        match self {
            FhirError::Status {
                label,
                base,
                status,
                outcome: Some(o),
                ..
            } if include_text => format!(
                "{label} at {base} answered {status}: {}",
                o.with_diagnostics()
            ),
            e => e.to_string(),
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            FhirError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<FhirError> for ConnectError {
    fn from(e: FhirError) -> Self {
        if e.is_retriable() {
            ConnectError::retriable(e)
        } else {
            ConnectError::other(e)
        }
    }
}

/// Credentials of a FHIR client.
pub enum Credentials {
    /// Fixed (none, basic, bearer).
    Static(Auth),
    /// OAuth2 client credentials.
    OAuth2(TokenSource),
}

/// A FHIR REST client bound to one server.
pub struct FhirClient {
    base: String,
    http: reqwest::Client,
    credentials: Credentials,
    retry: RetryPolicy,
    max_body: usize,
}

impl FhirClient {
    /// A client for the server at `base` (`https://fhir.example/fhir`; a trailing `/` is dropped).
    /// Answers larger than `max_body` bytes fail the request.
    pub fn new(
        base: &str,
        http: reqwest::Client,
        credentials: Credentials,
        retry: RetryPolicy,
        max_body: usize,
    ) -> Self {
        FhirClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
            credentials,
            retry,
            max_body,
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `url` (relative to the base unless it has a scheme).
    pub fn absolute(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.to_owned()
        } else if url.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{}", self.base, url.trim_start_matches('/'))
        }
    }

    /// Sends a request, retrying what is worth retrying. `Ok` holds an answer below 300; any other
    /// final answer is a [`FhirError::Status`] with its OperationOutcome summarised.
    pub async fn send(&self, req: &FhirRequest) -> Result<FhirResponse, FhirError> {
        let url = self.absolute(&req.url);
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        loop {
            let mut b = self
                .http
                .request(req.method.clone(), &url)
                .header(reqwest::header::ACCEPT, "application/fhir+json");
            for (k, v) in &req.headers {
                b = b.header(*k, v);
            }
            if let Some(body) = &req.body {
                b = b
                    .header(reqwest::header::CONTENT_TYPE, "application/fhir+json")
                    .body(body.clone());
            }
            b = match &self.credentials {
                Credentials::Static(a) => a.apply(b),
                Credentials::OAuth2(t) => {
                    let token = t.token().await.map_err(FhirError::Token)?;
                    Auth::Bearer(token).apply(b)
                }
            };
            let wait = match b.send().await {
                Err(e) => {
                    if !self.retry.allows(attempt) {
                        return Err(FhirError::Transport {
                            label: req.label.clone(),
                            base: self.base.clone(),
                            reason: describe(&e),
                        });
                    }
                    self.retry.delay(attempt + 1)
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if status == 401 && !refreshed {
                        if let Credentials::OAuth2(t) = &self.credentials {
                            refreshed = true;
                            t.invalidate().await;
                            continue;
                        }
                    }
                    let later = retry_after(resp.headers(), RETRY_AFTER_CAP);
                    let retriable = status == 408 || status == 429 || status >= 500;
                    if retriable && self.retry.allows(attempt) {
                        match (status, later) {
                            (429 | 503, Some(d)) => d,
                            _ => self.retry.delay(attempt + 1),
                        }
                    } else {
                        let header = |h: reqwest::header::HeaderName| {
                            resp.headers()
                                .get(h)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        let date = header(reqwest::header::DATE);
                        let etag = header(reqwest::header::ETAG);
                        let location = header(reqwest::header::LOCATION)
                            .or_else(|| header(reqwest::header::CONTENT_LOCATION));
                        let body = self.read_body(req, resp).await?;
                        if status < 300 {
                            return Ok(FhirResponse {
                                status,
                                body,
                                date,
                                etag,
                                location,
                            });
                        }
                        return Err(FhirError::Status {
                            label: req.label.clone(),
                            base: self.base.clone(),
                            status,
                            outcome: OutcomeSummary::parse(&body),
                            retriable,
                        });
                    }
                }
            };
            attempt += 1;
            tracing::debug!(request = %req.label, attempt, wait_ms = wait.as_millis() as u64, "retrying a FHIR request");
            tokio::time::sleep(wait).await;
        }
    }

    async fn read_body(
        &self,
        req: &FhirRequest,
        resp: reqwest::Response,
    ) -> Result<Bytes, FhirError> {
        read_capped(resp, self.max_body).await.map_err(|e| match e {
            BodyError::TooLarge => FhirError::TooLarge {
                label: req.label.clone(),
                base: self.base.clone(),
                limit: self.max_body,
            },
            BodyError::Transport(e) => FhirError::Transport {
                label: req.label.clone(),
                base: self.base.clone(),
                reason: describe(&e),
            },
        })
    }
}

/// reqwest's error without its URL (which may hold an identifier).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} ({detail})")
    }
}
