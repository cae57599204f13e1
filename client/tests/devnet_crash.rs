//! The whole devnet killed with SIGKILL under load, several times, and resumed each time with
//! `sfcbc devnet up` on the same folder (issue #5: "after `kill -9` at any moment and a
//! restart, every transaction whose commit status was returned as VALID is present with the
//! same block number, and the block hash chain verifies").
//!
//! The `sfcbc` binary runs the devnet as a child process (orgs Manager and Org1); the test
//! process serves the `kv` contract over CCaaS, as an external chaincode server outlives its
//! peers. Workers submit blind writes through Org1's Gateway and keep every commit status the
//! gateway returns; the child is killed at a random moment of the load (BatchTimeout 10 ms and
//! 4 KiB values, so blocks are being committed most of the time), restarted, and then both
//! peers' chains are read back over Deliver and checked: every returned status is there with
//! the same block and validation code, each block's data hash and previous-hash link are what
//! Fabric's `protoutil` computes (recomputed here, independently of devnet's code), both peers
//! hold the same chain, no tx id is VALID twice, and each acknowledged write is in the state.
//! A last graceful `devnet down` lets the orderer's own ledger be opened: it verifies, and the
//! peers hold exactly its chain. A second test kills `devnet up` while it starts.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message as _;
use rand::Rng as _;
use sfcbc_ccaas::package::{self, PackageSpec};
use sfcbc_client::events::block_tx_ids;
use sfcbc_client::profile::Profile;
use sfcbc_client::{EventsOptions, Gateway, Status};
use sfcbc_devnet::ledger::Ledger;
use sfcbc_fabric::protos::common::{Block, BlockchainInfo};
use sha2::{Digest as _, Sha256};

const CHANNEL: &str = "sfc-crash";
const ROUNDS: usize = 5;
const WORKERS: usize = 24;
const VALUE_SIZE: usize = 4096;
/// The TRANSACTIONS_FILTER slot of `BlockMetadata`.
const TRANSACTIONS_FILTER: usize = 2;

/// The devnet child; killed (SIGKILL) and reaped when dropped, so a failing assertion never
/// leaves it running.
struct Devnet {
    child: Child,
    /// What `devnet up --json` printed once ready.
    ready: serde_json::Value,
}

impl Devnet {
    fn kill9(&mut self) {
        // `Child::kill` is SIGKILL on Unix: no handler runs, nothing is flushed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn sfcbc(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sfcbc"));
    c.env("SFCBC_HOME", home)
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_CHANNEL");
    c
}

/// Reads one JSON value from the child's stdout (the `--json` report `up` prints when
/// ready); `None` if stdout closes first (the child died).
fn read_ready(stdout: ChildStdout) -> std::sync::mpsc::Receiver<Option<serde_json::Value>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // `--json` output is one pretty-printed object: collect lines until they parse.
        let mut text = String::new();
        let mut value = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if value.is_some() {
                continue; // keep draining so the child never blocks on a full pipe
            }
            text.push_str(&line);
            text.push('\n');
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                value = Some(v.clone());
                let _ = tx.send(Some(v));
            }
        }
        if value.is_none() {
            let _ = tx.send(None);
        }
    });
    rx
}

