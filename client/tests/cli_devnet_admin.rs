//! `sfcbc devnet channel create` and `sfcbc devnet chaincode install|commit` against a devnet
//! the test starts (`sfcbc devnet up` in a child process): a channel of our own, a CCaaS
//! package made by `sfcbc-ccaas package` and served by `sfcbc-ccaas serve` (its own process,
//! which the devnet's peers dial), a definition with a Fabric endorsement policy, then
//! transactions through it — and the errors each step gives when misused.

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

fn ok(home: &Path, args: &[&str]) -> String {
    let o = sfcbc(home, args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "sfcbc {args:?} failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    serde_json::from_str(&ok(home, &full)).expect("JSON output")
}

/// Runs `args`, expects exit 1 and `needle` in stderr.
fn fails(home: &Path, args: &[&str], needle: &str) {
    let o = sfcbc(home, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "sfcbc {args:?}: {err}");
    assert!(
        err.contains(needle),
        "sfcbc {args:?}: no {needle:?} in:\n{err}"
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

/// The `sfcbc-ccaas` binary beside `sfcbc` (same target folder and profile), built if absent.
fn ccaas_bin() -> PathBuf {
    let sfcbc = PathBuf::from(env!("CARGO_BIN_EXE_sfcbc"));
    let bin = sfcbc.with_file_name(format!("sfcbc-ccaas{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        let profile_dir = sfcbc.parent().unwrap();
        let target = profile_dir.parent().unwrap();
        let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
            "debug" => "dev".to_owned(),
            other => other.to_owned(),
        };
        let st = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "sfcbc-ccaas", "--bin", "sfcbc-ccaas"])
            .arg("--profile")
            .arg(&profile)
            .arg("--target-dir")
            .arg(target)
            .status()
            .expect("cargo build -p sfcbc-ccaas");
        assert!(st.success(), "building sfcbc-ccaas failed");
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(path: &Path, child: &mut Child, what: &str) {
    let end = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < end,
            "{what}: no {} in 60 s",
            path.display()
        );
        assert!(child.try_wait().unwrap().is_none(), "{what} exited");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn channel_create_chaincode_install_commit_then_transactions() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let net = h.join("devnet");
    std::fs::create_dir_all(h).unwrap();
    let up_out = std::fs::File::create(h.join("up.out")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args([
            "devnet",
            "up",
            "--channels",
            "sfc-base",
            "--batch-timeout",
            "20ms",
            "--max-message-count",
            "10",
        ])
        .env("SFCBC_HOME", h)
        .stdout(up_out)
        .stderr(Stdio::null())
        .spawn()
        .expect("devnet up");
    let mut devnet = Kill(child);

    // Where no devnet runs: a clear error saying how to start one.
    let empty = tempfile::tempdir().unwrap();
    fails(
        empty.path(),
        &["devnet", "channel", "create", "early"],
        "sfcbc devnet up",
    );
    wait_for(&net.join("admin.sock"), &mut devnet.0, "devnet up");
    let up = std::fs::read_to_string(h.join("up.out")).unwrap();
    assert!(up.contains("BatchTimeout 20ms, MaxMessageCount 10"), "{up}");

    // A channel with exactly the orgs asked for; block 0 on each member's peer.
    let ch = json(
        h,
        &[
            "devnet",
            "channel",
            "create",
            "mych",
            "--orgs",
            "Org1,Org2,Tenant1,Manager",
        ],
    );
    assert_eq!(ch["channel"], "mych");
    assert_eq!(
        ch["orgs"],
        serde_json::json!(["ManagerMSP", "Org1MSP", "Org2MSP", "Tenant1MSP"])
    );
    for org in ["org1", "org2", "tenant1", "manager"] {
        assert!(
            net.join(format!("peers/peer0.{org}.example.com/ledgers/mych.redb"))
                .exists(),
            "{org} did not join mych"
        );
    }
    assert!(
        !net.join("peers/peer0.org3.example.com/ledgers/mych.redb")
            .exists(),
        "Org3 joined mych"
    );
    let profile = std::fs::read_to_string(net.join("profile.yaml")).unwrap();
    assert!(profile.contains("- mych"), "{profile}");
    fails(
        h,
        &["devnet", "channel", "create", "mych", "--orgs", "Org1"],
        "already exists",
    );
    fails(
        h,
        &["devnet", "channel", "create", "other", "--orgs", "Org9"],
        "unknown org Org9",
    );
    fails(
        h,
        &["devnet", "channel", "create", "Bad_Name"],
        "invalid channel name",
    );
    // Only the manager's admin may administer the devnet.
    fails(
        h,
        &["-i", "User1@Manager", "devnet", "channel", "create", "x1"],
        "only an admin of ManagerMSP",
    );
    fails(
        h,
        &["-i", "Admin@Org1", "devnet", "channel", "create", "x2"],
        "not an identity of ManagerMSP",
    );

    // The chaincode: a CCaaS package from sfcbc-ccaas, served by sfcbc-ccaas.
    let ccaas = ccaas_bin();
    let addr = format!("127.0.0.1:{}", free_port());
    let pkg = h.join("mycc.tgz");
    let o = Command::new(&ccaas)
        .args([
            "package",
            "--label",
            "mycc_1.0",
            "--address",
            &addr,
            "--out",
        ])
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let package_id = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(package_id.starts_with("mycc_1.0:"), "{package_id}");

    // Committing before the server runs: the peers cannot dial it, and say so.
    let installed = json(
        h,
        &["devnet", "chaincode", "install", pkg.to_str().unwrap()],
    );
    assert_eq!(installed["packageId"], package_id.as_str());
    assert_eq!(installed["connection"]["address"], addr.as_str());
    assert_eq!(installed["peers"].as_array().unwrap().len(), 5);
    let o = sfcbc(
        h,
        &[
            "-C",
            "mych",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "sfc",
            "--policy",
            "AND('Org1MSP.peer','Org2MSP.peer')",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "committed with no chaincode server running"
    );

    let _server = Kill(
        Command::new(&ccaas)
            .args(["serve", "--address", &addr, "--chaincode-id", &package_id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < end, "sfcbc-ccaas serve is not listening");
        std::thread::sleep(Duration::from_millis(50));
    }

    fails(
        h,
        &["devnet", "chaincode", "install", "/nonexistent.tgz"],
        "cannot read /nonexistent.tgz",
    );
    let not_pkg = h.join("not.tgz");
    std::fs::write(&not_pkg, b"hello").unwrap();
    fails(
        h,
        &["devnet", "chaincode", "install", not_pkg.to_str().unwrap()],
        "is not a CCaaS package",
    );
    fails(
        h,
        &[
            "-C",
            "mych",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "sfc",
            "--policy",
            "AND('Org1MSP.peer'",
        ],
        "--policy",
    );
    fails(
        h,
        &[
            "-C",
            "nosuch",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "sfc",
        ],
        "channel nosuch does not exist",
    );
    let bad_cc = h.join("bad_collections.json");
    std::fs::write(&bad_cc, b"{\"not\": \"an array\"}").unwrap();
    fails(
        h,
        &[
            "-C",
            "mych",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "sfc",
            "--collections-config",
            bad_cc.to_str().unwrap(),
        ],
        "bad_collections.json",
    );

    // Commit with a policy (and an explicit collection), the package installed last.
    let collections = h.join("collections.json");
    std::fs::write(
        &collections,
        br#"[{"name": "org1org2", "policy": "OR('Org1MSP.member','Org2MSP.member')",
             "requiredPeerCount": 0, "maxPeerCount": 1, "blockToLive": 0,
             "memberOnlyRead": true, "memberOnlyWrite": true}]"#,
    )
    .unwrap();
    let c = json(
        h,
        &[
            "-C",
            "mych",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "sfc",
            "--policy",
            "AND('Org1MSP.peer','Org2MSP.peer')",
            "--collections-config",
            collections.to_str().unwrap(),
        ],
    );
    assert_eq!(c["packageId"], package_id.as_str());
    assert_eq!(c["policy"], "AND('Org1MSP.peer','Org2MSP.peer')");
    assert_eq!(c["collections"], serde_json::json!(["org1org2"]));
    assert_eq!(c["sequence"], 1);

    // Transactions through it: our chaincode server answers for the `sfc` chaincode on
    // mych, endorsed by Org1 and Org2 as the policy asks.
    let chain = json(
        h,
        &[
            "-C",
            "mych",
            "chain",
            "create",
            "c7",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9001,address",
            "--hop",
            "Org2:NameWriter:1=127.0.0.3:9001,hash",
        ],
    );
    assert_eq!(chain["owner"]["msp"], "Tenant1MSP");
    let shown = json(
        h,
        &["-i", "User1@Org2", "-C", "mych", "chain", "show", "c7"],
    );
    assert_eq!(shown["hops"][1]["validation"], "hash");
    let txs = json(h, &["-C", "mych", "blocks"]);
    let last = txs.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["function"], "CreateChain", "{txs}");
    assert_eq!(last["validation"], "VALID");

    // A policy the channel's members cannot satisfy (Org3 is not on ch2): the gateway finds
    // no endorsers, so the definition is really in force.
    json(
        h,
        &[
            "devnet",
            "channel",
            "create",
            "ch2",
            "--orgs",
            "Org1,Tenant1,Manager",
        ],
    );
    json(
        h,
        &[
            "-C",
            "ch2",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "sfc",
            "--policy",
            "AND('Org1MSP.peer','Org3MSP.peer')",
            "--package-id",
            &package_id,
        ],
    );
    fails(
        h,
        &[
            "-C",
            "ch2",
            "chain",
            "create",
            "c8",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9002",
        ],
        "endorsement policy",
    );
    // The same chaincode under the default policy (the channel's Endorsement, a MAJORITY).
    let c = json(
        h,
        &[
            "-C",
            "ch2",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "sfc",
            "--sequence",
            "2",
        ],
    );
    assert_eq!(c["policy"], serde_json::Value::Null);
    json(
        h,
        &[
            "-C",
            "ch2",
            "chain",
            "create",
            "c8",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9002",
        ],
    );

    // Human output.
    let t = ok(h, &["devnet", "channel", "create", "ch3", "--orgs", "Org3"]);
    assert!(t.contains("channel ch3 created with Org3MSP"), "{t}");
    let t = ok(
        h,
        &[
            "-C",
            "ch3",
            "devnet",
            "chaincode",
            "commit",
            "--name",
            "other",
            "--policy",
            "OR('Org3MSP.member')",
        ],
    );
    assert!(
        t.contains("chaincode other v1.0 (sequence 1) committed on ch3"),
        "{t}"
    );

    ok(h, &["devnet", "down"]);
    let _ = devnet.0.wait();
    fails(
        h,
        &["devnet", "chaincode", "install", pkg.to_str().unwrap()],
        "is not running",
    );
}
