#!/usr/bin/env node
// Encodes a sample of Fabric messages with the official @hyperledger/fabric-protos package
// and writes them as a JSON fixture: for each sample its type, the official encoding (hex)
// and the field values that went in. fabric/tests/protos_node.rs decodes every sample with
// sfcbc's own types and compares field by field, then re-encodes and compares bytes.
//
// Usage: node make-fixture.js [out.json]   (stdout without an argument)
//
// Conventions of the "fields" objects: proto field names as spelled in the .proto files;
// bytes as lower-case hex; enums as numbers; maps as JSON objects; repeated fields as arrays;
// google.protobuf.Timestamp as {seconds, nanos}; a oneof as the one member that is set.
// 64-bit values stay below 2^53 (JavaScript numbers) but above 2^32.
'use strict';

const fs = require('fs');
const path = require('path');
const fp = require('@hyperledger/fabric-protos');
const { Timestamp } = require('google-protobuf/google/protobuf/timestamp_pb.js');

const { common, msp, peer, gateway, orderer } = fp;
const { rwset, queryresult } = fp.ledger;
const { kvrwset } = rwset;
const { lifecycle } = peer;

// ---- helpers ---------------------------------------------------------------------------

/** hex of a UTF-8 string */
const hx = (s) => Buffer.from(s, 'utf8').toString('hex');
/** hex of n bytes start, start+1, ... (mod 256): binary values incl. 0x00 and 0xff */
const seq = (n, start) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff)).toString('hex');
/** bytes for a setter */
const B = (h) => new Uint8Array(Buffer.from(h, 'hex'));
/** hex of a message's encoding */
const enc = (m) => Buffer.from(m.serializeBinary()).toString('hex');

const samples = [];
/** Records one sample; returns the message so it can be nested elsewhere. */
function sample(name, type, fields, msg) {
    samples.push({ name, type, hex: enc(msg), fields });
    return msg;
}

function timestamp(f) {
    const t = new Timestamp();
    t.setSeconds(f.seconds);
    t.setNanos(f.nanos);
    return t;
}

function setMap(map, obj, conv = B) {
    for (const [k, v] of Object.entries(obj)) map.set(k, conv(v));
}

// ---- msp -------------------------------------------------------------------------------

function serializedIdentity(f) {
    const m = new msp.SerializedIdentity();
    m.setMspid(f.mspid);
    m.setIdBytes(B(f.id_bytes));
    return m;
}
const creatorF = {
    mspid: 'Org1MSP',
    id_bytes: hx('-----BEGIN CERTIFICATE-----\nMIIB-sfcbc-test-cert\n-----END CERTIFICATE-----\n'),
};
sample('serialized_identity', 'msp.SerializedIdentity', creatorF, serializedIdentity(creatorF));
const creatorHex = enc(serializedIdentity(creatorF));

function ouIdentifier(f) {
    const m = new msp.FabricOUIdentifier();
    m.setCertificate(B(f.certificate));
    m.setOrganizationalUnitIdentifier(f.organizational_unit_identifier);
    return m;
}
const mspConfigF = {
    name: 'Org2MSP',
    root_certs: [hx('root-ca-1'), hx('root-ca-2')],
    intermediate_certs: [hx('ica-1')],
    admins: [hx('admin-cert')],
    revocation_list: [hx('crl-1'), seq(3, 0xfe)],
    signing_identity: {
        public_signer: hx('signer-cert'),
        private_signer: { key_identifier: 'key-id-7', key_material: seq(32, 0x10) },
    },
    organizational_unit_identifiers: [
        { certificate: hx('ou-ca'), organizational_unit_identifier: 'department1' },
    ],
    crypto_config: { signature_hash_family: 'SHA2', identity_identifier_hash_function: 'SHA256' },
    tls_root_certs: [hx('tls-root')],
    tls_intermediate_certs: [hx('tls-ica')],
    fabric_node_ous: {
        enable: true,
        client_ou_identifier: { certificate: hx('client-ca'), organizational_unit_identifier: 'client' },
        peer_ou_identifier: { certificate: hx('peer-ca'), organizational_unit_identifier: 'peer' },
        admin_ou_identifier: { certificate: hx('admin-ca'), organizational_unit_identifier: 'admin' },
        orderer_ou_identifier: { certificate: hx('orderer-ca'), organizational_unit_identifier: 'orderer' },
    },
};
{
    const f = mspConfigF;
    const m = new msp.FabricMSPConfig();
    m.setName(f.name);
    m.setRootCertsList(f.root_certs.map(B));
    m.setIntermediateCertsList(f.intermediate_certs.map(B));
    m.setAdminsList(f.admins.map(B));
    m.setRevocationListList(f.revocation_list.map(B));
    const si = new msp.SigningIdentityInfo();
    si.setPublicSigner(B(f.signing_identity.public_signer));
    const ki = new msp.KeyInfo();
    ki.setKeyIdentifier(f.signing_identity.private_signer.key_identifier);
    ki.setKeyMaterial(B(f.signing_identity.private_signer.key_material));
    si.setPrivateSigner(ki);
    m.setSigningIdentity(si);
    m.setOrganizationalUnitIdentifiersList(f.organizational_unit_identifiers.map(ouIdentifier));
    const cc = new msp.FabricCryptoConfig();
    cc.setSignatureHashFamily(f.crypto_config.signature_hash_family);
    cc.setIdentityIdentifierHashFunction(f.crypto_config.identity_identifier_hash_function);
    m.setCryptoConfig(cc);
    m.setTlsRootCertsList(f.tls_root_certs.map(B));
    m.setTlsIntermediateCertsList(f.tls_intermediate_certs.map(B));
    const nous = new msp.FabricNodeOUs();
    nous.setEnable(f.fabric_node_ous.enable);
    nous.setClientOuIdentifier(ouIdentifier(f.fabric_node_ous.client_ou_identifier));
    nous.setPeerOuIdentifier(ouIdentifier(f.fabric_node_ous.peer_ou_identifier));
    nous.setAdminOuIdentifier(ouIdentifier(f.fabric_node_ous.admin_ou_identifier));
    nous.setOrdererOuIdentifier(ouIdentifier(f.fabric_node_ous.orderer_ou_identifier));
    m.setFabricNodeOus(nous);
    sample('fabric_msp_config', 'msp.FabricMSPConfig', f, m);

    const wrapF = { type: 0, config: enc(m) };
    const w = new msp.MSPConfig();
    w.setType(wrapF.type);
    w.setConfig(B(wrapF.config));
    sample('msp_config', 'msp.MSPConfig', wrapF, w);
}

// ---- policies (package common) ------------------------------------------------------------

function mspRole(f) {
    const m = new common.MSPRole();
    m.setMspIdentifier(f.msp_identifier);
    m.setRole(f.role);
    return m;
}
const roleF = { msp_identifier: 'Org2MSP', role: common.MSPRole.MSPRoleType.PEER };
sample('msp_role', 'common.MSPRole', roleF, mspRole(roleF));

