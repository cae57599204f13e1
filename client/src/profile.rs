//! The client profile: everything the `sfcbc` CLI needs to reach a Fabric network — which
//! orgs exist, where each org's gateway peer listens and which TLS CA signs it, which MSP
//! folders hold the users' identities, the orderer, the channels and the chaincode name.
//!
//! `sfcbc devnet up` writes one (`~/.sfcbc/devnet/profile.yaml`, or under `$SFCBC_HOME`); for
//! a real network write it by hand and pass `--profile FILE`. YAML or JSON (a file whose
//! first non-blank character is `{` is read as JSON). Relative paths are relative to the
//! profile's own folder.
//!
//! ```yaml
//! name: devnet
//! chaincode: sfc                       # the SFC chaincode's name on every channel
//! channels: [sfc-chain1]               # the first is the default channel
//! default_identity: User1@Tenant1      # what --identity defaults to
//! orderer:
//!   endpoint: 127.0.0.1:7050
//!   tls_ca: organizations/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem
//!   server_name: orderer.example.com
//! orgs:
//!   Org1:
//!     msp_id: Org1MSP
//!     peer:
//!       endpoint: 127.0.0.1:7051       # Gateway + Deliver
//!       tls_ca: organizations/peerOrganizations/org1.example.com/tlsca/tlsca.org1.example.com-cert.pem
//!       server_name: peer0.org1.example.com
//!     users:
//!       Admin: organizations/peerOrganizations/org1.example.com/users/Admin@org1.example.com/msp
//!       User1: organizations/peerOrganizations/org1.example.com/users/User1@org1.example.com/msp
//! ```
//!
//! An identity is named `USER@ORG` (`User1@Tenant1`), where ORG is the org's key, its MSP ID
//! (`Tenant1MSP`) or its domain (`tenant1.example.com`), without regard to case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sfcbc_fabric::{MspDir, Signer};

use crate::{Gateway, TlsOptions};

/// The environment variable that moves sfcbc's home (default `~/.sfcbc`).
pub const HOME_ENV: &str = "SFCBC_HOME";

/// Why a profile could not be read or used. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "no profile at {path}: pass --profile FILE naming an existing profile, or start a devnet with `sfcbc devnet up` (it writes $SFCBC_HOME/devnet/profile.yaml, the default profile)"
    )]
    Missing { path: PathBuf },
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad profile {path}: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("profile {path}: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("bad identity {given:?}: write it as USER@ORG, e.g. User1@Tenant1")]
    IdentitySyntax { given: String },
    #[error("no org {org:?} in the profile; it has: {known}")]
    UnknownOrg { org: String, known: String },
    #[error("org {org} has no user {user:?} in the profile; it has: {known}")]
    UnknownUser {
        org: String,
        user: String,
        known: String,
    },
    #[error("no identity given and the profile has no default_identity: pass --identity USER@ORG")]
    NoIdentity,
    #[error("org {org} has no peer in the profile: use an identity of an org that runs a peer")]
    NoPeer { org: String },
    #[error("cannot load identity {identity} from {dir}: {detail}")]
    Msp {
        identity: String,
        dir: PathBuf,
        detail: String,
    },
    #[error("cannot connect to {org}'s gateway at {endpoint}: {detail}")]
    Connect {
        org: String,
        endpoint: String,
        detail: String,
    },
}

/// A client profile (see the module doc for the file format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A name for the network, shown in tables.
    pub name: String,
    /// The SFC chaincode's name.
    #[serde(default = "default_chaincode")]
    pub chaincode: String,
    /// Channels this network has; the first is the default when a command names none.
    #[serde(default)]
    pub channels: Vec<String>,
    /// `USER@ORG` used when `--identity` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderer: Option<Endpoint>,
    /// Orgs by name (`Org1`, `Tenant1`, ...).
    pub orgs: BTreeMap<String, Org>,
    /// The folder relative paths are resolved against (the profile file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

