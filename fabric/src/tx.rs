//! Proposals, proposal responses and endorsed transactions: built and checked as Fabric does.
//!
//! The flow, with who calls what:
//! 1. client: [`ProposalBuilder`] → [`ChaincodeProposal`] (tx id = hex(SHA-256(nonce ‖
//!    creator))), signed into a `SignedProposal`.
//! 2. endorsing peer: [`unpack_proposal`] → [`UnpackedProposal::validate`] (creator, tx id,
//!    signature) → simulate → [`UnpackedProposal::endorse`] (a signed `ProposalResponse`).
//! 3. client or gateway: [`assemble_transaction`] checks the responses agree and builds the
//!    `Envelope` (transient data left out, as Fabric's `GetBytesProposalPayloadForTx`), which
//!    the creator signs with [`sign_envelope`].
//! 4. committing peer: [`validate_transaction`] (Fabric's `ValidateTransaction`, with its
//!    `TxValidationCode`s) and [`ParsedTransaction::endorsers`] for the endorsement policy.
//!
//! Proposal hash: Fabric's endorser (`UnpackProposal`) hashes channel header ‖ signature header
//! ‖ the *re-marshalled* payload without transient map (what `GetProposalHash1` does); the
//! committer (`validateEndorserTransaction`) uses `GetProposalHash2` over the payload bytes in
//! the transaction, which are that same re-marshalled payload. Both are [`proposal_hash`].

use std::collections::{BTreeMap, HashMap};

use prost::Message;
use prost_types::Timestamp;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, TxError};
use crate::msp::{IdentityValidator, ValidatedIdentity, ValidityTime};
use crate::protos::common::{
    ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
};
use crate::protos::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeEvent,
    ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, ChaincodeSpec, Endorsement, Proposal, ProposalResponse,
    ProposalResponsePayload, Response, SignedProposal, Transaction, TransactionAction,
    TxValidationCode, chaincode_spec,
};
use crate::signer::Signer;

/// Length of the nonce in a `SignatureHeader` (Fabric's `crypto.NonceSize`).
pub const NONCE_LEN: usize = 24;

/// A fresh random 24-byte nonce.
pub fn new_nonce() -> Vec<u8> {
    let mut n = vec![0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut n);
    n
}

/// The transaction id Fabric derives: hex(SHA-256(nonce ‖ creator)).
pub fn compute_tx_id(nonce: &[u8], creator: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(nonce);
    h.update(creator);
    hex::encode(h.finalize())
}

/// Checks a tx id against its nonce and creator (Fabric's `CheckTxID`).
pub fn check_tx_id(tx_id: &str, nonce: &[u8], creator: &[u8]) -> Result<(), TxError> {
    let expected = compute_tx_id(nonce, creator);
    if tx_id == expected {
        Ok(())
    } else {
        Err(TxError::TxId {
            got: tx_id.to_string(),
            expected,
        })
    }
}

/// The proposal binding a chaincode can ask for (`stub.GetBinding()`): SHA-256(nonce ‖
/// creator ‖ epoch as 8 little-endian bytes), as Fabric's shim computes it.
pub fn proposal_binding(nonce: &[u8], creator: &[u8], epoch: u64) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(nonce);
    h.update(creator);
    h.update(epoch.to_le_bytes());
    h.finalize().to_vec()
}

/// The current time as a protobuf timestamp (what `timestamppb.Now()` gives a Fabric client).
pub fn now_timestamp() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn decode<M: Message + Default>(bytes: &[u8], what: &'static str) -> Result<M, TxError> {
    M::decode(bytes).map_err(|source| TxError::Decode { what, source })
}

/// `ChaincodeProposalPayload` bytes with the transient map in key order: prost keeps maps in
/// a `HashMap`, whose order would make the proposal bytes differ run to run (Go's default
/// marshalling is not ordered either; peers only ever hash the transient-free form). Each map
/// entry carries both key and value even when empty, as Go's protobuf writes them (prost
/// would leave empty ones out).
pub fn encode_proposal_payload(input: &[u8], transient: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    use prost::encoding::{WireType, bytes, encode_key, encode_varint, string};
    let mut out = ChaincodeProposalPayload {
        input: input.to_vec(),
        transient_map: HashMap::new(),
    }
    .encode_to_vec();
    for (k, v) in transient {
        let entry_len = string::encoded_len(1, k) + bytes::encoded_len(2, v);
        encode_key(2, WireType::LengthDelimited, &mut out);
        encode_varint(entry_len as u64, &mut out);
        string::encode(1, k, &mut out);
        bytes::encode(2, v, &mut out);
    }
    out
}

/// The proposal payload as it goes into a transaction: `ChaincodeProposalPayload{input}`
/// without the transient map (Fabric's `GetBytesProposalPayloadForTx`).
pub fn proposal_payload_for_tx(input: &[u8]) -> Vec<u8> {
    encode_proposal_payload(input, &BTreeMap::new())
}

