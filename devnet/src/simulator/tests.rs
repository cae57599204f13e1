use prost::Message;
use sfcbc_fabric::protos::kvrwset::{
    HashedRwSet, KvRead, KvrwSet, QueryReads, Version, range_query_info::ReadsInfo,
};
use sfcbc_fabric::protos::queryresult;
use sha2::{Digest, Sha256};

use super::*;
use crate::ledger::{BlockCommit, KvWrite, Ledger, PrivateWrite, TxCommit};

const NS: &str = "sfc";
const COLL: &str = "_implicit_org_Org1MSP";

/// Commits one block holding `txs` on top of `ledger`.
pub(crate) fn commit(ledger: &Ledger, txs: Vec<TxCommit>) {
    let snap = ledger.snapshot().unwrap();
    let number = snap.height().unwrap();
    let previous_hash = if number == 0 {
        Vec::new()
    } else {
        snap.header(number - 1).unwrap().unwrap().hash
    };
    ledger
        .commit_block(&BlockCommit {
            number,
            previous_hash,
            data_hash: vec![number as u8; 32],
            block_bytes: vec![1, 2, 3],
            txs,
        })
        .unwrap();
}

fn tx(id: &str, writes: Vec<KvWrite>, private: Vec<PrivateWrite>) -> TxCommit {
    TxCommit {
        tx_id: id.into(),
        writes,
        hashed_writes: private.iter().map(PrivateWrite::hashed).collect(),
        private_writes: private,
        ..Default::default()
    }
}

fn pvt(key: &str, value: &str) -> PrivateWrite {
    PrivateWrite {
        namespace: NS.into(),
        collection: COLL.into(),
        key: key.into(),
        value: Some(value.as_bytes().to_vec()),
    }
}

/// A ledger with block 0 (a config-like empty block) and block 1 writing a..e and a private key.
fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), "ch").unwrap();
    commit(&l, vec![TxCommit::default()]);
    commit(
        &l,
        vec![
            tx(
                "t0",
                ["a", "b", "c"]
                    .iter()
                    .map(|k| KvWrite::put(NS, k, format!("v{k}")))
                    .collect(),
                vec![pvt("secret", "s3cr3t")],
            ),
            tx(
                "t1",
                ["d", "e"]
                    .iter()
                    .map(|k| KvWrite::put(NS, k, format!("v{k}")))
                    .collect(),
                vec![],
            ),
        ],
    );
    (dir, l)
}

fn v(block_num: u64, tx_num: u64) -> Option<Version> {
    Some(Version { block_num, tx_num })
}

fn kvrwset(r: &SimulationResults, ns: &str) -> KvrwSet {
    let n = r
        .public
        .ns_rwset
        .iter()
        .find(|n| n.namespace == ns)
        .unwrap();
    KvrwSet::decode(n.rwset.as_slice()).unwrap()
}

#[test]
fn reads_record_versions_and_writes_are_buffered_and_sorted() {
    let (_d, l) = ledger();
    let mut s = TxSimulator::new("tx1", l.snapshot().unwrap());
    assert_eq!(s.get_state(NS, "d").unwrap(), Some(b"vd".to_vec()));
    assert_eq!(s.get_state(NS, "zz").unwrap(), None);
    s.set_state(NS, "z", b"1").unwrap();
    s.set_state(NS, "m", b"2").unwrap();
    s.delete_state(NS, "a").unwrap();
    // No read-your-writes.
    assert_eq!(s.get_state(NS, "z").unwrap(), None);
    assert_eq!(s.get_state(NS, "a").unwrap(), Some(b"va".to_vec()));
    let r = s.results().unwrap();
    assert!(r.private.is_none());
    assert_eq!(r.public.data_model, 0);
    let kv = kvrwset(&r, NS);
    let reads: Vec<(&str, Option<Version>)> = kv
        .reads
        .iter()
        .map(|r| (r.key.as_str(), r.version))
        .collect();
    assert_eq!(
        reads,
        vec![("a", v(1, 0)), ("d", v(1, 1)), ("z", None), ("zz", None)]
    );
    let writes: Vec<(&str, bool, &[u8])> = kv
        .writes
        .iter()
        .map(|w| (w.key.as_str(), w.is_delete, w.value.as_slice()))
        .collect();
    assert_eq!(
        writes,
        vec![
            ("a", true, &b""[..]),
            ("m", false, b"2"),
            ("z", false, b"1")
        ]
    );
    // Done: no further use.
    assert!(s.get_state(NS, "a").is_err());
    assert!(s.results().is_err());
}

