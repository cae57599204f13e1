//! `sfcbc-bench fabric --profile FILE`: the devnet benchmark's workload ([`crate::workload`])
//! against any network an sfcbc client profile describes — a real Fabric network from
//! `network/fabric/`, a fabric-samples test-network, or a devnet.
//!
//! Nothing is deployed here: the chaincodes named by `--chaincodes` must already serve the
//! kv contract (`sfcbc-ccaas serve --contract kv`) under whatever endorsement policy the
//! network committed. The report says which: each chaincode's definition as `_lifecycle`
//! returns it (sequence, version, the endorsement policy rendered in Fabric's syntax), and
//! the channel's BatchTimeout and BatchSize from its last config block (through `qscc`),
//! so that a figure can be compared with a devnet run of the same settings.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use prost::Message as _;
use serde::Serialize;
use sfcbc_client::profile::Profile as ClientProfile;
use sfcbc_client::{Contract, Gateway, Network};
use sfcbc_fabric::protos::common::{
    ApplicationPolicy, Block, BlockchainInfo, ConfigEnvelope, Envelope, Metadata, MspPrincipal,
    MspRole, OrdererBlockMetadata, Payload, SignaturePolicy, SignaturePolicyEnvelope,
    application_policy, msp_principal, msp_role, signature_policy,
};
use sfcbc_fabric::protos::lifecycle::{
    QueryChaincodeDefinitionArgs, QueryChaincodeDefinitionResult,
};
use sfcbc_fabric::protos::orderer::{BatchSize, BatchTimeout};

use crate::machine::Machine;
use crate::ui::Ui;
use crate::workload::{self, Baseline, CryptoBaseline, Load, Profile, Results, Run};

/// A chaincode to drive and the name its runs carry in the JSON (`policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub label: String,
    pub chaincode: String,
}

impl Target {
    /// `LABEL=NAME` (e.g. `one=kv_one`) or `NAME` (labelled by its own name).
    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        let (label, name) = match s.split_once('=') {
            Some((l, n)) => (l.trim(), n.trim()),
            None => (s, s),
        };
        let ok = |v: &str| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.+".contains(c))
        };
        if !ok(label) || !ok(name) {
            return Err(format!(
                "bad chaincode {s:?}: write NAME or LABEL=NAME (letters, digits, _ - . +), e.g. one=kv_one"
            ));
        }
        Ok(Target {
            label: label.into(),
            chaincode: name.into(),
        })
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub load: Load,
    /// The client profile.
    pub profile: PathBuf,
    /// `USER@ORG` who signs (default: the profile's `default_identity`).
    pub identity: Option<String>,
    /// The org whose gateway peer is used (default: the identity's own).
    pub gateway: Option<String>,
    /// The channel (default: the profile's first).
    pub channel: Option<String>,
    /// Chaincodes serving the kv contract (default: the profile's chaincode).
    pub targets: Vec<Target>,
}

impl Options {
    pub fn new(profile: PathBuf, load: Load) -> Options {
        Options {
            load,
            profile,
            identity: None,
            gateway: None,
            channel: None,
            targets: Vec::new(),
        }
    }
}

/// Which network the figures are from.
#[derive(Debug, Clone, Serialize)]
pub struct FabricNetwork {
    /// The profile file, as given.
    pub profile: String,
    /// The profile's `name`.
    pub name: String,
    pub channel: String,
    /// `USER@ORG` that signed every transaction.
    pub identity: String,
    /// The gateway peer: the org's name in the profile and its endpoint.
    pub gateway_org: String,
    pub gateway_endpoint: String,
    pub tls: bool,
    /// The channel's application orgs (config group names) from its last config block.
    pub members: Vec<String>,
    /// From the channel's last config block (`None` when it could not be read).
    pub batch_timeout_ms: Option<u64>,
    pub max_message_count: Option<u32>,
    pub preferred_max_bytes: Option<u32>,
    pub config_block: Option<u64>,
    /// Why the channel config could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
}

