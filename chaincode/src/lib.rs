//! sfcbc-chaincode: the SFC-BC contract.
//!
//! All SFC logic lives here, as pure functions of a [`Stub`]: no I/O, no clock, no randomness.
//! Peers run it through the CCaaS server in `sfcbc-ccaas`.

pub mod stub;

pub use stub::{
    ChaincodeEvent, Creator, KeyModification, KeyValue, QueryMetadata, Stub, StubError,
    TxTimestamp,
};
