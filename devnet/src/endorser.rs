//! The peer's endorser, as Fabric's `core/endorser` (`ProcessProposal`) does it:
//!
//! 1. unpack the `SignedProposal` (`UnpackProposal`); a malformed one is answered with status
//!    500 and fails the call;
//! 2. find the channel (status 500 `channel '<c>' not found`, the call itself succeeds);
//! 3. `preProcess`: header type (ENDORSER_TRANSACTION or CONFIG), epoch 0, nonce and creator
//!    present, tx id = hex(SHA-256(nonce ‖ creator)), the creator deserialised and validated by
//!    the channel's MSPs and its signature over the proposal bytes (ECDSA must be low-S), no
//!    committed tx with this id, then the `peer/Propose` ACL (the channel's
//!    `/Channel/Application/Writers` by default); failures answer status 500 with Fabric's
//!    message and fail the call;
//! 4. the chaincode definition (`make sure the chaincode ... has been successfully defined`),
//!    simulation through [`Simulate`] on a fresh [`TxSimulator`] over the ledger's snapshot,
//!    with the collections of the definition and the creator's permissions on them;
//!    execution failures answer status 500 `error in simulation: ...`;
//! 5. the response, exactly as `ProcessProposalSuccessfullyOrError`: `ProposalResponsePayload{
//!    proposal_hash, extension = ChaincodeAction{results = TxReadWriteSet, events, response,
//!    chaincode_id{name, version}}}`; chaincode status ≥ 500: response + payload + interest,
//!    no endorsement; 400–499: the response alone (no payload); below 400: version 1, the
//!    peer's endorsement over payload ‖ peer identity, payload, response, interest. The
//!    chaincode event is dropped for status ≥ 400, as Fabric's `callChaincode` drops it.
//!
//! Private writes of an endorsed proposal are kept in the channel's [`TransientStore`] (what
//! Fabric's transient store does) and handed back in [`ProposalOutcome::private_data`] for
//! dissemination to the other member orgs' peers ([`private_data_for_org`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use prost::Message as _;
use sfcbc_fabric::msp::{Identity, IdentityValidator as _, ValidatedIdentity, ValidityTime};
use sfcbc_fabric::policy::CompiledPolicy;
use sfcbc_fabric::protos::common::HeaderType;
use sfcbc_fabric::protos::kvrwset::{HashedRwSet, KvrwSet};
use sfcbc_fabric::protos::protos::{
    ChaincodeCall, ChaincodeId, ChaincodeInterest, ProposalResponse, Response, SignedProposal,
};
use sfcbc_fabric::protos::rwset::{TxPvtReadWriteSet, TxReadWriteSet};
use sfcbc_fabric::signer::Signer;
use sfcbc_fabric::tx::{
    UnpackedProposal, compute_tx_id, endorse_payload, proposal_response_payload, unpack_proposal,
};

use crate::chaincode::{ChaincodeHandle, ChaincodeOutcome, Invocation};
use crate::committer::TransientStore;
use crate::ledger::Ledger;
use crate::simulator::{CollectionPermission, Collections, TxSimulator};
use crate::validator::{
    ChaincodeDefinition, ChaincodeDefinitions, ChannelPolicies, PeerIdentities,
    implicit_collection_msp,
};

/// The channel policy Fabric 2.x's default ACLs give `peer/Propose`.
pub const PROPOSE_ACL_POLICY: &str = "/Channel/Application/Writers";

/// A boxed future, `Send`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs a chaincode invocation against a simulator: the chaincode support of the peer.
/// `Err` is an execution failure (chaincode unreachable, shim ERROR, timeout), not a chaincode
/// error response (those are `Ok` with status ≥ 400).
pub trait Simulate: Send + Sync {
    fn execute<'a>(
        &'a self,
        invocation: &'a Invocation,
        sim: &'a mut TxSimulator,
    ) -> BoxFuture<'a, Result<ChaincodeOutcome, String>>;
}

