//! sfcbc-chaincode: the SFC-BC contract.
//!
//! All SFC logic lives here, as pure functions of a [`Stub`]: no I/O, no clock, no randomness.
//! Peers run it through the CCaaS server in `sfcbc-ccaas`, which calls [`dispatch`] with the
//! function name and string arguments of each proposal. Each transaction is a module under
//! [`tx`] (parse → check access → act); [`memstub`] is an in-memory peer for tests.

pub mod access;
pub mod error;
pub mod identity;
pub mod keys;
pub mod memstub;
pub mod metadata;
pub mod packed;
pub mod stub;
pub mod tx;
pub mod types;
pub mod validate;

pub use access::Config;
pub use error::ContractError;
pub use identity::{Caller, GoDnFormat, IdentityError, client_id, client_id_with};
pub use stub::{
    ChaincodeEvent, Creator, KeyModification, KeyValue, QueryMetadata, Stub, StubError, TxTimestamp,
};

use tx::Ctx;

/// The chaincode's answer to one proposal (Fabric's `peer.Response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// 200 on success; 400 bad input, 403 access denied, 404 not found, 409 conflict with the
    /// ledger, 500 ledger access failed.
    pub status: i32,
    /// Empty on success; what went wrong otherwise.
    pub message: String,
    /// JSON result on success; empty otherwise.
    pub payload: Vec<u8>,
}

impl Response {
    fn ok(payload: Vec<u8>) -> Self {
        Response {
            status: 200,
            message: String::new(),
            payload,
        }
    }

    fn error(e: &ContractError) -> Self {
        Response {
            status: e.status(),
            message: e.to_string(),
            payload: Vec::new(),
        }
    }
}

/// Runs one transaction with the default [`Config`].
///
/// `args[0]` is the function name, the rest its string args (as bytes), as Fabric passes
/// them. The name may carry the contract prefix (`SfcContract:CreateChain`), as
/// fabric-contract-api clients send it.
pub async fn dispatch(stub: &dyn Stub, args: &[Vec<u8>]) -> Response {
    dispatch_with(&Config::default(), stub, args).await
}

/// [`dispatch`] with deployment settings.
pub async fn dispatch_with(config: &Config, stub: &dyn Stub, args: &[Vec<u8>]) -> Response {
    match run(config, stub, args).await {
        Ok(payload) => Response::ok(payload),
        Err(e) => Response::error(&e),
    }
}

async fn run(config: &Config, stub: &dyn Stub, args: &[Vec<u8>]) -> error::Result<Vec<u8>> {
    let Some((name, args)) = args.split_first() else {
        return Err(ContractError::bad(
            "function",
            "missing: no function name given",
        ));
    };
    let total: usize = name.len() + args.iter().map(Vec::len).sum::<usize>();
    if total > validate::limits::MAX_ARGS_BYTES {
        return Err(ContractError::bad(
            "args",
            format!(
                "{total} bytes; all arguments together may hold {} bytes",
                validate::limits::MAX_ARGS_BYTES
            ),
        ));
    }
    let name = std::str::from_utf8(name)
        .map_err(|_| ContractError::bad("function", "is not valid UTF-8"))?;

    if let Some(system) = name.strip_prefix(metadata::SYSTEM_CONTRACT_NAME) {
        if system == ":GetMetadata" && args.is_empty() {
            return tx::to_json(&metadata::metadata());
        }
        return Err(unknown_function(name));
    }
    let name = name
        .strip_prefix(metadata::CONTRACT_NAME)
        .and_then(|n| n.strip_prefix(':'))
        .unwrap_or(name);
    if !tx::TRANSACTIONS.iter().any(|t| t.name == name) {
        return Err(unknown_function(name));
    }

    let caller = Caller::from_creator(stub.creator())
        .map_err(|e| ContractError::Forbidden(format!("caller identity: {e}")))?;
    let now = validate::rfc3339(stub.tx_timestamp())?;
    let ctx = Ctx {
        stub,
        caller,
        config,
        now,
    };
    match name {
        "CreateChain" => tx::create_chain::run(&ctx, args).await,
        "UpdateChain" => tx::update_chain::run(&ctx, args).await,
        "DisableChain" => tx::disable_chain::run(&ctx, args).await,
        "GetChain" => tx::get_chain::run(&ctx, args).await,
        "ListChains" => tx::list_chains::run(&ctx, args).await,
        "ShareAuth" => tx::share_auth::run(&ctx, args).await,
        "ShareEndpoints" => tx::share_endpoints::run(&ctx, args).await,
        "RegisterAccount" => tx::register_account::run(&ctx, args).await,
        "CheckIn" => tx::check_in::run(&ctx, args).await,
        "RecordHops" => tx::record_hops::run(&ctx, args).await,
        "RecordError" => tx::record_error::run(&ctx, args).await,
        "GetRecords" => tx::get_records::run(&ctx, args).await,
        "GetErrors" => tx::get_errors::run(&ctx, args).await,
        "TraceMessage" => tx::trace_message::run(&ctx, args).await,
        _ => Err(unknown_function(name)),
    }
}

fn unknown_function(name: &str) -> ContractError {
    let known: Vec<&str> = tx::TRANSACTIONS.iter().map(|t| t.name).collect();
    ContractError::bad(
        "function",
        format!(
            "{} is not a transaction of this contract; known: {}, {}:GetMetadata",
            validate::shown(name),
            known.join(", "),
            metadata::SYSTEM_CONTRACT_NAME
        ),
    )
}
