//! `ShareEndpoints(chain, psiid)` — submit, owner only: the chain's `source` (first hop only)
//! and/or `destination` (last hop only) addresses, from the transient map with a `salt`, into
//! the hop's collection. Nothing public is written.

use super::share_auth::PrivateWrite;
use super::{
    Ctx, TxInfo, TxKind, check_transient_keys, expect_args, salt_hex, to_json, transient_str,
};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{ChainState, Endpoint, EndpointShare};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "ShareEndpoints",
    kind: TxKind::Submit,
    params: &["chain", "psiid"],
    returns: "PrivateWrite",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    if args.len() > INFO.params.len() {
        return Err(ContractError::bad(
            "args",
            "ShareEndpoints takes the endpoints from the transient map (source, destination, salt), never from the arguments",
        ));
    }
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;
    validate::psiid("psiid", args[1])?;
    check_transient_keys(ctx, INFO.name, &["source", "destination", "salt"])?;
    let source = transient_str(ctx, "source")?;
    let destination = transient_str(ctx, "destination")?;
    if let Some(s) = source {
        validate::address("transient.source", s)?;
    }
    if let Some(d) = destination {
        validate::address("transient.destination", d)?;
    }
    if source.is_none() && destination.is_none() {
        return Err(ContractError::bad(
            "transient.source",
            "missing: share a source (first hop) and/or a destination (last hop)",
        ));
    }
    let salt = salt_hex(ctx)?;

    let chain = ctx.load_chain(args[0]).await?;
    access::require_owner(&chain, &ctx.caller, "share endpoints")?;
    if chain.state == ChainState::Disabled {
        return Err(ContractError::Conflict(format!(
            "chain {} is disabled",
            chain.id
        )));
    }
    let (index, hop) = chain.hop(args[1]).ok_or_else(|| {
        ContractError::NotFound(format!("hop {} is not in chain {}", args[1], chain.id))
    })?;
    if source.is_some() && index != 0 {
        return Err(ContractError::bad(
            "transient.source",
            format!(
                "the source is shared only with the first hop ({})",
                chain.hops[0].psiid
            ),
        ));
    }
    if destination.is_some() && index + 1 != chain.hops.len() {
        return Err(ContractError::bad(
            "transient.destination",
            format!(
                "the destination is shared only with the last hop ({})",
                chain.hops[chain.hops.len() - 1].psiid
            ),
        ));
    }

    let collection = hop.collection_name();
    let share = EndpointShare {
        chain: chain.id.clone(),
        psiid: hop.psiid.clone(),
        endpoint: Endpoint {
            source: source.map(str::to_owned),
            destination: destination.map(str::to_owned),
        },
        salt,
    };
    ctx.stub
        .put_private_data(
            &collection,
            &keys::endpoints_key(&chain.id, &hop.psiid)?,
            &to_json(&share)?,
        )
        .await?;
    to_json(&PrivateWrite {
        collection,
        chain: Some(chain.id.clone()),
        psiid: Some(hop.psiid.clone()),
        tx_id: ctx.tx_id().to_owned(),
    })
}
