//! # connect-core
//!
//! The core of connect-rs, an SDK that embeds Kafka Connect-style connectors in a Rust service:
//!
//! * [`data`]: Kafka Connect's data model ([`data::Schema`], [`data::Value`], [`data::Struct`],
//!   logical types);
//! * [`record`]: [`record::SourceRecord`] and [`record::SinkRecord`];
//! * [`source`], [`sink`], [`transform`]: the task and SMT contracts;
//! * [`converter`]: `JsonConverter` (byte-compatible with Kafka Connect's), `StringConverter`,
//!   `ByteArrayConverter`;
//! * [`config`]: typed config definitions, connector JSON and worker properties, config providers;
//! * [`registry`]: plugin names (Java class names too) to Rust factories;
//! * [`runtime`]: the worker that runs tasks against Kafka with at-least-once delivery, retries and a
//!   dead letter queue, on a real cluster or an embedded one.
#![warn(missing_docs)]

pub mod config;
pub mod converter;
pub mod data;
mod data_text;
pub mod error;
#[cfg(feature = "fhir")]
pub mod fhir;
#[cfg(feature = "hl7")]
pub mod hl7;
#[cfg(feature = "http")]
pub mod http;
pub mod record;
pub mod registry;
pub mod runtime;
pub mod sink;
pub mod source;
mod source_offset;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transform;

pub use async_trait::async_trait;
pub use data_text::{parse_text, value_to_text};

/// Re-exported so that hosts and connectors use the same rdkafka as the runtime.
pub use rdkafka;