function principal(f) {
    const m = new common.MSPPrincipal();
    m.setPrincipalClassification(f.principal_classification);
    m.setPrincipal(B(f.principal));
    return m;
}
function signaturePolicy(f) {
    const m = new common.SignaturePolicy();
    if ('signed_by' in f) {
        m.setSignedBy(f.signed_by);
    } else {
        const n = new common.SignaturePolicy.NOutOf();
        n.setN(f.n_out_of.n);
        n.setRulesList(f.n_out_of.rules.map(signaturePolicy));
        m.setNOutOf(n);
    }
    return m;
}
function spe(f) {
    const m = new common.SignaturePolicyEnvelope();
    m.setVersion(f.version);
    m.setRule(signaturePolicy(f.rule));
    m.setIdentitiesList(f.identities.map(principal));
    return m;
}
// OutOf(2, 'Org1MSP.member', OR('Org2MSP.peer', 'Org3MSP.admin')), with an OU principal too.
const speF = {
    version: 1,
    rule: {
        n_out_of: {
            n: 2,
            rules: [
                { signed_by: 0 },
                { n_out_of: { n: 1, rules: [{ signed_by: 1 }, { signed_by: 2 }] } },
                { signed_by: 3 },
            ],
        },
    },
    identities: [
        { principal_classification: 0, principal: enc(mspRole({ msp_identifier: 'Org1MSP', role: 0 })) },
        { principal_classification: 0, principal: enc(mspRole({ msp_identifier: 'Org2MSP', role: 3 })) },
        { principal_classification: 0, principal: enc(mspRole({ msp_identifier: 'Org3MSP', role: 1 })) },
        {
            principal_classification: 1,
            principal: (() => {
                const ou = new common.OrganizationUnit();
                ou.setMspIdentifier('Org1MSP');
                ou.setOrganizationalUnitIdentifier('department1');
                ou.setCertifiersIdentifier(B(seq(32, 0xe0)));
                return enc(ou);
            })(),
        },
    ],
};
sample('signature_policy_envelope', 'common.SignaturePolicyEnvelope', speF, spe(speF));

const ouF = { msp_identifier: 'Org1MSP', organizational_unit_identifier: 'department1', certifiers_identifier: seq(32, 0xe0) };
{
    const ou = new common.OrganizationUnit();
    ou.setMspIdentifier(ouF.msp_identifier);
    ou.setOrganizationalUnitIdentifier(ouF.organizational_unit_identifier);
    ou.setCertifiersIdentifier(B(ouF.certifiers_identifier));
    sample('organization_unit', 'common.OrganizationUnit', ouF, ou);
}

const impF = { sub_policy: 'Admins', rule: common.ImplicitMetaPolicy.Rule.MAJORITY };
{
    const m = new common.ImplicitMetaPolicy();
    m.setSubPolicy(impF.sub_policy);
    m.setRule(impF.rule);
    sample('implicit_meta_policy', 'common.ImplicitMetaPolicy', impF, m);
}

// ---- channel config ---------------------------------------------------------------------

function configValue(f) {
    const m = new common.ConfigValue();
    m.setVersion(f.version);
    m.setValue(B(f.value));
    m.setModPolicy(f.mod_policy);
    return m;
}
function configPolicy(f) {
    const m = new common.ConfigPolicy();
    m.setVersion(f.version);
    const p = new common.Policy();
    p.setType(f.policy.type);
    p.setValue(B(f.policy.value));
    m.setPolicy(p);
    m.setModPolicy(f.mod_policy);
    return m;
}
function configGroup(f) {
    const m = new common.ConfigGroup();
    m.setVersion(f.version);
    setMap(m.getGroupsMap(), f.groups, configGroup);
    setMap(m.getValuesMap(), f.values, configValue);
    setMap(m.getPoliciesMap(), f.policies, configPolicy);
    m.setModPolicy(f.mod_policy);
    return m;
}
const orgGroupF = {
    version: 3,
    groups: {},
    values: { MSP: { version: 1, value: samples.find((s) => s.name === 'msp_config').hex, mod_policy: 'Admins' } },
    policies: {
        Endorsement: { version: 0, policy: { type: 1, value: enc(spe(speF)) }, mod_policy: 'Admins' },
        Readers: { version: 2, policy: { type: 1, value: seq(5, 0x01) }, mod_policy: '' },
    },
    mod_policy: 'Admins',
};
const channelGroupF = {
    version: 9,
    groups: {
        Application: {
            version: 4,
            groups: { Org2MSP: orgGroupF },
            values: { Capabilities: { version: 0, value: hx('caps'), mod_policy: 'Admins' } },
            policies: {},
            mod_policy: 'Admins',
        },
    },
    values: {
        HashingAlgorithm: { version: 0, value: hx('sha'), mod_policy: 'Admins' },
        OrdererAddresses: { version: 5, value: hx('orderer.example.com:7050'), mod_policy: '/Channel/Orderer/Admins' },
    },
    policies: {
        Admins: {
            version: 0,
            policy: { type: 3, value: samples.find((s) => s.name === 'implicit_meta_policy').hex },
            mod_policy: 'Admins',
        },
    },
    mod_policy: 'Admins',
};
sample('config_group', 'common.ConfigGroup', orgGroupF, configGroup(orgGroupF));
const lastUpdateF = { payload: hx('config-update-payload'), signature: seq(70, 0x30) };
const configEnvF = { config: { sequence: 2 ** 33 + 17, channel_group: channelGroupF }, last_update: lastUpdateF };
{
    const cfg = new common.Config();
    cfg.setSequence(configEnvF.config.sequence);
    cfg.setChannelGroup(configGroup(channelGroupF));
    const lu = new common.Envelope();
    lu.setPayload(B(lastUpdateF.payload));
    lu.setSignature(B(lastUpdateF.signature));
    const m = new common.ConfigEnvelope();
    m.setConfig(cfg);
    m.setLastUpdate(lu);
    sample('config_envelope', 'common.ConfigEnvelope', configEnvF, m);
}

// ---- proposal ---------------------------------------------------------------------------

function chaincodeId(f) {
    const m = new peer.ChaincodeID();
    m.setPath(f.path);
    m.setName(f.name);
    m.setVersion(f.version);
    return m;
}
const ccIdF = { path: 'github.com/sfcbc/chaincode', name: 'sfcbc', version: '1.0.3' };

const sigHdrF = { creator: creatorHex, nonce: seq(24, 0xa0) };
{
    const m = new common.SignatureHeader();
    m.setCreator(B(sigHdrF.creator));
    m.setNonce(B(sigHdrF.nonce));
    sample('signature_header', 'common.SignatureHeader', sigHdrF, m);
}

