//! `org.hyperledger.fabric:GetMetadata`: the contract's metadata in the shape Go's
//! fabric-contract-api emits (`metadata.ContractChaincodeMetadata`): `{info, contracts:
//! {<name>: {info, name, transactions: [{name, tag, parameters: [{name, schema}], returns}],
//! default}}, components: {schemas: {<name>: {$id, properties, required,
//! additionalProperties}}}}`. Tools that list a chaincode's transactions read this.

use serde_json::{Value, json};

use crate::tx::{TRANSACTIONS, TxInfo, TxKind};

/// The name the contract is registered under (also accepted as a function prefix).
pub const CONTRACT_NAME: &str = "SfcContract";
/// The system contract every fabric-contract-api chaincode carries.
pub const SYSTEM_CONTRACT_NAME: &str = "org.hyperledger.fabric";

fn tag(kind: TxKind) -> Value {
    match kind {
        TxKind::Submit => json!(["SUBMIT", "submit"]),
        TxKind::Evaluate => json!(["EVALUATE", "evaluate"]),
    }
}

fn returns_schema(returns: &str) -> Value {
    match returns.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => json!({"type": "array", "items": returns_schema(inner)}),
        None => json!({"$ref": format!("#/components/schemas/{returns}")}),
    }
}

fn transaction(info: &TxInfo) -> Value {
    let mut tx = json!({
        "name": info.name,
        "tag": tag(info.kind),
        "returns": returns_schema(info.returns),
    });
    if !info.params.is_empty() {
        tx["parameters"] = info
            .params
            .iter()
            .map(|p| json!({"name": p, "schema": {"type": "string"}}))
            .collect();
    }
    tx
}

fn object(id: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "$id": id,
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn components() -> Value {
    let s = json!({"type": "string"});
    let n = json!({"type": "integer", "minimum": 0});
    let hash = json!({"type": "string", "pattern": "^[0-9a-f]{64}$"});
    let kind = json!({"type": "string", "enum": ["auth", "source", "hash", "replay", "config"]});
    let reference = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    json!({
        "Owner": object("Owner", json!({"msp": s, "id": s}), &["msp", "id"]),
        "Hop": object("Hop", json!({
            "psiid": s, "spMsp": s, "address": s,
            "validation": {"type": "string", "enum": ["none", "hash", "address", "hash+address"]},
            "collection": s,
        }), &["psiid", "spMsp", "address", "validation"]),
        "Chain": object("Chain", json!({
            "id": s, "owner": reference("Owner"), "version": n,
            "state": {"type": "string", "enum": ["active", "disabled"]},
            "hops": {"type": "array", "items": reference("Hop")},
            "classifier": s, "createdTx": s, "updatedTx": s, "createdAt": s, "updatedAt": s,
        }), &["id", "owner", "version", "state", "hops", "createdTx", "updatedTx", "createdAt", "updatedAt"]),
        "NextHop": object("NextHop", json!({"psiid": s, "address": s}), &["address"]),
        "Verdict": object("Verdict", json!({
            "ok": {"type": "boolean"}, "failed": kind, "reason": s, "nextHop": reference("NextHop"),
        }), &["ok", "reason"]),
        "HopRecord": object("HopRecord", json!({
            "chain": s, "psiid": s, "seq": n, "inputHash": hash, "outputHash": hash,
            "src": s, "next": s, "ts": s, "txId": s,
        }), &["chain", "psiid", "seq", "inputHash", "outputHash", "src", "next", "ts", "txId"]),
        "HopError": object("HopError", json!({
            "chain": s, "psiid": s, "kind": kind, "detail": s, "src": s, "inputHash": hash,
            "ts": s, "txId": s,
        }), &["chain", "psiid", "kind", "detail", "src", "inputHash", "ts", "txId"]),
        "HopRecordedEvent": object("HopRecordedEvent", json!({
            "chain": s, "psiid": s, "outputs": {"type": "array", "items": hash}, "records": n,
            "txId": s,
        }), &["chain", "psiid", "outputs", "records", "txId"]),
        "Page": object("Page", json!({
            "items": {"type": "array", "items": {"type": "object"}},
            "bookmark": s, "fetchedRecordsCount": n,
        }), &["items", "bookmark", "fetchedRecordsCount"]),
        "TraceHop": object("TraceHop", json!({
            "psiid": s, "inputHash": hash, "outputHash": hash, "seq": n, "ts": s, "txId": s,
        }), &["psiid", "inputHash", "outputHash", "seq", "ts", "txId"]),
        "Trace": object("Trace", json!({
            "chain": s, "sourceHash": hash, "hops": {"type": "array", "items": reference("TraceHop")},
            "complete": {"type": "boolean"}, "stoppedAt": s,
            "errors": {"type": "array", "items": reference("HopError")},
        }), &["chain", "sourceHash", "hops", "complete"]),
        "PrivateWrite": object("PrivateWrite", json!({
            "collection": s, "chain": s, "psiid": s, "txId": s,
        }), &["collection", "txId"]),
    })
}

/// The metadata document `GetMetadata` returns.
pub fn metadata() -> Value {
    let version = env!("CARGO_PKG_VERSION");
    let mut transactions: Vec<Value> = TRANSACTIONS.iter().map(transaction).collect();
    transactions.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({
        "info": {"title": "sfcbc-chaincode", "version": version},
        "contracts": {
            CONTRACT_NAME: {
                "info": {"title": CONTRACT_NAME, "version": version},
                "name": CONTRACT_NAME,
                "transactions": transactions,
                "default": true,
            },
            SYSTEM_CONTRACT_NAME: {
                "info": {"title": SYSTEM_CONTRACT_NAME, "version": "latest"},
                "name": SYSTEM_CONTRACT_NAME,
                "transactions": [{
                    "name": "GetMetadata",
                    "tag": ["EVALUATE", "evaluate"],
                    "returns": {"type": "string"},
                }],
                "default": false,
            },
        },
        "components": {"schemas": components()},
    })
}
