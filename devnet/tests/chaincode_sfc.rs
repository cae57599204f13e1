//! devnet's chaincode support against a REAL chaincode server over loopback: our
//! `sfcbc-ccaas` server running the SFC contract (and its small KV test contract), driven by
//! `ChaincodeHandle` with transactions simulated by `TxSimulator` on a real redb ledger.
//! Each committed step's rwset is applied to the ledger the way a committing peer would,
//! so later transactions read real versions.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sfcbc_ccaas::{Contract, KvContract, ServerConfig, SfcContract};
use sfcbc_devnet::chaincode::{
    ChaincodeConfig, ChaincodeError, ChaincodeHandle, ChaincodeOutcome, ChaincodeTarget, Invocation,
};
use sfcbc_devnet::ledger::{
    BlockCommit, HashedWrite, KvWrite, Ledger, PrivateWrite, TxCommit, composite_key,
    partial_composite_range,
};
use sfcbc_devnet::simulator::{SimulationResults, TxSimulator};
use sfcbc_fabric::protos::kvrwset::{HashedRwSet, KvrwSet, range_query_info::ReadsInfo};
use sfcbc_fabric::protos::msp::SerializedIdentity;
use sfcbc_fabric::tx::{ProposalBuilder, unpack_proposal};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

const CHANNEL: &str = "sfcchannel";
const CC: &str = "sfc";
const PACKAGE_ID: &str =
    "sfcbc_1.0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

const CHAIN: &str = r#"{"id":"chain1","hops":[
  {"psiid":"Org1:NameWriter:1","spMsp":"Org1MSP","address":"127.0.0.1:5001","validation":"address"},
  {"psiid":"Org2:NameWriter:1","spMsp":"Org2MSP","address":"127.0.0.1:5002","validation":"hash"}]}"#;

/// A chaincode server on 127.0.0.1; stops when dropped.
struct Server {
    addr: std::net::SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn server(contract: Arc<dyn Contract>) -> Server {
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut config = ServerConfig::new(PACKAGE_ID);
    config.shutdown_grace = Duration::from_millis(200);
    tokio::spawn(sfcbc_ccaas::serve(listener, config, contract, async move {
        let _ = stopped.await;
    }));
    Server { addr, _stop: stop }
}

/// A CA-signed X.509 client identity of `msp` (the contract reads the caller from it).
fn identity(msp: &str, cn: &str, org: &str) -> Vec<u8> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("ca.{org}"));
    ca.distinguished_name.push(DnType::OrganizationName, org);
    let issuer = Issuer::new(ca, KeyPair::generate().unwrap());
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "client");
    let cert = p.signed_by(&key, &issuer).unwrap();
    SerializedIdentity {
        mspid: msp.into(),
        id_bytes: cert.pem().into_bytes(),
    }
    .encode_to_vec()
}

/// The invocation an endorser would make of a proposal by `creator`.
fn invocation(creator: &[u8], args: &[&str], transient: &[(&str, &[u8])]) -> Invocation {
    let mut b = ProposalBuilder::new(CHANNEL, CC).args(args.iter().map(|a| a.as_bytes().to_vec()));
    for (k, v) in transient {
        b = b.transient(*k, v.to_vec());
    }
    let signed = b.build(creator).unwrap().with_signature(vec![0x30, 0x01]);
    Invocation::from_proposal(&unpack_proposal(&signed).unwrap())
}

struct Peer {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    cc: ChaincodeHandle,
}

