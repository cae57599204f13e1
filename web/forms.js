// Forms: create / update a chain, share credentials and endpoints. Inputs are checked here
// with the chaincode's own rules before anything is sent; whatever the chaincode still
// refuses is shown verbatim. Secrets go to the server only in the request body, which it
// passes on as transient data and never logs; the form forgets them after sending.

import { api, h, errorBox } from './api.js';

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const VALIDATIONS = ['none', 'hash', 'address', 'hash+address'];

export function checkId(v) {
  if (!v) return 'required';
  if (!ID_RE.test(v)) return 'use 1–128 of A-Z a-z 0-9 _ . : -';
  return '';
}

export function checkPsiid(v) {
  const e = checkId(v);
  if (e) return e;
  const parts = v.split(':');
  if (parts.length !== 3 || parts.some((p) => !p)) return 'write it as SP:Function:Instance, e.g. Org1:NameWriter:1';
  return '';
}

export function checkAddress(v, required = true) {
  if (!v) return required ? 'required' : '';
  const i = v.lastIndexOf(':');
  if (i <= 0) return 'write it as ip:port or host:port';
  const port = v.slice(i + 1);
  if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) return 'port must be 1–65535';
  let host = v.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) return '';
  if (!host.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) return 'host is not a DNS name or IP address';
  return '';
}

// A labelled input with its own error line (aria-describedby), so keyboard and screen-reader
// users hear what is wrong.
let uid = 0;
function field(label, attrs, check) {
  const id = `f${++uid}`;
  const err = h('span', { class: 'field-error', id: `${id}-err`, 'aria-live': 'polite' });
  const input = attrs.options
    ? h('select', { id, name: attrs.name, 'aria-describedby': `${id}-err` },
      attrs.options.map((o) => h('option', { value: o, selected: o === attrs.value }, o)))
    : h('input', { id, 'aria-describedby': `${id}-err`, autocomplete: 'off', ...attrs });
  input.check = () => {
    const msg = check ? check(input.value.trim()) : '';
    err.textContent = msg;
    input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    return !msg;
  };
  input.addEventListener('blur', () => input.check());
  return { input, el: h('div', { class: 'field' }, h('label', { for: id }, label), input, err) };
}

function hopRow(hop, onRemove, rows) {
  const psiid = field('psiid', { name: 'psiid', value: hop.psiid || '', placeholder: 'Org1:NameWriter:1', required: true }, (v) => {
    const e = checkPsiid(v);
    if (e) return e;
    const same = rows.filter((r) => r.psiid.input.value.trim() === v).length;
    return same > 1 ? 'psiids must be unique within the chain' : '';
  });
  const sp = field('SP (MSP ID)', { name: 'spMsp', value: hop.spMsp || '', placeholder: 'Org1MSP', required: true }, checkId);
  const address = field('address (UDP)', { name: 'address', value: hop.address || '', placeholder: '127.0.0.2:9001', required: true }, (v) => checkAddress(v));
  const validation = field('policy', { name: 'validation', options: VALIDATIONS, value: hop.validation || 'none' });
  const collection = field('collection (optional)', { name: 'collection', value: hop.collection || '', placeholder: 'implicit' },
    (v) => (v ? checkId(v) || (v.includes(':') ? 'no ":" in a collection name' : '') : ''));
  const row = { psiid, sp, address, validation, collection };
  row.legend = h('legend', {}, 'Hop');
  row.remove = h('button', { type: 'button', class: 'link', onclick: () => onRemove(row) }, 'Remove hop');
  row.el = h('fieldset', { class: 'hop-row' },
    row.legend, psiid.el, sp.el, address.el, validation.el, collection.el, row.remove);
  return row;
}

