//! The archive sink against a local directory and against moto's S3: object names as Confluent's,
//! and after a crash mid-file and a replay, the objects hold exactly the topic's records once each.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::{azurite, topic_records, Azurite, Gcs, S3};
use serde_json::{json, Value as Json};

/// Enough partitions that the embedded cluster, which keeps about 5 MB per partition, keeps every
/// record of the largest run (100 000 Parquet test records with their JSON schemas, ~50 MB).
const PARTITIONS: i32 = 16;

async fn worker() -> Worker {
    common::kafka::worker(&[
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
    ])
    .await
}

/// `n` observation-like records spread over the partitions by key.
fn produce(bootstrap: &str, topic: &str, n: usize) {
    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            let key = format!("obs-{}", i % 997);
            let value = json!({"id": key, "seq": i, "code": "718-7", "value": 12.5});
            (key.into_bytes(), value.to_string().into_bytes())
        })
        .collect();
    common::kafka::produce_keyed(bootstrap, topic, &records);
}

fn committed_total(bootstrap: &str, connector: &str, topic: &str) -> i64 {
    common::kafka::committed(bootstrap, connector, topic, PARTITIONS)
        .iter()
        .sum()
}

async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks objects against the topic: names as Confluent's, each object's lines the partition's
/// records from its start offset on, and every record in exactly one object.
fn check_objects(objects: &[(String, Vec<u8>)], bootstrap: &str, topic: &str, flush_size: usize) {
    let mut stored: BTreeMap<(i32, i64), Json> = BTreeMap::new();
    for r in topic_records(bootstrap, topic) {
        stored.insert(
            (r.partition, r.offset),
            serde_json::from_slice(r.payload()).unwrap(),
        );
    }
    let mut seen: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for (name, content) in objects {
        // topics/<topic>/partition=<p>/<topic>+<p>+<start, 10 digits>.json
        let rest = name
            .strip_prefix(&format!("topics/{topic}/partition="))
            .unwrap_or_else(|| panic!("unexpected object name {name}"));
        let (p, file) = rest.split_once('/').unwrap();
        let p: i32 = p.parse().unwrap();
        let start = file
            .strip_prefix(&format!("{topic}+{p}+"))
            .and_then(|f| f.strip_suffix(".json"))
            .unwrap_or_else(|| panic!("unexpected object name {name}"));
        assert_eq!(start.len(), 10, "{name}");
        let start: i64 = start.parse().unwrap();
        let lines: Vec<&[u8]> = content
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), flush_size, "{name}");
        for (i, line) in lines.iter().enumerate() {
            let at = (p, start + i as i64);
            let v: Json = serde_json::from_slice(line).unwrap();
            assert_eq!(Some(&v), stored.get(&at), "{name} line {i}");
            *seen.entry(at).or_default() += 1;
        }
    }
    let whole = stored.len() - stored.len() % flush_size;
    assert!(seen.values().all(|n| *n == 1), "a record in two objects");
    // Every record of each partition's complete files is there (the tail short of flush.size waits).
    for p in 0..PARTITIONS {
        let n = stored.keys().filter(|(q, _)| *q == p).count();
        let full = (n / flush_size * flush_size) as i64;
        for o in 0..full {
            assert!(
                seen.contains_key(&(p, o)),
                "partition {p} offset {o} missing"
            );
        }
    }
    assert!(seen.len() <= whole + PARTITIONS as usize * flush_size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_to_a_local_directory_with_confluents_names() {
    let dir = tempfile::tempdir().unwrap();
    let w = worker().await;
    let topic = "clinical.archive";
    w.embedded()
        .unwrap()
        .create_topic(topic, PARTITIONS, 1)
        .unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    produce(&bootstrap, topic, 2_000);
    let props = Props::new()
        .with("name", "archive-local")
        .with("connector.class", "io.confluent.connect.s3.S3SinkConnector")
        .with("topics", topic)
        .with("store.url", format!("file://{}", dir.path().display()))
        .with(
            "format.class",
            "io.confluent.connect.s3.format.json.JsonFormat",
        )
        .with("flush.size", "100");
    w.start_connector(ConnectorConfig::new("archive-local", props))
        .await
        .unwrap();
    let complete = complete_files(&bootstrap, topic, 100);
    wait_until("the files", Duration::from_secs(60), || {
        committed_total(&bootstrap, "archive-local", topic) >= complete
    })
    .await;
    w.stop_connector("archive-local").await.unwrap();
    let mut objects = Vec::new();
    let root = dir.path();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                let name = e.path().strip_prefix(root).unwrap().display().to_string();
                objects.push((name, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    check_objects(&objects, &bootstrap, topic, 100);
    assert_eq!(objects.len() as i64, complete / 100);
    w.shutdown().await;
}

/// Records in complete files of `flush_size`, summed over the partitions.
fn complete_files(bootstrap: &str, topic: &str, flush_size: usize) -> i64 {
    let stored = topic_records(bootstrap, topic);
    let first = |p: i32| {
        stored
            .iter()
            .filter(|r| r.partition == p)
            .map(|r| r.offset)
            .min()
    };
    assert!(
        (0..PARTITIONS).all(|p| first(p).unwrap_or(0) == 0),
        "the embedded cluster dropped the oldest records of a partition (more partitions needed)"
    );
    (0..PARTITIONS)
        .map(|p| {
            let c = stored.iter().filter(|r| r.partition == p).count();
            (c / flush_size * flush_size) as i64
        })
        .sum()
}

/// The archive connector `name` writing `topic` to moto's bucket `hospital-archive` in `format`.
fn s3_config(name: &str, topic: &str, s3: &S3, format: &str, flush_size: usize) -> ConnectorConfig {
    ConnectorConfig::new(
        name,
        Props::new()
            .with("name", name)
            .with("connector.class", "io.confluent.connect.s3.S3SinkConnector")
            .with("topics", topic)
            .with("s3.bucket.name", "hospital-archive")
            .with("s3.region", "us-east-1")
            .with("store.url", s3.url())
            .with("aws.access.key.id", "testing")
            .with("aws.secret.access.key", "testing")
            .with("format.class", format)
            .with("flush.size", flush_size.to_string()),
    )
}

/// Runs the connector, kills it (tasks dropped: open files lost, nothing flushed or committed) after
/// a third and two thirds of the `n` records are committed, then runs it until every complete file
/// is committed and stops it. Returns the records in complete files.
async fn run_with_two_kills(
    w: &Worker,
    topic: &str,
    config: impl Fn() -> ConnectorConfig,
    n: usize,
    flush_size: usize,
) -> i64 {
    let bootstrap = w.bootstrap_servers().to_owned();
    let name = config().name.clone();
    for round in 1..=2 {
        w.start_connector(config()).await.unwrap();
        let target = (n as i64) * round / 3;
        wait_until("progress", Duration::from_secs(120), || {
            committed_total(&bootstrap, &name, topic) >= target
        })
        .await;
        w.abort_connector(&name).await.unwrap();
    }
    w.start_connector(config()).await.unwrap();
    let complete = complete_files(&bootstrap, topic, flush_size);
    wait_until("every complete file", Duration::from_secs(180), || {
        committed_total(&bootstrap, &name, topic) >= complete
    })
    .await;
    w.stop_connector(&name).await.unwrap();
    complete
}

/// 100 000 records (`CONNECT_ARCHIVE_SOAK` unset: 20 000) to moto's S3, the sink killed mid-file
/// twice and replayed: every record of the complete files is in exactly one object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_file_and_a_replay_leave_every_record_once_in_s3() {
    let n: usize = if std::env::var_os("CONNECT_ARCHIVE_SOAK").is_some() {
        100_000
    } else {
        20_000
    };
    let flush_size = 500;
    let s3 = S3::start();
    s3.create_bucket("hospital-archive");
    let w = worker().await;
    let topic = "clinical.results";
    w.embedded()
        .unwrap()
        .create_topic(topic, PARTITIONS, 1)
        .unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    produce(&bootstrap, topic, n);
    let json = "io.confluent.connect.s3.format.json.JsonFormat";
    let config = || s3_config("archive-s3", topic, &s3, json, flush_size);
    let complete = run_with_two_kills(&w, topic, config, n, flush_size).await;
    let objects = s3.objects("hospital-archive");
    check_objects(&objects, &bootstrap, topic, flush_size);
    assert_eq!(objects.len() as i64, complete / flush_size as i64);
    w.shutdown().await;
}

/// Records of the cloud-store runs (GCS, Azure): enough for several files per partition.
const CLOUD_RECORDS: usize = 6_000;

/// The GCS bucket: without a dash, since object_store percent-encodes a bucket name's dashes and
/// the emulator (unlike GCS) matches its routes before decoding.
const GCS_BUCKET: &str = "hospitalarchive";

/// Writes `CLOUD_RECORDS` records to `topic`, runs the JSON-lines connector `name` (its class,
/// store keys and format in `store`) with two kills mid-file and a replay, then checks the objects `read` gives
/// back: every record of the complete files in exactly one object, under Confluent's names.
async fn crash_and_replay_in(
    name: &str,
    topic: &str,
    store: Props,
    read: impl FnOnce() -> Vec<(String, Vec<u8>)>,
) {
    let flush_size = 100;
    let w = worker().await;
    w.embedded()
        .unwrap()
        .create_topic(topic, PARTITIONS, 1)
        .unwrap();
    produce(w.bootstrap_servers(), topic, CLOUD_RECORDS);
    let config = || {
        let props = store
            .clone()
            .with("name", name)
            .with("topics", topic)
            .with("flush.size", flush_size.to_string());
        ConnectorConfig::new(name, props)
    };
    let complete = run_with_two_kills(&w, topic, config, CLOUD_RECORDS, flush_size).await;
    let objects = read();
    check_objects(&objects, w.bootstrap_servers(), topic, flush_size);
    assert_eq!(objects.len() as i64, complete / flush_size as i64);
    w.shutdown().await;
}

/// Confluent's GCS sink config as a user brings it (its class, its keys, its format package)
/// against the GCS emulator, killed twice mid-file and replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_holds_every_record_once_after_a_crash() {
    let gcs = Gcs::start(GCS_BUCKET);
    let store = Props::new()
        .with(
            "connector.class",
            "io.confluent.connect.gcs.GcsSinkConnector",
        )
        .with("gcs.bucket.name", GCS_BUCKET)
        .with("gcs.credentials.path", gcs.credentials_path())
        .with("store.url", gcs.url())
        .with(
            "format.class",
            "io.confluent.connect.gcs.format.json.JsonFormat",
        );
    crash_and_replay_in("archive-gcs", "clinical.gcs", store, || {
        gcs.objects(GCS_BUCKET)
    })
    .await;
}

/// Confluent's Azure Blob Storage sink config against Azurite (shared-key auth with the account
/// key), killed twice mid-file and replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_blob_storage_holds_every_record_once_after_a_crash() {
    let az = Azurite::start();
    az.create_container("hospital-archive");
    let store = Props::new()
        .with(
            "connector.class",
            "io.confluent.connect.azure.blob.AzureBlobStorageSinkConnector",
        )
        .with("azblob.account.name", azurite::ACCOUNT)
        .with("azblob.account.key", azurite::ACCOUNT_KEY)
        .with("azblob.container.name", "hospital-archive")
        .with("store.url", az.url())
        .with(
            "format.class",
            "io.confluent.connect.azure.blob.format.json.JsonFormat",
        );
    crash_and_replay_in("archive-azure", "clinical.azure", store, || {
        az.blobs("hospital-archive")
    })
    .await;
}

