//! The SF runtime (DESIGN §5): receives UDP datagrams for the chain hops it serves,
//! validates each against the ledger, applies its function, forwards the output and records
//! what it did — or drops the datagram and records why.
//!
//! One file per behaviour, linkerd-style: [`ledger_view`] (config, auth verdicts and recent
//! hashes, kept fresh by events), [`validate`] (`address`, `hash`, `auth`), [`function`],
//! [`forward`], [`record`] (batched async records), [`metrics`]; the ledger itself is the
//! [`ledger::SfLedger`] trait. Entry points: [`run`] (gateway from the config) and
//! [`run_with_ledger`]; [`Sf::start`] for callers that want the bound address and metrics.
//! Shutdown: stop reading, finish the datagrams in flight, flush the records (bounded by
//! `records.drain_timeout_ms`, the rest to the spool).

pub mod config;
pub mod forward;
pub mod function;
pub mod ledger;
pub mod ledger_view;
pub mod metrics;
pub mod record;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sfcbc_chaincode::types::{ErrorKind, HopErrorInput, HopRecordInput};
use sha2::{Digest, Sha256};
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub use config::{GatewayConfig, HopRef, RecordsConfig, SfConfig, ValidationConfig};
pub use function::{Function, FunctionConfig, FunctionCtx, MAX_DATAGRAM};
pub use ledger::{EventStream, FabricLedger, LedgerError, SfLedger};
pub use metrics::Metrics;
pub use record::{RecordFailure, RecordReport, Recorder};
pub use validate::Decision;

use function::FunctionError;
use ledger_view::LedgerView;

/// Why the SF could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum SfError {
    #[error("{0}")]
    Config(String),
    #[error("cannot bind UDP {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the gateway: {0}")]
    Gateway(String),
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
}

/// What the SF did, returned at shutdown.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SfReport {
    pub received: u64,
    pub forwarded: u64,
    /// Datagrams dropped, by reason (`auth`, `source`, `hash`, `replay`, `config`,
    /// `function`, `forward`, `unvalidated`: the ledger could not be asked).
    pub dropped: std::collections::BTreeMap<String, u64>,
    pub records: RecordReport,
}

/// Refuses to start an SF whose identity is not of the SP of a hop it serves: the
/// chaincode would refuse every record it sends (only the hop's SP may record it), while
/// it went on forwarding datagrams. Chains not on the ledger yet are checked by the
/// chaincode later, when they appear.
fn check_signer_is_the_hops_sp(
    hops: &[HopRef],
    msp_id: &str,
    chains: &ChainsAtStart,
) -> Result<(), SfError> {
    for h in hops {
        let Some(Ok(chain)) = chains.get(h.chain.as_str()) else {
            continue;
        };
        if let Some((_, hop)) = chain.hop(&h.psiid)
            && hop.sp_msp != msp_id
        {
            return Err(SfError::Config(format!(
                "hop {} of chain {} belongs to SP {}, but this SF signs as {msp_id}: run it as \
                 an identity of {} (e.g. -i User1@ORG)",
                h.psiid, h.chain, hop.sp_msp, hop.sp_msp
            )));
        }
    }
    Ok(())
}

/// The chains an SF's hops name, each read once at start.
type ChainsAtStart<'a> =
    std::collections::HashMap<&'a str, Result<sfcbc_chaincode::types::Chain, LedgerError>>;

