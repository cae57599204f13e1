//! `CheckIn(chain, psiid, input_hash, src)` — evaluate, the hop's SP only: may this hop
//! process a datagram with `input_hash` that arrived from `src`? Applies DESIGN §5 in order —
//! chain active (`config`), the user's credential matches the SP's account (`auth`), the
//! source is the previous hop's address (`source`, for `address` policies), the previous
//! hop's `out` record holds the hash (`hash`) and it was not used before (`replay`) — and
//! names the next hop. A failed check is a verdict (status 200, `ok: false`), not an error.

use super::{Ctx, TxInfo, TxKind, expect_args, to_json};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{
    Account, AuthShare, Chain, ChainState, EndpointShare, ErrorKind, Hop, NextHop, OutRecord,
    UsedRecord, Verdict, implicit_collection,
};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "CheckIn",
    kind: TxKind::Evaluate,
    params: &["chain", "psiid", "inputHash", "src"],
    returns: "Verdict",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;
    validate::psiid("psiid", args[1])?;
    validate::hash("inputHash", args[2])?;
    validate::address("src", args[3])?;
    let (input_hash, src) = (args[2], args[3]);

    let chain = ctx.load_chain(args[0]).await?;
    let (index, hop) = chain.hop(args[1]).ok_or_else(|| {
        ContractError::NotFound(format!("hop {} is not in chain {}", args[1], chain.id))
    })?;
    access::require_hop_sp(&chain, hop, &ctx.caller)?;

    let endpoints = read_endpoints(ctx, &chain, hop).await?;
    let verdict = match check(ctx, &chain, index, hop, input_hash, src, endpoints.as_ref()).await? {
        Err((failed, reason)) => Verdict {
            ok: false,
            failed: Some(failed),
            reason,
            next_hop: None,
        },
        Ok(reason) => Verdict {
            ok: true,
            failed: None,
            reason,
            next_hop: next_hop(&chain, index, endpoints.as_ref()),
        },
    };
    to_json(&verdict)
}

type Check = std::result::Result<String, (ErrorKind, String)>;

async fn check(
    ctx: &Ctx<'_>,
    chain: &Chain,
    index: usize,
    hop: &Hop,
    input_hash: &str,
    src: &str,
    endpoints: Option<&EndpointShare>,
) -> Result<Check> {
    if chain.state == ChainState::Disabled {
        return Ok(Err((
            ErrorKind::Config,
            format!("chain {} is disabled", chain.id),
        )));
    }
    if let Err(failed) = check_auth(ctx, chain, hop).await? {
        return Ok(Err(failed));
    }
    let mut passed = vec!["auth"];

    if hop.validation.checks_address() {
        let allowed: Vec<&str> = if index == 0 {
            chain
                .classifier
                .as_deref()
                .into_iter()
                .chain(endpoints.and_then(|e| e.endpoint.source.as_deref()))
                .collect()
        } else {
            vec![chain.hops[index - 1].address.as_str()]
        };
        if !allowed.iter().any(|a| validate::same_address(a, src)) {
            let expected = if allowed.is_empty() {
                "no classifier address or shared source endpoint".to_owned()
            } else {
                allowed.join(" or ")
            };
            return Ok(Err((
                ErrorKind::Source,
                format!("source {src} is not the previous hop's address ({expected})"),
            )));
        }
        passed.push("address");
    }

    if hop.validation.checks_hash() {
        if index > 0 {
            let prev = &chain.hops[index - 1];
            let out: Option<OutRecord> = ctx
                .get_json(&keys::out_key(&chain.id, &prev.psiid, input_hash)?)
                .await?;
            if out.is_none() {
                return Ok(Err((
                    ErrorKind::Hash,
                    format!(
                        "previous hop {} has no output record with hash {input_hash}",
                        prev.psiid
                    ),
                )));
            }
        }
        let used: Option<UsedRecord> = ctx
            .get_json(&keys::used_key(&chain.id, &hop.psiid, input_hash)?)
            .await?;
        if let Some(used) = used {
            return Ok(Err((
                ErrorKind::Replay,
                format!(
                    "input hash {input_hash} was used already in tx {}",
                    used.tx_id
                ),
            )));
        }
        passed.push("hash");
    }
    Ok(Ok(format!("passed: {}", passed.join(", "))))
}

/// The user's credential shared with this hop must match the SP's account.
async fn check_auth(ctx: &Ctx<'_>, chain: &Chain, hop: &Hop) -> Result<Check> {
    let collection = hop.collection_name();
    access::require_collection_owner(&collection, &hop.sp_msp, &ctx.caller)?;
    let share: Option<AuthShare> = ctx
        .get_private_json(&collection, &keys::auth_key(&chain.id, &hop.psiid)?)
        .await?;
    let Some(share) = share else {
        return Ok(Err((
            ErrorKind::Auth,
            format!(
                "the owner shared no credential with hop {} (ShareAuth)",
                hop.psiid
            ),
        )));
    };
    let accounts = implicit_collection(&ctx.caller.msp_id);
    let account: Option<Account> = ctx
        .get_private_json(&accounts, &keys::account_key(&share.account)?)
        .await?;
    let Some(account) = account else {
        return Ok(Err((
            ErrorKind::Auth,
            format!(
                "account {} is not registered with {} (RegisterAccount)",
                share.account, ctx.caller.msp_id
            ),
        )));
    };
    if account.secret_sha256 != share.secret_sha256 {
        return Ok(Err((
            ErrorKind::Auth,
            format!(
                "the shared credential does not match account {}",
                share.account
            ),
        )));
    }
    Ok(Ok(String::new()))
}

async fn read_endpoints(ctx: &Ctx<'_>, chain: &Chain, hop: &Hop) -> Result<Option<EndpointShare>> {
    let collection = hop.collection_name();
    access::require_collection_owner(&collection, &hop.sp_msp, &ctx.caller)?;
    ctx.get_private_json(&collection, &keys::endpoints_key(&chain.id, &hop.psiid)?)
        .await
}

fn next_hop(chain: &Chain, index: usize, endpoints: Option<&EndpointShare>) -> Option<NextHop> {
    match chain.hops.get(index + 1) {
        Some(next) => Some(NextHop {
            psiid: Some(next.psiid.clone()),
            address: next.address.clone(),
        }),
        None => endpoints
            .and_then(|e| e.endpoint.destination.clone())
            .map(|address| NextHop {
                psiid: None,
                address,
            }),
    }
}
