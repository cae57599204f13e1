use std::path::Path;

use sfcbc_fabric::msp::{MspDir, MspRole, MspVerifier, ValidityTime};

use super::*;

/// Every file and folder cryptogen 2.5.16 writes for `Org1` (one peer, one user), relative
/// to `peerOrganizations/org1.example.com`.
const CRYPTOGEN_PEER_ORG: &[&str] = &[
    "ca",
    "ca/ca.org1.example.com-cert.pem",
    "ca/priv_sk",
    "msp",
    "msp/admincerts",
    "msp/cacerts",
    "msp/cacerts/ca.org1.example.com-cert.pem",
    "msp/config.yaml",
    "msp/tlscacerts",
    "msp/tlscacerts/tlsca.org1.example.com-cert.pem",
    "peers",
    "peers/peer0.org1.example.com",
    "peers/peer0.org1.example.com/msp",
    "peers/peer0.org1.example.com/msp/admincerts",
    "peers/peer0.org1.example.com/msp/cacerts",
    "peers/peer0.org1.example.com/msp/cacerts/ca.org1.example.com-cert.pem",
    "peers/peer0.org1.example.com/msp/config.yaml",
    "peers/peer0.org1.example.com/msp/keystore",
    "peers/peer0.org1.example.com/msp/keystore/priv_sk",
    "peers/peer0.org1.example.com/msp/signcerts",
    "peers/peer0.org1.example.com/msp/signcerts/peer0.org1.example.com-cert.pem",
    "peers/peer0.org1.example.com/msp/tlscacerts",
    "peers/peer0.org1.example.com/msp/tlscacerts/tlsca.org1.example.com-cert.pem",
    "peers/peer0.org1.example.com/tls",
    "peers/peer0.org1.example.com/tls/ca.crt",
    "peers/peer0.org1.example.com/tls/server.crt",
    "peers/peer0.org1.example.com/tls/server.key",
    "tlsca",
    "tlsca/priv_sk",
    "tlsca/tlsca.org1.example.com-cert.pem",
    "users",
    "users/Admin@org1.example.com",
    "users/Admin@org1.example.com/msp",
    "users/Admin@org1.example.com/msp/admincerts",
    "users/Admin@org1.example.com/msp/cacerts",
    "users/Admin@org1.example.com/msp/cacerts/ca.org1.example.com-cert.pem",
    "users/Admin@org1.example.com/msp/config.yaml",
    "users/Admin@org1.example.com/msp/keystore",
    "users/Admin@org1.example.com/msp/keystore/priv_sk",
    "users/Admin@org1.example.com/msp/signcerts",
    "users/Admin@org1.example.com/msp/signcerts/Admin@org1.example.com-cert.pem",
    "users/Admin@org1.example.com/msp/tlscacerts",
    "users/Admin@org1.example.com/msp/tlscacerts/tlsca.org1.example.com-cert.pem",
    "users/Admin@org1.example.com/tls",
    "users/Admin@org1.example.com/tls/ca.crt",
    "users/Admin@org1.example.com/tls/client.crt",
    "users/Admin@org1.example.com/tls/client.key",
    "users/User1@org1.example.com",
    "users/User1@org1.example.com/msp",
    "users/User1@org1.example.com/msp/admincerts",
    "users/User1@org1.example.com/msp/cacerts",
    "users/User1@org1.example.com/msp/cacerts/ca.org1.example.com-cert.pem",
    "users/User1@org1.example.com/msp/config.yaml",
    "users/User1@org1.example.com/msp/keystore",
    "users/User1@org1.example.com/msp/keystore/priv_sk",
    "users/User1@org1.example.com/msp/signcerts",
    "users/User1@org1.example.com/msp/signcerts/User1@org1.example.com-cert.pem",
    "users/User1@org1.example.com/msp/tlscacerts",
    "users/User1@org1.example.com/msp/tlscacerts/tlsca.org1.example.com-cert.pem",
    "users/User1@org1.example.com/tls",
    "users/User1@org1.example.com/tls/ca.crt",
    "users/User1@org1.example.com/tls/client.crt",
    "users/User1@org1.example.com/tls/client.key",
];

