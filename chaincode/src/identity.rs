//! The caller's identity exactly as Go chaincode sees it: `cid.GetID()` and the MSP ID.
//!
//! `cid.GetID()` is base64 of `x509::<subject>::<issuer>`, each DN printed by Go's
//! `pkix.Name.String()`: the parsed fields in the fixed order C, ST, L, STREET, POSTALCODE,
//! O, OU, CN, SERIALNUMBER (all values of one type in one multi-valued RDN, `OU=a+OU=b`),
//! attributes of other types before them, the whole sequence printed in reverse and escaped
//! as RFC 2253. This module reproduces that from the certificate's DER, byte for byte; the
//! fixtures in `tests/fixtures/identity/` hold ids computed by Go itself.

use base64::Engine as _;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use crate::stub::Creator;

/// Why a creator's identity could not be turned into a client id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// cid's own message for identity bytes without a PEM block.
    #[error("Expecting a PEM-encoded X509 certificate; PEM block not found")]
    NoPem,
    #[error("invalid X.509 certificate: {0}")]
    Certificate(String),
    #[error("invalid RDNSequence: invalid attribute value: {0}")]
    AttributeValue(String),
}

/// Which Go release's `pkix.Name.String()` to follow. They differ only for attribute types
/// outside the nine named ones (e.g. `emailAddress`) that hold a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GoDnFormat {
    /// Current Go (1.27, the toolchain that built the Fabric 2.5.16 binaries used here):
    /// such a string prints as an escaped string, `1.2.840.113549.1.9.1=a@b.c`; values of
    /// non-string ASN.1 types are accepted and print as `#` + hex of their DER.
    #[default]
    Current,
    /// Older Go releases: every value must be a string type and such a string prints as
    /// `#` + hex of its re-marshalled DER (PrintableString or UTF8String).
    LegacyHex,
}

/// The caller of a transaction, as access rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The MSP ID the peer verified the creator against.
    pub msp_id: String,
    /// `cid.GetID()`.
    pub id: String,
}

impl Caller {
    /// The caller of the transaction `creator` signed.
    pub fn from_creator(creator: &Creator) -> Result<Self, IdentityError> {
        Ok(Caller {
            msp_id: creator.msp_id.clone(),
            id: client_id(&creator.id_bytes)?,
        })
    }
}

/// `cid.GetID()` of a PEM certificate (the identity bytes of a `SerializedIdentity`).
pub fn client_id(pem: &[u8]) -> Result<String, IdentityError> {
    client_id_with(pem, GoDnFormat::default())
}

/// [`client_id`] following a chosen Go release.
pub fn client_id_with(pem: &[u8], format: GoDnFormat) -> Result<String, IdentityError> {
    let der = first_pem_block(pem)?;
    let raw = client_id_plain_der(&der, format)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(raw))
}

/// The unencoded id `x509::<subject>::<issuer>` of a DER certificate.
pub fn client_id_plain_der(der: &[u8], format: GoDnFormat) -> Result<String, IdentityError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| IdentityError::Certificate(e.to_string()))?;
    Ok(format!(
        "x509::{}::{}",
        go_name_string(cert.subject(), format)?,
        go_name_string(cert.issuer(), format)?
    ))
}

/// Like Go's `pem.Decode`: the first PEM block, whatever its type.
fn first_pem_block(pem: &[u8]) -> Result<Vec<u8>, IdentityError> {
    // A malformed first block counts as none (Go would look for a later block; a
    // SerializedIdentity holds exactly one).
    match x509_parser::pem::Pem::iter_from_buffer(pem).next() {
        Some(Ok(block)) => Ok(block.contents),
        _ => Err(IdentityError::NoPem),
    }
}

/// A parsed attribute value, as Go's `readASN1Any` leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(String),
    /// ASN.1 NULL: Go holds `nil`, which `asn1.Marshal` refuses, so it prints `<nil>`.
    Null,
    /// Any other type: printed as `#` + hex of the DER element.
    Other(Vec<u8>),
}

struct Atv {
    arcs: Option<Vec<u64>>,
    oid: String,
    value: Value,
}

impl Atv {
    /// Go's test `len(t) == 4 && t[0] == 2 && t[1] == 5 && t[2] == 4`: the arc `t[3]`.
    fn x520_arc(&self) -> Option<u64> {
        match self.arcs.as_deref() {
            Some([2, 5, 4, a]) => Some(*a),
            _ => None,
        }
    }
}

