//! `sfcbc-bench dataplane`: messages/s and per-hop latency through a 3-hop SF chain per
//! validation policy, against a plain UDP relay chain measured in the same run.
//!
//! Set-up: a devnet (Org1–3 SPs, Tenant1 owner; TLS) running the SFC chaincode over CCaaS.
//! Per policy, Tenant1's User1 creates a chain whose three hops (Org1..Org3 `NameWriter`)
//! all use that policy, each SP registers the account and gets the credential and
//! endpoints privately (as `sfcbc demo` does), and three SFs (`sfcbc_client::sf`, each as
//! its SP's User1 through its own peer's gateway, records batched as configured by default)
//! listen on 127.0.0.2, .3 and .4. The relay chain uses the same three addresses (other
//! ports) and applies the same function (the name-writer stamp), but checks nothing and
//! records nothing.
//!
//! Load: the source (127.0.0.10, the address shared with hop 1) keeps `window` datagrams in
//! flight (closed loop; a datagram not at the sink after `loss_timeout` counts as dropped
//! and frees its slot); payloads are `sfcbc seq=N t=UNIX_NANOS` padded to `size` bytes.
//! `msgs_per_s` = delivered / (last delivery − first send). Per-hop latency: the gaps
//! between the stamps each hop writes (hop 1 from the send time in the payload), so it
//! holds the transit from the previous hop, this hop's checks and its function — and,
//! when this hop validates by hash, the previous hop's wait for its record to commit
//! (commit-before-forward). `ratio = msgs_per_s / relay_msgs_per_s`, both from the same
//! policy's pass; `relay_msgs_per_s` is the mean of a relay throughput pass before and one
//! after the SF chain's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use serde::Serialize;
use sfcbc_chaincode::types::{Chain, ChainSpec, Endpoint, Hop, Validation};
use sfcbc_client::SfcContract;
use sfcbc_client::sf::function::{stamp, stamps};
use sfcbc_client::sf::{self, FunctionConfig, HopRef, RecordsConfig, Sf, SfConfig};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::machine::Machine;
pub use crate::placement::{Placement, SplitCpus};
use crate::setup::{BenchNet, NetworkInfo};
use crate::stats::{Summary, round1, round3};
use crate::ui::{Ui, table};

const CHANNEL: &str = "sfc-bench";
const CHAINCODE: &str = "sfc";
const ACCOUNT: &str = "user1";
const SECRET: &[u8] = b"bench user's secret";
const SPS: [&str; 3] = ["Org1", "Org2", "Org3"];
const HOP_IPS: [&str; 3] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const SOURCE_IP: &str = "127.0.0.10";
const SINK_IP: &str = "127.0.0.11";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Measured messages per pass (relay and SF chain each).
    pub messages: u64,
    /// Unmeasured messages first, per pass (chain loading, connections, caches).
    pub warmup: u64,
    /// Datagrams in flight for the relay and the `none` / `address` chains: enough to
    /// saturate them, few enough (× ~1 KiB of kernel buffer each) not to overflow a
    /// default 208 KiB UDP receive buffer when one hop stalls.
    pub window: usize,
    /// Datagrams in flight for `hash` / `hash+address` chains, whose latency is dominated
    /// by waiting for record commits (the datagrams wait inside the SFs, not in socket
    /// buffers): throughput there is window / latency, so a small window would measure
    /// the window, not the SFs. At most the SF's `validation.max_in_flight` (4096).
    pub hash_window: usize,
    /// Payload bytes at the source.
    pub size: usize,
    pub policies: Vec<Validation>,
    /// A datagram not delivered within this is counted as dropped.
    pub loss_timeout: Duration,
    /// The throughput pass stops sending after this long (then drains for at most
    /// `loss_timeout`; what is missing then counts as dropped).
    pub max_pass: Duration,
    /// The latency pass: one datagram at a time (no queueing), this many at most...
    pub latency_messages: u64,
    /// ...and for this long at most.
    pub latency_time: Duration,
    pub batch_timeout: Duration,
    /// `Some` under [`Placement::Split`] (the caller built the runtimes): where the devnet
    /// goes. `None`: everything on the current runtime ([`Placement::Shared`]).
    pub split: Option<SplitSide>,
    /// Each SF gets a spool file, so it journals every record before forwarding.
    pub spool: bool,
}

/// The ledger's side of a `split` run.
#[derive(Debug, Clone)]
pub struct SplitSide {
    /// The runtime on the ledger's CPUs: the devnet is started there, so its servers,
    /// commit loops and chaincode stay there.
    pub ledger: tokio::runtime::Handle,
    pub cpus: SplitCpus,
}

