//! Test connectors and Kafka helpers shared by the runtime integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connect_core::async_trait;
use connect_core::config::{ConfigDef, ConfigType, Importance, Props};
use connect_core::data::{Map, Value};
use connect_core::error::{ConfigError, ConnectError};
use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
use connect_core::rdkafka::message::{Headers, Message};
use connect_core::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use connect_core::record::{ConnectRecord, OffsetMap, Record, SinkRecord, SourceRecord};
use connect_core::sink::{PartitionOffsets, SinkConnector, SinkTask, SinkTaskContext};
use connect_core::source::{
    RecordMetadata, RecordOutcome, RecordPosition, SourceConnector, SourceTask, SourceTaskContext,
};
use connect_core::transform::Transformation;

/// Emits `count` records `{"seq": i}` keyed by `i`, with source offset `{"seq": i}`; resumes after the
/// stored offset.
#[derive(Clone, Default)]
pub struct SeqSource {
    pub acked: Arc<Mutex<Vec<i64>>>,
    pub starts: Arc<AtomicU64>,
    /// With `written.batches=true`, the size of each `records_written` call (the task then takes
    /// written records in batches instead of through `commit_record`).
    pub batches: Arc<Mutex<Vec<usize>>>,
}

impl SourceConnector for SeqSource {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("topic", ConfigType::String, None, Importance::High, "t")
            .define("count", ConfigType::Long, None, Importance::High, "n")
            .define(
                "per.poll",
                ConfigType::Int,
                Some("100"),
                Importance::Low,
                "b",
            )
            .define(
                "written.batches",
                ConfigType::Boolean,
                Some("false"),
                Importance::Low,
                "w",
            )
            .define(
                "poll.delay.ms",
                ConfigType::Long,
                Some("0"),
                Importance::Low,
                "d",
            )
    }
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(SeqTask {
            shared: self.clone(),
            state: Mutex::new((0, 0)),
            topic: String::new(),
            per_poll: 100,
            delay: Duration::ZERO,
            partition: Arc::new(OffsetMap::new()),
            batched: false,
        })
    }
}

struct SeqTask {
    shared: SeqSource,
    state: Mutex<(i64, i64)>, // (next, count)
    topic: String,
    per_poll: i64,
    delay: Duration,
    partition: Arc<OffsetMap>,
    batched: bool,
}

#[async_trait]
impl SourceTask for SeqTask {
    async fn start(&mut self, ctx: SourceTaskContext) -> Result<(), ConnectError> {
        self.shared.starts.fetch_add(1, Ordering::SeqCst);
        let c = self_def().parse(&ctx.config)?;
        self.topic = c.string("topic").unwrap_or_default().to_owned();
        self.per_poll = c.int("per.poll") as i64;
        self.delay = Duration::from_millis(c.long("poll.delay.ms") as u64);
        self.batched = c.boolean("written.batches");
        self.partition = Arc::new(
            [("source".to_string(), serde_json::json!("seq"))]
                .into_iter()
                .collect(),
        );
        let next = ctx
            .offsets
            .offset(&self.partition)
            .and_then(|o| o.get("seq").and_then(|s| s.as_i64()))
            .map(|s| s + 1)
            .unwrap_or(0);
        *self.state.lock().unwrap() = (next, c.long("count"));
        Ok(())
    }
    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let batch = {
            let mut st = self.state.lock().unwrap();
            let end = (st.0 + self.per_poll).min(st.1);
            let b: Vec<SourceRecord> = (st.0..end)
                .map(|i| {
                    let mut m = Map::new();
                    m.insert("seq", i);
                    SourceRecord::new(
                        self.partition.clone(),
                        [("seq".to_string(), serde_json::json!(i))]
                            .into_iter()
                            .collect(),
                        ConnectRecord::new(
                            &self.topic,
                            Value::String(i.to_string()),
                            Value::Map(m),
                        ),
                    )
                })
                .collect();
            st.0 = end;
            b
        };
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(batch)
    }
    async fn commit_record(
        &self,
        r: &RecordPosition,
        m: Option<&RecordMetadata>,
    ) -> Result<(), ConnectError> {
        if m.is_some() {
            if let Some(s) = r.source_offset.get("seq").and_then(|s| s.as_i64()) {
                self.shared.acked.lock().unwrap().push(s);
            }
        }
        Ok(())
    }
    async fn records_written(
        &self,
        records: &[(RecordPosition, RecordMetadata)],
    ) -> Result<(), ConnectError> {
        if !self.batched {
            // What the trait's default does.
            for (r, m) in records {
                self.record_settled(r, RecordOutcome::Written(m)).await?;
            }
            return Ok(());
        }
        self.shared.batches.lock().unwrap().push(records.len());
        let mut acked = self.shared.acked.lock().unwrap();
        acked.extend(
            records
                .iter()
                .filter_map(|(r, _)| r.source_offset.get("seq").and_then(|s| s.as_i64())),
        );
        Ok(())
    }
    async fn stop(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

fn self_def() -> ConfigDef {
    SeqSource::default().config_def()
}

/// What a [`CollectSink`] task does at a given Kafka offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Fail `put` with a non-retriable error.
    Fatal(i64),
    /// Fail `put` with a retriable error the first `n` times the offset is seen.
    Retriable(i64, u32),
    /// Report the record to the errant record reporter.
    Errant(i64),
}

