use super::*;
use crate::block::{data_hash, header_hash};

/// A chain builder for tests: keeps the last hash so each block links to its predecessor.
struct Chain {
    next: u64,
    prev: Vec<u8>,
}

impl Chain {
    fn new() -> Self {
        Self {
            next: 0,
            prev: Vec::new(),
        }
    }

    fn block(&mut self, txs: Vec<TxCommit>) -> BlockCommit {
        let data: Vec<Vec<u8>> = txs.iter().map(|t| t.tx_id.as_bytes().to_vec()).collect();
        let dh = data_hash(&data).to_vec();
        let b = BlockCommit {
            number: self.next,
            previous_hash: self.prev.clone(),
            data_hash: dh.clone(),
            block_bytes: format!("block-{}", self.next).into_bytes(),
            txs,
        };
        self.prev = header_hash(b.number, &b.previous_hash, &dh).to_vec();
        self.next += 1;
        b
    }
}

fn tx(id: &str, writes: Vec<KvWrite>) -> TxCommit {
    TxCommit {
        tx_id: id.to_owned(),
        validation_code: TX_VALID,
        timestamp: Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        },
        writes,
        ..Default::default()
    }
}

fn open() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path(), "mychannel").expect("open");
    (dir, ledger)
}

fn keys(page: &RangePage) -> Vec<&str> {
    page.results.iter().map(|kv| kv.key.as_str()).collect()
}

#[test]
fn blocks_are_indexed_by_number_hash_and_tx_id() {
    let (_d, l) = open();
    let mut c = Chain::new();
    let b0 = c.block(vec![tx("", vec![])]);
    let h0 = l.commit_block(&b0).unwrap();
    let b1 = c.block(vec![tx("t1", vec![]), tx("t2", vec![])]);
    let h1 = l.commit_block(&b1).unwrap();

    let s = l.snapshot().unwrap();
    assert_eq!(s.height().unwrap(), 2);
    assert_eq!(
        s.chain_info().unwrap(),
        ChainInfo {
            height: 2,
            current_block_hash: h1.to_vec(),
            previous_block_hash: h0.to_vec(),
        }
    );
    assert_eq!(s.block_by_number(1).unwrap().unwrap(), b"block-1");
    assert_eq!(s.block_by_hash(&h0).unwrap().unwrap(), b"block-0");
    assert_eq!(s.block_by_tx_id("t2").unwrap().unwrap(), b"block-1");
    assert_eq!(
        s.tx_location("t2").unwrap(),
        Some(TxLocation {
            block_num: 1,
            tx_num: 1,
            validation_code: 0
        })
    );
    assert!(s.tx_location("nope").unwrap().is_none());
    assert!(s.block_by_number(2).unwrap().is_none());
    assert_eq!(s.verify_chain().unwrap(), 2);
    let hdr = s.header(1).unwrap().unwrap();
    assert_eq!(hdr.previous_hash, h0.to_vec());
    assert_eq!(hdr.hash, h1.to_vec());
}

#[test]
fn out_of_order_and_broken_chain_are_refused_and_change_nothing() {
    let (_d, l) = open();
    let mut c = Chain::new();
    l.commit_block(&c.block(vec![])).unwrap();
    let mut b1 = c.block(vec![tx("t1", vec![KvWrite::put("cc", "k", "v")])]);

    let mut skipped = b1.clone();
    skipped.number = 2;
    assert!(matches!(
        l.commit_block(&skipped),
        Err(LedgerError::OutOfOrder {
            height: 1,
            got: 2,
            ..
        })
    ));
    let again = Chain::new().block(vec![]);
    assert!(matches!(
        l.commit_block(&again),
        Err(LedgerError::OutOfOrder { .. })
    ));

    let good_prev = b1.previous_hash.clone();
    b1.previous_hash = vec![0; 32];
    let err = l.commit_block(&b1).unwrap_err();
    assert!(matches!(err, LedgerError::BrokenChain { number: 1, .. }));
    assert!(err.to_string().contains("block 0 hashes to"), "{err}");

    let s = l.snapshot().unwrap();
    assert_eq!(s.height().unwrap(), 1);
    assert!(s.state("cc", "k").unwrap().is_none());
    assert!(s.tx_location("t1").unwrap().is_none());

    b1.previous_hash = good_prev;
    l.commit_block(&b1).unwrap();
    assert_eq!(l.height().unwrap(), 2);
}

