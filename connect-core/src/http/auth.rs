//! Credentials sent with each request.

use base64::Engine;

/// How requests authenticate. `Debug` names the scheme, never the secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: ApiKey <key>` (Elasticsearch's encoded API key).
    ApiKey(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::ApiKey(_) => f.write_str("ApiKey(***)"),
        }
    }
}

impl Auth {
    /// The `Authorization` header value, if any.
    pub fn header_value(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
            Auth::ApiKey(k) => Some(format!("ApiKey {k}")),
        }
    }

    /// Adds the credentials to a request (marked sensitive, so reqwest keeps them out of its logs).
    pub fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.header_value() {
            None => req,
            Some(v) => match reqwest::header::HeaderValue::from_str(&v) {
                Ok(mut hv) => {
                    hv.set_sensitive(true);
                    req.header(reqwest::header::AUTHORIZATION, hv)
                }
                // A secret with control characters cannot be a header; the server answers 401.
                Err(_) => req,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_is_rfc7617_and_debug_hides_secrets() {
        let a = Auth::Basic {
            user: "Aladdin".into(),
            password: "open sesame".into(),
        };
        assert_eq!(
            a.header_value().as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        for a in [
            a,
            Auth::Bearer("tok-123".into()),
            Auth::ApiKey("key-9".into()),
        ] {
            let d = format!("{a:?}");
            assert!(
                !d.contains("sesame") && !d.contains("tok-123") && !d.contains("key-9"),
                "{d}"
            );
        }
    }
}
