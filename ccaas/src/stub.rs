//! [`ShimStub`]: the contract's [`Stub`] for one transaction, turning each call into a shim
//! request on the peer's stream (`GET_STATE`, `PUT_STATE`, ...) and waiting for the peer's
//! `RESPONSE` or `ERROR` with the same channel and tx id.
//!
//! The transaction's context (creator, transient map, timestamp) is read from the
//! `SignedProposal` the peer attaches to the `TRANSACTION` message, as the Go shim's
//! `newChaincodeStub` does. Calls from one transaction are serialised: the peer answers one
//! request per (channel, tx id) at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use prost::Message;
use sfcbc_chaincode::{
    ChaincodeEvent, Creator, KeyModification, KeyValue, QueryMetadata, Stub, StubError, TxTimestamp,
};
use sfcbc_fabric::protos::common;
use sfcbc_fabric::protos::msp::SerializedIdentity;
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_message::Type as MsgType;
use sfcbc_fabric::protos::queryresult;
use tokio::sync::{mpsc, oneshot};

/// Key of a transaction on one stream: Go's `transactionContextID` (channel + tx id).
pub(crate) type TxKey = (String, String);

/// What one connection's transactions share: the outbound stream and the waiters for the
/// peer's answers.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) out: mpsc::Sender<Result<pb::ChaincodeMessage, tonic::Status>>,
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    closed: bool,
    waiters: HashMap<TxKey, oneshot::Sender<pb::ChaincodeMessage>>,
}

