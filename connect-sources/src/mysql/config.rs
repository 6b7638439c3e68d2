//! The MySQL / MariaDB connector's settings: Debezium 3.x keys, with the 1.x names the seed uses.

use std::time::Duration;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::tls::{SslMode as LadderMode, TlsFiles, TlsSettings};

use super::columns::Modes;
use crate::cdc::config::normalize_legacy_keys;
use crate::cdc::envelope::Op;
use crate::cdc::filters::{Filters, KeyColumns, Masks};
use crate::cdc::types::{BigintUnsignedHandling, BinaryHandling, DecimalHandling, TimePrecision};
use crate::cdc::{FailureHandling, SnapshotMode};

/// Databases never captured.
pub const SYSTEM_DATABASES: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// Which server family: decides `source.connector` and the `source` schema's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `io.debezium.connector.mysql.MySqlConnector`.
    MySql,
    /// `io.debezium.connector.mariadb.MariaDbConnector`.
    MariaDb,
}

impl Flavor {
    /// `source.connector`.
    pub fn connector(self) -> &'static str {
        match self {
            Flavor::MySql => "mysql",
            Flavor::MariaDb => "mariadb",
        }
    }
}

/// `database.ssl.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// `disabled`.
    Disabled,
    /// `preferred` (default): a plain connection (the client cannot fall back from TLS to plain,
    /// so it does not try); an account that requires TLS then refuses the login, naming this key.
    Preferred,
    /// `required`: TLS, certificate not verified.
    Required,
    /// `verify_ca`: TLS with the server certificate verified, host name not checked.
    VerifyCa,
    /// `verify_identity`: TLS, certificate and host name verified.
    VerifyIdentity,
}

/// `database.ssl.mode` by its Debezium name (`preferred` when absent or unknown: the validator
/// reports an unknown one).
fn ssl_mode(name: Option<&str>) -> SslMode {
    match name.unwrap_or("preferred") {
        "disabled" => SslMode::Disabled,
        "required" => SslMode::Required,
        "verify_ca" => SslMode::VerifyCa,
        "verify_identity" => SslMode::VerifyIdentity,
        _ => SslMode::Preferred,
    }
}

/// Debezium's TLS settings on the shared ladder: `required` encrypts without checking the
/// certificate (`database.ssl.ca` applies to the verifying modes only, as Connector/J's
/// truststore does); `verify_ca` and `verify_identity` check it against `database.ssl.ca`.
fn tls_settings(mode: SslMode, ca: Option<String>) -> TlsSettings {
    let verifying = matches!(mode, SslMode::VerifyCa | SslMode::VerifyIdentity);
    TlsSettings {
        mode: match mode {
            SslMode::Disabled => LadderMode::Disable,
            SslMode::Preferred => LadderMode::Prefer,
            SslMode::Required => LadderMode::Require,
            SslMode::VerifyCa => LadderMode::VerifyCa,
            SslMode::VerifyIdentity => LadderMode::VerifyFull,
        },
        files: TlsFiles {
            root_cert: ca
                .filter(|_| verifying)
                .map(|p| (p.into(), "database.ssl.ca")),
            ..TlsFiles::default()
        },
        mode_key: "database.ssl.mode",
    }
}

impl MySqlConfig {
    /// `database.ssl.mode` and `database.ssl.ca` as the TLS settings the connection is made with.
    pub fn tls_settings(&self) -> TlsSettings {
        tls_settings(self.ssl_mode, self.ssl_ca.clone())
    }
}

/// Where the schema history is kept.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryStore {
    /// A Kafka topic; `bootstrap` None means the worker's own cluster.
    Kafka {
        /// `schema.history.internal.kafka.topic`.
        topic: String,
        /// `schema.history.internal.kafka.bootstrap.servers`.
        bootstrap: Option<String>,
    },
    /// `schema.history.internal.file.filename`.
    File(String),
    /// In memory (lost on restart).
    Memory,
}

