//! MSP folders from real cryptogen output (tests/fixtures/crypto), and identity validation
//! rules on chains built with rcgen (intermediate CAs, NodeOUs, Ed25519, admincerts).

use std::path::PathBuf;

use prost::Message as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_ED25519,
};
use sfcbc_fabric::error::MspError;
use sfcbc_fabric::msp::{
    Identity, MspConfig, MspDir, MspManager, MspRole, MspVerifier, NodeOusConfig,
    OuIdentifierConfig, ValidityTime,
};
use sfcbc_fabric::protos::msp::SerializedIdentity;
use sfcbc_fabric::signer::{PrivateKey, Signer};

fn crypto(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crypto")
        .join(rel)
}

fn user_msp(org: u8, user: &str) -> PathBuf {
    crypto(&format!(
        "peerOrganizations/org{org}.example.com/users/{user}@org{org}.example.com/msp"
    ))
}

fn org_msp(org: u8) -> PathBuf {
    crypto(&format!("peerOrganizations/org{org}.example.com/msp"))
}

fn org1_verifier() -> MspVerifier {
    MspDir::load(org_msp(1))
        .unwrap()
        .verifier("Org1MSP")
        .unwrap()
}

#[test]
fn loads_a_cryptogen_user_folder() {
    let dir = MspDir::load(user_msp(1, "User1")).unwrap();
    let signer = dir.signer("Org1MSP").unwrap();
    assert_eq!(signer.msp_id(), "Org1MSP");
    // The serialized certificate is byte-for-byte the PEM file (Go's pem encoding).
    let file =
        std::fs::read(user_msp(1, "User1").join("signcerts/User1@org1.example.com-cert.pem"))
            .unwrap();
    assert_eq!(signer.identity().cert_pem(), file.as_slice());
    let sid = SerializedIdentity::decode(signer.serialize().as_slice()).unwrap();
    assert_eq!(sid.mspid, "Org1MSP");
    assert_eq!(sid.id_bytes, file);
    assert_eq!(dir.config.tls_root_certs.len(), 1);
    assert!(dir.config.node_ous.as_ref().unwrap().enable);
}

#[test]
fn node_ou_roles_of_cryptogen_identities() {
    let v = org1_verifier();
    assert!(v.node_ous_enabled());
    let cases = [
        (user_msp(1, "User1"), MspRole::Client),
        (user_msp(1, "Admin"), MspRole::Admin),
        (
            crypto("peerOrganizations/org1.example.com/peers/peer0.org1.example.com/msp"),
            MspRole::Peer,
        ),
    ];
    for (path, role) in cases {
        let id = MspDir::load(&path).unwrap().identity("Org1MSP").unwrap();
        let valid = v.validate(&id, ValidityTime::AsFabric).unwrap();
        assert_eq!(
            valid.roles,
            vec![MspRole::Member, role],
            "{}",
            path.display()
        );
    }
    let orderer_dir = MspDir::load(crypto("ordererOrganizations/example.com/msp")).unwrap();
    let ov = orderer_dir.verifier("OrdererMSP").unwrap();
    let orderer = MspDir::load(crypto(
        "ordererOrganizations/example.com/orderers/orderer.example.com/msp",
    ))
    .unwrap()
    .identity("OrdererMSP")
    .unwrap();
    let valid = ov.validate(&orderer, ValidityTime::AsFabric).unwrap();
    assert!(valid.has_role(MspRole::Orderer));
    assert!(!valid.has_role(MspRole::Admin));
}

#[test]
fn signatures_verify_under_the_validated_identity() {
    let signer = MspDir::load(user_msp(1, "User1"))
        .unwrap()
        .signer("Org1MSP")
        .unwrap();
    let v = org1_verifier();
    let valid = v
        .validate_serialized(&signer.serialize(), ValidityTime::AsFabric)
        .unwrap();
    let sig = signer.sign(b"proposal bytes");
    valid.verify(b"proposal bytes", &sig).unwrap();
    assert!(valid.verify(b"other bytes", &sig).is_err());
}

