//! `sfcbc chain create|show|list|update|disable`: a chain's configuration on the ledger,
//! written by its owner (a user) and read by its owner, hop SPs and the manager.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use sfcbc_chaincode::types::{Chain, ChainSpec, Hop, Validation};

use sfcbc_client::SfcContract;
use sfcbc_client::profile::{Profile, Selected};

use super::output::outln;
use super::{Ctx, devnet, output};

#[derive(Debug, Subcommand)]
pub enum ChainCmd {
    /// Create a chain; the signer becomes its owner.
    #[command(
        after_help = "Example:\n  sfcbc -i User1@Tenant1 chain create chain1 \\\n    --hop Org1:NameWriter:1=127.0.0.2:9001,address \\\n    --hop Org2:NameWriter:1=127.0.0.3:9001,hash --hop Org3:NameWriter:1=127.0.0.4:9001"
    )]
    Create(SpecArgs),
    /// Replace a chain's hops (owner only); version + 1.
    #[command(
        after_help = "Example:\n  sfcbc -i User1@Tenant1 chain update chain1 --file chain1.json"
    )]
    Update(SpecArgs),
    /// Show one chain.
    #[command(
        after_help = "Examples:\n  sfcbc chain show chain1\n  sfcbc -i User1@Org2 --json chain show chain1"
    )]
    Show {
        /// The chain's id.
        chain: String,
    },
    /// List the chains the signer may see (the manager sees all).
    #[command(after_help = "Example:\n  sfcbc -i Admin@Manager chain list --json")]
    List,
    /// Disable a chain (owner only): SFs stop forwarding its traffic.
    #[command(after_help = "Example:\n  sfcbc -i User1@Tenant1 chain disable chain1")]
    Disable {
        /// The chain's id.
        chain: String,
    },
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Chain id.
    pub chain: String,
    /// A hop, in order: PSIID=ADDRESS[,POLICY[,SP_MSP]]. POLICY: none (default), hash,
    /// address, hash+address. SP_MSP defaults to the PSIID's SP part + "MSP"
    /// (Org1:NameWriter:1 → Org1MSP).
    #[arg(
        long = "hop",
        value_name = "PSIID=ADDRESS[,POLICY[,SP_MSP]]",
        required_unless_present = "file"
    )]
    pub hops: Vec<String>,
    /// The classifier's UDP address (hop 1 with `address` validation accepts it as source).
    #[arg(long)]
    pub classifier: Option<String>,
    /// The chain as JSON (`{"id", "hops": [{"psiid", "spMsp", "address", "validation"}]}`)
    /// instead of --hop flags.
    #[arg(long, conflicts_with = "hops")]
    pub file: Option<PathBuf>,
}

/// Parses `PSIID=ADDRESS[,POLICY[,SP_MSP]]`.
pub fn parse_hop(spec: &str) -> anyhow::Result<Hop> {
    let (psiid, rest) = spec
        .split_once('=')
        .with_context(|| format!("hop {spec:?}: write it as PSIID=ADDRESS[,POLICY[,SP_MSP]]"))?;
    let mut parts = rest.split(',');
    let address = parts.next().unwrap_or_default().trim().to_owned();
    if address.is_empty() {
        bail!("hop {spec:?}: the address is missing (HOST:PORT after '=')");
    }
    let validation: Validation = match parts.next().map(str::trim) {
        None | Some("") => Validation::None,
        Some(v) => v
            .parse()
            .map_err(|e: String| anyhow::anyhow!("hop {spec:?}: {e}"))?,
    };
    let sp_msp = match parts.next().map(str::trim) {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => {
            let sp = psiid.split(':').next().unwrap_or_default();
            if sp.is_empty() {
                bail!("hop {spec:?}: the PSIID should look like SP:Function:Instance");
            }
            format!("{sp}MSP")
        }
    };
    if parts.next().is_some() {
        bail!("hop {spec:?}: too many fields; write PSIID=ADDRESS[,POLICY[,SP_MSP]]");
    }
    Ok(Hop {
        psiid: psiid.trim().to_owned(),
        sp_msp,
        address,
        validation,
        collection: None,
    })
}

fn spec(args: &SpecArgs) -> anyhow::Result<ChainSpec> {
    if let Some(f) = &args.file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let mut spec: ChainSpec = serde_json::from_str(&text)
            .with_context(|| format!("bad chain JSON in {}", f.display()))?;
        if spec.id.is_empty() {
            spec.id = args.chain.clone();
        } else if spec.id != args.chain {
            bail!(
                "{} is for chain {:?}, not {:?}",
                f.display(),
                spec.id,
                args.chain
            );
        }
        return Ok(spec);
    }
    if args.hops.is_empty() {
        bail!("no hops: give --hop PSIID=ADDRESS[,POLICY] once per hop, or --file chain.json");
    }
    Ok(ChainSpec {
        id: args.chain.clone(),
        hops: args
            .hops
            .iter()
            .map(|h| parse_hop(h))
            .collect::<anyhow::Result<_>>()?,
        classifier: args.classifier.clone(),
    })
}