impl Options {
    /// The default run: ≈ 3 minutes in all.
    pub fn standard() -> Options {
        Options {
            // Enough for the throughput pass to run its full `max_pass` on every chain (the
            // relay's ~100 000 msgs/s included), so that it measures the rate the records
            // sustain, not a burst into the SFs' record queues.
            messages: 1_000_000,
            warmup: 200,
            window: 128,
            hash_window: 2048,
            size: 64,
            policies: vec![
                Validation::None,
                Validation::Address,
                Validation::Hash,
                Validation::HashAddress,
            ],
            loss_timeout: Duration::from_secs(5),
            max_pass: Duration::from_secs(8),
            latency_messages: 300,
            latency_time: Duration::from_secs(5),
            batch_timeout: Duration::from_millis(50),
            split: None,
            spool: false,
        }
    }

    /// A few seconds: proves the harness works (tests, CI).
    pub fn quick() -> Options {
        Options {
            messages: 100,
            warmup: 10,
            window: 16,
            hash_window: 64,
            max_pass: Duration::from_secs(3),
            latency_messages: 10,
            latency_time: Duration::from_secs(2),
            ..Options::standard()
        }
    }
}

/// One policy, exactly the shape.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub policy: String,
    pub msgs_per_s: f64,
    pub relay_msgs_per_s: f64,
    pub ratio: f64,
    pub hop_p50_ms: f64,
    pub hop_p99_ms: f64,
    pub dropped: u64,
}

/// The relay passes next to each run, and what the SFs said.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub policy: String,
    /// Datagrams in flight in the throughput pass.
    pub window: usize,
    /// Per-hop latency of the relay chain, one datagram at a time.
    pub relay_hop_p50_ms: f64,
    pub relay_hop_p99_ms: f64,
    /// hop_p50_ms − relay_hop_p50_ms: what the checks and records add per hop.
    pub added_hop_p50_ms: f64,
    /// Latency pass, p50 per hop (hop 1 first): under hash, hops 2 and 3 hold the previous
    /// hop's wait for its record to commit.
    pub per_hop_p50_ms: Vec<f64>,
    pub per_hop_p99_ms: Vec<f64>,
    /// Per-hop latency during the throughput pass (queueing included).
    pub loaded_hop_p50_ms: f64,
    pub loaded_hop_p99_ms: f64,
    /// Source to sink, one datagram at a time.
    pub end_to_end_p50_ms: f64,
    pub end_to_end_p99_ms: f64,
    pub relay_end_to_end_p50_ms: f64,
    /// none / address: msgs/s over fewer datagrams (40 %) than an SF's record queue holds,
    /// i.e. before the records' commit rate holds the data path back (`msgs_per_s` is the
    /// sustained rate, records keeping up); and its ratio to the relay.
    pub burst_msgs_per_s: Option<f64>,
    pub burst_ratio: Option<f64>,
    pub throughput_pass: PassCounts,
    pub latency_pass: PassCounts,
    /// The relay's throughput passes before and after the SF chain's (`relay_msgs_per_s`
    /// is their mean).
    pub relay_throughput_pass: PassCounts,
    pub relay_throughput_pass_after: PassCounts,
    pub relay_latency_pass: PassCounts,
    /// Per SF: counters, drops by reason, mean ledger call latency, records.
    pub sfs: Vec<SfCounts>,
}

/// What one pass sent and got.
#[derive(Debug, Clone, Serialize)]
pub struct PassCounts {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub msgs_per_s: f64,
}

