//! The runners against the embedded Kafka (librdkafka's mock cluster, real protocol): delivery,
//! offsets, error handling, DLQ and broker faults.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use connect_core::config::{ConnectorConfig, Props};
use connect_core::rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use connect_core::registry::Registry;
use connect_core::runtime::{TaskState, Worker};

const T: Duration = Duration::from_secs(30);

/// Keys written as their text, so a test can compute the partition the Java producer would choose.
const STRING_KEYS: (&str, &str) = (
    "key.converter",
    "org.apache.kafka.connect.storage.StringConverter",
);

fn cfg(name: &str, pairs: &[(&str, &str)]) -> ConnectorConfig {
    let props: Props = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    ConnectorConfig::new(name, props.with("name", name))
}

async fn worker(registry: Registry, extra: &[(&str, &str)]) -> Worker {
    init_tracing();
    let mut props = Props::new().with("offset.flush.interval.ms", "100");
    for (k, v) in extra {
        props.set(*k, *v);
    }
    Worker::start(props, registry).await.unwrap()
}

/// `registry` plus the transform `AlwaysRetriable` (which fails every record, retriably); the
/// returned handle counts its calls.
fn with_failing_transform(mut r: Registry) -> (Registry, AlwaysRetriable) {
    let smt = AlwaysRetriable::default();
    let s2 = smt.clone();
    r.register_transform(&["AlwaysRetriable"], move || s2.clone());
    (r, smt)
}

fn registry(source: &SeqSource, sink: &CollectSink) -> Registry {
    let mut r = Registry::with_builtins();
    r.register_source(&["SeqSource"], source.clone());
    r.register_sink(&["CollectSink"], sink.clone());
    r
}

fn json_plain() -> [(&'static str, &'static str); 4] {
    connect_test_support::SEED_CONVERTERS
}

fn sink_cfg(name: &str, topic: &str, extra: &[(&str, &str)]) -> ConnectorConfig {
    let mut pairs: Vec<(&str, &str)> = vec![("connector.class", "CollectSink"), ("topics", topic)];
    pairs.extend(json_plain());
    pairs.extend_from_slice(extra);
    cfg(name, &pairs)
}

fn source_cfg<'a>(
    name: &'a str,
    topic: &'a str,
    count: &'a str,
    extra: &[(&'a str, &'a str)],
) -> ConnectorConfig {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("connector.class", "SeqSource"),
        ("topic", topic),
        ("count", count),
    ];
    pairs.extend(json_plain());
    pairs.extend_from_slice(extra);
    cfg(name, &pairs)
}

