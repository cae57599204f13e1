//! Fabric composite keys, as the chaincode shims build them.
//!
//! A composite key is `\0` + object type + `\0` + each attribute followed by `\0`. The shim
//! turns `GetStateByPartialCompositeKey` into a plain range `[prefix, prefix + U+10FFFF)`,
//! so the peer only ever sees ranges; these helpers let devnet's own code (qscc, tests)
//! build the same keys and ranges.

/// Separates the parts of a composite key.
pub const COMPOSITE_KEY_NAMESPACE: char = '\u{0}';

/// The highest Unicode scalar value; a range ending in it covers every key with the prefix
/// (the shims' `maxUnicodeRuneValue`).
pub const MAX_UNICODE_RUNE: char = '\u{10FFFF}';

/// `CreateCompositeKey(object_type, attributes)`.
pub fn composite_key<S: AsRef<str>>(object_type: &str, attributes: &[S]) -> String {
    let mut key = String::with_capacity(
        2 + object_type.len()
            + attributes
                .iter()
                .map(|a| a.as_ref().len() + 1)
                .sum::<usize>(),
    );
    key.push(COMPOSITE_KEY_NAMESPACE);
    key.push_str(object_type);
    key.push(COMPOSITE_KEY_NAMESPACE);
    for a in attributes {
        key.push_str(a.as_ref());
        key.push(COMPOSITE_KEY_NAMESPACE);
    }
    key
}

/// The `(start, end)` range the shims query for a partial composite key.
pub fn partial_composite_range<S: AsRef<str>>(
    object_type: &str,
    attributes: &[S],
) -> (String, String) {
    let start = composite_key(object_type, attributes);
    let mut end = start.clone();
    end.push(MAX_UNICODE_RUNE);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_key_layout() {
        assert_eq!(
            composite_key("rec", &["c1", "Org1:F:1"]),
            "\0rec\0c1\0Org1:F:1\0"
        );
        assert_eq!(composite_key::<&str>("chain", &[]), "\0chain\0");
    }

    #[test]
    fn partial_range_ends_with_max_rune() {
        let (s, e) = partial_composite_range("rec", &["c1"]);
        assert_eq!(s, "\0rec\0c1\0");
        assert_eq!(e.as_bytes(), b"\0rec\0c1\0\xf4\x8f\xbf\xbf");
    }
}
