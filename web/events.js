// The event list (below the grid): newest first, filters by camera and kind, "load more"
// with the REST cursor, and live additions/updates from the WebSocket (no reload).

import { getJson, postJson, httpError, UnauthorizedError } from '/http.js';
import { KINDS, kindLabel, formatWhen, formatDuration } from '/format.js';

const PAGE_SIZE = 30;
const MAX_ROWS = 300; // older rows are dropped (and can be loaded again with "load more")
const FIRST_LOAD_FALLBACK_MS = 4000; // load even if the live channel never says hello

/** POST /api/events/{id}/ack; resolves to the updated EVENT. */
export async function acknowledgeEvent(id) {
  const res = await postJson(`/api/events/${encodeURIComponent(id)}/ack`);
  if (!res.ok) throw await httpError(res);
  return res.json();
}

export class EventList {
  #root;
  #list;
  #status;
  #more;
  #retry;
  #cameraSelect;
  #kindSelect;
  #template;
  #cameraName;
  #onAcknowledged;
  #events = new Map(); // id -> EVENT
  #rows = new Map(); // id -> <li>
  #filter = { camera: '', kind: '' };
  #cursor = null;
  #generation = 0; // bumped by every (re)load: stale answers are dropped
  #loading = false;
  #loadedOnce = false;
  #failed = false;

