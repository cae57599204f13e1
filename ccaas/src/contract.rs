//! What the server runs: a [`Contract`] turns one proposal's arguments into a [`Response`],
//! talking to the ledger only through the transaction's [`ShimStub`].
//!
//! [`SfcContract`] adapts the SFC contract (`sfcbc_chaincode::dispatch`); tests plug in small
//! contracts of their own to exercise every shim call.

use async_trait::async_trait;
use sfcbc_chaincode::Stub;

use crate::stub::ShimStub;

/// Fabric's `peer.Response` as the contract returns it: status 200 for success, >= 400 for a
/// chaincode error (the peer then refuses to endorse and hands `message` to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: i32,
    pub message: String,
    pub payload: Vec<u8>,
}

impl Response {
    /// Status 200 with a payload.
    pub fn ok(payload: impl Into<Vec<u8>>) -> Self {
        Response {
            status: 200,
            message: String::new(),
            payload: payload.into(),
        }
    }

    /// A chaincode error: status 500 (the shims' `ERROR`) with a message.
    pub fn error(message: impl Into<String>) -> Self {
        Self::error_with_status(500, message)
    }

    /// A chaincode error with a chosen status (>= 400).
    pub fn error_with_status(status: i32, message: impl Into<String>) -> Self {
        Response {
            status,
            message: message.into(),
            payload: Vec::new(),
        }
    }
}

/// A chaincode as the server runs it. `args[0]` is the function name, as Fabric's
/// `ChaincodeInput.args` carries it.
#[async_trait]
pub trait Contract: Send + Sync + 'static {
    /// Handles an `INIT` message (only sent when the definition has `--init-required`).
    /// The default accepts and does nothing, like most Fabric 2.x contracts.
    async fn init(&self, _stub: &ShimStub, _args: &[Vec<u8>]) -> Response {
        Response::ok(Vec::new())
    }

    /// Handles a `TRANSACTION` message.
    async fn invoke(&self, stub: &ShimStub, args: &[Vec<u8>]) -> Response;
}

/// The SFC contract from `sfcbc-chaincode`, with its deployment settings.
#[derive(Debug, Clone, Default)]
pub struct SfcContract {
    pub config: sfcbc_chaincode::Config,
}

impl SfcContract {
    pub fn new(config: sfcbc_chaincode::Config) -> Self {
        SfcContract { config }
    }
}

#[async_trait]
impl Contract for SfcContract {
    async fn invoke(&self, stub: &ShimStub, args: &[Vec<u8>]) -> Response {
        let r = sfcbc_chaincode::dispatch_with(&self.config, stub, args).await;
        Response {
            status: r.status,
            message: r.message,
            payload: r.payload,
        }
    }
}

/// A tiny key-value contract for protocol smoke tests against a real peer
/// (`sfcbc-ccaas serve --contract kv`): every shim call the SFC contract needs, nothing else.
///
/// | function | args | does |
/// |---|---|---|
/// | `put` | key value | `PutState`, event `put` with the key |
/// | `get` | key | `GetState` (status 404 when absent) |
/// | `del` | key | `DelState` |
/// | `range` | start end | `GetStateByRange`, JSON list of keys |
/// | `page` | start end size bookmark | paginated range, JSON {keys, bookmark} |
/// | `history` | key | `GetHistoryForKey`, JSON list of values |
/// | `pput` | collection key | `PutPrivateData` with transient `value` |
/// | `pget` / `phash` | collection key | `GetPrivateData` / `GetPrivateDataHash` (hex) |
/// | `whoami` | | creator MSP ID |
/// | `fail` | message | status 400 with the message |
#[derive(Debug, Clone, Copy, Default)]
pub struct KvContract;

fn arg(args: &[Vec<u8>], i: usize) -> Result<String, Response> {
    let a = args
        .get(i)
        .ok_or_else(|| Response::error_with_status(400, format!("argument {i} is missing")))?;
    String::from_utf8(a.clone())
        .map_err(|_| Response::error_with_status(400, format!("argument {i} is not UTF-8")))
}

