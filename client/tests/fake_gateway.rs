//! The client against an in-process gRPC Gateway + Deliver server that checks what a Fabric
//! peer checks (signatures, tx ids, headers) and answers as Fabric does, including errors
//! with `gateway.ErrorDetail`s in the `grpc-status-details-bin` trailer. Runs everywhere
//! (no Fabric binaries needed); `real_fabric.rs` is the same against real peers.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use prost::Message;
use sfcbc_client::error::{ERROR_DETAIL_TYPE_URL, RpcStatus};
use sfcbc_client::{Error, EventsOptions, Gateway, InMemoryCheckpointer, Step};
use sfcbc_fabric::protos::common::{
    Block, BlockHeader, ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader,
    Status as CommonStatus,
};
use sfcbc_fabric::protos::gateway::gateway_server::{Gateway as GatewayService, GatewayServer};
use sfcbc_fabric::protos::gateway::*;
use sfcbc_fabric::protos::orderer::{SeekInfo, seek_position};
use sfcbc_fabric::protos::protos::deliver_server::{Deliver, DeliverServer};
use sfcbc_fabric::protos::protos::{
    BlockAndPrivateData, ChaincodeEvent, DeliverResponse, FilteredBlock, Response as CcResponse,
    SignedProposal, deliver_response,
};
use sfcbc_fabric::{Identity, PrivateKey, Signer};
use tonic::{Request, Status};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn new_signer(msp: &str) -> Signer {
    let key = PrivateKey::generate_p256();
    let kp = rcgen::KeyPair::from_pem(&key.to_pkcs8_pem()).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "User1@org1.example.com");
    let pem = params.self_signed(&kp).unwrap().pem();
    Signer::new(Identity::from_pem(msp, pem.as_bytes()).unwrap(), key).unwrap()
}

fn error_with_details(code: tonic::Code, message: &str, details: &[ErrorDetail]) -> Status {
    let st = RpcStatus {
        code: code as i32,
        message: message.into(),
        details: details
            .iter()
            .map(|d| prost_types::Any {
                type_url: ERROR_DETAIL_TYPE_URL.into(),
                value: d.encode_to_vec(),
            })
            .collect(),
    };
    Status::with_details(code, message, st.encode_to_vec().into())
}

fn detail(message: &str) -> ErrorDetail {
    ErrorDetail {
        address: "peer0.org1.example.com:7051".into(),
        msp_id: "Org1MSP".into(),
        message: message.into(),
    }
}

/// What the fake peer saw and decides.
#[derive(Default)]
struct State {
    /// Submitted tx id → validation code it will commit with.
    submitted: HashMap<String, i32>,
    /// Transactions of the `conflict` function: they commit as MVCC_READ_CONFLICT.
    conflicts: Vec<String>,
    /// Endorsing orgs of the last endorse request.
    last_endorsing_orgs: Vec<String>,
    /// Transient keys of the last evaluated/endorsed proposal.
    last_transient: Vec<String>,
    /// The last chaincode-events request.
    last_events_request: Option<ChaincodeEventsRequest>,
    /// The last seek info.
    last_seek: Option<SeekInfo>,
    /// The TLS certificate hash in the last deliver request's channel header.
    last_tls_cert_hash: Vec<u8>,
}

struct Fake {
    /// The client identity (the peer's MSP in miniature).
    client: Identity,
    /// Signs endorsements.
    peer: Signer,
    state: Arc<Mutex<State>>,
}

impl Fake {
    fn check_sig(&self, msg: &[u8], sig: &[u8], what: &str) -> Result<(), Status> {
        self.client
            .public_key()
            .unwrap()
            .verify(msg, sig)
            .map_err(|e| Status::permission_denied(format!("{what}: bad signature: {e}")))
    }

