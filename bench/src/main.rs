//! `sfcbc-bench`: the devnet and data-plane benchmarks (`sfcbc bench devnet|dataplane`
//! executes this binary). Writes `DIR/devnet.json` / `DIR/dataplane.json` and prints a
//! summary table. Run the release build: `cargo run --release -p sfcbc-bench -- devnet`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sfcbc_bench::ui::{Ui, write_json};
use sfcbc_bench::{dataplane, devnet};
use sfcbc_chaincode::types::Validation;

#[derive(Debug, Parser)]
#[command(
    name = "sfcbc-bench",
    version,
    about = "Benchmarks of sfcbc: devnet commit throughput and the SF data plane",
    after_help = "Examples:\n  sfcbc-bench devnet\n  sfcbc-bench devnet --duration 10 --concurrency 16,128 --policies one\n  sfcbc-bench dataplane --messages 20000 --policies none,hash\n  sfcbc-bench --quick dataplane --out /tmp/bench\n\nBuild with --release: a debug build's figures mean little (the JSON says which it was)."
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
        #[arg(long)]
        batch_timeout_ms: Option<u64>,
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
    },
}

fn parse_validation(s: &str) -> Result<Validation, String> {
    s.trim().parse()
}

async fn main_inner(cli: Cli) -> anyhow::Result<()> {
    let ui = Ui { quiet: cli.quiet };
    match cli.bench {
        Bench::Devnet {
            duration,
            concurrency,
            policies,
            batch_timeout_ms,
        } => {
            let mut o = if cli.quick {
                devnet::Options::quick()
            } else {
                devnet::Options::standard()
            };
            if let Some(d) = duration {
                anyhow::ensure!(d > 0.0, "--duration must be positive");
                o.duration = Duration::from_secs_f64(d);
                o.baseline_duration = o.duration / 2;
            }
            if let Some(c) = concurrency {
                anyhow::ensure!(
                    !c.is_empty() && c.iter().all(|&c| c > 0),
                    "--concurrency takes positive numbers"
                );
                o.concurrency = c;
            }
            if let Some(p) = policies {
                o.policies = p;
            }
            if let Some(b) = batch_timeout_ms {
                o.batch_timeout = Duration::from_millis(b);
            }
            let report = devnet::run(&ui, &o).await?;
            println!("{}", devnet::summary(&report));
            println!("machine: {}", report.machine.line());
            let path = write_json(&cli.out, "devnet.json", &report)?;
            println!("wrote {}", path.display());
        }
        Bench::Dataplane {
            messages,
            policies,
            window,
            hash_window,
            size,
            batch_timeout_ms,
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
            let report = dataplane::run(&ui, &o).await?;
            println!("{}", dataplane::summary(&report));
            println!(
                "ledger: {}; machine: {}",
                report.ledger,
                report.machine.line()
            );
            let path = write_json(&cli.out, "dataplane.json", &report)?;
            println!("wrote {}", path.display());
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
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(main_inner(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
