//! A scripted Fabric peer for the CCaaS server: a tonic client that dials the server over a
//! real loopback socket, plays the peer's side of the handshake, and answers the shim
//! requests of running transactions from a small in-memory ledger (public state, private
//! collections, history), with range queries in batches and pagination like the real peer.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use sfcbc_ccaas::{Contract, ServerConfig};
use sfcbc_fabric::protos::common;
use sfcbc_fabric::protos::msp::SerializedIdentity;
use sfcbc_fabric::protos::protos as pb;
use sfcbc_fabric::protos::protos::chaincode_client::ChaincodeClient;
use sfcbc_fabric::protos::protos::chaincode_message::Type as T;
use sfcbc_fabric::protos::queryresult;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

pub const CHAINCODE_ID: &str = "sfcbc_1.0:0123456789abcdef";
pub const CHANNEL: &str = "mychannel";
/// Unpaginated range results come in batches of this many (the peer's
/// `maxResultsPerBatch`, here small to exercise QUERY_STATE_NEXT).
pub const BATCH: usize = 2;

pub fn ty(m: &pb::ChaincodeMessage) -> T {
    T::try_from(m.r#type).unwrap_or(T::Undefined)
}

/// A running server on 127.0.0.1 and the way to stop it.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub handle: JoinHandle<Result<(), sfcbc_ccaas::server::ServerError>>,
}

