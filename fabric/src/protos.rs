//! Fabric's protobuf messages and gRPC services, generated at build time from our own
//! `.proto` files in `fabric/protos/` (Fabric's packages, names and field numbers; see
//! `build.rs`). Modules carry Fabric's package names:
//!
//! | module | proto package | contents |
//! |---|---|---|
//! | [`common`] | `common` | envelopes, headers, blocks, config, policies, MSP principals |
//! | [`msp`] | `msp` | serialized identities, MSP configuration |
//! | [`protos`] | `protos` | peer: proposals, transactions, chaincode shim, events, query |
//! | [`lifecycle`] | `lifecycle` | `_lifecycle` system chaincode arguments and results |
//! | [`orderer`] | `orderer` | atomic broadcast and orderer configuration |
//! | [`gateway`] | `gateway` | the Fabric Gateway service |
//! | [`rwset`] / [`rwset::kvrwset`] | `rwset` / `kvrwset` | read-write sets |
//! | [`queryresult`] | `queryresult` | state iterator results |
//!
//! `google.protobuf.Timestamp` is [`prost_types::Timestamp`]. gRPC clients are created from a
//! `tonic::transport::Channel` (the generated code has no `connect(dst)` constructor,
//! because `protos.Chaincode` has an rpc named `Connect`).

/// Package `common`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}

/// Package `msp`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod msp {
    include!(concat!(env!("OUT_DIR"), "/msp.rs"));
}

/// Package `protos` (the peer's messages and services).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}

/// Package `lifecycle` (the `_lifecycle` system chaincode).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod lifecycle {
    include!(concat!(env!("OUT_DIR"), "/lifecycle.rs"));
}

/// Package `orderer`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod orderer {
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
}

/// Package `gateway`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod gateway {
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}

/// Package `rwset`; its `kvrwset` package is nested here as [`rwset::kvrwset`].
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod rwset {
    include!(concat!(env!("OUT_DIR"), "/rwset.rs"));

    /// Package `kvrwset`.
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod kvrwset {
        include!(concat!(env!("OUT_DIR"), "/kvrwset.rs"));
    }
}

/// Package `kvrwset`, also reachable as [`rwset::kvrwset`].
pub use rwset::kvrwset;

/// Package `queryresult`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod queryresult {
    include!(concat!(env!("OUT_DIR"), "/queryresult.rs"));
}

/// The encoded `google.protobuf.FileDescriptorSet` of every `.proto` file in
/// `fabric/protos/` (and the well-known types they import), exactly as `build.rs` compiled
/// them. Useful for gRPC server reflection and for checking our wire facts in tests.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/fabric_descriptor_set.bin"));
