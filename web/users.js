// Users (admins): add one with a role and the cameras they may see, change a role or
// cameras, reset a password, remove. Uses /api/users (docs/api.md); a change ends the
// user's sessions so their rights apply at once.

import { getJson } from '/http.js';
import { h, field, note, problemText, select, send } from '/ui.js';

const ROLES = [
  ['viewer', 'Viewer'],
  ['admin', 'Admin (settings too)'],
];

export class UsersPage {
  el;
  #list = h('ul', { class: 'set-list', testid: 'users-list' });
  #status = h('p', { role: 'status', hidden: true, testid: 'users-status' });
  #cameras = [];

  constructor() {
    this.el = h(
      'div',
      { class: 'set-page' },
      h('h3', { text: 'Users' }),
      this.#status,
      this.#list,
      this.#addForm(),
    );
    this.load();
  }

  async load() {
    try {
      const [users, cameras] = await Promise.all([getJson('/api/users'), getJson('/api/cameras')]);
      this.#cameras = cameras.cameras.map((c) => [c.id, c.name || c.id]);
      this.#list.replaceChildren(...users.map((user) => this.#row(user)));
      this.#addCameras.replaceChildren(...this.#cameraBoxes('new', null));
    } catch (err) {
      note(this.#status, `Cannot load the users: ${err.message}`, 'error');
    }
  }

  #cameraBoxes(prefix, chosen) {
    return this.#cameras.map(([id, name]) =>
      h(
        'label',
        { class: 'set-toggle' },
        h('input', {
          type: 'checkbox',
          value: id,
          checked: chosen === null || chosen.includes(id),
          testid: `user-${prefix}-camera-${id}`,
        }),
        h('span', { text: name }),
      ),
    );
  }

  #addCameras = h('div', { class: 'set-checks' });

  #addForm() {
    const name = h('input', {
      name: 'name',
      autocomplete: 'off',
      testid: 'user-new-name',
      maxlength: 64,
    });
    const password = h('input', {
      name: 'password',
      type: 'password',
      autocomplete: 'new-password',
      testid: 'user-new-password',
    });
    const role = select(ROLES, 'viewer', { testid: 'user-new-role' });
    const every = h('input', { type: 'checkbox', checked: true, testid: 'user-new-every' });
    const status = h('p', { role: 'status', hidden: true, testid: 'user-new-status' });
    const sync = () => (this.#addCameras.hidden = every.checked || role.value === 'admin');
    every.addEventListener('change', sync);
    role.addEventListener('change', sync);
    sync();
    return h(
      'form',
      {
        class: 'set-card',
        onsubmit: async (event) => {
          event.preventDefault();
          const cameras = every.checked ? null : checked(this.#addCameras);
          const body = {
            name: name.value.trim(),
            password: password.value,
            role: role.value,
            cameras,
          };
          const result = await send('POST', '/api/users', body);
          if (!result.ok) return note(status, problemText(result), 'error');
          note(status, `${body.name} can log in now.`, 'ok');
          name.value = password.value = '';
          this.load();
        },
      },
      h('h4', { text: 'Add a user' }),
      field('Name', name),
      field('Password', password, 'At least 10 characters; not a common password.'),
      field('Role', role),
      h('label', { class: 'set-toggle' }, every, h('span', { text: 'Every camera' })),
      this.#addCameras,
      status,
      h('button', {
        type: 'submit',
        class: 'btn btn-primary',
        text: 'Add user',
        testid: 'user-new-save',
      }),
    );
  }

  #row(user) {
    const status = h('p', { role: 'status', hidden: true });
    const role = select(ROLES, user.role, {
      testid: `user-${user.name}-role`,
      'aria-label': 'Role',
    });
    const every = h('input', {
      type: 'checkbox',
      checked: user.cameras === null,
      testid: `user-${user.name}-every`,
    });
    const boxes = h('div', { class: 'set-checks' }, this.#cameraBoxes(user.name, user.cameras));
    const sync = () => (boxes.hidden = every.checked || role.value === 'admin');
    every.addEventListener('change', sync);
    role.addEventListener('change', sync);
    sync();
    const password = h('input', {
      type: 'password',
      autocomplete: 'new-password',
      'aria-label': `New password for ${user.name}`,
      testid: `user-${user.name}-password`,
    });
    const act = async (method, url, body, done) => {
      const result = await send(method, url, body);
      if (!result.ok) return note(status, problemText(result), 'error');
      note(status, done, 'ok');
      return result;
    };
    const url = `/api/users/${encodeURIComponent(user.name)}`;
    return h(
      'li',
      { class: 'set-row set-user', testid: `user-${user.name}` },
      h(
        'details',
        { class: 'set-user-details' },
        h(
          'summary',
          {},
          h('strong', { text: user.name }),
          h('span', {
            class: 'set-row-sub',
            text: ` ${user.role}${user.role === 'viewer' ? ` · ${user.cameras === null ? 'every camera' : user.cameras.join(', ') || 'no camera'}` : ''}`,
          }),
        ),
        field('Role', role),
        h('label', { class: 'set-toggle' }, every, h('span', { text: 'Every camera' })),
        boxes,
        h(
          'div',
          { class: 'set-actions' },
          h('button', {
            type: 'button',
            class: 'btn btn-small',
            text: 'Save rights',
            testid: `user-${user.name}-save`,
            onclick: async () => {
              const cameras = every.checked ? null : checked(boxes);
              if (
                await act(
                  'PATCH',
                  url,
                  { role: role.value, cameras },
                  'Saved; their sessions restart with the new rights.',
                )
              )
                this.load();
            },
          }),
        ),
        field('New password', password),
        h(
          'div',
          { class: 'set-actions' },
          h('button', {
            type: 'button',
            class: 'btn btn-small',
            text: 'Set password',
            testid: `user-${user.name}-set-password`,
            onclick: async () => {
              if (
                await act(
                  'PUT',
                  `${url}/password`,
                  { password: password.value },
                  'Password set; they are logged out everywhere.',
                )
              )
                password.value = '';
            },
          }),
          h('button', {
            type: 'button',
            class: 'btn btn-small btn-danger',
            text: 'Remove user',
            testid: `user-${user.name}-remove`,
            onclick: async () => {
              if (await act('DELETE', url, undefined, 'Removed.')) this.load();
            },
          }),
        ),
        status,
      ),
    );
  }
}

function checked(container) {
  return [...container.querySelectorAll('input:checked')].map((input) => input.value);
}
