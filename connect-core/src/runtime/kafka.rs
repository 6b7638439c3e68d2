//! Kafka client settings derived from a worker config, and the embedded broker.
//!
//! With no `bootstrap.servers` the runtime starts librdkafka's in-process mock cluster
//! ([`EmbeddedCluster`]): it speaks the real Kafka protocol on a loopback port, so examples and tests
//! run with no broker installed, and faults (request errors, a broker going down) can be injected.
//! A real broker is one config key away.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use crate::config::Props;
use crate::error::{ConfigError, ConnectError};

/// Closes a consumer that read a topic to its end (an offsets or schema history reader) on a
/// thread of its own. A consumer with a `group.id` (which `assign` needs) waits in its close for its
/// group lookup, about 100 ms when it read little or nothing: a wait every connector start paid.
pub fn close_in_background<C>(consumer: rdkafka::consumer::BaseConsumer<C>)
where
    C: rdkafka::consumer::ConsumerContext + 'static,
{
    let spawned = thread::Builder::new()
        .name("consumer-close".into())
        .spawn(move || drop(consumer));
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "no thread to close a reader consumer on; it closed in place");
    }
}

enum Command {
    CreateTopic(String, i32, i32, mpsc::Sender<Result<(), String>>),
    BrokerDown(i32, mpsc::Sender<Result<(), String>>),
    BrokerUp(i32, mpsc::Sender<Result<(), String>>),
    BrokerRoundTrip(i32, Duration, mpsc::Sender<Result<(), String>>),
    PartitionLeader(String, i32, i32, mpsc::Sender<Result<(), String>>),
    RequestErrors(
        RDKafkaApiKey,
        Vec<RDKafkaRespErr>,
        mpsc::Sender<Result<(), String>>,
    ),
    Stop,
}

/// librdkafka's in-process mock Kafka cluster, owned by a dedicated thread (the mock handle is not
/// `Send`). Dropping it stops the cluster.
pub struct EmbeddedCluster {
    bootstrap: String,
    brokers: i32,
    tx: mpsc::Sender<Command>,
    thread: Option<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for EmbeddedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCluster")
            .field("bootstrap", &self.bootstrap)
            .field("brokers", &self.brokers)
            .finish()
    }
}

