//! Hop records packed into one base64 string: how `RecordHops` carries its records and how a
//! [`HopBatch`](crate::types::HopBatch) stores them.
//!
//! A record is a datagram's two SHA-256 hashes and the SF's sequence number. As JSON objects
//! with hex hashes that is ≈ 170 bytes a record, and every byte of it is copied, hashed and
//! written many times over on its way into the ledger (proposal, endorsement, block, state,
//! each peer). Packed it is 73 bytes before base64 (≈ 98 after).
//!
//! Layout (all integers big-endian): one version byte (`1`), then per record
//! - `seq`: u64;
//! - input hash, output hash: 32 bytes each;
//! - flags: u8, bit 0 = the record has its own `src`, bit 1 = its own `next`;
//! - for each flag set, in that order: u16 length + UTF-8 bytes.
//!
//! Readers also accept the older form, a JSON array of entries with hex hashes, so batches
//! written before packing still read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserializer, Serialize, Serializer};

use crate::types::{HopBatchEntry, HopRecordInput};

/// The layout version this code writes and reads.
pub const VERSION: u8 = 1;

/// A record without its own `src` / `next`: seq, two hashes, flags.
const RECORD_LEN: usize = 8 + 32 + 32 + 1;

const FLAG_SRC: u8 = 1;
const FLAG_NEXT: u8 = 2;

