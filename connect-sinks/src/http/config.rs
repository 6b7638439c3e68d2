//! The connector's keys: Confluent's HTTP sink names and defaults, plus `request.body.template`.

use std::path::PathBuf;
use std::time::Duration;

use connect_core::config::{ConfigDef, ConfigType, Importance, Props, Validator};
use connect_core::error::ConfigError;
use connect_core::http::{Auth, ClientAuthMode, ClientCredentials, ClientSettings, RetryPolicy};
use connect_core::sink::{SinkConnector, SinkTask};

use super::task::HttpSinkTask;
use super::template::BodyTemplate;

/// What a record with a null value does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    /// Skipped.
    Ignore,
    /// Skipped, its coordinates logged.
    Log,
    /// A `DELETE` to the record's URL.
    Delete,
    /// An errant record.
    Fail,
}

/// What a request that finally failed does to its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Errant records: to the DLQ when the connector tolerates errors, else the task fails.
    Fail,
    /// Logged and skipped (and to the DLQ when the connector tolerates errors).
    Log,
    /// Skipped (and to the DLQ when the connector tolerates errors).
    Ignore,
}

/// The sink's settings.
#[derive(Debug, Clone)]
pub struct HttpSinkConfig {
    /// `http.api.url`, with `${topic}` and `${key}` substitutions.
    pub url: String,
    /// `request.method`: POST, PUT or PATCH.
    pub method: reqwest::Method,
    /// `headers` split on `header.separator`.
    pub headers: Vec<(String, String)>,
    /// Static credentials (basic, bearer).
    pub auth: Auth,
    /// OAuth2 client credentials (`auth.type=OAUTH2`): a token per request, fetched again on 401.
    pub oauth2: Option<ClientCredentials>,
    /// The HTTP client.
    pub client: ClientSettings,
    /// `request.body.format=json`: values as JSON (else as text).
    pub json_body: bool,
    /// `request.body.template`: the body of each record, from a JSON template.
    pub template: Option<BodyTemplate>,
    /// `batch.max.size`.
    pub batch_max_size: usize,
    /// `batch.prefix`, `batch.suffix`, `batch.separator`.
    pub batch_prefix: String,
    /// See `batch_prefix`.
    pub batch_suffix: String,
    /// See `batch_prefix`.
    pub batch_separator: String,
    /// `batch.json.as.array`.
    pub batch_json_as_array: bool,
    /// `behavior.on.null.values`.
    pub null_values: NullValues,
    /// `behavior.on.error`.
    pub on_error: OnError,
    /// `retry.on.status.codes`: inclusive ranges.
    pub retry_codes: Vec<(u16, u16)>,
    /// `max.retries`, `retry.backoff.ms`.
    pub retry: RetryPolicy,
}

/// Parses `400-`, `500-599`, `429,503`, `400-499,503`.
pub fn parse_status_ranges(text: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| -> Result<u16, String> {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| (100..=599).contains(n))
                .ok_or_else(|| format!("'{part}' is not a status code or a range of them"))
        };
        let range = match part.split_once('-') {
            Some((lo, "")) => (num(lo)?, 599),
            Some((lo, hi)) => (num(lo)?, num(hi)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if range.0 > range.1 {
            return Err(format!("'{part}' is an empty range"));
        }
        out.push(range);
    }
    Ok(out)
}

