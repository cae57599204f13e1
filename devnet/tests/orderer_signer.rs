//! The orderer signs with sfcbc-fabric's MSP `Signer` (ECDSA P-256, low-S), and the
//! signature verifies with the public key of the identity in the signature header, over
//! exactly `value ‖ signature_header ‖ BlockHeaderBytes`.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sfcbc_devnet::block::{
    block_hash, genesis_metadata, header_fields, metadata, new_block, signed_bytes,
    verify_block_hashes, verify_block_signature,
};
use sfcbc_devnet::orderer::{BatchSize, BlockArchive, Orderer, OrdererConfig};
use sfcbc_fabric::msp::Identity;
use sfcbc_fabric::protos::common::{BlockMetadataIndex, Envelope, SignatureHeader};
use sfcbc_fabric::signer::{PrivateKey, Signer};

fn orderer_signer() -> Signer {
    let ck = rcgen::generate_simple_self_signed(vec!["orderer.example.com".to_owned()])
        .expect("self-signed cert");
    let key = PrivateKey::from_pem(ck.signing_key.serialize_pem().as_bytes()).expect("key");
    let identity = Identity::from_pem("OrdererMSP", ck.cert.pem().as_bytes()).expect("identity");
    Signer::new(identity, key).expect("signer")
}

#[tokio::test]
async fn blocks_carry_a_verifiable_msp_signature() {
    let signer = Arc::new(orderer_signer());
    let archive = BlockArchive::in_memory();
    let mut genesis = new_block(0, Vec::new(), vec![b"config".to_vec()]);
    genesis_metadata(&mut genesis);
    archive.append(genesis).unwrap();
    let config = OrdererConfig {
        channel: "mychannel".into(),
        batch_size: BatchSize {
            max_message_count: 2,
            ..BatchSize::default()
        },
        batch_timeout: Duration::from_millis(30),
        queue_capacity: 16,
    };
    let orderer = Orderer::start(config, signer.clone(), archive).unwrap();
    let h = orderer.handle();
    let mut sub = h.subscribe(0);
    for i in 0..3u8 {
        let env = Envelope {
            payload: vec![i; 100],
            signature: vec![0xee; 70],
        };
        h.broadcast(env).await.unwrap();
    }
    let mut prev = None;
    let mut blocks = Vec::new();
    for _ in 0..3 {
        let b = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        verify_block_hashes(&b, prev.as_deref()).unwrap();
        prev = Some(block_hash(&b).to_vec());
        blocks.push(b);
    }
    orderer.shutdown().await.unwrap();

    for b in &blocks[1..] {
        verify_block_signature(b, |creator, msg, sig| {
            let id = Identity::from_serialized(creator).expect("creator is a SerializedIdentity");
            assert_eq!(id.msp_id(), "OrdererMSP");
            id.public_key().unwrap().verify(msg, sig).is_ok()
        })
        .unwrap();
        // The signed message, rebuilt from the parts: value ‖ signature_header ‖ header DER.
        let md = metadata(b, BlockMetadataIndex::Signatures).unwrap();
        let sig = &md.signatures[0];
        let sh = SignatureHeader::decode(sig.signature_header.as_slice()).unwrap();
        assert_eq!(sh.nonce.len(), 24);
        assert_eq!(sh.creator, signer.serialize());
        let msg = signed_bytes(
            &md.value,
            &sig.signature_header,
            &header_fields(b).der_bytes(),
        );
        signer
            .identity()
            .public_key()
            .unwrap()
            .verify(&msg, &sig.signature)
            .unwrap();
    }
    assert_eq!(blocks[1].data.as_ref().unwrap().data.len(), 2);
    assert_eq!(blocks[2].data.as_ref().unwrap().data.len(), 1);
}
