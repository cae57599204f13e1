//! `sfcbc devnet channel create` and `sfcbc devnet chaincode install|commit`: admin requests
//! to a running devnet (`sfcbc devnet up`) over its admin socket (`<dir>/admin.sock`), each
//! signed by an admin of the manager's org and checked by the devnet against that org's MSP.
//!
//! The wire format is one JSON line each way. A request is an [`AdminRequest`] whose
//! `request` is the JSON of an [`AdminOp`] (tagged by `op`) — or, from `sfcbc chain create`,
//! a [`ChannelRequest`] (no `op`: create the chain's channel *and* commit the SFC chaincode
//! on it). The answer is `{"ok": true, ...result}` or `{"ok": false, "error": "..."}`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use sfcbc_client::profile::Profile;
use sfcbc_devnet::network::{ChaincodeSpec, read_ccaas_package};
use sfcbc_devnet::validator::{EndorsementPolicy, parse_collections_config};

use super::devnet::{CHAINCODE, Devnet, DirArgs, any_peer_policy, profile_of};
use super::output::outln;
use super::{Ctx, output};

/// The devnet's admin socket, beside its profile.
pub const ADMIN_SOCKET: &str = "admin.sock";
/// The manager org of the devnet (the org named `Manager`): its admins may administer.
pub const MANAGER: &str = "Manager";
/// Largest request line (a CCaaS package is a few hundred bytes; leave room for big ones).
const MAX_REQUEST: u64 = 64 * 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum ChannelCmd {
    /// Create a channel on the running devnet: config block 0 with the given orgs, their
    /// peers join. No chaincode yet (`sfcbc devnet chaincode commit`).
    #[command(
        after_help = "Examples:\n  sfcbc devnet channel create mychannel --orgs Org1,Org2,Manager\n  sfcbc --json devnet channel create all-orgs"
    )]
    Create(ChannelCreateArgs),
}

#[derive(Debug, Args)]
pub struct ChannelCreateArgs {
    /// Channel name (lowercase letters, digits, '.', '-'; starting with a letter).
    pub name: String,
    /// Member orgs (names or MSP IDs), comma-separated. Default: every org of the devnet.
    #[arg(long, value_delimiter = ',')]
    pub orgs: Vec<String>,
    #[command(flatten)]
    pub dir: DirArgs,
}

#[derive(Debug, Subcommand)]
pub enum ChaincodeCmd {
    /// Install a CCaaS chaincode package on every peer of the running devnet — the same
    /// .tgz `peer lifecycle chaincode install` takes (its connection.json says where the
    /// peers dial the chaincode server). Prints the package id.
    #[command(
        after_help = "Example:\n  sfcbc-ccaas package --label mycc_1.0 --address 127.0.0.1:9999 --out mycc.tgz\n  sfcbc devnet chaincode install mycc.tgz"
    )]
    Install(InstallArgs),
    /// Commit a chaincode definition on a channel of the running devnet: every member peer
    /// dials the package's chaincode server and endorses for it.
    #[command(
        disable_version_flag = true,
        after_help = "Examples:\n  sfcbc devnet chaincode commit --channel mychannel --name mycc \\\n      --policy \"AND('Org1MSP.peer','Org2MSP.peer')\"\n  sfcbc devnet chaincode commit -C mychannel --name mycc --policy \"OutOf(2,'Org1MSP.member','Org2MSP.member','Org3MSP.member')\" \\\n      --collections-config collections/collections_config.json --package-id mycc_1.0:3f2a…"
    )]
    Commit(CommitArgs),
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The package (.tgz with metadata.json {"type":"ccaas"} and code.tar.gz/connection.json),
    /// e.g. from `sfcbc-ccaas package`.
    #[arg(value_name = "PACKAGE.tgz")]
    pub package: PathBuf,
    #[command(flatten)]
    pub dir: DirArgs,
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Chaincode name.
    #[arg(long)]
    pub name: String,
    /// Endorsement policy in Fabric's syntax (`AND('Org1MSP.peer','Org2MSP.peer')`, `OR`,
    /// `OutOf(n, ...)`, `.member` / `.peer` / `.admin`), `MAJORITY Endorsement`, or a channel
    /// policy path. Default: the channel's /Channel/Application/Endorsement.
    #[arg(long)]
    pub policy: Option<String>,
    /// fabric-samples' collections_config.json (explicit private data collections).
    #[arg(long, value_name = "FILE")]
    pub collections_config: Option<PathBuf>,
    /// The installed package that runs it. Default: the package installed last through
    /// `sfcbc devnet chaincode install` on this run of the devnet.
    #[arg(long)]
    pub package_id: Option<String>,
    /// Definition version.
    #[arg(long, default_value = "1.0")]
    pub version: String,
    /// Definition sequence.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
    pub sequence: i64,
    /// Transactions need an Init first.
    #[arg(long)]
    pub init_required: bool,
    #[command(flatten)]
    pub dir: DirArgs,
}

