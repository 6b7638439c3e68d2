//! What the MLLP source tests share: corpus files, a free loopback address, waiting for a listener.

use std::net::TcpListener as StdListener;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// A message of the shared corpus.
pub fn corpus(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/hl7/corpus/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

/// A loopback address with a port nothing listens on.
pub fn free_addr() -> String {
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// Waits (up to 10 s) until something accepts connections on `addr`.
pub async fn wait_for_listener(addr: &str) {
    let start = Instant::now();
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "listener did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
