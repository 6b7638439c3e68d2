//! The Deidentify SMT on the three shapes it serves (HL7 ER7 and its structured map, FHIR resources
//! and Bundles, schema'd CDC rows), its consistency guarantees (same token for the same id across
//! shapes and records, one date offset per patient), its errors, and the corpus.

use connect_core::config::Props;
use connect_core::data::{days_from_civil, Map, Schema, SchemaBuilder, Struct, Value};
use connect_core::hl7::{structured, Message};
use connect_core::record::SourceRecord;
use connect_core::registry::Registry;
use connect_core::transform::TransformChain;

const KEY: &str = "k3y-for-tests-0123456789abcdef";

fn chain(pairs: &[(&str, &str)]) -> Result<TransformChain<SourceRecord>, String> {
    let mut r = Registry::with_builtins();
    connect_smt::register(&mut r);
    let mut props: Props = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    props.set("transforms", "deid");
    props.set("transforms.deid.type", "Deidentify");
    if !props.contains("transforms.deid.pseudonym.key") {
        props.set("transforms.deid.pseudonym.key", KEY);
    }
    r.transform_chain(&props).map_err(|e| e.to_string())
}

fn run(c: &TransformChain<SourceRecord>, value: Value, schema: Option<Schema>) -> Value {
    let mut r = SourceRecord::default();
    r.record.value = value;
    r.record.value_schema = schema;
    r.record.timestamp = Some(1_767_225_600_000); // 2026-01-01
    c.apply(r).unwrap().unwrap().record.value
}

fn run_err(c: &TransformChain<SourceRecord>, value: Value) -> String {
    let mut r = SourceRecord::default();
    r.record.value = value;
    let e = c.apply(r).err().unwrap();
    format!("{} {}", e.alias, e.error)
}

const ADT: &str = "MSH|^~\\&|ADT|HOSP|EHR|HOSP|20240301083000||ADT^A01|M1|P|2.5\r\
EVN|A01|20240301083000\r\
PID|1||MRN001^^^HOSP^MR~123-45-6789^^^SSA^SS||DOE^JANE^Q~SMITH^JANE||19300215|F|||12 ELM ST^^BOSTON^MA^02139-4307||(617)555-0101|||||ACCT9|123-45-6789\r\
NK1|1|DOE^JOHN|SPO||(617)555-0199\r\
PV1|1|I|W1^101^A||||||||||||||||V1|||||||||||||||||||||||||20240301090000|20240305120000\r\
NTE|1||Pt reached at 617-555-0101, email jane.doe@example.org, MRN: MRN001.\r\
NTE|2||No issues.\r";

fn hl7_config() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "transforms.deid.remove.fields",
            "PID.5,PID.13,PID.19,PID-3(2),NK1.2,NK1.5,PID.11.1,PID.11.3",
        ),
        ("transforms.deid.pseudonymize.fields", "PID.3.1,PID.18"),
        ("transforms.deid.year.fields", "PID.7"),
        ("transforms.deid.zip.fields", "PID.11.5"),
        ("transforms.deid.date.shift.fields", "PV1.44,PV1.45,EVN.2"),
        ("transforms.deid.date.shift.subject", "PID.3.1"),
        ("transforms.deid.redact.fields", "NTE.3"),
    ]
}

fn er7_of(v: &Value) -> Message {
    let bytes = match v {
        Value::String(s) => s.clone().into_bytes(),
        Value::Map(_) => structured::from_value(v).unwrap(),
        other => panic!("unexpected {other:?}"),
    };
    Message::parse(bytes.into()).unwrap()
}

fn day_of(hl7_ts: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| hl7_ts[r].parse::<u32>().unwrap();
    days_from_civil(i64::from(n(0..4)), n(4..6), n(6..8))
}

