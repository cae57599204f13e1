//! The `gateway.Gateway` gRPC service of a peer, as Fabric 2.5's `internal/pkg/gateway`:
//!
//! - Evaluate: one peer runs the proposal — the gateway's own (local) peer if it has the
//!   chaincode, else another org's; with transient data and no target orgs, only the local
//!   org's peers. A failure on one peer is retried on the next where Fabric retries.
//! - Endorse: with `endorsing_organizations`, exactly those orgs; otherwise the first
//!   endorsement on the local org, then a plan from the policies its read/write set needs
//!   ([`plan`]), refusing with transient data a plan that would reach orgs outside a written
//!   collection's distribution. Returns the unsigned transaction envelope.
//! - Submit: the signed envelope to the orderer's Broadcast.
//! - CommitStatus: a signed request (Readers); waits for the tx's commit on this peer.
//! - ChaincodeEvents: a signed request (Readers); events of VALID txs, one response per
//!   block, from a start block or after a tx id.
//!
//! Errors are Fabric's, with `gateway.ErrorDetail`s in `grpc-status-details-bin` ([`error`]).
//! Peers are in-process ([`PeerDirectory`]); an ErrorDetail's address is the peer's gateway
//! endpoint. Streams end when the network shuts down.

pub mod error;
pub mod plan;

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use prost::Message;
use sfcbc_fabric::msp::ValidityTime;
use sfcbc_fabric::protos::common::{ChannelHeader, Header};
use sfcbc_fabric::protos::gateway::gateway_server::{self, GatewayServer};
use sfcbc_fabric::protos::gateway::{
    ChaincodeEventsRequest, ChaincodeEventsResponse, CommitStatusRequest, CommitStatusResponse,
    EndorseRequest, EndorseResponse, ErrorDetail, EvaluateRequest, EvaluateResponse,
    SignedChaincodeEventsRequest, SignedCommitStatusRequest, SubmitRequest, SubmitResponse,
};
use sfcbc_fabric::protos::orderer::seek_position::Type as SeekType;
use sfcbc_fabric::protos::protos::{
    ChaincodeAction, ChaincodeInvocationSpec, ChaincodeProposalPayload, Proposal, ProposalResponse,
    ProposalResponsePayload, Response, SignedProposal,
};
use sfcbc_fabric::tx::assemble_transaction;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Status};

use self::error::{EndpointStatus, error_detail, response_status, rpc_error};
use crate::orderer::Registrar;
use crate::peer::{Peer, PeerChannel, QSCC};

/// The peers of the network, in-process; the gateway chooses endorsers among them.
#[derive(Debug, Clone, Default)]
pub struct PeerDirectory {
    peers: Arc<RwLock<Vec<Peer>>>,
}

impl PeerDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&self, peer: Peer) {
        self.peers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(peer);
    }

    pub fn peers(&self) -> Vec<Peer> {
        self.peers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Where Submit sends transactions.
#[derive(Debug, Clone)]
pub struct OrdererEndpoint {
    /// `host:port` of the ordering service, for ErrorDetails.
    pub address: String,
    pub msp_id: String,
    pub registrar: Arc<Registrar>,
}

/// Timeouts of the gateway (Fabric's `peer.gateway.*`).
#[derive(Debug, Clone, Copy)]
pub struct GatewayOptions {
    /// `endorsementTimeout` (Fabric: 30 s): one peer's ProcessProposal.
    pub endorsement_timeout: Duration,
    /// `broadcastTimeout` (Fabric: 30 s).
    pub broadcast_timeout: Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            endorsement_timeout: Duration::from_secs(30),
            broadcast_timeout: Duration::from_secs(30),
        }
    }
}

/// The Gateway service of one peer.
#[derive(Debug, Clone)]
pub struct GatewayService {
    /// The gateway's own peer: first choice to evaluate and endorse, and the ledger that
    /// CommitStatus and ChaincodeEvents read.
    local: Peer,
    /// Every peer of the network (the local one included).
    peers: PeerDirectory,
    orderer: OrdererEndpoint,
    options: GatewayOptions,
    /// Turns true when the network stops: event streams end.
    shutdown: watch::Receiver<bool>,
}

