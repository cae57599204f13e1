//! devnet's chaincode support driving the OFFICIAL Node chaincode shim (`fabric-shim` /
//! `fabric-contract-api` 2.5) in CCaaS server mode (`fabric-chaincode-node server`): put/get
//! with an event, a delete, a range beyond one 100-result batch (QUERY_STATE_NEXT), a
//! paginated range, history, private data with its hash, and a contract error.
//!
//! Needs `node` and the shim's `node_modules` as `../shared/fabric-real/run-cc-node.sh`
//! installs them (`$FABRIC_HOME/cc-node/node_modules`, default `~/.cache/fabric-real`), or
//! `FABRIC_SHIM_NODE_MODULES` pointing at such a folder. Without them the test prints why
//! and passes without running.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use prost::Message;
use sfcbc_devnet::chaincode::{ChaincodeConfig, ChaincodeHandle, ChaincodeTarget, Invocation};
use sfcbc_devnet::ledger::{BlockCommit, KvWrite, Ledger, PrivateWrite, TxCommit};
use sfcbc_devnet::simulator::{SimulationResults, TxSimulator};
use sfcbc_fabric::protos::kvrwset::{HashedRwSet, KvrwSet, range_query_info::ReadsInfo};
use sfcbc_fabric::protos::msp::SerializedIdentity;
use sfcbc_fabric::tx::{ProposalBuilder, unpack_proposal};
use sha2::{Digest, Sha256};

const CHANNEL: &str = "nodechannel";
const CC: &str = "nodecc";
const PACKAGE_ID: &str = "nodecc_1.0:0a0b0c0d0e0f";

const CONTRACT: &str = r#"'use strict';
const { Contract } = require('fabric-contract-api');

class T extends Contract {
    constructor() { super('t'); }
    async put(ctx, k, v) {
        await ctx.stub.putState(k, Buffer.from(v));
        ctx.stub.setEvent('put', Buffer.from(k));
        return v;
    }
    async get(ctx, k) {
        const v = await ctx.stub.getState(k);
        if (!v || v.length === 0) { throw new Error(`key ${k} does not exist`); }
        return Buffer.from(v).toString();
    }
    async del(ctx, k) { await ctx.stub.deleteState(k); return ''; }
    async range(ctx, s, e) {
        const out = [];
        for await (const r of ctx.stub.getStateByRange(s, e)) { out.push(r.key); }
        return JSON.stringify(out);
    }
    async page(ctx, s, e, n, b) {
        const { iterator, metadata } = await ctx.stub.getStateByRangeWithPagination(s, e, parseInt(n, 10), b);
        const keys = [];
        let r = await iterator.next();
        while (!r.done) { keys.push(r.value.key); r = await iterator.next(); }
        await iterator.close();
        return JSON.stringify({ keys, count: metadata.fetchedRecordsCount, bookmark: metadata.bookmark });
    }
    async history(ctx, k) {
        const out = [];
        for await (const m of ctx.stub.getHistoryForKey(k)) { out.push(Buffer.from(m.value).toString()); }
        return JSON.stringify(out);
    }
    async pput(ctx, c, k) {
        await ctx.stub.putPrivateData(c, k, ctx.stub.getTransient().get('value'));
        return '';
    }
    async pget(ctx, c, k) { return Buffer.from(await ctx.stub.getPrivateData(c, k)).toString(); }
    async phash(ctx, c, k) { return Buffer.from(await ctx.stub.getPrivateDataHash(c, k)).toString('hex'); }
    async whoami(ctx) { return ctx.clientIdentity.getMSPID(); }
    async fail(ctx, m) { throw new Error(m); }
}
module.exports.contracts = [T];
"#;

fn node_modules() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("FABRIC_SHIM_NODE_MODULES") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var("FABRIC_HOME")
        .map(PathBuf::from)
        .or_else(|_| {
            std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("fabric-real"))
        });
    home.map(|h| h.join("cc-node").join("node_modules"))
        .map_err(|_| "neither FABRIC_HOME nor HOME is set".to_string())
}

/// The Node chaincode server process; killed when dropped.
struct NodeServer(Child);

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn identity(msp: &str) -> Vec<u8> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ca.org1.example.com");
    let issuer = Issuer::new(ca, KeyPair::generate().unwrap());
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "User1@org1.example.com");
    let cert = p.signed_by(&key, &issuer).unwrap();
    SerializedIdentity {
        mspid: msp.into(),
        id_bytes: cert.pem().into_bytes(),
    }
    .encode_to_vec()
}

fn invocation(creator: &[u8], args: &[&str], transient: &[(&str, &[u8])]) -> Invocation {
    let mut b = ProposalBuilder::new(CHANNEL, CC).args(args.iter().map(|a| a.as_bytes().to_vec()));
    for (k, v) in transient {
        b = b.transient(*k, v.to_vec());
    }
    let signed = b.build(creator).unwrap().with_signature(vec![0x30, 0x01]);
    Invocation::from_proposal(&unpack_proposal(&signed).unwrap())
}

