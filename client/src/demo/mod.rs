//! `sfcbc demo`: the paper's demonstration, end to end, in one process.
//!
//! A devnet (or the network of `--profile`) with the SFC chaincode served by sfcbc-ccaas
//! over CCaaS; chain1 on its own channel = Org1:NameWriter:1 (`hash+address`) →
//! Org2:NameWriter:1 (`hash`) → Org3:NameWriter:1 (`address`); User1's credentials and the
//! endpoints shared privately with each SP; three SFs, a source and a sink on 127.0.0.x.
//! Then five scenarios, each with the outcome it must have: a valid message arrives with
//! three stamps and a complete trace; wrong credentials at Org2, a forged source, a tampered
//! payload and a replay are each dropped, and their error records are read back from the
//! ledger. A verdict per scenario; exit 1 if any is wrong.

use crate::cli::output::outln;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use sfcbc_chaincode::types::{Chain, ChainSpec, Endpoint, ErrorKind, Hop, HopError, Validation};
use sfcbc_client::SfcContract;
use sfcbc_client::profile::Profile;
use sfcbc_client::sf::function::stamps;
use sfcbc_client::sf::{self, GatewayConfig, HopRef, Sf, SfConfig, sha256_hex};
use tokio::net::UdpSocket;

use crate::cli::devnet::{self, DirArgs, UpArgs};
use crate::cli::{Ctx, blocks, ledger, output};

/// The account name and secret of the demo's user at every SP.
const ACCOUNT: &str = "user1";
const SECRET: &[u8] = b"user1's secret: correct horse battery staple";
const WRONG_SECRET: &[u8] = b"a guess";
/// How long a scenario waits for its outcome.
const OUTCOME_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sfcbc demo\n  sfcbc demo --json\n  sfcbc --profile real-fabric.yaml demo --chain chain7"
)]
pub struct DemoArgs {
    /// Run the devnet in this folder (default: a fresh temporary folder, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the temporary devnet folder.
    #[arg(long)]
    pub keep: bool,
    /// The chain id (must be new on the network).
    #[arg(long, default_value = "chain1")]
    pub chain: String,
    /// The chain owner (a user of the tenant org).
    #[arg(long, default_value = "User1@Tenant1")]
    pub owner: String,
    /// The three SP orgs, in hop order.
    #[arg(long, default_value = "Org1,Org2,Org3", value_delimiter = ',')]
    pub sps: Vec<String>,
}

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub scenario: String,
    pub expected: String,
    pub observed: String,
    pub ok: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report {
    chain: Chain,
    channel: String,
    delivered: Option<String>,
    stamps: Vec<(String, String)>,
    blocks: Vec<blocks::TxSummary>,
    errors: Vec<HopError>,
    verdicts: Vec<Verdict>,
    seconds: f64,
}

/// Prints progress for humans (not with `--json`).
struct Ui {
    json: bool,
}

impl Ui {
    fn step(&self, m: &str) {
        if !self.json {
            outln!("▸ {m}");
        }
    }
    fn say(&self, m: impl std::fmt::Display) {
        if !self.json {
            outln!("{m}");
        }
    }
}

