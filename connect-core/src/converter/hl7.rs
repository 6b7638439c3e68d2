//! `Hl7Converter`: HL7 v2 ER7 bytes to and from a record value, either the message text or its
//! [structured form](crate::hl7::structured).

use ::bytes::Bytes;

use crate::config::{ConfigDef, ConfigType, Importance, Props};
use crate::converter::Converter;
use crate::data::{Schema, SchemaAndValue, Value};
use crate::error::{ConfigError, DataError};
use crate::hl7::{structured, Charset, Message};

/// Reads HL7 v2 messages (ER7) from Kafka and writes them back.
///
/// * `hl7.message.structure=true` (the default): a message becomes the schemaless
///   [structured map](crate::hl7::structured) (`{"MSH": {...}, "PID": {"3.1": ...}}`); writing accepts
///   that map, the message text, or its bytes.
/// * `hl7.message.structure=false`: a message becomes its text (an optional string), decoded per
///   MSH-18.
///
/// Bytes that are not an HL7 message are a data error naming the reason (never the content); the
/// runtime routes the record by the connector's error policy. Written text is checked to be a
/// message too, so a sink never sends something a receiver would reject as unparseable.
///
/// ```
/// use connect_core::converter::{Converter, Hl7Converter};
/// use connect_core::config::Props;
///
/// let mut c = Hl7Converter::default();
/// c.configure(&Props::new(), false).unwrap();
/// let bytes = bytes::Bytes::from_static(b"MSH|^~\\&|LAB|H|EHR|H|20240101||ORU^R01|9|P|2.5\rOBX|1|NM|GLU||5.4\r");
/// let data = c.to_connect_data("clinical.result.available", Some(&bytes)).unwrap();
/// let obx = data.value.as_map().unwrap().get("OBX").unwrap().as_map().unwrap();
/// assert_eq!(obx.get("5").and_then(|v| v.as_str()), Some("5.4"));
/// let back = c.from_connect_data("t", None, &data.value).unwrap().unwrap();
/// assert_eq!(back, bytes);
/// ```
#[derive(Debug, Clone)]
pub struct Hl7Converter {
    structure: bool,
}

impl Default for Hl7Converter {
    fn default() -> Self {
        Hl7Converter { structure: true }
    }
}

impl Hl7Converter {
    /// Accepted keys.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "hl7.message.structure",
                ConfigType::Boolean,
                Some("true"),
                Importance::High,
                "true: the structured map form; false: the message text.",
            )
            .define(
                "converter.type",
                ConfigType::String,
                Some("value"),
                Importance::Low,
                "key, value or header.",
            )
    }

    fn checked(bytes: Bytes) -> Result<Bytes, DataError> {
        let msg = Message::parse(bytes)
            .map_err(|e| DataError::new(format!("not an HL7 v2 message: {e}")))?;
        Ok(msg.raw().clone())
    }
}

impl Converter for Hl7Converter {
    fn configure(&mut self, props: &Props, _is_key: bool) -> Result<(), ConfigError> {
        let c = Self::config_def().parse(props)?;
        self.structure = c.boolean("hl7.message.structure");
        Ok(())
    }

    fn from_connect_data(
        &self,
        _topic: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, DataError> {
        match value {
            Value::Null => Ok(None),
            Value::Map(_) => structured::from_value(value)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| DataError::new(e.to_string())),
            Value::Bytes(b) => Self::checked(b.clone()).map(Some),
            Value::String(s) => {
                let msg = Message::parse(Bytes::copy_from_slice(s.as_bytes()))
                    .map_err(|e| DataError::new(format!("not an HL7 v2 message: {e}")))?;
                if msg.charset() == Charset::Latin1 && !s.is_ascii() {
                    s.chars()
                        .map(|c| u8::try_from(u32::from(c)).ok())
                        .collect::<Option<Vec<u8>>>()
                        .map(|b| Some(Bytes::from(b)))
                        .ok_or_else(|| {
                            DataError::new(
                                "the message has a character outside ISO-8859-1, its MSH-18 charset",
                            )
                        })
                } else {
                    Ok(Some(msg.raw().clone()))
                }
            }
            other => Err(DataError::new(format!(
                "an HL7 value must be a structured map, a string or bytes, not {}",
                other.type_name()
            ))),
        }
    }

    fn to_connect_data(
        &self,
        _topic: &str,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, DataError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::new(None, Value::Null));
        };
        let msg = Message::parse(bytes.clone())
            .map_err(|e| DataError::new(format!("not an HL7 v2 message: {e}")))?;
        if self.structure {
            Ok(SchemaAndValue::new(None, structured::to_value(&msg)))
        } else {
            Ok(SchemaAndValue::new(
                Some(Schema::optional_string()),
                Value::String(msg.decode_text(msg.raw())),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured(structure: &str) -> Hl7Converter {
        let mut c = Hl7Converter::default();
        let p = Props::new().with("hl7.message.structure", structure);
        c.configure(&p, false).unwrap();
        c
    }

    #[test]
    fn text_form_and_bad_input() {
        let c = configured("false");
        let raw = Bytes::from_static(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rPID|1||7\r");
        let v = c.to_connect_data("t", Some(&raw)).unwrap();
        assert_eq!(v.value.as_str().map(str::as_bytes), Some(&raw[..]));
        assert_eq!(c.from_connect_data("t", None, &v.value).unwrap(), Some(raw));
        let err = c
            .to_connect_data("t", Some(&Bytes::from_static(b"{\"ssn\":\"123-45-6789\"}")))
            .unwrap_err();
        assert!(err.to_string().contains("must start with MSH"), "{err}");
        assert!(!err.to_string().contains("123-45"));
        assert!(c.from_connect_data("t", None, &Value::Int32(3)).is_err());
        assert!(c
            .from_connect_data("t", None, &Value::String("hello".into()))
            .is_err());
        assert_eq!(c.to_connect_data("t", None).unwrap().value, Value::Null);
        assert_eq!(c.from_connect_data("t", None, &Value::Null).unwrap(), None);
    }

    #[test]
    fn latin1_text_is_written_in_latin1() {
        let c = configured("false");
        let raw = Bytes::from_static(
            b"MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||||D|8859/1\rPID|1||7||M\xdcLLER\r",
        );
        let v = c.to_connect_data("t", Some(&raw)).unwrap();
        assert!(v.value.as_str().unwrap().contains("MÜLLER"));
        assert_eq!(c.from_connect_data("t", None, &v.value).unwrap(), Some(raw));
    }
}
