//! RecordHops, RecordError, GetRecords, GetErrors, TraceMessage: happy paths, read/write sets,
//! events, every error, access, pagination, and the no-writes-after-pagination rule.

mod common;

use common::*;
use serde_json::{Value, json};
use sfcbc_chaincode::keys;
use sfcbc_chaincode::memstub::MemLedger;

#[test]
fn record_hops_writes_blindly_and_emits_one_event() {
    for policy in ["none", "address", "hash", "hash+address"] {
        let mut net = Net::with_chain(policy);
        let batch: Vec<Value> = (0..3)
            .map(|i| {
                rec(
                    i,
                    &hash(&format!("in{i}")),
                    &hash(&format!("out{i}")),
                    HOP1_ADDR,
                    HOP3_ADDR,
                )
            })
            .collect();
        let out = net.record(sp2(), HOP2, json!(batch));
        let body = out.json();
        let tx = out.tx_id.clone();
        assert_eq!(body["outputs"].as_array().unwrap().len(), 3);
        let event = out.record.event.clone().unwrap();
        assert_eq!(event.name, "HopRecorded");
        let payload: Value = serde_json::from_slice(&event.payload).unwrap();
        assert_eq!(
            payload["outputs"],
            json!([hash("out0"), hash("out1"), hash("out2")])
        );
        assert_eq!(payload["txId"], tx.as_str());

        let hashing = policy.contains("hash");
        let mut expected_writes = Vec::new();
        let mut expected_reads = vec![keys::chain_key(CHAIN).unwrap()];
        for i in 0..3 {
            expected_writes.push(keys::record_key(CHAIN, HOP2, &tx, i as usize).unwrap());
            expected_writes.push(keys::out_key(CHAIN, HOP2, &hash(&format!("out{i}"))).unwrap());
            if hashing {
                let used = keys::used_key(CHAIN, HOP2, &hash(&format!("in{i}"))).unwrap();
                expected_writes.push(used.clone());
                expected_reads.push(used);
            }
        }
        expected_writes.sort();
        expected_reads.sort();
        assert_eq!(
            out.record.writes.keys().cloned().collect::<Vec<_>>(),
            expected_writes,
            "{policy}"
        );
        assert_eq!(out.record.read_keys(), expected_reads, "{policy}");
        assert!(out.record.range_reads.is_empty() && !out.record.paginated);

        let stored: Value = serde_json::from_slice(
            net.ledger
                .get(&keys::record_key(CHAIN, HOP2, &tx, 1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(stored["seq"], 1);
        assert_eq!(stored["ts"], "2023-11-14T22:13:21Z");
        assert_eq!(stored["chain"], CHAIN);
        let out_rec: Value = serde_json::from_slice(
            net.ledger
                .get(&keys::out_key(CHAIN, HOP2, &hash("out1")).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            out_rec,
            json!({"txId": tx, "seq": 1, "ts": "2023-11-14T22:13:21Z"})
        );
    }
}

#[test]
fn record_hops_errors() {
    let mut net = Net::with_chain("hash");
    let good = rec(1, &hash("a"), &hash("b"), HOP1_ADDR, HOP3_ADDR);
    let cases: Vec<(Value, &str, i32)> = vec![
        (json!([]), "`recordsJSON`", 400),
        (json!(good), "`recordsJSON`", 400),
        (json!([{"seq": 1}]), "`recordsJSON`", 400),
        (
            json!([rec(1, "ABC", &hash("b"), HOP1_ADDR, HOP3_ADDR)]),
            "`recordsJSON[0].inputHash`",
            400,
        ),
        (
            json!([good, rec(2, &hash("x"), "zz", HOP1_ADDR, HOP3_ADDR)]),
            "`recordsJSON[1].outputHash`",
            400,
        ),
        (
            json!([rec(1, &hash("a"), &hash("b"), "nope", HOP3_ADDR)]),
            "`recordsJSON[0].src`",
            400,
        ),
        (
            json!([rec(1, &hash("a"), &hash("b"), HOP1_ADDR, "")]),
            "`recordsJSON[0].next`",
            400,
        ),
        (
            json!([good, rec(2, &hash("c"), &hash("b"), HOP1_ADDR, HOP3_ADDR)]),
            "`recordsJSON[1].outputHash`",
            400,
        ),
        (
            json!([good, rec(2, &hash("a"), &hash("c"), HOP1_ADDR, HOP3_ADDR)]),
            "appears twice",
            409,
        ),
    ];
    for (records, needle, status) in cases {
        let out = net.record(sp2(), HOP2, records);
        out.fails(status, needle);
        assert!(out.record.writes.is_empty() && out.record.event.is_none());
    }
    let too_many: Vec<Value> = (0..1001)
        .map(|i| {
            rec(
                i,
                &hash(&format!("i{i}")),
                &hash(&format!("o{i}")),
                HOP1_ADDR,
                HOP3_ADDR,
            )
        })
        .collect();
    net.record(sp2(), HOP2, json!(too_many))
        .fails(400, "1..=1000");
    let max: Vec<Value> = (0..1000)
        .map(|i| {
            rec(
                i,
                &hash(&format!("i{i}")),
                &hash(&format!("o{i}")),
                HOP1_ADDR,
                HOP3_ADDR,
            )
        })
        .collect();
    assert_eq!(
        net.record(sp2(), HOP2, json!(max)).json()["outputs"]
            .as_array()
            .unwrap()
            .len(),
        1000
    );
    for who in [owner(), sp1(), sp3(), manager(), stranger()] {
        net.record(who, HOP2, json!([good])).fails(403, "Org2MSP");
    }
    net.record(sp2(), "Org2:Else:1", json!([good]))
        .fails(404, "not in chain");
    net.submit(
        sp2(),
        &["RecordHops", "nochain", HOP2, &json!([good]).to_string()],
    )
    .fails(404, "does not exist");
    net.submit(sp2(), &["RecordHops", CHAIN, HOP2])
        .fails(400, "`args`");
    net.submit(owner(), &["DisableChain", CHAIN]).json();
    net.record(sp2(), HOP2, json!([good]))
        .fails(409, "disabled");
}

#[test]
fn record_against_a_replaced_chain_version_conflicts() {
    let mut net = Net::with_chain("none");
    let stub = net.stub(sp2(), &[]);
    let records = json!([rec(1, &hash("a"), &hash("b"), HOP1_ADDR, HOP3_ADDR)]).to_string();
    assert_eq!(
        net.run(&stub, &["RecordHops", CHAIN, HOP2, &records])
            .status(),
        200
    );
    net.submit(owner(), &["UpdateChain", &chain_json("address")])
        .json();
    assert!(
        net.ledger.commit(&stub).is_err(),
        "MVCC_READ_CONFLICT on chain~"
    );
}

#[test]
fn record_error_writes_and_emits() {
    let mut net = Net::with_chain("hash");
    let err = json!({"kind": "hash", "detail": "no out record after 2s", "src": HOP1_ADDR, "inputHash": hash("m")});
    let out = net.submit(sp2(), &["RecordError", CHAIN, HOP2, &err.to_string()]);
    let body = out.json();
    assert_eq!(body["kind"], "hash");
    assert_eq!(body["ts"], "2023-11-14T22:13:21Z");
    let writes: Vec<_> = out.record.writes.keys().cloned().collect();
    assert_eq!(
        writes,
        vec![keys::error_key(CHAIN, HOP2, &out.tx_id, 0).unwrap()]
    );
    assert_eq!(
        out.record.read_keys(),
        vec![keys::chain_key(CHAIN).unwrap()]
    );
    let event = out.record.event.unwrap();
    assert_eq!(event.name, "HopRejected");
    let payload: Value = serde_json::from_slice(&event.payload).unwrap();
    assert_eq!(payload["kind"], "hash");
    assert_eq!(payload["inputHash"], hash("m"));

    let bad = |v: Value| v.to_string();
    net.submit(
        sp2(),
        &[
            "RecordError",
            CHAIN,
            HOP2,
            &bad(json!({"kind": "weird", "detail": "", "src": HOP1_ADDR, "inputHash": hash("m")})),
        ],
    )
    .fails(400, "`errorJSON`");
    net.submit(sp2(), &["RecordError", CHAIN, HOP2, &bad(json!({"kind": "auth", "detail": "x".repeat(1025), "src": HOP1_ADDR, "inputHash": hash("m")}))])
        .fails(400, "`errorJSON.detail`");
    net.submit(
        sp2(),
        &[
            "RecordError",
            CHAIN,
            HOP2,
            &bad(json!({"kind": "auth", "detail": "", "src": "x", "inputHash": hash("m")})),
        ],
    )
    .fails(400, "`errorJSON.src`");
    net.submit(
        sp2(),
        &[
            "RecordError",
            CHAIN,
            HOP2,
            &bad(json!({"kind": "auth", "detail": "", "src": HOP1_ADDR, "inputHash": "0"})),
        ],
    )
    .fails(400, "`errorJSON.inputHash`");
    for who in [owner(), sp1(), manager(), stranger()] {
        net.submit(who, &["RecordError", CHAIN, HOP2, &err.to_string()])
            .fails(403, "Org2MSP");
    }
    net.submit(sp2(), &["RecordError", CHAIN, "Org2:X:1", &err.to_string()])
        .fails(404, "not in chain");
    // A disabled chain still takes error records (config rejections).
    net.submit(owner(), &["DisableChain", CHAIN]).json();
    let config = json!({"kind": "config", "detail": "chain disabled", "src": HOP1_ADDR, "inputHash": hash("n")});
    net.submit(sp2(), &["RecordError", CHAIN, HOP2, &config.to_string()])
        .json();
}

fn fill(net: &mut Net) {
    for i in 0..5u64 {
        net.record(
            sp1(),
            HOP1,
            json!([rec(
                i,
                &hash(&format!("a{i}")),
                &hash(&format!("b{i}")),
                CLASSIFIER,
                HOP2_ADDR
            )]),
        )
        .json();
    }
    net.record(
        sp2(),
        HOP2,
        json!([rec(0, &hash("b0"), &hash("c0"), HOP1_ADDR, HOP3_ADDR)]),
    )
    .json();
    for i in 0..3 {
        let e = json!({"kind": "source", "detail": "", "src": "10.9.9.9:1", "inputHash": hash(&format!("e{i}"))});
        net.submit(sp3(), &["RecordError", CHAIN, HOP3, &e.to_string()])
            .json();
    }
}

#[test]
fn get_records_paginates_and_never_writes() {
    let mut net = Net::with_chain("none");
    fill(&mut net);
    let mut bookmark = String::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let out = net.evaluate(manager(), &["GetRecords", CHAIN, "", "2", &bookmark]);
        assert!(out.record.paginated && out.record.writes.is_empty());
        let page = out.json();
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["outputHash"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            page["fetchedRecordsCount"],
            page["items"].as_array().unwrap().len()
        );
        bookmark = page["bookmark"].as_str().unwrap().to_owned();
        if bookmark.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6);
    let hop2 = net
        .evaluate(sp3(), &["GetRecords", CHAIN, HOP2, "10", ""])
        .json();
    assert_eq!(hop2["items"][0]["outputHash"], hash("c0"));
    assert_eq!(hop2["bookmark"], "");
}

#[test]
fn get_records_errors_and_access() {
    let mut net = Net::with_chain("none");
    fill(&mut net);
    for who in [owner(), sp1(), sp2(), sp3(), manager()] {
        net.evaluate(who, &["GetRecords", CHAIN, "", "1", ""])
            .json();
    }
    for who in [owner_colleague(), stranger()] {
        net.evaluate(who, &["GetRecords", CHAIN, "", "1", ""])
            .fails(403, "not a member");
    }
    for size in ["0", "1001", "-1", "ten", ""] {
        net.evaluate(owner(), &["GetRecords", CHAIN, "", size, ""])
            .fails(400, "`pageSize`");
    }
    net.evaluate(owner(), &["GetRecords", CHAIN, "", "1", "%%%"])
        .fails(400, "`bookmark`");
    net.evaluate(owner(), &["GetRecords", CHAIN, "Org1:Nope:1", "1", ""])
        .fails(404, "not in chain");
    net.evaluate(owner(), &["GetRecords", CHAIN, "nope", "1", ""])
        .fails(400, "`psiid`");
    net.evaluate(owner(), &["GetRecords", "nochain", "", "1", ""])
        .fails(404, "does not exist");
    net.evaluate(owner(), &["GetRecords", CHAIN, "", "1"])
        .fails(400, "`args`");
    // A bookmark from another chain's (or hop's) query cannot widen this one.
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP1, "1", ""])
        .json();
    let hop1_bookmark = page["bookmark"].as_str().unwrap().to_owned();
    assert!(!hop1_bookmark.is_empty());
    net.evaluate(owner(), &["GetRecords", CHAIN, HOP2, "1", &hop1_bookmark])
        .fails(400, "`bookmark`");
    let other_chain = sfcbc_chaincode::validate::encode_bookmark(
        &keys::record_key("chain0", HOP1, "tx", 0).unwrap(),
    );
    net.evaluate(owner(), &["GetRecords", CHAIN, "", "1", &other_chain])
        .fails(400, "`bookmark`");
}

#[test]
fn get_errors_paginates() {
    let mut net = Net::with_chain("none");
    fill(&mut net);
    let page = net
        .evaluate(owner(), &["GetErrors", CHAIN, HOP3, "2", ""])
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["kind"], "source");
    let next = page["bookmark"].as_str().unwrap();
    let page = net
        .evaluate(owner(), &["GetErrors", CHAIN, HOP3, "2", next])
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["bookmark"], "");
    assert_eq!(
        net.evaluate(owner(), &["GetErrors", CHAIN, HOP1, "2", ""])
            .json()["items"],
        json!([])
    );
    net.evaluate(stranger(), &["GetErrors", CHAIN, "", "2", ""])
        .fails(403, "not a member");
    net.evaluate(owner(), &["GetErrors", CHAIN, "", "x", ""])
        .fails(400, "`pageSize`");
}

