// The event list (below the grid): newest first, filters by camera and kind, "load more"
// with the REST cursor, and live additions/updates from the WebSocket (no reload).
// Events with a recorded clip offer to play it, under their row (clip.js); the live
// channel's "recording" messages keep the clip's state (recording, complete) up to date.

import { getJson, postJson, httpError, UnauthorizedError } from '/http.js';
import {
  SYSTEM_KINDS,
  KINDS,
  SYSTEM_CAMERA,
  cameraHref,
  kindLabel,
  formatWhen,
  formatDuration,
  formatSeconds,
} from '/format.js';
import { ClipPanel } from '/clip.js';

const PAGE_SIZE = 30;
const MAX_ROWS = 300; // older rows are dropped (and can be loaded again with "load more")
const FIRST_LOAD_FALLBACK_MS = 4000; // load even if the live channel never says hello
const MAX_CLIP_STATES = 1000;

/** POST /api/events/{id}/ack; resolves to the updated EVENT. */
export async function acknowledgeEvent(id) {
  const res = await postJson(`/api/events/${encodeURIComponent(id)}/ack`);
  if (!res.ok) throw await httpError(res);
  return res.json();
}

export class EventList {
  #list;
  #status;
  #more;
  #retry;
  #cameraSelect;
  #kindSelect;
  #template;
  #cameraName;
  #onAcknowledged;
  #isAdmin = false;
  #everyCamera = false; // may see every camera: gets the system's (storage) events too
  #panel = null; // the open ClipPanel, if any (one at a time)
  #clips = new Map(); // recording id -> clip summary from "recording" messages (newer)
  #events = new Map(); // id -> EVENT
  #rows = new Map(); // id -> <li>
  #filter = { camera: '', kind: '' };
  #cursor = null;
  #generation = 0; // bumped by every (re)load: stale answers are dropped
  #loading = false;
  #loadedOnce = false;
  #failed = false;
  #revealed = null; // the event a notification opened: marked in the list

