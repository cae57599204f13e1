// The sfcbc web UI: a hash router over a few pages (chains, chain, new chain, trace,
// blocks), the identity selector, and live updates from /api/events (server-sent events fed
// by the chaincode's events and the channel's blocks).

import { api, h, short, when, errorBox } from './api.js';
import { chainGraph } from './graph.js';
import { chainForm, shareForms } from './forms.js';

const view = document.getElementById('view');
// `stop`: what the current page must end when the route changes (its timers).
const state = { identity: null, channels: [], route: '', refresh: null, stop: [], lastBlock: null };

// ---- identity ---------------------------------------------------------------------------

async function loadIdentity() {
  const id = await api.identity();
  state.identity = id.current;
  state.channels = id.channels || [];
  document.getElementById('network').textContent = id.network ? `· ${id.network}` : '';
  document.getElementById('identity-label').textContent = id.current.label;
  document.getElementById('identity-msp').textContent = id.current.mspId;
  const sel = document.getElementById('identity-select');
  sel.replaceChildren(...id.identities.map((l) => h('option', { value: l, selected: l === id.current.label }, l)));
}

document.getElementById('identity-select').addEventListener('change', async (e) => {
  const sel = e.target;
  sel.disabled = true;
  try {
    await api.switchIdentity(sel.value);
    await loadIdentity();
    // Notices seen as the previous identity are not this one's to see.
    document.getElementById('feed').replaceChildren();
    feed(`now acting as ${state.identity.label}`);
    route();
  } catch (err) {
    view.prepend(errorBox(err));
    await loadIdentity();
  } finally {
    sel.disabled = false;
  }
});

// ---- live events ------------------------------------------------------------------------

function feed(text) {
  const box = document.getElementById('feed');
  const item = h('div', { class: 'feed-item' }, h('time', {}, new Date().toLocaleTimeString()), ' ', text);
  box.prepend(item);
  while (box.childElementCount > 4) box.lastElementChild.remove();
  // A notice, not a log: each fades after a few seconds so it never hides the page for long.
  setTimeout(() => item.remove(), 6000);
}

function connectLive() {
  const dot = document.getElementById('live');
  const es = new EventSource('/api/events');
  es.addEventListener('open', () => { dot.className = 'live on'; dot.title = 'live updates: connected'; });
  es.addEventListener('error', () => { dot.className = 'live off'; dot.title = 'live updates: reconnecting'; });
  const on = (kind, describe) => es.addEventListener(kind, (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    feed(describe(ev));
    if (state.refresh) state.refresh(ev);
  });
  on('chain', (e) => `chain ${e.chain} ${e.detail || 'changed'} (block ${e.block})`);
  on('record', (e) => `${e.count} record${e.count === 1 ? '' : 's'} at ${e.psiid} on ${e.chain}`);
  on('drop', (e) => `${e.detail} error at ${e.psiid} on ${e.chain}`);
  on('block', (e) => { state.lastBlock = e.block; return `block ${e.block} on ${e.channel} (${e.count} tx)`; });
  // The server dropped events for us (we read too slowly): whatever the page shows may be
  // behind, so it reloads its data as if every kind of event had come.
  es.addEventListener('lagged', () => {
    feed('some live events were missed; reloading');
    if (state.refresh) state.refresh({ kind: 'lagged' });
  });
}

// Run `fn` once `ms` after a call, however many calls come meanwhile. Unlike a debounce it
// does not wait for the calls to stop: under steady traffic (events every few hundred ms)
// the page still redraws every `ms`, so counts visibly rise while datagrams flow.
function throttle(fn, ms = 400) {
  let timer = null;
  return () => {
    if (timer === null) timer = setTimeout(() => { timer = null; fn(); }, ms);
  };
}

// Wraps an async loader so that only the answer to the latest call is used: a slow answer
// that arrives after a newer one must not draw old counts over new ones.
function latestOnly(load, use) {
  let gen = 0;
  return async () => {
    const mine = ++gen;
    const out = await load();
    if (mine === gen) use(out);
  };
}

// ---- pages ------------------------------------------------------------------------------

function page(title, ...children) {
  document.title = `${title} — sfcbc`;
  view.replaceChildren(h('h1', {}, title), ...children);
  view.focus({ preventScroll: true });
}

function loading() {
  return h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…');
}

