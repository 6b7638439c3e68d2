//! What the FHIR connectors share (feature `fhir`, on top of [`crate::http`]):
//!
//! * [`instant`]: FHIR `instant` values (`meta.lastUpdated`) as microseconds, parsed and printed
//!   without a date library, so watermarks compare as numbers whatever offset a server writes;
//! * [`bundle`]: search, history and batch/transaction-response Bundles read without building a
//!   tree: each entry's resource stays a borrowed slice of the page (`link[next]`, entry `request`
//!   and `response`);
//! * [`outcome`]: OperationOutcome summaries for errors: issue codes and paths always, the server's
//!   free-text diagnostics (which may quote patient data) only when asked for;
//! * [`client`]: one FHIR REST client: credentials (static or OAuth2, fetched again after a 401),
//!   429/503 with `Retry-After`, other 5xx and timeouts retried with backoff, bounded answers.
//!
//! ```
//! use connect_core::fhir::{bundle::Page, instant};
//!
//! let page = br#"{"resourceType":"Bundle","type":"searchset",
//!   "link":[{"relation":"next","url":"http://fhir/Patient?_page=2"}],
//!   "entry":[{"resource":{"resourceType":"Patient","id":"p1",
//!             "meta":{"versionId":"3","lastUpdated":"2026-12-01T10:00:00.250+01:00"}}}]}"#;
//! let page = Page::parse(page).unwrap();
//! assert_eq!(page.next(), Some("http://fhir/Patient?_page=2"));
//! let meta = page.entry[0].meta().unwrap().unwrap();
//! assert_eq!((meta.resource_type.as_ref(), meta.id.as_ref()), ("Patient", "p1"));
//! let at = instant::parse(meta.last_updated.as_deref().unwrap()).unwrap();
//! assert_eq!(instant::format(at), "2026-12-01T09:00:00.250Z");
//! ```

pub mod bundle;
pub mod client;
pub mod instant;
pub mod outcome;
pub mod settings;

pub use client::{Credentials, FhirClient, FhirError, FhirRequest, FhirResponse};
pub use outcome::OutcomeSummary;
pub use settings::ServerSettings;

/// A FHIR resource type name: a capital letter, then letters and digits (at most 64).
pub fn is_resource_type(t: &str) -> bool {
    let mut c = t.chars();
    t.len() <= 64
        && c.next().is_some_and(|f| f.is_ascii_uppercase())
        && c.all(|c| c.is_ascii_alphanumeric())
}

/// A FHIR id: 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
