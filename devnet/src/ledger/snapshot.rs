//! Consistent reads: every query of one [`Snapshot`] sees the same committed height, as a
//! Fabric query executor does during a simulation.

use std::ops::Bound;

use redb::{ReadTransaction, ReadableTable};
use sha2::{Digest, Sha256};

use super::tables::*;
use super::{
    ChainInfo, HashedValue, Height, KeyModification, LedgerError, RangePage, Timestamp, TxLocation,
    VersionedKv, VersionedValue,
};
use crate::block::header_hash;

/// A read view of a channel ledger at one height.
pub struct Snapshot {
    /// Names the channel in errors.
    channel: String,
    txn: ReadTransaction,
}

/// A block header as the ledger stores it, with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHeader {
    pub number: u64,
    pub previous_hash: Vec<u8>,
    pub data_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl Snapshot {
    pub(super) fn new(channel: String, txn: ReadTransaction) -> Self {
        Self { channel, txn }
    }

    /// Number of blocks (the next block number).
    pub fn height(&self) -> Result<u64, LedgerError> {
        let headers = self.txn.open_table(HEADERS)?;
        Ok(headers.last()?.map_or(0, |(n, _)| n.value() + 1))
    }

    /// `GetChainInfo`: height, the last block's hash and its previous hash.
    pub fn chain_info(&self) -> Result<ChainInfo, LedgerError> {
        let headers = self.txn.open_table(HEADERS)?;
        Ok(match headers.last()? {
            None => ChainInfo::default(),
            Some((n, h)) => {
                let (prev, _, hash) = h.value();
                ChainInfo {
                    height: n.value() + 1,
                    current_block_hash: hash.to_vec(),
                    previous_block_hash: prev.to_vec(),
                }
            }
        })
    }

    /// The stored header of block `number`.
    pub fn header(&self, number: u64) -> Result<Option<StoredHeader>, LedgerError> {
        let headers = self.txn.open_table(HEADERS)?;
        Ok(headers.get(number)?.map(|h| {
            let (prev, data, hash) = h.value();
            StoredHeader {
                number,
                previous_hash: prev.to_vec(),
                data_hash: data.to_vec(),
                hash: hash.to_vec(),
            }
        }))
    }

    /// Checks every header hash and that each block names its predecessor's hash, and that
    /// every block's bytes are present. Returns the number of blocks checked.
    pub fn verify_chain(&self) -> Result<u64, LedgerError> {
        let headers = self.txn.open_table(HEADERS)?;
        let blocks = self.txn.open_table(BLOCKS)?;
        let mut prev_hash: Option<Vec<u8>> = None;
        let mut expected = 0u64;
        for entry in headers.range(0u64..)? {
            let (n, h) = entry?;
            let number = n.value();
            let (prev, data, hash) = h.value();
            if number != expected {
                return Err(self.corrupt(format!("block {expected} is missing (found {number})")));
            }
            if header_hash(number, prev, data)[..] != *hash {
                return Err(
                    self.corrupt(format!("block {number}: stored hash does not match header"))
                );
            }
            if let Some(p) = &prev_hash
                && p[..] != *prev
            {
                return Err(LedgerError::BrokenChain {
                    channel: self.channel.clone(),
                    number,
                    want: hex::encode(p),
                    got: hex::encode(prev),
                });
            }
            if blocks.get(number)?.is_none() {
                return Err(self.corrupt(format!("block {number}: header without block bytes")));
            }
            prev_hash = Some(hash.to_vec());
            expected += 1;
        }
        Ok(expected)
    }

    /// `GetBlockByNumber`: the serialized `common.Block`.
    pub fn block_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        let blocks = self.txn.open_table(BLOCKS)?;
        Ok(blocks.get(number)?.map(|b| b.value().to_vec()))
    }

    /// `GetBlockByHash`.
    pub fn block_by_hash(&self, hash: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let by_hash = self.txn.open_table(BLOCK_BY_HASH)?;
        let number = by_hash.get(hash)?.map(|n| n.value());
        match number {
            Some(n) => self.block_by_number(n),
            None => Ok(None),
        }
    }

    /// Where tx `tx_id` committed and its validation code (`GetTransactionByID`,
    /// `CommitStatus`).
    pub fn tx_location(&self, tx_id: &str) -> Result<Option<TxLocation>, LedgerError> {
        let index = self.txn.open_table(TX_INDEX)?;
        Ok(index.get(tx_id)?.map(|g| {
            let (block_num, tx_num, validation_code) = g.value();
            TxLocation {
                block_num,
                tx_num,
                validation_code,
            }
        }))
    }

    /// `GetBlockByTxID`.
    pub fn block_by_tx_id(&self, tx_id: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        match self.tx_location(tx_id)? {
            Some(loc) => self.block_by_number(loc.block_num),
            None => Ok(None),
        }
    }

    /// The current value and version of a public key.
    pub fn state(&self, namespace: &str, key: &str) -> Result<Option<VersionedValue>, LedgerError> {
        let state = self.txn.open_table(STATE)?;
        Ok(state.get((namespace, key))?.map(|g| versioned(g.value())))
    }

    /// The version of a public key (what an MVCC check compares), `None` if absent.
    pub fn state_version(&self, namespace: &str, key: &str) -> Result<Option<Height>, LedgerError> {
        let state = self.txn.open_table(STATE)?;
        Ok(state.get((namespace, key))?.map(|g| {
            let (b, t, _, _) = g.value();
            Height::new(b, t)
        }))
    }

    /// A range query over public state, as the peer runs `GetStateByRange` and its paginated
    /// form: keys in `[start, end)` in byte order; an empty `start` means the namespace's first
    /// key, an empty `end` its last. With `page_size` > 0 at most that many results are
    /// returned and `bookmark` names the next key (pass it as `start` for the next page), or
    /// is empty when the range is exhausted. `page_size` 0 returns the whole range.
    /// Partial composite key queries are ranges too: see [`super::partial_composite_range`].
    pub fn state_range(
        &self,
        namespace: &str,
        start: &str,
        end: &str,
        page_size: u32,
    ) -> Result<RangePage, LedgerError> {
        let state = self.txn.open_table(STATE)?;
        let lower = Bound::Included((namespace, start));
        let upper = if end.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded((namespace, end))
        };
        let mut page = RangePage::default();
        for entry in state.range((lower, upper))? {
            let (k, v) = entry?;
            let (ns, key) = k.value();
            if ns != namespace {
                break;
            }
            if page_size > 0 && page.results.len() == page_size as usize {
                page.bookmark = key.to_owned();
                break;
            }
            page.results.push(VersionedKv {
                key: key.to_owned(),
                value: versioned(v.value()),
            });
        }
        Ok(page)
    }

    /// `GetHistoryForKey`: every committed write of the key by a valid tx, newest first.
    pub fn history(&self, namespace: &str, key: &str) -> Result<Vec<KeyModification>, LedgerError> {
        let history = self.txn.open_table(HISTORY)?;
        let range = (namespace, key, 0u64, 0u64)..=(namespace, key, u64::MAX, u64::MAX);
        let mut out = Vec::new();
        for entry in history.range(range)?.rev() {
            let (k, v) = entry?;
            let (_, _, block_num, tx_num) = k.value();
            let (tx_id, value, seconds, nanos) = v.value();
            out.push(KeyModification {
                tx_id: tx_id.to_owned(),
                value: value.map(<[u8]>::to_vec).unwrap_or_default(),
                timestamp: Timestamp { seconds, nanos },
                is_delete: value.is_none(),
                height: Height::new(block_num, tx_num),
            });
        }
        Ok(out)
    }

    /// A private value, on peers of the collection's member orgs.
    pub fn private_data(
        &self,
        namespace: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<VersionedValue>, LedgerError> {
        let table = self.txn.open_table(PRIVATE_STATE)?;
        Ok(table
            .get((namespace, collection, key))?
            .map(|g| versioned(g.value())))
    }

    /// A range over a collection's private state, with the same rules as
    /// [`Self::state_range`].
    pub fn private_data_range(
        &self,
        namespace: &str,
        collection: &str,
        start: &str,
        end: &str,
        page_size: u32,
    ) -> Result<RangePage, LedgerError> {
        let table = self.txn.open_table(PRIVATE_STATE)?;
        let lower = Bound::Included((namespace, collection, start));
        let upper = if end.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded((namespace, collection, end))
        };
        let mut page = RangePage::default();
        for entry in table.range((lower, upper))? {
            let (k, v) = entry?;
            let (ns, coll, key) = k.value();
            if ns != namespace || coll != collection {
                break;
            }
            if page_size > 0 && page.results.len() == page_size as usize {
                page.bookmark = key.to_owned();
                break;
            }
            page.results.push(VersionedKv {
                key: key.to_owned(),
                value: versioned(v.value()),
            });
        }
        Ok(page)
    }

    /// The public hash of a private value by its key (`GetPrivateDataHash`): every channel
    /// peer has it.
    pub fn private_data_hash(
        &self,
        namespace: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<HashedValue>, LedgerError> {
        self.private_data_hash_by_key_hash(namespace, collection, &Sha256::digest(key.as_bytes()))
    }

    /// The public hash of a private value by the key's SHA-256 (what validators see).
    pub fn private_data_hash_by_key_hash(
        &self,
        namespace: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<HashedValue>, LedgerError> {
        let table = self.txn.open_table(HASHED_STATE)?;
        Ok(table.get((namespace, collection, key_hash))?.map(|g| {
            let (b, t, value_hash, metadata) = g.value();
            HashedValue {
                value_hash: value_hash.to_vec(),
                metadata: metadata.to_vec(),
                version: Height::new(b, t),
            }
        }))
    }

    /// The serialized `rwset.TxPvtReadWriteSet` this peer stored for tx `tx_num` of a block.
    pub fn private_rwset(
        &self,
        block_num: u64,
        tx_num: u64,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        let table = self.txn.open_table(PRIVATE_RWSETS)?;
        Ok(table.get((block_num, tx_num))?.map(|g| g.value().to_vec()))
    }

    fn corrupt(&self, detail: String) -> LedgerError {
        LedgerError::Corrupt {
            channel: self.channel.clone(),
            detail,
        }
    }
}

fn versioned((b, t, value, metadata): (u64, u64, &[u8], &[u8])) -> VersionedValue {
    VersionedValue {
        value: value.to_vec(),
        metadata: metadata.to_vec(),
        version: Height::new(b, t),
    }
}
