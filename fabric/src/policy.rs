//! Fabric's policies: signature policies (the `AND`/`OR`/`OutOf` language) and ImplicitMeta.
//!
//! [`from_string`] parses a signature-policy string into a `common.SignaturePolicyEnvelope`
//! byte-for-byte as Fabric's `policydsl.FromString` does. [`CompiledPolicy`] evaluates an
//! envelope against the identities that signed, with Fabric's `cauthdsl` semantics: gates are
//! tried in order, each signature satisfies at most one principal, and the first identity
//! that satisfies a principal takes it (greedy, no backtracking — so Fabric can reject a set
//! that some other assignment would accept, and so do we). [`parse_implicit_meta`] and
//! [`implicit_meta_satisfied`] do the same for `ANY|ALL|MAJORITY <SubPolicy>`.

mod dsl;

use prost::Message as _;

use crate::error::PolicyError;
use crate::msp::{MspRole, ValidatedIdentity};
use crate::protos::common::{
    ImplicitMetaPolicy, MspPrincipal, SignaturePolicy, SignaturePolicyEnvelope,
    implicit_meta_policy, msp_principal, signature_policy,
};

/// Parses a signature-policy string, e.g. `OR('Org1MSP.peer', AND('Org2MSP.member',
/// 'Org3MSP.admin'))` or `OutOf(2, 'A.member', 'B.member', 'C.member')`, into the envelope
/// Fabric's `policydsl.FromString` builds: version 0, principals of classification ROLE in
/// the order Fabric numbers them (not de-duplicated), `SignedBy` indices into them.
pub fn from_string(policy: &str) -> Result<SignaturePolicyEnvelope, PolicyError> {
    let (rule, identities) = dsl::from_string(policy)?;
    Ok(SignaturePolicyEnvelope {
        version: 0,
        rule: Some(rule),
        identities,
    })
}

/// `SignedBy(index)`.
pub fn signed_by(index: i32) -> SignaturePolicy {
    SignaturePolicy {
        r#type: Some(signature_policy::Type::SignedBy(index)),
    }
}

/// `NOutOf(n, rules)`.
pub fn n_out_of(n: i32, rules: Vec<SignaturePolicy>) -> SignaturePolicy {
    SignaturePolicy {
        r#type: Some(signature_policy::Type::NOutOf(signature_policy::NOutOf {
            n,
            rules,
        })),
    }
}

/// A ROLE principal `msp_id.role`.
pub fn role_principal(msp_id: &str, role: MspRole) -> MspPrincipal {
    MspPrincipal {
        principal_classification: msp_principal::Classification::Role as i32,
        principal: crate::protos::common::MspRole {
            msp_identifier: msp_id.to_string(),
            role: role.to_proto(),
        }
        .encode_to_vec(),
    }
}

/// One signature from any of `msp_ids` with `role` (Fabric's `SignedByAnyMember` /
/// `SignedByAnyPeer` ...: MSP IDs sorted, one principal each).
pub fn signed_by_any(msp_ids: &[&str], role: MspRole) -> SignaturePolicyEnvelope {
    let mut ids: Vec<&str> = msp_ids.to_vec();
    ids.sort_unstable();
    let identities: Vec<MspPrincipal> = ids.iter().map(|m| role_principal(m, role)).collect();
    let rules = (0..identities.len() as i32).map(signed_by).collect();
    SignaturePolicyEnvelope {
        version: 0,
        rule: Some(n_out_of(1, rules)),
        identities,
    }
}

/// Something that may satisfy an `MSPPrincipal`: a signer whose identity was validated.
pub trait Principal {
    /// Whether this signer satisfies `principal` (Fabric's `SatisfiesPrincipal`).
    fn satisfies(&self, principal: &MspPrincipal) -> bool;
}

