// Adding a camera, and a camera's source and recording settings: choose a webcam found by
// the server (GET /api/devices: saved by its stable `v4l2:<identity>` source, named as the
// server suggests, with its own microphone or any ALSA one) or type a URL; "Test" opens the
// source as the camera would and shows its picture or why not (POST /api/sources/test);
// "Save" adds it (POST /api/cameras) or changes only what was edited (PATCH, If-Match).

import {
  RESOLUTIONS,
  audioOptions,
  cameraFor,
  devicesFrom,
  errorsByField,
  freeId,
  kindOf,
  kindOptions,
  mergePatch,
  slugify,
  webcamOf,
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

const option = (o) => h('option', { value: o.value, text: o.label, disabled: o.disabled });

export class CameraForm {
  el;
  #edit; // null when adding; else {id, camera, etag, saved(result)}
  #fields = {};
  #inputs = {};
  #devices = { video: [], audio: [] };
  #taken = new Set();
  #idEdited = false;
  #autoName = ''; // the name last filled in from a webcam (replaced when another is chosen)
  #preset; // a webcam's source to choose at once (the "New webcam" offer's Add)
  #status = h('p', { role: 'status', hidden: true, testid: 'camera-form-status' });
  #preview = h('div', { class: 'set-preview', testid: 'source-preview', hidden: true });

  /**
   * @param {{id: string, camera: object, etag: string, saved: (result) => void}|null} edit
   * @param {{device?: string}} options  device: the source of a webcam to add
   */
  constructor(edit, { device = null } = {}) {
    this.#edit = edit;
    this.#preset = device;
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
    this.#preset = null;
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
    const source = this.#preset ?? this.#inputs.source.value;
    const options = kindOptions(this.#devices, source, this.#edit?.id ?? null);
    this.#inputs.kind.replaceChildren(...options.map(option));
    const wanted = source ? kindOf(this.#devices, source) : options[0].value;
    const usable = options.find((o) => o.value === wanted && !o.disabled);
    this.#inputs.kind.value = usable?.value ?? options.find((o) => !o.disabled).value;
    if (this.#preset && !webcamOf(this.#devices, this.#preset)?.source) {
      note(this.#status, 'That webcam is not plugged in any more.', 'error');
    } else if (this.#preset && !usable) {
      note(this.#status, 'That webcam is used by another camera now.', 'error');
    }
    this.#onKind(this.#edit?.camera.audio ?? '');
  }

  /** The sound choices for the picture chosen, keeping the current one when it still is. */
  #fillAudio(value) {
    const options = audioOptions(
      this.#devices,
      this.#inputs.kind.value,
      value,
      this.#edit?.id ?? null,
    );
    this.#inputs.audio.replaceChildren(...options.map(option));
    const usable = options.some((o) => o.value === value && !o.disabled);
    this.#inputs.audio.value = usable ? value : '';
  }

  /** @param {string} [audio] the sound to choose (else the one chosen now, or a suggestion) */
  #onKind(audio = this.#inputs.audio.value) {
    const kind = this.#inputs.kind.value;
    const typed = kind === 'url' || kind === 'file';
    this.#fields.source.hidden = !typed;
    if (kind.startsWith('device:')) {
      const webcam = webcamOf(this.#devices, kind.slice(7));
      const source = this.#inputs.source.value;
      // A camera set up by /dev/videoN or a by-id link keeps it until it is changed.
      if (!webcam || webcamOf(this.#devices, source) !== webcam) {
        this.#inputs.source.value = webcam?.source ?? kind.slice(7);
      }
      if (webcam && !this.#edit) audio = this.#suggest(webcam);
    } else if (kind === 'demo') {
      this.#inputs.source.value = 'demo';
    } else if (
      this.#inputs.source.value === 'demo' ||
      this.#inputs.source.value.startsWith('/dev/') ||
      this.#inputs.source.value.startsWith('v4l2:')
    ) {
      this.#inputs.source.value = '';
    }
    this.#fillAudio(audio);
    if (!this.#edit && !this.#inputs.name.value) this.#onName();
  }

  /** Name, id and sound of a new camera from the webcam chosen; what was typed stays. */
  #suggest(webcam) {
    const suggested = cameraFor(webcam, this.#taken);
    if (!this.#inputs.name.value || this.#inputs.name.value === this.#autoName) {
      this.#inputs.name.value = suggested.name;
      this.#autoName = suggested.name;
      if (!this.#idEdited) this.#inputs.id.value = suggested.id;
    }
    return suggested.audio;
  }

  #onName() {
    if (this.#edit || this.#idEdited) return;
    const webcam = webcamOf(this.#devices, this.#inputs.kind.value.replace(/^device:/, ''));
    const name = this.#inputs.name.value;
    if (webcam && (!name || name === this.#autoName)) {
      this.#inputs.id.value = cameraFor(webcam, this.#taken).id;
      return;
    }
    this.#inputs.id.value = freeId(slugify(name || 'camera'), this.#taken);
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
