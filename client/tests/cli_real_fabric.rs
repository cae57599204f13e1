//! The `sfcbc` binary against a REAL Hyperledger Fabric 2.5 network (`../shared/fabric-real`:
//! an etcdraft orderer, peer0.org1 and peer0.org2 with the Gateway on, channel `mychannel`),
//! with our chaincode deployed by `peer lifecycle` as CCaaS and served by sfcbc-ccaas. A
//! hand-written profile (the kind an operator writes for `--profile`) drives the Gateway
//! commands and `sfcbc demo --profile` on two orgs (Org1 runs hops 1 and 3).
//!
//! Brings up its own network in a temporary directory on its own ports (37050.., 39443..,
//! 39051.., chaincode 37099) and tears it down afterwards. Without the Fabric binaries
//! (`~/.cache/fabric-real/bin`, built by `../shared/fabric-real/build.sh`), the harness, free
//! ports, or with `SFCBC_SKIP_REAL_FABRIC=1`, it prints why and passes without testing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const PORTS: &[(&str, &str)] = &[
    ("ORDERER_PORT", "37050"),
    ("ORDERER_ADMIN_PORT", "37053"),
    ("ORDERER_OPS_PORT", "39443"),
    ("ORG1_PEER_PORT", "37051"),
    ("ORG1_CC_PORT", "37052"),
    ("ORG1_OPS_PORT", "39444"),
    ("ORG2_PEER_PORT", "39051"),
    ("ORG2_CC_PORT", "39052"),
    ("ORG2_OPS_PORT", "39445"),
];
const CC_ADDR: &str = "127.0.0.1:37099";

fn harness_dir() -> PathBuf {
    std::env::var_os("FABRIC_REAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fabric-real"))
}

fn fabric_bin() -> PathBuf {
    let home = std::env::var_os("FABRIC_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/fabric-real")
        });
    home.join("bin")
}

fn harness_cmd(harness: &Path, net: &Path, script: &str) -> Command {
    let mut c = Command::new("bash");
    c.arg(harness.join(script)).env("NET", net);
    for (k, v) in PORTS {
        c.env(k, v);
    }
    c
}