impl Peer {
    async fn new(addr: std::net::SocketAddr) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), CHANNEL).unwrap();
        commit(&ledger, vec![TxCommit::default()]); // a genesis-like block 0
        let target = ChaincodeTarget::from_connection_json(
            format!(r#"{{"address":"{addr}","dial_timeout":"5s","tls_required":false}}"#)
                .as_bytes(),
        )
        .unwrap();
        let cc = ChaincodeHandle::connect(target, PACKAGE_ID, ChaincodeConfig::default())
            .await
            .expect("dial and handshake");
        Peer {
            _dir: dir,
            ledger,
            cc,
        }
    }

    /// Simulates one invocation on the current committed state.
    async fn simulate(
        &self,
        inv: &Invocation,
    ) -> (Result<ChaincodeOutcome, ChaincodeError>, SimulationResults) {
        let mut sim = TxSimulator::new(&inv.tx_id, self.ledger.snapshot().unwrap());
        let out = self.cc.execute(inv, &mut sim).await;
        (out, sim.results().unwrap())
    }

    /// Simulates and commits (as VALID) in a block of its own; returns the outcome.
    async fn submit(&self, inv: &Invocation) -> (ChaincodeOutcome, SimulationResults) {
        let (out, results) = self.simulate(inv).await;
        let out = out.expect("executed");
        assert_eq!(out.response.status, 200, "{}", out.response.message);
        commit(&self.ledger, vec![to_commit(&inv.tx_id, &results)]);
        (out, results)
    }
}

fn commit(ledger: &Ledger, txs: Vec<TxCommit>) -> u64 {
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
    number
}

/// What a committing member peer applies from a valid tx's rwsets.
fn to_commit(txid: &str, r: &SimulationResults) -> TxCommit {
    let mut tx = TxCommit {
        tx_id: txid.into(),
        ..Default::default()
    };
    for ns in &r.public.ns_rwset {
        let kv = KvrwSet::decode(ns.rwset.as_slice()).unwrap();
        for w in kv.writes {
            tx.writes.push(KvWrite {
                namespace: ns.namespace.clone(),
                key: w.key,
                value: (!w.is_delete).then_some(w.value),
            });
        }
        for c in &ns.collection_hashed_rwset {
            let h = HashedRwSet::decode(c.hashed_rwset.as_slice()).unwrap();
            for w in h.hashed_writes {
                tx.hashed_writes.push(HashedWrite {
                    namespace: ns.namespace.clone(),
                    collection: c.collection_name.clone(),
                    key_hash: w.key_hash,
                    value_hash: (!w.is_delete).then_some(w.value_hash),
                });
            }
        }
    }
    for ns in r.private.iter().flat_map(|p| &p.ns_pvt_rwset) {
        for c in &ns.collection_pvt_rwset {
            let kv = KvrwSet::decode(c.rwset.as_slice()).unwrap();
            for w in kv.writes {
                tx.private_writes.push(PrivateWrite {
                    namespace: ns.namespace.clone(),
                    collection: c.collection_name.clone(),
                    key: w.key,
                    value: (!w.is_delete).then_some(w.value),
                });
            }
        }
    }
    tx
}

fn kvrwset(r: &SimulationResults, ns: &str) -> KvrwSet {
    let n = r
        .public
        .ns_rwset
        .iter()
        .find(|n| n.namespace == ns)
        .unwrap_or_else(|| panic!("namespace {ns} in {:?}", r.public));
    KvrwSet::decode(n.rwset.as_slice()).unwrap()
}

fn json(out: &ChaincodeOutcome) -> serde_json::Value {
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    serde_json::from_slice(&out.response.payload).unwrap()
}

