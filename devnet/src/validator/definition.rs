//! Chaincode definitions as `_lifecycle` holds them on a channel: name, version, sequence,
//! endorsement policy, private data collections and `init_required`; and the collection
//! configuration file format of fabric-samples (`collections_config.json`), parsed as
//! `peer lifecycle chaincode ... --collections-config` reads it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use prost::Message as _;
use serde::Deserialize;
use sfcbc_fabric::policy::{from_string, parse_implicit_meta};
use sfcbc_fabric::protos::common::{
    ImplicitMetaPolicy, MspRole as ProtoMspRole, SignaturePolicyEnvelope, msp_principal,
};
use sfcbc_fabric::protos::protos as pb;

use crate::simulator::IMPLICIT_COLLECTION_PREFIX;

/// The default chaincode endorsement policy Fabric's lifecycle applies when none is given.
pub const DEFAULT_ENDORSEMENT_POLICY_REF: &str = "/Channel/Application/Endorsement";

/// A chaincode's (or collection's) endorsement policy.
#[derive(Debug, Clone, PartialEq)]
pub enum EndorsementPolicy {
    /// An explicit signature policy (`--signature-policy "OR('Org1MSP.peer', ...)"`).
    Signature(SignaturePolicyEnvelope),
    /// A reference to a channel policy (`--channel-config-policy
    /// /Channel/Application/Endorsement`), Fabric's default.
    ChannelConfig(String),
    /// `ANY|ALL|MAJORITY <SubPolicy>` over the channel's application orgs, evaluated as a
    /// channel ImplicitMeta policy would be (devnet convenience: `--policy "MAJORITY
    /// Endorsement"`). Fabric itself only knows the two forms above.
    ImplicitMeta(ImplicitMetaPolicy),
}

impl Default for EndorsementPolicy {
    fn default() -> Self {
        Self::ChannelConfig(DEFAULT_ENDORSEMENT_POLICY_REF.to_owned())
    }
}

/// A definition or collection configuration that Fabric's lifecycle would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DefinitionError(pub String);

impl EndorsementPolicy {
    /// Parses a policy as devnet's `--policy` takes it: a channel policy path (`/Channel/...`),
    /// an ImplicitMeta rule (`MAJORITY Endorsement`), or Fabric's signature-policy language.
    pub fn parse(policy: &str) -> Result<Self, DefinitionError> {
        let p = policy.trim();
        if p.starts_with('/') {
            return Ok(Self::ChannelConfig(p.to_owned()));
        }
        if let Ok(meta) = parse_implicit_meta(p) {
            return Ok(Self::ImplicitMeta(meta));
        }
        from_string(p)
            .map(Self::Signature)
            .map_err(|e| DefinitionError(format!("invalid endorsement policy `{p}`: {e}")))
    }

    /// `common.ApplicationPolicy` as `_lifecycle` stores it (`None` for the devnet-only
    /// ImplicitMeta form).
    pub fn to_application_policy(&self) -> Option<pb::ApplicationPolicy> {
        use pb::application_policy::Type;
        match self {
            Self::Signature(env) => Some(pb::ApplicationPolicy {
                r#type: Some(Type::SignaturePolicy(env.clone())),
            }),
            Self::ChannelConfig(r) => Some(pb::ApplicationPolicy {
                r#type: Some(Type::ChannelConfigPolicyReference(r.clone())),
            }),
            Self::ImplicitMeta(_) => None,
        }
    }

    /// From `common.ApplicationPolicy` bytes.
    pub fn from_application_policy(bytes: &[u8]) -> Result<Self, DefinitionError> {
        use pb::application_policy::Type;
        let p = pb::ApplicationPolicy::decode(bytes)
            .map_err(|e| DefinitionError(format!("malformed ApplicationPolicy: {e}")))?;
        match p.r#type {
            Some(Type::SignaturePolicy(env)) => Ok(Self::Signature(env)),
            Some(Type::ChannelConfigPolicyReference(r)) => Ok(Self::ChannelConfig(r)),
            None => Err(DefinitionError("ApplicationPolicy has no policy".into())),
        }
    }
}

/// A private data collection of a chaincode (`StaticCollectionConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionDefinition {
    pub name: String,
    /// Who may hold the data (`policy` in the JSON), a signature policy over org members.
    pub member_orgs_policy: SignaturePolicyEnvelope,
    /// The MSP IDs named by `member_orgs_policy` (Fabric's `MemberOrgs`), sorted.
    pub member_orgs: Vec<String>,
    pub required_peer_count: i32,
    pub max_peer_count: i32,
    /// Blocks after which private data is purged; 0 keeps it for ever.
    pub block_to_live: u64,
    pub member_only_read: bool,
    pub member_only_write: bool,
    /// Overrides the chaincode's endorsement policy for writes to this collection.
    pub endorsement_policy: Option<EndorsementPolicy>,
}

