//! Sending an output on: UDP to the next hop or the chain's destination, from the SF's own
//! listening socket — the address the next hop's `address` validation expects.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Why a datagram could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("cannot resolve next hop address {address}: {reason}")]
    Resolve { address: String, reason: String },
    #[error("sending {len} bytes to {to} failed: {source}")]
    Send {
        to: SocketAddr,
        len: usize,
        #[source]
        source: std::io::Error,
    },
}

/// Resolves `host:port` (or `ip:port`), preferring the socket's address family.
pub async fn resolve(address: &str, ipv4: bool) -> Result<SocketAddr, ForwardError> {
    if let Ok(a) = address.parse::<SocketAddr>() {
        return Ok(a);
    }
    let fail = |reason: String| ForwardError::Resolve {
        address: address.to_string(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(address)
        .await
        .map_err(|e| fail(e.to_string()))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4() == ipv4)
        .or(addrs.first())
        .copied()
        .ok_or_else(|| fail("no addresses".into()))
}

/// Sends `payload` to `address` from `socket`.
pub async fn forward(
    socket: &UdpSocket,
    address: &str,
    payload: &[u8],
) -> Result<SocketAddr, ForwardError> {
    // Ledger addresses are almost always `ip:port`: no `getsockname` per datagram for them.
    let to = match address.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            let ipv4 = socket.local_addr().map(|a| a.is_ipv4()).unwrap_or(true);
            resolve(address, ipv4).await?
        }
    };
    socket
        .send_to(payload, to)
        .await
        .map_err(|source| ForwardError::Send {
            to,
            len: payload.len(),
            source,
        })?;
    Ok(to)
}

/// Asks the kernel for `bytes` of receive and send buffer on `socket`, so that a burst (a
/// batch of records committing releases its datagrams at once) waits in the socket instead
/// of being dropped. Linux caps the request at `net.core.rmem_max` / `wmem_max` (and
/// doubles it for bookkeeping). Returns the receive buffer granted.
pub fn set_buffers(socket: &UdpSocket, bytes: usize) -> std::io::Result<usize> {
    let s = socket2::SockRef::from(socket);
    s.set_recv_buffer_size(bytes)?;
    s.set_send_buffer_size(bytes)?;
    s.recv_buffer_size()
}
