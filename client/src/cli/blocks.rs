//! `sfcbc blocks [--follow]` and `sfcbc audit verify`: the channel's blocks as any member
//! sees them through the peer's `Deliver` service. Private data is shown only as what the
//! public ledger holds — the hashes of keys and values — never its content.
//!
//! `audit verify` checks what makes the ledger tamper-evident: each block's data hash, the
//! header hash chain, the orderer's signature on every block, and each transaction
//! creator's signature, with identities validated against the MSPs of the channel's config
//! block 0.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use prost::Message as _;
use serde::Serialize;
use sfcbc_client::{EventsOptions, Network};
use sfcbc_fabric::msp::ValidityTime;
use sfcbc_fabric::protos::common::{Block, BlockchainInfo, Envelope};

use super::output::outln;
use super::{Ctx, output};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sfcbc blocks --channel sfc-chain1\n  sfcbc blocks --from 5 --follow --json"
)]
pub struct BlocksArgs {
    /// First block.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Last block (default: the newest).
    #[arg(long)]
    pub to: Option<u64>,
    /// Keep printing new blocks as they commit (Ctrl-C stops).
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Verify the channel's blocks: data hashes, hash chain, orderer and creator signatures.
    #[command(
        after_help = "Examples:\n  sfcbc audit verify\n  sfcbc -C sfc-chain1 --json audit verify"
    )]
    Verify,
}

/// A private write as the public ledger holds it.
#[derive(Debug, Clone, Serialize)]
pub struct PrivateHash {
    pub collection: String,
    pub key_hash: String,
    pub value_hash: String,
    pub is_delete: bool,
}

/// One transaction of a block.
#[derive(Debug, Clone, Serialize)]
pub struct TxSummary {
    pub block: u64,
    pub index: usize,
    pub tx_id: String,
    /// `ENDORSER_TRANSACTION`, `CONFIG`, ...
    pub kind: String,
    pub chaincode: String,
    pub function: String,
    pub creator_msp: String,
    pub validation: String,
    pub timestamp: String,
    pub private_writes: Vec<PrivateHash>,
}

/// The chain height through qscc's GetChainInfo.
pub async fn height(network: &Network) -> anyhow::Result<u64> {
    let qscc = network.contract("qscc");
    let bytes = qscc
        .evaluate_transaction("GetChainInfo", &[network.name()])
        .await
        .with_context(|| format!("GetChainInfo {}", network.name()))?;
    let info =
        BlockchainInfo::decode(bytes.as_slice()).context("qscc answered no BlockchainInfo")?;
    Ok(info.height)
}

/// The transactions of `block`, decoded as far as they go (a malformed entry shows as such):
/// the web UI's decoding (`sfcbc_client::ui::blocks`), in the CLI's JSON shape.
pub fn summarize(block: &Block) -> Vec<TxSummary> {
    let summary = sfcbc_client::ui::blocks::summarize(block);
    summary
        .txs
        .into_iter()
        .map(|t| TxSummary {
            block: summary.number,
            index: t.index,
            tx_id: t.tx_id,
            kind: t.kind,
            chaincode: t.chaincode,
            function: t.function,
            creator_msp: t.creator_msp,
            validation: t.validation,
            timestamp: t.timestamp,
            private_writes: t
                .private_writes
                .into_iter()
                .map(|w| PrivateHash {
                    collection: w.collection,
                    key_hash: w.key_hash,
                    value_hash: w.value_hash,
                    is_delete: w.is_delete,
                })
                .collect(),
        })
        .collect()
}