/// A wrong Azure account key fails the connector with a message naming the keys, never the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_azure_key_is_named_not_quoted() {
    let az = Azurite::start();
    az.create_container("hospital-archive");
    let w = worker().await;
    let topic = "clinical.azure.denied";
    w.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
    produce(w.bootstrap_servers(), topic, 10);
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=";
    let props = Props::new()
        .with("name", "archive-denied")
        .with("connector.class", "AzureBlobSink")
        .with("topics", topic)
        .with("azblob.account.name", azurite::ACCOUNT)
        .with("azblob.account.key", wrong)
        .with("azblob.container.name", "hospital-archive")
        .with("store.url", az.url())
        .with("format.class", "JsonFormat")
        .with("flush.size", "1");
    w.start_connector(ConnectorConfig::new("archive-denied", props))
        .await
        .unwrap();
    let mut status = String::new();
    wait_until("the task to fail", Duration::from_secs(60), || {
        let c = w.connector("archive-denied");
        status = format!("{:?}", c.as_ref().map(|c| c.status()));
        c.is_some_and(|c| c.is_failed())
    })
    .await;
    assert!(!status.contains(wrong), "{status}");
    assert!(az.blobs("hospital-archive").is_empty());
    w.shutdown().await;
}

/// A task writing raw bytes to `dir`, with `extra` settings.
async fn local_task(
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> connect_sinks::archive::ArchiveSinkTask {
    use connect_core::sink::{SinkTask, SinkTaskContext};
    let mut config = Props::new()
        .with("store.url", format!("file://{}", dir.display()))
        .with(
            "format.class",
            "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
        );
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let mut task = connect_sinks::archive::ArchiveSinkTask::default();
    task.start(SinkTaskContext {
        config,
        errant_record_reporter: None,
    })
    .await
    .unwrap();
    task
}

/// Record `o` of partition 0 of `t`, value `r<o>`, at time `ts`.
fn text_record(o: i64, ts: i64) -> connect_core::record::SinkRecord {
    use connect_core::data::Value;
    use connect_core::record::{ConnectRecord, SinkRecord, TimestampType, TopicPartitionOffset};
    SinkRecord {
        record: ConnectRecord {
            timestamp: Some(ts),
            ..ConnectRecord::new("t", Value::Null, Value::String(format!("r{o}")))
        },
        kafka_offset: o,
        timestamp_type: TimestampType::CreateTime,
        original: TopicPartitionOffset {
            topic: "t".into(),
            partition: 0,
            offset: o,
        },
    }
}

/// A write that fails (the store refuses it) hands the batch back; when the runtime delivers it
/// again, the file is written once with each record once, and the offset passes it only then.
#[tokio::test]
async fn a_failed_write_is_retried_with_the_redelivered_batch_without_duplicates() {
    use connect_core::record::SinkRecord;
    use connect_core::sink::{PartitionOffsets, SinkTask, TopicPartition};
    let dir = tempfile::tempdir().unwrap();
    let mut task = local_task(dir.path(), &[("flush.size", "3")]).await;
    let rec = |o| text_record(o, 0);
    let batch: Vec<SinkRecord> = (0..4).map(rec).collect();
    // A file where the directory must go: even root cannot write below it.
    std::fs::write(dir.path().join("topics"), b"in the way").unwrap();
    let e = task.put(&batch).await.unwrap_err();
    assert!(e.is_retriable(), "{e}");
    let tp = TopicPartition::new("t", 0);
    let all: PartitionOffsets = [(tp.clone(), 4)].into_iter().collect();
    assert!(task.pre_commit(&all).await.unwrap_err().is_retriable());
    std::fs::remove_file(dir.path().join("topics")).unwrap();
    task.put(&batch).await.unwrap();
    let committed = task.pre_commit(&all).await.unwrap();
    assert_eq!(committed.get(&tp), Some(&3), "r3 is in an open file");
    let object = dir.path().join("topics/t/partition=0/t+0+0000000000.bin");
    assert_eq!(std::fs::read_to_string(object).unwrap(), "r0\nr1\nr2\n");
    task.put(&(4..6).map(rec).collect::<Vec<_>>())
        .await
        .unwrap();
    let object = dir.path().join("topics/t/partition=0/t+0+0000000003.bin");
    assert_eq!(std::fs::read_to_string(object).unwrap(), "r3\nr4\nr5\n");
}

/// A rotation by record time whose write fails leaves the record that caused it to be taken again:
/// it lands in the next file, not nowhere.
#[tokio::test]
async fn a_failed_rotation_keeps_the_record_that_caused_it() {
    use connect_core::sink::SinkTask;
    let dir = tempfile::tempdir().unwrap();
    let mut task = local_task(
        dir.path(),
        &[("flush.size", "100"), ("rotate.interval.ms", "500")],
    )
    .await;
    let rec = text_record;
    let batch = vec![rec(0, 0), rec(1, 10), rec(2, 1_000), rec(3, 1_010)];
    std::fs::write(dir.path().join("topics"), b"in the way").unwrap();
    assert!(task.put(&batch).await.unwrap_err().is_retriable());
    std::fs::remove_file(dir.path().join("topics")).unwrap();
    task.put(&batch).await.unwrap();
    task.put(&[rec(4, 2_000)]).await.unwrap();
    let read = |start: &str| {
        std::fs::read_to_string(
            dir.path()
                .join(format!("topics/t/partition=0/t+0+{start}.bin")),
        )
        .unwrap()
    };
    assert_eq!(read("0000000000"), "r0\nr1\n");
    assert_eq!(read("0000000002"), "r2\nr3\n");
}

/// Parquet to moto's S3 (20 000 records; `CONNECT_ARCHIVE_SOAK=1`: 100 000), the sink killed twice
/// mid-file and replayed: read back with pyarrow, each object's rows are the partition's records
/// from its start offset, every record of the complete files once, typed (a Timestamp stays one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_files_in_s3_hold_every_record_once_after_a_crash() {
    let n: usize = if std::env::var_os("CONNECT_ARCHIVE_SOAK").is_some() {
        100_000
    } else {
        20_000
    };
    let flush_size = 1_000;
    let s3 = S3::start();
    s3.create_bucket("hospital-archive");
    let w = common::kafka::worker(&[
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "true"),
    ])
    .await;
    let topic = "clinical.results.parquet";
    w.embedded()
        .unwrap()
        .create_topic(topic, PARTITIONS, 1)
        .unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    let schema = json!({"type": "struct", "name": "clinical.Result", "optional": false, "fields": [
        {"field": "seq", "type": "int64", "optional": false},
        {"field": "code", "type": "string", "optional": false},
        {"field": "value", "type": "double", "optional": true},
        {"field": "taken_at", "type": "int64", "optional": false,
         "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}]});
    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            let payload = json!({"seq": i, "code": "718-7",
                "value": if i % 10 == 0 { Json::Null } else { json!(12.5 + i as f64) },
                "taken_at": 1_796_103_000_000i64 + i as i64});
            (
                format!("obs-{}", i % 997).into_bytes(),
                json!({"schema": schema, "payload": payload})
                    .to_string()
                    .into_bytes(),
            )
        })
        .collect();
    common::kafka::produce_keyed(&bootstrap, topic, &records);
    let parquet = "io.confluent.connect.s3.format.parquet.ParquetFormat";
    let config = || s3_config("archive-parquet", topic, &s3, parquet, flush_size);
    let complete = run_with_two_kills(&w, topic, config, n, flush_size).await;
    let mut stored: BTreeMap<(i32, i64), Json> = BTreeMap::new();
    for r in topic_records(&bootstrap, topic) {
        let v: Json = serde_json::from_slice(r.payload()).unwrap();
        stored.insert((r.partition, r.offset), v["payload"].clone());
    }
    let objects = s3.parquet_objects("hospital-archive");
    assert_eq!(objects.len() as i64, complete / flush_size as i64);
    let mut seen = std::collections::BTreeSet::new();
    for (name, rows) in &objects {
        let rest = name
            .strip_prefix(&format!("topics/{topic}/partition="))
            .unwrap_or_else(|| panic!("{name}"));
        let (p, file) = rest.split_once('/').unwrap();
        let p: i32 = p.parse().unwrap();
        let start: i64 = file
            .strip_prefix(&format!("{topic}+{p}+"))
            .and_then(|f| f.strip_suffix(".snappy.parquet"))
            .unwrap_or_else(|| panic!("{name}"))
            .parse()
            .unwrap();
        assert_eq!(rows.len(), flush_size, "{name}");
        for (i, row) in rows.iter().enumerate() {
            let at = (p, start + i as i64);
            assert_eq!(Some(row), stored.get(&at), "{name} row {i}");
            assert!(seen.insert(at), "{at:?} in two objects");
        }
    }
    assert_eq!(seen.len() as i64, complete);
    w.shutdown().await;
}
