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
//!   spool file (re-submitted at the next start) or counted as `lost` and logged;
//! - with a spool file, it is also a write-ahead journal while the SF runs: every record and
//!   error is appended to it before queuing returns (so before its datagram is forwarded),
//!   and a `{"done": [ids]}` line follows once it is resolved. After a crash (SIGKILL, OOM)
//!   the next start re-submits the jobs without a `done` line: at least once, not exactly
//!   once — a job whose transaction was in flight at the crash may have committed, and is
//!   submitted again (on a `hash` hop the copy is then refused as a replay and recorded as
//!   a `replay` error; elsewhere the record is stored twice). The lines are written without
//!   fsync: they survive the process, not the machine; a torn line costs that line only.
//!   The file is rewritten with only the pending jobs at start, every
//!   [`COMPACT_AFTER_LINES`] lines and at shutdown (where the journal's pending set, not
//!   only the drain's leftovers, is kept). A spool that cannot be read is moved aside to
//!   `*.unreadable`, never overwritten.
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
        /// Its number in the journal; 0 when there is none.
        #[serde(default, skip_serializing_if = "is_zero")]
        id: u64,
    },
    Error {
        chain: String,
        psiid: String,
        error: HopErrorInput,
        #[serde(default, skip_serializing_if = "is_zero")]
        id: u64,
    },
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Job {
    fn not_flushed(self) -> Self {
        match self {
            Job::Hop {
                chain,
                psiid,
                record,
                done,
                id,
            } => {
                if let Some(d) = done {
                    let _ = d.send(Err(RecordFailure::NotFlushed));
                }
                Job::Hop {
                    chain,
                    psiid,
                    record,
                    done: None,
                    id,
                }
            }
            e => e,
        }
    }

    fn id(&self) -> u64 {
        match self {
            Job::Hop { id, .. } | Job::Error { id, .. } => *id,
        }
    }

    fn set_id(&mut self, new: u64) {
        match self {
            Job::Hop { id, .. } | Job::Error { id, .. } => *id = new,
        }
    }
}

/// A journal line saying which jobs were resolved (committed, refused, or turned into an
/// error record that has a line of its own).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneLine {
    done: Vec<u64>,
}

/// `{"done":[ids]}` and its newline.
fn done_line(done: Vec<u64>) -> String {
    // A struct of one vector of integers always serialises.
    let line = serde_json::to_string(&DoneLine { done }).unwrap_or_default();
    format!("{line}\n")
}

/// Lines appended to the journal before it is rewritten with only the pending jobs.
pub const COMPACT_AFTER_LINES: u64 = 200_000;

/// The spool file as a write-ahead journal (see the module doc).
#[derive(Debug)]
struct Journal {
    path: std::path::PathBuf,
    state: std::sync::Mutex<JournalState>,
    /// Set after the first failed write, so that a full disk logs once, not per datagram.
    failed: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
struct JournalState {
    file: std::fs::File,
    next_id: u64,
    /// The lines of the jobs not resolved yet, by id: what a rewrite keeps.
    pending: std::collections::BTreeMap<u64, String>,
    /// Lines appended since the file was last rewritten.
    lines: u64,
    /// A write failed part-way: the next line starts on a line of its own.
    torn: bool,
}

impl JournalState {
    /// Appends `text` (whole lines) in one write.
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        let r = if self.torn {
            self.file.write_all(format!("\n{text}").as_bytes())
        } else {
            self.file.write_all(text.as_bytes())
        };
        self.torn = r.is_err();
        r
    }
}

