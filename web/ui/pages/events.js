// Events: the control plane's event log, followed live (GET /api/events
// ?since=, every refresh), newest first. Event data is shown as JSON text.
import { get } from '../api.js';
import { fmtTime, h, replace } from '../dom.js';

const KEEP = 500;
const PAGE = 1000;

export function mount(root) {
  let next = 0;
  const events = []; // oldest first, at most KEEP
  const filter = h('input', { id: 'events-filter', placeholder: 'filter by type or text', spellcheck: 'false' });
  const body = h('tbody');
  const count = h('span', { class: 'muted' });
  filter.addEventListener('input', draw);
  replace(root, h('h2', null, 'Events ', count), h('div', { class: 'row' }, filter),
    h('table', { id: 'events-table' }, h('thead', null, h('tr', null,
      ['id', 'time', 'type', 'source', 'data'].map((c) => h('th', null, c)))), body));

  function draw() {
    const f = filter.value.trim().toLowerCase();
    const shown = events.filter((e) => !f || e.type.includes(f) || e.text.toLowerCase().includes(f));
    count.textContent = `(${shown.length} shown, live)`;
    replace(body, shown.slice().reverse().map((e) => h('tr', { 'data-event': e.id },
      h('td', null, String(e.id)), h('td', null, fmtTime(e.time)), h('td', null, e.type),
      h('td', null, e.source), h('td', { class: 'event-data' }, e.text))));
  }

  return {
    async refresh() {
      // The first load pages through to the newest; later ones take what is new.
      for (let i = 0; i < 20; ++i) {
        const r = await get(`/api/events?since=${next}&limit=${PAGE}`);
        const got = r.events || [];
        for (const e of got) {
          const text = JSON.stringify(e.data);
          events.push({ id: e.id, time: e.time, type: String(e.type), source: String(e.source),
            text: text.length > 600 ? text.slice(0, 600) + '…' : text });
        }
        if (typeof r.next === 'number') next = r.next;
        if (got.length < PAGE) break;
      }
      if (events.length > KEEP) events.splice(0, events.length - KEEP);
      draw();
    },
  };
}
