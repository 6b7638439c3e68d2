//! The quickstart pipeline against a separate Kafka-compatible broker process (tansu), not only the
//! in-process mock cluster. The test starts the broker on a free loopback port and stops it at the end.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Broker {
    child: Child,
    addr: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

fn start_broker() -> Broker {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
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
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "tansu did not start listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_runs_against_a_separate_broker_process() {
    let broker = start_broker();
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        Duration::from_secs(120),
        connect_examples::quickstart::run(Some(&broker.addr), dir.path()),
    )
    .await
    .expect("quickstart against tansu timed out")
    .expect("quickstart against tansu failed");
    assert_eq!(
        summary.output_lines.len(),
        connect_examples::quickstart::REGISTRATIONS.len()
    );
    for line in &summary.output_lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["ssn"], "***-**-****");
        assert_eq!(v["source_system"], "registration-desk");
    }
    assert_eq!(summary.sink.records_failed, 0);
    drop(broker);
}
