//! `sfcbc collections gen`: a private data collection config (fabric-samples' JSON format)
//! for deployments that use explicit collections instead of the orgs' implicit ones: one
//! collection per SP, readable and stored only by that SP (`memberOnlyRead`), endorsed by it.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde::Serialize;

use super::{Ctx, output};

#[derive(Debug, Subcommand)]
pub enum CollectionsCmd {
    /// Print (or write) a collections config with one collection per SP org.
    #[command(
        after_help = "Example:\n  sfcbc collections gen --sp Org1MSP --sp Org2MSP --sp Org3MSP --out collections_config.json"
    )]
    Gen {
        /// An SP's MSP ID (repeat per SP).
        #[arg(long = "sp", required = true)]
        sps: Vec<String>,
        /// Blocks after which private data is purged (0: never).
        #[arg(long, default_value_t = 0)]
        block_to_live: u64,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Collection {
    name: String,
    policy: String,
    required_peer_count: u32,
    max_peer_count: u32,
    block_to_live: u64,
    member_only_read: bool,
    member_only_write: bool,
    endorsement_policy: EndorsementPolicy,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EndorsementPolicy {
    signature_policy: String,
}

/// The collection name for an SP (`Org1MSP` → `sfc_Org1MSP`).
pub fn collection_name(msp: &str) -> String {
    format!("sfc_{msp}")
}

pub fn run(ctx: &Ctx, cmd: CollectionsCmd) -> anyhow::Result<()> {
    let CollectionsCmd::Gen {
        sps,
        block_to_live,
        out,
    } = cmd;
    for s in &sps {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            bail!("--sp {s:?}: give an MSP ID such as Org1MSP");
        }
    }
    let cols: Vec<Collection> = sps
        .iter()
        .map(|m| Collection {
            name: collection_name(m),
            policy: format!("OR('{m}.member')"),
            required_peer_count: 0,
            max_peer_count: 1,
            block_to_live,
            member_only_read: true,
            member_only_write: false,
            endorsement_policy: EndorsementPolicy {
                signature_policy: format!("OR('{m}.peer')"),
            },
        })
        .collect();
    let text = serde_json::to_string_pretty(&cols)?;
    match out {
        Some(p) => {
            std::fs::write(&p, format!("{text}\n"))
                .with_context(|| format!("cannot write {}", p.display()))?;
            if ctx.global.json {
                output::json(&serde_json::json!({ "written": p, "collections": cols.len() }))?;
            } else {
                println!(
                    "wrote {} collection(s) to {}; set each hop's `collection` to its SP's",
                    cols.len(),
                    p.display()
                );
            }
        }
        None => println!("{text}"),
    }
    Ok(())
}