impl EmbeddedCluster {
    /// Starts a mock cluster with `brokers` brokers (ids 1..=brokers) on loopback ports.
    pub fn start(brokers: i32) -> Result<Self, ConnectError> {
        let (tx, rx) = mpsc::channel::<Command>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let thread = thread::Builder::new()
            .name("connect-embedded-kafka".into())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                while let Ok(cmd) = rx.recv() {
                    match cmd {
                        Command::CreateTopic(t, p, r, reply) => {
                            // An existing topic is kept as it is: creating is idempotent.
                            let res = match cluster.create_topic(&t, p, r) {
                                Err(rdkafka::error::KafkaError::MockCluster(
                                    rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
                                )) => Ok(()),
                                other => other.map_err(|e| e.to_string()),
                            };
                            let _ = reply.send(res);
                        }
                        Command::BrokerDown(id, reply) => {
                            let _ = reply.send(cluster.broker_down(id).map_err(|e| e.to_string()));
                        }
                        Command::BrokerUp(id, reply) => {
                            let _ = reply.send(cluster.broker_up(id).map_err(|e| e.to_string()));
                        }
                        Command::BrokerRoundTrip(id, delay, reply) => {
                            let res = cluster.broker_round_trip_time(id, delay);
                            let _ = reply.send(res.map_err(|e| e.to_string()));
                        }
                        Command::PartitionLeader(topic, partition, id, reply) => {
                            let res = cluster.partition_leader(&topic, partition, Some(id));
                            let _ = reply.send(res.map_err(|e| e.to_string()));
                        }
                        Command::RequestErrors(key, errs, reply) => {
                            cluster.request_errors(key, &errs);
                            let _ = reply.send(Ok(()));
                        }
                        Command::Stop => break,
                    }
                }
            })
            .map_err(|e| ConnectError::io("starting the embedded Kafka thread", e))?;
        let bootstrap = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| ConnectError::other("embedded Kafka did not start"))?
            .map_err(|e| ConnectError::other(format!("embedded Kafka failed to start: {e}")))?;
        Ok(EmbeddedCluster {
            bootstrap,
            brokers,
            tx,
            thread: Some(thread),
        })
    }

    /// The cluster's `bootstrap.servers`, for any Kafka client in the process or outside it.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Number of brokers.
    pub fn brokers(&self) -> i32 {
        self.brokers
    }

    fn call(
        &self,
        make: impl FnOnce(mpsc::Sender<Result<(), String>>) -> Command,
    ) -> Result<(), ConnectError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(make(tx))
            .map_err(|_| ConnectError::other("embedded Kafka has stopped"))?;
        rx.recv_timeout(Duration::from_secs(10))
            .map_err(|_| ConnectError::other("embedded Kafka did not answer"))?
            .map_err(ConnectError::other)
    }

    /// Creates a topic (replication is capped at the number of brokers).
    pub fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
    ) -> Result<(), ConnectError> {
        let r = replication.clamp(1, self.brokers);
        self.call(|tx| Command::CreateTopic(topic.to_owned(), partitions.max(1), r, tx))
    }

    /// Takes a broker down: its connections are closed and it accepts none until [`broker_up`](Self::broker_up).
    pub fn broker_down(&self, broker_id: i32) -> Result<(), ConnectError> {
        self.call(|tx| Command::BrokerDown(broker_id, tx))
    }

    /// Brings a broker back.
    pub fn broker_up(&self, broker_id: i32) -> Result<(), ConnectError> {
        self.call(|tx| Command::BrokerUp(broker_id, tx))
    }

    /// Delays every answer of one broker by `delay` (a slow or distant broker).
    pub fn broker_round_trip_time(
        &self,
        broker_id: i32,
        delay: Duration,
    ) -> Result<(), ConnectError> {
        self.call(|tx| Command::BrokerRoundTrip(broker_id, delay, tx))
    }

    /// Moves the leadership of one partition to a broker (clients learn it from their next metadata
    /// request).
    pub fn partition_leader(
        &self,
        topic: &str,
        partition: i32,
        broker_id: i32,
    ) -> Result<(), ConnectError> {
        self.call(|tx| Command::PartitionLeader(topic.to_owned(), partition, broker_id, tx))
    }

    /// Makes the next requests of one API fail with the given errors, one per request, in order.
    pub fn inject_request_errors(
        &self,
        api: RDKafkaApiKey,
        errors: &[RDKafkaRespErr],
    ) -> Result<(), ConnectError> {
        let errs = errors.to_vec();
        self.call(|tx| Command::RequestErrors(api, errs, tx))
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Worker keys that librdkafka takes as they are, besides the `producer.`, `consumer.` and `admin.`
/// prefixed overrides.
const PASS_THROUGH_PREFIXES: &[&str] = &[
    "security.protocol",
    "ssl.",
    "sasl.",
    "client.id",
    "client.rack",
];

/// Java-client SSL keys librdkafka has no equivalent for.
const JAVA_ONLY_KEYS: &[&str] = &[
    "ssl.truststore.password",
    "ssl.truststore.type",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "sasl.login.class",
    "sasl.jaas.config",
];

/// Client settings the runtime's delivery guarantee rests on: a worker config cannot change them.
const FIXED_CLIENT_KEYS: &[&str] = &[
    "producer.acks",
    "producer.enable.idempotence",
    "consumer.enable.auto.commit",
    "consumer.enable.auto.offset.store",
    "consumer.group.id",
    "consumer.isolation.level",
];

/// Collects config problems, reporting them all at once.
#[derive(Default)]
struct Problems(Option<ConfigError>);

impl Problems {
    fn add(&mut self, key: &str, reason: impl Into<String>) {
        let e = ConfigError::new(key, reason);
        match &mut self.0 {
            Some(all) => all.extend(e),
            None => self.0 = Some(e),
        }
    }
}

/// The `key="value"` options of a JAAS line, after its login module and control flag.
fn jaas_options(line: &str) -> (String, Vec<(String, String)>) {
    let line = line.trim().trim_end_matches(';').trim();
    let module = line.split_whitespace().next().unwrap_or("").to_owned();
    let mut rest = line[module.len()..].trim_start();
    // The control flag (required, requisite, sufficient, optional).
    if let Some((flag, tail)) = rest.split_once(char::is_whitespace) {
        if !flag.contains('=') {
            rest = tail;
        }
    } else if !rest.contains('=') {
        rest = "";
    }
    let mut out = Vec::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = rest[start..i].to_owned();
        if i >= bytes.len() || bytes[i] != b'=' {
            break;
        }
        i += 1;
        let value = if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            let mut v = String::new();
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let ch = rest[i..].chars().next().unwrap_or(' ');
                v.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
            v
        } else {
            let vs = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            rest[vs..i].to_owned()
        };
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    (module, out)
}