fn drain(s: &mut TxSimulator, it: &mut QueryIter, n: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for _ in 0..n {
        match s.next(it).unwrap() {
            Some(b) => keys.push(queryresult::Kv::decode(b.as_slice()).unwrap().key),
            None => break,
        }
    }
    keys
}

#[test]
fn range_queries_record_what_was_read() {
    let (_d, l) = ledger();
    let mut s = TxSimulator::new("tx2", l.snapshot().unwrap()).with_config(SimulatorConfig {
        fetch_chunk: 2,
        ..Default::default()
    });
    // Partly consumed: end key = last key read, not exhausted.
    let mut it = s.state_range(NS, "b", "e", None).unwrap();
    assert_eq!(drain(&mut s, &mut it, 2), vec!["b", "c"]);
    // Fully consumed: exhausted, end key = the query's.
    let mut all = s.state_range(NS, "", "", None).unwrap();
    assert_eq!(drain(&mut s, &mut all, 10), vec!["a", "b", "c", "d", "e"]);
    // Same query again: deduplicated.
    let mut again = s.state_range(NS, "", "", None).unwrap();
    drain(&mut s, &mut again, 10);
    // Never read: no reads info.
    let _unused = s.state_range(NS, "x", "y", None).unwrap();
    let kv = kvrwset(&s.results().unwrap(), NS);
    assert!(kv.reads.is_empty(), "range reads are not point reads");
    assert_eq!(kv.range_queries_info.len(), 3);
    let r0 = &kv.range_queries_info[0];
    assert_eq!((r0.start_key.as_str(), r0.end_key.as_str()), ("b", "c"));
    assert!(!r0.itr_exhausted);
    assert_eq!(
        r0.reads_info,
        Some(ReadsInfo::RawReads(QueryReads {
            kv_reads: vec![
                KvRead {
                    key: "b".into(),
                    version: v(1, 0)
                },
                KvRead {
                    key: "c".into(),
                    version: v(1, 0)
                },
            ]
        }))
    );
    let r1 = &kv.range_queries_info[1];
    assert_eq!((r1.start_key.as_str(), r1.end_key.as_str()), ("", ""));
    assert!(r1.itr_exhausted);
    let r2 = &kv.range_queries_info[2];
    assert_eq!((r2.start_key.as_str(), r2.end_key.as_str()), ("x", ""));
    assert!(!r2.itr_exhausted);
    assert_eq!(r2.reads_info, None);
}

#[test]
fn paginated_queries_forbid_writes_and_vice_versa() {
    let (_d, l) = ledger();
    let mut s = TxSimulator::new("tx3", l.snapshot().unwrap());
    let mut it = s.state_range(NS, "", "", Some(2)).unwrap();
    // The handler stops at the page size, never asking the iterator past it (a further
    // Next() would mark the range exhausted, in Fabric too).
    assert_eq!(drain(&mut s, &mut it, 2), vec!["a", "b"]);
    assert_eq!(s.bookmark(&mut it).unwrap(), "c");
    let err = s.set_state(NS, "k", b"v").unwrap_err();
    assert_eq!(
        err.0,
        "txid [tx3]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed"
    );
    // The last page: bookmark empty.
    let mut last = s.state_range(NS, "e", "", Some(2)).unwrap();
    assert_eq!(drain(&mut s, &mut last, 10), vec!["e"]);
    assert_eq!(s.bookmark(&mut last).unwrap(), "");
    let kv = kvrwset(&s.results().unwrap(), NS);
    assert!(kv.writes.is_empty());
    let q = &kv.range_queries_info;
    assert_eq!(
        (
            q[0].start_key.as_str(),
            q[0].end_key.as_str(),
            q[0].itr_exhausted
        ),
        ("", "b", false)
    );
    assert_eq!(
        (
            q[1].start_key.as_str(),
            q[1].end_key.as_str(),
            q[1].itr_exhausted
        ),
        ("e", "", true)
    );

    let mut w = TxSimulator::new("tx4", l.snapshot().unwrap());
    w.set_state(NS, "k", b"v").unwrap();
    assert_eq!(
        w.state_range(NS, "", "", Some(2)).unwrap_err().0,
        "txid [tx4]: unsuppored transaction. Paginated queries are supported only in a read-only transaction"
    );
    // An unpaginated range after a write is fine.
    assert!(w.state_range(NS, "", "", None).is_ok());
}