impl Principal for ValidatedIdentity {
    fn satisfies(&self, principal: &MspPrincipal) -> bool {
        use crate::protos::common::{MspIdentityAnonymity, OrganizationUnit};
        use msp_principal::Classification;
        match Classification::try_from(principal.principal_classification) {
            Ok(Classification::Role) => {
                let Ok(role) =
                    crate::protos::common::MspRole::decode(principal.principal.as_slice())
                else {
                    return false;
                };
                role.msp_identifier == self.msp_id()
                    && MspRole::from_proto(role.role).is_some_and(|r| self.has_role(r))
            }
            Ok(Classification::Identity) => {
                match crate::msp::Identity::from_serialized(&principal.principal) {
                    Ok(p) => {
                        p.msp_id() == self.msp_id() && p.cert_der() == self.identity.cert_der()
                    }
                    Err(_) => false,
                }
            }
            Ok(Classification::OrganizationUnit) => {
                let Ok(ou) = OrganizationUnit::decode(principal.principal.as_slice()) else {
                    return false;
                };
                ou.msp_identifier == self.msp_id()
                    && self.ous.contains(&ou.organizational_unit_identifier)
                    && ou.certifiers_identifier == self.certifier
            }
            Ok(Classification::Anonymity) => {
                // X.509 identities are never anonymous; NOMINAL (1) is satisfied by anyone.
                MspIdentityAnonymity::decode(principal.principal.as_slice())
                    .is_ok_and(|a| a.anonymity_type == 1)
            }
            Ok(Classification::Combined) | Err(_) => false,
        }
    }
}

/// A signer described only by MSP ID and the roles it satisfies (for callers that decided
/// roles elsewhere, and for tests). Satisfies ROLE principals only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleHolder {
    /// The signer's MSP.
    pub msp_id: String,
    /// Roles it satisfies (`Member` is implied).
    pub roles: Vec<MspRole>,
}

impl RoleHolder {
    /// A signer of `msp_id` with `roles` (plus `Member`).
    pub fn new(msp_id: impl Into<String>, roles: &[MspRole]) -> Self {
        Self {
            msp_id: msp_id.into(),
            roles: roles.to_vec(),
        }
    }
}

impl Principal for RoleHolder {
    fn satisfies(&self, principal: &MspPrincipal) -> bool {
        if principal.principal_classification != msp_principal::Classification::Role as i32 {
            return false;
        }
        let Ok(role) = crate::protos::common::MspRole::decode(principal.principal.as_slice())
        else {
            return false;
        };
        role.msp_identifier == self.msp_id
            && MspRole::from_proto(role.role)
                .is_some_and(|r| r == MspRole::Member || self.roles.contains(&r))
    }
}

impl<T: Principal + ?Sized> Principal for &T {
    fn satisfies(&self, principal: &MspPrincipal) -> bool {
        (**self).satisfies(principal)
    }
}

/// A signature policy checked for structure and ready to evaluate (Fabric's `cauthdsl`
/// compile step).
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    /// The principals the rule refers to.
    identities: Vec<MspPrincipal>,
    /// The rule.
    rule: Node,
}

#[derive(Clone, Debug)]
enum Node {
    SignedBy(usize),
    NOutOf(i32, Vec<Node>),
}

/// How deep a policy from the network may nest before we refuse it.
const MAX_POLICY_DEPTH: usize = 64;

fn compile(p: &SignaturePolicy, n_ids: usize, depth: usize) -> Result<Node, PolicyError> {
    if depth > MAX_POLICY_DEPTH {
        return Err(PolicyError::TooDeep(MAX_POLICY_DEPTH));
    }
    match &p.r#type {
        None => Err(PolicyError::Envelope("empty policy element".into())),
        Some(signature_policy::Type::SignedBy(i)) => {
            let idx = usize::try_from(*i).ok().filter(|i| *i < n_ids).ok_or_else(|| {
                PolicyError::Envelope(format!(
                    "identity index out of range, requested {i}, but identities length is {n_ids}"
                ))
            })?;
            Ok(Node::SignedBy(idx))
        }
        Some(signature_policy::Type::NOutOf(n)) => Ok(Node::NOutOf(
            n.n,
            n.rules
                .iter()
                .map(|r| compile(r, n_ids, depth + 1))
                .collect::<Result<_, _>>()?,
        )),
    }
}

