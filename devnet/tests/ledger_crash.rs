//! kill -9 during commits: every block reported committed survives, the chain verifies, and
//! state is exactly that of the committed blocks (no half block).
//!
//! The test binary re-invokes itself: `crash_child` commits blocks forever and prints
//! "committed N" after each `commit_block` returns; the parent kills it with SIGKILL at a
//! random moment, reopens the ledger and checks it, several rounds on the same file.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;
use sfcbc_devnet::block::{data_hash, header_hash};
use sfcbc_devnet::ledger::{BlockCommit, KvWrite, Ledger, TX_VALID, Timestamp, TxCommit};

/// Set in the child's environment to the ledger directory; unset, `crash_child` is a no-op.
const CHILD_ENV: &str = "SFCBC_DEVNET_CRASH_DIR";
const CHANNEL: &str = "crash";
const TXS_PER_BLOCK: u64 = 20;

fn block(number: u64, previous_hash: Vec<u8>) -> BlockCommit {
    let txs: Vec<TxCommit> = (0..TXS_PER_BLOCK)
        .map(|i| TxCommit {
            tx_id: format!("tx-{number}-{i}"),
            validation_code: TX_VALID,
            timestamp: Timestamp {
                seconds: number as i64,
                nanos: i as i32,
            },
            writes: vec![
                KvWrite::put("cc", "counter", number.to_string()),
                // Enough bytes per block that a kill often lands inside a commit.
                KvWrite::put("cc", &format!("k{number}-{i}"), vec![number as u8; 2048]),
            ],
            ..Default::default()
        })
        .collect();
    let data: Vec<Vec<u8>> = txs.iter().map(|t| t.tx_id.clone().into_bytes()).collect();
    BlockCommit {
        number,
        previous_hash,
        data_hash: data_hash(&data).to_vec(),
        block_bytes: format!("block {number}").into_bytes(),
        txs,
    }
}

#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let ledger = Ledger::open(dir.as_ref(), CHANNEL).expect("child opens the ledger");
    let info = ledger.snapshot().unwrap().chain_info().unwrap();
    let (mut next, mut prev) = (info.height, info.current_block_hash);
    let mut out = std::io::stdout();
    loop {
        let b = block(next, prev);
        let hash = ledger.commit_block(&b).expect("commit");
        writeln!(out, "committed {next}").unwrap();
        out.flush().unwrap();
        prev = hash.to_vec();
        next += 1;
    }
}

#[test]
fn kill_9_during_commits_loses_no_reported_block() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::thread_rng();
    let mut last_reported: Option<u64> = None;
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("committed ") {
                    if last.is_none() {
                        let _ = first_tx.send(());
                    }
                    last = Some(n.trim().parse::<u64>().unwrap());
                }
            }
            last
        });
        // Even rounds kill at a random moment from spawn (possibly during the child's
        // start-up and recovery); odd rounds wait for the first commit, so commits are
        // always interrupted in some rounds however slow the machine is.
        if round % 2 == 1 {
            let _ = first_rx.recv_timeout(Duration::from_secs(60));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..300)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if let Some(n) = reader.join().unwrap() {
            last_reported = Some(n);
        }

        let ledger = Ledger::open(dir.path(), CHANNEL).unwrap();
        let s = ledger.snapshot().unwrap();
        let height = s.height().unwrap();
        if let Some(n) = last_reported {
            assert!(
                height > n,
                "round {round}: block {n} was reported committed, height is {height}"
            );
        }
        eprintln!("round {round}: last reported {last_reported:?}, height after restart {height}");
        assert_eq!(s.verify_chain().unwrap(), height, "round {round}");
        if height == 0 {
            continue;
        }
        // State is exactly the committed blocks': the last block's counter, every tx of
        // every block, nothing of a later block.
        let top = height - 1;
        assert_eq!(
            s.state("cc", "counter").unwrap().unwrap().value,
            top.to_string().as_bytes()
        );
        assert_eq!(
            s.history("cc", "counter").unwrap().len() as u64,
            height * TXS_PER_BLOCK
        );
        for i in 0..TXS_PER_BLOCK {
            let loc = s.tx_location(&format!("tx-{top}-{i}")).unwrap().unwrap();
            assert_eq!((loc.block_num, loc.tx_num), (top, i));
            assert!(s.state("cc", &format!("k{top}-{i}")).unwrap().is_some());
            // Nothing of the block that was being written when the kill came.
            assert!(
                s.tx_location(&format!("tx-{height}-{i}"))
                    .unwrap()
                    .is_none()
            );
            assert!(s.state("cc", &format!("k{height}-{i}")).unwrap().is_none());
        }
        let info = s.chain_info().unwrap();
        let hdr = s.header(top).unwrap().unwrap();
        assert_eq!(
            info.current_block_hash,
            header_hash(top, &hdr.previous_hash, &hdr.data_hash).to_vec()
        );
        drop(s);
        drop(ledger);
    }
    assert!(
        last_reported.is_some(),
        "the child never committed a block in six rounds"
    );
}
