//! The SF runtime end to end over loopback UDP (each SF on its own 127.0.0.x address) and the
//! real contract on an embedded ledger: the paper's three-hop chain, sizes, chain updates
//! and disabling while traffic flows, one SF serving two chains, records flushed on shutdown,
//! replay conflicts in a batch, a peer that goes down and comes back, the spool, metrics.

#[path = "sf_support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sfcbc_chaincode::types::{ErrorKind, HopErrorInput, HopRecordInput};
use sfcbc_client::sf::function::{MAX_DATAGRAM, stamps};
use sfcbc_client::sf::{FunctionConfig, Metrics, RecordFailure, Recorder, RecordsConfig};
use sfcbc_client::tools::{SendConfig, Sink, SinkConfig, send};
use support::*;
use tokio::net::UdpSocket;

/// source → SF1 (address) → SF2 (hash) → SF3 (hash+address) → sink: three stamps, in order,
/// and a complete trace for every message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hops_stamp_in_order_and_trace_completely() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [
        hop(0, 1, free_addr("127.0.0.2"), "address"),
        hop(1, 1, free_addr("127.0.0.3"), "hash"),
        hop(2, 1, free_addr("127.0.0.4"), "hash+address"),
    ];
    net.create_chain("chain1", &hops, None, src, dst, &[]).await;
    let sink = Sink::bind(SinkConfig {
        listen: dst,
        count: Some(5),
        idle_ms: None,
        expect_stamps: Some(3),
        print: false,
    })
    .await
    .unwrap();
    let sink = tokio::spawn(sink.run(tokio::time::sleep(Duration::from_secs(20))));
    let mut sfs = Vec::new();
    for h in &hops {
        sfs.push(
            net.start_sf(&[("chain1", h)], FunctionConfig::NameWriter, |_| {})
                .await,
        );
    }
    let report = send(
        SendConfig {
            bind: src,
            to: hops[0].address.to_string(),
            count: 5,
            rate: 50.0,
            size: Some(64),
            payload: None,
            hashes: None,
        },
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(report.sent, 5);
    let seen = sink.await.unwrap();
    assert_eq!(seen.arrivals.len(), 5, "all five arrive");
    assert_eq!(seen.bad, 0, "each has three stamps");
    for a in &seen.arrivals {
        assert_eq!(a.from, hops[2].address);
        let psiids: Vec<&str> = a.stamps.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            psiids,
            [
                "Org1:NameWriter:1",
                "Org2:NameWriter:1",
                "Org3:NameWriter:1"
            ]
        );
        assert!(
            a.stamps.windows(2).all(|w| w[0].1 <= w[1].1),
            "stamps in time order"
        );
        assert!(a.seq.is_some() && a.latency_us.is_some());
    }
    for sf in sfs {
        let r = sf.shutdown().await;
        assert_eq!(r.records.committed, 5);
        assert_eq!(r.forwarded, 5);
    }
    for h in &report.hashes {
        let t = net.trace("chain1", h).await;
        assert!(t.complete, "{t:?}");
        assert_eq!(t.hops.len(), 3);
    }
}

