//! The `peer lifecycle chaincode install` package for a chaincode-as-a-service chaincode.
//!
//! Fabric's CCaaS builder expects an outer gzip'd tar holding exactly two regular files,
//! `metadata.json` (`{"type":"ccaas","label":...}`) and `code.tar.gz`, the latter holding
//! `connection.json` (where the peer dials the chaincode, and with which TLS settings). The
//! package id the peer computes is `label:hex(sha256(outer bytes))`, so every byte here is
//! fixed (mtimes, owners, modes, gzip header) and the id is the same on every run.

use std::io::Write;

use flate2::{Compression, GzBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Why a package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "invalid label {0:?}: a label starts with a letter or digit and continues with letters, \
         digits, '_', '.', '+' or '-' (Fabric's ^[[:alnum:]][[:alnum:]_.+-]*$), e.g. sfcbc_1.0"
    )]
    InvalidLabel(String),
    #[error("invalid address {0:?}: expected HOST:PORT, e.g. 127.0.0.1:9999")]
    InvalidAddress(String),
    #[error(
        "invalid dial timeout {0:?}: expected a Go duration such as \"10s\", \"500ms\" or \"1m\""
    )]
    InvalidDialTimeout(String),
    #[error("TLS setting {0} needs {1}")]
    IncompleteTls(&'static str, &'static str),
    #[error("{what} is not a PEM block ({detail})")]
    NotPem { what: &'static str, detail: String },
    #[error("the server certificate does not fit: {0}")]
    ServerCert(String),
    #[error("writing the package: {0}")]
    Io(#[from] std::io::Error),
}

/// TLS settings the peer uses when it dials the chaincode server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageTls {
    /// PEM of the CA (or self-signed certificate) the peer trusts for the chaincode server.
    pub root_cert: String,
    /// Mutual TLS: the client certificate and key (PEM) the peer presents to the server.
    pub client: Option<(String, String)>,
    /// The server's own certificate (PEM), when known: not packaged, only checked against
    /// the address's host and the root, so a mismatch shows up now and not as a peer that
    /// cannot connect.
    pub server_cert: Option<String>,
}

/// What goes into the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSpec {
    /// The package label, e.g. `sfcbc_1.0`.
    pub label: String,
    /// `HOST:PORT` the peer dials; may contain the builder's `{{.peername}}` template.
    pub address: String,
    /// Go duration string the peer waits for a connection, e.g. `10s` (mandatory for the
    /// peer's JSON decoder to accept the file, so never empty).
    pub dial_timeout: String,
    /// `None`: plaintext gRPC.
    pub tls: Option<PackageTls>,
}

/// A built package: its bytes and the id Fabric will compute for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub label: String,
    pub bytes: Vec<u8>,
    /// `label:hex(sha256(bytes))`, as `peer lifecycle chaincode calculatepackageid` prints it.
    pub package_id: String,
    /// The `connection.json` inside `code.tar.gz`, for display.
    pub connection_json: String,
    /// The `metadata.json`.
    pub metadata_json: String,
}

/// `connection.json` exactly as Fabric's `ChaincodeServerUserData` reads it.
#[derive(Serialize)]
struct Connection<'a> {
    address: &'a str,
    dial_timeout: &'a str,
    tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    client_auth_required: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    root_cert: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    client_key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    client_cert: &'a str,
}

#[derive(Serialize)]
struct Metadata<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    label: &'a str,
}

/// Fixed modification time of every tar entry (2020-01-01T00:00:00Z): any constant works,
/// a non-zero one keeps `tar` from warning about implausibly old files.
const FIXED_MTIME: u64 = 1_577_836_800;

