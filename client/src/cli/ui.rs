//! `sfcbc ui`: the web UI ([`sfcbc_client::ui`]) on a local address, as the profile's identity.

use std::net::SocketAddr;

use clap::Args;

use super::output::outln;
use super::{Ctx, shutdown_signal};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sfcbc ui                                 # as the profile's default identity
  sfcbc -i User1@Tenant1 ui --listen 127.0.0.1:9090
  sfcbc --profile real-fabric.yaml -i Admin@Manager ui
  sfcbc --json ui --listen 127.0.0.1:0     # prints {url, listen, identity} once serving

The page: chains drawn as graphs (each hop coloured by its errors in the last minute),
records and errors with filters and pages, message traces, blocks; forms to create, update
or disable a chain and to share credentials or endpoints (sent as transient data). Live
updates come from the chaincode's and the channels' events. The page can switch to any
USER@ORG of the profile, to see what each may see. Ctrl-C stops the server.")]
pub struct UiArgs {
    /// Address to serve on. Keep it on loopback: the page acts with the profile's keys and
    /// has no login (other addresses get a warning). Open it by IP or as localhost: other
    /// host names are refused (DNS rebinding guard). Port 0 picks a free port (printed at
    /// start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

pub async fn run(ctx: &Ctx, a: UiArgs) -> anyhow::Result<()> {
    let profile = ctx.profile()?;
    if !a.listen.ip().is_loopback() {
        // Not refused: a lab may want it. But the page has no login of its own.
        eprintln!(
            "warning: serving the UI on {} with no authentication: anyone who reaches it acts \
             with every identity of the profile. Prefer 127.0.0.1 and an SSH tunnel, or an \
             authenticating proxy in front.",
            a.listen
        );
    }
    let listener = sfcbc_client::ui::bind(a.listen).await?;
    let json = ctx.global.json;
    sfcbc_client::ui::serve_with(
        profile,
        ctx.global.identity.clone(),
        listener,
        shutdown_signal(),
        move |addr, label| {
            if json {
                let line = serde_json::json!({
                    "url": format!("http://{addr}/"),
                    "listen": addr.to_string(),
                    "identity": label,
                });
                outln!("{line}");
            } else {
                outln!("sfcbc ui: http://{addr}/ (as {label}; Ctrl-C stops)");
            }
        },
    )
    .await?;
    Ok(())
}
