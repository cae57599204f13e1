//! A whole devnet in one process: the orderer and one peer per org on 127.0.0.1 ports, what
//! `sfcbc devnet up`, `sfcbc demo` and the tests start.
//!
//! [`Network::start`] generates (or loads) crypto material in cryptogen's layout under
//! `<dir>/organizations`, serves each peer's Gateway + Deliver (and the orderer's Broadcast)
//! over TLS by default, and resumes the channels, packages and chaincode definitions of an
//! earlier run in the same directory. [`Network::create_channel`] makes config block 0 from a
//! channel profile, starts the channel's orderer and joins the member orgs' peers;
//! [`Network::install_package`] reads `connection.json` from a CCaaS package (what
//! `sfcbc-ccaas package` writes) and [`Network::commit_chaincode`] defines a chaincode on a
//! channel — each peer dials the chaincode server itself. [`Network::stop`] shuts everything
//! down gracefully: servers stop accepting, streams end, commit loops finish their block,
//! the orderer writes its pending batch.
//!
//! ```no_run
//! # async fn demo(package_tgz: &[u8]) -> Result<(), sfcbc_devnet::network::NetworkError> {
//! use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
//!
//! let net = Network::start(NetworkConfig::new("/tmp/devnet").with_orgs(&["Org1", "Org2"])).await?;
//! net.create_channel("sfc", &["Org1", "Org2"]).await?;
//! let package_id = net.install_package(package_tgz)?; // what `sfcbc-ccaas package` wrote
//! net.commit_chaincode("sfc", ChaincodeSpec::new("sfc", &package_id).with_policy("OR('Org1MSP.peer','Org2MSP.peer')")).await?;
//! let org1 = net.peer("Org1").expect("started");
//! println!("Org1 gateway at {} (TLS name {})", org1.address, org1.server_name());
//! net.stop().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use prost::Message;
use serde::{Deserialize, Serialize};
use sfcbc_fabric::Signer;
use sfcbc_fabric::net::{GrpcGoStatusLayer, incoming_nodelay};
use sfcbc_fabric::protos::common::{Block, Envelope, Payload, SignatureHeader};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::{Identity as TlsIdentity, Server, ServerTlsConfig};

use crate::chaincode::{ChaincodeConfig, ChaincodeTarget};
use crate::channel::{ChannelConfig, ChannelProfile, OrgProfile, SignedData};
use crate::crypto::{KeyAlgorithm, OrgCrypto, OrgSpec, generate_or_load};
use crate::deliver::DeliverService;
use crate::deliver::orderer::{ChannelConfigs, OrdererService};
use crate::gateway::{GatewayOptions, GatewayService, OrdererEndpoint, PeerDirectory};
use crate::ledger::{Ledger, valid_channel_name};
use crate::orderer::{BlockArchive, Orderer, Registrar, WritersPolicy};
use crate::peer::{EndorserService, Peer, PeerConfig, open_ledger};
use crate::validator::{ChaincodeDefinition, EndorsementPolicy, parse_collections_config};

/// The name of the file that records packages and definitions for a resumed network.
const STATE_FILE: &str = "devnet-state.json";
/// The host name of every org's peer.
const PEER_HOST: &str = "peer0";
/// The host name of the orderer.
const ORDERER_HOST: &str = "orderer";

/// Why the network could not do something.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Channel(#[from] crate::channel::ChannelError),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Peer(#[from] crate::peer::PeerError),
    #[error("orderer: {0}")]
    Orderer(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("invalid chaincode package: {0}")]
    Package(String),
    #[error("invalid chaincode definition: {0}")]
    Definition(String),
    #[error("channel {0} already exists")]
    ChannelExists(String),
    #[error("channel {0} does not exist; create it first")]
    NoChannel(String),
    #[error(
        "invalid channel name {0:?}: use lowercase letters, digits, '.' and '-', starting with a letter"
    )]
    BadChannelName(String),
    #[error("unknown org {0}; the network's orgs are {1}")]
    UnknownOrg(String, String),
    #[error("state file {path}: {detail}")]
    State { path: String, detail: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> NetworkError + '_ {
    move |source| NetworkError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// How to build a network.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Everything lives here: `organizations/` (crypto), `orderer/`, `peers/`, the state file.
    pub dir: PathBuf,
    /// Peer orgs by name (`Org1` → `Org1MSP`, `org1.example.com`); one peer each.
    pub orgs: Vec<String>,
    /// TLS on every endpoint (server-side TLS, as Fabric's default `clientAuthRequired: false`).
    pub tls: bool,
    pub key_algorithm: KeyAlgorithm,
    /// BatchTimeout of new channels.
    pub batch_timeout: Duration,
    /// BatchSize.MaxMessageCount of new channels.
    pub max_message_count: u32,
    /// Interface every endpoint listens on.
    pub host: String,
    /// The orderer listens here and the peers on the next ports; `None` takes free ports.
    pub base_port: Option<u16>,
    pub gateway: GatewayOptions,
    pub chaincode: ChaincodeConfig,
}

