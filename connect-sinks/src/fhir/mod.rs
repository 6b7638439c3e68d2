//! FHIR sink (`FhirSinkConnector`): records written to a FHIR server as resources, Bundles or
//! deletes, with each record durable only when the server confirmed its write.
//!
//! * [`config`]: `fhir.url` and credentials (as the FHIR source), `fhir.write.mode`,
//!   `fhir.batch.size`, `fhir.max.in.flight`;
//! * [`request`]: what a record asks for (a resource, a transaction Bundle as HL7ToFHIR produces,
//!   a delete from a tombstone's key) and its request or Bundle entry per mode;
//! * [`task`]: ordered lanes, answers judged per record (and per batch entry), the DLQ.

pub mod config;
pub mod request;
pub mod task;

pub use config::{FhirSinkConfig, FhirSinkConnector, WriteMode};
pub use task::FhirSinkTask;