#[tokio::test]
async fn sfc_contract_through_chaincode_support() {
    let srv = server(Arc::new(SfcContract::default())).await;
    let peer = Peer::new(srv.addr).await;
    let owner = identity(
        "Tenant1MSP",
        "User1@tenant1.example.com",
        "tenant1.example.com",
    );
    let sp1 = identity("Org1MSP", "User1@org1.example.com", "org1.example.com");
    let sp2 = identity("Org2MSP", "User1@org2.example.com", "org2.example.com");
    let stranger = identity("Org3MSP", "User1@org3.example.com", "org3.example.com");
    let chain_key = composite_key("chain", &["chain1"]);

    // CreateChain: reads the (absent) chain key, writes chain + hop status; event.
    let create = invocation(&owner, &["CreateChain", CHAIN], &[]);
    let (out, rw) = peer.submit(&create).await;
    let ev = out.event.clone().expect("ChainCreated event");
    assert_eq!(ev.event_name, "ChainCreated");
    assert_eq!(
        (ev.chaincode_id.as_str(), ev.tx_id.as_str()),
        (CC, create.tx_id.as_str())
    );
    assert!(rw.private.is_none());
    assert_eq!(rw.public.ns_rwset.len(), 1);
    let kv = kvrwset(&rw, CC);
    assert!(
        kv.reads
            .iter()
            .any(|r| r.key == chain_key && r.version.is_none()),
        "absent chain key read without version: {:?}",
        kv.reads
    );
    let written: Vec<&str> = kv.writes.iter().map(|w| w.key.as_str()).collect();
    assert!(written.contains(&chain_key.as_str()), "{written:?}");
    assert!(
        written.iter().any(|k| k.starts_with("\0hop\0chain1\0")),
        "{written:?}"
    );
    let mut sorted = written.clone();
    sorted.sort();
    assert_eq!(written, sorted, "writes sorted by key");
    assert!(
        kv.writes
            .iter()
            .all(|w| !w.is_delete && !w.value.is_empty())
    );

    // GetChain by a hop's SP: reads the committed chain at version (1, 0); writes nothing.
    let (out, rw) = peer
        .simulate(&invocation(&sp2, &["GetChain", "chain1"], &[]))
        .await;
    let chain = json(&out.unwrap());
    assert_eq!(chain["id"], "chain1");
    assert_eq!(chain["owner"]["msp"], "Tenant1MSP");
    let kv = kvrwset(&rw, CC);
    let read = kv.reads.iter().find(|r| r.key == chain_key).unwrap();
    let v = read.version.unwrap();
    assert_eq!((v.block_num, v.tx_num), (1, 0));
    assert!(kv.writes.is_empty());

    // A chaincode error is a response, not an execution failure.
    let (out, _) = peer
        .simulate(&invocation(&stranger, &["GetChain", "chain1"], &[]))
        .await;
    let out = out.unwrap();
    assert_eq!(out.response.status, 403, "{:?}", out.response);
    assert!(!out.response.message.is_empty());
    let (out, _) = peer
        .simulate(&invocation(&owner, &["NoSuchFunction"], &[]))
        .await;
    assert_eq!(out.unwrap().response.status, 400);

    // ShareAuth: secret from the transient map into Org2's implicit collection only.
    let share = invocation(
        &owner,
        &["ShareAuth", "chain1", "Org2:NameWriter:1"],
        &[
            ("account", b"alice"),
            ("secret", b"correct horse"),
            ("salt", b"0123456789abcdef0123456789abcdef"),
        ],
    );
    let (out, rw) = peer.submit(&share).await;
    let written = json(&out);
    assert_eq!(written["collection"], "_implicit_org_Org2MSP");
    let pvt = rw.private.as_ref().expect("a private rwset");
    assert_eq!(
        rw.private_collections(),
        vec![(CC.to_string(), "_implicit_org_Org2MSP".to_string())]
    );
    let coll = &pvt.ns_pvt_rwset[0].collection_pvt_rwset[0];
    let pkv = KvrwSet::decode(coll.rwset.as_slice()).unwrap();
    assert!(!pkv.writes.is_empty());
    // after `_lifecycle`: a collection access reads the definition
    let ns = rw
        .public
        .ns_rwset
        .iter()
        .find(|n| n.namespace == CC)
        .expect("the chaincode's namespace");
    let pub_kv = KvrwSet::decode(ns.rwset.as_slice()).unwrap();
    assert!(pub_kv.writes.is_empty(), "nothing public written");
    let hashed = &ns.collection_hashed_rwset[0];
    assert_eq!(hashed.collection_name, "_implicit_org_Org2MSP");
    assert_eq!(hashed.pvt_rwset_hash, Sha256::digest(&coll.rwset).to_vec());
    let h = HashedRwSet::decode(hashed.hashed_rwset.as_slice()).unwrap();
    assert_eq!(h.hashed_writes.len(), pkv.writes.len());
    for (hw, w) in h.hashed_writes.iter().zip(&pkv.writes) {
        assert_eq!(hw.key_hash, Sha256::digest(w.key.as_bytes()).to_vec());
        assert_eq!(hw.value_hash, Sha256::digest(&w.value).to_vec());
        assert!(!hw.is_delete && !hw.is_purge);
    }
    // The secret never appears in the public rwset.
    let public_bytes = rw.public_bytes();
    assert!(
        !public_bytes
            .windows(b"correct horse".len())
            .any(|w| w == b"correct horse")
    );

    // RecordHops by hop 1's SP: five transactions of one record each (a transaction's
    // records share one key); then GetRecords pages through them.
    for i in 0..5 {
        let records = serde_json::json!([{
            "seq": i,
            "inputHash": hex::encode(Sha256::digest(format!("in{i}"))),
            "outputHash": hex::encode(Sha256::digest(format!("out{i}"))),
            "src": "127.0.0.1:4000",
            "next": "127.0.0.1:5002",
        }]);
        let record = invocation(
            &sp1,
            &[
                "RecordHops",
                "chain1",
                "Org1:NameWriter:1",
                &records.to_string(),
            ],
            &[],
        );
        let (out, _) = peer.submit(&record).await;
        assert_eq!(out.event.expect("HopRecorded").event_name, "HopRecorded");
    }

    let (rec_start, rec_end) = partial_composite_range("rec", &["chain1"]);
    let mut bookmark = String::new();
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let (out, rw) = peer
            .simulate(&invocation(
                &owner,
                &["GetRecords", "chain1", "", "2", &bookmark],
                &[],
            ))
            .await;
        let page = json(&out.unwrap());
        let items = page["items"].as_array().unwrap().len();
        seen += items;
        pages += 1;
        let kv = kvrwset(&rw, CC);
        assert!(kv.writes.is_empty());
        let q = &kv.range_queries_info;
        assert_eq!(q.len(), 1, "{q:?}");
        let Some(ReadsInfo::RawReads(reads)) = &q[0].reads_info else {
            panic!("raw reads: {q:?}")
        };
        assert_eq!(reads.kv_reads.len(), items);
        if pages == 1 {
            assert_eq!(q[0].start_key, rec_start);
        }
        let next = page["bookmark"].as_str().unwrap().to_owned();
        if next.is_empty() {
            // Last page: exhausted, so the recorded end is the query's end.
            assert!(q[0].itr_exhausted, "{q:?}");
            assert_eq!(q[0].end_key, rec_end);
            break;
        }
        assert!(!q[0].itr_exhausted);
        assert_eq!(q[0].end_key, reads.kv_reads.last().unwrap().key);
        bookmark = next;
        assert!(pages < 10, "pagination ends");
    }
    assert_eq!((seen, pages), (5, 3));
}