fn default_chaincode() -> String {
    "sfc".into()
}

/// One org of the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Org {
    pub msp_id: String,
    /// The org's gateway peer; an org without one can still sign, through another org's peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Endpoint>,
    /// User name (`Admin`, `User1`) → MSP folder (`signcerts/`, `keystore/`, `cacerts/`).
    #[serde(default)]
    pub users: BTreeMap<String, PathBuf>,
}

/// A gRPC endpoint with its TLS settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// `host:port`.
    pub endpoint: String,
    /// PEM of the CA that signs the endpoint's TLS certificate; plaintext gRPC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// The name to check the TLS certificate against instead of the endpoint's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// An identity chosen from the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The org's key in the profile.
    pub org: String,
    pub msp_id: String,
    pub user: String,
    /// The user's MSP folder (resolved).
    pub msp_dir: PathBuf,
}

impl Selected {
    /// `USER@ORG`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.user, self.org)
    }

    /// The user's signer, from its MSP folder.
    pub fn signer(&self) -> Result<Signer, ProfileError> {
        let err = |detail: String| ProfileError::Msp {
            identity: self.label(),
            dir: self.msp_dir.clone(),
            detail,
        };
        let msp = MspDir::load(&self.msp_dir).map_err(|e| err(e.to_string()))?;
        msp.signer(&self.msp_id).map_err(|e| err(e.to_string()))
    }
}

/// `$SFCBC_HOME`, else `~/.sfcbc`.
pub fn sfcbc_home() -> PathBuf {
    if let Some(h) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".sfcbc")
}

/// Where `sfcbc devnet up` keeps its network by default.
pub fn default_devnet_dir() -> PathBuf {
    sfcbc_home().join("devnet")
}

/// The profile `sfcbc devnet up` writes and every command reads by default.
pub fn default_profile_path() -> PathBuf {
    default_devnet_dir().join("profile.yaml")
}

