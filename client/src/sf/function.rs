//! The service function an SF applies to each accepted datagram. A function is a
//! [`Function`]; [`FunctionConfig`] names the built-in ones. Adding one: a struct implementing
//! [`Function`], a variant in [`FunctionConfig`] and a match arm in [`FunctionConfig::build`].
//!
//! - `name-writer` (the paper's): appends `|{psiid}@{rfc3339 ts}`.
//! - `pass`: forwards the payload unchanged.
//! - `proxy`: hands the datagram to a local UDP network function and forwards its reply.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;

use super::SfError;

/// The largest UDP payload over IPv4 (65,535 − 8 − 20).
pub const MAX_DATAGRAM: usize = 65_507;

/// What a function knows about the datagram besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct FunctionCtx<'a> {
    pub chain: &'a str,
    pub psiid: &'a str,
}

/// Why a function produced no output; the datagram is dropped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FunctionError {
    #[error("output of {len} bytes exceeds the UDP maximum of {MAX_DATAGRAM}")]
    TooBig { len: usize },
    #[error("network function at {target}: {reason}")]
    Proxy { target: SocketAddr, reason: String },
}

/// A service function.
#[async_trait]
pub trait Function: Send + Sync + 'static {
    /// The function's name, for logs and metrics.
    fn name(&self) -> &'static str;
    /// The output for one input payload.
    async fn apply(&self, ctx: FunctionCtx<'_>, payload: Vec<u8>)
    -> Result<Vec<u8>, FunctionError>;
}

/// The built-in functions, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FunctionConfig {
    #[default]
    NameWriter,
    Pass,
    Proxy {
        /// The local network function's UDP address.
        target: SocketAddr,
        /// How long to wait for its reply.
        #[serde(default = "default_proxy_timeout")]
        timeout_ms: u64,
    },
}

fn default_proxy_timeout() -> u64 {
    1_000
}

impl FunctionConfig {
    pub(crate) fn check(&self) -> Result<(), SfError> {
        if let FunctionConfig::Proxy { timeout_ms, .. } = self
            && !(1..=super::config::MAX_MS).contains(timeout_ms)
        {
            return Err(SfError::Config(format!(
                "function.timeout_ms = {timeout_ms}: must be 1..={}",
                super::config::MAX_MS
            )));
        }
        Ok(())
    }

    /// The function.
    pub fn build(&self) -> Arc<dyn Function> {
        match self {
            FunctionConfig::NameWriter => Arc::new(NameWriter),
            FunctionConfig::Pass => Arc::new(Pass),
            FunctionConfig::Proxy { target, timeout_ms } => Arc::new(Proxy {
                target: *target,
                timeout: Duration::from_millis(*timeout_ms),
            }),
        }
    }
}

/// The paper's function: appends `|{psiid}@{timestamp}` (RFC 3339, UTC).
#[derive(Debug, Clone, Copy)]
pub struct NameWriter;

/// The stamp [`NameWriter`] appends.
pub fn stamp(psiid: &str, at: time::OffsetDateTime) -> String {
    let ts = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string());
    format!("|{psiid}@{ts}")
}

/// The `|psiid@ts` stamps at the end of a payload, oldest first (for sinks and tests).
pub fn stamps(payload: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(payload);
    text.split('|')
        .skip(1)
        .filter_map(|s| {
            let (psiid, ts) = s.split_once('@')?;
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
            Some((psiid.to_string(), ts.to_string()))
        })
        .collect()
}

#[async_trait]
impl Function for NameWriter {
    fn name(&self) -> &'static str {
        "name-writer"
    }

    async fn apply(
        &self,
        ctx: FunctionCtx<'_>,
        mut payload: Vec<u8>,
    ) -> Result<Vec<u8>, FunctionError> {
        let s = stamp(ctx.psiid, time::OffsetDateTime::now_utc());
        let len = payload.len() + s.len();
        if len > MAX_DATAGRAM {
            return Err(FunctionError::TooBig { len });
        }
        payload.extend_from_slice(s.as_bytes());
        Ok(payload)
    }
}

/// Forwards the payload unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Pass;

#[async_trait]
impl Function for Pass {
    fn name(&self) -> &'static str {
        "pass"
    }

    async fn apply(&self, _: FunctionCtx<'_>, payload: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
        Ok(payload)
    }
}

/// Sends the datagram to a local UDP network function and takes its reply as the output.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub target: SocketAddr,
    pub timeout: Duration,
}

#[async_trait]
impl Function for Proxy {
    fn name(&self) -> &'static str {
        "proxy"
    }

    async fn apply(&self, _: FunctionCtx<'_>, payload: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
        let fail = |reason: String| FunctionError::Proxy {
            target: self.target,
            reason,
        };
        // A socket per datagram: replies cannot be confused between concurrent requests.
        let bind: SocketAddr = if self.target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind)
            .await
            .map_err(|e| fail(format!("bind: {e}")))?;
        socket
            .connect(self.target)
            .await
            .map_err(|e| fail(format!("connect: {e}")))?;
        socket
            .send(&payload)
            .await
            .map_err(|e| fail(format!("send: {e}")))?;
        let mut buf = vec![0u8; 65_536];
        match tokio::time::timeout(self.timeout, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                buf.truncate(n);
                Ok(buf)
            }
            Ok(Err(e)) => Err(fail(format!("receive: {e}"))),
            Err(_) => Err(fail(format!("no reply within {:?}", self.timeout))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn name_writer_stamps_and_parses_back() {
        let ctx = FunctionCtx {
            chain: "c",
            psiid: "Org1:NameWriter:1",
        };
        let out = NameWriter.apply(ctx, b"hello".to_vec()).await.unwrap();
        let got = stamps(&out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "Org1:NameWriter:1");
        assert!(out.starts_with(b"hello|Org1:NameWriter:1@"));
        let big = vec![b'x'; MAX_DATAGRAM];
        assert!(matches!(
            NameWriter.apply(ctx, big).await,
            Err(FunctionError::TooBig { .. })
        ));
    }

    #[tokio::test]
    async fn proxy_round_trips_and_times_out() {
        let nf = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = nf.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let (n, from) = nf.recv_from(&mut buf).await.unwrap();
            let mut reply = buf[..n].to_ascii_uppercase();
            reply.extend_from_slice(b"!");
            nf.send_to(&reply, from).await.unwrap();
        });
        let p = Proxy {
            target,
            timeout: Duration::from_secs(2),
        };
        let ctx = FunctionCtx {
            chain: "c",
            psiid: "p",
        };
        assert_eq!(p.apply(ctx, b"abc".to_vec()).await.unwrap(), b"ABC!");
        // Nobody answers any more.
        let p = Proxy {
            target,
            timeout: Duration::from_millis(50),
        };
        assert!(p.apply(ctx, b"abc".to_vec()).await.is_err());
    }
}
