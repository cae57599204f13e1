//! Channel configuration: config block 0 as `configtxgen` builds it, and the bundle a peer
//! reads back from it.
//!
//! Build: a [`ChannelProfile`] (orderer orgs, application orgs — each an [`OrgProfile`] with
//! its verifying [`sfcbc_fabric::msp::MspConfig`] —, consensus, BatchSize, BatchTimeout,
//! capabilities, policies; fabric-samples' defaults from [`ChannelProfile::new`]) gives the
//! `Channel` config group and [`ChannelProfile::genesis_block`], the `common.Block` whose
//! one CONFIG envelope carries `ConfigEnvelope{config: {sequence 0, channel_group}}`. Groups,
//! values, policies, mod policies (`Admins`, `/Channel/Orderer/Admins` for
//! `OrdererAddresses`) and versions (all 0) are those of configtxgen's encoder; values are
//! left out where configtxgen leaves them out (empty anchor peers, ACLs, addresses).
//!
//! Consensus: devnet's orderer is one task in one process with no consensus protocol, so
//! its channels say `solo` ([`Consensus::Solo`], the default). [`Consensus::EtcdRaft`]
//! writes `etcdraft` with its `ConfigMetadata` for configs real Fabric orderers must run.
//!
//! Read: [`ChannelConfig::from_block`] parses a config block (ours or real configtxgen's)
//! into the channel's MSPs ([`sfcbc_fabric::msp::MspManager`]), its policies by path
//! (`/Channel/Application/Writers`, `/Channel/Application/Org1MSP/Endorsement`, ...; ImplicitMeta
//! policies resolved over the sub-groups as Fabric's policy manager does, signature policies
//! compiled), batch settings, consensus, capabilities, anchor peers and orderer endpoints.
//!
//! The devnet flow: `crypto::generate` the orgs → [`OrgProfile::application`] /
//! [`OrgProfile::orderer`] from `OrgCrypto::msp_config()` → [`ChannelProfile::new`] →
//! `genesis_block()` → append it to the orderer's archive and the peers' ledgers →
//! [`ChannelConfig::from_block`] for the orderer's [`ChannelConfig::orderer_config`], its
//! Broadcast check ([`WritersFilter`], Fabric's SigFilter on `/Channel/Writers`) and the
//! endorser's and validator's policies (`ChannelConfig` implements
//! `validator::ChannelPolicies`).

mod config;
pub mod duration;
pub mod etcdraft;
mod profile;
mod writers;

pub use config::{Capabilities, ChannelConfig, OrdererSettings, OrgConfig, SignedData};
pub use profile::{
    AnchorPeer, ChannelProfile, Consensus, OrgProfile, PolicySpec, genesis_block_for,
};
pub use writers::WritersFilter;

/// Config group, value and policy names (Fabric's `channelconfig` keys).
pub mod keys {
    pub const CHANNEL: &str = "Channel";
    pub const ORDERER: &str = "Orderer";
    pub const APPLICATION: &str = "Application";
    pub const READERS: &str = "Readers";
    pub const WRITERS: &str = "Writers";
    pub const ADMINS: &str = "Admins";
    pub const BLOCK_VALIDATION: &str = "BlockValidation";
    pub const ENDORSEMENT: &str = "Endorsement";
    pub const LIFECYCLE_ENDORSEMENT: &str = "LifecycleEndorsement";
    pub const HASHING_ALGORITHM: &str = "HashingAlgorithm";
    pub const BLOCK_DATA_HASHING_STRUCTURE: &str = "BlockDataHashingStructure";
    pub const ORDERER_ADDRESSES: &str = "OrdererAddresses";
    pub const CAPABILITIES: &str = "Capabilities";
    pub const BATCH_SIZE: &str = "BatchSize";
    pub const BATCH_TIMEOUT: &str = "BatchTimeout";
    pub const CHANNEL_RESTRICTIONS: &str = "ChannelRestrictions";
    pub const CONSENSUS_TYPE: &str = "ConsensusType";
    pub const MSP: &str = "MSP";
    pub const ENDPOINTS: &str = "Endpoints";
    pub const ANCHOR_PEERS: &str = "AnchorPeers";
    pub const ACLS: &str = "ACLs";
}

/// A channel profile that cannot be encoded, or a config that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("invalid channel profile: {0}")]
    Profile(String),
    #[error("invalid channel ID `{id}`: {reason}")]
    ChannelId { id: String, reason: String },
    #[error("not a config block: {0}")]
    NotConfig(String),
    #[error("malformed {what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: prost::DecodeError,
    },
    #[error("invalid channel config at {path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("no policy at {0}")]
    UnknownPolicy(String),
}

/// Fabric's channel name rule (`configtx.ValidateChannelID`): 1–249 characters of
/// `[a-z0-9.-]`, starting with a letter.
pub fn check_channel_id(id: &str) -> Result<(), ChannelError> {
    let bad = |reason: &str| ChannelError::ChannelId {
        id: id.to_owned(),
        reason: reason.to_owned(),
    };
    if id.is_empty() {
        return Err(bad("channel ID illegal, cannot be empty"));
    }
    if id.len() > 249 {
        return Err(bad("channel ID illegal, cannot be longer than 249"));
    }
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(bad(
            "contains illegal characters (only [a-z0-9.-], starting with a letter)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
