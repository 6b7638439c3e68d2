//! What the source tests share: corpus files, a free loopback address, waiting for a listener,
//! a running listener, sending a frame (MLLP); a MariaDB CDC connector's base config. Each test
//! binary uses a part of it.
#![allow(dead_code)]

pub mod crash;
pub mod golden;

use std::net::TcpListener as StdListener;
use std::time::{Duration, Instant};

use connect_core::config::Props;
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

/// A worker on the embedded Kafka running the MLLP source on a free loopback port.
pub struct Listener {
    pub worker: connect_core::runtime::Worker,
    pub handle: connect_core::runtime::ConnectorHandle,
    pub addr: String,
    /// The connector config it was started with (to start it again).
    pub props: connect_core::config::Props,
}

/// Starts the MLLP source (`name` `hl7-mllp`, string converters, the seed's routing topics and a
/// `dlq.hl7` topic created) with `extra` keys on top, and waits until it accepts connections.
pub async fn start_listener(
    registry: connect_core::registry::Registry,
    extra: &[(&str, &str)],
) -> Listener {
    use connect_core::config::{ConnectorConfig, Props};
    let worker = connect_core::runtime::Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap();
    let cluster = worker.embedded().unwrap();
    for t in [
        "clinical.patient.admitted",
        "clinical.result.available",
        "clinical.hl7.unrouted",
        "dlq.hl7",
    ] {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    let addr = free_addr();
    let mut props = Props::new()
        .with("name", "hl7-mllp")
        .with("connector.class", "MllpSource")
        .with("mllp.bind", addr.clone())
        .with(
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        )
        .with(
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        );
    for (k, v) in extra {
        props.set(*k, *v);
    }
    let handle = worker
        .start_connector(ConnectorConfig::new("hl7-mllp", props.clone()))
        .await
        .unwrap();
    wait_for_listener(&addr).await;
    Listener {
        worker,
        handle,
        addr,
        props,
    }
}

/// Sends one message in an MLLP frame.
pub async fn send(stream: &mut TcpStream, msg: &[u8]) {
    use tokio::io::AsyncWriteExt;
    stream
        .write_all(&connect_sources::mllp::encode_frame(msg))
        .await
        .unwrap();
}

/// What came back on a connection: an ACK, the connection closed, or nothing within the wait.
pub enum Read {
    Ack(connect_core::hl7::Message),
    Closed,
    Nothing,
}

/// Reads one ACK frame, or notices the connection closed, within `wait`.
pub async fn read(stream: &mut TcpStream, wait: Duration) -> Read {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == [0x1c, 0x0d]) {
            return Read::Ack(
                connect_core::hl7::Message::parse(bytes::Bytes::copy_from_slice(&buf[1..end]))
                    .unwrap(),
            );
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, tokio::io::AsyncReadExt::read(stream, &mut chunk))
            .await
        {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            Ok(_) => return Read::Closed,
            Err(_) => return Read::Nothing,
        }
    }
}

/// A MariaDB CDC connector `name` on `db` ([`connect_test_support::MariaDb::cdc_source_config`]).
pub fn mariadb_source(db: &connect_test_support::MariaDb, name: &str, prefix: &str) -> Props {
    db.cdc_source_config(name, prefix)
        .into_iter()
        .fold(Props::new(), |p, (k, v)| p.with(k, v))
}

/// Logs to the test output, filtered by `RUST_LOG` (default `warn`); once per test binary.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A PostgreSQL CDC connector `name` on `pg` (database `postgres`, user `postgres`, the slot `debezium`),
/// topics under `prefix`, JsonConverter without schemas.
pub fn postgres_source(pg: &connect_test_support::Postgres, name: &str, prefix: &str) -> Props {
    connect_test_support::SEED_CONVERTERS
        .iter()
        .fold(Props::new(), |p, (k, v)| p.with(*k, *v))
        .with("name", name)
        .with(
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        )
        .with("database.hostname", "127.0.0.1")
        .with("database.port", pg.port().to_string())
        .with("database.user", "postgres")
        .with("database.dbname", "postgres")
        .with("topic.prefix", prefix)
        .with("plugin.name", "pgoutput")
}

/// Waits (at most `within`) until the connector's task has failed, and gives its error.
pub async fn failure(c: &connect_core::runtime::ConnectorHandle, within: Duration) -> String {
    let deadline = Instant::now() + within;
    while !c.is_failed() {
        assert!(Instant::now() < deadline, "did not fail: {:?}", c.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.status()[0].error.clone().unwrap_or_default()
}