const hdrExtF = { chaincode_id: ccIdF };
{
    const m = new peer.ChaincodeHeaderExtension();
    m.setChaincodeId(chaincodeId(ccIdF));
    sample('chaincode_header_extension', 'protos.ChaincodeHeaderExtension', hdrExtF, m);
}

const chHdrF = {
    type: common.HeaderType.ENDORSER_TRANSACTION,
    version: 7,
    timestamp: { seconds: 1700000123, nanos: 456789012 },
    channel_id: 'sfc-channel',
    tx_id: '4c3d2e1f00aabbccddeeff00112233445566778899aabbccddeeff0011223344',
    epoch: 2 ** 40 + 5,
    extension: samples.find((s) => s.name === 'chaincode_header_extension').hex,
    tls_cert_hash: seq(32, 0xc0),
};
function channelHeader(f) {
    const m = new common.ChannelHeader();
    m.setType(f.type);
    m.setVersion(f.version);
    m.setTimestamp(timestamp(f.timestamp));
    m.setChannelId(f.channel_id);
    m.setTxId(f.tx_id);
    m.setEpoch(f.epoch);
    m.setExtension$(B(f.extension));
    m.setTlsCertHash(B(f.tls_cert_hash));
    return m;
}
sample('channel_header', 'common.ChannelHeader', chHdrF, channelHeader(chHdrF));
const chHdrHex = enc(channelHeader(chHdrF));
const sigHdrHex = samples.find((s) => s.name === 'signature_header').hex;

const inputF = {
    args: [hx('Invoke'), hx('sf-42'), seq(4, 0xfd), ''],
    decorations: { 'deco-a': hx('A'), 'deco-b': seq(2, 0xff) },
    is_init: true,
};
const invF = { chaincode_spec: { type: peer.ChaincodeSpec.Type.NODE, chaincode_id: ccIdF, input: inputF, timeout: -5 } };
{
    const input = new peer.ChaincodeInput();
    input.setArgsList(inputF.args.map(B));
    setMap(input.getDecorationsMap(), inputF.decorations);
    input.setIsInit(inputF.is_init);
    const spec = new peer.ChaincodeSpec();
    spec.setType(invF.chaincode_spec.type);
    spec.setChaincodeId(chaincodeId(ccIdF));
    spec.setInput(input);
    spec.setTimeout(invF.chaincode_spec.timeout);
    const m = new peer.ChaincodeInvocationSpec();
    m.setChaincodeSpec(spec);
    sample('chaincode_invocation_spec', 'protos.ChaincodeInvocationSpec', invF, m);
}

const cppF = {
    input: samples.find((s) => s.name === 'chaincode_invocation_spec').hex,
    TransientMap: { price: hx('100'), secret: seq(16, 0xf8), empty: '' },
};
{
    const m = new peer.ChaincodeProposalPayload();
    m.setInput(B(cppF.input));
    setMap(m.getTransientmapMap(), cppF.TransientMap);
    sample('chaincode_proposal_payload', 'protos.ChaincodeProposalPayload', cppF, m);
}

const headerF = { channel_header: chHdrHex, signature_header: sigHdrHex };
function header(f) {
    const m = new common.Header();
    m.setChannelHeader(B(f.channel_header));
    m.setSignatureHeader(B(f.signature_header));
    return m;
}
sample('header', 'common.Header', headerF, header(headerF));

const proposalF = {
    header: enc(header(headerF)),
    payload: samples.find((s) => s.name === 'chaincode_proposal_payload').hex,
    extension: hx('proposal-extension'),
};
{
    const m = new peer.Proposal();
    m.setHeader(B(proposalF.header));
    m.setPayload(B(proposalF.payload));
    m.setExtension$(B(proposalF.extension));
    sample('proposal', 'protos.Proposal', proposalF, m);
}
const signedPropF = { proposal_bytes: samples.find((s) => s.name === 'proposal').hex, signature: seq(71, 0x30) };
function signedProposal(f) {
    const m = new peer.SignedProposal();
    m.setProposalBytes(B(f.proposal_bytes));
    m.setSignature(B(f.signature));
    return m;
}
sample('signed_proposal', 'protos.SignedProposal', signedPropF, signedProposal(signedPropF));

// ---- responses and actions ----------------------------------------------------------------

function response(f) {
    const m = new peer.Response();
    m.setStatus(f.status);
    m.setMessage(f.message);
    m.setPayload(B(f.payload));
    return m;
}
const responseF = { status: 200, message: 'ok: sf registered', payload: hx('{"id":"sf-42"}') };
const errResponseF = { status: 500, message: 'sf-42 not found', payload: '' };
sample('response', 'protos.Response', responseF, response(responseF));
sample('response_error', 'protos.Response', errResponseF, response(errResponseF));

const eventF = { chaincode_id: 'sfcbc', tx_id: chHdrF.tx_id, event_name: 'SFRegistered', payload: hx('{"sf":"sf-42"}') };
function ccEvent(f) {
    const m = new peer.ChaincodeEvent();
    m.setChaincodeId(f.chaincode_id);
    m.setTxId(f.tx_id);
    m.setEventName(f.event_name);
    m.setPayload(B(f.payload));
    return m;
}
sample('chaincode_event', 'protos.ChaincodeEvent', eventF, ccEvent(eventF));

