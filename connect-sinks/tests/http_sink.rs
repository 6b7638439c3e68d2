//! The HTTP sink as a critical-results notifier: a lab's ORU^R01 (the corpus's CBC panel, four
//! results flagged HH) converted by HL7ToFHIR, its Observations on a topic, only the critical ones
//! let through by a predicate, one webhook call per critical result with a templated body that
//! carries no patient data; a 503 is retried, a 400 goes to the DLQ.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_core::config::{ConnectorConfig, Props};
use connect_core::hl7::Message;
use connect_smt::hl7_to_fhir::Hl7ToFhir;
use connect_smt::Target;
use connect_test_support::kafka::KeyValue;
use connect_test_support::{produce, topic_records};
use serde_json::{json, Value as Json};

use common::receiver::Receiver;

fn observations() -> Vec<Json> {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/hl7/corpus/LRI_2.0-NG_CBC_Typ_Message.hl7"
    ))
    .unwrap();
    let msg = Message::parse(Bytes::from(raw)).unwrap();
    let bundle = Hl7ToFhir::new(Target::Value)
        .convert(&msg)
        .unwrap()
        .unwrap();
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .filter(|r| r["resourceType"] == "Observation")
        .collect()
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_results_become_one_webhook_call_each() {
    let obs = observations();
    let flag = |o: &Json| {
        o["interpretation"][0]["coding"][0]["code"]
            .as_str()
            .map(str::to_owned)
    };
    let critical: Vec<&Json> = obs
        .iter()
        .filter(|o| matches!(flag(o).as_deref(), Some("HH" | "LL")))
        .collect();
    assert_eq!(critical.len(), 4, "the CBC panel has four HH results");
    // The first call is answered 503 (retry after 0 s); the lymphocyte count is refused with a 400.
    let rejected_code = "26474-7";
    let receiver = Receiver::start(move |n, req| {
        let body = String::from_utf8_lossy(&req.body);
        if n == 0 {
            (503, vec![("retry-after".into(), "0".into())])
        } else if body.contains(rejected_code) {
            (400, vec![])
        } else {
            (200, vec![])
        }
    })
    .await;

    let w = common::kafka::worker(&[
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
    ])
    .await;
    for t in ["clinical.observations", "dlq.alerts"] {
        w.embedded().unwrap().create_topic(t, 1, 1).unwrap();
    }
    let bootstrap = w.bootstrap_servers().to_owned();
    let values: Vec<(String, Vec<u8>)> = obs
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_owned(),
                o.to_string().into_bytes(),
            )
        })
        .collect();
    let kv: Vec<KeyValue<'_>> = values
        .iter()
        .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_slice())))
        .collect();
    produce(&bootstrap, "clinical.observations", &kv);

    let template = json!({
        "alert": "critical-result",
        "observation": "Observation/${value.id}",
        "code": "${value.code.coding[0].code}",
        "flag": "${value.interpretation[0].coding[0].code}",
        "value": "${value.valueQuantity}",
        "source": "${topic}-${partition}@${offset}"
    });
    let props = Props::new()
        .with("name", "critical-alerts")
        .with(
            "connector.class",
            "io.confluent.connect.http.HttpSinkConnector",
        )
        .with("topics", "clinical.observations")
        .with("http.api.url", format!("{}/alerts", receiver.url))
        .with("headers", "X-Source:connect-rs|X-Feed:lab")
        .with("request.body.template", template.to_string())
        .with("retry.on.status.codes", "429,500-")
        .with("retry.backoff.ms", "10")
        .with("transforms", "criticalOnly")
        .with(
            "transforms.criticalOnly.type",
            "org.apache.kafka.connect.transforms.Filter",
        )
        .with("transforms.criticalOnly.predicate", "isCritical")
        .with("transforms.criticalOnly.negate", "true")
        .with("predicates", "isCritical")
        .with("predicates.isCritical.type", "ValueFieldMatches")
        .with(
            "predicates.isCritical.field",
            "interpretation[0].coding[0].code",
        )
        .with("predicates.isCritical.pattern", "HH|LL")
        .with("errors.tolerance", "all")
        .with("errors.deadletterqueue.topic.name", "dlq.alerts")
        .with("errors.deadletterqueue.context.headers.enable", "true");
    w.start_connector(ConnectorConfig::new("critical-alerts", props))
        .await
        .unwrap();
    wait_until("four critical results and one retry", || {
        receiver.requests().len() >= 5
    })
    .await;
    wait_until("the DLQ record", || {
        !topic_records(&bootstrap, "dlq.alerts").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let reqs = receiver.requests();
    assert_eq!(reqs.len(), 5, "{reqs:#?}");
    assert_eq!(reqs[0].status, 503);
    assert_eq!(
        reqs[0].body, reqs[1].body,
        "the 503 was retried with the same body"
    );
    let delivered: Vec<Json> = reqs
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(delivered.len(), 3);
    for (r, body) in reqs.iter().zip(
        reqs.iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned()),
    ) {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/alerts"));
        let h = |k: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("content-type"), Some("application/json"));
        assert_eq!(h("x-source"), Some("connect-rs"));
        // No patient data: the PID's name and identifier are not in any body.
        assert!(
            !body.contains("Jones") && !body.contains("PATID1234"),
            "{body}"
        );
    }
    for (d, o) in delivered.iter().zip(
        critical
            .iter()
            .filter(|o| o["code"]["coding"][0]["code"] != rejected_code),
    ) {
        assert_eq!(d["alert"], "critical-result");
        assert_eq!(
            d["observation"],
            format!("Observation/{}", o["id"].as_str().unwrap())
        );
        assert_eq!(d["flag"], "HH");
        assert_eq!(d["value"], o["valueQuantity"], "typed, not text");
        assert!(d["source"]
            .as_str()
            .unwrap()
            .starts_with("clinical.observations-0@"));
    }
    let dlq = topic_records(&bootstrap, "dlq.alerts");
    assert_eq!(dlq.len(), 1);
    let original: Json = serde_json::from_slice(dlq[0].payload()).unwrap();
    assert_eq!(original["code"]["coding"][0]["code"], rejected_code);
    let headers: String = dlq[0]
        .headers
        .iter()
        .map(|(k, v)| format!("{k}={}\n", String::from_utf8_lossy(v)))
        .collect();
    assert!(headers.contains("answered HTTP 400"), "{headers}");
    w.shutdown().await;
}

