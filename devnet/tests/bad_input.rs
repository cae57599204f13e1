//! Bad input at a running devnet (issue #5, "Bad input"): what `network_behaviour.rs` leaves
//! out — proposals for an unknown channel or chaincode, tampered proposal, envelope and
//! endorsement signatures, malformed protobufs at the Endorser service, and messages over
//! Fabric's 100 MiB gRPC limit (unary calls and streams). Each must get the error Fabric's
//! peer, orderer or gateway gives; none may crash a service or leave anything in the ledger,
//! which still verifies and commits the next valid transaction.
//!
//! A plaintext devnet (Org1, Org2) with the `kv` contract on a real `sfcbc-ccaas` server,
//! reached over loopback sockets.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sfcbc_ccaas::package::{Package, PackageSpec, build};
use sfcbc_ccaas::{KvContract, ServerConfig};
use sfcbc_client::{Error as ClientError, Gateway};
use sfcbc_devnet::block::{block_hash, verify_block_hashes};
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use sfcbc_fabric::Signer;
use sfcbc_fabric::protos::common::{Block, Envelope, Payload};
use sfcbc_fabric::protos::gateway::gateway_client::GatewayClient;
use sfcbc_fabric::protos::gateway::{EvaluateRequest, PreparedTransaction};
use sfcbc_fabric::protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use sfcbc_fabric::protos::protos::deliver_client::DeliverClient;
use sfcbc_fabric::protos::protos::endorser_client::EndorserClient;
use sfcbc_fabric::protos::protos::{
    ChaincodeActionPayload, SignedProposal, Transaction as TransactionProto,
};
use tokio::sync::oneshot;
use tonic::Code;

const CHANNEL: &str = "badinput";
/// `TxValidationCode.ENDORSEMENT_POLICY_FAILURE`.
const ENDORSEMENT_POLICY_FAILURE: i32 = 10;

/// A KV chaincode server on loopback; stops when dropped.
struct CcServer {
    package: Package,
    _stop: oneshot::Sender<()>,
}

