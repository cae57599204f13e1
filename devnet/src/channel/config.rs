//! Reading a config block into the bundle peers, the orderer and the validator use
//! (Fabric's `channelconfig.Bundle`: MSP manager, policy manager, orderer and application
//! config).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sfcbc_fabric::msp::{MspConfig, MspManager, MspVerifier, ValidatedIdentity, ValidityTime};
use sfcbc_fabric::policy::{CompiledPolicy, implicit_meta_satisfied, implicit_meta_threshold};
use sfcbc_fabric::protos::common::{
    self as cb, Block, ChannelHeader, ConfigEnvelope, ConfigGroup, Envelope, HeaderType,
    ImplicitMetaPolicy, Payload, policy::PolicyType,
};
use sfcbc_fabric::protos::msp as mspb;
use sfcbc_fabric::protos::orderer as ob;
use sfcbc_fabric::protos::protos as pb;

use super::duration::parse_go_duration;
use super::etcdraft;
use super::profile::AnchorPeer;
use super::{ChannelError, keys};
use crate::orderer::{BatchSize, OrdererConfig};

/// Capabilities this implementation honours, per group (Fabric 2.5's lists).
const CHANNEL_CAPS: &[&str] = &["V1_3", "V1_4_2", "V1_4_3", "V2_0", "V3_0"];
const ORDERER_CAPS: &[&str] = &["V1_1", "V1_4_2", "V2_0"];
const APPLICATION_CAPS: &[&str] = &["V1_1", "V1_2", "V1_3", "V1_4_2", "V2_0", "V2_5"];

/// The capabilities each group requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub channel: BTreeSet<String>,
    pub orderer: BTreeSet<String>,
    pub application: BTreeSet<String>,
}

/// The Orderer group's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct OrdererSettings {
    /// `solo`, `etcdraft`, `BFT`, ...
    pub consensus_type: String,
    /// The raw `ConsensusType.metadata`.
    pub consensus_metadata: Vec<u8>,
    /// Decoded metadata when the type is `etcdraft`.
    pub etcdraft: Option<etcdraft::ConfigMetadata>,
    /// `ConsensusType.state` (0 normal, 1 maintenance).
    pub state: i32,
    pub batch_size: BatchSize,
    pub batch_timeout: Duration,
    /// `ChannelRestrictions.max_count` (0 if absent).
    pub max_channels: u64,
}

/// One organization of the channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgConfig {
    /// The config group name (what policy paths use).
    pub name: String,
    pub msp_id: String,
    /// The org's `FabricMSPConfig` as read.
    pub msp: MspConfig,
    /// Application orgs: `AnchorPeers`.
    pub anchor_peers: Vec<AnchorPeer>,
    /// Orderer orgs: `Endpoints`.
    pub endpoints: Vec<String>,
}

/// One signature over `data` by the serialized identity `identity` (Fabric's
/// `protoutil.SignedData`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedData {
    pub data: Vec<u8>,
    /// `msp.SerializedIdentity` bytes.
    pub identity: Vec<u8>,
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Policy {
    Signature(CompiledPolicy),
    /// The rule and the paths of the groups it reaches (`/Channel/Application/Org1MSP`, ...).
    ImplicitMeta(ImplicitMetaPolicy, Vec<String>),
}

/// A channel's configuration, read from a config block.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    pub channel_id: String,
    /// `Config.sequence` (0 for block 0).
    pub sequence: u64,
    /// `HashingAlgorithm` (always `SHA256`: anything else is refused, as Fabric refuses it).
    pub hashing_algorithm: String,
    /// The global `OrdererAddresses` (may be empty; orgs' `Endpoints` supersede it).
    pub orderer_addresses: Vec<String>,
    pub capabilities: Capabilities,
    pub orderer: OrdererSettings,
    /// Application orgs in config-group-name order.
    pub application_orgs: Vec<OrgConfig>,
    /// Orderer orgs in config-group-name order.
    pub orderer_orgs: Vec<OrgConfig>,
    /// Application ACLs: resource → policy path.
    pub acls: BTreeMap<String, String>,
    /// The config as read.
    pub config: cb::Config,
    msps: MspManager,
    policies: BTreeMap<String, Policy>,
}

