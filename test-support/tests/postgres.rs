//! The PostgreSQL peer starts on loopback with logical decoding on, survives a kill, and is gone after
//! drop.

use connect_test_support::Postgres;

#[test]
fn starts_with_logical_decoding_and_survives_a_kill() {
    let mut pg = Postgres::start();
    assert_eq!(pg.exec("SHOW wal_level").trim(), "logical");
    pg.exec(
        "CREATE TABLE patient (id int PRIMARY KEY, mrn text);
         INSERT INTO patient VALUES (1, 'MRN1');
         CREATE PUBLICATION cdc FOR TABLE patient;",
    );
    pg.exec("SELECT pg_create_logical_replication_slot('cdc_slot', 'pgoutput');");
    pg.exec("INSERT INTO patient VALUES (2, 'MRN2');");
    pg.restart();
    assert_eq!(pg.exec("SELECT count(*) FROM patient").trim(), "2");
    assert_eq!(
        pg.exec("SELECT slot_name FROM pg_replication_slots").trim(),
        "cdc_slot",
        "the slot outlives a crash"
    );
    let port = pg.port();
    drop(pg);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