async fn kv_server() -> CcServer {
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.expect("bind");
    let package = build(&PackageSpec {
        label: "kv_1.0".into(),
        address: listener.local_addr().expect("address").to_string(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .expect("package");
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

/// Org1 and Org2, TLS off, `kv` endorsed by either org's peer.
async fn network(dir: &std::path::Path, cc: &CcServer) -> Network {
    let net = Network::start(
        NetworkConfig::new(dir)
            .with_orgs(&["Org1", "Org2"])
            .with_tls(false),
    )
    .await
    .expect("network");
    net.create_channel(CHANNEL, &["Org1", "Org2"])
        .await
        .expect("channel");
    let id = net.install_package(&cc.package.bytes).expect("install");
    net.commit_chaincode(
        CHANNEL,
        ChaincodeSpec::new("kv", &id).with_policy("OR('Org1MSP.peer','Org2MSP.peer')"),
    )
    .await
    .expect("commit kv");
    net.wait_for_height(CHANNEL, 1).await.expect("block 0");
    net
}

fn user(net: &Network, org: &str) -> Signer {
    net.peer(org)
        .expect("org")
        .org
        .user_signer("User1")
        .expect("User1")
}

async fn gateway(net: &Network, org: &str) -> Gateway {
    let signer = user(net, org);
    let addr = net.peer(org).expect("org").address.to_string();
    Gateway::connect(signer.identity().clone(), signer, &addr, None)
        .await
        .expect("connect")
}

/// The gRPC status of a failed client call.
fn grpc(e: &ClientError) -> (Code, String) {
    match e {
        ClientError::Gateway(g) => (g.code, g.message.clone()),
        other => panic!("expected a gateway error, got {other}"),
    }
}

/// The ledger of `org`'s peer: its chain verifies block by block (data hash, previous hash)
/// and by the store's own check; returns the height.
fn verify_ledger(net: &Network, org: &str) -> u64 {
    let ledger = &net
        .peer(org)
        .expect("org")
        .peer
        .channel(CHANNEL)
        .expect("joined")
        .ledger;
    let snap = ledger.snapshot().expect("snapshot");
    let height = snap.verify_chain().expect("the store's chain check");
    let mut previous: Option<[u8; 32]> = None;
    for n in 0..height {
        let bytes = snap
            .block_by_number(n)
            .expect("read block")
            .expect("block below the height");
        let block = Block::decode(bytes.as_slice()).expect("a stored block decodes");
        verify_block_hashes(&block, previous.as_ref().map(|p| &p[..]))
            .unwrap_or_else(|e| panic!("{org}: block {n}: {e}"));
        previous = Some(block_hash(&block));
    }
    height
}

fn state(net: &Network, org: &str, key: &str) -> Option<Vec<u8>> {
    net.peer(org)
        .expect("org")
        .peer
        .channel(CHANNEL)
        .expect("joined")
        .ledger
        .snapshot()
        .expect("snapshot")
        .state("kv", key)
        .expect("read state")
        .map(|v| v.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_channel_and_chaincode_get_fabrics_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let gw = gateway(&net, "Org1").await;

    // Fabric's gateway finds no endorsers for them: FAILED_PRECONDITION, naming both.
    for (channel, chaincode) in [("nosuchchannel", "kv"), (CHANNEL, "nosuchcc")] {
        let contract = gw.network(channel).contract(chaincode);
        let e = contract
            .evaluate_transaction("get", &["a"])
            .await
            .expect_err("evaluate");
        assert_eq!(
            grpc(&e),
            (
                Code::FailedPrecondition,
                format!(
                    "no peers available to evaluate chaincode {chaincode} in channel {channel}"
                )
            ),
            "{e}"
        );
        let e = contract
            .submit_transaction("put", &["a", "1"])
            .await
            .expect_err("submit");
        let (code, message) = grpc(&e);
        assert_eq!(code, Code::FailedPrecondition, "{e}");
        assert!(
            message.contains(channel) || message.contains(chaincode),
            "the error says what was not found: {message}"
        );
    }
    // Endorsing orgs that do not exist on the channel: UNAVAILABLE, as Fabric says it.
    let e = gw
        .network(CHANNEL)
        .contract("kv")
        .new_proposal("put")
        .args(&["a", "1"])
        .endorsing_organizations(&["Org9MSP"])
        .build()
        .expect("proposal")
        .endorse()
        .await
        .expect_err("no such org");
    assert_eq!(
        grpc(&e),
        (
            Code::Unavailable,
            "failed to find any endorsing peers for org(s): [Org9MSP]".to_owned()
        )
    );

    // Nothing reached the ledger; it still takes a valid transaction.
    assert_eq!(verify_ledger(&net, "Org1"), 1);
    let contract = gw.network(CHANNEL).contract("kv");
    contract
        .submit_transaction("put", &["a", "1"])
        .await
        .expect("a valid transaction still commits");
    assert_eq!(verify_ledger(&net, "Org1"), 2);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_signatures_are_refused_and_never_reach_the_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let gw = gateway(&net, "Org1").await;
    let me = user(&net, "Org1");
    let contract = gw.network(CHANNEL).contract("kv");

    // A proposal whose signature does not match: the endorser's checks refuse it before
    // any chaincode runs ("access denied", FAILED_PRECONDITION: no use retrying elsewhere),
    // the endorser named in the details.
    let proposal = contract
        .new_proposal("put")
        .args(&["p", "1"])
        .build()
        .expect("proposal");
    let mut bad = me.sign(proposal.message());
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    for evaluate in [true, false] {
        let mut p = gw
            .new_signed_proposal(&proposal.bytes(), bad.clone())
            .expect("re-signed proposal");
        let e = if evaluate {
            p.evaluate().await.expect_err("evaluate")
        } else {
            p.endorse().await.map(|_| ()).expect_err("endorse")
        };
        let ClientError::Gateway(g) = &e else {
            panic!("expected a gateway error, got {e}");
        };
        // As Fabric's gateway: evaluate passes the endorser's refusal on, endorse reports
        // that no endorsement could be collected.
        let want = if evaluate {
            Code::FailedPrecondition
        } else {
            Code::Aborted
        };
        assert_eq!(g.code, want, "{e}");
        assert_eq!(g.details.len(), 1, "{e}");
        assert!(g.details[0].message.contains("access denied"), "{e}");
        assert_eq!(g.details[0].msp_id, "Org1MSP", "{e}");
    }

    // An envelope whose signature does not match: the orderer's SigFilter refuses it.
    let tx = contract
        .new_proposal("put")
        .args(&["e", "1"])
        .build()
        .expect("proposal")
        .endorse()
        .await
        .expect("endorsed");
    let mut bad = me.sign(tx.message());
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let e = gw
        .new_signed_transaction(&tx.bytes(), bad)
        .expect("re-signed transaction")
        .submit()
        .await
        .map(|_| ())
        .expect_err("forged envelope");
    let (code, message) = grpc(&e);
    assert_eq!(code, Code::Aborted, "{e}");
    assert!(message.contains("status=FORBIDDEN"), "{message}");

    // A validly signed envelope carrying a forged endorsement: ordered, then invalidated
    // at validation (ENDORSEMENT_POLICY_FAILURE); its write never reaches the state.
    let tx = contract
        .new_proposal("put")
        .args(&["forged", "1"])
        .build()
        .expect("proposal")
        .endorse()
        .await
        .expect("endorsed");
    let forged = forge_endorsement(&tx.bytes());
    let mut commit = gw
        .new_transaction(&forged)
        .expect("forged transaction")
        .submit()
        .await
        .expect("the orderer takes a well-signed envelope");
    let status = commit.status().await.expect("commit status");
    assert_eq!(
        status.code,
        ENDORSEMENT_POLICY_FAILURE,
        "{}",
        status.code_name()
    );
    for org in ["Org1", "Org2"] {
        net.wait_for_height(CHANNEL, status.block_number + 1)
            .await
            .expect("committed");
        assert_eq!(
            state(&net, org, "forged"),
            None,
            "{org} applied a forged write"
        );
        assert_eq!(state(&net, org, "p"), None);
        assert_eq!(state(&net, org, "e"), None);
    }

    // The ledger is whole and takes the next valid transaction.
    contract
        .submit_transaction("put", &["ok", "1"])
        .await
        .expect("a valid transaction still commits");
    for org in ["Org1", "Org2"] {
        net.wait_for_height(CHANNEL, status.block_number + 2)
            .await
            .expect("committed");
        assert_eq!(verify_ledger(&net, org), status.block_number + 2);
        assert_eq!(state(&net, org, "ok"), Some(b"1".to_vec()));
    }
    net.stop().await;
}

/// The prepared transaction `bytes` with the first endorsement's signature flipped; the
/// envelope is left unsigned for the client to sign as usual.
fn forge_endorsement(bytes: &[u8]) -> Vec<u8> {
    let mut prepared = PreparedTransaction::decode(bytes).expect("PreparedTransaction");
    let envelope = prepared.envelope.as_mut().expect("envelope");
    let mut payload = Payload::decode(envelope.payload.as_slice()).expect("Payload");
    let mut tx = TransactionProto::decode(payload.data.as_slice()).expect("Transaction");
    let action = tx.actions.first_mut().expect("one action");
    let mut cap = ChaincodeActionPayload::decode(action.payload.as_slice()).expect("CAP");
    let endorsement = cap
        .action
        .as_mut()
        .and_then(|a| a.endorsements.first_mut())
        .expect("an endorsement");
    let last = endorsement.signature.len() - 1;
    endorsement.signature[last] ^= 0x01;
    action.payload = cap.encode_to_vec();
    payload.data = tx.encode_to_vec();
    *envelope = Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    };
    prepared.encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_messages_leave_the_peer_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cc = kv_server().await;
    let net = network(dir.path(), &cc).await;
    let addr = format!("http://{}", net.peer("Org1").expect("org").address);
    let channel = tonic::transport::Endpoint::from_shared(addr)
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");

    // Fabric's endorser answers a proposal it cannot unpack with a status-500 response (the
    // call itself succeeds) or an error; either way the service lives on.
    let mut endorser = EndorserClient::new(channel.clone());
    for garbage in [
        vec![],
        vec![0xff; 16],
        vec![0x0a, 0x7f, 0x01],             // a length running past the end
        b"\x12\x03abc\x12\x03abc".to_vec(), // a header that is no Header
    ] {
        let outcome = endorser
            .process_proposal(SignedProposal {
                proposal_bytes: garbage.clone(),
                signature: vec![1, 2, 3],
            })
            .await;
        match outcome {
            Ok(r) => {
                let r = r.into_inner();
                let status = r.response.map(|r| r.status).unwrap_or_default();
                assert_eq!(status, 500, "{garbage:?}");
                assert!(r.endorsement.is_none(), "no endorsement for {garbage:?}");
            }
            Err(e) => assert_ne!(e.code(), Code::Unavailable, "{garbage:?}: {e}"),
        }
    }

    // Over 100 MiB (Fabric's peer.maxRecvMsgSize): RESOURCE_EXHAUSTED, not a dropped
    // connection, and the next call on the same connection works.
    let mut gw = GatewayClient::new(channel.clone()).max_encoding_message_size(usize::MAX);
    let huge = EvaluateRequest {
        transaction_id: "x".repeat(100 * 1024 * 1024 + 1),
        ..Default::default()
    };
    let e = gw.evaluate(huge).await.expect_err("oversized");
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::ResourceExhausted,
            "grpc: received message larger than max (104857606 vs. 104857600)"
        ),
        "{e}"
    );
    drop(gw);

    // The same over the streams (the orderer's Broadcast, the peer's Deliver): the call
    // ends with that status, as Fabric's handlers return the receive error.
    let huge = || Envelope {
        payload: vec![0; 100 * 1024 * 1024 + 1],
        signature: Vec::new(),
    };
    let orderer =
        tonic::transport::Endpoint::from_shared(format!("http://{}", net.orderer_address()))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to the orderer");
    let mut acks = AtomicBroadcastClient::new(orderer)
        .max_encoding_message_size(usize::MAX)
        .broadcast(tokio_stream::iter([huge()]))
        .await
        .expect("broadcast stream")
        .into_inner();
    let e = acks.message().await.expect_err("oversized envelope");
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::ResourceExhausted,
            "grpc: received message larger than max (104857606 vs. 104857600)"
        ),
        "{e}"
    );
    let mut blocks = DeliverClient::new(channel.clone())
        .max_encoding_message_size(usize::MAX)
        .deliver(tokio_stream::iter([huge()]))
        .await
        .expect("deliver stream")
        .into_inner();
    let e = blocks.message().await.expect_err("oversized seek");
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");

    let client = gateway(&net, "Org1").await;
    let contract = client.network(CHANNEL).contract("kv");
    contract
        .submit_transaction("put", &["after", "1"])
        .await
        .expect("the peer still endorses and commits");
    assert_eq!(
        contract
            .evaluate_transaction("get", &["after"])
            .await
            .expect("evaluate"),
        b"1"
    );
    assert_eq!(verify_ledger(&net, "Org1"), 2);
    net.stop().await;
}

#[tokio::test]
async fn a_base_port_too_high_for_every_node_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NetworkConfig::new(dir.path()).with_tls(false);
    // The orderer and five peers need 65533..=65538.
    config.base_port = Some(65533);
    let Err(e) = Network::start(config).await else {
        panic!("a network on ports past 65535 started");
    };
    assert!(e.to_string().contains("65533..=65538"), "{e}");
}
