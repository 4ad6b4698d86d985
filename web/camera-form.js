// Adding a camera, and a camera's source and recording settings: choose a webcam found by
// the server (GET /api/devices, when the server has it) or type a URL; "Test" opens the
// source as the camera would and shows its picture or why not (POST /api/sources/test);
// "Save" adds it (POST /api/cameras) or changes only what was edited (PATCH, If-Match).

import {
  RESOLUTIONS,
  devicesFrom,
  errorsByField,
  freeId,
  mergePatch,
  slugify,
  sourceKind,
} from '/camera-model.js';
import { apiFetch, getJson } from '/http.js';
import { h, field, note, problemText, select, send, toggle } from '/ui.js';

const ENCODERS = [
  ['auto', 'Automatic (hardware when there is one)'],
  ['copy', 'Forward the camera’s H.264 untouched (least CPU)'],
  ['libx264', 'Software H.264 (libx264)'],
  ['h264_v4l2m2m', 'Raspberry Pi 4 hardware H.264'],
];
const FORM_KEYS = [
  'name',
  'source',
  'input_format',
  'audio',
  'width',
  'height',
  'fps',
  'encoder',
  'bitrate_kbps',
];
const RECORDING_KEYS = [
  'events',
  'continuous',
  'pre_roll_seconds',
  'post_roll_seconds',
  'keep_clip_days',
  'keep_continuous_days',
];

export class CameraForm {
  el;
  #edit; // null when adding; else {id, camera, etag, saved(result)}
  #fields = {};
  #inputs = {};
  #devices = { video: [], audio: [] };
  #taken = new Set();
  #idEdited = false;
  #status = h('p', { role: 'status', hidden: true, testid: 'camera-form-status' });
  #preview = h('div', { class: 'set-preview', testid: 'source-preview', hidden: true });

  /** @param {{id: string, camera: object, etag: string, saved: (result) => void}|null} edit */
  constructor(edit) {
    this.#edit = edit;
    this.el = this.#build();
    this.#load();
  }

  close() {}

  // ----- building ------------------------------------------------------------------------

