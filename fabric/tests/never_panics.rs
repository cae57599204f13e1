//! Property tests: no parser of this crate panics, whatever bytes or text arrive.
//!
//! Random bytes mostly fail at the first decode, so each parser also gets valid messages with
//! random mutations (flipped, truncated, spliced bytes) to reach its deeper checks.

use std::path::PathBuf;

use proptest::prelude::*;
use prost::Message as _;
use sfcbc_fabric::msp::{Identity, MspDir, MspManager, ValidityTime, pem};
use sfcbc_fabric::policy::{CompiledPolicy, RoleHolder, from_string, parse_implicit_meta};
use sfcbc_fabric::protos::common::Envelope;
use sfcbc_fabric::signer::{PrivateKey, PublicKey};
use sfcbc_fabric::tx::{
    assemble_transaction, parse_envelope, parse_envelope_bytes, unpack_proposal,
    unpack_proposal_bytes, validate_transaction,
};

fn crypto(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crypto/peerOrganizations/org1.example.com")
        .join(rel)
}

fn vector(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tx/vectors.txt"),
    )
    .unwrap();
    let line = text
        .lines()
        .find(|l| l.split(' ').next() == Some(name))
        .unwrap();
    hex::decode(line.split(' ').nth(1).unwrap()).unwrap()
}

fn msps() -> MspManager {
    [MspDir::load(crypto("msp"))
        .unwrap()
        .verifier("Org1MSP")
        .unwrap()]
    .into_iter()
    .collect()
}

fn user_cert_der() -> Vec<u8> {
    let id = MspDir::load(crypto("users/User1@org1.example.com/msp"))
        .unwrap()
        .identity("Org1MSP")
        .unwrap();
    id.cert_der().to_vec()
}

/// A valid message with a random edit.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (
        0..4u8,
        0..len.max(1),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(move |(kind, at, byte, splice)| {
            let mut b = base.clone();
            let at = at.min(b.len().saturating_sub(1));
            match kind {
                0 => {
                    if let Some(x) = b.get_mut(at) {
                        *x ^= byte | 1;
                    }
                }
                1 => b.truncate(at),
                2 => {
                    b.splice(at..at, splice);
                }
                _ => {
                    if let Some(x) = b.get_mut(at) {
                        *x = byte;
                    }
                }
            }
            b
        })
}

