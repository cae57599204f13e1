//! The endorser's answers, checked against Fabric's `ProcessProposal`: what an endorsed
//! response holds (and that its endorsement verifies), the three shapes of a chaincode error
//! response, and every proposal the endorser refuses, with Fabric's messages.

mod validator_support;

use prost::Message as _;
use sfcbc_devnet::crypto::{KeyAlgorithm, OrgSpec, generate};
use sfcbc_devnet::validator::ChaincodeDefinition;
use sfcbc_fabric::msp::ValidityTime;
use sfcbc_fabric::protos::common::{ChannelHeader, Header, HeaderType};
use sfcbc_fabric::protos::protos::{
    ChaincodeAction, ChaincodeEvent, Proposal, ProposalResponsePayload, SignedProposal,
};
use sfcbc_fabric::protos::rwset::TxReadWriteSet;
use sfcbc_fabric::signer::Signer;
use sfcbc_fabric::tx::{ProposalBuilder, unpack_proposal, verify_endorsement};
use validator_support::{CC, CHANNEL, Net};

fn action(payload: &[u8]) -> (ProposalResponsePayload, ChaincodeAction) {
    let prp = ProposalResponsePayload::decode(payload).unwrap();
    let a = ChaincodeAction::decode(prp.extension.as_slice()).unwrap();
    (prp, a)
}

fn message(o: &sfcbc_devnet::endorser::ProposalOutcome) -> String {
    o.response.response.as_ref().unwrap().message.clone()
}

#[tokio::test]
async fn endorsed_response_is_fabrics() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer')");
    let sp = net.proposal(&net.org(0).user, &["event", "Ev"]);
    let up = unpack_proposal(&sp).unwrap();
    let o = net.peers[1].endorser.process_proposal(&sp).await;
    assert!(o.endorsed() && o.rpc_error.is_none());
    assert_eq!(o.tx_id, up.tx_id());
    let r = &o.response;
    assert_eq!(r.version, 1);
    assert_eq!(r.response.as_ref().unwrap().status, 200);
    let (prp, a) = action(&r.payload);
    assert_eq!(prp.proposal_hash, up.proposal_hash);
    let id = a.chaincode_id.unwrap();
    assert_eq!((id.name.as_str(), id.version.as_str()), (CC, "1.0"));
    assert_eq!(a.response.as_ref(), r.response.as_ref());
    let ev = ChaincodeEvent::decode(a.events.as_slice()).unwrap();
    assert_eq!(ev.event_name, "Ev");
    let rw = TxReadWriteSet::decode(a.results.as_slice()).unwrap();
    // `_lifecycle` (the definition's sequence read) sorts first.
    assert_eq!(rw.ns_rwset[1].namespace, CC);
    // The endorsement is Org2's peer's signature over payload ‖ endorser.
    let e = r.endorsement.as_ref().unwrap();
    assert_eq!(e.endorser, net.org(1).peer.serialize());
    let id = verify_endorsement(&r.payload, e, net.channel_msps(), ValidityTime::AsFabric).unwrap();
    assert_eq!(id.msp_id(), "Org2MSP");
    // The interest names the chaincode whose state was written.
    let interest = r.interest.as_ref().unwrap();
    assert_eq!(interest.chaincodes.len(), 1);
    assert_eq!(interest.chaincodes[0].name, CC);
    // Two peers simulate to the same payload (deterministic rwset), so responses assemble.
    let o1 = net.peers[0].endorser.process_proposal(&sp).await;
    assert_eq!(o1.response.payload, r.payload);
}

