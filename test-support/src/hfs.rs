//! The FHIR peer: helios-hfs (the Rust FHIR server `hfs`, from crates.io), installed by
//! `scripts/setup.sh` with `cargo install helios-hfs --locked`, started on a free loopback port with
//! an SQLite database in a temporary directory and versioning on.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;

use crate::process::{wait_ready, Process};

/// An `hfs` server, killed (SIGKILL) on drop. It can be killed and started again on the same port
/// and database (a server that goes down and comes back).
pub struct Hfs {
    process: Process,
    port: u16,
    dir: tempfile::TempDir,
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HFS_BIN") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let cargo_bin = home.join(".cargo/bin/hfs");
    if cargo_bin.is_file() {
        return cargo_bin;
    }
    PathBuf::from("hfs")
}

impl Hfs {
    /// Starts a server with an empty database and waits (up to 60 s) until it answers.
    pub fn start() -> Hfs {
        let mut h = Hfs {
            process: Process::default(),
            port: crate::free_port(),
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        h.restart();
        h
    }

    /// Starts the server again (after [`kill`](Self::kill)) on the same port and database.
    pub fn restart(&mut self) {
        let db = self.dir.path().join("fhir.db");
        let log = self.dir.path().join("hfs.log");
        let log_file = std::fs::File::create(&log).expect("a log file");
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--host", "127.0.0.1"])
            .args([
                "--database-url",
                &db.display().to_string(),
                "--enable-versioning",
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("hfs starts ({e}): run scripts/setup.sh"));
        self.process.set(child);
        wait_ready("hfs", Duration::from_secs(60), Some(&log), || {
            self.request("GET", "/metadata", None)
                .is_ok_and(|(s, _)| s == 200)
        });
    }

    /// SIGKILL: the server is down until [`restart`](Self::restart).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One request through `curl` (a client independent of the connectors under test): the status
    /// and the parsed JSON answer (Null when the body is empty or not JSON).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
    ) -> Result<(u16, Json), String> {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "-X",
            method,
            "-w",
            "\n%{http_code}",
            &format!("{}{path}", self.url()),
        ])
        .args([
            "-H",
            "content-type: application/fhir+json",
            "-H",
            "accept: application/fhir+json",
        ])
        .args(["--max-time", "30"]);
        if let Some(b) = body {
            cmd.args(["--data-binary", &b.to_string()]);
        }
        let out = crate::process::output_text(cmd.output())?;
        let (text, status) = out.rsplit_once('\n').ok_or("no status")?;
        let status: u16 = status
            .trim()
            .parse()
            .map_err(|_| format!("status {status}"))?;
        Ok((status, serde_json::from_str(text).unwrap_or(Json::Null)))
    }

    /// `PUT /<type>/<id>`: the stored resource.
    pub fn put(&self, resource: &Json) -> Json {
        let path = format!(
            "/{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        let (s, r) = self
            .request("PUT", &path, Some(resource))
            .expect("PUT answers");
        assert!((200..300).contains(&s), "PUT {path}: {s} {r}");
        r
    }

    /// `GET /<type>/<id>`, or None when it is not there (or deleted).
    pub fn read(&self, resource_type: &str, id: &str) -> Option<Json> {
        let (s, r) = self
            .request("GET", &format!("/{resource_type}/{id}"), None)
            .ok()?;
        (s == 200).then_some(r)
    }

    /// `DELETE /<type>/<id>`.
    pub fn delete(&self, resource_type: &str, id: &str) {
        let (s, r) = self
            .request("DELETE", &format!("/{resource_type}/{id}"), None)
            .expect("DELETE answers");
        assert!(
            (200..300).contains(&s),
            "DELETE {resource_type}/{id}: {s} {r}"
        );
    }
}
