//! Crypto material for devnet in Fabric's `cryptogen` layout.
//!
//! [`generate`] writes one organization exactly where and as `cryptogen generate` (Fabric
//! 2.5) writes it, with NodeOUs enabled; [`OrgCrypto::load`] finds an existing one again (a
//! second `devnet up` resumes with the same identities). For a peer org `org1.example.com`
//! under `<base>` (`<dir>/organizations`):
//!
//! ```text
//! peerOrganizations/org1.example.com/
//!   ca/{ca.org1.example.com-cert.pem, priv_sk}          the org's CA
//!   tlsca/{tlsca.org1.example.com-cert.pem, priv_sk}    the org's TLS CA
//!   msp/{admincerts/, cacerts/, tlscacerts/, config.yaml}   verifying MSP (channel config)
//!   peers/peer0.org1.example.com/msp/{admincerts/, cacerts/, tlscacerts/, config.yaml,
//!                                     keystore/priv_sk, signcerts/peer0.org1.example.com-cert.pem}
//!   peers/peer0.org1.example.com/tls/{ca.crt, server.crt, server.key}
//!   users/Admin@org1.example.com/{msp/..., tls/{ca.crt, client.crt, client.key}}
//!   users/User1@org1.example.com/{msp/..., tls/...}
//! ```
//!
//! An orderer org lives under `ordererOrganizations/<domain>/` with `orderers/<host>.<domain>`
//! instead of `peers/`. Keys are PKCS#8 PEM (`PRIVATE KEY`, mode 0600), ECDSA P-256 by
//! default or Ed25519 ([`KeyAlgorithm::Ed25519`], as Fabric 3.x's cryptogen can make them).
//! `config.yaml` enables NodeOUs with the client/peer/admin/orderer OU identifiers pointing at
//! `cacerts/ca.<domain>-cert.pem`. TLS certificates carry the SANs `<host>.<domain>`, `<host>`
//! and [`OrgSpec::sans`] (default `localhost`, `127.0.0.1`). Certificate details: see `crypto/cert.rs`.
//!
//! Every MSP folder loads with [`sfcbc_fabric::msp::MspDir`]; `tests/crypto_real_fabric.rs`
//! shows real Fabric's tools accepting them.

mod cert;

use std::path::{Path, PathBuf};

use sfcbc_fabric::msp::{MspConfig, MspDir};
use sfcbc_fabric::signer::{PrivateKey, Signer};

use cert::{CaCert, CertKey, Leaf, Validity};

/// Why crypto material could not be generated or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot issue certificate: {0}")]
    Certificate(String),
    #[error("invalid organization spec: {0}")]
    Spec(String),
    #[error("{path} already exists; load it with OrgCrypto::load or choose another directory")]
    Exists { path: PathBuf },
    #[error(transparent)]
    Msp(#[from] sfcbc_fabric::error::MspError),
    #[error(transparent)]
    Key(#[from] sfcbc_fabric::error::CryptoError),
}

/// The key algorithm of every key of a generation run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 (Fabric 2.x, cryptogen's only choice in 2.5).
    #[default]
    EcdsaP256,
    /// Ed25519 (Fabric 3.x).
    Ed25519,
}

/// Whether an organization runs peers or orderers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgKind {
    /// `peerOrganizations/`, nodes under `peers/` with OU `peer`.
    Peer,
    /// `ordererOrganizations/`, nodes under `orderers/` with OU `orderer`.
    Orderer,
}

/// One organization to generate (cryptogen's `PeerOrgs`/`OrdererOrgs` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgSpec {
    /// The organization's name, e.g. `Org1`.
    pub name: String,
    /// Its MSP ID, e.g. `Org1MSP` (not written to disk: MSP folders do not record it).
    pub msp_id: String,
    /// Its domain, e.g. `org1.example.com`.
    pub domain: String,
    pub kind: OrgKind,
    /// Node host names without the domain, e.g. `peer0` (→ `peer0.org1.example.com`).
    pub nodes: Vec<String>,
    /// Users besides `Admin`, e.g. `User1` (→ `User1@org1.example.com`).
    pub users: Vec<String>,
    /// Extra TLS SANs of every node (DNS names or IP addresses).
    pub sans: Vec<String>,
}

