//! The peer side of the chaincode shim protocol, for chaincode-as-a-service: the peer dials
//! the chaincode server, as Fabric's `extcc` runtime does, and then plays Fabric's
//! `core/chaincode/handler.go`:
//!
//! 1. [`ChaincodeHandle::connect`] dials the [`ChaincodeTarget`] (a `connection.json`:
//!    address, dial timeout, TLS root and optional client certificate), calls
//!    `protos.Chaincode/Connect`, waits for REGISTER (its `ChaincodeID.name` must be the
//!    expected package id) and answers REGISTERED then READY (with the peer's runtime
//!    parameters, as Fabric 2.5+ peers send them).
//! 2. [`ChaincodeHandle::execute`] sends a TRANSACTION (or INIT) with the `ChaincodeInput`,
//!    tx id, channel and `SignedProposal`, and serves the chaincode's requests against the
//!    caller's [`crate::simulator::TxSimulator`] until COMPLETED or ERROR. Range queries
//!    answer in batches of 100 with QUERY_STATE_NEXT/CLOSE and honour pagination metadata,
//!    as Fabric's `QueryResponseGenerator` does; rich queries fail as on LevelDB.
//!
//! Transactions run concurrently on one stream, routed by (channel, tx id). KEEPALIVEs are
//! ignored (and sent when configured). A broken stream fails its in-flight transactions
//! ("chaincode stream terminated") and the next `execute` dials again. A message the peer
//! cannot handle in the ready state ends the stream, as Fabric's handler does; a malformed
//! request payload is answered with ERROR and the transaction continues.

mod conn;
mod error;
mod exec;
mod target;

use std::time::Duration;

use sfcbc_fabric::protos::protos as pb;

pub use conn::ChaincodeHandle;
pub use error::ChaincodeError;
pub use target::{ChaincodeTarget, DEFAULT_DIAL_TIMEOUT, TargetTls};

/// How the peer runs chaincodes (Fabric's `chaincode.*` peer settings).
#[derive(Debug, Clone)]
pub struct ChaincodeConfig {
    /// `chaincode.executetimeout` (Fabric: 30 s).
    pub execute_timeout: Duration,
    /// How long to wait for REGISTER after the Connect stream opens.
    pub register_timeout: Duration,
    /// `chaincode.keepalive`: KEEPALIVE interval; `None` sends none (Fabric's default 0).
    pub keepalive: Option<Duration>,
    /// Results per QUERY_STATE_NEXT batch (Fabric: 100).
    pub max_result_limit: usize,
    /// `ledger.state.totalQueryLimit` (Fabric: 100000).
    pub total_query_limit: i32,
    /// The READY payload (`chaincode.runtimeParams`); `None` sends READY without payload.
    pub runtime_params: Option<pb::ChaincodeAdditionalParams>,
    /// Largest gRPC message accepted or sent (Fabric peers: 100 MiB).
    pub max_message_size: usize,
}

impl Default for ChaincodeConfig {
    fn default() -> Self {
        Self {
            execute_timeout: Duration::from_secs(30),
            register_timeout: Duration::from_secs(10),
            keepalive: None,
            max_result_limit: 100,
            total_query_limit: 100_000,
            runtime_params: Some(pb::ChaincodeAdditionalParams {
                use_write_batch: true,
                max_size_write_batch: 1000,
                use_get_multiple_keys: true,
                max_size_get_multiple_keys: 1000,
            }),
            max_message_size: 100 * 1024 * 1024,
        }
    }
}

/// One chaincode invocation, as the endorser hands it over.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub channel_id: String,
    pub tx_id: String,
    /// The chaincode name: the namespace of its state.
    pub chaincode_name: String,
    /// Arguments (and decorations), as in the proposal's `ChaincodeInvocationSpec`.
    pub input: pb::ChaincodeInput,
    /// Forwarded to the chaincode (creator, transient map, binding).
    pub signed_proposal: Option<pb::SignedProposal>,
    /// Sends INIT instead of TRANSACTION (private data APIs are then refused).
    pub init: bool,
}

/// A finished chaincode execution: the chaincode's response (any status) and its event,
/// with `chaincode_id` and `tx_id` set by the peer as Fabric does.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaincodeOutcome {
    pub response: pb::Response,
    pub event: Option<pb::ChaincodeEvent>,
}

impl Invocation {
    /// The invocation a validated proposal asks for: its channel, tx id, chaincode, input
    /// and the signed proposal itself (the chaincode reads creator and transient data there).
    pub fn from_proposal(p: &sfcbc_fabric::tx::UnpackedProposal) -> Self {
        Self {
            channel_id: p.channel_id().to_owned(),
            tx_id: p.tx_id().to_owned(),
            chaincode_name: p.chaincode_name.clone(),
            input: p.input.clone(),
            signed_proposal: Some(p.signed.clone()),
            init: p.input.is_init,
        }
    }
}
