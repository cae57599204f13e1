//! The CCaaS server driven by a scripted peer over a real loopback socket: handshake,
//! concurrent transactions, every shim call, chaincode errors, malformed input, a dropped
//! connection and graceful shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::*;
use prost::Message;
use sfcbc_ccaas::{Contract, Response, ServerConfig, ShimStub};
use sfcbc_chaincode::{Stub, StubError};
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_message::Type as T;

/// A test contract with one function per shim call.
#[derive(Default)]
struct TestContract {
    /// How many transactions saw a shim failure (stream gone).
    shim_failures: AtomicUsize,
    started: AtomicUsize,
}

fn s(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

impl TestContract {
    async fn run(&self, stub: &ShimStub, args: &[Vec<u8>]) -> Result<Response, StubError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let a: Vec<String> = args.iter().map(|x| s(x)).collect();
        let arg = |i: usize| a.get(i).cloned().unwrap_or_default();
        Ok(match arg(0).as_str() {
            "put" => {
                stub.put_state(&arg(1), arg(2).as_bytes()).await?;
                Response::ok(Vec::new())
            }
            "get" => Response::ok(stub.get_state(&arg(1)).await?.unwrap_or(b"<none>".to_vec())),
            "del" => {
                stub.del_state(&arg(1)).await?;
                Response::ok(Vec::new())
            }
            "slow_incr" => {
                // Read, wait, write: many of these in flight at once prove concurrency.
                let v = stub.get_state(&arg(1)).await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
                let n = v.map(|v| s(&v).parse::<u64>().unwrap_or(0)).unwrap_or(0) + 1;
                stub.put_state(&arg(1), n.to_string().as_bytes()).await?;
                Response::ok(format!("{}:{n}", stub.tx_id()))
            }
            "range" => {
                let kvs = stub.get_state_by_range(&arg(1), &arg(2)).await?;
                let keys: Vec<String> = kvs
                    .iter()
                    .map(|k| format!("{}={}", k.key, s(&k.value)))
                    .collect();
                Response::ok(keys.join(","))
            }
            "simple_range" => {
                let kvs = stub.get_state_by_simple_range(&arg(1), &arg(2)).await?;
                Response::ok(
                    kvs.iter()
                        .map(|k| k.key.clone())
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }
            "page" => {
                let (kvs, md) = stub
                    .get_state_by_range_with_pagination(
                        &arg(1),
                        &arg(2),
                        arg(3).parse().unwrap(),
                        &arg(4),
                    )
                    .await?;
                let keys: Vec<String> = kvs.iter().map(|k| k.key.clone()).collect();
                Response::ok(format!(
                    "{}|{}|{}",
                    keys.join(","),
                    md.fetched_records_count,
                    md.bookmark
                ))
            }
            "history" => {
                let h = stub.get_history_for_key(&arg(1)).await?;
                let v: Vec<String> = h
                    .iter()
                    .map(|m| format!("{}:{}", m.tx_id, s(&m.value)))
                    .collect();
                Response::ok(v.join(","))
            }
            "pput" => {
                let value = stub.transient().get("secret").cloned().unwrap_or_default();
                stub.put_private_data(&arg(1), &arg(2), &value).await?;
                Response::ok(Vec::new())
            }
            "pget" => Response::ok(
                stub.get_private_data(&arg(1), &arg(2))
                    .await?
                    .unwrap_or_default(),
            ),
            "phash" => Response::ok(hex::encode(
                stub.get_private_data_hash(&arg(1), &arg(2))
                    .await?
                    .unwrap_or_default(),
            )),
            "pdel" => {
                stub.del_private_data(&arg(1), &arg(2)).await?;
                Response::ok(Vec::new())
            }
            "ppurge" => {
                stub.purge_private_data(&arg(1), &arg(2)).await?;
                Response::ok(Vec::new())
            }
            "pempty" => {
                stub.put_private_data("", "k", b"v").await?;
                Response::ok(Vec::new())
            }
            "meta" => {
                stub.put_state_metadata("", &arg(1), "VALIDATION_PARAMETER", b"policy")
                    .await?;
                let md = stub.get_state_metadata("", &arg(1)).await?;
                Response::ok(format!("{:?}", md))
            }
            "event" => {
                stub.set_event("first", b"1".to_vec())?;
                stub.set_event(&arg(1), arg(2).into_bytes())?;
                Response::ok(Vec::new())
            }
            "whoami" => {
                let c = stub.creator();
                let t = stub.tx_timestamp();
                let transient: Vec<String> = stub
                    .transient()
                    .iter()
                    .map(|(k, v)| format!("{k}={}", s(v)))
                    .collect();
                Response::ok(format!(
                    "{}|{}|{}.{}|{}|{}|{}",
                    c.msp_id,
                    s(&c.id_bytes).contains("BEGIN CERTIFICATE"),
                    t.seconds,
                    t.nanos,
                    transient.join(","),
                    stub.channel_id(),
                    stub.signed_proposal().is_some()
                ))
            }
            "fail" => Response::error_with_status(400, format!("bad argument: {}", arg(1))),
            "forbidden" => {
                // The peer refuses this write; the contract reports it as a chaincode error.
                match stub.put_state("forbidden-key", b"x").await {
                    Err(StubError::Peer { call, message }) => {
                        Response::error(format!("{call} refused: {message}"))
                    }
                    other => Response::ok(format!("{other:?}")),
                }
            }
            "panic" => panic!("contract bug"),
            "wait_forever" => {
                stub.get_state("k").await?;
                Response::ok(Vec::new())
            }
            other => Response::error_with_status(400, format!("unknown function {other}")),
        })
    }
}

#[async_trait]
impl Contract for TestContract {
    async fn init(&self, _stub: &ShimStub, args: &[Vec<u8>]) -> Response {
        if args.first().map(|a| a.as_slice()) == Some(b"bad-init".as_slice()) {
            Response::error("init refused")
        } else {
            Response::ok(b"initialised".to_vec())
        }
    }

    async fn invoke(&self, stub: &ShimStub, args: &[Vec<u8>]) -> Response {
        match self.run(stub, args).await {
            Ok(r) => r,
            Err(e) => {
                if matches!(e, StubError::Shim(_)) {
                    self.shim_failures.fetch_add(1, Ordering::SeqCst);
                }
                Response::error(e.to_string())
            }
        }
    }
}

async fn server() -> (TestServer, Arc<TestContract>) {
    let c = Arc::new(TestContract::default());
    (
        TestServer::start(c.clone(), ServerConfig::new(CHAINCODE_ID)).await,
        c,
    )
}

#[tokio::test]
async fn handshake_registers_with_the_package_id_and_echoes_keepalive() {
    let (srv, _) = server().await;
    let mut peer = ScriptedPeer::connect(srv.addr, None).await;
    assert_eq!(peer.registered_name, CHAINCODE_ID);
    let ka = pb::ChaincodeMessage {
        r#type: T::Keepalive as i32,
        txid: "ka".into(),
        ..Default::default()
    };
    peer.send(ka.clone()).await;
    let echoed = tokio::time::timeout(Duration::from_secs(5), peer.other.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, ka);
    // And the connection works.
    assert_eq!(
        peer.invoke("tx1", &["get", "nothing"]).await.ok_payload(),
        "<none>"
    );
}

#[tokio::test]
async fn keepalive_is_echoed_before_the_handshake_too() {
    let (srv, _) = server().await;
    let ch = channel(srv.addr, None).await.unwrap();
    let (out, mut inbound) = open(ch).await.unwrap();
    assert_eq!(ty(&recv(&mut inbound).await.unwrap()), T::Register);
    let ka = pb::ChaincodeMessage {
        r#type: T::Keepalive as i32,
        ..Default::default()
    };
    out.send(ka.clone()).await.unwrap();
    assert_eq!(recv(&mut inbound).await.unwrap(), ka);
}

#[tokio::test]
async fn transaction_before_ready_is_refused_and_the_stream_ends() {
    let (srv, _) = server().await;
    let ch = channel(srv.addr, None).await.unwrap();
    let (out, mut inbound) = open(ch).await.unwrap();
    assert_eq!(ty(&recv(&mut inbound).await.unwrap()), T::Register);
    out.send(pb::ChaincodeMessage {
        r#type: T::Registered as i32,
        ..Default::default()
    })
    .await
    .unwrap();
    out.send(transaction(
        T::Transaction,
        "early",
        &["get", "k"],
        &[],
        "Org1MSP",
    ))
    .await
    .unwrap();
    let err = recv(&mut inbound).await.unwrap();
    assert_eq!(ty(&err), T::Error);
    assert_eq!(err.txid, "early");
    assert!(
        s(&err.payload).contains("TRANSACTION") && s(&err.payload).contains("established"),
        "{}",
        s(&err.payload)
    );
    assert!(
        recv(&mut inbound).await.is_none(),
        "stream ends after a protocol error"
    );
    // The server still serves new connections.
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    assert_eq!(
        peer.invoke("tx", &["get", "k"]).await.ok_payload(),
        "<none>"
    );
}

#[tokio::test]
async fn state_calls_and_proposal_context() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    peer.invoke("t1", &["put", "a", "1"]).await.ok_payload();
    assert_eq!(peer.invoke("t2", &["get", "a"]).await.ok_payload(), "1");
    peer.invoke("t3", &["del", "a"]).await.ok_payload();
    assert_eq!(
        peer.invoke("t4", &["get", "a"]).await.ok_payload(),
        "<none>"
    );
    let who = peer
        .invoke_full(
            "t5",
            &["whoami"],
            &[("salt", b"pepper"), ("secret", b"s3")],
            "Org2MSP",
        )
        .await
        .ok_payload();
    assert_eq!(
        who,
        "Org2MSP|true|1700000000.42|salt=pepper,secret=s3|mychannel|true"
    );
    let md = peer.invoke("t6", &["meta", "a"]).await.ok_payload();
    assert_eq!(
        md,
        r#"{"VALIDATION_PARAMETER": [112, 111, 108, 105, 99, 121]}"#
    );
    let seen = peer.ledger.lock().unwrap().seen.clone();
    assert_eq!(
        seen,
        vec![
            T::PutState,
            T::GetState,
            T::DelState,
            T::GetState,
            T::PutStateMetadata,
            T::GetStateMetadata
        ]
    );
}

