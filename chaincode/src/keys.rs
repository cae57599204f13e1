//! Composite keys byte-identical to fabric-chaincode-go's `shim.CreateCompositeKey`, and the
//! state layout of DESIGN §4 built on them.
//!
//! A composite key is `\x00` + object type + `\x00` + each attribute + `\x00`. Fabric reserves
//! keys starting with `\x00` for composite keys (simple-key ranges may not start there) and
//! ends a partial-key range at prefix + U+10FFFF, so neither U+0000 nor U+10FFFF may appear in
//! a type or attribute. Rust strings are always UTF-8, so the Go shim's UTF-8 check applies
//! where bytes become strings ([`validate_composite_key_attribute_bytes`]).

use crate::stub::StubError;

/// Go's `minUnicodeRuneValue`: the separator, and the first byte of every composite key.
pub const MIN_UNICODE_RUNE: char = '\u{0}';
/// Go's `maxUnicodeRuneValue` (`utf8.MaxRune`): ends a partial-composite-key range.
pub const MAX_UNICODE_RUNE: char = '\u{10FFFF}';
/// Go's `compositeKeyNamespace`.
pub const COMPOSITE_KEY_NAMESPACE: &str = "\u{0}";
/// Go's `emptyKeySubstitute`: an empty start key of a simple range becomes this.
pub const EMPTY_KEY_SUBSTITUTE: &str = "\u{1}";

/// Go's `validateCompositeKeyAttribute` on a Rust string (already valid UTF-8).
pub fn validate_composite_key_attribute(s: &str) -> Result<(), StubError> {
    for (index, c) in s.char_indices() {
        if c == MIN_UNICODE_RUNE || c == MAX_UNICODE_RUNE {
            return Err(StubError::InvalidKey(format!(
                "input contains unicode U+{:04X} starting at position [{index}]. U+0000 and \
                 U+10FFFF are not allowed in the input attribute of a composite key",
                c as u32
            )));
        }
    }
    Ok(())
}

/// Go's `validateCompositeKeyAttribute` on raw bytes, including its UTF-8 check.
pub fn validate_composite_key_attribute_bytes(b: &[u8]) -> Result<&str, StubError> {
    let s = std::str::from_utf8(b).map_err(|_| {
        StubError::InvalidKey(format!("not a valid utf8 string: [{}]", hex::encode(b)))
    })?;
    validate_composite_key_attribute(s)?;
    Ok(s)
}

/// Go's `CreateCompositeKey(objectType, attributes)`.
pub fn create_composite_key(object_type: &str, attributes: &[&str]) -> Result<String, StubError> {
    validate_composite_key_attribute(object_type)?;
    let mut key = String::with_capacity(
        2 + object_type.len() + attributes.iter().map(|a| a.len() + 1).sum::<usize>(),
    );
    key.push_str(COMPOSITE_KEY_NAMESPACE);
    key.push_str(object_type);
    key.push(MIN_UNICODE_RUNE);
    for attribute in attributes {
        validate_composite_key_attribute(attribute)?;
        key.push_str(attribute);
        key.push(MIN_UNICODE_RUNE);
    }
    Ok(key)
}

/// Go's `SplitCompositeKey`: the object type and the attributes.
///
/// Go indexes `components[0]` and would panic on a key without any separator after the
/// namespace; here such a key (or one not starting with `\x00`) is an error.
pub fn split_composite_key(key: &str) -> Result<(String, Vec<String>), StubError> {
    let bytes = key.as_bytes();
    if bytes.first() != Some(&0) {
        return Err(StubError::InvalidKey(format!(
            "{key:?} is not a composite key: it does not start with U+0000"
        )));
    }
    let mut components = Vec::new();
    let mut start = 1;
    for (i, b) in bytes.iter().enumerate().skip(1) {
        if *b == 0 {
            // Splitting at an ASCII byte keeps both halves valid UTF-8.
            components.push(key[start..i].to_owned());
            start = i + 1;
        }
    }
    if components.is_empty() {
        return Err(StubError::InvalidKey(format!(
            "{key:?} is not a composite key: no object type"
        )));
    }
    let object_type = components.remove(0);
    Ok((object_type, components))
}

/// The range `[start, end)` that Go's `GetStateByPartialCompositeKey` queries.
pub fn partial_composite_key_range(
    object_type: &str,
    attributes: &[&str],
) -> Result<(String, String), StubError> {
    let start = create_composite_key(object_type, attributes)?;
    let mut end = start.clone();
    end.push(MAX_UNICODE_RUNE);
    Ok((start, end))
}

/// Go's `validateSimpleKeys`: a simple key may not start with the composite-key namespace.
pub fn validate_simple_keys(keys: &[&str]) -> Result<(), StubError> {
    for key in keys {
        if key.as_bytes().first() == Some(&0) {
            return Err(StubError::InvalidKey(format!(
                "first character of the key [{key}] contains a null character which is not allowed"
            )));
        }
    }
    Ok(())
}

