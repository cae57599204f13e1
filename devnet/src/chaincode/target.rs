//! Where a peer dials a chaincode server: the `connection.json` of a CCaaS package, read as
//! Fabric's `externalbuilder.ChaincodeServerUserData` reads it.

use std::time::Duration;

use serde::Deserialize;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::ChaincodeError;

/// Fabric's default dial timeout when `connection.json` gives none.
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// TLS settings for dialling a chaincode server.
#[derive(Clone, PartialEq, Eq)]
pub struct TargetTls {
    /// PEM root certificate(s) the server's certificate must chain to.
    pub root_cert: String,
    /// PEM client certificate and key, for servers requiring client authentication.
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// The name to check the server certificate against instead of the address's host
    /// (`connection.json`'s `domain`; Fabric applies it with client authentication).
    pub domain: Option<String>,
}

impl std::fmt::Debug for TargetTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetTls")
            .field("client_auth", &self.client_cert.is_some())
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// A chaincode server to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeTarget {
    /// `host:port`.
    pub address: String,
    pub dial_timeout: Duration,
    pub tls: Option<TargetTls>,
}

#[derive(Deserialize)]
struct ConnectionJson {
    #[serde(default)]
    address: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    dial_timeout: Option<serde_json::Value>,
    #[serde(default)]
    tls_required: bool,
    #[serde(default)]
    client_auth_required: bool,
    #[serde(default)]
    client_key: String,
    #[serde(default)]
    client_cert: String,
    #[serde(default)]
    root_cert: String,
}

impl ChaincodeTarget {
    /// A plaintext target with Fabric's default dial timeout.
    pub fn plaintext(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            dial_timeout: DEFAULT_DIAL_TIMEOUT,
            tls: None,
        }
    }

    /// Reads a `connection.json` with Fabric's rules and messages.
    pub fn from_connection_json(bytes: &[u8]) -> Result<Self, ChaincodeError> {
        let bad = |m: String| ChaincodeError::Config(m);
        let c: ConnectionJson =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("connection.json: {e}")))?;
        if c.address.is_empty() {
            return Err(bad("chaincode address not provided".into()));
        }
        let dial_timeout = match c.dial_timeout {
            None | Some(serde_json::Value::Null) => Duration::ZERO,
            // A JSON number is nanoseconds (Go's time.Duration).
            Some(serde_json::Value::Number(n)) => n
                .as_f64()
                .filter(|f| *f >= 0.0)
                .map(|f| Duration::from_nanos(f as u64))
                .ok_or_else(|| bad(format!("connection.json: dial_timeout {n} is invalid")))?,
            Some(serde_json::Value::String(s)) => parse_go_duration(&s).ok_or_else(|| {
                bad(format!(
                    "connection.json: time: invalid duration \"{s}\" in dial_timeout"
                ))
            })?,
            Some(_) => return Err(bad("connection.json: invalid duration".into())),
        };
        let dial_timeout = if dial_timeout.is_zero() {
            DEFAULT_DIAL_TIMEOUT
        } else {
            dial_timeout
        };
        let tls = if !c.tls_required {
            None
        } else {
            if c.client_auth_required && c.client_key.is_empty() {
                return Err(bad("chaincode tls key not provided".into()));
            }
            if c.client_auth_required && c.client_cert.is_empty() {
                return Err(bad("chaincode tls cert not provided".into()));
            }
            if c.root_cert.is_empty() {
                return Err(bad("chaincode tls root cert not provided".into()));
            }
            Some(TargetTls {
                root_cert: c.root_cert,
                client_cert: c.client_auth_required.then_some(c.client_cert),
                client_key: c.client_auth_required.then_some(c.client_key),
                domain: (c.client_auth_required && !c.domain.is_empty()).then_some(c.domain),
            })
        };
        Ok(Self {
            address: c.address,
            dial_timeout,
            tls,
        })
    }

    /// Opens the gRPC channel (HTTP/2 connection) within the dial timeout.
    pub(crate) async fn dial(&self) -> Result<Channel, ChaincodeError> {
        let unavailable = |m: String| ChaincodeError::Unavailable {
            address: self.address.clone(),
            message: m,
        };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut ep = Endpoint::from_shared(format!("{scheme}://{}", self.address))
            .map_err(|e| {
                ChaincodeError::Config(format!("chaincode address {}: {e}", self.address))
            })?
            .connect_timeout(self.dial_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(60))
            .keep_alive_timeout(Duration::from_secs(20))
            .keep_alive_while_idle(true);
        if let Some(tls) = &self.tls {
            let mut cfg =
                ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.root_cert));
            if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
                cfg = cfg.identity(Identity::from_pem(cert, key));
            }
            if let Some(d) = &tls.domain {
                cfg = cfg.domain_name(d.clone());
            }
            ep = ep
                .tls_config(cfg)
                .map_err(|e| ChaincodeError::Config(format!("chaincode TLS settings: {e}")))?;
        }
        match tokio::time::timeout(self.dial_timeout, ep.connect()).await {
            Ok(Ok(ch)) => Ok(ch),
            Ok(Err(e)) => Err(unavailable(format!(
                "error creating grpc connection to {}: {}",
                self.address,
                error_chain(&e)
            ))),
            Err(_) => Err(unavailable(format!(
                "error creating grpc connection to {}: dial timed out after {:?}",
                self.address, self.dial_timeout
            ))),
        }
    }
}

