//! Fabric blocks: header and data hashes, assembly, and the orderer's metadata signature.
//!
//! [`header`] holds the hash rules on plain fields (the ledger uses them to check its
//! chain without decoding protobufs).

pub mod assemble;
pub mod header;

pub use assemble::*;
pub use header::{HeaderFields, data_hash, header_bytes, header_hash};
