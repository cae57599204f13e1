//! The contract's data, as JSON on the ledger and in responses.
//!
//! Field names are camelCase and stable: clients, the SF runtime and auditors parse them.
//! Inputs (`ChainSpec`, `HopRecordInput`, `HopErrorInput`) refuse unknown fields so that a
//! typo is a clear 400 instead of a silently ignored setting. Hashes are lowercase hex SHA-256,
//! timestamps RFC 3339 (UTC) from the proposal's timestamp.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Who owns a chain: the creator's MSP ID and client-identity id (`cid.GetID()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub msp: String,
    pub id: String,
}

/// How a hop validates a datagram before it processes it (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Validation {
    /// Only the credential check.
    None,
    /// The previous hop's unused `out` record must hold the input hash.
    Hash,
    /// The UDP source must be the previous hop's registered address.
    Address,
    /// Both.
    HashAddress,
}

impl Validation {
    pub const ALL: [Validation; 4] = [
        Validation::None,
        Validation::Hash,
        Validation::Address,
        Validation::HashAddress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Validation::None => "none",
            Validation::Hash => "hash",
            Validation::Address => "address",
            Validation::HashAddress => "hash+address",
        }
    }

    pub fn checks_hash(self) -> bool {
        matches!(self, Validation::Hash | Validation::HashAddress)
    }

    pub fn checks_address(self) -> bool {
        matches!(self, Validation::Address | Validation::HashAddress)
    }
}

impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Validation {
    type Err = String;

    /// Exactly `none`, `hash`, `address` or `hash+address`: no case folding, no aliases.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Validation::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not one of none, hash, address, hash+address"))
    }
}

impl Serialize for Validation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Validation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One service function instance in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hop {
    /// `SP:Function:Instance`, e.g. `Org1:NameWriter:1`; unique within the chain.
    pub psiid: String,
    /// The MSP ID of the SP that runs this hop; only its identities may record for the hop.
    pub sp_msp: String,
    /// Where the hop receives datagrams (UDP), `ip:port` or `host:port`.
    pub address: String,
    pub validation: Validation,
    /// Private data collection for this hop's secrets; `None` means the SP's implicit
    /// collection `_implicit_org_{sp_msp}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
}

impl Hop {
    /// The collection the hop's credentials and endpoints live in.
    pub fn collection_name(&self) -> String {
        self.collection
            .clone()
            .unwrap_or_else(|| implicit_collection(&self.sp_msp))
    }
}

/// Fabric's implicit private data collection of an org.
pub fn implicit_collection(msp_id: &str) -> String {
    format!("_implicit_org_{msp_id}")
}

/// Whether a chain accepts traffic and records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainState {
    Active,
    Disabled,
}

/// A chain as `CreateChain` / `UpdateChain` take it from the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainSpec {
    pub id: String,
    pub hops: Vec<Hop>,
    /// The classifier's UDP address: hop 1 with `address` validation accepts it as source
    /// (besides the source endpoint shared privately with hop 1's SP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<String>,
}

/// A chain as the ledger holds it at `chain~{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chain {
    pub id: String,
    pub owner: Owner,
    /// 1 at creation, +1 on every update or disable.
    pub version: u64,
    pub state: ChainState,
    pub hops: Vec<Hop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<String>,
    pub created_tx: String,
    pub updated_tx: String,
    pub created_at: String,
    pub updated_at: String,
}

impl Chain {
    /// The hop with `psiid` and its position.
    pub fn hop(&self, psiid: &str) -> Option<(usize, &Hop)> {
        self.hops.iter().enumerate().find(|(_, h)| h.psiid == psiid)
    }
}

/// A hop's state at `hop~{chain}~{psiid}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HopState {
    Init,
}

/// The initial status record of a hop, written when the hop joins a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HopStatus {
    pub chain: String,
    pub psiid: String,
    pub state: HopState,
    /// The chain version that added the hop.
    pub chain_version: u64,
    pub tx_id: String,
    pub ts: String,
}

/// One processed datagram as the hop's SF reports it in `RecordHops`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HopRecordInput {
    /// The SF's own sequence number for the datagram.
    pub seq: u64,
    pub input_hash: String,
    pub output_hash: String,
    /// The UDP source the datagram came from.
    pub src: String,
    /// Where the SF forwarded the output.
    pub next: String,
}