#[tokio::test]
async fn kv_contract_batches_history_private_and_concurrency() {
    let srv = server(Arc::new(KvContract)).await;
    let peer = Peer::new(srv.addr).await;
    let user = identity("Org1MSP", "User1@org1.example.com", "org1.example.com");

    // 250 keys in one tx, then a full range read: batches of 100 via QUERY_STATE_NEXT.
    let mut sim = TxSimulator::new("load", peer.ledger.snapshot().unwrap());
    for i in 0..250 {
        sim.set_state(CC, &format!("k{i:03}"), format!("v{i}").as_bytes())
            .unwrap();
    }
    let loaded = sim.results().unwrap();
    commit(&peer.ledger, vec![to_commit("load", &loaded)]);

    let (out, rw) = peer
        .simulate(&invocation(&user, &["range", "k000", "k999"], &[]))
        .await;
    let out = out.unwrap();
    let keys: Vec<String> = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(keys.len(), 250);
    let q = &kvrwset(&rw, CC).range_queries_info;
    assert_eq!(q.len(), 1);
    assert!(q[0].itr_exhausted);
    assert_eq!(
        (q[0].start_key.as_str(), q[0].end_key.as_str()),
        ("k000", "k999")
    );
    // 250 reads exceed Fabric's merkle degree 50: a summary, as Fabric records it.
    assert!(
        matches!(&q[0].reads_info, Some(ReadsInfo::ReadsMerkleHashes(m)) if m.max_degree == 50)
    );

    // Paginated: one page, bookmark next key, fetched count.
    let (out, _) = peer
        .simulate(&invocation(
            &user,
            &["page", "k000", "k999", "120", ""],
            &[],
        ))
        .await;
    let page: serde_json::Value = serde_json::from_slice(&out.unwrap().response.payload).unwrap();
    assert_eq!(page["keys"].as_array().unwrap().len(), 120);
    assert_eq!(page["count"], 120);
    assert_eq!(page["bookmark"], "k120");

    // Put + event; history newest first.
    for v in ["one", "two"] {
        let (out, _) = peer.submit(&invocation(&user, &["put", "h", v], &[])).await;
        assert_eq!(out.event.unwrap().event_name, "put");
    }
    let (out, rw) = peer
        .simulate(&invocation(&user, &["history", "h"], &[]))
        .await;
    let values: Vec<String> = serde_json::from_slice(&out.unwrap().response.payload).unwrap();
    assert_eq!(values, vec!["two", "one"]);
    assert!(
        rw.public.ns_rwset.is_empty(),
        "history is not in the read set"
    );

    // Private put (transient value), then get and hash.
    let coll = "_implicit_org_Org1MSP";
    peer.submit(&invocation(
        &user,
        &["pput", coll, "p1"],
        &[("value", b"hidden")],
    ))
    .await;
    let (out, rw) = peer
        .simulate(&invocation(&user, &["pget", coll, "p1"], &[]))
        .await;
    assert_eq!(out.unwrap().response.payload, b"hidden");
    let ch = &rw
        .public
        .ns_rwset
        .iter()
        .find(|n| n.namespace == CC)
        .expect("the chaincode's namespace")
        .collection_hashed_rwset[0];
    let h = HashedRwSet::decode(ch.hashed_rwset.as_slice()).unwrap();
    assert_eq!(h.hashed_reads.len(), 1);
    assert!(h.hashed_reads[0].version.is_some());
    let (out, _) = peer
        .simulate(&invocation(&user, &["phash", coll, "p1"], &[]))
        .await;
    assert_eq!(
        out.unwrap().response.payload,
        hex::encode(Sha256::digest(b"hidden")).into_bytes()
    );
    // An undefined collection: the peer answers ERROR to the shim's request, and the
    // contract turns it into an error response.
    let (out, _) = peer
        .simulate(&invocation(
            &user,
            &["pput", "nosuch", "p1"],
            &[("value", b"x")],
        ))
        .await;
    let out = out.unwrap();
    assert_eq!(out.response.status, 500, "{:?}", out.response);
    assert!(
        out.response.message.contains(
            "collection [nosuch] not defined in the collection config for chaincode [sfc]"
        ),
        "{}",
        out.response.message
    );

    // Chaincode error status.
    let (out, _) = peer
        .simulate(&invocation(&user, &["fail", "bad input"], &[]))
        .await;
    let out = out.unwrap();
    assert_eq!(
        (out.response.status, out.response.message.as_str()),
        (400, "bad input")
    );

    // Many transactions at once on one stream.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let cc = peer.cc.clone();
        let snap = peer.ledger.snapshot().unwrap();
        let inv = invocation(&user, &["get", &format!("k{i:03}")], &[]);
        tasks.push(tokio::spawn(async move {
            let mut sim = TxSimulator::new(&inv.tx_id, snap);
            let out = cc.execute(&inv, &mut sim).await.unwrap();
            (i, out.response.payload, sim.results().unwrap())
        }));
    }
    for t in tasks {
        let (i, payload, rw) = t.await.unwrap();
        assert_eq!(payload, format!("v{i}").into_bytes());
        let kv = kvrwset(&rw, CC);
        assert_eq!(kv.reads.len(), 1);
        assert_eq!(kv.reads[0].key, format!("k{i:03}"));
    }

    // The same tx id twice at once is refused, as Fabric's TransactionContexts do.
    let inv = invocation(&user, &["get", "k001"], &[]);
    let (a, b) = tokio::join!(peer.simulate(&inv), peer.simulate(&inv));
    let errs: Vec<_> = [a.0, b.0].into_iter().filter_map(Result::err).collect();
    assert!(
        errs.len() <= 1,
        "at most one of two concurrent same-id txs is refused: {errs:?}"
    );
    for e in errs {
        assert!(matches!(e, ChaincodeError::DuplicateTx { .. }), "{e}");
        assert!(e.to_string().contains("exists"));
    }
}

