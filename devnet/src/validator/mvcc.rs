//! Fabric's MVCC validation (`txmgmt/validation/validator.go`): in block order, each
//! transaction still valid is checked against the committed state plus the updates of the
//! valid transactions before it in the same block:
//! - a public read whose key a preceding tx in the block wrote, or whose committed version
//!   differs from the version read → `MVCC_READ_CONFLICT`;
//! - a range query re-executed on committed state + in-block updates (with the end key
//!   included when the iterator was not exhausted) whose keys and versions differ — raw reads
//!   compared one by one, merkle summaries rebuilt with the same helper → `PHANTOM_READ_CONFLICT`;
//! - a hashed (private) read checked like a public one → `MVCC_READ_CONFLICT`.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use sfcbc_fabric::protos::kvrwset::{
    HashedRwSet, KvRead, KvrwSet, QueryReadsMerkleSummary, RangeQueryInfo, Version,
    range_query_info::ReadsInfo,
};
use sfcbc_fabric::protos::protos::TxValidationCode;

use crate::ledger::{Height, LedgerError, Snapshot};
use crate::simulator::{RangeQueryResultsHelper, RangeReads};

/// One namespace of a transaction's decoded read-write set.
#[derive(Debug, Clone, Default)]
pub(crate) struct NsRw {
    pub namespace: String,
    pub kv: KvrwSet,
    /// (collection, hashed rwset).
    pub collections: Vec<(String, HashedRwSet)>,
    /// (collection, `pvt_rwset_hash`) of the collections with private writes.
    pub pvt_hashes: Vec<(String, Vec<u8>)>,
}

/// Writes of the valid transactions so far in the block.
#[derive(Debug, Default)]
pub(crate) struct Updates {
    /// namespace → key → new version (`None`: deleted).
    public: BTreeMap<String, BTreeMap<String, Option<Height>>>,
    /// (namespace, collection, key hash).
    hashed: HashSet<(String, String, Vec<u8>)>,
}

pub(crate) fn height(v: Option<&Version>) -> Option<Height> {
    v.map(|v| Height::new(v.block_num, v.tx_num))
}

impl Updates {
    fn public(&self, ns: &str, key: &str) -> Option<Option<Height>> {
        self.public.get(ns).and_then(|m| m.get(key)).copied()
    }

    /// Applies a valid transaction's writes at `at` (Fabric's `applyWriteSet`): value writes
    /// and deletes; metadata writes of keys that exist (they give the key a new version);
    /// hashed writes and hashed metadata writes.
    pub fn apply(
        &mut self,
        rw: &[NsRw],
        at: Height,
        snapshot: &Snapshot,
    ) -> Result<(), LedgerError> {
        for ns in rw {
            let m = self.public.entry(ns.namespace.clone()).or_default();
            for w in &ns.kv.writes {
                m.insert(w.key.clone(), (!w.is_delete).then_some(at));
            }
            for mw in &ns.kv.metadata_writes {
                let exists = match m.get(&mw.key) {
                    Some(v) => v.is_some(),
                    None => snapshot.state_version(&ns.namespace, &mw.key)?.is_some(),
                };
                if exists {
                    m.insert(mw.key.clone(), Some(at));
                }
            }
            for (coll, h) in &ns.collections {
                for w in &h.hashed_writes {
                    self.hashed
                        .insert((ns.namespace.clone(), coll.clone(), w.key_hash.clone()));
                }
                for w in &h.metadata_writes {
                    self.hashed
                        .insert((ns.namespace.clone(), coll.clone(), w.key_hash.clone()));
                }
            }
        }
        Ok(())
    }
}

