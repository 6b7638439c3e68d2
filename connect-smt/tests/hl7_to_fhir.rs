//! HL7ToFHIR over the corpus: every message of a covered type (every type in the corpus) gives a
//! Bundle that a FHIR R4 validator accepts (fhir.resources 6.4.0 models of FHIR 4.0.1, installed by
//! scripts/setup.sh), in which every reference resolves and codes come from the right systems, and
//! which equals the recorded one; field-level checks on several messages; ids stable across replays;
//! the unmappable policy.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use connect_core::config::Props;
use connect_core::data::Value;
use connect_core::hl7::Message;
use connect_core::record::SourceRecord;
use connect_core::transform::Transformation;
use connect_smt::hl7_to_fhir::Hl7ToFhir;
use connect_smt::Target;
use serde_json::Value as Json;

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/hl7/corpus"
    ))
}

fn smt(pairs: &[(&str, &str)]) -> Hl7ToFhir {
    let mut t = Hl7ToFhir::new(Target::Value);
    let props: Props = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    Transformation::<SourceRecord>::configure(&mut t, &props).unwrap();
    t
}

fn load(name: &str) -> Message {
    Message::parse(std::fs::read(corpus_dir().join(name)).unwrap().into()).unwrap()
}

fn bundle(name: &str) -> Json {
    smt(&[]).convert(&load(name)).unwrap().unwrap()
}

/// The Bundle of a corpus message with text replaced first (`(from, to)` pairs, in order).
fn bundle_edited(name: &str, edits: &[(&str, &str)]) -> Json {
    let raw = edits.iter().fold(
        std::fs::read_to_string(corpus_dir().join(name)).unwrap(),
        |text, (from, to)| text.replace(from, to),
    );
    smt(&[])
        .convert(&Message::parse(raw.into_bytes().into()).unwrap())
        .unwrap()
        .unwrap()
}

fn resources<'a>(b: &'a Json, ty: &str) -> Vec<&'a Json> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == ty)
        .collect()
}

/// Every `reference` anywhere in `v`.
fn references(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                if k == "reference" {
                    if let Some(s) = x.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    references(x, out);
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("FHIR_VALIDATOR_PYTHON") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/fhir-venv/bin/python"
    ));
    assert!(
        p.exists(),
        "the FHIR R4 validator is not installed: run scripts/setup.sh (it creates {})",
        p.display()
    );
    p
}

/// Our own checks, beyond the validator: unique fullUrls, references that resolve inside the Bundle,
/// codes from the systems the IG binds.
fn check_bundle(name: &str, b: &Json) {
    assert_eq!(b["resourceType"], "Bundle");
    let entries = b["entry"].as_array().unwrap();
    let urls: HashSet<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), entries.len(), "{name}: duplicate fullUrl");
    for e in entries {
        let r = &e["resource"];
        let (ty, id) = (
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap(),
        );
        assert_eq!(e["fullUrl"], format!("urn:uuid:{id}"), "{name}");
        assert_eq!(e["request"]["url"], format!("{ty}/{id}"), "{name}");
    }
    let mut refs = Vec::new();
    references(b, &mut refs);
    for r in &refs {
        assert!(
            urls.contains(r.as_str()),
            "{name}: reference {r} does not resolve in the Bundle"
        );
    }
    for p in resources(b, "Patient") {
        if let Some(g) = p["gender"].as_str() {
            assert!(
                ["male", "female", "other", "unknown"].contains(&g),
                "{name}: gender {g}"
            );
        }
        for id in p["identifier"].as_array().into_iter().flatten() {
            if let Some(sys) = id["type"]["coding"][0]["system"].as_str() {
                assert_eq!(
                    sys, "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "{name}"
                );
            }
        }
    }
    for e in resources(b, "Encounter") {
        let sys = e["class"]["system"].as_str().unwrap();
        assert!(
            sys == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
                || sys == "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
            "{name}: Encounter.class from {sys}"
        );
    }
    for o in resources(b, "Observation") {
        if let Some(sys) = o["valueQuantity"]["system"].as_str() {
            assert_eq!(sys, "http://unitsofmeasure.org", "{name}");
        }
        for i in o["interpretation"].as_array().into_iter().flatten() {
            assert_eq!(
                i["coding"][0]["system"],
                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
            );
        }
    }
    for i in resources(b, "Immunization") {
        assert!(i["occurrenceDateTime"].is_string(), "{name}");
    }
}

/// The message types the converter maps, each with at least one corpus message.
const COVERED: [&str; 15] = [
    "ADT", "ORU", "ORM", "OML", "VXU", "SIU", "MDM", "RDE", "RDS", "DFT", "BAR", "OMG", "OUL",
    "PPR", "REF",
];

#[test]
fn every_message_of_a_covered_type_gives_a_valid_r4_bundle() {
    let t = smt(&[("timezone", "-05:00")]);
    let mut lines = String::new();
    let mut names = Vec::new();
    let mut seen_types = HashSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("hl7"))
        .collect();
    files.sort();
    for path in files {
        let msg = Message::parse(std::fs::read(&path).unwrap().into()).unwrap();
        let (ty, _) = msg.message_type().unwrap();
        if !COVERED.contains(&ty.as_str()) {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let b = t
            .convert(&msg)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap();
        check_bundle(&name, &b);
        seen_types.insert(ty);
        lines.push_str(&serde_json::to_string(&b).unwrap());
        lines.push('\n');
        names.push(name);
    }
    assert_eq!(seen_types.len(), COVERED.len(), "{seen_types:?}");
    assert!(names.len() >= 30, "{} messages", names.len());
    assert_valid_r4(&lines, &names);
}

