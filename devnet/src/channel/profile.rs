//! A channel profile (what `configtx.yaml`'s profile says) and the config tree and block 0
//! that `configtxgen -profile P -outputBlock` makes from it (`internal/configtxgen/encoder`,
//! `common/genesis`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use prost::Message as _;
use sfcbc_fabric::msp::MspConfig;
use sfcbc_fabric::policy::{from_string, parse_implicit_meta};
use sfcbc_fabric::protos::common::{
    self as cb, Block, ChannelHeader, ConfigEnvelope, ConfigGroup, ConfigPolicy, ConfigValue,
    Envelope, Header, HeaderType, Payload, SignatureHeader, policy::PolicyType,
};
use sfcbc_fabric::protos::msp as mspb;
use sfcbc_fabric::protos::orderer as ob;
use sfcbc_fabric::protos::protos as pb;

use super::duration::go_duration_string;
use super::etcdraft;
use super::{ChannelError, keys};
use crate::block::{genesis_metadata, new_block};
use crate::orderer::BatchSize;

/// A policy as `configtx.yaml` writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySpec {
    /// `Type: Signature`, a rule such as `OR('Org1MSP.admin')`.
    Signature(String),
    /// `Type: ImplicitMeta`, a rule such as `MAJORITY Admins`.
    ImplicitMeta(String),
}

impl PolicySpec {
    fn to_config_policy(&self, name: &str) -> Result<ConfigPolicy, ChannelError> {
        let bad =
            |rule: &str, e: String| ChannelError::Profile(format!("policy {name} `{rule}`: {e}"));
        let policy = match self {
            Self::Signature(rule) => cb::Policy {
                r#type: PolicyType::Signature as i32,
                value: from_string(rule)
                    .map_err(|e| bad(rule, e.to_string()))?
                    .encode_to_vec(),
            },
            Self::ImplicitMeta(rule) => cb::Policy {
                r#type: PolicyType::ImplicitMeta as i32,
                value: parse_implicit_meta(rule)
                    .map_err(|e| bad(rule, e.to_string()))?
                    .encode_to_vec(),
            },
        };
        Ok(ConfigPolicy {
            version: 0,
            policy: Some(policy),
            mod_policy: keys::ADMINS.to_owned(),
        })
    }
}

fn meta(rule: &str) -> PolicySpec {
    PolicySpec::ImplicitMeta(rule.to_owned())
}

fn sig(rule: String) -> PolicySpec {
    PolicySpec::Signature(rule)
}

/// A peer that other orgs' peers gossip with first (`AnchorPeers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorPeer {
    pub host: String,
    pub port: i32,
}

/// One organization of a channel profile.
#[derive(Clone, Debug)]
pub struct OrgProfile {
    /// The config group name (`configtx.yaml`'s `Name`); fabric-samples uses the MSP ID.
    pub name: String,
    /// The verifying MSP (the org's `msp/` folder), with its MSP ID.
    pub msp: MspConfig,
    /// Org policies by name.
    pub policies: BTreeMap<String, PolicySpec>,
    /// Application orgs: anchor peers (the value is left out when empty, as configtxgen does).
    pub anchor_peers: Vec<AnchorPeer>,
    /// Orderer orgs: `host:port` of its orderers (the org's `Endpoints` value).
    pub orderer_endpoints: Vec<String>,
}

impl OrgProfile {
    /// An application org with fabric-samples' policies: Readers `OR(admin, peer, client)`,
    /// Writers `OR(admin, client)`, Admins `OR(admin)`, Endorsement `OR(peer)`.
    pub fn application(msp: MspConfig) -> Self {
        let m = msp.msp_id.clone();
        let policies = BTreeMap::from([
            (
                "Readers".to_owned(),
                sig(format!("OR('{m}.admin', '{m}.peer', '{m}.client')")),
            ),
            (
                "Writers".to_owned(),
                sig(format!("OR('{m}.admin', '{m}.client')")),
            ),
            ("Admins".to_owned(), sig(format!("OR('{m}.admin')"))),
            ("Endorsement".to_owned(), sig(format!("OR('{m}.peer')"))),
        ]);
        Self {
            name: m,
            msp,
            policies,
            anchor_peers: Vec::new(),
            orderer_endpoints: Vec::new(),
        }
    }

    /// An orderer org with fabric-samples' policies: Readers and Writers `OR(member)`, Admins
    /// `OR(admin)`; `endpoints` are its orderers' `host:port`.
    pub fn orderer(msp: MspConfig, endpoints: Vec<String>) -> Self {
        let m = msp.msp_id.clone();
        let policies = BTreeMap::from([
            ("Readers".to_owned(), sig(format!("OR('{m}.member')"))),
            ("Writers".to_owned(), sig(format!("OR('{m}.member')"))),
            ("Admins".to_owned(), sig(format!("OR('{m}.admin')"))),
        ]);
        Self {
            name: m,
            msp,
            policies,
            anchor_peers: Vec::new(),
            orderer_endpoints: endpoints,
        }
    }

