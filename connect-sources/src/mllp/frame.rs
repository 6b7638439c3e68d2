//! MLLP framing: `<VT>` (0x0B) message `<FS><CR>` (0x1C 0x0D).

use bytes::{Buf, Bytes, BytesMut};

const VT: u8 = 0x0B;
const FS: u8 = 0x1C;
const CR: u8 = 0x0D;

/// A framing problem; the decoder has resynchronised when it reports one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A frame grew past the maximum size; its bytes past `limit` were discarded up to its end.
    TooLarge {
        /// The maximum frame size.
        limit: usize,
        /// The frame's first `limit` bytes (for the dead letter queue).
        head: Bytes,
        /// The frame's whole size.
        size: usize,
    },
    /// Bytes outside any frame were skipped.
    Garbage(usize),
}

/// Wraps a message in an MLLP frame.
pub fn encode_frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(VT);
    out.extend_from_slice(message);
    out.extend_from_slice(&[FS, CR]);
    out
}

/// Splits a byte stream into MLLP frames. Feed it what the socket gives; take frames out.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    max: usize,
    discarding: bool,
    /// While discarding: the oversized frame's first `max` bytes and its size so far.
    head: Bytes,
    size: usize,
}

impl FrameDecoder {
    /// A decoder that rejects frames larger than `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            buf: BytesMut::new(),
            max,
            discarding: false,
            head: Bytes::new(),
            size: 0,
        }
    }

    /// Appends received bytes.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame's content, a framing error, or None when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Bytes, FrameError>> {
        loop {
            if self.discarding {
                match find_end(&self.buf) {
                    Some(end) => {
                        let n = end + 2;
                        self.buf.advance(n);
                        self.discarding = false;
                        return Some(Err(FrameError::TooLarge {
                            limit: self.max,
                            head: std::mem::take(&mut self.head),
                            size: self.size.saturating_add(end),
                        }));
                    }
                    None => {
                        // Keep a trailing FS in case its CR is next.
                        let keep = usize::from(self.buf.last() == Some(&FS));
                        let drop = self.buf.len() - keep;
                        self.size = self.size.saturating_add(drop);
                        self.buf.advance(drop);
                        return None;
                    }
                }
            }
            if self.buf.is_empty() {
                return None;
            }
            if self.buf[0] != VT {
                let skip = self
                    .buf
                    .iter()
                    .position(|&b| b == VT)
                    .unwrap_or(self.buf.len());
                // Blank bytes between frames (some senders add CR/LF) are not worth reporting.
                let all_blank = self.buf[..skip]
                    .iter()
                    .all(|b| matches!(b, b'\r' | b'\n' | b' '));
                self.buf.advance(skip);
                if !all_blank {
                    return Some(Err(FrameError::Garbage(skip)));
                }
                continue;
            }
            match find_end(&self.buf[1..]) {
                Some(end) => {
                    let mut frame = self.buf.split_to(1 + end + 2);
                    frame.advance(1);
                    frame.truncate(end);
                    if frame.len() > self.max {
                        let size = frame.len();
                        frame.truncate(self.max);
                        return Some(Err(FrameError::TooLarge {
                            limit: self.max,
                            head: frame.freeze(),
                            size,
                        }));
                    }
                    return Some(Ok(frame.freeze()));
                }
                None => {
                    if self.buf.len() > self.max + 3 {
                        // Keep the head for the DLQ, discard the rest up to the frame's end.
                        let mut head = self.buf.split_to(1 + self.max);
                        head.advance(1);
                        self.head = head.freeze();
                        self.size = self.max;
                        self.discarding = true;
                        continue;
                    }
                    return None;
                }
            }
        }
    }
}

fn find_end(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == [FS, CR])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_and_resync() {
        let mut d = FrameDecoder::new(20);
        let mut stream = encode_frame(b"MSH|one");
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(&encode_frame(b"MSH|two"));
        stream.extend_from_slice(b"junk");
        stream.extend_from_slice(&encode_frame(b"0123456789012345678901234"));
        stream.extend_from_slice(&encode_frame(b"MSH|three"));
        stream.extend_from_slice(&encode_frame(&[b'x'; 100]));
        let mut got = Vec::new();
        for chunk in stream.chunks(3) {
            d.extend(chunk);
            while let Some(f) = d.next_frame() {
                got.push(f.map(|b| String::from_utf8(b.to_vec()).unwrap()));
            }
        }
        // Garbage is reported as it arrives (here in 3-byte reads); what matters is how much.
        let garbage: usize = got
            .iter()
            .map(|g| match g {
                Err(FrameError::Garbage(n)) => *n,
                _ => 0,
            })
            .sum();
        assert_eq!(garbage, 4);
        got.retain(|g| !matches!(g, Err(FrameError::Garbage(_))));
        assert_eq!(
            got,
            vec![
                Ok("MSH|one".to_string()),
                Ok("MSH|two".to_string()),
                Err(FrameError::TooLarge {
                    limit: 20,
                    head: Bytes::from_static(b"01234567890123456789"),
                    size: 25,
                }),
                Ok("MSH|three".to_string()),
                Err(FrameError::TooLarge {
                    limit: 20,
                    head: Bytes::from(vec![b'x'; 20]),
                    size: 100,
                }),
            ]
        );
    }
}
