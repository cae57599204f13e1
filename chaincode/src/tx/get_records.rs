//! `GetRecords(chain, psiid, pageSize, bookmark)` — evaluate, members: one page of hop
//! records, all hops when `psiid` is empty, in key order (hop, then tx id, then the order
//! within the transaction). Paginated, so only ever evaluated: a peer refuses writes after a
//! paginated query.
//!
//! Records are stored one key per `RecordHops` transaction ([`HopBatch`]), but a page holds
//! `pageSize` records, not transactions: batches are read a few at a time (paginated range
//! queries) until the page is full, and where a page ends inside a batch the bookmark names
//! the batch and how many of its records were shown (`{key}\u{1}{n}`, opaque to the caller).
//!
//! [`HopBatch`]: crate::types::HopBatch

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Ctx, TxInfo, TxKind, expect_args, parse_stored, to_json};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{HopRecord, Page, StoredRecords};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "GetRecords",
    kind: TxKind::Evaluate,
    params: &["chain", "psiid", "pageSize", "bookmark"],
    returns: "Page",
};

/// Separates a batch key from the count of its records already shown, in a bookmark.
const WITHIN: char = '\u{1}';

/// Batches read per range query while filling a page.
const BATCHES_PER_READ: usize = 8;

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let q = query(ctx, &INFO, keys::kind::RECORD, args).await?;
    let (attributes, page_size, bookmark) = (q.attributes(), q.page_size, q.bookmark.clone());
    let (from, skip) = match bookmark.rsplit_once(WITHIN) {
        Some((key, n)) => {
            let n = n.parse::<usize>().map_err(|_| {
                ContractError::bad("bookmark", "not a bookmark this query returned")
            })?;
            (key.to_owned(), n)
        }
        None => (bookmark, 0),
    };

    // Batches are read a few at a time (each holds 1..=1000 records), so that a page never
    // reads many more records than it returns.
    let want = page_size as usize;
    let mut items: Vec<HopRecord> = Vec::with_capacity(want.min(1024));
    let mut at = from.clone();
    let next = 'page: loop {
        let chunk = (want - items.len()).clamp(1, BATCHES_PER_READ);
        let (kvs, metadata) = ctx
            .stub
            .get_state_by_partial_composite_key_with_pagination(
                keys::kind::RECORD,
                &attributes,
                chunk as i32,
                &at,
            )
            .await?;
        for (i, kv) in kvs.iter().enumerate() {
            let stored: StoredRecords = parse_stored(&kv.key, &kv.value)?;
            let shown = if kv.key == from { skip } else { 0 };
            let records = stored.into_records();
            let room = want - items.len();
            let rest = records.len().saturating_sub(shown);
            if rest > room {
                items.extend(records.into_iter().skip(shown).take(room));
                break 'page format!("{}{WITHIN}{}", kv.key, shown + room);
            }
            items.extend(records.into_iter().skip(shown));
            if items.len() == want {
                break 'page match kvs.get(i + 1) {
                    Some(kv) => kv.key.clone(),
                    None => metadata.bookmark,
                };
            }
        }
        if kvs.is_empty() || metadata.bookmark.is_empty() {
            break String::new();
        }
        at = metadata.bookmark;
    };
    to_json(&page(items, &next))
}

/// A records/errors query, checked: the composite-key attributes (chain, and hop when
/// given), the page size and the bookmark (a key inside the query's range).
struct Query {
    attributes: Vec<String>,
    page_size: i32,
    bookmark: String,
}

impl Query {
    fn attributes(&self) -> Vec<&str> {
        self.attributes.iter().map(String::as_str).collect()
    }
}

/// Checks a records/errors query's arguments (chain, hop, page size, bookmark) and the
/// caller's access.
async fn query(ctx: &Ctx<'_>, info: &TxInfo, object_type: &str, args: &[Vec<u8>]) -> Result<Query> {
    let args = expect_args(info, args)?;
    let (chain, psiid) = (args[0], args[1]);
    validate::id("chain", chain)?;
    if !psiid.is_empty() {
        validate::psiid("psiid", psiid)?;
    }
    let page_size = validate::page_size("pageSize", args[2])?;
    let chain = ctx.load_chain(chain).await?;
    access::require_member(&chain, &ctx.caller, ctx.config)?;
    let mut attributes = vec![chain.id.clone()];
    if !psiid.is_empty() {
        if chain.hop(psiid).is_none() {
            return Err(ContractError::NotFound(format!(
                "hop {} is not in chain {}",
                psiid, chain.id
            )));
        }
        attributes.push(psiid.to_owned());
    }
    let mut q = Query {
        attributes,
        page_size,
        bookmark: String::new(),
    };
    let (start, end) = keys::partial_composite_key_range(object_type, &q.attributes())?;
    q.bookmark = validate::bookmark("bookmark", args[3], &start, &end)?;
    Ok(q)
}

/// A page of `items`; `next` is the key to go on from (empty: the last page).
fn page<T>(items: Vec<T>, next: &str) -> Page<T> {
    Page {
        fetched_records_count: items.len() as i32,
        items,
        bookmark: if next.is_empty() {
            String::new()
        } else {
            validate::encode_bookmark(next)
        },
    }
}

/// One page of `object_type` records of a chain (and hop), for members of the chain.
pub(crate) async fn paginate<T: DeserializeOwned + Serialize>(
    ctx: &Ctx<'_>,
    info: &TxInfo,
    object_type: &str,
    args: &[Vec<u8>],
) -> Result<Page<T>> {
    let q = query(ctx, info, object_type, args).await?;
    let (kvs, metadata) = ctx
        .stub
        .get_state_by_partial_composite_key_with_pagination(
            object_type,
            &q.attributes(),
            q.page_size,
            &q.bookmark,
        )
        .await?;
    let items = kvs
        .iter()
        .map(|kv| parse_stored(&kv.key, &kv.value))
        .collect::<Result<Vec<T>>>()?;
    Ok(page(items, &metadata.bookmark))
}