/// Collects records: `put` buffers, `flush` makes them durable (moves them to `durable`).
#[derive(Clone, Default)]
pub struct CollectSink {
    pub durable: Arc<Mutex<Vec<SinkRecord>>>,
    pub fault: Arc<Mutex<Option<Fault>>>,
    pub puts: Arc<AtomicU64>,
}

impl SinkConnector for CollectSink {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(CollectTask {
            shared: self.clone(),
            pending: Vec::new(),
            ctx: None,
            seen: BTreeMap::new(),
        })
    }
}

struct CollectTask {
    shared: CollectSink,
    pending: Vec<SinkRecord>,
    ctx: Option<SinkTaskContext>,
    seen: BTreeMap<i64, u32>,
}

#[async_trait]
impl SinkTask for CollectTask {
    async fn start(&mut self, ctx: SinkTaskContext) -> Result<(), ConnectError> {
        self.ctx = Some(ctx);
        Ok(())
    }
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        self.shared.puts.fetch_add(1, Ordering::SeqCst);
        let fault = *self.shared.fault.lock().unwrap();
        for r in records {
            match fault {
                Some(Fault::Fatal(o)) if r.kafka_offset == o => {
                    return Err(ConnectError::other("downstream rejected the write"))
                }
                Some(Fault::Retriable(o, n)) if r.kafka_offset == o => {
                    let seen = self.seen.entry(o).or_insert(0);
                    *seen += 1;
                    if *seen <= n {
                        self.pending
                            .retain(|p| p.kafka_offset < records[0].kafka_offset);
                        return Err(ConnectError::retriable("downstream busy"));
                    }
                }
                Some(Fault::Errant(o)) if r.kafka_offset == o => {
                    let rep = self
                        .ctx
                        .as_ref()
                        .and_then(|c| c.errant_record_reporter.clone())
                        .unwrap();
                    rep.report(r, &ConnectError::other("record rejected by downstream"))
                        .await?;
                    continue;
                }
                _ => {}
            }
            self.pending.push(r.clone());
        }
        Ok(())
    }
    async fn flush(&mut self, _o: &PartitionOffsets) -> Result<(), ConnectError> {
        self.shared
            .durable
            .lock()
            .unwrap()
            .append(&mut self.pending);
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

/// An SMT that always fails with a retriable error and counts its calls.
#[derive(Clone, Default)]
pub struct AlwaysRetriable {
    pub calls: Arc<AtomicU64>,
}

impl<R: Record> Transformation<R> for AlwaysRetriable {
    fn configure(&mut self, _p: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn apply(&self, _r: R) -> Result<Option<R>, ConnectError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(ConnectError::retriable("lookup service unavailable"))
    }
}

/// A record read back from Kafka.
#[derive(Debug, Clone)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Reads every record of `topic` until `want` were read or `timeout` passed.
pub fn read_topic(bootstrap: &str, topic: &str, want: usize, timeout: Duration) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("reader-{}", rand_suffix()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for t in md.topics() {
        for p in t.partitions() {
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                .unwrap();
        }
    }
    consumer.assign(&tpl).unwrap();
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < want && start.elapsed() < timeout {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push(Read {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(|k| k.to_vec()),
                value: m.payload().map(|v| v.to_vec()),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(|v| v.to_vec())))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

/// The committed offsets of a consumer group for a topic's partitions.
pub fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let c = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    c.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}

/// Produces raw records.
/// A raw (key, value) pair to produce.
pub type RawKv<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

pub async fn produce(bootstrap: &str, topic: &str, records: &[RawKv<'_>]) {
    use connect_core::rdkafka::producer::{FutureProducer, FutureRecord};
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for (k, v) in records {
        let mut r: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).partition(0);
        if let Some(k) = k {
            r = r.key(*k);
        }
        if let Some(v) = v {
            r = r.payload(*v);
        }
        p.send(r, Duration::from_secs(10)).await.unwrap();
    }
}

pub fn rand_suffix() -> u64 {
    use std::time::SystemTime;
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// The `seq` of a schemaless JSON value `{"seq": n}`.
pub fn seq_of(v: &Value) -> i64 {
    match v {
        Value::Map(m) => m.get("seq").and_then(|s| s.as_i64()).unwrap(),
        other => panic!("unexpected value {other:?}"),
    }
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}
