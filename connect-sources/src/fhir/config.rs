//! The source's keys: the seed's (`fhir.url`, `fhir.auth.*`, `fhir.resource.types`,
//! `fhir.subscription.criteria`, `fhir.poll.interval.ms`, `kafka.topic`) and the ones a careful
//! incremental read needs (page size, deletes, a safety overlap).

use std::collections::BTreeMap;
use std::time::Duration;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::fhir::ServerSettings;
use connect_core::source::{SourceConnector, SourceTask};

use super::criteria::{is_type_name, Criteria, RESOURCE_TYPE};
use super::task::FhirSourceTask;

/// How a resource becomes a record value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueForm {
    /// A schemaless map (for the JsonConverter and SMTs that work on fields).
    Map,
    /// The resource's JSON bytes as the server sent them (for the ByteArrayConverter).
    Bytes,
    /// The resource's JSON as a string (for the StringConverter).
    Text,
}

/// How a search continues after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagingMode {
    /// The server's `next` link, unless it pages by a plain offset (`_offset`, `skip`, `page`).
    Auto,
    /// Always the server's `next` link (its pages must not shift while it is read).
    Links,
    /// Always a new search from the watermark (safe with any server; one query per page).
    Keyset,
}

/// The source's settings.
#[derive(Debug, Clone)]
pub struct FhirSourceConfig {
    /// Server, credentials, TLS, retries.
    pub server: ServerSettings,
    /// `fhir.resource.types`, each with the search parameters the criteria gives it.
    pub types: Vec<(String, Vec<String>)>,
    /// `fhir.poll.interval.ms`: the pause between the end of one read and the next.
    pub poll_interval: Duration,
    /// `kafka.topic`, with `${resourceType}` replaced.
    pub topic: String,
    /// `fhir.page.size` (or the criteria's `_count`).
    pub page_size: u32,
    /// `fhir.include.deletes`.
    pub include_deletes: bool,
    /// `fhir.watermark.overlap.ms`.
    pub overlap: Duration,
    /// From `value.converter`.
    pub value_form: ValueForm,
    /// `fhir.paging.mode`.
    pub paging: PagingMode,
}

impl FhirSourceConfig {
    /// The keys.
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ServerSettings::define(ConfigDef::new())
            .define("fhir.resource.types", List, Some("Patient"), High, "Resource types to read; each has its own watermark.")
            .with_validator("fhir.resource.types", Validator::non_empty())
            .define("fhir.subscription.criteria", String, Some("${resourceType}?_lastUpdated=gt${timestamp}"), High, "The search each poll runs; _lastUpdated, _sort and _count are the connector's (see the README).")
            .define("fhir.poll.interval.ms", Long, Some("60000"), High, "Pause between the end of one read of the server and the next.")
            .with_validator("fhir.poll.interval.ms", Validator::range(10, 86_400_000))
            .define("kafka.topic", String, None, High, "The topic; ${resourceType} is replaced by the resource's type.")
            .with_validator("kafka.topic", Validator::non_empty())
            .define("fhir.page.size", Int, Some("100"), Medium, "Resources per page (_count).")
            .with_validator("fhir.page.size", Validator::range(1, 10_000))
            .define("fhir.include.deletes", Boolean, Some("false"), Medium, "Read each type's _history for deletes and emit tombstones.")
            .define("fhir.watermark.overlap.ms", Long, Some("0"), Medium, "Read again this far before the watermark (for servers that commit slightly out of order); re-read versions are dropped.")
            .with_validator("fhir.watermark.overlap.ms", Validator::range(0, 86_400_000))
            .define("fhir.paging.mode", String, Some("auto"), Low, "auto (the next link unless it pages by offset), links, or keyset (a new search from the watermark after each page).")
            .with_validator("fhir.paging.mode", Validator::one_of(&["auto", "links", "keyset"]))
    }

    /// Parses and checks the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        let mut problems = ConfigError { problems: vec![] };
        let server = match ServerSettings::parse(&c) {
            Ok(s) => Some(s),
            Err(e) => {
                problems.extend(e);
                None
            }
        };
        let criteria =
            match Criteria::parse(c.string("fhir.subscription.criteria").unwrap_or_default()) {
                Ok(cr) => Some(cr),
                Err(e) => {
                    problems.extend(ConfigError::new("fhir.subscription.criteria", e));
                    None
                }
            };
        let names = c.list("fhir.resource.types");
        let mut types = Vec::new();
        let mut seen = BTreeMap::new();
        for t in names {
            if !is_type_name(t) {
                problems.extend(ConfigError::new(
                    "fhir.resource.types",
                    format!(
                        "'{}' is not a FHIR resource type name",
                        t.chars().take(40).collect::<std::string::String>()
                    ),
                ));
            } else if seen.insert(t.clone(), ()).is_some() {
                problems.extend(ConfigError::new(
                    "fhir.resource.types",
                    format!("lists {t} twice"),
                ));
            }
        }
        if let Some(cr) = &criteria {
            if let Some(ct) = &cr.resource_type {
                if !names.contains(ct) {
                    problems.extend(ConfigError::new(
                        "fhir.subscription.criteria",
                        format!("searches {ct}, which fhir.resource.types does not list"),
                    ));
                }
            }
            for t in names {
                // A criteria naming one type applies to it alone; ${resourceType} applies to all.
                let params = match &cr.resource_type {
                    Some(ct) if ct != t => vec![],
                    _ => cr.params.clone(),
                };
                types.push((t.clone(), params));
            }
        }
        let topic = c.string("kafka.topic").unwrap_or_default().to_owned();
        if topic.contains("${") && topic.replace(RESOURCE_TYPE, "").contains("${") {
            problems.extend(ConfigError::new(
                "kafka.topic",
                "only ${resourceType} may be replaced",
            ));
        }
        // The value converter decides between a map and the resource's JSON as it came.
        let value_form = match props.get("value.converter").unwrap_or_default() {
            v if v.ends_with("ByteArrayConverter") => ValueForm::Bytes,
            v if v.ends_with("StringConverter") => ValueForm::Text,
            _ => ValueForm::Map,
        };
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        let page_size = criteria
            .and_then(|c| c.count)
            .unwrap_or(c.int("fhir.page.size").max(1) as u32);
        Ok(FhirSourceConfig {
            server: server.expect("no problems means the server settings parsed"),
            types,
            poll_interval: c.millis("fhir.poll.interval.ms"),
            topic,
            page_size,
            include_deletes: c.boolean("fhir.include.deletes"),
            overlap: c.millis("fhir.watermark.overlap.ms"),
            value_form,
            paging: match c.string("fhir.paging.mode").unwrap_or("auto") {
                "links" => PagingMode::Links,
                "keyset" => PagingMode::Keyset,
                _ => PagingMode::Auto,
            },
        })
    }

    /// The topic of a resource type.
    pub fn topic_for(&self, resource_type: &str) -> String {
        self.topic.replace(RESOURCE_TYPE, resource_type)
    }
}

