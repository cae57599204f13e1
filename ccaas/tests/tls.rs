//! TLS and mutual TLS between the peer and the chaincode server, with certificates from a
//! throwaway CA (rcgen): a server cert with an IP SAN for 127.0.0.1, as the package's
//! `address` needs.

mod common;

use std::sync::Arc;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use sfcbc_ccaas::{KvContract, ServerConfig, TlsPem};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    other_ca_pem: String,
    other_client_cert: String,
    other_client_key: String,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let pem = p.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(p, key))
}

fn leaf(issuer: &Issuer<'static, KeyPair>, cn: &str, server: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    if server {
        p.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    }
    (
        p.signed_by(&key, issuer).unwrap().pem(),
        key.serialize_pem(),
    )
}

fn pki() -> Pki {
    let (ca_pem, issuer) = ca("chaincode tls ca");
    let (server_cert, server_key) = leaf(&issuer, "sfcbc-ccaas", true);
    let (client_cert, client_key) = leaf(&issuer, "peer0.org1.example.com", false);
    let (other_ca_pem, other) = ca("someone else's ca");
    let (other_client_cert, other_client_key) = leaf(&other, "intruder", false);
    Pki {
        ca_pem,
        server_cert,
        server_key,
        client_cert,
        client_key,
        other_ca_pem,
        other_client_cert,
        other_client_key,
    }
}

fn config(p: &Pki, mutual: bool) -> ServerConfig {
    let mut c = ServerConfig::new(CHAINCODE_ID);
    c.tls = Some(TlsPem {
        cert: p.server_cert.clone().into_bytes(),
        key: p.server_key.clone().into_bytes(),
        client_ca: mutual.then(|| p.ca_pem.clone().into_bytes()),
    });
    c
}

fn client(ca: &str, id: Option<(&str, &str)>) -> ClientTlsConfig {
    let mut c = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if let Some((cert, key)) = id {
        c = c.identity(Identity::from_pem(cert, key));
    }
    c
}

/// Does a Connect stream come up and get as far as REGISTER?
async fn registers(addr: std::net::SocketAddr, tls: Option<ClientTlsConfig>) -> Result<(), String> {
    let ch = channel(addr, tls).await?;
    let (_tx, mut inbound) = open(ch).await.map_err(|e| e.to_string())?;
    match tokio::time::timeout(std::time::Duration::from_secs(5), inbound.message()).await {
        Ok(Ok(Some(m)))
            if ty(&m) == sfcbc_fabric::protos::protos::chaincode_message::Type::Register =>
        {
            Ok(())
        }
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test]
async fn server_tls() {
    let p = pki();
    let srv = TestServer::start(Arc::new(KvContract), config(&p, false)).await;
    let peer = ScriptedPeer::connect(srv.addr, Some(client(&p.ca_pem, None))).await;
    assert_eq!(peer.registered_name, CHAINCODE_ID);
    peer.invoke("t1", &["put", "k", "v"]).await.ok_payload();
    assert_eq!(peer.invoke("t2", &["get", "k"]).await.ok_payload(), "v");
    // A client that does not trust our CA fails; plaintext fails.
    assert!(
        registers(srv.addr, Some(client(&p.other_ca_pem, None)))
            .await
            .is_err()
    );
    assert!(registers(srv.addr, None).await.is_err());
}

#[tokio::test]
async fn mutual_tls() {
    let p = pki();
    let srv = TestServer::start(Arc::new(KvContract), config(&p, true)).await;
    let good = client(&p.ca_pem, Some((&p.client_cert, &p.client_key)));
    let peer = ScriptedPeer::connect(srv.addr, Some(good)).await;
    peer.invoke("t1", &["put", "k", "v"]).await.ok_payload();
    assert_eq!(peer.invoke("t2", &["whoami"]).await.ok_payload(), "Org1MSP");
    // No client certificate, or one from another CA: refused.
    assert!(
        registers(srv.addr, Some(client(&p.ca_pem, None)))
            .await
            .is_err()
    );
    let intruder = client(&p.ca_pem, Some((&p.other_client_cert, &p.other_client_key)));
    assert!(registers(srv.addr, Some(intruder)).await.is_err());
}

#[test]
fn tls_files_are_checked_up_front() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    let cert = w("cert.pem", &p.server_cert);
    let key = w("key.pem", &p.server_key);
    let ca = w("ca.pem", &p.ca_pem);
    let junk = w("junk.pem", "not a pem");
    assert!(
        TlsPem::from_files(&cert, &key, Some(&ca))
            .unwrap()
            .client_ca
            .is_some()
    );
    let e = TlsPem::from_files(&junk, &key, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("certificate"), "{e}");
    let e = TlsPem::from_files(&cert, &cert, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("private key"), "{e}");
    let e = TlsPem::from_files(&cert, &dir.path().join("missing"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
}
