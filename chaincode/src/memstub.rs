//! An in-memory [`Stub`] that behaves like a peer simulating one transaction, for tests here
//! and in other crates.
//!
//! A [`MemLedger`] holds committed world state, private data and history. [`MemLedger::tx`]
//! starts a transaction on a snapshot of it; the [`MemStub`] records what a peer would put in
//! the transaction's read/write set (reads with versions, range queries, writes, private writes
//! and the hashes the public ledger would hold) and its event. [`MemLedger::commit`] validates
//! the read set like Fabric's MVCC check and applies the writes. Like a peer, the stub gives no
//! read-your-writes and refuses writes after a paginated query.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::stub::{
    ChaincodeEvent, Creator, KeyModification, KeyValue, QueryMetadata, Stub, StubError, TxTimestamp,
};

/// The peer's message when a transaction writes after a paginated query.
pub const PAGINATED_WRITE_REFUSED: &str =
    "Transaction has already performed a paginated query. Writes are not allowed";

/// A committed value and the version (commit height) that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub value: Vec<u8>,
    pub version: u64,
}

/// Committed state of one channel and chaincode namespace.
#[derive(Debug, Clone, Default)]
pub struct MemLedger {
    /// Public world state.
    pub state: BTreeMap<String, Versioned>,
    /// Private data by collection, as the member peers store it.
    pub private: BTreeMap<String, BTreeMap<String, Versioned>>,
    /// `GetHistoryForKey` answers, oldest first.
    pub history: BTreeMap<String, Vec<KeyModification>>,
    /// Committed transactions so far; the version of the next commit is `height + 1`.
    pub height: u64,
    /// Channel id handed to every transaction.
    pub channel: String,
}

/// Why [`MemLedger::commit`] refused a transaction (Fabric's `MVCC_READ_CONFLICT` /
/// `PHANTOM_READ_CONFLICT`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("MVCC_READ_CONFLICT on key {0:?}")]
    MvccReadConflict(String),
    #[error("PHANTOM_READ_CONFLICT on range {0:?}..{1:?}")]
    PhantomReadConflict(String, String),
}

/// A range query in the read set, with the keys and versions it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRead {
    pub start: String,
    pub end: String,
    pub paginated: bool,
    pub results: Vec<(String, u64)>,
}

/// What the transaction did, as a peer records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxRecord {
    /// Public reads: key → version read (`None`: the key did not exist).
    pub reads: BTreeMap<String, Option<u64>>,
    /// Range queries (public).
    pub range_reads: Vec<RangeRead>,
    /// Public writes: key → value (`None`: delete).
    pub writes: BTreeMap<String, Option<Vec<u8>>>,
    /// Private reads: (collection, key) → version read.
    pub private_reads: BTreeMap<(String, String), Option<u64>>,
    /// Private writes: (collection, key) → value (`None`: delete or purge).
    pub private_writes: BTreeMap<(String, String), Option<Vec<u8>>>,
    /// The event; the last `set_event` wins.
    pub event: Option<ChaincodeEvent>,
    /// Set by a paginated query: writes are refused from then on.
    pub paginated: bool,
}

