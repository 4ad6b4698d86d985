// API tokens (for phones, scripts, home automation) and the audit log, for admins.
// A new token is shown once, with a copy button; revoking works at once (/api/tokens).

import { formatWhen } from '/format.js';
import { getJson } from '/http.js';
import { h, field, note, problemText, select, send } from '/ui.js';

const EXPIRY = [
  ['', 'Never'],
  ['30', '30 days'],
  ['365', 'A year'],
];

export class TokensPage {
  el;
  #list = h('ul', { class: 'set-list', testid: 'tokens-list' });
  #status = h('p', { role: 'status', hidden: true });
  #shown = h('div', { class: 'set-card set-secret', hidden: true, testid: 'token-shown' });
  #user = select([], '', { testid: 'token-user' });

  constructor() {
    const name = h('input', { maxlength: 64, testid: 'token-name', autocomplete: 'off' });
    const expiry = select(EXPIRY, '365', { testid: 'token-expiry' });
    const status = h('p', { role: 'status', hidden: true });
    const form = h(
      'form',
      {
        class: 'set-card',
        onsubmit: async (event) => {
          event.preventDefault();
          const body = {
            name: name.value.trim(),
            user: this.#user.value || null,
            expires_days: expiry.value ? Number(expiry.value) : null,
          };
          const result = await send('POST', '/api/tokens', body);
          if (!result.ok) return note(status, problemText(result), 'error');
          note(status, '');
          name.value = '';
          this.#reveal(result.body);
          this.load();
        },
      },
      h('h4', { text: 'New token' }),
      field('Name (what uses it)', name),
      field('For user', this.#user),
      field('Expires', expiry),
      status,
      h('button', {
        type: 'submit',
        class: 'btn btn-primary',
        text: 'Create token',
        testid: 'token-create',
      }),
    );
    this.el = h(
      'div',
      { class: 'set-page' },
      h('h3', { text: 'API tokens' }),
      this.#shown,
      this.#status,
      this.#list,
      form,
    );
    this.load();
  }

  #reveal(created) {
    const code = h('code', { text: created.token, testid: 'token-value' });
    const copy = h('button', {
      type: 'button',
      class: 'btn btn-small',
      text: 'Copy',
      onclick: () =>
        navigator.clipboard?.writeText(created.token).then(() => (copy.textContent = 'Copied')),
    });
    this.#shown.replaceChildren(
      h('p', {
        text: `Token “${created.name}” for ${created.user}. It is shown this once: copy it now.`,
      }),
      code,
      copy,
      h('p', { class: 'field-help', text: 'Send it as “Authorization: Bearer …”.' }),
    );
    this.#shown.hidden = false;
  }

  async load() {
    try {
      const [tokens, users] = await Promise.all([getJson('/api/tokens'), getJson('/api/users')]);
      const chosen = this.#user.value;
      this.#user.replaceChildren(...users.map((u) => h('option', { value: u.name, text: u.name })));
      if (chosen) this.#user.value = chosen;
      const live = tokens.filter((t) => !t.revoked);
      this.#list.replaceChildren(...live.map((token) => this.#row(token)));
      if (!live.length) this.#list.append(h('li', { class: 'set-empty', text: 'No tokens.' }));
    } catch (err) {
      note(this.#status, `Cannot load the tokens: ${err.message}`, 'error');
    }
  }

  #row(token) {
    const expires = token.expires_at ? `expires ${formatWhen(token.expires_at)}` : 'never expires';
    const used = token.last_used_at ? `last used ${formatWhen(token.last_used_at)}` : 'never used';
    return h(
      'li',
      { class: 'set-row', testid: `token-${token.id}` },
      h(
        'span',
        { class: 'set-row-main' },
        h('strong', { text: token.name }),
        h('span', {
          class: 'set-row-sub',
          text: `${token.user} · ${token.prefix}… · ${expires} · ${used}`,
        }),
      ),
      h('button', {
        type: 'button',
        class: 'btn btn-small btn-danger',
        text: 'Revoke',
        testid: `token-${token.id}-revoke`,
        onclick: async () => {
          const result = await send('DELETE', `/api/tokens/${token.id}`);
          if (!result.ok) return note(this.#status, problemText(result), 'error');
          this.load();
        },
      }),
    );
  }
}

export class AuditPage {
  el;
  #rows = h('tbody', { testid: 'audit-rows' });
  #more = h('button', {
    type: 'button',
    class: 'btn',
    text: 'Older',
    hidden: true,
    testid: 'audit-more',
    onclick: () => this.load(),
  });
  #before = null;

  constructor() {
    this.el = h(
      'div',
      { class: 'set-page' },
      h('h3', { text: 'Audit log' }),
      h(
        'div',
        { class: 'set-table-wrap' },
        h(
          'table',
          { class: 'set-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['When', 'Who', 'What', 'On', 'From'].map((t) => h('th', { text: t })),
            ),
          ),
          this.#rows,
        ),
      ),
      this.#more,
    );
    this.load();
  }

  async load() {
    const query = new URLSearchParams({ limit: '50' });
    if (this.#before) query.set('before', this.#before);
    const entries = await getJson(`/api/audit?${query}`);
    for (const entry of entries) {
      const what = entry.ok ? entry.action : `${entry.action} (refused)`;
      this.#rows.append(
        h(
          'tr',
          { class: entry.ok ? '' : 'is-refused', title: entry.detail || '' },
          h('td', { text: formatWhen(entry.at) }),
          h('td', { text: entry.actor }),
          h('td', { text: what }),
          h('td', { text: entry.target }),
          h('td', { text: entry.client }),
        ),
      );
    }
    this.#before = entries.length ? entries[entries.length - 1].id : this.#before;
    this.#more.hidden = entries.length < 50;
  }
}
