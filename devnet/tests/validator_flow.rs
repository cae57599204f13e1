//! Block validation and commit with real identities and signatures: transactions endorsed
//! by the peers' endorsers (each org's peer signs), assembled and signed by their creators,
//! cut into blocks, validated and committed by every org's peer. Each test checks the
//! `TxValidationCode`s Fabric would record and what the ledger then holds.

mod validator_support;

use prost::Message as _;
use sfcbc_devnet::validator::{ChaincodeDefinition, EndorsementPolicy, parse_collections_config};
use sfcbc_fabric::protos::common::Envelope;
use sfcbc_fabric::protos::protos::{ChaincodeActionPayload, Transaction, TxValidationCode as C};
use sfcbc_fabric::tx::{create_signed_transaction, sign_envelope};
use validator_support::{CC, Net};

fn codes(v: &[i32]) -> Vec<C> {
    v.iter().map(|c| C::try_from(*c).unwrap()).collect()
}

#[tokio::test]
async fn valid_transaction_commits_on_every_peer() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer')");
    let tx = net.tx(&net.org(0).user, &["put", "k1", "v1"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![tx])), [C::Valid]);
    assert_eq!(net.state(0, "k1").as_deref(), Some(&b"v1"[..]));
    assert_eq!(net.state(1, "k1").as_deref(), Some(&b"v1"[..]));
    let snap = net.peers[1].ledger.snapshot().unwrap();
    assert_eq!(snap.height().unwrap(), 2);
    assert_eq!(snap.verify_chain().unwrap(), 2);
}

#[tokio::test]
async fn ed25519_identities_as_fabric_3() {
    let net = Net::with_keys(
        &["Org1", "Org2"],
        sfcbc_devnet::crypto::KeyAlgorithm::Ed25519,
    );
    net.define("OR('Org1MSP.peer')");
    let ok = net.tx(&net.org(0).user, &["put", "k", "v"], &[0]).await;
    let wrong_org = net.tx(&net.org(0).user, &["put", "k2", "v"], &[1]).await;
    let mut bad = net.tx(&net.org(0).user, &["put", "k3", "v"], &[0]).await;
    bad.signature[0] ^= 1;
    assert_eq!(
        codes(&net.commit_all(vec![ok, wrong_org, bad])),
        [
            C::Valid,
            C::EndorsementPolicyFailure,
            C::BadCreatorSignature
        ]
    );
}

#[tokio::test]
async fn bad_creator_signature() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer')");
    let tx = net.tx(&net.org(0).user, &["put", "k", "v"], &[0]).await;
    // Signed by another identity's key.
    let forged = sign_envelope(
        Envelope {
            payload: tx.payload.clone(),
            signature: Vec::new(),
        },
        &net.org(1).user,
    );
    // A flipped byte in a good signature.
    let mut flipped = tx.clone();
    let last = flipped.signature.len() - 1;
    flipped.signature[last] ^= 1;
    // No signature at all.
    let unsigned = Envelope {
        payload: tx.payload.clone(),
        signature: Vec::new(),
    };
    assert_eq!(
        codes(&net.commit_all(vec![forged, flipped, unsigned])),
        [C::BadCreatorSignature; 3]
    );
    assert_eq!(net.state(0, "k"), None);
}

#[tokio::test]
async fn malformed_entries_get_their_codes() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let tx = net.tx(&net.org(0).user, &["put", "k", "v"], &[0]).await;
    let garbage = Envelope {
        payload: vec![0xff, 0xff, 0xff],
        signature: vec![1],
    };
    let empty = Envelope::default();
    // Proposal hash broken: the payload's proposal part changed after endorsement.
    let mut payload = sfcbc_fabric::protos::common::Payload::decode(tx.payload.as_slice()).unwrap();
    let mut t = Transaction::decode(payload.data.as_slice()).unwrap();
    let mut cap = ChaincodeActionPayload::decode(t.actions[0].payload.as_slice()).unwrap();
    cap.chaincode_proposal_payload.push(0);
    t.actions[0].payload = cap.encode_to_vec();
    payload.data = t.encode_to_vec();
    let rehashed = sign_envelope(
        Envelope {
            payload: payload.encode_to_vec(),
            signature: Vec::new(),
        },
        &net.org(0).user,
    );
    let block = net.block(&[garbage.clone(), empty, rehashed]);
    let mut block = block;
    block.data.as_mut().unwrap().data.push(vec![0xff; 5]); // not an Envelope
    // Recompute the data hash after editing the data.
    let block = sfcbc_devnet::block::new_block(
        block.header.as_ref().unwrap().number,
        block.header.as_ref().unwrap().previous_hash.clone(),
        block.data.unwrap().data,
    );
    let c = net.peers[0].committer.commit(block).unwrap();
    assert_eq!(
        c.validation.codes(),
        [
            C::BadPayload,
            C::BadCommonHeader,
            C::InvalidEndorserTransaction,
            C::InvalidOtherReason
        ]
    );
}

