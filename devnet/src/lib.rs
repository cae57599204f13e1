//! sfcbc-devnet: an embedded, Fabric-compatible network in one process.