/// SHA-256(channel header ‖ signature header ‖ payload-for-tx): the `proposal_hash` endorsers
/// put in their response payload and committers check.
pub fn proposal_hash(
    channel_header: &[u8],
    signature_header: &[u8],
    payload_for_tx: &[u8],
) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(channel_header);
    h.update(signature_header);
    h.update(payload_for_tx);
    h.finalize().to_vec()
}

/// Builds a chaincode invocation proposal as fabric-gateway's client does
/// (`ENDORSER_TRANSACTION`, epoch 0, chaincode type NODE, first argument = function name).
#[derive(Clone, Debug)]
pub struct ProposalBuilder {
    /// The channel.
    channel_id: String,
    /// The chaincode name (as defined on the channel).
    chaincode_name: String,
    /// `ChaincodeInput.args`: function name, then its arguments.
    args: Vec<Vec<u8>>,
    /// Private inputs for the chaincode; never written to the ledger.
    transient: BTreeMap<String, Vec<u8>>,
    /// Fixed nonce (tests, replays); random when `None`.
    nonce: Option<Vec<u8>>,
    /// Fixed timestamp; now when `None`.
    timestamp: Option<Timestamp>,
    /// `ChaincodeSpec.type`; fabric-gateway sends NODE whatever the language.
    chaincode_type: chaincode_spec::Type,
    /// `ChaincodeInput.is_init` (legacy `--isInit` invocations).
    is_init: bool,
}

impl ProposalBuilder {
    /// A proposal to invoke `chaincode_name` on `channel_id`.
    pub fn new(channel_id: impl Into<String>, chaincode_name: impl Into<String>) -> Self {
        Self {
            channel_id: channel_id.into(),
            chaincode_name: chaincode_name.into(),
            args: Vec::new(),
            transient: BTreeMap::new(),
            nonce: None,
            timestamp: None,
            chaincode_type: chaincode_spec::Type::Node,
            is_init: false,
        }
    }

    /// Appends one argument (the first is the transaction function's name).
    pub fn arg(mut self, arg: impl Into<Vec<u8>>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<Vec<u8>>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds a transient entry.
    pub fn transient(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.transient.insert(key.into(), value.into());
        self
    }

    /// Uses this nonce instead of a random one.
    pub fn nonce(mut self, nonce: impl Into<Vec<u8>>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Uses this timestamp instead of now.
    pub fn timestamp(mut self, ts: Timestamp) -> Self {
        self.timestamp = Some(ts);
        self
    }

    /// Sets `ChaincodeSpec.type`.
    pub fn chaincode_type(mut self, t: chaincode_spec::Type) -> Self {
        self.chaincode_type = t;
        self
    }

    /// Sets `ChaincodeInput.is_init`.
    pub fn is_init(mut self, is_init: bool) -> Self {
        self.is_init = is_init;
        self
    }

    /// Builds the proposal for `creator` (serialized identity bytes, e.g.
    /// [`Signer::serialize`]).
    pub fn build(self, creator: &[u8]) -> Result<ChaincodeProposal, TxError> {
        if self.chaincode_name.is_empty() {
            return Err(TxError::EmptyChaincodeName);
        }
        if creator.is_empty() {
            return Err(TxError::Missing("creator"));
        }
        let nonce = self.nonce.unwrap_or_else(new_nonce);
        if nonce.is_empty() {
            return Err(TxError::Missing("nonce"));
        }
        let tx_id = compute_tx_id(&nonce, creator);
        let chaincode_id = ChaincodeId {
            name: self.chaincode_name.clone(),
            ..Default::default()
        };
        let cis = ChaincodeInvocationSpec {
            chaincode_spec: Some(ChaincodeSpec {
                r#type: self.chaincode_type as i32,
                chaincode_id: Some(chaincode_id.clone()),
                input: Some(ChaincodeInput {
                    args: self.args,
                    decorations: HashMap::new(),
                    is_init: self.is_init,
                }),
                timeout: 0,
            }),
        };
        let input = cis.encode_to_vec();
        let payload = encode_proposal_payload(&input, &self.transient);
        let channel_header = ChannelHeader {
            r#type: HeaderType::EndorserTransaction as i32,
            version: 0,
            timestamp: Some(self.timestamp.unwrap_or_else(now_timestamp)),
            channel_id: self.channel_id.clone(),
            tx_id: tx_id.clone(),
            epoch: 0,
            extension: ChaincodeHeaderExtension {
                chaincode_id: Some(chaincode_id),
            }
            .encode_to_vec(),
            tls_cert_hash: Vec::new(),
        }
        .encode_to_vec();
        let signature_header = SignatureHeader {
            creator: creator.to_vec(),
            nonce,
        }
        .encode_to_vec();
        let header = Header {
            channel_header: channel_header.clone(),
            signature_header: signature_header.clone(),
        }
        .encode_to_vec();
        let bytes = Proposal {
            header,
            payload: payload.clone(),
            extension: Vec::new(),
        }
        .encode_to_vec();
        Ok(ChaincodeProposal {
            tx_id,
            channel_id: self.channel_id,
            chaincode_name: self.chaincode_name,
            channel_header,
            signature_header,
            payload,
            payload_for_tx: proposal_payload_for_tx(&input),
            bytes,
        })
    }
}

/// A built, unsigned proposal. Sign [`ChaincodeProposal::bytes`] (or call
/// [`ChaincodeProposal::sign`]) to get the `SignedProposal` that goes to endorsers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChaincodeProposal {
    /// The transaction id.
    pub tx_id: String,
    /// The channel.
    pub channel_id: String,
    /// The chaincode.
    pub chaincode_name: String,
    /// `common.ChannelHeader` bytes.
    pub channel_header: Vec<u8>,
    /// `common.SignatureHeader` bytes.
    pub signature_header: Vec<u8>,
    /// `ChaincodeProposalPayload` bytes, with the transient map.
    pub payload: Vec<u8>,
    /// `ChaincodeProposalPayload` bytes without the transient map.
    pub payload_for_tx: Vec<u8>,
    /// `protos.Proposal` bytes: what the creator signs.
    pub bytes: Vec<u8>,
}

impl ChaincodeProposal {
    /// The bytes the creator signs.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The proposal hash endorsers will echo.
    pub fn proposal_hash(&self) -> Vec<u8> {
        proposal_hash(
            &self.channel_header,
            &self.signature_header,
            &self.payload_for_tx,
        )
    }

