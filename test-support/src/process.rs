//! The child process behind every peer: killed (SIGKILL) when asked or dropped, waited for readiness.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// A peer's server process, or none while it is down.
#[derive(Debug, Default)]
pub(crate) struct Process(Option<Child>);

impl Process {
    /// Holds a started server.
    pub(crate) fn set(&mut self, child: Child) {
        self.0 = Some(child);
    }

    /// SIGKILL, then waits for the exit (no clean shutdown: a crash).
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `cmd` (its standard streams closed) as the peer `what`, and waits up to 60 s until it
/// accepts connections on `port` of 127.0.0.1. Panics naming `what` if it does not start.
pub(crate) fn spawn_listening(what: &str, mut cmd: std::process::Command, port: u16) -> Process {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
    let mut process = Process::default();
    process.set(child);
    wait_ready(what, Duration::from_secs(60), None, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    process
}

/// Waits until `ready` holds, at most `timeout`; panics naming `what` with the server's log.
pub(crate) fn wait_ready(
    what: &str,
    timeout: Duration,
    log: Option<&Path>,
    ready: impl Fn() -> bool,
) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not start: {}",
            log.and_then(|l| std::fs::read_to_string(l).ok())
                .unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client's output: stdout when it succeeded, stderr (or why it did not run) when not.
pub(crate) fn output_text(out: std::io::Result<std::process::Output>) -> Result<String, String> {
    let out = out.map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Standard base64 (the Python clients' way of passing bytes through JSON).
pub(crate) fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let n = chunk.iter().filter(|c| **c != b'=').count();
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            if *c != b'=' {
                acc |= val(*c) << (18 - 6 * i);
            }
        }
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..n.saturating_sub(1)]);
    }
    out
}
