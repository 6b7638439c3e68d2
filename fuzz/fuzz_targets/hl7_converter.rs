//! Arbitrary bytes through `Hl7Converter` both ways (structured and text values): bytes -> Connect
//! data -> bytes must never panic, and a structured value read back writes a message that parses.
#![no_main]

use bytes::Bytes;
use connect_core::config::Props;
use connect_core::converter::{Converter, Hl7Converter};
use connect_core::hl7::Message;
use libfuzzer_sys::fuzz_target;

fn converter(structure: bool) -> Hl7Converter {
    let mut c = Hl7Converter::default();
    let props = Props::new().with("hl7.message.structure", if structure { "true" } else { "false" });
    Converter::configure(&mut c, &props, false).expect("configures");
    c
}

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    for structure in [true, false] {
        let c = converter(structure);
        if let Ok(v) = c.to_connect_data("t", Some(&bytes)) {
            if let Ok(Some(out)) = c.from_connect_data("t", v.schema.as_ref(), &v.value) {
                if structure {
                    assert!(Message::parse(out).is_ok(), "a structured value writes a message");
                }
            }
        }
    }
});
