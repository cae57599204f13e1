//! Our endorsed transactions as real Fabric reads them: `configtxlator proto_decode` decodes
//! the envelope all the way down (Transaction, ChaincodeActionPayload, ProposalResponsePayload,
//! ChaincodeAction, read-write set, event) and `proto_encode` re-marshals it with Fabric's Go
//! protobuf; the bytes must come back identical.
//!
//! Needs Fabric's `configtxlator` (`$FABRIC_BIN/configtxlator`, else
//! `~/.cache/fabric-real/bin/configtxlator`, else `PATH`); skips with a message without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use prost::Message as _;
use sfcbc_fabric::msp::MspDir;
use sfcbc_fabric::protos::protos::Response;
use sfcbc_fabric::tx::{ProposalBuilder, create_signed_transaction, unpack_proposal};

fn configtxlator() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("FABRIC_BIN") {
        candidates.push(PathBuf::from(dir).join("configtxlator"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/fabric-real/bin/configtxlator"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|p| p.join("configtxlator")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Decodes with Fabric, re-encodes with Fabric; returns (JSON, re-encoded bytes).
fn round_trip(bin: &Path, typ: &str, bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let json = dir.path().join("out.json");
    let output = dir.path().join("out.bin");
    std::fs::write(&input, bytes).unwrap();
    let status = Command::new(bin)
        .args(["proto_decode", "--type", typ, "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&json)
        .status()
        .unwrap();
    assert!(status.success(), "configtxlator proto_decode failed");
    let status = Command::new(bin)
        .args(["proto_encode", "--type", typ, "--input"])
        .arg(&json)
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success(), "configtxlator proto_encode failed");
    (
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap(),
        std::fs::read(&output).unwrap(),
    )
}

fn vector(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tx/vectors.txt"),
    )
    .unwrap();
    let line = text
        .lines()
        .find(|l| l.split(' ').next() == Some(name))
        .unwrap();
    hex::decode(line.split(' ').nth(1).unwrap()).unwrap()
}

#[test]
fn fabric_decodes_and_reencodes_our_envelope_identically() {
    let Some(bin) = configtxlator() else {
        eprintln!("skipped: Fabric's configtxlator not found (set FABRIC_BIN)");
        return;
    };
    let envelope = vector("envelope");
    let (json, again) = round_trip(&bin, "common.Envelope", &envelope);
    assert_eq!(
        again, envelope,
        "Fabric re-encodes our envelope differently"
    );
    let payload = &json["payload"];
    assert_eq!(payload["header"]["channel_header"]["type"], 3);
    assert_eq!(
        payload["header"]["channel_header"]["extension"]["chaincode_id"]["name"],
        "basic"
    );
    let action = &payload["data"]["actions"][0]["payload"];
    let input = &action["chaincode_proposal_payload"]["input"]["chaincode_spec"];
    assert_eq!(input["type"], "NODE");
    assert_eq!(input["input"]["args"][0], "Q3JlYXRlQXNzZXQ="); // "CreateAsset"
    let cc_action = &action["action"]["proposal_response_payload"]["extension"];
    assert_eq!(cc_action["response"]["status"], 200);
    assert_eq!(cc_action["events"]["event_name"], "AssetCreated");
    assert_eq!(
        cc_action["results"]["ns_rwset"][0]["rwset"]["writes"][0]["key"],
        "asset1"
    );
}

#[test]
fn fabric_reencodes_an_ecdsa_transaction_identically() {
    let Some(bin) = configtxlator() else {
        eprintln!("skipped: Fabric's configtxlator not found (set FABRIC_BIN)");
        return;
    };
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crypto/peerOrganizations/org1.example.com");
    let client = MspDir::load(base.join("users/User1@org1.example.com/msp"))
        .unwrap()
        .signer("Org1MSP")
        .unwrap();
    let peer = MspDir::load(base.join("peers/peer0.org1.example.com/msp"))
        .unwrap()
        .signer("Org1MSP")
        .unwrap();
    let sp = ProposalBuilder::new("sfc", "sfcbc")
        .args(["RecordHops", "chain1", "Org1:NameWriter:1", "[]"])
        .transient("secret", b"never in the transaction".to_vec())
        .build(&client.serialize())
        .unwrap()
        .sign(&client);
    let response = Response {
        status: 200,
        message: String::new(),
        payload: b"{}".to_vec(),
    };
    let pr = unpack_proposal(&sp)
        .unwrap()
        .endorse(response, Vec::new(), None, "1", &peer);
    let env = create_signed_transaction(&sp, &[pr], &client)
        .unwrap()
        .encode_to_vec();
    let (json, again) = round_trip(&bin, "common.Envelope", &env);
    assert_eq!(again, env, "Fabric re-encodes our envelope differently");
    let payload = &json["payload"];
    assert_eq!(
        payload["data"]["actions"][0]["header"]["creator"]["mspid"],
        "Org1MSP"
    );
    // Transient data stayed out of the transaction.
    let text = json.to_string();
    assert!(!text.contains("c2VjcmV0")); // base64 "secret"
    assert!(
        payload["data"]["actions"][0]["payload"]["chaincode_proposal_payload"]["TransientMap"]
            .as_object()
            .is_none_or(|m| m.is_empty())
    );
}
