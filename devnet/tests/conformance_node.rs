//! Conformance with code we did not write (issue 5, DESIGN §9): devnet serves the OFFICIAL
//! Node Fabric Gateway client (`@hyperledger/fabric-gateway` 1.11 + `@grpc/grpc-js`) and drives
//! the OFFICIAL Node chaincode shim (`fabric-shim` / `fabric-contract-api` 2.5) in CCaaS server
//! mode, both unmodified from npm.
//!
//! The test starts, in this process, a devnet (orderer + Org1/Org2 peers over TLS on loopback),
//! our `sfcbc-ccaas` server with the SFC contract and, as a child process,
//! `fabric-chaincode-node server` with the contract in `tests/conformance/shim/`; installs both
//! CCaaS packages and commits both chaincodes on one channel; writes the connection file
//! (endpoints, TLS CAs, MSP dirs, channel, chaincode names) and runs `node --test` in
//! `tests/conformance/gateway/` against it (the node process must pass). Then it drives the Node
//! chaincode through our own client, `sfcbc_client`, too.
//!
//! npm: if `node_modules` is missing in either folder, this test runs `npm ci` there (the
//! versions are pinned by the committed `package-lock.json`); `tests/conformance/run.sh` does
//! the same before calling `cargo test -p sfcbc-devnet --test conformance_node -- --nocapture`.
//! Without `node` (≥ 18) or `npm` the test FAILS and says how to install them.
//!
//! Environment: `CONFORMANCE_KEEP=1` keeps the temp dir (crypto, ledgers, logs) for a look
//! afterwards; `CONFORMANCE_NODE_ARGS` adds arguments to `node --test` (e.g.
//! `--test-name-pattern=MVCC`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sfcbc_ccaas::package::{PackageSpec, build};
use sfcbc_ccaas::{ServerConfig, SfcContract as SfcChaincode};
use sfcbc_client::{Gateway, TlsOptions};
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use sfcbc_fabric::protos::protos::TxValidationCode;
use tokio::sync::oneshot;

const CHANNEL: &str = "conformance";
const SFC_CC: &str = "sfc";
const NODE_CC: &str = "nodecc";
/// The same Node package under a second name with the channel's default policy
/// (`/Channel/Application/Endorsement` = MAJORITY: both orgs with two).
const NODE_MAJORITY_CC: &str = "nodecc-majority";
/// The MAJORITY chaincode's collections config (fabric-samples' `collections_config.json` form).
const ORG1_ONLY_COLLECTION: &str = r#"[{"name":"org1only","policy":"OR('Org1MSP.member')","requiredPeerCount":0,"maxPeerCount":1,"blockToLive":0,"memberOnlyRead":true,"memberOnlyWrite":false}]"#;
/// Either org may endorse (the gateway endorses on its own org); private data is written to an
/// org's implicit collection with `endorsingOrganizations` = that org, as Fabric 2.5 requires.
const POLICY: &str = "OR('Org1MSP.peer','Org2MSP.peer')";
/// Upper bound for the whole `node --test` run.
const NODE_TEST_TIMEOUT: Duration = Duration::from_secs(300);
const INSTALL_HINT: &str = "install Node.js 18+ and npm, e.g. `apt-get install nodejs npm` \
    (Debian 12 ships Node 18; Node 20 from NodeSource is what the fabric-real harness uses)";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("devnet/ has a parent")
        .to_path_buf()
}

/// `node --version` as ((major, minor), full), or a failure saying how to install Node.
fn require_node() -> ((u32, u32), String) {
    let out = Command::new("node").arg("--version").output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => panic!(
            "`node --version` failed ({}): {}; the conformance tests need Node.js: {INSTALL_HINT}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "node is not installed ({e}); the conformance tests run the official Fabric Node \
             client and chaincode shim: {INSTALL_HINT}"
        ),
    };
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    assert!(
        major >= 18,
        "node {version} is too old: `node --test` and fabric-gateway 1.x need Node 18+; {INSTALL_HINT}"
    );
    ((major, minor), version)
}