impl NetworkConfig {
    /// The defaults of `sfcbc devnet up`: Manager, Org1–3 and Tenant1, TLS, P-256,
    /// BatchTimeout 50 ms, 500 messages per block, free ports on 127.0.0.1.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            orgs: ["Manager", "Org1", "Org2", "Org3", "Tenant1"]
                .map(String::from)
                .to_vec(),
            tls: true,
            key_algorithm: KeyAlgorithm::EcdsaP256,
            batch_timeout: Duration::from_millis(50),
            max_message_count: 500,
            host: "127.0.0.1".to_owned(),
            base_port: None,
            gateway: GatewayOptions::default(),
            chaincode: ChaincodeConfig::default(),
        }
    }

    pub fn with_orgs<S: AsRef<str>>(mut self, orgs: &[S]) -> Self {
        self.orgs = orgs.iter().map(|o| o.as_ref().to_owned()).collect();
        self
    }

    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }
}

/// A chaincode definition to commit on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaincodeSpec {
    pub name: String,
    pub version: String,
    pub sequence: i64,
    /// The installed package that runs it.
    pub package_id: String,
    /// Fabric's policy syntax (`OR('Org1MSP.peer')`), `MAJORITY Endorsement`, or a channel
    /// policy path; `None`: the channel's `/Channel/Application/Endorsement`.
    pub policy: Option<String>,
    /// fabric-samples' `collections_config.json` content.
    pub collections_config: Option<String>,
    pub init_required: bool,
}

impl ChaincodeSpec {
    /// Version `1.0`, sequence 1, the channel's default policy, no explicit collections.
    pub fn new(name: impl Into<String>, package_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: "1.0".to_owned(),
            sequence: 1,
            package_id: package_id.into(),
            policy: None,
            collections_config: None,
            init_required: false,
        }
    }

    pub fn with_policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }

    fn definition(&self) -> Result<ChaincodeDefinition, NetworkError> {
        let mut def = ChaincodeDefinition::new(&self.name, &self.version);
        def.sequence = self.sequence;
        def.init_required = self.init_required;
        if let Some(p) = &self.policy {
            def = def.with_policy(
                EndorsementPolicy::parse(p).map_err(|e| NetworkError::Definition(e.to_string()))?,
            );
        }
        if let Some(c) = &self.collections_config {
            def = def.with_collections(
                parse_collections_config(c.as_bytes())
                    .map_err(|e| NetworkError::Definition(e.to_string()))?,
            );
        }
        Ok(def)
    }
}

/// What a resumed network restores besides its ledgers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct NetworkState {
    /// package id → connection.json.
    packages: Vec<(String, String)>,
    /// (channel, definition).
    definitions: Vec<(String, ChaincodeSpec)>,
}

/// One running peer of the network.
#[derive(Debug, Clone)]
pub struct NetworkPeer {
    pub peer: Peer,
    /// The org's crypto material (MSP folders of peer, Admin, User1; TLS CA).
    pub org: OrgCrypto,
    /// Where its Gateway and Deliver services listen.
    pub address: SocketAddr,
}

impl NetworkPeer {
    pub fn msp_id(&self) -> &str {
        self.org.msp_id()
    }

    /// The TLS server name the peer's certificate carries (`peer0.<domain>`).
    pub fn server_name(&self) -> String {
        self.org.node_name(PEER_HOST)
    }
}

/// A client profile: what a CLI needs to reach the network (written by `sfcbc devnet up`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientProfile {
    pub tls: bool,
    pub orderer: String,
    pub channels: Vec<String>,
    pub peers: Vec<ProfilePeer>,
}