#[test]
fn only_valid_txs_write_but_every_tx_is_indexed() {
    let (_d, l) = open();
    let mut c = Chain::new();
    let mut bad = tx("bad", vec![KvWrite::put("cc", "b", "x")]);
    bad.validation_code = 11; // MVCC_READ_CONFLICT
    l.commit_block(&c.block(vec![tx("good", vec![KvWrite::put("cc", "a", "1")]), bad]))
        .unwrap();
    // A later duplicate of "good" is indexed nowhere: the original keeps its entry.
    let mut dup = tx("good", vec![KvWrite::put("cc", "a", "2")]);
    dup.validation_code = 9; // DUPLICATE_TXID
    l.commit_block(&c.block(vec![dup])).unwrap();

    let s = l.snapshot().unwrap();
    assert_eq!(s.state("cc", "a").unwrap().unwrap().value, b"1");
    assert!(s.state("cc", "b").unwrap().is_none());
    assert_eq!(s.tx_location("bad").unwrap().unwrap().validation_code, 11);
    let good = s.tx_location("good").unwrap().unwrap();
    assert_eq!(
        (good.block_num, good.tx_num, good.validation_code),
        (0, 0, 0)
    );
    assert!(s.history("cc", "b").unwrap().is_empty());
}

#[test]
fn versions_are_block_and_tx_of_the_last_write() {
    let (_d, l) = open();
    let mut c = Chain::new();
    l.commit_block(&c.block(vec![
        tx("t0", vec![KvWrite::put("cc", "k", "v0")]),
        tx(
            "t1",
            vec![KvWrite::put("cc", "k", "v1"), KvWrite::put("cc", "j", "j")],
        ),
    ]))
    .unwrap();
    let s = l.snapshot().unwrap();
    let v = s.state("cc", "k").unwrap().unwrap();
    assert_eq!(v.value, b"v1");
    assert_eq!(v.version, Height::new(0, 1));
    assert_eq!(s.state_version("cc", "j").unwrap(), Some(Height::new(0, 1)));
    assert_eq!(s.state_version("other", "k").unwrap(), None);

    l.commit_block(&c.block(vec![
        tx("t2", vec![]),
        tx("t3", vec![KvWrite::delete("cc", "k")]),
    ]))
    .unwrap();
    // The old snapshot still sees its height; a new one sees the delete.
    assert_eq!(s.state_version("cc", "k").unwrap(), Some(Height::new(0, 1)));
    assert!(l.snapshot().unwrap().state("cc", "k").unwrap().is_none());
    assert!(Height::new(1, 0) > Height::new(0, 7));
}

#[test]
fn range_queries_paginate_with_bookmarks_like_fabric() {
    let (_d, l) = open();
    let mut c = Chain::new();
    let writes: Vec<KvWrite> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|k| KvWrite::put("cc", k, k.to_uppercase()))
        .chain([
            KvWrite::put("cc2", "a", "other ns"),
            KvWrite::put("c", "z", "prefix ns"),
        ])
        .collect();
    l.commit_block(&c.block(vec![tx("t", writes)])).unwrap();
    let s = l.snapshot().unwrap();

    let all = s.state_range("cc", "", "", 0).unwrap();
    assert_eq!(keys(&all), ["a", "b", "c", "d", "e"]);
    assert_eq!(all.bookmark, "");
    assert_eq!(all.results[2].value.value, b"C");
    assert_eq!(all.results[2].value.version, Height::new(0, 0));

    assert_eq!(keys(&s.state_range("cc", "b", "d", 0).unwrap()), ["b", "c"]);

    let p1 = s.state_range("cc", "", "", 2).unwrap();
    assert_eq!((keys(&p1), p1.bookmark.as_str()), (vec!["a", "b"], "c"));
    let p2 = s.state_range("cc", &p1.bookmark, "", 2).unwrap();
    assert_eq!((keys(&p2), p2.bookmark.as_str()), (vec!["c", "d"], "e"));
    let p3 = s.state_range("cc", &p2.bookmark, "", 2).unwrap();
    assert_eq!((keys(&p3), p3.bookmark.as_str()), (vec!["e"], ""));
    // Fabric's iterator yields nothing for an inverted or empty range.
    assert!(s.state_range("cc", "d", "b", 0).unwrap().results.is_empty());
    assert!(s.state_range("cc", "c", "c", 0).unwrap().results.is_empty());
    assert!(
        s.private_data_range("cc", "coll", "d", "b", 0)
            .unwrap()
            .results
            .is_empty()
    );
    // A page that ends exactly at the end of the range has no bookmark.
    let exact = s.state_range("cc", "a", "c", 2).unwrap();
    assert_eq!(
        (keys(&exact), exact.bookmark.as_str()),
        (vec!["a", "b"], "")
    );
}

