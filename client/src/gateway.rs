//! The connection of one client identity to one Fabric Gateway peer.
//!
//! [`Gateway`] holds the gRPC channel (Gateway and Deliver services share it), the client's
//! identity, its signer (optional: off-line signing) and the time-outs per call kind, as
//! fabric-gateway's `Connect` with `WithEvaluateTimeout`, `WithEndorseTimeout`,
//! `WithSubmitTimeout`, `WithCommitStatusTimeout`. It is cheap to clone; clones share the
//! connection. From it: [`Gateway::network`] → [`Network`] → [`Contract`](crate::Contract).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use prost::Message;
use sfcbc_fabric::protos::common::{ChannelHeader, Header};
use sfcbc_fabric::protos::gateway::{
    ChaincodeEventsRequest as ChaincodeEventsRequestProto, CommitStatusRequest,
    PreparedTransaction, ProposedTransaction, SignedChaincodeEventsRequest,
    SignedCommitStatusRequest, gateway_client::GatewayClient,
};
use sfcbc_fabric::protos::protos::{Proposal as ProposalProto, deliver_client::DeliverClient};
use sfcbc_fabric::{Identity, Signer};
use sha2::{Digest as _, Sha256};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::error::{Error, GatewayError, Result, Step};
use crate::events::ChaincodeEventsRequest;
use crate::network::Network;
use crate::proposal::{Commit, Proposal, Transaction};

/// Signs messages as the client identity: Fabric's signature scheme for the identity's key
/// (ECDSA P-256 over SHA-256 of the message, low-S DER; or Ed25519 over the message).
///
/// [`sfcbc_fabric::Signer`] implements it; implement it yourself for an HSM or a remote
/// signer.
pub trait Sign: Send + Sync {
    /// The signature over `message` (the whole message, not a digest).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

impl Sign for Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(Signer::sign(self, message))
    }
}

impl<F> Sign for F
where
    F: Fn(&[u8]) -> Result<Vec<u8>> + Send + Sync,
{
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self(message)
    }
}

/// SHA-256 of a message: the digest an ECDSA signer signs (fabric-gateway's `Digest()`).
pub fn digest(message: &[u8]) -> Vec<u8> {
    Sha256::digest(message).to_vec()
}

/// TLS settings for the connection to the gateway peer.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// PEM of the CA(s) that issued the peer's TLS certificate (the org's `tlsca` cert).
    pub ca_pem: Vec<u8>,
    /// The name to check the peer's certificate against instead of the endpoint's host
    /// (gRPC's `ssl_target_name_override`), e.g. `peer0.org1.example.com`.
    pub server_name: Option<String>,
    /// Client certificate and key (PEM) when the peer requires mutual TLS. The SHA-256 of
    /// the certificate then goes into block-event requests, as Fabric checks it.
    pub client_cert_key_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsOptions {
    /// Server-authenticated TLS with this CA (PEM).
    pub fn with_ca_pem(ca_pem: impl Into<Vec<u8>>) -> Self {
        Self {
            ca_pem: ca_pem.into(),
            ..Self::default()
        }
    }

    /// Reads the CA PEM from a file.
    pub fn from_ca_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = std::fs::read(path)
            .map_err(|e| Error::Config(format!("TLS CA file {}: {e}", path.display())))?;
        Ok(Self::with_ca_pem(pem))
    }

    /// Checks the peer's certificate against `name` instead of the endpoint's host.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Mutual TLS with this client certificate and key (PEM).
    pub fn client_identity(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_cert_key_pem = Some((cert_pem.into(), key_pem.into()));
        self
    }
}

/// Time-outs per call kind. `None` means no client-side limit (the peer's own limits
/// apply). Defaults: those of fabric-gateway's samples (evaluate 5 s, endorse 15 s, submit
/// 5 s, commit status 1 min), connect 10 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the connection.
    pub connect: Option<Duration>,
    /// `Evaluate`.
    pub evaluate: Option<Duration>,
    /// `Endorse` (the gateway collects every endorsement within it).
    pub endorse: Option<Duration>,
    /// `Submit` (hand-off to the orderer).
    pub submit: Option<Duration>,
    /// `CommitStatus`: waits for the block, so at least a block interval.
    pub commit_status: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Some(Duration::from_secs(10)),
            evaluate: Some(Duration::from_secs(5)),
            endorse: Some(Duration::from_secs(15)),
            submit: Some(Duration::from_secs(5)),
            commit_status: Some(Duration::from_secs(60)),
        }
    }
}

/// Builds a [`Gateway`]: identity, signer, endpoint, TLS, time-outs.
pub struct GatewayBuilder {
    identity: Identity,
    signer: Option<Arc<dyn Sign>>,
    endpoint: Option<String>,
    tls: Option<TlsOptions>,
    channel: Option<Channel>,
    timeouts: Timeouts,
    tls_cert_hash: Vec<u8>,
}

