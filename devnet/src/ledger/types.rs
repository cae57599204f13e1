//! What goes into the ledger and what comes out of it, in Fabric's own terms.

/// Fabric's state version: the block and the transaction (within the block) that last wrote
/// a key (`version.Height`). Ordered as Fabric compares them: block first, then tx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height {
    pub block_num: u64,
    pub tx_num: u64,
}

impl Height {
    pub const fn new(block_num: u64, tx_num: u64) -> Self {
        Self { block_num, tx_num }
    }
}

/// A world-state value with the version a reader records in its read set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedValue {
    pub value: Vec<u8>,
    /// Key-level metadata (e.g. a state-based endorsement policy); empty when none.
    pub metadata: Vec<u8>,
    pub version: Height,
}

/// A key and its versioned value, as a range query yields them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedKv {
    pub key: String,
    pub value: VersionedValue,
}

/// One page of a range query. MVCC phantom checks re-run the query and compare keys and
/// versions, so results carry their versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangePage {
    pub results: Vec<VersionedKv>,
    /// The key to start the next page from; empty when the range is exhausted (Fabric's
    /// leveldb scanner returns the next key it would have read, or "").
    pub bookmark: String,
}

/// A private-data key hash and value hash with the version of the hashed write, as every
/// channel member keeps them (Fabric's `ns$$h<collection>` namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedValue {
    pub value_hash: Vec<u8>,
    pub metadata: Vec<u8>,
    pub version: Height,
}

/// A (block, tx) position with the tx's validation code: what `GetTransactionByID` and
/// `CommitStatus` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    pub block_num: u64,
    pub tx_num: u64,
    /// `protos.TxValidationCode` as its i32 number; 0 is VALID.
    pub validation_code: i32,
}

/// qscc's `GetChainInfo` (`common.BlockchainInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainInfo {
    pub height: u64,
    pub current_block_hash: Vec<u8>,
    pub previous_block_hash: Vec<u8>,
}

/// A proposal or block timestamp, as `google.protobuf.Timestamp` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

/// One entry of `GetHistoryForKey` (`queryresult.KeyModification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyModification {
    pub tx_id: String,
    pub value: Vec<u8>,
    pub timestamp: Timestamp,
    pub is_delete: bool,
    /// Where the write committed; newest entries come first in a history page.
    pub height: Height,
}

/// The validation code Fabric gives a valid transaction (`TxValidationCode.VALID`).
pub const TX_VALID: i32 = 0;

/// A block ready to be committed: its bytes as delivered (the `common.Block` with the
/// TRANSACTIONS_FILTER already set by the validator) plus what the validator decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCommit {
    pub number: u64,
    pub previous_hash: Vec<u8>,
    pub data_hash: Vec<u8>,
    /// The serialized `common.Block`, stored and served verbatim.
    pub block_bytes: Vec<u8>,
    /// One entry per `data` entry of the block, in order.
    pub txs: Vec<TxCommit>,
}

/// One transaction of a block with its validation result and decoded write sets.
/// Only the writes of a VALID transaction are applied; every transaction is indexed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxCommit {
    /// Empty for transactions without an id (Fabric's config txs may have none); those are
    /// not indexed by id.
    pub tx_id: String,
    pub validation_code: i32,
    pub timestamp: Timestamp,
    pub writes: Vec<KvWrite>,
    /// Key-level metadata writes (state-based endorsement), applied after `writes`.
    pub metadata_writes: Vec<KvMetadataWrite>,
    /// The hashes of private writes, in the public rwset; every peer applies them.
    pub hashed_writes: Vec<HashedWrite>,
    /// Metadata writes of private keys, by key hash (public, every peer applies them).
    pub hashed_metadata_writes: Vec<HashedMetadataWrite>,
    /// The private writes themselves; only peers of member orgs have them.
    pub private_writes: Vec<PrivateWrite>,
    /// Metadata writes of private keys in clear, on member peers.
    pub private_metadata_writes: Vec<PrivateMetadataWrite>,
    /// The tx's serialized `rwset.TxPvtReadWriteSet`, kept per (block, tx) to serve
    /// `DeliverWithPrivateData`; `None` when this peer has no private data for the tx.
    pub private_rwset: Option<Vec<u8>>,
}

/// A public write: `value == None` deletes the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvWrite {
    pub namespace: String,
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// A write of a key's metadata (`kvrwset.KVMetadataWrite`), serialized as the peer stores
/// it. Ignored when the key does not exist, as Fabric does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvMetadataWrite {
    pub namespace: String,
    pub key: String,
    pub metadata: Vec<u8>,
}

/// A private write's public trace: SHA-256 of the key and of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedWrite {
    pub namespace: String,
    pub collection: String,
    pub key_hash: Vec<u8>,
    /// `None` deletes.
    pub value_hash: Option<Vec<u8>>,
}

/// A private key's metadata write as the public rwset carries it (by key hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedMetadataWrite {
    pub namespace: String,
    pub collection: String,
    pub key_hash: Vec<u8>,
    pub metadata: Vec<u8>,
}

/// A private key's metadata write in clear, for member peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateMetadataWrite {
    pub namespace: String,
    pub collection: String,
    pub key: String,
    pub metadata: Vec<u8>,
}

/// A private write in clear, for member peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateWrite {
    pub namespace: String,
    pub collection: String,
    pub key: String,
    /// `None` deletes.
    pub value: Option<Vec<u8>>,
}

impl KvWrite {
    pub fn put(namespace: &str, key: &str, value: impl Into<Vec<u8>>) -> Self {
        Self {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: Some(value.into()),
        }
    }

    pub fn delete(namespace: &str, key: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: None,
        }
    }
}

impl PrivateWrite {
    /// The public hashed write Fabric derives from this private write.
    pub fn hashed(&self) -> HashedWrite {
        use sha2::{Digest, Sha256};
        HashedWrite {
            namespace: self.namespace.clone(),
            collection: self.collection.clone(),
            key_hash: Sha256::digest(self.key.as_bytes()).to_vec(),
            value_hash: self.value.as_ref().map(|v| Sha256::digest(v).to_vec()),
        }
    }
}