fn run(mut c: Command, what: &str) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The network; brought down on drop (also on panic).
struct OwnNetwork {
    harness: PathBuf,
    net: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for OwnNetwork {
    fn drop(&mut self) {
        let _ = harness_cmd(&self.harness, &self.net, "down.sh")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn skip(why: &str) -> Option<OwnNetwork> {
    eprintln!("SKIP real-fabric CLI test: {why}");
    None
}

/// Brings the network up with chaincode `sfc` defined; returns it and the package id.
fn network() -> Option<(OwnNetwork, String)> {
    if std::env::var("SFCBC_SKIP_REAL_FABRIC").as_deref() == Ok("1") {
        skip("SFCBC_SKIP_REAL_FABRIC=1")?;
    }
    for b in ["peer", "orderer", "configtxgen", "cryptogen", "osnadmin"] {
        if !fabric_bin().join(b).exists() {
            skip(&format!(
                "no Fabric binary {} (build them with ../shared/fabric-real/build.sh)",
                fabric_bin().join(b).display()
            ))?;
        }
    }
    let harness = harness_dir();
    if !harness.join("up.sh").exists() {
        skip(&format!(
            "no fabric-real harness at {} (set FABRIC_REAL)",
            harness.display()
        ))?;
    }
    let cc_port = CC_ADDR.rsplit_once(':').map(|(_, p)| p).unwrap_or_default();
    for port in PORTS.iter().map(|(_, p)| *p).chain([cc_port]) {
        if std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap_or(0))).is_ok() {
            skip(&format!(
                "port {port} is in use (another Fabric network running?)"
            ))?;
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let net = dir.path().join("network");
    let own = OwnNetwork {
        harness: harness.clone(),
        net: net.clone(),
        dir,
    };
    eprintln!("bringing up a Fabric network in {}", net.display());
    let mut up = harness_cmd(&harness, &net, "up.sh");
    up.env("BATCH_TIMEOUT", "200ms")
        .env("RAFT_TICK_INTERVAL", "100ms");
    run(up, "up.sh");
    let mut deploy = harness_cmd(&harness, &net, "deploy-ccaas.sh");
    deploy
        .args(["sfc_1.0", CC_ADDR])
        .env("SIGNATURE_POLICY", "OR('Org1MSP.peer','Org2MSP.peer')");
    let out = run(deploy, "deploy-ccaas.sh");
    let pkg = out
        .lines()
        .find_map(|l| l.strip_prefix("PACKAGE_ID="))
        .expect("deploy-ccaas.sh prints PACKAGE_ID=")
        .to_string();
    Some((own, pkg))
}

/// The profile an operator would write for this network.
fn write_profile(net: &Path, path: &Path) {
    let o = net.join("organizations");
    let org = |n: u8, port: &str| {
        let d = o.join(format!("peerOrganizations/org{n}.example.com"));
        format!(
            "  Org{n}:\n    msp_id: Org{n}MSP\n    peer:\n      endpoint: 127.0.0.1:{port}\n      tls_ca: {}\n      server_name: peer0.org{n}.example.com\n    users:\n      Admin: {}\n      User1: {}\n",
            d.join(format!("tlsca/tlsca.org{n}.example.com-cert.pem"))
                .display(),
            d.join(format!("users/Admin@org{n}.example.com/msp"))
                .display(),
            d.join(format!("users/User1@org{n}.example.com/msp"))
                .display(),
        )
    };
    let text = format!(
        "name: fabric-real\nchaincode: sfc\nchannels: [mychannel]\ndefault_identity: User1@Org1\norderer:\n  endpoint: 127.0.0.1:37050\n  tls_ca: {}\n  server_name: orderer.example.com\norgs:\n{}{}",
        o.join("ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem")
            .display(),
        org(1, "37051"),
        org(2, "39051"),
    );
    std::fs::write(path, text).unwrap();
}

async fn sfcbc(profile: &Path, args: &[&str]) -> (i32, String, String) {
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .arg("--profile")
        .arg(profile)
        .args(args)
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_CHANNEL")
        .output()
        .await
        .expect("run sfcbc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn json(profile: &Path, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let (code, out, err) = sfcbc(profile, &full).await;
    assert_eq!(code, 0, "sfcbc {args:?}:\n{out}\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_and_demo_against_real_fabric() {
    let Some((own, package_id)) = tokio::task::spawn_blocking(network).await.unwrap() else {
        return;
    };
    // The chaincode server the peers dial (they launch it on the first invoke).
    let listener = sfcbc_ccaas::bind(CC_ADDR)
        .await
        .expect("bind chaincode server");
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(sfcbc_ccaas::serve(
        listener,
        sfcbc_ccaas::ServerConfig::new(package_id),
        Arc::new(sfcbc_ccaas::SfcContract::new(
            sfcbc_chaincode::Config::default(),
        )),
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    ));
    let profile = own.dir.path().join("profile.yaml");
    write_profile(&own.net, &profile);
    let p = profile.as_path();

    let chain = json(
        p,
        &[
            "chain",
            "create",
            "rf1",
            "--hop",
            "Org2:NameWriter:1=127.0.0.3:9001,hash",
            "--hop",
            "Org1:NameWriter:1=127.0.0.2:9001,address",
        ],
    )
    .await;
    assert_eq!(chain["owner"]["msp"], "Org1MSP");
    let listed = json(p, &["-i", "User1@Org2", "chain", "list"]).await;
    assert_eq!(listed[0]["id"], "rf1");
    json(
        p,
        &[
            "-i",
            "Admin@Org2",
            "account",
            "register",
            "user1",
            "--secret",
            "rf-secret-42",
        ],
    )
    .await;
    let w = json(
        p,
        &[
            "auth",
            "share",
            "rf1",
            "Org2:NameWriter:1",
            "--account",
            "user1",
            "--secret",
            "rf-secret-42",
        ],
    )
    .await;
    assert_eq!(w["collection"], "_implicit_org_Org2MSP");
    let txs = json(p, &["blocks"]).await;
    let share = txs
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"] == "ShareAuth")
        .expect("ShareAuth in the blocks");
    assert_eq!(share["validation"], "VALID");
    assert_eq!(
        share["private_writes"][0]["collection"],
        "_implicit_org_Org2MSP"
    );
    let audit = json(p, &["audit", "verify"]).await;
    assert!(audit["problems"].as_array().unwrap().is_empty(), "{audit}");

    // The paper's demonstration on real Fabric: two orgs, Org1 runs hops 1 and 3.
    let report = json(
        p,
        &[
            "demo",
            "--chain",
            "rfdemo",
            "--owner",
            "User1@Org1",
            "--sps",
            "Org1,Org2,Org1",
        ],
    )
    .await;
    for v in report["verdicts"].as_array().unwrap() {
        assert_eq!(v["ok"], true, "{v}");
    }
    assert_eq!(report["verdicts"].as_array().unwrap().len(), 5);

    let _ = stop.send(true);
    let _ = server.await;
    drop(own);
}
