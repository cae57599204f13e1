//! The typed `SfcContract` against the SFC chaincode (`sfcbc-ccaas serve`) on a REAL Fabric
//! 2.5 network: Org2 User1 owns a chain whose hops are run by Org1 and Org2; each SP talks
//! through its own org's gateway peer.
//!
//! Needs a running fabric-real network with the SFC chaincode deployed (endorsement policy
//! `OR('Org1MSP.peer','Org2MSP.peer')`), as `tests/real-fabric/gateway-client.sh` sets up:
//! `SFCBC_FABRIC_NET` (the network dir), `SFCBC_SFC_CC_NAME` (chaincode name), and
//! `ORG1_PEER_PORT` / `ORG2_PEER_PORT`. Without them it prints why and passes untested.

use std::path::PathBuf;
use std::time::Duration;

use sfcbc_chaincode::types::{
    ChainSpec, ChainState, Endpoint, ErrorKind, Hop, HopErrorInput, HopRecordInput, Validation,
};
use sfcbc_client::{EventsOptions, Gateway, SfcContract, SfcEvent, TlsOptions};
use sfcbc_fabric::MspDir;
use sha2::{Digest as _, Sha256};

const CHANNEL: &str = "mychannel";

struct Env {
    net: PathBuf,
    chaincode: String,
    ports: [String; 2],
}

fn env() -> Option<Env> {
    let (Some(net), Ok(chaincode)) = (
        std::env::var_os("SFCBC_FABRIC_NET"),
        std::env::var("SFCBC_SFC_CC_NAME"),
    ) else {
        eprintln!(
            "SKIP real-fabric SfcContract test: needs SFCBC_FABRIC_NET and SFCBC_SFC_CC_NAME (a fabric-real network with sfcbc-ccaas deployed); run tests/real-fabric/gateway-client.sh"
        );
        return None;
    };
    Some(Env {
        net: PathBuf::from(net),
        chaincode,
        ports: [
            std::env::var("ORG1_PEER_PORT").unwrap_or_else(|_| "7051".into()),
            std::env::var("ORG2_PEER_PORT").unwrap_or_else(|_| "9051".into()),
        ],
    })
}

impl Env {
    /// Org `n`'s User1 through org `n`'s own gateway peer.
    async fn sfc(&self, n: usize) -> SfcContract {
        let org = self.net.join(format!(
            "organizations/peerOrganizations/org{n}.example.com"
        ));
        let signer = MspDir::load(org.join(format!("users/User1@org{n}.example.com/msp")))
            .unwrap()
            .signer(&format!("Org{n}MSP"))
            .unwrap();
        let tls =
            TlsOptions::from_ca_file(org.join(format!("tlsca/tlsca.org{n}.example.com-cert.pem")))
                .unwrap();
        let gw = Gateway::connect(
            signer.identity().clone(),
            signer,
            &format!("127.0.0.1:{}", self.ports[n - 1]),
            Some(tls),
        )
        .await
        .unwrap();
        SfcContract::new(gw.network(CHANNEL).contract(&self.chaincode))
    }
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sfc_contract_against_real_fabric() {
    let Some(env) = env() else { return };
    let sp1 = env.sfc(1).await; // Org1: runs hop 1
    let owner = env.sfc(2).await; // Org2 User1: owns the chain (Org2 also runs hop 2)
    let sp2 = owner.clone();
    let id = format!("chain-{}", std::process::id());
    let (h1, h2) = ("Org1:NameWriter:1", "Org2:NameWriter:1");
    let spec = ChainSpec {
        id: id.clone(),
        hops: vec![
            Hop {
                psiid: h1.into(),
                sp_msp: "Org1MSP".into(),
                address: "127.0.0.2:9001".into(),
                validation: Validation::Address,
                collection: None,
            },
            Hop {
                psiid: h2.into(),
                sp_msp: "Org2MSP".into(),
                address: "127.0.0.3:9002".into(),
                validation: Validation::Hash,
                collection: None,
            },
        ],
        classifier: None,
    };

    let chain = owner.create_chain(&spec).await.expect("CreateChain");
    assert_eq!((chain.version, chain.state), (1, ChainState::Active));
    assert_eq!(chain.owner.msp, "Org2MSP");
    assert_eq!(
        sp1.get_chain(&id).await.expect("hop SP reads the chain"),
        chain
    );
    assert!(
        owner
            .list_chains()
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == id)
    );

