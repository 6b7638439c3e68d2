//! The FHIR source against a real FHIR server (helios-hfs): the seed's `fhir-patient-source` as it
//! is, the watermark boundary under bursts and killed tasks, and server trouble.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::{topic_records, wait_until, Hfs, Stored};
use serde_json::{json, Value as Json};

async fn worker() -> Worker {
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    connect_smt::register(&mut registry);
    Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap()
}

fn patient(id: &str, family: &str) -> Json {
    json!({"resourceType": "Patient", "id": id, "active": true,
           "name": [{"family": family, "given": ["Test"]}], "gender": "female"})
}

fn header(s: &Stored, name: &str) -> Option<String> {
    s.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// (key as text, versionId header or "deleted") of each record.
fn versions(records: &[Stored]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|s| {
            let key = String::from_utf8_lossy(s.key.as_deref().unwrap_or_default()).into_owned();
            let v = if s.value.is_none() {
                "deleted".to_owned()
            } else {
                header(s, "fhir.versionId").unwrap_or_default()
            };
            (key, v)
        })
        .collect()
}

/// The seed's JSON with only the URL and the token file changed (plus `fhir.include.deletes`, the
/// key that turns deletes on): creates, updates and deletes made while it polls all arrive, each
/// version once, deletes as tombstones; the seed's `extractId` makes the key the id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_fhir_patient_source_runs_as_it_is() {
    common::init_tracing();
    let _watchdog = connect_test_support::watchdog(
        "the_seeds_fhir_patient_source_runs_as_it_is",
        Duration::from_secs(400),
    );
    let hfs = Hfs::start();
    for (id, family) in [("p1", "Alpha"), ("p2", "Beta"), ("p3", "Gamma")] {
        hfs.put(&patient(id, family));
    }
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("fhir-credentials");
    std::fs::write(&creds, "token=test-bearer-token\n").unwrap();
    let mut seed = connect_test_support::seed_connector("fhir-patient-source");
    let cfg = seed["config"].as_object_mut().unwrap();
    cfg.insert("fhir.url".into(), json!(hfs.url()));
    cfg.insert(
        "fhir.auth.token".into(),
        json!(format!("${{file:{}:token}}", creds.display())),
    );
    cfg.insert("fhir.include.deletes".into(), json!("true"));
    assert_eq!(cfg["fhir.poll.interval.ms"], "60000");

    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let topic = "clinical.patient.fhir";
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    worker
        .start_connector(ConnectorConfig::from_json_value(&seed).unwrap())
        .await
        .unwrap();
    let first = wait_until(60, "the first read", || {
        let r = topic_records(&bootstrap, topic);
        (r.len() >= 3).then_some(r)
    })
    .await;
    let mut got = versions(&first);
    got.sort();
    assert_eq!(
        got,
        [
            ("\"p1\"".into(), "1".into()),
            ("\"p2\"".into(), "1".into()),
            ("\"p3\"".into(), "1".into())
        ]
    );
    let p1: Json = serde_json::from_slice(first[0].payload()).unwrap();
    assert_eq!(p1["resourceType"], "Patient");
    assert!(p1["meta"]["lastUpdated"].is_string());
    assert_eq!(
        header(&first[0], "fhir.resourceType").as_deref(),
        Some("Patient")
    );

    // While it polls: an update, a delete, a create (and a second update of the new one).
    hfs.put(&patient("p1", "Alpha-Renamed"));
    hfs.delete("Patient", "p2");
    hfs.put(&patient("p4", "Delta"));
    hfs.put(&patient("p4", "Delta-Two"));
    let all = wait_until(150, "the second read", || {
        let r = topic_records(&bootstrap, topic);
        (r.len() >= 6).then_some(r)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = {
        let again = topic_records(&bootstrap, topic);
        assert_eq!(again.len(), all.len(), "nothing more after the read");
        again
    };
    let v = versions(&all);
    let unique: BTreeSet<_> = v.iter().cloned().collect();
    assert_eq!(unique.len(), v.len(), "no version twice: {v:?}");
    assert!(v.contains(&("\"p1\"".into(), "2".into())), "{v:?}");
    assert!(v.contains(&("\"p2\"".into(), "deleted".into())), "{v:?}");
    assert!(v.contains(&("\"p4\"".into(), "2".into())), "{v:?}");
    let updated: Json = serde_json::from_slice(
        all.iter()
            .find(|s| {
                header(s, "fhir.versionId").as_deref() == Some("2")
                    && s.key.as_deref() == Some(b"\"p1\"")
            })
            .unwrap()
            .payload(),
    )
    .unwrap();
    assert_eq!(updated["name"][0]["family"], "Alpha-Renamed");
    worker.shutdown().await;
}

/// 500 Patients written in bursts (transaction Bundles, whose resources share `lastUpdated`
/// instants) while the connector reads pages of 7 and is stopped and started again 12 times in the
/// middle of paging: every version arrives, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_sharing_instants_and_restarts_mid_paging_lose_and_repeat_nothing() {
    bursts_and_restarts(false).await;
}

/// The same with the task killed (dropped: no flush, no stop, no offset commit) instead of stopped:
/// every version arrives; versions read after the last committed offset may arrive again, as
/// at-least-once delivery allows, and nothing else does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_sharing_instants_and_kills_mid_paging_lose_nothing() {
    bursts_and_restarts(true).await;
}

