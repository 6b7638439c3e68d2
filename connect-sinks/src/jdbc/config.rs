//! The sink's keys: Confluent's JDBC sink names, and Debezium's JDBC sink names where they differ
//! (`connection.username`, `primary.key.mode`, `primary.key.fields`, `schema.evolution`,
//! `database.time_zone`, `quote.identifiers`, `field.include.list`, `collection.name.format`), which
//! are read as their Confluent equivalents.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::sink::{SinkConnector, SinkTask};

use super::task::JdbcSinkTask;
use super::url::{DialectKind, JdbcUrl};
use crate::zone::Zone;
use connect_core::tls::{SslMode, TlsFiles, TlsSettings};

/// `insert.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// Plain `INSERT`: a replay fails on the primary key (or duplicates rows without one).
    Insert,
    /// Insert or update by primary key (`ON CONFLICT … DO UPDATE`, `ON DUPLICATE KEY UPDATE`):
    /// idempotent, a replay leaves the table as it was.
    Upsert,
    /// `UPDATE` by primary key; rows that do not exist are not created.
    Update,
}

/// `pk.mode`: where the primary key columns come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    /// No primary key.
    None,
    /// The Kafka coordinates: topic, partition and offset (three columns named by `pk.fields`).
    Kafka,
    /// The record key: a primitive (one column named by `pk.fields`) or a struct/map (its fields,
    /// or those `pk.fields` lists).
    RecordKey,
    /// Fields of the record value (`pk.fields`, or all of them).
    RecordValue,
}

/// The sink's settings.
#[derive(Debug, Clone)]
pub struct JdbcSinkConfig {
    /// `connection.url`.
    pub url: JdbcUrl,
    /// TLS, from the URL's parameters: pgjdbc's `ssl`, `sslmode`, `sslrootcert`, `sslcert`,
    /// `sslkey` for PostgreSQL; Connector/J's `sslMode`, `useSSL` and `serverSslCert` for
    /// MariaDB/MySQL.
    pub tls: TlsSettings,
    /// `connection.user` (or the URL's `user`).
    pub user: Option<String>,
    /// `connection.password` (or the URL's `password`); never logged.
    pub password: Option<String>,
    /// `connection.attempts`: connection attempts before a `put` gives up for now.
    pub connection_attempts: u32,
    /// `connection.backoff.ms`.
    pub connection_backoff: std::time::Duration,
    /// `insert.mode`.
    pub insert_mode: InsertMode,
    /// `pk.mode`.
    pub pk_mode: PkMode,
    /// `pk.fields`.
    pub pk_fields: Vec<String>,
    /// `delete.enabled`: tombstones delete the row with the key.
    pub delete_enabled: bool,
    /// `auto.create`: create missing tables from the record schema.
    pub auto_create: bool,
    /// `auto.evolve`: add missing columns (always nullable).
    pub auto_evolve: bool,
    /// `table.name.format`, with `${topic}`.
    pub table_name_format: String,
    /// `fields.whitelist`: the value fields written (all when empty).
    pub fields_whitelist: Vec<String>,
    /// `batch.size`: rows per statement.
    pub batch_size: usize,
    /// `db.timezone`: the zone whose wall clock is written into columns without a zone
    /// (PostgreSQL's `timestamp`, MariaDB/MySQL's `DATETIME`); see [`crate::zone::Zone`].
    pub db_timezone: Zone,
    /// `quote.sql.identifiers`: `always` (exact names) or `never` (the database folds case).
    pub quote_identifiers: bool,
    /// `max.retries`: attempts at a batch that failed for a transient reason before the task fails.
    pub max_retries: u32,
    /// `retry.backoff.ms`.
    pub retry_backoff: std::time::Duration,
}

/// Debezium's JDBC sink key names, read as Confluent's.
const DEBEZIUM_KEYS: &[(&str, &str)] = &[
    ("connection.username", "connection.user"),
    ("primary.key.mode", "pk.mode"),
    ("primary.key.fields", "pk.fields"),
    ("database.time_zone", "db.timezone"),
    ("collection.name.format", "table.name.format"),
];

/// True for Debezium's connector class, whose defaults differ (`quote.identifiers=false`,
/// `batch.size=500`).
fn is_debezium(props: &Props) -> bool {
    props
        .get("connector.class")
        .is_some_and(|c| c.starts_with("io.debezium."))
}

