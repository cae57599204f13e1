//! Chaincode events (the gateway's `ChaincodeEvents`) and block events (the peer's
//! `Deliver`, `DeliverFiltered`, `DeliverWithPrivateData`), as async streams.
//!
//! Each stream runs its gRPC call in a background task and hands items over a small
//! bounded queue, so that opening a stream returns at once (a peer answers a streaming call
//! only with its first item) and a slow consumer applies back-pressure to the peer. Dropping
//! the stream cancels the call. A stream ends with an error item when the call fails or the
//! peer closes it with a non-success status; it is not resumed by itself: reopen it from a
//! [`Checkpoint`].

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use prost::Message;
use sfcbc_fabric::protos::common::{
    Block, ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
    Status as CommonStatus,
};
use sfcbc_fabric::protos::gateway::{
    ChaincodeEventsRequest as RequestProto, SignedChaincodeEventsRequest,
};
use sfcbc_fabric::protos::orderer::{
    SeekInfo, SeekNewest, SeekNextCommit, SeekOldest, SeekPosition, SeekSpecified, seek_position,
};
use sfcbc_fabric::protos::protos::{BlockAndPrivateData, FilteredBlock, deliver_response};
use tokio::sync::mpsc;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, GatewayError, Result, Step};
use crate::gateway::{Gateway, digest};

/// Items buffered between the gRPC task and the consumer.
const QUEUE: usize = 64;

/// Where an event stream starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartPosition {
    /// The next block the peer commits (the default, as fabric-gateway).
    #[default]
    NextCommit,
    /// This block number.
    Block(u64),
    /// The genesis block (block events only; for chaincode events use `Block(0)`).
    Oldest,
    /// The newest block already committed (block events only).
    Newest,
}

impl StartPosition {
    fn to_proto(self) -> SeekPosition {
        let t = match self {
            StartPosition::NextCommit => seek_position::Type::NextCommit(SeekNextCommit {}),
            StartPosition::Block(n) => seek_position::Type::Specified(SeekSpecified { number: n }),
            StartPosition::Oldest => seek_position::Type::Oldest(SeekOldest {}),
            StartPosition::Newest => seek_position::Type::Newest(SeekNewest {}),
        };
        SeekPosition { r#type: Some(t) }
    }
}

/// Where to start reading events. A set checkpoint wins over the start position, as in
/// fabric-gateway (`WithCheckpoint` over `WithStartBlock`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsOptions {
    start: StartPosition,
    /// (block number, last processed transaction id) from a checkpoint.
    checkpoint: Option<(u64, String)>,
}

impl EventsOptions {
    /// From the next committed block.
    pub fn new() -> Self {
        Self::default()
    }

    /// From block `n`.
    pub fn start_block(n: u64) -> Self {
        Self::new().start(StartPosition::Block(n))
    }

    /// Sets the start position.
    pub fn start(mut self, start: StartPosition) -> Self {
        self.start = start;
        self
    }

    /// Resumes from a checkpoint (ignored while the checkpoint is unset: block 0, no
    /// transaction).
    pub fn checkpoint(mut self, checkpoint: &dyn Checkpoint) -> Self {
        let (block, tx) = (checkpoint.block_number(), checkpoint.transaction_id());
        if block != 0 || !tx.is_empty() {
            self.checkpoint = Some((block, tx.to_string()));
        }
        self
    }

    fn position(&self) -> SeekPosition {
        match &self.checkpoint {
            Some((block, _)) => StartPosition::Block(*block).to_proto(),
            None => self.start.to_proto(),
        }
    }

    fn after_transaction_id(&self) -> String {
        self.checkpoint
            .as_ref()
            .map(|(_, tx)| tx.clone())
            .unwrap_or_default()
    }
}

/// An event a chaincode set with `SetEvent` in a valid transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChaincodeEvent {
    /// The block the transaction committed in.
    pub block_number: u64,
    /// The transaction.
    pub tx_id: String,
    /// The chaincode.
    pub chaincode_name: String,
    /// The event name.
    pub event_name: String,
    /// The event payload.
    pub payload: Vec<u8>,
}

