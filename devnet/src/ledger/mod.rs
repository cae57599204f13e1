//! A channel's persistent ledger on redb, as one Fabric peer keeps it.
//!
//! One redb file per channel holds the block store (by number, by header hash, tx id →
//! (block, tx, validation code)), the versioned world state, the history index, private
//! data with its public hashes, and private rwsets per tx. [`Ledger::commit_block`] writes a
//! block and its valid txs' writes in ONE redb write transaction, durable when it returns: after
//! a crash a reopened ledger has the whole block or none of it. Reads go through a
//! [`Snapshot`], a consistent view like Fabric's query executor.

mod commit;
pub mod composite;
mod decode;
mod error;
mod snapshot;
mod tables;
mod types;

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase};
use tokio::sync::watch;

pub use composite::{composite_key, partial_composite_range};
pub use decode::{DecodeError, block_commit};
pub use error::LedgerError;
pub use snapshot::Snapshot;
pub use types::*;

/// redb's page cache per ledger file (redb's default is 1 GiB, per file: a devnet of five
/// nodes and a channel per chain would hold gigabytes of cache).
const CACHE_BYTES: usize = 32 << 20;

/// The ledger of one channel on one peer.
#[derive(Debug)]
pub struct Ledger {
    /// Names the channel in errors.
    channel: String,
    /// Where the redb file lives, for messages.
    path: PathBuf,
    db: Database,
    /// The committed height, announced after each commit: deliver services and commit-status
    /// waiters wait on it instead of polling.
    committed: watch::Sender<u64>,
}

impl Ledger {
    /// Opens (creating if needed) the ledger of `channel` in `dir` (file `<channel>.redb`).
    /// The channel name must be valid in Fabric (it also names the file).
    pub fn open(dir: &Path, channel: &str) -> Result<Self, LedgerError> {
        if !valid_channel_name(channel) {
            return Err(LedgerError::BadChannelName(channel.to_owned()));
        }
        std::fs::create_dir_all(dir).map_err(|source| LedgerError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join(format!("{channel}.redb"));
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|source| LedgerError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let ledger = Ledger {
            channel: channel.to_owned(),
            path,
            db,
            committed: watch::Sender::new(0),
        };
        ledger.create_tables()?;
        ledger.committed.send_replace(ledger.height()?);
        Ok(ledger)
    }

    /// The channel this ledger belongs to.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The redb file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent read view of everything committed so far. Drop it when done: while it
    /// lives, redb keeps the pages it sees, so a snapshot held for long grows the file.
    pub fn snapshot(&self) -> Result<Snapshot, LedgerError> {
        Ok(Snapshot::new(self.channel.clone(), self.db.begin_read()?))
    }

    /// Number of committed blocks (the next block number).
    pub fn height(&self) -> Result<u64, LedgerError> {
        self.snapshot()?.height()
    }

    /// Follows the committed height: the receiver sees every later `commit_block`.
    pub fn watch_height(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Read tables must exist before a read transaction can open them.
    fn create_tables(&self) -> Result<(), LedgerError> {
        let txn = self.db.begin_write()?;
        txn.open_table(tables::BLOCKS)?;
        txn.open_table(tables::HEADERS)?;
        txn.open_table(tables::BLOCK_BY_HASH)?;
        txn.open_table(tables::TX_INDEX)?;
        txn.open_table(tables::STATE)?;
        txn.open_table(tables::HISTORY)?;
        txn.open_table(tables::PRIVATE_STATE)?;
        txn.open_table(tables::HASHED_STATE)?;
        txn.open_table(tables::PRIVATE_RWSETS)?;
        txn.commit()?;
        Ok(())
    }
}

/// Fabric's channel name rule: `[a-z][a-z0-9.-]*`, fewer than 250 characters.
pub fn valid_channel_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() < 250
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
}

#[cfg(test)]
mod tests;
