//! Errors with Fabric's own details.
//!
//! A Fabric Gateway peer reports a failed call as a gRPC status whose `grpc-status-details-bin`
//! trailer holds a `google.rpc.Status` with one `gateway.ErrorDetail` per peer or orderer that
//! failed (its address, MSP ID and message). [`GatewayError`] keeps all of it, plus the step
//! of the flow that failed, the endpoint we called and the transaction id, as
//! fabric-gateway's `EndorseError` / `SubmitError` / `CommitStatusError` do. A transaction
//! that was ordered but invalidated is an [`Error::Commit`] with its `TxValidationCode`.

use std::fmt;

use prost::Message;
use sfcbc_fabric::protos::gateway::ErrorDetail;
use sfcbc_fabric::protos::protos::TxValidationCode;

/// `type_url` of a `gateway.ErrorDetail` packed in a `google.protobuf.Any`.
pub const ERROR_DETAIL_TYPE_URL: &str = "type.googleapis.com/gateway.ErrorDetail";

/// `google.rpc.Status`: what gRPC servers put, encoded, in the `grpc-status-details-bin`
/// trailer. Defined here because it is the only message of `google.rpc` we need.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// The gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The status message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details; Fabric's gateway sends `gateway.ErrorDetail`s.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// The `gateway.ErrorDetail`s in an encoded `google.rpc.Status` (the bytes of
/// [`tonic::Status::details`]). Details of other types are skipped; undecodable bytes give
/// none (the status code and message still say what failed).
pub fn parse_error_details(status_details: &[u8]) -> Vec<ErrorDetail> {
    let Ok(status) = RpcStatus::decode(status_details) else {
        return Vec::new();
    };
    status
        .details
        .iter()
        .filter(|any| any.type_url == ERROR_DETAIL_TYPE_URL)
        .filter_map(|any| ErrorDetail::decode(any.value.as_slice()).ok())
        .collect()
}

/// The step of the transaction flow (or the service) a [`GatewayError`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `Gateway.Evaluate`.
    Evaluate,
    /// `Gateway.Endorse`.
    Endorse,
    /// `Gateway.Submit`.
    Submit,
    /// `Gateway.CommitStatus`.
    CommitStatus,
    /// `Gateway.ChaincodeEvents`.
    ChaincodeEvents,
    /// `Deliver.Deliver` / `DeliverFiltered` / `DeliverWithPrivateData`.
    BlockEvents,
}

impl Step {
    /// Lower-case name as in fabric-gateway's messages ("endorse error: ...").
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Evaluate => "evaluate",
            Step::Endorse => "endorse",
            Step::Submit => "submit",
            Step::CommitStatus => "commit status",
            Step::ChaincodeEvents => "chaincode events",
            Step::BlockEvents => "block events",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed gateway or deliver call, with everything Fabric said about it.
#[derive(Clone, Debug)]
pub struct GatewayError {
    /// Which call failed.
    pub step: Step,
    /// The endpoint (gateway peer) we called.
    pub endpoint: String,
    /// The transaction, when the call was about one.
    pub tx_id: Option<String>,
    /// The gRPC status code (`Aborted` for endorsement failures, `DeadlineExceeded` for
    /// time-outs, `Unavailable` when the peer is unreachable...).
    pub code: tonic::Code,
    /// The gRPC status message.
    pub message: String,
    /// One entry per peer or orderer that failed: address, MSP ID and its message.
    pub details: Vec<ErrorDetail>,
}

impl GatewayError {
    /// From a gRPC status, parsing the `gateway.ErrorDetail`s out of its details trailer.
    pub fn from_status(
        step: Step,
        endpoint: impl Into<String>,
        tx_id: Option<String>,
        status: &tonic::Status,
    ) -> Self {
        Self {
            step,
            endpoint: endpoint.into(),
            tx_id,
            code: status.code(),
            message: status.message().to_string(),
            details: parse_error_details(status.details()),
        }
    }

    /// A client-side time-out (the call did not answer within the configured time).
    pub fn timeout(
        step: Step,
        endpoint: impl Into<String>,
        tx_id: Option<String>,
        after: std::time::Duration,
    ) -> Self {
        Self {
            step,
            endpoint: endpoint.into(),
            tx_id,
            code: tonic::Code::DeadlineExceeded,
            message: format!("no answer within {after:?} (client time-out)"),
            details: Vec::new(),
        }
    }

