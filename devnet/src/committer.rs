//! The committing peer: validate a delivered block, set its TRANSACTIONS_FILTER, pick the
//! private data this peer may keep, and commit block + state atomically.
//!
//! - [`TransientStore`]: private rwsets by tx id between endorsement and commit (Fabric's
//!   transient store; in memory here: a restart loses endorsed-but-uncommitted private data,
//!   which Fabric would then fetch from other member peers — devnet marks it missing).
//! - [`Committer::commit`]: [`Validator::validate_and_set_filter`] on the ledger's snapshot;
//!   for each VALID transaction, the private writes of the collections this peer's org is a
//!   member of (an implicit collection `_implicit_org_X` only on X's peers), taken from the
//!   transient store and matched against the public `pvt_rwset_hash` collection by
//!   collection; then [`crate::ledger::block_commit`] and [`Ledger::commit_block`] (one atomic
//!   write); then the block's entries leave the transient store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use sfcbc_fabric::protos::common::Block;
use sfcbc_fabric::protos::protos::TxValidationCode;
use sfcbc_fabric::protos::rwset::{NsPvtReadWriteSet, TxPvtReadWriteSet};
use sha2::{Digest, Sha256};

use crate::block::header_fields;
use crate::ledger::{DecodeError, Ledger, LedgerError, block_commit};
use crate::validator::{BlockValidation, ChaincodeDefinitions, Validator, ValidatorError};

/// Blocks after which an uncommitted private rwset is dropped (Fabric's
/// `peer.gossip.pvtData.transientstoreMaxBlockRetention`).
pub const TRANSIENT_MAX_BLOCK_RETENTION: u64 = 1000;

/// Private rwsets of endorsed transactions, by tx id, until their block commits.
#[derive(Debug, Default)]
pub struct TransientStore {
    /// tx id → (ledger height at endorsement, private rwset), one per endorsement received.
    entries: Mutex<HashMap<String, Vec<(u64, TxPvtReadWriteSet)>>>,
}

impl TransientStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(u64, TxPvtReadWriteSet)>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `pvt` for `tx_id`, endorsed at ledger height `height` (Fabric's `Persist`).
    pub fn persist(&self, tx_id: &str, height: u64, pvt: TxPvtReadWriteSet) {
        let mut e = self.lock();
        let list = e.entry(tx_id.to_owned()).or_default();
        if !list.iter().any(|(_, p)| *p == pvt) {
            list.push((height, pvt));
        }
    }

    /// Every private rwset received for `tx_id`.
    pub fn get(&self, tx_id: &str) -> Vec<TxPvtReadWriteSet> {
        self.lock()
            .get(tx_id)
            .map(|l| l.iter().map(|(_, p)| p.clone()).collect())
            .unwrap_or_default()
    }

    /// Drops the entries of these tx ids (after their block committed).
    pub fn purge_by_tx_ids<'a>(&self, tx_ids: impl IntoIterator<Item = &'a str>) {
        let mut e = self.lock();
        for id in tx_ids {
            e.remove(id);
        }
    }

    /// Drops entries endorsed below `height`.
    pub fn purge_below_height(&self, height: u64) {
        let mut e = self.lock();
        e.retain(|_, l| {
            l.retain(|(h, _)| *h >= height);
            !l.is_empty()
        });
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a block could not be committed (the peer stops committing this channel).
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("block {got} delivered, but the ledger expects block {expected}")]
    OutOfOrder { expected: u64, got: u64 },
    #[error(transparent)]
    Validator(#[from] ValidatorError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// A committed block with its validation results.
#[derive(Debug, Clone)]
pub struct CommittedBlock {
    /// The block as stored (TRANSACTIONS_FILTER set).
    pub block: Block,
    pub validation: BlockValidation,
    /// Its header hash.
    pub hash: [u8; 32],
}

/// A channel's committer on one peer.
pub struct Committer {
    ledger: Arc<Ledger>,
    validator: Validator,
    transient: Arc<TransientStore>,
    /// This peer's org.
    local_msp: String,
    /// One commit at a time.
    lock: Mutex<()>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer")
            .field("channel", &self.ledger.channel())
            .field("local_msp", &self.local_msp)
            .finish_non_exhaustive()
    }
}

