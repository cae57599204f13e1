//! X.509 certificates as Fabric's `cryptogen` (internal/cryptogen/ca) issues them.
//!
//! - CA and TLS CA: self-signed, subject `C=US, ST=California, L=San Francisco, O=<domain>,
//!   CN=ca.<domain>` (`tlsca.<domain>`), key usage DigitalSignature | KeyEncipherment |
//!   CertSign | CRLSign (critical), extended key usage ClientAuth + ServerAuth, basic
//!   constraints CA:TRUE (critical), subject key id = SHA-256 of the raw public key;
//! - MSP signing certificates: subject `C, ST, L, OU=<node OU>, CN=<name>`, key usage
//!   DigitalSignature (critical), basic constraints CA:FALSE (critical), authority key id =
//!   the CA's subject key id, no SAN;
//! - TLS certificates: subject `C, ST, L, CN=<name>`, key usage DigitalSignature |
//!   KeyEncipherment (critical), extended key usage ServerAuth + ClientAuth, CA:FALSE,
//!   authority key id, SANs for nodes;
//! - every certificate: a random 128-bit serial, NotBefore = now rounded to the minute minus 5
//!   minutes, NotAfter = NotBefore + 3650 days, and (ECDSA) a low-S signature, as cryptogen's
//!   `csp.ECDSASigner` makes it. Distinguished-name strings are PrintableString when Go's
//!   `encoding/asn1` would choose it, UTF8String otherwise.
//!
//! Differences left: rcgen orders the extensions differently from Go (AKI, SAN, key usage,
//! EKU, basic constraints); no verifier depends on the order.

use rand::RngCore as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
    SignatureAlgorithm,
};
use sfcbc_fabric::signer::{PrivateKey, PublicKey};
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};

use super::{CryptoError, KeyAlgorithm};

/// A private key that rcgen signs certificates with: signatures come from sfcbc-fabric's
/// [`PrivateKey`] (low-S DER ECDSA over SHA-256, or Ed25519), as Fabric's MSP signs.
pub(crate) struct CertKey {
    pub(crate) key: PrivateKey,
    raw_public: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl CertKey {
    pub(crate) fn generate(alg: KeyAlgorithm) -> Self {
        Self::from_key(match alg {
            KeyAlgorithm::EcdsaP256 => PrivateKey::generate_p256(),
            KeyAlgorithm::Ed25519 => PrivateKey::generate_ed25519(),
        })
    }

    pub(crate) fn from_key(key: PrivateKey) -> Self {
        let (raw_public, alg) = match key.public_key() {
            PublicKey::EcdsaP256(vk) => (
                vk.sec1_uncompressed().to_vec(),
                &rcgen::PKCS_ECDSA_P256_SHA256,
            ),
            PublicKey::Ed25519(vk) => (vk.to_bytes().to_vec(), &rcgen::PKCS_ED25519),
        };
        Self {
            key,
            raw_public,
            alg,
        }
    }

    /// cryptogen's `computeSKI`: SHA-256 of the raw public key (the uncompressed point for
    /// ECDSA, the 32 key bytes for Ed25519).
    pub(crate) fn ski(&self) -> Vec<u8> {
        Sha256::digest(&self.raw_public).to_vec()
    }
}

impl rcgen::PublicKeyData for CertKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw_public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

impl rcgen::SigningKey for CertKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.key.sign(msg))
    }
}

/// Validity of every certificate of one generation run (cryptogen's `x509Template`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Validity {
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
}

impl Validity {
    /// Now rounded to the minute, minus five minutes; ten years (3650 days) long.
    pub(crate) fn cryptogen_now() -> Self {
        let now = OffsetDateTime::now_utc();
        let secs = now.unix_timestamp();
        // Go's Round(time.Minute): halfway values round up.
        let rounded = (secs + 30).div_euclid(60) * 60;
        let not_before = OffsetDateTime::from_unix_timestamp(rounded)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            - Duration::minutes(5);
        Self {
            not_before,
            not_after: not_before + Duration::days(3650),
        }
    }
}

/// Go's `encoding/asn1` PrintableString alphabet (with `*`, which Go accepts when marshalling).
fn go_printable(s: &str) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\''
                    | b'('
                    | b')'
                    | b'+'
                    | b','
                    | b'-'
                    | b'.'
                    | b'/'
                    | b':'
                    | b'='
                    | b'?'
                    | b'*'
            )
    })
}