// kvrwset / rwset
function version(f) {
    const m = new kvrwset.Version();
    m.setBlockNum(f.block_num);
    m.setTxNum(f.tx_num);
    return m;
}
function kvRead(f) {
    const m = new kvrwset.KVRead();
    m.setKey(f.key);
    if (f.version) m.setVersion(version(f.version));
    return m;
}
const kvrwsetF = {
    reads: [
        { key: 'sf/sf-42', version: { block_num: 2 ** 35 + 1, tx_num: 3 } },
        { key: 'sf/absent' },
    ],
    range_queries_info: [
        {
            start_key: 'sf/',
            end_key: 'sf0',
            itr_exhausted: true,
            raw_reads: { kv_reads: [{ key: 'sf/a', version: { block_num: 10, tx_num: 0 } }, { key: 'sf/b' }] },
        },
        {
            start_key: 'chain/',
            end_key: 'chain0',
            itr_exhausted: false,
            reads_merkle_hashes: { max_degree: 50, max_level: 2, max_level_hashes: [seq(32, 0x00), seq(32, 0x80)] },
        },
    ],
    writes: [
        { key: 'sf/sf-42', is_delete: false, value: hx('{"state":"active"}') },
        { key: 'sf/old', is_delete: true, value: '' },
    ],
    metadata_writes: [
        { key: 'sf/sf-42', entries: [{ name: 'VALIDATION_PARAMETER', value: seq(8, 0x11) }, { name: 'x', value: '' }] },
    ],
};
{
    const f = kvrwsetF;
    const m = new kvrwset.KVRWSet();
    m.setReadsList(f.reads.map(kvRead));
    m.setRangeQueriesInfoList(
        f.range_queries_info.map((r) => {
            const q = new kvrwset.RangeQueryInfo();
            q.setStartKey(r.start_key);
            q.setEndKey(r.end_key);
            q.setItrExhausted(r.itr_exhausted);
            if (r.raw_reads) {
                const rr = new kvrwset.QueryReads();
                rr.setKvReadsList(r.raw_reads.kv_reads.map(kvRead));
                q.setRawReads(rr);
            } else {
                const mh = new kvrwset.QueryReadsMerkleSummary();
                mh.setMaxDegree(r.reads_merkle_hashes.max_degree);
                mh.setMaxLevel(r.reads_merkle_hashes.max_level);
                mh.setMaxLevelHashesList(r.reads_merkle_hashes.max_level_hashes.map(B));
                q.setReadsMerkleHashes(mh);
            }
            return q;
        }),
    );
    m.setWritesList(
        f.writes.map((w) => {
            const x = new kvrwset.KVWrite();
            x.setKey(w.key);
            x.setIsDelete(w.is_delete);
            x.setValue(B(w.value));
            return x;
        }),
    );
    m.setMetadataWritesList(
        f.metadata_writes.map((w) => {
            const x = new kvrwset.KVMetadataWrite();
            x.setKey(w.key);
            x.setEntriesList(
                w.entries.map((e) => {
                    const en = new kvrwset.KVMetadataEntry();
                    en.setName(e.name);
                    en.setValue(B(e.value));
                    return en;
                }),
            );
            return x;
        }),
    );
    sample('kv_rwset', 'kvrwset.KVRWSet', f, m);
}
const hashedF = {
    hashed_reads: [{ key_hash: seq(32, 0x40), version: { block_num: 6, tx_num: 1 } }],
    hashed_writes: [{ key_hash: seq(32, 0x50), is_delete: true, value_hash: seq(32, 0x60), is_purge: true }],
    metadata_writes: [{ key_hash: seq(32, 0x70), entries: [{ name: 'm', value: hx('v') }] }],
};
{
    const f = hashedF;
    const m = new kvrwset.HashedRWSet();
    m.setHashedReadsList(
        f.hashed_reads.map((r) => {
            const x = new kvrwset.KVReadHash();
            x.setKeyHash(B(r.key_hash));
            x.setVersion(version(r.version));
            return x;
        }),
    );
    m.setHashedWritesList(
        f.hashed_writes.map((w) => {
            const x = new kvrwset.KVWriteHash();
            x.setKeyHash(B(w.key_hash));
            x.setIsDelete(w.is_delete);
            x.setValueHash(B(w.value_hash));
            x.setIsPurge(w.is_purge);
            return x;
        }),
    );
    m.setMetadataWritesList(
        f.metadata_writes.map((w) => {
            const x = new kvrwset.KVMetadataWriteHash();
            x.setKeyHash(B(w.key_hash));
            x.setEntriesList(
                w.entries.map((e) => {
                    const en = new kvrwset.KVMetadataEntry();
                    en.setName(e.name);
                    en.setValue(B(e.value));
                    return en;
                }),
            );
            return x;
        }),
    );
    sample('hashed_rwset', 'kvrwset.HashedRWSet', f, m);
}
const txRwsetF = {
    data_model: rwset.TxReadWriteSet.DataModel.KV,
    ns_rwset: [
        { namespace: '_lifecycle', rwset: seq(3, 0x01), collection_hashed_rwset: [] },
        {
            namespace: 'sfcbc',
            rwset: samples.find((s) => s.name === 'kv_rwset').hex,
            collection_hashed_rwset: [
                {
                    collection_name: 'sfPrivate',
                    hashed_rwset: samples.find((s) => s.name === 'hashed_rwset').hex,
                    pvt_rwset_hash: seq(32, 0x90),
                },
            ],
        },
    ],
};
{
    const m = new rwset.TxReadWriteSet();
    m.setDataModel(txRwsetF.data_model);
    m.setNsRwsetList(
        txRwsetF.ns_rwset.map((n) => {
            const x = new rwset.NsReadWriteSet();
            x.setNamespace(n.namespace);
            x.setRwset(B(n.rwset));
            x.setCollectionHashedRwsetList(
                n.collection_hashed_rwset.map((c) => {
                    const y = new rwset.CollectionHashedReadWriteSet();
                    y.setCollectionName(c.collection_name);
                    y.setHashedRwset(B(c.hashed_rwset));
                    y.setPvtRwsetHash(B(c.pvt_rwset_hash));
                    return y;
                }),
            );
            return x;
        }),
    );
    sample('tx_read_write_set', 'rwset.TxReadWriteSet', txRwsetF, m);
}

const ccActionF = {
    results: samples.find((s) => s.name === 'tx_read_write_set').hex,
    events: samples.find((s) => s.name === 'chaincode_event').hex,
    response: responseF,
    chaincode_id: ccIdF,
};
{
    const m = new peer.ChaincodeAction();
    m.setResults(B(ccActionF.results));
    m.setEvents(B(ccActionF.events));
    m.setResponse(response(ccActionF.response));
    m.setChaincodeId(chaincodeId(ccActionF.chaincode_id));
    sample('chaincode_action', 'protos.ChaincodeAction', ccActionF, m);
}
const prpF = { proposal_hash: seq(32, 0x21), extension: samples.find((s) => s.name === 'chaincode_action').hex };
{
    const m = new peer.ProposalResponsePayload();
    m.setProposalHash(B(prpF.proposal_hash));
    m.setExtension$(B(prpF.extension));
    sample('proposal_response_payload', 'protos.ProposalResponsePayload', prpF, m);
}
function endorsement(f) {
    const m = new peer.Endorsement();
    m.setEndorser(B(f.endorser));
    m.setSignature(B(f.signature));
    return m;
}
const endorsementF = { endorser: creatorHex, signature: seq(72, 0x31) };
sample('endorsement', 'protos.Endorsement', endorsementF, endorsement(endorsementF));

const propRespF = {
    version: 1,
    timestamp: { seconds: 1700000200, nanos: 1 },
    response: responseF,
    payload: samples.find((s) => s.name === 'proposal_response_payload').hex,
    endorsement: endorsementF,
    interest: {
        chaincodes: [
            {
                name: 'sfcbc',
                collection_names: ['sfPrivate', 'orgPrivate'],
                no_private_reads: true,
                no_public_writes: true,
                key_policies: [speF],
                disregard_namespace_policy: true,
            },
        ],
    },
};
{
    const f = propRespF;
    const m = new peer.ProposalResponse();
    m.setVersion(f.version);
    m.setTimestamp(timestamp(f.timestamp));
    m.setResponse(response(f.response));
    m.setPayload(B(f.payload));
    m.setEndorsement(endorsement(f.endorsement));
    const interest = new peer.ChaincodeInterest();
    interest.setChaincodesList(
        f.interest.chaincodes.map((c) => {
            const x = new peer.ChaincodeCall();
            x.setName(c.name);
            x.setCollectionNamesList(c.collection_names);
            x.setNoPrivateReads(c.no_private_reads);
            x.setNoPublicWrites(c.no_public_writes);
            x.setKeyPoliciesList(c.key_policies.map(spe));
            x.setDisregardNamespacePolicy(c.disregard_namespace_policy);
            return x;
        }),
    );
    m.setInterest(interest);
    sample('proposal_response', 'protos.ProposalResponse', f, m);
}

