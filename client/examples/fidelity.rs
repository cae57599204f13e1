//! The fidelity driver (issue #8): one fixed script of SFC chaincode transactions, run through
//! the Gateway API against any network profile (devnet or real Fabric), then every block from
//! the script's first one read back through the peer's `Deliver` service and written as
//! normalized JSON, so that two runs can be compared with `diff`.
//!
//! Per transaction in block order it writes: the script step, function, creator MSP,
//! validation code, public reads (key + which step wrote the version read), range queries,
//! public writes (key, delete flag, value as JSON with tx ids and timestamps replaced),
//! private reads and writes per collection (key hashes, named when the driver knows the key),
//! the chaincode response status and the event (name + normalized payload). Per script step
//! it writes whether the transaction reached a block, or how the gateway refused it (gRPC
//! code and chaincode status; peers' messages are left out since their wording is not
//! Fabric's contract).
//!
//! Normalized away: tx ids (replaced by the step that made them), timestamps, block numbers
//! and read versions (replaced by the step that wrote the version), certificates, salts.
//!
//!   cargo run --example fidelity -p sfcbc-client -- --profile FILE --out FILE.json

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Parser;
use prost::Message as _;
use serde_json::{Value, json};
use sfcbc_chaincode::keys;
use sfcbc_chaincode::types::{ChainSpec, ErrorKind, HopErrorInput, HopRecordInput};
use sfcbc_client::profile::Profile;
use sfcbc_client::{Contract, EventsOptions, Gateway, Network, Proposal, Transaction};
use sfcbc_fabric::protos::common::{Block, Envelope, HeaderType};
use sfcbc_fabric::protos::kvrwset::range_query_info::ReadsInfo;
use sfcbc_fabric::protos::kvrwset::{HashedRwSet, KvrwSet, Version};
use sfcbc_fabric::protos::protos::{
    BlockAndPrivateData, ChaincodeEvent, TxValidationCode, filtered_transaction,
};
use sfcbc_fabric::protos::rwset::TxReadWriteSet;
use sha2::{Digest as _, Sha256};

/// Runs the fidelity script against a network and writes the normalized blocks as JSON.
#[derive(Debug, Parser)]
#[command(
    name = "fidelity",
    about = "Run sfcbc's fixed fidelity script of SFC transactions against a network profile \
             (devnet or real Fabric) and write the resulting blocks as normalized JSON.",
    long_about = "Run sfcbc's fixed fidelity script of SFC chaincode transactions against a \
network profile, then read every block from the script's first one through the peer's Deliver \
service and write, per transaction in block order: step, function, validation code, reads, \
written keys (public; private as key hashes per collection) and the chaincode event. Tx ids, \
timestamps, block numbers, versions and certificates are normalized, so that the outputs of a \
devnet run and a real-Fabric run can be compared with diff (tests/real-fabric/fidelity.sh).\n\n\
The network needs the orgs Manager, Tenant1, Org1, Org2 and Org3 with a User1 each, the SFC \
chaincode committed on the channel with collections/sfc-chain1.json, and no chain with the \
script's chain id yet.",
    after_help = "Example:\n  cargo run --example fidelity -p sfcbc-client -- --profile ~/.sfcbc/devnet/profile.yaml --out devnet.json"
)]
struct Args {
    /// The client profile of the network (as `sfcbc --profile` takes).
    #[arg(long)]
    profile: PathBuf,
    /// Where to write the JSON (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Channel.
    #[arg(long, default_value = "sfc-chain1")]
    channel: String,
    /// The chain id the script creates (its collections must be in the chaincode's
    /// collections config: `<chain>_Org2MSP`).
    #[arg(long, default_value = "chain1")]
    chain: String,
    /// Print a one-line JSON summary on stderr instead of a human one.
    #[arg(long)]
    json: bool,
}

/// The orgs the script acts as (profile names); every one's User1 is used.
const ORGS: [&str; 5] = ["Manager", "Tenant1", "Org1", "Org2", "Org3"];
const HOP1: &str = "Org1:NameWriter:1";
const HOP2: &str = "Org2:NameWriter:1";
const HOP3: &str = "Org3:NameWriter:1";

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// What the gateway said when it refused a step.
#[derive(Debug)]
struct Refusal {
    step: String,
    grpc: String,
    chaincode_status: Option<i32>,
}

fn refusal(e: &sfcbc_client::Error) -> Refusal {
    match e.gateway() {
        Some(g) => Refusal {
            step: g.step.as_str().to_owned(),
            grpc: format!("{:?}", g.code),
            chaincode_status: g.chaincode_response().map(|(s, _)| s),
        },
        None => Refusal {
            step: "client".into(),
            grpc: String::new(),
            chaincode_status: e.chaincode_response().map(|(s, _)| s),
        },
    }
}

/// One step of the script and how it ended.
#[derive(Debug)]
struct StepOutcome {
    label: String,
    function: String,
    identity: String,
    /// The transaction's id when it was endorsed (relabelled at the end).
    tx_id: Option<String>,
    /// The chaincode's result as endorsed (raw; normalized at the end).
    result: Option<Vec<u8>>,
    /// The validation code the gateway's CommitStatus reported.
    commit_status: Option<String>,
    refused: Option<Refusal>,
}

/// The driver: a gateway per org, the steps run so far, tx id → step label.
struct Driver {
    channel: String,
    chaincode: String,
    gateways: BTreeMap<String, Gateway>,
    steps: Vec<StepOutcome>,
    labels: HashMap<String, String>,
    /// Private keys the script writes or reads: key hash (hex) → readable name.
    private_keys: HashMap<String, String>,
    /// The newest block a step committed in: before the next step, every org's peer must
    /// have it (real peers commit each on its own time; the gateway's CommitStatus only
    /// speaks for its own peer).
    last_block: Option<u64>,
    /// Every proposal endorsed, by tx id (signed once endorsed), to endorse one again.
    proposals: HashMap<String, Proposal>,
    /// The channel height before the script: its first block.
    first_block: u64,
    /// What `DeliverWithPrivateData` gave each SP org's user through its own peer:
    /// (org, blocks with their private data, or the refusal).
    private_views: Vec<(String, Result<Vec<BlockAndPrivateData>, Refusal>)>,
}

