//! The SF's Prometheus metrics (DESIGN §5) and the small HTTP server for `/metrics` and
//! `/healthz`. Metrics are updated where the thing they measure happens; this file only
//! declares them and serves them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs .. ~26 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

fn label(k: &str, v: &str) -> Labels {
    vec![(k.to_string(), v.to_string())]
}

/// Everything the SF counts.
pub struct Metrics {
    registry: Registry,
    pub received: Counter,
    pub forwarded: Counter,
    dropped: Family<Labels, Counter>,
    validation: HistogramFamily,
    ledger: HistogramFamily,
    pub queue_depth: Gauge,
    /// Times a datagram waited for room in the full record queue.
    pub backpressure: Counter,
    records: Family<Labels, Counter>,
    /// Set once the ledger view has loaded the chains; `/healthz` says so.
    pub ready: AtomicBool,
    /// The reasons `dropped` has seen, for [`Self::dropped_by_reason`].
    drop_reasons: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("received", &self.received.get())
            .field("forwarded", &self.forwarded.get())
            .finish()
    }
}

impl Metrics {
    /// Metrics under the prefix `prefix` (`sfcbc_sf`, `sfcbc_classifier`).
    pub fn new(prefix: &str) -> Arc<Self> {
        Arc::new(Self::build(prefix))
    }

    /// Unshared, to register more metrics ([`Self::register_family`]) before sharing.
    pub fn build(prefix: &str) -> Self {
        let mut registry = Registry::with_prefix(prefix);
        let m = Metrics {
            received: Counter::default(),
            forwarded: Counter::default(),
            dropped: Family::default(),
            validation: Family::new_with_constructor(latency_histogram),
            ledger: Family::new_with_constructor(latency_histogram),
            queue_depth: Gauge::default(),
            backpressure: Counter::default(),
            records: Family::default(),
            ready: AtomicBool::new(false),
            drop_reasons: Default::default(),
            registry: Registry::default(),
        };
        registry.register("received", "Datagrams received", m.received.clone());
        registry.register("forwarded", "Datagrams forwarded", m.forwarded.clone());
        registry.register(
            "dropped",
            "Datagrams dropped, by reason (auth, source, hash, replay, config, function, forward, unvalidated)",
            m.dropped.clone(),
        );
        registry.register(
            "validation_seconds",
            "Time to validate a datagram, by policy",
            m.validation.clone(),
        );
        registry.register(
            "ledger_seconds",
            "Ledger call latency, by call",
            m.ledger.clone(),
        );
        registry.register(
            "record_queue_depth",
            "Records and errors waiting to be submitted",
            m.queue_depth.clone(),
        );
        registry.register(
            "record_backpressure",
            "Times a datagram waited because the record queue was full",
            m.backpressure.clone(),
        );
        registry.register(
            "records",
            "Records by outcome (committed, replay, failed, spooled, lost; error-committed, error-failed)",
            m.records.clone(),
        );
        Metrics { registry, ..m }
    }

    pub fn dropped(&self, reason: &str) {
        self.dropped.get_or_create(&label("reason", reason)).inc();
        let mut seen = self
            .drop_reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !seen.contains(reason) {
            seen.insert(reason.to_owned());
        }
    }

    /// Datagrams dropped so far, by reason (only reasons that occurred).
    pub fn dropped_by_reason(&self) -> std::collections::BTreeMap<String, u64> {
        let seen = self
            .drop_reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        seen.into_iter()
            .map(|r| {
                let n = self.dropped_count(&r);
                (r, n)
            })
            .collect()
    }

    pub fn dropped_count(&self, reason: &str) -> u64 {
        self.dropped.get_or_create(&label("reason", reason)).get()
    }

    pub fn observe_validation(&self, policy: &str, d: Duration) {
        self.validation
            .get_or_create(&label("policy", policy))
            .observe(d.as_secs_f64());
    }

    pub fn observe_ledger(&self, call: &str, d: Duration) {
        self.ledger
            .get_or_create(&label("call", call))
            .observe(d.as_secs_f64());
    }

    pub fn records(&self, outcome: &str, n: u64) {
        self.records
            .get_or_create(&label("outcome", outcome))
            .inc_by(n);
    }

    pub fn records_count(&self, outcome: &str) -> u64 {
        self.records.get_or_create(&label("outcome", outcome)).get()
    }

    /// A labelled counter of its own (e.g. the classifier's per-rule counts).
    pub fn register_family(&mut self, name: &str, help: &str) -> Family<Labels, Counter> {
        let f = Family::<Labels, Counter>::default();
        self.registry.register(name, help, f.clone());
        f
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Serves `/metrics` (Prometheus text) and `/healthz` (200 `ok` once ready, 503 before)
/// on `addr` until `shutdown`. Returns the bound address (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let m = metrics.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        m.encode(),
                    )
                }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let m = metrics.clone();
                async move {
                    if m.ready.load(Ordering::SeqCst) {
                        (StatusCode::OK, "ok\n")
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "starting: chains not loaded\n",
                        )
                    }
                }
            }),
        );
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("metrics server on {local} stopped: {e}");
        }
    });
    Ok((local, handle))
}