    /// Signs the proposal.
    pub fn sign(&self, signer: &Signer) -> SignedProposal {
        self.with_signature(signer.sign(&self.bytes))
    }

    /// Attaches a signature made elsewhere (off-line signing).
    pub fn with_signature(&self, signature: Vec<u8>) -> SignedProposal {
        SignedProposal {
            proposal_bytes: self.bytes.clone(),
            signature,
        }
    }
}

/// A `SignedProposal` taken apart, as Fabric's endorser `UnpackProposal` does.
#[derive(Clone, Debug, PartialEq)]
pub struct UnpackedProposal {
    /// What was received.
    pub signed: SignedProposal,
    /// The decoded proposal.
    pub proposal: Proposal,
    /// Its header (raw header parts kept as bytes).
    pub header: Header,
    /// Decoded channel header.
    pub channel_header: ChannelHeader,
    /// Decoded signature header.
    pub signature_header: SignatureHeader,
    /// The chaincode named in the header extension.
    pub chaincode_name: String,
    /// The invocation spec.
    pub invocation: ChaincodeInvocationSpec,
    /// The chaincode input (function and arguments).
    pub input: ChaincodeInput,
    /// The transient map (never in the transaction).
    pub transient_map: HashMap<String, Vec<u8>>,
    /// `ChaincodeProposalPayload{input}` re-marshalled without transient data.
    pub payload_for_tx: Vec<u8>,
    /// SHA-256 over channel header ‖ signature header ‖ `payload_for_tx`.
    pub proposal_hash: Vec<u8>,
}

/// Decodes and takes apart a `SignedProposal` (structure only; see
/// [`UnpackedProposal::validate`] for the checks on identity and signature).
pub fn unpack_proposal(signed: &SignedProposal) -> Result<UnpackedProposal, TxError> {
    let proposal: Proposal = decode(&signed.proposal_bytes, "Proposal")?;
    let header: Header = decode(&proposal.header, "Proposal.header (common.Header)")?;
    let channel_header: ChannelHeader = decode(&header.channel_header, "ChannelHeader")?;
    let signature_header: SignatureHeader = decode(&header.signature_header, "SignatureHeader")?;
    let ext: ChaincodeHeaderExtension =
        decode(&channel_header.extension, "ChaincodeHeaderExtension")?;
    let chaincode_id = ext
        .chaincode_id
        .ok_or(TxError::Missing("ChaincodeHeaderExtension.chaincode_id"))?;
    if chaincode_id.name.is_empty() {
        return Err(TxError::EmptyChaincodeName);
    }
    let cpp: ChaincodeProposalPayload = decode(&proposal.payload, "ChaincodeProposalPayload")?;
    let invocation: ChaincodeInvocationSpec = decode(&cpp.input, "ChaincodeInvocationSpec")?;
    let spec = invocation
        .chaincode_spec
        .as_ref()
        .ok_or(TxError::Missing("ChaincodeInvocationSpec.chaincode_spec"))?;
    let input = spec
        .input
        .clone()
        .ok_or(TxError::Missing("ChaincodeSpec.input"))?;
    let payload_for_tx = proposal_payload_for_tx(&cpp.input);
    let hash = proposal_hash(
        &header.channel_header,
        &header.signature_header,
        &payload_for_tx,
    );
    Ok(UnpackedProposal {
        signed: signed.clone(),
        proposal,
        chaincode_name: chaincode_id.name,
        header,
        channel_header,
        signature_header,
        invocation,
        input,
        transient_map: cpp.transient_map,
        payload_for_tx,
        proposal_hash: hash,
    })
}

/// [`unpack_proposal`] from `SignedProposal` bytes.
pub fn unpack_proposal_bytes(bytes: &[u8]) -> Result<UnpackedProposal, TxError> {
    unpack_proposal(&decode(bytes, "SignedProposal")?)
}

impl UnpackedProposal {
    /// The transaction id in the channel header.
    pub fn tx_id(&self) -> &str {
        &self.channel_header.tx_id
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_header.channel_id
    }

