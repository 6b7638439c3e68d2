//! The README's "embed a connector in your service" program, compiled with the tests so it stays true.
//!
//! ```text
//! cargo run --example embed -- claims-source.json [BOOTSTRAP_SERVERS]
//! RUST_LOG=debug cargo run --example embed -- claims-source.json
//! ```
//!
//! Logs go to stderr (`RUST_LOG`, default `info`): the worker's start, each task's state changes
//! (`RUNNING`, `PAUSED`, `FAILED` with its error, `STOPPED`), partitions assigned and revoked, retries.
use connect_core::{
    config::{ConnectorConfig, Props},
    registry::Registry,
    runtime::Worker,
};

/// A thread-caching allocator for the process. The runtime allocates a record on one thread (the
/// connector's reader) and frees it on others (the runner, librdkafka's delivery callbacks); glibc's
/// malloc serialises those frees on its arena locks, which halved CDC throughput in the benches
/// (BENCHMARKS.md, "Allocator"). Any such allocator does (mimalloc, jemalloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut registry = Registry::with_builtins();
    connect_sources::register(&mut registry);
    connect_sinks::register(&mut registry);
    connect_smt::register(&mut registry);
    // registry.register_transform(&["HL7ToFHIR", "org.healthcare.kafka.connect.transforms.HL7ToFHIR"], MySmt::default);

    // Worker config: the keys of connect-distributed.properties. No bootstrap.servers = embedded Kafka.
    let mut worker_props = Props::new().with("offset.storage.file.filename", "offsets.json");
    if let Some(servers) = std::env::args().nth(2) {
        worker_props.set("bootstrap.servers", servers);
    }
    let worker = Worker::start(worker_props, registry).await?;

    // Connector config: the JSON you POST to Kafka Connect today.
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: embed CONNECTOR.json [BOOTSTRAP_SERVERS]")?;
    let config = ConnectorConfig::from_json(&std::fs::read_to_string(path)?)?;
    let connector = worker.start_connector(config).await?;

    tokio::signal::ctrl_c().await?;
    println!("{:?} {:?}", connector.status(), connector.metrics());
    worker.shutdown().await; // drains in-flight records and commits offsets
    Ok(())
}
