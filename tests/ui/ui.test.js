// The sfcbc web UI in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven
// by playwright-core, against the real binary: `sfcbc devnet up` and `sfcbc ui` as separate
// processes. The page creates a chain through its form, shares the user's credentials and the
// endpoints through its forms; then the real data plane runs: three `sfcbc sf run` processes
// (one per hop, on 127.0.0.21/22/23), `sfcbc sink` at the destination (127.0.0.24) and
// `sfcbc send` from the registered source (127.0.0.20). The page must show the counts rise
// live, then a forged source and a tampered datagram (both sent with `sfcbc send`) as errors
// the test opens. It also traces a sent message, browses blocks, and switches to a stranger
// who cannot see the chain. One screenshot per page under target/ui-screenshots/; the
// browser console must stay free of errors on every page.
//
// Every process started here is listed (by pid) in $UI_PIDS_FILE, which run.sh's trap ends
// should node die before `after` runs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const shots = process.env.UI_SCREENSHOTS || path.join(repo, 'target/ui-screenshots');
const sfcbc = process.env.SFCBC_BIN || path.join(repo, 'target/debug/sfcbc');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

const CHAIN = 'browser1';
// The chain's hops: SP org (its User1 runs the SF), psiid, policy, loopback address.
const HOPS = [
  { org: 'Org1', psiid: 'Org1:NameWriter:1', msp: 'Org1MSP', policy: 'address', ip: '127.0.0.21' },
  { org: 'Org2', psiid: 'Org2:NameWriter:1', msp: 'Org2MSP', policy: 'hash', ip: '127.0.0.22' },
  { org: 'Org1', psiid: 'Org1:NameWriter:2', msp: 'Org1MSP', policy: 'hash+address', ip: '127.0.0.23' },
];
const SOURCE_IP = '127.0.0.20';
const DEST_IP = '127.0.0.24';
const FORGER_IP = '127.0.0.29';
const TAMPERER_IP = '127.0.0.28';
const ACCOUNT = 'user1';
const SECRET = 's3cret-in-the-browser';
const MESSAGES = 8;

let dir; // temporary: SFCBC_HOME, the devnet, the children's logs
let env; // the children's environment
let profile;
let url;
let browser;
let page;
const children = []; // { name, proc, log }
const consoleProblems = [];
let step = 'start';
// Steps in which the page is expected to get an HTTP error answer (the browser logs those).
const refusalSteps = new Set(['duplicate chain', 'stranger chain page']);

function remember(name, proc, log) {
  if (process.env.UI_PIDS_FILE) appendFileSync(process.env.UI_PIDS_FILE, `${proc.pid}\n`);
  const child = { name, proc, log };
  children.push(child);
  return child;
}

// Last lines of a child's log, for failure messages.
function tail(log, n = 15) {
  if (!log || !existsSync(log)) return '(no log)';
  return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
}

// Starts `sfcbc ARGS` in the background; stdout is collected (child.out), stderr goes to a log.
function background(name, args) {
  const log = path.join(dir, `${name}.log`);
  const proc = spawn(sfcbc, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = remember(name, proc, log);
  child.out = '';
  proc.stdout.on('data', (d) => { child.out += d; });
  proc.stderr.on('data', (d) => appendFileSync(log, d));
  child.exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  return child;
}

// Runs `sfcbc ARGS` to its end; fails with its output when it exits non-zero.
async function sfcbcRun(args, { timeoutMs = 60000, extraEnv = {} } = {}) {
  const proc = spawn(sfcbc, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Not listed for run.sh: it ends here (or is killed at the timeout, or at node's exit).
  children.push({ name: `sfcbc ${args.join(' ')}`, proc });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const { code, signal } = await new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (c, s) => { clearTimeout(t); resolve({ code: c, signal: s }); });
  });
  assert.equal(code, 0, `\`sfcbc ${args.join(' ')}\` ended with ${code ?? signal}:\n${err}${out}`);
  return out;
}

