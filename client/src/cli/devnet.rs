//! `sfcbc devnet up|down|status`: the embedded devnet (DESIGN §6) composed from
//! `sfcbc-devnet`'s parts, with the SFC chaincode served in-process by `sfcbc-ccaas` over
//! CCaaS (the peers dial it exactly as real Fabric peers would), a channel per chain with the
//! chaincode committed on it, and a client profile for every other command.
//!
//! `up` runs in the foreground until Ctrl-C / SIGTERM and writes `devnet.pid` in its folder;
//! `down` signals that pid; `status` reads the profile and asks each peer for its height.
//! The chaincode server keeps its port across runs (`ccaas.addr`), so the package id and
//! the committed definitions of a resumed network stay valid.
//!
//! One channel per chain (as the paper): while `up` runs it also answers admin requests on
//! `<dir>/admin.sock` (a Unix socket only its user may open), each signed by an admin of the
//! manager's org ([`super::devnet_admin`]), so `sfcbc chain create CHAIN` can have channel
//! `sfc-CHAIN` created with exactly the chain's orgs and the chaincode committed on it before
//! `CreateChain`, and `sfcbc devnet channel create` / `devnet chaincode install|commit` can
//! add channels and chaincodes of one's own, as `peer channel` / `peer lifecycle` would.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use sfcbc_ccaas::package::{self, PackageSpec};
use sfcbc_client::profile::{self, Endpoint, Org, Profile};
use sfcbc_devnet::crypto::KeyAlgorithm;
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use tokio::sync::watch;

use super::output::outln;
use super::{Ctx, output, shutdown_signal};

/// The orgs of the paper's topology: the manager, three SPs and a tenant.
pub const DEFAULT_ORGS: &str = "Manager,Org1,Org2,Org3,Tenant1";
/// The SFC chaincode's name on every channel.
pub const CHAINCODE: &str = "sfc";
/// The chaincode package label.
const LABEL: &str = "sfcbc_1.0";

#[derive(Debug, Subcommand)]
pub enum DevnetCmd {
    /// Start (or resume) a devnet in the foreground; Ctrl-C stops it. Prints how long it took
    /// to be ready (`startup_ms` with --json).
    #[command(
        after_help = "Examples:\n  sfcbc devnet up\n  sfcbc devnet up --dir /tmp/dn --channels sfc-chain1,sfc-chain2 --tls off\n  sfcbc devnet up --orgs Manager,Org1,Org2 --batch-timeout 200ms --max-message-count 100 --ed25519"
    )]
    Up(UpArgs),
    /// Stop the devnet running from DIR.
    #[command(after_help = "Examples:\n  sfcbc devnet down\n  sfcbc devnet down --dir /tmp/dn")]
    Down(DirArgs),
    /// What runs where, and each peer's height.
    #[command(
        after_help = "Examples:\n  sfcbc devnet status\n  sfcbc devnet status --dir /tmp/dn --json"
    )]
    Status(DirArgs),
    /// Channels of the running devnet.
    #[command(subcommand)]
    Channel(super::devnet_admin::ChannelCmd),
    /// Chaincodes of the running devnet: install a CCaaS package, commit a definition.
    #[command(subcommand)]
    Chaincode(super::devnet_admin::ChaincodeCmd),
}

#[derive(Debug, Clone, Args)]
pub struct DirArgs {
    /// The devnet's folder (default $SFCBC_HOME/devnet, i.e. ~/.sfcbc/devnet).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Peer orgs, one peer each.
    #[arg(long, default_value = DEFAULT_ORGS, value_delimiter = ',')]
    pub orgs: Vec<String>,
    /// Channels to create with every org and the chaincode committed (one per chain:
    /// `sfc-CHAIN`).
    #[arg(long, default_value = "sfc-chain1", value_delimiter = ',')]
    pub channels: Vec<String>,
    /// TLS on every endpoint.
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub tls: String,
    /// BatchTimeout of new channels: 50ms, 2s, 1.5s (a bare number is milliseconds).
    #[arg(
        long,
        alias = "batch-timeout-ms",
        default_value = "50ms",
        value_parser = parse_duration
    )]
    pub batch_timeout: Duration,
    /// BatchSize.MaxMessageCount of new channels: transactions per block at most.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_message_count: u32,
    /// Ed25519 keys and certificates (Fabric 3.x style) instead of ECDSA P-256, for a new
    /// network (a resumed one keeps the crypto it was made with).
    #[arg(long)]
    pub ed25519: bool,
    /// Orderer on this port, peers on the next ones (default: free ports).
    #[arg(long)]
    pub base_port: Option<u16>,
    /// Endorsement policy of the chaincode (Fabric syntax). Default: any one peer org of the
    /// channel, every access rule being enforced by the chaincode itself.
    #[arg(long)]
    pub policy: Option<String>,
}

