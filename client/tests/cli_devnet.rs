//! The `sfcbc` binary against a devnet it started itself: `devnet up` (foreground, in a
//! child process) writes the profile; the Gateway commands run as separate processes with
//! that profile; `devnet status` sees the peers; `devnet down` stops it.

use std::path::Path;
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

/// Files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

/// Stops the devnet child even when an assertion fails.
struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn devnet_up_then_gateway_commands_then_down() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let child = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(["devnet", "up", "--channels", "sfc-c1"])
        .env("SFCBC_HOME", h)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("devnet up");
    let mut devnet = Devnet(child);
    let pid = h.join("devnet").join("devnet.pid");
    let end = Instant::now() + Duration::from_secs(30);
    while !pid.exists() {
        assert!(Instant::now() < end, "devnet up wrote no pid file in 30 s");
        assert!(devnet.0.try_wait().unwrap().is_none(), "devnet up exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(h.join("devnet").join("profile.yaml").exists());

    // A second `up` on the same folder refuses, saying how to stop the first.
    let o = sfcbc(h, &["devnet", "up"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("devnet down"));

    let status = json(h, &["devnet", "status"]);
    let peers = status["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 5);
    assert!(peers.iter().all(|p| p["state"] == "up"), "{status}");

    // The owner creates a chain; an SP and the manager can read it, another tenant cannot.
    let chain = json(
        h,
        &[
            "chain",
            "create",
            "c1",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9001,address",
            "--hop",
            "Org2:NameWriter:1=127.0.0.3:9001,hash",
        ],
    );
    assert_eq!(chain["owner"]["msp"], "Tenant1MSP");
    assert_eq!(chain["version"], 1);
    let shown = json(h, &["-i", "User1@Org2", "chain", "show", "c1"]);
    assert_eq!(shown["hops"][1]["validation"], "hash");
    let listed = json(h, &["-i", "Admin@Manager", "chain", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let o = sfcbc(h, &["-i", "User1@Org3", "chain", "show", "c1"]);
    assert_eq!(o.status.code(), Some(1), "Org3 is no hop of c1");

    // A bad spec is refused before the chain's channel is made, so a corrected spec then
    // gets a channel with all of its orgs.
    let empty = h.join("c5.json");
    std::fs::write(&empty, r#"{"id": "c5", "hops": []}"#).unwrap();
    let o = sfcbc(
        h,
        &["chain", "create", "c5", "--file", empty.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least one hop"));
    for bad in [
        "Org1:NameWriter:1=host:port",
        "Org1:NameWriter:1=127.0.0.2:9,none,NoSuchMSP",
    ] {
        let o = sfcbc(h, &["chain", "create", "c5", "--hop", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad}");
    }
    let status = json(h, &["devnet", "status"]);
    assert!(
        !status.to_string().contains("sfc-c5"),
        "a channel for a refused chain: {status}"
    );
    json(
        h,
        &[
            "chain",
            "create",
            "c5",
            "--hop",
            "Org2:NameWriter:1=127.0.0.3:9002",
        ],
    );
    let shown = json(h, &["-i", "User1@Org2", "chain", "show", "c5"]);
    assert_eq!(shown["hops"][0]["psiid"], "Org2:NameWriter:1");
    // A chain whose channel exists without one of its orgs is refused.
    ok(
        h,
        &[
            "devnet",
            "channel",
            "create",
            "sfc-c6",
            "--orgs",
            "Tenant1,Manager,Org1",
        ],
    );
    let o = sfcbc(
        h,
        &[
            "chain",
            "create",
            "c6",
            "--hop",
            "Org3:NameWriter:1=127.0.0.4:9002",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not among its members"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Private sharing: the secret never shows in any output or block.
    let secret = "s3cret-7f1c9a";
    json(
        h,
        &[
            "-i",
            "Admin@Org1",
            "account",
            "register",
            "user1",
            "--secret",
            secret,
        ],
    );
    let w = json(
        h,
        &[
            "auth",
            "share",
            "c1",
            "Org1:NameWriter:1",
            "--account",
            "user1",
            "--secret",
            secret,
        ],
    );
    assert_eq!(w["collection"], "_implicit_org_Org1MSP");
    // Only Org1's peer stores the share (its account name, the secret's salted hash); no
    // other org's peer, nor the orderer, holds any of it, and the secret itself is nowhere.
    let net = h.join("devnet");
    assert_eq!(
        files_containing(&net, b"acct-only-at-org1"),
        Vec::<String>::new(),
        "nothing shared yet"
    );
    json(
        h,
        &[
            "auth",
            "share",
            "c1",
            "Org1:NameWriter:1",
            "--account",
            "acct-only-at-org1",
            "--secret",
            secret,
        ],
    );
    assert_eq!(
        files_containing(&net, b"acct-only-at-org1"),
        ["peers/peer0.org1.example.com/ledgers/sfc-c1.redb".to_string()]
    );
    assert!(
        files_containing(&net, secret.as_bytes()).is_empty(),
        "the secret is stored somewhere"
    );
    json(
        h,
        &[
            "endpoints",
            "share",
            "c1",
            "Org1:NameWriter:1",
            "--source",
            "127.0.0.10:7000",
        ],
    );
    let o = sfcbc(
        h,
        &[
            "auth",
            "share",
            "c1",
            "Org9:X:1",
            "--account",
            "u",
            "--secret",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not in chain c1"));

    let update = json(
        h,
        &[
            "chain",
            "update",
            "c1",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9001,hash+address",
        ],
    );
    assert_eq!(update["version"], 2);
    let disabled = json(h, &["chain", "disable", "c1"]);
    assert_eq!(disabled["state"], "disabled");
    let o = sfcbc(h, &["-i", "User1@Org1", "chain", "disable", "c1"]);
    assert_eq!(o.status.code(), Some(1), "only the owner disables");

    let txs = json(h, &["blocks"]);
    let txs = txs.as_array().unwrap();
    let fns: Vec<&str> = txs
        .iter()
        .map(|t| t["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        fns,
        [
            "",
            "CreateChain",
            "RegisterAccount",
            "ShareAuth",
            "ShareAuth",
            "ShareEndpoints",
            "UpdateChain",
            "DisableChain"
        ]
    );
    assert_eq!(txs[0]["kind"], "CONFIG");
    assert!(txs.iter().all(|t| t["validation"] == "VALID"));
    let share = &txs[3];
    assert_eq!(
        share["private_writes"][0]["collection"],
        "_implicit_org_Org1MSP"
    );
    let all = ok(h, &["blocks"]);
    assert!(all.contains("sfc:ShareAuth") && !all.contains(secret));

    let audit = json(h, &["audit", "verify"]);
    assert_eq!(audit["blocks"], 8);
    assert!(audit["problems"].as_array().unwrap().is_empty(), "{audit}");

    assert_eq!(json(h, &["records", "c1"]).as_array().unwrap().len(), 0);
    assert_eq!(json(h, &["errors", "c1"]).as_array().unwrap().len(), 0);
    let trace = json(h, &["trace", "c1", "--payload", "hello"]);
    assert_eq!(trace["complete"], false);

    // One channel per chain: `chain create` has the devnet create sfc-c3 with exactly the
    // owner's org, the hops' SPs and the manager; Org2 holds no copy and cannot query it.
    json(
        h,
        &[
            "chain",
            "create",
            "c3",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9002,address",
            "--hop",
            "Org3:NameWriter:1=127.0.0.4:9002,hash",
        ],
    );
    let profile = std::fs::read_to_string(h.join("devnet/profile.yaml")).unwrap();
    assert!(profile.contains("- sfc-c3"), "{profile}");
    let ledgers =
        |org: &str| net.join(format!("peers/peer0.{org}.example.com/ledgers/sfc-c3.redb"));
    for org in ["tenant1", "org1", "org3", "manager"] {
        assert!(ledgers(org).exists(), "{org} has no sfc-c3 ledger");
    }
    assert!(!ledgers("org2").exists(), "Org2 holds a copy of sfc-c3");
    let o = sfcbc(
        h,
        &[
            "-i",
            "User1@Org2",
            "--channel",
            "sfc-c3",
            "chain",
            "show",
            "c3",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("access denied"));
    assert_eq!(
        json(h, &["-i", "User1@Org3", "chain", "show", "c3"])["id"],
        "c3"
    );
    // Only the manager's admin may have channels made: a tenant's signed request is refused.
    let sock = net.join("admin.sock");
    let user = sfcbc_fabric::MspDir::load(net.join(
        "organizations/peerOrganizations/tenant1.example.com/users/User1@tenant1.example.com/msp",
    ))
    .unwrap()
    .signer("Tenant1MSP")
    .unwrap();
    let request = r#"{"name":"sfc-evil","orgs":["Tenant1MSP"]}"#;
    let line = serde_json::json!({
        "request": request,
        "creator": hex::encode(user.serialize()),
        "signature": hex::encode(user.sign(request.as_bytes())),
    });
    let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    use std::io::{BufRead as _, Write as _};
    writeln!(stream, "{line}").unwrap();
    let mut answer = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut answer)
        .unwrap();
    assert!(
        answer.contains("\"ok\":false") && answer.contains("ManagerMSP"),
        "{answer}"
    );

    let o = ok(h, &["devnet", "down"]);
    assert!(o.contains("stopped"), "{o}");
    let code = devnet.0.wait().unwrap();
    assert!(
        code.success(),
        "devnet up exited with {code:?} after SIGTERM"
    );
    assert!(!pid.exists(), "pid file left behind");
    let o = sfcbc(h, &["devnet", "down"]);
    assert_eq!(o.status.code(), Some(1));
}

/// A free UDP port on loopback address `ip`.
fn free_udp(ip: &str) -> String {
    std::net::UdpSocket::bind(format!("{ip}:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

/// `sf run`, `sink` and `send` as separate processes: a one-hop chain stamps a datagram
/// from the registered source and delivers it; SIGTERM flushes the SF's records.
#[test]
fn sf_run_send_and_sink_processes() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let child = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(["devnet", "up", "--channels", "sfc-c2"])
        .env("SFCBC_HOME", h)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("devnet up");
    let _devnet = Devnet(child);
    let pid = h.join("devnet").join("devnet.pid");
    let end = Instant::now() + Duration::from_secs(30);
    while !pid.exists() {
        assert!(Instant::now() < end, "devnet up wrote no pid file in 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let hop = free_udp("127.0.0.2");
    let src = free_udp("127.0.0.10");
    let dst = free_udp("127.0.0.11");
    let psiid = "Org1:NameWriter:1";
    json(
        h,
        &[
            "chain",
            "create",
            "c2",
            "--hop",
            &format!("{psiid}={hop},address"),
        ],
    );
    json(
        h,
        &[
            "-i",
            "Admin@Org1",
            "account",
            "register",
            "u",
            "--secret",
            "pw",
        ],
    );
    json(
        h,
        &[
            "auth",
            "share",
            "c2",
            psiid,
            "--account",
            "u",
            "--secret",
            "pw",
        ],
    );
    json(
        h,
        &[
            "endpoints",
            "share",
            "c2",
            psiid,
            "--source",
            &src,
            "--destination",
            &dst,
        ],
    );

    let sink = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args([
            "--json",
            "sink",
            "--listen",
            &dst,
            "--count",
            "1",
            "--expect-stamps",
            "1",
        ])
        .env("SFCBC_HOME", h)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sink");
    let mut sink = Devnet(sink);
    let sf = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args([
            "-i",
            "User1@Org1",
            "--json",
            "sf",
            "run",
            "--chain",
            "c2",
            "--psiid",
            psiid,
        ])
        .env("SFCBC_HOME", h)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sf run");
    let mut sf = Devnet(sf);
    // Send until the sink has its datagram (the SF needs a moment to load the chain).
    let end = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    while sink.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "nothing reached the sink in 20 s");
        n += 1;
        ok(
            h,
            &[
                "send",
                "--bind",
                &src,
                "--to",
                &hop,
                "--payload",
                &format!("ping {n}"),
            ],
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = sink.0.wait_with_output_ref();
    let report: serde_json::Value = serde_json::from_str(&out).expect("sink JSON");
    assert_eq!(report["bad"], 0, "{report}");
    assert_eq!(report["arrivals"][0]["stamps"][0][0], psiid, "{report}");

    let term = Command::new("kill")
        .args(["-TERM", &sf.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = sf.0.wait_with_output_ref();
    let report: serde_json::Value = serde_json::from_str(&out).expect("sf JSON report");
    assert!(report["forwarded"].as_u64().unwrap() >= 1, "{report}");
    let records = json(h, &["records", "c2"]);
    assert!(
        !records.as_array().unwrap().is_empty(),
        "no record on the ledger"
    );
}

trait WaitOutput {
    /// Waits for the child and returns its stdout.
    fn wait_with_output_ref(&mut self) -> String;
}

impl WaitOutput for Child {
    fn wait_with_output_ref(&mut self) -> String {
        use std::io::Read as _;
        let mut s = String::new();
        if let Some(mut out) = self.stdout.take() {
            out.read_to_string(&mut s).unwrap();
        }
        let _ = self.wait();
        s
    }
}
