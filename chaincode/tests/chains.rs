//! CreateChain, UpdateChain, DisableChain, GetChain, ListChains: happy paths, every error,
//! and the access matrix (owner / the hop's SP / another SP / manager / stranger).

mod common;

use common::*;
use serde_json::json;
use sfcbc_chaincode::keys;

#[test]
fn create_chain_writes_chain_and_hop_status() {
    let mut net = Net::default();
    let out = net.submit(stranger(), &["CreateChain", &chain_json("hash")]);
    let chain = out.json();
    assert_eq!(chain["version"], 1);
    assert_eq!(chain["state"], "active");
    assert_eq!(chain["owner"]["msp"], "Org9MSP");
    let expected_id = sfcbc_chaincode::client_id(&stranger().id_bytes).unwrap();
    assert_eq!(chain["owner"]["id"], expected_id);
    assert_eq!(chain["createdTx"], out.tx_id.as_str());
    assert_eq!(chain["createdAt"], "2023-11-14T22:13:20Z");
    assert_eq!(chain["classifier"], CLASSIFIER);
    let writes: Vec<&String> = out.record.writes.keys().collect();
    assert_eq!(writes.len(), 4);
    assert!(
        out.record
            .writes
            .contains_key(&keys::chain_key(CHAIN).unwrap())
    );
    for hop in [HOP1, HOP2, HOP3] {
        let status = out.record.writes[&keys::hop_key(CHAIN, hop).unwrap()]
            .clone()
            .unwrap();
        let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
        assert_eq!(status["state"], "init");
        assert_eq!(status["chainVersion"], 1);
    }
    let event = out.record.event.unwrap();
    assert_eq!(event.name, "ChainCreated");
    let payload: serde_json::Value = serde_json::from_slice(&event.payload).unwrap();
    assert_eq!(
        payload,
        json!({"chain": CHAIN, "version": 1, "state": "active", "txId": out.tx_id})
    );
    assert!(out.record.private_writes.is_empty());
}

#[test]
fn create_chain_rejects_bad_specs() {
    let mut net = Net::default();
    let hop = |psiid: &str, addr: &str, validation: &str| json!({"psiid": psiid, "spMsp": "Org1MSP", "address": addr, "validation": validation});
    let good = hop(HOP1, HOP1_ADDR, "none");
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "chainJSON"),
        (json!({"id": CHAIN, "hops": [good], "extra": 1}).to_string(), "chainJSON"),
        (json!({"id": "bad/id", "hops": [good]}).to_string(), "chain.id"),
        (json!({"id": "", "hops": [good]}).to_string(), "chain.id"),
        (json!({"id": "x".repeat(129), "hops": [good]}).to_string(), "chain.id"),
        (json!({"id": CHAIN, "hops": []}).to_string(), "chain.hops"),
        (
            json!({"id": CHAIN, "hops": (0..65).map(|i| hop(&format!("Org1:F:{i}"), HOP1_ADDR, "none")).collect::<Vec<_>>()})
                .to_string(),
            "chain.hops",
        ),
        (json!({"id": CHAIN, "hops": [good, good]}).to_string(), "chain.hops[1].psiid"),
        (json!({"id": CHAIN, "hops": [hop("Org1:F", HOP1_ADDR, "none")]}).to_string(), "chain.hops[0].psiid"),
        (json!({"id": CHAIN, "hops": [hop(HOP1, "nowhere", "none")]}).to_string(), "chain.hops[0].address"),
        (json!({"id": CHAIN, "hops": [hop(HOP1, HOP1_ADDR, "Hash")]}).to_string(), "chainJSON"),
        (json!({"id": CHAIN, "hops": [good], "classifier": "x:0"}).to_string(), "chain.classifier"),
        (
            json!({"id": CHAIN, "hops": [{"psiid": HOP1, "spMsp": "Org 1", "address": HOP1_ADDR, "validation": "none"}]})
                .to_string(),
            "chain.hops[0].spMsp",
        ),
        (
            json!({"id": CHAIN, "hops": [{"psiid": HOP1, "spMsp": "Org1MSP", "address": HOP1_ADDR, "validation": "none", "collection": "a:b"}]})
                .to_string(),
            "chain.hops[0].collection",
        ),
    ];
    for (spec, field) in cases {
        let out = net.submit(owner(), &["CreateChain", &spec]);
        out.fails(400, &format!("`{field}`"));
        assert!(out.record.writes.is_empty());
    }
    net.submit(owner(), &["CreateChain"]).fails(400, "`args`");
    net.submit(owner(), &["CreateChain", "{}", "{}"])
        .fails(400, "`args`");
    // 64 hops is the limit, not beyond.
    let hops: Vec<_> = (0..64)
        .map(|i| hop(&format!("Org1:F:{i}"), HOP1_ADDR, "none"))
        .collect();
    net.submit(
        owner(),
        &[
            "CreateChain",
            &json!({"id": "big", "hops": hops}).to_string(),
        ],
    )
    .json();
}