    /// Checks a proposal as a peer does and runs the toy chaincode: `echo` returns its
    /// args joined by `,`; `fail` is a 500; `conflict` commits as MVCC_READ_CONFLICT.
    fn simulate(
        &self,
        signed: &SignedProposal,
        channel: &str,
        tx_id: &str,
    ) -> Result<(CcResponse, sfcbc_fabric::tx::UnpackedProposal), Status> {
        let up = sfcbc_fabric::tx::unpack_proposal(signed)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.check_sig(&signed.proposal_bytes, &signed.signature, "proposal")?;
        assert_eq!(up.tx_id(), tx_id, "request tx id = proposal tx id");
        assert_eq!(up.channel_id(), channel);
        assert_eq!(up.creator(), self.client.serialize().as_slice());
        sfcbc_fabric::tx::check_tx_id(tx_id, &up.signature_header.nonce, up.creator()).unwrap();
        let mut keys: Vec<_> = up.transient_map.keys().cloned().collect();
        keys.sort();
        self.state.lock().unwrap().last_transient = keys;
        let args: Vec<String> = up
            .input
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into())
            .collect();
        if args[0] == "conflict" {
            self.state.lock().unwrap().conflicts.push(tx_id.to_string());
        }
        let resp = match args[0].as_str() {
            "fail" | "kv:fail" => CcResponse {
                status: 500,
                message: "it failed".into(),
                payload: Vec::new(),
            },
            _ => CcResponse {
                status: 200,
                message: String::new(),
                payload: args.join(",").into_bytes(),
            },
        };
        Ok((resp, up))
    }
}

#[tonic::async_trait]
impl GatewayService for Fake {
    async fn evaluate(
        &self,
        r: Request<EvaluateRequest>,
    ) -> Result<tonic::Response<EvaluateResponse>, Status> {
        assert!(
            r.metadata().get("grpc-timeout").is_some(),
            "the deadline reaches the peer"
        );
        let r = r.into_inner();
        let (resp, _) = self.simulate(
            r.proposed_transaction.as_ref().unwrap(),
            &r.channel_id,
            &r.transaction_id,
        )?;
        if resp.status >= 400 {
            let msg = format!("chaincode response {}, {}", resp.status, resp.message);
            return Err(error_with_details(
                tonic::Code::Unknown,
                &format!("evaluate call to endorser returned error: {msg}"),
                &[detail(&msg)],
            ));
        }
        Ok(tonic::Response::new(EvaluateResponse {
            result: Some(resp),
        }))
    }

    async fn endorse(
        &self,
        r: Request<EndorseRequest>,
    ) -> Result<tonic::Response<EndorseResponse>, Status> {
        let r = r.into_inner();
        self.state.lock().unwrap().last_endorsing_orgs = r.endorsing_organizations.clone();
        let signed = r.proposed_transaction.clone().unwrap();
        let (resp, up) = self.simulate(&signed, &r.channel_id, &r.transaction_id)?;
        if resp.status >= 400 {
            return Err(error_with_details(
                tonic::Code::Aborted,
                "failed to endorse transaction, see attached details for more info",
                &[
                    detail(&format!(
                        "chaincode response {}, {}",
                        resp.status, resp.message
                    )),
                    ErrorDetail {
                        address: "peer0.org2.example.com:9051".into(),
                        msp_id: "Org2MSP".into(),
                        message: "connection refused".into(),
                    },
                ],
            ));
        }
        let pr = up.endorse(resp, b"rwset".to_vec(), None, "1.0", &self.peer);
        let env = sfcbc_fabric::tx::assemble_transaction(&signed, &[pr])
            .map_err(|e| Status::aborted(e.to_string()))?;
        Ok(tonic::Response::new(EndorseResponse {
            prepared_transaction: Some(env),
        }))
    }

    async fn submit(
        &self,
        r: Request<SubmitRequest>,
    ) -> Result<tonic::Response<SubmitResponse>, Status> {
        let r = r.into_inner();
        let env = r.prepared_transaction.unwrap();
        self.check_sig(&env.payload, &env.signature, "transaction")?;
        let parsed = sfcbc_fabric::tx::parse_envelope(&env)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        assert_eq!(parsed.tx_id(), r.transaction_id);
        let mut st = self.state.lock().unwrap();
        let code = if st.conflicts.contains(&r.transaction_id) {
            11
        } else {
            0
        };
        st.submitted.insert(r.transaction_id, code);
        Ok(tonic::Response::new(SubmitResponse {}))
    }

