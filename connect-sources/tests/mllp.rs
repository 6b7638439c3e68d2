//! The MLLP source end to end over loopback with the embedded Kafka: AA only once the record is in
//! Kafka, nothing acknowledged while the broker is down, AR for malformed input with the connection
//! still usable, resends written once.

mod common;

use common::{corpus, read, send, start_listener, Listener, Read};
use connect_test_support::topic_records;
use std::time::Duration;

use bytes::Bytes;
use connect_core::config::Props;
use connect_core::hl7::Message;
use connect_core::registry::Registry;
use tokio::net::TcpStream;

/// The listener with errors tolerated and a DLQ, plus `extra`.
async fn setup(extra: &[(&str, &str)]) -> Listener {
    let mut registry = Registry::with_builtins();
    connect_sources::register(&mut registry);
    let mut all = vec![
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", "dlq.hl7"),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
    ];
    all.extend_from_slice(extra);
    start_listener(registry, &all).await
}

/// Reads one ACK frame, or None within `wait`; a closed connection fails the test.
async fn read_ack(stream: &mut TcpStream, wait: Duration) -> Option<Message> {
    match read(stream, wait).await {
        Read::Ack(m) => Some(m),
        Read::Closed => panic!("connection closed"),
        Read::Nothing => None,
    }
}

