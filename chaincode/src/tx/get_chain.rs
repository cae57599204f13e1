//! `GetChain(chain)` — evaluate, members (owner, a hop's SP, manager): the chain.

use super::{Ctx, TxInfo, TxKind, expect_args, to_json};
use crate::access;
use crate::error::Result;
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "GetChain",
    kind: TxKind::Evaluate,
    params: &["chain"],
    returns: "Chain",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;
    let chain = ctx.load_chain(args[0]).await?;
    access::require_member(&chain, &ctx.caller, ctx.config)?;
    to_json(&chain)
}