#[tokio::test]
async fn chaincode_error_responses() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    // 400–499: the response alone.
    let o = net.peers[0]
        .endorser
        .process_proposal(&net.proposal(u, &["fail", "404", "no such asset"]))
        .await;
    assert!(o.rpc_error.is_none() && !o.endorsed());
    let resp = o.response.response.as_ref().unwrap();
    assert_eq!((resp.status, resp.message.as_str()), (404, "no such asset"));
    assert!(o.response.payload.is_empty() && o.response.interest.is_none());
    assert_eq!(o.response.version, 0);
    // ≥ 500: response, payload (with the results) and interest, no endorsement.
    let o = net.peers[0]
        .endorser
        .process_proposal(&net.proposal(u, &["fail", "500", "boom"]))
        .await;
    assert!(o.rpc_error.is_none() && !o.endorsed());
    assert_eq!(o.status(), 500);
    let (_, a) = action(&o.response.payload);
    assert_eq!(a.response.unwrap().status, 500);
    assert!(a.events.is_empty());
    assert!(o.response.interest.is_some());
    // An execution failure (the shim's ERROR): 500 "error in simulation: ...".
    let o = net.peers[0]
        .endorser
        .process_proposal(&net.proposal(u, &["nosuchfn"]))
        .await;
    assert_eq!(o.status(), 500);
    assert_eq!(
        message(&o),
        "error in simulation: unknown function nosuchfn"
    );
    assert!(o.response.payload.is_empty() && o.rpc_error.is_none());
}

#[tokio::test]
async fn chaincode_not_defined_or_not_installed() {
    let net = Net::new(1);
    let u = &net.org(0).user;
    let o = net.peers[0]
        .endorser
        .process_proposal(&net.proposal(u, &["put", "k", "v"]))
        .await;
    assert_eq!(o.status(), 500);
    assert_eq!(
        message(&o),
        format!(
            "make sure the chaincode {CC} has been successfully defined on channel {CHANNEL} \
             and try again: chaincode {CC} not found"
        )
    );
    assert!(o.rpc_error.is_none());
    net.define_with(ChaincodeDefinition::new("ghost", "1.0"));
    let sp = ProposalBuilder::new(CHANNEL, "ghost")
        .arg("x")
        .build(&u.serialize())
        .unwrap()
        .sign(u);
    let o = net.peers[0].endorser.process_proposal(&sp).await;
    assert_eq!(
        message(&o),
        "error in simulation: chaincode definition for 'ghost' exists, but chaincode is not installed"
    );
}

/// Re-signs a proposal whose header was changed.
fn with_header(
    sp: &SignedProposal,
    signer: &Signer,
    f: impl FnOnce(&mut ChannelHeader),
) -> SignedProposal {
    let mut p = Proposal::decode(sp.proposal_bytes.as_slice()).unwrap();
    let mut h = Header::decode(p.header.as_slice()).unwrap();
    let mut ch = ChannelHeader::decode(h.channel_header.as_slice()).unwrap();
    f(&mut ch);
    h.channel_header = ch.encode_to_vec();
    p.header = h.encode_to_vec();
    let bytes = p.encode_to_vec();
    SignedProposal {
        signature: signer.sign(&bytes),
        proposal_bytes: bytes,
    }
}

/// A high-S twin of a low-S DER ECDSA P-256 signature (s' = n − s): valid mathematically,
/// refused by Fabric as malleable.
fn high_s(der: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    // SEQUENCE { INTEGER r, INTEGER s } with short lengths.
    assert_eq!(der[0], 0x30);
    let rlen = der[3] as usize;
    let r = &der[4..4 + rlen];
    let s = &der[4 + rlen + 2..];
    let mut s32 = [0u8; 32];
    let s_trim: Vec<u8> = s.iter().copied().skip_while(|b| *b == 0).collect();
    s32[32 - s_trim.len()..].copy_from_slice(&s_trim);
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = N[i] as i16 - s32[i] as i16 - borrow;
        borrow = if d < 0 {
            d += 256;
            1
        } else {
            0
        };
        out[i] = d as u8;
    }
    let mut s_der: Vec<u8> = out.iter().copied().skip_while(|b| *b == 0).collect();
    if s_der[0] & 0x80 != 0 {
        s_der.insert(0, 0);
    }
    let mut body = vec![0x02, r.len() as u8];
    body.extend_from_slice(r);
    body.push(0x02);
    body.push(s_der.len() as u8);
    body.extend_from_slice(&s_der);
    let mut sig = vec![0x30, body.len() as u8];
    sig.extend(body);
    sig
}

