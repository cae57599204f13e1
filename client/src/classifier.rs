//! The classifier (`sfcbc classifier run`): maps flows to chains by rules and steers each
//! datagram to its chain's first hop, from the classifier's registered address (which hop 1's
//! `address` validation accepts: the chain's `classifier` field).
//!
//! A rule matches on any of source prefix (CIDR, `127.0.0.0/24`, or one address), destination
//! port (the local port the datagram arrived on) and payload prefix (text or hex); the first
//! rule that matches wins. Chains' first hops come from the ledger (`GetChain`, refreshed on
//! `ChainUpdated`); a disabled chain's traffic is dropped. Counts per rule are metrics
//! (`sfcbc_classifier_rule_matches{rule}`) and [`Classifier::counts`].
//!
//! ```toml
//! listen = ["127.0.0.9:9000", "127.0.0.9:9001"] # the first is the chains' `classifier`
//! metrics = "127.0.0.1:9109"
//!
//! [[rules]]
//! name = "video"
//! chain = "chain1"
//! payload_prefix = "VIDEO"          # or payload_prefix_hex = "00ff"
//! source_prefix = "10.0.0.0/8"
//! dst_port = 9000
//!
//! [gateway]                          # as in the SF config (the manager's identity)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::{Deserialize, Serialize};
use sfcbc_chaincode::types::{Chain, ChainState};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::sf::config::GatewayConfig;
use crate::sf::ledger::SfLedger;
use crate::sf::metrics::{self, Metrics};
use crate::sf::{SfError, forward};
use crate::sfc::SfcEvent;

/// `sfcbc classifier run --config classifier.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Addresses to receive on; the first is the chains' registered classifier address and
    /// sends everything.
    pub listen: Vec<SocketAddr>,
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
    /// For [`run`]: how to reach the peer (the manager's identity).
    #[serde(default)]
    pub gateway: Option<GatewayConfig>,
}

/// Flows → chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub chain: String,
    /// `ip/len` or `ip`.
    #[serde(default)]
    pub source_prefix: Option<String>,
    #[serde(default)]
    pub dst_port: Option<u16>,
    #[serde(default)]
    pub payload_prefix: Option<String>,
    /// The prefix as hex, for binary payloads.
    #[serde(default)]
    pub payload_prefix_hex: Option<String>,
}

/// A parsed rule.
#[derive(Debug, Clone)]
struct Matcher {
    name: String,
    chain: String,
    source: Option<(IpAddr, u8)>,
    dst_port: Option<u16>,
    prefix: Option<Vec<u8>>,
}

/// `ip/len` or a bare `ip` (its full length).
pub(crate) fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (s, None),
    };
    let ip: IpAddr = ip
        .trim()
        .parse()
        .map_err(|e| format!("source_prefix {s:?}: {e}"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("source_prefix {s:?}: prefix length must be 0..={max}"))?,
        None => max,
    };
    Ok((ip, len))
}

fn in_prefix(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    let ip = match (ip, net) {
        // An IPv4-mapped IPv6 source against an IPv4 prefix.
        (IpAddr::V6(v6), IpAddr::V4(_)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        _ => ip,
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Matcher {
    fn new(r: &Rule) -> Result<Self, String> {
        let prefix = match (&r.payload_prefix, &r.payload_prefix_hex) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "rule {}: give payload_prefix or payload_prefix_hex, not both",
                    r.name
                ));
            }
            (Some(t), None) => Some(t.as_bytes().to_vec()),
            (None, Some(h)) => Some(
                hex::decode(h).map_err(|e| format!("rule {}: payload_prefix_hex: {e}", r.name))?,
            ),
            (None, None) => None,
        };
        Ok(Matcher {
            name: r.name.clone(),
            chain: r.chain.clone(),
            source: r
                .source_prefix
                .as_deref()
                .map(parse_cidr)
                .transpose()
                .map_err(|e| format!("rule {}: {e}", r.name))?,
            dst_port: r.dst_port,
            prefix,
        })
    }

    fn matches(&self, src: SocketAddr, dst_port: u16, payload: &[u8]) -> bool {
        self.source.is_none_or(|p| in_prefix(src.ip(), p))
            && self.dst_port.is_none_or(|p| p == dst_port)
            && self
                .prefix
                .as_deref()
                .is_none_or(|p| payload.starts_with(p))
    }
}

/// Which rule (index) a datagram matches first.
pub fn classify(rules: &[Rule], src: SocketAddr, dst_port: u16, payload: &[u8]) -> Option<usize> {
    rules
        .iter()
        .filter_map(|r| Matcher::new(r).ok())
        .position(|m| m.matches(src, dst_port, payload))
}

impl ClassifierConfig {
    pub fn from_toml(text: &str) -> Result<Self, SfError> {
        let c: ClassifierConfig = toml::from_str(text)
            .map_err(|e| SfError::Config(format!("bad classifier config: {e}")))?;
        c.matchers()?;
        Ok(c)
    }