/// A signed-or-to-sign `ChaincodeEvents` request (off-line signing: [`Self::bytes`],
/// [`Self::message`], `Gateway::new_signed_chaincode_events_request`).
#[derive(Clone, Debug)]
pub struct ChaincodeEventsRequest {
    gateway: Gateway,
    signed: SignedChaincodeEventsRequest,
}

impl ChaincodeEventsRequest {
    pub(crate) fn new(
        gateway: Gateway,
        channel: &str,
        chaincode: &str,
        options: EventsOptions,
    ) -> Self {
        let request = RequestProto {
            channel_id: channel.to_string(),
            chaincode_id: chaincode.to_string(),
            identity: gateway.inner.creator(),
            start_position: Some(options.position()),
            after_transaction_id: options.after_transaction_id(),
        };
        Self {
            gateway,
            signed: SignedChaincodeEventsRequest {
                request: request.encode_to_vec(),
                signature: Vec::new(),
            },
        }
    }

    pub(crate) fn from_parts(gateway: Gateway, signed: SignedChaincodeEventsRequest) -> Self {
        Self { gateway, signed }
    }

    /// The serialized `gateway.SignedChaincodeEventsRequest`.
    pub fn bytes(&self) -> Vec<u8> {
        self.signed.encode_to_vec()
    }

    /// The bytes to sign: the `ChaincodeEventsRequest`.
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

