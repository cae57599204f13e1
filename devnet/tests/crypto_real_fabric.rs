//! Our crypto material against real tools: OpenSSL verifies every chain, purpose and SAN,
//! and a real Fabric 2.5.16 `peer` runs with our peer MSP and TLS certificate, lets our
//! `Admin@` identity join it to a channel from our config block 0, and answers queries about
//! that channel. Skips (with the reason) when `openssl` or the Fabric binaries
//! (~/.cache/fabric-real/bin, or $FABRIC_BIN) are absent.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message as _;
use sfcbc_devnet::channel::{ChannelProfile, OrgProfile};
use sfcbc_devnet::crypto::{KeyAlgorithm, OrgCrypto, OrgSpec, generate};

fn fabric_home() -> Option<PathBuf> {
    let bin = std::env::var_os("FABRIC_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/fabric-real/bin"))
        })?;
    bin.join("peer").is_file().then_some(bin)
}

fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn openssl_verify(ca: &Path, cert: &Path, extra: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .arg("verify")
        .args(extra)
        .arg("-CAfile")
        .arg(ca)
        .arg(cert)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() && text.contains(": OK") {
        Ok(())
    } else {
        Err(text)
    }
}

fn signcert(msp: &Path) -> PathBuf {
    std::fs::read_dir(msp.join("signcerts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

fn check_with_openssl(org: &OrgCrypto) {
    let ca = org.ca_cert_path();
    let tlsca = org.tls_ca_cert_path();
    // The CAs are self-signed roots.
    openssl_verify(&ca, &ca, &[]).unwrap();
    openssl_verify(&tlsca, &tlsca, &[]).unwrap();
    for host in &org.spec.nodes {
        let msp = org.node_msp_dir(host);
        openssl_verify(&ca, &signcert(&msp), &[]).unwrap();
        // A node's identity is not issued by the TLS CA.
        assert!(openssl_verify(&tlsca, &signcert(&msp), &[]).is_err());
        let server = org.node_tls_dir(host).join("server.crt");
        let name = org.node_name(host);
        for args in [
            &["-purpose", "sslserver", "-verify_hostname", &name][..],
            &["-purpose", "sslserver", "-verify_hostname", host],
            &["-purpose", "sslserver", "-verify_hostname", "localhost"],
            &["-purpose", "sslserver", "-verify_ip", "127.0.0.1"],
            &["-purpose", "sslclient"],
        ] {
            openssl_verify(&tlsca, &server, args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
        assert!(
            openssl_verify(&tlsca, &server, &["-verify_hostname", "evil.example.com"]).is_err()
        );
    }
    let mut users = vec!["Admin".to_owned()];
    users.extend(org.spec.users.iter().cloned());
    for user in &users {
        openssl_verify(&ca, &signcert(&org.user_msp_dir(user)), &[]).unwrap();
        let client = org.user_dir(user).join("tls/client.crt");
        openssl_verify(&tlsca, &client, &["-purpose", "sslclient"]).unwrap();
    }
}

#[test]
fn openssl_verifies_chains_purposes_and_sans() {
    if !have_openssl() {
        eprintln!("SKIPPED: openssl is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
        let base = tmp.path().join(format!("{alg:?}"));
        check_with_openssl(&generate(&base, &OrgSpec::orderer_org(), alg).unwrap());
        check_with_openssl(&generate(&base, &OrgSpec::peer_org("Org1"), alg).unwrap());
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the peer when the test ends, however it ends.
struct PeerProcess(Child);

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn peer_cli(bin: &Path, cfg: &Path, org: &OrgCrypto, port: u16) -> Command {
    let mut c = Command::new(bin.join("peer"));
    c.env("FABRIC_CFG_PATH", cfg)
        .env("CORE_PEER_LOCALMSPID", org.msp_id())
        .env("CORE_PEER_MSPCONFIGPATH", org.user_msp_dir("Admin"))
        .env("CORE_PEER_ADDRESS", format!("127.0.0.1:{port}"))
        .env("CORE_PEER_TLS_ENABLED", "true")
        .env("CORE_PEER_TLS_ROOTCERT_FILE", org.tls_ca_cert_path());
    c
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run peer CLI");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn real_peer_runs_with_our_msp_and_joins_our_block_0() {
    let Some(bin) = fabric_home() else {
        eprintln!(
            "SKIPPED: real Fabric binaries not found (~/.cache/fabric-real/bin or $FABRIC_BIN); \
             build them with ../shared/fabric-real/build.sh"
        );
        return;
    };
    let cfg_dir = bin.parent().unwrap().join("config");
    if !cfg_dir.join("core.yaml").is_file() {
        eprintln!("SKIPPED: no core.yaml in {}", cfg_dir.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("organizations");
    let orderer = generate(&base, &OrgSpec::orderer_org(), KeyAlgorithm::EcdsaP256).unwrap();
    let org1 = generate(&base, &OrgSpec::peer_org("Org1"), KeyAlgorithm::EcdsaP256).unwrap();
    let org2 = generate(&base, &OrgSpec::peer_org("Org2"), KeyAlgorithm::EcdsaP256).unwrap();

    // Block 0 of our channel module (solo, as devnet's orderer is).
    let (port, cc_port, ops_port) = (free_port(), free_port(), free_port());
    let profile = ChannelProfile::new(
        "devnetchannel",
        vec![OrgProfile::orderer(
            orderer.msp_config().unwrap(),
            vec!["127.0.0.1:7050".into()],
        )],
        vec![
            OrgProfile::application(org1.msp_config().unwrap())
                .with_anchor_peer("127.0.0.1", port.into()),
            OrgProfile::application(org2.msp_config().unwrap()),
        ],
    );
    let block_path = tmp.path().join("devnetchannel.block");
    std::fs::write(
        &block_path,
        profile.genesis_block().unwrap().encode_to_vec(),
    )
    .unwrap();

    // The peer, with our peer0 MSP and TLS server certificate.
    let node = org1.node_dir("peer0");
    let log_path = tmp.path().join("peer.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Command::new(bin.join("peer"))
        .args(["node", "start"])
        .env("FABRIC_CFG_PATH", &cfg_dir)
        .env("FABRIC_LOGGING_SPEC", "info")
        .env("CORE_PEER_ID", org1.node_name("peer0"))
        .env("CORE_PEER_LISTENADDRESS", format!("127.0.0.1:{port}"))
        .env("CORE_PEER_ADDRESS", format!("127.0.0.1:{port}"))
        .env(
            "CORE_PEER_CHAINCODELISTENADDRESS",
            format!("127.0.0.1:{cc_port}"),
        )
        .env("CORE_PEER_CHAINCODEADDRESS", format!("127.0.0.1:{cc_port}"))
        .env(
            "CORE_OPERATIONS_LISTENADDRESS",
            format!("127.0.0.1:{ops_port}"),
        )
        .env("CORE_METRICS_PROVIDER", "disabled")
        .env("CORE_PEER_FILESYSTEMPATH", tmp.path().join("peerdata"))
        .env(
            "CORE_LEDGER_SNAPSHOTS_ROOTDIR",
            tmp.path().join("snapshots"),
        )
        .env("CORE_PEER_MSPCONFIGPATH", node.join("msp"))
        .env("CORE_PEER_LOCALMSPID", org1.msp_id())
        .env("CORE_PEER_GOSSIP_BOOTSTRAP", format!("127.0.0.1:{port}"))
        .env(
            "CORE_PEER_GOSSIP_EXTERNALENDPOINT",
            format!("127.0.0.1:{port}"),
        )
        .env("CORE_PEER_GOSSIP_USELEADERELECTION", "false")
        .env("CORE_PEER_GOSSIP_ORGLEADER", "false")
        .env("CORE_PEER_TLS_ENABLED", "true")
        .env("CORE_PEER_TLS_CERT_FILE", node.join("tls/server.crt"))
        .env("CORE_PEER_TLS_KEY_FILE", node.join("tls/server.key"))
        .env("CORE_PEER_TLS_ROOTCERT_FILE", node.join("tls/ca.crt"))
        .env("CORE_VM_ENDPOINT", "")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start peer");
    let _peer = PeerProcess(child);
    let read_log = || {
        let mut s = String::new();
        std::fs::File::open(&log_path)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = read_log();
        if log.contains("Started peer with ID") {
            break;
        }
        assert!(
            !log.contains("panic") && !log.contains("Cannot run peer") && !log.contains("FATA"),
            "the real peer refused our material:\n{log}"
        );
        assert!(
            Instant::now() < deadline,
            "peer did not start in 30 s:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Our Admin@org1 joins it to the channel of our block 0 (the peer checks the admin
    // against its local MSP's NodeOUs, and builds the channel's MSPs and policies from the
    // block), then asks about the channel.
    let join = run_ok(
        peer_cli(&bin, &cfg_dir, &org1, port)
            .args(["channel", "join", "-b"])
            .arg(&block_path),
    );
    assert!(
        join.contains("Successfully submitted proposal to join channel"),
        "{join}"
    );
    let list = run_ok(peer_cli(&bin, &cfg_dir, &org1, port).args(["channel", "list"]));
    assert!(list.contains("devnetchannel"), "{list}");
    let info = run_ok(peer_cli(&bin, &cfg_dir, &org1, port).args([
        "channel",
        "getinfo",
        "-c",
        "devnetchannel",
    ]));
    assert!(info.contains("\"height\":1"), "{info}");
    // The real peer hashes our block header as our block module does.
    let genesis =
        sfcbc_fabric::protos::common::Block::decode(std::fs::read(&block_path).unwrap().as_slice())
            .unwrap();
    let hash = base64(&sfcbc_devnet::block::block_hash(&genesis));
    assert!(
        info.contains(&format!("\"currentBlockHash\":\"{hash}\"")),
        "{info} vs {hash}"
    );

    // User1 is a client, not an admin: the peer refuses it the admin-only join.
    let mut user = peer_cli(&bin, &cfg_dir, &org1, port);
    user.env("CORE_PEER_MSPCONFIGPATH", org1.user_msp_dir("User1"))
        .args(["channel", "join", "-b"])
        .arg(&block_path);
    let out = user.output().unwrap();
    assert!(!out.status.success(), "a client identity joined a channel");

    // The peer's log shows no MSP or config complaints.
    let log = read_log();
    assert!(log.contains("devnetchannel"), "{log}");
}

/// Standard base64 with padding (what the peer CLI prints hashes in).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
