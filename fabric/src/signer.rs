//! Private keys, public keys and the [`Signer`] that signs as an MSP identity.
//!
//! Fabric's X.509 MSP signs ECDSA P-256 over SHA-256 with DER signatures whose S is in the
//! lower half of the group order (peers and orderers reject high-S signatures as malleable),
//! and, since Fabric 3.0, Ed25519 over the message itself (no pre-hash). Keys come as PKCS#8
//! (`PRIVATE KEY`, what cryptogen and fabric-ca write) or SEC1 (`EC PRIVATE KEY`) PEM.
//!
//! ECDSA arithmetic (sign, verify) is `ring`'s assembly-optimised P-256: signatures are the
//! bulk of the CPU a transaction costs, and ring is several times faster than the pure-Rust
//! `p256` crate. `p256` still reads and writes keys and signatures (PKCS#8, SEC1, DER) and
//! brings S into the lower half, which ring does not do. ring signs with a random (hedged)
//! k, as Go's `crypto/ecdsa` does; only if the system RNG fails do we fall back to `p256`'s
//! deterministic RFC 6979 signing.

// pkcs8's traits serve both p256 and ed25519-dalek (one pkcs8 crate).
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use p256::ecdsa::signature::Signer as _;
use rand::rngs::OsRng;
use std::sync::{Arc, OnceLock};

use crate::error::CryptoError;
use crate::msp::{Identity, pem};

/// The system RNG ring signs with (one per process: it only holds a file handle if any).
fn system_random() -> &'static ring::rand::SystemRandom {
    static RNG: OnceLock<ring::rand::SystemRandom> = OnceLock::new();
    RNG.get_or_init(ring::rand::SystemRandom::new)
}

/// An ECDSA P-256 private key: the `p256` key (encoding, equality, fallback signing) and the
/// same key as a ring key pair (fast signing).
#[derive(Clone)]
pub struct EcdsaP256Key {
    /// The key as `p256` knows it.
    key: p256::ecdsa::SigningKey,
    /// The same key for ring; shared because ring key pairs cannot be cloned.
    ring: Arc<ring::signature::EcdsaKeyPair>,
}

impl std::fmt::Debug for EcdsaP256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("EcdsaP256Key(..)")
    }
}

impl EcdsaP256Key {
    fn new(key: p256::ecdsa::SigningKey) -> Result<Self, CryptoError> {
        let public = key.verifying_key().to_encoded_point(false);
        let ring = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.to_bytes(),
            public.as_bytes(),
            system_random(),
        )
        .map_err(|e| CryptoError::UnsupportedPrivateKey {
            label: format!("P-256 key refused by ring: {e}"),
        })?;
        Ok(Self {
            key,
            ring: Arc::new(ring),
        })
    }

    /// The `p256` signing key (for encoding it, or for code that needs RustCrypto types).
    pub fn signing_key(&self) -> &p256::ecdsa::SigningKey {
        &self.key
    }

    /// A low-S DER signature over SHA-256(msg).
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig = match self.ring.sign(system_random(), msg) {
            Ok(fixed) => p256::ecdsa::Signature::from_slice(fixed.as_ref()).ok(),
            Err(_) => None,
        };
        // Without a working RNG (or, never seen, an r‖s p256 refuses), sign
        // deterministically instead of failing.
        let sig = sig.unwrap_or_else(|| self.key.sign(msg));
        let sig = sig.normalize_s().unwrap_or(sig);
        sig.to_der().as_bytes().to_vec()
    }
}

/// A private key of one of the algorithms Fabric's X.509 MSP supports.
#[derive(Clone)]
pub enum PrivateKey {
    /// ECDSA on NIST P-256 with SHA-256 (Fabric 2.x default).
    EcdsaP256(EcdsaP256Key),
    /// Ed25519 (Fabric 3.x).
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        match self {
            Self::EcdsaP256(_) => f.write_str("PrivateKey::EcdsaP256(..)"),
            Self::Ed25519(_) => f.write_str("PrivateKey::Ed25519(..)"),
        }
    }
}

impl PrivateKey {
    /// A fresh random P-256 key.
    pub fn generate_p256() -> Self {
        Self::EcdsaP256(
            EcdsaP256Key::new(p256::ecdsa::SigningKey::random(&mut OsRng))
                .expect("ring accepts every valid P-256 scalar, and p256 generates only those"),
        )
    }

    /// A fresh random Ed25519 key.
    pub fn generate_ed25519() -> Self {
        Self::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
    }

    /// A P-256 key from a `p256` signing key.
    pub fn from_p256(key: p256::ecdsa::SigningKey) -> Result<Self, CryptoError> {
        EcdsaP256Key::new(key).map(Self::EcdsaP256)
    }