/// Debezium's keys rewritten as Confluent's (a Confluent key given as well wins).
pub fn normalize(props: &Props) -> Props {
    let mut out = props.clone();
    let set = |out: &mut Props, key: &str, value: &str| {
        if !props.contains(key) {
            out.set(key, value);
        }
    };
    for (old, new) in DEBEZIUM_KEYS {
        if let Some(v) = props.get(old) {
            out.remove(old);
            set(&mut out, new, v);
        }
    }
    if let Some(v) = props.get("schema.evolution") {
        out.remove("schema.evolution");
        let on = if v.trim().eq_ignore_ascii_case("basic") {
            "true"
        } else {
            "false"
        };
        set(&mut out, "auto.create", on);
        set(&mut out, "auto.evolve", on);
    }
    if let Some(v) = props.get("quote.identifiers") {
        out.remove("quote.identifiers");
        let q = if v.trim().eq_ignore_ascii_case("true") {
            "always"
        } else {
            "never"
        };
        set(&mut out, "quote.sql.identifiers", q);
    }
    if let Some(v) = props.get("field.include.list") {
        out.remove("field.include.list");
        // Debezium's entries are `<topic>:<field>`; the field part is what a column is.
        let fields: Vec<&str> = v
            .split(',')
            .map(|f| f.trim())
            .map(|f| f.rsplit_once(':').map_or(f, |(_, name)| name))
            .collect();
        set(&mut out, "fields.whitelist", &fields.join(","));
    }
    if is_debezium(props) {
        set(&mut out, "quote.sql.identifiers", "never");
        set(&mut out, "batch.size", "500");
    }
    out
}

