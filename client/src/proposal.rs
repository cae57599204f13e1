//! The steps of a transaction: [`Proposal`] → ([`Proposal::endorse`]) [`Transaction`] →
//! ([`Transaction::submit`]) [`Commit`] → ([`Commit::status`]) [`Status`].
//!
//! Each step signs its message with the gateway's signer when it has one; otherwise the
//! message must be signed off-line: take `message()` (or its SHA-256 `digest()`), sign it,
//! and rebuild the step with `Gateway::new_signed_proposal` / `new_signed_transaction` /
//! `new_signed_commit` from `bytes()`, exactly as fabric-gateway's off-line signing flow.

use std::time::Duration;

use prost::Message;
use sfcbc_fabric::protos::common::{ChannelHeader, Envelope, Payload};
use sfcbc_fabric::protos::gateway::{
    CommitStatusRequest, EndorseRequest, EvaluateRequest, PreparedTransaction, ProposedTransaction,
    SignedCommitStatusRequest, SubmitRequest,
};
use sfcbc_fabric::protos::protos::{
    ChaincodeAction, ChaincodeActionPayload, ProposalResponsePayload, Transaction as TxProto,
    TxValidationCode,
};

use crate::error::{Error, Result, Step, validation_code_name};
use crate::gateway::{Gateway, digest, request};

/// A signed-or-to-be-signed transaction proposal, ready to evaluate or endorse.
#[derive(Clone, Debug)]
pub struct Proposal {
    gateway: Gateway,
    channel_id: String,
    /// The proposal, its signature, and the orgs that must endorse it (or evaluate it).
    proposed: ProposedTransaction,
}

