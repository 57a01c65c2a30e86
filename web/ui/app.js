// The dashboard's shell: sign-in, the hash router (#/overview, #/nodes, ...)
// and the refresh loop. Each page module exports mount(root) returning
// {refresh(), unmount?()}: mount builds forms once, refresh redraws the
// data parts only, so what an operator types survives a refresh.
import { api, ApiError, clearToken, setToken, token } from './api.js';
import { replace } from './dom.js';
import * as overview from './pages/overview.js';
import * as nodes from './pages/nodes.js';
import * as functions from './pages/functions.js';
import * as workflows from './pages/workflows.js';
import * as events from './pages/events.js';

const PAGES = { overview, nodes, functions, workflows, events };
const REFRESH_MS = 2000;

const $ = (id) => document.getElementById(id);
let current = null; // {name, page}
let timer = null;

function showLogin(message) {
  stop();
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-token').value = '';
  $('login-token').focus();
}

function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  route();
}

function stop() {
  if (timer) clearTimeout(timer);
  timer = null;
  if (current && current.page.unmount) current.page.unmount();
  current = null;
}

// A failed refresh shows in the banner; a refused token signs out.
export function report(err) {
  if (err instanceof ApiError && err.refused) {
    clearToken();
    showLogin('The control plane refused the token (' + err.describe() + '). Sign in again.');
    return;
  }
  const b = $('banner');
  b.textContent = err instanceof ApiError ? err.describe() : String(err && err.message || err);
  b.hidden = false;
}

async function tick() {
  if (!current) return;
  const mine = current;
  try {
    await mine.page.refresh();
    if (current === mine) {
      $('banner').hidden = true;
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    }
  } catch (e) {
    if (current === mine) report(e);
  }
  if (current === mine) timer = setTimeout(tick, REFRESH_MS);
}

function route() {
  if (!token()) return showLogin('');
  const name = (location.hash.match(/^#\/([a-z]+)/) || [])[1];
  if (!PAGES[name]) {
    location.hash = '#/overview';
    return;
  }
  stop();
  for (const n of Object.keys(PAGES)) $('nav-' + n).classList.toggle('active', n === name);
  const root = $('page');
  replace(root);
  root.dataset.page = name;
  current = { name, page: PAGES[name].mount(root, report) };
  tick();
}

async function login(ev) {
  ev.preventDefault();
  const t = $('login-token').value.trim();
  $('login-error').textContent = '';
  if (!t) {
    $('login-error').textContent = 'Enter the admin token.';
    return;
  }
  $('login-btn').disabled = true;
  try {
    // Any admin route tells whether the token is right.
    await api('GET', '/api/functions', undefined, undefined, t);
    setToken(t);
    showApp();
  } catch (e) {
    const why = e instanceof ApiError ? e.describe() : String(e);
    $('login-error').textContent = e instanceof ApiError && e.refused
      ? 'Wrong token: the control plane refused it (' + why + ').'
      : 'Cannot sign in: ' + why;
  } finally {
    $('login-btn').disabled = false;
  }
}

function logout() {
  clearToken();
  showLogin('Signed out.');
}

$('login-form').addEventListener('submit', login);
$('logout').addEventListener('click', logout);
window.addEventListener('hashchange', () => { if (token()) route(); });
if (token()) showApp(); else showLogin('');
