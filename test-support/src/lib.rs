//! Real peers for the tests of every crate, each started on a free loopback port and stopped when its
//! guard is dropped. Installed by `scripts/setup.sh`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A `tansu` Kafka broker process with in-memory storage. Killed (SIGKILL) on drop.
pub struct Tansu {
    child: Option<Child>,
    port: u16,
}

fn tansu_bin() -> PathBuf {
    if let Ok(p) = std::env::var("TANSU_BIN") {
        return PathBuf::from(p);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = PathBuf::from(dir).join("tansu");
        if p.is_file() {
            return p;
        }
    }
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/tansu");
    if home.is_file() {
        return home;
    }
    panic!("tansu is not installed: run scripts/setup.sh (cargo install tansu --locked --features dynostore,postgres)");
}

impl Tansu {
    /// Starts a broker on a free port and waits (up to 20 s) until it accepts connections.
    pub fn start() -> Tansu {
        let mut t = Tansu {
            child: None,
            port: free_port(),
        };
        t.spawn();
        t
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(tansu_bin())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tansu");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(self.addr()).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "tansu did not start listening on {}",
                self.addr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL: no clean shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `tracing` writer that keeps everything written, for tests that scan logs (for patient data, say).
/// `tracing_subscriber::fmt().with_writer(move || logs.clone())`.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