#[test]
fn foreign_identities_are_rejected() {
    let v = org1_verifier();
    // Org2's user under its own MSP ID: wrong MSP.
    let org2 = MspDir::load(user_msp(2, "User1"))
        .unwrap()
        .identity("Org2MSP")
        .unwrap();
    assert!(matches!(
        v.validate(&org2, ValidityTime::AsFabric),
        Err(MspError::WrongMsp { .. })
    ));
    // Org2's certificate claiming to be Org1MSP: does not chain to Org1's CA.
    let forged = Identity::from_pem("Org1MSP", org2.cert_pem()).unwrap();
    assert!(matches!(
        v.validate(&forged, ValidityTime::AsFabric),
        Err(MspError::Invalid { .. })
    ));
    // The CA's own certificate is not an identity.
    let ca_pem = std::fs::read(org_msp(1).join("cacerts/ca.org1.example.com-cert.pem")).unwrap();
    let ca = Identity::from_pem("Org1MSP", &ca_pem).unwrap();
    assert!(matches!(
        v.validate(&ca, ValidityTime::AsFabric),
        Err(MspError::Invalid { .. })
    ));
    // Garbage bytes.
    assert!(
        v.validate_serialized(b"\x0a\x03abc", ValidityTime::AsFabric)
            .is_err()
    );
    assert!(
        v.validate_serialized(b"\xff", ValidityTime::AsFabric)
            .is_err()
    );
}

#[test]
fn manager_dispatches_by_msp_id() {
    let m: MspManager = [
        MspDir::load(org_msp(1))
            .unwrap()
            .verifier("Org1MSP")
            .unwrap(),
        MspDir::load(org_msp(2))
            .unwrap()
            .verifier("Org2MSP")
            .unwrap(),
    ]
    .into_iter()
    .collect();
    assert_eq!(m.msp_ids().collect::<Vec<_>>(), ["Org1MSP", "Org2MSP"]);
    for (org, msp) in [(1, "Org1MSP"), (2, "Org2MSP")] {
        let s = MspDir::load(user_msp(org, "User1"))
            .unwrap()
            .signer(msp)
            .unwrap();
        let v = m
            .validate_serialized(&s.serialize(), ValidityTime::AsFabric)
            .unwrap();
        assert_eq!(v.msp_id(), msp);
    }
    let s = MspDir::load(user_msp(1, "User1"))
        .unwrap()
        .signer("Org9MSP")
        .unwrap();
    assert!(matches!(
        m.validate_serialized(&s.serialize(), ValidityTime::AsFabric),
        Err(MspError::UnknownMsp(_))
    ));
}

#[test]
fn validity_time() {
    let v = org1_verifier();
    let id = MspDir::load(user_msp(1, "User1"))
        .unwrap()
        .identity("Org1MSP")
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    v.validate(&id, ValidityTime::At(now)).unwrap();
    // cryptogen certificates live ten years; in 2100 they have expired...
    assert!(v.validate(&id, ValidityTime::At(4_102_444_800)).is_err());
    // ...and before they were issued they were not valid either.
    assert!(v.validate(&id, ValidityTime::At(0)).is_err());
}

#[test]
fn channel_config_round_trip() {
    let dir = MspDir::load(org_msp(1)).unwrap();
    let proto = dir.msp_config("Org1MSP").to_proto();
    assert_eq!(proto.name, "Org1MSP");
    assert_eq!(MspConfig::from_proto(&proto), dir.msp_config("Org1MSP"));
    let bytes = proto.encode_to_vec();
    let back = sfcbc_fabric::protos::msp::FabricMspConfig::decode(bytes.as_slice()).unwrap();
    let v = MspVerifier::from_proto(&back).unwrap();
    let id = MspDir::load(user_msp(1, "User1"))
        .unwrap()
        .identity("Org1MSP")
        .unwrap();
    assert!(
        v.validate(&id, ValidityTime::AsFabric)
            .unwrap()
            .has_role(MspRole::Client)
    );
}

#[test]
fn broken_folders_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        MspDir::load(tmp.path()),
        Err(MspError::Missing { .. })
    ));
    std::fs::create_dir(tmp.path().join("cacerts")).unwrap();
    std::fs::write(tmp.path().join("cacerts/ca.pem"), "not a cert").unwrap();
    assert!(MspDir::load(tmp.path()).is_err());
    let ca_pem = std::fs::read(org_msp(1).join("cacerts/ca.org1.example.com-cert.pem")).unwrap();
    std::fs::write(tmp.path().join("cacerts/ca.pem"), &ca_pem).unwrap();
    let dir = MspDir::load(tmp.path()).unwrap();
    assert!(dir.signer("X").is_err());
    std::fs::write(tmp.path().join("config.yaml"), "NodeOUs: [unclosed").unwrap();
    assert!(matches!(
        MspDir::load(tmp.path()),
        Err(MspError::Config { .. })
    ));
    // A signcert without a matching key.
    std::fs::write(tmp.path().join("config.yaml"), "").unwrap();
    std::fs::create_dir(tmp.path().join("signcerts")).unwrap();
    std::fs::copy(
        user_msp(1, "User1").join("signcerts/User1@org1.example.com-cert.pem"),
        tmp.path().join("signcerts/cert.pem"),
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("keystore")).unwrap();
    std::fs::write(
        tmp.path().join("keystore/other_sk"),
        PrivateKey::generate_p256().to_pkcs8_pem(),
    )
    .unwrap();
    assert!(matches!(
        MspDir::load(tmp.path()).unwrap().signer("Org1MSP"),
        Err(MspError::NoMatchingKey { .. })
    ));
}