/// Runs `npm ci` in `dir` unless `marker` (a path under `dir/node_modules`) exists.
fn npm_ci_if_missing(dir: &Path, marker: &str) {
    if dir.join("node_modules").join(marker).exists() {
        return;
    }
    eprintln!("[conformance] npm ci in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("npm is not installed ({e}): {INSTALL_HINT}"));
    assert!(
        status.success(),
        "`npm ci` in {} failed ({status}); it needs the npm registry (or a warm ~/.npm cache)",
        dir.display()
    );
    assert!(
        dir.join("node_modules").join(marker).exists(),
        "`npm ci` in {} did not install {marker}",
        dir.display()
    );
}

/// A child process killed (and reaped) on drop, so a failing test leaves nothing behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits until something accepts TCP connections on `addr`, or the child exits.
async fn wait_listening(addr: &str, child: &mut KillOnDrop, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "fabric-chaincode-node exited ({status}) before listening on {addr}; log:\n{}",
                tail(log, 40)
            );
        }
        assert!(
            Instant::now() < deadline,
            "fabric-chaincode-node is not listening on {addr} after 30 s; log:\n{}",
            tail(log, 40)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the Node tests read (see tests/conformance/gateway/lib.js).
fn connection_json(net: &Network) -> serde_json::Value {
    let orgs: Vec<serde_json::Value> = net
        .peers()
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.org.spec.name,
                "mspId": p.msp_id(),
                "endpoint": p.address.to_string(),
                "serverName": p.server_name(),
                "tlsCaCert": p.org.tls_ca_cert_path(),
                "userMsp": p.org.user_msp_dir("User1"),
                "adminMsp": p.org.user_msp_dir("Admin"),
            })
        })
        .collect();
    serde_json::json!({
        "channel": CHANNEL,
        "chaincodes": { "node": NODE_CC, "nodeMajority": NODE_MAJORITY_CC, "sfc": SFC_CC },
        "orderer": net.orderer_address().to_string(),
        "orgs": orgs,
    })
}

/// User1 of `org` on its own peer's gateway, through our client.
async fn rust_gateway(net: &Network, org: &str) -> Gateway {
    let p = net.peer(org).expect("org");
    let signer = p.org.user_signer("User1").unwrap();
    let tls = TlsOptions::with_ca_pem(p.org.tls_ca_pem().unwrap()).server_name(p.server_name());
    Gateway::connect(
        signer.identity().clone(),
        signer,
        &p.address.to_string(),
        Some(tls),
    )
    .await
    .expect("gateway connects")
}