    /// Adds an anchor peer.
    pub fn with_anchor_peer(mut self, host: &str, port: i32) -> Self {
        self.anchor_peers.push(AnchorPeer {
            host: host.to_owned(),
            port,
        });
        self
    }
}

/// The orderer's consensus type (`Orderer.OrdererType`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consensus {
    /// `solo`: one ordering node, no consensus protocol, no metadata. This is what devnet's
    /// orderer honestly is (one task in one process cuts and signs every block), so it is
    /// the default. Fabric 2.5's configtxgen and peers accept it; Fabric's own orderer has
    /// deprecated it and 3.x removed it.
    Solo,
    /// `etcdraft` with its `ConfigMetadata` (consenters and options), for configs that real
    /// Fabric orderers must be able to run.
    EtcdRaft(etcdraft::ConfigMetadata),
}

impl Consensus {
    /// The `ConsensusType.type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Solo => "solo",
            Self::EtcdRaft(_) => "etcdraft",
        }
    }
}

/// A channel profile: everything `configtx.yaml` says about one channel.
#[derive(Clone, Debug)]
pub struct ChannelProfile {
    pub channel_id: String,
    /// Orgs of the Orderer group.
    pub orderer_orgs: Vec<OrgProfile>,
    /// Orgs of the Application group (members of the channel).
    pub application_orgs: Vec<OrgProfile>,
    /// The global `OrdererAddresses` value (deprecated by Fabric in favour of org
    /// `Endpoints`, still written by configtxgen when `Orderer.Addresses` is set; left out
    /// when empty).
    pub orderer_addresses: Vec<String>,
    pub consensus: Consensus,
    pub batch_size: BatchSize,
    pub batch_timeout: Duration,
    /// `ChannelRestrictions.max_count` (0: no limit).
    pub max_channels: u64,
    pub channel_capabilities: Vec<String>,
    pub orderer_capabilities: Vec<String>,
    pub application_capabilities: Vec<String>,
    /// Channel group policies.
    pub channel_policies: BTreeMap<String, PolicySpec>,
    /// Orderer group policies (must include `BlockValidation`).
    pub orderer_policies: BTreeMap<String, PolicySpec>,
    /// Application group policies.
    pub application_policies: BTreeMap<String, PolicySpec>,
    /// Application ACLs, resource → policy path (the value is left out when empty).
    pub acls: BTreeMap<String, String>,
}

impl ChannelProfile {
    /// A profile with fabric-samples' defaults: capabilities V2_0 (channel, orderer) and V2_5
    /// (application); channel and group policies Readers `ANY Readers`, Writers `ANY
    /// Writers`, Admins `MAJORITY Admins`; orderer BlockValidation `ANY Writers`; application
    /// LifecycleEndorsement and Endorsement `MAJORITY Endorsement`; BatchSize 10 messages /
    /// 99 MB / 512 KB; BatchTimeout 2s; solo consensus; the orderer orgs' endpoints as
    /// `OrdererAddresses`.
    pub fn new(
        channel_id: &str,
        orderer_orgs: Vec<OrgProfile>,
        application_orgs: Vec<OrgProfile>,
    ) -> Self {
        let base = || {
            BTreeMap::from([
                ("Readers".to_owned(), meta("ANY Readers")),
                ("Writers".to_owned(), meta("ANY Writers")),
                ("Admins".to_owned(), meta("MAJORITY Admins")),
            ])
        };
        let mut orderer_policies = base();
        orderer_policies.insert("BlockValidation".to_owned(), meta("ANY Writers"));
        let mut application_policies = base();
        application_policies.insert(
            "LifecycleEndorsement".to_owned(),
            meta("MAJORITY Endorsement"),
        );
        application_policies.insert("Endorsement".to_owned(), meta("MAJORITY Endorsement"));
        let orderer_addresses = orderer_orgs
            .iter()
            .flat_map(|o| o.orderer_endpoints.iter().cloned())
            .collect();
        Self {
            channel_id: channel_id.to_owned(),
            orderer_orgs,
            application_orgs,
            orderer_addresses,
            consensus: Consensus::Solo,
            batch_size: BatchSize::default(),
            batch_timeout: Duration::from_secs(2),
            max_channels: 0,
            channel_capabilities: vec!["V2_0".to_owned()],
            orderer_capabilities: vec!["V2_0".to_owned()],
            application_capabilities: vec!["V2_5".to_owned()],
            channel_policies: base(),
            orderer_policies,
            application_policies,
            acls: BTreeMap::new(),
        }
    }

