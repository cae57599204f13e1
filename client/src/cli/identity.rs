//! `sfcbc identity register|enroll|revoke`: identities from a real Fabric CA, through its
//! REST API (the one `fabric-ca-client` uses; `sfcbc_client::ca`). `register` and `revoke`
//! authenticate with the registrar's token: `--registrar USER@ORG` from the profile, or an
//! MSP folder. `enroll` writes an MSP folder in Fabric's layout (signcerts, keystore,
//! cacerts, NodeOUs `config.yaml`) that a profile's `users:` entry can point at.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use sfcbc_client::ca::{
    self, AttributeRequest, CaTarget, EnrollOptions, MspWriteOptions, RegistrationRequest,
    RevocationRequest,
};
use sfcbc_fabric::Signer;

use super::output::outln;
use super::{Ctx, output};

const EXAMPLES: &str = "\
Examples:
  sfcbc identity enroll --ca-url https://localhost:7054 --tls-ca ca-cert.pem \\
      --id admin --secret adminpw --msp-id Org1MSP --out org1-admin/msp
  sfcbc identity register --ca-url https://localhost:7054 --tls-ca ca-cert.pem \\
      --registrar org1-admin/msp --id sf1 --secret sf1pw --type client \\
      --affiliation org1.department1 --attrs 'role=sf:ecert'
  sfcbc identity register --ca-url https://localhost:7054 --tls-ca ca-cert.pem \\
      --registrar Admin@Org1 --id user2          # registrar from the profile; secret generated
  sfcbc identity enroll --ca-url https://localhost:7054 --tls-ca ca-cert.pem \\
      --id sf1 --secret sf1pw --msp-id Org1MSP --out sf1/msp
  sfcbc identity revoke --ca-url https://localhost:7054 --tls-ca ca-cert.pem \\
      --registrar org1-admin/msp --id sf1 --reason keycompromise

The registrar needs hf.Registrar.Roles (and hf.Revoker to revoke). A revoked identity is
refused by Fabric once the channel's MSP carries the CA's CRL.";

#[derive(Debug, Subcommand)]
pub enum IdentityCmd {
    /// Register a new identity with the CA (as a registrar); prints its enrollment secret.
    #[command(after_help = EXAMPLES)]
    Register(RegisterArgs),
    /// Enroll an identity (id + secret) and write its MSP folder.
    #[command(after_help = EXAMPLES)]
    Enroll(EnrollArgs),
    /// Revoke an identity (all its certificates) or one certificate (as a revoker).
    #[command(after_help = EXAMPLES)]
    Revoke(RevokeArgs),
}

/// Where the CA is.
#[derive(Debug, clap::Args)]
pub struct CaArgs {
    /// The Fabric CA's URL: https://HOST:PORT (http://, or HOST:PORT meaning http; port
    /// 7054 when none is given).
    #[arg(long, value_name = "URL")]
    ca_url: String,
    /// PEM of the CA that issued the server's TLS certificate (for https; often the CA's
    /// own ca-cert.pem). Without it https verifies against the Web PKI roots.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// The CA's name on a multi-CA server (`--caname`).
    #[arg(long, value_name = "NAME")]
    ca_name: Option<String>,
}

