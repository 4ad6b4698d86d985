// An event's clip, opened under its row in the event list: the video (plays at once, what
// has been written so far while the clip is still recording), a strip of thumbnails to jump
// through it, its length, size and SHA-256, a download link and (admins) delete.
//
// Built from <template id="clip-template">. The owner (events.js) calls update(recording)
// when the live channel says the recording changed (its "end" message: complete now).

import { getJson, deleteResource, HttpError, UnauthorizedError } from '/http.js';
import {
  formatBytes,
  formatOffset,
  formatSeconds,
  formatWhen,
  parseTime,
  shortHash,
} from '/format.js';

const TILE_MIN_PX = 64; // each strip tile gets at least this much width on screen
const TILES_MIN = 4;
const TILES_MAX = 10; // the server allows 1..20

/** The recording's video URL. While it is still being written a fresh one each time: the
 * browser's media cache would otherwise keep the length it saw first. */
export function videoUrl(recording, nonce = Date.now()) {
  const url = recording.links.video;
  if (recording.state !== 'recording') return url;
  return `${url}${url.includes('?') ? '&' : '?'}partial=${nonce}`;
}

export class ClipPanel {
  /** @type {HTMLElement} */
  el;
  /** The recording (GET /api/recordings/{id}), once loaded. */
  recording = null;

  #event;
  #isAdmin;
  #onClose;
  #onDeleted;
  #video;
  #state;
  #strip;
  #stripImg;
  #tiles;
  #tileCount = 8;
  #destroyed = false;
  #loads = 0;

  /**
   * @param {object} event  the EVENT whose clip this is (links.clip, links.snapshot)
   * @param {object} options
   * @param {boolean} options.isAdmin    may delete the recording
   * @param {() => void} options.onClose  the close button was pressed
   * @param {(recording: object) => void} options.onDeleted  deleted from here
   */
  constructor(event, { isAdmin = false, onClose = () => {}, onDeleted = () => {} } = {}) {
    this.#event = event;
    this.#isAdmin = isAdmin;
    this.#onClose = onClose;
    this.#onDeleted = onDeleted;
    const template = document.getElementById('clip-template');
    this.el = template.content.firstElementChild.cloneNode(true);
    const $ = (selector) => this.el.querySelector(selector);
    this.#video = $('video');
    this.#state = $('.clip-state');
    this.#strip = $('.clip-strip');
    this.#stripImg = $('.clip-strip-img');
    this.#tiles = $('.clip-strip-tiles');
    this.el.dataset.testid = `clip-${event.id}`;
    this.el.id = `clip-panel-${event.id}`;
    this.#video.dataset.testid = `clip-video-${event.id}`;
    this.#video.setAttribute('aria-label', 'Event clip');
    const snapshot = event.links?.snapshot;
    if (snapshot) this.#video.poster = event.end ? `${snapshot}?final=1` : snapshot;
    $('.clip-close').addEventListener('click', () => this.#onClose());
    $('.clip-delete').addEventListener('click', (e) => this.#delete(e.currentTarget));
    $('.clip-sha-copy').addEventListener('click', (e) => this.#copyHash(e.currentTarget));
    this.#tiles.addEventListener('click', (e) => this.#onTile(e));
    this.#stripImg.addEventListener('error', () => {
      this.#strip.hidden = true;
    });
    this.#video.addEventListener('error', () => {
      if (this.#video.getAttribute('src')) this.#say('This clip cannot be played here.', true);
    });
  }

  get id() {
    return this.#event.id;
  }

  /** The recording id this panel shows (from the event, before the recording loads). */
  get recordingId() {
    return this.recording?.id ?? this.#event.clip?.id ?? null;
  }

  /** Load the recording and start playing (call once the panel is in the document). */
  async open() {
    const width = this.el.clientWidth || 320;
    this.#tileCount = Math.max(TILES_MIN, Math.min(TILES_MAX, Math.floor(width / TILE_MIN_PX)));
    this.#say('Loading the clip…');
    const recording = await this.#fetch();
    if (!recording) return;
    this.#show(recording, true);
  }

