'use strict';
// The official @hyperledger/fabric-gateway client against devnet's Gateway and Deliver services:
// evaluate, submit, submitAsync + getStatus, proposals endorsed then submitted, transient data,
// endorsingOrganizations, chaincode events replayed from a block (with checkpointers), block
// events (full, filtered, with private data), error details of failing transactions, and qscc.
// The chaincode is the official Node shim contract in ../shim (chaincode "node").
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const {
    checkpointers, CommitError, EndorseError, GatewayError, StatusCode,
} = require('@hyperledger/fabric-gateway');
const { common, msp, peer } = require('@hyperledger/fabric-protos');
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

test('evaluate: the contract sees the caller\'s identity and the channel', async () => {
    const me = json(await cc.evaluateTransaction('whoami'));
    assert.equal(me.mspId, 'Org1MSP');
    assert.match(me.id, /CN=User1@org1\.example\.com/);
    const info = json(await cc.evaluate('txinfo', { arguments: [] }));
    assert.equal(info.channel, config.channel);
    assert.match(info.txId, /^[0-9a-f]{64}$/);
    assert.ok(Math.abs(info.seconds - Date.now() / 1000) < 60, `proposal timestamp ${info.seconds}`);
    const me2 = json(await org2.contract('node').evaluateTransaction('whoami'));
    assert.equal(me2.mspId, 'Org2MSP');
});

test('submit: the result comes back and the write is readable from both orgs', async () => {
    const key = unique('submit');
    const result = await cc.submitTransaction('put', key, 'v1');
    assert.equal(utf8(result), 'v1');
    assert.equal(utf8(await cc.evaluateTransaction('get', key)), 'v1');
    // Org2's peer commits the same block a moment later: wait for it through chaincode events.
    const events = await org2.network.getChaincodeEvents(ccName, { startBlock: 0n });
    await collect(events, (ev) => ev.eventName === 'put' && json(ev.payload).key === key);
    assert.equal(utf8(await org2.contract('node').evaluateTransaction('get', key)), 'v1');
});

test('submitAsync + getStatus: VALID in a block, the same tx id throughout', async () => {
    const key = unique('async');
    const submitted = await cc.submitAsync('put', { arguments: [key, 'v2'] });
    assert.equal(utf8(submitted.getResult()), 'v2');
    const txId = submitted.getTransactionId();
    assert.match(txId, /^[0-9a-f]{64}$/);
    const status = await submitted.getStatus();
    assert.equal(status.transactionId, txId);
    assert.equal(status.code, StatusCode.VALID);
    assert.equal(status.successful, true);
    assert.equal(typeof status.blockNumber, 'bigint');
    assert.ok(status.blockNumber > 0n);
    // getStatus again answers from the ledger, same block.
    const again = await submitted.getStatus();
    assert.equal(again.blockNumber, status.blockNumber);
});

test('proposal → endorse → submit, in separate steps (offline-signing flow)', async () => {
    const key = unique('steps');
    const proposal = cc.newProposal('put', { arguments: [key, 'v3'] });
    const txId = proposal.getTransactionId();
    const transaction = await proposal.endorse();
    assert.equal(transaction.getTransactionId(), txId);
    assert.equal(utf8(transaction.getResult()), 'v3');
    const commit = await transaction.submit();
    const status = await commit.getStatus();
    assert.equal(status.code, StatusCode.VALID);
    assert.equal(utf8(await cc.evaluateTransaction('get', key)), 'v3');
});

test('a proposal evaluated from its bytes on another gateway connection (newProposal serialisation)', async () => {
    const key = unique('bytes');
    await cc.submitTransaction('put', key, 'v4');
    const proposal = cc.newProposal('get', { arguments: [key] });
    const copy = org1.gateway.newProposal(proposal.getBytes());
    assert.equal(copy.getTransactionId(), proposal.getTransactionId());
    assert.equal(utf8(await copy.evaluate()), 'v4');
});

