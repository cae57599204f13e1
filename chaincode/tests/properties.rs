//! Property tests: composite-key round trips, records of different messages never read a
//! key the other writes (so they cannot MVCC-conflict), and the dispatcher never panics on
//! arbitrary input and answers garbage with an error status.

mod common;

use common::*;
use futures::executor::block_on;
use proptest::prelude::*;
use sfcbc_chaincode::keys::{
    create_composite_key, partial_composite_key_range, split_composite_key,
    validate_composite_key_attribute_bytes,
};
use sfcbc_chaincode::tx::TRANSACTIONS;
use sfcbc_chaincode::{Creator, dispatch};

/// Strings without U+0000 and U+10FFFF (everything else, including other supplementary
/// characters, is a valid attribute).
fn attribute() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.replace(['\u{0}', '\u{10FFFF}'], ""))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn composite_keys_round_trip(object_type in attribute(), attrs in prop::collection::vec(attribute(), 0..6)) {
        let refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let key = create_composite_key(&object_type, &refs).unwrap();
        prop_assert_eq!(split_composite_key(&key).unwrap(), (object_type.clone(), attrs.clone()));
        // Every key built from a prefix of the attributes bounds this key's range query.
        for n in 0..=refs.len() {
            let (start, end) = partial_composite_key_range(&object_type, &refs[..n]).unwrap();
            prop_assert!(start.as_str() <= key.as_str() && key.as_str() < end.as_str());
        }
    }

    #[test]
    fn reserved_runes_are_rejected(prefix in attribute(), suffix in attribute(), max in any::<bool>()) {
        let bad = format!("{prefix}{}{suffix}", if max { '\u{10FFFF}' } else { '\u{0}' });
        prop_assert!(create_composite_key(&bad, &[]).is_err());
        prop_assert!(create_composite_key("t", &["ok", &bad]).is_err());
    }

    #[test]
    fn attribute_bytes_validate_like_go(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
        let ok = validate_composite_key_attribute_bytes(&bytes).is_ok();
        let expected = match std::str::from_utf8(&bytes) {
            Ok(s) => !s.contains(['\u{0}', '\u{10FFFF}']),
            Err(_) => false,
        };
        prop_assert_eq!(ok, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Two RecordHops of different messages, endorsed on the same state (the worst case:
    /// same hop, same block), never read a key the other writes — besides `chain~`, which no
    /// record writes — and both commit in either order.
    #[test]
    fn records_of_different_messages_never_conflict(
        policy in prop::sample::select(vec!["none", "hash", "address", "hash+address"]),
        a in prop::collection::btree_set(0u32..1000, 1..8),
        b in prop::collection::btree_set(1000u32..2000, 1..8),
        same_hop in any::<bool>(),
        a_first in any::<bool>(),
    ) {
        let mut net = Net::with_chain(policy);
        let batch = |msgs: &std::collections::BTreeSet<u32>| {
            serde_json::json!(msgs.iter().map(|m| rec(
                u64::from(*m), &hash(&format!("in{m}")), &hash(&format!("out{m}")), HOP1_ADDR, HOP3_ADDR,
            )).collect::<Vec<_>>()).to_string()
        };
        let (hop_b, sp_b) = if same_hop { (HOP2, sp2()) } else { (HOP3, sp3()) };
        let tx_a = net.stub(sp2(), &[]);
        let tx_b = net.stub(sp_b, &[]).with_tx_id("tx-b");
        prop_assert_eq!(net.run(&tx_a, &["RecordHops", CHAIN, HOP2, &batch(&a)]).status(), 200);
        prop_assert_eq!(net.run(&tx_b, &["RecordHops", CHAIN, hop_b, &batch(&b)]).status(), 200);
        let (ra, rb) = (tx_a.record(), tx_b.record());
        for (reader, writer) in [(&ra, &rb), (&rb, &ra)] {
            prop_assert!(reader.range_reads.is_empty());
            for key in reader.read_keys() {
                prop_assert!(!writer.writes.contains_key(&key), "reads {:?} that the other writes", key);
            }
            prop_assert!(!writer.writes.contains_key(&sfcbc_chaincode::keys::chain_key(CHAIN).unwrap()));
        }
        let (first, second) = if a_first { (&tx_a, &tx_b) } else { (&tx_b, &tx_a) };
        prop_assert!(net.ledger.commit(first).is_ok());
        prop_assert!(net.ledger.commit(second).is_ok());
    }
}

fn function_name() -> impl Strategy<Value = Vec<u8>> {
    let known: Vec<Vec<u8>> = TRANSACTIONS
        .iter()
        .map(|t| t.name.as_bytes().to_vec())
        .chain([
            b"org.hyperledger.fabric:GetMetadata".to_vec(),
            b"SfcContract:CheckIn".to_vec(),
        ])
        .collect();
    prop_oneof![
        prop::sample::select(known),
        prop::collection::vec(any::<u8>(), 0..40),
        any::<String>().prop_map(String::into_bytes),
    ]
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        any::<String>().prop_map(String::into_bytes),
        Just(CHAIN.as_bytes().to_vec()),
        Just(HOP2.as_bytes().to_vec()),
        Just(b"[]".to_vec()),
        Just(b"{}".to_vec()),
        Just(b"".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn dispatcher_never_panics_and_rejects_garbage(
        name in function_name(),
        args in prop::collection::vec(arg(), 0..6),
        who in 0usize..4,
        transient in prop::collection::btree_map("[a-z]{1,8}", prop::collection::vec(any::<u8>(), 0..40), 0..3),
    ) {
        let net = Net::with_chain("hash+address");
        let creator = match who {
            0 => owner(),
            1 => sp2(),
            2 => stranger(),
            _ => Creator { msp_id: "X".into(), id_bytes: b"junk".to_vec() },
        };
        let mut stub = net.ledger.tx(creator);
        stub.transient = transient;
        let mut call = vec![name.clone()];
        call.extend(args.iter().cloned());
        let response = block_on(dispatch(&stub, &call));
        let known = TRANSACTIONS.iter().any(|t| t.name.as_bytes() == name.as_slice())
            || name == b"SfcContract:CheckIn"
            || name == b"org.hyperledger.fabric:GetMetadata";
        let garbage = !known || args.iter().any(|a| std::str::from_utf8(a).is_err());
        prop_assert!(
            matches!(response.status, 200 | 400 | 403 | 404 | 409),
            "status {} for {:?}: {}", response.status, String::from_utf8_lossy(&name), response.message
        );
        if garbage {
            prop_assert!(response.status != 200, "garbage accepted: {:?}", String::from_utf8_lossy(&name));
        }
        if response.status == 200 {
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&response.payload).is_ok());
        } else {
            prop_assert!(response.payload.is_empty());
            prop_assert!(!response.message.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Damaged certificates are refused or read, never a panic.
    #[test]
    fn client_id_never_panics(flips in prop::collection::vec((0usize..2000, any::<u8>()), 0..8), garbage in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = sfcbc_chaincode::client_id(&garbage);
        let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/identity/go-exotic.pem")).unwrap();
        let block = x509_der(&pem);
        let mut der = block.clone();
        for (at, byte) in flips {
            if !der.is_empty() {
                let i = at % der.len();
                der[i] = byte;
            }
        }
        for format in [sfcbc_chaincode::GoDnFormat::Current, sfcbc_chaincode::GoDnFormat::LegacyHex] {
            let _ = sfcbc_chaincode::identity::client_id_plain_der(&der, format);
        }
    }
}

fn x509_der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
}

/// A value that is often well-formed for its field and sometimes not.
fn hash_like() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..4).prop_map(|i| hash(&format!("m{i}"))),
        "[0-9a-f]{63,65}",
        any::<String>(),
    ]
}

