//! Reading back what a test wrote to Kafka, with an independent client (not the worker's).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// A record read back from a topic.
#[derive(Debug, Clone)]
pub struct Stored {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Stored {
    /// The value's bytes; a tombstone (no value) gives an empty slice.
    pub fn payload(&self) -> &[u8] {
        self.value.as_deref().unwrap_or_default()
    }

    /// The value parsed as JSON, `None` for a tombstone.
    pub fn json(&self) -> Option<serde_json::Value> {
        self.value
            .as_deref()
            .map(|v| serde_json::from_slice(v).expect("a JSON value"))
    }

    /// The key parsed as JSON, `None` without a key.
    pub fn key_json(&self) -> Option<serde_json::Value> {
        self.key
            .as_deref()
            .map(|v| serde_json::from_slice(v).expect("a JSON key"))
    }
}

fn stored(p: i32, m: &rdkafka::message::BorrowedMessage<'_>) -> Stored {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default();
    Stored {
        partition: p,
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// Every record of every partition of `topic`, up to the high watermarks seen when called (until
/// 20 s pass without one), in partition then offset order. A topic that does not exist (yet) gives no records.
pub fn topic_records(bootstrap: &str, topic: &str) -> Vec<Stored> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "connect-test-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .set("max.partition.fetch.bytes", "16777216")
        .create()
        .expect("a test consumer");
    let Ok(meta) = c.fetch_metadata(Some(topic), Duration::from_secs(5)) else {
        return Vec::new();
    };
    let Some(t) = meta.topics().iter().find(|t| t.name() == topic) else {
        return Vec::new();
    };
    if t.error().is_some() {
        return Vec::new();
    }
    let partitions: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    let mut out = Vec::new();
    for p in partitions {
        let Ok((low, high)) = c.fetch_watermarks(topic, p, Duration::from_secs(5)) else {
            continue;
        };
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(low))
            .expect("a partition offset");
        c.assign(&tpl).expect("assigning a partition");
        // Bounded by progress, not by size: 20 s without a record ends the read.
        let mut last_progress = Instant::now();
        let mut next = low;
        // tansu's high watermark can be below what it stores (it reports the last batch's base
        // offset + 1), so reading goes on past it until the partition stays quiet for 300 ms.
        let mut idle = 0;
        while last_progress.elapsed() < Duration::from_secs(20) && (next < high || idle < 3) {
            let Some(Ok(m)) = c.poll(Duration::from_millis(100)) else {
                idle += 1;
                continue;
            };
            idle = 0;
            last_progress = Instant::now();
            next = m.offset() + 1;
            out.push(stored(p, &m));
        }
    }
    out
}

/// Polls `topic` until it holds at least `n` records or `timeout` passes; returns what it holds.
pub fn wait_for_records(bootstrap: &str, topic: &str, n: usize, timeout: Duration) -> Vec<Stored> {
    let start = Instant::now();
    loop {
        let got = topic_records(bootstrap, topic);
        if got.len() >= n || start.elapsed() > timeout {
            return got;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A record to produce: key and value, either absent.
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Produces `(key, value)` records to partition 0 of `topic` and waits for each acknowledgement, as
/// another client (a Java Kafka Connect cluster, Debezium) would have written them.
pub fn produce(bootstrap: &str, topic: &str, records: &[KeyValue<'_>]) {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create()
        .expect("a test producer");
    for (k, v) in records {
        let mut r: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).partition(0);
        if let Some(k) = k {
            r = r.key(k);
        }
        if let Some(v) = v {
            r = r.payload(v);
        }
        p.send(r).map_err(|(e, _)| e).expect("queueing a record");
    }
    p.flush(Duration::from_secs(20))
        .expect("records acknowledged");
}

/// Reads partition 0 of a topic from its start on a thread of its own, as records arrive, for tests
/// that write more than a broker keeps (the mock cluster keeps about 5 MB per partition).
pub struct TopicTail {
    records: std::sync::Arc<std::sync::Mutex<Vec<Stored>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TopicTail {
    /// Starts reading `topic` (which must exist) from offset 0.
    pub fn start(bootstrap: &str, topic: &str) -> TopicTail {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "connect-test-tail")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "10")
            .create()
            .expect("a test consumer");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)
            .expect("a partition offset");
        c.assign(&tpl).expect("assigning a partition");
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let records = records.clone();
            let stop = stop.clone();
            move || {
                while !stop.load(Ordering::SeqCst) {
                    if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                        let s = stored(0, &m);
                        records.lock().expect("tail records").push(s);
                    }
                }
            }
        });
        TopicTail {
            records,
            stop,
            thread: Some(thread),
        }
    }

    /// A copy of what was read so far.
    pub fn records(&self) -> Vec<Stored> {
        self.records.lock().expect("tail records").clone()
    }

    /// Calls `f` with what was read so far, without copying it.
    pub fn with<R>(&self, f: impl FnOnce(&[Stored]) -> R) -> R {
        f(&self.records.lock().expect("tail records"))
    }
}

impl Drop for TopicTail {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
