//! The SF's local view of the ledger, kept fresh by chaincode events (DESIGN §5): the served
//! chains' configuration (`ChainCreated`/`ChainUpdated` → `GetChain`), each chain's auth
//! verdict and learned endpoints (from `CheckIn` answers, with a time-to-live because
//! credentials change without an event), the recent `out` hashes of every hop
//! (`HopRecorded`), and the input hashes this SF accepted (its local replay guard).
//!
//! Validation asks the view first and calls `CheckIn` only for what the view does not know.
//! A broken event stream is reopened with back-off, and the chains are re-read each time,
//! since events may have been missed; hashes missed meanwhile are found by `CheckIn`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sfcbc_chaincode::types::{Chain, ChainState, ErrorKind, Hop, NextHop, Verdict};
use tokio::sync::{Notify, watch};

use super::config::{HopRef, ValidationConfig, ms};
use super::ledger::{LedgerError, SfLedger};
use super::metrics::Metrics;
use crate::sfc::SfcEvent;

/// Hop-1 sources remembered per chain (a chain has one source endpoint and a classifier).
const MAX_LEARNED_SOURCES: usize = 64;

/// How long one datagram's `CheckIn` may take to decide the credential verdict before the
/// next datagram tries (meanwhile the others wait for it, or use the expired verdict).
pub const AUTH_RENEWAL: Duration = Duration::from_secs(5);

/// A FIFO-bounded set of hashes.
#[derive(Debug, Default)]
pub(crate) struct RecentSet {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl RecentSet {
    fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            ..Default::default()
        }
    }

    /// False when already present.
    fn insert(&mut self, h: &str) -> bool {
        if !self.set.insert(h.to_string()) {
            return false;
        }
        self.order.push_back(h.to_string());
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    fn contains(&self, h: &str) -> bool {
        self.set.contains(h)
    }
}

/// What the view knows about one served chain.
#[derive(Debug)]
struct ChainEntry {
    chain: Chain,
    /// The last `CheckIn`'s auth outcome and when it came: `Err(reason)` for a mismatch.
    auth: Option<(Result<(), String>, Instant)>,
    /// Since when one datagram's `CheckIn` is deciding the `auth` verdict (there is none
    /// yet, or it expired): meanwhile the other datagrams wait for it, or use the expired
    /// one ([`LedgerView::claim_auth_check`], [`LedgerView::snapshot_at`]).
    auth_renewal: Option<Instant>,
    /// Hop 1 sources accepted by `CheckIn` or configured (the private source endpoint).
    sources: HashSet<String>,
    /// The destination `CheckIn` named for the last hop (private to its SP).
    destination: Option<NextHop>,
}

/// One served hop as the view sees it now.
#[derive(Debug, Clone)]
pub struct HopSnapshot {
    pub chain: String,
    pub version: u64,
    pub state: ChainState,
    pub index: usize,
    pub hop: Hop,
    pub prev: Option<Hop>,
    pub next: Option<Hop>,
    pub classifier: Option<String>,
    /// `None`: unknown or expired.
    pub auth: Option<Result<(), String>>,
    pub sources: HashSet<String>,
    pub destination: Option<NextHop>,
}

impl HopSnapshot {
    /// Where an accepted datagram goes, when the view knows.
    pub fn next_hop(&self) -> Option<NextHop> {
        match &self.next {
            Some(n) => Some(NextHop {
                psiid: Some(n.psiid.clone()),
                address: n.address.clone(),
            }),
            None => self.destination.clone(),
        }
    }

    /// Whether the next hop validates by hash (so we forward only after our record commits).
    pub fn next_checks_hash(&self) -> bool {
        self.next
            .as_ref()
            .is_some_and(|n| n.validation.checks_hash())
    }
}

#[derive(Debug, Default)]
struct State {
    chains: HashMap<String, ChainEntry>,
    /// Built snapshots by index into `LedgerView::hops`, with when they expire (the auth
    /// verdict's time-to-live); cleared on every change to `chains`.
    snaps: HashMap<usize, (Arc<HopSnapshot>, Option<Instant>)>,
    /// (chain, psiid) → recent output hashes recorded by that hop.
    outs: HashMap<(String, String), RecentSet>,
    /// (chain, psiid) of ours → input hashes accepted here.
    used: HashMap<(String, String), RecentSet>,
}

