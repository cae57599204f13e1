// The sfcbc web UI in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven
// by playwright-core, against the UI on an in-process devnet (client/examples/ui_devnet.rs,
// started here; run.sh builds it). Creates a chain through the form, sees it drawn, sends
// traffic and watches the counts rise live, opens a failed message's error, traces a
// message, browses blocks, and switches to a stranger who cannot see the chain. One
// screenshot per page under target/ui-screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const shots = process.env.UI_SCREENSHOTS || path.join(repo, 'target/ui-screenshots');
const bin = process.env.UI_DEVNET_BIN || path.join(repo, 'target/debug/examples/ui_devnet');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// Two ways to run (run.sh does both):
// - default: client/examples/ui_devnet starts a devnet and the UI in one process;
// - SFCBC_BIN set: the real binary, `sfcbc devnet up` and `sfcbc ui` as separate processes,
//   with ui_devnet --profile only submitting the hop records SFs would.
const sfcbcBin = process.env.SFCBC_BIN;
let server; // ui_devnet: answers traffic / drop commands
let devnetProc; // `sfcbc devnet up` (SFCBC_BIN mode)
let uiProc; // `sfcbc ui` (SFCBC_BIN mode)
let url;
let browser;
let page;
const consoleProblems = [];
let step = 'start';
// Steps in which the page is expected to get an HTTP error answer (the browser logs those).
const refusalSteps = new Set(['duplicate chain', 'stranger chain page']);

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
      const t = setTimeout(() => reject(new Error('no answer from the child process')), timeoutMs);
      waiters.push((l) => { clearTimeout(t); resolve(l); });
    });
  };
}

let nextLine;

async function command(cmd) {
  server.stdin.write(`${cmd}\n`);
  for (;;) {
    const l = await nextLine();
    if (l.startsWith('OK') || l.startsWith('ERR')) {
      assert.ok(l.startsWith('OK'), `${cmd}: ${l}`);
      return l;
    }
  }
}