impl HttpSinkConfig {
    /// The accepted keys, with Confluent's defaults.
    pub fn def() -> ConfigDef {
        use ConfigType::*;
        use Importance::*;
        ConfigDef::new()
            .define("http.api.url", String, None, High, "The endpoint; ${topic} and ${key} are replaced per record.")
            .with_validator("http.api.url", Validator::non_empty())
            .define("request.method", String, Some("POST"), High, "POST, PUT or PATCH.")
            .with_validator("request.method", Validator::one_of(&["POST", "PUT", "PATCH", "post", "put", "patch"]))
            .define("headers", String, Some(""), High, "Headers as Name:Value, separated by header.separator.")
            .define("header.separator", String, Some("|"), High, "Separator of the headers key.")
            .define("auth.type", String, Some("NONE"), High, "NONE, BASIC, BEARER or OAUTH2 (client credentials).")
            .with_validator("auth.type", Validator::one_of(&["NONE", "BASIC", "BEARER", "OAUTH2", "none", "basic", "bearer", "oauth2"]))
            .define_optional("oauth2.token.url", String, High, "Token endpoint for OAUTH2.")
            .define_optional("oauth2.client.id", String, High, "Client id for OAUTH2.")
            .define_optional("oauth2.client.secret", Password, High, "Client secret for OAUTH2.")
            .define("oauth2.client.auth.mode", String, Some("header"), Low, "header (HTTP basic) or url (in the form body).")
            .with_validator("oauth2.client.auth.mode", Validator::one_of(&["header", "url", "HEADER", "URL"]))
            .define_optional("oauth2.client.scope", String, Low, "Scope requested.")
            .define("oauth2.token.property", String, Some("access_token"), Low, "The token's property in the token answer.")
            .define_optional("connection.user", String, High, "User for BASIC.")
            .define_optional("connection.password", Password, High, "Password for BASIC.")
            .define_optional("bearer.token", Password, High, "Token for BEARER.")
            .define("http.connect.timeout.ms", Long, Some("30000"), Low, "Time to connect.")
            .define("http.request.timeout.ms", Long, Some("30000"), Low, "Time for a request and its answer.")
            .define_optional("https.ssl.truststore.location", String, Medium, "PEM file of CA certificates to trust.")
            .define_optional("https.ssl.keystore.location", String, Medium, "PEM file with the client certificate chain and key (mutual TLS).")
            .define("request.body.format", String, Some("string"), Medium, "string or json.")
            .with_validator("request.body.format", Validator::one_of(&["string", "json"]))
            .define_optional("request.body.template", String, Medium, "A JSON template of each record's body, with ${value.path}, ${key}, ${topic}, ${partition}, ${offset}, ${timestamp}, ${header.NAME} placeholders.")
            .define("batch.max.size", Int, Some("1"), Medium, "Records per request.")
            .with_validator("batch.max.size", Validator::range(1, 1_000_000))
            .define("batch.prefix", String, Some(""), Medium, "Text before a batch.")
            .define("batch.suffix", String, Some(""), Medium, "Text after a batch.")
            .define("batch.separator", String, Some(","), Medium, "Text between a batch's records.")
            .define("batch.json.as.array", Boolean, Some("false"), Medium, "A batch as a JSON array.")
            .define("behavior.on.null.values", String, Some("ignore"), Low, "ignore, log, delete or fail.")
            .with_validator("behavior.on.null.values", Validator::one_of(&["ignore", "log", "delete", "fail"]))
            .define("behavior.on.error", String, Some("fail"), Low, "fail, log or ignore.")
            .with_validator("behavior.on.error", Validator::one_of(&["fail", "log", "ignore"]))
            .define("retry.on.status.codes", String, Some("400-"), Low, "Statuses retried: codes and ranges, e.g. 429,500-.")
            .define("max.retries", Int, Some("10"), Low, "Retries of a request.")
            .with_validator("max.retries", Validator::range(0, 1000))
            .define("retry.backoff.ms", Long, Some("3000"), Low, "The first retry's wait; each retry doubles it (with jitter).")
            .with_validator("retry.backoff.ms", Validator::range(0, 3_600_000))
    }

