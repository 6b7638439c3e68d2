use std::io::Write;
use std::sync::Arc;

use connect_core::config::Props;
use connect_core::data::Value;
use connect_core::record::OffsetMap;
use connect_core::runtime::offsets::{OffsetReader, PartitionKey};
use connect_core::source::{SourceTask, SourceTaskContext};

use super::FileStreamSourceTask;

fn ctx(file: &std::path::Path, stored: Option<u64>) -> SourceTaskContext {
    let mut offsets = std::collections::HashMap::new();
    if let Some(p) = stored {
        let part: OffsetMap = [(
            "filename".to_string(),
            serde_json::json!(file.display().to_string()),
        )]
        .into_iter()
        .collect();
        let off: OffsetMap = [("position".to_string(), serde_json::json!(p))]
            .into_iter()
            .collect();
        offsets.insert(PartitionKey::of(&part), (part, off));
    }
    SourceTaskContext {
        config: Props::new()
            .with("file", file.display().to_string())
            .with("topic", "lines")
            .with("batch.size", "2")
            .with("poll.interval.ms", "5"),
        offsets: OffsetReader::new(offsets),
        errant_record_reporter: None,
        cluster: None,
        progress: Default::default(),
    }
}

fn lines(batch: &[connect_core::record::SourceRecord]) -> Vec<String> {
    batch
        .iter()
        .map(|r| match &r.record.value {
            Value::String(s) => s.clone(),
            _ => panic!("not a string"),
        })
        .collect()
}

#[tokio::test]
async fn reads_lines_in_batches_and_waits_for_partial_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "a\r\nbb\nccc\npart").unwrap();
    let mut t = FileStreamSourceTask::default();
    t.start(ctx(&path, None)).await.unwrap();
    let b1 = t.poll().await.unwrap();
    assert_eq!(lines(&b1), ["a", "bb"]);
    assert_eq!(
        b1[1].source_offset.get("position"),
        Some(serde_json::json!(6))
    );
    let b2 = t.poll().await.unwrap();
    assert_eq!(lines(&b2), ["ccc"]);
    assert!(t.poll().await.unwrap().is_empty(), "partial line must wait");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"ial\n").unwrap();
    let b3 = t.poll().await.unwrap();
    assert_eq!(lines(&b3), ["partial"]);
    assert_eq!(
        b3[0].source_offset.get("position"),
        Some(serde_json::json!(18))
    );
    assert!(Arc::ptr_eq(
        &b1[0].source_partition,
        &b3[0].source_partition
    ));
}

#[tokio::test]
async fn resumes_from_stored_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
    let mut t = FileStreamSourceTask::default();
    t.start(ctx(&path, Some(4))).await.unwrap();
    assert_eq!(lines(&t.poll().await.unwrap()), ["two", "three"]);
}

#[tokio::test]
async fn position_past_end_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "x\n").unwrap();
    let mut t = FileStreamSourceTask::default();
    t.start(ctx(&path, Some(100))).await.unwrap();
    let e = t.poll().await.unwrap_err().to_string();
    assert!(e.contains("in.txt") && e.contains("truncated"), "{e}");
}

#[tokio::test]
async fn missing_file_is_waited_for_and_stop_ends_poll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.txt");
    let mut t = FileStreamSourceTask::default();
    t.start(ctx(&path, None)).await.unwrap();
    assert!(t.poll().await.unwrap().is_empty());
    std::fs::write(&path, "now\n").unwrap();
    assert_eq!(lines(&t.poll().await.unwrap()), ["now"]);
    t.stop().await.unwrap();
    assert!(t.poll().await.is_err());
}

#[tokio::test]
async fn invalid_utf8_fails_with_file_and_position_when_not_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, b"ok\n\xff\xfebad\nafter\n").unwrap();
    let mut t = FileStreamSourceTask::default();
    t.start(ctx(&path, None)).await.unwrap();
    let e = t.poll().await.unwrap_err().to_string();
    assert!(
        e.contains("byte 3") && e.contains("in.txt") && e.contains("UTF-8"),
        "{e}"
    );
}
