// A camera tile: DOM (cloned from <template id="tile-template">), its CameraPlayer,
// stats overlay, audio toggle, latency probe, arm/disarm toggle, motion regions overlay
// and (in full view) the activity chart. Used both in the grid and in full view.

import { apiFetch, httpError, UnauthorizedError } from '/http.js';
import { ActivityChart } from '/chart.js';
import { CameraPlayer } from '/player.js';
import { holdToTalk } from '/talk.js';
import { StatsOverlay } from '/stats.js';
import { TimestampReader, latencyFromStamp, recordLatency, measurementForced } from '/latency.js';

const STATE_LABELS = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  idle: 'Paused',
};
const LATENCY_FRESH_MS = 2000; // the overlay shows latency only if measured this recently
const REGIONS_HOLD_MS = 2000; // motion boxes vanish this long after the last update

export class Tile {
  /**
   * @param {object} camera   CAM object from GET /api/cameras
   * @param {object} metrics  window.sentrycam
   * @param {{onOpen: (id) => void, onClose: () => void, onUnmute: (tile) => void}} actions
   */
  constructor(camera, metrics, actions) {
    this.id = camera.id;
    this.camera = camera;
    this.metrics = metrics;
    this.actions = actions;
    this.lastLatency = null;
    this.lastLatencyAt = 0;
    this.armed = null; // unknown until the live channel (or GET .../arm) says
    this.regions = []; // motion boxes shown now, [x, y, w, h] normalised to the picture
    this.regionsEvent = null;
    this.regionsTimer = 0;
    metrics.regions ??= {};
    metrics.regions[this.id] = this.regions;
    metrics.regionsCleared ??= {};
    this.#build();
    this.reader = new TimestampReader();
    this.player = new CameraPlayer(this.video, camera.links.whep, {
      onState: () => this.#renderState(),
      onFrames: (count, metadata) => this.#onFrames(count, metadata),
      onPath: (path) => this.#renderPath(path),
      offlineReason: () =>
        this.camera.status === 'offline'
          ? `Camera offline${this.camera.error ? `: ${this.camera.error}` : ''}`
          : null,
    });
    this.stats = new StatsOverlay(
      this.statsEl,
      () => this.player.pc,
      () => this.#recentLatency(),
    );
    this.chart = new ActivityChart(this.activityEl, this.id);
    metrics.frames[this.id] ??= 0;
    this.update(camera);
    this.refreshPoster();
    this.#renderState();
  }

  #build() {
    const template = document.getElementById('tile-template');
    this.el = template.content.firstElementChild.cloneNode(true);
    const $ = (selector) => this.el.querySelector(selector);
    this.video = $('video');
    this.nameEl = $('.tile-name');
    this.stateEl = $('.tile-state');
    this.pathEl = $('.tile-path');
    this.msgEl = $('.tile-msg');
    this.statsEl = $('.tile-stats');
    this.infoBtn = $('.btn-info');
    this.audioBtn = $('.btn-audio');
    this.closeBtn = $('.btn-close');
    this.recordingsLink = $('.btn-recordings');
    this.armBtn = $('.btn-arm');
    this.regionsEl = $('.tile-regions');
    this.activityEl = $('.tile-activity');
    this.talkBtn = $('.btn-talk');
    this.talkEl = $('.tile-talk');
    this.talkBtn.dataset.testid = `talk-${this.id}`;
    this.talkEl.dataset.testid = `talker-${this.id}`;
    this.talkState = 'idle'; // idle | starting | talking | refused (this device)
    this.talker = null; // who talks through this camera now (live `talk` messages)