/// A decoded proposal, as the gateway needs it.
struct ProposalInfo {
    channel: String,
    chaincode: String,
    has_transient: bool,
}

fn decode_proposal(signed: Option<&SignedProposal>) -> Result<ProposalInfo, String> {
    let signed = signed
        .filter(|s| !s.proposal_bytes.is_empty())
        .ok_or("a signed proposal is required")?;
    let proposal = Proposal::decode(signed.proposal_bytes.as_slice()).map_err(|e| e.to_string())?;
    let header = Header::decode(proposal.header.as_slice()).map_err(|e| e.to_string())?;
    let chdr =
        ChannelHeader::decode(header.channel_header.as_slice()).map_err(|e| e.to_string())?;
    let payload =
        ChaincodeProposalPayload::decode(proposal.payload.as_slice()).map_err(|e| e.to_string())?;
    let spec =
        ChaincodeInvocationSpec::decode(payload.input.as_slice()).map_err(|e| e.to_string())?;
    if chdr.channel_id.is_empty() {
        return Err("no channel id provided".into());
    }
    let cc_spec = spec.chaincode_spec.ok_or_else(|| {
        format!(
            "no chaincode spec is provided, channel id [{}]",
            chdr.channel_id
        )
    })?;
    let cc_id = cc_spec.chaincode_id.ok_or_else(|| {
        format!(
            "no chaincode id is provided, channel id [{}]",
            chdr.channel_id
        )
    })?;
    if cc_id.name.is_empty() {
        return Err(format!(
            "no chaincode name is provided, channel id [{}]",
            chdr.channel_id
        ));
    }
    Ok(ProposalInfo {
        channel: chdr.channel_id,
        chaincode: cc_id.name,
        has_transient: !payload.transient_map.is_empty(),
    })
}

/// The transaction result in a proposal response (Fabric's `getResultFromProposalResponse`).
fn result_of(pr: &ProposalResponse) -> Option<Vec<u8>> {
    let prp = ProposalResponsePayload::decode(pr.payload.as_slice()).ok()?;
    let action = ChaincodeAction::decode(prp.extension.as_slice()).ok()?;
    Some(action.response.map(|r| r.payload).unwrap_or_default())
}

/// Go's `%v` of a string slice.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// A failed endpoint: its ErrorDetail and how its failure classifies.
type EndpointFailure = (ErrorDetail, EndpointStatus);