fn dn_value(s: &str) -> DnValue {
    if go_printable(s)
        && let Ok(p) = rcgen::string::PrintableString::try_from(s)
    {
        return DnValue::PrintableString(p);
    }
    DnValue::Utf8String(s.to_owned())
}

/// cryptogen's subject: `C=US, ST=California, L=San Francisco[, O=..][, OU=..], CN=..`.
pub(crate) fn subject(organization: Option<&str>, ou: Option<&str>, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, dn_value("US"));
    dn.push(DnType::StateOrProvinceName, dn_value("California"));
    dn.push(DnType::LocalityName, dn_value("San Francisco"));
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, dn_value(o));
    }
    if let Some(ou) = ou {
        dn.push(DnType::OrganizationalUnitName, dn_value(ou));
    }
    dn.push(DnType::CommonName, dn_value(cn));
    dn
}

fn base_params(validity: Validity, dn: DistinguishedName) -> CertificateParams {
    let mut serial = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut serial);
    let mut params = CertificateParams::default();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.distinguished_name = dn;
    params
}

/// Basic constraints CA:FALSE, critical, as Go encodes it (`30 00`), without the subject key
/// identifier rcgen's `IsCa::ExplicitNoCa` would add.
fn not_ca_extension() -> CustomExtension {
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 19], vec![0x30, 0x00]);
    ext.set_criticality(true);
    ext
}

/// A self-signed CA: its parameters (to issue with) and its PEM certificate.
pub(crate) struct CaCert {
    pub(crate) params: CertificateParams,
    pub(crate) key: CertKey,
    pub(crate) cert_pem: String,
}

impl CaCert {
    pub(crate) fn params(
        validity: Validity,
        domain: &str,
        cn: &str,
        key: &CertKey,
    ) -> CertificateParams {
        let mut params = base_params(validity, subject(Some(domain), None, cn));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        params.key_identifier_method = KeyIdMethod::PreSpecified(key.ski());
        params
    }

    /// A new self-signed CA `cn` of organization `domain`.
    pub(crate) fn generate(
        validity: Validity,
        domain: &str,
        cn: &str,
        alg: KeyAlgorithm,
    ) -> Result<Self, CryptoError> {
        let key = CertKey::generate(alg);
        let params = Self::params(validity, domain, cn, &key);
        let cert = params
            .self_signed(&key)
            .map_err(|e| CryptoError::Certificate(format!("CA {cn}: {e}")))?;
        Ok(Self {
            params,
            key,
            cert_pem: go_pem(cert.der()),
        })
    }

    /// Issues a leaf certificate for `subject_key`.
    pub(crate) fn issue(
        &self,
        leaf: &Leaf<'_>,
        subject_key: &CertKey,
    ) -> Result<String, CryptoError> {
        let mut params = base_params(leaf.validity, subject(None, leaf.ou, leaf.cn));
        params.use_authority_key_identifier_extension = true;
        params.custom_extensions.push(not_ca_extension());
        if leaf.tls {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        } else {
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        for san in leaf.sans {
            params
                .subject_alt_names
                .push(match san.parse::<std::net::IpAddr>() {
                    Ok(ip) => SanType::IpAddress(ip),
                    Err(_) => SanType::DnsName(san.as_str().try_into().map_err(|e| {
                        CryptoError::Certificate(format!("SAN `{san}` of {}: {e}", leaf.cn))
                    })?),
                });
        }
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params
            .signed_by(subject_key, &issuer)
            .map_err(|e| CryptoError::Certificate(format!("{}: {e}", leaf.cn)))?;
        Ok(go_pem(cert.der()))
    }
}

/// What a leaf certificate says.
pub(crate) struct Leaf<'a> {
    pub(crate) validity: Validity,
    pub(crate) cn: &'a str,
    /// The NodeOU (`peer`, `client`, `admin`, `orderer`); `None` for TLS certificates.
    pub(crate) ou: Option<&'a str>,
    pub(crate) tls: bool,
    pub(crate) sans: &'a [String],
}

/// PEM as Go's `pem.Encode` writes it (64-character lines, LF).
pub(crate) fn go_pem(der: &[u8]) -> String {
    sfcbc_fabric::msp::pem::encode("CERTIFICATE", der)
}