    /// The creator's serialized identity.
    pub fn creator(&self) -> &[u8] {
        &self.signature_header.creator
    }

    /// The proposal binding (see [`proposal_binding`]).
    pub fn binding(&self) -> Vec<u8> {
        proposal_binding(
            &self.signature_header.nonce,
            &self.signature_header.creator,
            self.channel_header.epoch,
        )
    }

    /// The proposal's timestamp (the chaincode's notion of "now").
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.channel_header.timestamp
    }

    /// Fabric's endorser checks (`UnpackedProposal.Validate`): header type
    /// `ENDORSER_TRANSACTION` (or `CONFIG`), epoch 0, nonce and creator present, tx id =
    /// hash(nonce ‖ creator), the creator valid in its MSP, its signature over the proposal.
    pub fn validate(
        &self,
        msps: &(impl IdentityValidator + ?Sized),
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, TxError> {
        let t = self.channel_header.r#type;
        if t != HeaderType::EndorserTransaction as i32 && t != HeaderType::Config as i32 {
            return Err(TxError::HeaderType {
                got: t,
                expected: "ENDORSER_TRANSACTION or CONFIG",
            });
        }
        if self.channel_header.epoch != 0 {
            return Err(TxError::Epoch(self.channel_header.epoch));
        }
        if self.signature_header.nonce.is_empty() {
            return Err(TxError::Missing("SignatureHeader.nonce"));
        }
        if self.signature_header.creator.is_empty() {
            return Err(TxError::Missing("SignatureHeader.creator"));
        }
        check_tx_id(
            self.tx_id(),
            &self.signature_header.nonce,
            &self.signature_header.creator,
        )?;
        if self.signed.signature.is_empty() {
            return Err(TxError::Missing("SignedProposal.signature"));
        }
        verify_signed(
            msps,
            when,
            &self.signature_header.creator,
            &self.signed.proposal_bytes,
            &self.signed.signature,
            "creator",
        )
    }

    /// The endorser's response to a successful simulation, as Fabric's endorser and default
    /// endorsement plugin build it: `ProposalResponsePayload{proposal_hash,
    /// extension = ChaincodeAction{results, events, response, chaincode_id}}`, signed over
    /// payload ‖ endorser identity, version 1.
    ///
    /// A chaincode `response` with status ≥ 400 gets no endorsement (Fabric returns the
    /// response alone); ≥ 500 also carries the payload, as Fabric does.
    pub fn endorse(
        &self,
        response: Response,
        results: Vec<u8>,
        event: Option<&ChaincodeEvent>,
        chaincode_version: &str,
        endorser: &Signer,
    ) -> ProposalResponse {
        let chaincode_id = ChaincodeId {
            name: self.chaincode_name.clone(),
            version: chaincode_version.to_string(),
            path: String::new(),
        };
        let payload = proposal_response_payload(
            &self.proposal_hash,
            &response,
            results,
            event.map(Message::encode_to_vec).unwrap_or_default(),
            chaincode_id,
        );
        if response.status >= 500 {
            return ProposalResponse {
                response: Some(response),
                payload,
                ..Default::default()
            };
        }
        if response.status >= 400 {
            return ProposalResponse {
                response: Some(response),
                ..Default::default()
            };
        }
        let endorsement = endorse_payload(&payload, endorser);
        ProposalResponse {
            version: 1,
            timestamp: None,
            response: Some(response),
            payload,
            endorsement: Some(endorsement),
            interest: None,
        }
    }
}

/// `ProposalResponsePayload` bytes (Fabric's `GetBytesProposalResponsePayload`).
pub fn proposal_response_payload(
    proposal_hash: &[u8],
    response: &Response,
    results: Vec<u8>,
    events: Vec<u8>,
    chaincode_id: ChaincodeId,
) -> Vec<u8> {
    let action = ChaincodeAction {
        results,
        events,
        response: Some(response.clone()),
        chaincode_id: Some(chaincode_id),
    };
    ProposalResponsePayload {
        proposal_hash: proposal_hash.to_vec(),
        extension: action.encode_to_vec(),
    }
    .encode_to_vec()
}

/// An endorsement of `payload`: the endorser's signature over payload ‖ serialized endorser.
pub fn endorse_payload(payload: &[u8], endorser: &Signer) -> Endorsement {
    let identity = endorser.serialize();
    let mut msg = Vec::with_capacity(payload.len() + identity.len());
    msg.extend_from_slice(payload);
    msg.extend_from_slice(&identity);
    Endorsement {
        signature: endorser.sign(&msg),
        endorser: identity,
    }
}

fn verify_signed(
    msps: &(impl IdentityValidator + ?Sized),
    when: ValidityTime,
    identity: &[u8],
    msg: &[u8],
    sig: &[u8],
    who: &str,
) -> Result<ValidatedIdentity, TxError> {
    let id = msps
        .validate_serialized(identity, when)
        .map_err(|e| TxError::Identity {
            who: who.to_string(),
            source: Box::new(Error::Msp(e)),
        })?;
    msps.verify(&id, msg, sig).map_err(|e| TxError::Signature {
        who: who.to_string(),
        source: Box::new(Error::Crypto(e)),
    })?;
    Ok(id)
}

/// Verifies one endorsement over a response payload; returns the endorser.
pub fn verify_endorsement(
    payload: &[u8],
    endorsement: &Endorsement,
    msps: &(impl IdentityValidator + ?Sized),
    when: ValidityTime,
) -> Result<ValidatedIdentity, TxError> {
    let mut msg = Vec::with_capacity(payload.len() + endorsement.endorser.len());
    msg.extend_from_slice(payload);
    msg.extend_from_slice(&endorsement.endorser);
    verify_signed(
        msps,
        when,
        &endorsement.endorser,
        &msg,
        &endorsement.signature,
        "endorser",
    )
}

/// Builds the unsigned transaction envelope from a proposal and its endorsers' responses, as
/// Fabric's gateway (`prepareTransaction`) and `protoutil.CreateSignedTx` do: every response
/// successful (200 ≤ status < 400), all payloads equal and echoing this proposal's hash,
/// endorsements de-duplicated by endorser, transient data left out. Sign the result's
/// `payload` with [`sign_envelope`].
pub fn assemble_transaction(
    proposal: &SignedProposal,
    responses: &[ProposalResponse],
) -> Result<Envelope, TxError> {
    let up = unpack_proposal(proposal)?;
    let first = responses.first().ok_or(TxError::NoResponses)?;
    for (index, r) in responses.iter().enumerate() {
        let resp = r
            .response
            .as_ref()
            .ok_or(TxError::Missing("ProposalResponse.response"))?;
        if resp.status < 200 || resp.status >= 400 {
            return Err(TxError::ResponseStatus {
                index,
                status: resp.status,
                message: resp.message.clone(),
            });
        }
        if r.payload != first.payload {
            return Err(TxError::PayloadMismatch { index });
        }
    }
    let prp: ProposalResponsePayload = decode(&first.payload, "ProposalResponsePayload")?;
    if prp.proposal_hash != up.proposal_hash {
        return Err(TxError::ProposalHash);
    }
    let mut endorsements: Vec<Endorsement> = Vec::new();
    for e in responses.iter().filter_map(|r| r.endorsement.as_ref()) {
        if !endorsements.iter().any(|x| x.endorser == e.endorser) {
            endorsements.push(e.clone());
        }
    }
    if endorsements.is_empty() {
        return Err(TxError::NoEndorsements);
    }
    let action_payload = ChaincodeActionPayload {
        chaincode_proposal_payload: up.payload_for_tx.clone(),
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: first.payload.clone(),
            endorsements,
        }),
    };
    let tx = Transaction {
        actions: vec![TransactionAction {
            header: up.header.signature_header.clone(),
            payload: action_payload.encode_to_vec(),
        }],
    };
    let payload = Payload {
        header: Some(up.header.clone()),
        data: tx.encode_to_vec(),
    };
    Ok(Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    })
}

