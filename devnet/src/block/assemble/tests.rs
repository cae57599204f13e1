use super::*;
use sha2::{Digest, Sha256};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test hex")
}

/// A signer whose "signature" is SHA-256 of the message, so expected bytes can be derived by
/// hand.
struct FakeSigner;

impl BlockSigner for FakeSigner {
    fn creator(&self) -> Vec<u8> {
        b"orderer-id".to_vec()
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        Sha256::digest(msg).to_vec()
    }
}

#[test]
fn new_block_encodes_as_fabric_by_hand() {
    let block = new_block(1, vec![0xaa, 0xbb], vec![b"x".to_vec()]);
    let dh = Sha256::digest(b"x");
    // header: 08 01 | 12 02 aabb | 1a 20 <32>  = 40 bytes
    let mut header = unhex("0801 1202aabb 1a20");
    header.extend_from_slice(&dh);
    assert_eq!(header.len(), 0x28);
    let mut want = unhex("0a28");
    want.extend_from_slice(&header);
    // data: 12 03 | 0a 01 78 ; metadata: 1a 0a | five empty slots 0a00
    want.extend_from_slice(&unhex("1203 0a0178 1a0a 0a00 0a00 0a00 0a00 0a00"));
    assert_eq!(block.encode_to_vec(), want);
    verify_block_hashes(&block, Some(&[0xaa, 0xbb])).unwrap();
}

#[test]
fn block_from_envelopes_marshals_each_envelope() {
    let env = Envelope {
        payload: b"p".to_vec(),
        signature: b"s".to_vec(),
    };
    let block = block_from_envelopes(7, vec![1; 32], std::slice::from_ref(&env));
    let data = &block.data.as_ref().unwrap().data;
    // Envelope{payload "p", signature "s"} = 0a 01 70 12 01 73
    assert_eq!(data, &vec![unhex("0a0170 120173")]);
    assert_eq!(
        block.header.as_ref().unwrap().data_hash,
        Sha256::digest(unhex("0a0170120173")).to_vec()
    );
}

#[test]
fn orderer_signature_metadata_by_hand() {
    let mut block = new_block(2, vec![0x11; 32], vec![b"tx".to_vec()]);
    sign_block_with_nonce(&mut block, 3, &FakeSigner, vec![7; 24]);

    // OrdererBlockMetadata{last_config{index 3}} = 0a 02 | 08 03
    let value = unhex("0a02 0803");
    // SignatureHeader{creator "orderer-id", nonce 07*24} = 0a 0a <10> 12 18 <24>  (38 bytes)
    let mut sig_header = unhex("0a0a");
    sig_header.extend_from_slice(b"orderer-id");
    sig_header.extend_from_slice(&unhex("1218"));
    sig_header.extend_from_slice(&[7; 24]);
    // Signed: value ‖ signature_header ‖ ASN.1 DER header.
    // 3 + 34 + 34 = 71 = 0x47
    let mut header_der = unhex("3047 020102 0420");
    header_der.extend_from_slice(&[0x11; 32]);
    header_der.extend_from_slice(&unhex("0420"));
    header_der.extend_from_slice(&Sha256::digest(b"tx"));
    let signed = [value.clone(), sig_header.clone(), header_der].concat();
    let signature = Sha256::digest(&signed).to_vec();

    // MetadataSignature = 0a 26 <38> 12 20 <32> (74 = 0x4a); Metadata = 0a 04 <value> 12 4a <74>
    let mut md_sig = unhex("0a26");
    md_sig.extend_from_slice(&sig_header);
    md_sig.extend_from_slice(&unhex("1220"));
    md_sig.extend_from_slice(&signature);
    let mut want = unhex("0a04");
    want.extend_from_slice(&value);
    want.extend_from_slice(&unhex("124a"));
    want.extend_from_slice(&md_sig);

    let slots = &block.metadata.as_ref().unwrap().metadata;
    assert_eq!(slots.len(), METADATA_SLOTS);
    assert_eq!(slots[0], want);
    // LAST_CONFIG: Metadata{value = LastConfig{index 3}} = 0a 02 | 08 03
    assert_eq!(slots[1], unhex("0a02 0803"));
    assert!(slots[2].is_empty() && slots[3].is_empty() && slots[4].is_empty());

    assert_eq!(last_config_index(&block).unwrap(), 3);
    let mut seen_creator = Vec::new();
    verify_block_signature(&block, |creator, msg, sig| {
        seen_creator = creator.to_vec();
        Sha256::digest(msg)[..] == *sig
    })
    .unwrap();
    assert_eq!(seen_creator, b"orderer-id");
}

