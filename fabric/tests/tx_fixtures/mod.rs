//! The transaction fixtures shared by tx.rs and identity_cache.rs: files under
//! tests/fixtures/tx and the named byte vectors of vectors.txt.

use std::collections::HashMap;
use std::path::PathBuf;

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tx")
            .join(name),
    )
    .unwrap()
}

pub fn vectors() -> HashMap<String, Vec<u8>> {
    String::from_utf8(fixture("vectors.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), hex::decode(v).unwrap())
        })
        .collect()
}
