//! What the figures were measured on: every JSON file carries this.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

/// The machine, the code and the load.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs available to this process.
    pub cores: usize,
    pub memory_bytes: u64,
    pub cpu_model: String,
    pub os: String,
    /// `git rev-parse HEAD` of the workspace (suffix `-dirty` with uncommitted changes).
    pub git_commit: String,
    /// `release` or `debug` (debug assertions on).
    pub build_profile: &'static str,
    /// /proc/loadavg (1, 5, 15 min) when the run started and when it ended: other work on
    /// the machine (builds, tests) makes the figures noisy.
    pub load_avg_start: Vec<f64>,
    pub load_avg_end: Vec<f64>,
    /// UTC, RFC 3339.
    pub started_at: String,
}

impl Machine {
    /// Describes this machine now (call at the start of a run; [`Self::finish`] at the end).
    pub fn probe() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes: mem_total().unwrap_or(0),
            cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            git_commit: git_commit().unwrap_or_else(|| "unknown".into()),
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_avg_start: load_avg(),
            load_avg_end: Vec::new(),
            started_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }
    }

    /// Records the load at the end of the run.
    pub fn finish(&mut self) {
        self.load_avg_end = load_avg();
    }

    /// One line for humans.
    pub fn line(&self) -> String {
        format!(
            "{} cores, {:.1} GiB, {}, {} build, commit {}, load {:?} → {:?}",
            self.cores,
            self.memory_bytes as f64 / (1u64 << 30) as f64,
            self.cpu_model,
            self.build_profile,
            self.git_commit,
            self.load_avg_start,
            self.load_avg_end
        )
    }
}

fn mem_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// 1/5/15-minute load averages; empty where /proc/loadavg is missing.
pub fn load_avg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| {
            t.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn git_commit() -> Option<String> {
    // The workspace this binary was built from (the bench may run from anywhere).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(dir)
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        commit.push_str("-dirty");
    }
    Some(commit)
}
