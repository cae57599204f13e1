//! Endorsement plans: which peers must endorse a proposal, as Fabric's gateway asks its
//! discovery service after the first endorsement.
//!
//! The first endorser's read/write set says which policies the committing peers will check
//! (the v20 validation rules the validator applies): for every namespace written publicly,
//! its chaincode's policy; for every collection written, the collection's policy (an
//! implicit org collection: that org's `Endorsement` policy) or else the chaincode's; the
//! invoked chaincode's policy when nothing else applies. A layout is a set of peers (one per
//! org here) whose identities satisfy all of them; layouts are tried smallest first, those
//! containing the first endorser before the others. With transient data, only peers of orgs
//! in every written collection's distribution policy may be in a layout (Fabric 2.5 sets
//! `NoPrivateReads = false` on the chaincode interest for the same effect).
//!
//! Checked on real Fabric 2.5.16 (2026-11-26, 2 orgs, chaincode policy MAJORITY): a write only
//! to `_implicit_org_Org1MSP`, with transient data and no `endorsingOrganizations`, through
//! Org1's gateway is endorsed by Org1 alone and VALID (no FAILED_PRECONDITION); the same write
//! to `_implicit_org_Org2MSP` through Org1's gateway is endorsed by Org2 alone, VALID. This
//! module plans both the same way (devnet/tests/conformance_node.rs, gateway.test.js).

use std::collections::BTreeSet;

use prost::Message;
use sfcbc_fabric::msp::ValidatedIdentity;
use sfcbc_fabric::protos::protos::{ChaincodeAction, ProposalResponse, ProposalResponsePayload};
use sfcbc_fabric::protos::rwset::TxReadWriteSet;

use crate::peer::{Peer, PeerChannel};
use crate::validator::{EndorsementPolicy, collection_policy, evaluate_policy};

/// The most peers a layout search considers (2^n subsets).
const MAX_CANDIDATES: usize = 12;

/// What the rwset of a successful first endorsement requires.
#[derive(Debug, Default)]
pub struct Requirements {
    /// Policies every layout must satisfy.
    pub policies: Vec<EndorsementPolicy>,
    /// Collections written, as (namespace, collection).
    pub collections: Vec<(String, String)>,
}

/// The policies and collections of a successful proposal response.
pub fn requirements(
    ch: &PeerChannel,
    chaincode: &str,
    response: &ProposalResponse,
) -> Result<Requirements, String> {
    let prp = ProposalResponsePayload::decode(response.payload.as_slice())
        .map_err(|e| format!("failed to decode proposal response payload: {e}"))?;
    let action = ChaincodeAction::decode(prp.extension.as_slice())
        .map_err(|e| format!("failed to decode chaincode action: {e}"))?;
    let rwset = TxReadWriteSet::decode(action.results.as_slice())
        .map_err(|e| format!("failed to decode the read-write set: {e}"))?;
    let mut req = Requirements::default();
    let mut invoked_checked = false;
    for ns in &rwset.ns_rwset {
        let Some(def) = ch.definition(&ns.namespace) else {
            continue;
        };
        let kv = sfcbc_fabric::protos::kvrwset::KvrwSet::decode(ns.rwset.as_slice())
            .map_err(|e| format!("namespace {}: bad KVRWSet: {e}", ns.namespace))?;
        let mut checked = false;
        if !kv.writes.is_empty() || !kv.metadata_writes.is_empty() {
            req.policies.push(def.endorsement_policy.clone());
            checked = true;
        }
        for c in &ns.collection_hashed_rwset {
            let hashed =
                sfcbc_fabric::protos::kvrwset::HashedRwSet::decode(c.hashed_rwset.as_slice())
                    .map_err(|e| {
                        format!("collection {}: bad HashedRWSet: {e}", c.collection_name)
                    })?;
            if hashed.hashed_writes.is_empty() && hashed.metadata_writes.is_empty() {
                continue;
            }
            req.collections
                .push((ns.namespace.clone(), c.collection_name.clone()));
            let policy = collection_policy(ch.config.as_ref(), &def, &c.collection_name)?
                .unwrap_or_else(|| def.endorsement_policy.clone());
            req.policies.push(policy);
            checked = true;
        }
        if ns.namespace == chaincode && checked {
            invoked_checked = true;
        }
    }
    if !invoked_checked && let Some(def) = ch.definition(chaincode) {
        req.policies.push(def.endorsement_policy.clone());
    }
    Ok(req)
}

/// A peer's identity as the committing peers will see it in an endorsement.
fn identity_of(ch: &PeerChannel, peer: &Peer) -> Option<ValidatedIdentity> {
    ch.validated_identity(&peer.signer().serialize())
}

/// Layouts (sets of indices into `candidates`) satisfying every policy, smallest first, those
/// containing `first` before the others.
pub fn layouts(
    ch: &PeerChannel,
    candidates: &[Peer],
    policies: &[EndorsementPolicy],
    first: Option<usize>,
) -> Vec<Vec<usize>> {
    let candidates = &candidates[..candidates.len().min(MAX_CANDIDATES)];
    let ids: Vec<Option<ValidatedIdentity>> =
        candidates.iter().map(|p| identity_of(ch, p)).collect();
    let mut found: Vec<Vec<usize>> = Vec::new();
    for mask in 1u32..(1u32 << candidates.len()) {
        let set: Vec<usize> = (0..candidates.len())
            .filter(|i| mask & (1 << i) != 0)
            .collect();
        let signers: Vec<ValidatedIdentity> = set.iter().filter_map(|&i| ids[i].clone()).collect();
        if policies
            .iter()
            .all(|p| evaluate_policy(ch.config.as_ref(), p, &signers).is_ok())
        {
            found.push(set);
        }
    }
    // Minimal layouts only: a superset of a satisfying layout adds endorsers for nothing.
    let minimal: Vec<Vec<usize>> = found
        .iter()
        .filter(|s| {
            !found
                .iter()
                .any(|o| o.len() < s.len() && o.iter().all(|i| s.contains(i)))
        })
        .cloned()
        .collect();
    let mut out = minimal;
    out.sort_by_key(|s| (first.is_some_and(|f| !s.contains(&f)), s.len(), s.clone()));
    out
}

/// The member orgs of every collection in `collections` (intersection).
pub fn distribution_orgs(ch: &PeerChannel, collections: &[(String, String)]) -> BTreeSet<String> {
    let mut orgs: Option<BTreeSet<String>> = None;
    for (ns, coll) in collections {
        let members: BTreeSet<String> = ch
            .definition(ns)
            .and_then(|d| d.collection(coll))
            .map(|c| c.member_orgs.into_iter().collect())
            .unwrap_or_default();
        orgs = Some(match orgs {
            None => members,
            Some(o) => o.intersection(&members).cloned().collect(),
        });
    }
    orgs.unwrap_or_default()
}