#[tokio::test]
async fn concurrent_transactions_run_in_parallel() {
    let (srv, _) = server().await;
    let peer = Arc::new(ScriptedPeer::connect(srv.addr, None).await);
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for i in 0..24 {
        let p = peer.clone();
        handles.push(tokio::spawn(async move {
            // Distinct keys: each tx reads its own counter, sleeps 300 ms, writes.
            p.invoke(&format!("tx{i}"), &["slow_incr", &format!("c{i}")])
                .await
                .ok_payload()
        }));
    }
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap(), format!("tx{i}:1"));
    }
    let elapsed = t0.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "24 × 300 ms ran serially? {elapsed:?}"
    );
    // The same tx id on two channels is two transactions.
    let mut m1 = transaction(T::Transaction, "same", &["slow_incr", "x"], &[], "Org1MSP");
    let mut m2 = m1.clone();
    m1.channel_id = "ch1".into();
    m2.channel_id = "ch2".into();
    let (a, b) = tokio::join!(peer.invoke_msg(m1.clone()), async {
        // Waiters are keyed by tx id in the scripted peer; give the second its own id slot.
        let mut m2 = m2;
        m2.txid = "same2".into();
        peer.invoke_msg(m2).await
    });
    assert_eq!(ty(&a), T::Completed);
    assert_eq!(ty(&b), T::Completed);
}

