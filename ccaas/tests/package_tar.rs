//! `sfcbc-ccaas package`: the install package checked from the outside, by the `tar` command
//! and by hashing, as `peer lifecycle chaincode install` and `calculatepackageid` see it.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_sfcbc-ccaas");

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sfcbc-ccaas")
}

fn tar(args: &[&str], dir: &Path) -> String {
    let out = Command::new("tar")
        .args(args)
        .env("TZ", "UTC")
        .current_dir(dir)
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn file(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn plaintext_package_unpacks_as_fabric_expects() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(
        &[
            "package",
            "--label",
            "sfcbc_1.0",
            "--address",
            "127.0.0.1:9999",
            "--out",
            "p.tgz",
        ],
        d,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let bytes = std::fs::read(d.join("p.tgz")).unwrap();
    assert_eq!(
        id,
        format!("sfcbc_1.0:{}", hex::encode(Sha256::digest(&bytes)))
    );

    // gzip header: no file name, mtime 0 — nothing that varies between runs.
    assert_eq!(&bytes[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(bytes[3], 0, "no FNAME/FCOMMENT/FEXTRA flags");
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "gzip mtime 0");

    // Exactly two regular files, no ./ prefix, no directories, in this order.
    assert_eq!(tar(&["-tzf", "p.tgz"], d), "metadata.json\ncode.tar.gz\n");
    let verbose = tar(&["-tvzf", "p.tgz"], d);
    for line in verbose.lines() {
        assert!(
            line.starts_with("-rw-r--r-- root/root"),
            "regular 0644 root file: {line}"
        );
        assert!(line.contains("2020-01-01"), "fixed mtime: {line}");
    }
    std::fs::create_dir(d.join("x")).unwrap();
    tar(&["-xzf", "../p.tgz"], &d.join("x"));
    assert_eq!(
        file(&d.join("x"), "metadata.json"),
        r#"{"type":"ccaas","label":"sfcbc_1.0"}"#
    );
    assert_eq!(
        tar(&["-tzf", "code.tar.gz"], &d.join("x")),
        "connection.json\n"
    );
    tar(&["-xzf", "code.tar.gz"], &d.join("x"));
    assert_eq!(
        file(&d.join("x"), "connection.json"),
        r#"{"address":"127.0.0.1:9999","dial_timeout":"10s","tls_required":false}"#
    );

    // Reproducible: a second run gives the same bytes and id.
    let again = run(
        &[
            "package",
            "--label",
            "sfcbc_1.0",
            "--address",
            "127.0.0.1:9999",
            "--out",
            "q.tgz",
        ],
        d,
    );
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), id);
    assert_eq!(std::fs::read(d.join("q.tgz")).unwrap(), bytes);
}

#[test]
fn tls_package_inlines_pems_and_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(d.join("ca.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("client.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("client.key"), key.serialize_pem()).unwrap();
    let out = run(
        &[
            "package",
            "--label",
            "sfcbc_1.1",
            "--address",
            "127.0.0.1:9443",
            "--tls",
            "--tls-root-cert",
            "ca.pem",
            "--tls-client-cert",
            "client.pem",
            "--tls-client-key",
            "client.key",
            "--out",
            "t.tgz",
            "--json",
        ],
        d,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = std::fs::read(d.join("t.tgz")).unwrap();
    assert_eq!(
        v["package_id"],
        format!("sfcbc_1.1:{}", hex::encode(Sha256::digest(&bytes)))
    );
    assert_eq!(
        v["connection"]["client_key"], "<redacted>",
        "keys stay off the terminal"
    );
    tar(&["-xzf", "t.tgz"], d);
    tar(&["-xzf", "code.tar.gz"], d);
    let conn: serde_json::Value = serde_json::from_str(&file(d, "connection.json")).unwrap();
    assert_eq!(conn["tls_required"], true);
    assert_eq!(conn["client_auth_required"], true);
    assert_eq!(conn["root_cert"], cert.pem());
    assert_eq!(conn["client_cert"], cert.pem());
    assert_eq!(conn["client_key"], key.serialize_pem());
    assert_eq!(conn["dial_timeout"], "10s");
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(
        &[
            "package",
            "--label",
            "bad label",
            "--address",
            "127.0.0.1:1",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid label") && err.contains("sfcbc_1.0"),
        "{err}"
    );
    let out = run(&["package", "--label", "ok", "--address", "no-port"], d);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOST:PORT"));
    // Usage errors exit 2 (clap): --tls needs a root certificate.
    let out = run(
        &[
            "package",
            "--label",
            "ok",
            "--address",
            "127.0.0.1:1",
            "--tls",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("ok.tgz").exists());
    // serve without a package id.
    let out = Command::new(BIN)
        .args(["serve", "--address", "127.0.0.1:0"])
        .env_remove("CHAINCODE_ID")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--chaincode-id"));
    // TLS on without files.
    let out = Command::new(BIN)
        .args([
            "serve",
            "--address",
            "127.0.0.1:0",
            "--chaincode-id",
            "x:1",
            "--tls-disabled",
            "false",
        ])
        .env_remove("CHAINCODE_TLS_CERT")
        .env_remove("CHAINCODE_TLS_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CHAINCODE_TLS_CERT"));
}

#[test]
fn help_explains_both_commands() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("serve") && help.contains("package") && help.contains("peer lifecycle"));
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for env in [
        "CHAINCODE_SERVER_ADDRESS",
        "CHAINCODE_ID",
        "CHAINCODE_TLS_DISABLED",
        "CHAINCODE_TLS_CERT",
        "CHAINCODE_TLS_KEY",
        "CHAINCODE_CLIENT_CA_CERT",
    ] {
        assert!(help.contains(env), "serve --help names {env}");
    }
}
