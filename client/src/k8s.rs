//! Kubernetes manifests for a chain's SFs (`sfcbc k8s render --chain chain1`), from the chain as
//! the ledger holds it (DESIGN §7, `network/k8s/`).
//!
//! Per hop *i* of the chain, in the namespace of the hop's organisation (`Org1MSP` → `org1`):
//! - a `ConfigMap` with `sf.toml` in the SF runtime's own format ([`SfConfig`], so it parses
//!   exactly as `sfcbc sf run --config` will parse it): the hop, `listen = 0.0.0.0:<port>`,
//!   `/metrics` + `/healthz`, and the `[gateway]` of the org's peer with the MSP mounted from
//!   the org's Secret (never rendered here: it is made from files, see `network/k8s/`);
//! - a `Deployment` (one replica, `Recreate`: one SF instance per registered address) running
//!   `sfcbc sf run --config /etc/sfcbc/config/sf.toml` as a non-root user on a read-only root;
//! - a `Service` whose name and namespace are the hop's address: the chain's addresses become
//!   in-cluster Service names (`sf-chain1-org1-namewriter-1.org1.svc.cluster.local:9001`);
//! - a `NetworkPolicy` that admits UDP to the SF's port only from the previous hop's pods (the
//!   classifier's for hop 1) and `/metrics` only from the monitoring namespace; every other
//!   ingress is dropped (the overlay's per-namespace default-deny completes the isolation),
//!   and egress only to DNS, the org's peer gateway and the next hop (the last hop: its
//!   destination).
//!
//! The renderer is pure (no I/O, no clock): the same chain and options give the same bytes,
//! which `network/k8s/overlays/chain1/sf.yaml` is a committed copy of (checked by a test).
//!
//! Kubernetes and `address` validation: an SF forwards from its pod's IP, not from its Service
//! address, so a hop whose chain registers Service addresses should validate by `hash`; the
//! NetworkPolicy then does at the network layer what `address` validation does in the SF.
//! [`Rendered::warnings`] says so for each hop that validates by address.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde_json::{Value, json};
use sfcbc_chaincode::types::{Chain, ChainSpec, ChainState, Hop, Owner};

use crate::sf::config::{GatewayConfig, HopRef, SfConfig};
use crate::sf::function::FunctionConfig;

/// Where the container finds things (the Deployment mounts them there).
pub const CONFIG_DIR: &str = "/etc/sfcbc/config";
pub const MSP_DIR: &str = "/etc/sfcbc/msp";
pub const TLS_CA: &str = "/etc/sfcbc/tls/ca.crt";
pub const SPOOL: &str = "/var/lib/sfcbc/spool.jsonl";

/// How a chain is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// The image with the `sfcbc` binary (`network/Dockerfile.sf`).
    pub image: String,
    /// The channel the chain lives on; `sfc-{chain}` when `None` (one channel per SFC).
    pub channel: Option<String>,
    /// The SFC chaincode's name.
    pub chaincode: String,
    /// MSP ID → namespace; unlisted MSPs get `org1` for `Org1MSP` (lower case, `MSP` cut).
    pub namespaces: BTreeMap<String, String>,
    /// MSP ID → the org's peer gateway `host:port`; default `peer0.{ns}.example.com:7051`.
    pub gateways: BTreeMap<String, String>,
    /// MSP ID → TLS server name override for that gateway.
    pub server_names: BTreeMap<String, String>,
    /// Mount the org's TLS CA and dial the gateway with TLS (Fabric's default).
    pub tls: bool,
    /// Kubernetes' cluster domain, for the in-cluster addresses.
    pub cluster_domain: String,
    /// The classifier's pods: hop 1 admits UDP from them.
    pub classifier_namespace: String,
    pub classifier_app: String,
    /// The namespace Prometheus scrapes from (`/metrics` is admitted from it only).
    pub monitoring_namespace: String,
    /// The port of `/metrics` and `/healthz` in each SF pod.
    pub metrics_port: u16,
    /// The default gateway's port; the egress policy admits the port of each org's endpoint.
    pub gateway_port: u16,
    /// The last hop's destination (CIDR) for its egress policy; anywhere when `None` (the
    /// destination endpoint is shared privately with the last hop's SP, not on the ledger).
    pub destination_cidr: Option<String>,
    /// Per psiid: the function, when the psiid's function name is not `NameWriter` / `Pass`.
    pub functions: BTreeMap<String, FunctionConfig>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            image: "sfcbc/sf:0.1.0".into(),
            channel: None,
            chaincode: "sfc".into(),
            namespaces: BTreeMap::new(),
            gateways: BTreeMap::new(),
            server_names: BTreeMap::new(),
            tls: true,
            cluster_domain: "cluster.local".into(),
            classifier_namespace: "manager".into(),
            classifier_app: "classifier".into(),
            monitoring_namespace: "monitoring".into(),
            metrics_port: 9101,
            gateway_port: 7051,
            destination_cidr: None,
            functions: BTreeMap::new(),
        }
    }
}

