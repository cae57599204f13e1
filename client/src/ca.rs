//! A Fabric CA client: the REST API that `fabric-ca-client` 1.5 speaks to `fabric-ca-server`
//! (hyperledger/fabric-ca `lib/client.go`, `lib/identity.go`, `util/util.go`), and the MSP
//! folder it writes.
//!
//! - [`CaClient::cainfo`]: `POST /api/v1/cainfo` → the CA chain, version, Idemix keys.
//! - [`CaClient::enroll`]: `POST /api/v1/enroll` with HTTP basic auth (enrollment id and
//!   secret) and a PKCS#10 request for a P-256 key generated here (CN = enrollment id).
//! - [`CaClient::register`] / [`CaClient::revoke`]: `POST /api/v1/register|revoke` with the
//!   caller's token in `Authorization`, exactly as `util.GenECDSAToken` makes it:
//!   `base64(certPEM) "." base64(sig)` where `sig` is the ECDSA (low-S, DER) signature over
//!   SHA-256 of `METHOD "." base64(requestURI) "." base64(body) "." base64(certPEM)`.
//! - [`Enrollment::write_msp`]: the MSP folder in `fabric-ca-client enroll`'s layout
//!   (`signcerts/cert.pem`, `keystore/<ski>_sk` PKCS#8, `cacerts/<host>-<port>.pem`,
//!   `intermediatecerts/` when the CA is an intermediate, `IssuerPublicKey`,
//!   `IssuerRevocationPublicKey`) plus the `config.yaml` NodeOUs that fabric-samples'
//!   `registerEnroll.sh` writes next to it. Fabric CA puts an identity's type (`client`,
//!   `peer`, `admin`, `orderer`) in its certificate's OU, so those are the NodeOU values.
//!
//! Server failures are [`CaError::Server`] with the CA's own `errors[]` (code and message),
//! e.g. `Error Code: 20 - Authentication failure` for a wrong secret.
//!
//! The CLI-facing functions [`enroll`], [`register`] and [`revoke`] take a [`CaTarget`]
//! (URL, TLS CA file, CA name) and write or read MSP folders.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sfcbc_fabric::error::MspError;
use sfcbc_fabric::msp::pem;
use sfcbc_fabric::{Identity, MspDir, PrivateKey, Signer};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Fabric CA's default port (`util.GetServerPort`), used when a URL names none.
pub const DEFAULT_PORT: u16 = 7054;

/// The identity types Fabric CA puts in a certificate's OU, which are the NodeOU values.
pub const NODE_OU_TYPES: [&str; 4] = ["client", "peer", "admin", "orderer"];

/// One entry of the CA's `errors[]` (cfssl's `api.ResponseMessage`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ServerMessage {
    /// Fabric CA's error code (`lib/caerrors`), e.g. 20 authentication failure.
    pub code: i64,
    /// The CA's message.
    pub message: String,
}