/// 65,507-byte and empty datagrams pass unchanged; a name-writer that would exceed the UDP
/// maximum drops (recorded) instead of truncating.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn biggest_and_empty_datagrams() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "hash")];
    net.create_chain("sizes", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let sf = net
        .start_sf(&[("sizes", &hops[0])], FunctionConfig::Pass, |_| {})
        .await;
    let big: Vec<u8> = (0..MAX_DATAGRAM).map(|i| (i * 7 % 251) as u8).collect();
    source.send_to(&big, hops[0].address).await.unwrap();
    let (got, _) = recv_within(&sink, Duration::from_secs(5))
        .await
        .expect("big");
    assert_eq!(got, big);
    source.send_to(&[], hops[0].address).await.unwrap();
    let (got, _) = recv_within(&sink, Duration::from_secs(5))
        .await
        .expect("empty");
    assert!(got.is_empty());
    sf.shutdown().await;
    let recs = net.records("sizes", &hops[0].psiid).await;
    assert_eq!(recs.len(), 2);

    // name-writer cannot stamp a full-size datagram
    let sf = net
        .start_sf(&[("sizes", &hops[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    let big2: Vec<u8> = vec![b'x'; MAX_DATAGRAM];
    source.send_to(&big2, hops[0].address).await.unwrap();
    let e = net.wait_error("sizes", &hops[0].psiid, &sha(&big2)).await;
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.detail.contains("exceeds the UDP maximum"), "{}", e.detail);
    assert!(
        recv_within(&sink, Duration::from_millis(200))
            .await
            .is_none()
    );
    sf.shutdown().await;
}

/// UpdateChain moves hop 2 to a new SF while datagrams flow: SF1 follows without restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_update_while_traffic_flows() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let h1 = hop(0, 1, free_addr("127.0.0.2"), "address");
    let h2 = hop(1, 1, free_addr("127.0.0.3"), "address");
    let h2b = hop(1, 2, free_addr("127.0.0.5"), "hash");
    net.create_chain("moving", &[h1.clone(), h2.clone()], None, src, dst, &[])
        .await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let sf1 = net
        .start_sf(&[("moving", &h1)], FunctionConfig::NameWriter, |_| {})
        .await;
    let sf2 = net
        .start_sf(&[("moving", &h2)], FunctionConfig::NameWriter, |_| {})
        .await;

    let sender = tokio::spawn(send(
        SendConfig {
            bind: src,
            to: h1.address.to_string(),
            count: 60,
            rate: 60.0,
            size: Some(40),
            payload: None,
            hashes: None,
        },
        std::future::pending(),
    ));
    let collector = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some((p, _)) = recv_within(&sink, Duration::from_secs(3)).await {
            got.push(p);
        }
        got
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The owner moves hop 2 (new instance, new address, now hash-validated).
    net.owner
        .submit(
            "UpdateChain",
            &[&Net::spec_json("moving", &[h1.clone(), h2b.clone()], None)],
            &[],
        )
        .await
        .expect("UpdateChain");
    net.share("moving", &[h1.clone(), h2b.clone()], src, dst, &[])
        .await;
    let sf2b = net
        .start_sf(&[("moving", &h2b)], FunctionConfig::NameWriter, |_| {})
        .await;
    sender.await.unwrap().unwrap();
    let got = collector.await.unwrap();
    let via = |psiid: &str| {
        got.iter()
            .filter(|p| stamps(p).iter().any(|(s, _)| s == psiid))
            .count()
    };
    assert!(via("Org2:NameWriter:1") > 0, "traffic before the update");
    assert!(via("Org2:NameWriter:2") > 10, "traffic after the update");
    // hop 2 now validates by hash: SF1 committed before forwarding, so SF2b found the hash.
    assert!(
        net.errors("moving", &h2b.psiid)
            .await
            .iter()
            .all(|e| e.kind != ErrorKind::Hash)
    );
    sf1.shutdown().await;
    sf2.shutdown().await;
    sf2b.shutdown().await;
}

/// DisableChain: the SF stops forwarding and records `config` errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_chain_stops_forwarding() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain("off", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let sf = net
        .start_sf(&[("off", &hops[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    source.send_to(b"before", hops[0].address).await.unwrap();
    assert!(recv_within(&sink, Duration::from_secs(5)).await.is_some());
    net.owner
        .submit("DisableChain", &["off"], &[])
        .await
        .expect("DisableChain");
    tokio::time::sleep(Duration::from_millis(200)).await;
    source.send_to(b"after", hops[0].address).await.unwrap();
    let e = net.wait_error("off", &hops[0].psiid, &sha(b"after")).await;
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.detail.contains("disabled"), "{}", e.detail);
    assert!(
        recv_within(&sink, Duration::from_millis(300))
            .await
            .is_none()
    );
    assert_eq!(sf.metrics.dropped_count("config"), 1);
    sf.shutdown().await;
}

/// One SF serves hop 2 of two chains: datagrams are told apart by source address; one
/// from neither previous hop is a `config` error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sf_serves_two_chains() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst_a = free_addr("127.0.0.11");
    let dst_b = free_addr("127.0.0.13");
    let shared = free_addr("127.0.0.3");
    let a = [
        hop(0, 1, free_addr("127.0.0.2"), "none"),
        hop(1, 1, shared, "address"),
    ];
    let b = [
        hop(0, 2, free_addr("127.0.0.4"), "none"),
        hop(1, 1, shared, "address"),
    ];
    net.create_chain("ca", &a, None, src, dst_a, &[]).await;
    net.create_chain("cb", &b, None, src, dst_b, &[]).await;
    let sink_a = UdpSocket::bind(dst_a).await.unwrap();
    let sink_b = UdpSocket::bind(dst_b).await.unwrap();
    let prev_a = UdpSocket::bind(a[0].address).await.unwrap();
    let prev_b = UdpSocket::bind(b[0].address).await.unwrap();
    let other = UdpSocket::bind("127.0.0.12:0").await.unwrap();
    let sf = net
        .start_sf(
            &[("ca", &a[1]), ("cb", &b[1])],
            FunctionConfig::NameWriter,
            |_| {},
        )
        .await;
    prev_a.send_to(b"for a", shared).await.unwrap();
    prev_b.send_to(b"for b", shared).await.unwrap();
    let (ga, _) = recv_within(&sink_a, Duration::from_secs(5))
        .await
        .expect("a");
    let (gb, _) = recv_within(&sink_b, Duration::from_secs(5))
        .await
        .expect("b");
    assert!(ga.starts_with(b"for a") && gb.starts_with(b"for b"));
    other.send_to(b"for nobody", shared).await.unwrap();
    let e = net.wait_error("ca", &a[1].psiid, &sha(b"for nobody")).await;
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.detail.contains("matches none"), "{}", e.detail);
    sf.shutdown().await;
}

/// Records batched with a long interval are flushed by the shutdown, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_flushed_on_shutdown() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain("flush", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let sf = net
        .start_sf(&[("flush", &hops[0])], FunctionConfig::NameWriter, |c| {
            c.records.batch_interval_ms = 60_000;
            c.records.batch_size = 1000;
        })
        .await;
    send(
        SendConfig {
            bind: src,
            to: hops[0].address.to_string(),
            count: 20,
            rate: 200.0,
            size: None,
            payload: None,
            hashes: None,
        },
        std::future::pending(),
    )
    .await
    .unwrap();
    for _ in 0..20 {
        recv_within(&sink, Duration::from_secs(5))
            .await
            .expect("arrives");
    }
    assert!(
        net.records("flush", &hops[0].psiid).await.is_empty(),
        "still batched"
    );
    let report = sf.shutdown().await;
    assert_eq!(report.records.committed, 20);
    assert_eq!(net.records("flush", &hops[0].psiid).await.len(), 20);
}

/// Jobs in a spool journal without a `done` line.
fn journal_pending(path: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut ids = std::collections::BTreeSet::new();
    let mut done = std::collections::BTreeSet::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("journal line");
        match v.get("done") {
            Some(d) => done.extend(d.as_array().unwrap().iter().map(|i| i.as_u64().unwrap())),
            None => {
                ids.insert(v["id"].as_u64().expect("a journaled job has an id"));
            }
        }
    }
    ids.difference(&done).count()
}