    /// Reads the first private key block of a PEM text: PKCS#8 `PRIVATE KEY` (P-256 or
    /// Ed25519) or SEC1 `EC PRIVATE KEY` (P-256).
    pub fn from_pem(text: &[u8]) -> Result<Self, CryptoError> {
        let blocks = pem::decode_all(text);
        let block = blocks
            .iter()
            .find(|b| b.label.ends_with("PRIVATE KEY"))
            .ok_or_else(|| CryptoError::NoPem {
                what: "private key".into(),
            })?;
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.contents),
            "EC PRIVATE KEY" => match p256::SecretKey::from_sec1_der(&block.contents) {
                Ok(k) => Self::from_p256(k.into()),
                Err(_) => Err(CryptoError::UnsupportedPrivateKey {
                    label: block.label.clone(),
                }),
            },
            other => Err(CryptoError::UnsupportedPrivateKey {
                label: other.to_string(),
            }),
        }
    }

    /// Reads a PKCS#8 DER private key (P-256 or Ed25519).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
            return Self::from_p256(k.into());
        }
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
            return Ok(Self::Ed25519(k));
        }
        Err(CryptoError::UnsupportedPrivateKey {
            label: "PRIVATE KEY".into(),
        })
    }

    /// The key as PKCS#8 PEM, as cryptogen writes `keystore/priv_sk`.
    pub fn to_pkcs8_pem(&self) -> String {
        let der = match self {
            Self::EcdsaP256(k) => p256::SecretKey::from(&k.key)
                .to_pkcs8_der()
                .expect("a valid P-256 key always encodes")
                .as_bytes()
                .to_vec(),
            Self::Ed25519(k) => k
                .to_pkcs8_der()
                .expect("a valid Ed25519 key always encodes")
                .as_bytes()
                .to_vec(),
        };
        pem::encode("PRIVATE KEY", &der)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::EcdsaP256(k) => {
                PublicKey::EcdsaP256(EcdsaP256PublicKey::new(*k.key.verifying_key()))
            }
            Self::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
        }
    }

    /// Signs `msg` as Fabric's MSP does: ECDSA over SHA-256(msg) as a low-S DER signature,
    /// or Ed25519 over msg (64 raw bytes).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Self::EcdsaP256(k) => k.sign(msg),
            Self::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(msg).to_bytes().to_vec()
            }
        }
    }
}

/// An ECDSA P-256 public key: the `p256` key and its uncompressed SEC1 point, which is what
/// ring verifies with (encoded once, here, not per signature).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcdsaP256PublicKey {
    /// The key as `p256` knows it.
    key: p256::ecdsa::VerifyingKey,
    /// `04 ‖ x ‖ y`.
    point: [u8; 65],
}

impl EcdsaP256PublicKey {
    fn new(key: p256::ecdsa::VerifyingKey) -> Self {
        let mut point = [0u8; 65];
        point.copy_from_slice(key.to_encoded_point(false).as_bytes());
        Self { key, point }
    }

    /// The `p256` verifying key.
    pub fn verifying_key(&self) -> &p256::ecdsa::VerifyingKey {
        &self.key
    }

    /// The uncompressed SEC1 point (65 bytes).
    pub fn sec1_uncompressed(&self) -> &[u8; 65] {
        &self.point
    }

    /// Verifies a DER signature over SHA-256(msg), refusing high S as Fabric does.
    fn verify(&self, msg: &[u8], der: &[u8]) -> Result<(), CryptoError> {
        let sig =
            p256::ecdsa::Signature::from_der(der).map_err(|e| CryptoError::MalformedSignature {
                algorithm: "ECDSA",
                reason: e.to_string(),
            })?;
        if sig.normalize_s().is_some() {
            return Err(CryptoError::HighS);
        }
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            &self.point[..],
        )
        .verify(msg, &sig.to_bytes())
        .map_err(|_| CryptoError::BadSignature)
    }
}

impl From<p256::ecdsa::VerifyingKey> for EcdsaP256PublicKey {
    fn from(key: p256::ecdsa::VerifyingKey) -> Self {
        Self::new(key)
    }
}

/// A public key, as found in an identity's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA P-256.
    EcdsaP256(EcdsaP256PublicKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// Reads a DER `SubjectPublicKeyInfo` (the certificate's public key field).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
            return Ok(Self::EcdsaP256(EcdsaP256PublicKey::new(k.into())));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(Self::Ed25519(k));
        }
        let oid = x509_parser::x509::SubjectPublicKeyInfo::from_der_spki(der)
            .unwrap_or_else(|| "unparsable SubjectPublicKeyInfo".into());
        Err(CryptoError::UnsupportedPublicKey { oid })
    }

    /// Verifies `sig` over `msg` with Fabric's rules: ECDSA P-256 over SHA-256 with a DER
    /// signature whose S must be low; Ed25519 over the message.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        match self {
            Self::EcdsaP256(k) => k.verify(msg, sig),
            Self::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|e| {
                    CryptoError::MalformedSignature {
                        algorithm: "Ed25519",
                        reason: e.to_string(),
                    }
                })?;
                // Cofactorless RFC 8032 verification with canonical S, as Go's
                // crypto/ed25519 (Fabric's verifier) does; `verify_strict` would also refuse
                // weak keys that Go accepts.
                use ed25519_dalek::Verifier as _;
                k.verify(msg, &sig).map_err(|_| CryptoError::BadSignature)
            }
        }
    }
}

