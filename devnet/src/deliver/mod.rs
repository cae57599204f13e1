//! The peer's `protos.Deliver` service, as Fabric's `common/deliver` handler serves it:
//! Deliver (full blocks), DeliverFiltered (tx ids, types, validation codes and chaincode
//! events without payload) and DeliverWithPrivateData (blocks with the private rwsets of the
//! collections the requester's org is a member of).
//!
//! Each envelope on the request stream is a signed `DELIVER_SEEK_INFO` whose creator must
//! satisfy the channel's Readers policy (checked on the envelope as signed data, as Fabric's
//! session access control does: no nonce required). Start: oldest, newest, specified or next commit;
//! stop: oldest (= start), newest (the height now), or a number — beyond the height means
//! wait for the blocks to be committed (the Node client asks for 2^53−1). BLOCK_UNTIL_READY
//! waits; FAIL_IF_NOT_READY answers NOT_FOUND for a block not yet there. Each seek ends with a
//! status message (SUCCESS, BAD_REQUEST, FORBIDDEN, NOT_FOUND, SERVICE_UNAVAILABLE) and the
//! stream then reads the next envelope, as Fabric's handler does.

pub mod orderer;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;
use sfcbc_fabric::net::as_grpc_go_status;
use sfcbc_fabric::protos::common::{
    Block, ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader, Status as CommonStatus,
};
use sfcbc_fabric::protos::orderer::SeekInfo;
use sfcbc_fabric::protos::orderer::seek_info::SeekBehavior;
use sfcbc_fabric::protos::orderer::seek_position::Type as SeekType;
use sfcbc_fabric::protos::protos::deliver_server::{self, DeliverServer};
use sfcbc_fabric::protos::protos::{
    BlockAndPrivateData, ChaincodeEvent, DeliverResponse, FilteredBlock, FilteredChaincodeAction,
    FilteredTransaction, FilteredTransactionActions, TxValidationCode, deliver_response,
    filtered_transaction,
};
use sfcbc_fabric::protos::rwset::TxPvtReadWriteSet;
use sfcbc_fabric::tx::parse_envelope_bytes;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status, Streaming};

use crate::block::transactions_filter;
use crate::endorser::private_data_for_org;
use crate::peer::{Peer, PeerChannel};

/// How far a seek request's timestamp may be from the peer's clock (Fabric: 15 minutes).
const TIME_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The channel policy Fabric's default ACLs give `event/Block` and `event/FilteredBlock`.
const READERS: &str = "/Channel/Application/Readers";

/// Which rpc a stream serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Full,
    Filtered,
    WithPrivateData,
}

/// The Deliver service of one peer.
#[derive(Debug, Clone)]
pub struct DeliverService {
    peer: Peer,
    /// Turns true when the network stops: waiting streams end.
    shutdown: watch::Receiver<bool>,
}

type DeliverStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<DeliverResponse, Status>> + Send>>;
type Tx = mpsc::Sender<Result<DeliverResponse, Status>>;

fn status(s: CommonStatus) -> DeliverResponse {
    DeliverResponse {
        r#type: Some(deliver_response::Type::Status(s as i32)),
    }
}

impl DeliverService {
    pub fn new(peer: Peer, shutdown: watch::Receiver<bool>) -> Self {
        Self { peer, shutdown }
    }

    /// The tonic service.
    pub fn into_server(self) -> DeliverServer<Self> {
        DeliverServer::new(self)
            .max_decoding_message_size(100 * 1024 * 1024)
            .max_encoding_message_size(100 * 1024 * 1024)
    }

