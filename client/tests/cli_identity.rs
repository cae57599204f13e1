//! `sfcbc identity register|enroll|revoke` as the built binary: `--help` with examples, usage
//! errors (exit 2), clear failures (exit 1), and end to end against a REAL fabric-ca-server
//! 1.5.21 (TLS on) when `~/.cache/fabric-real/bin/fabric-ca-server` (or `$FABRIC_CA_BIN`,
//! `$FABRIC_HOME/bin`) exists; otherwise that test prints why it skipped, unless
//! `SFCBC_REQUIRE_FABRIC_CA=1`, which makes it a failure.

use std::net::TcpListener;
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
        .env_remove("SFCBC_GATEWAY")
        .output()
        .expect("run sfcbc")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
fn ok(home: &Path, args: &[&str]) -> String {
    let o = sfcbc(home, args);
    assert_eq!(o.status.code(), Some(0), "sfcbc {args:?}:\n{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn fails(home: &Path, args: &[&str], want: &str) -> String {
    let o = sfcbc(home, args);
    assert_eq!(o.status.code(), Some(1), "sfcbc {args:?}:\n{}", text(&o));
    let t = text(&o);
    assert!(t.contains(want), "sfcbc {args:?}: want {want:?} in:\n{t}");
    assert!(!t.contains("panicked"), "{t}");
    t
}

#[test]
fn help_and_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let top = ok(h, &["--help"]);
    assert!(top.contains("\n  identity "), "{top}");
    for sub in ["register", "enroll", "revoke"] {
        let t = ok(h, &["identity", sub, "--help"]);
        assert!(
            t.contains("--ca-url") && t.contains("--tls-ca"),
            "{sub}: {t}"
        );
        assert!(t.contains("Examples:"), "{sub}: {t}");
    }
    let t = ok(h, &["identity", "register", "--help"]);
    for opt in [
        "--registrar",
        "--id",
        "--secret",
        "--type",
        "--affiliation",
        "--attrs",
        "--msp-id",
    ] {
        assert!(t.contains(opt), "register --help lacks {opt}: {t}");
    }
    let t = ok(h, &["identity", "enroll", "--help"]);
    assert!(t.contains("--out") && t.contains("--msp-id"), "{t}");

    let u = ["--ca-url", "http://127.0.0.1:1"];
    for args in [
        &["identity"][..],
        &[
            "identity", "enroll", "--id", "a", "--secret", "b", "--out", "x",
        ],
        &[
            "identity", "enroll", "--ca-url", "x", "--id", "a", "--secret", "b",
        ],
        &[
            "identity", "register", u[0], u[1], "--id", "a", // no --registrar
        ],
        &["identity", "revoke", u[0], u[1], "--registrar", "x"], // no --id / --cert
        &[
            "identity",
            "revoke",
            u[0],
            u[1],
            "--registrar",
            "x",
            "--id",
            "a",
            "--cert",
            "c",
        ],
        &[
            "identity",
            "register",
            u[0],
            u[1],
            "--registrar",
            "x",
            "--id",
            "a",
            "--max-enrollments",
            "many",
        ],
        &["identity", "bogus"],
    ] {
        let o = sfcbc(h, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }

    // Failures that say what is wrong (exit 1).
    let out = h.join("msp");
    let out = out.to_str().unwrap();
    fails(
        h,
        &[
            "identity", "enroll", u[0], u[1], "--id", "a", "--secret", "b", "--out", out,
        ],
        "cannot reach the Fabric CA",
    );
    fails(
        h,
        &[
            "identity",
            "enroll",
            "--ca-url",
            "ftp://x:1",
            "--id",
            "a",
            "--secret",
            "b",
            "--out",
            out,
        ],
        "invalid Fabric CA URL",
    );
    fails(
        h,
        &[
            "identity",
            "enroll",
            u[0],
            u[1],
            "--tls-ca",
            "/nonexistent.pem",
            "--id",
            "a",
            "--secret",
            "b",
            "--out",
            out,
        ],
        "/nonexistent.pem",
    );
    fails(
        h,
        &[
            "identity",
            "register",
            u[0],
            u[1],
            "--registrar",
            "nobody",
            "--id",
            "a",
        ],
        "USER@ORG",
    );
    fails(
        h,
        &[
            "identity",
            "register",
            u[0],
            u[1],
            "--registrar",
            "Admin@Org1",
            "--id",
            "a",
        ],
        "--registrar Admin@Org1",
    );
    fails(
        h,
        &[
            "identity",
            "register",
            u[0],
            u[1],
            "--registrar",
            h.to_str().unwrap(),
            "--id",
            "a",
        ],
        "cannot load the MSP folder",
    );
    fails(
        h,
        &[
            "identity",
            "register",
            u[0],
            u[1],
            "--registrar",
            "x@y",
            "--id",
            "a",
            "--attrs",
            "novalue",
        ],
        "--attrs",
    );
}

// ---- end to end against a real fabric-ca-server -------------------------------------------

fn ca_bin() -> Option<PathBuf> {
    let dir = match std::env::var_os("FABRIC_CA_BIN") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("FABRIC_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/fabric-real"))
            })?
            .join("bin"),
    };
    let bin = dir.join("fabric-ca-server");
    if bin.is_file() {
        return Some(bin);
    }
    let why = format!(
        "no fabric-ca-server at {} — build it with `bash ../shared/fabric-real/build-ca.sh`",
        bin.display()
    );
    if std::env::var("SFCBC_REQUIRE_FABRIC_CA").is_ok_and(|v| v == "1") {
        panic!("SFCBC_REQUIRE_FABRIC_CA=1 but {why}");
    }
    eprintln!("SKIPPED (sfcbc identity against a real Fabric CA): {why}");
    None
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

