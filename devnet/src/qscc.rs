//! `qscc`, Fabric's ledger query system chaincode, answered by the peer from its ledger:
//! `GetChainInfo`, `GetBlockByNumber`, `GetBlockByHash`, `GetBlockByTxID`,
//! `GetTransactionByID`. Arguments are `[function, channel, param]` (block numbers as decimal
//! strings, hashes as raw bytes); results are the protobufs Fabric's qscc returns
//! (`common.BlockchainInfo`, `common.Block`, `protos.ProcessedTransaction`) and errors are
//! its `shim.Error` texts (status 500). The endorser has already checked the creator against
//! the channel's Readers policy.

use prost::Message;
use sfcbc_fabric::protos::common::{BlockchainInfo, Envelope};
use sfcbc_fabric::protos::protos::{ProcessedTransaction, Response};

use crate::ledger::{LedgerError, Snapshot};
use crate::peer::Peer;

pub const GET_CHAIN_INFO: &str = "GetChainInfo";
pub const GET_BLOCK_BY_NUMBER: &str = "GetBlockByNumber";
pub const GET_BLOCK_BY_HASH: &str = "GetBlockByHash";
pub const GET_BLOCK_BY_TX_ID: &str = "GetBlockByTxID";
pub const GET_TRANSACTION_BY_ID: &str = "GetTransactionByID";

/// Fabric's block store text for a missing entry.
const NOT_FOUND: &str = "Entry not found in index";

fn error(message: String) -> Response {
    Response {
        status: 500,
        message,
        payload: Vec::new(),
    }
}

fn success(payload: Vec<u8>) -> Response {
    Response {
        status: 200,
        message: String::new(),
        payload,
    }
}

/// Runs one qscc invocation on `peer`'s ledgers.
pub fn invoke(peer: &Peer, args: &[Vec<u8>]) -> Response {
    if args.len() < 2 {
        return error(format!("Incorrect number of arguments, {}", args.len()));
    }
    let fname = String::from_utf8_lossy(&args[0]).into_owned();
    let cid = String::from_utf8_lossy(&args[1]).into_owned();
    if fname != GET_CHAIN_INFO && args.len() < 3 {
        return error(format!("missing 3rd argument for {fname}"));
    }
    let Some(ch) = peer.channel(&cid) else {
        return error(format!("Invalid chain ID, {cid}"));
    };
    let snapshot = match ch.ledger.snapshot() {
        Ok(s) => s,
        Err(e) => return error(e.to_string()),
    };
    match fname.as_str() {
        GET_CHAIN_INFO => chain_info(&snapshot),
        GET_BLOCK_BY_NUMBER => block_by_number(&snapshot, &args[2]),
        GET_BLOCK_BY_HASH => block_by_hash(&snapshot, &args[2]),
        GET_BLOCK_BY_TX_ID => block_by_tx_id(&snapshot, &args[2]),
        GET_TRANSACTION_BY_ID => transaction_by_id(&snapshot, &args[2]),
        _ => error(format!("Requested function {fname} not found.")),
    }
}

fn chain_info(s: &Snapshot) -> Response {
    match s.chain_info() {
        Ok(info) => success(
            BlockchainInfo {
                height: info.height,
                current_block_hash: info.current_block_hash,
                previous_block_hash: info.previous_block_hash,
                bootstrapping_snapshot_info: None,
            }
            .encode_to_vec(),
        ),
        Err(e) => error(format!("Failed to get block info with error {e}")),
    }
}

fn block_by_number(s: &Snapshot, number: &[u8]) -> Response {
    let text = String::from_utf8_lossy(number);
    let n: u64 = match text.parse() {
        Ok(n) => n,
        Err(e) => {
            return error(format!(
                "Failed to parse block number with error strconv.ParseUint: parsing {text:?}: {e}"
            ));
        }
    };
    found(s.block_by_number(n), |e| {
        format!("Failed to get block number {n}, error {e}")
    })
}

fn block_by_hash(s: &Snapshot, hash: &[u8]) -> Response {
    found(s.block_by_hash(hash), |e| {
        format!(
            "Failed to get block hash {}, error {e}",
            String::from_utf8_lossy(hash)
        )
    })
}

fn block_by_tx_id(s: &Snapshot, tx_id: &[u8]) -> Response {
    let tx_id = String::from_utf8_lossy(tx_id);
    found(s.block_by_tx_id(&tx_id), |e| {
        format!("Failed to get block for txID {tx_id}, error {e}")
    })
}

fn transaction_by_id(s: &Snapshot, tx_id: &[u8]) -> Response {
    let tx_id = String::from_utf8_lossy(tx_id).into_owned();
    let fail = |e: &str| {
        error(format!(
            "Failed to get transaction with id {tx_id}, error {e}"
        ))
    };
    let location = match s.tx_location(&tx_id) {
        Ok(Some(l)) => l,
        Ok(None) => return fail(NOT_FOUND),
        Err(e) => return fail(&e.to_string()),
    };
    let block = match s.block_by_number(location.block_num) {
        Ok(Some(b)) => b,
        Ok(None) => return fail(NOT_FOUND),
        Err(e) => return fail(&e.to_string()),
    };
    let envelope = sfcbc_fabric::protos::common::Block::decode(block.as_slice())
        .ok()
        .and_then(|b| b.data)
        .and_then(|d| d.data.get(location.tx_num as usize).cloned())
        .and_then(|bytes| Envelope::decode(bytes.as_slice()).ok());
    match envelope {
        Some(env) => success(
            ProcessedTransaction {
                transaction_envelope: Some(env),
                validation_code: location.validation_code,
            }
            .encode_to_vec(),
        ),
        None => fail("the stored block does not hold the transaction"),
    }
}

fn found(
    result: Result<Option<Vec<u8>>, LedgerError>,
    message: impl FnOnce(&str) -> String,
) -> Response {
    match result {
        Ok(Some(bytes)) => success(bytes),
        Ok(None) => error(message(NOT_FOUND)),
        Err(e) => error(message(&e.to_string())),
    }
}
