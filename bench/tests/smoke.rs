//! The harness works: `sfcbc-bench --quick` runs each benchmark end to end on a real devnet
//! and writes JSON of the issues' shape. Figures are not checked — performance is measured
//! by the benchmarks themselves, never asserted in tests.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(bench: &str, out: &Path, extra: &[&str]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_sfcbc-bench"))
        .args(["--quick", "--quiet", "--out"])
        .arg(out)
        .arg(bench)
        .args(extra)
        .output()
        .expect("sfcbc-bench runs");
    assert!(
        o.status.success(),
        "sfcbc-bench {bench} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let file = out.join(format!("{bench}.json"));
    let text = std::fs::read_to_string(&file).expect("JSON written");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Dataplane runs one at a time. Each picks free UDP ports on 127.0.0.2-4 and binds them
/// later; two runs in parallel could take each other's port in between.
static DATAPLANE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn dataplane(out: &Path, extra: &[&str]) -> Value {
    let _one_at_a_time = DATAPLANE.lock().unwrap_or_else(|e| e.into_inner());
    run("dataplane", out, extra)
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

fn check_machine(v: &Value) {
    let m = &v["machine"];
    assert!(m["cores"].as_u64().is_some_and(|c| c > 0), "{m}");
    assert!(m["memory_bytes"].as_u64().is_some(), "{m}");
    assert!(m["cpu_model"].is_string(), "{m}");
    assert!(m["git_commit"].is_string(), "{m}");
    assert!(
        ["debug", "release"].contains(&m["build_profile"].as_str().unwrap_or("")),
        "{m}"
    );
}

#[test]
fn devnet_quick_writes_the_issue_shape() {
    let dir = tempfile::tempdir().unwrap();
    let v = run("devnet", dir.path(), &[]);
    let runs = v["runs"].as_array().expect("runs");
    // quick: concurrency 4, both policies
    assert_eq!(runs.len(), 2, "{v}");
    for r in runs {
        assert_eq!(
            keys(r),
            sorted(&[
                "policy",
                "concurrency",
                "committed_tx_per_s",
                "p50_ms",
                "p99_ms"
            ]),
            "{r}"
        );
        assert!(r["committed_tx_per_s"].is_number() && r["p99_ms"].is_number());
        assert!(
            r["committed_tx_per_s"].as_f64().unwrap() > 0.0,
            "nothing committed: {v}"
        );
    }
    let policies: Vec<&str> = runs.iter().map(|r| r["policy"].as_str().unwrap()).collect();
    assert_eq!(policies, ["one", "2of3"]);
    check_machine(&v);
    let b = v["baseline"].as_array().expect("baseline");
    assert_eq!(b.len(), runs.len());
    assert!(b.iter().all(|b| b["ratio"].is_number()));
}

#[test]
fn dataplane_quick_writes_the_issue_shape() {
    let dir = tempfile::tempdir().unwrap();
    let v = dataplane(dir.path(), &[]);
    let runs = v["runs"].as_array().expect("runs");
    let policies: Vec<&str> = runs.iter().map(|r| r["policy"].as_str().unwrap()).collect();
    assert_eq!(policies, ["none", "address", "hash", "hash+address"]);
    for r in runs {
        assert_eq!(
            keys(r),
            sorted(&[
                "policy",
                "msgs_per_s",
                "relay_msgs_per_s",
                "ratio",
                "hop_p50_ms",
                "hop_p99_ms",
                "dropped"
            ]),
            "{r}"
        );
        assert!(r["dropped"].is_u64(), "{r}");
        assert!(r["relay_msgs_per_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(
            r["msgs_per_s"].as_f64().unwrap() > 0.0,
            "nothing delivered: {r}"
        );
    }
    assert_eq!(v["ledger"], "devnet");
    assert_eq!(v["placement"], "shared");
    assert!(v.get("split_cpus").is_none(), "{}", v["split_cpus"]);
    check_machine(&v);
}

#[test]
fn dataplane_quick_split_runs_with_the_ledger_on_other_cpus() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("one CPU: --placement split is refused here (placement.rs tests)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = dataplane(
        dir.path(),
        &["--placement", "split", "--policies", "none,hash"],
    );
    assert_eq!(v["placement"], "split");
    let data: Vec<u64> = serde_json::from_value(v["split_cpus"]["data_plane"].clone()).unwrap();
    let ledger: Vec<u64> = serde_json::from_value(v["split_cpus"]["ledger"].clone()).unwrap();
    assert_eq!(data.len(), 1, "{}", v["split_cpus"]);
    assert!(
        !ledger.is_empty() && !ledger.contains(&data[0]),
        "{}",
        v["split_cpus"]
    );
    // Probed on the pinned thread, the machine would look like one CPU.
    assert_eq!(v["machine"]["cores"], cpus as u64, "{}", v["machine"]);
    for r in v["runs"].as_array().expect("runs") {
        assert!(
            r["msgs_per_s"].as_f64().unwrap() > 0.0,
            "nothing delivered: {r}"
        );
    }
}

#[test]
fn dataplane_quick_with_spool_journals_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let v = dataplane(dir.path(), &["--spool", "--policies", "none"]);
    assert_eq!(v["load"]["spool"], true, "{}", v["load"]);
    let sfs = v["details"][0]["sfs"].as_array().expect("sfs");
    assert_eq!(sfs.len(), 3);
    for sf in sfs {
        let r = &sf["records"];
        assert!(r["committed"].as_u64().unwrap() > 0, "{sf}");
        assert_eq!(
            (r["lost"].as_u64(), r["spooled"].as_u64()),
            (Some(0), Some(0)),
            "{sf}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let o = Command::new(env!("CARGO_BIN_EXE_sfcbc-bench"))
        .args(["devnet", "--policies", "3of5"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown policy"));
    let o = Command::new(env!("CARGO_BIN_EXE_sfcbc-bench"))
        .args(["dataplane", "--placement", "wide"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("[possible values: shared, split]"), "{err}");
}
