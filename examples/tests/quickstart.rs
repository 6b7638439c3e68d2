//! The quickstart pipeline on the embedded cluster, as `cargo run --example quickstart` runs it.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_masks_and_tags_every_registration() {
    let dir = tempfile::tempdir().unwrap();
    let s = connect_examples::quickstart::run(None, dir.path())
        .await
        .unwrap();
    assert_eq!(s.bootstrap, "embedded");
    let want = connect_examples::quickstart::REGISTRATIONS.len();
    assert_eq!(s.output_lines.len(), want);
    for (line, input) in s
        .output_lines
        .iter()
        .zip(connect_examples::quickstart::REGISTRATIONS)
    {
        let out: serde_json::Value = serde_json::from_str(line).unwrap();
        let inp: serde_json::Value = serde_json::from_str(input).unwrap();
        assert_eq!(out["mrn"], inp["mrn"]);
        assert_eq!(out["ssn"], "***-**-****");
        assert!(
            !line.contains(inp["ssn"].as_str().unwrap()),
            "no SSN reaches the sink"
        );
        assert_eq!(out["source_system"], "registration-desk");
    }
    assert_eq!(s.source.records_written, want as u64);
    // The source's offset was stored: a rerun over the same file would resume after the last line.
    let offsets = std::fs::read_to_string(dir.path().join("offsets.json")).unwrap();
    assert!(offsets.contains("\"position\""), "{offsets}");
}