/// Parsed settings.
#[derive(Debug, Clone)]
pub struct MySqlConfig {
    /// `database.hostname`.
    pub hostname: String,
    /// `database.port`.
    pub port: u16,
    /// `database.user`.
    pub user: String,
    /// `database.password` (resolved through config providers by the worker).
    pub password: Option<String>,
    /// `database.server.id`: this client's replica id.
    pub server_id: u32,
    /// `topic.prefix`.
    pub topic_prefix: String,
    /// Capture filters.
    pub filters: Filters,
    /// Column masks.
    pub masks: Masks,
    /// `message.key.columns`.
    pub key_columns: KeyColumns,
    /// `snapshot.mode`.
    pub snapshot_mode: SnapshotMode,
    /// `snapshot.locking.mode=minimal` (true) or `none`.
    pub snapshot_lock: bool,
    /// `snapshot.fetch.size`: rows per chunk handed on during a snapshot.
    pub snapshot_fetch_size: usize,
    /// `include.schema.changes`.
    pub include_schema_changes: bool,
    /// `tombstones.on.delete`.
    pub tombstones_on_delete: bool,
    /// Representation modes.
    pub modes: Modes,
    /// `skipped.operations`.
    pub skipped: Vec<Op>,
    /// `heartbeat.interval.ms` (None: off).
    pub heartbeat_interval: Option<Duration>,
    /// `topic.heartbeat.prefix`.
    pub heartbeat_prefix: String,
    /// `provide.transaction.metadata`.
    pub transaction_metadata: bool,
    /// `topic.transaction` (suffix after the prefix).
    pub transaction_topic: String,
    /// `max.batch.size`.
    pub max_batch_size: usize,
    /// `max.queue.size`.
    pub max_queue_size: usize,
    /// `poll.interval.ms`.
    pub poll_interval: Duration,
    /// `connect.timeout.ms`.
    pub connect_timeout: Duration,
    /// `database.ssl.mode`.
    pub ssl_mode: SslMode,
    /// `database.ssl.ca`: PEM CA certificates for verifying the server.
    pub ssl_ca: Option<String>,
    /// `event.processing.failure.handling.mode`.
    pub failure_handling: FailureHandling,
    /// Schema history store.
    pub history: HistoryStore,
    /// `schema.history.internal.skip.unparseable.ddl`.
    pub skip_unparseable_ddl: bool,
    /// `schema.history.internal.store.only.captured.tables.ddl`.
    pub history_only_captured: bool,
    /// Legacy keys the config used: (old, new).
    pub legacy_keys: Vec<(&'static str, &'static str)>,
    /// Keys nobody reads (reported, as Kafka Connect logs unused keys).
    pub unknown_keys: Vec<String>,
}

/// Prefixes and keys handled elsewhere (the worker, converters, transforms) or passed through.
const FOREIGN_PREFIXES: &[&str] = &[
    "name",
    "connector.class",
    "tasks.max",
    "key.converter",
    "value.converter",
    "header.converter",
    "transforms",
    "predicates",
    "errors.",
    "topic.creation.",
    "producer.override.",
    "consumer.override.",
    "admin.override.",
    "config.action.reload",
    "offsets.storage.topic",
    "exactly.once.support",
    "transaction.boundary",
    "column.mask.",
    "column.truncate.",
    "column.propagate.source.type",
    "datatype.propagate.source.type",
    "schema.history.internal.producer.",
    "schema.history.internal.consumer.",
    "signal.",
    "notification.",
    "driver.",
];

