//! `sfcbc k8s render`: Kubernetes manifests for a chain's SFs ([`sfcbc_client::k8s`]), from
//! the chain as the ledger holds it (read through the gateway as the selected identity).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sfcbc_chaincode::types::{Chain, ChainSpec};
use sfcbc_client::k8s::{RenderOptions, Rendered, chain_from_spec, render_chain};

use super::output::{out, outln};
use super::{Ctx, output};

#[derive(Debug, Subcommand)]
pub enum K8sCmd {
    /// Render a chain's SF manifests (per hop: ConfigMap with sf.toml, Service, Deployment,
    /// NetworkPolicy) from the ledger's chain config; YAML on stdout, or DIR/sf.yaml.
    #[command(
        after_help = "Examples:\n  sfcbc --profile profile.yaml k8s render --chain chain1 > network/k8s/overlays/chain1/sf.yaml\n  sfcbc k8s render --chain chain1 --out network/k8s/overlays/chain1 --image registry.local/sfcbc/sf:0.1.0\n  sfcbc k8s render --chain chain1 --gateways-from-profile --namespace Org1MSP=sp-one\n  sfcbc k8s render --spec network/k8s/overlays/chain1/chain.json   # offline, from a spec file\n\nNotes the operator must act on (addresses to re-register, `address` validation in a\ncluster) are printed as `# note:` lines at the top of the YAML and on stderr."
    )]
    Render(RenderArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["chain", "spec"])))]
pub struct RenderArgs {
    /// The chain to render (read from the ledger; its channel: --channel, else sfc-CHAIN).
    #[arg(long)]
    pub chain: Option<String>,
    /// Render a chain spec file offline instead (`chain create --file`'s JSON: {"id",
    /// "hops": [...]}), without reaching any network.
    #[arg(long, value_name = "FILE", conflicts_with = "chain")]
    pub spec: Option<PathBuf>,
    /// Write DIR/sf.yaml instead of printing the YAML.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The image with the sfcbc binary.
    #[arg(long)]
    pub image: Option<String>,
    /// An org's namespace, MSP=NAMESPACE (repeatable). Default: Org1MSP → org1.
    #[arg(long = "namespace", value_name = "MSP=NAMESPACE", value_parser = pair)]
    pub namespaces: Vec<(String, String)>,
    /// An org's peer gateway for its SFs, MSP=HOST:PORT (repeatable). Default:
    /// peer0.<ns>.example.com:7051. (Named --sf-gateway: the global --gateway ORG picks the
    /// gateway this command reads the chain through.)
    #[arg(long = "sf-gateway", value_name = "MSP=HOST:PORT", value_parser = pair)]
    pub gateways: Vec<(String, String)>,
    /// The TLS server name of an org's gateway, MSP=NAME (repeatable).
    #[arg(long = "server-name", value_name = "MSP=NAME", value_parser = pair)]
    pub server_names: Vec<(String, String)>,
    /// Take each org's gateway address and TLS server name from the profile (peers
    /// reachable from the cluster at the addresses the profile lists).
    #[arg(long)]
    pub gateways_from_profile: bool,
    /// TLS to the gateways (mounts the org's TLS CA).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub tls: String,
    /// Kubernetes' cluster domain.
    #[arg(long)]
    pub cluster_domain: Option<String>,
    /// The classifier's namespace (hop 1 admits UDP from its pods).
    #[arg(long)]
    pub classifier_namespace: Option<String>,
    /// The namespace /metrics is admitted from.
    #[arg(long)]
    pub monitoring_namespace: Option<String>,
    /// The port of /metrics and /healthz in each SF pod.
    #[arg(long)]
    pub metrics_port: Option<u16>,
    /// The last hop's destination (CIDR) for its egress policy. Default: anywhere.
    #[arg(long, value_name = "CIDR")]
    pub destination_cidr: Option<String>,
}

/// Parses `KEY=VALUE`.
fn pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        }
        _ => Err(format!("{s:?}: write it as KEY=VALUE, e.g. Org1MSP=org1")),
    }
}

pub async fn run(ctx: &Ctx, cmd: K8sCmd) -> anyhow::Result<()> {
    match cmd {
        K8sCmd::Render(a) => render(ctx, a).await,
    }
}