  /** The live channel says this recording changed (phase "end"): show what it is now. */
  async update(recording, phase) {
    if (this.#destroyed) return;
    if (phase === 'deleted') {
      this.#gone();
      return;
    }
    const was = this.recording;
    if (!was) {
      this.#loads += 1; // newer than the answer still on its way: that one is dropped
      this.#show(recording, true);
    } else if (was.state !== recording.state || was.size !== recording.size) {
      this.#show(recording, false);
    }
  }

  pause() {
    this.#video.pause();
  }

  destroy() {
    this.#destroyed = true;
    this.#video.pause();
    this.#video.removeAttribute('src');
    this.#video.load(); // lets the browser drop the connection and the decoder
    this.el.remove();
  }

  focus() {
    this.#video.focus({ preventScroll: true });
    this.el.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  // ---- loading and rendering ---------------------------------------------------------------

  async #fetch() {
    const link = this.#event.links?.clip;
    if (!link) {
      this.#gone();
      return null;
    }
    const load = ++this.#loads;
    try {
      const recording = await getJson(link);
      return this.#destroyed || load !== this.#loads ? null : recording;
    } catch (err) {
      if (err instanceof UnauthorizedError || this.#destroyed) return null;
      if (err instanceof HttpError && err.status === 404) this.#gone();
      else this.#say('Could not load the clip. Close it and try again.', true);
      return null;
    }
  }

  #show(recording, first) {
    const previous = this.recording;
    this.recording = recording;
    const video = this.#video;
    const $ = (selector) => this.el.querySelector(selector);
    this.el.dataset.recording = String(recording.id);
    this.el.dataset.state = recording.state;

    // The video: swap to the finished file keeping the position (and playing on).
    const src = videoUrl(recording);
    const samePartial = previous?.state === 'recording' && recording.state === 'recording';
    if (first || !samePartial) {
      const position = first ? 0 : video.currentTime;
      const playing = first || !video.paused || video.ended; // ended: it had played all there was
      video.src = src;
      if (position > 0) {
        video.addEventListener(
          'loadedmetadata',
          () => {
            video.currentTime = Math.min(position, this.#duration() || position);
          },
          { once: true },
        );
      }
      if (playing) this.#play();
    }

    // State line.
    if (recording.state === 'recording') {
      this.#say(
        'Still recording: this plays what has been written so far. ' +
          'The thumbnails and the checksum follow when it ends.',
      );
    } else if (recording.state === 'interrupted') {
      this.#say(
        `Interrupted${recording.detail ? ` (${recording.detail})` : ''}: ` +
          'it plays up to the last part written.',
        true,
      );
    } else {
      this.#say('');
    }

    // Facts: when, how long, how big, checksum, download.
    const when = $('.clip-when');
    when.dateTime = recording.start;
    when.textContent = formatWhen(recording.start);
    const complete = recording.state !== 'recording';
    $('.clip-duration').textContent = complete ? formatSeconds(recording.duration) : 'recording';
    $('.clip-size').textContent = complete ? formatBytes(recording.size) : '';
    $('.clip-size').hidden = !complete;
    const sha = recording.sha256 ?? '';
    const hash = $('.clip-sha');
    hash.hidden = !sha;
    const short = $('.clip-sha-short');
    short.textContent = shortHash(sha);
    short.title = sha;
    $('.clip-sha-full').textContent = sha;
    $('.clip-sha-copy').hidden = !(sha && navigator.clipboard?.writeText);
    const download = $('.clip-download');
    download.href = recording.links.download;
    download.hidden = !complete; // a partial file would not match any checksum
    download.title = sha ? `SHA-256 ${sha}` : '';
    download.setAttribute(
      'aria-label',
      `Download the clip (MP4${complete ? `, ${formatBytes(recording.size)}` : ''})`,
    );
    const timeline = $('.clip-timeline');
    const at = parseTime(this.#event.start);
    timeline.href =
      `#/recordings/${encodeURIComponent(recording.camera)}` +
      (Number.isFinite(at) ? `/${at}` : '');
    $('.clip-delete').hidden = !(this.#isAdmin && complete);

    this.#renderStrip(recording);
  }

  #renderStrip(recording) {
    const ready = recording.state !== 'recording' && recording.duration > 0;
    this.#strip.hidden = !ready;
    if (!ready) {
      this.#tiles.replaceChildren();
      return;
    }
    const count = this.#tileCount;
    const link = recording.links.strip;
    const src = `${link}${link.includes('?') ? '&' : '?'}tiles=${count}`;
    this.#strip.dataset.tiles = String(count);
    this.#strip.style.setProperty('--tiles', String(count));
    if (this.#stripImg.getAttribute('src') !== src) this.#stripImg.src = src;
    const buttons = [];
    for (let i = 0; i < count; i += 1) {
      const at = ((i + 0.5) / count) * recording.duration;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'clip-tile';
      button.dataset.index = String(i);
      button.dataset.testid = `clip-tile-${i}`;
      const label = `Play from ${formatOffset(at)}`;
      button.setAttribute('aria-label', label);
      button.title = label;
      buttons.push(button);
    }
    this.#tiles.replaceChildren(...buttons);
  }

  /** The clip's length in seconds: the server's word, or what the browser found. */
  #duration() {
    if (this.recording?.duration > 0) return this.recording.duration;
    const own = this.#video.duration;
    return Number.isFinite(own) ? own : 0;
  }

  #onTile(event) {
    const button = event.target.closest('.clip-tile');
    if (!button) return;
    const count = Number(this.#strip.dataset.tiles) || this.#tileCount;
    const index = Number(button.dataset.index);
    const duration = this.#duration();
    if (!duration) return;
    const target = ((index + 0.5) / count) * duration;
    for (const tile of this.#tiles.children) {
      tile.classList.toggle('is-current', tile === button);
    }
    this.#video.currentTime = target;
    this.#play();
  }

  #play() {
    const video = this.#video;
    video.play().catch((err) => {
      // Sound without a fresh tap can be refused (phones): play muted, the controls unmute.
      if (err?.name === 'NotAllowedError' && !video.muted) {
        video.muted = true;
        video.play().catch(() => {});
      }
    });
  }