pub async fn run(ctx: &Ctx, a: DemoArgs) -> anyhow::Result<()> {
    if a.sps.len() != 3 {
        bail!(
            "--sps takes exactly three orgs (the chain has three hops), got {}",
            a.sps.len()
        );
    }
    // Checked before a devnet starts, so a typo costs nothing and leaves no folder behind.
    sfcbc_chaincode::validate::id("--chain", &a.chain).map_err(|e| anyhow::anyhow!("{e}"))?;
    let channel = format!("sfc-{}", a.chain);
    if ctx.global.channel.is_none() && !sfcbc_devnet::ledger::valid_channel_name(&channel) {
        bail!(
            "--chain {:?}: its channel would be {channel:?}, but channel names take lowercase \
             letters, digits, '.' and '-' (or name an existing channel with --channel)",
            a.chain
        );
    }
    if !a.owner.contains('@') {
        bail!(
            "--owner {:?}: write it as USER@ORG, e.g. User1@Tenant1",
            a.owner
        );
    }
    let started = Instant::now();
    let ui = Ui {
        json: ctx.global.json,
    };
    let temp = a.dir.is_none() && ctx.global.profile.is_none();
    let (dn, profile) = match &ctx.global.profile {
        Some(p) => {
            ui.step(&format!("using the network of {}", p.display()));
            (None, Profile::load(p)?)
        }
        None => {
            let dir = a.dir.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("sfcbc-demo-{}", std::process::id()))
            });
            ui.step(&format!("starting devnet in {}", dir.display()));
            let up = UpArgs {
                dir: DirArgs {
                    dir: Some(dir.clone()),
                },
                channels: vec![format!("sfc-{}", a.chain)],
                ..UpArgs::default()
            };
            let d = match devnet::start(&up, &|m| ui.step(m)).await {
                Ok(d) => d,
                Err(e) => {
                    if temp && !a.keep {
                        let _ = std::fs::remove_dir_all(&dir);
                    }
                    return Err(e);
                }
            };
            if !ui.json {
                outln!("{}", d.table());
            }
            let p = d.profile.clone();
            (Some(d), p)
        }
    };
    let result = demo(ctx, &a, &profile, &ui, started).await;
    if let Some(d) = dn {
        let dir = d.network.dir().to_path_buf();
        d.stop().await;
        if temp && !a.keep {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            ui.say(format!("devnet folder kept: {}", dir.display()));
        }
    }
    let report = result?;
    let failed = report.verdicts.iter().filter(|v| !v.ok).count();
    if ctx.global.json {
        output::json(&report)?;
    } else {
        let mut t = output::table(&["scenario", "expected", "observed", "verdict"]);
        for v in &report.verdicts {
            t.add_row(vec![
                v.scenario.clone(),
                v.expected.clone(),
                v.observed.clone(),
                if v.ok { "PASS".into() } else { "FAIL".into() },
            ]);
        }
        outln!("\n{t}");
        outln!("demo finished in {:.1} s", report.seconds);
    }
    if failed > 0 {
        bail!("{failed} scenario(s) did not end as the paper's demonstration expects");
    }
    Ok(())
}

/// A free UDP port on loopback address `ip` (e.g. `127.0.0.2`).
fn free_udp(ip: &str) -> anyhow::Result<SocketAddr> {
    let s = std::net::UdpSocket::bind(format!("{ip}:0"))
        .with_context(|| format!("cannot bind UDP on {ip}: is 127.0.0.0/8 routed to lo?"))?;
    Ok(s.local_addr()?)
}

/// The SF gateway config for `User1@org` on `channel`.
fn sf_gateway(p: &Profile, org: &str, channel: &str) -> anyhow::Result<GatewayConfig> {
    let s = p.select(Some(&format!("User1@{org}")))?;
    let (_, peer) = p.peer_of(org)?;
    Ok(GatewayConfig {
        msp_id: s.msp_id.clone(),
        msp_dir: s.msp_dir.clone(),
        endpoint: peer.endpoint.clone(),
        tls_ca: peer.tls_ca.as_ref().map(|c| p.resolve(c)),
        server_name: peer.server_name.clone(),
        channel: channel.to_owned(),
        chaincode: p.chaincode.clone(),
    })
}

