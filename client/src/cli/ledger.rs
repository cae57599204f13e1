//! `sfcbc records`, `errors`, `trace`: what the SFs recorded on the ledger, read by the
//! chain's owner, its hop SPs or the manager (paginated evaluates on the signer's peer).

use anyhow::Context as _;
use clap::Args;
use sfcbc_chaincode::types::{HopError, HopRecord};
use sfcbc_client::sf::sha256_hex;

use super::output::outln;
use super::{Ctx, output};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sfcbc -i User1@Tenant1 records chain1 --psiid Org2:NameWriter:1 --json"
)]
pub struct RecordsArgs {
    /// The chain's id.
    pub chain: String,
    /// Only this hop (`SP:Function:Instance`, e.g. `Org2:NameWriter:1`).
    #[arg(long)]
    pub psiid: Option<String>,
    /// Records per page asked of the peer, 1..=1000.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// At most this many records (all pages up to it).
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sfcbc trace chain1 --payload 'hello'\n  sfcbc trace chain1 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
)]
pub struct TraceArgs {
    /// The chain's id.
    pub chain: String,
    /// SHA-256 (hex) of the payload the source sent.
    #[arg(required_unless_present = "payload")]
    pub source_hash: Option<String>,
    /// The payload the source sent (its hash is computed).
    #[arg(long, conflicts_with = "source_hash")]
    pub payload: Option<String>,
}

/// All records (up to `limit`) of a chain, every page.
pub async fn all_records(
    sfc: &sfcbc_client::SfcContract,
    chain: &str,
    psiid: Option<&str>,
    page_size: u32,
    limit: usize,
) -> anyhow::Result<Vec<HopRecord>> {
    let (records, _) = sfc
        .all_records(chain, psiid, page_size, limit)
        .await
        .with_context(|| format!("GetRecords {chain}"))?;
    Ok(records)
}

/// All errors (up to `limit`) of a chain, every page.
pub async fn all_errors(
    sfc: &sfcbc_client::SfcContract,
    chain: &str,
    psiid: Option<&str>,
    page_size: u32,
    limit: usize,
) -> anyhow::Result<Vec<HopError>> {
    let (errors, _) = sfc
        .all_errors(chain, psiid, page_size, limit)
        .await
        .with_context(|| format!("GetErrors {chain}"))?;
    Ok(errors)
}

pub fn records_table(records: &[HopRecord]) -> comfy_table::Table {
    let mut t = output::table(&["hop", "seq", "input", "output", "src", "next", "ts", "tx"]);
    for r in records {
        t.add_row(vec![
            r.psiid.clone(),
            r.seq.to_string(),
            output::short(&r.input_hash, 12),
            output::short(&r.output_hash, 12),
            r.src.clone(),
            r.next.clone(),
            r.ts.clone(),
            output::short(&r.tx_id, 12),
        ]);
    }
    t
}

pub fn errors_table(errors: &[HopError]) -> comfy_table::Table {
    let mut t = output::table(&["hop", "kind", "detail", "src", "input", "ts", "tx"]);
    for e in errors {
        t.add_row(vec![
            e.psiid.clone(),
            format!("{:?}", e.kind).to_lowercase(),
            e.detail.clone(),
            e.src.clone(),
            output::short(&e.input_hash, 12),
            e.ts.clone(),
            output::short(&e.tx_id, 12),
        ]);
    }
    t
}

/// The note after a count that reached `--limit`.
fn more_may_exist(n: usize, limit: usize) -> String {
    if n >= limit {
        format!(" (stopped at --limit {limit}; there may be more)")
    } else {
        String::new()
    }
}

pub async fn run_records(ctx: &Ctx, a: RecordsArgs) -> anyhow::Result<()> {
    let (_, _, sfc) = ctx.sfc(Some(&a.chain)).await?;
    let r = all_records(&sfc, &a.chain, a.psiid.as_deref(), a.page_size, a.limit).await?;
    if ctx.global.json {
        return output::json(&r);
    }
    outln!("{}", records_table(&r));
    outln!("{} record(s){}", r.len(), more_may_exist(r.len(), a.limit));
    Ok(())
}

pub async fn run_errors(ctx: &Ctx, a: RecordsArgs) -> anyhow::Result<()> {
    let (_, _, sfc) = ctx.sfc(Some(&a.chain)).await?;
    let e = all_errors(&sfc, &a.chain, a.psiid.as_deref(), a.page_size, a.limit).await?;
    if ctx.global.json {
        return output::json(&e);
    }
    outln!("{}", errors_table(&e));
    outln!(
        "{} error record(s){}",
        e.len(),
        more_may_exist(e.len(), a.limit)
    );
    Ok(())
}

pub async fn run_trace(ctx: &Ctx, a: TraceArgs) -> anyhow::Result<()> {
    let hash = match (&a.source_hash, &a.payload) {
        (Some(h), _) => h.to_ascii_lowercase(),
        (None, Some(p)) => sha256_hex(p.as_bytes()),
        (None, None) => unreachable!("clap requires one of them"),
    };
    let (_, _, sfc) = ctx.sfc(Some(&a.chain)).await?;
    let t = sfc
        .trace_message(&a.chain, &hash)
        .await
        .with_context(|| format!("TraceMessage {} {hash}", a.chain))?;
    if ctx.global.json {
        return output::json(&t);
    }
    outln!("message {} on chain {}", output::short(&hash, 16), t.chain);
    let mut tb = output::table(&["hop", "input", "output", "seq", "ts", "tx"]);
    for h in &t.hops {
        tb.add_row(vec![
            h.psiid.clone(),
            output::short(&h.input_hash, 12),
            output::short(&h.output_hash, 12),
            h.seq.to_string(),
            h.ts.clone(),
            output::short(&h.tx_id, 12),
        ]);
    }
    outln!("{tb}");
    if t.complete {
        outln!("complete: every hop recorded the message");
    } else {
        outln!(
            "incomplete: the trail stops at {}",
            t.stopped_at.as_deref().unwrap_or("?")
        );
        if !t.errors.is_empty() {
            outln!("{}", errors_table(&t.errors));
        }
    }
    Ok(())
}
