//! The orderer's block archive and the subscriptions peers read it through.
//!
//! Every block the orderer writes is kept (in memory or in a [`Ledger`]) and announced on a
//! `watch` channel with the new height. A [`Subscription`] reads blocks in order from any
//! number and waits for new ones, like Fabric's Deliver with a stop position beyond the
//! height: a slow subscriber never loses a block, it reads the archive.

use std::sync::{Arc, PoisonError, RwLock};

use prost::Message;
use sfcbc_fabric::protos::common::Block;
use tokio::sync::watch;

use crate::block::{header_fields, last_config_index};
use crate::ledger::{BlockCommit, Ledger, LedgerError};

/// An error reading or writing the archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("block {number} in the orderer's ledger does not decode: {source}")]
    Decode {
        number: u64,
        #[source]
        source: prost::DecodeError,
    },
    #[error("block {got} cannot follow height {height}")]
    OutOfOrder { height: u64, got: u64 },
}

/// Where blocks live.
enum Backing {
    /// Blocks since start, for tests and throw-away networks.
    Memory(RwLock<Vec<Arc<Block>>>),
    /// Blocks on disk, so a restarted orderer resumes its chain.
    Ledger(Arc<Ledger>),
}

/// The chain the orderer has written, readable by any number of subscribers.
pub struct BlockArchive {
    backing: Backing,
    /// (height, closed): subscribers wait on it for new blocks or the end.
    progress: watch::Sender<(u64, bool)>,
}

impl std::fmt::Debug for BlockArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (height, closed) = *self.progress.borrow();
        f.debug_struct("BlockArchive")
            .field("height", &height)
            .field("closed", &closed)
            .finish()
    }
}

impl BlockArchive {
    /// An empty archive in memory.
    pub fn in_memory() -> Arc<Self> {
        Arc::new(Self {
            backing: Backing::Memory(RwLock::new(Vec::new())),
            progress: watch::Sender::new((0, false)),
        })
    }

    /// An archive on `ledger`, continuing from its height. Only blocks go into this ledger
    /// (no write sets): it is the orderer's own block store.
    pub fn on_ledger(ledger: Arc<Ledger>) -> Result<Arc<Self>, ArchiveError> {
        let height = ledger.height()?;
        Ok(Arc::new(Self {
            backing: Backing::Ledger(ledger),
            progress: watch::Sender::new((height, false)),
        }))
    }

    /// Whether appends reach the disk (and so wait for it).
    pub fn is_durable(&self) -> bool {
        matches!(self.backing, Backing::Ledger(_))
    }

    /// Number of blocks written.
    pub fn height(&self) -> u64 {
        self.progress.borrow().0
    }

    /// Block `number`, if written.
    pub fn get(&self, number: u64) -> Result<Option<Arc<Block>>, ArchiveError> {
        match &self.backing {
            Backing::Memory(blocks) => Ok(blocks
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(usize::try_from(number).unwrap_or(usize::MAX))
                .cloned()),
            Backing::Ledger(ledger) => {
                let Some(bytes) = ledger.snapshot()?.block_by_number(number)? else {
                    return Ok(None);
                };
                Block::decode(bytes.as_slice())
                    .map(|b| Some(Arc::new(b)))
                    .map_err(|source| ArchiveError::Decode { number, source })
            }
        }
    }

    /// The last block, if any.
    pub fn last(&self) -> Result<Option<Arc<Block>>, ArchiveError> {
        match self.height() {
            0 => Ok(None),
            h => self.get(h - 1),
        }
    }

    /// Appends a block that was built elsewhere, such as a channel's genesis config block.
    /// Its number must be the height; the hash link is checked by a ledger backing.
    pub fn append(&self, block: Block) -> Result<Arc<Block>, ArchiveError> {
        let fields = header_fields(&block);
        let height = self.height();
        if fields.number != height {
            return Err(ArchiveError::OutOfOrder {
                height,
                got: fields.number,
            });
        }
        if let Backing::Ledger(ledger) = &self.backing {
            ledger.commit_block(&BlockCommit {
                number: fields.number,
                previous_hash: fields.previous_hash.to_vec(),
                data_hash: fields.data_hash.to_vec(),
                block_bytes: block.encode_to_vec(),
                txs: Vec::new(),
            })?;
        }
        let block = Arc::new(block);
        if let Backing::Memory(blocks) = &self.backing {
            blocks
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .push(block.clone());
        }
        self.progress.send_modify(|(h, _)| *h += 1);
        Ok(block)
    }

    /// Reads blocks from `from` on; waits for blocks not yet written.
    pub fn subscribe(self: &Arc<Self>, from: u64) -> Subscription {
        Subscription {
            archive: self.clone(),
            next: from,
            progress: self.progress.subscribe(),
        }
    }

    /// No more blocks will come: waiting subscriptions end after the last block.
    pub(crate) fn close(&self) {
        self.progress.send_modify(|(_, closed)| *closed = true);
    }

    /// Where the next block goes: (number, previous hash, last config index).
    pub(crate) fn tip(&self) -> Result<(u64, Vec<u8>, u64), ArchiveError> {
        match self.last()? {
            None => Ok((0, Vec::new(), 0)),
            Some(last) => {
                let fields = header_fields(&last);
                // Block 0 is a config block; an unreadable index means none was recorded.
                let last_config = last_config_index(&last).unwrap_or(0);
                Ok((fields.number + 1, fields.hash().to_vec(), last_config))
            }
        }
    }
}

/// One reader's position in the archive.
#[derive(Debug)]
pub struct Subscription {
    archive: Arc<BlockArchive>,
    /// The number of the next block to return.
    next: u64,
    progress: watch::Receiver<(u64, bool)>,
}

impl Subscription {
    /// The next block in order, waiting for it if needed; `None` once the orderer has shut
    /// down and every block has been read.
    pub async fn next(&mut self) -> Option<Result<Arc<Block>, ArchiveError>> {
        loop {
            let (height, closed) = *self.progress.borrow_and_update();
            if self.next < height {
                let number = self.next;
                self.next += 1;
                return match self.archive.get(number) {
                    Ok(Some(block)) => Some(Ok(block)),
                    Ok(None) => None,
                    Err(e) => Some(Err(e)),
                };
            }
            if closed || self.progress.changed().await.is_err() {
                // Closed: blocks written before the close are still returned above.
                let (height, _) = *self.progress.borrow();
                if self.next >= height {
                    return None;
                }
            }
        }
    }

    /// The number the next call to [`Self::next`] returns.
    pub fn position(&self) -> u64 {
        self.next
    }
}