/// Signs an envelope's payload (the creator signs the transaction it proposed).
pub fn sign_envelope(mut envelope: Envelope, signer: &Signer) -> Envelope {
    envelope.signature = signer.sign(&envelope.payload);
    envelope
}

/// [`assemble_transaction`] then [`sign_envelope`], checking first that `signer` is the
/// proposal's creator (Fabric's `CreateSignedTx`).
pub fn create_signed_transaction(
    proposal: &SignedProposal,
    responses: &[ProposalResponse],
    signer: &Signer,
) -> Result<Envelope, TxError> {
    let up = unpack_proposal(proposal)?;
    if up.signature_header.creator != signer.serialize() {
        return Err(TxError::CreatorMismatch);
    }
    Ok(sign_envelope(
        assemble_transaction(proposal, responses)?,
        signer,
    ))
}

/// A signed envelope of any type, as Fabric's `CreateSignedEnvelopeWithTLSBinding` builds it:
/// channel header {type, channel, timestamp = now to the second, epoch 0, no tx id,
/// optional TLS certificate hash}, signature header {creator, random 24-byte nonce}, `data`
/// as the payload data, the creator's signature over the payload. Used for `Deliver` seek
/// requests (`DELIVER_SEEK_INFO` with an `orderer.SeekInfo`) and config updates.
pub fn create_signed_envelope(
    header_type: HeaderType,
    channel_id: &str,
    data: Vec<u8>,
    tls_cert_hash: Vec<u8>,
    signer: &Signer,
) -> Envelope {
    let now = Timestamp {
        nanos: 0,
        ..now_timestamp()
    };
    create_signed_envelope_at(
        header_type,
        channel_id,
        data,
        tls_cert_hash,
        now,
        new_nonce(),
        signer,
    )
}