#[tokio::test]
async fn endorsement_by_the_wrong_org_fails_the_policy() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer')");
    let tx = net.tx(&net.org(0).user, &["put", "k", "v"], &[1]).await;
    // A client's signature is not a peer's either.
    assert_eq!(
        codes(&net.commit_all(vec![tx])),
        [C::EndorsementPolicyFailure]
    );
    assert_eq!(net.state(0, "k"), None);
}

#[tokio::test]
async fn two_of_three() {
    let net = Net::new(3);
    net.define("OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')");
    let u = &net.org(0).user;
    let ok13 = net.tx(u, &["put", "a", "1"], &[0, 2]).await;
    let ok123 = net.tx(u, &["put", "b", "1"], &[0, 1, 2]).await;
    let only2 = net.tx(u, &["put", "c", "1"], &[1]).await;
    // The same endorsement twice counts once.
    let sp = net.proposal(u, &["put", "d", "1"]);
    let o = net.endorse(&sp, &[1]).await;
    let mut twice = create_signed_transaction(&sp, &[o[0].response.clone()], u).unwrap();
    {
        let mut payload =
            sfcbc_fabric::protos::common::Payload::decode(twice.payload.as_slice()).unwrap();
        let mut t = Transaction::decode(payload.data.as_slice()).unwrap();
        let mut cap = ChaincodeActionPayload::decode(t.actions[0].payload.as_slice()).unwrap();
        let action = cap.action.as_mut().unwrap();
        let e = action.endorsements[0].clone();
        action.endorsements.push(e);
        t.actions[0].payload = cap.encode_to_vec();
        payload.data = t.encode_to_vec();
        twice = sign_envelope(
            Envelope {
                payload: payload.encode_to_vec(),
                signature: Vec::new(),
            },
            u,
        );
    }
    // An endorsement whose signature does not verify is ignored.
    let sp = net.proposal(u, &["put", "e", "1"]);
    let mut o = net.endorse(&sp, &[0, 1]).await;
    o[1].response.endorsement.as_mut().unwrap().signature[10] ^= 1;
    let responses: Vec<_> = o.into_iter().map(|o| o.response).collect();
    let bad_sig = create_signed_transaction(&sp, &responses, u).unwrap();
    assert_eq!(
        codes(&net.commit_all(vec![ok13, ok123, only2, twice, bad_sig])),
        [
            C::Valid,
            C::Valid,
            C::EndorsementPolicyFailure,
            C::EndorsementPolicyFailure,
            C::EndorsementPolicyFailure
        ]
    );
    assert!(net.state(0, "a").is_some() && net.state(0, "b").is_some());
    assert!(net.state(0, "c").is_none() && net.state(0, "d").is_none());
}

#[tokio::test]
async fn majority_endorsement_default_policy() {
    let net = Net::new(3);
    // Fabric's default: /Channel/Application/Endorsement = MAJORITY Endorsement (2 of 3 orgs).
    net.define_with(ChaincodeDefinition::new(CC, "1.0"));
    let u = &net.org(0).user;
    let two = net.tx(u, &["put", "a", "1"], &[0, 1]).await;
    let one = net.tx(u, &["put", "b", "1"], &[2]).await;
    assert_eq!(
        codes(&net.commit_all(vec![two, one])),
        [C::Valid, C::EndorsementPolicyFailure]
    );
}

