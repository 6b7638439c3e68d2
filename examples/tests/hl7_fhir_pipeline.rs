//! The seed's clinical pipeline end to end, in one process: HL7 v2 over MLLP, through the HL7ToFHIR
//! SMT, as FHIR Bundle JSON into the embedded Kafka, the sender acknowledged only once the Bundle is
//! durable; a message the SMT cannot map at all (no PID: no Patient to refer to) is not acknowledged AA and its
//! original text goes to the dead letter queue. And on into a FHIR server (helios-hfs) through the
//! FHIR sink: read back, the Patient, Encounter and Observations hold the messages' data, and
//! replaying the topics from the start (a second sink) changes nothing but each `versionId`.

use std::collections::BTreeMap;
use std::net::TcpListener as StdListener;
use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::hl7::Message;
use connect_core::runtime::Worker;
use connect_sources::mllp::{encode_frame, FrameDecoder};
use connect_test_support::{topic_records, wait_until, Hfs};
use serde_json::Value as Json;
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

/// A free loopback address for the MLLP listener.
fn free_addr() -> String {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

/// The MLLP source with HL7ToFHIR, Bundles as JSON.
fn mllp_to_fhir(addr: &str) -> Props {
    Props::new()
        .with("name", "hl7-fhir")
        .with("connector.class", "MllpSource")
        .with("mllp.bind", addr)
        .with("transforms", "toFhir")
        .with(
            "transforms.toFhir.type",
            "org.healthcare.kafka.connect.transforms.HL7ToFHIR",
        )
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with("value.converter.schemas.enable", "false")
}

/// A connection to the listener once it accepts.
async fn connect(addr: &str) -> TcpStream {
    let start = Instant::now();
    loop {
        if let Ok(c) = TcpStream::connect(addr).await {
            return c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "listener did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
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
    let addr = free_addr();
    let props = mllp_to_fhir(&addr)
        .with("transforms.toFhir.unmappable", "skip")
        .with("errors.tolerance", "all")
        .with("errors.deadletterqueue.topic.name", "dlq.fhir")
        .with("errors.deadletterqueue.topic.replication.factor", "1");
    worker
        .start_connector(ConnectorConfig::new("hl7-fhir", props))
        .await
        .unwrap();
    let mut conn = connect(&addr).await;

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

fn fhir_sink(name: &str, url: &str) -> Props {
    Props::new()
        .with("name", name)
        .with("fhir.url", url)
        .with("connector.class", "FhirSinkConnector")
        .with(
            "topics",
            "clinical.patient.admitted,clinical.result.available",
        )
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with("value.converter.schemas.enable", "false")
        .with(
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        )
}

/// A resource without `meta` and `text` (which the server rewrites on every version).
fn content(mut r: Json) -> Json {
    if let Some(o) = r.as_object_mut() {
        o.remove("meta");
        o.remove("text");
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hl7_over_mllp_lands_on_the_fhir_server_and_replays_idempotently() {
    let _watchdog = connect_test_support::watchdog(
        "hl7_over_mllp_lands_on_the_fhir_server",
        Duration::from_secs(300),
    );
    let hfs = Hfs::start();
    let worker = Worker::start(
        Props::new().with("offset.flush.interval.ms", "200"),
        connect_examples::quickstart::registry(),
    )
    .await
    .unwrap();
    let cluster = worker.embedded().unwrap();
    for t in [
        "clinical.patient.admitted",
        "clinical.result.available",
        "clinical.hl7.unrouted",
    ] {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    let addr = free_addr();
    let mllp = mllp_to_fhir(&addr);
    worker
        .start_connector(ConnectorConfig::new("hl7-fhir", mllp))
        .await
        .unwrap();
    worker
        .start_connector(ConnectorConfig::new(
            "fhir-sink",
            fhir_sink("fhir-sink", &hfs.url()),
        ))
        .await
        .unwrap();
    let mut conn = connect(&addr).await;
    let mut bundles = Vec::new();
    for (file, topic) in [
        ("ADT-A01-01.hl7", "clinical.patient.admitted"),
        ("ORU-R01-01.hl7", "clinical.result.available"),
    ] {
        let ack = exchange(&mut conn, &corpus(file)).await;
        assert_eq!(ack.get("MSA-1").as_deref(), Some("AA"), "{file}");
        let records = topic_records(worker.bootstrap_servers(), topic);
        bundles.push(serde_json::from_slice::<Json>(records[0].payload()).unwrap());
    }
    // Every resource of both Bundles, by Type/id.
    let mut expected: BTreeMap<String, Json> = BTreeMap::new();
    for b in &bundles {
        for e in b["entry"].as_array().unwrap() {
            let r = &e["resource"];
            expected.insert(
                format!(
                    "{}/{}",
                    r["resourceType"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                ),
                r.clone(),
            );
        }
    }
    let types: Vec<&str> = expected
        .keys()
        .map(|k| k.split('/').next().unwrap())
        .collect();
    for t in ["Patient", "Encounter", "Observation"] {
        assert!(types.contains(&t), "the Bundles hold a {t}: {types:?}");
    }
    // The server resolves a transaction's urn:uuid references to Type/id: what it should hold.
    let type_of: BTreeMap<String, String> = expected
        .keys()
        .map(|k| {
            let (t, id) = k.split_once('/').unwrap();
            (format!("urn:uuid:{id}"), format!("{t}/{id}"))
        })
        .collect();
    for r in expected.values_mut() {
        resolve_references(r, &type_of);
    }
    let h = &hfs;
    let read = |k: &str| {
        let (t, id) = k.split_once('/').unwrap();
        h.read(t, id)
    };
    let stored: BTreeMap<String, Json> = wait_until(60, "every resource on the server", || {
        expected
            .keys()
            .map(|k| Some((k.clone(), read(k)?)))
            .collect::<Option<BTreeMap<_, _>>>()
    })
    .await;
    for (k, want) in &expected {
        let got = &stored[k];
        match want["resourceType"].as_str().unwrap() {
            "Patient" => {
                assert_eq!(got["name"], want["name"], "{k}");
                assert_eq!(got["birthDate"], want["birthDate"], "{k}");
                assert_eq!(got["identifier"], want["identifier"], "{k}");
            }
            "Encounter" => {
                assert_eq!(got["class"], want["class"], "{k}");
                assert_eq!(got["status"], want["status"], "{k}");
                // urn:uuid references resolved by the server to the Patient's id.
                let subject = got["subject"]["reference"].as_str().unwrap_or_default();
                assert!(subject.starts_with("Patient/"), "{k}: {subject}");
            }
            "Observation" => {
                assert_eq!(got["code"], want["code"], "{k}");
                for v in ["valueQuantity", "valueString", "valueCodeableConcept"] {
                    assert_eq!(got[v], want[v], "{k} {v}");
                }
            }
            _ => {}
        }
    }
    // Replay from the start by a second sink: only versionId (and lastUpdated) change.
    worker
        .start_connector(ConnectorConfig::new(
            "fhir-replay",
            fhir_sink("fhir-replay", &hfs.url()),
        ))
        .await
        .unwrap();
    let replayed: BTreeMap<String, Json> = wait_until(60, "every resource written again", || {
        let now: BTreeMap<String, Json> = expected
            .keys()
            .map(|k| Some((k.clone(), read(k)?)))
            .collect::<Option<_>>()?;
        now.iter()
            .all(|(k, r)| r["meta"]["versionId"] != stored[k]["meta"]["versionId"])
            .then_some(now)
    })
    .await;
    for (k, r) in &replayed {
        assert_eq!(
            content(r.clone()),
            content(stored[k].clone()),
            "{k} changed beyond its version"
        );
    }
    worker.shutdown().await;
}

/// Rewrites every `reference` that names a Bundle entry (`urn:uuid:<id>`) as the server stores it.
fn resolve_references(v: &mut Json, type_of: &BTreeMap<String, String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m.iter_mut() {
                match (k.as_str(), &*x) {
                    ("reference", Json::String(r)) => {
                        if let Some(resolved) = type_of.get(r) {
                            *x = Json::String(resolved.clone());
                        }
                    }
                    _ => resolve_references(x, type_of),
                }
            }
        }
        Json::Array(a) => a.iter_mut().for_each(|x| resolve_references(x, type_of)),
        _ => {}
    }
}