impl Driver {
    fn contract(&self, org: &str) -> anyhow::Result<Contract> {
        let gw = self
            .gateways
            .get(org)
            .with_context(|| format!("no gateway for {org}"))?;
        Ok(gw.network(&self.channel).contract(&self.chaincode))
    }

    fn network(&self, org: &str) -> anyhow::Result<Network> {
        Ok(self.contract(org)?.network().clone())
    }

    /// Waits until the peers of `orgs` (profile names or MSP IDs) have committed
    /// `last_block` (at most 30 s): the peers the next step runs on must see the state the
    /// previous steps left.
    async fn sync(&self, orgs: &[&str]) -> anyhow::Result<()> {
        let Some(want) = self.last_block else {
            return Ok(());
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for org in orgs {
            let org = org.strip_suffix("MSP").unwrap_or(org);
            let net = self.network(org)?;
            loop {
                let h = sfcbc_client::ui::blocks::height(&net).await?;
                if h > want {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    bail!("{org}'s peer is still at height {h}, block {want} does not arrive");
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// Each SP's user reads the script's blocks so far with private data through its own
    /// peer (`DeliverWithPrivateData`): what it gets must be what its org may see.
    async fn read_private_views(&mut self) -> anyhow::Result<()> {
        let Some(last) = self.last_block else {
            return Ok(());
        };
        for org in ["Org1", "Org2", "Org3"] {
            self.sync(&[org]).await?;
            let net = self.network(org)?;
            let res = async {
                let mut ev = net
                    .block_and_private_data_events(EventsOptions::start_block(self.first_block))
                    .await?;
                let mut out = Vec::new();
                while let Some(b) = ev.next().await {
                    let b = b?;
                    let n = b
                        .block
                        .as_ref()
                        .and_then(|b| b.header.as_ref())
                        .map_or(0, |h| h.number);
                    out.push(b);
                    if n >= last {
                        break;
                    }
                }
                Ok::<_, sfcbc_client::Error>(out)
            }
            .await
            .map_err(|e| refusal(&e));
            self.private_views.push((org.to_owned(), res));
        }
        Ok(())
    }

    fn note_private_key(&mut self, key: &str) {
        self.private_keys
            .insert(sha_hex(key.as_bytes()), key.replace('\0', "~"));
    }

    /// Endorses step `label` (function `f` as `User1@org`); `Err(refusal)` when the gateway
    /// refused it.
    async fn endorse(
        &mut self,
        label: &str,
        org: &str,
        f: &str,
        args: &[&str],
        transient: &[(&str, Vec<u8>)],
        endorsing: &[&str],
    ) -> anyhow::Result<Option<Transaction>> {
        let mut on = vec![org];
        on.extend_from_slice(endorsing);
        self.sync(&on).await?;
        let mut b = self.contract(org)?.new_proposal(f).args(args);
        for (k, v) in transient {
            b = b.transient(*k, v.clone());
        }
        if !endorsing.is_empty() {
            b = b.endorsing_organizations(endorsing);
        }
        let mut p = b.build().with_context(|| format!("{label}: build"))?;
        let tx_id = p.tx_id().to_owned();
        self.proposals.insert(tx_id.clone(), p.clone());
        self.labels.insert(tx_id.clone(), label.to_owned());
        let mut outcome = StepOutcome {
            label: label.to_owned(),
            function: f.to_owned(),
            identity: format!("User1@{org}"),
            tx_id: Some(tx_id),
            result: None,
            commit_status: None,
            refused: None,
        };
        match p.endorse().await {
            Ok(tx) => {
                outcome.result = Some(tx.result().to_vec());
                self.steps.push(outcome);
                Ok(Some(tx))
            }
            Err(e) => {
                eprintln!("fidelity: {label}: refused: {e}");
                outcome.refused = Some(refusal(&e));
                self.steps.push(outcome);
                Ok(None)
            }
        }
    }

    /// Submits an endorsed transaction of the last step named `label` and waits for its
    /// commit status.
    async fn submit(&mut self, label: &str, tx: &mut Transaction) -> anyhow::Result<()> {
        let res = async {
            let mut commit = tx.submit().await?;
            commit.status().await
        }
        .await;
        let step = self
            .steps
            .iter_mut()
            .rev()
            .find(|s| s.label == label)
            .with_context(|| format!("no step {label}"))?;
        match res {
            Ok(s) => {
                step.commit_status = Some(s.code_name());
                self.last_block = self.last_block.max(Some(s.block_number));
            }
            Err(e) => {
                eprintln!("fidelity: {label}: submit/commit failed: {e}");
                step.refused = Some(refusal(&e));
            }
        }
        Ok(())
    }

    /// Endorse + submit + commit status.
    async fn step(
        &mut self,
        label: &str,
        org: &str,
        f: &str,
        args: &[&str],
        transient: &[(&str, Vec<u8>)],
        endorsing: &[&str],
    ) -> anyhow::Result<()> {
        if let Some(mut tx) = self
            .endorse(label, org, f, args, transient, endorsing)
            .await?
        {
            self.submit(label, &mut tx).await?;
        }
        Ok(())
    }

    /// A step with no ledger effect wanted: just the gateway's answer (evaluate).
    async fn evaluate(&mut self, label: &str, org: &str, f: &str, args: &[&str]) {
        if let Err(e) = self.sync(&[org]).await {
            eprintln!("fidelity: {label}: {e:#}");
        }
        let mut outcome = StepOutcome {
            label: label.to_owned(),
            function: f.to_owned(),
            identity: format!("User1@{org}"),
            tx_id: None,
            result: None,
            commit_status: None,
            refused: None,
        };
        let own = self
            .gateways
            .get(org)
            .map(|g| g.identity().msp_id().to_owned())
            .unwrap_or_default();
        match self.contract(org) {
            Ok(c) => match c
                .new_proposal(f)
                .args(args)
                .endorsing_organizations(&[own])
                .evaluate()
                .await
            {
                Ok(r) => outcome.result = Some(r),
                Err(e) => outcome.refused = Some(refusal(&e)),
            },
            Err(e) => {
                outcome.refused = Some(Refusal {
                    step: "client".into(),
                    grpc: e.to_string(),
                    chaincode_status: None,
                })
            }
        }
        self.steps.push(outcome);
    }
}

fn chain_spec(chain: &str, version_note: Option<&str>) -> anyhow::Result<ChainSpec> {
    let spec = json!({
        "id": chain,
        "hops": [
            {"psiid": HOP1, "spMsp": "Org1MSP", "address": "127.0.0.2:9001", "validation": "address"},
            {"psiid": HOP2, "spMsp": "Org2MSP", "address": "127.0.0.3:9001", "validation": "hash",
             "collection": format!("{chain}_Org2MSP")},
            {"psiid": HOP3, "spMsp": "Org3MSP", "address": "127.0.0.4:9001", "validation": "none"}
        ],
        "classifier": version_note,
    });
    serde_json::from_value(spec).context("chain spec")
}

fn records(seq: u64, input: &str, output: &str, src: &str, next: &str) -> String {
    let r = vec![HopRecordInput {
        seq,
        input_hash: sha_hex(input.as_bytes()),
        output_hash: sha_hex(output.as_bytes()),
        src: src.into(),
        next: next.into(),
    }];
    serde_json::to_string(&r).expect("records serialize")
}

/// The script. Every step is sequential except the MVCC pair, endorsed and submitted
/// concurrently.
async fn run_script(d: &mut Driver, chain: &str) -> anyhow::Result<()> {
    let salt = || sfcbc_client::sfc::new_salt();
    let spec1 = serde_json::to_string(&chain_spec(chain, None)?)?;
    let spec2 = serde_json::to_string(&chain_spec(chain, Some("127.0.0.10:9000"))?)?;
    for k in [
        keys::auth_key(chain, HOP1)?,
        keys::auth_key(chain, HOP2)?,
        keys::auth_key(chain, HOP3)?,
        keys::endpoints_key(chain, HOP1)?,
        keys::endpoints_key(chain, HOP2)?,
        keys::endpoints_key(chain, HOP3)?,
        keys::account_key("acct-org1")?,
        keys::account_key("acct-org2")?,
    ] {
        d.note_private_key(&k);
    }

    d.step("create", "Tenant1", "CreateChain", &[&spec1], &[], &[])
        .await?;
    d.step("update", "Tenant1", "UpdateChain", &[&spec2], &[], &[])
        .await?;
    for (label, org, acct) in [
        ("register-org1", "Org1", "acct-org1"),
        ("register-org2", "Org2", "acct-org2"),
    ] {
        let msp = format!("{org}MSP");
        d.step(
            label,
            org,
            "RegisterAccount",
            &[acct],
            &[
                ("secret", format!("pw-{acct}").into_bytes()),
                ("salt", salt()),
            ],
            &[&msp],
        )
        .await?;
    }
    for (label, hop, org) in [
        ("share-auth-org1", HOP1, "Org1"),
        ("share-auth-org2", HOP2, "Org2"),
    ] {
        let acct = format!("acct-{}", org.to_lowercase());
        let msp = format!("{org}MSP");
        d.step(
            label,
            "Tenant1",
            "ShareAuth",
            &[chain, hop],
            &[
                ("account", acct.clone().into_bytes()),
                ("secret", format!("pw-{acct}").into_bytes()),
                ("salt", salt()),
            ],
            &[&msp],
        )
        .await?;
    }
    d.step(
        "share-endpoints-org1",
        "Tenant1",
        "ShareEndpoints",
        &[chain, HOP1],
        &[("source", b"127.0.0.1:4000".to_vec()), ("salt", salt())],
        &["Org1MSP"],
    )
    .await?;
    d.step(
        "share-endpoints-org3",
        "Tenant1",
        "ShareEndpoints",
        &[chain, HOP3],
        &[
            ("destination", b"127.0.0.5:7000".to_vec()),
            ("salt", salt()),
        ],
        &["Org3MSP"],
    )
    .await?;
    let h_in = sha_hex(b"datagram-1");
    d.evaluate(
        "checkin-org1-evaluate",
        "Org1",
        "CheckIn",
        &[chain, HOP1, &h_in, "127.0.0.1:4000"],
    )
    .await;
    // CheckIn submitted: a read-only transaction with private (hashed) reads.
    d.step(
        "checkin-org1-submit",
        "Org1",
        "CheckIn",
        &[chain, HOP1, &h_in, "127.0.0.1:4000"],
        &[],
        &["Org1MSP"],
    )
    .await?;
    let rec1 = records(
        1,
        "datagram-1",
        "datagram-1'",
        "127.0.0.1:4000",
        "127.0.0.3:9001",
    );
    let tx_rec1 = d
        .endorse(
            "record-hop1",
            "Org1",
            "RecordHops",
            &[chain, HOP1, &rec1],
            &[],
            &[],
        )
        .await?;
    let mut replay_of = None;
    if let Some(mut tx) = tx_rec1 {
        d.submit("record-hop1", &mut tx).await?;
        // signed now: the very envelope the orderer got
        replay_of = Some(tx);
    }
    let h_mid = sha_hex(b"datagram-1'");
    d.evaluate(
        "checkin-org2-evaluate",
        "Org2",
        "CheckIn",
        &[chain, HOP2, &h_mid, "127.0.0.2:9001"],
    )
    .await;
    let rec2 = records(
        1,
        "datagram-1'",
        "datagram-1''",
        "127.0.0.2:9001",
        "127.0.0.4:9001",
    );
    d.step(
        "record-hop2",
        "Org2",
        "RecordHops",
        &[chain, HOP2, &rec2],
        &[],
        &[],
    )
    .await?;
    let err = serde_json::to_string(&HopErrorInput {
        kind: ErrorKind::Source,
        detail: "datagram from 127.0.0.9:1 is not from the previous hop".into(),
        src: "127.0.0.9:1".into(),
        input_hash: sha_hex(b"forged"),
    })?;
    d.step(
        "record-error-hop3",
        "Org3",
        "RecordError",
        &[chain, HOP3, &err],
        &[],
        &[],
    )
    .await?;
    // The committed proposal endorsed again: the peer refuses a tx id it has in its ledger.
    d.sync(&["Org3"]).await?;
    if let Some(tx_id) = d
        .steps
        .iter()
        .rev()
        .find(|s| s.label == "record-error-hop3")
        .and_then(|s| s.tx_id.clone())
        && let Some(mut p) = d.proposals.remove(&tx_id)
    {
        let refused = p.endorse().await.err().map(|e| refusal(&e));
        d.steps.push(StepOutcome {
            label: "reendorse-record-error-hop3".into(),
            function: "RecordError".into(),
            identity: "User1@Org3".into(),
            tx_id: None,
            result: None,
            commit_status: None,
            refused,
        });
    }
    // A chaincode error in an evaluate.
    d.evaluate("evaluate-missing-chain", "Org1", "GetChain", &["nochain"])
        .await;
    // Chaincode errors: refused at endorsement, never in a block.
    d.step(
        "record-by-wrong-sp",
        "Org1",
        "RecordHops",
        &[chain, HOP2, &rec2],
        &[],
        &[],
    )
    .await?;
    d.step(
        "replay-hop2",
        "Org2",
        "RecordHops",
        &[chain, HOP2, &rec2],
        &[],
        &[],
    )
    .await?;
    d.step(
        "bad-input",
        "Org1",
        "RecordHops",
        &[chain, HOP1, "[]"],
        &[],
        &[],
    )
    .await?;
    // Two records of one input hash at the hash-checking hop, both endorsed against the
    // same state: both write used~ and read it as absent, so the later one in the block
    // order fails MVCC.
    let rec_a = records(
        2,
        "datagram-2",
        "datagram-2'",
        "127.0.0.2:9001",
        "127.0.0.4:9001",
    );
    // Identical records, so that the outcome does not depend on which one the orderer takes
    // first (their keys differ only by tx id, which is normalized by block order).
    let rec_b = rec_a.clone();
    d.sync(&["Org2"]).await?;
    let ca = d.contract("Org2")?;
    let mut pa = ca
        .new_proposal("RecordHops")
        .args(&[chain, HOP2, &rec_a])
        .build()?;
    let mut pb = ca
        .new_proposal("RecordHops")
        .args(&[chain, HOP2, &rec_b])
        .build()?;
    let (ea, eb) = tokio::join!(pa.endorse(), pb.endorse());
    let (mut ta, mut tb) = (
        ea.context("mvcc pair: endorse a")?,
        eb.context("mvcc pair: endorse b")?,
    );
    let (sa, sb) = tokio::join!(
        async {
            let mut c = ta.submit().await?;
            c.status().await
        },
        async {
            let mut c = tb.submit().await?;
            c.status().await
        }
    );
    for (p, res, r) in [
        (&pa, sa, ta.result().to_vec()),
        (&pb, sb, tb.result().to_vec()),
    ] {
        if let Ok(s) = &res {
            d.last_block = d.last_block.max(Some(s.block_number));
        }
        // Labels by block order are assigned after the blocks are read.
        d.labels.insert(p.tx_id().to_owned(), "mvcc-?".into());
        d.steps.push(StepOutcome {
            label: "mvcc-?".into(),
            function: "RecordHops".into(),
            identity: "User1@Org2".into(),
            tx_id: Some(p.tx_id().to_owned()),
            result: Some(r),
            commit_status: res.as_ref().ok().map(|s| s.code_name()),
            refused: res.as_ref().err().map(refusal),
        });
    }
    // The same signed envelope again: ordered again, marked a duplicate by the peers.
    if let Some(mut tx) = replay_of {
        d.sync(&["Org1"]).await?;
        let res = async {
            let mut c = tx.submit().await?;
            c.status().await
        }
        .await;
        d.steps.push(StepOutcome {
            label: "resubmit-record-hop1".into(),
            function: "RecordHops".into(),
            identity: "User1@Org1".into(),
            tx_id: Some(tx.tx_id().to_owned()),
            result: None,
            commit_status: res.as_ref().ok().map(|s| s.code_name()),
            refused: res.as_ref().err().map(refusal),
        });
    }
    // Range queries in a submitted transaction (GetRecords is paginated, TraceMessage not).
    d.step(
        "trace-submit",
        "Tenant1",
        "TraceMessage",
        &[chain, &h_in],
        &[],
        &[],
    )
    .await?;
    d.step(
        "get-records-submit",
        "Manager",
        "GetRecords",
        &[chain, "", "10", ""],
        &[],
        &[],
    )
    .await?;
    d.read_private_views().await?;
    // A private write endorsed by an org outside the collection's endorsement policy: the
    // gateway sends it where told, the committing peers invalidate it. Late in the script:
    // on real Fabric the collection's member peer (Org2) then waits pullRetryThreshold
    // (60 s) for private data nobody eligible has before committing that block, so no later
    // step may need Org2's peer (docs/fidelity.md).
    d.step(
        "share-auth-wrong-endorser",
        "Tenant1",
        "ShareAuth",
        &[chain, HOP2],
        &[
            ("account", b"acct-org2".to_vec()),
            ("secret", b"pw-acct-org2".to_vec()),
            ("salt", salt()),
        ],
        &["Org1MSP"],
    )
    .await?;

    d.step("disable", "Tenant1", "DisableChain", &[chain], &[], &[])
        .await?;
    let rec3 = records(
        3,
        "datagram-3",
        "datagram-3'",
        "127.0.0.1:4000",
        "127.0.0.3:9001",
    );
    d.step(
        "record-after-disable",
        "Org1",
        "RecordHops",
        &[chain, HOP1, &rec3],
        &[],
        &[],
    )
    .await?;
    Ok(())
}

/// Replaces every known tx id in `s` by `<label>`.
fn norm_text(s: &str, labels: &HashMap<String, String>) -> String {
    let mut out = s.replace('\0', "~");
    for (tx, label) in labels {
        if out.contains(tx.as_str()) {
            out = out.replace(tx.as_str(), &format!("<{label}>"));
        }
    }
    out
}

/// JSON with tx ids replaced and timestamps blanked; non-JSON bytes as their SHA-256.
fn norm_bytes(b: &[u8], labels: &HashMap<String, String>) -> Value {
    fn walk(v: Value, labels: &HashMap<String, String>) -> Value {
        match v {
            Value::String(s) => Value::String(norm_text(&s, labels)),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| walk(x, labels)).collect()),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        // Pages of records come in key order, and record keys hold tx ids.
                        if k == "items"
                            && let Value::Array(items) = walk(v.clone(), labels)
                        {
                            let mut items = items;
                            items.sort_by_key(Value::to_string);
                            return (k, Value::Array(items));
                        }
                        let timestamp = matches!(k.as_str(), "ts" | "createdAt" | "updatedAt");
                        let salt = k == "salt";
                        let v = if timestamp && v.is_string() {
                            Value::String("<ts>".into())
                        } else if salt && v.is_string() {
                            Value::String("<salt>".into())
                        } else {
                            walk(v, labels)
                        };
                        (k, v)
                    })
                    .collect(),
            ),
            other => other,
        }
    }
    if b.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(b) {
        Ok(v) => walk(v, labels),
        Err(_) => json!({"sha256": sha_hex(b)}),
    }
}