/// `sasl.jaas.config` as librdkafka settings: PLAIN and SCRAM credentials, OAUTHBEARER through OIDC
/// client credentials or an unsecured token; anything else is refused, naming the key.
fn translate_jaas(
    line: &str,
    mechanism: Option<&str>,
    common: &mut Vec<(String, String)>,
    problems: &mut Problems,
) {
    const KEY: &str = "sasl.jaas.config";
    let (module, opts) = jaas_options(line);
    let opt = |k: &str| opts.iter().find(|(ok, _)| ok == k).map(|(_, v)| v.clone());
    let simple = module.rsplit('.').next().unwrap_or("");
    let mech = mechanism.map(str::to_ascii_uppercase);
    match simple {
        "PlainLoginModule" | "ScramLoginModule" => {
            let expected: &[&str] = if simple == "PlainLoginModule" {
                &["PLAIN"]
            } else {
                &["SCRAM-SHA-256", "SCRAM-SHA-512"]
            };
            match mech.as_deref() {
                Some(m) if expected.contains(&m) => {}
                None if simple == "PlainLoginModule" => {
                    common.push(("sasl.mechanism".into(), "PLAIN".into()))
                }
                other => problems.add(
                    "sasl.mechanism",
                    format!(
                        "{simple} needs sasl.mechanism {} (got {})",
                        expected.join(" or "),
                        other.unwrap_or("none")
                    ),
                ),
            }
            match (opt("username"), opt("password")) {
                (Some(u), Some(p)) => {
                    common.push(("sasl.username".into(), u));
                    common.push(("sasl.password".into(), p));
                }
                _ => problems.add(KEY, format!("{simple} needs username=\"…\" and password=\"…\"")),
            }
        }
        "OAuthBearerLoginModule" => {
            if mech.as_deref().is_some_and(|m| m != "OAUTHBEARER") {
                problems.add("sasl.mechanism", "OAuthBearerLoginModule needs sasl.mechanism=OAUTHBEARER");
            }
            if let Some(sub) = opt("unsecuredLoginStringClaim_sub") {
                common.push(("enable.sasl.oauthbearer.unsecure.jwt".into(), "true".into()));
                common.push(("sasl.oauthbearer.config".into(), format!("principal={sub}")));
            } else if let (Some(id), Some(secret)) = (opt("clientId"), opt("clientSecret")) {
                common.push(("sasl.oauthbearer.method".into(), "oidc".into()));
                common.push(("sasl.oauthbearer.client.id".into(), id));
                common.push(("sasl.oauthbearer.client.secret".into(), secret));
                if let Some(scope) = opt("scope") {
                    common.push(("sasl.oauthbearer.scope".into(), scope));
                }
            } else {
                problems.add(KEY, "OAuthBearerLoginModule: librdkafka takes clientId/clientSecret (OIDC, with sasl.oauthbearer.token.endpoint.url) or unsecuredLoginStringClaim_sub; a login callback handler class cannot run here");
            }
        }
        "" => problems.add(KEY, "empty JAAS configuration"),
        other => problems.add(
            KEY,
            format!("login module {other} has no librdkafka equivalent here; for Kerberos set sasl.mechanism=GSSAPI with sasl.kerberos.service.name, sasl.kerberos.keytab and sasl.kerberos.principal"),
        ),
    }
}

