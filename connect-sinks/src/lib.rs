//! Sink connectors for connect-rs. Each family sits behind a cargo feature (on by default).
//!
//! ```
//! let mut registry = connect_core::registry::Registry::with_builtins();
//! connect_sinks::register(&mut registry);
//! ```
#![warn(missing_docs)]

#[cfg(feature = "archive")]
pub mod archive;
#[cfg(feature = "elasticsearch")]
pub mod elasticsearch;
#[cfg(feature = "fhir")]
pub mod fhir;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "jdbc")]
pub mod jdbc;
#[cfg(feature = "mllp")]
pub mod mllp;
#[cfg(any(feature = "archive", feature = "jdbc"))]
pub mod zone;

use connect_core::registry::Registry;

/// Registers every sink connector compiled in, under its Rust name and its Java class name.
pub fn register(registry: &mut Registry) {
    #[cfg(feature = "file")]
    registry.register_sink(
        &[
            "FileStreamSink",
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
        ],
        file::FileStreamSinkConnector,
    );
    #[cfg(feature = "mllp")]
    registry.register_sink(&["MllpSink", "MLLPSinkConnector"], mllp::MllpSinkConnector);
    #[cfg(feature = "elasticsearch")]
    registry.register_sink(
        &[
            "ElasticsearchSink",
            "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
        ],
        elasticsearch::ElasticsearchSinkConnector,
    );
    #[cfg(feature = "http")]
    registry.register_sink(
        &["HttpSink", "io.confluent.connect.http.HttpSinkConnector"],
        http::HttpSinkConnector,
    );
    #[cfg(feature = "fhir")]
    registry.register_sink(
        &[
            "FhirSink",
            "FhirSinkConnector",
            "io.confluent.connect.fhir.FhirSinkConnector",
        ],
        fhir::FhirSinkConnector,
    );
    #[cfg(feature = "archive")]
    registry.register_sink(
        &[
            "ArchiveSink",
            "S3Sink",
            "io.confluent.connect.s3.S3SinkConnector",
            "GcsSink",
            "io.confluent.connect.gcs.GcsSinkConnector",
            "AzureBlobSink",
            "io.confluent.connect.azure.blob.AzureBlobStorageSinkConnector",
        ],
        archive::ArchiveSinkConnector,
    );
    #[cfg(feature = "jdbc")]
    registry.register_sink(
        &[
            "JdbcSink",
            "io.confluent.connect.jdbc.JdbcSinkConnector",
            "io.debezium.connector.jdbc.JdbcSinkConnector",
        ],
        jdbc::JdbcSinkConnector,
    );
    let _ = registry;
}
