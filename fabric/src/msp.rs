//! MSP folders, identities, and their validation against an MSP's roots of trust.
//!
//! An MSP folder in Fabric's layout (`signcerts/`, `keystore/`, `cacerts/`,
//! `intermediatecerts/`, `admincerts/`, `tlscacerts/`, `tlsintermediatecerts/`, `config.yaml`)
//! loads into an [`MspDir`]: the signing [`Identity`] and [`Signer`], and the [`MspConfig`]
//! (roots, NodeOUs) that a channel's config carries as `msp.FabricMSPConfig`. An
//! [`MspVerifier`] built from that config checks a `SerializedIdentity` as Fabric's X.509
//! MSP does (chain to a root through intermediates, no CA as identity, OU rules, NodeOU role)
//! and yields a [`ValidatedIdentity`] that verifies signatures and satisfies roles. An
//! [`MspManager`] holds a channel's verifiers by MSP ID and remembers the identities they
//! validated (Fabric's MSP cache, [`cache`]). Transaction and proposal checks reach
//! identities through [`IdentityValidator`], which a node can wrap.

pub mod cache;
pub mod pem;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message as _;
use sha2::{Digest as _, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;
use x509_parser::time::ASN1Time;

use crate::error::MspError;
use crate::protos::msp as pb;
use crate::signer::{PrivateKey, PublicKey, Signer};

/// The deepest certificate chain we walk (leaf, intermediates, root).
const MAX_CHAIN_DEPTH: usize = 8;

/// An MSP identity: an MSP ID and an X.509 certificate.
///
/// `cert_pem` is what goes into `SerializedIdentity.id_bytes`. When built from a file it is
/// re-encoded exactly as Fabric's Go code encodes it, so the serialized bytes (and therefore
/// tx ids and endorser de-duplication) match what a Fabric SDK produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The MSP the identity belongs to, e.g. `Org1MSP`.
    msp_id: String,
    /// The certificate, PEM, as serialized.
    cert_pem: Vec<u8>,
    /// The certificate, DER.
    cert_der: Vec<u8>,
}

impl Identity {
    /// An identity from the first certificate in a PEM text (re-encoded in Go's layout).
    pub fn from_pem(msp_id: impl Into<String>, pem_text: &[u8]) -> Result<Self, MspError> {
        let der = first_cert_der(pem_text, "identity")?;
        Self::from_der(msp_id, der)
    }

    /// An identity from a DER certificate.
    pub fn from_der(msp_id: impl Into<String>, der: Vec<u8>) -> Result<Self, MspError> {
        parse_cert(&der, "identity")?;
        Ok(Self {
            msp_id: msp_id.into(),
            cert_pem: pem::encode("CERTIFICATE", &der).into_bytes(),
            cert_der: der,
        })
    }

    /// Decodes `msp.SerializedIdentity` bytes (a creator or endorser field). `id_bytes` is
    /// kept exactly as received.
    pub fn from_serialized(bytes: &[u8]) -> Result<Self, MspError> {
        let sid = pb::SerializedIdentity::decode(bytes)?;
        let der = first_cert_der(&sid.id_bytes, "serialized identity")?;
        parse_cert(&der, "serialized identity")?;
        Ok(Self {
            msp_id: sid.mspid,
            cert_pem: sid.id_bytes,
            cert_der: der,
        })
    }

    /// The MSP ID.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// The certificate as serialized (PEM).
    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate's public key.
    pub fn public_key(&self) -> Result<PublicKey, MspError> {
        let cert = parse_cert(&self.cert_der, "identity")?;
        Ok(PublicKey::from_spki_der(cert.public_key().raw)?)
    }

    /// The `msp.SerializedIdentity` message.
    pub fn to_proto(&self) -> pb::SerializedIdentity {
        pb::SerializedIdentity {
            mspid: self.msp_id.clone(),
            id_bytes: self.cert_pem.clone(),
        }
    }

    /// The `msp.SerializedIdentity` bytes: `SignatureHeader.creator`, `Endorsement.endorser`.
    pub fn serialize(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }
}

/// One OU identifier of an MSP configuration (`config.yaml`'s `OrganizationalUnitIdentifiers`
/// entries and NodeOU identifiers; `msp.FabricOUIdentifier` on the wire).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OuIdentifierConfig {
    /// PEM of the CA (root or intermediate) that must have issued the identity; empty means
    /// any CA of the MSP.
    pub certificate: Vec<u8>,
    /// The OU value, e.g. `client`.
    pub organizational_unit_identifier: String,
}

/// NodeOU classification (`config.yaml`'s `NodeOUs`; `msp.FabricNodeOUs` on the wire).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeOusConfig {
    /// Whether identities must carry exactly one NodeOU and roles come from it.
    pub enable: bool,
    /// OU of client identities.
    pub client: Option<OuIdentifierConfig>,
    /// OU of peer identities.
    pub peer: Option<OuIdentifierConfig>,
    /// OU of admin identities.
    pub admin: Option<OuIdentifierConfig>,
    /// OU of orderer identities.
    pub orderer: Option<OuIdentifierConfig>,
}