impl JdbcSinkConfig {
    /// The keys (Confluent's names).
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ConfigDef::new()
            .define("connection.url", String, None, High, "JDBC URL: jdbc:postgresql://host:port/db, jdbc:mariadb://host:port/db or jdbc:mysql://host:port/db.")
            .with_validator("connection.url", Validator::non_empty())
            .define_optional("connection.user", String, High, "Database user (or the URL's user parameter).")
            .define_optional("connection.password", Password, High, "Database password (or the URL's password parameter).")
            .define("connection.attempts", Int, Some("3"), Low, "Connection attempts before a batch is handed back for a later try.")
            .with_validator("connection.attempts", Validator::range(1, 100))
            .define("connection.backoff.ms", Long, Some("10000"), Low, "Wait between connection attempts.")
            .with_validator("connection.backoff.ms", Validator::range(0, 3_600_000))
            .define("insert.mode", String, Some("insert"), High, "insert, upsert (insert or update by primary key) or update.")
            .define("pk.mode", String, Some("none"), High, "none, kafka, record_key or record_value.")
            .define("pk.fields", List, Some(""), Medium, "Primary key columns (see pk.mode).")
            .define("delete.enabled", Boolean, Some("false"), Medium, "Tombstones delete the row with the record key (needs pk.mode=record_key).")
            .define("auto.create", Boolean, Some("false"), Medium, "Create a missing table from the record schema.")
            .define("auto.evolve", Boolean, Some("false"), Medium, "Add missing columns (nullable) from the record schema.")
            .define("table.name.format", String, Some("${topic}"), Medium, "The table of a record; ${topic} is its topic. Dots separate a schema (PostgreSQL) or database (MariaDB/MySQL) from the table.")
            .with_validator("table.name.format", Validator::non_empty())
            .define("fields.whitelist", List, Some(""), Medium, "Value fields written as columns (all when empty).")
            .define("batch.size", Int, Some("3000"), Medium, "Rows per statement.")
            .with_validator("batch.size", Validator::range(1, 100_000))
            .define("db.timezone", String, Some("UTC"), Medium, "Zone of timestamps written into columns without a zone: UTC, a fixed offset such as +01:00, or an IANA name such as America/New_York (daylight saving followed).")
            .define("quote.sql.identifiers", String, Some("always"), Medium, "always (table and column names as written) or never.")
            .define("max.retries", Int, Some("10"), Medium, "Retries of a batch that failed for a transient reason (a lost connection, a deadlock) before the task fails.")
            .with_validator("max.retries", Validator::range(0, 1_000_000))
            .define("retry.backoff.ms", Long, Some("3000"), Medium, "Wait between retries.")
            .with_validator("retry.backoff.ms", Validator::range(0, 3_600_000))
            .define_optional("dialect.name", String, Low, "PostgreSqlDatabaseDialect or MySqlDatabaseDialect; taken from connection.url when unset.")
            .define("table.types", List, Some("TABLE"), Low, "Accepted for compatibility; rows are written to tables.")
    }

    /// Parses the settings (Debezium's key names included).
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let props = normalize(props);
        let c = Self::def().parse(&props)?;
        let mut problems: Option<ConfigError> = None;
        let mut problem = |key: &str, why: &str| {
            let e = ConfigError::new(key, why);
            match &mut problems {
                Some(p) => p.extend(e),
                None => problems = Some(e),
            }
        };
        let url = JdbcUrl::parse(c.string("connection.url").unwrap_or(""))?;
        let tls = match url.dialect {
            DialectKind::Postgres => postgres_tls(&url),
            DialectKind::MySql => mysql_tls(&url),
        };
        let mut tls_problems = |e: ConfigError| {
            for p in e.problems {
                problem(&p.key, &p.reason);
            }
        };
        match url.dialect {
            DialectKind::Postgres => {
                match url.param("sslmode").filter(|m| SslMode::parse(m).is_none()) {
                    Some(_) => tls_problems(ConfigError::new(
                        "connection.url",
                        "sslmode is one of disable, allow, prefer, require, verify-ca, verify-full",
                    )),
                    None => {
                        if let Err(e) = tls.validate() {
                            tls_problems(e);
                        }
                    }
                }
            }
            DialectKind::MySql => {
                if url
                    .param("sslMode")
                    .is_some_and(|m| mysql_ssl_mode(m).is_none())
                {
                    tls_problems(ConfigError::new(
                        "connection.url",
                        "sslMode is one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY (or MariaDB's disable, trust, verify-ca, verify-full)",
                    ));
                } else if let Some(k) = [
                    "trustCertificateKeyStoreUrl",
                    "clientCertificateKeyStoreUrl",
                    "keyStore",
                    "trustStore",
                ]
                .into_iter()
                .find(|k| url.param(k).is_some())
                {
                    tls_problems(ConfigError::new(
                        "connection.url",
                        format!("{k}: Java keystores are not read here; give the server's CA certificate as a PEM file in serverSslCert (client certificates are not offered for MariaDB/MySQL)"),
                    ));
                } else if let Err(e) = tls.mysql() {
                    tls_problems(e);
                }
            }
        }
        let lower = |k: &str| c.string(k).unwrap_or("").trim().to_ascii_lowercase();
        let insert_mode = match lower("insert.mode").as_str() {
            "insert" => InsertMode::Insert,
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => {
                problem("insert.mode", "expected insert, upsert or update");
                InsertMode::Insert
            }
        };
        let pk_mode = match lower("pk.mode").as_str() {
            "none" => PkMode::None,
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => {
                problem(
                    "pk.mode",
                    "expected none, kafka, record_key or record_value",
                );
                PkMode::None
            }
        };
        let mut pk_fields = c.list("pk.fields").to_vec();
        if pk_mode == PkMode::Kafka {
            if pk_fields.is_empty() {
                pk_fields = ["__connect_topic", "__connect_partition", "__connect_offset"]
                    .map(str::to_owned)
                    .to_vec();
            } else if pk_fields.len() != 3 {
                problem(
                    "pk.fields",
                    "pk.mode=kafka takes three names (topic, partition and offset columns)",
                );
            }
        }
        let delete_enabled = c.boolean("delete.enabled");
        if delete_enabled && pk_mode != PkMode::RecordKey {
            problem("delete.enabled", "deletes need pk.mode=record_key");
        }
        if insert_mode != InsertMode::Insert && pk_mode == PkMode::None {
            problem(
                "pk.mode",
                "insert.mode=upsert and insert.mode=update need a primary key: set pk.mode",
            );
        }
        let db_timezone = match Zone::parse(c.string("db.timezone").unwrap_or("UTC")) {
            Ok(z) => z,
            Err(e) => {
                problem("db.timezone", &e);
                Zone::UTC
            }
        };
        let quote_identifiers = match lower("quote.sql.identifiers").as_str() {
            "always" => true,
            "never" => false,
            _ => {
                problem("quote.sql.identifiers", "expected always or never");
                true
            }
        };
        if let Some(d) = c.string("dialect.name").filter(|d| !d.is_empty()) {
            let named = match d {
                "PostgreSqlDatabaseDialect" => Some(DialectKind::Postgres),
                "MySqlDatabaseDialect" | "MariaDbDatabaseDialect" => Some(DialectKind::MySql),
                _ => None,
            };
            match named {
                None => problem(
                    "dialect.name",
                    "expected PostgreSqlDatabaseDialect or MySqlDatabaseDialect",
                ),
                Some(k) if k != url.dialect => problem(
                    "dialect.name",
                    "does not match the database of connection.url",
                ),
                Some(_) => {}
            }
        }
        if let Some(p) = problems {
            return Err(p);
        }
        let user = c
            .string("connection.user")
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .or_else(|| url.param("user").map(str::to_owned));
        let password = c
            .password("connection.password")
            .map(|p| p.expose().to_owned())
            .filter(|p| !p.is_empty())
            .or_else(|| url.param("password").map(str::to_owned));
        Ok(JdbcSinkConfig {
            url,
            user,
            password,
            connection_attempts: c.int("connection.attempts").max(1) as u32,
            connection_backoff: c.millis("connection.backoff.ms"),
            insert_mode,
            pk_mode,
            pk_fields,
            delete_enabled,
            auto_create: c.boolean("auto.create"),
            auto_evolve: c.boolean("auto.evolve"),
            table_name_format: c
                .string("table.name.format")
                .unwrap_or("${topic}")
                .to_owned(),
            fields_whitelist: c.list("fields.whitelist").to_vec(),
            batch_size: c.int("batch.size").max(1) as usize,
            db_timezone,
            tls,
            quote_identifiers,
            max_retries: c.int("max.retries").max(0) as u32,
            retry_backoff: c.millis("retry.backoff.ms"),
        })
    }
}