#[tokio::test]
async fn duplicate_in_flight_transaction_is_refused() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    let m = transaction(T::Transaction, "dup", &["slow_incr", "d"], &[], "Org1MSP");
    peer.send(m.clone()).await;
    // The second copy arrives while the first sleeps: ERROR for it, COMPLETED for the first.
    let first = peer.invoke_msg(m).await;
    assert_eq!(ty(&first), T::Error, "{}", s(&first.payload));
    assert!(s(&first.payload).contains("already running"));
    let mut other = peer;
    let done = tokio::time::timeout(Duration::from_secs(5), other.other.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ty(&done), T::Completed);
}

#[tokio::test]
async fn range_queries_follow_has_more_and_close_and_paginate() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    for (i, k) in ["k1", "k2", "k3", "k4", "k5", "z"].iter().enumerate() {
        peer.invoke(&format!("p{i}"), &["put", k, &i.to_string()])
            .await
            .ok_payload();
    }
    peer.ledger.lock().unwrap().seen.clear();
    // 5 rows in batches of 2: one GET_STATE_BY_RANGE, two QUERY_STATE_NEXT, one CLOSE.
    assert_eq!(
        peer.invoke("r1", &["range", "k", "l"]).await.ok_payload(),
        "k1=0,k2=1,k3=2,k4=3,k5=4"
    );
    assert_eq!(
        peer.ledger.lock().unwrap().seen,
        vec![
            T::GetStateByRange,
            T::QueryStateNext,
            T::QueryStateNext,
            T::QueryStateClose
        ]
    );
    // Empty start on the simple-key API becomes "\x01" (Go's emptyKeySubstitute).
    assert_eq!(
        peer.invoke("r2", &["simple_range", "", "k3"])
            .await
            .ok_payload(),
        "k1,k2"
    );
    // Pagination: metadata goes out, the bookmark comes back.
    assert_eq!(
        peer.invoke("g1", &["page", "k", "l", "2", ""])
            .await
            .ok_payload(),
        "k1,k2|2|k3"
    );
    assert_eq!(
        peer.invoke("g2", &["page", "k", "l", "2", "k3"])
            .await
            .ok_payload(),
        "k3,k4|2|k5"
    );
    assert_eq!(
        peer.invoke("g3", &["page", "k", "l", "2", "k5"])
            .await
            .ok_payload(),
        "k5|1|"
    );
    // History, in batches as well.
    for i in 0..3 {
        peer.invoke(&format!("h{i}"), &["put", "hist", &format!("v{i}")])
            .await
            .ok_payload();
    }
    assert_eq!(
        peer.invoke("h", &["history", "hist"]).await.ok_payload(),
        "h0:v0,h1:v1,h2:v2"
    );
}