impl Simulate for ChaincodeHandle {
    fn execute<'a>(
        &'a self,
        invocation: &'a Invocation,
        sim: &'a mut TxSimulator,
    ) -> BoxFuture<'a, Result<ChaincodeOutcome, String>> {
        Box::pin(async move {
            ChaincodeHandle::execute(self, invocation, sim)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Chaincode runtimes by chaincode name (one CCaaS connection each).
#[derive(Default)]
pub struct ChaincodeRuntimes {
    by_name: RwLock<HashMap<String, Arc<dyn Simulate>>>,
}

impl std::fmt::Debug for ChaincodeRuntimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .by_name
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        f.debug_struct("ChaincodeRuntimes")
            .field("chaincodes", &names)
            .finish()
    }
}

impl ChaincodeRuntimes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes invocations of `chaincode` to `runtime`.
    pub fn insert(&self, chaincode: &str, runtime: Arc<dyn Simulate>) {
        self.by_name
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(chaincode.to_owned(), runtime);
    }

    pub fn remove(&self, chaincode: &str) {
        self.by_name
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(chaincode);
    }

    fn get(&self, chaincode: &str) -> Option<Arc<dyn Simulate>> {
        self.by_name
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(chaincode)
            .cloned()
    }
}

impl Simulate for ChaincodeRuntimes {
    fn execute<'a>(
        &'a self,
        invocation: &'a Invocation,
        sim: &'a mut TxSimulator,
    ) -> BoxFuture<'a, Result<ChaincodeOutcome, String>> {
        let runtime = self.get(&invocation.chaincode_name);
        Box::pin(async move {
            match runtime {
                Some(r) => r.execute(invocation, sim).await,
                None => Err(format!(
                    "chaincode definition for '{}' exists, but chaincode is not installed",
                    invocation.chaincode_name
                )),
            }
        })
    }
}

/// What one channel gives the endorser.
#[derive(Clone)]
pub struct EndorserChannel {
    pub policies: Arc<dyn ChannelPolicies>,
    pub definitions: Arc<dyn ChaincodeDefinitions>,
    pub ledger: Arc<Ledger>,
    pub chaincodes: Arc<dyn Simulate>,
    pub transient: Arc<TransientStore>,
}

/// The endorser's answer to one proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalOutcome {
    /// The `ProposalResponse` Fabric returns.
    pub response: ProposalResponse,
    /// Fabric also fails the `ProcessProposal` call with this error (malformed proposals,
    /// failed validation, duplicates, ACL); `None` when the call succeeds (including
    /// chaincode errors and unknown channels, reported in `response`).
    pub rpc_error: Option<String>,
    /// The proposal's tx id, when it unpacked.
    pub tx_id: String,
    /// The private writes of an endorsed proposal (already in the channel's transient store).
    pub private_data: Option<TxPvtReadWriteSet>,
}

impl ProposalOutcome {
    fn error(status_message: String, rpc_error: bool, tx_id: String) -> Self {
        Self {
            response: ProposalResponse {
                response: Some(Response {
                    status: 500,
                    message: status_message.clone(),
                    payload: Vec::new(),
                }),
                ..Default::default()
            },
            rpc_error: rpc_error.then_some(status_message),
            tx_id,
            private_data: None,
        }
    }

    /// Whether the proposal was endorsed.
    pub fn endorsed(&self) -> bool {
        self.response.endorsement.is_some()
    }

    /// The chaincode (or peer) response status.
    pub fn status(&self) -> i32 {
        self.response.response.as_ref().map_or(0, |r| r.status)
    }
}

/// A peer's endorser.
pub struct Endorser {
    signer: Signer,
    channels: RwLock<HashMap<String, Arc<Joined>>>,
    propose_acl: String,
    when: ValidityTime,
}

/// A joined channel (replaced as a whole when the channel's configuration changes).
struct Joined {
    channel: Arc<EndorserChannel>,
}

impl std::fmt::Debug for Endorser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endorser")
            .field("msp_id", &self.signer.msp_id())
            .field("propose_acl", &self.propose_acl)
            .finish_non_exhaustive()
    }
}

impl Endorser {
    /// An endorser signing with the peer's identity.
    pub fn new(signer: Signer) -> Self {
        Self {
            signer,
            channels: RwLock::new(HashMap::new()),
            propose_acl: PROPOSE_ACL_POLICY.to_owned(),
            when: ValidityTime::AsFabric,
        }
    }

