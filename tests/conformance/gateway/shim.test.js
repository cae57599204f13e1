'use strict';
// devnet driving the OFFICIAL Node chaincode shim (fabric-shim / fabric-contract-api 2.5, CCaaS
// server mode, ../shim/index.js) end to end — submitted and evaluated through the official Node
// gateway client, endorsed, ordered, validated and committed by devnet: put/get/del state, range
// queries beyond one shim batch and with pagination, composite keys, history, private data and
// its hash, chaincode events, and an MVCC conflict between two concurrent transactions.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { StatusCode, GatewayError } = require('@hyperledger/fabric-gateway');
const {
    config, connectOrg, utf8, json, unique, sha256hex, rejects, collect, waitForTx,
} = require('./lib');

const org1 = connectOrg('Org1');
const org2 = connectOrg('Org2');
after(() => {
    org1.close();
    org2.close();
});
const cc = org1.contract('node');
const ccName = config.chaincodes.node;

async function submit(contract, name, args, options = {}) {
    const submitted = await contract.submitAsync(name, { arguments: args, ...options });
    const status = await submitted.getStatus();
    assert.equal(status.code, StatusCode.VALID, `${name}(${args}) → validation code ${status.code}`);
    return { result: utf8(submitted.getResult()), status };
}

// Evaluates get(key) on `contract` until it answers `want` (a peer that has the block may
// still be applying it to its state database) or `ms` elapse.
async function readUntil(contract, key, want, ms = 10000) {
    const deadline = Date.now() + ms;
    for (;;) {
        let got;
        try {
            got = utf8(await contract.evaluateTransaction('get', key));
        } catch (e) {
            got = e.message;
        }
        if (got === want) return;
        if (Date.now() > deadline) {
            throw new Error(`get(${key}) answered ${JSON.stringify(got)}, not ${JSON.stringify(want)}, after ${ms} ms`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}

test('shim: put, get, delete', async () => {
    const key = unique('kv');
    assert.equal(utf8(await cc.evaluateTransaction('exists', key)), 'false');
    await submit(cc, 'put', [key, 'one']);
    assert.equal(utf8(await cc.evaluateTransaction('get', key)), 'one');
    assert.equal(utf8(await cc.evaluateTransaction('exists', key)), 'true');
    const two = await submit(cc, 'put', [key, 'two']);
    await waitForTx(org2, two.status.transactionId);
    assert.equal(utf8(await org2.contract('node').evaluateTransaction('get', key)), 'two');
    await submit(cc, 'del', [key]);
    assert.equal(utf8(await cc.evaluateTransaction('exists', key)), 'false');
    const e = await rejects(cc.evaluateTransaction('get', key), GatewayError);
    assert.match(e.details[0].message, /does not exist/);
    // Values are bytes: non-UTF-8-safe content round-trips.
    const odd = unique('odd');
    await submit(cc, 'put', [odd, 'ünïcödé ✓ \u0001']);
    assert.equal(utf8(await cc.evaluateTransaction('get', odd)), 'ünïcödé ✓ \u0001');
});

test('shim: a range beyond one 100-result batch (QUERY_STATE_NEXT), and paginated ranges with bookmarks', async () => {
    const p = `${unique('rng')}-`;
    await submit(cc, 'putMany', [p, '150']);
    const all = json(await cc.evaluateTransaction('range', `${p}000`, `${p}999`));
    assert.equal(all.length, 150);
    assert.deepEqual(all, [...all].sort());
    assert.equal(all[0], `${p}000`);
    assert.equal(all[149], `${p}149`);
    // An empty end key means "to the end of the namespace": at least ours.
    const open = json(await cc.evaluateTransaction('range', `${p}100`, ''));
    assert.ok(open.length >= 50 && open[0] === `${p}100`, JSON.stringify(open.slice(0, 3)));

    const pages = [];
    let bookmark = '';
    for (;;) {
        const page = json(await cc.evaluateTransaction('page', `${p}000`, `${p}999`, '40', bookmark));
        pages.push(page);
        assert.equal(page.count, page.keys.length);
        bookmark = page.bookmark;
        if (!bookmark || pages.length > 10) break;
    }
    assert.deepEqual(pages.map((x) => x.count), [40, 40, 40, 30]);
    assert.deepEqual(pages.flatMap((x) => x.keys), all);
    assert.equal(pages[0].bookmark, `${p}040`);

    // A range query in a submitted transaction validates (range-query info, no phantoms).
    const r = await submit(cc, 'range', [`${p}000`, `${p}010`]);
    assert.equal(json(r.result).length, 10);
});

test('shim: composite keys and partial composite key queries', async () => {
    const owner = unique('owner');
    await submit(cc, 'putOwned', [owner, 'b', 'B']);
    await submit(cc, 'putOwned', [owner, 'a', 'A']);
    await submit(cc, 'putOwned', [`${owner}x`, 'c', 'C']);
    const list = json(await cc.evaluateTransaction('listOwned', owner));
    assert.deepEqual(list, [
        { objectType: 'owned', attributes: [owner, 'a'], value: 'A' },
        { objectType: 'owned', attributes: [owner, 'b'], value: 'B' },
    ]);
    // Composite keys live outside the simple-key range: a full simple range does not list them.
    const simple = json(await cc.evaluateTransaction('range', '', ''));
    assert.ok(!simple.some((k) => k.includes(owner)), 'composite keys leaked into a simple range');
});

test('shim: history for a key, newest first, with the delete and tx ids', async () => {
    const key = unique('hist');
    const s1 = await submit(cc, 'put', [key, 'h1']);
    const s2 = await submit(cc, 'put', [key, 'h2']);
    const s3 = await submit(cc, 'del', [key]);
    const s4 = await submit(cc, 'put', [key, 'h4']);
    await waitForTx(org2, s4.status.transactionId);
    const history = json(await cc.evaluateTransaction('history', key));
    assert.deepEqual(history.map((h) => h.txId), [s4, s3, s2, s1].map((s) => s.status.transactionId));
    assert.deepEqual(history.map((h) => h.isDelete), [false, true, false, false]);
    assert.deepEqual(history.filter((h) => !h.isDelete).map((h) => h.value), ['h4', 'h2', 'h1']);
    // Org2's peer indexed the same history.
    const history2 = json(await org2.contract('node').evaluateTransaction('history', key));
    assert.deepEqual(history2, history);
});

test('shim: private data from the transient map, read back, its hash, a private range and a delete', async () => {
    const coll = '_implicit_org_Org1MSP';
    const prefix = unique('pvt');
    const opts = (value) => ({ transientData: { value }, endorsingOrganizations: ['Org1MSP'] });
    await submit(cc, 'pput', [coll, `${prefix}-1`], opts('secret-1'));
    const second = await submit(cc, 'pput', [coll, `${prefix}-2`], opts('secret-2'));
    await waitForTx(org2, second.status.transactionId);
    assert.equal(utf8(await cc.evaluateTransaction('pget', coll, `${prefix}-1`)), 'secret-1');
    assert.equal(utf8(await cc.evaluateTransaction('phash', coll, `${prefix}-2`)), sha256hex('secret-2'));
    assert.deepEqual(json(await cc.evaluateTransaction('prange', coll, `${prefix}-`, `${prefix}-~`)),
        [`${prefix}-1`, `${prefix}-2`]);
    // Non-member Org2 holds the hash only.
    assert.equal(utf8(await org2.contract('node').evaluateTransaction('phash', coll, `${prefix}-1`)), sha256hex('secret-1'));
    // Org2 writes its own implicit collection through its own gateway.
    const coll2 = '_implicit_org_Org2MSP';
    const own = await submit(org2.contract('node'), 'pput', [coll2, prefix], { transientData: { value: 'org2-secret' }, endorsingOrganizations: ['Org2MSP'] });
    await waitForTx(org1, own.status.transactionId);
    assert.equal(utf8(await org2.contract('node').evaluateTransaction('pget', coll2, prefix)), 'org2-secret');
    assert.equal(utf8(await cc.evaluateTransaction('phash', coll2, prefix)), sha256hex('org2-secret'));
    // Delete: the value and the hash are gone.
    await submit(cc, 'pdel', [coll, `${prefix}-1`], { endorsingOrganizations: ['Org1MSP'] });
    await rejects(cc.evaluateTransaction('pget', coll, `${prefix}-1`), GatewayError);
    assert.equal(utf8(await cc.evaluateTransaction('phash', coll, `${prefix}-1`)), '');
});

test('shim: chaincode events from the shim reach the client (name, payload, tx id)', async () => {
    const key = unique('shimev');
    const put = await submit(cc, 'put', [key, 'e']);
    const del = await submit(cc, 'del', [key]);
    const mine = [put.status.transactionId, del.status.transactionId];
    const events = await org2.network.getChaincodeEvents(ccName, { startBlock: put.status.blockNumber });
    const got = (await collect(events, (ev, all) => all.filter((x) => mine.includes(x.transactionId)).length === 2))
        .filter((ev) => mine.includes(ev.transactionId));
    assert.deepEqual(got.map((e) => e.eventName), ['put', 'del']);
    assert.deepEqual(json(got[0].payload), { key, value: 'e' });
    assert.equal(utf8(got[1].payload), key);
});

test('shim: MVCC conflict between two concurrent transactions — one VALID, one MVCC_READ_CONFLICT, only the valid one\'s event', async () => {
    const key = unique('mvcc');
    const seeded = await submit(cc, 'put', [key, '10']);
    // The commit status comes from Org1's peer; Org2's peer commits the same block a few ms later
    // (as on real Fabric), and an endorsement there before that reads no value ('1', not '11').
    // Wait until Org2's peer has the block and serves the value.
    await waitForTx(org2, seeded.status.transactionId);
    await readUntil(org2.contract('node'), key, '10');
    // Both read version v of `key` and write it: endorse both before either commits.
    const p1 = cc.newProposal('incr', { arguments: [key] });
    const p2 = org2.contract('node').newProposal('incr', { arguments: [key] });
    const [t1, t2] = await Promise.all([p1.endorse(), p2.endorse()]);
    assert.equal(utf8(t1.getResult()), '11');
    assert.equal(utf8(t2.getResult()), '11');
    const [c1, c2] = await Promise.all([t1.submit(), t2.submit()]);
    const [s1, s2] = await Promise.all([c1.getStatus(), c2.getStatus()]);
    const codes = [s1.code, s2.code].sort((a, b) => a - b);
    assert.deepEqual(codes, [StatusCode.VALID, StatusCode.MVCC_READ_CONFLICT]);
    const valid = s1.code === StatusCode.VALID ? s1 : s2;
    const invalid = s1.code === StatusCode.VALID ? s2 : s1;
    for (const conn of [org1, org2]) {
        await waitForTx(conn, s1.transactionId);
        await waitForTx(conn, s2.transactionId);
    }
    assert.equal(invalid.successful, false);
    assert.equal(utf8(await cc.evaluateTransaction('get', key)), '11');
    // Both peers agree on the validation codes.
    const qscc2 = org2.network.getContract('qscc');
    const { peer } = require('@hyperledger/fabric-protos');
    const ptx = peer.ProcessedTransaction.deserializeBinary(
        await qscc2.evaluateTransaction('GetTransactionByID', config.channel, invalid.transactionId));
    assert.equal(ptx.getValidationcode(), StatusCode.MVCC_READ_CONFLICT);
    // Chaincode events are delivered for VALID transactions only.
    const marker = await submit(cc, 'put', [unique('marker'), 'm']);
    const events = await org1.network.getChaincodeEvents(ccName, { startBlock: Math.min(Number(s1.blockNumber), Number(s2.blockNumber)) });
    const got = await collect(events, (ev) => ev.transactionId === marker.status.transactionId);
    const ids = got.map((e) => e.transactionId);
    assert.ok(ids.includes(valid.transactionId), 'the valid tx\'s event');
    assert.ok(!ids.includes(invalid.transactionId), 'an event of an invalid tx was delivered');
});
