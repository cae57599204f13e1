//! Every validation policy against every attack (DESIGN §5, §9), over real UDP on loopback
//! and the real contract on an embedded ledger.
//!
//! The hop under test is hop 2 of a two-hop chain whose hop 1 the test plays itself: it
//! records what "it processed" on the ledger as Org1 (commit before forward, as an SF does
//! when the next hop validates by hash), then sends from hop 1's registered address — or
//! forges, tampers, replays. Expected outcome per policy:
//!
//! | scenario                         | none | address | hash   | hash+address |
//! |----------------------------------|------|---------|--------|--------------|
//! | valid                            | pass | pass    | pass   | pass         |
//! | forged source (recorded payload) | pass | source  | pass   | source       |
//! | tampered (right source)          | pass | pass    | hash   | hash         |
//! | replayed                         | pass | pass    | replay | replay       |
//! | wrong credential                 | auth | auth    | auth   | auth         |

#[path = "sf_support.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use sfcbc_chaincode::types::{ErrorKind, HopRecordInput};
use sfcbc_client::sf::{FunctionConfig, SfLedger};
use support::*;
use tokio::net::UdpSocket;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Pass,
    Drop(ErrorKind),
}

/// Hop 1 (played by the test) records that it output `payload`.
async fn hop1_records(net: &Net, chain: &str, hop1: &HopSpec, next: SocketAddr, payload: &[u8]) {
    let rec = HopRecordInput {
        seq: 0,
        input_hash: sha(&[b"input of ", payload].concat()),
        output_hash: sha(payload),
        src: "127.0.0.10:5000".into(),
        next: next.to_string(),
    };
    net.sps[0]
        .record_hops(chain, &hop1.psiid, &[rec])
        .await
        .expect("hop 1 records");
}

struct Case<'a> {
    net: &'a Net,
    sink: &'a UdpSocket,
    chain: &'a str,
    hop2: &'a HopSpec,
}