    /// Signs (unless signed off-line) and opens the stream.
    pub async fn events(mut self) -> Result<ChaincodeEvents> {
        if self.signed.signature.is_empty() {
            self.signed.signature = self
                .gateway
                .inner
                .sign("the chaincode events request", &self.signed.request)?;
        }
        let inner = self.gateway.inner.clone();
        let (tx, rx) = mpsc::channel::<Result<ChaincodeEvent>>(QUEUE);
        let endpoint = inner.endpoint.clone();
        let fail = move |status: tonic::Status| -> Error {
            GatewayError::from_status(Step::ChaincodeEvents, &endpoint, None, &status).into()
        };
        tokio::spawn(async move {
            let mut client = inner.gateway.clone();
            let call = client.chaincode_events(self.signed);
            let mut stream = tokio::select! {
                _ = tx.closed() => return,
                r = call => match r {
                    Ok(resp) => resp.into_inner(),
                    Err(status) => { let _ = tx.send(Err(fail(status))).await; return; }
                },
            };
            loop {
                let msg = tokio::select! {
                    _ = tx.closed() => return,
                    m = stream.message() => m,
                };
                match msg {
                    Ok(Some(resp)) => {
                        for e in resp.events {
                            let ev = ChaincodeEvent {
                                block_number: resp.block_number,
                                tx_id: e.tx_id,
                                chaincode_name: e.chaincode_id,
                                event_name: e.event_name,
                                payload: e.payload,
                            };
                            if tx.send(Ok(ev)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Ok(None) => return,
                    Err(status) => {
                        let _ = tx.send(Err(fail(status))).await;
                        return;
                    }
                }
            }
        });
        Ok(ChaincodeEvents { rx })
    }
}

/// A stream of [`ChaincodeEvent`]s, in block and transaction order. Drop it to stop.
#[derive(Debug)]
pub struct ChaincodeEvents {
    rx: mpsc::Receiver<Result<ChaincodeEvent>>,
}

impl ChaincodeEvents {
    /// The next event; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Result<ChaincodeEvent>> {
        self.rx.recv().await
    }
}

impl Stream for ChaincodeEvents {
    type Item = Result<ChaincodeEvent>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A signed-or-to-sign `Deliver` request: an envelope of type `DELIVER_SEEK_INFO` whose
/// data is an `orderer.SeekInfo` from the start position to the end of time (block
/// `u64::MAX`), waiting for blocks as they come — what fabric-gateway sends.
#[derive(Clone, Debug)]
pub struct BlockEventsRequest {
    gateway: Gateway,
    envelope: Envelope,
}

impl BlockEventsRequest {
    pub(crate) fn new(gateway: Gateway, channel: &str, options: EventsOptions) -> Result<Self> {
        let seek = SeekInfo {
            start: Some(options.position()),
            stop: Some(StartPosition::Block(u64::MAX).to_proto()),
            behavior: 0,       // BLOCK_UNTIL_READY
            error_response: 0, // STRICT
            content_type: 0,   // BLOCK
        };
        let header = Header {
            channel_header: ChannelHeader {
                r#type: HeaderType::DeliverSeekInfo as i32,
                version: 0,
                timestamp: Some(sfcbc_fabric::tx::now_timestamp()),
                channel_id: channel.to_string(),
                tx_id: String::new(),
                epoch: 0,
                extension: Vec::new(),
                tls_cert_hash: gateway.inner.tls_cert_hash.clone(),
            }
            .encode_to_vec(),
            signature_header: SignatureHeader {
                creator: gateway.inner.creator(),
                nonce: sfcbc_fabric::tx::new_nonce(),
            }
            .encode_to_vec(),
        };
        let payload = Payload {
            header: Some(header),
            data: seek.encode_to_vec(),
        };
        Ok(Self {
            gateway,
            envelope: Envelope {
                payload: payload.encode_to_vec(),
                signature: Vec::new(),
            },
        })
    }

    /// The serialized request envelope.
    pub fn bytes(&self) -> Vec<u8> {
        self.envelope.encode_to_vec()
    }

    /// The bytes to sign: the envelope payload.
    pub fn message(&self) -> &[u8] {
        &self.envelope.payload
    }

    /// SHA-256 of [`Self::message`].
    pub fn digest(&self) -> Vec<u8> {
        digest(self.message())
    }

    pub(crate) fn from_envelope(gateway: Gateway, envelope: Envelope) -> Result<Self> {
        let payload = Payload::decode(envelope.payload.as_slice())
            .map_err(|e| Error::decode("Payload", e))?;
        SeekInfo::decode(payload.data.as_slice()).map_err(|e| Error::decode("SeekInfo", e))?;
        Ok(Self { gateway, envelope })
    }

    pub(crate) fn set_signature(&mut self, signature: Vec<u8>) {
        self.envelope.signature = signature;
    }

    /// Full blocks (`Deliver`).
    pub async fn blocks(self) -> Result<BlockEvents<Block>> {
        self.open(Rpc::Full).await
    }

    /// Filtered blocks (`DeliverFiltered`).
    pub async fn filtered_blocks(self) -> Result<BlockEvents<FilteredBlock>> {
        self.open(Rpc::Filtered).await
    }

    /// Blocks with private data (`DeliverWithPrivateData`).
    pub async fn blocks_and_private_data(self) -> Result<BlockEvents<BlockAndPrivateData>> {
        self.open(Rpc::WithPrivateData).await
    }

    async fn open<T: DeliverItem>(mut self, rpc: Rpc) -> Result<BlockEvents<T>> {
        if self.envelope.signature.is_empty() {
            self.envelope.signature = self
                .gateway
                .inner
                .sign("the block events request", &self.envelope.payload)?;
        }
        let inner = self.gateway.inner.clone();
        let (tx, rx) = mpsc::channel::<Result<T>>(QUEUE);
        tokio::spawn(async move {
            let endpoint = inner.endpoint.clone();
            let fail = |status: tonic::Status| -> Error {
                GatewayError::from_status(Step::BlockEvents, &endpoint, None, &status).into()
            };
            // The request stream stays open while we read: Fabric's deliver handler treats
            // the end of the client's stream as the end of the session.
            let (req_tx, req_rx) = mpsc::channel::<Envelope>(1);
            if req_tx.send(self.envelope).await.is_err() {
                return;
            }
            let requests = tokio_stream::wrappers::ReceiverStream::new(req_rx);
            let mut client = inner.deliver.clone();
            let call = async {
                match rpc {
                    Rpc::Full => client.deliver(requests).await,
                    Rpc::Filtered => client.deliver_filtered(requests).await,
                    Rpc::WithPrivateData => client.deliver_with_private_data(requests).await,
                }
            };
            let mut stream = tokio::select! {
                _ = tx.closed() => return,
                r = call => match r {
                    Ok(resp) => resp.into_inner(),
                    Err(status) => { let _ = tx.send(Err(fail(status))).await; return; }
                },
            };
            loop {
                let msg = tokio::select! {
                    _ = tx.closed() => return,
                    m = stream.message() => m,
                };
                let item = match msg {
                    Ok(Some(resp)) => match resp.r#type {
                        Some(deliver_response::Type::Status(s)) => {
                            if s != CommonStatus::Success as i32 {
                                let _ = tx
                                    .send(Err(Error::DeliverStatus {
                                        endpoint: endpoint.clone(),
                                        status: s,
                                    }))
                                    .await;
                            }
                            return;
                        }
                        Some(other) => match T::from_response(other) {
                            Some(item) => Ok(item),
                            None => Err(Error::decode(
                                "DeliverResponse",
                                "a different kind of block than requested",
                            )),
                        },
                        None => Err(Error::decode("DeliverResponse", "empty")),
                    },
                    Ok(None) => return,
                    Err(status) => Err(fail(status)),
                };
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    drop(req_tx);
                    return;
                }
            }
        });
        Ok(BlockEvents { rx })
    }
}

#[derive(Clone, Copy)]
enum Rpc {
    Full,
    Filtered,
    WithPrivateData,
}

/// What a `Deliver*` rpc streams.
pub trait DeliverItem: Send + 'static {
    /// The item, if the response carries this kind.
    fn from_response(t: deliver_response::Type) -> Option<Self>
    where
        Self: Sized;
}

