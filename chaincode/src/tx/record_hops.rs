//! `RecordHops(chain, psiid, recordsJSON)` — submit, the hop's SP only: 1..=1000 records of
//! processed datagrams in one transaction, one `HopRecorded` event (how many records, and
//! their output hashes when the next hop validates by hash). `recordsJSON` is a JSON array of
//! [`HopRecordInput`] or, smaller, a [`PackedRecordsInput`] (what the SF runtime sends).
//!
//! Every write goes to a key unique to this transaction or message, so records of different
//! messages never conflict:
//! - `rec~{chain}~{psiid}~{txid}`: the whole batch ([`HopBatch`]), one key per transaction;
//! - `out~…~{output_hash}` per record, only when the next hop validates by hash (its
//!   `CheckIn` looks them up; nobody else does);
//! - `used~…~{input_hash}` per record, only when this hop validates by hash (replay guard).
//!
//! The reads are deliberate: `chain~{chain}` for access (a record made against a replaced
//! chain version fails validation), and for `hash` policies the replay guard
//! `used~{chain}~{psiid}~{input_hash}` (two uses of one input hash conflict, one fails).
//! Reading `chain~` also means no record commits against a layout an `UpdateChain` in the
//! same block replaced. Records committed *before* an update that makes the next hop
//! validate by hash have no `out~` keys, so datagrams in flight across such an update fail
//! the next hop's hash check — as they would if they had been recorded under the old
//! policy's layout at any time.

use std::collections::BTreeSet;

use super::{Ctx, TxInfo, TxKind, expect_args, parse_arg, to_json};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{
    ChainState, HopBatch, HopRecordInput, HopRecordedEvent, OutRecord, PackedRecordsInput,
    UsedRecord,
};
use crate::validate::{self, limits};

