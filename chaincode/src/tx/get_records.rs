//! `GetRecords(chain, psiid, pageSize, bookmark)` — evaluate, members: one page of hop
//! records, all hops when `psiid` is empty, in key order (hop, then tx id). Paginated, so
//! only ever evaluated: a peer refuses writes after a paginated query.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Ctx, TxInfo, TxKind, expect_args, parse_stored, to_json};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{HopRecord, Page};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "GetRecords",
    kind: TxKind::Evaluate,
    params: &["chain", "psiid", "pageSize", "bookmark"],
    returns: "Page",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let page: Page<HopRecord> = paginate(ctx, &INFO, keys::kind::RECORD, args).await?;
    to_json(&page)
}

/// One page of `object_type` records of a chain (and hop), for members of the chain.
pub(crate) async fn paginate<T: DeserializeOwned + Serialize>(
    ctx: &Ctx<'_>,
    info: &TxInfo,
    object_type: &str,
    args: &[Vec<u8>],
) -> Result<Page<T>> {
    let args = expect_args(info, args)?;
    validate::id("chain", args[0])?;
    if !args[1].is_empty() {
        validate::psiid("psiid", args[1])?;
    }
    let page_size = validate::page_size("pageSize", args[2])?;

    let chain = ctx.load_chain(args[0]).await?;
    access::require_member(&chain, &ctx.caller, ctx.config)?;
    let mut attributes = vec![chain.id.as_str()];
    if !args[1].is_empty() {
        if chain.hop(args[1]).is_none() {
            return Err(ContractError::NotFound(format!(
                "hop {} is not in chain {}",
                args[1], chain.id
            )));
        }
        attributes.push(args[1]);
    }
    let (start, end) = keys::partial_composite_key_range(object_type, &attributes)?;
    let bookmark = validate::bookmark("bookmark", args[3], &start, &end)?;

    let (kvs, metadata) = ctx
        .stub
        .get_state_by_partial_composite_key_with_pagination(
            object_type,
            &attributes,
            page_size,
            &bookmark,
        )
        .await?;
    let items = kvs
        .iter()
        .map(|kv| parse_stored(&kv.key, &kv.value))
        .collect::<Result<Vec<T>>>()?;
    Ok(Page {
        fetched_records_count: items.len() as i32,
        items,
        bookmark: if metadata.bookmark.is_empty() {
            String::new()
        } else {
            validate::encode_bookmark(&metadata.bookmark)
        },
    })
}