#[tokio::test]
async fn wrong_package_id_and_unreachable_server_are_clean_errors() {
    let srv = server(Arc::new(KvContract)).await;
    let err = ChaincodeHandle::connect(
        ChaincodeTarget::plaintext(srv.addr.to_string()),
        "other_1.0:abc",
        ChaincodeConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ChaincodeError::Handshake { .. }), "{err}");
    assert!(err.to_string().contains("other_1.0:abc"), "{err}");

    // Nothing listens on this port (bound, then dropped).
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let mut target = ChaincodeTarget::plaintext(addr.to_string());
    target.dial_timeout = Duration::from_secs(2);
    let err = ChaincodeHandle::connect(target, PACKAGE_ID, ChaincodeConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ChaincodeError::Unavailable { .. }), "{err}");
}

/// A throwaway CA and a leaf it issues (server leaves carry an IP SAN for 127.0.0.1).
/// (certificate PEM, key PEM).
type CertKey = (String, String);

fn tls_pki() -> (String, [CertKey; 2], String, CertKey) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    let ca = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let pem = p.self_signed(&key).unwrap().pem();
        (pem, Issuer::new(p, key))
    };
    let leaf = |issuer: &Issuer<'static, KeyPair>, cn: &str, server: bool| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        if server {
            p.subject_alt_names
                .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        }
        (
            p.signed_by(&key, issuer).unwrap().pem(),
            key.serialize_pem(),
        )
    };
    let (ca_pem, issuer) = ca("chaincode tls ca");
    let server = leaf(&issuer, "sfcbc-ccaas", true);
    let client = leaf(&issuer, "peer0.org1.example.com", false);
    let (other_ca, other) = ca("another ca");
    let stranger = leaf(&other, "intruder", false);
    (ca_pem, [server, client], other_ca, stranger)
}

