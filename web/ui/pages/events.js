// Events: the control plane's event log, newest first, live: after the
// first load the page keeps one long-poll open (GET /api/events?since=
// &wait=), which the control plane answers as soon as an event is recorded.
// Event data is shown as JSON text.
import { api, get, token } from '../api.js';
import { fmtTime, h, replace } from '../dom.js';

const KEEP = 500;
const PAGE = 1000;
const WAIT_S = 25; // the control plane holds a poll at most this long
const RETRY_MS = 2000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function mount(root, report) {
  let next = 0;
  let loaded = false;
  const follow = new AbortController(); // ends the long-poll on unmount
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

  // Takes one page; true when it was full (more are waiting).
  function add(r) {
    const got = (r && r.events) || [];
    for (const e of got) {
      const text = JSON.stringify(e.data);
      events.push({ id: e.id, time: e.time, type: String(e.type), source: String(e.source),
        text: text.length > 600 ? text.slice(0, 600) + '…' : text });
    }
    if (r && typeof r.next === 'number') next = r.next;
    if (events.length > KEEP) events.splice(0, events.length - KEEP);
    return got.length >= PAGE;
  }

  async function followLoop() {
    while (!follow.signal.aborted) {
      try {
        const r = await api('GET', `/api/events?since=${next}&limit=${PAGE}&wait=${WAIT_S}`,
          undefined, undefined, token(), follow.signal);
        add(r.data);
        draw();
      } catch (e) {
        if (follow.signal.aborted) return;
        if (report) report(e);
        await sleep(RETRY_MS);
      }
    }
  }

  return {
    async refresh() {
      if (loaded) return; // the long-poll keeps the table current
      // The first load pages through to the newest, then follows.
      for (let i = 0; i < 20; ++i) {
        if (!add(await get(`/api/events?since=${next}&limit=${PAGE}`))) break;
      }
      draw();
      loaded = true;
      followLoop();
    },
    unmount() { follow.abort(); },
  };
}