/// What a verifier needs to know about an MSP: the content of `msp.FabricMSPConfig` that
/// sfcbc uses. Certificates are PEM, one per entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MspConfig {
    /// The MSP ID (`FabricMSPConfig.name`).
    pub msp_id: String,
    /// Root CA certificates.
    pub root_certs: Vec<Vec<u8>>,
    /// Intermediate CA certificates.
    pub intermediate_certs: Vec<Vec<u8>>,
    /// Explicit admin certificates (`admincerts/`; empty with NodeOUs).
    pub admins: Vec<Vec<u8>>,
    /// TLS root CA certificates.
    pub tls_root_certs: Vec<Vec<u8>>,
    /// TLS intermediate CA certificates.
    pub tls_intermediate_certs: Vec<Vec<u8>>,
    /// OUs of which an identity must carry one (empty: no restriction).
    pub organizational_unit_identifiers: Vec<OuIdentifierConfig>,
    /// NodeOU classification.
    pub node_ous: Option<NodeOusConfig>,
}

impl MspConfig {
    /// The `msp.FabricMSPConfig` message a channel config carries for this MSP (hash
    /// function SHA256, signature hash family SHA2, as cryptogen/configtxgen set them).
    pub fn to_proto(&self) -> pb::FabricMspConfig {
        fn ou(c: &OuIdentifierConfig) -> pb::FabricOuIdentifier {
            pb::FabricOuIdentifier {
                certificate: c.certificate.clone(),
                organizational_unit_identifier: c.organizational_unit_identifier.clone(),
            }
        }
        pb::FabricMspConfig {
            name: self.msp_id.clone(),
            root_certs: self.root_certs.clone(),
            intermediate_certs: self.intermediate_certs.clone(),
            admins: self.admins.clone(),
            revocation_list: Vec::new(),
            signing_identity: None,
            organizational_unit_identifiers: self
                .organizational_unit_identifiers
                .iter()
                .map(ou)
                .collect(),
            crypto_config: Some(pb::FabricCryptoConfig {
                signature_hash_family: "SHA2".into(),
                identity_identifier_hash_function: "SHA256".into(),
            }),
            tls_root_certs: self.tls_root_certs.clone(),
            tls_intermediate_certs: self.tls_intermediate_certs.clone(),
            fabric_node_ous: self.node_ous.as_ref().map(|n| pb::FabricNodeOUs {
                enable: n.enable,
                client_ou_identifier: n.client.as_ref().map(ou),
                peer_ou_identifier: n.peer.as_ref().map(ou),
                admin_ou_identifier: n.admin.as_ref().map(ou),
                orderer_ou_identifier: n.orderer.as_ref().map(ou),
            }),
        }
    }

    /// Reads the fields sfcbc uses from `msp.FabricMSPConfig`.
    pub fn from_proto(config: &pb::FabricMspConfig) -> Self {
        fn ou(c: &pb::FabricOuIdentifier) -> OuIdentifierConfig {
            OuIdentifierConfig {
                certificate: c.certificate.clone(),
                organizational_unit_identifier: c.organizational_unit_identifier.clone(),
            }
        }
        Self {
            msp_id: config.name.clone(),
            root_certs: config.root_certs.clone(),
            intermediate_certs: config.intermediate_certs.clone(),
            admins: config.admins.clone(),
            tls_root_certs: config.tls_root_certs.clone(),
            tls_intermediate_certs: config.tls_intermediate_certs.clone(),
            organizational_unit_identifiers: config
                .organizational_unit_identifiers
                .iter()
                .map(ou)
                .collect(),
            node_ous: config.fabric_node_ous.as_ref().map(|n| NodeOusConfig {
                enable: n.enable,
                client: n.client_ou_identifier.as_ref().map(ou),
                peer: n.peer_ou_identifier.as_ref().map(ou),
                admin: n.admin_ou_identifier.as_ref().map(ou),
                orderer: n.orderer_ou_identifier.as_ref().map(ou),
            }),
        }
    }
}

