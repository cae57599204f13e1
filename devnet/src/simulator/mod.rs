//! The transaction simulator an endorsing peer runs a proposal against, as Fabric's
//! `txmgr.txSimulator` on the LevelDB state database:
//!
//! - reads come from one consistent [`Snapshot`] of the committed ledger and are recorded in
//!   the read set with their versions (`KVRead{key, version}`; no version for an absent key);
//! - range queries record a `RangeQueryInfo` per iterator (start key, the last key read or the
//!   query's end key once exhausted, `itr_exhausted`, and the reads: raw up to 50 results,
//!   a merkle summary beyond, exactly as Fabric's `RangeQueryResultsHelper`);
//! - writes are buffered; reads never see them (Fabric has no read-your-writes);
//! - private writes go to the private rwset and their SHA-256 key/value hashes to the public
//!   one; private reads are recorded as hashed reads with the hashed state's version;
//! - Fabric's rules: no writes after a paginated query or a private range query, and no
//!   paginated or private range query after a write; rich queries are "not supported" (LevelDB);
//! - [`TxSimulator::results`] builds `rwset.TxReadWriteSet` and `rwset.TxPvtReadWriteSet`
//!   as `rwsetutil.RWSetBuilder` does (sorted keys, namespaces and collections, range queries
//!   in order, `pvt_rwset_hash` = SHA-256 of the collection's private `KVRWSet`);
//! - the chaincode definition reads Fabric's peer makes through the simulator, so that they
//!   land in the read set under `_lifecycle`: the definition's `Sequence` for every
//!   invocation ([`TxSimulator::read_definition_sequence`], lifecycle's
//!   `CachedChaincodeInfo`), and the whole definition (metadata + its four fields) the first
//!   time a transaction touches a collection of a namespace (the `collNameValidator` reads it
//!   to learn the collections). Found by the fidelity diff (docs/fidelity.md).

mod builder;
mod merkle;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use prost::Message;
use sfcbc_fabric::protos::kvrwset::{KvMetadataWrite, KvRead, RangeQueryInfo, range_query_info};
use sfcbc_fabric::protos::queryresult;

pub use builder::{RwSetBuilder, SimulationResults};
pub use merkle::{DEFAULT_MAX_DEGREE, RangeQueryResultsHelper, RangeReads};

use crate::ledger::{Height, LedgerError, Snapshot, VersionedKv};

/// Fabric's `_lifecycle` namespace: chaincode definitions live in its world state.
pub const LIFECYCLE_NAMESPACE: &str = "_lifecycle";

/// The fields of a chaincode definition `_lifecycle` keeps under
/// `namespaces/fields/<name>/<field>`, besides its `namespaces/metadata/<name>` key.
const DEFINITION_FIELDS: [&str; 4] = [
    "Collections",
    "EndorsementInfo",
    "Sequence",
    "ValidationInfo",
];

/// The `_lifecycle` key of field `field` of chaincode `name`'s definition.
pub fn definition_field_key(name: &str, field: &str) -> String {
    format!("namespaces/fields/{name}/{field}")
}

/// A simulation error; its text is what the chaincode receives (after the handler's
/// `"<TYPE> failed: transaction ID: <txid>: "` prefix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SimError(pub String);

impl From<LedgerError> for SimError {
    fn from(e: LedgerError) -> Self {
        SimError(e.to_string())
    }
}

impl From<String> for SimError {
    fn from(s: String) -> Self {
        SimError(s)
    }
}

/// What the transaction's creator may do with a collection (`memberOnlyRead` /
/// `memberOnlyWrite` evaluated for the creator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionPermission {
    pub read: bool,
    pub write: bool,
}

/// The private data collections of the channel's chaincodes, as the simulator needs them.
/// The endorser supplies one per transaction (permissions depend on the creator).
pub trait Collections: Send + Sync {
    /// Whether `collection` is defined for chaincode `namespace` (implicit org collections
    /// always are).
    fn is_defined(&self, namespace: &str, collection: &str) -> bool;

    /// The creator's permissions on a defined collection.
    fn permission(&self, namespace: &str, collection: &str) -> CollectionPermission;
}

/// Only the implicit org collections (`_implicit_org_<MSP>`) exist; everyone may read and
/// write them (`memberOnlyRead`/`memberOnlyWrite` are false for implicit collections).
#[derive(Debug, Clone, Copy, Default)]
pub struct ImplicitCollections;

