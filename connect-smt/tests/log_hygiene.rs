//! Patient data and keys stay out of logs: HL7ToFHIR's warnings about what it cannot map, and the
//! errors of HL7ToFHIR and Deidentify, name segments, fields, options and paths, never values.

use connect_core::config::Props;
use connect_core::data::{Map, Value};
use connect_core::record::SourceRecord;
use connect_core::registry::Registry;

#[test]
fn phi_and_keys_stay_out_of_logs_and_errors() {
    let logs = connect_test_support::CapturedLogs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let mut r = Registry::with_builtins();
    connect_smt::register(&mut r);
    let key = "k3y-that-must-never-be-logged-0123";
    let props: Props = [
        ("transforms", "fhir,deid"),
        ("transforms.fhir.type", "HL7ToFHIR"),
        ("transforms.fhir.output.format", "json"),
        ("transforms.deid.type", "Deidentify"),
        ("transforms.deid.pseudonym.key", key),
        ("transforms.deid.date.shift.fields", "Patient.birthDate"),
        (
            "transforms.deid.date.shift.subject",
            "Patient.identifier.value",
        ),
    ]
    .into_iter()
    .collect();
    let chain = r.transform_chain::<SourceRecord>(&props).unwrap();
    // An unmappable patient class, an ED value, a birth date that is not a date: warnings and an error.
    let msg = "MSH|^~\\&|LAB|H|EHR|H|20240301083000+0000||ORU^R01|X1|P|2.5\r\
PID|1||MRN-778899^^^H^MR||ZEBULON^QUINCY||NOT-A-DATE|F\r\
PV1|1|Z\r\
OBX|1|ED|11502-2^Report^LN||^AP^PDF^Base64^U0VDUkVU||||||F\r";
    let mut rec = SourceRecord::default();
    rec.record.value = Value::String(msg.into());
    let out = chain.apply(rec.clone()).unwrap().unwrap();
    assert!(out.record.value.as_str().unwrap().contains("\"Patient\""));
    // The same gaps again: logged at debug, not warned about on every message.
    for _ in 0..3 {
        chain.apply(rec.clone()).unwrap().unwrap();
    }

    // Deidentify failing on a value: the error names option and path only.
    let mut m = Map::new();
    m.insert("resourceType", "Patient");
    m.insert("birthDate", "ZEBULON-1950");
    let mut rec = SourceRecord::default();
    rec.record.value = Value::Map(m);
    let deid_only: Props = props
        .iter()
        .filter(|(k, _)| k.starts_with("transforms.deid"))
        .chain([("transforms", "deid")])
        .collect();
    let chain = r.transform_chain::<SourceRecord>(&deid_only).unwrap();
    let err = chain.apply(rec).err().unwrap();
    let err = format!("{} {}", err.alias, err.error);
    tracing::error!(error = %err, "record failed");

    let text = logs.text();
    assert_eq!(
        text.matches("WARN").count(),
        text.matches("later messages with the same gaps").count(),
        "{text}"
    );
    assert_eq!(
        text.matches("later messages with the same gaps").count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("HL7ToFHIR left out").count(), 4, "{text}");
    for phi in [
        "ZEBULON",
        "QUINCY",
        "MRN-778899",
        "NOT-A-DATE",
        "U0VDUkVU",
        key,
    ] {
        assert!(!text.contains(phi), "{phi} reached the logs: {text}");
        assert!(!err.contains(phi), "{phi} in the error: {err}");
    }
}
