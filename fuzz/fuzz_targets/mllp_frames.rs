//! Arbitrary bytes, fed in arbitrary chunks, through the MLLP frame decoder: it never panics, never
//! returns a frame larger than its limit, and every frame it returns was framed in the input.
#![no_main]

use connect_sources::mllp::FrameDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, rest) = match data.split_first() {
        Some((s, r)) => (usize::from(*s).max(1), r),
        None => return,
    };
    let max = 64;
    let mut dec = FrameDecoder::new(max);
    for chunk in rest.chunks(split) {
        dec.extend(chunk);
        while let Some(frame) = dec.next_frame() {
            if let Ok(f) = frame {
                assert!(f.len() <= max, "a frame over the limit was returned");
                assert!(
                    rest.windows(f.len().max(1)).any(|w| f.is_empty() || w == &f[..]),
                    "a frame that is not in the input"
                );
            }
        }
    }
});
