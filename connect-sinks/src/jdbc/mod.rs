//! Database sink with Kafka Connect's JDBC sink semantics (`JdbcSinkConnector`): records become
//! rows of PostgreSQL, MariaDB or MySQL tables, one transaction per `put` batch.
//!
//! * [`config`]: Confluent's keys (and Debezium's JDBC sink names for the same settings);
//! * [`url`]: `connection.url` in JDBC form;
//! * [`row`]: a record as a row operation (`pk.mode`, `fields.whitelist`, deletes);
//! * [`cell`]: values, with Kafka Connect's logical types and Debezium's semantic types, in each
//!   database's form;
//! * [`schema`]: column kinds, table names and descriptions;
//! * [`dialect`]: SQL text per database (upserts, `unnest` batches, `auto.create` DDL);
//! * [`pg_array`]: a PostgreSQL batch's columns as array parameters (binary where it can be);
//! * [`conn`]: connections and what their errors mean;
//! * [`writer`]: planning and writing a batch, isolating the rows the database refuses;
//! * [`task`]: the sink task, retries and the DLQ.

pub mod cell;
pub mod config;
pub mod conn;
pub mod dialect;
pub mod pg_array;
pub mod row;
pub mod schema;
pub mod task;
pub mod url;
pub mod writer;

pub use config::{InsertMode, JdbcSinkConfig, JdbcSinkConnector, PkMode};
pub use task::JdbcSinkTask;