fn rec(seq: u64, input: &str, output: &str) -> HopRecordInput {
    HopRecordInput {
        seq,
        input_hash: sha(input.as_bytes()),
        output_hash: sha(output.as_bytes()),
        src: "127.0.0.10:5000".into(),
        next: "127.0.0.11:6000".into(),
    }
}

/// A batch with an already-used input hash is re-submitted without it, which becomes a
/// `replay` error; so is a batch that loses the MVCC race on the replay guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_conflict_in_a_batch_loses_no_valid_record() {
    let net = Net::new().await;
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "hash")];
    net.create_chain(
        "rp",
        &hops,
        None,
        free_addr("127.0.0.10"),
        free_addr("127.0.0.11"),
        &[],
    )
    .await;
    let psiid = hops[0].psiid.clone();
    let metrics = Metrics::new("t");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let config = RecordsConfig {
        batch_size: 3,
        batch_interval_ms: 50,
        spool: Some(journal.clone()),
        ..RecordsConfig::default()
    };

    // 1. already committed → 409 on endorsement
    let (r, task) = Recorder::start(net.sp_ledger(0), config.clone(), metrics.clone());
    r.record_committed("rp", &psiid, rec(0, "x", "x-out"))
        .await
        .unwrap();
    let (a, x, b) = tokio::join!(
        r.record_committed("rp", &psiid, rec(1, "a", "a-out")),
        r.record_committed("rp", &psiid, rec(2, "x", "x-out-again")),
        r.record_committed("rp", &psiid, rec(3, "b", "b-out")),
    );
    assert_eq!(a, Ok(()));
    assert_eq!(b, Ok(()));
    assert!(matches!(x, Err(RecordFailure::Replay(_))), "{x:?}");
    // The journal: the replayed record's line is done, its error record has a line of its
    // own, and once that commits nothing is pending (a crash now would re-submit nothing).
    let end = Instant::now() + Duration::from_secs(10);
    while journal_pending(&journal) != 0 {
        assert!(
            Instant::now() < end,
            "journal still pending: {}",
            std::fs::read_to_string(&journal).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.matches("\"type\":\"error\"").count(), 1, "{text}");
    drop(r);
    let report = task.await.unwrap();
    assert_eq!(
        (report.committed, report.replayed, report.errors),
        (3, 1, 1)
    );
    assert!(!journal.exists());
    let errs = net.errors("rp", &psiid).await;
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind, ErrorKind::Replay);
    assert_eq!(errs[0].input_hash, sha(b"x"));

    // 2. two batches in the same "block" with the same input: MVCC conflict, re-endorse,
    //    409, re-submit without it.
    net.ledger.set_block_interval(Duration::from_millis(100));
    let config = RecordsConfig {
        batch_size: 2,
        ..config
    };
    let (r, task) = Recorder::start(net.sp_ledger(0), config, metrics);
    let (c, y1, y2, d) = tokio::join!(
        r.record_committed("rp", &psiid, rec(4, "c", "c-out")),
        r.record_committed("rp", &psiid, rec(5, "y", "y-out")),
        r.record_committed("rp", &psiid, rec(6, "y", "y-out-2")),
        r.record_committed("rp", &psiid, rec(7, "d", "d-out")),
    );
    assert_eq!((c, d), (Ok(()), Ok(())));
    assert_eq!(
        [&y1, &y2].iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one use of y commits: {y1:?} {y2:?}"
    );
    drop(r);
    let report = task.await.unwrap();
    assert_eq!((report.committed, report.replayed), (3, 1));
    let recs = net.records("rp", &psiid).await;
    assert_eq!(recs.len(), 6);
    for h in ["a", "b", "c", "d", "x", "y"] {
        assert!(
            recs.iter().any(|r| r.input_hash == sha(h.as_bytes())),
            "{h}"
        );
    }

    // 3. the batch commits but the answer is lost: the retry's 409 names our own earlier
    //    transaction, so the batch counts as committed — no false replay error.
    net.ledger.set_block_interval(Duration::ZERO);
    net.ledger.lose_next_answers(1);
    let config = RecordsConfig {
        retry_initial_ms: 10,
        ..RecordsConfig::default()
    };
    let (r, task) = Recorder::start(net.sp_ledger(0), config, Metrics::new("t"));
    assert_eq!(
        r.record_committed("rp", &psiid, rec(8, "z", "z-out")).await,
        Ok(())
    );
    drop(r);
    let report = task.await.unwrap();
    assert_eq!((report.committed, report.replayed), (1, 0));
    assert_eq!(net.records("rp", &psiid).await.len(), 7);
    assert_eq!(
        net.errors("rp", &psiid).await.len(),
        2,
        "the two real replays only"
    );
}