    fn matchers(&self) -> Result<Vec<Matcher>, SfError> {
        if self.listen.is_empty() {
            return Err(SfError::Config("classifier `listen` is empty".into()));
        }
        for (i, a) in self.listen.iter().enumerate() {
            if self.listen[..i].contains(a) {
                return Err(SfError::Config(format!(
                    "classifier `listen` names {a} twice"
                )));
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            if self.rules[..i].iter().any(|o| o.name == r.name) {
                return Err(SfError::Config(format!(
                    "two rules are named {:?}: rule names label the per-rule counts, so each \
                     must be unique",
                    r.name
                )));
            }
        }
        self.rules
            .iter()
            .map(Matcher::new)
            .collect::<Result<_, _>>()
            .map_err(SfError::Config)
    }
}

struct Shared {
    matchers: Vec<Matcher>,
    /// chain → its current configuration.
    chains: Mutex<HashMap<String, Chain>>,
    ledger: Arc<dyn SfLedger>,
    out: Arc<UdpSocket>,
    metrics: Arc<Metrics>,
    rule_counts: Family<Vec<(String, String)>, Counter>,
}

impl Shared {
    async fn first_hop(&self, chain: &str) -> Result<Option<String>, String> {
        let cached = self
            .chains
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(chain)
            .cloned();
        let c = match cached {
            Some(c) => c,
            None => {
                let c = self
                    .ledger
                    .get_chain(chain)
                    .await
                    .map_err(|e| e.to_string())?;
                self.chains
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(chain.to_string(), c.clone());
                c
            }
        };
        if c.state == ChainState::Disabled {
            return Ok(None);
        }
        Ok(c.hops.first().map(|h| h.address.clone()))
    }
}

/// A running classifier.
pub struct Classifier {
    pub local_addrs: Vec<SocketAddr>,
    pub metrics_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("local_addrs", &self.local_addrs)
            .finish()
    }
}

