// One camera's settings: tabs for its source and recording (camera-form.js), zones and
// masks drawn on the live picture (mask-editor.js), the motion tuner (tuner.js) and its
// arming schedule (schedule.js). Loads GET /api/cameras/{id}/config and saves through
// `save(patch)`: PATCH with If-Match, so a change someone else made meanwhile is never
// overwritten (412: reload).

import { CameraForm } from '/camera-form.js';
import { getJson } from '/http.js';
import { MaskEditor } from '/mask-editor.js';
import { CameraPlayer } from '/player.js';
import { SchedulePanel } from '/schedule.js';
import { MotionTuner } from '/tuner.js';
import { h, note, send } from '/ui.js';

const TABS = [
  ['source', 'Source'],
  ['zones', 'Zones & masks'],
  ['motion', 'Motion'],
  ['schedule', 'Schedule'],
];
const LIVE_TABS = new Set(['zones', 'motion']);

export class CameraEditor {
  el;
  id;
  #tabs;
  #panel = h('div', { class: 'set-panel' });
  #status = h('p', { role: 'status', hidden: true });
  #title = h('h3');
  #tab = null;
  #requested = null; // a tab asked for before the camera's settings had loaded
  #page = null;
  #ctx = null;
  #player = null;
  #live;

  constructor(id, tab, live) {
    this.id = id;
    this.#live = live;
    this.#tabs = h(
      'nav',
      { class: 'set-subtabs', 'aria-label': 'Camera settings' },
      TABS.map(([key, label]) =>
        h('a', {
          href: `#/settings/camera/${encodeURIComponent(id)}/${key}`,
          text: label,
          testid: `camera-tab-${key}`,
        }),
      ),
    );
    this.el = h(
      'div',
      { class: 'set-page' },
      h(
        'div',
        { class: 'set-head' },
        h('a', { href: '#/settings', class: 'set-back', text: '‹ Cameras' }),
        this.#title,
      ),
      this.#tabs,
      this.#status,
      this.#panel,
    );
    this.#start(tab);
  }

  async #start(tab) {
    try {
      await this.#reload();
      // A tab chosen while the camera was loading wins over the one in the first route.
      this.showTab(this.#requested ?? tab);
    } catch (err) {
      note(this.#status, `Cannot load this camera: ${err.message}`, 'error');
    }
  }

  async #reload() {
    const body = await getJson(`/api/cameras/${encodeURIComponent(this.id)}/config`);
    const ctx = this.#ctx ?? {
      id: this.id,
      live: this.#live,
      saved: (result) => this.#adopt(result.body),
      save: (patch) => this.#save(patch),
      reload: () => this.#reload().then(() => this.showTab(this.#tab ?? 'source', true)),
      media: () => this.#media(),
    };
    this.#ctx = Object.assign(ctx, { camera: body.camera, etag: body.etag, origins: body.origins });
    this.#title.textContent = body.camera.name || body.camera.id;
    note(this.#status, '');
  }

  #adopt(body) {
    Object.assign(this.#ctx, { camera: body.camera, etag: body.etag, origins: body.origins });
    this.#title.textContent = body.camera.name || body.camera.id;
  }

  async #save(patch) {
    const result = await send(
      'PATCH',
      `/api/cameras/${encodeURIComponent(this.id)}`,
      patch,
      this.#ctx.etag,
    );
    if (result.ok) this.#adopt(result.body);
    return result;
  }

  /** Someone changed this camera (the live channel): reload unless we are mid-edit. */
  onConfig(message) {
    if (message.camera !== this.id) return;
    if (message.action === 'removed') location.hash = '#/settings';
    else if (message.action === 'restarted') this.#player?.retryNow();
  }

  showTab(tab, again = false) {
    const key = TABS.some(([k]) => k === tab) ? tab : 'source';
    if (!this.#ctx) {
      this.#requested = key; // shown once the camera has loaded (#start)
      return;
    }
    if (key === this.#tab && !again) return;
    for (const link of this.#tabs.children) {
      const current = link.getAttribute('href').endsWith(`/${key}`);
      link.classList.toggle('is-current', current);
      if (current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    this.#page?.close?.();
    this.#tab = key;
    if (!LIVE_TABS.has(key)) this.#stopPlayer();
    const pages = {
      source: () => new CameraForm(this.#ctx),
      zones: () => new MaskEditor(this.#ctx),
      motion: () => new MotionTuner(this.#ctx),
      schedule: () => new SchedulePanel(this.#ctx),
    };
    this.#page = pages[key]();
    this.#panel.replaceChildren(this.#page.el);
  }

  /** The live picture (a <div> holding the <video>), playing while a live tab is open. */
  #media() {
    if (!this.#player) {
      const video = h('video', {
        playsinline: true,
        autoplay: true,
        muted: true,
        testid: 'settings-video',
      });
      video.muted = true;
      this.mediaEl = h('div', { class: 'set-media' }, video);
      this.#player = new CameraPlayer(video, `/api/cameras/${encodeURIComponent(this.id)}/whep`, {
        onState: (player) => this.mediaEl.classList.toggle('is-live', player.state === 'live'),
      });
      this.#player.start();
    }
    const camera = this.#ctx.camera;
    this.mediaEl.style.setProperty('--aspect', `${camera.width} / ${camera.height}`);
    return this.mediaEl;
  }

  #stopPlayer() {
    this.#player?.destroy();
    this.#player = null;
    this.mediaEl = null;
  }

  close() {
    this.#page?.close?.();
    this.#stopPlayer();
  }
}