impl Profile {
    /// Reads a profile (YAML or JSON) and checks it.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProfileError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(ProfileError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, path, base)
    }

    /// Parses profile text; `path` only names it in errors, `base_dir` resolves relative paths.
    pub fn parse(text: &str, path: &Path, base_dir: PathBuf) -> Result<Self, ProfileError> {
        let parse_err = |detail: String| ProfileError::Parse {
            path: path.to_path_buf(),
            detail,
        };
        let mut p: Profile = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| parse_err(e.to_string()))?
        } else {
            serde_yaml::from_str(text).map_err(|e| parse_err(e.to_string()))?
        };
        p.base_dir = base_dir;
        p.check().map_err(|detail| ProfileError::Invalid {
            path: path.to_path_buf(),
            detail,
        })?;
        Ok(p)
    }

    /// Settings that cannot work.
    fn check(&self) -> Result<(), String> {
        if self.orgs.is_empty() {
            return Err("`orgs` is empty: list at least one org with its msp_id".into());
        }
        for (name, org) in &self.orgs {
            if org.msp_id.is_empty() {
                return Err(format!("org {name} has an empty msp_id"));
            }
            if let Some(peer) = &org.peer {
                check_endpoint(&format!("orgs.{name}.peer.endpoint"), &peer.endpoint)?;
            }
        }
        if let Some(o) = &self.orderer {
            check_endpoint("orderer.endpoint", &o.endpoint)?;
        }
        if self.chaincode.is_empty() {
            return Err("`chaincode` is empty".into());
        }
        Ok(())
    }

    /// Writes the profile as YAML (paths as they are: make them absolute or relative to
    /// `path`'s folder first).
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        let text = serde_yaml::to_string(self).map_err(|e| ProfileError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| ProfileError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let header = "# sfcbc client profile: see `sfcbc --help` and client/src/profile.rs\n";
        std::fs::write(path, format!("{header}{text}")).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A path from the profile, resolved against its folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The org named `org`: its key, MSP ID or domain (`org1.example.com`), any case.
    pub fn org(&self, org: &str) -> Result<(&str, &Org), ProfileError> {
        let want = org.to_ascii_lowercase();
        let first_label = want.split('.').next().unwrap_or_default().to_owned();
        self.orgs
            .iter()
            .find(|(k, o)| {
                let k = k.to_ascii_lowercase();
                k == want
                    || o.msp_id.eq_ignore_ascii_case(&want)
                    || (want.contains('.') && k == first_label)
            })
            .map(|(k, o)| (k.as_str(), o))
            .ok_or_else(|| ProfileError::UnknownOrg {
                org: org.to_owned(),
                known: self.orgs.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// The org whose MSP ID is `msp_id`.
    pub fn org_by_msp(&self, msp_id: &str) -> Option<(&str, &Org)> {
        self.orgs
            .iter()
            .find(|(_, o)| o.msp_id == msp_id)
            .map(|(k, o)| (k.as_str(), o))
    }

    /// Chooses `USER@ORG` (or the profile's default identity when `None`).
    pub fn select(&self, identity: Option<&str>) -> Result<Selected, ProfileError> {
        let given = match identity {
            Some(i) => i.to_owned(),
            None => self
                .default_identity
                .clone()
                .ok_or(ProfileError::NoIdentity)?,
        };
        let (user, org) = given
            .rsplit_once('@')
            .filter(|(u, o)| !u.is_empty() && !o.is_empty())
            .ok_or_else(|| ProfileError::IdentitySyntax {
                given: given.clone(),
            })?;
        let (key, o) = self.org(org)?;
        let (user_name, dir) = o
            .users
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(user))
            .ok_or_else(|| ProfileError::UnknownUser {
                org: key.to_owned(),
                user: user.to_owned(),
                known: o.users.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        Ok(Selected {
            org: key.to_owned(),
            msp_id: o.msp_id.clone(),
            user: user_name.clone(),
            msp_dir: self.resolve(dir),
        })
    }

    /// The gateway peer of org `org` (any name [`Profile::org`] takes).
    pub fn peer_of(&self, org: &str) -> Result<(&str, &Endpoint), ProfileError> {
        let (key, o) = self.org(org)?;
        o.peer
            .as_ref()
            .map(|p| (key, p))
            .ok_or_else(|| ProfileError::NoPeer {
                org: key.to_owned(),
            })
    }

    /// TLS options for `endpoint` (`None`: plaintext).
    pub fn tls_for(&self, endpoint: &Endpoint) -> Result<Option<TlsOptions>, ProfileError> {
        let Some(ca) = &endpoint.tls_ca else {
            return Ok(None);
        };
        let ca = self.resolve(ca);
        let mut tls = TlsOptions::from_ca_file(&ca).map_err(|e| ProfileError::Invalid {
            path: ca.clone(),
            detail: format!("{e}: check the peer's tls_ca path in the profile"),
        })?;
        if let Some(n) = &endpoint.server_name {
            tls = tls.server_name(n.clone());
        }
        Ok(Some(tls))
    }

    /// Connects `selected` to the gateway peer of org `via` (default: its own org).
    pub async fn connect(
        &self,
        selected: &Selected,
        via: Option<&str>,
    ) -> Result<Gateway, ProfileError> {
        let (org, peer) = self.peer_of(via.unwrap_or(&selected.org))?;
        let signer = selected.signer()?;
        let tls = self.tls_for(peer)?;
        Gateway::connect(signer.identity().clone(), signer, &peer.endpoint, tls)
            .await
            .map_err(|e| ProfileError::Connect {
                org: org.to_owned(),
                endpoint: peer.endpoint.clone(),
                detail: format!("{e}; is the network running (`sfcbc devnet status`)?"),
            })
    }

    /// The channel a chain lives on: `explicit`, else `sfc-{chain}` when the profile lists it
    /// (one channel per SFC), else the profile's first channel.
    pub fn channel_for(&self, chain: Option<&str>, explicit: Option<&str>) -> Option<String> {
        if let Some(c) = explicit {
            return Some(c.to_owned());
        }
        if let Some(chain) = chain {
            let own = format!("sfc-{chain}");
            if self.channels.contains(&own) {
                return Some(own);
            }
        }
        self.channels.first().cloned()
    }
}

fn check_endpoint(field: &str, endpoint: &str) -> Result<(), String> {
    match endpoint.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!(
            "{field} = {endpoint:?}: write it as HOST:PORT, e.g. 127.0.0.1:7051"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
name: devnet
channels: [sfc-chain1, other]
default_identity: User1@Tenant1
orgs:
  Org1:
    msp_id: Org1MSP
    peer: { endpoint: "127.0.0.1:7051", server_name: peer0.org1.example.com }
    users: { Admin: org1/admin, User1: /abs/org1/user1 }
  Tenant1:
    msp_id: Tenant1MSP
    users: { User1: t1/user1 }
"#;

    fn profile() -> Profile {
        Profile::parse(YAML, Path::new("p.yaml"), PathBuf::from("/base")).unwrap()
    }

    #[test]
    fn selects_identities_by_org_key_msp_or_domain() {
        let p = profile();
        let s = p.select(None).unwrap();
        assert_eq!(
            (s.org.as_str(), s.msp_id.as_str(), s.user.as_str()),
            ("Tenant1", "Tenant1MSP", "User1")
        );
        assert_eq!(s.msp_dir, PathBuf::from("/base/t1/user1"));
        for name in ["user1@org1", "User1@Org1MSP", "User1@org1.example.com"] {
            let s = p.select(Some(name)).unwrap();
            assert_eq!(s.msp_id, "Org1MSP", "{name}");
            assert_eq!(s.msp_dir, PathBuf::from("/abs/org1/user1"));
        }
        assert!(matches!(
            p.select(Some("User1")),
            Err(ProfileError::IdentitySyntax { .. })
        ));
        let e = p.select(Some("User9@Org1")).unwrap_err().to_string();
        assert!(e.contains("Admin, User1"), "{e}");
        let e = p.select(Some("User1@Org7")).unwrap_err().to_string();
        assert!(e.contains("Org1, Tenant1"), "{e}");
        assert!(matches!(
            p.peer_of("Tenant1"),
            Err(ProfileError::NoPeer { .. })
        ));
    }

    #[test]
    fn channel_per_chain_then_default() {
        let p = profile();
        assert_eq!(p.channel_for(Some("chain1"), None).unwrap(), "sfc-chain1");
        assert_eq!(p.channel_for(Some("chain2"), None).unwrap(), "sfc-chain1");
        assert_eq!(p.channel_for(Some("chain1"), Some("x")).unwrap(), "x");
    }

    #[test]
    fn json_and_round_trip_and_errors() {
        let p = profile();
        let json = serde_json::to_string(&p).unwrap();
        let q = Profile::parse(&json, Path::new("p.json"), PathBuf::from("/base")).unwrap();
        assert_eq!(p, q);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        p.save(&path).unwrap();
        let mut r = Profile::load(&path).unwrap();
        r.base_dir = PathBuf::from("/base");
        assert_eq!(p, r);
        for (bad, want) in [
            ("name: x\norgs: {}\n", "orgs"),
            (
                "name: x\norgs:\n  A: { msp_id: AMSP, peer: { endpoint: nohost } }\n",
                "HOST:PORT",
            ),
            ("name: x\ntypo: 1\norgs: {}\n", "typo"),
        ] {
            let e = Profile::parse(bad, Path::new("b.yaml"), PathBuf::new())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
        assert!(matches!(
            Profile::load(&dir.path().join("none.yaml")),
            Err(ProfileError::Missing { .. })
        ));
    }
}