impl PassCounts {
    fn of(p: &Pass) -> PassCounts {
        PassCounts {
            sent: p.sent,
            delivered: p.delivered,
            dropped: p.dropped,
            msgs_per_s: round1(p.msgs_per_s),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SfCounts {
    pub psiid: String,
    pub received: u64,
    pub forwarded: u64,
    /// Datagrams the SF dropped, by reason (from its metrics).
    pub dropped: std::collections::BTreeMap<String, u64>,
    /// Mean latency of its ledger calls (CheckIn, RecordHops...), ms.
    pub ledger_mean_ms: std::collections::BTreeMap<String, f64>,
    /// Mean validation time by policy, ms.
    pub validation_mean_ms: std::collections::BTreeMap<String, f64>,
    /// What became of its hop and error records (committed, replayed, refused, lost...).
    pub records: sfcbc_client::sf::RecordReport,
}

/// `sfcbc_sf_dropped_total{reason="hash"} 3` lines of an SF's Prometheus text.
fn drop_reasons(metrics_text: &str) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for line in metrics_text.lines() {
        let Some(rest) = line.strip_prefix("sfcbc_sf_dropped") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Some(reason) = labels
            .split("reason=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        if let Ok(v) = value.trim().parse::<f64>()
            && v > 0.0
        {
            *out.entry(reason.to_owned()).or_default() += v as u64;
        }
    }
    out
}

/// `target/bench/dataplane.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub runs: Vec<Run>,
    pub machine: Machine,
    /// `devnet`: the SFs talk to a devnet through its gateways; `local`: the SF runtime's
    /// in-memory ledger.
    pub ledger: String,
    /// `shared`: everything on every CPU; `split`: data plane and ledger on CPUs of their
    /// own (`placement.rs`).
    pub placement: Placement,
    /// Under `split`, which CPUs each side had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_cpus: Option<SplitCpus>,
    pub details: Vec<Detail>,
    pub network: NetworkInfo,
    pub load: LoadInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadInfo {
    pub messages: u64,
    pub warmup: u64,
    pub window: usize,
    pub hash_window: usize,
    pub size: usize,
    pub loss_timeout_ms: u64,
    pub records_batch_size: usize,
    pub records_batch_interval_ms: u64,
    /// The SFs journaled their records in a spool file (`--spool`).
    pub spool: bool,
}

fn unix_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn payload(size: usize) -> (u64, Vec<u8>) {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut p = format!("sfcbc seq={seq} t={} ", unix_nanos()).into_bytes();
    if p.len() < size {
        p.resize(size, b'.');
    }
    (seq, p)
}

/// (seq, send time in Unix nanoseconds) from a payload's header.
fn header(payload: &[u8]) -> Option<(u64, i128)> {
    let head = std::str::from_utf8(&payload[..payload.len().min(64)]).ok()?;
    let rest = head.strip_prefix("sfcbc seq=")?;
    let mut parts = rest.split(' ');
    let seq = parts.next()?.parse().ok()?;
    let t = parts.next()?.strip_prefix("t=")?.parse().ok()?;
    Some((seq, t))
}

/// Per-hop gaps (ms) between the send time and the stamps, in hop order.
fn hop_gaps(sent_nanos: i128, payload: &[u8]) -> Vec<f64> {
    let mut prev = sent_nanos;
    let mut out = Vec::new();
    for (_, ts) in stamps(payload) {
        let Ok(t) =
            time::OffsetDateTime::parse(&ts, &time::format_description::well_known::Rfc3339)
        else {
            continue;
        };
        let t = t.unix_timestamp_nanos();
        out.push((t - prev) as f64 / 1e6);
        prev = t;
    }
    out
}

/// What one pass measured.
#[derive(Debug, Default)]
struct Pass {
    sent: u64,
    delivered: u64,
    dropped: u64,
    msgs_per_s: f64,
    hop_ms: Vec<f64>,
    /// The same gaps by hop (index 0 = hop 1).
    by_hop_ms: Vec<Vec<f64>>,
    e2e_ms: Vec<f64>,
}

/// A datagram on its way: when it was sent, and whether it already gave its window slot
/// back (overdue: not at the sink within `loss_timeout`, but it may still arrive).
type InFlight = HashMap<u64, (Instant, bool)>;

/// Drives `messages` datagrams from `source` to `first_hop`, `window` in flight, and
/// collects what reaches `sink`. A datagram still missing `loss_timeout` after it was sent
/// frees its window slot (the load goes on) but counts as delivered if it arrives before
/// the pass ends; the pass ends when every datagram is accounted for, or `max_pass` after
/// it began (sending stops) plus at most `loss_timeout` of draining.
async fn drive(
    ui: &Ui,
    label: &str,
    source: &Arc<UdpSocket>,
    sink: &Arc<UdpSocket>,
    first_hop: SocketAddr,
    (messages, window, max_pass): (u64, usize, Duration),
    opts: &Options,
) -> Pass {
    let in_flight: Arc<Mutex<InFlight>> = Arc::default();
    let window = Arc::new(Semaphore::new(window));
    // The count or the time cap, whichever comes first, ends the pass: the bar says both.
    let pb = ui.bar(
        messages,
        format!("{label} (stops after {} s)", max_pass.as_secs()),
    );
    let started = Instant::now();
    let send_until = started + max_pass;
    let sender = {
        let (in_flight, window, source, size) =
            (in_flight.clone(), window.clone(), source.clone(), opts.size);
        tokio::spawn(async move {
            let mut sent = 0u64;
            let mut first = None;
            for _ in 0..messages {
                let Ok(Ok(permit)) =
                    tokio::time::timeout_at(send_until.into(), window.acquire()).await
                else {
                    break;
                };
                permit.forget();
                let (seq, p) = payload(size);
                let now = Instant::now();
                first.get_or_insert(now);
                in_flight.lock().expect("lock").insert(seq, (now, false));
                if source.send_to(&p, first_hop).await.is_ok() {
                    sent += 1;
                } else {
                    in_flight.lock().expect("lock").remove(&seq);
                    window.add_permits(1);
                }
            }
            (sent, first.unwrap_or(started))
        })
    };
    let reaper = {
        let (in_flight, window, timeout) = (in_flight.clone(), window.clone(), opts.loss_timeout);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let now = Instant::now();
                let mut freed = 0;
                for (t, overdue) in in_flight.lock().expect("lock").values_mut() {
                    if !*overdue && now.duration_since(*t) >= timeout {
                        *overdue = true;
                        freed += 1;
                    }
                }
                if freed > 0 {
                    window.add_permits(freed);
                }
            }
        })
    };
    let mut pass = Pass::default();
    let mut last = started;
    let mut buf = vec![0u8; 65_536];
    let mut drain_until: Option<Instant> = None;
    loop {
        if sender.is_finished() {
            if in_flight.lock().expect("lock").is_empty() {
                break;
            }
            let until = *drain_until.get_or_insert_with(|| {
                (Instant::now() + opts.loss_timeout).min(send_until + opts.loss_timeout)
            });
            if Instant::now() >= until {
                break;
            }
        }
        let r = tokio::time::timeout(Duration::from_millis(50), sink.recv_from(&mut buf)).await;
        let Ok(Ok((n, _))) = r else { continue };
        let now = Instant::now();
        let now_nanos = unix_nanos();
        let p = &buf[..n];
        let Some((seq, t)) = header(p) else { continue };
        let Some((_, overdue)) = in_flight.lock().expect("lock").remove(&seq) else {
            continue; // from an earlier pass
        };
        if !overdue {
            window.add_permits(1);
        }
        pass.delivered += 1;
        pb.inc(1);
        last = now;
        for (i, g) in hop_gaps(t, p).into_iter().enumerate() {
            if pass.by_hop_ms.len() <= i {
                pass.by_hop_ms.push(Vec::new());
            }
            pass.by_hop_ms[i].push(g);
            pass.hop_ms.push(g);
        }
        pass.e2e_ms.push((now_nanos - t) as f64 / 1e6);
    }
    reaper.abort();
    let (sent, first) = sender.await.unwrap_or((0, started));
    pb.finish_and_clear();
    pass.sent = sent;
    pass.dropped = sent.saturating_sub(pass.delivered);
    let span = last.saturating_duration_since(first).as_secs_f64();
    pass.msgs_per_s = if span > 0.0 {
        pass.delivered as f64 / span
    } else {
        0.0
    };
    // Stragglers must not leak into the next pass's figures (they are ignored there too).
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(20), sink.recv_from(&mut buf)).await
    {}
    pass
}