/// Receives one datagram within `wait`.
async fn recv(sock: &UdpSocket, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

/// Waits for a new error record at `psiid` of `kind` (and input hash, when given).
async fn wait_error(
    sfc: &SfcContract,
    chain: &str,
    psiid: &str,
    kind: ErrorKind,
    input_hash: Option<&str>,
    seen: &mut HashSet<String>,
) -> Result<HopError, String> {
    let end = Instant::now() + OUTCOME_WAIT;
    let mut others = Vec::new();
    loop {
        let errs = ledger::all_errors(sfc, chain, Some(psiid), 100, 10_000)
            .await
            .map_err(|e| format!("{e:#}"))?;
        for e in errs {
            if seen.contains(&e.tx_id) {
                continue;
            }
            seen.insert(e.tx_id.clone());
            if e.kind == kind && input_hash.is_none_or(|h| h == e.input_hash) {
                return Ok(e);
            }
            others.push(format!("{:?}: {}", e.kind, e.detail));
        }
        if Instant::now() >= end {
            return Err(if others.is_empty() {
                format!("no error recorded at {psiid} within {OUTCOME_WAIT:?}")
            } else {
                format!("other errors: {}", others.join("; "))
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The outcome a failure scenario must have.
#[derive(Debug, Clone, Copy)]
struct Dropped {
    /// The hop (0-based) that must drop the datagram.
    hop: usize,
    kind: ErrorKind,
    /// Whether the dropped input is the datagram sent (else a hop's output of it).
    known_input: bool,
}

/// Everything the scenarios share.
struct Stage<'a> {
    owner: SfcContract,
    /// The owner's contract through each hop SP's own gateway (private sharing goes there).
    owner_via_sp: Vec<SfcContract>,
    chain: Chain,
    psiids: Vec<String>,
    hop_addrs: Vec<SocketAddr>,
    source: UdpSocket,
    sink: UdpSocket,
    seen: HashSet<String>,
    errors: Vec<HopError>,
    verdicts: Vec<Verdict>,
    ui: &'a Ui,
}

impl Stage<'_> {
    /// Sends `payload` from `from` to `to`, expects a drop at hop `hop` of `kind` and nothing
    /// at the sink.
    async fn expect_drop(
        &mut self,
        scenario: &str,
        from: &UdpSocket,
        to: SocketAddr,
        payload: &[u8],
        expect: Dropped,
    ) -> anyhow::Result<()> {
        let Dropped {
            hop,
            kind,
            known_input,
        } = expect;
        let psiid = self.psiids[hop].clone();
        let expected = format!("dropped at {psiid}: {}", kind_name(kind));
        self.ui.step(&format!(
            "{scenario}: sending {} bytes to {to}",
            payload.len()
        ));
        from.send_to(payload, to).await.context("sending")?;
        let h = sha256_hex(payload);
        let input = known_input.then_some(h.as_str());
        let got = wait_error(
            &self.owner,
            &self.chain.id,
            &psiid,
            kind,
            input,
            &mut self.seen,
        )
        .await;
        let leaked = recv(&self.sink, Duration::from_millis(300)).await;
        let (ok, observed) = match (&got, &leaked) {
            (Ok(e), None) => (
                true,
                format!(
                    "dropped at {psiid}: {}, recorded in tx {}",
                    kind_name(e.kind),
                    output::short(&e.tx_id, 12)
                ),
            ),
            (Ok(_), Some(p)) => (
                false,
                format!(
                    "recorded, but the destination still got {:?}",
                    String::from_utf8_lossy(p)
                ),
            ),
            (Err(why), _) => (false, why.clone()),
        };
        if let Ok(e) = got {
            if !self.ui.json {
                outln!("{}", ledger::errors_table(std::slice::from_ref(&e)));
            }
            self.errors.push(e);
        }
        self.verdicts.push(Verdict {
            scenario: scenario.into(),
            expected,
            observed,
            ok,
        });
        Ok(())
    }
}

fn kind_name(k: ErrorKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{k:?}").to_lowercase())
}

async fn demo(
    ctx: &Ctx,
    a: &DemoArgs,
    p: &Profile,
    ui: &Ui,
    started: Instant,
) -> anyhow::Result<Report> {
    let chain_id = a.chain.clone();
    let channel = p
        .channel_for(Some(&chain_id), ctx.global.channel.as_deref())
        .context("the profile lists no channel: pass --channel NAME")?;
    let owner_id = p.select(Some(&a.owner))?;
    let owner_gw = p.connect(&owner_id, None).await?;
    let owner = SfcContract::new(owner_gw.network(&channel).contract(p.chaincode.clone()));

    // The chain: a mix of policies.
    let policies = [
        Validation::HashAddress,
        Validation::Hash,
        Validation::Address,
    ];
    let ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let mut hops = Vec::new();
    for (i, sp) in a.sps.iter().enumerate() {
        let (key, org) = p.org(sp)?;
        // An SP that runs two hops (e.g. on a two-org network) runs instances 1 and 2.
        let instance = 1 + a.sps[..i]
            .iter()
            .filter(|o| o.eq_ignore_ascii_case(sp))
            .count();
        hops.push(Hop {
            psiid: format!("{key}:NameWriter:{instance}"),
            sp_msp: org.msp_id.clone(),
            address: free_udp(ips[i])?.to_string(),
            validation: policies[i],
            collection: None,
        });
    }
    let spec = ChainSpec {
        id: chain_id.clone(),
        hops,
        classifier: None,
    };
    ui.step(&format!(
        "{} creates {chain_id} on channel {channel}",
        owner_id.label()
    ));
    let chain = owner.create_chain(&spec).await.with_context(|| {
        format!("CreateChain {chain_id} (on a reused network, pick a new --chain)")
    })?;
    if !ui.json {
        outln!("{}", crate::cli::chain::hops_table(&chain));
    }
    let psiids: Vec<String> = chain.hops.iter().map(|h| h.psiid.clone()).collect();
    let hop_addrs: Vec<SocketAddr> = chain
        .hops
        .iter()
        .map(|h| h.address.parse())
        .collect::<Result<_, _>>()
        .context("hop address")?;
    let src = free_udp("127.0.0.10")?;
    let dst = free_udp("127.0.0.11")?;

    // Accounts at each SP, credentials and endpoints shared privately.
    let mut owner_via_sp = Vec::new();
    for (i, sp) in a.sps.iter().enumerate() {
        let admin = p.select(Some(&format!("Admin@{sp}")))?;
        let g = p.connect(&admin, None).await?;
        SfcContract::new(g.network(&channel).contract(p.chaincode.clone()))
            .register_account(ACCOUNT, SECRET)
            .await
            .with_context(|| format!("RegisterAccount at {sp}"))?;
        let via_sp = p.connect(&owner_id, Some(sp)).await?;
        let sfc = SfcContract::new(via_sp.network(&channel).contract(p.chaincode.clone()));
        owner_via_sp.push(sfc.clone());
        sfc.share_auth(&chain, &psiids[i], ACCOUNT, SECRET)
            .await
            .with_context(|| format!("ShareAuth {}", psiids[i]))?;
        let ep = match i {
            0 => Some(Endpoint {
                source: Some(src.to_string()),
                destination: None,
            }),
            2 => Some(Endpoint {
                source: None,
                destination: Some(dst.to_string()),
            }),
            _ => None,
        };
        if let Some(ep) = ep {
            sfc.share_endpoints(&chain, &psiids[i], &ep)
                .await
                .with_context(|| format!("ShareEndpoints {}", psiids[i]))?;
        }
        ui.step(&format!(
            "{sp} registered {ACCOUNT}; {} shared {ACCOUNT}'s credentials{} with {sp} only (transient data, endorsed by {} alone)",
            owner_id.label(),
            if i == 0 { " and the source" } else if i == 2 { " and the destination" } else { "" },
            chain.hops[i].sp_msp
        ));
    }

    // The SFs, each as its SP's User1 through its SP's own peer.
    let mut sfs: Vec<Sf> = Vec::new();
    for (i, sp) in a.sps.iter().enumerate() {
        let g = sf_gateway(p, sp, &channel)?;
        let hop_ref = HopRef {
            chain: chain_id.clone(),
            psiid: psiids[i].clone(),
            sources: Vec::new(),
            channel: None,
        };
        let ledger = sf::connect_gateway(&g, std::iter::once((&hop_ref.chain, &hop_ref.channel)))
            .await
            .with_context(|| format!("SF {} cannot reach its peer", psiids[i]))?;
        let mut config = SfConfig::new(vec![hop_ref]);
        config.listen = Some(hop_addrs[i]);
        config.records.batch_interval_ms = 10;
        config.validation.hash_wait_ms = 1_000;
        // Every datagram asks CheckIn, so a changed credential counts at once.
        config.validation.auth_ttl_ms = 0;
        let sf = Sf::start(config, Arc::new(ledger)).await?;
        if !sf.wait_ready(Duration::from_secs(10)).await {
            bail!("SF {} did not load chain {chain_id} within 10 s", psiids[i]);
        }
        ui.step(&format!(
            "SF {} listening on {} ({})",
            psiids[i], sf.local_addr, chain.hops[i].validation
        ));
        sfs.push(sf);
    }
    let source = UdpSocket::bind(src).await.context("binding the source")?;
    let sink = UdpSocket::bind(dst).await.context("binding the sink")?;
    ui.step(&format!(
        "source {src} → {} → sink {dst}",
        psiids.join(" → ")
    ));

    let mut stage = Stage {
        owner,
        owner_via_sp,
        chain: chain.clone(),
        psiids: psiids.clone(),
        hop_addrs: hop_addrs.clone(),
        source,
        sink,
        seen: HashSet::new(),
        errors: Vec::new(),
        verdicts: Vec::new(),
        ui,
    };
    let res = scenarios(&mut stage).await;
    for sf in sfs {
        sf.shutdown().await;
    }
    let (delivered, stamps_seen) = res?;

    let network = owner_gw.network(&channel);
    let block_list: Vec<blocks::TxSummary> = blocks::fetch_blocks(&network, 0, None)
        .await?
        .iter()
        .flat_map(blocks::summarize)
        .collect();
    Ok(Report {
        chain,
        channel,
        delivered,
        stamps: stamps_seen,
        blocks: block_list,
        errors: stage.errors,
        verdicts: stage.verdicts,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The five scenarios; returns the delivered message and its stamps.
async fn scenarios(st: &mut Stage<'_>) -> anyhow::Result<(Option<String>, Vec<(String, String)>)> {
    let ui = st.ui;
    let chain_id = st.chain.id.clone();

    // 1. A valid message: three stamps, in hop order, and a complete trace.
    let p0 = b"hello, SFC-BC".to_vec();
    ui.say("");
    ui.step(&format!(
        "valid message: {:?} from the registered source",
        String::from_utf8_lossy(&p0)
    ));
    st.source.send_to(&p0, st.hop_addrs[0]).await?;
    let arrived = recv(&st.sink, OUTCOME_WAIT).await;
    let got_stamps = arrived.as_deref().map(stamps).unwrap_or_default();
    let order: Vec<&str> = got_stamps.iter().map(|(p, _)| p.as_str()).collect();
    let want: Vec<&str> = st.psiids.iter().map(String::as_str).collect();
    let mut trace_ok = false;
    if arrived.is_some() {
        let end = Instant::now() + OUTCOME_WAIT;
        while Instant::now() < end {
            if let Ok(t) = st.owner.trace_message(&chain_id, &sha256_hex(&p0)).await
                && t.complete
            {
                trace_ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let delivered = arrived
        .as_ref()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    if let Some(d) = &delivered {
        ui.say(format!("destination received: {d}"));
        if !ui.json {
            let mut t = output::table(&["stamp", "psiid", "timestamp"]);
            for (i, (ps, ts)) in got_stamps.iter().enumerate() {
                t.add_row(vec![(i + 1).to_string(), ps.clone(), ts.clone()]);
            }
            outln!("{t}");
        }
    }
    let ok = order == want && trace_ok;
    st.verdicts.push(Verdict {
        scenario: "valid message".into(),
        expected: "delivered with 3 stamps in hop order; trace complete".into(),
        observed: match &delivered {
            None => "nothing arrived at the destination".into(),
            Some(_) => format!(
                "delivered with {} stamp(s) [{}]; trace {}",
                got_stamps.len(),
                order.join(", "),
                if trace_ok { "complete" } else { "incomplete" }
            ),
        },
        ok,
    });
    if ok && !ui.json {
        let t = st.owner.trace_message(&chain_id, &sha256_hex(&p0)).await?;
        let mut tb = output::table(&["hop", "input", "output", "ts", "tx"]);
        for h in &t.hops {
            tb.add_row(vec![
                h.psiid.clone(),
                output::short(&h.input_hash, 12),
                output::short(&h.output_hash, 12),
                h.ts.clone(),
                output::short(&h.tx_id, 12),
            ]);
        }
        outln!("trace of the message from the ledger:\n{tb}");
    }
    if !ui.json {
        let network = st.owner.contract().network().clone();
        let b = blocks::fetch_blocks(&network, 0, None).await?;
        let txs: Vec<blocks::TxSummary> = b.iter().flat_map(blocks::summarize).collect();
        outln!(
            "blocks on {} (private data as hashes only):\n{}",
            network.name(),
            blocks::tx_table(&txs)
        );
    }

    // 2. Wrong credentials at Org2's hop.
    ui.say("");
    let sp2 = st.psiids[1].clone();
    ui.step(&format!(
        "wrong credentials: the owner re-shares a wrong secret with {sp2}"
    ));
    let c = st.chain.clone();
    let via = st.owner_via_sp[1].clone();
    via.share_auth(&c, &sp2, "user1", WRONG_SECRET)
        .await
        .context("ShareAuth (wrong secret)")?;
    let to = st.hop_addrs[0];
    let p1 = b"message with a wrong credential at hop 2".to_vec();
    // expect_drop borrows the stage mutably: lend it the source socket meanwhile.
    let source = std::mem::replace(&mut st.source, UdpSocket::bind("127.0.0.1:0").await?);
    st.expect_drop(
        "wrong credentials",
        &source,
        to,
        &p1,
        Dropped {
            hop: 1,
            kind: ErrorKind::Auth,
            known_input: false,
        },
    )
    .await?;
    via.share_auth(&c, &sp2, "user1", SECRET)
        .await
        .context("ShareAuth (restoring the secret)")?;
    ui.step(&format!("credentials at {sp2} restored"));

    // 3. A forged source: the right payload from an unregistered address.
    ui.say("");
    let forger = UdpSocket::bind("127.0.0.12:0")
        .await
        .context("binding the forger")?;
    let p2 = b"message from a forged source".to_vec();
    st.expect_drop(
        "forged source",
        &forger,
        to,
        &p2,
        Dropped {
            hop: 0,
            kind: ErrorKind::Source,
            known_input: true,
        },
    )
    .await?;

    // 4. A tampered payload: hop 1's output of the valid message, altered on the way to hop 2.
    ui.say("");
    if let Some(d) = &delivered {
        let marker = format!("|{}@", st.psiids[1]);
        let hop1_out = d.split(marker.as_str()).next().unwrap_or_default();
        let tampered = hop1_out.replacen("hello", "HELLO", 1).into_bytes();
        let mitm = UdpSocket::bind("127.0.0.13:0")
            .await
            .context("binding the tamperer")?;
        let to2 = st.hop_addrs[1];
        st.expect_drop(
            "tampered payload",
            &mitm,
            to2,
            &tampered,
            Dropped {
                hop: 1,
                kind: ErrorKind::Hash,
                known_input: true,
            },
        )
        .await?;
    } else {
        st.verdicts.push(Verdict {
            scenario: "tampered payload".into(),
            expected: format!("dropped at {}: hash", st.psiids[1]),
            observed: "not run: the valid message never arrived".into(),
            ok: false,
        });
    }

    // 5. Replay: the valid message again, from the registered source.
    ui.say("");
    st.expect_drop(
        "replayed message",
        &source,
        to,
        &p0,
        Dropped {
            hop: 0,
            kind: ErrorKind::Replay,
            known_input: true,
        },
    )
    .await?;
    st.source = source;
    Ok((delivered, got_stamps))
}
