//! Block validation as a Fabric 2.x committing peer does it, producing the
//! TRANSACTIONS_FILTER (one `TxValidationCode` per transaction):
//!
//! 1. per transaction (in parallel, as `txvalidator` does): envelope, payload and headers
//!    well formed (`BAD_PAYLOAD`, `BAD_COMMON_HEADER`), the creator valid and its signature
//!    over the payload (`BAD_CREATOR_SIGNATURE`), the tx id (`BAD_PROPOSAL_TXID`), one action
//!    whose proposal hash matches (`INVALID_ENDORSER_TRANSACTION`) —
//!    `sfcbc_fabric::tx::validate_transaction`, signatures checked through [`identity`] —
//!    and every endorsement's signature over response payload ‖ endorser,
//!    with each valid endorser counted once (`ParsedTransaction::endorsers`);
//! 2. in block order: the channel (`TARGET_CHAIN_NOT_FOUND`), a tx id already in the ledger
//!    (`DUPLICATE_TXID`), then the dispatcher and the v20 validation plugin: chaincode ids
//!    (`INVALID_CHAINCODE`, `INVALID_OTHER_REASON`), the rwset (`BAD_RWSET`,
//!    `ILLEGAL_WRITESET` for a namespace twice) and, for the invoked chaincode and every
//!    namespace written, the endorsement policies (`ENDORSEMENT_POLICY_FAILURE`) with
//!    Fabric's v20 rules: a key with a key-level policy (state metadata
//!    `VALIDATION_PARAMETER`) is checked against it — and fails if a preceding valid tx of
//!    the block changed that policy —; a write to a collection is checked against the
//!    collection's policy (`_implicit_org_<MSP>`: that org's `Endorsement` policy; an
//!    explicit collection: its `endorsementPolicy` if set) and otherwise against the
//!    chaincode's; the chaincode's policy holds whenever no other policy was checked;
//! 3. a tx id seen in an earlier VALID tx of the block → `DUPLICATE_TXID`;
//! 4. MVCC in block order against committed state + preceding valid txs (`mvcc.rs`).
//!
//! CONFIG transactions are accepted as they are (Fabric validates them by applying them to
//! the channel configuration, which is the channel module's business); other header types
//! get `UNKNOWN_TX_TYPE` / `UNSUPPORTED_TX_PAYLOAD`.

pub mod channel;
pub mod definition;
pub mod identity;
mod mvcc;

use std::collections::HashSet;
use std::sync::Arc;

use prost::Message as _;
use sfcbc_fabric::msp::{MspRole, ValidatedIdentity, ValidityTime};
use sfcbc_fabric::policy::{CompiledPolicy, signed_by_any};
use sfcbc_fabric::protos::common::{
    Block, ChannelHeader, Envelope, HeaderType, Payload, SignaturePolicyEnvelope,
};
use sfcbc_fabric::protos::kvrwset::{HashedRwSet, KvMetadataWrite, KvrwSet};
use sfcbc_fabric::protos::protos::{
    ChaincodeEvent, ChaincodeHeaderExtension, MetaDataKeys, TxValidationCode,
};
use sfcbc_fabric::protos::rwset::TxReadWriteSet;
use sfcbc_fabric::tx::{ParsedTransaction, validate_transaction};

pub use channel::{ChannelPolicies, ChannelPolicy, StaticChannel, StaticOrg};
pub use definition::{
    ChaincodeDefinition, ChaincodeDefinitions, CollectionDefinition, DefinitionError,
    DefinitionRegistry, EndorsementPolicy, implicit_collection_msp, implicit_collection_name,
    parse_collections_config,
};
pub use identity::PeerIdentities;

use crate::block::{header_fields, set_transactions_filter};
use crate::ledger::{Height, LedgerError, Snapshot};
use mvcc::{NsRw, Updates};

/// A failure that stops validation of the block (Fabric halts the channel on these):
/// never caused by the content of a transaction.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    #[error("ledger error during validation: {0}")]
    Ledger(#[from] LedgerError),
}

