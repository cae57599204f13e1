//! From a validated `common.Block` to the [`BlockCommit`] the ledger applies.
//!
//! Walks each endorser transaction as Fabric's committer does: Envelope → Payload →
//! ChannelHeader (tx id, timestamp) → Transaction → ChaincodeActionPayload →
//! ProposalResponsePayload → ChaincodeAction.results (`rwset.TxReadWriteSet`) → per namespace
//! the `KVRWSet` writes and metadata writes, and per collection the hashed writes. Private
//! rwsets this peer received are matched against each collection's `pvt_rwset_hash`; a
//! collection whose private rwset does not match is left out (Fabric treats it as missing).
//! Validation codes come from the TRANSACTIONS_FILTER metadata the validator set.

use std::collections::BTreeMap;

use prost::Message;
use sfcbc_fabric::protos::common::{Block, ChannelHeader, Envelope, HeaderType, Payload};
use sfcbc_fabric::protos::kvrwset::{HashedRwSet, KvMetadataWrite as ProtoMetadataWrite, KvrwSet};
use sfcbc_fabric::protos::protos::{
    ChaincodeAction, ChaincodeActionPayload, ProposalResponsePayload, Transaction,
};
use sfcbc_fabric::protos::rwset::{TxPvtReadWriteSet, TxReadWriteSet};
use sha2::{Digest, Sha256};

use super::{
    BlockCommit, HashedMetadataWrite, HashedWrite, KvMetadataWrite, KvWrite, PrivateMetadataWrite,
    PrivateWrite, TX_VALID, Timestamp, TxCommit,
};
use crate::block::{header_fields, transactions_filter};

/// A VALID transaction (or the block itself) that cannot be decoded: the validator should
/// have marked it invalid, so this is a bug upstream, not bad client input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("block {block}: TRANSACTIONS_FILTER has {filter} codes for {txs} transactions")]
    Filter {
        block: u64,
        filter: usize,
        txs: usize,
    },
    #[error("block {block} tx {tx}: {what} does not decode: {detail}")]
    Tx {
        block: u64,
        tx: u64,
        what: &'static str,
        detail: String,
    },
}

/// Builds the ledger's view of `block`. `private` holds, by tx number, the private rwsets
/// this peer has for the block's transactions.
pub fn block_commit(
    block: &Block,
    private: &BTreeMap<u64, TxPvtReadWriteSet>,
) -> Result<BlockCommit, DecodeError> {
    let fields = header_fields(block);
    let number = fields.number;
    let data: &[Vec<u8>] = block.data.as_ref().map_or(&[], |d| &d.data);
    let filter = transactions_filter(block);
    if filter.len() != data.len() {
        return Err(DecodeError::Filter {
            block: number,
            filter: filter.len(),
            txs: data.len(),
        });
    }
    let mut txs = Vec::with_capacity(data.len());
    for (i, (entry, code)) in data.iter().zip(filter).enumerate() {
        let tx_num = i as u64;
        let validation_code = i32::from(*code);
        let decoded = decode_tx(entry, private.get(&tx_num));
        let tx = match decoded {
            Ok(tx) => TxCommit {
                validation_code,
                ..tx
            },
            Err((what, detail)) if validation_code == TX_VALID => {
                return Err(DecodeError::Tx {
                    block: number,
                    tx: tx_num,
                    what,
                    detail,
                });
            }
            // An invalid tx that does not even decode: keep its code, index nothing.
            Err(_) => TxCommit {
                validation_code,
                tx_id: tx_id_if_any(entry),
                ..Default::default()
            },
        };
        let tx = if tx.validation_code == TX_VALID {
            tx
        } else {
            // Writes of invalid txs are never applied; do not carry them.
            TxCommit {
                tx_id: tx.tx_id,
                validation_code: tx.validation_code,
                timestamp: tx.timestamp,
                ..Default::default()
            }
        };
        txs.push(tx);
    }
    Ok(BlockCommit {
        number,
        previous_hash: fields.previous_hash.to_vec(),
        data_hash: fields.data_hash.to_vec(),
        block_bytes: block.encode_to_vec(),
        txs,
    })
}

type Failure = (&'static str, String);

fn fail(what: &'static str) -> impl Fn(prost::DecodeError) -> Failure {
    move |e| (what, e.to_string())
}

/// The channel header of a data entry, if it decodes that far.
fn channel_header(entry: &[u8]) -> Result<(ChannelHeader, Payload), Failure> {
    let env = Envelope::decode(entry).map_err(fail("envelope"))?;
    let payload = Payload::decode(env.payload.as_slice()).map_err(fail("payload"))?;
    let header = payload
        .header
        .as_ref()
        .ok_or(("payload header", "missing".to_owned()))?;
    let ch =
        ChannelHeader::decode(header.channel_header.as_slice()).map_err(fail("channel header"))?;
    Ok((ch, payload))
}

fn tx_id_if_any(entry: &[u8]) -> String {
    channel_header(entry)
        .map(|(ch, _)| ch.tx_id)
        .unwrap_or_default()
}

fn decode_tx(entry: &[u8], private: Option<&TxPvtReadWriteSet>) -> Result<TxCommit, Failure> {
    let (ch, payload) = channel_header(entry)?;
    let mut tx = TxCommit {
        tx_id: ch.tx_id.clone(),
        timestamp: ch
            .timestamp
            .map(|t| Timestamp {
                seconds: t.seconds,
                nanos: t.nanos,
            })
            .unwrap_or_default(),
        ..Default::default()
    };
    if ch.r#type != HeaderType::EndorserTransaction as i32 {
        // Config and other txs change no world state here.
        return Ok(tx);
    }
    let transaction = Transaction::decode(payload.data.as_slice()).map_err(fail("transaction"))?;
    for action in &transaction.actions {
        let cap = ChaincodeActionPayload::decode(action.payload.as_slice())
            .map_err(fail("chaincode action payload"))?;
        let endorsed = cap
            .action
            .ok_or(("chaincode endorsed action", "missing".to_owned()))?;
        let prp = ProposalResponsePayload::decode(endorsed.proposal_response_payload.as_slice())
            .map_err(fail("proposal response payload"))?;
        let cc_action =
            ChaincodeAction::decode(prp.extension.as_slice()).map_err(fail("chaincode action"))?;
        let rwset =
            TxReadWriteSet::decode(cc_action.results.as_slice()).map_err(fail("tx rwset"))?;
        add_rwset(&mut tx, &rwset, private)?;
    }
    Ok(tx)
}