/// One hop's place in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopPlacement {
    pub psiid: String,
    pub sp_msp: String,
    pub namespace: String,
    /// The Service's (and Deployment's, ConfigMap's, NetworkPolicy's) name.
    pub name: String,
    pub port: u16,
    /// The address the chain should register for this hop: the Service's in-cluster name.
    pub in_cluster_address: String,
    /// The address the ledger holds now.
    pub registered_address: String,
}

/// The manifests of one chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub chain: String,
    pub hops: Vec<HopPlacement>,
    /// Kubernetes objects, in apply order (per hop: ConfigMap, Service, Deployment,
    /// NetworkPolicy).
    pub objects: Vec<Value>,
    /// Things the operator must do or know (addresses to re-register, `address` validation).
    pub warnings: Vec<String>,
}

impl Rendered {
    /// All objects as one multi-document YAML stream, headed by a comment.
    pub fn to_yaml(&self) -> Result<String, RenderError> {
        let mut out = format!(
            "# SF manifests for chain {}, rendered by `sfcbc k8s render` (sfcbc_client::k8s).\n\
             # MSP material comes from the Secrets sfcbc-msp-<namespace> (see network/k8s/).\n",
            self.chain
        );
        for w in &self.warnings {
            out.push_str(&format!("# note: {w}\n"));
        }
        for o in &self.objects {
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(o).map_err(|e| RenderError::Yaml(e.to_string()))?);
        }
        Ok(out)
    }

    /// The chain spec's addresses as they should be registered (psiid → in-cluster address),
    /// for `sfcbc chain update` when they differ from the ledger's.
    pub fn addresses(&self) -> BTreeMap<String, String> {
        self.hops
            .iter()
            .map(|h| (h.psiid.clone(), h.in_cluster_address.clone()))
            .collect()
    }
}

/// Why a chain cannot be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("chain {0} has no hops")]
    NoHops(String),
    #[error("hop {psiid}: address {address:?} is not host:port with a port 1..=65535")]
    BadAddress { psiid: String, address: String },
    #[error("hop {psiid}: {what} {value:?} is not a Kubernetes name (lower-case DNS label)")]
    BadName {
        psiid: String,
        what: &'static str,
        value: String,
    },
    #[error("hops {first} and {second} render to the same Service {namespace}/{name}")]
    Collision {
        first: String,
        second: String,
        namespace: String,
        name: String,
    },
    #[error("bad SF config for hop {psiid}: {reason}")]
    Config { psiid: String, reason: String },
    #[error("cannot write YAML: {0}")]
    Yaml(String),
    #[error("{what} {value:?}: {expected}")]
    BadOption {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The options a user types (image, CIDR, gateway endpoints), checked before rendering.
fn check_options(opts: &RenderOptions) -> Result<(), RenderError> {
    let bad = |what, value: &str, expected| RenderError::BadOption {
        what,
        value: value.to_owned(),
        expected,
    };
    if opts.image.is_empty() || opts.image.chars().any(char::is_whitespace) {
        return Err(bad(
            "--image",
            &opts.image,
            "an image reference, e.g. registry.local/sfcbc/sf:0.1.0",
        ));
    }
    if let Some(c) = &opts.destination_cidr
        && (c.trim() != c || crate::classifier::parse_cidr(c).is_err())
    {
        return Err(bad(
            "--destination-cidr",
            c,
            "an IP/LEN range, e.g. 10.0.0.0/8, or an IP",
        ));
    }
    for (msp, g) in &opts.gateways {
        if split_address(msp, g).is_err() {
            return Err(bad("gateway", g, "HOST:PORT with a port 1..=65535"));
        }
    }
    Ok(())
}

/// A lower-case RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `Org1:NameWriter:1` → `org1-namewriter-1`: lower case, runs of other characters become one
/// `-`; names longer than `max` keep a short SHA-256 suffix so that they stay unique.
pub fn dns_label(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.len() <= max {
        return out;
    }
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(s.as_bytes()));
    let keep = max.saturating_sub(9);
    format!("{}-{}", out[..keep].trim_end_matches('-'), &h[..8])
}

