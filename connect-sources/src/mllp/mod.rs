//! An MLLP listener for HL7 v2 feeds (ADT, orders, results) that acknowledges only durable messages.
//!
//! Each message received over MLLP (`<VT> message <FS><CR>`) becomes a record on the topic its message
//! type routes to (`ADT^A01` -> `clinical.patient.admitted` by default), keyed by `key.path`
//! (`PID-3.1`). The sender's ACK is written only from [`SourceTask::commit_record`], that is after the
//! broker acknowledged the record: **AA means the message is in Kafka**. A message that does not
//! parse gets AR, one the pipeline could not store gets AE, each with an ERR segment; the connection
//! stays open. A message resent with the same (MSH-3, MSH-4, MSH-10) within `dedup.window.ms` is not
//! written again: it is acknowledged once its first copy is durable.
//!
//! [`SourceTask::commit_record`]: connect_core::source::SourceTask::commit_record

mod ack;
mod config;
mod frame;
mod task;
mod tls;

pub use ack::{build_ack, AckCode};
pub use config::{MllpSourceConfig, MllpSourceConnector};
pub use frame::{encode_frame, FrameDecoder, FrameError};
pub use task::MllpSourceTask;
pub use tls::TlsSettings;
