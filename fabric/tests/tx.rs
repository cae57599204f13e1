//! Proposals, endorsements and envelopes against known-good bytes.
//!
//! `fixtures/tx/vectors.txt` is written by `fixtures/tx/derive.py`, an independent protobuf
//! encoder with Fabric's field numbers written out by hand, for fixed Ed25519 keys (so every
//! signature is deterministic), nonce and timestamp. Every builder here must reproduce those
//! bytes exactly, and every parser must take them apart again.

use std::collections::HashMap;
use std::path::PathBuf;

use prost::Message as _;
use prost_types::Timestamp;
use sfcbc_fabric::error::TxError;
use sfcbc_fabric::msp::{
    Identity, MspConfig, MspManager, MspRole, MspVerifier, NodeOusConfig, OuIdentifierConfig,
    ValidityTime,
};
use sfcbc_fabric::policy::{CompiledPolicy, from_string};
use sfcbc_fabric::protos::common::Envelope;
use sfcbc_fabric::protos::protos::{
    ChaincodeEvent, ProposalResponse, Response, SignedProposal, TxValidationCode,
};
use sfcbc_fabric::signer::{PrivateKey, Signer};
use sfcbc_fabric::tx::{
    ProposalBuilder, assemble_transaction, compute_tx_id, create_signed_transaction,
    parse_envelope, parse_envelope_bytes, proposal_hash, sign_envelope, unpack_proposal,
    unpack_proposal_bytes, validate_transaction,
};

mod tx_fixtures;
use tx_fixtures::{fixture, vectors};

fn signer(who: &str) -> Signer {
    let id = Identity::from_pem("Org1MSP", &fixture(&format!("{who}-cert.pem"))).unwrap();
    let key = PrivateKey::from_pem(&fixture(&format!("{who}-key.pem"))).unwrap();
    Signer::new(id, key).unwrap()
}

fn msps() -> MspManager {
    let any = |ou: &str| {
        Some(OuIdentifierConfig {
            certificate: Vec::new(),
            organizational_unit_identifier: ou.into(),
        })
    };
    let config = MspConfig {
        msp_id: "Org1MSP".into(),
        root_certs: vec![fixture("ca-cert.pem")],
        node_ous: Some(NodeOusConfig {
            enable: true,
            client: any("client"),
            peer: any("peer"),
            admin: any("admin"),
            orderer: any("orderer"),
        }),
        ..Default::default()
    };
    [MspVerifier::new(&config).unwrap()].into_iter().collect()
}

fn builder() -> ProposalBuilder {
    ProposalBuilder::new("mychannel", "basic")
        .args(["CreateAsset", "asset1", "blue"])
        .transient("secret", b"pw".to_vec())
        .transient("salt", b"s4lt".to_vec())
        .nonce((0u8..24).collect::<Vec<u8>>())
        .timestamp(Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_456_789,
        })
}

fn chaincode_response() -> Response {
    Response {
        status: 200,
        message: "OK".into(),
        payload: b"done".to_vec(),
    }
}

#[test]
fn proposal_bytes_match_fabric() {
    let v = vectors();
    let client = signer("client");
    assert_eq!(client.serialize(), v["creator"]);
    let p = builder().build(&client.serialize()).unwrap();
    assert_eq!(p.tx_id.as_bytes(), v["tx_id"].as_slice());
    assert_eq!(
        p.tx_id,
        compute_tx_id(&(0u8..24).collect::<Vec<_>>(), &v["creator"])
    );
    assert_eq!(p.channel_header, v["channel_header"]);
    assert_eq!(p.signature_header, v["signature_header"]);
    assert_eq!(p.payload, v["proposal_payload"]);
    assert_eq!(p.payload_for_tx, v["payload_for_tx"]);
    assert_eq!(p.bytes, v["proposal"]);
    assert_eq!(p.proposal_hash(), v["proposal_hash"]);
    assert_eq!(p.sign(&client).encode_to_vec(), v["signed_proposal"]);
}

