//! The identity hook of `tx`'s checks: the MSP cache in front of a channel's MSPs gives the
//! same answers as the MSPs themselves, keeps only what it may keep, and a validator's own
//! signature check is the one the transaction checks use.
//!
//! Uses the Fabric-derived transaction of `fixtures/tx/vectors.txt` (see tests/tx.rs).

use std::collections::HashMap;
use std::path::PathBuf;
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

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tx")
            .join(name),
    )
    .unwrap()
}

fn vectors() -> HashMap<String, Vec<u8>> {
    String::from_utf8(fixture("vectors.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), hex::decode(v).unwrap())
        })
        .collect()
}

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
fn cached_checks_answer_as_the_msps_do() {
    let msps = msps();
    let cache = IdentityCache::new();
    let cached = cache.validator(&msps);
    let env = envelope();

    let direct = validate_transaction(&env, &msps, ValidityTime::AsFabric).unwrap();
    for round in 0..3 {
        let via_cache = validate_transaction(&env, &cached, ValidityTime::AsFabric).unwrap();
        assert_eq!(via_cache, direct, "round {round}");
        let endorsers = via_cache.endorsers(&cached, ValidityTime::AsFabric);
        let expected = direct.endorsers(&msps, ValidityTime::AsFabric);
        assert_eq!(endorsers.len(), 1);
        assert_eq!(endorsers[0].identity, expected[0].identity);
        assert_eq!(endorsers[0].roles, expected[0].roles);
        // The creator (client) and the endorser (peer), once each.
        assert_eq!(cache.len(), 2, "round {round}");
    }
}

#[test]
fn only_clock_independent_successes_are_kept() {
    let msps = msps();
    let cache = IdentityCache::new();
    let v = vectors();

    let err = cache
        .validate(&msps, b"\x0a\x07Org1MSP\x12\x03xyz", ValidityTime::AsFabric)
        .unwrap_err();
    assert!(matches!(err, MspError::Certificate { .. }), "{err}");
    assert!(cache.is_empty());

    // A validity check at a given time depends on that time: never kept.
    let creator = &v["creator"];
    cache
        .validate(&msps, creator, ValidityTime::At(1_700_000_000))
        .unwrap();
    assert!(cache.is_empty());
    cache
        .validate(&msps, creator, ValidityTime::AsFabric)
        .unwrap();
    assert_eq!(cache.len(), 1);
}

#[test]
fn another_msp_manager_is_not_answered_from_the_cache() {
    let org1 = msps();
    let cache = IdentityCache::new();
    let creator = vectors()["creator"].clone();
    cache
        .validate(&org1, &creator, ValidityTime::AsFabric)
        .unwrap();

    // A channel configuration without Org1MSP: the cached success must not leak into it.
    let empty = MspManager::new();
    let err = cache
        .validate(&empty, &creator, ValidityTime::AsFabric)
        .unwrap_err();
    assert!(
        matches!(err, MspError::UnknownMsp(ref m) if m == "Org1MSP"),
        "{err}"
    );
    let env = envelope();
    let refused =
        validate_transaction(&env, &cache.validator(&empty), ValidityTime::AsFabric).unwrap_err();
    assert_eq!(refused.code, TxValidationCode::BadCreatorSignature);
}

#[test]
fn capacity_bounds_what_is_kept() {
    let msps = msps();
    let cache = IdentityCache::with_capacity(1);
    let env = envelope();
    let cached = cache.validator(&msps);
    let parsed = validate_transaction(&env, &cached, ValidityTime::AsFabric).unwrap();
    assert_eq!(cache.len(), 1);
    assert_eq!(parsed.endorsers(&cached, ValidityTime::AsFabric).len(), 1);
    assert_eq!(cache.len(), 1);
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
