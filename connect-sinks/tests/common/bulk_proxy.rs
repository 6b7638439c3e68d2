//! A fault-injecting HTTP proxy in front of a real OpenSearch API server: every request is forwarded;
//! in `_bulk` requests a chosen share of the actions is held back from the server and answered as
//! item-level 429s (`es_rejected_execution_exception`) spliced into the server's real answer, so a
//! document the sink fails to retry is really missing. It records each request's Authorization
//! header. HTTP/1.1 with Content-Length bodies, keep-alive, as reqwest sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub struct BulkProxy {
    pub url: String,
    pub auth_headers: Arc<Mutex<Vec<String>>>,
    pub rejected: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BulkProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BulkProxy {
    /// A proxy to `upstream` rejecting `per_mille` of the bulk actions.
    pub async fn start(upstream: String, per_mille: u32) -> BulkProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let auth_headers = Arc::new(Mutex::new(Vec::new()));
        let rejected = Arc::new(AtomicU64::new(0));
        let (a, r) = (auth_headers.clone(), rejected.clone());
        let client = reqwest::Client::new();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let (a, r, c, up) = (a.clone(), r.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(s, up, c, per_mille, a, r).await;
                });
            }
        });
        BulkProxy {
            url,
            auth_headers,
            rejected,
            task,
        }
    }
}

async fn serve(
    s: TcpStream,
    upstream: String,
    client: reqwest::Client,
    per_mille: u32,
    auth: Arc<Mutex<Vec<String>>>,
    rejected: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let (rd, mut wr) = s.into_split();
    let mut rd = BufReader::new(rd);
    while let Some(req) = super::http1::read_request(&mut rd).await? {
        if let Some((_, a)) = req.headers.iter().find(|(k, _)| k == "authorization") {
            auth.lock().unwrap().push(a.clone());
        }
        let (method, path, body) = (req.method, req.path, req.body);
        let (status, answer) = if path.starts_with("/_bulk") && per_mille > 0 {
            bulk(&client, &upstream, &body, per_mille, &rejected).await
        } else {
            let resp = client
                .request(method.parse().unwrap(), format!("{upstream}{path}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        wr.write_all(head.as_bytes()).await?;
        wr.write_all(&answer).await?;
    }
    Ok(())
}

async fn bulk(
    client: &reqwest::Client,
    upstream: &str,
    body: &[u8],
    per_mille: u32,
    rejected: &AtomicU64,
) -> (u16, Vec<u8>) {
    // Split the body into actions (an action line, then a document line unless it is a delete).
    let text = std::str::from_utf8(body).unwrap();
    let mut lines = text.lines().filter(|l| !l.is_empty());
    let mut actions: Vec<(Json, String)> = Vec::new();
    while let Some(a) = lines.next() {
        let meta: Json = serde_json::from_str(a).unwrap();
        let mut raw = format!("{a}\n");
        if meta.get("delete").is_none() {
            raw.push_str(lines.next().unwrap());
            raw.push('\n');
        }
        actions.push((meta, raw));
    }
    let reject: Vec<bool> = (0..actions.len())
        .map(|_| rand::random_range(0..1000) < per_mille)
        .collect();
    let forwarded: String = actions
        .iter()
        .zip(&reject)
        .filter(|(_, r)| !**r)
        .map(|((_, raw), _)| raw.as_str())
        .collect();
    let mut real_items: std::collections::VecDeque<Json> = if forwarded.is_empty() {
        Default::default()
    } else {
        let resp = client
            .post(format!("{upstream}/_bulk"))
            .header("content-type", "application/x-ndjson")
            .body(forwarded)
            .send()
            .await
            .unwrap();
        let v: Json = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        v["items"].as_array().unwrap().iter().cloned().collect()
    };
    let mut items = Vec::new();
    let mut errors = false;
    for ((meta, _), r) in actions.iter().zip(&reject) {
        if *r {
            rejected.fetch_add(1, Ordering::Relaxed);
            errors = true;
            let (op, m) = meta.as_object().unwrap().iter().next().unwrap();
            items.push(json!({op: {"_index": m["_index"], "_id": m["_id"], "status": 429,
                "error": {"type": "es_rejected_execution_exception", "reason": "rejected by the test proxy"}}}));
        } else {
            let it = real_items.pop_front().unwrap();
            let st = it.as_object().unwrap().values().next().unwrap()["status"]
                .as_u64()
                .unwrap_or(500);
            errors |= !(200..300).contains(&st);
            items.push(it);
        }
    }
    (
        200,
        serde_json::to_vec(&json!({"took": 1, "errors": errors, "items": items})).unwrap(),
    )
}