/// A UDP socket with the buffers an SF asks for (`SfConfig::socket_buffer`), so that the
/// source, the sink and the relay hops queue bursts exactly as the SFs do.
async fn bind(addr: SocketAddr) -> anyhow::Result<UdpSocket> {
    let s = UdpSocket::bind(addr)
        .await
        .with_context(|| format!("cannot bind UDP {addr}"))?;
    sf::forward::set_buffers(&s, SfConfig::new(Vec::new()).socket_buffer)
        .with_context(|| format!("UDP buffers on {addr}"))?;
    Ok(s)
}

/// A free UDP address on `ip`.
fn free_udp(ip: &str) -> anyhow::Result<SocketAddr> {
    let s = std::net::UdpSocket::bind(format!("{ip}:0"))
        .with_context(|| format!("cannot bind UDP on {ip}: is 127.0.0.0/8 routed to lo?"))?;
    Ok(s.local_addr()?)
}

/// The plain relay chain: three sockets, each stamps and forwards, nothing else.
struct Relay {
    first: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn start(psiids: &[String], sink: SocketAddr) -> anyhow::Result<Relay> {
        let mut sockets = Vec::new();
        for ip in HOP_IPS {
            sockets.push(bind(format!("{ip}:0").parse()?).await?);
        }
        let addrs: Vec<SocketAddr> = sockets
            .iter()
            .map(|s| s.local_addr())
            .collect::<Result<_, _>>()?;
        let mut tasks = Vec::new();
        for (i, socket) in sockets.into_iter().enumerate() {
            let next = addrs.get(i + 1).copied().unwrap_or(sink);
            let psiid = psiids[i].clone();
            tasks.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                while let Ok((n, _)) = socket.recv_from(&mut buf).await {
                    let mut out = buf[..n].to_vec();
                    out.extend_from_slice(
                        stamp(&psiid, time::OffsetDateTime::now_utc()).as_bytes(),
                    );
                    let _ = socket.send_to(&out, next).await;
                }
            }));
        }
        Ok(Relay {
            first: addrs[0],
            tasks,
        })
    }

    fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

