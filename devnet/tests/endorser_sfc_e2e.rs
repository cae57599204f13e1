//! End to end with the real SFC contract: a `sfcbc-ccaas` server on loopback that every
//! peer dials itself; proposals endorsed by the peers' endorsers (simulating through the
//! chaincode shim protocol), transactions assembled and signed by their clients with
//! `sfcbc_fabric::tx`, ordered by the devnet orderer (signed blocks), then validated and
//! committed by each org's peer. State, private data (only on the SP's peer), events and the
//! hash chain are checked on every ledger.

mod validator_support;

use std::sync::Arc;
use std::time::Duration;

use sfcbc_ccaas::{ServerConfig, SfcContract};
use sfcbc_devnet::block::{block_hash, verify_block_signature};
use sfcbc_devnet::chaincode::{ChaincodeConfig, ChaincodeHandle, ChaincodeTarget};
use sfcbc_devnet::crypto::{KeyAlgorithm, OrgSpec, generate};
use sfcbc_devnet::ledger::composite_key;
use sfcbc_devnet::orderer::{AllowAll, BatchSize, BlockArchive, Orderer, OrdererConfig, Registrar};
use sfcbc_devnet::validator::{ChaincodeDefinition, EndorsementPolicy};
use sfcbc_fabric::protos::common::Block;
use sfcbc_fabric::protos::protos::{ProposalResponse, TxValidationCode as C};
use sfcbc_fabric::tx::create_signed_transaction;
use tokio::sync::oneshot;
use validator_support::{CHANNEL, Net};

const SFC: &str = "sfc";
const PACKAGE_ID: &str =
    "sfcbc_1.0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const CHAIN: &str = r#"{"id":"chain1","hops":[
  {"psiid":"Org1:NameWriter:1","spMsp":"Org1MSP","address":"127.0.0.1:5001","validation":"address"},
  {"psiid":"Org2:NameWriter:1","spMsp":"Org2MSP","address":"127.0.0.1:5002","validation":"hash"}]}"#;