/// [`create_signed_envelope`] with a fixed timestamp and nonce.
pub fn create_signed_envelope_at(
    header_type: HeaderType,
    channel_id: &str,
    data: Vec<u8>,
    tls_cert_hash: Vec<u8>,
    timestamp: Timestamp,
    nonce: Vec<u8>,
    signer: &Signer,
) -> Envelope {
    let header = Header {
        channel_header: ChannelHeader {
            r#type: header_type as i32,
            version: 0,
            timestamp: Some(timestamp),
            channel_id: channel_id.to_string(),
            tx_id: String::new(),
            epoch: 0,
            extension: Vec::new(),
            tls_cert_hash,
        }
        .encode_to_vec(),
        signature_header: SignatureHeader {
            creator: signer.serialize(),
            nonce,
        }
        .encode_to_vec(),
    };
    let payload = Payload {
        header: Some(header),
        data,
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload),
        payload,
    }
}

/// A signed envelope whose creator signature checked out.
#[derive(Clone, Debug)]
pub struct CheckedEnvelope {
    /// The payload (header and data).
    pub payload: Payload,
    /// Decoded channel header.
    pub channel_header: ChannelHeader,
    /// Decoded signature header.
    pub signature_header: SignatureHeader,
    /// The creator, validated by its MSP.
    pub creator: ValidatedIdentity,
}

/// Checks any signed envelope (a Deliver request, a config update): payload and headers
/// decode, the header type is `expected` (if given), nonce and creator are present, the
/// creator is valid and signed the payload. The caller then applies the channel's policy
/// (e.g. `Readers` for Deliver) to [`CheckedEnvelope::creator`].
pub fn check_signed_envelope(
    envelope: &Envelope,
    expected: Option<HeaderType>,
    msps: &(impl IdentityValidator + ?Sized),
    when: ValidityTime,
) -> Result<CheckedEnvelope, TxError> {
    let payload: Payload = decode(&envelope.payload, "Payload")?;
    let header = payload
        .header
        .as_ref()
        .ok_or(TxError::Missing("Payload.header"))?;
    let channel_header: ChannelHeader = decode(&header.channel_header, "ChannelHeader")?;
    let signature_header: SignatureHeader = decode(&header.signature_header, "SignatureHeader")?;
    if let Some(t) = expected
        && channel_header.r#type != t as i32
    {
        return Err(TxError::HeaderType {
            got: channel_header.r#type,
            expected: t.as_str_name(),
        });
    }
    if signature_header.nonce.is_empty() {
        return Err(TxError::Missing("SignatureHeader.nonce"));
    }
    if signature_header.creator.is_empty() {
        return Err(TxError::Missing("SignatureHeader.creator"));
    }
    let creator = verify_signed(
        msps,
        when,
        &signature_header.creator,
        &envelope.payload,
        &envelope.signature,
        "creator",
    )?;
    Ok(CheckedEnvelope {
        payload,
        channel_header,
        signature_header,
        creator,
    })
}

/// An endorser transaction envelope taken apart.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedTransaction {
    /// The envelope.
    pub envelope: Envelope,
    /// Its payload.
    pub payload: Payload,
    /// The payload header (bytes as signed).
    pub header: Header,
    /// Decoded channel header.
    pub channel_header: ChannelHeader,
    /// Decoded signature header (the creator).
    pub signature_header: SignatureHeader,
    /// The transaction.
    pub transaction: Transaction,
    /// The only action's `ChaincodeActionPayload`.
    pub action_payload: ChaincodeActionPayload,
    /// The only action's signature header bytes (the proposal's).
    pub action_header: Vec<u8>,
    /// The proposal payload as carried in the transaction (no transient data).
    pub proposal_payload: ChaincodeProposalPayload,
    /// The invocation (chaincode, function, arguments).
    pub invocation: ChaincodeInvocationSpec,
    /// The endorsed `ProposalResponsePayload` bytes.
    pub response_payload_bytes: Vec<u8>,
    /// Decoded response payload.
    pub response_payload: ProposalResponsePayload,
    /// The chaincode action: results (read-write set), events, response, chaincode id.
    pub chaincode_action: ChaincodeAction,
    /// Endorsements.
    pub endorsements: Vec<Endorsement>,
}