/// The network, the owner and the SPs' admins.
struct Plane {
    net: BenchNet,
    owner: SfcContract,
    /// Where the SFs' spool files go (`--spool`).
    spool_dir: Option<tempfile::TempDir>,
}

impl Plane {
    async fn start(opts: &Options) -> anyhow::Result<Plane> {
        let net = match &opts.split {
            // Everything the devnet spawns (servers, commit loops, chaincode) runs there.
            Some(SplitSide { ledger, .. }) => ledger
                .spawn(Self::start_net(opts.batch_timeout))
                .await
                .context("the devnet's start-up task failed")??,
            None => Self::start_net(opts.batch_timeout).await?,
        };
        let owner_gw = net.gateway("Tenant1", "User1").await?;
        let owner = SfcContract::new(owner_gw.network(CHANNEL).contract(CHAINCODE));
        for sp in SPS {
            let g = net.gateway(sp, "Admin").await?;
            SfcContract::new(g.network(CHANNEL).contract(CHAINCODE))
                .register_account(ACCOUNT, SECRET)
                .await
                .with_context(|| format!("RegisterAccount at {sp}"))?;
        }
        let spool_dir = if opts.spool {
            Some(tempfile::tempdir().context("a folder for the SFs' spool files")?)
        } else {
            None
        };
        Ok(Plane {
            net,
            owner,
            spool_dir,
        })
    }

    /// The devnet with the SFC chaincode committed on the bench channel.
    async fn start_net(batch_timeout: Duration) -> anyhow::Result<BenchNet> {
        let mut net = BenchNet::start(&["Org1", "Org2", "Org3", "Tenant1"], batch_timeout).await?;
        let id = net
            .serve_chaincode(
                "sfcbc_1.0",
                Arc::new(sfcbc_ccaas::SfcContract::new(
                    sfcbc_chaincode::Config::default(),
                )),
            )
            .await?;
        let policy = "OR('Org1MSP.peer','Org2MSP.peer','Org3MSP.peer','Tenant1MSP.peer')";
        net.channel(CHANNEL, &[(CHAINCODE, &id, policy)]).await?;
        Ok(net)
    }

    /// Creates the chain for `policy` and shares credentials and endpoints, privately,
    /// through each SP's own gateway.
    async fn chain(
        &self,
        policy: Validation,
        source: SocketAddr,
        sink: SocketAddr,
    ) -> anyhow::Result<Chain> {
        let id = format!("bench-{}", policy.as_str().replace('+', "-"));
        let mut hops = Vec::new();
        for (i, sp) in SPS.iter().enumerate() {
            hops.push(Hop {
                psiid: format!("{sp}:NameWriter:1"),
                sp_msp: format!("{sp}MSP"),
                address: free_udp(HOP_IPS[i])?.to_string(),
                validation: policy,
                collection: None,
            });
        }
        let spec = ChainSpec {
            id: id.clone(),
            hops,
            classifier: None,
        };
        let chain = self
            .owner
            .create_chain(&spec)
            .await
            .with_context(|| format!("CreateChain {id}"))?;
        // Each SP's gateway endorses on its own peer: wait until every peer has the chain.
        self.settle().await?;
        let tenant = self.net.network.peer("Tenant1").context("Tenant1")?;
        for (i, sp) in SPS.iter().enumerate() {
            // The owner's identity through the SP's gateway (only the SP sees the secret).
            let p = self.net.network.peer(sp).context("SP peer")?;
            let signer = tenant.org.user_signer("User1")?;
            let tls = sfcbc_client::TlsOptions::with_ca_pem(p.org.tls_ca_pem()?)
                .server_name(p.server_name());
            let g = sfcbc_client::Gateway::connect(
                signer.identity().clone(),
                signer,
                &p.address.to_string(),
                self.net.network.tls().then_some(tls),
            )
            .await?;
            let via = SfcContract::new(g.network(CHANNEL).contract(CHAINCODE));
            let psiid = &chain.hops[i].psiid;
            via.share_auth(&chain, psiid, ACCOUNT, SECRET)
                .await
                .with_context(|| format!("ShareAuth {psiid}"))?;
            let ep = match i {
                0 => Some(Endpoint {
                    source: Some(source.to_string()),
                    destination: None,
                }),
                2 => Some(Endpoint {
                    source: None,
                    destination: Some(sink.to_string()),
                }),
                _ => None,
            };
            if let Some(ep) = ep {
                via.share_endpoints(&chain, psiid, &ep)
                    .await
                    .with_context(|| format!("ShareEndpoints {psiid}"))?;
            }
        }
        self.settle().await?;
        Ok(chain)
    }

