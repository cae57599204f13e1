//! sfcbc-devnet: an embedded, Fabric-compatible network in one process.
//!
//! A library of parts that `sfcbc devnet up`, the demo and the tests compose the same way:
//! - [`block`]: Fabric block hashes, assembly and the orderer's signature, as `protoutil` does;
//! - [`ledger`]: a channel's persistent ledger on redb (blocks, versioned world state,
//!   history, private data), one atomic write transaction per block;
//! - [`orderer`]: the block cutter and the ordering task that chains, signs and delivers blocks.

pub mod block;
pub mod ledger;
pub mod orderer;