#[tokio::test]
async fn duplicate_tx_ids_in_the_block_and_in_the_ledger() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let tx = net.tx(u, &["put", "k", "v"], &[0]).await;
    let other = net.tx(u, &["put", "k2", "v"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![tx.clone(), tx.clone(), other])),
        [C::Valid, C::DuplicateTxid, C::Valid]
    );
    // The same transaction again in a later block.
    let tx_id = sfcbc_fabric::tx::parse_envelope(&tx)
        .unwrap()
        .tx_id()
        .to_owned();
    assert_eq!(codes(&net.commit_all(vec![tx])), [C::DuplicateTxid]);
    // The ledger still points the id at the first, valid occurrence.
    let loc = net.peers[0]
        .ledger
        .snapshot()
        .unwrap()
        .tx_location(&tx_id)
        .unwrap()
        .unwrap();
    assert_eq!((loc.block_num, loc.tx_num, loc.validation_code), (1, 0, 0));
}

#[tokio::test]
async fn mvcc_read_conflicts() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let seed = net.tx(u, &["put", "counter", "0"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![seed])), [C::Valid]);
    // Two txs simulated on the same state, both read-then-write `counter`.
    let a = net.tx(u, &["inc", "counter"], &[0]).await;
    let b = net.tx(u, &["inc", "counter"], &[0]).await;
    // A blind write does not conflict.
    let c = net.tx(u, &["put", "counter2", "x"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![a, b, c])),
        [C::Valid, C::MvccReadConflict, C::Valid]
    );
    assert_eq!(net.state(0, "counter").as_deref(), Some(&b"1"[..]));
    // A read of a version committed since the simulation conflicts in a later block too.
    let stale = net.tx(u, &["inc", "counter"], &[0]).await;
    let fresh = net.tx(u, &["put", "counter", "9"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![fresh])), [C::Valid]);
    assert_eq!(codes(&net.commit_all(vec![stale])), [C::MvccReadConflict]);
    // Reading an absent key and someone creating it meanwhile.
    let reads_absent = net.tx(u, &["inc", "new"], &[0]).await;
    let creates = net.tx(u, &["put", "new", "5"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![creates, reads_absent])),
        [C::Valid, C::MvccReadConflict]
    );
    // An invalid tx's writes do not count as in-block updates.
    let bad = net.tx(u, &["put", "z", "1"], &[0]).await;
    let mut bad = bad;
    bad.signature[5] ^= 1;
    let reads_z = net.tx(u, &["inc", "z"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![bad, reads_z])),
        [C::BadCreatorSignature, C::Valid]
    );
}

#[tokio::test]
async fn phantom_reads_on_range_queries() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let mut seed = Vec::new();
    for k in ["b", "d", "f"] {
        seed.push(net.tx(u, &["put", k, "1"], &[0]).await);
    }
    assert_eq!(codes(&net.commit_all(seed)), [C::Valid; 3]);

    // Insert into the range earlier in the block → phantom.
    let ranger = net.tx(u, &["range_put", "a", "e", "out", "1"], &[0]).await;
    let insert = net.tx(u, &["put", "c", "1"], &[0]).await;
    // Outside the range: fine.
    let ranger2 = net.tx(u, &["range_put", "a", "e", "out2", "1"], &[0]).await;
    let outside = net.tx(u, &["put", "x", "1"], &[0]).await;
    let ranger3 = net.tx(u, &["range_put", "a", "e", "out3", "1"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![outside, ranger3, insert, ranger, ranger2])),
        [
            C::Valid,
            C::Valid,
            C::Valid,
            C::PhantomReadConflict,
            C::PhantomReadConflict
        ]
    );
    // Deletion and update of a key in the range (committed in an earlier block).
    let ranger = net.tx(u, &["range_put", "a", "e", "o", "1"], &[0]).await;
    let update = net.tx(u, &["put", "d", "2"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![update])), [C::Valid]);
    assert_eq!(
        codes(&net.commit_all(vec![ranger])),
        [C::PhantomReadConflict]
    );
    // Unchanged range: valid.
    let ranger = net.tx(u, &["range_put", "a", "e", "o", "2"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![ranger])), [C::Valid]);
}

