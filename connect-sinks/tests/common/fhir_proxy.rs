//! A fault-injecting proxy in front of a real FHIR server (hfs) for the FHIR sink's tests:
//!
//! * `POST /token` is an OAuth2 client-credentials endpoint whose tokens claim a long life but
//!   stop working after `token_life` (so the sink must fetch a new one after a 401);
//! * every other request needs a working token (401 otherwise), and a share of them is answered
//!   429 with `Retry-After: 1` without reaching the server;
//! * the rest is forwarded; when the server is down the proxy answers 502.
//!
//! It records each forwarded request's method and path. HTTP/1.1 with Content-Length bodies, as
//! reqwest sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
pub struct Counters {
    pub tokens_issued: AtomicU64,
    pub unauthorized: AtomicU64,
    pub throttled: AtomicU64,
    pub bad_gateway: AtomicU64,
    pub forwarded: Mutex<Vec<(String, String)>>,
}

pub struct FhirProxy {
    pub url: String,
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FhirProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Setup {
    upstream: String,
    token_life: Duration,
    throttle_per_mille: u32,
    tokens: Mutex<Vec<(String, Instant)>>,
    counters: Arc<Counters>,
    client: reqwest::Client,
}

impl FhirProxy {
    pub async fn start(
        upstream: String,
        token_life: Duration,
        throttle_per_mille: u32,
    ) -> FhirProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let setup = Arc::new(Setup {
            upstream,
            token_life,
            throttle_per_mille,
            tokens: Mutex::new(Vec::new()),
            counters: counters.clone(),
            client: reqwest::Client::new(),
        });
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let setup = setup.clone();
                tokio::spawn(async move {
                    let _ = serve(s, setup).await;
                });
            }
        });
        FhirProxy {
            url,
            counters,
            task,
        }
    }

    pub fn forwarded(&self) -> Vec<(String, String)> {
        self.counters.forwarded.lock().unwrap().clone()
    }
}

fn outcome(code: &str) -> Vec<u8> {
    format!(
        r#"{{"resourceType":"OperationOutcome","issue":[{{"severity":"error","code":"{code}"}}]}}"#
    )
    .into_bytes()
}

async fn serve(s: TcpStream, setup: Arc<Setup>) -> std::io::Result<()> {
    let (rd, mut wr) = s.into_split();
    let mut rd = BufReader::new(rd);
    while let Some(req) = super::http1::read_request(&mut rd).await? {
        let c = &setup.counters;
        let (status, extra, body): (u16, &str, Vec<u8>) = if req.path == "/token" {
            let n = c.tokens_issued.fetch_add(1, Ordering::SeqCst);
            let token = format!("tok-{n}");
            setup
                .tokens
                .lock()
                .unwrap()
                .push((token.clone(), Instant::now() + setup.token_life));
            (
                200,
                "",
                format!(r#"{{"access_token":"{token}","token_type":"bearer","expires_in":3600}}"#)
                    .into_bytes(),
            )
        } else {
            let bearer = req
                .headers
                .iter()
                .find(|(k, _)| k == "authorization")
                .and_then(|(_, v)| v.strip_prefix("Bearer ").map(str::to_owned));
            let valid = bearer.is_some_and(|b| {
                setup
                    .tokens
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(t, until)| *t == b && Instant::now() < *until)
            });
            if !valid {
                c.unauthorized.fetch_add(1, Ordering::SeqCst);
                (401, "", outcome("login"))
            } else if rand::random_range(0..1000) < setup.throttle_per_mille {
                c.throttled.fetch_add(1, Ordering::SeqCst);
                (429, "retry-after: 1\r\n", outcome("throttled"))
            } else {
                c.forwarded
                    .lock()
                    .unwrap()
                    .push((req.method.clone(), req.path.clone()));
                let sent = setup
                    .client
                    .request(
                        req.method.parse().unwrap(),
                        format!("{}{}", setup.upstream, req.path),
                    )
                    .header("content-type", "application/fhir+json")
                    .body(req.body)
                    .send()
                    .await;
                match sent {
                    Ok(r) => {
                        let st = r.status().as_u16();
                        (st, "", r.bytes().await.unwrap_or_default().to_vec())
                    }
                    Err(_) => {
                        c.bad_gateway.fetch_add(1, Ordering::SeqCst);
                        (502, "", outcome("transient"))
                    }
                }
            }
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/fhir+json\r\n{extra}content-length: {}\r\n\r\n",
            body.len()
        );
        wr.write_all(head.as_bytes()).await?;
        wr.write_all(&body).await?;
    }
    Ok(())
}