/// Hex SHA-256, as the chaincode writes hashes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Runs an SF on a Fabric gateway from `config.gateway` until `shutdown` resolves.
pub async fn run(
    config: SfConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<SfReport, SfError> {
    let ledger = connect(&config).await?;
    run_with_ledger(config, ledger, shutdown).await
}

/// Starts an SF on a Fabric gateway from `config.gateway`; [`Sf::shutdown`] stops it.
pub async fn start(config: SfConfig) -> Result<Sf, SfError> {
    let ledger = connect(&config).await?;
    Sf::start(config, ledger).await
}

/// Connects the [`FabricLedger`] that `config.gateway` describes.
pub async fn connect(config: &SfConfig) -> Result<Arc<dyn SfLedger>, SfError> {
    let g = config
        .gateway
        .as_ref()
        .ok_or_else(|| SfError::Config("no [gateway] section: say how to reach the peer".into()))?;
    let ledger = connect_gateway(g, config.hops.iter().map(|h| (&h.chain, &h.channel))).await?;
    Ok(Arc::new(ledger))
}

/// A [`FabricLedger`] for `chains` (chain, channel override) through gateway `g`.
pub async fn connect_gateway<'a>(
    g: &GatewayConfig,
    chains: impl Iterator<Item = (&'a String, &'a Option<String>)>,
) -> Result<FabricLedger, SfError> {
    let msp = sfcbc_fabric::msp::MspDir::load(&g.msp_dir)
        .map_err(|e| SfError::Gateway(format!("MSP folder {}: {e}", g.msp_dir.display())))?;
    let signer = msp
        .signer(&g.msp_id)
        .map_err(|e| SfError::Gateway(format!("MSP folder {}: {e}", g.msp_dir.display())))?;
    let tls = match &g.tls_ca {
        Some(ca) => {
            let mut t =
                crate::TlsOptions::from_ca_file(ca).map_err(|e| SfError::Gateway(e.to_string()))?;
            if let Some(name) = &g.server_name {
                t = t.server_name(name.clone());
            }
            Some(t)
        }
        None => None,
    };
    let gateway = crate::Gateway::connect(signer.identity().clone(), signer, &g.endpoint, tls)
        .await
        .map_err(|e| SfError::Gateway(e.to_string()))?;
    let contract = |channel: &str| {
        crate::SfcContract::new(gateway.network(channel).contract(g.chaincode.clone()))
    };
    let mut ledger = FabricLedger::new(contract(&g.channel));
    for (chain, channel) in chains {
        if let Some(channel) = channel {
            ledger = ledger.with_chain(chain.clone(), contract(channel));
        }
    }
    Ok(ledger)
}

