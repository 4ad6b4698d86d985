// The settings view (admins): #/settings and below. An overlay like the recordings view,
// with a page per part: cameras (and the alert timing), a camera's settings
// (camera-editor.js), adding a camera (camera-form.js), users (users.js), tokens and the
// audit log (tokens.js). Every change goes through the API and applies at once.
//
//   #/settings                     cameras and alerts
//   #/settings/new[/<source>]      add a camera (a webcam's source: that webcam chosen)
//   #/settings/camera/<id>[/<tab>] a camera: source | zones | motion | schedule
//   #/settings/users | /tokens | /audit

import { CameraEditor } from '/camera-editor.js';
import { CameraForm } from '/camera-form.js';
import { getJson } from '/http.js';
import { AuditPage, TokensPage } from '/tokens.js';
import { h, field, note, problemText, send } from '/ui.js';
import { UsersPage } from '/users.js';

const TABS = [
  ['', 'Cameras'],
  ['/users', 'Users'],
  ['/tokens', 'Tokens'],
  ['/audit', 'Audit log'],
];

/** What a settings route shows: {page, id, tab}. */
export function parseSettingsRoute(rest) {
  const camera = /^\/camera\/([^/]+)(?:\/([a-z]+))?$/.exec(rest);
  if (camera) return { page: 'camera', id: decodeURIComponent(camera[1]), tab: camera[2] ?? '' };
  const adding = /^\/new(?:\/([^/]+))?$/.exec(rest);
  if (adding) return { page: 'new', device: adding[1] ? decodeURIComponent(adding[1]) : null };
  const named = { '/users': 'users', '/tokens': 'tokens', '/audit': 'audit' }[rest];
  return { page: named ?? 'cameras' };
}

export class SettingsView {
  #root;
  #body;
  #nav;
  #current = null; // the open page (has close())
  #shown = null;
  #live;
  #onClose;