/// `config.yaml` of an MSP folder, as Fabric's `msp.Configuration` reads it.
#[derive(Debug, Default, serde::Deserialize)]
struct ConfigYaml {
    #[serde(rename = "OrganizationalUnitIdentifiers", default)]
    organizational_unit_identifiers: Option<Vec<OuYaml>>,
    #[serde(rename = "NodeOUs", default)]
    node_ous: Option<NodeOusYaml>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct OuYaml {
    #[serde(rename = "Certificate", default)]
    certificate: Option<String>,
    #[serde(rename = "OrganizationalUnitIdentifier", default)]
    organizational_unit_identifier: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct NodeOusYaml {
    #[serde(rename = "Enable", default)]
    enable: bool,
    #[serde(rename = "ClientOUIdentifier", default)]
    client: Option<OuYaml>,
    #[serde(rename = "PeerOUIdentifier", default)]
    peer: Option<OuYaml>,
    #[serde(rename = "AdminOUIdentifier", default)]
    admin: Option<OuYaml>,
    #[serde(rename = "OrdererOUIdentifier", default)]
    orderer: Option<OuYaml>,
}

/// An MSP folder in Fabric's layout, loaded.
#[derive(Clone, Debug)]
pub struct MspDir {
    /// The folder it was loaded from.
    pub path: PathBuf,
    /// Roots, intermediates, admins, TLS roots and OU rules (without the MSP ID, which an
    /// MSP folder does not record: it comes from core.yaml / the client profile).
    pub config: MspConfig,
    /// The certificate in `signcerts/` (PEM), if any. Verifying-only MSPs (an org's
    /// top-level `msp/`) have none.
    pub sign_cert: Option<Vec<u8>>,
    /// The private keys found in `keystore/` (PEM), in file-name order.
    keys: Vec<(PathBuf, Vec<u8>)>,
}

impl MspDir {
    /// Loads an MSP folder. `cacerts/` must hold at least one certificate; every other folder
    /// and `config.yaml` are optional.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, MspError> {
        let path = path.as_ref().to_path_buf();
        let root_certs = read_cert_dir(&path.join("cacerts"))?;
        if root_certs.is_empty() {
            return Err(MspError::Missing {
                dir: path,
                what: "CA certificate in cacerts/",
            });
        }
        let intermediate_certs = read_cert_dir(&path.join("intermediatecerts"))?;
        let admins = read_cert_dir(&path.join("admincerts"))?;
        let tls_root_certs = read_cert_dir(&path.join("tlscacerts"))?;
        let tls_intermediate_certs = read_cert_dir(&path.join("tlsintermediatecerts"))?;
        let sign_cert = read_cert_dir(&path.join("signcerts"))?.into_iter().next();
        let keys = read_dir_files(&path.join("keystore"))?;

        let config_path = path.join("config.yaml");
        let yaml: ConfigYaml = match std::fs::read(&config_path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => ConfigYaml::default(),
            Ok(bytes) => serde_yaml::from_slice(&bytes).map_err(|e| MspError::Config {
                path: config_path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigYaml::default(),
            Err(source) => {
                return Err(MspError::Io {
                    path: config_path,
                    source,
                });
            }
        };
        let read_ou = |ou: &OuYaml| -> Result<OuIdentifierConfig, MspError> {
            let certificate = match ou.certificate.as_deref() {
                Some(rel) if !rel.is_empty() => {
                    let p = path.join(rel);
                    std::fs::read(&p).map_err(|source| MspError::Io { path: p, source })?
                }
                _ => Vec::new(),
            };
            Ok(OuIdentifierConfig {
                certificate,
                organizational_unit_identifier: ou
                    .organizational_unit_identifier
                    .clone()
                    .unwrap_or_default(),
            })
        };
        let organizational_unit_identifiers = yaml
            .organizational_unit_identifiers
            .iter()
            .flatten()
            .map(read_ou)
            .collect::<Result<Vec<_>, _>>()?;
        let node_ous = match &yaml.node_ous {
            None => None,
            Some(n) => Some(NodeOusConfig {
                enable: n.enable,
                client: n.client.as_ref().map(read_ou).transpose()?,
                peer: n.peer.as_ref().map(read_ou).transpose()?,
                admin: n.admin.as_ref().map(read_ou).transpose()?,
                orderer: n.orderer.as_ref().map(read_ou).transpose()?,
            }),
        };
        Ok(Self {
            path,
            config: MspConfig {
                msp_id: String::new(),
                root_certs,
                intermediate_certs,
                admins,
                tls_root_certs,
                tls_intermediate_certs,
                organizational_unit_identifiers,
                node_ous,
            },
            sign_cert,
            keys,
        })
    }

    /// The signing identity of this folder (`signcerts/`) under `msp_id`.
    pub fn identity(&self, msp_id: &str) -> Result<Identity, MspError> {
        let pem = self.sign_cert.as_ref().ok_or_else(|| MspError::Missing {
            dir: self.path.clone(),
            what: "signing certificate in signcerts/",
        })?;
        Identity::from_pem(msp_id, pem)
    }

    /// The signer of this folder: `signcerts/` and the `keystore/` key that matches it
    /// (cryptogen names it `priv_sk`, fabric-ca `<ski>_sk`; we match by public key).
    pub fn signer(&self, msp_id: &str) -> Result<Signer, MspError> {
        let identity = self.identity(msp_id)?;
        let want = identity.public_key()?;
        let mut last_err = None;
        for (path, bytes) in &self.keys {
            match PrivateKey::from_pem(bytes) {
                Ok(key) if key.public_key() == want => return Signer::new(identity, key),
                Ok(_) => {}
                Err(e) => last_err = Some((path.clone(), e)),
            }
        }
        match last_err {
            // One unreadable key and nothing else: say why it was unreadable.
            Some((_, e)) if self.keys.len() == 1 => Err(e.into()),
            _ => Err(MspError::NoMatchingKey {
                dir: self.path.join("keystore"),
            }),
        }
    }

    /// The MSP configuration under `msp_id` (for a channel config or a verifier).
    pub fn msp_config(&self, msp_id: &str) -> MspConfig {
        MspConfig {
            msp_id: msp_id.to_string(),
            ..self.config.clone()
        }
    }

    /// A verifier for identities of this MSP.
    pub fn verifier(&self, msp_id: &str) -> Result<MspVerifier, MspError> {
        MspVerifier::new(&self.msp_config(msp_id))
    }

    /// Writes an MSP folder in cryptogen's layout: `cacerts/`, `intermediatecerts/`,
    /// `admincerts/`, `tlscacerts/`, `tlsintermediatecerts/` (one `cert-<n>.pem` each; empty
    /// folders are left out, as cryptogen leaves them out), `config.yaml` with the OU rules
    /// and NodeOUs (each `Certificate:` pointing at the file holding that CA), and, for a
    /// signer, `signcerts/cert.pem` and `keystore/priv_sk` (PKCS#8). `config.msp_id` is not
    /// written: an MSP folder does not record it. [`MspDir::load`] reads it back.
    pub fn write(
        path: impl AsRef<Path>,
        config: &MspConfig,
        signer: Option<&Signer>,
    ) -> Result<(), MspError> {
        let path = path.as_ref();
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| MspError::Io { path: p, source }
        };
        let write = |rel: &str, bytes: &[u8]| -> Result<(), MspError> {
            let file = path.join(rel);
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::write(&file, bytes).map_err(io(&file))
        };
        let mut ca_files: Vec<(String, &[u8])> = Vec::new();
        for (dir, certs) in [
            ("cacerts", &config.root_certs),
            ("intermediatecerts", &config.intermediate_certs),
            ("admincerts", &config.admins),
            ("tlscacerts", &config.tls_root_certs),
            ("tlsintermediatecerts", &config.tls_intermediate_certs),
        ] {
            for (i, pem_text) in certs.iter().enumerate() {
                let rel = format!("{dir}/cert-{i}.pem");
                write(&rel, pem_text)?;
                if dir == "cacerts" || dir == "intermediatecerts" {
                    ca_files.push((rel, pem_text));
                }
            }
        }
        // config.yaml refers to OU certificates by file; find the CA file holding each.
        let ou_yaml = |ou: &OuIdentifierConfig, indent: &str| -> Result<String, MspError> {
            let mut y = String::new();
            if !ou.certificate.is_empty() {
                let want = first_cert_der(&ou.certificate, "OU identifier certificate")?;
                let file = ca_files
                    .iter()
                    .find(|(_, pem_text)| {
                        first_cert_der(pem_text, "CA").is_ok_and(|der| der == want)
                    })
                    .map(|(rel, _)| rel.clone())
                    .ok_or_else(|| MspError::Invalid {
                        msp_id: config.msp_id.clone(),
                        reason: format!(
                            "the certificate of OU `{}` is not among the MSP's root or \
                             intermediate certificates",
                            ou.organizational_unit_identifier
                        ),
                    })?;
                y.push_str(&format!("{indent}Certificate: {file}\n"));
            }
            y.push_str(&format!(
                "{indent}OrganizationalUnitIdentifier: {}\n",
                yaml_string(&ou.organizational_unit_identifier)
            ));
            Ok(y)
        };
        let mut yaml = String::new();
        if !config.organizational_unit_identifiers.is_empty() {
            yaml.push_str("OrganizationalUnitIdentifiers:\n");
            for ou in &config.organizational_unit_identifiers {
                let entry = ou_yaml(ou, "    ")?;
                yaml.push_str("  -");
                yaml.push_str(&entry[3..]);
            }
        }
        if let Some(n) = &config.node_ous {
            yaml.push_str(&format!("NodeOUs:\n  Enable: {}\n", n.enable));
            for (key, ou) in [
                ("ClientOUIdentifier", &n.client),
                ("PeerOUIdentifier", &n.peer),
                ("AdminOUIdentifier", &n.admin),
                ("OrdererOUIdentifier", &n.orderer),
            ] {
                if let Some(ou) = ou {
                    yaml.push_str(&format!("  {key}:\n"));
                    yaml.push_str(&ou_yaml(ou, "    ")?);
                }
            }
        }
        if !yaml.is_empty() {
            write("config.yaml", yaml.as_bytes())?;
        }
        if let Some(signer) = signer {
            write("signcerts/cert.pem", signer.identity().cert_pem())?;
            write("keystore/priv_sk", signer.key().to_pkcs8_pem().as_bytes())?;
        }
        Ok(())
    }
}

/// A YAML double-quoted scalar (OU values may hold any text).
fn yaml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn read_dir_files(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, MspError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(MspError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| MspError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = entry.path();
        if p.is_file() {
            paths.push(p);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| match std::fs::read(&p) {
            Ok(b) => Ok((p, b)),
            Err(source) => Err(MspError::Io { path: p, source }),
        })
        .collect()
}

/// Every certificate of every file in `dir`, each as its own Go-layout PEM.
fn read_cert_dir(dir: &Path) -> Result<Vec<Vec<u8>>, MspError> {
    let mut out = Vec::new();
    for (path, bytes) in read_dir_files(dir)? {
        let blocks = pem::decode_all(&bytes);
        let mut found = false;
        for b in blocks.into_iter().filter(|b| b.label == "CERTIFICATE") {
            parse_cert(&b.contents, &path.display().to_string())?;
            out.push(pem::encode("CERTIFICATE", &b.contents).into_bytes());
            found = true;
        }
        if !found {
            return Err(MspError::Certificate {
                what: path.display().to_string(),
                reason: "no CERTIFICATE PEM block".into(),
            });
        }
    }
    Ok(out)
}

fn first_cert_der(pem_text: &[u8], what: &str) -> Result<Vec<u8>, MspError> {
    pem::decode_all(pem_text)
        .into_iter()
        .find(|b| b.label == "CERTIFICATE")
        .map(|b| b.contents)
        .ok_or_else(|| MspError::Certificate {
            what: what.into(),
            reason: "could not decode the PEM structure".into(),
        })
}

fn parse_cert<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, MspError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(MspError::Certificate {
            what: what.into(),
            reason: "trailing bytes after the certificate".into(),
        }),
        Err(e) => Err(MspError::Certificate {
            what: what.into(),
            reason: e.to_string(),
        }),
    }
}

/// A role an identity can have in an MSP (`msp.MSPRole.MSPRoleType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MspRole {
    /// Any valid identity of the MSP.
    Member,
    /// An admin: listed in `admincerts/` or carrying the admin NodeOU.
    Admin,
    /// A client (NodeOU).
    Client,
    /// A peer (NodeOU).
    Peer,
    /// An orderer (NodeOU).
    Orderer,
}

