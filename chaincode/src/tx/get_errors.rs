//! `GetErrors(chain, psiid, pageSize, bookmark)` — evaluate, members: one page of recorded
//! rejections, all hops when `psiid` is empty. Paginated like `GetRecords`.

use super::get_records::paginate;
use super::{Ctx, TxInfo, TxKind, to_json};
use crate::error::Result;
use crate::keys;
use crate::types::{HopError, Page};

pub const INFO: TxInfo = TxInfo {
    name: "GetErrors",
    kind: TxKind::Evaluate,
    params: &["chain", "psiid", "pageSize", "bookmark"],
    returns: "Page",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let page: Page<HopError> = paginate(ctx, &INFO, keys::kind::ERROR, args).await?;
    to_json(&page)
}
