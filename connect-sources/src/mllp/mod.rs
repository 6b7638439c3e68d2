//! An MLLP listener for HL7 v2 feeds (ADT, orders, results) that acknowledges only durable messages.
//!
//! Each message received over MLLP (`<VT> message <FS><CR>`) becomes a record on the topic its message
//! type routes to (`ADT^A01` -> `clinical.patient.admitted` by default), keyed by `key.path`
//! (`PID-3.1`). The sender's ACK is written only from [`SourceTask::record_settled`], that is after the
//! broker acknowledged the record: **AA means the message is in Kafka** (or that a transform dropped
//! it on purpose, so a resend is pointless). A message that does not parse or is too large gets AR,
//! one the pipeline could not store gets AE, each with an ERR segment. No message ever stops the
//! listener: with `errors.tolerance=all` the connection stays open (and the message goes to the DLQ
//! when one is set); with `none` only that connection is closed after the NAK. A message resent with
//! the same (MSH-3, MSH-4, MSH-10) within `dedup.window.ms` is not written again: it is acknowledged
//! once its first copy is durable. The ids are bounded (`dedup.max.entries`) and, per sender, the
//! recent ones are kept with the source offsets (`dedup.persist.slots`) so a restart keeps them.
//! Connections are limited (`mllp.max.connections`) and closed when idle (`mllp.idle.timeout.ms`).
//!
//! [`SourceTask::record_settled`]: connect_core::source::SourceTask::record_settled

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