impl OrgSpec {
    /// A peer org as `devnet up` makes it: `Org1` → `Org1MSP`, `org1.example.com`, `peer0`,
    /// `User1`, SANs `localhost` and `127.0.0.1`.
    pub fn peer_org(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            msp_id: format!("{name}MSP"),
            domain: format!("{}.example.com", name.to_ascii_lowercase()),
            kind: OrgKind::Peer,
            nodes: vec!["peer0".to_owned()],
            users: vec!["User1".to_owned()],
            sans: default_sans(),
        }
    }

    /// fabric-samples' orderer org: `Orderer`, `OrdererMSP`, `example.com`, node `orderer`,
    /// no users besides `Admin`.
    pub fn orderer_org() -> Self {
        Self {
            name: "Orderer".to_owned(),
            msp_id: "OrdererMSP".to_owned(),
            domain: "example.com".to_owned(),
            kind: OrgKind::Orderer,
            nodes: vec!["orderer".to_owned()],
            users: Vec::new(),
            sans: default_sans(),
        }
    }

    fn validate(&self) -> Result<(), CryptoError> {
        if self.msp_id.is_empty() {
            return Err(CryptoError::Spec(format!(
                "org {}: empty MSP ID",
                self.name
            )));
        }
        for (what, s) in std::iter::once(("domain", &self.domain))
            .chain(self.nodes.iter().map(|n| ("node", n)))
            .chain(self.users.iter().map(|u| ("user", u)))
        {
            // Names become path components and certificate names.
            let plain = !s.is_empty()
                && !s.starts_with('.')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !plain {
                return Err(CryptoError::Spec(format!(
                    "org {}: {what} name `{s}` is not a plain host or user name \
                     (letters, digits, `.`, `-`, `_`)",
                    self.name
                )));
            }
        }
        Ok(())
    }

    fn kind_dir(&self) -> &'static str {
        match self.kind {
            OrgKind::Peer => "peerOrganizations",
            OrgKind::Orderer => "ordererOrganizations",
        }
    }

    fn nodes_dir(&self) -> &'static str {
        match self.kind {
            OrgKind::Peer => "peers",
            OrgKind::Orderer => "orderers",
        }
    }

    fn node_ou(&self) -> &'static str {
        match self.kind {
            OrgKind::Peer => "peer",
            OrgKind::Orderer => "orderer",
        }
    }
}

fn default_sans() -> Vec<String> {
    vec!["localhost".to_owned(), "127.0.0.1".to_owned()]
}

/// A node's or user's TLS material, PEM.
#[derive(Clone, Debug)]
pub struct TlsMaterial {
    /// `server.crt` / `client.crt`.
    pub cert_pem: Vec<u8>,
    /// `server.key` / `client.key` (PKCS#8).
    pub key_pem: Vec<u8>,
    /// `ca.crt`: the org's TLS CA.
    pub ca_pem: Vec<u8>,
}

/// One organization's generated material on disk.
#[derive(Clone, Debug)]
pub struct OrgCrypto {
    pub spec: OrgSpec,
    /// `<base>/peerOrganizations/<domain>` (or `ordererOrganizations`).
    pub dir: PathBuf,
}

impl OrgCrypto {
    /// Where `spec`'s material lives under `base`, checked to exist and load as an MSP.
    pub fn load(base: &Path, spec: &OrgSpec) -> Result<Self, CryptoError> {
        spec.validate()?;
        let this = Self {
            spec: spec.clone(),
            dir: base.join(spec.kind_dir()).join(&spec.domain),
        };
        MspDir::load(this.msp_dir())?;
        for node in &spec.nodes {
            MspDir::load(this.node_msp_dir(node))?;
        }
        Ok(this)
    }

    /// The MSP ID.
    pub fn msp_id(&self) -> &str {
        &self.spec.msp_id
    }

    /// The org's verifying MSP folder (`msp/`), which a channel config carries.
    pub fn msp_dir(&self) -> PathBuf {
        self.dir.join("msp")
    }

    /// `<host>.<domain>`.
    pub fn node_name(&self, host: &str) -> String {
        format!("{host}.{}", self.spec.domain)
    }

    /// `<user>@<domain>`.
    pub fn user_name(&self, user: &str) -> String {
        format!("{user}@{}", self.spec.domain)
    }

    /// `peers/<host>.<domain>` or `orderers/<host>.<domain>`.
    pub fn node_dir(&self, host: &str) -> PathBuf {
        self.dir
            .join(self.spec.nodes_dir())
            .join(self.node_name(host))
    }

    /// A node's local MSP folder.
    pub fn node_msp_dir(&self, host: &str) -> PathBuf {
        self.node_dir(host).join("msp")
    }

