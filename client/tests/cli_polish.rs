//! `sfcbc` as the engineer who ran it against real Fabric met it: a closed pipe
//! (`sfcbc ... | head`) ends it quietly, errors from a peer come with a hint that says what to
//! do, `--gateway ORG` sends requests through another org's gateway peer, and `collections
//! gen --chain FILE` writes what `collections/gen.py` writes.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn sfcbc_cmd(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sfcbc"));
    c.env("SFCBC_HOME", home)
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_CHANNEL")
        .env_remove("SFCBC_GATEWAY")
        .env_remove("RUST_LOG");
    c
}

fn sfcbc(home: &Path, args: &[&str]) -> Output {
    sfcbc_cmd(home).args(args).output().expect("run sfcbc")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs sfcbc with its stdout a pipe whose reading end is closed before sfcbc writes (a
/// reader that stopped early, like `head`); returns its exit status and stderr.
fn with_closed_stdout(home: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = sfcbc_cmd(home)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sfcbc");
    drop(child.stdout.take()); // the reader goes away at once
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), err)
}

fn assert_quiet_exit(what: &str, (code, err): (Option<i32>, String)) {
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{what}: panic or raw EPIPE on stderr:\n{err}"
    );
    assert!(
        code == Some(0) || code == Some(141),
        "{what}: exit {code:?} on a closed pipe, stderr:\n{err}"
    );
}