// The create / update chain form. `chain` given: update (id fixed).
export function chainForm(chain, onDone) {
  const updating = Boolean(chain);
  const rows = [];
  const id = field('Chain id', { name: 'id', value: chain ? chain.id : '', placeholder: 'chain2', required: true, readonly: updating, 'data-testid': 'chain-id' }, checkId);
  const classifier = field('Classifier address (optional)', { name: 'classifier', value: (chain && chain.classifier) || '' }, (v) => checkAddress(v, false));
  const hopsBox = h('div', { class: 'hops' });
  const status = h('div', { class: 'status', 'aria-live': 'polite' });
  // Legends and buttons say which hop they are ("Hop 2", "Remove hop 2") so that a keyboard
  // or screen-reader user knows where focus is; the last hop cannot be removed.
  const renumber = () => rows.forEach((r, i) => {
    r.legend.textContent = `Hop ${i + 1}`;
    r.remove.setAttribute('aria-label', `Remove hop ${i + 1}`);
    r.remove.disabled = rows.length === 1;
  });
  const remove = (row) => {
    if (rows.length === 1) return;
    const i = rows.indexOf(row);
    rows.splice(i, 1);
    row.el.remove();
    renumber();
    // Focus would otherwise fall back to the page: keep it on the hop that took this place.
    rows[Math.min(i, rows.length - 1)].psiid.input.focus();
  };
  const add = (hop) => {
    const r = hopRow(hop || {}, remove, rows);
    rows.push(r);
    hopsBox.append(r.el);
    renumber();
    return r;
  };
  (chain ? chain.hops : [{}]).forEach(add);

  const submit = h('button', { type: 'submit', class: 'primary' }, updating ? 'Update chain' : 'Create chain');
  const form = h('form', { class: 'card', 'data-testid': updating ? 'update-form' : 'create-form', novalidate: true },
    h('h2', {}, updating ? `Update chain ${chain.id}` : 'Create a chain'),
    h('p', { class: 'muted' }, updating
      ? 'Replaces the hops and classifier; the version goes up by one. Only the owner may update.'
      : 'You (the identity in the header) become the owner. Hops are in order: source → hop 1 → … → destination.'),
    id.el, hopsBox,
    h('button', { type: 'button', onclick: () => add({}).psiid.input.focus() }, 'Add hop'),
    classifier.el, submit, status);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.replaceChildren();
    const inputs = [id.input, classifier.input, ...rows.flatMap((r) => [r.psiid.input, r.sp.input, r.address.input, r.collection.input])];
    const bad = inputs.filter((i) => !i.check());
    if (bad.length) {
      status.append(h('div', { class: 'error', role: 'alert' }, `Fix ${bad.length} field${bad.length > 1 ? 's' : ''} first.`));
      bad[0].focus();
      return;
    }
    const spec = {
      id: id.input.value.trim(),
      hops: rows.map((r) => {
        const hop = {
          psiid: r.psiid.input.value.trim(),
          spMsp: r.sp.input.value.trim(),
          address: r.address.input.value.trim(),
          validation: r.validation.input.value,
        };
        const c = r.collection.input.value.trim();
        if (c) hop.collection = c;
        return hop;
      }),
    };
    const cl = classifier.input.value.trim();
    if (cl) spec.classifier = cl;
    submit.disabled = true;
    status.append(h('p', { class: 'muted' }, 'Submitting to the ledger…'));
    try {
      const out = updating ? await api.updateChain(spec) : await api.createChain(spec);
      status.replaceChildren(h('p', { class: 'ok', role: 'status' }, `Chain ${out.chain.id} version ${out.chain.version} committed.`));
      onDone(out);
    } catch (err) {
      status.replaceChildren(errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// Share a user's credentials (ShareAuth) or the endpoints (ShareEndpoints) with one hop's SP.
export function shareForms(chain) {
  const hopSel = (name) => field('Hop', { name, options: chain.hops.map((x) => x.psiid) });
  const authHop = hopSel('psiid');
  const account = field('Account', { name: 'account', required: true }, (v) => (v ? '' : 'required'));
  const secret = field('Secret', { name: 'secret', type: 'password', required: true }, (v) => (v ? '' : 'required'));
  const authStatus = h('div', { class: 'status', 'aria-live': 'polite' });
  const auth = h('form', { class: 'card', 'data-testid': 'auth-form', novalidate: true },
    h('h3', {}, 'Share credentials'),
    h('p', { class: 'muted' }, 'Sent as transient data to that hop\'s SP only; the ledger keeps a salted hash.'),
    authHop.el, account.el, secret.el, h('button', { type: 'submit' }, 'Share credentials'), authStatus);
  auth.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (![account.input, secret.input].every((i) => i.check())) return;
    authStatus.replaceChildren(h('p', { class: 'muted' }, 'Submitting…'));
    try {
      const w = await api.shareAuth(chain.id, { psiid: authHop.input.value, account: account.input.value, secret: secret.input.value });
      secret.input.value = '';
      authStatus.replaceChildren(h('p', { class: 'ok', role: 'status' }, `Shared in collection ${w.collection} (tx ${w.txId.slice(0, 12)}…).`));
    } catch (err) {
      authStatus.replaceChildren(errorBox(err));
    }
  });

  const epHop = hopSel('psiid');
  const source = field('Source address (first hop)', { name: 'source', placeholder: '127.0.0.1:7000' }, (v) => checkAddress(v, false));
  const destination = field('Destination address (last hop)', { name: 'destination', placeholder: '127.0.0.1:7100' }, (v) => checkAddress(v, false));
  const epStatus = h('div', { class: 'status', 'aria-live': 'polite' });
  const ep = h('form', { class: 'card', 'data-testid': 'endpoints-form', novalidate: true },
    h('h3', {}, 'Share endpoints'),
    h('p', { class: 'muted' }, 'The source goes to the first hop\'s SP, the destination to the last hop\'s, as transient data.'),
    epHop.el, source.el, destination.el, h('button', { type: 'submit' }, 'Share endpoints'), epStatus);
  ep.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (![source.input, destination.input].every((i) => i.check())) return;
    if (!source.input.value && !destination.input.value) {
      epStatus.replaceChildren(h('div', { class: 'error', role: 'alert' }, 'Give a source, a destination or both.'));
      return;
    }
    epStatus.replaceChildren(h('p', { class: 'muted' }, 'Submitting…'));
    try {
      const w = await api.shareEndpoints(chain.id, { psiid: epHop.input.value, source: source.input.value.trim(), destination: destination.input.value.trim() });
      epStatus.replaceChildren(h('p', { class: 'ok', role: 'status' }, `Shared in collection ${w.collection} (tx ${w.txId.slice(0, 12)}…).`));
    } catch (err) {
      epStatus.replaceChildren(errorBox(err));
    }
  });
  return h('div', { class: 'grid2' }, auth, ep);
}