  /**
   * @param {HTMLElement} root  the #events section
   * @param {object} options
   * @param {import('/live.js').LiveClient} options.live
   * @param {(id: string) => string} options.cameraName
   * @param {(event: object) => void} [options.onAcknowledged]
   */
  constructor(root, { live, cameraName, onAcknowledged = () => {} }) {
    this.#root = root;
    this.#cameraName = cameraName;
    this.#onAcknowledged = onAcknowledged;
    const $ = (selector) => root.querySelector(selector);
    this.#list = $('[data-testid="event-list"]');
    this.#status = $('.events-status');
    this.#more = $('[data-testid="event-more"]');
    this.#retry = $('.events-retry');
    this.#cameraSelect = $('[data-testid="event-filter-camera"]');
    this.#kindSelect = $('[data-testid="event-filter-kind"]');
    this.#template = document.getElementById('event-template');

    for (const kind of KINDS) this.#kindSelect.append(new Option(kindLabel(kind), kind));
    this.#cameraSelect.addEventListener('change', () => this.#setFilter());
    this.#kindSelect.addEventListener('change', () => this.#setFilter());
    this.#more.addEventListener('click', () => this.#load(false));
    this.#retry.addEventListener('click', () => this.#load(!this.#loadedOnce));
    this.#list.addEventListener('click', (event) => this.#onListClick(event));

    live.subscribe((message) => this.#onLive(message));
    setTimeout(() => {
      if (!this.#loadedOnce && !this.#loading) this.#load(true);
    }, FIRST_LOAD_FALLBACK_MS);
  }

  /** The camera list changed (names, cameras added or removed): update the filter. */
  setCameras(cameras) {
    const select = this.#cameraSelect;
    const current = select.value;
    const wanted = cameras.map((camera) => [camera.id, camera.name || camera.id]);
    const have = [...select.options].slice(1).map((option) => [option.value, option.text]);
    if (JSON.stringify(wanted) === JSON.stringify(have)) return;
    while (select.options.length > 1) select.remove(1);
    for (const [id, name] of wanted) select.append(new Option(name, id));
    select.value = wanted.some(([id]) => id === current) ? current : '';
    if (select.value !== current) this.#setFilter(); // that camera is gone
    for (const [id, row] of this.#rows) this.#render(row, this.#events.get(id)); // names
  }

  /** Add or refresh one event (e.g. the answer of an acknowledge elsewhere on the page). */
  upsert(event) {
    this.#upsert(event, false);
  }

  // ---- live channel ----------------------------------------------------------------------

  #onLive(message) {
    if (message.type === 'hello') {
      // A fresh connection (nothing to replay) or the very first one: load the list now,
      // after the hello, so nothing falls between the page and the live messages.
      if (!message.resumed || !this.#loadedOnce) this.#load(true);
    } else if (message.type === 'resync') {
      this.#load(true);
    } else if (message.type === 'event' && message.event) {
      this.#upsert(message.event, false);
    }
  }

  // ---- loading -----------------------------------------------------------------------------

  #setFilter() {
    this.#filter = { camera: this.#cameraSelect.value, kind: this.#kindSelect.value };
    this.#load(true);
  }

  async #load(reset) {
    const generation = reset ? ++this.#generation : this.#generation;
    if (!reset && this.#loading) return;
    if (reset) {
      this.#events.clear();
      this.#rows.clear();
      this.#list.replaceChildren();
      this.#cursor = null;
    }
    this.#loading = true;
    this.#failed = false;
    this.#more.disabled = true;
    this.#renderStatus();
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.#filter.camera) params.set('camera', this.#filter.camera);
    if (this.#filter.kind) params.set('kind', this.#filter.kind);
    if (!reset && this.#cursor) params.set('cursor', this.#cursor);
    let page = null;
    try {
      page = await getJson(`/api/events?${params}`);
    } catch (err) {
      if (err instanceof UnauthorizedError) return; // going to the login page
    }
    if (generation !== this.#generation) return; // a newer load took over
    this.#loading = false;
    this.#more.disabled = false;
    if (!page) {
      this.#failed = true;
      this.#renderStatus();
      return;
    }
    this.#loadedOnce = true;
    for (const event of page.events ?? []) this.#upsert(event, true);
    this.#cursor = page.next_cursor ?? null;
    this.#renderStatus();
  }

  #renderStatus() {
    let text = '';
    if (this.#failed) text = 'Could not load the events.';
    else if (this.#loading && this.#rows.size === 0) text = 'Loading events…';
    else if (!this.#loading && this.#rows.size === 0) {
      text = this.#filter.camera || this.#filter.kind ? 'No events match.' : 'No events yet.';
    }
    this.#status.textContent = text;
    this.#status.hidden = !text;
    this.#retry.hidden = !this.#failed;
    this.#more.hidden = this.#cursor === null || this.#failed;
  }

  // ---- rows --------------------------------------------------------------------------------

  #matches(event) {
    return (
      (!this.#filter.camera || event.camera === this.#filter.camera) &&
      (!this.#filter.kind || event.kind === this.#filter.kind)
    );
  }

  #upsert(event, fromRest) {
    if (!event || typeof event.id !== 'number' || !this.#matches(event)) return;
    const known = this.#events.get(event.id);
    let merged = event;
    if (known) {
      merged = {
        ...event,
        // The REST answer may be older than a live message handled meanwhile.
        end: fromRest ? (event.end ?? known.end) : event.end,
        // Acknowledging is not announced live: never lose it.
        acknowledged: event.acknowledged || known.acknowledged,
        acknowledged_by: event.acknowledged_by ?? known.acknowledged_by,
      };
    }
    this.#events.set(event.id, merged);
    let row = this.#rows.get(event.id);
    if (!row) {
      row = this.#template.content.firstElementChild.cloneNode(true);
      row.dataset.testid = `event-${event.id}`;
      row.dataset.id = String(event.id);
      this.#rows.set(event.id, row);
      this.#insert(row, event.id);
    }
    this.#render(row, merged);
    if (!known) this.#trim();
    this.#renderStatus();
  }

  /** Keep rows ordered by id, newest first. */
  #insert(row, id) {
    let before = null;
    for (const child of this.#list.children) {
      if (Number(child.dataset.id) < id) {
        before = child;
        break;
      }
    }
    this.#list.insertBefore(row, before);
  }

  #trim() {
    if (this.#rows.size <= MAX_ROWS) return;
    const ids = [...this.#rows.keys()].sort((a, b) => b - a);
    for (const id of ids.slice(MAX_ROWS)) {
      this.#rows.get(id).remove();
      this.#rows.delete(id);
      this.#events.delete(id);
    }
    this.#cursor = String(ids[MAX_ROWS - 1]); // "load more" continues below what is shown
  }

  #render(row, event) {
    if (!event) return;
    const $ = (selector) => row.querySelector(selector);
    const camera = this.#cameraName(event.camera);
    const kind = kindLabel(event.kind);
    const ongoing = !event.end;
    row.dataset.kind = event.kind;
    row.dataset.state = ongoing ? 'ongoing' : 'ended';
    row.classList.toggle('is-alert', Boolean(event.alert));
    row.classList.toggle('is-acked', Boolean(event.acknowledged));

    const thumb = $('.event-thumb');
    const img = thumb.querySelector('img');
    const snapshot = event.links?.snapshot ?? null;
    thumb.hidden = !snapshot;
    $('.event-thumb-none').hidden = Boolean(snapshot);
    if (snapshot) {
      // The best moment may change while the event lasts: fetch it again when it ends.
      const src = ongoing ? snapshot : `${snapshot}?final=1`;
      if (img.getAttribute('src') !== src) img.src = src;
      thumb.href = src;
      thumb.setAttribute('aria-label', `Snapshot: ${kind}, ${camera}`);
    }

    $('.event-kind').textContent = kind;
    const cameraLink = $('.event-camera');
    cameraLink.textContent = camera;
    cameraLink.href = `#/camera/${encodeURIComponent(event.camera)}`;
    const time = $('.event-time');
    time.dateTime = event.start;
    time.textContent = formatWhen(event.start);
    const duration = $('.event-duration');
    duration.textContent = formatDuration(event.start, event.end);
    duration.classList.toggle('is-ongoing', ongoing);
    const score = $('.event-score');
    score.hidden = !(event.score > 0);
    score.textContent = event.score > 0 ? `score ${Number(event.score).toFixed(2)}` : '';
    $('.event-alert').hidden = !event.alert;

    const acked = $('.event-acked');
    acked.hidden = !event.acknowledged;
    acked.textContent = event.acknowledged
      ? `Seen${event.acknowledged_by ? ` by ${event.acknowledged_by}` : ''}`
      : '';
    const ack = $('.event-ack');
    ack.hidden = !event.alert || event.acknowledged;
    ack.dataset.testid = `event-ack-${event.id}`;
    ack.setAttribute('aria-label', `Acknowledge ${kind.toLowerCase()} on ${camera}`);
  }

  async #onListClick(event) {
    const button = event.target.closest('.event-ack');
    if (!button || button.disabled) return;
    const id = Number(button.closest('[data-id]')?.dataset.id);
    if (!id) return;
    button.disabled = true;
    try {
      const updated = await acknowledgeEvent(id);
      this.#upsert(updated, false);
      this.#onAcknowledged(updated);
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
      button.title = 'Could not acknowledge: try again';
    } finally {
      button.disabled = false;
    }
  }
}