fn commit(ledger: &Ledger, txs: Vec<TxCommit>) {
    let snap = ledger.snapshot().unwrap();
    let number = snap.height().unwrap();
    let previous_hash = match number {
        0 => Vec::new(),
        n => snap.header(n - 1).unwrap().unwrap().hash,
    };
    ledger
        .commit_block(&BlockCommit {
            number,
            previous_hash,
            data_hash: Sha256::digest(number.to_be_bytes()).to_vec(),
            block_bytes: vec![0],
            txs,
        })
        .unwrap();
}

fn to_commit(txid: &str, r: &SimulationResults) -> TxCommit {
    let mut tx = TxCommit {
        tx_id: txid.into(),
        ..Default::default()
    };
    for ns in &r.public.ns_rwset {
        for w in KvrwSet::decode(ns.rwset.as_slice()).unwrap().writes {
            tx.writes.push(KvWrite {
                namespace: ns.namespace.clone(),
                key: w.key,
                value: (!w.is_delete).then_some(w.value),
            });
        }
    }
    for ns in r.private.iter().flat_map(|p| &p.ns_pvt_rwset) {
        for c in &ns.collection_pvt_rwset {
            for w in KvrwSet::decode(c.rwset.as_slice()).unwrap().writes {
                let p = PrivateWrite {
                    namespace: ns.namespace.clone(),
                    collection: c.collection_name.clone(),
                    key: w.key,
                    value: (!w.is_delete).then_some(w.value),
                };
                tx.hashed_writes.push(p.hashed());
                tx.private_writes.push(p);
            }
        }
    }
    tx
}

