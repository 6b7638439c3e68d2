//! One HTTP client per connector task: TLS from PEM files, timeouts.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConnectError;

/// What the client is built from.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Time to establish a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time for a whole request and its answer.
    pub read_timeout: Duration,
    /// PEM file of CA certificates trusted besides the built-in web roots (a hospital's internal CA).
    pub ca_pem: Option<PathBuf>,
    /// PEM file holding the client certificate chain and its private key (mutual TLS).
    pub identity_pem: Option<PathBuf>,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(3),
            ca_pem: None,
            identity_pem: None,
            pool_max_idle_per_host: 16,
        }
    }
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path)
        .map_err(|e| ConnectError::io(format!("reading the {what} {}", path.display()), e))
}

impl ClientSettings {
    /// Builds the client. A CA or identity file that cannot be read or parsed is named in the error.
    pub fn build(&self) -> Result<reqwest::Client, ConnectError> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(self.connect_timeout)
            .timeout(self.read_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host);
        if let Some(ca) = &self.ca_pem {
            let pem = read(ca, "CA certificates")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ConnectError::other(format!(
                    "the CA file {} is not PEM certificates: {e}",
                    ca.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(ConnectError::other(format!(
                    "the CA file {} holds no certificate",
                    ca.display()
                )));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if let Some(id) = &self.identity_pem {
            let pem = read(id, "client certificate and key")?;
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                ConnectError::other(format!(
                    "the client identity file {} is not a PEM certificate chain with its private key: {e}",
                    id.display()
                ))
            })?;
            b = b.identity(identity);
        }
        b.build()
            .map_err(|e| ConnectError::other(format!("building the HTTP client: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_empty_ca_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = ClientSettings {
            ca_pem: Some(dir.path().join("nope.pem")),
            ..Default::default()
        };
        let e = missing.build().unwrap_err().to_string();
        assert!(e.contains("nope.pem"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let e = ClientSettings {
            ca_pem: Some(empty),
            ..Default::default()
        }
        .build()
        .unwrap_err()
        .to_string();
        assert!(e.contains("empty.pem"), "{e}");
    }
}