/// All the records of one `RecordHops` transaction, at `rec~{chain}~{psiid}~{txid}`: one
/// key per transaction, not per datagram, so that a batch of N records costs the ledger one
/// state write. `src` and `next` hold the batch's common source and next hop (the most common
/// ones when the chaincode factors a JSON array; as the SF sent them for packed input); an
/// entry names its own only where it differs. `records` is written packed (see [`crate::packed`]);
/// batches written before packing hold a JSON array there and still read. Readers expand a
/// batch into [`HopRecord`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Unknown fields refused: an old per-datagram `HopRecord` must never parse as a batch.
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HopBatch {
    pub chain: String,
    pub psiid: String,
    pub tx_id: String,
    /// The proposal's timestamp: the SP's assertion, bounded by the block it commits in.
    pub ts: String,
    pub src: String,
    pub next: String,
    #[serde(with = "crate::packed::records")]
    pub records: Vec<HopBatchEntry>,
}

/// One datagram in a [`HopBatch`] or [`PackedRecordsInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HopBatchEntry {
    pub seq: u64,
    pub input_hash: String,
    pub output_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `RecordHops`' `recordsJSON` in its compact form: `{"src", "next", "records": "<packed>"}`
/// (see [`crate::packed`]), what the SF runtime sends. The chaincode also takes a JSON array
/// of [`HopRecordInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackedRecordsInput {
    pub src: String,
    pub next: String,
    #[serde(
        serialize_with = "crate::packed::records::serialize",
        deserialize_with = "crate::packed::records::deserialize_packed"
    )]
    pub records: Vec<HopBatchEntry>,
}

impl PackedRecordsInput {
    /// `records` with their most common `src` / `next` factored out (ties go to the value
    /// that sorts first: the same records always pack the same way).
    pub fn pack(records: &[HopRecordInput]) -> PackedRecordsInput {
        let (src, next, own) = crate::packed::factored(records);
        let records = own
            .map(|(r, own_src, own_next)| HopBatchEntry {
                seq: r.seq,
                input_hash: r.input_hash.clone(),
                output_hash: r.output_hash.clone(),
                src: own_src.map(str::to_owned),
                next: own_next.map(str::to_owned),
            })
            .collect();
        let (src, next) = (src.to_owned(), next.to_owned());
        PackedRecordsInput { src, next, records }
    }
}

impl HopBatch {
    /// The batch as one [`HopRecord`] per datagram, in the order the SF sent them.
    pub fn expand(self) -> impl Iterator<Item = HopRecord> {
        let HopBatch {
            chain,
            psiid,
            tx_id,
            ts,
            src,
            next,
            records,
        } = self;
        records.into_iter().map(move |e| HopRecord {
            chain: chain.clone(),
            psiid: psiid.clone(),
            seq: e.seq,
            input_hash: e.input_hash,
            output_hash: e.output_hash,
            src: e.src.unwrap_or_else(|| src.clone()),
            next: e.next.unwrap_or_else(|| next.clone()),
            ts: ts.clone(),
            tx_id: tx_id.clone(),
        })
    }
}

/// What a `rec~` key holds: a [`HopBatch`], or one [`HopRecord`] as ledgers written before
/// batches were stored whole (`rec~{chain}~{psiid}~{txid}~{n}`) hold them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredRecords {
    Batch(HopBatch),
    One(HopRecord),
}

impl StoredRecords {
    pub fn into_records(self) -> Vec<HopRecord> {
        match self {
            StoredRecords::Batch(b) => b.expand().collect(),
            StoredRecords::One(r) => vec![r],
        }
    }
}

/// One datagram's record, as `GetRecords` and `TraceMessage` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HopRecord {
    pub chain: String,
    pub psiid: String,
    pub seq: u64,
    pub input_hash: String,
    pub output_hash: String,
    pub src: String,
    pub next: String,
    /// The proposal's timestamp: the SP's assertion, bounded by the block it commits in.
    pub ts: String,
    pub tx_id: String,
}

/// The lookup at `out~{chain}~{psiid}~{output_hash}` that hash validation reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutRecord {
    pub tx_id: String,
    pub seq: u64,
    pub ts: String,
}

/// The replay guard at `used~{chain}~{psiid}~{input_hash}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsedRecord {
    pub tx_id: String,
}

/// Why a hop dropped a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// The user's shared credential does not match the SP's account (or is missing).
    Auth,
    /// The datagram's source is not the previous hop's address.
    Source,
    /// No unused `out` record of the previous hop holds the input hash.
    Hash,
    /// The input hash was used before.
    Replay,
    /// The chain or hop configuration does not allow the datagram (disabled chain...).
    Config,
}