/// A chaincode as the channel defines it.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    /// What its runs are called (`policy` in `runs`).
    pub label: String,
    pub chaincode: String,
    pub sequence: Option<i64>,
    pub version: Option<String>,
    /// The committed endorsement policy in Fabric's syntax (`OR('Org1MSP.peer', ...)`), or
    /// the channel policy it references (`/Channel/Application/Endorsement`).
    pub endorsement_policy: Option<String>,
    /// Why `_lifecycle` could not be asked (e.g. a network without it, such as devnet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition_error: Option<String>,
}

/// `target/bench/fabric-real.json`: devnet.json's shape plus the network and chaincodes.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub runs: Vec<Run>,
    pub machine: Machine,
    pub crypto_baseline: CryptoBaseline,
    pub baseline: Vec<Baseline>,
    pub profile: Vec<Profile>,
    pub network: FabricNetwork,
    pub chaincodes: Vec<Deployed>,
    pub transaction: String,
}

/// Runs the benchmark against the profile's network and returns the report.
pub async fn run(ui: &Ui, opts: &Options) -> anyhow::Result<Report> {
    let profile = ClientProfile::load(&opts.profile)?;
    let selected = profile.select(opts.identity.as_deref())?;
    let (gw_org, peer) = profile.peer_of(opts.gateway.as_deref().unwrap_or(&selected.org))?;
    let (gw_org, endpoint, tls) = (
        gw_org.to_owned(),
        peer.endpoint.clone(),
        peer.tls_ca.is_some(),
    );
    let channel = match &opts.channel {
        Some(c) => c.clone(),
        None => profile.channels.first().cloned().with_context(|| {
            format!(
                "{} lists no channels: pass --channel NAME",
                opts.profile.display()
            )
        })?,
    };
    let targets = if opts.targets.is_empty() {
        vec![Target {
            label: profile.chaincode.clone(),
            chaincode: profile.chaincode.clone(),
        }]
    } else {
        opts.targets.clone()
    };
    let mut labels: Vec<&str> = targets.iter().map(|t| t.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    anyhow::ensure!(
        labels.len() == targets.len(),
        "two chaincodes have the same label: give each its own (LABEL=NAME)"
    );

    let mut machine = Machine::probe();
    let crypto = workload::measure_crypto(ui, &opts.load).await?;
    let step = ui.step(format!(
        "connecting as {} to {gw_org}'s gateway at {endpoint}",
        selected.label()
    ));
    let gw = profile
        .connect(&selected, Some(&gw_org))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let network = gw.network(channel.clone());
    step.set_message(format!(
        "reading {channel}'s config and chaincode definitions"
    ));
    let mut info = FabricNetwork {
        profile: opts.profile.display().to_string(),
        name: profile.name.clone(),
        channel: channel.clone(),
        identity: selected.label(),
        gateway_org: gw_org.clone(),
        gateway_endpoint: endpoint.clone(),
        tls,
        members: Vec::new(),
        batch_timeout_ms: None,
        max_message_count: None,
        preferred_max_bytes: None,
        config_block: None,
        config_error: None,
    };
    match channel_config(&network).await {
        Ok(c) => {
            info.members = c.members;
            info.batch_timeout_ms = c.batch_timeout_ms;
            info.max_message_count = c.max_message_count;
            info.preferred_max_bytes = c.preferred_max_bytes;
            info.config_block = Some(c.block);
        }
        Err(e) => info.config_error = Some(format!("{e:#}")),
    }
    let mut chaincodes = Vec::new();
    for t in &targets {
        let mut d = Deployed {
            label: t.label.clone(),
            chaincode: t.chaincode.clone(),
            sequence: None,
            version: None,
            endorsement_policy: None,
            definition_error: None,
        };
        match definition(&gw, &channel, &t.chaincode).await {
            Ok(def) => {
                d.sequence = Some(def.sequence);
                d.version = Some(def.version.clone());
                d.endorsement_policy = Some(
                    render_application_policy(&def.validation_parameter)
                        .unwrap_or_else(|e| format!("(unreadable: {e})")),
                );
            }
            Err(e) => d.definition_error = Some(format!("{e:#}")),
        }
        chaincodes.push(d);
    }
    step.finish_and_clear();
    ui.note(format!(
        "{}: channel {channel} ({}), BatchTimeout {}, MaxMessageCount {}; gateway {gw_org} at {endpoint}, signer {}",
        profile.name,
        if info.members.is_empty() {
            "members unknown".to_owned()
        } else {
            info.members.join(", ")
        },
        info.batch_timeout_ms
            .map_or("unknown".into(), |m| format!("{m} ms")),
        info.max_message_count
            .map_or("unknown".into(), |m| m.to_string()),
        selected.label()
    ));
    for d in &chaincodes {
        ui.note(format!(
            "chaincode {} ({}): {}",
            d.chaincode,
            d.label,
            match (&d.endorsement_policy, &d.definition_error) {
                (Some(p), _) => format!(
                    "sequence {}, endorsement policy {p}",
                    d.sequence.unwrap_or_default()
                ),
                (None, Some(e)) => format!("definition not readable ({e})"),
                (None, None) => "definition unknown".into(),
            }
        ));
    }

    let mut results = Results::default();
    for t in &targets {
        let contract: Contract = network.contract(t.chaincode.clone());
        workload::warm_up(&contract).await?;
        workload::measure(ui, &contract, &t.label, &opts.load, &mut results).await;
    }
    machine.finish();
    let transaction = opts.load.transaction(
        &selected.label(),
        &format!(
            "{gw_org}'s gateway at {endpoint}{}",
            if tls { " over TLS" } else { "" }
        ),
    );
    Ok(Report {
        runs: results.runs,
        machine,
        crypto_baseline: crypto,
        baseline: results.baseline,
        profile: results.profile,
        network: info,
        chaincodes,
        transaction,
    })
}

/// The human summary.
pub fn summary(r: &Report) -> comfy_table::Table {
    workload::summary(&r.runs, &r.baseline, &r.profile)
}

/// `_lifecycle`'s `QueryChaincodeDefinition` for `name` on `channel`, evaluated through the
/// gateway (Fabric's ACL for it is the channel's Writers: any member's client).
async fn definition(
    gw: &Gateway,
    channel: &str,
    name: &str,
) -> anyhow::Result<QueryChaincodeDefinitionResult> {
    let arg = QueryChaincodeDefinitionArgs { name: name.into() }.encode_to_vec();
    let bytes = gw
        .network(channel.to_owned())
        .contract("_lifecycle")
        .evaluate_transaction("QueryChaincodeDefinition", &[arg.as_slice()])
        .await
        .with_context(|| format!("_lifecycle QueryChaincodeDefinition {name}"))?;
    QueryChaincodeDefinitionResult::decode(bytes.as_slice())
        .context("malformed QueryChaincodeDefinitionResult")
}

/// What the bench reports of a channel's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    pub block: u64,
    pub members: Vec<String>,
    pub batch_timeout_ms: Option<u64>,
    pub max_message_count: Option<u32>,
    pub preferred_max_bytes: Option<u32>,
}

