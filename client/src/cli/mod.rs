//! The `sfcbc` command tree (DESIGN §8). One file per command group, mini-redis style: each
//! defines its clap arguments and a `run`; adding a command touches one file and one match
//! arm here. Every command that talks to the network goes through [`Ctx`]: the client
//! profile (`--profile`, default the devnet's), the identity (`--identity USER@ORG`) and the
//! channel (`--channel`, default `sfc-{chain}` when the profile has it).

mod bench;
pub mod blocks;
pub mod chain;
mod collections;
mod dataplane;
pub mod devnet;
pub mod devnet_admin;
pub mod hints;
mod identity;
mod k8s;
pub mod ledger;
pub mod output;
mod share;
mod ui;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sfcbc_client::profile::{self, Profile, Selected};
use sfcbc_client::{Gateway, SfcContract};

/// Exit code of a failed command (clap itself exits 2 on usage errors).
pub const EXIT_FAILURE: i32 = 1;

/// Exits 2 with a usage error in clap's form, for arguments that parse but do not fit
/// together.
pub fn usage_error(message: impl std::fmt::Display) -> ! {
    use clap::CommandFactory as _;
    Cli::command()
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

const EXAMPLES: &str = "\
Examples:
  sfcbc demo                                  # the paper's demonstration on an in-process devnet
  sfcbc devnet up                             # devnet in the foreground, writes its profile
  sfcbc -i User1@Tenant1 chain create chain1 \\
      --hop Org1:NameWriter:1=127.0.0.2:9001,address \\
      --hop Org2:NameWriter:1=127.0.0.3:9001,hash \\
      --hop Org3:NameWriter:1=127.0.0.4:9001,none
  sfcbc -i User1@Tenant1 auth share chain1 Org1:NameWriter:1 --account user1 --secret s3cret
  sfcbc -i User1@Org1 records chain1 --json
  sfcbc blocks --channel sfc-chain1 --follow
  sfcbc --profile real-fabric.yaml audit verify --channel sfc-chain1
  sfcbc --profile real-fabric.yaml -i User1@Tenant1 --gateway Org1 chain show chain1
  sfcbc records chain1 | head                 # a closed pipe ends sfcbc quietly (status 0)
  sfcbc devnet channel create mych --orgs Org1,Org2,Manager
  sfcbc devnet chaincode install mycc.tgz
  sfcbc devnet chaincode commit --channel mych --name mycc \\
      --policy \"AND('Org1MSP.peer','Org2MSP.peer')\"
  sfcbc identity enroll --ca-url https://localhost:7054 --tls-ca ca-cert.pem \\
      --id sf1 --secret sf1pw --msp-id Org1MSP --out sf1/msp
  sfcbc ui --listen 127.0.0.1:8080
  sfcbc k8s render --chain chain1 --out network/k8s/overlays/chain1
  sfcbc bench devnet --quick

Exit codes: 0 ok, 1 the command failed, 2 bad usage.";

/// sfcbc: zero-trust service function chains on Hyperledger Fabric (SFC-BC).
#[derive(Debug, Parser)]
#[command(
    name = "sfcbc",
    version,
    about = "sfcbc: zero-trust service function chains on Hyperledger Fabric (SFC-BC)",
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Client profile (YAML or JSON). Default: $SFCBC_HOME/devnet/profile.yaml
    /// (~/.sfcbc/devnet/profile.yaml), written by `sfcbc devnet up`.
    #[arg(long, global = true, env = "SFCBC_PROFILE", value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Who signs: USER@ORG, e.g. User1@Tenant1 (ORG: the profile's org name, MSP ID or domain).
    /// Default: the profile's default_identity.
    #[arg(
        short,
        long,
        global = true,
        env = "SFCBC_IDENTITY",
        value_name = "USER@ORG"
    )]
    pub identity: Option<String>,
    /// Send requests through ORG's gateway peer (from the profile) instead of the identity's
    /// own org's: e.g. `-i User1@Tenant1 --gateway Org1` when Tenant1 has no peer reachable.
    /// The identity still signs; ORG is the profile's org name, MSP ID or domain.
    #[arg(long, global = true, env = "SFCBC_GATEWAY", value_name = "ORG")]
    pub gateway: Option<String>,
    /// Channel. Default: sfc-CHAIN when the profile lists it, else the profile's first channel.
    #[arg(short = 'C', long, global = true, env = "SFCBC_CHANNEL")]
    pub channel: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging (-v info, -vv debug); RUST_LOG wins when set.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run, stop or inspect the embedded devnet (orderer + one peer per org, in one process).
    #[command(subcommand)]
    Devnet(devnet::DevnetCmd),
    /// Create, show, list, update or disable chains.
    #[command(subcommand)]
    Chain(chain::ChainCmd),
    /// Share a user's credentials privately with one hop's SP.
    #[command(subcommand)]
    Auth(share::AuthCmd),
    /// An SP registers a user's account (kept in the SP's own implicit collection).
    #[command(subcommand)]
    Account(share::AccountCmd),
    /// Share the source / destination endpoints privately with the first / last hop's SP.
    #[command(subcommand)]
    Endpoints(share::EndpointsCmd),
    /// Run a service function (SF) for one or more chain hops.
    #[command(subcommand)]
    Sf(dataplane::SfCmd),
    /// Run the classifier that steers flows to their chain's first hop.
    #[command(subcommand)]
    Classifier(dataplane::ClassifierCmd),
    /// Send UDP datagrams from the registered source address.
    Send(dataplane::SendArgs),
    /// Receive datagrams at the destination and check their stamps.
    Sink(dataplane::SinkArgs),
    /// A chain's hop records, from the ledger.
    Records(ledger::RecordsArgs),
    /// A chain's error records (dropped datagrams), from the ledger.
    #[command(
        after_help = "Example:\n  sfcbc -i User1@Tenant1 errors chain1 --psiid Org2:NameWriter:1 --json"
    )]
    Errors(ledger::RecordsArgs),
    /// A message's path through its chain, hop by hop.
    Trace(ledger::TraceArgs),
    /// The channel's blocks and transactions (private data shown as hashes only).
    Blocks(blocks::BlocksArgs),
    /// Audit the ledger.
    #[command(subcommand)]
    Audit(blocks::AuditCmd),
    /// Identities from a Fabric CA: register, enroll (writes an MSP folder), revoke.
    #[command(subcommand)]
    Identity(identity::IdentityCmd),
    /// Private data collection definitions.
    #[command(subcommand)]
    Collections(collections::CollectionsCmd),
    /// The paper's demonstration end to end: devnet, chain1 over three SPs, a message with
    /// three stamps, then wrong credentials, forged source, tampered payload and replay, each
    /// dropped and recorded. Exits 1 if any outcome is not as expected.
    Demo(crate::demo::DemoArgs),
    /// The web UI: chains as graphs, records, errors, traces, blocks, forms; live updates.
    Ui(ui::UiArgs),
    /// Benchmarks (devnet, dataplane, fabric): runs the sfcbc-bench binary with these
    /// arguments; `sfcbc bench --help` shows its options.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Bench(bench::BenchArgs),
    /// Kubernetes manifests for a chain's SFs.
    #[command(subcommand)]
    K8s(k8s::K8sCmd),
}

