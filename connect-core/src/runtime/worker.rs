//! The in-process worker: loads connector configs, creates tasks from the plugin registry, and runs them
//! against Kafka with at-least-once delivery.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::producer::FutureProducer;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{
    common_connector_def, ConfigDef, ConfigProviders, ConfigType, ConnectorConfig, ErrorPolicy,
    Importance, Props,
};
use crate::error::{ConfigError, ConnectError};
use crate::registry::{ConnectorPlugin, Registry};
use crate::runtime::admin::{TopicAdmin, TopicCreation, TopicSpec};
use crate::runtime::dlq::ErrantRecordReporter;
use crate::runtime::kafka::{EmbeddedCluster, KafkaSettings};
use crate::runtime::offsets::{
    FileOffsetStore, KafkaOffsetStore, MemoryOffsetStore, OffsetStore, OffsetsTopicConfig,
};
use crate::runtime::sink_runner::{ConsumerHandle, SinkRunner};
use crate::runtime::source_runner::SourceRunner;
use crate::runtime::status::{MetricsSnapshot, TaskShared, TaskState, TaskStatus};
use crate::runtime::Control;

/// The worker keys this runtime reads (a `connect-distributed.properties` loads as it is; keys for
/// Java's distributed herder, REST server and plugin path are accepted and ignored).
pub fn worker_def() -> ConfigDef {
    ConfigDef::new()
        .define_optional(
            "bootstrap.servers",
            ConfigType::List,
            Importance::High,
            "Kafka brokers. When absent, an embedded in-process cluster is started.",
        )
        .define(
            "embedded.brokers",
            ConfigType::Int,
            Some("1"),
            Importance::Low,
            "Brokers of the embedded cluster.",
        )
        .define_optional(
            "offset.storage.topic",
            ConfigType::String,
            Importance::High,
            "Kafka topic holding source offsets, in Kafka Connect's format.",
        )
        .define(
            "offset.storage.partitions",
            ConfigType::Int,
            Some("25"),
            Importance::Low,
            "Partitions of the offsets topic when created.",
        )
        .define(
            "offset.storage.replication.factor",
            ConfigType::Int,
            Some("3"),
            Importance::Low,
            "Replication factor of the offsets topic when created (-1: broker default).",
        )
        .define_optional(
            "offset.storage.file.filename",
            ConfigType::String,
            Importance::High,
            "File holding source offsets, when no offsets topic is set.",
        )
        .define(
            "offset.flush.interval.ms",
            ConfigType::Long,
            Some("60000"),
            Importance::Low,
            "How often offsets are committed.",
        )
        .define(
            "task.shutdown.graceful.timeout.ms",
            ConfigType::Long,
            Some("5000"),
            Importance::Low,
            "How long stopping waits for in-flight records.",
        )
}

/// A running worker. Cheap to clone; all clones share the connectors.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<WorkerInner>,
}

struct WorkerInner {
    props: Props,
    registry: Arc<Registry>,
    providers: ConfigProviders,
    kafka: KafkaSettings,
    embedded: Option<Arc<EmbeddedCluster>>,
    admin: TopicAdmin,
    offsets: Arc<dyn OffsetStore>,
    flush_interval: Duration,
    shutdown_timeout: Duration,
    connectors: Mutex<BTreeMap<String, ConnectorHandle>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("bootstrap", &self.inner.kafka.bootstrap_servers())
            .field("embedded", &self.inner.embedded.is_some())
            .finish()
    }
}