impl GatewayBuilder {
    /// Signs with `signer` (without one, every message must be signed off-line).
    pub fn signer(mut self, signer: impl Sign + 'static) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// Signs with a shared signer.
    pub fn signer_arc(mut self, signer: Arc<dyn Sign>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The gateway peer, `host:port` (or a full `https://host:port` / `http://host:port`
    /// URI). Plain `host:port` means TLS when [`Self::tls`] is given, plaintext otherwise.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// TLS settings.
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Uses an existing gRPC channel (shared by several gateways; fabric-gateway's
    /// `WithClientConnection`). `endpoint` then only names it in errors.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// All time-outs at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Time-out for opening the connection.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.timeouts.connect = Some(t);
        self
    }

    /// Default time-out of `Evaluate` calls.
    pub fn evaluate_timeout(mut self, t: Duration) -> Self {
        self.timeouts.evaluate = Some(t);
        self
    }

    /// Default time-out of `Endorse` calls.
    pub fn endorse_timeout(mut self, t: Duration) -> Self {
        self.timeouts.endorse = Some(t);
        self
    }

    /// Default time-out of `Submit` calls.
    pub fn submit_timeout(mut self, t: Duration) -> Self {
        self.timeouts.submit = Some(t);
        self
    }

    /// Default time-out of `CommitStatus` calls.
    pub fn commit_status_timeout(mut self, t: Duration) -> Self {
        self.timeouts.commit_status = Some(t);
        self
    }

    /// SHA-256 of the TLS client certificate, sent in block-event requests (needed only
    /// with mutual TLS; set automatically from [`TlsOptions::client_identity`]).
    pub fn tls_client_certificate_hash(mut self, hash: Vec<u8>) -> Self {
        self.tls_cert_hash = hash;
        self
    }

    /// Opens the connection (eagerly, so that a wrong address or TLS setup fails here).
    pub async fn connect(self) -> Result<Gateway> {
        let (endpoint, channel) = match (self.channel, self.endpoint) {
            (Some(ch), ep) => (ep.unwrap_or_else(|| "(shared channel)".into()), ch),
            (None, None) => {
                return Err(Error::Config(
                    "no gateway endpoint: give endpoint(\"host:port\") or channel(..)".into(),
                ));
            }
            (None, Some(ep)) => {
                let e = make_endpoint(&ep, self.tls.as_ref(), &self.timeouts)?;
                let ch = e.connect().await.map_err(|source| Error::Connect {
                    endpoint: ep.clone(),
                    source,
                })?;
                (ep, ch)
            }
        };
        let mut tls_cert_hash = self.tls_cert_hash;
        if let (true, Some((cert, _))) = (
            tls_cert_hash.is_empty(),
            self.tls
                .as_ref()
                .and_then(|t| t.client_cert_key_pem.as_ref()),
        ) {
            tls_cert_hash = first_pem_der_hash(cert)?;
        }
        Ok(Gateway {
            inner: Arc::new(Inner {
                endpoint,
                identity: self.identity,
                signer: self.signer,
                gateway: GatewayClient::new(channel.clone()),
                deliver: DeliverClient::new(channel),
                timeouts: self.timeouts,
                tls_cert_hash,
            }),
        })
    }
}

fn first_pem_der_hash(pem: &[u8]) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| Error::Config("client certificate PEM is not UTF-8".into()))?;
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            Error::Config("client certificate PEM has no readable CERTIFICATE block".into())
        })?;
    Ok(digest(&der))
}

fn make_endpoint(ep: &str, tls: Option<&TlsOptions>, timeouts: &Timeouts) -> Result<Endpoint> {
    let uri = if ep.contains("://") {
        ep.to_string()
    } else if tls.is_some() {
        format!("https://{ep}")
    } else {
        format!("http://{ep}")
    };
    let mut e = Endpoint::from_shared(uri)
        .map_err(|err| Error::Config(format!("endpoint {ep:?}: {err}")))?
        .tcp_nodelay(true)
        // Fabric's own clients' keep-alive (core.yaml peer.keepalive.client): a ping per
        // minute at most, since peers refuse pings more frequent than minInterval (60 s).
        .http2_keep_alive_interval(Duration::from_secs(60))
        .keep_alive_timeout(Duration::from_secs(20))
        .keep_alive_while_idle(true);
    if let Some(t) = timeouts.connect {
        e = e.connect_timeout(t);
    }
    if let Some(tls) = tls {
        let mut cfg = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca_pem));
        if let Some(name) = &tls.server_name {
            cfg = cfg.domain_name(name.clone());
        }
        if let Some((cert, key)) = &tls.client_cert_key_pem {
            cfg = cfg.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        e = e
            .tls_config(cfg)
            .map_err(|err| Error::Config(format!("TLS for {ep}: {err}")))?;
    }
    Ok(e)
}

