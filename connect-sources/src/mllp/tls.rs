//! TLS for the MLLP listener (rustls): a server certificate and key from PEM files, and optionally
//! client certificates required and checked against a CA bundle (mutual TLS, as many interface
//! engines are set up between hospitals).

use std::sync::Arc;

use connect_core::error::ConfigError;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// Where the listener's TLS material is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `mllp.tls.cert.path`: the server certificate chain, PEM.
    pub cert_path: String,
    /// `mllp.tls.key.path`: its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_path: String,
    /// `mllp.tls.client.ca.path`: when set, clients must present a certificate signed by one of these.
    pub client_ca_path: Option<String>,
}

fn provider() -> Arc<tokio_rustls::rustls::crypto::CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
}

impl TlsSettings {
    /// Loads the files and builds the acceptor; errors name the key and the reason (never key bytes).
    pub fn acceptor(&self) -> Result<TlsAcceptor, ConfigError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert_path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                ConfigError::new(
                    "mllp.tls.cert.path",
                    format!("cannot read PEM certificates: {e}"),
                )
            })?;
        if certs.is_empty() {
            return Err(ConfigError::new(
                "mllp.tls.cert.path",
                "no certificate in the file",
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key_path).map_err(|e| {
            ConfigError::new(
                "mllp.tls.key.path",
                format!("cannot read a PEM private key: {e}"),
            )
        })?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::new("mllp.tls.cert.path", e.to_string()))?;
        let builder = match &self.client_ca_path {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                let cas = CertificateDer::pem_file_iter(ca)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        ConfigError::new(
                            "mllp.tls.client.ca.path",
                            format!("cannot read PEM certificates: {e}"),
                        )
                    })?;
                for c in cas {
                    roots.add(c).map_err(|e| {
                        ConfigError::new(
                            "mllp.tls.client.ca.path",
                            format!("not a CA certificate: {e}"),
                        )
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|e| ConfigError::new("mllp.tls.client.ca.path", e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(certs, key).map_err(|e| {
            ConfigError::new(
                "mllp.tls.key.path",
                format!("does not match the certificate: {e}"),
            )
        })?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
