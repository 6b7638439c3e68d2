//! A webhook receiver: records every request (method, path, headers, body) and answers each with the
//! status a script picks. HTTP/1.1 with Content-Length bodies, keep-alive.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
}

/// The n-th request's status, extra headers and body.
type Script = Arc<dyn Fn(usize, &Received) -> (u16, Vec<(String, String)>, String) + Send + Sync>;

pub struct Receiver {
    pub url: String,
    pub log: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// `script(n, request)` gives the n-th request's (0-based) status and extra headers.
    pub async fn start(
        script: impl Fn(usize, &Received) -> (u16, Vec<(String, String)>) + Send + Sync + 'static,
    ) -> Receiver {
        Self::start_scripted(move |n, r| {
            let (s, h) = script(n, r);
            (s, h, "{}".to_owned())
        })
        .await
    }

    /// As [`Receiver::start`], the script also giving the answer's body.
    pub async fn start_with_body(
        script: impl Fn(usize, &Received) -> (u16, String) + Send + Sync + 'static,
    ) -> Receiver {
        Self::start_scripted(move |n, r| {
            let (s, b) = script(n, r);
            (s, vec![], b)
        })
        .await
    }

    async fn start_scripted(
        script: impl Fn(usize, &Received) -> (u16, Vec<(String, String)>, String)
            + Send
            + Sync
            + 'static,
    ) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let l = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let (l, sc) = (l.clone(), script.clone());
                tokio::spawn(async move {
                    let _ = serve(s, l, sc).await;
                });
            }
        });
        Receiver { url, log, task }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

async fn serve(
    s: TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    script: Script,
) -> std::io::Result<()> {
    let (rd, mut wr) = s.into_split();
    let mut rd = BufReader::new(rd);
    while let Some(r) = super::http1::read_request(&mut rd).await? {
        let mut req = Received {
            method: r.method,
            path: r.path,
            headers: r.headers,
            body: r.body,
            status: 0,
        };
        let (status, extra, body) = {
            let mut l = log.lock().unwrap();
            let n = l.len();
            let answer = script(n, &req);
            req.status = answer.0;
            l.push(req);
            answer
        };
        let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        wr.write_all(head.as_bytes()).await?;
    }
    Ok(())
}
