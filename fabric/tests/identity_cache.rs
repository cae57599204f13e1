//! Identities in `tx`'s checks: the MSP manager's cache gives the same answers as a fresh
//! validation, keeps only what it may keep and forgets it when the MSPs change; a wrapper's
//! own signature check ([`IdentityValidator`]) is the one the transaction checks use.
//!
//! Uses the Fabric-derived transaction of `fixtures/tx/vectors.txt` (see tests/tx.rs).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use prost::Message as _;
use sfcbc_fabric::error::{CryptoError, MspError};
use sfcbc_fabric::msp::cache::IdentityCache;
use sfcbc_fabric::msp::{
    IdentityValidator, MspConfig, MspManager, MspVerifier, NodeOusConfig, OuIdentifierConfig,
    ValidatedIdentity, ValidityTime,
};
use sfcbc_fabric::protos::common::Envelope;
use sfcbc_fabric::protos::protos::TxValidationCode;
use sfcbc_fabric::tx::validate_transaction;

mod tx_fixtures;
use tx_fixtures::{fixture, vectors};

fn msps() -> MspManager {
    let any = |ou: &str| {
        Some(OuIdentifierConfig {
            certificate: Vec::new(),
            organizational_unit_identifier: ou.into(),
        })
    };
    let config = MspConfig {
        msp_id: "Org1MSP".into(),
        root_certs: vec![fixture("ca-cert.pem")],
        node_ous: Some(NodeOusConfig {
            enable: true,
            client: any("client"),
            peer: any("peer"),
            admin: any("admin"),
            orderer: any("orderer"),
        }),
        ..Default::default()
    };
    [MspVerifier::new(&config).unwrap()].into_iter().collect()
}

fn envelope() -> Envelope {
    Envelope::decode(vectors()["envelope"].as_slice()).unwrap()
}

#[test]
fn cached_validations_answer_as_fresh_ones() {
    let msps = msps();
    let env = envelope();
    assert!(msps.cache().is_empty());

    let first = validate_transaction(&env, &msps, ValidityTime::AsFabric).unwrap();
    let first_endorsers = first.endorsers(&msps, ValidityTime::AsFabric);
    // The creator (client) and the endorser (peer), once each.
    assert_eq!(msps.cache().len(), 2);
    for round in 0..3 {
        let again = validate_transaction(&env, &msps, ValidityTime::AsFabric).unwrap();
        assert_eq!(again, first, "round {round}");
        let endorsers = again.endorsers(&msps, ValidityTime::AsFabric);
        assert_eq!(endorsers.len(), 1);
        assert_eq!(endorsers[0].identity, first_endorsers[0].identity);
        assert_eq!(endorsers[0].roles, first_endorsers[0].roles);
        assert_eq!(endorsers[0].certifier, first_endorsers[0].certifier);
        assert_eq!(msps.cache().len(), 2, "round {round}");
    }
    let creator = &vectors()["creator"];
    let cached = msps
        .validate_serialized(creator, ValidityTime::AsFabric)
        .unwrap();
    let fresh = msps
        .validate_serialized_uncached(creator, ValidityTime::AsFabric)
        .unwrap();
    assert_eq!(cached.identity, fresh.identity);
    assert_eq!(cached.public_key, fresh.public_key);
    assert_eq!(cached.ous, fresh.ous);
    assert_eq!(cached.roles, fresh.roles);
}

#[test]
fn only_clock_independent_successes_are_kept() {
    let msps = msps();
    let creator = vectors()["creator"].clone();

    let err = msps
        .validate_serialized(b"\x0a\x07Org1MSP\x12\x03xyz", ValidityTime::AsFabric)
        .unwrap_err();
    assert!(matches!(err, MspError::Certificate { .. }), "{err}");
    assert!(msps.cache().is_empty());

    // A validity check at a given time depends on that time: never kept...
    msps.validate_serialized(&creator, ValidityTime::At(1_700_000_000))
        .unwrap();
    assert!(msps.cache().is_empty());
    // ...and never answered from the cache: the CA is not valid in 1990.
    msps.validate_serialized(&creator, ValidityTime::AsFabric)
        .unwrap();
    assert_eq!(msps.cache().len(), 1);
    let err = msps
        .validate_serialized(&creator, ValidityTime::At(631_152_000))
        .unwrap_err();
    assert!(matches!(err, MspError::Invalid { .. }), "{err}");
}

