'use strict';
// A small contract on the OFFICIAL Node chaincode shim (fabric-contract-api / fabric-shim 2.5),
// run as chaincode-as-a-service:
//   node_modules/.bin/fabric-chaincode-node server --chaincode-address HOST:PORT --chaincode-id ID
// devnet's peers dial it and drive every shim call below (GET_STATE, PUT_STATE, DEL_STATE,
// GET_STATE_BY_RANGE + QUERY_STATE_NEXT + QUERY_STATE_CLOSE, paginated ranges, partial composite
// keys, GET_HISTORY_FOR_KEY, private data and its hash, events). The conformance tests in
// ../gateway/shim.test.js call it through the official Node gateway client.
const { Contract } = require('fabric-contract-api');

const text = (bytes) => Buffer.from(bytes).toString('utf8');

async function drain(iterator, map) {
    const out = [];
    let r = await iterator.next();
    while (!r.done) {
        out.push(map(r.value));
        r = await iterator.next();
    }
    await iterator.close();
    return out;
}

class Conformance extends Contract {
    constructor() {
        super('conformance');
    }

    // --- public state ---
    async put(ctx, key, value) {
        await ctx.stub.putState(key, Buffer.from(value));
        ctx.stub.setEvent('put', Buffer.from(JSON.stringify({ key, value })));
        return value;
    }

    async get(ctx, key) {
        const v = await ctx.stub.getState(key);
        if (!v || v.length === 0) {
            throw new Error(`key ${key} does not exist`);
        }
        return text(v);
    }

    async exists(ctx, key) {
        const v = await ctx.stub.getState(key);
        return String(!!v && v.length > 0);
    }

    async del(ctx, key) {
        await ctx.stub.deleteState(key);
        ctx.stub.setEvent('del', Buffer.from(key));
        return '';
    }

    // Writes COUNT keys PREFIX000.. with value = index, in one transaction.
    async putMany(ctx, prefix, count) {
        const n = parseInt(count, 10);
        for (let i = 0; i < n; i++) {
            await ctx.stub.putState(`${prefix}${String(i).padStart(3, '0')}`, Buffer.from(String(i)));
        }
        return String(n);
    }

    // --- range queries ---
    async range(ctx, start, end) {
        const keys = [];
        for await (const kv of ctx.stub.getStateByRange(start, end)) {
            keys.push(kv.key);
        }
        return JSON.stringify(keys);
    }

    async page(ctx, start, end, pageSize, bookmark) {
        const { iterator, metadata } = await ctx.stub.getStateByRangeWithPagination(
            start, end, parseInt(pageSize, 10), bookmark);
        const keys = await drain(iterator, (kv) => kv.key);
        return JSON.stringify({ keys, count: metadata.fetchedRecordsCount, bookmark: metadata.bookmark });
    }

    // --- composite keys ---
    async putOwned(ctx, owner, id, value) {
        await ctx.stub.putState(ctx.stub.createCompositeKey('owned', [owner, id]), Buffer.from(value));
        return '';
    }

    async listOwned(ctx, owner) {
        const iterator = await ctx.stub.getStateByPartialCompositeKey('owned', [owner]);
        const out = await drain(iterator, (kv) => {
            const { objectType, attributes } = ctx.stub.splitCompositeKey(kv.key);
            return { objectType, attributes, value: text(kv.value) };
        });
        return JSON.stringify(out);
    }

    // --- history ---
    async history(ctx, key) {
        const out = [];
        for await (const m of ctx.stub.getHistoryForKey(key)) {
            out.push({ txId: m.txId, isDelete: m.isDelete, value: text(m.value) });
        }
        return JSON.stringify(out);
    }

    // --- MVCC: read then write the same key ---
    async incr(ctx, key) {
        const v = await ctx.stub.getState(key);
        const n = (v && v.length > 0 ? parseInt(text(v), 10) : 0) + 1;
        await ctx.stub.putState(key, Buffer.from(String(n)));
        ctx.stub.setEvent('incr', Buffer.from(JSON.stringify({ key, value: n })));
        return String(n);
    }

    // --- private data (value only from the transient map) ---
    async pput(ctx, collection, key) {
        const value = ctx.stub.getTransient().get('value');
        if (!value) {
            throw new Error('transient field "value" is missing');
        }
        await ctx.stub.putPrivateData(collection, key, value);
        return '';
    }

    // The same write with the value from the arguments (no transient data).
    async pputArg(ctx, collection, key, value) {
        await ctx.stub.putPrivateData(collection, key, Buffer.from(value));
        return '';
    }

    async pget(ctx, collection, key) {
        const v = await ctx.stub.getPrivateData(collection, key);
        if (!v || v.length === 0) {
            throw new Error(`private key ${key} does not exist in ${collection}`);
        }
        return text(v);
    }

    async phash(ctx, collection, key) {
        const h = await ctx.stub.getPrivateDataHash(collection, key);
        return Buffer.from(h).toString('hex');
    }

    async pdel(ctx, collection, key) {
        await ctx.stub.deletePrivateData(collection, key);
        return '';
    }

    async prange(ctx, collection, start, end) {
        const keys = [];
        for await (const kv of ctx.stub.getPrivateDataByRange(collection, start, end)) {
            keys.push(kv.key);
        }
        return JSON.stringify(keys);
    }

    // --- identity, transaction facts, errors ---
    async whoami(ctx) {
        return JSON.stringify({ mspId: ctx.clientIdentity.getMSPID(), id: ctx.clientIdentity.getID() });
    }

    async txinfo(ctx) {
        const ts = ctx.stub.getTxTimestamp();
        return JSON.stringify({
            txId: ctx.stub.getTxID(),
            channel: ctx.stub.getChannelID(),
            seconds: Number(ts.seconds),
            fn: ctx.stub.getFunctionAndParameters().fcn,
        });
    }

    async fail(ctx, message) {
        throw new Error(message);
    }
}

module.exports.Conformance = Conformance;
module.exports.contracts = [Conformance];