impl KvContract {
    async fn run(&self, stub: &ShimStub, args: &[Vec<u8>]) -> Result<Response, Response> {
        let shim = |e: sfcbc_chaincode::StubError| Response::error(e.to_string());
        let f = arg(args, 0)?;
        Ok(match f.as_str() {
            "put" => {
                let (k, v) = (arg(args, 1)?, arg(args, 2)?);
                stub.put_state(&k, v.as_bytes()).await.map_err(shim)?;
                stub.set_event("put", k.into_bytes()).map_err(shim)?;
                Response::ok(Vec::new())
            }
            "get" => match stub.get_state(&arg(args, 1)?).await.map_err(shim)? {
                Some(v) => Response::ok(v),
                None => Response::error_with_status(404, "no such key"),
            },
            "del" => {
                stub.del_state(&arg(args, 1)?).await.map_err(shim)?;
                Response::ok(Vec::new())
            }
            "range" => {
                let kvs = stub
                    .get_state_by_range(&arg(args, 1)?, &arg(args, 2)?)
                    .await
                    .map_err(shim)?;
                let keys: Vec<String> = kvs.into_iter().map(|kv| kv.key).collect();
                Response::ok(serde_json::to_vec(&keys).expect("strings serialise"))
            }
            "page" => {
                let size: i32 = arg(args, 3)?
                    .parse()
                    .map_err(|_| Response::error_with_status(400, "page size is not a number"))?;
                let (kvs, md) = stub
                    .get_state_by_range_with_pagination(
                        &arg(args, 1)?,
                        &arg(args, 2)?,
                        size,
                        &arg(args, 4)?,
                    )
                    .await
                    .map_err(shim)?;
                let keys: Vec<String> = kvs.into_iter().map(|kv| kv.key).collect();
                Response::ok(
                    serde_json::to_vec(&serde_json::json!({
                        "keys": keys,
                        "count": md.fetched_records_count,
                        "bookmark": md.bookmark,
                    }))
                    .expect("JSON values serialise"),
                )
            }
            "history" => {
                let h = stub
                    .get_history_for_key(&arg(args, 1)?)
                    .await
                    .map_err(shim)?;
                let values: Vec<String> = h
                    .iter()
                    .map(|m| String::from_utf8_lossy(&m.value).into_owned())
                    .collect();
                Response::ok(serde_json::to_vec(&values).expect("strings serialise"))
            }
            "pput" => {
                let value = stub.transient().get("value").cloned().ok_or_else(|| {
                    Response::error_with_status(400, "transient field value is missing")
                })?;
                stub.put_private_data(&arg(args, 1)?, &arg(args, 2)?, &value)
                    .await
                    .map_err(shim)?;
                Response::ok(Vec::new())
            }
            "pget" => match stub
                .get_private_data(&arg(args, 1)?, &arg(args, 2)?)
                .await
                .map_err(shim)?
            {
                Some(v) => Response::ok(v),
                None => Response::error_with_status(404, "no such private key"),
            },
            "phash" => {
                match stub
                    .get_private_data_hash(&arg(args, 1)?, &arg(args, 2)?)
                    .await
                    .map_err(shim)?
                {
                    Some(h) => Response::ok(hex::encode(h)),
                    None => Response::error_with_status(404, "no such private key"),
                }
            }
            "whoami" => Response::ok(stub.creator().msp_id.clone()),
            "fail" => Response::error_with_status(400, arg(args, 1)?),
            other => Response::error_with_status(400, format!("unknown function {other:?}")),
        })
    }
}

#[async_trait]
impl Contract for KvContract {
    async fn invoke(&self, stub: &ShimStub, args: &[Vec<u8>]) -> Response {
        match self.run(stub, args).await {
            Ok(r) | Err(r) => r,
        }
    }
}