/// One org's entry of a [`ClientProfile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfilePeer {
    pub msp_id: String,
    /// `host:port` of Gateway and Deliver.
    pub endpoint: String,
    /// TLS server name to verify (`peer0.<domain>`).
    pub server_name: String,
    pub tls_ca_cert: PathBuf,
    pub admin_msp: PathBuf,
    pub user_msp: PathBuf,
}

/// Fabric's orderer `SigFilter` with each channel's `/Channel/Writers` policy.
#[derive(Debug, Default)]
struct ChannelWriters {
    configs: RwLock<HashMap<String, Arc<ChannelConfig>>>,
}

impl WritersPolicy for ChannelWriters {
    fn check(&self, channel: &str, envelope: &Envelope) -> Result<(), String> {
        let config = self
            .configs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
            .cloned()
            .ok_or_else(|| format!("channel {channel} has no configuration"))?;
        let creator = Payload::decode(envelope.payload.as_slice())
            .ok()
            .and_then(|p| p.header)
            .and_then(|h| SignatureHeader::decode(h.signature_header.as_slice()).ok())
            .map(|s| s.creator)
            .ok_or("could not extract the creator of the envelope")?;
        config
            .evaluate_signed_data(
                "/Channel/Writers",
                &[SignedData {
                    data: envelope.payload.clone(),
                    identity: creator,
                    signature: envelope.signature.clone(),
                }],
            )
            .map_err(|e| format!("SigFilter evaluation failed: {e}"))
    }
}

impl ChannelConfigs for ChannelWriters {
    fn config(&self, channel: &str) -> Option<Arc<ChannelConfig>> {
        self.configs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
            .cloned()
    }
}

/// A running devnet.
pub struct Network {
    config: NetworkConfig,
    orderer_org: OrgCrypto,
    orderer_signer: Arc<Signer>,
    orderer_address: SocketAddr,
    registrar: Arc<Registrar>,
    writers: Arc<ChannelWriters>,
    peers: Vec<NetworkPeer>,
    directory: PeerDirectory,
    /// Turns true on stop: servers and streams end.
    shutdown: watch::Sender<bool>,
    servers: Mutex<Vec<JoinHandle<()>>>,
    state: Mutex<NetworkState>,
    /// Channel configs by name, in creation order.
    channels: RwLock<Vec<(String, Arc<ChannelConfig>)>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("dir", &self.config.dir)
            .field("orderer", &self.orderer_address)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

/// Binds `host:port` (port 0: any free port).
async fn bind(host: &str, port: u16) -> Result<TcpListener, NetworkError> {
    let addr = format!("{host}:{port}");
    TcpListener::bind(&addr)
        .await
        .map_err(|source| NetworkError::Bind { addr, source })
}

/// A server as Fabric's nodes are set up: keepalive and TLS if given. Callers add
/// [`GrpcGoStatusLayer`] (grpc-go's status for a message over the receive limit).
fn server_builder(tls: Option<(Vec<u8>, Vec<u8>)>) -> Result<Server, NetworkError> {
    let builder = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(60)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)));
    match tls {
        None => Ok(builder),
        Some((cert, key)) => builder
            .tls_config(ServerTlsConfig::new().identity(TlsIdentity::from_pem(cert, key)))
            .map_err(|e| NetworkError::Tls(e.to_string())),
    }
}

impl Network {
    /// Starts (or resumes, if `config.dir` holds an earlier run) the network.
    pub async fn start(config: NetworkConfig) -> Result<Self, NetworkError> {
        let dir = config.dir.clone();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let base = dir.join("organizations");
        let mut specs = vec![OrgSpec::orderer_org()];
        specs.extend(config.orgs.iter().map(|o| OrgSpec::peer_org(o)));
        let mut orgs = generate_or_load(&base, &specs, config.key_algorithm)?;
        let peer_orgs = orgs.split_off(1);
        let orderer_org = orgs.remove(0);
        let orderer_signer = Arc::new(orderer_org.node_signer(ORDERER_HOST)?);
        let (shutdown, _) = watch::channel(false);
        let writers = Arc::new(ChannelWriters::default());
        let registrar = Arc::new(Registrar::new(writers.clone()));

        if let Some(b) = config.base_port {
            let last = u32::from(b) + peer_orgs.len() as u32;
            if b == 0 || last > u32::from(u16::MAX) {
                return Err(NetworkError::Bind {
                    addr: format!("{}:{b}..{last}", config.host),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!(
                            "the orderer and {} peers need ports {b}..={last}, within 1..=65535",
                            peer_orgs.len()
                        ),
                    ),
                });
            }
        }
        // Checked above: no overflow.
        let port = |i: u16| config.base_port.map_or(0, |b| b + i);
        let orderer_listener = bind(&config.host, port(0)).await?;
        let orderer_address = orderer_listener
            .local_addr()
            .map_err(io_err(Path::new("orderer socket")))?;
        let mut listeners = Vec::new();
        for i in 0..peer_orgs.len() {
            let l = bind(&config.host, port(1 + i as u16)).await?;
            let a = l.local_addr().map_err(io_err(Path::new("peer socket")))?;
            listeners.push((l, a));
        }

