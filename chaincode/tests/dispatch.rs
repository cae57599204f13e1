//! The dispatcher: function names, argument limits, caller identity, metadata, determinism,
//! and that no submit transaction paginates.

mod common;

use common::*;
use futures::executor::block_on;
use serde_json::json;
use sfcbc_chaincode::tx::{TRANSACTIONS, TxKind};
use sfcbc_chaincode::{Creator, dispatch};

#[test]
fn function_names() {
    let net = Net::with_chain("none");
    net.evaluate(owner(), &[]).fails(400, "`function`");
    net.evaluate(owner(), &["NoSuchFn"])
        .fails(400, "not a transaction");
    net.evaluate(owner(), &["getchain", CHAIN])
        .fails(400, "not a transaction");
    net.evaluate(owner(), &["SfcContract:GetChain", CHAIN])
        .json();
    net.evaluate(owner(), &["SfcContract:", CHAIN])
        .fails(400, "`function`");
    net.evaluate(owner(), &["org.hyperledger.fabric:Other"])
        .fails(400, "`function`");
    let stub = net.stub(owner(), &[]);
    let r = block_on(dispatch(&stub, &[vec![0xff, 0xfe]]));
    assert_eq!(r.status, 400);
    assert!(r.message.contains("`function`"));
    let r = block_on(dispatch(&stub, &[b"GetChain".to_vec(), vec![0xc3]]));
    assert_eq!(r.status, 400);
    assert!(r.message.contains("`chain`"), "{}", r.message);
}

#[test]
fn args_are_capped_at_one_mebibyte() {
    let mut net = Net::default();
    let big = "x".repeat(1024 * 1024);
    net.submit(owner(), &["CreateChain", &big])
        .fails(400, "`args`");
}

#[test]
fn caller_without_certificate_is_refused() {
    let net = Net::with_chain("none");
    let nobody = Creator {
        msp_id: "Org1MSP".into(),
        id_bytes: b"not a certificate".to_vec(),
    };
    net.evaluate(nobody, &["GetChain", CHAIN])
        .fails(403, "PEM block not found");
    let broken = Creator {
        msp_id: "Org1MSP".into(),
        id_bytes: b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
    };
    net.evaluate(broken, &["GetChain", CHAIN])
        .fails(403, "caller identity");
}

