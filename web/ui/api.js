// Every data call of the dashboard: the control plane's token-protected
// /api/*, with the admin token as a bearer header (never in a URL, never
// logged). The token lives in sessionStorage: this tab only, gone when it
// closes or on sign-out.
const TOKEN_KEY = 'aether.admin_token';

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(t) { sessionStorage.setItem(TOKEN_KEY, t); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  // 401/403: the token is missing or was refused.
  get refused() { return this.status === 401 || this.status === 403; }
  describe() {
    return this.status ? `${this.status} ${this.code}: ${this.message}` : this.message;
  }
}

// Resolves to {data, status, headers}; rejects with an ApiError (any non-2xx,
// or no answer). `body` is a string or an ArrayBuffer; `signal` (an
// AbortSignal) cancels a held request such as a long-poll.
export async function api(method, path, body, contentType, tok = token(), signal = undefined) {
  const headers = { Authorization: 'Bearer ' + (tok || '') };
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  let r;
  try {
    r = await fetch(path, {
      method, headers, body, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
      signal,
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'cannot reach the control plane (' + e.message + ')');
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) {
    const code = data && typeof data.code === 'string' ? data.code : 'http_error';
    const msg = data && typeof data.error === 'string' ? data.error : (r.statusText || 'error');
    throw new ApiError(r.status, code, msg);
  }
  return { data, status: r.status, headers: r.headers };
}

export const get = (path) => api('GET', path).then((r) => r.data);
export const postJson = (path, obj) => api('POST', path, JSON.stringify(obj)).then((r) => r.data);
// Path segments from the server (names, ids) are encoded, never pasted.
export const seg = (s) => encodeURIComponent(String(s));
