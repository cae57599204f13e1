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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ChainState, Owner, Validation};

    fn chain() -> Chain {
        Chain {
            id: "c".into(),
            owner: Owner {
                msp: "Tenant1MSP".into(),
                id: "owner-id".into(),
            },
            version: 1,
            state: ChainState::Active,
            hops: vec![Hop {
                psiid: "Org1:F:1".into(),
                sp_msp: "Org1MSP".into(),
                address: "127.0.0.1:1".into(),
                validation: Validation::None,
                collection: None,
            }],
            classifier: None,
            created_tx: "t".into(),
            updated_tx: "t".into(),
            created_at: "x".into(),
            updated_at: "x".into(),
        }
    }

    fn caller(msp: &str, id: &str) -> Caller {
        Caller {
            msp_id: msp.into(),
            id: id.into(),
        }
    }

    #[test]
    fn roles() {
        let (c, config) = (chain(), Config::default());
        let owner = caller("Tenant1MSP", "owner-id");
        // Same id under another MSP is not the owner (ids are per issuer, MSPs per org).
        let impostor = caller("Org1MSP", "owner-id");
        let colleague = caller("Tenant1MSP", "other");
        assert!(is_owner(&c, &owner) && !is_owner(&c, &impostor) && !is_owner(&c, &colleague));
        assert!(require_owner(&c, &impostor, "x").is_err());
        assert!(is_member(&c, &impostor, &config));
        assert!(is_member(&c, &caller("ManagerMSP", "m"), &config));
        assert!(!is_member(&c, &colleague, &config));
        let custom = Config {
            manager_msp: "OpsMSP".into(),
        };
        assert!(!is_member(&c, &caller("ManagerMSP", "m"), &custom));
        assert!(require_hop_sp(&c, &c.hops[0], &impostor).is_ok());
        assert_eq!(
            require_hop_sp(&c, &c.hops[0], &owner).unwrap_err().status(),
            403
        );
    }

    #[test]
    fn private_reads_only_by_the_collection_org() {
        let sp = caller("Org1MSP", "sp");
        assert!(require_collection_owner("_implicit_org_Org1MSP", "Org1MSP", &sp).is_ok());
        let other = caller("Org2MSP", "sp");
        let err = require_collection_owner("_implicit_org_Org1MSP", "Org1MSP", &other).unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(err.to_string().contains("_implicit_org_Org1MSP"));
    }
}
