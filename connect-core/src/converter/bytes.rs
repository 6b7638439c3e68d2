//! `ByteArrayConverter`, as `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes pass through.

use bytes::Bytes;

use crate::config::Props;
use crate::converter::{Converter, HeaderConverter};
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{ConfigError, DataError};

/// Passes bytes through unchanged. Writing anything but bytes (or null) is a data error.
#[derive(Debug, Default, Clone)]
pub struct ByteArrayConverter;

impl ByteArrayConverter {
    fn write(schema: Option<&Schema>, value: &Value) -> Result<Option<Bytes>, DataError> {
        if let Some(s) = schema {
            if s.schema_type() != SchemaType::Bytes {
                return Err(DataError::new(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    s.schema_type()
                )));
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(DataError::new(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.type_name()
            ))),
        }
    }
}

impl Converter for ByteArrayConverter {
    fn configure(&mut self, _props: &Props, _is_key: bool) -> Result<(), ConfigError> {
        Ok(())
    }
    fn from_connect_data(
        &self,
        _t: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, DataError> {
        Self::write(schema, value)
    }
    fn to_connect_data(
        &self,
        _t: &str,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, DataError> {
        Ok(SchemaAndValue::new(
            Some(Schema::optional_bytes()),
            bytes
                .map(|b| Value::Bytes(b.clone()))
                .unwrap_or(Value::Null),
        ))
    }
}

impl HeaderConverter for ByteArrayConverter {
    fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn from_connect_header(
        &self,
        _t: &str,
        _k: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Ok(Self::write(schema, value)?.map(|b| b.to_vec()))
    }
    fn to_connect_header(
        &self,
        t: &str,
        _k: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.to_connect_data(t, bytes.map(Bytes::copy_from_slice).as_ref())
    }
}
