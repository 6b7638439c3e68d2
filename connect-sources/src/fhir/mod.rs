//! FHIR source (`io.confluent.connect.fhir.FhirSourceConnector`, the seed's `fhir-patient-source`):
//! changed resources read from a FHIR server's REST API, incrementally and without loss.
//!
//! * [`config`]: the seed's keys and the connector;
//! * [`criteria`]: `fhir.subscription.criteria` (`Patient?_lastUpdated=gt${timestamp}`);
//! * [`cursor`]: a type's watermark, the versions emitted at it, keyset paging and deletes (read
//!   this module's documentation for why nothing is lost or emitted twice);
//! * [`task`]: the task, one page per `poll`.
//!
//! Records: topic `kafka.topic` (`${resourceType}` replaced), key `{"resourceType", "id"}`, value the
//! resource (a schemaless map; its JSON bytes with the ByteArrayConverter), timestamp
//! `meta.lastUpdated`, headers `fhir.resourceType`, `fhir.versionId`, `fhir.lastUpdated`; deletes
//! (with `fhir.include.deletes=true`) are tombstones with the same key.

pub mod config;
pub mod criteria;
pub mod cursor;
pub mod task;

pub use config::{FhirSourceConfig, FhirSourceConnector, PagingMode, ValueForm};
pub use task::FhirSourceTask;
