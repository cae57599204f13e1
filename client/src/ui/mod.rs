//! The web UI (`sfcbc ui`): a small HTTP server that serves our own HTML, CSS and JavaScript
//! modules (embedded from `web/`, see [`assets`]) and a JSON API over the SFC contract.
//!
//! Every ledger call goes through the Gateway client as the identity selected in the page
//! (one of the profile's `USER@ORG`s), so the UI shows what that identity may see and nothing
//! more. Live updates are server-sent events fed by the chaincode's events and the channels'
//! blocks ([`live`]). Credentials and endpoints shared through the forms go to the ledger
//! only as transient data; request bodies are never logged.

pub mod api;
pub mod assets;
pub mod blocks;
pub mod live;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{RwLock, broadcast, watch};

use crate::profile::{Profile, ProfileError, Selected};
use crate::{Gateway, SfcContract};

/// Why the UI server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("cannot listen on {addr}: {source}; pick another address with --listen")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the UI server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// The identity the page acts as, connected.
#[derive(Clone, Debug)]
pub struct Session {
    /// `USER@ORG`, as the selector shows it.
    pub label: String,
    pub selected: Selected,
    /// Connected to the identity's own org's gateway peer.
    pub gateway: Gateway,
}

/// What every handler shares.
pub struct AppState {
    pub profile: Profile,
    /// The identity in use; switched by `POST /api/identity`.
    session: RwLock<Session>,
    /// Gateways already connected, by label, so switching back and forth is instant.
    gateways: tokio::sync::Mutex<HashMap<String, Gateway>>,
    /// Live events for the SSE clients (fed by [`live::feed`]).
    pub events: broadcast::Sender<live::LiveEvent>,
    /// Bumped on each identity switch so the event feeders resubscribe as the new identity.
    identity_changed: watch::Sender<u64>,
    /// Becomes true when the server stops: open SSE streams end so shutdown can finish.
    pub stopping: watch::Receiver<bool>,
    /// (identity, chain) → may the identity see the chain; for filtering live events.
    visibility: std::sync::Mutex<HashMap<(String, String), bool>>,
}

impl AppState {
    /// The identity in use.
    pub async fn session(&self) -> Session {
        self.session.read().await.clone()
    }

    /// The SFC contract on `channel` as the identity in use.
    pub async fn sfc(&self, channel: &str) -> SfcContract {
        let s = self.session().await;
        SfcContract::new(
            s.gateway
                .network(channel)
                .contract(self.profile.chaincode.clone()),
        )
    }

    /// The channel a chain lives on (`sfc-{chain}` when the profile lists it, else the first).
    pub fn channel_for(&self, chain: Option<&str>) -> Option<String> {
        self.profile.channel_for(chain, None)
    }

    /// Every `USER@ORG` of the profile.
    pub fn identities(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (org, o) in &self.profile.orgs {
            for user in o.users.keys() {
                out.push(format!("{user}@{org}"));
            }
        }
        out
    }

    async fn connect(&self, identity: &str) -> Result<Session, ProfileError> {
        let selected = self.profile.select(Some(identity))?;
        let label = selected.label();
        let cached = self.gateways.lock().await.get(&label).cloned();
        let gateway = match cached {
            Some(g) => g,
            None => {
                let g = self.profile.connect(&selected, None).await?;
                self.gateways.lock().await.insert(label.clone(), g.clone());
                g
            }
        };
        Ok(Session {
            label,
            selected,
            gateway,
        })
    }

    /// Switches the identity every later ledger call is made as.
    pub async fn switch(&self, identity: &str) -> Result<Session, ProfileError> {
        let s = self.connect(identity).await?;
        *self.session.write().await = s.clone();
        self.identity_changed.send_modify(|n| *n += 1);
        Ok(s)
    }

    pub(crate) fn visible_cached(&self, identity: &str, chain: &str) -> Option<bool> {
        self.visibility
            .lock()
            .ok()?
            .get(&(identity.to_owned(), chain.to_owned()))
            .copied()
    }

    pub(crate) fn set_visible(&self, identity: &str, chain: &str, visible: bool) {
        if let Ok(mut v) = self.visibility.lock() {
            v.insert((identity.to_owned(), chain.to_owned()), visible);
        }
    }

    /// Forgets who may see `chain` (its members may have changed).
    pub(crate) fn forget_visibility(&self, chain: &str) {
        if let Ok(mut v) = self.visibility.lock() {
            v.retain(|(_, c), _| c != chain);
        }
    }
}

/// Binds `listen`.
pub async fn bind(listen: SocketAddr) -> Result<tokio::net::TcpListener, UiError> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| UiError::Bind {
            addr: listen,
            source,
        })
}

/// Serves the UI on `listen` as `identity` (default: the profile's default identity) until
/// `shutdown` resolves; prints the address it serves on.
pub async fn serve(
    profile: Profile,
    identity: Option<String>,
    listen: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), UiError> {
    let listener = bind(listen).await?;
    serve_on(profile, identity, listener, shutdown).await
}

/// [`serve`] on a listener already bound (tests bind port 0 and read the address first).
pub async fn serve_on(
    profile: Profile,
    identity: Option<String>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), UiError> {
    serve_with(profile, identity, listener, shutdown, |addr, label| {
        println!("sfcbc ui: http://{addr}/ (as {label}; Ctrl-C stops)");
    })
    .await
}

/// [`serve_on`], telling `announce` the address and the identity (`USER@ORG`) once the
/// gateway is connected and the server is about to accept connections.
pub async fn serve_with(
    profile: Profile,
    identity: Option<String>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    announce: impl FnOnce(SocketAddr, &str),
) -> Result<(), UiError> {
    let selected = profile.select(identity.as_deref())?;
    let gateway = profile.connect(&selected, None).await?;
    let label = selected.label();
    let (events, _) = broadcast::channel(1024);
    let (identity_changed, _) = watch::channel(0u64);
    let (stop_tx, stopping) = watch::channel(false);
    let state = Arc::new(AppState {
        gateways: tokio::sync::Mutex::new(HashMap::from([(label.clone(), gateway.clone())])),
        session: RwLock::new(Session {
            label: label.clone(),
            selected,
            gateway,
        }),
        profile,
        events,
        identity_changed,
        stopping,
        visibility: std::sync::Mutex::new(HashMap::new()),
    });
    let feeders = live::spawn_feeders(state.clone());
    let addr = listener.local_addr().map_err(UiError::Serve)?;
    tracing::info!(%addr, identity = %label, "sfcbc ui serving");
    announce(addr, &label);
    let app = api::router(state.clone());
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(signal)
        .await
        .map_err(UiError::Serve);
    feeders.abort();
    result
}
