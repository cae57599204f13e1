//! Gateway, Deliver and Network behaviour on a plaintext devnet (Org1, Org2, Tenant1) with
//! the small KV contract on a real `sfcbc-ccaas` server: endorsement plans from the
//! chaincode and collection policies, Fabric 2.5's transient-data protection, private data
//! disseminated to a member org that did not endorse, Deliver's statuses and live blocks,
//! the orderer's Broadcast, and a network resumed from its directory.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sfcbc_ccaas::package::{Package, PackageSpec, build};
use sfcbc_ccaas::{KvContract, ServerConfig};
use sfcbc_client::Gateway;
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use sfcbc_fabric::Signer;
use sfcbc_fabric::protos::common::{Envelope, HeaderType, Status as CommonStatus};
use sfcbc_fabric::protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use sfcbc_fabric::protos::orderer::seek_info::SeekBehavior;
use sfcbc_fabric::protos::orderer::seek_position::Type as SeekType;
use sfcbc_fabric::protos::orderer::{SeekInfo, SeekNewest, SeekPosition, SeekSpecified};
use sfcbc_fabric::protos::protos::deliver_client::DeliverClient;
use sfcbc_fabric::protos::protos::endorser_client::EndorserClient;
use sfcbc_fabric::protos::protos::{DeliverResponse, deliver_response};
use sfcbc_fabric::tx::{ProposalBuilder, create_signed_envelope, parse_envelope};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

const CHANNEL: &str = "kvchannel";
const COLLECTIONS: &str = r#"[{"name":"c12","policy":"OR('Org1MSP.member','Org2MSP.member')",
  "requiredPeerCount":0,"maxPeerCount":3,"blockToLive":0,"memberOnlyRead":false}]"#;

/// A KV chaincode server on loopback; stops when dropped.
struct CcServer {
    package: Package,
    _stop: oneshot::Sender<()>,
}

