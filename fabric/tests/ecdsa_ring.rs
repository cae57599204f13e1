//! ECDSA P-256 through ring against the RustCrypto `p256` crate and RFC 6979's published
//! vectors: what one signs the other verifies, both ways, and Fabric's low-S rule holds on
//! both sides (signatures come out low-S; a high-S signature is refused even though it is
//! mathematically valid).

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey};
use sfcbc_fabric::error::CryptoError;
use sfcbc_fabric::signer::{PrivateKey, PublicKey};

/// RFC 6979 A.2.5: the P-256 private key.
const RFC6979_X: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
/// RFC 6979 A.2.5, SHA-256, message "sample": r ‖ s (s is in the upper half).
const RFC6979_SAMPLE: &str = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716\
                              f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
/// RFC 6979 A.2.5, SHA-256, message "test": r ‖ s (s is in the lower half).
const RFC6979_TEST: &str = "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367\
                            019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083";

fn p256_key(key: &PrivateKey) -> SigningKey {
    match key {
        PrivateKey::EcdsaP256(k) => k.signing_key().clone(),
        PrivateKey::Ed25519(_) => panic!("not a P-256 key"),
    }
}

fn rfc_key() -> PrivateKey {
    let x = hex::decode(RFC6979_X).unwrap();
    PrivateKey::from_p256(SigningKey::from_slice(&x).unwrap()).unwrap()
}

fn der(rs_hex: &str) -> Vec<u8> {
    let rs = hex::decode(rs_hex).unwrap();
    Signature::from_slice(&rs)
        .unwrap()
        .to_der()
        .as_bytes()
        .to_vec()
}

#[test]
fn ring_signatures_verify_with_p256_and_are_low_s() {
    let key = PrivateKey::generate_p256();
    let vk = *p256_key(&key).verifying_key();
    for len in [0usize, 1, 31, 32, 33, 1000, 70_000] {
        let msg: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        let sig_der = key.sign(&msg);
        let sig = Signature::from_der(&sig_der).expect("our signatures are DER");
        assert!(
            sig.normalize_s().is_none(),
            "signature of {len} bytes is high-S"
        );
        vk.verify(&msg, &sig)
            .unwrap_or_else(|e| panic!("p256 refuses ring's signature over {len} bytes: {e}"));
        let mut other = msg.clone();
        other.push(1);
        assert!(vk.verify(&other, &sig).is_err());
    }
    // ring signs with a fresh k each time; p256's fallback (RFC 6979) would repeat itself.
    assert_ne!(key.sign(b"same"), key.sign(b"same"), "not signed by ring");
}

#[test]
fn p256_signatures_verify_with_ring() {
    let key = PrivateKey::generate_p256();
    let sk = p256_key(&key);
    let pk = key.public_key();
    for i in 0..32u8 {
        let msg = vec![i; 100 + usize::from(i)];
        let sig: Signature = sk.sign(&msg);
        let low = sig.normalize_s().unwrap_or(sig);
        pk.verify(&msg, low.to_der().as_bytes())
            .unwrap_or_else(|e| panic!("ring refuses p256's low-S signature #{i}: {e}"));
        assert!(matches!(
            pk.verify(b"another message", low.to_der().as_bytes()),
            Err(CryptoError::BadSignature)
        ));
    }
}

#[test]
fn rfc6979_vectors_verify_and_high_s_is_refused() {
    let key = rfc_key();
    let pk = key.public_key();
    let vk = *p256_key(&key).verifying_key();

    // "test": low-S as published, verifies.
    pk.verify(b"test", &der(RFC6979_TEST)).unwrap();

    // "sample": high-S as published. Mathematically valid (p256 accepts it), refused by
    // Fabric's rule; its low-S twin (n - s) verifies.
    let high = der(RFC6979_SAMPLE);
    vk.verify(b"sample", &Signature::from_der(&high).unwrap())
        .expect("the published signature is valid ECDSA");
    assert!(matches!(
        pk.verify(b"sample", &high),
        Err(CryptoError::HighS)
    ));
    let low = sfcbc_fabric::signer::ecdsa_low_s(&high).unwrap();
    assert_ne!(low, high);
    pk.verify(b"sample", &low).unwrap();
}

#[test]
fn high_s_twin_of_every_ring_signature_is_refused() {
    let key = PrivateKey::generate_p256();
    let pk = key.public_key();
    for i in 0..16u8 {
        let msg = [i; 40];
        let sig = Signature::from_der(&key.sign(&msg)).unwrap();
        let (r, s) = sig.split_scalars();
        let high = Signature::from_scalars(r, -*s).unwrap();
        assert!(matches!(
            pk.verify(&msg, high.to_der().as_bytes()),
            Err(CryptoError::HighS)
        ));
    }
}

#[test]
fn wrong_key_tampered_and_malformed_signatures_fail() {
    let key = PrivateKey::generate_p256();
    let other = PrivateKey::generate_p256().public_key();
    let msg = b"proposal bytes";
    let sig = key.sign(msg);
    assert!(matches!(
        other.verify(msg, &sig),
        Err(CryptoError::BadSignature)
    ));
    let mut tampered = sig.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(key.public_key().verify(msg, &tampered).is_err());
    assert!(matches!(
        key.public_key().verify(msg, &sig[..sig.len() - 1]),
        Err(CryptoError::MalformedSignature { .. })
    ));
    // The raw r ‖ s form is not what Fabric sends: refused.
    let raw = Signature::from_der(&sig).unwrap().to_bytes();
    assert!(matches!(
        key.public_key().verify(msg, &raw),
        Err(CryptoError::MalformedSignature { .. })
    ));
}

#[test]
fn pem_loaded_keys_sign_as_the_generated_one() {
    let key = PrivateKey::generate_p256();
    let back = PrivateKey::from_pem(key.to_pkcs8_pem().as_bytes()).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    key.public_key().verify(b"m", &back.sign(b"m")).unwrap();
    let PublicKey::EcdsaP256(pk) = key.public_key() else {
        panic!("P-256 expected");
    };
    assert_eq!(pk.sec1_uncompressed()[0], 4);
    assert_eq!(
        pk.sec1_uncompressed().as_slice(),
        p256_key(&key)
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
    );
}
