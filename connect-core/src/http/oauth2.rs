//! OAuth2 client credentials (RFC 6749 §4.4): a token fetched from the token URL, kept until shortly
//! before it expires, fetched again then or after the server answered 401.

use std::time::{Duration, Instant};

use crate::error::ConnectError;

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMode {
    /// HTTP basic with the client id and secret (RFC 6749's preferred form).
    Header,
    /// `client_id` and `client_secret` in the form body.
    Url,
}

/// The client-credentials grant's settings. `Debug` hides the secret.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The token endpoint.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Requested scope, if any.
    pub scope: Option<String>,
    /// The answer's property holding the token (`access_token`).
    pub token_property: String,
    /// How the client authenticates.
    pub auth_mode: ClientAuthMode,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A cached token and when to fetch the next one.
struct Cached {
    token: String,
    refresh_at: Instant,
}

/// Tokens for one client, shared by the requests of a task.
pub struct TokenSource {
    creds: ClientCredentials,
    client: reqwest::Client,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

/// Token lifetimes are bounded: a server's `expires_in` of years does not park a stale token.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Without `expires_in`, a token is used this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

impl TokenSource {
    /// A source using `client` for the token requests.
    pub fn new(creds: ClientCredentials, client: reqwest::Client) -> Self {
        TokenSource {
            creds,
            client,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one when there is none or it expires within a tenth
    /// of its lifetime (at least 5 s).
    pub async fn token(&self) -> Result<String, ConnectError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = self.fetch().await?;
        let early = (lifetime / 10)
            .max(Duration::from_secs(5))
            .min(lifetime / 2);
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - early,
        });
        Ok(token)
    }

    /// Drops the cached token (the server answered 401 with it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<(String, Duration), ConnectError> {
        let c = &self.creds;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = &c.scope {
            form.push(("scope", s));
        }
        if c.auth_mode == ClientAuthMode::Url {
            form.push(("client_id", &c.client_id));
            form.push(("client_secret", &c.client_secret));
        }
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self
            .client
            .post(&c.token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if c.auth_mode == ClientAuthMode::Header {
            // RFC 6749 §2.3.1: id and secret form-encoded before the basic encoding.
            req = super::Auth::Basic {
                user: form_encode(&c.client_id),
                password: form_encode(&c.client_secret),
            }
            .apply(req);
        }
        let resp = req.send().await.map_err(|e| {
            ConnectError::retriable(format!(
                "OAuth2 token request to {} failed: {}",
                c.token_url,
                e.without_url()
            ))
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            // The error code of RFC 6749 §5.2 (invalid_client, ...), never the request's secret.
            let code = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
            let msg = format!(
                "OAuth2 token request to {} answered HTTP {status}{}",
                c.token_url,
                code.map(|c| format!(" ({c})")).unwrap_or_default()
            );
            return Err(if status >= 500 || status == 429 {
                ConnectError::retriable(msg)
            } else {
                ConnectError::other(msg)
            });
        }
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
            ConnectError::other(format!(
                "OAuth2 token answer from {} is not JSON",
                c.token_url
            ))
        })?;
        let token = v
            .get(&c.token_property)
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ConnectError::other(format!(
                    "OAuth2 token answer from {} has no '{}'",
                    c.token_url, c.token_property
                ))
            })?;
        let lifetime = v
            .get("expires_in")
            .and_then(|e| e.as_u64().or_else(|| e.as_str()?.parse().ok()))
            .map(|s| Duration::from_secs(s.min(MAX_LIFETIME.as_secs())))
            .unwrap_or(DEFAULT_LIFETIME);
        Ok((token.to_owned(), lifetime))
    }
}

fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A token endpoint answering each request with the next scripted (status, body), recording
    /// the requests' raw text.
    async fn endpoint(answers: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = vec![0; 8192];
                let n = s.read(&mut buf).await.unwrap();
                s2.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(resp.as_bytes()).await.unwrap();
            }
        });
        (url, seen)
    }

    fn creds(url: &str, mode: ClientAuthMode) -> ClientCredentials {
        ClientCredentials {
            token_url: url.into(),
            client_id: "lab-notifier".into(),
            client_secret: "s3cr&t".into(),
            scope: Some("alerts.write".into()),
            token_property: "access_token".into(),
            auth_mode: mode,
        }
    }

    #[tokio::test]
    async fn tokens_are_cached_refreshed_and_invalidated() {
        let (url, seen) = endpoint(vec![
            (200, r#"{"access_token":"t1","expires_in":3600}"#.into()),
            (200, r#"{"access_token":"t2","expires_in":"3600"}"#.into()),
        ])
        .await;
        let src = TokenSource::new(creds(&url, ClientAuthMode::Header), reqwest::Client::new());
        assert_eq!(src.token().await.unwrap(), "t1");
        assert_eq!(src.token().await.unwrap(), "t1", "cached");
        src.invalidate().await;
        assert_eq!(src.token().await.unwrap(), "t2");
        let reqs = seen.lock().unwrap().clone();
        assert_eq!(reqs.len(), 2);
        // Basic over the form-encoded id and secret; the grant and scope in the body.
        let auth = reqs[0]
            .lines()
            .find_map(|l| l.strip_prefix("authorization: "))
            .unwrap_or_default();
        assert_eq!(auth, "Basic bGFiLW5vdGlmaWVyOnMzY3IlMjZ0");
        assert!(
            reqs[0].ends_with("grant_type=client_credentials&scope=alerts.write"),
            "{}",
            reqs[0]
        );
    }

    #[tokio::test]
    async fn short_lived_tokens_are_fetched_again_and_failures_name_no_secret() {
        let (url, seen) = endpoint(vec![
            (200, r#"{"access_token":"t1","expires_in":1}"#.into()),
            (200, r#"{"access_token":"t2","expires_in":1}"#.into()),
            (
                401,
                r#"{"error":"invalid_client","error_description":"s3cr&t is wrong"}"#.into(),
            ),
        ])
        .await;
        let src = TokenSource::new(creds(&url, ClientAuthMode::Url), reqwest::Client::new());
        assert_eq!(src.token().await.unwrap(), "t1");
        // A one-second token is refreshed at half its life.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(src.token().await.unwrap(), "t2");
        assert!(seen.lock().unwrap()[0].contains("client_secret=s3cr%26t"));
        src.invalidate().await;
        let e = src.token().await.unwrap_err().to_string();
        assert!(
            e.contains("401") && e.contains("invalid_client") && e.contains("/token"),
            "{e}"
        );
        assert!(!e.contains("s3cr"), "{e}");
    }
}