impl GatewayService {
    pub fn new(
        local: Peer,
        peers: PeerDirectory,
        orderer: OrdererEndpoint,
        options: GatewayOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            local,
            peers,
            orderer,
            options,
            shutdown,
        }
    }

    /// The tonic service.
    pub fn into_server(self) -> GatewayServer<Self> {
        GatewayServer::new(self)
            .max_decoding_message_size(100 * 1024 * 1024)
            .max_encoding_message_size(100 * 1024 * 1024)
    }

    /// Peers on `channel` that can run `chaincode`: the local org's first, then the others by
    /// decreasing block height (Fabric's registry prefers the most up-to-date peers).
    fn candidates(&self, channel: &str, chaincode: &str) -> Vec<Peer> {
        let mut out: Vec<(Peer, u64)> = self
            .peers
            .peers()
            .into_iter()
            .filter_map(|p| {
                let ch = p.channel(channel)?;
                if chaincode != QSCC && ch.definition(chaincode).is_none() {
                    return None;
                }
                let height = ch.ledger.height().unwrap_or(0);
                Some((p, height))
            })
            .collect();
        out.sort_by_key(|(p, height)| {
            (
                p.msp_id() != self.local.msp_id(),
                std::cmp::Reverse(*height),
            )
        });
        out.into_iter().map(|(p, _)| p).collect()
    }

    /// The channel as the gateway's peer knows it (or, if it has not joined, as another
    /// peer does): config and definitions for plans.
    fn channel_view(&self, channel: &str) -> Option<Arc<PeerChannel>> {
        self.local
            .channel(channel)
            .or_else(|| self.peers.peers().iter().find_map(|p| p.channel(channel)))
    }

    /// One peer's ProcessProposal with the endorsement timeout.
    async fn process(
        &self,
        peer: &Peer,
        signed: &SignedProposal,
    ) -> Result<ProposalResponse, EndpointFailure> {
        let failure = |status: EndpointStatus| {
            (
                error_detail(peer.address(), peer.msp_id(), status.message.clone()),
                status,
            )
        };
        let outcome = match tokio::time::timeout(
            self.options.endorsement_timeout,
            peer.process_proposal(signed),
        )
        .await
        {
            Ok(o) => o,
            Err(_) => {
                return Err(failure(EndpointStatus {
                    code: Code::Unavailable,
                    message: "context deadline exceeded".into(),
                    retry: true,
                }));
            }
        };
        let status = response_status(&outcome.response, outcome.rpc_error.as_deref());
        if status.code == Code::Ok {
            Ok(outcome.response)
        } else {
            Err(failure(status))
        }
    }

    /// Endorses on `peers` concurrently.
    async fn process_all(
        &self,
        peers: &[Peer],
        signed: &SignedProposal,
    ) -> Vec<Result<ProposalResponse, EndpointFailure>> {
        let mut tasks = Vec::with_capacity(peers.len());
        for p in peers {
            let (gw, p, sp) = (self.clone(), p.clone(), signed.clone());
            tasks.push(tokio::spawn(async move { gw.process(&p, &sp).await }));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for (t, p) in tasks.into_iter().zip(peers) {
            out.push(t.await.unwrap_or_else(|_| {
                let status = EndpointStatus {
                    code: Code::Unavailable,
                    message: "endorsement task failed".into(),
                    retry: true,
                };
                Err((
                    error_detail(p.address(), p.msp_id(), status.message.clone()),
                    status,
                ))
            }));
        }
        out
    }

    async fn do_evaluate(&self, request: EvaluateRequest) -> Result<EvaluateResponse, Status> {
        let signed = request.proposed_transaction.as_ref();
        let info = decode_proposal(signed).map_err(|e| {
            Status::invalid_argument(format!("failed to unpack transaction proposal: {e}"))
        })?;
        let signed = signed.expect("decode_proposal checked it is present");
        let mut targets = request.target_organizations.clone();
        let mut transient_protected = false;
        if info.has_transient && targets.is_empty() {
            targets = vec![self.local.msp_id().to_owned()];
            transient_protected = true;
        }
        let candidates: Vec<Peer> = self
            .candidates(&info.channel, &info.chaincode)
            .into_iter()
            .filter(|p| targets.is_empty() || targets.iter().any(|t| t == p.msp_id()))
            .collect();
        if candidates.is_empty() {
            let err = format!(
                "no peers available to evaluate chaincode {} in channel {}",
                info.chaincode, info.channel
            );
            return Err(if transient_protected {
                Status::failed_precondition(format!(
                    "no endorsers found in the gateway's organization; retry specifying target organization(s) to protect transient data: {err}"
                ))
            } else {
                Status::failed_precondition(err)
            });
        }
        let mut details = Vec::new();
        let mut last_code = Code::Unavailable;
        for peer in &candidates {
            match self.process(peer, signed).await {
                Ok(pr) => {
                    let mut result: Response = pr.response.clone().unwrap_or_default();
                    if let Some(payload) = result_of(&pr) {
                        result.payload = payload;
                    }
                    return Ok(EvaluateResponse {
                        result: Some(result),
                    });
                }
                Err((detail, status)) => {
                    details.push(detail);
                    last_code = status.code;
                    if !status.retry {
                        return Err(rpc_error(
                            status.code,
                            format!(
                                "evaluate call to endorser returned error: {}",
                                status.message
                            ),
                            &details,
                        ));
                    }
                }
            }
        }
        Err(rpc_error(
            last_code,
            "failed to evaluate transaction, see attached details for more info",
            &details,
        ))
    }

    async fn do_endorse(&self, request: EndorseRequest) -> Result<EndorseResponse, Status> {
        let signed = request
            .proposed_transaction
            .as_ref()
            .filter(|s| !s.proposal_bytes.is_empty())
            .ok_or_else(|| {
                Status::invalid_argument("the proposed transaction must contain a signed proposal")
            })?;
        let info = decode_proposal(Some(signed)).map_err(Status::invalid_argument)?;
        let candidates = self.candidates(&info.channel, &info.chaincode);
        let collect_failed = |details: &[ErrorDetail]| {
            rpc_error(
                Code::Aborted,
                "failed to collect enough transaction endorsements, see attached details for more info",
                details,
            )
        };

        let responses: Vec<ProposalResponse> = if !request.endorsing_organizations.is_empty() {
            // The client chose the orgs and answers for the policy.
            let mut peers = Vec::new();
            let mut missing = Vec::new();
            for org in &request.endorsing_organizations {
                match candidates.iter().find(|p| p.msp_id() == org) {
                    Some(p) => peers.push(p.clone()),
                    None => missing.push(org.clone()),
                }
            }
            if !missing.is_empty() {
                return Err(Status::unavailable(format!(
                    "failed to find any endorsing peers for org(s): {}",
                    go_list(&missing)
                )));
            }
            let mut details = Vec::new();
            let mut ok = Vec::new();
            for r in self.process_all(&peers, signed).await {
                match r {
                    Ok(pr) => ok.push(pr),
                    Err((d, _)) => details.push(d),
                }
            }
            if !details.is_empty() {
                return Err(collect_failed(&details));
            }
            ok
        } else {
            self.endorse_by_plan(&info, signed, &candidates).await?
        };
        let envelope = assemble_transaction(signed, &responses)
            .map_err(|e| Status::aborted(format!("failed to assemble transaction: {e}")))?;
        Ok(EndorseResponse {
            prepared_transaction: Some(envelope),
        })
    }

    /// Fabric's `planFromFirstEndorser` and the layout loop after it.
    async fn endorse_by_plan(
        &self,
        info: &ProposalInfo,
        signed: &SignedProposal,
        candidates: &[Peer],
    ) -> Result<Vec<ProposalResponse>, Status> {
        let local_first = candidates
            .first()
            .is_some_and(|p| p.msp_id() == self.local.msp_id());
        if !local_first && info.has_transient {
            return Err(Status::failed_precondition(
                "no endorsers found in the gateway's organization; retry specifying endorsing organization(s) to protect transient data",
            ));
        }
        let Some(ch) = self.channel_view(&info.channel) else {
            return Err(Status::failed_precondition(format!(
                "channel {} not found",
                info.channel
            )));
        };
        if candidates.is_empty() {
            return Err(Status::failed_precondition(format!(
                "no peers available to endorse chaincode {} in channel {}",
                info.chaincode, info.channel
            )));
        }
        // 1-2. The first endorsement, on the gateway's org when it can.
        let first = 0usize;
        let first_response = match self.process(&candidates[first], signed).await {
            Ok(pr) => pr,
            Err((detail, _)) => {
                return Err(rpc_error(
                    Code::Aborted,
                    "failed to endorse transaction, see attached details for more info",
                    &[detail],
                ));
            }
        };
        // 3-5. The plan from what the first endorsement wrote.
        let req = plan::requirements(&ch, &info.chaincode, &first_response)
            .map_err(Status::failed_precondition)?;
        let protect = info.has_transient && !req.collections.is_empty();
        let pool: Vec<usize> = if protect {
            let allowed = plan::distribution_orgs(&ch, &req.collections);
            (0..candidates.len())
                .filter(|&i| allowed.contains(candidates[i].msp_id()))
                .collect()
        } else {
            (0..candidates.len()).collect()
        };
        let pool_peers: Vec<Peer> = pool.iter().map(|&i| candidates[i].clone()).collect();
        let first_in_pool = pool.iter().position(|&i| i == first);
        let layouts: Vec<Vec<usize>> =
            plan::layouts(&ch, &pool_peers, &req.policies, first_in_pool)
                .into_iter()
                .map(|l| l.into_iter().map(|j| pool[j]).collect())
                .collect();
        if layouts.is_empty() {
            if protect && !plan::layouts(&ch, candidates, &req.policies, Some(first)).is_empty() {
                let colls: Vec<String> = req.collections.iter().map(|(_, c)| c.clone()).collect();
                return Err(Status::failed_precondition(format!(
                    "requires endorsement from organisation(s) that are not in the distribution policy of the private data collection(s): {}; retry specifying trusted endorsing organizations to protect transient data",
                    go_list(&colls)
                )));
            }
            return Err(Status::failed_precondition(format!(
                "no combination of peers can be derived which satisfy the endorsement policy of chaincode {} on channel {}",
                info.chaincode, info.channel
            )));
        }
        // 6. Endorse on the rest of a layout; a failed peer rules out its layouts.
        let mut got: BTreeMap<usize, ProposalResponse> = BTreeMap::from([(first, first_response)]);
        let mut failed: HashSet<usize> = HashSet::new();
        let mut details: Vec<ErrorDetail> = Vec::new();
        for layout in &layouts {
            if layout.iter().any(|i| failed.contains(i)) {
                continue;
            }
            let todo: Vec<usize> = layout
                .iter()
                .copied()
                .filter(|i| !got.contains_key(i))
                .collect();
            let peers: Vec<Peer> = todo.iter().map(|&i| candidates[i].clone()).collect();
            for (i, r) in todo.iter().zip(self.process_all(&peers, signed).await) {
                match r {
                    Ok(pr) if pr.payload == got[&first].payload => {
                        got.insert(*i, pr);
                    }
                    Ok(_) => {
                        failed.insert(*i);
                        details.push(error_detail(
                            candidates[*i].address(),
                            candidates[*i].msp_id(),
                            "ProposalResponsePayloads do not match",
                        ));
                    }
                    Err((d, _)) => {
                        failed.insert(*i);
                        details.push(d);
                    }
                }
            }
            if layout.iter().all(|i| got.contains_key(i)) {
                return Ok(layout.iter().map(|i| got[i].clone()).collect());
            }
        }
        Err(rpc_error(
            Code::Aborted,
            "failed to collect enough transaction endorsements, see attached details for more info",
            &details,
        ))
    }

    async fn do_submit(&self, request: SubmitRequest) -> Result<SubmitResponse, Status> {
        let txn = request
            .prepared_transaction
            .ok_or_else(|| Status::invalid_argument("a prepared transaction is required"))?;
        if txn.signature.is_empty() {
            return Err(Status::invalid_argument(
                "prepared transaction must be signed",
            ));
        }
        let result = tokio::time::timeout(
            self.options.broadcast_timeout,
            self.orderer.registrar.broadcast(txn),
        )
        .await;
        match result {
            Err(_) => Err(rpc_error(
                Code::Unavailable,
                "no orderers could successfully process transaction",
                &[error_detail(
                    &self.orderer.address,
                    &self.orderer.msp_id,
                    "context deadline exceeded",
                )],
            )),
            Ok(Ok(())) => Ok(SubmitResponse {}),
            Ok(Err(e)) => {
                let status = e.status();
                let code = status as i32;
                if (400..500).contains(&code) {
                    Err(Status::aborted(format!(
                        "received unsuccessful response from orderer: status={}, info={e}",
                        status.as_str_name()
                    )))
                } else {
                    Err(Status::unavailable(
                        "no orderers could successfully process transaction",
                    ))
                }
            }
        }
    }

    /// Checks a signed gateway request against the channel's Readers policy.
    fn check_signed(
        ch: &PeerChannel,
        data: &[u8],
        identity: &[u8],
        signature: &[u8],
    ) -> Result<(), Status> {
        const READERS: &str = "/Channel/Application/Readers";
        let denied = |e: String| {
            Status::permission_denied(format!(
                "failed evaluating policy on signed data during check policy [{READERS}]: [{e}]"
            ))
        };
        let id = match ch.validated_identity(identity) {
            Some(id) => id,
            // Not valid: validate again for Fabric's reason.
            None => {
                let e = ch
                    .config
                    .msps()
                    .validate_serialized(identity, ValidityTime::AsFabric)
                    .err()
                    .map_or_else(|| "identity not valid".to_owned(), |e| e.to_string());
                return Err(denied(e));
            }
        };
        id.verify(data, signature)
            .map_err(|e| denied(format!("signature not valid: {e}")))?;
        ch.config
            .evaluate(READERS, std::slice::from_ref(&id))
            .map_err(denied)
    }

    async fn do_commit_status(
        &self,
        signed: SignedCommitStatusRequest,
    ) -> Result<CommitStatusResponse, Status> {
        if signed.request.is_empty() {
            return Err(Status::invalid_argument(
                "a commit status request is required",
            ));
        }
        let request = CommitStatusRequest::decode(signed.request.as_slice())
            .map_err(|e| Status::invalid_argument(format!("invalid status request: {e}")))?;
        if request.identity.is_empty() {
            return Err(Status::invalid_argument("no identity provided"));
        }
        if request.channel_id.is_empty() {
            return Err(Status::invalid_argument("no channel ID provided"));
        }
        if request.transaction_id.is_empty() {
            return Err(Status::invalid_argument(
                "transaction ID should not be empty",
            ));
        }
        let ch = self.local.channel(&request.channel_id).ok_or_else(|| {
            Status::permission_denied(format!(
                "failed to get policy manager for channel [{}]",
                request.channel_id
            ))
        })?;
        Self::check_signed(&ch, &signed.request, &request.identity, &signed.signature)?;
        let mut height = ch.ledger.watch_height();
        let mut shutdown = self.shutdown.clone();
        loop {
            let location = ch
                .ledger
                .snapshot()
                .and_then(|s| s.tx_location(&request.transaction_id))
                .map_err(|e| Status::aborted(e.to_string()))?;
            if let Some(l) = location {
                return Ok(CommitStatusResponse {
                    result: l.validation_code,
                    block_number: l.block_num,
                });
            }
            tokio::select! {
                changed = height.changed() => if changed.is_err() {
                    return Err(Status::aborted("unexpected close of commit notification channel"));
                },
                _ = shutdown.wait_for(|s| *s) => {
                    return Err(Status::unavailable("the peer is shutting down"));
                }
            }
        }
    }

    fn do_chaincode_events(
        &self,
        signed: SignedChaincodeEventsRequest,
    ) -> Result<ReceiverStream<Result<ChaincodeEventsResponse, Status>>, Status> {
        if signed.request.is_empty() {
            return Err(Status::invalid_argument(
                "a chaincode events request is required",
            ));
        }
        let request = ChaincodeEventsRequest::decode(signed.request.as_slice()).map_err(|e| {
            Status::invalid_argument(format!("invalid chaincode events request: {e}"))
        })?;
        let ch = self.local.channel(&request.channel_id).ok_or_else(|| {
            Status::permission_denied(format!(
                "failed to get policy manager for channel [{}]",
                request.channel_id
            ))
        })?;
        Self::check_signed(&ch, &signed.request, &request.identity, &signed.signature)?;
        let snapshot = ch
            .ledger
            .snapshot()
            .map_err(|e| Status::aborted(e.to_string()))?;
        let mut start = None;
        if !request.after_transaction_id.is_empty()
            && let Ok(Some(l)) = snapshot.tx_location(&request.after_transaction_id)
        {
            start = Some(l.block_num);
        }
        let start = match start {
            Some(s) => s,
            None => match request.start_position.as_ref().and_then(|p| p.r#type) {
                None | Some(SeekType::NextCommit(_)) => snapshot
                    .height()
                    .map_err(|e| Status::aborted(e.to_string()))?,
                Some(SeekType::Specified(s)) => s.number,
                Some(SeekType::Oldest(_)) => {
                    return Err(Status::invalid_argument(
                        "invalid start position type: *orderer.SeekPosition_Oldest",
                    ));
                }
                Some(SeekType::Newest(_)) => {
                    return Err(Status::invalid_argument(
                        "invalid start position type: *orderer.SeekPosition_Newest",
                    ));
                }
            },
        };
        drop(snapshot);
        let (tx, rx) = mpsc::channel(16);
        let shutdown = self.shutdown.clone();
        tokio::spawn(stream_events(ch, request, start, tx, shutdown));
        Ok(ReceiverStream::new(rx))
    }
}

