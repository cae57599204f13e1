//! Fabric's range-query results helper (`rwsetutil.RangeQueryResultsHelper`): up to
//! `max_degree` results are kept as raw `KVRead`s; beyond that they are folded into a merkle
//! tree whose top level goes into the read set (`QueryReadsMerkleSummary`). A validator
//! re-running the query feeds its results through the same helper and compares.

use std::collections::BTreeMap;

use prost::Message;
use sfcbc_fabric::protos::kvrwset::{KvRead, QueryReads, QueryReadsMerkleSummary};
use sha2::{Digest, Sha256};

/// Fabric's `maxDegreeQueryReadsHashing`.
pub const DEFAULT_MAX_DEGREE: u32 = 50;

/// What a range query leaves in the read set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeReads {
    /// No result was read (Fabric leaves `reads_info` unset).
    None,
    Raw(Vec<KvRead>),
    Merkle(QueryReadsMerkleSummary),
}

/// Accumulates a range query's results in the order they were read.
#[derive(Debug, Clone)]
pub struct RangeQueryResultsHelper {
    pending: Vec<KvRead>,
    /// `None` when hashing is disabled (raw reads only).
    tree: Option<MerkleTree>,
}

impl RangeQueryResultsHelper {
    /// `max_degree` `None` disables hashing; `Some(d)` needs `d >= 2`, as Fabric's does.
    pub fn new(max_degree: Option<u32>) -> Result<Self, String> {
        let tree = match max_degree {
            None => None,
            Some(d) if d < 2 => {
                return Err(format!(
                    "maxDegree [{d}] should not be less than 2 in the merkle tree"
                ));
            }
            Some(d) => Some(MerkleTree::new(d)),
        };
        Ok(Self {
            pending: Vec::new(),
            tree,
        })
    }

    /// Adds the next result.
    pub fn add(&mut self, read: KvRead) {
        self.pending.push(read);
        if let Some(tree) = &mut self.tree
            && self.pending.len() as u64 > u64::from(tree.max_degree)
        {
            let leaf = hash_reads(std::mem::take(&mut self.pending));
            tree.update(leaf);
        }
    }

    /// Everything read so far, as the read set records it (Fabric's `Done`). Does not consume
    /// the helper: the tree is finished on a copy.
    pub fn done(&self) -> RangeReads {
        match &self.tree {
            Some(tree) if !tree.is_empty() => {
                let mut tree = tree.clone();
                if !self.pending.is_empty() {
                    tree.update(hash_reads(self.pending.clone()));
                }
                tree.done();
                RangeReads::Merkle(tree.summary())
            }
            _ if self.pending.is_empty() => RangeReads::None,
            _ => RangeReads::Raw(self.pending.clone()),
        }
    }
}

fn hash_reads(kv_reads: Vec<KvRead>) -> Vec<u8> {
    Sha256::digest(QueryReads { kv_reads }.encode_to_vec()).to_vec()
}

fn combined(hashes: &[Vec<u8>]) -> Vec<u8> {
    let mut h = Sha256::new();
    for x in hashes {
        h.update(x);
    }
    h.finalize().to_vec()
}

#[derive(Debug, Clone)]
struct MerkleTree {
    tree: BTreeMap<u32, Vec<Vec<u8>>>,
    max_level: u32,
    max_degree: u32,
}

impl MerkleTree {
    fn new(max_degree: u32) -> Self {
        Self {
            tree: BTreeMap::new(),
            max_level: 1,
            max_degree,
        }
    }

    fn update(&mut self, leaf: Vec<u8>) {
        self.tree.entry(1).or_default().push(leaf);
        let mut level = 1;
        loop {
            let hashes = self.tree.get(&level).map_or(0, Vec::len);
            if hashes as u64 <= u64::from(self.max_degree) {
                return;
            }
            let h = combined(&self.tree.remove(&level).unwrap_or_default());
            let next = level + 1;
            self.tree.entry(next).or_default().push(h);
            self.max_level = self.max_level.max(next);
            level = next;
        }
    }

    fn done(&mut self) {
        let mut level = 1;
        while level < self.max_level {
            let hashes = self.tree.remove(&level).unwrap_or_default();
            let h = match hashes.len() {
                0 => {
                    level += 1;
                    continue;
                }
                1 => hashes[0].clone(),
                _ => combined(&hashes),
            };
            level += 1;
            self.tree.entry(level).or_default().push(h);
        }
        let finals = self.tree.get(&self.max_level).cloned().unwrap_or_default();
        if finals.len() as u64 > u64::from(self.max_degree) {
            self.tree.remove(&self.max_level);
            self.max_level += 1;
            self.tree.insert(self.max_level, vec![combined(&finals)]);
        }
    }

    fn is_empty(&self) -> bool {
        self.max_level == 1 && self.tree.get(&1).is_none_or(Vec::is_empty)
    }

    fn summary(&self) -> QueryReadsMerkleSummary {
        QueryReadsMerkleSummary {
            max_degree: self.max_degree,
            max_level: self.max_level,
            max_level_hashes: self.tree.get(&self.max_level).cloned().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfcbc_fabric::protos::kvrwset::Version;

    fn read(i: u64) -> KvRead {
        KvRead {
            key: format!("k{i:04}"),
            version: Some(Version {
                block_num: 1,
                tx_num: i,
            }),
        }
    }

    #[test]
    fn raw_up_to_max_degree() {
        let mut h = RangeQueryResultsHelper::new(Some(3)).unwrap();
        assert_eq!(h.done(), RangeReads::None);
        for i in 0..3 {
            h.add(read(i));
        }
        assert_eq!(h.done(), RangeReads::Raw((0..3).map(read).collect()));
    }

    #[test]
    fn merkle_beyond_max_degree() {
        // Fabric's query_results_helper_test "TestQueryResultHelper_Hash_OneLevel": maxDegree
        // 2, 6 results → level 1 = [h(r0..r2), h(r3..r5)] (pending > 2 at 3 results).
        let mut h = RangeQueryResultsHelper::new(Some(2)).unwrap();
        for i in 0..6 {
            h.add(read(i));
        }
        let l1a = hash_reads((0..3).map(read).collect());
        let l1b = hash_reads((3..6).map(read).collect());
        assert_eq!(
            h.done(),
            RangeReads::Merkle(QueryReadsMerkleSummary {
                max_degree: 2,
                max_level: 1,
                max_level_hashes: vec![l1a.clone(), l1b.clone()],
            })
        );
        // Three leaves exceed degree 2: they fold into level 2.
        for i in 6..9 {
            h.add(read(i));
        }
        let l1c = hash_reads((6..9).map(read).collect());
        let RangeReads::Merkle(s) = h.done() else {
            panic!("merkle")
        };
        assert_eq!(s.max_level, 2);
        assert_eq!(s.max_level_hashes, vec![combined(&[l1a, l1b, l1c])]);
    }

    #[test]
    fn hashing_disabled_keeps_everything_raw() {
        let mut h = RangeQueryResultsHelper::new(None).unwrap();
        for i in 0..200 {
            h.add(read(i));
        }
        assert!(matches!(h.done(), RangeReads::Raw(r) if r.len() == 200));
        assert!(RangeQueryResultsHelper::new(Some(1)).is_err());
    }
}
