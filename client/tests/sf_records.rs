//! The data path does not wait on the ledger: records queue at once below the bound, a
//! record somebody waits for goes at once and later ones share transactions, and hop 1 under
//! `hash` leaves the replay guard to its own record's commit instead of a `CheckIn` per
//! datagram — while an old replay there is still dropped; the credential verdict, first
//! or renewed, takes one `CheckIn`, not one per datagram.

#[path = "sf_support.rs"]
mod support;

use std::time::{Duration, Instant};

use futures::FutureExt as _;
use sfcbc_chaincode::types::{
    Chain, ErrorKind, HopError, HopErrorInput, HopRecordInput, HopRecordedEvent, Verdict,
};
use sfcbc_client::sf::{
    EventStream, FunctionConfig, LedgerError, Metrics, Recorder, RecordsConfig, SfLedger,
};
use support::*;
use tokio::net::UdpSocket;

fn rec(seq: u64, input: &str) -> HopRecordInput {
    HopRecordInput {
        seq,
        input_hash: sha(input.as_bytes()),
        output_hash: sha(format!("{input}-out").as_bytes()),
        src: "127.0.0.10:5000".into(),
        next: "127.0.0.11:6000".into(),
    }
}

/// `sfcbc_sf_ledger_seconds_count{call="CheckIn"}` of an SF's metrics.
fn check_ins(metrics_text: &str) -> u64 {
    metrics_text
        .lines()
        .find(|l| l.starts_with("sfcbc_sf_ledger_seconds_count{call=\"CheckIn\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// With the peer down, queuing completes without waiting until the queue is full; the
/// first record past the bound waits (counted), and everything queued commits later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queuing_below_the_bound_does_not_wait_for_the_ledger() {
    let net = Net::new().await;
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain(
        "q",
        &hops,
        None,
        free_addr("127.0.0.10"),
        free_addr("127.0.0.11"),
        &[],
    )
    .await;
    let psiid = hops[0].psiid.clone();
    net.ledger.set_available(false);
    let config = RecordsConfig {
        batch_size: 7,
        queue_capacity: 50,
        max_in_flight: 1,
        retry_initial_ms: 20,
        ..RecordsConfig::default()
    };
    let metrics = Metrics::new("t");
    let (r, task) = Recorder::start(net.sp_ledger(0), config, metrics.clone());
    for i in 0..50 {
        assert!(
            r.record("q", &psiid, rec(i, &format!("m{i}")))
                .now_or_never()
                .is_some(),
            "record {i} waited although the queue had room"
        );
    }
    assert_eq!(metrics.backpressure.get(), 0);
    assert!(
        r.record("q", &psiid, rec(50, "m50"))
            .now_or_never()
            .is_none(),
        "the 51st record did not wait for room"
    );
    assert_eq!(metrics.backpressure.get(), 1);
    net.ledger.set_available(true);
    drop(r);
    let report = task.await.unwrap();
    assert_eq!((report.committed, report.lost), (50, 0));
    assert_eq!(net.records("q", &psiid).await.len(), 50);
}

/// A record somebody waits for is submitted at once (not after `batch_interval_ms`); while
/// it is in flight, the next ones gather and go together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awaited_records_go_at_once_and_then_share_transactions() {
    let net = Net::new().await;
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "hash")];
    net.create_chain(
        "aw",
        &hops,
        None,
        free_addr("127.0.0.10"),
        free_addr("127.0.0.11"),
        &[],
    )
    .await;
    let psiid = hops[0].psiid.clone();

    // 1. A long interval does not delay an awaited record.
    let config = RecordsConfig {
        batch_interval_ms: 60_000,
        ..RecordsConfig::default()
    };
    let (r, task) = Recorder::start(net.sp_ledger(0), config, Metrics::new("t"));
    let t = Instant::now();
    r.record_committed("aw", &psiid, rec(0, "first"))
        .await
        .unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "waited {:?}",
        t.elapsed()
    );
    drop(r);
    task.await.unwrap();

    // 2. 40 awaited records over ~80 ms, blocks every 100 ms, one transaction per 30 ms at
    //    most after the first: far fewer transactions than records, none lost.
    net.ledger.set_block_interval(Duration::from_millis(100));
    let config = RecordsConfig {
        batch_interval_ms: 30,
        ..RecordsConfig::default()
    };
    let (r, task) = Recorder::start(net.sp_ledger(0), config, Metrics::new("t"));
    let mut waits = Vec::new();
    for i in 1..=40u64 {
        let r = r.clone();
        let psiid = psiid.clone();
        waits.push(tokio::spawn(async move {
            r.record_committed("aw", &psiid, rec(i, &format!("n{i}")))
                .await
        }));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for w in waits {
        assert_eq!(w.await.unwrap(), Ok(()));
    }
    drop(r);
    let report = task.await.unwrap();
    assert_eq!(report.committed, 40);
    let recs = net.records("aw", &psiid).await;
    assert_eq!(recs.len(), 41);
    let mut txs: Vec<&str> = recs
        .iter()
        .filter(|r| r.seq > 0)
        .map(|r| r.tx_id.as_str())
        .collect();
    txs.sort();
    txs.dedup();
    assert!(
        (2..=10).contains(&txs.len()),
        "40 records in {} transactions",
        txs.len()
    );
}

