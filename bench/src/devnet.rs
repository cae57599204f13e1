//! `sfcbc-bench devnet`: committed tx/s and commit latency p50/p99 of a blind write through
//! the Gateway (real ECDSA signatures, TLS, in-process CCaaS chaincode), per endorsement
//! policy and concurrency, on a devnet started in this process (orderer + one peer per org:
//! Org1–3, plus any other member orgs asked for, e.g. Manager to match a real channel).
//!
//! The workload, its evaluate-only baseline and the per-stage profile are
//! [`crate::workload`]'s, shared with `sfcbc-bench fabric` (the same load against any
//! network a client profile describes).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::machine::Machine;
use crate::setup::{BenchNet, NetworkInfo};
use crate::ui::Ui;
use crate::workload::{self, Baseline, CryptoBaseline, Load, Profile, Results, Run};

/// An endorsement policy under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Any one of Org1..Org3 (the gateway endorses on its own peer alone).
    One,
    /// `OutOf(2, Org1, Org2, Org3)`: two orgs endorse every transaction.
    TwoOfThree,
}

impl Policy {
    pub fn parse(s: &str) -> Result<Policy, String> {
        match s.trim() {
            "one" | "1" => Ok(Policy::One),
            "2of3" => Ok(Policy::TwoOfThree),
            other => Err(format!("unknown policy {other:?} (one, 2of3)")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::One => "one",
            Policy::TwoOfThree => "2of3",
        }
    }

    /// The chaincode name it is committed under (`kv_one`, `kv_2of3`).
    pub fn chaincode(self) -> &'static str {
        match self {
            Policy::One => "kv_one",
            Policy::TwoOfThree => "kv_2of3",
        }
    }

    /// In Fabric's policy syntax.
    pub fn fabric(self) -> &'static str {
        match self {
            Policy::One => "OR('Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')",
            Policy::TwoOfThree => "OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub load: Load,
    pub policies: Vec<Policy>,
    pub batch_timeout: Duration,
    /// BatchSize.MaxMessageCount of the bench channel.
    pub max_message_count: u32,
    /// The channel's member orgs, one peer each; Org1, Org2 and Org3 (the policies' orgs)
    /// always among them.
    pub orgs: Vec<String>,
}

impl Options {
    /// The default run: ≤ 2 minutes in all.
    pub fn standard() -> Options {
        Options {
            load: Load::standard(),
            policies: vec![Policy::One, Policy::TwoOfThree],
            batch_timeout: Duration::from_millis(50),
            max_message_count: 500,
            orgs: ["Org1", "Org2", "Org3"].map(String::from).to_vec(),
        }
    }

    /// A few seconds: proves the harness works (tests, CI).
    pub fn quick() -> Options {
        Options {
            load: Load::quick(),
            ..Options::standard()
        }
    }
}

/// `target/bench/devnet.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub runs: Vec<Run>,
    pub machine: Machine,
    pub crypto_baseline: CryptoBaseline,
    pub baseline: Vec<Baseline>,
    pub profile: Vec<Profile>,
    pub network: NetworkInfo,
    pub transaction: String,
}

/// Runs the benchmark and returns the report (the caller writes and prints it).
pub async fn run(ui: &Ui, opts: &Options) -> anyhow::Result<Report> {
    let mut machine = Machine::probe();
    let crypto = workload::measure_crypto(ui, &opts.load).await?;
    for need in ["Org1", "Org2", "Org3"] {
        anyhow::ensure!(
            opts.orgs.iter().any(|o| o == need),
            "the orgs must include Org1, Org2 and Org3 (the endorsement policies name them)"
        );
    }
    let orgs: Vec<&str> = opts.orgs.iter().map(String::as_str).collect();
    let step = ui.step(format!(
        "starting devnet: orderer + {} peers (TLS)",
        orgs.join(", ")
    ));
    let mut net = BenchNet::start_with(&orgs, opts.batch_timeout, opts.max_message_count).await?;
    step.set_message("starting the kv chaincode servers and committing the definitions");
    let mut defs = Vec::new();
    for p in &opts.policies {
        let id = net
            .serve_chaincode(
                &format!("{}_1.0", p.chaincode()),
                Arc::new(sfcbc_ccaas::KvContract),
            )
            .await?;
        defs.push((p.chaincode(), id, p.fabric()));
    }
    let defs_ref: Vec<(&str, &str, &str)> =
        defs.iter().map(|(n, i, p)| (*n, i.as_str(), *p)).collect();
    net.channel("bench", &defs_ref).await?;
    let gw = net.gateway("Org1", "User1").await?;
    step.finish_and_clear();
    ui.note(format!(
        "devnet up: {} peers, BatchTimeout {} ms, MaxMessageCount {}",
        orgs.len(),
        net.info.batch_timeout_ms,
        net.info.max_message_count
    ));

    let mut results = Results::default();
    let result: anyhow::Result<()> = async {
        for p in &opts.policies {
            let contract = gw.network("bench").contract(p.chaincode());
            // Chaincode connections and caches warm before anything is measured.
            workload::warm_up(&contract).await?;
            workload::measure(ui, &contract, p.name(), &opts.load, &mut results).await;
        }
        Ok(())
    }
    .await;
    let info = net.info.clone();
    let step = ui.step("stopping devnet");
    net.stop().await;
    step.finish_and_clear();
    result?;
    machine.finish();
    Ok(Report {
        runs: results.runs,
        machine,
        crypto_baseline: crypto,
        baseline: results.baseline,
        profile: results.profile,
        network: info,
        transaction: opts
            .load
            .transaction("Org1's User1", "Org1's gateway over TLS"),
    })
}

/// The human summary.
pub fn summary(r: &Report) -> comfy_table::Table {
    workload::summary(&r.runs, &r.baseline, &r.profile)
}