    // errors keep the chaincode's status: 409 for a second CreateChain, 403 for a non-owner
    let e = owner.create_chain(&spec).await.expect_err("exists");
    assert_eq!(e.chaincode_response().map(|r| r.0), Some(409), "{e}");
    let e = sp1.disable_chain(&id).await.expect_err("not the owner");
    assert_eq!(e.chaincode_response().map(|r| r.0), Some(403), "{e}");
    let e = sp1.get_chain("no-such-chain").await.expect_err("missing");
    assert_eq!(e.chaincode_response().map(|r| r.0), Some(404), "{e}");

    // private sharing: each endorsed by the hop's SP only
    let secret = b"alice's secret".to_vec();
    let w = sp1
        .register_account("alice", &secret)
        .await
        .expect("RegisterAccount");
    assert_eq!(w.collection, "_implicit_org_Org1MSP");
    let w = owner
        .share_auth(&chain, h1, "alice", &secret)
        .await
        .expect("ShareAuth");
    assert_eq!(
        (w.collection.as_str(), w.psiid.as_deref()),
        ("_implicit_org_Org1MSP", Some(h1))
    );
    let src = "127.0.0.9:5000";
    owner
        .share_endpoints(
            &chain,
            h1,
            &Endpoint {
                source: Some(src.into()),
                destination: None,
            },
        )
        .await
        .expect("ShareEndpoints (source to hop 1)");
    assert!(
        owner
            .share_auth(&chain, "Org9:X:1", "a", b"s")
            .await
            .is_err()
    );

    // the data plane: check-in, records, errors, trace
    let payload = b"hello sfc".to_vec();
    let (h_in, h_mid) = (sha(&payload), sha(b"hello sfc|Org1:NameWriter:1@..."));
    let v = sp1.check_in(&id, h1, &h_in, src).await.expect("CheckIn");
    eprintln!("CheckIn verdict at hop 1: {v:?}");
    assert!(v.ok, "{v:?}");
    assert_eq!(
        v.next_hop.as_ref().map(|n| n.address.as_str()),
        Some("127.0.0.3:9002")
    );
    let bad = sp1.check_in(&id, h1, &h_in, "127.0.0.66:1").await.unwrap();
    assert!(!bad.ok && bad.failed == Some(ErrorKind::Source), "{bad:?}");

    let rec = |input: &str, output: &str, src: &str, next: &str| HopRecordInput {
        seq: 1,
        input_hash: input.into(),
        output_hash: output.into(),
        src: src.into(),
        next: next.into(),
    };
    let ev = sp1
        .record_hops(&id, h1, &[rec(&h_in, &h_mid, src, "127.0.0.3:9002")])
        .await
        .expect("RecordHops hop 1");
    // Hop 2 validates by hash, so hop 1's record names its outputs.
    assert_eq!((ev.outputs.clone(), ev.records), (vec![h_mid.clone()], 1));
    let h_out = sha(b"final");
    let (ev2, mut commit) = sp2
        .record_hops_async(
            &id,
            h2,
            &[rec(&h_mid, &h_out, "127.0.0.2:9001", "127.0.0.10:6000")],
        )
        .await
        .expect("RecordHops hop 2 (hash validated against hop 1's record)");
    // The last hop's outputs go to the destination, which looks nothing up: no `out` keys.
    assert!(ev2.outputs.is_empty() && ev2.records == 1, "{ev2:?}");
    let st = commit.status().await.unwrap();
    assert!(st.successful(), "{st:?}");