#[tokio::test]
async fn tls_and_mutual_tls_targets() {
    let (ca, [(server_cert, server_key), (client_cert, client_key)], other_ca, (bad_cert, bad_key)) =
        tls_pki();
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = ServerConfig::new(PACKAGE_ID);
    config.shutdown_grace = Duration::from_millis(200);
    config.tls = Some(sfcbc_ccaas::TlsPem {
        cert: server_cert.into_bytes(),
        key: server_key.into_bytes(),
        client_ca: Some(ca.clone().into_bytes()),
    });
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(sfcbc_ccaas::serve(
        listener,
        config,
        Arc::new(KvContract),
        async move {
            let _ = stopped.await;
        },
    ));
    let connection_json = |root: &str, cert: &str, key: &str| {
        serde_json::json!({
            "address": addr.to_string(),
            "dial_timeout": "3s",
            "tls_required": true,
            "client_auth_required": true,
            "root_cert": root,
            "client_cert": cert,
            "client_key": key,
        })
        .to_string()
    };

    // Mutual TLS with the right CA and a client certificate it issued.
    let target = ChaincodeTarget::from_connection_json(
        connection_json(&ca, &client_cert, &client_key).as_bytes(),
    )
    .unwrap();
    let cc = ChaincodeHandle::connect(target, PACKAGE_ID, ChaincodeConfig::default())
        .await
        .expect("mutual TLS handshake");
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), CHANNEL).unwrap();
    let user = identity("Org1MSP", "User1@org1.example.com", "org1.example.com");
    let inv = invocation(&user, &["put", "k", "v"], &[]);
    let mut sim = TxSimulator::new(&inv.tx_id, ledger.snapshot().unwrap());
    let out = cc.execute(&inv, &mut sim).await.unwrap();
    assert_eq!(out.response.status, 200);
    assert_eq!(kvrwset(&sim.results().unwrap(), CC).writes[0].key, "k");

    // A server certificate from a CA we do not trust, or a client cert the server does not:
    // clean Unavailable/Handshake errors, no panic, no hang.
    for json in [
        connection_json(&other_ca, &client_cert, &client_key),
        connection_json(&ca, &bad_cert, &bad_key),
    ] {
        let target = ChaincodeTarget::from_connection_json(json.as_bytes()).unwrap();
        let e = tokio::time::timeout(
            Duration::from_secs(15),
            ChaincodeHandle::connect(target, PACKAGE_ID, ChaincodeConfig::default()),
        )
        .await
        .expect("fails in time")
        .unwrap_err();
        assert!(
            matches!(
                e,
                ChaincodeError::Unavailable { .. } | ChaincodeError::Handshake { .. }
            ),
            "{e}"
        );
        eprintln!("refused as expected: {e}");
    }
}

