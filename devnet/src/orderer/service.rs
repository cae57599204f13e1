//! The ordering task of one channel: envelopes in, signed blocks chained by hash out.
//!
//! [`Orderer::start`] spawns the task; [`OrdererHandle`]s (cheap clones) broadcast envelopes
//! to it and subscribe to its blocks. A batch is cut by the [`BlockCutter`] rules or when
//! BatchTimeout has passed since the batch's first envelope. Shutdown is designed in, as in
//! mini-redis: [`Orderer::shutdown`] (or dropping the [`Orderer`]) signals the task, which
//! orders what it has already accepted, writes a last block for the pending batch, closes
//! the archive (subscriptions end after the last block) and returns.

use std::sync::Arc;
use std::time::Duration;

use sfcbc_fabric::protos::common::{Envelope, Status};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::archive::{ArchiveError, BlockArchive, Subscription};
use super::cutter::{BatchSize, BlockCutter, TooLarge};
use crate::block::{BlockSigner, block_from_envelopes, block_hash, sign_block};

/// The orderer configuration of one channel.
#[derive(Debug, Clone)]
pub struct OrdererConfig {
    /// Names the channel in logs and errors.
    pub channel: String,
    pub batch_size: BatchSize,
    /// A pending batch is cut this long after its first envelope arrived.
    pub batch_timeout: Duration,
    /// Envelopes accepted but not yet seen by the task; a full queue makes `broadcast` wait
    /// (back-pressure instead of unbounded memory).
    pub queue_capacity: usize,
}

impl OrdererConfig {
    /// fabric-samples' defaults (2 s, 10 messages) for `channel`.
    pub fn new(channel: &str) -> Self {
        Self {
            channel: channel.to_owned(),
            batch_size: BatchSize::default(),
            batch_timeout: Duration::from_secs(2),
            queue_capacity: 10_000,
        }
    }
}

/// Why an envelope was not accepted, with the `common.Status` Fabric's Broadcast answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastError {
    /// Malformed or not acceptable on this channel (Fabric's info text).
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The creator may not write to the channel.
    #[error("{0}")]
    Forbidden(String),
    #[error("channel {channel}: the orderer is not running")]
    Unavailable { channel: String },
}

impl BroadcastError {
    /// The status in Fabric's `BroadcastResponse`.
    pub fn status(&self) -> Status {
        match self {
            Self::BadRequest(_) | Self::TooLarge(_) => Status::BadRequest,
            Self::Forbidden(_) => Status::Forbidden,
            Self::Unavailable { .. } => Status::ServiceUnavailable,
        }
    }
}

/// The ordering task failed; it stopped and closed the archive.
#[derive(Debug, thiserror::Error)]
pub enum OrdererError {
    #[error("channel {channel}: cannot write block: {source}")]
    Archive {
        channel: String,
        #[source]
        source: ArchiveError,
    },
    #[error("channel {channel}: the ordering task panicked (see the log)")]
    Panicked { channel: String },
}

/// What the task receives.
enum Request {
    /// A normal transaction: cut by the batch rules.
    Normal(Envelope),
    /// A config transaction: the pending batch is cut, then it goes in a block alone and
    /// becomes the channel's last config.
    Config(Envelope),
}

/// The running ordering service of one channel; owns the task.
#[derive(Debug)]
pub struct Orderer {
    handle: OrdererHandle,
    /// Dropping or sending on it tells the task to finish (mini-redis `notify_shutdown`).
    notify_shutdown: broadcast::Sender<()>,
    task: JoinHandle<Result<(), OrdererError>>,
}

/// Broadcasts envelopes to the orderer and reads its blocks; cheap to clone.
#[derive(Debug, Clone)]
pub struct OrdererHandle {
    channel: Arc<str>,
    /// For the size filter, checked before queueing as Fabric checks before ordering.
    batch_size: BatchSize,
    requests: mpsc::Sender<Request>,
    archive: Arc<BlockArchive>,
}

