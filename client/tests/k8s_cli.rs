//! `sfcbc k8s render` end to end: a devnet started by the binary holds chain1 as
//! `network/k8s/overlays/chain1/chain.json` specifies it; rendering it from the ledger gives
//! exactly the committed `sf.yaml`, and a loopback chain gets its notes on stderr.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn sfcbc(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(args)
        .env("SFCBC_HOME", home)
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_CHANNEL")
        .output()
        .expect("run sfcbc")
}

fn ok(home: &Path, args: &[&str]) -> Output {
    let o = sfcbc(home, args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "sfcbc {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn overlay() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../network/k8s/overlays/chain1")
}

#[test]
fn render_from_the_ledger_matches_the_committed_overlay() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let child = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(["devnet", "up", "--channels", "sfc-chain1"])
        .env("SFCBC_HOME", h)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("devnet up");
    let mut devnet = Devnet(child);
    let pid = h.join("devnet").join("devnet.pid");
    let end = Instant::now() + Duration::from_secs(60);
    while !pid.exists() {
        assert!(Instant::now() < end, "devnet up wrote no pid file in 60 s");
        assert!(devnet.0.try_wait().unwrap().is_none(), "devnet up exited");
        std::thread::sleep(Duration::from_millis(50));
    }

    let spec = overlay().join("chain.json");
    let spec = spec.to_str().unwrap();
    ok(
        h,
        &[
            "-i",
            "User1@Tenant1",
            "chain",
            "create",
            "chain1",
            "--file",
            spec,
        ],
    );
    let o = ok(
        h,
        &["-i", "User1@Tenant1", "k8s", "render", "--chain", "chain1"],
    );
    let committed = std::fs::read_to_string(overlay().join("sf.yaml")).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), committed);
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A loopback chain (as `sfcbc demo` registers one): Service names, and notes to act on.
    ok(
        h,
        &[
            "-i",
            "User1@Tenant1",
            "--channel",
            "sfc-chain1",
            "chain",
            "create",
            "loop",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9001,address",
            "--hop",
            "Org2:NameWriter:1=127.0.0.3:9001,hash",
        ],
    );
    let o = ok(
        h,
        &[
            "--json",
            "-i",
            "User1@Tenant1",
            "--channel",
            "sfc-chain1",
            "k8s",
            "render",
            "--chain",
            "loop",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(
        v["addresses"]["Org1:NameWriter:1"],
        "sf-loop-org1-namewriter-1.org1.svc.cluster.local:9001"
    );
    assert_eq!(v["objects"].as_array().unwrap().len(), 8);
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("validates by address")),
        "{warnings:?}"
    );
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.contains("not an in-cluster Service"))
            .count(),
        2
    );
}