/// The peer goes down: the SF keeps forwarding on what it knows, records wait and retry,
/// and all commit once the peer is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_down_and_back_loses_no_record() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "address")];
    net.create_chain("down", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let sf = net
        .start_sf(&[("down", &hops[0])], FunctionConfig::NameWriter, |c| {
            c.records.retry_initial_ms = 20;
            c.records.retry_max_ms = 100;
        })
        .await;
    // Warm the view (auth verdict, destination) while the peer is up.
    source.send_to(b"m0", hops[0].address).await.unwrap();
    recv_within(&sink, Duration::from_secs(5))
        .await
        .expect("m0");
    net.wait_records("down", &hops[0].psiid, 1).await;
    net.ledger.set_available(false);
    for i in 1..=5 {
        source
            .send_to(format!("m{i}").as_bytes(), hops[0].address)
            .await
            .unwrap();
        recv_within(&sink, Duration::from_secs(5))
            .await
            .expect("forwarded while the peer is down");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sf.metrics.records_count("committed"),
        1,
        "nothing commits while down"
    );
    net.ledger.set_available(true);
    net.wait_records("down", &hops[0].psiid, 6).await;
    let report = sf.shutdown().await;
    assert_eq!(report.records.committed, 6);
    assert_eq!(report.records.lost, 0);
}

