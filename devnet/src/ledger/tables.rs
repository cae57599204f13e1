//! The redb tables of a channel ledger. Keys are tuples, which redb orders element by
//! element, so a key that extends another (composite keys contain `\0`) never mixes with it.
//!
//! Strings compare as bytes, the order Fabric's leveldb state database uses for range queries.

use redb::TableDefinition;

/// (block, tx, value, metadata): a value with its version.
pub(crate) type VersionedRow = (u64, u64, &'static [u8], &'static [u8]);
/// (previous_hash, data_hash, header hash).
pub(crate) type HeaderRow = (&'static [u8], &'static [u8], &'static [u8]);
/// (namespace, key).
pub(crate) type StateKey = (&'static str, &'static str);
/// (namespace, key, block, tx).
pub(crate) type HistoryKey = (&'static str, &'static str, u64, u64);
/// (tx id, value or None for a delete, seconds, nanos).
pub(crate) type HistoryRow = (&'static str, Option<&'static [u8]>, i64, i32);
/// (namespace, collection, key).
pub(crate) type PrivateKey = (&'static str, &'static str, &'static str);
/// (namespace, collection, sha256(key)).
pub(crate) type HashedKey = (&'static str, &'static str, &'static [u8]);

/// number → serialized `common.Block`.
pub(crate) const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");

/// number → (previous_hash, data_hash, header hash): enough to verify the chain without
/// decoding blocks, and to answer `GetChainInfo`.
pub(crate) const HEADERS: TableDefinition<u64, HeaderRow> = TableDefinition::new("headers");

/// header hash → number (`GetBlockByHash`).
pub(crate) const BLOCK_BY_HASH: TableDefinition<&[u8], u64> = TableDefinition::new("block_by_hash");

/// tx id → (block, tx number, validation code). The first occurrence wins: a later
/// duplicate is invalid (DUPLICATE_TXID) and must not hide the original.
pub(crate) const TX_INDEX: TableDefinition<&str, (u64, u64, i32)> =
    TableDefinition::new("tx_index");

/// (namespace, key) → (block, tx, value, metadata).
pub(crate) const STATE: TableDefinition<StateKey, VersionedRow> = TableDefinition::new("state");

/// (namespace, key, block, tx) → (tx id, value or None for a delete, seconds, nanos).
pub(crate) const HISTORY: TableDefinition<HistoryKey, HistoryRow> = TableDefinition::new("history");

/// (namespace, collection, key) → (block, tx, value, metadata): private state on member peers.
pub(crate) const PRIVATE_STATE: TableDefinition<PrivateKey, VersionedRow> =
    TableDefinition::new("private_state");

/// (namespace, collection, sha256(key)) → (block, tx, sha256(value), metadata): the hashed
/// state every peer of the channel keeps.
pub(crate) const HASHED_STATE: TableDefinition<HashedKey, VersionedRow> =
    TableDefinition::new("hashed_state");

/// (block, tx) → serialized `rwset.TxPvtReadWriteSet`, for `DeliverWithPrivateData`.
pub(crate) const PRIVATE_RWSETS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("private_rwsets");
