//! Our `.proto` files must carry exactly Fabric's wire facts. This test lists the facts of
//! the descriptors `build.rs` compiled (packages, files, messages, fields with number, label,
//! type and oneof, enums with values, services with rpc signatures) and compares them with
//! `fixtures/fabric_protos_facts.txt`, the same listing made from hyperledger/fabric-protos
//! v0.3.7 by `tests/conformance/protos/facts` (see its README). Regenerate that file only
//! from an upstream checkout, never from our own protos.

use prost::Message;
use prost_types::FileDescriptorSet;
use sfcbc_fabric::protos::FILE_DESCRIPTOR_SET;

// The listing code is shared with the generator, which must not depend on this crate.
#[path = "../../tests/conformance/protos/facts/src/facts.rs"]
mod facts;

#[test]
fn our_protos_carry_fabric_protos_v0_3_wire_facts() {
    let fds = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
    let ours = facts::list(&fds);
    let expected: Vec<String> = include_str!("fixtures/fabric_protos_facts.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let missing: Vec<&String> = expected.iter().filter(|l| !ours.contains(l)).collect();
    let extra: Vec<&String> = ours.iter().filter(|l| !expected.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "wire facts differ from fabric-protos\nmissing (upstream only):\n{}\nextra (ours only):\n{}",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(
        expected.len() > 900,
        "fixture looks truncated: {} facts",
        expected.len()
    );
}

#[test]
fn services_are_generated_with_fabric_names() {
    // The gRPC service names the peer and clients use on the wire.
    use sfcbc_fabric::protos::{gateway, orderer, protos};
    assert_eq!(protos::chaincode_server::SERVICE_NAME, "protos.Chaincode");
    assert_eq!(
        protos::chaincode_support_server::SERVICE_NAME,
        "protos.ChaincodeSupport"
    );
    assert_eq!(protos::endorser_server::SERVICE_NAME, "protos.Endorser");
    assert_eq!(protos::deliver_server::SERVICE_NAME, "protos.Deliver");
    assert_eq!(
        orderer::atomic_broadcast_server::SERVICE_NAME,
        "orderer.AtomicBroadcast"
    );
    assert_eq!(gateway::gateway_server::SERVICE_NAME, "gateway.Gateway");
    // Clients are built from a Channel (no transport `connect` constructor).
    type Ch = tonic::transport::Channel;
    let _ = protos::chaincode_client::ChaincodeClient::<Ch>::new;
    let _ = protos::chaincode_support_client::ChaincodeSupportClient::<Ch>::new;
    let _ = protos::endorser_client::EndorserClient::<Ch>::new;
    let _ = protos::deliver_client::DeliverClient::<Ch>::new;
    let _ = orderer::atomic_broadcast_client::AtomicBroadcastClient::<Ch>::new;
    let _ = gateway::gateway_client::GatewayClient::<Ch>::new;
}