async fn bursts_and_restarts(kill: bool) {
    common::init_tracing();
    let _watchdog = connect_test_support::watchdog("bursts_and_restarts", Duration::from_secs(400));
    let hfs = Hfs::start();
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let topic = "fhir.Patient";
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    let config = || {
        ConnectorConfig::new(
            "boundary",
            Props::new()
                .with("name", "boundary")
                .with("connector.class", "FhirSource")
                .with("fhir.url", hfs.url())
                .with("fhir.resource.types", "Patient")
                .with(
                    "fhir.subscription.criteria",
                    "Patient?_lastUpdated=gt${timestamp}&_count=7",
                )
                .with("fhir.poll.interval.ms", "100")
                // hfs's cursor links in one test, searches from the watermark in the other.
                .with("fhir.paging.mode", if kill { "keyset" } else { "auto" })
                .with("kafka.topic", "fhir.${resourceType}")
                .with(
                    "value.converter",
                    "org.apache.kafka.connect.converters.ByteArrayConverter",
                )
                .with(
                    "key.converter",
                    "org.apache.kafka.connect.json.JsonConverter",
                )
                .with("key.converter.schemas.enable", "false"),
        )
    };
    worker.start_connector(config()).await.unwrap();
    let url = hfs.url();
    let writer = std::thread::spawn(move || {
        let client = Hfsish(url);
        // Versions expected per id: one per transaction that writes it.
        let mut expected: BTreeMap<String, u32> = BTreeMap::new();
        let (mut created, mut burst) = (0usize, 0usize);
        while created < 500 {
            let before = created;
            let mut ids = Vec::new();
            for _ in 0..5 + (burst * 7) % 21 {
                if created == 500 {
                    break;
                }
                ids.push(format!("b{created}"));
                created += 1;
            }
            // Updates of Patients created in earlier bursts, in the same instant as the new ones.
            if before > 20 {
                for j in 0..3 {
                    let id = format!("b{}", (burst * 13 + j * 17) % before);
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            let entries: Vec<Json> = ids
                .iter()
                .map(|id| {
                    *expected.entry(id.clone()).or_insert(0) += 1;
                    json!({"resource": patient(id, &format!("F{burst}")),
                           "request": {"method": "PUT", "url": format!("Patient/{id}")}})
                })
                .collect();
            client.transaction(&entries);
            burst += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        expected
    });
    // Kills while the writer runs and the reads page.
    for i in 0..12 {
        tokio::time::sleep(Duration::from_millis(300 + (i * 137) % 400)).await;
        if kill {
            worker.abort_connector("boundary").await.unwrap();
        } else {
            worker.stop_connector("boundary").await.unwrap();
        }
        worker.start_connector(config()).await.unwrap();
    }
    let expected = tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();
    // Until every Patient's last version is there (or 120 s: the comparison below then says what
    // is missing).
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let seen: BTreeSet<String> = topic_records(&bootstrap, topic)
            .iter()
            .filter_map(|s| {
                let key: Json = serde_json::from_slice(s.key.as_deref()?).ok()?;
                Some(format!(
                    "{}/{}",
                    key["id"].as_str()?,
                    header(s, "fhir.versionId")?
                ))
            })
            .collect();
        if expected
            .iter()
            .all(|(id, n)| seen.contains(&format!("{id}/{n}")))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let records = topic_records(&bootstrap, topic);
    let v = versions(&records);
    // Per id, the versions in topic order (one partition).
    let mut per_id: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (key, version) in &v {
        let id: String = serde_json::from_str::<Json>(key).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        per_id.entry(id).or_default().push(version.parse().unwrap());
    }
    let mut twice = 0;
    for (id, n) in &expected {
        let got = per_id.get(id).cloned().unwrap_or_default();
        // The last version of every Patient arrives (a search reads current versions: one
        // replaced before the next read is not seen, as with any search-based reader).
        assert_eq!(
            got.iter().max(),
            Some(n),
            "{id}: {got:?} (of {} records)",
            records.len()
        );
        let distinct: BTreeSet<u32> = got.iter().copied().collect();
        twice += got.len() - distinct.len();
        if kill {
            // At-least-once: a version is read again only after a kill, and versions never go
            // back except by such a re-read of an earlier stretch.
            continue;
        }
        assert_eq!(
            distinct.len(),
            got.len(),
            "{id}: a version emitted twice: {got:?}"
        );
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "{id}: versions out of order: {got:?}"
        );
    }
    assert_eq!(per_id.len(), expected.len(), "only the written Patients");
    if kill {
        eprintln!("{twice} versions read again after kills");
    }
    let instants: BTreeSet<String> = records
        .iter()
        .filter_map(|s| header(s, "fhir.lastUpdated"))
        .collect();
    assert!(
        instants.len() < records.len(),
        "bursts shared instants ({} instants, {} records)",
        instants.len(),
        records.len()
    );
    worker.shutdown().await;
}

/// A second client of the server for the writer thread (the test's `Hfs` stays with the test).
struct Hfsish(String);

impl Hfsish {
    fn transaction(&self, entries: &[Json]) {
        let body = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
        let out = std::process::Command::new("curl")
            .args(["-sS", "-X", "POST", "-w", "\n%{http_code}", &self.0])
            .args([
                "-H",
                "content-type: application/fhir+json",
                "--max-time",
                "30",
            ])
            .args(["--data-binary", &body.to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.trim_end().ends_with("200"), "transaction: {text}");
    }
}