/// The JDBC sink connector (Confluent's `JdbcSinkConnector`, and Debezium's by its key names).
#[derive(Debug, Default, Clone)]
pub struct JdbcSinkConnector;

impl SinkConnector for JdbcSinkConnector {
    fn config_def(&self) -> ConfigDef {
        JdbcSinkConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        JdbcSinkConfig::parse(props).map(|_| ())
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(JdbcSinkTask::default())
    }
}

/// pgjdbc's TLS parameters: `sslmode` (default `prefer`; `ssl=true` alone means `verify-full`, as
/// pgjdbc reads it), `sslrootcert`, `sslcert` and `sslkey` as PEM files.
fn postgres_tls(url: &JdbcUrl) -> TlsSettings {
    let mode = match (url.param("sslmode"), url.param("ssl")) {
        (Some(m), _) => SslMode::parse(m).unwrap_or_default(),
        (None, Some(s)) if s.eq_ignore_ascii_case("true") => SslMode::VerifyFull,
        _ => SslMode::Prefer,
    };
    let file = |name: &str, key: &'static str| url.param(name).map(|p| (p.into(), key));
    TlsSettings {
        mode,
        files: TlsFiles {
            root_cert: file("sslrootcert", "connection.url (sslrootcert)"),
            client_cert: file("sslcert", "connection.url (sslcert)"),
            client_key: file("sslkey", "connection.url (sslkey)"),
        },
        mode_key: "connection.url (sslmode)",
    }
}

