//! `sfcbc-bench`: the devnet, real-network and data-plane benchmarks (`sfcbc bench
//! devnet|fabric|dataplane` executes this binary). Writes `DIR/devnet.json`,
//! `DIR/fabric-real.json` or `DIR/dataplane.json` and prints a summary table (`--json`: the
//! report itself). Run the release build: `cargo run --release -p sfcbc-bench -- devnet`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sfcbc_bench::placement::{Placement, SplitRuntimes, TooFewCpus};
use sfcbc_bench::ui::{Ui, write_json};
use sfcbc_bench::{dataplane, devnet, fabric, workload};
use sfcbc_chaincode::types::Validation;

#[derive(Debug, Parser)]
#[command(
    name = "sfcbc-bench",
    version,
    about = "Benchmarks of sfcbc: commit throughput on devnet and on a real network, and the SF data plane",
    after_help = "Examples:\n  sfcbc-bench devnet\n  sfcbc-bench devnet --duration 10 --concurrency 16,128 --policies one\n  sfcbc-bench fabric --profile ~/.sfcbc/fabric/profile.yaml --chaincodes one=kv_one,2of3=kv_2of3\n  sfcbc-bench dataplane --messages 20000 --policies none,hash\n  sfcbc-bench dataplane --placement split --policies none,address\n  sfcbc-bench --quick dataplane --out /tmp/bench\n\nBuild with --release: a debug build's figures mean little (the JSON says which it was)."
)]
struct Cli {
    /// Where the JSON results go.
    #[arg(long, global = true, default_value = "target/bench")]
    out: PathBuf,
    /// A few seconds instead of ~2 minutes: proves the harness works, figures are not
    /// meaningful. Options given explicitly still apply.
    #[arg(long, global = true)]
    quick: bool,
    /// No progress bars or notes (the summary table and the JSON path still print).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Name of the JSON file written in --out (default: devnet.json, fabric-real.json or
    /// dataplane.json), e.g. to keep a run with other settings apart.
    #[arg(long, global = true, value_parser = parse_file)]
    file: Option<String>,
    /// Print the report as JSON on stdout instead of the summary table (the file is
    /// written either way).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Committed tx/s and commit latency of a blind write through the Gateway, against
    /// the evaluate-only rate of the same load.
    Devnet {
        /// Seconds measured per (policy, concurrency); the evaluate baseline takes half.
        #[arg(long)]
        duration: Option<f64>,
        /// Transactions in flight (workers), comma-separated.
        #[arg(long, value_delimiter = ',')]
        concurrency: Option<Vec<usize>>,
        /// Endorsement policies: `one` (any one of Org1–3) and/or `2of3`.
        #[arg(long, value_delimiter = ',', value_parser = devnet::Policy::parse)]
        policies: Option<Vec<devnet::Policy>>,
        /// The channel's BatchTimeout in milliseconds.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=60_000))]
        batch_timeout_ms: Option<u64>,
        /// The channel's BatchSize.MaxMessageCount (transactions per block at most).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        max_message_count: Option<u32>,
        /// The channel's member orgs, one peer each (default Org1,Org2,Org3; they must be
        /// among them): e.g. Manager,Org1,Org2,Org3 to validate on as many peers as
        /// network/fabric's channels do.
        #[arg(long, value_delimiter = ',', value_parser = parse_org)]
        orgs: Option<Vec<String>>,
    },
    /// The devnet workload (blind writes through the Gateway, evaluate baseline) against
    /// the network a client profile describes, e.g. real Fabric from network/fabric/.
    ///
    /// Deploys nothing: each chaincode must serve the kv contract (`sfcbc-ccaas serve
    /// --contract kv`) under the policy the network committed; the report names that
    /// policy (from `_lifecycle`) and the channel's BatchTimeout and BatchSize (from its
    /// config block). Writes fabric-real.json (devnet.json's shape plus `network` and
    /// `chaincodes`).
    #[command(
        after_help = "Examples:\n  sfcbc-bench fabric --profile ~/.sfcbc/fabric/profile.yaml --chaincodes kv\n  sfcbc-bench fabric --profile net.yaml -i User1@Org1 --channel bench --chaincodes one=kv_one,2of3=kv_2of3 --concurrency 1,16,128 --duration 5"
    )]
    Fabric {
        /// The sfcbc client profile of the network (as network/fabric/profile.sh writes it).
        #[arg(long, env = "SFCBC_PROFILE", value_name = "FILE")]
        profile: PathBuf,
        /// Who signs, USER@ORG (default: the profile's default_identity).
        #[arg(long, short, env = "SFCBC_IDENTITY", value_name = "USER@ORG")]
        identity: Option<String>,
        /// Send through ORG's gateway peer (default: the identity's own org's).
        #[arg(long, env = "SFCBC_GATEWAY", value_name = "ORG")]
        gateway: Option<String>,
        /// The channel (default: the profile's first).
        #[arg(long, short = 'C', env = "SFCBC_CHANNEL")]
        channel: Option<String>,
        /// Chaincodes serving the kv contract, comma-separated: NAME, or LABEL=NAME to
        /// call its runs LABEL in the JSON (e.g. one=kv_one). Default: the profile's
        /// chaincode.
        #[arg(long, value_delimiter = ',', value_parser = fabric::Target::parse, value_name = "[LABEL=]NAME")]
        chaincodes: Option<Vec<fabric::Target>>,
        /// Seconds measured per (chaincode, concurrency); the evaluate baseline takes half.
        #[arg(long)]
        duration: Option<f64>,
        /// Transactions in flight (workers), comma-separated.
        #[arg(long, value_delimiter = ',')]
        concurrency: Option<Vec<usize>>,
    },
    /// Messages/s and per-hop latency through a 3-hop SF chain per validation policy,
    /// against a plain UDP relay chain.
    Dataplane {
        /// Measured messages per pass (relay and SF chain each).
        #[arg(long)]
        messages: Option<u64>,
        /// Validation policies: none, address, hash, hash+address.
        #[arg(long, value_delimiter = ',', value_parser = parse_validation)]
        policies: Option<Vec<Validation>>,
        /// Datagrams in flight for the relay and the none / address chains.
        #[arg(long)]
        window: Option<usize>,
        /// Datagrams in flight for the hash / hash+address chains (latency-bound: they
        /// wait for record commits inside the SFs).
        #[arg(long)]
        hash_window: Option<usize>,
        /// Payload bytes at the source.
        #[arg(long)]
        size: Option<usize>,
        /// The channel's BatchTimeout in milliseconds.
        #[arg(long)]
        batch_timeout_ms: Option<u64>,
        /// Where the threads run. `shared` (default): everything on every CPU, as one
        /// machine runs it. `split`: the data plane (source, sink, relay and SFs) on the
        /// first CPU and the devnet (peers, orderer, chaincode) on the others, as when the
        /// peers run on hosts of their own; the relay gets the same one CPU. Needs 2 CPUs.
        #[arg(long, value_enum)]
        placement: Option<Placement>,
        /// Give each SF a spool file (`records.spool`, in a temporary folder), which makes
        /// it journal every record before forwarding (crash-safe records): to measure
        /// what that costs.
        #[arg(long)]
        spool: bool,
    },
}

