//! The parts composed as a peer will use them: endorser transactions are broadcast to the
//! orderer, each block delivered to a subscriber gets its TRANSACTIONS_FILTER (here: all
//! VALID, standing in for the validator), is decoded with `ledger::block_commit` and
//! committed to the peer's ledger; state, history and the chain then agree with the orderer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sfcbc_devnet::block::{
    BlockSigner, block_hash, genesis_metadata, new_block, set_transactions_filter,
};
use sfcbc_devnet::ledger::{Ledger, block_commit};
use sfcbc_devnet::orderer::{AllowAll, BatchSize, BlockArchive, Orderer, OrdererConfig, Registrar};
use sfcbc_fabric::protos::common::{ChannelHeader, Envelope, Header, HeaderType, Payload};
use sfcbc_fabric::protos::kvrwset::{KvWrite, KvrwSet};
use sfcbc_fabric::protos::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ProposalResponsePayload,
    Transaction, TransactionAction,
};
use sfcbc_fabric::protos::rwset::{NsReadWriteSet, TxReadWriteSet};

struct TestSigner;

impl BlockSigner for TestSigner {
    fn creator(&self) -> Vec<u8> {
        b"orderer".to_vec()
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        msg.len().to_be_bytes().to_vec()
    }
}

/// An endorser transaction that writes `key = value` in namespace `sfc`.
fn endorser_tx(tx_id: &str, key: &str, value: &str) -> Envelope {
    let kv = KvrwSet {
        writes: vec![KvWrite {
            key: key.into(),
            is_delete: false,
            value: value.as_bytes().to_vec(),
        }],
        ..Default::default()
    };
    let rwset = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![NsReadWriteSet {
            namespace: "sfc".into(),
            rwset: kv.encode_to_vec(),
            collection_hashed_rwset: Vec::new(),
        }],
    };
    let prp = ProposalResponsePayload {
        proposal_hash: vec![0; 32],
        extension: ChaincodeAction {
            results: rwset.encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec(),
    };
    let tx = Transaction {
        actions: vec![TransactionAction {
            header: Vec::new(),
            payload: ChaincodeActionPayload {
                chaincode_proposal_payload: Vec::new(),
                action: Some(ChaincodeEndorsedAction {
                    proposal_response_payload: prp.encode_to_vec(),
                    endorsements: Vec::new(),
                }),
            }
            .encode_to_vec(),
        }],
    };
    let ch = ChannelHeader {
        r#type: HeaderType::EndorserTransaction as i32,
        channel_id: "mychannel".into(),
        tx_id: tx_id.into(),
        ..Default::default()
    };
    Envelope {
        payload: Payload {
            header: Some(Header {
                channel_header: ch.encode_to_vec(),
                signature_header: Vec::new(),
            }),
            data: tx.encode_to_vec(),
        }
        .encode_to_vec(),
        signature: b"client signature".to_vec(),
    }
}

#[tokio::test]
async fn broadcast_order_deliver_commit() {
    let dir = tempfile::tempdir().unwrap();
    let peer_ledger = Arc::new(Ledger::open(dir.path(), "mychannel").unwrap());

    let archive = BlockArchive::in_memory();
    let config_tx = Envelope {
        payload: Payload {
            header: Some(Header {
                channel_header: ChannelHeader {
                    r#type: HeaderType::Config as i32,
                    channel_id: "mychannel".into(),
                    ..Default::default()
                }
                .encode_to_vec(),
                signature_header: Vec::new(),
            }),
            data: b"ConfigEnvelope".to_vec(),
        }
        .encode_to_vec(),
        signature: Vec::new(),
    };
    let mut genesis = new_block(0, Vec::new(), vec![config_tx.encode_to_vec()]);
    genesis_metadata(&mut genesis);
    archive.append(genesis).unwrap();
    let config = OrdererConfig {
        channel: "mychannel".into(),
        batch_size: BatchSize {
            max_message_count: 4,
            ..BatchSize::default()
        },
        batch_timeout: Duration::from_millis(20),
        queue_capacity: 64,
    };
    let registrar = Registrar::new(Arc::new(AllowAll));
    let handle = registrar
        .add(Orderer::start(config, Arc::new(TestSigner), archive).unwrap())
        .unwrap();

    // The peer's committer: block 0 (config) and then whatever the orderer cuts.
    let mut sub = handle.subscribe(0);
    let ledger = peer_ledger.clone();
    let committer = tokio::spawn(async move {
        while let Some(block) = sub.next().await {
            let mut block = (*block.unwrap()).clone();
            let n = block.data.as_ref().map_or(0, |d| d.data.len());
            set_transactions_filter(&mut block, vec![0; n]);
            let commit = block_commit(&block, &BTreeMap::new()).unwrap();
            ledger.commit_block(&commit).unwrap();
        }
    });

    for i in 0..10 {
        registrar
            .broadcast(endorser_tx(&format!("tx{i}"), "counter", &i.to_string()))
            .await
            .unwrap();
    }
    registrar.shutdown().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), committer)
        .await
        .unwrap()
        .unwrap();

    let s = peer_ledger.snapshot().unwrap();
    let height = s.height().unwrap();
    assert_eq!(height, handle.height());
    assert_eq!(s.verify_chain().unwrap(), height);
    // Same chain as the orderer's: the peer's last hash is the orderer's last block hash.
    let last = handle.archive().last().unwrap().unwrap();
    assert_eq!(
        s.chain_info().unwrap().current_block_hash,
        block_hash(&last)
    );
    assert_eq!(s.state("sfc", "counter").unwrap().unwrap().value, b"9");
    assert_eq!(s.history("sfc", "counter").unwrap().len(), 10);
    let loc = s.tx_location("tx9").unwrap().unwrap();
    assert_eq!(loc.block_num, height - 1);
}
