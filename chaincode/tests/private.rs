//! ShareAuth, ShareEndpoints, RegisterAccount: transient-only inputs, writes only to the
//! right collection and nothing public, secrets never echoed, every error, access.

mod common;

use common::*;
use serde_json::json;
use sfcbc_chaincode::keys;

const SECRET: &[u8] = b"correct horse battery staple";

fn auth_transient() -> Vec<(&'static str, &'static [u8])> {
    vec![("account", b"tenant1"), ("secret", SECRET), ("salt", SALT)]
}

#[test]
fn share_auth_writes_only_the_hop_collection() {
    let mut net = Net::with_chain("hash");
    let out = net.submit_t(owner(), &["ShareAuth", CHAIN, HOP2], &auth_transient());
    let body = out.json();
    assert_eq!(body["collection"], "_implicit_org_Org2MSP");
    assert!(out.record.writes.is_empty(), "nothing public");
    assert!(out.record.event.is_none(), "events are public");
    let key = keys::auth_key(CHAIN, HOP2).unwrap();
    let written = out.record.private_writes[&("_implicit_org_Org2MSP".to_owned(), key.clone())]
        .clone()
        .unwrap();
    let text = String::from_utf8(written).unwrap();
    assert!(
        !text.contains("correct horse"),
        "the secret itself is never stored"
    );
    assert!(text.contains(&hex::encode(SALT)));
    assert!(!String::from_utf8_lossy(&out.response.payload).contains("correct horse"));
    // The public ledger holds hashes of key and value only.
    let hashes = out.record.private_write_hashes();
    assert_eq!(hashes.len(), 1);
    let ((collection, key_hash), value_hash) = hashes.into_iter().next().unwrap();
    assert_eq!(collection, "_implicit_org_Org2MSP");
    assert_eq!(
        key_hash,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()))
    );
    assert!(value_hash.is_some());
    assert!(
        net.ledger
            .get_private("_implicit_org_Org2MSP", &key)
            .is_some()
    );
}

#[test]
fn share_auth_uses_an_explicit_collection() {
    let mut net = Net::default();
    let spec = json!({"id": CHAIN, "hops": [{"psiid": HOP1, "spMsp": "Org1MSP", "address": HOP1_ADDR, "validation": "none", "collection": "sfcOrg1"}]});
    net.submit(owner(), &["CreateChain", &spec.to_string()])
        .json();
    let out = net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &auth_transient());
    assert_eq!(out.json()["collection"], "sfcOrg1");
    assert!(
        out.record
            .private_writes
            .keys()
            .all(|(c, _)| c == "sfcOrg1")
    );
}

#[test]
fn share_auth_errors() {
    let mut net = Net::with_chain("none");
    let t = auth_transient();
    // A secret in the arguments is refused outright.
    net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1, "s3cret"], &t)
        .fails(400, "transient map");
    net.submit_t(owner(), &["ShareAuth", CHAIN], &t)
        .fails(400, "`args`");
    for missing in ["account", "secret", "salt"] {
        let partial: Vec<_> = t.iter().copied().filter(|(k, _)| *k != missing).collect();
        net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &partial)
            .fails(400, &format!("`transient.{missing}`"));
    }
    let short = [
        ("account", &b"tenant1"[..]),
        ("secret", SECRET),
        ("salt", b"short"),
    ];
    net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &short)
        .fails(400, "`transient.salt`");
    let empty = [
        ("account", &b"tenant1"[..]),
        ("secret", b""),
        ("salt", SALT),
    ];
    net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &empty)
        .fails(400, "`transient.secret`");
    let big = vec![b'x'; 4097];
    let big = [
        ("account", &b"tenant1"[..]),
        ("secret", &big[..]),
        ("salt", SALT),
    ];
    net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &big)
        .fails(400, "`transient.secret`");
    let bad_account = [
        ("account", &b"ten ant"[..]),
        ("secret", SECRET),
        ("salt", SALT),
    ];
    net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &bad_account)
        .fails(400, "`transient.account`");
    let mut extra = t.clone();
    extra.push(("password", b"x"));
    net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &extra)
        .fails(400, "`transient.password`");
    net.submit_t(owner(), &["ShareAuth", CHAIN, "Org1:Nope:1"], &t)
        .fails(404, "not in chain");
    net.submit_t(owner(), &["ShareAuth", "nochain", HOP1], &t)
        .fails(404, "does not exist");
    net.submit_t(owner(), &["ShareAuth", CHAIN, "notapsiid"], &t)
        .fails(400, "`psiid`");
    for who in [owner_colleague(), sp1(), sp2(), manager(), stranger()] {
        let out = net.submit_t(who, &["ShareAuth", CHAIN, HOP1], &t);
        out.fails(403, "only the owner");
        assert!(out.record.private_writes.is_empty());
    }
    net.submit(owner(), &["DisableChain", CHAIN]).json();
    net.submit_t(owner(), &["ShareAuth", CHAIN, HOP1], &t)
        .fails(409, "disabled");
}

