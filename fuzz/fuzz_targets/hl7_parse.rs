//! Arbitrary bytes through the HL7 parser and everything built on it: parse, batch split, path access,
//! re-encoding, the structured form and back. None of it may panic; a parsed message must re-encode to
//! its input.
#![no_main]

use bytes::Bytes;
use connect_core::hl7::{parse_batch, structured, Message, Path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let _ = parse_batch(bytes.clone());
    if let Ok(msg) = Message::parse(bytes) {
        assert_eq!(msg.encode(), data, "a parsed message re-encodes to its input");
        for p in ["MSH-9.1", "MSH-10", "PID-3(2).1", "PID-5.1.1", "OBX(3)-5", "NTE-3"] {
            let _ = msg.get(p);
        }
        let _ = msg.message_type();
        let value = structured::to_value(&msg);
        if let Ok(er7) = structured::from_value(&value) {
            let _ = Message::parse(Bytes::from(er7));
        }
        if let (Some(map), Ok(path)) = (value.as_map(), Path::parse("PID-5(2).1")) {
            let mut map = map.clone();
            let _ = structured::set(&mut map, &path, "X|^~\\&");
        }
    }
});
