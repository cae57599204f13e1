//! `ListChains()` — evaluate, any caller: the chains the caller is a member of (the manager
//! sees all), in id order.

use super::{Ctx, TxInfo, TxKind, expect_args, parse_stored, to_json};
use crate::access;
use crate::error::Result;
use crate::keys;
use crate::types::Chain;

pub const INFO: TxInfo = TxInfo {
    name: "ListChains",
    kind: TxKind::Evaluate,
    params: &[],
    returns: "[Chain]",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    expect_args(&INFO, args)?;
    let mut chains = Vec::new();
    for kv in ctx
        .stub
        .get_state_by_partial_composite_key(keys::kind::CHAIN, &[])
        .await?
    {
        let chain: Chain = parse_stored(&kv.key, &kv.value)?;
        if access::is_member(&chain, &ctx.caller, ctx.config) {
            chains.push(chain);
        }
    }
    to_json(&chains)
}