/// The namespace of an org: `Org1MSP` → `org1`.
pub fn default_namespace(msp: &str) -> String {
    dns_label(msp.strip_suffix("MSP").unwrap_or(msp), 63)
}

/// `host:port` → (host, port); `[v6]:port` too.
fn split_address(psiid: &str, address: &str) -> Result<(String, u16), RenderError> {
    let bad = || RenderError::BadAddress {
        psiid: psiid.into(),
        address: address.into(),
    };
    if let Ok(sa) = address.parse::<SocketAddr>() {
        if sa.port() == 0 {
            return Err(bad());
        }
        return Ok((sa.ip().to_string(), sa.port()));
    }
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
    if host.is_empty() || host.contains(':') || host.contains('/') {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// A host that names a Service: `svc.ns`, `svc.ns.svc` or `svc.ns.svc.<cluster domain>`.
fn service_of(host: &str, cluster_domain: &str) -> Option<(String, String)> {
    if host.parse::<IpAddr>().is_ok() {
        return None;
    }
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let ok = match labels.len() {
        2 => true,
        3 => labels[2] == "svc",
        n if n > 3 => labels[2] == "svc" && labels[3..].join(".") == cluster_domain,
        _ => false,
    };
    (ok && is_dns_label(labels[0]) && is_dns_label(labels[1]))
        .then(|| (labels[0].to_string(), labels[1].to_string()))
}

fn labels(chain: &str, name: &str, psiid: &str, hop_index: usize) -> Value {
    json!({
        "app.kubernetes.io/name": "sfcbc-sf",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": "service-function",
        "app.kubernetes.io/part-of": "sfcbc",
        "app.kubernetes.io/managed-by": "sfcbc-k8s-render",
        "sfcbc.io/chain": dns_label(chain, 63),
        "sfcbc.io/hop": hop_index.to_string(),
        "sfcbc.io/psiid": dns_label(psiid, 63),
    })
}

/// The function a psiid names (`SP:Function:Instance`), unless `opts.functions` says otherwise.
fn function_of(hop: &Hop, opts: &RenderOptions, warnings: &mut Vec<String>) -> FunctionConfig {
    if let Some(f) = opts.functions.get(&hop.psiid) {
        return f.clone();
    }
    let name = hop
        .psiid
        .split(':')
        .nth(1)
        .unwrap_or("")
        .to_ascii_lowercase();
    match name.as_str() {
        "namewriter" | "name-writer" => FunctionConfig::NameWriter,
        "pass" => FunctionConfig::Pass,
        other => {
            warnings.push(format!(
                "hop {}: function {other:?} is not built in; rendered as name-writer \
                 (give it in the options, e.g. a proxy to the network function's container)",
                hop.psiid
            ));
            FunctionConfig::NameWriter
        }
    }
}

/// A chain spec as the ledger would hold it before creation, for rendering offline (`sfcbc
/// k8s render --spec chain.json`): version 1, active, no owner or transaction yet. Only the
/// id, hops and classifier matter to [`render_chain`].
pub fn chain_from_spec(spec: ChainSpec) -> Chain {
    Chain {
        id: spec.id,
        owner: Owner {
            msp: String::new(),
            id: String::new(),
        },
        version: 1,
        state: ChainState::Active,
        hops: spec.hops,
        classifier: spec.classifier,
        created_tx: String::new(),
        updated_tx: String::new(),
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// Renders the SF manifests of `chain` (module docs).
pub fn render_chain(chain: &Chain, opts: &RenderOptions) -> Result<Rendered, RenderError> {
    check_options(opts)?;
    if chain.hops.is_empty() {
        return Err(RenderError::NoHops(chain.id.clone()));
    }
    let channel = opts
        .channel
        .clone()
        .unwrap_or_else(|| format!("sfc-{}", chain.id));
    let mut warnings = Vec::new();

    // Where each hop lives.
    let mut hops: Vec<HopPlacement> = Vec::new();
    for hop in &chain.hops {
        let (host, port) = split_address(&hop.psiid, &hop.address)?;
        let ns_default = opts
            .namespaces
            .get(&hop.sp_msp)
            .cloned()
            .unwrap_or_else(|| default_namespace(&hop.sp_msp));
        let (name, namespace) = match service_of(&host, &opts.cluster_domain) {
            Some((svc, ns)) => {
                if ns != ns_default {
                    warnings.push(format!(
                        "hop {}: its address names namespace {ns}, not {ns_default} of {}; \
                         rendered in {ns}",
                        hop.psiid, hop.sp_msp
                    ));
                }
                (svc, ns)
            }
            None => (
                dns_label(&format!("sf-{}-{}", chain.id, hop.psiid), 63),
                ns_default,
            ),
        };
        for (what, value) in [("namespace", &namespace), ("name", &name)] {
            if !is_dns_label(value) {
                return Err(RenderError::BadName {
                    psiid: hop.psiid.clone(),
                    what,
                    value: value.clone(),
                });
            }
        }
        if let Some(other) = hops
            .iter()
            .find(|h| h.name == name && h.namespace == namespace)
        {
            return Err(RenderError::Collision {
                first: other.psiid.clone(),
                second: hop.psiid.clone(),
                namespace,
                name,
            });
        }
        let in_cluster_address = format!(
            "{name}.{namespace}.svc.{}:{port}",
            opts.cluster_domain.trim_end_matches('.')
        );
        if service_of(&host, &opts.cluster_domain).is_none() {
            warnings.push(format!(
                "hop {}: the ledger's address {} is not an in-cluster Service; register {} \
                 (sfcbc chain update) so that the previous hop forwards to the Service",
                hop.psiid, hop.address, in_cluster_address
            ));
        }
        if hop.validation.checks_address() {
            warnings.push(format!(
                "hop {} validates by {}: in Kubernetes datagrams come from the sender's pod IP, \
                 not its Service address, so `address` checks fail; use `hash` (the \
                 NetworkPolicy admits only the previous hop)",
                hop.psiid, hop.validation
            ));
        }
        hops.push(HopPlacement {
            psiid: hop.psiid.clone(),
            sp_msp: hop.sp_msp.clone(),
            namespace,
            name,
            port,
            in_cluster_address,
            registered_address: hop.address.clone(),
        });
    }

    let mut objects = Vec::new();
    for (i, (hop, place)) in chain.hops.iter().zip(&hops).enumerate() {
        let function = function_of(hop, opts, &mut warnings);
        let config = sf_config(chain, hop, place, &channel, function, opts)?;
        let toml = toml::to_string(&config).map_err(|e| RenderError::Config {
            psiid: hop.psiid.clone(),
            reason: e.to_string(),
        })?;
        let labels = labels(&chain.id, &place.name, &hop.psiid, i + 1);
        let ns = &place.namespace;
        let name = &place.name;
        let selector = json!({ "app.kubernetes.io/instance": name });
        let annotations = json!({
            "sfcbc.io/chain": chain.id,
            "sfcbc.io/psiid": hop.psiid,
            "sfcbc.io/sp-msp": hop.sp_msp,
            "sfcbc.io/validation": hop.validation.as_str(),
            "sfcbc.io/address": place.in_cluster_address,
        });

        objects.push(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": format!("{name}-config"), "namespace": ns, "labels": labels },
            "data": { "sf.toml": toml },
        }));

        objects.push(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": name, "namespace": ns, "labels": labels, "annotations": annotations },
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    { "name": "datagrams", "protocol": "UDP", "port": place.port, "targetPort": place.port },
                    { "name": "metrics", "protocol": "TCP", "port": opts.metrics_port, "targetPort": opts.metrics_port },
                ],
            },
        }));

        let mut volumes = vec![
            json!({ "name": "config", "configMap": { "name": format!("{name}-config") } }),
            json!({ "name": "msp", "secret": {
                "secretName": format!("sfcbc-msp-{ns}"),
                "defaultMode": 0o440,
                "items": [
                    { "key": "signcert.pem", "path": "signcerts/cert.pem" },
                    { "key": "key.pem", "path": "keystore/key.pem" },
                    { "key": "cacert.pem", "path": "cacerts/ca.pem" },
                ],
            }}),
            json!({ "name": "spool", "emptyDir": {} }),
        ];
        let mut mounts = vec![
            json!({ "name": "config", "mountPath": CONFIG_DIR, "readOnly": true }),
            json!({ "name": "msp", "mountPath": MSP_DIR, "readOnly": true }),
            json!({ "name": "spool", "mountPath": "/var/lib/sfcbc" }),
        ];
        if opts.tls {
            volumes.push(json!({ "name": "tls", "secret": {
                "secretName": format!("sfcbc-msp-{ns}"),
                "defaultMode": 0o440,
                "items": [ { "key": "tlsca.pem", "path": "ca.crt" } ],
            }}));
            mounts.push(json!({ "name": "tls", "mountPath": "/etc/sfcbc/tls", "readOnly": true }));
        }
        let mut pod_labels = labels.clone();
        pod_labels["sfcbc.io/role"] = json!("sf");
        objects.push(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": name, "namespace": ns, "labels": labels, "annotations": annotations },
            "spec": {
                "replicas": 1,
                "strategy": { "type": "Recreate" },
                "selector": { "matchLabels": selector },
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        "annotations": {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": opts.metrics_port.to_string(),
                            "prometheus.io/path": "/metrics",
                        },
                    },
                    "spec": {
                        "automountServiceAccountToken": false,
                        "enableServiceLinks": false,
                        "terminationGracePeriodSeconds": 30,
                        "securityContext": {
                            "runAsNonRoot": true,
                            "runAsUser": 10001,
                            "runAsGroup": 10001,
                            "fsGroup": 10001,
                            "seccompProfile": { "type": "RuntimeDefault" },
                        },
                        "containers": [{
                            "name": "sf",
                            "image": opts.image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["sf", "run", "--config", format!("{CONFIG_DIR}/sf.toml")],
                            "env": [ { "name": "RUST_LOG", "value": "info" } ],
                            "ports": [
                                { "name": "datagrams", "containerPort": place.port, "protocol": "UDP" },
                                { "name": "metrics", "containerPort": opts.metrics_port, "protocol": "TCP" },
                            ],
                            "readinessProbe": {
                                "httpGet": { "path": "/healthz", "port": "metrics" },
                                "periodSeconds": 5,
                                "failureThreshold": 3,
                            },
                            "livenessProbe": {
                                "tcpSocket": { "port": "metrics" },
                                "initialDelaySeconds": 10,
                                "periodSeconds": 20,
                            },
                            "resources": {
                                "requests": { "cpu": "100m", "memory": "64Mi" },
                                "limits": { "memory": "512Mi" },
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": { "drop": ["ALL"] },
                            },
                            "volumeMounts": mounts,
                        }],
                        "volumes": volumes,
                    },
                },
            },
        }));

        let gateway_port = config
            .gateway
            .as_ref()
            .and_then(|g| g.endpoint.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(opts.gateway_port);
        objects.push(network_policy(chain, &hops, i, &labels, gateway_port, opts));
    }

    Ok(Rendered {
        chain: chain.id.clone(),
        hops,
        objects,
        warnings,
    })
}

