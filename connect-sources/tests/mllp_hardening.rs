//! The MLLP listener against hostile and unlucky input: senders never loop and the listener never dies
//! of one message. Filtered messages are acknowledged AA; a failing message gets AE/AR (and the DLQ
//! with `errors.tolerance=all`), or closes only its own connection with `errors.tolerance=none`;
//! oversized frames reach the DLQ truncated; connections beyond `mllp.max.connections` are refused;
//! idle connections are closed; duplicate suppression is bounded and survives a killed task.

mod common;

use common::{corpus, read, send, start_listener, wait_for_listener, Listener, Read};
use connect_test_support::topic_records;
use std::time::{Duration, Instant};

use connect_core::config::{ConfigDef, ConnectorConfig, Props};
use connect_core::error::{ConfigError, ConnectError, DataError};
use connect_core::record::Record;
use connect_core::registry::Registry;
use connect_core::runtime::TaskState;
use connect_core::transform::Transformation;
use connect_sources::mllp::encode_frame;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Drops records routed to the unrouted topic (a Filter with a topic predicate, in one SMT).
#[derive(Clone, Default)]
struct DropUnrouted;

impl<R: Record> Transformation<R> for DropUnrouted {
    fn configure(&mut self, _p: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn apply(&self, r: R) -> Result<Option<R>, ConnectError> {
        Ok((r.base().topic != "clinical.hl7.unrouted").then_some(r))
    }
}

/// Fails every admission (a data error, as a transform meeting a field it cannot read).
#[derive(Clone, Default)]
struct RejectAdmissions;

impl<R: Record> Transformation<R> for RejectAdmissions {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn configure(&mut self, _p: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn apply(&self, r: R) -> Result<Option<R>, ConnectError> {
        if r.base().topic == "clinical.patient.admitted" {
            return Err(ConnectError::Data(DataError::new(
                "field PID.7: not a valid date for pattern yyyyMMdd",
            )));
        }
        Ok(Some(r))
    }
}

fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    connect_sources::register(&mut r);
    r.register_transform(&["DropUnrouted"], DropUnrouted::default);
    r.register_transform(&["RejectAdmissions"], RejectAdmissions::default);
    r
}

async fn listener(extra: &[(&str, &str)]) -> Listener {
    start_listener(registry(), extra).await
}

async fn ack_code(stream: &mut TcpStream) -> String {
    match read(stream, Duration::from_secs(30)).await {
        Read::Ack(m) => m.get("MSA-1").unwrap_or_default(),
        Read::Closed => panic!("connection closed instead of an ACK"),
        Read::Nothing => panic!("no ACK"),
    }
}

/// The message with another MSH-10 (message control id).
fn with_control_id(msg: &[u8], id: &str) -> Vec<u8> {
    let end = msg.iter().position(|b| *b == b'\r').unwrap_or(msg.len());
    let msh = std::str::from_utf8(&msg[..end]).unwrap();
    let mut fields: Vec<&str> = msh.split('|').collect();
    fields[9] = id;
    let mut out = fields.join("|").into_bytes();
    out.extend_from_slice(&msg[end..]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_message_is_acknowledged_aa_and_a_resend_too() {
    let l = listener(&[
        ("transforms", "drop"),
        ("transforms.drop.type", "DropUnrouted"),
    ])
    .await;
    let mut conn = TcpStream::connect(&l.addr).await.unwrap();
    let siu = corpus("SIU-S12-01.hl7");
    send(&mut conn, &siu).await;
    assert_eq!(
        ack_code(&mut conn).await,
        "AA",
        "accepted and deliberately dropped"
    );
    send(&mut conn, &siu).await;
    assert_eq!(
        ack_code(&mut conn).await,
        "AA",
        "a resend is not a reason to loop"
    );
    send(&mut conn, &corpus("ADT-A01-01.hl7")).await;
    assert_eq!(ack_code(&mut conn).await, "AA");
    let b = l.worker.bootstrap_servers();
    assert!(topic_records(b, "clinical.hl7.unrouted").is_empty());
    assert_eq!(topic_records(b, "clinical.patient.admitted").len(), 1);
    assert_eq!(l.handle.metrics().records_filtered, 1);
    l.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tolerance_none_a_failing_message_closes_its_connection_and_the_listener_goes_on() {
    let l = listener(&[
        ("transforms", "reject"),
        ("transforms.reject.type", "RejectAdmissions"),
        ("errors.tolerance", "none"),
    ])
    .await;
    let mut first = TcpStream::connect(&l.addr).await.unwrap();
    send(&mut first, &corpus("ADT-A01-01.hl7")).await;
    assert_eq!(ack_code(&mut first).await, "AE");
    assert!(
        matches!(read(&mut first, Duration::from_secs(5)).await, Read::Closed),
        "the connection is closed after the NAK"
    );
    // Not HL7 at all: AR, and that connection closes too.
    let mut second = TcpStream::connect(&l.addr).await.unwrap();
    send(&mut second, b"not an HL7 message").await;
    assert_eq!(ack_code(&mut second).await, "AR");
    assert!(matches!(
        read(&mut second, Duration::from_secs(5)).await,
        Read::Closed
    ));
    // The listener still serves everyone else.
    let mut third = TcpStream::connect(&l.addr).await.unwrap();
    send(&mut third, &corpus("ORU-R01-01.hl7")).await;
    assert_eq!(ack_code(&mut third).await, "AA");
    assert_eq!(
        l.handle.status()[0].state,
        TaskState::Running,
        "{:?}",
        l.handle.status()
    );
    assert_eq!(
        topic_records(l.worker.bootstrap_servers(), "clinical.result.available").len(),
        1
    );
    l.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tolerance_all_a_failing_message_is_naked_and_reaches_the_dlq_whole() {
    let l = listener(&[
        ("transforms", "reject"),
        ("transforms.reject.type", "RejectAdmissions"),
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", "dlq.hl7"),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ])
    .await;
    let mut conn = TcpStream::connect(&l.addr).await.unwrap();
    let adt = corpus("ADT-A01-01.hl7");
    send(&mut conn, &adt).await;
    assert_eq!(ack_code(&mut conn).await, "AE");
    send(&mut conn, &corpus("ORU-R01-01.hl7")).await;
    assert_eq!(
        ack_code(&mut conn).await,
        "AA",
        "same connection, still served"
    );
    l.handle
        .wait_for(Duration::from_secs(10), |m| m.records_dlq >= 1)
        .await
        .unwrap();
    let dlq = topic_records(l.worker.bootstrap_servers(), "dlq.hl7");
    assert_eq!(dlq.len(), 1);
    assert_eq!(
        dlq[0].payload(),
        adt,
        "the message as the source produced it"
    );
    let stage = dlq[0]
        .headers
        .iter()
        .find(|(k, _)| k == "__connect.errors.stage")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    assert_eq!(stage.as_deref(), Some("TRANSFORMATION"));
    l.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_gets_ar_and_its_head_reaches_the_dlq_marked_truncated() {
    let l = listener(&[
        ("mllp.max.message.bytes", "16384"),
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", "dlq.hl7"),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
    ])
    .await;
    let mut conn = TcpStream::connect(&l.addr).await.unwrap();
    let mut big = corpus("ADT-A01-01.hl7");
    let len = big.len();
    big.extend(std::iter::repeat_n(b'Z', 40_000 - len));
    send(&mut conn, &big).await;
    assert_eq!(ack_code(&mut conn).await, "AR");
    send(&mut conn, &corpus("ORU-R01-01.hl7")).await;
    assert_eq!(ack_code(&mut conn).await, "AA");
    l.handle
        .wait_for(Duration::from_secs(10), |m| m.records_dlq >= 1)
        .await
        .unwrap();
    let dlq = topic_records(l.worker.bootstrap_servers(), "dlq.hl7");
    assert_eq!(dlq.len(), 1);
    assert_eq!(
        dlq[0].payload(),
        &big[..16384],
        "the first mllp.max.message.bytes bytes"
    );
    let header = |name: &str| {
        dlq[0]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(header("mllp.truncated").as_deref(), Some("true"));
    assert_eq!(header("mllp.original.bytes").as_deref(), Some("40000"));
    l.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused_and_idle_ones_closed() {
    let l = listener(&[
        ("mllp.max.connections", "2"),
        ("mllp.idle.timeout.ms", "1500"),
    ])
    .await;
    // The readiness probe's connection holds a slot until the listener sees it closed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut a = TcpStream::connect(&l.addr).await.unwrap();
    let mut b = TcpStream::connect(&l.addr).await.unwrap();
    send(&mut a, &corpus("ORU-R01-01.hl7")).await;
    assert_eq!(ack_code(&mut a).await, "AA");
    send(&mut b, &corpus("ADT-A01-01.hl7")).await;
    assert_eq!(ack_code(&mut b).await, "AA");
    // A third connection while two are served: closed at once.
    let mut c = TcpStream::connect(&l.addr).await.unwrap();
    let _ = c.write_all(&encode_frame(&corpus("SIU-S12-01.hl7"))).await;
    assert!(
        matches!(read(&mut c, Duration::from_secs(1)).await, Read::Closed),
        "over the limit"
    );
    // Idle connections are closed after mllp.idle.timeout.ms, which frees their slots.
    assert!(matches!(
        read(&mut a, Duration::from_secs(5)).await,
        Read::Closed
    ));
    assert!(matches!(
        read(&mut b, Duration::from_secs(5)).await,
        Read::Closed
    ));
    let mut d = TcpStream::connect(&l.addr).await.unwrap();
    send(&mut d, &corpus("SIU-S12-01.hl7")).await;
    assert_eq!(ack_code(&mut d).await, "AA");
    l.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_suppression_forgets_the_oldest_beyond_its_entry_cap() {
    let l = listener(&[("dedup.max.entries", "2")]).await;
    let mut conn = TcpStream::connect(&l.addr).await.unwrap();
    let adt = corpus("ADT-A01-01.hl7");
    for id in ["M1", "M2", "M3"] {
        send(&mut conn, &with_control_id(&adt, id)).await;
        assert_eq!(ack_code(&mut conn).await, "AA");
    }
    // M3 is remembered: not written again. M1 was forgotten (cap 2): written again.
    send(&mut conn, &with_control_id(&adt, "M3")).await;
    assert_eq!(ack_code(&mut conn).await, "AA");
    send(&mut conn, &with_control_id(&adt, "M1")).await;
    assert_eq!(ack_code(&mut conn).await, "AA");
    let n = topic_records(l.worker.bootstrap_servers(), "clinical.patient.admitted").len();
    assert_eq!(n, 4, "M1, M2, M3, then M1 again");
    l.worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_the_task_was_killed_is_still_written_once() {
    let l = listener(&[]).await;
    let adt = corpus("ADT-A01-01.hl7");
    {
        let mut conn = TcpStream::connect(&l.addr).await.unwrap();
        send(&mut conn, &adt).await;
        assert_eq!(ack_code(&mut conn).await, "AA");
    }
    // Let the offsets flush (offset.flush.interval.ms=100), then kill: no stop, no final flush.
    l.handle
        .wait_for(Duration::from_secs(10), |m| m.offset_commits >= 1)
        .await
        .unwrap();
    l.worker.abort_connector("hl7-mllp").await.unwrap();
    // The killed listener lets go of its port asynchronously (a killed process would at once): wait
    // for that, so the readiness probe below meets the new listener, not the old one.
    let start = Instant::now();
    while TcpStream::connect(&l.addr).await.is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the killed listener kept its port"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = l
        .worker
        .start_connector(ConnectorConfig::new("hl7-mllp", l.props.clone()))
        .await
        .unwrap();
    wait_for_listener(&l.addr).await;
    let mut conn = TcpStream::connect(&l.addr).await.unwrap();
    send(&mut conn, &adt).await;
    assert_eq!(ack_code(&mut conn).await, "AA");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        topic_records(l.worker.bootstrap_servers(), "clinical.patient.admitted").len(),
        1,
        "the resend after the crash was recognised"
    );
    assert!(!again.is_failed());
    l.worker.shutdown().await;
}