// ---- transaction and envelope ---------------------------------------------------------------

const capF = {
    chaincode_proposal_payload: hx('proposal-payload-without-transient'),
    action: {
        proposal_response_payload: samples.find((s) => s.name === 'proposal_response_payload').hex,
        endorsements: [endorsementF, { endorser: hx('org2-endorser'), signature: seq(70, 0x40) }],
    },
};
{
    const ea = new peer.ChaincodeEndorsedAction();
    ea.setProposalResponsePayload(B(capF.action.proposal_response_payload));
    ea.setEndorsementsList(capF.action.endorsements.map(endorsement));
    const m = new peer.ChaincodeActionPayload();
    m.setChaincodeProposalPayload(B(capF.chaincode_proposal_payload));
    m.setAction(ea);
    sample('chaincode_action_payload', 'protos.ChaincodeActionPayload', capF, m);
}
const txF = {
    actions: [
        { header: sigHdrHex, payload: samples.find((s) => s.name === 'chaincode_action_payload').hex },
        { header: '', payload: hx('second') },
    ],
};
{
    const m = new peer.Transaction();
    m.setActionsList(
        txF.actions.map((a) => {
            const x = new peer.TransactionAction();
            x.setHeader(B(a.header));
            x.setPayload(B(a.payload));
            return x;
        }),
    );
    sample('transaction', 'protos.Transaction', txF, m);
}
const payloadF = { header: headerF, data: samples.find((s) => s.name === 'transaction').hex };
{
    const m = new common.Payload();
    m.setHeader(header(payloadF.header));
    m.setData(B(payloadF.data));
    sample('payload', 'common.Payload', payloadF, m);
}
const envelopeF = { payload: samples.find((s) => s.name === 'payload').hex, signature: seq(71, 0x50) };
function envelope(f) {
    const m = new common.Envelope();
    m.setPayload(B(f.payload));
    m.setSignature(B(f.signature));
    return m;
}
sample('envelope', 'common.Envelope', envelopeF, envelope(envelopeF));

// ---- blocks ---------------------------------------------------------------------------------

const blockF = {
    header: { number: 2 ** 36 + 9, previous_hash: seq(32, 0x01), data_hash: seq(32, 0x81) },
    data: { data: [samples.find((s) => s.name === 'envelope').hex, hx('second-envelope')] },
    metadata: { metadata: [hx('signatures'), '', '0000', hx('orderer'), seq(32, 0xaa)] },
};
function block(f) {
    const h = new common.BlockHeader();
    h.setNumber(f.header.number);
    h.setPreviousHash(B(f.header.previous_hash));
    h.setDataHash(B(f.header.data_hash));
    const d = new common.BlockData();
    d.setDataList(f.data.data.map(B));
    const md = new common.BlockMetadata();
    md.setMetadataList(f.metadata.metadata.map(B));
    const m = new common.Block();
    m.setHeader(h);
    m.setData(d);
    m.setMetadata(md);
    return m;
}
sample('block', 'common.Block', blockF, block(blockF));
const metadataF = {
    value: hx('last-config'),
    signatures: [{ signature_header: sigHdrHex, signature: seq(8, 0x77), identifier_header: seq(4, 0x01) }],
};
{
    const m = new common.Metadata();
    m.setValue(B(metadataF.value));
    m.setSignaturesList(
        metadataF.signatures.map((s) => {
            const x = new common.MetadataSignature();
            x.setSignatureHeader(B(s.signature_header));
            x.setSignature(B(s.signature));
            x.setIdentifierHeader(B(s.identifier_header));
            return x;
        }),
    );
    sample('metadata', 'common.Metadata', metadataF, m);
}

// ---- chaincode shim ------------------------------------------------------------------------