impl Worker {
    /// Starts a worker from a worker config (Java properties keys). With no `bootstrap.servers`, an
    /// embedded Kafka cluster is started and owned by the worker.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), connect_core::error::ConnectError> {
    /// use connect_core::config::Props;
    /// use connect_core::registry::Registry;
    /// use connect_core::runtime::Worker;
    ///
    /// let worker = Worker::start(Props::new(), Registry::with_builtins()).await?;
    /// println!("embedded Kafka at {}", worker.bootstrap_servers());
    /// worker.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(props: Props, registry: Registry) -> Result<Worker, ConnectError> {
        Self::start_with_providers(props, registry, ConfigProviders::default()).await
    }

    /// As [`Worker::start`], with your own config providers (for `${vault:...}` and the like).
    pub async fn start_with_providers(
        props: Props,
        registry: Registry,
        providers: ConfigProviders,
    ) -> Result<Worker, ConnectError> {
        let props = providers.resolve(&props)?;
        let cfg = worker_def().parse(&props)?;
        let bootstrap = cfg.list("bootstrap.servers").join(",");
        let embedded = if bootstrap.is_empty() {
            let brokers = cfg.int("embedded.brokers").max(1);
            Some(Arc::new(EmbeddedCluster::start(brokers)?))
        } else {
            None
        };
        let servers = embedded
            .as_ref()
            .map(|e| e.bootstrap_servers().to_owned())
            .unwrap_or(bootstrap);
        let kafka = KafkaSettings::from_worker(&props, &servers, embedded.is_some())?;
        let admin = TopicAdmin::new(&kafka, embedded.clone())?;
        let offsets: Arc<dyn OffsetStore> = match (
            cfg.string("offset.storage.topic").filter(|t| !t.is_empty()),
            cfg.string("offset.storage.file.filename")
                .filter(|t| !t.is_empty()),
        ) {
            (Some(topic), _) => Arc::new(
                KafkaOffsetStore::open(
                    &kafka,
                    &admin,
                    &OffsetsTopicConfig {
                        topic: topic.to_owned(),
                        partitions: cfg.int("offset.storage.partitions"),
                        replication_factor: cfg.int("offset.storage.replication.factor"),
                    },
                )
                .await?,
            ),
            (None, Some(file)) => Arc::new(FileOffsetStore::new(file)),
            (None, None) => Arc::new(MemoryOffsetStore::new()),
        };
        tracing::info!(bootstrap = %servers, embedded = embedded.is_some(), "worker started");
        Ok(Worker {
            inner: Arc::new(WorkerInner {
                flush_interval: cfg
                    .millis("offset.flush.interval.ms")
                    .max(Duration::from_millis(10)),
                shutdown_timeout: cfg.millis("task.shutdown.graceful.timeout.ms"),
                props,
                registry: Arc::new(registry),
                providers,
                kafka,
                embedded,
                admin,
                offsets,
                connectors: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// Where the worker's Kafka is: give this to any producer or consumer of the host.
    pub fn bootstrap_servers(&self) -> &str {
        self.inner.kafka.bootstrap_servers()
    }

    /// The embedded cluster, when the worker runs one (for fault injection in tests).
    pub fn embedded(&self) -> Option<&EmbeddedCluster> {
        self.inner.embedded.as_deref()
    }

    /// The Kafka settings (client configs the worker uses).
    pub fn kafka(&self) -> &KafkaSettings {
        &self.inner.kafka
    }

    /// The topic admin.
    pub fn admin(&self) -> &TopicAdmin {
        &self.inner.admin
    }

    /// The plugin registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Checks a connector config without starting it: every bad or missing key is reported at once.
    pub fn validate(&self, config: &ConnectorConfig) -> Result<(), ConnectError> {
        self.prepare(config).map(|_| ())
    }

    fn prepare(
        &self,
        config: &ConnectorConfig,
    ) -> Result<(Props, ConnectorPlugin, ErrorPolicy, usize), ConnectError> {
        let props = self.inner.providers.resolve(&config.props)?;
        let mut problems = ConfigError { problems: vec![] };
        if let Err(e) = crate::config::check_connector_name(&config.name) {
            problems.extend(e);
        }
        let common = match common_connector_def().parse(&props) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.extend(e);
                None
            }
        };
        let plugin = match props.get("connector.class") {
            Some(class) => match self.inner.registry.connector(class) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.extend(ConfigError::new("connector.class", e.to_string()));
                    None
                }
            },
            None => None,
        };
        if let Some(p) = &plugin {
            let own = match p {
                ConnectorPlugin::Source(c) => c.validate(&props),
                ConnectorPlugin::Sink(c) => c.validate(&props),
            };
            if let Err(e) = own {
                problems.extend(e);
            }
            if let ConnectorPlugin::Sink(_) = p {
                let topics = props
                    .get("topics")
                    .map(crate::config::split_list)
                    .unwrap_or_default();
                let regex = props.get("topics.regex").filter(|r| !r.trim().is_empty());
                match (topics.is_empty(), regex) {
                    (true, None) => problems.extend(ConfigError::new(
                        "topics",
                        "a sink needs 'topics' or 'topics.regex'",
                    )),
                    (false, Some(_)) => problems.extend(ConfigError::new(
                        "topics.regex",
                        "set 'topics' or 'topics.regex', not both",
                    )),
                    _ => {}
                }
                if let Some(dlq) = props
                    .get("errors.deadletterqueue.topic.name")
                    .filter(|d| !d.is_empty())
                {
                    let by_regex = match regex.map(topics_regex) {
                        Some(Ok(re)) => re.is_match(dlq),
                        Some(Err(e)) => {
                            problems.extend(ConfigError::new(
                                "topics.regex",
                                format!("not a valid regular expression: {e}"),
                            ));
                            false
                        }
                        None => false,
                    };
                    if by_regex || topics.iter().any(|t| t == dlq) {
                        problems.extend(ConfigError::new(
                            "errors.deadletterqueue.topic.name",
                            "the DLQ topic must not be one of the connector's topics",
                        ));
                    }
                }
            }
        }
        if let Err(e) = TopicCreation::from_props(&props) {
            problems.extend(e);
        }
        // Transform chains and converters are checked by building them.
        if let Err(e) = self
            .inner
            .registry
            .transform_chain::<crate::record::SourceRecord>(&props)
        {
            problems.extend(e);
        }
        for is_key in [true, false] {
            if let Err(e) =
                self.inner
                    .registry
                    .configured_converter(&self.inner.props, &props, is_key)
            {
                match e {
                    ConnectError::Config(c) => problems.extend(c),
                    other => problems.extend(ConfigError::new(
                        if is_key {
                            "key.converter"
                        } else {
                            "value.converter"
                        },
                        other.to_string(),
                    )),
                }
            }
        }
        if !problems.problems.is_empty() {
            return Err(ConnectError::Config(problems));
        }
        let common = common.ok_or_else(|| ConnectError::other("connector config did not parse"))?;
        let plugin = plugin.ok_or_else(|| ConnectError::other("connector.class missing"))?;
        let max_tasks = common.int("tasks.max").max(1) as usize;
        Ok((props, plugin, ErrorPolicy::from_parsed(&common), max_tasks))
    }

    /// Validates and starts a connector; returns once its tasks are running (or failed to start).
    pub async fn start_connector(
        &self,
        config: ConnectorConfig,
    ) -> Result<ConnectorHandle, ConnectError> {
        let name = config.name.clone();
        if self.connector(&name).is_some() {
            return Err(ConnectError::other(format!(
                "connector '{name}' is already running"
            )));
        }
        let (props, plugin, policy, max_tasks) = self.prepare(&config)?;
        if let Some(dlq) = &policy.dlq_topic {
            self.inner
                .admin
                .ensure(&TopicSpec {
                    name: dlq.clone(),
                    partitions: 1,
                    replication_factor: policy.dlq_replication_factor as i32,
                    configs: vec![],
                })
                .await?;
        }
        let (control_tx, control_rx) = watch::channel(Control::Run);
        let mut tasks = Vec::new();
        let task_configs = match &plugin {
            ConnectorPlugin::Source(c) => c.task_configs(&props, max_tasks)?,
            ConnectorPlugin::Sink(c) => c.task_configs(&props, max_tasks)?,
        };
        for (task_id, task_props) in task_configs.into_iter().enumerate() {
            match self.spawn_task(
                &name,
                task_id,
                &props,
                &task_props,
                &plugin,
                &policy,
                &control_rx,
            ) {
                Ok(t) => tasks.push(t),
                Err(e) => {
                    // Stop the tasks already started: no half-started connector is left behind.
                    let _ = control_tx.send(Control::Stop);
                    for t in tasks {
                        let join = t.join.lock().ok().and_then(|mut j| j.take());
                        if let Some(j) = join {
                            let _ = j.await;
                        }
                    }
                    return Err(e);
                }
            }
        }
        let handle = ConnectorHandle {
            inner: Arc::new(ConnectorInner {
                name: name.clone(),
                tasks,
                control: control_tx,
            }),
        };
        if let Ok(mut m) = self.inner.connectors.lock() {
            m.insert(name, handle.clone());
        }
        Ok(handle)
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn_task(
        &self,
        name: &str,
        task_id: usize,
        props: &Props,
        task_props: &Props,
        plugin: &ConnectorPlugin,
        policy: &ErrorPolicy,
        control_rx: &watch::Receiver<Control>,
    ) -> Result<TaskHandle, ConnectError> {
        let task_props = props.merged(task_props);
        let shared = Arc::new(TaskShared::new(name, task_id));
        let reg = &self.inner.registry;
        let wp = &self.inner.props;
        let key_converter = reg.configured_converter(wp, &task_props, true)?;
        let value_converter = reg.configured_converter(wp, &task_props, false)?;
        let header_converter = reg.configured_header_converter(wp, &task_props)?;
        let dlq_producer: Option<FutureProducer> = match &policy.dlq_topic {
            Some(_) => Some(self.inner.kafka.producer_config().create()?),
            None => None,
        };
        let reporter = Arc::new(ErrantRecordReporter::new(
            name,
            task_id,
            policy.clone(),
            dlq_producer,
            shared.clone(),
        ));
        let span = tracing::info_span!("task", connector = %name, task = task_id);
        let join: JoinHandle<()> = match plugin {
            ConnectorPlugin::Source(c) => {
                let runner = SourceRunner {
                    connector: name.to_owned(),
                    task_id,
                    task: c.create_task(),
                    chain: reg.transform_chain(&task_props)?,
                    task_config: task_props.clone(),
                    key_converter,
                    value_converter,
                    header_converter,
                    producer: overridden(
                        self.inner.kafka.producer_config(),
                        &c.producer_defaults(),
                        &task_props,
                        "producer.override.",
                    )?
                    .create_with_context(Default::default())?,
                    offsets: self.inner.offsets.clone(),
                    policy: policy.clone(),
                    reporter,
                    admin: self.inner.admin.clone(),
                    kafka: self.inner.kafka.clone(),
                    topic_creation: TopicCreation::from_props(&task_props)?,
                    flush_interval: self.inner.flush_interval,
                    shutdown_timeout: self.inner.shutdown_timeout,
                    shared: shared.clone(),
                    control: control_rx.clone(),
                    record_errors_fail_task: c.record_errors_fail_task(),
                };
                tokio::spawn(tracing::Instrument::instrument(runner.run(), span))
            }
            ConnectorPlugin::Sink(c) => {
                let group = format!("connect-{name}");
                let subscription = sink_subscription(&task_props);
                let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
                let consumer = ConsumerHandle::start(
                    &overridden(
                        self.inner.kafka.consumer_config(&group),
                        &Props::new(),
                        &task_props,
                        "consumer.override.",
                    )?,
                    &refs,
                    self.inner.kafka.max_poll_records(),
                    &format!("{name}-{task_id}"),
                )?;
                let runner = SinkRunner {
                    connector: name.to_owned(),
                    task_id,
                    task: c.create_task(),
                    chain: reg.transform_chain(&task_props)?,
                    task_config: task_props.clone(),
                    key_converter,
                    value_converter,
                    header_converter,
                    consumer,
                    policy: policy.clone(),
                    reporter,
                    flush_interval: self.inner.flush_interval,
                    shared: shared.clone(),
                    control: control_rx.clone(),
                    open: Default::default(),
                    current: Default::default(),
                    committed: Default::default(),
                    requested: Default::default(),
                };
                tokio::spawn(tracing::Instrument::instrument(runner.run(), span))
            }
        };
        Ok(TaskHandle {
            shared,
            join: Mutex::new(Some(join)),
        })
    }

    /// A running connector by name.
    pub fn connector(&self, name: &str) -> Option<ConnectorHandle> {
        self.inner.connectors.lock().ok()?.get(name).cloned()
    }

    /// Names of the running connectors.
    pub fn connector_names(&self) -> Vec<String> {
        self.inner
            .connectors
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes a running connector from the worker, to stop or kill it.
    fn take_connector(&self, name: &str) -> Result<ConnectorHandle, ConnectError> {
        self.inner
            .connectors
            .lock()
            .ok()
            .and_then(|mut m| m.remove(name))
            .ok_or_else(|| ConnectError::other(format!("no connector named '{name}'")))
    }

    /// Stops one connector: its tasks drain in-flight records and commit, then end.
    pub async fn stop_connector(&self, name: &str) -> Result<(), ConnectError> {
        self.take_connector(name)?.stop().await;
        Ok(())
    }

    /// Kills one connector the way a crash would: its tasks are dropped where they are, with no flush,
    /// no offset commit and no `stop` call. What was not committed is read or produced again by the
    /// next run. For recovery tests and for hosts that must drop a wedged connector at once.
    pub async fn abort_connector(&self, name: &str) -> Result<(), ConnectError> {
        let h = self.take_connector(name)?;
        for t in &h.inner.tasks {
            let join = t.join.lock().ok().and_then(|mut j| j.take());
            if let Some(j) = join {
                j.abort();
                let _ = j.await;
            }
        }
        Ok(())
    }

    /// Stops every connector (gracefully, each draining and committing), then the worker.
    pub async fn shutdown(self) {
        let all: Vec<ConnectorHandle> = self
            .inner
            .connectors
            .lock()
            .map(|mut m| std::mem::take(&mut *m).into_values().collect())
            .unwrap_or_default();
        for h in all {
            h.stop().await;
        }
    }
}

struct TaskHandle {
    shared: Arc<TaskShared>,
    join: Mutex<Option<JoinHandle<()>>>,
}

struct ConnectorInner {
    name: String,
    tasks: Vec<TaskHandle>,
    control: watch::Sender<Control>,
}

/// The host's handle on a running connector: status, counters, pause, resume, stop.
#[derive(Clone)]
pub struct ConnectorHandle {
    inner: Arc<ConnectorInner>,
}

impl std::fmt::Debug for ConnectorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorHandle")
            .field("name", &self.inner.name)
            .finish()
    }
}