/// `sfcbc --json devnet up` on `dir`, waiting for its ready report.
fn up(home: &Path, dir: &Path) -> Devnet {
    let mut child = sfcbc(home)
        .args(["--json", "devnet", "up", "--dir"])
        .arg(dir)
        .args([
            "--orgs",
            "Manager,Org1",
            "--channels",
            CHANNEL,
            "--batch-timeout",
            "10ms",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sfcbc devnet up");
    let ready = read_ready(child.stdout.take().expect("piped stdout"));
    let mut stderr = child.stderr.take().expect("piped stderr");
    let value = ready.recv_timeout(Duration::from_secs(60)).ok().flatten();
    let Some(ready) = value else {
        let _ = child.kill();
        let _ = child.wait();
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        panic!("devnet up in {} did not get ready:\n{err}", dir.display());
    };
    assert!(
        ready["startup_ms"].is_u64(),
        "the ready report gives the startup time: {ready}"
    );
    // Nobody reads stderr from here on: drain it so logging never blocks the child.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    Devnet { child, ready }
}

fn run_ok(cmd: &mut Command) -> serde_json::Value {
    let o = cmd.output().expect("run sfcbc");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("--json output")
}

/// Serves the `kv` contract on a loopback port for the whole test; returns its CCaaS package.
async fn serve_kv() -> package::Package {
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.expect("bind kv");
    let address = listener.local_addr().expect("kv address").to_string();
    let pkg = package::build(&PackageSpec {
        label: "kv_1.0".into(),
        address,
        dial_timeout: "10s".into(),
        tls: None,
    })
    .expect("kv package");
    let config = sfcbc_ccaas::ServerConfig::new(pkg.package_id.clone());
    tokio::spawn(async move {
        let contract = Arc::new(sfcbc_ccaas::KvContract);
        let _ = sfcbc_ccaas::serve(listener, config, contract, std::future::pending()).await;
    });
    pkg
}

async fn gateway(profile: &Path, who: &str) -> Gateway {
    let p = Profile::load(profile).expect("devnet profile");
    let s = p.select(Some(who)).expect("identity in the profile");
    p.connect(&s, None).await.expect("connect to the gateway")
}

/// A status the gateway returned, and the value the transaction wrote.
#[derive(Debug, Clone)]
struct Acknowledged {
    status: Status,
    key: String,
}

fn value_of(key: &str) -> String {
    let mut v = format!("{key}:");
    while v.len() < VALUE_SIZE {
        v.push_str(key);
    }
    v.truncate(VALUE_SIZE);
    v
}

/// Blind writes of unique keys from `WORKERS` tasks until `stop`; every commit status the
/// gateway returns lands in `acked`.
fn start_load(
    gw: &Gateway,
    round: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acknowledged>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WORKERS)
        .map(|w| {
            let contract = gw.network(CHANNEL).contract("kv");
            let (stop, acked) = (stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let key = format!("r{round}-w{w}-{n}");
                    let value = value_of(&key);
                    let outcome = async {
                        let mut tx = contract
                            .new_proposal("put")
                            .args(&[key.as_str(), value.as_str()])
                            .build()?
                            .endorse()
                            .await?;
                        tx.submit().await?.status().await
                    }
                    .await;
                    match outcome {
                        Ok(status) => acked.lock().unwrap().push(Acknowledged { status, key }),
                        // The devnet is being killed; the loop ends on `stop`.
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            })
        })
        .collect()
}

/// DER of Fabric's `asn1Header{Number *big.Int; PreviousHash, DataHash []byte}`, as Go's
/// `encoding/asn1` writes it (`protoutil.BlockHeaderBytes`).
fn header_der(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
        out.push(tag);
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
    }
    // The shortest two's complement of a non-negative number.
    let be = number.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count().min(7);
    let mut int = be[skip..].to_vec();
    if int[0] & 0x80 != 0 {
        int.insert(0, 0);
    }
    let mut body = Vec::new();
    tlv(0x02, &int, &mut body);
    tlv(0x04, previous_hash, &mut body);
    tlv(0x04, data_hash, &mut body);
    let mut out = Vec::new();
    tlv(0x30, &body, &mut out);
    out
}

/// One peer's chain as read over Deliver, checked link by link.
struct Chain {
    /// Each block's header hash.
    hashes: Vec<Vec<u8>>,
    /// tx id → (block, validation code), every occurrence.
    txs: HashMap<String, Vec<(u64, u8)>>,
}

async fn height(gw: &Gateway) -> u64 {
    let bytes = gw
        .network(CHANNEL)
        .contract("qscc")
        .evaluate_transaction("GetChainInfo", &[CHANNEL])
        .await
        .expect("qscc GetChainInfo");
    BlockchainInfo::decode(bytes.as_slice())
        .expect("BlockchainInfo")
        .height
}

/// Blocks `0..height` of the gateway peer, each verified against Fabric's hash rules.
async fn read_chain(gw: &Gateway, height: u64, who: &str) -> Chain {
    let mut events = gw
        .network(CHANNEL)
        .block_events(EventsOptions::start_block(0))
        .await
        .expect("Deliver");
    let mut chain = Chain {
        hashes: Vec::new(),
        txs: HashMap::new(),
    };
    for expected in 0..height {
        let block: Block = tokio::time::timeout(Duration::from_secs(20), events.next())
            .await
            .unwrap_or_else(|_| panic!("{who}: block {expected} not delivered in 20 s"))
            .expect("stream open")
            .expect("block");
        let header = block.header.as_ref().expect("block header");
        assert_eq!(header.number, expected, "{who}: blocks out of order");
        let data = &block.data.as_ref().expect("block data").data;
        let mut h = Sha256::new();
        for d in data {
            h.update(d);
        }
        assert_eq!(
            header.data_hash,
            h.finalize().to_vec(),
            "{who}: block {expected}'s data hash is not SHA-256 of its data"
        );
        let previous = chain.hashes.last().cloned().unwrap_or_default();
        assert_eq!(
            header.previous_hash,
            previous,
            "{who}: block {expected} does not link to block {}",
            expected.wrapping_sub(1)
        );
        chain.hashes.push(
            Sha256::digest(header_der(
                header.number,
                &header.previous_hash,
                &header.data_hash,
            ))
            .to_vec(),
        );
        if expected == 0 {
            continue; // the config block: no TRANSACTIONS_FILTER of endorser txs to check
        }
        let filter = block
            .metadata
            .as_ref()
            .and_then(|m| m.metadata.get(TRANSACTIONS_FILTER))
            .cloned()
            .unwrap_or_default();
        let ids = block_tx_ids(&block);
        assert_eq!(
            filter.len(),
            ids.len(),
            "{who}: block {expected}: one validation code per transaction"
        );
        for (id, code) in ids.into_iter().zip(filter) {
            chain.txs.entry(id).or_default().push((expected, code));
        }
    }
    chain
}