fn sf_config(
    chain: &Chain,
    hop: &Hop,
    place: &HopPlacement,
    channel: &str,
    function: FunctionConfig,
    opts: &RenderOptions,
) -> Result<SfConfig, RenderError> {
    let mut config = SfConfig::new(vec![HopRef {
        chain: chain.id.clone(),
        psiid: hop.psiid.clone(),
        sources: Vec::new(),
        channel: None,
    }]);
    config.listen = Some(SocketAddr::from(([0, 0, 0, 0], place.port)));
    config.metrics = Some(SocketAddr::from(([0, 0, 0, 0], opts.metrics_port)));
    config.function = function;
    config.records.spool = Some(PathBuf::from(SPOOL));
    config.gateway = Some(GatewayConfig {
        msp_id: hop.sp_msp.clone(),
        msp_dir: PathBuf::from(MSP_DIR),
        endpoint: opts.gateways.get(&hop.sp_msp).cloned().unwrap_or_else(|| {
            format!(
                "peer0.{}.example.com:{}",
                place.namespace, opts.gateway_port
            )
        }),
        tls_ca: opts.tls.then(|| PathBuf::from(TLS_CA)),
        server_name: opts.server_names.get(&hop.sp_msp).cloned(),
        channel: channel.to_string(),
        chaincode: opts.chaincode.clone(),
    });
    config.check().map_err(|e| RenderError::Config {
        psiid: hop.psiid.clone(),
        reason: e.to_string(),
    })?;
    Ok(config)
}

