//! The JDBC sink against real databases (PostgreSQL and MariaDB started by the tests), through the
//! runtime and the embedded Kafka cluster: upserts and deletes with schemas (Kafka Connect logical
//! types and Debezium semantic types), tables created and evolved, schemaless records mapped by
//! column name, refused rows to the DLQ without their values, and the task failing where Kafka
//! Connect's does.

mod common;

use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::{TaskState, Worker};
use connect_test_support::{topic_records, MariaDb, Postgres};
use serde_json::{json, Value as Json};

use common::kafka::{committed, produce_keyed};

/// A database under test.
enum Db {
    Pg(Postgres),
    My(MariaDb),
}

impl Db {
    fn postgres() -> Db {
        Db::Pg(Postgres::start())
    }
    fn mariadb() -> Db {
        let m = MariaDb::start();
        m.exec("CREATE DATABASE sinkdb");
        Db::My(m)
    }
    fn url(&self) -> String {
        match self {
            Db::Pg(p) => format!("jdbc:postgresql://127.0.0.1:{}/postgres", p.port()),
            Db::My(m) => format!("jdbc:mariadb://127.0.0.1:{}/sinkdb", m.port()),
        }
    }
    fn user(&self) -> &'static str {
        match self {
            Db::Pg(_) => "postgres",
            Db::My(_) => "root",
        }
    }
    /// Runs SQL in the sink's database; rows as lines with `|` between columns.
    fn query(&self, sql: &str) -> Result<String, String> {
        match self {
            Db::Pg(p) => p.try_exec(sql),
            Db::My(m) => m
                .try_exec(&format!("USE sinkdb; {sql}"))
                .map(|s| s.replace('\t', "|")),
        }
    }
    fn exec(&self, sql: &str) -> String {
        self.query(sql)
            .unwrap_or_else(|e| panic!("SQL failed: {e}\n{sql}"))
    }
}

async fn worker() -> Worker {
    common::kafka::worker(&[]).await
}

