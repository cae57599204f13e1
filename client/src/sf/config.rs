//! What an SF operator sets (`sfcbc sf run --config sf.toml`): the hops this SF serves, where
//! it listens, its function, how it batches records and how long it waits, and — for
//! [`super::run`] — how it reaches its peer. Durations are milliseconds (`*_ms`).
//!
//! ```toml
//! listen = "127.0.0.2:9001"          # default: the first hop's registered address
//! metrics = "127.0.0.1:9101"         # /metrics and /healthz; off when absent
//! function = { kind = "name-writer" } # or { kind = "proxy", target = "127.0.0.1:7000" }
//!
//! [[hops]]
//! chain = "chain1"
//! psiid = "Org1:NameWriter:1"
//!
//! [records]
//! batch_size = 1000
//! batch_interval_ms = 20
//!
//! [gateway]
//! msp_id = "Org1MSP"
//! msp_dir = "organizations/peerOrganizations/org1.example.com/users/User1@org1.example.com/msp"
//! endpoint = "localhost:7051"
//! tls_ca = "organizations/peerOrganizations/org1.example.com/tlsca/tlsca.org1.example.com-cert.pem"
//! channel = "sfc-chain1"
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SfError;
use super::function::FunctionConfig;

/// One SF instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfConfig {
    /// The chain hops this instance serves (one, or several chains' hops at one address).
    pub hops: Vec<HopRef>,
    /// The UDP address to bind. Default: the first hop's registered address, which is also
    /// what `address` validation at the next hop expects as our source: we forward from it.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// What the SF does to each accepted datagram.
    #[serde(default)]
    pub function: FunctionConfig,
    /// Where to serve `/metrics` and `/healthz`; no HTTP server when absent.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
    /// UDP receive and send buffer to ask the kernel for (bytes; Linux caps it at
    /// `net.core.rmem_max`): room for the bursts a committing batch releases. 0 keeps the
    /// system default.
    #[serde(default = "default_socket_buffer")]
    pub socket_buffer: usize,
    #[serde(default)]
    pub records: RecordsConfig,
    #[serde(default)]
    pub validation: ValidationConfig,
    /// How [`super::run`] reaches the peer; not needed by `run_with_ledger`.
    #[serde(default)]
    pub gateway: Option<GatewayConfig>,
}

/// A hop of a chain that this SF runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HopRef {
    pub chain: String,
    pub psiid: String,
    /// Source addresses known to belong to this chain at hop 1 (the privately shared source
    /// endpoint), to tell chains apart when one SF serves several; learned from `CheckIn`
    /// otherwise.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The channel, when it differs from the gateway's default (one channel per chain).
    #[serde(default)]
    pub channel: Option<String>,
}

/// Batching, queueing and retrying of `RecordHops` / `RecordError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordsConfig {
    /// Records per `RecordHops` transaction (the chaincode takes 1..=1000).
    pub batch_size: usize,
    /// A batch is submitted at the latest this long after its first record.
    pub batch_interval_ms: u64,
    /// Records and errors waiting to be submitted; a full queue stops the SF reading
    /// datagrams (back-pressure) instead of losing records.
    pub queue_capacity: usize,
    /// Transactions in flight at once.
    pub max_in_flight: usize,
    /// First back-off while the peer is unreachable; doubles up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    /// On shutdown, how long to keep trying to flush; what is left then is written to
    /// `spool` (or counted as lost and logged when there is none).
    pub drain_timeout_ms: u64,
    /// JSON-lines file where unflushed records wait across restarts; re-submitted at start.
    /// While the SF runs it is also a journal of the queued records, so that a crash
    /// (SIGKILL, OOM) loses none of them either; one in flight at the crash may be
    /// submitted twice (see `sf::record`).
    pub spool: Option<PathBuf>,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            batch_interval_ms: 20,
            queue_capacity: 10_000,
            max_in_flight: 8,
            retry_initial_ms: 100,
            retry_max_ms: 5_000,
            drain_timeout_ms: 10_000,
            spool: None,
        }
    }
}

