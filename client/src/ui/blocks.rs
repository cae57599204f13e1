//! The block browser's data: blocks read through the peer's `Deliver` service as the identity
//! in use, each transaction summarised (number, tx id, function, creator MSP, validation
//! code). Private writes appear only as the public ledger holds them: collection, key hash
//! and value hash — never their content.

use prost::Message as _;
use serde::Serialize;
use sfcbc_fabric::protos::common::{
    Block, BlockchainInfo, ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader,
};
use sfcbc_fabric::protos::kvrwset::HashedRwSet;
use sfcbc_fabric::protos::msp::SerializedIdentity;
use sfcbc_fabric::protos::protos::TxValidationCode;
use sfcbc_fabric::protos::rwset::TxReadWriteSet;

use crate::{EventsOptions, Network};

/// A private write as the public ledger holds it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateHash {
    pub collection: String,
    pub key_hash: String,
    pub value_hash: String,
    pub is_delete: bool,
}

/// One transaction of a block.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxSummary {
    pub index: usize,
    pub tx_id: String,
    /// `ENDORSER_TRANSACTION`, `CONFIG`, ...
    pub kind: String,
    pub chaincode: String,
    pub function: String,
    pub creator_msp: String,
    pub validation: String,
    pub timestamp: String,
    pub private_writes: Vec<PrivateHash>,
}

/// One block.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockSummary {
    pub number: u64,
    pub data_hash: String,
    pub previous_hash: String,
    pub txs: Vec<TxSummary>,
}

/// The channel's height, through qscc's `GetChainInfo`.
pub async fn height(network: &Network) -> crate::Result<u64> {
    let bytes = network
        .contract("qscc")
        .evaluate_transaction("GetChainInfo", &[network.name()])
        .await?;
    let info = BlockchainInfo::decode(bytes.as_slice()).map_err(|e| crate::Error::Decode {
        what: "BlockchainInfo",
        reason: e.to_string(),
    })?;
    Ok(info.height)
}

/// Blocks `from..=to` (already committed: never waits).
pub async fn fetch(network: &Network, from: u64, to: u64) -> crate::Result<Vec<BlockSummary>> {
    let mut events = network
        .block_events(EventsOptions::start_block(from))
        .await?;
    let mut out = Vec::new();
    while let Some(b) = events.next().await {
        let b = b?;
        let n = b.header.as_ref().map_or(0, |h| h.number);
        out.push(summarize(&b));
        if n >= to {
            break;
        }
    }
    Ok(out)
}

fn timestamp(ch: &ChannelHeader) -> String {
    ch.timestamp
        .as_ref()
        .and_then(|t| {
            time::OffsetDateTime::from_unix_timestamp(t.seconds)
                .ok()
                .map(|d| d + time::Duration::nanoseconds(i64::from(t.nanos)))
        })
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The channel and signature headers of an envelope, if it decodes that far.
pub fn headers(envelope: &[u8]) -> Option<(ChannelHeader, SignatureHeader)> {
    let env = Envelope::decode(envelope).ok()?;
    let payload = Payload::decode(env.payload.as_slice()).ok()?;
    let header = payload.header?;
    let ch = ChannelHeader::decode(header.channel_header.as_slice()).ok()?;
    let sh = SignatureHeader::decode(header.signature_header.as_slice()).ok()?;
    Some((ch, sh))
}

/// A block's transactions, decoded as far as they go (a malformed entry shows as such).
pub fn summarize(block: &Block) -> BlockSummary {
    let header = block.header.clone().unwrap_or_default();
    let filter = sfcbc_devnet::block::transactions_filter(block);
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    let txs = data
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let validation = filter
                .get(i)
                .and_then(|c| TxValidationCode::try_from(i32::from(*c)).ok())
                .map_or_else(|| "?".to_owned(), |c| c.as_str_name().to_owned());
            let mut s = TxSummary {
                index: i,
                tx_id: String::new(),
                kind: "MALFORMED".into(),
                chaincode: String::new(),
                function: String::new(),
                creator_msp: String::new(),
                validation,
                timestamp: String::new(),
                private_writes: Vec::new(),
            };
            let Some((ch, sh)) = headers(bytes) else {
                return s;
            };
            s.tx_id = ch.tx_id.clone();
            s.timestamp = timestamp(&ch);
            s.kind = HeaderType::try_from(ch.r#type)
                .map_or_else(|_| ch.r#type.to_string(), |t| t.as_str_name().to_owned());
            s.creator_msp = SerializedIdentity::decode(sh.creator.as_slice())
                .map(|i| i.mspid)
                .unwrap_or_default();
            if ch.r#type == HeaderType::EndorserTransaction as i32
                && let Ok(env) = Envelope::decode(bytes.as_slice())
                && let Ok(tx) = sfcbc_fabric::tx::parse_envelope(&env)
            {
                if let Some(spec) = &tx.invocation.chaincode_spec {
                    s.chaincode = spec
                        .chaincode_id
                        .as_ref()
                        .map(|c| c.name.clone())
                        .unwrap_or_default();
                    s.function = spec
                        .input
                        .as_ref()
                        .and_then(|i| i.args.first())
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .unwrap_or_default();
                }
                if let Ok(rw) = TxReadWriteSet::decode(tx.chaincode_action.results.as_slice()) {
                    for ns in &rw.ns_rwset {
                        for coll in &ns.collection_hashed_rwset {
                            let Ok(h) = HashedRwSet::decode(coll.hashed_rwset.as_slice()) else {
                                continue;
                            };
                            for w in &h.hashed_writes {
                                s.private_writes.push(PrivateHash {
                                    collection: coll.collection_name.clone(),
                                    key_hash: hex::encode(&w.key_hash),
                                    value_hash: hex::encode(&w.value_hash),
                                    is_delete: w.is_delete,
                                });
                            }
                        }
                    }
                }
            }
            s
        })
        .collect();
    BlockSummary {
        number: header.number,
        data_hash: hex::encode(&header.data_hash),
        previous_hash: hex::encode(&header.previous_hash),
        txs,
    }
}
