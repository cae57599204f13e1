//! One peer connection: the shim side of `protos.Chaincode/Connect`.
//!
//! As in fabric-chaincode-go's `chatWithPeer`: the chaincode sends `REGISTER` with its
//! `ChaincodeID` first; the peer answers `REGISTERED`, then `READY`. From then on every
//! `INIT`/`TRANSACTION` runs in its own task (keyed by channel + tx id) and every
//! `RESPONSE`/`ERROR` goes to the transaction waiting for it. `KEEPALIVE` is echoed in any
//! state. On shutdown the connection refuses new transactions, lets in-flight ones finish,
//! then ends the stream.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::{FutureExt, Stream, StreamExt};
use prost::Message;
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_message::Type as MsgType;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::contract::{Contract, Response};
use crate::stub::{Conn, ShimStub, TxKey, proposal_context};

/// How long a handshake may take before we log a hint about the chaincode id.
const HANDSHAKE_HINT_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// Where the handshake stands (Go shim's `created` → `established` → `ready`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Established,
    Ready,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Established => "established",
            State::Ready => "ready",
        }
    }
}

fn type_name(ty: i32) -> String {
    MsgType::try_from(ty)
        .map(|t| t.as_str_name().to_string())
        .unwrap_or_else(|_| ty.to_string())
}

fn error_msg(txid: &str, channel_id: &str, text: impl Into<String>) -> pb::ChaincodeMessage {
    pb::ChaincodeMessage {
        r#type: MsgType::Error as i32,
        payload: text.into().into_bytes(),
        txid: txid.to_string(),
        channel_id: channel_id.to_string(),
        ..Default::default()
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnEnd {
    /// The peer closed its side of the stream.
    PeerClosed,
    /// Our shutdown: in-flight transactions finished, stream ended.
    Shutdown,
    /// The stream broke or the peer broke the protocol; the text says how.
    Failed(String),
}

/// Drives one connection until it ends. `inbound` is the peer's side of the stream,
/// `out` ours. `shutdown` turns true when the server stops.
pub(crate) async fn run<S>(
    chaincode_id: String,
    contract: Arc<dyn Contract>,
    mut inbound: S,
    out: mpsc::Sender<Result<pb::ChaincodeMessage, tonic::Status>>,
    mut shutdown: watch::Receiver<bool>,
) -> ConnEnd
where
    S: Stream<Item = Result<pb::ChaincodeMessage, tonic::Status>> + Unpin + Send,
{
    let conn = Arc::new(Conn::new(out.clone()));
    let register = pb::ChaincodeMessage {
        r#type: MsgType::Register as i32,
        payload: pb::ChaincodeId {
            name: chaincode_id.clone(),
            ..Default::default()
        }
        .encode_to_vec(),
        ..Default::default()
    };
    if out.send(Ok(register)).await.is_err() {
        return ConnEnd::Failed("sending REGISTER: the stream closed".into());
    }
    tracing::debug!(chaincode_id, "sent REGISTER");

    let mut state = State::Created;
    let mut in_flight: HashSet<TxKey> = HashSet::new();
    // Task id → its transaction, so a task that dies without returning still frees its key.
    let mut task_keys: HashMap<tokio::task::Id, TxKey> = HashMap::new();
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut draining = *shutdown.borrow();
    // A peer that does not know our CHAINCODE_ID answers nothing at all (it only logs "peer
    // will not accept external chaincode connection"); say so here, where the operator looks.
    let handshake_hint = tokio::time::sleep(HANDSHAKE_HINT_AFTER);
    tokio::pin!(handshake_hint);
    let mut hinted = false;

    let end = loop {
        if draining && tasks.is_empty() {
            break ConnEnd::Shutdown;
        }
        tokio::select! {
            () = &mut handshake_hint, if !hinted && state != State::Ready => {
                hinted = true;
                tracing::warn!(
                    chaincode_id,
                    state = state.name(),
                    "the peer has not completed the handshake after {HANDSHAKE_HINT_AFTER:?}: \
                     check that CHAINCODE_ID is the package id the peer installed \
                     (peer lifecycle chaincode queryinstalled) and committed"
                );
            }
            changed = shutdown.changed(), if !draining => {
                // A dropped sender means the server is gone: drain as well.
                if changed.is_err() || *shutdown.borrow() {
                    tracing::info!(in_flight = tasks.len(), "shutting down: finishing in-flight transactions");
                    draining = true;
                }
            }
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    // Tasks catch the contract's panics; this is a panic in the shim itself.
                    Err(e) => {
                        tracing::error!("transaction task failed: {e}");
                        e.id()
                    }
                };
                if let Some(key) = task_keys.remove(&id) {
                    in_flight.remove(&key);
                }
            }
            next = inbound.next() => {
                let msg = match next {
                    None => break ConnEnd::PeerClosed,
                    Some(Err(status)) => break ConnEnd::Failed(format!("receive failed: {status}")),
                    Some(Ok(msg)) => msg,
                };
                if msg.r#type == MsgType::Keepalive as i32 {
                    let _ = out.send(Ok(msg)).await;
                    continue;
                }
                let result = match state {
                    State::Created => expect(&msg, MsgType::Registered, state).map(|()| {
                        // Fabric 3.1+ may put parameters in the payload; nothing to use here.
                        state = State::Established;
                    }),
                    State::Established => expect(&msg, MsgType::Ready, state).map(|()| {
                        // READY may carry ChaincodeAdditionalParams (write batches, multi-key
                        // reads). We use neither, so the plain protocol stays valid.
                        state = State::Ready;
                        tracing::info!(chaincode_id, "peer connected: READY");
                    }),
                    State::Ready => handle_ready(
                        msg, &conn, &contract, &mut in_flight, &mut task_keys, &mut tasks, draining, &out,
                    ).await,
                };
                if let Err((txid, text)) = result {
                    tracing::warn!("{text}; closing the stream");
                    let _ = out.send(Ok(error_msg(&txid, "", text.clone()))).await;
                    break ConnEnd::Failed(text);
                }
            }
        }
    };
    conn.close();
    // In-flight transactions of a broken stream can no longer answer; stop them.
    tasks.abort_all();
    end
}