  #say(text, bad = false) {
    this.#state.textContent = text;
    this.#state.hidden = !text;
    this.#state.classList.toggle('is-bad', bad);
  }

  #gone() {
    this.#loads += 1; // an answer still on its way is about a deleted clip
    this.recording = null;
    this.#video.pause();
    this.#video.removeAttribute('src');
    this.#video.load();
    this.#strip.hidden = true;
    for (const selector of [
      '.clip-body',
      '.clip-media',
      '.clip-download',
      '.clip-timeline',
      '.clip-delete',
    ]) {
      this.el.querySelector(selector).hidden = true;
    }
    this.el.dataset.state = 'deleted';
    this.#say('This clip has been deleted.', true);
  }

  async #copyHash(button) {
    const sha = this.recording?.sha256;
    if (!sha) return;
    try {
      await navigator.clipboard.writeText(sha);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy';
      this.el.querySelector('.clip-sha').open = true;
    }
  }

  async #delete(button) {
    const recording = this.recording;
    if (!recording || button.disabled) return;
    // A confirm() is modal and keyboard friendly; deleting cannot be undone.
    if (!window.confirm('Delete this clip for good? This cannot be undone.')) return;
    button.disabled = true;
    try {
      await deleteResource(recording.links.self);
      this.#gone();
      this.#onDeleted(recording);
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
      button.disabled = false;
      this.#say(
        err instanceof HttpError && err.status === 409
          ? 'This clip is still being written: it can be deleted once it ends.'
          : `Could not delete the clip: ${err.message}`,
        true,
      );
    }
  }
}