    async fn commit_status(
        &self,
        r: Request<SignedCommitStatusRequest>,
    ) -> Result<tonic::Response<CommitStatusResponse>, Status> {
        let r = r.into_inner();
        self.check_sig(&r.request, &r.signature, "commit status request")?;
        let req = CommitStatusRequest::decode(r.request.as_slice()).unwrap();
        assert_eq!(req.identity, self.client.serialize());
        let code = *self
            .state
            .lock()
            .unwrap()
            .submitted
            .get(&req.transaction_id)
            .ok_or_else(|| Status::not_found("no such transaction"))?;
        Ok(tonic::Response::new(CommitStatusResponse {
            result: code,
            block_number: 42,
        }))
    }

    type ChaincodeEventsStream = BoxStream<ChaincodeEventsResponse>;

    async fn chaincode_events(
        &self,
        r: Request<SignedChaincodeEventsRequest>,
    ) -> Result<tonic::Response<Self::ChaincodeEventsStream>, Status> {
        let r = r.into_inner();
        self.check_sig(&r.request, &r.signature, "chaincode events request")?;
        let req = ChaincodeEventsRequest::decode(r.request.as_slice()).unwrap();
        self.state.lock().unwrap().last_events_request = Some(req.clone());
        if req.chaincode_id == "forbidden" {
            return Err(Status::permission_denied("not allowed"));
        }
        let start = match req.start_position.and_then(|p| p.r#type) {
            Some(seek_position::Type::Specified(s)) => s.number,
            _ => 100,
        };
        let ev = |tx: &str| ChaincodeEvent {
            chaincode_id: req.chaincode_id.clone(),
            tx_id: tx.into(),
            event_name: "put".into(),
            payload: tx.as_bytes().to_vec(),
        };
        let items = vec![
            Ok(ChaincodeEventsResponse {
                events: vec![ev("a"), ev("b")],
                block_number: start,
            }),
            Ok(ChaincodeEventsResponse {
                events: vec![ev("c")],
                block_number: start + 1,
            }),
            Err(Status::aborted("ledger gone")),
        ];
        Ok(tonic::Response::new(Box::pin(futures::stream::iter(items))))
    }
}

fn block(n: u64) -> Block {
    Block {
        header: Some(BlockHeader {
            number: n,
            previous_hash: vec![],
            data_hash: vec![],
        }),
        data: None,
        metadata: None,
    }
}

#[tonic::async_trait]
impl Deliver for Fake {
    type DeliverStream = BoxStream<DeliverResponse>;
    type DeliverFilteredStream = BoxStream<DeliverResponse>;
    type DeliverWithPrivateDataStream = BoxStream<DeliverResponse>;