/// MVCC-validates one transaction.
pub(crate) fn validate(
    rw: &[NsRw],
    updates: &Updates,
    snapshot: &Snapshot,
) -> Result<(TxValidationCode, String), LedgerError> {
    use TxValidationCode as C;
    for ns in rw {
        let n = &ns.namespace;
        for r in &ns.kv.reads {
            if updates.public(n, &r.key).is_some() {
                return Ok((
                    C::MvccReadConflict,
                    format!(
                        "key `{}` in namespace `{n}` was updated by a preceding transaction in \
                         this block",
                        r.key
                    ),
                ));
            }
            let committed = snapshot.state_version(n, &r.key)?;
            let read = height(r.version.as_ref());
            if committed != read {
                return Ok((
                    C::MvccReadConflict,
                    format!(
                        "key `{}` in namespace `{n}`: read version {read:?}, committed version \
                         {committed:?}",
                        r.key
                    ),
                ));
            }
        }
        for q in &ns.kv.range_queries_info {
            if !range_still_valid(n, q, updates, snapshot)? {
                return Ok((
                    C::PhantomReadConflict,
                    format!(
                        "range query [`{}`, `{}`) in namespace `{n}` gives different results now",
                        q.start_key, q.end_key
                    ),
                ));
            }
        }
        for (coll, h) in &ns.collections {
            for r in &h.hashed_reads {
                let key = (n.clone(), coll.clone(), r.key_hash.clone());
                if updates.hashed.contains(&key) {
                    return Ok((
                        C::MvccReadConflict,
                        format!(
                            "private key hash {} of collection `{coll}` in namespace `{n}` was \
                             updated by a preceding transaction in this block",
                            hex::encode(&r.key_hash)
                        ),
                    ));
                }
                let committed = snapshot
                    .private_data_hash_by_key_hash(n, coll, &r.key_hash)?
                    .map(|v| v.version);
                let read = height(r.version.as_ref());
                if committed != read {
                    return Ok((
                        C::MvccReadConflict,
                        format!(
                            "private key hash {} of collection `{coll}` in namespace `{n}`: read \
                             version {read:?}, committed version {committed:?}",
                            hex::encode(&r.key_hash)
                        ),
                    ));
                }
            }
        }
    }
    Ok((C::Valid, String::new()))
}

/// The range's results now: committed state merged with in-block updates (deletes drop a
/// key), then the end key itself when the simulation did not exhaust the iterator.
fn current_range(
    ns: &str,
    q: &RangeQueryInfo,
    updates: &Updates,
    snapshot: &Snapshot,
) -> Result<Vec<KvRead>, LedgerError> {
    let empty = BTreeMap::new();
    let upd = updates.public.get(ns).unwrap_or(&empty);
    // An empty or reversed range (only a forged rwset has one) has no keys; never hand it
    // to a range API.
    let reversed = !q.end_key.is_empty() && q.start_key >= q.end_key;
    let mut merged: BTreeMap<&str, Option<Height>> = BTreeMap::new();
    let db;
    if !reversed {
        db = snapshot
            .state_range(ns, &q.start_key, &q.end_key, 0)?
            .results;
        merged.extend(
            db.iter()
                .map(|kv| (kv.key.as_str(), Some(kv.value.version))),
        );
        let upper = if q.end_key.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded(q.end_key.as_str())
        };
        for (k, v) in upd.range::<str, _>((Bound::Included(q.start_key.as_str()), upper)) {
            merged.insert(k.as_str(), *v);
        }
    }
    let mut out: Vec<KvRead> = merged
        .into_iter()
        .filter_map(|(k, v)| v.map(|h| kv_read(k, h)))
        .collect();
    if !q.itr_exhausted {
        let end = match upd.get(&q.end_key) {
            Some(v) => *v,
            None => snapshot.state_version(ns, &q.end_key)?,
        };
        if let Some(h) = end {
            out.push(kv_read(&q.end_key, h));
        }
    }
    Ok(out)
}

fn kv_read(key: &str, h: Height) -> KvRead {
    KvRead {
        key: key.to_owned(),
        version: Some(Version {
            block_num: h.block_num,
            tx_num: h.tx_num,
        }),
    }
}

fn range_still_valid(
    ns: &str,
    q: &RangeQueryInfo,
    updates: &Updates,
    snapshot: &Snapshot,
) -> Result<bool, LedgerError> {
    let now = current_range(ns, q, updates, snapshot)?;
    Ok(match &q.reads_info {
        Some(ReadsInfo::ReadsMerkleHashes(summary)) => merkle_matches(summary, now),
        Some(ReadsInfo::RawReads(raw)) => same_reads(&raw.kv_reads, &now),
        None => now.is_empty(),
    })
}

fn same_reads(recorded: &[KvRead], now: &[KvRead]) -> bool {
    recorded.len() == now.len()
        && recorded.iter().zip(now).all(|(a, b)| {
            a.key == b.key && height(a.version.as_ref()) == height(b.version.as_ref())
        })
}

fn merkle_matches(recorded: &QueryReadsMerkleSummary, now: Vec<KvRead>) -> bool {
    let Ok(mut helper) = RangeQueryResultsHelper::new(Some(recorded.max_degree)) else {
        return false;
    };
    for r in now {
        helper.add(r);
    }
    matches!(helper.done(), RangeReads::Merkle(s) if s == *recorded)
}