impl Committer {
    pub fn new(
        ledger: Arc<Ledger>,
        validator: Validator,
        transient: Arc<TransientStore>,
        local_msp: impl Into<String>,
    ) -> Self {
        Self {
            ledger,
            validator,
            transient,
            local_msp: local_msp.into(),
            lock: Mutex::new(()),
        }
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    pub fn transient(&self) -> &Arc<TransientStore> {
        &self.transient
    }

    /// Validates and commits the next block. Blocking (signature checks and a durable
    /// write): from async code call it in `spawn_blocking`.
    pub fn commit(&self, mut block: Block) -> Result<CommittedBlock, CommitError> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let number = header_fields(&block).number;
        let expected = self.ledger.height()?;
        if number != expected {
            return Err(CommitError::OutOfOrder {
                expected,
                got: number,
            });
        }
        let snapshot = self.ledger.snapshot()?;
        let validation = self
            .validator
            .validate_and_set_filter(&mut block, &snapshot)?;
        drop(snapshot);

        let mut private: BTreeMap<u64, TxPvtReadWriteSet> = BTreeMap::new();
        for (i, tx) in validation.txs.iter().enumerate() {
            if tx.code != TxValidationCode::Valid || tx.private_collections.is_empty() {
                continue;
            }
            if let Some(p) = self.private_for(tx) {
                private.insert(i as u64, p);
            }
        }
        let commit = block_commit(&block, &private)?;
        let hash = self.ledger.commit_block(&commit)?;
        self.transient.purge_by_tx_ids(
            validation
                .txs
                .iter()
                .map(|t| t.tx_id.as_str())
                .filter(|t| !t.is_empty()),
        );
        if number > TRANSIENT_MAX_BLOCK_RETENTION && number % 100 == 0 {
            self.transient
                .purge_below_height(number - TRANSIENT_MAX_BLOCK_RETENTION);
        }
        Ok(CommittedBlock {
            block,
            validation,
            hash,
        })
    }

    /// The private data of a valid tx this peer keeps: per collection it is a member of, a
    /// transient entry whose collection rwset matches the public hash.
    fn private_for(&self, tx: &crate::validator::TxOutcome) -> Option<TxPvtReadWriteSet> {
        let candidates = self.transient.get(&tx.tx_id);
        if candidates.is_empty() {
            return None;
        }
        let defs = self.validator.definitions();
        let mut out = TxPvtReadWriteSet::default();
        for r in &tx.private_collections {
            if !is_member(defs.as_ref(), &r.namespace, &r.collection, &self.local_msp) {
                continue;
            }
            let found = candidates.iter().find_map(|p| {
                p.ns_pvt_rwset
                    .iter()
                    .filter(|n| n.namespace == r.namespace)
                    .flat_map(|n| &n.collection_pvt_rwset)
                    .find(|c| {
                        c.collection_name == r.collection
                            && Sha256::digest(&c.rwset)[..] == r.pvt_rwset_hash[..]
                    })
                    .map(|c| (p.data_model, c.clone()))
            });
            let Some((data_model, coll)) = found else {
                tracing::warn!(
                    tx_id = %tx.tx_id,
                    namespace = %r.namespace,
                    collection = %r.collection,
                    "private data missing at commit (not in the transient store)"
                );
                continue;
            };
            out.data_model = data_model;
            match out
                .ns_pvt_rwset
                .iter_mut()
                .find(|n| n.namespace == r.namespace)
            {
                Some(n) => n.collection_pvt_rwset.push(coll),
                None => out.ns_pvt_rwset.push(NsPvtReadWriteSet {
                    namespace: r.namespace.clone(),
                    collection_pvt_rwset: vec![coll],
                }),
            }
        }
        (!out.ns_pvt_rwset.is_empty()).then_some(out)
    }
}

/// Whether org `msp_id` keeps the private data of `collection` of chaincode `namespace`.
pub fn is_member(
    definitions: &dyn ChaincodeDefinitions,
    namespace: &str,
    collection: &str,
    msp_id: &str,
) -> bool {
    definitions
        .definition(namespace)
        .and_then(|d| d.collection(collection))
        .is_some_and(|c| c.is_member(msp_id))
}