    /// A node's TLS folder (`ca.crt`, `server.crt`, `server.key`).
    pub fn node_tls_dir(&self, host: &str) -> PathBuf {
        self.node_dir(host).join("tls")
    }

    /// `users/<user>@<domain>`.
    pub fn user_dir(&self, user: &str) -> PathBuf {
        self.dir.join("users").join(self.user_name(user))
    }

    /// A user's MSP folder (`Admin` for the org admin).
    pub fn user_msp_dir(&self, user: &str) -> PathBuf {
        self.user_dir(user).join("msp")
    }

    /// `tlsca/tlsca.<domain>-cert.pem`.
    pub fn tls_ca_cert_path(&self) -> PathBuf {
        self.dir
            .join("tlsca")
            .join(format!("tlsca.{}-cert.pem", self.spec.domain))
    }

    /// `ca/ca.<domain>-cert.pem`.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir
            .join("ca")
            .join(format!("ca.{}-cert.pem", self.spec.domain))
    }

    /// The org's MSP configuration (roots, TLS roots, NodeOUs) under its MSP ID: what goes
    /// into the channel config as `FabricMSPConfig` and what verifies its identities.
    pub fn msp_config(&self) -> Result<MspConfig, CryptoError> {
        Ok(MspDir::load(self.msp_dir())?.msp_config(&self.spec.msp_id))
    }

    /// The signer of an MSP folder of this org.
    pub fn signer_at(&self, msp_dir: &Path) -> Result<Signer, CryptoError> {
        Ok(MspDir::load(msp_dir)?.signer(&self.spec.msp_id)?)
    }

    /// A node's signer (peer or orderer identity).
    pub fn node_signer(&self, host: &str) -> Result<Signer, CryptoError> {
        self.signer_at(&self.node_msp_dir(host))
    }

    /// The org admin's signer (`Admin@<domain>`).
    pub fn admin_signer(&self) -> Result<Signer, CryptoError> {
        self.signer_at(&self.user_msp_dir("Admin"))
    }

    /// A user's signer (`User1`, ...).
    pub fn user_signer(&self, user: &str) -> Result<Signer, CryptoError> {
        self.signer_at(&self.user_msp_dir(user))
    }

    /// A node's TLS server material.
    pub fn node_tls(&self, host: &str) -> Result<TlsMaterial, CryptoError> {
        read_tls(&self.node_tls_dir(host), "server")
    }

    /// A user's TLS client material.
    pub fn user_tls(&self, user: &str) -> Result<TlsMaterial, CryptoError> {
        read_tls(&self.user_dir(user).join("tls"), "client")
    }

    /// The TLS CA certificate (PEM).
    pub fn tls_ca_pem(&self) -> Result<Vec<u8>, CryptoError> {
        read(&self.tls_ca_cert_path())
    }

    /// Issues a new client identity `<user>@<domain>` (MSP folder and TLS client
    /// certificate) with the org's CAs, as cryptogen's `Users` entries: for accounts added
    /// after the network was generated. Fails if it exists.
    pub fn add_user(&self, user: &str) -> Result<PathBuf, CryptoError> {
        let mut spec = self.spec.clone();
        spec.users = vec![user.to_owned()];
        spec.validate()?;
        if self.user_dir(user).exists() {
            return Err(CryptoError::Exists {
                path: self.user_dir(user),
            });
        }
        let cas = Cas::load(self)?;
        let w = Writer {
            org: self,
            validity: Validity::cryptogen_now(),
            alg: cas.alg,
        };
        w.identity(
            &cas,
            &self.user_dir(user),
            &self.user_name(user),
            "client",
            None,
        )?;
        Ok(self.user_msp_dir(user))
    }
}

/// Generates one organization under `base` (`<dir>/organizations`), as `cryptogen generate`
/// does with `EnableNodeOUs: true`. Refuses to overwrite an existing org folder.
pub fn generate(base: &Path, spec: &OrgSpec, alg: KeyAlgorithm) -> Result<OrgCrypto, CryptoError> {
    spec.validate()?;
    let org = OrgCrypto {
        spec: spec.clone(),
        dir: base.join(spec.kind_dir()).join(&spec.domain),
    };
    if org.dir.exists() {
        return Err(CryptoError::Exists { path: org.dir });
    }
    // Written next to its place and renamed into it: a crash never leaves half an org
    // where `OrgCrypto::load` would look.
    let partial = OrgCrypto {
        spec: spec.clone(),
        dir: base
            .join(spec.kind_dir())
            .join(format!(".{}.partial", spec.domain)),
    };
    if partial.dir.exists() {
        std::fs::remove_dir_all(&partial.dir).map_err(|source| CryptoError::Io {
            path: partial.dir.clone(),
            source,
        })?;
    }
    write_org(&partial, alg)?;
    std::fs::rename(&partial.dir, &org.dir).map_err(|source| CryptoError::Io {
        path: org.dir.clone(),
        source,
    })?;
    Ok(org)
}

