//! Block header and data hashes, byte for byte as Fabric's `protoutil` computes them.
//!
//! - data hash: SHA-256 of the `data` entries concatenated (`protoutil.ComputeBlockDataHash`);
//! - header bytes: the ASN.1 DER of `SEQUENCE { INTEGER number, OCTET STRING previous_hash,
//!   OCTET STRING data_hash }` (`protoutil.BlockHeaderBytes`, Go's `encoding/asn1` with the
//!   number as a `*big.Int`: minimal big-endian two's complement, so a leading 0x00 when the
//!   top bit is set);
//! - header hash: SHA-256 of the header bytes; it is the next block's `previous_hash`.
//!
//! These work on plain fields so the ledger can check a chain without decoding protobufs.

use sha2::{Digest, Sha256};

/// The three fields of a `common.BlockHeader`, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFields<'a> {
    /// Position of the block in the channel's chain; the genesis block is 0.
    pub number: u64,
    /// Header hash of the block before; empty for the genesis block, as Fabric leaves it.
    pub previous_hash: &'a [u8],
    /// SHA-256 of the block's concatenated data entries.
    pub data_hash: &'a [u8],
}

impl HeaderFields<'_> {
    /// The DER bytes Fabric hashes and the orderer signs (`protoutil.BlockHeaderBytes`).
    pub fn der_bytes(&self) -> Vec<u8> {
        header_bytes(self.number, self.previous_hash, self.data_hash)
    }

    /// The header hash (`protoutil.BlockHeaderHash`).
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.der_bytes()).into()
    }
}

/// `protoutil.ComputeBlockDataHash`: SHA-256 over the data entries joined with no separator.
pub fn data_hash<D: AsRef<[u8]>>(data: &[D]) -> [u8; 32] {
    let mut sha = Sha256::new();
    for entry in data {
        sha.update(entry.as_ref());
    }
    sha.finalize().into()
}

/// `protoutil.BlockHeaderBytes` on plain fields.
pub fn header_bytes(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + previous_hash.len() + data_hash.len());
    push_tlv(&mut body, TAG_INTEGER, &der_unsigned(number));
    push_tlv(&mut body, TAG_OCTET_STRING, previous_hash);
    push_tlv(&mut body, TAG_OCTET_STRING, data_hash);
    let mut out = Vec::with_capacity(body.len() + 6);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    out
}

/// `protoutil.BlockHeaderHash` on plain fields.
pub fn header_hash(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> [u8; 32] {
    Sha256::digest(header_bytes(number, previous_hash, data_hash)).into()
}

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
/// SEQUENCE, constructed.
const TAG_SEQUENCE: u8 = 0x30;

/// Content octets of a non-negative INTEGER as Go's asn1 writes a `big.Int`: the minimal
/// big-endian bytes, with a 0x00 in front when the top bit would read as a sign; zero is `00`.
fn der_unsigned(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = Vec::with_capacity(9);
    if bytes[first] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[first..]);
    out
}

/// Tag, DER definite length (short form below 128, else the minimal long form), content.
fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let len_bytes = (len as u64).to_be_bytes();
        let first = len_bytes
            .iter()
            .position(|b| *b != 0)
            .expect("len >= 0x80 has a non-zero byte");
        out.push(0x80 | (len_bytes.len() - first) as u8);
        out.extend_from_slice(&len_bytes[first..]);
    }
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("test hex")
    }

    #[test]
    fn integer_encoding_matches_go_big_int() {
        assert_eq!(der_unsigned(0), vec![0x00]);
        assert_eq!(der_unsigned(1), vec![0x01]);
        assert_eq!(der_unsigned(127), vec![0x7f]);
        // Top bit set: Go prepends a zero so the INTEGER stays positive.
        assert_eq!(der_unsigned(128), vec![0x00, 0x80]);
        assert_eq!(der_unsigned(255), vec![0x00, 0xff]);
        assert_eq!(der_unsigned(256), vec![0x01, 0x00]);
        assert_eq!(der_unsigned(0x7fff), vec![0x7f, 0xff]);
        assert_eq!(der_unsigned(0x8000), vec![0x00, 0x80, 0x00]);
        assert_eq!(
            der_unsigned(u64::MAX),
            vec![0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn genesis_header_bytes_by_hand() {
        // Block 0: no previous hash (Go's nil []byte marshals as an empty OCTET STRING),
        // data hash = 32 bytes of 0xAA.
        let dh = [0xaa; 32];
        let got = header_bytes(0, &[], &dh);
        // 30 27 | 02 01 00 | 04 00 | 04 20 aa*32 ; 3 + 2 + 34 = 39 = 0x27
        let mut want = unhex("3027 020100 0400 0420");
        want.extend_from_slice(&dh);
        assert_eq!(got, want);
    }

    #[test]
    fn header_bytes_with_high_bit_number_by_hand() {
        let prev = [0x11; 32];
        let dh = [0x22; 32];
        let got = header_bytes(200, &prev, &dh);
        // INTEGER 200 = 02 02 00 c8 (4) + 34 + 34 = 72 = 0x48
        let mut want = unhex("3048 020200c8 0420");
        want.extend_from_slice(&prev);
        want.extend_from_slice(&unhex("0420"));
        want.extend_from_slice(&dh);
        assert_eq!(got, want);
    }

    #[test]
    fn long_form_length_when_the_body_reaches_128_bytes() {
        let prev = [0x01; 100];
        let dh = [0x02; 32];
        let got = header_bytes(1, &prev, &dh);
        // body: 3 + (2 + 100) + (2 + 32) = 139 = 0x8b -> 30 81 8b
        assert_eq!(&got[..3], &[0x30, 0x81, 0x8b]);
        assert_eq!(&got[3..6], &[0x02, 0x01, 0x01]);
        assert_eq!(&got[6..8], &[0x04, 0x64]);
        assert_eq!(got.len(), 3 + 139);
    }

    #[test]
    fn data_hash_is_sha256_of_concatenation() {
        // sha256("abc") = ba7816bf...; split across entries it must be the same.
        let want = unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(data_hash(&[b"abc".to_vec()]).to_vec(), want);
        assert_eq!(data_hash(&[&b"a"[..], &b""[..], &b"bc"[..]]).to_vec(), want);
        // No entries: sha256 of the empty string, as Go's bytes.Join(nil) hashes.
        let empty = unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(data_hash::<Vec<u8>>(&[]).to_vec(), empty);
    }

    #[test]
    fn header_hash_is_sha256_of_der() {
        let dh = data_hash(&[b"abc"]);
        let fields = HeaderFields {
            number: 3,
            previous_hash: &[0x33; 32],
            data_hash: &dh,
        };
        let der = fields.der_bytes();
        assert_eq!(fields.hash(), <[u8; 32]>::from(Sha256::digest(&der)));
        assert_eq!(fields.hash(), header_hash(3, &[0x33; 32], &dh));
    }
}
