//! The connector's keys: Confluent's S3 sink names and defaults (and its GCS and Azure Blob Storage
//! sinks' store keys), on `object_store` (S3 and S3-compatible stores, GCS, Azure, or a local
//! directory).

use std::path::PathBuf;
use std::sync::Arc;

use connect_core::config::{ConfigDef, ConfigType, Importance, ParsedConfig, Props, Validator};
use connect_core::data::ValuePath;
use connect_core::error::{ConfigError, ConnectError};
use connect_core::sink::{SinkConnector, SinkTask};
use object_store::ObjectStore;

use super::format::{Compression, Format};
use super::parquet::Codec;
use super::partitioner::{parse_path_format, Partitioner, TimeSource};
use super::task::ArchiveSinkTask;
use super::zone::Zone;

/// Where objects are written.
#[derive(Clone)]
pub enum Store {
    /// An S3 bucket (AWS, or an S3-compatible endpoint given by `store.url`).
    S3 {
        /// `s3.bucket.name`.
        bucket: String,
        /// `s3.region`.
        region: String,
        /// `store.url`: an endpoint other than AWS's.
        endpoint: Option<String>,
        /// `aws.access.key.id` / `aws.secret.access.key`; else the environment's credentials.
        keys: Option<(String, String)>,
    },
    /// A Google Cloud Storage bucket (Confluent's GCS sink keys).
    Gcs {
        /// `gcs.bucket.name`.
        bucket: String,
        /// `store.url`: an endpoint other than Google's (an emulator).
        endpoint: Option<String>,
        /// `gcs.credentials.path` / `gcs.credentials.json`: a service account; else the
        /// environment's application default credentials.
        credentials: Option<GcsCredentials>,
    },
    /// An Azure Blob Storage container (Confluent's Azure Blob Storage sink keys).
    Azure {
        /// `azblob.account.name`.
        account: String,
        /// `azblob.container.name`.
        container: String,
        /// `store.url`: the account's endpoint when it is not `https://<account>.blob.core.windows.net`
        /// (Azurite: `http://127.0.0.1:10000/devstoreaccount1`).
        endpoint: Option<String>,
        /// `azblob.account.key`; else the environment's credentials.
        key: Option<String>,
    },
    /// A local directory (`store.url=file:///path`).
    Local(PathBuf),
}

/// A GCS service account.
#[derive(Clone)]
pub enum GcsCredentials {
    /// `gcs.credentials.path`: the service account's JSON key file.
    Path(String),
    /// `gcs.credentials.json`: the key file's content.
    Json(String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::S3 {
                bucket, endpoint, ..
            } => write!(f, "S3({bucket}, {endpoint:?})"),
            Store::Gcs {
                bucket, endpoint, ..
            } => write!(f, "Gcs({bucket}, {endpoint:?})"),
            Store::Azure {
                account,
                container,
                endpoint,
                ..
            } => write!(f, "Azure({account}/{container}, {endpoint:?})"),
            Store::Local(p) => write!(f, "Local({})", p.display()),
        }
    }
}

impl Store {
    /// Opens the store.
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>, ConnectError> {
        match self {
            Store::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| ConnectError::io(format!("creating {}", dir.display()), e))?;
                let s =
                    object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| {
                        ConnectError::other(format!("local store {}: {e}", dir.display()))
                    })?;
                Ok(Arc::new(s))
            }
            Store::S3 {
                bucket,
                region,
                endpoint,
                keys,
            } => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(region);
                if let Some(e) = endpoint {
                    b = b
                        .with_endpoint(e)
                        .with_allow_http(e.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let Some((id, secret)) = keys {
                    b = b.with_access_key_id(id).with_secret_access_key(secret);
                }
                let s = b
                    .build()
                    .map_err(|e| ConnectError::other(format!("S3 bucket {bucket}: {e}")))?;
                Ok(Arc::new(s))
            }
            Store::Gcs {
                bucket,
                endpoint,
                credentials,
            } => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket);
                match credentials {
                    Some(GcsCredentials::Path(p)) => b = b.with_service_account_path(p),
                    Some(GcsCredentials::Json(j)) => b = b.with_service_account_key(j),
                    None => {}
                }
                if let Some(e) = endpoint {
                    b = b.with_base_url(e).with_client_options(
                        object_store::ClientOptions::new()
                            .with_allow_http(e.starts_with("http://")),
                    );
                }
                // object_store's messages name the bucket and the failing setting, not secrets.
                let s = b.build().map_err(|e| {
                    ConnectError::other(format!(
                        "GCS bucket {bucket} (gcs.credentials.path / gcs.credentials.json): {e}"
                    ))
                })?;
                Ok(Arc::new(s))
            }
            Store::Azure {
                account,
                container,
                endpoint,
                key,
            } => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_account(account)
                    .with_container_name(container);
                if let Some(k) = key {
                    b = b.with_access_key(k);
                }
                if let Some(e) = endpoint {
                    b = b
                        .with_endpoint(e.clone())
                        .with_allow_http(e.starts_with("http://"));
                }
                let s = b.build().map_err(|e| {
                    ConnectError::other(format!(
                        "Azure container {account}/{container} (azblob.account.name, azblob.account.key): {}",
                        azure_error_text(&e)
                    ))
                })?;
                Ok(Arc::new(s))
            }
        }
    }
}

