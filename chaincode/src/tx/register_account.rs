//! `RegisterAccount(user)` — submit, an SP: its own record of a user account (`secret` and
//! `salt` from the transient map) in its implicit collection `_implicit_org_{caller MSP}`.
//! `CheckIn` compares the user's shared credential with it. Nothing public is written.

use super::share_auth::PrivateWrite;
use super::{
    Ctx, TxInfo, TxKind, check_transient_keys, expect_args, salt_hex, secret_sha256, to_json,
};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::types::{Account, implicit_collection};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "RegisterAccount",
    kind: TxKind::Submit,
    params: &["user"],
    returns: "PrivateWrite",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    if args.len() > INFO.params.len() {
        return Err(ContractError::bad(
            "args",
            "RegisterAccount takes the secret from the transient map (secret, salt), never from the arguments",
        ));
    }
    let args = expect_args(&INFO, args)?;
    validate::id("user", args[0])?;
    check_transient_keys(ctx, INFO.name, &["secret", "salt"])?;
    let secret_sha256 = secret_sha256(ctx)?;
    let salt = salt_hex(ctx)?;

    // Access: the caller writes only into its own org's collection.
    let collection = implicit_collection(&ctx.caller.msp_id);
    let account = Account {
        user: args[0].to_owned(),
        secret_sha256,
        salt,
        tx_id: ctx.tx_id().to_owned(),
    };
    ctx.stub
        .put_private_data(
            &collection,
            &keys::account_key(args[0])?,
            &to_json(&account)?,
        )
        .await?;
    to_json(&PrivateWrite {
        collection,
        chain: None,
        psiid: None,
        tx_id: ctx.tx_id().to_owned(),
    })
}
