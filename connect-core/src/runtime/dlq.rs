//! Error routing: what happens to a record that failed conversion, transformation or the sink's `put`,
//! per the connector's `errors.*` keys. With `errors.tolerance=none` the task fails; with `all` the
//! record is logged (without payload unless `errors.log.include.messages=true`) and, when
//! `errors.deadletterqueue.topic.name` is set, written to the dead letter queue with its original
//! bytes and, when enabled, Kafka Connect's `__connect.errors.*` context headers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::config::{ErrorPolicy, ErrorTolerance};
use crate::error::ConnectError;
use crate::record::SinkRecord;
use crate::runtime::status::TaskMetrics;

/// A record as it was in Kafka (sink) or as raw bytes from the source system: what goes to the DLQ.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRecord {
    /// Original topic (sink) or intended topic (source).
    pub topic: Arc<str>,
    /// Original partition; -1 when unknown.
    pub partition: i32,
    /// Original offset; -1 when unknown (source records).
    pub offset: i64,
    /// Original timestamp.
    pub timestamp: Option<i64>,
    /// Key bytes.
    pub key: Option<Bytes>,
    /// Value bytes.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A Kafka message's headers as owned (name, value) pairs, for a [`RawRecord`].
pub(crate) fn owned_headers<H: rdkafka::message::Headers>(
    headers: Option<&H>,
) -> Vec<(String, Option<Bytes>)> {
    headers
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_owned(), h.value.map(Bytes::copy_from_slice)))
                .collect()
        })
        .unwrap_or_default()
}

/// The processing stage where a record failed, as Kafka Connect names them in
/// `__connect.errors.stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
    /// A transformation.
    Transformation,
    /// The sink task's `put`.
    TaskPut,
    /// The source task's `poll` (raw data the source could not turn into a record).
    TaskPoll,
    /// The Kafka producer.
    KafkaProduce,
}

impl Stage {
    /// Kafka Connect's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
            Stage::TaskPoll => "TASK_POLL",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
        }
    }
}

/// Header names of the DLQ context, as Kafka Connect's `DeadLetterQueueReporter`.
pub mod headers {
    /// Original topic.
    pub const TOPIC: &str = "__connect.errors.topic";
    /// Original partition.
    pub const PARTITION: &str = "__connect.errors.partition";
    /// Original offset.
    pub const OFFSET: &str = "__connect.errors.offset";
    /// Connector name.
    pub const CONNECTOR: &str = "__connect.errors.connector.name";
    /// Task number.
    pub const TASK_ID: &str = "__connect.errors.task.id";
    /// Stage name.
    pub const STAGE: &str = "__connect.errors.stage";
    /// The failing component (class name or transform alias).
    pub const CLASS: &str = "__connect.errors.class.name";
    /// Error kind.
    pub const EXCEPTION_CLASS: &str = "__connect.errors.exception.class.name";
    /// Error message.
    pub const EXCEPTION_MESSAGE: &str = "__connect.errors.exception.message";
    /// Error detail.
    pub const EXCEPTION_STACKTRACE: &str = "__connect.errors.exception.stacktrace";
}

/// Reports failed records of one task: logs them, writes them to the DLQ, or fails the task, per the
/// connector's [`ErrorPolicy`]. Sink tasks get one through their context to report single records that
/// cannot be written.
pub struct ErrantRecordReporter {
    connector: String,
    task_id: usize,
    policy: ErrorPolicy,
    producer: Option<FutureProducer>,
    metrics: Arc<crate::runtime::status::TaskShared>,
    batch_raw: Mutex<Vec<RawRecord>>,
}

impl std::fmt::Debug for ErrantRecordReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrantRecordReporter")
            .field("connector", &self.connector)
            .field("task_id", &self.task_id)
            .field("dlq", &self.policy.dlq_topic)
            .finish()
    }
}

fn error_kind(e: &ConnectError) -> &'static str {
    match e {
        ConnectError::Data(_) => "org.apache.kafka.connect.errors.DataException",
        ConnectError::Config(_) => "org.apache.kafka.common.config.ConfigException",
        ConnectError::Retriable(_) => "org.apache.kafka.connect.errors.RetriableException",
        ConnectError::Kafka(_) => "org.apache.kafka.common.KafkaException",
        _ => "org.apache.kafka.connect.errors.ConnectException",
    }
}

impl ErrantRecordReporter {
    pub(crate) fn new(
        connector: &str,
        task_id: usize,
        policy: ErrorPolicy,
        producer: Option<FutureProducer>,
        metrics: Arc<crate::runtime::status::TaskShared>,
    ) -> Self {
        ErrantRecordReporter {
            connector: connector.to_owned(),
            task_id,
            policy,
            producer,
            metrics,
            batch_raw: Mutex::new(Vec::new()),
        }
    }

    /// True when error messages may quote record content (`errors.log.include.messages=true`):
    /// without it, a task's errors name the record (topic, partition, offset) and the field, never
    /// the data, and a downstream system's error text (which may quote a document) is left out.
    pub fn includes_messages(&self) -> bool {
        self.policy.log_include_messages
    }

    /// True when failed records are skipped (`errors.tolerance=all`).
    pub fn tolerates(&self) -> bool {
        self.policy.tolerance == ErrorTolerance::All
    }

