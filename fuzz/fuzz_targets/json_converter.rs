//! Arbitrary bytes through the `JsonConverter`, with schemas on and off: reading never panics or
//! allocates without bound, and what was read writes back and reads again to the same data.
#![no_main]

use bytes::Bytes;
use connect_core::config::Props;
use connect_core::converter::{Converter, JsonConverter};
use libfuzzer_sys::fuzz_target;

fn converter(schemas: bool) -> JsonConverter {
    let mut c = JsonConverter::new(schemas);
    let props = Props::new().with("schemas.enable", if schemas { "true" } else { "false" });
    Converter::configure(&mut c, &props, false).expect("configures");
    c
}

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    for schemas in [true, false] {
        let c = converter(schemas);
        let Ok(v) = c.to_connect_data("t", Some(&bytes)) else { continue };
        let Ok(Some(out)) = c.from_connect_data("t", v.schema.as_ref(), &v.value) else { continue };
        let again = c.to_connect_data("t", Some(&out)).expect("what the converter wrote, it reads");
        assert_eq!(again.value, v.value, "round trip keeps the data");
    }
});
