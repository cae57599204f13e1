//! `hash` validation: an `out` record of the previous hop must hold the input hash, and the
//! input hash must not have been used at this hop before (the replay guard). At hop 1 there
//! is no previous hop: only the replay guard applies, as in the chaincode's `CheckIn`.
//!
//! The view knows the `out` hashes recorded since the SF started (`HopRecorded` events) and
//! the inputs this SF accepted since then; anything older is `CheckIn`'s to decide. A hash
//! not yet recorded is waited for, at most `validation.hash_wait_ms` (`hash-timeout`).
//!
//! At hop 1, when our record commits before we forward (the next hop validates by hash),
//! that commit is the ledger's replay guard: `RecordHops` reads `used~` and refuses a used
//! input (409), and the datagram is then dropped as a `replay` — so no `CheckIn` per
//! datagram is needed there.

use super::Check;
use crate::sf::ledger_view::{HopSnapshot, LedgerView};

/// `out` part.
pub fn check_out(view: &LedgerView, hop: &HopSnapshot, input_hash: &str) -> Check {
    if !hop.hop.validation.checks_hash() {
        return Check::Pass;
    }
    match &hop.prev {
        Some(prev) if view.has_out(&hop.chain, &prev.psiid, input_hash) => Check::Pass,
        Some(_) => Check::Unknown,
        // Hop 1: whether the hash is fresh only the ledger's replay guard knows; our own
        // record's commit asks it before the datagram goes on.
        None if hop.next_checks_hash() => Check::Pass,
        None => Check::Unknown,
    }
}

/// Replay part (local): an input this SF already accepted.
pub fn check_replay(view: &LedgerView, hop: &HopSnapshot, input_hash: &str) -> Check {
    if hop.hop.validation.checks_hash() && view.is_used(&hop.chain, &hop.hop.psiid, input_hash) {
        Check::Fail(format!(
            "input hash {input_hash} was already accepted by this SF"
        ))
    } else {
        Check::Pass
    }
}
