// Same-origin HTTP helpers. Every request to the server goes through apiFetch(),
// so authentication handling (redirect to /login on 401) lives in exactly one place.

const LOGIN_PATH = '/login';

let redirecting = false;
let csrfToken = '';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session's CSRF token (from /api/auth/me): sent with every state-changing request,
 * for browsers that leave out the Origin header. */
export function setCsrfToken(token) {
  csrfToken = typeof token === 'string' ? token : '';
}

/** Thrown after a 401: the page is already navigating to the login page. */
export class UnauthorizedError extends Error {
  constructor() {
    super('Not signed in');
    this.name = 'UnauthorizedError';
  }
}

/** An HTTP error response, with the server's `detail` text and Retry-After (ms). */
export class HttpError extends Error {
  constructor(status, detail, retryAfterMs = 0) {
    super(detail || `HTTP ${status}`);
    this.name = 'HttpError';
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Send the browser to the login page, remembering where to come back to. */
export function redirectToLogin() {
  if (redirecting) return;
  redirecting = true;
  const next = location.pathname + location.search + location.hash;
  location.assign(`${LOGIN_PATH}?next=${encodeURIComponent(next)}`);
}

/**
 * fetch() restricted to the page's origin, sending cookies.
 * Rejects with UnauthorizedError (after starting the redirect) when the server says 401.
 *
 * A 401 for a request sent just before this session was renewed (changing one's password
 * ends every session and gives this page a new one) is not the end of the session: if the
 * server still knows us, the request is sent once more, with the new session.
 */
export async function apiFetch(url, options = {}) {
  let res = await send(url, options);
  if (res.status === 401 && (await stillSignedIn())) res = await send(url, options);
  if (res.status === 401) {
    redirectToLogin();
    throw new UnauthorizedError();
  }
  return res;
}

function send(url, options) {
  const method = String(options.method ?? 'GET').toUpperCase();
  if (csrfToken && !SAFE_METHODS.has(method)) {
    options = { ...options, headers: { ...options.headers, 'X-CSRF-Token': csrfToken } };
  }
  return fetch(url, { ...options, mode: 'same-origin', credentials: 'same-origin' });
}

/** Whether the session cookie the browser holds now is a live session (adopting its CSRF
 * token: the one sent before may have been the old session's). */
async function stillSignedIn() {
  try {
    const res = await send('/api/auth/me', {
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
    if (!res.ok) return false;
    const me = await res.json();
    if (csrfToken && typeof me.csrf_token === 'string') csrfToken = me.csrf_token;
    return true;
  } catch {
    return false; // unreachable or not JSON: the 401 stands
  }
}

/** GET a JSON document; non-2xx responses become HttpError. */
export async function getJson(url) {
  const res = await apiFetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw await httpError(res);
  return res.json();
}

/** Every item of a cursor-paged list: GET PATH?PARAMS page after page (at most MAX pages),
 * the items under KEY of each, in order. */
export async function getPages(path, params, key, max) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < max; page += 1) {
    const query = new URLSearchParams(params);
    if (cursor) query.set('cursor', cursor);
    const body = await getJson(`${path}?${query}`);
    out.push(...(body[key] ?? []));
    cursor = body.next_cursor ?? null;
    if (!cursor) break;
  }
  return out;
}

/** POST a JSON body; returns the Response (check res.ok; 401 redirects as above). */
export async function postJson(url, body = undefined) {
  const options = { method: 'POST', headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  return apiFetch(url, options);
}

/** DELETE a resource; non-2xx responses become HttpError. */
export async function deleteResource(url) {
  const res = await apiFetch(url, {
    method: 'DELETE',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  });
  if (!res.ok) throw await httpError(res);
  return res;
}

/** Build an HttpError from a response whose body is (usually) `{"detail": ...}`. */
export async function httpError(res) {
  let detail = '';
  try {
    const body = await res.json();
    detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    detail = res.statusText;
  }
  return new HttpError(res.status, detail, retryAfterMs(res));
}

/** Retry-After header (delta-seconds or HTTP date) in milliseconds, 0 if absent. */
export function retryAfterMs(res) {
  const value = res.headers.get('Retry-After');
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
}
