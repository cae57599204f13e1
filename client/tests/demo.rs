//! `sfcbc demo` end to end, as the README runs it: the built binary starts a devnet with the
//! chaincode on sfcbc-ccaas, runs the paper's demonstration and its failure cases, and must
//! report every scenario as expected (exit 0), well within the 30 s budget.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn demo_passes_every_scenario() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo-net");
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(["--json", "demo", "--dir", dir.to_str().unwrap()])
        .env("SFCBC_HOME", home.path())
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_CHANNEL")
        .output()
        .expect("run sfcbc demo");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "demo failed:\n{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("--json report");
    let verdicts = report["verdicts"].as_array().expect("verdicts");
    let names: Vec<&str> = verdicts
        .iter()
        .map(|v| v["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "valid message",
            "wrong credentials",
            "forged source",
            "tampered payload",
            "replayed message"
        ]
    );
    for v in verdicts {
        assert_eq!(v["ok"], true, "{v}");
    }
    // The message arrived with the three SPs' stamps, in hop order.
    let stamps: Vec<&str> = report["stamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap())
        .collect();
    assert_eq!(
        stamps,
        [
            "Org1:NameWriter:1",
            "Org2:NameWriter:1",
            "Org3:NameWriter:1"
        ]
    );
    // Each failure is on the ledger with its kind, at the hop that dropped it.
    let errors: Vec<(&str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["psiid"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            ("Org2:NameWriter:1", "auth"),
            ("Org1:NameWriter:1", "source"),
            ("Org2:NameWriter:1", "hash"),
            ("Org1:NameWriter:1", "replay"),
        ]
    );
    // The block list: every transaction decoded, private data only as hashes.
    let blocks = report["blocks"].as_array().unwrap();
    let functions: Vec<&str> = blocks
        .iter()
        .map(|b| b["function"].as_str().unwrap())
        .collect();
    for f in [
        "CreateChain",
        "RegisterAccount",
        "ShareAuth",
        "ShareEndpoints",
        "RecordHops",
        "RecordError",
    ] {
        assert!(functions.contains(&f), "no {f} in {functions:?}");
    }
    let share = blocks
        .iter()
        .find(|b| b["function"] == "ShareAuth")
        .unwrap();
    assert_eq!(share["creator_msp"], "Tenant1MSP");
    let pw = share["private_writes"].as_array().unwrap();
    assert!(!pw.is_empty() && pw[0]["value_hash"].as_str().unwrap().len() == 64);
    assert!(
        !stdout.contains("correct horse"),
        "a secret leaked into the output"
    );
    assert!(
        elapsed < Duration::from_secs(60),
        "demo took {elapsed:?} (budget 30 s after the build)"
    );
}