/// cryptogen's `msp/config.yaml` for org1.example.com, byte for byte.
const CRYPTOGEN_CONFIG_YAML: &str = "NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: orderer
";

fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn roles(verifier: &MspVerifier, msp_dir: &Path, msp_id: &str) -> Vec<MspRole> {
    let id = MspDir::load(msp_dir).unwrap().identity(msp_id).unwrap();
    verifier
        .validate(&id, ValidityTime::AsFabric)
        .unwrap()
        .roles
}

fn check_org(alg: KeyAlgorithm) {
    let tmp = tempfile::tempdir().unwrap();
    let org = generate(tmp.path(), &OrgSpec::peer_org("Org1"), alg).unwrap();
    assert_eq!(
        org.dir,
        tmp.path().join("peerOrganizations/org1.example.com")
    );
    assert_eq!(tree(&org.dir), CRYPTOGEN_PEER_ORG);
    // Nothing left of the partial folder it was written in.
    assert_eq!(
        tree(&tmp.path().join("peerOrganizations")).len(),
        CRYPTOGEN_PEER_ORG.len() + 1
    );
    assert_eq!(
        std::fs::read_to_string(org.msp_dir().join("config.yaml")).unwrap(),
        CRYPTOGEN_CONFIG_YAML
    );
    #[cfg(unix)]
    for key in [
        "ca/priv_sk",
        "tlsca/priv_sk",
        "peers/peer0.org1.example.com/tls/server.key",
    ] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(org.dir.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }

    let config = org.msp_config().unwrap();
    assert_eq!(config.msp_id, "Org1MSP");
    assert_eq!(config.root_certs.len(), 1);
    assert_eq!(config.tls_root_certs.len(), 1);
    assert!(config.admins.is_empty());
    let node_ous = config.node_ous.as_ref().unwrap();
    assert!(node_ous.enable);
    assert_eq!(
        node_ous.peer.as_ref().unwrap().certificate,
        config.root_certs[0]
    );
    let verifier = MspVerifier::new(&config).unwrap();
    let peer = roles(&verifier, &org.node_msp_dir("peer0"), "Org1MSP");
    assert_eq!(peer, [MspRole::Member, MspRole::Peer]);
    let admin = roles(&verifier, &org.user_msp_dir("Admin"), "Org1MSP");
    assert_eq!(admin, [MspRole::Member, MspRole::Admin]);
    let user = roles(&verifier, &org.user_msp_dir("User1"), "Org1MSP");
    assert_eq!(user, [MspRole::Member, MspRole::Client]);

    // Signers sign what their identity verifies.
    for signer in [
        org.node_signer("peer0").unwrap(),
        org.admin_signer().unwrap(),
    ] {
        let v = verifier
            .validate(signer.identity(), ValidityTime::AsFabric)
            .unwrap();
        v.verify(b"hello", &signer.sign(b"hello")).unwrap();
    }
    // TLS material is issued by the TLS CA, not by the MSP CA.
    let tls = org.node_tls("peer0").unwrap();
    assert_eq!(tls.ca_pem, org.tls_ca_pem().unwrap());
    let tls_id = Identity::from_pem("Org1MSP", &tls.cert_pem).unwrap();
    assert!(verifier.validate(&tls_id, ValidityTime::AsFabric).is_err());
    PrivateKey::from_pem(&tls.key_pem).unwrap();

    // A second run finds it; generating again refuses to overwrite.
    let loaded = OrgCrypto::load(tmp.path(), &OrgSpec::peer_org("Org1")).unwrap();
    assert_eq!(loaded.msp_config().unwrap(), config);
    assert!(matches!(
        generate(tmp.path(), &OrgSpec::peer_org("Org1"), alg),
        Err(CryptoError::Exists { .. })
    ));

    // Users added later chain to the same CA and are clients.
    let msp = org.add_user("alice").unwrap();
    assert_eq!(msp, org.dir.join("users/alice@org1.example.com/msp"));
    assert_eq!(
        roles(&verifier, &msp, "Org1MSP"),
        [MspRole::Member, MspRole::Client]
    );
    assert!(matches!(
        org.add_user("alice"),
        Err(CryptoError::Exists { .. })
    ));
}

use sfcbc_fabric::msp::Identity;

