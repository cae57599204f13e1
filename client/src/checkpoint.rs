//! Where event processing stands, so that a restarted listener resumes with no event lost or
//! repeated (fabric-gateway's `Checkpoint`, `InMemoryCheckpointer`, `FileCheckpointer`).
//!
//! A checkpoint is (block number in which the next event is expected, id of the last
//! transaction processed in that block). Pass it with `EventsOptions::checkpoint`: the
//! gateway restarts at that block and skips events up to and including that transaction.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::ChaincodeEvent;

/// The current position of event processing.
pub trait Checkpoint {
    /// The block in which the next event is expected.
    fn block_number(&self) -> u64;
    /// The last successfully processed transaction in that block; empty when none.
    fn transaction_id(&self) -> &str;
}

/// A checkpoint kept in memory only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InMemoryCheckpointer {
    block_number: u64,
    transaction_id: String,
}

impl InMemoryCheckpointer {
    /// A fresh checkpoint (unset: the events' own start position applies).
    pub fn new() -> Self {
        Self::default()
    }

    /// Block `block_number` is fully processed: resume at the next one.
    pub fn checkpoint_block(&mut self, block_number: u64) {
        self.checkpoint_transaction(block_number + 1, "");
    }

    /// Transaction `transaction_id` in block `block_number` is processed.
    pub fn checkpoint_transaction(&mut self, block_number: u64, transaction_id: &str) {
        self.block_number = block_number;
        self.transaction_id = transaction_id.to_string();
    }

    /// `event` is processed.
    pub fn checkpoint_chaincode_event(&mut self, event: &ChaincodeEvent) {
        self.checkpoint_transaction(event.block_number, &event.tx_id);
    }
}

impl Checkpoint for InMemoryCheckpointer {
    fn block_number(&self) -> u64 {
        self.block_number
    }
    fn transaction_id(&self) -> &str {
        &self.transaction_id
    }
}

/// On-disk form, the same JSON as fabric-gateway's `FileCheckpointer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    block_number: u64,
    transaction_id: String,
}

/// A checkpoint persisted in a JSON file (`{"blockNumber":N,"transactionId":"..."}`, the
/// format of fabric-gateway's `FileCheckpointer`). Every update replaces the file atomically
/// (write to a temporary file, fsync, rename), so a crash leaves the old or the new position,
/// never a torn file.
#[derive(Debug)]
pub struct FileCheckpointer {
    path: PathBuf,
    state: State,
}

impl FileCheckpointer {
    /// Opens (or creates) the checkpoint file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let err = |reason: String| Error::Checkpoint {
            path: path.clone(),
            reason,
        };
        let state = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => State::default(),
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| err(format!("not a checkpoint ({e}); delete it to start over")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(err(e.to_string())),
        };
        let cp = Self { path, state };
        cp.save()?;
        Ok(cp)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Block `block_number` is fully processed: resume at the next one.
    pub fn checkpoint_block(&mut self, block_number: u64) -> Result<()> {
        self.checkpoint_transaction(block_number + 1, "")
    }

    /// Transaction `transaction_id` in block `block_number` is processed.
    pub fn checkpoint_transaction(
        &mut self,
        block_number: u64,
        transaction_id: &str,
    ) -> Result<()> {
        self.state = State {
            block_number,
            transaction_id: transaction_id.to_string(),
        };
        self.save()
    }

    /// `event` is processed.
    pub fn checkpoint_chaincode_event(&mut self, event: &ChaincodeEvent) -> Result<()> {
        self.checkpoint_transaction(event.block_number, &event.tx_id)
    }

    fn save(&self) -> Result<()> {
        use std::io::Write as _;
        let err = |e: std::io::Error| Error::Checkpoint {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        let json = serde_json::to_vec(&self.state).expect("a checkpoint always serializes");
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = self.path.with_file_name(tmp_name);
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&json).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        Ok(())
    }
}

impl Checkpoint for FileCheckpointer {
    fn block_number(&self) -> u64 {
        self.state.block_number
    }
    fn transaction_id(&self) -> &str {
        &self.state.transaction_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(block: u64, tx: &str) -> ChaincodeEvent {
        ChaincodeEvent {
            block_number: block,
            tx_id: tx.into(),
            chaincode_name: "cc".into(),
            event_name: "e".into(),
            payload: Vec::new(),
        }
    }

    #[test]
    fn in_memory_positions() {
        let mut c = InMemoryCheckpointer::new();
        assert_eq!((c.block_number(), c.transaction_id()), (0, ""));
        c.checkpoint_chaincode_event(&event(5, "t1"));
        assert_eq!((c.block_number(), c.transaction_id()), (5, "t1"));
        c.checkpoint_block(5);
        assert_eq!((c.block_number(), c.transaction_id()), (6, ""));
    }

    #[test]
    fn file_checkpoint_survives_reopen_and_uses_fabric_gateway_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        {
            let mut c = FileCheckpointer::open(&path).unwrap();
            assert_eq!(c.block_number(), 0);
            c.checkpoint_chaincode_event(&event(7, "abc")).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, r#"{"blockNumber":7,"transactionId":"abc"}"#);
        let mut c = FileCheckpointer::open(&path).unwrap();
        assert_eq!((c.block_number(), c.transaction_id()), (7, "abc"));
        c.checkpoint_block(7).unwrap();
        let c = FileCheckpointer::open(&path).unwrap();
        assert_eq!((c.block_number(), c.transaction_id()), (8, ""));
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = FileCheckpointer::open(&path).unwrap_err().to_string();
        assert!(e.contains("not a checkpoint"), "{e}");
        std::fs::write(&path, "").unwrap();
        assert_eq!(FileCheckpointer::open(&path).unwrap().block_number(), 0);
    }
}
