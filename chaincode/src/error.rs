//! What a transaction can fail with, and the response status each failure maps to.
//!
//! Fabric treats a chaincode response status ≥ 400 as an error and returns the message to
//! the client, so every variant carries a message a user can act on: what was wrong, with
//! which value, and what to do.

use crate::stub::StubError;

/// A failed transaction. The status codes follow HTTP, as Fabric's `shim.ERROR` (500) does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// 400: an argument or transient field is missing or malformed; `field` names it.
    #[error("bad input `{field}`: {reason}")]
    BadInput { field: String, reason: String },
    /// 403: the caller may not do this.
    #[error("access denied: {0}")]
    Forbidden(String),
    /// 404: the chain, hop or record does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: the request is well-formed but conflicts with the ledger (chain exists already,
    /// chain disabled, input hash already used).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 500: a ledger value this contract wrote no longer parses.
    #[error("corrupt ledger value at {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// 500: the stub (the peer) failed.
    #[error("ledger access failed: {0}")]
    Stub(#[from] StubError),
}

impl ContractError {
    /// A bad-input error for `field`.
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ContractError::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The response status the peer returns for this error.
    pub fn status(&self) -> i32 {
        match self {
            ContractError::BadInput { .. } => 400,
            ContractError::Forbidden(_) => 403,
            ContractError::NotFound(_) => 404,
            ContractError::Conflict(_) => 409,
            ContractError::Corrupt { .. } | ContractError::Stub(_) => 500,
        }
    }
}

pub type Result<T, E = ContractError> = std::result::Result<T, E>;
