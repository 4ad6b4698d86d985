// The recordings' disk, for admins (GET /api/storage): free space against the reserve the
// disk guard keeps, a warning when it is low, and what the guard did last. Refreshed now
// and then, and soon after a storage alert or a recording that ends or is deleted.

import { getJson, UnauthorizedError } from '/http.js';
import { formatBytes } from '/format.js';

const POLL_MS = 60 * 1000;
const RETRY_MS = 5000; // the guard has not measured the disk yet, or the request failed
const SOON_MS = 1500;

export class StorageIndicator {
  #root;
  #els = {};
  #enabled = false;
  #timer = 0;
  #loading = false;
  /** The last answer of GET /api/storage (null until loaded). */
  data = null;

  /**
   * @param {HTMLElement} root  the #storage section
   * @param {{live: import('/live.js').LiveClient}} options
   */
  constructor(root, { live }) {
    this.#root = root;
    for (const key of ['text', 'bar', 'used', 'reserve', 'warning', 'guard']) {
      this.#els[key] = root.querySelector(`.storage-${key}`);
    }
    live.subscribe((message) => {
      if (!this.#enabled) return;
      const storageEvent = message.type === 'event' && message.event?.kind === 'storage';
      const recording = message.type === 'recording' && message.phase !== 'start';
      if (storageEvent || recording || message.type === 'hello') this.refreshSoon();
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.#enabled) this.refreshSoon();
    });
  }

  /** Only admins see the indicator. */
  setEnabled(enabled) {
    this.#enabled = Boolean(enabled);
    this.#root.hidden = !this.#enabled;
    clearTimeout(this.#timer);
    if (this.#enabled) this.#load();
  }

  refreshSoon() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#load(), SOON_MS);
  }

  async #load() {
    if (this.#loading || !this.#enabled) return;
    this.#loading = true;
    clearTimeout(this.#timer);
    let next = POLL_MS;
    try {
      this.data = await getJson('/api/storage');
      this.#render(this.data);
      const unmeasured = this.data.free_bytes === null || this.data.free_bytes === undefined;
      // Not measured yet: soon again. (Unless the disk is missing: that waits for a restart.)
      if (unmeasured && !this.data.last_guard_action) next = RETRY_MS;
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
      next = RETRY_MS; // keep the last numbers shown
    } finally {
      this.#loading = false;
    }
    if (this.#enabled && !document.hidden) this.#timer = setTimeout(() => this.#load(), next);
  }

  #render(data) {
    const { text, bar, used, reserve, warning, guard } = this.#els;
    const total = Number(data.total_bytes);
    const free = Number(data.free_bytes);
    const keep = Number(data.reserve_bytes) || 0;
    const known = Number.isFinite(total) && total > 0 && Number.isFinite(free);
    this.#root.dataset.low = String(Boolean(data.low));
    const missing = !known && Boolean(data.last_guard_action); // e.g. the disk is not mounted
    this.#root.classList.toggle('is-low', Boolean(data.low) || missing);
    if (!known) {
      text.textContent = missing ? 'Not available' : 'Measuring free space…';
      bar.hidden = true;
    } else {
      text.textContent =
        `${formatBytes(free)} free of ${formatBytes(total)}` +
        (keep ? ` · keeps ${formatBytes(keep)} free` : '');
      bar.hidden = false;
      const usedShare = Math.min(1, Math.max(0, (total - free) / total));
      const reserveShare = Math.min(1, Math.max(0, keep / total));
      used.style.setProperty('--share', String(usedShare));
      reserve.style.setProperty('--share', String(reserveShare));
      const percent = Math.round(usedShare * 100);
      bar.setAttribute('aria-valuenow', String(percent));
      bar.setAttribute('aria-valuetext', `${percent}% used, ${formatBytes(free)} free`);
    }
    warning.hidden = !data.low && !missing;
    if (missing) {
      const what = String(data.last_guard_action);
      warning.textContent = `${what[0].toUpperCase()}${what.slice(1)}.`;
    } else {
      warning.textContent = data.low
        ? 'The disk is almost full: the oldest recordings are being deleted to keep ' +
          `${formatBytes(keep)} free.`
        : '';
    }
    const parts = [];
    if (data.deleted_for_space > 0) {
      const n = data.deleted_for_space;
      parts.push(`${n} recording${n === 1 ? '' : 's'} deleted for space since the server started.`);
    }
    if (data.last_guard_action && !missing) parts.push(`Last: ${data.last_guard_action}.`);
    guard.textContent = parts.join(' ');
    guard.hidden = parts.length === 0;
  }
}
