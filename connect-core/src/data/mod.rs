//! Kafka Connect's data model: [`Schema`], [`Value`], [`Struct`] and the logical types.
//!
//! Schema'd and schemaless data share one [`Value`] type: a schemaless JSON object is a [`Value::Map`]
//! with string keys, and everything that works on a schema'd [`Struct`] has a schemaless counterpart.

mod schema;
mod time;
mod value;

mod path;
pub use path::ValuePath;
pub use schema::{logical, Field, Schema, SchemaBuilder, SchemaType};
pub use time::{civil_from_days, days_from_civil};
pub use value::{Decimal, Map, SchemaAndValue, Struct, Value, MAX_DECIMAL_SCALE};
