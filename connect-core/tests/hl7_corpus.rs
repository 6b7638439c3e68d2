//! The HL7 v2 parser over the shared corpus (`testdata/hl7/corpus`, copied from the project's shared material with its MIT licence, 64 real-world-style messages):
//! every message parses and re-encodes byte for byte, and field-level values come out right.

use bytes::Bytes;
use connect_core::hl7::{parse_batch, Message};

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/hl7/corpus")
}

fn load(name: &str) -> Message {
    let bytes = std::fs::read(corpus_dir().join(name)).unwrap();
    Message::parse(Bytes::from(bytes)).unwrap()
}

#[test]
fn every_corpus_message_parses_and_reencodes_exactly() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hl7") {
            continue;
        }
        let bytes = Bytes::from(std::fs::read(&path).unwrap());
        let msg =
            Message::parse(bytes.clone()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            msg.encode(),
            bytes.to_vec(),
            "{} re-encodes byte for byte",
            path.display()
        );
        assert_eq!(
            msg.segments().next().unwrap().name(),
            "MSH",
            "{}",
            path.display()
        );
        assert!(msg.control_id().is_some(), "{}: MSH-10", path.display());
        assert!(msg.message_type().is_some(), "{}: MSH-9", path.display());
        for seg in msg.segments() {
            assert_eq!(seg.name().len(), 3);
        }
        n += 1;
    }
    assert_eq!(n, 64);
}

#[test]
fn adt_a01_fields() {
    let m = load("ADT-A01-01.hl7");
    assert_eq!(m.get("MSH-1").as_deref(), Some("|"));
    assert_eq!(m.get("MSH-2").as_deref(), Some("^~\\&"));
    assert_eq!(m.get("MSH-3").as_deref(), Some("ADTApp"));
    assert_eq!(
        m.message_type(),
        Some(("ADT".to_string(), "A01".to_string()))
    );
    assert_eq!(m.control_id().as_deref(), Some("MSG00001"));
    assert_eq!(m.version().as_deref(), Some("2.8"));
    // Identifiers: repetitions, components, subcomponents.
    assert_eq!(m.get("PID-3.1").as_deref(), Some("PATID1234"));
    assert_eq!(m.get("PID.3.1").as_deref(), Some("PATID1234"));
    assert_eq!(m.get("PID-3.4.2").as_deref(), Some("2.16.1"));
    assert_eq!(m.get("PID-3(2).1").as_deref(), Some("123456789"));
    assert_eq!(m.get("PID-3(2).5").as_deref(), Some("SS"));
    assert_eq!(m.get("PID-3(3).1"), None);
    // Name, birth date, sex.
    assert_eq!(m.get("PID-5.1.1").as_deref(), Some("EVERYMAN"));
    assert_eq!(m.get("PID-5.2").as_deref(), Some("ADAM"));
    assert_eq!(m.get("PID-7").as_deref(), Some("198808181126+0215"));
    assert_eq!(m.get("PID-8").as_deref(), Some("M"));
    assert_eq!(m.get("PID-11.3").as_deref(), Some("Ann Arbor "));
    assert_eq!(m.get("ZZZ-1"), None);
}

#[test]
fn oru_r01_segment_repetitions() {
    let m = load("ORU-R01-01.hl7");
    assert_eq!(m.message_type().unwrap().0, "ORU");
    let obx: Vec<_> = m.segments().filter(|s| s.name() == "OBX").collect();
    assert!(obx.len() >= 3);
    assert_eq!(m.get("OBX-2").as_deref(), Some("RP"));
    assert_eq!(m.get("OBX(3)-3.1").as_deref(), Some("625-4"));
    assert_eq!(m.get("OBX(3)-6.1").as_deref(), Some("beats/min"));
    assert_eq!(m.get("OBX(3)-7").as_deref(), Some("70-80"));
}