impl Conn {
    pub(crate) fn new(out: mpsc::Sender<Result<pb::ChaincodeMessage, tonic::Status>>) -> Self {
        Conn {
            out,
            pending: Mutex::new(Pending::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while holding this lock leaves only a map behind; keep using it.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands the peer's `RESPONSE`/`ERROR` to the transaction waiting for it; gives the
    /// message back when nobody waits (a late or stray answer).
    pub(crate) fn deliver(
        &self,
        msg: pb::ChaincodeMessage,
    ) -> Result<(), Box<pb::ChaincodeMessage>> {
        let key = (msg.channel_id.clone(), msg.txid.clone());
        let waiter = self.lock().waiters.remove(&key);
        match waiter {
            Some(w) => w.send(msg).map_err(Box::new),
            None => Err(Box::new(msg)),
        }
    }

    /// The stream is gone: every waiting call fails and no new call starts.
    pub(crate) fn close(&self) {
        let mut p = self.lock();
        p.closed = true;
        p.waiters.clear();
    }

    fn register(&self, key: TxKey) -> Result<oneshot::Receiver<pb::ChaincodeMessage>, StubError> {
        let mut p = self.lock();
        if p.closed {
            return Err(StubError::Shim("the peer's stream is closed".into()));
        }
        if p.waiters.contains_key(&key) {
            return Err(StubError::Shim(format!(
                "a request for transaction {} on channel {} is already waiting for the peer",
                key.1, key.0
            )));
        }
        let (tx, rx) = oneshot::channel();
        p.waiters.insert(key, tx);
        Ok(rx)
    }

    fn unregister(&self, key: &TxKey) {
        self.lock().waiters.remove(key);
    }
}

/// The transaction context carried by the proposal.
#[derive(Clone, Default)]
pub(crate) struct ProposalContext {
    pub creator: Option<Creator>,
    pub transient: BTreeMap<String, Vec<u8>>,
    pub timestamp: TxTimestamp,
    pub signed_proposal: Option<pb::SignedProposal>,
}

impl std::fmt::Debug for ProposalContext {
    // The transient map holds secrets (credentials, salts): names only, never values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProposalContext")
            .field(
                "creator_msp",
                &self.creator.as_ref().map(|c| c.msp_id.as_str()),
            )
            .field("transient_keys", &self.transient.keys().collect::<Vec<_>>())
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Unpacks `SignedProposal → Proposal → Header → {ChannelHeader, SignatureHeader}` and the
/// `ChaincodeProposalPayload`'s transient map, failing as the Go shim does on bad bytes.
pub(crate) fn proposal_context(sp: Option<&pb::SignedProposal>) -> Result<ProposalContext, String> {
    let Some(sp) = sp else {
        // The Go shim accepts a missing proposal (internal calls); the context is then empty.
        return Ok(ProposalContext::default());
    };
    let proposal = pb::Proposal::decode(sp.proposal_bytes.as_slice())
        .map_err(|e| format!("failed to extract Proposal from SignedProposal: {e}"))?;
    if proposal.header.is_empty() {
        return Err("failed to extract Proposal fields: proposal header is nil".into());
    }
    let header = common::Header::decode(proposal.header.as_slice())
        .map_err(|e| format!("failed to extract proposal header: {e}"))?;
    let chdr = common::ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| format!("failed to extract channel header: {e}"))?;
    let endorser = common::HeaderType::EndorserTransaction as i32;
    let config = common::HeaderType::Config as i32;
    if chdr.r#type != endorser && chdr.r#type != config {
        return Err(format!(
            "invalid channel header type. Expected ENDORSER_TRANSACTION or CONFIG, received {}",
            chdr.r#type
        ));
    }
    let shdr = common::SignatureHeader::decode(header.signature_header.as_slice())
        .map_err(|e| format!("failed to extract signature header: {e}"))?;
    let identity = SerializedIdentity::decode(shdr.creator.as_slice())
        .map_err(|e| format!("failed to extract creator identity: {e}"))?;
    let payload = pb::ChaincodeProposalPayload::decode(proposal.payload.as_slice())
        .map_err(|e| format!("failed to extract proposal payload: {e}"))?;
    let timestamp = chdr
        .timestamp
        .map(|t| TxTimestamp {
            seconds: t.seconds,
            nanos: t.nanos,
        })
        .unwrap_or_default();
    Ok(ProposalContext {
        creator: Some(Creator {
            msp_id: identity.mspid,
            id_bytes: identity.id_bytes,
        }),
        transient: payload.transient_map.into_iter().collect(),
        timestamp,
        signed_proposal: Some(sp.clone()),
    })
}

/// One transaction's stub.
#[derive(Debug)]
pub struct ShimStub {
    tx_id: String,
    channel_id: String,
    args: Vec<Vec<u8>>,
    ctx: ProposalContext,
    empty_creator: Creator,
    conn: Arc<Conn>,
    /// Serialises this transaction's requests (one outstanding per tx on the stream).
    call_lock: tokio::sync::Mutex<()>,
    event: Mutex<Option<ChaincodeEvent>>,
}

impl ShimStub {
    pub(crate) fn new(
        conn: Arc<Conn>,
        channel_id: String,
        tx_id: String,
        args: Vec<Vec<u8>>,
        ctx: ProposalContext,
    ) -> Self {
        ShimStub {
            tx_id,
            channel_id,
            args,
            ctx,
            empty_creator: Creator {
                msp_id: String::new(),
                id_bytes: Vec::new(),
            },
            conn,
            call_lock: tokio::sync::Mutex::new(()),
            event: Mutex::new(None),
        }
    }

    /// `GetArgs`: the function name followed by its arguments.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// `GetSignedProposal`, when the peer sent one.
    pub fn signed_proposal(&self) -> Option<&pb::SignedProposal> {
        self.ctx.signed_proposal.as_ref()
    }

    /// The event to send with `COMPLETED` (the last `set_event` wins).
    pub(crate) fn take_event(&self) -> Option<pb::ChaincodeEvent> {
        let ev = self
            .event
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        Some(pb::ChaincodeEvent {
            chaincode_id: String::new(),
            tx_id: String::new(),
            event_name: ev.name,
            payload: ev.payload,
        })
    }

    /// Sends one request and waits for the peer's answer: `RESPONSE` payload or the text of
    /// the peer's `ERROR`.
    async fn call(
        &self,
        call: &'static str,
        ty: MsgType,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, StubError> {
        let _one_at_a_time = self.call_lock.lock().await;
        let key = (self.channel_id.clone(), self.tx_id.clone());
        let rx = self.conn.register(key.clone())?;
        let msg = pb::ChaincodeMessage {
            r#type: ty as i32,
            payload,
            txid: self.tx_id.clone(),
            channel_id: self.channel_id.clone(),
            ..Default::default()
        };
        if self.conn.out.send(Ok(msg)).await.is_err() {
            self.conn.unregister(&key);
            return Err(StubError::Shim(format!(
                "sending {call}: the peer's stream is closed"
            )));
        }
        let answer = rx.await.map_err(|_| {
            StubError::Shim(format!("waiting for {call}: the peer's stream closed"))
        })?;
        match MsgType::try_from(answer.r#type) {
            Ok(MsgType::Response) => Ok(answer.payload),
            Ok(MsgType::Error) => Err(StubError::Peer {
                call,
                message: String::from_utf8_lossy(&answer.payload).into_owned(),
            }),
            _ => Err(StubError::Shim(format!(
                "incorrect chaincode message {} received for {call}. Expecting RESPONSE or ERROR",
                answer.r#type
            ))),
        }
    }

    async fn query(
        &self,
        call: &'static str,
        ty: MsgType,
        payload: Vec<u8>,
    ) -> Result<pb::QueryResponse, StubError> {
        let bytes = self.call(call, ty, payload).await?;
        pb::QueryResponse::decode(bytes.as_slice())
            .map_err(|e| StubError::Shim(format!("{call}: undecodable QueryResponse: {e}")))
    }

    /// Runs a query to its end: follows `has_more` with `QUERY_STATE_NEXT`, then closes the
    /// iterator with `QUERY_STATE_CLOSE` as the Go shim's iterator does. Returns every result
    /// and the last pagination metadata the peer sent.
    async fn drain_query(
        &self,
        call: &'static str,
        ty: MsgType,
        payload: Vec<u8>,
    ) -> Result<(Vec<Vec<u8>>, Vec<u8>), StubError> {
        let mut resp = self.query(call, ty, payload).await?;
        let mut results = Vec::new();
        let mut metadata = Vec::new();
        loop {
            results.extend(resp.results.into_iter().map(|r| r.result_bytes));
            if !resp.metadata.is_empty() {
                metadata = resp.metadata;
            }
            if !resp.has_more {
                break;
            }
            let next = pb::QueryStateNext {
                id: resp.id.clone(),
            }
            .encode_to_vec();
            resp = self
                .query("QueryStateNext", MsgType::QueryStateNext, next)
                .await?;
        }
        if !resp.id.is_empty() {
            let close = pb::QueryStateClose { id: resp.id }.encode_to_vec();
            self.query("QueryStateClose", MsgType::QueryStateClose, close)
                .await?;
        }
        Ok((results, metadata))
    }

    async fn range(
        &self,
        collection: &str,
        start: &str,
        end: &str,
        metadata: Vec<u8>,
    ) -> Result<(Vec<KeyValue>, Vec<u8>), StubError> {
        // Raw shim call: keys go to the peer as given. The Go shim's key checks and empty-key
        // substitution live in the `Stub` trait's provided methods.
        let req = pb::GetStateByRange {
            start_key: start.to_string(),
            end_key: end.to_string(),
            collection: collection.to_string(),
            metadata,
        };
        let (rows, md) = self
            .drain_query(
                "GetStateByRange",
                MsgType::GetStateByRange,
                req.encode_to_vec(),
            )
            .await?;
        let kvs = rows
            .iter()
            .map(|b| {
                queryresult::Kv::decode(b.as_slice())
                    .map(|kv| KeyValue {
                        key: kv.key,
                        value: kv.value,
                    })
                    .map_err(|e| StubError::Shim(format!("GetStateByRange: undecodable KV: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((kvs, md))
    }

    async fn get(
        &self,
        call: &'static str,
        ty: MsgType,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        let req = pb::GetState {
            key: key.to_string(),
            collection: collection.to_string(),
        };
        let value = self.call(call, ty, req.encode_to_vec()).await?;
        // The peer answers an absent key with an empty payload, as the Go shim reads it.
        Ok((!value.is_empty()).then_some(value))
    }

    async fn put(&self, collection: &str, key: &str, value: &[u8]) -> Result<(), StubError> {
        if key.is_empty() {
            return Err(StubError::InvalidKey(
                "key must not be an empty string".into(),
            ));
        }
        let req = pb::PutState {
            key: key.to_string(),
            value: value.to_vec(),
            collection: collection.to_string(),
        };
        self.call("PutState", MsgType::PutState, req.encode_to_vec())
            .await?;
        Ok(())
    }

    async fn del(
        &self,
        call: &'static str,
        ty: MsgType,
        collection: &str,
        key: &str,
    ) -> Result<(), StubError> {
        let req = pb::DelState {
            key: key.to_string(),
            collection: collection.to_string(),
        };
        self.call(call, ty, req.encode_to_vec()).await?;
        Ok(())
    }

    /// `GetStateValidationParameter`-style access: the key's state metadata entries
    /// (`GetStateMetadata`; empty `collection` for public state).
    pub async fn get_state_metadata(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, StubError> {
        let req = pb::GetStateMetadata {
            key: key.to_string(),
            collection: collection.to_string(),
        };
        let bytes = self
            .call(
                "GetStateMetadata",
                MsgType::GetStateMetadata,
                req.encode_to_vec(),
            )
            .await?;
        let result = pb::StateMetadataResult::decode(bytes.as_slice()).map_err(|e| {
            StubError::Shim(format!(
                "GetStateMetadata: undecodable StateMetadataResult: {e}"
            ))
        })?;
        Ok(result
            .entries
            .into_iter()
            .map(|m| (m.metakey, m.value))
            .collect())
    }

    /// `PutStateMetadata` for one entry (e.g. `VALIDATION_PARAMETER`, a key-level
    /// endorsement policy); empty `collection` for public state.
    pub async fn put_state_metadata(
        &self,
        collection: &str,
        key: &str,
        metakey: &str,
        value: &[u8],
    ) -> Result<(), StubError> {
        let req = pb::PutStateMetadata {
            key: key.to_string(),
            collection: collection.to_string(),
            metadata: Some(pb::StateMetadata {
                metakey: metakey.to_string(),
                value: value.to_vec(),
            }),
        };
        self.call(
            "PutStateMetadata",
            MsgType::PutStateMetadata,
            req.encode_to_vec(),
        )
        .await?;
        Ok(())
    }
}

fn need_collection(collection: &str) -> Result<(), StubError> {
    if collection.is_empty() {
        return Err(StubError::InvalidKey(
            "collection must not be an empty string".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl Stub for ShimStub {
    fn tx_id(&self) -> &str {
        &self.tx_id
    }

    fn channel_id(&self) -> &str {
        &self.channel_id
    }

    fn tx_timestamp(&self) -> TxTimestamp {
        self.ctx.timestamp
    }

    fn creator(&self) -> &Creator {
        self.ctx.creator.as_ref().unwrap_or(&self.empty_creator)
    }

    fn transient(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.ctx.transient
    }

    async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, StubError> {
        self.get("GetState", MsgType::GetState, "", key).await
    }

    async fn put_state(&self, key: &str, value: &[u8]) -> Result<(), StubError> {
        self.put("", key, value).await
    }

    async fn del_state(&self, key: &str) -> Result<(), StubError> {
        self.del("DelState", MsgType::DelState, "", key).await
    }

    async fn get_state_by_range(&self, start: &str, end: &str) -> Result<Vec<KeyValue>, StubError> {
        Ok(self.range("", start, end, Vec::new()).await?.0)
    }

    async fn get_state_by_range_with_pagination(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(Vec<KeyValue>, QueryMetadata), StubError> {
        let md = pb::QueryMetadata {
            page_size,
            bookmark: bookmark.to_string(),
        };
        let (kvs, md_bytes) = self.range("", start, end, md.encode_to_vec()).await?;
        let md = pb::QueryResponseMetadata::decode(md_bytes.as_slice()).map_err(|e| {
            StubError::Shim(format!(
                "GetStateByRange: undecodable QueryResponseMetadata: {e}"
            ))
        })?;
        Ok((
            kvs,
            QueryMetadata {
                fetched_records_count: md.fetched_records_count,
                bookmark: md.bookmark,
            },
        ))
    }

    async fn get_history_for_key(&self, key: &str) -> Result<Vec<KeyModification>, StubError> {
        let req = pb::GetHistoryForKey {
            key: key.to_string(),
        };
        let (rows, _) = self
            .drain_query(
                "GetHistoryForKey",
                MsgType::GetHistoryForKey,
                req.encode_to_vec(),
            )
            .await?;
        rows.iter()
            .map(|b| {
                let m = queryresult::KeyModification::decode(b.as_slice()).map_err(|e| {
                    StubError::Shim(format!(
                        "GetHistoryForKey: undecodable KeyModification: {e}"
                    ))
                })?;
                let timestamp = m
                    .timestamp
                    .map(|t| TxTimestamp {
                        seconds: t.seconds,
                        nanos: t.nanos,
                    })
                    .unwrap_or_default();
                Ok(KeyModification {
                    tx_id: m.tx_id,
                    value: m.value,
                    timestamp,
                    is_delete: m.is_delete,
                })
            })
            .collect()
    }

    async fn get_private_data(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        need_collection(collection)?;
        self.get("GetPrivateData", MsgType::GetState, collection, key)
            .await
    }

    async fn get_private_data_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        need_collection(collection)?;
        self.get(
            "GetPrivateDataHash",
            MsgType::GetPrivateDataHash,
            collection,
            key,
        )
        .await
    }

    async fn put_private_data(
        &self,
        collection: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), StubError> {
        need_collection(collection)?;
        self.put(collection, key, value).await
    }

    async fn del_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        need_collection(collection)?;
        self.del("DelPrivateData", MsgType::DelState, collection, key)
            .await
    }

    async fn purge_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        need_collection(collection)?;
        self.del(
            "PurgePrivateData",
            MsgType::PurgePrivateData,
            collection,
            key,
        )
        .await
    }

    fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), StubError> {
        if name.is_empty() {
            return Err(StubError::InvalidKey(
                "event name can not be empty string".into(),
            ));
        }
        *self.event.lock().unwrap_or_else(|p| p.into_inner()) = Some(ChaincodeEvent {
            name: name.to_string(),
            payload,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Bytes from the network never panic the proposal parser.
        #[test]
        fn proposal_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let sp = pb::SignedProposal { proposal_bytes: bytes.clone(), signature: Vec::new() };
            let _ = proposal_context(Some(&sp));
            // Also as the inner header of an otherwise valid proposal.
            let p = pb::Proposal { header: bytes.clone(), payload: bytes, extension: Vec::new() };
            let sp = pb::SignedProposal { proposal_bytes: p.encode_to_vec(), signature: Vec::new() };
            let _ = proposal_context(Some(&sp));
        }
    }

    #[test]
    fn debug_output_never_shows_transient_values() {
        let mut ctx = ProposalContext::default();
        ctx.transient.insert("secret".into(), b"hunter2".to_vec());
        let shown = format!("{ctx:?}");
        assert!(
            shown.contains("secret") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
