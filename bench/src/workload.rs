//! The commit workload that `sfcbc-bench devnet` and `sfcbc-bench fabric` share: a blind
//! write through the Gateway with real signatures, measured per concurrency, against the
//! evaluate-only rate of the same proposal measured in the same run.
//!
//! The transaction is `put KEY VALUE` of sfcbc-ccaas's `KvContract` (`sfcbc-ccaas serve
//! --contract kv`): one `PutState` of a unique key, no reads, so no MVCC conflicts. Each of
//! `concurrency` workers loops build → sign → endorse → sign → submit → CommitStatus.
//! Throughput counts the VALID commits that complete inside the measured window (after a
//! warm-up); latency is from building the proposal to the commit status.
//!
//! Baseline, same network, same concurrency: the same proposal *evaluated* (signed,
//! endorsed by the gateway's own peer, never ordered). `ratio = committed_tx_per_s /
//! evaluate_tx_per_s` is the share of the endorse-only rate left once ordering, validation
//! and commit are added. Profile: the client-side time per stage (endorse, submit = ordering
//! service accepted it, commit wait = batch cut + delivery + validation + commit + status)
//! and the mean block size.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use sfcbc_client::Contract;
use tokio::sync::Mutex;

use crate::stats::{Summary, round1, round3};
use crate::ui::{Ui, table};

/// How long and how hard to drive one chaincode.
#[derive(Debug, Clone)]
pub struct Load {
    /// Measured time per concurrency level.
    pub duration: Duration,
    /// Measured time of the evaluate baseline per level.
    pub baseline_duration: Duration,
    /// Unmeasured time before each window (connections, caches, the pipeline filling).
    pub warmup: Duration,
    /// Transactions in flight (workers), one run each.
    pub concurrency: Vec<usize>,
    /// Bytes of the value written.
    pub value_size: usize,
}

impl Load {
    /// The default: 6 s per level (3 s of evaluate), 1 s warm-up, concurrency 1, 16, 128 (the
    /// issue's levels) and 512 (more transactions per BatchTimeout: the level that shows
    /// throughput rather than latency on a 2-core machine).
    pub fn standard() -> Load {
        Load {
            duration: Duration::from_secs(6),
            baseline_duration: Duration::from_secs(3),
            warmup: Duration::from_secs(1),
            concurrency: vec![1, 16, 128, 512],
            value_size: 32,
        }
    }

    /// A few seconds: proves the harness works (tests, CI); figures mean little.
    pub fn quick() -> Load {
        Load {
            duration: Duration::from_millis(1_000),
            baseline_duration: Duration::from_millis(500),
            warmup: Duration::from_millis(200),
            concurrency: vec![4],
            value_size: 32,
        }
    }

    /// Sets the measured time per level; the evaluate baseline takes half.
    pub fn set_duration(&mut self, secs: f64) -> anyhow::Result<()> {
        anyhow::ensure!(
            secs.is_finite() && secs > 0.0 && secs <= 3600.0,
            "--duration must be a number of seconds in (0, 3600]"
        );
        self.duration = Duration::from_secs_f64(secs);
        self.baseline_duration = self.duration / 2;
        Ok(())
    }

    /// Sets the concurrency levels (positive, at most 10 000 each).
    pub fn set_concurrency(&mut self, c: Vec<usize>) -> anyhow::Result<()> {
        anyhow::ensure!(
            !c.is_empty() && c.iter().all(|&c| (1..=10_000).contains(&c)),
            "--concurrency takes numbers from 1 to 10000, comma-separated"
        );
        self.concurrency = c;
        Ok(())
    }

    /// What the JSON says the transaction is.
    pub fn transaction(&self, signer: &str, gateway: &str) -> String {
        format!(
            "kv put KEY VALUE: one blind write of a unique key, {}-byte value, no reads; \
             signed by {signer} (ECDSA P-256), through {gateway}",
            self.value_size
        )
    }
}

/// One measured point, exactly the shape.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub policy: String,
    pub concurrency: usize,
    pub committed_tx_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The evaluate-only baseline of a run and the ratio against it.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub policy: String,
    pub concurrency: usize,
    pub evaluate_tx_per_s: f64,
    pub evaluate_p50_ms: f64,
    pub evaluate_p99_ms: f64,
    /// committed_tx_per_s / evaluate_tx_per_s.
    pub ratio: f64,
}