impl ConnectorHandle {
    /// The connector's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Each task's status.
    pub fn status(&self) -> Vec<TaskStatus> {
        self.inner.tasks.iter().map(|t| t.shared.status()).collect()
    }

    /// The connector's counters, summed over its tasks.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner
            .tasks
            .iter()
            .fold(MetricsSnapshot::default(), |mut acc, t| {
                let m = t.shared.metrics.snapshot();
                acc.records_polled += m.records_polled;
                acc.records_written += m.records_written;
                acc.records_filtered += m.records_filtered;
                acc.records_failed += m.records_failed;
                acc.records_dlq += m.records_dlq;
                acc.retries += m.retries;
                acc.offset_commits += m.offset_commits;
                acc
            })
    }

    /// True if any task failed.
    pub fn is_failed(&self) -> bool {
        self.status().iter().any(|s| s.state == TaskState::Failed)
    }

    /// Pauses every task: sources stop polling, sinks stop consuming; positions are kept.
    pub fn pause(&self) {
        let _ = self.inner.control.send(Control::Pause);
    }

    /// Resumes paused tasks.
    pub fn resume(&self) {
        let _ = self.inner.control.send(Control::Run);
    }

    /// Stops every task gracefully and waits for them.
    pub async fn stop(&self) {
        let _ = self.inner.control.send(Control::Stop);
        for t in &self.inner.tasks {
            let join = t.join.lock().ok().and_then(|mut j| j.take());
            if let Some(j) = join {
                let _ = j.await;
            }
        }
    }

    /// Waits until `done` holds for the summed counters, a task fails, or `timeout` passes. Returns the
    /// last counters; an error says which of the latter two happened.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&MetricsSnapshot) -> bool,
    ) -> Result<MetricsSnapshot, ConnectError> {
        let start = Instant::now();
        loop {
            let m = self.metrics();
            if done(&m) {
                return Ok(m);
            }
            if let Some(s) = self
                .status()
                .into_iter()
                .find(|s| s.state == TaskState::Failed)
            {
                return Err(ConnectError::other(format!(
                    "task {} failed: {}",
                    s.task_id,
                    s.error.unwrap_or_default()
                )));
            }
            if start.elapsed() > timeout {
                return Err(ConnectError::other(format!(
                    "timed out after {timeout:?}; counters: {m:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `topics.regex` as Kafka Connect applies it: the whole topic name must match (Java's
/// `Pattern.matcher(topic).matches()`), not a part of it.
pub(crate) fn topics_regex(re: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{})$", strip_anchors(re)))
}

fn strip_anchors(re: &str) -> &str {
    let re = re.trim();
    let re = re.strip_prefix('^').unwrap_or(re);
    match re.strip_suffix('$') {
        Some(r) if !r.ends_with('\\') => r,
        _ => re,
    }
}

/// What a sink task subscribes to: its `topics`, or its `topics.regex` anchored at both ends for
/// librdkafka (a subscription starting with `^` is a regex there, matched anywhere unless anchored).
fn sink_subscription(task_props: &Props) -> Vec<String> {
    let topics = task_props
        .get("topics")
        .map(crate::config::split_list)
        .unwrap_or_default();
    if !topics.is_empty() {
        return topics;
    }
    let re = task_props.get("topics.regex").unwrap_or("");
    vec![format!("^({})$", strip_anchors(re))]
}

/// Kafka Connect's per-connector client overrides: a connector's own defaults, then the config's
/// `producer.override.*` / `consumer.override.*` keys, over the worker's client config. The keys the
/// delivery guarantee rests on cannot be overridden, and each rejected key is named.
fn overridden(
    mut base: rdkafka::ClientConfig,
    defaults: &Props,
    connector: &Props,
    prefix: &str,
) -> Result<rdkafka::ClientConfig, ConfigError> {
    const FIXED: [&str; 5] = [
        "acks",
        "enable.idempotence",
        "enable.auto.commit",
        "group.id",
        "isolation.level",
    ];
    let mut problems = ConfigError { problems: vec![] };
    for (k, v) in defaults.iter() {
        base.set(k, v);
    }
    for (k, v) in connector.with_prefix(prefix).iter() {
        if FIXED.contains(&k) {
            problems.extend(ConfigError::new(
                format!("{prefix}{k}"),
                "the runtime's delivery guarantee fixes this client setting",
            ));
        } else {
            base.set(k, v);
        }
    }
    if problems.problems.is_empty() {
        Ok(base)
    } else {
        Err(problems)
    }
}