    this.el.dataset.testid = `tile-${this.id}`;
    this.video.dataset.testid = `video-${this.id}`;
    this.stateEl.dataset.testid = `state-${this.id}`;
    this.pathEl.dataset.testid = `path-${this.id}`;
    this.armBtn.dataset.testid = `arm-${this.id}`;
    this.regionsEl.dataset.testid = `regions-${this.id}`;
    this.video.muted = true;
    this.nameEl.href = `#/camera/${encodeURIComponent(this.id)}`;
    this.recordingsLink.href = `#/recordings/${encodeURIComponent(this.id)}`;
    this.recordingsLink.dataset.testid = `recordings-${this.id}`;

    this.el.addEventListener('click', (event) => this.#onTileClick(event));
    this.infoBtn.addEventListener('click', () => this.toggleStats());
    this.audioBtn.addEventListener('click', () => this.setMuted(!this.video.muted));
    this.closeBtn.addEventListener('click', () => this.actions.onClose());
    this.armBtn.addEventListener('click', () => this.#toggleArmed());
    this.video.addEventListener('volumechange', () => this.#renderAudio());
    this.video.addEventListener('resize', () => this.#drawRegions()); // picture size known
    this.resizeObserver = new ResizeObserver(() => this.#drawRegions());
    this.resizeObserver.observe(this.regionsEl);
  }

  /** Apply fresh camera info from the server. */
  update(camera) {
    const wasOffline = this.camera.status === 'offline';
    this.camera = camera;
    this.nameEl.textContent = camera.name || camera.id;
    this.video.setAttribute('aria-label', `Live video: ${camera.name || camera.id}`);
    this.recordingsLink.setAttribute('aria-label', `Recordings of ${camera.name || camera.id}`);
    this.#renderArmed();
    if (camera.width > 0 && camera.height > 0) {
      this.el.style.setProperty('--aspect', `${camera.width} / ${camera.height}`);
    }
    this.audioBtn.hidden = !camera.audio;
    if (camera.links.talk && !this.talkControl) {
      this.talkControl = holdToTalk(this.talkBtn, camera.links.talk, (state, detail) => {
        this.talkState = state;
        this.talkDetail = detail;
        this.#renderTalk();
      });
    }
    this.talkBtn.hidden = !camera.links.talk;
    if (!camera.audio && !this.video.muted) this.video.muted = true;
    if (wasOffline && camera.status === 'online') this.player.retryNow();
    this.#renderState();
  }

  play() {
    this.player.start();
  }

  pause() {
    this.player.stop();
  }

  /** Show or hide this tile as the full view. */
  setFull(full) {
    this.el.classList.toggle('is-full', full);
    this.closeBtn.hidden = !full;
    this.recordingsLink.hidden = !full;
    this.activityEl.hidden = !full;
    if (full) this.chart.show();
    else this.chart.hide();
  }

  // ---- arming ----------------------------------------------------------------------------

  /** The server's word on whether this camera raises alerts (hello / armed messages). */
  setArmed(armed) {
    this.armed = Boolean(armed);
    this.#renderArmed();
  }

  /** Ask the server, unless the live channel has told us already. */
  async loadArmed() {
    try {
      const res = await apiFetch(`/api/cameras/${encodeURIComponent(this.id)}/arm`, {
        headers: { Accept: 'application/json' },
        cache: 'no-store',
      });
      if (res.ok && this.armed === null) this.setArmed((await res.json()).armed);
    } catch {
      // The live channel's hello will tell us.
    }
  }

  async #toggleArmed() {
    if (this.armed === null || this.armBtn.disabled) return;
    const wanted = !this.armed;
    const previous = this.armed;
    this.armBtn.disabled = true;
    this.setArmed(wanted); // at once; put back if the server says no
    try {
      const res = await apiFetch(`/api/cameras/${encodeURIComponent(this.id)}/arm`, {
        method: 'PUT',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ armed: wanted }),
        cache: 'no-store',
      });
      if (!res.ok) throw await httpError(res);
      this.setArmed((await res.json()).armed);
    } catch (err) {
      if (err instanceof UnauthorizedError) return;
      this.setArmed(previous);
      this.armBtn.title = `Could not ${wanted ? 'arm' : 'disarm'}: ${err.message}`;
    } finally {
      this.armBtn.disabled = false;
    }
  }

  #renderArmed() {
    const known = this.armed !== null;
    const name = this.camera.name || this.camera.id;
    this.armBtn.disabled = !known;
    this.armBtn.classList.toggle('is-disarmed', this.armed === false);
    this.armBtn.setAttribute('aria-pressed', String(this.armed === true));
    this.armBtn.setAttribute('aria-label', `Alerts for ${name}`);
    if (!known) this.armBtn.title = 'Alerts';
    else this.armBtn.title = this.armed ? 'Armed: tap to disarm' : 'Disarmed: tap to arm';
    this.el.dataset.armed = known ? String(this.armed) : '';
  }