    /// The chaincode's own status and message when the failure is a chaincode error
    /// response: Fabric's gateway words it `chaincode response {status}, {message}` (in the
    /// status message for evaluate, in the details for endorse).
    pub fn chaincode_response(&self) -> Option<(i32, String)> {
        std::iter::once(self.message.as_str())
            .chain(self.details.iter().map(|d| d.message.as_str()))
            .find_map(parse_chaincode_response)
    }
}

/// `… chaincode response 404, chain x does not exist` → `(404, "chain x does not exist")`.
fn parse_chaincode_response(message: &str) -> Option<(i32, String)> {
    const MARK: &str = "chaincode response ";
    let at = message.find(MARK)? + MARK.len();
    let rest = &message[at..];
    let (status, msg) = rest.split_once(", ").unwrap_or((rest, ""));
    Some((status.trim().parse().ok()?, msg.to_string()))
}

impl fmt::Display for GatewayError {
    /// As fabric-gateway's `TransactionError`: the status, then the details one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} error from {}: {:?}: {}",
            self.step, self.endpoint, self.code, self.message
        )?;
        if let Some(tx) = &self.tx_id {
            write!(f, " (transaction {tx})")?;
        }
        if !self.details.is_empty() {
            f.write_str("\nDetails:")?;
            for d in &self.details {
                write!(
                    f,
                    "\n  - Address: {}\n    MspId: {}\n    Message: {}",
                    d.address, d.msp_id, d.message
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for GatewayError {}

/// The name Fabric gives a validation code (`MVCC_READ_CONFLICT`...), or its number.
pub fn validation_code_name(code: i32) -> String {
    TxValidationCode::try_from(code)
        .map(|c| c.as_str_name().to_string())
        .unwrap_or_else(|_| format!("unknown code {code}"))
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A gateway or deliver call failed: see the step, endpoint, code and per-peer details.
    #[error(transparent)]
    Gateway(Box<GatewayError>),

    /// The transaction was ordered into a block but the peers invalidated it.
    #[error(
        "transaction {tx_id} failed to commit in block {block_number} with status code {code} ({})",
        validation_code_name(*code)
    )]
    Commit {
        /// The transaction.
        tx_id: String,
        /// The `TxValidationCode` (e.g. 11 `MVCC_READ_CONFLICT`, 10
        /// `ENDORSEMENT_POLICY_FAILURE`).
        code: i32,
        /// The block it was invalidated in.
        block_number: u64,
    },

    /// Could not open the connection to the gateway peer.
    #[error(
        "cannot connect to the gateway at {endpoint}: {source}; is the peer running and is the TLS setup right?"
    )]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },

    /// The connection settings are unusable (endpoint syntax, TLS material).
    #[error("bad gateway connection settings: {0}")]
    Config(String),

    /// A message needs signing but the gateway was connected without a signer (off-line
    /// signing: sign `message()` yourself and use the `Gateway::new_signed_*` functions).
    #[error("no signer: {0} must be signed off-line (the gateway was connected without a signer)")]
    NoSigner(&'static str),

    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),

    /// A message from the peer (or handed to us for off-line signing) did not decode.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// Which message.
        what: &'static str,
        /// Why.
        reason: String,
    },

    /// Building the proposal failed.
    #[error("cannot build the proposal: {0}")]
    Proposal(#[from] sfcbc_fabric::error::TxError),

    /// A chaincode answer was not the JSON the typed API expects.
    #[error("{function} returned JSON that does not parse as {expected}: {source}")]
    Json {
        /// The transaction function.
        function: &'static str,
        /// The Rust type expected.
        expected: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },

    /// A typed-API argument is wrong before anything is sent.
    #[error("bad argument `{field}`: {reason}")]
    Argument {
        /// Which argument.
        field: &'static str,
        /// Why.
        reason: String,
    },

    /// Reading or writing a checkpoint file failed.
    #[error("checkpoint file {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },

    /// The deliver service ended the stream with a status other than success.
    #[error("deliver from {endpoint} ended with status {status} ({})", status_name(*status))]
    DeliverStatus {
        /// The endpoint.
        endpoint: String,
        /// `common.Status` (403 FORBIDDEN, 404 NOT_FOUND, 503 SERVICE_UNAVAILABLE...).
        status: i32,
    },
}

fn status_name(status: i32) -> &'static str {
    sfcbc_fabric::protos::common::Status::try_from(status)
        .map(|s| s.as_str_name())
        .unwrap_or("unknown")
}

impl Error {
    /// The gateway error, if this is one.
    pub fn gateway(&self) -> Option<&GatewayError> {
        match self {
            Error::Gateway(g) => Some(g),
            _ => None,
        }
    }

    /// The transaction id, when the error is about one transaction.
    pub fn tx_id(&self) -> Option<&str> {
        match self {
            Error::Gateway(g) => g.tx_id.as_deref(),
            Error::Commit { tx_id, .. } => Some(tx_id),
            _ => None,
        }
    }

    /// The per-peer details Fabric attached (empty for other errors).
    pub fn details(&self) -> &[ErrorDetail] {
        match self {
            Error::Gateway(g) => &g.details,
            _ => &[],
        }
    }

