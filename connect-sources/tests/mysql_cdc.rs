//! MySQL/MariaDB CDC against a real MariaDB (started here, in a temporary directory) and the embedded
//! Kafka cluster: snapshot then binlog, Debezium's envelope, tombstones, schema changes, and a crash
//! (the connector killed, not stopped) followed by an ALTER TABLE that the restart must read with the
//! right columns.

mod common;

use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::{MariaDb, Stored};
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

fn connector(db: &MariaDb) -> Props {
    common::mariadb_source(db, "pdb", "clinical")
        .with("database.include.list", "patients")
        .with("table.include.list", "patients.patient")
        .with("include.schema.changes", "true")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_stream_crash_and_alter() {
    let db = MariaDb::start();
    db.exec(
        "CREATE DATABASE patients;
         CREATE TABLE patients.patient (id INT PRIMARY KEY, mrn VARCHAR(20) NOT NULL, born DATE, weight DECIMAL(5,2), seen TIMESTAMP(3) NULL);
         CREATE TABLE patients.audit (id INT PRIMARY KEY);
         INSERT INTO patients.patient VALUES (1,'MRN1','1980-02-03',70.50,'2024-01-02 03:04:05.678'),(2,'MRN2',NULL,NULL,NULL),(3,'MRN3','2001-12-31',3.25,NULL);
         INSERT INTO patients.audit VALUES (1);",
    );
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let topic = "clinical.patients.patient";
    // Created up front only so the test's reader can poll them before the connector writes.
    for t in [topic, "clinical"] {
        worker.embedded().unwrap().create_topic(t, 1, 1).unwrap();
    }
    worker
        .start_connector(ConnectorConfig::new("pdb", connector(&db)))
        .await
        .unwrap();

    // Snapshot: three reads, marked first / true / last, at one binlog position.
    let got = wait_for(&bootstrap, topic, 3, 60);
    assert_eq!(got.len(), 3, "snapshot records");
    let ev: Vec<Json> = got.iter().map(|s| json(s.payload())).collect();
    assert!(ev.iter().all(|e| e["op"] == "r"));
    assert_eq!(ev[0]["source"]["snapshot"], "first");
    assert_eq!(ev[1]["source"]["snapshot"], "true");
    assert_eq!(ev[2]["source"]["snapshot"], "last");
    assert_eq!(ev[0]["source"]["connector"], "mariadb");
    assert_eq!(ev[0]["source"]["name"], "clinical");
    assert_eq!(ev[0]["source"]["db"], "patients");
    assert_eq!(ev[0]["source"]["table"], "patient");
    assert_eq!(ev[0]["after"]["mrn"], "MRN1");
    assert_eq!(ev[0]["after"]["born"], 3685); // days since the epoch
    assert_eq!(ev[0]["after"]["seen"], "2024-01-02T03:04:05.678Z");
    assert_eq!(
        json(got[0].key.as_deref().unwrap()),
        serde_json::json!({"id": 1})
    );
    // Schema changes of the captured table, keyed by database, on the prefix topic.
    let schema = wait_for(&bootstrap, "clinical", 1, 10);
    assert!(schema.iter().any(|s| json(s.payload())["ddl"]
        .as_str()
        .is_some_and(|d| d.contains("CREATE TABLE `patient`"))));
    assert!(!schema.iter().any(|s| json(s.payload())["ddl"]
        .as_str()
        .is_some_and(|d| d.contains("`audit`"))));

    // Streaming: insert, update, delete in one transaction, then a tombstone after the delete.
    db.exec(
        "BEGIN; INSERT INTO patients.patient (id, mrn) VALUES (4,'MRN4'); UPDATE patients.patient SET mrn='MRN2b' WHERE id=2; DELETE FROM patients.patient WHERE id=3; COMMIT;
         INSERT INTO patients.audit VALUES (2);",
    );
    let got = wait_for(&bootstrap, topic, 7, 30);
    assert_eq!(got.len(), 7, "3 reads + c, u, d and a tombstone");
    let c = json(got[3].payload());
    assert_eq!(
        (c["op"].as_str(), c["after"]["id"].as_i64()),
        (Some("c"), Some(4))
    );
    assert_eq!(c["source"]["snapshot"], "false");
    assert!(c["source"]["gtid"]
        .as_str()
        .is_some_and(|g| g.starts_with("0-1-")));
    let u = json(got[4].payload());
    assert_eq!(
        (u["before"]["mrn"].as_str(), u["after"]["mrn"].as_str()),
        (Some("MRN2"), Some("MRN2b"))
    );
    let d = json(got[5].payload());
    assert_eq!(
        (d["op"].as_str(), d["before"]["id"].as_i64()),
        (Some("d"), Some(3))
    );
    assert!(d["after"].is_null());
    assert!(got[6].value.is_none(), "tombstone after the delete");
    assert_eq!(
        json(got[6].key.as_deref().unwrap()),
        serde_json::json!({"id": 3})
    );
    // Give the offsets time to be stored, then kill the connector (no stop).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    worker.abort_connector("pdb").await.unwrap();

    // While it is down: the table changes shape, and rows are written before and after.
    db.exec(
        "INSERT INTO patients.patient (id, mrn) VALUES (5,'MRN5');
         ALTER TABLE patients.patient ADD COLUMN allergy VARCHAR(40) NULL AFTER mrn;
         INSERT INTO patients.patient (id, mrn, allergy) VALUES (6,'MRN6','penicillin');",
    );
    worker
        .start_connector(ConnectorConfig::new("pdb", connector(&db)))
        .await
        .unwrap();
    let got = wait_for(&bootstrap, topic, 9, 60);
    let ev: Vec<Json> = got.iter().skip(7).map(|s| json(s.payload())).collect();
    assert_eq!(ev.len(), 2, "rows 5 and 6 once each: {ev:?}");
    assert_eq!(ev[0]["after"]["id"], 5);
    assert!(
        ev[0]["after"].get("allergy").is_none(),
        "row 5 predates the ALTER"
    );
    assert_eq!(ev[1]["after"]["id"], 6);
    assert_eq!(ev[1]["after"]["allergy"], "penicillin");
    // No snapshot was taken again.
    assert!(ev.iter().all(|e| e["op"] == "c"));
    let schema = wait_for(&bootstrap, "clinical", 2, 10);
    assert!(schema.iter().any(|s| json(s.payload())["ddl"]
        .as_str()
        .is_some_and(|d| d.contains("ADD COLUMN allergy"))));
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_password_names_the_keys_not_the_password() {
    let db = MariaDb::start();
    db.exec("CREATE USER 'cdc'@'%' IDENTIFIED BY 'right-secret'; GRANT ALL ON *.* TO 'cdc'@'%';");
    let worker = worker().await;
    let props = connector(&db)
        .with("database.user", "cdc")
        .with("database.password", "wrong-secret-value");
    let handle = worker
        .start_connector(ConnectorConfig::new("pdb", props))
        .await
        .unwrap();
    let start = Instant::now();
    let trace = loop {
        if let Some(t) = handle.status().iter().find_map(|t| t.error.clone()) {
            break t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "task did not fail"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        trace.contains("database.user") && trace.contains("database.password"),
        "{trace}"
    );
    assert!(!trace.contains("wrong-secret-value"));
    worker.shutdown().await;
}

/// One row of every type family, through the binlog and through the snapshot, with JsonConverter's
/// schemas: the semantic type names, parameters and values Debezium documents for MySQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn type_families_match_debezium_both_ways() {
    let db = MariaDb::start();
    db.exec(
        "CREATE DATABASE patients;
         CREATE TABLE patients.patient (
           id INT UNSIGNED PRIMARY KEY, flag TINYINT(1), small SMALLINT UNSIGNED, big BIGINT UNSIGNED,
           f FLOAT, d DOUBLE, dec1 DECIMAL(10,3), name VARCHAR(10) CHARACTER SET latin1, doc JSON,
           bin VARBINARY(4), born DATE, t TIME(6), dt DATETIME(3), dt6 DATETIME(6), ts TIMESTAMP(2) NULL,
           y YEAR, e ENUM('low','high'), s SET('a','b','c'), b1 BIT(1), b12 BIT(12));
         INSERT INTO patients.patient VALUES (4294967295, 1, 65535, 18446744073709551615, 1.5, -2.25,
           1234567.891, 'Müller', '{\"k\": [1, 2]}', x'00ff10ab', '1999-12-31', '-12:34:56.000001',
           '2024-02-29 23:59:59.123', '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.12', 2024,
           'high', 'a,c', b'1', b'101000000001');",
    );
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let topic = "clinical.patients.patient";
    worker
        .embedded()
        .unwrap()
        .create_topic(topic, 1, 1)
        .unwrap();
    let props = connector(&db).with("value.converter.schemas.enable", "true");
    worker
        .start_connector(ConnectorConfig::new("pdb", props))
        .await
        .unwrap();
    let snap = wait_for(&bootstrap, topic, 1, 60);
    // The same row again through the binlog.
    db.exec("INSERT INTO patients.patient SELECT 7, flag, small, big, f, d, dec1, name, doc, bin, born, t, dt, dt6, ts, y, e, s, b1, b12 FROM patients.patient WHERE id = 4294967295;");
    let got = wait_for(&bootstrap, topic, 2, 30);
    assert_eq!(got.len(), 2);
    let _ = snap;
    let golden: Json =
        serde_json::from_str(include_str!("golden/mysql_type_families.json")).unwrap();
    common::golden::assert_matches(
        &got,
        &golden,
        "clinical.patients.patient.Envelope",
        &[4_294_967_295, 7],
        &["snapshot", "binlog"],
    );
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transaction_metadata_begin_end_and_the_event_block() {
    let db = MariaDb::start();
    db.exec(
        "CREATE DATABASE patients;
         CREATE TABLE patients.patient (id INT PRIMARY KEY, mrn VARCHAR(20));
         CREATE TABLE patients.allergy (id INT PRIMARY KEY, patient_id INT, substance VARCHAR(40));
         CREATE TABLE patients.audit (id INT PRIMARY KEY);",
    );
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let props = connector(&db)
        .with("table.include.list", "patients.patient,patients.allergy")
        .with("provide.transaction.metadata", "true");
    worker
        .start_connector(ConnectorConfig::new("pdb", props))
        .await
        .unwrap();
    // Streaming has started once the (empty) snapshot's schema events are out.
    wait_for(&bootstrap, "clinical", 2, 60);
    // The task status tells where it is, as Debezium's snapshot and streaming metrics do.
    let c = worker.connector("pdb").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let progress = loop {
        let p = c.status()[0].progress.clone().unwrap_or_default();
        if p.starts_with("streaming") || Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        progress.starts_with("streaming the binlog from binlog.")
            && progress.ends_with("snapshot: 2 tables, 0 rows"),
        "{progress}"
    );
    db.exec(
        "BEGIN; INSERT INTO patients.patient VALUES (1,'MRN1');
         INSERT INTO patients.allergy VALUES (10,1,'penicillin'),(11,1,'latex');
         UPDATE patients.patient SET mrn='MRN1-A' WHERE id=1; COMMIT;
         INSERT INTO patients.audit VALUES (1);
         INSERT INTO patients.patient VALUES (2,'MRN2');",
    );
    let tx = wait_for(&bootstrap, "clinical.transaction", 4, 60);
    let tx: Vec<Json> = tx.iter().map(|s| json(s.payload())).collect();
    assert_eq!(
        tx.len(),
        4,
        "BEGIN/END of the two transactions with captured rows only: {tx:?}"
    );
    assert_eq!(tx[0]["status"], "BEGIN");
    assert_eq!(tx[0]["event_count"], Json::Null);
    assert_eq!(tx[1]["status"], "END");
    assert_eq!(tx[1]["id"], tx[0]["id"]);
    assert_eq!(tx[1]["event_count"], 4);
    assert_eq!(
        tx[1]["data_collections"],
        serde_json::json!([
            {"data_collection": "patients.patient", "event_count": 2},
            {"data_collection": "patients.allergy", "event_count": 2}
        ])
    );
    // MariaDB's GTID is the transaction id.
    let id = tx[0]["id"].as_str().unwrap();
    assert_eq!(id.split('-').count(), 3, "{id}");
    assert_eq!(tx[3]["event_count"], 1);
    assert_ne!(tx[2]["id"], tx[0]["id"]);

    let patients = wait_for(&bootstrap, "clinical.patients.patient", 3, 30);
    let allergies = wait_for(&bootstrap, "clinical.patients.allergy", 2, 30);
    let block = |s: &connect_test_support::Stored| json(s.payload())["transaction"].clone();
    assert_eq!(
        block(&patients[0]),
        serde_json::json!({"id": id, "total_order": 1, "data_collection_order": 1})
    );
    assert_eq!(block(&allergies[0])["total_order"], 2);
    assert_eq!(block(&allergies[1])["data_collection_order"], 2);
    assert_eq!(
        block(&patients[1]),
        serde_json::json!({"id": id, "total_order": 4, "data_collection_order": 2})
    );
    assert_eq!(block(&patients[2])["total_order"], 1);
    worker.shutdown().await;
}

/// What a Debezium connector named `pdb` leaves in Kafka: `offset` in Kafka Connect's offsets topic
/// and a schema history holding the `create` statement of `patients` at (`file0`, `pos0`). Returns
/// the cluster and a worker using that offsets topic, with the connector started.
async fn debezium_left_behind(
    db: &MariaDb,
    offset: &Json,
    file0: &str,
    pos0: u64,
    create: &str,
) -> (connect_core::runtime::EmbeddedCluster, Worker) {
    let cluster = connect_core::runtime::EmbeddedCluster::start(1).unwrap();
    let bootstrap = cluster.bootstrap_servers().to_owned();
    for t in [
        "connect-offsets",
        "schema-changes.clinical",
        "clinical.patients.patient",
    ] {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    connect_test_support::produce(
        &bootstrap,
        "connect-offsets",
        &[(
            Some(br#"["pdb",{"server":"clinical"}]"#),
            Some(offset.to_string().as_bytes()),
        )],
    );
    let position =
        serde_json::json!({"ts_sec": 1_764_000_000, "file": file0, "pos": pos0, "server_id": 1});
    let history = [
        serde_json::json!({"source": {"server": "clinical"}, "position": position,
            "ts_ms": 1_764_000_000_000_i64, "databaseName": "",
            "ddl": "SET character_set_server=utf8mb4, collation_server=utf8mb4_general_ci",
            "tableChanges": []}),
        serde_json::json!({"source": {"server": "clinical"}, "position": position,
            "ts_ms": 1_764_000_000_000_i64, "databaseName": "patients",
            "ddl": create, "tableChanges": []}),
    ]
    .map(|h| h.to_string());
    connect_test_support::produce(
        &bootstrap,
        "schema-changes.clinical",
        &history
            .iter()
            .map(|h| (None, Some(h.as_bytes())))
            .collect::<Vec<_>>(),
    );
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    let worker = Worker::start(
        Props::new()
            .with("bootstrap.servers", bootstrap.as_str())
            .with("offset.storage.topic", "connect-offsets")
            .with("offset.storage.replication.factor", "1")
            .with("offset.flush.interval.ms", "100"),
        registry,
    )
    .await
    .unwrap();
    worker
        .start_connector(ConnectorConfig::new("pdb", connector(db)))
        .await
        .unwrap();
    (cluster, worker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn takes_over_a_debezium_offset_and_schema_history() {
    let db = MariaDb::start();
    db.exec("CREATE DATABASE patients;");
    let (file0, pos0) = db.master_status();
    let create = "CREATE TABLE `patient` (`id` int(11) NOT NULL, `mrn` varchar(20) DEFAULT NULL, PRIMARY KEY (`id`))";
    db.exec(&format!(
        "USE patients; {create}; INSERT INTO patient VALUES (1,'MRN1'),(2,'MRN2');"
    ));
    // Where a Debezium connector stopped, having read rows 1 and 2.
    let (file, pos) = db.master_status();
    db.exec(
        "INSERT INTO patients.patient VALUES (3,'MRN3');
         UPDATE patients.patient SET mrn='MRN1-B' WHERE id=1;",
    );

    let offset =
        serde_json::json!({"ts_sec": 1_764_000_000, "file": file, "pos": pos, "server_id": 1});
    let (cluster, worker) = debezium_left_behind(&db, &offset, &file0, pos0, create).await;
    let bootstrap = cluster.bootstrap_servers().to_owned();
    let got = wait_for(&bootstrap, "clinical.patients.patient", 2, 60);
    let ev: Vec<Json> = got.iter().map(|s| json(s.payload())).collect();
    assert_eq!(
        ev.len(),
        2,
        "only the changes after Debezium's offset: {ev:?}"
    );
    assert_eq!(ev[0]["op"], "c");
    assert_eq!(ev[0]["after"]["id"], 3);
    assert_eq!(ev[1]["op"], "u");
    assert_eq!(ev[1]["before"]["mrn"], "MRN1");
    assert_eq!(ev[1]["after"]["mrn"], "MRN1-B");
    assert_eq!(ev[0]["source"]["file"], file.as_str());
    // Our offsets continue in the same record, readable by Debezium.
    let stored = wait_for(&bootstrap, "connect-offsets", 2, 30);
    let last = stored.last().unwrap();
    assert_eq!(
        last.key.as_deref(),
        Some(&br#"["pdb",{"server":"clinical"}]"#[..])
    );
    let o = json(last.payload());
    assert_eq!(o["file"], file.as_str());
    assert!(o["pos"].as_u64().unwrap() > pos, "{o}");
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_inside_a_multi_row_event_resumes_at_the_next_row() {
    let db = MariaDb::start();
    db.exec("CREATE DATABASE patients;");
    let (file0, pos0) = db.master_status();
    let create = "CREATE TABLE `patient` (`id` int(11) NOT NULL, `mrn` varchar(20) DEFAULT NULL, PRIMARY KEY (`id`))";
    db.exec(&format!("USE patients; {create};"));
    let (file, tx) = db.master_status();
    // One transaction: GTID (event 0), table map (1), 3 rows (2), table map (3), 2 rows (4).
    db.exec(
        "BEGIN; INSERT INTO patients.patient VALUES (1,'a'),(2,'b'),(3,'c');
         INSERT INTO patients.patient VALUES (4,'d'),(5,'e'); COMMIT;",
    );
    // Acknowledged up to row 2 of the first rows event, as Debezium stores it.
    let offset = serde_json::json!({"file": file, "pos": tx, "event": 2, "row": 2, "server_id": 1});
    let (cluster, worker) = debezium_left_behind(&db, &offset, &file0, pos0, create).await;
    let bootstrap = cluster.bootstrap_servers().to_owned();
    let got = wait_for(&bootstrap, "clinical.patients.patient", 3, 60);
    std::thread::sleep(Duration::from_secs(1));
    let got = wait_for(&bootstrap, "clinical.patients.patient", got.len() + 1, 1);
    let ids: Vec<i64> = got
        .iter()
        .map(|s| json(s.payload())["after"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 4, 5], "neither a skipped nor a repeated row");
    let rows: Vec<i64> = got
        .iter()
        .map(|s| json(s.payload())["source"]["row"].as_i64().unwrap())
        .collect();
    assert_eq!(
        rows,
        [2, 0, 1],
        "source.row is the row's index in its event"
    );
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_row_metadata_catches_a_schema_change_the_history_missed() {
    let db = MariaDb::start_with(&["--binlog-row-metadata=FULL"]);
    db.exec(
        "CREATE DATABASE patients;
         CREATE TABLE patients.patient (id INT PRIMARY KEY, mrn VARCHAR(20), family VARCHAR(40));",
    );
    let worker = worker().await;
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let c = worker
        .start_connector(ConnectorConfig::new("pdb", connector(&db)))
        .await
        .unwrap();
    wait_for(&bootstrap, "clinical", 1, 60);
    db.exec("INSERT INTO patients.patient VALUES (1, 'MRN1', 'Doe');");
    let got = wait_for(&bootstrap, "clinical.patients.patient", 1, 60);
    assert_eq!(json(got[0].payload())["after"]["mrn"], "MRN1");
    // A rename kept out of the binlog: same column count and types, so without the column names
    // every later row would be decoded under the old names.
    db.exec(
        "SET sql_log_bin=0; ALTER TABLE patients.patient RENAME COLUMN mrn TO mrn_hidden;
         SET sql_log_bin=1; INSERT INTO patients.patient VALUES (2, 'MRN2', 'Roe');",
    );
    let error = common::failure(&c, Duration::from_secs(30)).await;
    assert!(
        error.contains("patients.patient")
            && error.contains("binlog_row_metadata=FULL")
            && error.contains("mrn_hidden")
            && error.contains("snapshot.mode=recovery"),
        "{error}"
    );
    assert!(
        !error.contains("MRN2") && !error.contains("Roe"),
        "values in the error: {error}"
    );
    assert_eq!(
        topic_count(&bootstrap, "clinical.patients.patient"),
        1,
        "nothing emitted under the wrong names"
    );
    worker.shutdown().await;
}

fn topic_count(bootstrap: &str, topic: &str) -> usize {
    connect_test_support::topic_records(bootstrap, topic).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_binlog_file_this_server_lacks_is_found_again_by_gtid() {
    let db = MariaDb::start();
    db.exec("CREATE DATABASE patients;");
    let (file0, pos0) = db.master_status();
    let create = "CREATE TABLE `patient` (`id` int(11) NOT NULL, `mrn` varchar(20) DEFAULT NULL, PRIMARY KEY (`id`))";
    db.exec(&format!(
        "USE patients; {create}; INSERT INTO patient VALUES (1,'MRN1'),(2,'MRN2');"
    ));
    let gtids = db.exec("SELECT @@gtid_binlog_pos").trim().to_owned();
    db.exec(
        "INSERT INTO patients.patient VALUES (3,'MRN3');
         UPDATE patients.patient SET mrn='MRN1-B' WHERE id=1;",
    );
    // Stored while reading another server (a primary that failed over): its file names are not
    // this server's, its GTIDs are.
    let offset = serde_json::json!({"file": "mariadb-bin.000077", "pos": 98765,
        "gtids": gtids, "server_id": 1});
    let (cluster, worker) = debezium_left_behind(&db, &offset, &file0, pos0, create).await;
    let bootstrap = cluster.bootstrap_servers().to_owned();
    let got = wait_for(&bootstrap, "clinical.patients.patient", 2, 60);
    let ev: Vec<Json> = got.iter().map(|s| json(s.payload())).collect();
    assert_eq!(ev.len(), 2, "only the changes after the GTID state: {ev:?}");
    assert_eq!(ev[0]["after"]["id"], 3);
    assert_eq!(ev[1]["op"], "u");
    let (file, _) = db.master_status();
    assert_eq!(ev[1]["source"]["file"], file.as_str(), "this server's file");
    let stored = wait_for(&bootstrap, "connect-offsets", 2, 30);
    let o = json(stored.last().unwrap().payload());
    assert_eq!(o["file"], file.as_str(), "{o}");
    worker.shutdown().await;
}