  /**
   * @param {HTMLElement} root  the #settings section
   * @param {{live: object, onClose: () => void}} options
   */
  constructor(root, { live, onClose }) {
    this.#root = root;
    this.#live = live;
    this.#onClose = onClose;
    this.#nav = h(
      'nav',
      { class: 'set-tabs', 'aria-label': 'Settings' },
      TABS.map(([path, label]) =>
        h('a', {
          href: `#/settings${path}`,
          text: label,
          testid: `settings-tab${path || '/cameras'}`,
        }),
      ),
    );
    this.#body = h('div', { class: 'set-body' });
    const close = h('button', {
      type: 'button',
      class: 'icon-btn',
      'aria-label': 'Close the settings',
      title: 'Close',
      testid: 'settings-close',
      onclick: () => this.#onClose(),
    });
    close.innerHTML =
      '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';
    root.append(
      h('header', { class: 'set-bar' }, h('h2', { class: 'set-title', text: 'Settings' }), close),
      this.#nav,
      h('div', { class: 'set-scroll' }, this.#body),
    );
    live.subscribe((message) => {
      if (message.type === 'config' && this.#current?.onConfig) this.#current.onConfig(message);
    });
  }

  get isOpen() {
    return !this.#root.hidden;
  }

  /** Show the page for `rest` (the route after #/settings). */
  open(rest) {
    const route = parseSettingsRoute(rest);
    const key = JSON.stringify(route);
    this.#root.hidden = false;
    const tabPath = {
      cameras: '',
      new: '',
      camera: '',
      users: '/users',
      tokens: '/tokens',
      audit: '/audit',
    };
    for (const link of this.#nav.children) {
      const current = link.getAttribute('href') === `#/settings${tabPath[route.page]}`;
      link.classList.toggle('is-current', current);
      if (current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    if (key === this.#shown) return;
    if (
      route.page === 'camera' &&
      this.#current instanceof CameraEditor &&
      this.#current.id === route.id
    ) {
      this.#shown = key;
      this.#current.showTab(route.tab);
      return;
    }
    this.#current?.close?.();
    this.#shown = key;
    this.#body.replaceChildren();
    const pages = {
      cameras: () => new CamerasPage(),
      new: () => new CameraForm(null, { device: route.device }),
      camera: () => new CameraEditor(route.id, route.tab, this.#live),
      users: () => new UsersPage(),
      tokens: () => new TokensPage(),
      audit: () => new AuditPage(),
    };
    this.#current = pages[route.page]();
    this.#body.append(this.#current.el);
  }

  close() {
    this.#current?.close?.();
    this.#current = null;
    this.#shown = null;
    this.#body.replaceChildren();
    this.#root.hidden = true;
  }
}

/** The cameras (status, source, a link to each one's settings) and the alert timing. */
class CamerasPage {
  el;
  #list = h('ul', { class: 'set-list', testid: 'settings-cameras' });
  #status = h('p', { class: 'set-note', role: 'status', hidden: true });

  constructor() {
    this.el = h(
      'div',
      { class: 'set-page' },
      h(
        'div',
        { class: 'set-head' },
        h('h3', { text: 'Cameras' }),
        h('a', {
          class: 'btn btn-primary btn-small',
          href: '#/settings/new',
          text: 'Add camera',
          testid: 'add-camera',
        }),
      ),
      this.#status,
      this.#list,
      new AlertTiming().el,
    );
    this.load();
  }

  onConfig() {
    this.load();
  }

  async load() {
    try {
      const [config, live] = await Promise.all([getJson('/api/config'), getJson('/api/cameras')]);
      const status = new Map(live.cameras.map((c) => [c.id, c]));
      if (config.overlay_error) note(this.#status, config.overlay_error, 'error');
      this.#list.replaceChildren(
        ...config.settings.cameras.map((camera) => this.#row(camera, status.get(camera.id))),
      );
      if (!config.settings.cameras.length) {
        this.#list.append(h('li', { class: 'set-empty', text: 'No cameras yet: add one.' }));
      }
    } catch (err) {
      note(this.#status, `Cannot load the cameras: ${err.message}`, 'error');
    }
  }

  #row(camera, live) {
    const state = live?.status ?? 'starting';
    return h(
      'li',
      { class: 'set-row', testid: `settings-camera-${camera.id}` },
      h('span', { class: `dot dot-${state}`, 'aria-hidden': 'true' }),
      h(
        'a',
        { class: 'set-row-main', href: `#/settings/camera/${encodeURIComponent(camera.id)}` },
        h('strong', { text: camera.name || camera.id }),
        h('span', { class: 'set-row-sub', text: `${camera.id} · ${camera.source} · ${state}` }),
      ),
    );
  }
}

/** The `events` section: how often alerts may come. */
class AlertTiming {
  el;
  #etag = null;
  #inputs = {};
  #status = h('p', { role: 'status', hidden: true });

  constructor() {
    const number = (key, min, max) => {
      this.#inputs[key] = h('input', {
        type: 'number',
        min,
        max,
        step: 'any',
        name: key,
        testid: `events-${key}`,
      });
      return this.#inputs[key];
    };
    this.el = h(
      'form',
      { class: 'set-card', onsubmit: (event) => this.#save(event) },
      h('h3', { text: 'Alerts' }),
      field(
        'Quiet time after an alert (seconds)',
        number('cooldown_seconds', 0, 86400),
        'A camera raises no new alert for this long; events are still recorded.',
      ),
      field('Split events longer than (seconds)', number('max_event_seconds', 10, 86400)),
      field('Keep events for (days)', number('keep_days', 1, 3650)),
      this.#status,
      h('button', {
        class: 'btn btn-primary',
        type: 'submit',
        text: 'Save',
        testid: 'events-save',
      }),
    );
    this.load();
  }

  async load() {
    const config = await getJson('/api/config');
    this.#etag = config.versions.sections.events;
    for (const [key, input] of Object.entries(this.#inputs))
      input.value = config.settings.events[key];
  }

  async #save(event) {
    event.preventDefault();
    const patch = {};
    for (const [key, input] of Object.entries(this.#inputs)) patch[key] = Number(input.value);
    const result = await send('PATCH', '/api/config/events', patch, this.#etag);
    if (result.ok) {
      this.#etag = result.etag;
      note(this.#status, 'Saved.', 'ok');
    } else {
      note(this.#status, problemText(result), 'error');
    }
  }
}
