'use strict';
// Shared by the *.test.js files: reads the connection file that devnet/tests/conformance_node.rs
// writes (path in $CONFORMANCE_CONFIG) and connects the OFFICIAL Fabric Gateway client to one
// org's devnet peer over TLS with that org's User1 MSP identity, exactly as an application does
// against real Fabric.
//
// Connection file:
// {
//   "channel": "conformance",
//   "chaincodes": { "node": "nodecc", "sfc": "sfc" },
//   "orgs": [ { "name": "Org1", "mspId": "Org1MSP", "endpoint": "127.0.0.1:PORT",
//               "serverName": "peer0.org1.example.com", "tlsCaCert": "/…/tlsca/…-cert.pem",
//               "userMsp": "/…/users/User1@org1.example.com/msp", "adminMsp": "…" }, … ]
// }
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const { connect, hash, signers, GatewayError } = require('@hyperledger/fabric-gateway');

function loadConfig() {
    const file = process.env.CONFORMANCE_CONFIG;
    if (!file) {
        throw new Error(
            'CONFORMANCE_CONFIG is not set: these tests run from `cargo test -p sfcbc-devnet --test conformance_node` '
            + '(or tests/conformance/run.sh), which starts a devnet and writes the connection file');
    }
    return JSON.parse(fs.readFileSync(file, 'utf8'));
}

const config = loadConfig();

function org(name) {
    const o = config.orgs.find((x) => x.name === name || x.mspId === name);
    if (!o) throw new Error(`org ${name} is not in the connection file`);
    return o;
}

function firstFile(dir) {
    const files = fs.readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
    if (files.length === 0) throw new Error(`${dir} is empty`);
    return path.join(dir, files[0]);
}

// One org's User1 (or another MSP dir) → its own peer's gateway. Returns
// { gateway, client, org, network(name?), contract(ccKey), close() }.
function connectOrg(name, options = {}) {
    const o = org(name);
    const msp = options.msp || o.userMsp;
    const grpcOptions = {};
    if (o.serverName) grpcOptions['grpc.ssl_target_name_override'] = o.serverName;
    const client = new grpc.Client(o.endpoint, grpc.credentials.createSsl(fs.readFileSync(o.tlsCaCert)), grpcOptions);
    const gateway = connect({
        client,
        identity: { mspId: o.mspId, credentials: fs.readFileSync(firstFile(path.join(msp, 'signcerts'))) },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(fs.readFileSync(firstFile(path.join(msp, 'keystore'))))),
        hash: hash.sha256,
        evaluateOptions: () => ({ deadline: Date.now() + 15000 }),
        endorseOptions: () => ({ deadline: Date.now() + 15000 }),
        submitOptions: () => ({ deadline: Date.now() + 15000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 30000 }),
    });
    const network = gateway.getNetwork(config.channel);
    return {
        org: o,
        client,
        gateway,
        network,
        contract: (cc) => network.getContract(config.chaincodes[cc] || cc),
        close() {
            gateway.close();
            client.close();
        },
    };
}

const utf8 = (bytes) => Buffer.from(bytes).toString('utf8');
const json = (bytes) => JSON.parse(utf8(bytes));
const unique = (prefix) => `${prefix}-${process.pid}-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`;
const sha256hex = (data) => crypto.createHash('sha256').update(data).digest('hex');

// Awaits `promise` expecting a rejection of class `type`; returns the error.
async function rejects(promise, type) {
    try {
        await promise;
    } catch (e) {
        if (type && !(e instanceof type)) {
            throw new assert.AssertionError({
                message: `expected ${type.name}, got ${e && e.constructor && e.constructor.name}: ${e && e.stack}`,
            });
        }
        return e;
    }
    throw new assert.AssertionError({ message: `expected a ${type ? type.name : 'rejection'}, but it resolved` });
}

// Reads from a CloseableAsyncIterable until `done(item, items)` is true or `ms` elapse, then
// closes it. Returns the items read.
async function collect(iterable, done, ms = 15000) {
    const items = [];
    const timer = setTimeout(() => iterable.close(), ms);
    try {
        for await (const item of iterable) {
            items.push(item);
            if (done(item, items)) break;
        }
    } catch (e) {
        // close() from the timer ends the stream with CANCELLED; anything else is a failure.
        if (!(e instanceof GatewayError && e.code === grpc.status.CANCELLED)) throw e;
    } finally {
        clearTimeout(timer);
        iterable.close();
    }
    return items;
}

// A commit status comes from the gateway's own peer; another org's peer commits the same block
// a little later (as in Fabric). Before reading there, wait until that peer has the transaction
// (qscc GetTransactionByID answers an error until it is committed).
async function waitForTx(conn, txId, ms = 10000) {
    const qscc = conn.network.getContract('qscc');
    const deadline = Date.now() + ms;
    for (;;) {
        try {
            await qscc.evaluateTransaction('GetTransactionByID', config.channel, txId);
            return;
        } catch (e) {
            if (Date.now() > deadline) {
                throw new Error(`tx ${txId} not committed on ${conn.org.mspId}'s peer after ${ms} ms: ${e.message}`);
            }
            await new Promise((r) => setTimeout(r, 50));
        }
    }
}

module.exports = {
    config, org, connectOrg, utf8, json, unique, sha256hex, rejects, collect, waitForTx,
};
