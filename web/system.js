// The machine's health panel (GET /api/system): temperature, throttling and under-voltage,
// CPU per core, memory, disk, uptime. Refreshed now and then, and soon after a system
// alert arrives on the live channel.

import { APPLIANCE_KINDS } from '/format.js';
import { getJson, UnauthorizedError } from '/http.js';
import { describeSystem } from '/system-format.js';

const POLL_MS = 15 * 1000;
const SOON_MS = 1000;

export class SystemPanel {
  #root;
  #els = {};
  #timer = 0;
  #loading = false;
  /** The last answer of GET /api/system (null until loaded). */
  data = null;

  /**
   * @param {HTMLElement} root  the #system section
   * @param {{live: import('/live.js').LiveClient}} options
   */
  constructor(root, { live }) {
    this.#root = root;
    for (const key of ['warnings', 'rows', 'since']) {
      this.#els[key] = root.querySelector(`.system-${key}`);
    }
    live.subscribe((message) => {
      const kind = message.event?.kind;
      if (message.type === 'event' && APPLIANCE_KINDS.includes(kind)) this.refreshSoon();
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.refreshSoon();
    });
  }

  start() {
    this.#load();
  }

  refreshSoon() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#load(), SOON_MS);
  }

  async #load() {
    if (this.#loading) return;
    this.#loading = true;
    clearTimeout(this.#timer);
    try {
      this.data = await getJson('/api/system');
      this.#render(describeSystem(this.data));
      this.#root.hidden = false;
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
    } finally {
      this.#loading = false;
    }
    if (!document.hidden) this.#timer = setTimeout(() => this.#load(), POLL_MS);
  }

  #render({ rows, warnings, sinceBoot, alert }) {
    const { warnings: warningList, rows: table, since } = this.#els;
    this.#root.classList.toggle('is-alert', alert);
    warningList.replaceChildren(
      ...warnings.map((text) => {
        const item = document.createElement('li');
        item.textContent = text;
        return item;
      }),
    );
    warningList.hidden = warnings.length === 0;
    table.replaceChildren(
      ...rows.flatMap(([label, value]) => {
        const term = document.createElement('dt');
        term.textContent = label;
        const detail = document.createElement('dd');
        detail.textContent = value;
        return [term, detail];
      }),
    );
    since.textContent = sinceBoot.length ? `Since boot: ${sinceBoot.join(', ')}.` : '';
    since.hidden = sinceBoot.length === 0;
  }
}