#[test]
fn register_enroll_revoke_against_a_real_fabric_ca() {
    let Some(bin) = ca_bin() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let h = tmp.path();
    let ca_home = h.join("ca");
    std::fs::create_dir_all(&ca_home).unwrap();
    let port = free_port();
    let log = ca_home.join("server.log");
    let mut server = Server(
        Command::new(&bin)
            .args(["start", "-b", "admin:adminpw", "--tls.enabled"])
            .args(["--port", &port.to_string(), "--address", "127.0.0.1"])
            .arg("--home")
            .arg(&ca_home)
            .env("FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start fabric-ca-server"),
    );
    let url = format!("https://localhost:{port}");
    let tls = ca_home.join("ca-cert.pem");
    let tls = tls.to_str().unwrap().to_owned();
    let ca = ["--ca-url", url.as_str(), "--tls-ca", tls.as_str()];
    let path = |p: &str| h.join(p).to_str().unwrap().to_owned();
    let admin = path("admin/msp");

    // Enroll the bootstrap admin; wait for the server on the way.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut args = vec!["--json", "identity", "enroll"];
        args.extend_from_slice(&ca);
        args.extend_from_slice(&[
            "--id", "admin", "--secret", "adminpw", "--msp-id", "Org1MSP", "--out", &admin,
        ]);
        let o = sfcbc(h, &args);
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["id"], "admin");
            let files: Vec<String> = serde_json::from_value(v["files"].clone()).unwrap();
            assert!(files.iter().any(|f| f == "signcerts/cert.pem"), "{files:?}");
            assert!(
                files.iter().any(|f| f.starts_with("keystore/")),
                "{files:?}"
            );
            assert!(files.iter().any(|f| f == "config.yaml"), "{files:?}");
            break;
        }
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "fabric-ca-server exited:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(
            Instant::now() < deadline,
            "the CA is not ready after 60 s:\n{}\n{}",
            text(&o),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    for f in ["signcerts/cert.pem", "config.yaml"] {
        assert!(h.join("admin/msp").join(f).is_file(), "{f}");
    }

    // Register sf1 with the admin's MSP folder (JSON gives the secret back).
    let run = |extra: &[&str], sub: &str, json: bool| -> Output {
        let mut args = Vec::new();
        if json {
            args.push("--json");
        }
        args.extend_from_slice(&["identity", sub]);
        args.extend_from_slice(&ca);
        args.extend_from_slice(extra);
        sfcbc(h, &args)
    };
    let o = run(
        &[
            "--registrar",
            &admin,
            "--id",
            "sf1",
            "--secret",
            "sf1pw",
            "--type",
            "client",
            "--affiliation",
            "org1.department1",
            "--attrs",
            "role=sf:ecert",
        ],
        "register",
        true,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["secret"], "sf1pw");

    // Register via USER@ORG from a profile (the CA generates the secret).
    let profile = h.join("profile.yaml");
    std::fs::write(
        &profile,
        format!(
            "name: ca-test\norgs:\n  Org1: {{ msp_id: Org1MSP, users: {{ Admin: {admin} }} }}\n"
        ),
    )
    .unwrap();
    let mut args = vec![
        "--profile",
        profile.to_str().unwrap(),
        "--json",
        "identity",
        "register",
    ];
    args.extend_from_slice(&ca);
    args.extend_from_slice(&["--registrar", "Admin@Org1", "--id", "user2"]);
    let o = sfcbc(h, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let secret2 = v["secret"].as_str().unwrap().to_owned();
    assert!(!secret2.is_empty());

    // Enroll both; sf1's certificate carries the ecert attribute.
    let sf1 = path("sf1/msp");
    let o = run(
        &[
            "--id", "sf1", "--secret", "sf1pw", "--msp-id", "Org1MSP", "--out", &sf1,
        ],
        "enroll",
        false,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("enrolled sf1"), "{}", text(&o));
    let cert = std::fs::read_to_string(h.join("sf1/msp/signcerts/cert.pem")).unwrap();
    assert!(cert.contains("BEGIN CERTIFICATE"));
    let o = run(
        &[
            "--id",
            "user2",
            "--secret",
            &secret2,
            "--out",
            &path("user2/msp"),
        ],
        "enroll",
        false,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Wrong secret; a registrar without rights.
    let o = run(
        &["--id", "sf1", "--secret", "nope", "--out", &path("x/msp")],
        "enroll",
        false,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("Authentication failure"), "{}", text(&o));
    let o = run(&["--registrar", &sf1, "--id", "sf9"], "register", false);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Fabric CA refused"), "{}", text(&o));

    // Revoke one certificate of user2 (--cert), then sf1 entirely with a CRL; a revoked
    // identity cannot register/enroll any more (its secret is used up and it is revoked).
    let o = run(
        &[
            "--registrar",
            &admin,
            "--cert",
            &path("user2/msp/signcerts/cert.pem"),
        ],
        "revoke",
        true,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["revoked"].as_array().unwrap().len(), 1, "{v}");
    let crl = path("crl.pem");
    let o = run(
        &[
            "--registrar",
            &admin,
            "--id",
            "sf1",
            "--reason",
            "keycompromise",
            "--crl-out",
            &crl,
        ],
        "revoke",
        false,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("revoked sf1: 1 certificate(s)"),
        "{}",
        text(&o)
    );
    assert!(
        std::fs::read_to_string(&crl).unwrap().contains("X509 CRL"),
        "no CRL written"
    );
    let o = run(
        &["--id", "sf1", "--secret", "sf1pw", "--out", &path("y/msp")],
        "enroll",
        false,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // The revoked sf1 cannot act as a registrar either (its token is refused).
    let o = run(&["--registrar", &sf1, "--id", "sf10"], "register", false);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