/// The short name of a `format.class`: Confluent's S3, GCS and Azure Blob Storage sinks each have
/// their own package for the same formats (`io.confluent.connect.gcs.format.json.JsonFormat`).
fn format_name(class: &str) -> &str {
    match class.strip_prefix("io.confluent.connect.") {
        Some(rest) => rest.rsplit('.').next().unwrap_or(rest),
        None => class,
    }
}

impl Store {
    /// The keys holding this store's credentials, for error messages.
    pub fn credential_keys(&self) -> &'static str {
        match self {
            Store::S3 { .. } => "aws.access.key.id and aws.secret.access.key",
            Store::Gcs { .. } => "gcs.credentials.path or gcs.credentials.json",
            Store::Azure { .. } => "azblob.account.name and azblob.account.key",
            Store::Local(_) => "the permissions of store.url's directory",
        }
    }

    /// The keys naming this store's bucket or container, for error messages.
    pub fn location_keys(&self) -> &'static str {
        match self {
            Store::S3 { .. } => "s3.bucket.name and store.url",
            Store::Gcs { .. } => "gcs.bucket.name and store.url",
            Store::Azure { .. } => "azblob.container.name and store.url",
            Store::Local(_) => "store.url",
        }
    }
}

/// object_store's Azure build errors; an unparsable key is reported without its text.
fn azure_error_text(e: &object_store::Error) -> String {
    let text = e.to_string();
    if text.to_ascii_lowercase().contains("key") {
        "the account key is not valid base64 (azblob.account.key)".to_owned()
    } else {
        text
    }
}

/// What a record with a null value does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    /// Skipped.
    Ignore,
    /// An errant record.
    Fail,
}

/// The sink's settings.
#[derive(Debug, Clone)]
pub struct ArchiveSinkConfig {
    /// Where objects go.
    pub store: Store,
    /// `topics.dir`.
    pub topics_dir: String,
    /// `flush.size`: records per file.
    pub flush_size: usize,
    /// `rotate.interval.ms`: a file spans at most this much record time.
    pub rotate_interval_ms: Option<i64>,
    /// `rotate.schedule.interval.ms`: files closed on the wall clock (not repeatable after a crash).
    pub rotate_schedule_ms: Option<i64>,
    /// `format.class`.
    pub format: Format,
    /// `s3.compression.type`.
    pub compression: Compression,
    /// `partitioner.class` and its keys.
    pub partitioner: Partitioner,
    /// `filename.offset.zero.pad.width`.
    pub zero_pad: usize,
    /// `behavior.on.null.values`.
    pub null_values: NullValues,
}

const P: &str = "io.confluent.connect.storage.partitioner.";