impl DeliverItem for Block {
    fn from_response(t: deliver_response::Type) -> Option<Self> {
        match t {
            deliver_response::Type::Block(b) => Some(b),
            _ => None,
        }
    }
}

impl DeliverItem for FilteredBlock {
    fn from_response(t: deliver_response::Type) -> Option<Self> {
        match t {
            deliver_response::Type::FilteredBlock(b) => Some(b),
            _ => None,
        }
    }
}

impl DeliverItem for BlockAndPrivateData {
    fn from_response(t: deliver_response::Type) -> Option<Self> {
        match t {
            deliver_response::Type::BlockAndPrivateData(b) => Some(b),
            _ => None,
        }
    }
}

/// A stream of blocks (full, filtered, or with private data), in block order. Drop it to
/// stop.
#[derive(Debug)]
pub struct BlockEvents<T> {
    rx: mpsc::Receiver<Result<T>>,
}

impl<T> BlockEvents<T> {
    /// The next block; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Result<T>> {
        self.rx.recv().await
    }
}

impl<T> Stream for BlockEvents<T> {
    type Item = Result<T>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// The transaction ids of a full block's envelopes, in order (config blocks give the
/// config transaction's id, often empty).
pub fn block_tx_ids(block: &Block) -> Vec<String> {
    let Some(data) = &block.data else {
        return Vec::new();
    };
    data.data
        .iter()
        .map(|env| {
            Envelope::decode(env.as_slice())
                .ok()
                .and_then(|e| Payload::decode(e.payload.as_slice()).ok())
                .and_then(|p| p.header)
                .and_then(|h| ChannelHeader::decode(h.channel_header.as_slice()).ok())
                .map(|ch| ch.tx_id)
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::InMemoryCheckpointer;

    #[test]
    fn checkpoint_wins_over_start_block_once_set() {
        let mut cp = InMemoryCheckpointer::new();
        let o = EventsOptions::start_block(3).checkpoint(&cp);
        assert_eq!(o.position(), StartPosition::Block(3).to_proto());
        assert_eq!(o.after_transaction_id(), "");
        cp.checkpoint_transaction(9, "tx9");
        let o = EventsOptions::start_block(3).checkpoint(&cp);
        assert_eq!(o.position(), StartPosition::Block(9).to_proto());
        assert_eq!(o.after_transaction_id(), "tx9");
        assert_eq!(
            EventsOptions::new().position(),
            SeekPosition {
                r#type: Some(seek_position::Type::NextCommit(SeekNextCommit {}))
            }
        );
    }
}
