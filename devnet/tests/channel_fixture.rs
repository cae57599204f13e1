//! Config blocks made by real Fabric 2.5.16 `configtxgen` (committed in
//! `tests/fixtures/channel/`, written by `channel_real_fabric.rs`'s `regenerate_fixture`):
//! our parser reads them, its policies decide as Fabric's would for the orgs' real
//! certificates, and our encoder rebuilds the same config tree from what it read. Needs no
//! Fabric binaries.

use std::path::PathBuf;
use std::time::Duration;

use prost::Message as _;
use sfcbc_devnet::channel::{
    AnchorPeer, ChannelConfig, ChannelProfile, Consensus, OrgProfile, SignedData,
};
use sfcbc_fabric::msp::{Identity, ValidatedIdentity, ValidityTime};
use sfcbc_fabric::protos::common::Block;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/channel")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn config(name: &str) -> ChannelConfig {
    ChannelConfig::from_block(&Block::decode(fixture(name).as_slice()).unwrap()).unwrap()
}

fn who(cfg: &ChannelConfig, msp_id: &str, file: &str) -> ValidatedIdentity {
    let id = Identity::from_pem(msp_id, &fixture(file)).unwrap();
    cfg.msps()
        .validate_serialized(&id.serialize(), ValidityTime::AsFabric)
        .unwrap()
}

#[test]
fn parses_configtxgen_block() {
    let cfg = config("configtxgen_solo.block");
    assert_eq!(cfg.channel_id, "mychannel");
    assert_eq!(cfg.sequence, 0);
    assert_eq!(cfg.hashing_algorithm, "SHA256");
    assert_eq!(cfg.orderer.consensus_type, "solo");
    assert!(cfg.orderer.etcdraft.is_none());
    assert_eq!(cfg.orderer.batch_size.max_message_count, 500);
    assert_eq!(cfg.orderer.batch_size.absolute_max_bytes, 99 * 1024 * 1024);
    assert_eq!(cfg.orderer.batch_size.preferred_max_bytes, 512 * 1024);
    assert_eq!(cfg.orderer.batch_timeout, Duration::from_millis(250));
    let oc = cfg.orderer_config();
    assert_eq!(
        (oc.channel.as_str(), oc.batch_timeout),
        ("mychannel", Duration::from_millis(250))
    );
    assert_eq!(cfg.orderer_addresses, ["orderer.example.com:7050"]);
    let caps = |s: &std::collections::BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>();
    assert_eq!(caps(&cfg.capabilities.channel), ["V2_0"]);
    assert_eq!(caps(&cfg.capabilities.orderer), ["V2_0"]);
    assert_eq!(caps(&cfg.capabilities.application), ["V2_5"]);
    assert_eq!(
        cfg.application_org_names(),
        [
            ("Org1MSP".to_owned(), "Org1MSP".to_owned()),
            ("Org2MSP".to_owned(), "Org2MSP".to_owned())
        ]
    );
    let org2 = cfg.application_org("Org2MSP").unwrap();
    assert_eq!(
        org2.anchor_peers,
        [AnchorPeer {
            host: "peer0.org2.example.com".into(),
            port: 9051
        }]
    );
    assert!(org2.msp.node_ous.as_ref().unwrap().enable);
    assert_eq!(cfg.orderer_orgs.len(), 1);
    assert_eq!(cfg.orderer_orgs[0].endpoints, ["orderer.example.com:7050"]);
    assert_eq!(
        cfg.msps().msp_ids().collect::<Vec<_>>(),
        ["OrdererMSP", "Org1MSP", "Org2MSP"]
    );
    let paths: Vec<&str> = cfg.policy_paths().collect();
    assert_eq!(
        paths,
        [
            "/Channel/Admins",
            "/Channel/Application/Admins",
            "/Channel/Application/Endorsement",
            "/Channel/Application/LifecycleEndorsement",
            "/Channel/Application/Org1MSP/Admins",
            "/Channel/Application/Org1MSP/Endorsement",
            "/Channel/Application/Org1MSP/Readers",
            "/Channel/Application/Org1MSP/Writers",
            "/Channel/Application/Org2MSP/Admins",
            "/Channel/Application/Org2MSP/Endorsement",
            "/Channel/Application/Org2MSP/Readers",
            "/Channel/Application/Org2MSP/Writers",
            "/Channel/Application/Readers",
            "/Channel/Application/Writers",
            "/Channel/Orderer/Admins",
            "/Channel/Orderer/BlockValidation",
            "/Channel/Orderer/OrdererMSP/Admins",
            "/Channel/Orderer/OrdererMSP/Readers",
            "/Channel/Orderer/OrdererMSP/Writers",
            "/Channel/Orderer/Readers",
            "/Channel/Orderer/Writers",
            "/Channel/Readers",
            "/Channel/Writers",
        ]
    );
}

