//! Input checks and limits shared by the transactions: every failure is a 400 naming the
//! field, with the offending value (truncated) and what is allowed.

use std::net::SocketAddr;

use base64::Engine as _;

use crate::error::{ContractError, Result};
use crate::stub::TxTimestamp;
use crate::types::{ChainSpec, Hop};

/// Hard limits, each with a clear error when exceeded.
pub mod limits {
    /// Hops in one chain.
    pub const MAX_HOPS: usize = 64;
    /// Characters in an id (chain, psiid, MSP ID, account, collection).
    pub const MAX_ID_LEN: usize = 128;
    /// Bytes of all arguments together.
    pub const MAX_ARGS_BYTES: usize = 1024 * 1024;
    /// Page size of `GetRecords` / `GetErrors`.
    pub const MAX_PAGE_SIZE: i32 = 1000;
    /// Records in one `RecordHops`.
    pub const MAX_RECORDS_PER_TX: usize = 1000;
    /// Characters in an error's detail.
    pub const MAX_DETAIL_LEN: usize = 1024;
    /// Bytes of a secret in the transient map.
    pub const MAX_SECRET_BYTES: usize = 4096;
    /// A salt shorter than this could be brute-forced from the public hash.
    pub const MIN_SALT_BYTES: usize = 16;
    /// Longest salt accepted.
    pub const MAX_SALT_BYTES: usize = 256;
}

/// Shows at most 64 characters of an input in an error message.
pub fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(64).collect();
    if value.chars().nth(64).is_some() {
        out.push('…');
    }
    format!("{out:?}")
}

/// An id: 1..=128 characters of `[A-Za-z0-9_.:-]`.
pub fn id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(ContractError::bad(field, "must not be empty"));
    }
    if value.chars().count() > limits::MAX_ID_LEN {
        return Err(ContractError::bad(
            field,
            format!(
                "{} is longer than {} characters",
                shown(value),
                limits::MAX_ID_LEN
            ),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(ContractError::bad(
            field,
            format!(
                "{} contains {c:?}; use only A-Z a-z 0-9 _ . : -",
                shown(value)
            ),
        ));
    }
    Ok(())
}

/// A psiid: an id of the form `SP:Function:Instance`, three non-empty parts.
pub fn psiid(field: &str, value: &str) -> Result<()> {
    id(field, value)?;
    let parts: Vec<&str> = value.split(':').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(ContractError::bad(
            field,
            format!(
                "{} is not SP:Function:Instance (e.g. Org1:NameWriter:1)",
                shown(value)
            ),
        ));
    }
    Ok(())
}

/// A collection name: an id without `:` (Fabric allows `[A-Za-z0-9_-]` and `.` is harmless).
pub fn collection(field: &str, value: &str) -> Result<()> {
    id(field, value)?;
    if value.contains(':') {
        return Err(ContractError::bad(
            field,
            format!("{} must not contain ':'", shown(value)),
        ));
    }
    Ok(())
}

/// A UDP address: `ip:port` (IPv6 in brackets) or `host:port`, port 1..=65535.
pub fn address(field: &str, value: &str) -> Result<()> {
    let bad = |why: &str| {
        ContractError::bad(
            field,
            format!("{} is not ip:port or host:port: {why}", shown(value)),
        )
    };
    if value.len() > 255 + 6 {
        return Err(bad("too long"));
    }
    if value.parse::<SocketAddr>().is_ok() {
        return match value.rsplit_once(':') {
            Some((_, "0")) => Err(bad("port 0")),
            _ => Ok(()),
        };
    }
    let (host, port) = value.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    match port.parse::<u16>() {
        Ok(0) | Err(_) => return Err(bad("port must be 1..=65535")),
        Ok(_) => {}
    }
    if port.starts_with('+') || port.starts_with('0') {
        return Err(bad("port must be plain decimal"));
    }
    if host.is_empty() || host.len() > 253 {
        return Err(bad("host must be 1..=253 characters"));
    }
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(bad("host is not a DNS name or IP address"));
        }
    }
    Ok(())
}

/// Two addresses name the same UDP endpoint (parsed when both are `ip:port`).
pub fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<SocketAddr>(), b.parse::<SocketAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// A SHA-256 hash: 64 lowercase hex characters.
pub fn hash(field: &str, value: &str) -> Result<()> {
    if value.len() != 64
        || !value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ContractError::bad(
            field,
            format!("{} is not a SHA-256 hash (64 lowercase hex)", shown(value)),
        ));
    }
    Ok(())
}

