//! A devnet peer: one per org, composed from the parts of this crate.
//!
//! A [`Peer`] has its org's identity (it signs endorsements), one ledger per joined channel,
//! the chaincode definitions committed on each channel, its own connections to chaincode
//! servers (it dials them itself), a transient store for private data awaiting commit, and
//! one commit loop per channel that pulls blocks from the orderer, validates them
//! ([`crate::validator`]), picks the private data its org may hold and commits
//! ([`crate::ledger`]). Endorsement is [`Peer::process_proposal`] (see `endorse.rs`).
//! Commits are announced through the ledger's height watch, which the gateway's
//! CommitStatus/ChaincodeEvents and the Deliver service follow.
//!
//! Shutdown is mini-redis style: [`Peer::shutdown`] broadcasts a stop to every commit loop
//! and waits until each has dropped its completion sender.

mod commit;
mod endorse;
mod ledger_file;
mod service;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, Weak};

use sfcbc_fabric::Signer;
use sfcbc_fabric::msp::{ValidatedIdentity, ValidityTime};
use tokio::sync::{broadcast, mpsc};

pub use crate::endorser::ProposalOutcome;
pub use endorse::QSCC;
pub use ledger_file::open_ledger;
pub use service::EndorserService;

use crate::chaincode::{ChaincodeConfig, ChaincodeError, ChaincodeHandle, ChaincodeTarget};
use crate::chaincode::{ChaincodeOutcome, Invocation};
use crate::committer::{Committer, TransientStore};
use crate::endorser::{BoxFuture, ChaincodeRuntimes, Endorser, EndorserChannel, Simulate};
use crate::ledger::{Ledger, LedgerError};
use crate::orderer::OrdererHandle;
use crate::simulator::TxSimulator;
use crate::validator::{
    ChaincodeDefinition, ChaincodeDefinitions, ChannelPolicies, DefinitionRegistry, Validator,
};

/// Why a peer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("peer {peer}: channel {channel} already joined")]
    AlreadyJoined { peer: String, channel: String },
    #[error("peer {peer}: channel {channel} not joined; join it first")]
    NoChannel { peer: String, channel: String },
    #[error(
        "peer {peer}: chaincode package {package_id} is not installed; install the package first"
    )]
    NotInstalled { peer: String, package_id: String },
    #[error("peer {peer}: chaincode {package_id}: {source}")]
    Chaincode {
        peer: String,
        package_id: String,
        #[source]
        source: ChaincodeError,
    },
    #[error("invalid chaincode package: {0}")]
    Package(String),
    #[error("peer {peer}: the peer is shutting down")]
    ShuttingDown { peer: String },
}

/// How to build a peer.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The org's MSP ID.
    pub msp_id: String,
    /// The peer's own identity (`peers/peer0.<domain>/msp`): signs endorsements.
    pub signer: Signer,
    /// Where the channel ledgers live (`<dir>/<channel>.redb`).
    pub ledger_dir: PathBuf,
    /// `host:port` of the peer's gateway endpoint: reported in the gateway's ErrorDetails.
    pub address: String,
    /// How the peer runs chaincodes.
    pub chaincode: ChaincodeConfig,
}

/// One channel as this peer has joined it.
pub struct PeerChannel {
    pub name: String,
    pub ledger: Arc<Ledger>,
    /// MSPs and policies from the channel's config block.
    pub config: Arc<dyn ChannelPolicies>,
    /// Chaincode definitions committed on the channel (by name).
    pub definitions: Arc<DefinitionRegistry>,
    /// Validates and commits blocks; owns the transient store it takes private data from.
    committer: Arc<Committer>,
    /// Chaincode name → the connection that runs it on this channel.
    runtimes: Arc<ChaincodeRuntimes>,
    /// Where blocks come from.
    orderer: OrdererHandle,
}

impl std::fmt::Debug for PeerChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerChannel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PeerChannel {
    /// The definition of chaincode `name` on this channel.
    pub fn definition(&self, name: &str) -> Option<Arc<ChaincodeDefinition>> {
        self.definitions.definition(name)
    }

    /// Private data of endorsed transactions waiting for their block.
    pub fn transient(&self) -> &Arc<TransientStore> {
        self.committer.transient()
    }

    /// `serialized` validated by the channel's MSPs. The MSP manager remembers what it
    /// validated (Fabric's cached MSP), so the gateway may ask on every Endorse.
    pub fn validated_identity(&self, serialized: &[u8]) -> Option<ValidatedIdentity> {
        self.config
            .msps()
            .validate_serialized(serialized, ValidityTime::AsFabric)
            .ok()
    }

