//! Executing one transaction on a stream: send TRANSACTION, serve the chaincode's requests
//! against the simulator (Fabric's `Handle*` functions and `QueryResponseGenerator`), and
//! turn COMPLETED/ERROR into the outcome (`processChaincodeExecutionResult`).

use std::collections::{BTreeMap, HashMap};

use prost::Message;
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_message::Type as T;
use sfcbc_fabric::protos::protos::write_record::Type as W;

use super::conn::{Conn, ty, type_name};
use super::{ChaincodeError, ChaincodeOutcome, Invocation};
use crate::simulator::{QueryIter, SimError, TxSimulator};

/// Removes the transaction from the stream's routing table however execution ends.
struct Registration<'a> {
    conn: &'a Conn,
    key: (String, String),
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.conn.shared.deregister(&self.key);
    }
}

pub(super) async fn execute(
    conn: &Conn,
    inv: &Invocation,
    sim: &mut TxSimulator,
) -> Result<ChaincodeOutcome, ChaincodeError> {
    let txid = inv.tx_id.clone();
    let terminated = |reason: String| ChaincodeError::StreamTerminated {
        txid: txid.clone(),
        reason,
    };
    let key = (inv.channel_id.clone(), inv.tx_id.clone());
    let Some(mut inbox) = conn.shared.register(key.clone()) else {
        return Err(ChaincodeError::DuplicateTx {
            txid: inv.tx_id.clone(),
            channel: inv.channel_id.clone(),
        });
    };
    let _registration = Registration { conn, key };
    // The input goes as the proposal carried it (Fabric only adds the decorations, which
    // the endorser puts in `input`).
    let input = &inv.input;
    let msg = pb::ChaincodeMessage {
        r#type: if inv.init { T::Init } else { T::Transaction } as i32,
        payload: input.encode_to_vec(),
        txid: inv.tx_id.clone(),
        channel_id: inv.channel_id.clone(),
        proposal: inv.signed_proposal.clone(),
        ..Default::default()
    };
    let reason = || conn.closed.borrow().clone().unwrap_or_default();
    let mut closed = conn.closed.clone();
    let already_closed = closed.borrow().is_some();
    if already_closed || conn.shared.send(msg).await.is_err() {
        return Err(terminated(reason()));
    }
    let deadline = tokio::time::Instant::now() + conn.config.execute_timeout;
    let mut ctx = TxContext {
        inv,
        queries: HashMap::new(),
        max_result_limit: conn.config.max_result_limit.max(1),
        total_query_limit: conn.config.total_query_limit,
    };
    let done = loop {
        tokio::select! {
            // An answer already routed wins over a stream that closed after it.
            biased;
            m = inbox.recv() => match m {
                None => return Err(terminated(reason())),
                Some(m) if matches!(ty(&m), Some(T::Completed | T::Error)) => break m,
                Some(m) => {
                    let reply = ctx.handle(&m, sim);
                    if conn.shared.send(reply).await.is_err() {
                        return Err(terminated(reason()));
                    }
                }
            },
            () = tokio::time::sleep_until(deadline) => {
                return Err(ChaincodeError::Timeout { txid });
            }
            reason = async {
                closed
                    .wait_for(Option::is_some)
                    .await
                    .map(|r| r.clone().unwrap_or_default())
                    .unwrap_or_default()
            } => {
                return Err(terminated(reason));
            }
        }
    };
    outcome(inv, done)
}

/// Fabric's `processChaincodeExecutionResult`.
fn outcome(inv: &Invocation, m: pb::ChaincodeMessage) -> Result<ChaincodeOutcome, ChaincodeError> {
    let kind = ty(&m);
    let event = m.chaincode_event.map(|mut e| {
        e.chaincode_id = inv.chaincode_name.clone();
        e.tx_id = inv.tx_id.clone();
        e
    });
    if kind == Some(T::Error) {
        return Err(ChaincodeError::Failed {
            txid: inv.tx_id.clone(),
            message: String::from_utf8_lossy(&m.payload).into_owned(),
        });
    }
    let response =
        pb::Response::decode(m.payload.as_slice()).map_err(|e| ChaincodeError::BadResponse {
            txid: inv.tx_id.clone(),
            message: e.to_string(),
        })?;
    Ok(ChaincodeOutcome { response, event })
}

/// An open iterator with its pending batch, as Fabric's `TransactionContext` keeps them.
struct QueryCtx {
    iter: QueryIter,
    pending: Vec<pb::QueryResultBytes>,
    total: i32,
}

