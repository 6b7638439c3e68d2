//! Creating the topics the runtime needs: the offsets topic, dead letter queues, and a source's target
//! topics per Kafka Connect's `topic.creation.*` keys (KIP-158). Real clusters often disable
//! auto-creation, so topics are created through the admin API when absent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use regex::Regex;

use crate::config::{split_list, Props};
use crate::error::{ConfigError, ConnectError};
use crate::runtime::kafka::{EmbeddedCluster, KafkaSettings};

/// A topic to create.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSpec {
    /// Name.
    pub name: String,
    /// Partitions (-1 = broker default).
    pub partitions: i32,
    /// Replication factor (-1 = broker default).
    pub replication_factor: i32,
    /// Topic configs, e.g. `cleanup.policy=compact`.
    pub configs: Vec<(String, String)>,
}

/// Creates topics on the worker's cluster, remembering which exist.
#[derive(Clone)]
pub struct TopicAdmin {
    inner: Arc<AdminInner>,
}

struct AdminInner {
    admin: Option<AdminClient<DefaultClientContext>>,
    embedded: Option<Arc<EmbeddedCluster>>,
    known: Mutex<HashSet<String>>,
}

impl TopicAdmin {
    /// An admin for the worker's cluster.
    pub fn new(
        kafka: &KafkaSettings,
        embedded: Option<Arc<EmbeddedCluster>>,
    ) -> Result<Self, ConnectError> {
        let admin = if embedded.is_some() {
            None
        } else {
            Some(kafka.admin_config().create()?)
        };
        Ok(TopicAdmin {
            inner: Arc::new(AdminInner {
                admin,
                embedded,
                known: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// True if this admin already created or saw the topic.
    pub fn is_known(&self, topic: &str) -> bool {
        self.inner
            .known
            .lock()
            .map(|k| k.contains(topic))
            .unwrap_or(false)
    }

    /// True if the cluster has the topic (asked through a metadata request, which needs no create
    /// permission and works on brokers without the CreateTopics API).
    async fn exists(&self, topic: &str) -> Result<bool, ConnectError> {
        let inner = self.inner.clone();
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let Some(admin) = &inner.admin else {
                return Ok(false);
            };
            let md = admin
                .inner()
                .fetch_metadata(Some(&topic), Duration::from_secs(10))?;
            Ok(md
                .topics()
                .iter()
                .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty()))
        })
        .await
        .map_err(|e| ConnectError::other(e.to_string()))?
    }

    /// Creates the topic if it does not exist. An existing topic is fine.
    pub async fn ensure(&self, spec: &TopicSpec) -> Result<(), ConnectError> {
        if self.is_known(&spec.name) {
            return Ok(());
        }
        if let Some(mock) = &self.inner.embedded {
            let parts = if spec.partitions > 0 {
                spec.partitions
            } else {
                1
            };
            // EmbeddedCluster::create_topic keeps an existing topic as it is.
            mock.create_topic(&spec.name, parts, spec.replication_factor.max(1))?;
        } else if let Some(admin) = &self.inner.admin {
            if self.exists(&spec.name).await? {
                if let Ok(mut k) = self.inner.known.lock() {
                    k.insert(spec.name.clone());
                }
                return Ok(());
            }
            let replication = TopicReplication::Fixed(spec.replication_factor);
            let mut nt = NewTopic::new(&spec.name, spec.partitions, replication);
            for (k, v) in &spec.configs {
                nt = nt.set(k, v);
            }
            let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
            let results = admin.create_topics([&nt], &opts).await?;
            for r in results {
                match r {
                    Ok(_) => tracing::info!(topic = %spec.name, "created topic"),
                    Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((t, code)) => {
                        return Err(ConnectError::other(format!(
                            "creating topic '{t}' failed: {code}"
                        )))
                    }
                }
            }
        }
        if let Ok(mut k) = self.inner.known.lock() {
            k.insert(spec.name.clone());
        }
        Ok(())
    }
}

/// One `topic.creation` group: which topics it matches and how to create them.
#[derive(Debug, Clone)]
struct CreationGroup {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    partitions: i32,
    replication_factor: i32,
    configs: Vec<(String, String)>,
}

/// A source connector's `topic.creation.*` rules. Creation is on when `topic.creation.default.partitions`
/// and `topic.creation.default.replication.factor` are set, as in Kafka Connect.
#[derive(Debug, Clone, Default)]
pub struct TopicCreation {
    groups: Vec<CreationGroup>,
    default: Option<CreationGroup>,
}

impl TopicCreation {
    /// Reads the rules from a connector config.
    pub fn from_props(props: &Props) -> Result<Self, ConfigError> {
        let mut err: Option<ConfigError> = None;
        let mut add = |e: ConfigError| match &mut err {
            Some(all) => all.extend(e),
            None => err = Some(e),
        };
        let mut read_group = |name: &str, required: bool| -> Option<CreationGroup> {
            let prefix = format!("topic.creation.{name}.");
            let p = props.with_prefix(&prefix);
            let int = |key: &str, add: &mut dyn FnMut(ConfigError)| -> Option<i32> {
                match p.get(key) {
                    None => {
                        if required {
                            None
                        } else {
                            Some(-1)
                        }
                    }
                    Some(v) => match v.trim().parse::<i32>() {
                        Ok(n) if n == -1 || n >= 1 => Some(n),
                        _ => {
                            add(ConfigError::new(
                                format!("{prefix}{key}"),
                                format!("must be -1 or a positive integer, got '{v}'"),
                            ));
                            None
                        }
                    },
                }
            };
            let partitions = int("partitions", &mut add);
            let replication_factor = int("replication.factor", &mut add);
            if required {
                for (key, v) in [
                    ("partitions", partitions),
                    ("replication.factor", replication_factor),
                ] {
                    if v.is_none() && !p.contains(key) {
                        add(ConfigError::new(
                            format!("{prefix}{key}"),
                            "required when any topic.creation.* key is set (Kafka Connect's topic creation needs both topic.creation.default.partitions and topic.creation.default.replication.factor)",
                        ));
                    }
                }
            }
            let (partitions, replication_factor) = (partitions?, replication_factor?);
            let mut regexes = |key: &str| -> Vec<Regex> {
                split_list(p.get(key).unwrap_or(""))
                    .into_iter()
                    .filter_map(|r| match Regex::new(&format!("^(?:{r})$")) {
                        Ok(re) => Some(re),
                        Err(e) => {
                            add(ConfigError::new(
                                format!("{prefix}{key}"),
                                format!("invalid regex '{r}': {e}"),
                            ));
                            None
                        }
                    })
                    .collect()
            };
            let include = regexes("include");
            let exclude = regexes("exclude");
            let configs = p
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        *k,
                        "partitions" | "replication.factor" | "include" | "exclude"
                    )
                })
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            Some(CreationGroup {
                include,
                exclude,
                partitions,
                replication_factor,
                configs,
            })
        };
        // As Kafka Connect: any topic.creation.* key turns topic creation on, and then both default
        // keys are required.
        let used = props.iter().any(|(k, _)| k.starts_with("topic.creation."));
        let default = if used {
            read_group("default", true)
        } else {
            None
        };
        let mut groups = Vec::new();
        let mut seen = HashSet::new();
        for g in split_list(props.get("topic.creation.groups").unwrap_or("")) {
            if g == "default" {
                tracing::warn!("'default' topic creation group always exists and need not be listed in topic.creation.groups");
                continue;
            }
            if !seen.insert(g.clone()) {
                continue;
            }
            if let Some(group) = read_group(&g, false) {
                groups.push(group);
            }
        }
        if let Some(e) = err {
            return Err(e);
        }
        Ok(TopicCreation { groups, default })
    }

    /// True when topics are to be created.
    pub fn enabled(&self) -> bool {
        self.default.is_some()
    }

    /// How to create `topic`, or None when creation is off.
    pub fn spec_for(&self, topic: &str) -> Option<TopicSpec> {
        let default = self.default.as_ref()?;
        let group = self
            .groups
            .iter()
            .find(|g| {
                g.include.iter().any(|r| r.is_match(topic))
                    && !g.exclude.iter().any(|r| r.is_match(topic))
            })
            .unwrap_or(default);
        let pick = |v: i32, d: i32| if v == -1 { d } else { v };
        Some(TopicSpec {
            name: topic.to_owned(),
            partitions: pick(group.partitions, default.partitions),
            replication_factor: pick(group.replication_factor, default.replication_factor),
            // A group's topic configs are its own (Kafka Connect does not inherit the default's);
            // its partitions and replication factor fall back to the default group's.
            configs: group.configs.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_match_by_include_and_exclude() {
        let p = Props::new()
            .with("topic.creation.default.partitions", "3")
            .with("topic.creation.default.replication.factor", "1")
            .with("topic.creation.groups", "clinical")
            .with("topic.creation.clinical.include", "clinical\\..*")
            .with("topic.creation.clinical.exclude", "clinical\\.tmp")
            .with("topic.creation.clinical.partitions", "12")
            .with("topic.creation.clinical.cleanup.policy", "compact");
        let tc = TopicCreation::from_props(&p).unwrap();
        let s = tc.spec_for("clinical.patient.admitted").unwrap();
        assert_eq!((s.partitions, s.replication_factor), (12, 1));
        assert_eq!(
            s.configs,
            vec![("cleanup.policy".to_string(), "compact".to_string())]
        );
        assert_eq!(tc.spec_for("clinical.tmp").unwrap().partitions, 3);
        // The default group's include/exclude are ignored; its configs apply to its own topics only.
        assert!(tc.spec_for("other").unwrap().configs.is_empty());
        assert_eq!(tc.spec_for("other").unwrap().partitions, 3);
        assert!(!TopicCreation::from_props(&Props::new()).unwrap().enabled());
        let bad = Props::new()
            .with("topic.creation.default.partitions", "0")
            .with("topic.creation.default.replication.factor", "1");
        assert_eq!(
            TopicCreation::from_props(&bad).unwrap_err().problems[0].key,
            "topic.creation.default.partitions"
        );
    }

    #[test]
    fn one_default_key_alone_is_an_error_naming_the_other() {
        for (set, missing) in [
            (
                "topic.creation.default.partitions",
                "topic.creation.default.replication.factor",
            ),
            (
                "topic.creation.default.replication.factor",
                "topic.creation.default.partitions",
            ),
        ] {
            let e = TopicCreation::from_props(&Props::new().with(set, "3")).unwrap_err();
            assert_eq!(e.problems.len(), 1, "{e:?}");
            assert_eq!(e.problems[0].key, missing);
        }
        // A group alone turns creation on too, so both defaults are required.
        let e = TopicCreation::from_props(
            &Props::new()
                .with("topic.creation.groups", "clinical")
                .with("topic.creation.clinical.include", "clinical\\..*"),
        )
        .unwrap_err();
        let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "topic.creation.default.partitions",
                "topic.creation.default.replication.factor"
            ]
        );
    }

    #[test]
    fn groups_inherit_partitions_and_replication_but_not_configs() {
        let p = Props::new()
            .with("topic.creation.default.partitions", "3")
            .with("topic.creation.default.replication.factor", "2")
            .with("topic.creation.default.retention.ms", "86400000")
            .with("topic.creation.groups", "default,audit")
            .with("topic.creation.audit.include", "audit\\..*")
            .with("topic.creation.audit.cleanup.policy", "compact");
        let tc = TopicCreation::from_props(&p).unwrap();
        let audit = tc.spec_for("audit.access").unwrap();
        assert_eq!((audit.partitions, audit.replication_factor), (3, 2));
        assert_eq!(
            audit.configs,
            vec![("cleanup.policy".to_string(), "compact".to_string())]
        );
        let other = tc.spec_for("clinical.x").unwrap();
        assert_eq!(
            other.configs,
            vec![("retention.ms".to_string(), "86400000".to_string())]
        );
    }
}
