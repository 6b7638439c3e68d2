//! `StringConverter`, as `org.apache.kafka.connect.storage.StringConverter`: UTF-8 text both ways.

use crate::config::{ConfigDef, ConfigType, Importance, Props};
use crate::converter::{Converter, HeaderConverter};
use crate::data::{Schema, SchemaAndValue, Value};
use crate::error::{ConfigError, DataError};

/// Writes any value as its text (strings as they are, other values in their display form) and reads
/// bytes as an optional string. Only UTF-8 is supported (`converter.encoding` must be UTF-8).
#[derive(Debug, Default, Clone)]
pub struct StringConverter;

impl StringConverter {
    /// Accepted keys.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "converter.encoding",
                ConfigType::String,
                Some("UTF8"),
                Importance::High,
                "Character encoding (UTF-8 only).",
            )
            .define(
                "converter.type",
                ConfigType::String,
                Some("value"),
                Importance::Low,
                "key, value or header.",
            )
    }

    fn to_text(value: &Value) -> Result<Option<Vec<u8>>, DataError> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Bytes(b) => Some(b.to_vec()),
            other => Some(crate::data_text::value_to_text(other).into_bytes()),
        })
    }
}

impl Converter for StringConverter {
    fn configure(&mut self, props: &Props, _is_key: bool) -> Result<(), ConfigError> {
        let c = Self::config_def().parse(props)?;
        let enc = c
            .string("converter.encoding")
            .unwrap_or("UTF8")
            .replace('-', "");
        if !enc.eq_ignore_ascii_case("UTF8") {
            return Err(ConfigError::new(
                "converter.encoding",
                "only UTF-8 is supported",
            ));
        }
        Ok(())
    }
    fn from_connect_data(
        &self,
        _t: &str,
        _s: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<bytes::Bytes>, DataError> {
        Ok(match value {
            Value::Bytes(b) => Some(b.clone()),
            other => Self::to_text(other)?.map(bytes::Bytes::from),
        })
    }
    fn to_connect_data(
        &self,
        _t: &str,
        bytes: Option<&bytes::Bytes>,
    ) -> Result<SchemaAndValue, DataError> {
        self.decode_text(bytes.map(|b| &b[..]))
    }
}

impl StringConverter {
    fn decode_text(&self, bytes: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        match bytes {
            None => Ok(SchemaAndValue::new(
                Some(Schema::optional_string()),
                Value::Null,
            )),
            Some(b) => {
                let s = std::str::from_utf8(b).map_err(|e| {
                    DataError::new(format!(
                        "bytes are not valid UTF-8 (at byte {})",
                        e.valid_up_to()
                    ))
                })?;
                Ok(SchemaAndValue::new(
                    Some(Schema::optional_string()),
                    Value::String(s.to_owned()),
                ))
            }
        }
    }
}

impl HeaderConverter for StringConverter {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        Converter::configure(self, props, false)
    }
    fn from_connect_header(
        &self,
        _t: &str,
        _k: &str,
        _s: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Self::to_text(value)
    }
    fn to_connect_header(
        &self,
        _t: &str,
        _k: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.decode_text(bytes)
    }
}