#[tokio::test]
async fn refused_proposals() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer')");
    let e = &net.peers[0].endorser;
    let u = &net.org(0).user;
    let denied = format!(
        "error validating proposal: access denied: channel [{CHANNEL}] creator org [Org1MSP]"
    );

    // Signature by someone else.
    let mut sp = net.proposal(u, &["put", "k", "v"]);
    sp.signature = net.org(1).user.sign(&sp.proposal_bytes);
    let o = e.process_proposal(&sp).await;
    assert_eq!((o.status(), message(&o)), (500, denied.clone()));
    assert_eq!(o.rpc_error.as_deref(), Some(denied.as_str()));

    // High-S signature.
    let mut sp = net.proposal(u, &["put", "k", "v"]);
    let hs = high_s(&sp.signature);
    assert_ne!(hs, sp.signature);
    sp.signature = hs;
    assert_eq!(message(&e.process_proposal(&sp).await), denied);

    // An MSP that is not on the channel.
    let stranger_org = generate(
        &net.dir.path().join("strangers"),
        &OrgSpec::peer_org("Org9"),
        KeyAlgorithm::EcdsaP256,
    )
    .unwrap();
    let stranger = stranger_org.user_signer("User1").unwrap();
    let o = e
        .process_proposal(&net.proposal(&stranger, &["put", "k", "v"]))
        .await;
    assert_eq!(
        message(&o),
        format!(
            "error validating proposal: access denied: channel [{CHANNEL}] creator org unknown, \
             creator is malformed"
        )
    );
    // ... or a certificate of another CA claiming to be Org1MSP.
    let impostor = Signer::new(
        sfcbc_fabric::msp::Identity::from_pem("Org1MSP", stranger.identity().cert_pem()).unwrap(),
        stranger.key().clone(),
    )
    .unwrap();
    let o = e
        .process_proposal(&net.proposal(&impostor, &["put", "k", "v"]))
        .await;
    assert_eq!(message(&o), denied);

    // Bad tx id, header type, epoch.
    let sp = net.proposal(u, &["put", "k", "v"]);
    let bad_id = with_header(&sp, u, |ch| ch.tx_id = "abc".into());
    let m = message(&e.process_proposal(&bad_id).await);
    assert!(
        m.starts_with("error validating proposal: incorrectly computed txid 'abc' -- expected '"),
        "{m}"
    );
    let msg_type = with_header(&sp, u, |ch| ch.r#type = HeaderType::Message as i32);
    assert_eq!(
        message(&e.process_proposal(&msg_type).await),
        "error validating proposal: invalid header type MESSAGE"
    );
    let epoch = with_header(&sp, u, |ch| ch.epoch = 1);
    assert_eq!(
        message(&e.process_proposal(&epoch).await),
        "error validating proposal: epoch is non-zero"
    );

    // The Writers ACL: a peer identity is not a writer (admins and clients are).
    let o = e
        .process_proposal(&net.proposal(&net.org(1).peer, &["put", "k", "v"]))
        .await;
    assert_eq!(
        message(&o),
        "failed evaluating policy on signed data during check policy \
         [/Channel/Application/Writers]: [implicit policy evaluation failed - 0 sub-policies were \
         satisfied, but this policy requires 1 of the 'Writers' sub-policies to be satisfied]"
    );
    assert!(o.rpc_error.is_some());
    assert!(
        e.process_proposal(&net.proposal(&net.org(1).admin, &["put", "k", "v"]))
            .await
            .endorsed()
    );

    // Malformed bytes.
    let o = e.process_proposal_bytes(&[0xff, 0x01]).await;
    assert_eq!(o.status(), 500);
    assert!(o.rpc_error.is_some());
    let o = e
        .process_proposal(&SignedProposal {
            proposal_bytes: b"garbage".to_vec(),
            signature: vec![1],
        })
        .await;
    assert_eq!(o.status(), 500);
    assert!(o.rpc_error.is_some());
}

#[tokio::test]
async fn duplicate_proposal_after_commit() {
    let net = Net::new(1);
    net.define("OR('Org1MSP.peer')");
    let u = &net.org(0).user;
    let sp = net.proposal(u, &["put", "k", "v"]);
    let o = net.endorse(&sp, &[0]).await;
    let tx = sfcbc_fabric::tx::create_signed_transaction(&sp, &[o[0].response.clone()], u).unwrap();
    assert_eq!(net.commit_all(vec![tx]), [0]);
    let o = net.peers[0].endorser.process_proposal(&sp).await;
    assert_eq!(
        message(&o),
        format!(
            "duplicate transaction found [{}]. Creator [{}]",
            o.tx_id,
            hex::encode(u.serialize())
        )
    );
    assert!(o.rpc_error.is_some());
}

