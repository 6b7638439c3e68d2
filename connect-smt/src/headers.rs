//! Header SMTs: `InsertHeader` (a literal value, typed as Kafka Connect's `Values.parseString` does) and
//! `DropHeaders`.

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::data::SchemaAndValue;
use connect_core::error::{ConfigError, ConnectError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

/// Adds header `header` with the literal `value.literal`.
#[derive(Debug, Default, Clone)]
pub struct InsertHeader {
    header: String,
    value: SchemaAndValue,
}

impl<R: Record> Transformation<R> for InsertHeader {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "header",
                ConfigType::String,
                None,
                Importance::High,
                "Header name.",
            )
            .with_validator("header", Validator::non_empty())
            .define(
                "value.literal",
                ConfigType::String,
                None,
                Importance::High,
                "Header value.",
            )
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.header = c.string("header").unwrap_or_default().to_owned();
        self.value = connect_core::parse_text(c.string("value.literal").unwrap_or_default());
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        record.base_mut().headers.add(
            self.header.clone(),
            self.value.schema.clone(),
            self.value.value.clone(),
        );
        Ok(Some(record))
    }
}

/// Removes every header whose name is in `headers`.
#[derive(Debug, Default, Clone)]
pub struct DropHeaders {
    headers: Vec<String>,
}

impl<R: Record> Transformation<R> for DropHeaders {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "headers",
                ConfigType::List,
                None,
                Importance::High,
                "Header names to remove.",
            )
            .with_validator("headers", Validator::non_empty())
    }
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let c = Transformation::<R>::config_def(self).parse(props)?;
        self.headers = c.list("headers").to_vec();
        Ok(())
    }
    fn apply(&self, mut record: R) -> Result<Option<R>, ConnectError> {
        record
            .base_mut()
            .headers
            .retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}