/// Transactions as a table.
pub fn tx_table(txs: &[TxSummary]) -> comfy_table::Table {
    let mut t = output::table(&[
        "block",
        "tx id",
        "function",
        "creator",
        "validation",
        "private writes (hashes)",
    ]);
    for s in txs {
        let function = if s.kind == "ENDORSER_TRANSACTION" {
            if s.chaincode.is_empty() {
                s.function.clone()
            } else {
                format!("{}:{}", s.chaincode, s.function)
            }
        } else {
            s.kind.clone()
        };
        let private = s
            .private_writes
            .iter()
            .map(|p| {
                format!(
                    "{} key {} value {}",
                    p.collection,
                    output::short(&p.key_hash, 8),
                    output::short(&p.value_hash, 8)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        t.add_row(vec![
            s.block.to_string(),
            output::short(&s.tx_id, 16),
            function,
            s.creator_msp.clone(),
            s.validation.clone(),
            private,
        ]);
    }
    t
}

/// Blocks `from..=to` (to: the newest when `None`, waiting for nothing).
pub async fn fetch_blocks(
    network: &Network,
    from: u64,
    to: Option<u64>,
) -> anyhow::Result<Vec<Block>> {
    let h = height(network).await?;
    if h == 0 {
        return Ok(Vec::new());
    }
    let last = to.unwrap_or(h - 1).min(h - 1);
    if from > last {
        return Ok(Vec::new());
    }
    let mut events = network
        .block_events(EventsOptions::start_block(from))
        .await
        .context("Deliver")?;
    let mut out = Vec::new();
    while let Some(b) = events.next().await {
        let b = b.context("Deliver stream")?;
        let n = b.header.as_ref().map_or(0, |h| h.number);
        out.push(b);
        if n >= last {
            break;
        }
    }
    Ok(out)
}

pub async fn run_blocks(ctx: &Ctx, a: BlocksArgs) -> anyhow::Result<()> {
    if let Some(to) = a.to
        && to < a.from
    {
        super::usage_error(format!("--to {to} is before --from {}", a.from));
    }
    let (p, _, g) = ctx.gateway().await?;
    let network = g.network(ctx.channel(&p, None)?);
    if !a.follow {
        let blocks = fetch_blocks(&network, a.from, a.to).await?;
        let txs: Vec<TxSummary> = blocks.iter().flat_map(summarize).collect();
        if ctx.global.json {
            return output::json(&txs);
        }
        outln!("{}", tx_table(&txs));
        outln!(
            "{} block(s), {} transaction(s) on {}",
            blocks.len(),
            txs.len(),
            network.name()
        );
        return Ok(());
    }
    let mut events = network
        .block_events(EventsOptions::start_block(a.from))
        .await
        .context("Deliver")?;
    let stop = super::shutdown_signal();
    tokio::pin!(stop);
    loop {
        let b = tokio::select! {
            b = events.next() => b,
            _ = &mut stop => break,
        };
        let Some(b) = b else { break };
        let b = b.context("Deliver stream")?;
        let n = b.header.as_ref().map_or(0, |h| h.number);
        let txs = summarize(&b);
        if ctx.global.json {
            outln!("{}", serde_json::to_string(&txs)?);
        } else {
            outln!("{}", tx_table(&txs));
        }
        if a.to.is_some_and(|to| n >= to) {
            break;
        }
    }
    Ok(())
}

/// What `audit verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    pub channel: String,
    pub blocks: u64,
    pub transactions: u64,
    pub problems: Vec<String>,
}

/// Verifies `blocks` (starting at block 0): hashes, hash chain, orderer signatures,
/// creator signatures of every transaction, identities against the config block's MSPs.
pub fn verify_blocks(channel: &str, blocks: &[Block]) -> AuditReport {
    let mut r = AuditReport {
        channel: channel.to_owned(),
        ..AuditReport::default()
    };
    let config = blocks
        .first()
        .map(sfcbc_devnet::channel::ChannelConfig::from_block);
    let msps = match &config {
        Some(Ok(c)) => Some(c.msps().clone()),
        Some(Err(e)) => {
            r.problems
                .push(format!("block 0 is not a config block: {e}"));
            None
        }
        None => None,
    };
    let mut prev: Option<[u8; 32]> = None;
    for (i, b) in blocks.iter().enumerate() {
        r.blocks += 1;
        let n = b.header.as_ref().map_or(i as u64, |h| h.number);
        if n != i as u64 {
            r.problems
                .push(format!("block at position {i} has number {n}"));
        }
        if let Err(e) = sfcbc_devnet::block::verify_block_hashes(b, prev.as_ref().map(|p| &p[..])) {
            r.problems.push(format!("block {n}: {e}"));
        }
        prev = Some(sfcbc_devnet::block::block_hash(b));
        if n > 0 {
            let res = sfcbc_devnet::block::verify_block_signature(b, |creator, msg, sig| {
                verify_sig(msps.as_ref(), creator, msg, sig).is_ok()
            });
            if let Err(e) = res {
                r.problems
                    .push(format!("block {n}: orderer signature: {e}"));
            }
        }
        let data = b
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default();
        for (t, bytes) in data.iter().enumerate() {
            r.transactions += 1;
            if n == 0 {
                continue; // the genesis config block carries no signed creator to check
            }
            let Ok(env) = Envelope::decode(bytes.as_slice()) else {
                r.problems
                    .push(format!("block {n} tx {t}: not an Envelope"));
                continue;
            };
            let Some((_, sh)) = sfcbc_client::ui::blocks::headers(bytes) else {
                r.problems.push(format!("block {n} tx {t}: bad headers"));
                continue;
            };
            if let Err(e) = verify_sig(msps.as_ref(), &sh.creator, &env.payload, &env.signature) {
                r.problems
                    .push(format!("block {n} tx {t}: creator signature: {e}"));
            }
        }
    }
    r
}

fn verify_sig(
    msps: Option<&sfcbc_fabric::MspManager>,
    creator: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> anyhow::Result<()> {
    match msps {
        Some(m) => {
            let id = m
                .validate_serialized(creator, ValidityTime::AsFabric)
                .map_err(|e| anyhow::anyhow!("identity not valid in the channel's MSPs: {e}"))?;
            id.verify(msg, sig)
                .map_err(|e| anyhow::anyhow!("signature does not verify: {e}"))
        }
        None => {
            let id = sfcbc_fabric::Identity::from_serialized(creator)?;
            id.public_key()?
                .verify(msg, sig)
                .map_err(|e| anyhow::anyhow!("signature does not verify: {e}"))
        }
    }
}

pub async fn run_audit(ctx: &Ctx, cmd: AuditCmd) -> anyhow::Result<()> {
    let AuditCmd::Verify = cmd;
    let (p, _, g) = ctx.gateway().await?;
    let network = g.network(ctx.channel(&p, None)?);
    let h = height(&network).await?;
    let bar = indicatif::ProgressBar::new(h);
    if ctx.global.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_message("fetching blocks");
    let mut blocks = Vec::new();
    if h > 0 {
        let mut events = network
            .block_events(EventsOptions::start_block(0))
            .await
            .context("Deliver")?;
        while let Some(b) = events.next().await {
            let b = b.context("Deliver stream")?;
            let n = b.header.as_ref().map_or(0, |h| h.number);
            blocks.push(b);
            bar.inc(1);
            if n + 1 >= h {
                break;
            }
        }
    }
    bar.finish_and_clear();
    let r = verify_blocks(network.name(), &blocks);
    if ctx.global.json {
        output::json(&r)?;
    } else {
        outln!(
            "{}: {} block(s), {} transaction(s) checked",
            r.channel,
            r.blocks,
            r.transactions
        );
        for p in &r.problems {
            outln!("  PROBLEM {p}");
        }
    }
    if !r.problems.is_empty() {
        bail!(
            "{} problem(s) found on channel {}",
            r.problems.len(),
            r.channel
        );
    }
    if !ctx.global.json {
        outln!("OK: data hashes, hash chain, orderer signatures and creator signatures verify");
    }
    Ok(())
}