    /// The channel group (`Config.channel_group`), as configtxgen's `NewChannelGroup`.
    pub fn channel_group(&self) -> Result<ConfigGroup, ChannelError> {
        super::check_channel_id(&self.channel_id)?;
        if self.orderer_orgs.is_empty() {
            return Err(ChannelError::Profile("no orderer organization".into()));
        }
        if !self.orderer_policies.contains_key(keys::BLOCK_VALIDATION) {
            return Err(ChannelError::Profile(
                "no BlockValidation policy defined".into(),
            ));
        }
        let mut channel = group(&self.channel_policies)?;
        value(
            &mut channel,
            keys::HASHING_ALGORITHM,
            &cb::HashingAlgorithm {
                name: "SHA256".into(),
            },
        );
        value(
            &mut channel,
            keys::BLOCK_DATA_HASHING_STRUCTURE,
            &cb::BlockDataHashingStructure { width: u32::MAX },
        );
        if !self.orderer_addresses.is_empty() {
            channel.values.insert(
                keys::ORDERER_ADDRESSES.to_owned(),
                ConfigValue {
                    version: 0,
                    value: cb::OrdererAddresses {
                        addresses: self.orderer_addresses.clone(),
                    }
                    .encode_to_vec(),
                    mod_policy: "/Channel/Orderer/Admins".to_owned(),
                },
            );
        }
        capabilities(&mut channel, &self.channel_capabilities);

        // Orderer group.
        let mut orderer = group(&self.orderer_policies)?;
        value(
            &mut orderer,
            keys::BATCH_SIZE,
            &ob::BatchSize {
                max_message_count: self.batch_size.max_message_count,
                absolute_max_bytes: self.batch_size.absolute_max_bytes,
                preferred_max_bytes: self.batch_size.preferred_max_bytes,
            },
        );
        value(
            &mut orderer,
            keys::BATCH_TIMEOUT,
            &ob::BatchTimeout {
                timeout: go_duration_string(self.batch_timeout),
            },
        );
        value(
            &mut orderer,
            keys::CHANNEL_RESTRICTIONS,
            &ob::ChannelRestrictions {
                max_count: self.max_channels,
            },
        );
        capabilities(&mut orderer, &self.orderer_capabilities);
        let metadata = match &self.consensus {
            Consensus::Solo => Vec::new(),
            Consensus::EtcdRaft(m) => m.encode_to_vec(),
        };
        value(
            &mut orderer,
            keys::CONSENSUS_TYPE,
            &ob::ConsensusType {
                r#type: self.consensus.type_name().to_owned(),
                metadata,
                state: 0,
            },
        );
        for org in &self.orderer_orgs {
            let mut g = org_group(org)?;
            if !org.orderer_endpoints.is_empty() {
                value(
                    &mut g,
                    keys::ENDPOINTS,
                    &cb::OrdererAddresses {
                        addresses: org.orderer_endpoints.clone(),
                    },
                );
            }
            insert_group(&mut orderer, &org.name, g)?;
        }

        // Application group.
        let mut application = group(&self.application_policies)?;
        if !self.acls.is_empty() {
            value(
                &mut application,
                keys::ACLS,
                &pb::AcLs {
                    acls: self
                        .acls
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                pb::ApiResource {
                                    policy_ref: v.clone(),
                                },
                            )
                        })
                        .collect(),
                },
            );
        }
        capabilities(&mut application, &self.application_capabilities);
        for org in &self.application_orgs {
            let mut g = org_group(org)?;
            if !org.anchor_peers.is_empty() {
                value(
                    &mut g,
                    keys::ANCHOR_PEERS,
                    &pb::AnchorPeers {
                        anchor_peers: org
                            .anchor_peers
                            .iter()
                            .map(|a| pb::AnchorPeer {
                                host: a.host.clone(),
                                port: a.port,
                            })
                            .collect(),
                    },
                );
            }
            insert_group(&mut application, &org.name, g)?;
        }

        channel.groups.insert(keys::ORDERER.to_owned(), orderer);
        channel
            .groups
            .insert(keys::APPLICATION.to_owned(), application);
        Ok(channel)
    }

    /// The channel's config block 0, as `configtxgen -outputBlock` writes it: one CONFIG
    /// envelope (channel header version 1, epoch 0, now as timestamp, a fresh nonce, no
    /// creator, no signature) whose payload is `ConfigEnvelope{config: {sequence 0,
    /// channel_group}}`, and the unsigned LAST_CONFIG / SIGNATURES metadata.
    pub fn genesis_block(&self) -> Result<Block, ChannelError> {
        let config = cb::Config {
            sequence: 0,
            channel_group: Some(self.channel_group()?),
        };
        Ok(genesis_block_for(&self.channel_id, config))
    }
}

