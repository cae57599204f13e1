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

/// Signatures remembered before the set starts over.
const VERIFIED_CAPACITY: usize = 1 << 16;

fn verified() -> &'static Mutex<HashSet<[u8; 32]>> {
    static VERIFIED: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();
    VERIFIED.get_or_init(|| Mutex::new(HashSet::new()))
}

/// `id.verify(msg, sig)`, remembering successes process-wide (see the module docs).
pub fn verify(id: &ValidatedIdentity, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let mut h = Sha256::new();
    let cert = id.identity.cert_der();
    h.update((cert.len() as u64).to_be_bytes());
    h.update(cert);
    h.update((msg.len() as u64).to_be_bytes());
    h.update(msg);
    h.update(sig);
    let key: [u8; 32] = h.finalize().into();
    let lock = || {
        verified()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if lock().contains(&key) {
        return Ok(());
    }
    id.verify(msg, sig)?;
    let mut set = lock();
    if set.len() >= VERIFIED_CAPACITY {
        set.clear();
    }
    set.insert(key);
    Ok(())
}
