//! Records on the ledger, asynchronously (DESIGN §5 step 4): hop records are batched per
//! (chain, hop) into `RecordHops` transactions of up to `batch_size` records; every drop is
//! one `RecordError`.
//!
//! When a batch goes:
//! - full (`batch_size` records): at once, so that under load transactions carry many
//!   records and the ledger's per-transaction cost is shared;
//! - a record somebody waits for (commit-before-forward: the next hop validates by hash):
//!   at once when no transaction of this hop went in the last `batch_interval_ms`, else at
//!   the end of that interval (a leading-edge throttle). With the interval below the
//!   orderer's block timeout, the later records still join the block the first one opened,
//!   so waiting costs no latency, and a busy hop sends one transaction per interval instead
//!   of one per datagram;
//! - otherwise `batch_interval_ms` after its first record.
//!
//! At most `max_in_flight` transactions are in flight; batches keep growing meanwhile.
//!
//! Nothing is lost silently:
//! - the queue is bounded (`queue_capacity` records and errors not yet resolved, wherever
//!   they are: queued, batched or in flight); queuing returns at once while there is room,
//!   and waits when there is none (back-pressure up to the socket, counted in
//!   `sfcbc_sf_record_backpressure_total`);
//! - a peer that is down is retried with exponential back-off;
//! - a batch refused for a replay (`409 replay: recordsJSON[i]…`, or an MVCC conflict that
//!   re-endorses into one) is re-submitted without record `i`, which becomes a `replay`
//!   error; a batch refused otherwise is split until the refused record is alone;
//! - on shutdown the queue is drained for `drain_timeout_ms`; what is left is written to the
//!   spool file (re-submitted at the next start) or counted as `lost` and logged.
//!
//! A record can carry a completion: the SF forwards only after commit when the next hop
//! validates by hash (its `CheckIn` needs our `out` record).

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sfcbc_chaincode::types::{ErrorKind, HopErrorInput, HopRecordInput};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::config::{RecordsConfig, ms};
use super::ledger::{LedgerError, SfLedger};
use super::metrics::Metrics;

/// Characters of an error detail the chaincode accepts.
const MAX_DETAIL: usize = 1024;

/// Why a record did not commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordFailure {
    /// Its input hash was used before: recorded as a `replay` error instead.
    #[error("replay: {0}")]
    Replay(String),
    /// The chaincode refused it (disabled chain, bad record...).
    #[error("refused: {0}")]
    Refused(String),
    /// Shutdown came before it could be submitted (spooled or lost).
    #[error("not flushed before shutdown")]
    NotFlushed,
}

type Done = oneshot::Sender<Result<(), RecordFailure>>;

/// One queued ledger write.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Job {
    Hop {
        chain: String,
        psiid: String,
        record: HopRecordInput,
        #[serde(skip)]
        done: Option<Done>,
    },
    Error {
        chain: String,
        psiid: String,
        error: HopErrorInput,
    },
}

impl Job {
    fn not_flushed(self) -> Self {
        match self {
            Job::Hop {
                chain,
                psiid,
                record,
                done,
            } => {
                if let Some(d) = done {
                    let _ = d.send(Err(RecordFailure::NotFlushed));
                }
                Job::Hop {
                    chain,
                    psiid,
                    record,
                    done: None,
                }
            }
            e => e,
        }
    }
}

/// What the recorder did, at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordReport {
    /// Hop records committed.
    pub committed: u64,
    /// Hop records turned into `replay` errors.
    pub replayed: u64,
    /// Hop records the chaincode refused.
    pub refused: u64,
    /// Error records committed.
    pub errors: u64,
    /// Error records refused.
    pub errors_refused: u64,
    /// Left at shutdown, written to the spool.
    pub spooled: u64,
    /// Left at shutdown with no spool: lost, and logged.
    pub lost: u64,
}

/// The sending side; cheap to clone. The recorder finishes when every clone is dropped.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Job>,
    room: Arc<Room>,
    metrics: Arc<Metrics>,
}

/// The queue's bound: records and errors admitted and not yet resolved.
#[derive(Debug)]
struct Room {
    pending: AtomicI64,
    capacity: i64,
    /// Woken whenever pending records resolve.
    freed: Notify,
}