#[test]
fn policies_decide_as_fabric() {
    let cfg = config("configtxgen_solo.block");
    let peer1 = who(&cfg, "Org1MSP", "org1_peer0.pem");
    let peer2 = who(&cfg, "Org2MSP", "org2_peer0.pem");
    let admin1 = who(&cfg, "Org1MSP", "org1_admin.pem");
    let admin2 = who(&cfg, "Org2MSP", "org2_admin.pem");
    let user1 = who(&cfg, "Org1MSP", "org1_user1.pem");
    let orderer = who(&cfg, "OrdererMSP", "orderer.pem");
    let ok = |path: &str, s: &[ValidatedIdentity]| cfg.evaluate(path, s).is_ok();

    // Writers: ANY org's Writers (admin or client), not a peer.
    assert!(ok(
        "/Channel/Application/Writers",
        std::slice::from_ref(&user1)
    ));
    assert!(!ok(
        "/Channel/Application/Writers",
        std::slice::from_ref(&peer1)
    ));
    // Readers: peers too.
    assert!(ok(
        "/Channel/Application/Readers",
        std::slice::from_ref(&peer2)
    ));
    // Endorsement: MAJORITY of two orgs' peers = both.
    assert!(!ok(
        "/Channel/Application/Endorsement",
        std::slice::from_ref(&peer1)
    ));
    assert!(ok(
        "/Channel/Application/Endorsement",
        &[peer1.clone(), peer2.clone()]
    ));
    let err = cfg
        .evaluate(
            "/Channel/Application/LifecycleEndorsement",
            std::slice::from_ref(&peer2),
        )
        .unwrap_err();
    assert!(
        err.contains("1 sub-policies were satisfied, but this policy requires 2"),
        "{err}"
    );
    // An org's own Endorsement: its peer only.
    assert!(ok(
        "/Channel/Application/Org1MSP/Endorsement",
        std::slice::from_ref(&peer1)
    ));
    assert!(!ok(
        "/Channel/Application/Org1MSP/Endorsement",
        std::slice::from_ref(&peer2)
    ));
    assert!(!ok(
        "/Channel/Application/Org1MSP/Endorsement",
        std::slice::from_ref(&admin1)
    ));
    // Admins: MAJORITY of app orgs' admins.
    assert!(!ok(
        "/Channel/Application/Admins",
        std::slice::from_ref(&admin1)
    ));
    assert!(ok(
        "/Channel/Application/Admins",
        &[admin1.clone(), admin2.clone()]
    ));
    // Channel level: ANY of (Application, Orderer) Readers/Writers.
    assert!(ok("/Channel/Readers", std::slice::from_ref(&orderer)));
    assert!(ok("/Channel/Writers", std::slice::from_ref(&user1)));
    // The orderer signs blocks: BlockValidation = ANY Orderer Writers (OrdererMSP.member).
    assert!(ok(
        "/Channel/Orderer/BlockValidation",
        std::slice::from_ref(&orderer)
    ));
    assert!(!ok(
        "/Channel/Orderer/BlockValidation",
        std::slice::from_ref(&admin1)
    ));
    // Channel Admins: MAJORITY of (Application Admins, Orderer Admins).
    let orderer_admin = who(&cfg, "OrdererMSP", "orderer_admin.pem");
    assert!(!ok("/Channel/Admins", &[admin1.clone(), admin2.clone()]));
    assert!(ok("/Channel/Admins", &[admin1, admin2, orderer_admin]));
    assert!(cfg.evaluate("/Channel/Nope", &[]).is_err());
    assert!(!cfg.has_policy("/Channel/Nope"));
}

