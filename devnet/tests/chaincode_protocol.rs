//! The peer side of the shim protocol against a scripted, misbehaving chaincode server: a
//! tonic `protos.Chaincode` service whose transactions do what their first argument says
//! (send garbage, ask for unknown transactions, fail, hang, drop the stream, break the
//! protocol). Every misbehaviour must end in a clean error, and the handle must recover.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use sfcbc_devnet::chaincode::{
    ChaincodeConfig, ChaincodeError, ChaincodeHandle, ChaincodeTarget, Invocation,
};
use sfcbc_devnet::ledger::Ledger;
use sfcbc_devnet::simulator::TxSimulator;
use sfcbc_fabric::protos::kvrwset::{HashedRwSet, KvrwSet};
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_message::Type as T;
use sfcbc_fabric::protos::protos::chaincode_server::{Chaincode, ChaincodeServer};
use sfcbc_fabric::protos::protos::write_record::Type as W;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

type BoxStream<T> = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = T> + Send>>;

const PACKAGE_ID: &str = "script_1.0:feedface";
const CHANNEL: &str = "ch";

/// How the scripted chaincode registers.
#[derive(Clone, Copy, PartialEq)]
enum Register {
    Normal,
    EmptyName,
    SendsReadyFirst,
}

#[derive(Clone)]
struct Script {
    register: Register,
    connects: Arc<AtomicUsize>,
    keepalives: Arc<AtomicUsize>,
}

fn msg(t: T, txid: &str, payload: Vec<u8>) -> pb::ChaincodeMessage {
    pb::ChaincodeMessage {
        r#type: t as i32,
        payload,
        txid: txid.into(),
        channel_id: CHANNEL.into(),
        ..Default::default()
    }
}

