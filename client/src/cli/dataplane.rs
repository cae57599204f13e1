//! `sfcbc sf run`, `classifier run`, `send`, `sink`: thin wrappers over the SF runtime, the
//! classifier and the source/sink tools of `sfcbc-client`. A config without a `[gateway]`
//! section gets one from the profile and `--identity` (the SP's own peer), so an SP can run
//! `sfcbc -i User1@Org1 sf run --config sf.toml` against a devnet without repeating paths.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sfcbc_client::classifier::{self, ClassifierConfig};
use sfcbc_client::profile::Profile;
use sfcbc_client::sf::{self, GatewayConfig, HopRef, SfConfig};
use sfcbc_client::tools::{self, SendConfig, SinkConfig};

use super::output::outln;
use super::{Ctx, output, shutdown_signal};

#[derive(Debug, Subcommand)]
pub enum SfCmd {
    /// Run an SF until SIGINT/SIGTERM (then drain and flush its records).
    #[command(
        after_help = "Examples:\n  sfcbc -i User1@Org1 sf run --config sf.toml\n  sfcbc -i User1@Org1 sf run --chain chain1 --psiid Org1:NameWriter:1 --batch-size 500\n\nsf.toml: [[hops]] (chain, psiid), listen, metrics, function, [records] (batch_size,\nbatch_interval_ms, queue_capacity, max_in_flight, spool, ...), [validation], [gateway];\nevery key is documented in client/src/sf/config.rs."
    )]
    Run(SfRunArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("serve").required(true).args(["config", "chain"])))]
pub struct SfRunArgs {
    /// The SF config (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Serve this chain's hop (instead of a config file).
    #[arg(long, requires = "psiid", conflicts_with = "config")]
    pub chain: Option<String>,
    /// The hop this SF serves, as the chain names it (`ORG:FUNCTION:INSTANCE`, e.g.
    /// `Org1:NameWriter:1`); the signing identity must belong to that hop's SP.
    #[arg(long, requires = "chain")]
    pub psiid: Option<String>,
    /// UDP listen address (default: the hop's registered address).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Serve /metrics and /healthz here.
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Records per RecordHops transaction, 1..=1000 (overrides `records.batch_size`).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Longest wait before a batch of records is submitted, ms (overrides
    /// `records.batch_interval_ms`; keep it below the channel's BatchTimeout).
    #[arg(long)]
    pub batch_interval_ms: Option<u64>,
    /// JSON-lines file that keeps the records still unsubmitted at shutdown (peer down,
    /// drain timeout); they are re-submitted at the next start (overrides `records.spool`).
    /// Without one, such records are lost and the SF exits 1.
    #[arg(long, value_name = "FILE")]
    pub spool: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ClassifierCmd {
    /// Run the classifier until SIGINT/SIGTERM.
    #[command(
        after_help = "Example:\n  sfcbc -i User1@Manager classifier run --config classifier.toml"
    )]
    Run {
        /// The classifier config (TOML: listen, rules, metrics, gateway).
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sfcbc send --bind 127.0.0.1:7000 --to 127.0.0.2:9001 --payload hello --count 1"
)]
pub struct SendArgs {
    /// Our address: the source endpoint registered for the chain.
    #[arg(long)]
    pub bind: SocketAddr,
    /// The classifier or hop 1.
    #[arg(long)]
    pub to: String,
    /// How many datagrams to send.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Datagrams per second (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Payload size in bytes.
    #[arg(long)]
    pub size: Option<usize>,
    /// A fixed payload.
    #[arg(long)]
    pub payload: Option<String>,
    /// Append each datagram's {seq, sha256, len} to this JSON-lines file.
    #[arg(long)]
    pub hashes: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sfcbc sink --listen 127.0.0.1:7100 --count 1 --expect-stamps 3 --print"
)]
pub struct SinkArgs {
    /// The destination endpoint registered for the chain (the last hop sends here).
    #[arg(long)]
    pub listen: SocketAddr,
    /// Stop after this many datagrams; exit 1 if stopped (signal, --idle-ms) before.
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this long without datagrams (once one arrived).
    #[arg(long)]
    pub idle_ms: Option<u64>,
    /// Datagrams must carry this many name/timestamp stamps.
    #[arg(long)]
    pub expect_stamps: Option<usize>,
    /// Print each datagram.
    #[arg(long)]
    pub print: bool,
}

/// A `[gateway]` section from the profile for the selected identity, on `channel`.
pub fn gateway_from_profile(
    ctx: &Ctx,
    p: &Profile,
    channel: String,
) -> anyhow::Result<GatewayConfig> {
    let s = ctx.selected(p)?;
    let (_, peer) = p.peer_of(&s.org)?;
    Ok(GatewayConfig {
        msp_id: s.msp_id.clone(),
        msp_dir: s.msp_dir.clone(),
        endpoint: peer.endpoint.clone(),
        tls_ca: peer.tls_ca.as_ref().map(|c| p.resolve(c)),
        server_name: peer.server_name.clone(),
        channel,
        chaincode: p.chaincode.clone(),
    })
}