/// A page size: 1..=1000 in decimal.
pub fn page_size(field: &str, value: &str) -> Result<i32> {
    let n: i32 = value.parse().map_err(|_| {
        ContractError::bad(field, format!("{} is not a whole number", shown(value)))
    })?;
    if !(1..=limits::MAX_PAGE_SIZE).contains(&n) {
        return Err(ContractError::bad(
            field,
            format!("{n} is not in 1..={}", limits::MAX_PAGE_SIZE),
        ));
    }
    Ok(n)
}

/// Turns the opaque bookmark a client holds into the key the peer expects, and checks that it
/// lies inside `[start, end)` of the query (a forged bookmark could otherwise read another
/// chain's records).
pub fn bookmark(field: &str, value: &str, start: &str, end: &str) -> Result<String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| ContractError::bad(field, format!("{} is not a bookmark", shown(value))))?;
    let key = String::from_utf8(bytes)
        .map_err(|_| ContractError::bad(field, format!("{} is not a bookmark", shown(value))))?;
    if key.as_str() < start || key.as_str() >= end {
        return Err(ContractError::bad(
            field,
            "bookmark belongs to another query; pass back the bookmark of the previous page",
        ));
    }
    Ok(key)
}

/// The opaque form of a peer bookmark (a composite key holding `\x00`, unfit for a CLI).
pub fn encode_bookmark(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The proposal timestamp as RFC 3339 (UTC, nanoseconds when present).
pub fn rfc3339(ts: TxTimestamp) -> Result<String> {
    let bad = || ContractError::bad("txTimestamp", format!("{ts:?} is not a valid timestamp"));
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(bad());
    }
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?;
    t.format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| bad())
}

/// Checks a chain spec from `CreateChain` / `UpdateChain`.
pub fn chain_spec(spec: &ChainSpec) -> Result<()> {
    id("chain.id", &spec.id)?;
    if spec.hops.is_empty() {
        return Err(ContractError::bad(
            "chain.hops",
            "a chain needs at least one hop",
        ));
    }
    if spec.hops.len() > limits::MAX_HOPS {
        return Err(ContractError::bad(
            "chain.hops",
            format!(
                "{} hops; a chain has at most {}",
                spec.hops.len(),
                limits::MAX_HOPS
            ),
        ));
    }
    if let Some(classifier) = &spec.classifier {
        address("chain.classifier", classifier)?;
    }
    for (i, hop) in spec.hops.iter().enumerate() {
        hop_spec(i, hop)?;
        if spec.hops[..i].iter().any(|h| h.psiid == hop.psiid) {
            return Err(ContractError::bad(
                format!("chain.hops[{i}].psiid"),
                format!("{} appears twice in the chain", shown(&hop.psiid)),
            ));
        }
    }
    Ok(())
}

fn hop_spec(i: usize, hop: &Hop) -> Result<()> {
    psiid(&format!("chain.hops[{i}].psiid"), &hop.psiid)?;
    id(&format!("chain.hops[{i}].spMsp"), &hop.sp_msp)?;
    address(&format!("chain.hops[{i}].address"), &hop.address)?;
    if let Some(c) = &hop.collection {
        collection(&format!("chain.hops[{i}].collection"), c)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for ok in [
            "127.0.0.1:9000",
            "[::1]:53",
            "sf1.org1.example.com:7000",
            "localhost:1",
        ] {
            assert!(address("a", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:0",
            "host:70000",
            "-a:1",
            "a..b:1",
            "a b:1",
            "host:+1",
            ":80",
        ] {
            assert!(address("a", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_and_hashes() {
        assert!(id("x", &"a".repeat(128)).is_ok());
        assert!(id("x", &"a".repeat(129)).is_err());
        assert!(id("x", "a/b").is_err());
        assert!(psiid("p", "Org1:NameWriter:1").is_ok());
        assert!(psiid("p", "Org1:NameWriter").is_err());
        assert!(psiid("p", "Org1::1").is_err());
        assert!(hash("h", &"ab".repeat(32)).is_ok());
        assert!(hash("h", &"AB".repeat(32)).is_err());
        assert_eq!(page_size("p", "1000"), Ok(1000));
        assert!(page_size("p", "0").is_err());
        assert!(page_size("p", "1001").is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            rfc3339(TxTimestamp {
                seconds: 1_700_000_000,
                nanos: 0
            })
            .unwrap(),
            "2023-11-14T22:13:20Z"
        );
        assert!(
            rfc3339(TxTimestamp {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_err()
        );
        assert!(
            rfc3339(TxTimestamp {
                seconds: 0,
                nanos: -1
            })
            .is_err()
        );
    }
}
