//! The MySQL/MariaDB connector over TLS against a MariaDB that has a certificate from a test CA, for
//! an account that requires TLS (`REQUIRE SSL`): `database.ssl.mode=verify_identity` with
//! `database.ssl.ca` reads the table; a CA that did not sign the server's certificate is refused;
//! without TLS the account is refused.

mod common;

use std::time::Duration;

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::{MariaDb, TestPki};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_over_verified_tls_and_refuses_an_unknown_ca() {
    common::init_tracing();
    let pki = TestPki::new();
    let path = |f: &str| pki.path(f);
    let db = MariaDb::start_with(&[
        &format!("--ssl-ca={}", path("ca.pem")),
        &format!("--ssl-cert={}", path("server.pem")),
        &format!("--ssl-key={}", path("server.key")),
    ]);
    db.exec(
        "CREATE DATABASE patients;
         CREATE TABLE patients.patient (id INT PRIMARY KEY, mrn VARCHAR(20));
         INSERT INTO patients.patient VALUES (1, 'MRN1');
         CREATE USER 'tls'@'127.0.0.1' IDENTIFIED BY 'tls-pw' REQUIRE SSL;
         GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'tls'@'127.0.0.1';",
    );
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    let worker = Worker::start(Props::new(), registry).await.unwrap();
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let config = |name: &str, mode: &str, ca: Option<&str>| {
        let mut p = common::mariadb_source(&db, name, name)
            .with("database.user", "tls")
            .with("database.password", "tls-pw")
            .with("table.include.list", "patients.patient")
            .with("database.ssl.mode", mode);
        if let Some(ca) = ca {
            p.set("database.ssl.ca", path(ca));
        }
        ConnectorConfig::new(name, p)
    };

    worker
        .start_connector(config("verified", "verify_identity", Some("ca.pem")))
        .await
        .unwrap();
    let got = connect_test_support::wait_for_records(
        &bootstrap,
        "verified.patients.patient",
        1,
        Duration::from_secs(60),
    );
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        worker.connector("verified").map(|c| c.status())
    );
    assert_eq!(got[0].json().unwrap()["after"]["mrn"], "MRN1");

    let wrong_ca = worker
        .start_connector(config("wrongca", "verify_ca", Some("other-ca.pem")))
        .await
        .unwrap();
    let e = common::failure(&wrong_ca, Duration::from_secs(30)).await;
    assert!(!e.contains("tls-pw"), "{e}");
    assert!(
        e.contains("certificate") && e.contains("database.ssl.ca"),
        "a certificate error, not retried, naming the keys: {e}"
    );

    let plain = worker
        .start_connector(config("plain", "disabled", None))
        .await
        .unwrap();
    let e = common::failure(&plain, Duration::from_secs(30)).await;
    assert!(!e.contains("tls-pw"), "{e}");
    assert!(e.contains("database.ssl.mode"), "{e}");
    worker.shutdown().await;
}
