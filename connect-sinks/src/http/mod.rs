//! HTTP sink with Confluent's `HttpSinkConnector` keys (the seed's "notification systems"): records
//! POSTed (or PUT/PATCHed) to an endpoint one at a time or in batches, with a JSON body template that
//! decides exactly which fields leave (an alert naming an Observation and a ward, no patient data).
//!
//! * [`config`]: the keys;
//! * [`template`]: request bodies from a JSON template, and URL substitutions;
//! * [`task`]: the sink task: order kept, 2xx durable, listed statuses retried, failures per
//!   `behavior.on.error` (to the DLQ when the connector tolerates errors).

pub mod config;
pub mod task;
pub mod template;

pub use config::{HttpSinkConfig, HttpSinkConnector};
pub use task::HttpSinkTask;