/// A worker with `topic` (one partition) already holding `count` records `{"seq": i}` from the
/// source connector "src", for the sink tests.
async fn seeded(topic: &str, count: u64) -> (Worker, SeqSource, CollectSink) {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
    let n = count.to_string();
    let s = w
        .start_connector(source_cfg("src", topic, &n, &[]))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == count).await.unwrap();
    (w, src, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_to_kafka_to_sink_delivers_everything_in_order() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic("seq", 1, 1).unwrap();
    let s = w
        .start_connector(source_cfg("src", "seq", "2000", &[]))
        .await
        .unwrap();
    let k = w
        .start_connector(sink_cfg("snk", "seq", &[]))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == 2000).await.unwrap();
    k.wait_for(T, |m| m.records_written == 2000).await.unwrap();
    // Offsets: every acknowledged record was reported back to the task.
    let acked = src.acked.lock().unwrap().clone();
    assert_eq!(acked.len(), 2000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let durable: Vec<i64> = sink
        .durable
        .lock()
        .unwrap()
        .iter()
        .map(|r| seq_of(&r.record.value))
        .collect();
    assert_eq!(durable, (0..2000).collect::<Vec<_>>());
    let committed = committed(w.bootstrap_servers(), "connect-snk", "seq", 1);
    assert_eq!(committed.get(&0), Some(&2000));
    assert_eq!(k.status()[0].state, TaskState::Running);
    w.shutdown().await;
    assert_eq!(s.status()[0].state, TaskState::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_failing_mid_batch_loses_nothing_and_commits_nothing_early() {
    let (w, _src, sink) = seeded("mid", 500).await;

    *sink.fault.lock().unwrap() = Some(Fault::Fatal(250));
    let k = w
        .start_connector(sink_cfg("snk", "mid", &[]))
        .await
        .unwrap();
    let err = k.wait_for(T, |_| false).await.unwrap_err().to_string();
    assert!(err.contains("downstream rejected"), "{err}");
    let status = &k.status()[0];
    assert_eq!(status.state, TaskState::Failed);
    let durable_before = sink.durable.lock().unwrap().len() as i64;
    assert!(durable_before <= 250);
    let c = committed(w.bootstrap_servers(), "connect-snk", "mid", 1);
    let committed_offset = c.get(&0).copied().unwrap_or(0);
    assert!(
        committed_offset <= durable_before,
        "committed {committed_offset} > durable {durable_before}"
    );
    w.stop_connector("snk").await.unwrap();

    // The downstream recovers; the restarted connector resumes at the committed offset.
    *sink.fault.lock().unwrap() = None;
    let k = w
        .start_connector(sink_cfg("snk", "mid", &[]))
        .await
        .unwrap();
    k.wait_for(T, |m| m.records_written >= (500 - committed_offset) as u64)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seqs: Vec<i64> = sink
        .durable
        .lock()
        .unwrap()
        .iter()
        .map(|r| seq_of(&r.record.value))
        .collect();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs, (0..500).collect::<Vec<_>>(), "nothing lost");
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_put_redelivers_the_same_batch() {
    let (w, _src, sink) = seeded("rt", 100).await;
    *sink.fault.lock().unwrap() = Some(Fault::Retriable(40, 2));
    let k = w
        .start_connector(sink_cfg(
            "snk",
            "rt",
            &[("errors.retry.delay.max.ms", "100")],
        ))
        .await
        .unwrap();
    let m = k.wait_for(T, |m| m.records_written == 100).await.unwrap();
    assert_eq!(m.retries, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seqs: Vec<i64> = sink
        .durable
        .lock()
        .unwrap()
        .iter()
        .map(|r| seq_of(&r.record.value))
        .collect();
    assert_eq!(seqs, (0..100).collect::<Vec<_>>());
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_record_carries_original_bytes_and_context_headers() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic("in", 1, 1).unwrap();
    let bad: &[u8] = b"{\"seq\": 1, oops";
    produce(
        w.bootstrap_servers(),
        "in",
        &[
            (Some(b"\"k0\""), Some(b"{\"seq\":0}")),
            (Some(b"\"k1\""), Some(bad)),
            (Some(b"\"k2\""), Some(b"{\"seq\":2}")),
            (Some(b"\"k3\""), Some(b"{\"seq\":3}")),
        ],
    )
    .await;
    *sink.fault.lock().unwrap() = Some(Fault::Errant(3));
    let k = w
        .start_connector(sink_cfg(
            "snk",
            "in",
            &[
                ("errors.tolerance", "all"),
                ("errors.deadletterqueue.topic.name", "dlq.in"),
                ("errors.deadletterqueue.topic.replication.factor", "1"),
                ("errors.deadletterqueue.context.headers.enable", "true"),
            ],
        ))
        .await
        .unwrap();
    let m = k
        .wait_for(T, |m| m.records_dlq == 2 && m.records_written == 3)
        .await
        .unwrap();
    assert_eq!(m.records_failed, 2);
    let dlq = read_topic(w.bootstrap_servers(), "dlq.in", 2, T);
    assert_eq!(dlq.len(), 2);
    let conv = &dlq[0];
    assert_eq!(
        conv.value.as_deref(),
        Some(bad),
        "original bytes, untouched"
    );
    assert_eq!(conv.key.as_deref(), Some(&b"\"k1\""[..]));
    let h = |r: &Read, k: &str| {
        r.headers
            .iter()
            .find(|(hk, _)| hk == k)
            .and_then(|(_, v)| v.clone())
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(h(conv, "__connect.errors.topic").as_deref(), Some("in"));
    assert_eq!(h(conv, "__connect.errors.partition").as_deref(), Some("0"));
    assert_eq!(h(conv, "__connect.errors.offset").as_deref(), Some("1"));
    assert_eq!(
        h(conv, "__connect.errors.connector.name").as_deref(),
        Some("snk")
    );
    assert_eq!(h(conv, "__connect.errors.task.id").as_deref(), Some("0"));
    assert_eq!(
        h(conv, "__connect.errors.stage").as_deref(),
        Some("VALUE_CONVERTER")
    );
    assert_eq!(
        h(conv, "__connect.errors.exception.class.name").as_deref(),
        Some("org.apache.kafka.connect.errors.DataException")
    );
    assert!(h(conv, "__connect.errors.exception.message")
        .unwrap()
        .contains("serialization error"));
    let put = &dlq[1];
    assert_eq!(put.value.as_deref(), Some(&b"{\"seq\":3}"[..]));
    assert_eq!(
        h(put, "__connect.errors.stage").as_deref(),
        Some("TASK_PUT")
    );
    assert_eq!(h(put, "__connect.errors.offset").as_deref(), Some("3"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        committed(w.bootstrap_servers(), "connect-snk", "in", 1).get(&0),
        Some(&4)
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_record_fails_the_task_when_tolerance_is_none() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic("strict", 1, 1).unwrap();
    produce(
        w.bootstrap_servers(),
        "strict",
        &[(None, Some(b"{\"seq\":0}")), (None, Some(b"not json"))],
    )
    .await;
    let k = w
        .start_connector(sink_cfg("snk", "strict", &[]))
        .await
        .unwrap();
    let err = k.wait_for(T, |_| false).await.unwrap_err().to_string();
    assert!(
        err.contains("VALUE_CONVERTER") && err.contains("Tolerance exceeded"),
        "{err}"
    );
    assert!(
        !err.contains("not json"),
        "payloads never reach error messages"
    );
    assert_eq!(
        committed(w.bootstrap_servers(), "connect-snk", "strict", 1).get(&0),
        None
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_source_resumes_from_stored_offset_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("offsets.json").display().to_string();
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(
        registry(&src, &sink),
        &[("offset.storage.file.filename", &file)],
    )
    .await;
    w.embedded().unwrap().create_topic("resume", 1, 1).unwrap();
    // First run: stop part way through.
    let s = w
        .start_connector(source_cfg(
            "src",
            "resume",
            "3000",
            &[("per.poll", "10"), ("poll.delay.ms", "5")],
        ))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written >= 500).await.unwrap();
    w.stop_connector("src").await.unwrap();
    let first_run = s.metrics().records_written;
    assert!(first_run < 3000, "stopped before the end ({first_run})");
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(stored.contains("\"seq\""), "{stored}");
    // Second run (same offsets file): resumes after the last stored offset.
    let s2 = w
        .start_connector(source_cfg(
            "src",
            "resume",
            "3000",
            &[("per.poll", "10"), ("poll.delay.ms", "5")],
        ))
        .await
        .unwrap();
    let total_new = s2
        .wait_for(T, |m| {
            m.records_written > 0 && first_run + m.records_written >= 3000
        })
        .await
        .unwrap();
    let read = read_topic(w.bootstrap_servers(), "resume", 3000, T);
    let mut seqs: Vec<i64> = read
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(r.value.as_ref().unwrap()).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(total_new.records_written <= 3000);
    seqs.sort();
    seqs.dedup();
    assert_eq!(
        seqs,
        (0..3000).collect::<Vec<_>>(),
        "no gap across the restart"
    );
    assert_eq!(src.starts.load(Ordering::SeqCst), 2);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_after_retry_timeout() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let (r, smt) = with_failing_transform(registry(&src, &sink));
    let w = worker(r, &[]).await;
    w.embedded().unwrap().create_topic("retry", 1, 1).unwrap();
    let start = Instant::now();
    let s = w
        .start_connector(source_cfg(
            "src",
            "retry",
            "1",
            &[
                ("transforms", "flaky"),
                ("transforms.flaky.type", "AlwaysRetriable"),
                ("errors.retry.timeout", "1500"),
                ("errors.retry.delay.max.ms", "200"),
                ("errors.tolerance", "all"),
            ],
        ))
        .await
        .unwrap();
    let m = s.wait_for(T, |m| m.records_failed == 1).await.unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1400),
        "gave up too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(6),
        "kept retrying: {elapsed:?}"
    );
    let calls = smt.calls.load(Ordering::SeqCst);
    assert!((4..=20).contains(&calls), "attempts: {calls}");
    assert_eq!(m.retries, calls - 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        smt.calls.load(Ordering::SeqCst),
        calls,
        "no attempt after the timeout"
    );
    // The skipped record still counts as processed for offsets and acknowledgements.
    assert_eq!(s.status()[0].state, TaskState::Running);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_request_errors_are_survived_without_loss_or_duplicates() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    let cluster = w.embedded().unwrap();
    cluster.create_topic("faults", 1, 1).unwrap();
    cluster
        .inject_request_errors(
            RDKafkaApiKey::Produce,
            &[
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            ],
        )
        .unwrap();
    let s = w
        .start_connector(source_cfg("src", "faults", "1000", &[]))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == 1000).await.unwrap();
    let read = read_topic(w.bootstrap_servers(), "faults", 1000, T);
    let seqs: Vec<i64> = read
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(r.value.as_ref().unwrap()).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        seqs,
        (0..1000).collect::<Vec<_>>(),
        "in order, no loss, no duplicate (idempotent producer)"
    );
    w.shutdown().await;
}

/// After a broker outage the runtime's clients reconnect as the Java clients do (backoff capped at
/// `reconnect.backoff.max.ms=1000`), so records flow again about a second after the broker returns,
/// not after librdkafka's own cap of 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_flow_again_within_seconds_of_the_broker_returning() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    let cluster = w.embedded().unwrap();
    cluster.create_topic("return", 1, 1).unwrap();
    let s = w
        .start_connector(source_cfg(
            "src",
            "return",
            "1000000",
            &[("per.poll", "10"), ("poll.delay.ms", "5")],
        ))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written >= 200).await.unwrap();
    cluster.broker_down(1).unwrap();
    // Long enough for librdkafka's own backoff to grow past several seconds.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let during = s.metrics().records_written;
    cluster.broker_up(1).unwrap();
    let back = std::time::Instant::now();
    s.wait_for(T, |m| m.records_written > during + 100)
        .await
        .unwrap();
    let waited = back.elapsed();
    assert!(
        waited < Duration::from_millis(2500),
        "records flowed again {waited:?} after the broker returned"
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_then_up_loses_nothing() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    let cluster = w.embedded().unwrap();
    cluster.create_topic("outage", 1, 1).unwrap();
    let k = w
        .start_connector(sink_cfg("snk", "outage", &[]))
        .await
        .unwrap();
    let s = w
        .start_connector(source_cfg(
            "src",
            "outage",
            "3000",
            &[("per.poll", "10"), ("poll.delay.ms", "5")],
        ))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written >= 200).await.unwrap();
    cluster.broker_down(1).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = s.metrics().records_written;
    assert!(during < 3000);
    cluster.broker_up(1).unwrap();
    s.wait_for(Duration::from_secs(60), |m| m.records_written == 3000)
        .await
        .unwrap();
    k.wait_for(Duration::from_secs(60), |m| m.records_written >= 3000)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seqs: Vec<i64> = sink
        .durable
        .lock()
        .unwrap()
        .iter()
        .map(|r| seq_of(&r.record.value))
        .collect();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs, (0..3000).collect::<Vec<_>>());
    assert_eq!(
        src.acked.lock().unwrap().len(),
        3000,
        "every record acknowledged to the source"
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_hold_position() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic("pause", 1, 1).unwrap();
    let s = w
        .start_connector(source_cfg("src", "pause", "100000", &[("per.poll", "10")]))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written >= 100).await.unwrap();
    s.pause();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.status()[0].state, TaskState::Paused);
    let a = s.metrics().records_polled;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.metrics().records_polled, a, "no polling while paused");
    s.resume();
    s.wait_for(T, |m| m.records_polled > a).await.unwrap();
    assert_eq!(s.status()[0].state, TaskState::Running);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_connector_config_reports_every_problem() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    let bad = cfg(
        "bad",
        &[
            ("connector.class", "SeqSource"),
            ("errors.tolerance", "some"),
            ("transforms", "x"),
            ("transforms.x.type", "NoSuchSmt"),
            ("value.converter", "com.example.Nope"),
        ],
    );
    let e = w.start_connector(bad).await.unwrap_err().to_string();
    for key in [
        "errors.tolerance",
        "topic",
        "count",
        "transforms.x.type",
        "value.converter",
    ] {
        assert!(e.contains(key), "missing {key} in: {e}");
    }
    assert!(e.contains("unknown transformation 'NoSuchSmt'"), "{e}");
    let unknown = cfg(
        "u",
        &[(
            "connector.class",
            "io.confluent.connect.mirth.MirthSourceConnector",
        )],
    );
    let e = w.start_connector(unknown).await.unwrap_err().to_string();
    assert!(
        e.contains("unknown connector 'io.confluent.connect.mirth.MirthSourceConnector'")
            && e.contains("SeqSource"),
        "{e}"
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_offset_store_reads_and_writes_connect_offsets_format() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    // A Java Connect cluster left this offset behind (same key and value layout).
    let cluster = connect_core::runtime::EmbeddedCluster::start(1).unwrap();
    cluster.create_topic("connect-offsets", 1, 1).unwrap();
    cluster.create_topic("java", 1, 1).unwrap();
    produce(
        cluster.bootstrap_servers(),
        "connect-offsets",
        &[
            (Some(br#"["src",{"source":"seq"}]"#), Some(br#"{"seq":41}"#)),
            (
                Some(br#"["other",{"source":"seq"}]"#),
                Some(br#"{"seq":7}"#),
            ),
            (Some(br#"["src",{"source":"seq"}]"#), Some(br#"{"seq":89}"#)),
        ],
    )
    .await;
    init_tracing();
    let w = Worker::start(
        Props::new()
            .with("bootstrap.servers", cluster.bootstrap_servers())
            .with("offset.storage.topic", "connect-offsets")
            .with("offset.storage.replication.factor", "1")
            .with("offset.flush.interval.ms", "100"),
        registry(&src, &sink),
    )
    .await
    .unwrap();
    let s = w
        .start_connector(source_cfg("src", "java", "100", &[]))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == 10).await.unwrap();
    w.stop_connector("src").await.unwrap();
    let read = read_topic(cluster.bootstrap_servers(), "java", 10, T);
    let first =
        serde_json::from_slice::<serde_json::Value>(read[0].value.as_ref().unwrap()).unwrap();
    assert_eq!(first["seq"], 90, "resumed after the Java-written offset 89");
    let offsets = read_topic(cluster.bootstrap_servers(), "connect-offsets", 4, T);
    let last = offsets.last().unwrap();
    assert_eq!(
        last.key.as_deref(),
        Some(&br#"["src",{"source":"seq"}]"#[..])
    );
    assert_eq!(last.value.as_deref(), Some(&br#"{"seq":99}"#[..]));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sink_tasks_share_partitions_and_topics_regex_subscribes() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    let cluster = w.embedded().unwrap();
    cluster.create_topic("clinical.a", 2, 1).unwrap();
    cluster.create_topic("clinical.b", 2, 1).unwrap();
    cluster.create_topic("other", 1, 1).unwrap();
    let a = w
        .start_connector(source_cfg("sa", "clinical.a", "300", &[]))
        .await
        .unwrap();
    let b = w
        .start_connector(source_cfg("sb", "clinical.b", "300", &[]))
        .await
        .unwrap();
    let o = w
        .start_connector(source_cfg("so", "other", "50", &[]))
        .await
        .unwrap();
    for h in [&a, &b] {
        h.wait_for(T, |m| m.records_written == 300).await.unwrap();
    }
    o.wait_for(T, |m| m.records_written == 50).await.unwrap();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("connector.class", "CollectSink"),
        ("topics.regex", "clinical\\..*"),
        ("tasks.max", "2"),
    ];
    pairs.extend(json_plain());
    let k = w.start_connector(cfg("snk", &pairs)).await.unwrap();
    assert_eq!(k.status().len(), 2, "tasks.max=2 gives two sink tasks");
    k.wait_for(Duration::from_secs(60), |m| m.records_written >= 600)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let durable = sink.durable.lock().unwrap().clone();
    let topics: std::collections::BTreeSet<&str> =
        durable.iter().map(|r| r.record.topic.as_str()).collect();
    assert_eq!(
        topics.into_iter().collect::<Vec<_>>(),
        ["clinical.a", "clinical.b"],
        "regex matched, 'other' not"
    );
    let mut per_topic: Vec<i64> = durable
        .iter()
        .filter(|r| r.record.topic == "clinical.a")
        .map(|r| seq_of(&r.record.value))
        .collect();
    per_topic.sort();
    per_topic.dedup();
    assert_eq!(per_topic, (0..300).collect::<Vec<_>>());
    w.shutdown().await;
}

/// A source record a transform fails goes to the DLQ as the source produced it (in the connector's
/// formats), with and without retries, so the DLQ holds the data and not only the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_records_failed_by_a_transform_reach_the_dlq_whole() {
    for retry_timeout in ["0", "300"] {
        let (src, sink) = (SeqSource::default(), CollectSink::default());
        let (r, _) = with_failing_transform(registry(&src, &sink));
        let w = worker(r, &[]).await;
        let cluster = w.embedded().unwrap();
        cluster.create_topic("failing", 1, 1).unwrap();
        cluster.create_topic("dlq.failing", 1, 1).unwrap();
        let s = w
            .start_connector(source_cfg(
                "src",
                "failing",
                "3",
                &[
                    ("transforms", "flaky"),
                    ("transforms.flaky.type", "AlwaysRetriable"),
                    ("errors.retry.timeout", retry_timeout),
                    ("errors.retry.delay.max.ms", "50"),
                    ("errors.tolerance", "all"),
                    ("errors.deadletterqueue.topic.name", "dlq.failing"),
                    ("errors.deadletterqueue.topic.replication.factor", "1"),
                    ("errors.deadletterqueue.context.headers.enable", "true"),
                ],
            ))
            .await
            .unwrap();
        s.wait_for(T, |m| m.records_failed == 3).await.unwrap();
        let dlq = read_topic(w.bootstrap_servers(), "dlq.failing", 3, T);
        assert_eq!(dlq.len(), 3, "retry.timeout={retry_timeout}");
        for (i, d) in dlq.iter().enumerate() {
            assert_eq!(
                d.value.as_deref(),
                Some(format!("{{\"seq\":{i}}}").as_bytes()),
                "retry.timeout={retry_timeout}: the value as the source produced it"
            );
            assert_eq!(d.key.as_deref(), Some(format!("\"{i}\"").as_bytes()));
            let stage = d
                .headers
                .iter()
                .find(|(k, _)| k == "__connect.errors.stage")
                .and_then(|(_, v)| v.clone());
            assert_eq!(stage.as_deref(), Some(&b"TRANSFORMATION"[..]));
        }
        w.shutdown().await;
    }
}

/// `producer.override.*` reaches the connector's producer; the settings the delivery guarantee rests on
/// are refused with their key named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_overrides_apply_except_the_guarantee() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic("over", 1, 1).unwrap();
    let err = w
        .start_connector(source_cfg(
            "bad",
            "over",
            "1",
            &[
                ("producer.override.acks", "1"),
                ("producer.override.enable.idempotence", "false"),
            ],
        ))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("producer.override.acks")
            && err.contains("producer.override.enable.idempotence"),
        "{err}"
    );
    let s = w
        .start_connector(source_cfg(
            "good",
            "over",
            "5",
            &[
                ("producer.override.linger.ms", "0"),
                ("producer.override.compression.type", "lz4"),
            ],
        ))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == 5).await.unwrap();
    w.shutdown().await;
}

/// Adds the header `source.system: ehr` (so the DLQ test sees headers the converters produced).
#[derive(Clone, Default)]
struct TagHeader;

impl<R: connect_core::record::Record> connect_core::transform::Transformation<R> for TagHeader {
    fn configure(&mut self, _p: &Props) -> Result<(), connect_core::error::ConfigError> {
        Ok(())
    }
    fn apply(&self, mut r: R) -> Result<Option<R>, connect_core::error::ConnectError> {
        r.base_mut().headers.add_string("source.system", "ehr");
        Ok(Some(r))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_producer_finally_fails_reaches_the_dlq_as_converted() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let mut reg = registry(&src, &sink);
    reg.register_transform(&["TagHeader"], TagHeader::default);
    let w = worker(reg, &[]).await;
    let cluster = w.embedded().unwrap();
    cluster.create_topic("undeliverable", 1, 1).unwrap();
    // A permanent error for the first produce request: the record is never delivered.
    cluster
        .inject_request_errors(
            RDKafkaApiKey::Produce,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
        )
        .unwrap();
    let s = w
        .start_connector(source_cfg(
            "src",
            "undeliverable",
            "1",
            &[
                ("transforms", "tag"),
                ("transforms.tag.type", "TagHeader"),
                ("errors.tolerance", "all"),
                ("errors.deadletterqueue.topic.name", "dlq.src"),
                ("errors.deadletterqueue.topic.replication.factor", "1"),
                ("errors.deadletterqueue.context.headers.enable", "true"),
            ],
        ))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_dlq == 1).await.unwrap();
    let dlq = read_topic(w.bootstrap_servers(), "dlq.src", 1, T);
    assert_eq!(dlq.len(), 1);
    let r = &dlq[0];
    assert_eq!(
        r.key.as_deref(),
        Some(&b"\"0\""[..]),
        "the key as the converter wrote it"
    );
    assert_eq!(
        r.value.as_deref(),
        Some(&b"{\"seq\":0}"[..]),
        "the value as the converter wrote it"
    );
    let header = |k: &str| {
        r.headers
            .iter()
            .find(|(hk, _)| hk == k)
            .and_then(|(_, v)| v.clone())
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(header("source.system").as_deref(), Some("ehr"));
    assert_eq!(
        header("__connect.errors.stage").as_deref(),
        Some("KAFKA_PRODUCE")
    );
    w.shutdown().await;
}

/// The Kafka offset store through a broker restart and a crash: the source is killed (dropped, no stop,
/// no final offset flush) after the broker went down and came back; the next run resumes from the last
/// offset in `connect-offsets`, with no gap, and re-produces only what came after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_offset_store_survives_a_broker_restart_and_a_killed_task() {
    use connect_core::runtime::offsets::{KafkaOffsetStore, OffsetStore, OffsetsTopicConfig};
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(
        registry(&src, &sink),
        &[
            ("offset.storage.topic", "connect-offsets"),
            ("offset.storage.replication.factor", "1"),
        ],
    )
    .await;
    let cluster = w.embedded().unwrap();
    cluster.create_topic("crash", 1, 1).unwrap();
    let cfg = source_cfg(
        "src",
        "crash",
        "20000",
        &[("per.poll", "10"), ("poll.delay.ms", "2")],
    );
    let s = w.start_connector(cfg.clone()).await.unwrap();
    s.wait_for(T, |m| m.records_written >= 1000).await.unwrap();
    cluster.broker_down(1).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.broker_up(1).unwrap();
    s.wait_for(Duration::from_secs(60), |m| m.records_written >= 2500)
        .await
        .unwrap();
    // Kill once the offsets of those 2 500 records are in `connect-offsets`, read back from the
    // topic itself. Counting commits cannot tell when that is: after the restart the producer may
    // hold every record until it reconnects and then acknowledge all 20 000 at once, so one commit
    // covers them all; and a commit that began before the broker went down may finish late with
    // older offsets.
    let store = KafkaOffsetStore::open(
        w.kafka(),
        w.admin(),
        &OffsetsTopicConfig {
            topic: "connect-offsets".into(),
            partitions: 25,
            replication_factor: 1,
        },
    )
    .await
    .unwrap();
    let stored_seq = |stored: connect_core::runtime::offsets::ConnectorOffsets| {
        stored
            .values()
            .next()
            .and_then(|(_, o)| o.get("seq").and_then(|s| s.as_i64()))
    };
    let deadline = tokio::time::Instant::now() + T;
    while stored_seq(store.load("src").await.unwrap()).is_none_or(|seq| seq < 2499) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the offsets of the 2 500 records written were not stored within {T:?}: {:?}",
            s.metrics()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    w.abort_connector("src").await.unwrap();
    // What the killed task left stored: a later flush may have landed before the kill, and one it
    // had handed to the offsets producer may still land after it, so read until two reads agree.
    let mut last =
        stored_seq(store.load("src").await.unwrap()).expect("an offset in connect-offsets");
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = stored_seq(store.load("src").await.unwrap()).expect("an offset");
        if again == last {
            break;
        }
        last = again;
    }
    // seq 2 499 is the 2 500th record.
    assert!(
        last >= 2499,
        "the offsets of the 2 500 records written were flushed ({last})"
    );

    let s2 = w.start_connector(cfg).await.unwrap();
    let m = s2
        .wait_for(Duration::from_secs(60), |m| {
            m.records_written as i64 >= 20_000 - (last + 1)
        })
        .await
        .unwrap();
    assert_eq!(
        m.records_written as i64,
        20_000 - (last + 1),
        "the second run starts right after the stored offset"
    );
    let high = {
        use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
        let c: BaseConsumer = connect_core::rdkafka::ClientConfig::new()
            .set("bootstrap.servers", w.bootstrap_servers())
            .create()
            .unwrap();
        c.fetch_watermarks("crash", 0, T).unwrap().1
    };
    let read = read_topic(w.bootstrap_servers(), "crash", high as usize, T);
    let mut seqs: Vec<i64> = read
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(r.value.as_ref().unwrap()).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    seqs.sort();
    let total = seqs.len();
    seqs.dedup();
    assert!(
        seqs == (0..20_000).collect::<Vec<_>>(),
        "a gap: {} distinct of 20000",
        seqs.len()
    );
    // Duplicates only from the window after the last stored offset.
    assert!(
        total - 20_000 <= 20_000 - (last as usize + 1),
        "{total} records read"
    );
    assert_eq!(src.starts.load(Ordering::SeqCst), 2);
    w.shutdown().await;
}

/// The partition the Java producer chooses for `key`: `toPositive(murmur2(key)) % partitions`.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (java_murmur2(key) & 0x7fff_ffff) % partitions
}

/// Kafka's `Utils.murmur2`, as the Java producer hashes a key to choose its partition.
fn java_murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]).wrapping_mul(M);
        k ^= k >> 24;
        h = h.wrapping_mul(M) ^ k.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, b) in rest.iter().enumerate().rev() {
            h ^= (*b as u32) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// A keyed record lands in the partition the Java producer (and so Java Kafka Connect) would have
/// chosen for the same key bytes: `toPositive(murmur2(key)) % partitions`. A team moving a
/// connector over keeps each key in its partition, so per-key order holds across the move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_land_in_the_partitions_the_java_producer_chooses() {
    // The hash itself, against the values Kafka's own `UtilsTest.testMurmur2` expects.
    for (key, java) in [
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
    ] {
        assert_eq!(java_murmur2(key.as_bytes()), java, "murmur2({key})");
    }
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic("keyed", 8, 1).unwrap();
    let s = w
        .start_connector(source_cfg("src", "keyed", "500", &[STRING_KEYS]))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == 500).await.unwrap();
    let read = read_topic(w.bootstrap_servers(), "keyed", 500, T);
    assert_eq!(read.len(), 500);
    for r in &read {
        let key = r.key.as_deref().expect("a key");
        let java = java_partition(key, 8);
        assert_eq!(
            r.partition,
            java,
            "key {} went to partition {} where the Java producer puts it in {java}",
            String::from_utf8_lossy(key),
            r.partition
        );
    }
    w.shutdown().await;
}