#[tokio::test]
async fn phantom_reads_on_large_ranges_with_merkle_summaries() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let mut seed = Vec::new();
    for i in 0..120 {
        seed.push(net.tx(u, &["put", &format!("k{i:03}"), "1"], &[0]).await);
    }
    assert!(codes(&net.commit_all(seed)).iter().all(|c| *c == C::Valid));
    // More than 50 results: the read set carries a merkle summary.
    let sp = net.proposal(u, &["range_put", "k", "l", "out", "1"]);
    let o = net.endorse(&sp, &[0]).await;
    let prp = sfcbc_fabric::protos::protos::ProposalResponsePayload::decode(
        o[0].response.payload.as_slice(),
    )
    .unwrap();
    let action =
        sfcbc_fabric::protos::protos::ChaincodeAction::decode(prp.extension.as_slice()).unwrap();
    let rw =
        sfcbc_fabric::protos::rwset::TxReadWriteSet::decode(action.results.as_slice()).unwrap();
    // the chaincode's namespace, after `_lifecycle` (the definition's sequence read)
    let ns = rw
        .ns_rwset
        .iter()
        .find(|n| n.namespace != "_lifecycle")
        .unwrap();
    let kv = sfcbc_fabric::protos::kvrwset::KvrwSet::decode(ns.rwset.as_slice()).unwrap();
    assert!(matches!(
        kv.range_queries_info[0].reads_info,
        Some(sfcbc_fabric::protos::kvrwset::range_query_info::ReadsInfo::ReadsMerkleHashes(_))
    ));
    let responses = vec![o[0].response.clone()];
    let unchanged = create_signed_transaction(&sp, &responses, u).unwrap();
    let r2 = net.tx(u, &["range_put", "k", "l", "out2", "1"], &[0]).await;
    let insert = net.tx(u, &["put", "k0505", "1"], &[0]).await;
    let r3 = net.tx(u, &["range_put", "k", "l", "out3", "1"], &[0]).await;
    let delete_outside = net.tx(u, &["put", "z", "1"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![unchanged, delete_outside, r2, insert, r3])),
        [
            C::Valid,
            C::Valid,
            C::Valid,
            C::Valid,
            C::PhantomReadConflict
        ]
    );
}

#[tokio::test]
async fn implicit_collection_writes_need_the_owning_org() {
    let net = Net::new(2);
    // The chaincode policy needs both orgs; a write to Org1's implicit collection needs only
    // (and exactly) Org1's Endorsement policy.
    net.define("AND('Org1MSP.peer', 'Org2MSP.peer')");
    let u = &net.org(0).user;
    let coll1 = "_implicit_org_Org1MSP";
    let by_owner = net.tx(u, &["pput", coll1, "secret", "s3cr3t"], &[0]).await;
    let by_other = net.tx(u, &["pput", coll1, "secret2", "x"], &[1]).await;
    let by_both = net.tx(u, &["pput", coll1, "secret3", "y"], &[0, 1]).await;
    let public_by_one = net.tx(u, &["put", "pub", "1"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![by_owner, by_other, by_both, public_by_one])),
        [
            C::Valid,
            C::EndorsementPolicyFailure,
            C::Valid,
            C::EndorsementPolicyFailure
        ]
    );
    // The private value lives only on Org1's peer; both have its hash.
    let s1 = net.peers[0].ledger.snapshot().unwrap();
    let s2 = net.peers[1].ledger.snapshot().unwrap();
    assert_eq!(
        s1.private_data(CC, coll1, "secret").unwrap().unwrap().value,
        b"s3cr3t"
    );
    assert!(s2.private_data(CC, coll1, "secret").unwrap().is_none());
    assert!(s1.private_data_hash(CC, coll1, "secret").unwrap().is_some());
    assert!(s2.private_data_hash(CC, coll1, "secret").unwrap().is_some());
    assert!(net.peers[0].transient.is_empty() && net.peers[1].transient.is_empty());
}

#[tokio::test]
async fn implicit_collection_of_an_org_not_in_the_channel() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer', 'Org2MSP.peer')");
    let u = &net.org(0).user;
    // The endorser refuses to simulate it (the collection does not exist on the channel).
    let sp = net.proposal(u, &["pput", "_implicit_org_Org9MSP", "k", "v"]);
    let o = net.peers[0].endorser.process_proposal(&sp).await;
    assert_eq!(o.status(), 500, "{:?}", o.response.response);
    assert!(!o.endorsed());
}