fn invalid(path: &str, reason: impl Into<String>) -> ChannelError {
    ChannelError::Invalid {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn decode<M: prost::Message + Default>(bytes: &[u8], what: &str) -> Result<M, ChannelError> {
    M::decode(bytes).map_err(|source| ChannelError::Decode {
        what: what.to_owned(),
        source,
    })
}

/// A value of `g`, decoded; `None` if absent.
fn get_value<M: prost::Message + Default>(
    g: &ConfigGroup,
    path: &str,
    key: &str,
) -> Result<Option<M>, ChannelError> {
    g.values
        .get(key)
        .map(|v| decode(&v.value, &format!("{path}/{key}")))
        .transpose()
}

fn require_value<M: prost::Message + Default>(
    g: &ConfigGroup,
    path: &str,
    key: &str,
) -> Result<M, ChannelError> {
    get_value(g, path, key)?.ok_or_else(|| invalid(path, format!("missing {key} value")))
}

fn read_capabilities(
    g: &ConfigGroup,
    path: &str,
    known: &[&str],
) -> Result<BTreeSet<String>, ChannelError> {
    let caps: cb::Capabilities = get_value(g, path, keys::CAPABILITIES)?.unwrap_or_default();
    let mut out = BTreeSet::new();
    for name in caps.capabilities.into_keys() {
        if !known.contains(&name.as_str()) {
            return Err(invalid(
                path,
                format!("requires capability {name} which is not supported by this implementation"),
            ));
        }
        out.insert(name);
    }
    Ok(out)
}

impl ChannelConfig {
    /// Reads a config block: exactly one envelope, a CONFIG payload carrying a
    /// `ConfigEnvelope`.
    pub fn from_block(block: &Block) -> Result<Self, ChannelError> {
        let data = block
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default();
        if data.len() != 1 {
            return Err(ChannelError::NotConfig(format!(
                "a config block holds exactly one transaction, this one holds {}",
                data.len()
            )));
        }
        let envelope: Envelope = decode(&data[0], "envelope")?;
        let payload: Payload = decode(&envelope.payload, "payload")?;
        let header = payload
            .header
            .ok_or_else(|| ChannelError::NotConfig("payload has no header".into()))?;
        let chdr: ChannelHeader = decode(&header.channel_header, "channel header")?;
        if chdr.r#type != HeaderType::Config as i32 {
            return Err(ChannelError::NotConfig(format!(
                "transaction type {} is not CONFIG",
                chdr.r#type
            )));
        }
        let env: ConfigEnvelope = decode(&payload.data, "ConfigEnvelope")?;
        let config = env
            .config
            .ok_or_else(|| ChannelError::NotConfig("ConfigEnvelope has no config".into()))?;
        Self::from_config(&chdr.channel_id, config)
    }

    /// Reads a `common.Config` of channel `channel_id`.
    pub fn from_config(channel_id: &str, config: cb::Config) -> Result<Self, ChannelError> {
        super::check_channel_id(channel_id)?;
        let root = "/Channel";
        let channel = config
            .channel_group
            .as_ref()
            .ok_or_else(|| invalid(root, "no channel group"))?;

        let hashing: cb::HashingAlgorithm = require_value(channel, root, keys::HASHING_ALGORITHM)?;
        if hashing.name != "SHA256" {
            return Err(invalid(
                root,
                format!("unknown hashing algorithm type: {}", hashing.name),
            ));
        }
        let bdhs: cb::BlockDataHashingStructure =
            require_value(channel, root, keys::BLOCK_DATA_HASHING_STRUCTURE)?;
        if bdhs.width != u32::MAX {
            return Err(invalid(
                root,
                format!(
                    "BlockDataHashStructure width only supported at MaxUint32 in this version, got {}",
                    bdhs.width
                ),
            ));
        }
        let orderer_addresses =
            get_value::<cb::OrdererAddresses>(channel, root, keys::ORDERER_ADDRESSES)?
                .map(|a| a.addresses)
                .unwrap_or_default();
        let channel_caps = read_capabilities(channel, root, CHANNEL_CAPS)?;

        // Orderer group.
        let opath = "/Channel/Orderer";
        let og = channel
            .groups
            .get(keys::ORDERER)
            .ok_or_else(|| invalid(root, "no Orderer group"))?;
        let bs: ob::BatchSize = require_value(og, opath, keys::BATCH_SIZE)?;
        if bs.max_message_count == 0 {
            return Err(invalid(
                opath,
                "attempted to set the batch size max message count to an invalid value: 0",
            ));
        }
        if bs.absolute_max_bytes == 0 {
            return Err(invalid(
                opath,
                "attempted to set the batch size absolute max bytes to an invalid value: 0",
            ));
        }
        if bs.preferred_max_bytes == 0 || bs.preferred_max_bytes > bs.absolute_max_bytes {
            return Err(invalid(
                opath,
                format!(
                    "attempted to set the batch size preferred max bytes ({}) greater than the absolute max bytes ({}) or to 0",
                    bs.preferred_max_bytes, bs.absolute_max_bytes
                ),
            ));
        }
        let bt: ob::BatchTimeout = require_value(og, opath, keys::BATCH_TIMEOUT)?;
        let batch_timeout = parse_go_duration(&bt.timeout).map_err(|e| invalid(opath, e))?;
        if batch_timeout.is_zero() {
            return Err(invalid(
                opath,
                format!(
                    "attempted to set the batch timeout to a non-positive value: {}",
                    bt.timeout
                ),
            ));
        }
        let ct: ob::ConsensusType = require_value(og, opath, keys::CONSENSUS_TYPE)?;
        let etcdraft = if ct.r#type == "etcdraft" {
            Some(decode::<etcdraft::ConfigMetadata>(
                &ct.metadata,
                "etcdraft ConfigMetadata",
            )?)
        } else {
            None
        };
        let max_channels =
            get_value::<ob::ChannelRestrictions>(og, opath, keys::CHANNEL_RESTRICTIONS)?
                .map(|r| r.max_count)
                .unwrap_or(0);
        let orderer_caps = read_capabilities(og, opath, ORDERER_CAPS)?;
        let orderer = OrdererSettings {
            consensus_type: ct.r#type,
            consensus_metadata: ct.metadata,
            etcdraft,
            state: ct.state,
            batch_size: BatchSize {
                max_message_count: bs.max_message_count,
                absolute_max_bytes: bs.absolute_max_bytes,
                preferred_max_bytes: bs.preferred_max_bytes,
            },
            batch_timeout,
            max_channels,
        };

        // Application group (absent in a system channel, which devnet does not have).
        let apath = "/Channel/Application";
        let ag = channel
            .groups
            .get(keys::APPLICATION)
            .ok_or_else(|| invalid(root, "no Application group"))?;
        let application_caps = read_capabilities(ag, apath, APPLICATION_CAPS)?;
        let acls = get_value::<pb::AcLs>(ag, apath, keys::ACLS)?
            .map(|a| a.acls.into_iter().map(|(k, v)| (k, v.policy_ref)).collect())
            .unwrap_or_default();

        let mut msps = MspManager::new();
        let mut seen = BTreeMap::new();
        let orderer_orgs = read_orgs(og, opath, &mut msps, &mut seen)?;
        let application_orgs = read_orgs(ag, apath, &mut msps, &mut seen)?;

        let mut policies = BTreeMap::new();
        collect_policies(channel, root, &mut policies)?;

        Ok(Self {
            channel_id: channel_id.to_owned(),
            sequence: config.sequence,
            hashing_algorithm: hashing.name,
            orderer_addresses,
            capabilities: Capabilities {
                channel: channel_caps,
                orderer: orderer_caps,
                application: application_caps,
            },
            orderer,
            application_orgs,
            orderer_orgs,
            acls,
            config,
            msps,
            policies,
        })
    }

    /// The channel's MSPs (application and orderer orgs).
    pub fn msps(&self) -> &MspManager {
        &self.msps
    }

    /// The application orgs as (config group name, MSP ID), in group-name order.
    pub fn application_org_names(&self) -> Vec<(String, String)> {
        self.application_orgs
            .iter()
            .map(|o| (o.name.clone(), o.msp_id.clone()))
            .collect()
    }

    /// The application org whose MSP is `msp_id`.
    pub fn application_org(&self, msp_id: &str) -> Option<&OrgConfig> {
        self.application_orgs.iter().find(|o| o.msp_id == msp_id)
    }

    /// Every policy path, sorted (`/Channel/Admins`, `/Channel/Application/Endorsement`, ...).
    pub fn policy_paths(&self) -> impl Iterator<Item = &str> {
        self.policies.keys().map(String::as_str)
    }

    /// Whether a policy exists at `path`.
    pub fn has_policy(&self, path: &str) -> bool {
        self.policies.contains_key(path)
    }

    /// Evaluates the policy at `path` (absolute, e.g. `/Channel/Application/Writers`) against
    /// signers whose identities and signatures were already checked, each once. `Err` says
    /// why not, with Fabric's wording.
    pub fn evaluate(&self, path: &str, signers: &[ValidatedIdentity]) -> Result<(), String> {
        match self.policies.get(path) {
            None => Err(format!("policy {path} not found")),
            Some(Policy::Signature(p)) => {
                if p.evaluate(signers) {
                    Ok(())
                } else {
                    Err("signature set did not satisfy policy".to_owned())
                }
            }
            Some(Policy::ImplicitMeta(meta, groups)) => {
                // Fabric counts every sub-group; one without the sub-policy never holds.
                let results: Vec<bool> = groups
                    .iter()
                    .map(|g| {
                        let sub = format!("{g}/{}", meta.sub_policy);
                        self.policies.contains_key(&sub) && self.evaluate(&sub, signers).is_ok()
                    })
                    .collect();
                meta_result(meta, &results)
            }
        }
    }

    /// Fabric's `EvaluateSignedData`: each identity is deserialized and validated by the
    /// channel's MSPs and its signature verified; invalid ones and repeated identities are
    /// dropped (as Fabric drops them); then the policy at `path` is evaluated.
    pub fn evaluate_signed_data(&self, path: &str, signed: &[SignedData]) -> Result<(), String> {
        if !self.policies.contains_key(path) {
            return Err(format!("policy {path} not found"));
        }
        let mut seen: Vec<&[u8]> = Vec::new();
        let mut signers = Vec::new();
        for sd in signed {
            if seen.contains(&sd.identity.as_slice()) {
                continue;
            }
            let Ok(id) = self
                .msps
                .validate_serialized(&sd.identity, ValidityTime::AsFabric)
            else {
                continue;
            };
            if crate::validator::identity::verify(&id, &sd.data, &sd.signature).is_err() {
                continue;
            }
            seen.push(&sd.identity);
            signers.push(id);
        }
        self.evaluate(path, &signers)
    }

    /// The orderer task's configuration for this channel (BatchSize, BatchTimeout).
    pub fn orderer_config(&self) -> OrdererConfig {
        OrdererConfig {
            batch_size: self.orderer.batch_size,
            batch_timeout: self.orderer.batch_timeout,
            ..OrdererConfig::new(&self.channel_id)
        }
    }
}