/// Waits until the gateway peer's height reaches `at_least` (it catches up from the orderer
/// after a restart).
async fn wait_height(gw: &Gateway, at_least: u64, who: &str) -> u64 {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let h = height(gw).await;
        if h >= at_least {
            return h;
        }
        assert!(
            Instant::now() < end,
            "{who} stays at height {h}, below {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks both peers of the resumed devnet against every status returned so far.
/// Returns the peers' block hashes.
async fn check(profile: &Path, acked: &[Acknowledged], round: usize) -> Vec<Vec<u8>> {
    let org1 = gateway(profile, "User1@Org1").await;
    let manager = gateway(profile, "User1@Manager").await;
    // Every returned status names a block the peer must still have.
    let needed = acked
        .iter()
        .map(|a| a.status.block_number + 1)
        .max()
        .unwrap_or(1);
    let h = wait_height(&org1, needed, "Org1").await;
    let chain = read_chain(&org1, h, "Org1").await;
    wait_height(&manager, h, "Manager").await;
    let other = read_chain(&manager, h, "Manager").await;
    assert_eq!(
        chain.hashes, other.hashes,
        "round {round}: the two peers hold different chains"
    );
    for a in acked {
        let found = chain.txs.get(&a.status.tx_id).unwrap_or_else(|| {
            panic!(
                "round {round}: {} returned as {} in block {} is missing after the restart",
                a.status.tx_id,
                a.status.code_name(),
                a.status.block_number
            )
        });
        assert!(
            found.contains(&(a.status.block_number, a.status.code as u8)),
            "round {round}: {} was returned as code {} in block {}, the ledger has {found:?}",
            a.status.tx_id,
            a.status.code,
            a.status.block_number
        );
    }
    for (id, at) in &chain.txs {
        let valid = at.iter().filter(|(_, c)| *c == 0).count();
        assert!(
            valid <= 1,
            "round {round}: {id} is VALID more than once: {at:?}"
        );
    }
    // The state holds what the acknowledged transactions wrote (a sample, to stay quick).
    let kv = org1.network(CHANNEL).contract("kv");
    let step = (acked.len() / 100).max(1);
    for a in acked.iter().filter(|a| a.status.successful()).step_by(step) {
        let got = kv
            .evaluate_transaction("get", &[a.key.as_str()])
            .await
            .unwrap_or_else(|e| panic!("round {round}: get {}: {e}", a.key));
        assert_eq!(
            got,
            value_of(&a.key).into_bytes(),
            "round {round}: the state of {} is not what its acknowledged write put",
            a.key
        );
    }
    chain.hashes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devnet_resumes_after_kill_9_with_every_acknowledged_transaction() {
    let home = tempfile::tempdir().expect("temp home");
    let dir: PathBuf = home.path().join("net");
    let kv = serve_kv().await;
    let pkg_path = home.path().join("kv.tgz");
    std::fs::write(&pkg_path, &kv.bytes).expect("write the kv package");

    let mut devnet = up(home.path(), &dir);
    let profile = PathBuf::from(
        devnet.ready["profile"]
            .as_str()
            .expect("profile path in the ready report"),
    );
    run_ok(
        sfcbc(home.path())
            .args(["--json", "devnet", "chaincode", "install", "--dir"])
            .arg(&dir)
            .arg(&pkg_path),
    );
    run_ok(
        sfcbc(home.path())
            .args([
                "--json",
                "--channel",
                CHANNEL,
                "devnet",
                "chaincode",
                "commit",
            ])
            .args(["--name", "kv", "--policy", "OR('Org1MSP.peer')", "--dir"])
            .arg(&dir),
    );

    let acked = Arc::new(Mutex::new(Vec::<Acknowledged>::new()));
    let mut rng = rand::thread_rng();
    let mut last_height = 0;
    for round in 0..ROUNDS {
        let gw = gateway(&profile, "User1@Org1").await;
        let stop = Arc::new(AtomicBool::new(false));
        let before = acked.lock().unwrap().len();
        let workers = start_load(&gw, round, stop.clone(), acked.clone());
        // Let the load build up, then kill at a random moment of it.
        let end = Instant::now() + Duration::from_secs(20);
        while acked.lock().unwrap().len() < before + 50 {
            assert!(
                Instant::now() < end,
                "round {round}: fewer than 50 commits in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1500))).await;
        devnet.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let abort = w.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), w)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        drop(gw);

        devnet = up(home.path(), &dir);
        assert_eq!(
            devnet.ready["settings"]["resumed"], true,
            "round {round}: the second up did not resume"
        );
        let snapshot = acked.lock().unwrap().clone();
        let h = check(&profile, &snapshot, round).await.len() as u64;
        eprintln!(
            "round {round}: killed after {} acknowledged transactions ({} in all); resumed at height {h}",
            snapshot.len() - before,
            snapshot.len()
        );
        assert!(h > last_height, "round {round}: no block committed");
        last_height = h;
        assert!(
            snapshot.iter().all(|a| a.status.successful()),
            "blind writes of unique keys can only be VALID: {:?}",
            snapshot.iter().find(|a| !a.status.successful())
        );
    }
    // A last graceful stop leaves the ledger as complete as a kill did.
    run_ok(
        sfcbc(home.path())
            .args(["--json", "devnet", "down", "--dir"])
            .arg(&dir),
    );
    let _ = devnet.child.wait();
    // The orderer's own ledger (readable now that the devnet is stopped) verifies too.
    let orderer = {
        let ledger = Ledger::open(&dir.join("orderer").join("ledgers"), CHANNEL)
            .expect("the orderer's ledger opens");
        let snap = ledger.snapshot().expect("snapshot");
        let height = snap.verify_chain().expect("the orderer's chain verifies");
        (0..height)
            .map(|n| {
                let bytes = snap
                    .block_by_number(n)
                    .expect("read")
                    .expect("block below the height");
                let header = Block::decode(bytes.as_slice())
                    .expect("block decodes")
                    .header
                    .expect("header");
                Sha256::digest(header_der(
                    header.number,
                    &header.previous_hash,
                    &header.data_hash,
                ))
                .to_vec()
            })
            .collect::<Vec<_>>()
    };
    devnet = up(home.path(), &dir);
    let snapshot = acked.lock().unwrap().clone();
    let peers = check(&profile, &snapshot, ROUNDS).await;
    assert!(peers.len() as u64 >= last_height);
    // The peers committed exactly the orderer's chain (a graceful stop lets them catch up).
    assert_eq!(peers, orderer, "the peers' chain is not the orderer's");
    drop(devnet);
}

/// `devnet up` on a fresh folder killed at random moments of its start (10 times) (crypto material,
/// channel creation, chaincode definition), then started once more: it must come up and
/// serve the SFC chaincode on its channel, whatever the kills left behind.
#[test]
fn devnet_up_killed_while_starting_comes_up_whole() {
    let home = tempfile::tempdir().expect("temp home");
    let dir = home.path().join("devnet");
    let mut rng = rand::thread_rng();
    for _ in 0..10 {
        let mut child = sfcbc(home.path())
            .args(["--json", "devnet", "up", "--channels", "sfc-c1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sfcbc devnet up");
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..700)));
        let _ = child.kill();
        let _ = child.wait();
    }
    let devnet = up_default(home.path());
    assert!(dir.join("profile.yaml").exists());
    let listed =
        run_ok(sfcbc(home.path()).args(["--json", "-i", "Admin@Manager", "chain", "list"]));
    assert_eq!(
        listed,
        serde_json::json!([]),
        "a new network holds no chain"
    );
    let created = run_ok(sfcbc(home.path()).args([
        "--json",
        "chain",
        "create",
        "c1",
        "--hop",
        "Org1:NameWriter:1=127.0.0.2:9001,address",
    ]));
    assert_eq!(created["version"], 1, "{created}");
    drop(devnet);
}

/// `sfcbc --json devnet up --channels sfc-c1` on the default folder, ready.
fn up_default(home: &Path) -> Devnet {
    let mut child = sfcbc(home)
        .args(["--json", "devnet", "up", "--channels", "sfc-c1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sfcbc devnet up");
    let ready = read_ready(child.stdout.take().expect("piped stdout"));
    let value = ready.recv_timeout(Duration::from_secs(60)).ok().flatten();
    let Some(ready) = value else {
        let _ = child.kill();
        let _ = child.wait();
        let mut err = String::new();
        let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        panic!("devnet up did not get ready after the kills:\n{err}");
    };
    Devnet { child, ready }
}