#[tokio::test]
async fn explicit_collections_with_their_own_policy() {
    let net = Net::new(3);
    let collections = parse_collections_config(
        br#"[
        {"name": "shared12", "policy": "OR('Org1MSP.member', 'Org2MSP.member')",
         "requiredPeerCount": 0, "maxPeerCount": 3, "blockToLive": 0,
         "memberOnlyRead": true, "memberOnlyWrite": true},
        {"name": "only3", "policy": "OR('Org3MSP.member')",
         "memberOnlyRead": true, "memberOnlyWrite": false,
         "endorsementPolicy": {"signaturePolicy": "OR('Org3MSP.peer')"}}
    ]"#,
    )
    .unwrap();
    net.define_with(
        ChaincodeDefinition::new(CC, "1.0")
            .with_policy(EndorsementPolicy::parse("OR('Org1MSP.peer')").unwrap())
            .with_collections(collections),
    );
    let u1 = &net.org(0).user;
    // No collection policy: the chaincode's (Org1) applies.
    let shared_ok = net.tx(u1, &["pput", "shared12", "k", "v"], &[0]).await;
    let shared_bad = net.tx(u1, &["pput", "shared12", "k2", "v"], &[1]).await;
    // Collection policy Org3 replaces the chaincode's.
    let only3_ok = net.tx(u1, &["pput", "only3", "k", "v"], &[2]).await;
    let only3_bad = net.tx(u1, &["pput", "only3", "k2", "v"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![shared_ok, shared_bad, only3_ok, only3_bad])),
        [
            C::Valid,
            C::EndorsementPolicyFailure,
            C::Valid,
            C::EndorsementPolicyFailure
        ]
    );
    let has = |peer: usize, coll: &str| {
        net.peers[peer]
            .ledger
            .snapshot()
            .unwrap()
            .private_data(CC, coll, "k")
            .unwrap()
            .is_some()
    };
    assert!(has(0, "shared12") && has(1, "shared12") && !has(2, "shared12"));
    assert!(!has(0, "only3") && !has(1, "only3") && has(2, "only3"));
    // memberOnlyWrite: Org3's client may not write shared12 (the simulation refuses).
    let sp = net.proposal(&net.org(2).user, &["pput", "shared12", "k3", "v"]);
    let o = net.peers[0].endorser.process_proposal(&sp).await;
    assert_eq!(o.status(), 500, "{:?}", o.response.response);
    // memberOnlyRead: nor read it; a member may.
    let sp = net.proposal(&net.org(2).user, &["pget", "shared12", "k"]);
    let o = net.peers[0].endorser.process_proposal(&sp).await;
    assert_eq!(o.status(), 500, "{:?}", o.response.response);
    let sp = net.proposal(&net.org(1).user, &["pget", "shared12", "k"]);
    let o = net.peers[1].endorser.process_proposal(&sp).await;
    assert!(o.endorsed(), "{:?}", o.response.response);
    assert_eq!(o.response.response.unwrap().payload, b"v");
    // memberOnlyWrite false: Org1's client may write only3 (validated by Org3's policy).
    let w = net.tx(u1, &["pput", "only3", "k9", "w"], &[2]).await;
    assert_eq!(codes(&net.commit_all(vec![w])), [C::Valid]);
}

#[tokio::test]
async fn key_level_policies_on_private_keys() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer', 'Org2MSP.peer')");
    let u = &net.org(0).user;
    let coll = "_implicit_org_Org1MSP";
    let seed = net.tx(u, &["pput", coll, "p", "1"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![seed])), [C::Valid]);
    // From now on `p` needs Org1 AND Org2, whatever the collection's policy says.
    let sbe = net
        .tx(
            u,
            &["psbe", coll, "p", "AND('Org1MSP.peer', 'Org2MSP.peer')"],
            &[0],
        )
        .await;
    assert_eq!(codes(&net.commit_all(vec![sbe])), [C::Valid]);
    let by_org1 = net.tx(u, &["pput", coll, "p", "2"], &[0]).await;
    let by_both = net.tx(u, &["pput", coll, "p", "3"], &[0, 1]).await;
    // Another key of the collection still follows the collection's policy (Org1).
    let other = net.tx(u, &["pput", coll, "q", "1"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![by_org1, by_both, other])),
        [C::EndorsementPolicyFailure, C::Valid, C::Valid]
    );
}

