// "Notifications on this device": turn Web Push on or off for this browser with camera and
// kind choices, send a test, list and remove this user's devices (an admin: everyone's),
// and read the notification log. Where push cannot work it says exactly why and what to do
// (push-support.js). Public test hook: window.sentrycam.notifications =
// {available, reason, subscribed, devices}.

import { deleteResource, getJson, httpError, postJson, UnauthorizedError } from '/http.js';
import { KINDS, formatWhen, kindLabel, SYSTEM_CAMERA } from '/format.js';
import {
  describeEntry,
  deviceName,
  isIos,
  keyToBytes,
  pushAvailability,
  subscriptionBody,
} from '/push-support.js';

const LOG_LIMIT = 50;

export class NotificationsPanel {
  #root;
  #els = {};
  #cameraName;
  #cameras = [];
  #everyCamera = false;
  #key = null;
  #subscription = null; // this browser's PushSubscription, if any
  #devices = [];
  /** What tests read. */
  state = { available: false, reason: '', subscribed: false, devices: 0 };

  constructor(root, { cameraName }) {
    this.#root = root;
    this.#cameraName = cameraName;
    const $ = (name) => root.querySelector(`.notify-${name}`);
    for (const name of ['status', 'help', 'form', 'cameras', 'kinds', 'on', 'test', 'off']) {
      this.#els[name] = $(name);
    }
    for (const name of ['devices', 'log', 'log-list', 'log-refresh']) {
      this.#els[name] = $(name);
    }
    this.#els.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#turnOn();
    });
    this.#els.test.addEventListener('click', () => this.#sendTest());
    this.#els.off.addEventListener('click', () => this.#turnOff());
    this.#els.devices.addEventListener('click', (event) => this.#onDeviceClick(event));
    this.#els.log.addEventListener('toggle', () => {
      if (this.#els.log.open) this.#loadLog();
    });
    this.#els['log-refresh'].addEventListener('click', () => this.#loadLog());
    this.#renderChoices();
  }

  setCameras(cameras) {
    const ids = cameras.map((camera) => camera.id);
    if (JSON.stringify(ids) === JSON.stringify(this.#cameras)) return;
    this.#cameras = ids;
    this.#renderChoices();
  }

  setAccess({ everyCamera = false } = {}) {
    this.#everyCamera = Boolean(everyCamera);
    this.#renderChoices();
  }

  /** Find out what this browser can do, and what it has; render. */
  async start() {
    let pushEnabled = true;
    try {
      this.#key = (await getJson('/api/push/key')).public_key;
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
      pushEnabled = err.status === 404 ? false : null;
    }
    const env = {
      pushEnabled,
      secure: window.isSecureContext,
      serviceWorker: 'serviceWorker' in navigator,
      pushManager: 'PushManager' in window,
      notification: 'Notification' in window,
      ios: isIos(navigator),
      standalone: navigator.standalone === true || matchMedia('(display-mode: standalone)').matches,
      permission: 'Notification' in window ? Notification.permission : 'default',
    };
    const availability = pushAvailability(env);
    this.state.available = availability.ok;
    this.state.reason = availability.reason;
    if (availability.ok) {
      const registration = await navigator.serviceWorker.ready;
      this.#subscription = await registration.pushManager.getSubscription();
    }
    this.#renderAvailability(availability);
    await this.#loadDevices();
  }

  // ----- rendering ------------------------------------------------------------------------

  #renderAvailability({ ok, reason, action }) {
    this.#els.form.hidden = !ok;
    this.#els.help.hidden = ok;
    this.#els.help.textContent = ok ? '' : `${reason} ${action}`;
    this.#renderStatus();
  }

  #renderStatus(message = '') {
    const subscribed = Boolean(this.#subscription && this.#thisDevice());
    this.state.subscribed = subscribed;
    this.#els.on.textContent = subscribed ? 'Save choices' : 'Turn on';
    this.#els.test.hidden = !subscribed;
    this.#els.off.hidden = !subscribed;
    const base = !this.state.available
      ? 'Not available on this device.'
      : subscribed
        ? 'On: this device gets notifications.'
        : 'Off: this device gets no notifications.';
    this.#els.status.textContent = message ? `${base} ${message}` : base;
  }

  #renderChoices() {
    const cameras = [...this.#cameras, ...(this.#everyCamera ? [SYSTEM_CAMERA] : [])];
    const device = this.#thisDevice();
    const chosen = (list, value) => !list || list.includes(value);
    fill(
      this.#els.cameras,
      'camera',
      cameras,
      (id) => this.#cameraName(id),
      (id) => chosen(device?.cameras, id),
    );
    const kinds = KINDS.filter((kind) => this.#everyCamera || kind !== 'storage');
    fill(this.#els.kinds, 'kind', kinds, kindLabel, (kind) => chosen(device?.kinds, kind));
  }

  #thisDevice() {
    const endpoint = this.#subscription?.endpoint;
    return endpoint ? (this.#devices.find((d) => d.endpoint === endpoint) ?? null) : null;
  }

  #renderDevices() {
    const list = this.#els.devices;
    list.replaceChildren();
    const mine = this.#subscription?.endpoint;
    for (const device of this.#devices) {
      const item = document.createElement('li');
      item.className = 'notify-device';
      item.dataset.testid = `device-${device.id}`;
      const text = document.createElement('span');
      const here = device.endpoint === mine ? ' (this device)' : '';
      const error = device.last_error ? ` · last error: ${device.last_error}` : '';
      text.textContent = `${device.name}${here} · ${device.user}${error}`;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'btn btn-small';
      remove.dataset.id = String(device.id);
      remove.textContent = 'Remove';
      item.append(text, remove);
      list.append(item);
    }
    if (!this.#devices.length) {
      const none = document.createElement('li');
      none.className = 'notify-none';
      none.textContent = 'No device gets notifications yet.';
      list.append(none);
    }
    this.state.devices = this.#devices.length;
  }

  // ----- actions ----------------------------------------------------------------------------

  async #loadDevices() {
    try {
      this.#devices = await getJson('/api/push/subscriptions');
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
      this.#devices = [];
    }
    this.#renderDevices();
    this.#renderChoices();
    this.#renderStatus();
  }

  #checked(name) {
    return [...this.#root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
  }

  async #turnOn() {
    this.#els.on.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== 'granted') {
        this.#renderAvailability(pushAvailability({ secure: true, permission: 'denied' }));
        return;
      }
      const registration = await navigator.serviceWorker.ready;
      this.#subscription =
        (await registration.pushManager.getSubscription()) ??
        (await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyToBytes(this.#key),
        }));
      const allCameras = [...this.#cameras, ...(this.#everyCamera ? [SYSTEM_CAMERA] : [])];
      const body = subscriptionBody(this.#subscription.toJSON(), {
        name: this.#thisDevice()?.name ?? deviceName(navigator.userAgent),
        cameras: this.#checked('camera'),
        allCameras,
        kinds: this.#checked('kind'),
        allKinds: KINDS,
      });
      const res = await postJson('/api/push/subscriptions', body);
      if (!res.ok) throw await httpError(res);
      await this.#loadDevices();
    } catch (err) {
      if (!(err instanceof UnauthorizedError))
        this.#renderStatus(`Could not turn on: ${err.message}`);
    } finally {
      this.#els.on.disabled = false;
    }
  }

  async #sendTest() {
    const device = this.#thisDevice();
    if (!device) return;
    this.#renderStatus('Sending a test…');
    try {
      const res = await postJson(`/api/push/subscriptions/${device.id}/test`);
      if (!res.ok) throw await httpError(res);
      const answer = await res.json();
      this.#renderStatus(answer.delivered ? 'Test sent.' : `Test failed: ${answer.detail}`);
      if (answer.outcome === 'gone') await this.#loadDevices();
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) this.#renderStatus(`Test failed: ${err.message}`);
    }
  }

  async #turnOff() {
    const device = this.#thisDevice();
    try {
      await this.#subscription?.unsubscribe();
      this.#subscription = null;
      if (device) await deleteResource(`/api/push/subscriptions/${device.id}`);
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
    }
    await this.#loadDevices();
  }

  async #onDeviceClick(event) {
    const id = event.target.closest('button[data-id]')?.dataset.id;
    if (!id) return;
    try {
      await deleteResource(`/api/push/subscriptions/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
    }
    await this.#loadDevices();
  }

  async #loadLog() {
    const list = this.#els['log-list'];
    let page;
    try {
      page = await getJson(`/api/notifications/log?limit=${LOG_LIMIT}`);
    } catch {
      return;
    }
    list.replaceChildren();
    for (const entry of page.entries ?? []) {
      const item = document.createElement('li');
      item.className = `notify-entry is-${entry.outcome}`;
      const when = document.createElement('time');
      when.dateTime = entry.at;
      when.textContent = formatWhen(entry.at);
      const what = entry.camera
        ? `${kindLabel(entry.kind)} · ${this.#cameraName(entry.camera)}`
        : 'Test';
      const text = document.createElement('span');
      text.textContent = ` ${what} → ${entry.target}: ${describeEntry(entry)}`;
      item.append(when, text);
      list.append(item);
    }
    if (!list.children.length) list.textContent = 'Nothing yet.';
  }
}

/** Checkboxes NAME for VALUES in FIELDSET (after its legend), labelled and ticked. */
function fill(fieldset, name, values, label, checked) {
  for (const old of fieldset.querySelectorAll('label')) old.remove();
  for (const value of values) {
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = name;
    box.value = value;
    box.checked = checked(value);
    const item = document.createElement('label');
    item.className = 'notify-choice';
    item.append(box, ` ${label(value)}`);
    fieldset.append(item);
  }
}
