//! Patient data never reaches logs, DLQ headers or task statuses with the default settings
//! (`errors.log.include.messages=false`): recognisable PHI (a name, an MRN, a birth date, an SSN) is
//! planted in records that fail at every stage (a transform, HL7ToFHIR, the key and value converters
//! on both sides, the producer, a task failing on tolerance `none`), and everything the runtime wrote
//! about those failures is scanned for it. The DLQ record's *value* holds the data by design; its
//! `__connect.errors.*` headers must not.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connect_core::async_trait;
use connect_core::config::{ConfigDef, ConfigType, ConnectorConfig, Importance, Props};
use connect_core::data::{Map, Value};
use connect_core::error::ConnectError;
use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
use connect_core::rdkafka::message::Headers;
use connect_core::rdkafka::producer::{FutureProducer, FutureRecord};
use connect_core::rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use connect_core::rdkafka::{ClientConfig, Message as _, Offset, TopicPartitionList};
use connect_core::record::{ConnectRecord, OffsetMap, SourceRecord};
use connect_core::registry::Registry;
use connect_core::runtime::{TaskState, Worker};
use connect_core::source::{SourceConnector, SourceTask, SourceTaskContext};

const NAME: &str = "Quixote-Marchbanks";
const GIVEN: &str = "Zelda";
const MRN: &str = "MRN8675309Q";
const BIRTH: &str = "1962-07-14";
const SSN: &str = "987-65-4329";

/// Emits one record of the configured kind, full of PHI.
#[derive(Clone, Default)]
struct PhiSource;

impl SourceConnector for PhiSource {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("topic", ConfigType::String, None, Importance::High, "t")
            .define("kind", ConfigType::String, None, Importance::High, "k")
    }
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(PhiTask(Mutex::new(None)))
    }
}

struct PhiTask(Mutex<Option<SourceRecord>>);

fn patient() -> Value {
    let mut m = Map::new();
    m.insert("name", format!("{GIVEN} {NAME}"));
    m.insert("mrn", MRN);
    m.insert("birthDate", BIRTH);
    m.insert("ssn", SSN);
    Value::Map(m)
}

fn adt() -> String {
    format!(
        "MSH|^~\\&|ADT|HOSP|EHR|HOSP|20240301083000+0000||ADT^A01|C1|P|2.5\r\
EVN|A01|20240301083000\r\
PID|1||{MRN}^^^HOSP^MR||{NAME}^{GIVEN}||{}|F|||||||||||{SSN}\r\
PV1|1|Z\r",
        BIRTH.replace('-', "") + "99"
    )
}