/// Kills a child process even when an assertion fails.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn devnet_up(home: &Path) -> Kill {
    let child = sfcbc_cmd(home)
        .args(["devnet", "up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("devnet up");
    let mut k = Kill(child);
    let sock = home.join("devnet").join("admin.sock");
    let end = Instant::now() + Duration::from_secs(60);
    while !sock.exists() {
        assert!(Instant::now() < end, "devnet up is not ready after 60 s");
        assert!(k.0.try_wait().unwrap().is_none(), "devnet up exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    k
}

#[test]
fn closed_pipe_exits_quietly_offline() {
    let home = tempfile::tempdir().unwrap();
    let spec = repo().join("collections/chain1.json");
    for _ in 0..5 {
        assert_quiet_exit(
            "collections gen",
            with_closed_stdout(
                home.path(),
                &["collections", "gen", "--chain", spec.to_str().unwrap()],
            ),
        );
        assert_quiet_exit(
            "collections gen --json --out",
            with_closed_stdout(
                home.path(),
                &[
                    "--json",
                    "collections",
                    "gen",
                    "--chain",
                    spec.to_str().unwrap(),
                    "--out",
                    home.path().join("c.json").to_str().unwrap(),
                ],
            ),
        );
    }
    // And through a real `head` in a shell pipeline, when there is a shell.
    if Path::new("/bin/sh").exists() {
        let o = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "'{}' collections gen --chain '{}' | head -c 1 >/dev/null",
                env!("CARGO_BIN_EXE_sfcbc"),
                spec.display()
            ))
            .env("SFCBC_HOME", home.path())
            .output()
            .unwrap();
        assert!(!text(&o).contains("panicked"), "{}", text(&o));
    }
}

#[test]
fn collections_gen_chain_matches_gen_py_and_committed_configs() {
    let home = tempfile::tempdir().unwrap();
    let dir = repo().join("collections");
    for (spec, committed, extra) in [
        ("chain1.json", "sfc-chain1.json", &[][..]),
        (
            "chain2.json",
            "sfc-chain2.json",
            &["--block-to-live", "1000"][..],
        ),
    ] {
        let spec = dir.join(spec);
        let mut args = vec!["collections", "gen", "--chain", spec.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = sfcbc(home.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let ours = String::from_utf8(o.stdout).unwrap();
        let want = std::fs::read_to_string(dir.join(committed)).unwrap();
        assert_eq!(ours, want, "sfcbc collections gen {args:?} vs {committed}");
        // gen.py itself, when python3 is there.
        match Command::new("python3")
            .arg(dir.join("gen.py"))
            .arg(&spec)
            .args(extra)
            .output()
        {
            Ok(py) if py.status.success() => {
                assert_eq!(ours, String::from_utf8(py.stdout).unwrap(), "vs gen.py");
            }
            other => eprintln!("skipped the gen.py comparison (python3: {other:?})"),
        }
    }
    // gen.py's other options, same names.
    let spec = dir.join("chain1.json");
    let o = sfcbc(
        home.path(),
        &[
            "collections",
            "gen",
            "--chain",
            spec.to_str().unwrap(),
            "--required-peer-count",
            "1",
            "--max-peer-count",
            "2",
            "--member-only-read",
            "false",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "chain1_Org1MSP");
    assert_eq!(v[1]["name"], "chain1_Org2MSP");
    assert_eq!(v[0]["requiredPeerCount"], 1);
    assert_eq!(v[0]["maxPeerCount"], 2);
    assert_eq!(v[0]["memberOnlyRead"], false);
    // --chain-id + --sp: per-chain names too.
    let o = sfcbc(
        home.path(),
        &["collections", "gen", "--chain-id", "c9", "--sp", "Org2MSP"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "c9_Org2MSP");
    // Usage errors exit 2; bad files exit 1 with the file named.
    for args in [
        &["collections", "gen"][..],
        &["collections", "gen", "--chain", "x.json", "--sp", "Org1MSP"],
        &["collections", "gen", "--chain-id", "c"],
    ] {
        assert_eq!(sfcbc(home.path(), args).status.code(), Some(2), "{args:?}");
    }
    let bad = home.path().join("bad.json");
    std::fs::write(&bad, "{\"hops\": []}").unwrap();
    let o = sfcbc(
        home.path(),
        &["collections", "gen", "--chain", bad.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("bad.json") && text(&o).contains("\"id\""),
        "{}",
        text(&o)
    );
}

#[test]
fn peer_errors_have_hints_gateway_option_and_closed_pipes_on_devnet() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let _devnet = devnet_up(h);

    // Chaincode not committed on the channel: the raw message and the hint.
    let o = sfcbc(
        h,
        &["-i", "User1@Org1", "chain", "list", "--channel", "nochan"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("no peers available to evaluate chaincode sfc"),
        "{t}"
    );
    assert!(
        t.contains("hint: chaincode sfc is not committed on channel nochan (deploy it:"),
        "{t}"
    );

    // A profile where Tenant1's peer is down: its own gateway fails with a hint naming the
    // endpoint; --gateway Org1 goes through Org1's peer and works.
    let profile = std::fs::read_to_string(h.join("devnet/profile.yaml")).unwrap();
    let mut dead = String::new();
    let mut in_tenant = false;
    for line in profile.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") {
            in_tenant = line.trim_start().starts_with("Tenant1:");
        }
        if in_tenant && line.trim_start().starts_with("endpoint:") {
            let indent = &line[..line.len() - line.trim_start().len()];
            dead.push_str(&format!("{indent}endpoint: 127.0.0.1:1\n"));
        } else {
            dead.push_str(line);
            dead.push('\n');
        }
    }
    assert!(dead.contains("endpoint: 127.0.0.1:1"), "{dead}");
    let dead_path = h.join("dead-tenant.yaml");
    std::fs::write(&dead_path, &dead).unwrap();
    let p = dead_path.to_str().unwrap();
    let o = sfcbc(h, &["--profile", p, "-i", "User1@Tenant1", "chain", "list"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("hint: is the peer at 127.0.0.1:1 running?"),
        "{}",
        text(&o)
    );
    let o = sfcbc(
        h,
        &[
            "--profile",
            p,
            "-i",
            "User1@Tenant1",
            "--gateway",
            "Org1",
            "--json",
            "chain",
            "list",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .unwrap()
            .is_array(),
        "{}",
        text(&o)
    );
    // --gateway by MSP ID too; an unknown org is a clear failure.
    let o = sfcbc(
        h,
        &[
            "--profile",
            p,
            "-i",
            "User1@Tenant1",
            "--gateway",
            "Org1MSP",
            "chain",
            "list",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = sfcbc(
        h,
        &["-i", "User1@Tenant1", "--gateway", "Nope", "chain", "list"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--gateway Nope"), "{}", text(&o));

    // Closed pipes on commands that read the ledger.
    for args in [
        &["blocks", "--channel", "sfc-chain1"][..],
        &["--json", "blocks", "--channel", "sfc-chain1"],
        &["-i", "User1@Org1", "chain", "list"],
        &["devnet", "status"],
    ] {
        assert_quiet_exit(&format!("{args:?}"), with_closed_stdout(h, args));
    }
}