async function chainsPage() {
  const body = h('div', {}, loading());
  page('Chains', h('p', { class: 'muted' }, 'The chains this identity is a member of (owner, hop SP or manager).'), body);
  const render = async () => {
    try {
      const { chains, failures } = await api.chains();
      const rows = chains.map(({ channel, chain }) => h('tr', { 'data-chain': chain.id },
        h('td', {}, h('a', { href: `#/chain/${encodeURIComponent(chain.id)}` }, chain.id)),
        h('td', {}, `${chain.owner.msp}`),
        h('td', {}, chain.hops.map((x) => x.psiid).join(' → ')),
        h('td', {}, h('span', { class: `state ${chain.state}` }, chain.state)),
        h('td', {}, `v${chain.version}`),
        h('td', {}, channel)));
      body.replaceChildren(
        ...failures.map((f) => errorBox(new Error(`${f.channel}: ${f.error}`))),
        chains.length
          ? h('table', { 'data-testid': 'chains-table' },
            h('thead', {}, h('tr', {}, ['Chain', 'Owner', 'Hops', 'State', 'Version', 'Channel'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, rows))
          : h('p', { 'data-testid': 'no-chains' }, 'No chains visible to this identity. ', h('a', { href: '#/new' }, 'Create one.')));
    } catch (err) {
      body.replaceChildren(errorBox(err));
    }
  };
  state.refresh = throttle(render);
  await render();
}

function newChainPage() {
  page('New chain', chainForm(null, (out) => {
    location.hash = `#/chain/${encodeURIComponent(out.chain.id)}`;
  }));
}

// A paged table: filters on top, bookmark pagination under it.
function pagedTable(kind, chain) {
  const hops = chain.hops.map((x) => x.psiid);
  const hop = h('select', { name: 'psiid', id: `${kind}-hop` }, h('option', { value: '' }, 'all hops'), hops.map((p) => h('option', { value: p }, p)));
  const kindSel = kind === 'errors'
    ? h('select', { name: 'kind', id: 'errors-kind' }, ['', 'auth', 'source', 'hash', 'replay', 'config'].map((k) => h('option', { value: k }, k || 'all kinds')))
    : null;
  const since = h('input', { type: 'datetime-local', id: `${kind}-since`, name: 'since' });
  const until = h('input', { type: 'datetime-local', id: `${kind}-until`, name: 'until' });
  const size = h('select', { id: `${kind}-size`, name: 'pageSize' }, [5, 10, 20, 50, 100].map((n) => h('option', { value: n, selected: n === 10 }, n)));
  const table = h('div', { class: 'table-wrap' });
  const prev = h('button', { type: 'button', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next →');
  const info = h('span', { class: 'muted' });
  let stack = ['']; // bookmarks of the pages seen, for Previous
  const iso = (v) => (v ? new Date(v).toISOString() : '');

  let gen = 0;
  const load = async () => {
    const mine = ++gen;
    const params = {
      psiid: hop.value, kind: kindSel ? kindSel.value : '', pageSize: size.value,
      bookmark: stack[stack.length - 1], since: iso(since.value), until: iso(until.value),
    };
    try {
      const p = kind === 'errors' ? await api.errors(chain.id, params) : await api.records(chain.id, params);
      if (mine !== gen) return; // a newer load is under way
      table.replaceChildren(kind === 'errors' ? errorsTable(p.items, chain) : recordsTable(p.items));
      info.textContent = `page ${stack.length} · ${p.items.length} shown of ${p.fetched} fetched`;
      prev.disabled = stack.length === 1;
      next.disabled = !p.bookmark || p.fetched < Number(size.value);
      next.onclick = () => { stack.push(p.bookmark); load(); };
    } catch (err) {
      if (mine === gen) table.replaceChildren(errorBox(err));
    }
  };
  prev.onclick = () => { stack.pop(); load(); };
  const filters = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); stack = ['']; load(); } },
    h('label', { for: hop.id }, 'Hop'), hop,
    kindSel && h('label', { for: kindSel.id }, 'Kind'), kindSel,
    h('label', { for: since.id }, 'From'), since,
    h('label', { for: until.id }, 'To'), until,
    h('label', { for: size.id }, 'Page size'), size,
    h('button', { type: 'submit' }, 'Apply'));
  const el = h('section', { class: 'card', 'data-testid': `${kind}-section` },
    h('h2', {}, kind === 'errors' ? 'Errors (dropped datagrams)' : 'Records'),
    filters, table, h('div', { class: 'pager' }, prev, next, info));
  return { el, load, reset: () => { if (stack.length === 1) load(); } };
}