#[test]
fn empty_transient_values_are_written_as_go_writes_them() {
    let p = ProposalBuilder::new("c", "cc")
        .transient("", Vec::new())
        .nonce(vec![1])
        .build(b"creator")
        .unwrap();
    // ... field 2, length 4: entry {key (1) "" , value (2) ""}.
    assert!(p.payload.ends_with(&[0x12, 0x04, 0x0a, 0x00, 0x12, 0x00]));
    let up = unpack_proposal(&p.with_signature(vec![1])).unwrap();
    assert_eq!(up.transient_map.get(""), Some(&Vec::new()));
}

#[test]
fn unpack_and_validate_proposal() {
    let v = vectors();
    let up = unpack_proposal_bytes(&v["signed_proposal"]).unwrap();
    assert_eq!(up.tx_id().as_bytes(), v["tx_id"].as_slice());
    assert_eq!(up.channel_id(), "mychannel");
    assert_eq!(up.chaincode_name, "basic");
    assert_eq!(up.creator(), v["creator"].as_slice());
    assert_eq!(
        up.input.args,
        vec![
            b"CreateAsset".to_vec(),
            b"asset1".to_vec(),
            b"blue".to_vec()
        ]
    );
    assert_eq!(up.transient_map["secret"], b"pw");
    assert_eq!(up.transient_map["salt"], b"s4lt");
    assert_eq!(up.payload_for_tx, v["payload_for_tx"]);
    assert_eq!(up.proposal_hash, v["proposal_hash"]);
    assert_eq!(up.timestamp().unwrap().seconds, 1_700_000_000);
    // Binding: SHA-256(nonce ‖ creator ‖ epoch 0 as 8 little-endian bytes).
    let mut bound = (0u8..24).collect::<Vec<u8>>();
    bound.extend_from_slice(&v["creator"]);
    bound.extend_from_slice(&[0; 8]);
    use sha2::Digest as _;
    assert_eq!(up.binding(), sha2::Sha256::digest(&bound).to_vec());
    let creator = up.validate(&msps(), ValidityTime::AsFabric).unwrap();
    assert!(creator.has_role(MspRole::Client));
}

#[test]
fn proposal_checks_fail_as_fabric_does() {
    let v = vectors();
    let msps = msps();
    let good = SignedProposal::decode(v["signed_proposal"].as_slice()).unwrap();

    // Tampered signature.
    let mut bad = good.clone();
    *bad.signature.last_mut().unwrap() ^= 1;
    let err = unpack_proposal(&bad)
        .unwrap()
        .validate(&msps, ValidityTime::AsFabric)
        .unwrap_err();
    assert!(matches!(err, TxError::Signature { .. }), "{err}");

    // Signed by someone else (the peer): signature does not verify for the creator.
    let p = builder().build(&signer("client").serialize()).unwrap();
    let forged = p.with_signature(signer("peer").sign(p.bytes()));
    assert!(
        unpack_proposal(&forged)
            .unwrap()
            .validate(&msps, ValidityTime::AsFabric)
            .is_err()
    );

    // A tx id that is not hash(nonce ‖ creator).
    let mut up = unpack_proposal(&good).unwrap();
    up.channel_header.tx_id = "00".repeat(32);
    assert!(matches!(
        up.validate(&msps, ValidityTime::AsFabric),
        Err(TxError::TxId { .. })
    ));

    // Non-zero epoch, wrong type, empty nonce.
    let mut up = unpack_proposal(&good).unwrap();
    up.channel_header.epoch = 1;
    assert!(matches!(
        up.validate(&msps, ValidityTime::AsFabric),
        Err(TxError::Epoch(1))
    ));
    let mut up = unpack_proposal(&good).unwrap();
    up.channel_header.r#type = 0;
    assert!(matches!(
        up.validate(&msps, ValidityTime::AsFabric),
        Err(TxError::HeaderType { .. })
    ));
    let mut up = unpack_proposal(&good).unwrap();
    up.signature_header.nonce.clear();
    assert!(up.validate(&msps, ValidityTime::AsFabric).is_err());

    // A creator from an MSP the channel does not know.
    let stranger = Signer::new(
        Identity::from_pem("Org9MSP", &fixture("client-cert.pem")).unwrap(),
        PrivateKey::from_pem(&fixture("client-key.pem")).unwrap(),
    )
    .unwrap();
    let sp = builder()
        .build(&stranger.serialize())
        .unwrap()
        .sign(&stranger);
    assert!(matches!(
        unpack_proposal(&sp)
            .unwrap()
            .validate(&msps, ValidityTime::AsFabric),
        Err(TxError::Identity { .. })
    ));

    // Missing chaincode name is refused by the builder.
    assert!(matches!(
        ProposalBuilder::new("c", "").build(b"x"),
        Err(TxError::EmptyChaincodeName)
    ));
}