/// Throughput probe (prints, asserts nothing): blind-write executions through one stream,
/// each with its own simulator. `cargo test --release -p sfcbc-devnet --test chaincode_sfc
/// -- --ignored --nocapture execute_throughput`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn execute_throughput() {
    let srv = server(Arc::new(KvContract)).await;
    let peer = Peer::new(srv.addr).await;
    let user = identity("Org1MSP", "User1@org1.example.com", "org1.example.com");
    for concurrency in [1usize, 16, 128] {
        let total = 4000;
        let invs: Vec<Invocation> = (0..total)
            .map(|i| invocation(&user, &["put", &format!("k{i}"), "v"], &[]))
            .collect();
        let invs = Arc::new(std::sync::Mutex::new(invs));
        let start = std::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (cc, invs) = (peer.cc.clone(), invs.clone());
            let ledger_snap = || peer.ledger.snapshot().unwrap();
            let snaps: Vec<_> = (0..total / concurrency + 1)
                .map(|_| ledger_snap())
                .collect();
            tasks.push(tokio::spawn(async move {
                for snap in snaps {
                    let Some(inv) = invs.lock().unwrap().pop() else {
                        break;
                    };
                    let mut sim = TxSimulator::new(&inv.tx_id, snap);
                    let out = cc.execute(&inv, &mut sim).await.unwrap();
                    assert_eq!(out.response.status, 200);
                    sim.results().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "concurrency {concurrency}: {total} executions in {secs:.2} s = {:.0}/s",
            total as f64 / secs
        );
    }
}

#[tokio::test]
async fn redials_a_restarted_chaincode_server() {
    async fn start(
        listener: tokio::net::TcpListener,
    ) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let mut config = ServerConfig::new(PACKAGE_ID);
        config.shutdown_grace = Duration::from_millis(100);
        let (stop, stopped) = oneshot::channel::<()>();
        let h = tokio::spawn(async move {
            let _ = sfcbc_ccaas::serve(listener, config, Arc::new(KvContract), async move {
                let _ = stopped.await;
            })
            .await;
        });
        (stop, h)
    }
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, handle) = start(listener).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), CHANNEL).unwrap();
    let user = identity("Org1MSP", "User1@org1.example.com", "org1.example.com");
    let mut target = ChaincodeTarget::plaintext(addr.to_string());
    target.dial_timeout = Duration::from_secs(1);
    let cc = ChaincodeHandle::connect(target, PACKAGE_ID, ChaincodeConfig::default())
        .await
        .unwrap();
    let put = |v: &'static str| {
        let (cc, ledger, user) = (&cc, &ledger, &user);
        async move {
            let inv = invocation(user, &["put", "k", v], &[]);
            let mut sim = TxSimulator::new(&inv.tx_id, ledger.snapshot().unwrap());
            cc.execute(&inv, &mut sim).await.map(|o| o.response.status)
        }
    };
    assert_eq!(put("1").await.unwrap(), 200);

    // The server goes away: the stream ends, executions fail cleanly while it is down.
    stop.send(()).unwrap();
    handle.await.unwrap();
    for _ in 0..100 {
        if !cc.is_connected().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!cc.is_connected().await, "stream end noticed");
    let e = put("2").await.unwrap_err();
    assert!(matches!(e, ChaincodeError::Unavailable { .. }), "{e}");

    // Back on the same address: the next execution dials again.
    let listener = sfcbc_ccaas::bind(&addr.to_string()).await.unwrap();
    let (_stop, _handle) = start(listener).await;
    assert_eq!(put("3").await.unwrap(), 200);
    assert!(cc.is_connected().await);
}