/// What commands share: global options, the profile once loaded.
pub struct Ctx {
    pub global: Global,
}

impl Ctx {
    /// The profile file in force.
    pub fn profile_path(&self) -> PathBuf {
        self.global
            .profile
            .clone()
            .unwrap_or_else(profile::default_profile_path)
    }

    /// Loads the profile.
    pub fn profile(&self) -> anyhow::Result<Profile> {
        Ok(Profile::load(&self.profile_path())?)
    }

    /// The identity `--identity` names (or the profile's default).
    pub fn selected(&self, profile: &Profile) -> anyhow::Result<Selected> {
        Ok(profile.select(self.global.identity.as_deref())?)
    }

    /// A gateway for the selected identity through `--gateway ORG`'s peer, else its own
    /// org's.
    pub async fn gateway(&self) -> anyhow::Result<(Profile, Selected, Gateway)> {
        let p = self.profile()?;
        let s = self.selected(&p)?;
        let g = self.connect(&p, &s).await?;
        Ok((p, s, g))
    }

    /// Connects `s` through `--gateway ORG`'s peer (else its own org's), and remembers where
    /// for the error hints.
    pub async fn connect(&self, p: &Profile, s: &Selected) -> anyhow::Result<Gateway> {
        let via = self.global.gateway.as_deref().unwrap_or(&s.org);
        let (org, peer) = p
            .peer_of(via)
            .with_context(|| format!("--gateway {via}: no gateway peer for it in the profile"))?;
        hints::remember(hints::Target {
            org: Some(org.to_owned()),
            endpoint: Some(peer.endpoint.clone()),
            chaincode: Some(p.chaincode.clone()),
            channel: None,
        });
        let via = self.global.gateway.as_deref();
        Ok(p.connect(s, via).await?)
    }

    /// The channel for `chain` (see [`Profile::channel_for`]).
    pub fn channel(&self, profile: &Profile, chain: Option<&str>) -> anyhow::Result<String> {
        let ch = profile
            .channel_for(chain, self.global.channel.as_deref())
            .context("no channel: pass --channel NAME (the profile lists no channels)")?;
        hints::remember(hints::Target {
            channel: Some(ch.clone()),
            ..hints::Target::default()
        });
        Ok(ch)
    }

    /// The SFC contract on `chain`'s channel, as the selected identity.
    pub async fn sfc(
        &self,
        chain: Option<&str>,
    ) -> anyhow::Result<(Profile, Selected, SfcContract)> {
        let (p, s, g) = self.gateway().await?;
        let channel = self.channel(&p, chain)?;
        let c = SfcContract::new(g.network(channel).contract(p.chaincode.clone()));
        Ok((p, s, c))
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Ctx {
        global: cli.global.clone(),
    };
    match cli.command {
        Command::Devnet(c) => devnet::run(&ctx, c).await,
        Command::Chain(c) => chain::run(&ctx, c).await,
        Command::Auth(c) => share::run_auth(&ctx, c).await,
        Command::Account(c) => share::run_account(&ctx, c).await,
        Command::Endpoints(c) => share::run_endpoints(&ctx, c).await,
        Command::Sf(c) => dataplane::run_sf(&ctx, c).await,
        Command::Classifier(c) => dataplane::run_classifier(&ctx, c).await,
        Command::Send(a) => dataplane::run_send(&ctx, a).await,
        Command::Sink(a) => dataplane::run_sink(&ctx, a).await,
        Command::Records(a) => ledger::run_records(&ctx, a).await,
        Command::Errors(a) => ledger::run_errors(&ctx, a).await,
        Command::Trace(a) => ledger::run_trace(&ctx, a).await,
        Command::Blocks(a) => blocks::run_blocks(&ctx, a).await,
        Command::Audit(c) => blocks::run_audit(&ctx, c).await,
        Command::Collections(c) => collections::run(&ctx, c),
        Command::Identity(c) => identity::run(&ctx, c).await,
        Command::Demo(a) => crate::demo::run(&ctx, a).await,
        Command::Ui(a) => ui::run(&ctx, a).await,
        Command::Bench(a) => bench::run(&ctx, a).await,
        Command::K8s(c) => k8s::run(&ctx, c).await,
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn command_tree_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
