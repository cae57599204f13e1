'use strict';
// The official Node gateway client against OUR chaincode: the SFC contract served by the
// sfcbc-ccaas server (chaincode "sfc"), through devnet — what an application written for real
// Fabric would do with it: create a chain, read it from another org, its event, the contract
// metadata, private data from the transient map, and chaincode errors with their status.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const { EndorseError, GatewayError, StatusCode } = require('@hyperledger/fabric-gateway');
const {
    config, connectOrg, utf8, json, unique, rejects, collect, waitForTx,
} = require('./lib');

const org1 = connectOrg('Org1');
const org2 = connectOrg('Org2');
after(() => {
    org1.close();
    org2.close();
});
const ccName = config.chaincodes.sfc;

function chainSpec(id) {
    return {
        id,
        hops: [
            { psiid: 'Org1:NameWriter:1', spMsp: 'Org1MSP', address: '127.0.0.2:9001', validation: 'address' },
            { psiid: 'Org2:NameWriter:1', spMsp: 'Org2MSP', address: '127.0.0.3:9002', validation: 'hash' },
        ],
    };
}

test('sfc: CreateChain submitted, GetChain evaluated by a hop SP of another org, ChainCreated event replayed', async () => {
    const id = unique('chain');
    const owner = org1.contract('sfc');
    const submitted = await owner.submitAsync('CreateChain', { arguments: [JSON.stringify(chainSpec(id))] });
    const status = await submitted.getStatus();
    assert.equal(status.code, StatusCode.VALID);
    const created = json(submitted.getResult());
    assert.equal(created.id, id);
    assert.equal(created.version, 1);
    assert.equal(created.state, 'active');
    assert.equal(created.owner.msp, 'Org1MSP');
    assert.equal(created.createdTx, status.transactionId);

    await waitForTx(org2, status.transactionId);
    const seen = json(await org2.contract('sfc').evaluateTransaction('GetChain', id));
    assert.deepEqual(seen, created);

    const events = await org2.network.getChaincodeEvents(ccName, { startBlock: status.blockNumber });
    const [ev] = await collect(events, (e) => e.transactionId === status.transactionId);
    assert.equal(ev.transactionId, status.transactionId);
    assert.equal(ev.eventName, 'ChainCreated');
    assert.deepEqual(json(ev.payload), { chain: id, version: 1, state: 'active', txId: status.transactionId });
});

test('sfc: contract metadata as fabric-contract-api emits it', async () => {
    const meta = json(await org1.contract('sfc').evaluateTransaction('org.hyperledger.fabric:GetMetadata'));
    const contracts = Object.values(meta.contracts);
    assert.ok(contracts.length >= 1);
    const names = contracts.flatMap((c) => c.transactions.map((t) => t.name));
    for (const n of ['CreateChain', 'GetChain', 'RecordHops']) assert.ok(names.includes(n), `${n} in ${names}`);
});

test('sfc: RegisterAccount takes its secret from the transient map, endorsed by the SP org only', async () => {
    const user = unique('user');
    const sp = org2.contract('sfc');
    const submitted = await sp.submitAsync('RegisterAccount', {
        arguments: [user],
        transientData: { secret: 'correct horse', salt: crypto.randomBytes(16) },
        endorsingOrganizations: ['Org2MSP'],
    });
    const status = await submitted.getStatus();
    assert.equal(status.code, StatusCode.VALID);
    assert.equal(json(submitted.getResult()).collection, '_implicit_org_Org2MSP');
    // The secret as an argument is refused by the contract (400).
    const e = await rejects(sp.submitTransaction('RegisterAccount', user, 'secret-in-args'), EndorseError);
    assert.equal(e.code, grpc.status.ABORTED);
    assert.match(e.details[0].message, /^chaincode response 400, /);
});

test('sfc: chaincode errors keep their status: 404 on evaluate, 400 on endorse', async () => {
    const e = await rejects(org1.contract('sfc').evaluateTransaction('GetChain', unique('missing')), GatewayError);
    assert.equal(e.code, grpc.status.UNKNOWN);
    assert.equal(e.details.length, 1);
    assert.equal(e.details[0].mspId, 'Org1MSP');
    assert.equal(e.details[0].address, org1.org.endpoint);
    assert.match(e.details[0].message, /^chaincode response 404, /);

    const bad = await rejects(org1.contract('sfc').submitTransaction('CreateChain', '{not json'), EndorseError);
    assert.equal(bad.code, grpc.status.ABORTED);
    assert.match(bad.transactionId, /^[0-9a-f]{64}$/);
    assert.equal(bad.details[0].mspId, 'Org1MSP');
    assert.match(bad.details[0].message, /^chaincode response 400, /);

    const unknown = await rejects(org1.contract('sfc').evaluateTransaction('NoSuchTx'), GatewayError);
    assert.match(unknown.details[0].message, /^chaincode response 400, .*NoSuchTx/);
});
