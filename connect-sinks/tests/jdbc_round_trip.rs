//! A table copied through Kafka stays identical, in both directions: the seed's three tables,
//! captured by the MariaDB (or PostgreSQL) CDC connector, unwrapped by the seed's
//! `ExtractNewRecordState` (tombstones kept), written by the JDBC sink in upsert mode with deletes
//! into PostgreSQL (or MariaDB), tables created by `auto.create`. After 10 000 mixed changes the copy
//! equals the source row for row; then another 10 000 while the sink task is killed (dropped without
//! stop or commit) 10 times, and again equal.

mod common;

use std::time::{Duration, Instant};

use connect_core::config::{ConnectorConfig, Props};
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use connect_test_support::{MariaDb, Postgres};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TABLES: [&str; 3] = [
    "patients.patient",
    "encounters.encounter",
    "observations.observation",
];

const SCHEMA: &str = "
CREATE DATABASE patients; CREATE DATABASE encounters; CREATE DATABASE observations;
CREATE TABLE patients.patient (id INT PRIMARY KEY, mrn VARCHAR(20) NOT NULL, family VARCHAR(60),
  birth_date DATE, allergies TEXT);
CREATE TABLE encounters.encounter (id INT PRIMARY KEY, patient_id INT NOT NULL, class VARCHAR(10),
  started DATETIME(3));
CREATE TABLE observations.observation (id BIGINT PRIMARY KEY, patient_id INT NOT NULL,
  code VARCHAR(20), value DECIMAL(8,2));
INSERT INTO patients.patient VALUES (1,'MRN001','Doe','1980-01-02','penicillin'),
  (2,'MRN002','Roe','1975-06-30',NULL);
INSERT INTO encounters.encounter VALUES (10,1,'IMP','2026-11-01 08:30:00.250');
INSERT INTO observations.observation VALUES (100,1,'8867-4',72.00),(101,2,'8480-6',120.50);
";

const PG_SCHEMA: &str = "
CREATE SCHEMA patients; CREATE SCHEMA encounters; CREATE SCHEMA observations;
CREATE TABLE patients.patient (id INT PRIMARY KEY, mrn VARCHAR(20) NOT NULL, family VARCHAR(60),
  birth_date DATE, allergies TEXT);
CREATE TABLE encounters.encounter (id INT PRIMARY KEY, patient_id INT NOT NULL, class VARCHAR(10),
  started TIMESTAMP(3));
CREATE TABLE observations.observation (id BIGINT PRIMARY KEY, patient_id INT NOT NULL,
  code VARCHAR(20), value NUMERIC(8,2));
INSERT INTO patients.patient VALUES (1,'MRN001','Doe','1980-01-02','penicillin'),
  (2,'MRN002','Roe','1975-06-30',NULL);
INSERT INTO encounters.encounter VALUES (10,1,'IMP','2026-11-01 08:30:00.250');
INSERT INTO observations.observation VALUES (100,1,'8867-4',72.00),(101,2,'8480-6',120.50);
";

/// Each table's rows in one text form for both databases (dates, times and decimals alike).
const DUMP_MARIADB: &str = "SELECT CONCAT_WS('|', id, mrn, IFNULL(family,'~'), IFNULL(birth_date,'~'), IFNULL(allergies,'~')) FROM patients.patient ORDER BY id;
             SELECT CONCAT_WS('|', id, patient_id, IFNULL(class,'~'), IFNULL(DATE_FORMAT(started, '%Y-%m-%d %H:%i:%s.%f'),'~')) FROM encounters.encounter ORDER BY id;
             SELECT CONCAT_WS('|', id, patient_id, IFNULL(code,'~'), IFNULL(value,'~')) FROM observations.observation ORDER BY id;";

fn dump_mariadb(db: &MariaDb) -> Vec<String> {
    lines(&db.exec(DUMP_MARIADB))
}