/// Records that cannot be flushed before the drain time-out go to the spool and are
/// submitted by the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unflushed_records_survive_in_the_spool() {
    let net = Net::new().await;
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain(
        "spool",
        &hops,
        None,
        free_addr("127.0.0.10"),
        free_addr("127.0.0.11"),
        &[],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("records.jsonl");
    let config = RecordsConfig {
        drain_timeout_ms: 200,
        retry_initial_ms: 20,
        spool: Some(spool.clone()),
        ..RecordsConfig::default()
    };
    let psiid = hops[0].psiid.clone();
    net.ledger.set_available(false);
    let (r, task) = Recorder::start(net.sp_ledger(0), config.clone(), Metrics::new("t"));
    for i in 0..4 {
        r.record("spool", &psiid, rec(i, &format!("s{i}"), &format!("o{i}")))
            .await;
    }
    r.error(
        "spool",
        &psiid,
        HopErrorInput {
            kind: ErrorKind::Auth,
            detail: "test".into(),
            src: "127.0.0.10:5000".into(),
            input_hash: sha(b"e"),
        },
    )
    .await;
    drop(r);
    let report = task.await.unwrap();
    assert_eq!((report.spooled, report.lost, report.committed), (5, 0, 0));
    assert_eq!(std::fs::read_to_string(&spool).unwrap().lines().count(), 5);

    net.ledger.set_available(true);
    let (r, task) = Recorder::start(net.sp_ledger(0), config, Metrics::new("t"));
    drop(r);
    let report = task.await.unwrap();
    assert_eq!((report.committed, report.errors), (4, 1));
    assert!(!spool.exists(), "spool emptied");
    assert_eq!(net.records("spool", &psiid).await.len(), 4);
    assert_eq!(net.errors("spool", &psiid).await.len(), 1);
}