    /// The channel policy checked for `peer/Propose` (default [`PROPOSE_ACL_POLICY`]).
    pub fn with_propose_acl(mut self, policy: impl Into<String>) -> Self {
        self.propose_acl = policy.into();
        self
    }

    /// Certificate validity time for creators (default [`ValidityTime::AsFabric`]).
    pub fn with_validity_time(mut self, when: ValidityTime) -> Self {
        self.when = when;
        self
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Joins (or replaces) a channel.
    pub fn add_channel(&self, channel_id: &str, channel: EndorserChannel) {
        self.channels
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                channel_id.to_owned(),
                Arc::new(Joined {
                    channel: Arc::new(channel),
                }),
            );
    }

    pub fn channel(&self, channel_id: &str) -> Option<Arc<EndorserChannel>> {
        self.joined(channel_id).map(|j| j.channel.clone())
    }

    fn joined(&self, channel_id: &str) -> Option<Arc<Joined>> {
        self.channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(channel_id)
            .cloned()
    }

    /// `ProcessProposal` on `SignedProposal` bytes.
    pub async fn process_proposal_bytes(&self, bytes: &[u8]) -> ProposalOutcome {
        match SignedProposal::decode(bytes) {
            Ok(sp) => self.process_proposal(&sp).await,
            Err(e) => ProposalOutcome::error(e.to_string(), true, String::new()),
        }
    }

    /// `ProcessProposal`.
    pub async fn process_proposal(&self, signed: &SignedProposal) -> ProposalOutcome {
        let up = match unpack_proposal(signed) {
            Ok(up) => up,
            Err(e) => return ProposalOutcome::error(unpack_message(&e), true, String::new()),
        };
        let tx_id = up.tx_id().to_owned();
        if up.channel_id().is_empty() {
            // Fabric validates channel-less proposals against the peer's local MSP; they serve
            // only system chaincodes, which devnet does not run.
            return ProposalOutcome::error(
                "channel-less proposals are not supported by this peer".into(),
                false,
                tx_id,
            );
        }
        let Some(joined) = self.joined(up.channel_id()) else {
            return ProposalOutcome::error(
                format!("channel '{}' not found", up.channel_id()),
                false,
                tx_id,
            );
        };
        let creator = match self.pre_process(&up, &joined) {
            Ok(c) => c,
            Err(e) => return ProposalOutcome::error(e, true, tx_id),
        };
        match self.endorse(&up, &joined.channel, &creator).await {
            Ok(outcome) => outcome,
            Err(e) => ProposalOutcome::error(e, false, tx_id),
        }
    }