#[test]
fn bom_and_batches() {
    // Files with a byte order mark parse from the MSH after it and keep the BOM on re-encoding.
    let bom = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            std::fs::read(p)
                .map(|b| b.starts_with(&[0xEF, 0xBB, 0xBF]))
                .unwrap_or(false)
        })
        .expect("the corpus has files with a BOM");
    let bytes = std::fs::read(&bom).unwrap();
    let m = Message::parse(Bytes::from(bytes.clone())).unwrap();
    assert_eq!(m.encode(), bytes);
    assert_eq!(m.get("MSH-1").as_deref(), Some("|"));

    // A batch file of three corpus messages.
    let mut batch = b"FHS|^~\\&|LAB|HOSP\rBHS|^~\\&|LAB|HOSP\r".to_vec();
    for name in ["ADT-A01-01.hl7", "ORU-R01-01.hl7", "VXU-V04-01.hl7"] {
        let mut b = std::fs::read(corpus_dir().join(name)).unwrap();
        if !b.ends_with(b"\n") && !b.ends_with(b"\r") {
            b.push(b'\r');
        }
        batch.extend_from_slice(&b);
    }
    batch.extend_from_slice(b"BTS|3\rFTS|1\r");
    let msgs = parse_batch(Bytes::from(batch)).unwrap();
    let types: Vec<String> = msgs.iter().map(|m| m.message_type().unwrap().0).collect();
    assert_eq!(types, ["ADT", "ORU", "VXU"]);
    assert!(msgs.iter().all(|m| m
        .segments()
        .all(|s| !["BTS", "FTS", "BHS", "FHS"].contains(&s.name()))));
}

#[test]
fn delimiters_charsets_and_bad_input() {
    // Non-default delimiters and Latin-1 text.
    let raw = b"MSH$!@#%$A$B$C$D$20240101$$ADT!A04$X1$P$2.5$$$$$$8859/1\rPID$1$$77!!!H$$M\xfcller!Zo\xeb\r".to_vec();
    let m = Message::parse(Bytes::from(raw)).unwrap();
    assert_eq!(m.get("MSH-9.2").as_deref(), Some("A04"));
    assert_eq!(m.get("PID-5.1").as_deref(), Some("Müller"));
    assert_eq!(m.get("PID-5.2").as_deref(), Some("Zoë"));
    assert_eq!(m.get("PID-3.4").as_deref(), Some("H"));
    // Malformed input: a clear error, never a panic.
    for bad in [
        &b""[..],
        b"   \r\n",
        b"PID|1",
        b"MSH|^~",
        b"MSH|^^\\&|x",
        b"MSH|^~\\&|A\rP|x",
        b"\xef\xbb\xbf",
    ] {
        assert!(
            Message::parse(Bytes::copy_from_slice(bad)).is_err(),
            "{bad:?}"
        );
    }
}

/// The structured form of every corpus message reads the same text at every field, component and
/// subcomponent as the parser does, and encodes back to a message that parses to the same text.
#[test]
fn every_corpus_message_survives_the_structured_form() {
    use connect_core::hl7::{structured, Path};
    let mut checked = 0usize;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hl7") {
            continue;
        }
        let msg = Message::parse(Bytes::from(std::fs::read(&path).unwrap())).unwrap();
        let value = structured::to_value(&msg);
        let map = value.as_map().unwrap();
        let again = Message::parse(Bytes::from(structured::from_value(&value).unwrap()))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for seg in msg.segments() {
            let occ = seen.entry(seg.name().to_owned()).or_default();
            *occ += 1;
            for f in 1..=seg.field_count() {
                for (c, s) in [
                    (None, None),
                    (Some(1), None),
                    (Some(2), None),
                    (Some(1), Some(2)),
                ] {
                    let p = Path {
                        segment: seg.name().to_owned(),
                        segment_rep: *occ,
                        field: f,
                        field_rep: 1,
                        component: c,
                        subcomponent: s,
                    };
                    let want = msg.get_at(&p);
                    assert_eq!(structured::get(map, &p), want, "{} {p}", path.display());
                    assert_eq!(again.get_at(&p), want, "{} {p}", path.display());
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 5000, "{checked} paths checked");
}