/// With a spool, queued records survive a crash: the recorder runs on a runtime that is
/// then torn down without its graceful stop (as SIGKILL would); the next start submits
/// what had not committed, and nothing that had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_records_survive_a_crash_through_the_spool_journal() {
    let net = Net::new().await;
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain(
        "crash",
        &hops,
        None,
        free_addr("127.0.0.10"),
        free_addr("127.0.0.11"),
        &[],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("records.jsonl");
    let config = RecordsConfig {
        retry_initial_ms: 20,
        spool: Some(spool.clone()),
        ..RecordsConfig::default()
    };
    let psiid = hops[0].psiid.clone();
    let ledger = net.sp_ledger(0);
    let (to_outer, committed_three) = std::sync::mpsc::channel::<()>();
    let (go_on, from_outer) = std::sync::mpsc::channel::<()>();
    let crashed = {
        let (config, psiid) = (config.clone(), psiid.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (r, _task) = Recorder::start(ledger, config, Metrics::new("t"));
                for i in 0..3 {
                    r.record_committed("crash", &psiid, rec(i, &format!("c{i}"), &format!("d{i}")))
                        .await
                        .expect("committed while the peer is up");
                }
                to_outer.send(()).unwrap();
                from_outer.recv().unwrap();
                // The peer is down now: these wait in the queue.
                for i in 3..7 {
                    r.record("crash", &psiid, rec(i, &format!("c{i}"), &format!("d{i}")))
                        .await;
                }
                r.error(
                    "crash",
                    &psiid,
                    HopErrorInput {
                        kind: ErrorKind::Auth,
                        detail: "queued at the crash".into(),
                        src: "127.0.0.10:5000".into(),
                        input_hash: sha(b"crash-e"),
                    },
                )
                .await;
                // Let the worker try (and fail) once.
                tokio::time::sleep(Duration::from_millis(50)).await;
                std::mem::forget(r);
            });
            // The crash: every task is dropped where it stands, no drain, no spool rewrite.
            rt.shutdown_background();
        })
    };
    tokio::task::spawn_blocking(move || committed_three.recv().unwrap())
        .await
        .unwrap();
    net.ledger.set_available(false);
    go_on.send(()).unwrap();
    tokio::task::spawn_blocking(move || crashed.join().unwrap())
        .await
        .unwrap();
    net.ledger.set_available(true);
    assert_eq!(net.records("crash", &psiid).await.len(), 3);
    let (r, task) = Recorder::start(net.sp_ledger(0), config, Metrics::new("t"));
    drop(r);
    let report = task.await.unwrap();
    assert_eq!(
        (report.committed, report.errors, report.lost),
        (4, 1, 0),
        "the next start submits the queued records and only those"
    );
    let mut seqs: Vec<u64> = net
        .records("crash", &psiid)
        .await
        .iter()
        .map(|r| r.seq)
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..7).collect::<Vec<_>>(), "every record once");
    assert_eq!(net.errors("crash", &psiid).await.len(), 1);
    assert!(!spool.exists(), "nothing left to spool after a clean stop");
}