/// What can go wrong talking to a Fabric CA or writing what it issued.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The CA URL cannot be used.
    #[error("invalid Fabric CA URL `{url}`: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The TLS CA certificate file is missing or not PEM.
    #[error("invalid TLS CA certificate {path}: {reason}")]
    TlsCa {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The CA could not be reached, or the exchange broke (TLS, timeout, connection refused).
    #[error("cannot reach the Fabric CA at {url}: {reason}")]
    Http {
        /// The request URL.
        url: String,
        /// The transport error, with its causes.
        reason: String,
    },
    /// The CA refused the request; `errors` are its own messages.
    #[error("Fabric CA refused {request} (HTTP {status}): {}", server_messages(.errors))]
    Server {
        /// `POST /api/v1/enroll` etc.
        request: String,
        /// HTTP status.
        status: u16,
        /// The CA's `errors[]`.
        errors: Vec<ServerMessage>,
    },
    /// The CA answered something that is not Fabric CA's response format.
    #[error("unexpected response from the Fabric CA to {request}: {reason}")]
    BadResponse {
        /// `POST /api/v1/enroll` etc.
        request: String,
        /// What was wrong.
        reason: String,
    },
    /// The certificate request could not be built.
    #[error("cannot create the certificate signing request: {0}")]
    Csr(String),
    /// An MSP folder could not be read, or what was written does not load back.
    #[error(transparent)]
    Msp(#[from] MspError),
    /// Writing the MSP folder failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A bad argument (attribute syntax, empty enrollment id, ...).
    #[error("{0}")]
    Invalid(String),
}

impl CaError {
    /// The CA's error codes, if the CA refused the request.
    pub fn server_codes(&self) -> Vec<i64> {
        match self {
            Self::Server { errors, .. } => errors.iter().map(|e| e.code).collect(),
            _ => Vec::new(),
        }
    }
}

fn server_messages(errors: &[ServerMessage]) -> String {
    if errors.is_empty() {
        return "no error message".into();
    }
    errors
        .iter()
        .map(|e| format!("Error Code: {} - {}", e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An identity attribute for `register` (`api.Attribute`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Attribute {
    /// Name, e.g. `hf.Revoker` or `role`.
    pub name: String,
    /// Value.
    pub value: String,
    /// Put it in enrollment certificates by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ecert: bool,
}

/// An attribute to request at enrollment (`api.AttributeRequest`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct AttributeRequest {
    /// Name.
    pub name: String,
    /// Do not fail when the identity lacks it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// Parses attributes as `fabric-ca-client register --id.attrs` takes them:
/// `name=value[:ecert]` separated by commas, e.g. `hf.Revoker=true,role=sf:ecert`.
/// A value may be double-quoted to hold commas: `"tags=a,b"`.
pub fn parse_attrs(spec: &str) -> Result<Vec<Attribute>, CaError> {
    let mut out = Vec::new();
    for item in split_unquoted(spec) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let item = item
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(item);
        let (name, rest) = item.split_once('=').ok_or_else(|| {
            CaError::Invalid(format!(
                "attribute `{item}` is not name=value[:ecert] (e.g. hf.Revoker=true,role=sf:ecert)"
            ))
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(CaError::Invalid(format!(
                "attribute `{item}` has an empty name"
            )));
        }
        let (value, ecert) = match rest.rsplit_once(':') {
            Some((v, "ecert")) => (v, true),
            _ => (rest, false),
        };
        out.push(Attribute {
            name: name.to_string(),
            value: value.to_string(),
            ecert,
        });
    }
    Ok(out)
}

fn split_unquoted(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A registration (`api.RegistrationRequest`, JSON as Fabric CA reads it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegistrationRequest {
    /// Enrollment id of the new identity.
    #[serde(rename = "id")]
    pub name: String,
    /// `client`, `peer`, `admin`, `orderer` (or any type the registrar may register).
    /// Empty: `client`, Fabric CA's default.
    #[serde(rename = "type")]
    pub kind: String,
    /// The enrollment secret; empty: the CA generates one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// How many times the secret may be used; 0: the CA's default; -1: unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_enrollments: i32,
    /// Affiliation, e.g. `org1.department1`; empty: the registrar's own.
    pub affiliation: String,
    /// Attributes.
    #[serde(rename = "attrs", skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    /// The CA's name on a multi-CA server; empty: the default CA.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub caname: String,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// A revocation (`api.RevocationRequest`): an identity and all its certificates (`name`),
/// or one certificate (`serial` + `aki`, lowercase hex).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RevocationRequest {
    /// Enrollment id to revoke.
    #[serde(rename = "id", skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Serial number of one certificate (hex).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub serial: String,
    /// Authority key identifier of that certificate (hex).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub aki: String,
    /// RFC 5280 reason, e.g. `keycompromise`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The CA's name on a multi-CA server.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub caname: String,
    /// Return a CRL in the response.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gencrl: bool,
}

impl RevocationRequest {
    /// Revokes exactly the certificate `cert_pem` (serial and AKI read from it).
    pub fn for_certificate(cert_pem: &[u8]) -> Result<Self, CaError> {
        let der = first_cert(cert_pem)?;
        let (_, cert) = X509Certificate::from_der(&der)
            .map_err(|e| CaError::Invalid(format!("invalid certificate: {e}")))?;
        let aki = cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| hex::encode(k.0))
                }
                _ => None,
            })
            .ok_or_else(|| {
                CaError::Invalid("the certificate has no authority key identifier".into())
            })?;
        Ok(Self {
            serial: cert.tbs_certificate.serial.to_str_radix(16),
            aki,
            ..Self::default()
        })
    }
}

/// One revoked certificate (`api.RevokedCert`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct RevokedCert {
    /// Serial number (hex).
    #[serde(rename = "Serial")]
    pub serial: String,
    /// Authority key identifier (hex).
    #[serde(rename = "AKI")]
    pub aki: String,
}

/// The CA's answer to a revocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationResponse {
    /// The certificates revoked.
    pub revoked: Vec<RevokedCert>,
    /// The CRL (PEM), when asked for.
    pub crl: Vec<u8>,
}

/// `GET|POST /api/v1/cainfo`, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaInfo {
    /// The CA's name.
    pub ca_name: String,
    /// Fabric CA's version, e.g. `1.5.21`.
    pub version: String,
    /// Root CA certificates of the chain (PEM, one per entry).
    pub roots: Vec<Vec<u8>>,
    /// Intermediate CA certificates of the chain (PEM, issuer of identities first as sent).
    pub intermediates: Vec<Vec<u8>>,
    /// Idemix issuer public key (raw), if the CA sent one.
    pub issuer_public_key: Vec<u8>,
    /// Idemix issuer revocation public key (PEM), if the CA sent one.
    pub issuer_revocation_public_key: Vec<u8>,
}