impl Default for UpArgs {
    fn default() -> Self {
        Self {
            dir: DirArgs { dir: None },
            orgs: DEFAULT_ORGS.split(',').map(String::from).collect(),
            channels: vec!["sfc-chain1".into()],
            tls: "on".into(),
            batch_timeout: Duration::from_millis(50),
            max_message_count: 500,
            ed25519: false,
            base_port: None,
            policy: None,
        }
    }
}

/// A running devnet with its chaincode server.
pub struct Devnet {
    pub network: Network,
    pub profile: Profile,
    pub profile_path: PathBuf,
    pub ccaas_addr: String,
    pub package_id: String,
    stop_ccaas: watch::Sender<bool>,
    ccaas: tokio::task::JoinHandle<()>,
    /// `dir` held a network already: its crypto material and channels were kept.
    pub resumed: bool,
    /// The package installed last through the admin socket (`devnet chaincode install`).
    last_installed: std::sync::Mutex<Option<String>>,
}

/// Parses `50ms`, `2s`, `1.5s`, `1m` or a bare number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 50ms, 2s or 1.5s"))?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" => n * 1e3,
        "m" => n * 60e3,
        "us" | "µs" => n / 1e3,
        u => return Err(format!("unknown unit {u:?} in {s:?}: use ms, s or m")),
    };
    if !ms.is_finite() || ms <= 0.0 || ms > 3_600_000.0 {
        return Err(format!("{s:?}: give a duration above 0 and at most 1h"));
    }
    Ok(Duration::from_secs_f64(ms / 1e3))
}

fn dir_of(d: &DirArgs) -> PathBuf {
    d.dir.clone().unwrap_or_else(profile::default_devnet_dir)
}

