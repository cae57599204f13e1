//! `CreateChain(chainJSON)` — submit, any caller: validate the spec, make the caller the
//! owner, write the chain at version 1 and each hop's `init` status, emit `ChainCreated`.

use super::{Ctx, TxInfo, TxKind, expect_args, parse_arg, to_json};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{Chain, ChainEventPayload, ChainSpec, ChainState, HopState, HopStatus, Owner};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "CreateChain",
    kind: TxKind::Submit,
    params: &["chainJSON"],
    returns: "Chain",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    // parse
    let args = expect_args(&INFO, args)?;
    let spec: ChainSpec = parse_arg("chainJSON", args[0])?;
    validate::chain_spec(&spec)?;

    // check: anyone may create a chain, but not over an existing one
    let key = keys::chain_key(&spec.id)?;
    if ctx.stub.get_state(&key).await?.is_some() {
        return Err(ContractError::Conflict(format!(
            "chain {} exists already; choose another id or UpdateChain it",
            spec.id
        )));
    }

    // act
    let chain = Chain {
        id: spec.id,
        owner: Owner {
            msp: ctx.caller.msp_id.clone(),
            id: ctx.caller.id.clone(),
        },
        version: 1,
        state: ChainState::Active,
        hops: spec.hops,
        classifier: spec.classifier,
        created_tx: ctx.tx_id().to_owned(),
        updated_tx: ctx.tx_id().to_owned(),
        created_at: ctx.now.clone(),
        updated_at: ctx.now.clone(),
    };
    ctx.put_json(&key, &chain).await?;
    for hop in &chain.hops {
        write_hop_status(ctx, &chain, &hop.psiid).await?;
    }
    ctx.emit(
        "ChainCreated",
        &ChainEventPayload {
            chain: chain.id.clone(),
            version: chain.version,
            state: chain.state,
            tx_id: ctx.tx_id().to_owned(),
        },
    )?;
    to_json(&chain)
}

/// The `init` status of a hop that joins `chain` at its current version.
pub(crate) async fn write_hop_status(ctx: &Ctx<'_>, chain: &Chain, psiid: &str) -> Result<()> {
    let status = HopStatus {
        chain: chain.id.clone(),
        psiid: psiid.to_owned(),
        state: HopState::Init,
        chain_version: chain.version,
        tx_id: ctx.tx_id().to_owned(),
        ts: ctx.now.clone(),
    };
    ctx.put_json(&keys::hop_key(&chain.id, psiid)?, &status)
        .await
}
