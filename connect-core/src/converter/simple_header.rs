//! `SimpleHeaderConverter`, Kafka Connect's default header converter: values as text, read back with
//! their type inferred.

use crate::config::Props;
use crate::converter::HeaderConverter;
use crate::data::{Schema, SchemaAndValue, Value};
use crate::data_text::{parse_text, value_to_text};
use crate::error::{ConfigError, DataError};

/// Writes strings as UTF-8 and other values in Kafka Connect's `Values.convertToString` form;
/// reads bytes back as booleans, integers, floats, JSON-like arrays and maps, or strings.
#[derive(Debug, Default, Clone)]
pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn from_connect_header(
        &self,
        _t: &str,
        _k: &str,
        _s: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(value_to_text(other).into_bytes()),
        })
    }
    fn to_connect_header(
        &self,
        _t: &str,
        _k: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::default());
        };
        match std::str::from_utf8(b) {
            Ok(s) => Ok(parse_text(s)),
            Err(_) => Ok(SchemaAndValue::new(
                Some(Schema::optional_bytes()),
                Value::Bytes(bytes::Bytes::copy_from_slice(b)),
            )),
        }
    }
}