#[test]
fn signed_data_with_bad_signatures_or_strangers_does_not_count() {
    let cfg = config("configtxgen_solo.block");
    let id = Identity::from_pem("Org1MSP", &fixture("org1_user1.pem")).unwrap();
    // No key in the fixture: a signature that does not verify is dropped, as Fabric drops it.
    let sd = SignedData {
        data: b"msg".to_vec(),
        identity: id.serialize(),
        signature: vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
    };
    assert!(
        cfg.evaluate_signed_data("/Channel/Application/Writers", &[sd])
            .is_err()
    );
    // An identity of an MSP not in the channel.
    let stranger = Identity::from_pem("Org9MSP", &fixture("org1_user1.pem")).unwrap();
    let sd = SignedData {
        data: b"msg".to_vec(),
        identity: stranger.serialize(),
        signature: Vec::new(),
    };
    assert!(
        cfg.evaluate_signed_data("/Channel/Application/Writers", &[sd])
            .is_err()
    );
}

#[test]
fn etcdraft_metadata_is_read() {
    let cfg = config("configtxgen_etcdraft.block");
    assert_eq!(cfg.orderer.consensus_type, "etcdraft");
    let raft = cfg.orderer.etcdraft.as_ref().unwrap();
    assert_eq!(raft.consenters.len(), 1);
    assert_eq!(raft.consenters[0].host, "orderer.example.com");
    assert_eq!(raft.consenters[0].port, 7050);
    assert!(
        raft.consenters[0]
            .server_tls_cert
            .starts_with(b"-----BEGIN CERTIFICATE-----")
    );
    let options = raft.options.as_ref().unwrap();
    assert_eq!(options.tick_interval, "500ms");
    assert_eq!(options.snapshot_interval_size, 16 * 1024 * 1024);
}

/// What we read, re-encoded by our encoder, is configtxgen's config tree value for value.
#[test]
fn our_encoder_rebuilds_configtxgen_tree() {
    for (file, raft) in [
        ("configtxgen_solo.block", false),
        ("configtxgen_etcdraft.block", true),
    ] {
        let cfg = config(file);
        let orderer_orgs = cfg
            .orderer_orgs
            .iter()
            .map(|o| OrgProfile::orderer(o.msp.clone(), o.endpoints.clone()))
            .collect();
        let apps = cfg
            .application_orgs
            .iter()
            .map(|o| {
                let mut p = OrgProfile::application(o.msp.clone());
                p.anchor_peers = o.anchor_peers.clone();
                p
            })
            .collect();
        let mut profile = ChannelProfile::new("mychannel", orderer_orgs, apps);
        profile.batch_size = cfg.orderer.batch_size;
        profile.batch_timeout = cfg.orderer.batch_timeout;
        if raft {
            profile.consensus = Consensus::EtcdRaft(cfg.orderer.etcdraft.clone().unwrap());
        }
        let ours = profile.channel_group().unwrap();
        assert_eq!(&ours, cfg.config.channel_group.as_ref().unwrap(), "{file}");

        // And our block 0 for it reads back to the same bundle.
        let block = profile.genesis_block().unwrap();
        let back = ChannelConfig::from_block(&block).unwrap();
        assert_eq!(back.config, cfg.config);
    }
}