fn expect(msg: &pb::ChaincodeMessage, want: MsgType, state: State) -> Result<(), (String, String)> {
    if msg.r#type == want as i32 {
        Ok(())
    } else if msg.r#type == MsgType::Error as i32 {
        // The peer refused us (e.g. a CHAINCODE_ID that is no installed package id): keep its
        // reason, it is what the operator needs to see.
        Err((
            msg.txid.clone(),
            format!(
                "the peer refused the handshake in state {}: {}",
                state.name(),
                String::from_utf8_lossy(&msg.payload)
            ),
        ))
    } else {
        Err((
            msg.txid.clone(),
            format!(
                "[{}] Chaincode h cannot handle message ({}) while in state: {}",
                msg.txid,
                type_name(msg.r#type),
                state.name()
            ),
        ))
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle_ready(
    msg: pb::ChaincodeMessage,
    conn: &Arc<Conn>,
    contract: &Arc<dyn Contract>,
    in_flight: &mut HashSet<TxKey>,
    task_keys: &mut HashMap<tokio::task::Id, TxKey>,
    tasks: &mut JoinSet<()>,
    draining: bool,
    out: &mpsc::Sender<Result<pb::ChaincodeMessage, tonic::Status>>,
) -> Result<(), (String, String)> {
    let ty = MsgType::try_from(msg.r#type);
    match ty {
        Ok(MsgType::Response | MsgType::Error) => {
            if let Err(stray) = conn.deliver(msg) {
                // Go ends the stream here; a late answer for a transaction that already gave
                // up is harmless, so we only log it.
                tracing::warn!(
                    txid = stray.txid,
                    channel = stray.channel_id,
                    "{} for a transaction that is not waiting; ignored",
                    type_name(stray.r#type)
                );
            }
            Ok(())
        }
        Ok(kind @ (MsgType::Init | MsgType::Transaction)) => {
            let key = (msg.channel_id.clone(), msg.txid.clone());
            if draining {
                let _ = out
                    .send(Ok(error_msg(
                        &msg.txid,
                        &msg.channel_id,
                        "chaincode server is shutting down",
                    )))
                    .await;
                return Ok(());
            }
            if !in_flight.insert(key.clone()) {
                let _ = out
                    .send(Ok(error_msg(
                        &msg.txid,
                        &msg.channel_id,
                        format!(
                            "transaction {} is already running on channel {}",
                            msg.txid, msg.channel_id
                        ),
                    )))
                    .await;
                return Ok(());
            }
            let conn = conn.clone();
            let contract = contract.clone();
            let handle = tasks.spawn(async move {
                let reply = run_tx(kind == MsgType::Init, msg, conn.clone(), contract).await;
                let _ = conn.out.send(Ok(reply)).await;
            });
            task_keys.insert(handle.id(), key);
            Ok(())
        }
        _ => Err((
            msg.txid.clone(),
            format!(
                "[{}] Chaincode h cannot handle message ({}) while in state: ready",
                msg.txid,
                type_name(msg.r#type)
            ),
        )),
    }
}

/// Runs one `INIT`/`TRANSACTION` and builds the reply: `COMPLETED` with the contract's
/// `Response` (and event), or `ERROR` when the shim itself failed.
async fn run_tx(
    is_init: bool,
    msg: pb::ChaincodeMessage,
    conn: Arc<Conn>,
    contract: Arc<dyn Contract>,
) -> pb::ChaincodeMessage {
    let (txid, channel_id) = (msg.txid.clone(), msg.channel_id.clone());
    let input = match pb::ChaincodeInput::decode(msg.payload.as_slice()) {
        Ok(i) => i,
        Err(e) => {
            return error_msg(
                &txid,
                &channel_id,
                format!("failed to unmarshal input: {e}"),
            );
        }
    };
    let ctx = match proposal_context(msg.proposal.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            return error_msg(
                &txid,
                &channel_id,
                format!("failed to create new ChaincodeStub: {e}"),
            );
        }
    };
    tracing::debug!(
        txid,
        channel = channel_id,
        function = %input.args.first().map(|f| String::from_utf8_lossy(f)).unwrap_or_default(),
        init = is_init,
        "running transaction"
    );
    let stub = ShimStub::new(conn, channel_id.clone(), txid.clone(), input.args, ctx);
    let run = async {
        let args = stub.args().to_vec();
        if is_init {
            contract.init(&stub, &args).await
        } else {
            contract.invoke(&stub, &args).await
        }
    };
    let response = match std::panic::AssertUnwindSafe(run).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(txid, "contract panicked: {what}");
            Response::error(format!("chaincode panicked: {what}"))
        }
    };
    let event = stub.take_event();
    if is_init && response.status >= 400 {
        // The Go shim answers a failed Init with ERROR carrying the message.
        return pb::ChaincodeMessage {
            chaincode_event: event,
            ..error_msg(&txid, &channel_id, response.message)
        };
    }
    let payload = pb::Response {
        status: response.status,
        message: response.message,
        payload: response.payload,
    }
    .encode_to_vec();
    pb::ChaincodeMessage {
        r#type: MsgType::Completed as i32,
        payload,
        txid,
        channel_id,
        chaincode_event: event,
        ..Default::default()
    }
}
