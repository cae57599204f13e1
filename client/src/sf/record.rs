//! Records on the ledger, asynchronously (DESIGN §5 step 4): hop records are batched per
//! (chain, hop) into `RecordHops` transactions of up to `batch_size` records or
//! `batch_interval_ms` of age; every drop is one `RecordError`.
//!
//! Nothing is lost silently:
//! - the queue is bounded; when it is full, senders wait (back-pressure up to the socket);
//! - a peer that is down is retried with exponential back-off;
//! - a batch refused for a replay (`409 replay: recordsJSON[i]…`, or an MVCC conflict that
//!   re-endorses into one) is re-submitted without record `i`, which becomes a `replay`
//!   error; a batch refused otherwise is split until the refused record is alone;
//! - on shutdown the queue is drained for `drain_timeout_ms`; what is left is written to the
//!   spool file (re-submitted at the next start) or counted as `lost` and logged.
//!
//! A record can carry a completion: the SF forwards only after commit when the next hop
//! validates by hash (its `CheckIn` needs our `out` record).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sfcbc_chaincode::types::{ErrorKind, HopErrorInput, HopRecordInput};
use tokio::sync::{mpsc, oneshot, watch};
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
    tx: mpsc::Sender<Job>,
    /// Queued and unresolved writes, for the queue-depth gauge.
    pending: Arc<AtomicI64>,
    metrics: Arc<Metrics>,
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
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let pending = Arc::new(AtomicI64::new(0));
        let recorder = Recorder {
            tx,
            pending: pending.clone(),
            metrics: metrics.clone(),
        };
        let spooled = config.spool.as_deref().map(read_spool).unwrap_or_default();
        let worker = Worker {
            ledger,
            config,
            metrics,
            pending,
            report: Arc::new(std::sync::Mutex::new(RecordReport::default())),
        };
        let handle = tokio::spawn(worker.run(rx, spooled, shutdown));
        (recorder, handle)
    }

    /// Waits for room, then queues (cancel-safe: nothing is counted until it is queued).
    async fn send(&self, job: Job) {
        match self.tx.reserve().await {
            Ok(permit) => {
                let n = self.pending.fetch_add(1, Ordering::SeqCst) + 1;
                self.metrics.queue_depth.set(n);
                permit.send(job);
            }
            // Only after the worker stopped, which it does when every sender is gone.
            Err(_) => tracing::error!("recorder stopped; record lost: {job:?}"),
        }
    }

    /// Queues a hop record (waits while the queue is full).
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

struct Batch {
    items: Vec<HopItem>,
    since: Instant,
}

#[derive(Clone)]
struct Worker {
    ledger: Arc<dyn SfLedger>,
    config: RecordsConfig,
    metrics: Arc<Metrics>,
    pending: Arc<AtomicI64>,
    report: Arc<std::sync::Mutex<RecordReport>>,
}

type Key = (String, String);

impl Worker {
    fn resolved(&self, n: usize) {
        let left = self.pending.fetch_sub(n as i64, Ordering::SeqCst) - n as i64;
        self.metrics.queue_depth.set(left.max(0));
    }

    fn count(&self, f: impl FnOnce(&mut RecordReport)) {
        f(&mut self.report.lock().unwrap_or_else(|e| e.into_inner()))
    }