async fn kv_server() -> CcServer {
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let package = build(&PackageSpec {
        label: "kv_1.0".into(),
        address: listener.local_addr().unwrap().to_string(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut config = ServerConfig::new(&package.package_id);
    config.shutdown_grace = Duration::from_millis(200);
    tokio::spawn(sfcbc_ccaas::serve(
        listener,
        config,
        Arc::new(KvContract),
        async move {
            let _ = stopped.await;
        },
    ));
    CcServer {
        package,
        _stop: stop,
    }
}

fn config(dir: &std::path::Path) -> NetworkConfig {
    NetworkConfig::new(dir)
        .with_orgs(&["Org1", "Org2", "Tenant1"])
        .with_tls(false)
}

/// A network with `kv` (AND(Org1, Tenant1), collection c12 of Org1+Org2) and `kvm`
/// (MAJORITY Endorsement) defined on the channel.
async fn network(dir: &std::path::Path, cc: &CcServer) -> Network {
    let net = Network::start(config(dir)).await.expect("network");
    net.create_channel(CHANNEL, &["Org1", "Org2", "Tenant1"])
        .await
        .unwrap();
    let id = net.install_package(&cc.package.bytes).unwrap();
    let mut kv = ChaincodeSpec::new("kv", &id).with_policy("AND('Org1MSP.peer','Tenant1MSP.peer')");
    kv.collections_config = Some(COLLECTIONS.into());
    net.commit_chaincode(CHANNEL, kv).await.unwrap();
    net.commit_chaincode(
        CHANNEL,
        ChaincodeSpec::new("kvm", &id).with_policy("MAJORITY Endorsement"),
    )
    .await
    .unwrap();
    net.wait_for_height(CHANNEL, 1).await.unwrap();
    net
}

fn user(net: &Network, org: &str) -> Signer {
    net.peer(org).unwrap().org.user_signer("User1").unwrap()
}

async fn gateway(net: &Network, org: &str) -> Gateway {
    let signer = user(net, org);
    let addr = net.peer(org).unwrap().address.to_string();
    Gateway::connect(signer.identity().clone(), signer, &addr, None)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endorsement_plans_and_transient_protection() {
    let dir = tempfile::tempdir().unwrap();
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let org1 = gateway(&net, "Org1").await;
    let tenant = gateway(&net, "Tenant1").await;

    // the plan: the chaincode's AND(Org1, Tenant1) after the first endorsement on Org1
    let mut tx = org1
        .network(CHANNEL)
        .contract("kv")
        .new_proposal("put")
        .args(&["k1", "v1"])
        .build()
        .unwrap()
        .endorse()
        .await
        .expect("endorse");
    let endorsers = parse_envelope(tx.envelope().unwrap()).unwrap().endorsements;
    assert_eq!(endorsers.len(), 2);
    let status = tx.submit().await.unwrap().status().await.unwrap();
    assert!(status.successful(), "{status:?}");

    // MAJORITY Endorsement of three orgs: two endorse
    let mut tx = tenant
        .network(CHANNEL)
        .contract("kvm")
        .new_proposal("put")
        .args(&["k2", "v2"])
        .build()
        .unwrap()
        .endorse()
        .await
        .expect("endorse");
    assert_eq!(
        parse_envelope(tx.envelope().unwrap())
            .unwrap()
            .endorsements
            .len(),
        2
    );
    assert!(
        tx.submit()
            .await
            .unwrap()
            .status()
            .await
            .unwrap()
            .successful()
    );

    // transient data whose plan would reach Tenant1, outside c12's distribution: refused
    let e = org1
        .network(CHANNEL)
        .contract("kv")
        .new_proposal("pput")
        .args(&["c12", "secret-key"])
        .transient("value", b"s3cret".to_vec())
        .submit()
        .await
        .expect_err("refused");
    let g = e.gateway().expect("gateway error");
    assert_eq!(g.code, tonic::Code::FailedPrecondition, "{e}");
    assert!(
        g.message
            .contains("not in the distribution policy of the private data collection(s): [c12]"),
        "{e}"
    );

    // the client names the orgs and answers for it: Org1 + Tenant1 endorse, the data goes to
    // the members Org1 and Org2 (which did not endorse), never to Tenant1
    let out = org1
        .network(CHANNEL)
        .contract("kv")
        .new_proposal("pput")
        .args(&["c12", "secret-key"])
        .transient("value", b"s3cret".to_vec())
        .endorsing_organizations(&["Org1MSP", "Tenant1MSP"])
        .submit_async()
        .await
        .expect("endorsed by the named orgs");
    let mut commit = out.1;
    let status = commit.status().await.unwrap();
    assert!(status.successful(), "{status:?}");
    net.wait_for_height(CHANNEL, status.block_number + 1)
        .await
        .unwrap();
    for p in net.peers() {
        let snap = p.peer.channel(CHANNEL).unwrap().ledger.snapshot().unwrap();
        let value = snap.private_data("kv", "c12", "secret-key").unwrap();
        assert_eq!(
            value.map(|v| v.value),
            (p.msp_id() != "Tenant1MSP").then(|| b"s3cret".to_vec()),
            "private data on {}",
            p.msp_id()
        );
    }
    let org2 = gateway(&net, "Org2").await;
    let got = org2
        .network(CHANNEL)
        .contract("kv")
        .new_proposal("pget")
        .args(&["c12", "secret-key"])
        .build()
        .unwrap()
        .evaluate()
        .await
        .expect("Org2 reads what it was sent");
    assert_eq!(got, b"s3cret");

    // unknown org, unknown chaincode
    let e = org1
        .network(CHANNEL)
        .contract("kv")
        .new_proposal("put")
        .args(&["k", "v"])
        .endorsing_organizations(&["Org9MSP"])
        .submit()
        .await
        .expect_err("no such org");
    assert_eq!(
        e.gateway().map(|g| g.code),
        Some(tonic::Code::Unavailable),
        "{e}"
    );
    let e = org1
        .network(CHANNEL)
        .contract("nope")
        .evaluate_transaction("get", &["k"])
        .await
        .expect_err("no such chaincode");
    assert_eq!(
        e.gateway().map(|g| g.code),
        Some(tonic::Code::FailedPrecondition),
        "{e}"
    );
    net.stop().await;
}

/// A signed seek request.
fn seek(
    signer: &Signer,
    channel: &str,
    start: SeekType,
    stop: SeekType,
    behavior: SeekBehavior,
) -> Envelope {
    let info = SeekInfo {
        start: Some(SeekPosition {
            r#type: Some(start),
        }),
        stop: Some(SeekPosition { r#type: Some(stop) }),
        behavior: behavior as i32,
        ..Default::default()
    };
    create_signed_envelope(
        HeaderType::DeliverSeekInfo,
        channel,
        info.encode_to_vec(),
        Vec::new(),
        signer,
    )
}

fn specified(n: u64) -> SeekType {
    SeekType::Specified(SeekSpecified { number: n })
}

/// Sends `envelope` on `tx` and reads responses until a status.
async fn until_status(
    tx: &mpsc::Sender<Envelope>,
    rx: &mut tonic::Streaming<DeliverResponse>,
    envelope: Envelope,
) -> (Vec<u64>, i32) {
    tx.send(envelope).await.unwrap();
    let mut blocks = Vec::new();
    loop {
        let r = tokio::time::timeout(Duration::from_secs(10), rx.message())
            .await
            .expect("a response")
            .unwrap()
            .expect("stream open");
        match r.r#type.unwrap() {
            deliver_response::Type::Block(b) => blocks.push(b.header.unwrap().number),
            deliver_response::Type::Status(s) => return (blocks, s),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_statuses_live_blocks_and_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let org1 = gateway(&net, "Org1").await;
    let contract = org1.network(CHANNEL).contract("kv");
    contract
        .submit_transaction("put", &["a", "1"])
        .await
        .unwrap();
    let height = net
        .peer("Org1")
        .unwrap()
        .peer
        .channel(CHANNEL)
        .unwrap()
        .ledger
        .height()
        .unwrap();
    assert_eq!(height, 2);

    let channel = tonic::transport::Endpoint::from_shared(format!(
        "http://{}",
        net.peer("Org1").unwrap().address
    ))
    .unwrap()
    .connect()
    .await
    .unwrap();
    let (tx, rx) = mpsc::channel(4);
    let mut responses = DeliverClient::new(channel.clone())
        .deliver(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let me = user(&net, "Org1");
    let ok = CommonStatus::Success as i32;

    // newest to newest: the last block only
    let newest = || SeekType::Newest(SeekNewest {});
    let r = until_status(
        &tx,
        &mut responses,
        seek(
            &me,
            CHANNEL,
            newest(),
            newest(),
            SeekBehavior::BlockUntilReady,
        ),
    )
    .await;
    assert_eq!(r, (vec![1], ok));
    // a range, on the same stream
    let r = until_status(
        &tx,
        &mut responses,
        seek(
            &me,
            CHANNEL,
            specified(0),
            specified(1),
            SeekBehavior::BlockUntilReady,
        ),
    )
    .await;
    assert_eq!(r, (vec![0, 1], ok));
    // not there yet and FAIL_IF_NOT_READY
    let r = until_status(
        &tx,
        &mut responses,
        seek(
            &me,
            CHANNEL,
            specified(5),
            specified(6),
            SeekBehavior::FailIfNotReady,
        ),
    )
    .await;
    assert_eq!(r, (vec![], CommonStatus::NotFound as i32));
    // stop before start, unknown channel, a non-reader (the orderer's admin), garbage
    let r = until_status(
        &tx,
        &mut responses,
        seek(
            &me,
            CHANNEL,
            specified(1),
            specified(0),
            SeekBehavior::BlockUntilReady,
        ),
    )
    .await;
    assert_eq!(r, (vec![], CommonStatus::BadRequest as i32));
    let r = until_status(
        &tx,
        &mut responses,
        seek(
            &me,
            "nosuchchannel",
            specified(0),
            specified(0),
            SeekBehavior::BlockUntilReady,
        ),
    )
    .await;
    assert_eq!(r, (vec![], CommonStatus::NotFound as i32));
    let orderer_admin = net.orderer_org().admin_signer().unwrap();
    let r = until_status(
        &tx,
        &mut responses,
        seek(
            &orderer_admin,
            CHANNEL,
            specified(0),
            specified(0),
            SeekBehavior::BlockUntilReady,
        ),
    )
    .await;
    assert_eq!(r, (vec![], CommonStatus::Forbidden as i32));
    let garbage = Envelope {
        payload: vec![1, 2, 3],
        signature: vec![],
    };
    let r = until_status(&tx, &mut responses, garbage).await;
    assert_eq!(r, (vec![], CommonStatus::BadRequest as i32));

    // the Node client's "forever": stop at 2^53-1 waits for new blocks
    tx.send(seek(
        &me,
        CHANNEL,
        specified(2),
        specified((1 << 53) - 1),
        SeekBehavior::BlockUntilReady,
    ))
    .await
    .unwrap();
    let pending = tokio::time::timeout(Duration::from_millis(300), responses.message()).await;
    assert!(pending.is_err(), "nothing before the next block");
    contract
        .submit_transaction("put", &["b", "2"])
        .await
        .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), responses.message())
        .await
        .expect("the new block")
        .unwrap()
        .unwrap();
    match r.r#type.unwrap() {
        deliver_response::Type::Block(b) => assert_eq!(b.header.unwrap().number, 2),
        other => panic!("unexpected {other:?}"),
    }
    drop(tx);

    // the orderer's Broadcast: a client-signed envelope is ordered, garbage is refused
    let orderer =
        tonic::transport::Endpoint::from_shared(format!("http://{}", net.orderer_address()))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let (btx, brx) = mpsc::channel(4);
    let mut acks = AtomicBroadcastClient::new(orderer.clone())
        .broadcast(ReceiverStream::new(brx))
        .await
        .unwrap()
        .into_inner();
    btx.send(Envelope {
        payload: vec![9, 9],
        signature: vec![],
    })
    .await
    .unwrap();
    let ack = acks.message().await.unwrap().unwrap();
    assert_eq!(ack.status, CommonStatus::BadRequest as i32, "{ack:?}");
    // a client-signed transaction goes through the orderer's Broadcast too
    let t = contract
        .new_proposal("put")
        .args(&["c", "3"])
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap();
    let unsigned = t.envelope().unwrap().clone();
    btx.send(unsigned.clone()).await.unwrap();
    let ack = acks.message().await.unwrap().unwrap();
    assert_eq!(ack.status, CommonStatus::Forbidden as i32, "{ack:?}");
    btx.send(sfcbc_fabric::tx::sign_envelope(unsigned, &me))
        .await
        .unwrap();
    let ack = acks.message().await.unwrap().unwrap();
    assert_eq!(ack.status, CommonStatus::Success as i32, "{ack:?}");
    let ledger = net
        .peer("Org1")
        .unwrap()
        .peer
        .channel(CHANNEL)
        .unwrap()
        .ledger
        .clone();
    let mut height = ledger.watch_height();
    let location = loop {
        if let Some(l) = ledger.snapshot().unwrap().tx_location(t.tx_id()).unwrap() {
            break l;
        }
        tokio::time::timeout(Duration::from_secs(10), height.changed())
            .await
            .expect("a commit")
            .unwrap();
    };
    assert_eq!(location.validation_code, 0, "VALID");

    // the orderer's Deliver: its admin and the channel's members read (/Channel/Readers)
    let (otx, orx) = mpsc::channel(4);
    let mut oblocks = AtomicBroadcastClient::new(orderer)
        .deliver(ReceiverStream::new(orx))
        .await
        .unwrap()
        .into_inner();
    for who in [&orderer_admin, &me] {
        otx.send(seek(
            who,
            CHANNEL,
            specified(0),
            specified(1),
            SeekBehavior::BlockUntilReady,
        ))
        .await
        .unwrap();
        let mut got = Vec::new();
        loop {
            let r = oblocks.message().await.unwrap().unwrap();
            match r.r#type.unwrap() {
                sfcbc_fabric::protos::orderer::deliver_response::Type::Block(b) => {
                    got.push(b.header.unwrap().number)
                }
                sfcbc_fabric::protos::orderer::deliver_response::Type::Status(s) => {
                    assert_eq!((got.as_slice(), s), (&[0, 1][..], ok));
                    break;
                }
            }
        }
    }
    otx.send(seek(
        &me,
        CHANNEL,
        specified(99),
        specified(99),
        SeekBehavior::FailIfNotReady,
    ))
    .await
    .unwrap();
    let r = oblocks.message().await.unwrap().unwrap();
    assert_eq!(
        r.r#type,
        Some(
            sfcbc_fabric::protos::orderer::deliver_response::Type::Status(
                CommonStatus::NotFound as i32
            )
        )
    );
    drop(otx);
    drop(btx);

    // the peer's Endorser service: a response for a good proposal, an error for a forged one
    let mut endorser = EndorserClient::new(channel);
    let proposal = ProposalBuilder::new(CHANNEL, "kv")
        .args([b"get".to_vec(), b"a".to_vec()])
        .build(&me.serialize())
        .unwrap();
    let pr = endorser
        .process_proposal(proposal.sign(&me))
        .await
        .expect("endorsed")
        .into_inner();
    assert_eq!(pr.response.unwrap().payload, b"1");
    assert!(pr.endorsement.is_some());
    let forged = proposal.with_signature(user(&net, "Org2").sign(proposal.bytes()));
    let e = endorser.process_proposal(forged).await.expect_err("forged");
    assert_eq!(e.code(), tonic::Code::Unknown, "{e}");
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_network_resumes_from_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let gw = gateway(&net, "Org1").await;
    gw.network(CHANNEL)
        .contract("kv")
        .submit_transaction("put", &["kept", "yes"])
        .await
        .unwrap();
    let height = net
        .peer("Org1")
        .unwrap()
        .peer
        .channel(CHANNEL)
        .unwrap()
        .ledger
        .height()
        .unwrap();
    drop(gw);
    // Stopping lets every peer commit what the orderer wrote.
    net.stop().await;

    let net = Network::start(config(dir.path())).await.expect("resumes");
    assert_eq!(net.channels(), [CHANNEL]);
    for p in net.peers() {
        let h = p.peer.channel(CHANNEL).unwrap().ledger.height().unwrap();
        assert_eq!(h, height, "{}", p.msp_id());
    }
    let gw = gateway(&net, "Org2").await;
    let kv = gw.network(CHANNEL).contract("kv");
    assert_eq!(
        kv.evaluate_transaction("get", &["kept"]).await.unwrap(),
        b"yes"
    );
    kv.submit_transaction("put", &["after", "restart"])
        .await
        .expect("orders and commits again");
    net.stop().await;
}

/// A rough throughput probe (not the benchmark, which is `sfcbc bench devnet`): blind writes
/// through one gateway, one endorsing org, 64 in flight. Run with `--ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput probe; prints tx/s"]
async fn throughput_probe() {
    let dir = tempfile::tempdir().unwrap();
    let cc = kv_server().await;
    let net = Network::start(
        NetworkConfig::new(dir.path())
            .with_orgs(&["Org1"])
            .with_tls(false),
    )
    .await
    .unwrap();
    net.create_channel(CHANNEL, &["Org1"]).await.unwrap();
    let id = net.install_package(&cc.package.bytes).unwrap();
    net.commit_chaincode(
        CHANNEL,
        ChaincodeSpec::new("kv", &id).with_policy("OR('Org1MSP.peer')"),
    )
    .await
    .unwrap();
    let gw = gateway(&net, "Org1").await;
    let contract = gw.network(CHANNEL).contract("kv");
    let total = 2000usize;
    let in_flight: usize = std::env::var("PROBE_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let start = std::time::Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (contract, next) = (contract.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return;
                }
                let key = format!("k{i}");
                contract
                    .submit_transaction("put", &[key.as_str(), "v"])
                    .await
                    .expect("commits");
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{total} txs, {in_flight} in flight: {:.0} committed tx/s ({secs:.2} s)",
        total as f64 / secs
    );
    net.stop().await;
}

/// The chaincode server goes away: each peer's endorsement fails in the peer (status 500
/// without payload), so the gateway tries every peer and reports each one, as Fabric does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_chaincode_server_fails_on_every_peer_with_details() {
    let dir = tempfile::tempdir().unwrap();
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let gw = gateway(&net, "Org2").await;
    let kvm = gw.network(CHANNEL).contract("kvm");
    kvm.submit_transaction("put", &["x", "1"]).await.unwrap();
    drop(cc);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let e = kvm
        .evaluate_transaction("get", &["x"])
        .await
        .expect_err("no chaincode server");
    let g = e.gateway().expect("gateway error");
    assert_eq!(g.code, tonic::Code::Aborted, "{e}");
    assert_eq!(
        g.message, "failed to evaluate transaction, see attached details for more info",
        "{e}"
    );
    let mut orgs: Vec<&str> = g.details.iter().map(|d| d.msp_id.as_str()).collect();
    orgs.sort();
    assert_eq!(orgs, ["Org1MSP", "Org2MSP", "Tenant1MSP"], "{e}");
    assert_eq!(
        g.details[0].msp_id, "Org2MSP",
        "the gateway's own peer first"
    );
    assert!(
        g.details
            .iter()
            .all(|d| d.message.starts_with("error in simulation: ")),
        "{g:?}"
    );
    let e = kvm
        .submit_transaction("put", &["x", "2"])
        .await
        .expect_err("no chaincode server");
    assert_eq!(
        e.gateway().map(|g| g.code),
        Some(tonic::Code::Aborted),
        "{e}"
    );
    net.stop().await;
}

/// Malformed requests to every Gateway rpc: Fabric's codes and messages, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_gateway_requests_get_fabrics_errors() {
    use sfcbc_fabric::protos::gateway::gateway_client::GatewayClient;
    use sfcbc_fabric::protos::gateway::{
        ChaincodeEventsRequest, CommitStatusRequest, EndorseRequest, EvaluateRequest,
        SignedChaincodeEventsRequest, SignedCommitStatusRequest, SubmitRequest,
    };
    use sfcbc_fabric::protos::protos::SignedProposal;
    use tonic::Code;

    let dir = tempfile::tempdir().unwrap();
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let channel = tonic::transport::Endpoint::from_shared(format!(
        "http://{}",
        net.peer("Org1").unwrap().address
    ))
    .unwrap()
    .connect()
    .await
    .unwrap();
    let mut gw = GatewayClient::new(channel);
    let garbage = SignedProposal {
        proposal_bytes: vec![0xff; 7],
        signature: vec![1],
    };

    let e = gw
        .evaluate(EvaluateRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.message(),
        "failed to unpack transaction proposal: a signed proposal is required"
    );
    let e = gw
        .evaluate(EvaluateRequest {
            proposed_transaction: Some(garbage.clone()),
            ..Default::default()
        })
        .await
        .expect_err("garbage");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    let e = gw
        .endorse(EndorseRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::InvalidArgument,
            "the proposed transaction must contain a signed proposal"
        )
    );
    let e = gw
        .endorse(EndorseRequest {
            proposed_transaction: Some(garbage),
            ..Default::default()
        })
        .await
        .expect_err("garbage");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    let e = gw
        .submit(SubmitRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(
        (e.code(), e.message()),
        (Code::InvalidArgument, "a prepared transaction is required")
    );
    let e = gw
        .submit(SubmitRequest {
            prepared_transaction: Some(Envelope {
                payload: vec![1],
                signature: vec![],
            }),
            ..Default::default()
        })
        .await
        .expect_err("unsigned");
    assert_eq!(
        (e.code(), e.message()),
        (Code::InvalidArgument, "prepared transaction must be signed")
    );
    let e = gw
        .submit(SubmitRequest {
            prepared_transaction: Some(Envelope {
                payload: vec![1, 2, 3],
                signature: vec![4],
            }),
            ..Default::default()
        })
        .await
        .expect_err("garbage envelope");
    assert_eq!(e.code(), Code::Aborted, "{e}");
    assert!(e.message().contains("status=BAD_REQUEST"), "{e}");

    let e = gw
        .commit_status(SignedCommitStatusRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(e.code(), Code::InvalidArgument);
    let me = user(&net, "Org1");
    let request = CommitStatusRequest {
        transaction_id: "abc".into(),
        channel_id: CHANNEL.into(),
        identity: me.serialize(),
    }
    .encode_to_vec();
    let e = gw
        .commit_status(SignedCommitStatusRequest {
            signature: user(&net, "Org2").sign(&request),
            request,
        })
        .await
        .expect_err("signed by someone else");
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    let e = gw
        .chaincode_events(SignedChaincodeEventsRequest {
            request: vec![0xff, 0xff],
            signature: vec![],
        })
        .await
        .expect_err("garbage");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    let request = ChaincodeEventsRequest {
        channel_id: CHANNEL.into(),
        chaincode_id: "kv".into(),
        identity: me.serialize(),
        start_position: Some(SeekPosition {
            r#type: Some(SeekType::Oldest(Default::default())),
        }),
        ..Default::default()
    }
    .encode_to_vec();
    let e = gw
        .chaincode_events(SignedChaincodeEventsRequest {
            signature: me.sign(&request),
            request,
        })
        .await
        .expect_err("oldest is not a start for chaincode events");
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    net.stop().await;
}