/// Go's `pkix.Name.String()` of a parsed `Name` (`FillFromRDNSequence`, `ExtraNames` nil).
pub fn go_name_string(name: &X509Name<'_>, format: GoDnFormat) -> Result<String, IdentityError> {
    let mut atvs = Vec::new();
    for atv in name.iter_attributes() {
        let oid = atv.attr_type();
        let value = parse_value(atv.attr_value(), format)?;
        atvs.push(Atv {
            arcs: oid.iter().map(|it| it.collect()),
            oid: oid.to_id_string(),
            value,
        });
    }

    // FillFromRDNSequence: the named fields (string values only).
    let mut common_name = String::new();
    let mut serial_number = String::new();
    let mut fields: [(u64, Vec<&str>); 7] = [
        (6, vec![]),  // C
        (8, vec![]),  // ST
        (7, vec![]),  // L
        (9, vec![]),  // STREET
        (17, vec![]), // POSTALCODE
        (10, vec![]), // O
        (11, vec![]), // OU
    ];
    for atv in &atvs {
        let (Some(arc), Value::Str(s)) = (atv.x520_arc(), &atv.value) else {
            continue;
        };
        match arc {
            3 => common_name = s.clone(),
            5 => serial_number = s.clone(),
            _ => {
                if let Some((_, values)) = fields.iter_mut().find(|(a, _)| *a == arc) {
                    values.push(s);
                }
            }
        }
    }

    // Name.String(): non-standard attributes first, then ToRDNSequence().
    let mut rdns: Vec<Vec<(String, Value)>> = Vec::new();
    for atv in &atvs {
        if matches!(atv.x520_arc(), Some(3 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 17)) {
            continue;
        }
        rdns.push(vec![(atv.oid.clone(), atv.value.clone())]);
    }
    let mut push_rdn = |arc: u64, values: &[&str]| {
        if !values.is_empty() {
            rdns.push(
                values
                    .iter()
                    .map(|v| (format!("2.5.4.{arc}"), Value::Str((*v).to_owned())))
                    .collect(),
            );
        }
    };
    for (arc, values) in &fields {
        push_rdn(*arc, values);
    }
    if !common_name.is_empty() {
        push_rdn(3, &[&common_name]);
    }
    if !serial_number.is_empty() {
        push_rdn(5, &[&serial_number]);
    }

    // RDNSequence.String(): reverse order, "," between RDNs, "+" inside one.
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, (oid, value)) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            write_atv(&mut out, oid, value, format);
        }
    }
    Ok(out)
}

fn type_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.6" => "C",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.3" => "CN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.17" => "POSTALCODE",
        _ => return None,
    })
}

fn write_atv(out: &mut String, oid: &str, value: &Value, format: GoDnFormat) {
    // Values of other ASN.1 types print as DER hex (Go only ever holds them for attribute
    // types outside the named nine); so do strings of those types in older Go releases.
    let der = match (value, format) {
        (Value::Other(der), _) => Some(der.clone()),
        (Value::Str(s), GoDnFormat::LegacyHex) if type_name(oid).is_none() => {
            Some(marshal_go_string(s))
        }
        _ => None,
    };
    if let Some(der) = der {
        out.push_str(oid);
        out.push_str("=#");
        out.push_str(&hex::encode(der));
        return;
    }
    let value_string = match value {
        Value::Str(s) => s.as_str(),
        // asn1.Marshal(nil) fails, so Go prints fmt.Sprint(nil).
        _ => "<nil>",
    };
    out.push_str(type_name(oid).unwrap_or(oid));
    out.push('=');
    escape_into(out, value_string);
}