/// What every clone of a [`Gateway`] shares.
pub(crate) struct Inner {
    /// The endpoint, for error messages.
    pub(crate) endpoint: String,
    /// Who we are: goes into every header as the creator.
    pub(crate) identity: Identity,
    /// Signs proposals, transactions and requests; `None` for off-line signing.
    pub(crate) signer: Option<Arc<dyn Sign>>,
    /// `gateway.Gateway` client.
    pub(crate) gateway: GatewayClient<Channel>,
    /// `protos.Deliver` client, for block events.
    pub(crate) deliver: DeliverClient<Channel>,
    /// Default time-outs per call kind.
    pub(crate) timeouts: Timeouts,
    /// SHA-256 of our TLS client certificate (mutual TLS), for deliver requests.
    pub(crate) tls_cert_hash: Vec<u8>,
}

impl Inner {
    /// The serialized identity (`msp.SerializedIdentity`) that goes into headers.
    pub(crate) fn creator(&self) -> Vec<u8> {
        self.identity.serialize()
    }

    /// Signs with our signer, or says that `what` must be signed off-line.
    pub(crate) fn sign(&self, what: &'static str, message: &[u8]) -> Result<Vec<u8>> {
        self.signer
            .as_ref()
            .ok_or(Error::NoSigner(what))?
            .sign(message)
    }

    /// Runs a unary call with a client-side time-out, turning failures into
    /// [`GatewayError`]s with Fabric's details.
    pub(crate) async fn call<T, F>(
        &self,
        step: Step,
        tx_id: Option<&str>,
        timeout: Option<Duration>,
        fut: F,
    ) -> Result<T>
    where
        F: std::future::Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    {
        let started = std::time::Instant::now();
        let res = match timeout {
            Some(t) => match tokio::time::timeout(t, fut).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(GatewayError::timeout(
                        step,
                        &self.endpoint,
                        tx_id.map(str::to_string),
                        t,
                    )
                    .into());
                }
            },
            None => fut.await,
        };
        res.map(tonic::Response::into_inner).map_err(|status| {
            // tonic's own deadline (the `grpc-timeout` we set) can end the call first, as
            // `Cancelled`, or the peer's, as `DeadlineExceeded`: past our time-out, either
            // is our client-side time-out.
            if let Some(t) = timeout
                && started.elapsed() >= t
                && matches!(
                    status.code(),
                    tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
                )
            {
                return GatewayError::timeout(step, &self.endpoint, tx_id.map(str::to_string), t)
                    .into();
            }
            GatewayError::from_status(step, &self.endpoint, tx_id.map(str::to_string), &status)
                .into()
        })
    }
}

/// A request with the peer-side deadline (`grpc-timeout`) set to our client-side one.
pub(crate) fn request<T>(msg: T, timeout: Option<Duration>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = timeout {
        r.set_timeout(t);
    }
    r
}

/// A client identity connected to a Fabric Gateway peer. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("endpoint", &self.inner.endpoint)
            .field("msp_id", &self.inner.identity.msp_id())
            .field("signer", &self.inner.signer.is_some())
            .finish()
    }
}

impl Gateway {
    /// Starts building a gateway connection for `identity`.
    pub fn builder(identity: Identity) -> GatewayBuilder {
        GatewayBuilder {
            identity,
            signer: None,
            endpoint: None,
            tls: None,
            channel: None,
            timeouts: Timeouts::default(),
            tls_cert_hash: Vec::new(),
        }
    }

    /// Connects `identity`, signing with `signer`, to the gateway peer at `endpoint`
    /// (`host:port`), over TLS when `tls` is given; default time-outs.
    pub async fn connect(
        identity: Identity,
        signer: impl Sign + 'static,
        endpoint: &str,
        tls: Option<TlsOptions>,
    ) -> Result<Self> {
        let mut b = Self::builder(identity).signer(signer).endpoint(endpoint);
        if let Some(tls) = tls {
            b = b.tls(tls);
        }
        b.connect().await
    }

