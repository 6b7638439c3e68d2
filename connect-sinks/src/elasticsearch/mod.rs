//! Elasticsearch and OpenSearch sink, with Confluent's `ElasticsearchSinkConnector` keys and defaults
//! (the seed's `provider-directory-sink` runs as it is).
//!
//! * [`config`]: the keys;
//! * [`encoder`]: records to bulk actions, straight into one buffer;
//! * [`mapping`]: the index mapping inferred from a value schema (`schema.ignore=false`);
//! * [`service`]: the bulk endpoint over one or more nodes, with retries;
//! * [`response`]: the bulk answer, item by item;
//! * [`task`]: the sink task, which returns from `put` only when every document is written or
//!   deliberately skipped.
//!
//! Document ids come from the record key (a string or an integer; the seed extracts `providerId`
//! with `ExtractField$Key`) and carry the Kafka offset as an external version, so a replay never
//! regresses a document; with `key.ignore=true` ids are `topic+partition+offset`. Items the server
//! rejects as busy (429, 503, rejected execution) are retried alone, never the whole bulk and never
//! dropped; malformed documents follow `behavior.on.malformed.documents` and reach the DLQ when the
//! connector tolerates errors; other item failures are errant records.

pub mod config;
pub mod encoder;
pub mod mapping;
pub mod response;
pub mod service;
pub mod task;

pub use config::{ElasticsearchSinkConfig, ElasticsearchSinkConnector};
pub use task::ElasticsearchSinkTask;