#[test]
fn private_writes_hashes_and_reads() {
    let (_d, l) = ledger();
    let mut s = TxSimulator::new("tx5", l.snapshot().unwrap());
    assert_eq!(
        s.get_private_data(NS, COLL, "secret").unwrap(),
        Some(b"s3cr3t".to_vec())
    );
    assert_eq!(
        s.get_private_data_hash(NS, COLL, "secret").unwrap(),
        Some(Sha256::digest(b"s3cr3t").to_vec())
    );
    assert_eq!(s.get_private_data(NS, COLL, "nothing").unwrap(), None);
    s.set_private_data(NS, COLL, "k2", b"val2").unwrap();
    s.delete_private_data(NS, COLL, "k1").unwrap();
    s.purge_private_data(NS, COLL, "k3").unwrap();
    assert_eq!(
        s.set_private_data(NS, "nosuch", "k", b"v").unwrap_err().0,
        "collection [nosuch] not defined in the collection config for chaincode [sfc]"
    );
    let r = s.results().unwrap();
    assert_eq!(
        r.private_collections(),
        vec![(NS.to_string(), COLL.to_string())]
    );
    let pvt = r.private.as_ref().unwrap();
    let coll = &pvt.ns_pvt_rwset[0].collection_pvt_rwset[0];
    let pkv = KvrwSet::decode(coll.rwset.as_slice()).unwrap();
    let pw: Vec<(&str, bool)> = pkv
        .writes
        .iter()
        .map(|w| (w.key.as_str(), w.is_delete))
        .collect();
    assert_eq!(pw, vec![("k1", true), ("k2", false), ("k3", true)]);

    // `_lifecycle` (the definition read for the collection check) sorts before `sfc`.
    let names: Vec<&str> = r
        .public
        .ns_rwset
        .iter()
        .map(|n| n.namespace.as_str())
        .collect();
    assert_eq!(names, [LIFECYCLE_NAMESPACE, NS]);
    let ns = &r.public.ns_rwset[1];
    assert!(KvrwSet::decode(ns.rwset.as_slice()).unwrap() == KvrwSet::default());
    let ch = &ns.collection_hashed_rwset[0];
    assert_eq!(ch.collection_name, COLL);
    assert_eq!(ch.pvt_rwset_hash, Sha256::digest(&coll.rwset).to_vec());
    let h = HashedRwSet::decode(ch.hashed_rwset.as_slice()).unwrap();
    // Sorted by clear key: k1, k2, k3; reads: nothing, secret.
    let hk = |k: &str| Sha256::digest(k.as_bytes()).to_vec();
    assert_eq!(
        h.hashed_writes
            .iter()
            .map(|w| (
                w.key_hash.clone(),
                w.is_delete,
                w.value_hash.clone(),
                w.is_purge
            ))
            .collect::<Vec<_>>(),
        vec![
            (hk("k1"), true, vec![], false),
            (hk("k2"), false, Sha256::digest(b"val2").to_vec(), false),
            (hk("k3"), true, vec![], true),
        ]
    );
    assert_eq!(
        h.hashed_reads
            .iter()
            .map(|r| (r.key_hash.clone(), r.version))
            .collect::<Vec<_>>(),
        vec![(hk("nothing"), None), (hk("secret"), v(1, 0))]
    );
}