impl ParsedTransaction {
    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.channel_header.tx_id
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_header.channel_id
    }

    /// The chaincode event, if the chaincode set one.
    pub fn event(&self) -> Result<Option<ChaincodeEvent>, TxError> {
        if self.chaincode_action.events.is_empty() {
            return Ok(None);
        }
        decode(&self.chaincode_action.events, "ChaincodeEvent").map(Some)
    }

    /// The endorsers whose signature over the response payload verifies and whose identity
    /// is valid, each once (Fabric's `SignatureSetToValidIdentities`): the input to the
    /// endorsement policy. Invalid endorsements are skipped, as Fabric skips them.
    pub fn endorsers(
        &self,
        msps: &(impl IdentityValidator + ?Sized),
        when: ValidityTime,
    ) -> Vec<ValidatedIdentity> {
        let mut out: Vec<ValidatedIdentity> = Vec::new();
        let payload = &self.response_payload_bytes;
        for e in &self.endorsements {
            let Ok(id) = msps.validate_serialized(&e.endorser, when) else {
                continue;
            };
            // An identity already counted is skipped before its signature is checked, as
            // Fabric does, so repeated endorsements cost no verification.
            if out.iter().any(|o| {
                o.msp_id() == id.msp_id() && o.identity.cert_der() == id.identity.cert_der()
            }) {
                continue;
            }
            let mut msg = Vec::with_capacity(payload.len() + e.endorser.len());
            msg.extend_from_slice(payload);
            msg.extend_from_slice(&e.endorser);
            if msps.verify(&id, &msg, &e.signature).is_ok() {
                out.push(id);
            }
        }
        out
    }
}

/// Takes an endorser-transaction envelope apart (structure only, no signatures checked).
pub fn parse_envelope(envelope: &Envelope) -> Result<ParsedTransaction, TxError> {
    parse_envelope_payload(envelope, decode(&envelope.payload, "Payload")?)
}

/// [`parse_envelope`] with the envelope's payload already decoded (a transaction is large:
/// every decode of a level copies it).
fn parse_envelope_payload(
    envelope: &Envelope,
    payload: Payload,
) -> Result<ParsedTransaction, TxError> {
    let header = payload
        .header
        .clone()
        .ok_or(TxError::Missing("Payload.header"))?;
    let channel_header: ChannelHeader = decode(&header.channel_header, "ChannelHeader")?;
    let signature_header: SignatureHeader = decode(&header.signature_header, "SignatureHeader")?;
    if channel_header.r#type != HeaderType::EndorserTransaction as i32 {
        return Err(TxError::HeaderType {
            got: channel_header.r#type,
            expected: "ENDORSER_TRANSACTION",
        });
    }
    let transaction: Transaction = decode(&payload.data, "Transaction")?;
    if transaction.actions.len() != 1 {
        return Err(TxError::ActionCount(transaction.actions.len()));
    }
    let action = &transaction.actions[0];
    let action_header = action.header.clone();
    let action_payload: ChaincodeActionPayload = decode(&action.payload, "ChaincodeActionPayload")?;
    let endorsed = action_payload
        .action
        .as_ref()
        .ok_or(TxError::Missing("ChaincodeActionPayload.action"))?;
    let proposal_payload: ChaincodeProposalPayload = decode(
        &action_payload.chaincode_proposal_payload,
        "ChaincodeProposalPayload",
    )?;
    let invocation: ChaincodeInvocationSpec =
        decode(&proposal_payload.input, "ChaincodeInvocationSpec")?;
    let response_payload: ProposalResponsePayload = decode(
        &endorsed.proposal_response_payload,
        "ProposalResponsePayload",
    )?;
    if response_payload.extension.is_empty() {
        return Err(TxError::Missing("ProposalResponsePayload.extension"));
    }
    let chaincode_action: ChaincodeAction = decode(&response_payload.extension, "ChaincodeAction")?;
    let response_payload_bytes = endorsed.proposal_response_payload.clone();
    let endorsements = endorsed.endorsements.clone();
    Ok(ParsedTransaction {
        envelope: envelope.clone(),
        header,
        channel_header,
        signature_header,
        action_header,
        response_payload_bytes,
        endorsements,
        transaction,
        proposal_payload,
        invocation,
        response_payload,
        chaincode_action,
        payload,
        action_payload,
    })
}

/// [`parse_envelope`] from `Envelope` bytes.
pub fn parse_envelope_bytes(bytes: &[u8]) -> Result<ParsedTransaction, TxError> {
    parse_envelope(&decode(bytes, "Envelope")?)
}

