//! Where the data-plane benchmark's threads run (`sfcbc-bench dataplane --placement`).
//!
//! - `shared` (the default): one runtime on every CPU. The source, the sink, the relay, the
//!   SFs and the whole devnet (four peers, the orderer, the chaincode) take turns on the
//!   same cores, as they do when one machine runs everything.
//! - `split`: the data plane (source, sink, relay chain and SFs, with their gateway
//!   clients) on the first CPU, the ledger (devnet's peers, orderer and chaincode server) on
//!   the others. In a deployment the peers run on their orgs' own hosts, not on the SF's:
//!   this measures what the SFs cost on the host that forwards, with the ledger's work
//!   elsewhere. The relay gets the same one CPU, so the ratio still compares equal
//!   data-plane hardware.
//!
//! Threads are pinned with `sched_setaffinity` (the `core_affinity` crate): the runtimes'
//! workers and blocking threads, and the thread that drives the benchmark's top-level future
//! (the caller of `block_on`, which runs the sink). With RPS off (the default), the kernel's
//! softirq work for a loopback packet runs on the sending CPU, so UDP stays on the data
//! plane's CPU and each side's gRPC sends stay on their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use core_affinity::CoreId;
use serde::Serialize;
use tokio::runtime::{Builder, Runtime};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    #[default]
    Shared,
    Split,
}

/// `split` on a machine (or CPU set) with a single CPU: a usage error.
#[derive(Debug)]
pub struct TooFewCpus(pub usize);

impl std::fmt::Display for TooFewCpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--placement split needs at least 2 CPUs; this process may use {}",
            self.0
        )
    }
}

impl std::error::Error for TooFewCpus {}

/// The two runtimes of a `split` run, each pinned to its CPUs.
pub struct SplitRuntimes {
    /// The first CPU of this process's set: source, sink, relay, SFs.
    pub data: Runtime,
    /// The other CPUs: the devnet.
    pub ledger: Runtime,
    /// The CPUs, for the report.
    pub cpus: SplitCpus,
    data_core: CoreId,
}

/// Which CPUs each side got (ids as the kernel numbers them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitCpus {
    pub data_plane: Vec<usize>,
    pub ledger: Vec<usize>,
}

impl SplitRuntimes {
    /// One worker per CPU on each side. Fails with [`TooFewCpus`] on fewer than two.
    pub fn build() -> anyhow::Result<SplitRuntimes> {
        let cores = core_affinity::get_core_ids()
            .context("cannot read the CPUs this process may run on")?;
        if cores.len() < 2 {
            return Err(TooFewCpus(cores.len()).into());
        }
        let data_core = cores[0];
        let ledger_cores: Arc<[CoreId]> = cores[1..].into();
        let cpus = SplitCpus {
            data_plane: vec![data_core.id],
            ledger: ledger_cores.iter().map(|c| c.id).collect(),
        };
        let data = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("data-plane")
            .enable_all()
            .on_thread_start(move || pin(data_core))
            .build()
            .context("cannot start the data plane's runtime")?;
        let next = AtomicUsize::new(0);
        let workers = ledger_cores.len();
        let ledger = Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("ledger")
            .enable_all()
            // Round robin over the ledger's CPUs (workers and blocking threads alike).
            .on_thread_start(move || {
                let i = next.fetch_add(1, Ordering::Relaxed) % ledger_cores.len();
                pin(ledger_cores[i]);
            })
            .build()
            .context("cannot start the ledger's runtime")?;
        Ok(SplitRuntimes {
            data,
            ledger,
            cpus,
            data_core,
        })
    }

    /// Pins the calling thread to the data plane's CPU. Call it on the thread that will
    /// `block_on` the data runtime: the future given to `block_on` runs there, not on a
    /// worker.
    pub fn pin_caller_to_data_plane(&self) {
        pin(self.data_core);
    }
}

fn pin(core: CoreId) {
    if !core_affinity::set_for_current(core) {
        tracing::warn!(cpu = core.id, "cannot pin a benchmark thread to its CPU");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPUs the calling thread may run on.
    fn allowed() -> Vec<usize> {
        core_affinity::get_core_ids()
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    #[test]
    fn split_pins_each_side_to_its_own_cpus() {
        let cpus = allowed();
        let split = match SplitRuntimes::build() {
            Ok(s) => s,
            Err(e) => {
                assert!(cpus.len() < 2, "{e:#} with CPUs {cpus:?}");
                assert!(e.downcast_ref::<TooFewCpus>().is_some(), "{e:#}");
                return;
            }
        };
        // The test's own thread stands for `main`'s: it drives the top-level future.
        split.pin_caller_to_data_plane();
        let (on_worker, on_caller) = split.data.block_on(async {
            let worker = tokio::spawn(async { allowed() }).await.unwrap();
            (worker, allowed())
        });
        assert_eq!(on_worker, vec![cpus[0]]);
        assert_eq!(on_caller, vec![cpus[0]]);
        assert!(!split.cpus.ledger.contains(&cpus[0]), "{:?}", split.cpus);
        let on_ledger = split.ledger.block_on(async {
            let worker = tokio::spawn(async { allowed() }).await.unwrap();
            let blocking = tokio::task::spawn_blocking(allowed).await.unwrap();
            (worker, blocking)
        });
        for side in [on_ledger.0, on_ledger.1] {
            assert_eq!(side.len(), 1, "{side:?}");
            assert!(split.cpus.ledger.contains(&side[0]), "{side:?}");
        }
    }
}