fn dump_postgres(pg: &Postgres) -> Result<Vec<String>, String> {
    let q = "SELECT concat_ws('|', id, mrn, coalesce(family,'~'), coalesce(birth_date::text,'~'), coalesce(allergies,'~')) FROM patients.patient ORDER BY id;
             SELECT concat_ws('|', id, patient_id, coalesce(class,'~'), coalesce(to_char(started, 'YYYY-MM-DD HH24:MI:SS.US'),'~')) FROM encounters.encounter ORDER BY id;
             SELECT concat_ws('|', id, patient_id, coalesce(code,'~'), coalesce(value::text,'~')) FROM observations.observation ORDER BY id;";
    pg.try_exec(q).map(|s| lines(&s))
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Where the changes are written.
#[derive(Clone, Copy)]
enum Dialect {
    MariaDb,
    Postgres,
}

/// `n` mixed changes over the three tables, a tenth of them in multi-statement transactions; each
/// batch of statements goes to `exec`.
fn write_changes(exec: &dyn Fn(&str), dialect: Dialect, n: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let upsert = |set: String| match dialect {
        Dialect::MariaDb => format!(" ON DUPLICATE KEY UPDATE {set};"),
        Dialect::Postgres => format!(" ON CONFLICT (id) DO UPDATE SET {set};"),
    };
    let mut done = 0;
    while done < n {
        let mut sql = String::new();
        for _ in 0..100 {
            let in_tx = rng.random_ratio(1, 10);
            let count = if in_tx { rng.random_range(2..6) } else { 1 };
            if in_tx {
                sql.push_str("START TRANSACTION;");
            }
            for _ in 0..count {
                let k = rng.random_range(1..400);
                let v = rng.random_range(0..100_000);
                let stmt = match (rng.random_range(0..3), rng.random_range(0..10)) {
                    (0, 0..=5) => format!(
                        "INSERT INTO patients.patient VALUES ({k},'MRN{v}','Fam{v}','19{:02}-0{}-1{}',{}){}",
                        v % 100,
                        1 + v % 9,
                        v % 10,
                        if v % 3 == 0 { "NULL".to_owned() } else { format!("'allergy {v}'") },
                        upsert(format!("family='Upd{v}', allergies=NULL"))
                    ),
                    (0, 6..=8) => format!("UPDATE patients.patient SET family='U{v}', birth_date=NULL WHERE id={k};"),
                    (0, _) => format!("DELETE FROM patients.patient WHERE id={k};"),
                    (1, 0..=5) => format!(
                        "INSERT INTO encounters.encounter VALUES ({k},{v},'C{}','2026-{:02}-{:02} {:02}:{:02}:{:02}.{:03}'){}",
                        v % 7,
                        1 + v % 12,
                        1 + v % 28,
                        v % 24,
                        v % 60,
                        (v / 60) % 60,
                        v % 1000,
                        upsert(format!("class='R{}'", v % 5))
                    ),
                    (1, 6..=8) => format!("UPDATE encounters.encounter SET started=NULL, patient_id={v} WHERE id={k};"),
                    (1, _) => format!("DELETE FROM encounters.encounter WHERE id={k};"),
                    (_, 0..=5) => format!(
                        "INSERT INTO observations.observation VALUES ({k},{v},'{v}-{}',{}.{:02}){}",
                        v % 10,
                        v % 100_000,
                        v % 100,
                        upsert(format!("value=-{}.5", v % 1000))
                    ),
                    (_, 6..=8) => format!("UPDATE observations.observation SET code=NULL WHERE id={k};"),
                    (_, _) => format!("DELETE FROM observations.observation WHERE id={k};"),
                };
                sql.push_str(&stmt);
                done += 1;
            }
            if in_tx {
                sql.push_str("COMMIT;");
            }
        }
        exec(&sql);
    }
}

/// The seed's `unwrap` transform, tombstones kept for the sink's deletes.
fn with_unwrap(p: Props) -> Props {
    p.with("key.converter.schemas.enable", "true")
        .with("value.converter.schemas.enable", "true")
        .with("transforms", "unwrap")
        .with(
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        )
        .with("transforms.unwrap.drop.tombstones", "false")
}

fn mariadb_source(db: &MariaDb) -> ConnectorConfig {
    let p = db
        .cdc_source_config("rt-source", "rt")
        .into_iter()
        .fold(Props::new(), |p, (k, v)| p.with(k, v))
        .with("database.include.list", "patients,encounters,observations")
        .with("table.include.list", TABLES.join(","));
    ConnectorConfig::new("rt-source", with_unwrap(p))
}

fn postgres_source(pg: &Postgres) -> ConnectorConfig {
    let p = Props::new()
        .with("name", "rt-source")
        .with(
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        )
        .with("database.hostname", "127.0.0.1")
        .with("database.port", pg.port().to_string())
        .with("database.user", "postgres")
        .with("database.dbname", "postgres")
        .with("topic.prefix", "rt")
        .with("plugin.name", "pgoutput")
        .with("table.include.list", TABLES.join(","))
        .with(
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        );
    ConnectorConfig::new("rt-source", with_unwrap(p))
}

fn sink_config(url: &str, user: &str) -> ConnectorConfig {
    let topics: Vec<String> = TABLES.iter().map(|t| format!("rt.{t}")).collect();
    let p = Props::new()
        .with("name", "rt-sink")
        .with(
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector",
        )
        .with("topics", topics.join(","))
        .with("connection.url", url)
        .with("connection.user", user)
        .with("insert.mode", "upsert")
        .with("pk.mode", "record_key")
        .with("delete.enabled", "true")
        .with("auto.create", "true")
        .with("auto.evolve", "true")
        // `rt.patients.patient`: the prefix as catalog, then schema (or database) and table.
        .with("table.name.format", "${topic}")
        .with("retry.backoff.ms", "200")
        .with(
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
        .with(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        );
    ConnectorConfig::new("rt-sink", p)
}

/// Waits (up to 180 s) until `copy` dumps what `source` does.
async fn wait_equal(
    source: &dyn Fn() -> Vec<String>,
    copy: &dyn Fn() -> Result<Vec<String>, String>,
    phase: &str,
) {
    let want = source();
    let start = Instant::now();
    loop {
        let got = copy();
        if got.as_ref() == Ok(&want) {
            return;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let got = got.unwrap_or_default();
            let missing: Vec<_> = want.iter().filter(|l| !got.contains(l)).take(5).collect();
            let extra: Vec<_> = got.iter().filter(|l| !want.contains(l)).take(5).collect();
            panic!(
                "{phase}: the copy never equalled the source ({} vs {} rows); missing {missing:?}, extra {extra:?}",
                got.len(),
                want.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One direction: the snapshot, 10 000 changes, then 10 000 more while the sink is killed 10 times.
async fn round_trip(
    source: ConnectorConfig,
    sink: impl Fn() -> ConnectorConfig,
    write: std::sync::Arc<dyn Fn(usize, u64) + Send + Sync>,
    source_dump: &dyn Fn() -> Vec<String>,
    copy_dump: &dyn Fn() -> Result<Vec<String>, String>,
) {
    let mut registry = Registry::with_builtins();
    connect_sources::register(&mut registry);
    connect_sinks::register(&mut registry);
    connect_smt::register(&mut registry);
    let worker = Worker::start(
        Props::new().with("offset.flush.interval.ms", "200"),
        registry,
    )
    .await
    .unwrap();
    worker.start_connector(source).await.unwrap();
    worker.start_connector(sink()).await.unwrap();
    wait_equal(source_dump, copy_dump, "the snapshot").await;

    let w = write.clone();
    tokio::task::spawn_blocking(move || w(10_000, 1))
        .await
        .unwrap();
    wait_equal(source_dump, copy_dump, "10 000 changes").await;

    // Again, with the sink killed at random moments while the changes stream in.
    let writer = tokio::task::spawn_blocking(move || {
        for part in 0..10u64 {
            write(1_000, 100 + part);
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..600))).await;
        worker.abort_connector("rt-sink").await.unwrap();
        worker.start_connector(sink()).await.unwrap();
    }
    writer.await.unwrap();
    wait_equal(source_dump, copy_dump, "10 000 changes and 10 kills").await;
    let sink = worker.connector("rt-sink").unwrap();
    assert!(!sink.is_failed(), "{:?}", sink.status());
    let source = worker.connector("rt-source").unwrap();
    assert!(!source.is_failed(), "{:?}", source.status());
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_tables_copied_into_postgres_stay_identical_through_sink_kills() {
    let _watchdog = connect_test_support::watchdog(
        "mariadb_tables_copied_into_postgres_stay_identical_through_sink_kills",
        Duration::from_secs(600),
    );
    let db = std::sync::Arc::new(MariaDb::start());
    db.exec(SCHEMA);
    let pg = Postgres::start();
    pg.exec("CREATE SCHEMA patients; CREATE SCHEMA encounters; CREATE SCHEMA observations;");
    let url = format!("jdbc:postgresql://127.0.0.1:{}/postgres", pg.port());
    let d = db.clone();
    round_trip(
        mariadb_source(&db),
        || sink_config(&url, "postgres"),
        std::sync::Arc::new(move |n, seed| {
            write_changes(
                &|sql| {
                    d.exec(sql);
                },
                Dialect::MariaDb,
                n,
                seed,
            )
        }),
        &|| dump_mariadb(&db),
        &|| dump_postgres(&pg),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tables_copied_into_mariadb_stay_identical_through_sink_kills() {
    let _watchdog = connect_test_support::watchdog(
        "postgres_tables_copied_into_mariadb_stay_identical_through_sink_kills",
        Duration::from_secs(600),
    );
    let pg = std::sync::Arc::new(Postgres::start());
    pg.exec(PG_SCHEMA);
    let db = MariaDb::start();
    db.exec("CREATE DATABASE patients; CREATE DATABASE encounters; CREATE DATABASE observations;");
    let url = format!("jdbc:mariadb://127.0.0.1:{}/patients", db.port());
    let p = pg.clone();
    round_trip(
        postgres_source(&pg),
        || sink_config(&url, "root"),
        std::sync::Arc::new(move |n, seed| {
            write_changes(
                &|sql| {
                    p.script(sql);
                },
                Dialect::Postgres,
                n,
                seed,
            )
        }),
        &|| dump_postgres(&pg).unwrap(),
        &|| db.try_exec(DUMP_MARIADB).map(|s| lines(&s)),
    )
    .await;
}