#[test]
fn changing_the_msps_forgets_what_they_validated() {
    let mut msps = msps();
    let creator = vectors()["creator"].clone();
    msps.validate_serialized(&creator, ValidityTime::AsFabric)
        .unwrap();
    assert_eq!(msps.cache().len(), 1);

    // Org1MSP replaced by one that requires an OU the client does not carry: the client no
    // longer validates, and the cached success must not say otherwise.
    let other_root = MspConfig {
        msp_id: "Org1MSP".into(),
        root_certs: vec![fixture("ca-cert.pem")],
        organizational_unit_identifiers: vec![OuIdentifierConfig {
            certificate: Vec::new(),
            organizational_unit_identifier: "no-such-ou".into(),
        }],
        ..Default::default()
    };
    msps.insert(MspVerifier::new(&other_root).unwrap());
    assert!(msps.cache().is_empty());
    let err = msps
        .validate_serialized(&creator, ValidityTime::AsFabric)
        .unwrap_err();
    assert!(matches!(err, MspError::Invalid { .. }), "{err}");
    let refused = validate_transaction(&envelope(), &msps, ValidityTime::AsFabric).unwrap_err();
    assert_eq!(refused.code, TxValidationCode::BadCreatorSignature);
}

#[test]
fn the_cache_is_bounded() {
    let v = vectors();
    let msps = msps();
    let cache = IdentityCache::with_capacity(1);
    let client = msps
        .validate_serialized(&v["creator"], ValidityTime::AsFabric)
        .unwrap();
    cache.insert(&v["creator"], client.clone());
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.get(&v["creator"]).unwrap().identity, client.identity);
    let peer = &first_endorser(&v);
    let peer_id = msps
        .validate_serialized(peer, ValidityTime::AsFabric)
        .unwrap();
    cache.insert(peer, peer_id);
    assert_eq!(cache.len(), 1);
    assert!(cache.get(&v["creator"]).is_none());
    assert!(cache.get(peer).is_some());
    cache.clear();
    assert!(cache.is_empty());
}

fn first_endorser(v: &HashMap<String, Vec<u8>>) -> Vec<u8> {
    let env = Envelope::decode(v["envelope"].as_slice()).unwrap();
    let parsed = sfcbc_fabric::tx::parse_envelope(&env).unwrap();
    parsed.endorsements[0].endorser.clone()
}

/// The channel's MSPs with a signature check of our choosing, counting its calls.
struct Counting<'a> {
    msps: &'a MspManager,
    accept: bool,
    verifies: AtomicUsize,
}

impl IdentityValidator for Counting<'_> {
    fn validate_serialized(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        self.msps.validate_serialized(serialized, when)
    }

    fn verify(&self, id: &ValidatedIdentity, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        if self.accept {
            id.verify(msg, sig)
        } else {
            Err(CryptoError::BadSignature)
        }
    }
}

#[test]
fn the_validators_signature_check_is_the_one_used() {
    let msps = msps();
    let env = envelope();
    let refusing = Counting {
        msps: &msps,
        accept: false,
        verifies: AtomicUsize::new(0),
    };
    let err = validate_transaction(&env, &refusing, ValidityTime::AsFabric).unwrap_err();
    assert_eq!(err.code, TxValidationCode::BadCreatorSignature);
    assert_eq!(refusing.verifies.load(Ordering::SeqCst), 1);

    let parsed = validate_transaction(&env, &msps, ValidityTime::AsFabric).unwrap();
    assert!(
        parsed
            .endorsers(&refusing, ValidityTime::AsFabric)
            .is_empty()
    );
}

#[test]
fn a_repeated_endorser_is_counted_once_and_verified_once() {
    let msps = msps();
    let env = envelope();
    let mut parsed = validate_transaction(&env, &msps, ValidityTime::AsFabric).unwrap();
    let first = parsed.endorsements[0].clone();
    parsed.endorsements.push(first.clone());
    parsed.endorsements.push(first);
    let counting = Counting {
        msps: &msps,
        accept: true,
        verifies: AtomicUsize::new(0),
    };
    assert_eq!(parsed.endorsers(&counting, ValidityTime::AsFabric).len(), 1);
    assert_eq!(counting.verifies.load(Ordering::SeqCst), 1);

    // A bad signature first, then the good one from the same endorser: the good one counts.
    let mut bad = parsed.endorsements[0].clone();
    *bad.signature.last_mut().unwrap() ^= 1;
    parsed.endorsements.insert(0, bad);
    assert_eq!(parsed.endorsers(&msps, ValidityTime::AsFabric).len(), 1);
}