    /// The client identity.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The gateway endpoint.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The time-outs in use.
    pub fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }

    /// The channel `name` as seen through this gateway.
    pub fn network(&self, name: impl Into<String>) -> Network {
        Network::new(self.clone(), name.into())
    }

    /// Recreates a proposal from [`Proposal::bytes`] (off-line signing).
    pub fn new_proposal(&self, bytes: &[u8]) -> Result<Proposal> {
        let proposed = ProposedTransaction::decode(bytes)
            .map_err(|e| Error::decode("ProposedTransaction", e))?;
        let signed = proposed
            .proposal
            .as_ref()
            .ok_or_else(|| Error::decode("ProposedTransaction", "no proposal"))?;
        let proposal = ProposalProto::decode(signed.proposal_bytes.as_slice())
            .map_err(|e| Error::decode("Proposal", e))?;
        let header =
            Header::decode(proposal.header.as_slice()).map_err(|e| Error::decode("Header", e))?;
        let ch = ChannelHeader::decode(header.channel_header.as_slice())
            .map_err(|e| Error::decode("ChannelHeader", e))?;
        Ok(Proposal::from_parts(self.clone(), ch.channel_id, proposed))
    }

    /// Recreates a proposal and attaches its off-line signature.
    pub fn new_signed_proposal(&self, bytes: &[u8], signature: Vec<u8>) -> Result<Proposal> {
        let mut p = self.new_proposal(bytes)?;
        p.set_signature(signature);
        Ok(p)
    }

    /// Recreates an endorsed transaction from [`Transaction::bytes`] (off-line signing).
    pub fn new_transaction(&self, bytes: &[u8]) -> Result<Transaction> {
        let prepared = PreparedTransaction::decode(bytes)
            .map_err(|e| Error::decode("PreparedTransaction", e))?;
        Transaction::from_prepared(self.clone(), prepared)
    }

    /// Recreates an endorsed transaction and attaches its off-line signature.
    pub fn new_signed_transaction(&self, bytes: &[u8], signature: Vec<u8>) -> Result<Transaction> {
        let mut t = self.new_transaction(bytes)?;
        t.set_signature(signature);
        Ok(t)
    }

    /// Recreates a commit-status request from [`Commit::bytes`] (off-line signing).
    pub fn new_commit(&self, bytes: &[u8]) -> Result<Commit> {
        let signed = SignedCommitStatusRequest::decode(bytes)
            .map_err(|e| Error::decode("SignedCommitStatusRequest", e))?;
        let req = CommitStatusRequest::decode(signed.request.as_slice())
            .map_err(|e| Error::decode("CommitStatusRequest", e))?;
        Ok(Commit::from_parts(self.clone(), req.transaction_id, signed))
    }

    /// Recreates a commit-status request and attaches its off-line signature.
    pub fn new_signed_commit(&self, bytes: &[u8], signature: Vec<u8>) -> Result<Commit> {
        let mut c = self.new_commit(bytes)?;
        c.set_signature(signature);
        Ok(c)
    }

    /// Recreates a chaincode-events request from [`ChaincodeEventsRequest::bytes`].
    pub fn new_chaincode_events_request(&self, bytes: &[u8]) -> Result<ChaincodeEventsRequest> {
        let signed = SignedChaincodeEventsRequest::decode(bytes)
            .map_err(|e| Error::decode("SignedChaincodeEventsRequest", e))?;
        ChaincodeEventsRequestProto::decode(signed.request.as_slice())
            .map_err(|e| Error::decode("ChaincodeEventsRequest", e))?;
        Ok(ChaincodeEventsRequest::from_parts(self.clone(), signed))
    }

    /// Recreates a block-events request from [`crate::BlockEventsRequest::bytes`].
    pub fn new_block_events_request(&self, bytes: &[u8]) -> Result<crate::BlockEventsRequest> {
        let envelope = sfcbc_fabric::protos::common::Envelope::decode(bytes)
            .map_err(|e| Error::decode("Envelope", e))?;
        crate::BlockEventsRequest::from_envelope(self.clone(), envelope)
    }

    /// Recreates a block-events request and attaches its off-line signature.
    pub fn new_signed_block_events_request(
        &self,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<crate::BlockEventsRequest> {
        let mut r = self.new_block_events_request(bytes)?;
        r.set_signature(signature);
        Ok(r)
    }

    /// Recreates a chaincode-events request and attaches its off-line signature.
    pub fn new_signed_chaincode_events_request(
        &self,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<ChaincodeEventsRequest> {
        let mut r = self.new_chaincode_events_request(bytes)?;
        r.set_signature(signature);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificate_hash_is_sha256_of_the_der() {
        let signer = crate::test_util::signer("Org1MSP");
        let pem = signer.identity().cert_pem().to_vec();
        assert_eq!(
            first_pem_der_hash(&pem).unwrap(),
            digest(signer.identity().cert_der())
        );
        assert!(first_pem_der_hash(b"no pem here").is_err());
    }

    #[test]
    fn endpoints_get_a_scheme() {
        let t = Timeouts::default();
        let e = make_endpoint("127.0.0.1:7051", None, &t).unwrap();
        assert_eq!(e.uri().to_string(), "http://127.0.0.1:7051/");
        assert!(make_endpoint("not a uri", None, &t).is_err());
    }
}
