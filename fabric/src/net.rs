//! Networking shared by every gRPC server of the workspace (devnet's peers and orderer, the
//! CCaaS chaincode server).
//!
//! tonic sets `TCP_NODELAY` only on the listeners it binds itself; a server started with
//! `serve_with_incoming*` on a listener of ours gets sockets with Nagle's algorithm on. With
//! the client's delayed ACK, the last frame of every unary response then waits ~40 ms
//! (`sfcbc-bench` measured Endorse at 42 ms against 0.6 ms for Evaluate). [`incoming_nodelay`]
//! is the one place that turns it off.

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::Stream;
use tokio_stream::wrappers::TcpListenerStream;

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

#[cfg(test)]
mod tests {
    use super::incoming_nodelay;
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
}