#[test]
fn metadata_has_fabric_contract_api_shape() {
    let net = Net::default();
    let nobody = Creator {
        msp_id: "X".into(),
        id_bytes: vec![],
    };
    let m = net
        .evaluate(nobody, &["org.hyperledger.fabric:GetMetadata"])
        .json();
    let contract = &m["contracts"]["SfcContract"];
    assert_eq!(contract["name"], "SfcContract");
    assert_eq!(contract["default"], true);
    let txs = contract["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), TRANSACTIONS.len());
    let names: Vec<&str> = txs.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for info in TRANSACTIONS {
        let tx = txs.iter().find(|t| t["name"] == info.name).unwrap();
        let tag = match info.kind {
            TxKind::Submit => json!(["SUBMIT", "submit"]),
            TxKind::Evaluate => json!(["EVALUATE", "evaluate"]),
        };
        assert_eq!(tx["tag"], tag, "{}", info.name);
        let params: Vec<&str> = tx["parameters"]
            .as_array()
            .map(|p| {
                p.iter()
                    .map(|p| {
                        assert_eq!(p["schema"]["type"], "string");
                        p["name"].as_str().unwrap()
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(params, info.params, "{}", info.name);
        let returns = tx["returns"].to_string();
        if let Some(r) = returns.split("#/components/schemas/").nth(1) {
            let name = r.split('"').next().unwrap();
            assert!(
                m["components"]["schemas"][name]["$id"] == name,
                "{name} schema"
            );
        }
    }
    let kinds = |k: TxKind| TRANSACTIONS.iter().filter(|t| t.kind == k).count();
    assert_eq!((kinds(TxKind::Submit), kinds(TxKind::Evaluate)), (8, 6));
    let system = &m["contracts"]["org.hyperledger.fabric"];
    assert_eq!(system["transactions"][0]["name"], "GetMetadata");
    assert_eq!(system["default"], false);
    assert_eq!(
        m["components"]["schemas"]["Chain"]["additionalProperties"],
        false
    );
    assert!(m["info"]["version"].is_string());
    net.evaluate(owner(), &["org.hyperledger.fabric:GetMetadata", "x"])
        .fails(400, "`function`");
}

/// Runs the whole demo flow twice on fresh ledgers: same responses, writes and events.
#[test]
fn deterministic() {
    let run = || {
        let (mut net, mut log) = (Net::with_auth("hash+address"), Vec::new());
        let out = net.record(
            sp1(),
            HOP1,
            json!([rec(1, &hash("m"), &hash("m1"), CLASSIFIER, HOP2_ADDR)]),
        );
        log.push((out.response.clone(), out.record.clone()));
        let out = net.evaluate(sp2(), &["CheckIn", CHAIN, HOP2, &hash("m1"), HOP1_ADDR]);
        log.push((out.response.clone(), out.record.clone()));
        let out = net.evaluate(owner(), &["TraceMessage", CHAIN, &hash("m")]);
        log.push((out.response.clone(), out.record.clone()));
        (log, net.ledger.state.clone(), net.ledger.private.clone())
    };
    assert_eq!(run(), run());
}

/// Every submit transaction's happy path, checked not to paginate; evaluate ones not to write.
#[test]
fn submits_never_paginate_and_evaluates_never_write() {
    let mut net = Net::with_auth("hash");
    let records = json!([rec(1, &hash("m"), &hash("m1"), CLASSIFIER, HOP2_ADDR)]).to_string();
    let err = json!({"kind": "auth", "detail": "", "src": CLASSIFIER, "inputHash": hash("z")})
        .to_string();
    let (c2, updated, h) = (
        chain_json("none").replace(CHAIN, "c2"),
        chain_json("hash"),
        "ab".repeat(32),
    );
    let mut covered = std::collections::BTreeSet::new();
    type Submit<'a> = (Creator, Vec<&'a str>, Vec<(&'a str, &'a [u8])>);
    let submits: Vec<Submit> = vec![
        (owner(), vec!["CreateChain", &c2], vec![]),
        (owner(), vec!["UpdateChain", &updated], vec![]),
        (
            owner(),
            vec!["ShareAuth", CHAIN, HOP1],
            vec![
                ("account", b"tenant1"),
                ("secret", b"s3cret"),
                ("salt", SALT),
            ],
        ),
        (
            owner(),
            vec!["ShareEndpoints", CHAIN, HOP1],
            vec![("source", SOURCE.as_bytes()), ("salt", SALT)],
        ),
        (
            sp1(),
            vec!["RegisterAccount", "u2"],
            vec![("secret", b"x"), ("salt", SALT)],
        ),
        (sp1(), vec!["RecordHops", CHAIN, HOP1, &records], vec![]),
        (sp1(), vec!["RecordError", CHAIN, HOP1, &err], vec![]),
        (owner(), vec!["DisableChain", "c2"], vec![]),
    ];
    for (who, args, transient) in submits {
        let out = net.submit_t(who, &args, &transient);
        assert_eq!(out.status(), 200, "{}: {}", args[0], out.response.message);
        assert!(!out.record.paginated, "{} paginated", args[0]);
        covered.insert(args[0]);
    }
    let evaluates: Vec<Vec<&str>> = vec![
        vec!["GetChain", CHAIN],
        vec!["ListChains"],
        vec!["CheckIn", CHAIN, HOP1, &h, CLASSIFIER],
        vec!["GetRecords", CHAIN, "", "10", ""],
        vec!["GetErrors", CHAIN, "", "10", ""],
        vec!["TraceMessage", CHAIN, &h],
    ];
    for args in evaluates {
        let out = net.evaluate(owner_or_sp(&args), &args);
        assert_eq!(out.status(), 200, "{}: {}", args[0], out.response.message);
        assert!(
            out.record.writes.is_empty()
                && out.record.private_writes.is_empty()
                && out.record.event.is_none()
        );
        covered.insert(args[0]);
    }
    assert_eq!(covered.len(), TRANSACTIONS.len());
}

fn owner_or_sp(args: &[&str]) -> Creator {
    if args[0] == "CheckIn" { sp1() } else { owner() }
}