/// Block 0 for a ready config tree (see [`ChannelProfile::genesis_block`]).
pub fn genesis_block_for(channel_id: &str, config: cb::Config) -> Block {
    let nonce = sfcbc_fabric::tx::new_nonce();
    let tx_id = sfcbc_fabric::tx::compute_tx_id(&nonce, &[]);
    let mut timestamp = sfcbc_fabric::tx::now_timestamp();
    timestamp.nanos = 0;
    let channel_header = ChannelHeader {
        r#type: HeaderType::Config as i32,
        version: 1,
        timestamp: Some(timestamp),
        channel_id: channel_id.to_owned(),
        tx_id,
        epoch: 0,
        ..Default::default()
    };
    let signature_header = SignatureHeader {
        creator: Vec::new(),
        nonce,
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        }),
        data: ConfigEnvelope {
            config: Some(config),
            last_update: None,
        }
        .encode_to_vec(),
    };
    let envelope = Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    };
    let mut block = new_block(0, Vec::new(), vec![envelope.encode_to_vec()]);
    genesis_metadata(&mut block);
    block
}

fn group(policies: &BTreeMap<String, PolicySpec>) -> Result<ConfigGroup, ChannelError> {
    for required in [keys::ADMINS, keys::READERS, keys::WRITERS] {
        if !policies.contains_key(required) {
            return Err(ChannelError::Profile(format!(
                "no {required} policy defined"
            )));
        }
    }
    let mut g = ConfigGroup {
        version: 0,
        groups: HashMap::new(),
        values: HashMap::new(),
        policies: HashMap::new(),
        mod_policy: keys::ADMINS.to_owned(),
    };
    for (name, spec) in policies {
        g.policies
            .insert(name.clone(), spec.to_config_policy(name)?);
    }
    Ok(g)
}

fn value(g: &mut ConfigGroup, key: &str, msg: &impl prost::Message) {
    g.values.insert(
        key.to_owned(),
        ConfigValue {
            version: 0,
            value: msg.encode_to_vec(),
            mod_policy: keys::ADMINS.to_owned(),
        },
    );
}

fn capabilities(g: &mut ConfigGroup, caps: &[String]) {
    if caps.is_empty() {
        return;
    }
    g.values.insert(
        keys::CAPABILITIES.to_owned(),
        ConfigValue {
            version: 0,
            value: encode_capabilities(caps),
            mod_policy: keys::ADMINS.to_owned(),
        },
    );
}

/// `common.Capabilities` as Go's protobuf encodes it: each map entry carries its (empty)
/// `Capability` message explicitly (`12 00`), which prost would leave out. Same message,
/// same bytes as configtxgen's (keys sorted; Go's order is unspecified).
fn encode_capabilities(caps: &[String]) -> Vec<u8> {
    let mut names: Vec<&String> = caps.iter().collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let mut entry = Vec::new();
        prost::encoding::string::encode(1, name, &mut entry);
        entry.extend_from_slice(&[0x12, 0x00]);
        prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(entry.len() as u64, &mut out);
        out.extend_from_slice(&entry);
    }
    out
}

/// An org group with its policies and `MSP` value (`msp.MSPConfig{type FABRIC, config}`).
fn org_group(org: &OrgProfile) -> Result<ConfigGroup, ChannelError> {
    if org.msp.msp_id.is_empty() {
        return Err(ChannelError::Profile(format!(
            "org {}: empty MSP ID",
            org.name
        )));
    }
    sfcbc_fabric::msp::MspVerifier::new(&org.msp)
        .map_err(|e| ChannelError::Profile(format!("org {}: {e}", org.name)))?;
    let mut g = group(&org.policies)
        .map_err(|e| ChannelError::Profile(format!("org {}: {e}", org.name)))?;
    value(
        &mut g,
        keys::MSP,
        &mspb::MspConfig {
            r#type: 0,
            config: org.msp.to_proto().encode_to_vec(),
        },
    );
    Ok(g)
}

fn insert_group(parent: &mut ConfigGroup, name: &str, g: ConfigGroup) -> Result<(), ChannelError> {
    if name.is_empty() || parent.groups.contains_key(name) {
        return Err(ChannelError::Profile(format!(
            "organization name `{name}` is empty or used twice in one group"
        )));
    }
    parent.groups.insert(name.to_owned(), g);
    Ok(())
}
