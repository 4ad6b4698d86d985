// Sentrycam login and first-run setup page (served at /login and /setup).
//
// Self-contained on purpose: this page is public, and it may load only the public assets
// (login.js, base.css, forms.css, login.css, favicon.svg); everything else of the dashboard
// needs a session.
//
// Mode (GET /api/auth/setup):
//   setup: create the first admin with the one-time code from the server log
//          (POST /api/auth/setup), which also logs in;
//   login: user name + password (POST /api/auth/login).
// Then the browser goes to ?next= if it is a same-origin path, else to the dashboard.

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const els = {};
let mode = 'loading';
let busy = false;
let lockedUntil = 0; // throttled (429) until this time (ms since epoch)
let lockTimer = 0;

const TEXT = {
  login: {
    title: 'Log in',
    intro: '',
    submit: 'Log in',
    busy: 'Logging in…',
    pageTitle: 'Sentrycam — Log in',
  },
  setup: {
    title: 'Create the first admin',
    intro:
      'Welcome to Sentrycam. No one can log in yet: create the administrator account ' +
      'with the setup code printed in the server log.',
    submit: 'Create admin and log in',
    busy: 'Creating…',
    pageTitle: 'Sentrycam — First-time setup',
  },
};

/**
 * Where to go after logging in: the `next` query parameter if it is a path on this site,
 * else "/". Never an absolute or protocol-relative URL (no open redirect).
 */
export function safeNext(raw, origin = location.origin) {
  if (typeof raw !== 'string' || raw === '') return '/';
  // "/x" only; not "//host" or "/\host" (browsers treat "\" like "/"), and no control
  // characters or spaces (browsers strip tabs and newlines: "/\t/host" -> "//host").
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return '/';
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return '/';
  let url;
  try {
    url = new URL(raw, origin);
  } catch {
    return '/';
  }
  if (url.origin !== origin) return '/';
  // Back to the login or setup page would be a loop.
  if (url.pathname === '/login' || url.pathname === '/setup') return '/';
  return url.pathname + url.search + url.hash;
}

function destination() {
  let next = safeNext(new URLSearchParams(location.search).get('next'));
  // The server's redirect cannot carry the fragment (#/camera/<id>), but the browser keeps
  // it across a redirect: restore it when `next` has none of its own.
  if (!next.includes('#') && location.hash.startsWith('#/')) next += location.hash;
  return next;
}

// ---- server calls ----------------------------------------------------------------------