impl Room {
    /// Takes a place if there is one.
    fn try_take(&self) -> bool {
        self.pending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| {
                (p < self.capacity).then_some(p + 1)
            })
            .is_ok()
    }
}

impl Recorder {
    /// Starts the recorder task. Records in `config.spool` are re-queued first.
    pub fn start(
        ledger: Arc<dyn SfLedger>,
        config: RecordsConfig,
        metrics: Arc<Metrics>,
    ) -> (Recorder, tokio::task::JoinHandle<RecordReport>) {
        Self::start_with_shutdown(ledger, config, metrics, None)
    }

    /// [`Self::start`], with the drain time-out counted from `shutdown` turning true (not
    /// only from the last sender going away): senders that wait for a commit while the peer
    /// is down are then answered `NotFlushed` in time, and can finish.
    pub fn start_with_shutdown(
        ledger: Arc<dyn SfLedger>,
        config: RecordsConfig,
        metrics: Arc<Metrics>,
        shutdown: Option<watch::Receiver<bool>>,
    ) -> (Recorder, tokio::task::JoinHandle<RecordReport>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let spooled = config.spool.as_deref().map(read_spool).unwrap_or_default();
        // Spooled records count against the bound: senders wait until they are resolved.
        let room = Arc::new(Room {
            pending: AtomicI64::new(spooled.len() as i64),
            capacity: config.queue_capacity as i64,
            freed: Notify::new(),
        });
        metrics.queue_depth.set(spooled.len() as i64);
        let recorder = Recorder {
            tx,
            room: room.clone(),
            metrics: metrics.clone(),
        };
        let worker = Worker {
            ledger,
            config,
            metrics,
            room,
            report: Arc::new(std::sync::Mutex::new(RecordReport::default())),
        };
        let handle = tokio::spawn(worker.run(rx, spooled, shutdown));
        (recorder, handle)
    }

    /// Waits for room, then queues. Returns at once while the queue has room; cancel-safe:
    /// nothing is counted until it is queued.
    async fn send(&self, job: Job) {
        if !self.room.try_take() {
            self.metrics.backpressure.inc();
            loop {
                let freed = self.room.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                if self.room.try_take() {
                    break;
                }
                freed.await;
            }
        }
        match self.tx.send(job) {
            Ok(()) => {
                let n = self.room.pending.load(Ordering::SeqCst);
                self.metrics.queue_depth.set(n);
            }
            // Only after the worker stopped, which it does when every sender is gone.
            Err(e) => {
                self.room.pending.fetch_sub(1, Ordering::SeqCst);
                tracing::error!("recorder stopped; record lost: {:?}", e.0);
            }
        }
    }

    /// Queues a hop record (waits only while the queue is full).
    pub async fn record(&self, chain: &str, psiid: &str, record: HopRecordInput) {
        self.send(Job::Hop {
            chain: chain.into(),
            psiid: psiid.into(),
            record,
            done: None,
        })
        .await
    }

    /// Queues a hop record and waits until it committed (or failed).
    pub async fn record_committed(
        &self,
        chain: &str,
        psiid: &str,
        record: HopRecordInput,
    ) -> Result<(), RecordFailure> {
        let (done, rx) = oneshot::channel();
        self.send(Job::Hop {
            chain: chain.into(),
            psiid: psiid.into(),
            record,
            done: Some(done),
        })
        .await;
        rx.await.unwrap_or(Err(RecordFailure::NotFlushed))
    }

    /// Queues an error record.
    pub async fn error(&self, chain: &str, psiid: &str, mut error: HopErrorInput) {
        if error.detail.chars().count() > MAX_DETAIL {
            error.detail = error.detail.chars().take(MAX_DETAIL - 1).collect();
            error.detail.push('…');
        }
        self.send(Job::Error {
            chain: chain.into(),
            psiid: psiid.into(),
            error,
        })
        .await
    }
}

fn read_spool(path: &Path) -> Vec<Job> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::error!("cannot read spool {}: {e}", path.display());
            return Vec::new();
        }
    };
    let jobs: Vec<Job> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(j) => Some(j),
            Err(e) => {
                tracing::error!("spool {}: skipping a bad line: {e}", path.display());
                None
            }
        })
        .collect();
    tracing::info!(
        "re-submitting {} spooled records from {}",
        jobs.len(),
        path.display()
    );
    jobs
}

