//! An embedded ledger: the real SFC contract (`sfcbc_chaincode::dispatch`) over
//! `memstub::MemLedger`, in-process, with Fabric's commit semantics.
//!
//! A submit is simulated on a snapshot of committed state (the endorsement), then — after an
//! optional block interval, during which other transactions may commit — validated by
//! `MemLedger::commit`'s MVCC check and applied; the chaincode event of a valid transaction
//! goes to every event stream. Evaluates run on the committed state and commit nothing.
//! It serves the data plane's tests and single-process demos; it is the contract, not a mock
//! of it. [`LocalLedger::set_available`] makes it refuse calls, as a peer that is down.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use sfcbc_chaincode::memstub::{MemLedger, MemStub};
use sfcbc_chaincode::types::{
    Chain, HopError, HopErrorInput, HopRecordInput, HopRecordedEvent, Verdict,
};
use sfcbc_chaincode::{Config, Creator, TxTimestamp, dispatch_with};
use tokio::sync::broadcast;

use crate::events::ChaincodeEvent;
use crate::sf::ledger::{EventStream, LedgerError, SfLedger};
use crate::sfc::SfcEvent;

/// Events buffered for slow stream readers before they see [`LedgerError::Lagged`].
const EVENT_BUFFER: usize = 4096;

/// The shared embedded ledger of one channel. Cheap to clone.
#[derive(Clone)]
pub struct LocalLedger {
    inner: Arc<Inner>,
}

struct Inner {
    /// Committed state; the lock is held only to snapshot or to commit.
    ledger: Mutex<MemLedger>,
    /// The contract's deployment settings (manager MSP).
    config: Config,
    /// Valid transactions' events, to every stream.
    events: broadcast::Sender<ChaincodeEvent>,
    /// Unique tx ids: simulations of one height must not share one.
    next_tx: AtomicU64,
    /// Time between endorsement and commit, as a block interval.
    block_interval: Mutex<Duration>,
    /// False: every call fails as `Unavailable`, as a peer that is down.
    available: AtomicBool,
    /// Blocks (= commits) so far, for `ChaincodeEvent::block_number`.
    blocks: AtomicU64,
    /// Submits whose commit succeeds but whose answer is "lost" (returned as unavailable
    /// with the tx id), as when a peer dies between commit and reply.
    lose_answers: AtomicU64,
}

impl std::fmt::Debug for LocalLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLedger")
            .field("height", &self.lock().height)
            .finish()
    }
}

/// A submit's outcome.
#[derive(Debug, Clone)]
pub struct LocalCommit {
    pub tx_id: String,
    pub payload: Vec<u8>,
}

impl LocalLedger {
    /// An empty ledger of `channel`, default contract settings, commits without delay.
    pub fn new(channel: &str) -> Self {
        Self::with_config(channel, Config::default())
    }