/// `auth.type=OAUTH2`: a client-credentials token on each request, fetched once, and fetched again
/// when the endpoint answers 401 (the request then repeated with the new token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_tokens_are_fetched_cached_and_renewed_on_401() {
    use connect_core::record::{ConnectRecord, SinkRecord, TimestampType, TopicPartitionOffset};
    use connect_core::sink::{SinkTask, SinkTaskContext};
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The API takes only the second token (the first one "expired").
    let receiver = Receiver::start(move |_, req| {
        let auth = req.headers.iter().find(|(k, _)| k == "authorization");
        match auth.map(|(_, v)| v.as_str()) {
            Some("Bearer t2") => (200, vec![]),
            _ => (401, vec![]),
        }
    })
    .await;
    let token_server = common::receiver::Receiver::start_with_body({
        let n = std::sync::Arc::new(AtomicUsize::new(0));
        move |_, _| {
            let i = n.fetch_add(1, Ordering::SeqCst) + 1;
            (
                200,
                format!(r#"{{"access_token":"t{i}","expires_in":3600}}"#),
            )
        }
    })
    .await;
    let mut task = connect_sinks::http::HttpSinkTask::default();
    task.start(SinkTaskContext {
        config: Props::new()
            .with("http.api.url", format!("{}/alerts", receiver.url))
            .with("auth.type", "OAUTH2")
            .with("oauth2.token.url", format!("{}/token", token_server.url))
            .with("oauth2.client.id", "lab-notifier")
            .with("oauth2.client.secret", "s3cret")
            .with("request.body.format", "json")
            .with("max.retries", "0"),
        errant_record_reporter: None,
    })
    .await
    .unwrap();
    let rec = |offset| SinkRecord {
        record: ConnectRecord::new(
            "t",
            connect_core::data::Value::Null,
            connect_core::data::Value::String("x".into()),
        ),
        kafka_offset: offset,
        timestamp_type: TimestampType::CreateTime,
        original: TopicPartitionOffset {
            topic: "t".into(),
            partition: 0,
            offset,
        },
    };
    task.put(&[rec(0)]).await.unwrap();
    task.put(&[rec(1)]).await.unwrap();
    let api: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k == "authorization")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        api,
        ["Bearer t1", "Bearer t2", "Bearer t2"],
        "401 with t1, then t2 kept"
    );
    let token_requests = token_server.requests();
    assert_eq!(token_requests.len(), 2);
    assert!(
        String::from_utf8_lossy(&token_requests[0].body).contains("grant_type=client_credentials")
    );
}