    fn handle(&self, kind: Kind, mut inbound: Streaming<Envelope>) -> DeliverStream {
        let (tx, rx) = mpsc::channel(8);
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let mut shutdown = this.shutdown.clone();
                let next = tokio::select! {
                    m = inbound.message() => m,
                    _ = shutdown.wait_for(|s| *s) => return,
                };
                let envelope = match next {
                    Ok(Some(e)) => e,
                    // The client closed its side.
                    Ok(None) => return,
                    // A request that cannot be read (over the size limit, a broken stream)
                    // ends the call with its status, as Fabric's Deliver does.
                    Err(status) => {
                        let _ = tx.send(Err(as_grpc_go_status(status))).await;
                        return;
                    }
                };
                match this.deliver_blocks(kind, &envelope, &tx).await {
                    Some(s) => {
                        if tx.send(Ok(status(s))).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                }
            }
        });
        Box::pin(ReceiverStream::new(rx))
    }

    /// One seek request; `None` when the client went away or the peer stops.
    async fn deliver_blocks(
        &self,
        kind: Kind,
        envelope: &Envelope,
        tx: &Tx,
    ) -> Option<CommonStatus> {
        let Ok(payload) = Payload::decode(envelope.payload.as_slice()) else {
            return Some(CommonStatus::BadRequest);
        };
        let Some(header) = payload.header.as_ref() else {
            return Some(CommonStatus::BadRequest);
        };
        let Ok(chdr) = ChannelHeader::decode(header.channel_header.as_slice()) else {
            return Some(CommonStatus::BadRequest);
        };
        if !timestamp_in_window(&chdr) {
            return Some(CommonStatus::BadRequest);
        }
        let Some(ch) = self.peer.channel(&chdr.channel_id) else {
            return Some(CommonStatus::NotFound);
        };
        // Fabric's session access control takes the envelope as signed data (payload,
        // creator, signature): no nonce needed, and the official clients send none.
        let Ok(shdr) = SignatureHeader::decode(header.signature_header.as_slice()) else {
            return Some(CommonStatus::BadRequest);
        };
        let Some(requester) = ch.validated_identity(&shdr.creator) else {
            tracing::debug!(
                channel = chdr.channel_id,
                "deliver request refused: creator not valid"
            );
            return Some(CommonStatus::Forbidden);
        };
        if let Err(e) = requester.verify(&envelope.payload, &envelope.signature) {
            tracing::debug!(channel = chdr.channel_id, error = %e, "deliver request refused: bad signature");
            return Some(CommonStatus::Forbidden);
        }
        if let Err(e) = ch
            .config
            .evaluate(READERS, std::slice::from_ref(&requester))
        {
            tracing::debug!(channel = chdr.channel_id, error = %e, "deliver request refused");
            return Some(CommonStatus::Forbidden);
        }
        let Ok(seek) = SeekInfo::decode(payload.data.as_slice()) else {
            return Some(CommonStatus::BadRequest);
        };
        let height = match ch.ledger.height() {
            Ok(h) => h,
            Err(_) => return Some(CommonStatus::ServiceUnavailable),
        };
        let SeekRange {
            start: mut number,
            stop: stop_number,
            fail_if_not_ready,
        } = match seek_range(&seek, height) {
            Ok(r) => r,
            Err(s) => return Some(s),
        };
        let mut committed = ch.ledger.watch_height();
        let mut shutdown = self.shutdown.clone();
        loop {
            if fail_if_not_ready && number >= *committed.borrow() {
                return Some(CommonStatus::NotFound);
            }
            let ready = tokio::select! {
                r = committed.wait_for(|h| *h > number) => r.is_ok(),
                _ = shutdown.wait_for(|s| *s) => false,
                () = tx.closed() => false,
            };
            if !ready {
                return None;
            }
            let bytes = match ch.ledger.snapshot().and_then(|s| s.block_by_number(number)) {
                Ok(Some(b)) => b,
                _ => return Some(CommonStatus::ServiceUnavailable),
            };
            let response = match kind {
                Kind::Full => Block::decode(bytes.as_slice())
                    .ok()
                    .map(deliver_response::Type::Block),
                Kind::Filtered => {
                    filtered_block(&ch.name, &bytes).map(deliver_response::Type::FilteredBlock)
                }
                Kind::WithPrivateData => {
                    block_and_private_data(&ch, number, &bytes, requester.msp_id())
                        .map(deliver_response::Type::BlockAndPrivateData)
                }
            };
            let Some(response) = response else {
                return Some(CommonStatus::ServiceUnavailable);
            };
            if tx
                .send(Ok(DeliverResponse {
                    r#type: Some(response),
                }))
                .await
                .is_err()
            {
                return None;
            }
            if number == stop_number {
                return Some(CommonStatus::Success);
            }
            number += 1;
        }
    }
}

/// The blocks a seek asks for, resolved against the current height as Fabric's deliver
/// handler resolves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekRange {
    pub start: u64,
    /// The last block to send (may be beyond the height: wait for it).
    pub stop: u64,
    /// FAIL_IF_NOT_READY: a block not yet there ends the seek with NOT_FOUND.
    pub fail_if_not_ready: bool,
}

/// Start: oldest 0, newest height−1, specified, next commit = height. Stop: oldest = start,
/// newest (height−1, or start when start is newest too), specified (BAD_REQUEST below
/// start). Missing positions are BAD_REQUEST.
pub fn seek_range(seek: &SeekInfo, height: u64) -> Result<SeekRange, CommonStatus> {
    let (Some(start), Some(stop)) = (seek.start.as_ref(), seek.stop.as_ref()) else {
        return Err(CommonStatus::BadRequest);
    };
    let number = match start.r#type {
        Some(SeekType::Oldest(_)) => 0,
        Some(SeekType::Newest(_)) => height.saturating_sub(1),
        Some(SeekType::Specified(s)) => s.number,
        Some(SeekType::NextCommit(_)) => height,
        None => return Err(CommonStatus::BadRequest),
    };
    let stop_number = match stop.r#type {
        Some(SeekType::Oldest(_)) => number,
        // Fabric's `proto.Equal(seekInfo.Start, seekInfo.Stop)`: newest to newest is one block.
        Some(SeekType::Newest(_)) if start == stop => number,
        Some(SeekType::Newest(_)) => height.saturating_sub(1),
        Some(SeekType::Specified(s)) => {
            if s.number < number {
                return Err(CommonStatus::BadRequest);
            }
            s.number
        }
        Some(SeekType::NextCommit(_)) => height,
        None => return Err(CommonStatus::BadRequest),
    };
    Ok(SeekRange {
        start: number,
        stop: stop_number,
        fail_if_not_ready: seek.behavior == SeekBehavior::FailIfNotReady as i32,
    })
}