fn endorse(v: &HashMap<String, Vec<u8>>) -> ProposalResponse {
    let up = unpack_proposal_bytes(&v["signed_proposal"]).unwrap();
    let event = ChaincodeEvent {
        chaincode_id: "basic".into(),
        tx_id: up.tx_id().to_string(),
        event_name: "AssetCreated".into(),
        payload: b"{}".to_vec(),
    };
    assert_eq!(event.encode_to_vec(), v["event"]);
    up.endorse(
        chaincode_response(),
        v["results"].clone(),
        Some(&event),
        "1.0",
        &signer("peer"),
    )
}

#[test]
fn endorsement_bytes_match_fabric() {
    let v = vectors();
    let pr = endorse(&v);
    assert_eq!(pr.payload, v["proposal_response_payload"]);
    assert_eq!(pr.encode_to_vec(), v["proposal_response"]);
    let e = pr.endorsement.as_ref().unwrap();
    assert_eq!(e.endorser, v["endorser"]);
    let endorser =
        sfcbc_fabric::tx::verify_endorsement(&pr.payload, e, &msps(), ValidityTime::AsFabric)
            .unwrap();
    assert!(endorser.has_role(MspRole::Peer));
}

#[test]
fn chaincode_errors_are_not_endorsed() {
    let v = vectors();
    let up = unpack_proposal_bytes(&v["signed_proposal"]).unwrap();
    let err = Response {
        status: 400,
        message: "bad chain".into(),
        payload: vec![],
    };
    let pr = up.endorse(err, vec![], None, "1.0", &signer("peer"));
    assert!(pr.endorsement.is_none());
    assert!(pr.payload.is_empty());
    let sp = SignedProposal::decode(v["signed_proposal"].as_slice()).unwrap();
    assert!(matches!(
        assemble_transaction(&sp, &[pr]),
        Err(TxError::ResponseStatus { status: 400, .. })
    ));
}

#[test]
fn envelope_bytes_match_fabric() {
    let v = vectors();
    let sp = SignedProposal::decode(v["signed_proposal"].as_slice()).unwrap();
    let pr = endorse(&v);
    // Two identical responses from the same peer: one endorsement (de-duplicated).
    let unsigned = assemble_transaction(&sp, &[pr.clone(), pr.clone()]).unwrap();
    assert_eq!(unsigned.payload, v["envelope_payload"]);
    assert!(unsigned.signature.is_empty());
    let env = sign_envelope(unsigned, &signer("client"));
    assert_eq!(env.encode_to_vec(), v["envelope"]);
    let env2 = create_signed_transaction(&sp, &[pr], &signer("client")).unwrap();
    assert_eq!(env2, env);
}

#[test]
fn envelope_parses_and_validates() {
    let v = vectors();
    let parsed = parse_envelope_bytes(&v["envelope"]).unwrap();
    assert_eq!(parsed.tx_id().as_bytes(), v["tx_id"].as_slice());
    assert_eq!(parsed.channel_id(), "mychannel");
    assert_eq!(parsed.chaincode_action.results, v["results"]);
    assert_eq!(
        parsed.chaincode_action.response.as_ref().unwrap().payload,
        b"done"
    );
    assert_eq!(parsed.event().unwrap().unwrap().event_name, "AssetCreated");
    assert!(parsed.proposal_payload.transient_map.is_empty());
    assert_eq!(
        parsed
            .invocation
            .chaincode_spec
            .as_ref()
            .unwrap()
            .input
            .as_ref()
            .unwrap()
            .args[0],
        b"CreateAsset"
    );
    assert_eq!(
        parsed.response_payload_bytes,
        v["proposal_response_payload"]
    );

    let msps = msps();
    let env = Envelope::decode(v["envelope"].as_slice()).unwrap();
    let valid = validate_transaction(&env, &msps, ValidityTime::AsFabric).unwrap();
    assert_eq!(valid, parsed);
    let endorsers = valid.endorsers(&msps, ValidityTime::AsFabric);
    assert_eq!(endorsers.len(), 1);
    let policy = CompiledPolicy::new(&from_string("OR('Org1MSP.peer')").unwrap()).unwrap();
    assert!(policy.evaluate(&endorsers));
    let policy = CompiledPolicy::new(&from_string("OR('Org1MSP.admin')").unwrap()).unwrap();
    assert!(!policy.evaluate(&endorsers));
}