impl TxRecord {
    /// Every public key this transaction read, by point read or as a range result.
    pub fn read_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.reads.keys().cloned().collect();
        for range in &self.range_reads {
            keys.extend(range.results.iter().map(|(k, _)| k.clone()));
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Whether `key` falls in a range this transaction queried (a write there by another
    /// transaction would be a phantom read).
    pub fn range_covers(&self, key: &str) -> bool {
        self.range_reads
            .iter()
            .any(|r| key >= r.start.as_str() && (r.end.is_empty() || key < r.end.as_str()))
    }

    /// The hashed private write set the public ledger and every peer hold: (collection,
    /// hex SHA-256 of key) → hex SHA-256 of value (`None`: delete).
    pub fn private_write_hashes(&self) -> BTreeMap<(String, String), Option<String>> {
        self.private_writes
            .iter()
            .map(|((c, k), v)| {
                (
                    (c.clone(), sha256_hex(k.as_bytes())),
                    v.as_ref().map(|v| sha256_hex(v)),
                )
            })
            .collect()
    }
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

impl MemLedger {
    pub fn new(channel: &str) -> Self {
        MemLedger {
            channel: channel.to_owned(),
            ..Default::default()
        }
    }

    /// Starts a transaction by `creator` on a snapshot of the committed state. The tx id is
    /// `tx{height+1}` and the timestamp `1_700_000_000 + height` seconds until set otherwise.
    pub fn tx(&self, creator: Creator) -> MemStub {
        MemStub {
            snapshot: self.clone(),
            tx_id: format!("tx{:06}", self.height + 1),
            channel_id: self.channel.clone(),
            timestamp: TxTimestamp {
                seconds: 1_700_000_000 + self.height as i64,
                nanos: 0,
            },
            creator,
            transient: BTreeMap::new(),
            record: Mutex::new(TxRecord::default()),
        }
    }

    /// Validates `tx`'s read set against the current state (MVCC and phantom reads, public
    /// and private) and applies its writes, as a committing peer does.
    pub fn commit(&mut self, tx: &MemStub) -> Result<(), CommitError> {
        let record = tx.record();
        for (key, version) in &record.reads {
            if self.state.get(key).map(|v| v.version) != *version {
                return Err(CommitError::MvccReadConflict(key.clone()));
            }
        }
        for range in &record.range_reads {
            let now: Vec<(String, u64)> = self
                .range(&range.start, &range.end)
                .map(|(k, v)| (k.clone(), v.version))
                .collect();
            // A paginated range saw a prefix only; Fabric does not re-validate it (read-only).
            if !range.paginated && now != range.results {
                return Err(CommitError::PhantomReadConflict(
                    range.start.clone(),
                    range.end.clone(),
                ));
            }
        }
        for ((collection, key), version) in &record.private_reads {
            let now = self
                .private
                .get(collection)
                .and_then(|c| c.get(key))
                .map(|v| v.version);
            if now != *version {
                return Err(CommitError::MvccReadConflict(format!("{collection}/{key}")));
            }
        }
        self.height += 1;
        let version = self.height;
        for (key, value) in &record.writes {
            self.history
                .entry(key.clone())
                .or_default()
                .push(KeyModification {
                    tx_id: tx.tx_id.clone(),
                    value: value.clone().unwrap_or_default(),
                    timestamp: tx.timestamp,
                    is_delete: value.is_none(),
                });
            match value {
                Some(value) => {
                    self.state.insert(
                        key.clone(),
                        Versioned {
                            value: value.clone(),
                            version,
                        },
                    );
                }
                None => {
                    self.state.remove(key);
                }
            }
        }
        for ((collection, key), value) in &record.private_writes {
            let c = self.private.entry(collection.clone()).or_default();
            match value {
                Some(value) => {
                    c.insert(
                        key.clone(),
                        Versioned {
                            value: value.clone(),
                            version,
                        },
                    );
                }
                None => {
                    c.remove(key);
                }
            }
        }
        Ok(())
    }

    fn range<'a>(
        &'a self,
        start: &'a str,
        end: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Versioned)> + 'a {
        self.state
            .range::<str, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .take_while(move |(k, _)| end.is_empty() || k.as_str() < end)
    }

    /// A committed public value.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.state.get(key).map(|v| v.value.as_slice())
    }

    /// A committed private value.
    pub fn get_private(&self, collection: &str, key: &str) -> Option<&[u8]> {
        self.private
            .get(collection)
            .and_then(|c| c.get(key))
            .map(|v| v.value.as_slice())
    }
}

/// One transaction being simulated on a [`MemLedger`] snapshot.
#[derive(Debug)]
pub struct MemStub {
    snapshot: MemLedger,
    pub tx_id: String,
    pub channel_id: String,
    pub timestamp: TxTimestamp,
    pub creator: Creator,
    pub transient: BTreeMap<String, Vec<u8>>,
    record: Mutex<TxRecord>,
}

impl MemStub {
    pub fn with_tx_id(mut self, tx_id: &str) -> Self {
        self.tx_id = tx_id.to_owned();
        self
    }

    pub fn with_timestamp(mut self, timestamp: TxTimestamp) -> Self {
        self.timestamp = timestamp;
        self
    }

    pub fn with_transient(mut self, key: &str, value: &[u8]) -> Self {
        self.transient.insert(key.to_owned(), value.to_vec());
        self
    }

