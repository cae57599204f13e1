//! `sfcbc`: the command-line interface of sfcbc (DESIGN §8). Thin: it parses the command
//! line, picks the profile and identity, and calls `sfcbc-client` (gateway client, SF
//! runtime, classifier, tools), `sfcbc-devnet` and `sfcbc-ccaas`. Exit codes: 0 ok,
//! 1 failure, 2 usage (clap's own).

mod cli;
mod demo;

use clap::Parser as _;

fn main() {
    let cli = cli::Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(cli::EXIT_FAILURE);
        }
    };
    if let Err(e) = runtime.block_on(cli::run(cli)) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(cli::EXIT_FAILURE);
    }
}

/// Logs to stderr: warnings by default, `-v` info, `-vv` debug; `RUST_LOG` wins.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
