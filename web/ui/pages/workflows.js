// Workflows: apply a spec file (POST /api/workflows), the list, and one
// workflow's graph and instances (counters, state, last error, telemetry)
// as the engines last reported them.
import { api, get, seg } from '../api.js';
import { badge, fmtTime, h, replace, table } from '../dom.js';
import { workflowGraph } from '../graph.js';

export function mount(root, report) {
  let selected = null;
  const fileIn = h('input', { id: 'wf-file', type: 'file', accept: '.json,application/json' });
  const out = h('p', { id: 'wf-result', role: 'status' });
  const applyBtn = h('button', { id: 'wf-apply', type: 'button', onclick: apply }, 'Apply');
  const list = h('div', { id: 'wf-list' });
  const detail = h('div', { id: 'wf-detail' });
  replace(root, h('h2', null, 'Workflows'),
    h('section', { class: 'box' }, h('h3', null, 'Apply a spec (JSON, functions deployed first)'),
      h('div', { class: 'row' }, fileIn, applyBtn), out),
    list, detail);

  async function apply() {
    const file = fileIn.files && fileIn.files[0];
    if (!file) { out.textContent = 'Choose a spec file first.'; return; }
    applyBtn.disabled = true;
    out.textContent = 'Applying…';
    try {
      const r = await api('POST', '/api/workflows', await file.text());
      const d = r.data || {};
      out.textContent = `Applied ${d.id}: ${d.state}${d.reason ? ' (' + d.reason + ')' : ''}` +
        ((d.warnings || []).length ? ' · warnings: ' + d.warnings.join('; ') : '');
      selected = d.id;
      await refresh();
    } catch (e) {
      out.textContent = 'Apply failed: ' + (e.describe ? e.describe() : e);
    } finally {
      applyBtn.disabled = false;
    }
  }

  async function remove(id) {
    if (!window.confirm(`Delete workflow ${id}? Its instances stop.`)) return;
    try {
      await api('DELETE', `/api/workflows/${seg(id)}`);
      if (selected === id) selected = null;
      await refresh();
    } catch (e) { report(e); }
  }

  async function refresh() {
    const ws = (await get('/api/workflows')).workflows || [];
    if (selected && !ws.some((w) => w.id === selected)) selected = null;
    if (!selected && ws.length === 1) selected = ws[0].id;
    replace(list, ws.length ? table(['id', 'state', 'reason', 'components', 'instances', 'created', ''], ws.map((w) =>
      h('tr', { 'data-workflow': w.id, class: w.id === selected ? 'selected' : '' },
        h('td', null, w.id), h('td', null, badge(w.state)), h('td', null, w.reason || ''),
        h('td', null, String(w.components)), h('td', null, String(w.instances)), h('td', null, fmtTime(w.created_at)),
        h('td', null, h('button', { type: 'button', class: 'small', onclick: () => { selected = w.id; refresh().catch(report); } }, 'open'),
          h('button', { type: 'button', class: 'small danger', onclick: () => remove(w.id) }, 'delete')))),
      { id: 'wf-table' }) : h('p', { class: 'muted' }, 'No workflow is applied.'));
    if (!selected) { replace(detail); return; }
    const w = await get(`/api/workflows/${seg(selected)}`);
    const rows = (w.instances || []).map((i) => h('tr', { 'data-instance': i.id },
      h('td', null, i.id), h('td', null, i.kind === 'function' ? i.function : i.class_type),
      h('td', null, i.node_id || '–'), h('td', null, badge(i.state)),
      h('td', { class: 'inst-events' }, String(i.events ?? 0)), h('td', null, String(i.failures ?? 0)),
      h('td', null, String(i.restarts ?? 0)), h('td', null, String(i.dropped ?? 0)),
      h('td', { class: 'inst-error' }, i.last_error || ''),
      h('td', null, Object.entries(i.telemetry || {}).map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`)))));
    replace(detail, h('section', { class: 'box' },
      h('h3', null, `${w.id} `, badge(w.state)),
      w.reason ? h('p', { class: 'muted' }, w.reason) : null,
      h('div', { class: 'graph-box' }, workflowGraph(w.spec || {}, w.instances)),
      (w.ingress || []).length ? h('p', null, 'Ingress: ', (w.ingress || []).map((g) => h('code', { class: 'chip' }, `${g.component} → ${g.url || '(unplaced)'}`))) : null,
      table(['instance', 'runs', 'node', 'state', 'events', 'failures', 'restarts', 'dropped', 'last error', 'telemetry'], rows, { id: 'wf-instances' })));
  }
  return { refresh };
}