async function postJson(url, body) {
  return fetch(url, {
    method: 'POST',
    mode: 'same-origin',
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date), 0 if absent. */
function retryAfterSeconds(res) {
  const value = res.headers.get('Retry-After');
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The server's `detail` as one readable sentence (FastAPI's 422 sends a list). */
async function errorDetail(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    return res.status >= 500 ? 'The server had a problem; see its log.' : `Error ${res.status}.`;
  }
  const detail = body?.detail;
  if (typeof detail === 'string' && detail) return sentence(detail);
  if (Array.isArray(detail) && detail.length) {
    const messages = detail.map((item) => {
      const field = Array.isArray(item?.loc) ? item.loc[item.loc.length - 1] : '';
      if (field === 'username') return usernameRule();
      if (field === 'code') return 'Enter the setup code.';
      if (field === 'password') return 'Enter a password (at most 256 characters).';
      return sentence(`${field ? `${field}: ` : ''}${item?.msg ?? 'invalid value'}`);
    });
    return [...new Set(messages)].join(' ');
  }
  return `Error ${res.status}.`;
}

function sentence(text) {
  const trimmed = String(text).trim();
  if (!trimmed) return '';
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

function usernameRule() {
  return (
    'The user name may have letters, digits and . _ @ - (up to 64), ' +
    'and must start with a letter or digit.'
  );
}

// ---- page ------------------------------------------------------------------------------

async function init() {
  for (const id of [
    'auth-form',
    'auth-title',
    'auth-intro',
    'auth-error',
    'auth-loading',
    'setup-code',
    'username',
    'password',
    'password2',
    'submit',
  ]) {
    els[id] = document.getElementById(id);
  }
  els.form = els['auth-form'];
  els.form.addEventListener('submit', onSubmit);
  els.form.addEventListener('input', (event) => {
    event.target.removeAttribute('aria-invalid');
  });

  let setupNeeded = location.pathname === '/setup'; // the server routed us: a good guess
  let reachable = true;
  try {
    const res = await fetch('/api/auth/setup', {
      mode: 'same-origin',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    setupNeeded = Boolean((await res.json()).needed);
  } catch {
    reachable = false;
  }
  setMode(setupNeeded ? 'setup' : 'login');
  if (!reachable)
    showError('Cannot reach the Sentrycam server. Check the connection and try again.');
}

function setMode(next) {
  mode = next;
  const text = TEXT[mode];
  const setup = mode === 'setup';
  els.form.dataset.mode = mode;
  els.form.dataset.testid = setup ? 'setup-form' : 'login-form';
  els.form.setAttribute('aria-labelledby', 'auth-title');
  for (const el of els.form.querySelectorAll('.setup-only')) {
    el.hidden = !setup;
    for (const input of el.querySelectorAll('input')) input.disabled = !setup;
  }
  els['setup-code'].required = setup;
  els.password2.required = setup;
  els.password.autocomplete = setup ? 'new-password' : 'current-password';
  // Only the setup form describes the fields; in login mode the hints are hidden.
  for (const [input, help] of [
    [els.username, 'username-help'],
    [els.password, 'password-help'],
  ]) {
    if (setup) input.setAttribute('aria-describedby', help);
    else input.removeAttribute('aria-describedby');
  }
  els['auth-title'].textContent = text.title;
  els['auth-intro'].textContent = text.intro;
  els['auth-intro'].hidden = !text.intro;
  els.submit.textContent = text.submit;
  document.title = text.pageTitle;
  // Keep the address bar honest (/setup vs /login), and keep ?next= and the fragment.
  const path = setup ? '/setup' : '/login';
  if (location.pathname !== path) {
    history.replaceState(null, '', path + location.search + location.hash);
  }
  els['auth-loading'].hidden = true;
  els.form.hidden = false;
  (setup ? els['setup-code'] : els.username).focus();
}

function showError(message, field = null) {
  els['auth-error'].textContent = message;
  els['auth-error'].hidden = !message;
  for (const input of els.form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    if (typeof field.select === 'function' && field.type !== 'password') field.select();
  }
}

function setBusy(value) {
  busy = value;
  els.form.setAttribute('aria-busy', String(value));
  els.submit.textContent = value ? TEXT[mode].busy : TEXT[mode].submit;
  updateSubmit();
}

function updateSubmit() {
  els.submit.disabled = busy || Date.now() < lockedUntil;
}

/** Throttled: say how long to wait, count down, and keep the button off until then. */
function lockFor(seconds, detail) {
  clearInterval(lockTimer);
  lockedUntil = Date.now() + seconds * 1000;
  const render = () => {
    const left = Math.ceil((lockedUntil - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(lockTimer);
      showError('');
      updateSubmit();
      return;
    }
    showError(`Too many failed attempts. Try again in ${left} s.`);
    updateSubmit();
  };
  if (seconds > 0) {
    render();
    lockTimer = setInterval(render, 1000);
  } else {
    showError(detail);
  }
}

/** Check what can be checked here; returns [message, field] or null. */
function validate() {
  const username = els.username.value.trim();
  if (mode === 'setup') {
    if (!els['setup-code'].value.trim()) {
      return ['Enter the setup code from the server log.', els['setup-code']];
    }
    if (!username) return ['Choose a user name.', els.username];
    if (!NAME_RE.test(username)) return [usernameRule(), els.username];
    if (!els.password.value) return ['Choose a password.', els.password];
    if (els.password.value !== els.password2.value) {
      return ['The two passwords do not match.', els.password2];
    }
    return null;
  }
  if (!username) return ['Enter your user name.', els.username];
  if (!els.password.value) return ['Enter your password.', els.password];
  return null;
}

async function onSubmit(event) {
  event.preventDefault();
  if (busy || Date.now() < lockedUntil) return;
  const invalid = validate();
  if (invalid) {
    showError(...invalid);
    return;
  }
  const setup = mode === 'setup';
  const body = {
    username: els.username.value.trim(),
    password: els.password.value,
  };
  if (setup) body.code = els['setup-code'].value.trim();

  setBusy(true);
  let res;
  try {
    res = await postJson(setup ? '/api/auth/setup' : '/api/auth/login', body);
  } catch {
    setBusy(false);
    showError('Cannot reach the Sentrycam server. Check the connection and try again.');
    return;
  }
  if (res.ok) {
    // The session cookie is set (HttpOnly); keep the button busy while the page changes.
    location.replace(destination());
    return;
  }
  const detail = await errorDetail(res);
  setBusy(false);
  if (res.status === 429) {
    lockFor(retryAfterSeconds(res), detail);
    return;
  }
  if (setup && res.status === 409) {
    // Someone finished the setup meanwhile: this is a login page now.
    setMode('login');
    els.password.value = '';
    showError('Setup is already done: log in with an existing account.', els.username);
    return;
  }
  if (setup && res.status === 403) {
    showError(detail, els['setup-code']);
  } else if (setup && res.status === 400) {
    els.password2.value = '';
    showError(detail, els.password);
  } else if (res.status === 422 && setup) {
    showError(detail, els.username);
  } else if (res.status === 401) {
    els.password.value = '';
    showError(detail, els.password);
  } else {
    showError(detail);
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