/// The channel's last config block (the index the newest block's orderer metadata names)
/// through `qscc`, decoded.
async fn channel_config(network: &Network) -> anyhow::Result<ChannelConfig> {
    let qscc = network.contract("qscc");
    let ch = network.name().to_owned();
    let info = qscc
        .evaluate_transaction("GetChainInfo", &[ch.as_str()])
        .await
        .context("qscc GetChainInfo")?;
    let info = BlockchainInfo::decode(info.as_slice()).context("malformed BlockchainInfo")?;
    anyhow::ensure!(info.height > 0, "the channel has no blocks");
    let get = |n: u64| {
        let qscc = qscc.clone();
        let ch = ch.clone();
        async move {
            let n = n.to_string();
            let b = qscc
                .evaluate_transaction("GetBlockByNumber", &[ch.as_str(), n.as_str()])
                .await
                .with_context(|| format!("qscc GetBlockByNumber {n}"))?;
            Block::decode(b.as_slice()).with_context(|| format!("malformed block {n}"))
        }
    };
    let last = get(info.height - 1).await?;
    let index = last_config_index(&last).unwrap_or(0);
    let block = if index == info.height - 1 {
        last
    } else {
        get(index).await?
    };
    decode_config_block(&block).map(|mut c| {
        c.block = index;
        c
    })
}