impl CaArgs {
    fn target(&self) -> CaTarget {
        CaTarget {
            url: self.ca_url.clone(),
            tls_ca: self.tls_ca.clone(),
            ca_name: self.ca_name.clone(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    ca: CaArgs,
    /// Who registers: USER@ORG from the profile, or an MSP folder (e.g. the CA admin's).
    #[arg(long, value_name = "USER@ORG|MSPDIR")]
    registrar: String,
    /// MSP ID to load a registrar MSP folder under (labels it only; the CA ignores it).
    #[arg(long, value_name = "MSP")]
    msp_id: Option<String>,
    /// The new identity's enrollment id.
    #[arg(long, value_name = "ID")]
    id: String,
    /// Its enrollment secret; default: the CA generates one (printed).
    #[arg(long)]
    secret: Option<String>,
    /// Its type: client, peer, admin, orderer.
    #[arg(long = "type", default_value = "client", value_name = "TYPE")]
    kind: String,
    /// Its affiliation (e.g. org1.department1); default: the registrar's.
    #[arg(long, default_value = "")]
    affiliation: String,
    /// Attributes, as fabric-ca-client's --id.attrs: name=value[:ecert],...
    #[arg(long, value_name = "ATTRS")]
    attrs: Option<String>,
    /// How many times the secret may be used (-1: unlimited; default: the CA's).
    #[arg(long, allow_negative_numbers = true, value_name = "N")]
    max_enrollments: Option<i32>,
}

#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    #[command(flatten)]
    ca: CaArgs,
    /// The enrollment id.
    #[arg(long, value_name = "ID")]
    id: String,
    /// The enrollment secret.
    #[arg(long)]
    secret: String,
    /// The MSP folder to write (created; files of the same names replaced).
    #[arg(long, value_name = "MSPDIR")]
    out: PathBuf,
    /// The MSP ID the identity belongs to (checks that the folder loads and signs under it).
    #[arg(long, value_name = "MSP")]
    msp_id: Option<String>,
    /// Subject alternative names for the certificate (DNS names or IPs; comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "HOST")]
    csr_hosts: Vec<String>,
    /// The CA's signing profile, e.g. `tls` for a TLS certificate.
    #[arg(long, default_value = "", value_name = "NAME")]
    enrollment_profile: String,
    /// Attributes to request in the certificate (comma-separated names; NAME:opt for
    /// optional ones).
    #[arg(long, value_delimiter = ',', value_name = "NAME[:opt]")]
    enrollment_attrs: Vec<String>,
    /// Do not write config.yaml with NodeOUs.
    #[arg(long)]
    no_node_ous: bool,
    /// Also put this TLS CA certificate in the folder's tlscacerts/.
    #[arg(long, value_name = "FILE")]
    msp_tls_ca: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["id", "cert"])))]
pub struct RevokeArgs {
    #[command(flatten)]
    ca: CaArgs,
    /// Who revokes (needs hf.Revoker): USER@ORG from the profile, or an MSP folder.
    #[arg(long, value_name = "USER@ORG|MSPDIR")]
    registrar: String,
    /// MSP ID to load a registrar MSP folder under (labels it only).
    #[arg(long, value_name = "MSP")]
    msp_id: Option<String>,
    /// The enrollment id to revoke (all its certificates).
    #[arg(long, value_name = "ID", conflicts_with = "cert")]
    id: Option<String>,
    /// Revoke only this certificate (PEM; e.g. MSPDIR/signcerts/cert.pem).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// RFC 5280 reason, e.g. keycompromise, superseded.
    #[arg(long, default_value = "")]
    reason: String,
    /// Write the CA's CRL (PEM) here after revoking (to update the channel's MSP).
    #[arg(long, value_name = "FILE")]
    crl_out: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, cmd: IdentityCmd) -> anyhow::Result<()> {
    match cmd {
        IdentityCmd::Register(a) => register(ctx, a).await,
        IdentityCmd::Enroll(a) => enroll(ctx, a).await,
        IdentityCmd::Revoke(a) => revoke(ctx, a).await,
    }
}

/// The registrar's signer: an MSP folder when `spec` is a directory, else USER@ORG from the
/// profile.
fn registrar(ctx: &Ctx, spec: &str, msp_id: Option<&str>) -> anyhow::Result<Signer> {
    let dir = Path::new(spec);
    if dir.is_dir() {
        return ca::load_signer(dir, msp_id.unwrap_or("-"))
            .with_context(|| format!("--registrar {spec}: cannot load the MSP folder"));
    }
    if !spec.contains('@') {
        bail!(
            "--registrar {spec:?}: give USER@ORG from the profile (e.g. Admin@Org1) or an \
             existing MSP folder"
        );
    }
    let p = ctx
        .profile()
        .with_context(|| format!("--registrar {spec}: needs the profile"))?;
    let s = p
        .select(Some(spec))
        .with_context(|| format!("--registrar {spec}"))?;
    s.signer().with_context(|| format!("--registrar {spec}"))
}