pub const INFO: TxInfo = TxInfo {
    name: "RecordHops",
    kind: TxKind::Submit,
    params: &["chain", "psiid", "recordsJSON"],
    returns: "HopRecordedEvent",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    // parse
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;
    validate::psiid("psiid", args[1])?;
    // A JSON array of records, or the packed form the SF runtime sends; either way the
    // records leave this block factored (common `src`/`next` once), as the batch stores them.
    let records = if args[2].trim_start().starts_with('[') {
        let list: Vec<HopRecordInput> = parse_arg("recordsJSON", args[2])?;
        check_count(list.len())?;
        for (i, r) in list.iter().enumerate() {
            check(
                &r.input_hash,
                &r.output_hash,
                Some(&r.src),
                Some(&r.next),
                |f| format!("recordsJSON[{i}].{f}"),
            )?;
        }
        PackedRecordsInput::pack(&list)
    } else {
        let packed: PackedRecordsInput = parse_arg("recordsJSON", args[2])?;
        check_count(packed.records.len())?;
        validate::address("recordsJSON.src", &packed.src)?;
        validate::address("recordsJSON.next", &packed.next)?;
        for (i, e) in packed.records.iter().enumerate() {
            check(
                &e.input_hash,
                &e.output_hash,
                e.src.as_deref(),
                e.next.as_deref(),
                |f| format!("recordsJSON.records[{i}].{f}"),
            )?;
        }
        packed
    };

    // check access
    let chain = ctx.load_chain(args[0]).await?;
    let (index, hop) = chain.hop(args[1]).ok_or_else(|| {
        ContractError::NotFound(format!("hop {} is not in chain {}", args[1], chain.id))
    })?;
    access::require_hop_sp(&chain, hop, &ctx.caller)?;
    if chain.state == ChainState::Disabled {
        return Err(ContractError::Conflict(format!(
            "chain {} is disabled; it takes no records",
            chain.id
        )));
    }

    // replay guard (reads see committed state only, so duplicates in the batch are checked here).
    // The SF finds the record to drop in these messages by `recordsJSON[{i}]`
    // (`sf::record::replay_index`), for packed input too: keep that form.
    if hop.validation.checks_hash() {
        let mut inputs = BTreeSet::new();
        for (i, r) in records.records.iter().enumerate() {
            if !inputs.insert(r.input_hash.as_str()) {
                return Err(ContractError::Conflict(format!(
                    "replay: recordsJSON[{i}].inputHash {} appears twice in the batch",
                    r.input_hash
                )));
            }
            let key = keys::used_key(&chain.id, &hop.psiid, &r.input_hash)?;
            if let Some(used) = ctx.get_json::<UsedRecord>(&key).await? {
                return Err(ContractError::Conflict(format!(
                    "replay: recordsJSON[{i}].inputHash {} was used in tx {}; resubmit the other records",
                    r.input_hash, used.tx_id
                )));
            }
        }
    }

    // `out~` lookups for a hash-validating next hop: one key per output, so two equal
    // outputs in a batch would be one lookup.
    let next_checks_hash = chain
        .hops
        .get(index + 1)
        .is_some_and(|next| next.validation.checks_hash());
    if next_checks_hash {
        let mut outputs = BTreeSet::new();
        for (i, r) in records.records.iter().enumerate() {
            if !outputs.insert(r.output_hash.as_str()) {
                return Err(ContractError::bad(
                    format!("recordsJSON[{i}].outputHash"),
                    format!("{} appears twice in the batch", r.output_hash),
                ));
            }
        }
    }

    // act: blind writes to keys unique to this tx or message
    let tx_id = ctx.tx_id().to_owned();
    let batch = HopBatch {
        chain: chain.id.clone(),
        psiid: hop.psiid.clone(),
        tx_id: tx_id.clone(),
        ts: ctx.now.clone(),
        src: records.src,
        next: records.next,
        records: records.records,
    };
    ctx.put_json(&keys::batch_key(&chain.id, &hop.psiid, &tx_id)?, &batch)
        .await?;
    if next_checks_hash {
        for r in &batch.records {
            let out = OutRecord {
                tx_id: tx_id.clone(),
                seq: r.seq,
                ts: ctx.now.clone(),
            };
            ctx.put_json(&keys::out_key(&chain.id, &hop.psiid, &r.output_hash)?, &out)
                .await?;
        }
    }
    if hop.validation.checks_hash() {
        let used = UsedRecord {
            tx_id: tx_id.clone(),
        };
        for r in &batch.records {
            ctx.put_json(
                &keys::used_key(&chain.id, &hop.psiid, &r.input_hash)?,
                &used,
            )
            .await?;
        }
    }
    let event = HopRecordedEvent {
        chain: chain.id.clone(),
        psiid: hop.psiid.clone(),
        outputs: if next_checks_hash {
            batch
                .records
                .iter()
                .map(|r| r.output_hash.clone())
                .collect()
        } else {
            Vec::new()
        },
        records: batch.records.len(),
        tx_id,
    };
    ctx.emit("HopRecorded", &event)?;
    to_json(&event)
}

fn check_count(n: usize) -> Result<()> {
    if n == 0 || n > limits::MAX_RECORDS_PER_TX {
        return Err(ContractError::bad(
            "recordsJSON",
            format!(
                "{n} records; one transaction holds 1..={}",
                limits::MAX_RECORDS_PER_TX
            ),
        ));
    }
    Ok(())
}

/// One record's hashes and addresses (`None`: the batch's common one, checked once). Field
/// names are built only for an error: this runs for every datagram of every hop.
fn check(
    input_hash: &str,
    output_hash: &str,
    src: Option<&str>,
    next: Option<&str>,
    field: impl Fn(&str) -> String,
) -> Result<()> {
    let ok = validate::hash("", input_hash).is_ok()
        && validate::hash("", output_hash).is_ok()
        && src.is_none_or(|v| validate::address("", v).is_ok())
        && next.is_none_or(|v| validate::address("", v).is_ok());
    if ok {
        return Ok(());
    }
    // Again, with the field's name in the message.
    validate::hash(&field("inputHash"), input_hash)?;
    validate::hash(&field("outputHash"), output_hash)?;
    if let Some(v) = src {
        validate::address(&field("src"), v)?;
    }
    if let Some(v) = next {
        validate::address(&field("next"), v)?;
    }
    Ok(())
}
