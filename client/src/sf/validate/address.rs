//! `address` validation: the UDP source must be the previous hop's registered address — for
//! hop 1, the chain's classifier or the source endpoint shared privately with our SP (known
//! only once `CheckIn` accepted it, or from the SF's config).

use sfcbc_chaincode::validate::same_address;

use super::Check;
use crate::sf::ledger_view::HopSnapshot;

pub fn check(hop: &HopSnapshot, src: &str) -> Check {
    if !hop.hop.validation.checks_address() {
        return Check::Pass;
    }
    match &hop.prev {
        Some(prev) if same_address(&prev.address, src) => Check::Pass,
        Some(prev) => Check::Fail(format!(
            "source {src} is not the previous hop's address ({} of {})",
            prev.address, prev.psiid
        )),
        None => {
            if hop
                .classifier
                .as_deref()
                .is_some_and(|c| same_address(c, src))
                || hop.sources.iter().any(|s| same_address(s, src))
            {
                Check::Pass
            } else {
                // The source endpoint is private: only CheckIn can tell.
                Check::Unknown
            }
        }
    }
}

/// Whether a datagram from `src` looks like it belongs to this hop's chain by its source.
pub fn matches(hop: &HopSnapshot, src: &str) -> bool {
    match &hop.prev {
        Some(prev) => same_address(&prev.address, src),
        None => {
            hop.classifier
                .as_deref()
                .is_some_and(|c| same_address(c, src))
                || hop.sources.iter().any(|s| same_address(s, src))
        }
    }
}
