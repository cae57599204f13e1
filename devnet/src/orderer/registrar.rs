//! The orderer's channel registry and its Broadcast entry point, as Fabric's broadcast
//! handler and `Registrar.BroadcastChannelSupport` classify an envelope:
//! channel header → channel → message type → filters (empty, size, Writers policy) → order.
//! Every refusal carries the `common.Status` and info text Fabric's `BroadcastResponse` has.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use prost::Message;
use sfcbc_fabric::protos::common::{ChannelHeader, Envelope, HeaderType, Payload};

use super::service::{BroadcastError, Orderer, OrdererError, OrdererHandle};

/// Decides whether the envelope's creator may write to the channel (Fabric's `SigFilter`
/// with the channel's `/Channel/Writers` policy). Devnet composes it from the MSP and policy
/// modules; an `Err` is answered FORBIDDEN with its text.
pub trait WritersPolicy: Send + Sync {
    fn check(&self, channel: &str, envelope: &Envelope) -> Result<(), String>;
}

/// Accepts every envelope: for tests, and for networks that check signatures elsewhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl WritersPolicy for AllowAll {
    fn check(&self, _channel: &str, _envelope: &Envelope) -> Result<(), String> {
        Ok(())
    }
}

/// The channels one ordering service runs.
pub struct Registrar {
    channels: RwLock<HashMap<String, Orderer>>,
    /// Checked for every normal message before it is ordered.
    writers: Arc<dyn WritersPolicy>,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let channels = self.channels.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Registrar")
            .field("channels", &channels.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A channel that is already registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel {0} already exists")]
pub struct ChannelExists(pub String);

impl Registrar {
    pub fn new(writers: Arc<dyn WritersPolicy>) -> Self {
        Self {
            channels: RwLock::new(HashMap::new()),
            writers,
        }
    }

    /// Adds a running orderer for its channel.
    pub fn add(&self, orderer: Orderer) -> Result<OrdererHandle, ChannelExists> {
        let handle = orderer.handle();
        let mut channels = self
            .channels
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if channels.contains_key(handle.channel()) {
            return Err(ChannelExists(handle.channel().to_owned()));
        }
        channels.insert(handle.channel().to_owned(), orderer);
        Ok(handle)
    }

    /// The orderer of `channel`.
    pub fn get(&self, channel: &str) -> Option<OrdererHandle> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
            .map(Orderer::handle)
    }

    /// Channel names, sorted.
    pub fn channels(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Fabric's Broadcast for one envelope: `Ok` means SUCCESS (accepted for ordering).
    pub async fn broadcast(&self, envelope: Envelope) -> Result<(), BroadcastError> {
        let chdr = channel_header(&envelope).map_err(|detail| {
            BroadcastError::BadRequest(format!("could not determine channel ID: {detail}"))
        })?;
        let handle = self
            .get(&chdr.channel_id)
            .ok_or_else(|| BroadcastError::BadRequest("channel does not exist".into()))?;
        match HeaderType::try_from(chdr.r#type) {
            Ok(HeaderType::Config) => Err(BroadcastError::BadRequest(
                "message is of type that cannot be processed directly".into(),
            )),
            Ok(HeaderType::OrdererTransaction) => Err(BroadcastError::BadRequest(
                "message is of type that is no longer supported".into(),
            )),
            Ok(HeaderType::ConfigUpdate) => Err(BroadcastError::BadRequest(format!(
                "channel {}: devnet does not apply config updates; create the channel with the configuration it needs",
                chdr.channel_id
            ))),
            _ => {
                self.writers
                    .check(&chdr.channel_id, &envelope)
                    .map_err(BroadcastError::Forbidden)?;
                handle.broadcast(envelope).await
            }
        }
    }

    /// Stops every channel's orderer gracefully (each writes its pending batch).
    pub async fn shutdown(&self) -> Result<(), OrdererError> {
        let orderers: Vec<Orderer> = self
            .channels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, o)| o)
            .collect();
        let mut first_error = None;
        for orderer in orderers {
            if let Err(e) = orderer.shutdown().await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn channel_header(envelope: &Envelope) -> Result<ChannelHeader, String> {
    let payload = Payload::decode(envelope.payload.as_slice())
        .map_err(|e| format!("error unmarshalling Payload: {e}"))?;
    let header = payload.header.ok_or("no header was set")?;
    ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| format!("error unmarshalling ChannelHeader: {e}"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sfcbc_fabric::protos::common::{Header, Status};
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::block::BlockSigner;
    use crate::orderer::{BatchSize, BlockArchive, OrdererConfig};

    struct FakeSigner;
    impl BlockSigner for FakeSigner {
        fn creator(&self) -> Vec<u8> {
            b"orderer".to_vec()
        }
        fn sign(&self, msg: &[u8]) -> Vec<u8> {
            Sha256::digest(msg).to_vec()
        }
    }

    /// Refuses envelopes signed "intruder".
    struct NoIntruders;
    impl WritersPolicy for NoIntruders {
        fn check(&self, channel: &str, envelope: &Envelope) -> Result<(), String> {
            if envelope.signature == b"intruder" {
                return Err(format!(
                    "implicit policy evaluation failed on channel {channel}"
                ));
            }
            Ok(())
        }
    }

    fn envelope(channel: &str, tx_type: HeaderType, signature: &[u8]) -> Envelope {
        let ch = ChannelHeader {
            r#type: tx_type as i32,
            channel_id: channel.into(),
            tx_id: "tx".into(),
            ..Default::default()
        };
        Envelope {
            payload: Payload {
                header: Some(Header {
                    channel_header: ch.encode_to_vec(),
                    signature_header: Vec::new(),
                }),
                data: b"data".to_vec(),
            }
            .encode_to_vec(),
            signature: signature.to_vec(),
        }
    }

    fn start(channel: &str) -> Orderer {
        let config = OrdererConfig {
            channel: channel.into(),
            batch_size: BatchSize {
                max_message_count: 1,
                absolute_max_bytes: 1000,
                preferred_max_bytes: 1000,
            },
            batch_timeout: Duration::from_secs(3600),
            queue_capacity: 8,
        };
        Orderer::start(config, Arc::new(FakeSigner), BlockArchive::in_memory()).unwrap()
    }

    fn refused(r: Result<(), BroadcastError>) -> (Status, String) {
        let e = r.unwrap_err();
        (e.status(), e.to_string())
    }

    #[tokio::test]
    async fn routes_by_channel_and_answers_like_fabric() {
        let reg = Registrar::new(Arc::new(NoIntruders));
        let a = reg.add(start("a")).unwrap();
        reg.add(start("b")).unwrap();
        assert_eq!(reg.add(start("a")).unwrap_err(), ChannelExists("a".into()));
        assert_eq!(reg.channels(), ["a", "b"]);

        reg.broadcast(envelope("a", HeaderType::EndorserTransaction, b"sig"))
            .await
            .unwrap();
        let block = a.subscribe(0).next().await.unwrap().unwrap();
        assert_eq!(block.data.as_ref().unwrap().data.len(), 1);
        assert_eq!(reg.get("b").unwrap().height(), 0);

        assert_eq!(
            refused(
                reg.broadcast(envelope("zz", HeaderType::EndorserTransaction, b"s"))
                    .await
            ),
            (Status::BadRequest, "channel does not exist".into())
        );
        assert_eq!(
            refused(reg.broadcast(envelope("a", HeaderType::Config, b"s")).await),
            (
                Status::BadRequest,
                "message is of type that cannot be processed directly".into()
            )
        );
        assert_eq!(
            refused(
                reg.broadcast(envelope("a", HeaderType::OrdererTransaction, b"s"))
                    .await
            )
            .0,
            Status::BadRequest
        );
        assert_eq!(
            refused(
                reg.broadcast(envelope("a", HeaderType::ConfigUpdate, b"s"))
                    .await
            )
            .0,
            Status::BadRequest
        );
        assert_eq!(
            refused(
                reg.broadcast(envelope("a", HeaderType::EndorserTransaction, b"intruder"))
                    .await
            ),
            (
                Status::Forbidden,
                "implicit policy evaluation failed on channel a".into()
            )
        );
        let garbage = Envelope {
            payload: b"\xff\xff\xff".to_vec(),
            signature: Vec::new(),
        };
        let (status, info) = refused(reg.broadcast(garbage).await);
        assert_eq!(status, Status::BadRequest);
        assert!(
            info.starts_with("could not determine channel ID: "),
            "{info}"
        );
        let empty = Envelope::default();
        let (status, info) = refused(reg.broadcast(empty).await);
        assert_eq!(status, Status::BadRequest);
        assert!(info.contains("no header was set"), "{info}");

        reg.shutdown().await.unwrap();
        assert!(reg.channels().is_empty());
        assert_eq!(
            refused(
                a.broadcast(envelope("a", HeaderType::EndorserTransaction, b"s"))
                    .await
            )
            .0,
            Status::ServiceUnavailable
        );
    }
}
