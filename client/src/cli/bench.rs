//! `sfcbc bench ...`: runs the `sfcbc-bench` binary (the `bench/` crate) with the same
//! arguments. It is found beside `sfcbc` itself (`target/release/` after `cargo build
//! --release`), or wherever `$SFCBC_BENCH` points.
//!
//! sfcbc's own global options given before `bench` reach it too: `--json` as sfcbc-bench's
//! `--json`, and `--profile`, `--identity`, `--gateway`, `--channel` as the environment
//! `sfcbc-bench fabric` reads them from, so `sfcbc --profile net.yaml bench fabric` and
//! `sfcbc bench fabric --profile net.yaml` run the same.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::Ctx;

/// The environment variable that overrides where `sfcbc-bench` is.
pub const BENCH_ENV: &str = "SFCBC_BENCH";

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Arguments for sfcbc-bench: devnet|dataplane|fabric and their options
    /// (`sfcbc bench --help` shows sfcbc-bench's own help).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..,
        value_name = "ARGS"
    )]
    pub args: Vec<OsString>,
}

/// Where `sfcbc-bench` is: `$SFCBC_BENCH`, else beside the running `sfcbc`.
fn locate() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(BENCH_ENV) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!(
                "${BENCH_ENV} is {}, which is not a file: point it at the sfcbc-bench binary or unset it",
                p.display()
            );
        }
        return Ok(p);
    }
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot tell where sfcbc runs from: {e}"))?;
    let name = format!("sfcbc-bench{}", std::env::consts::EXE_SUFFIX);
    let beside = exe.with_file_name(&name);
    if beside.is_file() {
        return Ok(beside);
    }
    bail!(
        "the benchmarks are a separate binary, and there is no {name} beside {}: build it with \
         `cargo build --release -p sfcbc-bench` (next to a release sfcbc; plain `cargo build -p sfcbc-bench` \
         for a debug one), or set ${BENCH_ENV} to its path",
        exe.display()
    )
}

/// The global options sfcbc parsed, as the environment sfcbc-bench reads (`--profile` ...).
fn forwarded_env(ctx: &Ctx) -> Vec<(&'static str, OsString)> {
    let g = &ctx.global;
    let mut env = Vec::new();
    if let Some(p) = &g.profile {
        env.push(("SFCBC_PROFILE", p.clone().into_os_string()));
    }
    for (name, v) in [
        ("SFCBC_IDENTITY", &g.identity),
        ("SFCBC_GATEWAY", &g.gateway),
        ("SFCBC_CHANNEL", &g.channel),
    ] {
        if let Some(v) = v {
            env.push((name, OsString::from(v)));
        }
    }
    env
}

pub async fn run(ctx: &Ctx, a: BenchArgs) -> anyhow::Result<()> {
    let bin = locate()?;
    let mut cmd = std::process::Command::new(&bin);
    if ctx.global.json && !a.args.iter().any(|x| x == "--json") {
        cmd.arg("--json");
    }
    cmd.args(&a.args);
    cmd.envs(forwarded_env(ctx));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Only returns on failure: sfcbc-bench takes over the process (its output, its
        // signals, its exit code).
        let e = cmd.exec();
        bail!("cannot run {}: {e}", bin.display());
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", bin.display()))?;
        std::process::exit(status.code().unwrap_or(super::EXIT_FAILURE));
    }
}