async function shot(name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function waitFile(file, ms) {
  const end = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// run.sh ends these by pid should this process die before `after` runs.
function remember(proc) {
  if (process.env.UI_PIDS_FILE) appendFileSync(process.env.UI_PIDS_FILE, `${proc.pid}\n`);
  return proc;
}

function stop(proc, how) {
  if (!proc || proc.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(() => { proc.kill('SIGKILL'); r(); }, 15000);
    proc.on('exit', () => { clearTimeout(t); r(); });
    how(proc);
  });
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'sfcbc-ui-'));
  if (sfcbcBin) {
    const env = { ...process.env, SFCBC_HOME: dir };
    for (const k of ['SFCBC_PROFILE', 'SFCBC_IDENTITY', 'SFCBC_CHANNEL']) delete env[k];
    devnetProc = remember(spawn(sfcbcBin, ['devnet', 'up', '--dir', path.join(dir, 'devnet')], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
    await waitFile(path.join(dir, 'devnet', 'devnet.pid'), 180000);
    const profile = path.join(dir, 'devnet', 'profile.yaml');
    uiProc = remember(spawn(sfcbcBin, ['--profile', profile, '-i', 'User1@Tenant1', 'ui', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'inherit'] }));
    const uiLine = lineReader(uiProc.stdout);
    for (;;) {
      const m = /(http:\/\/\S+)/.exec(await uiLine(120000));
      if (m) { url = m[1]; break; }
    }
    server = spawn(bin, ['--profile', profile], { stdio: ['pipe', 'pipe', 'inherit'] });
    nextLine = lineReader(server.stdout);
    while ((await nextLine(60000)) !== 'READY');
  } else {
    server = spawn(bin, ['--listen', '127.0.0.1:0', '--dir', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    nextLine = lineReader(server.stdout);
    for (;;) {
      const l = await nextLine(180000);
      if (l.startsWith('UI_URL ')) { url = l.slice(7).trim(); break; }
    }
  }
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
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
  await stop(server, (p) => p.stdin.end('quit\n'));
  await stop(uiProc, (p) => p.kill('SIGTERM'));
  await stop(devnetProc, (p) => p.kill('SIGTERM'));
});

const hop = (psiid) => page.locator(`[data-testid="chain-graph"] g.hop[data-psiid="${psiid}"]`);

test('the web UI end to end in Chromium', async (t) => {
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
    await page.getByRole('link', { name: 'New chain' }).click();
    const form = page.getByTestId('create-form');
    await form.waitFor();
    // Keyboard: type the id, Tab to the first hop's psiid, type a bad one, submit with Enter.
    await page.getByTestId('chain-id').focus();
    await page.keyboard.type('browser1');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.name), 'psiid');
    await page.keyboard.type('not-a-psiid');
    await page.keyboard.press('Enter');
    await form.getByRole('alert').filter({ hasText: 'Fix' }).waitFor();
    await form.locator('.field-error').filter({ hasText: 'SP:Function:Instance' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.name), 'psiid', 'focus moves to the first bad field');
    await shot('02-new-chain-invalid');

    const rows = form.locator('fieldset.hop-row');
    const fill = async (i, psiid, sp, address, validation) => {
      const r = rows.nth(i);
      await r.locator('input[name=psiid]').fill(psiid);
      await r.locator('input[name=spMsp]').fill(sp);
      await r.locator('input[name=address]').fill(address);
      await r.locator('select[name=validation]').selectOption(validation);
    };
    await fill(0, 'Org1:NameWriter:1', 'Org1MSP', '127.0.0.2:9101', 'address');
    await form.getByRole('button', { name: 'Add hop' }).click();
    await fill(1, 'Org2:NameWriter:1', 'Org2MSP', '127.0.0.3:9101', 'hash');
    await form.getByRole('button', { name: 'Add hop' }).click();
    await fill(2, 'Org1:Firewall:1', 'Org1MSP', '127.0.0.4:9101', 'none');
    await form.getByRole('button', { name: 'Create chain' }).click();
    await page.waitForURL(/#\/chain\/browser1$/, { timeout: 30000 });
  });

  await t.test('the chain is drawn source → hops → destination', async () => {
    step = 'chain page';
    const graph = page.getByTestId('chain-graph');
    await graph.waitFor();
    assert.equal(await graph.locator('g.hop').count(), 3);
    assert.equal(await graph.locator('g.end').count(), 2);
    assert.match(await hop('Org2:NameWriter:1').textContent(), /Org2MSP.*Org2:NameWriter:1.*policy: hash.*processed 0.*forwarded 0.*dropped 0/);
    assert.equal(await hop('Org1:NameWriter:1').getAttribute('data-health'), 'ok');
    await shot('03-chain-drawn');
  });

  await t.test('traffic: counts rise live, an error turns the hop amber', async () => {
    step = 'live';
    await page.evaluate(() => { window.__noReload = true; });
    await command('traffic browser1 3 web');
    await hop('Org1:Firewall:1').locator('text.processed').filter({ hasText: 'processed 3' }).waitFor({ timeout: 20000 });
    await command('drop browser1 Org2:NameWriter:1 auth wrong credentials for user1 at Org2');
    await hop('Org2:NameWriter:1').locator('text.dropped').filter({ hasText: 'dropped 1' }).waitFor({ timeout: 20000 });
    assert.equal(await hop('Org2:NameWriter:1').getAttribute('data-health'), 'warn');
    assert.match(await hop('Org2:NameWriter:1').textContent(), /processed 4.*forwarded 3.*dropped 1/);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'updated without a reload');
    await page.getByTestId('records-table').locator('tbody tr').first().waitFor();
    assert.equal(await page.getAttribute('#live', 'class'), 'live on', 'the live stream stayed connected');
    await shot('04-chain-live-counts');
  });

  await t.test('open a failed message\'s error', async () => {
    step = 'error';
    const errors = page.getByTestId('errors-section');
    await errors.getByTestId('errors-table').waitFor({ timeout: 20000 });
    await errors.getByTestId('open-error').first().click();
    const detail = errors.getByTestId('error-detail').first();
    await detail.waitFor();
    assert.match(await detail.textContent(), /wrong credentials for user1 at Org2/);
    assert.match(await detail.textContent(), /auth/);
    await errors.scrollIntoViewIfNeeded();
    await shot('05-error-opened');
    // Filters: kind=replay shows none; kind=auth the one.
    await errors.locator('select[name=kind]').selectOption('replay');
    await errors.getByRole('button', { name: 'Apply' }).click();
    await errors.getByText('No errors.').waitFor();
  });

  await t.test('records paginate by bookmark', async () => {
    step = 'records';
    const rec = page.getByTestId('records-section');
    await rec.locator('select[name=pageSize]').selectOption('5');
    await rec.getByRole('button', { name: 'Apply' }).click();
    await rec.getByText('page 1 · 5 shown').waitFor();
    await rec.getByRole('button', { name: 'Next →' }).click();
    await rec.getByText('page 2 · 4 shown').waitFor();
    await rec.getByRole('button', { name: '← Previous' }).click();
    await rec.getByText('page 1 · 5 shown').waitFor();
  });

  await t.test('the create form shows the chaincode\'s refusal verbatim', async () => {
    step = 'duplicate chain';
    await page.getByRole('link', { name: 'New chain' }).click();
    const form = page.getByTestId('create-form');
    await page.getByTestId('chain-id').fill('browser1');
    await form.locator('input[name=psiid]').fill('Org1:NameWriter:1');
    await form.locator('input[name=spMsp]').fill('Org1MSP');
    await form.locator('input[name=address]').fill('127.0.0.2:9101');
    await form.getByRole('button', { name: 'Create chain' }).click();
    const err = page.getByTestId('error');
    await err.waitFor({ timeout: 30000 });
    assert.match(await err.textContent(), /Chaincode refused \(409\).*browser1/s);
    await shot('06-new-chain-chaincode-error');
  });

  await t.test('share credentials (transient)', async () => {
    step = 'share';
    await page.goto(`${url}#/chain/browser1`);
    await page.getByRole('button', { name: 'Share credentials / endpoints' }).click();
    const form = page.getByTestId('auth-form');
    await form.locator('input[name=account]').fill('user1');
    await form.locator('input[name=secret]').fill('s3cret-in-the-browser');
    await form.getByRole('button', { name: 'Share credentials' }).click();
    await form.getByRole('status').filter({ hasText: '_implicit_org_Org1MSP' }).waitFor({ timeout: 30000 });
    assert.equal(await form.locator('input[name=secret]').inputValue(), '', 'the form forgets the secret');
    await form.scrollIntoViewIfNeeded();
    await shot('07-share-credentials');
  });

  await t.test('update the chain through the form', async () => {
    step = 'update';
    await page.getByRole('button', { name: 'Update chain' }).click();
    const form = page.getByTestId('update-form');
    await form.waitFor();
    assert.equal(await page.getByTestId('chain-id').getAttribute('readonly'), '', 'the id of a chain being updated is fixed');
    const addr = form.locator('fieldset.hop-row').nth(2).locator('input[name=address]');
    await addr.fill('127.0.0.4:99999');
    await form.getByRole('button', { name: 'Update chain' }).click();
    await form.locator('.field-error').filter({ hasText: 'port must be 1–65535' }).waitFor();
    await addr.fill('127.0.0.4:9102');
    await form.getByRole('button', { name: 'Update chain' }).click();
    await page.locator('.meta').filter({ hasText: 'version 2' }).waitFor({ timeout: 30000 });
    await page.getByTestId('chain-graph').waitFor();
    await shot('07b-chain-updated');
  });

  await t.test('trace a message by its payload', async () => {
    step = 'trace';
    await page.getByRole('link', { name: 'Trace', exact: true }).click();
    await page.locator('#trace-chain option[value=browser1]').waitFor({ state: 'attached' });
    await page.locator('#trace-payload').fill('web message 1');
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    const out = page.locator('[data-testid=trace-result], [data-testid=error]');
    await out.first().waitFor({ timeout: 20000 });
    assert.match(await out.textContent(), /Complete.*Org1:NameWriter:1.*Org2:NameWriter:1.*Org1:Firewall:1.*destination/s);
    await shot('08-trace');
  });

  await t.test('block browser', async () => {
    step = 'blocks';
    await page.getByRole('link', { name: 'Blocks' }).click();
    await page.getByTestId('block').first().waitFor({ timeout: 20000 });
    const text = await page.locator('main').textContent();
    assert.match(text, /sfc:ShareAuth/);
    assert.match(text, /sfc:RecordHops/);
    assert.match(text, /Tenant1MSP/);
    assert.match(text, /VALID/);
    assert.match(text, /_implicit_org_Org1MSP: key [0-9a-f]{10}/);
    assert.doesNotMatch(text, /s3cret-in-the-browser/);
    await shot('09-blocks');
  });

  await t.test('a stranger cannot see the chain', async () => {
    step = 'stranger';
    await page.getByRole('link', { name: 'Chains' }).click();
    await page.locator('[data-chain=browser1]').waitFor();
    // User1@Org3: neither the owner, nor a hop's SP, nor the manager.
    await page.getByTestId('identity-select').selectOption('User1@Org3');
    await page.getByTestId('identity-label').filter({ hasText: 'User1@Org3' }).waitFor();
    await page.getByTestId('no-chains').waitFor();
    assert.equal(await page.locator('[data-chain=browser1]').count(), 0);
    await shot('10-stranger-chains');
    step = 'stranger chain page';
    await page.goto(`${url}#/chain/browser1`);
    const err = page.getByTestId('error');
    await err.waitFor({ timeout: 20000 });
    assert.match(await err.textContent(), /Chaincode refused \(403\).*not a member of chain browser1/s);
    await shot('11-stranger-chain-page');
    // The hop SP (User1@Org2) and the manager do see it.
    step = 'members';
    await page.getByTestId('identity-select').selectOption('User1@Org2');
    await page.getByTestId('identity-label').filter({ hasText: 'User1@Org2' }).waitFor();
    await page.getByTestId('chain-graph').waitFor();
    await page.getByTestId('identity-select').selectOption('Admin@Manager');
    await page.getByTestId('identity-label').filter({ hasText: 'Admin@Manager' }).waitFor();
    await page.getByTestId('chain-graph').waitFor();
  });

  await t.test('no JavaScript errors in the console', () => {
    const unexpected = consoleProblems.filter((p) => !(refusalSteps.has(p.step)
      && /Failed to load resource: the server responded with a status of 4\d\d/.test(p.text)));
    assert.deepEqual(unexpected, []);
  });
});