    /// True when a failed record is written to a dead letter queue (tolerance `all` and a DLQ topic):
    /// then a source runner keeps the record as it was before the transforms, to report it whole.
    pub(crate) fn keeps_originals(&self) -> bool {
        self.tolerates() && self.policy.dlq_topic.is_some()
    }

    /// Keeps the raw records of the batch being put, so `report` can send a record's original bytes.
    pub(crate) fn set_batch(&self, raws: Vec<RawRecord>) {
        if let Ok(mut m) = self.batch_raw.lock() {
            *m = raws;
        }
    }

    /// Reports one record that the sink task cannot write. Returns once the record is in the DLQ (or
    /// logged, when no DLQ is configured). With `errors.tolerance=none` it returns an error: the task
    /// should fail with it.
    pub async fn report(
        &self,
        record: &SinkRecord,
        error: &ConnectError,
    ) -> Result<(), ConnectError> {
        let o = &record.original;
        let raw = self
            .batch_raw
            .lock()
            .ok()
            .and_then(|m| {
                m.iter()
                    .find(|r| {
                        r.offset == o.offset && r.partition == o.partition && r.topic == o.topic
                    })
                    .cloned()
            })
            .unwrap_or_else(|| RawRecord {
                topic: o.topic.clone(),
                partition: o.partition,
                offset: o.offset,
                ..Default::default()
            });
        self.handle(&raw, Stage::TaskPut, "SinkTask", error).await
    }

    /// Reports raw source data that could not become a record (e.g. an unparseable HL7 message).
    pub async fn report_raw(
        &self,
        raw: &RawRecord,
        error: &ConnectError,
    ) -> Result<(), ConnectError> {
        self.handle(raw, Stage::TaskPoll, "SourceTask", error).await
    }

    /// Applies the policy to one failed record: Ok when it was tolerated (logged and, with a DLQ,
    /// durably written there), Err when the task must fail.
    pub(crate) async fn handle(
        &self,
        raw: &RawRecord,
        stage: Stage,
        component: &str,
        error: &ConnectError,
    ) -> Result<(), ConnectError> {
        TaskMetrics::add(&self.metrics.metrics.failed, 1);
        if self.policy.log_enable || self.policy.tolerance == ErrorTolerance::None {
            if self.policy.log_include_messages {
                tracing::error!(
                    connector = %self.connector, task = self.task_id, stage = stage.as_str(), component,
                    topic = %raw.topic, partition = raw.partition, offset = raw.offset,
                    key = ?raw.key.as_deref().map(String::from_utf8_lossy),
                    value = ?raw.value.as_deref().map(String::from_utf8_lossy),
                    %error, "error processing record"
                );
            } else {
                tracing::error!(
                    connector = %self.connector, task = self.task_id, stage = stage.as_str(), component,
                    %error, "error processing record"
                );
            }
        }
        if self.policy.tolerance == ErrorTolerance::None {
            return Err(ConnectError::other(format!(
                "Tolerance exceeded in error handler: stage {} ({component}) failed: {error}",
                stage.as_str()
            )));
        }
        if let (Some(topic), Some(producer)) = (&self.policy.dlq_topic, &self.producer) {
            let mut hs = OwnedHeaders::new();
            for (k, v) in &raw.headers {
                hs = hs.insert(rdkafka::message::Header {
                    key: k,
                    value: v.as_deref(),
                });
            }
            if self.policy.dlq_context_headers {
                let partition = raw.partition.to_string();
                let offset = raw.offset.to_string();
                let task = self.task_id.to_string();
                let message = error.to_string();
                let trace = format!("{}: {message}", error_kind(error));
                let mut ctx: Vec<(&str, &str)> = Vec::with_capacity(10);
                if raw.offset >= 0 {
                    ctx.push((headers::TOPIC, &raw.topic));
                    ctx.push((headers::PARTITION, &partition));
                    ctx.push((headers::OFFSET, &offset));
                }
                ctx.push((headers::CONNECTOR, &self.connector));
                ctx.push((headers::TASK_ID, &task));
                ctx.push((headers::STAGE, stage.as_str()));
                ctx.push((headers::CLASS, component));
                ctx.push((headers::EXCEPTION_CLASS, error_kind(error)));
                ctx.push((headers::EXCEPTION_MESSAGE, &message));
                ctx.push((headers::EXCEPTION_STACKTRACE, &trace));
                for (k, v) in ctx {
                    hs = hs.insert(rdkafka::message::Header {
                        key: k,
                        value: Some(v.as_bytes()),
                    });
                }
            }
            let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(hs);
            if let Some(k) = &raw.key {
                rec = rec.key(k.as_ref());
            }
            if let Some(v) = &raw.value {
                rec = rec.payload(v.as_ref());
            }
            if let Some(ts) = raw.timestamp {
                rec = rec.timestamp(ts);
            }
            producer
                .send(rec, Duration::from_secs(60))
                .await
                .map_err(|(e, _)| {
                    ConnectError::other(format!(
                        "writing to dead letter queue '{topic}' failed: {e}"
                    ))
                })?;
            TaskMetrics::add(&self.metrics.metrics.dlq, 1);
        }
        Ok(())
    }
}
