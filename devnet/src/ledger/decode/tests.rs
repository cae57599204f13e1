use std::collections::BTreeMap;

use prost::Message;
use sfcbc_fabric::protos::common::{ChannelHeader, Envelope, Header, HeaderType, Payload};
use sfcbc_fabric::protos::kvrwset::{
    HashedRwSet, KvMetadataEntry, KvMetadataWrite as ProtoMetadataWrite, KvMetadataWriteHash,
    KvWrite as ProtoWrite, KvWriteHash, KvrwSet,
};
use sfcbc_fabric::protos::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ProposalResponsePayload,
    Transaction, TransactionAction,
};
use sfcbc_fabric::protos::rwset::{
    CollectionHashedReadWriteSet, CollectionPvtReadWriteSet, NsPvtReadWriteSet, NsReadWriteSet,
    TxPvtReadWriteSet, TxReadWriteSet,
};
use sha2::{Digest, Sha256};

use super::*;
use crate::block::{new_block, set_transactions_filter};
use crate::ledger::Ledger;

fn envelope(tx_type: HeaderType, tx_id: &str, data: Vec<u8>) -> Vec<u8> {
    let ch = ChannelHeader {
        r#type: tx_type as i32,
        tx_id: tx_id.to_owned(),
        channel_id: "mychannel".into(),
        timestamp: Some(prost_types::Timestamp {
            seconds: 1_700_000_123,
            nanos: 456,
        }),
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: ch.encode_to_vec(),
            signature_header: Vec::new(),
        }),
        data,
    };
    Envelope {
        payload: payload.encode_to_vec(),
        signature: b"sig".to_vec(),
    }
    .encode_to_vec()
}

fn endorser_tx(tx_id: &str, ns: NsReadWriteSet) -> Vec<u8> {
    let rwset = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![ns],
    };
    let action = ChaincodeAction {
        results: rwset.encode_to_vec(),
        ..Default::default()
    };
    let prp = ProposalResponsePayload {
        proposal_hash: vec![1; 32],
        extension: action.encode_to_vec(),
    };
    let cap = ChaincodeActionPayload {
        chaincode_proposal_payload: Vec::new(),
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: prp.encode_to_vec(),
            endorsements: Vec::new(),
        }),
    };
    let tx = Transaction {
        actions: vec![TransactionAction {
            header: Vec::new(),
            payload: cap.encode_to_vec(),
        }],
    };
    envelope(HeaderType::EndorserTransaction, tx_id, tx.encode_to_vec())
}

fn put(key: &str, value: &[u8]) -> ProtoWrite {
    ProtoWrite {
        key: key.into(),
        is_delete: false,
        value: value.to_vec(),
    }
}

/// A namespace rwset with public writes and one collection's hashed writes for `pvt`.
fn ns_rwset(pvt: &KvrwSet) -> NsReadWriteSet {
    let kv = KvrwSet {
        writes: vec![
            put("a", b"1"),
            ProtoWrite {
                key: "b".into(),
                is_delete: true,
                value: Vec::new(),
            },
        ],
        metadata_writes: vec![ProtoMetadataWrite {
            key: "a".into(),
            entries: vec![KvMetadataEntry {
                name: "VALIDATION_PARAMETER".into(),
                value: b"policy".to_vec(),
            }],
        }],
        ..Default::default()
    };
    let hashed = HashedRwSet {
        metadata_writes: pvt
            .metadata_writes
            .iter()
            .map(|m| KvMetadataWriteHash {
                key_hash: Sha256::digest(m.key.as_bytes()).to_vec(),
                entries: m.entries.clone(),
            })
            .collect(),
        hashed_writes: pvt
            .writes
            .iter()
            .map(|w| KvWriteHash {
                key_hash: Sha256::digest(w.key.as_bytes()).to_vec(),
                is_delete: w.is_delete,
                value_hash: Sha256::digest(&w.value).to_vec(),
                is_purge: false,
            })
            .collect(),
        ..Default::default()
    };
    NsReadWriteSet {
        namespace: "cc".into(),
        rwset: kv.encode_to_vec(),
        collection_hashed_rwset: vec![CollectionHashedReadWriteSet {
            collection_name: "coll".into(),
            hashed_rwset: hashed.encode_to_vec(),
            pvt_rwset_hash: Sha256::digest(pvt.encode_to_vec()).to_vec(),
        }],
    }
}

fn pvt_kv() -> KvrwSet {
    KvrwSet {
        writes: vec![put("secret", b"s3cr3t")],
        metadata_writes: vec![ProtoMetadataWrite {
            key: "secret".into(),
            entries: vec![KvMetadataEntry {
                name: "VALIDATION_PARAMETER".into(),
                value: b"org1 only".to_vec(),
            }],
        }],
        ..Default::default()
    }
}

fn pvt_set(kv: &KvrwSet) -> TxPvtReadWriteSet {
    TxPvtReadWriteSet {
        data_model: 0,
        ns_pvt_rwset: vec![NsPvtReadWriteSet {
            namespace: "cc".into(),
            collection_pvt_rwset: vec![CollectionPvtReadWriteSet {
                collection_name: "coll".into(),
                rwset: kv.encode_to_vec(),
            }],
        }],
    }
}