#[tokio::test]
async fn private_writes_go_to_the_transient_store() {
    let net = Net::new(2);
    net.define("OR('Org1MSP.peer', 'Org2MSP.peer')");
    let u = &net.org(0).user;
    let sp = net.proposal(u, &["pput", "_implicit_org_Org2MSP", "pw", "hunter2"]);
    let o = net.peers[1].endorser.process_proposal(&sp).await;
    assert!(o.endorsed());
    let pvt = o.private_data.as_ref().unwrap();
    assert_eq!(
        pvt.ns_pvt_rwset[0].collection_pvt_rwset[0].collection_name,
        "_implicit_org_Org2MSP"
    );
    assert_eq!(net.peers[1].transient.get(&o.tx_id), vec![pvt.clone()]);
    // The value is not in the response.
    assert!(!o.response.payload.windows(7).any(|w| w == b"hunter2"));
    let call = &o.response.interest.as_ref().unwrap().chaincodes;
    assert_eq!(call.len(), 1);
    assert_eq!(call[0].collection_names, ["_implicit_org_Org2MSP"]);
    assert!(call[0].no_private_reads);
    // Dissemination reaches only member orgs.
    assert!(
        sfcbc_devnet::endorser::private_data_for_org(pvt, net.defs.as_ref(), "Org1MSP").is_none()
    );
    assert!(
        sfcbc_devnet::endorser::private_data_for_org(pvt, net.defs.as_ref(), "Org2MSP").is_some()
    );
    // A chaincode error leaves nothing in the transient store.
    let o = net.peers[0]
        .endorser
        .process_proposal(&net.proposal(u, &["fail", "400", "x"]))
        .await;
    assert!(net.peers[0].transient.get(&o.tx_id).is_empty());
}

#[tokio::test]
async fn init_exactly_once_when_required() {
    let net = Net::new(1);
    let mut def = ChaincodeDefinition::new(CC, "1.0").with_policy(
        sfcbc_devnet::validator::EndorsementPolicy::parse("OR('Org1MSP.peer')").unwrap(),
    );
    def.init_required = true;
    net.define_with(def);
    let u = &net.org(0).user;
    let e = &net.peers[0].endorser;
    let o = e
        .process_proposal(&net.proposal(u, &["put", "k", "v"]))
        .await;
    assert_eq!(
        message(&o),
        format!(
            "error in simulation: invalid invocation: chaincode '{CC}' has not been initialized \
             for this version, must call as init first"
        )
    );
    let init = |args: &[&str]| {
        ProposalBuilder::new(CHANNEL, CC)
            .args(args.iter().map(|a| a.as_bytes().to_vec()))
            .is_init(true)
            .build(&u.serialize())
            .unwrap()
            .sign(u)
    };
    let sp = init(&["put", "k", "init"]);
    let o = net.endorse(&sp, &[0]).await;
    let tx = sfcbc_fabric::tx::create_signed_transaction(&sp, &[o[0].response.clone()], u).unwrap();
    assert_eq!(net.commit_all(vec![tx]), [0]);
    assert_eq!(net.state(0, "k").as_deref(), Some(&b"init"[..]));
    let o = e.process_proposal(&init(&["put", "k", "again"])).await;
    assert_eq!(
        message(&o),
        format!(
            "error in simulation: invalid invocation: chaincode '{CC}' is already initialized but \
             called as init"
        )
    );
    assert!(
        e.process_proposal(&net.proposal(u, &["put", "k", "v"]))
            .await
            .endorsed()
    );
    // A chaincode without init_required refuses init calls.
    net.define("OR('Org1MSP.peer')");
    let o = e.process_proposal(&init(&["put", "k", "x"])).await;
    assert_eq!(
        message(&o),
        format!(
            "error in simulation: invalid invocation: chaincode '{CC}' does not require \
             initialization but called as init"
        )
    );
}