/// Sends the matching events of each block from `start` on, waiting for new blocks.
async fn stream_events(
    ch: Arc<PeerChannel>,
    request: ChaincodeEventsRequest,
    start: u64,
    tx: mpsc::Sender<Result<ChaincodeEventsResponse, Status>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut height = ch.ledger.watch_height();
    let mut passed_after = request.after_transaction_id.is_empty();
    let mut number = start;
    loop {
        let ready = tokio::select! {
            r = height.wait_for(|h| *h > number) => r.is_ok(),
            _ = shutdown.wait_for(|s| *s) => false,
            () = tx.closed() => false,
        };
        if !ready {
            return;
        }
        let block = match ch.ledger.snapshot().and_then(|s| s.block_by_number(number)) {
            Ok(Some(b)) => b,
            Ok(None) => {
                let _ = tx
                    .send(Err(Status::aborted(format!("block {number} not found"))))
                    .await;
                return;
            }
            Err(e) => {
                let _ = tx.send(Err(Status::aborted(e.to_string()))).await;
                return;
            }
        };
        let events: Vec<_> = crate::deliver::valid_chaincode_events(&block)
            .into_iter()
            .filter(|e| {
                if !passed_after {
                    if e.tx_id == request.after_transaction_id {
                        passed_after = true;
                    }
                    return false;
                }
                e.chaincode_id == request.chaincode_id
            })
            .collect();
        if !events.is_empty()
            && tx
                .send(Ok(ChaincodeEventsResponse {
                    events,
                    block_number: number,
                }))
                .await
                .is_err()
        {
            return;
        }
        number += 1;
    }
}

type EventsStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<ChaincodeEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl gateway_server::Gateway for GatewayService {
    async fn endorse(
        &self,
        request: Request<EndorseRequest>,
    ) -> Result<tonic::Response<EndorseResponse>, Status> {
        self.do_endorse(request.into_inner())
            .await
            .map(tonic::Response::new)
    }

    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<tonic::Response<SubmitResponse>, Status> {
        self.do_submit(request.into_inner())
            .await
            .map(tonic::Response::new)
    }

    async fn commit_status(
        &self,
        request: Request<SignedCommitStatusRequest>,
    ) -> Result<tonic::Response<CommitStatusResponse>, Status> {
        self.do_commit_status(request.into_inner())
            .await
            .map(tonic::Response::new)
    }

    async fn evaluate(
        &self,
        request: Request<EvaluateRequest>,
    ) -> Result<tonic::Response<EvaluateResponse>, Status> {
        self.do_evaluate(request.into_inner())
            .await
            .map(tonic::Response::new)
    }

    type ChaincodeEventsStream = EventsStream;

    async fn chaincode_events(
        &self,
        request: Request<SignedChaincodeEventsRequest>,
    ) -> Result<tonic::Response<Self::ChaincodeEventsStream>, Status> {
        let stream = self.do_chaincode_events(request.into_inner())?;
        Ok(tonic::Response::new(Box::pin(stream)))
    }
}