/// Normalises a DER ECDSA P-256 signature to low-S (what a Fabric client must send).
/// Returns the input unchanged when it already is low-S.
pub fn ecdsa_low_s(der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let sig =
        p256::ecdsa::Signature::from_der(der).map_err(|e| CryptoError::MalformedSignature {
            algorithm: "ECDSA",
            reason: e.to_string(),
        })?;
    Ok(sig
        .normalize_s()
        .unwrap_or(sig)
        .to_der()
        .as_bytes()
        .to_vec())
}

/// Signs as an MSP identity: the identity (MSP ID + certificate) and its private key.
///
/// This is what a client, an endorsing peer or the orderer holds. Its serialized identity
/// goes into `SignatureHeader.creator` or `Endorsement.endorser`.
#[derive(Clone, Debug)]
pub struct Signer {
    /// Who signs: MSP ID and certificate.
    identity: Identity,
    /// The key matching the certificate's public key.
    key: PrivateKey,
}

impl Signer {
    /// Pairs an identity with its key; fails if the key is not the certificate's.
    pub fn new(identity: Identity, key: PrivateKey) -> Result<Self, crate::error::MspError> {
        if identity.public_key()? != key.public_key() {
            return Err(crate::error::MspError::Certificate {
                what: "signer".into(),
                reason: "the private key does not match the certificate's public key".into(),
            });
        }
        Ok(Self { identity, key })
    }

    /// The identity that signs.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The MSP ID.
    pub fn msp_id(&self) -> &str {
        self.identity.msp_id()
    }

    /// The serialized identity (`msp.SerializedIdentity` bytes) that goes into headers.
    pub fn serialize(&self) -> Vec<u8> {
        self.identity.serialize()
    }

    /// Signs `msg` (see [`PrivateKey::sign`]).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.key.sign(msg)
    }
}

/// A helper on x509-parser's SPKI for error messages.
trait SpkiOid {
    fn from_der_spki(der: &[u8]) -> Option<String>;
}

impl SpkiOid for x509_parser::x509::SubjectPublicKeyInfo<'_> {
    fn from_der_spki(der: &[u8]) -> Option<String> {
        use x509_parser::prelude::FromDer as _;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der).ok()?;
        let mut s = spki.algorithm.algorithm.to_id_string();
        if let Some(p) = spki.algorithm.parameters.as_ref()
            && let Ok(oid) = p.as_oid()
        {
            s.push_str(&format!(" ({})", oid.to_id_string()));
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_are_low_s_and_verify() {
        let key = PrivateKey::generate_p256();
        let pk = key.public_key();
        for i in 0..64u8 {
            let msg = [i; 7];
            let sig = key.sign(&msg);
            let parsed = p256::ecdsa::Signature::from_der(&sig).unwrap();
            assert!(parsed.normalize_s().is_none(), "signature must be low-S");
            pk.verify(&msg, &sig).unwrap();
        }
    }

    #[test]
    fn high_s_is_rejected() {
        let key = PrivateKey::generate_p256();
        let pk = key.public_key();
        let msg = b"fabric";
        let sig = p256::ecdsa::Signature::from_der(&key.sign(msg)).unwrap();
        // s' = n - s: the same signature, high-S.
        let (r, s) = sig.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        let high_der = high.to_der().as_bytes().to_vec();
        assert!(matches!(pk.verify(msg, &high_der), Err(CryptoError::HighS)));
        let low = sig.to_der().as_bytes().to_vec();
        assert_eq!(ecdsa_low_s(&high_der).unwrap(), low);
        pk.verify(msg, &low).unwrap();
    }

    #[test]
    fn ed25519_signs_the_message() {
        let key = PrivateKey::generate_ed25519();
        let sig = key.sign(b"msg");
        assert_eq!(sig.len(), 64);
        key.public_key().verify(b"msg", &sig).unwrap();
        assert!(matches!(
            key.public_key().verify(b"other", &sig),
            Err(CryptoError::BadSignature)
        ));
    }

    #[test]
    fn pem_round_trip_both_algorithms() {
        for key in [PrivateKey::generate_p256(), PrivateKey::generate_ed25519()] {
            let pem = key.to_pkcs8_pem();
            let back = PrivateKey::from_pem(pem.as_bytes()).unwrap();
            assert_eq!(back.public_key(), key.public_key());
        }
    }

    #[test]
    fn sec1_keys_load() {
        let key = p256::SecretKey::random(&mut OsRng);
        let der = key.to_sec1_der().unwrap();
        let text = pem::encode("EC PRIVATE KEY", &der);
        let back = PrivateKey::from_pem(text.as_bytes()).unwrap();
        assert_eq!(
            back.public_key(),
            PublicKey::EcdsaP256(p256::ecdsa::VerifyingKey::from(key.public_key()).into())
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(PrivateKey::from_pem(b"nothing").is_err());
        assert!(
            PrivateKey::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
        let pk = PrivateKey::generate_p256().public_key();
        assert!(pk.verify(b"m", b"\x30\x02").is_err());
        assert!(PublicKey::from_spki_der(b"\x30\x00").is_err());
    }
}
