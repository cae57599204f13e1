//! `sfcbc_client::ca` against a REAL Fabric CA: fabric-ca-server 1.5.21 built by
//! `../shared/fabric-real/build-ca.sh` into `~/.cache/fabric-real/bin` (or `$FABRIC_HOME/bin`,
//! or `$FABRIC_CA_BIN`). Each test starts its own server in a temporary directory on a free
//! loopback port (plain http, and https with the CA's self-issued TLS certificate) and stops
//! it afterwards.
//!
//! Without the binaries the tests print why and pass without testing anything, unless
//! `SFCBC_REQUIRE_FABRIC_CA=1` (what `tests/real-fabric/ca.sh` sets), which makes that a
//! failure.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sfcbc_client::ca::{
    self, AttributeRequest, CaClient, CaError, CaTarget, EnrollOptions, MspWriteOptions,
    RegistrationRequest, RevocationRequest,
};
use sfcbc_fabric::{MspDir, MspRole, ValidityTime};
use x509_parser::prelude::{FromDer, X509Certificate};

const ADMIN: &str = "admin";
const ADMIN_PW: &str = "adminpw";

fn bin_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("FABRIC_CA_BIN") {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("FABRIC_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("fabric-real"))
                })
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/fabric-real"))
                })?;
            home.join("bin")
        }
    };
    if dir.join("fabric-ca-server").is_file() {
        return Some(dir);
    }
    let why = format!(
        "no fabric-ca-server in {} — build it with `bash ../shared/fabric-real/build-ca.sh` \
         (or run tests/real-fabric/ca.sh)",
        dir.display()
    );
    if std::env::var("SFCBC_REQUIRE_FABRIC_CA").is_ok_and(|v| v == "1") {
        panic!("SFCBC_REQUIRE_FABRIC_CA=1 but {why}");
    }
    eprintln!("SKIPPED (real Fabric CA tests): {why}");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A fabric-ca-server this test started; killed on drop (also on panic).
