//! The sink's keys: the server keys every FHIR connector takes, and how records are written.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::fhir::ServerSettings;
use connect_core::sink::{SinkConnector, SinkTask};

use super::task::FhirSinkTask;

/// How a resource is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `PUT <type>/<id>`: idempotent with deterministic ids (HL7ToFHIR's); a resource without an
    /// id is created with `POST <type>`.
    Update,
    /// `POST <type>`.
    Create,
    /// `PUT <type>?identifier=<system>|<value>` (conditional update, for servers that support it).
    Conditional,
    /// Records grouped into `transaction` Bundles of up to `fhir.batch.size` entries.
    Transaction,
    /// Records grouped into `batch` Bundles (entries succeed or fail one by one).
    Batch,
}

/// The sink's settings.
#[derive(Debug, Clone)]
pub struct FhirSinkConfig {
    /// Server, credentials, TLS, retries.
    pub server: ServerSettings,
    /// `fhir.write.mode`.
    pub mode: WriteMode,
    /// `fhir.batch.size`: entries per Bundle in the transaction and batch modes.
    pub batch_size: usize,
    /// `fhir.max.in.flight`: requests at once (records of one resource stay in order).
    pub max_in_flight: usize,
    /// `fhir.conditional.identifier.system`: which identifier the conditional mode matches on
    /// (the first identifier when unset).
    pub identifier_system: Option<String>,
}

impl FhirSinkConfig {
    /// The keys.
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ServerSettings::define(ConfigDef::new())
            .define("fhir.write.mode", String, Some("update"), High, "update (PUT by id), create, conditional (PUT by identifier), transaction or batch.")
            .with_validator("fhir.write.mode", Validator::one_of(&["update", "create", "conditional", "transaction", "batch"]))
            .define("fhir.batch.size", Int, Some("1"), Medium, "Records per Bundle in the transaction and batch modes.")
            .with_validator("fhir.batch.size", Validator::range(1, 1000))
            .define("fhir.max.in.flight", Int, Some("4"), Medium, "Requests sent at once; records of one resource are written in order.")
            .with_validator("fhir.max.in.flight", Validator::range(1, 256))
            .define_optional("fhir.conditional.identifier.system", String, Low, "The identifier system the conditional mode matches on (the first identifier when unset).")
    }

    /// Parses the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        let server = ServerSettings::parse(&c)?;
        Ok(FhirSinkConfig {
            server,
            mode: match c.string("fhir.write.mode").unwrap_or("update") {
                "create" => WriteMode::Create,
                "conditional" => WriteMode::Conditional,
                "transaction" => WriteMode::Transaction,
                "batch" => WriteMode::Batch,
                _ => WriteMode::Update,
            },
            batch_size: c.int("fhir.batch.size").max(1) as usize,
            max_in_flight: c.int("fhir.max.in.flight").max(1) as usize,
            identifier_system: c
                .string("fhir.conditional.identifier.system")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
}

/// The FHIR sink connector.
#[derive(Debug, Default, Clone)]
pub struct FhirSinkConnector;

impl SinkConnector for FhirSinkConnector {
    fn config_def(&self) -> ConfigDef {
        FhirSinkConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        FhirSinkConfig::parse(props).map(|_| ())
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(FhirSinkTask::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_modes() {
        let c = FhirSinkConfig::parse(&Props::new().with("fhir.url", "http://h/fhir")).unwrap();
        assert_eq!(
            (c.mode, c.batch_size, c.max_in_flight),
            (WriteMode::Update, 1, 4)
        );
        let e = FhirSinkConfig::parse(
            &Props::new()
                .with("fhir.url", "http://h/fhir")
                .with("fhir.write.mode", "upsert"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("fhir.write.mode"), "{e}");
    }
}