const ccMsgF = {
    type: peer.ChaincodeMessage.Type.TRANSACTION,
    timestamp: { seconds: 1700000300, nanos: 999999999 },
    payload: samples.find((s) => s.name === 'chaincode_invocation_spec').hex,
    txid: chHdrF.tx_id,
    proposal: signedPropF,
    chaincode_event: eventF,
    channel_id: 'sfc-channel',
};
{
    const f = ccMsgF;
    const m = new peer.ChaincodeMessage();
    m.setType(f.type);
    m.setTimestamp(timestamp(f.timestamp));
    m.setPayload(B(f.payload));
    m.setTxid(f.txid);
    m.setProposal(signedProposal(f.proposal));
    m.setChaincodeEvent(ccEvent(f.chaincode_event));
    m.setChannelId(f.channel_id);
    sample('chaincode_message', 'protos.ChaincodeMessage', f, m);
}
const completedF = {
    type: peer.ChaincodeMessage.Type.COMPLETED,
    payload: enc(response(errResponseF)),
    txid: 'tx-err',
    chaincode_event: eventF,
    channel_id: 'sfc-channel',
};
{
    const m = new peer.ChaincodeMessage();
    m.setType(completedF.type);
    m.setPayload(B(completedF.payload));
    m.setTxid(completedF.txid);
    m.setChaincodeEvent(ccEvent(completedF.chaincode_event));
    m.setChannelId(completedF.channel_id);
    sample('chaincode_message_completed', 'protos.ChaincodeMessage', completedF, m);
}
const getStateF = { key: 'sf/sf-42', collection: 'sfPrivate' };
{
    const m = new peer.GetState();
    m.setKey(getStateF.key);
    m.setCollection(getStateF.collection);
    sample('get_state', 'protos.GetState', getStateF, m);
}
const putStateF = { key: 'sf/sf-42', value: seq(5, 0xfe), collection: 'sfPrivate' };
{
    const m = new peer.PutState();
    m.setKey(putStateF.key);
    m.setValue(B(putStateF.value));
    m.setCollection(putStateF.collection);
    sample('put_state', 'protos.PutState', putStateF, m);
}
const putMetaF = { key: 'sf/sf-42', collection: 'sfPrivate', metadata: { metakey: 'VALIDATION_PARAMETER', value: seq(6, 0x01) } };
{
    const md = new peer.StateMetadata();
    md.setMetakey(putMetaF.metadata.metakey);
    md.setValue(B(putMetaF.metadata.value));
    const m = new peer.PutStateMetadata();
    m.setKey(putMetaF.key);
    m.setCollection(putMetaF.collection);
    m.setMetadata(md);
    sample('put_state_metadata', 'protos.PutStateMetadata', putMetaF, m);
}
const queryMetaF = { pageSize: 25, bookmark: 'sf/sf-40' };
{
    const m = new peer.QueryMetadata();
    m.setPagesize(queryMetaF.pageSize);
    m.setBookmark(queryMetaF.bookmark);
    sample('query_metadata', 'protos.QueryMetadata', queryMetaF, m);
}
const byRangeF = {
    startKey: 'sf/',
    endKey: 'sf0',
    collection: 'sfPrivate',
    metadata: samples.find((s) => s.name === 'query_metadata').hex,
};
{
    const m = new peer.GetStateByRange();
    m.setStartkey(byRangeF.startKey);
    m.setEndkey(byRangeF.endKey);
    m.setCollection(byRangeF.collection);
    m.setMetadata(B(byRangeF.metadata));
    sample('get_state_by_range', 'protos.GetStateByRange', byRangeF, m);
}
const kvF = { namespace: 'sfcbc', key: 'sf/sf-42', value: hx('{"state":"active"}') };
{
    const m = new queryresult.KV();
    m.setNamespace(kvF.namespace);
    m.setKey(kvF.key);
    m.setValue(B(kvF.value));
    sample('query_result_kv', 'queryresult.KV', kvF, m);
}
const keyModF = { tx_id: 'tx-7', value: seq(3, 0x00), timestamp: { seconds: 1600000000, nanos: 500 }, is_delete: true };
{
    const m = new queryresult.KeyModification();
    m.setTxId(keyModF.tx_id);
    m.setValue(B(keyModF.value));
    m.setTimestamp(timestamp(keyModF.timestamp));
    m.setIsDelete(keyModF.is_delete);
    sample('key_modification', 'queryresult.KeyModification', keyModF, m);
}
const qrMetaF = { fetched_records_count: 25, bookmark: 'sf/sf-65' };
{
    const m = new peer.QueryResponseMetadata();
    m.setFetchedRecordsCount(qrMetaF.fetched_records_count);
    m.setBookmark(qrMetaF.bookmark);
    sample('query_response_metadata', 'protos.QueryResponseMetadata', qrMetaF, m);
}
const qrF = {
    results: [{ resultBytes: samples.find((s) => s.name === 'query_result_kv').hex }, { resultBytes: seq(2, 0xff) }],
    has_more: true,
    id: 'iter-1',
    metadata: samples.find((s) => s.name === 'query_response_metadata').hex,
};
{
    const m = new peer.QueryResponse();
    m.setResultsList(
        qrF.results.map((r) => {
            const x = new peer.QueryResultBytes();
            x.setResultbytes(B(r.resultBytes));
            return x;
        }),
    );
    m.setHasMore(qrF.has_more);
    m.setId(qrF.id);
    m.setMetadata(B(qrF.metadata));
    sample('query_response', 'protos.QueryResponse', qrF, m);
}
const addParamsF = { use_write_batch: true, max_size_write_batch: 1000, use_get_multiple_keys: true, max_size_get_multiple_keys: 300 };
{
    const m = new peer.ChaincodeAdditionalParams();
    m.setUseWriteBatch(addParamsF.use_write_batch);
    m.setMaxSizeWriteBatch(addParamsF.max_size_write_batch);
    m.setUseGetMultipleKeys(addParamsF.use_get_multiple_keys);
    m.setMaxSizeGetMultipleKeys(addParamsF.max_size_get_multiple_keys);
    sample('chaincode_additional_params', 'protos.ChaincodeAdditionalParams', addParamsF, m);
}

// ---- gateway ----------------------------------------------------------------------------

const endorseReqF = {
    transaction_id: chHdrF.tx_id,
    channel_id: 'sfc-channel',
    proposed_transaction: signedPropF,
    endorsing_organizations: ['Org1MSP', 'Org2MSP'],
};
{
    const m = new gateway.EndorseRequest();
    m.setTransactionId(endorseReqF.transaction_id);
    m.setChannelId(endorseReqF.channel_id);
    m.setProposedTransaction(signedProposal(endorseReqF.proposed_transaction));
    m.setEndorsingOrganizationsList(endorseReqF.endorsing_organizations);
    sample('endorse_request', 'gateway.EndorseRequest', endorseReqF, m);
}
const endorseRespF = { prepared_transaction: envelopeF };
{
    const m = new gateway.EndorseResponse();
    m.setPreparedTransaction(envelope(envelopeF));
    sample('endorse_response', 'gateway.EndorseResponse', endorseRespF, m);
}
const submitReqF = { transaction_id: chHdrF.tx_id, channel_id: 'sfc-channel', prepared_transaction: envelopeF };
{
    const m = new gateway.SubmitRequest();
    m.setTransactionId(submitReqF.transaction_id);
    m.setChannelId(submitReqF.channel_id);
    m.setPreparedTransaction(envelope(envelopeF));
    sample('submit_request', 'gateway.SubmitRequest', submitReqF, m);
}
const csReqF = { transaction_id: chHdrF.tx_id, channel_id: 'sfc-channel', identity: creatorHex };
{
    const m = new gateway.CommitStatusRequest();
    m.setTransactionId(csReqF.transaction_id);
    m.setChannelId(csReqF.channel_id);
    m.setIdentity(B(csReqF.identity));
    sample('commit_status_request', 'gateway.CommitStatusRequest', csReqF, m);
}
const signedCsF = { request: samples.find((s) => s.name === 'commit_status_request').hex, signature: seq(70, 0x60) };
{
    const m = new gateway.SignedCommitStatusRequest();
    m.setRequest(B(signedCsF.request));
    m.setSignature(B(signedCsF.signature));
    sample('signed_commit_status_request', 'gateway.SignedCommitStatusRequest', signedCsF, m);
}
const csRespF = { result: peer.TxValidationCode.MVCC_READ_CONFLICT, block_number: 2 ** 34 + 3 };
{
    const m = new gateway.CommitStatusResponse();
    m.setResult(csRespF.result);
    m.setBlockNumber(csRespF.block_number);
    sample('commit_status_response', 'gateway.CommitStatusResponse', csRespF, m);
}
const evalReqF = {
    transaction_id: 'eval-tx',
    channel_id: 'sfc-channel',
    proposed_transaction: signedPropF,
    target_organizations: ['Org3MSP'],
};
{
    const m = new gateway.EvaluateRequest();
    m.setTransactionId(evalReqF.transaction_id);
    m.setChannelId(evalReqF.channel_id);
    m.setProposedTransaction(signedProposal(evalReqF.proposed_transaction));
    m.setTargetOrganizationsList(evalReqF.target_organizations);
    sample('evaluate_request', 'gateway.EvaluateRequest', evalReqF, m);
}
const evalRespF = { result: responseF };
{
    const m = new gateway.EvaluateResponse();
    m.setResult(response(responseF));
    sample('evaluate_response', 'gateway.EvaluateResponse', evalRespF, m);
}
function seekPosition(f) {
    const m = new orderer.SeekPosition();
    if ('specified' in f) {
        const s = new orderer.SeekSpecified();
        s.setNumber(f.specified.number);
        m.setSpecified(s);
    } else if ('newest' in f) {
        m.setNewest(new orderer.SeekNewest());
    } else if ('oldest' in f) {
        m.setOldest(new orderer.SeekOldest());
    } else {
        m.setNextCommit(new orderer.SeekNextCommit());
    }
    return m;
}
const ceReqF = {
    channel_id: 'sfc-channel',
    chaincode_id: 'sfcbc',
    identity: creatorHex,
    start_position: { specified: { number: 2 ** 33 + 1 } },
    after_transaction_id: 'tx-before',
};
{
    const m = new gateway.ChaincodeEventsRequest();
    m.setChannelId(ceReqF.channel_id);
    m.setChaincodeId(ceReqF.chaincode_id);
    m.setIdentity(B(ceReqF.identity));
    m.setStartPosition(seekPosition(ceReqF.start_position));
    m.setAfterTransactionId(ceReqF.after_transaction_id);
    sample('chaincode_events_request', 'gateway.ChaincodeEventsRequest', ceReqF, m);
}
const signedCeF = { request: samples.find((s) => s.name === 'chaincode_events_request').hex, signature: seq(70, 0x70) };
{
    const m = new gateway.SignedChaincodeEventsRequest();
    m.setRequest(B(signedCeF.request));
    m.setSignature(B(signedCeF.signature));
    sample('signed_chaincode_events_request', 'gateway.SignedChaincodeEventsRequest', signedCeF, m);
}
const ceRespF = {
    events: [eventF, { chaincode_id: 'sfcbc', tx_id: 'tx-2', event_name: 'SFRemoved', payload: '' }],
    block_number: 2 ** 34 + 11,
};
{
    const m = new gateway.ChaincodeEventsResponse();
    m.setEventsList(ceRespF.events.map(ccEvent));
    m.setBlockNumber(ceRespF.block_number);
    sample('chaincode_events_response', 'gateway.ChaincodeEventsResponse', ceRespF, m);
}
const errDetailF = { address: 'peer0.org1.example.com:7051', msp_id: 'Org1MSP', message: 'chaincode response 500' };
{
    const m = new gateway.ErrorDetail();
    m.setAddress(errDetailF.address);
    m.setMspId(errDetailF.msp_id);
    m.setMessage(errDetailF.message);
    sample('error_detail', 'gateway.ErrorDetail', errDetailF, m);
}

