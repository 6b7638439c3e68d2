//! The seed's `patient-database-source`, as written in the seed (only host, port, user and the
//! credentials file changed, plus `topic.creation.default.*` because the broker does not auto-create
//! topics), run by the README's embed program (`cargo run --example embed -- CONFIG.json BOOTSTRAP`)
//! as a separate process against a MariaDB holding the seed's three databases and a tansu broker:
//! existing rows arrive as snapshot rows, changes through the seed's `unwrap` transform with
//! tombstones kept, schema changes on `clinical`, offsets in the offsets file; a stopped program
//! resumes where it stopped, and a killed one loses nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connect_test_support::{topic_records, wait_for_records, MariaDb, Stored, Tansu};
use serde_json::{json, Value as Json};

const PASSWORD: &str = "cdc-S3cret!";

/// The embed example's binary, built here with the cargo that runs the tests: `cargo test
/// --all-targets` builds examples only in test mode (`examples/embed-<hash>`), and a binary left by
/// an earlier `cargo run` may be stale. Built for the whole workspace, its features are those of
/// the test build, so it reuses that build's artifacts instead of compiling a second set.
fn embed_bin() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(build_embed)
}

fn build_embed() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--workspace",
            "--example",
            "embed",
            "--message-format=short",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the embed example failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(Path::parent).unwrap();
    let bin = debug.join("examples").join("embed");
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}

struct Embed {
    child: Child,
    log: PathBuf,
}