test('transient data: a private write endorsed by Org1 only; the hash is public, the value is not', async () => {
    const key = unique('secret');
    const collection = '_implicit_org_Org1MSP';
    const value = `hush-${key}`;
    const submitted = await cc.submitAsync('pput', {
        arguments: [collection, key],
        transientData: { value },
        endorsingOrganizations: ['Org1MSP'],
    });
    const status = await submitted.getStatus();
    assert.equal(status.code, StatusCode.VALID, `pput status ${status.code}`);
    await waitForTx(org2, status.transactionId);
    assert.equal(utf8(await cc.evaluateTransaction('pget', collection, key)), value);
    assert.equal(utf8(await cc.evaluateTransaction('phash', collection, key)), sha256hex(value));
    // Org2 is not a member of Org1's implicit collection: it has the hash only.
    const org2cc = org2.contract('node');
    assert.equal(utf8(await org2cc.evaluateTransaction('phash', collection, key)), sha256hex(value));
    const e = await rejects(org2cc.evaluateTransaction('pget', collection, key), GatewayError);
    assert.ok(e.details.length > 0, 'error details');
    // The transaction in the block carries no private value (the block read through qscc).
    const block = await blockOf(org2, status.transactionId);
    assert.ok(!Buffer.from(block.serializeBinary()).includes(Buffer.from(value)), 'private value leaked into the block');
});

test('endorsingOrganizations steers endorsement to the named org', async () => {
    const key = unique('steer');
    // Connected to Org1's gateway, endorsed by Org2 only.
    const submitted = await cc.submitAsync('put', { arguments: [key, 'x'], endorsingOrganizations: ['Org2MSP'] });
    const status = await submitted.getStatus();
    assert.equal(status.code, StatusCode.VALID);
    assert.deepEqual(endorserMspIds(await blockOf(org1, status.transactionId), status.transactionId), ['Org2MSP']);
});

test('a MAJORITY (both orgs) chaincode: the gateway collects both endorsements itself', async () => {
    const both = org1.contract('nodeMajority');
    const key = unique('majority');
    const submitted = await both.submitAsync('put', { arguments: [key, 'm'] });
    const status = await submitted.getStatus();
    assert.equal(status.code, StatusCode.VALID);
    assert.deepEqual(endorserMspIds(await blockOf(org1, status.transactionId), status.transactionId), ['Org1MSP', 'Org2MSP']);
    // Its own namespace: the same key is absent from the other chaincode.
    assert.equal(utf8(await both.evaluateTransaction('get', key)), 'm');
    assert.equal(utf8(await cc.evaluateTransaction('exists', key)), 'false');
    // Endorsed by one org only, the transaction fails validation (policy not satisfied).
    const one = await both.submitAsync('put', { arguments: [unique('one'), 'x'], endorsingOrganizations: ['Org1MSP'] });
    const s1 = await one.getStatus();
    assert.equal(s1.code, StatusCode.ENDORSEMENT_POLICY_FAILURE);
    // A failing transaction reports the endorsing peers' details.
    const e = await rejects(both.submitTransaction('fail', 'boom-majority'), EndorseError);
    assert.equal(e.code, grpc.status.ABORTED);
    assert.ok(e.details.length >= 1);
    assert.match(e.details[0].message, /chaincode response 500, boom-majority/);
});

