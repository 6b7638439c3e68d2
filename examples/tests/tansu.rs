//! The quickstart pipeline against a separate Kafka-compatible broker process (tansu), not only the
//! in-process mock cluster. The test starts the broker on a free loopback port and stops it at the end.

use std::time::Duration;

use connect_test_support::Tansu;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_runs_against_a_separate_broker_process() {
    let broker = Tansu::start();
    let dir = tempfile::tempdir().unwrap();
    let summary = tokio::time::timeout(
        Duration::from_secs(120),
        connect_examples::quickstart::run(Some(&broker.addr()), dir.path()),
    )
    .await
    .expect("quickstart against tansu timed out")
    .expect("quickstart against tansu failed");
    assert_eq!(
        summary.output_lines.len(),
        connect_examples::quickstart::REGISTRATIONS.len()
    );
    for line in &summary.output_lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["ssn"], "***-**-****");
        assert_eq!(v["source_system"], "registration-desk");
    }
    assert_eq!(summary.sink.records_failed, 0);
    drop(broker);
}
