// The signed-in user's corner of the dashboard: the user menu (name, log out) and the
// change-password dialog. Asks GET /api/auth/me who is signed in: the CSRF token for later
// requests, the name shown, and (onSignedIn) the role and cameras the rest adapts to.

import { getJson, httpError, postJson, setCsrfToken, UnauthorizedError } from '/http.js';

/**
 * Wire the user menu and the change-password dialog, then ask who is signed in.
 * @param {object} hooks
 * @param {() => void} hooks.onLogout  before logging out (free the viewer slots)
 * @param {(me: object) => void} hooks.onSignedIn  GET /api/auth/me answered (role, cameras)
 */
export async function initAccount({ onLogout, onSignedIn }) {
  const menu = document.getElementById('user-menu');
  const dialog = document.getElementById('change-password');
  const form = document.getElementById('change-password-form');
  const error = document.getElementById('change-password-error');
  const done = document.getElementById('change-password-done');
  const fields = {
    current: document.getElementById('current-password'),
    next: document.getElementById('new-password'),
    repeat: document.getElementById('new-password2'),
  };
  const submit = document.getElementById('change-password-submit');
  const cancel = document.getElementById('change-password-cancel');

  // The menu: a <details>; close it on a tap elsewhere or Escape.
  document.addEventListener('click', (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  menu.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && menu.open) {
      menu.open = false;
      menu.querySelector('summary').focus();
    }
  });

  document.getElementById('logout').addEventListener('click', async (event) => {
    event.currentTarget.disabled = true;
    onLogout(); // free the viewer slots first
    try {
      await postJson('/api/auth/logout');
    } catch (err) {
      if (err instanceof UnauthorizedError) return; // already logged out: redirecting
    }
    location.assign('/login');
  });

  const showError = (message, field = null) => {
    error.textContent = message;
    error.hidden = !message;
    for (const input of Object.values(fields)) input.removeAttribute('aria-invalid');
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  };
  const reset = () => {
    form.reset();
    showError('');
    done.hidden = true;
    form.classList.remove('is-done');
    submit.disabled = false;
    cancel.textContent = 'Cancel';
  };

  document.getElementById('change-password-open').addEventListener('click', () => {
    menu.open = false;
    reset();
    dialog.showModal();
    fields.current.focus();
  });
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', reset);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    if (!fields.current.value) return showError('Enter your current password.', fields.current);
    if (!fields.next.value) return showError('Choose a new password.', fields.next);
    if (fields.next.value !== fields.repeat.value) {
      return showError('The two new passwords do not match.', fields.repeat);
    }
    submit.disabled = true;
    let res;
    try {
      res = await postJson('/api/auth/password', {
        current_password: fields.current.value,
        new_password: fields.next.value,
      });
    } catch (err) {
      submit.disabled = false;
      if (!(err instanceof UnauthorizedError)) showError('Cannot reach the Sentrycam server.');
      return;
    }
    if (res.ok) {
      try {
        setCsrfToken((await res.json()).csrf_token); // this session was renewed
      } catch {
        // The next /api/auth/me (or the Origin header) covers it.
      }
      form.reset();
      showError('');
      form.classList.add('is-done'); // hides the fields; this session was renewed
      done.hidden = false;
      cancel.textContent = 'Close';
      cancel.focus();
      return;
    }
    submit.disabled = false;
    const err = await httpError(res);
    if (res.status === 429) {
      const seconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
      showError(`Too many failed attempts. Try again in ${seconds} s.`);
    } else if (res.status === 403) {
      fields.current.value = '';
      showError('The current password is wrong.', fields.current);
    } else if (res.status === 400) {
      fields.repeat.value = '';
      showError(capitalise(err.message), fields.next);
    } else {
      showError(capitalise(err.message));
    }
  });

  try {
    const me = await getJson('/api/auth/me');
    setCsrfToken(me.csrf_token);
    onSignedIn(me);
    document.getElementById('user-name').textContent = me.name;
    document.getElementById('user-name-full').textContent = me.name;
    document.getElementById('change-password-user').value = me.name;
    menu.hidden = false;
  } catch {
    // 401 redirects to /login; otherwise poll() reports an unreachable server.
  }
}

function capitalise(text) {
  const value = String(text ?? '').trim();
  return value ? value[0].toUpperCase() + value.slice(1) + (/[.!?)]$/.test(value) ? '' : '.') : '';
}