  /**
   * @param {HTMLElement} root  the #events section
   * @param {object} options
   * @param {import('/live.js').LiveClient} options.live
   * @param {(id: string) => string} options.cameraName
   * @param {(event: object) => void} [options.onAcknowledged]
   */
  constructor(root, { live, cameraName, onAcknowledged = () => {} }) {
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

    this.#renderKinds();
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

  /** Another view covers the list (full view, recordings): the open clip stops playing. */
  pauseClip() {
    this.#panel?.pause();
  }

  /** Who is looking: admins may delete clips; those who see every camera also get the
   * storage alerts (so the kind filter offers them). */
  setAccess({ admin = false, everyCamera = false } = {}) {
    this.#isAdmin = Boolean(admin);
    this.#everyCamera = Boolean(admin || everyCamera);
    this.#renderKinds();
    for (const [id, row] of this.#rows) this.#render(row, this.#events.get(id)); // links
  }

  #renderKinds() {
    const select = this.#kindSelect;
    const current = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const kind of KINDS) {
      if (SYSTEM_KINDS.has(kind) && !this.#everyCamera) continue;
      select.append(new Option(kindLabel(kind), kind));
    }
    select.value = current;
    if (select.value !== current) select.value = '';
  }

  /** Add or refresh one event (e.g. the answer of an acknowledge elsewhere on the page). */
  upsert(event) {
    this.#upsert(event, false);
  }

  /** Show event ID (a notification was tapped, #/events/<id>): listed if it was not (the
   * filters cleared when they hide it), scrolled to, marked, its clip opened. */
  async reveal(id) {
    let event = this.#events.get(id);
    if (!event) {
      try {
        event = await getJson(`/api/events/${encodeURIComponent(id)}`);
      } catch {
        return; // gone, or not ours to see: the list stays as it is
      }
    }
    if (!this.#matches(event)) {
      this.#cameraSelect.value = '';
      this.#kindSelect.value = '';
      this.#setFilter();
    }
    this.#revealed = id;
    this.#upsert(event, true);
    const row = this.#rows.get(id);
    if (!row) return;
    row.scrollIntoView({ block: 'center', behavior: 'smooth' });
    if (event.clip && this.#panel?.id !== id) this.#togglePanel(id);
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
    } else if (message.type === 'recording' && message.recording?.kind === 'clip') {
      this.#onRecording(message.phase, message.recording);
    }
  }

  /** A clip opened, was finished or deleted: every event it shows follows. */
  #onRecording(phase, recording) {
    const summary =
      phase === 'deleted'
        ? null
        : {
            id: recording.id,
            state: recording.state,
            duration: recording.duration,
            size: recording.size,
            sha256: recording.sha256,
          };
    if (phase !== 'start') {
      this.#clips.set(recording.id, summary);
      if (this.#clips.size > MAX_CLIP_STATES) {
        this.#clips.delete(this.#clips.keys().next().value); // the oldest news
      }
    }
    const shown = new Set(recording.events ?? []);
    for (const [id, event] of this.#events) {
      if (event.clip?.id !== recording.id && !(summary && shown.has(id) && !event.clip)) continue;
      const updated = {
        ...event,
        clip: summary,
        links: { ...event.links, clip: summary ? recording.links.self : null },
      };
      this.#events.set(id, updated);
      const row = this.#rows.get(id);
      if (row) this.#render(row, updated);
    }
    if (this.#panel && this.#panel.recordingId === recording.id) {
      this.#panel.update(recording, phase);
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
      this.#closePanel(false);
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
    let merged = this.#withClip(event, known);
    if (known) {
      merged = {
        ...merged,
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

  /** An event message's clip may be older news than a "recording" message handled since
   * (the event ends before its clip's post-roll does): keep the newest clip state. */
  #withClip(event, known) {
    const id = event.clip?.id ?? null;
    if (id === null) return event;
    if (this.#clips.has(id)) {
      const summary = this.#clips.get(id);
      if (summary === null) return { ...event, clip: null, links: { ...event.links, clip: null } };
      if (event.clip.state === 'recording') return { ...event, clip: summary };
    }
    if (
      known?.clip?.id === id &&
      known.clip.state !== 'recording' &&
      event.clip.state === 'recording'
    ) {
      return { ...event, clip: known.clip };
    }
    return event;
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
      if (this.#panel?.id === id) this.#closePanel(false);
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
    const system = event.camera === SYSTEM_CAMERA;
    row.dataset.kind = event.kind;
    row.dataset.state = ongoing ? 'ongoing' : 'ended';
    row.classList.toggle('is-alert', Boolean(event.alert));
    row.classList.toggle('is-revealed', event.id === this.#revealed);
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
    cameraLink.href = cameraHref(event.camera);
    row.classList.toggle('is-system', system);
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
    const detail = $('.event-detail');
    detail.textContent = event.detail ? String(event.detail) : '';
    detail.hidden = !event.detail;

    this.#renderClip(row, event, kind, camera);

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

  #renderClip(row, event, kind, camera) {
    const play = row.querySelector('.event-play');
    const clip = event.clip ?? null;
    const recording = clip?.state === 'recording';
    play.hidden = !clip;
    row.dataset.clip = clip ? clip.state : '';
    if (!clip) {
      if (this.#panel?.id === event.id && this.#panel.recording)
        this.#panel.update(null, 'deleted');
      return;
    }
    play.dataset.testid = `event-play-${event.id}`;
    play.classList.toggle('is-recording', recording);
    const length = !recording && clip.duration > 0 ? formatSeconds(clip.duration) : '';
    play.querySelector('.event-play-text').textContent = recording ? 'Rec' : length || 'Clip';
    const open = this.#panel?.id === event.id;
    play.setAttribute('aria-expanded', String(open));
    play.setAttribute('aria-controls', `clip-panel-${event.id}`);
    const what = `${kind.toLowerCase()} on ${camera}`;
    play.setAttribute(
      'aria-label',
      `${open ? 'Close' : 'Play'} the clip of the ${what}` +
        (recording ? ' (still recording)' : length ? ` (${length})` : ''),
    );
    play.title = recording ? 'Clip (still recording)' : 'Play the clip';
  }

  #togglePanel(id) {
    if (this.#panel?.id === id) {
      this.#closePanel(true);
      return;
    }
    this.#closePanel(false);
    const event = this.#events.get(id);
    const row = this.#rows.get(id);
    if (!event?.clip || !row) return;
    const panel = new ClipPanel(event, {
      isAdmin: this.#isAdmin,
      onClose: () => this.#closePanel(true),
      onDeleted: (recording) => this.#onRecording('deleted', recording),
    });
    this.#panel = panel;
    row.append(panel.el);
    row.classList.add('has-clip-open');
    this.#render(row, event);
    panel.open();
    panel.focus();
  }

  /** Close the open clip (stops the video); focus goes back to its button if asked. */
  #closePanel(refocus) {
    const panel = this.#panel;
    if (!panel) return;
    this.#panel = null;
    const hadFocus = panel.el.contains(document.activeElement);
    panel.destroy();
    const row = this.#rows.get(panel.id);
    if (!row) return;
    row.classList.remove('has-clip-open');
    const event = this.#events.get(panel.id);
    if (event) this.#render(row, event);
    if (refocus || hadFocus) row.querySelector('.event-play')?.focus({ preventScroll: true });
  }

  async #onListClick(event) {
    const play = event.target.closest('.event-play');
    if (play) {
      const id = Number(play.closest('[data-id]')?.dataset.id);
      if (id) this.#togglePanel(id);
      return;
    }
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