// Checked on REAL Fabric 2.5.16 (fabric-real harness: 2 orgs, channel Endorsement MAJORITY, this
// repo's ../shim contract as CCaaS, @hyperledger/fabric-gateway 1.11 through Org1's gateway,
// 2026-11-26): pput('_implicit_org_Org1MSP', k) with transientData and NO endorsingOrganizations
// was endorsed by Org1MSP alone and committed VALID (code 0); the same with endorsingOrganizations
// [Org1MSP], and the same write with no transient data, likewise Org1MSP only / VALID; a public put
// endorsed by Org1 only was ENDORSEMENT_POLICY_FAILURE (10); pput('_implicit_org_Org2MSP', k) with
// transient data through Org1's gateway was endorsed by Org2MSP alone, VALID. Why: the endorser's
// ChaincodeInterest for a namespace with only private writes has just the collection call
// (core/endorser/endorser.go buildChaincodeInterest), discovery uses "member of <org>" for an
// implicit collection (core/chaincode/lifecycle/metadata_provider.go), so the plan is the owner
// org, inside the distribution policy, and internal/pkg/gateway/endorse.go's FAILED_PRECONDITION
// "requires endorsement from organisation(s) that are not in the distribution policy ..." does not
// apply; the validator checks an implicit-collection write against that org's Endorsement policy
// and, with no public write, not the chaincode's MAJORITY.
test('Fabric 2.5: a private-only write to an implicit collection under MAJORITY is endorsed by the owner org alone, with transient data and no endorsingOrganizations, and is VALID', async () => {
    const both = org1.contract('nodeMajority');
    const own = await both.submitAsync('pput', {
        arguments: ['_implicit_org_Org1MSP', unique('guard')],
        transientData: { value: 'stays-in-org1' },
    });
    const s1 = await own.getStatus();
    assert.equal(s1.code, StatusCode.VALID);
    assert.deepEqual(endorserMspIds(await blockOf(org1, s1.transactionId), s1.transactionId), ['Org1MSP']);
    // Naming the trusted org gives the same single endorsement.
    const named = await both.submitAsync('pput', {
        arguments: ['_implicit_org_Org1MSP', unique('guard')],
        transientData: { value: 'v' },
        endorsingOrganizations: ['Org1MSP'],
    });
    const s2 = await named.getStatus();
    assert.equal(s2.code, StatusCode.VALID);
    assert.deepEqual(endorserMspIds(await blockOf(org1, s2.transactionId), s2.transactionId), ['Org1MSP']);
    // Org2's implicit collection through Org1's gateway: the plan is Org2 alone (Org1's first
    // endorsement only tells the gateway what was written).
    const other = await both.submitAsync('pput', {
        arguments: ['_implicit_org_Org2MSP', unique('guard')],
        transientData: { value: 'for-org2' },
    });
    const s3 = await other.getStatus();
    assert.equal(s3.code, StatusCode.VALID);
    assert.deepEqual(endorserMspIds(await blockOf(org1, s3.transactionId), s3.transactionId), ['Org2MSP']);
});

// Where Fabric's transient-data refusal does apply, also checked on REAL Fabric 2.5.16 (same
// harness, the chaincode redefined with this collection config: `org1only`, members Org1,
// no collection endorsement policy, chaincode policy MAJORITY): pput('org1only', k) with
// transientData and no endorsingOrganizations → EndorseError, gRPC 9 FAILED_PRECONDITION,
// message "requires endorsement from organisation(s) that are not in the distribution policy of
// the private data collection(s): [org1only]; retry specifying trusted endorsing organizations to
// protect transient data", no details; with endorsingOrganizations [Org1MSP] → endorsed by Org1,
// committed ENDORSEMENT_POLICY_FAILURE (10); the same write without transient data
// (pputArg) → endorsed by Org1MSP and Org2MSP, VALID.
test('Fabric 2.5 transient-data rule: a collection whose writes need orgs outside its distribution is refused with transient data', async () => {
    const both = org1.contract('nodeMajority');
    const e = await rejects(both.submit('pput', {
        arguments: ['org1only', unique('guard')],
        transientData: { value: 'must-not-reach-org2' },
    }), EndorseError);
    assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(e.details.length, 0);
    assert.match(e.message, /requires endorsement from organisation\(s\) that are not in the distribution policy of the private data collection\(s\): \[org1only\]; retry specifying trusted endorsing organizations to protect transient data/);
    // Naming Org1 gets the write endorsed, but one org does not satisfy MAJORITY at validation.
    const named = await both.submitAsync('pput', {
        arguments: ['org1only', unique('guard')],
        transientData: { value: 'v' },
        endorsingOrganizations: ['Org1MSP'],
    });
    const s1 = await named.getStatus();
    assert.equal(s1.code, StatusCode.ENDORSEMENT_POLICY_FAILURE);
    assert.deepEqual(endorserMspIds(await blockOf(org1, s1.transactionId), s1.transactionId), ['Org1MSP']);
    // Without transient data nothing is protected: both orgs endorse and it is VALID.
    const plain = await both.submitAsync('pputArg', { arguments: ['org1only', unique('guard'), 'public-arg'] });
    const s2 = await plain.getStatus();
    assert.equal(s2.code, StatusCode.VALID);
    assert.deepEqual(endorserMspIds(await blockOf(org1, s2.transactionId), s2.transactionId), ['Org1MSP', 'Org2MSP']);
});

