//! Our policy parser and MSP configuration against what real Fabric (`configtxgen` 2.5) wrote
//! into `fixtures/configtx/genesis.block` from `fixtures/configtx/configtx.yaml`.

use std::path::PathBuf;

use prost::Message as _;
use sfcbc_fabric::msp::{MspDir, MspRole, MspVerifier, ValidityTime};
use sfcbc_fabric::policy::{from_string, parse_implicit_meta};
use sfcbc_fabric::protos::common::{Block, ConfigEnvelope, ConfigGroup, Envelope, Payload};
use sfcbc_fabric::protos::msp::{FabricMspConfig, MspConfig as MspConfigProto};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configtx")
}

fn channel_group() -> ConfigGroup {
    let block = Block::decode(
        std::fs::read(dir().join("genesis.block"))
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let env = Envelope::decode(block.data.unwrap().data[0].as_slice()).unwrap();
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let config = ConfigEnvelope::decode(payload.data.as_slice()).unwrap();
    config.config.unwrap().channel_group.unwrap()
}

fn yaml() -> serde_yaml::Value {
    serde_yaml::from_slice(&std::fs::read(dir().join("configtx.yaml")).unwrap()).unwrap()
}

/// (org ID, policy name, type, rule) for every organization policy in configtx.yaml.
fn org_policies() -> Vec<(String, String, String, String)> {
    let y = yaml();
    let mut out = Vec::new();
    for org in y["Organizations"].as_sequence().unwrap() {
        let id = org["ID"].as_str().unwrap().to_string();
        for (name, p) in org["Policies"].as_mapping().unwrap() {
            out.push((
                id.clone(),
                name.as_str().unwrap().to_string(),
                p["Type"].as_str().unwrap().to_string(),
                p["Rule"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn signature_policies_are_byte_identical_to_fabrics() {
    let root = channel_group();
    let mut checked = 0;
    for (org, name, typ, rule) in org_policies() {
        assert_eq!(typ, "Signature");
        let group = if org == "OrdererMSP" {
            &root.groups["Orderer"].groups["OrdererOrg"]
        } else {
            &root.groups["Application"].groups[&org]
        };
        let policy = group.policies[&name].policy.as_ref().unwrap();
        assert_eq!(policy.r#type, 1, "SIGNATURE");
        let ours = from_string(&rule)
            .unwrap_or_else(|e| panic!("{org}/{name} `{rule}`: {e}"))
            .encode_to_vec();
        assert_eq!(ours, policy.value, "{org}/{name} `{rule}`");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} policies checked");
}

#[test]
fn implicit_meta_policies_are_byte_identical_to_fabrics() {
    let root = channel_group();
    let y = yaml();
    let mut checked = 0;
    for (section, group) in [
        ("Channel", &root),
        ("Application", &root.groups["Application"]),
        ("Orderer", &root.groups["Orderer"]),
    ] {
        for (name, p) in y[section]["Policies"].as_mapping().unwrap() {
            let name = name.as_str().unwrap();
            let rule = p["Rule"].as_str().unwrap();
            let policy = group.policies[name].policy.as_ref().unwrap();
            assert_eq!(policy.r#type, 3, "IMPLICIT_META");
            assert_eq!(
                parse_implicit_meta(rule).unwrap().encode_to_vec(),
                policy.value,
                "{section}/{name}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn msp_configs_match_fabrics() {
    let root = channel_group();
    let crypto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crypto");
    for (org, path) in [
        ("Org1MSP", "peerOrganizations/org1.example.com/msp"),
        ("Org2MSP", "peerOrganizations/org2.example.com/msp"),
    ] {
        let value = &root.groups["Application"].groups[org].values["MSP"].value;
        let msp = MspConfigProto::decode(value.as_slice()).unwrap();
        assert_eq!(msp.r#type, 0, "FABRIC");
        let fabric = FabricMspConfig::decode(msp.config.as_slice()).unwrap();
        let ours = MspDir::load(crypto.join(path))
            .unwrap()
            .msp_config(org)
            .to_proto();
        assert_eq!(ours, fabric, "{org}");

        // And Fabric's config validates the org's identities with the right roles.
        let v = MspVerifier::from_proto(&fabric).unwrap();
        let n = &org[3..4];
        let user = MspDir::load(crypto.join(format!(
            "peerOrganizations/org{n}.example.com/users/User1@org{n}.example.com/msp"
        )))
        .unwrap()
        .identity(org)
        .unwrap();
        assert!(
            v.validate(&user, ValidityTime::AsFabric)
                .unwrap()
                .has_role(MspRole::Client)
        );
    }
}
