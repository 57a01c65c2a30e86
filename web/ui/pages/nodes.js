// Nodes: state, scheduling (cordon/uncordon/drain: POST /api/nodes/{id}/…),
// labels, load, and which functions each has ready at their current version.
import { api, get, seg } from '../api.js';
import { badge, fmtTime, h, replace, table } from '../dom.js';

export function mount(root, report) {
  const list = h('div');
  const status = h('p', { id: 'nodes-status', class: 'muted' });
  replace(root, h('h2', null, 'Nodes'), status, list);
  let refreshNow = null;

  async function act(id, action) {
    try {
      await api('POST', `/api/nodes/${seg(id)}/${action}`);
      status.textContent = `${action}: ${id} done`;
      if (refreshNow) await refreshNow();
    } catch (e) { report(e); }
  }

  async function refresh() {
    const [ns, fs] = await Promise.all([get('/api/nodes'), get('/api/functions')]);
    const fns = fs.functions || [];
    const rows = (ns.nodes || []).map((n) => {
      const ready = n.functions_ready || {};
      const readiness = fns.length === 0 ? 'no functions' : h('span', null, fns.map((f) =>
        badgeFor(f.name, ready[f.name] === f.sha256 && n.state === 'up')));
      const labels = Object.entries(n.labels || {}).map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`));
      const load = n.load || {};
      // Only the moves that change something from the node's scheduling.
      const sched = n.scheduling || 'active';
      const actions = sched === 'active' ? ['cordon', 'drain'] : sched === 'cordoned' ? ['uncordon', 'drain'] : ['uncordon'];
      const buttons = actions.map((a) =>
        h('button', { type: 'button', class: 'small', 'data-action': a, onclick: () => act(n.node_id, a) }, a));
      return h('tr', { 'data-node': n.node_id },
        h('td', { class: 'nowrap' }, n.node_id), h('td', { class: 'node-state' }, badge(n.state)),
        h('td', null, badge(n.scheduling || 'active')), h('td', null, n.url),
        h('td', null, labels),
        h('td', null, `${load.inflight ?? 0} / ${load.queue ?? 0} / ${load.gateway_inflight ?? 0}`),
        h('td', null, n.instances === null ? '?' : String(n.instances ?? 0)),
        h('td', null, fmtTime(n.last_heartbeat)), h('td', null, readiness), h('td', null, buttons));
    });
    replace(list, rows.length ? table(['node', 'state', 'scheduling', 'url', 'labels',
      'inflight / queue / gateway', 'instances', 'last heartbeat', 'functions ready', 'actions'], rows, { id: 'nodes-table' })
      : h('p', { class: 'muted' }, 'No node has registered yet.'));
  }
  refreshNow = refresh;
  return { refresh };
}

function badgeFor(name, ok) {
  return h('span', { class: 'chip ' + (ok ? 'chip-ok' : 'chip-bad'), title: ok ? 'ready' : 'not ready' },
    (ok ? '✓ ' : '✗ ') + name);
}
