//! The credential check: the user's credential shared with our SP must match the SP's
//! account. Private to the SP, so only `CheckIn` decides; the view keeps its verdict for
//! `validation.auth_ttl_ms` or until the chain changes.

use super::Check;
use crate::sf::ledger_view::HopSnapshot;

pub fn check(hop: &HopSnapshot) -> Check {
    match &hop.auth {
        Some(Ok(())) => Check::Pass,
        Some(Err(reason)) => Check::Fail(reason.clone()),
        None => Check::Unknown,
    }
}