/// The FHIR source connector (`io.confluent.connect.fhir.FhirSourceConnector`).
#[derive(Debug, Default, Clone)]
pub struct FhirSourceConnector;

impl SourceConnector for FhirSourceConnector {
    fn config_def(&self) -> ConfigDef {
        FhirSourceConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        FhirSourceConfig::parse(props).map(|_| ())
    }
    /// One task per group of resource types: each type's watermark belongs to one task.
    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>, ConfigError> {
        let cfg = FhirSourceConfig::parse(props)?;
        let n = max_tasks.clamp(1, cfg.types.len().max(1));
        let mut groups: Vec<Vec<&str>> = vec![Vec::new(); n];
        for (i, (t, _)) in cfg.types.iter().enumerate() {
            groups[i % n].push(t);
        }
        Ok(groups
            .into_iter()
            .map(|g| props.clone().with("fhir.resource.types", g.join(",")))
            .collect())
    }
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(FhirSourceTask::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's `fhir-patient-source`, as it is.
    pub(crate) fn seed() -> Props {
        let v: serde_json::Value = serde_json::from_str(
            r#"{
    "connector.class": "io.confluent.connect.fhir.FhirSourceConnector",
    "fhir.url": "https://fhir.healthcare.internal/fhir",
    "fhir.auth.type": "bearer",
    "fhir.auth.token": "resolved-token",
    "fhir.resource.types": "Patient",
    "fhir.subscription.criteria": "Patient?_lastUpdated=gt${timestamp}",
    "fhir.poll.interval.ms": "60000",
    "kafka.topic": "clinical.patient.fhir"
  }"#,
        )
        .unwrap();
        let mut p = Props::new();
        for (k, v) in v.as_object().unwrap() {
            p.set(k, v.as_str().unwrap());
        }
        p
    }

    #[test]
    fn the_seed_config_parses() {
        let c = FhirSourceConfig::parse(&seed()).unwrap();
        assert_eq!(c.types, [("Patient".to_owned(), vec![])]);
        assert_eq!(c.poll_interval, Duration::from_secs(60));
        assert_eq!(c.topic_for("Patient"), "clinical.patient.fhir");
        assert_eq!(
            (c.page_size, c.include_deletes, c.value_form),
            (100, false, ValueForm::Map)
        );
    }

    #[test]
    fn types_split_over_tasks_and_problems_are_named() {
        let p = seed()
            .with("fhir.resource.types", "Patient,Observation,Encounter")
            .with(
                "fhir.subscription.criteria",
                "${resourceType}?_lastUpdated=gt${timestamp}&_count=7",
            )
            .with("kafka.topic", "fhir.${resourceType}");
        let c = FhirSourceConfig::parse(&p).unwrap();
        assert_eq!(
            (c.page_size, c.topic_for("Encounter").as_str()),
            (7, "fhir.Encounter")
        );
        let tasks = FhirSourceConnector.task_configs(&p, 2).unwrap();
        let lists: Vec<_> = tasks
            .iter()
            .map(|t| t.get("fhir.resource.types").unwrap().to_owned())
            .collect();
        assert_eq!(lists, ["Patient,Encounter", "Observation"]);
        let e = FhirSourceConfig::parse(
            &seed()
                .with("fhir.resource.types", "Patient,patient")
                .with(
                    "fhir.subscription.criteria",
                    "Observation?_lastUpdated=gt${timestamp}",
                )
                .with("kafka.topic", "x.${type}"),
        )
        .unwrap_err()
        .to_string();
        for k in [
            "fhir.resource.types",
            "fhir.subscription.criteria",
            "kafka.topic",
        ] {
            assert!(e.contains(k), "{k}: {e}");
        }
        assert!(!e.contains("resolved-token"));
    }
}
