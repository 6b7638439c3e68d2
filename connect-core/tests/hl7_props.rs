//! Property tests of the HL7 parser: any well-formed message, with any legal delimiters, terminators,
//! BOM and trailing blanks, re-encodes byte for byte, and every field reads back as written.

use bytes::Bytes;
use connect_core::hl7::{escape, unescape, Delimiters, Message};
use proptest::prelude::*;

fn delimiters() -> impl Strategy<Value = Delimiters> {
    // Five distinct punctuation characters.
    Just(b"|^~\\&#$%!@*+".to_vec())
        .prop_shuffle()
        .prop_map(|p| Delimiters {
            field: p[0],
            component: p[1],
            repetition: p[2],
            escape: p[3],
            subcomponent: p[4],
            truncation: None,
        })
}

fn text() -> impl Strategy<Value = String> {
    // Free text, including delimiter characters (escaped before encoding) and non-ASCII.
    proptest::string::string_regex("[A-Za-z0-9 .,:;/()'é-]{0,12}|[|^~&!@*+#$%]{1,3}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parse_encode_round_trip_and_field_access(
        d in delimiters(),
        values in proptest::collection::vec(proptest::collection::vec(text(), 1..6), 1..6),
        terminator in prop_oneof![Just("\r"), Just("\n"), Just("\r\n")],
        bom in any::<bool>(),
        trailing in prop_oneof![Just(""), Just("\r\n"), Just("  \n")],
    ) {
        let f = d.field as char;
        let enc: String = [d.component, d.repetition, d.escape, d.subcomponent].iter().map(|&b| b as char).collect();
        let mut raw = Vec::new();
        if bom {
            raw.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
        }
        raw.extend_from_slice(format!("MSH{f}{enc}{f}APP{f}FAC{f}{f}{f}20240101{f}{f}ADT{}A01{f}ID1{f}P{f}2.5", d.component as char).as_bytes());
        for seg in &values {
            raw.extend_from_slice(terminator.as_bytes());
            raw.extend_from_slice(b"ZZZ");
            for v in seg {
                raw.push(d.field);
                raw.extend_from_slice(&escape(v.as_bytes(), &d));
            }
        }
        // A closing field: trailing blanks at the very end of a message are tolerated (stripped), so
        // generated values never sit there.
        raw.push(d.field);
        raw.extend_from_slice(b"END");
        raw.extend_from_slice(trailing.as_bytes());
        let msg = Message::parse(Bytes::from(raw.clone())).unwrap();
        prop_assert_eq!(msg.encode(), raw);
        let trigger = msg.get("MSH-9.2");
        prop_assert_eq!(trigger.as_deref(), Some("A01"));
        for (i, seg) in values.iter().enumerate() {
            for (j, v) in seg.iter().enumerate() {
                let got = msg.get(&format!("ZZZ({})-{}", i + 1, j + 1));
                let want = if v.is_empty() { None } else { Some(v.clone()) };
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn escape_unescape_round_trip(d in delimiters(), v in "\\PC{0,40}") {
        let escaped = escape(v.as_bytes(), &d);
        let back = unescape(&escaped, &d);
        prop_assert_eq!(&back[..], v.as_bytes());
    }

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(
        header in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        // Half the inputs start like a message, so parsing goes past the header check.
        let mut b = if header { b"MSH|^~\\&|".to_vec() } else { Vec::new() };
        b.extend_from_slice(&tail);
        if let Ok(m) = Message::parse(Bytes::from(b.clone())) {
            prop_assert_eq!(m.encode(), b);
            let _ = m.get("PID-3(2).1.1");
        }
    }
}