#[tokio::test]
async fn private_read_conflicts() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let coll = "_implicit_org_Org1MSP";
    let seed = net.tx(u, &["pput", coll, "p", "1"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![seed])), [C::Valid]);
    let reader = net.tx(u, &["pget", coll, "p"], &[0]).await;
    let writer = net.tx(u, &["pput", coll, "p", "2"], &[0]).await;
    let reader2 = net.tx(u, &["pget", coll, "p"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![reader, writer, reader2])),
        [C::Valid, C::Valid, C::MvccReadConflict]
    );
}

#[tokio::test]
async fn key_level_endorsement_policies() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer', 'Org2MSP.peer')");
    let u = &net.org(0).user;
    let seed = net.tx(u, &["put", "guarded", "0"], &[0]).await;
    assert_eq!(codes(&net.commit_all(vec![seed])), [C::Valid]);
    // Only Org2 may change `guarded` from now on.
    let sbe = net
        .tx(u, &["sbe", "guarded", "OR('Org2MSP.peer')"], &[0])
        .await;
    // Changed in the same block by a tx endorsed under the old rule: fails (Fabric's
    // ValidationParameterUpdatedError).
    let same_block = net.tx(u, &["put", "guarded", "1"], &[1]).await;
    assert_eq!(
        codes(&net.commit_all(vec![sbe, same_block])),
        [C::Valid, C::EndorsementPolicyFailure]
    );
    let by_org1 = net.tx(u, &["put", "guarded", "2"], &[0]).await;
    let by_org2 = net.tx(u, &["put", "guarded", "3"], &[1]).await;
    assert_eq!(
        codes(&net.commit_all(vec![by_org1, by_org2])),
        [C::EndorsementPolicyFailure, C::Valid]
    );
    assert_eq!(net.state(0, "guarded").as_deref(), Some(&b"3"[..]));
}

#[tokio::test]
async fn undefined_chaincode_and_events() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let ev = net.tx(u, &["event", "Happened"], &[0]).await;
    let c = net.commit_block(vec![ev]);
    assert_eq!(c.validation.codes(), [C::Valid]);
    let e = c.validation.txs[0].event.as_ref().unwrap();
    assert_eq!(e.event_name, "Happened");
    assert_eq!(e.chaincode_id, CC);
    // Redefine the chaincode away: its transactions become INVALID_CHAINCODE.
    let tx = net.tx(u, &["put", "a", "b"], &[0]).await;
    net.defs.insert(ChaincodeDefinition::new("other", "1.0"));
    let defs = sfcbc_devnet::validator::DefinitionRegistry::new();
    defs.insert(ChaincodeDefinition::new("other", "1.0"));
    let validator = sfcbc_devnet::validator::Validator::new(
        validator_support::CHANNEL,
        net.channel.clone(),
        std::sync::Arc::new(defs),
    );
    let block = net.block(&[tx]);
    let snap = net.peers[0].ledger.snapshot().unwrap();
    let v = validator.validate(&block, &snap).unwrap();
    assert_eq!(v.codes(), [C::InvalidChaincode]);
}

#[tokio::test]
async fn transactions_for_another_channel() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let sp = sfcbc_fabric::tx::ProposalBuilder::new("otherchannel", CC)
        .args(["put", "k", "v"])
        .build(&u.serialize())
        .unwrap()
        .sign(u);
    // Endorse it as if the channel were ours (the endorser of `mychannel` would refuse it).
    let up = sfcbc_fabric::tx::unpack_proposal(&sp).unwrap();
    let rwset = sfcbc_fabric::protos::rwset::TxReadWriteSet::default().encode_to_vec();
    let resp = up.endorse(
        sfcbc_fabric::protos::protos::Response {
            status: 200,
            ..Default::default()
        },
        rwset,
        None,
        "1.0",
        &net.org(0).peer,
    );
    let tx = create_signed_transaction(&sp, &[resp], u).unwrap();
    assert_eq!(codes(&net.commit_all(vec![tx])), [C::TargetChainNotFound]);
    let o = net.peers[0].endorser.process_proposal(&sp).await;
    assert_eq!(o.status(), 500);
    assert_eq!(
        o.response.response.unwrap().message,
        "channel 'otherchannel' not found"
    );
    assert!(o.rpc_error.is_none());
}