/// A record is settled when the broker answers it, as Kafka Connect's producer callbacks do: records on
/// a partition whose leader answers quickly are committed (`commit_record`) while an earlier record
/// waits on a slow leader, instead of queueing behind it. The source offset still advances only over
/// the acknowledged prefix (the offset tracker's unit tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_settle_as_their_partition_answers_not_behind_a_slower_one() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[("embedded.brokers", "2")]).await;
    let cluster = w.embedded().unwrap();
    cluster.create_topic("lanes", 2, 1).unwrap();
    cluster.partition_leader("lanes", 0, 1).unwrap();
    cluster.partition_leader("lanes", 1, 2).unwrap();
    cluster
        .broker_round_trip_time(1, Duration::from_millis(1500))
        .unwrap();
    let s = w
        .start_connector(source_cfg("src", "lanes", "200", &[STRING_KEYS]))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == 200).await.unwrap();
    let acked = src.acked.lock().unwrap().clone();
    let partition_of = |seq: i64| java_partition(seq.to_string().as_bytes(), 2);
    let first_slow = acked.iter().position(|s| partition_of(*s) == 0);
    let last_fast = acked.iter().rposition(|s| partition_of(*s) == 1);
    assert_eq!(acked.len(), 200);
    assert!(
        matches!((first_slow, last_fast), (Some(a), Some(b)) if b < a),
        "every record of the fast partition settles before any of the slow one; settled: {acked:?}"
    );
    w.shutdown().await;
}

