//! sfcbc-client: a Fabric Gateway client and the typed SFC contract API on top of it.
//!
//! The API mirrors hyperledger/fabric-gateway's (`pkg/client`), so a Fabric developer feels
//! at home: [`Gateway`] (one identity connected to one gateway peer) → [`Network`] (a
//! channel) → [`Contract`] (a chaincode) → [`Proposal`] → [`Transaction`] → [`Commit`] →
//! [`Status`]. `evaluate_transaction` / `submit_transaction` are sugar over those steps,
//! which stay public for off-line signing and asynchronous commits. Events: chaincode events
//! through the gateway (with [`checkpoint`]ing) and blocks through the peer's `Deliver`
//! service. Failures carry Fabric's details ([`GatewayError`]: step, endpoint, tx id, gRPC
//! code, per-peer `ErrorDetail`s; [`Error::Commit`]: validation code).
//! [`SfcContract`] is the SFC chaincode's transactions with its own Rust types.
//!
//! Everything speaks Fabric's wire protocols only, so it works the same against a real
//! Fabric 2.4+ peer (tested against 2.5.16) and against sfcbc's devnet.

pub mod ca;
pub mod checkpoint;
pub mod classifier;
pub mod contract;
pub mod error;
pub mod events;
pub mod gateway;
pub mod k8s;
pub mod local_ledger;
pub mod network;
pub mod profile;
pub mod proposal;
pub mod sf;
pub mod sfc;
pub mod tools;
pub mod ui;

pub use checkpoint::{Checkpoint, FileCheckpointer, InMemoryCheckpointer};
pub use contract::{Contract, ProposalBuilder};
pub use error::{Error, GatewayError, Result, Step};
pub use events::{
    BlockEvents, BlockEventsRequest, ChaincodeEvent, ChaincodeEvents, ChaincodeEventsRequest,
    EventsOptions, StartPosition, block_tx_ids,
};
pub use gateway::{Gateway, GatewayBuilder, Sign, Timeouts, TlsOptions};
pub use network::Network;
pub use proposal::{Commit, Proposal, Status, Transaction};
pub use sfc::{PrivateWrite, SfcContract, SfcEvent};

#[cfg(test)]
pub(crate) mod test_util {
    use sfcbc_fabric::{Identity, PrivateKey, Signer};

    /// A P-256 signer with a self-signed certificate.
    pub fn signer(msp: &str) -> Signer {
        let key = PrivateKey::generate_p256();
        let kp = rcgen::KeyPair::from_pem(&key.to_pkcs8_pem()).expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "User1");
        let pem = params.self_signed(&kp).expect("cert").pem();
        Signer::new(
            Identity::from_pem(msp, pem.as_bytes()).expect("identity"),
            key,
        )
        .expect("signer")
    }

    /// A gateway whose channel never connects (nothing is sent in these tests).
    pub fn gateway(signer: &Signer) -> crate::Gateway {
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        let fut = crate::Gateway::builder(signer.identity().clone())
            .signer(signer.clone())
            .channel(channel)
            .connect();
        futures::executor::block_on(fut).expect("gateway over a lazy channel")
    }
}
