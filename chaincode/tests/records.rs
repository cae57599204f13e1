//! RecordHops, RecordError, GetRecords, GetErrors, TraceMessage: happy paths, read/write sets,
//! events, every error, access, pagination, and the no-writes-after-pagination rule.

mod common;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use sfcbc_chaincode::keys;
use sfcbc_chaincode::memstub::MemLedger;
use sfcbc_chaincode::packed;
use sfcbc_chaincode::types::{HopBatchEntry, HopRecordInput, PackedRecordsInput};

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
        // All hops share the policy: the next hop (3) validates by hash iff this one does.
        let hashing = policy.contains("hash");
        let outputs = if hashing {
            json!([hash("out0"), hash("out1"), hash("out2")])
        } else {
            json!([])
        };
        assert_eq!(body["outputs"], outputs, "{policy}");
        assert_eq!(body["records"], 3);
        let event = out.record.event.clone().unwrap();
        assert_eq!(event.name, "HopRecorded");
        let payload: Value = serde_json::from_slice(&event.payload).unwrap();
        assert_eq!(payload["outputs"], outputs);
        assert_eq!(payload["records"], 3);
        assert_eq!(payload["txId"], tx.as_str());

        // One key for the batch; `out` lookups only for a hash-validating next hop, `used`
        // guards only at a hash-validating hop.
        let mut expected_writes = vec![keys::batch_key(CHAIN, HOP2, &tx).unwrap()];
        let mut expected_reads = vec![keys::chain_key(CHAIN).unwrap()];
        for i in 0..3 {
            if hashing {
                expected_writes
                    .push(keys::out_key(CHAIN, HOP2, &hash(&format!("out{i}"))).unwrap());
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

        let stored = stored_batch(&net, HOP2, &tx);
        assert_eq!(stored["chain"], CHAIN);
        assert_eq!(stored["txId"], tx.as_str());
        assert_eq!(stored["ts"], "2023-11-14T22:13:21Z");
        assert_eq!(stored["src"], HOP1_ADDR);
        assert_eq!(stored["next"], HOP3_ADDR);
        assert!(stored["records"].is_string(), "records are stored packed");
        assert_eq!(
            entries(&stored)[1],
            json!({"seq": 1, "inputHash": hash("in1"), "outputHash": hash("out1")})
        );
        if hashing {
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
        // Read back as one record per datagram.
        let page = net
            .evaluate(owner(), &["GetRecords", CHAIN, HOP2, "10", ""])
            .json();
        assert_eq!(page["fetchedRecordsCount"], 3);
        assert_eq!(
            page["items"][2],
            json!({"chain": CHAIN, "psiid": HOP2, "seq": 2, "inputHash": hash("in2"),
                   "outputHash": hash("out2"), "src": HOP1_ADDR, "next": HOP3_ADDR,
                   "ts": "2023-11-14T22:13:21Z", "txId": tx})
        );
    }
}

#[test]
fn a_batch_stores_the_common_addresses_once() {
    let mut net = Net::with_chain("none");
    let other = "127.0.0.99:4000";
    let batch = json!([
        rec(0, &hash("i0"), &hash("o0"), HOP1_ADDR, HOP3_ADDR),
        rec(1, &hash("i1"), &hash("o1"), other, HOP3_ADDR),
        rec(2, &hash("i2"), &hash("o2"), HOP1_ADDR, other),
    ]);
    let out = net.record(sp2(), HOP2, batch.clone());
    let stored = stored_batch(&net, HOP2, &out.tx_id);
    assert_eq!(
        (&stored["src"], &stored["next"]),
        (&json!(HOP1_ADDR), &json!(HOP3_ADDR))
    );
    let stored = entries(&stored);
    assert_eq!(stored[0].get("src"), None);
    assert_eq!(stored[1]["src"], other);
    assert_eq!(stored[2]["next"], other);
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP2, "10", ""])
        .json();
    for (got, sent) in page["items"]
        .as_array()
        .unwrap()
        .iter()
        .zip(batch.as_array().unwrap())
    {
        for field in ["seq", "inputHash", "outputHash", "src", "next"] {
            assert_eq!(got[field], sent[field], "{field}");
        }
    }
}

/// The batch value `RecordHops` tx `tx` stored for `hop`, as JSON.
fn stored_batch(net: &Net, hop: &str, tx: &str) -> Value {
    let key = keys::batch_key(CHAIN, hop, tx).unwrap();
    serde_json::from_slice(net.ledger.get(&key).unwrap()).unwrap()
}

