//! Validated identities, cached as Fabric's MSP cache does (`msp/cache`: deserialisation
//! and validation results by serialized identity), and the committer's transaction checks
//! on top of it.
//!
//! Validation with [`ValidityTime::AsFabric`] does not depend on the clock, so a result
//! stays true for as long as the MSPs are the same; the cache forgets everything when it
//! sees another MSP manager (a new channel configuration) and when it is full.
//!
//! Signature checks go through [`verify`]: a signature that verified once under a
//! certificate is remembered process-wide by SHA-256(certificate ‖ message ‖ signature), so
//! the peers of a devnet, all in one process, check each signature of a block once instead
//! of once per peer (verification is deterministic; only successes are remembered).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use prost::Message as _;
use sfcbc_fabric::msp::{MspManager, ValidatedIdentity, ValidityTime};
use sfcbc_fabric::protos::common::{ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader};
use sfcbc_fabric::protos::protos::TxValidationCode;
use sfcbc_fabric::tx::{ParsedTransaction, compute_tx_id, parse_envelope, proposal_hash};
use sha2::{Digest, Sha256};

/// Entries kept before the cache starts over.
const CAPACITY: usize = 4096;

/// Validation results by serialized identity.
#[derive(Debug, Default)]
pub struct IdentityCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    /// Address of the MSP manager the entries were validated with.
    msps: usize,
    entries: HashMap<Vec<u8>, Result<ValidatedIdentity, String>>,
}

impl IdentityCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// `msps.validate_serialized(serialized, when)`, remembered.
    pub fn validate(
        &self,
        msps: &MspManager,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, String> {
        let cacheable = matches!(when, ValidityTime::AsFabric);
        let addr = msps as *const MspManager as usize;
        if cacheable {
            let mut c = self.lock();
            if c.msps != addr {
                c.msps = addr;
                c.entries.clear();
            }
            if let Some(r) = c.entries.get(serialized) {
                return r.clone();
            }
        }
        let r = msps
            .validate_serialized(serialized, when)
            .map_err(|e| e.to_string());
        if cacheable {
            let mut c = self.lock();
            if c.msps == addr {
                if c.entries.len() >= CAPACITY {
                    c.entries.clear();
                }
                c.entries.insert(serialized.to_vec(), r.clone());
            }
        }
        r
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Signatures remembered before the set starts over.
const VERIFIED_CAPACITY: usize = 1 << 16;

fn verified() -> &'static Mutex<HashSet<[u8; 32]>> {
    static VERIFIED: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();
    VERIFIED.get_or_init(|| Mutex::new(HashSet::new()))
}

/// `id.verify(msg, sig)`, remembering successes process-wide (see the module docs).
pub fn verify(id: &ValidatedIdentity, msg: &[u8], sig: &[u8]) -> Result<(), String> {
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
    id.verify(msg, sig).map_err(|e| e.to_string())?;
    let mut set = lock();
    if set.len() >= VERIFIED_CAPACITY {
        set.clear();
    }
    set.insert(key);
    Ok(())
}

/// An invalid transaction: its code and why.
pub(crate) type Invalid = (TxValidationCode, String);

/// Fabric's `ValidateTransaction` for an endorser transaction, as
/// `sfcbc_fabric::tx::validate_transaction` does it, with identities from the cache.
pub(crate) fn validate_envelope(
    env: &Envelope,
    msps: &MspManager,
    cache: &IdentityCache,
    when: ValidityTime,
) -> Result<ParsedTransaction, Invalid> {
    use TxValidationCode as C;
    let payload = Payload::decode(env.payload.as_slice())
        .map_err(|e| (C::BadPayload, format!("malformed Payload: {e}")))?;
    let header = payload
        .header
        .as_ref()
        .ok_or((C::BadCommonHeader, "Payload.header is missing".to_owned()))?;
    let chdr = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| (C::BadCommonHeader, format!("malformed ChannelHeader: {e}")))?;
    let shdr = SignatureHeader::decode(header.signature_header.as_slice()).map_err(|e| {
        (
            C::BadCommonHeader,
            format!("malformed SignatureHeader: {e}"),
        )
    })?;
    let t = chdr.r#type;
    if ![
        HeaderType::EndorserTransaction as i32,
        HeaderType::ConfigUpdate as i32,
        HeaderType::Config as i32,
    ]
    .contains(&t)
    {
        return Err((C::BadCommonHeader, format!("invalid header type {t}")));
    }
    if chdr.epoch != 0 {
        return Err((
            C::BadCommonHeader,
            format!("epoch is {}, not 0", chdr.epoch),
        ));
    }
    if shdr.nonce.is_empty() {
        return Err((C::BadCommonHeader, "nonce is empty".into()));
    }
    if shdr.creator.is_empty() {
        return Err((C::BadCommonHeader, "creator is empty".into()));
    }
    if env.signature.is_empty() {
        return Err((
            C::BadCreatorSignature,
            "Envelope.signature is missing".into(),
        ));
    }
    let creator = cache
        .validate(msps, &shdr.creator, when)
        .map_err(|e| (C::BadCreatorSignature, format!("creator is not valid: {e}")))?;
    verify(&creator, &env.payload, &env.signature).map_err(|e| {
        (
            C::BadCreatorSignature,
            format!("creator's signature is invalid: {e}"),
        )
    })?;
    if t != HeaderType::EndorserTransaction as i32 {
        return Err((
            C::UnsupportedTxPayload,
            format!("header type {t} is not ENDORSER_TRANSACTION"),
        ));
    }
    let expected = compute_tx_id(&shdr.nonce, &shdr.creator);
    if chdr.tx_id != expected {
        return Err((
            C::BadProposalTxid,
            format!(
                "incorrectly computed tx id `{}`; expected `{expected}`",
                chdr.tx_id
            ),
        ));
    }
    let bad = |m: String| (C::InvalidEndorserTransaction, m);
    let parsed = parse_envelope(env).map_err(|e| bad(e.to_string()))?;
    let action_shdr = SignatureHeader::decode(parsed.action_header.as_slice())
        .map_err(|e| bad(format!("malformed TransactionAction.header: {e}")))?;
    if action_shdr.nonce.is_empty() || action_shdr.creator.is_empty() {
        return Err(bad("TransactionAction.header lacks nonce or creator".into()));
    }
    let hash = proposal_hash(
        &header.channel_header,
        &parsed.action_header,
        &parsed.action_payload.chaincode_proposal_payload,
    );
    if hash != parsed.response_payload.proposal_hash {
        return Err(bad("proposal hash does not match the proposal".into()));
    }
    Ok(parsed)
}

/// The endorsers whose identity is valid and whose signature over response payload ‖
/// endorser verifies, each identity once (Fabric's `SignatureSetToValidIdentities`).
pub(crate) fn endorsers(
    parsed: &ParsedTransaction,
    msps: &MspManager,
    cache: &IdentityCache,
    when: ValidityTime,
) -> Vec<ValidatedIdentity> {
    let mut out: Vec<ValidatedIdentity> = Vec::new();
    let payload = &parsed.response_payload_bytes;
    for e in &parsed.endorsements {
        let Ok(id) = cache.validate(msps, &e.endorser, when) else {
            continue;
        };
        if out
            .iter()
            .any(|o| o.msp_id() == id.msp_id() && o.identity.cert_der() == id.identity.cert_der())
        {
            continue;
        }
        let mut msg = Vec::with_capacity(payload.len() + e.endorser.len());
        msg.extend_from_slice(payload);
        msg.extend_from_slice(&e.endorser);
        if verify(&id, &msg, &e.signature).is_ok() {
            out.push(id);
        }
    }
    out
}
