// Live alert banners: one per `alert` message (newest on top, at most MAX_SHOWN), with the
// camera, kind, time and snapshot; tap to open the camera, acknowledge, or dismiss.
// A short beep (WebAudio, once the user has interacted with the page, as autoplay rules
// require) and a vibration on phones draw attention.
//
// window.sentrycam.alerts: how many alert banners were shown since the page loaded.

import { UnauthorizedError } from '/http.js';
import { acknowledgeEvent } from '/events.js';
import { SYSTEM_CAMERA, cameraHref, kindLabel, formatWhen } from '/format.js';

const MAX_SHOWN = 3;
const STALE_MS = 10 * 60 * 1000; // replayed alerts older than this are not raised again
const VIBRATION = [200, 100, 200];

export class Alerts {
  #root;
  #live;
  #template;
  #metrics;
  #cameraName;
  #onAcknowledged;
  #banners = new Map(); // event id -> banner element
  #audio = null; // AudioContext, created on the first user gesture

  /**
   * @param {HTMLElement} root  the #alerts container
   * @param {object} options
   * @param {import('/live.js').LiveClient} options.live
   * @param {object} options.metrics  window.sentrycam
   * @param {(id: string) => string} options.cameraName
   * @param {(event: object) => void} [options.onAcknowledged]
   */
  constructor(root, { live, metrics, cameraName, onAcknowledged = () => {} }) {
    this.#root = root;
    this.#live = live;
    this.#template = document.getElementById('alert-template');
    this.#metrics = metrics;
    this.#cameraName = cameraName;
    this.#onAcknowledged = onAcknowledged;
    metrics.alerts ??= 0;
    live.subscribe((message) => {
      if (message.type === 'alert' && message.event) this.#show(message.event);
      else if (message.type === 'event' && message.event) this.#refresh(message.event);
    });
    const unlock = () => {
      this.#unlockAudio();
      window.removeEventListener('pointerdown', unlock, true);
      window.removeEventListener('keydown', unlock, true);
    };
    window.addEventListener('pointerdown', unlock, true);
    window.addEventListener('keydown', unlock, true);
  }

  /** An event was acknowledged elsewhere on the page: its banner has done its job. */
  acknowledged(event) {
    this.#remove(event.id);
  }

  #show(event) {
    if (event.acknowledged || this.#banners.has(event.id)) return;
    // An old alert replayed after a long absence: it is in the event list, no need to shout.
    // (Measured on the server's clock: the appliance's may differ from this device's.)
    if (this.#live.serverNow() - Date.parse(event.start) > STALE_MS) return;
    const banner = this.#template.content.firstElementChild.cloneNode(true);
    banner.dataset.id = String(event.id);
    const $ = (selector) => banner.querySelector(selector);
    const camera = this.#cameraName(event.camera);
    const kind = kindLabel(event.kind);

    const open = $('.alert-open');
    open.href = cameraHref(event.camera);
    if (event.detail) open.title = String(event.detail);
    open.addEventListener('click', () => this.#remove(event.id));
    // System alerts (storage) say what happened: there is no camera picture to look at.
    $('.alert-title').textContent =
      event.camera === SYSTEM_CAMERA && event.detail ? `${kind}: ${event.detail}` : kind;
    $('.alert-camera').textContent = camera;
    const time = $('.alert-time');
    time.dateTime = event.start;
    time.textContent = formatWhen(event.start);
    this.#setThumb(banner, event);

    const ack = $('.alert-ack');
    ack.dataset.testid = `alert-ack-${event.id}`;
    ack.setAttribute('aria-label', `Acknowledge ${kind.toLowerCase()} on ${camera}`);
    ack.addEventListener('click', () => this.#acknowledge(event.id, ack));
    const dismiss = $('.alert-dismiss');
    dismiss.setAttribute('aria-label', `Dismiss alert: ${kind.toLowerCase()} on ${camera}`);
    dismiss.addEventListener('click', () => this.#remove(event.id));

    this.#banners.set(event.id, banner);
    this.#root.prepend(banner);
    while (this.#banners.size > MAX_SHOWN) {
      const oldest = Math.min(...this.#banners.keys());
      this.#remove(oldest);
    }
    this.#root.hidden = false;
    this.#metrics.alerts += 1;
    this.#attention();
  }

  /** Later messages about a shown alert's event: a snapshot may have appeared. */
  #refresh(event) {
    const banner = this.#banners.get(event.id);
    if (!banner) return;
    if (event.acknowledged) this.#remove(event.id);
    else this.#setThumb(banner, event);
  }

  #setThumb(banner, event) {
    const img = banner.querySelector('.alert-thumb');
    const snapshot = event.links?.snapshot ?? null;
    img.hidden = !snapshot;
    if (snapshot && img.getAttribute('src') !== snapshot) img.src = snapshot;
  }

  #remove(id) {
    const banner = this.#banners.get(id);
    if (!banner) return;
    this.#banners.delete(id);
    // Keep keyboard focus inside the stack (or let it go back to the page) sensibly.
    const hadFocus = banner.contains(document.activeElement);
    banner.remove();
    this.#root.hidden = this.#banners.size === 0;
    if (hadFocus) this.#root.querySelector('.alert-dismiss')?.focus();
  }

  async #acknowledge(id, button) {
    button.disabled = true;
    try {
      const event = await acknowledgeEvent(id);
      this.#remove(id);
      this.#onAcknowledged(event);
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
      button.disabled = false;
      button.dataset.label ??= button.getAttribute('aria-label');
      button.querySelector('.alert-ack-text').textContent = 'Try again';
      button.title = 'Could not acknowledge: try again';
      button.setAttribute('aria-label', `Try again: ${button.dataset.label}`);
    }
  }

  // ---- sound and vibration -------------------------------------------------------------------

  #unlockAudio() {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context || this.#audio) return;
    try {
      this.#audio = new Context();
      this.#audio.resume().catch(() => {});
    } catch {
      this.#audio = null;
    }
  }

  #attention() {
    this.#beep();
    // Chrome refuses (and warns) without a prior user gesture: only try after one.
    const activated = navigator.userActivation ? navigator.userActivation.hasBeenActive : true;
    if (activated && typeof navigator.vibrate === 'function') {
      try {
        navigator.vibrate(VIBRATION);
      } catch {
        // Not supported here.
      }
    }
  }

  #beep() {
    const ctx = this.#audio;
    if (!ctx || ctx.state !== 'running') return; // no gesture yet: stay silent
    const now = ctx.currentTime;
    for (const [offset, frequency] of [
      [0, 880],
      [0.18, 1175],
    ]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.16);
    }
  }
}