#[test]
fn hl7_text_and_structured_map_are_deidentified_alike() {
    let c = chain(&hl7_config()).unwrap();
    let from_text = run(&c, Value::String(ADT.into()), None);
    let msg = Message::parse(bytes::Bytes::from_static(ADT.as_bytes())).unwrap();
    let from_map = run(&c, structured::to_value(&msg), None);
    let (a, b) = (er7_of(&from_text), er7_of(&from_map));
    assert_eq!(a.raw(), b.raw(), "the same message either way");

    let text = String::from_utf8_lossy(a.raw()).into_owned();
    for phi in [
        "DOE",
        "SMITH",
        "123-45-6789",
        "555-0101",
        "555-0199",
        "ELM",
        "BOSTON",
        "jane.doe",
        "ACCT9",
        "MRN001",
    ] {
        assert!(!text.contains(phi), "{phi} left in {text:?}");
    }
    assert_eq!(a.get("PID-5"), None);
    assert_eq!(
        a.get("PID-3(2)"),
        None,
        "the SSN identifier repetition is gone"
    );
    assert_eq!(
        a.get("PID-3.4").as_deref(),
        Some("HOSP"),
        "the rest of the CX stays"
    );
    let token = a.get("PID-3.1").unwrap();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        a.get("PID-7").as_deref(),
        Some("1936"),
        "born 1930: age over 89, bucketed"
    );
    assert_eq!(a.get("PID-11.5").as_deref(), Some("021"));
    assert_eq!(a.get("PID-11.4").as_deref(), Some("MA"), "state is allowed");
    assert_eq!(
        a.get("NTE-3").as_deref(),
        Some("Pt reached at [PHONE], email [EMAIL], [MRN].")
    );
    assert_eq!(a.get("NTE(2)-3").as_deref(), Some("No issues."));
    assert_eq!(
        a.get("MSH-10").as_deref(),
        Some("M1"),
        "control id untouched"
    );

    // Dates of one patient move by one offset (intervals kept), within a year, never by zero.
    let admit = a.get("PV1-44").unwrap();
    let discharge = a.get("PV1-45").unwrap();
    let event = a.get("EVN-2").unwrap();
    assert_eq!(day_of(&discharge) - day_of(&admit), 4);
    assert_eq!(&admit[8..], "090000", "time of day kept");
    let shift = day_of(&admit) - day_of("20240301");
    assert!(shift != 0 && shift.abs() <= 365, "{shift}");
    assert_eq!(day_of(&event) - day_of("20240301"), shift);

    // The same patient in another message: the same token and the same offset; another patient: not.
    let other = ADT
        .replace("M1|P", "M2|P")
        .replace("20240301090000", "20250101090000");
    let again = er7_of(&run(&c, Value::String(other.clone()), None));
    assert_eq!(again.get("PID-3.1").as_deref(), Some(token.as_str()));
    assert_eq!(
        day_of(&again.get("PV1-44").unwrap()) - day_of("20250101"),
        shift
    );
    let someone_else = er7_of(&run(
        &c,
        Value::String(other.replace("MRN001", "MRN002")),
        None,
    ));
    assert_ne!(someone_else.get("PID-3.1").as_deref(), Some(token.as_str()));

    // Another key gives other tokens: tokens are keyed, not plain hashes.
    let mut cfg = hl7_config();
    cfg.push((
        "transforms.deid.pseudonym.key",
        "another-key-0123456789abcdef",
    ));
    let rekeyed = er7_of(&run(&chain(&cfg).unwrap(), Value::String(ADT.into()), None));
    assert_ne!(rekeyed.get("PID-3.1").as_deref(), Some(token.as_str()));
}

fn fhir_patient(mrn: &str) -> Value {
    let json = format!(
        r#"{{"resourceType":"Patient","id":"p1","identifier":[{{"system":"urn:hosp:mrn","value":"{mrn}"}}],
        "name":[{{"family":"Doe","given":["Jane"]}}],"telecom":[{{"system":"phone","value":"617-555-0101"}}],
        "birthDate":"1950-07-04","address":[{{"line":["12 Elm St"],"city":"Boston","state":"MA","postalCode":"03601"}}]}}"#
    );
    connect_core::converter::JsonConverter::new(false)
        .decode(Some(json.as_bytes()))
        .unwrap()
        .value
}