/// Fabric's label rule `^[[:alnum:]][[:alnum:]_.+-]*$` (Go's `[[:alnum:]]` is ASCII only).
pub fn valid_label(label: &str) -> bool {
    let mut chars = label.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

/// A Go `time.ParseDuration` subset: one or more `<number><unit>` with units ns us ms s m h.
fn valid_go_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 || rest[..digits].parse::<f64>().is_err() {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .into_iter()
            // "ms" before "m" and "s": try longer units first.
            .filter(|u| rest.starts_with(u))
            .max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn check_pem(what: &'static str, pem: &str) -> Result<(), PackageError> {
    let mut reader = pem.as_bytes();
    match rustls_pemfile::read_one(&mut reader) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(PackageError::NotPem {
            what,
            detail: "no PEM block found".into(),
        }),
        Err(e) => Err(PackageError::NotPem {
            what,
            detail: e.to_string(),
        }),
    }
}

fn der_of(what: &'static str, pem: &str) -> Result<Vec<u8>, PackageError> {
    match rustls_pemfile::certs(&mut pem.as_bytes()).next() {
        Some(Ok(der)) => Ok(der.to_vec()),
        Some(Err(e)) => Err(PackageError::NotPem {
            what,
            detail: e.to_string(),
        }),
        None => Err(PackageError::NotPem {
            what,
            detail: "no CERTIFICATE block found".into(),
        }),
    }
}

/// Would a Go TLS client (the peer) accept `cert_pem` for `address`, trusting `root_pem`?
/// Checks the subject alternative names (Go ignores the common name: an IP needs an IP SAN,
/// a name a DNS SAN, `*.` wildcards cover one label) and the signature by the root. Hosts
/// with a `{{...}}` template are filled in by the builder later and skip the name check.
pub fn check_server_cert(
    address: &str,
    cert_pem: &str,
    root_pem: &str,
) -> Result<(), PackageError> {
    use x509_parser::extensions::GeneralName;
    let bad = |m: String| PackageError::ServerCert(m);
    let cert_der = der_of("the server certificate", cert_pem)?;
    let root_der = der_of("the TLS root certificate", root_pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&cert_der)
        .map_err(|e| bad(format!("unreadable certificate: {e}")))?;
    let (_, root) = x509_parser::parse_x509_certificate(&root_der)
        .map_err(|e| bad(format!("unreadable root certificate: {e}")))?;
    if cert_der != root_der {
        cert.verify_signature(Some(root.public_key()))
            .map_err(|_| {
                bad(format!(
                    "it is not signed by the root certificate ({}), so the peer will not trust it",
                    root.subject()
                ))
            })?;
    }
    let host = address.rsplit_once(':').map(|(h, _)| h).unwrap_or(address);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.contains("{{") {
        return Ok(());
    }
    let sans: Vec<GeneralName<'_>> = cert
        .subject_alternative_name()
        .map_err(|e| bad(format!("unreadable subject alternative names: {e}")))?
        .map(|ext| ext.value.general_names.clone())
        .unwrap_or_default();
    let covered = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => sans.iter().any(|n| match n {
            GeneralName::IPAddress(b) => match (ip, b.len()) {
                (std::net::IpAddr::V4(v4), 4) => v4.octets() == **b,
                (std::net::IpAddr::V6(v6), 16) => v6.octets() == **b,
                _ => false,
            },
            _ => false,
        }),
        Err(_) => sans.iter().any(|n| match n {
            GeneralName::DNSName(d) => dns_matches(d, host),
            _ => false,
        }),
    };
    if covered {
        Ok(())
    } else {
        let names: Vec<String> = sans.iter().map(|n| n.to_string()).collect();
        Err(bad(format!(
            "it names [{}] but the peer dials {host}; add {} SAN {host} to the certificate \
             or package another address",
            names.join(", "),
            if host.parse::<std::net::IpAddr>().is_ok() {
                "an IP"
            } else {
                "a DNS"
            }
        )))
    }
}

fn dns_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match p.strip_prefix("*.") {
        Some(rest) => h
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => p == h,
    }
}