  // ---- live events -----------------------------------------------------------------------

  /** An `event` message about this camera. */
  onEvent(message) {
    const { event, phase } = message;
    this.chart.refreshSoon();
    if (event.kind !== 'motion' || phase === 'ack') return; // ack: seen elsewhere, not motion
    if (phase === 'end') {
      if (this.regionsEvent === null || this.regionsEvent === event.id) {
        this.#clearRegions('end');
      }
      return;
    }
    const boxes = (event.regions ?? []).filter(
      (box) => Array.isArray(box) && box.length === 4 && box.every(Number.isFinite),
    );
    this.regionsEvent = event.id;
    this.#setRegions(boxes);
    clearTimeout(this.regionsTimer);
    this.regionsTimer = setTimeout(() => this.#clearRegions('hold'), REGIONS_HOLD_MS);
  }

  /** Why: 'end' (the event ended) or 'hold' (no update for REGIONS_HOLD_MS). */
  #clearRegions(why) {
    clearTimeout(this.regionsTimer);
    this.regionsEvent = null;
    this.metrics.regionsCleared[this.id] = why;
    this.#setRegions([]);
  }

  #setRegions(boxes) {
    this.regions = boxes.map((box) => box.slice());
    this.metrics.regions[this.id] = this.regions;
    this.regionsEl.hidden = this.regions.length === 0;
    this.#drawRegions();
  }

  /** Boxes over the picture, which object-fit: contain may letterbox inside the element. */
  #drawRegions() {
    const canvas = this.regionsEl;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!this.regions.length || !width || !height) return;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const sourceW = this.video.videoWidth || this.camera.width || 16;
    const sourceH = this.video.videoHeight || this.camera.height || 9;
    const scale = Math.min(width / sourceW, height / sourceH);
    const pictureW = sourceW * scale;
    const pictureH = sourceH * scale;
    const left = (width - pictureW) / 2;
    const top = (height - pictureH) / 2;
    const color = getComputedStyle(canvas).getPropertyValue('--kind-motion').trim() || '#f2b84b';
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    for (const [x, y, w, h] of this.regions) {
      const bx = left + x * pictureW;
      const by = top + y * pictureH;
      const bw = w * pictureW;
      const bh = h * pictureH;
      ctx.globalAlpha = 0.15;
      ctx.fillRect(bx, by, bw, bh);
      ctx.globalAlpha = 1;
      ctx.strokeRect(bx + 1, by + 1, Math.max(0, bw - 2), Math.max(0, bh - 2));
    }
  }

  /** Reload the snapshot poster, unless the stream is showing anyway. */
  refreshPoster() {
    if (this.player.state === 'live' || this.camera.status === 'offline') return;
    const link = this.camera.links?.snapshot;
    if (!link) return;
    const url = new URL(link, location.href);
    url.searchParams.set('t', String(Date.now())); // defeat caches
    this.video.poster = url.pathname + url.search;
  }

  setMuted(muted) {
    this.video.muted = muted;
    if (!muted) {
      this.actions.onUnmute(this);
      this.video.play().catch(() => {});
    }
  }

  toggleStats() {
    if (this.stats.isOpen) this.stats.close();
    else this.stats.open();
    this.infoBtn.setAttribute('aria-pressed', String(this.stats.isOpen));
  }

  /** A live `talk` message: who talks through this camera now (null: nobody). */
  setTalker(user) {
    this.talker = user;
    this.#renderTalk();
  }

  #renderTalk() {
    const mine = this.talkState === 'talking' || this.talkState === 'starting';
    this.talkBtn.setAttribute('aria-pressed', String(mine));
    this.talkBtn.classList.toggle('is-talking', this.talkState === 'talking');
    this.el.dataset.talk = this.talkState;
    let text = '';
    if (this.talkState === 'talking') text = 'Talking…';
    else if (this.talkState === 'refused') text = this.talkDetail ?? 'Cannot talk now';
    else if (this.talker) text = `${this.talker} is talking`;
    this.talkEl.textContent = text;
    this.talkEl.hidden = !text;
  }

  destroy() {
    this.talkControl?.stop();
    this.stats.close();
    this.chart.hide();
    this.resizeObserver.disconnect();
    clearTimeout(this.regionsTimer);
    delete this.metrics.regions[this.id];
    this.player.destroy();
    this.el.remove();
    delete this.metrics.state[this.id];
  }

  #onTileClick(event) {
    // Buttons and the name link do their own thing; in full view a tap does nothing.
    if (event.target.closest('button, a') || this.el.classList.contains('is-full')) return;
    this.actions.onOpen(this.id);
  }

  #onFrames(count, metadata) {
    this.metrics.frames[this.id] = (this.metrics.frames[this.id] ?? 0) + count;
    if (metadata && (this.stats.isOpen || measurementForced())) this.#measureLatency(metadata);
  }

  #measureLatency(metadata) {
    const stamp = this.reader.read(this.video);
    if (stamp === null) return;
    // Glass-to-glass: compare with the wall-clock time the frame is actually displayed.
    const displayDelay = metadata.expectedDisplayTime
      ? metadata.expectedDisplayTime - performance.now()
      : 0;
    const latency = latencyFromStamp(stamp, Date.now() + Math.max(0, displayDelay));
    if (latency === null) return;
    this.lastLatency = latency;
    this.lastLatencyAt = performance.now();
    this.metrics.lastLatency[this.id] = latency;
    recordLatency(this.metrics.latencies, latency);
  }

  #recentLatency() {
    return performance.now() - this.lastLatencyAt < LATENCY_FRESH_MS ? this.lastLatency : null;
  }

  #renderState() {
    const { state } = this.player;
    this.metrics.state[this.id] = state;
    this.el.dataset.state = state;
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = STATE_LABELS[state] ?? state;
    const message = state === 'live' ? '' : this.player.detail || this.camera.error || '';
    this.msgEl.textContent = message;
    this.msgEl.hidden = !message;
    if (state !== 'live') this.lastLatency = null;
  }

  /** The badge that says whether video comes directly or through the TURN relay. */
  #renderPath(path) {
    this.metrics.path ??= {};
    this.metrics.path[this.id] = path?.kind ?? null;
    this.pathEl.hidden = !path;
    if (!path) return;
    this.pathEl.dataset.path = path.kind;
    this.pathEl.textContent = path.kind === 'relayed' ? 'Relayed' : 'Direct';
    const rtt = path.rttMs === null ? '' : `, round trip ${path.rttMs} ms`;
    this.pathEl.title = `${path.kind === 'relayed' ? 'Through the TURN relay' : 'Direct connection'} (${path.local}${rtt})`;
  }

  #renderAudio() {
    const muted = this.video.muted;
    this.audioBtn.classList.toggle('is-unmuted', !muted);
    this.audioBtn.setAttribute('aria-pressed', String(!muted));
    this.audioBtn.setAttribute('aria-label', muted ? 'Unmute' : 'Mute');
    this.audioBtn.title = muted ? 'Unmute' : 'Mute';
  }
}