// ---- chains built with rcgen ----

struct Ca {
    key: KeyPair,
    params: CertificateParams,
    pem: String,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

fn new_root(cn: &str) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let params = ca_params(cn);
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { key, params, pem }
}

fn intermediate(cn: &str, parent: &Ca) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let params = ca_params(cn);
    let issuer = Issuer::from_params(&parent.params, &parent.key);
    let pem = params.signed_by(&key, &issuer).unwrap().pem();
    Ca { key, params, pem }
}

fn leaf(
    cn: &str,
    ous: &[&str],
    parent: &Ca,
    alg: &'static rcgen::SignatureAlgorithm,
) -> (String, PrivateKey) {
    let key = KeyPair::generate_for(alg).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    for ou in ous {
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, *ou);
    }
    let issuer = Issuer::from_params(&parent.params, &parent.key);
    let pem = p.signed_by(&key, &issuer).unwrap().pem();
    let private = PrivateKey::from_pem(key.serialize_pem().as_bytes()).unwrap();
    (pem, private)
}

fn node_ous(certificate: &str) -> NodeOusConfig {
    let ou = |name: &str| {
        Some(OuIdentifierConfig {
            certificate: certificate.as_bytes().to_vec(),
            organizational_unit_identifier: name.into(),
        })
    };
    NodeOusConfig {
        enable: true,
        client: ou("client"),
        peer: ou("peer"),
        admin: ou("admin"),
        orderer: ou("orderer"),
    }
}

#[test]
fn intermediate_chain_with_certifier_checks() {
    let root = new_root("root");
    let inter = intermediate("inter", &root);
    let (leaf_pem, key) = leaf("user", &["client"], &inter, &PKCS_ECDSA_P256_SHA256);
    let mut config = MspConfig {
        msp_id: "IMSP".into(),
        root_certs: vec![root.pem.clone().into_bytes()],
        intermediate_certs: vec![inter.pem.clone().into_bytes()],
        node_ous: Some(node_ous(&inter.pem)),
        ..Default::default()
    };
    let v = MspVerifier::new(&config).unwrap();
    let id = Identity::from_pem("IMSP", leaf_pem.as_bytes()).unwrap();
    let signer = Signer::new(id.clone(), key).unwrap();
    let valid = v.validate(&id, ValidityTime::AsFabric).unwrap();
    assert!(valid.has_role(MspRole::Client));
    valid.verify(b"m", &signer.sign(b"m")).unwrap();

    // Node OUs certified by the root: the identity's certifier (intermediate, root) differs.
    config.node_ous = Some(node_ous(&root.pem));
    let v = MspVerifier::new(&config).unwrap();
    assert!(v.validate(&id, ValidityTime::AsFabric).is_err());

    // Without the intermediate the chain is broken.
    config.intermediate_certs.clear();
    config.node_ous = None;
    let v = MspVerifier::new(&config).unwrap();
    assert!(v.validate(&id, ValidityTime::AsFabric).is_err());

    // An OU certificate that is not one of the MSP's CAs is a configuration error.
    let other = new_root("other");
    config.node_ous = Some(node_ous(&other.pem));
    assert!(MspVerifier::new(&config).is_err());
}

#[test]
fn node_ou_count_rules() {
    let root = new_root("root");
    let config = MspConfig {
        msp_id: "M".into(),
        root_certs: vec![root.pem.clone().into_bytes()],
        node_ous: Some(node_ous("")),
        ..Default::default()
    };
    let v = MspVerifier::new(&config).unwrap();
    for (ous, ok) in [
        (&["client"][..], true),
        (&["peer"][..], true),
        (&[][..], false),
        (&["sales"][..], false),
        // (rcgen keeps one value per DN attribute type, so a certificate with two node OUs,
        // which Fabric rejects, cannot be built here.)
    ] {
        let (pem, _) = leaf("x", ous, &root, &PKCS_ECDSA_P256_SHA256);
        let id = Identity::from_pem("M", pem.as_bytes()).unwrap();
        assert_eq!(
            v.validate(&id, ValidityTime::AsFabric).is_ok(),
            ok,
            "{ous:?}"
        );
    }
}