fn sample_block() -> sfcbc_fabric::protos::common::Block {
    let pvt = pvt_kv();
    let data = vec![
        endorser_tx("tx-valid", ns_rwset(&pvt)),
        endorser_tx("tx-mvcc", ns_rwset(&pvt)),
        b"not an envelope \xff\xff".to_vec(),
        envelope(HeaderType::Config, "tx-config", b"config".to_vec()),
    ];
    let mut block = new_block(0, Vec::new(), data);
    // VALID, MVCC_READ_CONFLICT, BAD_PAYLOAD, VALID
    set_transactions_filter(&mut block, vec![0, 11, 2, 0]);
    block
}

#[test]
fn decodes_writes_of_valid_txs_and_indexes_all() {
    let block = sample_block();
    let private = BTreeMap::from([(0, pvt_set(&pvt_kv()))]);
    let commit = block_commit(&block, &private).unwrap();
    assert_eq!(commit.txs.len(), 4);
    let t0 = &commit.txs[0];
    assert_eq!(t0.tx_id, "tx-valid");
    assert_eq!(
        t0.timestamp,
        Timestamp {
            seconds: 1_700_000_123,
            nanos: 456
        }
    );
    assert_eq!(
        t0.writes,
        [KvWrite::put("cc", "a", "1"), KvWrite::delete("cc", "b")]
    );
    assert_eq!(t0.metadata_writes.len(), 1);
    assert_eq!(t0.hashed_writes.len(), 1);
    assert_eq!(
        t0.hashed_writes[0].value_hash,
        Some(Sha256::digest(b"s3cr3t").to_vec())
    );
    assert_eq!(t0.private_writes.len(), 1);
    assert_eq!(t0.hashed_metadata_writes.len(), 1);
    assert_eq!(t0.private_metadata_writes[0].key, "secret");
    assert_eq!(
        TxPvtReadWriteSet::decode(t0.private_rwset.as_deref().unwrap()).unwrap(),
        pvt_set(&pvt_kv())
    );

    let t1 = &commit.txs[1];
    assert_eq!((t1.tx_id.as_str(), t1.validation_code), ("tx-mvcc", 11));
    assert!(t1.writes.is_empty() && t1.hashed_writes.is_empty());
    assert_eq!(
        (commit.txs[2].tx_id.as_str(), commit.txs[2].validation_code),
        ("", 2)
    );
    assert_eq!(commit.txs[3].tx_id, "tx-config");
    assert!(commit.txs[3].writes.is_empty());

    // And the ledger applies it.
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), "mychannel").unwrap();
    ledger.commit_block(&commit).unwrap();
    let s = ledger.snapshot().unwrap();
    let a = s.state("cc", "a").unwrap().unwrap();
    assert_eq!(a.value, b"1");
    let md = ProtoMetadataWrite::decode(a.metadata.as_slice()).unwrap();
    assert_eq!(md.entries[0].name, "VALIDATION_PARAMETER");
    assert_eq!(
        s.private_data("cc", "coll", "secret")
            .unwrap()
            .unwrap()
            .value,
        b"s3cr3t"
    );
    let h = s
        .private_data_hash("cc", "coll", "secret")
        .unwrap()
        .unwrap();
    let p = s.private_data("cc", "coll", "secret").unwrap().unwrap();
    for md in [&h.metadata, &p.metadata] {
        let md = ProtoMetadataWrite::decode(md.as_slice()).unwrap();
        assert_eq!(md.entries[0].value, b"org1 only");
    }
    assert_eq!(
        s.tx_location("tx-mvcc").unwrap().unwrap().validation_code,
        11
    );
    assert_eq!(s.tx_location("tx-config").unwrap().unwrap().tx_num, 3);
    assert_eq!(
        s.block_by_number(0).unwrap().unwrap(),
        block.encode_to_vec()
    );
}

#[test]
fn private_data_that_does_not_match_its_hash_is_left_out() {
    let block = sample_block();
    let forged = KvrwSet {
        writes: vec![put("secret", b"forged")],
        ..Default::default()
    };
    let private = BTreeMap::from([(0, pvt_set(&forged))]);
    let commit = block_commit(&block, &private).unwrap();
    assert!(commit.txs[0].private_writes.is_empty());
    assert!(commit.txs[0].private_rwset.is_none());
    // The public hash is still applied.
    assert_eq!(commit.txs[0].hashed_writes.len(), 1);
}

#[test]
fn undecodable_valid_tx_and_bad_filter_are_errors() {
    let mut block = sample_block();
    set_transactions_filter(&mut block, vec![0, 11, 0, 0]);
    assert!(matches!(
        block_commit(&block, &BTreeMap::new()),
        Err(DecodeError::Tx {
            tx: 2,
            what: "envelope",
            ..
        })
    ));
    set_transactions_filter(&mut block, vec![0]);
    assert_eq!(
        block_commit(&block, &BTreeMap::new()),
        Err(DecodeError::Filter {
            block: 0,
            filter: 1,
            txs: 4
        })
    );
}