/// One transaction of the blocks, normalized.
fn describe_tx(
    env_bytes: &[u8],
    code: &str,
    labels: &HashMap<String, String>,
    private_keys: &HashMap<String, String>,
    writer_of: &HashMap<(u64, u64), String>,
) -> Value {
    let version = |v: &Option<Version>| -> Value {
        match v {
            None => Value::Null,
            Some(v) => Value::String(
                writer_of
                    .get(&(v.block_num, v.tx_num))
                    .cloned()
                    .unwrap_or_else(|| "<before the script>".into()),
            ),
        }
    };
    let key_hash = |h: &[u8]| -> String {
        let hx = hex::encode(h);
        private_keys
            .get(&hx)
            .map(|k| norm_text(k, labels))
            .unwrap_or(hx)
    };
    let Ok(env) = Envelope::decode(env_bytes) else {
        return json!({"kind": "MALFORMED", "validation": code});
    };
    let Ok(tx) = sfcbc_fabric::tx::parse_envelope(&env) else {
        let kind = sfcbc_client::ui::blocks::headers(env_bytes)
            .map(|(ch, _)| {
                HeaderType::try_from(ch.r#type)
                    .map_or_else(|_| ch.r#type.to_string(), |t| t.as_str_name().to_owned())
            })
            .unwrap_or_else(|| "MALFORMED".into());
        return json!({"kind": kind, "validation": code});
    };
    let tx_id = tx.channel_header.tx_id.clone();
    let step = labels
        .get(&tx_id)
        .cloned()
        .unwrap_or_else(|| "<not the script's>".into());
    let spec = tx.invocation.chaincode_spec.clone().unwrap_or_default();
    let function = spec
        .input
        .as_ref()
        .and_then(|i| i.args.first())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .unwrap_or_default();
    let creator = sfcbc_fabric::protos::msp::SerializedIdentity::decode(
        tx.signature_header.creator.as_slice(),
    )
    .map(|i| i.mspid)
    .unwrap_or_default();
    let action = &tx.chaincode_action;
    let mut namespaces = serde_json::Map::new();
    if let Ok(rw) = TxReadWriteSet::decode(action.results.as_slice()) {
        for ns in &rw.ns_rwset {
            let mut o = serde_json::Map::new();
            if let Ok(kv) = KvrwSet::decode(ns.rwset.as_slice()) {
                let mut reads: Vec<Value> = kv
                    .reads
                    .iter()
                    .map(|r| json!({"key": norm_text(&r.key, labels), "version": version(&r.version)}))
                    .collect();
                reads.sort_by_key(|v| v.to_string());
                let ranges: Vec<Value> = kv
                    .range_queries_info
                    .iter()
                    .map(|q| {
                        let info = match &q.reads_info {
                            Some(ReadsInfo::RawReads(r)) => {
                                // In key order on the ledger; keys holding tx ids sort
                                // randomly, so sorted again after normalization.
                                let mut raw: Vec<Value> = r.kv_reads.iter().map(|r| json!({"key": norm_text(&r.key, labels), "version": version(&r.version)})).collect();
                                raw.sort_by_key(|v| v["key"].to_string());
                                json!({"raw_reads": raw})
                            }
                            Some(ReadsInfo::ReadsMerkleHashes(m)) => json!({"merkle": {"max_degree": m.max_degree, "max_level": m.max_level, "hashes": m.max_level_hashes.len()}}),
                            None => Value::Null,
                        };
                        json!({"start": norm_text(&q.start_key, labels), "end": norm_text(&q.end_key, labels), "exhausted": q.itr_exhausted, "reads": info})
                    })
                    .collect();
                let mut writes: Vec<Value> = kv
                    .writes
                    .iter()
                    .map(|w| json!({"key": norm_text(&w.key, labels), "delete": w.is_delete, "value": norm_bytes(&w.value, labels)}))
                    .collect();
                writes.sort_by_key(|v| v["key"].to_string());
                if !reads.is_empty() {
                    o.insert("reads".into(), Value::Array(reads));
                }
                if !ranges.is_empty() {
                    o.insert("range_queries".into(), Value::Array(ranges));
                }
                if !writes.is_empty() {
                    o.insert("writes".into(), Value::Array(writes));
                }
                if !kv.metadata_writes.is_empty() {
                    o.insert(
                        "metadata_writes".into(),
                        json!(
                            kv.metadata_writes
                                .iter()
                                .map(|m| norm_text(&m.key, labels))
                                .collect::<Vec<_>>()
                        ),
                    );
                }
            } else {
                o.insert("rwset".into(), json!("UNDECODABLE"));
            }
            let mut cols = serde_json::Map::new();
            for c in &ns.collection_hashed_rwset {
                let Ok(h) = HashedRwSet::decode(c.hashed_rwset.as_slice()) else {
                    cols.insert(c.collection_name.clone(), json!("UNDECODABLE"));
                    continue;
                };
                let mut reads: Vec<Value> = h
                    .hashed_reads
                    .iter()
                    .map(|r| json!({"key": key_hash(&r.key_hash), "version": version(&r.version)}))
                    .collect();
                reads.sort_by_key(|v| v.to_string());
                let mut writes: Vec<Value> = h
                    .hashed_writes
                    .iter()
                    .map(|w| json!({"key": key_hash(&w.key_hash), "delete": w.is_delete, "purge": w.is_purge, "value_hash_len": w.value_hash.len()}))
                    .collect();
                writes.sort_by_key(|v| v.to_string());
                cols.insert(
                    c.collection_name.clone(),
                    json!({"reads": reads, "writes": writes, "pvt_rwset_hash_len": c.pvt_rwset_hash.len()}),
                );
            }
            if !cols.is_empty() {
                o.insert("collections".into(), Value::Object(cols));
            }
            namespaces.insert(ns.namespace.clone(), Value::Object(o));
        }
    }
    let event = if action.events.is_empty() {
        Value::Null
    } else {
        match ChaincodeEvent::decode(action.events.as_slice()) {
            Ok(e) => json!({
                "chaincode": e.chaincode_id,
                "name": e.event_name,
                "tx": norm_text(&e.tx_id, labels),
                "payload": norm_bytes(&e.payload, labels),
            }),
            Err(_) => json!("UNDECODABLE"),
        }
    };
    let response = action.response.as_ref().map(|r| {
        json!({"status": r.status, "payload": norm_bytes(&r.payload, labels), "message": r.message})
    });
    json!({
        "step": step,
        "kind": "ENDORSER_TRANSACTION",
        "chaincode": spec.chaincode_id.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        "function": function,
        "creator_msp": creator,
        "validation": code,
        "endorsements": tx.endorsements.len(),
        "action_chaincode_id": action.chaincode_id.as_ref().map(|c| json!({"name": c.name, "version": c.version})),
        "response": response,
        "namespaces": namespaces,
        "event": event,
    })
}

/// Blocks `from..` up to the current height.
async fn read_blocks(network: &Network, from: u64) -> anyhow::Result<Vec<Block>> {
    let height = sfcbc_client::ui::blocks::height(network).await?;
    if height <= from {
        return Ok(Vec::new());
    }
    let mut ev = network
        .block_events(EventsOptions::start_block(from))
        .await?;
    let mut out = Vec::new();
    while let Some(b) = ev.next().await {
        let b = b?;
        let n = b.header.as_ref().map_or(0, |h| h.number);
        out.push(b);
        if n + 1 >= height {
            break;
        }
    }
    Ok(out)
}

/// What `DeliverFiltered` says of blocks `from..=to`: per transaction its step, type,
/// validation code and event names.
async fn filtered(
    network: &Network,
    from: u64,
    to: u64,
    labels: &HashMap<String, String>,
) -> anyhow::Result<Vec<Value>> {
    let mut ev = network
        .filtered_block_events(EventsOptions::start_block(from))
        .await?;
    let mut out = Vec::new();
    while let Some(b) = ev.next().await {
        let b = b?;
        for t in &b.filtered_transactions {
            let events: Vec<String> = match &t.data {
                Some(filtered_transaction::Data::TransactionActions(a)) => a
                    .chaincode_actions
                    .iter()
                    .filter_map(|c| c.chaincode_event.as_ref())
                    .map(|e| format!("{}:{}", e.chaincode_id, e.event_name))
                    .collect(),
                None => Vec::new(),
            };
            out.push(json!({
                "step": labels.get(&t.txid).cloned().unwrap_or_else(|| "<not the script's>".into()),
                "type": HeaderType::try_from(t.r#type).map_or_else(|_| t.r#type.to_string(), |h| h.as_str_name().to_owned()),
                "validation": TxValidationCode::try_from(t.tx_validation_code).map_or_else(|_| t.tx_validation_code.to_string(), |c| c.as_str_name().to_owned()),
                "events": events,
            }));
        }
        if b.number >= to {
            break;
        }
    }
    Ok(out)
}

/// The gateway's `ChaincodeEvents` from block `from`: `expected` events, then whatever else
/// comes within a second (there should be nothing: events of valid transactions only).
async fn gateway_events(
    network: &Network,
    chaincode: &str,
    from: u64,
    expected: usize,
    labels: &HashMap<String, String>,
) -> anyhow::Result<Vec<Value>> {
    let mut ev = network
        .chaincode_events(chaincode, EventsOptions::start_block(from))
        .await?;
    let mut out = Vec::new();
    loop {
        let wait = if out.len() < expected { 10 } else { 1 };
        match tokio::time::timeout(std::time::Duration::from_secs(wait), ev.next()).await {
            Err(_) | Ok(None) => break,
            Ok(Some(e)) => {
                let e = e?;
                out.push(json!({
                    "step": labels.get(&e.tx_id).cloned().unwrap_or_else(|| "<not the script's>".into()),
                    "name": e.event_name,
                    "payload": norm_bytes(&e.payload, labels),
                }));
            }
        }
    }
    Ok(out)
}

/// What qscc answers about the script's blocks and transactions, as comparisons with what
/// `Deliver` returned (block numbers and hashes themselves differ between networks).
async fn qscc_view(
    network: &Network,
    blocks: &[Block],
    labels: &HashMap<String, String>,
) -> anyhow::Result<Value> {
    use sfcbc_fabric::protos::common::BlockchainInfo;
    use sfcbc_fabric::protos::protos::ProcessedTransaction;
    let qscc = network.contract("qscc");
    let ch = network.name().to_owned();
    let call = |f: &'static str, arg: Vec<u8>| {
        let qscc = qscc.clone();
        let ch = ch.clone();
        async move {
            qscc.evaluate_transaction(f, &[ch.as_bytes(), arg.as_slice()])
                .await
        }
    };
    let Some(last) = blocks.last() else {
        return Ok(Value::Null);
    };
    let last_num = last.header.as_ref().map_or(0, |h| h.number);
    let last_hash = sfcbc_devnet::block::block_hash(last).to_vec();
    let info = BlockchainInfo::decode(call("GetChainInfo", Vec::new()).await?.as_slice())?;
    let by_number = Block::decode(
        call("GetBlockByNumber", last_num.to_string().into_bytes())
            .await?
            .as_slice(),
    )?;
    let by_hash = Block::decode(call("GetBlockByHash", last_hash.clone()).await?.as_slice())?;
    // Each tx id once, in block order (where it first appears).
    let mut txs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let in_order: Vec<(String, &Block)> = blocks
        .iter()
        .flat_map(|b| {
            b.data
                .as_ref()
                .map(|d| d.data.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(move |e| tx_id_of(e).map(|t| (t, b)))
        })
        .filter(|(t, _)| seen.insert(t.clone()))
        .collect();
    for (tx, delivered) in &in_order {
        let Some(label) = labels.get(tx) else {
            continue;
        };
        let code = match call("GetTransactionByID", tx.clone().into_bytes()).await {
            Ok(b) => ProcessedTransaction::decode(b.as_slice())
                .ok()
                .and_then(|p| TxValidationCode::try_from(p.validation_code).ok())
                .map_or_else(|| "?".to_owned(), |c| c.as_str_name().to_owned()),
            Err(e) => format!("error {:?}", refusal(&e).grpc),
        };
        let same_block = match call("GetBlockByTxID", tx.clone().into_bytes()).await {
            Ok(b) => Block::decode(b.as_slice()).is_ok_and(|b| &b == *delivered),
            Err(_) => false,
        };
        txs.push(json!({
            "step": label,
            "transaction_by_id": code,
            "block_by_tx_id_is_the_delivered_block": same_block,
        }));
    }
    let unknown = call("GetTransactionByID", b"no-such-tx".to_vec())
        .await
        .err()
        .map(|e| refusal(&e).grpc);
    Ok(json!({
        "chain_info_height_is_last_block_plus_one": info.height == last_num + 1,
        "chain_info_current_hash_is_last_block_hash": info.current_block_hash == last_hash,
        "chain_info_previous_hash_is_last_blocks_previous": last.header.as_ref().is_some_and(|h| h.previous_hash == info.previous_block_hash),
        "block_by_number_is_the_delivered_block": &by_number == last,
        "block_by_hash_is_the_delivered_block": &by_hash == last,
        "transactions": txs,
        "unknown_tx_id": unknown,
    }))
}

/// The private data each org's user received, per transaction in block order: collection,
/// key and value (normalized JSON).
fn describe_private_views(
    views: &[(String, Result<Vec<BlockAndPrivateData>, Refusal>)],
    labels: &HashMap<String, String>,
) -> Value {
    let mut out = serde_json::Map::new();
    for (org, res) in views {
        let v = match res {
            Err(r) => json!({"refused": {"at": r.step, "grpc": r.grpc}}),
            Ok(blocks) => {
                let mut txs = Vec::new();
                for b in blocks {
                    let envs = b
                        .block
                        .as_ref()
                        .and_then(|b| b.data.as_ref())
                        .map(|d| d.data.as_slice())
                        .unwrap_or_default();
                    let mut idx: Vec<&u64> = b.private_data_map.keys().collect();
                    idx.sort();
                    for i in idx {
                        let step = usize::try_from(*i)
                            .ok()
                            .and_then(|i| envs.get(i))
                            .and_then(|e| tx_id_of(e))
                            .and_then(|t| labels.get(&t).cloned())
                            .unwrap_or_else(|| "<not the script's>".into());
                        let mut writes = Vec::new();
                        for ns in &b.private_data_map[i].ns_pvt_rwset {
                            for c in &ns.collection_pvt_rwset {
                                let kv = KvrwSet::decode(c.rwset.as_slice()).unwrap_or_default();
                                for w in &kv.writes {
                                    writes.push(json!({
                                        "namespace": ns.namespace,
                                        "collection": c.collection_name,
                                        "key": norm_text(&w.key, labels),
                                        "delete": w.is_delete,
                                        "value": norm_bytes(&w.value, labels),
                                    }));
                                }
                            }
                        }
                        writes.sort_by_key(Value::to_string);
                        txs.push(json!({"step": step, "writes": writes}));
                    }
                }
                json!({"transactions": txs})
            }
        };
        out.insert(org.clone(), v);
    }
    Value::Object(out)
}

fn tx_id_of(env: &[u8]) -> Option<String> {
    sfcbc_client::ui::blocks::headers(env).map(|(ch, _)| ch.tx_id)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("fidelity: error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let profile = Profile::load(&args.profile)?;
    let mut gateways = BTreeMap::new();
    for org in ORGS {
        let sel = profile
            .select(Some(&format!("User1@{org}")))
            .with_context(|| format!("the profile needs User1@{org}"))?;
        let gw = profile.connect(&sel, None).await?;
        gateways.insert(org.to_owned(), gw);
    }
    let mut d = Driver {
        channel: args.channel.clone(),
        chaincode: profile.chaincode.clone(),
        gateways,
        steps: Vec::new(),
        labels: HashMap::new(),
        private_keys: HashMap::new(),
        last_block: None,
        proposals: HashMap::new(),
        first_block: 0,
        private_views: Vec::new(),
    };
    // Blocks are read through the manager's peer, a member of every channel.
    let reader = d.network("Manager")?;
    let first = sfcbc_client::ui::blocks::height(&reader)
        .await
        .context("channel height before the script (qscc GetChainInfo)")?;
    d.first_block = first;
    run_script(&mut d, &args.chain).await?;
    d.sync(&["Manager"]).await?;
    let blocks = read_blocks(&reader, first).await?;

    // The MVCC pair, labelled by block order.
    let mut n_mvcc = 0;
    let mut seen = std::collections::HashSet::new();
    for b in &blocks {
        for env in b
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default()
        {
            if let Some(tx) = tx_id_of(env)
                && d.labels.get(&tx).is_some_and(|l| l == "mvcc-?")
                && seen.insert(tx.clone())
            {
                n_mvcc += 1;
                d.labels.insert(tx, format!("mvcc-{n_mvcc}"));
            }
        }
    }
    let labels = d.labels.clone();
    for s in &mut d.steps {
        if let Some(l) = s.tx_id.as_ref().and_then(|t| labels.get(t))
            && s.label == "mvcc-?"
        {
            s.label = l.clone();
        }
    }
    // Which step wrote each (block, tx) version.
    let mut writer_of = HashMap::new();
    let mut txs = Vec::new();
    let mut n_txs = 0usize;
    for b in &blocks {
        let num = b.header.as_ref().map_or(0, |h| h.number);
        let filter = sfcbc_devnet::block::transactions_filter(b);
        for (i, env) in b
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let label = tx_id_of(env)
                .and_then(|t| labels.get(&t).cloned())
                .unwrap_or_else(|| "<not the script's>".into());
            writer_of.insert((num, i as u64), label);
            let code = filter
                .get(i)
                .and_then(|c| TxValidationCode::try_from(i32::from(*c)).ok())
                .map_or_else(|| "?".to_owned(), |c| c.as_str_name().to_owned());
            txs.push(describe_tx(
                env,
                &code,
                &labels,
                &d.private_keys,
                &writer_of,
            ));
            n_txs += 1;
        }
    }
    let mut steps: Vec<Value> = d
        .steps
        .iter()
        .map(|s| {
            json!({
                "step": s.label,
                "function": s.function,
                "identity": s.identity,
                "in_block": s.tx_id.as_ref().is_some_and(|t| blocks.iter().any(|b| b.data.as_ref().is_some_and(|d| d.data.iter().any(|e| tx_id_of(e).as_ref() == Some(t))))),
                "commit_status": s.commit_status,
                "result": s.result.as_ref().map(|r| norm_bytes(r, &labels)),
                "refused": s.refused.as_ref().map(|r| json!({"at": r.step, "grpc": r.grpc, "chaincode_status": r.chaincode_status})),
            })
        })
        .collect();
    // The MVCC pair in block order, whatever order their submits returned in.
    if let Some(i) = steps.iter().position(|s| s["step"] == "mvcc-2")
        && steps.get(i + 1).is_some_and(|s| s["step"] == "mvcc-1")
    {
        steps.swap(i, i + 1);
    }
    let last = blocks
        .last()
        .and_then(|b| b.header.as_ref())
        .map_or(first, |h| h.number);
    let filtered_txs = filtered(&reader, first, last, &labels).await?;
    let expected_events = txs
        .iter()
        .filter(|t| t["validation"] == "VALID" && !t["event"].is_null())
        .count();
    let events = gateway_events(&reader, &d.chaincode, first, expected_events, &labels).await?;
    let qscc = qscc_view(&reader, &blocks, &labels).await?;
    let out = json!({
        "script": "sfcbc fidelity v1",
        "qscc": qscc,
        "private_data_delivered": describe_private_views(&d.private_views, &labels),
        "channel": args.channel,
        "steps": steps,
        "transactions": txs,
        "filtered_blocks": filtered_txs,
        "chaincode_events": events,
    });
    let text = serde_json::to_string_pretty(&out)? + "\n";
    match &args.out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{text}"),
    }
    let in_blocks = n_txs;
    let refused = d.steps.iter().filter(|s| s.refused.is_some()).count();
    if args.json {
        eprintln!(
            "{}",
            json!({"steps": d.steps.len(), "transactions": in_blocks, "refused": refused, "blocks": blocks.len()})
        );
    } else {
        eprintln!(
            "fidelity: {} steps ({} refused), {} transactions in {} blocks",
            d.steps.len(),
            refused,
            in_blocks,
            blocks.len()
        );
    }
    if in_blocks == 0 {
        bail!("no transactions in the blocks after the script: did it run?");
    }
    Ok(())
}
