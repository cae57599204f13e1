//! `sfcbc collections gen`: a private data collection config (fabric-samples' JSON format, for
//! `peer lifecycle chaincode approveformyorg/commit --collections-config`) for deployments
//! that use explicit collections instead of the SP orgs' implicit ones. The same output as
//! `collections/gen.py`: one collection `<chain>_<SP MSP>` per hop SP, members and endorsers
//! that SP only, `memberOnlyRead`, written by the chain owner (`memberOnlyWrite` false).
//! Input: a chain spec (`--chain FILE`, the JSON `sfcbc chain create --file` takes, as
//! gen.py), or a chain ID and the SPs' MSP IDs (`--chain-id ID --sp MSP ...`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde::Serialize;

use super::output::outln;
use super::{Ctx, output};

const GEN_EXAMPLES: &str = "\
Examples:
  sfcbc collections gen --chain collections/chain1.json > collections/sfc-chain1.json
  sfcbc collections gen --chain collections/chain2.json --block-to-live 1000 --out sfc-chain2.json
  sfcbc collections gen --chain-id chain1 --sp Org1MSP --sp Org2MSP --sp Org3MSP
  sfcbc collections gen --sp Org1MSP --sp Org2MSP   # older per-SP names sfc_<MSP>

Names are <chain>_<SP MSP ID> (e.g. chain1_Org2MSP), as in collections/ and collections/gen.py;
a hop of the spec with its own \"collection\" keeps that name, and one with an implicit
collection (_implicit_org_...) needs no config. Put the name in the hop's \"collection\" field.";

#[derive(Debug, Subcommand)]
pub enum CollectionsCmd {
    /// Print (or write) a collections config with one collection per hop SP of a chain.
    #[command(after_help = GEN_EXAMPLES)]
    Gen(GenArgs),
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true).args(["chain", "chain_id", "sps"])))]
pub struct GenArgs {
    /// A chain spec JSON (`id`, `hops[]` with `psiid`, `spMsp`, optional `collection`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["chain_id", "sps"])]
    chain: Option<PathBuf>,
    /// The chain's ID, with --sp (instead of --chain FILE).
    #[arg(long, value_name = "ID", requires = "sps")]
    chain_id: Option<String>,
    /// An SP's MSP ID (repeat per SP), with --chain-id. Without --chain-id the names are
    /// the older per-SP `sfc_<MSP>` (not per chain; collections/ uses `<chain>_<MSP>`).
    #[arg(long = "sp", value_name = "MSP")]
    sps: Vec<String>,
    /// Blocks after which private data is purged (0: never).
    #[arg(long, default_value_t = 0)]
    block_to_live: u64,
    /// Peers an endorser must disseminate the private data to before endorsing.
    #[arg(long, default_value_t = 0)]
    required_peer_count: u32,
    /// Peers an endorser tries to disseminate the private data to.
    #[arg(long, default_value_t = 0)]
    max_peer_count: u32,
    /// Whether only the collection's members may read it.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    member_only_read: bool,
    /// Write here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// One collection, fields in gen.py's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    pub name: String,
    pub policy: String,
    pub required_peer_count: u32,
    pub max_peer_count: u32,
    pub block_to_live: u64,
    pub member_only_read: bool,
    pub member_only_write: bool,
    pub endorsement_policy: EndorsementPolicy,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndorsementPolicy {
    pub signature_policy: String,
}

/// The collection name for an SP of a chain (`chain1`, `Org2MSP` → `chain1_Org2MSP`).
pub fn collection_name(chain: &str, msp: &str) -> String {
    format!("{chain}_{msp}")
}

fn check_msp(s: &str, what: &str) -> anyhow::Result<()> {
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        bail!("{what} {s:?}: give an MSP ID such as Org1MSP");
    }
    Ok(())
}

/// `(collection name, SP MSP ID)` per hop of a chain spec, as gen.py derives them: the hop's
/// `spMsp` (else its psiid's org + `MSP`), its `collection` (else `<chain>_<msp>`); implicit
/// collections and repeated names are skipped.
pub fn from_spec(spec: &serde_json::Value) -> anyhow::Result<Vec<(String, String)>> {
    let id = spec
        .get("id")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .context("the chain spec has no \"id\" (the chain's ID)")?;
    let hops = match spec.get("hops") {
        None => return Ok(Vec::new()),
        Some(h) => h
            .as_array()
            .context("the chain spec's \"hops\" is not an array")?,
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let n = i + 1;
        let msp = match hop
            .get("spMsp")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
        {
            Some(m) => m.to_owned(),
            None => {
                let psiid = hop
                    .get("psiid")
                    .and_then(|v| v.as_str())
                    .with_context(|| format!("hop {n} has neither \"spMsp\" nor \"psiid\""))?;
                format!("{}MSP", psiid.split(':').next().unwrap_or_default())
            }
        };
        check_msp(&msp, &format!("hop {n}'s SP MSP ID"))?;
        let name = match hop
            .get("collection")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
        {
            Some(c) => c.to_owned(),
            None => collection_name(id, &msp),
        };
        if name.starts_with("_implicit_org_") || out.iter().any(|(c, _)| *c == name) {
            continue;
        }
        out.push((name, msp));
    }
    Ok(out)
}