/// The outcome for one transaction of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct TxOutcome {
    /// Empty when the transaction has no readable tx id.
    pub tx_id: String,
    pub code: TxValidationCode,
    /// Why it is invalid (empty for VALID): our explanation, for logs and commit status.
    pub reason: String,
    /// The invoked chaincode, for endorser transactions that parsed.
    pub chaincode: Option<String>,
    /// The chaincode event of a VALID transaction (what ChaincodeEvents delivers).
    pub event: Option<ChaincodeEvent>,
    /// The header type (`common.HeaderType` number), when the header decoded.
    pub header_type: Option<i32>,
    /// The collections whose private writes the tx carries (by hash), for the committer to
    /// fetch from the transient store.
    pub private_collections: Vec<PrivateCollectionRef>,
}

/// A collection with private writes in a transaction, identified by its public hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateCollectionRef {
    pub namespace: String,
    pub collection: String,
    /// SHA-256 of the collection's private `KVRWSet` (`pvt_rwset_hash`).
    pub pvt_rwset_hash: Vec<u8>,
}

/// The outcomes of a block's transactions, in block order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlockValidation {
    pub block_number: u64,
    pub txs: Vec<TxOutcome>,
}

impl BlockValidation {
    /// The TRANSACTIONS_FILTER bytes.
    pub fn filter(&self) -> Vec<u8> {
        self.txs.iter().map(|t| t.code as i32 as u8).collect()
    }

    pub fn codes(&self) -> Vec<TxValidationCode> {
        self.txs.iter().map(|t| t.code).collect()
    }
}