#[test]
fn create_chain_twice_conflicts() {
    let mut net = Net::with_chain("none");
    net.submit(sp1(), &["CreateChain", &chain_json("hash")])
        .fails(409, "exists already");
}

#[test]
fn update_chain_by_owner_only() {
    let mut net = Net::with_chain("none");
    let mut spec: serde_json::Value = serde_json::from_str(&chain_json("address")).unwrap();
    spec["hops"].as_array_mut().unwrap().push(
        json!({"psiid": "Org4:Proxy:1", "spMsp": "Org4MSP", "address": "10.0.0.1:53", "validation": "none", "collection": "sfcOrg4"}),
    );
    let spec = spec.to_string();
    for who in [owner_colleague(), sp1(), sp2(), manager(), stranger()] {
        let out = net.submit(who, &["UpdateChain", &spec]);
        out.fails(403, "only the owner");
        assert!(out.record.writes.is_empty());
    }
    let out = net.submit(owner(), &["UpdateChain", &spec]);
    let chain = out.json();
    assert_eq!(chain["version"], 2);
    assert_eq!(chain["hops"][0]["validation"], "address");
    assert_eq!(chain["createdTx"], "tx000001");
    assert_eq!(chain["updatedTx"], out.tx_id.as_str());
    // Only the new hop gets an init status.
    assert_eq!(out.record.writes.len(), 2);
    assert!(
        out.record
            .writes
            .contains_key(&keys::hop_key(CHAIN, "Org4:Proxy:1").unwrap())
    );
    assert_eq!(out.record.event.unwrap().name, "ChainUpdated");

    net.submit(
        owner(),
        &["UpdateChain", &chain_json("none").replace(CHAIN, "nochain")],
    )
    .fails(404, "does not exist");
    net.submit(owner(), &["UpdateChain", "[]"])
        .fails(400, "chainJSON");
    net.submit(owner(), &["DisableChain", CHAIN]).json();
    net.submit(owner(), &["UpdateChain", &spec])
        .fails(409, "disabled");
}

#[test]
fn disable_chain_by_owner_only() {
    let mut net = Net::with_chain("none");
    for who in [owner_colleague(), sp1(), manager(), stranger()] {
        net.submit(who, &["DisableChain", CHAIN])
            .fails(403, "only the owner");
    }
    let out = net.submit(owner(), &["DisableChain", CHAIN]);
    let chain = out.json();
    assert_eq!(chain["state"], "disabled");
    assert_eq!(chain["version"], 2);
    let event = out.record.event.unwrap();
    assert_eq!(event.name, "ChainUpdated");
    assert!(
        String::from_utf8(event.payload)
            .unwrap()
            .contains("\"state\":\"disabled\"")
    );
    net.submit(owner(), &["DisableChain", CHAIN])
        .fails(409, "disabled already");
    net.submit(owner(), &["DisableChain", "other"])
        .fails(404, "does not exist");
    net.submit(owner(), &["DisableChain", "a\u{0}b"])
        .fails(400, "`chain`");
    net.submit(owner(), &["DisableChain"]).fails(400, "`args`");
}

#[test]
fn get_chain_access_matrix() {
    let net = Net::with_chain("none");
    for who in [owner(), sp1(), sp2(), sp3(), manager()] {
        assert_eq!(net.evaluate(who, &["GetChain", CHAIN]).json()["id"], CHAIN);
    }
    for who in [owner_colleague(), stranger()] {
        net.evaluate(who, &["GetChain", CHAIN])
            .fails(403, "not a member");
    }
    net.evaluate(owner(), &["GetChain", "nope"])
        .fails(404, "nope");
    net.evaluate(owner(), &["GetChain", "bad id"])
        .fails(400, "`chain`");
    let out = net.evaluate(owner(), &["GetChain", CHAIN]);
    assert!(out.record.writes.is_empty());
    assert_eq!(
        out.record.read_keys(),
        vec![keys::chain_key(CHAIN).unwrap()]
    );
}

#[test]
fn list_chains_shows_member_chains() {
    let mut net = Net::with_chain("none");
    let other = chain_json("none")
        .replace(CHAIN, "chain2")
        .replace("Org2MSP", "Org5MSP");
    net.submit(stranger(), &["CreateChain", &other]).json();
    let ids = |who| -> Vec<String> {
        net.evaluate(who, &["ListChains"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(owner()), vec!["chain1"]);
    assert_eq!(ids(stranger()), vec!["chain2"]);
    assert_eq!(ids(sp1()), vec!["chain1", "chain2"]);
    assert_eq!(ids(sp2()), vec!["chain1"]);
    assert_eq!(ids(manager()), vec!["chain1", "chain2"]);
    assert!(ids(owner_colleague()).is_empty());
    net.evaluate(owner(), &["ListChains", "x"])
        .fails(400, "`args`");
}