#[derive(Debug, Default, Deserialize)]
struct CaInfoNet {
    #[serde(rename = "CAName", default)]
    ca_name: String,
    #[serde(rename = "CAChain", default)]
    ca_chain: String,
    #[serde(rename = "IssuerPublicKey", default)]
    issuer_public_key: String,
    #[serde(rename = "IssuerRevocationPublicKey", default)]
    issuer_revocation_public_key: String,
    #[serde(rename = "Version", default)]
    version: String,
}

#[derive(Debug, Deserialize)]
struct EnrollmentNet {
    #[serde(rename = "Cert")]
    cert: String,
    #[serde(rename = "ServerInfo", default)]
    server_info: CaInfoNet,
}

#[derive(Debug, Deserialize)]
struct RegistrationNet {
    secret: String,
}

#[derive(Debug, Deserialize)]
struct RevocationNet {
    #[serde(rename = "RevokedCerts", default)]
    revoked: Option<Vec<RevokedCert>>,
    #[serde(rename = "CRL", default)]
    crl: String,
}

/// cfssl's response envelope, which every Fabric CA endpoint uses.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    result: serde_json::Value,
    #[serde(default)]
    errors: Option<Vec<ServerMessage>>,
}

/// `SignRequest` + `CAName` + `attr_reqs` (`api.EnrollmentRequestNet`).
#[derive(Debug, Serialize)]
struct EnrollmentRequestNet<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    hosts: Option<&'a [String]>,
    certificate_request: String,
    profile: &'a str,
    crl_override: &'a str,
    label: &'a str,
    #[serde(rename = "CAName")]
    ca_name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attr_reqs: Vec<AttributeRequest>,
}

/// What to put in the certificate request and ask of the CA at enrollment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnrollOptions {
    /// Subject alternative names (DNS names or IP addresses); empty: none.
    pub hosts: Vec<String>,
    /// Subject names before the CN, as `("C", "US")`, `("ST", ..)`, `("L", ..)`,
    /// `("O", ..)`. (Fabric CA replaces any OU with the identity's type and affiliation.)
    pub names: Vec<(String, String)>,
    /// Signing profile (`tls` for a TLS certificate); empty: the default.
    pub profile: String,
    /// Attributes to put in the certificate.
    pub attr_reqs: Vec<AttributeRequest>,
}

/// An enrolled identity: the key generated here, the certificate the CA issued and the CA's
/// chain.
#[derive(Clone, Debug)]
pub struct Enrollment {
    /// The enrollment id.
    pub id: String,
    /// The private key (P-256).
    pub key: PrivateKey,
    /// The enrollment certificate (PEM).
    pub cert_pem: Vec<u8>,
    /// The CA's chain and version, from the enroll response.
    pub ca_info: CaInfo,
    /// The file name `fabric-ca-client` gives the CA chain in `cacerts/`:
    /// `<host>-<port>[-<caname>].pem` with `.` and `:` as `-`.
    pub ca_file_name: String,
}

/// How to write an MSP folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MspWriteOptions {
    /// Write `config.yaml` with NodeOUs enabled (client, peer, admin, orderer, each bound to
    /// the CA that issues identities), as fabric-samples' `registerEnroll.sh` does.
    pub node_ous: bool,
    /// The key's file name in `keystore/`; `None`: `<hex SKI>_sk` as `fabric-ca-client` names
    /// it (SKI = SHA-256 of the uncompressed public point, BCCSP's).
    pub key_file_name: Option<String>,
    /// A TLS CA certificate (PEM) to put in `tlscacerts/` (what peers and the gateway need to
    /// verify the org's TLS); `None`: no `tlscacerts/`, as `fabric-ca-client enroll` writes.
    pub tls_ca_pem: Option<Vec<u8>>,
}

impl Default for MspWriteOptions {
    fn default() -> Self {
        Self {
            node_ous: true,
            key_file_name: None,
            tls_ca_pem: None,
        }
    }
}

impl Enrollment {
    /// The signer of this identity under `msp_id`.
    pub fn signer(&self, msp_id: &str) -> Result<Signer, CaError> {
        let identity = Identity::from_pem(msp_id, &self.cert_pem)?;
        Ok(Signer::new(identity, self.key.clone())?)
    }

    /// BCCSP's SKI of the key: hex SHA-256 of the uncompressed public point.
    pub fn ski(&self) -> Result<String, CaError> {
        let der = first_cert(&self.cert_pem)?;
        let (_, cert) = X509Certificate::from_der(&der).map_err(|e| CaError::BadResponse {
            request: "POST /api/v1/enroll".into(),
            reason: format!("the issued certificate does not parse: {e}"),
        })?;
        Ok(hex::encode(Sha256::digest(
            cert.public_key().subject_public_key.data.as_ref(),
        )))
    }

