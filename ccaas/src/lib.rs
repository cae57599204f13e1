//! sfcbc-ccaas: the chaincode-as-a-service server for the SFC contract.
//!
//! A Fabric peer dials this server (`protos.Chaincode/Connect`) and drives the shim protocol:
//! [`server`] accepts the gRPC stream (plaintext, TLS or mutual TLS), [`handler`] runs the
//! handshake and one task per transaction, [`stub`] turns the contract's `Stub` calls into
//! shim requests, [`contract`] is what runs (the SFC contract or a test one), and [`package`]
//! builds the reproducible `peer lifecycle chaincode install` package that points a peer here.

pub mod contract;
pub mod handler;
pub mod package;
pub mod server;
pub mod stub;

pub use contract::{Contract, KvContract, Response, SfcContract};
pub use server::{ServerConfig, TlsPem, bind, serve};
pub use stub::ShimStub;