impl MspRole {
    /// The `MSPRoleType` number on the wire.
    pub fn to_proto(self) -> i32 {
        match self {
            Self::Member => 0,
            Self::Admin => 1,
            Self::Client => 2,
            Self::Peer => 3,
            Self::Orderer => 4,
        }
    }

    /// The role for an `MSPRoleType` number.
    pub fn from_proto(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::Member,
            1 => Self::Admin,
            2 => Self::Client,
            3 => Self::Peer,
            4 => Self::Orderer,
            _ => return None,
        })
    }

    /// The policy-language name (`member`, `admin`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Client => "client",
            Self::Peer => "peer",
            Self::Orderer => "orderer",
        }
    }
}

impl std::fmt::Display for MspRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When to check certificate validity periods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValidityTime {
    /// As Fabric's MSP does: the chain is checked at the identity certificate's `NotBefore`
    /// plus one second, so an expired identity still validates (Fabric checks expiry
    /// elsewhere, e.g. the gateway and orderer refuse expired client certificates).
    #[default]
    AsFabric,
    /// At this Unix time (seconds): every certificate of the chain must be valid then.
    At(i64),
}

/// An OU rule resolved to the certifiers identifier Fabric compares.
#[derive(Clone, Debug)]
struct OuRule {
    ou: String,
    /// SHA-256 over the certification chain of the rule's CA; `None` = any CA.
    certifier: Option<Vec<u8>>,
}