/// The prefix of an implicit org collection's name.
pub const IMPLICIT_COLLECTION_PREFIX: &str = "_implicit_org_";

impl Collections for ImplicitCollections {
    fn is_defined(&self, _namespace: &str, collection: &str) -> bool {
        collection
            .strip_prefix(IMPLICIT_COLLECTION_PREFIX)
            .is_some_and(|msp| !msp.is_empty())
    }

    fn permission(&self, _: &str, _: &str) -> CollectionPermission {
        CollectionPermission {
            read: true,
            write: true,
        }
    }
}

/// Implicit collections plus explicitly configured ones with the creator's permissions.
#[derive(Debug, Clone, Default)]
pub struct StaticCollections {
    /// (namespace, collection) → permission.
    pub explicit: BTreeMap<(String, String), CollectionPermission>,
}

impl Collections for StaticCollections {
    fn is_defined(&self, namespace: &str, collection: &str) -> bool {
        ImplicitCollections.is_defined(namespace, collection)
            || self
                .explicit
                .contains_key(&(namespace.to_owned(), collection.to_owned()))
    }

    fn permission(&self, namespace: &str, collection: &str) -> CollectionPermission {
        self.explicit
            .get(&(namespace.to_owned(), collection.to_owned()))
            .copied()
            .unwrap_or_else(|| ImplicitCollections.permission(namespace, collection))
    }
}

/// How the simulator records range queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatorConfig {
    /// Merkle hashing of range-query reads beyond this many results (Fabric: on, 50).
    /// `None` keeps every read raw.
    pub range_query_max_degree: Option<u32>,
    /// Results fetched from the store per step of an iterator.
    pub fetch_chunk: u32,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            range_query_max_degree: Some(DEFAULT_MAX_DEGREE),
            fetch_chunk: 128,
        }
    }
}

/// One transaction's simulation.
pub struct TxSimulator {
    txid: String,
    snapshot: Snapshot,
    collections: Arc<dyn Collections>,
    config: SimulatorConfig,
    builder: RwSetBuilder,
    /// One per public range iterator, in creation order.
    ranges: Vec<RangeRecord>,
    write_performed: bool,
    pvtdata_queries_performed: bool,
    paginated_queries_performed: bool,
    done: bool,
    /// Namespaces whose chaincode definition was read for a collection check (Fabric's
    /// `collNameValidator` cache: once per namespace and transaction).
    definitions_read: BTreeSet<String>,
}

impl fmt::Debug for TxSimulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxSimulator")
            .field("txid", &self.txid)
            .field("builder", &self.builder)
            .field("write_performed", &self.write_performed)
            .finish_non_exhaustive()
    }
}

struct RangeRecord {
    namespace: String,
    info: RangeQueryInfo,
    reads: RangeQueryResultsHelper,
}

/// A value (or value hash) with its serialized metadata.
type ValueAndMetadata = (Vec<u8>, Vec<u8>);

/// Fabric's `version.Height` as `%s` prints it.
fn height_str(h: Option<Height>) -> String {
    match h {
        None => "<nil>".into(),
        Some(h) => format!("{{BlockNum: {}, TxNum: {}}}", h.block_num, h.tx_num),
    }
}

impl TxSimulator {
    /// A simulator for `txid` over `snapshot`, with only implicit collections defined.
    pub fn new(txid: impl Into<String>, snapshot: Snapshot) -> Self {
        Self {
            txid: txid.into(),
            snapshot,
            collections: Arc::new(ImplicitCollections),
            config: SimulatorConfig::default(),
            builder: RwSetBuilder::default(),
            ranges: Vec::new(),
            write_performed: false,
            pvtdata_queries_performed: false,
            paginated_queries_performed: false,
            done: false,
            definitions_read: BTreeSet::new(),
        }
    }

    pub fn with_collections(mut self, collections: Arc<dyn Collections>) -> Self {
        self.collections = collections;
        self
    }

    pub fn with_config(mut self, config: SimulatorConfig) -> Self {
        self.config = config;
        self
    }

    pub fn txid(&self) -> &str {
        &self.txid
    }