/// Runs an SF over `ledger` until `shutdown` resolves; drains and flushes, then reports.
pub async fn run_with_ledger(
    config: SfConfig,
    ledger: Arc<dyn SfLedger>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<SfReport, SfError> {
    let sf = Sf::start(config, ledger).await?;
    shutdown.await;
    Ok(sf.shutdown().await)
}

/// A running SF.
#[derive(Debug)]
pub struct Sf {
    /// The UDP address it receives on (and forwards from).
    pub local_addr: SocketAddr,
    /// The `/metrics` address, when served.
    pub metrics_addr: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    main: tokio::task::JoinHandle<SfReport>,
}

/// What every datagram task shares.
struct Ctx {
    view: Arc<LedgerView>,
    recorder: Recorder,
    function: Arc<dyn Function>,
    socket: Arc<UdpSocket>,
    metrics: Arc<Metrics>,
    /// The SF's sequence number for records.
    seq: AtomicU64,
}

impl Sf {
    /// Binds, starts following the ledger, and serves. The chains load in the background;
    /// [`Sf::ready`] says when they are.
    pub async fn start(config: SfConfig, ledger: Arc<dyn SfLedger>) -> Result<Sf, SfError> {
        config.check()?;
        // Each chain the hops name, read once, when the signer check or the default listen
        // address needs it.
        let mut chains = ChainsAtStart::new();
        if config.gateway.is_some() || config.listen.is_none() {
            for h in &config.hops {
                if !chains.contains_key(h.chain.as_str()) {
                    chains.insert(&h.chain, ledger.get_chain(&h.chain).await);
                }
            }
        }
        if let Some(g) = &config.gateway {
            check_signer_is_the_hops_sp(&config.hops, &g.msp_id, &chains)?;
        }
        let metrics = Metrics::new("sfcbc_sf");
        let listen = match config.listen {
            Some(a) => a,
            None => {
                // The first hop's registered address.
                let h = &config.hops[0];
                let chain = match chains.remove(h.chain.as_str()) {
                    Some(read) => read?,
                    None => ledger.get_chain(&h.chain).await?,
                };
                let hop = chain.hop(&h.psiid).map(|(_, h)| h).ok_or_else(|| {
                    SfError::Config(format!("hop {} is not in chain {}", h.psiid, h.chain))
                })?;
                forward::resolve(&hop.address, true).await.map_err(|e| {
                    SfError::Config(format!(
                        "cannot listen on the hop's address: {e}; set `listen`"
                    ))
                })?
            }
        };
        let socket = UdpSocket::bind(listen)
            .await
            .map_err(|source| SfError::Bind {
                addr: listen,
                source,
            })?;
        if config.socket_buffer > 0
            && let Err(e) = forward::set_buffers(&socket, config.socket_buffer)
        {
            tracing::warn!(
                "cannot set the UDP buffers to {} bytes: {e}",
                config.socket_buffer
            );
        }
        let local_addr = socket.local_addr().map_err(|source| SfError::Bind {
            addr: listen,
            source,
        })?;
        let (stop, stop_rx) = watch::channel(false);
        let metrics_addr = match config.metrics {
            Some(addr) => Some(
                metrics::serve(addr, metrics.clone(), ledger_view::stopped(stop_rx.clone()))
                    .await
                    .map_err(|source| SfError::Metrics { addr, source })?
                    .0,
            ),
            None => None,
        };
        let view = LedgerView::new(
            ledger.clone(),
            config.hops.clone(),
            config.validation.clone(),
            metrics.clone(),
        );
        let events = tokio::spawn(view.clone().follow_events(stop_rx.clone()));
        let (recorder, recorder_task) = Recorder::start_with_shutdown(
            ledger,
            config.records.clone(),
            metrics.clone(),
            Some(stop_rx.clone()),
        );
        let ctx = Arc::new(Ctx {
            view,
            recorder,
            function: config.function.build(),
            socket: Arc::new(socket),
            metrics: metrics.clone(),
            seq: AtomicU64::new(0),
        });
        tracing::info!(%local_addr, hops = ?config.hops, function = ctx.function.name(), "SF started");
        let max = config.validation.max_in_flight;
        let main = tokio::spawn(async move {
            serve(ctx, max, stop_rx).await;
            let records = recorder_task.await.unwrap_or_default();
            events.abort();
            SfReport {
                records,
                ..SfReport::default()
            }
        });
        Ok(Sf {
            local_addr,
            metrics_addr,
            metrics,
            stop,
            main,
        })
    }

    /// Whether every served chain is loaded.
    pub fn ready(&self) -> bool {
        self.metrics.ready.load(Ordering::SeqCst)
    }

    /// Waits (at most `timeout`) until ready.
    pub async fn wait_ready(&self, timeout: std::time::Duration) -> bool {
        let end = Instant::now() + timeout;
        while !self.ready() {
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }

    /// Stops reading, finishes datagrams in flight, flushes records; reports.
    pub async fn shutdown(self) -> SfReport {
        let _ = self.stop.send(true);
        let mut report = self.main.await.unwrap_or_default();
        report.received = self.metrics.received.get();
        report.forwarded = self.metrics.forwarded.get();
        report.dropped = self.metrics.dropped_by_reason();
        report
    }
}

/// The receive loop. Each datagram is processed right here while it needs nothing from
/// the ledger (the common case: the view decides, the record is queued); one that waits —
/// for `CheckIn`, a previous hop's record, its own record's commit, or room in the record
/// queue — continues as a task of its own. At most `max` datagrams are in process at once;
/// more wait unread in the socket.
async fn serve(ctx: Arc<Ctx>, max: usize, mut stop: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(max));
    let mut tasks = JoinSet::new();
    let mut buf = vec![0u8; 65_536];
    let mut errors = 0u32;
    let waker = futures::task::noop_waker();
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => tokio::select! {
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = stop.changed() => break,
            },
        };
        let (n, src) = tokio::select! {
            biased;
            _ = stop.changed() => break,
            r = ctx.socket.recv_from(&mut buf) => match r {
                Ok(r) => { errors = 0; r }
                Err(e) => {
                    // e.g. ICMP errors surfacing on some platforms: log, back off, go on.
                    errors = errors.saturating_add(1);
                    tracing::warn!("UDP receive failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(u64::from(errors.min(100)))).await;
                    continue;
                }
            },
        };
        ctx.metrics.received.inc();
        let datagram = buf[..n].to_vec();
        let c = ctx.clone();
        let mut work = Box::pin(async move {
            process(&c, datagram, src).await;
            drop(permit);
        });
        // One poll here; whatever is left runs as a task (which polls it again at once,
        // so any waker the first poll left behind is replaced).
        if work
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker))
            .is_pending()
        {
            tasks.spawn(work);
        }
        while tasks.try_join_next().is_some() {}
    }
    // Drain: datagrams in flight finish (they may wait for commits).
    while tasks.join_next().await.is_some() {}
}

