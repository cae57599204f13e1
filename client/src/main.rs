//! `sfcbc`: the command-line interface of sfcbc (DESIGN §8). Thin: it parses the command
//! line, picks the profile and identity, and calls `sfcbc-client` (gateway client, SF
//! runtime, classifier, tools), `sfcbc-devnet` and `sfcbc-ccaas`. Exit codes: 0 ok,
//! 1 failure, 2 usage (clap's own).

mod cli;
mod demo;

use std::io::Write as _;

/// The command line, where an empty `SFCBC_*` variable counts as unset: clap takes
/// `SFCBC_PROFILE=` as an empty `--profile` and refuses it as a usage error.
fn parse_args() -> cli::Cli {
    use clap::{CommandFactory as _, FromArgMatches as _};
    fn drop_empty_env(cmd: clap::Command) -> clap::Command {
        cmd.mut_args(|a| match a.get_env() {
            Some(name) if std::env::var_os(name).is_some_and(|v| v.is_empty()) => {
                a.env(None::<&'static str>)
            }
            _ => a,
        })
        .mut_subcommands(drop_empty_env)
    }
    let matches = drop_empty_env(cli::Cli::command()).get_matches();
    cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() {
    quiet_on_broken_pipe();
    let cli = parse_args();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the async runtime: {e}"
            );
            std::process::exit(cli::EXIT_FAILURE);
        }
    };
    if let Err(e) = runtime.block_on(cli::run(cli)) {
        // A closed stdout met through `?` (e.g. a writer that returned the io::Error).
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if cli::output::is_broken_pipe(io) {
                std::process::exit(0);
            }
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {e}");
        for cause in e.chain().skip(1) {
            let _ = writeln!(err, "  caused by: {cause}");
        }
        for hint in cli::hints::hints(&e) {
            let _ = writeln!(err, "  hint: {hint}");
        }
        std::process::exit(cli::EXIT_FAILURE);
    }
}

/// The CLI's own output goes through `cli::output`, which exits quietly on `BrokenPipe`.
/// Code outside `cli/` (the demo) still uses `println!`, which panics with "failed printing
/// to stdout: Broken pipe" when the reader has gone (`sfcbc demo | head`): this hook turns
/// exactly that panic into a quiet exit 0 and leaves every other panic to the default hook.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
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
    // Colours only for a terminal: a log file or a pipe gets plain text.
    use std::io::IsTerminal as _;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