    /// The snapshot reads come from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    fn check_done(&self) -> Result<(), SimError> {
        if self.done {
            return Err(SimError(
                "this instance should not be used after calling Done()".into(),
            ));
        }
        Ok(())
    }

    /// The read of chaincode `name`'s definition sequence that Fabric's endorser makes
    /// through the simulator before it runs the chaincode, so that a transaction endorsed
    /// under one definition fails MVCC once another is committed.
    pub fn read_definition_sequence(&mut self, name: &str) -> Result<(), SimError> {
        self.get_state(LIFECYCLE_NAMESPACE, &definition_field_key(name, "Sequence"))?;
        Ok(())
    }

    /// Fabric's `validateCollName`: the first collection check of a namespace reads its
    /// chaincode definition (metadata and every field) through this simulator.
    fn validate_coll(&mut self, ns: &str, coll: &str) -> Result<(), SimError> {
        if self.definitions_read.insert(ns.to_owned()) {
            self.get_state(LIFECYCLE_NAMESPACE, &format!("namespaces/metadata/{ns}"))?;
            for field in DEFINITION_FIELDS {
                self.get_state(LIFECYCLE_NAMESPACE, &definition_field_key(ns, field))?;
            }
        }
        if self.collections.is_defined(ns, coll) {
            Ok(())
        } else {
            Err(SimError(format!(
                "collection [{coll}] not defined in the collection config for chaincode [{ns}]"
            )))
        }
    }

    /// The handler's `errorIfCreatorHasNoReadPermission`.
    pub fn check_read_permission(&mut self, ns: &str, coll: &str) -> Result<(), SimError> {
        self.validate_coll(ns, coll)?;
        if !self.collections.permission(ns, coll).read {
            return Err(SimError(format!(
                "tx creator does not have read access permission on privatedata in chaincodeName:{ns} collectionName: {coll}"
            )));
        }
        Ok(())
    }

    /// The handler's `errorIfCreatorHasNoWritePermission`.
    pub fn check_write_permission(&mut self, ns: &str, coll: &str) -> Result<(), SimError> {
        self.validate_coll(ns, coll)?;
        if !self.collections.permission(ns, coll).write {
            return Err(SimError(format!(
                "tx creator does not have write access permission on privatedata in chaincodeName:{ns} collectionName: {coll}"
            )));
        }
        Ok(())
    }

    fn unsupported(&self, what: &str) -> SimError {
        SimError(format!(
            "txid [{}]: unsuppored transaction. {what}",
            self.txid
        ))
    }

    fn check_write_precondition(&mut self) -> Result<(), SimError> {
        self.check_done()?;
        if self.pvtdata_queries_performed {
            return Err(self.unsupported(
                "Transaction has already performed queries on pvt data. Writes are not allowed",
            ));
        }
        if self.paginated_queries_performed {
            return Err(self.unsupported(
                "Transaction has already performed a paginated query. Writes are not allowed",
            ));
        }
        self.write_performed = true;
        Ok(())
    }

    fn check_before_paginated_queries(&mut self) -> Result<(), SimError> {
        if self.write_performed {
            return Err(
                self.unsupported("Paginated queries are supported only in a read-only transaction")
            );
        }
        self.paginated_queries_performed = true;
        Ok(())
    }

    fn check_before_pvtdata_queries(&mut self) -> Result<(), SimError> {
        if self.write_performed {
            return Err(self
                .unsupported("Queries on pvt data is supported only in a read-only transaction"));
        }
        self.pvtdata_queries_performed = true;
        Ok(())
    }

    // ---- public state ----

    /// `GetState`: the committed value (`None` if absent), recorded with its version.
    pub fn get_state(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, SimError> {
        Ok(self.get_state_full(ns, key)?.map(|(v, _)| v))
    }

    fn get_state_full(
        &mut self,
        ns: &str,
        key: &str,
    ) -> Result<Option<ValueAndMetadata>, SimError> {
        self.check_done()?;
        let vv = self.snapshot.state(ns, key)?;
        self.builder
            .add_read(ns, key, vv.as_ref().map(|v| v.version));
        Ok(vv.map(|v| (v.value, v.metadata)))
    }

    /// `GetStateMultipleKeys`.
    pub fn get_state_multiple(
        &mut self,
        ns: &str,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, SimError> {
        keys.iter().map(|k| self.get_state(ns, k)).collect()
    }

    /// `GetStateMetadata`: the key's metadata entries (the read is recorded).
    pub fn get_state_metadata(
        &mut self,
        ns: &str,
        key: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, SimError> {
        let md = self.get_state_full(ns, key)?.map(|(_, m)| m);
        deserialize_metadata(md.as_deref())
    }

    /// `SetState`; an empty value is a delete.
    pub fn set_state(&mut self, ns: &str, key: &str, value: &[u8]) -> Result<(), SimError> {
        self.check_write_precondition()?;
        self.builder.add_write(ns, key, value);
        Ok(())
    }

    pub fn delete_state(&mut self, ns: &str, key: &str) -> Result<(), SimError> {
        self.set_state(ns, key, &[])
    }

    /// `SetStateMetadata`: replaces the key's metadata (an empty map deletes it).
    pub fn set_state_metadata(
        &mut self,
        ns: &str,
        key: &str,
        metadata: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), SimError> {
        self.check_write_precondition()?;
        self.builder.add_metadata_write(ns, key, metadata);
        Ok(())
    }

    /// `GetStateRangeScanIterator` (`page_size` `None`) or
    /// `GetStateRangeScanIteratorWithPagination` (`Some`, at most that many results when > 0).
    pub fn state_range(
        &mut self,
        ns: &str,
        start: &str,
        end: &str,
        page_size: Option<i32>,
    ) -> Result<QueryIter, SimError> {
        if page_size.is_some() {
            self.check_before_paginated_queries()?;
        }
        self.check_done()?;
        let record = self.ranges.len();
        self.ranges.push(RangeRecord {
            namespace: ns.to_owned(),
            info: RangeQueryInfo {
                start_key: start.to_owned(),
                ..Default::default()
            },
            reads: RangeQueryResultsHelper::new(self.config.range_query_max_degree)?,
        });
        Ok(QueryIter::Range(RangeIter {
            namespace: ns.to_owned(),
            collection: None,
            cursor: Cursor::new(start, end, page_size.filter(|p| *p > 0)),
            end: end.to_owned(),
            record: Some(record),
        }))
    }

    /// `ExecuteQuery` / `ExecuteQueryWithPagination`: LevelDB has no rich queries.
    pub fn execute_query(&mut self, paginated: bool) -> Result<QueryIter, SimError> {
        if paginated {
            self.check_before_paginated_queries()?;
            self.check_done()?;
            return Err(SimError(
                "ExecuteQueryWithMetadata not supported for leveldb".into(),
            ));
        }
        self.check_done()?;
        Err(SimError("ExecuteQuery not supported for leveldb".into()))
    }

    /// `GetHistoryForKey`: newest first; not part of the read set.
    pub fn history(&mut self, ns: &str, key: &str) -> Result<QueryIter, SimError> {
        self.check_done()?;
        let h = self.snapshot.history(ns, key)?;
        Ok(QueryIter::History(h.into()))
    }

    // ---- private data ----

    /// `GetPrivateData`: the value on this peer, which must match the hashed state's version;
    /// recorded as a hashed read.
    pub fn get_private_data(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, SimError> {
        self.validate_coll(ns, coll)?;
        self.check_done()?;
        let vv = self.snapshot.private_data(ns, coll, key)?;
        let ver = vv.as_ref().map(|v| v.version);
        let hash_ver = self
            .snapshot
            .private_data_hash(ns, coll, key)?
            .map(|h| h.version);
        if hash_ver != ver {
            return Err(SimError(format!(
                "private data matching public hash version is not available. Public hash version = {}, Private data version = {}",
                height_str(hash_ver),
                height_str(ver)
            )));
        }
        self.builder.add_hashed_read(ns, coll, key, ver);
        Ok(vv.map(|v| v.value))
    }

    /// `GetPrivateDataMultipleKeys` (recorded as hashed reads, without the version check).
    pub fn get_private_data_multiple(
        &mut self,
        ns: &str,
        coll: &str,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, SimError> {
        self.validate_coll(ns, coll)?;
        self.check_done()?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let vv = self.snapshot.private_data(ns, coll, k)?;
            self.builder
                .add_hashed_read(ns, coll, k, vv.as_ref().map(|v| v.version));
            out.push(vv.map(|v| v.value));
        }
        Ok(out)
    }

    /// `GetPrivateDataHash`: the value hash every channel peer has; recorded as a hashed read.
    pub fn get_private_data_hash(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, SimError> {
        Ok(self.private_value_hash(ns, coll, key)?.map(|(h, _)| h))
    }

    fn private_value_hash(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
    ) -> Result<Option<ValueAndMetadata>, SimError> {
        self.validate_coll(ns, coll)?;
        self.check_done()?;
        let hv = self.snapshot.private_data_hash(ns, coll, key)?;
        self.builder
            .add_hashed_read(ns, coll, key, hv.as_ref().map(|h| h.version));
        Ok(hv.map(|h| (h.value_hash, h.metadata)))
    }

    /// `GetPrivateDataMetadata` (from the hashed state; recorded as a hashed read).
    pub fn get_private_data_metadata(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, SimError> {
        let md = self.private_value_hash(ns, coll, key)?.map(|(_, m)| m);
        deserialize_metadata(md.as_deref())
    }

    /// `SetPrivateData`; an empty value is a delete.
    pub fn set_private_data(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), SimError> {
        self.validate_coll(ns, coll)?;
        self.check_write_precondition()?;
        self.builder.add_private_write(ns, coll, key, value, false);
        Ok(())
    }

    pub fn delete_private_data(&mut self, ns: &str, coll: &str, key: &str) -> Result<(), SimError> {
        self.set_private_data(ns, coll, key, &[])
    }

    /// `PurgePrivateData`.
    pub fn purge_private_data(&mut self, ns: &str, coll: &str, key: &str) -> Result<(), SimError> {
        self.validate_coll(ns, coll)?;
        self.check_write_precondition()?;
        self.builder.add_private_write(ns, coll, key, &[], true);
        Ok(())
    }

    /// `SetPrivateDataMetadata`.
    pub fn set_private_data_metadata(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
        metadata: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), SimError> {
        self.validate_coll(ns, coll)?;
        self.check_write_precondition()?;
        self.builder
            .add_private_metadata_write(ns, coll, key, metadata);
        Ok(())
    }

    /// `GetPrivateDataRangeScanIterator`: not recorded in the read set, hence Fabric's ban
    /// on writes in the same transaction.
    pub fn private_data_range(
        &mut self,
        ns: &str,
        coll: &str,
        start: &str,
        end: &str,
    ) -> Result<QueryIter, SimError> {
        self.check_before_pvtdata_queries()?;
        self.validate_coll(ns, coll)?;
        self.check_done()?;
        Ok(QueryIter::Range(RangeIter {
            namespace: ns.to_owned(),
            collection: Some(coll.to_owned()),
            cursor: Cursor::new(start, end, None),
            end: end.to_owned(),
            record: None,
        }))
    }

    /// `ExecuteQueryOnPrivateData`: not supported on LevelDB (after the same checks).
    pub fn execute_query_on_private_data(&mut self, ns: &str, coll: &str) -> Result<(), SimError> {
        self.check_before_pvtdata_queries()?;
        self.validate_coll(ns, coll)?;
        self.check_done()?;
        Err(SimError("ExecuteQuery not supported for leveldb".into()))
    }

    // ---- iteration ----

    /// The next result of `iter` as the shim receives it (an encoded `queryresult.KV` or
    /// `queryresult.KeyModification`), or `None` when exhausted. Public range reads are
    /// recorded as Fabric's `resultsItr.Next` does.
    pub fn next(&mut self, iter: &mut QueryIter) -> Result<Option<Vec<u8>>, SimError> {
        self.check_done()?;
        match iter {
            QueryIter::History(h) => Ok(h.pop_front().map(|m| {
                queryresult::KeyModification {
                    tx_id: m.tx_id,
                    value: m.value,
                    timestamp: Some(prost_types::Timestamp {
                        seconds: m.timestamp.seconds,
                        nanos: m.timestamp.nanos,
                    }),
                    is_delete: m.is_delete,
                }
                .encode_to_vec()
            })),
            QueryIter::Range(r) => {
                let kv = r.cursor.next(
                    &self.snapshot,
                    &r.namespace,
                    r.collection.as_deref(),
                    self.config.fetch_chunk,
                )?;
                if let Some(i) = r.record {
                    let rec = &mut self.ranges[i];
                    match &kv {
                        None => {
                            rec.info.itr_exhausted = true;
                            rec.info.end_key = r.end.clone();
                        }
                        Some(kv) => {
                            rec.reads.add(KvRead {
                                key: kv.key.clone(),
                                version: builder::proto_version(Some(kv.value.version)),
                            });
                            rec.info.end_key = kv.key.clone();
                        }
                    }
                }
                Ok(kv.map(|kv| {
                    queryresult::Kv {
                        namespace: r.namespace.clone(),
                        key: kv.key,
                        value: kv.value.value,
                    }
                    .encode_to_vec()
                }))
            }
        }
    }

    /// A paginated iterator's bookmark: the key the next page starts at, "" if none
    /// (LevelDB's `GetBookmarkAndClose`). Not recorded in the read set.
    pub fn bookmark(&mut self, iter: &mut QueryIter) -> Result<String, SimError> {
        match iter {
            QueryIter::History(_) => Ok(String::new()),
            QueryIter::Range(r) => r.cursor.peek_key(
                &self.snapshot,
                &r.namespace,
                r.collection.as_deref(),
                self.config.fetch_chunk,
            ),
        }
    }

    // ---- results ----

    /// Fabric's `GetTxSimulationResults`: the rwsets, once; the simulator is done afterwards.
    pub fn results(&mut self) -> Result<SimulationResults, SimError> {
        if self.done {
            return Err(SimError(
                "this function should only be called once on a transaction simulator instance"
                    .into(),
            ));
        }
        self.done = true;
        for rec in std::mem::take(&mut self.ranges) {
            let mut info = rec.info;
            info.reads_info = match rec.reads.done() {
                RangeReads::None => None,
                RangeReads::Raw(kv_reads) => Some(range_query_info::ReadsInfo::RawReads(
                    sfcbc_fabric::protos::kvrwset::QueryReads { kv_reads },
                )),
                RangeReads::Merkle(s) => Some(range_query_info::ReadsInfo::ReadsMerkleHashes(s)),
            };
            self.builder.add_range_query(&rec.namespace, info);
        }
        Ok(self.builder.build())
    }
}

/// Fabric's `statemetadata.Deserialize`.
fn deserialize_metadata(md: Option<&[u8]>) -> Result<BTreeMap<String, Vec<u8>>, SimError> {
    let Some(md) = md else {
        return Ok(BTreeMap::new());
    };
    let w = KvMetadataWrite::decode(md)
        .map_err(|e| SimError(format!("state metadata is not a KVMetadataWrite: {e}")))?;
    Ok(w.entries.into_iter().map(|e| (e.name, e.value)).collect())
}

/// An open query of a simulation: a range over public or private state, or a key's history.
#[derive(Debug)]
pub enum QueryIter {
    Range(RangeIter),
    History(VecDeque<crate::ledger::KeyModification>),
}

/// A lazily fetched range.
#[derive(Debug)]
pub struct RangeIter {
    namespace: String,
    collection: Option<String>,
    cursor: Cursor,
    /// The query's end key, recorded once the range is exhausted.
    end: String,
    /// Index of the range record in the simulator (public ranges only).
    record: Option<usize>,
}

#[derive(Debug)]
struct Cursor {
    /// Where the next fetch starts; `None` once the store has nothing more.
    next_start: Option<String>,
    end: String,
    buf: VecDeque<VersionedKv>,
    limit: Option<u64>,
    returned: u64,
}

impl Cursor {
    fn new(start: &str, end: &str, limit: Option<i32>) -> Self {
        Self {
            next_start: Some(start.to_owned()),
            end: end.to_owned(),
            buf: VecDeque::new(),
            limit: limit.map(|l| l as u64),
            returned: 0,
        }
    }

    fn fill(
        &mut self,
        snap: &Snapshot,
        ns: &str,
        coll: Option<&str>,
        chunk: u32,
    ) -> Result<(), SimError> {
        if !self.buf.is_empty() {
            return Ok(());
        }
        let Some(start) = self.next_start.take() else {
            return Ok(());
        };
        let page = match coll {
            None => snap.state_range(ns, &start, &self.end, chunk.max(1))?,
            Some(c) => snap.private_data_range(ns, c, &start, &self.end, chunk.max(1))?,
        };
        self.buf = page.results.into();
        if !page.bookmark.is_empty() {
            self.next_start = Some(page.bookmark);
        }
        Ok(())
    }

    fn next(
        &mut self,
        snap: &Snapshot,
        ns: &str,
        coll: Option<&str>,
        chunk: u32,
    ) -> Result<Option<VersionedKv>, SimError> {
        if self.limit.is_some_and(|l| self.returned >= l) {
            return Ok(None);
        }
        self.fill(snap, ns, coll, chunk)?;
        let kv = self.buf.pop_front();
        if kv.is_some() {
            self.returned += 1;
        }
        Ok(kv)
    }

    fn peek_key(
        &mut self,
        snap: &Snapshot,
        ns: &str,
        coll: Option<&str>,
        chunk: u32,
    ) -> Result<String, SimError> {
        self.fill(snap, ns, coll, chunk)?;
        Ok(self
            .buf
            .front()
            .map(|kv| kv.key.clone())
            .unwrap_or_default())
    }
}

#[cfg(test)]
pub(crate) mod tests;