struct Server {
    child: Child,
    home: PathBuf,
    url: String,
    tls: bool,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(bin: &Path, dir: &Path, tls: bool) -> Self {
        let home = dir.join(if tls { "ca-tls" } else { "ca" });
        std::fs::create_dir_all(&home).unwrap();
        let port = free_port();
        let log = home.join("server.log");
        let mut cmd = Command::new(bin.join("fabric-ca-server"));
        cmd.args(["start", "-b", &format!("{ADMIN}:{ADMIN_PW}")])
            .args(["--port", &port.to_string(), "--address", "127.0.0.1"])
            .arg("--home")
            .arg(&home)
            // Its operations server defaults to 127.0.0.1:9443, which Fabric peers use too.
            .env("FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(home.join("server.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        if tls {
            cmd.arg("--tls.enabled");
        }
        let child = cmd.spawn().expect("start fabric-ca-server");
        let url = format!("{}://localhost:{port}", if tls { "https" } else { "http" });
        let server = Self {
            child,
            home,
            url,
            tls,
            log,
        };
        server.wait_ready().await;
        server
    }

    fn target(&self) -> CaTarget {
        CaTarget {
            url: self.url.clone(),
            // The server's self-issued TLS certificate is signed by its CA.
            tls_ca: self.tls.then(|| self.home.join("ca-cert.pem")),
            ca_name: None,
        }
    }

    fn client(&self) -> CaClient {
        self.target().client().expect("CA client")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // ca-cert.pem exists before the listener is up; cainfo proves both.
            if self.home.join("ca-cert.pem").is_file() {
                if let Ok(c) = self.target().client() {
                    if c.cainfo().await.is_ok() {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "fabric-ca-server did not come up at {}; log:\n{}",
                self.url,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn cert_of(pem_text: &[u8]) -> Vec<u8> {
    sfcbc_fabric::msp::pem::decode_all(pem_text)
        .into_iter()
        .find(|b| b.label == "CERTIFICATE")
        .expect("a certificate")
        .contents
}

fn ous(pem_text: &[u8]) -> Vec<String> {
    let der = cert_of(pem_text);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    cert.subject()
        .iter_organizational_unit()
        .map(|ou| ou.as_str().unwrap().to_string())
        .collect()
}

/// Fabric CA's attribute extension (OID 1.2.3.4.5.6.7.8.1), as JSON.
fn ca_attrs(pem_text: &[u8]) -> serde_json::Value {
    let der = cert_of(pem_text);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "1.2.3.4.5.6.7.8.1")
        .expect("Fabric CA attribute extension");
    serde_json::from_slice(ext.value).unwrap()
}

/// Loads `dir` with `MspDir`, validates its identity as an `msp_id` member under the
/// folder's own NodeOUs config, signs and verifies; returns the roles it has.
fn check_msp(dir: &Path, msp_id: &str) -> BTreeSet<MspRole> {
    let msp = MspDir::load(dir).unwrap_or_else(|e| panic!("MspDir::load({}): {e}", dir.display()));
    let signer = msp
        .signer(msp_id)
        .expect("signer from signcerts + keystore");
    let msg = b"hop record";
    let sig = signer.sign(msg);
    signer
        .identity()
        .public_key()
        .unwrap()
        .verify(msg, &sig)
        .expect("signature verifies");
    let verifier = msp.verifier(msp_id).expect("verifier");
    assert!(verifier.node_ous_enabled(), "config.yaml enables NodeOUs");
    let validated = verifier
        .validate(signer.identity(), ValidityTime::AsFabric)
        .expect("identity validates against the MSP's CA and NodeOUs");
    validated.verify(msg, &sig).expect("verify as validated");
    [
        MspRole::Member,
        MspRole::Admin,
        MspRole::Client,
        MspRole::Peer,
        MspRole::Orderer,
    ]
    .into_iter()
    .filter(|r| validated.has_role(*r))
    .collect()
}

fn files_under(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// The whole life cycle on one server: cainfo, enroll the bootstrap admin, register a
/// client, a peer and an admin, enroll them into MSP folders that `MspDir` loads (with the
/// CA's NodeOU roles), wrong secrets, a registrar without rights, revoke, and enrolling or
/// authenticating after revocation.
async fn life_cycle(tls: bool) {
    let Some(bin) = bin_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&bin, dir.path(), tls).await;
    let client = server.client();
    let msp_id = "Org1MSP";

    // cainfo
    let info = client.cainfo().await.expect("cainfo");
    assert_eq!(info.version, "1.5.21");
    assert_eq!(info.roots.len(), 1, "one root CA");
    assert!(info.intermediates.is_empty());
    assert_eq!(
        cert_of(&info.roots[0]),
        cert_of(&std::fs::read(server.home.join("ca-cert.pem")).unwrap()),
        "cainfo's chain is the server's ca-cert.pem"
    );

    // The bootstrap admin (Fabric CA 1.5 gives it type `client`).
    let admin_dir = dir.path().join("admin/msp");
    let out = ca::enroll(
        &server.target(),
        ADMIN,
        ADMIN_PW,
        &admin_dir,
        &EnrollOptions::default(),
        &MspWriteOptions::default(),
        Some(msp_id),
    )
    .await
    .expect("enroll the bootstrap admin");
    // 1.5.21 leaves ServerInfo.Version empty in enroll responses (cainfo has it).
    assert!(
        out.files.contains(&"signcerts/cert.pem".to_string()),
        "{out:?}"
    );
    let roles = check_msp(&admin_dir, msp_id);
    assert!(roles.contains(&MspRole::Client), "{roles:?}");
    let admin = ca::load_signer(&admin_dir, msp_id).unwrap();

    // Register a client with attributes, a peer and an org admin.
    let secret = ca::register(
        &server.target(),
        &admin,
        &RegistrationRequest {
            name: "sf1".into(),
            kind: "client".into(),
            secret: "sf1pw".into(),
            affiliation: "org1.department1".into(),
            attributes: ca::parse_attrs("role=sf:ecert,sp=Org1").unwrap(),
            max_enrollments: -1,
            ..Default::default()
        },
    )
    .await
    .expect("register sf1");
    assert_eq!(secret, "sf1pw");
    let peer_secret = client
        .register(
            &admin,
            &RegistrationRequest {
                name: "peer0".into(),
                kind: "peer".into(),
                affiliation: "org1".into(),
                ..Default::default()
            },
        )
        .await
        .expect("register peer0");
    assert!(!peer_secret.is_empty(), "the CA generated a secret");
    let orgadmin_secret = client
        .register(
            &admin,
            &RegistrationRequest {
                name: "org1admin".into(),
                kind: "admin".into(),
                affiliation: "org1".into(),
                attributes: ca::parse_attrs("hf.Registrar.Roles=client,hf.Revoker=true").unwrap(),
                ..Default::default()
            },
        )
        .await
        .expect("register org1admin");

    // Registering the same id twice: the CA's own message.
    let err = client
        .register(
            &admin,
            &RegistrationRequest {
                name: "sf1".into(),
                ..Default::default()
            },
        )
        .await
        .expect_err("duplicate registration");
    eprintln!("refused as expected: {err}");
    assert!(
        matches!(err, CaError::Server { .. }) && err.to_string().contains("already registered"),
        "{err}"
    );

    // Enroll them; the CA's NodeOU roles show in the certificates' OUs and in the MSP roles.
    let sf1_dir = dir.path().join("sf1/msp");
    ca::enroll(
        &server.target(),
        "sf1",
        "sf1pw",
        &sf1_dir,
        &EnrollOptions {
            attr_reqs: vec![
                AttributeRequest {
                    name: "sp".into(),
                    optional: false,
                },
                AttributeRequest {
                    name: "role".into(),
                    optional: false,
                },
            ],
            ..Default::default()
        },
        &MspWriteOptions::default(),
        Some(msp_id),
    )
    .await
    .expect("enroll sf1");
    let sf1_cert = std::fs::read(sf1_dir.join("signcerts/cert.pem")).unwrap();
    let sf1_ous = ous(&sf1_cert);
    assert!(sf1_ous.contains(&"client".to_string()), "{sf1_ous:?}");
    assert!(sf1_ous.contains(&"org1".to_string()), "{sf1_ous:?}");
    assert!(sf1_ous.contains(&"department1".to_string()), "{sf1_ous:?}");
    let attrs = ca_attrs(&sf1_cert);
    // Exactly the requested attributes.
    assert_eq!(
        attrs,
        serde_json::json!({"attrs": {"role": "sf", "sp": "Org1"}}),
        "{attrs}"
    );
    let roles = check_msp(&sf1_dir, msp_id);
    assert_eq!(
        roles,
        BTreeSet::from([MspRole::Member, MspRole::Client]),
        "sf1's roles"
    );

    let peer_dir = dir.path().join("peer0/msp");
    ca::enroll(
        &server.target(),
        "peer0",
        &peer_secret,
        &peer_dir,
        &EnrollOptions {
            hosts: vec!["peer0.org1.example.com".into(), "127.0.0.1".into()],
            ..Default::default()
        },
        &MspWriteOptions::default(),
        Some(msp_id),
    )
    .await
    .expect("enroll peer0");
    assert!(
        ous(&std::fs::read(peer_dir.join("signcerts/cert.pem")).unwrap())
            .contains(&"peer".to_string())
    );
    assert!(check_msp(&peer_dir, msp_id).contains(&MspRole::Peer));

    let orgadmin_dir = dir.path().join("org1admin/msp");
    ca::enroll(
        &server.target(),
        "org1admin",
        &orgadmin_secret,
        &orgadmin_dir,
        &EnrollOptions::default(),
        &MspWriteOptions::default(),
        Some(msp_id),
    )
    .await
    .expect("enroll org1admin");
    let roles = check_msp(&orgadmin_dir, msp_id);
    assert!(roles.contains(&MspRole::Admin), "{roles:?}");
    assert!(!roles.contains(&MspRole::Client), "{roles:?}");

    // A wrong secret: the CA's error, clearly.
    let err = client
        .enroll("sf1", "not-the-secret", &EnrollOptions::default())
        .await
        .expect_err("wrong secret");
    eprintln!("refused as expected: {err}");
    assert_eq!(err.server_codes(), vec![20], "{err}");
    let text = err.to_string();
    assert!(text.contains("Authentication failure"), "{text}");
    assert!(text.contains("/api/v1/enroll"), "{text}");
    // An unknown id is refused the same way.
    let err = client
        .enroll("nobody", "x", &EnrollOptions::default())
        .await
        .expect_err("unknown id");
    assert_eq!(err.server_codes(), vec![20], "{err}");

    // A client without registrar rights cannot register.
    let sf1 = ca::load_signer(&sf1_dir, msp_id).unwrap();
    let err = client
        .register(
            &sf1,
            &RegistrationRequest {
                name: "intruder".into(),
                ..Default::default()
            },
        )
        .await
        .expect_err("sf1 is no registrar");
    eprintln!("refused as expected: {err}");
    assert!(matches!(err, CaError::Server { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("authoriz")
            || err.to_string().contains("registrar"),
        "{err}"
    );

    // Revoke sf1: its certificate is listed as revoked.
    let expected_serial = {
        let der = cert_of(&sf1_cert);
        let (_, c) = X509Certificate::from_der(&der).unwrap();
        c.tbs_certificate.serial.to_str_radix(16)
    };
    let resp = ca::revoke(
        &server.target(),
        &admin,
        &RevocationRequest {
            name: "sf1".into(),
            reason: "keycompromise".into(),
            gencrl: true,
            ..Default::default()
        },
    )
    .await
    .expect("revoke sf1");
    assert_eq!(resp.revoked.len(), 1, "{resp:?}");
    assert_eq!(
        resp.revoked[0].serial.trim_start_matches('0'),
        expected_serial.trim_start_matches('0')
    );
    assert!(
        String::from_utf8_lossy(&resp.crl).contains("BEGIN X509 CRL"),
        "a CRL PEM"
    );

    // Enrolling again with the right secret is refused now …
    let err = client
        .enroll("sf1", "sf1pw", &EnrollOptions::default())
        .await
        .expect_err("a revoked identity cannot enroll");
    eprintln!("refused as expected: {err}");
    assert_eq!(err.server_codes(), vec![20], "{err}");
    assert!(
        server.log_text().contains("User sf1 is revoked"),
        "the server logged why"
    );
    // … and its certificate no longer authenticates (token of a revoked certificate).
    let err = client
        .revoke(
            &sf1,
            &RevocationRequest {
                name: "peer0".into(),
                ..Default::default()
            },
        )
        .await
        .expect_err("a revoked certificate's token is refused");
    eprintln!("refused as expected: {err}");
    // 20 (authentication), not 71 (authorization): the certificate itself is refused.
    assert_eq!(err.server_codes(), vec![20], "{err}");

    // Revoking one certificate by serial + AKI (peer0's), read from its cert.
    let peer_cert = std::fs::read(peer_dir.join("signcerts/cert.pem")).unwrap();
    let resp = client
        .revoke(
            &admin,
            &RevocationRequest::for_certificate(&peer_cert).unwrap(),
        )
        .await
        .expect("revoke peer0's certificate");
    assert_eq!(resp.revoked.len(), 1, "{resp:?}");
}

#[tokio::test]
async fn real_ca_life_cycle_http() {
    life_cycle(false).await;
}

#[tokio::test]
async fn real_ca_life_cycle_tls() {
    life_cycle(true).await;
}

/// Our MSP folder has the same files, in the same places, as `fabric-ca-client enroll`'s
/// (plus `config.yaml`), and MspDir reads the same roots from both.
#[tokio::test]
async fn msp_layout_matches_fabric_ca_client() {
    let Some(bin) = bin_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&bin, dir.path(), true).await;
    let client_home = dir.path().join("fabric-ca-client");
    let port = server.url.rsplit(':').next().unwrap();
    let status = Command::new(bin.join("fabric-ca-client"))
        .args([
            "enroll",
            "-u",
            &format!("https://{ADMIN}:{ADMIN_PW}@localhost:{port}"),
        ])
        .arg("--tls.certfiles")
        .arg(server.home.join("ca-cert.pem"))
        .env("FABRIC_CA_CLIENT_HOME", &client_home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run fabric-ca-client");
    assert!(status.success(), "fabric-ca-client enroll");
    let theirs = client_home.join("msp");

    let ours = dir.path().join("ours/msp");
    ca::enroll(
        &server.target(),
        ADMIN,
        ADMIN_PW,
        &ours,
        &EnrollOptions::default(),
        &MspWriteOptions::default(),
        None,
    )
    .await
    .expect("our enroll");

    let shape = |files: BTreeSet<String>| -> BTreeSet<String> {
        files
            .into_iter()
            .map(|f| match f.strip_prefix("keystore/") {
                Some(k) if k.ends_with("_sk") && k.len() == 64 + 3 => "keystore/<ski>_sk".into(),
                _ => f,
            })
            .collect()
    };
    let mut want = shape(files_under(&theirs));
    want.insert("config.yaml".into());
    assert_eq!(
        shape(files_under(&ours)),
        want,
        "same layout (+ config.yaml)"
    );

    // Same CA file content, same SKI rule for the key file name.
    let ca_file = format!("cacerts/localhost-{port}.pem");
    assert_eq!(
        cert_of(&std::fs::read(ours.join(&ca_file)).unwrap()),
        cert_of(&std::fs::read(theirs.join(&ca_file)).unwrap())
    );
    for msp in [&theirs, &ours] {
        let key_file = files_under(msp)
            .into_iter()
            .find(|f| f.starts_with("keystore/"))
            .unwrap();
        let loaded = MspDir::load(msp).unwrap();
        let signer = loaded.signer("Org1MSP").unwrap();
        let der = cert_of(signer.identity().cert_pem());
        let (_, c) = X509Certificate::from_der(&der).unwrap();
        let ski = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(
                c.public_key().subject_public_key.data.as_ref(),
            ))
        };
        assert_eq!(key_file, format!("keystore/{ski}_sk"), "{}", msp.display());
        let key_pem = std::fs::read_to_string(msp.join(&key_file)).unwrap();
        assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(msp.join(&key_file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{} key is private", msp.display());
        }
        assert_eq!(loaded.config.root_certs.len(), 1);
    }
    // Both enrollments are the same kind of identity: same OUs.
    assert_eq!(
        ous(&std::fs::read(ours.join("signcerts/cert.pem")).unwrap()),
        ous(&std::fs::read(theirs.join("signcerts/cert.pem")).unwrap())
    );
    // Idemix issuer keys are copied verbatim.
    for f in ["IssuerPublicKey", "IssuerRevocationPublicKey"] {
        assert_eq!(
            std::fs::read(ours.join(f)).unwrap(),
            std::fs::read(theirs.join(f)).unwrap(),
            "{f}"
        );
    }
    // Their folder plus our config.yaml is a NodeOU MSP too: config.yaml only names files
    // that exist in both layouts.
    std::fs::copy(ours.join("config.yaml"), theirs.join("config.yaml")).unwrap();
    assert!(check_msp(&theirs, "Org1MSP").contains(&MspRole::Client));
}

/// A URL nobody listens on, and an https CA checked against the wrong TLS root: clear errors.
#[tokio::test]
async fn transport_errors_are_clear() {
    let port = free_port();
    let err = CaClient::new(&format!("http://127.0.0.1:{port}"), None)
        .unwrap()
        .cainfo()
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, CaError::Http { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot reach the Fabric CA"),
        "{err}"
    );

    let Some(bin) = bin_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&bin, dir.path(), true).await;
    let other = rcgen::CertificateParams::new(vec!["other".to_string()])
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem();
    let err = CaClient::new(&server.url, Some(other.as_bytes()))
        .unwrap()
        .cainfo()
        .await
        .expect_err("wrong TLS root");
    assert!(matches!(err, CaError::Http { .. }), "{err}");
    let text = err.to_string().to_lowercase();
    assert!(text.contains("certificate"), "{err}");
}
