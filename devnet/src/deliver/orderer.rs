//! The orderer's `AtomicBroadcast` service: Broadcast into the [`Registrar`] (normal
//! transactions, with each channel's Writers policy) and Deliver of the blocks the orderer
//! wrote (what `peer channel fetch` and orderer-side clients use), checked against the
//! channel's `/Channel/Readers` policy, with the same seek rules and statuses as the peers'
//! Deliver.

use std::pin::Pin;
use std::sync::Arc;

use prost::Message;
use sfcbc_fabric::msp::ValidityTime;
use sfcbc_fabric::net::as_grpc_go_status;
use sfcbc_fabric::protos::common::{
    ChannelHeader, Envelope, Payload, SignatureHeader, Status as CommonStatus,
};
use sfcbc_fabric::protos::orderer::atomic_broadcast_server::{
    AtomicBroadcast, AtomicBroadcastServer,
};
use sfcbc_fabric::protos::orderer::{
    BroadcastResponse, DeliverResponse, SeekInfo, deliver_response,
};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::{SeekRange, seek_range, timestamp_in_window};
use crate::channel::ChannelConfig;
use crate::orderer::Registrar;

/// The orderer's channel policy for Deliver (Fabric's `/Channel/Readers`).
const CHANNEL_READERS: &str = "/Channel/Readers";

/// Channel configurations by name, as the orderer knows them.
pub trait ChannelConfigs: Send + Sync {
    fn config(&self, channel: &str) -> Option<Arc<ChannelConfig>>;
}

/// The orderer's gRPC service.
#[derive(Clone)]
pub struct OrdererService {
    registrar: Arc<Registrar>,
    configs: Arc<dyn ChannelConfigs>,
    /// Turns true when the network stops: waiting Deliver streams end.
    shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for OrdererService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdererService")
            .field("channels", &self.registrar.channels())
            .finish_non_exhaustive()
    }
}

type BroadcastStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<BroadcastResponse, Status>> + Send>>;
type DeliverStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<DeliverResponse, Status>> + Send>>;
type Tx = mpsc::Sender<Result<DeliverResponse, Status>>;

fn status(s: CommonStatus) -> DeliverResponse {
    DeliverResponse {
        r#type: Some(deliver_response::Type::Status(s as i32)),
    }
}

impl OrdererService {
    pub fn new(
        registrar: Arc<Registrar>,
        configs: Arc<dyn ChannelConfigs>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            registrar,
            configs,
            shutdown,
        }
    }

    /// The tonic service.
    pub fn into_server(self) -> AtomicBroadcastServer<Self> {
        AtomicBroadcastServer::new(self)
            .max_decoding_message_size(100 * 1024 * 1024)
            .max_encoding_message_size(100 * 1024 * 1024)
    }

    /// One seek request; `None` when the client went away or the orderer stops.
    async fn deliver_blocks(&self, envelope: &Envelope, tx: &Tx) -> Option<CommonStatus> {
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
        let (Some(orderer), Some(config)) = (
            self.registrar.get(&chdr.channel_id),
            self.configs.config(&chdr.channel_id),
        ) else {
            return Some(CommonStatus::NotFound);
        };
        let Ok(shdr) = SignatureHeader::decode(header.signature_header.as_slice()) else {
            return Some(CommonStatus::BadRequest);
        };
        let allowed = config
            .msps()
            .validate_serialized(&shdr.creator, ValidityTime::AsFabric)
            .ok()
            .filter(|id| id.verify(&envelope.payload, &envelope.signature).is_ok())
            .is_some_and(|id| {
                config
                    .evaluate(CHANNEL_READERS, std::slice::from_ref(&id))
                    .is_ok()
            });
        if !allowed {
            return Some(CommonStatus::Forbidden);
        }
        let Ok(seek) = SeekInfo::decode(payload.data.as_slice()) else {
            return Some(CommonStatus::BadRequest);
        };
        let SeekRange {
            start,
            stop,
            fail_if_not_ready,
        } = match seek_range(&seek, orderer.height()) {
            Ok(r) => r,
            Err(s) => return Some(s),
        };
        let mut blocks = orderer.subscribe(start);
        let mut shutdown = self.shutdown.clone();
        loop {
            let number = blocks.position();
            if fail_if_not_ready && number >= orderer.height() {
                return Some(CommonStatus::NotFound);
            }
            let next = tokio::select! {
                b = blocks.next() => b,
                _ = shutdown.wait_for(|s| *s) => return None,
                () = tx.closed() => return None,
            };
            let block = match next {
                Some(Ok(b)) => b,
                // The orderer stopped or cannot read its archive.
                _ => return Some(CommonStatus::ServiceUnavailable),
            };
            let response = DeliverResponse {
                r#type: Some(deliver_response::Type::Block((*block).clone())),
            };
            if tx.send(Ok(response)).await.is_err() {
                return None;
            }
            if number >= stop {
                return Some(CommonStatus::Success);
            }
        }
    }
}

#[tonic::async_trait]
impl AtomicBroadcast for OrdererService {
    type BroadcastStream = BroadcastStream;
    type DeliverStream = DeliverStream;

    async fn broadcast(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<BroadcastStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let registrar = self.registrar.clone();
        tokio::spawn(async move {
            loop {
                let envelope = match inbound.message().await {
                    Ok(Some(envelope)) => envelope,
                    Ok(None) => return,
                    // Fabric's Broadcast handler returns the receive error: the call ends
                    // with its status (RESOURCE_EXHAUSTED for an oversized envelope).
                    Err(status) => {
                        let _ = tx.send(Err(as_grpc_go_status(status))).await;
                        return;
                    }
                };
                let response = match registrar.broadcast(envelope).await {
                    Ok(()) => BroadcastResponse {
                        status: CommonStatus::Success as i32,
                        info: String::new(),
                    },
                    Err(e) => BroadcastResponse {
                        status: e.status() as i32,
                        info: e.to_string(),
                    },
                };
                if tx.send(Ok(response)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<DeliverStream>, Status> {
        let mut inbound = request.into_inner();
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
                    Ok(None) => return,
                    // As Fabric's Deliver: the call ends with the receive error's status.
                    Err(status) => {
                        let _ = tx.send(Err(as_grpc_go_status(status))).await;
                        return;
                    }
                };
                match this.deliver_blocks(&envelope, &tx).await {
                    Some(s) => {
                        if tx.send(Ok(status(s))).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