/// An error with its sources, "a: b: c".
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Go's `time.ParseDuration` for the units connection.json files use (ns..h, decimals,
/// several parts like "1m30s").
fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.starts_with('-') {
        return None;
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_json_as_fabric_reads_it() {
        let t = ChaincodeTarget::from_connection_json(
            br#"{"address":"sfcbc-cc:9999","dial_timeout":"10s","tls_required":false}"#,
        )
        .unwrap();
        assert_eq!(t.address, "sfcbc-cc:9999");
        assert_eq!(t.dial_timeout, Duration::from_secs(10));
        assert!(t.tls.is_none());

        let t = ChaincodeTarget::from_connection_json(br#"{"address":"a:1"}"#).unwrap();
        assert_eq!(t.dial_timeout, DEFAULT_DIAL_TIMEOUT);
        let t = ChaincodeTarget::from_connection_json(
            br#"{"address":"a:1","dial_timeout":1500000000}"#,
        )
        .unwrap();
        assert_eq!(t.dial_timeout, Duration::from_millis(1500));

        let t = ChaincodeTarget::from_connection_json(
            br#"{"address":"a:1","dial_timeout":"1m30s","tls_required":true,"client_auth_required":true,
                 "client_key":"K","client_cert":"C","root_cert":"R","domain":"cc.example.com"}"#,
        )
        .unwrap();
        assert_eq!(t.dial_timeout, Duration::from_secs(90));
        let tls = t.tls.unwrap();
        assert_eq!(
            (
                tls.root_cert.as_str(),
                tls.client_cert.as_deref(),
                tls.client_key.as_deref()
            ),
            ("R", Some("C"), Some("K"))
        );
        assert_eq!(tls.domain.as_deref(), Some("cc.example.com"));

        for (json, msg) in [
            (&br#"{"dial_timeout":"10s"}"#[..], "chaincode address not provided"),
            (
                br#"{"address":"a:1","tls_required":true}"#,
                "chaincode tls root cert not provided",
            ),
            (
                br#"{"address":"a:1","tls_required":true,"client_auth_required":true,"root_cert":"R","client_cert":"C"}"#,
                "chaincode tls key not provided",
            ),
            (
                br#"{"address":"a:1","dial_timeout":"ten"}"#,
                "invalid duration",
            ),
            (b"{", "connection.json"),
        ] {
            let e = ChaincodeTarget::from_connection_json(json).unwrap_err().to_string();
            assert!(e.contains(msg), "{e} should contain {msg}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("-1s"), None);
    }
}
