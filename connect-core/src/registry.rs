//! The plugin registry: resolves the names in connector configs (`connector.class`,
//! `transforms.X.type`, `predicates.X.type`, `key.converter`, `value.converter`, `header.converter`) to
//! Rust factories. Java class names are accepted as aliases beside short Rust names, so configs written
//! for Kafka Connect load as they are.
//!
//! ```
//! use connect_core::config::Props;
//! use connect_core::error::{ConfigError, ConnectError};
//! use connect_core::record::Record;
//! use connect_core::registry::Registry;
//! use connect_core::transform::Transformation;
//!
//! /// A custom SMT: upper-cases the topic name.
//! #[derive(Default)]
//! struct UpperTopic;
//! impl<R: Record> Transformation<R> for UpperTopic {
//!     fn configure(&mut self, _: &Props) -> Result<(), ConfigError> { Ok(()) }
//!     fn apply(&self, mut r: R) -> Result<Option<R>, ConnectError> {
//!         r.base_mut().topic = r.base().topic.to_uppercase();
//!         Ok(Some(r))
//!     }
//! }
//!
//! let mut registry = Registry::with_builtins();
//! registry.register_transform(&["UpperTopic", "org.healthcare.UpperTopic"], UpperTopic::default);
//! assert!(registry.transform_names().contains(&"UpperTopic".to_string()));
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{ParsedConfig, Props};
use crate::converter::{
    ByteArrayConverter, Converter, HeaderConverter, JsonConverter, SimpleHeaderConverter,
    StringConverter,
};
use crate::error::{ConfigError, ConnectError};
use crate::record::{Record, SinkRecord, SourceRecord};
use crate::sink::SinkConnector;
use crate::source::SourceConnector;
use crate::transform::{Predicate, TransformChain, TransformStage, Transformation};

type TransformFactory<R> = Arc<dyn Fn() -> Box<dyn Transformation<R>> + Send + Sync>;
type PredicateFactory<R> = Arc<dyn Fn() -> Box<dyn Predicate<R>> + Send + Sync>;
type ConverterFactory = Arc<dyn Fn() -> Box<dyn Converter> + Send + Sync>;
type HeaderConverterFactory = Arc<dyn Fn() -> Box<dyn HeaderConverter> + Send + Sync>;

/// A transform plugin: makes instances for source and for sink records.
#[derive(Clone)]
pub struct TransformPlugin {
    source: TransformFactory<SourceRecord>,
    sink: TransformFactory<SinkRecord>,
}

/// A predicate plugin.
#[derive(Clone)]
pub struct PredicatePlugin {
    source: PredicateFactory<SourceRecord>,
    sink: PredicateFactory<SinkRecord>,
}

/// A connector plugin.
#[derive(Clone)]
pub enum ConnectorPlugin {
    /// Reads from an external system.
    Source(Arc<dyn SourceConnector>),
    /// Writes to an external system.
    Sink(Arc<dyn SinkConnector>),
}

/// Record kinds a chain can be built for.
pub trait ChainRecord: Record {
    /// Makes a transform of this record kind.
    fn make_transform(p: &TransformPlugin) -> Box<dyn Transformation<Self>>;
    /// Makes a predicate of this record kind.
    fn make_predicate(p: &PredicatePlugin) -> Box<dyn Predicate<Self>>;
}

impl ChainRecord for SourceRecord {
    fn make_transform(p: &TransformPlugin) -> Box<dyn Transformation<Self>> {
        (p.source)()
    }
    fn make_predicate(p: &PredicatePlugin) -> Box<dyn Predicate<Self>> {
        (p.source)()
    }
}

impl ChainRecord for SinkRecord {
    fn make_transform(p: &TransformPlugin) -> Box<dyn Transformation<Self>> {
        (p.sink)()
    }
    fn make_predicate(p: &PredicatePlugin) -> Box<dyn Predicate<Self>> {
        (p.sink)()
    }
}

struct Entry<T> {
    primary: String,
    plugin: T,
}