/// Prints the report (table or JSON) and writes the JSON file.
fn finish(
    json: bool,
    out: &std::path::Path,
    file: &str,
    report: &impl serde::Serialize,
    table: impl std::fmt::Display,
    footer: String,
) -> anyhow::Result<()> {
    let path = write_json(out, file, report)?;
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        println!("{table}");
        println!("{footer}");
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn load_options(
    quick: bool,
    duration: Option<f64>,
    concurrency: Option<Vec<usize>>,
) -> anyhow::Result<workload::Load> {
    let mut load = if quick {
        workload::Load::quick()
    } else {
        workload::Load::standard()
    };
    if let Some(d) = duration {
        load.set_duration(d)?;
    }
    if let Some(c) = concurrency {
        load.set_concurrency(c)?;
    }
    Ok(load)
}

fn parse_file(s: &str) -> Result<String, String> {
    let ok = s.len() > 5
        && s.ends_with(".json")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !s.starts_with('.');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?}: a file name ending in .json (letters, digits, - _ .); it goes in --out"
        ))
    }
}

fn parse_org(s: &str) -> Result<String, String> {
    let s = s.trim();
    let ok = s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "org {s:?}: letters and digits, starting with a letter (e.g. Manager)"
        ))
    }
}

fn parse_validation(s: &str) -> Result<Validation, String> {
    s.trim().parse()
}

