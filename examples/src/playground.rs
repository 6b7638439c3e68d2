//! The SMT playground behind `cargo run --example transform`: a connector config's transform chain
//! (transforms, predicates, `negate`) applied to records given as JSON lines.
//!
//! A record line is a JSON object; every member is optional:
//!
//! ```json
//! {"topic": "patients", "partition": 0, "offset": 42, "timestamp": 1700000000000,
//!  "key": "M1", "key_schema": {"type": "string", "optional": false},
//!  "value": {"mrn": "M1", "ssn": "123-45-6789"},
//!  "headers": [{"key": "source", "value": "registration"}]}
//! ```
//!
//! * Schemas are written in Kafka Connect's JsonConverter notation; an absent (or null) schema means
//!   the key or value is schemaless.
//! * Values of logical types are given as JsonConverter payloads: Date as days since the epoch,
//!   Time as milliseconds since midnight, Timestamp as epoch milliseconds, Decimal as base64 of the
//!   unscaled big-endian two's complement.
//! * Headers are a list of `{"key", "value"}` with an optional `"schema"`.
//! * Missing members default to topic `playground`, partition 0, offset = the line's number (from 0),
//!   no timestamp, null key and value, no headers.
//!
//! Each input line gives one output line: the transformed record in the same shape (schemas omitted
//! when schemaless), or `null` when the chain filtered it out. Blank lines are skipped.
//!
//! ```
//! use connect_examples::playground::Playground;
//!
//! let config = r#"{"name": "demo", "config": {
//!     "transforms": "mask",
//!     "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
//!     "transforms.mask.fields": "ssn"}}"#;
//! let p = Playground::from_connector_json(config).unwrap();
//! let out = p.apply_line(r#"{"value": {"mrn": "M1", "ssn": "123-45-6789"}}"#, 0).unwrap();
//! assert_eq!(
//!     out,
//!     r#"{"topic":"playground","partition":0,"offset":0,"timestamp":null,"key":null,"value":{"mrn":"M1","ssn":""},"headers":[]}"#
//! );
//! ```

use std::io::{BufRead, Write};
use std::sync::Arc;

use connect_core::config::{ConfigProviders, ConnectorConfig};
use connect_core::converter::{write_json_string, JsonConverter};
use connect_core::data::{Schema, Value};
use connect_core::error::{ConfigError, DataError};
use connect_core::record::{
    ConnectRecord, Headers, SinkRecord, TimestampType, TopicPartitionOffset,
};
use connect_core::registry::Registry;
use connect_core::transform::TransformChain;