/// An ImplicitMeta outcome, with Fabric's message when it does not hold.
fn meta_result(meta: &ImplicitMetaPolicy, results: &[bool]) -> Result<(), String> {
    if implicit_meta_satisfied(meta, results) {
        return Ok(());
    }
    Err(format!(
        "implicit policy evaluation failed - {} sub-policies were satisfied, but this policy \
         requires {} of the '{}' sub-policies to be satisfied",
        results.iter().filter(|r| **r).count(),
        implicit_meta_threshold(meta, results.len()),
        meta.sub_policy
    ))
}

fn read_orgs(
    parent: &ConfigGroup,
    parent_path: &str,
    msps: &mut MspManager,
    seen: &mut BTreeMap<String, MspConfig>,
) -> Result<Vec<OrgConfig>, ChannelError> {
    let mut names: Vec<&String> = parent.groups.keys().collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let g = &parent.groups[name];
        let path = format!("{parent_path}/{name}");
        let msp: mspb::MspConfig = require_value(g, &path, keys::MSP)?;
        if msp.r#type != 0 {
            return Err(invalid(
                &path,
                format!(
                    "MSP type {} is not supported (only FABRIC X.509 MSPs)",
                    msp.r#type
                ),
            ));
        }
        let fabric: mspb::FabricMspConfig = decode(&msp.config, &format!("{path}/MSP"))?;
        let config = MspConfig::from_proto(&fabric);
        let verifier = MspVerifier::new(&config).map_err(|e| invalid(&path, e.to_string()))?;
        if let Some(existing) = seen.get(&config.msp_id) {
            // An org in both groups (e.g. an orderer org that also runs peers) must be the
            // same MSP (Fabric refuses two different definitions of one MSP ID).
            if *existing != config {
                return Err(invalid(
                    &path,
                    format!(
                        "MSP {} is defined twice with different configurations",
                        config.msp_id
                    ),
                ));
            }
        }
        seen.insert(config.msp_id.clone(), config.clone());
        msps.insert(verifier);
        let anchor_peers = get_value::<pb::AnchorPeers>(g, &path, keys::ANCHOR_PEERS)?
            .map(|a| {
                a.anchor_peers
                    .into_iter()
                    .map(|p| AnchorPeer {
                        host: p.host,
                        port: p.port,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let endpoints = get_value::<cb::OrdererAddresses>(g, &path, keys::ENDPOINTS)?
            .map(|a| a.addresses)
            .unwrap_or_default();
        out.push(OrgConfig {
            name: name.clone(),
            msp_id: config.msp_id.clone(),
            msp: config,
            anchor_peers,
            endpoints,
        });
    }
    Ok(out)
}

/// Walks the tree: every policy under its absolute path.
fn collect_policies(
    g: &ConfigGroup,
    path: &str,
    out: &mut BTreeMap<String, Policy>,
) -> Result<(), ChannelError> {
    let mut children: Vec<&String> = g.groups.keys().collect();
    children.sort();
    let child_paths: Vec<String> = children.iter().map(|c| format!("{path}/{c}")).collect();
    for (name, cp) in &g.policies {
        let ppath = format!("{path}/{name}");
        let policy = cp
            .policy
            .as_ref()
            .ok_or_else(|| invalid(&ppath, "policy has no content"))?;
        let parsed = match PolicyType::try_from(policy.r#type) {
            Ok(PolicyType::Signature) => Policy::Signature(
                CompiledPolicy::from_bytes(&policy.value)
                    .map_err(|e| invalid(&ppath, e.to_string()))?,
            ),
            Ok(PolicyType::ImplicitMeta) => {
                let meta: ImplicitMetaPolicy = decode(&policy.value, &ppath)?;
                Policy::ImplicitMeta(meta, child_paths.clone())
            }
            _ => {
                return Err(invalid(
                    &ppath,
                    format!("unknown policy type: {}", policy.r#type),
                ));
            }
        };
        out.insert(ppath, parsed);
    }
    for (child, cpath) in children.iter().zip(&child_paths) {
        collect_policies(&g.groups[*child], cpath, out)?;
    }
    Ok(())
}

/// The seam the endorser, validator and peer take (`Arc<dyn ChannelPolicies>`): a channel
/// read from its config block.
impl crate::validator::ChannelPolicies for ChannelConfig {
    fn msps(&self) -> &MspManager {
        ChannelConfig::msps(self)
    }

    fn application_orgs(&self) -> Vec<(String, String)> {
        self.application_org_names()
    }

    fn has_policy(&self, path: &str) -> bool {
        ChannelConfig::has_policy(self, path)
    }

    fn evaluate(&self, path: &str, signers: &[ValidatedIdentity]) -> Result<(), String> {
        ChannelConfig::evaluate(self, path, signers)
    }

    /// As Fabric's ImplicitMeta: every application org counts, an org without the
    /// sub-policy never satisfies it.
    fn evaluate_application_meta(
        &self,
        meta: &ImplicitMetaPolicy,
        signers: &[ValidatedIdentity],
    ) -> Result<(), String> {
        let results: Vec<bool> = self
            .application_orgs
            .iter()
            .map(|o| {
                let path = format!("/Channel/Application/{}/{}", o.name, meta.sub_policy);
                self.has_policy(&path) && ChannelConfig::evaluate(self, &path, signers).is_ok()
            })
            .collect();
        meta_result(meta, &results)
    }
}