fn ns_selector(ns: &str) -> Value {
    json!({ "matchLabels": { "kubernetes.io/metadata.name": ns } })
}

/// Hop `i`'s policy: UDP in from hop `i-1` (or the classifier), metrics in from monitoring;
/// out to DNS, the peer gateway and hop `i+1` (or the destination).
fn network_policy(
    chain: &Chain,
    hops: &[HopPlacement],
    i: usize,
    labels: &Value,
    gateway_port: u16,
    opts: &RenderOptions,
) -> Value {
    let me = &hops[i];
    let from = match i.checked_sub(1).map(|p| &hops[p]) {
        Some(prev) => json!({
            "namespaceSelector": ns_selector(&prev.namespace),
            "podSelector": { "matchLabels": { "app.kubernetes.io/instance": prev.name } },
        }),
        None => json!({
            "namespaceSelector": ns_selector(&opts.classifier_namespace),
            "podSelector": { "matchLabels": { "app.kubernetes.io/name": opts.classifier_app } },
        }),
    };
    let to_next = match hops.get(i + 1) {
        Some(next) => json!({
            "to": [{
                "namespaceSelector": ns_selector(&next.namespace),
                "podSelector": { "matchLabels": { "app.kubernetes.io/instance": next.name } },
            }],
            "ports": [ { "protocol": "UDP", "port": next.port } ],
        }),
        None => match &opts.destination_cidr {
            Some(cidr) => {
                json!({ "to": [ { "ipBlock": { "cidr": cidr } } ], "ports": [ { "protocol": "UDP" } ] })
            }
            None => json!({ "ports": [ { "protocol": "UDP" } ] }),
        },
    };
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": me.name,
            "namespace": me.namespace,
            "labels": labels,
            "annotations": {
                "sfcbc.io/chain": chain.id,
                "sfcbc.io/admits": match i {
                    0 => format!("classifier {}/{}", opts.classifier_namespace, opts.classifier_app),
                    _ => format!("hop {} {}/{}", hops[i - 1].psiid, hops[i - 1].namespace, hops[i - 1].name),
                },
            },
        },
        "spec": {
            "podSelector": { "matchLabels": { "app.kubernetes.io/instance": me.name } },
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                { "from": [from], "ports": [ { "protocol": "UDP", "port": me.port } ] },
                {
                    "from": [ { "namespaceSelector": ns_selector(&opts.monitoring_namespace) } ],
                    "ports": [ { "protocol": "TCP", "port": opts.metrics_port } ],
                },
            ],
            "egress": [
                {
                    "to": [ {
                        "namespaceSelector": ns_selector("kube-system"),
                        "podSelector": { "matchLabels": { "k8s-app": "kube-dns" } },
                    } ],
                    "ports": [ { "protocol": "UDP", "port": 53 }, { "protocol": "TCP", "port": 53 } ],
                },
                { "ports": [ { "protocol": "TCP", "port": gateway_port } ] },
                to_next,
            ],
        },
    })
}