/// What went wrong, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum PlaygroundError {
    /// The connector config does not load or its chain does not configure.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// An input line is not a record.
    #[error("line {line}: {reason}")]
    Input {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A transform rejected the record.
    #[error("line {line}: transform '{alias}' ({smt}) failed: {reason}")]
    Transform {
        /// 1-based line number.
        line: usize,
        /// The transform's alias in the config.
        alias: String,
        /// Its `type`.
        smt: String,
        /// The SMT's error.
        reason: String,
    },
    /// Reading input or writing output failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A configured chain and the JSON notation used to read and write records.
pub struct Playground {
    config: ConnectorConfig,
    chain: TransformChain<SinkRecord>,
    json: JsonConverter,
}

impl Playground {
    /// Loads a connector config in the Kafka Connect REST shape (`{"name", "config": {...}}`) or
    /// flat, and configures its transform chain with every SMT of `connect-smt`.
    pub fn from_connector_json(text: &str) -> Result<Playground, PlaygroundError> {
        let mut json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::new("<connector json>", format!("not valid JSON: {e}")))?;
        // A name is not needed to try a chain: default it rather than reject the config.
        if let Some(obj) = json.as_object_mut() {
            let named =
                obj.contains_key("name") || obj.get("config").and_then(|c| c.get("name")).is_some();
            if !named {
                obj.insert("name".into(), "playground".into());
            }
        }
        let mut config = ConnectorConfig::from_json_value(&json)?;
        // `${file:…}`, `${env:…}` and `${dir:…}` in the chain's keys (a Deidentify key, say) resolve
        // as the runtime resolves them; the connector's own keys are left alone, since the playground
        // does not start the connector.
        let providers = ConfigProviders::default();
        let mut problems = ConfigError { problems: vec![] };
        for (k, v) in config.props.values_mut() {
            if (k.starts_with("transforms.") || k.starts_with("predicates.")) && v.contains("${") {
                match providers.resolve_value(k, v) {
                    Ok(resolved) => *v = resolved,
                    Err(e) => problems.extend(e),
                }
            }
        }
        if !problems.problems.is_empty() {
            return Err(problems.into());
        }
        let mut registry = Registry::with_builtins();
        connect_smt::register(&mut registry);
        let chain = registry.transform_chain(&config.props)?;
        Ok(Playground {
            config,
            chain,
            json: JsonConverter::new(true),
        })
    }

    /// The number of transforms in the chain.
    pub fn len(&self) -> usize {
        self.chain.stages().len()
    }

    /// True when the config has no transforms (records pass through).
    pub fn is_empty(&self) -> bool {
        self.chain.stages().is_empty()
    }

    /// Applies the chain to one record line; `index` is the line's 0-based number (the default
    /// offset). Returns the output line, `null` for a filtered record.
    pub fn apply_line(&self, line: &str, index: usize) -> Result<String, PlaygroundError> {
        let input_err = |reason: String| PlaygroundError::Input {
            line: index + 1,
            reason,
        };
        let record = self.parse_record(line, index).map_err(input_err)?;
        match self.chain.apply(record) {
            Ok(None) => Ok("null".to_owned()),
            Ok(Some(out)) => self
                .write_record(&out)
                .map_err(|e| input_err(format!("the transformed record cannot be written: {e}"))),
            Err(e) => Err(PlaygroundError::Transform {
                line: index + 1,
                smt: self
                    .config
                    .props
                    .get(&format!("transforms.{}.type", e.alias))
                    .unwrap_or("?")
                    .to_owned(),
                alias: e.alias,
                reason: e.error.to_string(),
            }),
        }
    }

    fn schema_and_value(
        &self,
        obj: &serde_json::Map<String, serde_json::Value>,
        value_key: &str,
        schema_key: &str,
    ) -> Result<(Option<Schema>, Value), String> {
        let schema = match obj.get(schema_key) {
            None => None,
            Some(s) => self
                .json
                .schema_from_json(s)
                .map_err(|e| format!("{schema_key}: {e}"))?,
        };
        let payload = obj.get(value_key).unwrap_or(&serde_json::Value::Null);
        let value = self
            .json
            .json_to_value(schema.as_ref(), payload)
            .map_err(|e| format!("{value_key}: {e}"))?;
        Ok((schema, value))
    }

    fn parse_record(&self, line: &str, index: usize) -> Result<SinkRecord, String> {
        let json: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let obj = json
            .as_object()
            .ok_or("a record line must be a JSON object")?;
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "topic"
                    | "partition"
                    | "offset"
                    | "timestamp"
                    | "key"
                    | "key_schema"
                    | "value"
                    | "value_schema"
                    | "headers"
            ) {
                return Err(format!("unknown member '{k}'"));
            }
        }
        let topic = match obj.get("topic") {
            None => "playground",
            Some(t) => t.as_str().ok_or("topic must be a string")?,
        };
        let int = |k: &str| -> Result<Option<i64>, String> {
            match obj.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| format!("{k} must be an integer")),
            }
        };
        let partition = int("partition")?.unwrap_or(0);
        let partition =
            i32::try_from(partition).map_err(|_| "partition is out of range".to_owned())?;
        let offset = int("offset")?.unwrap_or(index as i64);
        let timestamp = int("timestamp")?;
        let (key_schema, key) = self.schema_and_value(obj, "key", "key_schema")?;
        let (value_schema, value) = self.schema_and_value(obj, "value", "value_schema")?;
        let mut headers = Headers::new();
        match obj.get("headers") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Array(items)) => {
                for (i, h) in items.iter().enumerate() {
                    let h = h
                        .as_object()
                        .ok_or_else(|| format!("headers[{i}] must be an object"))?;
                    let key = h
                        .get("key")
                        .and_then(|k| k.as_str())
                        .ok_or_else(|| format!("headers[{i}].key must be a string"))?;
                    let (schema, value) = self
                        .schema_and_value(h, "value", "schema")
                        .map_err(|e| format!("headers[{i}].{e}"))?;
                    headers.add(key.to_owned(), schema, value);
                }
            }
            Some(_) => return Err("headers must be a list of {\"key\", \"value\"}".into()),
        }
        Ok(SinkRecord {
            record: ConnectRecord {
                topic: topic.to_owned(),
                kafka_partition: Some(partition),
                key_schema,
                key,
                value_schema,
                value,
                timestamp,
                headers,
            },
            kafka_offset: offset,
            timestamp_type: if timestamp.is_some() {
                TimestampType::CreateTime
            } else {
                TimestampType::NoTimestampType
            },
            original: TopicPartitionOffset {
                topic: Arc::from(topic),
                partition,
                offset,
            },
        })
    }

    fn write_part(
        &self,
        out: &mut Vec<u8>,
        name: &str,
        schema_name: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<(), DataError> {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        self.json.write_value(schema, value, out)?;
        if let Some(s) = schema {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(schema_name.as_bytes());
            out.extend_from_slice(b"\":");
            self.json.schema_to_json(s, out)?;
        }
        Ok(())
    }

    fn write_record(&self, r: &SinkRecord) -> Result<String, DataError> {
        let rec = &r.record;
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"topic\":");
        write_json_string(&mut out, &rec.topic);
        out.extend_from_slice(b",\"partition\":");
        match rec.kafka_partition {
            Some(p) => out.extend_from_slice(p.to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"offset\":");
        out.extend_from_slice(r.kafka_offset.to_string().as_bytes());
        out.extend_from_slice(b",\"timestamp\":");
        match rec.timestamp {
            Some(t) => out.extend_from_slice(t.to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        self.write_part(
            &mut out,
            "key",
            "key_schema",
            rec.key_schema.as_ref(),
            &rec.key,
        )?;
        self.write_part(
            &mut out,
            "value",
            "value_schema",
            rec.value_schema.as_ref(),
            &rec.value,
        )?;
        out.extend_from_slice(b",\"headers\":[");
        for (i, h) in rec.headers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"key\":");
            write_json_string(&mut out, &h.key);
            self.write_part(&mut out, "value", "schema", h.schema.as_ref(), &h.value)?;
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        String::from_utf8(out).map_err(|_| DataError::new("output is not UTF-8"))
    }
}

/// The program as `main` runs it: arguments from the command line, records from stdin, results to
/// stdout, problems to stderr. Returns the exit code.
pub fn run_from_env() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    run(
        &args,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
        std::io::stderr(),
    )
}

