// The chain as a graph: source → hop 1 → … → destination, in SVG. Each hop shows its SP,
// psiid, validation policy and processed / forwarded / dropped counts, and is coloured by
// health: the errors it recorded in the last minute.

const NS = 'http://www.w3.org/2000/svg';
const W = 200;   // hop box width
const H = 118;   // hop box height
const GAP = 46;  // arrow length between boxes
const END = 96;  // source / destination width
const PAD = 12;

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function health(stat, disabled) {
  if (disabled) return 'disabled';
  const n = (stat && stat.errorsLastMinute) || 0;
  if (n === 0) return 'ok';
  if (n < 5) return 'warn';
  return 'bad';
}

function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function chainGraph(chain, stats) {
  const hops = chain.hops || [];
  const disabled = chain.state === 'disabled';
  const width = PAD * 2 + END * 2 + hops.length * W + (hops.length + 1) * GAP;
  const height = H + PAD * 2 + 22;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    class: 'graph', 'data-testid': 'chain-graph',
    // What the colours and numbers say, for a screen reader: the SVG's text is not read out.
    'aria-label': `Chain ${chain.id}${disabled ? ' (disabled)' : ''}: source, ${hops.map((h, i) => {
      const st = (stats || []).find((t) => t.psiid === h.psiid) || {};
      const recent = st.errorsLastMinute || 0;
      return `hop ${i + 1} ${h.psiid} at ${h.spMsp}, policy ${h.validation}, processed ${st.processed ?? 0}, `
        + `forwarded ${st.forwarded ?? 0}, dropped ${st.dropped ?? 0}, ${recent} error${recent === 1 ? '' : 's'} in the last minute`;
    }).join('; ')}; destination`,
  });
  const defs = s('defs');
  const marker = s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs);

  const midY = PAD + H / 2;
  let x = PAD;
  const endBox = (label, cls) => {
    const g = s('g', { class: `end ${cls}` });
    g.append(s('rect', { x, y: midY - 26, width: END, height: 52, rx: 26 }));
    g.append(s('text', { x: x + END / 2, y: midY + 5, 'text-anchor': 'middle' }, label));
    svg.append(g);
    x += END;
  };
  const arrow = () => {
    svg.append(s('line', { x1: x + 2, y1: midY, x2: x + GAP - 4, y2: midY, class: 'edge', 'marker-end': 'url(#arrow)' }));
    x += GAP;
  };

  endBox('source', 'source');
  hops.forEach((hop, i) => {
    arrow();
    const st = (stats || []).find((t) => t.psiid === hop.psiid) || {};
    const hl = health(st, disabled);
    const g = s('g', { class: `hop ${hl}`, 'data-psiid': hop.psiid, 'data-health': hl });
    const title = s('title', {}, `${hop.psiid} at ${hop.address}; ${st.errorsLastMinute || 0} errors in the last minute`);
    g.append(title);
    g.append(s('rect', { x, y: PAD, width: W, height: H, rx: 8 }));
    const line = (dy, text, cls) => g.append(s('text', { x: x + 10, y: PAD + dy, class: cls || '' }, text));
    line(18, `hop ${i + 1} · ${clip(hop.spMsp, 18)}`, 'sp');
    line(38, clip(hop.psiid, 26), 'psiid');
    line(56, `policy: ${hop.validation}`, 'policy');
    line(78, `processed ${st.processed ?? 0}`, 'count processed');
    line(94, `forwarded ${st.forwarded ?? 0}`, 'count forwarded');
    line(110, `dropped ${st.dropped ?? 0}`, 'count dropped');
    svg.append(g);
    x += W;
  });
  arrow();
  endBox('destination', 'destination');

  const legend = s('text', { x: PAD, y: height - 6, class: 'legend' },
    disabled ? 'chain disabled' : 'colour: errors in the last minute — green none, amber 1–4, red 5 or more');
  svg.append(legend);
  return svg;
}
