//! The gRPC `protos.Chaincode` server the peer dials, plaintext or TLS (optionally mutual).
//!
//! Settings follow fabric-chaincode-go's `ChaincodeServer`: 100 MiB message limits both ways,
//! HTTP/2 keepalive pings every minute with a 20 s timeout. [`serve`] runs until the shutdown
//! future resolves, then lets every connection finish its in-flight transactions.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use sfcbc_fabric::net::incoming_nodelay;
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_server::{Chaincode, ChaincodeServer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Status, Streaming};

use crate::contract::Contract;
use crate::handler;

/// Fabric's chaincode message limit (fabric-chaincode-go: 100 MiB each way).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 100 * 1024 * 1024;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("reading {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tls(String),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// PEM material for the server's TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPem {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    /// Set: mutual TLS, peers must present a certificate issued by this CA.
    pub client_ca: Option<Vec<u8>>,
}

impl TlsPem {
    /// Reads the PEM files named by `CHAINCODE_TLS_CERT`, `CHAINCODE_TLS_KEY` and (optional)
    /// `CHAINCODE_CLIENT_CA_CERT`.
    pub fn from_files(
        cert: &PathBuf,
        key: &PathBuf,
        client_ca: Option<&PathBuf>,
    ) -> Result<Self, ServerError> {
        let read = |what, p: &PathBuf| {
            std::fs::read(p).map_err(|source| ServerError::Read {
                what,
                path: p.clone(),
                source,
            })
        };
        let pem = TlsPem {
            cert: read("TLS certificate", cert)?,
            key: read("TLS key", key)?,
            client_ca: client_ca
                .map(|p| read("client CA certificate", p))
                .transpose()?,
        };
        pem.check()?;
        Ok(pem)
    }

    /// Fails early, with the file at fault named, instead of at the first handshake.
    fn check(&self) -> Result<(), ServerError> {
        let certs = rustls_pemfile::certs(&mut self.cert.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ServerError::Tls(format!("TLS certificate is not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(ServerError::Tls(
                "TLS certificate file holds no CERTIFICATE block".into(),
            ));
        }
        match rustls_pemfile::private_key(&mut self.key.as_slice()) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(ServerError::Tls(
                    "TLS key file holds no private key (PKCS#8, SEC1 or PKCS#1 PEM)".into(),
                ));
            }
            Err(e) => return Err(ServerError::Tls(format!("TLS key is not PEM: {e}"))),
        }
        if let Some(ca) = &self.client_ca {
            let cas = rustls_pemfile::certs(&mut ca.as_slice())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ServerError::Tls(format!("client CA certificate is not PEM: {e}")))?;
            if cas.is_empty() {
                return Err(ServerError::Tls(
                    "client CA file holds no CERTIFICATE block".into(),
                ));
            }
        }
        Ok(())
    }

    fn server_config(&self) -> ServerTlsConfig {
        let mut cfg = ServerTlsConfig::new().identity(Identity::from_pem(&self.cert, &self.key));
        if let Some(ca) = &self.client_ca {
            cfg = cfg.client_ca_root(Certificate::from_pem(ca));
        }
        cfg
    }
}

/// How to run the server.
#[derive(Clone)]
pub struct ServerConfig {
    /// The package id; sent as `ChaincodeID.name` in `REGISTER`.
    pub chaincode_id: String,
    pub tls: Option<TlsPem>,
    pub max_message_size: usize,
    /// How long shutdown waits for in-flight transactions before dropping connections.
    pub shutdown_grace: Duration,
}

impl ServerConfig {
    pub fn new(chaincode_id: impl Into<String>) -> Self {
        ServerConfig {
            chaincode_id: chaincode_id.into(),
            tls: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The `protos.Chaincode` service.
struct Service {
    chaincode_id: String,
    contract: Arc<dyn Contract>,
    shutdown: watch::Receiver<bool>,
}

type ConnectStream = Pin<Box<dyn Stream<Item = Result<pb::ChaincodeMessage, Status>> + Send>>;

#[tonic::async_trait]
impl Chaincode for Service {
    type ConnectStream = ConnectStream;

    async fn connect(
        &self,
        request: Request<Streaming<pb::ChaincodeMessage>>,
    ) -> Result<tonic::Response<Self::ConnectStream>, Status> {
        let remote = request.remote_addr();
        let inbound = request.into_inner();
        let (out_tx, out_rx) = mpsc::channel(64);
        let (id, contract, shutdown) = (
            self.chaincode_id.clone(),
            self.contract.clone(),
            self.shutdown.clone(),
        );
        tracing::info!(?remote, "peer dialled in");
        tokio::spawn(async move {
            let end = handler::run(id, contract, inbound, out_tx, shutdown).await;
            match &end {
                handler::ConnEnd::Failed(why) => tracing::warn!(?remote, "connection ended: {why}"),
                other => tracing::info!(?remote, "connection ended: {other:?}"),
            }
        });
        Ok(tonic::Response::new(Box::pin(ReceiverStream::new(out_rx))))
    }
}

/// Binds `addr` (e.g. `0.0.0.0:9999`; port 0 picks a free one).
pub async fn bind(addr: &str) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// Serves `contract` on `listener` until `shutdown` resolves; then refuses new transactions,
/// waits up to `shutdown_grace` for in-flight ones, and returns.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    contract: Arc<dyn Contract>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let local: Option<SocketAddr> = listener.local_addr().ok();
    let (stop_tx, stop_rx) = watch::channel(false);
    let service = Service {
        chaincode_id: config.chaincode_id.clone(),
        contract,
        shutdown: stop_rx.clone(),
    };
    let svc = ChaincodeServer::new(service)
        .max_decoding_message_size(config.max_message_size)
        .max_encoding_message_size(config.max_message_size);
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(60)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)));
    if let Some(tls) = &config.tls {
        builder = builder.tls_config(tls.server_config())?;
    }
    let mut stopped = stop_rx.clone();
    let router = builder.add_service(svc);
    let grace = config.shutdown_grace;
    let incoming = incoming_nodelay(listener);
    tracing::info!(
        addr = ?local,
        chaincode_id = config.chaincode_id,
        tls = config.tls.is_some(),
        mutual_tls = config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        "chaincode server listening"
    );
    let server = router.serve_with_incoming_shutdown(incoming, async move {
        let _ = stopped.wait_for(|s| *s).await;
    });
    tokio::pin!(server);
    tokio::select! {
        res = &mut server => return res.map_err(Into::into),
        () = shutdown => {}
    }
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, &mut server).await {
        Ok(res) => res.map_err(Into::into),
        Err(_) => {
            tracing::warn!(
                "in-flight transactions did not finish within {grace:?}; stopping anyway"
            );
            Ok(())
        }
    }
}
