//! The ordering service: envelopes in, signed blocks chained by hash out, as Fabric's
//! orderer with one consenter (solo-like) produces them.
//!
//! - [`cutter`]: the block cutter rules (MaxMessageCount, PreferredMaxBytes, AbsoluteMaxBytes);
//! - [`archive`]: the written chain (memory or a ledger file) and subscriptions to it;
//! - [`registrar`]: the channels of the service and Broadcast's routing and checks;
//! - [`service`]: the tokio task that applies BatchTimeout, signs blocks and shuts down
//!   gracefully.

pub mod archive;
pub mod cutter;
pub mod registrar;
pub mod service;

pub use archive::{ArchiveError, BlockArchive, Subscription};
pub use cutter::{BatchSize, BlockCutter, Ordered, TooLarge, message_size_bytes};
pub use registrar::{AllowAll, ChannelExists, Registrar, WritersPolicy};
pub use service::{BroadcastError, Orderer, OrdererConfig, OrdererError, OrdererHandle};

#[cfg(test)]
mod tests;
