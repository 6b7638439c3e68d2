//! The PostgreSQL connector over TLS against a server that refuses TCP connections without TLS
//! (`hostnossl ... reject`) and has a certificate from a test CA: `database.sslmode=verify-full`
//! with `database.sslrootcert` snapshots a table and streams an insert (both the catalog and the
//! replication connection encrypt, or neither would connect); a CA that did not sign the server's
//! certificate fails the task naming the keys; `disable` is refused by the server.

mod common;

use std::time::Duration;

use connect_core::config::{ConnectorConfig, Props};
use connect_core::runtime::Worker;
use connect_test_support::{Postgres, TestPki};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_over_verified_tls_and_refuses_an_unknown_ca() {
    common::init_tracing();
    let pki = TestPki::new();
    let path = |f: &str| pki.path(f);
    let pg = Postgres::start_tls(&pki.server_cert_pem, &pki.server_key_pem);
    pg.exec(
        "CREATE TABLE patient (id INT PRIMARY KEY, mrn TEXT);
         INSERT INTO patient VALUES (1, 'MRN1');",
    );
    let mut registry = connect_core::registry::Registry::with_builtins();
    connect_sources::register(&mut registry);
    let worker = Worker::start(Props::new(), registry).await.unwrap();
    let bootstrap = worker.kafka().bootstrap_servers().to_owned();
    let config = |name: &str, mode: &str, ca: Option<&str>| {
        let mut p = common::postgres_source(&pg, name, name)
            .with("slot.name", format!("slot_{name}"))
            .with("publication.name", format!("pub_{name}"))
            .with("table.include.list", "public.patient")
            .with("database.sslmode", mode);
        if let Some(ca) = ca {
            p.set("database.sslrootcert", path(ca));
        }
        ConnectorConfig::new(name, p)
    };

    // verify-full matches the certificate to database.hostname, a name.
    let mut verified = config("verified", "verify-full", Some("ca.pem"));
    verified.props.set("database.hostname", "localhost");
    worker.start_connector(verified).await.unwrap();
    let topic = "verified.public.patient";
    let got = connect_test_support::wait_for_records(&bootstrap, topic, 1, Duration::from_secs(60));
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        worker.connector("verified").map(|c| c.status())
    );
    assert_eq!(got[0].json().unwrap()["after"]["mrn"], "MRN1");
    pg.exec("INSERT INTO patient VALUES (2, 'MRN2');");
    let got = connect_test_support::wait_for_records(&bootstrap, topic, 2, Duration::from_secs(60));
    assert_eq!(
        got.len(),
        2,
        "the insert streamed over the TLS replication connection"
    );
    assert_eq!(got[1].json().unwrap()["op"], "c");
    assert_eq!(got[1].json().unwrap()["after"]["mrn"], "MRN2");
    let encrypted = pg.exec(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
         WHERE s.ssl AND a.application_name LIKE 'connect-rs%'",
    );
    assert!(
        encrypted.trim().parse::<i64>().unwrap() >= 1,
        "the connector's sessions use TLS: {encrypted}"
    );

    let wrong_ca = worker
        .start_connector(config("wrongca", "verify-ca", Some("other-ca.pem")))
        .await
        .unwrap();
    let e = common::failure(&wrong_ca, Duration::from_secs(60)).await;
    assert!(
        e.contains("certificate") && e.contains("database.sslrootcert"),
        "a certificate error, not retried, naming the keys: {e}"
    );

    let plain = worker
        .start_connector(config("plain", "disable", None))
        .await
        .unwrap();
    let e = common::failure(&plain, Duration::from_secs(60)).await;
    assert!(e.contains("database.sslmode"), "{e}");
    worker.shutdown().await;
}
