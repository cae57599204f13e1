//! `sfcbc auth share`, `endpoints share`, `account register`: private data (DESIGN §4).
//! The secret and a fresh random salt travel only as transient data, endorsed only by the
//! hop SP's org (`endorsingOrganizations = [sp_msp]`) and sent through the SP's own gateway
//! peer when the profile has one, so no other org's peer ever sees the secret.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use sfcbc_chaincode::types::Endpoint;
use sfcbc_client::SfcContract;
use sfcbc_client::sfc::PrivateWrite;

use super::output::outln;
use super::{Ctx, output};

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// The chain owner shares a user's account and secret with one hop's SP.
    #[command(
        after_help = "Example:\n  sfcbc -i User1@Tenant1 auth share chain1 Org1:NameWriter:1 --account user1 --secret-file secret.txt"
    )]
    Share(AuthShareArgs),
}

#[derive(Debug, Args)]
pub struct AuthShareArgs {
    /// The chain's id.
    pub chain: String,
    /// The hop (SP:Function:Instance).
    pub psiid: String,
    /// The user's account name at the SP.
    #[arg(long)]
    pub account: String,
    #[command(flatten)]
    pub secret: SecretArgs,
}

#[derive(Debug, Args)]
pub struct SecretArgs {
    /// The secret (prefer --secret-file or $SFCBC_SECRET: arguments show in `ps`).
    #[arg(
        long,
        env = "SFCBC_SECRET",
        hide_env_values = true,
        conflicts_with = "secret_file"
    )]
    pub secret: Option<String>,
    /// Read the secret from this file (trailing newline dropped).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
}

impl SecretArgs {
    fn read(&self) -> anyhow::Result<Vec<u8>> {
        let s = match (&self.secret, &self.secret_file) {
            (Some(s), _) => s.clone().into_bytes(),
            (None, Some(f)) => {
                let mut b = std::fs::read(f)
                    .with_context(|| format!("cannot read the secret file {}", f.display()))?;
                while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                    b.pop();
                }
                b
            }
            (None, None) => bail!("no secret: give --secret-file FILE, $SFCBC_SECRET or --secret"),
        };
        if s.is_empty() {
            bail!("the secret is empty");
        }
        Ok(s)
    }
}

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// An SP (the signer's org) registers a user's account and secret.
    #[command(
        after_help = "Example:\n  sfcbc -i Admin@Org1 account register user1 --secret-file secret.txt"
    )]
    Register(AccountArgs),
}

#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The user's account name.
    pub user: String,
    #[command(flatten)]
    pub secret: SecretArgs,
}

#[derive(Debug, Subcommand)]
pub enum EndpointsCmd {
    /// The chain owner shares the source (first hop) / destination (last hop) address.
    #[command(
        after_help = "Example:\n  sfcbc -i User1@Tenant1 endpoints share chain1 Org1:NameWriter:1 --source 127.0.0.1:7000"
    )]
    Share(EndpointsArgs),
}

#[derive(Debug, Args)]
pub struct EndpointsArgs {
    /// The chain's id.
    pub chain: String,
    /// The first or last hop (SP:Function:Instance), whose SP receives the endpoints.
    pub psiid: String,
    /// Where the user's traffic comes from (for the first hop).
    #[arg(long)]
    pub source: Option<String>,
    /// Where the chain delivers (for the last hop).
    #[arg(long)]
    pub destination: Option<String>,
}

/// The SFC contract as the selected identity, through the gateway of the SP that runs
/// `psiid` in `chain` when the profile has its peer (else our own).
async fn via_sp(
    ctx: &Ctx,
    chain: &str,
    psiid: &str,
) -> anyhow::Result<(SfcContract, sfcbc_chaincode::types::Chain)> {
    let p = ctx.profile()?;
    let s = ctx.selected(&p)?;
    let channel = ctx.channel(&p, Some(chain))?;
    let own = ctx.connect(&p, &s).await?;
    let sfc = SfcContract::new(own.network(&channel).contract(p.chaincode.clone()));
    let c = sfc
        .get_chain(chain)
        .await
        .with_context(|| format!("GetChain {chain}"))?;
    let Some((_, hop)) = c.hop(psiid) else {
        bail!(
            "hop {psiid} is not in chain {chain}; its hops: {}",
            c.hops
                .iter()
                .map(|h| h.psiid.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let sp = hop.sp_msp.clone();
    match p
        .org_by_msp(&sp)
        .and_then(|(k, o)| o.peer.as_ref().map(|_| k.to_owned()))
    {
        Some(org) if org != s.org => {
            let g = p.connect(&s, Some(&org)).await?;
            Ok((
                SfcContract::new(g.network(&channel).contract(p.chaincode.clone())),
                c,
            ))
        }
        _ => Ok((sfc, c)),
    }
}

fn print_write(ctx: &Ctx, what: &str, w: &PrivateWrite) -> anyhow::Result<()> {
    if ctx.global.json {
        return output::json(&serde_json::json!({
            "collection": w.collection, "chain": w.chain, "psiid": w.psiid, "txId": w.tx_id
        }));
    }
    outln!(
        "{what} written privately to {} in tx {} (the public ledger holds only its hash)",
        w.collection,
        w.tx_id
    );
    Ok(())
}

pub async fn run_auth(ctx: &Ctx, cmd: AuthCmd) -> anyhow::Result<()> {
    let AuthCmd::Share(a) = cmd;
    let secret = a.secret.read()?;
    let (sfc, chain) = via_sp(ctx, &a.chain, &a.psiid).await?;
    let w = sfc
        .share_auth(&chain, &a.psiid, &a.account, &secret)
        .await
        .with_context(|| format!("ShareAuth {} {}", a.chain, a.psiid))?;
    print_write(ctx, "credentials", &w)
}

pub async fn run_endpoints(ctx: &Ctx, cmd: EndpointsCmd) -> anyhow::Result<()> {
    let EndpointsCmd::Share(a) = cmd;
    if a.source.is_none() && a.destination.is_none() {
        bail!(
            "nothing to share: give --source ADDR (first hop) and/or --destination ADDR (last hop)"
        );
    }
    let (sfc, chain) = via_sp(ctx, &a.chain, &a.psiid).await?;
    let ep = Endpoint {
        source: a.source.clone(),
        destination: a.destination.clone(),
    };
    let w = sfc
        .share_endpoints(&chain, &a.psiid, &ep)
        .await
        .with_context(|| format!("ShareEndpoints {} {}", a.chain, a.psiid))?;
    print_write(ctx, "endpoints", &w)
}

pub async fn run_account(ctx: &Ctx, cmd: AccountCmd) -> anyhow::Result<()> {
    let AccountCmd::Register(a) = cmd;
    let secret = a.secret.read()?;
    let (_, _, sfc) = ctx.sfc(None).await?;
    let w = sfc
        .register_account(&a.user, &secret)
        .await
        .with_context(|| format!("RegisterAccount {}", a.user))?;
    print_write(ctx, "account", &w)
}
