//! The seed's clinical pipeline end to end, in one process: HL7 v2 over MLLP, through the HL7ToFHIR
//! SMT, as FHIR Bundle JSON into the embedded Kafka, the sender acknowledged only once the Bundle is
//! durable; a message the SMT cannot map at all (no PID: no Patient to refer to) is not acknowledged AA and its
//! original text goes to the dead letter queue.

use std::net::TcpListener as StdListener;
use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::hl7::Message;
use connect_core::runtime::Worker;
use connect_sources::mllp::{encode_frame, FrameDecoder};
use connect_test_support::topic_records;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../testdata/hl7/corpus/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn exchange(conn: &mut TcpStream, msg: &[u8]) -> Message {
    conn.write_all(&encode_frame(msg)).await.unwrap();
    let mut dec = FrameDecoder::new(1 << 20);
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(frame) = dec.next_frame() {
            return Message::parse(frame.unwrap()).unwrap();
        }
        let n = tokio::time::timeout_at(deadline, conn.read(&mut buf))
            .await
            .expect("an ACK within 30 s")
            .unwrap();
        assert!(n > 0, "connection closed");
        dec.extend(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mllp_to_fhir_bundles_in_kafka() {
    let worker = Worker::start(Props::new(), connect_examples::quickstart::registry())
        .await
        .unwrap();
    let cluster = worker.embedded().unwrap();
    for t in [
        "clinical.patient.admitted",
        "clinical.result.available",
        "clinical.hl7.unrouted",
        "dlq.fhir",
    ] {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    let addr = format!(
        "127.0.0.1:{}",
        StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let props = Props::new()
        .with("name", "hl7-fhir")
        .with("connector.class", "MllpSource")
        .with("mllp.bind", addr.clone())
        .with("transforms", "toFhir")
        .with(
            "transforms.toFhir.type",
            "org.healthcare.kafka.connect.transforms.HL7ToFHIR",
        )
        .with("transforms.toFhir.unmappable", "skip")
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with("value.converter.schemas.enable", "false")
        .with("errors.tolerance", "all")
        .with("errors.deadletterqueue.topic.name", "dlq.fhir")
        .with("errors.deadletterqueue.topic.replication.factor", "1");
    worker
        .start_connector(ConnectorConfig::new("hl7-fhir", props))
        .await
        .unwrap();
    let start = Instant::now();
    let mut conn = loop {
        if let Ok(c) = TcpStream::connect(&addr).await {
            break c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "listener did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    for (file, topic) in [
        ("ADT-A01-01.hl7", "clinical.patient.admitted"),
        ("ORU-R01-01.hl7", "clinical.result.available"),
    ] {
        let ack = exchange(&mut conn, &corpus(file)).await;
        assert_eq!(ack.get("MSA-1").as_deref(), Some("AA"), "{file}");
        // AA means the Bundle is readable now.
        let records = topic_records(worker.bootstrap_servers(), topic);
        assert_eq!(records.len(), 1, "{file}");
        let bundle: serde_json::Value = serde_json::from_slice(records[0].payload()).unwrap();
        assert_eq!(bundle["resourceType"], "Bundle", "{file}");
        assert_eq!(
            bundle["entry"][0]["resource"]["resourceType"], "Patient",
            "{file}"
        );
    }

    // No PID: HL7ToFHIR fails the record; the sender does not get AA, the original message is in the DLQ.
    let no_pid = b"MSH|^~\\&|LAB|H|EHR|H|20240301083000||ORU^R01|NOPID1|P|2.5\rOBR|1|P1|F1|24331-1^Lipid^LN\r";
    let ack = exchange(&mut conn, no_pid).await;
    assert_ne!(ack.get("MSA-1").as_deref(), Some("AA"));
    let start = Instant::now();
    let dlq = loop {
        let d = topic_records(worker.bootstrap_servers(), "dlq.fhir");
        if !d.is_empty() || start.elapsed() > Duration::from_secs(10) {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dlq.len(), 1);
    // The record as the source produced it (the ER7 text), in the connector's value format (JSON).
    let original: String = serde_json::from_slice(dlq[0].payload()).unwrap_or_else(|_| {
        panic!(
            "not a JSON string: {:?}",
            String::from_utf8_lossy(&dlq[0].payload()[..dlq[0].payload().len().min(60)])
        )
    });
    assert_eq!(original.as_bytes(), &no_pid[..], "the original message");
    assert_eq!(
        topic_records(worker.bootstrap_servers(), "clinical.result.available").len(),
        1
    );
    worker.shutdown().await;
}
