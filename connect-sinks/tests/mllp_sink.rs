//! The MLLP sink against a real MLLP peer (this project's MLLP source, writing into Kafka) and against a
//! scripted receiver that answers with stale ACKs and rejections.

use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_core::config::{ConnectorConfig, Props};
use connect_core::hl7::Message;
use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
use connect_core::rdkafka::producer::{FutureProducer, FutureRecord};
use connect_core::rdkafka::ClientConfig;
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../testdata/hl7/corpus/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn free_addr() -> String {
    format!(
        "127.0.0.1:{}",
        StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    )
}

async fn produce(bootstrap: &str, topic: &str, values: &[Vec<u8>]) {
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for v in values {
        p.send(
            FutureRecord::<(), [u8]>::to(topic).payload(&v[..]),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    }
}

fn count(bootstrap: &str, topic: &str) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "count")
        .create()
        .unwrap();
    let (lo, hi) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .unwrap();
    hi - lo
}

async fn worker() -> Worker {
    let mut registry = Registry::with_builtins();
    connect_sources::register(&mut registry);
    connect_sinks::register(&mut registry);
    let w = Worker::start(
        Props::new().with("offset.flush.interval.ms", "200"),
        registry,
    )
    .await
    .unwrap();
    for t in [
        "hl7.outbound",
        "clinical.patient.admitted",
        "clinical.result.available",
        "clinical.hl7.unrouted",
        "dlq.out",
    ] {
        w.embedded().unwrap().create_topic(t, 1, 1).unwrap();
    }
    w
}

fn sink_config(addr: &str) -> ConnectorConfig {
    let props = Props::new()
        .with("name", "to-mllp")
        .with("connector.class", "MllpSink")
        .with("topics", "hl7.outbound")
        .with("mllp.address", addr)
        .with("mllp.ack.timeout.ms", "5000")
        .with(
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        )
        .with(
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        )
        .with("errors.tolerance", "all")
        .with("errors.retry.delay.max.ms", "200")
        .with("errors.deadletterqueue.topic.name", "dlq.out")
        .with("errors.deadletterqueue.topic.replication.factor", "1");
    ConnectorConfig::new("to-mllp", props)
}

/// Our MLLP source as the downstream receiver, on `addr`, with extra settings (TLS).
fn receiver_config(addr: &str, extra: &[(&str, String)]) -> ConnectorConfig {
    let mut props = Props::new()
        .with("name", "from-mllp")
        .with("connector.class", "MllpSource")
        .with("mllp.bind", addr)
        .with(
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        )
        .with(
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        );
    for (k, v) in extra {
        props.set(*k, v.clone());
    }
    ConnectorConfig::new("from-mllp", props)
}

