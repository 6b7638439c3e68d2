//! TLS to the MLLP receiver (rustls): the receiver's certificate checked against a CA bundle (interface
//! engines between organisations use private CAs), optionally a client certificate for mutual TLS.

use std::sync::Arc;

use connect_core::error::ConfigError;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Where the sink's TLS material is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientSettings {
    /// `mllp.tls.ca.path`: PEM CA certificates the receiver's certificate must chain to.
    pub ca_path: String,
    /// `mllp.tls.server.name`: the name to check the receiver's certificate against (default: the host
    /// of `mllp.address`).
    pub server_name: String,
    /// `mllp.tls.cert.path` and `mllp.tls.key.path`: a client certificate, for mutual TLS.
    pub client_cert: Option<(String, String)>,
}

fn certs(path: &str, key: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ConfigError::new(key, format!("cannot read PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(ConfigError::new(key, "no certificate in the file"));
    }
    Ok(certs)
}

impl TlsClientSettings {
    /// Loads the files and builds the connector and the name to verify; errors name the key.
    pub fn connector(&self) -> Result<(TlsConnector, ServerName<'static>), ConfigError> {
        let mut roots = RootCertStore::empty();
        for c in certs(&self.ca_path, "mllp.tls.ca.path")? {
            roots.add(c).map_err(|e| {
                ConfigError::new("mllp.tls.ca.path", format!("not a CA certificate: {e}"))
            })?;
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::new("mllp.tls.ca.path", e.to_string()))?
            .with_root_certificates(roots);
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = certs(cert, "mllp.tls.cert.path")?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    ConfigError::new(
                        "mllp.tls.key.path",
                        format!("cannot read a PEM private key: {e}"),
                    )
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    ConfigError::new(
                        "mllp.tls.key.path",
                        format!("does not match the certificate: {e}"),
                    )
                })?
            }
        };
        let name = ServerName::try_from(self.server_name.clone()).map_err(|e| {
            ConfigError::new(
                "mllp.tls.server.name",
                format!("not a DNS name or IP address: {e}"),
            )
        })?;
        Ok((TlsConnector::from(Arc::new(config)), name))
    }
}