/// The SF's event-fed view of the ledger.
pub struct LedgerView {
    ledger: Arc<dyn SfLedger>,
    hops: Vec<HopRef>,
    config: ValidationConfig,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
    /// Woken on every new `out` hash, chain change and `CheckIn` answer: datagrams waiting
    /// for a previous hop's record or for another datagram's credential check look again.
    changed: Notify,
}

impl std::fmt::Debug for LedgerView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerView")
            .field("hops", &self.hops)
            .finish()
    }
}

impl LedgerView {
    pub fn new(
        ledger: Arc<dyn SfLedger>,
        hops: Vec<HopRef>,
        config: ValidationConfig,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            ledger,
            hops,
            config,
            metrics,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        })
    }

    pub fn ledger(&self) -> &Arc<dyn SfLedger> {
        &self.ledger
    }

    pub fn hops(&self) -> &[HopRef] {
        &self.hops
    }

    pub fn config(&self) -> &ValidationConfig {
        &self.config
    }

    /// Whether the event stream is open and every served chain loaded (what `/healthz`
    /// says): only then is a hash missing from the view worth waiting for.
    pub fn following(&self) -> bool {
        self.metrics.ready.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent: recover from poisoning.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The served hop `psiid` of `chain`, if its chain is loaded and still has the hop.
    pub fn snapshot(&self, chain: &str, psiid: &str) -> Option<Arc<HopSnapshot>> {
        let i = self
            .hops
            .iter()
            .position(|h| h.chain == chain && h.psiid == psiid);
        match i {
            Some(i) => self.snapshot_at(i),
            None => self
                .build_snapshot(&self.lock(), chain, psiid)
                .map(|(s, _)| Arc::new(s)),
        }
    }

    /// The served hop `hops()[i]` (built once per change, shared: this is per datagram).
    ///
    /// When the auth verdict has expired (`auth_ttl_ms`) and one datagram is renewing it
    /// ([`LedgerView::claim_auth_check`]), the others keep the expired verdict until the
    /// answer comes (at most [`AUTH_RENEWAL`]) instead of each asking `CheckIn` too. A
    /// verdict older than twice the time-to-live is never used.
    pub fn snapshot_at(&self, i: usize) -> Option<Arc<HopSnapshot>> {
        let h = self.hops.get(i)?;
        let mut st = self.lock();
        if let Some((snap, expires)) = st.snaps.get(&i)
            && expires.is_none_or(|t| Instant::now() < t)
        {
            return Some(snap.clone());
        }
        let (snap, expires) = self.build_snapshot(&st, &h.chain, &h.psiid)?;
        let snap = Arc::new(snap);
        st.snaps.insert(i, (snap.clone(), expires));
        Some(snap)
    }

    /// Claims the one `CheckIn` that decides `chain`'s credential verdict while the view
    /// has none (first datagrams, after a chain update) or an expired one: true for the
    /// first caller, false while that caller's answer is pending (for [`AUTH_RENEWAL`] at
    /// most; then the next caller claims it).
    pub fn claim_auth_check(&self, chain: &str) -> bool {
        let mut st = self.lock();
        let Some(e) = st.chains.get_mut(chain) else {
            return true;
        };
        let now = Instant::now();
        if e.auth_renewal
            .is_some_and(|since| now < since + AUTH_RENEWAL)
        {
            return false;
        }
        e.auth_renewal = Some(now);
        // A snapshot built before the claim holds no verdict; the next one may use the
        // expired verdict.
        st.snaps.clear();
        true
    }

    fn build_snapshot(
        &self,
        st: &State,
        chain: &str,
        psiid: &str,
    ) -> Option<(HopSnapshot, Option<Instant>)> {
        let e = st.chains.get(chain)?;
        let (index, hop) = e.chain.hop(psiid)?;
        let ttl = ms(self.config.auth_ttl_ms);
        let now = Instant::now();
        // Fresh: until `at + ttl`. Expired but being renewed: until the renewal is answered
        // or overdue (and never past `at + 2 × ttl`).
        let renewing = e.auth_renewal.map(|since| since + AUTH_RENEWAL);
        let auth = e.auth.as_ref().and_then(|(a, at)| {
            let until = if now < *at + ttl {
                *at + ttl
            } else {
                renewing?.min(*at + ttl * 2)
            };
            (now < until).then_some((a, until))
        });
        let snap = HopSnapshot {
            chain: chain.to_string(),
            version: e.chain.version,
            state: e.chain.state,
            index,
            hop: hop.clone(),
            prev: index.checked_sub(1).map(|i| e.chain.hops[i].clone()),
            next: e.chain.hops.get(index + 1).cloned(),
            classifier: e.chain.classifier.clone(),
            auth: auth.map(|(a, _)| a.clone()),
            sources: e.sources.clone(),
            destination: e.destination.clone(),
        };
        Some((snap, auth.map(|(_, until)| until)))
    }

    /// Whether hop `psiid` of `chain` recorded an output with this hash (seen in events).
    pub fn has_out(&self, chain: &str, psiid: &str, hash: &str) -> bool {
        self.lock()
            .outs
            .get(&(chain.to_string(), psiid.to_string()))
            .is_some_and(|s| s.contains(hash))
    }

    /// Whether this SF already accepted `hash` at its hop.
    pub fn is_used(&self, chain: &str, psiid: &str, hash: &str) -> bool {
        self.lock()
            .used
            .get(&(chain.to_string(), psiid.to_string()))
            .is_some_and(|s| s.contains(hash))
    }

    /// Marks `hash` accepted at our hop; false when it already was (a replay).
    pub fn try_use(&self, chain: &str, psiid: &str, hash: &str) -> bool {
        let cap = self.config.recent_hashes;
        self.lock()
            .used
            .entry((chain.to_string(), psiid.to_string()))
            .or_insert_with(|| RecentSet::new(cap))
            .insert(hash)
    }

    /// Records an output hash of hop `psiid` (from an event, or our own commit).
    pub fn add_outs(&self, chain: &str, psiid: &str, hashes: &[String]) {
        if hashes.is_empty() {
            // A `HopRecorded` whose next hop does not validate by hash: nothing to wake for.
            return;
        }
        let cap = self.config.recent_hashes;
        {
            let mut st = self.lock();
            let set = st
                .outs
                .entry((chain.to_string(), psiid.to_string()))
                .or_insert_with(|| RecentSet::new(cap));
            for h in hashes {
                set.insert(h);
            }
        }
        self.changed.notify_waiters();
    }

    /// A future that resolves at the next change (an `out` hash, a chain, a `CheckIn`
    /// answer). Create it *before* looking, so that a change between the look and the wait
    /// is not missed.
    pub fn changes(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Learns from a `CheckIn` answer.
    pub fn learn(&self, chain: &str, psiid: &str, src: &str, verdict: &Verdict) {
        let mut st = self.lock();
        st.snaps.clear();
        let Some(e) = st.chains.get_mut(chain) else {
            return;
        };
        let index = e.chain.hop(psiid).map(|(i, _)| i);
        match verdict.failed {
            Some(ErrorKind::Auth) => e.auth = Some((Err(verdict.reason.clone()), Instant::now())),
            // A disabled chain answers before the auth check: nothing learned.
            Some(ErrorKind::Config) => {}
            _ => e.auth = Some((Ok(()), Instant::now())),
        }
        e.auth_renewal = None;
        if verdict.ok {
            // Only an `address` check makes an accepted source meaningful (and keeps the set
            // from growing with every source a `none` hop accepts).
            if index == Some(0)
                && e.chain.hops[0].validation.checks_address()
                && e.sources.len() < MAX_LEARNED_SOURCES
            {
                e.sources.insert(src.to_string());
            }
            if index.is_some_and(|i| i + 1 == e.chain.hops.len()) {
                e.destination = verdict.next_hop.clone();
            }
        }
        drop(st);
        // Datagrams waiting for this verdict look again.
        self.changed.notify_waiters();
    }

    /// Installs a chain read from the ledger; a new version forgets what depended on the old.
    fn set_chain(&self, chain: Chain) {
        let configured: Vec<String> = self
            .hops
            .iter()
            .filter(|h| h.chain == chain.id)
            .flat_map(|h| h.sources.iter().cloned())
            .collect();
        {
            let mut st = self.lock();
            st.snaps.clear();
            match st.chains.get_mut(&chain.id) {
                Some(e) if e.chain.version == chain.version => {}
                Some(e) if e.chain.version > chain.version => {}
                Some(e) => {
                    tracing::info!(
                        chain = %chain.id, version = chain.version, state = ?chain.state,
                        "chain updated"
                    );
                    e.chain = chain;
                    e.auth = None;
                    e.auth_renewal = None;
                    e.destination = None;
                    e.sources = configured.into_iter().collect();
                }
                None => {
                    st.chains.insert(
                        chain.id.clone(),
                        ChainEntry {
                            chain,
                            auth: None,
                            auth_renewal: None,
                            sources: configured.into_iter().collect(),
                            destination: None,
                        },
                    );
                }
            }
        }
        self.changed.notify_waiters();
    }

    fn served_chains(&self) -> Vec<String> {
        let mut v: Vec<String> = self.hops.iter().map(|h| h.chain.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// `CheckIn`, timed.
    pub async fn check_in(
        &self,
        chain: &str,
        psiid: &str,
        input_hash: &str,
        src: &str,
    ) -> Result<Verdict, LedgerError> {
        let t = Instant::now();
        let r = self.ledger.check_in(chain, psiid, input_hash, src).await;
        self.metrics.observe_ledger("CheckIn", t.elapsed());
        if r.is_err() {
            // No answer: let the next datagram claim the credential check at once instead
            // of every waiter waiting out its bound.
            if let Some(e) = self.lock().chains.get_mut(chain) {
                e.auth_renewal = None;
            }
            self.changed.notify_waiters();
        }
        r
    }

    /// `GetChain` for one served chain.
    pub async fn refresh(&self, chain: &str) -> Result<(), LedgerError> {
        let t = Instant::now();
        let r = self.ledger.get_chain(chain).await;
        self.metrics.observe_ledger("GetChain", t.elapsed());
        self.set_chain(r?);
        Ok(())
    }

    /// `GetChain` for every served chain; true when all are loaded.
    pub async fn refresh_all(&self) -> bool {
        let mut all = true;
        for chain in self.served_chains() {
            if let Err(e) = self.refresh(&chain).await {
                tracing::warn!(%chain, "cannot read chain: {e}");
                all = false;
            }
        }
        all
    }

    fn missing_chains(&self) -> Vec<String> {
        let st = self.lock();
        self.served_chains()
            .into_iter()
            .filter(|c| !st.chains.contains_key(c))
            .collect()
    }

    async fn on_event(&self, event: SfcEvent) {
        match event {
            SfcEvent::ChainCreated(p) | SfcEvent::ChainUpdated(p) => {
                if self.hops.iter().any(|h| h.chain == p.chain)
                    && let Err(e) = self.refresh(&p.chain).await
                {
                    tracing::warn!(chain = %p.chain, "cannot re-read updated chain: {e}");
                }
            }
            SfcEvent::HopRecorded(e) => {
                if self.hops.iter().any(|h| h.chain == e.chain) {
                    self.add_outs(&e.chain, &e.psiid, &e.outputs);
                }
            }
            SfcEvent::HopRejected(_) | SfcEvent::Other(_) => {}
        }
    }

    /// Follows the chaincode events until `shutdown` fires, reopening the stream with
    /// back-off when it breaks. Marks the SF ready once every chain is loaded, and not
    /// ready while the stream is down (datagrams are still served from the view and
    /// `CheckIn`).
    pub async fn follow_events(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let max = ms(self.config.events_retry_max_ms).max(Duration::from_millis(100));
        let mut backoff = Duration::from_millis(100);
        let chains = self.served_chains();
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.ledger.events(&chains).await {
                Ok(mut stream) => {
                    // Opened first, then read: nothing between the two is missed.
                    if self.refresh_all().await {
                        self.metrics
                            .ready
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                        backoff = Duration::from_millis(100);
                    }
                    let mut tick = tokio::time::interval(Duration::from_secs(1));
                    loop {
                        tokio::select! {
                            _ = shutdown.changed() => return,
                            _ = tick.tick() => {
                                for c in self.missing_chains() {
                                    if self.refresh(&c).await.is_ok() && self.missing_chains().is_empty() {
                                        self.metrics.ready.store(true, std::sync::atomic::Ordering::SeqCst);
                                    }
                                }
                            }
                            ev = stream.next() => match ev {
                                Some(Ok(ev)) => self.on_event(ev).await,
                                Some(Err(LedgerError::Lagged(n))) => {
                                    tracing::warn!("event stream lost {n} events; re-reading chains");
                                    self.refresh_all().await;
                                }
                                Some(Err(LedgerError::Other(e))) => {
                                    tracing::warn!("undecodable chaincode event skipped: {e}");
                                }
                                Some(Err(e)) => {
                                    tracing::warn!("event stream broke: {e}; reopening");
                                    break;
                                }
                                None => {
                                    tracing::warn!("event stream ended; reopening");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("cannot open the event stream: {e}; retrying in {backoff:?}")
                }
            }
            // Not following the ledger: /healthz says so until the stream is back.
            self.metrics
                .ready
                .store(false, std::sync::atomic::Ordering::SeqCst);
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(max);
        }
    }
}

/// Resolves when `rx` says stop.
pub(crate) async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}