impl Journal {
    /// Rewrites `path` with `jobs` (numbered from 1 here) and keeps it open for appending.
    fn open(path: &Path, jobs: &mut [Job]) -> std::io::Result<Journal> {
        let mut pending = std::collections::BTreeMap::new();
        for (i, j) in jobs.iter_mut().enumerate() {
            let id = i as u64 + 1;
            j.set_id(id);
            pending.insert(id, serde_json::to_string(j).map_err(std::io::Error::other)?);
        }
        let file = rewrite(path, pending.values())?;
        Ok(Journal {
            path: path.to_path_buf(),
            state: std::sync::Mutex::new(JournalState {
                file,
                next_id: jobs.len() as u64 + 1,
                pending,
                lines: 0,
                torn: false,
            }),
            failed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JournalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn failure(&self, e: &dyn std::fmt::Display) {
        if !self.failed.swap(true, Ordering::SeqCst) {
            tracing::error!(
                "cannot write the spool journal {}: {e}; queued records would not survive a crash",
                self.path.display()
            );
        }
    }

    /// Numbers `job` and writes its line; returns it numbered.
    fn append(&self, job: Job) -> Job {
        self.append_replacing(job, None)
    }

    /// [`Self::append`], and in the same write the `done` line of `replaced` (the job that
    /// `job` stands for now), so that a crash keeps exactly one of the two.
    fn append_replacing(&self, mut job: Job, replaced: Option<u64>) -> Job {
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        job.set_id(id);
        let line = match serde_json::to_string(&job) {
            Ok(l) => l,
            Err(e) => {
                self.failure(&e);
                return job;
            }
        };
        let mut text = format!("{line}\n");
        let replaced = replaced.filter(|r| *r != 0);
        if let Some(r) = replaced {
            s.pending.remove(&r);
            text.push_str(&done_line(vec![r]));
        }
        if let Err(e) = s.write(&text) {
            self.failure(&e);
        }
        s.pending.insert(id, line);
        s.lines += 1 + u64::from(replaced.is_some());
        job
    }

    /// The lines of the jobs not resolved yet, oldest first.
    fn pending_lines(&self) -> Vec<String> {
        self.lock().pending.values().cloned().collect()
    }

    /// Marks jobs resolved; rewrites the file once it has grown long.
    fn done(&self, ids: &[u64]) {
        let ids: Vec<u64> = ids.iter().copied().filter(|i| *i != 0).collect();
        if ids.is_empty() {
            return;
        }
        let mut s = self.lock();
        for id in &ids {
            s.pending.remove(id);
        }
        if let Err(e) = s.write(&done_line(ids)) {
            self.failure(&e);
        }
        s.lines += 1;
        if s.lines >= COMPACT_AFTER_LINES {
            self.compact(&mut s);
        }
    }

    /// Rewrites the file with only the pending jobs.
    fn compact(&self, s: &mut JournalState) {
        match rewrite(&self.path, s.pending.values()) {
            Ok(f) => {
                s.file = f;
                s.lines = 0;
                s.torn = false;
            }
            Err(e) => self.failure(&e),
        }
    }
}

/// Writes `lines` to a new file beside `path`, syncs it and renames it over `path`;
/// returns `path` open for appending.
fn rewrite<'a>(
    path: &Path,
    lines: impl Iterator<Item = &'a String>,
) -> std::io::Result<std::fs::File> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for l in lines {
            f.write_all(l.as_bytes())?;
            f.write_all(b"\n")?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::OpenOptions::new().append(true).open(path)
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
    journal: Option<Arc<Journal>>,
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
        let mut spooled = config.spool.as_deref().map(read_spool).unwrap_or_default();
        let journal = config.spool.as_deref().and_then(|path| {
            match Journal::open(path, &mut spooled) {
                Ok(j) => Some(Arc::new(j)),
                Err(e) => {
                    tracing::error!(
                        "cannot open the spool journal {}: {e}; queued records will not survive a crash",
                        path.display()
                    );
                    None
                }
            }
        });
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
            journal: journal.clone(),
        };
        let worker = Worker {
            ledger,
            config,
            metrics,
            room,
            journal,
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
        // Journaled before queuing returns, so before the datagram is forwarded.
        let job = match &self.journal {
            Some(j) => j.append(job),
            None => job,
        };
        match self.tx.send(job) {
            Ok(()) => {
                let n = self.room.pending.load(Ordering::SeqCst);
                self.metrics.queue_depth.set(n);
            }
            // Only after the worker stopped, which it does when every sender is gone.
            Err(e) => {
                self.room.pending.fetch_sub(1, Ordering::SeqCst);
                let fate = match self.journal {
                    Some(_) => "kept in the spool journal for the next start",
                    None => "lost",
                };
                tracing::error!("recorder stopped; record {fate}: {:?}", e.0);
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
            id: 0,
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
            id: 0,
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
            id: 0,
        })
        .await
    }
}

fn read_spool(path: &Path) -> Vec<Job> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            // Never overwrite what could not be read: set it aside for a person to look at.
            let mut aside = path.as_os_str().to_owned();
            aside.push(".unreadable");
            let aside = std::path::PathBuf::from(aside);
            match std::fs::rename(path, &aside) {
                Ok(()) => tracing::error!(
                    "cannot read spool {}: {e}; moved it to {}",
                    path.display(),
                    aside.display()
                ),
                Err(e2) => tracing::error!(
                    "cannot read spool {}: {e}; nor move it aside: {e2}",
                    path.display()
                ),
            }
            return Vec::new();
        }
    };
    let mut done = HashSet::new();
    let mut jobs: Vec<Job> = Vec::new();
    // Line by line, bytes first: a torn or non-UTF-8 line costs that line only.
    for l in bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
    {
        if let Ok(d) = serde_json::from_slice::<DoneLine>(l) {
            done.extend(d.done);
            continue;
        }
        match serde_json::from_slice(l) {
            Ok(j) => jobs.push(j),
            // A crash in the middle of a write leaves at most the last line torn.
            Err(e) => tracing::error!("spool {}: skipping a bad line: {e}", path.display()),
        }
    }
    jobs.retain(|j| j.id() == 0 || !done.contains(&j.id()));
    if !jobs.is_empty() {
        tracing::info!(
            "re-submitting {} spooled records from {}",
            jobs.len(),
            path.display()
        );
    }
    jobs
}

