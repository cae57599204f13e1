//! The ordering task with real (short) timers. No assertion is about speed: timeouts only
//! keep a broken test from hanging.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sfcbc_fabric::protos::common::{Block, Envelope, Status};
use sha2::{Digest, Sha256};

use super::*;
use crate::block::{
    BlockSigner, block_hash, genesis_metadata, last_config_index, new_block, verify_block_hashes,
    verify_block_signature,
};
use crate::ledger::Ledger;

/// Signs with SHA-256 of the message: enough to check what was signed.
struct FakeSigner;

impl BlockSigner for FakeSigner {
    fn creator(&self) -> Vec<u8> {
        b"OrdererMSP orderer".to_vec()
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        Sha256::digest(msg).to_vec()
    }
}

/// Long enough never to fire in a test that relies on another rule.
const NEVER: Duration = Duration::from_secs(3600);
/// Upper bound for waiting on a block, so a bug fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);

fn config(count: u32, preferred: u32, timeout: Duration) -> OrdererConfig {
    OrdererConfig {
        channel: "mychannel".into(),
        batch_size: BatchSize {
            max_message_count: count,
            absolute_max_bytes: 10_000,
            preferred_max_bytes: preferred,
        },
        batch_timeout: timeout,
        queue_capacity: 100,
    }
}

fn env(tag: u8, size: usize) -> Envelope {
    let mut payload = vec![tag; size.max(1)];
    payload[0] = tag;
    Envelope {
        payload,
        signature: Vec::new(),
    }
}

/// An archive holding a genesis block, as a channel starts.
fn archive_with_genesis() -> Arc<BlockArchive> {
    let archive = BlockArchive::in_memory();
    let mut genesis = new_block(0, Vec::new(), vec![b"config".to_vec()]);
    genesis_metadata(&mut genesis);
    archive.append(genesis).unwrap();
    archive
}

async fn next_block(sub: &mut Subscription) -> Arc<Block> {
    tokio::time::timeout(PATIENCE, sub.next())
        .await
        .expect("a block within the patience bound")
        .expect("subscription open")
        .expect("block readable")
}

fn payload_tags(block: &Block) -> Vec<u8> {
    block
        .data
        .as_ref()
        .unwrap()
        .data
        .iter()
        .map(|d| Envelope::decode(d.as_slice()).unwrap().payload[0])
        .collect()
}

fn number(block: &Block) -> u64 {
    block.header.as_ref().unwrap().number
}

fn check_signed(block: &Block) {
    verify_block_signature(block, |creator, msg, sig| {
        creator == b"OrdererMSP orderer" && Sha256::digest(msg)[..] == *sig
    })
    .unwrap();
}

