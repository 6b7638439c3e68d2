//! The PostgreSQL connector's settings: Debezium's `PostgresConnector` keys (3.x names, with the 1.x
//! names that still work).

use std::time::Duration;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::tls::{SslMode, TlsFiles, TlsSettings};

use super::columns::{HstoreHandling, IntervalHandling, Modes};
use crate::cdc::config::normalize_legacy_keys;
use crate::cdc::envelope::Op;
use crate::cdc::filters::{Filters, KeyColumns, Masks};
use crate::cdc::types::{BinaryHandling, DecimalHandling, TimePrecision};
use crate::cdc::{FailureHandling, SnapshotMode};

/// Schemas never captured.
pub const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog", "information_schema", "pg_toast"];

/// `publication.autocreate.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicationMode {
    /// `all_tables` (default): `CREATE PUBLICATION … FOR ALL TABLES` when it does not exist.
    AllTables,
    /// `filtered`: a publication of the captured tables, created or brought in line at start.
    Filtered,
    /// `disabled`: the publication must exist.
    Disabled,
}

/// Parsed settings.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `database.hostname`.
    pub hostname: String,
    /// `database.port`.
    pub port: u16,
    /// `database.user`.
    pub user: String,
    /// `database.password` (resolved through config providers by the worker).
    pub password: Option<String>,
    /// `database.dbname`.
    pub dbname: String,
    /// `topic.prefix`.
    pub topic_prefix: String,
    /// `slot.name`.
    pub slot_name: String,
    /// `slot.drop.on.stop`: drop the slot when the task stops (loses the position; tests only).
    pub slot_drop_on_stop: bool,
    /// `publication.name`.
    pub publication_name: String,
    /// `publication.autocreate.mode`.
    pub publication_mode: PublicationMode,
    /// Capture filters (`schema.*` lists in the database position).
    pub filters: Filters,
    /// Column masks.
    pub masks: Masks,
    /// `message.key.columns`.
    pub key_columns: KeyColumns,
    /// `snapshot.mode`.
    pub snapshot_mode: SnapshotMode,
    /// `snapshot.fetch.size`.
    pub snapshot_fetch_size: usize,
    /// `tombstones.on.delete`.
    pub tombstones_on_delete: bool,
    /// Representation modes.
    pub modes: Modes,
    /// `skipped.operations`.
    pub skipped: Vec<Op>,
    /// `heartbeat.interval.ms` (None: off).
    pub heartbeat_interval: Option<Duration>,
    /// `heartbeat.action.query`: run on every heartbeat, so a quiet captured database still writes.
    pub heartbeat_action_query: Option<String>,
    /// `topic.heartbeat.prefix`.
    pub heartbeat_prefix: String,
    /// `provide.transaction.metadata`.
    pub transaction_metadata: bool,
    /// `topic.transaction`.
    pub transaction_topic: String,
    /// `status.update.interval.ms`: how often the acknowledged position is reported to the server.
    pub status_interval: Duration,
    /// `max.batch.size`.
    pub max_batch_size: usize,
    /// `max.queue.size`.
    pub max_queue_size: usize,
    /// `poll.interval.ms`.
    pub poll_interval: Duration,
    /// `connect.timeout.ms`.
    pub connect_timeout: Duration,
    /// `database.sslmode`, `database.sslrootcert`, `database.sslcert`, `database.sslkey`.
    pub tls: TlsSettings,
    /// `event.processing.failure.handling.mode`.
    pub failure_handling: FailureHandling,
    /// Legacy keys the config used: (old, new).
    pub legacy_keys: Vec<(&'static str, &'static str)>,
    /// Keys nobody reads.
    pub unknown_keys: Vec<String>,
}

/// Keys handled elsewhere (the worker, converters, transforms) or passed through.
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
    "signal.",
    "notification.",
    "driver.",
];

