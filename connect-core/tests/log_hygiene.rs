//! Secrets and patient data never reach logs: error logs name the stage and the error, not the payload
//! (unless `errors.log.include.messages=true`), and secret config values are redacted.

mod common;

use std::time::Duration;

use common::*;
use connect_core::config::{ConnectorConfig, Props};
use connect_core::registry::Registry;
use connect_core::runtime::Worker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_records_and_secrets_stay_out_of_logs() {
    let logs = connect_test_support::CapturedLogs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let sink = CollectSink::default();
    let mut registry = Registry::with_builtins();
    registry.register_sink(&["CollectSink"], sink.clone());
    let w = Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap();
    w.embedded().unwrap().create_topic("phi", 1, 1).unwrap();
    let ssn = "123-45-6789";
    let bad = format!("{{\"patient\":\"DOE^JANE\",\"ssn\":\"{ssn}\" oops");
    produce(
        w.bootstrap_servers(),
        "phi",
        &[(None, Some(bad.as_bytes()))],
    )
    .await;

    let secret = "s3cr3t-pw-do-not-log";
    let config = ConnectorConfig::from_json(
        &serde_json::json!({
            "name": "phi-sink",
            "config": {
                "connector.class": "CollectSink",
                "topics": "phi",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
                "connection.password": secret,
                "errors.tolerance": "all",
                "errors.log.enable": "true"
            }
        })
        .to_string(),
    )
    .unwrap();
    tracing::info!(config = ?config, "starting connector");
    let k = w.start_connector(config).await.unwrap();
    k.wait_for(Duration::from_secs(30), |m| m.records_failed == 1)
        .await
        .unwrap();
    w.shutdown().await;

    let text = logs.text();
    assert!(
        text.contains("error processing record"),
        "the failure is logged:\n{text}"
    );
    assert!(text.contains("VALUE_CONVERTER"), "with its stage");
    assert!(!text.contains(ssn), "a payload reached the logs:\n{text}");
    assert!(!text.contains("DOE^JANE"), "a payload reached the logs");
    assert!(!text.contains(secret), "a secret reached the logs:\n{text}");
    assert!(text.contains("[hidden]"), "secret keys are shown redacted");
}
