//! Property tests of MLLP framing: whatever bytes arrive, in whatever chunks, the decoder never panics,
//! and frames sent between junk come out whole and in order.

use connect_sources::mllp::{encode_frame, FrameDecoder, FrameError};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_panics_on_arbitrary_input(data in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..64) {
        let mut d = FrameDecoder::new(256);
        for c in data.chunks(chunk) {
            d.extend(c);
            while d.next_frame().is_some() {}
        }
    }

    #[test]
    fn frames_survive_junk_and_chunking(
        frames in proptest::collection::vec(proptest::collection::vec(0x20u8..0x7f, 1..200), 1..8),
        junk in proptest::collection::vec(proptest::collection::vec(0x20u8..0x7f, 0..20), 8),
        chunk in 1usize..97,
    ) {
        let mut stream = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            stream.extend_from_slice(&junk[i]);
            stream.extend_from_slice(&encode_frame(f));
        }
        let mut d = FrameDecoder::new(1024);
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.extend(c);
            while let Some(f) = d.next_frame() {
                match f {
                    Ok(b) => got.push(b.to_vec()),
                    Err(FrameError::Garbage(_)) => {}
                    Err(e) => prop_assert!(false, "unexpected {:?}", e),
                }
            }
        }
        prop_assert_eq!(got, frames);
    }
}