// ---- orderer and deliver -------------------------------------------------------------------

const seekInfoF = {
    start: { specified: { number: 2 ** 35 + 100 } },
    stop: { newest: {} },
    behavior: orderer.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY,
    error_response: orderer.SeekInfo.SeekErrorResponse.BEST_EFFORT,
    content_type: orderer.SeekInfo.SeekContentType.HEADER_WITH_SIG,
};
{
    const m = new orderer.SeekInfo();
    m.setStart(seekPosition(seekInfoF.start));
    m.setStop(seekPosition(seekInfoF.stop));
    m.setBehavior(seekInfoF.behavior);
    m.setErrorResponse(seekInfoF.error_response);
    m.setContentType(seekInfoF.content_type);
    sample('seek_info', 'orderer.SeekInfo', seekInfoF, m);
}
const seekInfo2F = { start: { oldest: {} }, stop: { next_commit: {} }, behavior: 0, error_response: 0, content_type: 0 };
{
    const m = new orderer.SeekInfo();
    m.setStart(seekPosition(seekInfo2F.start));
    m.setStop(seekPosition(seekInfo2F.stop));
    sample('seek_info_oldest', 'orderer.SeekInfo', seekInfo2F, m);
}
const bcastF = { status: common.Status.SERVICE_UNAVAILABLE, info: 'no raft leader' };
{
    const m = new orderer.BroadcastResponse();
    m.setStatus(bcastF.status);
    m.setInfo(bcastF.info);
    sample('broadcast_response', 'orderer.BroadcastResponse', bcastF, m);
}
const ordDeliverF = { status: common.Status.NOT_FOUND };
{
    const m = new orderer.DeliverResponse();
    m.setStatus(ordDeliverF.status);
    sample('orderer_deliver_response_status', 'orderer.DeliverResponse', ordDeliverF, m);
}
const filteredF = {
    filtered_block: {
        channel_id: 'sfc-channel',
        number: 2 ** 33 + 2,
        filtered_transactions: [
            {
                txid: chHdrF.tx_id,
                type: common.HeaderType.ENDORSER_TRANSACTION,
                tx_validation_code: peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE,
                transaction_actions: { chaincode_actions: [{ chaincode_event: eventF }] },
            },
            { txid: 'cfg-tx', type: common.HeaderType.CONFIG, tx_validation_code: peer.TxValidationCode.VALID },
        ],
    },
};
{
    const fb = new peer.FilteredBlock();
    fb.setChannelId(filteredF.filtered_block.channel_id);
    fb.setNumber(filteredF.filtered_block.number);
    fb.setFilteredTransactionsList(
        filteredF.filtered_block.filtered_transactions.map((t) => {
            const x = new peer.FilteredTransaction();
            x.setTxid(t.txid);
            x.setType(t.type);
            x.setTxValidationCode(t.tx_validation_code);
            if (t.transaction_actions) {
                const a = new peer.FilteredTransactionActions();
                a.setChaincodeActionsList(
                    t.transaction_actions.chaincode_actions.map((c) => {
                        const y = new peer.FilteredChaincodeAction();
                        y.setChaincodeEvent(ccEvent(c.chaincode_event));
                        return y;
                    }),
                );
                x.setTransactionActions(a);
            }
            return x;
        }),
    );
    const m = new peer.DeliverResponse();
    m.setFilteredBlock(fb);
    sample('deliver_response_filtered', 'protos.DeliverResponse', filteredF, m);
}
const blockRespF = { block: blockF };
{
    const m = new peer.DeliverResponse();
    m.setBlock(block(blockF));
    sample('deliver_response_block', 'protos.DeliverResponse', blockRespF, m);
}

// ---- collections and lifecycle -----------------------------------------------------------