    /// Whether org `msp_id` may hold private data of `collection` of chaincode `namespace`.
    pub fn is_member(&self, namespace: &str, collection: &str, msp_id: &str) -> bool {
        crate::committer::is_member(self.definitions.as_ref(), namespace, collection, msp_id)
    }
}

/// The runtime of a defined chaincode: the peer's connection to its package's server,
/// dialled on first use (and again after a broken stream).
struct LazyChaincode {
    peer: Weak<PeerInner>,
    package_id: String,
}

impl Simulate for LazyChaincode {
    fn execute<'a>(
        &'a self,
        invocation: &'a Invocation,
        sim: &'a mut TxSimulator,
    ) -> BoxFuture<'a, Result<ChaincodeOutcome, String>> {
        Box::pin(async move {
            let inner = self
                .peer
                .upgrade()
                .ok_or_else(|| "the peer has stopped".to_owned())?;
            let handle = Peer { inner }
                .connection(&self.package_id)
                .await
                .map_err(|e| e.to_string())?;
            handle
                .execute(invocation, sim)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// A running peer; cheap to clone.
#[derive(Clone)]
pub struct Peer {
    inner: Arc<PeerInner>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("msp_id", &self.inner.config.msp_id)
            .field("address", &self.inner.config.address)
            .finish_non_exhaustive()
    }
}

struct PeerInner {
    config: PeerConfig,
    /// Fabric's endorser (ProcessProposal) with this peer's channels.
    endorser: Endorser,
    channels: RwLock<BTreeMap<String, Arc<PeerChannel>>>,
    /// Installed packages: package id → where its server listens.
    installed: RwLock<HashMap<String, ChaincodeTarget>>,
    /// Live chaincode connections by package id (shared by every channel).
    connections: tokio::sync::Mutex<HashMap<String, ChaincodeHandle>>,
    /// The other peers of the network, for private data dissemination (weak: peers do not
    /// keep each other alive).
    gossip: RwLock<Vec<Weak<PeerInner>>>,
    /// Tells commit loops to stop (mini-redis `notify_shutdown`).
    notify_shutdown: broadcast::Sender<()>,
    /// Each commit loop holds a clone; when all are dropped, shutdown is complete.
    shutdown_complete_tx: std::sync::Mutex<Option<mpsc::Sender<()>>>,
    shutdown_complete_rx: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

impl Peer {
    /// A peer with no channels yet.
    pub fn new(config: PeerConfig) -> Self {
        let (notify_shutdown, _) = broadcast::channel(1);
        let (tx, rx) = mpsc::channel(1);
        Self {
            inner: Arc::new(PeerInner {
                endorser: Endorser::new(config.signer.clone()),
                config,
                channels: RwLock::new(BTreeMap::new()),
                installed: RwLock::new(HashMap::new()),
                connections: tokio::sync::Mutex::new(HashMap::new()),
                gossip: RwLock::new(Vec::new()),
                notify_shutdown,
                shutdown_complete_tx: std::sync::Mutex::new(Some(tx)),
                shutdown_complete_rx: tokio::sync::Mutex::new(rx),
            }),
        }
    }

    pub fn msp_id(&self) -> &str {
        &self.inner.config.msp_id
    }

    /// The gateway endpoint (`host:port`).
    pub fn address(&self) -> &str {
        &self.inner.config.address
    }

    pub fn signer(&self) -> &Signer {
        &self.inner.config.signer
    }

    pub fn ledger_dir(&self) -> &Path {
        &self.inner.config.ledger_dir
    }

    /// Lets this peer disseminate private data to `others` (itself is skipped).
    pub fn set_gossip_peers(&self, others: &[Peer]) {
        let list = others
            .iter()
            .filter(|p| !Arc::ptr_eq(&p.inner, &self.inner))
            .map(|p| Arc::downgrade(&p.inner))
            .collect();
        *self
            .inner
            .gossip
            .write()
            .unwrap_or_else(PoisonError::into_inner) = list;
    }

    fn gossip_peers(&self) -> Vec<Peer> {
        self.inner
            .gossip
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(Weak::upgrade)
            .map(|inner| Peer { inner })
            .collect()
    }

    /// Joins a channel: opens its ledger and starts the commit loop, which pulls every block
    /// from `orderer` after the ledger's height (block 0, the config block, included).
    pub fn join_channel(
        &self,
        name: &str,
        config: Arc<dyn ChannelPolicies>,
        orderer: OrdererHandle,
    ) -> Result<Arc<PeerChannel>, PeerError> {
        let done = self
            .inner
            .shutdown_complete_tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| PeerError::ShuttingDown {
                peer: self.msp_id().to_owned(),
            })?;
        let mut channels = self
            .inner
            .channels
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if channels.contains_key(name) {
            return Err(PeerError::AlreadyJoined {
                peer: self.msp_id().to_owned(),
                channel: name.to_owned(),
            });
        }
        let ledger = Arc::new(open_ledger(&self.inner.config.ledger_dir, name)?);
        let definitions = Arc::new(DefinitionRegistry::new());
        let validator = Validator::new(name, config.clone(), definitions.clone());
        let transient = Arc::new(TransientStore::new());
        let committer = Arc::new(Committer::new(
            ledger.clone(),
            validator,
            transient.clone(),
            self.msp_id(),
        ));
        let runtimes = Arc::new(ChaincodeRuntimes::new());
        self.inner.endorser.add_channel(
            name,
            EndorserChannel {
                policies: config.clone(),
                definitions: definitions.clone(),
                ledger: ledger.clone(),
                chaincodes: runtimes.clone(),
                transient,
            },
        );
        let channel = Arc::new(PeerChannel {
            name: name.to_owned(),
            ledger,
            config,
            definitions,
            committer,
            runtimes,
            orderer,
        });
        channels.insert(name.to_owned(), channel.clone());
        let shutdown = self.inner.notify_shutdown.subscribe();
        tokio::spawn(commit::run(
            self.msp_id().to_owned(),
            channel.clone(),
            shutdown,
            done,
        ));
        Ok(channel)
    }

    /// A joined channel.
    pub fn channel(&self, name: &str) -> Option<Arc<PeerChannel>> {
        self.inner
            .channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Names of the joined channels.
    pub fn channels(&self) -> Vec<String> {
        self.inner
            .channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Installs a chaincode-as-a-service package: where its server listens.
    pub fn install(&self, package_id: &str, target: ChaincodeTarget) {
        self.inner
            .installed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(package_id.to_owned(), target);
    }

    /// Installed package ids.
    pub fn installed(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .installed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// Commits `definition` on `channel`, run by installed package `package_id`. As Fabric
    /// launches a chaincode on first use, the peer dials the chaincode server when a proposal
    /// first needs it (see [`Peer::connect_chaincode`] to dial now).
    pub fn define_chaincode(
        &self,
        channel: &str,
        definition: ChaincodeDefinition,
        package_id: &str,
    ) -> Result<(), PeerError> {
        let ch = self.channel(channel).ok_or_else(|| PeerError::NoChannel {
            peer: self.msp_id().to_owned(),
            channel: channel.to_owned(),
        })?;
        if !self
            .inner
            .installed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(package_id)
        {
            return Err(PeerError::NotInstalled {
                peer: self.msp_id().to_owned(),
                package_id: package_id.to_owned(),
            });
        }
        let runtime = LazyChaincode {
            peer: Arc::downgrade(&self.inner),
            package_id: package_id.to_owned(),
        };
        ch.runtimes.insert(&definition.name, Arc::new(runtime));
        ch.definitions.insert(definition);
        Ok(())
    }

    /// Dials `package_id`'s chaincode server now (and keeps the connection), to find out early
    /// that it is unreachable.
    pub async fn connect_chaincode(&self, package_id: &str) -> Result<(), PeerError> {
        self.connection(package_id).await.map(|_| ())
    }

    /// The connection to `package_id`'s server, dialled on first use.
    async fn connection(&self, package_id: &str) -> Result<ChaincodeHandle, PeerError> {
        let mut conns = self.inner.connections.lock().await;
        if let Some(h) = conns.get(package_id) {
            return Ok(h.clone());
        }
        let target = self
            .inner
            .installed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(package_id)
            .cloned()
            .ok_or_else(|| PeerError::NotInstalled {
                peer: self.msp_id().to_owned(),
                package_id: package_id.to_owned(),
            })?;
        let handle =
            ChaincodeHandle::connect(target, package_id, self.inner.config.chaincode.clone())
                .await
                .map_err(|source| PeerError::Chaincode {
                    peer: self.msp_id().to_owned(),
                    package_id: package_id.to_owned(),
                    source,
                })?;
        conns.insert(package_id.to_owned(), handle.clone());
        Ok(handle)
    }

    /// Stops every commit loop (each finishes the block it is committing) and closes the
    /// chaincode connections. Idempotent.
    pub async fn shutdown(&self) {
        // An error only means no loop is running.
        let _ = self.inner.notify_shutdown.send(());
        self.inner
            .shutdown_complete_tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Every sender gone (all loops ended) → recv yields None.
        let _ = self.inner.shutdown_complete_rx.lock().await.recv().await;
        let conns: Vec<ChaincodeHandle> = self
            .inner
            .connections
            .lock()
            .await
            .drain()
            .map(|(_, h)| h)
            .collect();
        for c in conns {
            c.disconnect().await;
        }
    }
}