impl ArchiveSinkConfig {
    /// The accepted keys, with Confluent's defaults.
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ConfigDef::new()
            .define_optional("s3.bucket.name", String, High, "The bucket (not needed with store.url=file://...).")
            .define("s3.region", String, Some("us-west-2"), Medium, "The bucket's region.")
            .define_optional("store.url", String, High, "The store's endpoint when not the cloud's own (an S3-compatible server, a GCS emulator, Azurite's http://host:port/account), or file:///dir for a local directory.")
            .define_optional("aws.access.key.id", String, High, "Access key (else the environment's credentials).")
            .define_optional("aws.secret.access.key", Password, High, "Secret key.")
            .define_optional("gcs.bucket.name", String, High, "A Google Cloud Storage bucket (instead of s3.bucket.name).")
            .define_optional("gcs.credentials.path", String, High, "The GCS service account's JSON key file (else application default credentials).")
            .define_optional("gcs.credentials.json", Password, High, "The GCS service account's JSON key, inline.")
            .define_optional("gcs.part.size", Int, Low, "Accepted (each file is written in one request).")
            .define_optional("azblob.account.name", String, High, "The Azure storage account.")
            .define_optional("azblob.account.key", Password, High, "The account's key (else the environment's credentials).")
            .define_optional("azblob.container.name", String, High, "An Azure Blob Storage container (instead of s3.bucket.name).")
            .define("topics.dir", String, Some("topics"), High, "Top-level directory of the objects.")
            .define("flush.size", Int, None, High, "Records per file.")
            .with_validator("flush.size", Validator::range(1, 100_000_000))
            .define("rotate.interval.ms", Long, Some("-1"), High, "Longest span of record time in one file (-1: none).")
            .define("rotate.schedule.interval.ms", Long, Some("-1"), Medium, "Close files on the wall clock this often (-1: never; not repeatable after a crash).")
            .define("format.class", String, None, High, "JsonFormat, ByteArrayFormat or ParquetFormat, in the package of Confluent's S3, GCS or Azure Blob Storage sink (io.confluent.connect.s3.format.json.JsonFormat).")
            .define("format.bytearray.extension", String, Some(".bin"), Low, "Extension of ByteArrayFormat files.")
            .define_optional("format.bytearray.separator", String, Low, "Separator between ByteArrayFormat records (default: a newline).")
            .define("parquet.codec", String, Some("snappy"), Medium, "Parquet page compression: snappy or none.")
            .define("s3.compression.type", String, Some("none"), Medium, "none or gzip (JSON and bytes; Parquet compresses its pages itself).")
            .with_validator("s3.compression.type", Validator::one_of(&["none", "gzip"]))
            .define("partitioner.class", String, Some("io.confluent.connect.storage.partitioner.DefaultPartitioner"), High, "Default, Field, TimeBased, Daily or Hourly partitioner.")
            .define("partition.field.name", List, Some(""), Medium, "Fields of the value for FieldPartitioner.")
            .define("path.format", String, Some(""), Medium, "Joda pattern of TimeBasedPartitioner directories.")
            .define("partition.duration.ms", Long, Some("-1"), Medium, "Time bucket of TimeBasedPartitioner.")
            .define("locale", String, Some(""), Low, "Accepted (numeric patterns only).")
            .define("timezone", String, Some(""), Medium, "Zone of TimeBasedPartitioner buckets: UTC, a fixed offset such as +01:00, or an IANA name such as America/New_York (daylight saving followed).")
            .define("timestamp.extractor", String, Some("Wallclock"), Medium, "Record, RecordField or Wallclock.")
            .with_validator("timestamp.extractor", Validator::one_of(&["Record", "RecordField", "Wallclock"]))
            .define("timestamp.field", String, Some("timestamp"), Medium, "The value's field for RecordField.")
            .define("filename.offset.zero.pad.width", Int, Some("10"), Low, "Digits of the start offset in file names.")
            .with_validator("filename.offset.zero.pad.width", Validator::range(0, 19))
            .define("behavior.on.null.values", String, Some("fail"), Low, "ignore or fail.")
            .with_validator("behavior.on.null.values", Validator::one_of(&["ignore", "fail"]))
            .define_optional("storage.class", String, Low, "Accepted (io.confluent.connect.s3.storage.S3Storage).")
            .define_optional("schema.compatibility", String, Low, "Accepted; files rotate by count and time only.")
    }

    /// The store the keys name: a local directory (`store.url=file:///dir`), a GCS bucket
    /// (`gcs.bucket.name`), an Azure container (`azblob.container.name`) or an S3 bucket
    /// (`s3.bucket.name`); `store.url` is the endpoint of the last three.
    fn store(c: &ParsedConfig, problems: &mut ConfigError) -> Store {
        let url = c.string("store.url").filter(|u| !u.is_empty());
        let given = |k: &str| c.string(k).filter(|v| !v.is_empty()).map(str::to_owned);
        if let Some(dir) = url.and_then(|u| u.strip_prefix("file://")) {
            return Store::Local(PathBuf::from(dir));
        }
        let endpoint = url.map(str::to_owned);
        if let Some(bucket) = given("gcs.bucket.name") {
            let credentials = match (
                given("gcs.credentials.path"),
                c.password("gcs.credentials.json")
                    .map(|p| p.expose().to_owned())
                    .filter(|j| !j.is_empty()),
            ) {
                (Some(_), Some(_)) => {
                    problems.extend(ConfigError::new(
                        "gcs.credentials.json",
                        "set gcs.credentials.path or gcs.credentials.json, not both",
                    ));
                    None
                }
                (Some(p), None) => Some(GcsCredentials::Path(p)),
                (None, Some(j)) => Some(GcsCredentials::Json(j)),
                (None, None) => None,
            };
            return Store::Gcs {
                bucket,
                endpoint,
                credentials,
            };
        }
        if let Some(container) = given("azblob.container.name") {
            let Some(account) = given("azblob.account.name") else {
                problems.extend(ConfigError::new(
                    "azblob.account.name",
                    "required with azblob.container.name",
                ));
                return Store::Local(PathBuf::new());
            };
            return Store::Azure {
                account,
                container,
                endpoint,
                key: c
                    .password("azblob.account.key")
                    .map(|p| p.expose().to_owned())
                    .filter(|k| !k.is_empty()),
            };
        }
        match given("s3.bucket.name") {
            Some(bucket) => Store::S3 {
                bucket,
                region: c.string("s3.region").unwrap_or("us-west-2").to_owned(),
                endpoint,
                keys: c.string("aws.access.key.id").map(|id| {
                    (
                        id.to_owned(),
                        c.password("aws.secret.access.key")
                            .map(|p| p.expose().to_owned())
                            .unwrap_or_default(),
                    )
                }),
            },
            None => {
                problems.extend(ConfigError::new(
                    "s3.bucket.name",
                    "required unless gcs.bucket.name, azblob.container.name or store.url=file:///dir is set",
                ));
                Store::Local(PathBuf::new())
            }
        }
    }

    /// Parses the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        let mut problems = ConfigError { problems: vec![] };
        let store = Self::store(&c, &mut problems);
        let format_class = c.string("format.class").unwrap_or_default();
        let format = match format_name(format_class) {
            "JsonFormat" => Format::Json,
            "ByteArrayFormat" => Format::ByteArray {
                separator: c
                    .string("format.bytearray.separator")
                    .map(|s| s.replace("\\n", "\n").into_bytes())
                    .unwrap_or_else(|| b"\n".to_vec()),
                extension: c
                    .string("format.bytearray.extension")
                    .unwrap_or(".bin")
                    .to_owned(),
            },
            "ParquetFormat" => match c.string("parquet.codec").unwrap_or("snappy") {
                "none" | "uncompressed" => Format::Parquet(Codec::None),
                "snappy" => Format::Parquet(Codec::Snappy),
                other => {
                    problems.extend(ConfigError::new(
                        "parquet.codec",
                        format!("'{other}' is not available: snappy or none"),
                    ));
                    Format::Parquet(Codec::Snappy)
                }
            },
            _ => {
                problems.extend(ConfigError::new(
                    "format.class",
                    format!("'{format_class}' is not a format this sink writes: JsonFormat, ParquetFormat or ByteArrayFormat (Avro is not available yet)"),
                ));
                Format::Json
            }
        };
        if matches!(format, Format::Parquet(_)) && c.string("s3.compression.type") == Some("gzip") {
            problems.extend(ConfigError::new(
                "s3.compression.type",
                "gzip applies to JSON and bytes; Parquet files compress their pages (parquet.codec)",
            ));
        }
        let class = c.string("partitioner.class").unwrap_or_default();
        let short = class.strip_prefix(P).unwrap_or(class);
        let source = match c.string("timestamp.extractor").unwrap_or("Wallclock") {
            "Record" => TimeSource::Record,
            "RecordField" => {
                match ValuePath::parse(c.string("timestamp.field").unwrap_or("timestamp")) {
                    Ok(p) => TimeSource::Field(p),
                    Err(e) => {
                        problems.extend(ConfigError::new("timestamp.field", e));
                        TimeSource::Record
                    }
                }
            }
            _ => TimeSource::Wallclock,
        };
        let zone = match c.string("timezone").unwrap_or_default() {
            "" => Zone::UTC,
            tz => Zone::parse(tz).unwrap_or_else(|e| {
                problems.extend(ConfigError::new("timezone", e));
                Zone::UTC
            }),
        };
        let time = |duration_ms: i64, format: &str, problems: &mut ConfigError| -> Partitioner {
            let format = parse_path_format(format).unwrap_or_else(|e| {
                problems.extend(ConfigError::new("path.format", e));
                vec![]
            });
            Partitioner::Time {
                duration_ms,
                format,
                zone,
                source: source.clone(),
            }
        };
        let partitioner = match short {
            "DefaultPartitioner" => Partitioner::Default,
            "FieldPartitioner" => {
                let fields = c.list("partition.field.name");
                if fields.is_empty() {
                    problems.extend(ConfigError::new(
                        "partition.field.name",
                        "required by FieldPartitioner",
                    ));
                }
                let mut out = Vec::new();
                for f in fields {
                    match ValuePath::parse(f) {
                        Ok(p) => out.push((f.clone(), p)),
                        Err(e) => problems.extend(ConfigError::new("partition.field.name", e)),
                    }
                }
                Partitioner::Field(out)
            }
            "TimeBasedPartitioner" => {
                let d = c.long("partition.duration.ms");
                if d <= 0 {
                    problems.extend(ConfigError::new(
                        "partition.duration.ms",
                        "required (> 0) by TimeBasedPartitioner",
                    ));
                }
                let f = c.string("path.format").unwrap_or_default();
                if f.is_empty() {
                    problems.extend(ConfigError::new(
                        "path.format",
                        "required by TimeBasedPartitioner",
                    ));
                }
                time(d.max(1), f, &mut problems)
            }
            "DailyPartitioner" => {
                time(86_400_000, "'year'=YYYY/'month'=MM/'day'=dd", &mut problems)
            }
            "HourlyPartitioner" => time(
                3_600_000,
                "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
                &mut problems,
            ),
            other => {
                problems.extend(ConfigError::new(
                    "partitioner.class",
                    format!("'{other}' is not one of DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, DailyPartitioner, HourlyPartitioner"),
                ));
                Partitioner::Default
            }
        };
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        let positive = |k: &str| Some(c.long(k)).filter(|v| *v > 0);
        Ok(ArchiveSinkConfig {
            store,
            topics_dir: c
                .string("topics.dir")
                .unwrap_or("topics")
                .trim_matches('/')
                .to_owned(),
            flush_size: c.int("flush.size") as usize,
            rotate_interval_ms: positive("rotate.interval.ms"),
            rotate_schedule_ms: positive("rotate.schedule.interval.ms"),
            format,
            compression: if c.string("s3.compression.type") == Some("gzip") {
                Compression::Gzip
            } else {
                Compression::None
            },
            partitioner,
            zero_pad: c.int("filename.offset.zero.pad.width") as usize,
            null_values: if c.string("behavior.on.null.values") == Some("ignore") {
                NullValues::Ignore
            } else {
                NullValues::Fail
            },
        })
    }

    /// An object's name: `<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>`.
    pub fn object_name(&self, topic: &str, encoded: &str, partition: i32, start: i64) -> String {
        format!(
            "{dir}/{topic}/{encoded}/{topic}+{partition}+{start:0width$}{ext}{gz}",
            dir = self.topics_dir,
            width = self.zero_pad,
            ext = self.format.extension(),
            gz = self.compression.suffix()
        )
    }
}

