// Small DOM and request helpers for the settings pages (built in script: no markup of
// their own in index.html beyond their container; nothing inline, the CSP forbids it).

import { apiFetch, httpError } from '/http.js';

/**
 * An element: h('button', {class: 'btn', type: 'button', onclick: fn, testid: 'x'}, 'Save').
 * `text` sets textContent; `testid` sets data-testid; other keys are attributes (true: a
 * bare attribute; false/null: left out) or, for on*, listeners.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'testid') {
      el.dataset.testid = value;
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'value') {
      el.value = value;
    } else if (key === 'checked') {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let fieldCount = 0;

/** A labelled field: a label, the control, an optional help line and an error line. */
export function field(label, control, help = '') {
  fieldCount += 1;
  control.id ||= `set-field-${fieldCount}`;
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const wrapper = h(
    'div',
    { class: 'field' },
    h('label', { for: control.id, text: label }),
    control,
    help ? h('p', { class: 'field-help', text: help }) : null,
    error,
  );
  wrapper.showError = (message) => {
    error.textContent = message ?? '';
    error.hidden = !message;
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return wrapper;
}

/** A <select> with [value, label] options. */
export function select(options, value, props = {}) {
  return h(
    'select',
    props,
    options.map(([v, label]) => h('option', { value: v, text: label, selected: v === value })),
  );
}

/** A switch: a checkbox with its label beside it. */
export function toggle(label, checked, props = {}) {
  const input = h('input', { type: 'checkbox', checked, ...props });
  return { input, el: h('label', { class: 'set-toggle' }, input, h('span', { text: label })) };
}

/**
 * A JSON request to the API. Resolves to {ok, status, body, etag}; `body` is the parsed
 * answer (the error's {detail, errors} too). 401 redirects to the login page (http.js).
 */
export async function send(method, url, body = undefined, etag = null) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (etag) headers['If-Match'] = etag;
  const res = await apiFetch(url, {
    method,
    headers,
    cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let parsed = null;
  if (res.status !== 204) {
    try {
      parsed = await res.json();
    } catch {
      parsed = res.ok ? null : { detail: (await httpError(res)).message };
    }
  }
  return { ok: res.ok, status: res.status, body: parsed, etag: res.headers.get('ETag') };
}

/** A status line under a form: kind 'ok', 'error' or '' (plain). */
export function note(el, text, kind = '') {
  el.textContent = text ?? '';
  el.hidden = !text;
  el.classList.toggle('form-error', kind === 'error');
  el.classList.toggle('form-ok', kind === 'ok');
}

/** The usual words for an answer that is not ok. */
export function problemText(result) {
  if (result.status === 412) {
    return 'Someone else changed these settings meanwhile. Reload them and make your change again.';
  }
  if (result.status === 409 && result.body?.detail) return result.body.detail;
  const detail = result.body?.detail;
  return detail ? `Not saved: ${detail}` : `Not saved (HTTP ${result.status}).`;
}