#[test]
fn partial_composite_key_ranges_do_not_mix_keys() {
    let (_d, l) = open();
    let mut c = Chain::new();
    let k = |attrs: &[&str]| composite_key("rec", attrs);
    let writes = vec![
        KvWrite::put("cc", &k(&["c1", "h1", "tx1"]), "1"),
        KvWrite::put("cc", &k(&["c1", "h2", "tx2"]), "2"),
        KvWrite::put("cc", &k(&["c10", "h1", "tx3"]), "3"),
        KvWrite::put("cc", &k(&["c1\u{7f}"]), "4"),
        KvWrite::put("cc", &composite_key("recx", &["c1"]), "5"),
        KvWrite::put("cc", "rec", "plain"),
    ];
    l.commit_block(&c.block(vec![tx("t", writes)])).unwrap();
    let s = l.snapshot().unwrap();

    let (start, end) = partial_composite_range("rec", &["c1"]);
    let page = s.state_range("cc", &start, &end, 0).unwrap();
    assert_eq!(
        keys(&page),
        [k(&["c1", "h1", "tx1"]), k(&["c1", "h2", "tx2"])]
    );
    let (start, end) = partial_composite_range::<&str>("rec", &[]);
    assert_eq!(
        s.state_range("cc", &start, &end, 0).unwrap().results.len(),
        4
    );
    let page = s.state_range("cc", &start, &end, 3).unwrap();
    assert_eq!(page.bookmark, k(&["c1\u{7f}"]));
}

#[test]
fn history_is_newest_first_with_deletes_and_timestamps() {
    let (_d, l) = open();
    let mut c = Chain::new();
    l.commit_block(&c.block(vec![tx("t1", vec![KvWrite::put("cc", "k", "v1")])]))
        .unwrap();
    let mut t2 = tx("t2", vec![KvWrite::put("cc", "k", "v2")]);
    t2.timestamp = Timestamp {
        seconds: 2,
        nanos: 3,
    };
    l.commit_block(&c.block(vec![t2, tx("t3", vec![KvWrite::delete("cc", "k")])]))
        .unwrap();
    // "k\0x" extends "k" and must not show up in k's history.
    l.commit_block(&c.block(vec![tx("t4", vec![KvWrite::put("cc", "k\0x", "other")])]))
        .unwrap();

    let h = l.snapshot().unwrap().history("cc", "k").unwrap();
    let summary: Vec<_> = h
        .iter()
        .map(|m| (m.tx_id.as_str(), m.value.as_slice(), m.is_delete, m.height))
        .collect();
    assert_eq!(
        summary,
        [
            ("t3", &b""[..], true, Height::new(1, 1)),
            ("t2", &b"v2"[..], false, Height::new(1, 0)),
            ("t1", &b"v1"[..], false, Height::new(0, 0)),
        ]
    );
    assert_eq!(
        h[1].timestamp,
        Timestamp {
            seconds: 2,
            nanos: 3
        }
    );
}