pub fn run(ctx: &Ctx, cmd: CollectionsCmd) -> anyhow::Result<()> {
    let CollectionsCmd::Gen(a) = cmd;
    let pairs: Vec<(String, String)> = match (&a.chain, &a.chain_id) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the chain spec {}", file.display()))?;
            let spec: serde_json::Value = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not JSON (a chain spec: {{\"id\", \"hops\"}})",
                    file.display()
                )
            })?;
            from_spec(&spec).with_context(|| format!("chain spec {}", file.display()))?
        }
        (None, chain_id) if !a.sps.is_empty() => {
            let prefix = match chain_id {
                Some(id) if id.is_empty() => {
                    bail!("--chain-id: give the chain's ID, e.g. chain1")
                }
                Some(id) => id.clone(),
                None => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "note: without --chain-id the names are sfc_<MSP>; collections/ and \
                         collections/gen.py name them <chain>_<MSP> (add --chain-id CHAIN or \
                         use --chain FILE)"
                    );
                    "sfc".to_owned()
                }
            };
            let mut v: Vec<(String, String)> = Vec::new();
            for m in &a.sps {
                check_msp(m, "--sp")?;
                let name = collection_name(&prefix, m);
                if !v.iter().any(|(c, _)| *c == name) {
                    v.push((name, m.clone()));
                }
            }
            v
        }
        _ => bail!(
            "say which chain: --chain FILE (a chain spec) or --chain-id ID --sp MSP [--sp MSP ...]"
        ),
    };
    if a.required_peer_count > a.max_peer_count {
        // Fabric refuses such a collection at commit time; say so now.
        super::usage_error(format!(
            "--required-peer-count {} is above --max-peer-count {}",
            a.required_peer_count, a.max_peer_count
        ));
    }
    let cols: Vec<Collection> = pairs
        .into_iter()
        .map(|(name, m)| Collection {
            name,
            policy: format!("OR('{m}.member')"),
            required_peer_count: a.required_peer_count,
            max_peer_count: a.max_peer_count,
            block_to_live: a.block_to_live,
            member_only_read: a.member_only_read,
            member_only_write: false,
            endorsement_policy: EndorsementPolicy {
                signature_policy: format!("OR('{m}.peer')"),
            },
        })
        .collect();
    let text = serde_json::to_string_pretty(&cols)?;
    match a.out {
        Some(p) => {
            std::fs::write(&p, format!("{text}\n"))
                .with_context(|| format!("cannot write {}", p.display()))?;
            if ctx.global.json {
                output::json(&serde_json::json!({
                    "written": p,
                    "collections": cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                }))?;
            } else {
                outln!(
                    "wrote {} collection(s) to {}: {}; set each hop's `collection` to its SP's",
                    cols.len(),
                    p.display(),
                    cols.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        None => outln!("{text}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names_as_gen_py() {
        let spec = serde_json::json!({"id": "c", "hops": [
            {"psiid": "Org1:F:1"},
            {"psiid": "Org2:F:1", "spMsp": "Org2MSP", "collection": "mine"},
            {"psiid": "Org3:F:1", "collection": "_implicit_org_Org3MSP"},
            {"psiid": "Org1:F:2", "spMsp": "Org1MSP"},
        ]});
        let got = from_spec(&spec).unwrap();
        assert_eq!(
            got,
            vec![
                ("c_Org1MSP".to_owned(), "Org1MSP".to_owned()),
                ("mine".to_owned(), "Org2MSP".to_owned()),
            ]
        );
        assert!(from_spec(&serde_json::json!({"hops": []})).is_err());
        assert!(from_spec(&serde_json::json!({"id": "c", "hops": [{}]})).is_err());
        assert!(from_spec(&serde_json::json!({"id": "c", "hops": [{"spMsp": "O'1"}]})).is_err());
    }
}