fn write_org(org: &OrgCrypto, alg: KeyAlgorithm) -> Result<(), CryptoError> {
    let spec = &org.spec;
    let validity = Validity::cryptogen_now();
    let domain = &spec.domain;
    let ca = CaCert::generate(validity, domain, &format!("ca.{domain}"), alg)?;
    let tlsca = CaCert::generate(validity, domain, &format!("tlsca.{domain}"), alg)?;
    let cas = Cas { ca, tlsca, alg };
    let w = Writer { org, validity, alg };
    // The CAs themselves.
    w.file(&org.ca_cert_path(), cas.ca.cert_pem.as_bytes(), false)?;
    w.file(
        &org.dir.join("ca/priv_sk"),
        cas.ca.key.key.to_pkcs8_pem().as_bytes(),
        true,
    )?;
    w.file(
        &org.tls_ca_cert_path(),
        cas.tlsca.cert_pem.as_bytes(),
        false,
    )?;
    w.file(
        &org.dir.join("tlsca/priv_sk"),
        cas.tlsca.key.key.to_pkcs8_pem().as_bytes(),
        true,
    )?;
    // The org's verifying MSP.
    w.verifying_msp(&cas, &org.msp_dir())?;
    // Nodes, then users (Admin first, as cryptogen).
    for host in &spec.nodes {
        let name = org.node_name(host);
        let mut sans = vec![name.clone(), host.clone()];
        for s in &spec.sans {
            if !sans.contains(s) {
                sans.push(s.clone());
            }
        }
        w.identity(
            &cas,
            &org.node_dir(host),
            &name,
            spec.node_ou(),
            Some(&sans),
        )?;
    }
    w.identity(
        &cas,
        &org.user_dir("Admin"),
        &org.user_name("Admin"),
        "admin",
        None,
    )?;
    for user in &spec.users {
        w.identity(
            &cas,
            &org.user_dir(user),
            &org.user_name(user),
            "client",
            None,
        )?;
    }
    Ok(())
}

/// Generates every org of `specs` under `base`, or loads those that exist already.
pub fn generate_or_load(
    base: &Path,
    specs: &[OrgSpec],
    alg: KeyAlgorithm,
) -> Result<Vec<OrgCrypto>, CryptoError> {
    specs
        .iter()
        .map(|spec| {
            let dir = base.join(spec.kind_dir()).join(&spec.domain);
            if dir.exists() {
                OrgCrypto::load(base, spec)
            } else {
                generate(base, spec, alg)
            }
        })
        .collect()
}

/// An org's two CAs with their keys.
struct Cas {
    ca: CaCert,
    tlsca: CaCert,
    alg: KeyAlgorithm,
}

impl Cas {
    /// Reads the CAs back from `ca/` and `tlsca/` (to issue more identities).
    fn load(org: &OrgCrypto) -> Result<Self, CryptoError> {
        let load_one = |cert_path: PathBuf, dir: &str, cn: String| -> Result<CaCert, CryptoError> {
            let cert_pem = String::from_utf8(read(&cert_path)?).map_err(|_| {
                CryptoError::Certificate(format!("{} is not PEM text", cert_path.display()))
            })?;
            let key = CertKey::from_key(PrivateKey::from_pem(&read(
                &org.dir.join(dir).join("priv_sk"),
            )?)?);
            // The issuer name and key id are what leaves refer to; both are rebuilt from the
            // spec and the key exactly as they were generated.
            let params = CaCert::params(Validity::cryptogen_now(), &org.spec.domain, &cn, &key);
            Ok(CaCert {
                params,
                key,
                cert_pem,
            })
        };
        let domain = &org.spec.domain;
        let ca = load_one(org.ca_cert_path(), "ca", format!("ca.{domain}"))?;
        let tlsca = load_one(org.tls_ca_cert_path(), "tlsca", format!("tlsca.{domain}"))?;
        let alg = match ca.key.key {
            PrivateKey::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            PrivateKey::Ed25519(_) => KeyAlgorithm::Ed25519,
        };
        Ok(Self { ca, tlsca, alg })
    }
}