// The block holding `txId`, read through the peer's qscc (GetBlockByTxID).
async function blockOf(conn, txId) {
    const bytes = await conn.network.getContract('qscc').evaluateTransaction('GetBlockByTxID', config.channel, txId);
    return common.Block.deserializeBinary(bytes);
}

function endorserMspIds(block, txId) {
    for (const data of block.getData().getDataList_asU8()) {
        const env = common.Envelope.deserializeBinary(data);
        const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
        const ch = common.ChannelHeader.deserializeBinary(payload.getHeader().getChannelHeader_asU8());
        if (ch.getTxId() !== txId) continue;
        const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
        const action = peer.ChaincodeActionPayload.deserializeBinary(tx.getActionsList()[0].getPayload_asU8());
        return action.getAction().getEndorsementsList()
            .map((en) => msp.SerializedIdentity.deserializeBinary(en.getEndorser_asU8()).getMspid())
            .sort();
    }
    throw new Error(`tx ${txId} is not in block ${block.getHeader().getNumber()}`);
}

test('chaincode events: replay from a block, in commit order, with tx ids and block numbers', async () => {
    const prefix = unique('ev');
    const statuses = [];
    for (let i = 0; i < 3; i++) {
        const s = await cc.submitAsync('put', { arguments: [`${prefix}-${i}`, `${i}`] });
        statuses.push(await s.getStatus());
    }
    const mine = new Set(statuses.map((s) => s.transactionId));
    const events = await org1.network.getChaincodeEvents(ccName, { startBlock: statuses[0].blockNumber });
    const got = (await collect(events, (ev, all) => all.filter((x) => mine.has(x.transactionId)).length === 3))
        .filter((ev) => mine.has(ev.transactionId));
    assert.equal(got.length, 3, 'all three events replayed');
    got.forEach((ev, i) => {
        assert.equal(ev.chaincodeName, ccName);
        assert.equal(ev.eventName, 'put');
        assert.equal(ev.transactionId, statuses[i].transactionId);
        assert.equal(ev.blockNumber, statuses[i].blockNumber);
        assert.deepEqual(json(ev.payload), { key: `${prefix}-${i}`, value: `${i}` });
    });
    // Org2's peer delivers the same events.
    const events2 = await org2.network.getChaincodeEvents(ccName, { startBlock: statuses[0].blockNumber });
    const got2 = (await collect(events2, (ev, all) => all.filter((x) => mine.has(x.transactionId)).length === 3))
        .filter((ev) => mine.has(ev.transactionId));
    assert.deepEqual(got2.map((e) => e.transactionId), got.map((e) => e.transactionId));
});

test('chaincode events: live (no start block) see a later submit', async () => {
    const key = unique('live');
    const events = await org1.network.getChaincodeEvents(ccName);
    const reading = collect(events, (ev) => ev.eventName === 'put' && json(ev.payload).key === key);
    const submitted = await cc.submitAsync('put', { arguments: [key, 'live'] });
    const got = await reading;
    assert.equal(got.at(-1).transactionId, submitted.getTransactionId());
});