fn addr_like() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![HOP1_ADDR, HOP2_ADDR, CLASSIFIER, "h.example:1"])
            .prop_map(str::to_owned),
        "[a-z0-9.:\\[\\]-]{0,20}",
    ]
}

fn psiid_like() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![HOP1, HOP2, HOP3, "Org1:X:1"]).prop_map(str::to_owned),
        "[A-Za-z0-9:]{0,12}",
    ]
}

fn near_valid_call() -> impl Strategy<Value = Vec<String>> {
    let record = (any::<u64>(), hash_like(), hash_like(), addr_like(), addr_like()).prop_map(
        |(seq, i, o, s, n)| serde_json::json!({"seq": seq, "inputHash": i, "outputHash": o, "src": s, "next": n}),
    );
    let kind = prop::sample::select(vec!["auth", "source", "hash", "replay", "config", "other"]);
    prop_oneof![
        (psiid_like(), prop::collection::vec(record, 0..4)).prop_map(|(p, r)| vec![
            "RecordHops".into(), CHAIN.into(), p, serde_json::json!(r).to_string()
        ]),
        (psiid_like(), hash_like(), addr_like()).prop_map(|(p, h, a)| vec!["CheckIn".into(), CHAIN.into(), p, h, a]),
        (psiid_like(), kind, hash_like(), addr_like(), any::<String>()).prop_map(|(p, k, h, a, d)| vec![
            "RecordError".into(), CHAIN.into(), p,
            serde_json::json!({"kind": k, "detail": d, "src": a, "inputHash": h}).to_string(),
        ]),
        (psiid_like(), "[0-9-]{0,5}", any::<String>()).prop_map(|(p, n, b)| vec!["GetRecords".into(), CHAIN.into(), p, n, b]),
        hash_like().prop_map(|h| vec!["TraceMessage".into(), CHAIN.into(), h]),
        (psiid_like(), addr_like()).prop_map(|(p, a)| vec![
            "CreateChain".into(),
            serde_json::json!({"id": "c2", "hops": [{"psiid": p, "spMsp": "Org1MSP", "address": a, "validation": "hash"}]}).to_string(),
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Near-valid calls reach the transactions' inner checks: never a panic, never a 500, and
    /// a 200 only with a JSON payload.
    #[test]
    fn near_valid_calls_fail_cleanly(call in near_valid_call(), who in 0usize..3) {
        let net = Net::with_auth("hash+address");
        let creator = match who { 0 => owner(), 1 => sp2(), _ => sp1() };
        let stub = net.ledger.tx(creator);
        let args: Vec<Vec<u8>> = call.iter().map(|a| a.as_bytes().to_vec()).collect();
        let response = block_on(dispatch(&stub, &args));
        prop_assert!(response.status != 500, "{}: {}", call[0], response.message);
        if response.status == 200 {
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&response.payload).is_ok());
        } else {
            prop_assert!(response.payload.is_empty() && !response.message.is_empty());
        }
    }
}
