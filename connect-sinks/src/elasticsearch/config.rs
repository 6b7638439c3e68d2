//! The connector's keys: Confluent's Elasticsearch sink names and defaults.

use std::path::PathBuf;
use std::time::Duration;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::http::{Auth, ClientSettings, RetryPolicy};
use connect_core::sink::{SinkConnector, SinkTask};

use super::task::ElasticsearchSinkTask;

/// What a record whose value is null does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    /// Skipped.
    Ignore,
    /// Deletes the document with the record's id.
    Delete,
    /// An errant record.
    Fail,
}

/// What a document the server rejects as malformed does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedDocuments {
    /// Skipped silently (to the DLQ when the connector tolerates errors).
    Ignore,
    /// Skipped with a warning (to the DLQ when the connector tolerates errors).
    Warn,
    /// Fails the task.
    Fail,
}

/// How documents are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    /// `index`: the record's document replaces the stored one.
    Insert,
    /// `update` with `doc_as_upsert`: fields merged into the stored document, created if absent.
    Upsert,
}

/// Where documents go when data streams are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStream {
    /// `logs` or `metrics`.
    pub kind: String,
    /// The dataset part of the name.
    pub dataset: String,
}

/// The sink's settings.
#[derive(Debug, Clone)]
pub struct ElasticsearchSinkConfig {
    /// `connection.url`: the nodes, tried in turn when one fails.
    pub urls: Vec<String>,
    /// Credentials (`connection.username`/`password`, or `connection.api.key`).
    pub auth: Auth,
    /// The HTTP client (timeouts, TLS).
    pub client: ClientSettings,
    /// `key.ignore`.
    pub key_ignore: bool,
    /// `topic.key.ignore`: topics whose keys are ignored whatever `key.ignore` says.
    pub topic_key_ignore: Vec<String>,
    /// `schema.ignore`.
    pub schema_ignore: bool,
    /// `topic.schema.ignore`.
    pub topic_schema_ignore: Vec<String>,
    /// `behavior.on.null.values`.
    pub null_values: NullValues,
    /// `behavior.on.malformed.documents`.
    pub malformed: MalformedDocuments,
    /// `write.method`.
    pub write_method: WriteMethod,
    /// `batch.size`: actions per bulk request.
    pub batch_size: usize,
    /// `bulk.size.bytes`: bytes per bulk request (a bigger single document goes alone).
    pub bulk_size_bytes: usize,
    /// `max.in.flight.requests`: bulk requests sent at once.
    pub max_in_flight: usize,
    /// `max.retries`, `retry.backoff.ms`: for rejected items and failed requests.
    pub retry: RetryPolicy,
    /// `flush.timeout.ms`: the longest one `put` or `flush` may take before it gives up (retriably).
    pub flush_timeout: Duration,
    /// `drop.invalid.message`: records that cannot become a document are skipped with a warning.
    pub drop_invalid: bool,
    /// `external.version.header`: the header holding the document version (instead of the offset).
    pub version_header: Option<String>,
    /// `data.stream.type` and `data.stream.dataset`, when set.
    pub data_stream: Option<DataStream>,
}

const MALFORMED: &[&str] = &["ignore", "warn", "fail"];
const NULLS: &[&str] = &["ignore", "delete", "fail"];