#[test]
fn share_endpoints_first_and_last_hop_only() {
    let mut net = Net::with_chain("address");
    let src = [("source", SOURCE.as_bytes()), ("salt", SALT)];
    let dst = [("destination", DESTINATION.as_bytes()), ("salt", SALT)];
    let out = net.submit_t(owner(), &["ShareEndpoints", CHAIN, HOP1], &src);
    assert_eq!(out.json()["collection"], "_implicit_org_Org1MSP");
    assert!(out.record.writes.is_empty() && out.record.event.is_none());
    assert!(!String::from_utf8_lossy(&out.response.payload).contains(SOURCE));
    net.submit_t(owner(), &["ShareEndpoints", CHAIN, HOP3], &dst)
        .json();
    net.submit_t(owner(), &["ShareEndpoints", CHAIN, HOP2], &src)
        .fails(400, "first hop");
    net.submit_t(owner(), &["ShareEndpoints", CHAIN, HOP1], &dst)
        .fails(400, "last hop");
    net.submit_t(owner(), &["ShareEndpoints", CHAIN, HOP1], &[("salt", SALT)])
        .fails(400, "`transient.source`");
    net.submit_t(
        owner(),
        &["ShareEndpoints", CHAIN, HOP1],
        &[("source", b"nowhere"), ("salt", SALT)],
    )
    .fails(400, "`transient.source`");
    net.submit_t(
        owner(),
        &["ShareEndpoints", CHAIN, HOP3],
        &[("destination", b"x:99999"), ("salt", SALT)],
    )
    .fails(400, "`transient.destination`");
    net.submit_t(
        owner(),
        &["ShareEndpoints", CHAIN, HOP1],
        &[("source", SOURCE.as_bytes())],
    )
    .fails(400, "`transient.salt`");
    net.submit_t(owner(), &["ShareEndpoints", CHAIN, HOP1, SOURCE], &src)
        .fails(400, "transient map");
    net.submit_t(
        owner(),
        &["ShareEndpoints", CHAIN, HOP1],
        &[("source", &[0xff][..]), ("salt", SALT)],
    )
    .fails(400, "`transient.source`");
    for who in [owner_colleague(), sp1(), manager(), stranger()] {
        net.submit_t(who, &["ShareEndpoints", CHAIN, HOP1], &src)
            .fails(403, "only the owner");
    }
    net.submit_t(owner(), &["ShareEndpoints", CHAIN, "Org9:X:1"], &src)
        .fails(404, "not in chain");
    net.submit(owner(), &["DisableChain", CHAIN]).json();
    net.submit_t(owner(), &["ShareEndpoints", CHAIN, HOP1], &src)
        .fails(409, "disabled");
}

#[test]
fn register_account_writes_callers_own_collection() {
    let mut net = Net::default();
    let t = [("secret", SECRET), ("salt", SALT)];
    for (who, msp) in [(sp1(), "Org1MSP"), (sp2(), "Org2MSP")] {
        let out = net.submit_t(who, &["RegisterAccount", "tenant1"], &t);
        assert_eq!(out.json()["collection"], format!("_implicit_org_{msp}"));
        assert!(out.record.writes.is_empty() && out.record.event.is_none());
        let keys: Vec<_> = out.record.private_writes.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![(
                format!("_implicit_org_{msp}"),
                keys::account_key("tenant1").unwrap()
            )]
        );
        assert!(!String::from_utf8_lossy(&out.response.payload).contains("horse"));
    }
    net.submit_t(sp1(), &["RegisterAccount", "tenant1", "s3cret"], &t)
        .fails(400, "transient map");
    net.submit_t(sp1(), &["RegisterAccount"], &t)
        .fails(400, "`args`");
    net.submit_t(sp1(), &["RegisterAccount", "bad user"], &t)
        .fails(400, "`user`");
    net.submit_t(sp1(), &["RegisterAccount", "tenant1"], &[("salt", SALT)])
        .fails(400, "`transient.secret`");
    net.submit_t(
        sp1(),
        &["RegisterAccount", "tenant1"],
        &[("secret", SECRET)],
    )
    .fails(400, "`transient.salt`");
    net.submit_t(
        sp1(),
        &["RegisterAccount", "tenant1"],
        &[("secret", SECRET), ("salt", SALT), ("account", b"x")],
    )
    .fails(400, "`transient.account`");
}
