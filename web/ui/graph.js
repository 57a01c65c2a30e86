// A workflow's components (functions and resources) and their
// output_mapping edges as a simple SVG: columns by distance from the
// sources, one box per component, coloured by the worst state of its
// instances.
import { s } from './dom.js';

const BW = 150, BH = 44, GX = 96, GY = 22, PAD = 12;
const RANK = { failed: 5, lost: 4, restarting: 4, unplaced: 3, placed: 2, starting: 2, running: 1 };

export function workflowGraph(spec, instances) {
  const comps = [
    ...(spec.functions || []).map((f) => ({ name: f.name, kind: 'function', what: f.function, out: f.output_mapping || {} })),
    ...(spec.resources || []).map((r) => ({ name: r.name, kind: 'resource', what: r.class_type, out: r.output_mapping || {} })),
  ];
  const byName = new Map(comps.map((c) => [c.name, c]));
  const edges = [];
  for (const c of comps) {
    for (const [output, target] of Object.entries(c.out)) {
      if (byName.has(target)) edges.push({ from: c.name, to: target, output });
    }
  }
  // Longest distance from a source, bounded (cycles are allowed in specs).
  const depth = new Map(comps.map((c) => [c.name, 0]));
  for (let pass = 0; pass < comps.length; ++pass) {
    let moved = false;
    for (const e of edges) {
      if (depth.get(e.to) < depth.get(e.from) + 1 && depth.get(e.from) + 1 < comps.length) {
        depth.set(e.to, depth.get(e.from) + 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const cols = [];
  for (const c of comps) (cols[depth.get(c.name)] ||= []).push(c);
  const pos = new Map();
  cols.forEach((col, i) => (col || []).forEach((c, j) => pos.set(c.name, { x: PAD + i * (BW + GX), y: PAD + j * (BH + GY) })));
  const width = PAD * 2 + cols.length * BW + Math.max(0, cols.length - 1) * GX;
  const height = PAD * 2 + Math.max(1, ...cols.map((c) => (c || []).length)) * (BH + GY) - GY;

  const state = new Map();
  for (const inst of instances || []) {
    const cur = state.get(inst.component);
    if (!cur || (RANK[inst.state] || 0) > (RANK[cur] || 0)) state.set(inst.component, inst.state);
  }

  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'graph', id: 'wf-graph', role: 'img', 'aria-label': 'workflow graph' },
    s('defs', null, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))));
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    const x1 = a.x + BW, y1 = a.y + BH / 2, x2 = b.x, y2 = b.y + BH / 2;
    const back = x2 <= x1;
    const d = back
      ? `M ${x1} ${y1} C ${x1 + 40} ${y1 - 60}, ${x2 - 40} ${y2 - 60}, ${x2} ${y2}`
      : `M ${x1} ${y1} C ${(x1 + x2) / 2} ${y1}, ${(x1 + x2) / 2} ${y2}, ${x2} ${y2}`;
    svg.append(s('path', { d, class: 'edge', 'marker-end': 'url(#arrow)' }),
      s('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, class: 'edge-label', 'text-anchor': 'middle' }, e.output));
  }
  for (const c of comps) {
    const p = pos.get(c.name);
    const st = state.get(c.name) || 'unplaced';
    svg.append(s('g', { class: `comp comp-${c.kind} st-${RANK[st] ? st : 'other'}`, 'data-component': c.name },
      s('rect', { x: p.x, y: p.y, width: BW, height: BH, rx: 6 }),
      s('text', { x: p.x + BW / 2, y: p.y + 18, 'text-anchor': 'middle', class: 'comp-name' }, c.name),
      s('text', { x: p.x + BW / 2, y: p.y + 34, 'text-anchor': 'middle', class: 'comp-what' }, `${c.what} · ${st}`)));
  }
  return svg;
}