/// A CA certificate kept as DER; parsed on use (x509-parser borrows from its input).
#[derive(Clone, Debug)]
struct CaCert {
    der: Vec<u8>,
}

/// Validates identities of one MSP, as Fabric's X.509 MSP (`bccspmsp`, v1.4.3+ rules) does.
///
/// Not implemented: certificate revocation lists, Idemix MSPs, and the legacy name-constraint
/// checks; CA certificate signatures are not re-encoded to low-S as Fabric's
/// `sanitizeCert` does (only relevant when comparing certifier hashes computed by Fabric).
#[derive(Clone, Debug)]
pub struct MspVerifier {
    /// The MSP ID identities must carry.
    msp_id: String,
    /// Trust anchors.
    roots: Vec<CaCert>,
    /// Intermediate CAs an identity may chain through.
    intermediates: Vec<CaCert>,
    /// DER of explicitly listed admin certificates.
    admins: Vec<Vec<u8>>,
    /// `OrganizationalUnitIdentifiers`: an identity must carry one of these (if any).
    ou_rules: Vec<OuRule>,
    /// NodeOU rules when enabled: (role, rule).
    node_ous: Option<Vec<(MspRole, OuRule)>>,
}

impl MspVerifier {
    /// Builds a verifier from an MSP configuration. Fails on unparsable certificates and on
    /// OU certificates that are not among the MSP's CAs (as Fabric's MSP setup does).
    pub fn new(config: &MspConfig) -> Result<Self, MspError> {
        let mut roots = Vec::new();
        for (i, pem_text) in config.root_certs.iter().enumerate() {
            let der = first_cert_der(pem_text, &format!("root CA {i}"))?;
            let cert = parse_cert(&der, &format!("root CA {i}"))?;
            if !cert.is_ca() {
                return Err(MspError::Certificate {
                    what: format!("root CA {i}"),
                    reason: "not a CA certificate (basicConstraints CA is false)".into(),
                });
            }
            roots.push(CaCert { der });
        }
        if roots.is_empty() {
            return Err(MspError::Invalid {
                msp_id: config.msp_id.clone(),
                reason: "the MSP configuration has no root CA certificate".into(),
            });
        }
        let mut intermediates = Vec::new();
        for (i, pem_text) in config.intermediate_certs.iter().enumerate() {
            let der = first_cert_der(pem_text, &format!("intermediate CA {i}"))?;
            parse_cert(&der, &format!("intermediate CA {i}"))?;
            intermediates.push(CaCert { der });
        }
        let mut admins = Vec::new();
        for (i, pem_text) in config.admins.iter().enumerate() {
            admins.push(first_cert_der(pem_text, &format!("admin {i}"))?);
        }
        let mut this = Self {
            msp_id: config.msp_id.clone(),
            roots,
            intermediates,
            admins,
            ou_rules: Vec::new(),
            node_ous: None,
        };
        this.ou_rules = config
            .organizational_unit_identifiers
            .iter()
            .map(|o| this.ou_rule(o))
            .collect::<Result<_, _>>()?;
        if let Some(n) = config.node_ous.as_ref().filter(|n| n.enable) {
            let mut rules = Vec::new();
            for (role, ou) in [
                (MspRole::Client, &n.client),
                (MspRole::Peer, &n.peer),
                (MspRole::Admin, &n.admin),
                (MspRole::Orderer, &n.orderer),
            ] {
                if let Some(ou) = ou {
                    rules.push((role, this.ou_rule(ou)?));
                }
            }
            this.node_ous = Some(rules);
        }
        Ok(this)
    }

