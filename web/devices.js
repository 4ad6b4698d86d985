// Webcams for admins: "new webcam found" offers (GET /api/devices, live "device" messages)
// and a webcam's V4L2 controls in its full view (GET/PATCH /api/cameras/<id>/controls).
// A found webcam is offered, never added by itself: "Add" opens Settings > Add camera with
// it chosen (#/settings/new/<source>), or the offer shows what to put in the config.

import {
  configSnippet,
  controlField,
  describeFormats,
  deviceTitle,
  fieldValue,
  sortControls,
} from '/device-format.js';
import { apiFetch, getJson, httpError, UnauthorizedError } from '/http.js';

const DISMISSED_KEY = 'sentrycam.dismissedDevices';
const SEND_DELAY_MS = 250; // a dragged slider sends its last value, not every step

function dismissed() {
  try {
    return new Set(JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? '[]'));
  } catch {
    return new Set();
  }
}

/** A camera added, removed or given a new source may take a webcam or free one. */
function takes(message) {
  return message.type === 'config' && ['added', 'removed', 'restarted'].includes(message.action);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The #devices section: webcams plugged in that no camera uses. */
export class DeviceOffers {
  #root;
  #list;
  #enabled = false;
  /** The unused webcams shown now (tests read it). */
  offered = [];

  constructor(root, { live }) {
    this.#root = root;
    this.#list = root.querySelector('.device-offers');
    live.subscribe((message) => {
      if (
        this.#enabled &&
        (message.type === 'device' || message.type === 'hello' || takes(message))
      ) {
        this.load();
      }
    });
  }

  setEnabled(enabled) {
    this.#enabled = Boolean(enabled);
    if (this.#enabled) this.load();
    else this.#root.hidden = true;
  }

  async load() {
    let listing;
    try {
      listing = await getJson('/api/devices');
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) this.#root.hidden = true;
      return;
    }
    const skip = dismissed();
    this.offered = listing.video.filter((d) => !d.in_use && !skip.has(d.identity));
    this.#render();
  }

  #render() {
    this.#list.replaceChildren(...this.offered.map((device) => this.#offer(device)));
    this.#root.hidden = this.offered.length === 0;
  }

  #offer(device) {
    const item = element('li', 'device-offer');
    item.dataset.testid = 'device-offer';
    item.append(
      element('p', 'device-title', `New webcam: ${deviceTitle(device)}`),
      element('p', 'device-modes', describeFormats(device) || 'No modes reported yet.'),
      element(
        'p',
        'device-help',
        'Add it as a camera, or put this under cameras: in the config file:',
      ),
    );
    const snippet = element('pre', 'device-snippet', configSnippet(device));
    const actions = element('div', 'device-actions');
    const add = element('a', 'btn btn-small btn-primary', 'Add');
    add.href = `#/settings/new/${encodeURIComponent(device.source)}`;
    add.dataset.testid = 'device-offer-add';
    const copy = element('button', 'btn btn-small', 'Copy');
    copy.type = 'button';
    copy.hidden = !navigator.clipboard;
    copy.addEventListener('click', () => navigator.clipboard?.writeText(snippet.textContent));
    const dismiss = element('button', 'btn btn-small', 'Dismiss');
    dismiss.type = 'button';
    dismiss.addEventListener('click', () => {
      const skip = dismissed();
      skip.add(device.identity);
      localStorage.setItem(DISMISSED_KEY, JSON.stringify([...skip]));
      this.offered = this.offered.filter((d) => d.identity !== device.identity);
      this.#render();
    });
    actions.append(add, copy, dismiss);
    item.append(snippet, actions);
    return item;
  }
}

/** The #camera-controls drawer: the mode and controls of the webcam in full view (admins). */
export class ControlsPanel {
  #root;
  #list;
  #status;
  #mode;
  #camera = null;
  #admin = false;
  #timers = new Map();
  /** Controls as last read back from the driver (tests read it). */
  controls = [];

  constructor(root) {
    this.#root = root;
    this.#list = root.querySelector('.camera-controls-list');
    this.#status = root.querySelector('.camera-controls-status');
    this.#mode = root.querySelector('.camera-controls-mode');
  }

  setAdmin(admin) {
    this.#admin = Boolean(admin);
    if (!this.#admin) this.hide();
  }

  /** Show the controls of a camera by id, or hide them (null; only webcams have any). */
  async show(cameraId) {
    this.hide();
    if (!this.#admin || !cameraId) return;
    this.#camera = cameraId;
    const base = `/api/cameras/${encodeURIComponent(cameraId)}`;
    try {
      const camera = await getJson(base);
      if (this.#camera !== cameraId || camera.source_kind !== 'v4l2') return;
      this.#root.hidden = false;
      this.#mode.textContent = camera.mode
        ? `${camera.mode.format} ${camera.mode.width}x${camera.mode.height} at ${camera.mode.fps} fps: ${camera.mode.reason}`
        : '';
      this.#say('Reading the webcam’s controls…');
      const body = await getJson(`${base}/controls`);
      if (this.#camera === cameraId) this.#render(body.controls);
    } catch (error) {
      if (this.#camera === cameraId) this.#say(`Controls unavailable: ${error.message}`);
    }
  }

  hide() {
    this.#camera = null;
    this.#root.hidden = true;
    this.#list.replaceChildren();
  }

  #say(text) {
    this.#status.textContent = text;
    this.#status.hidden = !text;
  }

  #render(controls) {
    this.controls = controls;
    this.#say('');
    this.#list.replaceChildren(...sortControls(controls).map((c) => this.#field(c)));
  }

  #field(control) {
    const field = controlField(control);
    const row = element('label', 'control-row');
    row.dataset.control = control.name;
    const name = element('span', 'control-name', control.label);
    let input;
    if (field.kind === 'checkbox') {
      input = element('input');
      input.type = 'checkbox';
      input.checked = field.checked;
    } else if (field.kind === 'select') {
      input = element('select');
      for (const option of field.options) {
        const node = element('option', '', option.label);
        node.value = String(option.value);
        input.append(node);
      }
      input.value = String(field.value);
    } else {
      input = element('input');
      Object.assign(input, { type: 'range', min: field.min, max: field.max, step: field.step });
      input.value = String(field.value);
    }
    input.disabled = field.disabled;
    input.dataset.testid = `control-${control.name}`;
    const shown = element('output', 'control-value', field.kind === 'range' ? input.value : '');
    input.addEventListener('input', () => {
      if (field.kind === 'range') shown.textContent = input.value;
      const raw = field.kind === 'checkbox' ? input.checked : input.value;
      this.#queue(control, fieldValue(control, raw));
    });
    row.append(name, input, shown);
    return row;
  }

  #queue(control, value) {
    if (value === null || !this.#camera) return;
    clearTimeout(this.#timers.get(control.name));
    this.#timers.set(
      control.name,
      setTimeout(() => this.#send(this.#camera, { [control.name]: value }), SEND_DELAY_MS),
    );
  }

  async #send(cameraId, values) {
    const res = await apiFetch(`/api/cameras/${encodeURIComponent(cameraId)}/controls`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(values),
    }).catch(() => null);
    if (cameraId !== this.#camera) return;
    if (!res) {
      this.#say('Could not reach the server.');
    } else if (!res.ok) {
      this.#say((await httpError(res)).message);
    } else {
      this.#render((await res.json()).controls); // as read back from the driver
    }
  }
}
