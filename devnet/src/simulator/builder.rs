//! The read-write set builder, as Fabric's `rwsetutil.RWSetBuilder`: per namespace maps keyed
//! by key (sorted on output, byte order like Go's sorted string keys), range queries in the
//! order they were first recorded, collection hashed sets per collection, and the private
//! sets whose SHA-256 goes into the public set's `pvt_rwset_hash`.

use std::collections::BTreeMap;

use prost::Message;
use sfcbc_fabric::protos::kvrwset::{
    HashedRwSet, KvMetadataEntry, KvMetadataWrite, KvMetadataWriteHash, KvRead, KvReadHash,
    KvWrite, KvWriteHash, KvrwSet, RangeQueryInfo, Version,
};
use sfcbc_fabric::protos::rwset::{
    CollectionHashedReadWriteSet, CollectionPvtReadWriteSet, NsPvtReadWriteSet, NsReadWriteSet,
    TxPvtReadWriteSet, TxReadWriteSet, tx_read_write_set::DataModel,
};
use sha2::{Digest, Sha256};

use crate::ledger::Height;

pub(crate) fn proto_version(v: Option<Height>) -> Option<Version> {
    v.map(|h| Version {
        block_num: h.block_num,
        tx_num: h.tx_num,
    })
}

fn sha256(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

/// Fabric's `newKVWrite`: an empty value is a delete.
fn kv_write(key: &str, value: &[u8]) -> KvWrite {
    KvWrite {
        key: key.to_owned(),
        is_delete: value.is_empty(),
        value: value.to_vec(),
    }
}

fn metadata_entries(m: &BTreeMap<String, Vec<u8>>) -> Vec<KvMetadataEntry> {
    m.iter()
        .map(|(name, value)| KvMetadataEntry {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

#[derive(Default, Debug)]
struct NsPub {
    reads: BTreeMap<String, KvRead>,
    writes: BTreeMap<String, KvWrite>,
    metadata_writes: BTreeMap<String, KvMetadataWrite>,
    /// Deduplicated by (start, end, exhausted), first occurrence order.
    ranges: Vec<RangeQueryInfo>,
    colls: BTreeMap<String, CollHashed>,
}

#[derive(Default, Debug)]
struct CollHashed {
    reads: BTreeMap<String, KvReadHash>,
    writes: BTreeMap<String, KvWriteHash>,
    metadata_writes: BTreeMap<String, KvMetadataWriteHash>,
}

#[derive(Default, Debug)]
struct CollPvt {
    writes: BTreeMap<String, KvWrite>,
    metadata_writes: BTreeMap<String, KvMetadataWrite>,
}

/// Collects reads and writes during a simulation.
#[derive(Default, Debug)]
pub struct RwSetBuilder {
    public: BTreeMap<String, NsPub>,
    private: BTreeMap<String, BTreeMap<String, CollPvt>>,
}

/// A simulation's results: the public rwset (with private write hashes) and the private one.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationResults {
    pub public: TxReadWriteSet,
    /// `None` when the transaction wrote no private data (Fabric's nil `PvtSimulationResults`).
    pub private: Option<TxPvtReadWriteSet>,
}

impl SimulationResults {
    /// The serialized public rwset, as it goes into `ChaincodeAction.results`.
    pub fn public_bytes(&self) -> Vec<u8> {
        self.public.encode_to_vec()
    }

    /// The collections this transaction wrote private data to, per namespace.
    pub fn private_collections(&self) -> Vec<(String, String)> {
        self.private
            .iter()
            .flat_map(|p| &p.ns_pvt_rwset)
            .flat_map(|ns| {
                ns.collection_pvt_rwset
                    .iter()
                    .map(move |c| (ns.namespace.clone(), c.collection_name.clone()))
            })
            .collect()
    }
}

impl RwSetBuilder {
    fn ns(&mut self, ns: &str) -> &mut NsPub {
        self.public.entry(ns.to_owned()).or_default()
    }

    fn coll_hashed(&mut self, ns: &str, coll: &str) -> &mut CollHashed {
        self.ns(ns).colls.entry(coll.to_owned()).or_default()
    }

    fn coll_pvt(&mut self, ns: &str, coll: &str) -> &mut CollPvt {
        self.private
            .entry(ns.to_owned())
            .or_default()
            .entry(coll.to_owned())
            .or_default()
    }

    pub fn add_read(&mut self, ns: &str, key: &str, version: Option<Height>) {
        self.ns(ns).reads.insert(
            key.to_owned(),
            KvRead {
                key: key.to_owned(),
                version: proto_version(version),
            },
        );
    }

    pub fn add_write(&mut self, ns: &str, key: &str, value: &[u8]) {
        self.ns(ns)
            .writes
            .insert(key.to_owned(), kv_write(key, value));
    }

    /// An empty map deletes the key's metadata.
    pub fn add_metadata_write(&mut self, ns: &str, key: &str, m: &BTreeMap<String, Vec<u8>>) {
        self.ns(ns).metadata_writes.insert(
            key.to_owned(),
            KvMetadataWrite {
                key: key.to_owned(),
                entries: metadata_entries(m),
            },
        );
    }

    pub fn add_range_query(&mut self, ns: &str, info: RangeQueryInfo) {
        let n = self.ns(ns);
        let dup = n.ranges.iter().any(|r| {
            r.start_key == info.start_key
                && r.end_key == info.end_key
                && r.itr_exhausted == info.itr_exhausted
        });
        if !dup {
            n.ranges.push(info);
        }
    }

    pub fn add_hashed_read(&mut self, ns: &str, coll: &str, key: &str, version: Option<Height>) {
        self.coll_hashed(ns, coll).reads.insert(
            key.to_owned(),
            KvReadHash {
                key_hash: sha256(key.as_bytes()),
                version: proto_version(version),
            },
        );
    }

    /// A private write (empty value = delete) and its hash; `purge` marks a purge.
    pub fn add_private_write(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
        value: &[u8],
        purge: bool,
    ) {
        let w = kv_write(key, value);
        let hash = KvWriteHash {
            key_hash: sha256(key.as_bytes()),
            is_delete: w.is_delete,
            value_hash: if w.is_delete {
                Vec::new()
            } else {
                sha256(value)
            },
            is_purge: purge,
        };
        self.coll_pvt(ns, coll).writes.insert(key.to_owned(), w);
        self.coll_hashed(ns, coll)
            .writes
            .insert(key.to_owned(), hash);
    }

    /// Private metadata: the private set only names the key; the hashed set has the entries.
    pub fn add_private_metadata_write(
        &mut self,
        ns: &str,
        coll: &str,
        key: &str,
        m: &BTreeMap<String, Vec<u8>>,
    ) {
        self.coll_pvt(ns, coll).metadata_writes.insert(
            key.to_owned(),
            KvMetadataWrite {
                key: key.to_owned(),
                entries: Vec::new(),
            },
        );
        self.coll_hashed(ns, coll).metadata_writes.insert(
            key.to_owned(),
            KvMetadataWriteHash {
                key_hash: sha256(key.as_bytes()),
                entries: metadata_entries(m),
            },
        );
    }

    /// Fabric's `GetTxSimulationResults`.
    pub fn build(&self) -> SimulationResults {
        let mut pvt_hashes: BTreeMap<(&str, &str), Vec<u8>> = BTreeMap::new();
        let private = if self.private.is_empty() {
            None
        } else {
            let mut ns_pvt_rwset = Vec::new();
            for (ns, colls) in &self.private {
                let mut collection_pvt_rwset = Vec::new();
                for (coll, c) in colls {
                    let rwset = KvrwSet {
                        writes: c.writes.values().cloned().collect(),
                        metadata_writes: c.metadata_writes.values().cloned().collect(),
                        ..Default::default()
                    }
                    .encode_to_vec();
                    pvt_hashes.insert((ns, coll), sha256(&rwset));
                    collection_pvt_rwset.push(CollectionPvtReadWriteSet {
                        collection_name: coll.clone(),
                        rwset,
                    });
                }
                ns_pvt_rwset.push(NsPvtReadWriteSet {
                    namespace: ns.clone(),
                    collection_pvt_rwset,
                });
            }
            Some(TxPvtReadWriteSet {
                data_model: DataModel::Kv as i32,
                ns_pvt_rwset,
            })
        };
        let ns_rwset = self
            .public
            .iter()
            .map(|(ns, n)| NsReadWriteSet {
                namespace: ns.clone(),
                rwset: KvrwSet {
                    reads: n.reads.values().cloned().collect(),
                    range_queries_info: n.ranges.clone(),
                    writes: n.writes.values().cloned().collect(),
                    metadata_writes: n.metadata_writes.values().cloned().collect(),
                }
                .encode_to_vec(),
                collection_hashed_rwset: n
                    .colls
                    .iter()
                    .map(|(coll, c)| CollectionHashedReadWriteSet {
                        collection_name: coll.clone(),
                        hashed_rwset: HashedRwSet {
                            hashed_reads: c.reads.values().cloned().collect(),
                            hashed_writes: c.writes.values().cloned().collect(),
                            metadata_writes: c.metadata_writes.values().cloned().collect(),
                        }
                        .encode_to_vec(),
                        pvt_rwset_hash: pvt_hashes
                            .get(&(ns.as_str(), coll.as_str()))
                            .cloned()
                            .unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        SimulationResults {
            public: TxReadWriteSet {
                data_model: DataModel::Kv as i32,
                ns_rwset,
            },
            private,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfcbc_fabric::protos::rwset::NsReadWriteSet;

    fn h(b: &[u8]) -> Vec<u8> {
        sha256(b)
    }

    fn v11() -> Option<Height> {
        Some(Height::new(1, 1))
    }

    /// Fabric's rwset_builder_test.go `TestTxSimulationResultWithPvtData`, ported: the same
    /// calls must give the same messages, field for field.
    #[test]
    fn fabric_tx_simulation_result_with_pvt_data() {
        let mut b = RwSetBuilder::default();
        b.add_read("ns1", "key1", v11());
        b.add_read("ns2", "key1", v11());
        b.add_write("ns2", "key1", b"ns2-key1-value");
        b.add_hashed_read("ns1", "coll1", "key1", v11());
        b.add_hashed_read("ns1", "coll2", "key1", v11());
        b.add_private_write("ns1", "coll2", "key1", b"pvt-ns1-coll2-key1-value", false);
        b.add_hashed_read("ns2", "coll1", "key1", v11());
        b.add_hashed_read("ns2", "coll1", "key2", v11());
        b.add_private_write("ns2", "coll2", "key1", b"pvt-ns2-coll2-key1-value", false);
        b.add_private_write("ns3", "coll1", "key1", b"", true);
        let r = b.build();

        let pvt_kv = |key: &str, value: &[u8]| {
            KvrwSet {
                writes: vec![kv_write(key, value)],
                ..Default::default()
            }
            .encode_to_vec()
        };
        let pvt_ns1_coll2 = pvt_kv("key1", b"pvt-ns1-coll2-key1-value");
        let pvt_ns2_coll2 = pvt_kv("key1", b"pvt-ns2-coll2-key1-value");
        let pvt_ns3_coll1 = KvrwSet {
            writes: vec![KvWrite {
                key: "key1".into(),
                is_delete: true,
                value: Vec::new(),
            }],
            ..Default::default()
        }
        .encode_to_vec();
        let pvt_ns = |ns: &str, coll: &str, rwset: &[u8]| NsPvtReadWriteSet {
            namespace: ns.into(),
            collection_pvt_rwset: vec![CollectionPvtReadWriteSet {
                collection_name: coll.into(),
                rwset: rwset.to_vec(),
            }],
        };
        assert_eq!(
            r.private,
            Some(TxPvtReadWriteSet {
                data_model: 0,
                ns_pvt_rwset: vec![
                    pvt_ns("ns1", "coll2", &pvt_ns1_coll2),
                    pvt_ns("ns2", "coll2", &pvt_ns2_coll2),
                    pvt_ns("ns3", "coll1", &pvt_ns3_coll1),
                ],
            })
        );

        let read = |key: &str| KvRead {
            key: key.into(),
            version: proto_version(v11()),
        };
        let read_hash = |key: &str| KvReadHash {
            key_hash: h(key.as_bytes()),
            version: proto_version(v11()),
        };
        let write_hash = |key: &str, value: &[u8]| KvWriteHash {
            key_hash: h(key.as_bytes()),
            is_delete: false,
            value_hash: h(value),
            is_purge: false,
        };
        let coll =
            |name: &str, set: HashedRwSet, pvt: Option<&[u8]>| CollectionHashedReadWriteSet {
                collection_name: name.into(),
                hashed_rwset: set.encode_to_vec(),
                pvt_rwset_hash: pvt.map(h).unwrap_or_default(),
            };
        let expected = vec![
            NsReadWriteSet {
                namespace: "ns1".into(),
                rwset: KvrwSet {
                    reads: vec![read("key1")],
                    ..Default::default()
                }
                .encode_to_vec(),
                collection_hashed_rwset: vec![
                    coll(
                        "coll1",
                        HashedRwSet {
                            hashed_reads: vec![read_hash("key1")],
                            ..Default::default()
                        },
                        None,
                    ),
                    coll(
                        "coll2",
                        HashedRwSet {
                            hashed_reads: vec![read_hash("key1")],
                            hashed_writes: vec![write_hash("key1", b"pvt-ns1-coll2-key1-value")],
                            ..Default::default()
                        },
                        Some(&pvt_ns1_coll2),
                    ),
                ],
            },
            NsReadWriteSet {
                namespace: "ns2".into(),
                rwset: KvrwSet {
                    reads: vec![read("key1")],
                    writes: vec![kv_write("key1", b"ns2-key1-value")],
                    ..Default::default()
                }
                .encode_to_vec(),
                collection_hashed_rwset: vec![
                    coll(
                        "coll1",
                        HashedRwSet {
                            hashed_reads: vec![read_hash("key1"), read_hash("key2")],
                            ..Default::default()
                        },
                        None,
                    ),
                    coll(
                        "coll2",
                        HashedRwSet {
                            hashed_writes: vec![write_hash("key1", b"pvt-ns2-coll2-key1-value")],
                            ..Default::default()
                        },
                        Some(&pvt_ns2_coll2),
                    ),
                ],
            },
            NsReadWriteSet {
                namespace: "ns3".into(),
                rwset: Vec::new(),
                collection_hashed_rwset: vec![coll(
                    "coll1",
                    HashedRwSet {
                        hashed_writes: vec![KvWriteHash {
                            key_hash: h(b"key1"),
                            is_delete: true,
                            value_hash: Vec::new(),
                            is_purge: true,
                        }],
                        ..Default::default()
                    },
                    Some(&pvt_ns3_coll1),
                )],
            },
        ];
        assert_eq!(r.public.ns_rwset, expected);
    }
}
