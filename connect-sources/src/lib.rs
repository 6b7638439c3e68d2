//! Source connectors for connect-rs. Each family sits behind a cargo feature (on by default), so a host
//! compiles only what it embeds.
//!
//! Register them with a worker's registry:
//!
//! ```
//! let mut registry = connect_core::registry::Registry::with_builtins();
//! connect_sources::register(&mut registry);
//! ```
#![warn(missing_docs)]

#[cfg(feature = "cdc")]
pub mod cdc;
#[cfg(feature = "fhir")]
pub mod fhir;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "mllp")]
pub mod mllp;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;

use connect_core::registry::Registry;

/// Registers every source connector compiled in, under its Rust name and its Java class name.
pub fn register(registry: &mut Registry) {
    #[cfg(feature = "file")]
    registry.register_source(
        &[
            "FileStreamSource",
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
        ],
        file::FileStreamSourceConnector,
    );
    #[cfg(feature = "mllp")]
    registry.register_source(
        &["MllpSource", "MLLPSourceConnector"],
        mllp::MllpSourceConnector,
    );
    #[cfg(feature = "fhir")]
    registry.register_source(
        &[
            "FhirSource",
            "io.confluent.connect.fhir.FhirSourceConnector",
            "FhirSourceConnector",
        ],
        fhir::FhirSourceConnector,
    );
    #[cfg(feature = "mysql")]
    {
        registry.register_source(
            &[
                "MySqlCdc",
                "io.debezium.connector.mysql.MySqlConnector",
                "MySqlConnector",
            ],
            mysql::MySqlConnector::mysql(),
        );
        registry.register_source(
            &[
                "MariaDbCdc",
                "io.debezium.connector.mariadb.MariaDbConnector",
                "MariaDbConnector",
            ],
            mysql::MySqlConnector::mariadb(),
        );
    }
    #[cfg(feature = "postgres")]
    registry.register_source(
        &[
            "PostgresCdc",
            "io.debezium.connector.postgresql.PostgresConnector",
            "PostgresConnector",
        ],
        postgres::PostgresConnector,
    );
    let _ = registry;
}
