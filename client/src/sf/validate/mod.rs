//! Per-datagram validation (DESIGN §5 step 2), in the chaincode's order: chain active
//! (`config`), credential ([`auth`]), source ([`address`]), previous hop's record and replay
//! guard ([`hash`]). Each check answers from the [`LedgerView`] when it can; when any check
//! cannot, one `CheckIn` decides everything and the view learns from its answer.
//!
//! [`select_hop`] first picks which served chain a datagram belongs to, when the SF serves
//! several: by source address, else by which chain's previous hop recorded its hash.

pub mod address;
pub mod auth;
pub mod hash;

use std::time::Instant;

use sfcbc_chaincode::types::{ChainState, ErrorKind, NextHop};

use super::config::ms;
use super::ledger::LedgerError;
use super::ledger_view::{HopSnapshot, LedgerView};

/// One check's answer from the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Pass,
    Fail(String),
    /// The view does not know: ask `CheckIn`.
    Unknown,
}

/// What happens to a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Process it and send the output to `next`.
    Pass { next: NextHop },
    /// Drop it and record the error.
    Drop { kind: ErrorKind, detail: String },
}

fn drop(kind: ErrorKind, detail: impl Into<String>) -> Decision {
    Decision::Drop {
        kind,
        detail: detail.into(),
    }
}

/// Validates one datagram at served hop `hop` (`None`: its chain is not loaded or no longer
/// has the hop). `Err` only when the ledger could not be asked (the datagram cannot be
/// validated).
///
/// The view decides when it can. A datagram whose previous hop's `out` record is not in the
/// view yet (the previous hop forwards right after its own peer committed; our peer's event
/// may come a little later) first waits up to `validation.event_wait_ms` for the event while
/// the view follows the ledger, then asks `CheckIn`. Without a credential verdict, one
/// datagram asks `CheckIn` and the others wait (as long, at most) for its answer.
pub async fn validate(
    view: &LedgerView,
    hop: Option<&HopSnapshot>,
    input_hash: &str,
    src: &str,
) -> Result<Decision, LedgerError> {
    let Some(hop) = hop else {
        return Ok(drop(
            ErrorKind::Config,
            "the hop is not known to this SF (its chain is not loaded, or no longer has it)",
        ));
    };
    if hop.state == ChainState::Disabled {
        return Ok(drop(
            ErrorKind::Config,
            format!("chain {} is disabled (version {})", hop.chain, hop.version),
        ));
    }
    let wait = ms(view.config().event_wait_ms.min(view.config().hash_wait_ms));
    let wait_until = Instant::now() + wait;
    // A newer snapshot, after waiting for another datagram's credential check (read once
    // the next wait is armed, so that an answer in between is not missed).
    let first = hop;
    let mut newer: Option<std::sync::Arc<HopSnapshot>> = None;
    let mut reread = false;
    loop {
        let changes = view.changes();
        tokio::pin!(changes);
        changes.as_mut().enable();
        if reread {
            match view.snapshot(&first.chain, &first.hop.psiid) {
                Some(h) => newer = Some(h),
                None => break,
            }
        }
        let hop = newer.as_deref().unwrap_or(first);
        let out = hash::check_out(view, hop, input_hash);
        let checks = [
            (ErrorKind::Auth, auth::check(hop)),
            (ErrorKind::Source, address::check(hop, src)),
            (ErrorKind::Hash, out.clone()),
            (ErrorKind::Replay, hash::check_replay(view, hop, input_hash)),
        ];
        let mut unknown = 0;
        for (kind, check) in &checks {
            match check {
                Check::Pass => {}
                // A failure after an unknown might not be the chaincode's first failure;
                // only a failure with everything before it known is final here.
                Check::Fail(detail) if unknown == 0 => return Ok(drop(*kind, detail.clone())),
                Check::Fail(_) | Check::Unknown => unknown += 1,
            }
        }
        if unknown == 0
            && let Some(next) = hop.next_hop()
        {
            return Ok(accept(view, hop, input_hash, next));
        }
        // No credential verdict: one datagram asks `CheckIn`, the others wait for its
        // answer (bounded) instead of all asking at once.
        if checks[0].1 == Check::Unknown
            && !view.claim_auth_check(&hop.chain)
            && Instant::now() < wait_until
        {
            if tokio::time::timeout_at(wait_until.into(), changes)
                .await
                .is_err()
            {
                break;
            }
            reread = true;
            continue;
        }
        let only_out_missing = unknown == 1 && out == Check::Unknown && hop.prev.is_some();
        if !(only_out_missing && view.following() && Instant::now() < wait_until) {
            break;
        }
        // Woken by any new `out` hash or chain change; look again.
        if tokio::time::timeout_at(wait_until.into(), changes)
            .await
            .is_err()
        {
            break;
        }
    }
    let hop = newer.as_deref().unwrap_or(first);
    check_in(view, hop, input_hash, src).await
}

/// Marks the input used (hash policies) and passes; a concurrent duplicate is a replay.
fn accept(view: &LedgerView, hop: &HopSnapshot, input_hash: &str, next: NextHop) -> Decision {
    if hop.hop.validation.checks_hash() && !view.try_use(&hop.chain, &hop.hop.psiid, input_hash) {
        return drop(
            ErrorKind::Replay,
            format!("input hash {input_hash} was already accepted by this SF"),
        );
    }
    Decision::Pass { next }
}