/// `OrdererBlockMetadata.last_config.index` from a block's SIGNATURES metadata.
pub fn last_config_index(block: &Block) -> Option<u64> {
    let md = block.metadata.as_ref()?.metadata.first()?;
    let md = Metadata::decode(md.as_slice()).ok()?;
    let obm = OrdererBlockMetadata::decode(md.value.as_slice()).ok()?;
    Some(obm.last_config?.index)
}

/// Members, BatchTimeout and BatchSize of a config block.
pub fn decode_config_block(block: &Block) -> anyhow::Result<ChannelConfig> {
    let data = block
        .data
        .as_ref()
        .and_then(|d| d.data.first())
        .context("the config block has no transaction")?;
    let env = Envelope::decode(data.as_slice()).context("malformed envelope")?;
    let payload = Payload::decode(env.payload.as_slice()).context("malformed payload")?;
    let cfg = ConfigEnvelope::decode(payload.data.as_slice()).context("not a config block")?;
    let root = cfg
        .config
        .and_then(|c| c.channel_group)
        .context("the config has no channel group")?;
    let mut members: Vec<String> = root
        .groups
        .get("Application")
        .map(|a| a.groups.keys().cloned().collect())
        .unwrap_or_default();
    members.sort();
    let orderer = root.groups.get("Orderer");
    let value = |k: &str| orderer.and_then(|o| o.values.get(k)).map(|v| &v.value);
    let batch_timeout_ms =
        match value("BatchTimeout") {
            Some(v) => {
                let t = BatchTimeout::decode(v.as_slice()).context("malformed BatchTimeout")?;
                Some(go_duration_ms(&t.timeout).with_context(|| {
                    format!("BatchTimeout {:?} is not a Go duration", t.timeout)
                })?)
            }
            None => None,
        };
    let size = match value("BatchSize") {
        Some(v) => Some(BatchSize::decode(v.as_slice()).context("malformed BatchSize")?),
        None => None,
    };
    Ok(ChannelConfig {
        block: block.header.as_ref().map_or(0, |h| h.number),
        members,
        batch_timeout_ms,
        max_message_count: size.map(|s| s.max_message_count),
        preferred_max_bytes: size.map(|s| s.preferred_max_bytes),
    })
}

/// A Go `time.Duration` string (`200ms`, `2s`, `1.5s`, `1m30s`) in whole milliseconds.
pub fn go_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            _ => return None,
        };
        total += num * scale;
        rest = &rest[u..];
    }
    Some(total.round() as u64)
}

/// An `ApplicationPolicy` (a chaincode definition's validation parameter) in Fabric's
/// syntax.
pub fn render_application_policy(bytes: &[u8]) -> anyhow::Result<String> {
    let p = ApplicationPolicy::decode(bytes).context("malformed ApplicationPolicy")?;
    match p.r#type {
        Some(application_policy::Type::SignaturePolicy(env)) => render_signature_policy(&env),
        Some(application_policy::Type::ChannelConfigPolicyReference(r)) => Ok(r),
        None => bail!("ApplicationPolicy has no policy"),
    }
}

/// A `SignaturePolicyEnvelope` as `OR(...)`, `AND(...)` or `OutOf(n, ...)` of
/// `'MSP.role'` principals — what `peer lifecycle ... --signature-policy` takes.
pub fn render_signature_policy(env: &SignaturePolicyEnvelope) -> anyhow::Result<String> {
    let rule = env.rule.as_ref().context("the policy has no rule")?;
    render_rule(rule, &env.identities, 0)
}

