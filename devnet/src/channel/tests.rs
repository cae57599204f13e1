use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use sfcbc_fabric::protos::common::{
    self as cb, Block, BlockMetadataIndex, ChannelHeader, ConfigEnvelope, Envelope, HeaderType,
    Payload, SignatureHeader,
};
use sfcbc_fabric::signer::Signer;

use super::*;
use crate::crypto::{KeyAlgorithm, OrgCrypto, OrgSpec, generate};

struct Orgs {
    _tmp: tempfile::TempDir,
    orderer: OrgCrypto,
    org1: OrgCrypto,
    org2: OrgCrypto,
}

fn orgs(alg: KeyAlgorithm) -> Orgs {
    let tmp = tempfile::tempdir().unwrap();
    let orderer = generate(tmp.path(), &OrgSpec::orderer_org(), alg).unwrap();
    let org1 = generate(tmp.path(), &OrgSpec::peer_org("Org1"), alg).unwrap();
    let org2 = generate(tmp.path(), &OrgSpec::peer_org("Org2"), alg).unwrap();
    Orgs {
        _tmp: tmp,
        orderer,
        org1,
        org2,
    }
}

fn profile(o: &Orgs) -> ChannelProfile {
    ChannelProfile::new(
        "mychannel",
        vec![OrgProfile::orderer(
            o.orderer.msp_config().unwrap(),
            vec!["orderer.example.com:7050".into()],
        )],
        vec![
            OrgProfile::application(o.org1.msp_config().unwrap())
                .with_anchor_peer("peer0.org1.example.com", 7051),
            OrgProfile::application(o.org2.msp_config().unwrap()),
        ],
    )
}

fn signed(signer: &Signer, data: &[u8]) -> SignedData {
    SignedData {
        data: data.to_vec(),
        identity: signer.serialize(),
        signature: signer.sign(data),
    }
}

fn config_payload(block: &Block) -> (ChannelHeader, SignatureHeader, Envelope, ConfigEnvelope) {
    let env = Envelope::decode(block.data.as_ref().unwrap().data[0].as_slice()).unwrap();
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let header = payload.header.unwrap();
    (
        ChannelHeader::decode(header.channel_header.as_slice()).unwrap(),
        SignatureHeader::decode(header.signature_header.as_slice()).unwrap(),
        env,
        ConfigEnvelope::decode(payload.data.as_slice()).unwrap(),
    )
}