/// A stored batch's records, unpacked, as JSON.
fn entries(stored: &Value) -> Vec<Value> {
    packed::decode(stored["records"].as_str().expect("packed records"))
        .unwrap()
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn packed_records_record_what_the_array_form_does() {
    // The SF runtime sends `{"src", "next", "records": "<packed>"}`; the chaincode stores and
    // returns exactly what it does for the same records as a JSON array.
    let other = "127.0.0.99:4000";
    let inputs: Vec<HopRecordInput> = (0..5)
        .map(|i| HopRecordInput {
            seq: 100 + i,
            input_hash: hash(&format!("i{i}")),
            output_hash: hash(&format!("o{i}")),
            src: if i == 3 { other } else { HOP1_ADDR }.to_owned(),
            next: if i == 4 { other } else { HOP3_ADDR }.to_owned(),
        })
        .collect();
    let as_array = serde_json::to_value(&inputs).unwrap();
    let as_packed = serde_json::to_value(PackedRecordsInput::pack(&inputs)).unwrap();
    assert!(as_packed["records"].is_string());
    assert!(
        as_packed.to_string().len() * 10 < as_array.to_string().len() * 6,
        "packed {} bytes, array {}",
        as_packed.to_string().len(),
        as_array.to_string().len()
    );
    let mut results = Vec::new();
    for (policy, form) in [
        ("none", &as_array),
        ("none", &as_packed),
        ("hash", &as_array),
        ("hash", &as_packed),
    ] {
        let mut net = Net::with_chain(policy);
        let out = net.record(sp2(), HOP2, form.clone());
        let mut body = out.json();
        body["txId"] = json!("-");
        let mut stored = stored_batch(&net, HOP2, &out.tx_id);
        stored["txId"] = json!("-");
        let mut page = net
            .evaluate(owner(), &["GetRecords", CHAIN, HOP2, "10", ""])
            .json();
        for item in page["items"].as_array_mut().unwrap() {
            item["txId"] = json!("-");
        }
        let mut writes: Vec<String> = out.record.writes.keys().cloned().collect();
        writes.retain(|k| !k.contains(&out.tx_id));
        results.push((policy, body, stored, page, writes));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[2], results[3]);
    assert_eq!(results[0].3["fetchedRecordsCount"], 5);
    assert_eq!(results[0].3["items"][3]["src"], other);
    assert_eq!(results[0].3["items"][4]["next"], other);
    assert_eq!(
        results[2].4.len(),
        10,
        "out~ and used~ per record under hash"
    );
}

#[test]
fn batches_stored_before_packing_still_read() {
    // Their `records` is a JSON array of entries with hex hashes.
    let mut net = Net::with_chain("none");
    let v1 = json!({"chain": CHAIN, "psiid": HOP1, "txId": "v1tx", "ts": "2023-11-14T22:13:20Z",
        "src": "127.0.0.1:1", "next": HOP2_ADDR, "records": [
            {"seq": 4, "inputHash": hash("a"), "outputHash": hash("b")},
            {"seq": 5, "inputHash": hash("c"), "outputHash": hash("d"), "next": "127.0.0.7:7"}]});
    net.ledger.height += 1;
    let version = net.ledger.height;
    net.ledger.state.insert(
        keys::batch_key(CHAIN, HOP1, "v1tx").unwrap(),
        sfcbc_chaincode::memstub::Versioned {
            value: serde_json::to_vec(&v1).unwrap(),
            version,
        },
    );
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP1, "10", ""])
        .json();
    assert_eq!(page["fetchedRecordsCount"], 2);
    assert_eq!(
        page["items"][1],
        json!({"chain": CHAIN, "psiid": HOP1, "seq": 5, "inputHash": hash("c"),
               "outputHash": hash("d"), "src": "127.0.0.1:1", "next": "127.0.0.7:7",
               "ts": "2023-11-14T22:13:20Z", "txId": "v1tx"})
    );
    let trace = net
        .evaluate(owner(), &["TraceMessage", CHAIN, &hash("a")])
        .json();
    assert_eq!(trace["hops"][0]["outputHash"], hash("b"));
}