impl Orderer {
    /// Starts ordering after the last block in `archive` (a channel's genesis block is
    /// appended to the archive before starting). Must run inside a tokio runtime.
    pub fn start(
        config: OrdererConfig,
        signer: Arc<dyn BlockSigner>,
        archive: Arc<BlockArchive>,
    ) -> Result<Self, OrdererError> {
        let (next_number, previous_hash, last_config) =
            archive.tip().map_err(|source| OrdererError::Archive {
                channel: config.channel.clone(),
                source,
            })?;
        let (requests_tx, requests_rx) = mpsc::channel(config.queue_capacity.max(1));
        let (notify_shutdown, shutdown_rx) = broadcast::channel(1);
        let handle = OrdererHandle {
            channel: config.channel.as_str().into(),
            batch_size: config.batch_size,
            requests: requests_tx,
            archive: archive.clone(),
        };
        let task = OrderingTask {
            cutter: BlockCutter::new(config.batch_size),
            config,
            signer,
            archive,
            next_number,
            previous_hash,
            last_config,
        };
        let task = tokio::spawn(task.run(requests_rx, shutdown_rx));
        Ok(Self {
            handle,
            notify_shutdown,
            task,
        })
    }

    /// A handle to broadcast and subscribe.
    pub fn handle(&self) -> OrdererHandle {
        self.handle.clone()
    }

    /// Orders everything already accepted, writes the pending batch as a last block, and
    /// stops. Broadcasts after this fail with [`BroadcastError::Unavailable`].
    pub async fn shutdown(self) -> Result<(), OrdererError> {
        let Self {
            handle,
            notify_shutdown,
            task,
        } = self;
        // An error only means the task has already stopped.
        let _ = notify_shutdown.send(());
        task.await.unwrap_or_else(|_| {
            Err(OrdererError::Panicked {
                channel: handle.channel.to_string(),
            })
        })
    }
}

impl OrdererHandle {
    /// Fabric's Broadcast for a normal transaction: `Ok` once the orderer has accepted the
    /// envelope for ordering (SUCCESS); it will be in a block unless the orderer crashes.
    /// Checks Fabric's EmptyRejectRule and size filter first; the Writers policy is the
    /// [`super::Registrar`]'s.
    pub async fn broadcast(&self, envelope: Envelope) -> Result<(), BroadcastError> {
        if envelope.payload.is_empty() {
            return Err(BroadcastError::BadRequest("Message was empty".into()));
        }
        self.batch_size.check(&envelope)?;
        self.send(Request::Normal(envelope)).await
    }

    /// Broadcast for a config transaction (already validated by the caller): it is ordered
    /// alone in its own block, which becomes the channel's last config block.
    pub async fn broadcast_config(&self, envelope: Envelope) -> Result<(), BroadcastError> {
        self.batch_size.check(&envelope)?;
        self.send(Request::Config(envelope)).await
    }

    /// Blocks from `from` on, waiting for new ones (Deliver).
    pub fn subscribe(&self, from: u64) -> Subscription {
        self.archive.subscribe(from)
    }

    /// Number of blocks written so far.
    pub fn height(&self) -> u64 {
        self.archive.height()
    }

    /// The archive, to read blocks by number.
    pub fn archive(&self) -> &Arc<BlockArchive> {
        &self.archive
    }

    /// The channel this orderer serves.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    async fn send(&self, request: Request) -> Result<(), BroadcastError> {
        self.requests
            .send(request)
            .await
            .map_err(|_| BroadcastError::Unavailable {
                channel: self.channel.to_string(),
            })
    }
}