impl CollectionDefinition {
    /// The implicit collection of org `msp_id` as Fabric generates it: members = that org,
    /// no peer counts, readable and writable by anyone; its writes are validated against the
    /// org's own `Endorsement` policy.
    pub fn implicit(msp_id: &str) -> Self {
        let member_orgs_policy =
            sfcbc_fabric::policy::signed_by_any(&[msp_id], sfcbc_fabric::msp::MspRole::Member);
        Self {
            name: implicit_collection_name(msp_id),
            member_orgs_policy,
            member_orgs: vec![msp_id.to_owned()],
            required_peer_count: 0,
            max_peer_count: 0,
            block_to_live: 0,
            member_only_read: false,
            member_only_write: false,
            endorsement_policy: None,
        }
    }

    /// Whether org `msp_id` is a member (may hold the data).
    pub fn is_member(&self, msp_id: &str) -> bool {
        self.member_orgs.iter().any(|m| m == msp_id)
    }

    /// `protos.StaticCollectionConfig`.
    pub fn to_proto(&self) -> pb::StaticCollectionConfig {
        pb::StaticCollectionConfig {
            name: self.name.clone(),
            member_orgs_policy: Some(pb::CollectionPolicyConfig {
                payload: Some(pb::collection_policy_config::Payload::SignaturePolicy(
                    self.member_orgs_policy.clone(),
                )),
            }),
            required_peer_count: self.required_peer_count,
            maximum_peer_count: self.max_peer_count,
            block_to_live: self.block_to_live,
            member_only_read: self.member_only_read,
            member_only_write: self.member_only_write,
            endorsement_policy: self
                .endorsement_policy
                .as_ref()
                .and_then(EndorsementPolicy::to_application_policy),
        }
    }
}

/// `_implicit_org_<MSP>`.
pub fn implicit_collection_name(msp_id: &str) -> String {
    format!("{IMPLICIT_COLLECTION_PREFIX}{msp_id}")
}

/// The MSP ID of an implicit collection name, if it is one.
pub fn implicit_collection_msp(collection: &str) -> Option<&str> {
    collection
        .strip_prefix(IMPLICIT_COLLECTION_PREFIX)
        .filter(|m| !m.is_empty())
}

/// A chaincode as defined (committed) on a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaincodeDefinition {
    pub name: String,
    /// Echoed by endorsers in `ChaincodeAction.chaincode_id.version`.
    pub version: String,
    pub sequence: i64,
    pub endorsement_policy: EndorsementPolicy,
    /// Explicit collections (implicit org collections always exist besides these).
    pub collections: Vec<CollectionDefinition>,
    pub init_required: bool,
}

impl ChaincodeDefinition {
    /// A definition with Fabric's defaults: sequence 1, the channel's `Endorsement` policy,
    /// no explicit collections, no init.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            sequence: 1,
            endorsement_policy: EndorsementPolicy::default(),
            collections: Vec::new(),
            init_required: false,
        }
    }

    pub fn with_policy(mut self, policy: EndorsementPolicy) -> Self {
        self.endorsement_policy = policy;
        self
    }

    pub fn with_collections(mut self, collections: Vec<CollectionDefinition>) -> Self {
        self.collections = collections;
        self
    }

    /// A collection by name: an explicit one, or the implicit collection of an org.
    /// (Whether that org is on the channel is the caller's check.)
    pub fn collection(&self, name: &str) -> Option<CollectionDefinition> {
        if let Some(c) = self.collections.iter().find(|c| c.name == name) {
            return Some(c.clone());
        }
        implicit_collection_msp(name).map(CollectionDefinition::implicit)
    }

    /// `protos.CollectionConfigPackage` of the explicit collections.
    pub fn collection_config_package(&self) -> pb::CollectionConfigPackage {
        pb::CollectionConfigPackage {
            config: self
                .collections
                .iter()
                .map(|c| pb::CollectionConfig {
                    payload: Some(pb::collection_config::Payload::StaticCollectionConfig(
                        c.to_proto(),
                    )),
                })
                .collect(),
        }
    }
}

/// The chaincodes defined on a channel, by name.
pub trait ChaincodeDefinitions: Send + Sync {
    fn definition(&self, name: &str) -> Option<Arc<ChaincodeDefinition>>;
}

/// An in-memory, updatable set of definitions (what `devnet chaincode commit` fills).
#[derive(Debug, Default)]
pub struct DefinitionRegistry {
    defs: RwLock<BTreeMap<String, Arc<ChaincodeDefinition>>>,
}