#[tokio::test]
async fn batch_timeout_cuts_a_partial_batch() {
    let orderer = Orderer::start(
        config(100, 10_000, Duration::from_millis(50)),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(1);
    for tag in 1..=3 {
        h.broadcast(env(tag, 10)).await.unwrap();
    }
    let b1 = next_block(&mut sub).await;
    assert_eq!(number(&b1), 1);
    assert_eq!(payload_tags(&b1), [1, 2, 3]);
    let genesis = h.archive().get(0).unwrap().unwrap();
    verify_block_hashes(&b1, Some(&block_hash(&genesis))).unwrap();
    check_signed(&b1);

    // The timer starts again with the next batch's first envelope.
    h.broadcast(env(4, 10)).await.unwrap();
    let b2 = next_block(&mut sub).await;
    assert_eq!((number(&b2), payload_tags(&b2)), (2, vec![4]));
    verify_block_hashes(&b2, Some(&block_hash(&b1))).unwrap();
    orderer.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_batch_is_never_cut_before_its_timeout() {
    let timeout = Duration::from_millis(40);
    let orderer = Orderer::start(
        config(100, 10_000, timeout),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(1);
    for tag in 1..=3 {
        // The timer starts when the orderer takes the envelope, after `sent`.
        let sent = tokio::time::Instant::now();
        h.broadcast(env(tag, 10)).await.unwrap();
        let b = next_block(&mut sub).await;
        assert!(
            sent.elapsed() >= timeout,
            "block cut {:?} after its first envelope",
            sent.elapsed()
        );
        assert_eq!(payload_tags(&b), [tag]);
    }
    orderer.shutdown().await.unwrap();
}

#[tokio::test]
async fn later_envelopes_do_not_postpone_the_batch_timeout() {
    // One envelope every 10 ms for 400 ms against a 100 ms BatchTimeout: the timer runs
    // from each batch's first envelope, so blocks are cut while the stream goes on.
    let orderer = Orderer::start(
        config(1_000, 1_000_000, Duration::from_millis(100)),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(1);
    for tag in 1..=40 {
        h.broadcast(env(tag, 10)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let height_during_stream = h.height();
    assert!(
        height_during_stream >= 2,
        "no block was cut while envelopes kept coming (height {height_during_stream})"
    );
    // Every envelope is in exactly one block, in order.
    let mut tags = Vec::new();
    while tags.len() < 40 {
        let b = next_block(&mut sub).await;
        tags.extend(payload_tags(&b));
    }
    assert_eq!(tags, (1..=40).collect::<Vec<u8>>());
    orderer.shutdown().await.unwrap();
}

#[tokio::test]
async fn precise_sleep_never_returns_before_its_deadline() {
    use tokio::time::Instant;
    for after in [0, 1, 2, 3, 7] {
        let deadline = Instant::now() + Duration::from_millis(after);
        service::sleep_until_precisely(deadline).await;
        assert!(
            Instant::now() >= deadline,
            "woke before a deadline {after} ms away"
        );
    }
    // A deadline already past returns at once (no underflow before the runtime's start).
    let past = Instant::now()
        .checked_sub(Duration::from_secs(1))
        .unwrap_or_else(Instant::now);
    tokio::time::timeout(PATIENCE, service::sleep_until_precisely(past))
        .await
        .expect("a past deadline returns");
}

#[tokio::test]
async fn max_message_count_cuts_without_waiting_for_the_timer() {
    let orderer = Orderer::start(
        config(2, 10_000, NEVER),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(1);
    for tag in 1..=4 {
        h.broadcast(env(tag, 10)).await.unwrap();
    }
    let b1 = next_block(&mut sub).await;
    let b2 = next_block(&mut sub).await;
    assert_eq!(payload_tags(&b1), [1, 2]);
    assert_eq!(payload_tags(&b2), [3, 4]);
    orderer.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_envelopes_go_alone_and_too_large_ones_are_refused() {
    let orderer = Orderer::start(
        config(10, 100, NEVER),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(1);
    h.broadcast(env(1, 30)).await.unwrap();
    h.broadcast(env(2, 500)).await.unwrap();
    assert_eq!(payload_tags(&*next_block(&mut sub).await), [1]);
    assert_eq!(payload_tags(&*next_block(&mut sub).await), [2]);

    let err = h.broadcast(env(3, 10_001)).await.unwrap_err();
    assert_eq!(err.status(), Status::BadRequest);
    assert_eq!(
        err.to_string(),
        "message payload is 10001 bytes and exceeds maximum allowed 10000 bytes"
    );
    let empty = Envelope {
        payload: Vec::new(),
        signature: b"sig".to_vec(),
    };
    let err = h.broadcast(empty).await.unwrap_err();
    assert_eq!(
        (err.status(), err.to_string()),
        (Status::BadRequest, "Message was empty".into())
    );
    // Overflowing PreferredMaxBytes cuts the pending batch first.
    h.broadcast(env(4, 60)).await.unwrap();
    h.broadcast(env(5, 60)).await.unwrap();
    assert_eq!(payload_tags(&*next_block(&mut sub).await), [4]);
    orderer.shutdown().await.unwrap();
    // Shutdown flushed the pending [5].
    assert_eq!(payload_tags(&*next_block(&mut sub).await), [5]);
    assert!(sub.next().await.is_none());
}

#[tokio::test]
async fn shutdown_flushes_accepted_envelopes_and_ends_subscriptions() {
    let orderer = Orderer::start(
        config(100, 10_000, NEVER),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut early = h.subscribe(0);
    h.broadcast(env(1, 10)).await.unwrap();
    h.broadcast(env(2, 10)).await.unwrap();
    orderer.shutdown().await.unwrap();

    assert_eq!(number(&*next_block(&mut early).await), 0);
    assert_eq!(payload_tags(&*next_block(&mut early).await), [1, 2]);
    assert!(early.next().await.is_none());
    // A subscriber that comes late still reads the whole chain, then the end.
    let mut late = h.subscribe(0);
    assert_eq!(number(&*next_block(&mut late).await), 0);
    assert_eq!(number(&*next_block(&mut late).await), 1);
    assert!(late.next().await.is_none());

    let err = h.broadcast(env(3, 10)).await.unwrap_err();
    assert_eq!(err.status(), Status::ServiceUnavailable);
    assert_eq!(h.height(), 2);
}

#[tokio::test]
async fn dropping_the_orderer_stops_it_gracefully() {
    let orderer = Orderer::start(
        config(100, 10_000, NEVER),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(1);
    h.broadcast(env(1, 10)).await.unwrap();
    drop(orderer);
    assert_eq!(payload_tags(&*next_block(&mut sub).await), [1]);
    assert!(sub.next().await.is_none());
}

#[tokio::test]
async fn config_envelopes_are_alone_and_become_last_config() {
    let orderer = Orderer::start(
        config(100, 10_000, NEVER),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(1);
    h.broadcast(env(1, 10)).await.unwrap();
    h.broadcast_config(env(2, 10)).await.unwrap();
    h.broadcast(env(3, 10)).await.unwrap();
    orderer.shutdown().await.unwrap();
    let b1 = next_block(&mut sub).await;
    let b2 = next_block(&mut sub).await;
    let b3 = next_block(&mut sub).await;
    assert_eq!(
        [payload_tags(&b1), payload_tags(&b2), payload_tags(&b3)],
        [vec![1], vec![2], vec![3]]
    );
    assert_eq!(last_config_index(&b1).unwrap(), 0);
    assert_eq!(last_config_index(&b2).unwrap(), 2);
    assert_eq!(last_config_index(&b3).unwrap(), 2);
    for b in [&b1, &b2, &b3] {
        check_signed(b);
    }
}

#[tokio::test]
async fn many_subscribers_each_see_every_block_in_order() {
    let orderer = Orderer::start(
        config(3, 10_000, Duration::from_millis(20)),
        Arc::new(FakeSigner),
        archive_with_genesis(),
    )
    .unwrap();
    let h = orderer.handle();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let mut sub = h.subscribe(0);
            tokio::spawn(async move {
                let mut tags = Vec::new();
                let mut prev: Option<Vec<u8>> = None;
                while let Some(block) = sub.next().await {
                    let block = block.unwrap();
                    verify_block_hashes(&block, prev.as_deref()).unwrap();
                    prev = Some(block_hash(&block).to_vec());
                    if number(&block) > 0 {
                        tags.extend(payload_tags(&block));
                    }
                }
                tags
            })
        })
        .collect();
    let senders: Vec<_> = (0..4u8)
        .map(|s| {
            let h = h.clone();
            tokio::spawn(async move {
                for i in 0..10u8 {
                    h.broadcast(env(s * 10 + i, 10)).await.unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    orderer.shutdown().await.unwrap();
    let mut all = Vec::new();
    for r in readers {
        let mut tags = tokio::time::timeout(PATIENCE, r).await.unwrap().unwrap();
        all.push(tags.clone());
        tags.sort_unstable();
        assert_eq!(tags, (0..40).collect::<Vec<u8>>());
    }
    // Every subscriber saw the same order.
    assert!(all.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn a_restarted_orderer_continues_the_chain_in_its_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let ledger = Arc::new(Ledger::open(dir.path(), "orderer-mychannel").unwrap());
        (ledger.clone(), BlockArchive::on_ledger(ledger).unwrap())
    };
    {
        let (_ledger, archive) = open();
        let mut genesis = new_block(0, Vec::new(), vec![b"config".to_vec()]);
        genesis_metadata(&mut genesis);
        archive.append(genesis).unwrap();
        let orderer =
            Orderer::start(config(2, 10_000, NEVER), Arc::new(FakeSigner), archive).unwrap();
        let h = orderer.handle();
        for tag in 1..=3 {
            h.broadcast(env(tag, 10)).await.unwrap();
        }
        orderer.shutdown().await.unwrap();
        assert_eq!(h.height(), 3); // genesis, [1 2], [3]
    }
    let (ledger, archive) = open();
    assert_eq!(archive.height(), 3);
    let orderer = Orderer::start(config(2, 10_000, NEVER), Arc::new(FakeSigner), archive).unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(2);
    h.broadcast(env(4, 10)).await.unwrap();
    h.broadcast(env(5, 10)).await.unwrap();
    let b2 = next_block(&mut sub).await;
    let b3 = next_block(&mut sub).await;
    assert_eq!((number(&b2), payload_tags(&b2)), (2, vec![3]));
    assert_eq!((number(&b3), payload_tags(&b3)), (3, vec![4, 5]));
    verify_block_hashes(&b3, Some(&block_hash(&b2))).unwrap();
    check_signed(&b3);
    orderer.shutdown().await.unwrap();
    assert_eq!(ledger.snapshot().unwrap().verify_chain().unwrap(), 4);
}