#[test]
fn bad_packed_records_are_refused_with_the_reason() {
    let mut net = Net::with_chain("none");
    let good = PackedRecordsInput::pack(&[HopRecordInput {
        seq: 1,
        input_hash: hash("i"),
        output_hash: hash("o"),
        src: HOP1_ADDR.into(),
        next: HOP3_ADDR.into(),
    }]);
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(
            serde_json::to_value(&good).unwrap()["records"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    bytes.pop();
    let cut = base64::engine::general_purpose::STANDARD.encode(&bytes);
    for (records, why) in [
        (
            json!({"src": HOP1_ADDR, "next": HOP3_ADDR, "records": cut}),
            "record 0 is cut short",
        ),
        (
            json!({"src": HOP1_ADDR, "next": HOP3_ADDR, "records": "%%"}),
            "not base64",
        ),
        (
            json!({"src": HOP1_ADDR, "next": HOP3_ADDR, "records": "AQ=="}),
            "0 records",
        ),
        (
            json!({"src": "nowhere", "next": HOP3_ADDR, "records": serde_json::to_value(&good).unwrap()["records"]}),
            "not ip:port",
        ),
        (
            json!({"src": HOP1_ADDR, "next": HOP3_ADDR, "records": "AQ==", "extra": 1}),
            "unknown field",
        ),
        (
            json!({"src": HOP1_ADDR, "next": HOP3_ADDR, "records": packed::encode(&[HopBatchEntry {
                seq: 1,
                input_hash: hash("i"),
                output_hash: hash("o"),
                src: None,
                next: Some("nowhere".into()),
            }])
            .unwrap()}),
            "recordsJSON.records[0].next",
        ),
    ] {
        let out = net.record(sp2(), HOP2, records);
        out.fails(400, why);
    }

    // More than a transaction holds, packed as the SF would.
    let many: Vec<HopRecordInput> = (0..1001)
        .map(|i| HopRecordInput {
            seq: i,
            input_hash: hash(&format!("i{i}")),
            output_hash: hash(&format!("o{i}")),
            src: HOP1_ADDR.into(),
            next: HOP3_ADDR.into(),
        })
        .collect();
    net.record(
        sp2(),
        HOP2,
        serde_json::to_value(PackedRecordsInput::pack(&many)).unwrap(),
    )
    .fails(400, "1001 records; one transaction holds 1..=1000");
    // The compact form's records are packed: an array there is refused, not half-accepted.
    net.record(
        sp2(),
        HOP2,
        json!({"src": HOP1_ADDR, "next": HOP3_ADDR, "records": [
            {"seq": 1, "inputHash": hash("i"), "outputHash": hash("o")}]}),
    )
    .fails(400, "expected packed records (a base64 string)");
}

#[test]
fn packed_replays_name_the_record_as_the_sf_expects() {
    // `sf::record::replay_index` finds the record to drop by `recordsJSON[i]`.
    let mut net = Net::with_chain("hash");
    let rec = |seq: u64, input: &str| HopBatchEntry {
        seq,
        input_hash: hash(input),
        output_hash: hash(&format!("out-{seq}")),
        src: None,
        next: None,
    };
    let packed = |entries: &[HopBatchEntry]| json!({"src": HOP1_ADDR, "next": HOP3_ADDR, "records": packed::encode(entries).unwrap()});
    net.record(
        sp2(),
        HOP2,
        packed(&[rec(1, "a"), rec(2, "b"), rec(3, "a")]),
    )
    .fails(409, "replay: recordsJSON[2].inputHash");
    net.record(sp2(), HOP2, packed(&[rec(1, "a")])).json();
    net.record(sp2(), HOP2, packed(&[rec(2, "b"), rec(3, "a")]))
        .fails(409, "replay: recordsJSON[1].inputHash");
    let mut twice = rec(5, "c");
    twice.output_hash = hash("out-4");
    net.record(sp2(), HOP2, packed(&[rec(4, "d"), twice]))
        .fails(400, "recordsJSON[1].outputHash");
}

#[test]
fn packed_input_is_stored_as_sent_and_reads_back_the_same() {
    // A packer that does not factor (every record names its own addresses; the common ones
    // are used by none): stored as sent, and every record reads back with its own.
    let mut net = Net::with_chain("none");
    let entries: Vec<HopBatchEntry> = (0..3)
        .map(|i| HopBatchEntry {
            seq: i,
            input_hash: hash(&format!("i{i}")),
            output_hash: hash(&format!("o{i}")),
            src: Some(format!("127.0.0.{}:4000", 20 + i)),
            next: Some(HOP3_ADDR.into()),
        })
        .collect();
    let out = net.record(
        sp2(),
        HOP2,
        json!({"src": "127.0.0.99:1", "next": "127.0.0.99:2",
               "records": packed::encode(&entries).unwrap()}),
    );
    out.json();
    let stored = stored_batch(&net, HOP2, &out.tx_id);
    assert_eq!(
        (&stored["src"], &stored["next"]),
        (&json!("127.0.0.99:1"), &json!("127.0.0.99:2"))
    );
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP2, "10", ""])
        .json();
    let got: Vec<(Value, Value)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["src"].clone(), r["next"].clone()))
        .collect();
    assert_eq!(
        got,
        (0..3)
            .map(|i| (json!(format!("127.0.0.{}:4000", 20 + i)), json!(HOP3_ADDR)))
            .collect::<Vec<_>>()
    );
}