fn add_rwset(
    tx: &mut TxCommit,
    rwset: &TxReadWriteSet,
    private: Option<&TxPvtReadWriteSet>,
) -> Result<(), Failure> {
    let mut verified = TxPvtReadWriteSet {
        data_model: private.map_or(0, |p| p.data_model),
        ns_pvt_rwset: Vec::new(),
    };
    for ns in &rwset.ns_rwset {
        let kv = KvrwSet::decode(ns.rwset.as_slice()).map_err(fail("kv rwset"))?;
        for w in kv.writes {
            tx.writes.push(KvWrite {
                namespace: ns.namespace.clone(),
                key: w.key,
                value: (!w.is_delete).then_some(w.value),
            });
        }
        for m in kv.metadata_writes {
            tx.metadata_writes.push(KvMetadataWrite {
                namespace: ns.namespace.clone(),
                key: m.key,
                metadata: serialize_metadata(m.entries),
            });
        }
        for coll in &ns.collection_hashed_rwset {
            let hashed =
                HashedRwSet::decode(coll.hashed_rwset.as_slice()).map_err(fail("hashed rwset"))?;
            for m in hashed.metadata_writes {
                tx.hashed_metadata_writes.push(HashedMetadataWrite {
                    namespace: ns.namespace.clone(),
                    collection: coll.collection_name.clone(),
                    key_hash: m.key_hash,
                    metadata: serialize_metadata(m.entries),
                });
            }
            for w in hashed.hashed_writes {
                tx.hashed_writes.push(HashedWrite {
                    namespace: ns.namespace.clone(),
                    collection: coll.collection_name.clone(),
                    key_hash: w.key_hash,
                    value_hash: (!w.is_delete && !w.is_purge).then_some(w.value_hash),
                });
            }
            // The private rwset for this collection, only if its hash matches.
            let Some(pvt) = private
                .into_iter()
                .flat_map(|p| &p.ns_pvt_rwset)
                .filter(|p| p.namespace == ns.namespace)
                .flat_map(|p| &p.collection_pvt_rwset)
                .find(|c| c.collection_name == coll.collection_name)
            else {
                continue;
            };
            if Sha256::digest(&pvt.rwset)[..] != coll.pvt_rwset_hash[..] {
                tracing::warn!(
                    tx_id = %tx.tx_id,
                    namespace = %ns.namespace,
                    collection = %coll.collection_name,
                    "private rwset does not match its hash; treated as missing"
                );
                continue;
            }
            let pkv = KvrwSet::decode(pvt.rwset.as_slice()).map_err(fail("private kv rwset"))?;
            for w in pkv.writes {
                tx.private_writes.push(PrivateWrite {
                    namespace: ns.namespace.clone(),
                    collection: coll.collection_name.clone(),
                    key: w.key,
                    value: (!w.is_delete).then_some(w.value),
                });
            }
            for m in pkv.metadata_writes {
                tx.private_metadata_writes.push(PrivateMetadataWrite {
                    namespace: ns.namespace.clone(),
                    collection: coll.collection_name.clone(),
                    key: m.key,
                    metadata: serialize_metadata(m.entries),
                });
            }
            match verified
                .ns_pvt_rwset
                .iter_mut()
                .find(|n| n.namespace == ns.namespace)
            {
                Some(n) => n.collection_pvt_rwset.push(pvt.clone()),
                None => {
                    verified
                        .ns_pvt_rwset
                        .push(sfcbc_fabric::protos::rwset::NsPvtReadWriteSet {
                            namespace: ns.namespace.clone(),
                            collection_pvt_rwset: vec![pvt.clone()],
                        })
                }
            }
        }
    }
    if !verified.ns_pvt_rwset.is_empty() {
        let bytes = verified.encode_to_vec();
        tx.private_rwset = Some(match tx.private_rwset.take() {
            // Several actions with private data (Fabric has one): concatenated protobuf
            // messages decode as one, their repeated fields appended.
            Some(mut earlier) => {
                earlier.extend_from_slice(&bytes);
                earlier
            }
            None => bytes,
        });
    }
    Ok(())
}

/// Fabric's `statemetadata.Serialize`: the entries in a `KVMetadataWrite` without a key.
fn serialize_metadata(entries: Vec<sfcbc_fabric::protos::kvrwset::KvMetadataEntry>) -> Vec<u8> {
    if entries.is_empty() {
        return Vec::new();
    }
    ProtoMetadataWrite {
        key: String::new(),
        entries,
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests;
