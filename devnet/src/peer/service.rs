//! The peer's `protos.Endorser` gRPC service (what `peer chaincode invoke` and pre-gateway
//! SDKs call): [`Peer::process_proposal`] over the wire. Like Fabric's, a proposal refused
//! before simulation fails the call (gRPC UNKNOWN with the endorser's message); everything
//! else, chaincode errors included, is a `ProposalResponse`.

use sfcbc_fabric::protos::protos::endorser_server::{Endorser, EndorserServer};
use sfcbc_fabric::protos::protos::{ProposalResponse, SignedProposal};
use tonic::{Request, Response, Status};

use super::Peer;

/// The Endorser service of one peer.
#[derive(Debug, Clone)]
pub struct EndorserService {
    peer: Peer,
}

impl EndorserService {
    pub fn new(peer: Peer) -> Self {
        Self { peer }
    }

    /// The tonic service.
    pub fn into_server(self) -> EndorserServer<Self> {
        EndorserServer::new(self)
            .max_decoding_message_size(100 * 1024 * 1024)
            .max_encoding_message_size(100 * 1024 * 1024)
    }
}

#[tonic::async_trait]
impl Endorser for EndorserService {
    async fn process_proposal(
        &self,
        request: Request<SignedProposal>,
    ) -> Result<Response<ProposalResponse>, Status> {
        let outcome = self.peer.process_proposal(&request.into_inner()).await;
        match outcome.rpc_error {
            Some(e) => Err(Status::unknown(e)),
            None => Ok(Response::new(outcome.response)),
        }
    }
}
