//! A test CA, a server certificate it signed (for `localhost` and `127.0.0.1`), and a second CA
//! that signed nothing the server holds, as PEM files in a temporary directory: what the TLS tests
//! of the database connectors give their servers and clients.

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// The files, removed on drop.
pub struct TestPki {
    dir: tempfile::TempDir,
    /// The server's certificate, PEM.
    pub server_cert_pem: String,
    /// The server's private key, PEM.
    pub server_key_pem: String,
}

fn new_ca() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    (params.self_signed(&key).expect("a CA certificate"), key)
}

impl TestPki {
    /// Makes the CAs and the server certificate, and writes `ca.pem`, `other-ca.pem`,
    /// `server.pem` and `server.key`.
    pub fn new() -> TestPki {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (ca, ca_key) = new_ca();
        let (other_ca, _) = new_ca();
        let server_key = KeyPair::generate().expect("a server key");
        let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server parameters")
            .signed_by(&server_key, &ca, &ca_key)
            .expect("a server certificate");
        let pki = TestPki {
            dir,
            server_cert_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
        };
        for (name, content) in [
            ("ca.pem", ca.pem()),
            ("other-ca.pem", other_ca.pem()),
            ("server.pem", pki.server_cert_pem.clone()),
            ("server.key", pki.server_key_pem.clone()),
        ] {
            std::fs::write(pki.dir.path().join(name), content).expect("a PEM file is written");
        }
        pki
    }

    /// The path of one of the files (`ca.pem`, `other-ca.pem`, `server.pem`, `server.key`).
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}