/// Usage text of the example.
pub const USAGE: &str = "usage: transform --config CONNECTOR.json < records.jsonl
  Applies the connector config's transform chain to each JSON record line on stdin and prints one
  line per input: the transformed record, or null when the chain filtered it out.";

/// The whole program: parses `args` (without the program name), reads records from `input`, writes
/// results to `output` and problems to `errors`. Returns the exit code: 0 on success, 2 for bad
/// arguments or config, 1 when a record could not be read or transformed (after the lines before it
/// were printed).
pub fn run(
    args: &[String],
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> i32 {
    let mut config_path = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => config_path = it.next().cloned(),
            s if s.starts_with("--config=") => config_path = Some(s["--config=".len()..].into()),
            "--help" | "-h" => {
                let _ = writeln!(output, "{USAGE}");
                return 0;
            }
            other => {
                let _ = writeln!(errors, "unknown argument '{other}'\n{USAGE}");
                return 2;
            }
        }
    }
    let Some(path) = config_path else {
        let _ = writeln!(errors, "--config is required\n{USAGE}");
        return 2;
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(errors, "cannot read {path}: {e}");
            return 2;
        }
    };
    let playground = match Playground::from_connector_json(&text) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(errors, "{path}: {e}");
            return 2;
        }
    };
    for (index, line) in input.lines().enumerate() {
        let result = line.map_err(PlaygroundError::from).and_then(|line| {
            if line.trim().is_empty() {
                Ok(None)
            } else {
                playground.apply_line(&line, index).map(Some)
            }
        });
        match result {
            Ok(None) => {}
            Ok(Some(out)) => {
                if writeln!(output, "{out}").is_err() {
                    return 1;
                }
            }
            Err(e) => {
                let _ = output.flush();
                let _ = writeln!(errors, "{e}");
                return 1;
            }
        }
    }
    let _ = output.flush();
    0
}
