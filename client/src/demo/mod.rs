//! `sfcbc demo` (placeholder while being built).
use clap::Args;

#[derive(Debug, Args)]
pub struct DemoArgs {}

pub async fn run(_ctx: &crate::cli::Ctx, _a: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