/// The chaincode server's address: kept in `ccaas.addr` so that a resumed network's package
/// still points at it; a free loopback port the first time.
fn ccaas_address(dir: &Path) -> anyhow::Result<String> {
    let file = dir.join("ccaas.addr");
    // Unparsable: a write cut short by a crash, before any package could use it.
    let kept = std::fs::read_to_string(&file)
        .ok()
        .filter(|a| a.trim().parse::<std::net::SocketAddr>().is_ok());
    if let Some(a) = kept {
        let a = a.trim().to_owned();
        if std::net::TcpListener::bind(&a).is_ok() {
            return Ok(a);
        }
        bail!(
            "the chaincode server's port {a} (from {}) is taken: is this devnet already running? (`sfcbc devnet down --dir {}`)",
            file.display(),
            dir.display()
        );
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    let a = l.local_addr()?.to_string();
    drop(l);
    let tmp = file.with_extension("addr.tmp");
    std::fs::write(&tmp, &a)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(a)
}

/// Starts (or resumes) a devnet in `args.dir`; `progress` is told each step.
pub async fn start(args: &UpArgs, progress: &dyn Fn(&str)) -> anyhow::Result<Devnet> {
    // Checked before anything starts, for a new and a resumed devnet alike.
    for (i, o) in args.orgs.iter().enumerate() {
        if args.orgs[..i].iter().any(|p| p.eq_ignore_ascii_case(o)) {
            bail!("--orgs names {o} twice");
        }
    }
    if let Some(p) = &args.policy {
        sfcbc_fabric::policy::from_string(p)
            .map_err(|e| anyhow::anyhow!("--policy {p:?} is not a Fabric signature policy: {e}"))?;
    }
    let dir = dir_of(&args.dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize().unwrap_or(dir);

    progress("starting the chaincode server (sfcbc-ccaas)");
    let ccaas_addr = ccaas_address(&dir)?;
    let pkg = package::build(&PackageSpec {
        label: LABEL.into(),
        address: ccaas_addr.clone(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .context("building the CCaaS package")?;
    std::fs::write(dir.join("sfcbc-ccaas.tgz"), &pkg.bytes).context("writing the package")?;
    let listener = sfcbc_ccaas::bind(&ccaas_addr).await?;
    let (stop_ccaas, mut stopped) = watch::channel(false);
    let contract = Arc::new(sfcbc_ccaas::SfcContract::new(
        sfcbc_chaincode::Config::default(),
    ));
    let mut server_config = sfcbc_ccaas::ServerConfig::new(pkg.package_id.clone());
    server_config.shutdown_grace = Duration::from_secs(2);
    let ccaas = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = sfcbc_ccaas::serve(listener, server_config, contract, shutdown).await {
            tracing::error!("chaincode server: {e}");
        }
    });

    progress("starting orderer and peers");
    let mut config = NetworkConfig::new(&dir)
        .with_orgs(&args.orgs)
        .with_tls(args.tls == "on");
    config.batch_timeout = args.batch_timeout;
    config.max_message_count = args.max_message_count;
    config.base_port = args.base_port;
    let resumed = dir.join("organizations").exists();
    if args.ed25519 {
        if resumed {
            tracing::warn!(
                "--ed25519: {} already holds crypto material, which is kept as it was made",
                dir.display()
            );
        }
        config.key_algorithm = KeyAlgorithm::Ed25519;
    }
    let network = Network::start(config)
        .await
        .with_context(|| format!("starting devnet in {}", dir.display()))?;

    progress("installing the chaincode package");
    let package_id = network.install_package(&pkg.bytes)?;
    let existing = network.channels();
    for ch in &args.channels {
        // A new channel has every org; an existing one, the orgs whose peers joined it.
        let orgs: Vec<String> = network
            .peers()
            .iter()
            .filter(|p| !existing.contains(ch) || p.peer.channel(ch).is_some())
            .map(|p| p.msp_id().to_owned())
            .collect();
        if existing.contains(ch) {
            // A run stopped between creating the channel and defining the chaincode (a
            // crash) left a channel without it: finish the job.
            let defined = network
                .peers()
                .iter()
                .filter_map(|p| p.peer.channel(ch))
                .all(|c| c.definition(CHAINCODE).is_some());
            if defined {
                continue;
            }
            progress(&format!("committing chaincode {CHAINCODE} on channel {ch}"));
        } else {
            progress(&format!(
                "creating channel {ch} and committing chaincode {CHAINCODE}"
            ));
            network.create_channel(ch, &orgs).await?;
        }
        let policy = args
            .policy
            .clone()
            .unwrap_or_else(|| any_peer_policy(&orgs));
        network
            .commit_chaincode(
                ch,
                ChaincodeSpec::new(CHAINCODE, &package_id).with_policy(policy),
            )
            .await?;
    }

    let profile = profile_of(&network);
    let profile_path = dir.join("profile.yaml");
    profile.save(&profile_path)?;
    Ok(Devnet {
        network,
        profile,
        profile_path,
        ccaas_addr,
        package_id,
        stop_ccaas,
        ccaas,
        resumed,
        last_installed: std::sync::Mutex::new(None),
    })
}

/// `OR('Org1MSP.peer', ...)`: any one peer org.
pub fn any_peer_policy(msps: &[String]) -> String {
    let list = msps
        .iter()
        .map(|m| format!("'{m}.peer'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("OR({list})")
}

/// The client profile of a running network.
pub fn profile_of(network: &Network) -> Profile {
    let tls = network.tls();
    let mut orgs = std::collections::BTreeMap::new();
    for p in network.peers() {
        let mut users = std::collections::BTreeMap::new();
        for u in ["Admin", "User1"] {
            users.insert(u.to_owned(), p.org.user_msp_dir(u));
        }
        orgs.insert(
            p.org.spec.name.clone(),
            Org {
                msp_id: p.msp_id().to_owned(),
                peer: Some(Endpoint {
                    endpoint: p.address.to_string(),
                    tls_ca: tls.then(|| p.org.tls_ca_cert_path()),
                    server_name: tls.then(|| p.server_name()),
                }),
                users,
            },
        );
    }
    let oo = network.orderer_org();
    let default_identity = ["Tenant1", "Org1"]
        .into_iter()
        .find(|o| orgs.contains_key(*o))
        .or_else(|| orgs.keys().next().map(String::as_str))
        .map(|o| format!("User1@{o}"));
    Profile {
        name: "devnet".into(),
        chaincode: CHAINCODE.into(),
        channels: network.channels(),
        default_identity,
        orderer: Some(Endpoint {
            endpoint: network.orderer_address().to_string(),
            tls_ca: tls.then(|| oo.tls_ca_cert_path()),
            server_name: tls.then(|| oo.node_name("orderer")),
        }),
        orgs,
        base_dir: network.dir().to_path_buf(),
    }
}

impl Devnet {
    /// The package installed last through the admin socket on this run.
    pub fn last_installed(&self) -> Option<String> {
        self.last_installed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn set_last_installed(&self, package_id: &str) {
        *self
            .last_installed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(package_id.to_owned());
    }

    /// What runs where.
    pub fn table(&self) -> comfy_table::Table {
        let mut t = output::table(&["what", "org", "MSP / package", "endpoint"]);
        if let Some(o) = &self.profile.orderer {
            t.add_row(vec![
                "orderer".into(),
                "Orderer".into(),
                "OrdererMSP".into(),
                o.endpoint.clone(),
            ]);
        }
        for (name, o) in &self.profile.orgs {
            t.add_row(vec![
                "peer (Gateway + Deliver)".into(),
                name.clone(),
                o.msp_id.clone(),
                o.peer
                    .as_ref()
                    .map(|p| p.endpoint.clone())
                    .unwrap_or_default(),
            ]);
        }
        t.add_row(vec![
            "chaincode server (CCaaS)".into(),
            String::new(),
            output::short(&self.package_id, 24),
            self.ccaas_addr.clone(),
        ]);
        t
    }

    /// Stops the network, then the chaincode server.
    pub async fn stop(self) {
        self.network.stop().await;
        let _ = self.stop_ccaas.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.ccaas).await;
    }
}

pub async fn run(ctx: &Ctx, cmd: DevnetCmd) -> anyhow::Result<()> {
    match cmd {
        DevnetCmd::Up(a) => up(ctx, a).await,
        DevnetCmd::Down(d) => down(ctx, &d),
        DevnetCmd::Status(d) => status(ctx, &d).await,
        DevnetCmd::Channel(c) => super::devnet_admin::run_channel(ctx, c).await,
        DevnetCmd::Chaincode(c) => super::devnet_admin::run_chaincode(ctx, c).await,
    }
}

fn pid_file(dir: &Path) -> PathBuf {
    dir.join("devnet.pid")
}

fn read_pid(dir: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file(dir))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The pid of the devnet running from `dir`, if its pid file names one.
fn running_devnet(dir: &Path) -> Option<i32> {
    read_pid(dir).filter(|p| alive(*p) && runs_devnet_up(*p))
}

/// Whether process `pid` is a `… devnet up …` (after a crash or a reboot, a devnet's pid
/// may belong to any other process by now).
fn runs_devnet_up(pid: i32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"devnet".as_slice() && w[1] == b"up".as_slice())
}

/// Whether process `pid` runs (a zombie — exited, not yet reaped by its parent — does not).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

async fn up(ctx: &Ctx, a: UpArgs) -> anyhow::Result<()> {
    let dir = dir_of(&a.dir);
    if let Some(pid) = running_devnet(&dir) {
        bail!(
            "a devnet already runs from {} (pid {pid}); stop it with `sfcbc devnet down{}`",
            dir.display(),
            a.dir
                .dir
                .as_ref()
                .map(|d| format!(" --dir {}", d.display()))
                .unwrap_or_default()
        );
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if ctx.global.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let devnet = start(&a, &|m| bar.set_message(m.to_owned())).await;
    bar.finish_and_clear();
    let devnet = devnet?;
    // Ready: the servers listen, the channels run and the profile is written.
    let startup_ms = started.elapsed().as_millis() as u64;
    let dir = devnet.network.dir().to_path_buf();
    std::fs::write(pid_file(&dir), std::process::id().to_string())
        .with_context(|| format!("cannot write {}", pid_file(&dir).display()))?;
    if ctx.global.json {
        output::json(&serde_json::json!({
            "dir": dir,
            "profile": devnet.profile_path,
            "pid": std::process::id(),
            "startup_ms": startup_ms,
            "chaincode": {"address": devnet.ccaas_addr, "packageId": devnet.package_id},
            "settings": settings(&a, devnet.resumed),
            "network": devnet.profile,
        }))?;
    } else {
        outln!(
            "devnet {} in {startup_ms} ms — {}",
            if devnet.resumed { "resumed" } else { "up" },
            dir.display()
        );
        outln!("{}", devnet.table());
        outln!("channels: {}", devnet.profile.channels.join(", "));
        let s = settings(&a, devnet.resumed);
        outln!(
            "new channels: BatchTimeout {}, MaxMessageCount {}; TLS {}; keys {}",
            s["batchTimeout"].as_str().unwrap_or_default(),
            s["maxMessageCount"],
            a.tls,
            s["keys"].as_str().unwrap_or_default(),
        );
        outln!(
            "profile:  {} (the CLI's default)",
            devnet.profile_path.display()
        );
        outln!("Ctrl-C (or `sfcbc devnet down`) stops it; `sfcbc devnet up` again resumes it.");
    }
    super::devnet_admin::serve(&devnet, &dir, shutdown_signal()).await;
    if !ctx.global.json {
        outln!("stopping devnet…");
    }
    devnet.stop().await;
    let _ = std::fs::remove_file(pid_file(&dir));
    Ok(())
}

/// The options `up` ran with, for its output.
fn settings(a: &UpArgs, resumed: bool) -> serde_json::Value {
    let keys = match (resumed, a.ed25519) {
        (true, _) => "as first generated (resumed network)",
        (false, true) => "Ed25519",
        (false, false) => "ECDSA P-256",
    };
    serde_json::json!({
        "orgs": a.orgs,
        "tls": a.tls == "on",
        "batchTimeout": format!("{:?}", a.batch_timeout),
        "maxMessageCount": a.max_message_count,
        "keys": keys,
        "resumed": resumed,
    })
}

fn down(ctx: &Ctx, d: &DirArgs) -> anyhow::Result<()> {
    let dir = dir_of(d);
    let Some(pid) = read_pid(&dir) else {
        bail!(
            "no devnet.pid in {}: no devnet is running from there",
            dir.display()
        );
    };
    if !alive(pid) {
        let _ = std::fs::remove_file(pid_file(&dir));
        bail!(
            "the devnet of {} (pid {pid}) is not running; removed its stale pid file",
            dir.display()
        );
    }
    if !runs_devnet_up(pid) {
        let _ = std::fs::remove_file(pid_file(&dir));
        bail!(
            "pid {pid} in {} is not a `sfcbc devnet up` (the devnet is gone and its pid was \
             reused); left it alone and removed the stale pid file",
            pid_file(&dir).display()
        );
    }
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .context("running kill")?;
    if !st.success() {
        bail!("kill -TERM {pid} failed");
    }
    for _ in 0..100 {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if alive(pid) {
        bail!("devnet (pid {pid}) did not stop within 10 s");
    }
    if ctx.global.json {
        output::json(&serde_json::json!({"stopped": pid}))
    } else {
        outln!(
            "devnet (pid {pid}) stopped; its ledgers stay in {}",
            dir.display()
        );
        Ok(())
    }
}

async fn status(ctx: &Ctx, d: &DirArgs) -> anyhow::Result<()> {
    let dir = dir_of(d);
    // An explicit --dir names the devnet; else --profile (or $SFCBC_PROFILE), else the default.
    let path = match (&d.dir, &ctx.global.profile) {
        (None, Some(p)) => p.clone(),
        _ => dir.join("profile.yaml"),
    };
    let p = Profile::load(&path)?;
    let pid = running_devnet(&dir);
    let mut rows = Vec::new();
    for (name, org) in &p.orgs {
        let Some(peer) = &org.peer else { continue };
        let mut heights = Vec::new();
        let reach = match p.select(Some(&format!("User1@{name}"))) {
            Ok(s) => {
                match tokio::time::timeout(Duration::from_secs(3), p.connect(&s, None)).await {
                    Ok(Ok(g)) => {
                        for ch in &p.channels {
                            let h = tokio::time::timeout(
                                Duration::from_secs(3),
                                super::blocks::height(&g.network(ch.clone())),
                            )
                            .await;
                            heights.push(match h {
                                Ok(Ok(h)) => format!("{ch}={h}"),
                                _ => format!("{ch}=?"),
                            });
                        }
                        "up"
                    }
                    _ => "down",
                }
            }
            Err(_) => "?",
        };
        rows.push(serde_json::json!({
            "org": name, "msp": org.msp_id, "endpoint": peer.endpoint, "state": reach,
            "heights": heights,
        }));
    }
    if ctx.global.json {
        return output::json(&serde_json::json!({"dir": dir, "pid": pid, "peers": rows}));
    }
    outln!(
        "devnet {}: {}",
        dir.display(),
        pid.map_or_else(
            || "no running process recorded".to_owned(),
            |p| format!("running (pid {p})")
        )
    );
    let mut t = output::table(&["org", "MSP", "endpoint", "state", "heights"]);
    for r in &rows {
        t.add_row(vec![
            r["org"].as_str().unwrap_or_default().to_owned(),
            r["msp"].as_str().unwrap_or_default().to_owned(),
            r["endpoint"].as_str().unwrap_or_default().to_owned(),
            r["state"].as_str().unwrap_or_default().to_owned(),
            r["heights"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
        ]);
    }
    outln!("{t}");
    Ok(())
}

/// Re-exported for `sfcbc chain create`.
pub use super::devnet_admin::request_channel;

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("50"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        for bad in ["", "ms", "0", "0ms", "-5ms", "5 parsecs", "2h", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