#[test]
fn last_config_zero_encodes_as_go_does() {
    let mut block = new_block(1, vec![0; 32], vec![]);
    sign_block_with_nonce(&mut block, 0, &FakeSigner, vec![0; 24]);
    let slots = &block.metadata.as_ref().unwrap().metadata;
    // LastConfig{0} marshals to nothing, so Metadata{value: []} is empty too.
    assert!(slots[1].is_empty());
    // OrdererBlockMetadata{last_config: &LastConfig{}} keeps the (empty) message: 0a 00.
    let md = metadata(&block, BlockMetadataIndex::Signatures).unwrap();
    assert_eq!(md.value, unhex("0a00"));
}

#[test]
fn genesis_metadata_matches_configtxgen() {
    let mut block = new_block(0, Vec::new(), vec![b"config".to_vec()]);
    genesis_metadata(&mut block);
    let slots = &block.metadata.as_ref().unwrap().metadata;
    assert!(slots[1].is_empty());
    // Metadata{value = OrdererBlockMetadata{last_config{}}} = 0a 02 | 0a 00
    assert_eq!(slots[0], unhex("0a02 0a00"));
    assert_eq!(
        verify_block_signature(&block, |_, _, _| true),
        Err(BlockError::Unsigned { number: 0 })
    );
}

#[test]
fn tampering_breaks_signature_and_hashes() {
    let key = sfcbc_fabric::signer::PrivateKey::generate_p256();
    struct KeySigner(sfcbc_fabric::signer::PrivateKey);
    impl BlockSigner for KeySigner {
        fn creator(&self) -> Vec<u8> {
            b"orderer".to_vec()
        }
        fn sign(&self, msg: &[u8]) -> Vec<u8> {
            self.0.sign(msg)
        }
    }
    let public = key.public_key();
    let signer = KeySigner(key);
    let mut block = new_block(5, vec![9; 32], vec![b"a".to_vec(), b"b".to_vec()]);
    sign_block(&mut block, 0, &signer);
    let verify = |_: &[u8], msg: &[u8], sig: &[u8]| public.verify(msg, sig).is_ok();
    verify_block_signature(&block, verify).unwrap();

    let mut renumbered = block.clone();
    renumbered.header.as_mut().unwrap().number = 6;
    assert_eq!(
        verify_block_signature(&renumbered, verify),
        Err(BlockError::BadSignature { number: 6 })
    );

    let mut altered = block.clone();
    altered.data.as_mut().unwrap().data[1] = b"c".to_vec();
    assert!(matches!(
        verify_block_hashes(&altered, None),
        Err(BlockError::DataHash { number: 5, .. })
    ));
    assert!(matches!(
        verify_block_hashes(&block, Some(&[8; 32])),
        Err(BlockError::PreviousHash { number: 5, .. })
    ));
}

#[test]
fn transactions_filter_slot() {
    let mut block = new_block(1, vec![0; 32], vec![b"a".to_vec(), b"b".to_vec()]);
    assert!(transactions_filter(&block).is_empty());
    set_transactions_filter(&mut block, vec![0, 11]);
    assert_eq!(transactions_filter(&block), &[0, 11]);
    assert_eq!(block.metadata.as_ref().unwrap().metadata[2], vec![0, 11]);
    // A block from elsewhere with fewer slots grows to five.
    let mut short = Block {
        metadata: Some(BlockMetadata { metadata: vec![] }),
        ..block.clone()
    };
    set_transactions_filter(&mut short, vec![0]);
    assert_eq!(short.metadata.unwrap().metadata.len(), METADATA_SLOTS);
}