  #input(key, props = {}) {
    this.#inputs[key] = h(props.tag ?? 'input', { name: key, testid: `camera-${key}`, ...props });
    return this.#inputs[key];
  }

  #field(key, label, control, help) {
    this.#fields[key] = field(label, control, help);
    return this.#fields[key];
  }

  #build() {
    const camera = this.#edit?.camera ?? {};
    const adding = !this.#edit;
    this.#inputs.kind = h('select', {
      name: 'kind',
      testid: 'camera-kind',
      onchange: () => this.#onKind(),
    });
    const name = this.#input('name', {
      value: camera.name ?? '',
      maxlength: 64,
      oninput: () => this.#onName(),
    });
    const form = h(
      'form',
      { class: 'set-page set-form', novalidate: true, onsubmit: (event) => this.#save(event) },
      adding ? h('h3', { text: 'Add a camera' }) : null,
      this.#field('name', 'Name', name),
      adding
        ? this.#field(
            'id',
            'ID (in links, cannot change later)',
            this.#input('id', {
              oninput: () => (this.#idEdited = true),
              pattern: '[a-z0-9][a-z0-9_-]{0,31}',
            }),
          )
        : null,
      this.#field('kind', 'Picture from', this.#inputs.kind),
      this.#field(
        'source',
        'Source',
        this.#input('source', {
          value: camera.source ?? '',
          placeholder: 'rtsp://user:password@192.168.1.20/stream1',
          autocomplete: 'off',
        }),
        'A URL (rtsp://, http://, udp://), a device (/dev/video0) or a file. Passwords can come from the server’s environment: ${SENTRYCAM_NAME}. A saved password shows as ***: type the whole URL again to change it.',
      ),
      this.#field('audio', 'Sound', this.#input('audio', { tag: 'select' })),
      this.#field(
        'encoder',
        'Encoding',
        select(ENCODERS, camera.encoder ?? 'auto', { name: 'encoder', testid: 'camera-encoder' }),
      ),
      h(
        'div',
        { class: 'set-pair' },
        this.#field(
          'size',
          'Size',
          select(
            RESOLUTIONS.map(([w, ht]) => [`${w}x${ht}`, `${w} × ${ht}`]),
            `${camera.width ?? 1280}x${camera.height ?? 720}`,
            { name: 'size', testid: 'camera-size' },
          ),
        ),
        this.#field(
          'fps',
          'Frames per second',
          this.#input('fps', {
            type: 'number',
            min: 1,
            max: 60,
            step: 'any',
            value: camera.fps ?? 30,
          }),
        ),
      ),
      h(
        'details',
        { class: 'set-more' },
        h('summary', { text: 'More' }),
        this.#field(
          'input_format',
          'Webcam format',
          select(
            [
              ['', 'The device’s own'],
              ['mjpeg', 'MJPEG'],
              ['yuyv422', 'YUYV'],
              ['h264', 'H.264'],
            ],
            camera.input_format ?? '',
            { name: 'input_format' },
          ),
        ),
        this.#field(
          'bitrate_kbps',
          'Bitrate (kbit/s)',
          this.#input('bitrate_kbps', {
            type: 'number',
            min: 100,
            max: 20000,
            value: camera.bitrate_kbps ?? 2000,
          }),
        ),
      ),
      this.#recording(
        camera.recording ?? {
          events: true,
          continuous: false,
          pre_roll_seconds: 5,
          post_roll_seconds: 5,
          keep_clip_days: 30,
          keep_continuous_days: 7,
        },
      ),
      this.#preview,
      this.#status,
      h(
        'div',
        { class: 'set-actions' },
        h('button', {
          type: 'button',
          class: 'btn',
          text: 'Test',
          testid: 'camera-test',
          onclick: () => this.#test(),
        }),
        h('button', {
          type: 'submit',
          class: 'btn btn-primary',
          text: adding ? 'Add camera' : 'Save',
          testid: 'camera-save',
        }),
      ),
      adding ? null : this.#removal(),
    );
    this.#inputs.encoder = form.querySelector('[name=encoder]');
    this.#inputs.size = form.querySelector('[name=size]');
    this.#inputs.input_format = form.querySelector('[name=input_format]');
    return form;
  }

  #recording(recording) {
    const events = toggle('Keep a clip of every event', recording.events, {
      name: 'events',
      testid: 'camera-rec-events',
    });
    const continuous = toggle('Also record everything', recording.continuous, {
      name: 'continuous',
      testid: 'camera-rec-continuous',
    });
    this.#inputs.events = events.input;
    this.#inputs.continuous = continuous.input;
    const number = (key, label, min, max) =>
      this.#field(
        key,
        label,
        this.#input(key, { type: 'number', min, max, step: 'any', value: recording[key] }),
      );
    return h(
      'fieldset',
      { class: 'set-card' },
      h('legend', { text: 'Recording' }),
      events.el,
      continuous.el,
      h(
        'div',
        { class: 'set-pair' },
        number('pre_roll_seconds', 'Seconds before', 0, 30),
        number('post_roll_seconds', 'Seconds after', 0, 120),
      ),
      h(
        'div',
        { class: 'set-pair' },
        number('keep_clip_days', 'Keep clips (days)', 1, 3650),
        number('keep_continuous_days', 'Keep the rest (days)', 1, 3650),
      ),
    );
  }

  #removal() {
    const confirm = h(
      'div',
      { class: 'set-confirm', hidden: true },
      h('p', { text: 'Remove this camera? Its recordings and events are kept.' }),
      h('button', {
        type: 'button',
        class: 'btn btn-danger',
        text: 'Remove',
        testid: 'camera-remove-confirm',
        onclick: () => this.#remove(),
      }),
    );
    return h(
      'div',
      { class: 'set-card set-danger' },
      h('button', {
        type: 'button',
        class: 'btn',
        text: 'Remove camera…',
        testid: 'camera-remove',
        onclick: () => (confirm.hidden = false),
      }),
      confirm,
    );
  }

  // ----- data ----------------------------------------------------------------------------

  async #load() {
    const [devices, config] = await Promise.all([
      this.#loadDevices(),
      getJson('/api/config').catch(() => null),
    ]);
    this.#devices = devices;
    this.#taken = new Set((config?.settings.cameras ?? []).map((c) => c.id));
    this.#fillKinds();
    this.#fillAudio();
    if (!this.#edit) this.#onName();
  }

  async #loadDevices() {
    try {
      const res = await apiFetch('/api/devices', { headers: { Accept: 'application/json' } });
      return res.ok ? devicesFrom(await res.json()) : devicesFrom(null); // 404: an older server
    } catch {
      return devicesFrom(null);
    }
  }

  #fillKinds() {
    const source = this.#inputs.source.value;
    const options = this.#devices.video.map((d) => [
      `device:${d.path}`,
      `${d.label}${d.inUse ? ` (used by ${d.inUse})` : ''}`,
    ]);
    options.push(
      ['url', 'A network camera (URL)'],
      ['file', 'A video file'],
      ['demo', 'The demo picture'],
    );
    const current = this.#devices.video.some((d) => d.path === source)
      ? `device:${source}`
      : { demo: 'demo', url: 'url', v4l2: 'url', file: 'file' }[sourceKind(source)];
    this.#inputs.kind.replaceChildren(
      ...options.map(([v, label]) => h('option', { value: v, text: label })),
    );
    this.#inputs.kind.value = source ? current : options[0][0];
    this.#onKind();
  }

  #fillAudio() {
    const current = this.#edit?.camera.audio ?? null;
    const options = [
      ['', 'None'],
      ['source', 'The source’s own sound'],
      ...this.#devices.audio.map((d) => [d.path, d.label]),
      ['demo', 'A test tone'],
    ];
    if (current && !options.some(([v]) => v === current)) options.push([current, current]);
    this.#inputs.audio.replaceChildren(
      ...options.map(([v, label]) => h('option', { value: v, text: label })),
    );
    this.#inputs.audio.value = current ?? '';
  }

  #onKind() {
    const kind = this.#inputs.kind.value;
    const typed = kind === 'url' || kind === 'file';
    this.#fields.source.hidden = !typed;
    if (kind.startsWith('device:')) {
      const device = this.#devices.video.find((d) => `device:${d.path}` === kind);
      this.#inputs.source.value = device.path;
      if (device.audio && !this.#edit) this.#inputs.audio.value = device.audio;
    } else if (kind === 'demo') {
      this.#inputs.source.value = 'demo';
    } else if (
      this.#inputs.source.value === 'demo' ||
      this.#inputs.source.value.startsWith('/dev/')
    ) {
      this.#inputs.source.value = '';
    }
    if (!this.#edit && !this.#inputs.name.value) this.#onName();
  }

  #onName() {
    if (this.#edit || this.#idEdited) return;
    const device = this.#devices.video.find((d) => `device:${d.path}` === this.#inputs.kind.value);
    const base = slugify(this.#inputs.name.value || device?.label || 'camera');
    this.#inputs.id.value = freeId(base, this.#taken);
  }

  /** The camera object the form describes (the keys it edits). */
  #body() {
    const [width, height] = this.#inputs.size.value.split('x').map(Number);
    const value = (key) => this.#inputs[key].value.trim();
    const body = {
      name: value('name') || null,
      source: value('source'),
      input_format: this.#inputs.input_format.value || null,
      audio: this.#inputs.audio.value || null,
      width,
      height,
      fps: Number(value('fps')),
      encoder: this.#inputs.encoder.value,
      bitrate_kbps: Number(value('bitrate_kbps')),
      recording: {
        events: this.#inputs.events.checked,
        continuous: this.#inputs.continuous.checked,
      },
    };
    for (const key of RECORDING_KEYS.slice(2)) body.recording[key] = Number(value(key));
    if (!this.#edit) body.id = value('id');
    return body;
  }

  #showErrors(result, prefix) {
    for (const f of Object.values(this.#fields)) f.showError('');
    const errors = errorsByField(result.body?.errors, prefix);
    for (const [name, message] of errors) {
      const key = name.startsWith('recording.')
        ? name.slice(10)
        : name === 'width' || name === 'height'
          ? 'size'
          : name;
      this.#fields[key]?.showError(message);
    }
    note(this.#status, problemText(result), 'error');
  }

  async #test() {
    note(this.#status, 'Opening the source…');
    this.#preview.hidden = true;
    const camera = this.#body(); // the source's part is what is tried
    for (const key of ['id', 'name', 'recording']) delete camera[key];
    const result = await send('POST', '/api/sources/test', camera);
    if (!result.ok) return this.#showErrors(result, '');
    const answer = result.body;
    this.#preview.hidden = false;
    if (answer.ok) {
      note(
        this.#status,
        `It works: ${answer.codec}, ${answer.width} × ${answer.height}${answer.fps ? `, ${answer.fps} fps` : ''}${answer.audio ? ', with sound' : ''}.`,
        'ok',
      );
      this.#preview.replaceChildren(
        h('img', { src: answer.snapshot, alt: 'The source’s picture', testid: 'source-snapshot' }),
      );
    } else {
      note(this.#status, '');
      this.#preview.replaceChildren(
        h('p', { class: 'form-error', text: answer.error, testid: 'source-error' }),
      );
    }
  }

  async #save(event) {
    event.preventDefault();
    const body = this.#body();
    if (!this.#edit) {
      const result = await send('POST', '/api/cameras', body);
      if (!result.ok) return this.#showErrors(result, `cameras.${body.id}.`);
      location.hash = `#/settings/camera/${encodeURIComponent(body.id)}`;
      return;
    }
    const before = {};
    for (const key of FORM_KEYS) before[key] = this.#edit.camera[key] ?? null;
    before.recording = {};
    for (const key of RECORDING_KEYS) before.recording[key] = this.#edit.camera.recording[key];
    const patch = mergePatch(before, body);
    if (!patch) return note(this.#status, 'Nothing changed.');
    const result = await send(
      'PATCH',
      `/api/cameras/${encodeURIComponent(this.#edit.id)}`,
      patch,
      this.#edit.etag,
    );
    if (!result.ok) return this.#showErrors(result, `cameras.${this.#edit.id}.`);
    this.#edit.saved(result);
    const restarted = result.body.applied.cameras[this.#edit.id] === 'restarted';
    note(
      this.#status,
      restarted ? 'Saved: the camera restarted with its new source.' : 'Saved.',
      'ok',
    );
  }

  async #remove() {
    const result = await send(
      'DELETE',
      `/api/cameras/${encodeURIComponent(this.#edit.id)}`,
      undefined,
      this.#edit.etag,
    );
    if (!result.ok) return note(this.#status, problemText(result), 'error');
    location.hash = '#/settings';
  }
}