/// `/metrics` and `/healthz` over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain("mx", &hops, None, src, dst, &[]).await;
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let sf = net
        .start_sf(&[("mx", &hops[0])], FunctionConfig::NameWriter, |c| {
            c.metrics = Some("127.0.0.1:0".parse().unwrap());
        })
        .await;
    source.send_to(b"count me", hops[0].address).await.unwrap();
    recv_within(&sink, Duration::from_secs(5)).await.unwrap();
    let get = |path: &'static str| {
        let addr = sf.metrics_addr.unwrap();
        async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    let health = get("/healthz").await;
    assert!(health.starts_with("HTTP/1.0 200"), "{health}");
    let start = Instant::now();
    let metrics = loop {
        let m = get("/metrics").await;
        if m.contains("sfcbc_sf_records_total{outcome=\"committed\"} 1")
            || start.elapsed() > Duration::from_secs(5)
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for needle in [
        "sfcbc_sf_received_total 1",
        "sfcbc_sf_forwarded_total 1",
        "sfcbc_sf_validation_seconds_bucket",
        "sfcbc_sf_ledger_seconds_bucket{",
        "sfcbc_sf_record_queue_depth",
        "sfcbc_sf_records_total{outcome=\"committed\"} 1",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
    let _ = Arc::clone(&sf.metrics);
    sf.shutdown().await;
}

/// Shutdown while the peer is down and a datagram waits for its record to commit (the next
/// hop validates by hash): the drain time-out answers it, it is not forwarded, its record
/// goes to the spool, and the next start commits it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_the_peer_down_spools_and_does_not_hang() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let h1 = hop(0, 1, free_addr("127.0.0.2"), "none");
    let h2 = hop(1, 1, free_addr("127.0.0.3"), "hash");
    net.create_chain("hang", &[h1.clone(), h2.clone()], None, src, dst, &[])
        .await;
    let next = UdpSocket::bind(h2.address).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("sf1.jsonl");
    let tweak = |c: &mut sfcbc_client::sf::SfConfig| {
        c.records.drain_timeout_ms = 300;
        c.records.retry_initial_ms = 20;
        c.records.spool = Some(spool.clone());
    };
    let sf = net
        .start_sf(&[("hang", &h1)], FunctionConfig::NameWriter, tweak)
        .await;
    source.send_to(b"m0", h1.address).await.unwrap();
    recv_within(&next, Duration::from_secs(5))
        .await
        .expect("m0 forwarded after its commit");
    net.ledger.set_available(false);
    source.send_to(b"m1", h1.address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let m = sf.metrics.clone();
    let report = tokio::time::timeout(Duration::from_secs(5), sf.shutdown())
        .await
        .expect("shutdown does not hang");
    assert_eq!(report.records.spooled, 1);
    assert_eq!(report.forwarded, 1);
    assert_eq!(m.dropped_count("unrecorded"), 1);
    assert!(
        recv_within(&next, Duration::from_millis(100))
            .await
            .is_none()
    );

    net.ledger.set_available(true);
    let sf = net
        .start_sf(&[("hang", &h1)], FunctionConfig::NameWriter, tweak)
        .await;
    net.wait_records("hang", &h1.psiid, 2).await;
    sf.shutdown().await;
    assert!(!spool.exists());
}

/// `proxy`: the datagram goes through a local UDP network function; one that does not
/// answer in time means a drop, recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_function_round_trips_through_a_local_network_function() {
    let net = Net::new().await;
    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain("px", &hops, None, src, dst, &[]).await;
    let nf = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = nf.local_addr().unwrap();
    // The network function upper-cases, and ignores datagrams starting with "ignore".
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = nf.recv_from(&mut buf).await {
            if buf[..n].starts_with(b"ignore") {
                continue;
            }
            let _ = nf.send_to(&buf[..n].to_ascii_uppercase(), from).await;
        }
    });
    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    let sf = net
        .start_sf(
            &[("px", &hops[0])],
            FunctionConfig::Proxy {
                target,
                timeout_ms: 200,
            },
            |_| {},
        )
        .await;
    source
        .send_to(b"shout this", hops[0].address)
        .await
        .unwrap();
    let (got, _) = recv_within(&sink, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got, b"SHOUT THIS");
    let recs = net.wait_records("px", &hops[0].psiid, 1).await;
    assert_eq!(recs[0].output_hash, sha(b"SHOUT THIS"));
    source.send_to(b"ignore me", hops[0].address).await.unwrap();
    let e = net
        .wait_error("px", &hops[0].psiid, &sha(b"ignore me"))
        .await;
    assert!(e.detail.contains("no reply"), "{}", e.detail);
    assert_eq!(sf.metrics.dropped_count("function"), 1);
    let report = sf.shutdown().await;
    assert_eq!(
        report.dropped,
        std::collections::BTreeMap::from([("function".to_owned(), 1)]),
        "the stop report lists drops by reason"
    );
}

/// The record queue is bounded: with the peer down and the queue full, queuing waits
/// (back-pressure) instead of growing or dropping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_record_queue_applies_backpressure() {
    let net = Net::new().await;
    let hops = [hop(0, 1, free_addr("127.0.0.2"), "none")];
    net.create_chain(
        "bp",
        &hops,
        None,
        free_addr("127.0.0.10"),
        free_addr("127.0.0.11"),
        &[],
    )
    .await;
    net.ledger.set_available(false);
    let config = RecordsConfig {
        batch_size: 1,
        queue_capacity: 2,
        max_in_flight: 1,
        retry_initial_ms: 20,
        drain_timeout_ms: 5_000,
        ..RecordsConfig::default()
    };
    let metrics = Metrics::new("t");
    let (r, task) = Recorder::start(net.sp_ledger(0), config, metrics.clone());
    let psiid = hops[0].psiid.clone();
    let mut queued = 0;
    for i in 0..10 {
        let f = r.record("bp", &psiid, rec(i, &format!("i{i}"), &format!("o{i}")));
        if tokio::time::timeout(Duration::from_millis(200), f)
            .await
            .is_err()
        {
            break;
        }
        queued += 1;
    }
    assert!(queued < 10, "queuing never blocked");
    assert_eq!(metrics.queue_depth.get(), queued as i64);
    net.ledger.set_available(true);
    drop(r);
    let report = task.await.unwrap();
    assert_eq!(report.committed, queued as u64);
    assert_eq!(report.lost, 0);
}