impl ElasticsearchSinkConfig {
    /// The accepted keys, with Confluent's defaults.
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ConfigDef::new()
            .define("connection.url", List, None, High, "Elasticsearch/OpenSearch node URLs (http:// or https://), tried in turn.")
            .with_validator("connection.url", Validator::non_empty())
            .define_optional("connection.username", String, Medium, "User for basic authentication.")
            .define_optional("connection.password", Password, Medium, "Password for basic authentication.")
            .define_optional("connection.api.key", Password, Medium, "An Elasticsearch API key (the encoded id:key), sent as `Authorization: ApiKey`.")
            .define("connection.timeout.ms", Long, Some("1000"), Low, "Time to connect to a node.")
            .define("read.timeout.ms", Long, Some("3000"), Low, "Time for a request's answer.")
            .define_optional("elastic.security.protocol", String, Medium, "PLAINTEXT or SSL (implied by an https:// URL).")
            .define_optional("elastic.https.ssl.truststore.location", String, Medium, "PEM file of the CA certificates to trust.")
            .define_optional("elastic.https.ssl.truststore.type", String, Low, "PEM (the only form read).")
            .define_optional("elastic.https.ssl.truststore.password", Password, Low, "Unused with PEM files; accepted.")
            .define_optional("elastic.https.ssl.keystore.location", String, Medium, "PEM file with the client certificate chain and its key (mutual TLS).")
            .define_optional("elastic.https.ssl.keystore.type", String, Low, "PEM (the only form read).")
            .define_optional("elastic.https.ssl.keystore.password", Password, Low, "Unused with PEM files; accepted.")
            .define_optional("elastic.https.ssl.key.password", Password, Low, "Unused with PEM files; accepted.")
            .define("key.ignore", Boolean, Some("false"), High, "Ignore the record key: document ids become topic+partition+offset.")
            .define("topic.key.ignore", List, Some(""), Low, "Topics whose keys are ignored.")
            .define("schema.ignore", Boolean, Some("false"), Low, "Write without a mapping from the value schema. When false, an index that has no mapping gets one inferred from the first record's struct schema, as Confluent's sink does (schemaless values leave the mapping to the server).")
            .define("topic.schema.ignore", List, Some(""), Low, "Topics whose schemas are ignored.")
            .define("compact.map.entries", Boolean, Some("true"), Low, "Maps with string keys as JSON objects (the only form written).")
            .define_optional("type.name", String, Low, "Mapping type of Elasticsearch 6 and earlier; ignored by 7+ and OpenSearch.")
            .define("behavior.on.null.values", String, Some("fail"), Low, "ignore, delete or fail.")
            .with_validator("behavior.on.null.values", Validator::one_of(NULLS))
            .define("behavior.on.malformed.documents", String, Some("fail"), Low, "ignore, warn or fail.")
            .with_validator("behavior.on.malformed.documents", Validator::one_of(MALFORMED))
            .define("write.method", String, Some("insert"), Low, "insert or upsert.")
            .with_validator("write.method", Validator::one_of(&["insert", "upsert"]))
            .define("batch.size", Int, Some("2000"), Medium, "Actions per bulk request.")
            .with_validator("batch.size", Validator::range(1, 1_000_000))
            .define("bulk.size.bytes", Long, Some("5242880"), Low, "Bytes per bulk request.")
            .with_validator("bulk.size.bytes", Validator::range(1, 1 << 30))
            .define("max.in.flight.requests", Int, Some("5"), Medium, "Bulk requests sent at once.")
            .with_validator("max.in.flight.requests", Validator::range(1, 1000))
            .define("max.buffered.records", Int, Some("20000"), Low, "Accepted; a put's records are written before it returns, so nothing else is buffered.")
            .define("linger.ms", Long, Some("1"), Low, "Accepted; bulks are formed from each put's records.")
            .define("flush.timeout.ms", Long, Some("180000"), Low, "The longest one put or flush may take.")
            .with_validator("flush.timeout.ms", Validator::range(1, 86_400_000))
            .define("max.retries", Int, Some("5"), Low, "Retries of a rejected item or a failed request before the batch is handed back to the runtime.")
            .with_validator("max.retries", Validator::range(0, 1000))
            .define("retry.backoff.ms", Long, Some("100"), Low, "The first retry's wait; each retry doubles it (with jitter).")
            .with_validator("retry.backoff.ms", Validator::range(0, 3_600_000))
            .define("drop.invalid.message", Boolean, Some("false"), Low, "Skip records that cannot become a document (with a warning) instead of treating them as errant.")
            .define("external.version.header", String, Some(""), Low, "Header holding the document's external version (default: the Kafka offset).")
            .define("data.stream.type", String, Some("none"), Low, "logs, metrics or none.")
            .with_validator("data.stream.type", Validator::one_of(&["none", "NONE", "logs", "LOGS", "metrics", "METRICS"]))
            .define("data.stream.dataset", String, Some(""), Low, "The dataset of the data stream names.")
            .define("data.stream.timestamp.field", List, Some(""), Low, "Accepted; the document's @timestamp is left to the record.")
    }

    /// Parses the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        let mut problems = ConfigError { problems: vec![] };
        let urls: Vec<std::string::String> = c
            .list("connection.url")
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect();
        for u in &urls {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                problems.extend(ConfigError::new(
                    "connection.url",
                    "each URL must start with http:// or https://",
                ));
            }
        }
        let api_key = c
            .password("connection.api.key")
            .map(|p| p.expose().to_owned());
        let auth = match (c.string("connection.username"), api_key) {
            (Some(_), Some(_)) => {
                problems.extend(ConfigError::new(
                    "connection.api.key",
                    "set either connection.username/password or connection.api.key, not both",
                ));
                Auth::None
            }
            (Some(user), None) => Auth::Basic {
                user: user.to_owned(),
                password: c
                    .password("connection.password")
                    .map(|p| p.expose().to_owned())
                    .unwrap_or_default(),
            },
            (None, Some(k)) => Auth::ApiKey(k),
            (None, None) => Auth::None,
        };
        for k in [
            "elastic.https.ssl.truststore.type",
            "elastic.https.ssl.keystore.type",
        ] {
            if let Some(t) = c.string(k) {
                if !t.eq_ignore_ascii_case("PEM") {
                    problems.extend(ConfigError::new(
                        k,
                        "only PEM files are read; convert a JKS or PKCS12 store to PEM",
                    ));
                }
            }
        }
        let client = ClientSettings {
            connect_timeout: c.millis("connection.timeout.ms"),
            read_timeout: c.millis("read.timeout.ms"),
            ca_pem: c
                .string("elastic.https.ssl.truststore.location")
                .map(PathBuf::from),
            identity_pem: c
                .string("elastic.https.ssl.keystore.location")
                .map(PathBuf::from),
            pool_max_idle_per_host: 16,
        };
        let data_stream = match c
            .string("data.stream.type")
            .unwrap_or("none")
            .to_ascii_lowercase()
        {
            t if t == "none" => None,
            kind => {
                let dataset = c
                    .string("data.stream.dataset")
                    .unwrap_or_default()
                    .to_owned();
                if dataset.is_empty() {
                    problems.extend(ConfigError::new(
                        "data.stream.dataset",
                        "required when data.stream.type is set",
                    ));
                }
                Some(DataStream { kind, dataset })
            }
        };
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        let retries = c.int("max.retries") as u32;
        Ok(ElasticsearchSinkConfig {
            urls,
            auth,
            client,
            key_ignore: c.boolean("key.ignore"),
            topic_key_ignore: c.list("topic.key.ignore").to_vec(),
            schema_ignore: c.boolean("schema.ignore"),
            topic_schema_ignore: c.list("topic.schema.ignore").to_vec(),
            null_values: match c.string("behavior.on.null.values").unwrap_or("fail") {
                "ignore" => NullValues::Ignore,
                "delete" => NullValues::Delete,
                _ => NullValues::Fail,
            },
            malformed: match c
                .string("behavior.on.malformed.documents")
                .unwrap_or("fail")
            {
                "ignore" => MalformedDocuments::Ignore,
                "warn" => MalformedDocuments::Warn,
                _ => MalformedDocuments::Fail,
            },
            write_method: match c.string("write.method").unwrap_or("insert") {
                "upsert" => WriteMethod::Upsert,
                _ => WriteMethod::Insert,
            },
            batch_size: c.int("batch.size") as usize,
            bulk_size_bytes: c.long("bulk.size.bytes") as usize,
            max_in_flight: c.int("max.in.flight.requests") as usize,
            retry: RetryPolicy {
                max_retries: retries,
                backoff: c.millis("retry.backoff.ms"),
                max_backoff: Duration::from_secs(60),
            },
            flush_timeout: c.millis("flush.timeout.ms"),
            drop_invalid: c.boolean("drop.invalid.message"),
            version_header: c
                .string("external.version.header")
                .filter(|h| !h.trim().is_empty())
                .map(str::to_owned),
            data_stream,
        })
    }

    /// Whether `topic`'s record keys are ignored.
    pub fn ignores_key(&self, topic: &str) -> bool {
        self.key_ignore || self.topic_key_ignore.iter().any(|t| t == topic)
    }

    /// Whether records of `topic` are written without a mapping from their schema
    /// (`schema.ignore`, `topic.schema.ignore`; data streams take their mappings from templates).
    pub fn ignores_schema(&self, topic: &str) -> bool {
        self.schema_ignore
            || self.data_stream.is_some()
            || self.topic_schema_ignore.iter().any(|t| t == topic)
    }

    /// The index (or data stream) a topic's documents go to.
    pub fn index_for(&self, topic: &str) -> std::string::String {
        match &self.data_stream {
            Some(ds) => format!("{}-{}-{topic}", ds.kind, ds.dataset),
            None => topic.to_owned(),
        }
    }
}

