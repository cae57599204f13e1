//! Committing a block: one redb write transaction for the block, its indexes and the
//! writes of its valid transactions.

use redb::ReadableTable;

use super::tables::*;
use super::{BlockCommit, Height, Ledger, LedgerError, TX_VALID, TxCommit};
use crate::block::header_hash;

impl Ledger {
    /// Appends `block` and applies the write sets of its VALID transactions, atomically
    /// and durably: when this returns `Ok` the block survives a crash; if the process dies
    /// before, a reopened ledger has none of it.
    ///
    /// The block must be the next one (`number == height`) and, after the genesis block,
    /// its `previous_hash` must be the header hash of the current last block.
    /// Returns the block's header hash.
    pub fn commit_block(&self, block: &BlockCommit) -> Result<[u8; 32], LedgerError> {
        let hash = header_hash(block.number, &block.previous_hash, &block.data_hash);
        let txn = self.db.begin_write()?;
        {
            let mut headers = txn.open_table(HEADERS)?;
            let last = headers
                .last()?
                .map(|(n, h)| (n.value(), h.value().2.to_vec()));
            let height = last.as_ref().map_or(0, |(n, _)| n + 1);
            if block.number != height {
                return Err(LedgerError::OutOfOrder {
                    channel: self.channel.clone(),
                    height,
                    got: block.number,
                });
            }
            if let Some((_, last_hash)) = &last
                && *last_hash != block.previous_hash
            {
                return Err(LedgerError::BrokenChain {
                    channel: self.channel.clone(),
                    number: block.number,
                    want: hex::encode(last_hash),
                    got: hex::encode(&block.previous_hash),
                });
            }
            headers.insert(
                block.number,
                (&block.previous_hash[..], &block.data_hash[..], &hash[..]),
            )?;
            txn.open_table(BLOCKS)?
                .insert(block.number, &block.block_bytes[..])?;
            txn.open_table(BLOCK_BY_HASH)?
                .insert(&hash[..], block.number)?;

            let mut tx_index = txn.open_table(TX_INDEX)?;
            let mut tables = WriteTables {
                state: txn.open_table(STATE)?,
                history: txn.open_table(HISTORY)?,
                private_state: txn.open_table(PRIVATE_STATE)?,
                hashed_state: txn.open_table(HASHED_STATE)?,
                private_rwsets: txn.open_table(PRIVATE_RWSETS)?,
            };
            for (tx_num, tx) in block.txs.iter().enumerate() {
                let height = Height::new(block.number, tx_num as u64);
                if !tx.tx_id.is_empty() && tx_index.get(tx.tx_id.as_str())?.is_none() {
                    tx_index.insert(
                        tx.tx_id.as_str(),
                        (height.block_num, height.tx_num, tx.validation_code),
                    )?;
                }
                if tx.validation_code == TX_VALID {
                    tables.apply(tx, height)?;
                }
            }
        }
        txn.commit()?;
        self.committed.send_replace(block.number + 1);
        Ok(hash)
    }
}

/// The tables a valid transaction writes to, open for the block's write transaction.
struct WriteTables<'t> {
    state: redb::Table<'t, StateKey, VersionedRow>,
    history: redb::Table<'t, HistoryKey, HistoryRow>,
    private_state: redb::Table<'t, PrivateKey, VersionedRow>,
    hashed_state: redb::Table<'t, HashedKey, VersionedRow>,
    private_rwsets: redb::Table<'t, (u64, u64), &'static [u8]>,
}

impl WriteTables<'_> {
    fn apply(&mut self, tx: &TxCommit, at: Height) -> Result<(), LedgerError> {
        let (b, t) = (at.block_num, at.tx_num);
        for w in &tx.writes {
            let key = (w.namespace.as_str(), w.key.as_str());
            match &w.value {
                Some(v) => {
                    // A value write keeps the key's metadata, as Fabric's txops do.
                    let metadata = self
                        .state
                        .get(key)?
                        .map(|g| g.value().3.to_vec())
                        .unwrap_or_default();
                    self.state.insert(key, (b, t, &v[..], &metadata[..]))?;
                }
                None => {
                    self.state.remove(key)?;
                }
            }
            self.history.insert(
                (w.namespace.as_str(), w.key.as_str(), b, t),
                (
                    tx.tx_id.as_str(),
                    w.value.as_deref(),
                    tx.timestamp.seconds,
                    tx.timestamp.nanos,
                ),
            )?;
        }
        for m in &tx.metadata_writes {
            // Fabric ignores metadata written to a key that does not exist.
            let key = (m.namespace.as_str(), m.key.as_str());
            let current = self.state.get(key)?.map(|g| g.value().2.to_vec());
            if let Some(value) = current {
                self.state
                    .insert(key, (b, t, &value[..], &m.metadata[..]))?;
            }
        }
        for h in &tx.hashed_writes {
            let key = (h.namespace.as_str(), h.collection.as_str(), &h.key_hash[..]);
            match &h.value_hash {
                Some(vh) => {
                    let metadata = self
                        .hashed_state
                        .get(key)?
                        .map(|g| g.value().3.to_vec())
                        .unwrap_or_default();
                    self.hashed_state
                        .insert(key, (b, t, &vh[..], &metadata[..]))?;
                }
                None => {
                    self.hashed_state.remove(key)?;
                }
            }
        }
        for p in &tx.private_writes {
            let key = (p.namespace.as_str(), p.collection.as_str(), p.key.as_str());
            match &p.value {
                Some(v) => {
                    let metadata = self
                        .private_state
                        .get(key)?
                        .map(|g| g.value().3.to_vec())
                        .unwrap_or_default();
                    self.private_state
                        .insert(key, (b, t, &v[..], &metadata[..]))?;
                }
                None => {
                    self.private_state.remove(key)?;
                }
            }
        }
        for m in &tx.hashed_metadata_writes {
            let key = (m.namespace.as_str(), m.collection.as_str(), &m.key_hash[..]);
            let current = self.hashed_state.get(key)?.map(|g| g.value().2.to_vec());
            if let Some(value_hash) = current {
                self.hashed_state
                    .insert(key, (b, t, &value_hash[..], &m.metadata[..]))?;
            }
        }
        for m in &tx.private_metadata_writes {
            let key = (m.namespace.as_str(), m.collection.as_str(), m.key.as_str());
            let current = self.private_state.get(key)?.map(|g| g.value().2.to_vec());
            if let Some(value) = current {
                self.private_state
                    .insert(key, (b, t, &value[..], &m.metadata[..]))?;
            }
        }
        if let Some(rwset) = &tx.private_rwset {
            self.private_rwsets.insert((b, t), &rwset[..])?;
        }
        Ok(())
    }
}
