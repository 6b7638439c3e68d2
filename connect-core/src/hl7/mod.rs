//! HL7 v2 messages in ER7 (pipe-and-hat) encoding: a zero-copy parser over [`bytes::Bytes`], path access
//! in the notations integration engineers type (`PID-3.1`, `PID.3.1`, `PID-3(2).1`, `OBX(3)-5`),
//! escape sequences, character sets and batch files.
//!
//! ```
//! use connect_core::hl7::Message;
//!
//! let msg = Message::parse(bytes::Bytes::from_static(
//!     b"MSH|^~\\&|ADT|HOSP|EHR|HOSP|202401010830||ADT^A01|MSG1|P|2.5\rPID|1||12345^^^HOSP^MR~999^^^SSA^SS||DOE^JANE\\T\\A\r",
//! ))
//! .unwrap();
//! assert_eq!(msg.get("PID-3.1").as_deref(), Some("12345"));
//! assert_eq!(msg.get("PID.3(2).4").as_deref(), Some("SSA"));
//! assert_eq!(msg.get("PID-5.2").as_deref(), Some("JANE&A"));
//! assert_eq!(msg.control_id().as_deref(), Some("MSG1"));
//! assert_eq!(&msg.encode()[..], &msg.raw()[..]);
//! ```

mod escape;
mod message;
mod path;
pub mod structured;

pub use escape::{escape, unescape};
pub use message::{nth_part, parse_batch, Charset, Delimiters, Hl7Error, Message, SegmentRef};
pub use path::{Path, MAX_COMPONENT, MAX_FIELD, MAX_REPETITION};