/// Runs `node --test` in `dir` with the connection file; returns (passed, combined output).
async fn run_node_tests(dir: &Path, config: &Path, node: (u32, u32)) -> (bool, String) {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("--test").arg("--test-reporter=spec");
    if node >= (20, 10) {
        // One file at a time (the flag is Node 20.10+): the files share the channel; running
        // them in sequence keeps their timing (and the log) readable. They use unique keys and
        // filter events by their own tx ids, so a parallel run passes too.
        cmd.arg("--test-concurrency=1");
    }
    if let Ok(extra) = std::env::var("CONFORMANCE_NODE_ARGS") {
        cmd.args(extra.split_whitespace());
    }
    let child = cmd
        .current_dir(dir)
        .env("CONFORMANCE_CONFIG", config)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node --test");
    match tokio::time::timeout(NODE_TEST_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            let err = String::from_utf8_lossy(&out.stderr);
            if !err.trim().is_empty() {
                text.push_str("\n--- stderr ---\n");
                text.push_str(&err);
            }
            (out.status.success(), text)
        }
        Ok(Err(e)) => (false, format!("node --test: {e}")),
        Err(_) => (
            false,
            format!(
                "node --test did not finish within {} s (killed)",
                NODE_TEST_TIMEOUT.as_secs()
            ),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_gateway_and_shim_against_devnet() {
    let (node, version) = require_node();
    let root = repo_root();
    let gateway_dir = root.join("tests/conformance/gateway");
    let shim_dir = root.join("tests/conformance/shim");
    npm_ci_if_missing(&gateway_dir, "@hyperledger/fabric-gateway/package.json");
    npm_ci_if_missing(&shim_dir, ".bin/fabric-chaincode-node");
    eprintln!("[conformance] node {version}");

    let tmp = tempfile::tempdir().unwrap();
    let dir = if std::env::var_os("CONFORMANCE_KEEP").is_some() {
        let kept = tmp.keep();
        eprintln!("[conformance] keeping {}", kept.display());
        kept
    } else {
        tmp.path().to_path_buf()
    };

    // Our chaincode server (SFC contract), in this process.
    let sfc_listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let sfc_package = build(&PackageSpec {
        label: "sfcbc_1.0".into(),
        address: sfc_listener.local_addr().unwrap().to_string(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .unwrap();
    let (sfc_stop, sfc_stopped) = oneshot::channel::<()>();
    let mut sfc_config = ServerConfig::new(&sfc_package.package_id);
    sfc_config.shutdown_grace = Duration::from_millis(200);
    tokio::spawn(sfcbc_ccaas::serve(
        sfc_listener,
        sfc_config,
        Arc::new(SfcChaincode::default()),
        async move {
            let _ = sfc_stopped.await;
        },
    ));

    // The official Node shim as a CCaaS server, a child process.
    let node_address = format!("127.0.0.1:{}", free_port());
    let node_package = build(&PackageSpec {
        label: "nodecc_1.0".into(),
        address: node_address.clone(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .unwrap();
    let cc_log = dir.join("fabric-chaincode-node.log");
    let log_file = std::fs::File::create(&cc_log).unwrap();
    // node_modules/.bin/fabric-chaincode-node run by node directly: the child is the server
    // itself (npx would fork it; ../shared/fabric-real README pitfall 8).
    let mut node_cc = KillOnDrop(
        Command::new("node")
            .arg(shim_dir.join("node_modules/.bin/fabric-chaincode-node"))
            .args(["server", "--chaincode-address", &node_address])
            .args(["--chaincode-id", &node_package.package_id])
            .arg("--module-path")
            .arg(&shim_dir)
            .current_dir(&shim_dir)
            .env("CORE_CHAINCODE_LOGGING_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start fabric-chaincode-node"),
    );
    wait_listening(&node_address, &mut node_cc, &cc_log).await;

    // The network: orderer + Org1 + Org2, TLS.
    let net = Network::start(NetworkConfig::new(dir.join("devnet")).with_orgs(&["Org1", "Org2"]))
        .await
        .expect("devnet starts");
    net.create_channel(CHANNEL, &[] as &[&str])
        .await
        .expect("channel");
    for (name, package) in [(SFC_CC, &sfc_package), (NODE_CC, &node_package)] {
        let id = net.install_package(&package.bytes).expect("install");
        assert_eq!(id, package.package_id);
        net.commit_chaincode(CHANNEL, ChaincodeSpec::new(name, &id).with_policy(POLICY))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "commit {name}: {e}\nfabric-chaincode-node log:\n{}",
                    tail(&cc_log, 40)
                )
            });
    }
    // One explicit collection, Org1 only, without its own endorsement policy (writes to it are
    // endorsed and validated against the chaincode's MAJORITY): the case where Fabric's gateway
    // refuses transient data (gateway.test.js; the same config on real Fabric 2.5.16).
    let mut majority = ChaincodeSpec::new(NODE_MAJORITY_CC, &node_package.package_id);
    majority.collections_config = Some(ORG1_ONLY_COLLECTION.to_owned());
    net.commit_chaincode(CHANNEL, majority)
        .await
        .expect("commit the MAJORITY chaincode");
    net.wait_for_height(CHANNEL, 1).await.unwrap();
    let config_path = dir.join("connection.json");
    std::fs::write(
        &config_path,
        serde_json::to_vec_pretty(&connection_json(&net)).unwrap(),
    )
    .unwrap();
    eprintln!(
        "[conformance] devnet up: orderer {}, peers {}; connection file {}",
        net.orderer_address(),
        net.peers()
            .iter()
            .map(|p| format!("{}={}", p.msp_id(), p.address))
            .collect::<Vec<_>>()
            .join(" "),
        config_path.display()
    );

    // 1. The official Node gateway client: tests/conformance/gateway/*.test.js.
    let started = Instant::now();
    let (passed, output) = run_node_tests(&gateway_dir, &config_path, node).await;
    println!("{output}");
    eprintln!(
        "[conformance] node --test finished in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        if passed { "PASS" } else { "FAIL" }
    );

    // 2. The official Node shim driven through our own client as well.
    let rust_result =
        tokio::time::timeout(Duration::from_secs(60), shim_through_sfcbc_client(&net))
            .await
            .unwrap_or_else(|_| Err("timed out after 60 s".into()));

    match &rust_result {
        Ok(()) => eprintln!("[conformance] sfcbc_client against the Node shim: PASS"),
        Err(e) => eprintln!("[conformance] sfcbc_client against the Node shim: FAIL: {e}"),
    }
    let _ = sfc_stop.send(());
    drop(node_cc);
    net.stop().await;

    assert!(
        passed,
        "the official Node client/shim conformance tests failed: see the node --test output \
         printed above (its failing tests are listed at the end)\n\
         --- fabric-chaincode-node log (tail) ---\n{}",
        tail(&cc_log, 60)
    );
    if let Err(e) = rust_result {
        panic!("sfcbc_client against the Node shim: {e}");
    }
}

/// put/get, a paginated range and an MVCC conflict on the Node chaincode, through sfcbc_client.
async fn shim_through_sfcbc_client(net: &Network) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_owned();
        move |err: sfcbc_client::Error| format!("{what}: {err}")
    };
    let gw1 = rust_gateway(net, "Org1").await;
    let gw2 = rust_gateway(net, "Org2").await;
    let cc1 = gw1.network(CHANNEL).contract(NODE_CC);
    let cc2 = gw2.network(CHANNEL).contract(NODE_CC);
    let key = format!("rust-{}", std::process::id());

    let out = cc1
        .submit_transaction("put", &[key.as_str(), "from-rust"])
        .await
        .map_err(e("submit put"))?;
    if out != b"from-rust" {
        return Err(format!("put returned {:?}", String::from_utf8_lossy(&out)));
    }
    // Org2's peer commits the block a moment after Org1's (whose status the gateway returned).
    read_until(&cc2, &key, b"from-rust").await?;

    let prefix = format!("{key}-r");
    cc1.submit_transaction("putMany", &[prefix.as_str(), "120"])
        .await
        .map_err(e("putMany"))?;
    let page = cc1
        .evaluate_transaction(
            "page",
            &[&format!("{prefix}000"), &format!("{prefix}999"), "50", ""],
        )
        .await
        .map_err(e("page"))?;
    let page: serde_json::Value = serde_json::from_slice(&page).map_err(|x| x.to_string())?;
    if page["count"] != 50 || page["bookmark"] != format!("{prefix}050") {
        return Err(format!("first page: {page}"));
    }

    // MVCC: two incr endorsed on the same version; one commits, the other is invalidated.
    let counter = format!("{key}-counter");
    let mut p1 = cc1
        .new_proposal("incr")
        .arg(&counter)
        .build()
        .map_err(e("proposal"))?;
    let mut p2 = cc2
        .new_proposal("incr")
        .arg(&counter)
        .build()
        .map_err(e("proposal"))?;
    let mut t1 = p1.endorse().await.map_err(e("endorse 1"))?;
    let mut t2 = p2.endorse().await.map_err(e("endorse 2"))?;
    let mut c1 = t1.submit().await.map_err(e("submit 1"))?;
    let mut c2 = t2.submit().await.map_err(e("submit 2"))?;
    let s1 = c1.status().await.map_err(e("status 1"))?;
    let s2 = c2.status().await.map_err(e("status 2"))?;
    let mut codes = [s1.code, s2.code];
    codes.sort_unstable();
    if codes
        != [
            TxValidationCode::Valid as i32,
            TxValidationCode::MvccReadConflict as i32,
        ]
    {
        return Err(format!(
            "MVCC: expected VALID + MVCC_READ_CONFLICT, got {} + {}",
            s1.code_name(),
            s2.code_name()
        ));
    }
    read_until(&cc1, &counter, b"1").await?;
    Ok(())
}

/// Evaluates `get key` until it answers `want` (10 s at most): another org's peer may commit a
/// block later than the gateway peer that reported the commit status, as in Fabric.
async fn read_until(cc: &sfcbc_client::Contract, key: &str, want: &[u8]) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let last = match cc.evaluate_transaction("get", &[key]).await {
            Ok(v) if v == want => return Ok(()),
            Ok(v) => format!("{:?}", String::from_utf8_lossy(&v)),
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            return Err(format!(
                "get {key} on {}: wanted {:?}, last answer {last}",
                cc.network().gateway().endpoint(),
                String::from_utf8_lossy(want)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// devnet bug found by the Node client's block events (minimal reproduction, no Node needed):
/// `@hyperledger/fabric-gateway` (Node and Go) sends Deliver seek envelopes whose
/// `SignatureHeader` has a creator but NO nonce. Fabric's `common/deliver` handler
/// (`parseEnvelope`) and its ACL check (`protoutil.EnvelopeAsSignedData`) never look at the
/// nonce, so real Fabric serves such a request; devnet's Deliver answers FORBIDDEN because
/// `devnet/src/deliver/mod.rs` (`DeliverService::deliver_blocks`) checks the request with
/// `sfcbc_fabric::tx::check_signed_envelope`, which requires a non-empty nonce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_serves_a_seek_envelope_without_a_nonce_as_fabric_does() {
    use prost::Message;
    use sfcbc_fabric::protos::common::{
        ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
        Status as CommonStatus,
    };
    use sfcbc_fabric::protos::orderer::seek_info::SeekBehavior;
    use sfcbc_fabric::protos::orderer::seek_position::Type as SeekType;
    use sfcbc_fabric::protos::orderer::{SeekInfo, SeekPosition, SeekSpecified};
    use sfcbc_fabric::protos::protos::deliver_client::DeliverClient;
    use sfcbc_fabric::protos::protos::deliver_response::Type as Reply;
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

    let dir = tempfile::tempdir().unwrap();
    let net = Network::start(NetworkConfig::new(dir.path()).with_orgs(&["Org1"]))
        .await
        .expect("devnet starts");
    net.create_channel("nonce", &[] as &[&str]).await.unwrap();
    net.wait_for_height("nonce", 1).await.unwrap();
    let p = net.peer("Org1").unwrap();
    let signer = p.org.user_signer("User1").unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(p.org.tls_ca_pem().unwrap()))
        .domain_name(p.server_name());
    let channel = Endpoint::from_shared(format!("https://{}", p.address))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();

    // Block 0 asked for as the official client asks: nonce present or absent.
    let seek = |nonce: Vec<u8>| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let specified = |n| SeekPosition {
            r#type: Some(SeekType::Specified(SeekSpecified { number: n })),
        };
        let payload = Payload {
            header: Some(Header {
                channel_header: ChannelHeader {
                    r#type: HeaderType::DeliverSeekInfo as i32,
                    channel_id: "nonce".into(),
                    timestamp: Some(prost_types::Timestamp {
                        seconds: now.as_secs() as i64,
                        nanos: 0,
                    }),
                    ..Default::default()
                }
                .encode_to_vec(),
                signature_header: SignatureHeader {
                    creator: signer.serialize(),
                    nonce,
                }
                .encode_to_vec(),
            }),
            data: SeekInfo {
                start: Some(specified(0)),
                stop: Some(specified(0)),
                behavior: SeekBehavior::BlockUntilReady as i32,
                ..Default::default()
            }
            .encode_to_vec(),
        }
        .encode_to_vec();
        Envelope {
            signature: signer.sign(&payload),
            payload,
        }
    };
    let mut answers = Vec::new();
    for nonce in [vec![7u8; 24], Vec::new()] {
        let mut client = DeliverClient::new(channel.clone());
        let mut stream = client
            .deliver(tokio_stream::iter([seek(nonce.clone())]))
            .await
            .unwrap()
            .into_inner();
        let mut got = Vec::new();
        while let Ok(Some(r)) = stream.message().await {
            match r.r#type {
                Some(Reply::Block(b)) => got.push(format!("block {}", b.header.unwrap().number)),
                Some(Reply::Status(s)) => {
                    got.push(format!("{:?}", CommonStatus::try_from(s).unwrap()));
                    break;
                }
                other => got.push(format!("{other:?}")),
            }
        }
        answers.push((nonce.len(), got));
    }
    net.stop().await;
    assert_eq!(
        answers,
        vec![
            (24, vec!["block 0".to_owned(), "Success".to_owned()]),
            (0, vec!["block 0".to_owned(), "Success".to_owned()]),
        ],
        "Fabric serves a Deliver seek whose SignatureHeader has no nonce (fabric-gateway sends none)"
    );
}

/// A transaction that writes ONLY to an org's implicit collection, on a chaincode whose policy is
/// MAJORITY (here: both orgs), submitted through Org1's gateway with transient data and no
/// `endorsingOrganizations`, is endorsed by Org1 alone and commits VALID, as on real Fabric.
///
/// Run on REAL Fabric 2.5.16 (fabric-real harness: 2 orgs, channel Endorsement MAJORITY,
/// tests/conformance/shim as CCaaS, @hyperledger/fabric-gateway 1.11 through Org1's gateway,
/// 2026-11-26): `pput('_implicit_org_Org1MSP', k)` with transient data and no
/// endorsingOrganizations → endorsed by Org1MSP only, VALID; with endorsingOrganizations
/// [Org1MSP], and the same write without transient data → Org1MSP only, VALID; a public write
/// endorsed by Org1 only → ENDORSEMENT_POLICY_FAILURE. No FAILED_PRECONDITION: the endorser's
/// ChaincodeInterest for a namespace with only private writes holds just the collection call
/// (`core/endorser/endorser.go` `buildChaincodeInterest`), discovery uses "member of Org1" for
/// the implicit collection (`core/chaincode/lifecycle/metadata_provider.go`), so the plan stays
/// inside the collection's distribution and `internal/pkg/gateway/endorse.go`'s "requires
/// endorsement from organisation(s) that are not in the distribution policy" is not reached; the
/// validator checks the write against Org1's Endorsement policy and, with no public write, not
/// the chaincode's. (Node side: gateway.test.js, the implicit-collection MAJORITY test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_private_only_write_under_majority_is_endorsed_by_the_owner_org_as_fabric_does() {
    let dir = tempfile::tempdir().unwrap();
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let package = build(&PackageSpec {
        label: "sfcbc_1.0".into(),
        address: listener.local_addr().unwrap().to_string(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(sfcbc_ccaas::serve(
        listener,
        ServerConfig::new(&package.package_id),
        Arc::new(SfcChaincode::default()),
        async move {
            let _ = stopped.await;
        },
    ));
    let net = Network::start(NetworkConfig::new(dir.path()).with_orgs(&["Org1", "Org2"]))
        .await
        .expect("devnet starts");
    net.create_channel("majority", &[] as &[&str])
        .await
        .unwrap();
    let id = net.install_package(&package.bytes).unwrap();
    // No policy: the channel's /Channel/Application/Endorsement, MAJORITY of 2 = both orgs.
    net.commit_chaincode("majority", ChaincodeSpec::new("sfc", &id))
        .await
        .unwrap();
    net.wait_for_height("majority", 1).await.unwrap();
    let gw = rust_gateway(&net, "Org1").await;
    let cc = gw.network("majority").contract("sfc");

    // RegisterAccount writes only to the caller's implicit collection, from the transient map.
    // Returns the MSP IDs that endorsed it once it committed VALID.
    let register = |user: &'static str, trusted: bool| {
        let mut p = cc
            .new_proposal("RegisterAccount")
            .arg(user)
            .transient("secret", b"correct horse".to_vec())
            .transient("salt", vec![7u8; 16]);
        if trusted {
            p = p.endorsing_organizations(&["Org1MSP"]);
        }
        async move {
            let mut tx = p.build()?.endorse().await?;
            let endorsers = tx.envelope().map(endorser_msp_ids).unwrap_or_default();
            tx.submit().await?.status().await?.into_result()?;
            Ok::<_, sfcbc_client::Error>(endorsers)
        }
    };
    let trusted = register("trusted", true).await;
    let unnamed = register("unnamed", false).await;
    let _ = stop.send(());
    net.stop().await;

    let trusted =
        trusted.expect("with endorsingOrganizations = [Org1MSP] the write is endorsed and VALID");
    assert_eq!(trusted, ["Org1MSP"]);
    let unnamed = unnamed.expect(
        "without endorsingOrganizations Fabric plans Org1 alone (the implicit collection's owner) \
         and the write is VALID",
    );
    assert_eq!(unnamed, ["Org1MSP"], "endorsed by Org1 alone, as on Fabric");
}

/// The MSP IDs of a transaction envelope's endorsements, sorted.
fn endorser_msp_ids(env: &sfcbc_fabric::protos::common::Envelope) -> Vec<String> {
    use prost::Message as _;
    use sfcbc_fabric::protos::common::Payload;
    use sfcbc_fabric::protos::msp::SerializedIdentity;
    use sfcbc_fabric::protos::protos::{ChaincodeActionPayload, Transaction};
    let payload = Payload::decode(env.payload.as_slice()).expect("payload");
    let tx = Transaction::decode(payload.data.as_slice()).expect("transaction");
    let cap = ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).expect("action");
    let mut ids: Vec<String> = cap
        .action
        .expect("endorsed action")
        .endorsements
        .iter()
        .map(|e| {
            SerializedIdentity::decode(e.endorser.as_slice())
                .expect("endorser")
                .mspid
        })
        .collect();
    ids.sort();
    ids
}
