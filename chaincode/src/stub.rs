//! The chaincode's only window on the world: a `Stub` modelled on Fabric's
//! `ChaincodeStubInterface` (fabric-chaincode-go `shim`).
//!
//! The contract is pure logic over this trait. The CCaaS server (`sfcbc-ccaas`) implements it
//! by turning each call into a shim message to the peer; the in-memory stub used by the tests
//! implements it over B-trees and records what a peer would commit. Nothing here needs tokio:
//! the trait is `async` through `async-trait` so either runtime can drive it.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::keys;

/// A failure of the stub itself (the peer refused a shim call, the stream broke), as opposed
/// to a business error of the contract. The peer's message is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StubError {
    /// The peer answered a shim request with `ERROR`; the text is the peer's.
    #[error("peer refused {call}: {message}")]
    Peer { call: &'static str, message: String },
    /// A key or composite-key part that Fabric itself would reject.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Transport or protocol failure between chaincode and peer.
    #[error("shim failure: {0}")]
    Shim(String),
}

/// The transaction timestamp as the client put it in the proposal's `ChannelHeader`
/// (`google.protobuf.Timestamp`). The only clock the contract may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct TxTimestamp {
    pub seconds: i64,
    pub nanos: i32,
}

/// Who signed the proposal: the `SerializedIdentity` of the creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creator {
    /// The MSP ID the identity claims and the peer has verified (e.g. `Org1MSP`).
    pub msp_id: String,
    /// The identity bytes: for X.509 identities, the PEM certificate.
    pub id_bytes: Vec<u8>,
}

/// One entry of a range or composite-key query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
}

/// Pagination metadata returned with a page of results (Fabric's `QueryResponseMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryMetadata {
    /// How many records this page holds.
    pub fetched_records_count: i32,
    /// Where the next page starts; empty when there is none.
    pub bookmark: String,
}

/// One entry of a key's history (Fabric's `queryresult.KeyModification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyModification {
    pub tx_id: String,
    pub value: Vec<u8>,
    pub timestamp: TxTimestamp,
    pub is_delete: bool,
}

/// A chaincode event: Fabric keeps one per transaction, the last `set_event` wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeEvent {
    pub name: String,
    pub payload: Vec<u8>,
}

/// The chaincode's view of one transaction's context on a peer.
///
/// Method names follow `ChaincodeStubInterface` (snake_case). Writes are buffered in the
/// transaction's write set by the peer; reads see committed state only (Fabric gives no
/// read-your-writes), and a write after a paginated query is refused by the peer.
#[async_trait]
pub trait Stub: Send + Sync {
    /// `GetTxID`: the proposal's transaction id.
    fn tx_id(&self) -> &str;
    /// `GetChannelID`.
    fn channel_id(&self) -> &str;
    /// `GetTxTimestamp`.
    fn tx_timestamp(&self) -> TxTimestamp;
    /// `GetCreator`, already split into MSP ID and identity bytes.
    fn creator(&self) -> &Creator;
    /// `GetTransient`: the transient map, never part of the transaction.
    fn transient(&self) -> &BTreeMap<String, Vec<u8>>;

    /// `GetState`: `None` when the key does not exist.
    async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, StubError>;
    /// `PutState`.
    async fn put_state(&self, key: &str, value: &[u8]) -> Result<(), StubError>;
    /// `DelState`.
    async fn del_state(&self, key: &str) -> Result<(), StubError>;
    /// `GetStateByRange` (all results; `end` exclusive, empty `end` means no bound).
    ///
    /// This is the raw shim call the peer answers (Go's `handleGetStateByRange`): it checks no
    /// keys, because the partial-composite-key queries below go through it with keys that
    /// start with `\x00`. Contract code calls [`Stub::get_state_by_simple_range`], which
    /// validates like Go's `GetStateByRange`.
    async fn get_state_by_range(&self, start: &str, end: &str) -> Result<Vec<KeyValue>, StubError>;
    /// `GetStateByRangeWithPagination`: at most `page_size` results from `bookmark` on
    /// (an empty bookmark starts at `start`). Only for read-only transactions: the peer
    /// refuses every write after it. Raw shim call, like [`Stub::get_state_by_range`].
    async fn get_state_by_range_with_pagination(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(Vec<KeyValue>, QueryMetadata), StubError>;
    /// `GetHistoryForKey`.
    async fn get_history_for_key(&self, key: &str) -> Result<Vec<KeyModification>, StubError>;

    /// `GetPrivateData`.
    async fn get_private_data(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError>;
    /// `GetPrivateDataHash`: SHA-256 of the value as every member's public ledger holds it.
    async fn get_private_data_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError>;
    /// `PutPrivateData`.
    async fn put_private_data(
        &self,
        collection: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), StubError>;
    /// `DelPrivateData`.
    async fn del_private_data(&self, collection: &str, key: &str) -> Result<(), StubError>;
    /// `PurgePrivateData`: delete and purge history of the private value.
    async fn purge_private_data(&self, collection: &str, key: &str) -> Result<(), StubError>;

    /// `SetEvent`: Fabric keeps one event per transaction; a later call replaces the earlier.
    fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), StubError>;

    // ---- provided methods: what the Go shim does on the chaincode side of the wire ----

    /// Go's `GetStateByRange`: an empty `start` becomes `\x01`, and neither key may start
    /// with `\x00` (the composite-key namespace).
    async fn get_state_by_simple_range(
        &self,
        start: &str,
        end: &str,
    ) -> Result<Vec<KeyValue>, StubError> {
        let start = if start.is_empty() {
            keys::EMPTY_KEY_SUBSTITUTE
        } else {
            start
        };
        keys::validate_simple_keys(&[start, end])?;
        self.get_state_by_range(start, end).await
    }

    /// Go's `GetStateByRangeWithPagination`, with the same key checks as
    /// [`Stub::get_state_by_simple_range`].
    async fn get_state_by_simple_range_with_pagination(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(Vec<KeyValue>, QueryMetadata), StubError> {
        let start = if start.is_empty() {
            keys::EMPTY_KEY_SUBSTITUTE
        } else {
            start
        };
        keys::validate_simple_keys(&[start, end])?;
        self.get_state_by_range_with_pagination(start, end, page_size, bookmark)
            .await
    }

    /// Go's `GetStateByPartialCompositeKey`: every key `CreateCompositeKey(object_type,
    /// attributes)` is a prefix of, in key order.
    async fn get_state_by_partial_composite_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<KeyValue>, StubError> {
        let (start, end) = keys::partial_composite_key_range(object_type, attributes)?;
        self.get_state_by_range(&start, &end).await
    }

    /// Go's `GetStateByPartialCompositeKeyWithPagination`. Read-only transactions only.
    async fn get_state_by_partial_composite_key_with_pagination(
        &self,
        object_type: &str,
        attributes: &[&str],
        page_size: i32,
        bookmark: &str,
    ) -> Result<(Vec<KeyValue>, QueryMetadata), StubError> {
        let (start, end) = keys::partial_composite_key_range(object_type, attributes)?;
        self.get_state_by_range_with_pagination(&start, &end, page_size, bookmark)
            .await
    }
}
