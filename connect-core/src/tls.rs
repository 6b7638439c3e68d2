//! TLS to databases: libpq's `sslmode` ladder on rustls (ring provider), shared by the CDC sources
//! and the database sink so they read the same settings the same way (tokio-postgres connections
//! with the `postgres-tls` feature, mysql_async ones with `mysql-tls`).
//!
//! | mode | encrypted | server certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` | when the server offers it | not checked |
//! | `require` | always | not checked (checked as `verify-ca` when a root certificate is given, as libpq does) |
//! | `verify-ca` | always | chains to the root certificate |
//! | `verify-full` | always | chains to the root certificate and names the host |
//!
//! Errors name the setting that holds a bad file, never a file's content.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::ConfigError;

pub use rustls;

/// Makes ring the process's default rustls provider, unless one is installed already. Some
/// dependencies (mysql_async) build their TLS configuration from the process default, which rustls
/// cannot choose by itself once two providers are compiled in (pgwire-replication brings aws-lc-rs;
/// everything else here uses ring). A host that installed its own provider keeps it.
pub fn ensure_default_provider() {
    if CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain connections only.
    Disable,
    /// Plain first; TLS if the server insists (treated as `prefer` where a client cannot retry).
    Allow,
    /// TLS when the server offers it, else plain; the certificate is not checked.
    #[default]
    Prefer,
    /// TLS always; the certificate is not checked unless a root certificate is given.
    Require,
    /// TLS always; the certificate chains to the root certificate.
    VerifyCa,
    /// TLS always; the certificate chains to the root certificate and names the host.
    VerifyFull,
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

impl SslMode {
    /// Parses libpq's names (`verify-ca`; pgjdbc's `verify_ca` spelling too).
    pub fn parse(text: &str) -> Option<SslMode> {
        Some(
            match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "disable" => SslMode::Disable,
                "allow" => SslMode::Allow,
                "prefer" => SslMode::Prefer,
                "require" => SslMode::Require,
                "verify-ca" => SslMode::VerifyCa,
                "verify-full" => SslMode::VerifyFull,
                _ => return None,
            },
        )
    }

    /// Whether a plain connection is refused.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

/// The files of a TLS client and the names of the settings that hold them (for errors).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM CA certificates the server's certificate must chain to, and its setting's name.
    pub root_cert: Option<(PathBuf, &'static str)>,
    /// A PEM client certificate chain (mutual TLS), and its setting's name.
    pub client_cert: Option<(PathBuf, &'static str)>,
    /// The client certificate's PEM private key, and its setting's name.
    pub client_key: Option<(PathBuf, &'static str)>,
}

/// A TLS client's settings: the mode and its files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The mode.
    pub mode: SslMode,
    /// The files.
    pub files: TlsFiles,
    /// The setting that holds the mode (`database.sslmode`, `sslmode`), for errors.
    pub mode_key: &'static str,
}

impl TlsSettings {
    /// Checks what can be checked without connecting: a verifying mode has a root certificate, a
    /// client certificate comes with its key, and the files load.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.client_config().map(|_| ())
    }

    /// The rustls configuration for this mode and these files.
    pub fn client_config(&self) -> Result<ClientConfig, ConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = match &self.files.root_cert {
            Some((path, key)) => Some(root_store(path, key)?),
            None if matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull) => {
                return Err(ConfigError::new(
                    self.mode_key,
                    "verify-ca and verify-full need a root certificate (the server's CA, PEM)",
                ))
            }
            None => None,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, roots) {
            (SslMode::Disable | SslMode::Allow | SslMode::Prefer, _) | (SslMode::Require, None) => {
                Arc::new(Unchecked(provider.clone()))
            }
            (mode, Some(roots)) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| ConfigError::new(self.mode_key, e.to_string()))?;
                if mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
            (_, None) => unreachable!("verifying modes returned early without roots"),
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::new(self.mode_key, e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        match (&self.files.client_cert, &self.files.client_key) {
            (None, None) => Ok(builder.with_no_client_auth()),
            (Some((cert, cert_key)), Some((key, key_key))) => {
                let chain = certificates(cert, cert_key)?;
                let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    ConfigError::new(*key_key, format!("cannot read a PEM private key: {e}"))
                })?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|e| ConfigError::new(*key_key, e.to_string()))
            }
            (Some((_, cert_key)), None) => Err(ConfigError::new(
                *cert_key,
                "a client certificate needs its private key as well",
            )),
            (None, Some((_, key_key))) => Err(ConfigError::new(
                *key_key,
                "a private key needs its client certificate as well",
            )),
        }
    }
}

