//! The OpenSearch API peer: osmem-server (an in-memory OpenSearch-compatible server with real per-item
//! `_bulk` statuses), installed by `scripts/setup.sh` into `target/search-venv`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;

use crate::process::{wait_ready, Process};

/// An osmem-server on a free loopback port, killed (SIGKILL) on drop.
pub struct OpenSearch {
    _process: Process,
    port: u16,
}

fn binary() -> PathBuf {
    // Where scripts/setup.sh installs it.
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/search-venv");
    let lib = venv.join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.flatten()
            .map(|d| d.path().join("site-packages/osmem_server/bin/osmem-server"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "osmem-server is not installed under {}: run scripts/setup.sh",
            venv.display()
        )
    })
}

impl OpenSearch {
    /// Starts the server and waits (up to 30 s) until it answers.
    pub fn start() -> OpenSearch {
        let port = crate::free_port();
        let mut child = Command::new(binary())
            .args(["--addr", &format!("127.0.0.1:{port}"), "--no-stdin-watch"])
            .args(["--parent-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("osmem-server starts");
        // It prints one JSON line with its URL once it listens; the rest of its output is drained.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let mut process = Process::default();
        process.set(child);
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("osmem-server printed its address");
        let ready: Json = serde_json::from_str(&line).expect("osmem-server's ready line is JSON");
        assert!(ready.get("url").is_some(), "unexpected ready line {line}");
        let os = OpenSearch {
            _process: process,
            port,
        };
        wait_ready("osmem-server", Duration::from_secs(30), None, || {
            os.request("GET", "/", None).is_ok()
        });
        os
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One request through `curl` (a client independent of the sink under test): the parsed JSON
    /// answer whatever the status, or why there was none.
    pub fn request(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Json, String> {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-X", method, &format!("{}{path}", self.url())])
            .args(["-H", "content-type: application/json"]);
        if let Some(b) = body {
            cmd.args(["--data-binary", &b.to_string()]);
        }
        let out = crate::process::output_text(cmd.output())?;
        serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))
    }

    /// The document `id` of `index` (`_source`), or None when it is not there.
    pub fn document(&self, index: &str, id: &str) -> Option<Json> {
        let got = self
            .request("GET", &format!("/{index}/_doc/{id}"), None)
            .ok()?;
        (got["found"] == Json::Bool(true)).then(|| got["_source"].clone())
    }

    /// Every document of `index` as (id, version, source), read with a match_all search after a
    /// refresh.
    pub fn documents(&self, index: &str) -> Vec<(String, i64, Json)> {
        let _ = self.request("POST", &format!("/{index}/_refresh"), None);
        let mut out = Vec::new();
        let mut from = 0;
        loop {
            let q = serde_json::json!({"from": from, "size": 10000, "version": true,
                "query": {"match_all": {}}, "sort": ["_doc"]});
            let got = self
                .request("POST", &format!("/{index}/_search"), Some(&q))
                .expect("search answers");
            let hits = got["hits"]["hits"].as_array().cloned().unwrap_or_default();
            if hits.is_empty() {
                break;
            }
            from += hits.len();
            for h in hits {
                out.push((
                    h["_id"].as_str().unwrap_or_default().to_owned(),
                    h["_version"].as_i64().unwrap_or(-1),
                    h["_source"].clone(),
                ));
            }
        }
        out
    }
}