impl Case<'_> {
    /// Sends `payload` from `from` to hop 2 and checks the outcome.
    async fn send(&self, from: &UdpSocket, payload: &[u8], expect: Expect, what: &str) {
        from.send_to(payload, self.hop2.address).await.unwrap();
        match expect {
            Expect::Pass => {
                let (got, src) = recv_within(self.sink, Duration::from_secs(5))
                    .await
                    .unwrap_or_else(|| panic!("{what}: nothing arrived at the destination"));
                assert_eq!(
                    src, self.hop2.address,
                    "{what}: forwarded from hop 2's address"
                );
                assert!(got.starts_with(payload), "{what}: payload kept");
                let stamps = sfcbc_client::sf::function::stamps(&got[payload.len()..]);
                assert_eq!(stamps.len(), 1, "{what}: one stamp");
                assert_eq!(stamps[0].0, self.hop2.psiid);
                // ... and hop 2 recorded it.
                let h = sha(payload);
                let end = std::time::Instant::now() + Duration::from_secs(10);
                while !self
                    .net
                    .records(self.chain, &self.hop2.psiid)
                    .await
                    .iter()
                    .any(|r| r.input_hash == h)
                {
                    assert!(std::time::Instant::now() < end, "{what}: no record");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Expect::Drop(kind) => {
                let e = self
                    .net
                    .wait_error(self.chain, &self.hop2.psiid, &sha(payload))
                    .await;
                assert_eq!(e.kind, kind, "{what}: error kind ({})", e.detail);
                assert_eq!(e.src, from.local_addr().unwrap().to_string());
                assert!(
                    recv_within(self.sink, Duration::from_millis(200))
                        .await
                        .is_none(),
                    "{what}: a dropped datagram arrived"
                );
            }
        }
    }
}

async fn matrix(policy: &'static str) {
    use Expect::*;
    let checks_address = policy.contains("address");
    let checks_hash = policy.contains("hash");
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let a1 = free_addr("127.0.0.2");
    let a2 = free_addr("127.0.0.3");
    let hops = [hop(0, 1, a1, "none"), hop(1, 1, a2, policy)];
    let chain = format!("m-{}", policy.replace('+', "-"));
    net.create_chain(&chain, &hops, None, src, dst, &[]).await;
    // The same chain shape with a wrong credential shared with hop 2.
    let b1 = free_addr("127.0.0.4");
    let b2 = free_addr("127.0.0.5");
    let hops_b = [hop(0, 1, b1, "none"), hop(1, 1, b2, policy)];
    let chain_b = format!("{chain}-badauth");
    net.create_chain(&chain_b, &hops_b, None, src, dst, &[1])
        .await;

    let sink = UdpSocket::bind(dst).await.unwrap();
    let hop1 = UdpSocket::bind(a1).await.unwrap();
    let hop1_b = UdpSocket::bind(b1).await.unwrap();
    let forger = UdpSocket::bind("127.0.0.12:0").await.unwrap();
    let sf = net
        .start_sf(&[(&chain, &hops[1])], FunctionConfig::NameWriter, |_| {})
        .await;
    let sf_b = net
        .start_sf(
            &[(&chain_b, &hops_b[1])],
            FunctionConfig::NameWriter,
            |_| {},
        )
        .await;
    let case = Case {
        net: &net,
        sink: &sink,
        chain: &chain,
        hop2: &hops[1],
    };

    // valid
    let p = format!("valid {policy}").into_bytes();
    hop1_records(&net, &chain, &hops[0], a2, &p).await;
    case.send(&hop1, &p, Pass, "valid").await;

    // forged source: a payload hop 1 did output, sent from elsewhere
    let p = format!("forged {policy}").into_bytes();
    hop1_records(&net, &chain, &hops[0], a2, &p).await;
    let expect = if checks_address {
        Drop(ErrorKind::Source)
    } else {
        Pass
    };
    case.send(&forger, &p, expect, "forged source").await;

    // tampered: hop 1 output p, p' arrives from hop 1's address
    let p = format!("tampered {policy}").into_bytes();
    hop1_records(&net, &chain, &hops[0], a2, &p).await;
    let mut tampered = p.clone();
    tampered[0] ^= 0x20;
    let expect = if checks_hash {
        Drop(ErrorKind::Hash)
    } else {
        Pass
    };
    case.send(&hop1, &tampered, expect, "tampered").await;
    if checks_hash {
        let e = net
            .wait_error(&chain, &hops[1].psiid, &sha(&tampered))
            .await;
        assert!(e.detail.contains("hash-timeout"), "{}", e.detail);
    }

    // replayed: the same valid datagram twice
    let p = format!("replayed {policy}").into_bytes();
    hop1_records(&net, &chain, &hops[0], a2, &p).await;
    case.send(&hop1, &p, Pass, "replay's original").await;
    let expect = if checks_hash {
        Drop(ErrorKind::Replay)
    } else {
        Pass
    };
    case.send(&hop1, &p, expect, "replayed").await;

    // wrong credential
    let p = format!("wrong credential {policy}").into_bytes();
    hop1_records(&net, &chain_b, &hops_b[0], b2, &p).await;
    let case_b = Case {
        net: &net,
        sink: &sink,
        chain: &chain_b,
        hop2: &hops_b[1],
    };
    case_b
        .send(&hop1_b, &p, Drop(ErrorKind::Auth), "wrong credential")
        .await;

    let m = sf.metrics.clone();
    let report = sf.shutdown().await;
    sf_b.shutdown().await;
    assert_eq!(report.records.lost, 0);
    let text = m.encode();
    assert!(text.contains("sfcbc_sf_received_total"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_none() {
    matrix("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_address() {
    matrix("address").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_hash() {
    matrix("hash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_hash_address() {
    matrix("hash+address").await;
}

/// Hop 1 under `address`: the source endpoint shared with its SP, or the classifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_hop_address_accepts_only_the_shared_source() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "address")];
    net.create_chain("h1addr", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let forger = UdpSocket::bind("127.0.0.12:0").await.unwrap();
    let sf = net
        .start_sf(&[("h1addr", &hops[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    source
        .send_to(b"from the source", hops[0].address)
        .await
        .unwrap();
    assert!(recv_within(&sink, Duration::from_secs(5)).await.is_some());
    forger.send_to(b"forged", hops[0].address).await.unwrap();
    let e = net
        .wait_error("h1addr", &hops[0].psiid, &sha(b"forged"))
        .await;
    assert_eq!(e.kind, ErrorKind::Source, "{}", e.detail);
    sf.shutdown().await;
}

/// Hop 1 under `hash`: only the replay guard applies — also across an SF restart, when the
/// SF's own memory is empty and the ledger's `used~` record decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_hop_hash_rejects_replays_even_after_restart() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "hash")];
    net.create_chain("h1hash", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let sf = net
        .start_sf(&[("h1hash", &hops[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    source.send_to(b"once", hops[0].address).await.unwrap();
    assert!(recv_within(&sink, Duration::from_secs(5)).await.is_some());
    source.send_to(b"once", hops[0].address).await.unwrap();
    let e = net
        .wait_error("h1hash", &hops[0].psiid, &sha(b"once"))
        .await;
    assert_eq!(e.kind, ErrorKind::Replay);
    let report = sf.shutdown().await;
    assert_eq!(report.records.committed, 1);

    let sf = net
        .start_sf(&[("h1hash", &hops[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    source.send_to(b"once", hops[0].address).await.unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while net.errors("h1hash", &hops[0].psiid).await.len() < 2 {
        assert!(
            std::time::Instant::now() < end,
            "replay after restart not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        net.errors("h1hash", &hops[0].psiid)
            .await
            .iter()
            .all(|e| e.kind == ErrorKind::Replay)
    );
    assert!(
        recv_within(&sink, Duration::from_millis(200))
            .await
            .is_none()
    );
    sf.shutdown().await;
}