/// Every record of a topic as (key, value) text.
fn topic_values(bootstrap: &str, topic: &str) -> Vec<(Option<String>, String)> {
    topic_records(bootstrap, topic)
        .into_iter()
        .map(|r| {
            (
                r.key
                    .as_ref()
                    .map(|k| String::from_utf8_lossy(k).into_owned()),
                String::from_utf8_lossy(r.payload()).into_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aa_only_once_the_record_is_in_kafka_and_resends_are_written_once() {
    let s = setup(&[]).await;
    let adt = corpus("ADT-A01-01.hl7");
    let inbound = Message::parse(Bytes::from(adt.clone())).unwrap();
    let mut conn = TcpStream::connect(&s.addr).await.unwrap();
    send(&mut conn, &adt).await;
    let ack = read_ack(&mut conn, Duration::from_secs(30))
        .await
        .expect("an ACK");
    assert_eq!(ack.get("MSA-1").as_deref(), Some("AA"));
    assert_eq!(ack.get("MSA-2"), inbound.control_id());
    assert_eq!(
        ack.get("MSH-3"),
        inbound.get("MSH-5"),
        "sender and receiver swapped"
    );
    assert_eq!(ack.get("MSH-5"), inbound.get("MSH-3"));
    // By the time AA arrived, the record is readable, routed by type and keyed by PID-3.1.
    let records = topic_values(s.worker.bootstrap_servers(), "clinical.patient.admitted");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0.as_deref(), Some("PATID1234"));
    assert_eq!(records[0].1.as_bytes(), &adt[..]);
    // The sender resends (its ACK was "late"): acknowledged again, written once.
    send(&mut conn, &adt).await;
    let again = read_ack(&mut conn, Duration::from_secs(10))
        .await
        .expect("an ACK for the resend");
    assert_eq!(again.get("MSA-1").as_deref(), Some("AA"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        topic_values(s.worker.bootstrap_servers(), "clinical.patient.admitted").len(),
        1
    );
    // Other types route by the map; unknown ones to the default topic.
    send(&mut conn, &corpus("ORU-R01-01.hl7")).await;
    assert_eq!(
        read_ack(&mut conn, Duration::from_secs(10))
            .await
            .unwrap()
            .get("MSA-1")
            .as_deref(),
        Some("AA")
    );
    send(&mut conn, &corpus("SIU-S12-01.hl7")).await;
    assert_eq!(
        read_ack(&mut conn, Duration::from_secs(10))
            .await
            .unwrap()
            .get("MSA-1")
            .as_deref(),
        Some("AA")
    );
    assert_eq!(
        topic_values(s.worker.bootstrap_servers(), "clinical.result.available").len(),
        1
    );
    assert_eq!(
        topic_values(s.worker.bootstrap_servers(), "clinical.hl7.unrouted").len(),
        1
    );
    s.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_aa_while_the_broker_is_down_and_nothing_lost_when_it_returns() {
    let s = setup(&[]).await;
    let cluster = s.worker.embedded().unwrap();
    let mut conn = TcpStream::connect(&s.addr).await.unwrap();
    // Warm up so the producer is connected.
    send(&mut conn, &corpus("ORU-R01-01.hl7")).await;
    assert!(read_ack(&mut conn, Duration::from_secs(30)).await.is_some());
    cluster.broker_down(1).unwrap();
    let adt = corpus("ADT-A01-01.hl7");
    send(&mut conn, &adt).await;
    assert!(
        read_ack(&mut conn, Duration::from_secs(3)).await.is_none(),
        "no ACK while the message is not durable"
    );
    cluster.broker_up(1).unwrap();
    let ack = read_ack(&mut conn, Duration::from_secs(60))
        .await
        .expect("ACK once the broker is back");
    assert_eq!(ack.get("MSA-1").as_deref(), Some("AA"));
    assert_eq!(
        topic_values(s.worker.bootstrap_servers(), "clinical.patient.admitted").len(),
        1
    );
    s.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_ar_goes_to_the_dlq_and_the_connection_stays_usable() {
    let s = setup(&[("mllp.max.message.bytes", "16384")]).await;
    let mut conn = TcpStream::connect(&s.addr).await.unwrap();
    send(&mut conn, b"this is not HL7").await;
    let nak = read_ack(&mut conn, Duration::from_secs(10))
        .await
        .expect("a NAK");
    assert_eq!(nak.get("MSA-1").as_deref(), Some("AR"));
    assert!(nak.get("ERR-3.1").is_some(), "with an ERR segment");
    send(&mut conn, &vec![b'x'; 20000]).await;
    assert_eq!(
        read_ack(&mut conn, Duration::from_secs(10))
            .await
            .unwrap()
            .get("MSA-1")
            .as_deref(),
        Some("AR")
    );
    // Same connection, a good message.
    send(&mut conn, &corpus("ADT-A01-01.hl7")).await;
    assert_eq!(
        read_ack(&mut conn, Duration::from_secs(30))
            .await
            .unwrap()
            .get("MSA-1")
            .as_deref(),
        Some("AA")
    );
    s.handle
        .wait_for(Duration::from_secs(10), |m| m.records_dlq >= 2)
        .await
        .unwrap();
    let dlq = topic_values(s.worker.bootstrap_servers(), "dlq.hl7");
    assert_eq!(dlq.len(), 2);
    assert_eq!(dlq[0].1, "this is not HL7", "the raw bytes");
    assert_eq!(dlq[1].1, "x".repeat(16384), "the oversized frame's head");
    s.worker.shutdown().await;
}

/// The seed's `output.format=json` + `hl7.message.structure=true`: the record value is the structured
/// map, written by the JsonConverter (schemas off) as JSON whose `PID."3.1"` is the patient id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_json_values_as_in_the_seed() {
    let s = setup(&[
        ("output.format", "json"),
        ("hl7.message.structure", "true"),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
    ])
    .await;
    let adt = corpus("ADT-A01-01.hl7");
    let mut conn = TcpStream::connect(&s.addr).await.unwrap();
    send(&mut conn, &adt).await;
    let ack = read_ack(&mut conn, Duration::from_secs(30))
        .await
        .expect("an ACK");
    assert_eq!(ack.get("MSA-1").as_deref(), Some("AA"));
    let records = topic_values(s.worker.bootstrap_servers(), "clinical.patient.admitted");
    assert_eq!(records.len(), 1);
    let json: serde_json::Value = serde_json::from_str(&records[0].1).unwrap();
    assert_eq!(json["PID"]["3.1"], "PATID1234");
    assert_eq!(json["MSH"]["9.2"], "A01");
    // The JSON is the message: the converter turns it back into ER7 that reads the same.
    let mut registry = Registry::with_builtins();
    connect_sources::register(&mut registry);
    let mut hl7 = registry.converter("hl7").unwrap();
    hl7.configure(&Props::new(), false).unwrap();
    let json_conv = {
        let mut c = registry.converter("JsonConverter").unwrap();
        c.configure(&Props::new().with("schemas.enable", "false"), false)
            .unwrap();
        c
    };
    let value = json_conv
        .to_connect_data("t", Some(&Bytes::from(records[0].1.clone())))
        .unwrap()
        .value;
    let er7 = hl7.from_connect_data("t", None, &value).unwrap().unwrap();
    let original = Message::parse(Bytes::from(adt)).unwrap();
    let again = Message::parse(er7).unwrap();
    for p in ["PID-3.1", "PID-5.1", "PID-5.2", "PID-7", "PV1-2", "MSH-10"] {
        assert_eq!(again.get(p), original.get(p), "{p}");
    }
    s.worker.shutdown().await;
}