struct Writer<'a> {
    org: &'a OrgCrypto,
    validity: Validity,
    alg: KeyAlgorithm,
}

impl Writer<'_> {
    fn file(&self, path: &Path, bytes: &[u8], secret: bool) -> Result<(), CryptoError> {
        let io = |source| CryptoError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| CryptoError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, bytes).map_err(io)?;
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        #[cfg(not(unix))]
        let _ = secret;
        Ok(())
    }

    fn dir(&self, path: &Path) -> Result<(), CryptoError> {
        std::fs::create_dir_all(path).map_err(|source| CryptoError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// `admincerts/` (empty: NodeOUs), `cacerts/`, `tlscacerts/`, `config.yaml`.
    fn verifying_msp(&self, cas: &Cas, msp: &Path) -> Result<(), CryptoError> {
        let domain = &self.org.spec.domain;
        self.dir(&msp.join("admincerts"))?;
        let ca_file = format!("ca.{domain}-cert.pem");
        self.file(
            &msp.join("cacerts").join(&ca_file),
            cas.ca.cert_pem.as_bytes(),
            false,
        )?;
        self.file(
            &msp.join("tlscacerts")
                .join(format!("tlsca.{domain}-cert.pem")),
            cas.tlsca.cert_pem.as_bytes(),
            false,
        )?;
        self.file(
            &msp.join("config.yaml"),
            node_ous_yaml(&ca_file).as_bytes(),
            false,
        )
    }

    /// A node or user: `msp/` with its signing identity and `tls/` (server or client).
    fn identity(
        &self,
        cas: &Cas,
        dir: &Path,
        name: &str,
        ou: &str,
        node_sans: Option<&[String]>,
    ) -> Result<(), CryptoError> {
        let msp = dir.join("msp");
        self.verifying_msp(cas, &msp)?;
        let key = CertKey::generate(self.alg);
        let cert = cas.ca.issue(
            &Leaf {
                validity: self.validity,
                cn: name,
                ou: Some(ou),
                tls: false,
                sans: &[],
            },
            &key,
        )?;
        self.file(
            &msp.join("signcerts").join(format!("{name}-cert.pem")),
            cert.as_bytes(),
            false,
        )?;
        self.file(
            &msp.join("keystore/priv_sk"),
            key.key.to_pkcs8_pem().as_bytes(),
            true,
        )?;

        let tls = dir.join("tls");
        let tls_key = CertKey::generate(self.alg);
        let tls_cert = cas.tlsca.issue(
            &Leaf {
                validity: self.validity,
                cn: name,
                ou: None,
                tls: true,
                sans: node_sans.unwrap_or(&[]),
            },
            &tls_key,
        )?;
        let stem = if node_sans.is_some() {
            "server"
        } else {
            "client"
        };
        self.file(&tls.join("ca.crt"), cas.tlsca.cert_pem.as_bytes(), false)?;
        self.file(&tls.join(format!("{stem}.crt")), tls_cert.as_bytes(), false)?;
        self.file(
            &tls.join(format!("{stem}.key")),
            tls_key.key.to_pkcs8_pem().as_bytes(),
            true,
        )
    }
}

/// cryptogen's `config.yaml` with NodeOUs, byte for byte.
fn node_ous_yaml(ca_file: &str) -> String {
    let mut y = String::from("NodeOUs:\n  Enable: true\n");
    for (key, ou) in [
        ("ClientOUIdentifier", "client"),
        ("PeerOUIdentifier", "peer"),
        ("AdminOUIdentifier", "admin"),
        ("OrdererOUIdentifier", "orderer"),
    ] {
        y.push_str(&format!(
            "  {key}:\n    Certificate: cacerts/{ca_file}\n    OrganizationalUnitIdentifier: {ou}\n"
        ));
    }
    y
}

fn read(path: &Path) -> Result<Vec<u8>, CryptoError> {
    std::fs::read(path).map_err(|source| CryptoError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_tls(dir: &Path, stem: &str) -> Result<TlsMaterial, CryptoError> {
    Ok(TlsMaterial {
        cert_pem: read(&dir.join(format!("{stem}.crt")))?,
        key_pem: read(&dir.join(format!("{stem}.key")))?,
        ca_pem: read(&dir.join("ca.crt"))?,
    })
}

#[cfg(test)]
mod tests;
