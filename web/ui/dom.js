// DOM building without markup: every string becomes a text node or an
// attribute value, so nothing the server sends is ever parsed as HTML.
// No HTML-parsing sink appears anywhere in the dashboard (a unit test checks).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) {
      if (typeof v !== 'function') throw new Error('event handlers must be functions');
      el.addEventListener(k.slice(2), v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// A table: `cols` are header strings, `rows` arrays of cells (strings or nodes).
export function table(cols, rows, attrs) {
  return h('table', attrs,
    h('thead', null, h('tr', null, cols.map((c) => h('th', null, c)))),
    h('tbody', null, rows.map((r) => (r instanceof Node ? r : h('tr', null, r.map((c) => h('td', null, c)))))));
}

export function badge(state) {
  const known = ['up', 'down', 'running', 'pending', 'degraded', 'failed', 'restarting', 'starting',
    'lost', 'placed', 'unplaced', 'active', 'cordoned', 'draining', 'ready', 'not-ready'];
  const cls = known.includes(state) ? state : 'other';
  return h('span', { class: 'badge badge-' + cls }, state);
}

export function fmtTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleTimeString();
}

export function fmtNum(x, digits = 1) {
  if (typeof x !== 'number' || !isFinite(x)) return '–';
  return x.toFixed(digits);
}
