//! sfcbc-bench: the benchmarks of issues 5, 6 and 8, behind the `sfcbc-bench` binary (which
//! `sfcbc bench devnet|dataplane|fabric` executes).
//!
//! - [`workload`]: the commit workload both network benchmarks run — a blind write through
//!   the Gateway (real signatures, TLS) at several concurrencies, against the evaluate-only
//!   rate of the same load measured in the same run; per-stage client timings (endorse,
//!   submit, commit wait) as the profile.
//! - [`devnet`]: that workload on a devnet started in-process, per endorsement policy.
//! - [`fabric`]: that workload on any network a client profile describes (real Fabric),
//!   with the deployed policies and the channel's batch settings read from the network.
//! - [`dataplane`]: messages/s and per-hop latency through a 3-hop SF chain per validation
//!   policy, against a plain UDP relay chain on the same addresses measured in the same run;
//!   [`placement`] runs it on shared CPUs or with the ledger on CPUs of its own.
//!
//! Performance is measured here only; tests check the harness and the JSON shape, never
//! timings. Every JSON file carries a [`machine::Machine`] (cores, memory, CPU, commit,
//! build profile, load average before and after).

pub mod dataplane;
pub mod devnet;
pub mod fabric;
pub mod machine;
pub mod placement;
pub mod setup;
pub mod stats;
pub mod ui;
pub mod workload;