async fn register(ctx: &Ctx, a: RegisterArgs) -> anyhow::Result<()> {
    let attributes = match &a.attrs {
        Some(s) => ca::parse_attrs(s).context("--attrs")?,
        None => Vec::new(),
    };
    if a.id.is_empty() {
        bail!("--id: give the new identity's enrollment id");
    }
    let signer = registrar(ctx, &a.registrar, a.msp_id.as_deref())?;
    let req = RegistrationRequest {
        name: a.id.clone(),
        kind: a.kind.clone(),
        secret: a.secret.clone().unwrap_or_default(),
        max_enrollments: a.max_enrollments.unwrap_or(0),
        affiliation: a.affiliation.clone(),
        attributes,
        caname: String::new(),
    };
    let secret = ca::register(&a.ca.target(), &signer, &req)
        .await
        .with_context(|| format!("register {} at {}", a.id, a.ca.ca_url))?;
    if ctx.global.json {
        return output::json(&serde_json::json!({
            "id": a.id, "type": a.kind, "affiliation": a.affiliation, "secret": secret,
        }));
    }
    outln!("registered {} (type {}) at {}", a.id, a.kind, a.ca.ca_url);
    outln!("enrollment secret: {secret}");
    Ok(())
}

async fn enroll(ctx: &Ctx, a: EnrollArgs) -> anyhow::Result<()> {
    let tls_ca_pem = match &a.msp_tls_ca {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("--msp-tls-ca {}", p.display()))?),
        None => None,
    };
    let enroll_opts = EnrollOptions {
        hosts: a.csr_hosts.clone(),
        names: Vec::new(),
        profile: a.enrollment_profile.clone(),
        attr_reqs: a
            .enrollment_attrs
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_suffix(":opt") {
                Some(n) => AttributeRequest {
                    name: n.to_owned(),
                    optional: true,
                },
                None => AttributeRequest {
                    name: s.clone(),
                    optional: false,
                },
            })
            .collect(),
    };
    let msp_opts = MspWriteOptions {
        node_ous: !a.no_node_ous,
        key_file_name: None,
        tls_ca_pem,
    };
    let outcome = ca::enroll(
        &a.ca.target(),
        &a.id,
        &a.secret,
        &a.out,
        &enroll_opts,
        &msp_opts,
        a.msp_id.as_deref(),
    )
    .await
    .with_context(|| format!("enroll {} at {}", a.id, a.ca.ca_url))?;
    if ctx.global.json {
        return output::json(&outcome);
    }
    outln!(
        "enrolled {} at {}; MSP folder {} ({} files)",
        outcome.id,
        a.ca.ca_url,
        outcome.msp_dir.display(),
        outcome.files.len()
    );
    for f in &outcome.files {
        outln!("  {f}");
    }
    if let Some(m) = &a.msp_id {
        outln!(
            "use it in a profile: orgs.<ORG>.users.{}: {}   (org msp_id {m})",
            outcome.id,
            outcome.msp_dir.display()
        );
    }
    Ok(())
}

async fn revoke(ctx: &Ctx, a: RevokeArgs) -> anyhow::Result<()> {
    let mut req = match (&a.id, &a.cert) {
        (_, Some(c)) => {
            let pem = std::fs::read(c).with_context(|| format!("--cert {}", c.display()))?;
            RevocationRequest::for_certificate(&pem)
                .with_context(|| format!("--cert {}", c.display()))?
        }
        (Some(id), None) if !id.is_empty() => RevocationRequest {
            name: id.clone(),
            ..RevocationRequest::default()
        },
        _ => bail!("--id: give the enrollment id to revoke (or --cert FILE)"),
    };
    req.reason = a.reason.clone();
    req.gencrl = a.crl_out.is_some();
    let signer = registrar(ctx, &a.registrar, a.msp_id.as_deref())?;
    let what =
        a.id.clone()
            .unwrap_or_else(|| format!("certificate {}", req.serial));
    let r = ca::revoke(&a.ca.target(), &signer, &req)
        .await
        .with_context(|| format!("revoke {what} at {}", a.ca.ca_url))?;
    if let Some(p) = &a.crl_out {
        std::fs::write(p, &r.crl).with_context(|| format!("cannot write {}", p.display()))?;
    }
    if ctx.global.json {
        return output::json(&serde_json::json!({
            "revoked": r.revoked,
            "crl": a.crl_out,
        }));
    }
    outln!(
        "revoked {what}: {} certificate(s) at {}",
        r.revoked.len(),
        a.ca.ca_url
    );
    for c in &r.revoked {
        outln!("  serial {} aki {}", c.serial, c.aki);
    }
    if let Some(p) = &a.crl_out {
        outln!("CRL written to {}", p.display());
    }
    Ok(())
}
