//! Networking shared by every gRPC server of the workspace (devnet's peers and orderer, the
//! CCaaS chaincode server).
//!
//! tonic sets `TCP_NODELAY` only on the listeners it binds itself; a server started with
//! `serve_with_incoming*` on a listener of ours gets sockets with Nagle's algorithm on. With
//! the client's delayed ACK, the last frame of every unary response then waits ~40 ms
//! (`sfcbc-bench` measured Endorse at 42 ms against 0.6 ms for Evaluate). [`incoming_nodelay`]
//! is the one place that turns it off.
//!
//! Fabric's nodes run grpc-go, and clients act on its status codes; [`GrpcGoStatusLayer`]
//! (unary calls) and [`as_grpc_go_status`] (streams) give the one tonic status that differs
//! from grpc-go's (a message over the receive limit) grpc-go's code and words.

use std::task::{Context, Poll};

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::Stream;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codegen::{BoxFuture, Service, http};

/// The connections `listener` accepts, each with `TCP_NODELAY` set, for tonic's
/// `serve_with_incoming` / `serve_with_incoming_shutdown`.
///
/// A socket on which the option cannot be set is still served (only slower), so that error is
/// ignored; accept errors pass through for tonic to handle.
pub fn incoming_nodelay(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    tokio_stream::StreamExt::map(TcpListenerStream::new(listener), |conn| {
        if let Ok(stream) = &conn {
            let _ = stream.set_nodelay(true);
        }
        conn
    })
}

/// A tower layer for tonic servers: a request message over the server's receive limit gets
/// `RESOURCE_EXHAUSTED` "grpc: received message larger than max (N vs. M)", as grpc-go (and
/// so a Fabric peer or orderer) answers it, instead of tonic's `OUT_OF_RANGE` "Error, decoded
/// message length too large: found N bytes, the limit is: M bytes". Unary calls carry that
/// status in the response headers, which is where it is rewritten.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcGoStatusLayer;

impl<S> tower_layer::Layer<S> for GrpcGoStatusLayer {
    type Service = GrpcGoStatus<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcGoStatus { inner }
    }
}

/// The service [`GrpcGoStatusLayer`] wraps around a server.
#[derive(Debug, Clone)]
pub struct GrpcGoStatus<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcGoStatus<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            as_grpc_go(response.headers_mut());
            Ok(response)
        })
    }
}

/// gRPC's `OUT_OF_RANGE` and `RESOURCE_EXHAUSTED`.
const OUT_OF_RANGE: &str = "11";
const RESOURCE_EXHAUSTED: &str = "8";

/// The sizes in tonic's over-the-limit message: "Error, decoded message length too large:
/// found N bytes, the limit is: M bytes" (tonic gives it `OUT_OF_RANGE`).
fn over_limit(message: &str) -> Option<(u64, u64)> {
    let (found, limit) = message
        .strip_prefix("Error, decoded message length too large: found ")?
        .strip_suffix(" bytes")?
        .split_once(" bytes, the limit is: ")?;
    Some((found.parse().ok()?, limit.parse().ok()?))
}

fn grpc_go_message(found: u64, limit: u64) -> String {
    format!("grpc: received message larger than max ({found} vs. {limit})")
}

/// `status` as grpc-go would give it: tonic's over-the-limit status becomes
/// `RESOURCE_EXHAUSTED` "grpc: received message larger than max (N vs. M)"; any other is
/// returned as it is. For streaming handlers, which see that status when they read the
/// request stream and, as Fabric's handlers do, end the call with it.
pub fn as_grpc_go_status(status: tonic::Status) -> tonic::Status {
    match over_limit(status.message()) {
        Some((found, limit)) if status.code() == tonic::Code::OutOfRange => {
            tonic::Status::resource_exhausted(grpc_go_message(found, limit))
        }
        _ => status,
    }
}

/// Rewrites tonic's over-the-limit status in `headers` as grpc-go's.
fn as_grpc_go(headers: &mut http::HeaderMap) {
    if headers.get("grpc-status").and_then(|v| v.to_str().ok()) != Some(OUT_OF_RANGE) {
        return;
    }
    let Some((found, limit)) = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .as_deref()
        .and_then(over_limit)
    else {
        return;
    };
    // Spaces percent-encoded, as tonic and grpc-go send them.
    let message = grpc_go_message(found, limit).replace(' ', "%20");
    if let Ok(message) = http::HeaderValue::from_str(&message) {
        headers.insert(
            "grpc-status",
            http::HeaderValue::from_static(RESOURCE_EXHAUSTED),
        );
        headers.insert("grpc-message", message);
    }
}

/// A `grpc-message` header value as text: `%XX` escapes decoded (bytes that do not make
/// UTF-8 are replaced, which only matters for messages this module does not rewrite).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{as_grpc_go, as_grpc_go_status, http, incoming_nodelay, percent_decode};
    use tokio_stream::StreamExt as _;

    #[tokio::test]
    async fn accepted_connections_have_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let mut incoming = Box::pin(incoming_nodelay(listener));
        for _ in 0..2 {
            let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let accepted = incoming
                .next()
                .await
                .expect("stream open")
                .expect("accepted");
            assert!(accepted.nodelay().expect("read TCP_NODELAY"));
            // The client side is untouched: the helper changes the accepted socket only.
            assert!(!client.nodelay().expect("read TCP_NODELAY"));
        }
    }

    fn headers(status: &str, message: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", status.parse().expect("header value"));
        h.insert("grpc-message", message.parse().expect("header value"));
        h
    }

    #[test]
    fn over_the_limit_is_resource_exhausted_as_in_grpc_go() {
        // tonic percent-encodes the spaces of grpc-message.
        let mut h = headers(
            "11",
            &"Error, decoded message length too large: found 104857606 bytes, the limit is: 104857600 bytes"
                .replace(' ', "%20"),
        );
        as_grpc_go(&mut h);
        assert_eq!(h["grpc-status"], "8");
        assert_eq!(
            percent_decode(h["grpc-message"].to_str().expect("ASCII")),
            "grpc: received message larger than max (104857606 vs. 104857600)"
        );
        // Any other status, or another OUT_OF_RANGE, is left as it is.
        for (status, message) in [
            ("11", "block 9 is beyond the height"),
            (
                "3",
                "Error, decoded message length too large: found 5 bytes, the limit is: 4 bytes",
            ),
        ] {
            let before = headers(status, message);
            let mut h = before.clone();
            as_grpc_go(&mut h);
            assert_eq!(h, before);
        }
    }

    #[test]
    fn streaming_handlers_get_grpc_gos_status_too() {
        let tonic_says = tonic::Status::out_of_range(
            "Error, decoded message length too large: found 7 bytes, the limit is: 6 bytes",
        );
        let s = as_grpc_go_status(tonic_says);
        assert_eq!(
            (s.code(), s.message()),
            (
                tonic::Code::ResourceExhausted,
                "grpc: received message larger than max (7 vs. 6)"
            )
        );
        let other = as_grpc_go_status(tonic::Status::out_of_range("seek beyond the height"));
        assert_eq!(
            (other.code(), other.message()),
            (tonic::Code::OutOfRange, "seek beyond the height")
        );
    }
}