fn completed(txid: &str, status: i32, payload: &[u8]) -> pb::ChaincodeMessage {
    msg(
        T::Completed,
        txid,
        pb::Response {
            status,
            message: String::new(),
            payload: payload.to_vec(),
        }
        .encode_to_vec(),
    )
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<pb::ChaincodeMessage>>>>;

/// Sends `m` and waits for the peer's answer to it.
async fn ask(
    out: &mpsc::Sender<Result<pb::ChaincodeMessage, Status>>,
    waiters: &Waiters,
    m: pb::ChaincodeMessage,
) -> pb::ChaincodeMessage {
    let (tx, rx) = oneshot::channel();
    waiters.lock().unwrap().insert(m.txid.clone(), tx);
    out.send(Ok(m)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("peer answered")
        .unwrap()
}

fn text(m: &pb::ChaincodeMessage) -> String {
    String::from_utf8_lossy(&m.payload).into_owned()
}

#[tonic::async_trait]
impl Chaincode for Script {
    type ConnectStream = BoxStream<Result<pb::ChaincodeMessage, Status>>;

    async fn connect(
        &self,
        request: Request<Streaming<pb::ChaincodeMessage>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        self.connects.fetch_add(1, Ordering::SeqCst);
        let mut inbound = request.into_inner();
        let (out, rx) = mpsc::channel(64);
        let script = self.clone();
        tokio::spawn(async move {
            let name = match script.register {
                Register::EmptyName => String::new(),
                _ => PACKAGE_ID.to_string(),
            };
            let first = if script.register == Register::SendsReadyFirst {
                T::Ready
            } else {
                T::Register
            };
            let id = pb::ChaincodeId {
                name,
                ..Default::default()
            };
            out.send(Ok(msg(first, "", id.encode_to_vec()))).await.ok();
            let waiters: Waiters = Arc::default();
            // Abort switch for "drop": ends this connection's response stream.
            let (drop_tx, mut drop_rx) = mpsc::channel::<()>(1);
            loop {
                let m = tokio::select! {
                    m = inbound.message() => m,
                    _ = drop_rx.recv() => return,
                };
                let Ok(Some(m)) = m else { return };
                match T::try_from(m.r#type).unwrap_or(T::Undefined) {
                    T::Registered | T::Ready => {}
                    T::Keepalive => {
                        script.keepalives.fetch_add(1, Ordering::SeqCst);
                    }
                    T::Response | T::Error => {
                        if let Some(w) = waiters.lock().unwrap().remove(&m.txid) {
                            let _ = w.send(m);
                        }
                    }
                    T::Transaction => {
                        let input = pb::ChaincodeInput::decode(m.payload.as_slice()).unwrap();
                        let f = String::from_utf8(input.args[0].clone()).unwrap();
                        let (out, waiters, txid, drop_tx) = (
                            out.clone(),
                            waiters.clone(),
                            m.txid.clone(),
                            drop_tx.clone(),
                        );
                        tokio::spawn(async move {
                            run_tx(&f, &txid, &out, &waiters, &drop_tx).await;
                        });
                    }
                    _ => {}
                }
            }
        });
        Ok(Response::new(
            Box::pin(ReceiverStream::new(rx)) as Self::ConnectStream
        ))
    }
}

async fn run_tx(
    f: &str,
    txid: &str,
    out: &mpsc::Sender<Result<pb::ChaincodeMessage, Status>>,
    waiters: &Waiters,
    drop_tx: &mpsc::Sender<()>,
) {
    let send = |m| async move {
        out.send(Ok(m)).await.ok();
    };
    match f {
        "ok" => send(completed(txid, 200, b"fine")).await,
        "garbage" => {
            // A GET_STATE whose payload is not a GetState: ERROR, and the tx goes on.
            let r = ask(out, waiters, msg(T::GetState, txid, vec![0xff, 0xff, 0xff])).await;
            assert_eq!(T::try_from(r.r#type), Ok(T::Error));
            send(completed(txid, 200, text(&r).as_bytes())).await;
        }
        "unknown-tx" => {
            let r = ask(
                out,
                waiters,
                msg(
                    T::GetState,
                    "not-running",
                    pb::GetState {
                        key: "k".into(),
                        collection: String::new(),
                    }
                    .encode_to_vec(),
                ),
            )
            .await;
            send(completed(txid, 200, text(&r).as_bytes())).await;
        }
        "next-unknown" => {
            let r = ask(
                out,
                waiters,
                msg(
                    T::QueryStateNext,
                    txid,
                    pb::QueryStateNext { id: "nope".into() }.encode_to_vec(),
                ),
            )
            .await;
            send(completed(txid, 200, text(&r).as_bytes())).await;
        }
        "rich" => {
            let r = ask(
                out,
                waiters,
                msg(
                    T::GetQueryResult,
                    txid,
                    pb::GetQueryResult {
                        query: r#"{"selector":{}}"#.into(),
                        ..Default::default()
                    }
                    .encode_to_vec(),
                ),
            )
            .await;
            send(completed(txid, 200, text(&r).as_bytes())).await;
        }
        "c2c" => {
            let r = ask(out, waiters, msg(T::InvokeChaincode, txid, Vec::new())).await;
            send(completed(txid, 200, text(&r).as_bytes())).await;
        }
        "batch" => {
            // What a Go shim does with use_write_batch: the writes in one WRITE_BATCH_STATE.
            let rec = |t: W, key: &str, value: &[u8], collection: &str| pb::WriteRecord {
                key: key.into(),
                value: value.to_vec(),
                collection: collection.into(),
                metadata: (t == W::PutStateMetadata).then(|| pb::StateMetadata {
                    metakey: "VALIDATION_PARAMETER".into(),
                    value: b"policy".to_vec(),
                }),
                r#type: t as i32,
            };
            let coll = "_implicit_org_Org1MSP";
            let batch = pb::WriteBatchState {
                rec: vec![
                    rec(W::PutState, "b", b"2", ""),
                    rec(W::PutState, "a", b"1", ""),
                    rec(W::DelState, "gone", b"", ""),
                    rec(W::PutStateMetadata, "a", b"", ""),
                    rec(W::PutState, "pk", b"secret", coll),
                    rec(W::PurgePrivateData, "old", b"", coll),
                ],
            };
            let r = ask(
                out,
                waiters,
                msg(T::WriteBatchState, txid, batch.encode_to_vec()),
            )
            .await;
            assert_eq!(T::try_from(r.r#type), Ok(T::Response), "{}", text(&r));
            let multi = pb::GetStateMultiple {
                keys: vec!["x".into(), "y".into()],
                collection: String::new(),
            };
            let r = ask(
                out,
                waiters,
                msg(T::GetStateMultiple, txid, multi.encode_to_vec()),
            )
            .await;
            let values = pb::GetStateMultipleResult::decode(r.payload.as_slice()).unwrap();
            assert_eq!(values.values, vec![Vec::<u8>::new(), Vec::new()]);
            let md = pb::GetStateMetadata {
                key: "a".into(),
                collection: String::new(),
            };
            let r = ask(
                out,
                waiters,
                msg(T::GetStateMetadata, txid, md.encode_to_vec()),
            )
            .await;
            assert_eq!(T::try_from(r.r#type), Ok(T::Response));
            let bad = pb::WriteBatchState {
                rec: vec![pb::WriteRecord {
                    key: "k".into(),
                    r#type: 0,
                    ..Default::default()
                }],
            };
            let r = ask(
                out,
                waiters,
                msg(T::WriteBatchState, txid, bad.encode_to_vec()),
            )
            .await;
            send(completed(txid, 200, text(&r).as_bytes())).await;
        }
        "error" => send(msg(T::Error, txid, b"boom".to_vec())).await,
        "bad-completed" => send(msg(T::Completed, txid, vec![0xff, 0x01])).await,
        "keepalive" => {
            send(msg(T::Keepalive, "", Vec::new())).await;
            send(completed(txid, 200, b"after keepalive")).await;
        }
        "slow" => {
            tokio::time::sleep(Duration::from_millis(400)).await;
            send(completed(txid, 200, b"slow")).await;
        }
        "hang" => {}
        "drop" => {
            let _ = drop_tx.send(()).await;
        }
        "protocol" => send(msg(T::Register, txid, Vec::new())).await,
        "undefined-type" => {
            send(pb::ChaincodeMessage {
                r#type: 99,
                txid: txid.into(),
                channel_id: CHANNEL.into(),
                ..Default::default()
            })
            .await;
        }
        other => send(completed(txid, 400, other.as_bytes())).await,
    }
}

struct Fixture {
    addr: SocketAddr,
    script: Script,
    _dir: tempfile::TempDir,
    ledger: Ledger,
}

async fn fixture(register: Register) -> Fixture {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let script = Script {
        register,
        connects: Arc::default(),
        keepalives: Arc::default(),
    };
    let svc = ChaincodeServer::new(script.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), CHANNEL).unwrap();
    Fixture {
        addr,
        script,
        _dir: dir,
        ledger,
    }
}

fn config() -> ChaincodeConfig {
    ChaincodeConfig {
        execute_timeout: Duration::from_millis(800),
        register_timeout: Duration::from_secs(3),
        keepalive: Some(Duration::from_millis(50)),
        ..Default::default()
    }
}

fn inv(txid: &str, f: &str) -> Invocation {
    Invocation {
        channel_id: CHANNEL.into(),
        tx_id: txid.into(),
        chaincode_name: "script".into(),
        input: pb::ChaincodeInput {
            args: vec![f.as_bytes().to_vec()],
            ..Default::default()
        },
        signed_proposal: Some(pb::SignedProposal::default()),
        init: false,
    }
}

async fn run(
    cc: &ChaincodeHandle,
    ledger: &Ledger,
    txid: &str,
    f: &str,
) -> Result<(i32, String), ChaincodeError> {
    let mut sim = TxSimulator::new(txid, ledger.snapshot().unwrap());
    let out = cc.execute(&inv(txid, f), &mut sim).await?;
    Ok((
        out.response.status,
        String::from_utf8_lossy(&out.response.payload).into_owned(),
    ))
}

#[tokio::test]
async fn misbehaving_chaincode_gets_clean_errors_and_the_stream_recovers() {
    let fx = fixture(Register::Normal).await;
    let cc = ChaincodeHandle::connect(
        ChaincodeTarget::plaintext(fx.addr.to_string()),
        PACKAGE_ID,
        config(),
    )
    .await
    .unwrap();
    let l = &fx.ledger;

    assert_eq!(run(&cc, l, "t1", "ok").await.unwrap(), (200, "fine".into()));

    // Write batches, multi-key reads and metadata, as Fabric 2.5+ shims may use them.
    let mut sim = TxSimulator::new("tb", l.snapshot().unwrap());
    let out = cc.execute(&inv("tb", "batch"), &mut sim).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.response.payload),
        "WRITE_BATCH_STATE failed: transaction ID: tb: unknown operation type"
    );
    let rw = sim.results().unwrap();
    // after `_lifecycle`: a collection access reads the definition
    let ns = rw
        .public
        .ns_rwset
        .iter()
        .find(|n| n.namespace == "script")
        .expect("namespace script");
    let kv = KvrwSet::decode(ns.rwset.as_slice()).unwrap();
    let writes: Vec<(&str, bool)> = kv
        .writes
        .iter()
        .map(|w| (w.key.as_str(), w.is_delete))
        .collect();
    assert_eq!(writes, vec![("a", false), ("b", false), ("gone", true)]);
    let reads: Vec<&str> = kv.reads.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(reads, vec!["a", "x", "y"]);
    assert_eq!(kv.metadata_writes[0].key, "a");
    assert_eq!(kv.metadata_writes[0].entries[0].value, b"policy");
    let h = HashedRwSet::decode(ns.collection_hashed_rwset[0].hashed_rwset.as_slice()).unwrap();
    let purges: Vec<bool> = h.hashed_writes.iter().map(|w| w.is_purge).collect();
    assert_eq!(purges, vec![true, false], "old (purged) sorts before pk");
    assert_eq!(rw.private_collections().len(), 1);
    let (_, e) = run(&cc, l, "t2", "garbage").await.unwrap();
    assert!(
        e.starts_with("GET_STATE failed: transaction ID: t2: unmarshal failed"),
        "{e}"
    );
    let (_, e) = run(&cc, l, "t3", "unknown-tx").await.unwrap();
    assert_eq!(
        e,
        "GET_STATE failed: transaction ID: not-running: no ledger context"
    );
    let (_, e) = run(&cc, l, "t4", "next-unknown").await.unwrap();
    assert_eq!(
        e,
        "QUERY_STATE_NEXT failed: transaction ID: t4: query iterator not found"
    );
    let (_, e) = run(&cc, l, "t5", "rich").await.unwrap();
    assert_eq!(
        e,
        "GET_QUERY_RESULT failed: transaction ID: t5: ExecuteQuery not supported for leveldb"
    );
    let (_, e) = run(&cc, l, "t5b", "c2c").await.unwrap();
    assert!(e.contains("not supported by devnet"), "{e}");
    let e = run(&cc, l, "t6", "error").await.unwrap_err();
    assert_eq!(e.to_string(), "transaction returned with failure: boom");
    let e = run(&cc, l, "t7", "bad-completed").await.unwrap_err();
    assert!(matches!(e, ChaincodeError::BadResponse { .. }), "{e}");
    assert_eq!(
        run(&cc, l, "t8", "keepalive").await.unwrap(),
        (200, "after keepalive".into())
    );
    let (status, _) = run(&cc, l, "t8b", "a chaincode error").await.unwrap();
    assert_eq!(status, 400);

    // Timeout: the tx is dropped; a late answer for it would be ignored.
    let e = run(&cc, l, "t9", "hang").await.unwrap_err();
    assert!(matches!(e, ChaincodeError::Timeout { .. }), "{e}");
    assert!(
        e.to_string()
            .ends_with("timeout expired while executing transaction")
    );

    // The same tx id twice at once.
    let (a, b) = tokio::join!(run(&cc, l, "dup", "slow"), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        run(&cc, l, "dup", "ok").await
    });
    assert_eq!(a.unwrap(), (200, "slow".into()));
    let e = b.unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to execute transaction dup: error sending: txid: dup(ch) exists"
    );

    // Concurrent transactions on the one stream.
    let many: Vec<_> = (0..20)
        .map(|i| {
            let cc = cc.clone();
            let snap = l.snapshot().unwrap();
            tokio::spawn(async move {
                let txid = format!("c{i}");
                let mut sim = TxSimulator::new(&txid, snap);
                cc.execute(&inv(&txid, "slow"), &mut sim).await
            })
        })
        .collect();
    for t in many {
        assert_eq!(t.await.unwrap().unwrap().response.payload, b"slow");
    }

    // Keepalives reached the chaincode.
    assert!(fx.script.keepalives.load(Ordering::SeqCst) > 0);

    // The chaincode drops the stream: in-flight tx terminated; the next one redials.
    assert_eq!(fx.script.connects.load(Ordering::SeqCst), 1);
    let e = run(&cc, l, "t10", "drop").await.unwrap_err();
    assert!(matches!(e, ChaincodeError::StreamTerminated { .. }), "{e}");
    assert_eq!(run(&cc, l, "t11", "ok").await.unwrap().0, 200);
    assert_eq!(fx.script.connects.load(Ordering::SeqCst), 2);
    assert!(cc.is_connected().await);

    // A message the peer cannot handle in the ready state ends the stream (Fabric does).
    let e = run(&cc, l, "t12", "protocol").await.unwrap_err();
    assert!(
        matches!(e, ChaincodeError::StreamTerminated { ref reason, .. } if reason.contains("cannot handle message (REGISTER) while in ready state")),
        "{e:?}"
    );
    let e = run(&cc, l, "t13", "undefined-type").await.unwrap_err();
    assert!(
        matches!(e, ChaincodeError::StreamTerminated { ref reason, .. } if reason.contains("(99)")),
        "{e:?}"
    );
    assert_eq!(run(&cc, l, "t14", "ok").await.unwrap().0, 200);

    // An explicit disconnect, then a redial.
    cc.disconnect().await;
    assert!(!cc.is_connected().await);
    assert_eq!(run(&cc, l, "t15", "ok").await.unwrap().0, 200);
}

#[tokio::test]
async fn bad_registrations_are_refused() {
    for (register, want) in [
        (Register::EmptyName, "chaincodeID name is empty"),
        (
            Register::SendsReadyFirst,
            "cannot handle message (READY) while in created state",
        ),
    ] {
        let fx = fixture(register).await;
        let e = ChaincodeHandle::connect(
            ChaincodeTarget::plaintext(fx.addr.to_string()),
            PACKAGE_ID,
            config(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ChaincodeError::Handshake { .. }), "{e}");
        assert!(e.to_string().contains(want), "{e}");
    }
}