/// Object types of the state layout (DESIGN §4). Public state unless noted.
pub mod kind {
    /// `chain~{chain}` → `Chain`.
    pub const CHAIN: &str = "chain";
    /// `hop~{chain}~{psiid}` → `HopStatus`.
    pub const HOP: &str = "hop";
    /// `rec~{chain}~{psiid}~{txid}` → `HopBatch` (ledgers from before batches were stored
    /// whole also hold `rec~{chain}~{psiid}~{txid}~{n}` → `HopRecord`).
    pub const RECORD: &str = "rec";
    /// `out~{chain}~{psiid}~{output_hash}` → `OutRecord`.
    pub const OUT: &str = "out";
    /// `used~{chain}~{psiid}~{input_hash}` → `UsedRecord` (replay guard).
    pub const USED: &str = "used";
    /// `err~{chain}~{psiid}~{txid}~{n}` → `HopError`.
    pub const ERROR: &str = "err";
    /// Private, in the hop's collection: `auth~{chain}~{psiid}` → `AuthShare`.
    pub const AUTH: &str = "auth";
    /// Private, in the hop's collection: `endpoints~{chain}~{psiid}` → `EndpointShare`.
    pub const ENDPOINTS: &str = "endpoints";
    /// Private, in the SP's implicit collection: `acct~{user}` → `Account`.
    pub const ACCOUNT: &str = "acct";
}

/// The index of a record within its transaction, zero-padded so that key order is numeric
/// order (a batch holds at most [`crate::validate::limits::MAX_RECORDS_PER_TX`] records).
pub fn record_index(n: usize) -> String {
    format!("{n:04}")
}

pub fn chain_key(chain: &str) -> Result<String, StubError> {
    create_composite_key(kind::CHAIN, &[chain])
}

pub fn hop_key(chain: &str, psiid: &str) -> Result<String, StubError> {
    create_composite_key(kind::HOP, &[chain, psiid])
}

/// A `RecordHops` transaction's batch of records ([`crate::types::HopBatch`]).
pub fn batch_key(chain: &str, psiid: &str, tx_id: &str) -> Result<String, StubError> {
    create_composite_key(kind::RECORD, &[chain, psiid, tx_id])
}

pub fn out_key(chain: &str, psiid: &str, output_hash: &str) -> Result<String, StubError> {
    create_composite_key(kind::OUT, &[chain, psiid, output_hash])
}

pub fn used_key(chain: &str, psiid: &str, input_hash: &str) -> Result<String, StubError> {
    create_composite_key(kind::USED, &[chain, psiid, input_hash])
}

pub fn error_key(chain: &str, psiid: &str, tx_id: &str, n: usize) -> Result<String, StubError> {
    create_composite_key(kind::ERROR, &[chain, psiid, tx_id, &record_index(n)])
}

pub fn auth_key(chain: &str, psiid: &str) -> Result<String, StubError> {
    create_composite_key(kind::AUTH, &[chain, psiid])
}

pub fn endpoints_key(chain: &str, psiid: &str) -> Result<String, StubError> {
    create_composite_key(kind::ENDPOINTS, &[chain, psiid])
}

pub fn account_key(user: &str) -> Result<String, StubError> {
    create_composite_key(kind::ACCOUNT, &[user])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_go_shim_bytes() {
        let key = create_composite_key("rec", &["c1", "Org1:NameWriter:1", "tx", "0000"]).unwrap();
        assert_eq!(
            key,
            "\u{0}rec\u{0}c1\u{0}Org1:NameWriter:1\u{0}tx\u{0}0000\u{0}"
        );
        assert_eq!(
            create_composite_key("chain", &[]).unwrap(),
            "\u{0}chain\u{0}"
        );
        let (s, e) = partial_composite_key_range("rec", &["c1"]).unwrap();
        assert_eq!(s, "\u{0}rec\u{0}c1\u{0}");
        assert_eq!(e.as_bytes(), b"\x00rec\x00c1\x00\xf4\x8f\xbf\xbf");
    }

    #[test]
    fn rejects_reserved_runes() {
        assert!(create_composite_key("a\u{0}b", &[]).is_err());
        assert!(create_composite_key("a", &["x\u{10FFFF}"]).is_err());
        assert!(validate_composite_key_attribute_bytes(b"\xff").is_err());
        assert!(validate_simple_keys(&["ok", "\u{0}bad"]).is_err());
        assert!(validate_simple_keys(&["", "ok"]).is_ok());
    }

    #[test]
    fn split_edge_cases() {
        assert_eq!(
            split_composite_key("\u{0}t\u{0}\u{0}a\u{0}").unwrap(),
            ("t".to_owned(), vec![String::new(), "a".to_owned()])
        );
        assert!(split_composite_key("").is_err());
        assert!(split_composite_key("\u{0}").is_err());
        assert!(split_composite_key("plain").is_err());
    }
}