#[test]
fn private_range_queries_forbid_writes() {
    let (_d, l) = ledger();
    let mut s = TxSimulator::new("tx6", l.snapshot().unwrap());
    let mut it = s.private_data_range(NS, COLL, "", "").unwrap();
    let first = s.next(&mut it).unwrap().unwrap();
    let kv = queryresult::Kv::decode(first.as_slice()).unwrap();
    assert_eq!((kv.namespace.as_str(), kv.key.as_str()), (NS, "secret"));
    assert_eq!(
        s.set_state(NS, "k", b"v").unwrap_err().0,
        "txid [tx6]: unsuppored transaction. Transaction has already performed queries on pvt data. Writes are not allowed"
    );
    let r = s.results().unwrap();
    let names: Vec<&str> = r
        .public
        .ns_rwset
        .iter()
        .map(|n| n.namespace.as_str())
        .collect();
    assert_eq!(
        names,
        [LIFECYCLE_NAMESPACE],
        "private ranges are not recorded (only the definition read of the collection check)"
    );

    let mut w = TxSimulator::new("tx7", l.snapshot().unwrap());
    w.set_private_data(NS, COLL, "x", b"y").unwrap();
    assert_eq!(
        w.private_data_range(NS, COLL, "", "").unwrap_err().0,
        "txid [tx7]: unsuppored transaction. Queries on pvt data is supported only in a read-only transaction"
    );
}

#[test]
fn private_data_without_matching_hash_version_is_refused() {
    // A peer of another org has the hash but not the value.
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), "ch").unwrap();
    let mut t = tx("t0", vec![], vec![]);
    t.hashed_writes = vec![pvt("secret", "x").hashed()];
    commit(&l, vec![t]);
    let mut s = TxSimulator::new("tx8", l.snapshot().unwrap());
    assert_eq!(
        s.get_private_data(NS, COLL, "secret").unwrap_err().0,
        "private data matching public hash version is not available. Public hash version = {BlockNum: 0, TxNum: 0}, Private data version = <nil>"
    );
    assert_eq!(
        s.get_private_data_hash(NS, COLL, "secret").unwrap(),
        Some(Sha256::digest(b"x").to_vec())
    );
}

#[test]
fn many_range_results_are_merkle_hashed_like_fabric() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), "ch").unwrap();
    commit(
        &l,
        vec![tx(
            "t0",
            (0..120)
                .map(|i| KvWrite::put(NS, &format!("k{i:03}"), "v"))
                .collect(),
            vec![],
        )],
    );
    let mut s = TxSimulator::new("tx9", l.snapshot().unwrap());
    let mut it = s.state_range(NS, "", "", None).unwrap();
    assert_eq!(drain(&mut s, &mut it, 1000).len(), 120);
    let kv = kvrwset(&s.results().unwrap(), NS);
    let Some(ReadsInfo::ReadsMerkleHashes(m)) = &kv.range_queries_info[0].reads_info else {
        panic!("merkle summary expected: {:?}", kv.range_queries_info[0]);
    };
    // 120 reads, degree 50: leaves of 51, 51, 18 → three level-1 hashes.
    assert_eq!(
        (m.max_degree, m.max_level, m.max_level_hashes.len()),
        (50, 1, 3)
    );

    let mut raw = TxSimulator::new("tx10", l.snapshot().unwrap()).with_config(SimulatorConfig {
        range_query_max_degree: None,
        ..Default::default()
    });
    let mut it = raw.state_range(NS, "", "", None).unwrap();
    drain(&mut raw, &mut it, 1000);
    let kv = kvrwset(&raw.results().unwrap(), NS);
    assert!(
        matches!(&kv.range_queries_info[0].reads_info, Some(ReadsInfo::RawReads(r)) if r.kv_reads.len() == 120)
    );
}

#[test]
fn metadata_and_rich_queries() {
    let (_d, l) = ledger();
    let mut s = TxSimulator::new("tx11", l.snapshot().unwrap());
    assert!(s.get_state_metadata(NS, "a").unwrap().is_empty());
    let md: BTreeMap<String, Vec<u8>> =
        [("VALIDATION_PARAMETER".to_string(), b"p".to_vec())].into();
    s.set_state_metadata(NS, "a", &md).unwrap();
    assert_eq!(
        s.execute_query(false).unwrap_err().0,
        "ExecuteQuery not supported for leveldb"
    );
    let kv = kvrwset(&s.results().unwrap(), NS);
    assert_eq!(kv.reads.len(), 1, "metadata read records the key");
    assert_eq!(kv.metadata_writes[0].key, "a");
    assert_eq!(
        kv.metadata_writes[0].entries[0].name,
        "VALIDATION_PARAMETER"
    );
}