/// A pending batch's [`sleep_until_precisely`].
type BatchTimer = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// How long before a deadline the tokio timer hands over to a blocking sleep.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// Sleeps until `deadline`, to within tens of microseconds.
///
/// tokio's timer wheel has millisecond ticks and fires on the first tick after the
/// deadline: 0.3–1.3 ms late on this kind of machine, i.e. up to 2.6 % of the default
/// 50 ms BatchTimeout, added to the latency of every block cut by time. Fabric's Go timers
/// fire on time. So the wheel sleeps until [`TIMER_SLACK`] before the deadline and a
/// blocking thread (`nanosleep`) sleeps the rest. Dropping the future while that thread
/// sleeps only leaves it to finish its last ≤ 2 ms.
pub(super) async fn sleep_until_precisely(deadline: Instant) {
    if let Some(early) = deadline.checked_sub(TIMER_SLACK) {
        tokio::time::sleep_until(early).await;
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        // A JoinError only says the runtime is shutting down: stop waiting either way.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// State owned by the ordering task.
struct OrderingTask {
    config: OrdererConfig,
    cutter: BlockCutter,
    signer: Arc<dyn BlockSigner>,
    archive: Arc<BlockArchive>,
    /// Number of the next block.
    next_number: u64,
    /// Header hash of the last block written.
    previous_hash: Vec<u8>,
    /// Number of the latest config block, recorded in every block's metadata.
    last_config: u64,
}

impl OrderingTask {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut shutdown: broadcast::Receiver<()>,
    ) -> Result<(), OrdererError> {
        let result = self.order(&mut requests, &mut shutdown).await;
        // Whatever happened, subscribers must not wait for blocks that will never come.
        self.archive.close();
        if let Err(e) = &result {
            tracing::error!(channel = %self.config.channel, error = %e, "ordering stopped");
        }
        result
    }

    async fn order(
        &mut self,
        requests: &mut mpsc::Receiver<Request>,
        shutdown: &mut broadcast::Receiver<()>,
    ) -> Result<(), OrdererError> {
        // When the pending batch must be cut; None while nothing is pending.
        let mut deadline: Option<Instant> = None;
        // The timer for `deadline`, kept across envelopes: rebuilt only when it changes.
        let mut timer: Option<(Instant, BatchTimer)> = None;
        loop {
            if timer.as_ref().map(|(d, _)| *d) != deadline {
                timer = deadline.map(|d| (d, Box::pin(sleep_until_precisely(d)) as BatchTimer));
            }
            let expired = async {
                match timer.as_mut() {
                    Some((_, t)) => t.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // Shutdown first, then an expired timer (so a steady stream of envelopes
                // cannot starve BatchTimeout), then new envelopes.
                biased;
                // Sent or the sender dropped: either way, stop.
                _ = shutdown.recv() => break,
                () = expired => {
                    timer = None;
                    deadline = None;
                    let batch = self.cutter.cut();
                    self.write_block(batch, false).await?;
                }
                request = requests.recv() => match request {
                    Some(request) => deadline = self.process(request, deadline).await?,
                    // Every handle and the Orderer are gone.
                    None => break,
                },
            }
        }
        // Graceful stop: refuse new envelopes, order the ones already accepted, flush.
        requests.close();
        while let Ok(request) = requests.try_recv() {
            self.process(request, None).await?;
        }
        let batch = self.cutter.cut();
        self.write_block(batch, false).await?;
        tracing::debug!(channel = %self.config.channel, height = self.next_number, "orderer stopped");
        Ok(())
    }

    /// Orders one request; returns the new batch deadline.
    async fn process(
        &mut self,
        request: Request,
        deadline: Option<Instant>,
    ) -> Result<Option<Instant>, OrdererError> {
        match request {
            Request::Normal(envelope) => {
                let ordered = self.cutter.ordered(envelope);
                let cut_any = !ordered.batches.is_empty();
                for batch in ordered.batches {
                    self.write_block(batch, false).await?;
                }
                Ok(match (ordered.pending, deadline) {
                    (false, _) => None,
                    // A cut happened, so the pending batch starts with this envelope.
                    (true, _) if cut_any => Some(Instant::now() + self.config.batch_timeout),
                    (true, None) => Some(Instant::now() + self.config.batch_timeout),
                    (true, Some(d)) => Some(d),
                })
            }
            Request::Config(envelope) => {
                let pending = self.cutter.cut();
                self.write_block(pending, false).await?;
                self.write_block(vec![envelope], true).await?;
                Ok(None)
            }
        }
    }

    /// Builds, signs and archives the next block; an empty batch writes nothing.
    async fn write_block(
        &mut self,
        batch: Vec<Envelope>,
        is_config: bool,
    ) -> Result<(), OrdererError> {
        if batch.is_empty() {
            return Ok(());
        }
        let number = self.next_number;
        let mut block = block_from_envelopes(number, self.previous_hash.clone(), &batch);
        if is_config {
            self.last_config = number;
        }
        sign_block(&mut block, self.last_config, self.signer.as_ref());
        let hash = block_hash(&block);
        let appended = if self.archive.is_durable() {
            // A durable append waits for fsync: keep it off the async workers.
            let archive = self.archive.clone();
            tokio::task::spawn_blocking(move || archive.append(block))
                .await
                .map_err(|_| OrdererError::Panicked {
                    channel: self.config.channel.clone(),
                })?
        } else {
            self.archive.append(block)
        };
        appended.map_err(|source| OrdererError::Archive {
            channel: self.config.channel.clone(),
            source,
        })?;
        tracing::debug!(channel = %self.config.channel, number, txs = batch.len(), "block cut");
        self.next_number += 1;
        self.previous_hash = hash.to_vec();
        Ok(())
    }
}