impl DefinitionRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines (or redefines) a chaincode.
    pub fn insert(&self, def: ChaincodeDefinition) {
        self.defs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(def.name.clone(), Arc::new(def));
    }

    pub fn names(&self) -> Vec<String> {
        self.defs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

impl ChaincodeDefinitions for DefinitionRegistry {
    fn definition(&self, name: &str) -> Option<Arc<ChaincodeDefinition>> {
        self.defs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}

// ---- collections_config.json ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCollection {
    name: String,
    policy: String,
    #[serde(rename = "requiredPeerCount", default)]
    required_peer_count: Option<i32>,
    #[serde(rename = "maxPeerCount", default)]
    max_peer_count: Option<i32>,
    #[serde(rename = "blockToLive", default)]
    block_to_live: u64,
    #[serde(rename = "memberOnlyRead", default)]
    member_only_read: bool,
    #[serde(rename = "memberOnlyWrite", default)]
    member_only_write: bool,
    #[serde(rename = "endorsementPolicy", default)]
    endorsement_policy: Option<JsonEndorsementPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEndorsementPolicy {
    #[serde(rename = "signaturePolicy", default)]
    signature_policy: Option<String>,
    #[serde(rename = "channelConfigPolicy", default)]
    channel_config_policy: Option<String>,
}

/// Parses a fabric-samples `collections_config.json`: an array of `{name, policy,
/// requiredPeerCount, maxPeerCount, blockToLive, memberOnlyRead, memberOnlyWrite,
/// endorsementPolicy: {signaturePolicy | channelConfigPolicy}}`, with the checks Fabric's
/// CLI and lifecycle apply (names, unique, counts, member policy in the signature language,
/// at most one endorsement policy form).
pub fn parse_collections_config(json: &[u8]) -> Result<Vec<CollectionDefinition>, DefinitionError> {
    let raw: Vec<JsonCollection> = serde_json::from_slice(json)
        .map_err(|e| DefinitionError(format!("invalid collection configuration: {e}")))?;
    let mut out: Vec<CollectionDefinition> = Vec::with_capacity(raw.len());
    for c in raw {
        let bad = |m: String| DefinitionError(format!("collection `{}`: {m}", c.name));
        if c.name.is_empty()
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            return Err(bad("collection names may hold only [A-Za-z0-9_-]".into()));
        }
        if c.name.starts_with(IMPLICIT_COLLECTION_PREFIX) {
            return Err(bad(format!(
                "names starting with `{IMPLICIT_COLLECTION_PREFIX}` are reserved for implicit \
                 collections"
            )));
        }
        if out.iter().any(|o| o.name == c.name) {
            return Err(bad("defined twice".into()));
        }
        let required = c.required_peer_count.unwrap_or(0);
        let max = c.max_peer_count.unwrap_or(0);
        if required < 0 {
            return Err(bad(format!("requiredPeerCount {required} is negative")));
        }
        if max < required {
            return Err(bad(format!(
                "maxPeerCount ({max}) cannot be less than requiredPeerCount ({required})"
            )));
        }
        let member_orgs_policy = from_string(&c.policy)
            .map_err(|e| bad(format!("invalid member policy `{}`: {e}", c.policy)))?;
        let member_orgs = member_orgs(&member_orgs_policy);
        if member_orgs.is_empty() {
            return Err(bad("the member policy names no organization".into()));
        }
        let endorsement_policy = match c.endorsement_policy {
            None => None,
            Some(JsonEndorsementPolicy {
                signature_policy: Some(_),
                channel_config_policy: Some(_),
            }) => {
                return Err(bad(
                    "endorsementPolicy may hold a signaturePolicy or a channelConfigPolicy, \
                     not both"
                        .into(),
                ));
            }
            Some(JsonEndorsementPolicy {
                signature_policy: Some(s),
                ..
            }) => Some(EndorsementPolicy::Signature(from_string(&s).map_err(
                |e| bad(format!("invalid endorsement signaturePolicy `{s}`: {e}")),
            )?)),
            Some(JsonEndorsementPolicy {
                channel_config_policy: Some(p),
                ..
            }) => Some(EndorsementPolicy::ChannelConfig(p)),
            Some(_) => None,
        };
        out.push(CollectionDefinition {
            name: c.name.clone(),
            member_orgs_policy,
            member_orgs,
            required_peer_count: required,
            max_peer_count: max,
            block_to_live: c.block_to_live,
            member_only_read: c.member_only_read,
            member_only_write: c.member_only_write,
            endorsement_policy,
        });
    }
    Ok(out)
}

/// The MSP IDs of a policy's ROLE principals, sorted and de-duplicated.
pub fn member_orgs(policy: &SignaturePolicyEnvelope) -> Vec<String> {
    let mut out: Vec<String> = policy
        .identities
        .iter()
        .filter(|p| p.principal_classification == msp_principal::Classification::Role as i32)
        .filter_map(|p| ProtoMspRole::decode(p.principal.as_slice()).ok())
        .map(|r| r.msp_identifier)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fabric_samples_collections_config() {
        let json = br#"[
          {"name": "assetCollection",
           "policy": "OR('Org1MSP.member', 'Org2MSP.member')",
           "requiredPeerCount": 1, "maxPeerCount": 1, "blockToLive": 1000000,
           "memberOnlyRead": true, "memberOnlyWrite": true},
          {"name": "Org1MSPPrivateCollection", "policy": "OR('Org1MSP.member')",
           "requiredPeerCount": 0, "maxPeerCount": 1, "blockToLive": 3,
           "memberOnlyRead": true, "memberOnlyWrite": false,
           "endorsementPolicy": {"signaturePolicy": "OR('Org1MSP.member')"}},
          {"name": "ref", "policy": "OR('Org2MSP.member')",
           "endorsementPolicy": {"channelConfigPolicy": "/Channel/Application/Org2/Endorsement"}}
        ]"#;
        let cs = parse_collections_config(json).unwrap();
        assert_eq!(cs.len(), 3);
        assert_eq!(cs[0].member_orgs, ["Org1MSP", "Org2MSP"]);
        assert!(cs[0].member_only_read && cs[0].member_only_write);
        assert_eq!(cs[0].block_to_live, 1_000_000);
        assert!(cs[0].endorsement_policy.is_none());
        assert!(matches!(
            cs[1].endorsement_policy,
            Some(EndorsementPolicy::Signature(_))
        ));
        assert_eq!(
            cs[2].endorsement_policy,
            Some(EndorsementPolicy::ChannelConfig(
                "/Channel/Application/Org2/Endorsement".into()
            ))
        );
        assert_eq!(cs[2].max_peer_count, 0);
    }

    #[test]
    fn bad_collections_configs() {
        for (json, want) in [
            (
                r#"[{"name":"a","policy":"OR('A.member')","requiredPeerCount":2,"maxPeerCount":1}]"#,
                "maxPeerCount",
            ),
            (
                r#"[{"name":"a b","policy":"OR('A.member')"}]"#,
                "[A-Za-z0-9_-]",
            ),
            (
                r#"[{"name":"_implicit_org_A","policy":"OR('A.member')"}]"#,
                "reserved",
            ),
            (
                r#"[{"name":"a","policy":"OR('A.member')"},{"name":"a","policy":"OR('A.member')"}]"#,
                "twice",
            ),
            (r#"[{"name":"a","policy":"NOPE("}]"#, "member policy"),
            (
                r#"[{"name":"a","policy":"OR('A.member')","endorsementPolicy":{"signaturePolicy":"OR('A.member')","channelConfigPolicy":"/x"}}]"#,
                "not both",
            ),
            (
                r#"[{"name":"a","policy":"OR('A.member')","bogus":1}]"#,
                "unknown field",
            ),
        ] {
            let e = parse_collections_config(json.as_bytes()).unwrap_err();
            assert!(e.0.contains(want), "{json}: {e}");
        }
    }

    #[test]
    fn policies_parse_in_all_three_forms() {
        assert_eq!(
            EndorsementPolicy::parse("/Channel/Application/Endorsement").unwrap(),
            EndorsementPolicy::default()
        );
        assert!(matches!(
            EndorsementPolicy::parse("MAJORITY Endorsement").unwrap(),
            EndorsementPolicy::ImplicitMeta(_)
        ));
        let sig = EndorsementPolicy::parse("OutOf(2, 'A.peer', 'B.peer', 'C.peer')").unwrap();
        let bytes = sig.to_application_policy().unwrap().encode_to_vec();
        assert_eq!(
            EndorsementPolicy::from_application_policy(&bytes).unwrap(),
            sig
        );
        assert!(EndorsementPolicy::parse("AND(").is_err());
    }

    #[test]
    fn implicit_collections_exist_for_any_org() {
        let d = ChaincodeDefinition::new("sfc", "1.0");
        let c = d.collection("_implicit_org_Org1MSP").unwrap();
        assert_eq!(c.member_orgs, ["Org1MSP"]);
        assert!(c.is_member("Org1MSP") && !c.is_member("Org2MSP"));
        assert!(d.collection("_implicit_org_").is_none());
        assert!(d.collection("other").is_none());
    }
}