    /// Writes the MSP folder `dir` (created if missing) in `fabric-ca-client enroll`'s
    /// layout and returns the files written, relative to `dir`. Existing files of the same
    /// names are replaced; other keys in `keystore/` are left, as `fabric-ca-client` leaves
    /// them ([`MspDir::signer`] picks the one matching `signcerts/`).
    pub fn write_msp(&self, dir: &Path, opts: &MspWriteOptions) -> Result<Vec<String>, CaError> {
        let mut written = Vec::new();
        let mut put = |rel: String, bytes: &[u8], private: bool| -> Result<(), CaError> {
            write_file(&dir.join(&rel), bytes, private)?;
            written.push(rel);
            Ok(())
        };
        put("signcerts/cert.pem".into(), &self.cert_pem, false)?;
        let key_name = match &opts.key_file_name {
            Some(n) => n.clone(),
            None => format!("{}_sk", self.ski()?),
        };
        put(
            format!("keystore/{key_name}"),
            self.key.to_pkcs8_pem().as_bytes(),
            true,
        )?;
        let info = &self.ca_info;
        if info.roots.is_empty() {
            return Err(CaError::BadResponse {
                request: "POST /api/v1/enroll".into(),
                reason: "the CA chain holds no root certificate".into(),
            });
        }
        put(
            format!("cacerts/{}", self.ca_file_name),
            &info.roots.concat(),
            false,
        )?;
        if !info.intermediates.is_empty() {
            put(
                format!("intermediatecerts/{}", self.ca_file_name),
                &info.intermediates.concat(),
                false,
            )?;
        }
        if let Some(tls) = &opts.tls_ca_pem {
            put(format!("tlscacerts/tls-{}", self.ca_file_name), tls, false)?;
        }
        if !info.issuer_public_key.is_empty() {
            put("IssuerPublicKey".into(), &info.issuer_public_key, false)?;
        }
        if !info.issuer_revocation_public_key.is_empty() {
            put(
                "IssuerRevocationPublicKey".into(),
                &info.issuer_revocation_public_key,
                false,
            )?;
        }
        if opts.node_ous {
            let issuer = if info.intermediates.is_empty() {
                format!("cacerts/{}", self.ca_file_name)
            } else {
                format!("intermediatecerts/{}", self.ca_file_name)
            };
            put(
                "config.yaml".into(),
                node_ous_yaml(&issuer).as_bytes(),
                false,
            )?;
        }
        Ok(written)
    }
}

/// `config.yaml` with NodeOUs, in the form fabric-samples' `registerEnroll.sh` writes for a
/// Fabric CA org (`Certificate:` relative to the MSP folder).
pub fn node_ous_yaml(issuer_cert_file: &str) -> String {
    let mut y = String::from("NodeOUs:\n  Enable: true\n");
    for (key, ou) in [
        ("ClientOUIdentifier", "client"),
        ("PeerOUIdentifier", "peer"),
        ("AdminOUIdentifier", "admin"),
        ("OrdererOUIdentifier", "orderer"),
    ] {
        y.push_str(&format!(
            "  {key}:\n    Certificate: {issuer_cert_file}\n    OrganizationalUnitIdentifier: {ou}\n"
        ));
    }
    y
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), CaError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| CaError::Io { path: p, source }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    use std::io::Write as _;
    let mut f = o.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))
}

fn first_cert(pem_text: &[u8]) -> Result<Vec<u8>, CaError> {
    pem::decode_all(pem_text)
        .into_iter()
        .find(|b| b.label == "CERTIFICATE")
        .map(|b| b.contents)
        .ok_or_else(|| CaError::Invalid("no CERTIFICATE PEM block".into()))
}

/// Certificates, one PEM each.
type PemList = Vec<Vec<u8>>;

/// Splits a PEM chain into roots and intermediates the way `fabric-ca-client` does
/// (`storeCAChain`): a certificate without AKI, or whose AKI equals its SKI, is a root.
fn split_chain(chain: &[u8], request: &str) -> Result<(PemList, PemList), CaError> {
    let bad = |reason: String| CaError::BadResponse {
        request: request.to_string(),
        reason,
    };
    let (mut roots, mut intermediates) = (Vec::new(), Vec::new());
    for block in pem::decode_all(chain) {
        if block.label != "CERTIFICATE" {
            continue;
        }
        let (_, cert) = X509Certificate::from_der(&block.contents)
            .map_err(|e| bad(format!("a certificate in the CA chain does not parse: {e}")))?;
        if !cert.is_ca() {
            return Err(bad(
                "a certificate in the CA chain is not a CA certificate".into()
            ));
        }
        let (mut aki, mut ski) = (None, None);
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                    ski = Some(k.0.to_vec());
                }
                _ => {}
            }
        }
        let pem_text = pem::encode("CERTIFICATE", &block.contents).into_bytes();
        if aki.is_none() || aki == ski {
            roots.push(pem_text);
        } else {
            intermediates.push(pem_text);
        }
    }
    Ok((roots, intermediates))
}