#[test]
fn peer_org_in_cryptogen_layout_p256() {
    check_org(KeyAlgorithm::EcdsaP256);
}

#[test]
fn peer_org_in_cryptogen_layout_ed25519() {
    check_org(KeyAlgorithm::Ed25519);
}

#[test]
fn orderer_org_layout_and_roles() {
    let tmp = tempfile::tempdir().unwrap();
    let org = generate(tmp.path(), &OrgSpec::orderer_org(), KeyAlgorithm::EcdsaP256).unwrap();
    assert_eq!(org.dir, tmp.path().join("ordererOrganizations/example.com"));
    assert_eq!(
        org.node_msp_dir("orderer"),
        org.dir.join("orderers/orderer.example.com/msp")
    );
    assert!(
        org.dir
            .join("orderers/orderer.example.com/tls/server.crt")
            .is_file()
    );
    assert!(!org.dir.join("users/User1@example.com").exists());
    let verifier = MspVerifier::new(&org.msp_config().unwrap()).unwrap();
    assert_eq!(
        roles(&verifier, &org.node_msp_dir("orderer"), "OrdererMSP"),
        [MspRole::Member, MspRole::Orderer]
    );
}

#[test]
fn generate_or_load_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let specs = [OrgSpec::orderer_org(), OrgSpec::peer_org("Org1")];
    let first = generate_or_load(tmp.path(), &specs, KeyAlgorithm::EcdsaP256).unwrap();
    let again = generate_or_load(tmp.path(), &specs, KeyAlgorithm::EcdsaP256).unwrap();
    for (a, b) in first.iter().zip(&again) {
        assert_eq!(a.msp_config().unwrap(), b.msp_config().unwrap());
    }
}

#[test]
fn refuses_names_that_escape_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["../x", "a/b", "", ".hidden", "a b"] {
        let mut spec = OrgSpec::peer_org("Org1");
        spec.nodes = vec![bad.to_owned()];
        assert!(
            matches!(
                generate(tmp.path(), &spec, KeyAlgorithm::EcdsaP256),
                Err(CryptoError::Spec(_))
            ),
            "{bad:?}"
        );
    }
    assert!(!tmp.path().join("peerOrganizations").exists());
}

/// One DER item: (tag, content).
fn der_item(b: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = b[0];
    let (len, hdr) = if b[1] < 0x80 {
        (usize::from(b[1]), 2)
    } else {
        let n = usize::from(b[1] & 0x7f);
        (
            b[2..2 + n]
                .iter()
                .fold(0usize, |a, x| (a << 8) | usize::from(*x)),
            2 + n,
        )
    };
    (tag, &b[hdr..hdr + len], &b[hdr + len..])
}

/// cryptogen signs certificates with low-S ECDSA signatures (Fabric's MSP would otherwise
/// re-encode them before hashing chains); so do we.
#[test]
fn certificate_signatures_are_low_s() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for name in ["Org1", "Org2", "Org3"] {
        let org = generate(
            tmp.path(),
            &OrgSpec::peer_org(name),
            KeyAlgorithm::EcdsaP256,
        )
        .unwrap();
        let mut pems = vec![
            std::fs::read(org.ca_cert_path()).unwrap(),
            org.tls_ca_pem().unwrap(),
        ];
        for user in ["Admin", "User1"] {
            pems.push(org.user_tls(user).unwrap().cert_pem);
            let id = org.user_signer(user).unwrap();
            pems.push(id.identity().cert_pem().to_vec());
        }
        pems.push(org.node_tls("peer0").unwrap().cert_pem);
        pems.push(
            org.node_signer("peer0")
                .unwrap()
                .identity()
                .cert_pem()
                .to_vec(),
        );
        for pem in pems {
            let der = Identity::from_pem("X", &pem).unwrap().cert_der().to_vec();
            let (_, cert, _) = der_item(&der);
            let (_, _, rest) = der_item(cert); // tbsCertificate
            let (_, _, rest) = der_item(rest); // signatureAlgorithm
            let (tag, bits, _) = der_item(rest);
            assert_eq!(tag, 0x03);
            let sig = &bits[1..];
            assert_eq!(sfcbc_fabric::signer::ecdsa_low_s(sig).unwrap(), sig);
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
}