#[test]
fn invalid_envelopes_get_fabrics_codes() {
    let v = vectors();
    let msps = msps();
    let good = Envelope::decode(v["envelope"].as_slice()).unwrap();
    let code = |e: &Envelope| {
        validate_transaction(e, &msps, ValidityTime::AsFabric)
            .unwrap_err()
            .code
    };

    let mut e = good.clone();
    e.payload = b"\xff\xff".to_vec();
    assert_eq!(code(&e), TxValidationCode::BadPayload);

    let mut e = good.clone();
    *e.signature.last_mut().unwrap() ^= 1;
    assert_eq!(code(&e), TxValidationCode::BadCreatorSignature);

    // Signed by the wrong key.
    let e = sign_envelope(good.clone(), &signer("peer"));
    assert_eq!(code(&e), TxValidationCode::BadCreatorSignature);

    // A response payload whose proposal hash is not this proposal's: build a proposal with
    // another nonce, endorse it, and graft its endorsed action into our transaction.
    let client = signer("client");
    let other = builder()
        .nonce(vec![9u8; 24])
        .build(&client.serialize())
        .unwrap()
        .sign(&client);
    let other_pr = unpack_proposal(&other).unwrap().endorse(
        chaincode_response(),
        vec![],
        None,
        "1.0",
        &signer("peer"),
    );
    let sp = SignedProposal::decode(v["signed_proposal"].as_slice()).unwrap();
    assert!(matches!(
        assemble_transaction(&sp, std::slice::from_ref(&other_pr)),
        Err(TxError::ProposalHash)
    ));
    let mut parsed = parse_envelope(&good).unwrap();
    let action = parsed.action_payload.action.as_mut().unwrap();
    action.proposal_response_payload = other_pr.payload.clone();
    action.endorsements = vec![other_pr.endorsement.clone().unwrap()];
    let mut tx = parsed.transaction.clone();
    tx.actions[0].payload = parsed.action_payload.encode_to_vec();
    let mut payload = parsed.payload.clone();
    payload.data = tx.encode_to_vec();
    let grafted = sign_envelope(
        Envelope {
            payload: payload.encode_to_vec(),
            signature: vec![],
        },
        &client,
    );
    assert_eq!(code(&grafted), TxValidationCode::InvalidEndorserTransaction);

    // Two actions.
    let mut tx = parse_envelope(&good).unwrap().transaction;
    tx.actions.push(tx.actions[0].clone());
    let mut payload = parse_envelope(&good).unwrap().payload;
    payload.data = tx.encode_to_vec();
    let two = sign_envelope(
        Envelope {
            payload: payload.encode_to_vec(),
            signature: vec![],
        },
        &client,
    );
    assert_eq!(code(&two), TxValidationCode::InvalidEndorserTransaction);
}

#[test]
fn disagreeing_endorsers_are_refused() {
    let v = vectors();
    let sp = SignedProposal::decode(v["signed_proposal"].as_slice()).unwrap();
    let up = unpack_proposal(&sp).unwrap();
    let a = up.endorse(
        chaincode_response(),
        b"A".to_vec(),
        None,
        "1.0",
        &signer("peer"),
    );
    let b = up.endorse(
        chaincode_response(),
        b"B".to_vec(),
        None,
        "1.0",
        &signer("peer"),
    );
    assert!(matches!(
        assemble_transaction(&sp, &[a.clone(), b]),
        Err(TxError::PayloadMismatch { index: 1 })
    ));
    assert!(matches!(
        assemble_transaction(&sp, &[]),
        Err(TxError::NoResponses)
    ));
    let mut no_endorsement = a.clone();
    no_endorsement.endorsement = None;
    assert!(matches!(
        assemble_transaction(&sp, &[no_endorsement]),
        Err(TxError::NoEndorsements)
    ));
    // Only the creator may sign the transaction.
    assert!(matches!(
        create_signed_transaction(&sp, &[a], &signer("peer")),
        Err(TxError::CreatorMismatch)
    ));
}

