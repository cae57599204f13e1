//! One chaincode's connection: dial, handshake, the reader task that routes the chaincode's
//! messages to the transactions executing on the stream, keepalives, and redialling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prost::Message;
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_client::ChaincodeClient;
use sfcbc_fabric::protos::protos::chaincode_message::Type as T;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use super::target::error_chain;
use super::{ChaincodeConfig, ChaincodeError, ChaincodeOutcome, ChaincodeTarget, Invocation};
use crate::simulator::TxSimulator;

/// The peer's connection to one chaincode (one package id). Cheap to clone; every clone
/// shares the stream. Transactions may execute concurrently.
#[derive(Clone)]
pub struct ChaincodeHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ChaincodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaincodeHandle")
            .field("address", &self.inner.target.address)
            .field("package_id", &self.inner.package_id)
            .finish_non_exhaustive()
    }
}

struct Inner {
    target: ChaincodeTarget,
    package_id: String,
    config: ChaincodeConfig,
    /// The current stream; replaced when it breaks (serialises redials).
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
}

/// Key of a running transaction: (channel, tx id).
type TxKey = (String, String);

/// State shared by a stream's reader task and the transactions on it.
pub(super) struct Shared {
    out: Mutex<Option<mpsc::Sender<pb::ChaincodeMessage>>>,
    txs: Mutex<HashMap<TxKey, mpsc::UnboundedSender<pb::ChaincodeMessage>>>,
}

