//! sfcbc-devnet: an embedded, Fabric-compatible network in one process.
//!
//! A library of parts that `sfcbc devnet up`, the demo and the tests compose the same way:
//! - [`block`]: Fabric block hashes (data hash, ASN.1 DER header hash), assembly, the
//!   orderer's LAST_CONFIG/SIGNATURES metadata and its verification, TRANSACTIONS_FILTER —
//!   byte for byte as `protoutil` and the orderer's `BlockWriter` produce them;
//! - [`ledger`]: a channel's persistent ledger on redb (blocks by number, hash and tx id,
//!   versioned world state with paginated range queries, history, private data and its public
//!   hashes), one atomic, durable write transaction per block; [`ledger::block_commit`] turns
//!   a validated `common.Block` into what the ledger applies;
//! - [`orderer`]: the block cutter, the tokio task that applies BatchTimeout and chains, signs
//!   and archives blocks, subscriptions that deliver them in order, and the [`orderer::Registrar`]
//!   that routes Broadcast by channel with Fabric's statuses;
//! - [`simulator`]: the transaction simulator a proposal runs against, producing read/write
//!   sets exactly as Fabric's `rwsetutil` builds them;
//! - [`crypto`]: CAs, TLS CAs and MSP folders of every org in cryptogen's layout (P-256 or
//!   Ed25519, NodeOUs), loadable by `sfcbc_fabric::msp::MspDir` and accepted by real Fabric;
//! - [`channel`]: a channel's config block 0 as configtxgen builds it, and the
//!   [`channel::ChannelConfig`] read back from it (MSPs, policies, batch settings);
//! - [`chaincode`]: the peer side of the chaincode shim protocol, dialling CCaaS servers;
//! - [`endorser`]: the peer's `ProcessProposal` as Fabric's endorser (proposal checks, the
//!   `peer/Propose` ACL, simulation, Fabric's three response shapes, the transient store);
//! - [`validator`]: block validation as Fabric's txvalidator + v20 VSCC + MVCC, with every
//!   `TxValidationCode`; chaincode definitions and `collections_config.json`;
//! - [`committer`]: validate → TRANSACTIONS_FILTER → member-only private data → one atomic
//!   ledger commit;
//! - [`peer`]: one org's peer composing the above per channel (commit loop from the orderer,
//!   private data dissemination, `qscc` in [`qscc`]), and its `protos.Endorser` service;
//! - [`gateway`] and [`deliver`]: the `gateway.Gateway` and `protos.Deliver` gRPC services as
//!   Fabric 2.5's peer serves them;
//! - [`network`]: orderer + one peer per org on loopback ports, what `sfcbc devnet up`, the
//!   demo and the end-to-end tests start (`tests/network_sfc.rs`).
//!
//! The flow a peer builds on (see `tests/order_then_commit.rs`): `Registrar::broadcast` →
//! `OrdererHandle::subscribe(n).next()` → validate and `block::set_transactions_filter` →
//! `ledger::block_commit` → `Ledger::commit_block`; reads through `Ledger::snapshot`.

pub mod block;
pub mod chaincode;
pub mod channel;
pub mod committer;
pub mod crypto;
pub mod deliver;
pub mod endorser;
pub mod gateway;
pub mod ledger;
pub mod network;
pub mod orderer;
pub mod peer;
pub mod qscc;
pub mod simulator;
pub mod validator;