/// `split` is `Some` for `dataplane --placement split` (main built the pinned runtimes).
async fn main_inner(cli: Cli, split: Option<dataplane::SplitSide>) -> anyhow::Result<()> {
    let ui = Ui { quiet: cli.quiet };
    match cli.bench {
        Bench::Devnet {
            duration,
            concurrency,
            policies,
            batch_timeout_ms,
            max_message_count,
            orgs,
        } => {
            let mut o = if cli.quick {
                devnet::Options::quick()
            } else {
                devnet::Options::standard()
            };
            o.load = load_options(cli.quick, duration, concurrency)?;
            if let Some(p) = policies {
                anyhow::ensure!(!p.is_empty(), "--policies takes one or 2of3");
                o.policies = p;
            }
            if let Some(b) = batch_timeout_ms {
                o.batch_timeout = Duration::from_millis(b);
            }
            if let Some(m) = max_message_count {
                o.max_message_count = m;
            }
            if let Some(orgs) = orgs {
                let mut seen = std::collections::BTreeSet::new();
                anyhow::ensure!(
                    orgs.iter().all(|o| seen.insert(o.to_ascii_lowercase())),
                    "--orgs names an org twice"
                );
                o.orgs = orgs;
            }
            let report = devnet::run(&ui, &o).await?;
            let footer = format!("machine: {}", report.machine.line());
            finish(
                cli.json,
                &cli.out,
                cli.file.as_deref().unwrap_or("devnet.json"),
                &report,
                devnet::summary(&report),
                footer,
            )?;
        }
        Bench::Fabric {
            profile,
            identity,
            gateway,
            channel,
            chaincodes,
            duration,
            concurrency,
        } => {
            let mut o =
                fabric::Options::new(profile, load_options(cli.quick, duration, concurrency)?);
            o.identity = identity;
            o.gateway = gateway;
            o.channel = channel;
            o.targets = chaincodes.unwrap_or_default();
            let report = fabric::run(&ui, &o).await?;
            let n = &report.network;
            let footer = format!(
                "network: {} ({}), channel {}, BatchTimeout {}, MaxMessageCount {}; machine: {}",
                n.name,
                n.profile,
                n.channel,
                n.batch_timeout_ms
                    .map_or("unknown".into(), |m| format!("{m} ms")),
                n.max_message_count
                    .map_or("unknown".into(), |m| m.to_string()),
                report.machine.line()
            );
            finish(
                cli.json,
                &cli.out,
                cli.file.as_deref().unwrap_or("fabric-real.json"),
                &report,
                fabric::summary(&report),
                footer,
            )?;
        }
        Bench::Dataplane {
            messages,
            policies,
            window,
            hash_window,
            size,
            batch_timeout_ms,
            placement: _,
            spool,
        } => {
            let mut o = if cli.quick {
                dataplane::Options::quick()
            } else {
                dataplane::Options::standard()
            };
            if let Some(m) = messages {
                anyhow::ensure!(m > 0, "--messages must be positive");
                o.messages = m;
            }
            if let Some(p) = policies {
                o.policies = p;
            }
            if let Some(w) = window {
                anyhow::ensure!(w > 0, "--window must be positive");
                o.window = w;
            }
            if let Some(w) = hash_window {
                anyhow::ensure!(w > 0, "--hash-window must be positive");
                o.hash_window = w;
            }
            if let Some(s) = size {
                anyhow::ensure!(
                    (48..=60_000).contains(&s),
                    "--size must be 48..=60000 bytes (header + stamps fit in a datagram)"
                );
                o.size = s;
            }
            if let Some(b) = batch_timeout_ms {
                o.batch_timeout = Duration::from_millis(b);
            }
            o.split = split;
            o.spool = spool;
            let report = dataplane::run(&ui, &o).await?;
            let placed = match &report.split_cpus {
                Some(c) => format!(
                    "split (data plane on CPU {:?}, ledger on CPUs {:?})",
                    c.data_plane, c.ledger
                ),
                None => "shared".to_owned(),
            };
            let footer = format!(
                "ledger: {}; placement: {placed}; machine: {}",
                report.ledger,
                report.machine.line()
            );
            finish(
                cli.json,
                &cli.out,
                cli.file.as_deref().unwrap_or("dataplane.json"),
                &report,
                dataplane::summary(&report),
                footer,
            )?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SFCBC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let split = matches!(
        cli.bench,
        Bench::Dataplane {
            placement: Some(Placement::Split),
            ..
        }
    );
    let (rt, ledger) = if split {
        match SplitRuntimes::build() {
            Ok(s) => {
                // `block_on` runs main_inner (the sink among it) on this thread.
                s.pin_caller_to_data_plane();
                (s.data, Some((s.ledger, s.cpus)))
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                let usage = e.downcast_ref::<TooFewCpus>().is_some();
                return if usage {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                };
            }
        }
    } else {
        match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => (rt, None),
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let side = ledger.as_ref().map(|(rt, cpus)| dataplane::SplitSide {
        ledger: rt.handle().clone(),
        cpus: cpus.clone(),
    });
    let result = rt.block_on(main_inner(cli, side));
    if let Some((ledger, _)) = ledger {
        // The devnet was stopped inside; what is left (idle blocking threads) may go.
        ledger.shutdown_timeout(Duration::from_secs(5));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