/// A rejected datagram as the hop's SF reports it in `RecordError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HopErrorInput {
    pub kind: ErrorKind,
    pub detail: String,
    pub src: String,
    pub input_hash: String,
}

/// An error record at `err~{chain}~{psiid}~{txid}~{n}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HopError {
    pub chain: String,
    pub psiid: String,
    pub kind: ErrorKind,
    pub detail: String,
    pub src: String,
    pub input_hash: String,
    pub ts: String,
    pub tx_id: String,
}

/// Where a hop sends its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NextHop {
    /// The next hop's psiid; `None` when the next stop is the chain's destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psiid: Option<String>,
    pub address: String,
}

/// `CheckIn`'s answer: may the hop process the datagram, and where does it go next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub ok: bool,
    /// The check that failed; `None` when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<ErrorKind>,
    /// Why it failed, or what passed.
    pub reason: String,
    /// The next hop (or the destination, if shared with this hop's SP); `None` when the last
    /// hop has no destination shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<NextHop>,
}

/// Source and destination of a chain's traffic, shared privately with the first / last hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// Private (hop collection) at `endpoints~{chain}~{psiid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointShare {
    pub chain: String,
    pub psiid: String,
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// Hex of the client's random salt: makes the public hash of this value unguessable.
    pub salt: String,
}

/// Private (hop collection) at `auth~{chain}~{psiid}`: the user's credential for the hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthShare {
    pub chain: String,
    pub psiid: String,
    /// The user's account at the SP (see `RegisterAccount`).
    pub account: String,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    pub secret_sha256: String,
    pub salt: String,
}

/// Private (SP's implicit collection) at `acct~{user}`: the SP's record of a user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub user: String,
    pub secret_sha256: String,
    pub salt: String,
    pub tx_id: String,
}

/// One page of a paginated query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back to get the next page; empty when there is none. Opaque (base64url).
    pub bookmark: String,
    pub fetched_records_count: i32,
}

/// One hop of a traced message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceHop {
    pub psiid: String,
    pub input_hash: String,
    pub output_hash: String,
    pub seq: u64,
    pub ts: String,
    pub tx_id: String,
}

/// `TraceMessage`'s answer: the message's path through the chain, in hop order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    pub chain: String,
    pub source_hash: String,
    pub hops: Vec<TraceHop>,
    /// True when every hop of the chain recorded the message.
    pub complete: bool,
    /// Where the trail ends when not complete: the hop with no record of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// Errors that hop recorded for the message's hash there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HopError>,
}

/// Event `ChainCreated` / `ChainUpdated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainEventPayload {
    pub chain: String,
    pub version: u64,
    pub state: ChainState,
    pub tx_id: String,
}

/// Event `HopRecorded`: one per transaction, with the batch's output hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HopRecordedEvent {
    pub chain: String,
    pub psiid: String,
    /// The batch's output hashes when the next hop validates by hash (its SF learns of them
    /// from this event); empty otherwise, as nobody looks them up.
    pub outputs: Vec<String>,
    /// How many records the transaction holds.
    #[serde(default)]
    pub records: usize,
    pub tx_id: String,
}

/// Event `HopRejected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HopRejectedEvent {
    pub chain: String,
    pub psiid: String,
    pub kind: ErrorKind,
    pub input_hash: String,
    pub tx_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_parses_exactly() {
        for v in Validation::ALL {
            assert_eq!(v.as_str().parse::<Validation>(), Ok(v));
        }
        assert!("Hash".parse::<Validation>().is_err());
        assert!("hash + address".parse::<Validation>().is_err());
        assert!(serde_json::from_str::<Validation>("\"address+hash\"").is_err());
        assert_eq!(
            serde_json::to_string(&Validation::HashAddress).unwrap(),
            "\"hash+address\""
        );
    }

    #[test]
    fn hop_json_is_camel_case() {
        let hop: Hop = serde_json::from_str(
            r#"{"psiid":"Org1:NameWriter:1","spMsp":"Org1MSP","address":"127.0.0.2:9000","validation":"hash"}"#,
        )
        .unwrap();
        assert_eq!(hop.collection_name(), "_implicit_org_Org1MSP");
        assert!(
            serde_json::from_str::<Hop>(
                r#"{"psiid":"a","spMsp":"b","address":"c","validation":"hash","extra":1}"#
            )
            .is_err()
        );
    }
}
