//! One module per transaction, each `parse → check access → act`, and what they share: the
//! transaction context, argument and transient parsing, JSON state access, events.
//!
//! [`TRANSACTIONS`] lists every transaction with its kind and parameters; the dispatcher and
//! the contract metadata both read it, so they cannot disagree.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::access::Config;
use crate::error::{ContractError, Result};
use crate::identity::Caller;
use crate::keys;
use crate::stub::Stub;
use crate::types::Chain;
use crate::validate::{self, shown};

pub mod check_in;
pub mod create_chain;
pub mod disable_chain;
pub mod get_chain;
pub mod get_errors;
pub mod get_records;
pub mod list_chains;
pub mod record_error;
pub mod record_hops;
pub mod register_account;
pub mod share_auth;
pub mod share_endpoints;
pub mod trace_message;
pub mod update_chain;

/// Submit (ordered and committed) or evaluate (read-only, never sent to the orderer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    Submit,
    Evaluate,
}

/// A transaction's signature, for the dispatcher and the metadata.
#[derive(Debug, Clone, Copy)]
pub struct TxInfo {
    pub name: &'static str,
    pub kind: TxKind,
    pub params: &'static [&'static str],
    /// Name of the component schema (or JSON type) the payload holds.
    pub returns: &'static str,
}

/// Every transaction of the SFC contract.
pub const TRANSACTIONS: &[TxInfo] = &[
    check_in::INFO,
    create_chain::INFO,
    disable_chain::INFO,
    get_chain::INFO,
    get_errors::INFO,
    get_records::INFO,
    list_chains::INFO,
    record_error::INFO,
    record_hops::INFO,
    register_account::INFO,
    share_auth::INFO,
    share_endpoints::INFO,
    trace_message::INFO,
    update_chain::INFO,
];

/// What a transaction runs with.
pub struct Ctx<'a> {
    pub stub: &'a dyn Stub,
    pub caller: Caller,
    pub config: &'a Config,
    /// The proposal timestamp, RFC 3339: the only clock.
    pub now: String,
}

impl Ctx<'_> {
    pub fn tx_id(&self) -> &str {
        self.stub.tx_id()
    }

    /// The state at `key` as `T`; `None` when absent.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.stub.get_state(key).await? {
            None => Ok(None),
            Some(bytes) => parse_stored(key, &bytes).map(Some),
        }
    }

    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.stub.put_state(key, &to_json(value)?).await?;
        Ok(())
    }

    /// The chain `id`, or 404.
    pub async fn load_chain(&self, id: &str) -> Result<Chain> {
        self.get_json(&keys::chain_key(id)?)
            .await?
            .ok_or_else(|| ContractError::NotFound(format!("chain {} does not exist", shown(id))))
    }

    /// Private data at `key` as `T`.
    pub async fn get_private_json<T: DeserializeOwned>(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<T>> {
        match self.stub.get_private_data(collection, key).await? {
            None => Ok(None),
            Some(bytes) => parse_stored(key, &bytes).map(Some),
        }
    }

    pub fn emit<T: Serialize>(&self, name: &str, payload: &T) -> Result<()> {
        self.stub.set_event(name, to_json(payload)?)?;
        Ok(())
    }
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| ContractError::Corrupt {
        key: "response".into(),
        reason: e.to_string(),
    })
}

pub fn parse_stored<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| ContractError::Corrupt {
        key: format!("{key:?}"),
        reason: e.to_string(),
    })
}

/// Parses a JSON argument; the error names the field and says where it went wrong.
pub fn parse_arg<T: DeserializeOwned>(field: &str, value: &str) -> Result<T> {
    serde_json::from_str(value).map_err(|e| ContractError::bad(field, format!("invalid JSON: {e}")))
}

/// The string arguments of `info`'s transaction, exactly as many as it declares.
pub fn expect_args<'a>(info: &TxInfo, args: &'a [Vec<u8>]) -> Result<Vec<&'a str>> {
    if args.len() != info.params.len() {
        return Err(ContractError::bad(
            "args",
            format!(
                "{} takes {} argument(s) ({}), got {}",
                info.name,
                info.params.len(),
                info.params.join(", "),
                args.len()
            ),
        ));
    }
    args.iter()
        .zip(info.params)
        .map(|(bytes, name)| {
            std::str::from_utf8(bytes).map_err(|_| ContractError::bad(*name, "is not valid UTF-8"))
        })
        .collect()
}

/// The transient map may hold only `allowed` keys: a stray key is most likely a typo that
/// would otherwise drop a secret on the floor.
pub fn check_transient_keys(ctx: &Ctx<'_>, tx: &str, allowed: &[&str]) -> Result<()> {
    if let Some(key) = ctx
        .stub
        .transient()
        .keys()
        .find(|k| !allowed.contains(&k.as_str()))
    {
        return Err(ContractError::bad(
            format!("transient.{key}"),
            format!(
                "{tx} reads only {} from the transient map",
                allowed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// A required transient value.
pub fn transient<'a>(ctx: &'a Ctx<'_>, key: &str) -> Result<&'a [u8]> {
    ctx.stub
        .transient()
        .get(key)
        .map(Vec::as_slice)
        .ok_or_else(|| {
            ContractError::bad(
                format!("transient.{key}"),
                "missing: private inputs travel in the transient map, never in the arguments",
            )
        })
}

/// A transient value that must be a UTF-8 string.
pub fn transient_str<'a>(ctx: &'a Ctx<'_>, key: &str) -> Result<Option<&'a str>> {
    match ctx.stub.transient().get(key) {
        None => Ok(None),
        Some(bytes) => std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ContractError::bad(format!("transient.{key}"), "is not valid UTF-8")),
    }
}

/// The client's salt from the transient map, as hex.
pub fn salt_hex(ctx: &Ctx<'_>) -> Result<String> {
    let salt = transient(ctx, "salt")?;
    let n = salt.len();
    if !(validate::limits::MIN_SALT_BYTES..=validate::limits::MAX_SALT_BYTES).contains(&n) {
        return Err(ContractError::bad(
            "transient.salt",
            format!(
                "{n} bytes; use {}..={} random bytes",
                validate::limits::MIN_SALT_BYTES,
                validate::limits::MAX_SALT_BYTES
            ),
        ));
    }
    Ok(hex::encode(salt))
}

/// The secret from the transient map, as hex SHA-256 (the secret itself is never stored).
pub fn secret_sha256(ctx: &Ctx<'_>) -> Result<String> {
    use sha2::Digest as _;
    let secret = transient(ctx, "secret")?;
    if secret.is_empty() || secret.len() > validate::limits::MAX_SECRET_BYTES {
        return Err(ContractError::bad(
            "transient.secret",
            format!(
                "{} bytes; a secret has 1..={} bytes",
                secret.len(),
                validate::limits::MAX_SECRET_BYTES
            ),
        ));
    }
    Ok(hex::encode(sha2::Sha256::digest(secret)))
}