struct TxContext<'a> {
    inv: &'a Invocation,
    queries: HashMap<String, QueryCtx>,
    max_result_limit: usize,
    total_query_limit: i32,
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, SimError> {
    M::decode(payload).map_err(|e| SimError(format!("unmarshal failed: {e}")))
}

/// A random RFC 4122 version-4 id, as Fabric's `util.GenerateUUID` gives iterators.
fn uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn pagination(metadata: &[u8]) -> Result<Option<pb::QueryMetadata>, SimError> {
    if metadata.is_empty() {
        return Ok(None);
    }
    let m: pb::QueryMetadata = decode(metadata)?;
    // Fabric's isMetadataSetForPagination.
    Ok((m.page_size != 0 || !m.bookmark.is_empty()).then_some(m))
}

impl TxContext<'_> {
    /// Answers one request: RESPONSE, or ERROR with Fabric's
    /// `"<TYPE> failed: transaction ID: <txid>: <reason>"`.
    fn handle(&mut self, m: &pb::ChaincodeMessage, sim: &mut TxSimulator) -> pb::ChaincodeMessage {
        let (r#type, payload) = match self.serve(m, sim) {
            Ok(p) => (T::Response, p),
            Err(e) => (
                T::Error,
                format!(
                    "{} failed: transaction ID: {}: {}",
                    type_name(m.r#type),
                    m.txid,
                    e.0
                )
                .into_bytes(),
            ),
        };
        pb::ChaincodeMessage {
            r#type: r#type as i32,
            payload,
            txid: m.txid.clone(),
            channel_id: m.channel_id.clone(),
            ..Default::default()
        }
    }

    fn ns(&self) -> &str {
        &self.inv.chaincode_name
    }

    fn no_private_in_init(&self) -> Result<(), SimError> {
        if self.inv.init {
            return Err(SimError(
                "private data APIs are not allowed in chaincode Init()".into(),
            ));
        }
        Ok(())
    }

    fn serve(
        &mut self,
        m: &pb::ChaincodeMessage,
        sim: &mut TxSimulator,
    ) -> Result<Vec<u8>, SimError> {
        let ns = self.ns().to_owned();
        let p = m.payload.as_slice();
        match ty(m) {
            Some(T::GetState) => {
                let g: pb::GetState = decode(p)?;
                let v = if g.collection.is_empty() {
                    sim.get_state(&ns, &g.key)?
                } else {
                    self.no_private_in_init()?;
                    sim.check_read_permission(&ns, &g.collection)?;
                    sim.get_private_data(&ns, &g.collection, &g.key)?
                };
                Ok(v.unwrap_or_default())
            }
            Some(T::GetStateMultiple) => {
                let g: pb::GetStateMultiple = decode(p)?;
                let vs = if g.collection.is_empty() {
                    sim.get_state_multiple(&ns, &g.keys)?
                } else {
                    self.no_private_in_init()?;
                    sim.check_read_permission(&ns, &g.collection)?;
                    sim.get_private_data_multiple(&ns, &g.collection, &g.keys)?
                };
                Ok(pb::GetStateMultipleResult {
                    values: vs.into_iter().map(Option::unwrap_or_default).collect(),
                }
                .encode_to_vec())
            }
            Some(T::GetPrivateDataHash) => {
                let g: pb::GetState = decode(p)?;
                self.no_private_in_init()?;
                Ok(sim
                    .get_private_data_hash(&ns, &g.collection, &g.key)?
                    .unwrap_or_default())
            }
            Some(T::PutState) => {
                let w: pb::PutState = decode(p)?;
                self.put(sim, &w.collection, &w.key, &w.value)?;
                Ok(Vec::new())
            }
            Some(T::DelState) => {
                let d: pb::DelState = decode(p)?;
                self.put(sim, &d.collection, &d.key, &[])?;
                Ok(Vec::new())
            }
            Some(T::PurgePrivateData) => {
                // Fabric unmarshals PURGE_PRIVATE_DATA as a DelState.
                let d: pb::DelState = decode(p)?;
                self.purge(sim, &d.collection, &d.key)?;
                Ok(Vec::new())
            }
            Some(T::PutStateMetadata) => {
                let w: pb::PutStateMetadata = decode(p)?;
                self.put_metadata(sim, &w.collection, &w.key, w.metadata)?;
                Ok(Vec::new())
            }
            Some(T::WriteBatchState) => {
                let b: pb::WriteBatchState = decode(p)?;
                for r in b.rec {
                    match W::try_from(r.r#type) {
                        Ok(W::PutState) => self.put(sim, &r.collection, &r.key, &r.value)?,
                        Ok(W::DelState) => self.put(sim, &r.collection, &r.key, &[])?,
                        Ok(W::PurgePrivateData) => self.purge(sim, &r.collection, &r.key)?,
                        Ok(W::PutStateMetadata) => {
                            self.put_metadata(sim, &r.collection, &r.key, r.metadata)?;
                        }
                        _ => return Err(SimError("unknown operation type".into())),
                    }
                }
                Ok(Vec::new())
            }
            Some(T::GetStateMetadata) => {
                let g: pb::GetStateMetadata = decode(p)?;
                let md = if g.collection.is_empty() {
                    sim.get_state_metadata(&ns, &g.key)?
                } else {
                    self.no_private_in_init()?;
                    sim.check_read_permission(&ns, &g.collection)?;
                    sim.get_private_data_metadata(&ns, &g.collection, &g.key)?
                };
                Ok(pb::StateMetadataResult {
                    entries: md
                        .into_iter()
                        .map(|(metakey, value)| pb::StateMetadata { metakey, value })
                        .collect(),
                }
                .encode_to_vec())
            }
            Some(T::GetStateByRange) => {
                let g: pb::GetStateByRange = decode(p)?;
                let metadata = pagination(&g.metadata)?;
                let limit = self.total_limit(metadata.as_ref());
                let (iter, paginated) = if !g.collection.is_empty() {
                    self.no_private_in_init()?;
                    sim.check_read_permission(&ns, &g.collection)?;
                    let it =
                        sim.private_data_range(&ns, &g.collection, &g.start_key, &g.end_key)?;
                    (it, false)
                } else if let Some(md) = &metadata {
                    let start = if md.bookmark.is_empty() {
                        &g.start_key
                    } else {
                        &md.bookmark
                    };
                    (
                        sim.state_range(&ns, start, &g.end_key, Some(md.page_size))?,
                        true,
                    )
                } else {
                    (sim.state_range(&ns, &g.start_key, &g.end_key, None)?, false)
                };
                self.start_query(sim, iter, paginated, limit)
            }
            Some(T::GetQueryResult) => {
                let g: pb::GetQueryResult = decode(p)?;
                let metadata = pagination(&g.metadata)?;
                if !g.collection.is_empty() {
                    self.no_private_in_init()?;
                    sim.check_read_permission(&ns, &g.collection)?;
                    sim.execute_query_on_private_data(&ns, &g.collection)?;
                    unreachable_query()
                } else {
                    sim.execute_query(metadata.is_some())?;
                    unreachable_query()
                }
            }
            Some(T::GetHistoryForKey) => {
                let g: pb::GetHistoryForKey = decode(p)?;
                let it = sim.history(&ns, &g.key)?;
                let limit = self.total_limit(None);
                self.start_query(sim, it, false, limit)
            }
            Some(T::QueryStateNext) => {
                let q: pb::QueryStateNext = decode(p)?;
                if !self.queries.contains_key(&q.id) {
                    return Err(SimError("query iterator not found".into()));
                }
                let limit = self.total_limit(None);
                Ok(self.build(sim, &q.id, false, limit)?.encode_to_vec())
            }
            Some(T::QueryStateClose) => {
                let q: pb::QueryStateClose = decode(p)?;
                self.queries.remove(&q.id);
                Ok(pb::QueryResponse {
                    has_more: false,
                    id: q.id,
                    ..Default::default()
                }
                .encode_to_vec())
            }
            Some(T::InvokeChaincode) => Err(SimError(
                "chaincode-to-chaincode invocation is not supported by devnet".into(),
            )),
            _ => Err(SimError(format!(
                "cannot handle message type {}",
                type_name(m.r#type)
            ))),
        }
    }

    /// Fabric's `calculateTotalReturnLimit`.
    fn total_limit(&self, md: Option<&pb::QueryMetadata>) -> i32 {
        match md {
            Some(m) if m.page_size > 0 && m.page_size < self.total_query_limit => m.page_size,
            _ => self.total_query_limit,
        }
    }

    fn put(
        &self,
        sim: &mut TxSimulator,
        coll: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), SimError> {
        let ns = self.ns();
        if coll.is_empty() {
            sim.set_state(ns, key, value)
        } else {
            self.no_private_in_init()?;
            sim.check_write_permission(ns, coll)?;
            sim.set_private_data(ns, coll, key, value)
        }
    }

    fn purge(&self, sim: &mut TxSimulator, coll: &str, key: &str) -> Result<(), SimError> {
        if coll.is_empty() {
            return Err(SimError("only applicable for private data".into()));
        }
        self.no_private_in_init()?;
        sim.check_write_permission(self.ns(), coll)?;
        sim.purge_private_data(self.ns(), coll, key)
    }

    fn put_metadata(
        &self,
        sim: &mut TxSimulator,
        coll: &str,
        key: &str,
        md: Option<pb::StateMetadata>,
    ) -> Result<(), SimError> {
        let md = md.ok_or_else(|| SimError("metadata is missing".into()))?;
        let map: BTreeMap<String, Vec<u8>> = [(md.metakey, md.value)].into();
        let ns = self.ns();
        if coll.is_empty() {
            sim.set_state_metadata(ns, key, &map)
        } else {
            self.no_private_in_init()?;
            sim.check_write_permission(ns, coll)?;
            sim.set_private_data_metadata(ns, coll, key, &map)
        }
    }

    fn start_query(
        &mut self,
        sim: &mut TxSimulator,
        iter: QueryIter,
        paginated: bool,
        limit: i32,
    ) -> Result<Vec<u8>, SimError> {
        let id = uuid();
        self.queries.insert(
            id.clone(),
            QueryCtx {
                iter,
                pending: Vec::new(),
                total: 0,
            },
        );
        Ok(self.build(sim, &id, paginated, limit)?.encode_to_vec())
    }

    /// Fabric's `QueryResponseGenerator.BuildQueryResponse`.
    fn build(
        &mut self,
        sim: &mut TxSimulator,
        id: &str,
        paginated: bool,
        limit: i32,
    ) -> Result<pb::QueryResponse, SimError> {
        let max = self.max_result_limit;
        let Some(q) = self.queries.get_mut(id) else {
            return Err(SimError("query iterator not found".into()));
        };
        loop {
            if q.total >= limit {
                break;
            }
            let next = match sim.next(&mut q.iter) {
                Ok(n) => n,
                Err(e) => {
                    self.queries.remove(id);
                    return Err(e);
                }
            };
            let Some(result_bytes) = next else {
                break;
            };
            let r = pb::QueryResultBytes { result_bytes };
            if !paginated && q.pending.len() == max {
                let batch = std::mem::replace(&mut q.pending, vec![r]);
                q.total += 1;
                return Ok(pb::QueryResponse {
                    results: batch,
                    has_more: true,
                    id: id.to_owned(),
                    metadata: Vec::new(),
                });
            }
            q.pending.push(r);
            q.total += 1;
        }
        // createQueryResponse: the last batch; the iterator is closed.
        let Some(mut q) = self.queries.remove(id) else {
            return Err(SimError("query iterator not found".into()));
        };
        let results = std::mem::take(&mut q.pending);
        let metadata = if paginated {
            let bookmark = sim.bookmark(&mut q.iter)?;
            pb::QueryResponseMetadata {
                fetched_records_count: q.total,
                bookmark,
            }
            .encode_to_vec()
        } else {
            Vec::new()
        };
        Ok(pb::QueryResponse {
            results,
            has_more: false,
            id: id.to_owned(),
            metadata,
        })
    }
}

/// The simulator refuses every rich query on LevelDB; this is never reached.
fn unreachable_query() -> Result<Vec<u8>, SimError> {
    Err(SimError("ExecuteQuery not supported for leveldb".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;
    use proptest::prelude::*;

    const REQUESTS: [T; 15] = [
        T::GetState,
        T::PutState,
        T::DelState,
        T::InvokeChaincode,
        T::GetStateByRange,
        T::GetQueryResult,
        T::QueryStateNext,
        T::QueryStateClose,
        T::GetHistoryForKey,
        T::GetStateMetadata,
        T::PutStateMetadata,
        T::GetPrivateDataHash,
        T::PurgePrivateData,
        T::WriteBatchState,
        T::GetStateMultiple,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever bytes a chaincode sends in any request, the peer answers RESPONSE or
        /// ERROR for the same tx, and never panics; the simulation still yields rwsets.
        #[test]
        fn any_request_payload_gets_an_answer(
            reqs in proptest::collection::vec(
                (0usize..REQUESTS.len(), proptest::collection::vec(any::<u8>(), 0..64)),
                1..24,
            ),
            init in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let ledger = Ledger::open(dir.path(), "ch").unwrap();
            let mut sim = TxSimulator::new("tx", ledger.snapshot().unwrap());
            let inv = Invocation {
                channel_id: "ch".into(),
                tx_id: "tx".into(),
                chaincode_name: "cc".into(),
                init,
                ..Default::default()
            };
            let mut ctx = TxContext {
                inv: &inv,
                queries: HashMap::new(),
                max_result_limit: 2,
                total_query_limit: 10,
            };
            for (t, payload) in reqs {
                let m = pb::ChaincodeMessage {
                    r#type: REQUESTS[t] as i32,
                    payload,
                    txid: "tx".into(),
                    channel_id: "ch".into(),
                    ..Default::default()
                };
                let reply = ctx.handle(&m, &mut sim);
                prop_assert!(matches!(ty(&reply), Some(T::Response | T::Error)));
                prop_assert_eq!(reply.txid.as_str(), "tx");
                prop_assert_eq!(reply.channel_id.as_str(), "ch");
            }
            prop_assert!(sim.results().is_ok());
        }

        /// Well-formed range queries with any bounds and pagination: batches never exceed
        /// the batch size, QUERY_STATE_NEXT walks to the end, and a paginated query returns
        /// at most its page with the next key as bookmark.
        #[test]
        fn ranges_batch_and_paginate(
            start in "[a-z]{0,2}",
            end in "[a-z]{0,2}",
            page in proptest::option::of(-2i32..8),
            bookmark in "[a-z]{0,2}",
        ) {
            let dir = tempfile::tempdir().unwrap();
            let ledger = Ledger::open(dir.path(), "ch").unwrap();
            crate::simulator::tests::commit(
                &ledger,
                vec![crate::ledger::TxCommit {
                    tx_id: "t".into(),
                    writes: (b'a'..=b'z')
                        .map(|c| crate::ledger::KvWrite::put("cc", &(c as char).to_string(), "v"))
                        .collect(),
                    ..Default::default()
                }],
            );
            let mut sim = TxSimulator::new("tx", ledger.snapshot().unwrap());
            let inv = Invocation {
                channel_id: "ch".into(),
                tx_id: "tx".into(),
                chaincode_name: "cc".into(),
                ..Default::default()
            };
            let mut ctx = TxContext {
                inv: &inv,
                queries: HashMap::new(),
                max_result_limit: 3,
                total_query_limit: 20,
            };
            let metadata = page
                .map(|p| pb::QueryMetadata { page_size: p, bookmark: bookmark.clone() }.encode_to_vec())
                .unwrap_or_default();
            let req = pb::GetStateByRange {
                start_key: start.clone(),
                end_key: end.clone(),
                collection: String::new(),
                metadata,
            };
            let mut m = pb::ChaincodeMessage {
                r#type: T::GetStateByRange as i32,
                payload: req.encode_to_vec(),
                txid: "tx".into(),
                channel_id: "ch".into(),
                ..Default::default()
            };
            let paginated = page.is_some_and(|p| p != 0 || !bookmark.is_empty());
            let mut keys = Vec::new();
            for _ in 0..50 {
                let reply = ctx.handle(&m, &mut sim);
                prop_assert_eq!(ty(&reply), Some(T::Response), "{}", String::from_utf8_lossy(&reply.payload));
                let r = pb::QueryResponse::decode(reply.payload.as_slice()).unwrap();
                for q in &r.results {
                    keys.push(sfcbc_fabric::protos::queryresult::Kv::decode(q.result_bytes.as_slice()).unwrap().key);
                }
                if paginated {
                    prop_assert!(!r.has_more);
                    let md = pb::QueryResponseMetadata::decode(r.metadata.as_slice()).unwrap();
                    prop_assert_eq!(md.fetched_records_count as usize, keys.len());
                    let from = if bookmark.is_empty() { &start } else { &bookmark };
                    let all: Vec<String> = (b'a'..=b'z')
                        .map(|c| (c as char).to_string())
                        .filter(|k| k >= from && (end.is_empty() || k < &end))
                        .collect();
                    let limit = match page { Some(p) if p > 0 => (p as usize).min(20), _ => 20 };
                    prop_assert_eq!(&keys[..], &all[..all.len().min(limit)]);
                    prop_assert_eq!(md.bookmark, all.get(limit).cloned().unwrap_or_default());
                    break;
                }
                prop_assert!(r.results.len() <= 3);
                if !r.has_more {
                    break;
                }
                m.r#type = T::QueryStateNext as i32;
                m.payload = pb::QueryStateNext { id: r.id }.encode_to_vec();
            }
            if !paginated {
                let all: Vec<String> = (b'a'..=b'z')
                    .map(|c| (c as char).to_string())
                    .filter(|k| k >= &start && (end.is_empty() || k < &end))
                    .collect();
                prop_assert_eq!(&keys[..], &all[..all.len().min(20)]);
            }
            prop_assert!(ctx.queries.is_empty(), "iterators closed at the end");
            prop_assert!(sim.results().is_ok());
        }
    }
}