#[tokio::test]
async fn official_node_shim_in_ccaas_mode() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: node is not installed (Node 20 runs the official fabric-shim; apt-get install nodejs)"
        );
        return;
    }
    let modules = match node_modules() {
        Ok(m) if m.join(".bin/fabric-chaincode-node").exists() => m,
        Ok(m) => {
            eprintln!(
                "SKIPPED: no fabric-shim at {} (run ../shared/fabric-real/run-cc-node.sh once, or npm install fabric-shim@2.5 fabric-contract-api@2.5 and set FABRIC_SHIM_NODE_MODULES)",
                m.display()
            );
            return;
        }
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            return;
        }
    };

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.js"), CONTRACT).unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name":"devnet-node-cc","version":"1.0.0","main":"index.js","private":true}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink(&modules, dir.path().join("node_modules")).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let address = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("cc.log")).unwrap();
    let _server = NodeServer(
        Command::new("node")
            .arg(modules.join(".bin/fabric-chaincode-node"))
            .args(["server", "--chaincode-address", &address])
            .args(["--chaincode-id", PACKAGE_ID, "--module-path"])
            .arg(dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start fabric-chaincode-node"),
    );

    // The server takes a moment to start listening.
    let config = ChaincodeConfig {
        keepalive: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let mut cc = None;
    for _ in 0..100 {
        match ChaincodeHandle::connect(
            ChaincodeTarget::plaintext(address.clone()),
            PACKAGE_ID,
            config.clone(),
        )
        .await
        {
            Ok(h) => {
                cc = Some(h);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let log = || std::fs::read_to_string(dir.path().join("cc.log")).unwrap_or_default();
    let cc = cc.unwrap_or_else(|| panic!("the Node chaincode never registered; log:\n{}", log()));

    let ldir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(ldir.path(), CHANNEL).unwrap();
    commit(&ledger, vec![TxCommit::default()]);
    let user = identity("Org1MSP");
    let run = |args: Vec<String>, transient: Vec<(&'static str, Vec<u8>)>| {
        let (cc, ledger, user) = (&cc, &ledger, &user);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let t: Vec<(&str, &[u8])> = transient.iter().map(|(k, v)| (*k, v.as_slice())).collect();
            let inv = invocation(user, &args, &t);
            let mut sim = TxSimulator::new(&inv.tx_id, ledger.snapshot().unwrap());
            let out = cc
                .execute(&inv, &mut sim)
                .await
                .unwrap_or_else(|e| panic!("{args:?}: {e}"));
            (inv.tx_id.clone(), out, sim.results().unwrap())
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // put + event, committed.
    let (txid, out, rw) = run(s(&["put", "a", "1"]), vec![]).await;
    assert_eq!(out.response.status, 200, "{:?}\n{}", out.response, log());
    assert_eq!(out.response.payload, b"1");
    let ev = out.event.expect("event");
    assert_eq!(
        (ev.event_name.as_str(), ev.chaincode_id.as_str()),
        ("put", CC)
    );
    assert_eq!(ev.tx_id, txid);
    let kv = KvrwSet::decode(rw.public.ns_rwset[0].rwset.as_slice()).unwrap();
    assert_eq!(kv.writes[0].key, "a");
    commit(&ledger, vec![to_commit(&txid, &rw)]);

    // get reads the committed version.
    let (_, out, rw) = run(s(&["get", "a"]), vec![]).await;
    assert_eq!(out.response.payload, b"1");
    let kv = KvrwSet::decode(rw.public.ns_rwset[0].rwset.as_slice()).unwrap();
    let v = kv.reads[0].version.unwrap();
    assert_eq!((v.block_num, v.tx_num), (1, 0));
    assert_eq!(
        run(s(&["whoami"]), vec![]).await.1.response.payload,
        b"Org1MSP"
    );

    // A contract error: COMPLETED with status 500 and the message.
    let (_, out, _) = run(s(&["get", "missing"]), vec![]).await;
    assert_eq!(out.response.status, 500);
    assert!(
        out.response.message.contains("key missing does not exist"),
        "{:?}",
        out.response
    );
    let (_, out, _) = run(s(&["fail", "nope"]), vec![]).await;
    assert_eq!(
        (out.response.status, out.response.message.as_str()),
        (500, "nope")
    );

    // 150 keys: the unpaginated range spans two batches (QUERY_STATE_NEXT).
    let mut load = TxSimulator::new("load", ledger.snapshot().unwrap());
    for i in 0..150 {
        load.set_state(CC, &format!("r{i:03}"), b"x").unwrap();
    }
    commit(&ledger, vec![to_commit("load", &load.results().unwrap())]);
    let (_, out, rw) = run(s(&["range", "r000", "r999"]), vec![]).await;
    let keys: Vec<String> = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(keys.len(), 150, "{}", log());
    let kv = KvrwSet::decode(rw.public.ns_rwset[0].rwset.as_slice()).unwrap();
    assert!(kv.range_queries_info[0].itr_exhausted);
    assert!(matches!(
        kv.range_queries_info[0].reads_info,
        Some(ReadsInfo::ReadsMerkleHashes(_))
    ));

    // Paginated.
    let (_, out, rw) = run(s(&["page", "r000", "r999", "40", ""]), vec![]).await;
    let page: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(page["keys"].as_array().unwrap().len(), 40);
    assert_eq!(page["count"], 40);
    assert_eq!(page["bookmark"], "r040");
    let kv = KvrwSet::decode(rw.public.ns_rwset[0].rwset.as_slice()).unwrap();
    let q = &kv.range_queries_info[0];
    assert_eq!(
        (q.start_key.as_str(), q.end_key.as_str(), q.itr_exhausted),
        ("r000", "r039", false)
    );
    let (_, out, _) = run(s(&["page", "r000", "r999", "40", "r120"]), vec![]).await;
    let page: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(page["keys"].as_array().unwrap().len(), 30);
    assert_eq!(page["bookmark"], "");

    // History, newest first; then a delete.
    let (txid, _, rw) = run(s(&["put", "a", "2"]), vec![]).await;
    commit(&ledger, vec![to_commit(&txid, &rw)]);
    let (_, out, _) = run(s(&["history", "a"]), vec![]).await;
    let h: Vec<String> = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(h, vec!["2", "1"]);
    let (_, out, rw) = run(s(&["del", "a"]), vec![]).await;
    assert_eq!(out.response.status, 200);
    let kv = KvrwSet::decode(rw.public.ns_rwset[0].rwset.as_slice()).unwrap();
    assert!(kv.writes[0].is_delete);

    // Private data from the transient map, its hash in the public rwset.
    let coll = "_implicit_org_Org1MSP";
    let (txid, out, rw) = run(s(&["pput", coll, "p"]), vec![("value", b"hush".to_vec())]).await;
    assert_eq!(out.response.status, 200, "{:?}", out.response);
    // after `_lifecycle`: a collection access reads the definition
    let ch = &rw
        .public
        .ns_rwset
        .iter()
        .find(|n| n.namespace == CC)
        .expect("the chaincode's namespace")
        .collection_hashed_rwset[0];
    let h = HashedRwSet::decode(ch.hashed_rwset.as_slice()).unwrap();
    assert_eq!(
        h.hashed_writes[0].value_hash,
        Sha256::digest(b"hush").to_vec()
    );
    commit(&ledger, vec![to_commit(&txid, &rw)]);
    let (_, out, _) = run(s(&["pget", coll, "p"]), vec![]).await;
    assert_eq!(out.response.payload, b"hush");
    let (_, out, _) = run(s(&["phash", coll, "p"]), vec![]).await;
    assert_eq!(
        out.response.payload,
        hex::encode(Sha256::digest(b"hush")).into_bytes()
    );
}
