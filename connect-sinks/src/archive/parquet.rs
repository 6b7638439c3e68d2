//! A file's rows as Parquet (Confluent's `ParquetFormat`): the Connect struct schema becomes the
//! Arrow schema (primitives, optional fields, Decimal, Date, Time and Timestamp), the rows one record
//! batch, written by the `parquet` crate's Arrow writer with the configured codec.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, StringBuilder,
    Time32MillisecondBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, TimeUnit};
use connect_core::data::{logical, Schema, SchemaType, Value};
use connect_core::error::DataError;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// `parquet.codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Uncompressed pages.
    None,
    /// Snappy pages (Confluent's default).
    Snappy,
}

impl Codec {
    /// The name part before `.parquet` (`t+0+0000000000.snappy.parquet`).
    pub fn extension(self) -> &'static str {
        match self {
            Codec::None => ".parquet",
            Codec::Snappy => ".snappy.parquet",
        }
    }
}

fn arrow_type(s: &Schema, path: &str) -> Result<DataType, DataError> {
    Ok(match (s.name(), s.schema_type()) {
        (Some(logical::DECIMAL), SchemaType::Bytes) => {
            let scale = s.decimal_scale()?;
            let scale = i8::try_from(scale)
                .map_err(|_| DataError::new(format!("field '{path}': decimal scale out of range")))?;
            DataType::Decimal128(38, scale)
        }
        (Some(logical::DATE), SchemaType::Int32) => DataType::Date32,
        (Some(logical::TIME), SchemaType::Int32) => DataType::Time32(TimeUnit::Millisecond),
        (Some(logical::TIMESTAMP), SchemaType::Int64) => {
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        }
        (_, SchemaType::Int8) => DataType::Int8,
        (_, SchemaType::Int16) => DataType::Int16,
        (_, SchemaType::Int32) => DataType::Int32,
        (_, SchemaType::Int64) => DataType::Int64,
        (_, SchemaType::Float32) => DataType::Float32,
        (_, SchemaType::Float64) => DataType::Float64,
        (_, SchemaType::Boolean) => DataType::Boolean,
        (_, SchemaType::String) => DataType::Utf8,
        (_, SchemaType::Bytes) => DataType::Binary,
        (_, other) => {
            return Err(DataError::new(format!(
                "field '{path}': {} fields are not written to Parquet yet (flatten them first, e.g. with the Flatten transform)",
                other.name()
            )))
        }
    })
}

/// The Arrow schema of a Connect struct schema.
pub fn arrow_schema(s: &Schema) -> Result<arrow_schema::Schema, DataError> {
    if s.schema_type() != SchemaType::Struct {
        return Err(DataError::new(
            "ParquetFormat needs struct values with a schema (JsonConverter with schemas.enable=true, or a schema'd source)",
        ));
    }
    let fields = s
        .fields()
        .iter()
        .map(|f| {
            Ok(Field::new(
                f.name(),
                arrow_type(f.schema(), f.name())?,
                f.schema().is_optional(),
            ))
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    Ok(arrow_schema::Schema::new(fields))
}

fn column(s: &Schema, idx: usize, name: &str, rows: &[Value]) -> Result<ArrayRef, DataError> {
    fn at(r: &Value, idx: usize) -> Option<&Value> {
        match r {
            Value::Struct(st) => st.get_index(idx).filter(|v| !v.is_null()),
            _ => None,
        }
    }
    let cell = |r| at(r, idx);
    let bad = |v: &Value| {
        DataError::new(format!(
            "field '{name}' holds a {} where its schema says {}",
            v.type_name(),
            s.schema_type().name()
        ))
    };
    macro_rules! build {
        ($builder:expr, $variant:path) => {{
            let mut b = $builder;
            for r in rows {
                match cell(r) {
                    None => b.append_null(),
                    Some($variant(x)) => b.append_value(x.clone()),
                    Some(v) => return Err(bad(v)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match arrow_type(s, name)? {
        DataType::Decimal128(p, sc) => {
            let mut b = Decimal128Builder::with_capacity(rows.len())
                .with_precision_and_scale(p, sc)
                .map_err(|e| DataError::new(format!("field '{name}': {e}")))?;
            for r in rows {
                match cell(r) {
                    None => b.append_null(),
                    Some(Value::Decimal(d)) => b.append_value(d.rescale(i32::from(sc))?.unscaled()),
                    Some(v) => return Err(bad(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Date32 => build!(Date32Builder::with_capacity(rows.len()), Value::Date),
        DataType::Time32(_) => build!(
            Time32MillisecondBuilder::with_capacity(rows.len()),
            Value::Time
        ),
        DataType::Timestamp(..) => {
            let mut b = TimestampMillisecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
            for r in rows {
                match cell(r) {
                    None => b.append_null(),
                    Some(Value::Timestamp(t)) => b.append_value(*t),
                    Some(v) => return Err(bad(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Int8 => build!(Int8Builder::with_capacity(rows.len()), Value::Int8),
        DataType::Int16 => build!(Int16Builder::with_capacity(rows.len()), Value::Int16),
        DataType::Int32 => build!(Int32Builder::with_capacity(rows.len()), Value::Int32),
        DataType::Int64 => build!(Int64Builder::with_capacity(rows.len()), Value::Int64),
        DataType::Float32 => build!(Float32Builder::with_capacity(rows.len()), Value::Float32),
        DataType::Float64 => build!(Float64Builder::with_capacity(rows.len()), Value::Float64),
        DataType::Boolean => build!(BooleanBuilder::with_capacity(rows.len()), Value::Boolean),
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            for r in rows {
                match cell(r) {
                    None => b.append_null(),
                    Some(Value::String(x)) => b.append_value(x),
                    Some(v) => return Err(bad(v)),
                }
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = BinaryBuilder::new();
            for r in rows {
                match cell(r) {
                    None => b.append_null(),
                    Some(Value::Bytes(x)) => b.append_value(x),
                    Some(v) => return Err(bad(v)),
                }
            }
            Arc::new(b.finish())
        }
    })
}

/// The Parquet file of `rows` (struct values of `schema`).
pub fn encode(schema: &Schema, rows: &[Value], codec: Codec) -> Result<Vec<u8>, DataError> {
    let arrow = Arc::new(arrow_schema(schema)?);
    let columns = schema
        .fields()
        .iter()
        .map(|f| column(f.schema(), f.index(), f.name(), rows))
        .collect::<Result<Vec<_>, DataError>>()?;
    let batch = RecordBatch::try_new(arrow.clone(), columns)
        .map_err(|e| DataError::new(format!("building the Parquet rows: {e}")))?;
    let props = WriterProperties::builder()
        .set_compression(match codec {
            Codec::None => Compression::UNCOMPRESSED,
            Codec::Snappy => Compression::SNAPPY,
        })
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, arrow, Some(props))
        .map_err(|e| DataError::new(format!("Parquet writer: {e}")))?;
    w.write(&batch)
        .map_err(|e| DataError::new(format!("writing Parquet rows: {e}")))?;
    w.close()
        .map_err(|e| DataError::new(format!("closing the Parquet file: {e}")))?;
    Ok(out)
}