/// Runs the FHIR R4 validator over Bundles, one JSON document per line, named by `names`.
fn assert_valid_r4(lines: &str, names: &[String]) {
    let mut child = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fhir/validate_r4.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<String> = report
        .lines()
        .zip(names)
        .filter(|(l, _)| *l != "ok")
        .map(|(l, n)| format!("{n}: {l}"))
        .collect();
    assert!(
        out.status.success() && problems.is_empty() && report.lines().count() == names.len(),
        "FHIR R4 validation failed:\n{}\n{}",
        problems.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn adt_a01_patient_and_encounter_fields() {
    let b = bundle("ADT-A01-01.hl7");
    let p = resources(&b, "Patient")[0];
    // PID-3's repetitions, after PID-2 (see pid_maps_of_the_ig for the whole order).
    assert_eq!(p["identifier"][1]["value"], "PATID1234");
    assert_eq!(p["identifier"][1]["type"]["coding"][0]["code"], "MR");
    assert_eq!(p["identifier"][2]["value"], "123456789");
    assert_eq!(p["identifier"][2]["type"]["coding"][0]["code"], "SS");
    assert_eq!(p["name"][0]["family"], "EVERYMAN");
    assert_eq!(p["name"][0]["given"], serde_json::json!(["ADAM", "A"]));
    assert_eq!(p["name"][0]["suffix"], serde_json::json!(["III"]));
    assert_eq!(p["gender"], "male");
    assert_eq!(p["birthDate"], "1988-08-18");
    assert_eq!(p["address"][0]["line"][0], "1000 Hospital Lane");
    assert_eq!(p["address"][0]["city"], "Ann Arbor");
    assert_eq!(p["address"][0]["state"], "MI");
    assert_eq!(p["address"][0]["postalCode"], "99999");
    assert_eq!(p["maritalStatus"]["coding"][0]["code"], "M");
    let e = resources(&b, "Encounter")[0];
    assert_eq!(e["class"]["code"], "PRENC", "PV1-2 = P");
    assert_eq!(e["period"]["start"], "2015-02-08T11:34:19+01:10");
    assert!(e["participant"].as_array().unwrap().len() >= 3);
    // PV1-3 (point of care, room, bed) is a Location for the bed, referenced from the Encounter.
    let loc = resources(&b, "Location")[0];
    assert_eq!(loc["name"], "HUH AE OMU OMU B Bed 03");
    assert_eq!(loc["physicalType"]["coding"][0]["code"], "bd");
    assert_eq!(
        e["location"][0]["location"]["reference"],
        format!("urn:uuid:{}", loc["id"].as_str().unwrap())
    );
    let o = resources(&b, "Observation")[0];
    assert_eq!(o["code"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(o["code"]["coding"][0]["code"], "8867-4");
    assert_eq!(o["valueQuantity"]["value"], 60);
    assert_eq!(o["valueQuantity"]["unit"], "beats/min");
    assert_eq!(o["referenceRange"][0]["low"]["value"], 70);
    assert_eq!(o["referenceRange"][0]["high"]["value"], 80);
    assert_eq!(resources(&b, "AllergyIntolerance").len(), 1);
    assert_eq!(
        resources(&b, "Condition")[0]["code"]["coding"][0]["system"],
        "http://snomed.info/sct"
    );
    let cov = resources(&b, "Coverage")[0];
    assert_eq!(cov["status"], "active");
    assert_eq!(
        resolve(&b, &cov["payor"][0])["name"],
        "Blue Cross Blue Shield of Texas"
    );
    // NK1's next of kin, and the mother from PID-21.
    assert_eq!(resources(&b, "RelatedPerson").len(), 2);
}

/// PID and PD1 as the IG maps them, on ADT-A01-01: identifiers in the IG's order with their types,
/// the mother, the extensions, language, primary care provider, birth time and last update.
#[test]
fn pid_maps_of_the_ig() {
    let b = bundle("ADT-A01-01.hl7");
    let p = resources(&b, "Patient")[0];
    let ids: Vec<(String, String)> = p["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["value"].as_str().unwrap().to_owned(),
                i["type"]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let expected = [
        ("1234567", "MR"),       // PID-2
        ("PATID1234", "MR"),     // PID-3, first repetition
        ("123456789", "SS"),     // PID-3, second
        ("PATID567", ""),        // PID-4
        ("PSSN123121234", "SS"), // PID-19
        ("DLN-123", "DL"),       // PID-20
    ];
    assert_eq!(
        ids,
        expected
            .iter()
            .map(|(v, t)| (v.to_string(), t.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        p["identifier"][4]["system"],
        "http://hl7.org/fhir/sid/us-ssn"
    );
    assert_eq!(p["identifier"][5]["period"]["end"], "2001-01-23");

    // PID-21 and PID-6: the mother, linked from the Patient.
    let mother = resources(&b, "RelatedPerson")
        .into_iter()
        .find(|r| r["relationship"][0]["coding"][0]["code"] == "MTH")
        .expect("a RelatedPerson for the mother");
    assert_eq!(
        mother["relationship"][0]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
    );
    assert_eq!(mother["identifier"][0]["value"], "1212121");
    assert_eq!(mother["name"][0]["family"], "SMITH");
    assert_eq!(mother["name"][0]["given"][0], "Angela");
    assert_eq!(mother["name"][0]["use"], "maiden");
    let patient_ref = format!("urn:uuid:{}", p["id"].as_str().unwrap());
    assert_eq!(mother["patient"]["reference"], patient_ref);
    assert_eq!(
        p["link"][0]["other"]["reference"],
        format!("urn:uuid:{}", mother["id"].as_str().unwrap())
    );
    assert_eq!(p["link"][0]["type"], "seealso");

    let ext = |url: &str| -> serde_json::Value {
        p["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"] == url)
            .cloned()
            .unwrap_or_else(|| panic!("no extension {url}"))
    };
    let core = "http://hl7.org/fhir/StructureDefinition/";
    assert_eq!(
        ext(&format!("{core}patient-mothersMaidenName"))["valueString"],
        "SMITH"
    );
    assert_eq!(
        ext(&format!("{core}patient-religion"))["valueCodeableConcept"]["coding"][0]["code"],
        "AME"
    );
    assert_eq!(
        ext(&format!("{core}patient-birthPlace"))["valueAddress"]["text"],
        "St. Francis Community Hospital of Lower South Side"
    );
    let citizenship = ext(&format!("{core}patient-citizenship"));
    assert_eq!(citizenship["extension"][0]["url"], "code");
    assert_eq!(
        citizenship["extension"][0]["valueCodeableConcept"]["coding"][0],
        serde_json::json!({"system": "urn:iso:std:iso:3166", "code": "US", "display": "United States of America"})
    );
    assert_eq!(
        ext(&format!("{core}patient-nationality"))["extension"][0]["valueCodeableConcept"]
            ["coding"][0]["code"],
        "BT"
    );
    // PID-10: two OMB race categories and the required text.
    let race = ext("http://hl7.org/fhir/us/core/StructureDefinition/us-core-race");
    assert_eq!(
        race["extension"],
        serde_json::json!([
            {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3", "display": "White"}},
            {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2028-9", "display": "Asian"}},
            {"url": "text", "valueString": "White, Asian"}
        ])
    );
    // PID-22: table 0189's N is the OMB's "Not Hispanic or Latino".
    let ethnicity = ext("http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity");
    assert_eq!(ethnicity["extension"][0]["url"], "ombCategory");
    assert_eq!(ethnicity["extension"][0]["valueCoding"]["code"], "2186-5");

    assert_eq!(
        p["communication"][0]["language"]["coding"][0]["code"],
        "ara"
    );
    assert_eq!(
        p["_birthDate"]["extension"][0]["valueDateTime"],
        "1988-08-18T11:26:00+02:15"
    );
    assert_eq!(p["meta"]["lastUpdated"], "2005-01-10T01:50:14+03:15");
    // PD1-4: the primary care provider.
    let gp = &p["generalPractitioner"][0]["reference"];
    let doctor = resources(&b, "Practitioner")
        .into_iter()
        .find(|d| format!("urn:uuid:{}", d["id"].as_str().unwrap()) == *gp)
        .expect("the general practitioner is in the Bundle");
    assert_eq!(doctor["identifier"][0]["value"], "88");
    assert_eq!(doctor["name"][0]["family"], "Hippo");

    // PID-18: the patient's account, which the Encounter is billed to.
    let account = resources(&b, "Account")[0];
    assert_eq!(account["identifier"][0]["value"], "4000776");
    assert_eq!(
        account["identifier"][0]["system"],
        "urn:oid:1.3.6.1.4.1.44750.1.2.2"
    );
    assert_eq!(account["status"], "active");
    assert_eq!(account["subject"][0]["reference"], patient_ref);
    assert_eq!(
        resources(&b, "Encounter")[0]["account"][0]["reference"],
        format!("urn:uuid:{}", account["id"].as_str().unwrap())
    );

    // GT1: the patient guarantees their own account (GT1-11 SEL).
    assert_eq!(account["guarantor"][0]["party"]["reference"], patient_ref);
    // Another guarantor is a RelatedPerson with their name and relationship.
    let b2 = bundle_edited(
        "ADT-A01-01.hl7",
        &[(
            "|20010412|M|P/F|SEL|",
            "|20010412|M|P/F|SPO^Spouse^HL70063|",
        )],
    );
    let account2 = resources(&b2, "Account")[0];
    let spouse = resources(&b2, "RelatedPerson")
        .into_iter()
        .find(|r| {
            account2["guarantor"][0]["party"]["reference"]
                == format!("urn:uuid:{}", r["id"].as_str().unwrap())
        })
        .expect("the guarantor's RelatedPerson");
    assert_eq!(spouse["name"][0]["family"], "RADIANT");
    assert_eq!(spouse["relationship"][0]["coding"][0]["code"], "SPO");
    assert_eq!(spouse["address"][0]["city"], "MADISON");

    // A CDCREC race code (the immunization message) is a US Core category too.
    let b = bundle("IZ_1_1.1_Admin_Child_Max_Message.hl7");
    let p = resources(&b, "Patient")[0];
    let race = p["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race")
        .expect("US Core race");
    assert_eq!(race["extension"][0]["valueCoding"]["code"], "2076-8");
}

/// MDM^T02: TXA and the document's OBX as the IG's DocumentReference; its OBX are content, not
/// results.
#[test]
fn mdm_document_reference() {
    let b = bundle("MDM-T02-01.hl7");
    let d = resources(&b, "DocumentReference")[0];
    assert_eq!(d["status"], "current");
    assert_eq!(d["docStatus"], "final", "TXA-17 AU");
    assert_eq!(d["type"]["coding"][0]["code"], "DI");
    assert_eq!(
        d["masterIdentifier"]["value"],
        "1.2.840.317.5947431.51.20080131160038"
    );
    assert_eq!(d["date"], "2008-01-31T16:00:00+02:15");
    assert_eq!(
        d["content"],
        serde_json::json!([{"attachment": {"contentType": "application/pdf", "title": "TransthoracicEcho"}}])
    );
    let patient = resources(&b, "Patient")[0];
    assert_eq!(
        d["subject"]["reference"],
        format!("urn:uuid:{}", patient["id"].as_str().unwrap())
    );
    assert!(d["context"]["encounter"][0]["reference"]
        .as_str()
        .unwrap()
        .starts_with("urn:uuid:"));
    assert!(resources(&b, "Observation").is_empty());
    // Text content (a TX OBX) is one text/plain attachment of its lines.
    let b = bundle_edited(
        "MDM-T02-01.hl7",
        &[(
            "OBX|2|ED|02585^TransthoracicEcho^PCV4||^application^pdf^Base64^",
            "OBX|2|TX|02585^TransthoracicEcho^PCV4||Normal LV size~No effusion",
        )],
    );
    let d = resources(&b, "DocumentReference")[0];
    assert_eq!(d["content"][0]["attachment"]["contentType"], "text/plain");
    assert_eq!(
        d["content"][0]["attachment"]["data"], "Tm9ybWFsIExWIHNpemUKTm8gZWZmdXNpb24=",
        "base64 of the two lines"
    );
}

/// SIU: SCH and its resource segments as the IG's Appointment, one resource across the booking's
/// messages, its status following the trigger event and the resources' filler status.
#[test]
fn siu_appointments() {
    let b = bundle("SIU-S12-01.hl7");
    let a = resources(&b, "Appointment")[0];
    assert_eq!(a["status"], "booked");
    assert_eq!(a["identifier"][0]["value"], "12345");
    assert_eq!(a["identifier"][0]["type"]["coding"][0]["code"], "PLAC");
    assert_eq!(a["identifier"][1]["value"], "36996");
    assert_eq!(a["start"], "2021-09-24T09:30:00+02:15");
    assert_eq!(a["end"], "2021-09-24T10:20:00+02:15");
    assert_eq!(a["serviceType"][0]["coding"][0]["code"], "76164006");
    assert_eq!(a["reasonCode"][0]["coding"][0]["code"], "EMERGENCY");
    assert_eq!(a["appointmentType"]["coding"][0]["code"], "Normal");
    // SCH-10 "s" is not minutes: no minutesDuration.
    assert!(a.get("minutesDuration").is_none());
    let participants = a["participant"].as_array().unwrap();
    let patient = resources(&b, "Patient")[0];
    assert_eq!(
        participants[0]["actor"]["reference"],
        format!("urn:uuid:{}", patient["id"].as_str().unwrap())
    );
    assert!(participants
        .iter()
        .any(|p| p["type"][0]["text"] == "placer contact"));
    let gastro = participants
        .iter()
        .find(|p| p["type"][0]["coding"][0]["code"] == "010")
        .expect("the AIP's gastroenterologist");
    assert!(gastro["actor"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("urn:uuid:"));
    assert!(participants.iter().any(|p| p["actor"]["display"]
        .as_str()
        .is_some_and(|d| d.contains("Room01"))));
    // The cancellation and the no-show update the same Appointment.
    let cancelled = bundle("SIU-S15-01.hl7");
    let c = resources(&cancelled, "Appointment")[0];
    assert_eq!(c["id"], a["id"]);
    assert_eq!(c["status"], "cancelled");
    assert_eq!(c["participant"][0]["status"], "declined");
    let noshow = bundle("SIU-S26-01.hl7");
    assert_eq!(resources(&noshow, "Appointment")[0]["status"], "noshow");
    // SCH-9/10 in minutes.
    let b = bundle("SIU-S12_1.hl7");
    assert_eq!(resources(&b, "Appointment")[0]["minutesDuration"], 70);
}

/// SPM as the IG's Specimen, named by its order and the group's results.
#[test]
fn spm_specimen_of_an_order_group() {
    let b = bundle("ORU-R01-01.hl7");
    let specimens = resources(&b, "Specimen");
    assert_eq!(specimens.len(), 1);
    let sp = specimens[0];
    assert_eq!(
        sp["identifier"],
        serde_json::json!([
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PLAC"}]}, "value": "2012545"},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "FILL"}]}, "value": "2012999999"}
        ])
    );
    assert_eq!(sp["type"]["coding"][0]["code"], "ASERU");
    assert_eq!(sp["status"], "available");
    assert_eq!(sp["accessionIdentifier"]["value"], "AI-30");
    assert_eq!(
        sp["collection"]["collectedPeriod"],
        serde_json::json!({"start": "2011-01-03T14:34:28-08:00", "end": "2011-11-03T14:34:28-08:00"})
    );
    assert_eq!(sp["collection"]["method"]["coding"][0]["code"], "BCAE");
    assert_eq!(sp["collection"]["bodySite"]["coding"][0]["code"], "BAP");
    assert_eq!(sp["receivedTime"], "2012-03-01");
    assert_eq!(sp["note"][0]["text"], "This is a specimen resource");
    assert_eq!(sp["condition"].as_array().unwrap().len(), 2);
    assert_eq!(
        sp["container"][0]["type"]["coding"][0]["code"],
        "T-container"
    );
    assert_eq!(
        sp["container"][0]["additiveCodeableConcept"]["coding"][0]["code"],
        "STUTM"
    );
    let sp_ref = format!("urn:uuid:{}", sp["id"].as_str().unwrap());
    let order = resources(&b, "ServiceRequest")
        .into_iter()
        .find(|r| r["code"]["coding"][0]["code"] == "625-4")
        .unwrap();
    assert_eq!(order["specimen"][0]["reference"], sp_ref);
    let result = resources(&b, "Observation")
        .into_iter()
        .find(|o| o["valueCodeableConcept"]["coding"][0]["code"] == "27268008")
        .unwrap();
    assert_eq!(result["specimen"]["reference"], sp_ref);
    let report = resources(&b, "DiagnosticReport")
        .into_iter()
        .find(|r| r["code"]["coding"][0]["code"] == "625-4")
        .unwrap();
    assert_eq!(report["specimen"][0]["reference"], sp_ref);
    // A specimen with a type and a collection time only (the LRI message).
    let b = bundle("LRI_2.0-NG_CBC_Typ_Message.hl7");
    let sp = resources(&b, "Specimen")[0];
    assert_eq!(sp["type"]["coding"][0]["code"], "119297000");
    assert_eq!(
        sp["collection"]["collectedDateTime"],
        "2011-01-03T14:34:28-08:00"
    );
}

/// NTE as a note on the order or result it follows (past the PRT segments of its group).
#[test]
fn notes_land_on_the_order_or_result_they_follow() {
    let b = bundle("ORU-R01-01.hl7");
    let order = resources(&b, "ServiceRequest")
        .into_iter()
        .find(|r| r["code"]["coding"][0]["code"] == "625-4")
        .expect("the OBR's ServiceRequest");
    let notes = order["note"].as_array().expect("notes on the order");
    assert_eq!(notes.len(), 3, "two NTE and the TQ1's text instruction");
    assert_eq!(notes[2]["text"], "Please follow the text instructions");
    assert!(
        notes[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Enteric culture includes testing for Salmonella"),
        "{}",
        notes[0]
    );
    assert!(notes[0]["text"]
        .as_str()
        .unwrap()
        .contains("O157:H7 & other STECs"));
    assert_eq!(notes[1]["text"], "Allergy to peanuts observed.");
    assert!(notes[1]["authorReference"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("urn:uuid:"));
    let result = resources(&b, "Observation")
        .into_iter()
        .find(|o| o["valueCodeableConcept"]["coding"][0]["code"] == "27268008")
        .expect("the Salmonella result");
    let texts: Vec<&str> = result["note"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Submission of serum", "No Antibodies Detected"]);
    assert_eq!(result["note"][0]["time"], "2020-10-10T16:00:00+02:15");
    // The other results carry no note of theirs.
    assert_eq!(
        resources(&b, "Observation")
            .iter()
            .filter(|o| o.get("note").is_some())
            .count(),
        1
    );
}

/// ADT^A60: IAM as the IG's AllergyIntolerance, with the IAR after it as its reaction.
#[test]
fn iam_allergy_of_an_a60() {
    let b = bundle("ADT-A60-01.hl7");
    let allergies = resources(&b, "AllergyIntolerance");
    assert_eq!(allergies.len(), 1);
    let a = allergies[0];
    assert_eq!(a["category"], serde_json::json!(["food"]));
    // IAM-3, then IAM-27's coding.
    assert_eq!(a["code"]["coding"][0]["code"], "12345");
    assert_eq!(a["code"]["coding"][0]["display"], "Peanut Allergy");
    assert_eq!(
        a["code"]["coding"][1],
        serde_json::json!({"system": "http://snomed.info/sct", "code": "91935009", "display": "Allergy to Peanuts"})
    );
    assert_eq!(a["clinicalStatus"]["coding"][0]["code"], "active");
    // IAM-17 C (table 0438): confirmed.
    assert_eq!(a["verificationStatus"]["coding"][0]["code"], "confirmed");
    assert_eq!(
        a["identifier"][0],
        serde_json::json!({"value": "56789", "system": "urn:oid:1.3.6.1.4.1.44750.1.4"})
    );
    assert_eq!(a["onsetDateTime"], "2018-05");
    assert_eq!(a["recordedDate"], "2020-10-05");
    // Reported by the spouse (IAM-14, IAM-15): a RelatedPerson.
    let recorder = resources(&b, "RelatedPerson")
        .into_iter()
        .find(|r| a["recorder"]["reference"] == format!("urn:uuid:{}", r["id"].as_str().unwrap()))
        .expect("the reporter is in the Bundle");
    assert_eq!(recorder["name"][0]["family"], "Doe");
    assert_eq!(recorder["relationship"][0]["coding"][0]["code"], "SPO");
    // IAR: the reaction.
    let reaction = &a["reaction"][0];
    assert_eq!(reaction["manifestation"][0]["coding"][0]["code"], "34567");
    assert_eq!(reaction["severity"], "mild");
    assert_eq!(reaction["note"][0]["text"], "No Action taken");
    // The allergy keeps its id across messages about it: the id follows IAM-7, not the message.
    let later = bundle_edited("ADT-A60-01.hl7", &[("|MSG00001|", "|MSG00002|")]);
    assert_eq!(resources(&later, "AllergyIntolerance")[0]["id"], a["id"]);
}

/// MSH as the IG's MessageHeader, and the conversion's Provenance over every resource of the Bundle.
#[test]
fn message_header_and_provenance() {
    let b = bundle("ADT-A01-01.hl7");
    let uuid = |r: &Json| format!("urn:uuid:{}", r["id"].as_str().unwrap());
    let h = resources(&b, "MessageHeader")[0];
    assert_eq!(
        h["eventCoding"],
        serde_json::json!({"system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": "A01"})
    );
    assert_eq!(h["source"]["name"], "ADTApp");
    // MSH-3 has no universal id: R4's required endpoint is marked absent.
    assert_eq!(
        h["source"]["_endpoint"]["extension"][0]["valueCode"],
        "unknown"
    );
    assert_eq!(h["destination"][0]["name"], "EHRApp");
    assert_eq!(h["language"], "en-US");
    let orgs = resources(&b, "Organization");
    let org = |reference: &Json| {
        *orgs
            .iter()
            .find(|o| uuid(o) == reference.as_str().unwrap())
            .expect("the Organization is in the Bundle")
    };
    let sender = org(&h["sender"]["reference"]);
    assert_eq!(sender["name"], "GHHSFacility");
    assert_eq!(
        sender["identifier"][0]["value"],
        "urn:oid:2.16.840.1.122848.1.30"
    );
    let receiver = org(&h["destination"][0]["receiver"]["reference"]);
    assert_eq!(receiver["name"], "GHHRFacility");
    let patient = resources(&b, "Patient")[0];
    assert_eq!(h["focus"][0]["reference"], uuid(patient));

    let conversion = |b: &Json| -> Json {
        resources(b, "Provenance")
            .into_iter()
            .find(|p| p["activity"]["coding"][0]["code"] == "v2-fhir-transformation")
            .cloned()
            .expect("the conversion's Provenance")
    };
    let p = &conversion(&b);
    assert_eq!(p["recorded"], "1989-08-18T11:26:00+02:15");
    assert_eq!(p["activity"]["coding"][0]["code"], "v2-fhir-transformation");
    assert_eq!(p["activity"]["text"], "message - ADT^A01^ADT_A01");
    assert_eq!(p["entity"][0]["role"], "source");
    assert_eq!(p["entity"][0]["what"]["identifier"]["value"], "MSG00001");
    assert_eq!(p["entity"][1]["what"]["reference"], uuid(h));
    assert_eq!(p["agent"][0]["type"]["coding"][0]["code"], "assembler");
    assert_eq!(p["agent"][1]["who"]["reference"], uuid(sender));
    // Every other resource of the Bundle is a target.
    let targets: Vec<&str> = p["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    for e in b["entry"].as_array().unwrap() {
        let r = &e["resource"];
        if r["resourceType"] != "Provenance" {
            assert!(targets.contains(&uuid(r).as_str()), "{}", r["resourceType"]);
        }
    }
    // The conversion is a function of the message: converting it again gives the same Provenance.
    let again = bundle("ADT-A01-01.hl7");
    assert_eq!(&conversion(&again), p);

    // EVN: the event's own Provenance, about the Patient and the Encounter.
    let event = resources(&b, "Provenance")
        .into_iter()
        .find(|p| p["activity"]["coding"][0]["code"] == "A01")
        .expect("the event's Provenance");
    assert_eq!(event["recorded"], "2029-08-01T07:06:24+01:15");
    assert_eq!(event["occurredDateTime"], "2021-08-17T15:19:43.4+02:00");
    assert_eq!(event["reason"][0]["coding"][0]["code"], "01");
    assert_eq!(event["activity"]["coding"][0]["display"], "event - ADT^A01");
    assert_eq!(event["target"][0]["reference"], uuid(patient));
    assert_eq!(
        event["target"][1]["reference"],
        uuid(resources(&b, "Encounter")[0])
    );
    let operator = resources(&b, "Practitioner")
        .into_iter()
        .find(|d| uuid(d) == event["agent"][0]["who"]["reference"].as_str().unwrap())
        .expect("EVN-5's operator");
    assert_eq!(operator["identifier"][0]["value"], "C08");
}

/// ADT^A40: the record MRG-1 names is merged into the PID patient, recorded both ways in
/// Patient.link; the merged record keeps the id any message about it gave it.
#[test]
fn a_patient_merge_links_both_records() {
    let b = bundle("ADT-A40-01.hl7");
    let patients = resources(&b, "Patient");
    assert_eq!(patients.len(), 2);
    let (surviving, merged) = (patients[0], patients[1]);
    assert_eq!(surviving["identifier"][0]["value"], "12345");
    assert_eq!(merged["identifier"][0]["value"], "56789");
    assert_eq!(merged["active"], false);
    let reference = |p: &serde_json::Value| format!("urn:uuid:{}", p["id"].as_str().unwrap());
    assert_eq!(
        surviving["link"],
        serde_json::json!([{"other": {"reference": reference(merged)}, "type": "replaces"}])
    );
    assert_eq!(
        merged["link"],
        serde_json::json!([{"other": {"reference": reference(surviving)}, "type": "replaced-by"}])
    );
    // The merged record's id is the one a message with PID-3 = 56789^^^BCBS would give its Patient.
    // (An update, A08, about that record: MRG means nothing outside a merge.)
    let b2 = bundle_edited(
        "ADT-A40-01.hl7",
        &[
            ("ADT^A40^ADT_A40", "ADT^A08^ADT_A01"),
            ("PID|1||12345^^^BCBS^MR", "PID|1||56789^^^BCBS^MR"),
        ],
    );
    assert_eq!(resources(&b2, "Patient")[0]["id"], merged["id"]);
    // An account merge (A41) links no Patient.
    let b = bundle("ADT-A41-01.hl7");
    assert!(resources(&b, "Patient")
        .iter()
        .all(|p| p.get("link").is_none_or(|l| l
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["type"] != "replaces"))));
}

#[test]
fn oru_results_become_a_report_with_its_observations() {
    for name in ["ORU-R01-01.hl7", "LRI_2.0-NG_CBC_Typ_Message.hl7"] {
        let b = bundle(name);
        let reports = resources(&b, "DiagnosticReport");
        assert!(!reports.is_empty(), "{name}");
        let observations = resources(&b, "Observation");
        let linked: usize = reports
            .iter()
            .map(|r| r["result"].as_array().map_or(0, Vec::len))
            .sum();
        // OBX in an OBR's group are its results; OBX before any OBR (patient-level) are not.
        let msg = load(name);
        let mut before_obr = 0;
        for seg in msg.segments() {
            match seg.name() {
                "OBR" => break,
                "OBX" if seg.field_raw(3).is_some_and(|c| !c.is_empty()) => before_obr += 1,
                _ => {}
            }
        }
        assert_eq!(
            linked + before_obr,
            observations.len(),
            "{name}: every OBX after an OBR is a result of it"
        );
        assert!(linked > 0, "{name}");
        for o in &observations {
            assert!(
                o["status"].is_string() && o["code"]["coding"].is_array(),
                "{name}"
            );
        }
        assert!(!resources(&b, "ServiceRequest").is_empty(), "{name}");
    }
    let b = bundle("LRI_2.0-NG_CBC_Typ_Message.hl7");
    let quantities: Vec<&Json> = resources(&b, "Observation")
        .into_iter()
        .filter(|o| o["valueQuantity"]["system"] == "http://unitsofmeasure.org")
        .collect();
    assert!(!quantities.is_empty(), "UCUM units carried through");
}

#[test]
fn vxu_gives_immunizations_with_cvx_codes() {
    let b = bundle("VXU-V04-01.hl7");
    let imms = resources(&b, "Immunization");
    assert!(!imms.is_empty());
    for i in imms {
        assert!(["completed", "not-done"].contains(&i["status"].as_str().unwrap()));
        assert!(i["vaccineCode"]["coding"].is_array() || i["vaccineCode"]["text"].is_string());
    }
}

#[test]
fn orders_become_service_requests() {
    for name in ["ORM-O01-01.hl7", "OML-O21-01.hl7"] {
        let b = bundle(name);
        let srs = resources(&b, "ServiceRequest");
        assert!(!srs.is_empty(), "{name}");
        for s in srs {
            assert_eq!(s["intent"], "order");
            assert!(s["status"].is_string());
        }
        assert!(
            resources(&b, "DiagnosticReport").is_empty(),
            "{name}: orders are not reports"
        );
    }
}

#[test]
fn ids_are_stable_across_replays_and_messages() {
    let a = bundle("ADT-A01-01.hl7");
    assert_eq!(
        a,
        bundle("ADT-A01-01.hl7"),
        "the same message gives the same Bundle"
    );
    // The same patient in a later message (another control id) is the same Patient resource, while
    // the message's other resources get ids of their own.
    let raw = std::fs::read(corpus_dir().join("ADT-A01-01.hl7")).unwrap();
    let text = String::from_utf8_lossy(&raw)
        .replace("MSG00001", "MSG00002")
        .replace("ADT^A01^ADT_A01", "ADT^A08^ADT_A01");
    let b = smt(&[])
        .convert(&Message::parse(text.into_bytes().into()).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        resources(&a, "Patient")[0]["id"],
        resources(&b, "Patient")[0]["id"]
    );
    assert_eq!(
        resources(&a, "Encounter")[0]["id"],
        resources(&b, "Encounter")[0]["id"],
        "same visit number"
    );
    assert_ne!(
        resources(&a, "Observation")[0]["id"],
        resources(&b, "Observation")[0]["id"]
    );
    assert_ne!(a["id"], b["id"]);
}

#[test]
fn unmappable_policy_and_outputs() {
    let msg = "MSH|^~\\&|LAB|H|EHR|H|20240301083000+0000||ORU^R01|X1|P|2.5\r\
PID|1||123^^^H^MR||DOE^JANE||19600215|F\r\
OBR|1|P1|F1|24331-1^Lipid panel^LN|||20240301080000+0000||||||||||||||||||F\r\
OBX|1|NM|2093-3^Cholesterol^LN||185|mg/dL^mg/dL^UCUM|<200|N|||F\r\
OBX|2|ED|11502-2^Report^LN||^AP^PDF^Base64^JVBERi0=||||||F\r";
    let m = Message::parse(msg.as_bytes().to_vec().into()).unwrap();
    let b = smt(&[]).convert(&m).unwrap().unwrap();
    let obs = resources(&b, "Observation");
    assert_eq!(obs.len(), 2);
    assert_eq!(obs[0]["valueQuantity"]["code"], "mg/dL");
    assert_eq!(obs[0]["referenceRange"][0]["high"]["value"], 200);
    assert!(
        obs[1].get("valueString").is_none(),
        "the ED value is left out under skip"
    );
    let e = smt(&[("unmappable", "fail")])
        .convert(&m)
        .unwrap_err()
        .to_string();
    assert!(e.contains("OBX(2)-5") && e.contains("ED"), "{e}");
    assert!(!e.contains("JVBERi0"), "{e}");

    // resource.type: the Patient alone, as the seed's sketch returns.
    let p = smt(&[("resource.type", "Patient")])
        .convert(&m)
        .unwrap()
        .unwrap();
    assert_eq!(p["resourceType"], "Patient");
    assert_eq!(p["name"][0]["family"], "DOE");

    // As an SMT on a record: ER7 text in, JSON text or a map out; non-HL7 is a data error.
    let t = smt(&[("output.format", "json")]);
    let mut r = SourceRecord::default();
    r.record.value = Value::String(msg.into());
    let out = t.apply(r).unwrap().unwrap();
    assert!(out
        .record
        .value
        .as_str()
        .unwrap()
        .contains("\"DiagnosticReport\""));
    let t = smt(&[]);
    let mut r = SourceRecord::default();
    r.record.value = Value::Bytes(msg.as_bytes().to_vec().into());
    let out = t.apply(r).unwrap().unwrap();
    assert_eq!(
        out.record
            .value
            .as_map()
            .unwrap()
            .get("resourceType")
            .and_then(Value::as_str),
        Some("Bundle")
    );
    let mut r = SourceRecord::default();
    r.record.value = Value::String("{\"ssn\":\"123-45-6789\"}".into());
    let e = t.apply(r).err().unwrap().to_string();
    assert!(
        e.contains("not an HL7 v2 message") && !e.contains("123-45"),
        "{e}"
    );
    let mut bad = Hl7ToFhir::new(Target::Value);
    assert!(Transformation::<SourceRecord>::configure(
        &mut bad,
        &Props::new().with("timezone", "EST")
    )
    .is_err());
}

/// The ADT events set the Encounter's status: a discharge (A03) finishes it, a pre-admission (A05)
/// plans it, a cancelled admission (A11) cancels it, the others leave it in progress unless PV1-45 (the
/// discharge time) is set.
#[test]
fn adt_events_set_the_encounter_status() {
    let t = smt(&[]);
    for (file, want) in [
        ("ADT-A01-01.hl7", "in-progress"),
        ("ADT-A03-01.hl7", "finished"),
        ("ADT-A05-01.hl7", "planned"),
        ("ADT-A11-01.hl7", "cancelled"),
    ] {
        let msg = load(file);
        let b = t.convert(&msg).unwrap().unwrap();
        let enc = resources(&b, "Encounter");
        assert_eq!(enc.len(), 1, "{file}");
        let discharged = msg.get("PV1-45").is_some();
        let status = enc[0]["status"].as_str().unwrap();
        if want == "in-progress" && discharged {
            assert_eq!(status, "finished", "{file}: PV1-45 set");
        } else {
            assert_eq!(status, want, "{file}");
        }
    }
}

/// The resource a `urn:uuid:` reference names.
fn resolve<'a>(b: &'a Json, reference: &Json) -> &'a Json {
    let url = reference["reference"].as_str().expect("a reference");
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fullUrl"] == url)
        .map(|e| &e["resource"])
        .unwrap_or_else(|| panic!("{url} is not in the Bundle"))
}

/// The Bundle of a corpus message with whole segments replaced: each `(prefix, line)` replaces the
/// first segment that starts with `prefix`.
fn bundle_with_segments(name: &str, swaps: &[(&str, &str)]) -> Json {
    let text = std::fs::read_to_string(corpus_dir().join(name)).unwrap();
    let mut segments: Vec<String> = text
        .split(['\r', '\n'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for (prefix, line) in swaps {
        let at = segments
            .iter()
            .position(|s| s.starts_with(prefix))
            .unwrap_or_else(|| panic!("{name} has no segment {prefix}"));
        segments[at] = (*line).to_owned();
    }
    smt(&[])
        .convert(&Message::parse(segments.join("\r").into_bytes().into()).unwrap())
        .unwrap()
        .unwrap()
}

/// RDE^O11: the order group as a MedicationRequest after the IG's RXO, RXR and TQ1 maps, with RXE's
/// fields; the route and timing that follow RXE win over the order's; OBX as supporting information.
#[test]
fn rde_order_becomes_a_medication_request() {
    let b = bundle("RDE-O11-01.hl7");
    let requests = resources(&b, "MedicationRequest");
    assert_eq!(requests.len(), 1);
    let mr = requests[0];
    assert_eq!(mr["identifier"][0]["value"], "1163422591");
    assert_eq!(mr["identifier"][0]["type"]["coding"][0]["code"], "PLAC");
    assert_eq!(mr["identifier"][1], serde_json::json!({"value": "PN15"}));
    assert_eq!(mr["status"], "active");
    assert_eq!(mr["intent"], "order");
    assert_eq!(mr["priority"], "stat", "TQ1-9 of the RXE's timing");
    assert_eq!(
        mr["medicationCodeableConcept"]["coding"][0],
        serde_json::json!({"system": "http://hl7.org/fhir/sid/ndc", "code": "0143963401",
            "display": "200 ML BAG : NICARDIPINE IN NACL (ISO-OS) 40 MG/200 ML IV PGBK"})
    );
    assert_eq!(mr["authoredOn"], "2019-11-04T06:27:26+02:15");
    assert_eq!(
        resolve(&b, &mr["requester"])["name"][0]["family"],
        "TEST ONE",
        "RXE-13 without ORC-12"
    );
    let dosage = &mr["dosageInstruction"][0];
    assert_eq!(dosage["route"]["coding"][0]["code"], "IV");
    assert_eq!(dosage["route"]["coding"][0]["display"], "Intravenous");
    assert_eq!(dosage["site"]["coding"][0]["code"], "HAND");
    assert_eq!(dosage["text"], "Text instruction latest");
    let additional: Vec<&Json> = dosage["additionalInstruction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["text"])
        .collect();
    assert_eq!(additional.len(), 4, "RXE-7 repetitions and TQ1-10");
    assert_eq!(additional[0], "Titrate to BP less than 180");
    assert_eq!(additional[3], "Its a condition text");
    let timing = &dosage["timing"];
    assert_eq!(timing["code"]["coding"][0]["code"], "P");
    assert_eq!(timing["repeat"]["when"], serde_json::json!(["PCM"]));
    assert_eq!(
        timing["repeat"]["boundsPeriod"],
        serde_json::json!({"start": "2019-11-04T10:30:00+02:15", "end": "2019-11-04T11:30:00+02:15"})
    );
    assert_eq!(timing["repeat"]["countMax"], 2);
    let rate = &dosage["doseAndRate"][0];
    assert_eq!(rate["type"]["coding"][0]["code"], "ordered");
    assert_eq!(rate["doseQuantity"]["value"], 5);
    assert_eq!(rate["rateQuantity"]["value"], 23);
    assert_eq!(rate["rateQuantity"]["unit"], "mL/hr");
    assert_eq!(mr["dispenseRequest"]["quantity"]["value"], 3);
    assert_eq!(mr["dispenseRequest"]["numberOfRepeatsAllowed"], 12);
    let supporting = resolve(&b, &mr["supportingInformation"][0]);
    assert_eq!(supporting["resourceType"], "Observation");
    assert_eq!(supporting["code"]["coding"][0]["code"], "8867-4");
    // An order placed with RXO only (no RXE) is the IG's original order, with RXO's fields.
    let b = bundle_with_segments("RDE-O11-01.hl7", &[("RXE|", "RXR|PO^Oral")]);
    let mr = resources(&b, "MedicationRequest")[0];
    assert_eq!(mr["intent"], "original-order");
    assert_eq!(
        mr["medicationCodeableConcept"]["coding"][0]["code"],
        "00047040230"
    );
    assert_eq!(
        mr["substitution"]["allowedCodeableConcept"]["coding"][0]["code"],
        "G"
    );
    assert_eq!(mr["dispenseRequest"]["quantity"]["value"], 10);
    assert_eq!(mr["dispenseRequest"]["numberOfRepeatsAllowed"], 12);
    let dosage = &mr["dosageInstruction"][0];
    assert_eq!(dosage["doseAndRate"][0]["doseQuantity"]["value"], 2);
    assert_eq!(
        dosage["route"]["coding"][0]["code"], "IV",
        "the RXR after RXO"
    );
    assert_eq!(
        dosage["timing"]["code"]["coding"][0],
        serde_json::json!({"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": "TID"})
    );
    assert_eq!(
        (
            &dosage["timing"]["repeat"]["frequency"],
            &dosage["timing"]["repeat"]["periodUnit"]
        ),
        (&serde_json::json!(3), &serde_json::json!("d"))
    );
    // An order without a medication code is unmappable, by name and field.
    let err = smt(&[("unmappable", "fail")])
        .convert(
            &Message::parse(
                std::fs::read_to_string(corpus_dir().join("RDE-O11-01.hl7"))
                    .unwrap()
                    .replace("RXE||0143963401^200 ML BAG : NICARDIPINE IN NACL (ISO-OS) 40 MG/200 ML IV PGBK^NDC^^^^^^niCARdipine (CARDENE) in NaCl IV infusion 40 mg/200 mL (0.2 mg/mL)|", "RXE|||")
                    .into_bytes()
                    .into(),
            )
            .unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("RXE-2: no medication code"), "{err}");
    assert!(!err.contains("NICARDIPINE"), "{err}");
}

/// RDS^O13: RXD as a MedicationDispense authorized by the order's MedicationRequest, which keeps the
/// id the RDE that placed the order gave it.
#[test]
fn rds_dispense_of_the_ordered_medication() {
    let b = bundle("RDS-O13-01.hl7");
    let mr = resources(&b, "MedicationRequest")[0];
    let ordered = bundle("RDE-O11-01.hl7");
    assert_eq!(
        mr["id"],
        resources(&ordered, "MedicationRequest")[0]["id"],
        "one order, one resource across messages"
    );
    let timing = &mr["dosageInstruction"][0]["timing"]["repeat"];
    assert_eq!(
        timing["boundsDuration"],
        serde_json::json!({"value": 3, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"})
    );
    let dispenses = resources(&b, "MedicationDispense");
    assert_eq!(dispenses.len(), 1);
    let md = dispenses[0];
    assert_eq!(md["status"], "completed");
    assert_eq!(
        md["medicationCodeableConcept"]["coding"][0]["code"],
        "01151327"
    );
    assert_eq!(md["identifier"][0]["value"], "PN12345");
    assert_eq!(
        md["quantity"],
        serde_json::json!({"value": 10, "unit": "Tablet"})
    );
    assert_eq!(md["whenHandedOver"], "2020-12-12");
    assert_eq!(md["note"][0]["text"], "After Food");
    assert_eq!(
        resolve(&b, &md["performer"][0]["actor"])["name"][0]["family"],
        "Smith"
    );
    assert_eq!(
        md["dosageInstruction"][0]["route"]["coding"][0]["code"],
        "PO"
    );
    assert_eq!(
        md["authorizingPrescription"][0]["reference"],
        format!("urn:uuid:{}", mr["id"].as_str().unwrap())
    );
}

/// RAS^O17: RXA in a pharmacy message is a MedicationAdministration (not an Immunization), of the
/// order's MedicationRequest, with the IG's ORC map (identifiers, ordering provider as OP).
#[test]
fn ras_administration_of_the_ordered_medication() {
    let ras = |rxa: &str| {
        bundle_with_segments(
            "RDS-O13-01.hl7",
            &[
                (
                    "MSH|",
                    &std::fs::read_to_string(corpus_dir().join("RDS-O13-01.hl7"))
                        .unwrap()
                        .split('\r')
                        .next()
                        .unwrap()
                        .replace("RDS^O13^RDS_O13", "RAS^O17^RAS_O17"),
                ),
                (
                    "ORC|",
                    "ORC|RE|1163422591^EPC|||||||20191104062726+0215|||1542^Yardy^Mark",
                ),
                ("RXD|", rxa),
            ],
        )
    };
    let b = ras("RXA|0|1|202012120830+0100|202012120845+0100|01151327^Doxycycline^NDC|1|385055001^Tablet^SCT|||9941339108^Smith^Adam||50|mL/h^mL/h^UCUM|||||||CP|A");
    assert!(resources(&b, "Immunization").is_empty());
    let given = resources(&b, "MedicationAdministration");
    assert_eq!(given.len(), 1);
    let ma = given[0];
    assert_eq!(ma["status"], "completed");
    assert_eq!(
        ma["medicationCodeableConcept"]["coding"][0]["code"],
        "01151327"
    );
    assert_eq!(
        ma["effectivePeriod"],
        serde_json::json!({"start": "2020-12-12T08:30:00+01:00", "end": "2020-12-12T08:45:00+01:00"})
    );
    assert_eq!(ma["identifier"][0]["value"], "1163422591");
    let functions: Vec<&Json> = ma["performer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["function"]["coding"][0]["code"])
        .collect();
    assert_eq!(functions, ["AP", "OP"]);
    assert_eq!(
        resolve(&b, &ma["performer"][1]["actor"])["name"][0]["family"],
        "Yardy"
    );
    assert_eq!(
        ma["dosage"]["dose"],
        serde_json::json!({"value": 1, "unit": "Tablet"})
    );
    assert_eq!(
        ma["dosage"]["rateQuantity"],
        serde_json::json!({"value": 50, "unit": "mL/h", "system": "http://unitsofmeasure.org", "code": "mL/h"})
    );
    assert_eq!(ma["dosage"]["route"]["coding"][0]["code"], "PO");
    let mr = resolve(&b, &ma["request"]);
    assert_eq!(mr["resourceType"], "MedicationRequest");
    check_bundle("RAS", &b);
    assert_valid_r4(&serde_json::to_string(&b).unwrap(), &["RAS".to_owned()]);
    // Refused: not done, with the reason.
    let b = ras("RXA|0|1|202012120830+0100||01151327^Doxycycline^NDC|999||||||||||||00^Parental decision^NIP002||RE|A");
    let ma = resources(&b, "MedicationAdministration")[0];
    assert_eq!(ma["status"], "not-done");
    assert_eq!(ma["statusReason"][0]["coding"][0]["code"], "00");
    assert_eq!(ma["effectiveDateTime"], "2020-12-12T08:30:00+01:00");
    assert!(ma["dosage"].get("dose").is_none(), "999: no amount");
}

/// VXU: the ORC is the ServiceRequest the immunization fulfils (the IG's optional map, linked by
/// R5's basedOn as an extension) and gives the Immunization its order numbers and ordering
/// provider; the OBX after the RXA are part of the immunization.
#[test]
fn vxu_order_and_its_immunization() {
    let b = bundle("IZ_1_1.1_Admin_Child_Max_Message.hl7");
    let imm = resources(&b, "Immunization")[0];
    let based_on = &imm["extension"][0];
    assert_eq!(
        based_on["url"],
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-Immunization.basedOn"
    );
    let sr = resolve(&b, &based_on["valueReference"]);
    assert_eq!(sr["resourceType"], "ServiceRequest");
    assert_eq!(sr["status"], "completed", "ORC-1 RE: the service is done");
    assert_eq!(sr["identifier"][0]["value"], "IZ-783274");
    assert_eq!(imm["identifier"][0]["type"]["coding"][0]["code"], "FILL");
    assert_eq!(imm["identifier"][0]["value"], "IZ-783274");
    let performers = imm["performer"].as_array().unwrap();
    assert_eq!(performers[0]["function"]["coding"][0]["code"], "AP");
    assert_eq!(performers[1]["function"]["coding"][0]["code"], "OP");
    assert_eq!(
        resolve(&b, &performers[1]["actor"])["name"][0]["family"],
        "RADON"
    );
    // The route's code system is NCI Thesaurus, not the route table the field defaults to.
    assert_eq!(
        imm["route"]["coding"][0],
        serde_json::json!({"system": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl",
            "code": "C28161", "display": "Intramuscular"})
    );
    let imm_ref = format!("urn:uuid:{}", imm["id"].as_str().unwrap());
    let parts: Vec<&Json> = resources(&b, "Observation")
        .into_iter()
        .filter(|o| o["partOf"][0]["reference"] == imm_ref.as_str())
        .collect();
    assert_eq!(parts.len(), 4, "the four OBX after the RXA");
    // ORC-9 as the time recorded.
    let b = bundle_with_segments(
        "IZ_1_1.1_Admin_Child_Max_Message.hl7",
        &[("ORC|", "ORC|RE||IZ-783274^NDA||||||20120814101500-0500")],
    );
    assert_eq!(
        resources(&b, "Immunization")[0]["recorded"],
        "2012-08-14T10:15:00-05:00"
    );
}

/// An OBX sent with an order (ORM, OML) supports the ServiceRequest rather than reporting a result.
#[test]
fn observations_sent_with_an_order_support_it() {
    let b = bundle("ORM-O01-01.hl7");
    let sr = resources(&b, "ServiceRequest")[0];
    let info = resolve(&b, &sr["supportingInfo"][0]);
    assert_eq!(info["resourceType"], "Observation");
    assert_eq!(info["code"]["coding"][0]["code"], "8867-4");
}

/// DFT^P03: each charge FT1 as a ChargeItem on the patient's account; PR1 as the IG's Procedure;
/// a credit is noted and left out.
#[test]
fn dft_charges_and_procedures() {
    let b = bundle("DFT-P03-01.hl7");
    let charges = resources(&b, "ChargeItem");
    assert_eq!(charges.len(), 2);
    let c = charges[0];
    assert_eq!(c["status"], "billable");
    assert_eq!(c["identifier"][0]["value"], "12345");
    assert_eq!(
        c["code"]["coding"][0],
        serde_json::json!({"system": "http://www.ama-assn.org/go/cpt", "code": "71045", "display": "Xray exam chest 1 view"})
    );
    assert_eq!(c["occurrenceDateTime"], "2019-11-22");
    assert_eq!(c["enteredDate"], "2019-11-22");
    assert_eq!(c["quantity"]["value"], 2);
    assert_eq!(
        c["priceOverride"],
        serde_json::json!({"value": 100, "currency": "USD"})
    );
    assert_eq!(c["reason"].as_array().unwrap().len(), 2);
    assert_eq!(
        c["productCodeableConcept"]["coding"][0]["code"],
        "0182-1061-05"
    );
    assert_eq!(
        resolve(&b, &c["performer"][0]["actor"])["name"][0]["family"],
        "Smith"
    );
    assert_eq!(resolve(&b, &c["enterer"])["name"][0]["family"], "Mellie");
    assert_eq!(resolve(&b, &c["account"][0])["resourceType"], "Account");
    assert_eq!(resolve(&b, &c["subject"])["resourceType"], "Patient");
    assert_eq!(charges[1]["priceOverride"]["value"], 120);
    let procedures = resources(&b, "Procedure");
    assert_eq!(procedures.len(), 1);
    assert_eq!(procedures[0]["code"]["coding"][0]["code"], "71045");
    assert_eq!(procedures[0]["performedDateTime"], "2019-11-22");
    // A credit (CD) is not a charge: left out, or under `unmappable=fail` an error naming the field.
    let credit = std::fs::read_to_string(corpus_dir().join("DFT-P03-01.hl7"))
        .unwrap()
        .replace(
            "FT1|1|12345||20191122|20191122|CG|",
            "FT1|1|12345||20191122|20191122|CD|",
        );
    let msg = Message::parse(credit.into_bytes().into()).unwrap();
    let b = smt(&[]).convert(&msg).unwrap().unwrap();
    assert_eq!(resources(&b, "ChargeItem").len(), 1);
    let err = smt(&[("unmappable", "fail")])
        .convert(&msg)
        .unwrap_err()
        .to_string();
    assert!(err.contains("FT1(1)-6: not a charge"), "{err}");
}

/// PR1 as the IG's Procedure: a period of PR1-7 minutes, performers with the IG's SNOMED CT
/// functions, category, reason and identifier.
#[test]
fn pr1_procedure_of_an_admission() {
    let b = bundle("ADT-A01-01.hl7");
    let p = resources(&b, "Procedure")[0];
    assert_eq!(p["status"], "completed");
    assert_eq!(p["code"]["coding"][0]["code"], "76164006");
    assert_eq!(
        p["code"]["text"],
        "Biopsy of colon, which was part of colonoscopy"
    );
    assert_eq!(p["category"]["coding"][0]["code"], "D");
    assert_eq!(
        p["performedPeriod"],
        serde_json::json!({"start": "2005-01-25T11:40:00+01:00", "end": "2005-01-25T11:42:00+01:00"})
    );
    let functions: Vec<&Json> = p["performer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["function"]["coding"][0]["code"])
        .collect();
    assert_eq!(
        functions,
        [
            &serde_json::json!("88189002"),
            &serde_json::json!("304292004"),
            &Json::Null,
            // The ROL of the procedure group.
            &serde_json::json!("PP"),
        ]
    );
    assert_eq!(p["reasonCode"][0]["coding"][0]["code"], "799008");
    assert_eq!(p["identifier"][0]["value"], "PR1006");
    assert_eq!(resolve(&b, &p["encounter"])["resourceType"], "Encounter");
}

/// Every corpus message of a covered type converts to the Bundle recorded under
/// `testdata/hl7/fhir-expected/` (compared as parsed JSON values, so key order and number spelling do
/// not matter): a change to how Bundles are built (the JSON writer, the reading of segments) cannot
/// change what they say. A change to a map changes the files on purpose: rerun with
/// `HL7_FHIR_EXPECTED=write` and review their diff. The JSON text (`convert_to_json`, and the SMT
/// with `output.format=json`) must be byte for byte serde_json's text of that value (no corpus
/// message has a control character, the one place they differ), and the map form the
/// JsonConverter's reading of it.
#[test]
fn bundles_match_the_recorded_output_in_every_output_form() {
    let dir = corpus_dir().join("../fhir-expected");
    let write = std::env::var("HL7_FHIR_EXPECTED").as_deref() == Ok("write");
    let t = smt(&[("timezone", "-05:00")]);
    let json_text = smt(&[("timezone", "-05:00"), ("output.format", "json")]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("hl7"))
        .collect();
    files.sort();
    let mut compared = 0;
    let mut differ = Vec::new();
    for path in files {
        let msg = Message::parse(std::fs::read(&path).unwrap().into()).unwrap();
        if !COVERED.contains(&msg.message_type().unwrap().0.as_str()) {
            continue;
        }
        let b = t.convert(&msg).unwrap().unwrap();
        let name = path.with_extension("json");
        let expected = dir.join(name.file_name().unwrap());
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&expected, serde_json::to_string_pretty(&b).unwrap() + "\n").unwrap();
            continue;
        }
        let recorded: Json = serde_json::from_slice(
            &std::fs::read(&expected).unwrap_or_else(|e| panic!("{}: {e}", expected.display())),
        )
        .unwrap();
        if recorded != b {
            differ.push(expected.display().to_string());
        }
        // The other outputs are written from the same tree without serde_json: the JSON text is
        // byte for byte serde_json's of the value, and the map form is the JsonConverter's.
        let mut bytes = Vec::new();
        assert!(t.convert_to_json(&msg, &mut bytes).unwrap());
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            serde_json::to_string(&b).unwrap(),
            "{}",
            path.display()
        );
        let mut record = SourceRecord::default();
        record.record.value = Value::Bytes(msg.raw().clone());
        let text = json_text.apply(record.clone()).unwrap().unwrap();
        assert_eq!(
            text.record.value.as_str(),
            Some(serde_json::to_string(&b).unwrap().as_str())
        );
        let map = t.apply(record).unwrap().unwrap();
        assert_eq!(
            map.record.value,
            connect_core::converter::JsonConverter::json_into_schemaless_value(b.clone()),
            "{}",
            path.display()
        );
        compared += 1;
    }
    if !write {
        assert!(compared >= 40, "{compared} messages compared");
        assert!(
            differ.is_empty(),
            "Bundles differ from the recorded ones (HL7_FHIR_EXPECTED=write rewrites them): {differ:?}"
        );
    }
}

/// ROL as the IG's PractitionerRole: after PD1 the patient's primary care provider, after PV1/PV2 a
/// participant of the visit (one resource for the same person in the same role), after PR1 a
/// performer of the procedure; a ROL elsewhere is noted and left out.
#[test]
fn rol_practitioner_roles_of_the_patient_the_visit_and_the_procedure() {
    let b = bundle("ADT-A01-01.hl7");
    let roles = resources(&b, "PractitionerRole");
    assert_eq!(
        roles.len(),
        2,
        "the same provider after PD1 and after PV2, another after PR1"
    );
    let role = *roles
        .iter()
        .find(|r| resolve(&b, &r["practitioner"])["identifier"][0]["value"] == "12377H87")
        .expect("the provider of the patient and the visit");
    let role_ref = format!("urn:uuid:{}", role["id"].as_str().unwrap());
    assert_eq!(role["code"][0]["coding"][0]["code"], "PP");
    assert_eq!(role["specialty"][0]["coding"][0]["code"], "408443003");
    assert_eq!(
        role["period"],
        serde_json::json!({"start": "2022-01-01", "end": "2022-02-02"}),
        "no offset and no timezone: the dates"
    );
    assert_eq!(
        resolve(&b, &role["practitioner"])["identifier"][0]["value"],
        "12377H87"
    );
    assert_eq!(role["telecom"][0]["value"], "fred@nnnn.com");
    let patient = resources(&b, "Patient")[0];
    assert!(patient["generalPractitioner"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["reference"] == role_ref.as_str()));
    let encounter = resources(&b, "Encounter")[0];
    let participant = encounter["participant"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["individual"]["reference"] == role_ref.as_str())
        .expect("the visit's participant");
    assert_eq!(participant["type"][0]["coding"][0]["code"], "PP");
    // The ROL of the procedure group: a performer of the Procedure, after PR1's own performers.
    let procedure = resources(&b, "Procedure")[0];
    let performer = procedure["performer"].as_array().unwrap().last().unwrap();
    assert_eq!(performer["function"]["coding"][0]["code"], "PP");
    let actor = resolve(&b, &performer["actor"]);
    assert_eq!(actor["resourceType"], "PractitionerRole");
    assert_eq!(
        resolve(&b, &actor["practitioner"])["identifier"][0]["value"],
        "121"
    );
    assert_ne!(
        actor["id"], role["id"],
        "another person in the same role is another PractitionerRole"
    );
}

/// TQ1 of an order as the IG's ServiceRequest timing, priority and quantity, whether it comes before
/// the OBR (OML) or after it (ORU).
#[test]
fn tq1_times_the_order() {
    let b = bundle("OML-O21-01.hl7");
    let sr = resources(&b, "ServiceRequest")[0];
    assert_eq!(sr["priority"], "routine");
    let timing = &sr["occurrenceTiming"];
    assert_eq!(timing["code"]["coding"][0]["code"], "Once");
    assert_eq!(timing["repeat"]["when"], serde_json::json!(["AC"]));
    assert_eq!(timing["repeat"]["countMax"], 1);
    assert_eq!(timing["repeat"]["duration"], 15);
    assert_eq!(timing["repeat"]["durationUnit"], "min");
    assert_eq!(sr["note"][0]["text"], "Fasting Sugar");
    let b = bundle("ORU-R01-01.hl7");
    let sr = resources(&b, "ServiceRequest")
        .into_iter()
        .find(|r| r["code"]["coding"][0]["code"] == "625-4")
        .unwrap();
    assert_eq!(sr["priority"], "asap");
    assert_eq!(sr["quantityQuantity"]["value"], 54);
    assert_eq!(
        sr["occurrenceTiming"]["repeat"]["timeOfDay"],
        serde_json::json!(["11:30:05", "11:45:05"]),
        "TQ1-4's explicit times"
    );
    // CQ units in HL7's name for UCUM are UCUM, as a CWE's are.
    let b = bundle_edited(
        "ORU-R01-01.hl7",
        &[("TQ1|1|54^&lbs|", "TQ1|1|54^mg&milligram&ANS+|")],
    );
    let sr = resources(&b, "ServiceRequest")
        .into_iter()
        .find(|r| r["code"]["coding"][0]["code"] == "625-4")
        .unwrap();
    assert_eq!(
        sr["quantityQuantity"],
        serde_json::json!({"value": 54, "unit": "milligram", "system": "http://unitsofmeasure.org", "code": "mg"})
    );
    assert_eq!(
        sr["occurrenceTiming"]["repeat"]["boundsPeriod"],
        serde_json::json!({"start": "2021-10-09T16:00:00-08:00", "end": "2021-11-09T16:00:00-08:00"})
    );
}

/// The IG's CX.4 -> `assigner(Organization)`: every identifier's assigning authority is an
/// Organization (identified by its OID when CX.4 has one) that the assigner refers to.
#[test]
fn assigning_authorities_are_organizations() {
    let b = bundle("ADT-A01-01.hl7");
    let patient = resources(&b, "Patient")[0];
    for id in patient["identifier"].as_array().unwrap() {
        if let Some(name) = id["assigner"]["display"].as_str() {
            let org = resolve(&b, &id["assigner"]);
            assert_eq!(org["resourceType"], "Organization");
            assert_eq!(org["name"], name);
        }
    }
    let account = resources(&b, "Account")[0];
    let org = resolve(&b, &account["identifier"][0]["assigner"]);
    assert_eq!(org["name"], "AccMgr");
    assert_eq!(
        org["identifier"][0],
        serde_json::json!({"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.3.6.1.4.1.44750.1.2.2"})
    );
}

/// PRB (PPR^PC1) as a problem-list Condition: code, status, onset, recorded; one id per problem
/// instance; a deleted problem is entered in error with no clinical status.
#[test]
fn prb_problem_list_entries() {
    let b = bundle("PC1-Problem-Add-v2.3.1.hl7");
    let conditions = resources(&b, "Condition");
    assert_eq!(conditions.len(), 1);
    let c = conditions[0];
    assert_eq!(c["category"][0]["coding"][0]["code"], "problem-list-item");
    assert_eq!(
        c["code"]["coding"][0],
        serde_json::json!({"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": "596.5", "display": "BLADDER DYSFUNCTION"})
    );
    assert_eq!(c["identifier"][0]["value"], "26744");
    // This sample writes ACTIVE in PRB-13 (confirmation status), which takes confirmation codes only.
    assert!(c.get("clinicalStatus").is_none() && c.get("verificationStatus").is_none());
    assert_eq!(c["onsetDateTime"], "2004-06-29");
    assert_eq!(c["recordedDate"], "2004-06-29");
    let statuses = bundle_edited(
        "PC1-Problem-Add-v2.3.1.hl7",
        &[("||||||ACTIVE|||", "||||||confirmed^Confirmed|ACTIVE||")],
    );
    let s = resources(&statuses, "Condition")[0];
    assert_eq!(s["clinicalStatus"]["coding"][0]["code"], "active");
    assert_eq!(s["verificationStatus"]["coding"][0]["code"], "confirmed");
    let deleted = bundle_edited("PC1-Problem-Add-v2.3.1.hl7", &[("PRB|AD|", "PRB|DE|")]);
    let d = resources(&deleted, "Condition")[0];
    assert_eq!(d["id"], c["id"], "the same problem instance");
    assert_eq!(
        d["verificationStatus"]["coding"][0]["code"],
        "entered-in-error"
    );
    assert!(d.get("clinicalStatus").is_none());
}