#[test]
fn genesis_block_has_configtxgen_shape() {
    let o = orgs(KeyAlgorithm::EcdsaP256);
    let block = profile(&o).genesis_block().unwrap();
    let header = block.header.as_ref().unwrap();
    assert_eq!(header.number, 0);
    assert!(header.previous_hash.is_empty());
    crate::block::verify_block_hashes(&block, None).unwrap();
    assert_eq!(crate::block::last_config_index(&block).unwrap(), 0);
    assert_eq!(
        block.metadata.as_ref().unwrap().metadata.len(),
        crate::block::METADATA_SLOTS
    );
    let sigs = crate::block::metadata(&block, BlockMetadataIndex::Signatures).unwrap();
    assert!(sigs.signatures.is_empty());

    let (chdr, shdr, env, cenv) = config_payload(&block);
    assert_eq!(chdr.r#type, HeaderType::Config as i32);
    assert_eq!((chdr.version, chdr.epoch), (1, 0));
    assert_eq!(chdr.channel_id, "mychannel");
    assert_eq!(chdr.timestamp.unwrap().nanos, 0);
    assert!(shdr.creator.is_empty());
    assert_eq!(shdr.nonce.len(), 24);
    assert_eq!(
        chdr.tx_id,
        sfcbc_fabric::tx::compute_tx_id(&shdr.nonce, &[])
    );
    assert!(env.signature.is_empty());
    assert!(cenv.last_update.is_none());
    let config = cenv.config.unwrap();
    assert_eq!(config.sequence, 0);
    let channel = config.channel_group.unwrap();
    assert_eq!(channel.mod_policy, "Admins");
    assert_eq!(
        channel.values[keys::ORDERER_ADDRESSES].mod_policy,
        "/Channel/Orderer/Admins"
    );
    let org1 = &channel.groups["Application"].groups["Org1MSP"];
    assert!(org1.values.contains_key(keys::ANCHOR_PEERS));
    // configtxgen leaves out an empty AnchorPeers value.
    let org2 = &channel.groups["Application"].groups["Org2MSP"];
    assert!(!org2.values.contains_key(keys::ANCHOR_PEERS));
    let msp =
        sfcbc_fabric::protos::msp::MspConfig::decode(org1.values["MSP"].value.as_slice()).unwrap();
    assert_eq!(msp.r#type, 0);
    let fabric = sfcbc_fabric::protos::msp::FabricMspConfig::decode(msp.config.as_slice()).unwrap();
    assert_eq!(fabric.name, "Org1MSP");
    assert!(fabric.admins.is_empty());
    let crypto = fabric.crypto_config.unwrap();
    assert_eq!(
        (
            crypto.signature_hash_family.as_str(),
            crypto.identity_identifier_hash_function.as_str()
        ),
        ("SHA2", "SHA256")
    );
    let ous = fabric.fabric_node_ous.unwrap();
    assert!(ous.enable);
    assert_eq!(
        ous.admin_ou_identifier
            .unwrap()
            .organizational_unit_identifier,
        "admin"
    );
    assert_eq!(fabric.tls_root_certs.len(), 1);
}

#[test]
fn round_trip_and_signed_data_with_real_signers() {
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
        let o = orgs(alg);
        let mut p = profile(&o);
        p.batch_timeout = Duration::from_millis(50);
        p.batch_size.max_message_count = 500;
        let cfg = ChannelConfig::from_block(&p.genesis_block().unwrap()).unwrap();
        assert_eq!(cfg.orderer.consensus_type, "solo");
        assert_eq!(cfg.orderer.batch_timeout, Duration::from_millis(50));
        assert_eq!(cfg.orderer_config().batch_size.max_message_count, 500);
        assert_eq!(
            cfg.application_org("Org1MSP").unwrap().anchor_peers,
            [AnchorPeer {
                host: "peer0.org1.example.com".into(),
                port: 7051
            }]
        );

        let admin1 = o.org1.admin_signer().unwrap();
        let admin2 = o.org2.admin_signer().unwrap();
        let user1 = o.org1.user_signer("User1").unwrap();
        let msg = b"config update";
        let admins = "/Channel/Application/Admins";
        cfg.evaluate_signed_data(admins, &[signed(&admin1, msg), signed(&admin2, msg)])
            .unwrap();
        // One admin twice counts once; a client is no admin; a bad signature is dropped.
        assert!(
            cfg.evaluate_signed_data(admins, &[signed(&admin1, msg), signed(&admin1, msg)])
                .is_err()
        );
        assert!(
            cfg.evaluate_signed_data(admins, &[signed(&admin1, msg), signed(&user1, msg)])
                .is_err()
        );
        let mut forged = signed(&admin2, msg);
        forged.data = b"something else".to_vec();
        assert!(
            cfg.evaluate_signed_data(admins, &[signed(&admin1, msg), forged])
                .is_err()
        );
        cfg.evaluate_signed_data("/Channel/Writers", &[signed(&user1, msg)])
            .unwrap();
        let orderer = o.orderer.node_signer("orderer").unwrap();
        cfg.evaluate_signed_data("/Channel/Orderer/BlockValidation", &[signed(&orderer, msg)])
            .unwrap();
        assert!(
            cfg.evaluate_signed_data("/Channel/Orderer/BlockValidation", &[signed(&user1, msg)])
                .is_err()
        );
    }
}

#[test]
fn serves_as_the_validators_channel_policies() {
    use crate::validator::ChannelPolicies;
    let o = orgs(KeyAlgorithm::EcdsaP256);
    let cfg = ChannelConfig::from_block(&profile(&o).genesis_block().unwrap()).unwrap();
    let policies: Arc<dyn ChannelPolicies> = Arc::new(cfg);
    assert_eq!(
        policies.application_orgs(),
        [
            ("Org1MSP".to_owned(), "Org1MSP".to_owned()),
            ("Org2MSP".to_owned(), "Org2MSP".to_owned())
        ]
    );
    assert_eq!(
        policies.application_org_of("Org2MSP").as_deref(),
        Some("Org2MSP")
    );
    let peer = |org: &OrgCrypto| {
        let s = org.node_signer("peer0").unwrap();
        policies
            .msps()
            .validate_serialized(&s.serialize(), sfcbc_fabric::msp::ValidityTime::AsFabric)
            .unwrap()
    };
    let (p1, p2) = (peer(&o.org1), peer(&o.org2));
    let majority = sfcbc_fabric::policy::parse_implicit_meta("MAJORITY Endorsement").unwrap();
    assert!(
        policies
            .evaluate_application_meta(&majority, std::slice::from_ref(&p1))
            .is_err()
    );
    policies
        .evaluate_application_meta(&majority, &[p1.clone(), p2])
        .unwrap();
    policies
        .evaluate("/Channel/Application/Org1MSP/Endorsement", &[p1])
        .unwrap();
}

/// Rewrites the block's config and re-reads it.
fn reread(
    block: &Block,
    edit: impl FnOnce(&mut cb::ConfigGroup),
) -> Result<ChannelConfig, ChannelError> {
    let (chdr, _, _, cenv) = config_payload(block);
    let mut config = cenv.config.unwrap();
    edit(config.channel_group.as_mut().unwrap());
    ChannelConfig::from_config(&chdr.channel_id, config)
}

#[test]
fn refuses_what_fabric_refuses() {
    let o = orgs(KeyAlgorithm::EcdsaP256);
    let block = profile(&o).genesis_block().unwrap();
    let err = |r: Result<ChannelConfig, ChannelError>| r.unwrap_err().to_string();

    let e = err(reread(&block, |g| {
        g.groups.get_mut("Application").unwrap().values.insert(
            keys::CAPABILITIES.into(),
            cb::ConfigValue {
                value: cb::Capabilities {
                    capabilities: [("V9_9".to_owned(), cb::Capability {})].into(),
                }
                .encode_to_vec(),
                ..Default::default()
            },
        );
    }));
    assert!(e.contains("requires capability V9_9"), "{e}");

    let e = err(reread(&block, |g| {
        g.values.get_mut(keys::HASHING_ALGORITHM).unwrap().value = cb::HashingAlgorithm {
            name: "SHA3".into(),
        }
        .encode_to_vec();
    }));
    assert!(e.contains("unknown hashing algorithm"), "{e}");

    let e = err(reread(&block, |g| {
        let org = g
            .groups
            .get_mut("Application")
            .unwrap()
            .groups
            .get_mut("Org1MSP")
            .unwrap();
        let v = org.values.get_mut("MSP").unwrap();
        let mut m = sfcbc_fabric::protos::msp::MspConfig::decode(v.value.as_slice()).unwrap();
        m.r#type = 1;
        v.value = m.encode_to_vec();
    }));
    assert!(e.contains("MSP type 1 is not supported"), "{e}");

    let e = err(reread(&block, |g| {
        let orderer = g.groups.get_mut("Orderer").unwrap();
        orderer.values.get_mut(keys::BATCH_TIMEOUT).unwrap().value =
            sfcbc_fabric::protos::orderer::BatchTimeout {
                timeout: "soon".into(),
            }
            .encode_to_vec();
    }));
    assert!(e.contains("invalid duration"), "{e}");

    let e = err(reread(&block, |g| {
        g.groups.remove("Orderer");
    }));
    assert!(e.contains("no Orderer group"), "{e}");

    let e = err(reread(&block, |g| {
        g.policies
            .get_mut("Readers")
            .unwrap()
            .policy
            .as_mut()
            .unwrap()
            .r#type = 2;
    }));
    assert!(e.contains("unknown policy type: 2"), "{e}");

    // The same MSP ID with another CA in the orderer group.
    let e = err(reread(&block, |g| {
        let org1 = g.groups["Application"].groups["Org1MSP"].clone();
        let mut other = org1.clone();
        other.values.insert(
            "MSP".into(),
            g.groups["Orderer"].groups["OrdererMSP"].values["MSP"].clone(),
        );
        // Rename the orderer org's MSP to Org1MSP.
        let v = other.values.get_mut("MSP").unwrap();
        let mut m = sfcbc_fabric::protos::msp::MspConfig::decode(v.value.as_slice()).unwrap();
        let mut f =
            sfcbc_fabric::protos::msp::FabricMspConfig::decode(m.config.as_slice()).unwrap();
        f.name = "Org1MSP".into();
        m.config = f.encode_to_vec();
        v.value = m.encode_to_vec();
        g.groups
            .get_mut("Orderer")
            .unwrap()
            .groups
            .insert("Impostor".into(), other);
    }));
    assert!(e.contains("defined twice"), "{e}");

    // Not a config block.
    let mut tx_block = block.clone();
    let (mut chdr, shdr, _, cenv) = config_payload(&block);
    chdr.r#type = HeaderType::EndorserTransaction as i32;
    let payload = Payload {
        header: Some(cb::Header {
            channel_header: chdr.encode_to_vec(),
            signature_header: shdr.encode_to_vec(),
        }),
        data: cenv.encode_to_vec(),
    };
    tx_block.data.as_mut().unwrap().data[0] = Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
    .encode_to_vec();
    assert!(matches!(
        ChannelConfig::from_block(&tx_block),
        Err(ChannelError::NotConfig(_))
    ));
    let mut two = block.clone();
    let first = two.data.as_ref().unwrap().data[0].clone();
    two.data.as_mut().unwrap().data.push(first);
    assert!(matches!(
        ChannelConfig::from_block(&two),
        Err(ChannelError::NotConfig(_))
    ));
    let mut garbage = block;
    garbage.data.as_mut().unwrap().data[0] = vec![0xff; 7];
    assert!(matches!(
        ChannelConfig::from_block(&garbage),
        Err(ChannelError::Decode { .. })
    ));
}

#[test]
fn an_org_in_both_groups_is_one_msp() {
    // The manager runs the orderer and a peer: one MSP in both groups.
    let o = orgs(KeyAlgorithm::EcdsaP256);
    let manager = o.org1.msp_config().unwrap();
    let p = ChannelProfile::new(
        "mychannel",
        vec![OrgProfile::orderer(
            manager.clone(),
            vec!["127.0.0.1:7050".into()],
        )],
        vec![OrgProfile::application(manager)],
    );
    let cfg = ChannelConfig::from_block(&p.genesis_block().unwrap()).unwrap();
    assert_eq!(cfg.msps().msp_ids().collect::<Vec<_>>(), ["Org1MSP"]);
}

#[test]
fn refuses_bad_profiles() {
    let o = orgs(KeyAlgorithm::EcdsaP256);
    let mut p = profile(&o);
    p.channel_id = "MyChannel".into();
    assert!(matches!(
        p.genesis_block(),
        Err(ChannelError::ChannelId { .. })
    ));
    let mut p = profile(&o);
    p.orderer_policies.remove("BlockValidation");
    assert!(
        p.genesis_block()
            .unwrap_err()
            .to_string()
            .contains("BlockValidation")
    );
    let mut p = profile(&o);
    p.application_orgs[0].policies.remove("Admins");
    assert!(
        p.genesis_block()
            .unwrap_err()
            .to_string()
            .contains("no Admins policy")
    );
    let mut p = profile(&o);
    p.application_orgs[1].name = "Org1MSP".into();
    assert!(
        p.genesis_block()
            .unwrap_err()
            .to_string()
            .contains("used twice")
    );
    let mut p = profile(&o);
    p.application_policies
        .insert("Endorsement".into(), PolicySpec::Signature("OR(".into()));
    assert!(p.genesis_block().is_err());
    let mut p = profile(&o);
    p.orderer_orgs.clear();
    assert!(p.genesis_block().is_err());
    // Fabric 3.x channels: per-org orderer endpoints only, as configtxgen requires.
    let mut p = profile(&o);
    p.channel_capabilities = vec!["V3_0".into()];
    assert!(p.genesis_block().unwrap_err().to_string().contains("V3_0"));
    p.orderer_addresses.clear();
    let cfg = ChannelConfig::from_block(&p.genesis_block().unwrap()).unwrap();
    assert!(cfg.capabilities.channel.contains("V3_0"));
    assert!(cfg.orderer_addresses.is_empty());
    p.orderer_orgs[0].orderer_endpoints.clear();
    assert!(
        p.genesis_block()
            .unwrap_err()
            .to_string()
            .contains("endpoints")
    );
    for id in ["mychannel", "a", "a.b-c9"] {
        check_channel_id(id).unwrap();
    }
    for id in ["", "9a", "A", "a_b", &"a".repeat(250)] {
        assert!(check_channel_id(id).is_err(), "{id:?}");
    }
}

#[test]
fn acls_and_etcdraft_round_trip() {
    let o = orgs(KeyAlgorithm::EcdsaP256);
    let mut p = profile(&o);
    p.acls.insert(
        "qscc/GetChainInfo".into(),
        "/Channel/Application/Readers".into(),
    );
    let tls = o.orderer.node_tls("orderer").unwrap().cert_pem;
    p.consensus = Consensus::EtcdRaft(etcdraft::ConfigMetadata::new([(
        "orderer.example.com".to_owned(),
        7050,
        tls.clone(),
    )]));
    let cfg = ChannelConfig::from_block(&p.genesis_block().unwrap()).unwrap();
    assert_eq!(
        cfg.acls["qscc/GetChainInfo"],
        "/Channel/Application/Readers"
    );
    assert_eq!(cfg.orderer.consensus_type, "etcdraft");
    let raft = cfg.orderer.etcdraft.unwrap();
    assert_eq!(raft.consenters[0].client_tls_cert, tls);
    assert_eq!(
        raft.options.unwrap(),
        etcdraft::Options::configtxgen_defaults()
    );
}

#[test]
fn writers_filter_is_fabrics_sigfilter() {
    use crate::orderer::WritersPolicy as _;
    let o = orgs(KeyAlgorithm::EcdsaP256);
    let p = ChannelProfile::new(
        "mychannel",
        vec![OrgProfile::orderer_from(&o.orderer, vec!["127.0.0.1:7050".into()]).unwrap()],
        vec![
            OrgProfile::application_from(&o.org1).unwrap(),
            OrgProfile::application_from(&o.org2).unwrap(),
        ],
    );
    let filter = WritersFilter::new();
    filter.insert(Arc::new(
        ChannelConfig::from_block(&p.genesis_block().unwrap()).unwrap(),
    ));
    let envelope = |signer: &Signer| {
        let payload = Payload {
            header: Some(cb::Header {
                channel_header: ChannelHeader {
                    r#type: HeaderType::EndorserTransaction as i32,
                    channel_id: "mychannel".into(),
                    ..Default::default()
                }
                .encode_to_vec(),
                signature_header: SignatureHeader {
                    creator: signer.serialize(),
                    nonce: vec![7; 24],
                }
                .encode_to_vec(),
            }),
            data: b"tx".to_vec(),
        }
        .encode_to_vec();
        Envelope {
            signature: signer.sign(&payload),
            payload,
        }
    };
    filter
        .check(
            "mychannel",
            &envelope(&o.org2.user_signer("User1").unwrap()),
        )
        .unwrap();
    // Orderer Writers are OrdererMSP members.
    filter
        .check(
            "mychannel",
            &envelope(&o.orderer.node_signer("orderer").unwrap()),
        )
        .unwrap();
    // A peer is neither an application Writer nor an orderer member.
    let e = filter
        .check(
            "mychannel",
            &envelope(&o.org1.node_signer("peer0").unwrap()),
        )
        .unwrap_err();
    assert!(e.ends_with(": permission denied"), "{e}");
    assert!(e.contains("implicit policy evaluation failed"), "{e}");
    // A signature over something else.
    let mut forged = envelope(&o.org1.user_signer("User1").unwrap());
    forged.payload.push(0);
    assert!(filter.check("mychannel", &forged).is_err());
    let garbage = Envelope {
        payload: vec![0xff; 3],
        signature: Vec::new(),
    };
    assert!(
        filter
            .check("mychannel", &garbage)
            .unwrap_err()
            .contains("signedData")
    );
    assert!(filter.check("otherchannel", &forged).is_err());
}