/// Why a transaction is invalid: Fabric's validation code and our reason.
#[derive(Debug, thiserror::Error)]
#[error("transaction invalid ({}): {error}", code.as_str_name())]
pub struct InvalidTransaction {
    /// The code a committing peer records in the block's transaction filter.
    pub code: TxValidationCode,
    /// What was wrong.
    pub error: TxError,
}

fn invalid(code: TxValidationCode, error: TxError) -> InvalidTransaction {
    InvalidTransaction { code, error }
}

/// A committing peer's checks on an endorser transaction (Fabric's `ValidateTransaction`):
/// payload and headers well formed (`BAD_PAYLOAD`, `BAD_COMMON_HEADER`), the creator valid
/// and its signature over the payload (`BAD_CREATOR_SIGNATURE`), the tx id
/// (`BAD_PROPOSAL_TXID`), one action whose proposal hash matches
/// (`INVALID_ENDORSER_TRANSACTION`). Other header types get `UNSUPPORTED_TX_PAYLOAD` here
/// (config transactions are the orderer's and devnet's business). Endorsement policy, MVCC
/// and duplicate tx ids are checked by the caller.
///
/// `msps` is the channel's [`crate::msp::MspManager`] (which remembers the identities it
/// validated) or a node's wrapper around it ([`IdentityValidator`]).
pub fn validate_transaction(
    envelope: &Envelope,
    msps: &(impl IdentityValidator + ?Sized),
    when: ValidityTime,
) -> Result<ParsedTransaction, InvalidTransaction> {
    use TxValidationCode as C;
    let payload: Payload =
        decode(&envelope.payload, "Payload").map_err(|e| invalid(C::BadPayload, e))?;
    let header = payload
        .header
        .as_ref()
        .ok_or_else(|| invalid(C::BadCommonHeader, TxError::Missing("Payload.header")))?;
    let chdr: ChannelHeader = decode(&header.channel_header, "ChannelHeader")
        .map_err(|e| invalid(C::BadCommonHeader, e))?;
    let shdr: SignatureHeader = decode(&header.signature_header, "SignatureHeader")
        .map_err(|e| invalid(C::BadCommonHeader, e))?;
    let t = chdr.r#type;
    if ![
        HeaderType::EndorserTransaction as i32,
        HeaderType::ConfigUpdate as i32,
        HeaderType::Config as i32,
    ]
    .contains(&t)
    {
        return Err(invalid(
            C::BadCommonHeader,
            TxError::HeaderType {
                got: t,
                expected: "ENDORSER_TRANSACTION, CONFIG_UPDATE or CONFIG",
            },
        ));
    }
    if chdr.epoch != 0 {
        return Err(invalid(C::BadCommonHeader, TxError::Epoch(chdr.epoch)));
    }
    if shdr.nonce.is_empty() {
        return Err(invalid(
            C::BadCommonHeader,
            TxError::Missing("SignatureHeader.nonce"),
        ));
    }
    if shdr.creator.is_empty() {
        return Err(invalid(
            C::BadCommonHeader,
            TxError::Missing("SignatureHeader.creator"),
        ));
    }
    if envelope.signature.is_empty() {
        return Err(invalid(
            C::BadCreatorSignature,
            TxError::Missing("Envelope.signature"),
        ));
    }
    verify_signed(
        msps,
        when,
        &shdr.creator,
        &envelope.payload,
        &envelope.signature,
        "creator",
    )
    .map_err(|e| invalid(C::BadCreatorSignature, e))?;
    if t != HeaderType::EndorserTransaction as i32 {
        return Err(invalid(
            C::UnsupportedTxPayload,
            TxError::HeaderType {
                got: t,
                expected: "ENDORSER_TRANSACTION",
            },
        ));
    }
    check_tx_id(&chdr.tx_id, &shdr.nonce, &shdr.creator)
        .map_err(|e| invalid(C::BadProposalTxid, e))?;
    let channel_header = header.channel_header.clone();
    let parsed = parse_envelope_payload(envelope, payload)
        .map_err(|e| invalid(C::InvalidEndorserTransaction, e))?;
    let bad = |e| invalid(C::InvalidEndorserTransaction, e);
    let action_shdr: SignatureHeader =
        decode(&parsed.action_header, "TransactionAction.header").map_err(bad)?;
    if action_shdr.nonce.is_empty() {
        return Err(bad(TxError::Missing("TransactionAction.header nonce")));
    }
    if action_shdr.creator.is_empty() {
        return Err(bad(TxError::Missing("TransactionAction.header creator")));
    }
    let hash = proposal_hash(
        &channel_header,
        &parsed.action_header,
        &parsed.action_payload.chaincode_proposal_payload,
    );
    if hash != parsed.response_payload.proposal_hash {
        return Err(bad(TxError::ProposalHash));
    }
    Ok(parsed)
}