/// Validation timing and caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidationConfig {
    /// How long a datagram waits for the previous hop's `out` record before it is dropped as
    /// `hash-timeout`.
    pub hash_wait_ms: u64,
    /// How long such a datagram first waits for the previous hop's `HopRecorded` event
    /// before it asks `CheckIn` (the previous hop forwards once its own peer committed; ours
    /// usually follows within milliseconds, but lags further behind under load, when a
    /// `CheckIn` would only add to it). Capped by `hash_wait_ms`.
    pub event_wait_ms: u64,
    /// How long a `CheckIn` auth verdict is trusted (credentials change without an event).
    pub auth_ttl_ms: u64,
    /// Recent output hashes of previous hops kept in memory, per hop.
    pub recent_hashes: usize,
    /// Datagrams being validated / processed at once; more wait unread in the socket.
    pub max_in_flight: usize,
    /// Back-off cap when the event stream breaks.
    pub events_retry_max_ms: u64,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            hash_wait_ms: 3_000,
            event_wait_ms: 1_000,
            auth_ttl_ms: 30_000,
            recent_hashes: 100_000,
            max_in_flight: 4096,
            events_retry_max_ms: 5_000,
        }
    }
}

/// A Fabric Gateway connection (DESIGN §2): identity from an MSP folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub msp_id: String,
    /// The MSP folder (`signcerts/`, `keystore/`).
    pub msp_dir: PathBuf,
    /// The gateway peer, `host:port`.
    pub endpoint: String,
    /// The peer's TLS CA (PEM); plain gRPC when absent.
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    /// TLS server name override (e.g. `peer0.org1.example.com` when dialing `localhost`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Default channel for hops that name none.
    pub channel: String,
    /// The SFC chaincode's name.
    #[serde(default = "default_chaincode")]
    pub chaincode: String,
}

fn default_socket_buffer() -> usize {
    4 << 20
}

fn default_chaincode() -> String {
    "sfc".into()
}

impl SfConfig {
    /// Parses TOML.
    pub fn from_toml(text: &str) -> Result<Self, SfError> {
        let config: SfConfig =
            toml::from_str(text).map_err(|e| SfError::Config(format!("bad SF config: {e}")))?;
        config.check()?;
        Ok(config)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &std::path::Path) -> Result<Self, SfError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SfError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    /// A config serving `hops` with defaults everywhere else.
    pub fn new(hops: Vec<HopRef>) -> Self {
        Self {
            hops,
            listen: None,
            function: FunctionConfig::default(),
            metrics: None,
            socket_buffer: default_socket_buffer(),
            records: RecordsConfig::default(),
            validation: ValidationConfig::default(),
            gateway: None,
        }
    }

    /// Settings that cannot work, said before anything starts.
    pub fn check(&self) -> Result<(), SfError> {
        let bad = |m: String| Err(SfError::Config(m));
        if self.hops.is_empty() {
            return bad("`hops` is empty: name at least one chain hop to serve".into());
        }
        for (i, h) in self.hops.iter().enumerate() {
            if self.hops[..i]
                .iter()
                .any(|o| o.chain == h.chain && o.psiid == h.psiid)
            {
                return bad(format!(
                    "hop {} of chain {} is listed twice",
                    h.psiid, h.chain
                ));
            }
        }
        let r = &self.records;
        if r.batch_size == 0 || r.batch_size > 1000 {
            return bad(format!(
                "records.batch_size = {}: RecordHops takes 1..=1000 records",
                r.batch_size
            ));
        }
        let v = &self.validation;
        // Upper bounds keep values that would overflow a semaphore, a deadline or memory
        // from panicking at run time: they are refused here, naming the key.
        let counts = [
            ("records.queue_capacity", r.queue_capacity, MAX_QUEUE),
            ("records.max_in_flight", r.max_in_flight, MAX_TXS_IN_FLIGHT),
            ("validation.max_in_flight", v.max_in_flight, MAX_QUEUE),
            (
                "validation.recent_hashes",
                v.recent_hashes.max(1),
                MAX_QUEUE,
            ),
        ];
        for (key, value, max) in counts {
            if value == 0 || value > max {
                return bad(format!("{key} = {value}: must be 1..={max}"));
            }
        }
        let durations = [
            ("records.batch_interval_ms", r.batch_interval_ms),
            ("records.retry_initial_ms", r.retry_initial_ms),
            ("records.retry_max_ms", r.retry_max_ms),
            ("records.drain_timeout_ms", r.drain_timeout_ms),
            ("validation.hash_wait_ms", v.hash_wait_ms),
            ("validation.event_wait_ms", v.event_wait_ms),
            ("validation.auth_ttl_ms", v.auth_ttl_ms),
            ("validation.events_retry_max_ms", v.events_retry_max_ms),
        ];
        for (key, value) in durations {
            if value > MAX_MS {
                return bad(format!(
                    "{key} = {value}: at most {MAX_MS} (one day, in milliseconds)"
                ));
            }
        }
        self.function.check()
    }
}

