//! sfcbc-fabric: Hyperledger Fabric's wire protocols for every sfcbc crate.
//!
//! - [`protos`]: Fabric's messages and gRPC services, generated from our own `.proto` files.
//! - [`msp`]: MSP folders, identities and their verification against an MSP's roots.
//! - [`signer`]: ECDSA P-256 (low-S) and Ed25519 signers.
//! - [`tx`]: proposals, proposal responses and endorsed envelopes, built and checked.
//! - [`policy`]: Fabric's signature-policy language and ImplicitMeta policies.

pub mod error;
pub mod msp;
pub mod net;
pub mod policy;
pub mod protos;
pub mod signer;
pub mod tx;

pub use error::Error;
pub use msp::{
    Identity, MspDir, MspManager, MspRole, MspVerifier, ValidatedIdentity, ValidityTime,
};
pub use signer::{PrivateKey, PublicKey, Signer};