#[test]
fn admincerts_without_node_ous() {
    let root = new_root("root");
    let (admin_pem, _) = leaf("admin", &[], &root, &PKCS_ECDSA_P256_SHA256);
    let (user_pem, _) = leaf("user", &["client"], &root, &PKCS_ECDSA_P256_SHA256);
    let v = MspVerifier::new(&MspConfig {
        msp_id: "M".into(),
        root_certs: vec![root.pem.clone().into_bytes()],
        admins: vec![admin_pem.clone().into_bytes()],
        ..Default::default()
    })
    .unwrap();
    let admin = v
        .validate(
            &Identity::from_pem("M", admin_pem.as_bytes()).unwrap(),
            ValidityTime::AsFabric,
        )
        .unwrap();
    assert_eq!(admin.roles, vec![MspRole::Member, MspRole::Admin]);
    // Without NodeOUs an OU says nothing: the user is only a member.
    let user = v
        .validate(
            &Identity::from_pem("M", user_pem.as_bytes()).unwrap(),
            ValidityTime::AsFabric,
        )
        .unwrap();
    assert_eq!(user.roles, vec![MspRole::Member]);
}

#[test]
fn ed25519_identities() {
    let root = new_root("root");
    let (pem, key) = leaf("ed", &["peer"], &root, &PKCS_ED25519);
    let v = MspVerifier::new(&MspConfig {
        msp_id: "EdMSP".into(),
        root_certs: vec![root.pem.clone().into_bytes()],
        node_ous: Some(node_ous("")),
        ..Default::default()
    })
    .unwrap();
    let id = Identity::from_pem("EdMSP", pem.as_bytes()).unwrap();
    let signer = Signer::new(id.clone(), key).unwrap();
    let valid = v.validate(&id, ValidityTime::AsFabric).unwrap();
    assert!(valid.has_role(MspRole::Peer));
    let sig = signer.sign(b"block");
    assert_eq!(sig.len(), 64);
    valid.verify(b"block", &sig).unwrap();
    // A key that is not the certificate's is refused.
    assert!(Signer::new(id, PrivateKey::generate_ed25519()).is_err());
}

#[test]
fn written_folders_load_back() {
    let user = MspDir::load(user_msp(1, "User1")).unwrap();
    let signer = user.signer("Org1MSP").unwrap();
    let mut config = user.msp_config("Org1MSP");
    // Identities must carry one of these OUs (Fabric ORs them).
    config.organizational_unit_identifiers = vec![
        OuIdentifierConfig {
            certificate: config.root_certs[0].clone(),
            organizational_unit_identifier: "odd \"ou\" \\ #: value".into(),
        },
        OuIdentifierConfig {
            certificate: Vec::new(),
            organizational_unit_identifier: "client".into(),
        },
    ];
    config.admins = vec![signer.identity().cert_pem().to_vec()];
    let tmp = tempfile::tempdir().unwrap();
    MspDir::write(tmp.path(), &config, Some(&signer)).unwrap();
    let back = MspDir::load(tmp.path()).unwrap();
    assert_eq!(back.msp_config("Org1MSP"), config);
    let signer2 = back.signer("Org1MSP").unwrap();
    assert_eq!(signer2.serialize(), signer.serialize());
    let v = back.verifier("Org1MSP").unwrap();
    let valid = v
        .validate(signer2.identity(), ValidityTime::AsFabric)
        .unwrap();
    assert!(valid.has_role(MspRole::Client) && valid.has_role(MspRole::Admin));

    // Verifying-only folder (no signer), no config.yaml.
    let tmp = tempfile::tempdir().unwrap();
    let plain = MspConfig {
        msp_id: "X".into(),
        root_certs: config.root_certs.clone(),
        ..Default::default()
    };
    MspDir::write(tmp.path(), &plain, None).unwrap();
    assert!(!tmp.path().join("config.yaml").exists());
    assert_eq!(MspDir::load(tmp.path()).unwrap().msp_config("X"), plain);

    // An OU certificate that is not one of the folder's CAs cannot be referenced.
    let other = MspDir::load(org_msp(2)).unwrap().config.root_certs[0].clone();
    let mut bad = config.clone();
    bad.organizational_unit_identifiers[0].certificate = other;
    assert!(MspDir::write(tempfile::tempdir().unwrap().path(), &bad, None).is_err());
}