    /// A verifier from the `msp.FabricMSPConfig` of a channel config.
    pub fn from_proto(config: &pb::FabricMspConfig) -> Result<Self, MspError> {
        Self::new(&MspConfig::from_proto(config))
    }

    /// The MSP ID.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// Whether NodeOU classification is enabled.
    pub fn node_ous_enabled(&self) -> bool {
        self.node_ous.is_some()
    }

    fn ou_rule(&self, c: &OuIdentifierConfig) -> Result<OuRule, MspError> {
        let certifier = if c.certificate.is_empty() {
            None
        } else {
            let der = first_cert_der(&c.certificate, "OU identifier certificate")?;
            let chain = if self.roots.iter().any(|r| r.der == der) {
                vec![der]
            } else if self.intermediates.iter().any(|r| r.der == der) {
                self.chain(&der, ValidityTime::AsFabric)?
            } else {
                return Err(MspError::Invalid {
                    msp_id: self.msp_id.clone(),
                    reason: format!(
                        "the certificate of OU `{}` is not among the MSP's root or intermediate \
                         certificates",
                        c.organizational_unit_identifier
                    ),
                });
            };
            Some(chain_id(&chain))
        };
        Ok(OuRule {
            ou: c.organizational_unit_identifier.clone(),
            certifier,
        })
    }

    fn invalid(&self, reason: impl Into<String>) -> MspError {
        MspError::Invalid {
            msp_id: self.msp_id.clone(),
            reason: reason.into(),
        }
    }