// A ledger page comes grouped by hop (its keys start with the psiid), each group in tx id
// order, which reads as random: keep the groups, order each by time.
function byHopThenTime(items) {
  const groups = new Map();
  for (const x of items) {
    if (!groups.has(x.psiid)) groups.set(x.psiid, []);
    groups.get(x.psiid).push(x);
  }
  // RFC 3339 with 0–9 fraction digits: compare as dates (ms), then by the fraction's digits.
  const frac = (ts) => Number(`0.${(/\.(\d+)/.exec(ts) || [, '0'])[1]}`);
  const cmp = (a, b) => (Date.parse(a.ts) - Date.parse(b.ts)) || (frac(a.ts) - frac(b.ts));
  return [...groups.values()].flatMap((g) => g.sort(cmp));
}

function recordsTable(items) {
  if (!items.length) return h('p', { class: 'muted' }, 'No records.');
  items = byHopThenTime(items);
  return h('table', { 'data-testid': 'records-table' },
    h('thead', {}, h('tr', {}, ['Time', 'Hop', 'Seq', 'Input hash', 'Output hash', 'From', 'Next', 'Tx'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((r) => h('tr', {},
      h('td', {}, when(r.ts)), h('td', {}, r.psiid), h('td', {}, r.seq),
      h('td', { class: 'mono', title: r.inputHash }, short(r.inputHash)),
      h('td', { class: 'mono', title: r.outputHash }, short(r.outputHash)),
      h('td', {}, r.src), h('td', {}, r.next),
      h('td', { class: 'mono', title: r.txId }, short(r.txId, 10))))));
}

function errorsTable(items, chain) {
  if (!items.length) return h('p', { class: 'muted' }, 'No errors.');
  items = byHopThenTime(items);
  const body = h('tbody', {});
  items.forEach((e, i) => {
    const detailRow = h('tr', { class: 'detail', hidden: true, 'data-testid': 'error-detail' },
      h('td', { colspan: 6 }, h('dl', {},
        h('dt', {}, 'Kind'), h('dd', {}, e.kind),
        h('dt', {}, 'Detail'), h('dd', {}, h('pre', {}, e.detail)),
        h('dt', {}, 'Source'), h('dd', {}, e.src),
        h('dt', {}, 'Input hash'), h('dd', { class: 'mono' }, e.inputHash),
        h('dt', {}, 'Transaction'), h('dd', { class: 'mono' }, e.txId),
        h('dt', {}, 'Time'), h('dd', {}, when(e.ts))),
      h('a', { href: `#/trace/${encodeURIComponent(chain.id)}/${e.inputHash}` }, 'Trace this message')));
    const btn = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', 'aria-controls': `err-${i}`, 'data-testid': 'open-error' }, 'Open');
    detailRow.id = `err-${i}`;
    btn.onclick = () => {
      detailRow.hidden = !detailRow.hidden;
      btn.setAttribute('aria-expanded', String(!detailRow.hidden));
      btn.textContent = detailRow.hidden ? 'Open' : 'Close';
    };
    body.append(h('tr', { class: `kind-${e.kind}` },
      h('td', {}, when(e.ts)), h('td', {}, e.psiid), h('td', {}, h('span', { class: 'badge bad' }, e.kind)),
      h('td', { class: 'clip', title: e.detail }, short(e.detail, 60)),
      h('td', { class: 'mono', title: e.inputHash }, short(e.inputHash)), h('td', {}, btn)), detailRow);
  });
  return h('table', { 'data-testid': 'errors-table' },
    h('thead', {}, h('tr', {}, ['Time', 'Hop', 'Kind', 'Detail', 'Input hash', ''].map((c) => h('th', { scope: 'col' }, c)))), body);
}

async function chainPage(id) {
  const route0 = state.route;
  const graphBox = h('div', { class: 'graph-wrap', 'data-testid': 'graph-box' }, loading());
  const meta = h('div', { class: 'meta' });
  const actions = h('div', { class: 'actions' });
  const extra = h('div', {});
  page(`Chain ${id}`, meta, h('section', { class: 'card' }, h('h2', {}, 'Path'), graphBox), actions, extra);
  let detail;
  try {
    detail = await api.chain(id);
  } catch (err) {
    graphBox.replaceChildren(errorBox(err));
    state.refresh = null;
    return;
  }
  const draw = (d) => {
    const c = d.chain;
    meta.replaceChildren(h('p', {},
      h('span', { class: `state ${c.state}`, 'data-testid': 'chain-state' }, c.state), ' ',
      `version ${c.version} · owner ${c.owner.msp} · channel ${d.channel} · updated ${when(c.updatedAt)}`,
      c.classifier ? ` · classifier ${c.classifier}` : ''));
    graphBox.replaceChildren(chainGraph(c, d.stats));
    if (d.truncated) graphBox.append(h('p', { class: 'muted' }, 'Counts cover the first 20 000 records only.'));
  };
  draw(detail);
  const records = pagedTable('records', detail.chain);
  const errors = pagedTable('errors', detail.chain);
  const mine = detail.chain.owner.msp === state.identity.mspId;
  const showUpdate = () => extra.replaceChildren(chainForm(detail.chain, () => route()));
  actions.replaceChildren(
    h('a', { class: 'button', href: `#/trace/${encodeURIComponent(id)}` }, 'Trace a message'),
    mine && detail.chain.state === 'active' && h('button', { type: 'button', onclick: showUpdate }, 'Update chain'),
    mine && detail.chain.state === 'active' && h('button', {
      type: 'button', class: 'danger', onclick: async (e) => {
        if (!window.confirm(`Disable chain ${id}? It will stop accepting traffic and records.`)) return;
        e.target.disabled = true;
        try { await api.disableChain(id); route(); } catch (err) { actions.append(errorBox(err)); e.target.disabled = false; }
      },
    }, 'Disable chain'),
    mine && detail.chain.state === 'active' && h('button', { type: 'button', onclick: () => extra.replaceChildren(shareForms(detail.chain)) }, 'Share credentials / endpoints'));
  view.append(records.el, errors.el);
  records.load();
  errors.load();
  const refreshGraph = throttle(latestOnly(
    () => api.chain(id).catch(() => null), // a failed refresh keeps the last drawing
    (d) => { if (d && state.route === route0) { detail = d; draw(d); } },
  ));
  const refreshRecords = throttle(() => records.reset());
  const refreshErrors = throttle(() => errors.reset());
  state.refresh = (ev) => {
    const all = ev.kind === 'lagged';
    if (ev.chain !== id && !all) return;
    refreshGraph();
    if (ev.kind === 'record' || all) refreshRecords();
    if (ev.kind === 'drop' || all) refreshErrors();
  };
  // Health is "errors in the last minute": it also changes without events, as errors age.
  const tick = setInterval(refreshGraph, 20000);
  state.stop.push(() => clearInterval(tick));
}

async function tracePage(chainId, hash) {
  const chainSel = h('select', { id: 'trace-chain', name: 'chain' });
  const payload = h('textarea', { id: 'trace-payload', name: 'payload', rows: 3, placeholder: 'the message payload as sent' });
  const hashIn = h('input', { id: 'trace-hash', name: 'hash', placeholder: '64 hex characters', value: hash || '', class: 'mono' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', 'data-testid': 'trace-form' },
    h('div', { class: 'field' }, h('label', { for: chainSel.id }, 'Chain'), chainSel),
    h('div', { class: 'field' }, h('label', { for: payload.id }, 'Payload'), payload),
    h('div', { class: 'field' }, h('label', { for: hashIn.id }, 'or its SHA-256 hash'), hashIn),
    h('button', { type: 'submit', class: 'primary' }, 'Trace'));
  page('Message trace', form, out);
  try {
    const { chains } = await api.chains();
    chainSel.replaceChildren(...chains.map(({ chain }) => h('option', { value: chain.id, selected: chain.id === chainId }, chain.id)));
  } catch (err) {
    out.replaceChildren(errorBox(err));
  }
  const run = async () => {
    out.replaceChildren(loading());
    try {
      const t = await api.trace(chainSel.value, hashIn.value.trim() ? { hash: hashIn.value.trim() } : { payload: payload.value });
      out.replaceChildren(traceView(t));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); if (!chainSel.value) return; run(); });
  state.refresh = null;
  if (hash && chainSel.value) run();
}

function traceView({ sourceHash, trace }) {
  const hops = trace.hops || [];
  const errors = trace.errors || [];
  const steps = [h('li', { class: 'step source' }, h('strong', {}, 'source'), h('div', { class: 'mono' }, `hash ${sourceHash}`))];
  hops.forEach((x) => steps.push(h('li', { class: 'step' },
    h('strong', {}, x.psiid), h('div', { class: 'mono' }, `in  ${x.inputHash}`), h('div', { class: 'mono' }, `out ${x.outputHash}`),
    h('div', { class: 'muted' }, `seq ${x.seq} · ${when(x.ts)} · tx ${short(x.txId, 12)}`))));
  if (trace.complete) steps.push(h('li', { class: 'step destination' }, h('strong', {}, 'destination'), ' reached'));
  return h('section', { class: 'card', 'data-testid': 'trace-result' },
    h('p', {}, trace.complete ? 'Complete: every hop recorded the message.' : `Incomplete${trace.stoppedAt ? `: stopped at ${trace.stoppedAt}` : ''}.`),
    h('ol', { class: 'trace' }, steps),
    errors.length ? h('div', {}, h('h3', {}, 'Errors for this message'), errorsTable(errors, { id: trace.chain })) : null);
}

async function blocksPage() {
  const channel = h('select', { id: 'blocks-channel' }, state.channels.map((c) => h('option', { value: c }, c)));
  const list = h('div', {}, loading());
  const older = h('button', { type: 'button' }, 'Older blocks');
  const newest = h('button', { type: 'button' }, 'Newest');
  let before = null;
  page('Blocks', h('p', { class: 'muted' }, 'Blocks as this identity reads them from its peer. Private writes appear only as the hashes the public ledger holds.'),
    h('div', { class: 'filters' }, h('label', { for: channel.id }, 'Channel'), channel, newest, older), list);
  const load = async () => {
    try {
      const b = await api.blocks({ channel: channel.value, before, count: 8 });
      list.replaceChildren(h('p', { class: 'muted' }, `height ${b.height}`), ...b.blocks.map(blockCard));
      const last = b.blocks[b.blocks.length - 1];
      older.disabled = !last || last.number === 0;
      older.onclick = () => { before = last.number - 1; load(); };
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  };
  newest.onclick = () => { before = null; load(); };
  channel.onchange = () => { before = null; load(); };
  const again = throttle(() => { if (before === null) load(); });
  state.refresh = (ev) => { if (ev.kind === 'lagged' || (ev.kind === 'block' && ev.channel === channel.value)) again(); };
  await load();
}

function blockCard(b) {
  return h('section', { class: 'card block', 'data-testid': 'block', 'data-number': b.number },
    h('h2', {}, `Block ${b.number}`),
    h('p', { class: 'muted mono' }, `data hash ${short(b.dataHash, 16)} · previous ${short(b.previousHash, 16)}`),
    h('table', {},
      h('thead', {}, h('tr', {}, ['#', 'Tx id', 'Function', 'Creator MSP', 'Validation', 'Private writes (hashes only)'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, b.txs.map((t) => h('tr', {},
        h('td', {}, t.index),
        h('td', { class: 'mono', title: t.txId }, short(t.txId, 16)),
        h('td', {}, t.kind === 'ENDORSER_TRANSACTION' ? `${t.chaincode}:${t.function}` : t.kind),
        h('td', {}, t.creatorMsp),
        h('td', {}, h('span', { class: `badge ${t.validation === 'VALID' ? 'good' : 'bad'}` }, t.validation)),
        h('td', { class: 'mono small' }, t.privateWrites.map((p) => h('div', {}, `${p.collection}: key ${short(p.keyHash, 10)} value ${short(p.valueHash, 10)}`))))))));
}

// ---- router -----------------------------------------------------------------------------

async function route() {
  const hash = location.hash || '#/chains';
  state.route = hash;
  state.refresh = null;
  for (const stop of state.stop.splice(0)) stop();
  const parts = hash.slice(2).split('/').map(decodeURIComponent);
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.nav === parts[0] || (parts[0] === 'chain' && a.dataset.nav === 'chains')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  switch (parts[0]) {
    case 'chain': return chainPage(parts[1]);
    case 'new': return newChainPage();
    case 'trace': return tracePage(parts[1], parts[2]);
    case 'blocks': return blocksPage();
    default: return chainsPage();
  }
}

window.addEventListener('hashchange', route);

(async () => {
  try {
    await loadIdentity();
  } catch (err) {
    view.replaceChildren(errorBox(err));
    return;
  }
  connectLive();
  route();
})();