/// Writes a hop-1 record as ledgers from before batches were stored whole hold it
/// (`rec~{chain}~{psiid}~{txid}~{n}` → `HopRecord`), straight into committed state.
fn put_old_record(net: &mut Net, tx: &str, seq: u64, input_hash: &str) -> Value {
    let old = json!({"chain": CHAIN, "psiid": HOP1, "seq": seq, "inputHash": input_hash,
        "outputHash": hash(&format!("{tx}-out")), "src": "127.0.0.1:1", "next": HOP2_ADDR,
        "ts": "2023-11-14T22:13:20Z", "txId": tx});
    let key = keys::create_composite_key(
        keys::kind::RECORD,
        &[CHAIN, HOP1, tx, &keys::record_index(0)],
    )
    .unwrap();
    net.ledger.height += 1;
    let version = net.ledger.height;
    net.ledger.state.insert(
        key,
        sfcbc_chaincode::memstub::Versioned {
            value: serde_json::to_vec(&old).unwrap(),
            version,
        },
    );
    old
}

#[test]
fn records_written_one_key_per_datagram_still_read() {
    // Ledgers from before batches were stored whole hold `rec~…~{txid}~{n}` → HopRecord.
    let mut net = Net::with_chain("none");
    let old = put_old_record(&mut net, "oldtx", 7, &hash("src"));
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP1, "10", ""])
        .json();
    assert_eq!(page["items"], json!([old]));
    let trace = net
        .evaluate(owner(), &["TraceMessage", CHAIN, &hash("src")])
        .json();
    assert_eq!(trace["hops"][0]["txId"], "oldtx");
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
fn get_records_pages_count_records_across_and_within_batches() {
    // Batches of 3, 1, 4 and 2 records at hop 1 and one at hop 2: every page size must list
    // the eleven records once each, in order, in pages of exactly that size but the last.
    let mut net = Net::with_chain("none");
    let mut want = Vec::new();
    let mut seq = 0u64;
    for size in [3, 1, 4, 2] {
        let batch: Vec<Value> = (0..size)
            .map(|_| {
                seq += 1;
                rec(
                    seq,
                    &hash(&format!("i{seq}")),
                    &hash(&format!("o{seq}")),
                    CLASSIFIER,
                    HOP2_ADDR,
                )
            })
            .collect();
        net.record(sp1(), HOP1, json!(batch)).json();
    }
    net.record(
        sp2(),
        HOP2,
        json!([rec(99, &hash("x"), &hash("y"), HOP1_ADDR, HOP3_ADDR)]),
    )
    .json();
    for page in net
        .evaluate(owner(), &["GetRecords", CHAIN, "", "100", ""])
        .json()["items"]
        .as_array()
        .unwrap()
    {
        want.push(page["seq"].as_u64().unwrap());
    }
    assert_eq!(want, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 99]);
    for size in 1..=12usize {
        let mut bookmark = String::new();
        let mut seen = Vec::new();
        loop {
            let out = net.evaluate(
                owner(),
                &["GetRecords", CHAIN, "", &size.to_string(), &bookmark],
            );
            assert!(out.record.paginated && out.record.writes.is_empty());
            let page = out.json();
            let items = page["items"].as_array().unwrap();
            assert_eq!(page["fetchedRecordsCount"], items.len());
            seen.extend(items.iter().map(|i| i["seq"].as_u64().unwrap()));
            bookmark = page["bookmark"].as_str().unwrap().to_owned();
            if bookmark.is_empty() {
                break;
            }
            assert_eq!(items.len(), size, "a page before the last is full");
            assert!(seen.len() <= want.len(), "page size {size}: no end");
        }
        assert_eq!(seen, want, "page size {size}");
    }
    // A bookmark inside a batch still belongs to its query only.
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP1, "2", ""])
        .json();
    let within = page["bookmark"].as_str().unwrap().to_owned();
    net.evaluate(owner(), &["GetRecords", CHAIN, HOP2, "2", &within])
        .fails(400, "`bookmark`");
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP1, "2", &within])
        .json();
    assert_eq!(page["items"][0]["seq"], 3);
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
    let other_chain =
        sfcbc_chaincode::validate::encode_bookmark(&keys::batch_key("chain0", HOP1, "tx").unwrap());
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