    /// The validation chain of `leaf_der`: `[leaf, issuer, ..., root]` (DER each).
    fn chain(&self, leaf_der: &[u8], when: ValidityTime) -> Result<Vec<Vec<u8>>, MspError> {
        let leaf = parse_cert(leaf_der, "identity")?;
        let at = match when {
            ValidityTime::AsFabric => leaf.validity().not_before.timestamp() + 1,
            ValidityTime::At(t) => t,
        };
        let at = ASN1Time::from_timestamp(at).map_err(|e| self.invalid(e.to_string()))?;
        let check_time = |c: &X509Certificate<'_>, what: &str| -> Result<(), MspError> {
            if c.validity().is_valid_at(at) {
                Ok(())
            } else {
                Err(self.invalid(format!(
                    "{what} `{}` is not valid at {at} (valid {} to {})",
                    c.subject(),
                    c.validity().not_before,
                    c.validity().not_after
                )))
            }
        };
        check_time(&leaf, "certificate")?;
        let mut chain = vec![leaf_der.to_vec()];
        let mut current_der = leaf_der.to_vec();
        for _ in 0..MAX_CHAIN_DEPTH {
            let current = parse_cert(&current_der, "chain certificate")?;
            // A root reached (the certificate itself is a trust anchor).
            if chain.len() > 1 && self.roots.iter().any(|r| r.der == current_der) {
                return Ok(chain);
            }
            let issuer_raw = current.issuer().as_raw();
            let mut next = None;
            for ca in self.intermediates.iter().chain(self.roots.iter()) {
                if ca.der == current_der {
                    continue;
                }
                let ca_cert = parse_cert(&ca.der, "CA")?;
                if ca_cert.subject().as_raw() != issuer_raw {
                    continue;
                }
                if current.verify_signature(Some(ca_cert.public_key())).is_ok() {
                    if !ca_cert.is_ca() {
                        return Err(self.invalid(format!(
                            "issuer `{}` is not a CA certificate",
                            ca_cert.subject()
                        )));
                    }
                    check_time(&ca_cert, "CA certificate")?;
                    next = Some(ca.der.clone());
                    break;
                }
            }
            match next {
                Some(der) => {
                    chain.push(der.clone());
                    current_der = der;
                }
                None => {
                    return Err(self.invalid(format!(
                        "no CA of the MSP issued `{}` (issuer `{}`), or its signature does \
                         not verify",
                        current.subject(),
                        current.issuer()
                    )));
                }
            }
        }
        Err(self.invalid("certificate chain too long"))
    }

    /// Validates a serialized identity (`msp.SerializedIdentity` bytes) of this MSP.
    pub fn validate_serialized(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        let identity = Identity::from_serialized(serialized)?;
        self.validate(&identity, when)
    }

    /// Validates an identity of this MSP: MSP ID, chain to a root, not a CA, OU rules,
    /// NodeOU classification; then records which roles it satisfies.
    pub fn validate(
        &self,
        identity: &Identity,
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        if identity.msp_id() != self.msp_id {
            return Err(MspError::WrongMsp {
                expected: self.msp_id.clone(),
                got: identity.msp_id().to_string(),
            });
        }
        let der = identity.cert_der();
        let cert = parse_cert(der, "identity")?;
        let public_key = PublicKey::from_spki_der(cert.public_key().raw)?;
        if cert.is_ca() {
            return Err(self.invalid(
                "an X509 certificate with Basic Constraint: Certificate Authority equals true \
                 cannot be used as an identity",
            ));
        }
        let chain = self.chain(der, when)?;
        let certifier = chain_id(&chain[1..]);
        let ous: Vec<String> = cert
            .subject()
            .iter_organizational_unit()
            .filter_map(|a| a.as_str().ok().map(str::to_string))
            .collect();
        let has_ou = |rule: &OuRule| {
            ous.iter()
                .any(|o| *o == rule.ou && rule.certifier.as_ref().is_none_or(|c| *c == certifier))
        };

        // OrganizationalUnitIdentifiers (Fabric's validateIdentityOUsV1; Fabric requires a
        // certificate in each rule, we treat a rule without one as "any CA of the MSP").
        if !self.ou_rules.is_empty() {
            let ok = self.ou_rules.iter().any(has_ou);
            if !ok {
                return Err(self.invalid(if ous.is_empty() {
                    "the identity certificate does not contain an Organizational Unit (OU)"
                        .to_string()
                } else {
                    format!("none of the identity's organizational units {ous:?} are in the MSP")
                }));
            }
        }

        // NodeOUs (Fabric's validateIdentityOUsV142): exactly one node OU.
        let mut roles = Vec::new();
        if let Some(rules) = &self.node_ous {
            let mut found: Option<MspRole> = None;
            for o in &ous {
                if let Some((role, rule)) = rules.iter().find(|(_, r)| r.ou == *o) {
                    if rule.certifier.as_ref().is_some_and(|c| *c != certifier) {
                        return Err(self
                            .invalid(format!("certifiersIdentifier does not match for OU `{o}`")));
                    }
                    if found.is_some() {
                        return Err(self.invalid(format!(
                            "the identity must have a client, a peer, an orderer, or an admin \
                             OU role to be valid, not a combination of them. OUs: {ous:?}"
                        )));
                    }
                    found = Some(*role);
                }
            }
            if found.is_none() {
                return Err(self.invalid(format!(
                    "the identity does not have an OU that resolves to client, peer, orderer, \
                     or admin role. OUs: {ous:?}"
                )));
            }
            for (role, rule) in rules {
                if has_ou(rule) && !roles.contains(role) {
                    roles.push(*role);
                }
            }
        }
        let listed_admin = self.admins.iter().any(|a| a == der);
        if listed_admin && !roles.contains(&MspRole::Admin) {
            roles.push(MspRole::Admin);
        }
        roles.push(MspRole::Member);
        roles.sort();
        Ok(ValidatedIdentity {
            identity: identity.clone(),
            public_key,
            ous,
            certifier,
            roles,
        })
    }
}