function json(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} did not print JSON: ${JSON.stringify(text.slice(0, 500))}`);
  }
}

// A free port on `ip`: UDP for data-plane addresses, TCP for metrics.
function freeUdp(ip) {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.on('error', (e) => reject(new Error(`cannot bind UDP on ${ip} (is 127.0.0.0/8 routed to lo?): ${e.message}`)));
    s.bind(0, ip, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}
function freeTcp(ip) {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, ip, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Lines a child prints, taken one at a time.
function lineReader(stream) {
  const lines = [];
  const waiters = [];
  createInterface({ input: stream }).on('line', (l) => {
    if (waiters.length) waiters.shift()(l);
    else lines.push(l);
  });
  return (timeoutMs = 60000) => {
    if (lines.length) return Promise.resolve(lines.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no line from the child process')), timeoutMs);
      waiters.push((l) => { clearTimeout(t); resolve(l); });
    });
  };
}

async function waitFor(what, ms, probe) {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// A screenshot of the page, and no console problems on it so far.
async function shot(name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  // A laptop screen: nothing sticks out sideways (wide parts scroll inside their own box).
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scroll <= width, `the page of ${name} is ${scroll} px wide on a ${width} px screen`);
  const unexpected = consoleProblems.filter((p) => !expectedProblem(p));
  assert.deepEqual(unexpected, [], `console problems on the page of ${name}`);
}

function expectedProblem(p) {
  return refusalSteps.has(p.step)
    && /Failed to load resource: the server responded with a status of 4\d\d/.test(p.text);
}

function stop(proc, signal = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(() => { proc.kill('SIGKILL'); r(); }, 15000);
    proc.on('exit', () => { clearTimeout(t); r(); });
    proc.kill(signal);
  });
}

// Should node end without `after` (an uncaught error), no child outlives it.
process.on('exit', () => {
  for (const { proc } of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
});

before(async () => {
  mkdirSync(shots, { recursive: true });
  dir = mkdtempSync(path.join(tmpdir(), 'sfcbc-ui-'));
  env = { ...process.env, SFCBC_HOME: dir };
  for (const k of ['SFCBC_PROFILE', 'SFCBC_IDENTITY', 'SFCBC_CHANNEL', 'SFCBC_GATEWAY', 'SFCBC_SECRET']) delete env[k];
  const devnet = background('devnet', ['devnet', 'up', '--dir', path.join(dir, 'devnet')]);
  await waitFor('`sfcbc devnet up` writing devnet.pid', 180000, () => {
    assert.equal(devnet.proc.exitCode, null, `sfcbc devnet up exited:\n${tail(devnet.log)}`);
    return existsSync(path.join(dir, 'devnet', 'devnet.pid'));
  });
  profile = path.join(dir, 'devnet', 'profile.yaml');
  const ui = background('ui', ['--profile', profile, '-i', 'User1@Tenant1', '--json', 'ui', '--listen', '127.0.0.1:0']);
  ui.proc.stdout.removeAllListeners('data');
  const uiLine = lineReader(ui.proc.stdout);
  const serving = json(await uiLine(120000).catch(() => {
    throw new Error(`sfcbc ui printed no address:\n${tail(ui.log)}`);
  }), 'sfcbc --json ui');
  assert.equal(serving.identity, 'User1@Tenant1');
  assert.match(serving.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  url = serving.url;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (process.env.UI_DEBUG) console.log(`[${step}] console.${m.type()}: ${m.text()}`);
    if (m.type() === 'error' || m.type() === 'warning') consoleProblems.push({ step, type: m.type(), text: m.text() });
  });
  page.on('pageerror', (e) => consoleProblems.push({ step, type: 'pageerror', text: String(e) }));
  page.on('requestfailed', (r) => {
    if (!r.url().endsWith('/api/events')) consoleProblems.push({ step, type: 'requestfailed', text: r.url() });
  });
});

after(async () => {
  if (browser) await browser.close();
  // The data plane first, then the UI, then the devnet under them.
  const order = (c) => (c.name === 'devnet' ? 2 : c.name === 'ui' ? 1 : 0);
  for (const c of [...children].sort((a, b) => order(a) - order(b))) await stop(c.proc);
  // The devnet, its keys and the children's logs; UI_KEEP=1 keeps them to look into.
  if (dir && !process.env.UI_KEEP) rmSync(dir, { recursive: true, force: true });
  else if (dir) console.log(`kept ${dir}`);
});

const hop = (psiid) => page.locator(`[data-testid="chain-graph"] g.hop[data-psiid="${psiid}"]`);
const count = (psiid, what, n) => hop(psiid).locator(`text.${what}`).filter({ hasText: new RegExp(`^${what} ${n}$`) });

// Filled in as the test goes.
const ports = {};
let channel;
let sentHashes = [];
const sfs = [];

test('the web UI end to end in Chromium, with the real data plane', async (t) => {
  await t.test('chains page, as the owner', async () => {
    step = 'chains';
    await page.goto(url);
    await page.getByTestId('identity-label').filter({ hasText: 'User1@Tenant1' }).waitFor();
    await page.getByTestId('no-chains').waitFor();
    await page.locator('#live.on').waitFor();
    await shot('01-chains-empty');
  });

  await t.test('create a chain through the form (keyboard, client-side checks)', async () => {
    step = 'create form';
    for (const [i, x] of HOPS.entries()) {
      ports[`hop${i}`] = await freeUdp(x.ip);
      ports[`metrics${i}`] = await freeTcp(x.ip);
    }
    ports.source = await freeUdp(SOURCE_IP);
    ports.dest = await freeUdp(DEST_IP);

    await page.getByRole('link', { name: 'New chain' }).click();
    const form = page.getByTestId('create-form');
    await form.waitFor();
    // Keyboard: type the id, Tab to the first hop's psiid, type a bad one, submit with Enter.
    await page.getByTestId('chain-id').focus();
    await page.keyboard.type(CHAIN);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.name), 'psiid');
    await page.keyboard.type('not-a-psiid');
    await page.keyboard.press('Enter');
    await form.getByRole('alert').filter({ hasText: 'Fix' }).waitFor();
    await form.locator('.field-error').filter({ hasText: 'SP:Function:Instance' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.name), 'psiid', 'focus moves to the first bad field');
    assert.equal(await form.locator('fieldset.hop-row legend').first().textContent(), 'Hop 1');
    await shot('02-new-chain-invalid');

    // Keyboard again: "Add hop" by Enter puts focus in the new hop's psiid; a hop added by
    // mistake goes with its own (numbered) Remove button, and focus stays in the form.
    await form.getByRole('button', { name: 'Add hop' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.name), 'psiid', 'Add hop focuses the new psiid');
    await form.getByRole('button', { name: 'Remove hop 2' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await form.locator('fieldset.hop-row').count(), 1);
    assert.equal(await page.evaluate(() => document.activeElement.name), 'psiid', 'focus stays in the form after Remove');
    assert.equal(await form.getByRole('button', { name: 'Remove hop 1' }).isDisabled(), true, 'the only hop cannot be removed');

    const rows = form.locator('fieldset.hop-row');
    for (const [i, x] of HOPS.entries()) {
      if (i > 0) await form.getByRole('button', { name: 'Add hop' }).click();
      const r = rows.nth(i);
      await r.locator('input[name=psiid]').fill(x.psiid);
      await r.locator('input[name=spMsp]').fill(x.msp);
      await r.locator('input[name=address]').fill(`${x.ip}:${ports[`hop${i}`]}`);
      await r.locator('select[name=validation]').selectOption(x.policy);
    }
    await form.getByRole('button', { name: 'Create chain' }).click();
    await page.waitForURL(new RegExp(`#/chain/${CHAIN}$`), { timeout: 30000 });
  });

  await t.test('the chain is drawn source → hops → destination', async () => {
    step = 'chain page';
    const graph = page.getByTestId('chain-graph');
    await graph.waitFor();
    assert.equal(await graph.locator('g.hop').count(), 3);
    assert.equal(await graph.locator('g.end').count(), 2);
    assert.match(await hop('Org2:NameWriter:1').textContent(), /Org2MSP.*Org2:NameWriter:1.*policy: hash.*processed 0.*forwarded 0.*dropped 0/);
    for (const x of HOPS) assert.equal(await hop(x.psiid).getAttribute('data-health'), 'ok', x.psiid);
    const meta = await page.locator('.meta').textContent();
    channel = /channel (\S+)/.exec(meta)?.[1];
    assert.ok(channel, `the chain page names the chain's channel: ${meta}`);
    await shot('03-chain-drawn');
  });

  await t.test('share credentials and endpoints through the forms (transient)', async () => {
    step = 'share';
    // Each SP registers the user's account (an SP's own act, with its admin's key).
    for (const org of ['Org1', 'Org2']) {
      await sfcbcRun(['--profile', profile, '-i', `Admin@${org}`, '-C', channel, 'account', 'register', ACCOUNT],
        { extraEnv: { SFCBC_SECRET: SECRET } });
    }
    await page.getByRole('button', { name: 'Share credentials / endpoints' }).click();
    const auth = page.getByTestId('auth-form');
    for (const x of HOPS) {
      await auth.locator('select[name=psiid]').selectOption(x.psiid);
      await auth.locator('input[name=account]').fill(ACCOUNT);
      await auth.locator('input[name=secret]').fill(SECRET);
      await auth.getByRole('button', { name: 'Share credentials' }).click();
      await auth.getByRole('status').filter({ hasText: `_implicit_org_${x.msp}` }).waitFor({ timeout: 30000 });
      assert.equal(await auth.locator('input[name=secret]').inputValue(), '', 'the form forgets the secret');
    }
    const ep = page.getByTestId('endpoints-form');
    const share = async (psiid, field, value) => {
      await ep.locator('select[name=psiid]').selectOption(psiid);
      await ep.locator('input[name=source]').fill(field === 'source' ? value : '');
      await ep.locator('input[name=destination]').fill(field === 'destination' ? value : '');
      await ep.getByRole('button', { name: 'Share endpoints' }).click();
      await ep.getByRole('status').filter({ hasText: 'Shared in collection _implicit_org_Org1MSP' }).waitFor({ timeout: 30000 });
    };
    await share(HOPS[0].psiid, 'source', `${SOURCE_IP}:${ports.source}`);
    await share(HOPS[2].psiid, 'destination', `${DEST_IP}:${ports.dest}`);
    await ep.scrollIntoViewIfNeeded();
    await shot('04-share-credentials-endpoints');
  });

  await t.test('three `sfcbc sf run` processes serve the hops', async () => {
    step = 'sfs';
    for (const [i, x] of HOPS.entries()) {
      const metrics = `${x.ip}:${ports[`metrics${i}`]}`;
      const sf = background(`sf-${x.psiid.replaceAll(':', '-')}`, ['--profile', profile, '-i', `User1@${x.org}`, '-C', channel, '--json',
        'sf', 'run', '--chain', CHAIN, '--psiid', x.psiid, '--metrics', metrics]);
      sf.metrics = metrics;
      sfs.push(sf);
    }
    for (const sf of sfs) {
      await waitFor(`${sf.name} ready (/healthz at ${sf.metrics})`, 60000, async () => {
        assert.equal(sf.proc.exitCode, null, `${sf.name} exited:\n${tail(sf.log)}`);
        const res = await fetch(`http://${sf.metrics}/healthz`).catch(() => null);
        return res !== null && res.status === 200;
      }).catch((e) => { throw new Error(`${e.message}\n${tail(sf.log)}`); });
    }
  });

  await t.test('real traffic: `sfcbc send` → 3 SFs → `sfcbc sink`, counts rise live', async () => {
    step = 'live';
    await page.goto(`${url}#/chain/${CHAIN}`);
    await page.getByTestId('chain-graph').waitFor();
    // Every drawing of the last hop's "processed" count, as the page makes it.
    await page.evaluate((psiid) => {
      window.__noReload = true;
      window.__seen = [];
      const box = document.querySelector('[data-testid=graph-box]');
      new MutationObserver(() => {
        const el = box.querySelector(`g.hop[data-psiid="${psiid}"] text.processed`);
        if (el && window.__seen[window.__seen.length - 1] !== el.textContent) window.__seen.push(el.textContent);
      }).observe(box, { childList: true, subtree: true });
    }, HOPS[2].psiid);
    const sink = background('sink', ['--json', 'sink', '--listen', `${DEST_IP}:${ports.dest}`,
      '--count', String(MESSAGES), '--expect-stamps', '3']);
    await new Promise((r) => setTimeout(r, 300)); // the sink binds
    assert.equal(sink.proc.exitCode, null, `sfcbc sink exited:\n${tail(sink.log)}`);
    const sent = json(await sfcbcRun(['--json', 'send', '--bind', `${SOURCE_IP}:${ports.source}`,
      '--to', `${HOPS[0].ip}:${ports.hop0}`, '--count', String(MESSAGES), '--rate', '2']), 'sfcbc send');
    assert.equal(sent.sent, MESSAGES);
    sentHashes = sent.hashes;

    const delivered = await Promise.race([sink.exited,
      new Promise((r) => setTimeout(() => r(null), 30000))]);
    assert.ok(delivered, `the sink did not get ${MESSAGES} datagrams within 30 s; it has:\n${sink.out}\n${tail(sink.log)}`);
    assert.equal(delivered.code, 0, `sfcbc sink: ${tail(sink.log)}`);
    const arrivals = json(sink.out, 'sfcbc sink').arrivals;
    assert.equal(arrivals.length, MESSAGES);
    for (const a of arrivals) assert.deepEqual(a.stamps.map(([p]) => p), HOPS.map((x) => x.psiid), 'three stamps in hop order');

    for (const x of HOPS) {
      await count(x.psiid, 'processed', MESSAGES).waitFor({ timeout: 30000 })
        .catch(() => { throw new Error(`${x.psiid} never showed "processed ${MESSAGES}"`); });
      await count(x.psiid, 'forwarded', MESSAGES).waitFor({ timeout: 5000 });
      await count(x.psiid, 'dropped', 0).waitFor({ timeout: 5000 });
    }
    const seen = await page.evaluate(() => window.__seen);
    const between = seen.filter((s) => { const n = Number(s.split(' ')[1]); return n > 0 && n < MESSAGES; });
    assert.ok(between.length >= 1, `the counts rose while the datagrams flowed (drawn: ${seen.join(', ')})`);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'updated without a reload');
    assert.equal(await page.getAttribute('#live', 'class'), 'live on', 'the live stream stayed connected');
    await page.getByTestId('records-table').locator('tbody tr').first().waitFor();
    await shot('05-chain-live-counts');
  });

  await t.test('a forged source and a tampered datagram are dropped and turn their hops amber', async () => {
    step = 'drops';
    // The registered payload path, but from an address nobody registered.
    await sfcbcRun(['send', '--bind', `${FORGER_IP}:0`, '--to', `${HOPS[0].ip}:${ports.hop0}`, '--payload', 'forged: from 127.0.0.29']);
    // Straight to hop 2, a payload whose hash matches no output hop 1 recorded.
    await sfcbcRun(['send', '--bind', `${TAMPERER_IP}:0`, '--to', `${HOPS[1].ip}:${ports.hop1}`,
      '--payload', `tampered|${HOPS[0].psiid}@2026-01-01T00:00:00Z`]);
    for (const x of HOPS.slice(0, 2)) {
      await count(x.psiid, 'dropped', 1).waitFor({ timeout: 30000 })
        .catch(() => { throw new Error(`${x.psiid} never showed "dropped 1"`); });
      assert.equal(await hop(x.psiid).getAttribute('data-health'), 'warn', `${x.psiid}: an error in the last minute`);
      assert.match(await hop(x.psiid).textContent(), new RegExp(`processed ${MESSAGES + 1}.*forwarded ${MESSAGES}.*dropped 1`));
    }
    assert.equal(await hop(HOPS[2].psiid).getAttribute('data-health'), 'ok');
    // The same, for a screen reader (the drawing's text is not read out).
    assert.match(await page.getByTestId('chain-graph').getAttribute('aria-label'),
      new RegExp(`hop 2 ${HOPS[1].psiid} at Org2MSP, policy hash, processed ${MESSAGES + 1}, forwarded ${MESSAGES}, dropped 1, 1 error in the last minute`));
    assert.equal(await page.evaluate(() => window.__noReload), true, 'updated without a reload');
    await shot('06-chain-drops');
  });

  await t.test('open the failed messages\' errors', async () => {
    step = 'error';
    const errors = page.getByTestId('errors-section');
    await errors.getByTestId('errors-table').locator('tbody tr:not(.detail)').nth(1).waitFor({ timeout: 20000 });
    const kind = errors.locator('select[name=kind]');
    const apply = errors.getByRole('button', { name: 'Apply' });
    await kind.selectOption('source');
    await apply.click();
    const rows = errors.getByTestId('errors-table').locator('tbody tr:not(.detail)');
    await rows.locator('xpath=self::*[not(contains(@class, "kind-source"))]').first().waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1, 'kind=source shows the forged datagram only');
    assert.match(await rows.textContent(), new RegExp(`${HOPS[0].psiid}.*source`));
    await errors.getByTestId('open-error').click();
    let detail = errors.getByTestId('error-detail');
    await detail.waitFor();
    assert.match(await detail.textContent(), new RegExp(`Kind\\s*source.*${FORGER_IP.replaceAll('.', '\\.')}`, 's'));
    await errors.scrollIntoViewIfNeeded();
    await shot('07-error-forged-source');
    await kind.selectOption('hash');
    await apply.click();
    await rows.locator('xpath=self::*[not(contains(@class, "kind-hash"))]').first().waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1, 'kind=hash shows the tampered datagram only');
    assert.match(await rows.textContent(), new RegExp(`${HOPS[1].psiid}.*hash`));
    await errors.getByTestId('open-error').click();
    detail = errors.getByTestId('error-detail');
    await detail.waitFor();
    assert.match(await detail.textContent(), /Kind\s*hash.*no output record/s);
    assert.match(await detail.textContent(), new RegExp(TAMPERER_IP.replaceAll('.', '\\.')));
    await shot('08-error-tampered');
    await kind.selectOption('replay');
    await apply.click();
    await errors.getByText('No errors.').waitFor();
  });

  await t.test('records filter by hop and paginate by bookmark', async () => {
    step = 'records';
    const rec = page.getByTestId('records-section');
    await rec.locator('select[name=pageSize]').selectOption('20');
    await rec.getByRole('button', { name: 'Apply' }).click();
    await rec.getByText('page 1 · 20 shown').waitFor();
    await rec.getByRole('button', { name: 'Next →' }).click();
    await rec.getByText(`page 2 · ${3 * MESSAGES - 20} shown`).waitFor();
    await rec.getByRole('button', { name: '← Previous' }).click();
    await rec.getByText('page 1 · 20 shown').waitFor();
    await rec.locator('select[name=psiid]').selectOption(HOPS[1].psiid);
    await rec.getByRole('button', { name: 'Apply' }).click();
    await rec.getByText(`page 1 · ${MESSAGES} shown`).waitFor();
    // In time order within the page: the hop's sequence numbers as the datagrams came.
    const seqs = await rec.locator('tbody tr td:nth-child(3)').allTextContents();
    assert.deepEqual(seqs, [...Array(MESSAGES).keys()].map(String), 'records in time order');
    assert.equal(await rec.getByRole('button', { name: 'Next →' }).isDisabled(), true);
    // The time window (the browser's local time, as a person types it).
    const local = (offsetMs) => page.evaluate((o) => {
      const d = new Date(Date.now() + o);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    }, offsetMs);
    const since = rec.locator('input[name=since]');
    const until = rec.locator('input[name=until]');
    await since.fill(await local(3600e3));
    await rec.getByRole('button', { name: 'Apply' }).click();
    await rec.getByText('page 1 · 0 shown').waitFor();
    await rec.getByText('No records.').waitFor();
    await since.fill(await local(-3600e3));
    await until.fill(await local(3600e3));
    await rec.getByRole('button', { name: 'Apply' }).click();
    await rec.getByText(`page 1 · ${MESSAGES} shown`).waitFor();
    await since.fill('');
    await until.fill(await local(-3600e3));
    await rec.getByRole('button', { name: 'Apply' }).click();
    await rec.getByText('page 1 · 0 shown').waitFor();
  });

  await t.test('trace a sent message by its hash', async () => {
    step = 'trace';
    await page.getByRole('link', { name: 'Trace', exact: true }).click();
    await page.locator(`#trace-chain option[value=${CHAIN}]`).waitFor({ state: 'attached' });
    await page.locator('#trace-hash').fill(sentHashes[0]);
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    const out = page.locator('[data-testid=trace-result], [data-testid=error]');
    await out.first().waitFor({ timeout: 20000 });
    assert.match(await out.textContent(), new RegExp(`Complete.*${HOPS.map((x) => x.psiid).join('.*')}.*destination`, 's'));
    await shot('09-trace');
    // By its payload: the forged datagram, which went nowhere, with its error.
    await page.locator('#trace-hash').fill('');
    await page.locator('#trace-payload').fill('forged: from 127.0.0.29');
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    await page.getByTestId('trace-result').filter({ hasText: 'Incomplete' }).waitFor({ timeout: 20000 });
    const result = page.getByTestId('trace-result');
    assert.doesNotMatch(await result.textContent(), /destination/);
    const errs = result.getByTestId('errors-table');
    await errs.waitFor();
    assert.match(await errs.textContent(), new RegExp(`${HOPS[0].psiid}.*source`));
    await result.getByTestId('open-error').click();
    assert.match(await result.getByTestId('error-detail').textContent(), /127\.0\.0\.29/);
    await shot('09b-trace-forged');
  });

  await t.test('the SFs stop cleanly and agree with the page', async () => {
    step = 'sfs stop';
    const want = [[MESSAGES + 1, MESSAGES], [MESSAGES + 1, MESSAGES], [MESSAGES, MESSAGES]];
    for (const [i, sf] of sfs.entries()) {
      sf.proc.kill('SIGTERM');
      const end = await Promise.race([sf.exited, new Promise((r) => setTimeout(() => r(null), 20000))]);
      assert.ok(end, `${sf.name} did not stop within 20 s of SIGTERM`);
      assert.equal(end.code, 0, `${sf.name}: ${tail(sf.log)}`);
      const report = json(sf.out, sf.name);
      assert.deepEqual([report.received, report.forwarded], want[i], `${sf.name} received / forwarded`);
      assert.equal(report.records.lost, 0, `${sf.name} lost records`);
    }
  });

  await t.test('the create form shows the chaincode\'s refusal verbatim', async () => {
    step = 'duplicate chain';
    await page.getByRole('link', { name: 'New chain' }).click();
    const form = page.getByTestId('create-form');
    await page.getByTestId('chain-id').fill(CHAIN);
    await form.locator('input[name=psiid]').fill('Org1:NameWriter:1');
    await form.locator('input[name=spMsp]').fill('Org1MSP');
    await form.locator('input[name=address]').fill('127.0.0.2:9101');
    await form.getByRole('button', { name: 'Create chain' }).click();
    const err = page.getByTestId('error');
    await err.waitFor({ timeout: 30000 });
    assert.match(await err.textContent(), new RegExp(`Chaincode refused \\(409\\).*${CHAIN}`, 's'));
    await shot('10-new-chain-chaincode-error');
  });

  await t.test('update the chain through the form', async () => {
    step = 'update';
    await page.goto(`${url}#/chain/${CHAIN}`);
    await page.getByRole('button', { name: 'Update chain' }).click();
    const form = page.getByTestId('update-form');
    await form.waitFor();
    assert.equal(await page.getByTestId('chain-id').getAttribute('readonly'), '', 'the id of a chain being updated is fixed');
    const addr = form.locator('fieldset.hop-row').nth(2).locator('input[name=address]');
    await addr.fill(`${HOPS[2].ip}:99999`);
    await form.getByRole('button', { name: 'Update chain' }).click();
    await form.locator('.field-error').filter({ hasText: 'port must be 1–65535' }).waitFor();
    await addr.fill(`${HOPS[2].ip}:${await freeUdp(HOPS[2].ip)}`);
    await form.getByRole('button', { name: 'Update chain' }).click();
    await page.locator('.meta').filter({ hasText: 'version 2' }).waitFor({ timeout: 30000 });
    await page.getByTestId('chain-graph').waitFor();
    await shot('11-chain-updated');
  });

  await t.test('block browser', async () => {
    step = 'blocks';
    await page.getByRole('link', { name: 'Blocks' }).click();
    await page.getByTestId('block').first().waitFor({ timeout: 20000 });
    const text = await page.locator('main').textContent();
    for (const f of ['sfc:UpdateChain', 'sfc:RecordHops', 'sfc:RecordError']) assert.match(text, new RegExp(f));
    assert.match(text, /Tenant1MSP/);
    assert.match(text, /Org2MSP/);
    assert.match(text, /VALID/);
    // Older blocks hold the shares: private writes appear as hashes only.
    const newest = async () => Number(await page.getByTestId('block').first().getAttribute('data-number'));
    for (let i = 0; i < 10 && !/sfc:ShareAuth/.test(await page.locator('main').textContent()); i++) {
      const top = await newest();
      await page.getByRole('button', { name: 'Older blocks' }).click();
      await waitFor('older blocks shown', 10000, async () => (await newest()) < top);
    }
    const older = await page.locator('main').textContent();
    assert.match(older, /sfc:ShareAuth/);
    assert.match(older, /_implicit_org_Org1MSP: key [0-9a-f]{10}/);
    assert.doesNotMatch(older, new RegExp(SECRET));
    await shot('12-blocks');
  });

  await t.test('a new block appears live on the block browser', async () => {
    step = 'blocks live';
    await page.getByRole('button', { name: 'Newest' }).click();
    await page.getByTestId('block').filter({ hasText: 'sfc:UpdateChain' }).first().waitFor();
    const top = Number(await page.getByTestId('block').first().getAttribute('data-number'));
    await page.evaluate(() => { window.__noReload = true; });
    // Any transaction on the channel; here an SP registers another account.
    await sfcbcRun(['--profile', profile, '-i', 'Admin@Org2', '-C', channel, 'account', 'register', 'user2'],
      { extraEnv: { SFCBC_SECRET: 'another secret' } });
    const fresh = page.locator(`[data-testid=block][data-number="${top + 1}"]`);
    await fresh.waitFor({ timeout: 20000 });
    assert.match(await fresh.textContent(), /sfc:RegisterAccount.*Org2MSP.*VALID.*_implicit_org_Org2MSP: key/s);
    assert.doesNotMatch(await page.locator('main').textContent(), /another secret/);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'updated without a reload');
    await shot('12b-blocks-live');
  });

  await t.test('a stranger cannot see the chain', async () => {
    step = 'stranger';
    await page.getByRole('link', { name: 'Chains' }).click();
    await page.locator(`[data-chain=${CHAIN}]`).waitFor();
    await shot('13-chains-owner');
    // User1@Org3: neither the owner, nor a hop's SP, nor the manager.
    await page.getByTestId('identity-select').selectOption('User1@Org3');
    await page.getByTestId('identity-label').filter({ hasText: 'User1@Org3' }).waitFor();
    await page.getByTestId('no-chains').waitFor();
    assert.equal(await page.locator(`[data-chain=${CHAIN}]`).count(), 0);
    await shot('14-stranger-chains');
    step = 'stranger chain page';
    await page.goto(`${url}#/chain/${CHAIN}`);
    const err = page.getByTestId('error');
    await err.waitFor({ timeout: 20000 });
    assert.match(await err.textContent(), new RegExp(`Chaincode refused \\(403\\).*not a member of chain ${CHAIN}`, 's'));
    await shot('15-stranger-chain-page');
    // The hop SP (User1@Org2) and the manager do see it.
    step = 'members';
    await page.getByTestId('identity-select').selectOption('User1@Org2');
    await page.getByTestId('identity-label').filter({ hasText: 'User1@Org2' }).waitFor();
    await page.getByTestId('chain-graph').waitFor();
    await page.getByTestId('identity-select').selectOption('Admin@Manager');
    await page.getByTestId('identity-label').filter({ hasText: 'Admin@Manager' }).waitFor();
    await page.getByTestId('chain-graph').waitFor();
    await shot('16-manager-chain-page');
  });

  await t.test('health is errors in the last minute: the amber hops turn green again by themselves', async () => {
    step = 'health';
    // The manager's chain page stays open; nothing new happens on the chain, so only the
    // page's own periodic redraw can show the errors ageing out of the minute.
    await page.evaluate(() => { window.__noReload = true; });
    for (const x of HOPS.slice(0, 2)) {
      await hop(x.psiid).and(page.locator('[data-health=ok]')).waitFor({ timeout: 120000 })
        .catch(() => { throw new Error(`${x.psiid} is not green two minutes after its error`); });
      assert.match(await hop(x.psiid).textContent(), /dropped 1/, 'the drop still counts; only the colour changed');
    }
    assert.equal(await page.evaluate(() => window.__noReload), true, 'updated without a reload');
    await shot('17-health-recovered');
  });

  await t.test('the owner disables the chain', async () => {
    step = 'disable';
    await page.getByTestId('identity-select').selectOption('User1@Tenant1');
    await page.getByTestId('identity-label').filter({ hasText: 'User1@Tenant1' }).waitFor();
    await page.getByTestId('chain-graph').waitFor();
    // The confirmation names the chain; dismissing it changes nothing.
    page.once('dialog', (d) => { assert.match(d.message(), new RegExp(`Disable chain ${CHAIN}`)); d.dismiss(); });
    await page.getByRole('button', { name: 'Disable chain' }).click();
    assert.equal(await page.getByTestId('chain-state').textContent(), 'active');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Disable chain' }).click();
    await page.getByTestId('chain-state').filter({ hasText: 'disabled' }).waitFor({ timeout: 30000 });
    for (const x of HOPS) assert.equal(await hop(x.psiid).getAttribute('data-health'), 'disabled', x.psiid);
    assert.equal(await page.getByRole('button', { name: 'Disable chain' }).count(), 0, 'no actions on a disabled chain');
    await shot('18-chain-disabled');
  });

  await t.test('no JavaScript errors in the console, on any page', () => {
    assert.deepEqual(consoleProblems.filter((p) => !expectedProblem(p)), []);
  });
});