        let directory = PeerDirectory::new();
        let mut peers = Vec::new();
        for (org, (_, address)) in peer_orgs.iter().zip(&listeners) {
            let peer = Peer::new(PeerConfig {
                msp_id: org.msp_id().to_owned(),
                signer: org.node_signer(PEER_HOST)?,
                ledger_dir: dir
                    .join("peers")
                    .join(org.node_name(PEER_HOST))
                    .join("ledgers"),
                address: address.to_string(),
                chaincode: config.chaincode.clone(),
            });
            directory.add(peer.clone());
            peers.push(NetworkPeer {
                peer,
                org: org.clone(),
                address: *address,
            });
        }
        let all: Vec<Peer> = peers.iter().map(|p| p.peer.clone()).collect();
        for p in &all {
            p.set_gossip_peers(&all);
        }

        let network = Network {
            orderer_org,
            orderer_signer,
            orderer_address,
            registrar,
            writers,
            peers,
            directory,
            shutdown,
            servers: Mutex::new(Vec::new()),
            state: Mutex::new(NetworkState::default()),
            channels: RwLock::new(Vec::new()),
            config,
        };
        network.serve_orderer(orderer_listener)?;
        for (i, (listener, _)) in listeners.into_iter().enumerate() {
            network.serve_peer(i, listener)?;
        }
        network.resume().await?;
        tracing::info!(
            dir = %network.config.dir.display(),
            orderer = %network.orderer_address,
            peers = network.peers.len(),
            tls = network.config.tls,
            "devnet running"
        );
        Ok(network)
    }

    fn spawn_server(&self, task: JoinHandle<()>) {
        self.servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    fn serve_orderer(&self, listener: TcpListener) -> Result<(), NetworkError> {
        let tls = if self.config.tls {
            let m = self.orderer_org.node_tls(ORDERER_HOST)?;
            Some((m.cert_pem, m.key_pem))
        } else {
            None
        };
        let service = OrdererService::new(
            self.registrar.clone(),
            self.writers.clone(),
            self.shutdown.subscribe(),
        )
        .into_server();
        let router = server_builder(tls)?
            .layer(GrpcGoStatusLayer)
            .add_service(service);
        let mut stop = self.shutdown.subscribe();
        self.spawn_server(tokio::spawn(async move {
            let result = router
                .serve_with_incoming_shutdown(incoming_nodelay(listener), async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "orderer server failed");
            }
        }));
        Ok(())
    }

    fn serve_peer(&self, index: usize, listener: TcpListener) -> Result<(), NetworkError> {
        let np = &self.peers[index];
        let tls = if self.config.tls {
            let m = np.org.node_tls(PEER_HOST)?;
            Some((m.cert_pem, m.key_pem))
        } else {
            None
        };
        let gateway = GatewayService::new(
            np.peer.clone(),
            self.directory.clone(),
            OrdererEndpoint {
                address: self.orderer_address.to_string(),
                msp_id: self.orderer_org.msp_id().to_owned(),
                registrar: self.registrar.clone(),
            },
            self.config.gateway,
            self.shutdown.subscribe(),
        );
        let deliver = DeliverService::new(np.peer.clone(), self.shutdown.subscribe());
        let router = server_builder(tls)?
            .layer(GrpcGoStatusLayer)
            .add_service(gateway.into_server())
            .add_service(deliver.into_server())
            .add_service(EndorserService::new(np.peer.clone()).into_server());
        let mut stop = self.shutdown.subscribe();
        let msp = np.msp_id().to_owned();
        self.spawn_server(tokio::spawn(async move {
            let result = router
                .serve_with_incoming_shutdown(incoming_nodelay(listener), async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(peer = msp, error = %e, "peer server failed");
            }
        }));
        Ok(())
    }

    fn orderer_ledger_dir(&self) -> PathBuf {
        self.config.dir.join("orderer").join("ledgers")
    }

    fn state_path(&self) -> PathBuf {
        self.config.dir.join(STATE_FILE)
    }

    fn save_state(&self) -> Result<(), NetworkError> {
        let path = self.state_path();
        let state = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let json = serde_json::to_vec_pretty(&state).map_err(|e| NetworkError::State {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Restarts the channels found in the orderer's ledgers, then packages and definitions.
    async fn resume(&self) -> Result<(), NetworkError> {
        let dir = self.orderer_ledger_dir();
        let mut names = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(channel) = name.strip_suffix(".redb")
                    && valid_channel_name(channel)
                {
                    names.push(channel.to_owned());
                }
            }
        }
        names.sort();
        for name in names {
            let ledger = Arc::new(open_ledger(&dir, &name)?);
            let genesis = ledger
                .snapshot()?
                .block_by_number(0)?
                .and_then(|b| Block::decode(b.as_slice()).ok());
            let Some(genesis) = genesis else {
                tracing::warn!(channel = name, "orderer ledger without block 0; skipped");
                continue;
            };
            self.start_channel(genesis, ledger)?;
        }
        let path = self.state_path();
        let state: NetworkState = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| NetworkError::State {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => NetworkState::default(),
            Err(e) => return Err(io_err(&path)(e)),
        };
        for (package_id, connection) in &state.packages {
            let target = ChaincodeTarget::from_connection_json(connection.as_bytes())
                .map_err(|e| NetworkError::Package(e.to_string()))?;
            for p in &self.peers {
                p.peer.install(package_id, target.clone());
            }
        }
        for (channel, spec) in &state.definitions {
            let def = spec.definition()?;
            for p in &self.peers {
                if p.peer.channel(channel).is_some() {
                    p.peer
                        .define_chaincode(channel, def.clone(), &spec.package_id)?;
                }
            }
        }
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
        Ok(())
    }

    /// Creates channel `name` with the peer orgs `orgs` (org names or MSP IDs; empty: all):
    /// config block 0 as configtxgen makes it, the channel's orderer, the members' peers join.
    pub async fn create_channel<S: AsRef<str>>(
        &self,
        name: &str,
        orgs: &[S],
    ) -> Result<(), NetworkError> {
        if !valid_channel_name(name) {
            return Err(NetworkError::BadChannelName(name.to_owned()));
        }
        if self.registrar.get(name).is_some() {
            return Err(NetworkError::ChannelExists(name.to_owned()));
        }
        let mut members = Vec::new();
        for want in orgs {
            let want = want.as_ref();
            let org = self
                .peers
                .iter()
                .find(|p| p.org.spec.name == want || p.msp_id() == want)
                .ok_or_else(|| {
                    NetworkError::UnknownOrg(
                        want.to_owned(),
                        self.peers
                            .iter()
                            .map(|p| p.org.spec.name.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })?;
            members.push(org.org.clone());
        }
        if members.is_empty() {
            members = self.peers.iter().map(|p| p.org.clone()).collect();
        }
        let application = members
            .iter()
            .map(|o| Ok(OrgProfile::application(o.msp_config()?)))
            .collect::<Result<Vec<_>, NetworkError>>()?;
        let orderer = OrgProfile::orderer(
            self.orderer_org.msp_config()?,
            vec![self.orderer_address.to_string()],
        );
        let mut profile = ChannelProfile::new(name, vec![orderer], application);
        profile.batch_timeout = self.config.batch_timeout;
        profile.batch_size.max_message_count = self.config.max_message_count;
        let genesis = profile.genesis_block()?;
        let ledger = Arc::new(open_ledger(&self.orderer_ledger_dir(), name)?);
        self.start_channel(genesis, ledger)
    }

    /// Starts a channel's orderer on `ledger` (appending `genesis` to an empty one) and joins
    /// the peers of its application orgs.
    fn start_channel(&self, genesis: Block, ledger: Arc<Ledger>) -> Result<(), NetworkError> {
        let config = Arc::new(ChannelConfig::from_block(&genesis)?);
        let name = config.channel_id.clone();
        let archive =
            BlockArchive::on_ledger(ledger).map_err(|e| NetworkError::Orderer(e.to_string()))?;
        if archive.height() == 0 {
            archive
                .append(genesis)
                .map_err(|e| NetworkError::Orderer(e.to_string()))?;
        }
        let orderer = Orderer::start(
            config.orderer_config(),
            self.orderer_signer.clone(),
            archive,
        )
        .map_err(|e| NetworkError::Orderer(e.to_string()))?;
        self.writers
            .configs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone(), config.clone());
        let handle = self
            .registrar
            .add(orderer)
            .map_err(|e| NetworkError::ChannelExists(e.0))?;
        for p in &self.peers {
            if config.application_org(p.msp_id()).is_some() {
                p.peer.join_channel(&name, config.clone(), handle.clone())?;
            }
        }
        self.channels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name, config));
        Ok(())
    }

    /// Installs a CCaaS package (`peer lifecycle chaincode install` input) on every peer;
    /// returns its package id (`label:sha256`).
    pub fn install_package(&self, package: &[u8]) -> Result<String, NetworkError> {
        let (label, connection) = read_ccaas_package(package)?;
        let target = ChaincodeTarget::from_connection_json(connection.as_bytes())
            .map_err(|e| NetworkError::Package(format!("connection.json: {e}")))?;
        let package_id = format!("{label}:{}", hex::encode(sha2_digest(package)));
        for p in &self.peers {
            p.peer.install(&package_id, target.clone());
        }
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.packages.retain(|(id, _)| *id != package_id);
            state.packages.push((package_id.clone(), connection));
        }
        self.save_state()?;
        Ok(package_id)
    }

    /// [`Network::install_package`] from a `.tgz` file.
    pub fn install_package_file(&self, path: &Path) -> Result<String, NetworkError> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        self.install_package(&bytes)
    }

    /// Commits a chaincode definition on `channel`: every member peer dials the package's
    /// chaincode server (now, so an unreachable server is reported here) and endorses for it.
    pub async fn commit_chaincode(
        &self,
        channel: &str,
        spec: ChaincodeSpec,
    ) -> Result<(), NetworkError> {
        let def = spec.definition()?;
        let members: Vec<&NetworkPeer> = self
            .peers
            .iter()
            .filter(|p| p.peer.channel(channel).is_some())
            .collect();
        if members.is_empty() {
            return Err(NetworkError::NoChannel(channel.to_owned()));
        }
        for p in &members {
            p.peer.connect_chaincode(&spec.package_id).await?;
        }
        for p in &members {
            p.peer
                .define_chaincode(channel, def.clone(), &spec.package_id)?;
        }
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state
                .definitions
                .retain(|(c, s)| !(c == channel && s.name == spec.name));
            state.definitions.push((channel.to_owned(), spec));
        }
        self.save_state()
    }

    /// The running peers, in org order.
    pub fn peers(&self) -> &[NetworkPeer] {
        &self.peers
    }

    /// The peer of org `org` (name or MSP ID).
    pub fn peer(&self, org: &str) -> Option<&NetworkPeer> {
        self.peers
            .iter()
            .find(|p| p.msp_id() == org || p.org.spec.name == org)
    }

    /// The orderer's Broadcast endpoint.
    pub fn orderer_address(&self) -> SocketAddr {
        self.orderer_address
    }

    /// The orderer org's crypto material.
    pub fn orderer_org(&self) -> &OrgCrypto {
        &self.orderer_org
    }

    pub fn tls(&self) -> bool {
        self.config.tls
    }

    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// Channel names, in creation order.
    pub fn channels(&self) -> Vec<String> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A channel's configuration as read from its block 0.
    pub fn channel_config(&self, name: &str) -> Option<Arc<ChannelConfig>> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone())
    }

    /// Waits until every member peer of `channel` has committed `height` blocks.
    pub async fn wait_for_height(&self, channel: &str, height: u64) -> Result<(), NetworkError> {
        for p in &self.peers {
            if let Some(ch) = p.peer.channel(channel) {
                let mut w = ch.ledger.watch_height();
                // An error means the ledger is gone (shutdown): nothing more to wait for.
                let _ = w.wait_for(|h| *h >= height).await;
            }
        }
        Ok(())
    }

    /// What a client needs to reach the network.
    pub fn client_profile(&self) -> ClientProfile {
        ClientProfile {
            tls: self.config.tls,
            orderer: self.orderer_address.to_string(),
            channels: self.channels(),
            peers: self
                .peers
                .iter()
                .map(|p| ProfilePeer {
                    msp_id: p.msp_id().to_owned(),
                    endpoint: p.address.to_string(),
                    server_name: p.server_name(),
                    tls_ca_cert: p.org.tls_ca_cert_path(),
                    admin_msp: p.org.user_msp_dir("Admin"),
                    user_msp: p.org.user_msp_dir("User1"),
                })
                .collect(),
        }
    }

    /// Writes [`Network::client_profile`] as JSON.
    pub fn write_client_profile(&self, path: &Path) -> Result<(), NetworkError> {
        let json =
            serde_json::to_vec_pretty(&self.client_profile()).map_err(|e| NetworkError::State {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        std::fs::write(path, json).map_err(io_err(path))
    }

    /// Stops the network: servers stop accepting and their streams end, the peers' commit
    /// loops finish, the orderers write their pending batches. Ledgers stay on disk.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let servers: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.servers.lock().unwrap_or_else(PoisonError::into_inner));
        for s in servers {
            let abort = s.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), s)
                .await
                .is_err()
            {
                tracing::warn!("a server did not stop within 5 s; aborting it");
                abort.abort();
            }
        }
        let orderers: Vec<_> = self
            .registrar
            .channels()
            .into_iter()
            .filter_map(|name| self.registrar.get(&name))
            .collect();
        if let Err(e) = self.registrar.shutdown().await {
            tracing::error!(error = %e, "orderer shutdown");
        }
        // Let the peers commit what the orderers wrote last (bounded: a halted channel).
        for o in orderers {
            let height = o.height();
            let wait = self.wait_for_height(o.channel(), height);
            if tokio::time::timeout(Duration::from_secs(5), wait)
                .await
                .is_err()
            {
                tracing::warn!(
                    channel = o.channel(),
                    height,
                    "peers did not catch up before stop"
                );
            }
        }
        for p in &self.peers {
            p.peer.shutdown().await;
        }
        tracing::info!(dir = %self.config.dir.display(), "devnet stopped");
    }
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).into()
}

