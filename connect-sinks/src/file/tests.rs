use std::sync::Arc;

use connect_core::config::Props;
use connect_core::data::{Map, Value};
use connect_core::record::{ConnectRecord, SinkRecord, TimestampType, TopicPartitionOffset};
use connect_core::sink::{PartitionOffsets, SinkTask, SinkTaskContext};

use super::FileStreamSinkTask;

fn rec(value: Value, offset: i64) -> SinkRecord {
    SinkRecord {
        record: ConnectRecord::new("t", Value::Null, value),
        kafka_offset: offset,
        timestamp_type: TimestampType::NoTimestampType,
        original: TopicPartitionOffset {
            topic: Arc::from("t"),
            partition: 0,
            offset,
        },
    }
}

#[tokio::test]
async fn appends_lines_and_makes_them_durable_on_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    std::fs::write(&path, "existing\n").unwrap();
    let mut t = FileStreamSinkTask::default();
    t.start(SinkTaskContext {
        config: Props::new().with("file", path.display().to_string()),
        errant_record_reporter: None,
    })
    .await
    .unwrap();
    let mut m = Map::new();
    m.insert("id", 7i64);
    t.put(&[
        rec("a".into(), 0),
        rec(Value::Null, 1),
        rec(Value::Map(m), 2),
    ])
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "existing\n",
        "buffered until flush"
    );
    let offsets = PartitionOffsets::new();
    let committed = t.pre_commit(&offsets).await.unwrap();
    assert_eq!(committed, offsets);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "existing\na\n{\"id\":7}\n"
    );
    t.stop().await.unwrap();
}

#[tokio::test]
async fn unopenable_file_fails_start_with_the_path() {
    let mut t = FileStreamSinkTask::default();
    let e = t
        .start(SinkTaskContext {
            config: Props::new().with("file", "/nonexistent-dir/x/out.txt"),
            errant_record_reporter: None,
        })
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("/nonexistent-dir/x/out.txt"), "{e}");
}