    /// Parses the settings.
    pub fn parse(props: &Props) -> Result<Self, ConfigError> {
        let c = Self::def().parse(props)?;
        let mut problems = ConfigError { problems: vec![] };
        let url = c.string("http.api.url").unwrap_or_default().to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            problems.extend(ConfigError::new(
                "http.api.url",
                "must start with http:// or https://",
            ));
        }
        let sep = c.string("header.separator").unwrap_or("|");
        let mut headers = Vec::new();
        for h in c
            .string("headers")
            .unwrap_or_default()
            .split(sep)
            .map(str::trim)
            .filter(|h| !h.is_empty())
        {
            match h.split_once(':') {
                Some((k, v)) if !k.trim().is_empty() => {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()))
                }
                _ => problems.extend(ConfigError::new(
                    "headers",
                    "each header must be Name:Value",
                )),
            }
        }
        let secret = |k: &str| c.password(k).map(|p| p.expose().to_owned());
        let auth = match c
            .string("auth.type")
            .unwrap_or("NONE")
            .to_ascii_uppercase()
            .as_str()
        {
            "BASIC" => match c.string("connection.user") {
                Some(u) => Auth::Basic {
                    user: u.to_owned(),
                    password: secret("connection.password").unwrap_or_default(),
                },
                None => {
                    problems.extend(ConfigError::new(
                        "connection.user",
                        "required with auth.type=BASIC",
                    ));
                    Auth::None
                }
            },
            "BEARER" => match secret("bearer.token") {
                Some(t) => Auth::Bearer(t),
                None => {
                    problems.extend(ConfigError::new(
                        "bearer.token",
                        "required with auth.type=BEARER",
                    ));
                    Auth::None
                }
            },
            _ => Auth::None,
        };
        let oauth2 = if c
            .string("auth.type")
            .unwrap_or("NONE")
            .eq_ignore_ascii_case("OAUTH2")
        {
            let mut need = |k: &str, v: Option<std::string::String>| match v {
                Some(v) if !v.is_empty() => v,
                _ => {
                    problems.extend(ConfigError::new(k, "required with auth.type=OAUTH2"));
                    std::string::String::new()
                }
            };
            let token_url = need(
                "oauth2.token.url",
                c.string("oauth2.token.url").map(str::to_owned),
            );
            let client_id = need(
                "oauth2.client.id",
                c.string("oauth2.client.id").map(str::to_owned),
            );
            let client_secret = need("oauth2.client.secret", secret("oauth2.client.secret"));
            Some(ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope: c
                    .string("oauth2.client.scope")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                token_property: c
                    .string("oauth2.token.property")
                    .unwrap_or("access_token")
                    .to_owned(),
                auth_mode: if c
                    .string("oauth2.client.auth.mode")
                    .unwrap_or("header")
                    .eq_ignore_ascii_case("url")
                {
                    ClientAuthMode::Url
                } else {
                    ClientAuthMode::Header
                },
            })
        } else {
            None
        };
        let template = match c
            .string("request.body.template")
            .filter(|t| !t.trim().is_empty())
        {
            Some(t) => match BodyTemplate::parse(t) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.extend(ConfigError::new("request.body.template", e));
                    None
                }
            },
            None => None,
        };
        let retry_codes =
            parse_status_ranges(c.string("retry.on.status.codes").unwrap_or_default())
                .unwrap_or_else(|e| {
                    problems.extend(ConfigError::new("retry.on.status.codes", e));
                    vec![]
                });
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        Ok(HttpSinkConfig {
            url,
            method: match c
                .string("request.method")
                .unwrap_or("POST")
                .to_ascii_uppercase()
                .as_str()
            {
                "PUT" => reqwest::Method::PUT,
                "PATCH" => reqwest::Method::PATCH,
                _ => reqwest::Method::POST,
            },
            headers,
            auth,
            oauth2,
            client: ClientSettings {
                connect_timeout: c.millis("http.connect.timeout.ms"),
                read_timeout: c.millis("http.request.timeout.ms"),
                ca_pem: c.string("https.ssl.truststore.location").map(PathBuf::from),
                identity_pem: c.string("https.ssl.keystore.location").map(PathBuf::from),
                pool_max_idle_per_host: 4,
            },
            json_body: c.string("request.body.format") == Some("json"),
            template,
            batch_max_size: c.int("batch.max.size") as usize,
            batch_prefix: c.string("batch.prefix").unwrap_or_default().to_owned(),
            batch_suffix: c.string("batch.suffix").unwrap_or_default().to_owned(),
            batch_separator: c.string("batch.separator").unwrap_or(",").to_owned(),
            batch_json_as_array: c.boolean("batch.json.as.array"),
            null_values: match c.string("behavior.on.null.values").unwrap_or("ignore") {
                "log" => NullValues::Log,
                "delete" => NullValues::Delete,
                "fail" => NullValues::Fail,
                _ => NullValues::Ignore,
            },
            on_error: match c.string("behavior.on.error").unwrap_or("fail") {
                "log" => OnError::Log,
                "ignore" => OnError::Ignore,
                _ => OnError::Fail,
            },
            retry_codes,
            retry: RetryPolicy {
                max_retries: c.int("max.retries") as u32,
                backoff: c.millis("retry.backoff.ms"),
                max_backoff: Duration::from_secs(60),
            },
        })
    }

    /// Whether an answer with `status` is tried again.
    pub fn retries(&self, status: u16) -> bool {
        self.retry_codes
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

/// Confluent's `HttpSinkConnector`.
#[derive(Debug, Default, Clone)]
pub struct HttpSinkConnector;

impl SinkConnector for HttpSinkConnector {
    fn config_def(&self) -> ConfigDef {
        HttpSinkConfig::def()
    }
    fn validate(&self, props: &Props) -> Result<(), ConfigError> {
        HttpSinkConfig::parse(props).map(|_| ())
    }
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(HttpSinkTask::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges() {
        assert_eq!(parse_status_ranges("400-").unwrap(), [(400, 599)]);
        assert_eq!(
            parse_status_ranges("429, 500-504").unwrap(),
            [(429, 429), (500, 504)]
        );
        for bad in ["4xx", "600", "503-500", "-"] {
            assert!(parse_status_ranges(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn confluent_defaults_and_problems_named_without_secrets() {
        let c =
            HttpSinkConfig::parse(&Props::new().with("http.api.url", "http://h/alerts")).unwrap();
        assert_eq!((c.batch_max_size, c.retry.max_retries), (1, 10));
        assert!(c.retries(400) && c.retries(503) && !c.retries(302));
        assert_eq!(c.on_error, OnError::Fail);
        assert_eq!(c.null_values, NullValues::Ignore);
        let e = HttpSinkConfig::parse(
            &Props::new()
                .with("http.api.url", "h/alerts")
                .with("auth.type", "BASIC")
                .with("connection.password", "TOPSECRET")
                .with("headers", "X-A:1|broken")
                .with("request.body.template", "{\"a\":\"${nope}\"}"),
        )
        .unwrap_err()
        .to_string();
        for k in [
            "http.api.url",
            "connection.user",
            "headers",
            "request.body.template",
        ] {
            assert!(e.contains(k), "{k}: {e}");
        }
        assert!(!e.contains("TOPSECRET"));
        let e = HttpSinkConfig::parse(
            &Props::new()
                .with("http.api.url", "http://h")
                .with("auth.type", "OAUTH2")
                .with("oauth2.client.id", "c"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("oauth2.token.url") && e.contains("oauth2.client.secret"),
            "{e}"
        );
    }
}