/// The label (from `metadata.json`) and `connection.json` of a CCaaS package: an outer
/// tar.gz with `metadata.json` (`{"type":"ccaas","label":...}`) and `code.tar.gz`, which
/// holds `connection.json`.
pub fn read_ccaas_package(bytes: &[u8]) -> Result<(String, String), NetworkError> {
    let bad = |m: String| NetworkError::Package(m);
    let outer = untar(bytes).map_err(|e| bad(format!("not a tar.gz: {e}")))?;
    let metadata = outer
        .get("metadata.json")
        .ok_or_else(|| bad("metadata.json missing".into()))?;
    #[derive(Deserialize)]
    struct Metadata {
        #[serde(rename = "type")]
        kind: String,
        label: String,
    }
    let metadata: Metadata =
        serde_json::from_slice(metadata).map_err(|e| bad(format!("metadata.json: {e}")))?;
    if !metadata.kind.eq_ignore_ascii_case("ccaas") {
        return Err(bad(format!(
            "type {:?}: devnet runs chaincode as a service only (package it with `sfcbc-ccaas package`)",
            metadata.kind
        )));
    }
    let code = outer
        .get("code.tar.gz")
        .ok_or_else(|| bad("code.tar.gz missing".into()))?;
    let inner = untar(code).map_err(|e| bad(format!("code.tar.gz: {e}")))?;
    let connection = inner
        .get("connection.json")
        .ok_or_else(|| bad("connection.json missing in code.tar.gz".into()))?;
    let connection = String::from_utf8(connection.clone())
        .map_err(|_| bad("connection.json is not UTF-8".into()))?;
    Ok((metadata.label, connection))
}

/// The regular files of a tar.gz, by path (a leading `./` dropped).
fn untar(bytes: &[u8]) -> std::io::Result<HashMap<String, Vec<u8>>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = HashMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").to_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        out.insert(path, data);
    }
    Ok(out)
}
