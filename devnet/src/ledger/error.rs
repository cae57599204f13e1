//! Ledger errors: what went wrong, with the values involved.

/// An error from the ledger store.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger store ({path}): {source}")]
    Open {
        path: String,
        #[source]
        source: redb::DatabaseError,
    },
    #[error(
        "channel name {0:?} is not valid: use lowercase letters, digits, '.' and '-', starting with a letter, at most 249 characters"
    )]
    BadChannelName(String),
    #[error("ledger directory {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("ledger store: {0}")]
    Store(#[from] redb::Error),
    #[error(
        "channel {channel}: block {got} cannot be committed at height {height}: blocks commit in order, the next is {height}"
    )]
    OutOfOrder {
        channel: String,
        height: u64,
        got: u64,
    },
    #[error(
        "channel {channel}: block {number} has previous hash {got} but block {} hashes to {want}",
        .number - 1
    )]
    BrokenChain {
        channel: String,
        number: u64,
        want: String,
        got: String,
    },
    #[error("channel {channel}: ledger is corrupt: {detail}")]
    Corrupt { channel: String, detail: String },
}

/// redb's operations each have their own error type; all convert into `redb::Error`.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for LedgerError {
            fn from(e: $t) -> Self {
                LedgerError::Store(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