impl CaInfo {
    fn from_net(net: CaInfoNet, request: &str) -> Result<Self, CaError> {
        let bad = |what: &str, e: base64::DecodeError| CaError::BadResponse {
            request: request.to_string(),
            reason: format!("{what} is not base64: {e}"),
        };
        let chain = B64
            .decode(net.ca_chain.as_bytes())
            .map_err(|e| bad("CAChain", e))?;
        let (roots, intermediates) = split_chain(&chain, request)?;
        Ok(Self {
            ca_name: net.ca_name,
            version: net.version,
            roots,
            intermediates,
            issuer_public_key: B64
                .decode(net.issuer_public_key.as_bytes())
                .map_err(|e| bad("IssuerPublicKey", e))?,
            issuer_revocation_public_key: B64
                .decode(net.issuer_revocation_public_key.as_bytes())
                .map_err(|e| bad("IssuerRevocationPublicKey", e))?,
        })
    }
}

/// Fabric CA's token for an authenticated request (`util.GenECDSAToken`, the 1.4+ format
/// that 1.5 checks without `compMode1_3`): `base64(certPEM).base64(sig)` with `sig` over
/// `METHOD.base64(uri).base64(body).base64(certPEM)`. `uri` is the request URI (path and
/// query) as the server sees it.
pub fn auth_token(signer: &Signer, method: &str, uri: &str, body: &[u8]) -> String {
    let b64cert = B64.encode(signer.identity().cert_pem());
    let payload = format!(
        "{method}.{}.{}.{b64cert}",
        B64.encode(uri.as_bytes()),
        B64.encode(body)
    );
    let sig = signer.sign(payload.as_bytes());
    format!("{b64cert}.{}", B64.encode(sig))
}

/// A client of one Fabric CA (one server URL, optionally one named CA on it).
#[derive(Clone, Debug)]
pub struct CaClient {
    base: reqwest::Url,
    http: reqwest::Client,
    ca_name: String,
}