/// Confluent's `S3SinkConnector`.
#[derive(Debug, Default, Clone)]
pub struct ArchiveSinkConnector;

impl SinkConnector for ArchiveSinkConnector {
    fn config_def(&self) -> ConfigDef {
        ArchiveSinkConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        ArchiveSinkConfig::parse(props).map(|_| ())
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(ArchiveSinkTask::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Props {
        Props::new()
            .with("s3.bucket.name", "archive")
            .with("flush.size", "3")
            .with(
                "format.class",
                "io.confluent.connect.s3.format.json.JsonFormat",
            )
    }

    #[test]
    fn the_keys_choose_the_store() {
        let gcs = Props::new()
            .with("gcs.bucket.name", "archive")
            .with("gcs.credentials.path", "/etc/gcs.json")
            .with("flush.size", "3")
            .with(
                "format.class",
                "io.confluent.connect.gcs.format.json.JsonFormat",
            );
        let c = ArchiveSinkConfig::parse(&gcs).unwrap();
        assert!(matches!(
            &c.store,
            Store::Gcs { bucket, credentials: Some(GcsCredentials::Path(p)), endpoint: None }
                if bucket == "archive" && p == "/etc/gcs.json"
        ));
        assert_eq!(c.format, Format::Json);
        let e = ArchiveSinkConfig::parse(&gcs.clone().with("gcs.credentials.json", "{}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("gcs.credentials.json"), "{e}");

        let azure = Props::new()
            .with("azblob.container.name", "archive")
            .with("flush.size", "3")
            .with(
                "format.class",
                "io.confluent.connect.azure.blob.format.parquet.ParquetFormat",
            );
        let e = ArchiveSinkConfig::parse(&azure).unwrap_err().to_string();
        assert!(e.contains("azblob.account.name"), "{e}");
        let c = ArchiveSinkConfig::parse(
            &azure
                .with("azblob.account.name", "hospital")
                .with("azblob.account.key", "c2VjcmV0")
                .with("store.url", "http://127.0.0.1:10000/hospital"),
        )
        .unwrap();
        assert!(matches!(
            &c.store,
            Store::Azure { account, container, endpoint: Some(_), key: Some(_) }
                if account == "hospital" && container == "archive"
        ));
        assert!(matches!(c.format, Format::Parquet(_)));
        // Secrets stay out of the store's description.
        assert!(!format!("{:?}", c.store).contains("c2VjcmV0"));

        let e =
            ArchiveSinkConfig::parse(&base().with("format.class", "com.example.format.JsonFormat"))
                .unwrap_err()
                .to_string();
        assert!(e.contains("com.example.format.JsonFormat"), "{e}");
        let c = ArchiveSinkConfig::parse(
            &base()
                .with("partitioner.class", format!("{P}DailyPartitioner"))
                .with("timestamp.extractor", "Record")
                .with("timezone", "Europe/Paris"),
        )
        .unwrap();
        assert!(matches!(
            c.partitioner,
            Partitioner::Time {
                zone: Zone::Named(_),
                ..
            }
        ));
    }

    #[test]
    fn object_names_are_confluents() {
        let c = ArchiveSinkConfig::parse(&base()).unwrap();
        assert_eq!(
            c.object_name("clinical.obs", "partition=2", 2, 1500),
            "topics/clinical.obs/partition=2/clinical.obs+2+0000001500.json"
        );
        let g = ArchiveSinkConfig::parse(&base().with("s3.compression.type", "gzip")).unwrap();
        assert!(g
            .object_name("t", "partition=0", 0, 0)
            .ends_with("t+0+0000000000.json.gz"));
    }

    #[test]
    fn problems_are_named() {
        let e = ArchiveSinkConfig::parse(
            &Props::new()
                .with("flush.size", "3")
                .with(
                    "format.class",
                    "io.confluent.connect.s3.format.avro.AvroFormat",
                )
                .with("partitioner.class", format!("{P}TimeBasedPartitioner"))
                .with("timezone", "Europe/Pariss"),
        )
        .unwrap_err()
        .to_string();
        for k in [
            "s3.bucket.name",
            "format.class",
            "partition.duration.ms",
            "path.format",
            "timezone",
        ] {
            assert!(e.contains(k), "{k}: {e}");
        }
    }

    #[test]
    fn parquet_names_and_no_gzip_around_it() {
        let parquet = base()
            .with(
                "format.class",
                "io.confluent.connect.s3.format.parquet.ParquetFormat",
            )
            .with("s3.compression.type", "gzip");
        let e = ArchiveSinkConfig::parse(&parquet).unwrap_err().to_string();
        assert!(e.contains("s3.compression.type"), "{e}");
        let c = ArchiveSinkConfig::parse(&parquet.with("s3.compression.type", "none")).unwrap();
        assert!(c
            .object_name("t", "partition=0", 0, 7)
            .ends_with("t+0+0000000007.snappy.parquet"));
    }
}
