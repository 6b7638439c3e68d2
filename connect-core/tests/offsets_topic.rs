//! The Kafka offset store as Kafka Connect's `connect-offsets`: keys byte for byte as Java writes them
//! (the task's key order kept), each on the partition Java's murmur2 picks on the default 25
//! partitions, and a topic ending in transaction markers (Kafka Connect with exactly-once) loads at once.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_core::config::Props;
use connect_core::rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer, ThreadedProducer,
};
use connect_core::rdkafka::ClientConfig;
use connect_core::record::OffsetMap;
use connect_core::registry::Registry;
use connect_core::runtime::offsets::{KafkaOffsetStore, OffsetStore, OffsetsTopicConfig};
use connect_core::runtime::Worker;
use serde_json::json;

use common::{init_tracing, read_topic};

/// Kafka's `Utils.murmur2` (seed 0x9747b28c), written from the algorithm's definition.
fn java_murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Java's default partitioner picks for a keyed record.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (java_murmur2(key) & 0x7fff_ffff) % partitions
}

#[test]
fn the_reference_murmur2_matches_kafkas_own_test_vectors() {
    // Kafka's UtilsTest.testMurmur2.
    assert_eq!(java_murmur2(b"21"), -973932308);
    assert_eq!(java_murmur2(b"foobar"), -790332482);
    assert_eq!(java_murmur2(b"a-little-bit-long-string"), -985981536);
    assert_eq!(java_murmur2(b"a-little-bit-longer-string"), -1486304829);
    assert_eq!(
        java_murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
        -58897971
    );
    assert_eq!(java_murmur2(b"abc"), 479470107);
}

fn map(entries: &[(&str, serde_json::Value)]) -> OffsetMap {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn keys_are_written_as_kafka_connect_writes_them_in_the_tasks_key_order() {
    // A JDBC-style partition whose task put "table" before "protocol": not re-sorted.
    let p = map(&[("table", json!("patients")), ("protocol", json!("1"))]);
    assert_eq!(
        KafkaOffsetStore::key_bytes("patient-jdbc-source", &p),
        br#"["patient-jdbc-source",{"table":"patients","protocol":"1"}]"#.to_vec()
    );
    // Equality and lookups ignore the order.
    let q = map(&[("protocol", json!("1")), ("table", json!("patients"))]);
    assert_eq!(p, q);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_land_on_javas_murmur2_partition_of_a_25_partition_topic() {
    init_tracing();
    let w = Worker::start(Props::new(), Registry::with_builtins())
        .await
        .unwrap();
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
    let partitions: Vec<OffsetMap> = vec![
        map(&[("server", json!("clinical"))]),
        map(&[("filename", json!("/data/claims.csv"))]),
        map(&[("table", json!("patients")), ("protocol", json!("1"))]),
        map(&[
            ("mllp", json!("0.0.0.0:2575")),
            ("sender", json!("ADT|HOSP")),
            ("slot", json!(7)),
        ]),
        map(&[("server", json!("billing"))]),
        map(&[("server", json!("pharmacy"))]),
    ];
    let entries: Vec<(Arc<OffsetMap>, Arc<OffsetMap>)> = partitions
        .iter()
        .map(|p| (Arc::new(p.clone()), Arc::new(map(&[("pos", json!(42))]))))
        .collect();
    store.store("clinical-cdc", &entries).await.unwrap();
    let read = read_topic(
        w.bootstrap_servers(),
        "connect-offsets",
        entries.len(),
        Duration::from_secs(20),
    );
    assert_eq!(read.len(), entries.len());
    let mut used = std::collections::BTreeSet::new();
    for r in &read {
        let key = r.key.as_deref().unwrap();
        assert_eq!(
            r.partition,
            java_partition(key, 25),
            "{}",
            String::from_utf8_lossy(key)
        );
        used.insert(r.partition);
        assert_eq!(r.value.as_deref(), Some(&br#"{"pos":42}"#[..]));
    }
    assert!(used.len() > 1, "spread over partitions: {used:?}");
    let keys: Vec<Vec<u8>> = read.iter().map(|r| r.key.clone().unwrap()).collect();
    for p in &partitions {
        assert!(keys.contains(&KafkaOffsetStore::key_bytes("clinical-cdc", p)));
    }
    // And they load back.
    let loaded = store.load("clinical-cdc").await.unwrap();
    assert_eq!(loaded.len(), partitions.len());
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offsets_topic_ending_in_transaction_markers_loads_at_once() {
    init_tracing();
    let w = Worker::start(Props::new(), Registry::with_builtins())
        .await
        .unwrap();
    w.embedded()
        .unwrap()
        .create_topic("eos-offsets", 3, 1)
        .unwrap();
    // What a Java worker with exactly.once.source.support writes: offsets inside transactions, each
    // followed by its commit marker.
    let bootstrap = w.bootstrap_servers().to_owned();
    tokio::task::spawn_blocking(move || {
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("transactional.id", "connect-cluster-eos-0")
            .create()
            .unwrap();
        p.init_transactions(Duration::from_secs(10)).unwrap();
        for pos in [1, 2] {
            p.begin_transaction().unwrap();
            let key = br#"["eos-source",{"server":"clinical"}]"#;
            let value = format!(r#"{{"pos":{pos}}}"#);
            p.send(
                BaseRecord::to("eos-offsets")
                    .partition(java_partition(key, 3))
                    .key(&key[..])
                    .payload(&value),
            )
            .map_err(|(e, _)| e)
            .unwrap();
            p.commit_transaction(Duration::from_secs(10)).unwrap();
        }
    })
    .await
    .unwrap();
    let store = KafkaOffsetStore::open(
        w.kafka(),
        w.admin(),
        &OffsetsTopicConfig {
            topic: "eos-offsets".into(),
            partitions: 3,
            replication_factor: 1,
        },
    )
    .await
    .unwrap();
    let start = Instant::now();
    let loaded = store.load("eos-source").await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    let (_, offset) = loaded.values().next().expect("the committed offset");
    assert_eq!(offset.get("pos"), Some(&json!(2)));
    w.shutdown().await;
}

/// Every connector start loads its offsets; a reader that joined a consumer group spent about 100 ms
/// closing it each time it had nothing to read (the fastest of three loads took 102 ms; now a few).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_offsets_has_no_fixed_close_delay() {
    init_tracing();
    let w = Worker::start(Props::new(), Registry::with_builtins())
        .await
        .unwrap();
    let store = KafkaOffsetStore::open(
        w.kafka(),
        w.admin(),
        &OffsetsTopicConfig {
            topic: "quick-offsets".into(),
            partitions: 2,
            replication_factor: 1,
        },
    )
    .await
    .unwrap();
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        assert!(store.load("quick").await.unwrap().is_empty());
        fastest = fastest.min(start.elapsed());
    }
    assert!(
        fastest < Duration::from_millis(60),
        "fastest empty load {fastest:?}"
    );
    let p = Arc::new(map(&[("server", json!("clinical"))]));
    let o = Arc::new(map(&[("pos", json!(7))]));
    store.store("quick", &[(p, o)]).await.unwrap();
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let loaded = store.load("quick").await.unwrap();
        fastest = fastest.min(start.elapsed());
        let (_, offset) = loaded.values().next().expect("the stored offset");
        assert_eq!(offset.get("pos"), Some(&json!(7)));
    }
    assert!(
        fastest < Duration::from_millis(60),
        "fastest load {fastest:?}"
    );
    w.shutdown().await;
}