pub async fn run(ctx: &Ctx, cmd: ChainCmd) -> anyhow::Result<()> {
    match cmd {
        ChainCmd::Create(a) => {
            let spec = spec(&a)?;
            // The chaincode checks it too; checking first keeps a bad spec from creating
            // the chain's channel before CreateChain refuses it.
            check_spec(&spec)?;
            let (p, sel, g) = ctx.gateway().await?;
            let channel = channel_for_new_chain(ctx, &p, &sel, &spec).await?;
            let sfc = SfcContract::new(g.network(&channel).contract(p.chaincode.clone()));
            // (A channel created just now is ready: the devnet answers once its peers have
            // block 0 and the chaincode definition.)
            let chain = sfc
                .create_chain(&spec)
                .await
                .with_context(|| format!("CreateChain {} on channel {channel}", a.chain))?;
            print_chain(ctx, &chain)
        }
        ChainCmd::Update(a) => {
            let spec = spec(&a)?;
            check_spec(&spec)?;
            let (_, _, sfc) = ctx.sfc(Some(&a.chain)).await?;
            let chain = sfc
                .update_chain(&spec)
                .await
                .with_context(|| format!("UpdateChain {}", a.chain))?;
            print_chain(ctx, &chain)
        }
        ChainCmd::Show { chain } => {
            let (_, _, sfc) = ctx.sfc(Some(&chain)).await?;
            let c = sfc
                .get_chain(&chain)
                .await
                .with_context(|| format!("GetChain {chain}"))?;
            print_chain(ctx, &c)
        }
        ChainCmd::Disable { chain } => {
            let (_, _, sfc) = ctx.sfc(Some(&chain)).await?;
            let c = sfc
                .disable_chain(&chain)
                .await
                .with_context(|| format!("DisableChain {chain}"))?;
            print_chain(ctx, &c)
        }
        ChainCmd::List => {
            let (_, _, sfc) = ctx.sfc(None).await?;
            let chains = sfc.list_chains().await.context("ListChains")?;
            if ctx.global.json {
                return output::json(&chains);
            }
            let mut t = output::table(&["chain", "owner", "version", "state", "hops"]);
            for c in &chains {
                t.add_row(vec![
                    c.id.clone(),
                    c.owner.msp.clone(),
                    c.version.to_string(),
                    format!("{:?}", c.state).to_lowercase(),
                    c.hops
                        .iter()
                        .map(|h| h.psiid.as_str())
                        .collect::<Vec<_>>()
                        .join(" → "),
                ]);
            }
            outln!("{t}");
            Ok(())
        }
    }
}

/// The chaincode's own checks of a chain spec (ids, PSIIDs, addresses, at least one hop),
/// run before anything reaches the network.
fn check_spec(spec: &ChainSpec) -> anyhow::Result<()> {
    sfcbc_chaincode::validate::chain_spec(spec).map_err(|e| anyhow::anyhow!("bad chain: {e}"))
}

/// The channel a new chain goes on: `--channel`, else `sfc-CHAIN` — created now when the
/// profile is a running devnet's (by its manager's admin, with exactly the owner's org, the
/// hop SPs' orgs and the manager's) — else the profile's default channel.
async fn channel_for_new_chain(
    ctx: &Ctx,
    p: &Profile,
    owner: &Selected,
    spec: &ChainSpec,
) -> anyhow::Result<String> {
    if let Some(c) = &ctx.global.channel {
        return Ok(c.clone());
    }
    let own = format!("sfc-{}", spec.id);
    let mut orgs = vec![owner.msp_id.clone()];
    for h in &spec.hops {
        if !orgs.contains(&h.sp_msp) {
            orgs.push(h.sp_msp.clone());
        }
    }
    let manager = p.org("Manager").ok().map(|(_, o)| o.msp_id.clone());
    if let Some(m) = &manager
        && !orgs.contains(m)
    {
        orgs.push(m.clone());
    }
    if let Some(m) = manager
        && let Ok(admin) = p.select(Some(&format!("Admin@{m}")))
    {
        let signer = admin.signer()?;
        // A no-op when the channel exists and has every org (the devnet checks).
        let existed = p.channels.contains(&own);
        if devnet::request_channel(&ctx.profile_path(), &signer, &own, &orgs).await? {
            if !ctx.global.json && !existed {
                eprintln!(
                    "created channel {own} for {} with chaincode {}",
                    orgs.join(", "),
                    p.chaincode
                );
            }
            return Ok(own);
        }
    }
    // Not a devnet (or no manager admin in the profile): the operator made the channels.
    ctx.channel(p, Some(&spec.id))
}

/// A chain as a header and a table of hops.
pub fn print_chain(ctx: &Ctx, c: &Chain) -> anyhow::Result<()> {
    if ctx.global.json {
        return output::json(c);
    }
    outln!(
        "chain {} v{} ({}), owner {} — updated {} in tx {}",
        c.id,
        c.version,
        format!("{:?}", c.state).to_lowercase(),
        c.owner.msp,
        c.updated_at,
        output::short(&c.updated_tx, 16)
    );
    outln!("{}", hops_table(c));
    Ok(())
}

pub fn hops_table(c: &Chain) -> comfy_table::Table {
    let mut t = output::table(&["#", "psiid", "SP", "address", "validation", "collection"]);
    for (i, h) in c.hops.iter().enumerate() {
        t.add_row(vec![
            (i + 1).to_string(),
            h.psiid.clone(),
            h.sp_msp.clone(),
            h.address.clone(),
            h.validation.to_string(),
            h.collection_name(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_specs() {
        let h = parse_hop("Org1:NameWriter:1=127.0.0.2:9001,hash+address").unwrap();
        assert_eq!(h.sp_msp, "Org1MSP");
        assert_eq!(h.address, "127.0.0.2:9001");
        assert_eq!(h.validation, Validation::HashAddress);
        let h = parse_hop("Org2:NW:1=h:1").unwrap();
        assert_eq!(h.validation, Validation::None);
        let h = parse_hop("X:F:1=h:1,address,OtherMSP").unwrap();
        assert_eq!(h.sp_msp, "OtherMSP");
        for bad in [
            "Org1:NameWriter:1",
            "P=",
            "P=h:1,bogus",
            "P=h:1,none,M,extra",
        ] {
            assert!(parse_hop(bad).is_err(), "{bad}");
        }
    }
}
