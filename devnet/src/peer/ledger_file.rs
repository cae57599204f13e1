//! Opening a channel's ledger so that a crash while it is being created leaves nothing behind.
//!
//! redb writes a new database's header and tables in several steps; a `kill -9` in between
//! left a `<channel>.redb` that no later open accepts ("Not a redb database"), and the devnet
//! could not start again. A new ledger is therefore made in `<dir>/.creating/`, closed, and
//! renamed into place: `<channel>.redb` either does not exist or is a whole database.

use std::path::Path;

use crate::ledger::{Ledger, LedgerError};

/// Where ledgers are made before they are renamed into `dir`.
const CREATING: &str = ".creating";

/// Opens the ledger of `channel` in `dir`, creating it atomically if it does not exist.
pub fn open_ledger(dir: &Path, channel: &str) -> Result<Ledger, LedgerError> {
    let file = format!("{channel}.redb");
    let path = dir.join(&file);
    if !path.exists() {
        let staging = dir.join(CREATING);
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |source| LedgerError::Io { path: p, source }
        };
        // What an interrupted creation left is garbage: start it over.
        let partial = staging.join(&file);
        if partial.exists() {
            std::fs::remove_file(&partial).map_err(io(&partial))?;
        }
        drop(Ledger::open(&staging, channel)?);
        std::fs::rename(&partial, &path).map_err(io(&path))?;
        // The rename is durable once the directory is.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ledger::open(dir, channel)
}

#[cfg(test)]
mod tests {
    use super::open_ledger;

    #[test]
    fn a_partial_creation_is_redone_and_a_whole_ledger_reopened() {
        let dir = tempfile::tempdir().expect("temp dir");
        // What a kill during redb's first writes leaves: a file that is no database.
        let staging = dir.path().join(super::CREATING);
        std::fs::create_dir_all(&staging).expect("staging dir");
        std::fs::write(staging.join("ch.redb"), b"redb\0half").expect("partial file");

        let ledger = open_ledger(dir.path(), "ch").expect("created over the partial file");
        assert_eq!(ledger.height().expect("height"), 0);
        assert!(dir.path().join("ch.redb").exists());
        assert!(!staging.join("ch.redb").exists(), "moved into place");
        drop(ledger);
        let again = open_ledger(dir.path(), "ch").expect("reopened");
        assert_eq!(again.height().expect("height"), 0);
    }
}