/// Validation throughput on this machine (run with `--release --ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn validation_throughput() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer', 'Org2MSP.peer')");
    let u = &net.org(0).user;
    let n = 500;
    let t = std::time::Instant::now();
    let mut txs = Vec::with_capacity(n);
    for i in 0..n {
        txs.push(net.tx(u, &["put", &format!("k{i}"), "v"], &[0]).await);
    }
    let endorse = t.elapsed();
    let block = net.block(&txs);
    let snap = net.peers[0].ledger.snapshot().unwrap();
    for workers in [1, 2, 2] {
        let v = sfcbc_devnet::validator::Validator::new(
            validator_support::CHANNEL,
            net.channel.clone(),
            net.defs.clone(),
        )
        .with_workers(workers);
        let t = std::time::Instant::now();
        let r = v.validate(&block, &snap).unwrap();
        let el = t.elapsed();
        assert!(r.codes().iter().all(|c| *c == C::Valid));
        println!(
            "validate {n} txs with {workers} worker(s) (signatures remembered after the first \
             run): {el:?} ({:.0} tx/s)",
            n as f64 / el.as_secs_f64()
        );
    }
    drop(snap);
    let t = std::time::Instant::now();
    let c = net.peers[0].committer.commit(block).unwrap();
    println!("validate + commit: {:?}", t.elapsed());
    assert_eq!(c.validation.txs.len(), n);
    println!(
        "endorse + assemble {n} txs: {endorse:?} ({:.0} tx/s)",
        n as f64 / endorse.as_secs_f64()
    );
}

#[tokio::test]
async fn damaged_transactions_never_panic_the_validator() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let tx = net.tx(u, &["range_put", "a", "z", "k", "v"], &[0]).await;
    let bytes = tx.encode_to_vec();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    for i in (0..bytes.len()).step_by(3) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        entries.push(b);
    }
    for cut in (0..bytes.len()).step_by(17) {
        entries.push(bytes[..cut].to_vec());
    }
    entries.push(Vec::new());
    let number = net.peers[0].ledger.height().unwrap();
    let prev = net.peers[0]
        .ledger
        .snapshot()
        .unwrap()
        .chain_info()
        .unwrap()
        .current_block_hash;
    let block = sfcbc_devnet::block::new_block(number, prev, entries);
    let c = net.peers[0].committer.commit(block).unwrap();
    // Whatever a damaged copy gets, at most one copy (the undamaged meaning) can be valid.
    let valid = c
        .validation
        .txs
        .iter()
        .filter(|t| t.code == C::Valid)
        .count();
    assert!(valid <= 1, "{valid} damaged copies were valid");
    assert_eq!(
        net.peers[0]
            .ledger
            .snapshot()
            .unwrap()
            .verify_chain()
            .unwrap(),
        number + 1
    );
}

/// A transaction whose response payload a (malicious or buggy) endorser built by hand.
fn forged(
    net: &Net,
    rwset: Vec<u8>,
    cc_name: &str,
    version: &str,
    event: Option<sfcbc_fabric::protos::protos::ChaincodeEvent>,
) -> Envelope {
    let u = &net.org(0).user;
    let sp = net.proposal(u, &["put", "k", "v"]);
    let up = sfcbc_fabric::tx::unpack_proposal(&sp).unwrap();
    let response = sfcbc_fabric::protos::protos::Response {
        status: 200,
        ..Default::default()
    };
    let payload = sfcbc_fabric::tx::proposal_response_payload(
        &up.proposal_hash,
        &response,
        rwset,
        event.map(|e| e.encode_to_vec()).unwrap_or_default(),
        sfcbc_fabric::protos::protos::ChaincodeId {
            name: cc_name.into(),
            version: version.into(),
            path: String::new(),
        },
    );
    let endorsement = sfcbc_fabric::tx::endorse_payload(&payload, &net.org(0).peer);
    let pr = sfcbc_fabric::protos::protos::ProposalResponse {
        version: 1,
        response: Some(response),
        payload,
        endorsement: Some(endorsement),
        ..Default::default()
    };
    create_signed_transaction(&sp, &[pr], u).unwrap()
}