#[tokio::test]
async fn private_data_uses_the_collection_field() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    let coll = "_implicit_org_Org1MSP";
    peer.invoke_full(
        "p1",
        &["pput", coll, "cred"],
        &[("secret", b"hunter2")],
        "Org1MSP",
    )
    .await
    .ok_payload();
    {
        let l = peer.ledger.lock().unwrap();
        assert_eq!(
            l.state.get(&(coll.to_string(), "cred".to_string())),
            Some(&b"hunter2".to_vec())
        );
        assert!(
            !l.state.contains_key(&(String::new(), "cred".to_string())),
            "nothing public"
        );
    }
    assert_eq!(
        peer.invoke("p2", &["pget", coll, "cred"])
            .await
            .ok_payload(),
        "hunter2"
    );
    assert_eq!(
        peer.invoke("p3", &["phash", coll, "cred"])
            .await
            .ok_payload(),
        "f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7"
    );
    peer.invoke("p4", &["pdel", coll, "cred"])
        .await
        .ok_payload();
    assert_eq!(
        peer.invoke("p5", &["pget", coll, "cred"])
            .await
            .ok_payload(),
        ""
    );
    peer.invoke_full("p6", &["pput", coll, "x"], &[("secret", b"y")], "Org1MSP")
        .await
        .ok_payload();
    peer.invoke("p7", &["ppurge", coll, "x"]).await.ok_payload();
    {
        let l = peer.ledger.lock().unwrap();
        assert_eq!(l.purged, vec![(coll.to_string(), "x".to_string())]);
        assert!(l.seen.contains(&T::PurgePrivateData) && l.seen.contains(&T::GetPrivateDataHash));
    }
    // An empty collection name never reaches the peer.
    match peer.invoke("p8", &["pempty"]).await {
        Outcome::Completed {
            status: 500,
            message,
            ..
        } => {
            assert!(
                message.contains("collection must not be an empty string"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn events_travel_in_completed_last_one_wins() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    match peer
        .invoke("e1", &["event", "ChainCreated", "{\"id\":\"c1\"}"])
        .await
    {
        Outcome::Completed {
            status: 200,
            event: Some(ev),
            ..
        } => {
            assert_eq!(ev.event_name, "ChainCreated");
            assert_eq!(ev.payload, b"{\"id\":\"c1\"}");
        }
        other => panic!("{other:?}"),
    }
    match peer.invoke("e2", &["get", "x"]).await {
        Outcome::Completed { event: None, .. } => {}
        other => panic!("no event expected: {other:?}"),
    }
}

#[tokio::test]
async fn chaincode_errors_are_completed_with_status_and_shim_errors_are_error() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    match peer.invoke("f1", &["fail", "chain.id"]).await {
        Outcome::Completed {
            status: 400,
            message,
            payload,
            ..
        } => {
            assert_eq!(message, "bad argument: chain.id");
            assert!(payload.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // The peer refusing a call surfaces to the contract as StubError::Peer with its text.
    match peer.invoke("f2", &["forbidden"]).await {
        Outcome::Completed {
            status: 500,
            message,
            ..
        } => {
            assert_eq!(
                message,
                "PutState refused: PUT_STATE failed: key forbidden-key is forbidden"
            )
        }
        other => panic!("{other:?}"),
    }
    // A panicking contract is a chaincode error, and the server lives on.
    match peer.invoke("f3", &["panic"]).await {
        Outcome::Completed {
            status: 500,
            message,
            ..
        } => assert!(message.contains("contract bug")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        peer.invoke("f4", &["get", "k"]).await.ok_payload(),
        "<none>"
    );
}

#[tokio::test]
async fn init_messages() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    let ok = peer
        .invoke_msg(transaction(T::Init, "i1", &["init"], &[], "Org1MSP"))
        .await;
    assert_eq!(ty(&ok), T::Completed);
    assert_eq!(
        pb::Response::decode(ok.payload.as_slice()).unwrap().payload,
        b"initialised"
    );
    let bad = peer
        .invoke_msg(transaction(T::Init, "i2", &["bad-init"], &[], "Org1MSP"))
        .await;
    // As the Go shim: a failed Init is ERROR with the message.
    assert_eq!(ty(&bad), T::Error);
    assert_eq!(s(&bad.payload), "init refused");
}

#[tokio::test]
async fn malformed_messages() {
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    // A TRANSACTION whose payload is not a ChaincodeInput: ERROR for that tx only.
    let mut m = transaction(T::Transaction, "bad1", &["get", "k"], &[], "Org1MSP");
    m.payload = vec![0xff, 0xff, 0xff];
    let r = peer.invoke_msg(m).await;
    assert_eq!(ty(&r), T::Error);
    assert_eq!((r.txid.as_str(), r.channel_id.as_str()), ("bad1", CHANNEL));
    assert!(
        s(&r.payload).starts_with("failed to unmarshal input"),
        "{}",
        s(&r.payload)
    );
    // A proposal with a broken header: ERROR naming what failed.
    let mut m = transaction(T::Transaction, "bad2", &["get", "k"], &[], "Org1MSP");
    m.proposal.as_mut().unwrap().proposal_bytes = vec![0x0a, 0x05, 1, 2];
    let r = peer.invoke_msg(m).await;
    assert_eq!(ty(&r), T::Error);
    assert!(
        s(&r.payload).contains("failed to create new ChaincodeStub"),
        "{}",
        s(&r.payload)
    );
    // A wrong header type.
    let mut m = transaction(T::Transaction, "bad3", &["get", "k"], &[], "Org1MSP");
    let mut p =
        pb::Proposal::decode(m.proposal.as_ref().unwrap().proposal_bytes.as_slice()).unwrap();
    let mut h = sfcbc_fabric::protos::common::Header::decode(p.header.as_slice()).unwrap();
    let mut c =
        sfcbc_fabric::protos::common::ChannelHeader::decode(h.channel_header.as_slice()).unwrap();
    c.r#type = 42;
    h.channel_header = c.encode_to_vec();
    p.header = h.encode_to_vec();
    m.proposal.as_mut().unwrap().proposal_bytes = p.encode_to_vec();
    let r = peer.invoke_msg(m).await;
    assert!(
        s(&r.payload).contains("invalid channel header type"),
        "{}",
        s(&r.payload)
    );
    // Still fine afterwards.
    assert_eq!(
        peer.invoke("ok", &["get", "k"]).await.ok_payload(),
        "<none>"
    );
    // A message type the chaincode side never receives: ERROR, then the stream ends (Go shim).
    let mut p2 = peer;
    p2.send(pb::ChaincodeMessage {
        r#type: T::PutState as i32,
        txid: "weird".into(),
        ..Default::default()
    })
    .await;
    let e = tokio::time::timeout(Duration::from_secs(5), p2.other.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ty(&e), T::Error);
    assert!(s(&e.payload).contains("PUT_STATE"), "{}", s(&e.payload));
    let mut closed = p2.closed.clone();
    tokio::time::timeout(Duration::from_secs(5), closed.wait_for(|c| *c))
        .await
        .unwrap()
        .unwrap();
}

/// A frame that is not a ChaincodeMessage at all (field 1 with the wrong wire type).
#[derive(Clone, PartialEq, prost::Message)]
struct NotAChaincodeMessage {
    #[prost(string, tag = "1")]
    junk: String,
}

#[tokio::test]
async fn undecodable_frame_ends_that_stream_only() {
    let (srv, _) = server().await;
    let ch = channel(srv.addr, None).await.unwrap();
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<NotAChaincodeMessage>(4);
    let codec = tonic_prost::ProstCodec::<NotAChaincodeMessage, pb::ChaincodeMessage>::default();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/protos.Chaincode/Connect");
    let mut inbound = grpc
        .streaming(
            tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx)),
            path,
            codec,
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ty(&recv(&mut inbound).await.unwrap()), T::Register);
    tx.send(NotAChaincodeMessage {
        junk: "garbage".into(),
    })
    .await
    .unwrap();
    // The server answers ERROR or just ends the stream; either way it ends.
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), inbound.message())
        .await
        .unwrap()
    {
        assert_eq!(ty(&m), T::Error);
    }
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    assert_eq!(
        peer.invoke("after", &["get", "k"]).await.ok_payload(),
        "<none>"
    );
}

#[tokio::test]
async fn dropped_connection_fails_waiting_calls_and_server_lives_on() {
    let (srv, contract) = server().await;
    // A peer that never answers GET_STATE: the tx waits; then the peer vanishes.
    let ch = channel(srv.addr, None).await.unwrap();
    let (out, mut inbound) = open(ch).await.unwrap();
    assert_eq!(ty(&recv(&mut inbound).await.unwrap()), T::Register);
    out.send(pb::ChaincodeMessage {
        r#type: T::Registered as i32,
        ..Default::default()
    })
    .await
    .unwrap();
    out.send(pb::ChaincodeMessage {
        r#type: T::Ready as i32,
        ..Default::default()
    })
    .await
    .unwrap();
    out.send(transaction(
        T::Transaction,
        "orphan",
        &["wait_forever"],
        &[],
        "Org1MSP",
    ))
    .await
    .unwrap();
    let req = recv(&mut inbound).await.unwrap();
    assert_eq!(ty(&req), T::GetState);
    drop(out);
    drop(inbound);
    // The server notices, fails the waiting call, and keeps serving.
    let t0 = Instant::now();
    while contract.shim_failures.load(Ordering::SeqCst) == 0
        && t0.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The orphan is either failed with a shim error or aborted with its connection.
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    assert_eq!(
        peer.invoke("next", &["get", "k"]).await.ok_payload(),
        "<none>"
    );
}

#[tokio::test]
async fn shutdown_finishes_in_flight_transactions() {
    let (mut srv, _) = server().await;
    let peer = Arc::new(ScriptedPeer::connect(srv.addr, None).await);
    let p = peer.clone();
    let slow = tokio::spawn(async move { p.invoke("slow", &["slow_incr", "s"]).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    srv.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // New work during the drain is refused with ERROR.
    let refused = peer
        .invoke_msg(transaction(
            T::Transaction,
            "late",
            &["get", "k"],
            &[],
            "Org1MSP",
        ))
        .await;
    assert_eq!(ty(&refused), T::Error);
    assert!(s(&refused.payload).contains("shutting down"));
    // The in-flight one completes.
    assert_eq!(slow.await.unwrap().ok_payload(), "slow:1");
    // Then the stream ends and the server returns.
    let mut closed = peer.closed.clone();
    tokio::time::timeout(Duration::from_secs(5), closed.wait_for(|c| *c))
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), srv.handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let c = Arc::new(TestContract::default());
    let mut cfg = ServerConfig::new(CHAINCODE_ID);
    cfg.max_message_size = 4096;
    let srv = TestServer::start(c, cfg).await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    assert_eq!(
        peer.invoke("small", &["get", "k"]).await.ok_payload(),
        "<none>"
    );
    let big = "x".repeat(10_000);
    peer.send(transaction(
        T::Transaction,
        "big",
        &["put", "k", &big],
        &[],
        "Org1MSP",
    ))
    .await;
    let mut closed = peer.closed.clone();
    tokio::time::timeout(Duration::from_secs(5), closed.wait_for(|c| *c))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn random_transaction_bytes_get_an_answer_and_the_stream_survives() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let (srv, _) = server().await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    let mut runner = TestRunner::deterministic();
    let bytes = proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256);
    for i in 0..64 {
        let payload = bytes.new_tree(&mut runner).unwrap().current();
        let proposal = bytes.new_tree(&mut runner).unwrap().current();
        let mut m = transaction(
            T::Transaction,
            &format!("fuzz{i}"),
            &["get", "k"],
            &[],
            "Org1MSP",
        );
        if i % 2 == 0 {
            m.payload = payload;
        }
        if i % 3 == 0 {
            m.proposal.as_mut().unwrap().proposal_bytes = proposal;
        }
        let r = peer.invoke_msg(m).await;
        assert!(matches!(ty(&r), T::Completed | T::Error), "{r:?}");
    }
    assert_eq!(
        peer.invoke("after", &["get", "k"]).await.ok_payload(),
        "<none>"
    );
}

#[tokio::test]
async fn peer_refusing_the_handshake_ends_the_stream() {
    let (srv, _) = server().await;
    let ch = channel(srv.addr, None).await.unwrap();
    let (out, mut inbound) = open(ch).await.unwrap();
    assert_eq!(ty(&recv(&mut inbound).await.unwrap()), T::Register);
    out.send(pb::ChaincodeMessage {
        r#type: T::Error as i32,
        payload: b"chaincode sfcbc_1.0:0123 is not installed".to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let e = recv(&mut inbound).await.unwrap();
    assert_eq!(ty(&e), T::Error);
    assert!(
        s(&e.payload).contains("is not installed"),
        "{}",
        s(&e.payload)
    );
    assert!(recv(&mut inbound).await.is_none());
}