/// One live Connect stream.
pub(super) struct Conn {
    pub(super) shared: Arc<Shared>,
    /// `Some(reason)` once the stream has ended.
    pub(super) closed: watch::Receiver<Option<String>>,
    pub(super) config: ChaincodeConfig,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.shared.close();
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub(super) fn ty(m: &pb::ChaincodeMessage) -> Option<T> {
    T::try_from(m.r#type).ok()
}

/// The type's name as Fabric prints it (`GET_STATE`), or its number.
pub(super) fn type_name(t: i32) -> String {
    T::try_from(t).map_or_else(|_| t.to_string(), |t| t.as_str_name().to_owned())
}

impl Shared {
    fn sender(&self) -> Option<mpsc::Sender<pb::ChaincodeMessage>> {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends one message on the stream (serialised by the channel).
    pub(super) async fn send(&self, msg: pb::ChaincodeMessage) -> Result<(), ()> {
        match self.sender() {
            Some(s) => s.send(msg).await.map_err(|_| ()),
            None => Err(()),
        }
    }

    /// Ends our half of the stream.
    fn close(&self) {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.txs.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn route(
        &self,
        msg: &pb::ChaincodeMessage,
    ) -> Option<mpsc::UnboundedSender<pb::ChaincodeMessage>> {
        self.txs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(msg.channel_id.clone(), msg.txid.clone()))
            .cloned()
    }

    /// Registers a transaction; `None` if one with the same key is running.
    pub(super) fn register(
        &self,
        key: TxKey,
    ) -> Option<mpsc::UnboundedReceiver<pb::ChaincodeMessage>> {
        let mut txs = self.txs.lock().unwrap_or_else(|e| e.into_inner());
        if txs.contains_key(&key) {
            return None;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        txs.insert(key, tx);
        Some(rx)
    }

    pub(super) fn deregister(&self, key: &TxKey) {
        self.txs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Handles one message from the chaincode in the ready state; `Err` ends the stream.
    async fn dispatch(&self, msg: pb::ChaincodeMessage) -> Result<(), String> {
        let cannot = |msg: &pb::ChaincodeMessage| {
            format!(
                "[{}] Fabric side handler cannot handle message ({}) while in ready state",
                msg.txid,
                type_name(msg.r#type)
            )
        };
        let Some(t) = ty(&msg) else {
            return Err(cannot(&msg));
        };
        match t {
            T::Keepalive => Ok(()),
            T::Completed | T::Error => {
                match self.route(&msg) {
                    Some(tx) => {
                        let _ = tx.send(msg);
                    }
                    None => tracing::debug!(
                        txid = msg.txid,
                        channel = msg.channel_id,
                        "{} for a transaction that is not running (timed out?)",
                        type_name(msg.r#type)
                    ),
                }
                Ok(())
            }
            T::GetState
            | T::PutState
            | T::DelState
            | T::InvokeChaincode
            | T::GetStateByRange
            | T::GetQueryResult
            | T::QueryStateNext
            | T::QueryStateClose
            | T::GetHistoryForKey
            | T::GetStateMetadata
            | T::PutStateMetadata
            | T::GetPrivateDataHash
            | T::PurgePrivateData
            | T::WriteBatchState
            | T::GetStateMultiple => {
                match self.route(&msg) {
                    Some(tx) => {
                        let _ = tx.send(msg);
                    }
                    None => {
                        // Fabric's isValidTxSim: no transaction context.
                        let reply = pb::ChaincodeMessage {
                            r#type: T::Error as i32,
                            payload: format!(
                                "{} failed: transaction ID: {}: no ledger context",
                                type_name(msg.r#type),
                                msg.txid
                            )
                            .into_bytes(),
                            txid: msg.txid,
                            channel_id: msg.channel_id,
                            ..Default::default()
                        };
                        let _ = self.send(reply).await;
                    }
                }
                Ok(())
            }
            _ => Err(cannot(&msg)),
        }
    }
}

impl ChaincodeHandle {
    /// Dials `target` and completes the handshake: the chaincode must register as
    /// `package_id`. Fails with [`ChaincodeError::Unavailable`] or
    /// [`ChaincodeError::Handshake`].
    pub async fn connect(
        target: ChaincodeTarget,
        package_id: impl Into<String>,
        config: ChaincodeConfig,
    ) -> Result<Self, ChaincodeError> {
        let inner = Arc::new(Inner {
            target,
            package_id: package_id.into(),
            config,
            conn: tokio::sync::Mutex::new(None),
        });
        let conn = open(&inner).await?;
        *inner.conn.lock().await = Some(Arc::new(conn));
        Ok(Self { inner })
    }

    pub fn package_id(&self) -> &str {
        &self.inner.package_id
    }

    pub fn target(&self) -> &ChaincodeTarget {
        &self.inner.target
    }

    /// Whether the current stream is up (a broken one is redialled by the next `execute`).
    pub async fn is_connected(&self) -> bool {
        self.inner
            .conn
            .lock()
            .await
            .as_ref()
            .is_some_and(|c| c.closed.borrow().is_none())
    }

    /// Ends the current stream (in-flight transactions fail as terminated); the next
    /// `execute` dials again.
    pub async fn disconnect(&self) {
        self.inner.conn.lock().await.take();
    }

    /// The live stream, dialling again if the last one ended.
    async fn live(&self) -> Result<Arc<Conn>, ChaincodeError> {
        let mut slot = self.inner.conn.lock().await;
        if let Some(c) = slot.as_ref()
            && c.closed.borrow().is_none()
        {
            return Ok(c.clone());
        }
        slot.take();
        tracing::info!(
            address = self.inner.target.address,
            package_id = self.inner.package_id,
            "dialling chaincode server"
        );
        let c = Arc::new(open(&self.inner).await?);
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Executes one transaction against `sim` (see the module docs). A chaincode error
    /// response (status ≥ 400) is `Ok`; `Err` means the execution itself failed.
    pub async fn execute(
        &self,
        invocation: &Invocation,
        sim: &mut TxSimulator,
    ) -> Result<ChaincodeOutcome, ChaincodeError> {
        let conn = self.live().await?;
        super::exec::execute(&conn, invocation, sim).await
    }
}

/// Dials and completes the handshake.
async fn open(inner: &Inner) -> Result<Conn, ChaincodeError> {
    let address = inner.target.address.clone();
    let config = inner.config.clone();
    let channel = inner.target.dial().await?;
    let mut client = ChaincodeClient::new(channel)
        .max_decoding_message_size(config.max_message_size)
        .max_encoding_message_size(config.max_message_size);
    let (out_tx, out_rx) = mpsc::channel::<pb::ChaincodeMessage>(256);
    let unavailable = |message: String| ChaincodeError::Unavailable {
        address: address.clone(),
        message,
    };
    let handshake = |message: String| ChaincodeError::Handshake {
        address: address.clone(),
        message,
    };
    let mut inbound = match tokio::time::timeout(
        config.register_timeout,
        client.connect(ReceiverStream::new(out_rx)),
    )
    .await
    {
        Ok(Ok(r)) => r.into_inner(),
        Ok(Err(status)) => {
            return Err(unavailable(format!(
                "error creating grpc client connection to {}: {}",
                inner.package_id,
                error_chain(&status)
            )));
        }
        Err(_) => {
            return Err(unavailable(format!(
                "Connect was not answered within {:?}",
                config.register_timeout
            )));
        }
    };

    // Created state: only REGISTER (KEEPALIVE is ignored in any state).
    let deadline = tokio::time::Instant::now() + config.register_timeout;
    let register = loop {
        match tokio::time::timeout_at(deadline, inbound.message()).await {
            Err(_) => {
                return Err(handshake(format!(
                    "no REGISTER within {:?}",
                    config.register_timeout
                )));
            }
            Ok(Err(status)) => {
                return Err(handshake(format!(
                    "receive from chaincode support stream failed: {}",
                    error_chain(&status)
                )));
            }
            Ok(Ok(None)) => {
                return Err(handshake(
                    "the chaincode closed the stream before REGISTER".into(),
                ));
            }
            Ok(Ok(Some(m))) if ty(&m) == Some(T::Keepalive) => continue,
            Ok(Ok(Some(m))) => break m,
        }
    };
    if ty(&register) != Some(T::Register) {
        return Err(handshake(format!(
            "[{}] Fabric side handler cannot handle message ({}) while in created state",
            register.txid,
            type_name(register.r#type)
        )));
    }
    let id = pb::ChaincodeId::decode(register.payload.as_slice()).map_err(|e| {
        handshake(format!(
            "Error in received REGISTER, could NOT unmarshal registration info: {e}"
        ))
    })?;
    if id.name.is_empty() {
        return Err(handshake(
            "error in handling register chaincode, chaincodeID name is empty".into(),
        ));
    }
    if id.name != inner.package_id {
        return Err(handshake(format!(
            "chaincode registered as {} but the peer expects package {}",
            id.name, inner.package_id
        )));
    }
    let send = |m: pb::ChaincodeMessage| {
        let out = out_tx.clone();
        async move { out.send(m).await }
    };
    if send(pb::ChaincodeMessage {
        r#type: T::Registered as i32,
        ..Default::default()
    })
    .await
    .is_err()
        || send(pb::ChaincodeMessage {
            r#type: T::Ready as i32,
            payload: config
                .runtime_params
                .as_ref()
                .map(Message::encode_to_vec)
                .unwrap_or_default(),
            ..Default::default()
        })
        .await
        .is_err()
    {
        return Err(handshake("the stream closed during the handshake".into()));
    }
    tracing::info!(
        address,
        package_id = inner.package_id,
        "chaincode registered and ready"
    );

    let shared = Arc::new(Shared {
        out: Mutex::new(Some(out_tx)),
        txs: Mutex::new(HashMap::new()),
    });
    let (closed_tx, closed) = watch::channel(None);
    let mut tasks = Vec::new();
    let reader_shared = shared.clone();
    let package_id = inner.package_id.clone();
    tasks.push(tokio::spawn(async move {
        let reason = loop {
            match inbound.message().await {
                Ok(Some(msg)) => {
                    if let Err(e) = reader_shared.dispatch(msg).await {
                        break format!("error handling message, ending stream: {e}");
                    }
                }
                Ok(None) => break "received EOF, ending chaincode support stream".to_owned(),
                Err(status) => {
                    break format!(
                        "receive from chaincode support stream failed: {}",
                        error_chain(&status)
                    );
                }
            }
        };
        tracing::warn!(package_id, "chaincode stream ended: {reason}");
        reader_shared.close();
        let _ = closed_tx.send(Some(reason));
    }));
    if let Some(every) = config.keepalive.filter(|d| !d.is_zero()) {
        let ka = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let m = pb::ChaincodeMessage {
                    r#type: T::Keepalive as i32,
                    ..Default::default()
                };
                if ka.send(m).await.is_err() {
                    break;
                }
            }
        }));
    }
    Ok(Conn {
        shared,
        closed,
        config,
        tasks,
    })
}
