//! The seed's connector configs and worker properties (`testdata/seed/connectors.md`, a copy of the design seed) load as they are:
//! they parse, their converters and transforms resolve, and connectors that do not exist yet give the
//! clear unknown-plugin error.

use connect_core::config::{ConnectorConfig, Props};
use connect_core::record::SourceRecord;
use connect_core::runtime::{worker_def, KafkaSettings};

fn seed() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/seed/connectors.md"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading the seed at {path}: {e}"))
}

fn blocks(md: &str, lang: &str) -> Vec<String> {
    let fence = format!("```{lang}");
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match &mut cur {
            None if line.trim() == fence => cur = Some(String::new()),
            Some(b) if line.trim() == "```" => {
                out.push(std::mem::take(b));
                cur = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn the_four_connector_configs_parse_and_their_plugins_resolve() {
    let configs: Vec<ConnectorConfig> = blocks(&seed(), "json")
        .iter()
        .map(|b| ConnectorConfig::from_json(b).expect("seed config parses"))
        .collect();
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "patient-database-source",
            "hl7-adm-source",
            "fhir-patient-source",
            "provider-directory-sink"
        ]
    );
    let registry = connect_examples::quickstart::registry();
    let worker = Props::new();
    for c in &configs {
        // Converters.
        for is_key in [true, false] {
            registry
                .configured_converter(&worker, &c.props, is_key)
                .unwrap_or_else(|e| panic!("{}: converter: {e}", c.name));
        }
        // Transforms (ExtractField$Key, ExtractNewRecordState with the legacy drop.tombstones).
        let chain = registry
            .transform_chain::<SourceRecord>(&c.props)
            .unwrap_or_else(|e| panic!("{}: transforms: {e}", c.name));
        assert_eq!(chain.len(), 1, "{}", c.name);
        let class = c.connector_class().unwrap();
        if class == "io.debezium.connector.mysql.MySqlConnector" {
            // Built: the seed's config (Debezium 1.x keys included) validates as it is.
            match registry
                .connector(class)
                .expect("the MySQL connector is registered")
            {
                connect_core::registry::ConnectorPlugin::Source(src) => src
                    .validate(&c.props)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name)),
                _ => panic!("MySqlConnector is a source"),
            }
            continue;
        }
        if class == "io.confluent.connect.fhir.FhirSourceConnector" {
            // Built: the seed's fhir-patient-source validates as it is (its token through a
            // config provider, resolved by the worker before the connector sees it).
            match registry
                .connector(class)
                .expect("the FHIR source is registered")
            {
                connect_core::registry::ConnectorPlugin::Source(src) => src
                    .validate(&c.props)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name)),
                _ => panic!("FhirSourceConnector is a source"),
            }
            continue;
        }
        if class == "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector" {
            // Built: the seed's provider-directory-sink validates as it is.
            match registry
                .connector(class)
                .expect("the Elasticsearch sink is registered")
            {
                connect_core::registry::ConnectorPlugin::Sink(sink) => sink
                    .validate(&c.props)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name)),
                _ => panic!("ElasticsearchSinkConnector is a sink"),
            }
            continue;
        }
        // Connectors that are not built yet: a clear error naming the class and the known ones.
        let err = registry
            .connector(class)
            .err()
            .expect("not registered yet")
            .to_string();
        assert!(
            err.contains(class) && err.contains("FileStreamSource"),
            "{err}"
        );
    }
    // Secrets stay out of Debug output.
    let debug = format!("{:?}", configs[0].props);
    assert!(!debug.contains("mysql-cdc-credentials:password"), "{debug}");
}

#[test]
fn the_worker_properties_load_and_security_settings_pass_through() {
    let props_text = &blocks(&seed(), "properties")[0];
    let props = Props::parse_properties(props_text);
    assert_eq!(
        props.get("bootstrap.servers"),
        Some("kafka-broker-1:9092,kafka-broker-2:9092,kafka-broker-3:9092")
    );
    worker_def().parse(&props).expect("worker keys parse");
    assert_eq!(props.get("security.protocol"), Some("SSL"));
    // The seed's JKS truststore and keystore cannot be read here: one clear error naming both keys
    // and what to give instead, not a late TLS failure (and never passed through silently).
    let err = KafkaSettings::from_worker(&props, "b:9092", false).unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["ssl.truststore.location", "ssl.keystore.location"],
        "{err}"
    );
    assert!(err.to_string().contains("PEM") && err.to_string().contains("PKCS12"));
    // With the credential files converted (PEM CA, PKCS#12 keystore) the rest loads as it is.
    let mut pem = props.clone();
    pem.set("ssl.truststore.location", "/etc/kafka-connect/ssl/ca.pem");
    pem.set(
        "ssl.keystore.location",
        "/etc/kafka-connect/ssl/connect.keystore.p12",
    );
    let k = KafkaSettings::from_worker(&pem, "b:9092", false).unwrap();
    let pc = k.producer_config();
    assert_eq!(pc.get("security.protocol"), Some("SSL"));
    assert_eq!(
        pc.get("ssl.keystore.location"),
        Some("/etc/kafka-connect/ssl/connect.keystore.p12")
    );
    assert_eq!(
        pc.get("ssl.ca.location"),
        Some("/etc/kafka-connect/ssl/ca.pem")
    );
}