#[test]
fn fhir_resources_bundles_and_json_text() {
    let c = chain(&[
        (
            "transforms.deid.remove.fields",
            "Patient.name,Patient.telecom,Patient.address.line,Patient.address.city",
        ),
        (
            "transforms.deid.pseudonymize.fields",
            "Patient.identifier.value,PID.3.1",
        ),
        (
            "transforms.deid.date.shift.fields",
            "Patient.birthDate,Encounter.period.start",
        ),
        (
            "transforms.deid.date.shift.subject",
            "Patient.identifier.value",
        ),
        ("transforms.deid.zip.fields", "Patient.address.postalCode"),
    ])
    .unwrap();
    let out = run(&c, fhir_patient("MRN001"), None);
    let m = out.as_map().unwrap();
    assert!(m.get("name").is_none() && m.get("telecom").is_none());
    let addr = &m.get("address").unwrap().as_array().unwrap()[0];
    let addr = addr.as_map().unwrap();
    assert_eq!(
        addr.get("postalCode").unwrap().as_str(),
        Some("000"),
        "036 is a restricted prefix"
    );
    assert!(addr.get("city").is_none() && addr.get("line").is_none());
    assert_eq!(addr.get("state").unwrap().as_str(), Some("MA"));
    let ident = &m.get("identifier").unwrap().as_array().unwrap()[0];
    let fhir_token = ident
        .as_map()
        .unwrap()
        .get("value")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(fhir_token, "MRN001");
    assert_ne!(m.get("birthDate").unwrap().as_str(), Some("1950-07-04"));

    // The same MRN in an HL7 feed gets the same token: the topics still join.
    let hl7 = chain(&[("transforms.deid.pseudonymize.fields", "PID.3.1")]).unwrap();
    let from_hl7 = er7_of(&run(&hl7, Value::String(ADT.into()), None));
    assert_eq!(from_hl7.get("PID-3.1"), Some(fhir_token.clone()));

    // In a Bundle given as JSON text, every Patient entry is handled and the text stays JSON.
    let bundle = format!(
        r#"{{"resourceType":"Bundle","type":"transaction","entry":[{{"resource":{p}}},{{"resource":{{"resourceType":"Encounter","id":"e1","period":{{"start":"2024-03-01T09:00:00-05:00"}}}}}}]}}"#,
        p = r#"{"resourceType":"Patient","identifier":[{"value":"MRN001"}],"name":[{"family":"Doe"}],"birthDate":"1950-07-04"}"#
    );
    let out = run(&c, Value::String(bundle), None);
    let s = out.as_str().unwrap();
    let json: serde_json::Value = serde_json::from_str(s).unwrap();
    let patient = &json["entry"][0]["resource"];
    assert!(patient.get("name").is_none(), "{s}");
    assert_eq!(patient["identifier"][0]["value"], fhir_token.as_str());
    // The Encounter has no identifier of its own: the subject comes from the Bundle's Patient, so its
    // date moves by the patient's offset.
    let start = json["entry"][1]["resource"]["period"]["start"]
        .as_str()
        .unwrap();
    assert!(start.ends_with("T09:00:00-05:00"), "{start}");
    let birth = patient["birthDate"].as_str().unwrap();
    let d = |t: &str| {
        days_from_civil(
            t[0..4].parse().unwrap(),
            t[5..7].parse().unwrap(),
            t[8..10].parse().unwrap(),
        )
    };
    assert_eq!(
        d(start) - d("2024-03-01"),
        d(birth) - d("1950-07-04"),
        "one offset for the whole Bundle"
    );
}