#[tokio::test]
async fn hand_built_rwsets_from_endorsers() {
    use sfcbc_fabric::protos::kvrwset::{KvRead, KvrwSet, RangeQueryInfo, Version};
    use sfcbc_fabric::protos::rwset::{NsReadWriteSet, TxReadWriteSet};
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let ns = |kv: KvrwSet| NsReadWriteSet {
        namespace: CC.into(),
        rwset: kv.encode_to_vec(),
        collection_hashed_rwset: Vec::new(),
    };
    let rw = |n: Vec<NsReadWriteSet>| {
        TxReadWriteSet {
            data_model: 0,
            ns_rwset: n,
        }
        .encode_to_vec()
    };
    let dup_ns = rw(vec![ns(KvrwSet::default()), ns(KvrwSet::default())]);
    let garbage = rw(vec![NsReadWriteSet {
        namespace: CC.into(),
        rwset: vec![0xff, 0xff],
        collection_hashed_rwset: Vec::new(),
    }]);
    let reversed = rw(vec![ns(KvrwSet {
        range_queries_info: vec![
            RangeQueryInfo {
                start_key: "z".into(),
                end_key: "a".into(),
                itr_exhausted: true,
                ..Default::default()
            },
            RangeQueryInfo {
                start_key: "m".into(),
                end_key: "m".into(),
                itr_exhausted: false,
                ..Default::default()
            },
        ],
        ..Default::default()
    })]);
    let future_version = rw(vec![ns(KvrwSet {
        reads: vec![KvRead {
            key: "k".into(),
            version: Some(Version {
                block_num: u64::MAX,
                tx_num: u64::MAX,
            }),
        }],
        ..Default::default()
    })]);
    let bad_event = sfcbc_fabric::protos::protos::ChaincodeEvent {
        chaincode_id: "someone-else".into(),
        ..Default::default()
    };
    let txs = vec![
        forged(&net, dup_ns, CC, "1.0", None),
        forged(&net, garbage, CC, "1.0", None),
        forged(&net, reversed, CC, "1.0", None),
        forged(&net, future_version, CC, "1.0", None),
        forged(&net, rw(vec![]), "other", "1.0", None),
        forged(&net, rw(vec![]), CC, "", None),
        forged(&net, rw(vec![]), CC, "1.0", Some(bad_event)),
        forged(&net, vec![0xff, 0x01], CC, "1.0", None),
    ];
    assert_eq!(
        codes(&net.commit_all(txs)),
        [
            C::IllegalWriteset,
            C::BadRwset,
            C::Valid,
            C::MvccReadConflict,
            C::InvalidChaincode,
            C::InvalidChaincode,
            C::InvalidOtherReason,
            C::BadRwset,
        ]
    );
}

#[tokio::test]
async fn with_the_channel_config_of_a_real_block_0() {
    // MSPs and policies from configtxgen-style block 0 (org groups named by MSP ID, as
    // fabric-samples names them), parsed by the channel module.
    let net = Net::from_config_block(&["Org1", "Org2", "Org3"]);
    // Fabric's default chaincode policy: /Channel/Application/Endorsement (MAJORITY).
    net.define_with(ChaincodeDefinition::new(CC, "1.0"));
    let u = &net.org(0).user;
    let majority = net.tx(u, &["put", "a", "1"], &[0, 2]).await;
    let minority = net.tx(u, &["put", "b", "1"], &[1]).await;
    let coll2 = "_implicit_org_Org2MSP";
    let own_org = net.tx(u, &["pput", coll2, "s", "x"], &[1]).await;
    let other_org = net.tx(u, &["pput", coll2, "s2", "x"], &[0]).await;
    assert_eq!(
        codes(&net.commit_all(vec![majority, minority, own_org, other_org])),
        [
            C::Valid,
            C::EndorsementPolicyFailure,
            C::Valid,
            C::EndorsementPolicyFailure
        ]
    );
    // The Writers ACL of that channel refuses a peer identity as creator.
    let o = net.peers[0]
        .endorser
        .process_proposal(&net.proposal(&net.org(0).peer, &["put", "c", "1"]))
        .await;
    assert!(o.rpc_error.is_some() && !o.endorsed());
    let s = net.peers[1].ledger.snapshot().unwrap();
    assert_eq!(s.verify_chain().unwrap(), 2);
    assert!(s.private_data(CC, coll2, "s").unwrap().is_some());
}