test('chaincode events: a checkpointer resumes after the last event read (in memory and file)', async () => {
    const prefix = unique('ckpt');
    const statuses = [];
    for (let i = 0; i < 3; i++) {
        // Several events in one block as well as across blocks: submit two without waiting.
        const a = await cc.submitAsync('put', { arguments: [`${prefix}-${i}-a`, 'a'] });
        const b = await cc.submitAsync('put', { arguments: [`${prefix}-${i}-b`, 'b'] });
        statuses.push(await a.getStatus(), await b.getStatus());
    }
    const mine = statuses.map((s) => s.transactionId);
    const isMine = (ev) => mine.includes(ev.transactionId);
    for (const checkpointer of [checkpointers.inMemory(),
        await checkpointers.file(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-')), 'checkpoint.json'))]) {
        const seen = [];
        // Read two of my events, checkpointing each event read, then stop.
        let events = await org1.network.getChaincodeEvents(ccName, { startBlock: statuses[0].blockNumber, checkpoint: checkpointer });
        await collect(events, (ev) => {
            checkpointer.checkpointChaincodeEvent(ev);
            if (isMine(ev)) seen.push(ev.transactionId);
            return seen.length === 2;
        });
        // A new stream from the checkpoint (its start block is ignored) yields the rest, no repeats.
        events = await org1.network.getChaincodeEvents(ccName, { startBlock: 0n, checkpoint: checkpointer });
        await collect(events, (ev) => {
            checkpointer.checkpointChaincodeEvent(ev);
            if (isMine(ev)) seen.push(ev.transactionId);
            return seen.length === mine.length;
        });
        assert.deepEqual(seen, mine, 'every event exactly once, in order');
        assert.equal(checkpointer.getBlockNumber(), statuses.at(-1).blockNumber);
        assert.equal(checkpointer.getTransactionId(), mine.at(-1));
    }
});

test('block events: full blocks from a start block, with the tx and its validation code', async () => {
    const key = unique('blk');
    const submitted = await cc.submitAsync('put', { arguments: [key, 'b'] });
    const status = await submitted.getStatus();
    const blocks = await org1.network.getBlockEvents({ startBlock: status.blockNumber });
    const [block] = await collect(blocks, () => true);
    assert.equal(BigInt(block.getHeader().getNumber()), status.blockNumber);
    const txIds = block.getData().getDataList_asU8().map((d) => {
        const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(d).getPayload_asU8());
        return common.ChannelHeader.deserializeBinary(payload.getHeader().getChannelHeader_asU8()).getTxId();
    });
    const index = txIds.indexOf(status.transactionId);
    assert.ok(index >= 0, 'tx in block');
    const filter = block.getMetadata().getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
    assert.equal(filter.length, txIds.length);
    assert.equal(filter[index], peer.TxValidationCode.VALID);
    // The header hash chain: block N's previous_hash is the hash of block N-1's header.
    const prev = await collect(await org1.network.getBlockEvents({ startBlock: status.blockNumber - 1n }), (b, all) => all.length === 2);
    assert.equal(prev.length, 2);
    assert.equal(BigInt(prev[1].getHeader().getNumber()), status.blockNumber);
    assert.ok(prev[1].getHeader().getPreviousHash_asU8().length === 32);
});

test('block events: filtered blocks carry tx ids, validation codes and chaincode event names', async () => {
    const key = unique('fblk');
    const submitted = await cc.submitAsync('put', { arguments: [key, 'f'] });
    const status = await submitted.getStatus();
    const blocks = await org2.network.getFilteredBlockEvents({ startBlock: status.blockNumber });
    const [fb] = await collect(blocks, () => true);
    assert.equal(BigInt(fb.getNumber()), status.blockNumber);
    assert.equal(fb.getChannelId(), config.channel);
    const tx = fb.getFilteredTransactionsList().find((t) => t.getTxid() === status.transactionId);
    assert.ok(tx, 'tx in filtered block');
    assert.equal(tx.getTxValidationCode(), peer.TxValidationCode.VALID);
    assert.equal(tx.getType(), common.HeaderType.ENDORSER_TRANSACTION);
    const actions = tx.getTransactionActions().getChaincodeActionsList();
    assert.equal(actions[0].getChaincodeEvent().getEventName(), 'put');
    assert.equal(actions[0].getChaincodeEvent().getChaincodeId(), ccName);
    // Filtered events carry no payload.
    assert.equal(actions[0].getChaincodeEvent().getPayload_asU8().length, 0);
});

test('block events: block and private data for a member org', async () => {
    const key = unique('pvtblk');
    const value = `pv-${key}`;
    const submitted = await cc.submitAsync('pput', {
        arguments: ['_implicit_org_Org1MSP', key],
        transientData: { value },
        endorsingOrganizations: ['Org1MSP'],
    });
    const status = await submitted.getStatus();
    assert.equal(status.code, StatusCode.VALID);
    const events = await org1.network.getBlockAndPrivateDataEvents({ startBlock: status.blockNumber });
    const [bpd] = await collect(events, () => true);
    assert.equal(BigInt(bpd.getBlock().getHeader().getNumber()), status.blockNumber);
    const pvt = bpd.getPrivateDataMapMap();
    let found = false;
    pvt.forEach((txPvt) => {
        if (Buffer.from(txPvt.serializeBinary()).includes(Buffer.from(value))) found = true;
    });
    assert.ok(found, 'the private value is in the member peer\'s private data map');
});

test('block events: a block checkpointer resumes at the next block', async () => {
    const a = await (await cc.submitAsync('put', { arguments: [unique('bc'), '1'] })).getStatus();
    const b = await (await cc.submitAsync('put', { arguments: [unique('bc'), '2'] })).getStatus();
    assert.ok(b.blockNumber > a.blockNumber);
    const checkpointer = checkpointers.inMemory();
    await checkpointer.checkpointBlock(a.blockNumber);
    const [next] = await collect(await org1.network.getBlockEvents({ checkpoint: checkpointer }), () => true);
    assert.equal(BigInt(next.getHeader().getNumber()), a.blockNumber + 1n);
});

test('errors: evaluate of a failing transaction → GatewayError UNKNOWN with the peer\'s details', async () => {
    const e = await rejects(cc.evaluateTransaction('fail', 'boom-evaluate'), GatewayError);
    assert.equal(e.code, grpc.status.UNKNOWN);
    assert.equal(e.details.length, 1, JSON.stringify(e.details));
    const [d] = e.details;
    assert.equal(d.mspId, 'Org1MSP');
    assert.equal(d.address, org1.org.endpoint);
    assert.match(d.message, /^chaincode response 500, boom-evaluate$/);
    assert.match(e.message, /evaluate call to endorser returned error: chaincode response 500, boom-evaluate/);
});

test('errors: submit of a failing transaction → EndorseError ABORTED with tx id and details', async () => {
    const proposal = cc.newProposal('fail', { arguments: ['boom-submit'] });
    const e = await rejects(cc.submitTransaction('fail', 'boom-submit'), EndorseError);
    assert.equal(e.code, grpc.status.ABORTED);
    assert.match(e.transactionId, /^[0-9a-f]{64}$/);
    assert.notEqual(e.transactionId, proposal.getTransactionId());
    assert.ok(e.details.length >= 1, JSON.stringify(e.details));
    for (const d of e.details) {
        assert.ok(['Org1MSP', 'Org2MSP'].includes(d.mspId), d.mspId);
        assert.ok([org1.org.endpoint, org2.org.endpoint].includes(d.address), d.address);
        assert.match(d.message, /chaincode response 500, boom-submit/);
    }
    // The same through an explicit proposal.
    const e2 = await rejects(proposal.endorse(), EndorseError);
    assert.equal(e2.transactionId, proposal.getTransactionId());
});

test('errors: a missing key from the contract, an unknown function, an unknown chaincode, an unknown channel', async () => {
    const e = await rejects(cc.evaluateTransaction('get', unique('nope')), GatewayError);
    assert.match(e.details[0].message, /chaincode response 500, .*does not exist/);
    const f = await rejects(cc.evaluateTransaction('noSuchFunction'), GatewayError);
    assert.match(f.details.map((d) => d.message).join() + f.message, /noSuchFunction/);
    const g = await rejects(org1.network.getContract('no-such-cc').evaluateTransaction('x'), GatewayError);
    assert.ok([grpc.status.NOT_FOUND, grpc.status.UNKNOWN, grpc.status.FAILED_PRECONDITION, grpc.status.UNAVAILABLE].includes(g.code),
        `code ${g.code}: ${g.message}`);
    const h = await rejects(org1.gateway.getNetwork('no-such-channel').getContract(ccName).evaluateTransaction('whoami'), GatewayError);
    assert.ok(h.code !== grpc.status.OK, h.message);
});

test('errors: a transaction invalidated at commit → CommitError with its validation code', async () => {
    const key = unique('commiterr');
    const p1 = cc.newProposal('incr', { arguments: [key] });
    const p2 = cc.newProposal('incr', { arguments: [key] });
    const [t1, t2] = [await p1.endorse(), await p2.endorse()];
    const c1 = await t1.submit();
    assert.equal((await c1.getStatus()).code, StatusCode.VALID);
    const c2 = await t2.submit();
    const s2 = await c2.getStatus();
    assert.equal(s2.code, StatusCode.MVCC_READ_CONFLICT);
    assert.equal(s2.successful, false);
    // submitTransaction throws CommitError for the same situation.
    const p3 = cc.newProposal('incr', { arguments: [key] });
    const t3 = await p3.endorse();
    await cc.submitTransaction('incr', key);
    const c3 = await t3.submit();
    const s3 = await c3.getStatus();
    assert.equal(s3.code, StatusCode.MVCC_READ_CONFLICT);
    assert.equal(utf8(await cc.evaluateTransaction('get', key)), '2');
    // The high-level call: two concurrent submitTransaction('incr') endorse against the same
    // version (endorsement takes milliseconds, a block BatchTimeout), so one fails at commit
    // with CommitError.
    const settled = await Promise.allSettled([cc.submitTransaction('incr', key), cc.submitTransaction('incr', key)]);
    const failed = settled.filter((r) => r.status === 'rejected');
    assert.equal(failed.length, 1, JSON.stringify(settled.map((r) => r.status)));
    assert.ok(failed[0].reason instanceof CommitError, String(failed[0].reason));
    assert.equal(failed[0].reason.code, StatusCode.MVCC_READ_CONFLICT);
    assert.match(failed[0].reason.transactionId, /^[0-9a-f]{64}$/);
    assert.equal(utf8(await cc.evaluateTransaction('get', key)), '3');
});

test('qscc: GetChainInfo and GetBlockByNumber / GetTransactionByID through evaluate', async () => {
    const status = await (await cc.submitAsync('put', { arguments: [unique('qscc'), 'q'] })).getStatus();
    const qscc = org1.network.getContract('qscc');
    const info = common.BlockchainInfo.deserializeBinary(await qscc.evaluateTransaction('GetChainInfo', config.channel));
    assert.ok(BigInt(info.getHeight()) > status.blockNumber);
    const block = common.Block.deserializeBinary(
        await qscc.evaluateTransaction('GetBlockByNumber', config.channel, String(status.blockNumber)));
    assert.equal(BigInt(block.getHeader().getNumber()), status.blockNumber);
    const ptx = peer.ProcessedTransaction.deserializeBinary(
        await qscc.evaluateTransaction('GetTransactionByID', config.channel, status.transactionId));
    assert.equal(ptx.getValidationcode(), peer.TxValidationCode.VALID);
    const byTx = common.Block.deserializeBinary(
        await qscc.evaluateTransaction('GetBlockByTxID', config.channel, status.transactionId));
    assert.equal(BigInt(byTx.getHeader().getNumber()), status.blockNumber);
});
