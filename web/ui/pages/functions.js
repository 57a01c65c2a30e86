// Functions: the list, deploy from a .wasm file (PUT /api/functions/{name}),
// one function's versions (rollback), readiness per node, an invocation
// through the gateway (POST /api/invoke/{name}) and its plots.
import { api, get, seg } from '../api.js';
import { badge, fmtNum, fmtTime, h, replace, table } from '../dom.js';
import { linePlot, statsSeries } from '../plot.js';

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function mount(root, report) {
  let selected = null;
  const list = h('div', { id: 'fn-list' });
  const detail = h('div', { id: 'fn-detail' });
  const nameIn = h('input', { id: 'deploy-name', placeholder: 'name (default: the file name)', spellcheck: 'false' });
  const fileIn = h('input', { id: 'deploy-file', type: 'file', accept: '.wasm,application/wasm' });
  const deployOut = h('p', { id: 'deploy-result', role: 'status' });
  const deployBtn = h('button', { id: 'deploy-btn', type: 'button', onclick: deploy }, 'Deploy');
  const invokeIn = h('textarea', { id: 'invoke-input', rows: 3, spellcheck: 'false', placeholder: 'input: JSON, or any text (sent as a string)' });
  const invokeOut = h('pre', { id: 'invoke-output', class: 'output' });
  const invokeMeta = h('p', { id: 'invoke-meta', class: 'muted' });
  const invokeBox = h('section', { class: 'box', id: 'invoke-box', hidden: true },
    h('h3', { id: 'invoke-title' }, 'Invoke'), invokeIn,
    h('div', null, h('button', { id: 'invoke-btn', type: 'button', onclick: invoke }, 'Invoke')),
    invokeMeta, invokeOut);
  const plots = h('div', { class: 'plots', id: 'fn-plots' });

  replace(root, h('h2', null, 'Functions'),
    h('section', { class: 'box' }, h('h3', null, 'Deploy a module'),
      h('div', { class: 'row' }, fileIn, nameIn, deployBtn), deployOut),
    list, detail, invokeBox, plots);

  async function deploy() {
    const file = fileIn.files && fileIn.files[0];
    if (!file) { deployOut.textContent = 'Choose a .wasm file first.'; return; }
    const name = (nameIn.value.trim() || file.name.replace(/\.wasm$/i, '')).toLowerCase();
    if (!NAME_RE.test(name)) {
      deployOut.textContent = 'Invalid name: lower-case letters, digits, "-" and "_", starting with a letter or digit.';
      return;
    }
    deployOut.textContent = `Deploying ${name}…`;
    deployBtn.disabled = true;
    try {
      const bytes = await file.arrayBuffer();
      const r = await api('PUT', `/api/functions/${seg(name)}`, bytes, 'application/wasm');
      deployOut.textContent = `Deployed ${r.data.function_id} (sha256 ${String(r.data.sha256).slice(0, 12)}…, ${r.data.size} bytes)`;
      selected = name;
      await refresh();
    } catch (e) {
      deployOut.textContent = 'Deploy failed: ' + (e.describe ? e.describe() : e);
    } finally {
      deployBtn.disabled = false;
    }
  }

  async function invoke() {
    if (!selected) return;
    const text = invokeIn.value;
    let input = null;
    if (text.trim() !== '') {
      try { input = JSON.parse(text); } catch { input = text; }
    }
    invokeMeta.textContent = 'Invoking…';
    invokeOut.textContent = '';
    const t0 = performance.now();
    try {
      const r = await api('POST', `/api/invoke/${seg(selected)}`, JSON.stringify({ input }));
      const d = r.data || {};
      invokeOut.textContent = typeof d.output === 'string' ? d.output : JSON.stringify(d);
      invokeMeta.textContent = `200 · ${fmtNum(d.execution_time_ms, 3)} ms execution · ` +
        `${d.memory_used_kb ?? '?'} KB memory · node ${r.headers.get('X-Aether-Node') || '?'} · ` +
        `${fmtNum(performance.now() - t0, 1)} ms round trip`;
    } catch (e) {
      invokeMeta.textContent = 'Invocation failed';
      invokeOut.textContent = e.describe ? e.describe() : String(e);
    }
  }

  async function rollback(version) {
    try {
      await api('POST', `/api/functions/${seg(selected)}/rollback`, JSON.stringify({ version }));
      await refresh();
    } catch (e) { report(e); }
  }

  async function refresh() {
    const [fs, st] = await Promise.all([get('/api/functions'), get('/api/stats')]);
    const fns = fs.functions || [];
    if (selected && !fns.some((f) => f.name === selected)) selected = null;
    replace(list, fns.length ? table(['name', 'version', 'size', 'updated', ''], fns.map((f) =>
      h('tr', { 'data-function': f.name, class: f.name === selected ? 'selected' : '' },
        h('td', null, f.name), h('td', null, String(f.version)), h('td', null, `${f.size} B`),
        h('td', null, fmtTime(f.updated_at)),
        h('td', null, h('button', { type: 'button', class: 'small', onclick: () => { selected = f.name; refresh().catch(report); } }, 'open')))),
      { id: 'fn-table' }) : h('p', { class: 'muted' }, 'No function is deployed yet.'));
    invokeBox.hidden = !selected;
    if (!selected) { replace(detail); replace(plots); return; }
    document.getElementById('invoke-title').textContent = `Invoke ${selected}`;
    const f = await get(`/api/functions/${seg(selected)}`);
    const versions = (f.versions || []).slice().reverse().map((v) => [String(v.version),
      String(v.sha256).slice(0, 12) + '…', `${v.size} B`, fmtTime(v.deployed_at),
      v.current ? badge('running') : h('button', { type: 'button', class: 'small', onclick: () => rollback(v.version) }, 'roll back to this')]);
    const nodes = (f.nodes || []).map((n) => h('tr', { 'data-node': n.node_id },
      h('td', null, n.node_id), h('td', null, badge(n.state)),
      h('td', { class: 'fn-ready' }, badge(n.ready ? 'ready' : 'not-ready'))));
    replace(detail, h('section', { class: 'box' },
      h('h3', null, `${f.name} · version ${f.version}`),
      h('p', { class: 'muted' }, `memory limit ${f.memory_limit || 'node default'} · timeout ${f.timeout || 'node default'} · env: ${Object.keys(f.env || {}).join(', ') || 'none'}`),
      h('div', { class: 'cols' },
        h('div', null, h('h4', null, 'Versions'), table(['version', 'sha256', 'size', 'deployed', ''], versions)),
        h('div', null, h('h4', null, 'Nodes'), nodes.length ? table(['node', 'state', 'current version'], nodes, { id: 'fn-nodes' })
          : h('p', { class: 'muted' }, 'No node registered.')))));
    const series = statsSeries(st, selected);
    const last = (st.samples || []).at(-1);
    replace(plots,
      linePlot(`${selected}: request rate`, 'req/s', series.rate, st.window_ms || 900000, last ? last.time : Date.now()),
      linePlot(`${selected}: latency, mean`, 'ms', series.latency, st.window_ms || 900000, last ? last.time : Date.now()));
  }
  return { refresh };
}