/// Waits up to 10 s for `topic` to hold at least `n` records; returns how many it holds.
async fn wait_count(bootstrap: &str, topic: &str, n: i64) -> i64 {
    let start = Instant::now();
    loop {
        let c = count(bootstrap, topic);
        if c >= n || start.elapsed() > Duration::from_secs(10) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_to_a_real_mllp_receiver() {
    let w = worker().await;
    let addr = free_addr();
    w.start_connector(receiver_config(&addr, &[]))
        .await
        .unwrap();
    let msgs = [
        corpus("ADT-A01-01.hl7"),
        corpus("ORU-R01-01.hl7"),
        corpus("SIU-S12-01.hl7"),
    ];
    produce(w.bootstrap_servers(), "hl7.outbound", &msgs).await;
    let sink = w.start_connector(sink_config(&addr)).await.unwrap();
    let m = sink
        .wait_for(Duration::from_secs(60), |m| m.records_written == 3)
        .await
        .unwrap();
    assert_eq!(m.records_failed, 0);
    wait_count(w.bootstrap_servers(), "clinical.hl7.unrouted", 1).await;
    assert_eq!(count(w.bootstrap_servers(), "clinical.patient.admitted"), 1);
    assert_eq!(count(w.bootstrap_servers(), "clinical.result.available"), 1);
    assert_eq!(count(w.bootstrap_servers(), "clinical.hl7.unrouted"), 1);
    w.shutdown().await;
}

/// A receiver that answers each message first with an ACK for another message, then with `code`.
async fn scripted_receiver(addr: String, code: &'static str, seen: Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    loop {
        let (mut s, _) = listener.accept().await.unwrap();
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                let n = match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.windows(2).position(|w| w == [0x1c, 0x0d]) {
                    let msg = Message::parse(Bytes::copy_from_slice(&buf[1..end])).unwrap();
                    buf.drain(..end + 2);
                    let id = msg.control_id().unwrap_or_default();
                    seen.lock().unwrap().push(id.clone());
                    let stale = format!(
                        "\x0bMSH|^~\\&|R|R|S|S|20240101||ACK|1|P|2.5\rMSA|AA|NOT-{id}\r\x1c\r"
                    );
                    let reply = format!("\x0bMSH|^~\\&|R|R|S|S|20240101||ACK|2|P|2.5\rMSA|{code}|{id}\rERR|||207^Application internal error^HL70357|E\r\x1c\r");
                    let _ = s.write_all(stale.as_bytes()).await;
                    let _ = s.write_all(reply.as_bytes()).await;
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_go_to_the_dlq_and_stale_acks_are_not_taken() {
    let w = worker().await;
    let addr = free_addr();
    let seen = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(scripted_receiver(addr.clone(), "AR", seen.clone()));
    let msgs = [corpus("ADT-A01-01.hl7"), corpus("ORU-R01-01.hl7")];
    produce(w.bootstrap_servers(), "hl7.outbound", &msgs).await;
    let sink = w.start_connector(sink_config(&addr)).await.unwrap();
    let m = sink
        .wait_for(Duration::from_secs(60), |m| m.records_dlq == 2)
        .await
        .unwrap();
    assert_eq!(m.records_failed, 2);
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "each message sent once: the stale ACK was skipped, not taken for it"
    );
    assert_eq!(count(w.bootstrap_servers(), "dlq.out"), 2);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_receiver_is_retried_until_it_appears() {
    let w = worker().await;
    let addr = free_addr();
    produce(
        w.bootstrap_servers(),
        "hl7.outbound",
        &[corpus("ADT-A01-01.hl7")],
    )
    .await;
    let sink = w.start_connector(sink_config(&addr)).await.unwrap();
    sink.wait_for(Duration::from_secs(30), |m| m.retries >= 2)
        .await
        .unwrap();
    assert_eq!(sink.metrics().records_written, 0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(scripted_receiver(addr.clone(), "AA", seen.clone()));
    let m = sink
        .wait_for(Duration::from_secs(30), |m| m.records_written == 1)
        .await
        .unwrap();
    assert_eq!(m.records_failed, 0);
    assert_eq!(seen.lock().unwrap().len(), 1);
    w.shutdown().await;
}

/// Over mutual TLS: the sink trusts the receiver's CA and presents a client certificate; the receiver
/// (our MLLP source with TLS) requires one from the same CA, and the record arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_over_mutual_tls() {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["receiver.test".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["sender.test".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, pem: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p.display().to_string()
    };
    let ca_pem = file("ca.pem", ca.pem());
    let server_pem = file("server.pem", server.pem());
    let server_key_pem = file("server.key", server_key.serialize_pem());
    let client_pem = file("client.pem", client.pem());
    let client_key_pem = file("client.key", client_key.serialize_pem());

    let w = worker().await;
    let addr = free_addr();
    let tls = [
        ("mllp.tls.cert.path", server_pem),
        ("mllp.tls.key.path", server_key_pem),
        ("mllp.tls.client.ca.path", ca_pem.clone()),
    ];
    w.start_connector(receiver_config(&addr, &tls))
        .await
        .unwrap();
    produce(
        w.bootstrap_servers(),
        "hl7.outbound",
        &[corpus("ADT-A01-01.hl7")],
    )
    .await;

    let mut cfg = sink_config(&addr);
    cfg.props.set("mllp.tls.ca.path", ca_pem);
    cfg.props.set("mllp.tls.server.name", "receiver.test");
    cfg.props.set("mllp.tls.cert.path", client_pem);
    cfg.props.set("mllp.tls.key.path", client_key_pem);
    let sink = w.start_connector(cfg).await.unwrap();
    let m = sink
        .wait_for(Duration::from_secs(60), |m| m.records_written == 1)
        .await
        .unwrap();
    assert_eq!(m.records_failed, 0);
    assert_eq!(
        wait_count(w.bootstrap_servers(), "clinical.patient.admitted", 1).await,
        1
    );
    w.shutdown().await;
}

#[test]
fn tls_settings_are_checked_naming_the_key() {
    let e = connect_sinks::mllp::MllpSinkConfig::parse(
        &Props::new()
            .with("mllp.address", "127.0.0.1:2575")
            .with("mllp.tls.cert.path", "/x/client.pem"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("mllp.tls.key.path"), "{e}");
    let cfg = connect_sinks::mllp::MllpSinkConfig::parse(
        &Props::new()
            .with("mllp.address", "lab.example.org:2575")
            .with("mllp.tls.ca.path", "/nonexistent/ca.pem"),
    )
    .unwrap();
    let tls = cfg.tls.unwrap();
    assert_eq!(tls.server_name, "lab.example.org");
    let e = tls.connector().err().unwrap().to_string();
    assert!(e.contains("mllp.tls.ca.path"), "{e}");
}