#[cfg(feature = "postgres-tls")]
impl TlsSettings {
    /// Applies the mode to a tokio-postgres configuration and gives the connector to connect with
    /// (`allow` behaves as `prefer`: tokio-postgres asks for TLS first).
    pub fn postgres(
        &self,
        config: &mut tokio_postgres::Config,
    ) -> Result<tokio_postgres_rustls::MakeRustlsConnect, ConfigError> {
        use tokio_postgres::config::SslMode as Pg;
        config.ssl_mode(match self.mode {
            SslMode::Disable => Pg::Disable,
            SslMode::Allow | SslMode::Prefer => Pg::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Pg::Require,
        });
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(
            self.client_config()?,
        ))
    }
}

#[cfg(feature = "mysql-tls")]
impl TlsSettings {
    /// mysql_async's TLS options for this mode and these files, shared by the MySQL/MariaDB source
    /// and the database sink. None for `disable`, `allow` and `prefer`: mysql_async cannot fall
    /// back from TLS to plain, so they connect plain (an account that requires TLS then refuses the
    /// login, which names the mode's setting). `require` accepts any certificate unless a root
    /// certificate is given, then it must chain to it (libpq's reading); `verify-ca` checks the
    /// chain; `verify-full` also the host name. A given root certificate is the only trusted one;
    /// without one the verifying modes trust the public roots (webpki-roots, the Mozilla set), as
    /// MySQL Connector/J falls back to the JVM's. The files are read here first, so a bad file is a
    /// config error naming its setting.
    pub fn mysql(&self) -> Result<Option<mysql_async::SslOpts>, ConfigError> {
        let public_roots = self.files.root_cert.is_none()
            && matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull);
        if public_roots {
            // Only the client files are left to check.
            TlsSettings {
                mode: SslMode::Require,
                ..self.clone()
            }
            .validate()?;
        } else {
            self.validate()?;
        }
        let (skip_name, accept_any) = match self.mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => return Ok(None),
            SslMode::Require => (true, self.files.root_cert.is_none()),
            SslMode::VerifyCa => (true, false),
            SslMode::VerifyFull => (false, false),
        };
        let mut opts = mysql_async::SslOpts::default()
            .with_danger_skip_domain_validation(skip_name)
            .with_danger_accept_invalid_certs(accept_any);
        if let Some((path, _)) = &self.files.root_cert {
            opts = opts
                .with_root_certs(vec![path.clone().into()])
                .with_disable_built_in_roots(true);
        }
        if let (Some((cert, _)), Some((key, _))) = (&self.files.client_cert, &self.files.client_key)
        {
            opts = opts.with_client_identity(Some(mysql_async::ClientIdentity::new(
                cert.clone().into(),
                key.clone().into(),
            )));
        }
        Ok(Some(opts))
    }
}

/// Whether a mysql_async connection failed in its TLS handshake (a certificate the client did not
/// accept): a setting to fix, not an outage to wait out, unlike a refused or dropped connection.
#[cfg(feature = "mysql-tls")]
pub fn is_mysql_tls_failure(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
            io.kind() == std::io::ErrorKind::InvalidData && io.to_string().contains("certificate")
        }
        #[allow(unreachable_patterns)]
        mysql_async::Error::Io(_) => true,
        _ => false,
    }
}

/// Whether a tokio-postgres connection failed in its TLS handshake (refused, or a certificate
/// not accepted): a setting to fix, not an outage to wait out. tokio-postgres says so in its
/// message, which carries no secret.
#[cfg(feature = "postgres-tls")]
pub fn is_tls_failure(e: &tokio_postgres::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("tls") || text.contains("certificate") || text.contains("ssl")
}

/// An error with its causes (`error performing TLS handshake: invalid peer certificate:
/// UnknownIssuer`): the handshake's reason is in the source chain.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

fn certificates(
    path: &std::path::Path,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ConfigError::new(key, format!("cannot read PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(ConfigError::new(key, "no PEM certificate in the file"));
    }
    Ok(certs)
}

fn root_store(path: &std::path::Path, key: &'static str) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for c in certificates(path, key)? {
        roots
            .add(c)
            .map_err(|e| ConfigError::new(key, format!("not a CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// `prefer` and `require` without a root certificate: encryption against eavesdropping, no
/// authentication of the server (as libpq). Handshake signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is checked, the name is not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_missing_files_are_named() {
        assert_eq!(SslMode::parse("verify_full"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse("Require"), Some(SslMode::Require));
        assert_eq!(SslMode::parse("sometimes"), None);
        let s = TlsSettings {
            mode: SslMode::VerifyFull,
            files: TlsFiles::default(),
            mode_key: "database.sslmode",
        };
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("database.sslmode"), "{e}");
        let s = TlsSettings {
            mode: SslMode::Require,
            files: TlsFiles {
                root_cert: Some(("/nonexistent/ca.pem".into(), "database.sslrootcert")),
                ..TlsFiles::default()
            },
            mode_key: "database.sslmode",
        };
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("database.sslrootcert"), "{e}");
        let s = TlsSettings {
            mode: SslMode::Require,
            ..TlsSettings::default()
        };
        assert!(s.validate().is_ok());
    }
}
