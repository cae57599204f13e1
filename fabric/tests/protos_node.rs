//! Conformance with the official Node package `@hyperledger/fabric-protos` (0.3.x).
//!
//! `fixtures/node_protos.json` was written by `tests/conformance/protos/make-fixture.js`:
//! for each sample message its proto type, the bytes the official package encoded (hex) and
//! the field values that went in. Every sample is decoded with our generated types and
//! compared field by field with those values (not only by re-encoding), then re-encoded and
//! compared with the official bytes. `tests/conformance/protos/check.sh` regenerates the
//! fixture with Node and diffs it against the committed copy.
//!
//! Field value conventions (see the script): proto field names, bytes as hex, enums as
//! numbers, maps as objects, `Timestamp` as `{seconds, nanos}`, a oneof as its set member.

use prost::Message;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use sfcbc_fabric::protos::{
    common, gateway, kvrwset, lifecycle, msp, orderer, protos, queryresult, rwset,
};

const FIXTURE: &str = include_str!("fixtures/node_protos.json");

/// Samples with several entries in a protobuf map. Their re-encoding is checked to decode to
/// the same message, not byte for byte, for two known and wire-legal differences: prost keeps
/// maps in a `HashMap` (entry order varies, the Node encoder sorts keys), and prost omits a
/// map entry's key or value when it is the default (an empty value), where the Node encoder
/// (like Go's) writes both. Everything else is compared byte for byte.
const MULTI_ENTRY_MAPS: &[&str] = &[
    "chaincode_invocation_spec",
    "chaincode_proposal_payload",
    "config_group",
    "config_envelope",
    "query_installed_chaincodes_result",
    "check_commit_readiness_result",
    "query_chaincode_definition_result",
];

// ---- fixture access ----------------------------------------------------------------------

struct Sample {
    name: String,
    ty: String,
    bytes: Vec<u8>,
    fields: Value,
}

fn samples() -> Vec<Sample> {
    let doc: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    let pkg = doc["package"].as_str().expect("package");
    assert!(
        pkg.starts_with("@hyperledger/fabric-protos@0.3."),
        "fixture made with {pkg}"
    );
    doc["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| Sample {
            name: s["name"].as_str().expect("name").to_owned(),
            ty: s["type"].as_str().expect("type").to_owned(),
            bytes: hex::decode(s["hex"].as_str().expect("hex")).expect("hex decodes"),
            fields: s["fields"].clone(),
        })
        .collect()
}

/// A fields object with a path for failure messages.
#[derive(Clone, Copy)]
struct F<'a> {
    v: &'a Value,
}

impl<'a> F<'a> {
    fn get(&self, k: &str) -> &'a Value {
        self.v
            .get(k)
            .unwrap_or_else(|| panic!("fixture field {k:?} missing in {}", self.v))
    }
    fn has(&self, k: &str) -> bool {
        self.v.get(k).is_some()
    }
    fn o(&self, k: &str) -> F<'a> {
        F { v: self.get(k) }
    }
    fn s(&self, k: &str) -> &'a str {
        self.get(k)
            .as_str()
            .unwrap_or_else(|| panic!("{k} is not a string"))
    }
    fn b(&self, k: &str) -> Vec<u8> {
        hex::decode(self.s(k)).unwrap_or_else(|e| panic!("{k}: {e}"))
    }
    fn i(&self, k: &str) -> i64 {
        self.get(k)
            .as_i64()
            .unwrap_or_else(|| panic!("{k} is not an integer"))
    }
    fn i32(&self, k: &str) -> i32 {
        i32::try_from(self.i(k)).expect("fits i32")
    }
    fn u(&self, k: &str) -> u64 {
        self.get(k)
            .as_u64()
            .unwrap_or_else(|| panic!("{k} is not an unsigned integer"))
    }
    fn u32(&self, k: &str) -> u32 {
        u32::try_from(self.u(k)).expect("fits u32")
    }
    fn bo(&self, k: &str) -> bool {
        self.get(k)
            .as_bool()
            .unwrap_or_else(|| panic!("{k} is not a bool"))
    }
    fn arr(&self, k: &str) -> Vec<F<'a>> {
        self.get(k)
            .as_array()
            .unwrap_or_else(|| panic!("{k} is not an array"))
            .iter()
            .map(|v| F { v })
            .collect()
    }
    fn strs(&self, k: &str) -> Vec<String> {
        self.arr(k)
            .iter()
            .map(|f| f.v.as_str().expect("string item").to_owned())
            .collect()
    }
    fn bytes_list(&self, k: &str) -> Vec<Vec<u8>> {
        self.arr(k)
            .iter()
            .map(|f| hex::decode(f.v.as_str().expect("hex item")).expect("hex"))
            .collect()
    }
    fn entries(&self, k: &str) -> BTreeMap<&'a str, F<'a>> {
        self.get(k)
            .as_object()
            .unwrap_or_else(|| panic!("{k} is not an object"))
            .iter()
            .map(|(key, v)| (key.as_str(), F { v }))
            .collect()
    }
    fn bytes_map(&self, k: &str) -> BTreeMap<String, Vec<u8>> {
        self.entries(k)
            .into_iter()
            .map(|(key, f)| {
                (
                    key.to_owned(),
                    hex::decode(f.v.as_str().expect("hex value")).expect("hex"),
                )
            })
            .collect()
    }
    fn bool_map(&self, k: &str) -> BTreeMap<String, bool> {
        self.entries(k)
            .into_iter()
            .map(|(key, f)| (key.to_owned(), f.v.as_bool().expect("bool")))
            .collect()
    }
}