    // the replay guard: the same input hash again is refused at endorsement (409)
    let e = sp2
        .record_hops(
            &id,
            h2,
            &[rec(&h_mid, &sha(b"other"), "127.0.0.2:9001", "x:1")],
        )
        .await
        .expect_err("replayed input hash");
    eprintln!("replay refused: {e}");
    assert_eq!(e.chaincode_response().map(|r| r.0), Some(409), "{e}");
    let err = sp2
        .record_error(
            &id,
            h2,
            &HopErrorInput {
                kind: ErrorKind::Replay,
                detail: "input hash used before".into(),
                src: "127.0.0.2:9001".into(),
                input_hash: h_mid.clone(),
            },
        )
        .await
        .expect("RecordError");
    assert_eq!(err.kind, ErrorKind::Replay);

    // two concurrent uses of one input hash: both endorse (neither committed yet), the
    // ledger's MVCC check invalidates one, and the client reports its validation code
    let (h_in2, h_mid2) = (sha(b"second message"), sha(b"second message|hop1"));
    sp1.record_hops(&id, h1, &[rec(&h_in2, &h_mid2, src, "127.0.0.3:9002")])
        .await
        .unwrap();
    let ra = [rec(&h_mid2, &sha(b"a"), "127.0.0.2:9001", "x:1")];
    let rb = [rec(&h_mid2, &sha(b"b"), "127.0.0.2:9001", "x:1")];
    let (a, b) = tokio::join!(
        sp2.record_hops_async(&id, h2, &ra),
        sp2.record_hops_async(&id, h2, &rb),
    );
    let (mut ca, mut cb) = (a.expect("endorsed").1, b.expect("endorsed").1);
    let (sa, sb) = (ca.status().await.unwrap(), cb.status().await.unwrap());
    eprintln!(
        "concurrent replay: {} {}, {} {}",
        sa.tx_id,
        sa.code_name(),
        sb.tx_id,
        sb.code_name()
    );
    let mut codes = [sa.code_name(), sb.code_name()];
    codes.sort();
    assert_eq!(codes, ["MVCC_READ_CONFLICT", "VALID"]);

    let trace = owner.trace_message(&id, &h_in).await.expect("TraceMessage");
    assert!(trace.complete, "{trace:?}");
    let path: Vec<_> = trace.hops.iter().map(|h| h.psiid.as_str()).collect();
    assert_eq!(path, [h1, h2]);
    let records = owner.get_records(&id, None, 10, "").await.unwrap();
    assert_eq!(records.items.len(), 4, "2 for each message");
    let page = owner.get_records(&id, Some(h1), 1, "").await.unwrap();
    assert_eq!(page.items.len(), 1);
    let errors = owner.get_errors(&id, Some(h2), 10, "").await.unwrap();
    assert_eq!(errors.items.len(), 1);
    assert!(owner.metadata().await.unwrap().get("contracts").is_some());

    let disabled = owner.disable_chain(&id).await.expect("DisableChain");
    assert_eq!(
        (disabled.version, disabled.state),
        (2, ChainState::Disabled)
    );

    // the events of all this, decoded, from the block of CreateChain on
    let mut events = owner.events(EventsOptions::start_block(0)).await.unwrap();
    let mut seen = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(10), events.next()).await {
        let ev = ev.unwrap();
        match SfcEvent::parse(&ev).unwrap() {
            SfcEvent::ChainCreated(p) if p.chain == id => {
                assert_eq!(p.tx_id, chain.created_tx);
                seen.push("ChainCreated");
            }
            SfcEvent::HopRecorded(p) if p.chain == id => seen.push("HopRecorded"),
            SfcEvent::HopRejected(p) if p.chain == id => seen.push("HopRejected"),
            SfcEvent::ChainUpdated(p) if p.chain == id => {
                assert_eq!(p.state, ChainState::Disabled);
                seen.push("ChainUpdated");
                break;
            }
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            "ChainCreated",
            "HopRecorded",
            "HopRecorded",
            "HopRejected",
            "HopRecorded",
            "HopRecorded",
            "ChainUpdated"
        ],
        "events of valid transactions only, in commit order"
    );
    eprintln!("REAL-FABRIC SFC CONTRACT OK");
}