struct HopItem {
    record: HopRecordInput,
    done: Option<Done>,
}

impl HopItem {
    fn resolve(self, r: Result<(), RecordFailure>) {
        if let Some(d) = self.done {
            let _ = d.send(r);
        }
    }
}

/// Records of one hop on their way into one `RecordHops`.
struct Batch {
    key: Key,
    items: Vec<HopItem>,
    /// Output hashes in the batch: the chaincode refuses a repeat within one transaction.
    outputs: HashSet<String>,
    since: Instant,
    /// Somebody waits for a record of this batch to commit.
    urgent: bool,
}

#[derive(Clone)]
struct Worker {
    ledger: Arc<dyn SfLedger>,
    config: RecordsConfig,
    metrics: Arc<Metrics>,
    room: Arc<Room>,
    report: Arc<std::sync::Mutex<RecordReport>>,
}

type Key = (String, String);

/// The batches waiting to be submitted, oldest first, and when each hop last submitted.
#[derive(Default)]
struct Batches {
    list: Vec<Batch>,
    last_submit: HashMap<Key, Instant>,
}

impl Batches {
    /// When `b` is due (see the module doc); `closing` flushes everything.
    fn due(&self, b: &Batch, config: &RecordsConfig, closing: bool) -> Instant {
        let interval = ms(config.batch_interval_ms);
        if closing || b.items.len() >= config.batch_size {
            return b.since;
        }
        if b.urgent {
            return match self.last_submit.get(&b.key) {
                Some(t) => (*t + interval).max(b.since),
                None => b.since,
            };
        }
        b.since + interval
    }

    /// Takes the batches due at `now`, oldest first, at most `room` of them.
    fn take_due(
        &mut self,
        now: Instant,
        room: usize,
        config: &RecordsConfig,
        closing: bool,
    ) -> Vec<Batch> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.list.len() && out.len() < room {
            if self.due(&self.list[i], config, closing) <= now {
                let b = self.list.remove(i);
                self.last_submit.insert(b.key.clone(), now);
                out.push(b);
            } else {
                i += 1;
            }
        }
        out
    }

    fn next_due(&self, config: &RecordsConfig, closing: bool) -> Option<Instant> {
        self.list.iter().map(|b| self.due(b, config, closing)).min()
    }

    /// Adds a record to its hop's open batch, or opens one (full, or holding the same
    /// output hash: the repeat waits for the next transaction).
    fn push(&mut self, key: Key, item: HopItem, batch_size: usize) {
        let open = self.list.iter_mut().rev().find(|b| b.key == key);
        let batch = match open {
            Some(b)
                if b.items.len() < batch_size && !b.outputs.contains(&item.record.output_hash) =>
            {
                b
            }
            _ => {
                self.list.push(Batch {
                    key,
                    items: Vec::new(),
                    outputs: HashSet::new(),
                    since: Instant::now(),
                    urgent: false,
                });
                let last = self.list.len() - 1;
                &mut self.list[last]
            }
        };
        batch.urgent |= item.done.is_some();
        batch.outputs.insert(item.record.output_hash.clone());
        batch.items.push(item);
    }
}

impl Worker {
    fn resolved(&self, n: usize) {
        let left = self.room.pending.fetch_sub(n as i64, Ordering::SeqCst) - n as i64;
        self.metrics.queue_depth.set(left.max(0));
        self.room.freed.notify_waiters();
    }

    fn count(&self, f: impl FnOnce(&mut RecordReport)) {
        f(&mut self.report.lock().unwrap_or_else(|e| e.into_inner()))
    }