/// Confluent's `ElasticsearchSinkConnector`.
#[derive(Debug, Default, Clone)]
pub struct ElasticsearchSinkConnector;

impl SinkConnector for ElasticsearchSinkConnector {
    fn config_def(&self) -> ConfigDef {
        ElasticsearchSinkConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        ElasticsearchSinkConfig::parse(props).map(|_| ())
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(ElasticsearchSinkTask::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confluent_defaults_and_the_seeds_keys() {
        let p = Props::new()
            .with("connection.url", "https://es1:9200/, https://es2:9200")
            .with("connection.username", "connect_user")
            .with("connection.password", "pw")
            .with("key.ignore", "false")
            .with("schema.ignore", "true")
            .with("type.name", "_doc")
            .with("behavior.on.null.values", "delete")
            .with("behavior.on.malformed.documents", "warn");
        let c = ElasticsearchSinkConfig::parse(&p).unwrap();
        assert_eq!(c.urls, ["https://es1:9200", "https://es2:9200"]);
        assert_eq!(
            c.auth,
            Auth::Basic {
                user: "connect_user".into(),
                password: "pw".into()
            }
        );
        assert_eq!(c.null_values, NullValues::Delete);
        assert_eq!(c.malformed, MalformedDocuments::Warn);
        assert_eq!(
            (c.batch_size, c.bulk_size_bytes, c.max_in_flight),
            (2000, 5_242_880, 5)
        );
        assert_eq!(c.retry.max_retries, 5);
        assert_eq!(c.retry.backoff, Duration::from_millis(100));
        assert_eq!(c.write_method, WriteMethod::Insert);
        assert!(!c.ignores_key("t"));
        let d = ElasticsearchSinkConfig::parse(&Props::new().with("connection.url", "http://x"))
            .unwrap();
        assert_eq!(d.null_values, NullValues::Fail);
        assert_eq!(d.malformed, MalformedDocuments::Fail);
    }

    #[test]
    fn bad_values_are_named_without_secrets() {
        let p = Props::new()
            .with("connection.url", "es1:9200")
            .with("connection.username", "u")
            .with("connection.api.key", "SECRETKEY")
            .with("behavior.on.null.values", "drop")
            .with("elastic.https.ssl.truststore.type", "JKS");
        let e = ElasticsearchSinkConfig::parse(&p).unwrap_err().to_string();
        assert!(e.contains("behavior.on.null.values"), "{e}");
        let p = p.with("behavior.on.null.values", "ignore");
        let e = ElasticsearchSinkConfig::parse(&p).unwrap_err().to_string();
        for k in ["connection.url", "connection.api.key", "truststore.type"] {
            assert!(e.contains(k), "{k}: {e}");
        }
        assert!(!e.contains("SECRETKEY"), "{e}");
    }

    #[test]
    fn data_streams_name_the_index() {
        let p = Props::new()
            .with("connection.url", "http://x")
            .with("data.stream.type", "logs")
            .with("data.stream.dataset", "hl7");
        let c = ElasticsearchSinkConfig::parse(&p).unwrap();
        assert_eq!(c.index_for("adt"), "logs-hl7-adt");
        assert!(ElasticsearchSinkConfig::parse(&p.with("data.stream.dataset", "")).is_err());
    }
}