#[test]
fn private_data_and_its_public_hashes() {
    let (_d, member) = open();
    let (_d2, other) = open();
    let mut c = Chain::new();
    let pw = PrivateWrite {
        namespace: "cc".into(),
        collection: "_implicit_org_Org1MSP".into(),
        key: "secret".into(),
        value: Some(b"s3cr3t".to_vec()),
    };
    let mut on_member = tx("t1", vec![]);
    on_member.hashed_writes = vec![pw.hashed()];
    on_member.private_writes = vec![pw.clone()];
    on_member.private_rwset = Some(b"pvt-rwset".to_vec());
    let mut on_other = on_member.clone();
    on_other.private_writes.clear();
    on_other.private_rwset = None;
    let b = c.block(vec![on_member]);
    let mut b_other = b.clone();
    b_other.txs = vec![on_other];
    member.commit_block(&b).unwrap();
    other.commit_block(&b_other).unwrap();

    let coll = "_implicit_org_Org1MSP";
    let sm = member.snapshot().unwrap();
    let so = other.snapshot().unwrap();
    assert_eq!(
        sm.private_data("cc", coll, "secret")
            .unwrap()
            .unwrap()
            .value,
        b"s3cr3t"
    );
    assert!(so.private_data("cc", coll, "secret").unwrap().is_none());
    use sha2::{Digest, Sha256};
    let want = Sha256::digest(b"s3cr3t").to_vec();
    for s in [&sm, &so] {
        let h = s.private_data_hash("cc", coll, "secret").unwrap().unwrap();
        assert_eq!(h.value_hash, want);
        assert_eq!(h.version, Height::new(0, 0));
        let by_kh = s
            .private_data_hash_by_key_hash("cc", coll, &Sha256::digest(b"secret"))
            .unwrap();
        assert_eq!(by_kh.unwrap().value_hash, want);
        assert!(
            s.private_data_hash("cc", "other", "secret")
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(sm.private_rwset(0, 0).unwrap().unwrap(), b"pvt-rwset");
    assert!(so.private_rwset(0, 0).unwrap().is_none());
    let page = sm.private_data_range("cc", coll, "", "", 0).unwrap();
    assert_eq!(keys(&page), ["secret"]);

    // A private delete removes the value and its hash.
    let del = PrivateWrite { value: None, ..pw };
    let mut t = tx("t2", vec![]);
    t.hashed_writes = vec![del.hashed()];
    t.private_writes = vec![del];
    member.commit_block(&c.block(vec![t])).unwrap();
    let sm = member.snapshot().unwrap();
    assert!(sm.private_data("cc", coll, "secret").unwrap().is_none());
    assert!(
        sm.private_data_hash("cc", coll, "secret")
            .unwrap()
            .is_none()
    );
}

#[test]
fn metadata_writes_set_metadata_and_value_writes_keep_it() {
    let (_d, l) = open();
    let mut c = Chain::new();
    let mut t = tx("t1", vec![KvWrite::put("cc", "k", "v")]);
    t.metadata_writes = vec![
        KvMetadataWrite {
            namespace: "cc".into(),
            key: "k".into(),
            metadata: b"policy".to_vec(),
        },
        KvMetadataWrite {
            namespace: "cc".into(),
            key: "absent".into(),
            metadata: b"policy".to_vec(),
        },
    ];
    l.commit_block(&c.block(vec![t])).unwrap();
    l.commit_block(&c.block(vec![tx("t2", vec![KvWrite::put("cc", "k", "v2")])]))
        .unwrap();
    let s = l.snapshot().unwrap();
    let v = s.state("cc", "k").unwrap().unwrap();
    assert_eq!(
        (v.value.as_slice(), v.metadata.as_slice()),
        (&b"v2"[..], &b"policy"[..])
    );
    assert!(s.state("cc", "absent").unwrap().is_none());
}

#[test]
fn private_and_hashed_metadata_writes() {
    let (_d, l) = open();
    let mut c = Chain::new();
    let pw = PrivateWrite {
        namespace: "cc".into(),
        collection: "coll".into(),
        key: "k".into(),
        value: Some(b"v".to_vec()),
    };
    let key_hash = pw.hashed().key_hash;
    let mut t = tx("t1", vec![]);
    t.hashed_writes = vec![pw.hashed()];
    t.private_writes = vec![pw.clone()];
    t.hashed_metadata_writes = vec![HashedMetadataWrite {
        namespace: "cc".into(),
        collection: "coll".into(),
        key_hash: key_hash.clone(),
        metadata: b"policy".to_vec(),
    }];
    t.private_metadata_writes = vec![PrivateMetadataWrite {
        namespace: "cc".into(),
        collection: "coll".into(),
        key: "k".into(),
        metadata: b"policy".to_vec(),
    }];
    l.commit_block(&c.block(vec![t])).unwrap();
    // A later value write keeps both metadata.
    let pw2 = PrivateWrite {
        value: Some(b"v2".to_vec()),
        ..pw
    };
    let mut t2 = tx("t2", vec![]);
    t2.hashed_writes = vec![pw2.hashed()];
    t2.private_writes = vec![pw2];
    l.commit_block(&c.block(vec![t2])).unwrap();
    let s = l.snapshot().unwrap();
    let p = s.private_data("cc", "coll", "k").unwrap().unwrap();
    assert_eq!(
        (p.value.as_slice(), p.metadata.as_slice()),
        (&b"v2"[..], &b"policy"[..])
    );
    assert_eq!(p.version, Height::new(1, 0));
    let h = s
        .private_data_hash_by_key_hash("cc", "coll", &key_hash)
        .unwrap()
        .unwrap();
    assert_eq!(h.metadata, b"policy");
    assert_eq!(h.version, Height::new(1, 0));
}

#[test]
fn a_reopened_ledger_has_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Chain::new();
    {
        let l = Ledger::open(dir.path(), "ch").unwrap();
        l.commit_block(&c.block(vec![tx("t1", vec![KvWrite::put("cc", "k", "v")])]))
            .unwrap();
    }
    let l = Ledger::open(dir.path(), "ch").unwrap();
    assert_eq!(l.height().unwrap(), 1);
    let mut watch = l.watch_height();
    assert_eq!(*watch.borrow_and_update(), 1);
    assert_eq!(
        l.snapshot()
            .unwrap()
            .state("cc", "k")
            .unwrap()
            .unwrap()
            .value,
        b"v"
    );
    l.commit_block(&c.block(vec![])).unwrap();
    assert!(watch.has_changed().unwrap());
    assert_eq!(*watch.borrow_and_update(), 2);
    assert_eq!(l.snapshot().unwrap().verify_chain().unwrap(), 2);
    // Channels are separate files.
    let other = Ledger::open(dir.path(), "ch2").unwrap();
    assert_eq!(other.height().unwrap(), 0);
}

mod model {
    //! The ledger against a BTreeMap model: random blocks of random writes and deletes,
    //! some txs invalid; state, versions, paginated ranges and history must all agree.

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    const KEYS: &[&str] = &["k", "k\0x", "\0t\0a\0", "\0t\0b\0", "z", "\u{e9}", "a b"];
    const NAMESPACES: &[&str] = &["cc", "cc2"];

    type Op = (usize, usize, Option<Vec<u8>>);
    /// (namespace, key) → every (version, value or None for a delete), oldest first.
    type History = BTreeMap<(String, String), Vec<(Height, Option<Vec<u8>>)>>;

    fn op() -> impl Strategy<Value = Op> {
        (
            0..NAMESPACES.len(),
            0..KEYS.len(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
        )
    }

    fn txs() -> impl Strategy<Value = Vec<(bool, Vec<Op>)>> {
        proptest::collection::vec(
            (
                proptest::bool::weighted(0.8),
                proptest::collection::vec(op(), 0..4),
            ),
            1..5,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn ledger_matches_model(
            blocks in proptest::collection::vec(txs(), 1..6),
            page in 1u32..4,
        ) {
            let (_d, l) = open();
            let mut c = Chain::new();
            let mut state: BTreeMap<(String, String), (Vec<u8>, Height)> = BTreeMap::new();
            let mut history = History::new();
            for (b, block_txs) in blocks.iter().enumerate() {
                let mut commits = Vec::new();
                for (t, (valid, ops)) in block_txs.iter().enumerate() {
                    let at = Height::new(b as u64, t as u64);
                    let writes: Vec<KvWrite> = ops
                        .iter()
                        .map(|(n, k, v)| KvWrite {
                            namespace: NAMESPACES[*n].into(),
                            key: KEYS[*k].into(),
                            value: v.clone(),
                        })
                        .collect();
                    if *valid {
                        for w in &writes {
                            let key = (w.namespace.clone(), w.key.clone());
                            match &w.value {
                                Some(v) => {
                                    state.insert(key.clone(), (v.clone(), at));
                                }
                                None => {
                                    state.remove(&key);
                                }
                            }
                            // One history entry per key and tx (a Fabric rwset holds one
                            // write per key; the last one wins).
                            let h = history.entry(key).or_default();
                            if h.last().is_some_and(|(last, _)| *last == at) {
                                h.pop();
                            }
                            h.push((at, w.value.clone()));
                        }
                    }
                    let mut tx = tx(&format!("t{b}-{t}"), writes);
                    tx.validation_code = if *valid { TX_VALID } else { 11 };
                    commits.push(tx);
                }
                l.commit_block(&c.block(commits)).unwrap();
            }
            let s = l.snapshot().unwrap();
            prop_assert_eq!(s.verify_chain().unwrap(), blocks.len() as u64);
            for ns in NAMESPACES {
                for key in KEYS {
                    let want = state.get(&(ns.to_string(), key.to_string()));
                    let got = s.state(ns, key).unwrap();
                    prop_assert_eq!(
                        got.map(|v| (v.value, v.version)),
                        want.cloned()
                    );
                    let want_h: Vec<_> = history
                        .get(&(ns.to_string(), key.to_string()))
                        .map(|h| h.iter().rev().cloned().collect())
                        .unwrap_or_default();
                    let got_h: Vec<_> = s
                        .history(ns, key)
                        .unwrap()
                        .into_iter()
                        .map(|m| (m.height, (!m.is_delete).then_some(m.value)))
                        .collect();
                    prop_assert_eq!(got_h, want_h);
                }
                // Paging through the namespace yields exactly the model's keys, in order.
                let want: Vec<(String, Height)> = state
                    .iter()
                    .filter(|((n, _), _)| n == ns)
                    .map(|((_, k), (_, h))| (k.clone(), *h))
                    .collect();
                let mut got = Vec::new();
                let mut start = String::new();
                loop {
                    let p = s.state_range(ns, &start, "", page).unwrap();
                    prop_assert!(p.results.len() <= page as usize);
                    got.extend(p.results.into_iter().map(|kv| (kv.key, kv.value.version)));
                    if p.bookmark.is_empty() {
                        break;
                    }
                    start = p.bookmark;
                }
                prop_assert_eq!(got, want);
            }
        }
    }
}

#[test]
fn channel_names_follow_fabric_and_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "",
        "../etc",
        "MyChannel",
        "1abc",
        "a_b",
        "a/b",
        &"a".repeat(250),
    ] {
        assert!(
            matches!(
                Ledger::open(dir.path(), bad),
                Err(LedgerError::BadChannelName(_))
            ),
            "{bad:?}"
        );
    }
    let nested = dir.path().join("peer0").join("ledgers");
    let l = Ledger::open(&nested, "my-channel.1").unwrap();
    assert!(l.path().starts_with(&nested));
    assert_eq!(l.channel(), "my-channel.1");
    // A second open of the same file in one process is refused with the path in the message.
    let err = Ledger::open(&nested, "my-channel.1").unwrap_err();
    assert!(err.to_string().contains("my-channel.1.redb"), "{err}");
}

#[test]
fn ledger_is_shareable_and_snapshots_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Ledger>();
    send::<Snapshot>();
}