/// A channel's block validator on one peer.
#[derive(Clone)]
pub struct Validator {
    channel_id: String,
    channel: Arc<dyn ChannelPolicies>,
    definitions: Arc<dyn ChaincodeDefinitions>,
    when: ValidityTime,
    /// Worker threads for the signature checks (≥ 1).
    workers: usize,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("channel_id", &self.channel_id)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// What the parallel stage learnt about one transaction.
enum Checked {
    Invalid {
        tx_id: String,
        header_type: Option<i32>,
        code: TxValidationCode,
        reason: String,
    },
    Config {
        tx_id: String,
        channel_id: String,
    },
    Endorser {
        parsed: Box<ParsedTransaction>,
        endorsers: Vec<ValidatedIdentity>,
    },
}

/// Per transaction, what the sequential stages keep.
struct Staged {
    outcome: TxOutcome,
    rw: Vec<NsRw>,
}

impl Validator {
    pub fn new(
        channel_id: impl Into<String>,
        channel: Arc<dyn ChannelPolicies>,
        definitions: Arc<dyn ChaincodeDefinitions>,
    ) -> Self {
        Self {
            channel_id: channel_id.into(),
            channel,
            definitions,
            when: ValidityTime::AsFabric,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Certificate validity time for identities (Fabric's MSP: [`ValidityTime::AsFabric`]).
    pub fn with_validity_time(mut self, when: ValidityTime) -> Self {
        self.when = when;
        self
    }

    /// Threads used for signature checks (default: available parallelism).
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    pub fn channel(&self) -> &Arc<dyn ChannelPolicies> {
        &self.channel
    }

    pub fn definitions(&self) -> &Arc<dyn ChaincodeDefinitions> {
        &self.definitions
    }

    /// Validates `block` against `snapshot` (the ledger as committed up to the block before)
    /// and writes the TRANSACTIONS_FILTER into its metadata.
    pub fn validate_and_set_filter(
        &self,
        block: &mut Block,
        snapshot: &Snapshot,
    ) -> Result<BlockValidation, ValidatorError> {
        let v = self.validate(block, snapshot)?;
        set_transactions_filter(block, v.filter());
        Ok(v)
    }

    /// Validates `block` against `snapshot`; the block is not changed.
    pub fn validate(
        &self,
        block: &Block,
        snapshot: &Snapshot,
    ) -> Result<BlockValidation, ValidatorError> {
        let number = header_fields(block).number;
        let data: &[Vec<u8>] = block.data.as_ref().map_or(&[], |d| &d.data);

        // 1. Signatures, in parallel.
        let checked = self.check_all(data);

        // 2. In order: channel, duplicate in ledger, dispatch and endorsement policies.
        let mut staged: Vec<Staged> = Vec::with_capacity(data.len());
        let mut metadata_updated: HashSet<(String, String, Vec<u8>)> = HashSet::new();
        for (i, c) in checked.into_iter().enumerate() {
            let s = self.stage(number, i as u64, c, snapshot, &metadata_updated)?;
            if s.outcome.code == TxValidationCode::Valid {
                for ns in &s.rw {
                    for m in &ns.kv.metadata_writes {
                        metadata_updated.insert((
                            ns.namespace.clone(),
                            String::new(),
                            m.key.clone().into_bytes(),
                        ));
                    }
                    for (coll, h) in &ns.collections {
                        for m in &h.metadata_writes {
                            metadata_updated.insert((
                                ns.namespace.clone(),
                                coll.clone(),
                                m.key_hash.clone(),
                            ));
                        }
                    }
                }
            }
            staged.push(s);
        }

        // 3. Duplicate tx ids within the block (the first VALID one keeps its id).
        let mut seen: HashSet<String> = HashSet::new();
        for s in &mut staged {
            if s.outcome.code != TxValidationCode::Valid || s.outcome.tx_id.is_empty() {
                continue;
            }
            if !seen.insert(s.outcome.tx_id.clone()) {
                s.outcome.code = TxValidationCode::DuplicateTxid;
                s.outcome.reason = format!(
                    "tx id {} appears in an earlier valid transaction of this block",
                    s.outcome.tx_id
                );
            }
        }

        // 4. MVCC in block order with in-block updates.
        let mut updates = Updates::default();
        for (i, s) in staged.iter_mut().enumerate() {
            if s.outcome.code != TxValidationCode::Valid {
                continue;
            }
            let (code, reason) = mvcc::validate(&s.rw, &updates, snapshot)?;
            if code == TxValidationCode::Valid {
                updates.apply(&s.rw, Height::new(number, i as u64), snapshot)?;
            } else {
                s.outcome.code = code;
                s.outcome.reason = reason;
            }
        }

        let txs = staged
            .into_iter()
            .map(|mut s| {
                if s.outcome.code != TxValidationCode::Valid {
                    s.outcome.event = None;
                    s.outcome.private_collections.clear();
                }
                s.outcome
            })
            .collect();
        Ok(BlockValidation {
            block_number: number,
            txs,
        })
    }

    fn check_all(&self, data: &[Vec<u8>]) -> Vec<Checked> {
        let workers = self.workers.min(data.len() / 4).max(1);
        if workers == 1 {
            return data.iter().map(|d| self.check(d)).collect();
        }
        let chunk = data.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let handles: Vec<_> = data
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|d| self.check(d)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Vec<Checked>>()
        })
    }

    /// Structure and signatures of one data entry.
    fn check(&self, entry: &[u8]) -> Checked {
        use TxValidationCode as C;
        let invalid = |code, reason: String, tx_id: String, header_type| Checked::Invalid {
            tx_id,
            header_type,
            code,
            reason,
        };
        let env = match Envelope::decode(entry) {
            Ok(e) => e,
            Err(e) => {
                return invalid(
                    C::InvalidOtherReason,
                    format!("data entry is not an Envelope: {e}"),
                    String::new(),
                    None,
                );
            }
        };
        // Config transactions are validated by applying them to the channel configuration.
        if let Some(ch) = channel_header(&env)
            && ch.r#type == HeaderType::Config as i32
        {
            return Checked::Config {
                tx_id: ch.tx_id,
                channel_id: ch.channel_id,
            };
        }
        let header = channel_header(&env);
        let tx_id = header.as_ref().map(|h| h.tx_id.clone()).unwrap_or_default();
        let header_type = header.as_ref().map(|h| h.r#type);
        let ids = PeerIdentities {
            msps: self.channel.msps(),
        };
        match validate_transaction(&env, &ids, self.when) {
            Err(e) => invalid(e.code, e.error.to_string(), tx_id, header_type),
            Ok(parsed) => {
                let endorsers = parsed.endorsers(&ids, self.when);
                Checked::Endorser {
                    parsed: Box::new(parsed),
                    endorsers,
                }
            }
        }
    }

    fn stage(
        &self,
        block: u64,
        tx_num: u64,
        checked: Checked,
        snapshot: &Snapshot,
        metadata_updated: &HashSet<(String, String, Vec<u8>)>,
    ) -> Result<Staged, ValidatorError> {
        use TxValidationCode as C;
        let mut outcome = TxOutcome {
            tx_id: String::new(),
            code: C::Valid,
            reason: String::new(),
            chaincode: None,
            event: None,
            header_type: None,
            private_collections: Vec::new(),
        };
        let fail = |mut o: TxOutcome, code, reason: String| {
            o.code = code;
            o.reason = reason;
            Ok(Staged {
                outcome: o,
                rw: Vec::new(),
            })
        };
        let (parsed, endorsers) = match checked {
            Checked::Invalid {
                tx_id,
                header_type,
                code,
                reason,
            } => {
                outcome.tx_id = tx_id;
                outcome.header_type = header_type;
                return fail(outcome, code, reason);
            }
            Checked::Config { tx_id, channel_id } => {
                outcome.tx_id = tx_id;
                outcome.header_type = Some(HeaderType::Config as i32);
                if channel_id != self.channel_id {
                    return fail(
                        outcome,
                        C::TargetChainNotFound,
                        format!("config transaction for channel `{channel_id}`"),
                    );
                }
                return Ok(Staged {
                    outcome,
                    rw: Vec::new(),
                });
            }
            Checked::Endorser { parsed, endorsers } => (parsed, endorsers),
        };
        outcome.tx_id = parsed.tx_id().to_owned();
        outcome.header_type = Some(parsed.channel_header.r#type);
        if parsed.channel_id() != self.channel_id {
            let reason = format!(
                "transaction for channel `{}` in a block of channel `{}`",
                parsed.channel_id(),
                self.channel_id
            );
            return fail(outcome, C::TargetChainNotFound, reason);
        }
        if snapshot.tx_location(parsed.tx_id())?.is_some() {
            let reason = format!("tx id {} is already in the ledger", parsed.tx_id());
            return fail(outcome, C::DuplicateTxid, reason);
        }

        // The dispatcher's checks.
        let ext = match ChaincodeHeaderExtension::decode(parsed.channel_header.extension.as_slice())
        {
            Ok(e) => e,
            Err(e) => return fail(outcome, C::BadHeaderExtension, e.to_string()),
        };
        let rw = match decode_rwset(&parsed.chaincode_action.results) {
            Ok(rw) => rw,
            Err(e) => return fail(outcome, C::BadRwset, e),
        };
        let Some(hdr_cc) = ext.chaincode_id else {
            return fail(
                outcome,
                C::InvalidOtherReason,
                "nil ChaincodeId in header extension".into(),
            );
        };
        let Some(resp_cc) = parsed.chaincode_action.chaincode_id.clone() else {
            return fail(
                outcome,
                C::InvalidOtherReason,
                "nil ChaincodeId in ChaincodeAction".into(),
            );
        };
        let cc = hdr_cc.name;
        outcome.chaincode = Some(cc.clone());
        if cc.is_empty() {
            return fail(outcome, C::InvalidChaincode, "invalid chaincode ID".into());
        }
        if cc != resp_cc.name {
            let reason = format!("inconsistent ccid info ({cc}/{})", resp_cc.name);
            return fail(outcome, C::InvalidChaincode, reason);
        }
        if resp_cc.version.is_empty() {
            return fail(
                outcome,
                C::InvalidChaincode,
                "invalid chaincode version".into(),
            );
        }
        match parsed.event() {
            Err(e) => {
                let reason = format!("invalid chaincode event: {e}");
                return fail(outcome, C::InvalidOtherReason, reason);
            }
            Ok(Some(ev)) if ev.chaincode_id != cc => {
                return fail(
                    outcome,
                    C::InvalidOtherReason,
                    "chaincode event chaincode id does not match chaincode action chaincode id"
                        .into(),
                );
            }
            Ok(ev) => outcome.event = ev,
        }
        let mut namespaces: Vec<&str> = vec![cc.as_str()];
        let mut seen = HashSet::new();
        for ns in &rw {
            if !seen.insert(ns.namespace.as_str()) {
                let reason = format!("duplicate namespace '{}' in txRWSet", ns.namespace);
                return fail(outcome, C::IllegalWriteset, reason);
            }
            if writes_to(ns) && !namespaces.contains(&ns.namespace.as_str()) {
                namespaces.push(ns.namespace.as_str());
            }
        }

        // The validation plugin, per namespace.
        for ns in namespaces {
            let Some(def) = self.definitions.definition(ns) else {
                let reason = format!(
                    "chaincode {ns} is not defined on channel {}",
                    self.channel_id
                );
                return fail(outcome, C::InvalidChaincode, reason);
            };
            let mut eval = NsEvaluator {
                validator: self,
                def: &def,
                endorsers: &endorsers,
                checked: HashSet::new(),
                some_checked: false,
                block,
                tx_num,
                snapshot,
                metadata_updated,
            };
            match eval.evaluate(&rw) {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => return fail(outcome, C::EndorsementPolicyFailure, reason),
                Err(e) => return Err(e.into()),
            }
        }
        outcome.private_collections = rw
            .iter()
            .flat_map(|ns| {
                ns.pvt_hashes.iter().map(|(c, h)| PrivateCollectionRef {
                    namespace: ns.namespace.clone(),
                    collection: c.clone(),
                    pvt_rwset_hash: h.clone(),
                })
            })
            .collect();
        Ok(Staged { outcome, rw })
    }

    /// Evaluates an application policy (chaincode or collection endorsement policy).
    pub fn evaluate_policy(
        &self,
        policy: &EndorsementPolicy,
        signers: &[ValidatedIdentity],
    ) -> Result<(), String> {
        evaluate_policy(self.channel.as_ref(), policy, signers)
    }
}

/// Evaluates an endorsement policy on a channel.
pub fn evaluate_policy(
    channel: &dyn ChannelPolicies,
    policy: &EndorsementPolicy,
    signers: &[ValidatedIdentity],
) -> Result<(), String> {
    match policy {
        EndorsementPolicy::Signature(env) => {
            let p = CompiledPolicy::new(env).map_err(|e| e.to_string())?;
            channel::signature_check(&p, signers)
        }
        EndorsementPolicy::ChannelConfig(path) => {
            if !channel.has_policy(path) {
                return Err(format!("unable to retrieve policy {path}"));
            }
            channel.evaluate(path, signers)
        }
        EndorsementPolicy::ImplicitMeta(m) => channel.evaluate_application_meta(m, signers),
    }
}

/// The endorsement policy of a collection as Fabric's `CollectionValidationInfo` gives it:
/// `Ok(None)` means "use the chaincode's policy".
pub fn collection_policy(
    channel: &dyn ChannelPolicies,
    def: &ChaincodeDefinition,
    collection: &str,
) -> Result<Option<EndorsementPolicy>, String> {
    if let Some(msp) = implicit_collection_msp(collection) {
        let org = channel
            .application_org_of(msp)
            .ok_or_else(|| format!("no org found in channel with MSPID '{msp}'"))?;
        let path = format!("/Channel/Application/{org}/Endorsement");
        if channel.has_policy(&path) {
            return Ok(Some(EndorsementPolicy::ChannelConfig(path)));
        }
        return Ok(Some(EndorsementPolicy::Signature(signed_by_any(
            &[msp],
            MspRole::Member,
        ))));
    }
    match def.collections.iter().find(|c| c.name == collection) {
        Some(c) => Ok(c.endorsement_policy.clone()),
        None => Err(format!("no such collection '{collection}'")),
    }
}

/// The v20 policy checker for one namespace of one transaction (`policyCheckerV20` +
/// `baseEvaluator`).
struct NsEvaluator<'a> {
    validator: &'a Validator,
    def: &'a ChaincodeDefinition,
    endorsers: &'a [ValidatedIdentity],
    /// Collections whose policy was checked ("" = the chaincode's).
    checked: HashSet<String>,
    some_checked: bool,
    block: u64,
    tx_num: u64,
    snapshot: &'a Snapshot,
    metadata_updated: &'a HashSet<(String, String, Vec<u8>)>,
}

type PolicyResult = Result<Result<(), String>, LedgerError>;

impl NsEvaluator<'_> {
    fn evaluate(&mut self, rw: &[NsRw]) -> PolicyResult {
        let name = self.def.name.clone();
        for ns in rw.iter().filter(|n| n.namespace == name) {
            let public = ns
                .kv
                .writes
                .iter()
                .map(|w| w.key.as_bytes())
                .chain(ns.kv.metadata_writes.iter().map(|w| w.key.as_bytes()));
            for key in public {
                if let Err(e) = self.check_key("", key)? {
                    return Ok(Err(e));
                }
            }
            for (coll, h) in &ns.collections {
                let hashed = h
                    .hashed_writes
                    .iter()
                    .map(|w| w.key_hash.as_slice())
                    .chain(h.metadata_writes.iter().map(|w| w.key_hash.as_slice()));
                for key in hashed {
                    if let Err(e) = self.check_key(coll, key)? {
                        return Ok(Err(e));
                    }
                }
            }
        }
        if self.some_checked {
            return Ok(Ok(()));
        }
        Ok(self.check_chaincode_policy())
    }

    fn check_key(&mut self, coll: &str, key: &[u8]) -> PolicyResult {
        let ns = &self.def.name;
        if self
            .metadata_updated
            .contains(&(ns.clone(), coll.to_owned(), key.to_vec()))
        {
            return Ok(Err(format!(
                "validation parameters for key {} (coll'{coll}':ns'{ns}') have been changed in a \
                 preceding transaction of block {}",
                display_key(coll, key),
                self.block
            )));
        }
        let metadata = if coll.is_empty() {
            let key = String::from_utf8_lossy(key);
            self.snapshot.state(ns, &key)?.map(|v| v.metadata)
        } else {
            self.snapshot
                .private_data_hash_by_key_hash(ns, coll, key)?
                .map(|v| v.metadata)
        };
        let vp = metadata.as_deref().and_then(validation_parameter);
        let Some(vp) = vp else {
            return Ok(self.check_if_not_checked(coll));
        };
        let policy = match SignaturePolicyEnvelope::decode(vp.as_slice()) {
            Ok(p) => EndorsementPolicy::Signature(p),
            Err(e) => return Ok(Err(format!("invalid key-level validation parameter: {e}"))),
        };
        if let Err(e) = self.validator.evaluate_policy(&policy, self.endorsers) {
            return Ok(Err(format!(
                "validation of key {} (coll'{coll}':ns'{ns}') in tx {}:{} failed: {e}",
                display_key(coll, key),
                self.block,
                self.tx_num
            )));
        }
        self.some_checked = true;
        Ok(Ok(()))
    }

    fn check_if_not_checked(&mut self, coll: &str) -> Result<(), String> {
        let ns = self.def.name.clone();
        if !coll.is_empty() {
            if self.checked.contains(coll) {
                return Ok(());
            }
            let policy = collection_policy(self.validator.channel.as_ref(), self.def, coll)?;
            if let Some(p) = policy {
                self.validator
                    .evaluate_policy(&p, self.endorsers)
                    .map_err(|e| {
                        format!(
                            "validation of endorsement policy for collection {coll} chaincode \
                             {ns} in tx {}:{} failed: {e}",
                            self.block, self.tx_num
                        )
                    })?;
                self.checked.insert(coll.to_owned());
                self.some_checked = true;
                return Ok(());
            }
        }
        if self.checked.contains("") {
            return Ok(());
        }
        self.check_chaincode_policy()
    }

    fn check_chaincode_policy(&mut self) -> Result<(), String> {
        self.validator
            .evaluate_policy(&self.def.endorsement_policy, self.endorsers)
            .map_err(|e| {
                format!(
                    "validation of endorsement policy for chaincode {} in tx {}:{} failed: {e}",
                    self.def.name, self.block, self.tx_num
                )
            })?;
        self.checked.insert(String::new());
        self.some_checked = true;
        Ok(())
    }
}

fn display_key(coll: &str, key: &[u8]) -> String {
    if coll.is_empty() {
        String::from_utf8_lossy(key).into_owned()
    } else {
        hex::encode(key)
    }
}

/// The key-level endorsement policy in serialized state metadata, if any.
fn validation_parameter(metadata: &[u8]) -> Option<Vec<u8>> {
    if metadata.is_empty() {
        return None;
    }
    let m = KvMetadataWrite::decode(metadata).ok()?;
    m.entries
        .into_iter()
        .find(|e| e.name == MetaDataKeys::ValidationParameter.as_str_name())
        .map(|e| e.value)
        .filter(|v| !v.is_empty())
}

fn channel_header(env: &Envelope) -> Option<ChannelHeader> {
    let payload = Payload::decode(env.payload.as_slice()).ok()?;
    ChannelHeader::decode(payload.header?.channel_header.as_slice()).ok()
}

fn decode_rwset(bytes: &[u8]) -> Result<Vec<NsRw>, String> {
    let tx =
        TxReadWriteSet::decode(bytes).map_err(|e| format!("txRWSet.FromProtoBytes failed: {e}"))?;
    tx.ns_rwset
        .into_iter()
        .map(|ns| {
            let kv = KvrwSet::decode(ns.rwset.as_slice())
                .map_err(|e| format!("namespace {}: bad KVRWSet: {e}", ns.namespace))?;
            let pvt_hashes = ns
                .collection_hashed_rwset
                .iter()
                .filter(|c| !c.pvt_rwset_hash.is_empty())
                .map(|c| (c.collection_name.clone(), c.pvt_rwset_hash.clone()))
                .collect();
            let collections = ns
                .collection_hashed_rwset
                .into_iter()
                .map(|c| {
                    HashedRwSet::decode(c.hashed_rwset.as_slice())
                        .map(|h| (c.collection_name.clone(), h))
                        .map_err(|e| {
                            format!(
                                "namespace {} collection {}: bad HashedRWSet: {e}",
                                ns.namespace, c.collection_name
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
            Ok(NsRw {
                namespace: ns.namespace,
                kv,
                collections,
                pvt_hashes,
            })
        })
        .collect()
}

/// Whether a namespace's rwset writes anything (Fabric's `txWritesToNamespace`).
fn writes_to(ns: &NsRw) -> bool {
    !ns.kv.writes.is_empty()
        || !ns.kv.metadata_writes.is_empty()
        || ns
            .collections
            .iter()
            .any(|(_, h)| !h.hashed_writes.is_empty() || !h.metadata_writes.is_empty())
}

/// The collections (namespace, collection) a transaction's public rwset has hashed writes
/// or reads for, per tx id — what the committer needs to pick private data.
pub fn collections_of(rwset: &TxReadWriteSet) -> Vec<(String, String)> {
    rwset
        .ns_rwset
        .iter()
        .flat_map(|ns| {
            ns.collection_hashed_rwset
                .iter()
                .map(move |c| (ns.namespace.clone(), c.collection_name.clone()))
        })
        .collect()
}
