//! Who may do what (DESIGN §4), decided from the caller's MSP ID and client id only.
//!
//! - owner: the chain's creator (same MSP ID and `cid.GetID()`);
//! - hop SP: any identity of the MSP that runs a given hop;
//! - member: the owner, the SP of any hop of the chain, or the manager's MSP;
//! - collection owner: private reads are refused unless the caller's MSP owns the collection
//!   (implicit collections let every member read, so the contract must refuse).

use crate::error::{ContractError, Result};
use crate::identity::Caller;
use crate::types::{Chain, Hop};

/// Deployment settings the access rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The manager's MSP ID (DESIGN §1): may read every chain, never write one.
    pub manager_msp: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            manager_msp: "ManagerMSP".into(),
        }
    }
}

pub fn is_owner(chain: &Chain, caller: &Caller) -> bool {
    chain.owner.msp == caller.msp_id && chain.owner.id == caller.id
}

pub fn is_member(chain: &Chain, caller: &Caller, config: &Config) -> bool {
    is_owner(chain, caller)
        || caller.msp_id == config.manager_msp
        || chain.hops.iter().any(|h| h.sp_msp == caller.msp_id)
}

pub fn require_owner(chain: &Chain, caller: &Caller, action: &str) -> Result<()> {
    if is_owner(chain, caller) {
        Ok(())
    } else {
        Err(ContractError::Forbidden(format!(
            "only the owner of chain {} may {action}; caller is {} of {}",
            chain.id,
            short_id(&caller.id),
            caller.msp_id
        )))
    }
}

pub fn require_member(chain: &Chain, caller: &Caller, config: &Config) -> Result<()> {
    if is_member(chain, caller, config) {
        Ok(())
    } else {
        Err(ContractError::Forbidden(format!(
            "{} is not a member of chain {} (owner, a hop's SP or the manager)",
            caller.msp_id, chain.id
        )))
    }
}

pub fn require_hop_sp(chain: &Chain, hop: &Hop, caller: &Caller) -> Result<()> {
    if hop.sp_msp == caller.msp_id {
        Ok(())
    } else {
        Err(ContractError::Forbidden(format!(
            "only {} (the SP of hop {} in chain {}) may do this; caller is {}",
            hop.sp_msp, hop.psiid, chain.id, caller.msp_id
        )))
    }
}

/// Private reads of `collection`, owned by `owner_msp`.
pub fn require_collection_owner(collection: &str, owner_msp: &str, caller: &Caller) -> Result<()> {
    if owner_msp == caller.msp_id {
        Ok(())
    } else {
        Err(ContractError::Forbidden(format!(
            "private data in {collection} is readable through this contract by {owner_msp} only; caller is {}",
            caller.msp_id
        )))
    }
}

/// A client id is long base64; show its start in messages.
fn short_id(id: &str) -> String {
    let head: String = id.chars().take(16).collect();
    format!("{head}…")
}
