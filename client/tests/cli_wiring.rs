//! `sfcbc ui`, `sfcbc k8s render`, `sfcbc bench` and the new `devnet` options, run as the
//! built binary: usage errors exit 2; `ui` serves its page over HTTP against a devnet;
//! `k8s render` reads a chain from the ledger and writes its manifests; `bench` hands its
//! arguments to `sfcbc-bench`; `devnet up --ed25519` makes a network that signs with Ed25519.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn sfcbc_cmd(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sfcbc"));
    c.env("SFCBC_HOME", home)
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_CHANNEL")
        .env_remove("SFCBC_BENCH");
    c
}

fn sfcbc(home: &Path, args: &[&str]) -> Output {
    sfcbc_cmd(home).args(args).output().expect("run sfcbc")
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

/// Kills a child process even when an assertion fails.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sfcbc devnet up ARGS` in `home`, once its admin socket is there.
fn devnet_up(home: &Path, args: &[&str]) -> Kill {
    let child = sfcbc_cmd(home)
        .args(["devnet", "up"])
        .args(args)
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
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for args in [
        &["devnet", "up", "--batch-timeout", "5parsecs"][..],
        &["devnet", "up", "--batch-timeout", "0ms"],
        &["devnet", "up", "--max-message-count", "0"],
        &["devnet", "up", "--tls", "maybe"],
        &["devnet", "channel", "create"],
        &["devnet", "channel", "create", "a", "b"],
        &["devnet", "chaincode", "install"],
        &["devnet", "chaincode", "commit", "--name", "x"],
        &["devnet", "chaincode", "commit", "-C", "ch"],
        &[
            "devnet",
            "chaincode",
            "commit",
            "-C",
            "ch",
            "--name",
            "x",
            "--sequence",
            "0",
        ],
        &["devnet", "chaincode", "frobnicate"],
        &["ui", "--listen", "not-an-address"],
        &["ui", "extra"],
        &["k8s", "render"],
        &[
            "k8s",
            "render",
            "--chain",
            "c",
            "--namespace",
            "no-equals-sign",
        ],
        &["k8s", "render", "--chain", "c", "--tls", "sometimes"],
        &["k8s", "frobnicate"],
        &["k8s", "render", "--chain", "c", "--spec", "chain.json"],
    ] {
        let o = sfcbc(h, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "sfcbc {args:?}: {err}");
        assert!(
            err.starts_with("error:") && (err.contains("Usage:") || err.contains("--help")),
            "sfcbc {args:?}: {err}"
        );
    }
    // --help works for every new command, with examples.
    for args in [
        &["devnet", "channel", "create", "--help"][..],
        &["devnet", "chaincode", "install", "--help"],
        &["devnet", "chaincode", "commit", "--help"],
        &["ui", "--help"],
        &["k8s", "render", "--help"],
    ] {
        let out = ok(h, args);
        assert!(out.contains("Example"), "sfcbc {args:?}: {out}");
    }
    let top = ok(h, &["--help"]);
    for cmd in ["ui", "bench", "k8s"] {
        assert!(
            top.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd} missing from --help:\n{top}"
        );
    }
    // The old spelling of the batch timeout still parses.
    let o = sfcbc(h, &["devnet", "up", "--batch-timeout-ms", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a duration"));
}

/// An executable shell script at `path`.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn bench_passes_its_arguments_to_sfcbc_bench() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // $SFCBC_BENCH: every argument, as given, and the exit code come back.
    let fake = h.join("fake-bench");
    script(&fake, "echo \"ARGS:$*\"; exit 3");
    let o = sfcbc_cmd(h)
        .args([
            "bench",
            "devnet",
            "--quick",
            "--concurrency",
            "1,16",
            "--help",
        ])
        .env("SFCBC_BENCH", &fake)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "ARGS:devnet --quick --concurrency 1,16 --help"
    );
    let o = sfcbc_cmd(h)
        .args(["bench", "--help"])
        .env("SFCBC_BENCH", h.join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SFCBC_BENCH"));

    // The real sfcbc-bench beside sfcbc, when it has been built.
    let sfcbc = PathBuf::from(env!("CARGO_BIN_EXE_sfcbc"));
    let beside = sfcbc.with_file_name(format!("sfcbc-bench{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() {
        let out = ok(h, &["bench", "--help"]);
        assert!(out.contains("sfcbc-bench"), "{out}");
        assert!(out.contains("devnet") && out.contains("dataplane"), "{out}");
    } else {
        eprintln!(
            "no {} built: the real pass-through is not checked",
            beside.display()
        );
    }

    // No sfcbc-bench beside sfcbc: says how to build it (a hard link of sfcbc alone in a
    // folder; current_exe is the link's path).
    let lonely = h.join("bin");
    std::fs::create_dir_all(&lonely).unwrap();
    let linked = lonely.join("sfcbc");
    if std::fs::hard_link(&sfcbc, &linked).is_ok() {
        let o = Command::new(&linked)
            .args(["bench", "devnet"])
            .env_remove("SFCBC_BENCH")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("cargo build --release -p sfcbc-bench"),
            "{err}"
        );
    }
}

/// `GET path` on `addr`; the status line and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn ui_serves_and_k8s_renders_from_the_ledger() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let _devnet = devnet_up(h, &["--channels", "sfc-k1"]);
    json(
        h,
        &[
            "chain",
            "create",
            "k1",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9001,hash",
            "--hop",
            "Org2:NameWriter:1=127.0.0.3:9001,address",
        ],
    );

    // k8s render: stdout YAML, --out DIR/sf.yaml, --json.
    let yaml = ok(h, &["-i", "User1@Org1", "k8s", "render", "--chain", "k1"]);
    assert!(yaml.starts_with("# SF manifests for chain k1"), "{yaml}");
    for kind in ["ConfigMap", "Service", "Deployment", "NetworkPolicy"] {
        assert_eq!(
            yaml.matches(&format!("kind: {kind}\n")).count(),
            2,
            "{kind}:\n{yaml}"
        );
    }
    let out = h.join("manifests");
    let o = sfcbc(
        h,
        &[
            "k8s",
            "render",
            "--chain",
            "k1",
            "--out",
            out.to_str().unwrap(),
            "--image",
            "registry.local/sfcbc/sf:9",
            "--namespace",
            "Org2MSP=sp-two",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("wrote") && stdout.contains("sf.yaml"),
        "{stdout}"
    );
    // The ledger's loopback addresses are no Services: the operator is told.
    assert!(String::from_utf8_lossy(&o.stderr).contains("note:"));
    let written = std::fs::read_to_string(out.join("sf.yaml")).unwrap();
    assert!(written.contains("registry.local/sfcbc/sf:9"));
    assert!(written.contains("namespace: sp-two"));
    let r = json(
        h,
        &["k8s", "render", "--chain", "k1", "--gateways-from-profile"],
    );
    assert_eq!(r["chain"], "k1");
    assert_eq!(r["hops"].as_array().unwrap().len(), 2);
    assert_eq!(r["objects"].as_array().unwrap().len(), 8);
    assert_eq!(r["hops"][0]["registeredAddress"], "127.0.0.2:9001");
    let profile = std::fs::read_to_string(h.join("devnet/profile.yaml")).unwrap();
    let sf_toml = r["objects"][0]["data"]["sf.toml"]
        .as_str()
        .unwrap_or_default();
    let org1_endpoint = profile
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Org1:"))
        .find_map(|l| l.trim().strip_prefix("endpoint: "))
        .unwrap()
        .to_owned();
    assert!(
        sf_toml.contains(&org1_endpoint),
        "hop 1's gateway is not Org1's peer {org1_endpoint}:\n{sf_toml}"
    );
    let o = sfcbc(h, &["k8s", "render", "--chain", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nosuch"));

    // ui: the page over HTTP, as the profile's default identity.
    let addr = format!("127.0.0.1:{}", free_port());
    let ui_out = h.join("ui.out");
    let mut ui = Kill(
        sfcbc_cmd(h)
            .args(["ui", "--listen", &addr])
            .stdout(std::fs::File::create(&ui_out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < end, "sfcbc ui is not listening on {addr}");
        assert!(ui.0.try_wait().unwrap().is_none(), "sfcbc ui exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = http_get(&addr, "/");
    assert!(status.contains(" 200"), "{status}");
    assert!(body.to_ascii_lowercase().contains("<html"), "{body}");
    let printed = std::fs::read_to_string(&ui_out).unwrap();
    assert!(
        printed.contains(&format!("http://{addr}/")) && printed.contains("User1@Tenant1"),
        "{printed}"
    );
    // The port is taken now: a second ui says to pick another.
    let o = sfcbc(h, &["ui", "--listen", &addr]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--listen"));
    // SIGTERM stops it cleanly.
    let _ = Command::new("kill")
        .args(["-TERM", &ui.0.id().to_string()])
        .status();
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = ui.0.try_wait().unwrap() {
            assert!(st.success(), "sfcbc ui exited with {st:?} on SIGTERM");
            break;
        }
        assert!(Instant::now() < end, "sfcbc ui did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Without a devnet: an error, not a hang.
    let empty = tempfile::tempdir().unwrap();
    let o = sfcbc(empty.path(), &["ui", "--listen", "127.0.0.1:0"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn devnet_up_ed25519_signs_with_ed25519() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let _devnet = devnet_up(
        h,
        &[
            "--ed25519",
            "--orgs",
            "Manager,Org1,Tenant1",
            "--channels",
            "sfc-e1",
            "--tls",
            "off",
        ],
    );
    let status = json(h, &["devnet", "status"]);
    let peers = status["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 3, "{status}");
    assert!(peers.iter().all(|p| p["state"] == "up"), "{status}");
    // The user's certificate carries an Ed25519 key (OID 1.3.101.112: 06 03 2B 65 70).
    let signcerts = h.join(
        "devnet/organizations/peerOrganizations/tenant1.example.com/users/User1@tenant1.example.com/msp/signcerts",
    );
    let pem_file = std::fs::read_dir(&signcerts)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let pem = std::fs::read_to_string(pem_file).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert!(
        der.windows(5).any(|w| w == [0x06, 0x03, 0x2B, 0x65, 0x70]),
        "not an Ed25519 certificate"
    );
    // A transaction signed with it is endorsed, ordered and valid.
    let chain = json(
        h,
        &[
            "chain",
            "create",
            "e1",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9001",
        ],
    );
    assert_eq!(chain["owner"]["msp"], "Tenant1MSP");
    let txs = json(h, &["blocks"]);
    assert!(
        txs.as_array()
            .unwrap()
            .iter()
            .all(|t| t["validation"] == "VALID"),
        "{txs}"
    );
}

/// `k8s render --spec` renders offline, byte for byte what the committed chain1 overlay
/// holds (which a library test keeps in step with the renderer).
#[test]
fn k8s_render_spec_offline_matches_the_committed_overlay() {
    let home = tempfile::tempdir().unwrap();
    let overlay = Path::new(env!("CARGO_MANIFEST_DIR")).join("../network/k8s/overlays/chain1");
    let spec = overlay.join("chain.json");
    let o = sfcbc(
        home.path(),
        &["k8s", "render", "--spec", spec.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let committed = std::fs::read_to_string(overlay.join("sf.yaml")).unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout) == committed,
        "sfcbc k8s render --spec differs from network/k8s/overlays/chain1/sf.yaml"
    );
    let bad = home.path().join("bad.json");
    std::fs::write(&bad, "{\"hops\": 3}").unwrap();
    let o = sfcbc(
        home.path(),
        &["k8s", "render", "--spec", bad.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad chain JSON"));
}