    async fn run(
        self,
        mut rx: mpsc::UnboundedReceiver<Job>,
        spooled: Vec<Job>,
        mut shutdown: Option<watch::Receiver<bool>>,
    ) -> RecordReport {
        let (give_up_tx, give_up) = watch::channel(false);
        let mut batches = Batches::default();
        let mut inflight: JoinSet<Vec<Job>> = JoinSet::new();
        let mut leftovers: Vec<Job> = Vec::new();
        for job in spooled {
            self.accept(job, &mut batches, &mut inflight, &give_up);
        }
        let mut open = true;
        let mut drain_deadline: Option<Instant> = None;
        let max = self.config.max_in_flight;

        loop {
            // Whatever is due goes, while there is room in flight; the rest keeps growing.
            let closing = !open;
            let room = max.saturating_sub(inflight.len());
            for b in batches.take_due(Instant::now(), room, &self.config, closing) {
                self.flush(b, &mut inflight, &give_up);
            }
            if closing && batches.list.is_empty() && inflight.is_empty() {
                break;
            }
            let next_due = if inflight.len() < max {
                batches.next_due(&self.config, closing)
            } else {
                None
            };
            let deadline_sleep = async {
                match drain_deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let due_sleep = async {
                match next_due {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let shutdown_signal = async {
                match shutdown.as_mut() {
                    Some(rx) => rx.wait_for(|stop| *stop).await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                stopping = shutdown_signal, if drain_deadline.is_none() => {
                    if stopping {
                        drain_deadline = Some(Instant::now() + ms(self.config.drain_timeout_ms));
                    }
                    // Either way the signal is spent.
                    shutdown = None;
                }
                job = rx.recv(), if open => match job {
                    Some(job) => {
                        self.accept(job, &mut batches, &mut inflight, &give_up);
                        // Take what else is queued without going round the loop for each.
                        while let Ok(job) = rx.try_recv() {
                            self.accept(job, &mut batches, &mut inflight, &give_up);
                        }
                    }
                    None => {
                        open = false;
                        drain_deadline.get_or_insert_with(|| {
                            Instant::now() + ms(self.config.drain_timeout_ms)
                        });
                    }
                },
                _ = due_sleep => {}
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    match done {
                        Ok(left) => leftovers.extend(left),
                        Err(e) => tracing::error!("record submission task failed: {e}"),
                    }
                }
                _ = deadline_sleep => {
                    tracing::warn!(
                        "drain timeout: {} records still unsubmitted",
                        self.room.pending.load(Ordering::SeqCst)
                    );
                    let _ = give_up_tx.send(true);
                    // Answer every waiting sender now (NotFlushed), so that the SF's
                    // datagram tasks finish and the senders go away.
                    while let Some(done) = inflight.join_next().await {
                        if let Ok(left) = done {
                            leftovers.extend(left.into_iter().map(Job::not_flushed));
                        }
                    }
                    for b in batches.list.drain(..) {
                        leftovers.extend(to_jobs(&b.key.0, &b.key.1, b.items.into_iter()).into_iter().map(Job::not_flushed));
                    }
                    // Whatever still comes until the last sender is gone goes to the spool.
                    while let Some(job) = rx.recv().await {
                        leftovers.push(job.not_flushed());
                    }
                    break;
                }
            }
        }
        self.spool(leftovers);
        let report = self
            .report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        tracing::info!(?report, "recorder finished");
        report
    }

    fn accept(
        &self,
        job: Job,
        batches: &mut Batches,
        inflight: &mut JoinSet<Vec<Job>>,
        give_up: &watch::Receiver<bool>,
    ) {
        match job {
            Job::Hop {
                chain,
                psiid,
                record,
                done,
            } => batches.push(
                (chain, psiid),
                HopItem { record, done },
                self.config.batch_size,
            ),
            Job::Error {
                chain,
                psiid,
                error,
            } => {
                let w = self.clone();
                let give_up = give_up.clone();
                inflight.spawn(async move { w.submit_error(chain, psiid, error, give_up).await });
            }
        }
    }

    fn flush(
        &self,
        batch: Batch,
        inflight: &mut JoinSet<Vec<Job>>,
        give_up: &watch::Receiver<bool>,
    ) {
        if batch.items.is_empty() {
            return;
        }
        let w = self.clone();
        let give_up = give_up.clone();
        inflight.spawn(async move { w.submit_hops(batch.key, batch.items, give_up).await });
    }

    /// Sleeps the back-off; false when told to give up meanwhile.
    async fn backoff(&self, delay: &mut Duration, give_up: &mut watch::Receiver<bool>) -> bool {
        if *give_up.borrow() {
            return false;
        }
        let d = *delay;
        *delay = (*delay * 2).min(ms(self.config.retry_max_ms));
        tokio::select! {
            _ = tokio::time::sleep(d) => !*give_up.borrow(),
            _ = give_up.changed() => false,
        }
    }

    async fn submit_hops(
        self,
        (chain, psiid): Key,
        items: Vec<HopItem>,
        mut give_up: watch::Receiver<bool>,
    ) -> Vec<Job> {
        let mut work: Vec<Vec<HopItem>> = vec![items];
        let mut leftovers = Vec::new();
        let mut delay = ms(self.config.retry_initial_ms);
        // Transactions of this batch whose outcome we did not learn: one may have committed.
        let mut attempted: Vec<String> = Vec::new();
        while let Some(mut items) = work.pop() {
            loop {
                if items.is_empty() {
                    break;
                }
                let records: Vec<HopRecordInput> = items.iter().map(|i| i.record.clone()).collect();
                let t = Instant::now();
                let r = self.ledger.record_hops(&chain, &psiid, &records).await;
                self.metrics.observe_ledger("RecordHops", t.elapsed());
                match r {
                    Ok(_) => {
                        let n = items.len();
                        self.metrics.records("committed", n as u64);
                        self.count(|r| r.committed += n as u64);
                        for i in items.drain(..) {
                            i.resolve(Ok(()));
                        }
                        self.resolved(n);
                        delay = ms(self.config.retry_initial_ms);
                    }
                    Err(LedgerError::Rejected {
                        status: 409,
                        message,
                    }) if replay_tx(&message).is_some_and(|t| attempted.iter().any(|a| a == t)) => {
                        // Our own earlier attempt committed (its answer was lost): the batch is in.
                        let n = items.len();
                        tracing::info!(%chain, %psiid, "an earlier attempt of this batch committed");
                        self.metrics.records("committed", n as u64);
                        self.count(|r| r.committed += n as u64);
                        for i in items.drain(..) {
                            i.resolve(Ok(()));
                        }
                        self.resolved(n);
                    }
                    Err(LedgerError::Rejected {
                        status: 409,
                        message,
                    }) if message.contains("replay")
                        && replay_index(&message).is_some_and(|i| i < items.len()) =>
                    {
                        let i = replay_index(&message).unwrap_or_default();
                        let bad = items.remove(i);
                        tracing::warn!(%chain, %psiid, "record {i} of a batch is a replay; re-submitting the others");
                        self.metrics.records("replay", 1);
                        self.count(|r| r.replayed += 1);
                        let error = HopErrorInput {
                            kind: ErrorKind::Replay,
                            detail: truncate(&message),
                            src: bad.record.src.clone(),
                            input_hash: bad.record.input_hash.clone(),
                        };
                        // The error takes the record's place in the queue.
                        bad.resolve(Err(RecordFailure::Replay(message)));
                        leftovers.extend(
                            self.clone()
                                .submit_error(chain.clone(), psiid.clone(), error, give_up.clone())
                                .await,
                        );
                    }
                    Err(LedgerError::Rejected { message, .. })
                        if items.len() > 1 && !message.contains("disabled") =>
                    {
                        // Find the refused record: halve until it is alone.
                        let back = items.split_off(items.len() / 2);
                        work.push(back);
                    }
                    Err(e) if e.is_transient() => {
                        if let LedgerError::Unavailable { tx_id: Some(t), .. } = &e {
                            attempted.push(t.clone());
                        }
                        if matches!(e, LedgerError::Invalid { .. }) {
                            // Lost an MVCC race: re-endorse now (a replay shows up as 409).
                            tracing::debug!(%chain, %psiid, "RecordHops invalid at commit: {e}; re-submitting");
                            if *give_up.borrow() {
                                leftovers.extend(to_jobs(&chain, &psiid, items.drain(..)));
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        }
                        tracing::warn!(%chain, %psiid, "RecordHops failed: {e}; retrying in {delay:?}");
                        if !self.backoff(&mut delay, &mut give_up).await {
                            leftovers.extend(to_jobs(&chain, &psiid, items.drain(..)));
                        }
                    }
                    Err(e) => {
                        let n = items.len();
                        tracing::error!(%chain, %psiid, "{n} records refused by the ledger: {e}");
                        self.metrics.records("refused", n as u64);
                        self.count(|r| r.refused += n as u64);
                        for i in items.drain(..) {
                            i.resolve(Err(RecordFailure::Refused(e.to_string())));
                        }
                        self.resolved(n);
                    }
                }
            }
        }
        // Whatever is left over is still counted pending; `spool` resolves it.
        leftovers
    }

    async fn submit_error(
        self,
        chain: String,
        psiid: String,
        error: HopErrorInput,
        mut give_up: watch::Receiver<bool>,
    ) -> Vec<Job> {
        let mut delay = ms(self.config.retry_initial_ms);
        loop {
            let t = Instant::now();
            let r = self.ledger.record_error(&chain, &psiid, &error).await;
            self.metrics.observe_ledger("RecordError", t.elapsed());
            match r {
                Ok(_) => {
                    self.metrics.records("error-committed", 1);
                    self.count(|r| r.errors += 1);
                    self.resolved(1);
                    return Vec::new();
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(%chain, %psiid, "RecordError failed: {e}; retrying in {delay:?}");
                    if !self.backoff(&mut delay, &mut give_up).await {
                        return vec![Job::Error {
                            chain,
                            psiid,
                            error,
                        }];
                    }
                }
                Err(e) => {
                    tracing::error!(%chain, %psiid, ?error, "error record refused by the ledger: {e}");
                    self.metrics.records("error-refused", 1);
                    self.count(|r| r.errors_refused += 1);
                    self.resolved(1);
                    return Vec::new();
                }
            }
        }
    }

    /// Writes what could not be submitted to the spool, or logs it as lost.
    fn spool(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            if let Some(path) = &self.config.spool {
                // Everything from the spool was re-submitted.
                let _ = std::fs::remove_file(path);
            }
            return;
        }
        let n = jobs.len();
        let jobs: Vec<Job> = jobs.into_iter().map(Job::not_flushed).collect();
        if let Some(path) = &self.config.spool {
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(path)?;
                for j in &jobs {
                    let line = serde_json::to_string(j).map_err(std::io::Error::other)?;
                    writeln!(f, "{line}")?;
                }
                f.sync_all()
            };
            match write() {
                Ok(()) => {
                    tracing::warn!("{n} unsubmitted records spooled to {}", path.display());
                    self.metrics.records("spooled", n as u64);
                    self.count(|r| r.spooled += n as u64);
                    self.resolved(n);
                    return;
                }
                Err(e) => tracing::error!("cannot write spool {}: {e}", path.display()),
            }
        }
        for j in &jobs {
            tracing::error!(
                "record lost at shutdown (no spool): {}",
                serde_json::to_string(j).unwrap_or_default()
            );
        }
        self.metrics.records("lost", n as u64);
        self.count(|r| r.lost += n as u64);
        self.resolved(n);
    }
}

fn to_jobs(chain: &str, psiid: &str, items: impl Iterator<Item = HopItem>) -> Vec<Job> {
    items
        .map(|i| Job::Hop {
            chain: chain.into(),
            psiid: psiid.into(),
            record: i.record,
            done: i.done,
        })
        .collect()
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_DETAIL).collect()
}

/// `… was used in tx t1; …` → `t1`.
pub fn replay_tx(message: &str) -> Option<&str> {
    const MARK: &str = "was used in tx ";
    let at = message.find(MARK)? + MARK.len();
    let rest = &message[at..];
    Some(rest.split([';', ' ']).next().unwrap_or(rest))
}

/// `… recordsJSON[3].inputHash …` → 3.
pub fn replay_index(message: &str) -> Option<usize> {
    const MARK: &str = "recordsJSON[";
    let at = message.find(MARK)? + MARK.len();
    let rest = &message[at..];
    let end = rest.find(']')?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_index_from_the_chaincode_message() {
        assert_eq!(
            replay_index("replay: recordsJSON[3].inputHash ab was used in tx t1; resubmit"),
            Some(3)
        );
        assert_eq!(replay_index("chain c is disabled"), None);
        assert_eq!(
            replay_tx("replay: recordsJSON[3].inputHash ab was used in tx t1; resubmit"),
            Some("t1")
        );
    }
}
