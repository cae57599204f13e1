//! `DisableChain(chain)` — submit, owner only: state `disabled`, version + 1, emit
//! `ChainUpdated`. Hops then refuse traffic (`CheckIn` answers `config`) and records.

use super::{Ctx, TxInfo, TxKind, expect_args, to_json};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{ChainEventPayload, ChainState};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "DisableChain",
    kind: TxKind::Submit,
    params: &["chain"],
    returns: "Chain",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;

    let mut chain = ctx.load_chain(args[0]).await?;
    access::require_owner(&chain, &ctx.caller, "disable it")?;
    if chain.state == ChainState::Disabled {
        return Err(ContractError::Conflict(format!(
            "chain {} is disabled already",
            chain.id
        )));
    }

    chain.state = ChainState::Disabled;
    chain.version += 1;
    chain.updated_tx = ctx.tx_id().to_owned();
    chain.updated_at = ctx.now.clone();
    ctx.put_json(&keys::chain_key(&chain.id)?, &chain).await?;
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