const collPkgF = {
    config: [
        {
            static_collection_config: {
                name: 'sfPrivate',
                member_orgs_policy: { signature_policy: speF },
                required_peer_count: 1,
                maximum_peer_count: 3,
                block_to_live: 2 ** 40 + 1,
                member_only_read: true,
                member_only_write: true,
                endorsement_policy: { channel_config_policy_reference: '/Channel/Application/Endorsement' },
            },
        },
        {
            static_collection_config: {
                name: 'orgPrivate',
                member_orgs_policy: { signature_policy: speF },
                required_peer_count: 0,
                maximum_peer_count: 1,
                block_to_live: 0,
                member_only_read: false,
                member_only_write: false,
                endorsement_policy: { signature_policy: speF },
            },
        },
    ],
};
function collectionPackage(f) {
    const m = new peer.CollectionConfigPackage();
    m.setConfigList(
        f.config.map((c) => {
            const s = c.static_collection_config;
            const sc = new peer.StaticCollectionConfig();
            sc.setName(s.name);
            const mop = new peer.CollectionPolicyConfig();
            mop.setSignaturePolicy(spe(s.member_orgs_policy.signature_policy));
            sc.setMemberOrgsPolicy(mop);
            sc.setRequiredPeerCount(s.required_peer_count);
            sc.setMaximumPeerCount(s.maximum_peer_count);
            sc.setBlockToLive(s.block_to_live);
            sc.setMemberOnlyRead(s.member_only_read);
            sc.setMemberOnlyWrite(s.member_only_write);
            const ep = new peer.ApplicationPolicy();
            if ('signature_policy' in s.endorsement_policy) {
                ep.setSignaturePolicy(spe(s.endorsement_policy.signature_policy));
            } else {
                ep.setChannelConfigPolicyReference(s.endorsement_policy.channel_config_policy_reference);
            }
            sc.setEndorsementPolicy(ep);
            const cc = new peer.CollectionConfig();
            cc.setStaticCollectionConfig(sc);
            return cc;
        }),
    );
    return m;
}
sample('collection_config_package', 'protos.CollectionConfigPackage', collPkgF, collectionPackage(collPkgF));

const approveF = {
    sequence: 2 ** 33 + 4,
    name: 'sfcbc',
    version: '1.0.3',
    endorsement_plugin: 'escc',
    validation_plugin: 'vscc',
    validation_parameter: hx('app-policy'),
    collections: collPkgF,
    init_required: true,
    source: { local_package: { package_id: 'sfcbc_1.0:' + seq(32, 0x00) } },
};
{
    const f = approveF;
    const m = new lifecycle.ApproveChaincodeDefinitionForMyOrgArgs();
    m.setSequence(f.sequence);
    m.setName(f.name);
    m.setVersion(f.version);
    m.setEndorsementPlugin(f.endorsement_plugin);
    m.setValidationPlugin(f.validation_plugin);
    m.setValidationParameter(B(f.validation_parameter));
    m.setCollections(collectionPackage(f.collections));
    m.setInitRequired(f.init_required);
    const src = new lifecycle.ChaincodeSource();
    const local = new lifecycle.ChaincodeSource.Local();
    local.setPackageId(f.source.local_package.package_id);
    src.setLocalPackage(local);
    m.setSource(src);
    sample('approve_chaincode_definition_for_my_org_args', 'lifecycle.ApproveChaincodeDefinitionForMyOrgArgs', f, m);
}
const installResF = { package_id: 'sfcbc_1.0:' + seq(32, 0x10), label: 'sfcbc_1.0' };
{
    const m = new lifecycle.InstallChaincodeResult();
    m.setPackageId(installResF.package_id);
    m.setLabel(installResF.label);
    sample('install_chaincode_result', 'lifecycle.InstallChaincodeResult', installResF, m);
}
const installedF = {
    installed_chaincodes: [
        {
            package_id: installResF.package_id,
            label: 'sfcbc_1.0',
            references: {
                'sfc-channel': { chaincodes: [{ name: 'sfcbc', version: '1.0.3' }, { name: 'sfcbc2', version: '2' }] },
                other: { chaincodes: [] },
            },
        },
    ],
};
{
    const R = lifecycle.QueryInstalledChaincodesResult;
    const m = new R();
    m.setInstalledChaincodesList(
        installedF.installed_chaincodes.map((i) => {
            const x = new R.InstalledChaincode();
            x.setPackageId(i.package_id);
            x.setLabel(i.label);
            setMap(x.getReferencesMap(), i.references, (r) => {
                const refs = new R.References();
                refs.setChaincodesList(
                    r.chaincodes.map((c) => {
                        const cc = new R.Chaincode();
                        cc.setName(c.name);
                        cc.setVersion(c.version);
                        return cc;
                    }),
                );
                return refs;
            });
            return x;
        }),
    );
    sample('query_installed_chaincodes_result', 'lifecycle.QueryInstalledChaincodesResult', installedF, m);
}
const readinessF = {
    approvals: { Org1MSP: true, Org2MSP: false },
    mismatches: { Org2MSP: { items: ['version', 'sequence'] } },
};
{
    const R = lifecycle.CheckCommitReadinessResult;
    const m = new R();
    setMap(m.getApprovalsMap(), readinessF.approvals, (v) => v);
    setMap(m.getMismatchesMap(), readinessF.mismatches, (v) => {
        const x = new R.Mismatches();
        x.setItemsList(v.items);
        return x;
    });
    sample('check_commit_readiness_result', 'lifecycle.CheckCommitReadinessResult', readinessF, m);
}
const ccDefF = {
    sequence: 3,
    version: '1.0.3',
    endorsement_plugin: 'escc',
    validation_plugin: 'vscc',
    validation_parameter: seq(10, 0xf0),
    collections: collPkgF,
    init_required: false,
    approvals: { Org1MSP: true, Org2MSP: true },
};
{
    const f = ccDefF;
    const m = new lifecycle.QueryChaincodeDefinitionResult();
    m.setSequence(f.sequence);
    m.setVersion(f.version);
    m.setEndorsementPlugin(f.endorsement_plugin);
    m.setValidationPlugin(f.validation_plugin);
    m.setValidationParameter(B(f.validation_parameter));
    m.setCollections(collectionPackage(f.collections));
    m.setInitRequired(f.init_required);
    setMap(m.getApprovalsMap(), f.approvals, (v) => v);
    sample('query_chaincode_definition_result', 'lifecycle.QueryChaincodeDefinitionResult', f, m);
}

// ---- output ----------------------------------------------------------------------------------

const pkg = JSON.parse(
    fs.readFileSync(path.join(path.dirname(require.resolve('@hyperledger/fabric-protos')), '..', 'package.json'), 'utf8'),
);
const names = new Set();
for (const s of samples) {
    if (names.has(s.name)) throw new Error(`duplicate sample name ${s.name}`);
    names.add(s.name);
}
const out =
    JSON.stringify(
        {
            generator: 'tests/conformance/protos/make-fixture.js',
            package: `${pkg.name}@${pkg.version}`,
            samples,
        },
        null,
        1,
    ) + '\n';
if (process.argv[2]) {
    fs.writeFileSync(process.argv[2], out);
} else {
    process.stdout.write(out);
}
