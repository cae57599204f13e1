//! `sfcbc ui`: the web UI ([`sfcbc_client::ui`]) on a local address, as the profile's identity.

use std::net::SocketAddr;

use clap::Args;

use super::{Ctx, shutdown_signal};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sfcbc ui                                   # http://127.0.0.1:8080/ as the profile's default identity\n  sfcbc -i User1@Tenant1 ui --listen 127.0.0.1:9090\n  sfcbc --profile real-fabric.yaml -i Admin@Manager ui\n\nThe page can switch to any USER@ORG of the profile. Ctrl-C stops the server."
)]
pub struct UiArgs {
    /// Address to serve on (keep it on loopback: the page acts with the profile's keys).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

pub async fn run(ctx: &Ctx, a: UiArgs) -> anyhow::Result<()> {
    let profile = ctx.profile()?;
    sfcbc_client::ui::serve(
        profile,
        ctx.global.identity.clone(),
        a.listen,
        shutdown_signal(),
    )
    .await?;
    Ok(())
}
