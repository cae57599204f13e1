//! A whole devnet over real loopback sockets: an orderer and three peers (Org1, Org2,
//! Tenant1) with TLS, the SFC contract served by a real `sfcbc-ccaas` server that each peer
//! dials itself (installed from the package `sfcbc-ccaas package` builds), driven through
//! the gateway by `sfcbc-client` exactly as against real Fabric: evaluate, submit and commit
//! status, private data endorsed by one org, chaincode events, Deliver of blocks, a
//! chaincode error's ErrorDetail, an MVCC conflict, qscc.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sfcbc_ccaas::package::{PackageSpec, build};
use sfcbc_ccaas::{ServerConfig, SfcContract as SfcChaincode};
use sfcbc_chaincode::types::{ChainSpec, ChainState, Hop, Validation};
use sfcbc_client::{EventsOptions, Gateway, InMemoryCheckpointer, SfcContract, TlsOptions};
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use sfcbc_fabric::protos::common::{Block, BlockchainInfo};
use sfcbc_fabric::protos::protos::ProcessedTransaction;
use tokio::sync::oneshot;

const CHANNEL: &str = "sfc";
const CC: &str = "sfc";
const H1: &str = "Org1:NameWriter:1";
const H2: &str = "Org2:NameWriter:1";

struct Fixture {
    net: Network,
    _dir: tempfile::TempDir,
    _chaincode_stop: oneshot::Sender<()>,
}

/// Starts the chaincode server, the network, the channel, and commits the SFC chaincode
/// (any one peer org may endorse).
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let package = build(&PackageSpec {
        label: "sfcbc_1.0".into(),
        address: addr.to_string(),
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
        Arc::new(SfcChaincode::default()),
        async move {
            let _ = stopped.await;
        },
    ));

    let net =
        Network::start(NetworkConfig::new(dir.path()).with_orgs(&["Org1", "Org2", "Tenant1"]))
            .await
            .expect("network starts");
    net.create_channel(CHANNEL, &[] as &[&str])
        .await
        .expect("channel");
    let package_id = net.install_package(&package.bytes).expect("install");
    assert_eq!(package_id, package.package_id);
    net.commit_chaincode(
        CHANNEL,
        ChaincodeSpec::new(CC, &package_id)
            .with_policy("OR('Org1MSP.peer','Org2MSP.peer','Tenant1MSP.peer')"),
    )
    .await
    .expect("commit chaincode");
    // Block 0 (the config block) committed on every peer.
    net.wait_for_height(CHANNEL, 1).await.unwrap();
    Fixture {
        net,
        _dir: dir,
        _chaincode_stop: stop,
    }
}

/// User1 of `org` connected to its own org's gateway peer over TLS.
async fn gateway(net: &Network, org: &str) -> Gateway {
    let p = net.peer(org).expect("org");
    let signer = p.org.user_signer("User1").unwrap();
    let tls = TlsOptions::with_ca_pem(p.org.tls_ca_pem().unwrap()).server_name(p.server_name());
    Gateway::connect(
        signer.identity().clone(),
        signer,
        &p.address.to_string(),
        Some(tls),
    )
    .await
    .expect("gateway connects")
}

/// Waits until every peer has the blocks the owner's (Tenant1's) peer has.
async fn settle(net: &Network) {
    let at = net.peer("Tenant1").unwrap().peer.channel(CHANNEL).unwrap();
    let height = at.ledger.height().unwrap();
    net.wait_for_height(CHANNEL, height).await.unwrap();
}

