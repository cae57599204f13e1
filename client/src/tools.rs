//! The traffic ends of a chain: `send` (the source) and `sink` (the destination), as
//! library functions for `sfcbc send` / `sfcbc sink` and the tests.
//!
//! `send` emits `count` datagrams at `rate` per second from the registered source address.
//! Generated payloads start with `sfcbc seq=N t=UNIX_NANOS ` (padded to `size`), so that the
//! sink can report order and latency (same-host clocks). With `hashes`, the SHA-256 of every
//! payload sent is appended to a JSON-lines file: the message ids `TraceMessage` takes. (Hop
//! 1's `hash` validation needs no source record: the chaincode applies only its replay guard
//! at hop 1, so a repeated payload is rejected there as `replay`.)
//!
//! `sink` receives until `count` datagrams arrived, `idle_ms` passed without one, or
//! shutdown; it parses the `|psiid@ts` stamps and checks their number when asked.

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;

use crate::sf::function::{MAX_DATAGRAM, stamps};
use crate::sf::sha256_hex;

/// Why a tool failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0}")]
    Config(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ToolError {
    let what = what.into();
    move |source| ToolError::Io { what, source }
}

/// `sfcbc send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendConfig {
    /// Our address: the source endpoint registered for the chain (hop 1 `address` checks it).
    pub bind: SocketAddr,
    /// Where to send: the classifier or hop 1.
    pub to: String,
    #[serde(default = "one")]
    pub count: u64,
    /// Datagrams per second; 0 = as fast as possible.
    #[serde(default)]
    pub rate: f64,
    /// Payload size in bytes (generated payloads; a given payload is padded or cut to it).
    #[serde(default)]
    pub size: Option<usize>,
    /// A fixed payload (every datagram the same: hop 1 with `hash` sees repeats as replays).
    #[serde(default)]
    pub payload: Option<String>,
    /// Append `{"seq", "sha256", "len"}` per datagram sent to this JSON-lines file.
    #[serde(default)]
    pub hashes: Option<PathBuf>,
}

fn one() -> u64 {
    1
}

/// What `send` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendReport {
    pub sent: u64,
    /// SHA-256 of each payload sent, in order (the source hashes).
    pub hashes: Vec<String>,
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// The generated payload for `seq`: `sfcbc seq=N t=UNIX_NANOS ` padded with `.` to `size`
/// (the header alone when `size` is smaller; nothing when `size` is 0).
pub fn payload_for(seq: u64, size: Option<usize>) -> Vec<u8> {
    if size == Some(0) {
        return Vec::new();
    }
    let mut p = format!("sfcbc seq={seq} t={} ", unix_nanos()).into_bytes();
    if let Some(size) = size
        && size > p.len()
    {
        p.resize(size, b'.');
    }
    p
}

fn parse_header(payload: &[u8]) -> (Option<u64>, Option<u128>) {
    let head = &payload[..payload.len().min(64)];
    let text = String::from_utf8_lossy(head);
    let Some(rest) = text.strip_prefix("sfcbc seq=") else {
        return (None, None);
    };
    let mut parts = rest.split(' ');
    let seq = parts.next().and_then(|s| s.parse().ok());
    let t = parts
        .next()
        .and_then(|s| s.strip_prefix("t="))
        .and_then(|s| s.parse().ok());
    (seq, t)
}

/// Sends per `config` until done or `shutdown`.
pub async fn send(
    config: SendConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<SendReport, ToolError> {
    if let Some(size) = config.size
        && size > MAX_DATAGRAM
    {
        return Err(ToolError::Config(format!(
            "size {size} exceeds the UDP maximum of {MAX_DATAGRAM} bytes"
        )));
    }
    let socket = UdpSocket::bind(config.bind).await.map_err(io(format!(
        "cannot bind the source address {}",
        config.bind
    )))?;
    let to = crate::sf::forward::resolve(&config.to, config.bind.is_ipv4())
        .await
        .map_err(|e| ToolError::Config(e.to_string()))?;
    let mut hashes_file = match &config.hashes {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(io(format!("cannot open {}", p.display())))?,
        ),
        None => None,
    };
    let gap = (config.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / config.rate));
    let start = Instant::now();
    let mut report = SendReport::default();
    tokio::pin!(shutdown);
    for seq in 0..config.count {
        if let Some(gap) = gap {
            let at = start + gap.mul_f64(seq as f64);
            tokio::select! {
                _ = tokio::time::sleep_until(at.into()) => {}
                _ = &mut shutdown => break,
            }
        }
        let payload = match &config.payload {
            Some(p) => {
                let mut p = p.clone().into_bytes();
                if let Some(size) = config.size {
                    p.resize(size, b'.');
                }
                p
            }
            None => payload_for(seq, config.size),
        };
        // `shutdown` is polled before every datagram, at full rate too: it is what installs
        // the signal handlers, and without them SIGTERM killed the sender between a send
        // and its line in the hashes file (a payload sent but never listed).
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            r = socket.send_to(&payload, to) => {
                r.map_err(io(format!("sending to {to}")))?;
            }
        }
        let hash = sha256_hex(&payload);
        if let Some(f) = hashes_file.as_mut() {
            let line = serde_json::json!({"seq": seq, "sha256": hash, "len": payload.len()});
            writeln!(f, "{line}").map_err(io("writing the hashes file"))?;
        }
        report.hashes.push(hash);
        report.sent += 1;
    }
    Ok(report)
}

/// The sink's UDP receive buffer request (as an SF's default `socket_buffer`).
const SINK_BUFFER: usize = 4 << 20;