/// The Kafka connection of a worker: where the brokers are and the client settings every client shares.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    bootstrap: String,
    embedded: bool,
    common: Vec<(String, String)>,
    producer: Vec<(String, String)>,
    consumer: Vec<(String, String)>,
    admin: Vec<(String, String)>,
}

/// A librdkafka client config for `bootstrap` with the settings every client of this SDK shares:
/// the Java clients' reconnect backoff (50 ms growing to 1 s). librdkafka's own cap is 10 s, so
/// after a broker restart records could wait up to 10 s more before a client tried again; Kafka
/// Connect resumes within about a second. Later `set`s override it.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "1000");
    c
}

impl KafkaSettings {
    /// Settings for a broker at `bootstrap`, taking security and client overrides from the worker
    /// config. `bootstrap` is the embedded cluster's when the worker config has none.
    pub fn from_worker(
        worker: &Props,
        bootstrap: &str,
        embedded: bool,
    ) -> Result<Self, ConfigError> {
        let mut common = Vec::new();
        let mut problems = Problems::default();
        for (k, v) in worker.iter() {
            if !PASS_THROUGH_PREFIXES.iter().any(|p| k.starts_with(p))
                || JAVA_ONLY_KEYS.contains(&k)
            {
                continue;
            }
            if k == "ssl.truststore.location" {
                // Java truststores are JKS or PKCS#12; librdkafka reads CA certificates in PEM.
                let lower = v.to_ascii_lowercase();
                if lower.ends_with(".pem") || lower.ends_with(".crt") || lower.ends_with(".cer") {
                    common.push(("ssl.ca.location".to_owned(), v.to_owned()));
                } else {
                    problems.add(
                        k,
                        "Java truststores (JKS, PKCS#12) are not readable by librdkafka: give the CA certificate in PEM as ssl.ca.location (or a .pem truststore path); keytool -exportcert -rfc writes it",
                    );
                }
                continue;
            }
            common.push((k.to_owned(), v.to_owned()));
        }
        // The client keystore: PKCS#12 as it is, a PEM keystore as certificate + key, JKS refused
        // (no maintained Rust reader: convert it, the error says how).
        if let Some(location) = worker
            .get("ssl.keystore.location")
            .filter(|l| !l.trim().is_empty())
        {
            let lower = location.to_ascii_lowercase();
            let ty = worker
                .get("ssl.keystore.type")
                .map(|t| t.trim().to_ascii_uppercase());
            let pkcs12 = ty.as_deref() == Some("PKCS12")
                || lower.ends_with(".p12")
                || lower.ends_with(".pfx");
            if ty.as_deref() == Some("PEM") || lower.ends_with(".pem") {
                common.push(("ssl.certificate.location".into(), location.to_owned()));
                common.push(("ssl.key.location".into(), location.to_owned()));
            } else if pkcs12 {
                common.push(("ssl.keystore.location".into(), location.to_owned()));
            } else {
                problems.add(
                    "ssl.keystore.location",
                    "a Java KeyStore (JKS) is not readable here: convert it to PKCS#12 (keytool -importkeystore -srcstoretype JKS -deststoretype PKCS12 -destkeystore connect.keystore.p12) and set ssl.keystore.type=PKCS12, or give PEM files as ssl.certificate.location and ssl.key.location",
                );
            }
        }
        if let Some(jaas) = worker
            .get("sasl.jaas.config")
            .filter(|j| !j.trim().is_empty())
        {
            translate_jaas(
                jaas,
                worker.get("sasl.mechanism"),
                &mut common,
                &mut problems,
            );
        }
        for key in FIXED_CLIENT_KEYS {
            if worker.contains(key) {
                problems.add(
                    key,
                    "the runtime's delivery guarantee fixes this client setting (acks=all, idempotence, manual commits)",
                );
            }
        }
        if let Some(p) = problems.0 {
            return Err(p);
        }
        let prefixed = |prefix: &str| -> Vec<(String, String)> {
            worker
                .with_prefix(prefix)
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        };
        Ok(KafkaSettings {
            bootstrap: bootstrap.to_owned(),
            embedded,
            common,
            producer: prefixed("producer."),
            consumer: prefixed("consumer."),
            admin: prefixed("admin."),
        })
    }

