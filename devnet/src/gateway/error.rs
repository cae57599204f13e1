//! gRPC errors exactly as Fabric's gateway returns them: a status code, a message, and in the
//! `grpc-status-details-bin` trailer a `google.rpc.Status` whose details are one
//! `gateway.ErrorDetail {address, msp_id, message}` per endpoint that failed.

use prost::Message;
use sfcbc_fabric::protos::gateway::ErrorDetail;
use sfcbc_fabric::protos::protos::ProposalResponse;
use tonic::Code;

/// `google.rpc.Status`: the only message of `google/rpc/status.proto`, defined here so the
/// wire layer needs no googleapis protos.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// The `Any` type URL of `gateway.ErrorDetail`.
pub const ERROR_DETAIL_TYPE_URL: &str = "type.googleapis.com/gateway.ErrorDetail";

/// Fabric's `newRpcError`: `code` and `message`, with `details` attached when there are any.
pub fn rpc_error(code: Code, message: impl Into<String>, details: &[ErrorDetail]) -> tonic::Status {
    let message = message.into();
    if details.is_empty() {
        return tonic::Status::new(code, message);
    }
    let status = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: details
            .iter()
            .map(|d| prost_types::Any {
                type_url: ERROR_DETAIL_TYPE_URL.to_owned(),
                value: d.encode_to_vec(),
            })
            .collect(),
    };
    tonic::Status::with_details(
        code,
        message,
        tonic::codegen::Bytes::from(status.encode_to_vec()),
    )
}

/// The ErrorDetails in a status's `grpc-status-details-bin`, for tests and clients.
pub fn error_details(status: &tonic::Status) -> Vec<ErrorDetail> {
    RpcStatus::decode(status.details())
        .map(|s| {
            s.details
                .iter()
                .filter(|a| a.type_url == ERROR_DETAIL_TYPE_URL)
                .filter_map(|a| ErrorDetail::decode(a.value.as_slice()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// How one endorser's answer classifies (Fabric's `responseStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    pub code: Code,
    pub message: String,
    /// Another peer may succeed.
    pub retry: bool,
}

/// Fabric's `responseStatus` over what an in-process peer answered: `rpc_error` is the error
/// a remote peer's ProcessProposal call would have failed with (then `FAILED_PRECONDITION`,
/// a client error); a status-500 response without payload was made by the peer, not the
/// chaincode (`ABORTED`, retry elsewhere); any other status outside 200–399 is the
/// chaincode's (`UNKNOWN`, "chaincode response N, msg").
pub fn response_status(response: &ProposalResponse, rpc_error: Option<&str>) -> EndpointStatus {
    if let Some(e) = rpc_error {
        return EndpointStatus {
            code: Code::FailedPrecondition,
            message: e.to_owned(),
            retry: false,
        };
    }
    let (status, message) = response
        .response
        .as_ref()
        .map_or((0, ""), |r| (r.status, r.message.as_str()));
    if !(200..400).contains(&status) {
        if response.payload.is_empty() && status == 500 {
            return EndpointStatus {
                code: Code::Aborted,
                message: message.to_owned(),
                retry: true,
            };
        }
        return EndpointStatus {
            code: Code::Unknown,
            message: format!("chaincode response {status}, {message}"),
            retry: false,
        };
    }
    EndpointStatus {
        code: Code::Ok,
        message: String::new(),
        retry: false,
    }
}

/// `gateway.ErrorDetail` for an endpoint.
pub fn error_detail(address: &str, msp_id: &str, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        address: address.to_owned(),
        msp_id: msp_id.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use sfcbc_fabric::protos::protos::Response;

    use super::*;

    fn pr(status: i32, message: &str, payload: &[u8]) -> ProposalResponse {
        ProposalResponse {
            response: Some(Response {
                status,
                message: message.into(),
                payload: Vec::new(),
            }),
            payload: payload.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn details_travel_in_the_status_details() {
        let details = [
            error_detail("127.0.0.1:7051", "Org1MSP", "chaincode response 500, boom"),
            error_detail("127.0.0.1:9051", "Org2MSP", "down"),
        ];
        let status = rpc_error(Code::Aborted, "failed", &details);
        assert_eq!(status.code(), Code::Aborted);
        assert_eq!(status.message(), "failed");
        assert_eq!(error_details(&status), details);
        let decoded = RpcStatus::decode(status.details()).unwrap();
        assert_eq!(decoded.code, Code::Aborted as i32);
        assert_eq!(decoded.details[0].type_url, ERROR_DETAIL_TYPE_URL);
        // no details: no trailer
        assert!(rpc_error(Code::Unavailable, "x", &[]).details().is_empty());
    }

    #[test]
    fn response_status_classifies_as_fabric() {
        let s = response_status(&pr(500, "bad proposal", b""), Some("bad proposal"));
        assert_eq!((s.code, s.retry), (Code::FailedPrecondition, false));
        let s = response_status(&pr(500, "error in simulation: down", b""), None);
        assert_eq!(
            (s.code, s.message.as_str(), s.retry),
            (Code::Aborted, "error in simulation: down", true)
        );
        let s = response_status(&pr(500, "boom", b"payload"), None);
        assert_eq!(
            (s.code, s.message.as_str(), s.retry),
            (Code::Unknown, "chaincode response 500, boom", false)
        );
        let s = response_status(&pr(404, "no such chain", b""), None);
        assert_eq!(
            (s.code, s.message.as_str()),
            (Code::Unknown, "chaincode response 404, no such chain")
        );
        assert_eq!(response_status(&pr(200, "", b"p"), None).code, Code::Ok);
    }
}