    /// Waits until every peer has the blocks the owner's (Tenant1's) peer has.
    async fn settle(&self) -> anyhow::Result<()> {
        let p = self.net.network.peer("Tenant1").context("Tenant1")?;
        let ch = p.peer.channel(CHANNEL).context("channel")?;
        let height = ch.ledger.height()?;
        self.net.network.wait_for_height(CHANNEL, height).await?;
        Ok(())
    }

    /// The three SFs of `chain`, each as its SP's User1 through its own peer.
    async fn sfs(&self, chain: &Chain) -> anyhow::Result<Vec<Sf>> {
        let mut sfs = Vec::new();
        for (i, sp) in SPS.iter().enumerate() {
            let g = self.net.gateway_config(sp, CHANNEL, CHAINCODE)?;
            let hop = HopRef {
                chain: chain.id.clone(),
                psiid: chain.hops[i].psiid.clone(),
                sources: Vec::new(),
                channel: None,
            };
            let ledger = sf::connect_gateway(&g, std::iter::once((&hop.chain, &hop.channel)))
                .await
                .with_context(|| format!("SF {} cannot reach its peer", hop.psiid))?;
            let mut config = SfConfig::new(vec![hop]);
            config.listen = Some(chain.hops[i].address.parse()?);
            config.function = FunctionConfig::NameWriter;
            if let Some(dir) = &self.spool_dir {
                config.records.spool = Some(dir.path().join(format!("{}-sf{i}.jsonl", chain.id)));
            }
            let sf = Sf::start(config, Arc::new(ledger)).await?;
            if !sf.wait_ready(Duration::from_secs(10)).await {
                bail!(
                    "SF {} did not load chain {} within 10 s",
                    chain.hops[i].psiid,
                    chain.id
                );
            }
            sfs.push(sf);
        }
        Ok(sfs)
    }
}

/// Runs the benchmark and returns the report (the caller writes and prints it).
pub async fn run(ui: &Ui, opts: &Options) -> anyhow::Result<Report> {
    let mut machine = Machine::probe();
    if let Some(split) = &opts.split {
        // This thread is pinned to the data plane's CPU: count both sides' CPUs.
        machine.cores = split.cpus.data_plane.len() + split.cpus.ledger.len();
    }
    let step = ui.step("starting devnet (Org1–3, Tenant1; TLS) and the SFC chaincode");
    let plane = Plane::start(opts).await?;
    step.finish_and_clear();
    ui.note("devnet up; accounts registered at Org1, Org2, Org3");
    let result = passes(ui, opts, &plane).await;
    let info = plane.net.info.clone();
    let step = ui.step("stopping devnet");
    plane.net.stop().await;
    step.finish_and_clear();
    let (runs, details) = result?;
    machine.finish();
    let defaults = RecordsConfig::default();
    Ok(Report {
        runs,
        machine,
        ledger: "devnet".into(),
        placement: if opts.split.is_some() {
            Placement::Split
        } else {
            Placement::Shared
        },
        split_cpus: opts.split.as_ref().map(|s| s.cpus.clone()),
        details,
        network: info,
        load: LoadInfo {
            messages: opts.messages,
            warmup: opts.warmup,
            window: opts.window,
            hash_window: opts.hash_window,
            size: opts.size,
            loss_timeout_ms: opts.loss_timeout.as_millis() as u64,
            records_batch_size: defaults.batch_size,
            records_batch_interval_ms: defaults.batch_interval_ms,
            spool: opts.spool,
        },
    })
}

/// Starts the relay chain in front of `sink` and runs a warm-up and a throughput pass
/// through it; the relay keeps running for the caller.
async fn relay_throughput(
    ui: &Ui,
    label: &str,
    psiids: &[String],
    (source, sink): (&Arc<UdpSocket>, &Arc<UdpSocket>),
    (warm, thpt): ((u64, usize, Duration), (u64, usize, Duration)),
    opts: &Options,
) -> anyhow::Result<(Relay, Pass)> {
    let relay = Relay::start(psiids, sink.local_addr()?).await?;
    let to = relay.first;
    drive(ui, "relay warm-up", source, sink, to, warm, opts).await;
    let pass = drive(ui, label, source, sink, to, thpt, opts).await;
    Ok((relay, pass))
}