/// Where a run's time went, as the client sees each stage.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub policy: String,
    pub concurrency: usize,
    pub committed: u64,
    pub failed: u64,
    /// Build + sign + Endorse (gateway → endorsing peers: check, simulate, sign).
    pub endorse_ms: Summary,
    /// Sign + Submit (gateway → orderer Broadcast accepted).
    pub submit_ms: Summary,
    /// CommitStatus: waiting for the block to be cut, delivered, validated and committed.
    pub commit_wait_ms: Summary,
    pub mean_txs_per_block: f64,
    pub first_errors: Vec<String>,
}

/// Single-core ECDSA P-256 rates of the signer the fabric crate uses (ring, with Fabric's
/// low-S rule), measured in the same run: the work every transaction repeats (client signs
/// proposal and envelope, endorsers verify and sign, orderer and validators verify).
#[derive(Debug, Clone, Serialize)]
pub struct CryptoBaseline {
    pub ecdsa_p256_sign_per_s: f64,
    pub ecdsa_p256_verify_per_s: f64,
}

/// Measures [`CryptoBaseline`] for about `time` on one core, through
/// `sfcbc_fabric::signer` exactly as peers and clients sign and verify.
pub fn crypto_baseline(time: Duration) -> anyhow::Result<CryptoBaseline> {
    use sfcbc_fabric::signer::PrivateKey;
    let scalar = p256::ecdsa::SigningKey::from_slice(&[7u8; 32])?;
    let key = PrivateKey::from_p256(scalar)?;
    let public = key.public_key();
    let msg = vec![0x5au8; 2_000];
    let rate = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < time / 2 {
            f();
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let sign = rate(&mut || {
        std::hint::black_box(key.sign(&msg));
    });
    let sig = key.sign(&msg);
    public.verify(&msg, &sig)?;
    let verify = rate(&mut || {
        std::hint::black_box(public.verify(&msg, &sig).is_ok());
    });
    Ok(CryptoBaseline {
        ecdsa_p256_sign_per_s: round1(sign),
        ecdsa_p256_verify_per_s: round1(verify),
    })
}

/// Measures the crypto baseline off the runtime's workers (shorter for short runs) and
/// notes it.
pub async fn measure_crypto(ui: &Ui, load: &Load) -> anyhow::Result<CryptoBaseline> {
    let step = ui.step("measuring single-core ECDSA P-256 sign/verify rates");
    let t = if load.duration < Duration::from_secs(2) {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    };
    let crypto = tokio::task::spawn_blocking(move || crypto_baseline(t)).await??;
    step.finish_and_clear();
    ui.note(format!(
        "ECDSA P-256 on one core: {:.0} signs/s, {:.0} verifies/s",
        crypto.ecdsa_p256_sign_per_s, crypto.ecdsa_p256_verify_per_s
    ));
    Ok(crypto)
}

/// The runs of one or more chaincodes, in the order measured.
#[derive(Debug, Default)]
pub struct Results {
    pub runs: Vec<Run>,
    pub baseline: Vec<Baseline>,
    pub profile: Vec<Profile>,
}

#[derive(Default)]
struct Samples {
    total_ms: Vec<f64>,
    endorse_ms: Vec<f64>,
    submit_ms: Vec<f64>,
    wait_ms: Vec<f64>,
    blocks: HashMap<u64, u64>,
    errors: Vec<String>,
}

struct Window {
    from: Instant,
    to: Instant,
}

impl Window {
    fn new(warmup: Duration, duration: Duration) -> Window {
        let from = Instant::now() + warmup;
        Window {
            from,
            to: from + duration,
        }
    }
    fn contains(&self, t: Instant) -> bool {
        t >= self.from && t <= self.to
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

static KEY: AtomicU64 = AtomicU64::new(0);

/// Keys unique within this process and, through the start time, across runs against the
/// same long-lived ledger (a real network keeps its state between benchmark runs).
fn next_key(tag: &str) -> String {
    static RUN: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    });
    format!("{tag}-{run:x}-{}", KEY.fetch_add(1, Ordering::Relaxed))
}

/// Ticks a progress bar through a window, showing a live counter.
fn ticker(
    ui: &Ui,
    label: String,
    window: &Window,
    count: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let total = window.to.saturating_duration_since(Instant::now());
    let pb = ui.bar(total.as_millis() as u64, label.clone());
    let start = Instant::now();
    tokio::spawn(async move {
        loop {
            let e = start.elapsed();
            pb.set_position((e.as_millis() as u64).min(total.as_millis() as u64));
            pb.set_message(format!("{label}: {} tx", count.load(Ordering::Relaxed)));
            if e >= total {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pb.finish_and_clear();
    })
}

/// Submits blind writes with `concurrency` workers; returns (tx/s, samples, committed, failed).
async fn commit_run(
    ui: &Ui,
    contract: &Contract,
    concurrency: usize,
    load: &Load,
    label: String,
) -> (f64, Samples, u64, u64) {
    let window = Arc::new(Window::new(load.warmup, load.duration));
    let samples = Arc::new(Mutex::new(Samples::default()));
    let committed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let tick = ticker(ui, label, &window, committed.clone());
    let value = "v".repeat(load.value_size);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (contract, window, samples, committed, failed, value) = (
            contract.clone(),
            window.clone(),
            samples.clone(),
            committed.clone(),
            failed.clone(),
            value.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Samples::default();
            while Instant::now() < window.to {
                let t0 = Instant::now();
                let key = next_key("w");
                let outcome = async {
                    let mut tx = contract
                        .new_proposal("put")
                        .args(&[key.as_str(), value.as_str()])
                        .build()?
                        .endorse()
                        .await?;
                    let t1 = Instant::now();
                    let mut commit = tx.submit().await?;
                    let t2 = Instant::now();
                    let status = commit.status().await?;
                    Ok::<_, sfcbc_client::Error>((t1, t2, status))
                }
                .await;
                let t3 = Instant::now();
                match outcome {
                    Ok((t1, t2, status)) if status.successful() => {
                        if window.contains(t3) {
                            committed.fetch_add(1, Ordering::Relaxed);
                            *local.blocks.entry(status.block_number).or_default() += 1;
                        }
                        if window.contains(t0) {
                            local.total_ms.push(ms(t3 - t0));
                            local.endorse_ms.push(ms(t1 - t0));
                            local.submit_ms.push(ms(t2 - t1));
                            local.wait_ms.push(ms(t3 - t2));
                        }
                    }
                    Ok((_, _, status)) => {
                        if window.contains(t3) {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        if local.errors.len() < 3 {
                            local
                                .errors
                                .push(format!("{} {}", status.tx_id, status.code_name()));
                        }
                    }
                    Err(e) => {
                        if window.contains(t3) {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        if local.errors.len() < 3 {
                            local.errors.push(e.to_string());
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            let mut s = samples.lock().await;
            s.total_ms.extend(local.total_ms);
            s.endorse_ms.extend(local.endorse_ms);
            s.submit_ms.extend(local.submit_ms);
            s.wait_ms.extend(local.wait_ms);
            for (b, n) in local.blocks {
                *s.blocks.entry(b).or_default() += n;
            }
            if s.errors.len() < 5 {
                s.errors.extend(local.errors);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let _ = tick.await;
    let c = committed.load(Ordering::Relaxed);
    let f = failed.load(Ordering::Relaxed);
    let rate = c as f64 / load.duration.as_secs_f64();
    let s = std::mem::take(&mut *samples.lock().await);
    (rate, s, c, f)
}

/// Evaluates the same proposal with `concurrency` workers; returns (tx/s, latency).
async fn evaluate_run(
    ui: &Ui,
    contract: &Contract,
    concurrency: usize,
    load: &Load,
    label: String,
) -> (f64, Summary) {
    let window = Arc::new(Window::new(load.warmup / 2, load.baseline_duration));
    let done = Arc::new(AtomicU64::new(0));
    let tick = ticker(ui, label, &window, done.clone());
    let value = "v".repeat(load.value_size);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (contract, window, done, value) = (
            contract.clone(),
            window.clone(),
            done.clone(),
            value.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < window.to {
                let t0 = Instant::now();
                let key = next_key("e");
                let r = contract
                    .new_proposal("put")
                    .args(&[key.as_str(), value.as_str()])
                    .evaluate()
                    .await;
                let t1 = Instant::now();
                match r {
                    Ok(_) => {
                        if window.contains(t1) {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        if window.contains(t0) {
                            lat.push(ms(t1 - t0));
                        }
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap_or_default());
    }
    let _ = tick.await;
    let rate = done.load(Ordering::Relaxed) as f64 / load.baseline_duration.as_secs_f64();
    (rate, Summary::of(lat))
}

/// One `put` submitted and committed before anything is measured: proves the chaincode
/// answers the kv contract and warms connections and caches.
pub async fn warm_up(contract: &Contract) -> anyhow::Result<()> {
    let key = next_key("warm");
    contract
        .submit_transaction("put", &[key.as_str(), "up"])
        .await
        .with_context(|| {
            format!(
                "first `put` on chaincode {}: it must serve the kv contract \
                 (`sfcbc-ccaas serve --contract kv`)",
                contract.chaincode_name()
            )
        })?;
    Ok(())
}

/// Measures `contract` (already warmed up) at every concurrency of `load`, labelling the
/// runs `policy`; appends to `out`.
pub async fn measure(ui: &Ui, contract: &Contract, policy: &str, load: &Load, out: &mut Results) {
    for &c in &load.concurrency {
        let (eval_rate, eval_lat) =
            evaluate_run(ui, contract, c, load, format!("{policy} c={c} evaluate")).await;
        let (rate, s, committed, failed) =
            commit_run(ui, contract, c, load, format!("{policy} c={c} commit")).await;
        let total = Summary::of(s.total_ms);
        let blocks = s.blocks.len().max(1) as f64;
        let in_blocks: u64 = s.blocks.values().sum();
        ui.note(format!(
            "{policy:>5} c={c:<4} committed {rate:>7.1} tx/s  p50 {:>7.1} ms  p99 {:>7.1} ms   evaluate {eval_rate:>7.1} tx/s  ({failed} failed)",
            total.p50_ms, total.p99_ms,
        ));
        out.runs.push(Run {
            policy: policy.into(),
            concurrency: c,
            committed_tx_per_s: round1(rate),
            p50_ms: total.p50_ms,
            p99_ms: total.p99_ms,
        });
        out.baseline.push(Baseline {
            policy: policy.into(),
            concurrency: c,
            evaluate_tx_per_s: round1(eval_rate),
            evaluate_p50_ms: eval_lat.p50_ms,
            evaluate_p99_ms: eval_lat.p99_ms,
            ratio: if eval_rate > 0.0 {
                round3(rate / eval_rate)
            } else {
                0.0
            },
        });
        out.profile.push(Profile {
            policy: policy.into(),
            concurrency: c,
            committed,
            failed,
            endorse_ms: Summary::of(s.endorse_ms),
            submit_ms: Summary::of(s.submit_ms),
            commit_wait_ms: Summary::of(s.wait_ms),
            mean_txs_per_block: round1(in_blocks as f64 / blocks),
            first_errors: s.errors,
        });
    }
}

/// The human summary of runs with their baselines and profiles.
pub fn summary(runs: &[Run], baseline: &[Baseline], profile: &[Profile]) -> comfy_table::Table {
    let mut t = table(&[
        "policy",
        "conc.",
        "committed tx/s",
        "p50 ms",
        "p99 ms",
        "evaluate tx/s",
        "ratio",
        "endorse p50",
        "submit p50",
        "commit wait p50",
        "tx/block",
        "failed",
    ]);
    for ((run, b), p) in runs.iter().zip(baseline).zip(profile) {
        t.add_row(vec![
            run.policy.clone(),
            run.concurrency.to_string(),
            format!("{:.1}", run.committed_tx_per_s),
            format!("{:.1}", run.p50_ms),
            format!("{:.1}", run.p99_ms),
            format!("{:.1}", b.evaluate_tx_per_s),
            format!("{:.2}", b.ratio),
            format!("{:.1}", p.endorse_ms.p50_ms),
            format!("{:.1}", p.submit_ms.p50_ms),
            format!("{:.1}", p.commit_wait_ms.p50_ms),
            format!("{:.0}", p.mean_txs_per_block),
            p.failed.to_string(),
        ]);
    }
    t
}
