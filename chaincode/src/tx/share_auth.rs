//! `ShareAuth(chain, psiid)` — submit, owner only: the user's credential for a hop, from the
//! transient map only (`account`, `secret`, `salt`), into the hop's collection (by default
//! the SP's implicit collection). Nothing public is written and nothing secret is returned.
//!
//! Submit it with `endorsingOrganizations = [hop's SP]`: only that SP's peers may see it.

use serde::Serialize;

use super::{
    Ctx, TxInfo, TxKind, check_transient_keys, expect_args, salt_hex, secret_sha256, to_json,
    transient_str,
};
use crate::access;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{AuthShare, ChainState};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "ShareAuth",
    kind: TxKind::Submit,
    params: &["chain", "psiid"],
    returns: "PrivateWrite",
};

/// What a private write returns: where it went, never what.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateWrite {
    pub collection: String,
    pub chain: Option<String>,
    pub psiid: Option<String>,
    pub tx_id: String,
}

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    if args.len() > INFO.params.len() {
        return Err(ContractError::bad(
            "args",
            "ShareAuth takes the secret from the transient map (account, secret, salt), never from the arguments",
        ));
    }
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;
    validate::psiid("psiid", args[1])?;
    check_transient_keys(ctx, INFO.name, &["account", "secret", "salt"])?;
    let account = transient_str(ctx, "account")?.ok_or_else(|| {
        ContractError::bad("transient.account", "missing: the user's account at the SP")
    })?;
    validate::id("transient.account", account)?;
    let secret_sha256 = secret_sha256(ctx)?;
    let salt = salt_hex(ctx)?;

    let chain = ctx.load_chain(args[0]).await?;
    access::require_owner(&chain, &ctx.caller, "share credentials")?;
    if chain.state == ChainState::Disabled {
        return Err(ContractError::Conflict(format!(
            "chain {} is disabled",
            chain.id
        )));
    }
    let (_, hop) = chain.hop(args[1]).ok_or_else(|| {
        ContractError::NotFound(format!("hop {} is not in chain {}", args[1], chain.id))
    })?;

    let collection = hop.collection_name();
    let share = AuthShare {
        chain: chain.id.clone(),
        psiid: hop.psiid.clone(),
        account: account.to_owned(),
        secret_sha256,
        salt,
    };
    ctx.stub
        .put_private_data(
            &collection,
            &keys::auth_key(&chain.id, &hop.psiid)?,
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