/// Why packed records do not decode (or a record can not be packed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("not base64: {0}")]
    Base64(String),
    #[error("empty: no version byte")]
    Empty,
    #[error("layout version {0}; this chaincode reads version {VERSION}")]
    Version(u8),
    #[error("record {index} is cut short")]
    Truncated { index: usize },
    #[error("record {index} has unknown flags {flags:#04x}")]
    Flags { index: usize, flags: u8 },
    #[error("record {index}: its {field} is not UTF-8")]
    Utf8 { index: usize, field: &'static str },
    #[error("record {index}: {field} {value:?} is not a SHA-256 hash (64 lowercase hex)")]
    Hash {
        index: usize,
        field: &'static str,
        value: String,
    },
    #[error("record {index}: its {field} is longer than 65535 bytes")]
    TooLong { index: usize, field: &'static str },
}

/// `entries` packed and base64-encoded.
pub fn encode(entries: &[HopBatchEntry]) -> Result<String, PackError> {
    let mut out = Vec::with_capacity(1 + entries.len() * RECORD_LEN);
    out.push(VERSION);
    for (index, e) in entries.iter().enumerate() {
        let hashes = (e.input_hash.as_str(), e.output_hash.as_str());
        push_record(
            &mut out,
            index,
            e.seq,
            hashes,
            e.src.as_deref(),
            e.next.as_deref(),
        )?;
    }
    Ok(STANDARD.encode(out))
}

/// Appends one record: `src` / `next` are its own, `None` where it has the batch's.
fn push_record(
    out: &mut Vec<u8>,
    index: usize,
    seq: u64,
    (input_hash, output_hash): (&str, &str),
    src: Option<&str>,
    next: Option<&str>,
) -> Result<(), PackError> {
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&hash_bytes(index, "inputHash", input_hash)?);
    out.extend_from_slice(&hash_bytes(index, "outputHash", output_hash)?);
    out.push(u8::from(src.is_some()) * FLAG_SRC + u8::from(next.is_some()) * FLAG_NEXT);
    for (field, value) in [("src", src), ("next", next)] {
        if let Some(v) = value {
            let len = u16::try_from(v.len()).map_err(|_| PackError::TooLong { index, field })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
    Ok(())
}

/// `RecordHops`' `recordsJSON` in its compact form for `records`: the same string as
/// `serde_json::to_string(&PackedRecordsInput::pack(records))`, built without a `String`
/// per record. The SF runtime sends one per transaction of up to 1 000 records, for every
/// datagram of every hop, so its cost counts.
pub fn records_json(records: &[HopRecordInput]) -> Result<String, PackError> {
    let (src, next, own) = factored(records);
    let mut bytes = Vec::with_capacity(1 + records.len() * RECORD_LEN);
    bytes.push(VERSION);
    for (index, (r, own_src, own_next)) in own.enumerate() {
        let hashes = (r.input_hash.as_str(), r.output_hash.as_str());
        push_record(&mut bytes, index, r.seq, hashes, own_src, own_next)?;
    }
    // Field order as `PackedRecordsInput` serializes; base64 needs no JSON escaping.
    let quoted = |v: &str| serde_json::to_string(v).expect("a &str always serializes");
    let mut out = String::with_capacity(64 + src.len() + next.len() + bytes.len() * 4 / 3);
    out.push_str("{\"src\":");
    out.push_str(&quoted(src));
    out.push_str(",\"next\":");
    out.push_str(&quoted(next));
    out.push_str(",\"records\":\"");
    STANDARD.encode_string(&bytes, &mut out);
    out.push_str("\"}");
    Ok(out)
}

/// `records`' most common `src` and `next`, and each record with its own `src` / `next`
/// where it differs from them (`None` where it has the common one). Both packers
/// ([`records_json`] and [`PackedRecordsInput::pack`](crate::types::PackedRecordsInput::pack))
/// factor this way.
pub(crate) fn factored(
    records: &[HopRecordInput],
) -> (
    &str,
    &str,
    impl Iterator<Item = (&HopRecordInput, Option<&str>, Option<&str>)>,
) {
    let src = most_common(records.iter().map(|r| r.src.as_str()));
    let next = most_common(records.iter().map(|r| r.next.as_str()));
    let own = records.iter().map(move |r| {
        let own_src = (r.src != src).then_some(r.src.as_str());
        let own_next = (r.next != next).then_some(r.next.as_str());
        (r, own_src, own_next)
    });
    (src, next, own)
}

/// The most common of `values`; ties go to the value that sorts first, so the same records
/// always pack the same way. Nearly every batch has one `src` and one `next`: checked first.
fn most_common<'a>(values: impl Iterator<Item = &'a str> + Clone) -> &'a str {
    let mut all = values.clone();
    let first = all.next().unwrap_or_default();
    if all.all(|v| v == first) {
        return first;
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    // `max_by_key` keeps the last of equal counts: the first in order, reversed.
    counts
        .into_iter()
        .rev()
        .max_by_key(|&(_, n)| n)
        .map_or("", |(v, _)| v)
}

/// The entries of a string [`encode`] made.
pub fn decode(packed: &str) -> Result<Vec<HopBatchEntry>, PackError> {
    let bytes = STANDARD
        .decode(packed)
        .map_err(|e| PackError::Base64(e.to_string()))?;
    let (&version, mut rest) = bytes.split_first().ok_or(PackError::Empty)?;
    if version != VERSION {
        return Err(PackError::Version(version));
    }
    let mut entries = Vec::with_capacity(rest.len() / RECORD_LEN);
    while !rest.is_empty() {
        let index = entries.len();
        let mut take = |n: usize| -> Result<&[u8], PackError> {
            if rest.len() < n {
                return Err(PackError::Truncated { index });
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let seq = u64::from_be_bytes(take(8)?.try_into().expect("8 bytes"));
        let input_hash = hex::encode(take(32)?);
        let output_hash = hex::encode(take(32)?);
        let flags = take(1)?[0];
        if flags & !(FLAG_SRC | FLAG_NEXT) != 0 {
            return Err(PackError::Flags { index, flags });
        }
        let mut string = |field: &'static str| -> Result<String, PackError> {
            let len = u16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
            String::from_utf8(take(len.into())?.to_vec())
                .map_err(|_| PackError::Utf8 { index, field })
        };
        let src = (flags & FLAG_SRC != 0).then(|| string("src")).transpose()?;
        let next = (flags & FLAG_NEXT != 0)
            .then(|| string("next"))
            .transpose()?;
        entries.push(HopBatchEntry {
            seq,
            input_hash,
            output_hash,
            src,
            next,
        });
    }
    Ok(entries)
}

fn hash_bytes(index: usize, field: &'static str, hex_hash: &str) -> Result<[u8; 32], PackError> {
    // Lowercase only (decoding writes lowercase, so only lowercase round-trips). A table
    // lookup per digit: the SF packs two hashes per datagram, and the `hex` crate's checked
    // decoding was ≈ 5 % of the dataplane benchmark's CPU.
    const BAD: u8 = 0xff;
    const DIGIT: [u8; 256] = {
        let mut t = [BAD; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let bad = || PackError::Hash {
        index,
        field,
        value: hex_hash.chars().take(80).collect(),
    };
    let digits: &[u8; 64] = hex_hash.as_bytes().try_into().map_err(|_| bad())?;
    let mut out = [0u8; 32];
    let mut invalid = 0u8;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (hi, lo) = (DIGIT[pair[0] as usize], DIGIT[pair[1] as usize]);
        invalid |= (hi | lo) & 0xf0;
        *byte = (hi << 4) | (lo & 0x0f);
    }
    if invalid != 0 {
        return Err(bad());
    }
    Ok(out)
}

/// `#[serde(with = "packed::records")]`: writes entries packed; reads them packed or as the
/// older JSON array (what [`HopBatch`](crate::types::HopBatch) values hold). Errors keep
/// serde's detail: which entry, which field.
pub mod records {
    use std::fmt;

    use serde::de::{self, SeqAccess, Visitor};

    use super::*;

    pub fn serialize<S: Serializer>(entries: &[HopBatchEntry], s: S) -> Result<S::Ok, S::Error> {
        encode(entries)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<HopBatchEntry>, D::Error> {
        d.deserialize_any(Records { arrays: true })
    }

    /// Packed only: what `RecordHops` takes in its compact form.
    pub fn deserialize_packed<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<HopBatchEntry>, D::Error> {
        d.deserialize_str(Records { arrays: false })
    }

    struct Records {
        arrays: bool,
    }

    impl<'de> Visitor<'de> for Records {
        type Value = Vec<HopBatchEntry>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            if self.arrays {
                f.write_str("packed records (a base64 string) or an array of records")
            } else {
                f.write_str("packed records (a base64 string)")
            }
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            decode(v).map_err(|e| E::custom(format!("packed records: {e}")))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            if !self.arrays {
                return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
            }
            let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(e) = seq.next_element()? {
                entries.push(e);
            }
            Ok(entries)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, src: Option<&str>, next: Option<&str>) -> HopBatchEntry {
        HopBatchEntry {
            seq,
            input_hash: format!("{:064x}", seq.wrapping_mul(7).wrapping_add(1)),
            output_hash: format!("{:064x}", u64::MAX - seq),
            src: src.map(str::to_owned),
            next: next.map(str::to_owned),
        }
    }

    fn input(seq: u64, src: &str, next: &str) -> HopRecordInput {
        let e = entry(seq, None, None);
        HopRecordInput {
            seq,
            input_hash: e.input_hash,
            output_hash: e.output_hash,
            src: src.to_owned(),
            next: next.to_owned(),
        }
    }

    /// What `records_json` must equal: the serde path the chaincode reads.
    fn via_serde(records: &[HopRecordInput]) -> String {
        serde_json::to_string(&crate::types::PackedRecordsInput::pack(records)).unwrap()
    }

    #[test]
    fn records_json_is_the_serde_form_byte_for_byte() {
        let cases: Vec<Vec<HopRecordInput>> = vec![
            // one src / next: the SF's usual batch
            (0..5)
                .map(|i| input(i, "127.0.0.2:1", "127.0.0.3:2"))
                .collect(),
            // a minority with their own
            vec![
                input(1, "127.0.0.2:1", "127.0.0.3:2"),
                input(2, "127.0.0.9:9", "127.0.0.3:2"),
                input(3, "127.0.0.2:1", "h.example:7"),
            ],
            // ties go to the value that sorts first, both ways round
            vec![input(1, "b:1", "y:1"), input(2, "a:1", "z:1")],
            vec![input(1, "a:1", "z:1"), input(2, "b:1", "y:1")],
            // JSON escaping in the factored values
            vec![input(1, "q\"uote\\:1", "t\tab:2")],
            vec![input(u64::MAX, "", "")],
        ];
        for records in cases {
            let fast = records_json(&records).unwrap();
            assert_eq!(fast, via_serde(&records), "{records:?}");
            let back: crate::types::PackedRecordsInput = serde_json::from_str(&fast).unwrap();
            assert_eq!(back, crate::types::PackedRecordsInput::pack(&records));
        }
    }

    #[test]
    fn the_most_common_src_and_next_are_factored_ties_to_the_first_in_order() {
        let factored = |records: &[HopRecordInput]| {
            let p: crate::types::PackedRecordsInput =
                serde_json::from_str(&records_json(records).unwrap()).unwrap();
            let own: Vec<_> = p
                .records
                .iter()
                .map(|e| (e.src.clone(), e.next.clone()))
                .collect();
            (p.src, p.next, own)
        };
        let majority = [
            input(1, "127.0.0.9:9", "127.0.0.3:2"),
            input(2, "127.0.0.2:1", "127.0.0.3:2"),
            input(3, "127.0.0.2:1", "h.example:7"),
        ];
        let (src, next, own) = factored(&majority);
        assert_eq!(
            (src.as_str(), next.as_str()),
            ("127.0.0.2:1", "127.0.0.3:2")
        );
        assert_eq!(
            own,
            [
                (Some("127.0.0.9:9".to_owned()), None),
                (None, None),
                (None, Some("h.example:7".to_owned()))
            ]
        );
        for tie in [
            [input(1, "b:1", "y:1"), input(2, "a:1", "z:1")],
            [input(1, "a:1", "z:1"), input(2, "b:1", "y:1")],
        ] {
            let (src, next, _) = factored(&tie);
            assert_eq!((src.as_str(), next.as_str()), ("a:1", "y:1"), "{tie:?}");
        }
    }

    #[test]
    fn records_json_refuses_what_can_not_be_packed() {
        let mut bad = vec![input(1, "a:1", "b:1"), input(2, "a:1", "b:1")];
        bad[1].output_hash = "ABC".into();
        assert_eq!(
            records_json(&bad),
            Err(PackError::Hash {
                index: 1,
                field: "outputHash",
                value: "ABC".into()
            })
        );
        let mut long = vec![
            input(1, "a:1", "b:1"),
            input(2, "a:1", "b:1"),
            input(3, "a:1", "b:1"),
        ];
        long[0].next = "n".repeat(70_000);
        assert_eq!(
            records_json(&long),
            Err(PackError::TooLong {
                index: 0,
                field: "next"
            })
        );
    }

    #[test]
    fn round_trip_with_and_without_own_src_and_next() {
        let entries = vec![
            entry(0, None, None),
            entry(u64::MAX, Some("127.0.0.9:4000"), None),
            entry(2, None, Some("sf.example.com:5000")),
            entry(3, Some("[::1]:1"), Some("10.0.0.1:9")),
        ];
        let packed = encode(&entries).unwrap();
        assert_eq!(decode(&packed).unwrap(), entries);
        // 73 bytes a record plus what the own addresses take.
        let raw = STANDARD.decode(&packed).unwrap();
        assert_eq!(
            raw.len(),
            1 + 4 * 73 + (2 + 14) + (2 + 19) + (2 + 7) + (2 + 10)
        );
        assert_eq!(decode(&encode(&[]).unwrap()).unwrap(), vec![]);
    }

    #[test]
    fn old_json_arrays_still_read_and_their_errors_say_where() {
        #[derive(serde::Deserialize, Debug)]
        struct Holder {
            #[serde(with = "super::records")]
            records: Vec<HopBatchEntry>,
        }
        let e = entry(3, Some("a:1"), None);
        let json = serde_json::json!({"records": [e]});
        let read: Holder = serde_json::from_value(json).unwrap();
        assert_eq!(read.records, vec![e.clone()]);
        let bad = serde_json::json!({"records": [{"seq": 1, "inputHash": e.input_hash}]});
        let err = serde_json::from_value::<Holder>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("outputHash"), "{err}");
        let err = serde_json::from_value::<Holder>(serde_json::json!({"records": 5}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("packed records (a base64 string) or an array"),
            "{err}"
        );
    }

    #[test]
    fn refuses_what_it_can_not_pack_or_read() {
        let mut upper = entry(1, None, None);
        upper.input_hash = upper.input_hash.to_uppercase().replace('0', "A");
        assert!(matches!(
            encode(&[upper]),
            Err(PackError::Hash {
                field: "inputHash",
                ..
            })
        ));
        let mut short = entry(1, None, None);
        short.output_hash.pop();
        assert!(matches!(
            encode(&[short]),
            Err(PackError::Hash {
                field: "outputHash",
                ..
            })
        ));
        for c in ['g', 'G', 'A', 'F', ' ', '\0', 'é'] {
            let mut e = entry(1, None, None);
            e.input_hash
                .replace_range(10..10 + c.len_utf8(), &c.to_string());
            assert!(matches!(encode(&[e]), Err(PackError::Hash { .. })), "{c:?}");
        }
        let mut all = entry(1, None, None);
        all.input_hash = "0123456789abcdef".repeat(4);
        let raw = STANDARD.decode(encode(&[all]).unwrap()).unwrap();
        assert_eq!(hex::encode(&raw[9..41]), "0123456789abcdef".repeat(4));
        let mut long = entry(1, None, None);
        long.next = Some("x".repeat(70_000));
        assert!(matches!(
            encode(&[long]),
            Err(PackError::TooLong { field: "next", .. })
        ));

        let good = STANDARD
            .decode(encode(&[entry(1, Some("a:1"), None)]).unwrap())
            .unwrap();
        let b64 = |b: &[u8]| STANDARD.encode(b);
        assert_eq!(
            decode("***"),
            Err(PackError::Base64("Invalid symbol 42, offset 0.".into()))
        );
        assert_eq!(decode(""), Err(PackError::Empty));
        let mut v2 = good.clone();
        v2[0] = 2;
        assert_eq!(decode(&b64(&v2)), Err(PackError::Version(2)));
        for cut in 2..good.len() {
            assert_eq!(
                decode(&b64(&good[..cut])),
                Err(PackError::Truncated { index: 0 }),
                "cut at {cut}"
            );
        }
        let mut flags = good.clone();
        flags[1 + 72] = 4 | FLAG_SRC;
        assert_eq!(
            decode(&b64(&flags)),
            Err(PackError::Flags { index: 0, flags: 5 })
        );
        let mut utf8 = good.clone();
        let last = utf8.len() - 1;
        utf8[last] = 0xff;
        assert_eq!(
            decode(&b64(&utf8)),
            Err(PackError::Utf8 {
                index: 0,
                field: "src"
            })
        );
    }
}