/// Upper bound of the queue and in-flight counts (datagrams, records, hashes).
const MAX_QUEUE: usize = 10_000_000;
/// Upper bound of `records.max_in_flight` (transactions at once per SF).
const MAX_TXS_IN_FLIGHT: usize = 1_024;
/// Upper bound of every `*_ms` setting: one day.
pub(crate) const MAX_MS: u64 = 86_400_000;

pub(crate) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_settings_are_refused_naming_the_key() {
        let base = r#"
listen = "127.0.0.2:9001"
[[hops]]
chain = "chain1"
psiid = "Org1:NameWriter:1"
[gateway]
msp_id = "Org1MSP"
msp_dir = "msp"
endpoint = "localhost:7051"
channel = "sfc-chain1"
"#;
        assert!(SfConfig::from_toml(base).unwrap().check().is_ok());
        for (section, line, key) in [
            (
                "validation",
                "max_in_flight = 18446744073709551615",
                "validation.max_in_flight",
            ),
            (
                "validation",
                "max_in_flight = 0",
                "validation.max_in_flight",
            ),
            ("records", "max_in_flight = 100000", "records.max_in_flight"),
            (
                "records",
                "queue_capacity = 18446744073709551615",
                "records.queue_capacity",
            ),
            (
                "records",
                "batch_interval_ms = 18446744073709551615",
                "records.batch_interval_ms",
            ),
            (
                "validation",
                "hash_wait_ms = 86400001",
                "validation.hash_wait_ms",
            ),
            (
                "validation",
                "recent_hashes = 18446744073709551615",
                "validation.recent_hashes",
            ),
        ] {
            let text = format!("{base}\n[{section}]\n{line}\n");
            let e = SfConfig::from_toml(&text).unwrap_err().to_string();
            assert!(e.contains(key), "{line}: {e}");
        }
        let proxy = base.replace(
            "[[hops]]",
            "function = { kind = \"proxy\", target = \"127.0.0.1:7000\", timeout_ms = 18446744073709551615 }\n[[hops]]",
        );
        let e = SfConfig::from_toml(&proxy).unwrap_err().to_string();
        assert!(e.contains("function.timeout_ms"), "{e}");
    }

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
listen = "127.0.0.2:9001"
metrics = "127.0.0.1:9101"
function = { kind = "proxy", target = "127.0.0.1:7000", timeout_ms = 200 }

[[hops]]
chain = "chain1"
psiid = "Org1:NameWriter:1"

[records]
batch_size = 50

[gateway]
msp_id = "Org1MSP"
msp_dir = "msp"
endpoint = "localhost:7051"
channel = "sfc-chain1"
"#;
        let c = SfConfig::from_toml(text).unwrap();
        assert_eq!(c.records.batch_size, 50);
        assert_eq!(c.records.queue_capacity, 10_000);
        assert_eq!(c.gateway.unwrap().chaincode, "sfc");
        assert!(SfConfig::from_toml("hops = []").is_err());
        assert!(
            SfConfig::from_toml("[[hops]]\nchain=\"c\"\npsiid=\"p\"\ntypo=1")
                .unwrap_err()
                .to_string()
                .contains("typo")
        );
    }
}