#[test]
fn per_datagram_keys_follow_each_hops_policy() {
    // none → hash → address: hop 1 writes `out~` for hop 2's hash check, hop 2 guards its
    // inputs with `used~` and writes no `out~` (hop 3 checks addresses), hop 3 (the last)
    // writes its batch only.
    let mut net = Net::default();
    let spec = chain_json_with(["none", "hash", "address"]);
    net.submit(owner(), &["CreateChain", &spec]).json();
    let batch = |hop: &str, from: &str, to: &str, outs: [&str; 2]| {
        json!([
            rec(0, &hash(&format!("{hop}-in0")), &hash(outs[0]), from, to),
            rec(1, &hash(&format!("{hop}-in1")), &hash(outs[1]), from, to),
        ])
    };
    let keys_of = |out: &Outcome| -> Vec<String> {
        let mut kinds: Vec<String> = out
            .record
            .writes
            .keys()
            .map(|k| k.split('\u{0}').nth(1).unwrap().to_owned())
            .collect();
        kinds.sort();
        kinds
    };

    // Hop 1: two equal outputs would share one `out~` key: refused.
    net.record(sp1(), HOP1, batch("h1", CLASSIFIER, HOP2_ADDR, ["m", "m"]))
        .fails(400, "appears twice");
    let out = net.record(
        sp1(),
        HOP1,
        batch("h1", CLASSIFIER, HOP2_ADDR, ["m0", "m1"]),
    );
    assert_eq!(keys_of(&out), ["out", "out", "rec"]);
    assert_eq!(out.json()["outputs"], json!([hash("m0"), hash("m1")]));

    // Hop 2: replay guard only; equal outputs are fine (nothing looks them up).
    let out = net.record(sp2(), HOP2, batch("h2", HOP1_ADDR, HOP3_ADDR, ["x", "x"]));
    assert_eq!(keys_of(&out), ["rec", "used", "used"]);
    assert_eq!(
        (out.json()["outputs"].clone(), out.json()["records"].clone()),
        (json!([]), json!(2))
    );

    // Hop 3, the last: the batch alone.
    let out = net.record(
        sp3(),
        HOP3,
        batch("h3", HOP2_ADDR, "127.0.0.9:9", ["y0", "y1"]),
    );
    assert_eq!(keys_of(&out), ["rec"]);
    let page = net
        .evaluate(owner(), &["GetRecords", CHAIN, "", "10", ""])
        .json();
    assert_eq!(page["fetchedRecordsCount"], 6);
}

#[test]
fn old_and_new_record_keys_page_together() {
    // A hop whose ledger holds records of both layouts: every record once, in key order.
    let mut net = Net::with_chain("none");
    for (tx, seq) in [("0000old", 100), ("zzzzold", 101)] {
        put_old_record(&mut net, tx, seq, &hash(tx));
    }
    let batch: Vec<Value> = (0..3)
        .map(|i| {
            rec(
                i,
                &hash(&format!("n{i}")),
                &hash(&format!("o{i}")),
                CLASSIFIER,
                HOP2_ADDR,
            )
        })
        .collect();
    net.record(sp1(), HOP1, json!(batch)).json();
    let all: Vec<u64> = net
        .evaluate(owner(), &["GetRecords", CHAIN, HOP1, "100", ""])
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(all.len(), 5);
    assert_eq!(
        (all[0], all[4]),
        (100, 101),
        "old keys sort around the tx{{n}} batch"
    );
    for size in 1..=5 {
        let mut bookmark = String::new();
        let mut seen = Vec::new();
        loop {
            let page = net
                .evaluate(
                    owner(),
                    &["GetRecords", CHAIN, HOP1, &size.to_string(), &bookmark],
                )
                .json();
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["seq"].as_u64().unwrap()),
            );
            bookmark = page["bookmark"].as_str().unwrap().to_owned();
            if bookmark.is_empty() {
                break;
            }
        }
        assert_eq!(seen, all, "page size {size}");
    }
}