fn sorted<V: Clone>(m: &HashMap<String, V>) -> BTreeMap<String, V> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Checks that a map has exactly the fixture's keys and checks each value.
fn each_entry<V>(ours: &HashMap<String, V>, f: F<'_>, k: &str, check: impl Fn(&V, F<'_>)) {
    let want = f.entries(k);
    let got: BTreeSet<&str> = ours.keys().map(String::as_str).collect();
    assert_eq!(
        got,
        want.keys().copied().collect::<BTreeSet<_>>(),
        "keys of {k}"
    );
    for (key, fv) in want {
        check(&ours[key], fv);
    }
}

fn list<T>(ours: &[T], f: F<'_>, k: &str, check: impl Fn(&T, F<'_>)) {
    let want = f.arr(k);
    assert_eq!(ours.len(), want.len(), "length of {k}");
    for (o, w) in ours.iter().zip(want) {
        check(o, w);
    }
}

fn timestamp(t: &Option<prost_types::Timestamp>, f: F<'_>) {
    let t = t.as_ref().expect("timestamp set");
    assert_eq!(t.seconds, f.i("seconds"));
    assert_eq!(t.nanos, f.i32("nanos"));
}

// ---- per-message checks -----------------------------------------------------------------

fn serialized_identity(m: &msp::SerializedIdentity, f: F<'_>) {
    assert_eq!(m.mspid, f.s("mspid"));
    assert_eq!(m.id_bytes, f.b("id_bytes"));
}

fn ou_identifier(m: &Option<msp::FabricOuIdentifier>, f: F<'_>) {
    let m = m.as_ref().expect("OU identifier set");
    assert_eq!(m.certificate, f.b("certificate"));
    assert_eq!(
        m.organizational_unit_identifier,
        f.s("organizational_unit_identifier")
    );
}

fn fabric_msp_config(m: &msp::FabricMspConfig, f: F<'_>) {
    assert_eq!(m.name, f.s("name"));
    assert_eq!(m.root_certs, f.bytes_list("root_certs"));
    assert_eq!(m.intermediate_certs, f.bytes_list("intermediate_certs"));
    assert_eq!(m.admins, f.bytes_list("admins"));
    assert_eq!(m.revocation_list, f.bytes_list("revocation_list"));
    let si = m.signing_identity.as_ref().expect("signing identity");
    let fsi = f.o("signing_identity");
    assert_eq!(si.public_signer, fsi.b("public_signer"));
    let ki = si.private_signer.as_ref().expect("private signer");
    assert_eq!(
        ki.key_identifier,
        fsi.o("private_signer").s("key_identifier")
    );
    assert_eq!(ki.key_material, fsi.o("private_signer").b("key_material"));
    list(
        &m.organizational_unit_identifiers,
        f,
        "organizational_unit_identifiers",
        |o, w| ou_identifier(&Some(o.clone()), w),
    );
    let cc = m.crypto_config.as_ref().expect("crypto config");
    assert_eq!(
        cc.signature_hash_family,
        f.o("crypto_config").s("signature_hash_family")
    );
    assert_eq!(
        cc.identity_identifier_hash_function,
        f.o("crypto_config").s("identity_identifier_hash_function")
    );
    assert_eq!(m.tls_root_certs, f.bytes_list("tls_root_certs"));
    assert_eq!(
        m.tls_intermediate_certs,
        f.bytes_list("tls_intermediate_certs")
    );
    let nous = m.fabric_node_ous.as_ref().expect("node OUs");
    let fn_ = f.o("fabric_node_ous");
    assert_eq!(nous.enable, fn_.bo("enable"));
    ou_identifier(&nous.client_ou_identifier, fn_.o("client_ou_identifier"));
    ou_identifier(&nous.peer_ou_identifier, fn_.o("peer_ou_identifier"));
    ou_identifier(&nous.admin_ou_identifier, fn_.o("admin_ou_identifier"));
    ou_identifier(&nous.orderer_ou_identifier, fn_.o("orderer_ou_identifier"));
}

fn msp_role(m: &common::MspRole, f: F<'_>) {
    assert_eq!(m.msp_identifier, f.s("msp_identifier"));
    assert_eq!(m.role, f.i32("role"));
}

fn signature_policy(m: &common::SignaturePolicy, f: F<'_>) {
    use common::signature_policy::Type;
    match m.r#type.as_ref().expect("rule set") {
        Type::SignedBy(i) => assert_eq!(*i, f.i32("signed_by")),
        Type::NOutOf(n) => {
            let fn_ = f.o("n_out_of");
            assert_eq!(n.n, fn_.i32("n"));
            list(&n.rules, fn_, "rules", signature_policy);
        }
    }
}

fn signature_policy_envelope(m: &common::SignaturePolicyEnvelope, f: F<'_>) {
    assert_eq!(m.version, f.i32("version"));
    signature_policy(m.rule.as_ref().expect("rule"), f.o("rule"));
    list(&m.identities, f, "identities", |p, w| {
        assert_eq!(
            p.principal_classification,
            w.i32("principal_classification")
        );
        assert_eq!(p.principal, w.b("principal"));
        // The principal bytes are themselves our messages; decode the role ones too.
        if p.principal_classification() == common::msp_principal::Classification::Role {
            let role = common::MspRole::decode(p.principal.as_slice()).expect("MSPRole");
            assert!(role.msp_identifier.starts_with("Org"));
        } else {
            let ou = common::OrganizationUnit::decode(p.principal.as_slice()).expect("OU");
            assert_eq!(ou.organizational_unit_identifier, "department1");
        }
    });
}

fn config_value(m: &common::ConfigValue, f: F<'_>) {
    assert_eq!(m.version, f.u("version"));
    assert_eq!(m.value, f.b("value"));
    assert_eq!(m.mod_policy, f.s("mod_policy"));
}