/// A request to the devnet's admin socket: `request` (JSON of an [`AdminOp`] or a
/// [`ChannelRequest`]) signed by the manager org's admin.
#[derive(Debug, Serialize, Deserialize)]
pub struct AdminRequest {
    /// The JSON that was signed.
    pub request: String,
    /// The signer's `msp.SerializedIdentity`, hex.
    pub creator: String,
    /// Signature over `request`'s bytes, hex.
    pub signature: String,
}

/// `sfcbc chain create`'s request: create channel `name` with `orgs` (MSP IDs) and commit the
/// SFC chaincode on it (a no-op when the channel exists).
#[derive(Debug, Serialize, Deserialize)]
pub struct ChannelRequest {
    pub name: String,
    pub orgs: Vec<String>,
}

/// What `sfcbc devnet channel|chaincode` asks of the devnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminOp {
    /// Create a channel with `orgs` (names or MSP IDs; empty: all), no chaincode.
    CreateChannel { name: String, orgs: Vec<String> },
    /// Install a CCaaS package (the .tgz, base64).
    InstallPackage { package: String },
    /// Commit a chaincode definition.
    CommitChaincode {
        channel: String,
        spec: ChaincodeSpec,
    },
}

/// The socket of the devnet whose profile is `profile_path`.
fn socket_beside(profile_path: &Path) -> Option<PathBuf> {
    profile_path.parent().map(|d| d.join(ADMIN_SOCKET))
}

/// Sends `request` (JSON) to the admin socket `sock`, signed by `admin`; the answer's
/// fields (without `ok`) on success.
pub async fn call(
    sock: &Path,
    admin: &sfcbc_fabric::Signer,
    request: String,
    timeout: Duration,
) -> anyhow::Result<serde_json::Value> {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let stream = tokio::net::UnixStream::connect(sock)
        .await
        .with_context(|| {
            format!(
                "cannot reach the devnet at {} (is `sfcbc devnet up` running from {}?)",
                sock.display(),
                sock.parent().unwrap_or(Path::new(".")).display()
            )
        })?;
    let req = AdminRequest {
        signature: hex::encode(admin.sign(request.as_bytes())),
        creator: hex::encode(admin.serialize()),
        request,
    };
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{}\n", serde_json::to_string(&req)?).as_bytes())
        .await
        .context("sending the request to the devnet")?;
    let mut line = String::new();
    tokio::time::timeout(timeout, BufReader::new(read).read_line(&mut line))
        .await
        .with_context(|| format!("the devnet did not answer within {} s", timeout.as_secs()))?
        .context("reading the devnet's answer")?;
    if line.trim().is_empty() {
        bail!("the devnet closed the admin connection without an answer (see its log)");
    }
    let mut answer: serde_json::Value =
        serde_json::from_str(line.trim()).context("bad answer from the devnet")?;
    if answer["ok"] != true {
        bail!(
            "{}",
            answer["error"]
                .as_str()
                .unwrap_or("the devnet refused, giving no reason")
        );
    }
    if let Some(o) = answer.as_object_mut() {
        o.remove("ok");
    }
    Ok(answer)
}