#[test]
fn the_stub_refuses_writes_after_pagination() {
    // The rule every submit transaction must respect: once a transaction paginated, a peer
    // refuses its writes, so a submit that paginated would fail with 500.
    let ledger = MemLedger::new("sfc1");
    let stub = ledger.tx(owner());
    futures::executor::block_on(sfcbc_chaincode::Stub::get_state_by_range_with_pagination(
        &stub, "a", "b", 1, "",
    ))
    .unwrap();
    let args: Vec<Vec<u8>> = ["CreateChain", &chain_json("none")]
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .collect();
    let response = futures::executor::block_on(sfcbc_chaincode::dispatch(&stub, &args));
    assert_eq!(response.status, 500);
    assert!(response.message.contains("paginated query"));
}

#[test]
fn trace_follows_a_message_through_the_chain() {
    let mut net = Net::with_chain("hash");
    let (h0, h1, h2, h3) = (hash("m"), hash("m|1"), hash("m|1|2"), hash("m|1|2|3"));
    // Noise: other messages at each hop.
    net.record(
        sp1(),
        HOP1,
        json!([rec(
            9,
            &hash("noise"),
            &hash("noise|1"),
            CLASSIFIER,
            HOP2_ADDR
        )]),
    )
    .json();
    net.record(
        sp1(),
        HOP1,
        json!([rec(1, &h0, &h1, CLASSIFIER, HOP2_ADDR)]),
    )
    .json();
    net.record(sp2(), HOP2, json!([rec(1, &h1, &h2, HOP1_ADDR, HOP3_ADDR)]))
        .json();
    let partial = net.evaluate(owner(), &["TraceMessage", CHAIN, &h0]).json();
    assert_eq!(partial["complete"], false);
    assert_eq!(partial["stoppedAt"], HOP3);
    assert_eq!(partial["hops"].as_array().unwrap().len(), 2);
    let e = json!({"kind": "hash", "detail": "timeout", "src": HOP2_ADDR, "inputHash": h2});
    net.submit(sp3(), &["RecordError", CHAIN, HOP3, &e.to_string()])
        .json();
    let with_error = net.evaluate(sp1(), &["TraceMessage", CHAIN, &h0]).json();
    assert_eq!(with_error["errors"][0]["kind"], "hash");
    net.record(
        sp3(),
        HOP3,
        json!([rec(1, &h2, &h3, HOP2_ADDR, DESTINATION)]),
    )
    .json();
    let out = net.evaluate(manager(), &["TraceMessage", CHAIN, &h0]);
    assert!(out.record.writes.is_empty() && !out.record.paginated);
    let trace = out.json();
    assert_eq!(trace["complete"], true);
    let hops: Vec<_> = trace["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["psiid"].as_str().unwrap().to_owned(),
                h["inputHash"].as_str().unwrap().to_owned(),
                h["outputHash"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        vec![
            (HOP1.to_owned(), h0.clone(), h1.clone()),
            (HOP2.to_owned(), h1.clone(), h2.clone()),
            (HOP3.to_owned(), h2.clone(), h3.clone()),
        ]
    );
    assert!(trace["hops"][0]["ts"].as_str().unwrap() < trace["hops"][2]["ts"].as_str().unwrap());
    let unknown = net
        .evaluate(owner(), &["TraceMessage", CHAIN, &hash("never")])
        .json();
    assert_eq!(unknown["stoppedAt"], HOP1);
    assert_eq!(unknown["hops"], json!([]));
    net.evaluate(stranger(), &["TraceMessage", CHAIN, &h0])
        .fails(403, "not a member");
    net.evaluate(owner(), &["TraceMessage", CHAIN, "xyz"])
        .fails(400, "`sourceHash`");
    net.evaluate(owner(), &["TraceMessage", "nochain", &h0])
        .fails(404, "does not exist");
}

#[test]
fn trace_follows_the_earliest_of_replayed_records() {
    let mut net = Net::with_chain("none");
    let (h0, early, late) = (hash("m"), hash("early"), hash("late"));
    let ts = |seconds, nanos| sfcbc_chaincode::TxTimestamp { seconds, nanos };
    // Key order (tx id) and time order disagree; fractional seconds must not fool the order.
    for (tx, out, t) in [
        ("a-tx", &late, ts(1_800_000_000, 0)),
        ("b-tx", &early, ts(1_799_999_999, 500_000_000)),
    ] {
        let stub = net.stub(sp1(), &[]).with_tx_id(tx).with_timestamp(t);
        let records = json!([rec(1, &h0, out, CLASSIFIER, HOP2_ADDR)]).to_string();
        assert_eq!(
            net.run(&stub, &["RecordHops", CHAIN, HOP1, &records])
                .status(),
            200
        );
        net.ledger.commit(&stub).unwrap();
    }
    let trace = net.evaluate(owner(), &["TraceMessage", CHAIN, &h0]).json();
    assert_eq!(trace["hops"][0]["outputHash"], early);
    assert_eq!(trace["hops"][0]["ts"], "2027-01-15T07:59:59.5Z");
}

#[test]
fn concurrent_records_of_one_input_conflict_under_hash_policies() {
    for (policy, conflicts) in [
        ("hash", true),
        ("hash+address", true),
        ("none", false),
        ("address", false),
    ] {
        let mut net = Net::with_chain(policy);
        let input = hash("same input");
        let a = net.stub(sp2(), &[]).with_tx_id("tx-a");
        let b = net.stub(sp2(), &[]).with_tx_id("tx-b");
        for (stub, out) in [(&a, "out-a"), (&b, "out-b")] {
            let records = json!([rec(1, &input, &hash(out), HOP1_ADDR, HOP3_ADDR)]).to_string();
            assert_eq!(
                net.run(stub, &["RecordHops", CHAIN, HOP2, &records])
                    .status(),
                200
            );
        }
        net.ledger.commit(&a).unwrap();
        assert_eq!(net.ledger.commit(&b).is_err(), conflicts, "{policy}");
    }
}