fn render_rule(
    rule: &SignaturePolicy,
    ids: &[MspPrincipal],
    depth: usize,
) -> anyhow::Result<String> {
    anyhow::ensure!(depth < 32, "the policy nests too deeply");
    match &rule.r#type {
        Some(signature_policy::Type::SignedBy(i)) => {
            let p = usize::try_from(*i)
                .ok()
                .and_then(|i| ids.get(i))
                .with_context(|| format!("SignedBy({i}) names no principal"))?;
            render_principal(p)
        }
        Some(signature_policy::Type::NOutOf(n)) => {
            let parts = n
                .rules
                .iter()
                .map(|r| render_rule(r, ids, depth + 1))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let len = parts.len() as i32;
            Ok(if n.n == 1 && len > 1 {
                format!("OR({})", parts.join(", "))
            } else if n.n == len && len > 1 {
                format!("AND({})", parts.join(", "))
            } else {
                format!("OutOf({}, {})", n.n, parts.join(", "))
            })
        }
        None => bail!("a policy rule is empty"),
    }
}

fn render_principal(p: &MspPrincipal) -> anyhow::Result<String> {
    if p.principal_classification != msp_principal::Classification::Role as i32 {
        return Ok(format!(
            "<principal of classification {}>",
            p.principal_classification
        ));
    }
    let r = MspRole::decode(p.principal.as_slice()).context("malformed MSPRole")?;
    let role = match msp_role::MspRoleType::try_from(r.role) {
        Ok(msp_role::MspRoleType::Member) => "member",
        Ok(msp_role::MspRoleType::Admin) => "admin",
        Ok(msp_role::MspRoleType::Client) => "client",
        Ok(msp_role::MspRoleType::Peer) => "peer",
        Ok(msp_role::MspRoleType::Orderer) => "orderer",
        Err(_) => bail!("unknown MSP role {}", r.role),
    };
    Ok(format!("'{}.{role}'", r.msp_identifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("one=kv_one").unwrap(),
            Target {
                label: "one".into(),
                chaincode: "kv_one".into()
            }
        );
        assert_eq!(Target::parse(" kv ").unwrap().label, "kv");
        assert!(Target::parse("=kv").is_err());
        assert!(Target::parse("a=b c").is_err());
        assert!(Target::parse("").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_ms("200ms"), Some(200));
        assert_eq!(go_duration_ms("2s"), Some(2000));
        assert_eq!(go_duration_ms("1.5s"), Some(1500));
        assert_eq!(go_duration_ms("1m30s"), Some(90_000));
        assert_eq!(go_duration_ms("0"), Some(0));
        assert_eq!(go_duration_ms("500us"), Some(1));
        assert_eq!(go_duration_ms("2 s"), None);
        assert_eq!(go_duration_ms("s"), None);
        assert_eq!(go_duration_ms("10x"), None);
    }

    /// Rendering inverts the policy parser (Fabric's `policydsl.FromString`) for the shapes
    /// `peer lifecycle` is given.
    #[test]
    fn policies_render_back() {
        for (given, want) in [
            (
                "OR('Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')",
                "OR('Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')",
            ),
            (
                "OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')",
                "OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')",
            ),
            (
                "AND('Org1MSP.member', OR('Org2MSP.admin', 'Org3MSP.client'))",
                "AND('Org1MSP.member', OR('Org2MSP.admin', 'Org3MSP.client'))",
            ),
            ("OutOf(1,'Org1MSP.peer')", "OutOf(1, 'Org1MSP.peer')"),
        ] {
            let env = sfcbc_fabric::policy::from_string(given).unwrap();
            let ap = ApplicationPolicy {
                r#type: Some(application_policy::Type::SignaturePolicy(env)),
            };
            assert_eq!(
                render_application_policy(&ap.encode_to_vec()).unwrap(),
                want,
                "{given}"
            );
        }
        let ap = ApplicationPolicy {
            r#type: Some(application_policy::Type::ChannelConfigPolicyReference(
                "/Channel/Application/Endorsement".into(),
            )),
        };
        assert_eq!(
            render_application_policy(&ap.encode_to_vec()).unwrap(),
            "/Channel/Application/Endorsement"
        );
        assert!(render_application_policy(b"\xff\xff").is_err());
        let bad = SignaturePolicyEnvelope {
            version: 0,
            rule: Some(sfcbc_fabric::policy::signed_by(3)),
            identities: vec![],
        };
        assert!(render_signature_policy(&bad).is_err());
    }
}
