//! PostgreSQL CDC against a real PostgreSQL (started here, `wal_level=logical`, in a temporary
//! directory) and the embedded Kafka cluster: the exported snapshot then the slot, Debezium's
//! envelope and `source` block, REPLICA IDENTITY DEFAULT and FULL, unchanged TOASTed values,
//! TRUNCATE, a column added mid-stream, a kill (no stop) with changes made while the connector is
//! down, and the slot's position held back until Kafka has the records.

mod common;

use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::{Postgres, Stored};
use serde_json::Value as Json;

fn json(v: &[u8]) -> Json {
    if v.is_empty() {
        Json::Null
    } else {
        serde_json::from_slice(v).unwrap()
    }
}

fn wait_for(bootstrap: &str, topic: &str, n: usize, secs: u64) -> Vec<Stored> {
    connect_test_support::wait_for_records(bootstrap, topic, n, Duration::from_secs(secs))
}

fn values(records: &[Stored]) -> Vec<Json> {
    records.iter().map(|s| json(s.payload())).collect()
}

async fn worker() -> Worker {
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    Worker::start(
        Props::new().with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap()
}

/// The slot's confirmed flush LSN, as a number.
fn confirmed_flush(pg: &Postgres, slot: &str) -> u64 {
    let t = pg.exec(&format!(
        "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ));
    t.trim().parse().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_stream_kill_and_a_column_added_mid_stream() {
    common::init_tracing();
    let pg = Postgres::start();
    pg.exec(
        "CREATE TABLE patient (id int PRIMARY KEY, mrn text NOT NULL, born date, weight numeric(5,2), seen timestamptz(3));
         CREATE TABLE audit (id int PRIMARY KEY);
         INSERT INTO patient VALUES (1,'MRN1','1980-02-03',70.50,'2024-01-02 03:04:05.678+00'),(2,'MRN2',NULL,NULL,NULL),(3,'MRN3','2001-12-31',3.25,NULL);
         INSERT INTO audit VALUES (1);",
    );
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let topic = "ehr.public.patient";
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    let props =
        common::postgres_source(&pg, "pgcdc", "ehr").with("table.include.list", "public.patient");
    worker
        .start_connector(ConnectorConfig::new("pgcdc", props.clone()))
        .await
        .unwrap();

    // Snapshot: three reads, marked first / true / last, at the slot's consistent point.
    let got = wait_for(&bootstrap, topic, 3, 60);
    assert_eq!(got.len(), 3, "snapshot records");
    let ev = values(&got);
    assert!(ev.iter().all(|e| e["op"] == "r"), "{ev:?}");
    assert_eq!(ev[0]["source"]["snapshot"], "first");
    assert_eq!(ev[1]["source"]["snapshot"], "true");
    assert_eq!(ev[2]["source"]["snapshot"], "last");
    assert_eq!(ev[0]["source"]["connector"], "postgresql");
    assert_eq!(ev[0]["source"]["name"], "ehr");
    assert_eq!(ev[0]["source"]["db"], "postgres");
    assert_eq!(ev[0]["source"]["schema"], "public");
    assert_eq!(ev[0]["source"]["table"], "patient");
    assert!(ev[0]["source"]["lsn"].as_i64().unwrap() > 0);
    assert_eq!(ev[0]["after"]["mrn"], "MRN1");
    assert_eq!(ev[0]["after"]["born"], 3685);
    assert_eq!(ev[0]["after"]["seen"], "2024-01-02T03:04:05.678Z");
    assert_eq!(
        json(got[0].key.as_deref().unwrap()),
        serde_json::json!({"id": 1})
    );

    // Streaming: insert, update, delete in one transaction (REPLICA IDENTITY DEFAULT), then a
    // change of a table that is not captured.
    pg.exec(
        "BEGIN; INSERT INTO patient (id, mrn) VALUES (4,'MRN4'); UPDATE patient SET mrn='MRN2b' WHERE id=2; DELETE FROM patient WHERE id=3; COMMIT;
         INSERT INTO audit VALUES (2);",
    );
    let got = wait_for(&bootstrap, topic, 7, 30);
    assert_eq!(got.len(), 7, "3 reads + c, u, d and a tombstone");
    let ev = values(&got);
    let (c, u, d) = (&ev[3], &ev[4], &ev[5]);
    assert_eq!(
        (c["op"].as_str(), c["after"]["id"].as_i64()),
        (Some("c"), Some(4))
    );
    assert_eq!(c["source"]["snapshot"], "false");
    let tx = c["source"]["txId"].as_i64().unwrap();
    assert_eq!(u["source"]["txId"].as_i64(), Some(tx), "one transaction");
    assert!(c["source"]["sequence"].as_str().unwrap().starts_with("[\""));
    // DEFAULT identity: no old image on an update, the key only on a delete.
    assert!(u["before"].is_null(), "{u}");
    assert_eq!(u["after"]["mrn"], "MRN2b");
    assert_eq!(d["op"], "d");
    assert_eq!(d["before"]["id"], 3);
    assert_eq!(
        d["before"]["mrn"], "",
        "a required column the key image lacks takes its fallback"
    );
    assert!(d["before"]["born"].is_null());
    assert!(got[6].value.is_none(), "tombstone after the delete");
    assert_eq!(
        json(got[6].key.as_deref().unwrap()),
        serde_json::json!({"id": 3})
    );

    // The slot confirms a position only once the records are in Kafka and their offsets stored.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lsn_of_delete = d["source"]["lsn"].as_u64().unwrap();
    while confirmed_flush(&pg, "debezium") <= lsn_of_delete {
        assert!(
            Instant::now() < deadline,
            "the slot never advanced past the acknowledged changes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    worker.abort_connector("pgcdc").await.unwrap();

    // While it is down: a row, a new column, another row.
    pg.exec(
        "INSERT INTO patient (id, mrn) VALUES (5,'MRN5');
         ALTER TABLE patient ADD COLUMN allergy text;
         INSERT INTO patient (id, mrn, allergy) VALUES (6,'MRN6','penicillin');",
    );
    worker
        .start_connector(ConnectorConfig::new("pgcdc", props.clone()))
        .await
        .unwrap();
    let got = wait_for(&bootstrap, topic, 9, 60);
    let ev: Vec<Json> = values(&got).into_iter().skip(7).collect();
    assert_eq!(ev.len(), 2, "rows 5 and 6 once each: {ev:?}");
    assert_eq!(ev[0]["after"]["id"], 5);
    assert!(
        ev[0]["after"].get("allergy").is_none(),
        "row 5 predates the ALTER"
    );
    assert_eq!(ev[1]["after"]["id"], 6);
    assert_eq!(ev[1]["after"]["allergy"], "penicillin");
    assert!(ev.iter().all(|e| e["op"] == "c"), "no snapshot again");
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_identity_full_toast_truncate_and_key_changes() {
    common::init_tracing();
    let pg = Postgres::start();
    pg.exec(
        "CREATE TABLE note (id int PRIMARY KEY, status text NOT NULL, body text);
         CREATE TABLE vitals (id int PRIMARY KEY, pulse int NOT NULL, body text);
         ALTER TABLE vitals REPLICA IDENTITY FULL;",
    );
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    for t in ["ehr.public.note", "ehr.public.vitals"] {
        worker.embedded().unwrap().create_topic(t, 1, 1).unwrap();
    }
    let props = common::postgres_source(&pg, "pgcdc", "ehr")
        .with("table.include.list", "public.note,public.vitals")
        .with("skipped.operations", "none")
        .with("snapshot.mode", "no_data");
    worker
        .start_connector(ConnectorConfig::new("pgcdc", props))
        .await
        .unwrap();
    // Streaming starts from the slot's creation; wait for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pg
        .exec("SELECT count(*) FROM pg_replication_slots WHERE active")
        .trim()
        != "1"
    {
        assert!(Instant::now() < deadline, "the slot was never streamed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A body large and random enough to be stored out of line (TOASTed, not compressed inline).
    pg.exec(
        "INSERT INTO note VALUES (1, 'draft', (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)));
         UPDATE note SET status = 'final' WHERE id = 1;
         UPDATE note SET id = 2 WHERE id = 1;
         INSERT INTO vitals VALUES (1, 60, 'x'), (2, 61, 'y');
         UPDATE vitals SET pulse = 70 WHERE id = 1;
         DELETE FROM vitals WHERE id = 2;
         TRUNCATE vitals;",
    );
    let notes = values(&wait_for(&bootstrap, "ehr.public.note", 5, 30));
    assert_eq!(
        notes.len(),
        5,
        "c, u, then the key change as d + tombstone + c: {notes:?}"
    );
    assert_eq!(notes[0]["after"]["body"].as_str().unwrap().len(), 400 * 32);
    assert_eq!(notes[1]["op"], "u");
    assert_eq!(notes[1]["after"]["status"], "final");
    assert_eq!(
        notes[1]["after"]["body"], "__debezium_unavailable_value",
        "an unchanged TOASTed value is the placeholder"
    );
    assert_eq!(
        (notes[2]["op"].as_str(), notes[2]["before"]["id"].as_i64()),
        (Some("d"), Some(1))
    );
    assert!(notes[3].is_null(), "tombstone of the old key");
    assert_eq!(
        (notes[4]["op"].as_str(), notes[4]["after"]["id"].as_i64()),
        (Some("c"), Some(2))
    );

    let vitals = values(&wait_for(&bootstrap, "ehr.public.vitals", 6, 30));
    assert_eq!(vitals.len(), 6, "c, c, u, d, tombstone, t: {vitals:?}");
    // FULL identity: the whole old row on update and delete.
    assert_eq!(vitals[2]["before"]["pulse"], 60);
    assert_eq!(vitals[2]["before"]["body"], "x");
    assert_eq!(vitals[2]["after"]["pulse"], 70);
    assert_eq!(vitals[3]["before"]["pulse"], 61);
    assert_eq!(vitals[3]["before"]["body"], "y");
    assert!(vitals[4].is_null());
    assert_eq!(vitals[5]["op"], "t");
    assert!(vitals[5]["before"].is_null() && vitals[5]["after"].is_null());
    assert_eq!(vitals[5]["source"]["table"], "vitals");
    worker.shutdown().await;
}

/// One row of every type family, through the snapshot and through the slot, with JsonConverter's
/// schemas: the semantic type names, parameters and values Debezium documents for PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn type_families_match_debezium_both_ways() {
    common::init_tracing();
    let pg = Postgres::start();
    pg.exec(
        "CREATE EXTENSION hstore;
         CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
         CREATE TABLE family (
           id int PRIMARY KEY, flag boolean, b1 bit(1), b12 bit(12), vb varbit(20),
           small smallint, big bigint, o oid, r real, d double precision,
           dec1 numeric(10,3), nv numeric, m money, c char(5), vc varchar(10), t text,
           u uuid, j json, jb jsonb, x xml, bin bytea,
           born date, tm3 time(3), tm time, ttz timetz, ts3 timestamp(3), ts timestamp,
           tstz timestamptz, tstz2 timestamptz(2), iv interval,
           e mood, dom posint, ints int[], texts text[], h hstore, ip inet);
         INSERT INTO family VALUES (1, true, B'1', B'101000000001', B'101',
           -32768, 9223372036854775807, 4000000000, 1.5, -2.25,
           1234567.891, 12.345, 12.34, 'ab', 'Müller', 'note',
           'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1, 2]}', '{\"k\": [1, 2]}', '<a>1</a>', '\\x00ff10ab',
           '1999-12-31', '12:34:56.789', '12:34:56.000001', '12:34:56.789+02',
           '2024-02-29 23:59:59.123', '2024-02-29 23:59:59.123456',
           '2024-02-29 23:59:59.12+01', '2024-02-29 23:59:59.12+01', '1 year 2 months 3 days 04:05:06.5',
           'happy', 7, '{1,2,NULL}', '{a,\"b c\"}', 'a=>1, b=>NULL', '192.168.0.1/24');",
    );
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let topic = "types.public.family";
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    let props = common::postgres_source(&pg, "types", "types")
        .with("table.include.list", "public.family")
        .with("value.converter.schemas.enable", "true");
    worker
        .start_connector(ConnectorConfig::new("types", props))
        .await
        .unwrap();
    wait_for(&bootstrap, topic, 1, 60);
    // The same row again through the slot.
    pg.exec("INSERT INTO family SELECT 2, flag, b1, b12, vb, small, big, o, r, d, dec1, nv, m, c, vc, t, u, j, jb, x, bin, born, tm3, tm, ttz, ts3, ts, tstz, tstz2, iv, e, dom, ints, texts, h, ip FROM family WHERE id = 1;");
    let got = wait_for(&bootstrap, topic, 2, 30);
    let golden: Json =
        serde_json::from_str(include_str!("golden/postgres_type_families.json")).unwrap();
    common::golden::assert_matches(
        &got,
        &golden,
        "types.public.family.Envelope",
        &[1, 2],
        &["snapshot", "streaming"],
    );
    worker.shutdown().await;
}