async fn render(ctx: &Ctx, a: RenderArgs) -> anyhow::Result<()> {
    let mut opts = RenderOptions {
        channel: ctx.global.channel.clone(),
        tls: a.tls == "on",
        ..RenderOptions::default()
    };
    let chain = match (&a.spec, &a.chain) {
        (Some(f), _) => spec_chain(f)?,
        (None, Some(id)) => {
            let (p, _, sfc) = ctx.sfc(Some(id)).await?;
            opts.chaincode = p.chaincode.clone();
            sfc.get_chain(id)
                .await
                .with_context(|| format!("cannot read chain {id} from the ledger"))?
        }
        (None, None) => anyhow::bail!("give --chain CHAIN or --spec FILE"),
    };
    if let Some(i) = a.image {
        opts.image = i;
    }
    if let Some(d) = a.cluster_domain {
        opts.cluster_domain = d;
    }
    if let Some(n) = a.classifier_namespace {
        opts.classifier_namespace = n;
    }
    if let Some(n) = a.monitoring_namespace {
        opts.monitoring_namespace = n;
    }
    if let Some(m) = a.metrics_port {
        opts.metrics_port = m;
    }
    opts.destination_cidr = a.destination_cidr;
    if a.gateways_from_profile {
        let p = ctx.profile()?;
        for o in p.orgs.values() {
            if let Some(peer) = &o.peer {
                opts.gateways
                    .insert(o.msp_id.clone(), peer.endpoint.clone());
                if let Some(sn) = &peer.server_name {
                    opts.server_names.insert(o.msp_id.clone(), sn.clone());
                }
            }
        }
    }
    opts.namespaces.extend(a.namespaces);
    opts.gateways.extend(a.gateways);
    opts.server_names.extend(a.server_names);
    let rendered =
        render_chain(&chain, &opts).with_context(|| format!("cannot render chain {}", chain.id))?;
    let yaml = rendered.to_yaml()?;
    let file = match &a.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let f = dir.join("sf.yaml");
            std::fs::write(&f, &yaml).with_context(|| format!("cannot write {}", f.display()))?;
            Some(f)
        }
        None => None,
    };
    if ctx.global.json {
        return output::json(&serde_json::json!({
            "chain": rendered.chain,
            "file": file,
            "hops": hops_json(&rendered),
            "addresses": rendered.addresses(),
            "warnings": rendered.warnings,
            "objects": rendered.objects,
        }));
    }
    for w in &rendered.warnings {
        eprintln!("note: {w}");
    }
    let Some(f) = file else {
        out!("{yaml}");
        return Ok(());
    };
    outln!(
        "wrote {} ({} objects for {} hops of chain {})",
        f.display(),
        rendered.objects.len(),
        rendered.hops.len(),
        rendered.chain
    );
    let mut t = output::table(&[
        "psiid",
        "namespace",
        "service",
        "port",
        "in-cluster address",
    ]);
    for h in &rendered.hops {
        t.add_row(vec![
            h.psiid.clone(),
            h.namespace.clone(),
            h.name.clone(),
            h.port.to_string(),
            h.in_cluster_address.clone(),
        ]);
    }
    outln!("{t}");
    if rendered
        .hops
        .iter()
        .any(|h| h.in_cluster_address != h.registered_address)
    {
        outln!(
            "the ledger's hop addresses are not these Services: re-register them with `sfcbc chain update {}` (see the notes)",
            rendered.chain
        );
    }
    Ok(())
}

/// A chain spec file as the chain it would create.
fn spec_chain(f: &std::path::Path) -> anyhow::Result<Chain> {
    let text =
        std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
    let spec: ChainSpec = serde_json::from_str(&text)
        .with_context(|| format!("bad chain JSON in {}", f.display()))?;
    if spec.id.is_empty() {
        anyhow::bail!("{} has no chain \"id\"", f.display());
    }
    Ok(chain_from_spec(spec))
}

fn hops_json(r: &Rendered) -> Vec<serde_json::Value> {
    r.hops
        .iter()
        .map(|h| {
            serde_json::json!({
                "psiid": h.psiid, "spMsp": h.sp_msp, "namespace": h.namespace, "name": h.name,
                "port": h.port, "inClusterAddress": h.in_cluster_address,
                "registeredAddress": h.registered_address,
            })
        })
        .collect()
}