impl Embed {
    fn start(dir: &Path, config: &Path, bootstrap: &str, run: usize) -> Embed {
        let log = dir.join(format!("embed-{run}.log"));
        let child = Command::new(embed_bin())
            .arg(config)
            .arg(bootstrap)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the embed example starts");
        Embed { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Ctrl-C, as a user stops it: the worker drains and commits offsets, then the program exits.
    fn interrupt(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "embed exited with {status}: {}",
                    self.log()
                );
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "embed did not stop on Ctrl-C: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut out = String::new();
        use std::io::Read;
        if let Some(mut s) = self.child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        out
    }

    /// SIGKILL: no drain, no commit.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Embed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn values(records: &[Stored]) -> Vec<Option<Json>> {
    records.iter().map(Stored::json).collect()
}

/// Waits until `topic` holds `n` records, with the program's log in the failure message.
fn expect_records(bootstrap: &str, topic: &str, n: usize, embed: &Embed) -> Vec<Stored> {
    let got = wait_for_records(bootstrap, topic, n, Duration::from_secs(60));
    assert!(
        got.len() >= n,
        "{topic}: {} of {n} records: {:?}\nevery topic: {:?}\n--- embed log ---\n{}",
        got.len(),
        values(&got),
        [
            "clinical.patients.patient",
            "clinical.encounters.encounter",
            "clinical.observations.observation",
            "clinical"
        ]
        .map(|t| (t, topic_records(bootstrap, t).len())),
        embed.log()
    );
    got
}

const SCHEMA: &str = "
CREATE DATABASE patients; CREATE DATABASE encounters; CREATE DATABASE observations;
CREATE DATABASE billing;
CREATE TABLE patients.patient (id INT PRIMARY KEY, mrn VARCHAR(20) NOT NULL, family VARCHAR(60),
  birth_date DATE, allergies TEXT);
CREATE TABLE encounters.encounter (id INT PRIMARY KEY, patient_id INT NOT NULL, class VARCHAR(10),
  started DATETIME(3));
CREATE TABLE observations.observation (id BIGINT PRIMARY KEY, patient_id INT NOT NULL,
  code VARCHAR(20), value DECIMAL(8,2));
CREATE TABLE patients.audit_log (id INT PRIMARY KEY, note TEXT);
CREATE TABLE billing.invoice (id INT PRIMARY KEY, amount DECIMAL(10,2));
INSERT INTO patients.patient VALUES (1,'MRN001','Doe','1980-01-02','penicillin'),
  (2,'MRN002','Roe','1975-06-30',NULL);
INSERT INTO encounters.encounter VALUES (10,1,'IMP','2026-11-01 08:30:00.250');
INSERT INTO observations.observation VALUES (100,1,'8867-4',72.00),(101,2,'8480-6',120.50);
INSERT INTO patients.audit_log VALUES (1,'not captured');
INSERT INTO billing.invoice VALUES (1, 10.00);
CREATE USER 'cdc_user'@'127.0.0.1' IDENTIFIED BY 'cdc-S3cret!';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc_user'@'127.0.0.1';
";

#[test]
fn the_seed_patient_database_source_runs_as_written_through_the_embed_example() {
    let broker = Tansu::start();
    let bootstrap = broker.addr();
    let db = MariaDb::start();
    db.exec(SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("mysql-cdc-credentials");
    std::fs::write(&creds, format!("password={PASSWORD}\n")).unwrap();

    // The seed's JSON with only hosts, port, user and the credentials file changed.
    let mut config = connect_test_support::seed_connector("patient-database-source");
    let c = config["config"].as_object_mut().unwrap();
    c.insert("database.hostname".into(), json!("127.0.0.1"));
    c.insert("database.port".into(), json!(db.port().to_string()));
    c.insert(
        "database.password".into(),
        json!(format!("${{file:{}:password}}", creds.display())),
    );
    c.insert(
        "database.history.kafka.bootstrap.servers".into(),
        json!(bootstrap),
    );
    c.insert(
        "topic.creation.default.replication.factor".into(),
        json!("1"),
    );
    c.insert("topic.creation.default.partitions".into(), json!("1"));
    assert_eq!(c["database.user"], "cdc_user", "the seed's user, unchanged");
    let config_path = dir.path().join("patient-database-source.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    // 1. Snapshot: the existing rows, unwrapped to plain rows keyed by the primary key.
    let run = Embed::start(dir.path(), &config_path, &bootstrap, 1);
    let patients = expect_records(&bootstrap, "clinical.patients.patient", 2, &run);
    assert_eq!(patients[0].key_json(), Some(json!({"id": 1})));
    assert_eq!(
        patients[0].json(),
        Some(json!({"id": 1, "mrn": "MRN001", "family": "Doe",
            "birth_date": 3653, "allergies": "penicillin"})),
        "DATE as io.debezium.time.Date (days since the epoch)"
    );
    assert_eq!(patients[1].json().unwrap()["allergies"], Json::Null);
    let enc = expect_records(&bootstrap, "clinical.encounters.encounter", 1, &run);
    assert_eq!(
        enc[0].json(),
        Some(json!({"id": 10, "patient_id": 1, "class": "IMP",
            "started": 1_793_521_800_250_i64})),
        "DATETIME(3) as io.debezium.time.Timestamp (ms)"
    );
    let obs = expect_records(&bootstrap, "clinical.observations.observation", 2, &run);
    assert_eq!(obs[1].key_json(), Some(json!({"id": 101})));
    // Tables and databases outside the include lists have no topic.
    assert!(topic_records(&bootstrap, "clinical.patients.audit_log").is_empty());
    assert!(topic_records(&bootstrap, "clinical.billing.invoice").is_empty());

    // 2. Streaming: insert, update, delete (one transaction), through the unwrap transform.
    db.exec(
        "INSERT INTO patients.patient VALUES (3,'MRN003','Poe','2001-09-09',NULL);
         BEGIN; UPDATE patients.patient SET allergies='latex' WHERE id=2;
         DELETE FROM patients.patient WHERE id=1; COMMIT;",
    );
    let patients = expect_records(&bootstrap, "clinical.patients.patient", 5, &run);
    let v = values(&patients);
    assert_eq!(v[2].as_ref().unwrap()["mrn"], "MRN003");
    assert_eq!(v[3].as_ref().unwrap()["allergies"], "latex");
    // The delete event itself is dropped by the unwrap transform; its tombstone is kept.
    assert_eq!(v[4], None, "tombstone after the delete: {v:?}");
    assert_eq!(patients[4].key_json(), Some(json!({"id": 1})));
    assert_eq!(patients.len(), 5, "{v:?}");

    // 3. Schema changes on `clinical`, keyed by database.
    db.exec("ALTER TABLE patients.patient ADD COLUMN deceased BOOLEAN DEFAULT FALSE;");
    db.exec("INSERT INTO patients.patient (id, mrn, family) VALUES (4,'MRN004','Coe');");
    let patients = expect_records(&bootstrap, "clinical.patients.patient", 6, &run);
    assert_eq!(patients[5].json().unwrap()["deceased"], json!(false));
    let changes = topic_records(&bootstrap, "clinical");
    let alter = changes
        .iter()
        .filter_map(Stored::json)
        .find(|v| {
            v["ddl"]
                .as_str()
                .is_some_and(|d| d.contains("ADD COLUMN deceased"))
        })
        .unwrap_or_else(|| panic!("no schema change for the ALTER: {:?}", values(&changes)));
    assert_eq!(alter["databaseName"], "patients");
    // tableChanges as Debezium's Change structs (not JSON text), with the new column.
    let change = &alter["tableChanges"][0];
    assert_eq!(change["type"], "ALTER", "{alter}");
    assert_eq!(change["id"], "\"patients\".\"patient\"");
    assert_eq!(change["table"]["primaryKeyColumnNames"], json!(["id"]));
    let columns = change["table"]["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 6);
    assert_eq!(columns[5]["name"], "deceased");
    assert_eq!(columns[5]["position"], 6);
    assert!(changes
        .iter()
        .all(|r| r.key_json().unwrap()["databaseName"].is_string()));
    // The schema history is on the broker given by the seed's legacy history keys.
    assert!(!topic_records(&bootstrap, "schema-changes.clinical").is_empty());

    // 4. Ctrl-C: the worker commits; the offsets file holds Debezium's partition and position.
    let printed = run.interrupt();
    assert!(
        printed.contains("Running") || printed.contains("Stopped"),
        "{printed}"
    );
    let offsets = std::fs::read_to_string(dir.path().join("offsets.json")).unwrap();
    assert!(
        offsets.contains("\"server\"")
            && offsets.contains("clinical")
            && offsets.contains("\"file\""),
        "{offsets}"
    );
    assert!(!offsets.contains(PASSWORD));

    // 5. Changes while stopped arrive once after a restart, without a second snapshot.
    db.exec("UPDATE patients.patient SET family='Coe-Smith' WHERE id=4;");
    let run = Embed::start(dir.path(), &config_path, &bootstrap, 2);
    let patients = expect_records(&bootstrap, "clinical.patients.patient", 7, &run);
    std::thread::sleep(Duration::from_secs(2));
    let patients_now = topic_records(&bootstrap, "clinical.patients.patient");
    assert_eq!(patients_now.len(), 7, "{:?}", values(&patients_now));
    assert_eq!(patients[6].json().unwrap()["family"], "Coe-Smith");

    // 6. Killed (SIGKILL, no commit): whatever was committed since is at least once after restart.
    db.exec("INSERT INTO encounters.encounter VALUES (11,3,'AMB','2026-11-02 09:00:00');");
    expect_records(&bootstrap, "clinical.encounters.encounter", 2, &run);
    run.kill();
    db.exec("INSERT INTO encounters.encounter VALUES (12,3,'EMER','2026-11-03 10:00:00');");
    let run = Embed::start(dir.path(), &config_path, &bootstrap, 3);
    let enc = expect_records(&bootstrap, "clinical.encounters.encounter", 3, &run);
    let ids: Vec<i64> = enc
        .iter()
        .filter_map(|r| r.json().and_then(|v| v["id"].as_i64()))
        .collect();
    for id in [10, 11, 12] {
        assert!(
            ids.contains(&id),
            "encounter {id} missing after the kill: {ids:?}"
        );
    }
    let log = run.log();
    run.interrupt();
    assert!(!log.contains(PASSWORD), "the password reached the log");
    drop(db);
    drop(broker);
}
