//! PEM blocks, read leniently and written exactly as Go's `encoding/pem` writes them.
//!
//! Fabric serializes an identity as `pem.EncodeToMemory(cert)`: 64-column base64 lines and a
//! trailing newline. Writing the same bytes matters because identities are compared byte for
//! byte (endorser de-duplication, IDENTITY principals, tx ids).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`.
    pub label: String,
    /// The decoded DER bytes.
    pub contents: Vec<u8>,
}

/// Decodes every well-formed PEM block of `text`, skipping text around and between blocks
/// (and blocks whose base64 is broken). Headers (`Proc-Type:` lines) are not supported.
pub fn decode_all(text: &[u8]) -> Vec<PemBlock> {
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN ") {
        rest = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = rest.find("-----") else {
            break;
        };
        let label = rest[..label_end].to_string();
        rest = &rest[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = rest.find(&end_marker) else {
            break;
        };
        let body: String = rest[..body_end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        rest = &rest[body_end + end_marker.len()..];
        if let Ok(contents) = STANDARD.decode(body.as_bytes()) {
            out.push(PemBlock { label, contents });
        }
    }
    out
}

/// Encodes one block as Go's `pem.EncodeToMemory` does.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut s = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    s.push_str("-----BEGIN ");
    s.push_str(label);
    s.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        s.push('\n');
    }
    s.push_str("-----END ");
    s.push_str(label);
    s.push_str("-----\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_go_layout() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = encode("CERTIFICATE", &der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.ends_with("\n-----END CERTIFICATE-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
        let blocks = decode_all(format!("junk\n{text}more junk{text}").as_bytes());
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].contents, der);
    }

    #[test]
    fn broken_input_yields_nothing() {
        assert!(decode_all(b"-----BEGIN X-----\n!!!\n-----END X-----\n").is_empty());
        assert!(decode_all(b"-----BEGIN X-----\nAAAA").is_empty());
        assert!(decode_all(b"-----BEGIN ").is_empty());
        assert!(decode_all(&[0xff, 0xfe]).is_empty());
    }
}