pub(crate) fn timestamp_in_window(chdr: &ChannelHeader) -> bool {
    let Some(ts) = chdr.timestamp else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    (ts.seconds - now).unsigned_abs() <= TIME_WINDOW.as_secs()
}

/// The chaincode events of a block's VALID endorser transactions, in order (what the
/// gateway's ChaincodeEvents streams).
pub fn valid_chaincode_events(block_bytes: &[u8]) -> Vec<ChaincodeEvent> {
    let Ok(block) = Block::decode(block_bytes) else {
        return Vec::new();
    };
    let filter = transactions_filter(&block);
    let data: &[Vec<u8>] = block.data.as_ref().map_or(&[], |d| &d.data);
    data.iter()
        .enumerate()
        .filter(|(i, _)| filter.get(*i).copied() == Some(TxValidationCode::Valid as u8))
        .filter_map(|(_, env)| parse_envelope_bytes(env).ok()?.event().ok()?)
        .filter(|e| !e.chaincode_id.is_empty())
        .collect()
}

/// A `FilteredBlock`: per tx its id, header type and validation code, and for endorser
/// transactions their chaincode event without payload.
pub fn filtered_block(channel: &str, block_bytes: &[u8]) -> Option<FilteredBlock> {
    let block = Block::decode(block_bytes).ok()?;
    let filter = transactions_filter(&block);
    let number = block.header.as_ref()?.number;
    let data: &[Vec<u8>] = block.data.as_ref().map_or(&[], |d| &d.data);
    let mut txs = Vec::with_capacity(data.len());
    for (i, bytes) in data.iter().enumerate() {
        let code = i32::from(filter.get(i).copied().unwrap_or(0));
        let chdr = Envelope::decode(bytes.as_slice())
            .ok()
            .and_then(|e| Payload::decode(e.payload.as_slice()).ok())
            .and_then(|p| p.header)
            .and_then(|h| ChannelHeader::decode(h.channel_header.as_slice()).ok())
            .unwrap_or_default();
        let data = (chdr.r#type == HeaderType::EndorserTransaction as i32).then(|| {
            let chaincode_actions = parse_envelope_bytes(bytes)
                .ok()
                .and_then(|p| p.event().ok().flatten())
                .filter(|e| !e.chaincode_id.is_empty())
                .map(|e| FilteredChaincodeAction {
                    chaincode_event: Some(ChaincodeEvent {
                        payload: Vec::new(),
                        ..e
                    }),
                })
                .into_iter()
                .collect();
            filtered_transaction::Data::TransactionActions(FilteredTransactionActions {
                chaincode_actions,
            })
        });
        txs.push(FilteredTransaction {
            txid: chdr.tx_id,
            r#type: chdr.r#type,
            tx_validation_code: code,
            data,
        });
    }
    Some(FilteredBlock {
        channel_id: channel.to_owned(),
        number,
        filtered_transactions: txs,
    })
}

/// A block with the private rwsets this peer stored for it, limited to the collections the
/// requester's org is a member of.
fn block_and_private_data(
    ch: &Arc<PeerChannel>,
    number: u64,
    block_bytes: &[u8],
    requester_msp: &str,
) -> Option<BlockAndPrivateData> {
    let block = Block::decode(block_bytes).ok()?;
    let txs = block.data.as_ref().map_or(0, |d| d.data.len()) as u64;
    let snapshot = ch.ledger.snapshot().ok()?;
    let mut private_data_map: HashMap<u64, TxPvtReadWriteSet> = HashMap::new();
    for tx in 0..txs {
        let Ok(Some(bytes)) = snapshot.private_rwset(number, tx) else {
            continue;
        };
        let Ok(pvt) = TxPvtReadWriteSet::decode(bytes.as_slice()) else {
            continue;
        };
        if let Some(mine) = private_data_for_org(&pvt, ch.definitions.as_ref(), requester_msp) {
            private_data_map.insert(tx, mine);
        }
    }
    Some(BlockAndPrivateData {
        block: Some(block),
        private_data_map,
    })
}

#[tonic::async_trait]
impl deliver_server::Deliver for DeliverService {
    type DeliverStream = DeliverStream;
    type DeliverFilteredStream = DeliverStream;
    type DeliverWithPrivateDataStream = DeliverStream;

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<DeliverStream>, Status> {
        Ok(tonic::Response::new(
            self.handle(Kind::Full, request.into_inner()),
        ))
    }

    async fn deliver_filtered(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<DeliverStream>, Status> {
        Ok(tonic::Response::new(
            self.handle(Kind::Filtered, request.into_inner()),
        ))
    }

    async fn deliver_with_private_data(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<DeliverStream>, Status> {
        Ok(tonic::Response::new(
            self.handle(Kind::WithPrivateData, request.into_inner()),
        ))
    }
}