impl CaClient {
    /// A client for `url` (`https://host:port`, `http://host:port`, or `host:port` meaning
    /// http; port 7054 when none is given, as `fabric-ca-client` does). `tls_ca_pem`: the
    /// CA certificate(s) that issued the server's TLS certificate; without it, https
    /// verifies against the Web PKI roots.
    pub fn new(url: &str, tls_ca_pem: Option<&[u8]>) -> Result<Self, CaError> {
        let base = normalize_url(url)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("sfcbc/", env!("CARGO_PKG_VERSION")));
        if let Some(pem_text) = tls_ca_pem {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem_text).map_err(|e| CaError::TlsCa {
                    path: "(given)".into(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(CaError::TlsCa {
                    path: "(given)".into(),
                    reason: "no CERTIFICATE PEM block".into(),
                });
            }
            builder = builder.tls_built_in_root_certs(false);
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder.build().map_err(|e| CaError::Http {
            url: base.to_string(),
            reason: error_chain(&e),
        })?;
        Ok(Self {
            base,
            http,
            ca_name: String::new(),
        })
    }

    /// Targets the CA named `name` on a multi-CA server (`--caname`).
    pub fn with_ca_name(mut self, name: impl Into<String>) -> Self {
        self.ca_name = name.into();
        self
    }

    /// The server URL, normalised.
    pub fn url(&self) -> &reqwest::Url {
        &self.base
    }

    /// `<host>-<port>[-<caname>].pem`, the name `fabric-ca-client` gives the CA chain files.
    pub fn ca_file_name(&self) -> String {
        let mut name = match (self.base.host_str(), self.base.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        if !self.ca_name.is_empty() {
            name = format!("{name}-{}", self.ca_name);
        }
        format!("{}.pem", name.replace([':', '.'], "-"))
    }

    fn endpoint(&self, name: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let path = format!("{}/api/v1/{name}", self.base.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// Sends one request and unwraps cfssl's envelope as `lib.Client.SendReq` does.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        body: Vec<u8>,
        auth: Auth<'_>,
    ) -> Result<T, CaError> {
        let url = self.endpoint(name);
        let request = format!("POST {}", url.path());
        let mut req = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        match auth {
            Auth::None => {}
            Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
            Auth::Token(signer) => {
                let uri = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                };
                req = req.header(
                    reqwest::header::AUTHORIZATION,
                    auth_token(signer, "POST", &uri, &body),
                );
            }
        }
        let resp = req.body(body).send().await.map_err(|e| CaError::Http {
            url: url.to_string(),
            reason: error_chain(&e),
        })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| CaError::Http {
            url: url.to_string(),
            reason: error_chain(&e),
        })?;
        let bad = |reason: String| CaError::BadResponse {
            request: request.clone(),
            reason,
        };
        if bytes.is_empty() {
            return Err(bad(format!("HTTP {status} with an empty body")));
        }
        let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
            bad(format!(
                "HTTP {status}, body is not Fabric CA's JSON ({e}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            ))
        })?;
        let errors = envelope.errors.unwrap_or_default();
        if !errors.is_empty() || status >= 400 || !envelope.success {
            return Err(CaError::Server {
                request,
                status,
                errors,
            });
        }
        serde_json::from_value(envelope.result)
            .map_err(|e| bad(format!("`result` is not what was expected: {e}")))
    }

    /// The CA's chain, name and version (`POST /api/v1/cainfo`, as `fabric-ca-client
    /// getcainfo` asks).
    pub async fn cainfo(&self) -> Result<CaInfo, CaError> {
        let body = serde_json::json!({ "caname": self.ca_name }).to_string();
        let net: CaInfoNet = self.send("cainfo", body.into_bytes(), Auth::None).await?;
        CaInfo::from_net(net, "POST /api/v1/cainfo")
    }

    /// Enrolls `id` with `secret`: generates a P-256 key, sends a PKCS#10 request with
    /// CN = `id`, and returns the key, the certificate and the CA chain.
    pub async fn enroll(
        &self,
        id: &str,
        secret: &str,
        opts: &EnrollOptions,
    ) -> Result<Enrollment, CaError> {
        if id.is_empty() {
            return Err(CaError::Invalid("the enrollment id is empty".into()));
        }
        let key = PrivateKey::generate_p256();
        let csr = certificate_request(&key, id, opts)?;
        let body = EnrollmentRequestNet {
            hosts: (!opts.hosts.is_empty()).then_some(opts.hosts.as_slice()),
            certificate_request: csr,
            profile: &opts.profile,
            crl_override: "",
            label: "",
            ca_name: &self.ca_name,
            attr_reqs: opts.attr_reqs.clone(),
        };
        let body = serde_json::to_vec(&body).expect("JSON of plain strings");
        let net: EnrollmentNet = self.send("enroll", body, Auth::Basic(id, secret)).await?;
        let request = "POST /api/v1/enroll";
        let cert_pem = B64
            .decode(net.cert.as_bytes())
            .map_err(|e| CaError::BadResponse {
                request: request.into(),
                reason: format!("Cert is not base64: {e}"),
            })?;
        // The certificate must be for our key.
        let identity = Identity::from_pem("", &cert_pem).map_err(|e| CaError::BadResponse {
            request: request.into(),
            reason: format!("the issued certificate is unusable: {e}"),
        })?;
        if identity.public_key()? != key.public_key() {
            return Err(CaError::BadResponse {
                request: request.into(),
                reason: "the issued certificate is not for the key we sent".into(),
            });
        }
        Ok(Enrollment {
            id: id.to_string(),
            key,
            cert_pem,
            ca_info: CaInfo::from_net(net.server_info, request)?,
            ca_file_name: self.ca_file_name(),
        })
    }

    /// Registers a new identity, authenticated as `registrar` (who needs `hf.Registrar.*`
    /// rights for the type, affiliation and attributes). Returns the enrollment secret (the
    /// one given, or the one the CA generated).
    pub async fn register(
        &self,
        registrar: &Signer,
        req: &RegistrationRequest,
    ) -> Result<String, CaError> {
        if req.name.is_empty() {
            return Err(CaError::Invalid(
                "register needs the new identity's enrollment id".into(),
            ));
        }
        let mut req = req.clone();
        if req.kind.is_empty() {
            req.kind = "client".into();
        }
        if req.caname.is_empty() {
            req.caname = self.ca_name.clone();
        }
        let body = serde_json::to_vec(&req).expect("JSON of plain fields");
        let net: RegistrationNet = self.send("register", body, Auth::Token(registrar)).await?;
        Ok(net.secret)
    }

    /// Revokes an identity (all its certificates) or one certificate, authenticated as
    /// `revoker` (who needs `hf.Revoker`).
    pub async fn revoke(
        &self,
        revoker: &Signer,
        req: &RevocationRequest,
    ) -> Result<RevocationResponse, CaError> {
        if req.name.is_empty() && (req.serial.is_empty() || req.aki.is_empty()) {
            return Err(CaError::Invalid(
                "revoke needs an enrollment id, or a certificate's serial and AKI".into(),
            ));
        }
        let mut req = req.clone();
        if req.caname.is_empty() {
            req.caname = self.ca_name.clone();
        }
        let body = serde_json::to_vec(&req).expect("JSON of plain fields");
        let net: RevocationNet = self.send("revoke", body, Auth::Token(revoker)).await?;
        let crl = B64
            .decode(net.crl.as_bytes())
            .map_err(|e| CaError::BadResponse {
                request: "POST /api/v1/revoke".into(),
                reason: format!("CRL is not base64: {e}"),
            })?;
        Ok(RevocationResponse {
            revoked: net.revoked.unwrap_or_default(),
            crl,
        })
    }
}

enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Token(&'a Signer),
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

fn normalize_url(url: &str) -> Result<reqwest::Url, CaError> {
    let bad = |reason: &str| CaError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let mut u = reqwest::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad(
            "credentials in the URL are not used: give the enrollment id and secret separately",
        ));
    }
    // fabric-ca-client adds port 7054 when the URL names none.
    let authority = with_scheme
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !has_port {
        u.set_port(Some(DEFAULT_PORT))
            .map_err(|()| bad("cannot set the port"))?;
    }
    Ok(u)
}