    /// The brokers.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// True when talking to the in-process mock cluster.
    pub fn is_embedded(&self) -> bool {
        self.embedded
    }

    fn base(&self) -> ClientConfig {
        let mut c = client_config(&self.bootstrap);
        for (k, v) in &self.common {
            c.set(k, v);
        }
        c
    }

    /// Config for the runtime's producers: idempotent, `acks=all`, so an acknowledged record is durable
    /// and retries never duplicate it; keys partitioned by murmur2 as the Java producer does.
    /// `producer.*` worker keys override.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = self.base();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "300000")
            // The Java producer's partitioner (murmur2 of the key bytes): a key goes to the
            // partition Java Kafka Connect put it in, so per-key order survives moving a connector
            // over. librdkafka's own default (CRC32) would scatter existing keys.
            .set("partitioner", "murmur2_random");
        for (k, v) in &self.producer {
            c.set(k, v);
        }
        c
    }

    /// Config for a sink's consumer in `group`: no auto-commit (the runtime commits what the task made
    /// durable), reading from the earliest offset of a new group. `consumer.*` worker keys override.
    pub fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut c = self.base();
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false");
        if self.embedded {
            // The mock cluster's coordinator waits up to the session timeout before it hands the
            // partitions of a member that left to a new one; keep restarts quick in process.
            c.set("session.timeout.ms", "6000")
                .set("heartbeat.interval.ms", "1000");
        }
        for (k, v) in &self.consumer {
            if k != "max.poll.records" {
                c.set(k, v);
            }
        }
        c
    }

    /// `consumer.max.poll.records` (default 500): the largest batch given to a sink's `put`.
    pub fn max_poll_records(&self) -> usize {
        self.consumer
            .iter()
            .find(|(k, _)| k == "max.poll.records")
            .and_then(|(_, v)| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(500)
    }

    /// Config for admin clients and for reading internal topics. `admin.*` worker keys override.
    pub fn admin_config(&self) -> ClientConfig {
        let mut c = self.base();
        for (k, v) in &self.admin {
            c.set(k, v);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_security_settings_pass_through() {
        let worker = Props::parse_properties(
            "bootstrap.servers=b:9092\nsecurity.protocol=SSL\nssl.keystore.location=/k.p12\n\
             ssl.keystore.password=pw\nssl.key.password=kp\nssl.truststore.location=/ca.pem\n\
             ssl.truststore.password=tp\nproducer.linger.ms=20\nconsumer.fetch.min.bytes=10\n\
             group.id=connect-cluster\n",
        );
        let k = KafkaSettings::from_worker(&worker, "b:9092", false).unwrap();
        let p = k.producer_config();
        assert_eq!(p.get("security.protocol"), Some("SSL"));
        assert_eq!(p.get("ssl.keystore.location"), Some("/k.p12"));
        assert_eq!(p.get("ssl.key.password"), Some("kp"));
        assert_eq!(p.get("ssl.ca.location"), Some("/ca.pem"));
        assert_eq!(p.get("ssl.truststore.password"), None);
        assert_eq!(p.get("linger.ms"), Some("20"));
        assert_eq!(p.get("acks"), Some("all"));
        assert_eq!(p.get("partitioner"), Some("murmur2_random"));
        assert_eq!(p.get("reconnect.backoff.max.ms"), Some("1000"));
        assert_eq!(p.get("group.id"), None);
        let c = k.consumer_config("connect-x");
        assert_eq!(c.get("fetch.min.bytes"), Some("10"));
        assert_eq!(c.get("linger.ms"), None);
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
    }

    fn settings(lines: &str) -> Result<KafkaSettings, ConfigError> {
        KafkaSettings::from_worker(&Props::parse_properties(lines), "b:9092", false)
    }

    #[test]
    fn jaas_plain_and_scram_become_librdkafka_credentials() {
        let k = settings(
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"connect\" password=\"s3cr\\\\\\\"et\";\n",
        )
        .unwrap();
        let p = k.producer_config();
        assert_eq!(p.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(p.get("sasl.username"), Some("connect"));
        assert_eq!(p.get("sasl.password"), Some("s3cr\"et"));
        assert_eq!(p.get("sasl.jaas.config"), None);
        let k = settings(
            "security.protocol=SASL_PLAINTEXT\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";\n",
        )
        .unwrap();
        let c = k.consumer_config("g");
        assert_eq!(c.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(c.get("sasl.username"), Some("u"));
        // librdkafka accepts every key it was given.
        let _: rdkafka::producer::FutureProducer = k.producer_config().create().unwrap();
    }

    #[test]
    fn jaas_oauthbearer_maps_to_oidc_and_kerberos_is_refused_by_name() {
        let k = settings(
            "sasl.mechanism=OAUTHBEARER\nsasl.oauthbearer.token.endpoint.url=https://idp.example/token\n\
             sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"connect\" clientSecret=\"x\" scope=\"kafka\";\n",
        )
        .unwrap();
        let p = k.producer_config();
        assert_eq!(p.get("sasl.oauthbearer.method"), Some("oidc"));
        assert_eq!(p.get("sasl.oauthbearer.client.id"), Some("connect"));
        assert_eq!(p.get("sasl.oauthbearer.scope"), Some("kafka"));
        assert_eq!(
            p.get("sasl.oauthbearer.token.endpoint.url"),
            Some("https://idp.example/token")
        );
        let e = settings(
            "sasl.mechanism=GSSAPI\nsasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;\n",
        )
        .unwrap_err();
        assert_eq!(e.problems[0].key, "sasl.jaas.config");
        assert!(e.problems[0].reason.contains("sasl.kerberos.keytab"));
        let e = settings(
            "sasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\";\n",
        )
        .unwrap_err();
        assert!(
            !e.to_string().contains("\"u\""),
            "no credentials in the error: {e}"
        );
    }

    #[test]
    fn keystores_pkcs12_passes_pem_maps_jks_is_refused_naming_the_pem_keys() {
        let k = settings("ssl.keystore.location=/etc/c.p12\nssl.keystore.password=pw\n").unwrap();
        assert_eq!(
            k.producer_config().get("ssl.keystore.location"),
            Some("/etc/c.p12")
        );
        assert_eq!(k.producer_config().get("ssl.keystore.password"), Some("pw"));
        let k = settings("ssl.keystore.type=PEM\nssl.keystore.location=/etc/c.pem\n").unwrap();
        assert_eq!(
            k.producer_config().get("ssl.certificate.location"),
            Some("/etc/c.pem")
        );
        assert_eq!(
            k.producer_config().get("ssl.key.location"),
            Some("/etc/c.pem")
        );
        // The seed's worker properties: a JKS keystore.
        let e = settings(
            "ssl.keystore.location=/etc/kafka-connect/ssl/connect.keystore.jks\nssl.keystore.password=pw\n",
        )
        .unwrap_err();
        assert_eq!(e.problems[0].key, "ssl.keystore.location");
        assert!(e.problems[0].reason.contains("ssl.certificate.location"));
        assert!(e.problems[0].reason.contains("PKCS12"));
    }

    #[test]
    fn worker_overrides_cannot_weaken_the_guarantee() {
        let e = settings("producer.acks=1\nproducer.enable.idempotence=false\nconsumer.enable.auto.commit=true\n")
            .unwrap_err();
        let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "producer.acks",
                "producer.enable.idempotence",
                "consumer.enable.auto.commit"
            ]
        );
    }

    #[test]
    fn jks_truststore_is_a_clear_error() {
        let worker = Props::new().with(
            "ssl.truststore.location",
            "/etc/kafka-connect/ssl/connect.truststore.jks",
        );
        let e = KafkaSettings::from_worker(&worker, "b:9092", false).unwrap_err();
        assert_eq!(e.problems[0].key, "ssl.truststore.location");
        assert!(e.problems[0].reason.contains("PEM"));
    }
}