pub async fn run_sf(ctx: &Ctx, cmd: SfCmd) -> anyhow::Result<()> {
    let SfCmd::Run(a) = cmd;
    let mut config = match (&a.config, &a.chain, &a.psiid) {
        (Some(f), _, _) => SfConfig::load(f)?,
        (None, Some(chain), Some(psiid)) => SfConfig::new(vec![HopRef {
            chain: chain.clone(),
            psiid: psiid.clone(),
            sources: Vec::new(),
            channel: None,
        }]),
        _ => anyhow::bail!("give --config FILE, or --chain and --psiid"),
    };
    if a.listen.is_some() {
        config.listen = a.listen;
    }
    if a.metrics.is_some() {
        config.metrics = a.metrics;
    }
    if let Some(n) = a.batch_size {
        config.records.batch_size = n;
    }
    if let Some(ms) = a.batch_interval_ms {
        config.records.batch_interval_ms = ms;
    }
    if a.spool.is_some() {
        config.records.spool = a.spool;
    }
    config.check()?;
    if config.gateway.is_none() {
        let p = ctx.profile()?;
        let channel = ctx.channel(&p, Some(&config.hops[0].chain))?;
        config.gateway = Some(gateway_from_profile(ctx, &p, channel)?);
    }
    let hops = config
        .hops
        .iter()
        .map(|h| format!("{} of {}", h.psiid, h.chain))
        .collect::<Vec<_>>()
        .join(", ");
    // Signal handlers first: a SIGTERM once datagrams flow must drain, not kill.
    let stop = tokio::spawn(shutdown_signal());
    let running = sf::start(config).await?;
    eprintln!(
        "SF serving {hops} on udp {}{}; SIGINT/SIGTERM stops it (after flushing its records)",
        running.local_addr,
        running
            .metrics_addr
            .map(|m| format!(", metrics on http://{m}/metrics"))
            .unwrap_or_default()
    );
    let _ = stop.await;
    let report = running.shutdown().await;
    if ctx.global.json {
        output::json(&report)?;
    } else {
        let r = &report.records;
        let dropped: u64 = report.dropped.values().sum();
        let reasons = report
            .dropped
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        outln!(
            "SF stopped: {} received, {} forwarded, {dropped} dropped{}; records: {} committed, {} replayed, {} \
             refused, {} spooled, {} lost; error records: {} committed, {} refused",
            report.received,
            report.forwarded,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({reasons})")
            },
            r.committed,
            r.replayed,
            r.refused,
            r.spooled,
            r.lost,
            r.errors,
            r.errors_refused
        );
    }
    if report.records.lost > 0 {
        anyhow::bail!(
            "{} record(s) could not be submitted before shutdown and are lost (their \
             datagrams were forwarded, but the ledger has no record of them); give --spool FILE \
             (or records.spool) to keep them for the next start",
            report.records.lost
        );
    }
    Ok(())
}

pub async fn run_classifier(ctx: &Ctx, cmd: ClassifierCmd) -> anyhow::Result<()> {
    let ClassifierCmd::Run { config } = cmd;
    let text = std::fs::read_to_string(&config)
        .with_context(|| format!("cannot read {}", config.display()))?;
    let mut c = ClassifierConfig::from_toml(&text)?;
    if c.gateway.is_none() {
        let p = ctx.profile()?;
        let chain = c.rules.first().map(|r| r.chain.clone());
        let channel = ctx.channel(&p, chain.as_deref())?;
        c.gateway = Some(gateway_from_profile(ctx, &p, channel)?);
    }
    let counts = classifier::run(c, shutdown_signal()).await?;
    if ctx.global.json {
        return output::json(&counts);
    }
    let mut t = output::table(&["rule", "datagrams"]);
    for (r, n) in &counts {
        t.add_row(vec![r.clone(), n.to_string()]);
    }
    outln!("{t}");
    Ok(())
}

pub async fn run_send(ctx: &Ctx, a: SendArgs) -> anyhow::Result<()> {
    let config = SendConfig {
        bind: a.bind,
        to: a.to,
        count: a.count,
        rate: a.rate,
        size: a.size,
        payload: a.payload,
        hashes: a.hashes,
    };
    let bar = indicatif::ProgressBar::new_spinner();
    if ctx.global.json || a.count < 100 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_message(format!("sending {} datagram(s)", a.count));
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    let report = tools::send(config, shutdown_signal()).await?;
    bar.finish_and_clear();
    if ctx.global.json {
        return output::json(&report);
    }
    outln!("sent {} datagram(s)", report.sent);
    for h in report.hashes.iter().take(10) {
        outln!("  source hash {h}");
    }
    Ok(())
}

pub async fn run_sink(ctx: &Ctx, a: SinkArgs) -> anyhow::Result<()> {
    let config = SinkConfig {
        listen: a.listen,
        count: a.count,
        idle_ms: a.idle_ms,
        expect_stamps: a.expect_stamps,
        print: a.print && !ctx.global.json,
    };
    let report = tools::sink(config, shutdown_signal()).await?;
    if ctx.global.json {
        output::json(&report)?;
    } else {
        outln!(
            "{} datagram(s) received, {} unexpected",
            report.arrivals.len(),
            report.bad
        );
    }
    if report.bad > 0 {
        anyhow::bail!(
            "{} datagram(s) did not carry the expected stamps",
            report.bad
        );
    }
    if let Some(n) = a.count
        && (report.arrivals.len() as u64) < n
    {
        anyhow::bail!(
            "stopped after {} of the {n} datagram(s) asked for with --count",
            report.arrivals.len()
        );
    }
    Ok(())
}
