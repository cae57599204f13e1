//! sfcbc-fabric: Hyperledger Fabric's wire protocols for every sfcbc crate.