struct Table<T> {
    kind: &'static str,
    by_name: BTreeMap<String, Arc<Entry<T>>>,
}

impl<T> Table<T> {
    fn new(kind: &'static str) -> Self {
        Table {
            kind,
            by_name: BTreeMap::new(),
        }
    }
    fn insert(&mut self, names: &[&str], plugin: T) {
        let Some(primary) = names.first() else {
            return;
        };
        let entry = Arc::new(Entry {
            primary: (*primary).to_owned(),
            plugin,
        });
        for n in names {
            self.by_name.insert((*n).to_owned(), entry.clone());
        }
    }
    fn get(&self, name: &str) -> Result<&T, ConnectError> {
        self.by_name
            .get(name.trim())
            .map(|e| &e.plugin)
            .ok_or_else(|| ConnectError::UnknownPlugin {
                kind: self.kind,
                name: name.to_owned(),
                known: self.primaries().join(", "),
            })
    }
    fn primaries(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_name.values().map(|e| e.primary.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Maps plugin names to factories. Cheap to clone is not a goal: build one per host and share it
/// behind an `Arc`.
pub struct Registry {
    connectors: Table<ConnectorPlugin>,
    transforms: Table<TransformPlugin>,
    predicates: Table<PredicatePlugin>,
    converters: Table<ConverterFactory>,
    header_converters: Table<HeaderConverterFactory>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::with_builtins()
    }
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry {
            connectors: Table::new("connector"),
            transforms: Table::new("transformation"),
            predicates: Table::new("predicate"),
            converters: Table::new("converter"),
            header_converters: Table::new("header converter"),
        }
    }

    /// A registry with the converters of connect-core: JSON, String, ByteArray and the simple header
    /// converter. Connectors and SMTs are added by their crates' `register` functions.
    pub fn with_builtins() -> Self {
        let mut r = Registry::empty();
        r.register_converter(
            &[
                "JsonConverter",
                "org.apache.kafka.connect.json.JsonConverter",
                "json",
            ],
            || JsonConverter::new(true),
        );
        r.register_converter(
            &[
                "StringConverter",
                "org.apache.kafka.connect.storage.StringConverter",
                "string",
            ],
            StringConverter::default,
        );
        r.register_converter(
            &[
                "ByteArrayConverter",
                "org.apache.kafka.connect.converters.ByteArrayConverter",
                "bytes",
            ],
            ByteArrayConverter::default,
        );
        #[cfg(feature = "hl7")]
        r.register_converter(
            &["Hl7Converter", "io.connectrs.hl7.Hl7Converter", "hl7"],
            crate::converter::Hl7Converter::default,
        );
        r.register_header_converter(
            &[
                "SimpleHeaderConverter",
                "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            ],
            SimpleHeaderConverter::default,
        );
        r.register_header_converter(
            &[
                "StringConverter",
                "org.apache.kafka.connect.storage.StringConverter",
            ],
            StringConverter::default,
        );
        r.register_header_converter(
            &[
                "JsonConverter",
                "org.apache.kafka.connect.json.JsonConverter",
            ],
            || JsonConverter::new(true),
        );
        r.register_header_converter(
            &[
                "ByteArrayConverter",
                "org.apache.kafka.connect.converters.ByteArrayConverter",
            ],
            ByteArrayConverter::default,
        );
        r
    }

    /// Registers a transform under every name in `names` (the first is its primary name).
    pub fn register_transform<T, F>(&mut self, names: &[&str], factory: F) -> &mut Self
    where
        T: Transformation<SourceRecord> + Transformation<SinkRecord> + 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        let f = Arc::new(factory);
        let f2 = f.clone();
        self.transforms.insert(
            names,
            TransformPlugin {
                source: Arc::new(move || Box::new(f()) as Box<dyn Transformation<SourceRecord>>),
                sink: Arc::new(move || Box::new(f2()) as Box<dyn Transformation<SinkRecord>>),
            },
        );
        self
    }

    /// Registers a predicate under every name in `names`.
    pub fn register_predicate<T, F>(&mut self, names: &[&str], factory: F) -> &mut Self
    where
        T: Predicate<SourceRecord> + Predicate<SinkRecord> + 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        let f = Arc::new(factory);
        let f2 = f.clone();
        self.predicates.insert(
            names,
            PredicatePlugin {
                source: Arc::new(move || Box::new(f()) as Box<dyn Predicate<SourceRecord>>),
                sink: Arc::new(move || Box::new(f2()) as Box<dyn Predicate<SinkRecord>>),
            },
        );
        self
    }

