// A small SVG line plot for the time series of GET /api/stats: one line per
// series over the last `windowMs`, y from 0 to a round maximum.
import { h, s } from './dom.js';

const W = 420, H = 150, L = 46, R = 8, T = 10, B = 22;

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// series: [{name, points: [[timeMs, value], ...]}]
export function linePlot(title, unit, series, windowMs, now = Date.now()) {
  const x0 = now - windowMs;
  const max = niceMax(Math.max(0, ...series.flatMap((sr) => sr.points.map((p) => p[1]))));
  const x = (t) => L + ((t - x0) / windowMs) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'plot', role: 'img', 'aria-label': title });
  for (const f of [0, 0.5, 1]) {
    const v = max * f;
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: L - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, fmt(v)));
  }
  const mins = Math.round(windowMs / 60000);
  for (const f of [0, 1 / 3, 2 / 3, 1]) {
    const label = f === 1 ? 'now' : `-${Math.round(mins * (1 - f))}m`;
    const anchor = f === 0 ? 'start' : f === 1 ? 'end' : 'middle';
    svg.append(s('text', { x: L + f * (W - L - R), y: H - 6, class: 'axis', 'text-anchor': anchor }, label));
  }
  series.forEach((sr, i) => {
    const pts = sr.points.filter((p) => p[0] >= x0);
    if (pts.length === 0) return;
    const d = pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { points: d, class: 'series series-' + (i % 8) }));
    // The newest point as a dot: a series of one sample is visible too.
    const [t, v] = pts[pts.length - 1];
    svg.append(s('circle', { cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.5, class: 'dot dot-' + (i % 8) }));
  });
  const legend = h('div', { class: 'legend' }, series.map((sr, i) =>
    h('span', { class: 'key key-' + (i % 8) }, sr.name)));
  return h('figure', { class: 'plot-box' }, h('figcaption', null, `${title} (${unit})`), svg,
    series.length ? legend : h('div', { class: 'legend muted' }, 'no invocations in this window'));
}

function fmt(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

// GET /api/stats → {rate: series[], latency: series[]} for `only` (a
// function name) or every function.
export function statsSeries(stats, only) {
  const rate = new Map(), lat = new Map();
  for (const smp of stats.samples || []) {
    for (const [name, c] of Object.entries(smp.functions || {})) {
      if (only && name !== only) continue;
      if (!rate.has(name)) { rate.set(name, []); lat.set(name, []); }
    }
  }
  for (const smp of stats.samples || []) {
    for (const name of rate.keys()) {
      const c = (smp.functions || {})[name];
      rate.get(name).push([smp.time, c ? c.rate : 0]);
      if (c && c.requests > 0) lat.get(name).push([smp.time, c.latency_ms_avg]);
    }
  }
  const list = (m) => [...m.entries()].map(([name, points]) => ({ name, points }));
  return { rate: list(rate), latency: list(lat) };
}