/// The PKCS#10 request for `key` with CN = `id` (PEM), as `fabric-ca-client` sends it.
fn certificate_request(
    key: &PrivateKey,
    id: &str,
    opts: &EnrollOptions,
) -> Result<String, CaError> {
    let csr_err = |e: rcgen::Error| CaError::Csr(e.to_string());
    let kp = rcgen::KeyPair::from_pem(&key.to_pkcs8_pem()).map_err(csr_err)?;
    let mut params = rcgen::CertificateParams::new(opts.hosts.clone()).map_err(csr_err)?;
    let mut dn = rcgen::DistinguishedName::new();
    for (k, v) in &opts.names {
        let t = match k.to_ascii_uppercase().as_str() {
            "C" => rcgen::DnType::CountryName,
            "ST" => rcgen::DnType::StateOrProvinceName,
            "L" => rcgen::DnType::LocalityName,
            "O" => rcgen::DnType::OrganizationName,
            "OU" => rcgen::DnType::OrganizationalUnitName,
            other => {
                return Err(CaError::Invalid(format!(
                    "subject name `{other}` is not one of C, ST, L, O, OU"
                )));
            }
        };
        dn.push(t, v.as_str());
    }
    dn.push(rcgen::DnType::CommonName, id);
    params.distinguished_name = dn;
    let csr = params.serialize_request(&kp).map_err(csr_err)?;
    csr.pem().map_err(csr_err)
}

/// Where the CA is: what the CLI's `--ca-url`, `--tls-ca` and `--ca-name` give.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaTarget {
    /// `https://host:port` (or `http://`, or `host:port`).
    pub url: String,
    /// PEM file of the CA that issued the server's TLS certificate (for https).
    pub tls_ca: Option<PathBuf>,
    /// CA name on a multi-CA server.
    pub ca_name: Option<String>,
}