    /// Fabric's `preProcess`: the proposal's validity, duplicates and the ACL.
    fn pre_process(
        &self,
        up: &UnpackedProposal,
        joined: &Joined,
    ) -> Result<ValidatedIdentity, String> {
        let channel = &joined.channel;
        let creator = validate_proposal(up, channel.policies.as_ref(), self.when)
            .map_err(|e| format!("error validating proposal: {e}"))?;
        let snapshot = channel.ledger.snapshot().map_err(|e| e.to_string())?;
        if snapshot
            .tx_location(up.tx_id())
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Err(format!(
                "duplicate transaction found [{}]. Creator [{}]",
                up.tx_id(),
                hex::encode(up.creator())
            ));
        }
        drop(snapshot);
        channel
            .policies
            .evaluate(&self.propose_acl, std::slice::from_ref(&creator))
            .map_err(|e| {
                format!(
                    "failed evaluating policy on signed data during check policy [{}]: [{e}]",
                    self.propose_acl
                )
            })?;
        Ok(creator)
    }

    /// Fabric's `ProcessProposalSuccessfullyOrError`; `Err` is answered with status 500.
    async fn endorse(
        &self,
        up: &UnpackedProposal,
        channel: &EndorserChannel,
        creator: &ValidatedIdentity,
    ) -> Result<ProposalOutcome, String> {
        let name = up.chaincode_name.clone();
        let def = channel.definitions.definition(&name).ok_or_else(|| {
            format!(
                "make sure the chaincode {name} has been successfully defined on channel {} and \
                 try again: chaincode {name} not found",
                up.channel_id()
            )
        })?;
        let snapshot = channel.ledger.snapshot().map_err(|e| e.to_string())?;
        let collections = DefinitionCollections {
            def: def.clone(),
            channel_orgs: channel
                .policies
                .application_orgs()
                .into_iter()
                .map(|(_, msp)| msp)
                .collect(),
            creator: creator.clone(),
        };
        let mut sim =
            TxSimulator::new(up.tx_id(), snapshot).with_collections(Arc::new(collections));
        // Fabric reads the definition's sequence through the simulator (into the read set).
        sim.read_definition_sequence(&up.chaincode_name)
            .map_err(|e| format!("error in simulation: {e}"))?;
        let mut invocation = Invocation::from_proposal(up);
        invocation.init = check_invocation(&def, &up.input, &mut sim)
            .map_err(|e| format!("error in simulation: invalid invocation: {e}"))?;
        let outcome = channel
            .chaincodes
            .execute(&invocation, &mut sim)
            .await
            .map_err(|e| format!("error in simulation: {e}"))?;
        let results = sim
            .results()
            .map_err(|e| format!("error in simulation: {e}"))?;
        drop(sim);

        let response = outcome.response;
        let event = if response.status >= 400 {
            None
        } else {
            outcome.event
        };
        let public = results.public_bytes();
        let interest = chaincode_interest(&results.public);
        let payload = proposal_response_payload(
            &up.proposal_hash,
            &response,
            public,
            event.map(|e| e.encode_to_vec()).unwrap_or_default(),
            ChaincodeId {
                name: name.clone(),
                version: def.version.clone(),
                path: String::new(),
            },
        );
        let tx_id = up.tx_id().to_owned();
        if response.status >= 500 {
            return Ok(ProposalOutcome {
                response: ProposalResponse {
                    response: Some(response),
                    payload,
                    interest: Some(interest),
                    ..Default::default()
                },
                rpc_error: None,
                tx_id,
                private_data: None,
            });
        }
        if response.status >= 400 {
            return Ok(ProposalOutcome {
                response: ProposalResponse {
                    response: Some(response),
                    ..Default::default()
                },
                rpc_error: None,
                tx_id,
                private_data: None,
            });
        }
        let private_data = results.private;
        if let Some(pvt) = &private_data {
            let height = channel.ledger.height().map_err(|e| e.to_string())?;
            channel.transient.persist(&tx_id, height, pvt.clone());
        }
        let endorsement = endorse_payload(&payload, &self.signer);
        Ok(ProposalOutcome {
            response: ProposalResponse {
                version: 1,
                timestamp: None,
                response: Some(response),
                payload,
                endorsement: Some(endorsement),
                interest: Some(interest),
            },
            rpc_error: None,
            tx_id,
            private_data,
        })
    }
}

/// The reserved key recording which version of a chaincode was initialized (Fabric's
/// `InitializedKeyName`).
pub const INITIALIZED_KEY: &str = "\u{0}\u{10FFFF}initialized";

/// Fabric's `CheckInvocation`: "init exactly once" for definitions with `init_required`
/// (the initialized version lives under [`INITIALIZED_KEY`] in the chaincode's namespace,
/// read and — by the init — written through the simulator). Returns whether to send INIT.
fn check_invocation(
    def: &ChaincodeDefinition,
    input: &sfcbc_fabric::protos::protos::ChaincodeInput,
    sim: &mut TxSimulator,
) -> Result<bool, String> {
    let name = &def.name;
    let mut needs_init = false;
    if def.init_required {
        let v = sim
            .get_state(name, INITIALIZED_KEY)
            .map_err(|e| format!("could not get 'initialized' key: {e}"))?;
        needs_init = v.as_deref() != Some(def.version.as_bytes());
    }
    if input.is_init {
        if !def.init_required {
            return Err(format!(
                "chaincode '{name}' does not require initialization but called as init"
            ));
        }
        if !needs_init {
            return Err(format!(
                "chaincode '{name}' is already initialized but called as init"
            ));
        }
        sim.set_state(name, INITIALIZED_KEY, def.version.as_bytes())
            .map_err(|e| format!("could not set 'initialized' key: {e}"))?;
        return Ok(true);
    }
    if needs_init {
        return Err(format!(
            "chaincode '{name}' has not been initialized for this version, must call as init first"
        ));
    }
    Ok(false)
}