#[tokio::test]
async fn sfc_contract_endorse_order_validate_commit() {
    // The chaincode server.
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut config = ServerConfig::new(PACKAGE_ID);
    config.shutdown_grace = Duration::from_millis(200);
    tokio::spawn(sfcbc_ccaas::serve(
        listener,
        config,
        Arc::new(SfcContract::default()),
        async move {
            let _ = stopped.await;
        },
    ));

    // Three peer orgs; the SFC chaincode with "any one peer org" (DESIGN §1's default).
    let net = Net::named(&["Org1", "Org2", "Tenant1"]);
    net.define_with(ChaincodeDefinition::new(SFC, "1.0").with_policy(
        EndorsementPolicy::parse("OR('Org1MSP.peer', 'Org2MSP.peer', 'Tenant1MSP.peer')").unwrap(),
    ));
    for p in &net.peers {
        let target = ChaincodeTarget::from_connection_json(
            format!(r#"{{"address":"{addr}","dial_timeout":"5s","tls_required":false}}"#)
                .as_bytes(),
        )
        .unwrap();
        let handle = ChaincodeHandle::connect(target, PACKAGE_ID, ChaincodeConfig::default())
            .await
            .unwrap();
        p.runtimes.insert(SFC, Arc::new(handle));
    }

    // The orderer, starting from the peers' block 0, signing with the orderer org's identity.
    let orderer_org = generate(
        &net.dir.path().join("organizations"),
        &OrgSpec::orderer_org(),
        KeyAlgorithm::EcdsaP256,
    )
    .unwrap();
    let orderer_signer = orderer_org.node_signer("orderer").unwrap();
    let archive = BlockArchive::in_memory();
    let genesis_bytes = net.peers[0]
        .ledger
        .snapshot()
        .unwrap()
        .block_by_number(0)
        .unwrap()
        .unwrap();
    let genesis = <Block as prost::Message>::decode(genesis_bytes.as_slice()).unwrap();
    let mut genesis = genesis;
    sfcbc_devnet::block::genesis_metadata(&mut genesis);
    archive.append(genesis).unwrap();
    let registrar = Registrar::new(Arc::new(AllowAll));
    let handle = registrar
        .add(
            Orderer::start(
                OrdererConfig {
                    channel: CHANNEL.into(),
                    batch_size: BatchSize {
                        max_message_count: 10,
                        ..BatchSize::default()
                    },
                    batch_timeout: Duration::from_millis(30),
                    queue_capacity: 64,
                },
                Arc::new(orderer_signer.clone()),
                archive,
            )
            .unwrap(),
        )
        .unwrap();
    let mut blocks = handle.subscribe(1);

    // Endorse on the chosen orgs, assemble, sign, broadcast; then commit blocks on every
    // peer until the tx is in; returns its validation code.
    let tenant = net.org(2).user.clone();
    let submit = async |creator: &sfcbc_fabric::signer::Signer,
                        args: &[&str],
                        transient: &[(&str, &[u8])],
                        by: &[usize],
                        blocks: &mut sfcbc_devnet::orderer::Subscription|
           -> (C, Option<sfcbc_fabric::protos::protos::ChaincodeEvent>) {
        let sp = net.proposal_for(SFC, creator, args, transient);
        let outcomes = net.endorse(&sp, by).await;
        net.disseminate(&outcomes);
        let tx_id = outcomes[0].tx_id.clone();
        let responses: Vec<ProposalResponse> =
            outcomes.iter().map(|o| o.response.clone()).collect();
        let env = create_signed_transaction(&sp, &responses, creator).unwrap();
        registrar.broadcast(env).await.unwrap();
        loop {
            let block = tokio::time::timeout(Duration::from_secs(10), blocks.next())
                .await
                .expect("a block")
                .unwrap()
                .unwrap();
            // The orderer signed it.
            let key = orderer_signer.identity().public_key().unwrap();
            let me = orderer_signer.serialize();
            verify_block_signature(&block, |creator, msg, sig| {
                creator == me.as_slice() && key.verify(msg, sig).is_ok()
            })
            .unwrap();
            let mut found = None;
            for p in &net.peers {
                let c = p.committer.commit((*block).clone()).unwrap();
                assert_eq!(c.hash, block_hash(&block));
                if let Some(t) = c.validation.txs.iter().find(|t| t.tx_id == tx_id) {
                    found = Some((t.code, t.event.clone()));
                }
            }
            if let Some(f) = found {
                return f;
            }
        }
    };

    // CreateChain by the tenant, endorsed by the tenant's peer.
    let (code, event) = submit(&tenant, &["CreateChain", CHAIN], &[], &[2], &mut blocks).await;
    assert_eq!(code, C::Valid);
    assert_eq!(event.unwrap().event_name, "ChainCreated");
    let chain_key = composite_key("chain", &["chain1"]);
    for p in &net.peers {
        let v = p
            .ledger
            .snapshot()
            .unwrap()
            .state(SFC, &chain_key)
            .unwrap()
            .unwrap();
        let chain: serde_json::Value = serde_json::from_slice(&v.value).unwrap();
        assert_eq!(chain["owner"]["msp"], "Tenant1MSP");
    }

    // ShareAuth to Org2's implicit collection, endorsed by Org2 only (DESIGN §4).
    let secret = b"correct horse".as_slice();
    let transient: &[(&str, &[u8])] = &[
        ("account", b"alice"),
        ("secret", secret),
        ("salt", b"0123456789abcdef0123456789abcdef"),
    ];
    let (code, _) = submit(
        &tenant,
        &["ShareAuth", "chain1", "Org2:NameWriter:1"],
        transient,
        &[1],
        &mut blocks,
    )
    .await;
    assert_eq!(code, C::Valid);
    let coll = "_implicit_org_Org2MSP";
    let count_private = |peer: usize| {
        net.peers[peer]
            .ledger
            .snapshot()
            .unwrap()
            .private_data_range(SFC, coll, "", "", 0)
            .unwrap()
            .results
            .len()
    };
    assert!(count_private(1) > 0, "Org2's peer holds the secret");
    assert_eq!(count_private(0), 0, "Org1's peer does not");
    assert_eq!(count_private(2), 0, "the tenant's peer does not");
    // ... and the same write endorsed by Org1's peer instead fails Org2's Endorsement policy.
    let (code, _) = submit(
        &tenant,
        &["ShareAuth", "chain1", "Org2:NameWriter:1"],
        transient,
        &[0],
        &mut blocks,
    )
    .await;
    assert_eq!(code, C::EndorsementPolicyFailure);

    // A chaincode error is not endorsed: the SP of another chain's hop is refused.
    let sp = net.proposal_for(SFC, &net.org(0).user, &["GetChain", "nochain"], &[]);
    let o = net.peers[0].endorser.process_proposal(&sp).await;
    assert!(
        o.status() >= 400 && !o.endorsed(),
        "{:?}",
        o.response.response
    );

    // Every peer has the same chain as the orderer.
    registrar.shutdown().await.unwrap();
    let last = handle.archive().last().unwrap().unwrap();
    for p in &net.peers {
        let s = p.ledger.snapshot().unwrap();
        assert_eq!(s.verify_chain().unwrap(), s.height().unwrap());
        assert_eq!(
            s.chain_info().unwrap().current_block_hash,
            block_hash(&last)
        );
    }
    let _ = stop.send(());
}