impl TestServer {
    pub async fn start(contract: Arc<dyn Contract>, config: ServerConfig) -> TestServer {
        let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(sfcbc_ccaas::serve(listener, config, contract, async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    pub fn begin_shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The peer's ledger, as far as the tests need it.
#[derive(Default, Debug)]
pub struct Ledger {
    /// (collection, key) → value; "" is public state.
    pub state: BTreeMap<(String, String), Vec<u8>>,
    pub metadata: BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>,
    pub history: BTreeMap<String, Vec<queryresult::KeyModification>>,
    pub purged: Vec<(String, String)>,
    /// Every request type the server sent, in order.
    pub seen: Vec<T>,
    /// Open iterators: id → remaining rows.
    iterators: HashMap<String, Vec<Vec<u8>>>,
    next_iter: u64,
}

/// The peer side of one Connect stream after the handshake.
pub struct ScriptedPeer {
    out: mpsc::Sender<pb::ChaincodeMessage>,
    pub ledger: Arc<Mutex<Ledger>>,
    waiters: Arc<Mutex<HashMap<String, oneshot::Sender<pb::ChaincodeMessage>>>>,
    /// Messages that were neither shim requests nor answers to a waiting tx.
    pub other: mpsc::Receiver<pb::ChaincodeMessage>,
    /// Turns true when the server ends the stream.
    pub closed: watch::Receiver<bool>,
    pub registered_name: String,
    pump: JoinHandle<()>,
}

pub async fn channel(addr: SocketAddr, tls: Option<ClientTlsConfig>) -> Result<Channel, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut ep = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        ep = ep.tls_config(tls).map_err(|e| e.to_string())?;
    }
    ep.connect().await.map_err(|e| format!("{e:?}"))
}

/// Opens a Connect stream; returns our sender and the server's messages.
pub async fn open(
    ch: Channel,
) -> Result<
    (
        mpsc::Sender<pb::ChaincodeMessage>,
        tonic::Streaming<pb::ChaincodeMessage>,
    ),
    tonic::Status,
> {
    let (tx, rx) = mpsc::channel(64);
    let inbound = ChaincodeClient::new(ch)
        .connect(ReceiverStream::new(rx))
        .await?
        .into_inner();
    Ok((tx, inbound))
}

pub async fn recv(
    inbound: &mut tonic::Streaming<pb::ChaincodeMessage>,
) -> Option<pb::ChaincodeMessage> {
    tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("server answered within 10 s")
        .ok()
        .flatten()
}

impl ScriptedPeer {
    /// Dials, checks REGISTER, answers REGISTERED (with a payload, as Fabric 3.1+ may send)
    /// and READY, then starts answering shim requests.
    pub async fn connect(addr: SocketAddr, tls: Option<ClientTlsConfig>) -> ScriptedPeer {
        let ch = channel(addr, tls).await.expect("dial the chaincode server");
        let (out, mut inbound) = open(ch).await.expect("Connect");
        let reg = recv(&mut inbound).await.expect("REGISTER");
        assert_eq!(ty(&reg), T::Register, "first message is REGISTER");
        let id = pb::ChaincodeId::decode(reg.payload.as_slice()).expect("ChaincodeID payload");
        // Fabric 3.1+ peers announce capabilities (write batches, multi-key reads) in a
        // payload; a shim that uses neither must still accept it, in either message.
        let params = pb::ChaincodeAdditionalParams {
            use_write_batch: true,
            max_size_write_batch: 1000,
            use_get_multiple_keys: true,
            max_size_get_multiple_keys: 1000,
        }
        .encode_to_vec();
        for t in [T::Registered, T::Ready] {
            out.send(pb::ChaincodeMessage {
                r#type: t as i32,
                payload: params.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        Self::pump(out, inbound, id.name)
    }

    fn pump(
        out: mpsc::Sender<pb::ChaincodeMessage>,
        mut inbound: tonic::Streaming<pb::ChaincodeMessage>,
        registered_name: String,
    ) -> ScriptedPeer {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let waiters: Arc<Mutex<HashMap<String, oneshot::Sender<pb::ChaincodeMessage>>>> =
            Arc::default();
        let (other_tx, other) = mpsc::channel(64);
        let (closed_tx, closed) = watch::channel(false);
        let (l, w, o) = (ledger.clone(), waiters.clone(), out.clone());
        let pump = tokio::spawn(async move {
            while let Ok(Some(msg)) = inbound.message().await {
                match ty(&msg) {
                    T::Completed | T::Error => {
                        let waiter = w.lock().unwrap().remove(&msg.txid);
                        match waiter {
                            Some(tx) => {
                                let _ = tx.send(msg);
                            }
                            None => {
                                let _ = other_tx.send(msg).await;
                            }
                        }
                    }
                    T::Keepalive | T::Register | T::Undefined => {
                        let _ = other_tx.send(msg).await;
                    }
                    _ => {
                        let reply = answer(&l, &msg);
                        if o.send(reply).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = closed_tx.send(true);
        });
        ScriptedPeer {
            out,
            ledger,
            waiters,
            other,
            closed,
            registered_name,
            pump,
        }
    }

    pub async fn send(&self, msg: pb::ChaincodeMessage) {
        self.out.send(msg).await.expect("stream open");
    }

    /// Sends a TRANSACTION (or INIT) and waits for its COMPLETED/ERROR.
    pub async fn invoke_msg(&self, msg: pb::ChaincodeMessage) -> pb::ChaincodeMessage {
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(msg.txid.clone(), tx);
        self.send(msg).await;
        tokio::time::timeout(Duration::from_secs(20), rx)
            .await
            .expect("transaction finished within 20 s")
            .expect("answer delivered")
    }

    pub async fn invoke(&self, txid: &str, args: &[&str]) -> Outcome {
        self.invoke_full(txid, args, &[], "Org1MSP").await
    }

    pub async fn invoke_full(
        &self,
        txid: &str,
        args: &[&str],
        transient: &[(&str, &[u8])],
        msp: &str,
    ) -> Outcome {
        Outcome::from(
            self.invoke_msg(transaction(T::Transaction, txid, args, transient, msp))
                .await,
        )
    }

    /// Sends a TRANSACTION signed (as far as the chaincode sees) by `creator`.
    pub async fn invoke_as(
        &self,
        txid: &str,
        args: &[&str],
        transient: &[(&str, &[u8])],
        creator: Vec<u8>,
    ) -> Outcome {
        Outcome::from(
            self.invoke_msg(transaction_as(
                T::Transaction,
                txid,
                args,
                transient,
                creator,
            ))
            .await,
        )
    }

    /// Drops our side of the stream.
    pub fn drop_stream(self) -> (Arc<Mutex<Ledger>>, watch::Receiver<bool>) {
        self.pump.abort();
        (self.ledger, self.closed)
    }
}

/// A finished transaction as the peer sees it.
#[derive(Debug)]
pub enum Outcome {
    Completed {
        status: i32,
        message: String,
        payload: Vec<u8>,
        event: Option<pb::ChaincodeEvent>,
    },
    Error(String),
}

impl Outcome {
    pub fn ok_payload(&self) -> String {
        match self {
            Outcome::Completed {
                status: 200,
                payload,
                ..
            } => String::from_utf8_lossy(payload).into_owned(),
            other => panic!("expected status 200, got {other:?}"),
        }
    }
}

impl From<pb::ChaincodeMessage> for Outcome {
    fn from(m: pb::ChaincodeMessage) -> Self {
        match ty(&m) {
            T::Completed => {
                let r =
                    pb::Response::decode(m.payload.as_slice()).expect("COMPLETED holds a Response");
                Outcome::Completed {
                    status: r.status,
                    message: r.message,
                    payload: r.payload,
                    event: m.chaincode_event,
                }
            }
            T::Error => Outcome::Error(String::from_utf8_lossy(&m.payload).into_owned()),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// A test certificate-looking identity; the server passes the bytes through untouched.
pub fn identity(msp: &str) -> Vec<u8> {
    SerializedIdentity {
        mspid: msp.to_string(),
        id_bytes: format!("-----BEGIN CERTIFICATE-----\n{msp}\n-----END CERTIFICATE-----\n")
            .into_bytes(),
    }
    .encode_to_vec()
}

/// A TRANSACTION/INIT message with a SignedProposal as the peer forwards it.
pub fn transaction(
    kind: T,
    txid: &str,
    args: &[&str],
    transient: &[(&str, &[u8])],
    msp: &str,
) -> pb::ChaincodeMessage {
    transaction_as(kind, txid, args, transient, identity(msp))
}

/// [`transaction`] with a given encoded `SerializedIdentity` as creator.
pub fn transaction_as(
    kind: T,
    txid: &str,
    args: &[&str],
    transient: &[(&str, &[u8])],
    creator: Vec<u8>,
) -> pb::ChaincodeMessage {
    let input = pb::ChaincodeInput {
        args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        ..Default::default()
    };
    let chdr = common::ChannelHeader {
        r#type: common::HeaderType::EndorserTransaction as i32,
        channel_id: CHANNEL.into(),
        tx_id: txid.into(),
        timestamp: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 42,
        }),
        ..Default::default()
    };
    let shdr = common::SignatureHeader {
        creator,
        nonce: vec![7; 24],
    };
    let header = common::Header {
        channel_header: chdr.encode_to_vec(),
        signature_header: shdr.encode_to_vec(),
    };
    let cpp = pb::ChaincodeProposalPayload {
        input: b"the ChaincodeInvocationSpec".to_vec(),
        transient_map: transient
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect(),
    };
    let proposal = pb::Proposal {
        header: header.encode_to_vec(),
        payload: cpp.encode_to_vec(),
        extension: Vec::new(),
    };
    pb::ChaincodeMessage {
        r#type: kind as i32,
        payload: input.encode_to_vec(),
        txid: txid.into(),
        channel_id: CHANNEL.into(),
        proposal: Some(pb::SignedProposal {
            proposal_bytes: proposal.encode_to_vec(),
            signature: vec![1, 2, 3],
        }),
        ..Default::default()
    }
}

fn reply(req: &pb::ChaincodeMessage, r: Result<Vec<u8>, String>) -> pb::ChaincodeMessage {
    let (t, payload) = match r {
        Ok(p) => (T::Response, p),
        Err(e) => (T::Error, e.into_bytes()),
    };
    pb::ChaincodeMessage {
        r#type: t as i32,
        payload,
        txid: req.txid.clone(),
        channel_id: req.channel_id.clone(),
        ..Default::default()
    }
}

fn query_response(l: &mut Ledger, rows: Vec<Vec<u8>>) -> pb::QueryResponse {
    let mut rows = rows;
    if rows.len() <= BATCH {
        return pb::QueryResponse {
            results: rows
                .into_iter()
                .map(|r| pb::QueryResultBytes { result_bytes: r })
                .collect(),
            has_more: false,
            id: "done".into(),
            metadata: Vec::new(),
        };
    }
    let rest = rows.split_off(BATCH);
    l.next_iter += 1;
    let id = format!("iter{}", l.next_iter);
    l.iterators.insert(id.clone(), rest);
    pb::QueryResponse {
        results: rows
            .into_iter()
            .map(|r| pb::QueryResultBytes { result_bytes: r })
            .collect(),
        has_more: true,
        id,
        metadata: Vec::new(),
    }
}

/// The peer's answer to one shim request.
fn answer(ledger: &Mutex<Ledger>, req: &pb::ChaincodeMessage) -> pb::ChaincodeMessage {
    let mut l = ledger.lock().unwrap();
    l.seen.push(ty(req));
    let r: Result<Vec<u8>, String> = match ty(req) {
        T::GetState => {
            let g = pb::GetState::decode(req.payload.as_slice()).unwrap();
            Ok(l.state
                .get(&(g.collection, g.key))
                .cloned()
                .unwrap_or_default())
        }
        T::GetPrivateDataHash => {
            let g = pb::GetState::decode(req.payload.as_slice()).unwrap();
            use sha2::Digest;
            Ok(l.state
                .get(&(g.collection, g.key))
                .map(|v| sha2::Sha256::digest(v).to_vec())
                .unwrap_or_default())
        }
        T::PutState => {
            let p = pb::PutState::decode(req.payload.as_slice()).unwrap();
            if p.key.starts_with("forbidden") {
                Err(format!("PUT_STATE failed: key {} is forbidden", p.key))
            } else {
                if p.collection.is_empty() {
                    l.history.entry(p.key.clone()).or_default().push(
                        queryresult::KeyModification {
                            tx_id: req.txid.clone(),
                            value: p.value.clone(),
                            timestamp: Some(prost_types::Timestamp {
                                seconds: 5,
                                nanos: 0,
                            }),
                            is_delete: false,
                        },
                    );
                }
                l.state.insert((p.collection, p.key), p.value);
                Ok(Vec::new())
            }
        }
        T::DelState => {
            let d = pb::DelState::decode(req.payload.as_slice()).unwrap();
            l.state.remove(&(d.collection, d.key));
            Ok(Vec::new())
        }
        T::PurgePrivateData => {
            let d = pb::DelState::decode(req.payload.as_slice()).unwrap();
            l.state.remove(&(d.collection.clone(), d.key.clone()));
            l.purged.push((d.collection, d.key));
            Ok(Vec::new())
        }
        T::GetStateMetadata => {
            let g = pb::GetStateMetadata::decode(req.payload.as_slice()).unwrap();
            let entries = l
                .metadata
                .get(&(g.collection, g.key))
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| pb::StateMetadata {
                            metakey: k.clone(),
                            value: v.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(pb::StateMetadataResult { entries }.encode_to_vec())
        }
        T::PutStateMetadata => {
            let p = pb::PutStateMetadata::decode(req.payload.as_slice()).unwrap();
            let md = p.metadata.unwrap_or_default();
            l.metadata
                .entry((p.collection, p.key))
                .or_default()
                .insert(md.metakey, md.value);
            Ok(Vec::new())
        }
        T::GetStateByRange => {
            let g = pb::GetStateByRange::decode(req.payload.as_slice()).unwrap();
            let in_range = |k: &String| {
                k.as_str() >= g.start_key.as_str() && (g.end_key.is_empty() || k < &g.end_key)
            };
            let rows: Vec<(String, Vec<u8>)> = l
                .state
                .iter()
                .filter(|((c, k), _)| *c == g.collection && in_range(k))
                .map(|((_, k), v)| (k.clone(), v.clone()))
                .collect();
            let kv = |(k, v): (String, Vec<u8>)| {
                queryresult::Kv {
                    namespace: "sfcbc".into(),
                    key: k,
                    value: v,
                }
                .encode_to_vec()
            };
            if g.metadata.is_empty() {
                let rows = rows.into_iter().map(kv).collect();
                Ok(query_response(&mut l, rows).encode_to_vec())
            } else {
                // Paginated: the whole page in one response, metadata attached.
                let md = pb::QueryMetadata::decode(g.metadata.as_slice()).unwrap();
                let from = if md.bookmark.is_empty() {
                    g.start_key.clone()
                } else {
                    md.bookmark
                };
                let mut page: Vec<(String, Vec<u8>)> =
                    rows.into_iter().filter(|(k, _)| *k >= from).collect();
                let next = if page.len() > md.page_size as usize {
                    page.split_off(md.page_size as usize)
                        .first()
                        .map(|(k, _)| k.clone())
                } else {
                    None
                };
                let count = page.len() as i32;
                let meta = pb::QueryResponseMetadata {
                    fetched_records_count: count,
                    bookmark: next.unwrap_or_default(),
                };
                Ok(pb::QueryResponse {
                    results: page
                        .into_iter()
                        .map(|r| pb::QueryResultBytes {
                            result_bytes: kv(r),
                        })
                        .collect(),
                    has_more: false,
                    id: "paged".into(),
                    metadata: meta.encode_to_vec(),
                }
                .encode_to_vec())
            }
        }
        T::GetHistoryForKey => {
            let g = pb::GetHistoryForKey::decode(req.payload.as_slice()).unwrap();
            let rows = l
                .history
                .get(&g.key)
                .map(|h| h.iter().map(|m| m.encode_to_vec()).collect())
                .unwrap_or_default();
            Ok(query_response(&mut l, rows).encode_to_vec())
        }
        T::QueryStateNext => {
            let n = pb::QueryStateNext::decode(req.payload.as_slice()).unwrap();
            match l.iterators.remove(&n.id) {
                None => Err(format!("query iterator {} not found", n.id)),
                Some(rows) => Ok(query_response(&mut l, rows).encode_to_vec()),
            }
        }
        T::QueryStateClose => {
            let c = pb::QueryStateClose::decode(req.payload.as_slice()).unwrap();
            l.iterators.remove(&c.id);
            Ok(pb::QueryResponse {
                id: c.id,
                ..Default::default()
            }
            .encode_to_vec())
        }
        other => Err(format!("scripted peer does not handle {other:?}")),
    };
    reply(req, r)
}

/// An encoded `SerializedIdentity` holding an X.509 certificate (PEM) for `cn`, issued by a
/// throwaway CA of `org` — enough for the SFC contract's `cid.GetID()`-style caller id.
pub fn x509_identity(msp: &str, cn: &str, org: &str) -> Vec<u8> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("ca.{org}"));
    ca.distinguished_name.push(DnType::OrganizationName, org);
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "client");
    let cert = p.signed_by(&key, &issuer).expect("sign");
    SerializedIdentity {
        mspid: msp.to_string(),
        id_bytes: cert.pem().into_bytes(),
    }
    .encode_to_vec()
}