fn chain_spec(id: &str) -> ChainSpec {
    ChainSpec {
        id: id.into(),
        hops: vec![
            Hop {
                psiid: H1.into(),
                sp_msp: "Org1MSP".into(),
                address: "127.0.0.2:9001".into(),
                validation: Validation::Address,
                collection: None,
            },
            Hop {
                psiid: H2.into(),
                sp_msp: "Org2MSP".into(),
                address: "127.0.0.3:9002".into(),
                validation: Validation::Hash,
                collection: None,
            },
        ],
        classifier: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sfc_over_a_devnet() {
    let f = fixture().await;
    let tenant_gw = gateway(&f.net, "Tenant1").await;
    let owner = SfcContract::new(tenant_gw.network(CHANNEL).contract(CC));
    let sp1_gw = gateway(&f.net, "Org1").await;
    let sp1 = SfcContract::new(sp1_gw.network(CHANNEL).contract(CC));

    // submit + commit status VALID; evaluate from another org's gateway
    let chain = owner
        .create_chain(&chain_spec("chain1"))
        .await
        .expect("CreateChain commits");
    assert_eq!((chain.version, chain.state), (1, ChainState::Active));
    assert_eq!(chain.owner.msp, "Tenant1MSP");
    // CommitStatus answered for the owner's peer; Org1's may be a moment behind, as on Fabric.
    settle(&f.net).await;
    assert_eq!(sp1.get_chain("chain1").await.expect("GetChain"), chain);

    // a chaincode error: UNKNOWN with "chaincode response 404, ..." and the peer's ErrorDetail
    let e = sp1.get_chain("no-such-chain").await.expect_err("missing");
    let g = e.gateway().expect("a gateway error");
    assert_eq!(g.code, tonic::Code::Unknown, "{e}");
    assert_eq!(e.chaincode_response().map(|r| r.0), Some(404), "{e}");
    assert_eq!(g.details.len(), 1, "{g:?}");
    let org1 = f.net.peer("Org1").unwrap();
    assert_eq!(g.details[0].msp_id, "Org1MSP");
    assert_eq!(g.details[0].address, org1.address.to_string());
    assert!(
        g.details[0].message.starts_with("chaincode response 404, "),
        "{g:?}"
    );
    // ... and on Endorse: ABORTED, the chaincode's status in the details
    let e = owner
        .create_chain(&chain_spec("chain1"))
        .await
        .expect_err("exists");
    assert_eq!(
        e.gateway().map(|g| g.code),
        Some(tonic::Code::Aborted),
        "{e}"
    );
    assert_eq!(e.chaincode_response().map(|r| r.0), Some(409), "{e}");

    // private data endorsed by the hop's SP only, kept only by its peer
    let secret = b"alice's secret".to_vec();
    let w = owner
        .share_auth(&chain, H1, "alice", &secret)
        .await
        .expect("ShareAuth");
    assert_eq!(w.collection, "_implicit_org_Org1MSP");
    // CommitStatus answered for the owner's peer; the others may be a moment behind.
    let at = f
        .net
        .peer("Tenant1")
        .unwrap()
        .peer
        .channel(CHANNEL)
        .unwrap();
    let block = at
        .ledger
        .snapshot()
        .unwrap()
        .tx_location(&w.tx_id)
        .unwrap()
        .unwrap()
        .block_num;
    f.net.wait_for_height(CHANNEL, block + 1).await.unwrap();
    for p in f.net.peers() {
        let ch = p.peer.channel(CHANNEL).unwrap();
        let snap = ch.ledger.snapshot().unwrap();
        let loc = snap.tx_location(&w.tx_id).unwrap().expect("committed");
        assert_eq!(loc.validation_code, 0, "VALID on {}", p.msp_id());
        let private = snap.private_rwset(loc.block_num, loc.tx_num).unwrap();
        assert_eq!(
            private.is_some(),
            p.msp_id() == "Org1MSP",
            "private data on {}",
            p.msp_id()
        );
        // Purged right after the ledger commit (which is what wait_for_height sees).
        for _ in 0..100 {
            if ch.transient().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(ch.transient().is_empty(), "transient store purged");
    }
    // DeliverWithPrivateData: the SP's user on the SP's peer gets the private rwset, the
    // owner on its own peer (not a member) gets the block without it
    let share_tx = w.tx_id.clone();
    let share_block = at
        .ledger
        .snapshot()
        .unwrap()
        .tx_location(&share_tx)
        .unwrap()
        .unwrap();
    for (gw, expect_private) in [(sp1_gw.clone(), true), (tenant_gw.clone(), false)] {
        let mut pvt = gw
            .network(CHANNEL)
            .block_and_private_data_events(EventsOptions::start_block(share_block.block_num))
            .await
            .expect("deliver with private data");
        let b = tokio::time::timeout(Duration::from_secs(10), pvt.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            b.block.unwrap().header.unwrap().number,
            share_block.block_num
        );
        assert_eq!(
            b.private_data_map.contains_key(&share_block.tx_num),
            expect_private
        );
    }
    let w = sp1
        .register_account("alice", &secret)
        .await
        .expect("RegisterAccount through the SP's own gateway");
    assert_eq!(w.collection, "_implicit_org_Org1MSP");
    let verdict = sp1
        .check_in("chain1", H1, &"ab".repeat(32), "127.0.0.9:5000")
        .await
        .expect("CheckIn");
    eprintln!("CheckIn: {verdict:?}");

    // chaincode events of VALID txs, replayed from block 0
    let mut events = owner
        .events(EventsOptions::start_block(0))
        .await
        .expect("events");
    let first = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event")
        .expect("stream open")
        .expect("event");
    assert_eq!(first.event_name, "ChainCreated");
    assert_eq!(first.tx_id, chain.created_tx);
    drop(events);
    // resuming after a checkpointed event skips it, and later events arrive live
    let mut checkpoint = InMemoryCheckpointer::new();
    checkpoint.checkpoint_chaincode_event(&first);
    let mut events = owner
        .events(EventsOptions::new().checkpoint(&checkpoint))
        .await
        .expect("events after the checkpoint");
    let chain2 = owner
        .create_chain(&chain_spec("chain2"))
        .await
        .expect("second chain");
    let next = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event")
        .expect("stream open")
        .expect("event");
    assert_eq!(
        (next.event_name.as_str(), next.tx_id.as_str()),
        ("ChainCreated", chain2.created_tx.as_str())
    );
    drop(events);

    // blocks through Deliver: config block 0, then the transactions
    let network = tenant_gw.network(CHANNEL);
    let mut blocks = network
        .block_events(EventsOptions::start_block(0))
        .await
        .expect("deliver");
    for want in 0..4u64 {
        let b: Block = tokio::time::timeout(Duration::from_secs(10), blocks.next())
            .await
            .expect("a block")
            .expect("stream open")
            .expect("block");
        assert_eq!(b.header.unwrap().number, want);
    }
    drop(blocks);
    let mut filtered = network
        .filtered_block_events(EventsOptions::start_block(1))
        .await
        .expect("deliver filtered");
    let fb = tokio::time::timeout(Duration::from_secs(10), filtered.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(fb.number, 1);
    assert_eq!(fb.filtered_transactions[0].tx_validation_code, 0);
    drop(filtered);

    // an MVCC conflict: two UpdateChain endorsed against the same version
    let contract = tenant_gw.network(CHANNEL).contract(CC);
    let mut spec = chain_spec("chain1");
    spec.hops[0].address = "127.0.0.4:9001".into();
    let json = serde_json::to_string(&spec).unwrap();
    let mut t1 = contract
        .new_proposal("UpdateChain")
        .arg(&json)
        .build()
        .unwrap()
        .endorse()
        .await
        .expect("endorse 1");
    let mut t2 = contract
        .new_proposal("UpdateChain")
        .arg(&json)
        .build()
        .unwrap()
        .endorse()
        .await
        .expect("endorse 2");
    let mut c1 = t1.submit().await.expect("submit 1");
    let mut c2 = t2.submit().await.expect("submit 2");
    let s1 = c1.status().await.expect("status 1");
    let s2 = c2.status().await.expect("status 2");
    let mut names = [s1.code_name(), s2.code_name()];
    names.sort();
    assert_eq!(names, ["MVCC_READ_CONFLICT", "VALID"], "{s1:?} {s2:?}");

    // qscc through Evaluate
    let qscc = tenant_gw.network(CHANNEL).contract("qscc");
    let info = BlockchainInfo::decode(
        qscc.evaluate_transaction("GetChainInfo", &[CHANNEL])
            .await
            .expect("GetChainInfo")
            .as_slice(),
    )
    .unwrap();
    assert!(info.height > s1.block_number.max(s2.block_number));
    let b0 = Block::decode(
        qscc.evaluate_transaction("GetBlockByNumber", &[CHANNEL, "0"])
            .await
            .expect("GetBlockByNumber")
            .as_slice(),
    )
    .unwrap();
    assert_eq!(b0.header.unwrap().number, 0);
    let ptx = ProcessedTransaction::decode(
        qscc.evaluate_transaction("GetTransactionByID", &[CHANNEL, s1.tx_id.as_str()])
            .await
            .expect("GetTransactionByID")
            .as_slice(),
    )
    .unwrap();
    assert_eq!(ptx.validation_code, s1.code);
    let e = qscc
        .evaluate_transaction("GetBlockByNumber", &[CHANNEL, "999"])
        .await
        .expect_err("no block 999");
    assert!(
        e.to_string().contains("Failed to get block number 999"),
        "{e}"
    );

    // every peer holds the same chain
    let height = info.height;
    f.net.wait_for_height(CHANNEL, height).await.unwrap();
    for p in f.net.peers() {
        let snap = p.peer.channel(CHANNEL).unwrap().ledger.snapshot().unwrap();
        assert_eq!(snap.verify_chain().unwrap(), snap.height().unwrap());
    }
    f.net.stop().await;
}