/// Asks `CheckIn`; on a `hash` failure waits (bounded) for the previous hop's record.
async fn check_in(
    view: &LedgerView,
    hop: &HopSnapshot,
    input_hash: &str,
    src: &str,
) -> Result<Decision, LedgerError> {
    let deadline = Instant::now() + ms(view.config().hash_wait_ms);
    let started = Instant::now();
    loop {
        let changes = view.changes();
        tokio::pin!(changes);
        changes.as_mut().enable();
        let verdict = view
            .check_in(&hop.chain, &hop.hop.psiid, input_hash, src)
            .await?;
        view.learn(&hop.chain, &hop.hop.psiid, src, &verdict);
        if verdict.ok {
            let Some(next) = verdict.next_hop.or_else(|| hop.next_hop()) else {
                return Ok(drop(
                    ErrorKind::Config,
                    format!(
                        "{} is the last hop of chain {} and no destination is shared with it (ShareEndpoints)",
                        hop.hop.psiid, hop.chain
                    ),
                ));
            };
            return Ok(accept(view, hop, input_hash, next));
        }
        let kind = verdict.failed.unwrap_or(ErrorKind::Config);
        if kind != ErrorKind::Hash {
            return Ok(drop(kind, verdict.reason));
        }
        // The previous hop's record may not have committed yet: wait for its event (or a
        // chain change), then ask again; at the deadline the answer is final.
        let prev = hop
            .prev
            .as_ref()
            .map(|p| p.psiid.clone())
            .unwrap_or_default();
        loop {
            if Instant::now() >= deadline {
                return Ok(drop(
                    ErrorKind::Hash,
                    format!(
                        "hash-timeout after {} ms: {}",
                        started.elapsed().as_millis(),
                        verdict.reason
                    ),
                ));
            }
            if view.has_out(&hop.chain, &prev, input_hash) {
                break;
            }
            if tokio::time::timeout_at(deadline.into(), changes.as_mut())
                .await
                .is_err()
            {
                // Deadline: one last CheckIn (events may have been missed).
                break;
            }
            changes.set(view.changes());
            changes.as_mut().enable();
        }
        if Instant::now() >= deadline {
            // Final answer from the ledger.
            let verdict = view
                .check_in(&hop.chain, &hop.hop.psiid, input_hash, src)
                .await?;
            view.learn(&hop.chain, &hop.hop.psiid, src, &verdict);
            if verdict.ok {
                if let Some(next) = verdict.next_hop.or_else(|| hop.next_hop()) {
                    return Ok(accept(view, hop, input_hash, next));
                }
                return Ok(drop(ErrorKind::Config, "no next hop or destination known"));
            }
            let kind = verdict.failed.unwrap_or(ErrorKind::Config);
            let detail = if kind == ErrorKind::Hash {
                format!(
                    "hash-timeout after {} ms: {}",
                    started.elapsed().as_millis(),
                    verdict.reason
                )
            } else {
                verdict.reason
            };
            return Ok(drop(kind, detail));
        }
    }
}

/// Which served hop (index into `view.hops()`) a datagram from `src` with `input_hash` is
/// for. `None`: it matches no chain served here (a `config` error).
pub async fn select_hop(view: &LedgerView, src: &str, input_hash: &str) -> Option<usize> {
    let hops = view.hops();
    if hops.len() == 1 {
        return Some(0);
    }
    let deadline = Instant::now() + ms(view.config().hash_wait_ms);
    loop {
        let changes = view.changes();
        tokio::pin!(changes);
        changes.as_mut().enable();
        let snaps: Vec<(usize, std::sync::Arc<HopSnapshot>)> = (0..hops.len())
            .filter_map(|i| view.snapshot_at(i).map(|s| (i, s)))
            .collect();
        let by_hash = |s: &HopSnapshot| {
            s.hop.validation.checks_hash()
                && s.prev
                    .as_ref()
                    .is_some_and(|p| view.has_out(&s.chain, &p.psiid, input_hash))
        };
        let by_source: Vec<&(usize, std::sync::Arc<HopSnapshot>)> = snaps
            .iter()
            .filter(|(_, s)| address::matches(s, src))
            .collect();
        match by_source.len() {
            1 => return Some(by_source[0].0),
            n if n > 1 => {
                let narrowed: Vec<_> = by_source.iter().filter(|(_, s)| by_hash(s)).collect();
                return match narrowed.len() {
                    1 => Some(narrowed[0].0),
                    _ => Some(by_source[0].0),
                };
            }
            _ => {}
        }
        if let Some((i, _)) = snaps.iter().find(|(_, s)| by_hash(s)) {
            return Some(*i);
        }
        // Only a hash-validating hop (not the first) can still claim it: wait for records.
        let can_wait = snaps
            .iter()
            .any(|(_, s)| s.hop.validation.checks_hash() && s.prev.is_some());
        if !can_wait
            || tokio::time::timeout_at(deadline.into(), changes)
                .await
                .is_err()
        {
            return None;
        }
    }
}
