//! The quickstart pipeline: a file of patient registrations -> file source -> Kafka -> file sink, with
//! a custom SMT that parses each JSON line, `MaskField` removing the SSN (PHI) and `InsertField` tagging
//! the source system on the way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use connect_core::config::{ConnectorConfig, Props};
use connect_core::data::Value;
use connect_core::error::ConfigError;
use connect_core::error::{ConnectError, DataError};
use connect_core::record::Record;
use connect_core::registry::Registry;
use connect_core::runtime::admin::TopicSpec;
use connect_core::runtime::{MetricsSnapshot, Worker};
use connect_core::transform::Transformation;

/// The registrations written to the input file.
pub const REGISTRATIONS: &[&str] = &[
    r#"{"mrn":"MRN-1001","name":"DOE^JANE","ssn":"123-45-6789","ward":"ICU"}"#,
    r#"{"mrn":"MRN-1002","name":"ROE^RICHARD","ssn":"987-65-4321","ward":"CARDIO"}"#,
    r#"{"mrn":"MRN-1003","name":"POE^EDGAR","ssn":"555-12-3456","ward":"ED"}"#,
    r#"{"mrn":"MRN-1004","name":"LOE^ANNA","ssn":"111-22-3333","ward":"MATERNITY"}"#,
    r#"{"mrn":"MRN-1005","name":"COE^SAM","ssn":"222-33-4444","ward":"ONCOLOGY"}"#,
];

/// The topic the pipeline goes through.
pub const TOPIC: &str = "clinical.patient.registered";

/// A custom SMT, registered by the host in one call: parses a JSON text value into a schemaless map.
#[derive(Debug, Default, Clone)]
pub struct ParseJson;

impl<R: Record> Transformation<R> for ParseJson {
    fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        let base = record.base_mut();
        let Value::String(text) = &base.value else {
            return Ok(Some(record));
        };
        let conv = connect_core::converter::JsonConverter::new(false);
        let parsed = conv
            .decode(Some(text.as_bytes()))
            .map_err(|e| DataError::new(format!("line is not JSON: {e}")))?;
        base.value_schema = None;
        base.value = parsed.value;
        Ok(Some(record))
    }
}

/// What ran through the pipeline.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The broker used.
    pub bootstrap: String,
    /// Source counters.
    pub source: MetricsSnapshot,
    /// Sink counters.
    pub sink: MetricsSnapshot,
    /// The input file.
    pub input: PathBuf,
    /// The output file.
    pub output: PathBuf,
    /// The output lines.
    pub output_lines: Vec<String>,
}

/// The source connector's config, as a user would write it.
pub fn source_config(input: &Path) -> ConnectorConfig {
    ConnectorConfig::from_json(
        &serde_json::json!({
            "name": "registrations-file-source",
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "file": input.display().to_string(),
                "topic": TOPIC,
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
                "transforms": "parse,maskSsn,tagSource",
                "transforms.parse.type": "ParseJson",
                "transforms.maskSsn.type": "org.apache.kafka.connect.transforms.MaskField$Value",
                "transforms.maskSsn.fields": "ssn",
                "transforms.maskSsn.replacement": "***-**-****",
                "transforms.tagSource.type": "org.apache.kafka.connect.transforms.InsertField$Value",
                "transforms.tagSource.static.field": "source_system",
                "transforms.tagSource.static.value": "registration-desk",
                "topic.creation.default.partitions": "1",
                "topic.creation.default.replication.factor": "1"
            }
        })
        .to_string(),
    )
    .expect("the quickstart's own source config is valid")
}

/// The sink connector's config.
pub fn sink_config(output: &Path) -> ConnectorConfig {
    ConnectorConfig::from_json(
        &serde_json::json!({
            "name": "registrations-file-sink",
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                "file": output.display().to_string(),
                "topics": TOPIC,
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
                "errors.tolerance": "all",
                "errors.deadletterqueue.topic.name": "dlq.registrations",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true"
            }
        })
        .to_string(),
    )
    .expect("the quickstart's own sink config is valid")
}

/// The registry the quickstart uses: built-ins, the crates' connectors and SMTs, and the custom SMT.
pub fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    connect_sources::register(&mut r);
    connect_sinks::register(&mut r);
    connect_smt::register(&mut r);
    r.register_transform(
        &[
            "ParseJson",
            "org.healthcare.kafka.connect.transforms.ParseJson",
        ],
        ParseJson::default,
    );
    r
}

/// Runs the pipeline in `dir` against `bootstrap` (None: the embedded cluster) and returns when every
/// registration reached the output file.
pub async fn run(bootstrap: Option<&str>, dir: &Path) -> Result<Summary, ConnectError> {
    let input = dir.join("registrations.jsonl");
    let output = dir.join("registrations-out.jsonl");
    let offsets = dir.join("offsets.json");
    std::fs::write(&input, REGISTRATIONS.join("\n") + "\n")
        .map_err(|e| ConnectError::io("writing the input file", e))?;
    let mut worker_props = Props::new()
        .with(
            "offset.storage.file.filename",
            offsets.display().to_string(),
        )
        .with("offset.flush.interval.ms", "500");
    if let Some(b) = bootstrap {
        worker_props.set("bootstrap.servers", b);
    }
    let worker = Worker::start(worker_props, registry()).await?;
    worker
        .admin()
        .ensure(&TopicSpec {
            name: TOPIC.into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        })
        .await?;
    let source = worker.start_connector(source_config(&input)).await?;
    let sink = worker.start_connector(sink_config(&output)).await?;
    let n = REGISTRATIONS.len() as u64;
    let source_m = source
        .wait_for(Duration::from_secs(60), |m| m.records_written >= n)
        .await?;
    let sink_m = sink
        .wait_for(Duration::from_secs(60), |m| m.records_written >= n)
        .await?;
    worker.shutdown().await;
    let output_lines: Vec<String> = std::fs::read_to_string(&output)
        .map_err(|e| ConnectError::io("reading the output file", e))?
        .lines()
        .map(str::to_owned)
        .collect();
    Ok(Summary {
        bootstrap: bootstrap.unwrap_or("embedded").to_owned(),
        source: source_m,
        sink: sink_m,
        input,
        output,
        output_lines,
    })
}
