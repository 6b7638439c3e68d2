//! The keys every FHIR connector takes to reach its server: `fhir.url`, credentials
//! (`fhir.auth.type` = `none`, `basic`, `bearer` or `oauth2` client credentials), TLS, timeouts,
//! retries and the largest answer accepted.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ConfigDef, ConfigType, Importance, ParsedConfig, Validator};
use crate::error::{ConfigError, ConnectError};
use crate::http::{
    Auth, ClientAuthMode, ClientCredentials, ClientSettings, RetryPolicy, TokenSource,
};

use super::client::{Credentials, FhirClient};

/// How a FHIR connector reaches its server.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `fhir.url`: the server's base URL.
    pub url: String,
    /// Static credentials (`none`, `basic`, `bearer`).
    pub auth: Auth,
    /// OAuth2 client credentials (`fhir.auth.type=oauth2`).
    pub oauth2: Option<ClientCredentials>,
    /// TLS and timeouts.
    pub client: ClientSettings,
    /// `fhir.max.retries`, `fhir.retry.backoff.ms`, `fhir.retry.backoff.max.ms`.
    pub retry: RetryPolicy,
    /// `fhir.max.response.bytes`.
    pub max_response_bytes: usize,
}

impl ServerSettings {
    /// Adds the keys to a connector's definition.
    pub fn define(def: ConfigDef) -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        def.define(
            "fhir.url",
            String,
            None,
            High,
            "The FHIR server's base URL (http:// or https://).",
        )
        .with_validator("fhir.url", Validator::non_empty())
        .define(
            "fhir.auth.type",
            String,
            Some("none"),
            High,
            "none, basic, bearer or oauth2 (client credentials).",
        )
        .with_validator(
            "fhir.auth.type",
            Validator::one_of(&[
                "none", "basic", "bearer", "oauth2", "NONE", "BASIC", "BEARER", "OAUTH2",
            ]),
        )
        .define_optional(
            "fhir.auth.token",
            Password,
            High,
            "The bearer token (through a config provider: ${file:...}).",
        )
        .define_optional("fhir.auth.username", String, High, "User for basic.")
        .define_optional("fhir.auth.password", Password, High, "Password for basic.")
        .define_optional(
            "fhir.auth.token.url",
            String,
            High,
            "Token endpoint for oauth2.",
        )
        .define_optional("fhir.auth.client.id", String, High, "Client id for oauth2.")
        .define_optional(
            "fhir.auth.client.secret",
            Password,
            High,
            "Client secret for oauth2.",
        )
        .define_optional(
            "fhir.auth.scope",
            String,
            Medium,
            "Scope requested for oauth2 (system/*.read, ...).",
        )
        .define(
            "fhir.auth.client.auth.mode",
            String,
            Some("header"),
            Low,
            "header (HTTP basic) or url (in the form body).",
        )
        .with_validator(
            "fhir.auth.client.auth.mode",
            Validator::one_of(&["header", "url", "HEADER", "URL"]),
        )
        .define_optional(
            "fhir.ssl.ca.location",
            String,
            Medium,
            "PEM file of CA certificates to trust besides the web roots.",
        )
        .define_optional(
            "fhir.ssl.keystore.location",
            String,
            Medium,
            "PEM file with a client certificate chain and key (mutual TLS).",
        )
        .define(
            "fhir.connect.timeout.ms",
            Long,
            Some("10000"),
            Low,
            "Time to connect.",
        )
        .with_validator("fhir.connect.timeout.ms", Validator::range(1, 600_000))
        .define(
            "fhir.request.timeout.ms",
            Long,
            Some("30000"),
            Medium,
            "Time for a request and its answer.",
        )
        .with_validator("fhir.request.timeout.ms", Validator::range(1, 3_600_000))
        .define(
            "fhir.max.retries",
            Int,
            Some("10"),
            Low,
            "Retries of a request that failed for a reason worth retrying.",
        )
        .with_validator("fhir.max.retries", Validator::range(0, 1000))
        .define(
            "fhir.retry.backoff.ms",
            Long,
            Some("500"),
            Low,
            "The first retry's wait; each retry doubles it (with jitter).",
        )
        .with_validator("fhir.retry.backoff.ms", Validator::range(0, 600_000))
        .define(
            "fhir.retry.backoff.max.ms",
            Long,
            Some("30000"),
            Low,
            "No retry waits longer.",
        )
        .with_validator("fhir.retry.backoff.max.ms", Validator::range(0, 3_600_000))
        .define(
            "fhir.max.response.bytes",
            Long,
            Some("67108864"),
            Low,
            "Answers larger than this fail the request.",
        )
        .with_validator("fhir.max.response.bytes", Validator::range(1024, 1 << 32))
    }

    /// Reads the keys from a parsed config. Problems name the key, never a secret.
    pub fn parse(c: &ParsedConfig) -> Result<Self, ConfigError> {
        let mut problems = ConfigError { problems: vec![] };
        let url = c
            .string("fhir.url")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            problems.extend(ConfigError::new(
                "fhir.url",
                "must start with http:// or https://",
            ));
        }
        let secret = |k: &str| {
            c.password(k)
                .map(|p| p.expose().to_owned())
                .filter(|s| !s.is_empty())
        };
        let mut need = |k: &str, v: Option<std::string::String>, mode: &str| match v {
            Some(v) if !v.is_empty() => v,
            _ => {
                problems.extend(ConfigError::new(
                    k,
                    format!("required with fhir.auth.type={mode}"),
                ));
                std::string::String::new()
            }
        };
        let kind = c
            .string("fhir.auth.type")
            .unwrap_or("none")
            .to_ascii_lowercase();
        let (auth, oauth2) = match kind.as_str() {
            "basic" => (
                Auth::Basic {
                    user: need(
                        "fhir.auth.username",
                        c.string("fhir.auth.username").map(str::to_owned),
                        "basic",
                    ),
                    password: secret("fhir.auth.password").unwrap_or_default(),
                },
                None,
            ),
            "bearer" => (
                Auth::Bearer(need("fhir.auth.token", secret("fhir.auth.token"), "bearer")),
                None,
            ),
            "oauth2" => {
                let token_url = need(
                    "fhir.auth.token.url",
                    c.string("fhir.auth.token.url").map(str::to_owned),
                    "oauth2",
                );
                let client_id = need(
                    "fhir.auth.client.id",
                    c.string("fhir.auth.client.id").map(str::to_owned),
                    "oauth2",
                );
                let client_secret = need(
                    "fhir.auth.client.secret",
                    secret("fhir.auth.client.secret"),
                    "oauth2",
                );
                (
                    Auth::None,
                    Some(ClientCredentials {
                        token_url,
                        client_id,
                        client_secret,
                        scope: c
                            .string("fhir.auth.scope")
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                        token_property: "access_token".into(),
                        auth_mode: if c
                            .string("fhir.auth.client.auth.mode")
                            .unwrap_or("header")
                            .eq_ignore_ascii_case("url")
                        {
                            ClientAuthMode::Url
                        } else {
                            ClientAuthMode::Header
                        },
                    }),
                )
            }
            _ => (Auth::None, None),
        };
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        Ok(ServerSettings {
            url,
            auth,
            oauth2,
            client: ClientSettings {
                connect_timeout: c.millis("fhir.connect.timeout.ms"),
                read_timeout: c.millis("fhir.request.timeout.ms"),
                ca_pem: c.string("fhir.ssl.ca.location").map(PathBuf::from),
                identity_pem: c.string("fhir.ssl.keystore.location").map(PathBuf::from),
                pool_max_idle_per_host: 32,
            },
            retry: RetryPolicy {
                max_retries: c.int("fhir.max.retries").max(0) as u32,
                backoff: c.millis("fhir.retry.backoff.ms"),
                max_backoff: c
                    .millis("fhir.retry.backoff.max.ms")
                    .max(Duration::from_millis(1)),
            },
            max_response_bytes: usize::try_from(c.long("fhir.max.response.bytes"))
                .unwrap_or(usize::MAX),
        })
    }

    /// The client these settings describe.
    pub fn connect(&self) -> Result<FhirClient, ConnectError> {
        let http = self.client.build()?;
        let credentials = match &self.oauth2 {
            Some(creds) => Credentials::OAuth2(TokenSource::new(creds.clone(), http.clone())),
            None => Credentials::Static(self.auth.clone()),
        };
        Ok(FhirClient::new(
            &self.url,
            http,
            credentials,
            self.retry,
            self.max_response_bytes,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Props;

    fn parse(props: Props) -> Result<ServerSettings, ConfigError> {
        let c = ServerSettings::define(ConfigDef::new()).parse(&props)?;
        ServerSettings::parse(&c)
    }

    #[test]
    fn the_seeds_bearer_keys_and_named_problems() {
        let s = parse(
            Props::new()
                .with("fhir.url", "https://fhir.healthcare.internal/fhir/")
                .with("fhir.auth.type", "bearer")
                .with("fhir.auth.token", "tok-SECRET"),
        )
        .unwrap();
        assert_eq!(s.url, "https://fhir.healthcare.internal/fhir");
        assert_eq!(s.auth, Auth::Bearer("tok-SECRET".into()));
        assert!(!format!("{s:?}").contains("tok-SECRET"));
        let e = parse(
            Props::new()
                .with("fhir.url", "fhir.internal")
                .with("fhir.auth.type", "oauth2")
                .with("fhir.auth.client.secret", "SHH"),
        )
        .unwrap_err()
        .to_string();
        for k in ["fhir.url", "fhir.auth.token.url", "fhir.auth.client.id"] {
            assert!(e.contains(k), "{k}: {e}");
        }
        assert!(!e.contains("SHH"));
        let e = parse(
            Props::new()
                .with("fhir.url", "http://h")
                .with("fhir.auth.type", "bearer"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("fhir.auth.token"), "{e}");
    }
}