    /// With the contract's deployment settings.
    pub fn with_config(channel: &str, config: Config) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            inner: Arc::new(Inner {
                ledger: Mutex::new(MemLedger::new(channel)),
                config,
                events,
                next_tx: AtomicU64::new(1),
                block_interval: Mutex::new(Duration::ZERO),
                available: AtomicBool::new(true),
                blocks: AtomicU64::new(0),
                lose_answers: AtomicU64::new(0),
            }),
        }
    }

    /// Time between a submit's endorsement and its commit (other commits may happen in
    /// between, which is what makes MVCC conflicts possible).
    pub fn set_block_interval(&self, interval: Duration) {
        *self
            .inner
            .block_interval
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = interval;
    }

    /// Takes the "peer" down (every call fails as unavailable) or brings it back.
    pub fn set_available(&self, up: bool) {
        self.inner.available.store(up, Ordering::SeqCst);
    }

    /// The next `n` submits commit but answer as if the peer went away (ambiguous commits).
    pub fn lose_next_answers(&self, n: u64) {
        self.inner.lose_answers.store(n, Ordering::SeqCst);
    }

    /// A client of this ledger signing as `creator` (MSP ID + PEM certificate).
    pub fn client(&self, creator: Creator) -> LocalClient {
        LocalClient {
            ledger: self.clone(),
            creator,
        }
    }

    /// A copy of the committed state (for assertions).
    pub fn snapshot(&self) -> MemLedger {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, MemLedger> {
        // The ledger is consistent between statements: recover from a poisoned lock.
        self.inner.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_up(&self) -> Result<(), LedgerError> {
        if self.inner.available.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(LedgerError::Unavailable {
                message: "local ledger is down (set_available(false))".into(),
                tx_id: None,
            })
        }
    }

    fn stub(&self, creator: &Creator, transient: &[(&str, &[u8])]) -> MemStub {
        let n = self.inner.next_tx.fetch_add(1, Ordering::SeqCst);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut stub = self
            .lock()
            .tx(creator.clone())
            .with_tx_id(&format!("ltx{n:08}"))
            .with_timestamp(TxTimestamp {
                seconds: now.as_secs() as i64,
                nanos: now.subsec_nanos() as i32,
            });
        for (k, v) in transient {
            stub = stub.with_transient(k, v);
        }
        stub
    }

    async fn simulate(
        &self,
        creator: &Creator,
        args: &[&[u8]],
        transient: &[(&str, &[u8])],
    ) -> Result<(MemStub, Vec<u8>), LedgerError> {
        self.check_up()?;
        let stub = self.stub(creator, transient);
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        let response = dispatch_with(&self.inner.config, &stub, &args).await;
        if response.status != 200 {
            return Err(LedgerError::Rejected {
                status: response.status,
                message: response.message,
            });
        }
        Ok((stub, response.payload))
    }

    /// Evaluates a transaction as `creator` on the committed state.
    pub async fn evaluate(
        &self,
        creator: &Creator,
        args: &[&[u8]],
        transient: &[(&str, &[u8])],
    ) -> Result<Vec<u8>, LedgerError> {
        Ok(self.simulate(creator, args, transient).await?.1)
    }

    /// Submits a transaction as `creator`: endorse, wait a block interval, validate and
    /// commit; emits its event when valid.
    pub async fn submit(
        &self,
        creator: &Creator,
        args: &[&[u8]],
        transient: &[(&str, &[u8])],
    ) -> Result<LocalCommit, LedgerError> {
        let (stub, payload) = self.simulate(creator, args, transient).await?;
        let interval = *self
            .inner
            .block_interval
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        self.check_up()?;
        let block = {
            let mut ledger = self.lock();
            ledger.commit(&stub).map_err(|e| LedgerError::Invalid {
                tx_id: stub.tx_id.clone(),
                code: match e {
                    sfcbc_chaincode::memstub::CommitError::MvccReadConflict(_) => {
                        "MVCC_READ_CONFLICT".into()
                    }
                    sfcbc_chaincode::memstub::CommitError::PhantomReadConflict(..) => {
                        "PHANTOM_READ_CONFLICT".into()
                    }
                },
            })?;
            // Numbered under the ledger lock, so events leave in commit order.
            let block = self.inner.blocks.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(event) = stub.record().event {
                // No receiver is fine: nobody listens yet.
                let _ = self.inner.events.send(ChaincodeEvent {
                    block_number: block,
                    tx_id: stub.tx_id.clone(),
                    chaincode_name: "sfc".into(),
                    event_name: event.name,
                    payload: event.payload,
                });
            }
            block
        };
        let _ = block;
        if self
            .inner
            .lose_answers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(LedgerError::Unavailable {
                message: format!("answer for committed tx {} lost (test)", stub.tx_id),
                tx_id: Some(stub.tx_id.clone()),
            });
        }
        Ok(LocalCommit {
            tx_id: stub.tx_id.clone(),
            payload,
        })
    }

    /// The decoded event stream from now on.
    pub fn events(&self) -> EventStream {
        let rx = self.inner.events.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            let item = match rx.recv().await {
                Ok(ev) => SfcEvent::parse(&ev).map_err(LedgerError::from),
                Err(broadcast::error::RecvError::Lagged(n)) => Err(LedgerError::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            Some((item, rx))
        })
        .boxed()
    }
}

