//! Record values to file content: JSON lines (Confluent's `JsonFormat`) or raw bytes with a
//! separator (`ByteArrayFormat`), optionally gzip-compressed as a whole object.

use std::io::Write;

use connect_core::converter::JsonConverter;
use connect_core::data::Value;
use connect_core::error::DataError;
use connect_core::record::SinkRecord;

/// A file format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// One JSON value per line.
    Json,
    /// Confluent's `ParquetFormat`: a file's struct rows as one Parquet file.
    Parquet(super::parquet::Codec),
    /// The value's bytes, then the separator.
    ByteArray {
        /// `format.bytearray.separator`.
        separator: Vec<u8>,
        /// `format.bytearray.extension`.
        extension: String,
    },
}

impl Format {
    /// The file extension, without compression.
    pub fn extension(&self) -> &str {
        match self {
            Format::Json => ".json",
            Format::Parquet(codec) => codec.extension(),
            Format::ByteArray { extension, .. } => extension,
        }
    }

    /// Appends one record's value (line formats; Parquet rows are kept as values until the file
    /// is written).
    pub fn write(
        &self,
        json: &JsonConverter,
        rec: &SinkRecord,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        let r = &rec.record;
        match self {
            Format::Json => {
                json.write_value(r.value_schema.as_ref(), &r.value, out)?;
                out.push(b'\n');
            }
            Format::Parquet(_) => {
                return Err(DataError::new("Parquet rows are not written line by line"));
            }
            Format::ByteArray { separator, .. } => {
                match &r.value {
                    Value::Bytes(b) => out.extend_from_slice(b),
                    Value::String(s) => out.extend_from_slice(s.as_bytes()),
                    other => {
                        return Err(DataError::new(format!(
                            "record {}: ByteArrayFormat needs bytes or text, not {}",
                            rec.original,
                            other.type_name()
                        )))
                    }
                }
                out.extend_from_slice(separator);
            }
        }
        Ok(())
    }
}

/// `s3.compression.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// As written.
    None,
    /// One gzip member per object (`.gz` appended to the name).
    Gzip,
}

impl Compression {
    /// The object's content.
    pub fn finish(self, raw: Vec<u8>) -> Vec<u8> {
        match self {
            Compression::None => raw,
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(
                    Vec::with_capacity(raw.len() / 4),
                    flate2::Compression::default(),
                );
                // Writing into a Vec cannot fail.
                let _ = e.write_all(&raw);
                e.finish().unwrap_or_default()
            }
        }
    }

    /// The suffix added to the name.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
        }
    }
}
