//! `RecordError(chain, psiid, errorJSON)` — submit, the hop's SP only: a dropped datagram at
//! `err~{chain}~{psiid}~{txid}~0000` (a blind write), event `HopRejected`. Accepted on a
//! disabled chain too: datagrams keep arriving and `config` rejections are worth recording.

use super::{Ctx, TxInfo, TxKind, expect_args, parse_arg, to_json};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{HopError, HopErrorInput, HopRejectedEvent};
use crate::validate::{self, limits};

pub const INFO: TxInfo = TxInfo {
    name: "RecordError",
    kind: TxKind::Submit,
    params: &["chain", "psiid", "errorJSON"],
    returns: "HopError",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;
    validate::psiid("psiid", args[1])?;
    let input: HopErrorInput = parse_arg("errorJSON", args[2])?;
    validate::hash("errorJSON.inputHash", &input.input_hash)?;
    validate::address("errorJSON.src", &input.src)?;
    if input.detail.chars().count() > limits::MAX_DETAIL_LEN {
        return Err(ContractError::bad(
            "errorJSON.detail",
            format!("longer than {} characters", limits::MAX_DETAIL_LEN),
        ));
    }

    let chain = ctx.load_chain(args[0]).await?;
    let (_, hop) = chain.hop(args[1]).ok_or_else(|| {
        ContractError::NotFound(format!("hop {} is not in chain {}", args[1], chain.id))
    })?;
    access::require_hop_sp(&chain, hop, &ctx.caller)?;

    let error = HopError {
        chain: chain.id.clone(),
        psiid: hop.psiid.clone(),
        kind: input.kind,
        detail: input.detail,
        src: input.src,
        input_hash: input.input_hash,
        ts: ctx.now.clone(),
        tx_id: ctx.tx_id().to_owned(),
    };
    ctx.put_json(
        &keys::error_key(&chain.id, &hop.psiid, ctx.tx_id(), 0)?,
        &error,
    )
    .await?;
    ctx.emit(
        "HopRejected",
        &HopRejectedEvent {
            chain: error.chain.clone(),
            psiid: error.psiid.clone(),
            kind: error.kind,
            input_hash: error.input_hash.clone(),
            tx_id: error.tx_id.clone(),
        },
    )?;
    to_json(&error)
}