#[test]
fn schema_d_rows_keep_their_schema_and_types() {
    let schema = SchemaBuilder::struct_()
        .name("clinical.patients.patient.Value")
        .field("mrn", Schema::string())
        .field("ssn", Schema::optional_string())
        .field("name", Schema::string())
        .field("dob", Schema::date().build())
        .field("admitted", Schema::timestamp().build())
        .field(
            "updated",
            SchemaBuilder::new(connect_core::data::SchemaType::Int64)
                .name("io.debezium.time.MicroTimestamp")
                .build(),
        )
        .field("age", Schema::int32())
        .field("zip", Schema::optional_string())
        .field("notes", Schema::optional_string())
        .field("account", Schema::int64())
        .build();
    let mut row = Struct::new(schema.clone());
    row.put("mrn", "MRN001").unwrap();
    row.put("ssn", "123-45-6789").unwrap();
    row.put("name", "Jane Doe").unwrap();
    row.put("dob", Value::Date(days_from_civil(1930, 2, 15) as i32))
        .unwrap();
    row.put("admitted", Value::Timestamp(1_709_283_600_000))
        .unwrap();
    row.put("updated", Value::Int64(1_709_283_600_000_000))
        .unwrap();
    row.put("age", 96i32).unwrap();
    row.put("zip", "02139").unwrap();
    row.put("notes", "SSN 123-45-6789 on file").unwrap();
    row.put("account", 4_000_776i64).unwrap();
    let c = chain(&[
        ("transforms.deid.remove.fields", "ssn,name"),
        ("transforms.deid.pseudonymize.fields", "mrn,account"),
        ("transforms.deid.date.shift.fields", "admitted,updated"),
        ("transforms.deid.date.shift.subject", "mrn"),
        ("transforms.deid.year.fields", "dob"),
        ("transforms.deid.age.fields", "age"),
        ("transforms.deid.zip.fields", "zip"),
        ("transforms.deid.redact.fields", "notes"),
    ])
    .unwrap();
    let out = run(&c, Value::Struct(row), Some(schema.clone()));
    let st = out.as_struct().unwrap();
    schema.validate_value(&out).unwrap();
    assert_eq!(st.get("ssn"), Some(&Value::Null), "optional: null");
    assert_eq!(st.get("name"), Some(&Value::from("")), "required: empty");
    assert_eq!(st.get("age"), Some(&Value::Int32(90)));
    assert_eq!(st.get("zip"), Some(&Value::from("021")));
    assert_eq!(st.get("notes"), Some(&Value::from("SSN [SSN] on file")));
    assert_eq!(
        st.get("dob"),
        Some(&Value::Date(days_from_civil(1936, 1, 1) as i32)),
        "reference year 2026 (the record's timestamp): a 1930 birth year is bucketed"
    );
    assert!(matches!(st.get("account"), Some(Value::Int64(n)) if *n >= 0 && *n != 4_000_776));
    let Some(Value::Timestamp(admitted)) = st.get("admitted") else {
        panic!()
    };
    let Some(Value::Int64(updated)) = st.get("updated") else {
        panic!()
    };
    let shift_ms = admitted - 1_709_283_600_000;
    assert_eq!(shift_ms % 86_400_000, 0);
    assert_ne!(shift_ms, 0);
    assert_eq!(
        updated - 1_709_283_600_000_000,
        shift_ms * 1000,
        "µs Debezium timestamps too"
    );
}

#[test]
fn config_errors_name_the_key() {
    let e = chain(&[("transforms.deid.pseudonym.key", "")])
        .err()
        .unwrap();
    assert!(e.contains("no paths"), "{e}");
    let e = chain(&[
        ("transforms.deid.pseudonymize.fields", "mrn"),
        ("transforms.deid.pseudonym.key", "short"),
    ])
    .err()
    .unwrap();
    assert!(
        e.contains("transforms.deid.pseudonym.key") && e.contains("16 bytes"),
        "{e}"
    );
    assert!(!e.contains("short"), "the key's value is not echoed: {e}");
    let e = chain(&[("transforms.deid.date.shift.fields", "dob")])
        .err()
        .unwrap();
    assert!(e.contains("transforms.deid.date.shift.subject"), "{e}");
    let e = chain(&[
        ("transforms.deid.redact.fields", "notes"),
        ("transforms.deid.redact.patterns", "ssn,fax"),
    ])
    .err()
    .unwrap();
    assert!(
        e.contains("transforms.deid.redact.patterns") && e.contains("fax"),
        "{e}"
    );
    let e = chain(&[
        ("transforms.deid.zip.fields", "zip"),
        ("transforms.deid.zip.restricted.prefixes", "036,59"),
    ])
    .err()
    .unwrap();
    assert!(e.contains("zip.restricted.prefixes"), "{e}");
}