fn bytes_or_mutation(name: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mutated(vector(name)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn proposal_parsers(bytes in bytes_or_mutation("signed_proposal")) {
        if let Ok(up) = unpack_proposal_bytes(&bytes) {
            let _ = up.validate(&msps(), ValidityTime::AsFabric);
            let _ = assemble_transaction(&up.signed, &[]);
        }
        if let Ok(sp) = sfcbc_fabric::protos::protos::SignedProposal::decode(bytes.as_slice()) {
            let _ = unpack_proposal(&sp);
        }
    }

    #[test]
    fn response_assembly(bytes in bytes_or_mutation("proposal_response")) {
        let sp = sfcbc_fabric::protos::protos::SignedProposal::decode(
            vector("signed_proposal").as_slice(),
        ).unwrap();
        if let Ok(pr) = sfcbc_fabric::protos::protos::ProposalResponse::decode(bytes.as_slice()) {
            let _ = assemble_transaction(&sp, &[pr]);
        }
    }

    #[test]
    fn envelope_parsers(bytes in bytes_or_mutation("envelope")) {
        let msps = msps();
        if let Ok(parsed) = parse_envelope_bytes(&bytes) {
            let _ = parsed.event();
            let _ = parsed.endorsers(&msps, ValidityTime::AsFabric);
        }
        if let Ok(env) = Envelope::decode(bytes.as_slice()) {
            let _ = parse_envelope(&env);
            let _ = validate_transaction(&env, &msps, ValidityTime::AsFabric);
            let _ = sfcbc_fabric::tx::check_signed_envelope(&env, None, &msps, ValidityTime::AsFabric);
        }
    }

    #[test]
    fn envelope_payload_mutations(payload in mutated(vector("envelope_payload"))) {
        // The payload mutated but re-wrapped, so the decoders behind the envelope see it.
        let env = Envelope { payload, signature: vec![1, 2, 3] };
        let _ = parse_envelope(&env);
        let _ = validate_transaction(&env, &msps(), ValidityTime::AsFabric);
    }

    #[test]
    fn seek_envelope_mutations(bytes in bytes_or_mutation("seek_envelope")) {
        if let Ok(env) = Envelope::decode(bytes.as_slice()) {
            let _ = sfcbc_fabric::tx::check_signed_envelope(&env, None, &msps(), ValidityTime::AsFabric);
        }
    }

    #[test]
    fn identity_parsers(bytes in bytes_or_mutation("creator")) {
        let _ = Identity::from_serialized(&bytes);
        let _ = msps().validate_serialized(&bytes, ValidityTime::AsFabric);
        let _ = Identity::from_pem("M", &bytes);
        let _ = Identity::from_der("M", bytes.clone());
        let _ = pem::decode_all(&bytes);
    }

    #[test]
    fn certificate_mutations(der in mutated(user_cert_der())) {
        // A well-formed SerializedIdentity and PEM around a damaged certificate, so the
        // X.509 parser, chain building and OU checks see it.
        let sid = sfcbc_fabric::protos::msp::SerializedIdentity {
            mspid: "Org1MSP".into(),
            id_bytes: pem::encode("CERTIFICATE", &der).into_bytes(),
        };
        let _ = msps().validate_serialized(&sid.encode_to_vec(), ValidityTime::AsFabric);
        let _ = msps().validate_serialized(&sid.encode_to_vec(), ValidityTime::At(i64::MAX));
        if let Ok(id) = Identity::from_der("Org1MSP", der) {
            let _ = id.public_key();
        }
    }

    #[test]
    fn key_and_signature_parsers(bytes in prop::collection::vec(any::<u8>(), 0..256), text in ".{0,300}") {
        let _ = PrivateKey::from_pem(&bytes);
        let _ = PrivateKey::from_pem(text.as_bytes());
        let _ = PrivateKey::from_pkcs8_der(&bytes);
        let _ = PublicKey::from_spki_der(&bytes);
        let _ = sfcbc_fabric::signer::ecdsa_low_s(&bytes);
        for key in [PrivateKey::generate_p256(), PrivateKey::generate_ed25519()] {
            let _ = key.public_key().verify(b"msg", &bytes);
        }
    }

    #[test]
    fn policy_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(p) = CompiledPolicy::from_bytes(&bytes) {
            let _ = p.evaluate(&[RoleHolder::new("A", &[])]);
        }
    }

    #[test]
    fn policy_strings(s in ".{0,200}") {
        let _ = from_string(&s);
        let _ = parse_implicit_meta(&s);
    }

    #[test]
    fn policy_like_strings(s in r#"[ A-Za-z0-9(),.'"`\\+\-]{0,120}"#) {
        if let Ok(env) = from_string(&s) {
            // Whatever parses, compiles and evaluates.
            let p = CompiledPolicy::new(&env).unwrap();
            let _ = p.evaluate(&[RoleHolder::new("A", &[]), RoleHolder::new("B", &[])]);
        }
    }

    #[test]
    fn policy_token_soup(tokens in prop::collection::vec(
        prop::sample::select(vec![
            "AND(", "OR(", "OutOf(", "outof(", "And(", "Or(", ")", ",", " ", "'A.member'",
            "'B.peer'", "'C.admin'", "\"D.client\"", "1", "2", "-1", "0", "1.5", "'1'", "ID",
            "true", "nil", "'", "\\'", "`E.orderer`", "(", "'outof(1, \\'A.member\\')'",
        ]),
        0..40,
    )) {
        let s: String = tokens.concat();
        if let Ok(env) = from_string(&s) {
            let p = CompiledPolicy::new(&env).unwrap();
            let _ = p.evaluate(&[RoleHolder::new("A", &[]), RoleHolder::new("B", &[])]);
        }
    }
}