struct HopItem {
    record: HopRecordInput,
    done: Option<Done>,
    /// Its journal number (0: none).
    id: u64,
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
    journal: Option<Arc<Journal>>,
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
    /// Marks journaled jobs resolved.
    fn journal_done(&self, ids: impl IntoIterator<Item = u64>) {
        if let Some(j) = &self.journal {
            j.done(&ids.into_iter().collect::<Vec<_>>());
        }
    }

    /// Journals an error record that takes the place of job `replaced`, in one write;
    /// returns the error's number (0: no journal).
    fn journal_replace(
        &self,
        chain: &str,
        psiid: &str,
        error: &HopErrorInput,
        replaced: u64,
    ) -> u64 {
        let Some(j) = &self.journal else { return 0 };
        let job = Job::Error {
            chain: chain.into(),
            psiid: psiid.into(),
            error: error.clone(),
            id: 0,
        };
        j.append_replacing(job, Some(replaced)).id()
    }

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
                id,
            } => batches.push(
                (chain, psiid),
                HopItem { record, done, id },
                self.config.batch_size,
            ),
            Job::Error {
                chain,
                psiid,
                error,
                id,
            } => {
                let w = self.clone();
                let give_up = give_up.clone();
                inflight
                    .spawn(async move { w.submit_error(chain, psiid, error, id, give_up).await });
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
                        self.journal_done(items.iter().map(|i| i.id));
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
                        self.journal_done(items.iter().map(|i| i.id));
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
                        // The error takes the record's place in the queue (and in the
                        // journal: its line before the record's `done`).
                        let error_id = self.journal_replace(&chain, &psiid, &error, bad.id);
                        bad.resolve(Err(RecordFailure::Replay(message)));
                        leftovers.extend(
                            self.clone()
                                .submit_error(
                                    chain.clone(),
                                    psiid.clone(),
                                    error,
                                    error_id,
                                    give_up.clone(),
                                )
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
                        self.journal_done(items.iter().map(|i| i.id));
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
        id: u64,
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
                    self.journal_done([id]);
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
                            id,
                        }];
                    }
                }
                Err(e) => {
                    tracing::error!(%chain, %psiid, ?error, "error record refused by the ledger: {e}");
                    self.metrics.records("error-refused", 1);
                    self.count(|r| r.errors_refused += 1);
                    self.journal_done([id]);
                    self.resolved(1);
                    return Vec::new();
                }
            }
        }
    }

    /// Writes what could not be submitted to the spool, or logs it as lost.
    fn spool(&self, jobs: Vec<Job>) {
        let n = jobs.len();
        let jobs: Vec<Job> = jobs.into_iter().map(Job::not_flushed).collect();
        if let Some(path) = &self.config.spool {
            // With a journal, its pending set is the authority: it holds the leftovers under
            // their numbers, and also jobs of a submission task that panicked.
            let lines = match &self.journal {
                Some(journal) => Ok(journal.pending_lines()),
                None => jobs
                    .iter()
                    .map(|j| serde_json::to_string(j).map_err(std::io::Error::other))
                    .collect::<std::io::Result<Vec<String>>>(),
            };
            let written = lines.and_then(|lines| {
                if lines.is_empty() {
                    // Everything was submitted, the spool's old records included.
                    match std::fs::remove_file(path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                        _ => Ok(0),
                    }
                } else {
                    rewrite(path, lines.iter()).map(|_| lines.len())
                }
            });
            match written {
                Ok(kept) => {
                    if kept > 0 {
                        tracing::warn!("{kept} unsubmitted records spooled to {}", path.display());
                        self.metrics.records("spooled", kept as u64);
                        self.count(|r| r.spooled += kept as u64);
                    }
                    self.resolved(n);
                    return;
                }
                Err(e) => tracing::error!("cannot write spool {}: {e}", path.display()),
            }
        }
        if n == 0 {
            return;
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
            id: i.id,
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

    fn hop_job(n: u64) -> Job {
        Job::Hop {
            chain: "c".into(),
            psiid: "Org1:NameWriter:1".into(),
            record: HopRecordInput {
                seq: n,
                input_hash: format!("{n:064x}"),
                output_hash: format!("{:064x}", n + 1000),
                src: "127.0.0.10:5000".into(),
                next: "127.0.0.11:6000".into(),
            },
            done: None,
            id: 0,
        }
    }

    fn seqs(jobs: &[Job]) -> Vec<u64> {
        jobs.iter()
            .map(|j| match j {
                Job::Hop { record, .. } => record.seq,
                Job::Error { .. } => u64::MAX,
            })
            .collect()
    }

    #[test]
    fn the_journal_keeps_what_is_not_done_across_a_crash_and_a_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        // An old spool line (no id) is kept and numbered at open.
        std::fs::write(
            &path,
            format!("{}\n", serde_json::to_string(&hop_job(7)).unwrap()),
        )
        .unwrap();
        let mut start = read_spool(&path);
        let j = Journal::open(&path, &mut start).unwrap();
        assert_eq!(seqs(&start), [7]);
        let ids: Vec<u64> = (1..=3).map(|n| j.append(hop_job(n)).id()).collect();
        assert_eq!(ids, [2, 3, 4], "numbers follow the jobs read at open");
        j.done(&[2, 4]);
        // A crash now: the file as it is says what is pending.
        assert_eq!(seqs(&read_spool(&path)), [7, 2]);
        // A torn last line (killed mid-write) costs that line only.
        {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"{\"type\":\"hop\",\"cha").unwrap();
        }
        assert_eq!(seqs(&read_spool(&path)), [7, 2]);
        // A rewrite keeps exactly the pending lines.
        j.compact(&mut j.lock());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert_eq!(seqs(&read_spool(&path)), [7, 2]);
        j.done(&[1, 3]);
        assert!(read_spool(&path).is_empty());
    }

    #[test]
    fn bad_bytes_and_a_failed_write_cost_one_line_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        let j = Journal::open(&path, &mut []).unwrap();
        j.append(hop_job(1));
        // A line torn inside a multi-byte character: not UTF-8.
        {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"{\"type\":\"error\",\"detail\":\"\xe2\x80\n")
                .unwrap();
        }
        j.append(hop_job(2));
        assert_eq!(seqs(&read_spool(&path)), [1, 2]);
        // After a write that failed part-way, the next line starts on a line of its own.
        {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"{\"done\":[").unwrap();
        }
        j.lock().torn = true;
        j.append(hop_job(3));
        assert_eq!(seqs(&read_spool(&path)), [1, 2, 3]);
        // An error that replaces a record: both lines in one write.
        let e = Job::Error {
            chain: "c".into(),
            psiid: "Org1:NameWriter:1".into(),
            error: HopErrorInput {
                kind: ErrorKind::Replay,
                detail: "replay".into(),
                src: "127.0.0.10:5000".into(),
                input_hash: format!("{:064x}", 2),
            },
            id: 0,
        };
        j.append_replacing(e, Some(2));
        assert_eq!(seqs(&read_spool(&path)), [1, 3, u64::MAX]);
        assert_eq!(j.pending_lines().len(), 3);
    }

    #[test]
    fn an_unreadable_spool_is_set_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: reading it fails.
        let path = dir.path().join("spool.jsonl");
        std::fs::create_dir(&path).unwrap();
        assert!(read_spool(&path).is_empty());
        assert!(!path.exists());
        assert!(dir.path().join("spool.jsonl.unreadable").is_dir());
    }

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