#[test]
fn data_errors_name_the_option_and_path_never_the_value() {
    let c = chain(&[
        ("transforms.deid.date.shift.fields", "dob"),
        ("transforms.deid.date.shift.subject", "mrn"),
    ])
    .unwrap();
    let mut m = Map::new();
    m.insert("mrn", "MRN001");
    m.insert("dob", "Feb 15th 1930 (Jane Doe)");
    let e = run_err(&c, Value::Map(m));
    assert!(
        e.contains("deid") && e.contains("date.shift.fields 'dob'"),
        "{e}"
    );
    assert!(!e.contains("Jane") && !e.contains("1930"), "{e}");
    let mut m = Map::new();
    m.insert("dob", "1930-02-15");
    let e = run_err(&c, Value::Map(m));
    assert!(e.contains("date.shift.subject"), "{e}");
    let e = run_err(&c, Value::String("MSH|^~\\&|A|B\rP\r".into()));
    assert!(e.contains("HL7"), "{e}");
}

#[test]
fn debug_output_hides_the_key() {
    let mut t = connect_smt::deidentify::Deidentify::new(connect_smt::Target::Value);
    connect_core::transform::Transformation::<SourceRecord>::configure(
        &mut t,
        &Props::new()
            .with("pseudonym.key", KEY)
            .with("pseudonymize.fields", "mrn"),
    )
    .unwrap();
    let dbg = format!("{t:?}");
    assert!(!dbg.contains(KEY) && dbg.contains("[hidden]"), "{dbg}");
}

/// Every message of the corpus: the usual PHI paths go, the message still parses, and each name of
/// PID-5 occurs fewer times than before.
#[test]
fn corpus_messages_lose_their_patient_names() {
    let c = chain(&[
        (
            "transforms.deid.remove.fields",
            "PID.5,PID.6,PID.9,PID.11,PID.13,PID.14,PID.19,NK1.2,GT1.3,IN1.16",
        ),
        ("transforms.deid.pseudonymize.fields", "PID.3.1,PID.18.1"),
        ("transforms.deid.year.fields", "PID.7"),
        ("transforms.deid.redact.fields", "NTE.3,OBX.5"),
    ])
    .unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/hl7/corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hl7") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let before = Message::parse(raw.clone().into()).unwrap();
        let names: Vec<String> = [1, 2]
            .iter()
            .filter_map(|c| before.get(&format!("PID-5.{c}")))
            .filter(|s| s.len() > 3)
            .collect();
        let mut r = SourceRecord::default();
        r.record.value = Value::Bytes(raw.into());
        let out = c
            .apply(r)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.error))
            .unwrap();
        let Value::Bytes(b) = &out.record.value else {
            panic!()
        };
        let after = Message::parse(b.clone()).unwrap();
        assert_eq!(after.get("PID-5"), None, "{}", path.display());
        let count = |hay: &[u8], name: &str| {
            hay.windows(name.len())
                .filter(|w| *w == name.as_bytes())
                .count()
        };
        for name in &names {
            // A name may also be a provider's or a relative's elsewhere; the patient's own is gone.
            assert!(
                count(b, name) < count(before.raw(), name),
                "{}: a PID-5 name was left",
                path.display()
            );
        }
        n += 1;
    }
    assert_eq!(n, 64);
}