fn check_address(address: &str) -> Result<(), PackageError> {
    let bad = || PackageError::InvalidAddress(address.to_string());
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

/// One regular-file tar entry with fixed metadata.
fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(FIXED_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("root")?;
    header.set_groupname("root")?;
    tar.append_data(&mut header, name, data)
}

/// A gzip'd tar of `files`, in the given order, with a fixed gzip header (no name, mtime 0).
fn tgz(files: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (name, data) in files {
        append_file(&mut tar, name, data)?;
    }
    tar.into_inner()?.finish()
}

/// Builds the package; the same spec always gives the same bytes.
pub fn build(spec: &PackageSpec) -> Result<Package, PackageError> {
    if !valid_label(&spec.label) {
        return Err(PackageError::InvalidLabel(spec.label.clone()));
    }
    check_address(&spec.address)?;
    if !valid_go_duration(&spec.dial_timeout) {
        return Err(PackageError::InvalidDialTimeout(spec.dial_timeout.clone()));
    }
    let (root_cert, client_cert, client_key) = match &spec.tls {
        None => ("", "", ""),
        Some(tls) => {
            if tls.root_cert.is_empty() {
                return Err(PackageError::IncompleteTls(
                    "tls",
                    "a root certificate the peer trusts for the server (--tls-root-cert)",
                ));
            }
            check_pem("the TLS root certificate", &tls.root_cert)?;
            if let Some(server) = &tls.server_cert {
                check_server_cert(&spec.address, server, &tls.root_cert)?;
            }
            match &tls.client {
                None => (tls.root_cert.as_str(), "", ""),
                Some((cert, key)) => {
                    check_pem("the client certificate", cert)?;
                    check_pem("the client key", key)?;
                    (tls.root_cert.as_str(), cert.as_str(), key.as_str())
                }
            }
        }
    };
    let connection = Connection {
        address: &spec.address,
        dial_timeout: &spec.dial_timeout,
        tls_required: spec.tls.is_some(),
        client_auth_required: !client_cert.is_empty(),
        root_cert,
        client_key,
        client_cert,
    };
    let connection_json =
        serde_json::to_string(&connection).expect("a struct of strings always serialises");
    let metadata_json = serde_json::to_string(&Metadata {
        kind: "ccaas",
        label: &spec.label,
    })
    .expect("a struct of strings always serialises");

    let code = tgz(&[("connection.json", connection_json.as_bytes())])?;
    let bytes = tgz(&[
        ("metadata.json", metadata_json.as_bytes()),
        ("code.tar.gz", &code),
    ])?;
    let package_id = package_id(&spec.label, &bytes);
    Ok(Package {
        label: spec.label.clone(),
        bytes,
        package_id,
        connection_json,
        metadata_json,
    })
}

/// `label:hex(sha256(bytes))`, Fabric's package id.
pub fn package_id(label: &str, bytes: &[u8]) -> String {
    format!("{label}:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_cert_must_fit_the_address() {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["cc.example.com".to_string()]).unwrap();
        p.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = p.signed_by(&key, &issuer).unwrap().pem();
        check_server_cert("127.0.0.1:9999", &cert, &root).unwrap();
        check_server_cert("cc.example.com:9999", &cert, &root).unwrap();
        check_server_cert("{{.peername}}_cc:9999", &cert, &root).unwrap();
        let e = check_server_cert("10.0.0.1:9999", &cert, &root)
            .unwrap_err()
            .to_string();
        assert!(e.contains("10.0.0.1") && e.contains("IP SAN"), "{e}");
        let e = check_server_cert("other.example.com:1", &cert, &root)
            .unwrap_err()
            .to_string();
        assert!(e.contains("DNS SAN"), "{e}");
        // Signed by another CA: the peer would not trust it.
        let other_key = KeyPair::generate().unwrap();
        let other_root = CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&other_key)
            .unwrap()
            .pem();
        let e = check_server_cert("127.0.0.1:9999", &cert, &other_root)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not signed"), "{e}");
        assert!(dns_matches("*.example.com", "cc.example.com"));
        assert!(!dns_matches("*.example.com", "a.b.example.com"));
    }

    #[test]
    fn labels_follow_fabric() {
        for ok in ["sfcbc_1.0", "a", "A1+b-c.d_e", "0x"] {
            assert!(valid_label(ok), "{ok}");
        }
        for bad in ["", "_a", ".a", "a b", "a/b", "é", "a:b", "-a"] {
            assert!(!valid_label(bad), "{bad}");
        }
    }

    #[test]
    fn durations_follow_go() {
        for ok in ["10s", "500ms", "1m30s", "1.5h", "100us"] {
            assert!(valid_go_duration(ok), "{ok}");
        }
        for bad in ["", "10", "s", "10 s", "ten seconds", "10d"] {
            assert!(!valid_go_duration(bad), "{bad}");
        }
    }

    #[test]
    fn reproducible_and_id_matches_bytes() {
        let spec = PackageSpec {
            label: "sfcbc_1.0".into(),
            address: "127.0.0.1:9999".into(),
            dial_timeout: "10s".into(),
            tls: None,
        };
        let a = build(&spec).unwrap();
        let b = build(&spec).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.package_id, b.package_id);
        assert!(a.package_id.starts_with("sfcbc_1.0:"));
        assert_eq!(a.package_id.len(), "sfcbc_1.0:".len() + 64);
        assert_eq!(
            a.connection_json,
            r#"{"address":"127.0.0.1:9999","dial_timeout":"10s","tls_required":false}"#
        );
        assert_eq!(a.metadata_json, r#"{"type":"ccaas","label":"sfcbc_1.0"}"#);
        let other = build(&PackageSpec {
            address: "127.0.0.1:9998".into(),
            ..spec
        })
        .unwrap();
        assert_ne!(a.package_id, other.package_id);
    }

    #[test]
    fn rejects_bad_input() {
        let spec = PackageSpec {
            label: "sfcbc_1.0".into(),
            address: "127.0.0.1:9999".into(),
            dial_timeout: "10s".into(),
            tls: None,
        };
        assert!(matches!(
            build(&PackageSpec {
                label: "bad label".into(),
                ..spec.clone()
            }),
            Err(PackageError::InvalidLabel(_))
        ));
        assert!(matches!(
            build(&PackageSpec {
                address: "nohost".into(),
                ..spec.clone()
            }),
            Err(PackageError::InvalidAddress(_))
        ));
        assert!(matches!(
            build(&PackageSpec {
                dial_timeout: "".into(),
                ..spec.clone()
            }),
            Err(PackageError::InvalidDialTimeout(_))
        ));
        assert!(matches!(
            build(&PackageSpec {
                tls: Some(PackageTls {
                    root_cert: "not pem".into(),
                    client: None,
                    server_cert: None,
                }),
                ..spec
            }),
            Err(PackageError::NotPem { .. })
        ));
    }
}