    async fn deliver(
        &self,
        r: Request<tonic::Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverStream>, Status> {
        let mut s = r.into_inner();
        let env = s
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no envelope"))?;
        self.check_sig(&env.payload, &env.signature, "deliver envelope")?;
        let p = Payload::decode(env.payload.as_slice()).unwrap();
        let h = p.header.unwrap();
        let ch = ChannelHeader::decode(h.channel_header.as_slice()).unwrap();
        assert_eq!(ch.r#type, HeaderType::DeliverSeekInfo as i32);
        self.state.lock().unwrap().last_tls_cert_hash = ch.tls_cert_hash.clone();
        let sh = SignatureHeader::decode(h.signature_header.as_slice()).unwrap();
        assert_eq!(sh.creator, self.client.serialize());
        let seek = SeekInfo::decode(p.data.as_slice()).unwrap();
        self.state.lock().unwrap().last_seek = Some(seek);
        let start = match seek.start.and_then(|p| p.r#type) {
            Some(seek_position::Type::Specified(s)) => s.number,
            _ => 0,
        };
        let status = if ch.channel_id == "nochannel" {
            CommonStatus::NotFound
        } else {
            CommonStatus::Success
        };
        let mut items: Vec<Result<DeliverResponse, Status>> = Vec::new();
        if status == CommonStatus::Success {
            for n in start..start + 2 {
                items.push(Ok(DeliverResponse {
                    r#type: Some(deliver_response::Type::Block(block(n))),
                }));
            }
        }
        items.push(Ok(DeliverResponse {
            r#type: Some(deliver_response::Type::Status(status as i32)),
        }));
        Ok(tonic::Response::new(Box::pin(futures::stream::iter(items))))
    }

    async fn deliver_filtered(
        &self,
        r: Request<tonic::Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverFilteredStream>, Status> {
        let mut s = r.into_inner();
        let env = s.message().await?.unwrap();
        self.check_sig(&env.payload, &env.signature, "deliver envelope")?;
        let fb = FilteredBlock {
            channel_id: "mychannel".into(),
            number: 7,
            filtered_transactions: vec![],
        };
        // keeps the stream open like a peer waiting for the next block
        let items = futures::stream::iter(vec![Ok(DeliverResponse {
            r#type: Some(deliver_response::Type::FilteredBlock(fb)),
        })])
        .chain(futures::stream::pending());
        Ok(tonic::Response::new(Box::pin(items)))
    }

    async fn deliver_with_private_data(
        &self,
        _r: Request<tonic::Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverWithPrivateDataStream>, Status> {
        // the wrong kind of item: the client must say so rather than mis-decode
        let b = block(1);
        let items = vec![Ok(DeliverResponse {
            r#type: Some(deliver_response::Type::Block(b)),
        })];
        let _ = BlockAndPrivateData::default();
        Ok(tonic::Response::new(Box::pin(futures::stream::iter(items))))
    }
}

use futures::StreamExt as _;

async fn start(client: &Signer) -> (String, Arc<Mutex<State>>) {
    start_with(client, None).await
}

async fn start_with(
    client: &Signer,
    tls: Option<tonic::transport::ServerTlsConfig>,
) -> (String, Arc<Mutex<State>>) {
    let state = Arc::new(Mutex::new(State::default()));
    let fake = || Fake {
        client: client.identity().clone(),
        peer: new_signer("Org1MSP"),
        state: state.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).unwrap();
    }
    let router = builder
        .add_service(GatewayServer::new(fake()))
        .add_service(DeliverServer::new(fake()));
    tokio::spawn(router.serve_with_incoming(incoming));
    (addr, state)
}

/// A gateway to the fake peer at `addr` as `signer`.
async fn connect(signer: &Signer, addr: &str) -> Gateway {
    Gateway::builder(signer.identity().clone())
        .signer(signer.clone())
        .endpoint(addr.to_string())
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn full_flow_errors_events_and_offline_signing_against_a_fake_peer() {
    let signer = new_signer("Org1MSP");
    let (addr, state) = start(&signer).await;
    let gw = connect(&signer, &addr).await;
    let contract = gw.network("mychannel").contract("basic");

    // evaluate / submit, arguments as sent
    assert_eq!(
        contract
            .evaluate_transaction("echo", &["a", "b"])
            .await
            .unwrap(),
        b"echo,a,b"
    );
    assert_eq!(
        contract.submit_transaction("echo", &["x"]).await.unwrap(),
        b"echo,x"
    );
    let named = gw.network("mychannel").contract_with_name("basic", "kv");
    assert_eq!(
        named
            .evaluate_transaction("echo", &[] as &[&str])
            .await
            .unwrap(),
        b"kv:echo"
    );

    // transient data and endorsing organizations reach the peer
    let out = contract
        .new_proposal("echo")
        .arg("p")
        .transient("secret", b"s3cr3t".to_vec())
        .transient("salt", vec![1u8; 16])
        .endorsing_organizations(&["Org2MSP"])
        .submit()
        .await
        .unwrap();
    assert_eq!(out, b"echo,p");
    {
        let st = state.lock().unwrap();
        assert_eq!(st.last_endorsing_orgs, vec!["Org2MSP".to_string()]);
        assert_eq!(
            st.last_transient,
            vec!["salt".to_string(), "secret".to_string()]
        );
    }

    // evaluate error: details from the trailer, chaincode status
    let e = contract
        .evaluate_transaction("fail", &[] as &[&str])
        .await
        .unwrap_err();
    let g = e.gateway().unwrap();
    assert_eq!((g.step, g.code), (Step::Evaluate, tonic::Code::Unknown));
    assert_eq!(g.endpoint, addr);
    assert_eq!(g.details, vec![detail("chaincode response 500, it failed")]);
    assert_eq!(e.chaincode_response(), Some((500, "it failed".into())));

    // endorse error: two details, tx id, step
    let e = contract
        .submit_transaction("fail", &[] as &[&str])
        .await
        .unwrap_err();
    let g = e.gateway().unwrap();
    assert_eq!((g.step, g.code), (Step::Endorse, tonic::Code::Aborted));
    assert_eq!(g.details.len(), 2);
    assert_eq!(g.details[1].msp_id, "Org2MSP");
    assert_eq!(g.tx_id.as_deref().map(str::len), Some(64));
    let text = e.to_string();
    assert!(
        text.contains("Details:\n  - Address: peer0.org1.example.com:7051\n    MspId: Org1MSP"),
        "{text}"
    );

    // commit failure: validation code, tx id, block
    let (_, mut commit) = contract.submit_async("conflict", &["k"]).await.unwrap();
    let status = commit.status().await.unwrap();
    assert!(!status.successful());
    assert_eq!(
        (status.code_name().as_str(), status.block_number),
        ("MVCC_READ_CONFLICT", 42)
    );
    let e = contract
        .submit_transaction("conflict", &["k"])
        .await
        .unwrap_err();
    assert_eq!(e.validation_code(), Some(11));
    assert!(matches!(
        e,
        Error::Commit {
            block_number: 42,
            ..
        }
    ));

    // chaincode events: start block, checkpoint → after_transaction_id, stream error at the end
    let mut ev = gw
        .network("mychannel")
        .chaincode_events("basic", EventsOptions::start_block(5))
        .await
        .unwrap();
    let got: Vec<_> = (&mut ev).take(3).map(|e| e.unwrap()).collect().await;
    assert_eq!(
        got.iter()
            .map(|e| (e.block_number, e.tx_id.as_str()))
            .collect::<Vec<_>>(),
        [(5, "a"), (5, "b"), (6, "c")]
    );
    let e = ev.next().await.unwrap().unwrap_err();
    assert_eq!(
        e.gateway().map(|g| (g.step, g.code)),
        Some((Step::ChaincodeEvents, tonic::Code::Aborted))
    );
    assert!(ev.next().await.is_none(), "the stream ends after its error");
    let mut cp = InMemoryCheckpointer::new();
    cp.checkpoint_chaincode_event(&got[0]);
    let mut ev = gw
        .network("mychannel")
        .chaincode_events("basic", EventsOptions::start_block(1).checkpoint(&cp))
        .await
        .unwrap();
    ev.next().await.unwrap().unwrap();
    let req = state.lock().unwrap().last_events_request.clone().unwrap();
    assert_eq!(req.after_transaction_id, "a");
    assert_eq!(req.channel_id, "mychannel");
    assert!(matches!(
        req.start_position.and_then(|p| p.r#type),
        Some(seek_position::Type::Specified(s)) if s.number == 5
    ));
    let mut denied = gw
        .network("mychannel")
        .chaincode_events("forbidden", EventsOptions::new())
        .await
        .unwrap();
    let e = denied.next().await.unwrap().unwrap_err();
    assert_eq!(
        e.gateway().map(|g| g.code),
        Some(tonic::Code::PermissionDenied)
    );

    // block events: blocks from the start, then the end status; a bad status is an error
    let mut blocks = gw
        .network("mychannel")
        .block_events(EventsOptions::start_block(3))
        .await
        .unwrap();
    let nums: Vec<u64> = (&mut blocks)
        .map(|b| b.unwrap().header.unwrap().number)
        .collect()
        .await;
    assert_eq!(nums, [3, 4], "SUCCESS ends the stream cleanly");
    let seek = state.lock().unwrap().last_seek.unwrap();
    assert!(
        matches!(seek.stop.and_then(|p| p.r#type), Some(seek_position::Type::Specified(s)) if s.number == u64::MAX)
    );
    let mut none = gw
        .network("nochannel")
        .block_events(EventsOptions::new())
        .await
        .unwrap();
    let e = none.next().await.unwrap().unwrap_err();
    assert!(matches!(e, Error::DeliverStatus { status: 404, .. }), "{e}");
    let mut fb = gw
        .network("mychannel")
        .filtered_block_events(EventsOptions::new())
        .await
        .unwrap();
    assert_eq!(fb.next().await.unwrap().unwrap().number, 7);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), fb.next())
            .await
            .is_err(),
        "an open deliver stream waits for the next block"
    );
    drop(fb);
    let mut wrong = gw
        .network("mychannel")
        .block_and_private_data_events(EventsOptions::new())
        .await
        .unwrap();
    assert!(matches!(
        wrong.next().await.unwrap(),
        Err(Error::Decode { .. })
    ));

    // off-line signing: nothing signed by the gateway
    let offline = Gateway::builder(signer.identity().clone())
        .endpoint(addr.clone())
        .connect()
        .await
        .unwrap();
    let c = offline.network("mychannel").contract("basic");
    assert!(matches!(
        c.submit_transaction("echo", &["x"]).await,
        Err(Error::NoSigner(_))
    ));
    let p = c.new_proposal("echo").arg("off").build().unwrap();
    assert!(!p.is_signed());
    assert_eq!(p.digest(), sfcbc_client::gateway::digest(p.message()));
    let mut p = offline
        .new_signed_proposal(&p.bytes(), signer.sign(p.message()))
        .unwrap();
    let t = p.endorse().await.unwrap();
    assert_eq!(t.result(), b"echo,off");
    let mut t = offline
        .new_signed_transaction(&t.bytes(), signer.sign(t.message()))
        .unwrap();
    let cm = t.submit().await.unwrap();
    let mut cm = offline
        .new_signed_commit(&cm.bytes(), signer.sign(cm.message()))
        .unwrap();
    assert!(cm.status().await.unwrap().successful());
    // a forged signature is refused by the peer
    let p = c.new_proposal("echo").build().unwrap();
    let mut forged = offline
        .new_signed_proposal(&p.bytes(), signer.sign(b"something else"))
        .unwrap();
    let e = forged.evaluate().await.unwrap_err();
    assert_eq!(
        e.gateway().map(|g| g.code),
        Some(tonic::Code::PermissionDenied)
    );
    // garbage bytes are a decode error, not a panic
    assert!(matches!(
        offline.new_proposal(b"\xff\xff"),
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        offline.new_transaction(b"\x0a\x01"),
        Err(Error::Decode { .. })
    ));

    // closures sign too
    let s2 = signer.clone();
    let closure_gw = Gateway::builder(signer.identity().clone())
        .signer(move |m: &[u8]| Ok(s2.sign(m)))
        .endpoint(addr.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(
        closure_gw
            .network("mychannel")
            .contract("basic")
            .evaluate_transaction("echo", &["c"])
            .await
            .unwrap(),
        b"echo,c"
    );
}

#[tokio::test]
async fn connect_errors_are_clear() {
    let signer = new_signer("Org1MSP");
    // nothing listens on port 1
    let e = Gateway::builder(signer.identity().clone())
        .endpoint("127.0.0.1:1")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    assert!(e.to_string().contains("127.0.0.1:1"));
    let e = Gateway::builder(signer.identity().clone())
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
}

struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

/// A TLS CA, a server certificate for DNS name `peer0.org1.example.com` only (no IP SAN),
/// and a client certificate.
fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "tlsca.org1.example.com");
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca_pem,
        server: leaf(vec!["peer0.org1.example.com".into()]),
        client: leaf(vec!["user1.org1.example.com".into()]),
    }
}

#[tokio::test]
async fn tls_server_name_override_and_mutual_tls() {
    use tonic::transport::{Certificate, Identity as TlsIdentity, ServerTlsConfig};
    let signer = new_signer("Org1MSP");
    let pki = pki();
    let server_tls = ServerTlsConfig::new()
        .identity(TlsIdentity::from_pem(&pki.server.0, &pki.server.1))
        .client_ca_root(Certificate::from_pem(&pki.ca_pem));
    let (addr, state) = start_with(&signer, Some(server_tls)).await;
    let connect = |tls: sfcbc_client::TlsOptions| {
        Gateway::builder(signer.identity().clone())
            .signer(signer.clone())
            .endpoint(addr.clone())
            .tls(tls)
            .connect_timeout(Duration::from_secs(5))
            .connect()
    };
    let ca = || sfcbc_client::TlsOptions::with_ca_pem(pki.ca_pem.clone());

    // the certificate names peer0.org1.example.com, not 127.0.0.1: refused without override
    let e = connect(ca().client_identity(pki.client.0.clone(), pki.client.1.clone()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e}");

    // with the override but without a client certificate: the server demands one
    let no_client_cert = connect(ca().server_name("peer0.org1.example.com")).await;
    let refused = match no_client_cert {
        Err(_) => true,
        Ok(gw) => gw
            .network("mychannel")
            .contract("basic")
            .evaluate_transaction("echo", &["x"])
            .await
            .is_err(),
    };
    assert!(refused, "mutual TLS: no client certificate, no service");

    // override + client certificate: works, and deliver requests carry the cert's hash
    let gw = connect(
        ca().server_name("peer0.org1.example.com")
            .client_identity(pki.client.0.clone(), pki.client.1.clone()),
    )
    .await
    .expect("mutual TLS with a server-name override");
    let c = gw.network("mychannel").contract("basic");
    assert_eq!(
        c.evaluate_transaction("echo", &["tls"]).await.unwrap(),
        b"echo,tls"
    );
    let mut blocks = gw
        .network("mychannel")
        .block_events(EventsOptions::start_block(1))
        .await
        .unwrap();
    blocks.next().await.unwrap().unwrap();
    let client_der = {
        use base64::Engine as _;
        let body: String = pki
            .client
            .0
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    assert_eq!(
        state.lock().unwrap().last_tls_cert_hash,
        sfcbc_client::gateway::digest(&client_der)
    );
}

/// A client-side time-out is always `DeadlineExceeded`, whichever deadline ends the call:
/// ours, tonic's `grpc-timeout` (which says `Cancelled`) or the peer's. Real Fabric once
/// answered a 1 ns evaluate with `Cancelled` (tests/real_fabric.rs).
#[tokio::test]
async fn a_client_time_out_is_deadline_exceeded_every_time() {
    let signer = new_signer("Org1MSP");
    let (addr, _state) = start(&signer).await;
    let gw = connect(&signer, &addr).await;
    let contract = gw.network("mychannel").contract("basic");
    let mut codes = std::collections::BTreeMap::new();
    for timeout in [1, 1_000, 10_000, 50_000, 100_000] {
        for _ in 0..40 {
            let r = contract
                .new_proposal("echo")
                .arg("x")
                .build()
                .unwrap()
                .evaluate_with_timeout(Some(Duration::from_nanos(timeout)))
                .await;
            let code = match r {
                Ok(_) => "answered".to_string(),
                Err(e) => format!("{:?}", e.gateway().map(|g| g.code)),
            };
            *codes.entry(code).or_insert(0) += 1;
        }
    }
    codes.remove("answered");
    assert_eq!(
        codes.keys().collect::<Vec<_>>(),
        ["Some(DeadlineExceeded)"],
        "{codes:?}"
    );
}