    /// Registers a converter.
    pub fn register_converter<T, F>(&mut self, names: &[&str], factory: F) -> &mut Self
    where
        T: Converter + 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        self.converters.insert(
            names,
            Arc::new(move || Box::new(factory()) as Box<dyn Converter>),
        );
        self
    }

    /// Registers a header converter.
    pub fn register_header_converter<T, F>(&mut self, names: &[&str], factory: F) -> &mut Self
    where
        T: HeaderConverter + 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        self.header_converters.insert(
            names,
            Arc::new(move || Box::new(factory()) as Box<dyn HeaderConverter>),
        );
        self
    }

    /// Registers a source connector.
    pub fn register_source(
        &mut self,
        names: &[&str],
        connector: impl SourceConnector + 'static,
    ) -> &mut Self {
        self.connectors
            .insert(names, ConnectorPlugin::Source(Arc::new(connector)));
        self
    }

    /// Registers a sink connector.
    pub fn register_sink(
        &mut self,
        names: &[&str],
        connector: impl SinkConnector + 'static,
    ) -> &mut Self {
        self.connectors
            .insert(names, ConnectorPlugin::Sink(Arc::new(connector)));
        self
    }

    /// The connector plugin for `connector.class`.
    pub fn connector(&self, name: &str) -> Result<ConnectorPlugin, ConnectError> {
        self.connectors.get(name).cloned()
    }

    /// A new, unconfigured converter.
    pub fn converter(&self, name: &str) -> Result<Box<dyn Converter>, ConnectError> {
        Ok((self.converters.get(name)?)())
    }

    /// A new, unconfigured header converter.
    pub fn header_converter(&self, name: &str) -> Result<Box<dyn HeaderConverter>, ConnectError> {
        Ok((self.header_converters.get(name)?)())
    }

    /// Primary names of the registered connectors.
    pub fn connector_names(&self) -> Vec<String> {
        self.connectors.primaries()
    }
    /// Primary names of the registered transforms.
    pub fn transform_names(&self) -> Vec<String> {
        self.transforms.primaries()
    }
    /// Primary names of the registered predicates.
    pub fn predicate_names(&self) -> Vec<String> {
        self.predicates.primaries()
    }
    /// Primary names of the registered converters.
    pub fn converter_names(&self) -> Vec<String> {
        self.converters.primaries()
    }

    /// Builds and configures the transform chain described by a connector config (`transforms`,
    /// `transforms.X.type`, `transforms.X.predicate`, `transforms.X.negate`, `predicates`,
    /// `predicates.Y.type`). Every problem is reported at once, each with its full key.
    pub fn transform_chain<R: ChainRecord>(
        &self,
        props: &Props,
    ) -> Result<TransformChain<R>, ConfigError> {
        let mut problems = ConfigError { problems: vec![] };
        let list = |k: &str| crate::config::split_list(props.get(k).unwrap_or(""));

        let mut predicates: BTreeMap<String, Arc<dyn Predicate<R>>> = BTreeMap::new();
        for alias in list("predicates") {
            let key = format!("predicates.{alias}.type");
            let Some(ty) = props.get(&key) else {
                problems.extend(ConfigError::new(key, "missing predicate type"));
                continue;
            };
            match self.predicates.get(ty) {
                Ok(plugin) => {
                    let mut p = R::make_predicate(plugin);
                    match p.configure(&props.with_prefix(&format!("predicates.{alias}."))) {
                        Ok(()) => {
                            predicates.insert(alias.clone(), Arc::from(p));
                        }
                        Err(e) => problems.extend(e.with_prefix(&format!("predicates.{alias}."))),
                    }
                }
                Err(e) => problems.extend(ConfigError::new(key, e.to_string())),
            }
        }

        let mut stages = Vec::new();
        for alias in list("transforms") {
            let prefix = format!("transforms.{alias}.");
            let key = format!("{prefix}type");
            let Some(ty) = props.get(&key) else {
                problems.extend(ConfigError::new(key, "missing transformation type"));
                continue;
            };
            let plugin = match self.transforms.get(ty) {
                Ok(p) => p,
                Err(e) => {
                    problems.extend(ConfigError::new(key, e.to_string()));
                    continue;
                }
            };
            let mut own = props.with_prefix(&prefix);
            let pred_alias = own.remove("predicate");
            let negate = match own.remove("negate").as_deref().map(str::trim) {
                None => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    problems.extend(ConfigError::new(
                        format!("{prefix}negate"),
                        format!("expected true or false, got '{v}'"),
                    ));
                    false
                }
            };
            own.remove("type");
            let predicate = match pred_alias {
                None => None,
                Some(p) => match predicates.get(&p) {
                    Some(pred) => Some((p, pred.clone(), negate)),
                    None => {
                        problems.extend(ConfigError::new(
                            format!("{prefix}predicate"),
                            format!("predicate '{p}' is not listed in 'predicates' or failed to configure"),
                        ));
                        None
                    }
                },
            };
            let mut t = R::make_transform(plugin);
            if let Err(e) = t.configure(&own) {
                problems.extend(e.with_prefix(&prefix));
                continue;
            }
            stages.push(TransformStage {
                alias,
                transform: t,
                predicate,
            });
        }
        if problems.problems.is_empty() {
            Ok(TransformChain::new(stages))
        } else {
            Err(problems)
        }
    }

    /// Resolves and configures a key or value converter: the connector's `key.converter` /
    /// `value.converter` when set, else the worker's; configured with the matching `*.converter.*`
    /// keys (worker's first, connector's on top).
    pub fn configured_converter(
        &self,
        worker: &Props,
        connector: &Props,
        is_key: bool,
    ) -> Result<Box<dyn Converter>, ConnectError> {
        let role = if is_key {
            "key.converter"
        } else {
            "value.converter"
        };
        let (name, props) = match connector.get(role) {
            Some(n) => (n.to_owned(), connector.with_prefix(&format!("{role}."))),
            None => (
                worker
                    .get(role)
                    .unwrap_or("org.apache.kafka.connect.json.JsonConverter")
                    .to_owned(),
                worker
                    .with_prefix(&format!("{role}."))
                    .merged(&connector.with_prefix(&format!("{role}."))),
            ),
        };
        let mut c = self
            .converter(&name)
            .map_err(|e| ConfigError::new(role, e.to_string()))?;
        c.configure(&props, is_key)
            .map_err(|e| e.with_prefix(&format!("{role}.")))?;
        Ok(c)
    }

    /// Resolves and configures the header converter (default: `SimpleHeaderConverter`).
    pub fn configured_header_converter(
        &self,
        worker: &Props,
        connector: &Props,
    ) -> Result<Box<dyn HeaderConverter>, ConnectError> {
        let role = "header.converter";
        let name = connector
            .get(role)
            .or_else(|| worker.get(role))
            .unwrap_or("org.apache.kafka.connect.storage.SimpleHeaderConverter")
            .to_owned();
        let props = worker
            .with_prefix("header.converter.")
            .merged(&connector.with_prefix("header.converter."));
        let mut c = self
            .header_converter(&name)
            .map_err(|e| ConfigError::new(role, e.to_string()))?;
        c.configure(&props)
            .map_err(|e| e.with_prefix("header.converter."))?;
        Ok(c)
    }
}

/// Helper for plugins: parse props against a def, mapping to `ConfigError`.
pub fn parse_plugin_config(
    def: &crate::config::ConfigDef,
    props: &Props,
) -> Result<ParsedConfig, ConfigError> {
    def.parse(props)
}
