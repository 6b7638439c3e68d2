//! Quickstart: file source -> Kafka -> file sink, with a custom SMT, MaskField and InsertField.
//!
//! ```text
//! cargo run --example quickstart                      # embedded Kafka, nothing to install
//! cargo run --example quickstart -- 127.0.0.1:9092    # a real broker
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let bootstrap = std::env::args().nth(1);
    let dir = tempfile::tempdir()?;
    let s = connect_examples::quickstart::run(bootstrap.as_deref(), dir.path()).await?;
    println!("Kafka: {}", s.bootstrap);
    println!(
        "source  {} -> topic {}",
        s.input.display(),
        connect_examples::quickstart::TOPIC
    );
    for line in connect_examples::quickstart::REGISTRATIONS {
        println!("  in   {line}");
    }
    println!(
        "sink    topic {} -> {}",
        connect_examples::quickstart::TOPIC,
        s.output.display()
    );
    for line in &s.output_lines {
        println!("  out  {line}");
    }
    println!(
        "source: {} polled, {} acknowledged by Kafka; sink: {} read, {} written, {} failed",
        s.source.records_polled,
        s.source.records_written,
        s.sink.records_polled,
        s.sink.records_written,
        s.sink.records_failed
    );
    Ok(())
}
