//! `topic.creation.*` end to end: a source writes to topics that do not exist, and they are created with
//! the partitions, replication and topic configs of the group they match (or the default group), on
//! the embedded cluster and on a separate broker process (tansu, which does not auto-create topics).

mod common;

use std::time::Duration;

use connect_core::config::{ConnectorConfig, Props};
use connect_core::rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use connect_core::rdkafka::client::DefaultClientContext;
use connect_core::rdkafka::consumer::{BaseConsumer, Consumer};
use connect_core::rdkafka::ClientConfig;
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use connect_test_support::Tansu;

use common::{init_tracing, SeqSource};

fn partitions(bootstrap: &str, topic: &str) -> usize {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    md.topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
        .unwrap_or(0)
}

fn source(name: &str, topic: &str) -> ConnectorConfig {
    ConnectorConfig::new(
        name,
        Props::new()
            .with("name", name)
            .with("connector.class", "SeqSource")
            .with("topic", topic)
            .with("count", "20")
            .with(
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            )
            .with(
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            )
            .with("value.converter.schemas.enable", "false")
            .with("topic.creation.default.partitions", "3")
            .with("topic.creation.default.replication.factor", "1")
            .with("topic.creation.groups", "clinical")
            .with("topic.creation.clinical.include", r"clinical\..*")
            .with("topic.creation.clinical.partitions", "5")
            .with("topic.creation.clinical.cleanup.policy", "compact"),
    )
}

async fn run(worker: &Worker, name: &str, topic: &str) {
    let c = worker.start_connector(source(name, topic)).await.unwrap();
    c.wait_for(Duration::from_secs(60), |m| m.records_written == 20)
        .await
        .unwrap();
    c.stop().await;
}

fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    r.register_source(&["SeqSource"], SeqSource::default());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_by_group_on_the_embedded_cluster() {
    init_tracing();
    let w = Worker::start(Props::new(), registry()).await.unwrap();
    run(&w, "a", "clinical.patient.admitted").await;
    run(&w, "b", "reference.provider.details").await;
    assert_eq!(
        partitions(w.bootstrap_servers(), "clinical.patient.admitted"),
        5
    );
    assert_eq!(
        partitions(w.bootstrap_servers(), "reference.provider.details"),
        3
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_by_group_on_a_broker_that_does_not_auto_create() {
    init_tracing();
    let broker = Tansu::start();
    let w = Worker::start(
        Props::new().with("bootstrap.servers", broker.addr()),
        registry(),
    )
    .await
    .unwrap();
    run(&w, "a", "clinical.patient.admitted").await;
    run(&w, "b", "reference.provider.details").await;
    assert_eq!(partitions(&broker.addr(), "clinical.patient.admitted"), 5);
    assert_eq!(partitions(&broker.addr(), "reference.provider.details"), 3);
    // The group's topic config reached the broker.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.addr())
        .create()
        .unwrap();
    let described = admin
        .describe_configs(
            [&ResourceSpecifier::Topic("clinical.patient.admitted")],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    let resource = described[0].as_ref().expect("described");
    let policy = resource.get("cleanup.policy").and_then(|e| e.value.clone());
    assert_eq!(policy.as_deref(), Some("compact"));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_default_key_alone_fails_validation_naming_the_missing_key() {
    let w = Worker::start(Props::new(), registry()).await.unwrap();
    let mut cfg = source("half", "x");
    cfg.props
        .remove("topic.creation.default.replication.factor");
    let e = w.validate(&cfg).unwrap_err().to_string();
    assert!(
        e.contains("topic.creation.default.replication.factor"),
        "{e}"
    );
    w.shutdown().await;
}
