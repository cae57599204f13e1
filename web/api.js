// The UI's JSON API (client/src/ui/api.rs) and a tiny DOM helper. Every call runs on the
// server as the identity selected in the header.

export class ApiError extends Error {
  constructor(message, status, chaincodeStatus) {
    super(message);
    this.status = status;
    this.chaincodeStatus = chaincodeStatus;
  }
}

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) {
    throw new ApiError((data && data.error) || `HTTP ${res.status}`, res.status, data && data.chaincodeStatus);
  }
  return data;
}

const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const t = s.toString();
  return t ? `?${t}` : '';
};
const enc = encodeURIComponent;

export const api = {
  identity: () => call('GET', '/api/identity'),
  switchIdentity: (identity) => call('POST', '/api/identity', { identity }),
  chains: () => call('GET', '/api/chains'),
  chain: (id) => call('GET', `/api/chains/${enc(id)}`),
  createChain: (spec) => call('POST', '/api/chains', spec),
  updateChain: (spec) => call('PUT', `/api/chains/${enc(spec.id)}`, spec),
  disableChain: (id) => call('POST', `/api/chains/${enc(id)}/disable`, {}),
  records: (id, p) => call('GET', `/api/chains/${enc(id)}/records${q(p)}`),
  errors: (id, p) => call('GET', `/api/chains/${enc(id)}/errors${q(p)}`),
  trace: (id, p) => call('GET', `/api/chains/${enc(id)}/trace${q(p)}`),
  shareAuth: (id, body) => call('POST', `/api/chains/${enc(id)}/auth`, body),
  shareEndpoints: (id, body) => call('POST', `/api/chains/${enc(id)}/endpoints`, body),
  blocks: (p) => call('GET', `/api/blocks${q(p)}`),
};

// h('div', {class: 'x', onclick: f}, 'text', child...) — builds DOM without innerHTML, so
// ledger data is always text, never markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function short(s, n = 12) {
  if (!s) return '';
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

export function when(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString();
}

// An error box whose text is the server's (and so the chaincode's) message, verbatim.
export function errorBox(err) {
  const msg = err instanceof Error ? err.message : String(err);
  const label = err && err.chaincodeStatus ? `Chaincode refused (${err.chaincodeStatus})` : 'Failed';
  return h('div', { class: 'error', role: 'alert', 'data-testid': 'error' },
    h('strong', {}, label), h('pre', {}, msg));
}