#[test]
fn ecdsa_round_trip_with_cryptogen_identities() {
    // The same flow with real cryptogen P-256 identities: random nonce, current time.
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crypto/peerOrganizations/org1.example.com");
    let client = sfcbc_fabric::msp::MspDir::load(base.join("users/User1@org1.example.com/msp"))
        .unwrap()
        .signer("Org1MSP")
        .unwrap();
    let peer = sfcbc_fabric::msp::MspDir::load(base.join("peers/peer0.org1.example.com/msp"))
        .unwrap()
        .signer("Org1MSP")
        .unwrap();
    let msps: MspManager = [sfcbc_fabric::msp::MspDir::load(base.join("msp"))
        .unwrap()
        .verifier("Org1MSP")
        .unwrap()]
    .into_iter()
    .collect();
    let proposal = ProposalBuilder::new("sfc", "sfcbc")
        .args(["GetChain", "chain1"])
        .build(&client.serialize())
        .unwrap();
    let sp = proposal.sign(&client);
    let up = unpack_proposal(&sp).unwrap();
    up.validate(&msps, ValidityTime::AsFabric).unwrap();
    assert_eq!(
        up.proposal_hash,
        proposal_hash(
            &proposal.channel_header,
            &proposal.signature_header,
            &proposal.payload_for_tx
        )
    );
    let pr = up.endorse(chaincode_response(), vec![1, 2, 3], None, "1", &peer);
    let env = create_signed_transaction(&sp, &[pr], &client).unwrap();
    let parsed = validate_transaction(&env, &msps, ValidityTime::AsFabric).unwrap();
    assert_eq!(parsed.tx_id(), proposal.tx_id);
    assert_eq!(parsed.endorsers(&msps, ValidityTime::AsFabric).len(), 1);
}

#[test]
fn an_identity_with_two_node_ous_is_refused() {
    let id = Identity::from_pem("Org1MSP", &fixture("two-ous-cert.pem")).unwrap();
    let err = msps()
        .validate_serialized(&id.serialize(), ValidityTime::AsFabric)
        .unwrap_err();
    assert!(err.to_string().contains("not a combination"), "{err}");
}

#[test]
fn signed_envelopes_for_deliver() {
    use sfcbc_fabric::protos::common::HeaderType;
    use sfcbc_fabric::tx::{
        check_signed_envelope, create_signed_envelope, create_signed_envelope_at,
    };
    let v = vectors();
    let client = signer("client");
    use sha2::Digest as _;
    let env = create_signed_envelope_at(
        HeaderType::DeliverSeekInfo,
        "mychannel",
        b"SEEK-INFO".to_vec(),
        sha2::Sha256::digest(b"tls cert").to_vec(),
        Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        },
        (0u8..24).collect(),
        &client,
    );
    assert_eq!(env.encode_to_vec(), v["seek_envelope"]);
    let msps = msps();
    let checked = check_signed_envelope(
        &env,
        Some(HeaderType::DeliverSeekInfo),
        &msps,
        ValidityTime::AsFabric,
    )
    .unwrap();
    assert_eq!(checked.payload.data, b"SEEK-INFO");
    assert_eq!(checked.channel_header.channel_id, "mychannel");
    assert!(checked.creator.has_role(MspRole::Client));
    assert!(matches!(
        check_signed_envelope(
            &env,
            Some(HeaderType::ConfigUpdate),
            &msps,
            ValidityTime::AsFabric
        ),
        Err(TxError::HeaderType { .. })
    ));
    let mut bad = env.clone();
    bad.signature[0] ^= 1;
    assert!(check_signed_envelope(&bad, None, &msps, ValidityTime::AsFabric).is_err());

    let fresh = create_signed_envelope(HeaderType::DeliverSeekInfo, "c", vec![], vec![], &client);
    let checked = check_signed_envelope(&fresh, None, &msps, ValidityTime::AsFabric).unwrap();
    assert_eq!(checked.channel_header.timestamp.unwrap().nanos, 0);
    assert_eq!(checked.signature_header.nonce.len(), 24);
}