/// Hop 1 of a hash chain (the next hop validates by hash, so hop 1 commits before it
/// forwards) asks `CheckIn` once for the credential, not once per datagram; hop 2 finds the
/// hashes in its event-fed view. After a restart (an empty view) a replay of an old message
/// is still dropped at hop 1 — by its record's commit — and recorded as a `replay` error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_hop_one_needs_no_check_in_per_datagram_and_still_drops_replays() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [
        hop(0, 1, free_addr("127.0.0.2"), "hash"),
        hop(1, 1, free_addr("127.0.0.3"), "hash"),
    ];
    net.create_chain("h1", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let sf1 = net
        .start_sf(&[("h1", &hops[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    let sf2 = net
        .start_sf(&[("h1", &hops[1])], FunctionConfig::NameWriter, |_| {})
        .await;
    let n = 20;
    for i in 0..n {
        source
            .send_to(format!("message {i}").as_bytes(), hops[0].address)
            .await
            .unwrap();
    }
    for _ in 0..n {
        let (got, _) = recv_within(&sink, Duration::from_secs(10))
            .await
            .expect("every message arrives");
        assert_eq!(sfcbc_client::sf::function::stamps(&got).len(), 2);
    }
    let hop1 = check_ins(&sf1.metrics.encode());
    let hop2 = check_ins(&sf2.metrics.encode());
    assert!(
        hop1 <= 2,
        "hop 1 asked CheckIn {hop1} times for {n} datagrams"
    );
    assert!(
        hop2 < n / 2,
        "hop 2 asked CheckIn {hop2} times for {n} datagrams"
    );

    // Restart hop 1: its view no longer knows "message 0".
    sf1.shutdown().await;
    let sf1 = net
        .start_sf(&[("h1", &hops[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    source.send_to(b"message 0", hops[0].address).await.unwrap();
    let e = net
        .wait_error("h1", &hops[0].psiid, &sha(b"message 0"))
        .await;
    assert_eq!(e.kind, ErrorKind::Replay, "{}", e.detail);
    assert!(
        recv_within(&sink, Duration::from_millis(500))
            .await
            .is_none(),
        "the replay went on"
    );
    assert_eq!(sf1.metrics.dropped_count("replay"), 1);
    sf1.shutdown().await;
    sf2.shutdown().await;
}

/// An SP ledger whose `CheckIn` takes `delay`, as a busy or distant peer's does.
struct SlowCheckIn {
    inner: std::sync::Arc<dyn SfLedger>,
    delay: Duration,
}

#[async_trait::async_trait]
impl SfLedger for SlowCheckIn {
    async fn get_chain(&self, chain: &str) -> Result<Chain, LedgerError> {
        self.inner.get_chain(chain).await
    }
    async fn check_in(
        &self,
        chain: &str,
        psiid: &str,
        input_hash: &str,
        src: &str,
    ) -> Result<Verdict, LedgerError> {
        tokio::time::sleep(self.delay).await;
        self.inner.check_in(chain, psiid, input_hash, src).await
    }
    async fn record_hops(
        &self,
        chain: &str,
        psiid: &str,
        records: &[HopRecordInput],
    ) -> Result<HopRecordedEvent, LedgerError> {
        self.inner.record_hops(chain, psiid, records).await
    }
    async fn record_error(
        &self,
        chain: &str,
        psiid: &str,
        error: &HopErrorInput,
    ) -> Result<HopError, LedgerError> {
        self.inner.record_error(chain, psiid, error).await
    }
    async fn events(&self, chains: &[String]) -> Result<EventStream, LedgerError> {
        self.inner.events(chains).await
    }
}

/// Before the first credential verdict, one datagram asks `CheckIn` and the others wait for
/// its answer; when the verdict expires (`auth_ttl_ms`) under steady traffic, one datagram
/// renews it while the others keep the expired verdict: never one `CheckIn` per datagram for
/// as long as the answer takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_verdict_takes_one_check_in_not_one_per_datagram() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain("ttl", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let ledger = std::sync::Arc::new(SlowCheckIn {
        inner: net.sp_ledger(0),
        delay: Duration::from_millis(100),
    });
    let sf = Net::start_sf_on(
        ledger,
        &[("ttl", &hops[0])],
        FunctionConfig::NameWriter,
        |c| c.validation.auth_ttl_ms = 200,
    )
    .await;
    // No verdict yet: of a burst of 50, one datagram asks and the others wait for it.
    for i in 0..50 {
        source
            .send_to(format!("burst {i}").as_bytes(), hops[0].address)
            .await
            .unwrap();
    }
    for _ in 0..50 {
        recv_within(&sink, Duration::from_secs(5))
            .await
            .expect("every datagram of the burst arrives");
    }
    let first = check_ins(&sf.metrics.encode());
    assert_eq!(
        first, 1,
        "asked CheckIn {first} times for the first 50 datagrams"
    );

    // 1.2 s of traffic, a datagram every 2 ms: the verdict expires ≥ 3 times, and each
    // renewal takes 100 ms, during which ~50 datagrams arrive.
    // Each datagram carries its send time (µs since t0); the sink counts the slow ones.
    let t0 = Instant::now();
    let sink = tokio::spawn(async move {
        let (mut got, mut slow) = (0u64, 0u64);
        while let Some((payload, _)) = recv_within(&sink, Duration::from_secs(2)).await {
            got += 1;
            let text = String::from_utf8_lossy(&payload);
            let sent_us: u64 = text
                .split('|')
                .next()
                .and_then(|p| p.split(' ').nth(1))
                .and_then(|us| us.parse().ok())
                .expect("send time in the payload");
            if t0.elapsed() >= Duration::from_micros(sent_us) + Duration::from_millis(50) {
                slow += 1;
            }
        }
        (got, slow)
    });
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(1200) {
        let payload = format!("m{sent} {}", t0.elapsed().as_micros());
        source
            .send_to(payload.as_bytes(), hops[0].address)
            .await
            .unwrap();
        sent += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (got, slow) = sink.await.unwrap();
    assert_eq!(got, sent, "every datagram arrives");
    let asked = check_ins(&sf.metrics.encode()) - first;
    // One renewal per expiry: at most one per ttl + renewal time.
    assert!(
        (2..=7).contains(&asked),
        "asked CheckIn {asked} times for {sent} datagrams in 1.2 s"
    );
    // Only the datagram renewing the verdict waits for CheckIn's 100 ms; the others keep
    // the expired verdict meanwhile (if they waited for the answer, the ~25 arriving in
    // the first half of each renewal would take ≥ 50 ms). A few spare for a busy machine.
    assert!(
        slow <= asked + 5,
        "{slow} of {sent} datagrams took ≥ 50 ms ({asked} renewals)"
    );
    sf.shutdown().await;
}
