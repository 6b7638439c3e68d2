//! Converters between Kafka's bytes and Connect data, as Kafka Connect's `Converter` and
//! `HeaderConverter`.
//!
//! A converter is configured once as a key or a value converter, then called per record from the task's
//! thread. Malformed input gives a [`DataError`] that the runtime routes by the error policy; a converter
//! never panics on input.

mod bytes;
#[cfg(feature = "hl7")]
mod hl7;
mod json;
mod json_writer;
mod simple_header;
mod string;

use ::bytes::Bytes;

use crate::config::Props;
use crate::data::{Schema, SchemaAndValue, Value};
use crate::error::{ConfigError, DataError};

pub use self::bytes::ByteArrayConverter;
#[cfg(feature = "hl7")]
pub use hl7::Hl7Converter;
pub use json::{DecimalFormat, JsonConverter};
pub use json_writer::{write_java_f32, write_java_f64, write_json_string};
pub use simple_header::SimpleHeaderConverter;
pub use string::StringConverter;

/// Converts record keys or values between Connect data and bytes.
///
/// Method names follow Kafka Connect's (`fromConnectData`, `toConnectData`) so they read the same to
/// people who know the Java API.
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send + Sync {
    /// Configures the converter. Called once, before any conversion, with the keys given under
    /// `key.converter.` or `value.converter.` (prefix removed). `is_key` says which role it plays.
    fn configure(&mut self, props: &Props, is_key: bool) -> Result<(), ConfigError>;

    /// Serializes a value. `None` schema means schemaless. Returns `None` for a null record value
    /// (a tombstone). Errors name what did not fit the schema, never the data itself. Returns
    /// [`Bytes`] so that a value that already is bytes passes through without a copy.
    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, DataError>;

    /// Deserializes bytes. `None` (a tombstone) gives a null value with no schema. Takes [`Bytes`] so
    /// that a converter that keeps the bytes (ByteArrayConverter) shares them instead of copying.
    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, DataError>;
}

/// Converts header values between Connect data and bytes.
#[allow(clippy::wrong_self_convention)]
pub trait HeaderConverter: Send + Sync {
    /// Configures the converter with the keys under `header.converter.`.
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError>;
    /// Serializes one header value.
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;
    /// Deserializes one header value.
    fn to_connect_header(
        &self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError>;
}