/// The escaping loop of Go's `RDNSequence.String()`.
fn escape_into(out: &mut String, value: &str) {
    for (k, c) in value.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == value.len() - 1,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

/// `asn1.Marshal` of a Go string: PrintableString when every character is printable
/// (`*` and `&` are not), UTF8String otherwise.
fn marshal_go_string(s: &str) -> Vec<u8> {
    let printable = s.bytes().all(|b| b.is_ascii() && is_printable(b, false));
    let tag = if printable { 0x13 } else { 0x0c };
    der_element(tag, s.as_bytes())
}

fn der_element(identifier: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![identifier];
    push_der_length(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Go's `isPrintable` (x509 parser: `*` and `&` tolerated; asn1 marshal: refused).
fn is_printable(b: u8, tolerant: bool) -> bool {
    b.is_ascii_alphanumeric()
        || (b'\''..=b')').contains(&b)
        || (b'+'..=b'/').contains(&b)
        || matches!(b, b' ' | b':' | b'=' | b'?')
        || (tolerant && matches!(b, b'*' | b'&'))
}

/// Go's `readASN1Any` / `parseASN1String` on one attribute value.
///
/// Non-string values keep their DER element for printing; Go re-marshals its parsed value,
/// which gives the same bytes for DER input except for times (Go may pick the other time
/// type). Known differences at the edges: Go refuses a certificate with an INTEGER value beyond
/// 64 bits (we print it), and we refuse high tag numbers (≥ 31).
fn parse_value(
    any: &x509_parser::der_parser::asn1_rs::Any<'_>,
    format: GoDnFormat,
) -> Result<Value, IdentityError> {
    let header = &any.header;
    let data = any.data;
    let universal = header.class() == x509_parser::der_parser::asn1_rs::Class::Universal
        && !header.is_constructed();
    let tag = header.tag().0;
    let bad = |what: &str| IdentityError::AttributeValue(format!("invalid {what}"));
    if universal {
        match tag {
            // T61String: Go treats it as Latin-1.
            20 => return Ok(Value::Str(data.iter().map(|b| char::from(*b)).collect())),
            19 => {
                if !data.iter().all(|b| is_printable(*b, true)) {
                    return Err(bad("PrintableString"));
                }
                return Ok(Value::Str(latin_ascii(data)));
            }
            12 => {
                return std::str::from_utf8(data)
                    .map(|s| Value::Str(s.to_owned()))
                    .map_err(|_| bad("UTF-8 string"));
            }
            30 => {
                return bmp_string(data)
                    .map(Value::Str)
                    .ok_or_else(|| bad("BMPString"));
            }
            22 => {
                if !data.is_ascii() {
                    return Err(bad("IA5String"));
                }
                return Ok(Value::Str(latin_ascii(data)));
            }
            18 => {
                if !data.iter().all(|b| b.is_ascii_digit() || *b == b' ') {
                    return Err(bad("NumericString"));
                }
                return Ok(Value::Str(latin_ascii(data)));
            }
            _ => {}
        }
    }
    if format == GoDnFormat::LegacyHex {
        return Err(IdentityError::AttributeValue(format!(
            "unsupported string type: {tag}"
        )));
    }
    if universal && tag == 5 {
        if !data.is_empty() {
            return Err(bad("NULL"));
        }
        return Ok(Value::Null);
    }
    if tag > 30 {
        // Go's cryptobyte reads high tag numbers, but no certificate we accept uses one.
        return Err(IdentityError::AttributeValue(format!(
            "unsupported tag number {tag}"
        )));
    }
    let class_bits: u8 = match header.class() {
        x509_parser::der_parser::asn1_rs::Class::Universal => 0,
        x509_parser::der_parser::asn1_rs::Class::Application => 1,
        x509_parser::der_parser::asn1_rs::Class::ContextSpecific => 2,
        x509_parser::der_parser::asn1_rs::Class::Private => 3,
    };
    let identifier = (class_bits << 6) | (u8::from(header.is_constructed()) << 5) | tag as u8;
    Ok(Value::Other(der_element(identifier, data)))
}

/// Bytes already checked to be ASCII, as a string.
fn latin_ascii(data: &[u8]) -> String {
    data.iter().map(|b| char::from(*b)).collect()
}

/// Go's BMPString decoding: UCS-2, an optional 0x0000 terminator, no surrogates or
/// non-characters.
fn bmp_string(data: &[u8]) -> Option<String> {
    if data.len() % 2 != 0 {
        return None;
    }
    let mut data = data;
    if data.len() >= 2 && data[data.len() - 1] == 0 && data[data.len() - 2] == 0 {
        data = &data[..data.len() - 2];
    }
    let mut out = String::with_capacity(data.len() / 2);
    for pair in data.chunks_exact(2) {
        let point = u16::from(pair[0]) << 8 | u16::from(pair[1]);
        if point == 0xfffe || point == 0xffff || (0xfdd0..=0xfdef).contains(&point) {
            return None;
        }
        out.push(char::from_u32(u32::from(point))?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_go() {
        let mut s = String::new();
        escape_into(&mut s, " #a,b+c\"d\\e<f>g;h# ");
        assert_eq!(s, r#"\ #a\,b\+c\"d\\e\<f\>g\;h#\ "#);
        let mut s = String::new();
        escape_into(&mut s, "é ");
        assert_eq!(s, "é\\ ");
    }

    #[test]
    fn marshal_choice() {
        assert_eq!(marshal_go_string("ab"), vec![0x13, 2, b'a', b'b']);
        assert_eq!(marshal_go_string("a@b"), vec![0x0c, 3, b'a', b'@', b'b']);
        assert_eq!(marshal_go_string("a*"), vec![0x0c, 2, b'a', b'*']);
        let long = "x".repeat(200);
        assert_eq!(&marshal_go_string(&long)[..3], &[0x13, 0x81, 200]);
    }

    #[test]
    fn not_pem() {
        assert_eq!(client_id(b"garbage"), Err(IdentityError::NoPem));
    }
}
