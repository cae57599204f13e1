//! The SFC contract (`sfcbc_chaincode::dispatch`) end to end through the CCaaS server and the
//! scripted peer: CreateChain, GetChain, an access-rule rejection, ShareAuth from the
//! transient map into the hop SP's implicit collection, and the events on the wire.

mod common;

use std::sync::Arc;

use common::*;
use sfcbc_ccaas::{ServerConfig, SfcContract};

const CHAIN: &str = r#"{"id":"chain1","hops":[
  {"psiid":"Org1:NameWriter:1","spMsp":"Org1MSP","address":"127.0.0.1:5001","validation":"address"},
  {"psiid":"Org2:NameWriter:1","spMsp":"Org2MSP","address":"127.0.0.1:5002","validation":"hash"}]}"#;

#[tokio::test]
async fn sfc_contract_runs_through_the_server() {
    let srv = TestServer::start(
        Arc::new(SfcContract::default()),
        ServerConfig::new(CHAINCODE_ID),
    )
    .await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    let owner = x509_identity("Org1MSP", "User1@org1.example.com", "org1.example.com");
    let sp2 = x509_identity("Org2MSP", "User1@org2.example.com", "org2.example.com");
    let stranger = x509_identity("Org3MSP", "User1@org3.example.com", "org3.example.com");

    // CreateChain: the chain comes back with the caller as owner, event ChainCreated.
    let created = peer
        .invoke_as("tx-create", &["CreateChain", CHAIN], &[], owner.clone())
        .await;
    let Outcome::Completed {
        status: 200,
        payload,
        event: Some(ev),
        ..
    } = created
    else {
        panic!("CreateChain: {created:?}");
    };
    let chain: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(chain["id"], "chain1");
    assert_eq!(chain["owner"]["msp"], "Org1MSP");
    assert_eq!(
        chain["createdTx"].as_str().or(chain["created_tx"].as_str()),
        Some("tx-create")
    );
    assert_eq!(ev.event_name, "ChainCreated");
    {
        let l = peer.ledger.lock().unwrap();
        let public: Vec<&String> = l
            .state
            .keys()
            .filter(|(c, _)| c.is_empty())
            .map(|(_, k)| k)
            .collect();
        assert!(
            public.iter().any(|k| k.contains("chain1")),
            "chain written: {public:?}"
        );
    }

    // GetChain by a hop's SP.
    let got = peer
        .invoke_as("tx-get", &["GetChain", "chain1"], &[], sp2.clone())
        .await;
    let v: serde_json::Value = serde_json::from_str(&got.ok_payload()).unwrap();
    assert_eq!(v["id"], "chain1");
    assert_eq!(v["hops"].as_array().unwrap().len(), 2);

    // Access rule: a stranger may not read it; a chaincode error (403) in COMPLETED.
    match peer
        .invoke_as("tx-deny", &["GetChain", "chain1"], &[], stranger)
        .await
    {
        Outcome::Completed {
            status: 403,
            message,
            ..
        } => assert!(!message.is_empty()),
        other => panic!("expected 403: {other:?}"),
    }
    // Bad input: 400 naming the field.
    match peer
        .invoke_as("tx-bad", &["CreateChain", "{not json"], &[], owner.clone())
        .await
    {
        Outcome::Completed {
            status: 400,
            message,
            ..
        } => {
            assert!(message.contains("chainJSON"), "{message}")
        }
        other => panic!("expected 400: {other:?}"),
    }

    // ShareAuth: values only from the transient map, written to Org2's implicit collection.
    let transient: &[(&str, &[u8])] = &[
        ("account", b"alice"),
        ("secret", b"hunter2"),
        ("salt", b"0123456789abcdef0123"),
    ];
    let shared = peer
        .invoke_as(
            "tx-share",
            &["ShareAuth", "chain1", "Org2:NameWriter:1"],
            transient,
            owner,
        )
        .await;
    let out = shared.ok_payload();
    assert!(
        !out.contains("hunter2"),
        "nothing secret is returned: {out}"
    );
    let l = peer.ledger.lock().unwrap();
    let private: Vec<&(String, String)> = l
        .state
        .keys()
        .filter(|(c, _)| c == "_implicit_org_Org2MSP")
        .collect();
    assert!(
        !private.is_empty(),
        "a private write to Org2's implicit collection"
    );
    for ((c, _), v) in l.state.iter() {
        if c.is_empty() {
            assert!(
                !String::from_utf8_lossy(v).contains("alice"),
                "no secret in public state"
            );
        }
    }
}

#[tokio::test]
async fn manager_msp_is_a_deployment_setting() {
    let contract = SfcContract::new(sfcbc_chaincode::Config {
        manager_msp: "AuditMSP".into(),
    });
    let srv = TestServer::start(Arc::new(contract), ServerConfig::new(CHAINCODE_ID)).await;
    let peer = ScriptedPeer::connect(srv.addr, None).await;
    let owner = x509_identity("Org1MSP", "User1@org1.example.com", "org1.example.com");
    peer.invoke_as("c", &["CreateChain", CHAIN], &[], owner)
        .await
        .ok_payload();
    let auditor = x509_identity("AuditMSP", "Admin@audit.example.com", "audit.example.com");
    let manager = x509_identity(
        "ManagerMSP",
        "Admin@manager.example.com",
        "manager.example.com",
    );
    assert!(
        peer.invoke_as("a", &["GetChain", "chain1"], &[], auditor)
            .await
            .ok_payload()
            .contains("chain1")
    );
    match peer
        .invoke_as("m", &["GetChain", "chain1"], &[], manager)
        .await
    {
        Outcome::Completed { status: 403, .. } => {}
        other => panic!("the default manager MSP is not the manager here: {other:?}"),
    }
}