/// Asks the devnet beside `profile_path` to create channel `name` for `orgs` with the SFC
/// chaincode committed, signed by `admin` (the manager org's admin). `Ok(false)`: there is
/// no devnet admin socket there.
pub async fn request_channel(
    profile_path: &Path,
    admin: &sfcbc_fabric::Signer,
    name: &str,
    orgs: &[String],
) -> anyhow::Result<bool> {
    let Some(sock) = socket_beside(profile_path) else {
        return Ok(false);
    };
    if !sock.exists() {
        return Ok(false);
    }
    let request = serde_json::to_string(&ChannelRequest {
        name: name.to_owned(),
        orgs: orgs.to_vec(),
    })?;
    call(&sock, admin, request, Duration::from_secs(60))
        .await
        .with_context(|| format!("the devnet refused to create channel {name}"))?;
    Ok(true)
}

/// Serves `<dir>/admin.sock` until `stop` resolves.
pub async fn serve(devnet: &Devnet, dir: &Path, stop: impl std::future::Future<Output = ()>) {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
    let path = dir.join(ADMIN_SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "no admin socket at {}: {e}; `chain create` and `devnet channel|chaincode` cannot reach this devnet",
                path.display()
            );
            stop.await;
            return;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    tokio::pin!(stop);
    loop {
        let conn = tokio::select! {
            _ = &mut stop => break,
            c = listener.accept() => c,
        };
        let Ok((stream, _)) = conn else { continue };
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let handled = tokio::time::timeout(Duration::from_secs(120), async {
            BufReader::new(read.take(MAX_REQUEST))
                .read_line(&mut line)
                .await
                .ok()?;
            let answer = match handle(devnet, dir, &line).await {
                Ok(mut result) => {
                    if let Some(o) = result.as_object_mut() {
                        o.insert("ok".into(), true.into());
                    }
                    result
                }
                Err(e) => {
                    tracing::warn!("admin request refused: {e:#}");
                    serde_json::json!({ "ok": false, "error": format!("{e:#}") })
                }
            };
            write.write_all(format!("{answer}\n").as_bytes()).await.ok()
        })
        .await;
        if handled.is_err() {
            tracing::warn!("admin request timed out");
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Checks the signature and role, then carries out one request.
async fn handle(devnet: &Devnet, dir: &Path, line: &str) -> anyhow::Result<serde_json::Value> {
    use sfcbc_fabric::msp::{MspRole, MspVerifier, ValidityTime};
    if !line.ends_with('\n') && line.len() as u64 >= MAX_REQUEST {
        bail!("request larger than {} MiB", MAX_REQUEST >> 20);
    }
    let req: AdminRequest = serde_json::from_str(line.trim()).context("bad admin request")?;
    let manager = devnet
        .network
        .peer(MANAGER)
        .with_context(|| format!("this devnet has no {MANAGER} org to authorize admin requests"))?;
    let creator = hex::decode(&req.creator).context("creator is not hex")?;
    let signature = hex::decode(&req.signature).context("signature is not hex")?;
    let identity = sfcbc_fabric::Identity::from_serialized(&creator)?;
    let verifier = MspVerifier::new(&manager.org.msp_config()?)?;
    let valid = verifier
        .validate(&identity, ValidityTime::AsFabric)
        .map_err(|e| anyhow::anyhow!("not an identity of {}: {e}", manager.msp_id()))?;
    if !valid.has_role(MspRole::Admin) {
        bail!(
            "only an admin of {} may administer the devnet (sign as Admin@{MANAGER})",
            manager.msp_id()
        );
    }
    valid
        .verify(req.request.as_bytes(), &signature)
        .map_err(|e| anyhow::anyhow!("the request's signature does not verify: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&req.request).context("bad admin request body")?;
    if value.get("op").is_none() {
        let ch: ChannelRequest = serde_json::from_value(value).context("bad channel request")?;
        return chain_channel(devnet, dir, ch).await;
    }
    let op: AdminOp = serde_json::from_value(value).context("bad admin request body")?;
    let net = &devnet.network;
    match op {
        AdminOp::CreateChannel { name, orgs } => {
            net.create_channel(&name, &orgs).await?;
            net.wait_for_height(&name, 1).await?;
            profile_of(net).save(&dir.join("profile.yaml"))?;
            let members = channel_members(devnet, &name);
            tracing::info!(channel = name, orgs = ?members, "channel created");
            Ok(serde_json::json!({ "channel": name, "orgs": members, "height": 1 }))
        }
        AdminOp::InstallPackage { package } => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(package.as_bytes())
                .context("the package is not base64")?;
            let (label, connection) = read_ccaas_package(&bytes)?;
            let package_id = net.install_package(&bytes)?;
            devnet.set_last_installed(&package_id);
            let connection: serde_json::Value =
                serde_json::from_str(&connection).unwrap_or(serde_json::Value::String(connection));
            tracing::info!(package_id, "package installed");
            Ok(serde_json::json!({
                "packageId": package_id,
                "label": label,
                "connection": connection,
                "peers": net.peers().iter().map(|p| p.msp_id().to_owned()).collect::<Vec<_>>(),
            }))
        }
        AdminOp::CommitChaincode { channel, mut spec } => {
            if !net.channels().contains(&channel) {
                bail!(
                    "channel {channel} does not exist; create it with `sfcbc devnet channel create {channel} --orgs ...` (channels: {})",
                    net.channels().join(", ")
                );
            }
            if spec.package_id.is_empty() {
                spec.package_id = devnet.last_installed().context(
                    "no package installed on this run of the devnet: install one with `sfcbc devnet chaincode install PACKAGE.tgz` or pass --package-id",
                )?;
            }
            net.commit_chaincode(&channel, spec.clone())
                .await
                .with_context(|| {
                    format!(
                        "committing {} on {channel} (package {})",
                        spec.name, spec.package_id
                    )
                })?;
            tracing::info!(channel, name = spec.name, "chaincode committed");
            Ok(serde_json::json!({
                "channel": channel,
                "name": spec.name,
                "version": spec.version,
                "sequence": spec.sequence,
                "packageId": spec.package_id,
                "policy": spec.policy,
                "collections": spec.collections_config.as_deref().map(collection_names),
                "orgs": channel_members(devnet, &channel),
            }))
        }
    }
}

/// `sfcbc chain create`'s channel: created with the chain's orgs and the SFC chaincode.
async fn chain_channel(
    devnet: &Devnet,
    dir: &Path,
    ch: ChannelRequest,
) -> anyhow::Result<serde_json::Value> {
    let net = &devnet.network;
    if net.channels().contains(&ch.name) {
        // Made earlier (perhaps for an attempt whose CreateChain then failed): its members
        // must include every org this chain needs, or their peers have no copy of it.
        let members = channel_members(devnet, &ch.name);
        let missing: Vec<&str> = ch
            .orgs
            .iter()
            .filter(|o| !members.contains(o))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            bail!(
                "channel {} exists, and {} {} not among its members ({}): use another chain \
                 id, or create the chain on a channel of your own with --channel",
                ch.name,
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" },
                members.join(", ")
            );
        }
    } else {
        net.create_channel(&ch.name, &ch.orgs).await?;
        let msps = channel_members(devnet, &ch.name);
        net.commit_chaincode(
            &ch.name,
            ChaincodeSpec::new(CHAINCODE, &devnet.package_id).with_policy(any_peer_policy(&msps)),
        )
        .await?;
        net.wait_for_height(&ch.name, 1).await?;
        profile_of(net).save(&dir.join("profile.yaml"))?;
        tracing::info!(channel = ch.name, orgs = ?ch.orgs, "channel created");
    }
    Ok(serde_json::json!({ "channel": ch.name }))
}

/// The MSP IDs of the peers that joined `channel`.
fn channel_members(devnet: &Devnet, channel: &str) -> Vec<String> {
    devnet
        .network
        .peers()
        .iter()
        .filter(|p| p.peer.channel(channel).is_some())
        .map(|p| p.msp_id().to_owned())
        .collect()
}

fn collection_names(config: &str) -> Vec<String> {
    parse_collections_config(config.as_bytes())
        .map(|cs| cs.into_iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// The profile and admin socket of the devnet these commands address: `--dir DIR`, else
/// `--profile FILE` (its folder), else the default devnet.
fn target(ctx: &Ctx, d: &DirArgs) -> anyhow::Result<(Profile, PathBuf)> {
    let profile_path = match &d.dir {
        Some(dir) => dir.join("profile.yaml"),
        None => ctx.profile_path(),
    };
    let dir = profile_path
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let sock = dir.join(ADMIN_SOCKET);
    if !profile_path.exists() {
        bail!(
            "no devnet in {} (no profile.yaml): start one with `sfcbc devnet up{}`",
            dir.display(),
            d.dir
                .as_ref()
                .map(|d| format!(" --dir {}", d.display()))
                .unwrap_or_default()
        );
    }
    if !sock.exists() {
        bail!(
            "the devnet in {} is not running (no {ADMIN_SOCKET}): start it with `sfcbc devnet up{}`",
            dir.display(),
            d.dir
                .as_ref()
                .map(|d| format!(" --dir {}", d.display()))
                .unwrap_or_default()
        );
    }
    Ok((Profile::load(&profile_path)?, sock))
}

/// The manager admin's signer (or `--identity`'s, which the devnet checks).
fn admin_signer(ctx: &Ctx, p: &Profile) -> anyhow::Result<sfcbc_fabric::Signer> {
    let label = match &ctx.global.identity {
        Some(i) => i.clone(),
        None => {
            let (org, _) = p.org(MANAGER).map_err(|_| {
                anyhow::anyhow!(
                    "the profile has no {MANAGER} org, whose admin signs devnet admin requests; pass --identity ADMIN@ORG"
                )
            })?;
            format!("Admin@{org}")
        }
    };
    Ok(p.select(Some(&label))?.signer()?)
}

fn spinner(ctx: &Ctx) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    if ctx.global.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Runs `op` with a spinner showing `what`.
async fn run_op(
    ctx: &Ctx,
    d: &DirArgs,
    op: &AdminOp,
    what: String,
) -> anyhow::Result<serde_json::Value> {
    let (p, sock) = target(ctx, d)?;
    let signer = admin_signer(ctx, &p)?;
    let bar = spinner(ctx);
    bar.set_message(what);
    let result = call(
        &sock,
        &signer,
        serde_json::to_string(op)?,
        Duration::from_secs(120),
    )
    .await;
    bar.finish_and_clear();
    result
}

pub async fn run_channel(ctx: &Ctx, cmd: ChannelCmd) -> anyhow::Result<()> {
    match cmd {
        ChannelCmd::Create(a) => {
            let op = AdminOp::CreateChannel {
                name: a.name.clone(),
                orgs: a.orgs.clone(),
            };
            let r = run_op(ctx, &a.dir, &op, format!("creating channel {}", a.name))
                .await
                .with_context(|| format!("channel {} was not created", a.name))?;
            if ctx.global.json {
                return output::json(&r);
            }
            outln!(
                "channel {} created with {} (block 0 committed on each member's peer)",
                a.name,
                join(&r["orgs"])
            );
            outln!(
                "next: sfcbc devnet chaincode commit --channel {} --name NAME --policy \"...\"",
                a.name
            );
            Ok(())
        }
    }
}

pub async fn run_chaincode(ctx: &Ctx, cmd: ChaincodeCmd) -> anyhow::Result<()> {
    match cmd {
        ChaincodeCmd::Install(a) => {
            let bytes = std::fs::read(&a.package)
                .with_context(|| format!("cannot read {}", a.package.display()))?;
            // Refuse what the devnet would refuse before reaching it, with the file's name.
            let (label, _) = read_ccaas_package(&bytes)
                .with_context(|| format!("{} is not a CCaaS package", a.package.display()))?;
            let op = AdminOp::InstallPackage {
                package: base64::engine::general_purpose::STANDARD.encode(&bytes),
            };
            let r = run_op(ctx, &a.dir, &op, format!("installing {label}"))
                .await
                .with_context(|| format!("{} was not installed", a.package.display()))?;
            if ctx.global.json {
                return output::json(&r);
            }
            let mut t = output::table(&["package id", "label", "chaincode server", "peers"]);
            t.add_row(vec![
                r["packageId"].as_str().unwrap_or_default().to_owned(),
                label,
                r["connection"]["address"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                join(&r["peers"]),
            ]);
            outln!("{t}");
            Ok(())
        }
        ChaincodeCmd::Commit(a) => {
            let Some(channel) = ctx.global.channel.clone() else {
                usage_error(
                    "the following required arguments were not provided: --channel <CHANNEL>",
                )
            };
            if let Some(p) = &a.policy {
                EndorsementPolicy::parse(p).map_err(|e| anyhow::anyhow!("--policy: {e}"))?;
            }
            let collections_config = match &a.collections_config {
                Some(f) => {
                    let text = std::fs::read_to_string(f)
                        .with_context(|| format!("cannot read {}", f.display()))?;
                    parse_collections_config(text.as_bytes())
                        .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                    Some(text)
                }
                None => None,
            };
            let spec = ChaincodeSpec {
                name: a.name.clone(),
                version: a.version.clone(),
                sequence: a.sequence,
                package_id: a.package_id.clone().unwrap_or_default(),
                policy: a.policy.clone(),
                collections_config,
                init_required: a.init_required,
            };
            let op = AdminOp::CommitChaincode {
                channel: channel.clone(),
                spec,
            };
            let r = run_op(
                ctx,
                &a.dir,
                &op,
                format!("committing {} on {channel}", a.name),
            )
            .await
            .with_context(|| format!("chaincode {} was not committed on {channel}", a.name))?;
            if ctx.global.json {
                return output::json(&r);
            }
            outln!(
                "chaincode {} v{} (sequence {}) committed on {channel}",
                a.name,
                a.version,
                a.sequence
            );
            let mut t =
                output::table(&["package id", "endorsement policy", "collections", "peers"]);
            t.add_row(vec![
                r["packageId"].as_str().unwrap_or_default().to_owned(),
                r["policy"]
                    .as_str()
                    .unwrap_or("/Channel/Application/Endorsement")
                    .to_owned(),
                join(&r["collections"]),
                join(&r["orgs"]),
            ]);
            outln!("{t}");
            Ok(())
        }
    }
}

/// Exits 2 with clap's usage error for `sfcbc devnet chaincode commit`.
fn usage_error(message: &str) -> ! {
    use clap::CommandFactory as _;
    let mut cli = super::Cli::command();
    cli.build();
    let commit = cli
        .find_subcommand_mut("devnet")
        .and_then(|d| d.find_subcommand_mut("chaincode"))
        .and_then(|c| c.find_subcommand_mut("commit"))
        .cloned();
    commit
        .unwrap_or(cli)
        .error(clap::error::ErrorKind::MissingRequiredArgument, message)
        .exit()
}

/// A JSON array of strings, comma-separated.
fn join(v: &serde_json::Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