/// Fabric's `UnpackedProposal.Validate` with its messages; returns the validated creator.
/// A creator the channel's MSPs validated before is not parsed again (their cache).
pub fn validate_proposal(
    up: &UnpackedProposal,
    channel: &dyn ChannelPolicies,
    when: ValidityTime,
) -> Result<ValidatedIdentity, String> {
    let t = up.channel_header.r#type;
    if t != HeaderType::EndorserTransaction as i32 && t != HeaderType::Config as i32 {
        let name =
            HeaderType::try_from(t).map_or_else(|_| t.to_string(), |h| h.as_str_name().to_owned());
        return Err(format!("invalid header type {name}"));
    }
    if up.channel_header.epoch != 0 {
        return Err("epoch is non-zero".into());
    }
    let shdr = &up.signature_header;
    if shdr.nonce.is_empty() {
        return Err("nonce is empty".into());
    }
    if shdr.creator.is_empty() {
        return Err("creator is empty".into());
    }
    let expected = compute_tx_id(&shdr.nonce, &shdr.creator);
    if up.tx_id() != expected {
        return Err(format!(
            "incorrectly computed txid '{}' -- expected '{expected}'",
            up.tx_id()
        ));
    }
    if up.signed.proposal_bytes.is_empty() {
        return Err("empty proposal bytes".into());
    }
    if up.signed.signature.is_empty() {
        return Err("empty signature bytes".into());
    }
    let channel_id = up.channel_id();
    let malformed = || {
        format!("access denied: channel [{channel_id}] creator org unknown, creator is malformed")
    };
    let ids = PeerIdentities {
        msps: channel.msps(),
    };
    // A creator seen before comes from the cache, without parsing its certificate again;
    // only a failure is looked at closer, for Fabric's two messages.
    let creator = ids.validate_serialized(&shdr.creator, when).map_err(|e| {
        let Ok(identity) = Identity::from_serialized(&shdr.creator) else {
            return malformed();
        };
        if channel.msps().get(identity.msp_id()).is_none() {
            return malformed();
        }
        tracing::warn!(error = %e, "access denied: identity is not valid");
        format!(
            "access denied: channel [{channel_id}] creator org [{}]",
            identity.msp_id()
        )
    })?;
    ids.verify(&creator, &up.signed.proposal_bytes, &up.signed.signature)
        .map_err(|e| {
            tracing::warn!(error = %e, "access denied: creator's signature over the proposal is not valid");
            format!(
                "access denied: channel [{channel_id}] creator org [{}]",
                creator.msp_id()
            )
        })?;
    Ok(creator)
}

fn unpack_message(e: &sfcbc_fabric::error::TxError) -> String {
    use sfcbc_fabric::error::TxError;
    match e {
        TxError::Missing("ChaincodeHeaderExtension.chaincode_id") => {
            "ChaincodeHeaderExtension.ChaincodeId is nil".into()
        }
        TxError::EmptyChaincodeName => "ChaincodeHeaderExtension.ChaincodeId.Name is empty".into(),
        TxError::Missing("ChaincodeInvocationSpec.chaincode_spec") => {
            "chaincode invocation spec did not contain chaincode spec".into()
        }
        TxError::Missing("ChaincodeSpec.input") => {
            "chaincode input did not contain any input".into()
        }
        other => other.to_string(),
    }
}

/// The collections a proposal's simulation may use: the definition's explicit ones and the
/// implicit collections of the channel's orgs, with the creator's permissions
/// (`memberOnlyRead` / `memberOnlyWrite` against the collection's member orgs policy).
struct DefinitionCollections {
    def: Arc<ChaincodeDefinition>,
    channel_orgs: BTreeSet<String>,
    creator: ValidatedIdentity,
}

impl Collections for DefinitionCollections {
    fn is_defined(&self, namespace: &str, collection: &str) -> bool {
        if namespace != self.def.name {
            return false;
        }
        match implicit_collection_msp(collection) {
            Some(msp) => self.channel_orgs.contains(msp),
            None => self.def.collections.iter().any(|c| c.name == collection),
        }
    }