async fn passes(ui: &Ui, opts: &Options, plane: &Plane) -> anyhow::Result<(Vec<Run>, Vec<Detail>)> {
    let mut runs = Vec::new();
    let mut details = Vec::new();
    let warm = (opts.warmup, opts.window, opts.max_pass);
    let thpt = (opts.messages, opts.window, opts.max_pass);
    let lat = (opts.latency_messages, 1, opts.latency_time);
    for &policy in &opts.policies {
        let src = free_udp(SOURCE_IP)?;
        let dst = free_udp(SINK_IP)?;
        let step = ui.step(format!(
            "{policy}: creating the chain, sharing credentials, starting 3 SFs"
        ));
        let chain = plane.chain(policy, src, dst).await?;
        let psiids: Vec<String> = chain.hops.iter().map(|h| h.psiid.clone()).collect();
        let source = Arc::new(bind(src).await?);
        let sink = Arc::new(bind(dst).await?);
        let sfs = plane.sfs(&chain).await?;
        step.finish_and_clear();

        // The relay first, on the same addresses and the same sockets at both ends.
        let ends = (&source, &sink);
        let label = format!("{policy}: relay throughput");
        let (relay, rt) = relay_throughput(ui, &label, &psiids, ends, (warm, thpt), opts).await?;
        let to = relay.first;
        let rl = drive(
            ui,
            &format!("{policy}: relay latency"),
            &source,
            &sink,
            to,
            lat,
            opts,
        )
        .await;
        relay.stop();

        let to: SocketAddr = chain.hops[0].address.parse()?;
        let sf_window = if policy.checks_hash() {
            opts.hash_window
        } else {
            opts.window
        };
        let warm_sf = (opts.warmup, sf_window, opts.max_pass);
        let thpt_sf = (opts.messages, sf_window, opts.max_pass);
        drive(
            ui,
            &format!("{policy}: SF warm-up"),
            &source,
            &sink,
            to,
            warm_sf,
            opts,
        )
        .await;
        // Burst: fewer datagrams than the SF's record queue holds, so the records' commit
        // rate does not yet hold the data path back (none / address only: under hash the
        // data path waits for commits anyway).
        let burst = if policy.checks_hash() {
            None
        } else {
            let n = (RecordsConfig::default().queue_capacity as u64 * 2 / 5).min(opts.messages);
            Some(
                drive(
                    ui,
                    &format!("{policy}: SF burst"),
                    &source,
                    &sink,
                    to,
                    (n, sf_window, opts.max_pass),
                    opts,
                )
                .await,
            )
        };
        let st = drive(
            ui,
            &format!("{policy}: SF throughput"),
            &source,
            &sink,
            to,
            thpt_sf,
            opts,
        )
        .await;
        let sl = drive(
            ui,
            &format!("{policy}: SF latency"),
            &source,
            &sink,
            to,
            lat,
            opts,
        )
        .await;
        let step = ui.step(format!("{policy}: stopping the SFs (flushing records)"));
        let mut counts = Vec::new();
        for (i, sf) in sfs.into_iter().enumerate() {
            let metrics = sf.metrics.clone();
            let rep = sf.shutdown().await;
            let text = metrics.encode();
            counts.push(SfCounts {
                psiid: psiids[i].clone(),
                received: rep.received,
                forwarded: rep.forwarded,
                dropped: drop_reasons(&text),
                ledger_mean_ms: histogram_means(&text, "sfcbc_sf_ledger_seconds", "call"),
                validation_mean_ms: histogram_means(&text, "sfcbc_sf_validation_seconds", "policy"),
                records: rep.records,
            });
        }
        step.finish_and_clear();

        // The relay again, now that the SFs and their records are done: the relay alone
        // varies by ±20 % between passes, so its rate is the mean of the passes before and
        // after the SF chain's.
        let label = format!("{policy}: relay throughput (again)");
        let (relay, rt_after) =
            relay_throughput(ui, &label, &psiids, ends, (warm, thpt), opts).await?;
        relay.stop();
        let relay_rate = (rt.msgs_per_s + rt_after.msgs_per_s) / 2.0;

        let hop = Summary::of(sl.hop_ms.clone());
        let relay_hop = Summary::of(rl.hop_ms.clone());
        let loaded_hop = Summary::of(st.hop_ms.clone());
        let e2e = Summary::of(sl.e2e_ms.clone());
        let relay_e2e = Summary::of(rl.e2e_ms.clone());
        let ratio = if relay_rate > 0.0 {
            st.msgs_per_s / relay_rate
        } else {
            0.0
        };
        ui.note(format!(
            "{:>12}: {:>8.1} msg/s vs relay {:>8.1} msg/s (×{:.3}); hop p50 {:.2} ms p99 {:.2} ms (relay {:.3} / {:.3}); dropped {}",
            policy.as_str(),
            st.msgs_per_s,
            relay_rate,
            ratio,
            hop.p50_ms,
            hop.p99_ms,
            relay_hop.p50_ms,
            relay_hop.p99_ms,
            st.dropped + sl.dropped
        ));
        runs.push(Run {
            policy: policy.as_str().into(),
            msgs_per_s: round1(st.msgs_per_s),
            relay_msgs_per_s: round1(relay_rate),
            ratio: round3(ratio),
            hop_p50_ms: hop.p50_ms,
            hop_p99_ms: hop.p99_ms,
            dropped: st.dropped + sl.dropped,
        });
        details.push(Detail {
            policy: policy.as_str().into(),
            window: sf_window,
            relay_hop_p50_ms: relay_hop.p50_ms,
            relay_hop_p99_ms: relay_hop.p99_ms,
            added_hop_p50_ms: round3(hop.p50_ms - relay_hop.p50_ms),
            per_hop_p50_ms: sl
                .by_hop_ms
                .iter()
                .map(|v| Summary::of(v.clone()).p50_ms)
                .collect(),
            per_hop_p99_ms: sl
                .by_hop_ms
                .iter()
                .map(|v| Summary::of(v.clone()).p99_ms)
                .collect(),
            loaded_hop_p50_ms: loaded_hop.p50_ms,
            loaded_hop_p99_ms: loaded_hop.p99_ms,
            end_to_end_p50_ms: e2e.p50_ms,
            end_to_end_p99_ms: e2e.p99_ms,
            relay_end_to_end_p50_ms: relay_e2e.p50_ms,
            burst_msgs_per_s: burst.as_ref().map(|b| round1(b.msgs_per_s)),
            burst_ratio: burst
                .as_ref()
                .filter(|_| relay_rate > 0.0)
                .map(|b| round3(b.msgs_per_s / relay_rate)),
            throughput_pass: PassCounts::of(&st),
            latency_pass: PassCounts::of(&sl),
            relay_throughput_pass: PassCounts::of(&rt),
            relay_throughput_pass_after: PassCounts::of(&rt_after),
            relay_latency_pass: PassCounts::of(&rl),
            sfs: counts,
        });
    }
    Ok((runs, details))
}

