//! `UpdateChain(chainJSON)` — submit, owner only: replace an active chain's hops and
//! classifier, version + 1, `init` status for hops new to the chain, emit `ChainUpdated`.
//!
//! Records of the chain read `chain~{chain}`, so a record endorsed against the old version
//! that commits after this update fails validation — on purpose.

use super::create_chain::write_hop_status;
use super::{Ctx, TxInfo, TxKind, expect_args, parse_arg, to_json};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{ChainEventPayload, ChainSpec, ChainState};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "UpdateChain",
    kind: TxKind::Submit,
    params: &["chainJSON"],
    returns: "Chain",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let args = expect_args(&INFO, args)?;
    let spec: ChainSpec = parse_arg("chainJSON", args[0])?;
    validate::chain_spec(&spec)?;

    let mut chain = ctx.load_chain(&spec.id).await?;
    access::require_owner(&chain, &ctx.caller, "update it")?;
    if chain.state == ChainState::Disabled {
        return Err(ContractError::Conflict(format!(
            "chain {} is disabled; create a new chain instead",
            chain.id
        )));
    }

    let old_hops = std::mem::replace(&mut chain.hops, spec.hops);
    chain.classifier = spec.classifier;
    chain.version += 1;
    chain.updated_tx = ctx.tx_id().to_owned();
    chain.updated_at = ctx.now.clone();
    ctx.put_json(&keys::chain_key(&chain.id)?, &chain).await?;
    for hop in &chain.hops {
        if !old_hops.iter().any(|h| h.psiid == hop.psiid) {
            write_hop_status(ctx, &chain, &hop.psiid).await?;
        }
    }
    ctx.emit(
        "ChainUpdated",
        &ChainEventPayload {
            chain: chain.id.clone(),
            version: chain.version,
            state: chain.state,
            tx_id: ctx.tx_id().to_owned(),
        },
    )?;
    to_json(&chain)
}