    async fn run(
        self,
        mut rx: mpsc::Receiver<Job>,
        spooled: Vec<Job>,
        mut shutdown: Option<watch::Receiver<bool>>,
    ) -> RecordReport {
        let (give_up_tx, give_up) = watch::channel(false);
        let mut batches: HashMap<Key, Batch> = HashMap::new();
        let mut inflight: JoinSet<Vec<Job>> = JoinSet::new();
        let mut leftovers: Vec<Job> = Vec::new();
        let interval = ms(self.config.batch_interval_ms);
        let mut queued: std::collections::VecDeque<Job> = spooled.into();
        self.pending
            .fetch_add(queued.len() as i64, Ordering::SeqCst);
        let mut open = true;
        let mut drain_deadline: Option<Instant> = None;

        loop {
            // Take jobs while there is room in flight (otherwise let the queue fill up).
            let room = inflight.len() < self.config.max_in_flight;
            let next_due = batches.values().map(|b| b.since + interval).min();
            if room && let Some(job) = queued.pop_front() {
                self.accept(job, &mut batches, &mut inflight, &give_up);
                continue;
            }
            if !open && queued.is_empty() && room {
                // Closed: flush everything that is batched.
                let keys: Vec<Key> = batches.keys().cloned().collect();
                for key in keys
                    .into_iter()
                    .take(self.config.max_in_flight - inflight.len())
                {
                    if let Some(b) = batches.remove(&key) {
                        self.flush(key, b.items, &mut inflight, &give_up);
                    }
                }
                if batches.is_empty() && inflight.is_empty() {
                    break;
                }
            }
            let deadline_sleep = async {
                match drain_deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let due_sleep = async {
                match next_due {
                    Some(d) if room => tokio::time::sleep_until(d.into()).await,
                    _ => std::future::pending().await,
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
                job = rx.recv(), if open && room => match job {
                    Some(job) => self.accept(job, &mut batches, &mut inflight, &give_up),
                    None => {
                        open = false;
                        drain_deadline.get_or_insert_with(|| {
                            Instant::now() + ms(self.config.drain_timeout_ms)
                        });
                    }
                },
                _ = due_sleep => {
                    let now = Instant::now();
                    let due: Vec<Key> = batches
                        .iter()
                        .filter(|(_, b)| b.since + interval <= now)
                        .map(|(k, _)| k.clone())
                        .collect();
                    for key in due {
                        if inflight.len() >= self.config.max_in_flight {
                            break;
                        }
                        if let Some(b) = batches.remove(&key) {
                            self.flush(key, b.items, &mut inflight, &give_up);
                        }
                    }
                }
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    match done {
                        Ok(left) => leftovers.extend(left),
                        Err(e) => tracing::error!("record submission task failed: {e}"),
                    }
                }
                _ = deadline_sleep => {
                    tracing::warn!(
                        "drain timeout: {} records still unsubmitted",
                        self.pending.load(Ordering::SeqCst)
                    );
                    let _ = give_up_tx.send(true);
                    // Answer every waiting sender now (NotFlushed), so that the SF's
                    // datagram tasks finish and the senders go away.
                    while let Some(done) = inflight.join_next().await {
                        if let Ok(left) = done {
                            leftovers.extend(left.into_iter().map(Job::not_flushed));
                        }
                    }
                    for (key, b) in batches.drain() {
                        for item in b.items {
                            leftovers.push(
                                Job::Hop {
                                    chain: key.0.clone(),
                                    psiid: key.1.clone(),
                                    record: item.record,
                                    done: item.done,
                                }
                                .not_flushed(),
                            );
                        }
                    }
                    leftovers.extend(queued.drain(..).map(Job::not_flushed));
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
        batches: &mut HashMap<Key, Batch>,
        inflight: &mut JoinSet<Vec<Job>>,
        give_up: &watch::Receiver<bool>,
    ) {
        match job {
            Job::Hop {
                chain,
                psiid,
                record,
                done,
            } => {
                let key = (chain, psiid);
                let batch = batches.entry(key.clone()).or_insert_with(|| Batch {
                    items: Vec::new(),
                    since: Instant::now(),
                });
                // A repeated output hash in one batch is refused by the chaincode (400): the
                // repeat waits for the next batch.
                if batch
                    .items
                    .iter()
                    .any(|i| i.record.output_hash == record.output_hash)
                {
                    let b = batches.remove(&key).map(|b| b.items).unwrap_or_default();
                    self.flush(key.clone(), b, inflight, give_up);
                    batches.insert(
                        key,
                        Batch {
                            items: vec![HopItem { record, done }],
                            since: Instant::now(),
                        },
                    );
                    return;
                }
                batch.items.push(HopItem { record, done });
                if batch.items.len() >= self.config.batch_size
                    && let Some(b) = batches.remove(&key)
                {
                    self.flush(key, b.items, inflight, give_up);
                }
            }
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
        key: Key,
        items: Vec<HopItem>,
        inflight: &mut JoinSet<Vec<Job>>,
        give_up: &watch::Receiver<bool>,
    ) {
        if items.is_empty() {
            return;
        }
        let w = self.clone();
        let give_up = give_up.clone();
        inflight.spawn(async move { w.submit_hops(key, items, give_up).await });
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
                        bad.resolve(Err(RecordFailure::Replay(message)));
                        self.resolved(1);
                        // The error takes the record's place in the queue count.
                        self.pending.fetch_add(1, Ordering::SeqCst);
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