fn non_blank(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl PostgresConfig {
    /// The accepted keys.
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ConfigDef::new()
            .define_optional("database.hostname", String, High, "Database host.")
            .define("database.port", Int, Some("5432"), High, "Database port.")
            .with_validator("database.port", Validator::range(1, 65_535))
            .define_optional("database.user", String, High, "User with the REPLICATION attribute and SELECT on the captured tables (and CREATE on the database for publication.autocreate.mode).")
            .define_optional("database.password", Password, High, "Password (use a config provider: ${file:...}).")
            .define_optional("database.dbname", String, High, "The database to capture.")
            .define("database.sslmode", String, Some("prefer"), Medium, "libpq's ladder: disable, allow, prefer (TLS when offered), require (TLS, certificate unchecked unless database.sslrootcert is set), verify-ca (chains to database.sslrootcert), verify-full (and names database.hostname).")
            .define_optional("database.sslrootcert", String, Medium, "PEM CA certificates the server's certificate must chain to.")
            .define_optional("database.sslcert", String, Medium, "PEM client certificate (mutual TLS).")
            .define_optional("database.sslkey", String, Medium, "PEM private key of database.sslcert.")
            .with_validator("database.sslmode", Validator::one_of(&["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]))
            .define_optional("topic.prefix", String, High, "Logical server name: prefix of every topic, and the offsets' partition.")
            .define("plugin.name", String, Some("pgoutput"), High, "Logical decoding plugin: pgoutput (the only one).")
            .define("slot.name", String, Some("debezium"), High, "Replication slot (created when missing, kept on stop).")
            .define("slot.drop.on.stop", Boolean, Some("false"), Low, "Drop the slot when the task stops. Unsafe: the position is lost and changes made while the connector is down are never captured.")
            .define("publication.name", String, Some("dbz_publication"), Medium, "Publication the slot streams.")
            .define("publication.autocreate.mode", String, Some("all_tables"), Medium, "all_tables, filtered or disabled.")
            .with_validator("publication.autocreate.mode", Validator::one_of(&["all_tables", "filtered", "disabled"]))
            .define_optional("schema.include.list", List, High, "Schemas to capture (regular expressions).")
            .define_optional("schema.exclude.list", List, Medium, "Schemas not to capture.")
            .define_optional("table.include.list", List, High, "Tables to capture, as schema.table regular expressions.")
            .define_optional("table.exclude.list", List, Medium, "Tables not to capture.")
            .define_optional("column.include.list", List, Medium, "Columns to include, as schema.table.column regular expressions.")
            .define_optional("column.exclude.list", List, Medium, "Columns to leave out (PHI that must not leave the database).")
            .define_optional("message.key.columns", String, Medium, "schema.table:col,col;... keys for tables without a primary key.")
            .define("snapshot.mode", String, Some("initial"), High, "initial, initial_only, no_data (schema_only), never, when_needed or always.")
            .with_validator("snapshot.mode", Validator::one_of(&["initial", "initial_only", "no_data", "schema_only", "never", "when_needed", "always"]))
            .define("snapshot.fetch.size", Int, Some("10240"), Low, "Rows read per fetch during a snapshot.")
            .with_validator("snapshot.fetch.size", Validator::range(1, 1_000_000))
            .define("tombstones.on.delete", Boolean, Some("true"), Medium, "Follow each delete event with a tombstone.")
            .define("decimal.handling.mode", String, Some("precise"), Medium, "precise, double or string.")
            .with_validator("decimal.handling.mode", Validator::one_of(&["precise", "double", "string"]))
            .define("time.precision.mode", String, Some("adaptive"), Medium, "adaptive, adaptive_time_microseconds or connect.")
            .with_validator("time.precision.mode", Validator::one_of(&["adaptive_time_microseconds", "adaptive", "connect"]))
            .define("binary.handling.mode", String, Some("bytes"), Low, "bytes, base64, base64-url-safe or hex.")
            .with_validator("binary.handling.mode", Validator::one_of(&["bytes", "base64", "base64-url-safe", "hex"]))
            .define("hstore.handling.mode", String, Some("json"), Low, "json or map.")
            .with_validator("hstore.handling.mode", Validator::one_of(&["json", "map"]))
            .define("interval.handling.mode", String, Some("numeric"), Low, "numeric (microseconds) or string (ISO-8601).")
            .with_validator("interval.handling.mode", Validator::one_of(&["numeric", "string"]))
            .define("money.fraction.digits", Int, Some("2"), Low, "Decimals of money values.")
            .with_validator("money.fraction.digits", Validator::range(0, 18))
            .define("unavailable.value.placeholder", String, Some("__debezium_unavailable_value"), Low, "Stands for an unchanged TOASTed value the server did not send.")
            .define("include.unknown.datatypes", Boolean, Some("false"), Low, "Send columns of unmapped types as their text bytes (otherwise they are left out).")
            .define("skipped.operations", List, Some("t"), Low, "Operations not emitted: c, u, d, t (none: emit all).")
            .define("heartbeat.interval.ms", Long, Some("0"), Medium, "Heartbeat period (0: off).")
            .with_validator("heartbeat.interval.ms", Validator::range(0, 86_400_000))
            .define_optional("heartbeat.action.query", String, Medium, "SQL run on every heartbeat (an UPDATE of a heartbeat table), so the slot advances while the captured tables are quiet.")
            .define("topic.heartbeat.prefix", String, Some("__debezium-heartbeat"), Low, "Heartbeat topic prefix.")
            .define("provide.transaction.metadata", Boolean, Some("false"), Low, "Transaction BEGIN/END events and the transaction block.")
            .define("topic.transaction", String, Some("transaction"), Low, "Transaction topic suffix.")
            .define("status.update.interval.ms", Long, Some("10000"), Low, "How often the acknowledged position is reported to the server.")
            .with_validator("status.update.interval.ms", Validator::range(1, 3_600_000))
            .define("max.batch.size", Int, Some("2048"), Low, "Most events per poll.")
            .with_validator("max.batch.size", Validator::range(1, 1_000_000))
            .define("max.queue.size", Int, Some("8192"), Low, "Most events buffered between the reader and the producer.")
            .with_validator("max.queue.size", Validator::range(1, 10_000_000))
            .define("poll.interval.ms", Long, Some("500"), Low, "Longest wait of a poll with no events.")
            .with_validator("poll.interval.ms", Validator::range(1, 60_000))
            .define("connect.timeout.ms", Long, Some("30000"), Low, "Connection timeout.")
            .with_validator("connect.timeout.ms", Validator::range(1, 600_000))
            .define("event.processing.failure.handling.mode", String, Some("fail"), Medium, "fail, warn or skip an event that cannot be decoded.")
            .with_validator("event.processing.failure.handling.mode", Validator::one_of(&["fail", "warn", "skip", "ignore"]))
            .define_optional("slot.stream.params", String, Low, "Accepted for compatibility (pgoutput takes its parameters from publication.name).")
            .define_optional("slot.max.retries", Int, Low, "Accepted for compatibility.")
            .define_optional("slot.retry.delay.ms", Long, Low, "Accepted for compatibility.")
            .define_optional("snapshot.isolation.mode", String, Low, "Accepted for compatibility (the snapshot is the slot's exported snapshot, or REPEATABLE READ).")
            .define_optional("snapshot.locking.mode", String, Low, "Accepted for compatibility (no locks are taken).")
            .define_optional("replica.identity.autoset.values", String, Low, "Accepted for compatibility (set REPLICA IDENTITY in the database).")
            .define_optional("database.tcpKeepAlive", Boolean, Low, "Accepted for compatibility.")
            .define_optional("database.initial.statements", String, Low, "Accepted for compatibility.")
    }

    /// Parses and checks everything, reporting every problem at once.
    pub fn parse(props: &Props) -> Result<PostgresConfig, ConfigError> {
        let (props, legacy_keys) = normalize_legacy_keys(props);
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
        let dbname = required("database.dbname");
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
        // Debezium's PostgreSQL filters name schemas where MySQL's name databases.
        let filters = Filters::new(
            |k| {
                let k = match k {
                    "database.include.list" => "schema.include.list",
                    "database.exclude.list" => "schema.exclude.list",
                    k => k,
                };
                props.get(k).map(str::to_owned)
            },
            SYSTEM_SCHEMAS,
        )
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
        let plugin = c.string("plugin.name").unwrap_or("pgoutput").trim();
        if !plugin.eq_ignore_ascii_case("pgoutput") {
            problems.extend(ConfigError::new(
                "plugin.name",
                "only pgoutput is supported (PostgreSQL's built-in plugin; decoderbufs and wal2json need server extensions this connector does not read)",
            ));
        }
        let tls = TlsSettings {
            mode: SslMode::parse(c.string("database.sslmode").unwrap_or("prefer"))
                .unwrap_or_default(),
            files: TlsFiles {
                root_cert: c
                    .string("database.sslrootcert")
                    .map(|p| (p.into(), "database.sslrootcert")),
                client_cert: c
                    .string("database.sslcert")
                    .map(|p| (p.into(), "database.sslcert")),
                client_key: c
                    .string("database.sslkey")
                    .map(|p| (p.into(), "database.sslkey")),
            },
            mode_key: "database.sslmode",
        };
        if let Err(e) = tls.validate() {
            problems.extend(e);
        }
        if tls.mode == SslMode::VerifyFull
            && c.string("database.hostname")
                .is_some_and(|h| h.parse::<std::net::IpAddr>().is_ok())
        {
            problems.extend(ConfigError::new(
                "database.sslmode",
                "verify-full checks the certificate against database.hostname, which must then be a DNS name (the replication client does not match IP addresses); use the server's name, or verify-ca",
            ));
        }
        for (key, what) in [
            ("slot.name", "a replication slot name"),
            ("publication.name", "a publication name"),
        ] {
            let v = c.string(key).unwrap_or("");
            if v.is_empty()
                || v.len() > 63
                || !v
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            {
                problems.extend(ConfigError::new(
                    key,
                    format!("expected {what}: 1 to 63 lower-case letters, digits and underscores"),
                ));
            }
        }
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
        let def = Self::def();
        let known: Vec<&str> = def.keys().iter().map(|k| k.name.as_str()).collect();
        let unknown_keys = props
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !known.contains(k) && !FOREIGN_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(str::to_owned)
            .collect();
        let (Some(filters), Some(masks), Some(key_columns)) = (filters, masks, key_columns) else {
            return Err(problems);
        };
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        let heartbeat_ms = c.long("heartbeat.interval.ms");
        Ok(PostgresConfig {
            hostname,
            port: c.int("database.port") as u16,
            user,
            password: c
                .password("database.password")
                .map(|p| p.expose().to_owned()),
            dbname,
            topic_prefix,
            slot_name: c.string("slot.name").unwrap_or("debezium").to_owned(),
            slot_drop_on_stop: c.boolean("slot.drop.on.stop"),
            publication_name: c
                .string("publication.name")
                .unwrap_or("dbz_publication")
                .to_owned(),
            publication_mode: match c.string("publication.autocreate.mode") {
                Some("filtered") => PublicationMode::Filtered,
                Some("disabled") => PublicationMode::Disabled,
                _ => PublicationMode::AllTables,
            },
            filters,
            masks,
            key_columns,
            snapshot_mode: SnapshotMode::parse(c.string("snapshot.mode").unwrap_or("initial"))
                .unwrap_or(SnapshotMode::Initial),
            snapshot_fetch_size: c.int("snapshot.fetch.size") as usize,
            tombstones_on_delete: c.boolean("tombstones.on.delete"),
            modes: Modes {
                decimal: DecimalHandling::parse(c.string("decimal.handling.mode").unwrap_or(""))
                    .unwrap_or(DecimalHandling::Precise),
                time: TimePrecision::parse(c.string("time.precision.mode").unwrap_or(""))
                    .unwrap_or(TimePrecision::Adaptive),
                binary: BinaryHandling::parse(c.string("binary.handling.mode").unwrap_or(""))
                    .unwrap_or(BinaryHandling::Bytes),
                hstore: if c.string("hstore.handling.mode") == Some("map") {
                    HstoreHandling::Map
                } else {
                    HstoreHandling::Json
                },
                interval: if c.string("interval.handling.mode") == Some("string") {
                    IntervalHandling::String
                } else {
                    IntervalHandling::Numeric
                },
                money_fraction_digits: c.int("money.fraction.digits") as u32,
                placeholder: c
                    .string("unavailable.value.placeholder")
                    .unwrap_or("__debezium_unavailable_value")
                    .to_owned(),
                include_unknown: c.boolean("include.unknown.datatypes"),
            },
            skipped,
            heartbeat_interval: (heartbeat_ms > 0)
                .then(|| Duration::from_millis(heartbeat_ms as u64)),
            heartbeat_action_query: non_blank(c.string("heartbeat.action.query")),
            heartbeat_prefix: c
                .string("topic.heartbeat.prefix")
                .unwrap_or("__debezium-heartbeat")
                .to_owned(),
            transaction_metadata: c.boolean("provide.transaction.metadata"),
            transaction_topic: c
                .string("topic.transaction")
                .unwrap_or("transaction")
                .to_owned(),
            status_interval: c.millis("status.update.interval.ms"),
            max_batch_size: c.int("max.batch.size") as usize,
            max_queue_size: c.int("max.queue.size") as usize,
            poll_interval: c.millis("poll.interval.ms"),
            connect_timeout: c.millis("connect.timeout.ms"),
            tls,
            failure_handling: FailureHandling::parse(
                c.string("event.processing.failure.handling.mode")
                    .unwrap_or("fail"),
            )
            .unwrap_or(FailureHandling::Fail),
            legacy_keys,
            unknown_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Props {
        Props::new()
            .with(
                "connector.class",
                "io.debezium.connector.postgresql.PostgresConnector",
            )
            .with("database.hostname", "ehr-db.healthcare.internal")
            .with("database.user", "cdc")
            .with("database.password", "hunter2")
            .with("database.dbname", "ehr")
            .with("database.server.name", "ehr")
            .with("table.whitelist", "public.patient")
    }

    #[test]
    fn debezium_keys_and_legacy_names() {
        let c = PostgresConfig::parse(&base()).unwrap();
        assert_eq!(c.topic_prefix, "ehr");
        assert_eq!(c.slot_name, "debezium");
        assert_eq!(c.publication_name, "dbz_publication");
        assert_eq!(c.publication_mode, PublicationMode::AllTables);
        assert_eq!(c.modes.time, TimePrecision::Adaptive);
        assert_eq!(c.skipped, vec![Op::Truncate]);
        assert!(c
            .filters
            .table(&crate::cdc::table::TableId::new("public", "patient")));
        assert!(!c
            .filters
            .table(&crate::cdc::table::TableId::new("public", "other")));
        assert_eq!(c.legacy_keys.len(), 2);
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
    }

    #[test]
    fn other_plugins_and_unverifiable_tls_are_refused_by_key_without_secrets() {
        let p = base()
            .with("plugin.name", "decoderbufs")
            .with("database.sslmode", "verify-full")
            .with("slot.name", "Bad-Slot");
        let e = PostgresConfig::parse(&p).unwrap_err().to_string();
        assert!(e.contains("plugin.name"), "{e}");
        assert!(e.contains("database.sslmode"), "{e}");
        assert!(e.contains("slot.name"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