#[async_trait]
impl SourceTask for PhiTask {
    async fn start(&mut self, ctx: SourceTaskContext) -> Result<(), ConnectError> {
        let topic = ctx.config.get("topic").unwrap_or_default().to_owned();
        let (key, value) = match ctx.config.get("kind").unwrap_or_default() {
            "hl7" => (Value::String(MRN.into()), Value::String(adt())),
            _ => (Value::String(MRN.into()), patient()),
        };
        let partition: OffsetMap = [("phi".to_string(), serde_json::json!(topic))]
            .into_iter()
            .collect();
        *self.0.lock().unwrap() = Some(SourceRecord::new(
            Arc::new(partition),
            [("n".to_string(), serde_json::json!(1))]
                .into_iter()
                .collect(),
            ConnectRecord::new(&topic, key, value),
        ));
        Ok(())
    }
    async fn poll(&self) -> Result<Vec<SourceRecord>, ConnectError> {
        let next = self.0.lock().unwrap().take();
        match next {
            Some(r) => Ok(vec![r]),
            None => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(vec![])
            }
        }
    }
    async fn stop(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

fn config(name: &str, pairs: &[(&str, &str)]) -> ConnectorConfig {
    let mut p = Props::new()
        .with("name", name)
        .with("errors.deadletterqueue.topic.name", "dlq.phi")
        .with("errors.deadletterqueue.topic.replication.factor", "1")
        .with("errors.deadletterqueue.context.headers.enable", "true")
        .with("errors.tolerance", "all")
        .with("errors.log.enable", "true");
    for (k, v) in pairs {
        p.set(*k, *v);
    }
    ConnectorConfig::new(name, p)
}

fn dlq_headers(bootstrap: &str, want: usize) -> Vec<(String, String)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "phi-dlq-reader")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("dlq.phi", 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let mut records = 0;
    let start = Instant::now();
    while records < want && start.elapsed() < Duration::from_secs(20) {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            records += 1;
            if let Some(hs) = m.headers() {
                for h in hs.iter() {
                    out.push((
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    ));
                }
            }
        }
    }
    assert_eq!(records, want, "DLQ records");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phi_never_reaches_logs_dlq_headers_or_statuses() {
    let logs = connect_test_support::CapturedLogs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let mut registry = Registry::with_builtins();
    connect_smt::register(&mut registry);
    connect_sinks::register(&mut registry);
    registry.register_source(&["PhiSource"], PhiSource);
    let w = Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap();
    let cluster = w.embedded().unwrap();
    for t in ["phi.a", "phi.b", "phi.c", "phi.d", "phi.e", "phi.in"] {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    let json = [
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = json.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let mut handles = Vec::new();
    // The producer fails the record for good (first, alone: the injected error is the next produce
    // request's, whoever sends it).
    cluster
        .inject_request_errors(
            RDKafkaApiKey::Produce,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
        )
        .unwrap();
    handles.push(
        w.start_connector(config(
            "d",
            &with(&[
                ("connector.class", "PhiSource"),
                ("topic", "phi.d"),
                ("kind", "map"),
            ]),
        ))
        .await
        .unwrap(),
    );
    handles[0]
        .wait_for(Duration::from_secs(30), |m| m.records_dlq == 1)
        .await
        .unwrap();
    // A transform that cannot parse the birth date.
    handles.push(
        w.start_connector(config(
            "a",
            &with(&[
                ("connector.class", "PhiSource"),
                ("topic", "phi.a"),
                ("kind", "map"),
                ("transforms", "ts"),
                ("transforms.ts.type", "TimestampConverter$Value"),
                ("transforms.ts.field", "birthDate"),
                ("transforms.ts.format", "yyyyMMdd"),
                ("transforms.ts.target.type", "Timestamp"),
            ]),
        ))
        .await
        .unwrap(),
    );
    // HL7ToFHIR failing on an unmappable birth date.
    handles.push(
        w.start_connector(config(
            "b",
            &with(&[
                ("connector.class", "PhiSource"),
                ("topic", "phi.b"),
                ("kind", "hl7"),
                ("transforms", "fhir"),
                ("transforms.fhir.type", "HL7ToFHIR"),
                ("transforms.fhir.unmappable", "fail"),
            ]),
        ))
        .await
        .unwrap(),
    );
    // A key converter that cannot write the key.
    handles.push(
        w.start_connector(config(
            "c",
            &[
                ("connector.class", "PhiSource"),
                ("topic", "phi.c"),
                ("kind", "map"),
                (
                    "key.converter",
                    "org.apache.kafka.connect.converters.ByteArrayConverter",
                ),
                (
                    "value.converter",
                    "org.apache.kafka.connect.json.JsonConverter",
                ),
            ],
        ))
        .await
        .unwrap(),
    );
    // Tolerance none: the task fails, and its status carries the error.
    let strict = w
        .start_connector(ConnectorConfig::new(
            "e",
            Props::new()
                .with("name", "e")
                .with("connector.class", "PhiSource")
                .with("topic", "phi.e")
                .with("kind", "map")
                .with(
                    "key.converter",
                    "org.apache.kafka.connect.storage.StringConverter",
                )
                .with(
                    "value.converter",
                    "org.apache.kafka.connect.json.JsonConverter",
                )
                .with("transforms", "cast")
                .with("transforms.cast.type", "Cast$Value")
                .with("transforms.cast.spec", "ssn:int32"),
        ))
        .await
        .unwrap();
    // Sink side: bytes the value converter cannot read, and a transform failing on a field.
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", w.bootstrap_servers())
        .create()
        .unwrap();
    let bad = format!(r#"{{"name": "{GIVEN} {NAME}", "mrn": "{MRN}", "ssn": {SSN}"#);
    let good = format!(r#"{{"name": "{GIVEN} {NAME}", "mrn": "{MRN}", "birthDate": "{BIRTH}"}}"#);
    for v in [&bad, &good] {
        p.send(
            FutureRecord::to("phi.in").key(MRN).payload(v.as_str()),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    }
    handles.push(
        w.start_connector(config(
            "sink",
            &with(&[
                ("connector.class", "FileStreamSink"),
                ("topics", "phi.in"),
                ("file", "/dev/null"),
                ("transforms", "ts"),
                ("transforms.ts.type", "TimestampConverter$Value"),
                ("transforms.ts.field", "birthDate"),
                ("transforms.ts.format", "dd/MM/yyyy"),
                ("transforms.ts.target.type", "Timestamp"),
            ]),
        ))
        .await
        .unwrap(),
    );

    let start = Instant::now();
    while strict.status()[0].state != TaskState::Failed {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{:?}",
            strict.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Six records in the DLQ: one from each of a-d, two from the sink.
    let headers = dlq_headers(w.bootstrap_servers(), 6);
    let stages: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k == "__connect.errors.stage")
        .map(|(_, v)| v.as_str())
        .collect();
    for stage in [
        "TRANSFORMATION",
        "KEY_CONVERTER",
        "KAFKA_PRODUCE",
        "VALUE_CONVERTER",
    ] {
        assert!(stages.contains(&stage), "no {stage} failure in {stages:?}");
    }
    let mut statuses = String::new();
    for h in handles.iter().chain([&strict]) {
        statuses.push_str(&format!("{:?}\n", h.status()));
    }
    assert!(
        statuses.contains("ssn"),
        "the status names the field: {statuses}"
    );
    for h in &handles {
        h.stop().await;
    }
    strict.stop().await;
    w.shutdown().await;

    let log = logs.text();
    assert!(
        log.contains("error processing record"),
        "errors were logged"
    );
    let header_text: String = headers.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let birth_compact = BIRTH.replace('-', "");
    let ssn_digits = SSN.replace('-', "");
    for (what, text) in [
        ("logs", &log),
        ("DLQ headers", &header_text),
        ("statuses", &statuses),
    ] {
        for phi in [
            NAME,
            GIVEN,
            MRN,
            BIRTH,
            birth_compact.as_str(),
            SSN,
            ssn_digits.as_str(),
        ] {
            assert!(
                !text.contains(phi),
                "{what} contain '{phi}':\n{}",
                text.lines()
                    .filter(|l| l.contains(phi))
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
