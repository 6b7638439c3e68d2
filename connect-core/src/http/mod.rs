//! The HTTP client foundation of the HTTP-based connectors (Elasticsearch/OpenSearch, FHIR, HTTP
//! sinks), so each of them configures TLS, timeouts, credentials and retries the same way:
//!
//! * [`body`]: an answer's body read up to a ceiling;
//! * [`client`]: one `reqwest` client (rustls with ring, no OpenSSL) from a CA bundle, an optional
//!   client certificate and key (mutual TLS), and connect and read timeouts;
//! * [`auth`]: credentials applied to each request (basic, bearer, API key), never printed by `Debug`;
//! * [`oauth2`]: OAuth2 client-credentials tokens, cached until shortly before they expire;
//! * [`retry`]: which answers are worth another try, exponential backoff with jitter, and a bounded
//!   `Retry-After`.
//!
//! ```
//! use std::time::Duration;
//! use connect_core::http::{Auth, ClientSettings, RetryPolicy};
//!
//! let client = ClientSettings {
//!     connect_timeout: Duration::from_secs(1),
//!     read_timeout: Duration::from_secs(3),
//!     ..Default::default()
//! }
//! .build()
//! .unwrap();
//! let auth = Auth::Basic { user: "connect_user".into(), password: "s3cret".into() };
//! assert!(!format!("{auth:?}").contains("s3cret"));
//! let retry = RetryPolicy { max_retries: 5, backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(10) };
//! assert!(retry.delay(3) <= Duration::from_millis(800));
//! # let _ = client;
//! ```

pub mod auth;
pub mod body;
pub mod client;
pub mod oauth2;
pub mod retry;

pub use auth::Auth;
pub use body::{read_capped, BodyError};
pub use client::ClientSettings;
pub use oauth2::{ClientAuthMode, ClientCredentials, TokenSource};
pub use retry::{retry_after, RetryPolicy};