fn sink_props(db: &Db, name: &str, topic: &str, extra: &[(&str, &str)]) -> Props {
    let mut p = Props::new()
        .with("name", name)
        .with(
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector",
        )
        .with("topics", topic)
        .with("connection.url", db.url())
        .with("connection.user", db.user())
        .with(
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with("retry.backoff.ms", "200");
    for (k, v) in extra {
        p.set(*k, *v);
    }
    p
}

async fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A worker whose topic (created here) holds patients 1 to `n`, keyed by id.
async fn worker_with_patients(topic: &str, n: i32) -> Worker {
    let w = worker().await;
    w.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
    let records: Vec<(Vec<u8>, Vec<u8>)> =
        (1..=n).map(|i| (key(i), patient(i, "Doe", None))).collect();
    produce_keyed(w.bootstrap_servers(), topic, &records);
    w
}

fn key(id: i32) -> Vec<u8> {
    json!({
        "schema": {"type": "struct", "optional": false, "fields": [
            {"field": "id", "type": "int32", "optional": false}
        ]},
        "payload": {"id": id}
    })
    .to_string()
    .into_bytes()
}

/// A patient value with schema: Kafka Connect's Decimal and Timestamp, Debezium's Date and Json.
fn patient(id: i32, family: &str, phone: Option<&str>) -> Vec<u8> {
    let mut fields = vec![
        json!({"field": "id", "type": "int32", "optional": false}),
        json!({"field": "mrn", "type": "string", "optional": false}),
        json!({"field": "family", "type": "string", "optional": true}),
        json!({"field": "birth_date", "type": "int32", "optional": true, "name": "io.debezium.time.Date", "version": 1}),
        json!({"field": "admitted", "type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}),
        json!({"field": "weight", "type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {"scale": "2"}}),
        json!({"field": "active", "type": "boolean", "optional": false}),
        json!({"field": "notes", "type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1}),
    ];
    let mut payload = json!({
        "id": id,
        "mrn": format!("MRN{id:03}"),
        "family": family,
        "birth_date": 3653 + id,
        "admitted": 1_700_000_000_123i64 + id as i64 * 1000,
        // 12.50 as Decimal(scale 2): unscaled 1250 = 0x04E2.
        "weight": "BOI=",
        "active": id % 2 == 0,
        "notes": format!("{{\"visits\":{id}}}"),
    });
    if let Some(p) = phone {
        fields.push(json!({"field": "phone", "type": "string", "optional": true}));
        payload["phone"] = json!(p);
    }
    json!({
        "schema": {"type": "struct", "optional": false, "name": "clinical.patient.Value", "fields": fields},
        "payload": payload
    })
    .to_string()
    .into_bytes()
}

fn upsert_config(db: &Db, name: &str, topic: &str) -> Props {
    sink_props(
        db,
        name,
        topic,
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("delete.enabled", "true"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
            ("table.name.format", "patient_${topic}"),
        ],
    )
}

/// Inserts 30 patients, updates ten, deletes ten and brings one back, all in one go (so batches
/// hold several operations on one key); then a new optional field arrives.
async fn upserts_deletes_and_evolution(db: Db) {
    let w = worker().await;
    let topic = "registrations";
    w.embedded().unwrap().create_topic(topic, 2, 1).unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = (1..=30)
        .map(|i| (key(i), patient(i, "Doe", None)))
        .collect();
    records.extend((1..=10).map(|i| (key(i), patient(i, "Roe", None))));
    records.extend((21..=30).map(|i| (key(i), Vec::new())));
    records.push((key(25), patient(25, "Back", None)));
    produce_keyed(&bootstrap, topic, &records);
    let table = "patient_registrations";
    w.start_connector(ConnectorConfig::new(
        "jdbc-upsert",
        upsert_config(&db, "jdbc-upsert", topic),
    ))
    .await
    .unwrap();
    wait_for("21 rows", 60, || {
        db.query(&format!("SELECT count(*) FROM {table}"))
            .map(|s| s.trim().to_owned())
            == Ok("21".into())
    })
    .await;
    wait_for("the updates", 30, || {
        db.query(&format!(
            "SELECT count(*) FROM {table} WHERE family = 'Roe'"
        ))
        .map(|s| s.trim().to_owned())
            == Ok("10".into())
    })
    .await;
    let ids = db.exec(&format!("SELECT id FROM {table} ORDER BY id"));
    let expected: Vec<String> = (1..=20).chain([25]).map(|i| i.to_string()).collect();
    assert_eq!(ids.lines().collect::<Vec<_>>(), expected);
    let row = db.exec(&format!(
        "SELECT id, mrn, family, birth_date, admitted, weight, active, notes FROM {table} WHERE id = 2"
    ));
    let expected = match db {
        Db::Pg(_) => "2|MRN002|Roe|1980-01-04|2023-11-14 22:13:22.123|12.50|t|{\"visits\": 2}",
        Db::My(_) => "2|MRN002|Roe|1980-01-04|2023-11-14 22:13:22.123000|12.50|1|{\"visits\":2}",
    };
    assert_eq!(row.trim(), expected);
    assert_eq!(
        db.exec(&format!("SELECT family FROM {table} WHERE id = 25"))
            .trim(),
        "Back"
    );

    // A new optional field: the column is added (nullable) and filled.
    produce_keyed(
        &bootstrap,
        topic,
        &[(key(3), patient(3, "Roe", Some("555-0100")))],
    );
    wait_for("the evolved column", 60, || {
        db.query(&format!("SELECT phone FROM {table} WHERE id = 3"))
            .map(|s| s.trim().to_owned())
            == Ok("555-0100".into())
    })
    .await;
    // Every record's offset is committed once written.
    let total = records.len() as i64 + 1;
    wait_for("the offsets", 30, || {
        committed(&bootstrap, "jdbc-upsert", topic, 2)
            .iter()
            .sum::<i64>()
            == total
    })
    .await;
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upserts_deletes_and_evolves() {
    let _watchdog = connect_test_support::watchdog(
        "postgres_upserts_deletes_and_evolves",
        Duration::from_secs(240),
    );
    upserts_deletes_and_evolution(Db::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_upserts_deletes_and_evolves() {
    let _watchdog = connect_test_support::watchdog(
        "mariadb_upserts_deletes_and_evolves",
        Duration::from_secs(240),
    );
    upserts_deletes_and_evolution(Db::mariadb()).await;
}

/// A row the table refuses goes to the DLQ, naming the table and what failed but not the value;
/// the rest of its batch is committed.
async fn refused_rows_go_to_the_dlq(db: Db) {
    db.exec(
        "CREATE TABLE claims (claim_id INT PRIMARY KEY, member VARCHAR(12) NOT NULL, amount INT CHECK (amount >= 0))",
    );
    let w = worker().await;
    let topic = "claims";
    w.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
    w.embedded()
        .unwrap()
        .create_topic("dlq.claims", 1, 1)
        .unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    let claim = |id: i32, member: &str, amount: i64| {
        (
            json!({"claim_id": id}).to_string().into_bytes(),
            json!({"claim_id": id, "member": member, "amount": amount})
                .to_string()
                .into_bytes(),
        )
    };
    produce_keyed(
        &bootstrap,
        topic,
        &[
            claim(1, "M-1", 10),
            claim(2, "SSN-123-45-6789-TOO-LONG", 20),
            claim(3, "M-3", -5),
            claim(4, "M-4", 40),
        ],
    );
    let p = sink_props(
        &db,
        "jdbc-dlq",
        topic,
        &[
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "claim_id"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", "dlq.claims"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    w.start_connector(ConnectorConfig::new("jdbc-dlq", p))
        .await
        .unwrap();
    wait_for("two DLQ records", 60, || {
        topic_records(&bootstrap, "dlq.claims").len() >= 2
    })
    .await;
    wait_for("the good claims", 30, || {
        db.query("SELECT claim_id FROM claims ORDER BY claim_id")
            .map(|s| s.trim().replace('\n', ","))
            == Ok("1,4".into())
    })
    .await;
    let dlq = topic_records(&bootstrap, "dlq.claims");
    assert_eq!(dlq.len(), 2);
    for (rec, offset) in dlq.iter().zip([1, 2]) {
        let headers: String = rec
            .headers
            .iter()
            .map(|(k, v)| format!("{k}={}\n", String::from_utf8_lossy(v)))
            .collect();
        assert!(
            headers.contains(&format!("__connect.errors.offset={offset}")),
            "{headers}"
        );
        assert!(headers.contains("table claims"), "{headers}");
        assert!(headers.contains("SQLSTATE"), "{headers}");
        assert!(
            !headers.contains("6789") && !headers.contains("-5"),
            "a value in the headers: {headers}"
        );
    }
    wait_for("the offsets", 30, || {
        committed(&bootstrap, "jdbc-dlq", topic, 1) == vec![4]
    })
    .await;
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refused_rows_go_to_the_dlq() {
    let _watchdog = connect_test_support::watchdog(
        "postgres_refused_rows_go_to_the_dlq",
        Duration::from_secs(240),
    );
    refused_rows_go_to_the_dlq(Db::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_refused_rows_go_to_the_dlq() {
    let _watchdog = connect_test_support::watchdog(
        "mariadb_refused_rows_go_to_the_dlq",
        Duration::from_secs(240),
    );
    refused_rows_go_to_the_dlq(Db::mariadb()).await;
}

/// Schemaless records are written to an existing table by column name (in another case too);
/// a missing table with auto.create, or a field without a column, fails the task naming the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemaless_records_map_by_column_name_and_cannot_create_tables() {
    let _watchdog = connect_test_support::watchdog(
        "schemaless_records_map_by_column_name_and_cannot_create_tables",
        Duration::from_secs(240),
    );
    let db = Db::postgres();
    db.exec("CREATE TABLE visits (id BIGINT PRIMARY KEY, \"Ward\" TEXT, seen DATE, seen_at TIMESTAMPTZ, flags TEXT[], doc JSONB)");
    let w = worker().await;
    let bootstrap = w.bootstrap_servers().to_owned();
    for t in ["visits", "unknown_table", "visits_extra"] {
        w.embedded().unwrap().create_topic(t, 1, 1).unwrap();
    }
    let visit = |id: i64, extra: Json| {
        let mut v = json!({"id": id, "ward": "ICU", "seen": "2026-11-30", "seen_at": "2026-11-30T10:00:00+01:00", "flags": ["a", "b\"c"], "doc": {"k": [1, 2]}});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        (
            json!({"id": id}).to_string().into_bytes(),
            v.to_string().into_bytes(),
        )
    };
    produce_keyed(
        &bootstrap,
        "visits",
        &[visit(1, json!({})), visit(2, json!({}))],
    );
    let schemaless = [
        ("key.converter.schemas.enable", "false"),
        ("value.converter.schemas.enable", "false"),
        ("insert.mode", "upsert"),
        ("pk.mode", "record_value"),
        ("pk.fields", "id"),
    ];
    w.start_connector(ConnectorConfig::new(
        "visits",
        sink_props(&db, "visits", "visits", &schemaless),
    ))
    .await
    .unwrap();
    wait_for("the visits", 60, || {
        db.query("SELECT count(*) FROM visits")
            .map(|s| s.trim().to_owned())
            == Ok("2".into())
    })
    .await;
    assert_eq!(
        db.exec("SELECT id, \"Ward\", seen, seen_at AT TIME ZONE 'UTC', flags, doc FROM visits WHERE id = 1").trim(),
        "1|ICU|2026-11-30|2026-11-30 09:00:00|{a,\"b\\\"c\"}|{\"k\": [1, 2]}"
    );

    // No table, auto.create on, no schema: the task fails saying so.
    produce_keyed(&bootstrap, "unknown_table", &[visit(3, json!({}))]);
    let mut create = schemaless.to_vec();
    create.push(("auto.create", "true"));
    let c = w
        .start_connector(ConnectorConfig::new(
            "create",
            sink_props(&db, "create", "unknown_table", &create),
        ))
        .await
        .unwrap();
    wait_for("the task to fail", 60, || {
        c.status()[0].state == TaskState::Failed
    })
    .await;
    let err = c.status()[0].error.clone().unwrap_or_default();
    assert!(
        err.contains("schemas.enable=true") && err.contains("unknown_table"),
        "{err}"
    );

    // A field with no column and auto.evolve off: the task fails naming the field, not its value.
    produce_keyed(
        &bootstrap,
        "visits_extra",
        &[visit(4, json!({"diagnosis": "secret-dx"}))],
    );
    let mut extra = schemaless.to_vec();
    extra.push(("table.name.format", "visits"));
    let c = w
        .start_connector(ConnectorConfig::new(
            "extra",
            sink_props(&db, "extra", "visits_extra", &extra),
        ))
        .await
        .unwrap();
    wait_for("the task to fail", 60, || {
        c.status()[0].state == TaskState::Failed
    })
    .await;
    let err = c.status()[0].error.clone().unwrap_or_default();
    assert!(
        err.contains("diagnosis") && err.contains("auto.evolve") && !err.contains("secret-dx"),
        "{err}"
    );
    assert_eq!(db.exec("SELECT count(*) FROM visits").trim(), "2");
    w.shutdown().await;
}

/// The database killed (SIGKILL) in the middle of the stream and started again: the batches that
/// failed are written again on a new connection, nothing is lost and the task keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_killed_mid_stream_loses_nothing() {
    let _watchdog = connect_test_support::watchdog(
        "a_database_killed_mid_stream_loses_nothing",
        Duration::from_secs(240),
    );
    let mut db = Db::postgres();
    db.exec("CREATE TABLE readings (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
    let w = worker().await;
    let topic = "readings";
    w.embedded().unwrap().create_topic(topic, 1, 1).unwrap();
    let bootstrap = w.bootstrap_servers().to_owned();
    let p = sink_props(
        &db,
        "readings",
        topic,
        &[
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("max.retries", "30"),
            ("retry.backoff.ms", "500"),
            ("connection.attempts", "2"),
            ("connection.backoff.ms", "500"),
        ],
    );
    let c = w
        .start_connector(ConnectorConfig::new("readings", p))
        .await
        .unwrap();
    let batch = |from: i64| -> Vec<(Vec<u8>, Vec<u8>)> {
        (from..from + 100)
            .map(|i| {
                (
                    json!({"id": i}).to_string().into_bytes(),
                    json!({"id": i, "v": i * 2}).to_string().into_bytes(),
                )
            })
            .collect()
    };
    for chunk in 0..20i64 {
        produce_keyed(&bootstrap, topic, &batch(chunk * 100));
        if let Db::Pg(pg) = &mut db {
            match chunk {
                6 => pg.kill(),
                9 => pg.restart(),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_for("every reading", 120, || {
        db.query("SELECT count(*) FROM readings")
            .map(|s| s.trim().to_owned())
            == Ok("2000".into())
    })
    .await;
    assert_eq!(
        db.exec("SELECT count(*) FROM readings WHERE v = id * 2")
            .trim(),
        "2000"
    );
    assert!(!c.is_failed(), "{:?}", c.status());
    wait_for("the offsets", 30, || {
        committed(&bootstrap, "readings", topic, 1) == vec![2000]
    })
    .await;
    w.shutdown().await;
}

/// TLS to PostgreSQL with pgjdbc's URL parameters, against a server that refuses TCP without TLS:
/// `sslmode=verify-full&sslrootcert=ca.pem` writes the rows (over an encrypted session); a root
/// certificate that did not sign the server's fails the task naming the parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_verified_tls() {
    let pki = connect_test_support::TestPki::new();
    let path = |f: &str| pki.path(f);
    let db = Db::Pg(Postgres::start_tls(
        &pki.server_cert_pem,
        &pki.server_key_pem,
    ));
    let topic = "registrations.tls";
    let w = worker_with_patients(topic, 5).await;
    let with_tls = |name: &str, ca: &str| {
        let mut p = upsert_config(&db, name, topic);
        p.set(
            "connection.url",
            format!("{}?sslmode=verify-full&sslrootcert={}", db.url(), path(ca)),
        );
        p.set("table.name.format", format!("patient_{name}"));
        ConnectorConfig::new(name, p)
    };
    w.start_connector(with_tls("verified", "ca.pem"))
        .await
        .unwrap();
    wait_for("5 rows over TLS", 60, || {
        db.query("SELECT count(*) FROM patient_verified")
            .map(|s| s.trim().to_owned())
            == Ok("5".into())
    })
    .await;

    let wrong = w
        .start_connector(with_tls("wrongca", "other-ca.pem"))
        .await
        .unwrap();
    wait_for("the wrong CA to fail the task", 60, || wrong.is_failed()).await;
    let e = wrong.status()[0].error.clone().unwrap_or_default();
    assert!(
        e.contains("certificate") && e.contains("sslrootcert"),
        "a certificate error naming the parameters: {e}"
    );
    w.shutdown().await;
}

/// TLS to MariaDB with Connector/J's URL parameters, for an account that requires TLS (`REQUIRE
/// SSL`): MariaDB's `sslMode=verify-full&serverSslCert=ca.pem` and MySQL's older
/// `useSSL=true&verifyServerCertificate=false` (encrypted, unchecked) both write the rows; a CA that
/// did not sign the server's certificate fails the task naming the parameters; `sslMode=DISABLED`
/// is refused by the server and the task says which parameter to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_over_verified_tls() {
    let pki = connect_test_support::TestPki::new();
    let path = |f: &str| pki.path(f);
    let m = MariaDb::start_with(&[
        &format!("--ssl-ca={}", path("ca.pem")),
        &format!("--ssl-cert={}", path("server.pem")),
        &format!("--ssl-key={}", path("server.key")),
    ]);
    m.exec(
        "CREATE DATABASE sinkdb;
         CREATE USER 'tls'@'127.0.0.1' IDENTIFIED BY 'tls-pw' REQUIRE SSL;
         GRANT ALL ON sinkdb.* TO 'tls'@'127.0.0.1';",
    );
    let db = Db::My(m);
    let topic = "registrations.tls";
    let w = worker_with_patients(topic, 5).await;
    let with_params = |name: &str, params: String| {
        let mut p = upsert_config(&db, name, topic);
        p.set("connection.url", format!("{}?{params}", db.url()));
        p.set("connection.user", "tls");
        p.set("connection.password", "tls-pw");
        p.set("table.name.format", format!("patient_{name}"));
        ConnectorConfig::new(name, p)
    };
    for (name, params) in [
        (
            "verified",
            format!("sslMode=verify-full&serverSslCert={}", path("ca.pem")),
        ),
        (
            "unchecked",
            "useSSL=true&verifyServerCertificate=false".to_owned(),
        ),
    ] {
        w.start_connector(with_params(name, params)).await.unwrap();
        wait_for(&format!("5 rows over TLS ({name})"), 60, || {
            db.query(&format!("SELECT count(*) FROM patient_{name}"))
                .map(|s| s.lines().last().unwrap_or("").trim().to_owned())
                == Ok("5".into())
        })
        .await;
    }

    let wrong = w
        .start_connector(with_params(
            "wrongca",
            format!("sslMode=VERIFY_CA&serverSslCert={}", path("other-ca.pem")),
        ))
        .await
        .unwrap();
    wait_for("the wrong CA to fail the task", 60, || wrong.is_failed()).await;
    let e = wrong.status()[0].error.clone().unwrap_or_default();
    assert!(
        e.contains("certificate") && e.contains("serverSslCert") && !e.contains("tls-pw"),
        "a certificate error naming the parameters: {e}"
    );

    let plain = w
        .start_connector(with_params("plain", "sslMode=DISABLED".to_owned()))
        .await
        .unwrap();
    wait_for("the plain login to fail the task", 60, || plain.is_failed()).await;
    let e = plain.status()[0].error.clone().unwrap_or_default();
    assert!(
        e.contains("sslMode") && !e.contains("tls-pw"),
        "the refused login names sslMode: {e}"
    );
    w.shutdown().await;
}

/// A record whose two Timestamp fields hold the same instant, for a column without a zone and
/// one with (or, in MariaDB, a `TIMESTAMP`).
fn instant(id: i32, epoch_ms: i64) -> Vec<u8> {
    json!({
        "schema": {"type": "struct", "optional": false, "fields": [
            {"field": "id", "type": "int32", "optional": false},
            {"field": "local_at", "type": "int64", "optional": false, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1},
            {"field": "instant_at", "type": "int64", "optional": false, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}
        ]},
        "payload": {"id": id, "local_at": epoch_ms, "instant_at": epoch_ms}
    })
    .to_string()
    .into_bytes()
}

/// `db.timezone=America/New_York`: a column without a zone gets New York's wall clock, daylight
/// saving followed (01:30 twice on 2026-11-01), and a column that keeps an instant
/// (`timestamptz`, MariaDB's `TIMESTAMP`) gets the exact instant, the repeated hour included.
async fn a_named_db_timezone(db: Db) {
    match db {
        Db::Pg(_) => db.exec(
            "CREATE TABLE clock (id INT PRIMARY KEY, local_at TIMESTAMP NOT NULL, instant_at TIMESTAMPTZ NOT NULL)",
        ),
        // The server's own zone is not UTC: the session's is what counts.
        Db::My(_) => db.exec(
            "SET GLOBAL time_zone = '+03:00'; CREATE TABLE clock (id INT PRIMARY KEY, local_at DATETIME NOT NULL, instant_at TIMESTAMP NOT NULL)",
        ),
    };
    let w = worker().await;
    w.embedded().unwrap().create_topic("clock", 1, 1).unwrap();
    // 2026-11-01T05:30Z (01:30 EDT), 06:30Z (01:30 EST), and 2026-01-15T12:00Z (07:00 EST),
    // 2026-07-15T12:00Z (08:00 EDT).
    let instants = [
        1_793_511_000_000i64,
        1_793_514_600_000,
        1_768_478_400_000,
        1_784_116_800_000,
    ];
    let records: Vec<(Vec<u8>, Vec<u8>)> = (1..)
        .zip(instants)
        .map(|(id, ms)| (key(id), instant(id, ms)))
        .collect();
    produce_keyed(w.bootstrap_servers(), "clock", &records);
    w.start_connector(ConnectorConfig::new(
        "clock",
        sink_props(
            &db,
            "clock",
            "clock",
            &[
                ("insert.mode", "upsert"),
                ("pk.mode", "record_key"),
                ("db.timezone", "America/New_York"),
            ],
        ),
    ))
    .await
    .unwrap();
    wait_for("the rows", 60, || {
        db.query("SELECT count(*) FROM clock")
            .map(|s| s.trim().to_owned())
            == Ok("4".into())
    })
    .await;
    let instant_sql = match db {
        Db::Pg(_) => "extract(epoch FROM instant_at)::bigint",
        Db::My(_) => "UNIX_TIMESTAMP(instant_at)",
    };
    let rows = db.exec(&format!(
        "SELECT id, local_at, {instant_sql} FROM clock ORDER BY id"
    ));
    assert_eq!(
        rows.lines().collect::<Vec<_>>(),
        [
            "1|2026-11-01 01:30:00|1793511000",
            "2|2026-11-01 01:30:00|1793514600",
            "3|2026-01-15 07:00:00|1768478400",
            "4|2026-07-15 08:00:00|1784116800",
        ]
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_a_named_db_timezone() {
    let _watchdog = connect_test_support::watchdog(
        "postgres_with_a_named_db_timezone",
        Duration::from_secs(180),
    );
    a_named_db_timezone(Db::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_with_a_named_db_timezone() {
    let _watchdog = connect_test_support::watchdog(
        "mariadb_with_a_named_db_timezone",
        Duration::from_secs(180),
    );
    a_named_db_timezone(Db::mariadb()).await;
}

/// One batch whose rows change shape midway (a field appears, then is absent again) into a table
/// that exists: the new column is added and filled for the row that has it, and the rows around
/// it are written too. The connector is stopped while that batch is produced, so it arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_that_appears_within_a_batch_is_added_as_a_column() {
    let _watchdog = connect_test_support::watchdog(
        "a_field_that_appears_within_a_batch_is_added_as_a_column",
        Duration::from_secs(180),
    );
    let db = Db::postgres();
    let w = worker_with_patients("shapes", 2).await;
    let config = || ConnectorConfig::new("shapes", upsert_config(&db, "shapes", "shapes"));
    let count = || {
        db.query("SELECT count(*) FROM patient_shapes")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    w.start_connector(config()).await.unwrap();
    wait_for("the table with two rows", 60, || count() == "2").await;
    wait_for("the offsets", 30, || {
        committed(w.bootstrap_servers(), "shapes", "shapes", 1) == [2]
    })
    .await;
    w.stop_connector("shapes").await.unwrap();
    let records = vec![
        (key(3), patient(3, "Doe", None)),
        (key(4), patient(4, "Roe", Some("555-0104"))),
        (key(5), patient(5, "Doe", None)),
    ];
    produce_keyed(w.bootstrap_servers(), "shapes", &records);
    w.start_connector(config()).await.unwrap();
    wait_for("five rows", 60, || count() == "5").await;
    assert_eq!(
        db.exec("SELECT id, coalesce(phone, '-') FROM patient_shapes ORDER BY id")
            .lines()
            .collect::<Vec<_>>(),
        ["1|-", "2|-", "3|-", "4|555-0104", "5|-"]
    );
    w.shutdown().await;
}