/// Mean (ms) per label value of a Prometheus histogram in `text` (`_sum` / `_count`).
fn histogram_means(text: &str, name: &str, label: &str) -> std::collections::BTreeMap<String, f64> {
    let mut sums = std::collections::BTreeMap::<String, (f64, f64)>::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (is_sum, rest) = if let Some(r) = rest.strip_prefix("_sum") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("_count") {
            (false, r)
        } else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Some(key) = labels
            .split(&format!("{label}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        let e = sums.entry(key.to_owned()).or_default();
        if is_sum {
            e.0 += v;
        } else {
            e.1 += v;
        }
    }
    sums.into_iter()
        .filter(|(_, (_, n))| *n > 0.0)
        .map(|(k, (s, n))| (k, round3(s / n * 1e3)))
        .collect()
}

/// The human summary.
pub fn summary(r: &Report) -> comfy_table::Table {
    let mut t = table(&[
        "policy",
        "msgs/s",
        "relay msgs/s",
        "ratio",
        "hop p50 ms",
        "hop p99 ms",
        "relay hop p50",
        "burst ratio",
        "dropped",
    ]);
    for (run, d) in r.runs.iter().zip(&r.details) {
        t.add_row(vec![
            run.policy.clone(),
            format!("{:.1}", run.msgs_per_s),
            format!("{:.1}", run.relay_msgs_per_s),
            format!("{:.3}", run.ratio),
            format!("{:.2}", run.hop_p50_ms),
            format!("{:.2}", run.hop_p99_ms),
            format!("{:.3}", d.relay_hop_p50_ms),
            d.burst_ratio.map_or("-".into(), |r| format!("{r:.3}")),
            run.dropped.to_string(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_gaps() {
        let (seq, p) = payload(64);
        let (s, t) = header(&p).expect("header");
        assert_eq!(s, seq);
        let mut p2 = p.clone();
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(t + 2_000_000).unwrap();
        p2.extend_from_slice(stamp("Org1:NameWriter:1", at).as_bytes());
        let at2 = time::OffsetDateTime::from_unix_timestamp_nanos(t + 5_000_000).unwrap();
        p2.extend_from_slice(stamp("Org2:NameWriter:1", at2).as_bytes());
        let g = hop_gaps(t, &p2);
        assert_eq!(g.len(), 2);
        assert!(
            (g[0] - 2.0).abs() < 1e-6 && (g[1] - 3.0).abs() < 1e-6,
            "{g:?}"
        );
    }
}
