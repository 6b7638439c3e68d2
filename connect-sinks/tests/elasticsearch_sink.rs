//! The Elasticsearch sink against a real OpenSearch API server (osmem-server), through a proxy that
//! can reject bulk items as busy.

mod common;

use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::kafka::KeyValue;
use connect_test_support::{produce, topic_records, OpenSearch};
use serde_json::{json, Value as Json};

use common::bulk_proxy::BulkProxy;

async fn worker(extra: &[(&str, &str)]) -> Worker {
    let mut props = connect_test_support::SEED_CONVERTERS.to_vec();
    props.extend_from_slice(extra);
    common::kafka::worker(&props).await
}

async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Produces (key, value) pairs to `topic`.
fn produce_pairs(bootstrap: &str, topic: &str, pairs: &[(Vec<u8>, Vec<u8>)]) {
    let recs: Vec<KeyValue<'_>> = pairs
        .iter()
        .map(|(k, v)| (Some(k.as_slice()), Some(v.as_slice())))
        .collect();
    produce(bootstrap, topic, &recs);
}

fn provider(id: &str, name: &str, npi: Json) -> (Vec<u8>, Vec<u8>) {
    (
        json!({"providerId": id}).to_string().into_bytes(),
        json!({"providerId": id, "name": name, "npi": npi, "specialty": "cardiology"})
            .to_string()
            .into_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_provider_directory_sink_runs_as_written() {
    let os = OpenSearch::start();
    let topic = "reference.provider.details";
    // The index exists with a typed field, so a provider with a non-numeric NPI is malformed.
    os.request(
        "PUT",
        &format!("/{topic}"),
        Some(&json!({"mappings": {"properties": {"npi": {"type": "long"}}}})),
    )
    .unwrap();
    let proxy = BulkProxy::start(os.url(), 50).await;
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("elasticsearch-credentials");
    std::fs::write(&creds, "password=es-S3cret!\n").unwrap();

    // The seed's JSON; only the URL and the credentials file change.
    let mut seed = connect_test_support::seed_connector("provider-directory-sink");
    let cfg = seed["config"].as_object_mut().unwrap();
    assert_eq!(
        cfg["connector.class"],
        "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"
    );
    cfg.insert("connection.url".into(), json!(proxy.url));
    cfg.insert(
        "connection.password".into(),
        json!(format!("${{file:{}:password}}", creds.display())),
    );
    let name = seed["name"].as_str().unwrap().to_owned();
    let w = worker(&[]).await;
    w.embedded().unwrap().create_topic(topic, 3, 1).unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();

    let batch1 = [
        provider("P-1", "Dr Ada", json!(1234567890)),
        provider("P-2", "Dr Bea", json!(1234567891)),
        provider("P-3", "Dr Cy", json!("NOT-A-NUMBER")),
        provider("P-4", "Dr Di", json!(1234567893)),
    ];
    produce_pairs(&bootstrap, topic, &batch1);
    let h = w
        .start_connector(ConnectorConfig::from_json_value(&seed).unwrap())
        .await
        .unwrap();
    // Every provider the test reads next (an item the proxy answered 429 is indexed on a retry).
    wait_until("the providers", Duration::from_secs(30), || {
        ["P-1", "P-2", "P-4"]
            .iter()
            .all(|id| os.document(topic, id).is_some())
    })
    .await;
    assert_eq!(os.document(topic, "P-1").unwrap()["name"], "Dr Ada");
    assert_eq!(os.document(topic, "P-2").unwrap()["npi"], 1234567891);
    assert_eq!(
        os.document(topic, "P-3"),
        None,
        "the malformed provider is skipped"
    );
    // A null value deletes the provider (the seed's behavior.on.null.values=delete).
    let key2 = json!({"providerId": "P-2"}).to_string();
    produce(&bootstrap, topic, &[(Some(key2.as_bytes()), None)]);
    wait_until("the delete", Duration::from_secs(30), || {
        os.document(topic, "P-2").is_none()
    })
    .await;
    assert!(
        h.status()
            .iter()
            .all(|t| t.state == connect_core::runtime::TaskState::Running),
        "{:?}",
        h.status()
    );
    // Basic authentication with the seed's user and the password from the credentials file.
    let expected = format!("Basic {}", base64_encode("connect_user:es-S3cret!"));
    let seen = proxy.auth_headers.lock().unwrap().clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|a| *a == expected),
        "{seen:?}"
    );
    // Documents carry the Kafka offset as their external version.
    let docs = os.documents(topic);
    assert!(docs.iter().all(|(_, v, _)| *v >= 0));
    w.stop_connector(&name).await.unwrap();
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_document_reaches_the_dlq_without_its_content_in_the_headers() {
    let os = OpenSearch::start();
    let topic = "providers";
    os.request(
        "PUT",
        &format!("/{topic}"),
        Some(&json!({"mappings": {"properties": {"npi": {"type": "long"}}}})),
    )
    .unwrap();
    let w = worker(&[]).await;
    w.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
    w.embedded()
        .unwrap()
        .create_topic("dlq.providers", 1, 1)
        .unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    let batch = [
        provider("P-1", "Dr Ada", json!(1)),
        provider("P-9", "Dr Secret-Name", json!("123-45-6789")),
        provider("P-2", "Dr Bea", json!(2)),
    ];
    produce_pairs(&bootstrap, topic, &batch);
    let p = Props::new()
        .with("connector.class", "ElasticsearchSink")
        .with("connection.url", os.url())
        .with("topics", topic)
        .with("behavior.on.malformed.documents", "warn")
        .with("transforms", "extractId")
        .with(
            "transforms.extractId.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        )
        .with("transforms.extractId.field", "providerId")
        .with("errors.tolerance", "all")
        .with("errors.deadletterqueue.topic.name", "dlq.providers")
        .with("errors.deadletterqueue.context.headers.enable", "true");
    w.start_connector(ConnectorConfig::new("dlq-sink", p.with("name", "dlq-sink")))
        .await
        .unwrap();
    wait_until("the DLQ record", Duration::from_secs(30), || {
        !topic_records(&bootstrap, "dlq.providers").is_empty()
    })
    .await;
    wait_until("the good providers", Duration::from_secs(30), || {
        os.document(topic, "P-2").is_some()
    })
    .await;
    assert!(os.document(topic, "P-1").is_some());
    assert_eq!(os.document(topic, "P-9"), None);
    let dlq = topic_records(&bootstrap, "dlq.providers");
    assert_eq!(dlq.len(), 1);
    assert_eq!(
        dlq[0].value.as_deref(),
        Some(batch[1].1.as_slice()),
        "the original bytes"
    );
    let headers: String = dlq[0]
        .headers
        .iter()
        .map(|(k, v)| format!("{k}={}\n", String::from_utf8_lossy(v)))
        .collect();
    assert!(headers.contains("mapper_parsing_exception"), "{headers}");
    assert!(
        !headers.contains("123-45-6789") && !headers.contains("Secret-Name"),
        "{headers}"
    );
    w.shutdown().await;
}

/// With `schema.ignore=false` (Confluent's default) and records that carry a struct schema, an
/// index that does not exist is created with the mapping Confluent's sink infers, and an index that
/// already has a mapping keeps its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_schema_gives_a_new_index_confluents_mapping() {
    let os = OpenSearch::start();
    let fresh = "providers.typed";
    let existing = "providers.kept";
    os.request(
        "PUT",
        &format!("/{existing}"),
        Some(&json!({"mappings": {"properties": {"npi": {"type": "keyword"}}}})),
    )
    .unwrap();
    let w = worker(&[]).await;
    let bootstrap = w.bootstrap_servers().to_owned();
    let schema = json!({"type": "struct", "name": "Provider", "optional": false, "fields": [
        {"field": "providerId", "type": "string", "optional": false},
        {"field": "npi", "type": "int64", "optional": false},
        {"field": "rating", "type": "float", "optional": true},
        {"field": "active", "type": "boolean", "optional": false, "default": true},
        {"field": "updated", "type": "int64", "optional": false,
         "name": "org.apache.kafka.connect.data.Timestamp", "version": 1},
        {"field": "languages", "type": "array", "optional": true, "items": {"type": "string", "optional": false}},
        {"field": "fee", "type": "bytes", "optional": false,
         "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {"scale": "2"}},
    ]});
    for topic in [fresh, existing] {
        w.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
        let batch: Vec<(Vec<u8>, Vec<u8>)> = (1..=3)
            .map(|i| {
                let payload = json!({"providerId": format!("P-{i}"), "npi": 1000 + i, "rating": 4.5,
                    "active": true, "updated": 1_796_155_200_000i64, "languages": ["en", "es"],
                    // 12.50 as Decimal(scale 2): unscaled 1250 = 0x04E2.
                    "fee": "BOI="});
                (
                    json!({"providerId": format!("P-{i}")})
                        .to_string()
                        .into_bytes(),
                    json!({"schema": schema, "payload": payload})
                        .to_string()
                        .into_bytes(),
                )
            })
            .collect();
        produce_pairs(&bootstrap, topic, &batch);
    }
    let p = Props::new()
        .with("name", "typed-sink")
        .with("connector.class", "ElasticsearchSink")
        .with("connection.url", os.url())
        .with("topics", format!("{fresh},{existing}"))
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with("value.converter.schemas.enable", "true")
        .with("transforms", "extractId")
        .with(
            "transforms.extractId.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        )
        .with("transforms.extractId.field", "providerId");
    w.start_connector(ConnectorConfig::new("typed-sink", p))
        .await
        .unwrap();
    wait_until("the documents", Duration::from_secs(30), || {
        os.document(fresh, "P-3").is_some() && os.document(existing, "P-3").is_some()
    })
    .await;
    let got = os
        .request("GET", &format!("/{fresh}/_mapping"), None)
        .unwrap();
    let props = &got[fresh]["mappings"]["properties"];
    let keyword = json!({"keyword": {"type": "keyword", "ignore_above": 256}});
    assert_eq!(props["providerId"]["type"], "text", "{got}");
    assert_eq!(props["providerId"]["fields"], keyword, "{got}");
    assert_eq!(props["npi"]["type"], "long", "{got}");
    assert_eq!(props["rating"]["type"], "float", "{got}");
    assert_eq!(props["active"]["type"], "boolean", "{got}");
    assert_eq!(props["updated"]["type"], "date", "{got}");
    assert_eq!(props["languages"]["type"], "text", "{got}");
    assert_eq!(props["fee"]["type"], "double", "{got}");
    let kept = os
        .request("GET", &format!("/{existing}/_mapping"), None)
        .unwrap();
    assert_eq!(
        kept[existing]["mappings"]["properties"]["npi"]["type"], "keyword",
        "{kept}"
    );
    let doc = os.document(fresh, "P-1").unwrap();
    assert_eq!(doc["npi"], 1001);
    // As Confluent's sink writes a mapped Decimal: a number, not base64 bytes.
    assert_eq!(doc["fee"].as_f64(), Some(12.5), "{doc}");
    w.shutdown().await;
}

fn base64_encode(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const PARTITIONS: i32 = 8;

fn committed(bootstrap: &str, connector: &str, topic: &str) -> Vec<i64> {
    common::kafka::committed(bootstrap, connector, topic, PARTITIONS)
}

/// 20 000 provider updates (1 000 providers, 20 versions each; `CONNECT_ES_SOAK=1`: 100 000 and
/// 5 000, about two minutes) while the proxy answers 5 % of the bulk items 429 and the sink is killed
/// (tasks dropped: no flush, no commit) 5 times. After each
/// kill no committed offset passes a document that is not in the index at that version or later;
/// at the end every provider is in the index at its latest version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_items_are_retried_and_kills_lose_nothing() {
    let soak = std::env::var_os("CONNECT_ES_SOAK").is_some();
    let records_n: usize = if soak { 100_000 } else { 20_000 };
    let providers: usize = records_n / 20;
    let os = OpenSearch::start();
    let proxy = BulkProxy::start(os.url(), 50).await;
    let topic = "providers.busy";
    let w = worker(&[]).await;
    w.embedded()
        .unwrap()
        .create_topic(topic, PARTITIONS, 1)
        .unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..records_n)
        .map(|n| {
            let id = format!("P-{}", n % providers);
            (
                json!({"providerId": id}).to_string().into_bytes(),
                json!({"providerId": id, "seq": n}).to_string().into_bytes(),
            )
        })
        .collect();
    common::kafka::produce_keyed(&bootstrap, topic, &records);
    // Where each record landed: (partition, offset) -> (provider, seq).
    let stored = topic_records(&bootstrap, topic);
    assert_eq!(stored.len(), records_n);
    let placed: Vec<(i32, i64, String, i64)> = stored
        .iter()
        .map(|r| {
            let v: Json = serde_json::from_slice(r.payload()).unwrap();
            (
                r.partition,
                r.offset,
                v["providerId"].as_str().unwrap().to_owned(),
                v["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    let config = |name: &str| {
        ConnectorConfig::new(
            name,
            Props::new()
                .with("name", name)
                .with(
                    "connector.class",
                    "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
                )
                .with("connection.url", proxy.url.as_str())
                .with("topics", topic)
                .with("batch.size", "400")
                .with("max.retries", "20")
                .with("retry.backoff.ms", "5")
                .with("transforms", "extractId")
                .with(
                    "transforms.extractId.type",
                    "org.apache.kafka.connect.transforms.ExtractField$Key",
                )
                .with("transforms.extractId.field", "providerId"),
        )
    };
    // For each record below its partition's committed offset, its provider's document is at that
    // version or later.
    let check = |upto: &[i64]| {
        let docs: std::collections::HashMap<String, i64> = os
            .documents(topic)
            .into_iter()
            .map(|(id, _, src)| (id, src["seq"].as_i64().unwrap()))
            .collect();
        for (p, o, id, seq) in &placed {
            if *o < upto[*p as usize] {
                let at = docs.get(id).copied().unwrap_or(-1);
                assert!(
                    at >= *seq,
                    "{p}@{o} committed but {id} is at {at}, not {seq}"
                );
            }
        }
    };
    let total = |c: &[i64]| c.iter().sum::<i64>();
    let mut last = vec![0; PARTITIONS as usize];
    for kill in 0..5 {
        w.start_connector(config("busy-sink")).await.unwrap();
        let target = total(&last) + (records_n as i64 / 8);
        wait_until("progress", Duration::from_secs(120), || {
            total(&committed(&bootstrap, "busy-sink", topic)) >= target
        })
        .await;
        w.abort_connector("busy-sink").await.unwrap();
        let c = committed(&bootstrap, "busy-sink", topic);
        check(&c);
        assert!(
            c.iter().zip(&last).all(|(a, b)| a >= b),
            "kill {kill}: committed went back from {last:?} to {c:?}"
        );
        last = c;
    }
    w.start_connector(config("busy-sink")).await.unwrap();
    wait_until("everything", Duration::from_secs(180), || {
        total(&committed(&bootstrap, "busy-sink", topic)) >= records_n as i64
    })
    .await;
    check(&committed(&bootstrap, "busy-sink", topic));
    let docs = os.documents(topic);
    assert_eq!(docs.len(), providers);
    for (id, _, src) in &docs {
        let i: usize = id[2..].parse().unwrap();
        let latest = records_n - providers + i;
        assert_eq!(src["seq"].as_u64(), Some(latest as u64), "{id}");
    }
    let rejected = proxy.rejected.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        rejected > (records_n as u64) / 40,
        "the proxy rejected only {rejected} items"
    );
    w.shutdown().await;
}