/// Fabric's certification chain identifier: SHA-256 over the DER of each certificate.
fn chain_id(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut h = Sha256::new();
    for c in chain {
        h.update(c);
    }
    h.finalize().to_vec()
}

/// An identity that an [`MspVerifier`] validated.
#[derive(Clone, Debug)]
pub struct ValidatedIdentity {
    /// The identity as received.
    pub identity: Identity,
    /// Its public key.
    pub public_key: PublicKey,
    /// The subject's OU values.
    pub ous: Vec<String>,
    /// Fabric's certifiers identifier of the identity (hash of its chain without the leaf).
    pub certifier: Vec<u8>,
    /// The roles it satisfies, sorted (always includes `Member`).
    pub roles: Vec<MspRole>,
}

impl ValidatedIdentity {
    /// The MSP ID.
    pub fn msp_id(&self) -> &str {
        self.identity.msp_id()
    }

    /// Whether the identity satisfies `role` in its MSP.
    pub fn has_role(&self, role: MspRole) -> bool {
        self.roles.contains(&role)
    }

    /// Verifies a signature made by this identity (see [`PublicKey::verify`]).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), crate::error::CryptoError> {
        self.public_key.verify(msg, sig)
    }
}

/// A channel's MSPs by ID (Fabric's MSP manager): validates any member's identity, and
/// remembers what it validated as Fabric's cached MSPs do ([`cache`]).
#[derive(Clone, Debug, Default)]
pub struct MspManager {
    /// Verifiers by MSP ID.
    msps: BTreeMap<String, MspVerifier>,
    /// Identities these MSPs validated (emptied whenever an MSP is added or replaced).
    cache: cache::IdentityCache,
}

impl MspManager {
    /// An empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an MSP.
    pub fn insert(&mut self, verifier: MspVerifier) {
        self.cache.clear();
        self.msps.insert(verifier.msp_id().to_string(), verifier);
    }

    /// The verifier of `msp_id`.
    pub fn get(&self, msp_id: &str) -> Option<&MspVerifier> {
        self.msps.get(msp_id)
    }

    /// The MSP IDs, sorted.
    pub fn msp_ids(&self) -> impl Iterator<Item = &str> {
        self.msps.keys().map(String::as_str)
    }

    /// Deserializes and validates `msp.SerializedIdentity` bytes with the MSP they name.
    /// A success under [`ValidityTime::AsFabric`] is remembered: the same bytes validate
    /// again without parsing the certificate or walking its chain.
    pub fn validate_serialized(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        let cacheable = when == ValidityTime::AsFabric;
        if cacheable && let Some(id) = self.cache.get(serialized) {
            return Ok(id);
        }
        let id = self.validate_serialized_uncached(serialized, when)?;
        if cacheable {
            self.cache.insert(serialized, id.clone());
        }
        Ok(id)
    }

    /// [`MspManager::validate_serialized`] without the cache: always parses and validates.
    pub fn validate_serialized_uncached(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        let identity = Identity::from_serialized(serialized)?;
        let verifier = self
            .msps
            .get(identity.msp_id())
            .ok_or_else(|| MspError::UnknownMsp(identity.msp_id().to_string()))?;
        verifier.validate(&identity, when)
    }

    /// The identities remembered so far.
    pub fn cache(&self) -> &cache::IdentityCache {
        &self.cache
    }
}

/// Where transaction and proposal checks ([`crate::tx`]) get validated identities and
/// signature checks from. [`MspManager`] is the usual one; a node wraps it to change how
/// signatures are checked (devnet remembers checks that its peers, all in one process,
/// share) or where identities come from.
pub trait IdentityValidator {
    /// Deserializes and validates `msp.SerializedIdentity` bytes with the MSP they name.
    fn validate_serialized(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError>;

    /// Verifies a signature made by `identity` (see [`PublicKey::verify`]).
    fn verify(
        &self,
        identity: &ValidatedIdentity,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), crate::error::CryptoError> {
        identity.verify(msg, sig)
    }
}

impl IdentityValidator for MspManager {
    fn validate_serialized(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        MspManager::validate_serialized(self, serialized, when)
    }
}

impl FromIterator<MspVerifier> for MspManager {
    fn from_iter<T: IntoIterator<Item = MspVerifier>>(iter: T) -> Self {
        let mut m = Self::new();
        for v in iter {
            m.insert(v);
        }
        m
    }
}