fn json<T: DeserializeOwned>(function: &str, bytes: &[u8]) -> Result<T, LedgerError> {
    serde_json::from_slice(bytes)
        .map_err(|e| LedgerError::Other(format!("{function} returned unexpected JSON: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, LedgerError> {
    serde_json::to_string(v).map_err(|e| LedgerError::Other(e.to_string()))
}

/// One identity's connection to a [`LocalLedger`]; implements [`SfLedger`].
#[derive(Clone, Debug)]
pub struct LocalClient {
    ledger: LocalLedger,
    creator: Creator,
}

impl LocalClient {
    /// The ledger.
    pub fn ledger(&self) -> &LocalLedger {
        &self.ledger
    }

    /// The identity this client signs as.
    pub fn creator(&self) -> &Creator {
        &self.creator
    }

    /// Submits `function(args)` with transient data; returns the payload.
    pub async fn submit(
        &self,
        function: &str,
        args: &[&str],
        transient: &[(&str, &[u8])],
    ) -> Result<Vec<u8>, LedgerError> {
        let mut all: Vec<&[u8]> = vec![function.as_bytes()];
        all.extend(args.iter().map(|a| a.as_bytes()));
        Ok(self
            .ledger
            .submit(&self.creator, &all, transient)
            .await?
            .payload)
    }

    /// Evaluates `function(args)`; returns the payload.
    pub async fn evaluate(&self, function: &str, args: &[&str]) -> Result<Vec<u8>, LedgerError> {
        let mut all: Vec<&[u8]> = vec![function.as_bytes()];
        all.extend(args.iter().map(|a| a.as_bytes()));
        self.ledger.evaluate(&self.creator, &all, &[]).await
    }

    /// Evaluates and parses JSON.
    pub async fn evaluate_json<T: DeserializeOwned>(
        &self,
        function: &str,
        args: &[&str],
    ) -> Result<T, LedgerError> {
        json(function, &self.evaluate(function, args).await?)
    }
}

#[async_trait]
impl SfLedger for LocalClient {
    async fn get_chain(&self, chain: &str) -> Result<Chain, LedgerError> {
        self.evaluate_json("GetChain", &[chain]).await
    }

    async fn check_in(
        &self,
        chain: &str,
        psiid: &str,
        input_hash: &str,
        src: &str,
    ) -> Result<Verdict, LedgerError> {
        self.evaluate_json("CheckIn", &[chain, psiid, input_hash, src])
            .await
    }

    async fn record_hops(
        &self,
        chain: &str,
        psiid: &str,
        records: &[HopRecordInput],
    ) -> Result<HopRecordedEvent, LedgerError> {
        let out = self
            .submit(
                "RecordHops",
                &[
                    chain,
                    psiid,
                    &sfcbc_chaincode::packed::records_json(records)
                        .map_err(|e| LedgerError::Other(e.to_string()))?,
                ],
                &[],
            )
            .await?;
        json("RecordHops", &out)
    }

    async fn record_error(
        &self,
        chain: &str,
        psiid: &str,
        error: &HopErrorInput,
    ) -> Result<HopError, LedgerError> {
        let out = self
            .submit("RecordError", &[chain, psiid, &to_json(error)?], &[])
            .await?;
        json("RecordError", &out)
    }

    async fn events(&self, _chains: &[String]) -> Result<EventStream, LedgerError> {
        self.ledger.check_up()?;
        Ok(self.ledger.events())
    }
}

/// Records and errors on the ledger, for test assertions: (chain, psiid) → values.
pub fn committed<T: DeserializeOwned>(ledger: &MemLedger, key_type: &str) -> BTreeMap<String, T> {
    let prefix = format!("\u{0}{key_type}\u{0}");
    ledger
        .state
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, v)| Some((k.clone(), serde_json::from_slice(&v.value).ok()?)))
        .collect()
}