/// `sfcbc sink`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// The chain's destination address.
    pub listen: SocketAddr,
    /// Stop after this many datagrams.
    #[serde(default)]
    pub count: Option<u64>,
    /// Stop after this long without a datagram (after the first).
    #[serde(default)]
    pub idle_ms: Option<u64>,
    /// Verify that each datagram carries this many `|psiid@ts` stamps.
    #[serde(default)]
    pub expect_stamps: Option<usize>,
    /// Print one line per arrival on stdout.
    #[serde(default)]
    pub print: bool,
}

/// One datagram at the sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arrival {
    pub from: SocketAddr,
    pub len: usize,
    pub sha256: String,
    /// From a generated payload's header.
    pub seq: Option<u64>,
    /// Now minus the header's send time.
    pub latency_us: Option<u64>,
    /// `(psiid, ts)` in hop order.
    pub stamps: Vec<(String, String)>,
    /// False when `expect_stamps` was set and not met.
    pub ok: bool,
    #[serde(skip)]
    pub payload: Vec<u8>,
}

/// What the sink saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SinkReport {
    pub arrivals: Vec<Arrival>,
    /// Arrivals that failed verification.
    pub bad: u64,
}

/// A bound sink (bind first, then run: nothing sent meanwhile is lost).
#[derive(Debug)]
pub struct Sink {
    socket: UdpSocket,
    config: SinkConfig,
}

impl Sink {
    pub async fn bind(config: SinkConfig) -> Result<Sink, ToolError> {
        let socket = UdpSocket::bind(config.listen)
            .await
            .map_err(io(format!("cannot bind the sink on {}", config.listen)))?;
        // Room for the bursts a hop releases when a batch of its records commits.
        if let Err(e) = crate::sf::forward::set_buffers(&socket, SINK_BUFFER) {
            tracing::warn!("cannot enlarge the sink's receive buffer: {e}");
        }
        Ok(Sink { socket, config })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    /// Receives until done (count, idle) or `shutdown`.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> SinkReport {
        let mut report = SinkReport::default();
        let mut buf = vec![0u8; 65_536];
        tokio::pin!(shutdown);
        let idle = self.config.idle_ms.map(Duration::from_millis);
        loop {
            if self
                .config
                .count
                .is_some_and(|c| report.arrivals.len() as u64 >= c)
            {
                break;
            }
            let recv = self.socket.recv_from(&mut buf);
            let r = tokio::select! {
                r = recv => r,
                _ = &mut shutdown => break,
                _ = async {
                    match idle {
                        Some(d) if !report.arrivals.is_empty() => tokio::time::sleep(d).await,
                        _ => std::future::pending().await,
                    }
                } => break,
            };
            let (n, from) = match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("sink receive failed: {e}");
                    continue;
                }
            };
            let payload = buf[..n].to_vec();
            let (seq, t) = parse_header(&payload);
            let latency_us = t.map(|t| (unix_nanos().saturating_sub(t) / 1_000) as u64);
            let stamps = stamps(&payload);
            let ok = self.config.expect_stamps.is_none_or(|k| stamps.len() == k);
            if !ok {
                report.bad += 1;
            }
            let a = Arrival {
                from,
                len: n,
                sha256: sha256_hex(&payload),
                seq,
                latency_us,
                stamps,
                ok,
                payload,
            };
            if self.config.print {
                let stamps: Vec<String> =
                    a.stamps.iter().map(|(p, t)| format!("{p}@{t}")).collect();
                println!(
                    "{} from {} {} B seq={} latency={} stamps=[{}]{}",
                    report.arrivals.len() + 1,
                    a.from,
                    a.len,
                    a.seq.map(|s| s.to_string()).unwrap_or("-".into()),
                    a.latency_us
                        .map(|l| format!("{:.3}ms", l as f64 / 1000.0))
                        .unwrap_or("-".into()),
                    stamps.join(", "),
                    if a.ok { "" } else { " UNEXPECTED" }
                );
            }
            report.arrivals.push(a);
        }
        report
    }
}

/// Binds and runs a sink per `config`.
pub async fn sink(
    config: SinkConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<SinkReport, ToolError> {
    Ok(Sink::bind(config).await?.run(shutdown).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At full rate (no sleep between datagrams) `shutdown` still ends the run, and every
    /// datagram sent, and only those, is in the hashes file.
    #[tokio::test]
    async fn full_rate_send_stops_on_shutdown_and_lists_what_it_sent() {
        let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sent.jsonl");
        let config = SendConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            to: sink.local_addr().unwrap().to_string(),
            count: u64::MAX,
            rate: 0.0,
            size: Some(64),
            payload: None,
            hashes: Some(file.clone()),
        };
        let stop = tokio::time::sleep(Duration::from_millis(200));
        let report = tokio::time::timeout(Duration::from_secs(20), send(config, stop))
            .await
            .expect("send stops when shutdown resolves")
            .unwrap();
        assert!(report.sent > 0 && report.sent < u64::MAX);
        let lines: Vec<String> = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["sha256"].to_string())
            .collect();
        assert_eq!(lines.len() as u64, report.sent);
        assert_eq!(report.hashes.len() as u64, report.sent);
    }

    #[test]
    fn generated_payloads_carry_seq_and_time() {
        let p = payload_for(7, Some(100));
        assert_eq!(p.len(), 100);
        let (seq, t) = parse_header(&p);
        assert_eq!(seq, Some(7));
        assert!(t.is_some());
        assert!(payload_for(1, Some(0)).is_empty());
        assert_eq!(parse_header(b"other"), (None, None));
    }
}