    fn permission(&self, _namespace: &str, collection: &str) -> CollectionPermission {
        let Some(c) = self.def.collection(collection) else {
            return CollectionPermission {
                read: false,
                write: false,
            };
        };
        let member = CompiledPolicy::new(&c.member_orgs_policy)
            .is_ok_and(|p| p.evaluate(std::slice::from_ref(&self.creator)));
        CollectionPermission {
            read: !c.member_only_read || member,
            write: !c.member_only_write || member,
        }
    }
}

/// Fabric's `buildChaincodeInterest` from the public rwset: a call per namespace whose
/// public state is written or read, and per collection written or read (with
/// `no_private_reads` when the collection was only written). Key-level (state-based)
/// policies are not looked up: every written namespace or collection requires its policy.
pub fn chaincode_interest(rwset: &TxReadWriteSet) -> ChaincodeInterest {
    // namespace → collection ("" = public) → required.
    let mut required: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let mut private_reads: BTreeSet<(String, String)> = BTreeSet::new();
    for ns in &rwset.ns_rwset {
        // Fabric skips system chaincodes (the `_lifecycle` definition reads).
        if matches!(ns.namespace.as_str(), "_lifecycle" | "cscc" | "qscc") {
            continue;
        }
        let kv = KvrwSet::decode(ns.rwset.as_slice()).unwrap_or_default();
        let mut wrote = false;
        let mut entry: BTreeMap<String, bool> = BTreeMap::new();
        if !kv.writes.is_empty() || !kv.metadata_writes.is_empty() {
            entry.insert(String::new(), true);
            wrote = true;
        }
        for c in &ns.collection_hashed_rwset {
            let h = HashedRwSet::decode(c.hashed_rwset.as_slice()).unwrap_or_default();
            if !h.hashed_writes.is_empty() || !h.metadata_writes.is_empty() {
                entry.insert(c.collection_name.clone(), true);
                wrote = true;
            }
            if !h.hashed_reads.is_empty() {
                private_reads.insert((ns.namespace.clone(), c.collection_name.clone()));
            }
        }
        if wrote {
            entry.entry(String::new()).or_insert(false);
        } else {
            entry.insert(String::new(), true);
        }
        required.insert(ns.namespace.clone(), entry);
    }
    for (ns, coll) in &private_reads {
        required
            .entry(ns.clone())
            .or_default()
            .insert(coll.clone(), true);
    }
    let mut chaincodes = Vec::new();
    for (ns, colls) in required {
        for (coll, req) in colls {
            if coll.is_empty() {
                if req {
                    chaincodes.push(ChaincodeCall {
                        name: ns.clone(),
                        ..Default::default()
                    });
                }
            } else {
                chaincodes.push(ChaincodeCall {
                    name: ns.clone(),
                    collection_names: vec![coll.clone()],
                    no_private_reads: !private_reads.contains(&(ns.clone(), coll.clone())),
                    ..Default::default()
                });
            }
        }
    }
    ChaincodeInterest { chaincodes }
}

/// The part of a private rwset that org `msp_id`'s peers may receive (the collections it is
/// a member of; an implicit collection only for its own org), or `None` if nothing.
pub fn private_data_for_org(
    pvt: &TxPvtReadWriteSet,
    definitions: &dyn ChaincodeDefinitions,
    msp_id: &str,
) -> Option<TxPvtReadWriteSet> {
    let mut out = TxPvtReadWriteSet {
        data_model: pvt.data_model,
        ns_pvt_rwset: Vec::new(),
    };
    for ns in &pvt.ns_pvt_rwset {
        let def = definitions.definition(&ns.namespace);
        let colls: Vec<_> = ns
            .collection_pvt_rwset
            .iter()
            .filter(|c| {
                def.as_ref()
                    .and_then(|d| d.collection(&c.collection_name))
                    .is_some_and(|cd| cd.is_member(msp_id))
            })
            .cloned()
            .collect();
        if !colls.is_empty() {
            out.ns_pvt_rwset
                .push(sfcbc_fabric::protos::rwset::NsPvtReadWriteSet {
                    namespace: ns.namespace.clone(),
                    collection_pvt_rwset: colls,
                });
        }
    }
    (!out.ns_pvt_rwset.is_empty()).then_some(out)
}
