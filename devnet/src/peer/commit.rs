//! The commit loop of one channel on one peer: pull the next block from the orderer and hand
//! it to the channel's [`crate::committer::Committer`] (validate, TRANSACTIONS_FILTER, the
//! private data this org may hold, one atomic commit). Commits are blocking work, so they run
//! off the async workers; a failed commit halts the channel, as Fabric halts it.

use std::sync::Arc;

use sfcbc_fabric::protos::common::Block;
use tokio::sync::{broadcast, mpsc};

use super::PeerChannel;
use crate::committer::CommitError;

pub(super) async fn run(
    msp_id: String,
    channel: Arc<PeerChannel>,
    mut shutdown: broadcast::Receiver<()>,
    // Dropped when the loop ends: tells `Peer::shutdown` this loop is done.
    _done: mpsc::Sender<()>,
) {
    let from = match channel.ledger.height() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(peer = msp_id, channel = channel.name, error = %e, "cannot read ledger height; not committing");
            return;
        }
    };
    let mut blocks = channel.orderer.subscribe(from);
    loop {
        let next = tokio::select! {
            _ = shutdown.recv() => break,
            next = blocks.next() => next,
        };
        let block = match next {
            None => break,
            Some(Err(e)) => {
                tracing::error!(peer = msp_id, channel = channel.name, error = %e, "cannot read block from orderer; commit loop stops");
                break;
            }
            Some(Ok(block)) => block,
        };
        let committer = channel.committer.clone();
        let block = Block::clone(&block);
        let result = tokio::task::spawn_blocking(move || committer.commit(block)).await;
        match result {
            Ok(Ok(c)) => tracing::debug!(
                peer = msp_id,
                channel = channel.name,
                number = c.validation.block_number,
                txs = c.validation.txs.len(),
                "block committed"
            ),
            Ok(Err(e)) => {
                log_halt(&msp_id, &channel.name, &e);
                break;
            }
            Err(_) => {
                tracing::error!(
                    peer = msp_id,
                    channel = channel.name,
                    "commit panicked; the channel stops committing"
                );
                break;
            }
        }
    }
    tracing::debug!(peer = msp_id, channel = channel.name, "commit loop stopped");
}

fn log_halt(msp_id: &str, channel: &str, e: &CommitError) {
    tracing::error!(peer = msp_id, channel, error = %e, "commit failed; the channel stops committing");
}