fn config_policy(m: &common::ConfigPolicy, f: F<'_>) {
    assert_eq!(m.version, f.u("version"));
    let p = m.policy.as_ref().expect("policy");
    assert_eq!(p.r#type, f.o("policy").i32("type"));
    assert_eq!(p.value, f.o("policy").b("value"));
    assert_eq!(m.mod_policy, f.s("mod_policy"));
}

fn config_group(m: &common::ConfigGroup, f: F<'_>) {
    assert_eq!(m.version, f.u("version"));
    each_entry(&m.groups, f, "groups", config_group);
    each_entry(&m.values, f, "values", config_value);
    each_entry(&m.policies, f, "policies", config_policy);
    assert_eq!(m.mod_policy, f.s("mod_policy"));
}

fn envelope(m: &common::Envelope, f: F<'_>) {
    assert_eq!(m.payload, f.b("payload"));
    assert_eq!(m.signature, f.b("signature"));
}

fn chaincode_id(m: &Option<protos::ChaincodeId>, f: F<'_>) {
    let m = m.as_ref().expect("chaincode id");
    assert_eq!(m.path, f.s("path"));
    assert_eq!(m.name, f.s("name"));
    assert_eq!(m.version, f.s("version"));
}

fn header(m: &common::Header, f: F<'_>) {
    assert_eq!(m.channel_header, f.b("channel_header"));
    assert_eq!(m.signature_header, f.b("signature_header"));
}

fn signed_proposal(m: &protos::SignedProposal, f: F<'_>) {
    assert_eq!(m.proposal_bytes, f.b("proposal_bytes"));
    assert_eq!(m.signature, f.b("signature"));
}

fn response(m: &protos::Response, f: F<'_>) {
    assert_eq!(m.status, f.i32("status"));
    assert_eq!(m.message, f.s("message"));
    assert_eq!(m.payload, f.b("payload"));
}

fn endorsement(m: &protos::Endorsement, f: F<'_>) {
    assert_eq!(m.endorser, f.b("endorser"));
    assert_eq!(m.signature, f.b("signature"));
}

fn chaincode_event(m: &protos::ChaincodeEvent, f: F<'_>) {
    assert_eq!(m.chaincode_id, f.s("chaincode_id"));
    assert_eq!(m.tx_id, f.s("tx_id"));
    assert_eq!(m.event_name, f.s("event_name"));
    assert_eq!(m.payload, f.b("payload"));
}

fn kv_read(m: &kvrwset::KvRead, f: F<'_>) {
    assert_eq!(m.key, f.s("key"));
    match (&m.version, f.has("version")) {
        (Some(v), true) => {
            assert_eq!(v.block_num, f.o("version").u("block_num"));
            assert_eq!(v.tx_num, f.o("version").u("tx_num"));
        }
        (None, false) => {}
        (v, _) => panic!("version of {}: {v:?}", m.key),
    }
}

fn kv_metadata_entry(m: &kvrwset::KvMetadataEntry, f: F<'_>) {
    assert_eq!(m.name, f.s("name"));
    assert_eq!(m.value, f.b("value"));
}

fn kv_rwset(m: &kvrwset::KvrwSet, f: F<'_>) {
    use kvrwset::range_query_info::ReadsInfo;
    list(&m.reads, f, "reads", kv_read);
    list(&m.range_queries_info, f, "range_queries_info", |q, w| {
        assert_eq!(q.start_key, w.s("start_key"));
        assert_eq!(q.end_key, w.s("end_key"));
        assert_eq!(q.itr_exhausted, w.bo("itr_exhausted"));
        match q.reads_info.as_ref().expect("reads info") {
            ReadsInfo::RawReads(r) => list(&r.kv_reads, w.o("raw_reads"), "kv_reads", kv_read),
            ReadsInfo::ReadsMerkleHashes(h) => {
                let wh = w.o("reads_merkle_hashes");
                assert_eq!(h.max_degree, wh.u32("max_degree"));
                assert_eq!(h.max_level, wh.u32("max_level"));
                assert_eq!(h.max_level_hashes, wh.bytes_list("max_level_hashes"));
            }
        }
    });
    list(&m.writes, f, "writes", |w, fw| {
        assert_eq!(w.key, fw.s("key"));
        assert_eq!(w.is_delete, fw.bo("is_delete"));
        assert_eq!(w.value, fw.b("value"));
    });
    list(&m.metadata_writes, f, "metadata_writes", |w, fw| {
        assert_eq!(w.key, fw.s("key"));
        list(&w.entries, fw, "entries", kv_metadata_entry);
    });
}

fn hashed_rwset(m: &kvrwset::HashedRwSet, f: F<'_>) {
    list(&m.hashed_reads, f, "hashed_reads", |r, w| {
        assert_eq!(r.key_hash, w.b("key_hash"));
        let v = r.version.as_ref().expect("version");
        assert_eq!(v.block_num, w.o("version").u("block_num"));
        assert_eq!(v.tx_num, w.o("version").u("tx_num"));
    });
    list(&m.hashed_writes, f, "hashed_writes", |x, w| {
        assert_eq!(x.key_hash, w.b("key_hash"));
        assert_eq!(x.is_delete, w.bo("is_delete"));
        assert_eq!(x.value_hash, w.b("value_hash"));
        assert_eq!(x.is_purge, w.bo("is_purge"));
    });
    list(&m.metadata_writes, f, "metadata_writes", |x, w| {
        assert_eq!(x.key_hash, w.b("key_hash"));
        list(&x.entries, w, "entries", kv_metadata_entry);
    });
}

fn tx_read_write_set(m: &rwset::TxReadWriteSet, f: F<'_>) {
    assert_eq!(m.data_model, f.i32("data_model"));
    assert_eq!(m.data_model(), rwset::tx_read_write_set::DataModel::Kv);
    list(&m.ns_rwset, f, "ns_rwset", |n, w| {
        assert_eq!(n.namespace, w.s("namespace"));
        assert_eq!(n.rwset, w.b("rwset"));
        list(
            &n.collection_hashed_rwset,
            w,
            "collection_hashed_rwset",
            |c, wc| {
                assert_eq!(c.collection_name, wc.s("collection_name"));
                assert_eq!(c.hashed_rwset, wc.b("hashed_rwset"));
                assert_eq!(c.pvt_rwset_hash, wc.b("pvt_rwset_hash"));
            },
        );
    });
}

fn block(m: &common::Block, f: F<'_>) {
    let h = m.header.as_ref().expect("header");
    let fh = f.o("header");
    assert_eq!(h.number, fh.u("number"));
    assert_eq!(h.previous_hash, fh.b("previous_hash"));
    assert_eq!(h.data_hash, fh.b("data_hash"));
    assert_eq!(
        m.data.as_ref().expect("data").data,
        f.o("data").bytes_list("data")
    );
    assert_eq!(
        m.metadata.as_ref().expect("metadata").metadata,
        f.o("metadata").bytes_list("metadata")
    );
}

fn seek_position(m: &Option<orderer::SeekPosition>, f: F<'_>) {
    use orderer::seek_position::Type;
    match m
        .as_ref()
        .and_then(|p| p.r#type.as_ref())
        .expect("seek position")
    {
        Type::Specified(s) => assert_eq!(s.number, f.o("specified").u("number")),
        Type::Newest(_) => assert!(f.has("newest")),
        Type::Oldest(_) => assert!(f.has("oldest")),
        Type::NextCommit(_) => assert!(f.has("next_commit")),
    }
}

fn application_policy(m: &Option<protos::ApplicationPolicy>, f: F<'_>) {
    use protos::application_policy::Type;
    match m
        .as_ref()
        .and_then(|p| p.r#type.as_ref())
        .expect("application policy")
    {
        Type::SignaturePolicy(s) => signature_policy_envelope(s, f.o("signature_policy")),
        Type::ChannelConfigPolicyReference(r) => {
            assert_eq!(r, f.s("channel_config_policy_reference"))
        }
    }
}

fn collection_config_package(m: &Option<protos::CollectionConfigPackage>, f: F<'_>) {
    use protos::collection_config::Payload;
    use protos::collection_policy_config::Payload as PolicyPayload;
    let m = m.as_ref().expect("collections");
    list(&m.config, f, "config", |c, w| {
        let Some(Payload::StaticCollectionConfig(s)) = &c.payload else {
            panic!("static collection config")
        };
        let ws = w.o("static_collection_config");
        assert_eq!(s.name, ws.s("name"));
        match s
            .member_orgs_policy
            .as_ref()
            .and_then(|p| p.payload.as_ref())
            .expect("member orgs policy")
        {
            PolicyPayload::SignaturePolicy(p) => {
                signature_policy_envelope(p, ws.o("member_orgs_policy").o("signature_policy"))
            }
        }
        assert_eq!(s.required_peer_count, ws.i32("required_peer_count"));
        assert_eq!(s.maximum_peer_count, ws.i32("maximum_peer_count"));
        assert_eq!(s.block_to_live, ws.u("block_to_live"));
        assert_eq!(s.member_only_read, ws.bo("member_only_read"));
        assert_eq!(s.member_only_write, ws.bo("member_only_write"));
        application_policy(&s.endorsement_policy, ws.o("endorsement_policy"));
    });
}

fn filtered_deliver(m: &protos::DeliverResponse, f: F<'_>) {
    use protos::deliver_response::Type;
    use protos::filtered_transaction::Data;
    let Some(Type::FilteredBlock(b)) = &m.r#type else {
        panic!("filtered block")
    };
    let fb = f.o("filtered_block");
    assert_eq!(b.channel_id, fb.s("channel_id"));
    assert_eq!(b.number, fb.u("number"));
    list(
        &b.filtered_transactions,
        fb,
        "filtered_transactions",
        |t, w| {
            assert_eq!(t.txid, w.s("txid"));
            assert_eq!(t.r#type, w.i32("type"));
            assert_eq!(t.tx_validation_code, w.i32("tx_validation_code"));
            match (&t.data, w.has("transaction_actions")) {
                (Some(Data::TransactionActions(a)), true) => {
                    list(
                        &a.chaincode_actions,
                        w.o("transaction_actions"),
                        "chaincode_actions",
                        |c, wc| {
                            chaincode_event(
                                c.chaincode_event.as_ref().expect("event"),
                                wc.o("chaincode_event"),
                            )
                        },
                    );
                }
                (None, false) => {}
                (d, _) => panic!("filtered transaction data {d:?}"),
            }
        },
    );
}

// ---- dispatch --------------------------------------------------------------------------------

fn decode<M: Message + Default>(s: &Sample) -> M {
    M::decode(s.bytes.as_slice())
        .unwrap_or_else(|e| panic!("{}: decoding {} failed: {e}", s.name, s.ty))
}

/// Decodes `s` as `M`, runs `check` on it and re-encodes.
fn run<M: Message + Default + PartialEq + std::fmt::Debug>(s: &Sample, check: impl Fn(&M, F<'_>)) {
    let m: M = decode(s);
    check(&m, F { v: &s.fields });
    let again = m.encode_to_vec();
    if MULTI_ENTRY_MAPS.contains(&s.name.as_str()) {
        assert_eq!(
            M::decode(again.as_slice()).expect("re-decodes"),
            m,
            "{}: re-encoding",
            s.name
        );
    } else {
        assert_eq!(
            hex::encode(&again),
            hex::encode(&s.bytes),
            "{}: re-encoded bytes differ",
            s.name
        );
    }
}

/// Checks one sample; returns false for a type this test does not know.
fn check_sample(s: &Sample) -> bool {
    match s.ty.as_str() {
        "msp.SerializedIdentity" => run(s, serialized_identity),
        "msp.FabricMSPConfig" => run(s, fabric_msp_config),
        "msp.MSPConfig" => run(s, |m: &msp::MspConfig, f| {
            assert_eq!(m.r#type, f.i32("type"));
            assert_eq!(m.config, f.b("config"));
            let inner = msp::FabricMspConfig::decode(m.config.as_slice()).expect("inner config");
            assert_eq!(inner.name, "Org2MSP");
        }),
        "common.MSPRole" => run(s, |m: &common::MspRole, f| {
            msp_role(m, f);
            assert_eq!(m.role(), common::msp_role::MspRoleType::Peer);
        }),
        "common.OrganizationUnit" => run(s, |m: &common::OrganizationUnit, f| {
            assert_eq!(m.msp_identifier, f.s("msp_identifier"));
            assert_eq!(
                m.organizational_unit_identifier,
                f.s("organizational_unit_identifier")
            );
            assert_eq!(m.certifiers_identifier, f.b("certifiers_identifier"));
        }),
        "common.SignaturePolicyEnvelope" => run(s, signature_policy_envelope),
        "common.ImplicitMetaPolicy" => run(s, |m: &common::ImplicitMetaPolicy, f| {
            assert_eq!(m.sub_policy, f.s("sub_policy"));
            assert_eq!(m.rule, f.i32("rule"));
            assert_eq!(m.rule(), common::implicit_meta_policy::Rule::Majority);
        }),
        "common.ConfigGroup" => run(s, config_group),
        "common.ConfigEnvelope" => run(s, |m: &common::ConfigEnvelope, f| {
            let c = m.config.as_ref().expect("config");
            assert_eq!(c.sequence, f.o("config").u("sequence"));
            config_group(
                c.channel_group.as_ref().expect("channel group"),
                f.o("config").o("channel_group"),
            );
            envelope(
                m.last_update.as_ref().expect("last update"),
                f.o("last_update"),
            );
        }),
        "common.SignatureHeader" => run(s, |m: &common::SignatureHeader, f| {
            assert_eq!(m.creator, f.b("creator"));
            assert_eq!(m.nonce, f.b("nonce"));
            assert_eq!(m.nonce.len(), 24);
            let id = msp::SerializedIdentity::decode(m.creator.as_slice()).expect("creator");
            assert_eq!(id.mspid, "Org1MSP");
        }),
        "protos.ChaincodeHeaderExtension" => run(s, |m: &protos::ChaincodeHeaderExtension, f| {
            chaincode_id(&m.chaincode_id, f.o("chaincode_id"));
        }),
        "common.ChannelHeader" => run(s, |m: &common::ChannelHeader, f| {
            assert_eq!(m.r#type, f.i32("type"));
            assert_eq!(m.r#type, common::HeaderType::EndorserTransaction as i32);
            assert_eq!(m.version, f.i32("version"));
            timestamp(&m.timestamp, f.o("timestamp"));
            assert_eq!(m.channel_id, f.s("channel_id"));
            assert_eq!(m.tx_id, f.s("tx_id"));
            assert_eq!(m.epoch, f.u("epoch"));
            assert_eq!(m.extension, f.b("extension"));
            assert_eq!(m.tls_cert_hash, f.b("tls_cert_hash"));
        }),
        "protos.ChaincodeInvocationSpec" => run(s, |m: &protos::ChaincodeInvocationSpec, f| {
            let spec = m.chaincode_spec.as_ref().expect("spec");
            let fs = f.o("chaincode_spec");
            assert_eq!(spec.r#type, fs.i32("type"));
            assert_eq!(spec.r#type(), protos::chaincode_spec::Type::Node);
            chaincode_id(&spec.chaincode_id, fs.o("chaincode_id"));
            let input = spec.input.as_ref().expect("input");
            let fi = fs.o("input");
            assert_eq!(input.args, fi.bytes_list("args"));
            assert_eq!(sorted(&input.decorations), fi.bytes_map("decorations"));
            assert_eq!(input.is_init, fi.bo("is_init"));
            assert_eq!(spec.timeout, fs.i32("timeout"));
        }),
        "protos.ChaincodeProposalPayload" => run(s, |m: &protos::ChaincodeProposalPayload, f| {
            assert_eq!(m.input, f.b("input"));
            assert_eq!(sorted(&m.transient_map), f.bytes_map("TransientMap"));
        }),
        "common.Header" => run(s, header),
        "protos.Proposal" => run(s, |m: &protos::Proposal, f| {
            assert_eq!(m.header, f.b("header"));
            assert_eq!(m.payload, f.b("payload"));
            assert_eq!(m.extension, f.b("extension"));
        }),
        "protos.SignedProposal" => run(s, signed_proposal),
        "protos.Response" => run(s, response),
        "protos.ChaincodeEvent" => run(s, chaincode_event),
        "kvrwset.KVRWSet" => run(s, kv_rwset),
        "kvrwset.HashedRWSet" => run(s, hashed_rwset),
        "rwset.TxReadWriteSet" => run(s, tx_read_write_set),
        "protos.ChaincodeAction" => run(s, |m: &protos::ChaincodeAction, f| {
            assert_eq!(m.results, f.b("results"));
            assert_eq!(m.events, f.b("events"));
            response(m.response.as_ref().expect("response"), f.o("response"));
            chaincode_id(&m.chaincode_id, f.o("chaincode_id"));
        }),
        "protos.ProposalResponsePayload" => run(s, |m: &protos::ProposalResponsePayload, f| {
            assert_eq!(m.proposal_hash, f.b("proposal_hash"));
            assert_eq!(m.extension, f.b("extension"));
        }),
        "protos.Endorsement" => run(s, endorsement),
        "protos.ProposalResponse" => run(s, |m: &protos::ProposalResponse, f| {
            assert_eq!(m.version, f.i32("version"));
            timestamp(&m.timestamp, f.o("timestamp"));
            response(m.response.as_ref().expect("response"), f.o("response"));
            assert_eq!(m.payload, f.b("payload"));
            endorsement(
                m.endorsement.as_ref().expect("endorsement"),
                f.o("endorsement"),
            );
            let interest = m.interest.as_ref().expect("interest");
            list(
                &interest.chaincodes,
                f.o("interest"),
                "chaincodes",
                |c, w| {
                    assert_eq!(c.name, w.s("name"));
                    assert_eq!(c.collection_names, w.strs("collection_names"));
                    assert_eq!(c.no_private_reads, w.bo("no_private_reads"));
                    assert_eq!(c.no_public_writes, w.bo("no_public_writes"));
                    list(
                        &c.key_policies,
                        w,
                        "key_policies",
                        signature_policy_envelope,
                    );
                    assert_eq!(
                        c.disregard_namespace_policy,
                        w.bo("disregard_namespace_policy")
                    );
                },
            );
        }),
        "protos.ChaincodeActionPayload" => run(s, |m: &protos::ChaincodeActionPayload, f| {
            assert_eq!(
                m.chaincode_proposal_payload,
                f.b("chaincode_proposal_payload")
            );
            let a = m.action.as_ref().expect("action");
            assert_eq!(
                a.proposal_response_payload,
                f.o("action").b("proposal_response_payload")
            );
            list(&a.endorsements, f.o("action"), "endorsements", endorsement);
        }),
        "protos.Transaction" => run(s, |m: &protos::Transaction, f| {
            list(&m.actions, f, "actions", |a, w| {
                assert_eq!(a.header, w.b("header"));
                assert_eq!(a.payload, w.b("payload"));
            });
        }),
        "common.Payload" => run(s, |m: &common::Payload, f| {
            header(m.header.as_ref().expect("header"), f.o("header"));
            assert_eq!(m.data, f.b("data"));
        }),
        "common.Envelope" => run(s, envelope),
        "common.Block" => run(s, block),
        "common.Metadata" => run(s, |m: &common::Metadata, f| {
            assert_eq!(m.value, f.b("value"));
            list(&m.signatures, f, "signatures", |x, w| {
                assert_eq!(x.signature_header, w.b("signature_header"));
                assert_eq!(x.signature, w.b("signature"));
                assert_eq!(x.identifier_header, w.b("identifier_header"));
            });
        }),
        "protos.ChaincodeMessage" => run(s, |m: &protos::ChaincodeMessage, f| {
            assert_eq!(m.r#type, f.i32("type"));
            if f.has("timestamp") {
                timestamp(&m.timestamp, f.o("timestamp"));
            } else {
                assert!(m.timestamp.is_none());
            }
            assert_eq!(m.payload, f.b("payload"));
            assert_eq!(m.txid, f.s("txid"));
            if f.has("proposal") {
                assert_eq!(m.r#type(), protos::chaincode_message::Type::Transaction);
                signed_proposal(m.proposal.as_ref().expect("proposal"), f.o("proposal"));
            } else {
                assert_eq!(m.r#type(), protos::chaincode_message::Type::Completed);
                assert!(m.proposal.is_none());
                let r = protos::Response::decode(m.payload.as_slice()).expect("COMPLETED payload");
                assert_eq!(r.status, 500);
            }
            chaincode_event(
                m.chaincode_event.as_ref().expect("event"),
                f.o("chaincode_event"),
            );
            assert_eq!(m.channel_id, f.s("channel_id"));
        }),
        "protos.GetState" => run(s, |m: &protos::GetState, f| {
            assert_eq!(m.key, f.s("key"));
            assert_eq!(m.collection, f.s("collection"));
        }),
        "protos.PutState" => run(s, |m: &protos::PutState, f| {
            assert_eq!(m.key, f.s("key"));
            assert_eq!(m.value, f.b("value"));
            assert_eq!(m.collection, f.s("collection"));
        }),
        "protos.PutStateMetadata" => run(s, |m: &protos::PutStateMetadata, f| {
            assert_eq!(m.key, f.s("key"));
            assert_eq!(m.collection, f.s("collection"));
            let md = m.metadata.as_ref().expect("metadata");
            assert_eq!(md.metakey, f.o("metadata").s("metakey"));
            assert_eq!(md.value, f.o("metadata").b("value"));
        }),
        "protos.QueryMetadata" => run(s, |m: &protos::QueryMetadata, f| {
            assert_eq!(m.page_size, f.i32("pageSize"));
            assert_eq!(m.bookmark, f.s("bookmark"));
        }),
        "protos.GetStateByRange" => run(s, |m: &protos::GetStateByRange, f| {
            assert_eq!(m.start_key, f.s("startKey"));
            assert_eq!(m.end_key, f.s("endKey"));
            assert_eq!(m.collection, f.s("collection"));
            assert_eq!(m.metadata, f.b("metadata"));
        }),
        "queryresult.KV" => run(s, |m: &queryresult::Kv, f| {
            assert_eq!(m.namespace, f.s("namespace"));
            assert_eq!(m.key, f.s("key"));
            assert_eq!(m.value, f.b("value"));
        }),
        "queryresult.KeyModification" => run(s, |m: &queryresult::KeyModification, f| {
            assert_eq!(m.tx_id, f.s("tx_id"));
            assert_eq!(m.value, f.b("value"));
            timestamp(&m.timestamp, f.o("timestamp"));
            assert_eq!(m.is_delete, f.bo("is_delete"));
        }),
        "protos.QueryResponseMetadata" => run(s, |m: &protos::QueryResponseMetadata, f| {
            assert_eq!(m.fetched_records_count, f.i32("fetched_records_count"));
            assert_eq!(m.bookmark, f.s("bookmark"));
        }),
        "protos.QueryResponse" => run(s, |m: &protos::QueryResponse, f| {
            list(&m.results, f, "results", |r, w| {
                assert_eq!(r.result_bytes, w.b("resultBytes"))
            });
            assert_eq!(m.has_more, f.bo("has_more"));
            assert_eq!(m.id, f.s("id"));
            assert_eq!(m.metadata, f.b("metadata"));
        }),
        "protos.ChaincodeAdditionalParams" => run(s, |m: &protos::ChaincodeAdditionalParams, f| {
            assert_eq!(m.use_write_batch, f.bo("use_write_batch"));
            assert_eq!(m.max_size_write_batch, f.u32("max_size_write_batch"));
            assert_eq!(m.use_get_multiple_keys, f.bo("use_get_multiple_keys"));
            assert_eq!(
                m.max_size_get_multiple_keys,
                f.u32("max_size_get_multiple_keys")
            );
        }),
        "gateway.EndorseRequest" => run(s, |m: &gateway::EndorseRequest, f| {
            assert_eq!(m.transaction_id, f.s("transaction_id"));
            assert_eq!(m.channel_id, f.s("channel_id"));
            signed_proposal(
                m.proposed_transaction.as_ref().expect("proposal"),
                f.o("proposed_transaction"),
            );
            assert_eq!(m.endorsing_organizations, f.strs("endorsing_organizations"));
        }),
        "gateway.EndorseResponse" => run(s, |m: &gateway::EndorseResponse, f| {
            envelope(
                m.prepared_transaction.as_ref().expect("envelope"),
                f.o("prepared_transaction"),
            );
        }),
        "gateway.SubmitRequest" => run(s, |m: &gateway::SubmitRequest, f| {
            assert_eq!(m.transaction_id, f.s("transaction_id"));
            assert_eq!(m.channel_id, f.s("channel_id"));
            envelope(
                m.prepared_transaction.as_ref().expect("envelope"),
                f.o("prepared_transaction"),
            );
        }),
        "gateway.CommitStatusRequest" => run(s, |m: &gateway::CommitStatusRequest, f| {
            assert_eq!(m.transaction_id, f.s("transaction_id"));
            assert_eq!(m.channel_id, f.s("channel_id"));
            assert_eq!(m.identity, f.b("identity"));
        }),
        "gateway.SignedCommitStatusRequest" => {
            run(s, |m: &gateway::SignedCommitStatusRequest, f| {
                assert_eq!(m.request, f.b("request"));
                assert_eq!(m.signature, f.b("signature"));
            })
        }
        "gateway.CommitStatusResponse" => run(s, |m: &gateway::CommitStatusResponse, f| {
            assert_eq!(m.result, f.i32("result"));
            assert_eq!(m.result(), protos::TxValidationCode::MvccReadConflict);
            assert_eq!(m.block_number, f.u("block_number"));
        }),
        "gateway.EvaluateRequest" => run(s, |m: &gateway::EvaluateRequest, f| {
            assert_eq!(m.transaction_id, f.s("transaction_id"));
            assert_eq!(m.channel_id, f.s("channel_id"));
            signed_proposal(
                m.proposed_transaction.as_ref().expect("proposal"),
                f.o("proposed_transaction"),
            );
            assert_eq!(m.target_organizations, f.strs("target_organizations"));
        }),
        "gateway.EvaluateResponse" => run(s, |m: &gateway::EvaluateResponse, f| {
            response(m.result.as_ref().expect("result"), f.o("result"));
        }),
        "gateway.ChaincodeEventsRequest" => run(s, |m: &gateway::ChaincodeEventsRequest, f| {
            assert_eq!(m.channel_id, f.s("channel_id"));
            assert_eq!(m.chaincode_id, f.s("chaincode_id"));
            assert_eq!(m.identity, f.b("identity"));
            seek_position(&m.start_position, f.o("start_position"));
            assert_eq!(m.after_transaction_id, f.s("after_transaction_id"));
        }),
        "gateway.SignedChaincodeEventsRequest" => {
            run(s, |m: &gateway::SignedChaincodeEventsRequest, f| {
                assert_eq!(m.request, f.b("request"));
                assert_eq!(m.signature, f.b("signature"));
            })
        }
        "gateway.ChaincodeEventsResponse" => run(s, |m: &gateway::ChaincodeEventsResponse, f| {
            list(&m.events, f, "events", chaincode_event);
            assert_eq!(m.block_number, f.u("block_number"));
        }),
        "gateway.ErrorDetail" => run(s, |m: &gateway::ErrorDetail, f| {
            assert_eq!(m.address, f.s("address"));
            assert_eq!(m.msp_id, f.s("msp_id"));
            assert_eq!(m.message, f.s("message"));
        }),
        "orderer.SeekInfo" => run(s, |m: &orderer::SeekInfo, f| {
            seek_position(&m.start, f.o("start"));
            seek_position(&m.stop, f.o("stop"));
            assert_eq!(m.behavior, f.i32("behavior"));
            assert_eq!(m.error_response, f.i32("error_response"));
            assert_eq!(m.content_type, f.i32("content_type"));
        }),
        "orderer.BroadcastResponse" => run(s, |m: &orderer::BroadcastResponse, f| {
            assert_eq!(m.status, f.i32("status"));
            assert_eq!(m.status(), common::Status::ServiceUnavailable);
            assert_eq!(m.info, f.s("info"));
        }),
        "orderer.DeliverResponse" => run(s, |m: &orderer::DeliverResponse, f| {
            let Some(orderer::deliver_response::Type::Status(st)) = m.r#type else {
                panic!("status")
            };
            assert_eq!(st, f.i32("status"));
            assert_eq!(st, common::Status::NotFound as i32);
        }),
        "protos.DeliverResponse" if s.fields.get("filtered_block").is_some() => {
            run(s, filtered_deliver)
        }
        "protos.DeliverResponse" => run(s, |m: &protos::DeliverResponse, f| {
            let Some(protos::deliver_response::Type::Block(b)) = &m.r#type else {
                panic!("block")
            };
            block(b, f.o("block"));
        }),
        "protos.CollectionConfigPackage" => run(s, |m: &protos::CollectionConfigPackage, f| {
            collection_config_package(&Some(m.clone()), f)
        }),
        "lifecycle.ApproveChaincodeDefinitionForMyOrgArgs" => run(
            s,
            |m: &lifecycle::ApproveChaincodeDefinitionForMyOrgArgs, f| {
                assert_eq!(m.sequence, f.i("sequence"));
                assert_eq!(m.name, f.s("name"));
                assert_eq!(m.version, f.s("version"));
                assert_eq!(m.endorsement_plugin, f.s("endorsement_plugin"));
                assert_eq!(m.validation_plugin, f.s("validation_plugin"));
                assert_eq!(m.validation_parameter, f.b("validation_parameter"));
                collection_config_package(&m.collections, f.o("collections"));
                assert_eq!(m.init_required, f.bo("init_required"));
                let Some(lifecycle::chaincode_source::Type::LocalPackage(local)) =
                    m.source.as_ref().and_then(|s| s.r#type.as_ref())
                else {
                    panic!("local package source")
                };
                assert_eq!(
                    local.package_id,
                    f.o("source").o("local_package").s("package_id")
                );
            },
        ),
        "lifecycle.InstallChaincodeResult" => run(s, |m: &lifecycle::InstallChaincodeResult, f| {
            assert_eq!(m.package_id, f.s("package_id"));
            assert_eq!(m.label, f.s("label"));
        }),
        "lifecycle.QueryInstalledChaincodesResult" => {
            run(s, |m: &lifecycle::QueryInstalledChaincodesResult, f| {
                list(
                    &m.installed_chaincodes,
                    f,
                    "installed_chaincodes",
                    |i, w| {
                        assert_eq!(i.package_id, w.s("package_id"));
                        assert_eq!(i.label, w.s("label"));
                        each_entry(&i.references, w, "references", |r, wr| {
                            list(&r.chaincodes, wr, "chaincodes", |c, wc| {
                                assert_eq!(c.name, wc.s("name"));
                                assert_eq!(c.version, wc.s("version"));
                            });
                        });
                    },
                );
            })
        }
        "lifecycle.CheckCommitReadinessResult" => {
            run(s, |m: &lifecycle::CheckCommitReadinessResult, f| {
                assert_eq!(sorted(&m.approvals), f.bool_map("approvals"));
                each_entry(&m.mismatches, f, "mismatches", |x, w| {
                    assert_eq!(x.items, w.strs("items"))
                });
            })
        }
        "lifecycle.QueryChaincodeDefinitionResult" => {
            run(s, |m: &lifecycle::QueryChaincodeDefinitionResult, f| {
                assert_eq!(m.sequence, f.i("sequence"));
                assert_eq!(m.version, f.s("version"));
                assert_eq!(m.endorsement_plugin, f.s("endorsement_plugin"));
                assert_eq!(m.validation_plugin, f.s("validation_plugin"));
                assert_eq!(m.validation_parameter, f.b("validation_parameter"));
                collection_config_package(&m.collections, f.o("collections"));
                assert_eq!(m.init_required, f.bo("init_required"));
                assert_eq!(sorted(&m.approvals), f.bool_map("approvals"));
            })
        }
        _ => return false,
    }
    true
}

#[test]
fn node_fabric_protos_samples_decode_field_by_field_and_re_encode() {
    let all = samples();
    assert!(all.len() >= 60, "fixture has only {} samples", all.len());
    let unknown: Vec<String> = all
        .iter()
        .filter(|s| !check_sample(s))
        .map(|s| format!("{} ({})", s.name, s.ty))
        .collect();
    assert!(unknown.is_empty(), "samples without a check: {unknown:?}");
}

#[test]
fn fixture_covers_the_required_sample() {
    // The messages the wire-layer issue asks to check against the Node package.
    let types: BTreeSet<String> = samples().into_iter().map(|s| s.ty).collect();
    for ty in [
        "common.Envelope",
        "common.Payload",
        "common.ChannelHeader",
        "common.SignatureHeader",
        "protos.SignedProposal",
        "protos.Proposal",
        "protos.ChaincodeProposalPayload",
        "protos.ChaincodeInvocationSpec",
        "protos.ProposalResponse",
        "protos.Endorsement",
        "protos.Response",
        "protos.ChaincodeAction",
        "rwset.TxReadWriteSet",
        "kvrwset.KVRWSet",
        "protos.ChaincodeMessage",
        "protos.ChaincodeEvent",
        "gateway.EndorseRequest",
        "gateway.SubmitRequest",
        "gateway.CommitStatusRequest",
        "gateway.ChaincodeEventsRequest",
        "gateway.ChaincodeEventsResponse",
        "orderer.SeekInfo",
        "common.Block",
        "msp.SerializedIdentity",
        "msp.FabricMSPConfig",
        "common.ConfigEnvelope",
        "common.ConfigGroup",
        "common.SignaturePolicyEnvelope",
        "common.ImplicitMetaPolicy",
        "lifecycle.ApproveChaincodeDefinitionForMyOrgArgs",
        "protos.CollectionConfigPackage",
        "queryresult.KV",
        "queryresult.KeyModification",
        "protos.QueryResponse",
        "protos.QueryResponseMetadata",
    ] {
        assert!(types.contains(ty), "fixture lacks {ty}");
    }
}

#[test]
fn every_field_of_the_chaincode_message_sample_is_set() {
    // "Every field set" for ChaincodeMessage: all 7 fields are present on the wire.
    let s = samples()
        .into_iter()
        .find(|s| s.name == "chaincode_message")
        .expect("sample");
    let m = protos::ChaincodeMessage::decode(s.bytes.as_slice()).expect("decodes");
    assert_ne!(m.r#type, 0);
    assert!(m.timestamp.is_some() && m.proposal.is_some() && m.chaincode_event.is_some());
    assert!(!m.payload.is_empty() && !m.txid.is_empty() && !m.channel_id.is_empty());
}