    /// The validation code of a transaction that failed to commit.
    pub fn validation_code(&self) -> Option<i32> {
        match self {
            Error::Commit { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The chaincode's status and message when the chaincode refused the proposal (e.g.
    /// `(404, "chain x does not exist")`); see [`GatewayError::chaincode_response`].
    pub fn chaincode_response(&self) -> Option<(i32, String)> {
        self.gateway().and_then(GatewayError::chaincode_response)
    }

    pub(crate) fn decode(what: &'static str, e: impl fmt::Display) -> Self {
        Error::Decode {
            what,
            reason: e.to_string(),
        }
    }
}

impl From<GatewayError> for Error {
    fn from(e: GatewayError) -> Self {
        Error::Gateway(Box::new(e))
    }
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(address: &str, msp: &str, message: &str) -> ErrorDetail {
        ErrorDetail {
            address: address.into(),
            msp_id: msp.into(),
            message: message.into(),
        }
    }

    fn any(type_url: &str, value: Vec<u8>) -> prost_types::Any {
        prost_types::Any {
            type_url: type_url.into(),
            value,
        }
    }

    #[test]
    fn parses_gateway_error_details_from_status_trailer() {
        let details = vec![
            detail(
                "peer0.org1.example.com:7051",
                "Org1MSP",
                "chaincode response 500, key x does not exist",
            ),
            detail("peer0.org2.example.com:9051", "Org2MSP", "unavailable"),
        ];
        let st = RpcStatus {
            code: tonic::Code::Aborted as i32,
            message: "failed to endorse transaction, see attached details for more info".into(),
            details: details
                .iter()
                .map(|d| any(ERROR_DETAIL_TYPE_URL, d.encode_to_vec()))
                .chain(std::iter::once(any(
                    "type.googleapis.com/google.rpc.DebugInfo",
                    vec![1, 2, 3],
                )))
                .collect(),
        };
        let status = tonic::Status::with_details(
            tonic::Code::Aborted,
            st.message.clone(),
            st.encode_to_vec().into(),
        );
        let e =
            GatewayError::from_status(Step::Endorse, "127.0.0.1:7051", Some("tx1".into()), &status);
        assert_eq!(e.details, details, "the DebugInfo detail is skipped");
        assert_eq!(e.code, tonic::Code::Aborted);
        assert_eq!(
            e.chaincode_response(),
            Some((500, "key x does not exist".into()))
        );
        let text = Error::from(e.clone()).to_string();
        assert!(text.starts_with("endorse error from 127.0.0.1:7051: Aborted: failed to endorse"));
        assert!(text.contains("(transaction tx1)"));
        assert!(text.contains("\n  - Address: peer0.org2.example.com:9051\n    MspId: Org2MSP\n    Message: unavailable"));
        let err = Error::from(e);
        assert_eq!(err.tx_id(), Some("tx1"));
        assert_eq!(err.details().len(), 2);
    }

    #[test]
    fn status_trailer_survives_the_grpc_header_round_trip() {
        // What tonic does with a server's trailer: base64 in grpc-status-details-bin.
        let st = RpcStatus {
            code: 10,
            message: "m".into(),
            details: vec![any(
                ERROR_DETAIL_TYPE_URL,
                detail("a:1", "M", "x").encode_to_vec(),
            )],
        };
        let sent =
            tonic::Status::with_details(tonic::Code::Aborted, "m", st.encode_to_vec().into());
        let mut headers = http::HeaderMap::new();
        sent.add_header(&mut headers).unwrap();
        assert!(headers.contains_key("grpc-status-details-bin"));
        let got = tonic::Status::from_header_map(&headers).unwrap();
        assert_eq!(
            parse_error_details(got.details()),
            vec![detail("a:1", "M", "x")]
        );
    }

    #[test]
    fn bad_or_missing_details_give_none() {
        assert!(parse_error_details(&[]).is_empty());
        assert!(parse_error_details(&[0xff, 0xff, 0xff]).is_empty());
        let st = RpcStatus {
            code: 2,
            message: String::new(),
            details: vec![any(ERROR_DETAIL_TYPE_URL, vec![0xff])],
        };
        assert!(parse_error_details(&st.encode_to_vec()).is_empty());
        let plain = tonic::Status::unavailable("connection refused");
        let e = GatewayError::from_status(Step::Evaluate, "x:1", None, &plain);
        assert!(e.details.is_empty());
        assert_eq!(e.chaincode_response(), None);
        assert!(!Error::from(e).to_string().contains("Details"));
    }

    #[test]
    fn chaincode_response_from_the_evaluate_message() {
        let status = tonic::Status::unknown(
            "evaluate call to endorser returned error: chaincode response 404, chain c1 does not exist",
        );
        let e = GatewayError::from_status(Step::Evaluate, "x:1", None, &status);
        assert_eq!(
            e.chaincode_response(),
            Some((404, "chain c1 does not exist".into()))
        );
        assert_eq!(
            parse_chaincode_response("chaincode response 200"),
            Some((200, String::new()))
        );
        assert_eq!(parse_chaincode_response("chaincode response x, y"), None);
    }

    #[test]
    fn commit_error_names_the_validation_code() {
        let e = Error::Commit {
            tx_id: "t".into(),
            code: TxValidationCode::MvccReadConflict as i32,
            block_number: 7,
        };
        assert_eq!(
            e.to_string(),
            "transaction t failed to commit in block 7 with status code 11 (MVCC_READ_CONFLICT)"
        );
        assert_eq!(e.validation_code(), Some(11));
        assert_eq!(validation_code_name(9999), "unknown code 9999");
    }
}