/// MySQL Connector/J's and MariaDB Connector/J's TLS parameters on the shared ladder, either
/// vocabulary in either URL form: `sslMode` (MySQL's `DISABLED`, `PREFERRED`, `REQUIRED`,
/// `VERIFY_CA`, `VERIFY_IDENTITY`; MariaDB's `disable`, `trust`, `verify-ca`, `verify-full`), else the
/// older `useSSL=true` (`useSsl`), which verifies the certificate and the host name unless
/// `trustServerCertificate=true` or `verifyServerCertificate=false`; `serverSslCert`, the server's CA
/// certificate as a PEM file, for the verifying modes (`REQUIRED` encrypts without checking, as both
/// drivers do). Without any of them, `PREFERRED` as MySQL Connector/J 8: a plain connection.
fn mysql_tls(url: &JdbcUrl) -> TlsSettings {
    let flag = |name: &str| {
        url.param(name)
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    let mode = match (url.param("sslMode"), flag("useSSL")) {
        (Some(m), _) => mysql_ssl_mode(m).unwrap_or_default(),
        (None, Some(true)) => {
            if flag("trustServerCertificate") == Some(true)
                || flag("verifyServerCertificate") == Some(false)
            {
                SslMode::Require
            } else {
                SslMode::VerifyFull
            }
        }
        (None, Some(false)) => SslMode::Disable,
        (None, None) => SslMode::Prefer,
    };
    let verifying = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    TlsSettings {
        mode,
        files: TlsFiles {
            root_cert: url.param("serverSslCert").filter(|_| verifying).map(|p| {
                (
                    p.trim_start_matches("file:").into(),
                    "connection.url (serverSslCert)",
                )
            }),
            ..TlsFiles::default()
        },
        mode_key: "connection.url (sslMode)",
    }
}

/// `sslMode` by MySQL Connector/J's or MariaDB Connector/J's names.
fn mysql_ssl_mode(name: &str) -> Option<SslMode> {
    Some(
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "disabled" | "disable" => SslMode::Disable,
            "preferred" | "prefer" => SslMode::Prefer,
            "required" | "require" | "trust" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-identity" | "verify-full" => SslMode::VerifyFull,
            _ => return None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Props {
        Props::new().with("name", "warehouse").with(
            "connection.url",
            "jdbc:postgresql://127.0.0.1:5432/warehouse",
        )
    }

    #[test]
    fn confluent_defaults() {
        let c = JdbcSinkConfig::parse(&base()).unwrap();
        assert_eq!(
            (c.insert_mode, c.pk_mode),
            (InsertMode::Insert, PkMode::None)
        );
        assert_eq!((c.batch_size, c.max_retries), (3000, 10));
        assert!(c.quote_identifiers && !c.delete_enabled && !c.auto_create);
        assert_eq!(c.table_name_format, "${topic}");
        assert_eq!(c.db_timezone, Zone::UTC);
    }

    #[test]
    fn debezium_key_names_read_as_confluent_ones() {
        let p = base()
            .with(
                "connector.class",
                "io.debezium.connector.jdbc.JdbcSinkConnector",
            )
            .with("connection.username", "sink")
            .with("insert.mode", "upsert")
            .with("primary.key.mode", "record_key")
            .with("primary.key.fields", "id")
            .with("delete.enabled", "true")
            .with("schema.evolution", "basic")
            .with("database.time_zone", "+02:00")
            .with("field.include.list", "t1:id,t1:mrn");
        let c = JdbcSinkConfig::parse(&p).unwrap();
        assert_eq!(c.user.as_deref(), Some("sink"));
        assert_eq!(
            (c.insert_mode, c.pk_mode),
            (InsertMode::Upsert, PkMode::RecordKey)
        );
        assert_eq!(c.pk_fields, vec!["id"]);
        assert!(c.delete_enabled && c.auto_create && c.auto_evolve);
        assert_eq!(c.db_timezone, Zone::Fixed(7200));
        assert_eq!(c.fields_whitelist, vec!["id", "mrn"]);
        assert!(
            !c.quote_identifiers,
            "Debezium's default is quote.identifiers=false"
        );
        assert_eq!(c.batch_size, 500);
    }

    #[test]
    fn inconsistent_settings_name_their_keys() {
        let e = JdbcSinkConfig::parse(
            &base()
                .with("delete.enabled", "true")
                .with("insert.mode", "UPSERT"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("delete.enabled") && e.contains("pk.mode"), "{e}");
        let e = JdbcSinkConfig::parse(&base().with("db.timezone", "Europe/Pariss"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("db.timezone") && e.contains("IANA"), "{e}");
        let e = JdbcSinkConfig::parse(&base().with("pk.mode", "kafka").with("pk.fields", "a,b"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pk.fields"), "{e}");
        let e = JdbcSinkConfig::parse(&base().with(
            "connection.url",
            "jdbc:postgresql://h/db?sslmode=verify-full&password=hunter2",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sslmode") && e.contains("root certificate") && !e.contains("hunter2"),
            "{e}"
        );
        let c = JdbcSinkConfig::parse(
            &base().with("connection.url", "jdbc:postgresql://h/db?sslmode=require"),
        )
        .unwrap();
        assert_eq!(c.tls.mode, SslMode::Require);
        let c = JdbcSinkConfig::parse(&base().with(
            "connection.url",
            "jdbc:postgresql://h/db?ssl=true&sslrootcert=/nonexistent.pem",
        ));
        let e = c.unwrap_err().to_string();
        assert!(e.contains("sslrootcert"), "{e}");
    }

    /// Connector/J's TLS parameters, in MySQL's and MariaDB's vocabularies, on the shared ladder.
    #[test]
    fn mariadb_and_mysql_tls_parameters() {
        let mode = |url: &str| {
            JdbcSinkConfig::parse(&base().with("connection.url", url))
                .map(|c| (c.tls.mode, c.tls.files.root_cert.map(|(p, _)| p)))
        };
        let pki = connect_test_support::TestPki::new();
        let pem = pki.path("ca.pem");
        let pem = pem.as_str();
        let h = "jdbc:mysql://h/db";
        assert_eq!(
            mode(h).unwrap(),
            (SslMode::Prefer, None),
            "Connector/J 8's default"
        );
        assert_eq!(
            mode(&format!("{h}?sslMode=DISABLED")).unwrap().0,
            SslMode::Disable
        );
        assert_eq!(
            mode(&format!("{h}?sslMode=REQUIRED")).unwrap().0,
            SslMode::Require
        );
        assert_eq!(
            mode(&format!("{h}?sslMode=REQUIRED&serverSslCert={pem}")).unwrap(),
            (SslMode::Require, None),
            "REQUIRED encrypts without checking, as the drivers do"
        );
        assert_eq!(
            mode(&format!("{h}?sslMode=VERIFY_IDENTITY&serverSslCert={pem}")).unwrap(),
            (SslMode::VerifyFull, Some(pem.into()))
        );
        assert_eq!(
            mode(&format!("{h}?sslMode=VERIFY_IDENTITY")).unwrap(),
            (SslMode::VerifyFull, None),
            "without serverSslCert: the public roots"
        );
        let m = "jdbc:mariadb://h/db";
        assert_eq!(
            mode(&format!("{m}?sslMode=trust")).unwrap().0,
            SslMode::Require
        );
        assert_eq!(
            mode(&format!("{m}?sslMode=verify-ca&serverSslCert=file:{pem}")).unwrap(),
            (SslMode::VerifyCa, Some(pem.into()))
        );
        assert_eq!(
            mode(&format!("{m}?useSsl=true")).unwrap().0,
            SslMode::VerifyFull
        );
        assert_eq!(
            mode(&format!("{m}?useSsl=true&trustServerCertificate=true"))
                .unwrap()
                .0,
            SslMode::Require
        );
        assert_eq!(
            mode(&format!("{h}?useSSL=true&verifyServerCertificate=false"))
                .unwrap()
                .0,
            SslMode::Require
        );
        assert_eq!(
            mode(&format!("{h}?useSSL=false")).unwrap().0,
            SslMode::Disable
        );
        for (url, names) in [
            (format!("{h}?sslMode=sometimes&password=hunter2"), "sslMode"),
            (
                format!("{h}?sslMode=VERIFY_CA&serverSslCert=/nonexistent.pem&password=hunter2"),
                "serverSslCert",
            ),
            (
                format!("{h}?sslMode=VERIFY_CA&trustCertificateKeyStoreUrl=file:/ts.jks&password=hunter2"),
                "serverSslCert",
            ),
        ] {
            let e = mode(&url).unwrap_err().to_string();
            assert!(e.contains(names) && !e.contains("hunter2"), "{url}: {e}");
        }
    }

    #[test]
    fn credentials_from_keys_or_the_url() {
        let c = JdbcSinkConfig::parse(&base().with(
            "connection.url",
            "jdbc:mariadb://h:3307/clinical?user=u&password=p",
        ))
        .unwrap();
        assert_eq!(
            (c.user.as_deref(), c.password.as_deref()),
            (Some("u"), Some("p"))
        );
        let c = JdbcSinkConfig::parse(
            &base()
                .with("connection.user", "sink")
                .with("connection.password", "s3cret"),
        )
        .unwrap();
        assert_eq!(
            (c.user.as_deref(), c.password.as_deref()),
            (Some("sink"), Some("s3cret"))
        );
    }

    #[test]
    fn zones() {
        let zone =
            |z: &str| JdbcSinkConfig::parse(&base().with("db.timezone", z)).map(|c| c.db_timezone);
        assert_eq!(zone("utc").unwrap(), Zone::UTC);
        assert_eq!(zone("-05:30").unwrap(), Zone::Fixed(-19_800));
        assert_eq!(zone("UTC+0100").unwrap(), Zone::Fixed(3600));
        assert_eq!(
            zone("America/New_York").unwrap(),
            Zone::Named(chrono_tz::Tz::America__New_York)
        );
        assert!(zone("+25:00").is_err());
    }
}