/// A value with its surrounding blanks removed, or None when nothing is left.
fn non_blank(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl MySqlConfig {
    /// The accepted keys (current names).
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ConfigDef::new()
            .define_optional("database.hostname", String, High, "Database host.")
            .define("database.port", Int, Some("3306"), High, "Database port.")
            .with_validator("database.port", Validator::range(1, 65_535))
            .define_optional("database.user", String, High, "User with REPLICATION SLAVE, REPLICATION CLIENT, SELECT (and RELOAD for snapshot.locking.mode=minimal).")
            .define_optional("database.password", Password, High, "Password (use a config provider: ${file:...}).")
            .define("database.server.id", Long, Some("5400"), High, "Replica id this connector uses; unique among the server's replicas.")
            .with_validator("database.server.id", Validator::range(1, u32::MAX as i64))
            .define_optional("topic.prefix", String, High, "Logical server name: prefix of every topic, and the offsets' partition.")
            .define_optional("database.include.list", List, High, "Databases to capture (regular expressions).")
            .define_optional("database.exclude.list", List, Medium, "Databases not to capture.")
            .define_optional("table.include.list", List, High, "Tables to capture, as db.table regular expressions.")
            .define_optional("table.exclude.list", List, Medium, "Tables not to capture.")
            .define_optional("column.include.list", List, Medium, "Columns to include, as db.table.column regular expressions.")
            .define_optional("column.exclude.list", List, Medium, "Columns to leave out (PHI that must not leave the database).")
            .define_optional("message.key.columns", String, Medium, "db.table:col,col;... keys for tables without a usable primary key.")
            .define("snapshot.mode", String, Some("initial"), High, "initial, initial_only, no_data (schema_only), when_needed, always, recovery, never.")
            .with_validator("snapshot.mode", Validator::one_of(crate::cdc::SnapshotMode::NAMES))
            .define("snapshot.locking.mode", String, Some("minimal"), Medium, "minimal: a global read lock while schemas and the binlog position are read; none: no lock (accounts without RELOAD).")
            .with_validator("snapshot.locking.mode", Validator::one_of(&["minimal", "none"]))
            .define("snapshot.fetch.size", Int, Some("2000"), Low, "Rows read per chunk during a snapshot.")
            .with_validator("snapshot.fetch.size", Validator::range(1, 1_000_000))
            .define("include.schema.changes", Boolean, Some("true"), Medium, "Emit schema change events on the topic named by topic.prefix.")
            .define("tombstones.on.delete", Boolean, Some("true"), Medium, "Follow each delete event with a tombstone.")
            .define("decimal.handling.mode", String, Some("precise"), Medium, "precise, double or string.")
            .with_validator("decimal.handling.mode", Validator::one_of(&["precise", "double", "string"]))
            .define("time.precision.mode", String, Some("adaptive_time_microseconds"), Medium, "adaptive_time_microseconds, adaptive or connect.")
            .with_validator("time.precision.mode", Validator::one_of(&["adaptive_time_microseconds", "adaptive", "connect"]))
            .define("bigint.unsigned.handling.mode", String, Some("long"), Low, "long or precise.")
            .with_validator("bigint.unsigned.handling.mode", Validator::one_of(&["long", "precise"]))
            .define("binary.handling.mode", String, Some("bytes"), Low, "bytes, base64, base64-url-safe or hex.")
            .with_validator("binary.handling.mode", Validator::one_of(&["bytes", "base64", "base64-url-safe", "hex"]))
            .define("skipped.operations", List, Some("t"), Low, "Operations not emitted: c, u, d, t (none: emit all).")
            .define("heartbeat.interval.ms", Long, Some("0"), Medium, "Heartbeat period (0: off).")
            .with_validator("heartbeat.interval.ms", Validator::range(0, 86_400_000))
            .define("topic.heartbeat.prefix", String, Some("__debezium-heartbeat"), Low, "Heartbeat topic prefix.")
            .define("provide.transaction.metadata", Boolean, Some("false"), Low, "Transaction BEGIN/END events and the transaction block.")
            .define("topic.transaction", String, Some("transaction"), Low, "Transaction topic suffix.")
            .define("max.batch.size", Int, Some("2048"), Low, "Most events per poll.")
            .with_validator("max.batch.size", Validator::range(1, 1_000_000))
            .define("max.queue.size", Int, Some("8192"), Low, "Most events buffered between the reader and the producer.")
            .with_validator("max.queue.size", Validator::range(1, 10_000_000))
            .define("poll.interval.ms", Long, Some("500"), Low, "Longest wait of a poll with no events.")
            .with_validator("poll.interval.ms", Validator::range(1, 60_000))
            .define("connect.timeout.ms", Long, Some("30000"), Low, "Connection timeout.")
            .with_validator("connect.timeout.ms", Validator::range(1, 600_000))
            .define("database.ssl.mode", String, Some("preferred"), Medium, "disabled, preferred, required, verify_ca, verify_identity.")
            .with_validator("database.ssl.mode", Validator::one_of(&["disabled", "preferred", "required", "verify_ca", "verify_identity"]))
            .define("event.processing.failure.handling.mode", String, Some("fail"), Medium, "fail, warn or skip an event that cannot be decoded.")
            .with_validator("event.processing.failure.handling.mode", Validator::one_of(&["fail", "warn", "skip", "ignore"]))
            .define_optional("schema.history.internal", String, Medium, "History store class (Kafka by default).")
            .define_optional("schema.history.internal.kafka.topic", String, High, "History topic.")
            .define_optional("schema.history.internal.kafka.bootstrap.servers", String, High, "History brokers (default: the worker's).")
            .define_optional("schema.history.internal.kafka.recovery.poll.interval.ms", Long, Low, "Accepted for compatibility.")
            .define_optional("schema.history.internal.kafka.recovery.attempts", Int, Low, "Accepted for compatibility.")
            .define_optional("schema.history.internal.file.filename", String, Medium, "History file for FileSchemaHistory.")
            .define("schema.history.internal.skip.unparseable.ddl", Boolean, Some("false"), Low, "Skip DDL that cannot be parsed instead of failing.")
            .define("schema.history.internal.store.only.captured.tables.ddl", Boolean, Some("false"), Low, "Record only DDL of captured tables.")
            .define("connect.keep.alive", Boolean, Some("true"), Low, "Reconnect after the connection drops.")
            .define("connect.keep.alive.interval.ms", Long, Some("60000"), Low, "Accepted for compatibility.")
            .define_optional("database.ssl.truststore", String, Low, "Not supported: give CA certificates in PEM via database.ssl.ca.")
            .define_optional("database.ssl.ca", String, Low, "PEM file of CA certificates for verify_ca / verify_identity.")
            .define_optional("gtid.source.includes", String, Low, "Accepted for compatibility.")
            .define_optional("database.connectionTimeZone", String, Low, "Accepted for compatibility (events are in UTC).")
            .define_optional("inconsistent.schema.handling.mode", String, Low, "Accepted for compatibility.")
            .define_optional("snapshot.new.tables", String, Low, "Accepted for compatibility.")
            .define_optional("min.row.count.to.stream.results", Long, Low, "Accepted: rows are always streamed.")
    }

    /// Parses and checks everything, reporting every problem at once.
    pub fn parse(props: &Props) -> Result<MySqlConfig, ConfigError> {
        let (props, legacy_keys) = normalize_legacy_keys(props);
        // Every problem at once: the key checks below do not wait for the typed parse.
        let parsed = Self::def().parse(&props);
        let mut problems = ConfigError { problems: vec![] };
        let mut required = |k: &str| -> String {
            match non_blank(props.get(k)) {
                Some(v) => v,
                None => {
                    problems.extend(ConfigError::new(k, "missing required configuration"));
                    String::new()
                }
            }
        };
        let hostname = required("database.hostname");
        let user = required("database.user");
        let topic_prefix = required("topic.prefix");
        if topic_prefix
            .chars()
            .any(|ch| !(ch.is_ascii_alphanumeric() || "._-".contains(ch)))
        {
            problems.extend(ConfigError::new(
                "topic.prefix",
                "may contain only letters, digits, '.', '_' and '-' (it names topics)",
            ));
        }
        let filters = Filters::new(|k| props.get(k).map(str::to_owned), SYSTEM_DATABASES)
            .map_err(|e| problems.extend(e))
            .ok();
        let masks = Masks::new(props.iter())
            .map_err(|e| problems.extend(e))
            .ok();
        let key_columns = KeyColumns::new(props.get("message.key.columns"))
            .map_err(|e| problems.extend(e))
            .ok();
        let c = match parsed {
            Ok(c) => c,
            Err(e) => {
                problems.extend(e);
                return Err(problems);
            }
        };
        let mut skipped = Vec::new();
        for s in c.list("skipped.operations") {
            if s.eq_ignore_ascii_case("none") {
                continue;
            }
            match Op::parse(s) {
                Some(Op::Read) | None => problems.extend(ConfigError::new(
                    "skipped.operations",
                    "expected a list of c, u, d, t (or none)",
                )),
                Some(op) => skipped.push(op),
            }
        }
        let history_class = c
            .string("schema.history.internal")
            .unwrap_or("")
            .trim()
            .to_owned();
        let history = if crate::cdc::config::FILE_HISTORY_CLASSES.contains(&history_class.as_str())
            || history_class.eq_ignore_ascii_case("file")
        {
            match c.string("schema.history.internal.file.filename") {
                Some(f) if !f.trim().is_empty() => HistoryStore::File(f.trim().to_owned()),
                _ => {
                    problems.extend(ConfigError::new(
                        "schema.history.internal.file.filename",
                        "required with FileSchemaHistory",
                    ));
                    HistoryStore::Memory
                }
            }
        } else if crate::cdc::config::MEMORY_HISTORY_CLASSES.contains(&history_class.as_str())
            || history_class.eq_ignore_ascii_case("memory")
        {
            HistoryStore::Memory
        } else if history_class.is_empty()
            || crate::cdc::config::KAFKA_HISTORY_CLASSES.contains(&history_class.as_str())
        {
            match non_blank(c.string("schema.history.internal.kafka.topic")) {
                Some(topic) => HistoryStore::Kafka {
                    topic,
                    bootstrap: non_blank(
                        c.string("schema.history.internal.kafka.bootstrap.servers"),
                    ),
                },
                _ => {
                    problems.extend(ConfigError::new(
                        "schema.history.internal.kafka.topic",
                        "missing required configuration (the schema history topic; database.history.kafka.topic in Debezium 1.x)",
                    ));
                    HistoryStore::Memory
                }
            }
        } else {
            problems.extend(ConfigError::new(
                "schema.history.internal",
                "expected KafkaSchemaHistory, FileSchemaHistory or MemorySchemaHistory",
            ));
            HistoryStore::Memory
        };
        if let Err(e) = tls_settings(
            ssl_mode(c.string("database.ssl.mode")),
            non_blank(c.string("database.ssl.ca")),
        )
        .mysql()
        {
            problems.extend(e);
        }
        if c.string("database.ssl.truststore").is_some() {
            problems.extend(ConfigError::new(
                "database.ssl.truststore",
                "Java truststores are not readable here: give the CA certificate in PEM as database.ssl.ca",
            ));
        }
        let def = Self::def();
        let known: Vec<&str> = def.keys().iter().map(|k| k.name.as_str()).collect();
        let unknown_keys = props
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !known.contains(k) && !FOREIGN_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(str::to_owned)
            .collect();
        let heartbeat_ms = c.long("heartbeat.interval.ms");
        let (Some(filters), Some(masks), Some(key_columns)) = (filters, masks, key_columns) else {
            return Err(problems);
        };
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        Ok(MySqlConfig {
            hostname,
            port: c.int("database.port") as u16,
            user,
            password: c
                .password("database.password")
                .map(|p| p.expose().to_owned()),
            server_id: c.long("database.server.id") as u32,
            topic_prefix,
            filters,
            masks,
            key_columns,
            snapshot_mode: SnapshotMode::parse(c.string("snapshot.mode").unwrap_or("initial"))
                .unwrap_or(SnapshotMode::Initial),
            snapshot_lock: c.string("snapshot.locking.mode") != Some("none"),
            snapshot_fetch_size: c.int("snapshot.fetch.size") as usize,
            include_schema_changes: c.boolean("include.schema.changes"),
            tombstones_on_delete: c.boolean("tombstones.on.delete"),
            modes: Modes {
                decimal: DecimalHandling::parse(c.string("decimal.handling.mode").unwrap_or(""))
                    .unwrap_or(DecimalHandling::Precise),
                time: TimePrecision::parse(c.string("time.precision.mode").unwrap_or(""))
                    .unwrap_or(TimePrecision::AdaptiveTimeMicroseconds),
                binary: BinaryHandling::parse(c.string("binary.handling.mode").unwrap_or(""))
                    .unwrap_or(BinaryHandling::Bytes),
                bigint_unsigned: BigintUnsignedHandling::parse(
                    c.string("bigint.unsigned.handling.mode").unwrap_or(""),
                )
                .unwrap_or(BigintUnsignedHandling::Long),
            },
            skipped,
            heartbeat_interval: (heartbeat_ms > 0)
                .then(|| Duration::from_millis(heartbeat_ms as u64)),
            heartbeat_prefix: c
                .string("topic.heartbeat.prefix")
                .unwrap_or("__debezium-heartbeat")
                .to_owned(),
            transaction_metadata: c.boolean("provide.transaction.metadata"),
            transaction_topic: c
                .string("topic.transaction")
                .unwrap_or("transaction")
                .to_owned(),
            max_batch_size: c.int("max.batch.size") as usize,
            max_queue_size: c.int("max.queue.size") as usize,
            poll_interval: c.millis("poll.interval.ms"),
            connect_timeout: c.millis("connect.timeout.ms"),
            ssl_mode: ssl_mode(c.string("database.ssl.mode")),
            ssl_ca: non_blank(c.string("database.ssl.ca")),
            failure_handling: FailureHandling::parse(
                c.string("event.processing.failure.handling.mode")
                    .unwrap_or("fail"),
            )
            .unwrap_or(FailureHandling::Fail),
            history,
            skip_unparseable_ddl: c.boolean("schema.history.internal.skip.unparseable.ddl"),
            history_only_captured: c
                .boolean("schema.history.internal.store.only.captured.tables.ddl"),
            legacy_keys,
            unknown_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's `patient-database-source`, hosts and credentials as written.
    pub(crate) fn seed() -> Props {
        let json: serde_json::Value = serde_json::from_str(
            r#"{
            "connector.class": "io.debezium.connector.mysql.MySqlConnector",
            "database.hostname": "clinical-db.healthcare.internal",
            "database.port": "3306",
            "database.user": "cdc_user",
            "database.password": "secret-from-provider",
            "database.server.id": "1",
            "database.server.name": "clinical",
            "database.include.list": "patients,encounters,observations",
            "table.include.list": "patients.patient,encounters.encounter,observations.observation",
            "database.history.kafka.bootstrap.servers": "kafka-broker-1:9092,kafka-broker-2:9092",
            "database.history.kafka.topic": "schema-changes.clinical",
            "include.schema.changes": "true",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.drop.tombstones": "false",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false"
        }"#,
        )
        .unwrap();
        let mut p = Props::new();
        for (k, v) in json.as_object().unwrap() {
            p.set(k.clone(), v.as_str().unwrap());
        }
        p
    }

    #[test]
    fn seed_config_parses_with_legacy_keys() {
        let c = MySqlConfig::parse(&seed()).unwrap();
        assert_eq!(c.topic_prefix, "clinical");
        assert_eq!(c.server_id, 1);
        assert_eq!(
            c.history,
            HistoryStore::Kafka {
                topic: "schema-changes.clinical".into(),
                bootstrap: Some("kafka-broker-1:9092,kafka-broker-2:9092".into())
            }
        );
        assert_eq!(c.legacy_keys.len(), 3);
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
        assert_eq!(c.skipped, vec![Op::Truncate]);
    }

    #[test]
    fn problems_name_keys_not_secrets() {
        let mut p = seed();
        p.remove("database.hostname");
        p.set("snapshot.mode", "sometimes");
        p.set("database.password", "hunter2");
        p.set("table.exclude.list", "x.y");
        p.set("databse.port", "1");
        let e = MySqlConfig::parse(&p).unwrap_err().to_string();
        assert!(e.contains("database.hostname"), "{e}");
        assert!(e.contains("snapshot.mode"), "{e}");
        assert!(e.contains("table.exclude.list"), "{e}");
        assert!(!e.contains("hunter2"));
        p.set("database.hostname", "h");
        p.set("snapshot.mode", "schema_only");
        p.remove("table.exclude.list");
        let c = MySqlConfig::parse(&p).unwrap();
        assert_eq!(c.snapshot_mode, SnapshotMode::NoData);
        assert_eq!(c.unknown_keys, vec!["databse.port".to_string()]);
    }
}