/// Acknowledged records reach the task in batches (`records_written`), each exactly once, in each
/// Kafka partition's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn written_records_reach_the_task_in_batches_each_once() {
    let (src, sink) = (SeqSource::default(), CollectSink::default());
    let w = worker(registry(&src, &sink), &[]).await;
    w.embedded().unwrap().create_topic("batched", 4, 1).unwrap();
    let s = w
        .start_connector(source_cfg(
            "src",
            "batched",
            "20000",
            &[
                ("written.batches", "true"),
                ("per.poll", "500"),
                STRING_KEYS,
            ],
        ))
        .await
        .unwrap();
    s.wait_for(T, |m| m.records_written == 20_000)
        .await
        .unwrap();
    let acked = src.acked.lock().unwrap().clone();
    let batches = src.batches.lock().unwrap().clone();
    assert_eq!(acked.len(), 20_000);
    assert_eq!(batches.iter().sum::<usize>(), 20_000);
    assert!(
        batches.len() < 20_000 / 10,
        "{} calls for 20 000 records: not batched",
        batches.len()
    );
    let mut sorted = acked.clone();
    sorted.sort_unstable();
    assert!(sorted.iter().copied().eq(0..20_000), "every record once");
    let partition_of = |seq: i64| java_partition(seq.to_string().as_bytes(), 4);
    for p in 0..4 {
        let order: Vec<i64> = acked
            .iter()
            .copied()
            .filter(|s| partition_of(*s) == p)
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "partition {p} settled out of order"
        );
    }
    w.shutdown().await;
}
