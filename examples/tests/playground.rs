//! The SMT playground run as a user runs it: the `transform` program with `--config` and record lines
//! on stdin, on the seed's transform configs, plus its error reporting and exit codes.

use std::io::Write;
use std::process::{Command, Stdio};

fn seed_config(name: &str) -> String {
    let md = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/seed/connectors.md"
    ))
    .unwrap();
    md.split("```json")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains(&format!("\"name\": \"{name}\"")))
        .unwrap_or_else(|| panic!("seed config {name}"))
        .to_owned()
}

struct Run {
    code: i32,
    stdout: Vec<String>,
    stderr: String,
}

/// Runs the program (the same `playground::run` the example's `main` calls, built as the
/// `connect-transform` binary so the test can start it as a process).
fn run(config: &str, input: &str) -> Run {
    run_with_key(config, input, None)
}

/// As [`run`], with `DEID_KEY` set in the program's environment (or removed, with None).
fn run_with_key(config: &str, input: &str, deid_key: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("connector.json");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_connect-transform"));
    match deid_key {
        Some(k) => cmd.env("DEID_KEY", k),
        None => cmd.env_remove("DEID_KEY"),
    };
    let mut child = cmd
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The program may exit (a config error) before it reads its input: a broken pipe is expected then.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn debezium_unwrap_from_the_seed() {
    let row = r#"{"type":"struct","optional":true,"name":"clinical.patients.patient.Value","fields":[{"field":"id","type":"int32","optional":false},{"field":"name","type":"string","optional":false},{"field":"dob","type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1}]}"#;
    let schema = format!(
        r#"{{"type":"struct","name":"clinical.patients.patient.Envelope","optional":false,"fields":[{},{},{{"field":"source","type":"struct","optional":false,"fields":[{{"field":"table","type":"string","optional":false}}]}},{{"field":"op","type":"string","optional":false}}]}}"#,
        row.replacen("{", r#"{"field":"before","#, 1),
        row.replacen("{", r#"{"field":"after","#, 1)
    );
    let create = format!(
        r#"{{"topic":"clinical.patients.patient","key":{{"id":7}},"value_schema":{schema},"value":{{"before":null,"after":{{"id":7,"name":"Anne","dob":3000}},"source":{{"table":"patient"}},"op":"c"}}}}"#
    );
    let delete = format!(
        r#"{{"topic":"clinical.patients.patient","key":{{"id":7}},"value_schema":{schema},"value":{{"before":{{"id":7,"name":"Anne","dob":3000}},"after":null,"source":{{"table":"patient"}},"op":"d"}}}}"#
    );
    let tombstone = r#"{"topic":"clinical.patients.patient","key":{"id":7},"value":null}"#;
    let r = run(
        &seed_config("patient-database-source"),
        &format!("{create}\n{delete}\n{tombstone}\n"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.len(), 3);
    let first = json(&r.stdout[0]);
    assert_eq!(
        first["value"],
        serde_json::json!({"id": 7, "name": "Anne", "dob": 3000})
    );
    assert_eq!(
        first["value_schema"]["name"],
        "clinical.patients.patient.Value"
    );
    assert_eq!(first["key"], serde_json::json!({"id": 7}));
    assert!(first.get("key_schema").is_none(), "schemaless key stays so");
    assert_eq!(first["offset"], 0);
    // drop.tombstones=false (legacy): the delete event is dropped, the tombstone kept.
    assert_eq!(r.stdout[1], "null");
    assert_eq!(json(&r.stdout[2])["value"], serde_json::Value::Null);
    assert_eq!(json(&r.stdout[2])["offset"], 2);
}

#[test]
fn extract_field_keys_from_the_seed() {
    // hl7-adm-source: the key is the structured HL7 message; PID.3.1 is the patient id.
    let msg = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/hl7/corpus/ADT-A01-01.hl7"
    ))
    .unwrap();
    let msg = connect_core::hl7::Message::parse(msg.into()).unwrap();
    let structured = connect_core::hl7::structured::to_value(&msg);
    let mut key = Vec::new();
    connect_core::converter::JsonConverter::new(false)
        .write_value(None, &structured, &mut key)
        .unwrap();
    let key = String::from_utf8(key).unwrap();
    let r = run(
        &seed_config("hl7-adm-source"),
        &format!(r#"{{"topic":"clinical.patient.hl7","key":{key},"value":"x"}}"#),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout[0])["key"], "PATID1234");

    // fhir-patient-source: schemaless key map.
    let r = run(
        &seed_config("fhir-patient-source"),
        r#"{"key":{"id":"pat-1","resourceType":"Patient"},"value":{"resourceType":"Patient","id":"pat-1"}}"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout[0])["key"], "pat-1");

    // provider-directory-sink: a schema'd key struct; the key schema becomes the field's.
    let r = run(
        &seed_config("provider-directory-sink"),
        r#"{"topic":"reference.provider.details","partition":2,"offset":99,"timestamp":1700000000000,"key_schema":{"type":"struct","optional":false,"fields":[{"field":"providerId","type":"string","optional":false}]},"key":{"providerId":"prov-1"},"value":{"name":"Dr. A"},"headers":[{"key":"origin","value":"npi"}]}"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = json(&r.stdout[0]);
    assert_eq!(out["key"], "prov-1");
    assert_eq!(
        out["key_schema"],
        serde_json::json!({"type": "string", "optional": false})
    );
    assert_eq!(out["partition"], 2);
    assert_eq!(out["offset"], 99);
    assert_eq!(out["timestamp"], 1700000000000i64);
    assert_eq!(
        out["headers"],
        serde_json::json!([{"key": "origin", "value": "npi"}])
    );
}

#[test]
fn predicates_negate_and_logical_types() {
    let config = r#"{"name":"p","config":{
        "transforms":"onlyAdmits,ts",
        "transforms.onlyAdmits.type":"Filter",
        "transforms.onlyAdmits.predicate":"isAdmit",
        "transforms.onlyAdmits.negate":"true",
        "transforms.ts.type":"TimestampConverter$Value",
        "transforms.ts.field":"admitted",
        "transforms.ts.target.type":"string",
        "transforms.ts.format":"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
        "predicates":"isAdmit",
        "predicates.isAdmit.type":"TopicNameMatches",
        "predicates.isAdmit.pattern":"clinical\\.patient\\.admitted"}}"#;
    let schema = r#"{"type":"struct","optional":false,"fields":[{"field":"admitted","type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},{"field":"charge","type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}]}"#;
    let admit = format!(
        r#"{{"topic":"clinical.patient.admitted","value_schema":{schema},"value":{{"admitted":1700000000123,"charge":"BBo="}}}}"#
    );
    let other = r#"{"topic":"clinical.order.created","value":{"x":1}}"#;
    let r = run(config, &format!("{admit}\n\n{other}\n"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.len(), 2, "the blank line is skipped");
    let out = json(&r.stdout[0]);
    assert_eq!(out["value"]["admitted"], "2023-11-14T22:13:20.123Z");
    assert_eq!(out["value"]["charge"], "BBo=", "Decimal stays base64");
    assert_eq!(
        out["value_schema"]["fields"][0],
        serde_json::json!({"type": "string", "optional": false, "field": "admitted"})
    );
    assert_eq!(r.stdout[1], "null");
}

#[test]
fn errors_name_the_smt_and_the_key_and_exit_non_zero() {
    // A config problem: exit 2, the key named.
    let r = run(
        r#"{"name":"bad","config":{"transforms":"mask","transforms.mask.type":"MaskField$Value"}}"#,
        "",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("transforms.mask.fields"), "{}", r.stderr);

    // An unknown SMT (the seed's custom HL7ToFHIR is not this crate's): the known ones are listed.
    let r = run(
        r#"{"transforms":"f","transforms.f.type":"com.example.NoSuchSmt"}"#,
        "",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("transforms.f.type"), "{}", r.stderr);
    assert!(r.stderr.contains("MaskField"), "{}", r.stderr);

    // A data error on line 2: line 1 is printed, then the alias and type of the failing SMT; exit 1.
    // The record's content does not appear in the message.
    let r = run(
        &seed_config("fhir-patient-source"),
        "{\"key\":{\"id\":\"pat-1\"}}\n{\"key\":\"123-45-6789\"}\n{\"key\":{\"id\":\"pat-3\"}}\n",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout.len(), 1);
    assert!(
        r.stderr.contains("line 2")
            && r.stderr.contains("extractId")
            && r.stderr.contains("ExtractField$Key"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("123-45-6789"), "{}", r.stderr);

    // Input that is not a record: the line and the member named.
    let r = run(
        &seed_config("fhir-patient-source"),
        "{\"key\":{\"id\":\"a\"},\"valeu\":1}\n",
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("line 1") && r.stderr.contains("valeu"),
        "{}",
        r.stderr
    );
    let r = run(
        &seed_config("fhir-patient-source"),
        r#"{"value_schema":{"type":"int32","optional":false},"value":"seven"}"#,
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("value"), "{}", r.stderr);
}

/// The sample de-identification config, its key from the environment as a config provider gives it,
/// on an HL7 message, a FHIR Patient and a row: one chain for three feeds, one token per MRN.
#[test]
fn deidentify_sample_config_across_three_shapes() {
    let config = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/deidentify.json"
    ))
    .unwrap();
    let hl7 = "MSH|^~\\\\&|ADT|H|EHR|H|20240301083000||ADT^A01|M1|P|2.5\\rPID|1||MRN001^^^H^MR||DOE^JANE||19600215|F|||1 Elm St^^Boston^MA^02139||617-555-0101||||||123-45-6789\\rPV1|1|I\\r";
    let input = format!(
        "{{\"value\":\"{hl7}\"}}\n{}\n{}\n",
        r#"{"value":{"resourceType":"Patient","identifier":[{"value":"MRN001"}],"name":[{"family":"Doe"}],"birthDate":"1960-02-15","address":[{"postalCode":"02139","city":"Boston"}]}}"#,
        r#"{"value":{"mrn":"MRN001","name":"Jane Doe","dob":"1960-02-15","zip":"02139","notes":"call 617-555-0101","admitted":"2024-03-01"}}"#
    );
    let r = run_with_key(&config, &input, Some("a-32-byte-secret-for-the-tests!!"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stdout = r.stdout.join("\n");
    for phi in [
        "DOE",
        "Doe",
        "JANE",
        "Jane",
        "Elm",
        "Boston",
        "555-0101",
        "123-45-6789",
        "MRN001",
        "02139",
        "1960-02-15",
        "19600215",
    ] {
        assert!(!stdout.contains(phi), "{phi} in {stdout}");
    }
    let lines: Vec<serde_json::Value> = stdout.lines().map(json).collect();
    let hl7_out = lines[0]["value"].as_str().unwrap();
    let msg = connect_core::hl7::Message::parse(hl7_out.as_bytes().to_vec().into()).unwrap();
    let token = msg.get("PID-3.1").unwrap();
    assert_eq!(lines[1]["value"]["identifier"][0]["value"], token.as_str());
    assert_eq!(lines[2]["value"]["mrn"], token.as_str());
    assert_eq!(lines[2]["value"]["dob"], "1960");
    assert_eq!(lines[2]["value"]["zip"], "021");
    assert_eq!(lines[2]["value"]["notes"], "call [PHONE]");

    // Without the key in the environment, the config is refused before any record is read.
    let r = run(&config, "{}\n");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("DEID_KEY"), "{}", r.stderr);
}

/// The seed's custom HL7ToFHIR SMT, by its Java class name: the structured HL7 value the seed's HL7
/// source produces becomes a FHIR transaction Bundle; with `resource.type=Patient`, the Patient alone,
/// as the seed's sketch returns.
#[test]
fn hl7_to_fhir_by_the_seed_class_name() {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/hl7/corpus/ADT-A01-01.hl7"
    ))
    .unwrap();
    let msg = connect_core::hl7::Message::parse(raw.into()).unwrap();
    let mut value = Vec::new();
    connect_core::converter::JsonConverter::new(false)
        .write_value(
            None,
            &connect_core::hl7::structured::to_value(&msg),
            &mut value,
        )
        .unwrap();
    let line = format!(
        "{{\"topic\":\"clinical.patient.hl7\",\"value\":{}}}\n",
        String::from_utf8(value).unwrap()
    );
    let config = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/hl7-to-fhir.json"
    ))
    .unwrap();
    let r = run(&config, &line);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = json(&r.stdout[0]);
    assert_eq!(out["value"]["resourceType"], "Bundle");
    assert_eq!(out["value"]["type"], "transaction");
    let patient = &out["value"]["entry"][0]["resource"];
    assert_eq!(patient["resourceType"], "Patient");
    // PID-2 first, then PID-3, in the IG's order.
    assert_eq!(patient["identifier"][0]["value"], "1234567");
    assert_eq!(patient["identifier"][1]["value"], "PATID1234");

    let only_patient = config.replace(
        "\"transforms.toFhir.unmappable\": \"skip\"",
        "\"transforms.toFhir.unmappable\": \"skip\", \"transforms.toFhir.resource.type\": \"Patient\"",
    );
    let r = run(&only_patient, &line);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = json(&r.stdout[0]);
    assert_eq!(out["value"]["resourceType"], "Patient");
    assert_eq!(out["value"]["name"][0]["family"], "EVERYMAN");
    assert_eq!(out["value"]["name"][0]["given"][0], "ADAM");
}
