//! How a devnet peer reaches identities: the channel's MSPs (which remember what they
//! validated, as Fabric's MSP cache does), with signature checks remembered process-wide.
//! [`PeerIdentities`] is what the validator and the endorser hand to `sfcbc_fabric::tx`'s
//! checks.
//!
//! A signature that verified once under a certificate is remembered by SHA-256(certificate
//! ‖ message ‖ signature), so the nodes of a devnet, all in one process, check each signature
//! once instead of once per node (verification is deterministic; only successes are
//! remembered).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use sfcbc_fabric::error::{CryptoError, MspError};
use sfcbc_fabric::msp::{IdentityValidator, MspManager, ValidatedIdentity, ValidityTime};
use sha2::{Digest, Sha256};

/// A channel's MSPs as a peer consults them: signatures remembered process-wide.
#[derive(Clone, Copy, Debug)]
pub struct PeerIdentities<'a> {
    /// The channel's MSPs.
    pub msps: &'a MspManager,
}

impl IdentityValidator for PeerIdentities<'_> {
    fn validate_serialized(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        self.msps.validate_serialized(serialized, when)
    }

    fn verify(&self, id: &ValidatedIdentity, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        verify(id, msg, sig)
    }
}

/// Signatures remembered per generation. Two generations are kept, so a signature verified
/// just before the newer one fills up (the orderer's check of an envelope that the
/// validators are about to check again) is still remembered after the turnover.
const VERIFIED_GENERATION: usize = 1 << 15;

/// Recently verified signatures: `current` fills up, then becomes `previous`.
#[derive(Default)]
struct Verified {
    current: HashSet<[u8; 32]>,
    previous: HashSet<[u8; 32]>,
}

fn verified() -> &'static Mutex<Verified> {
    static VERIFIED: OnceLock<Mutex<Verified>> = OnceLock::new();
    VERIFIED.get_or_init(|| Mutex::new(Verified::default()))
}

/// What a verified signature is remembered by: SHA-256(certificate ‖ message ‖ signature),
/// lengths included so that no two different triples run together the same way.
fn memo_key(id: &ValidatedIdentity, msg: &[u8], sig: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    let cert = id.identity.cert_der();
    h.update((cert.len() as u64).to_be_bytes());
    h.update(cert);
    h.update((msg.len() as u64).to_be_bytes());
    h.update(msg);
    h.update(sig);
    h.finalize().into()
}

/// `id.verify(msg, sig)`, remembering successes process-wide (see the module docs).
pub fn verify(id: &ValidatedIdentity, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let key = memo_key(id, msg, sig);
    let lock = || {
        verified()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    {
        let v = lock();
        if v.current.contains(&key) || v.previous.contains(&key) {
            return Ok(());
        }
    }
    id.verify(msg, sig)?;
    let mut v = lock();
    if v.current.len() >= VERIFIED_GENERATION {
        v.previous = std::mem::take(&mut v.current);
    }
    v.current.insert(key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{KeyAlgorithm, OrgSpec, generate};
    use sfcbc_fabric::msp::MspVerifier;

    fn org1() -> (tempfile::TempDir, MspManager, sfcbc_fabric::signer::Signer) {
        let dir = tempfile::tempdir().unwrap();
        let org = generate(
            dir.path(),
            &OrgSpec::peer_org("Org1"),
            KeyAlgorithm::EcdsaP256,
        )
        .unwrap();
        let msps: MspManager = [MspVerifier::new(&org.msp_config().unwrap()).unwrap()]
            .into_iter()
            .collect();
        let user = org.user_signer("User1").unwrap();
        (dir, msps, user)
    }

    #[test]
    fn remembered_signatures_still_answer_as_the_key_does() {
        let (_dir, msps, user) = org1();
        let ids = PeerIdentities { msps: &msps };
        let id = ids
            .validate_serialized(&user.serialize(), ValidityTime::AsFabric)
            .unwrap();
        let msg = b"envelope payload".to_vec();
        let sig = user.sign(&msg);
        for _ in 0..3 {
            ids.verify(&id, &msg, &sig).unwrap();
        }
        // Failures are never remembered: the same bad signature fails every time.
        let mut bad = sig.clone();
        *bad.last_mut().unwrap() ^= 1;
        for _ in 0..3 {
            assert!(ids.verify(&id, &msg, &bad).is_err());
        }
        assert!(ids.verify(&id, b"another payload", &sig).is_err());
    }

    #[test]
    fn a_signature_remembered_for_one_certificate_is_not_anothers() {
        let (_dir, msps, user) = org1();
        let (_dir2, msps2, other) = org1();
        let msg = b"proposal".to_vec();
        let sig = user.sign(&msg);
        let id = msps
            .validate_serialized(&user.serialize(), ValidityTime::AsFabric)
            .unwrap();
        verify(&id, &msg, &sig).unwrap();
        let other_id = msps2
            .validate_serialized(&other.serialize(), ValidityTime::AsFabric)
            .unwrap();
        assert!(matches!(
            verify(&other_id, &msg, &sig),
            Err(CryptoError::BadSignature)
        ));
    }

    #[test]
    fn a_signature_outlives_a_generation_turnover() {
        let (_dir, msps, user) = org1();
        let id = msps
            .validate_serialized(&user.serialize(), ValidityTime::AsFabric)
            .unwrap();
        let msg = b"kept".to_vec();
        let sig = user.sign(&msg);
        verify(&id, &msg, &sig).unwrap();
        // Fill the current generation with other (fake) entries until it turns over.
        {
            let mut v = verified().lock().unwrap();
            let mut n = 0u64;
            while v.current.len() < VERIFIED_GENERATION {
                let mut k = [0xa5u8; 32];
                k[..8].copy_from_slice(&n.to_be_bytes());
                v.current.insert(k);
                n += 1;
            }
        }
        verify(&id, b"turnover", &user.sign(b"turnover")).unwrap();
        {
            // Other tests share the memo, so look only at our own entry.
            let v = verified().lock().unwrap();
            let key = memo_key(&id, &msg, &sig);
            assert!(v.current.contains(&key) || v.previous.contains(&key));
        }
        verify(&id, &msg, &sig).unwrap();
        let mut bad = sig;
        *bad.last_mut().unwrap() ^= 1;
        assert!(verify(&id, &msg, &bad).is_err());
    }
}