impl Proposal {
    pub(crate) fn from_parts(
        gateway: Gateway,
        channel_id: String,
        proposed: ProposedTransaction,
    ) -> Self {
        Self {
            gateway,
            channel_id,
            proposed,
        }
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.proposed.transaction_id
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The organizations the proposal goes to (empty: the gateway chooses).
    pub fn endorsing_organizations(&self) -> &[String] {
        &self.proposed.endorsing_organizations
    }

    /// The serialized proposal (`gateway.ProposedTransaction`), for off-line signing and
    /// [`Gateway::new_signed_proposal`].
    pub fn bytes(&self) -> Vec<u8> {
        self.proposed.encode_to_vec()
    }

    /// The bytes to sign: the `protos.Proposal`.
    pub fn message(&self) -> &[u8] {
        self.proposed
            .proposal
            .as_ref()
            .map(|p| p.proposal_bytes.as_slice())
            .unwrap_or_default()
    }

    /// SHA-256 of [`Self::message`], for signers that take a digest.
    pub fn digest(&self) -> Vec<u8> {
        digest(self.message())
    }

    /// Whether the proposal carries a signature.
    pub fn is_signed(&self) -> bool {
        self.proposed
            .proposal
            .as_ref()
            .is_some_and(|p| !p.signature.is_empty())
    }

    pub(crate) fn set_signature(&mut self, signature: Vec<u8>) {
        if let Some(p) = self.proposed.proposal.as_mut() {
            p.signature = signature;
        }
    }

    fn sign(&mut self) -> Result<()> {
        if !self.is_signed() {
            let sig = self.gateway.inner.sign("the proposal", self.message())?;
            self.set_signature(sig);
        }
        Ok(())
    }

    /// Evaluates the proposal: runs the transaction function on a peer (of the endorsing
    /// organizations if given, else one the gateway picks, its own org first) and returns its
    /// result. Nothing is sent to the orderer, nothing is committed: a query.
    pub async fn evaluate(&mut self) -> Result<Vec<u8>> {
        let t = self.gateway.inner.timeouts.evaluate;
        self.evaluate_with_timeout(t).await
    }

    /// [`Self::evaluate`] with its own time-out (`None`: no client-side limit).
    pub async fn evaluate_with_timeout(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>> {
        self.sign()?;
        let inner = &self.gateway.inner;
        let req = EvaluateRequest {
            transaction_id: self.proposed.transaction_id.clone(),
            channel_id: self.channel_id.clone(),
            proposed_transaction: self.proposed.proposal.clone(),
            target_organizations: self.proposed.endorsing_organizations.clone(),
        };
        let mut client = inner.gateway.clone();
        let resp = inner
            .call(
                Step::Evaluate,
                Some(self.tx_id()),
                timeout,
                client.evaluate(request(req, timeout)),
            )
            .await?;
        Ok(resp.result.map(|r| r.payload).unwrap_or_default())
    }

    /// Endorses the proposal: the gateway sends it to enough peers to satisfy the
    /// endorsement policy (only to the endorsing organizations if given), checks their
    /// responses agree, and returns the unsigned transaction.
    pub async fn endorse(&mut self) -> Result<Transaction> {
        let t = self.gateway.inner.timeouts.endorse;
        self.endorse_with_timeout(t).await
    }

    /// [`Self::endorse`] with its own time-out.
    pub async fn endorse_with_timeout(&mut self, timeout: Option<Duration>) -> Result<Transaction> {
        self.sign()?;
        let inner = &self.gateway.inner;
        let req = EndorseRequest {
            transaction_id: self.proposed.transaction_id.clone(),
            channel_id: self.channel_id.clone(),
            proposed_transaction: self.proposed.proposal.clone(),
            endorsing_organizations: self.proposed.endorsing_organizations.clone(),
        };
        let mut client = inner.gateway.clone();
        let resp = inner
            .call(
                Step::Endorse,
                Some(self.tx_id()),
                timeout,
                client.endorse(request(req, timeout)),
            )
            .await?;
        let envelope = resp
            .prepared_transaction
            .ok_or_else(|| Error::decode("EndorseResponse", "no prepared transaction"))?;
        Transaction::from_prepared(
            self.gateway.clone(),
            PreparedTransaction {
                transaction_id: self.proposed.transaction_id.clone(),
                envelope: Some(envelope),
            },
        )
    }
}

/// An endorsed transaction, to be signed and submitted to the orderer.
#[derive(Clone, Debug)]
pub struct Transaction {
    gateway: Gateway,
    channel_id: String,
    prepared: PreparedTransaction,
    /// The transaction function's return value, as endorsed.
    result: Vec<u8>,
}

impl Transaction {
    pub(crate) fn from_prepared(gateway: Gateway, prepared: PreparedTransaction) -> Result<Self> {
        let envelope = prepared
            .envelope
            .as_ref()
            .ok_or_else(|| Error::decode("PreparedTransaction", "no envelope"))?;
        let (channel_id, result) = parse_transaction_envelope(envelope)?;
        Ok(Self {
            gateway,
            channel_id,
            prepared,
            result,
        })
    }

    /// The transaction function's result (what the endorsers agreed on).
    pub fn result(&self) -> &[u8] {
        &self.result
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.prepared.transaction_id
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The serialized transaction (`gateway.PreparedTransaction`), for off-line signing and
    /// [`Gateway::new_signed_transaction`].
    pub fn bytes(&self) -> Vec<u8> {
        self.prepared.encode_to_vec()
    }

    /// The bytes to sign: the envelope's payload.
    pub fn message(&self) -> &[u8] {
        self.prepared
            .envelope
            .as_ref()
            .map(|e| e.payload.as_slice())
            .unwrap_or_default()
    }

    /// SHA-256 of [`Self::message`].
    pub fn digest(&self) -> Vec<u8> {
        digest(self.message())
    }

    /// The transaction envelope as it goes to the orderer.
    pub fn envelope(&self) -> Option<&Envelope> {
        self.prepared.envelope.as_ref()
    }

    /// Whether the envelope carries a signature.
    pub fn is_signed(&self) -> bool {
        self.prepared
            .envelope
            .as_ref()
            .is_some_and(|e| !e.signature.is_empty())
    }

    pub(crate) fn set_signature(&mut self, signature: Vec<u8>) {
        if let Some(e) = self.prepared.envelope.as_mut() {
            e.signature = signature;
        }
    }

    /// Signs (unless signed off-line) and submits the transaction: the gateway hands it to
    /// the ordering service and returns once the orderer accepted it. The returned
    /// [`Commit`] waits for the block.
    pub async fn submit(&mut self) -> Result<Commit> {
        let t = self.gateway.inner.timeouts.submit;
        self.submit_with_timeout(t).await
    }

    /// [`Self::submit`] with its own time-out.
    pub async fn submit_with_timeout(&mut self, timeout: Option<Duration>) -> Result<Commit> {
        if !self.is_signed() {
            let sig = self.gateway.inner.sign("the transaction", self.message())?;
            self.set_signature(sig);
        }
        // Built before the submit so that nothing can fail after the transaction is out.
        let status_request = SignedCommitStatusRequest {
            request: CommitStatusRequest {
                transaction_id: self.tx_id().to_string(),
                channel_id: self.channel_id.clone(),
                identity: self.gateway.inner.creator(),
            }
            .encode_to_vec(),
            signature: Vec::new(),
        };
        let inner = &self.gateway.inner;
        let req = SubmitRequest {
            transaction_id: self.tx_id().to_string(),
            channel_id: self.channel_id.clone(),
            prepared_transaction: self.prepared.envelope.clone(),
        };
        let mut client = inner.gateway.clone();
        inner
            .call(
                Step::Submit,
                Some(self.tx_id()),
                timeout,
                client.submit(request(req, timeout)),
            )
            .await?;
        Ok(Commit::from_parts(
            self.gateway.clone(),
            self.tx_id().to_string(),
            status_request,
        ))
    }
}

/// The channel id and the chaincode's result from an endorsed transaction envelope
/// (fabric-gateway's `parseTransactionEnvelope`).
pub fn parse_transaction_envelope(envelope: &Envelope) -> Result<(String, Vec<u8>)> {
    let payload =
        Payload::decode(envelope.payload.as_slice()).map_err(|e| Error::decode("Payload", e))?;
    let header = payload
        .header
        .as_ref()
        .ok_or_else(|| Error::decode("Payload", "no header"))?;
    let ch = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| Error::decode("ChannelHeader", e))?;
    let tx =
        TxProto::decode(payload.data.as_slice()).map_err(|e| Error::decode("Transaction", e))?;
    let mut last_err = Error::decode("Transaction", "no actions");
    for action in &tx.actions {
        match action_result(&action.payload) {
            Ok(result) => return Ok((ch.channel_id, result)),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

fn action_result(action_payload: &[u8]) -> Result<Vec<u8>> {
    let cap = ChaincodeActionPayload::decode(action_payload)
        .map_err(|e| Error::decode("ChaincodeActionPayload", e))?;
    let action = cap
        .action
        .ok_or_else(|| Error::decode("ChaincodeActionPayload", "no action"))?;
    let prp = ProposalResponsePayload::decode(action.proposal_response_payload.as_slice())
        .map_err(|e| Error::decode("ProposalResponsePayload", e))?;
    let ca = ChaincodeAction::decode(prp.extension.as_slice())
        .map_err(|e| Error::decode("ChaincodeAction", e))?;
    Ok(ca.response.map(|r| r.payload).unwrap_or_default())
}

/// A submitted transaction; [`Commit::status`] waits until it is in a block.
#[derive(Clone, Debug)]
pub struct Commit {
    gateway: Gateway,
    tx_id: String,
    signed: SignedCommitStatusRequest,
}

impl Commit {
    pub(crate) fn from_parts(
        gateway: Gateway,
        tx_id: String,
        signed: SignedCommitStatusRequest,
    ) -> Self {
        Self {
            gateway,
            tx_id,
            signed,
        }
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.tx_id
    }

    /// The serialized request (`gateway.SignedCommitStatusRequest`), for off-line signing
    /// and [`Gateway::new_signed_commit`].
    pub fn bytes(&self) -> Vec<u8> {
        self.signed.encode_to_vec()
    }

    /// The bytes to sign: the `CommitStatusRequest`.
    pub fn message(&self) -> &[u8] {
        &self.signed.request
    }

    /// SHA-256 of [`Self::message`].
    pub fn digest(&self) -> Vec<u8> {
        digest(self.message())
    }

    pub(crate) fn set_signature(&mut self, signature: Vec<u8>) {
        self.signed.signature = signature;
    }

    /// The transaction's commit status. Blocks (up to the commit-status time-out) until the
    /// gateway peer has committed the block that holds it. An invalidated transaction is a
    /// [`Status`] with `successful() == false`, not an error.
    pub async fn status(&mut self) -> Result<Status> {
        let t = self.gateway.inner.timeouts.commit_status;
        self.status_with_timeout(t).await
    }

    /// [`Self::status`] with its own time-out.
    pub async fn status_with_timeout(&mut self, timeout: Option<Duration>) -> Result<Status> {
        if self.signed.signature.is_empty() {
            let sig = self
                .gateway
                .inner
                .sign("the commit status request", &self.signed.request)?;
            self.signed.signature = sig;
        }
        let inner = &self.gateway.inner;
        let mut client = inner.gateway.clone();
        let resp = inner
            .call(
                Step::CommitStatus,
                Some(&self.tx_id),
                timeout,
                client.commit_status(request(self.signed.clone(), timeout)),
            )
            .await?;
        Ok(Status {
            tx_id: self.tx_id.clone(),
            code: resp.result,
            block_number: resp.block_number,
        })
    }
}

/// Where and how a transaction committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The transaction.
    pub tx_id: String,
    /// Its `TxValidationCode` (0 = VALID).
    pub code: i32,
    /// The block it is in.
    pub block_number: u64,
}

impl Status {
    /// Whether the transaction is valid (its writes are in the world state).
    pub fn successful(&self) -> bool {
        self.code == TxValidationCode::Valid as i32
    }

    /// The validation code's name (`VALID`, `MVCC_READ_CONFLICT`...).
    pub fn code_name(&self) -> String {
        validation_code_name(self.code)
    }

    /// `Ok(self)` when valid, else [`Error::Commit`].
    pub fn into_result(self) -> Result<Self> {
        if self.successful() {
            Ok(self)
        } else {
            Err(Error::Commit {
                tx_id: self.tx_id,
                code: self.code,
                block_number: self.block_number,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util;
    use sfcbc_fabric::protos::protos::Response;

    #[tokio::test]
    async fn endorsed_envelope_gives_channel_and_result() {
        let client = test_util::signer("Org1MSP");
        let peer = test_util::signer("Org1MSP");
        let gw = test_util::gateway(&client);
        let mut p = gw
            .network("mychannel")
            .contract("cc")
            .new_proposal("put")
            .args(&["k", "v"])
            .transient("t", b"secret".to_vec())
            .build()
            .unwrap();
        p.sign().unwrap();
        let signed = p.proposed.proposal.clone().unwrap();
        let up = sfcbc_fabric::tx::unpack_proposal(&signed).unwrap();
        let resp = up.endorse(
            Response {
                status: 200,
                message: String::new(),
                payload: b"the result".to_vec(),
            },
            Vec::new(),
            None,
            "1",
            &peer,
        );
        let env = sfcbc_fabric::tx::assemble_transaction(&signed, &[resp]).unwrap();
        assert_eq!(
            parse_transaction_envelope(&env).unwrap(),
            ("mychannel".to_string(), b"the result".to_vec())
        );
        let tx = Transaction::from_prepared(
            gw.clone(),
            PreparedTransaction {
                transaction_id: p.tx_id().into(),
                envelope: Some(env),
            },
        )
        .unwrap();
        assert_eq!(tx.result(), b"the result");
        assert_eq!(tx.tx_id(), p.tx_id());
        assert!(!tx.is_signed());
        let again = gw.new_transaction(&tx.bytes()).unwrap();
        assert_eq!(again.message(), tx.message());
        assert!(
            !tx.message().windows(6).any(|w| w == b"secret"),
            "transient data stays out of the transaction"
        );
        assert!(parse_transaction_envelope(&Envelope::default()).is_err());
    }

    #[test]
    fn status_into_result() {
        let ok = Status {
            tx_id: "t".into(),
            code: 0,
            block_number: 3,
        };
        assert!(ok.successful());
        assert_eq!(ok.clone().into_result().unwrap(), ok);
        let bad = Status { code: 10, ..ok };
        assert_eq!(bad.code_name(), "ENDORSEMENT_POLICY_FAILURE");
        let e = bad.into_result().unwrap_err();
        assert_eq!((e.tx_id(), e.validation_code()), (Some("t"), Some(10)));
    }
}