/// One datagram, DESIGN §5 steps 1–4.
async fn process(ctx: &Ctx, payload: Vec<u8>, src: SocketAddr) {
    let started = Instant::now();
    let input_hash = sha256_hex(&payload);
    let src = src.to_string();
    let view = &ctx.view;

    let Some(i) = validate::select_hop(view, &src, &input_hash).await else {
        ctx.metrics.dropped("config");
        let h = &view.hops()[0];
        let served: Vec<&str> = view.hops().iter().map(|h| h.chain.as_str()).collect();
        tracing::info!(%src, %input_hash, "datagram matches no served chain");
        ctx.recorder
            .error(
                &h.chain,
                &h.psiid,
                HopErrorInput {
                    kind: ErrorKind::Config,
                    detail: format!(
                        "datagram from {src} matches none of the chains served here ({}) by source address or previous hop's output hash",
                        served.join(", ")
                    ),
                    src,
                    input_hash,
                },
            )
            .await;
        return;
    };
    let HopRef { chain, psiid, .. } = &view.hops()[i];
    let snap = view.snapshot_at(i);
    let policy = snap
        .as_ref()
        .map(|s| s.hop.validation.as_str())
        .unwrap_or("unknown");
    let decision = validate::validate(view, snap.as_deref(), &input_hash, &src).await;
    ctx.metrics.observe_validation(policy, started.elapsed());
    let next = match decision {
        Err(e) => {
            tracing::warn!(%chain, %psiid, %src, "cannot validate, ledger unreachable: {e}");
            ctx.metrics.dropped("unvalidated");
            return;
        }
        Ok(Decision::Drop { kind, detail }) => {
            let reason = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "config".into());
            tracing::info!(%chain, %psiid, %src, %input_hash, %reason, %detail, "dropped");
            ctx.metrics.dropped(&reason);
            ctx.recorder
                .error(
                    chain,
                    psiid,
                    HopErrorInput {
                        kind,
                        detail,
                        src,
                        input_hash,
                    },
                )
                .await;
            return;
        }
        Ok(Decision::Pass { next }) => next,
    };

    let fctx = FunctionCtx { chain, psiid };
    let output = match ctx.function.apply(fctx, payload).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(%chain, %psiid, "function {} failed: {e}", ctx.function.name());
            ctx.metrics.dropped("function");
            let detail = match e {
                FunctionError::TooBig { .. } | FunctionError::Proxy { .. } => {
                    format!("function {} failed: {e}", ctx.function.name())
                }
            };
            ctx.recorder
                .error(
                    chain,
                    psiid,
                    HopErrorInput {
                        kind: ErrorKind::Config,
                        detail,
                        src,
                        input_hash,
                    },
                )
                .await;
            return;
        }
    };
    let record = HopRecordInput {
        seq: ctx.seq.fetch_add(1, Ordering::SeqCst),
        input_hash,
        output_hash: sha256_hex(&output),
        src,
        next: next.address.clone(),
    };
    // Validated on a snapshot whose next hop checks hashes (at hop 1 that also made our
    // commit the replay guard), or one does now: commit before forwarding.
    let commit_first = snap.as_ref().is_some_and(|s| s.next_checks_hash())
        || view.snapshot_at(i).is_some_and(|s| s.next_checks_hash());
    if commit_first {
        if let Err(e) = ctx.recorder.record_committed(chain, psiid, record).await {
            tracing::info!(%chain, %psiid, "not forwarded, record did not commit: {e}");
            ctx.metrics.dropped(match e {
                RecordFailure::Replay(_) => "replay",
                RecordFailure::Refused(_) => "config",
                RecordFailure::NotFlushed => "unrecorded",
            });
            return;
        }
        send_on(ctx, chain, psiid, &next.address, &output).await;
    } else {
        // Forward first: the record only has to be queued, which waits only when the
        // queue is full.
        send_on(ctx, chain, psiid, &next.address, &output).await;
        ctx.recorder.record(chain, psiid, record).await;
    }
}

async fn send_on(ctx: &Ctx, chain: &str, psiid: &str, address: &str, output: &[u8]) {
    match forward::forward(&ctx.socket, address, output).await {
        Ok(_) => {
            ctx.metrics.forwarded.inc();
        }
        Err(e) => {
            tracing::warn!(%chain, %psiid, "{e}");
            ctx.metrics.dropped("forward");
        }
    }
}
