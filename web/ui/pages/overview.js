// Overview: nodes and domains up/down, functions, workflows by state, the
// gateway's request and error rates, and per-function plots.
import { ApiError, get } from '../api.js';
import { h, replace, fmtNum } from '../dom.js';
import { linePlot, statsSeries } from '../plot.js';

function card(id, label, value, detail) {
  return h('div', { class: 'card', id },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, value),
    h('div', { class: 'card-detail' }, detail || ''));
}

// Domains exist on a cluster controller only; elsewhere 409 wrong_role,
// after which this page stops asking (a role does not change while the
// control plane runs).
let notCluster = false;
async function domains() {
  if (notCluster) return null;
  try {
    return (await get('/api/domains')).domains || [];
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      notCluster = true;
      return null;
    }
    throw e;
  }
}

export function mount(root) {
  const cards = h('div', { class: 'cards' });
  const plots = h('div', { class: 'plots' });
  replace(root, h('h2', null, 'Overview'), cards, h('h3', null, 'Gateway invocations per function'), plots);
  return {
    async refresh() {
      const [ns, fs, ws, ds, st, health] = await Promise.all([
        get('/api/nodes'), get('/api/functions'), get('/api/workflows'), domains(), get('/api/stats'),
        fetch('/health', { cache: 'no-store' }).then((r) => r.json()).catch(() => null),
      ]);
      const nodes = ns.nodes || [];
      const up = nodes.filter((n) => n.state === 'up').length;
      const wfs = ws.workflows || [];
      const byState = {};
      for (const w of wfs) byState[w.state] = (byState[w.state] || 0) + 1;
      const last = (st.samples || []).at(-1);
      let rate = 0, errs = 0;
      for (const c of Object.values((last && last.functions) || {})) {
        rate += c.rate;
        errs += last.seconds > 0 ? c.errors / last.seconds : 0;
      }
      replace(cards,
        card('ov-nodes', 'Nodes up / down', `${up} / ${nodes.length - up}`,
          nodes.filter((n) => n.state !== 'up').map((n) => n.node_id).join(', ')),
        card('ov-domains', 'Domains up / down', ds === null ? 'n/a'
          : `${ds.filter((d) => d.state === 'up').length} / ${ds.filter((d) => d.state !== 'up').length}`,
          ds === null ? 'not a cluster controller' : ''),
        card('ov-functions', 'Functions', String((fs.functions || []).length), ''),
        card('ov-workflows', 'Workflows', String(wfs.length),
          Object.entries(byState).map(([k, v]) => `${v} ${k}`).join(', ')),
        card('ov-rate', 'Requests / s', fmtNum(rate, 2), last ? `last ${Math.round(last.seconds)} s` : 'no sample yet'),
        card('ov-errors', 'Errors / s', fmtNum(errs, 2), 'answers with status ≥ 500'),
        card('ov-health', 'Control plane', health && health.status ? health.status : 'unknown',
          health ? `${health.role || ''} · ${(health.store && health.store.backend) || ''} · v${health.version || '?'}` : ''));
      const series = statsSeries(st);
      const now = last ? last.time : Date.now();
      replace(plots,
        linePlot('Request rate', 'req/s', series.rate, st.window_ms || 900000, now),
        linePlot('Latency, mean', 'ms', series.latency, st.window_ms || 900000, now));
    },
  };
}