impl Classifier {
    pub async fn start(
        config: ClassifierConfig,
        ledger: Arc<dyn SfLedger>,
    ) -> Result<Classifier, SfError> {
        let matchers = config.matchers()?;
        let mut m = Metrics::build("sfcbc_classifier");
        let rule_counts = m.register_family("rule_matches", "Datagrams matched, by rule");
        let metrics = Arc::new(m);
        let mut sockets = Vec::new();
        for addr in &config.listen {
            let s = UdpSocket::bind(addr)
                .await
                .map_err(|source| SfError::Bind {
                    addr: *addr,
                    source,
                })?;
            sockets.push(Arc::new(s));
        }
        let local_addrs: Vec<SocketAddr> =
            sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
        let (stop, stop_rx) = watch::channel(false);
        let metrics_addr = match config.metrics {
            Some(addr) => Some(
                metrics::serve(
                    addr,
                    metrics.clone(),
                    crate::sf::ledger_view::stopped(stop_rx.clone()),
                )
                .await
                .map_err(|source| SfError::Metrics { addr, source })?
                .0,
            ),
            None => None,
        };
        let shared = Arc::new(Shared {
            matchers,
            chains: Mutex::new(HashMap::new()),
            ledger,
            out: sockets[0].clone(),
            metrics: metrics.clone(),
            rule_counts,
        });
        // A rule for a chain the ledger does not have (yet) steers nothing until it exists:
        // say so at start rather than only per datagram.
        let mut named: Vec<&str> = shared.matchers.iter().map(|m| m.chain.as_str()).collect();
        named.sort_unstable();
        named.dedup();
        for chain in named {
            if let Err(e) = shared.first_hop(chain).await {
                tracing::warn!(
                    %chain,
                    "a rule names chain {chain}, which cannot be read from the ledger ({e}); its \
                     flows are dropped until it can"
                );
            }
        }
        let mut tasks = JoinSet::new();
        // Chain updates: forget the cached chain; the next datagram re-reads it.
        {
            let shared = shared.clone();
            let mut stop = stop_rx.clone();
            let chains: Vec<String> = shared.matchers.iter().map(|m| m.chain.clone()).collect();
            tasks.spawn(async move {
                loop {
                    match shared.ledger.events(&chains).await {
                        Ok(mut s) => loop {
                            tokio::select! {
                                _ = stop.changed() => return,
                                ev = s.next() => match ev {
                                    Some(Ok(SfcEvent::ChainUpdated(p) | SfcEvent::ChainCreated(p))) => {
                                        shared.chains.lock().unwrap_or_else(|e| e.into_inner()).remove(&p.chain);
                                    }
                                    Some(Ok(_)) => {}
                                    Some(Err(e)) => {
                                        tracing::warn!("classifier event stream: {e}");
                                        shared.chains.lock().unwrap_or_else(|e| e.into_inner()).clear();
                                        if !matches!(e, crate::sf::LedgerError::Lagged(_) | crate::sf::LedgerError::Other(_)) { break; }
                                    }
                                    None => break,
                                }
                            }
                        },
                        Err(e) => tracing::warn!("classifier cannot open events: {e}"),
                    }
                    shared.chains.lock().unwrap_or_else(|e| e.into_inner()).clear();
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            });
        }
        for socket in sockets {
            let shared = shared.clone();
            let mut stop = stop_rx.clone();
            tasks.spawn(async move {
                let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
                let mut buf = vec![0u8; 65_536];
                loop {
                    let (n, src) = tokio::select! {
                        _ = stop.changed() => return,
                        r = socket.recv_from(&mut buf) => match r {
                            Ok(r) => r,
                            Err(e) => { tracing::warn!("classifier receive: {e}"); continue; }
                        },
                    };
                    shared.metrics.received.inc();
                    steer(&shared, &buf[..n], src, port).await;
                }
            });
        }
        metrics
            .ready
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(Classifier {
            local_addrs,
            metrics_addr,
            shared,
            stop,
            tasks,
        })
    }

    /// Datagrams matched per rule name, plus `unmatched`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = self
            .shared
            .matchers
            .iter()
            .map(|m| {
                let n = self
                    .shared
                    .rule_counts
                    .get_or_create(&vec![("rule".to_string(), m.name.clone())])
                    .get();
                (m.name.clone(), n)
            })
            .collect();
        out.insert(
            "unmatched".into(),
            self.shared.metrics.dropped_count("unmatched"),
        );
        out
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn steer(shared: &Shared, payload: &[u8], src: SocketAddr, port: u16) {
    let Some(m) = shared
        .matchers
        .iter()
        .find(|m| m.matches(src, port, payload))
    else {
        shared.metrics.dropped("unmatched");
        return;
    };
    shared
        .rule_counts
        .get_or_create(&vec![("rule".to_string(), m.name.clone())])
        .inc();
    match shared.first_hop(&m.chain).await {
        Ok(Some(addr)) => match forward::forward(&shared.out, &addr, payload).await {
            Ok(_) => {
                shared.metrics.forwarded.inc();
            }
            Err(e) => {
                tracing::warn!(rule = %m.name, "{e}");
                shared.metrics.dropped("forward");
            }
        },
        Ok(None) => shared.metrics.dropped("disabled"),
        Err(e) => {
            tracing::warn!(chain = %m.chain, "cannot read chain: {e}");
            shared.metrics.dropped("ledger");
        }
    }
}

/// Runs a classifier over `ledger` until `shutdown`.
pub async fn run_with_ledger(
    config: ClassifierConfig,
    ledger: Arc<dyn SfLedger>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<BTreeMap<String, u64>, SfError> {
    let c = Classifier::start(config, ledger).await?;
    shutdown.await;
    let counts = c.counts();
    c.shutdown().await;
    Ok(counts)
}

/// Runs a classifier on the gateway of `config.gateway` until `shutdown`; returns the counts.
pub async fn run(
    config: ClassifierConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<BTreeMap<String, u64>, SfError> {
    let g = config
        .gateway
        .clone()
        .ok_or_else(|| SfError::Config("no [gateway] section: say how to reach the peer".into()))?;
    let chains: Vec<(String, Option<String>)> = config
        .rules
        .iter()
        .map(|r| (r.chain.clone(), None))
        .collect();
    let ledger = crate::sf::connect_gateway(&g, chains.iter().map(|(c, ch)| (c, ch))).await?;
    run_with_ledger(config, Arc::new(ledger), shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, chain: &str) -> Rule {
        Rule {
            name: name.into(),
            chain: chain.into(),
            source_prefix: None,
            dst_port: None,
            payload_prefix: None,
            payload_prefix_hex: None,
        }
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = vec![
            Rule {
                source_prefix: Some("10.1.0.0/16".into()),
                ..rule("net", "a")
            },
            Rule {
                dst_port: Some(9000),
                payload_prefix: Some("GET".into()),
                ..rule("port+payload", "b")
            },
            Rule {
                payload_prefix_hex: Some("00ff".into()),
                ..rule("bin", "c")
            },
        ];
        let a: SocketAddr = "10.1.2.3:5".parse().unwrap();
        let b: SocketAddr = "10.2.2.3:5".parse().unwrap();
        assert_eq!(classify(&rules, a, 1, b"x"), Some(0));
        assert_eq!(classify(&rules, b, 9000, b"GET /"), Some(1));
        assert_eq!(classify(&rules, b, 9001, b"GET /"), None);
        assert_eq!(classify(&rules, b, 1, &[0, 0xff, 1]), Some(2));
        assert_eq!(classify(&rules, b, 1, b""), None);
    }

    #[test]
    fn cidr_edges() {
        let p = parse_cidr("127.0.0.0/24").unwrap();
        assert!(in_prefix("127.0.0.200".parse().unwrap(), p));
        assert!(!in_prefix("127.0.1.1".parse().unwrap(), p));
        assert!(in_prefix("::ffff:127.0.0.5".parse().unwrap(), p));
        assert!(in_prefix(
            "8.8.8.8".parse().unwrap(),
            parse_cidr("0.0.0.0/0").unwrap()
        ));
        assert!(in_prefix(
            "::1".parse().unwrap(),
            parse_cidr("::1").unwrap()
        ));
        assert!(parse_cidr("1.2.3.4/33").is_err());
        assert!(parse_cidr("nope").is_err());
    }
}
