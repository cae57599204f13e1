//! Rough commit throughput of the ledger store: blocks of blind-write transactions (one
//! unique key each, as SFC records are), committed durably one block per redb transaction.
//! Prints numbers; asserts nothing. `cargo run -p sfcbc-devnet --example ledger_commit_rate`.

use std::time::Instant;

use sfcbc_devnet::block::{data_hash, header_hash};
use sfcbc_devnet::ledger::{BlockCommit, KvWrite, Ledger, TX_VALID, Timestamp, TxCommit};

fn main() {
    let dir = std::env::temp_dir().join(format!("sfcbc-ledger-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ledger = Ledger::open(&dir, "bench").expect("open ledger");
    for txs_per_block in [10u64, 100, 500] {
        let blocks = 4000 / txs_per_block;
        let start_height = ledger.height().expect("height");
        let mut prev = ledger
            .snapshot()
            .and_then(|s| s.chain_info())
            .expect("chain info")
            .current_block_hash;
        let t0 = Instant::now();
        for n in start_height..start_height + blocks {
            let txs: Vec<TxCommit> = (0..txs_per_block)
                .map(|i| TxCommit {
                    tx_id: format!("{n:08}-{i:04}-0123456789abcdef0123456789abcdef"),
                    validation_code: TX_VALID,
                    timestamp: Timestamp::default(),
                    writes: vec![KvWrite::put(
                        "sfc",
                        &format!("\0rec\0chain1\0Org1:F:1\0{n}-{i}\00\0"),
                        vec![b'x'; 200],
                    )],
                    ..Default::default()
                })
                .collect();
            // Stand-in block bytes of a realistic size (~3 KB per endorsed tx).
            let bytes = vec![0u8; 3000 * txs_per_block as usize];
            let data_hash = data_hash(&[&bytes]).to_vec();
            let block = BlockCommit {
                number: n,
                previous_hash: prev.clone(),
                data_hash: data_hash.clone(),
                block_bytes: bytes,
                txs,
            };
            prev = ledger.commit_block(&block).expect("commit").to_vec();
            debug_assert_eq!(prev, header_hash(n, &block.previous_hash, &data_hash));
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{txs_per_block:>4} tx/block: {blocks} blocks in {secs:.2} s = {:.0} tx/s, {:.1} ms/block",
            (blocks * txs_per_block) as f64 / secs,
            secs * 1000.0 / blocks as f64
        );
    }
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
}
