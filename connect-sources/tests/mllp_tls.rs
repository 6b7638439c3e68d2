//! The MLLP source over TLS (rustls), with certificates made for the test: a sender that trusts the
//! CA gets AA once the record is in Kafka; with mutual TLS a sender without a client certificate is
//! refused and one with a certificate from the CA is served; a plain-TCP sender gets nothing.

mod common;

use common::{corpus, free_addr, wait_for_listener};
use std::sync::Arc;
use std::time::Duration;

use connect_core::config::{ConnectorConfig, Props};
use connect_core::hl7::Message;
use connect_core::registry::Registry;
use connect_core::runtime::Worker;
use connect_sources::mllp::{encode_frame, FrameDecoder};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["lab-interface".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    Pki {
        dir,
        ca_pem: ca.pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

async fn start(pki: &Pki, mutual: bool) -> (Worker, String) {
    let mut registry = Registry::with_builtins();
    connect_sources::register(&mut registry);
    let worker = Worker::start(Props::new(), registry).await.unwrap();
    worker
        .embedded()
        .unwrap()
        .create_topic("clinical.patient.admitted", 1, 1)
        .unwrap();
    let addr = free_addr();
    let path = |f: &str| pki.dir.path().join(f).display().to_string();
    let mut props = Props::new()
        .with("name", "mllp-tls")
        .with("connector.class", "MllpSource")
        .with("mllp.bind", addr.clone())
        .with("mllp.tls.cert.path", path("server.pem"))
        .with("mllp.tls.key.path", path("server.key"))
        .with(
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        );
    if mutual {
        props.set("mllp.tls.client.ca.path", path("ca.pem"));
    }
    worker
        .start_connector(ConnectorConfig::new("mllp-tls", props))
        .await
        .unwrap();
    wait_for_listener(&addr).await;
    (worker, addr)
}

fn connector(pki: &Pki, with_client_cert: bool) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = if with_client_cert {
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(pki.client_cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(pki.client_key_pem.as_bytes()).unwrap(),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    TlsConnector::from(Arc::new(config))
}

/// Sends one message and waits up to `wait` for the ACK frame; None when none came (or the
/// connection was closed).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    msg: &[u8],
    wait: Duration,
) -> Option<Message> {
    s.write_all(&encode_frame(msg)).await.ok()?;
    let mut dec = FrameDecoder::new(1 << 20);
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(frame) = dec.next_frame() {
            return Message::parse(frame.ok()?).ok();
        }
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => dec.extend(&buf[..n]),
            _ => return None,
        }
    }
}

fn adt() -> Vec<u8> {
    corpus("ADT-A01-01.hl7")
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_sender_gets_aa_and_plain_tcp_gets_nothing() {
    let pki = pki();
    let (worker, addr) = start(&pki, false).await;
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let mut tls = connector(&pki, false)
        .connect(server_name(), tcp)
        .await
        .unwrap();
    let ack = exchange(&mut tls, &adt(), Duration::from_secs(30))
        .await
        .expect("an ACK over TLS");
    assert_eq!(ack.get("MSA-1").as_deref(), Some("AA"));
    assert_eq!(ack.get("MSA-2").as_deref(), Some("MSG00001"));
    // A sender speaking plain MLLP to the TLS port gets no ACK: its bytes are not a TLS handshake.
    let mut plain = TcpStream::connect(&addr).await.unwrap();
    let again = adt();
    assert!(exchange(&mut plain, &again, Duration::from_secs(2))
        .await
        .is_none());
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let pki = pki();
    let (worker, addr) = start(&pki, true).await;
    // Without a client certificate the server refuses: the handshake or the first read fails.
    let tcp = TcpStream::connect(&addr).await.unwrap();
    match connector(&pki, false).connect(server_name(), tcp).await {
        Err(_) => {}
        Ok(mut s) => assert!(exchange(&mut s, &adt(), Duration::from_secs(5))
            .await
            .is_none()),
    }
    // With one, the message is acknowledged.
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let mut s = connector(&pki, true)
        .connect(server_name(), tcp)
        .await
        .unwrap();
    let ack = exchange(&mut s, &adt(), Duration::from_secs(30))
        .await
        .expect("an ACK over mTLS");
    assert_eq!(ack.get("MSA-1").as_deref(), Some("AA"));
    worker.shutdown().await;
}

#[tokio::test]
async fn bad_tls_files_fail_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    let settings = connect_sources::mllp::TlsSettings {
        cert_path: dir.path().join("cert.pem").display().to_string(),
        key_path: dir.path().join("missing.key").display().to_string(),
        client_ca_path: None,
    };
    let err = settings.acceptor().err().unwrap().to_string();
    assert!(err.contains("mllp.tls.cert.path"), "{err}");
    let cfg = connect_sources::mllp::MllpSourceConfig::parse(
        &Props::new().with("mllp.tls.cert.path", "/x/cert.pem"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(cfg.contains("mllp.tls.key.path"), "{cfg}");
}