impl CompiledPolicy {
    /// Checks an envelope (version 0, a rule, indices in range).
    pub fn new(envelope: &SignaturePolicyEnvelope) -> Result<Self, PolicyError> {
        if envelope.version != 0 {
            return Err(PolicyError::Envelope(format!(
                "this evaluator only understands messages of version 0, but version was {}",
                envelope.version
            )));
        }
        let rule = envelope
            .rule
            .as_ref()
            .ok_or_else(|| PolicyError::Envelope("empty policy element".into()))?;
        Ok(Self {
            rule: compile(rule, envelope.identities.len(), 0)?,
            identities: envelope.identities.clone(),
        })
    }

    /// Decodes and checks `SignaturePolicyEnvelope` bytes (e.g. an endorsement policy).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PolicyError> {
        let env = SignaturePolicyEnvelope::decode(bytes).map_err(|e| {
            PolicyError::Envelope(format!("malformed SignaturePolicyEnvelope: {e}"))
        })?;
        Self::new(&env)
    }

    /// Whether the signers satisfy the policy. Pass each signer once (Fabric drops duplicate
    /// identities and invalid signatures before evaluating).
    pub fn evaluate<P: Principal>(&self, signers: &[P]) -> bool {
        let mut used = vec![false; signers.len()];
        self.eval(&self.rule, signers, &mut used)
    }

    fn eval<P: Principal>(&self, node: &Node, signers: &[P], used: &mut [bool]) -> bool {
        match node {
            Node::SignedBy(idx) => {
                let principal = &self.identities[*idx];
                for (i, s) in signers.iter().enumerate() {
                    if used[i] {
                        continue;
                    }
                    if s.satisfies(principal) {
                        used[i] = true;
                        return true;
                    }
                }
                false
            }
            Node::NOutOf(n, rules) => {
                let mut verified: i64 = 0;
                let mut scratch = vec![false; used.len()];
                for r in rules {
                    scratch.copy_from_slice(used);
                    if self.eval(r, signers, &mut scratch) {
                        verified += 1;
                        used.copy_from_slice(&scratch);
                    }
                }
                verified >= i64::from(*n)
            }
        }
    }
}

/// Parses `ANY|ALL|MAJORITY <SubPolicy>` as Fabric's `ImplicitMetaFromString` does: exactly
/// two tokens separated by one space, the rule in capitals.
pub fn parse_implicit_meta(input: &str) -> Result<ImplicitMetaPolicy, PolicyError> {
    let args: Vec<&str> = input.split(' ').collect();
    if args.len() != 2 {
        return Err(PolicyError::ImplicitMeta {
            input: input.to_string(),
            reason: format!(
                "expected two space separated tokens, but got {}",
                args.len()
            ),
        });
    }
    let rule = implicit_meta_policy::Rule::from_str_name(args[0]).ok_or_else(|| {
        PolicyError::ImplicitMeta {
            input: input.to_string(),
            reason: format!(
                "unknown rule type '{}', expected ALL, ANY, or MAJORITY",
                args[0]
            ),
        }
    })?;
    Ok(ImplicitMetaPolicy {
        sub_policy: args[1].to_string(),
        rule: rule as i32,
    })
}

/// How many of `n` sub-policies an ImplicitMeta rule needs (ANY 1, ALL n, MAJORITY n/2+1;
/// 0 when there are no sub-policies, as in Fabric). An unknown rule number needs 0, as
/// Fabric's switch leaves it.
pub fn implicit_meta_threshold(policy: &ImplicitMetaPolicy, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    match implicit_meta_policy::Rule::try_from(policy.rule) {
        Ok(implicit_meta_policy::Rule::All) => n,
        Ok(implicit_meta_policy::Rule::Majority) => n / 2 + 1,
        Err(_) => 0,
        Ok(implicit_meta_policy::Rule::Any) => 1,
    }
}

/// Whether an ImplicitMeta policy holds, given whether each sub-group's sub-policy holds.
pub fn implicit_meta_satisfied(policy: &ImplicitMetaPolicy, sub_results: &[bool]) -> bool {
    let needed = implicit_meta_threshold(policy, sub_results.len());
    sub_results.iter().filter(|b| **b).count() >= needed
}