    /// A copy of what the transaction did so far.
    pub fn record(&self) -> TxRecord {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, TxRecord> {
        // A panic while holding the lock leaves a consistent record: recover it.
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_write(&self, call: &'static str, key: &str) -> Result<(), StubError> {
        if key.is_empty() {
            return Err(StubError::Peer {
                call,
                message: "key must not be an empty string".into(),
            });
        }
        if self.lock().paginated {
            return Err(StubError::Peer {
                call,
                message: PAGINATED_WRITE_REFUSED.into(),
            });
        }
        Ok(())
    }

    fn check_collection(call: &'static str, collection: &str) -> Result<(), StubError> {
        if collection.is_empty() {
            return Err(StubError::Peer {
                call,
                message: "collection must not be an empty string".into(),
            });
        }
        Ok(())
    }

    fn range_query(
        &self,
        start: &str,
        end: &str,
        paginated: bool,
        page: Option<(i32, &str)>,
    ) -> Result<(Vec<KeyValue>, QueryMetadata), StubError> {
        let from = match page {
            Some((_, bookmark)) if !bookmark.is_empty() => bookmark,
            _ => start,
        };
        let limit = match page {
            Some((size, _)) if size <= 0 => {
                return Err(StubError::Peer {
                    call: "GetStateByRange",
                    message: format!("page size {size} must be positive"),
                });
            }
            Some((size, _)) => size as usize,
            None => usize::MAX,
        };
        let mut iter = self.snapshot.range(from, end);
        let mut results = Vec::new();
        let mut seen = Vec::new();
        for (key, value) in iter.by_ref().take(limit) {
            results.push(KeyValue {
                key: key.clone(),
                value: value.value.clone(),
            });
            seen.push((key.clone(), value.version));
        }
        let bookmark = match (page, iter.next()) {
            (Some(_), Some((next, _))) => next.clone(),
            _ => String::new(),
        };
        let mut record = self.lock();
        if paginated {
            record.paginated = true;
        }
        record.range_reads.push(RangeRead {
            start: from.to_owned(),
            end: end.to_owned(),
            paginated,
            results: seen,
        });
        let metadata = QueryMetadata {
            fetched_records_count: results.len() as i32,
            bookmark,
        };
        Ok((results, metadata))
    }
}

#[async_trait]
impl Stub for MemStub {
    fn tx_id(&self) -> &str {
        &self.tx_id
    }

    fn channel_id(&self) -> &str {
        &self.channel_id
    }

    fn tx_timestamp(&self) -> TxTimestamp {
        self.timestamp
    }

    fn creator(&self) -> &Creator {
        &self.creator
    }

    fn transient(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.transient
    }

    async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, StubError> {
        let found = self.snapshot.state.get(key);
        self.lock()
            .reads
            .insert(key.to_owned(), found.map(|v| v.version));
        Ok(found.map(|v| v.value.clone()))
    }

    async fn put_state(&self, key: &str, value: &[u8]) -> Result<(), StubError> {
        self.check_write("PutState", key)?;
        self.lock()
            .writes
            .insert(key.to_owned(), Some(value.to_vec()));
        Ok(())
    }

    async fn del_state(&self, key: &str) -> Result<(), StubError> {
        self.check_write("DelState", key)?;
        self.lock().writes.insert(key.to_owned(), None);
        Ok(())
    }

    async fn get_state_by_range(&self, start: &str, end: &str) -> Result<Vec<KeyValue>, StubError> {
        Ok(self.range_query(start, end, false, None)?.0)
    }

    async fn get_state_by_range_with_pagination(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(Vec<KeyValue>, QueryMetadata), StubError> {
        self.range_query(start, end, true, Some((page_size, bookmark)))
    }

    async fn get_history_for_key(&self, key: &str) -> Result<Vec<KeyModification>, StubError> {
        Ok(self.snapshot.history.get(key).cloned().unwrap_or_default())
    }

    async fn get_private_data(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        Self::check_collection("GetPrivateData", collection)?;
        let found = self
            .snapshot
            .private
            .get(collection)
            .and_then(|c| c.get(key));
        self.lock().private_reads.insert(
            (collection.to_owned(), key.to_owned()),
            found.map(|v| v.version),
        );
        Ok(found.map(|v| v.value.clone()))
    }

    async fn get_private_data_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        Self::check_collection("GetPrivateDataHash", collection)?;
        Ok(self
            .snapshot
            .get_private(collection, key)
            .map(|v| Sha256::digest(v).to_vec()))
    }

    async fn put_private_data(
        &self,
        collection: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), StubError> {
        Self::check_collection("PutPrivateData", collection)?;
        self.check_write("PutPrivateData", key)?;
        self.lock().private_writes.insert(
            (collection.to_owned(), key.to_owned()),
            Some(value.to_vec()),
        );
        Ok(())
    }

    async fn del_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        Self::check_collection("DelPrivateData", collection)?;
        self.check_write("DelPrivateData", key)?;
        self.lock()
            .private_writes
            .insert((collection.to_owned(), key.to_owned()), None);
        Ok(())
    }

    async fn purge_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        Self::check_collection("PurgePrivateData", collection)?;
        self.check_write("PurgePrivateData", key)?;
        self.lock()
            .private_writes
            .insert((collection.to_owned(), key.to_owned()), None);
        Ok(())
    }

    fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), StubError> {
        if name.is_empty() {
            return Err(StubError::Peer {
                call: "SetEvent",
                message: "event name can not be empty string".into(),
            });
        }
        self.lock().event = Some(ChaincodeEvent {
            name: name.to_owned(),
            payload,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn creator() -> Creator {
        Creator {
            msp_id: "Org1MSP".into(),
            id_bytes: vec![],
        }
    }

    #[test]
    fn no_read_your_writes_and_mvcc() {
        let mut ledger = MemLedger::new("ch");
        let tx = ledger.tx(creator());
        block_on(tx.put_state("k", b"v")).unwrap();
        assert_eq!(block_on(tx.get_state("k")).unwrap(), None);
        ledger.commit(&tx).unwrap();

        let a = ledger.tx(creator());
        let b = ledger.tx(creator());
        block_on(a.get_state("k")).unwrap();
        block_on(a.put_state("k", b"a")).unwrap();
        block_on(b.get_state("k")).unwrap();
        block_on(b.put_state("k", b"b")).unwrap();
        ledger.commit(&a).unwrap();
        assert_eq!(
            ledger.commit(&b),
            Err(CommitError::MvccReadConflict("k".into()))
        );
        assert_eq!(ledger.get("k"), Some(&b"a"[..]));
        assert_eq!(
            block_on(ledger.tx(creator()).get_history_for_key("k"))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn paginated_query_forbids_writes() {
        let mut ledger = MemLedger::new("ch");
        let tx = ledger.tx(creator());
        for k in ["a", "b", "c"] {
            block_on(tx.put_state(k, b"1")).unwrap();
        }
        ledger.commit(&tx).unwrap();
        let tx = ledger.tx(creator());
        let (page, meta) =
            block_on(tx.get_state_by_range_with_pagination("a", "z", 2, "")).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(meta.bookmark, "c");
        let (page, meta) =
            block_on(tx.get_state_by_range_with_pagination("a", "z", 2, "c")).unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(meta.bookmark, "");
        let err = block_on(tx.put_state("d", b"1")).unwrap_err();
        assert!(err.to_string().contains(PAGINATED_WRITE_REFUSED));
        assert!(block_on(tx.put_private_data("c", "d", b"1")).is_err());
    }

    #[test]
    fn phantom_reads_and_private_hashes() {
        let mut ledger = MemLedger::new("ch");
        let a = ledger.tx(creator());
        block_on(a.get_state_by_range("a", "z")).unwrap();
        let b = ledger.tx(creator());
        block_on(b.put_state("m", b"1")).unwrap();
        block_on(b.put_private_data("col", "secret", b"v")).unwrap();
        ledger.commit(&b).unwrap();
        assert!(matches!(
            ledger.commit(&a),
            Err(CommitError::PhantomReadConflict(..))
        ));
        let hashes = b.record().private_write_hashes();
        let ((c, kh), vh) = hashes.into_iter().next().unwrap();
        assert_eq!(c, "col");
        assert_eq!(kh, sha256_hex(b"secret"));
        assert_eq!(vh, Some(sha256_hex(b"v")));
        assert_eq!(ledger.get_private("col", "secret"), Some(&b"v"[..]));
    }

    #[test]
    fn provided_range_methods_validate_like_the_go_shim() {
        let mut ledger = MemLedger::new("ch");
        let tx = ledger.tx(creator());
        let composite = crate::keys::create_composite_key("t", &["a", "b"]).unwrap();
        block_on(tx.put_state(&composite, b"c")).unwrap();
        block_on(tx.put_state("\u{1}first", b"s")).unwrap();
        block_on(tx.put_state("plain", b"s")).unwrap();
        ledger.commit(&tx).unwrap();
        let tx = ledger.tx(creator());
        // An empty start becomes \x01: composite keys stay out of simple ranges.
        let simple = block_on(tx.get_state_by_simple_range("", "")).unwrap();
        assert_eq!(
            simple.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(),
            vec!["\u{1}first", "plain"]
        );
        assert!(block_on(tx.get_state_by_simple_range("\u{0}t", "")).is_err());
        assert!(block_on(tx.get_state_by_simple_range("a", "\u{0}")).is_err());
        let found = block_on(tx.get_state_by_partial_composite_key("t", &["a"])).unwrap();
        assert_eq!(found.len(), 1);
        assert!(block_on(tx.get_state_by_partial_composite_key("t", &["a\u{0}"])).is_err());
        let (page, meta) =
            block_on(tx.get_state_by_partial_composite_key_with_pagination("t", &[], 1, ""))
                .unwrap();
        assert_eq!((page.len(), meta.bookmark.as_str()), (1, ""));
        assert!(tx.record().paginated);
        assert!(
            block_on(tx.get_state_by_simple_range_with_pagination("\u{0}", "", 1, "")).is_err()
        );
    }
}