impl CaTarget {
    /// A [`CaClient`] for this target.
    pub fn client(&self) -> Result<CaClient, CaError> {
        let tls = match &self.tls_ca {
            None => None,
            Some(p) => Some(std::fs::read(p).map_err(|e| CaError::TlsCa {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?),
        };
        let client =
            CaClient::new(&self.url, tls.as_deref()).map_err(|e| match (e, &self.tls_ca) {
                (CaError::TlsCa { reason, .. }, Some(p)) => CaError::TlsCa {
                    path: p.display().to_string(),
                    reason,
                },
                (e, _) => e,
            })?;
        Ok(match &self.ca_name {
            Some(n) => client.with_ca_name(n.clone()),
            None => client,
        })
    }
}

/// The signer of an MSP folder, for authenticating to a CA (`--registrar` given as a folder).
/// The MSP ID does not matter to the CA; `msp_id` only labels the identity.
pub fn load_signer(msp_dir: &Path, msp_id: &str) -> Result<Signer, CaError> {
    Ok(MspDir::load(msp_dir)?.signer(msp_id)?)
}

/// What [`enroll`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnrollOutcome {
    /// The enrollment id.
    pub id: String,
    /// The MSP folder written.
    pub msp_dir: PathBuf,
    /// Files written, relative to `msp_dir`.
    pub files: Vec<String>,
    /// Fabric CA's version as the enroll response gives it (1.5.21 leaves it empty;
    /// [`CaClient::cainfo`] has it).
    pub ca_version: String,
    /// The CA's name.
    pub ca_name: String,
}

/// `sfcbc identity enroll`: enrolls `id` with `secret` and writes the MSP folder `out`
/// (see [`Enrollment::write_msp`]), then loads it back with [`MspDir::load`] and checks that
/// its signer signs and verifies (under `msp_id`, or `"-"` when unknown).
pub async fn enroll(
    target: &CaTarget,
    id: &str,
    secret: &str,
    out: &Path,
    enroll_opts: &EnrollOptions,
    msp_opts: &MspWriteOptions,
    msp_id: Option<&str>,
) -> Result<EnrollOutcome, CaError> {
    let client = target.client()?;
    let enrollment = client.enroll(id, secret, enroll_opts).await?;
    let files = enrollment.write_msp(out, msp_opts)?;
    let msp = MspDir::load(out)?;
    let signer = msp.signer(msp_id.unwrap_or("-"))?;
    let probe = b"sfcbc identity enroll: self-check";
    signer
        .identity()
        .public_key()?
        .verify(probe, &signer.sign(probe))
        .map_err(|e| CaError::Msp(e.into()))?;
    Ok(EnrollOutcome {
        id: id.to_string(),
        msp_dir: out.to_path_buf(),
        files,
        ca_version: enrollment.ca_info.version,
        ca_name: enrollment.ca_info.ca_name,
    })
}

/// `sfcbc identity register`: registers `req` with `registrar`'s token; returns the
/// enrollment secret.
pub async fn register(
    target: &CaTarget,
    registrar: &Signer,
    req: &RegistrationRequest,
) -> Result<String, CaError> {
    target.client()?.register(registrar, req).await
}

/// `sfcbc identity revoke`: revokes with `revoker`'s token.
pub async fn revoke(
    target: &CaTarget,
    revoker: &Signer,
    req: &RevocationRequest,
) -> Result<RevocationResponse, CaError> {
    target.client()?.revoke(revoker, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_parse_like_fabric_ca_client() {
        let a = parse_attrs("hf.Revoker=true,role=sf:ecert,\"tags=a,b\"").unwrap();
        assert_eq!(
            a,
            vec![
                Attribute {
                    name: "hf.Revoker".into(),
                    value: "true".into(),
                    ecert: false
                },
                Attribute {
                    name: "role".into(),
                    value: "sf".into(),
                    ecert: true
                },
                Attribute {
                    name: "tags".into(),
                    value: "a,b".into(),
                    ecert: false
                },
            ]
        );
        assert!(parse_attrs("novalue").is_err());
        assert!(parse_attrs("").unwrap().is_empty());
    }

    #[test]
    fn urls_normalise_like_fabric_ca_client() {
        let c = CaClient::new("localhost", None).unwrap();
        assert_eq!(c.url().as_str(), "http://localhost:7054/");
        assert_eq!(c.ca_file_name(), "localhost-7054.pem");
        let c = CaClient::new("https://ca.org1.example.com:57054", None)
            .unwrap()
            .with_ca_name("ca-org1");
        assert_eq!(c.ca_file_name(), "ca-org1-example-com-57054-ca-org1.pem");
        assert_eq!(
            c.endpoint("enroll").as_str(),
            "https://ca.org1.example.com:57054/api/v1/enroll"
        );
        assert!(CaClient::new("ftp://x:1", None).is_err());
        assert!(CaClient::new("http://admin:pw@x:1", None).is_err());
    }

    #[test]
    fn token_verifies_over_method_uri_body_cert() {
        let signer = crate::test_util::signer("Org1MSP");
        let body = br#"{"id":"u1"}"#;
        let token = auth_token(&signer, "POST", "/api/v1/register", body);
        let (b64cert, b64sig) = token.split_once('.').unwrap();
        assert_eq!(
            B64.decode(b64cert).unwrap(),
            signer.identity().cert_pem().to_vec()
        );
        let payload = format!(
            "POST.{}.{}.{b64cert}",
            B64.encode("/api/v1/register"),
            B64.encode(body)
        );
        let sig = B64.decode(b64sig).unwrap();
        signer
            .identity()
            .public_key()
            .unwrap()
            .verify(payload.as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn csr_has_cn_and_names() {
        let key = PrivateKey::generate_p256();
        let opts = EnrollOptions {
            names: vec![("O".into(), "Hyperledger".into())],
            hosts: vec!["peer0".into(), "127.0.0.1".into()],
            ..Default::default()
        };
        let pem_text = certificate_request(&key, "user1", &opts).unwrap();
        let der = pem::decode_all(pem_text.as_bytes()).remove(0).contents;
        let (_, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(&der).unwrap();
        let subject = csr.certification_request_info.subject.to_string();
        assert_eq!(subject, "O=Hyperledger, CN=user1");
        csr.verify_signature().unwrap();
    }

    #[test]
    fn server_errors_show_the_cas_messages() {
        let e = CaError::Server {
            request: "POST /api/v1/enroll".into(),
            status: 401,
            errors: vec![ServerMessage {
                code: 20,
                message: "Authentication failure".into(),
            }],
        };
        assert_eq!(
            e.to_string(),
            "Fabric CA refused POST /api/v1/enroll (HTTP 401): Error Code: 20 - Authentication failure"
        );
        assert_eq!(e.server_codes(), vec![20]);
    }
}