#[test]
fn history_is_newest_first_and_unrecorded() {
    let (_d, l) = ledger();
    commit(
        &l,
        vec![tx("t9", vec![KvWrite::put(NS, "a", "new")], vec![])],
    );
    let mut s = TxSimulator::new("tx12", l.snapshot().unwrap());
    let mut it = s.history(NS, "a").unwrap();
    let first =
        queryresult::KeyModification::decode(s.next(&mut it).unwrap().unwrap().as_slice()).unwrap();
    assert_eq!(
        (first.tx_id.as_str(), first.value.as_slice()),
        ("t9", &b"new"[..])
    );
    let second =
        queryresult::KeyModification::decode(s.next(&mut it).unwrap().unwrap().as_slice()).unwrap();
    assert_eq!(second.tx_id, "t0");
    assert!(s.next(&mut it).unwrap().is_none());
    assert!(s.results().unwrap().public.ns_rwset.is_empty());
}

/// The `_lifecycle` reads of one transaction, as (key, version).
fn lifecycle_reads(r: &SimulationResults) -> Vec<(String, Option<Version>)> {
    r.public
        .ns_rwset
        .iter()
        .filter(|n| n.namespace == LIFECYCLE_NAMESPACE)
        .flat_map(|n| KvrwSet::decode(n.rwset.as_slice()).unwrap().reads)
        .map(|r| (r.key, r.version))
        .collect()
}

#[test]
fn the_definition_reads_land_in_the_read_set_as_fabric_records_them() {
    // Found by the fidelity diff against Fabric 2.5.16 (docs/fidelity.md): every
    // transaction reads its chaincode's definition sequence; the first collection access of
    // a namespace reads the whole definition, once per transaction.
    let (_d, l) = ledger();
    let seq = |ns: &str| definition_field_key(ns, "Sequence");

    let mut s = TxSimulator::new("public-only", l.snapshot().unwrap());
    s.read_definition_sequence(NS).unwrap();
    s.set_state(NS, "k", b"v").unwrap();
    let r = s.results().unwrap();
    assert_eq!(lifecycle_reads(&r), vec![(seq(NS), None)]);
    assert_eq!(r.public.ns_rwset[0].namespace, LIFECYCLE_NAMESPACE);

    let mut s = TxSimulator::new("private", l.snapshot().unwrap());
    s.read_definition_sequence(NS).unwrap();
    s.check_read_permission(NS, COLL).unwrap();
    s.get_private_data(NS, COLL, "secret").unwrap();
    s.get_private_data_hash(NS, "_implicit_org_Org2MSP", "x")
        .unwrap();
    // a second namespace's collection: its own definition
    s.get_private_data_hash("other", COLL, "x").unwrap();
    let r = s.results().unwrap();
    let keys: Vec<String> = lifecycle_reads(&r).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "namespaces/fields/other/Collections",
            "namespaces/fields/other/EndorsementInfo",
            "namespaces/fields/other/Sequence",
            "namespaces/fields/other/ValidationInfo",
            "namespaces/fields/sfc/Collections",
            "namespaces/fields/sfc/EndorsementInfo",
            "namespaces/fields/sfc/Sequence",
            "namespaces/fields/sfc/ValidationInfo",
            "namespaces/metadata/other",
            "namespaces/metadata/sfc",
        ]
    );

    // An undefined collection still reads the definition first (Fabric learns the
    // collections from it), then fails.
    let mut s = TxSimulator::new("undefined", l.snapshot().unwrap());
    assert!(s.set_private_data(NS, "nosuch", "k", b"v").is_err());
    assert_eq!(lifecycle_reads(&s.results().unwrap()).len(), 5);

    // A definition in the state (as a ledger that commits `_lifecycle` would hold) is read
    // with its version.
    commit(
        &l,
        vec![tx(
            "define",
            vec![KvWrite::put(LIFECYCLE_NAMESPACE, &seq(NS), "\u{8}\u{1}")],
            vec![],
        )],
    );
    let mut s = TxSimulator::new("versioned", l.snapshot().unwrap());
    s.read_definition_sequence(NS).unwrap();
    assert_eq!(
        lifecycle_reads(&s.results().unwrap()),
        vec![(seq(NS), v(2, 0))]
    );
}
