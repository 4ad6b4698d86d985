// A camera tile: DOM (cloned from <template id="tile-template">), its CameraPlayer,
// stats overlay, audio toggle and latency probe. Used both in the grid and in full view.

import { CameraPlayer } from '/player.js';
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
    this.#build();
    this.reader = new TimestampReader();
    this.player = new CameraPlayer(this.video, camera.links.whep, {
      onState: () => this.#renderState(),
      onFrames: (count, metadata) => this.#onFrames(count, metadata),
      offlineReason: () => (this.camera.status === 'offline'
        ? `Camera offline${this.camera.error ? `: ${this.camera.error}` : ''}` : null),
    });
    this.stats = new StatsOverlay(this.statsEl, () => this.player.pc, () => this.#recentLatency());
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
    this.msgEl = $('.tile-msg');
    this.statsEl = $('.tile-stats');
    this.infoBtn = $('.btn-info');
    this.audioBtn = $('.btn-audio');
    this.closeBtn = $('.btn-close');

    this.el.dataset.testid = `tile-${this.id}`;
    this.video.dataset.testid = `video-${this.id}`;
    this.stateEl.dataset.testid = `state-${this.id}`;
    this.video.muted = true;
    this.nameEl.href = `#/camera/${encodeURIComponent(this.id)}`;

    this.el.addEventListener('click', (event) => this.#onTileClick(event));
    this.infoBtn.addEventListener('click', () => this.toggleStats());
    this.audioBtn.addEventListener('click', () => this.setMuted(!this.video.muted));
    this.closeBtn.addEventListener('click', () => this.actions.onClose());
    this.video.addEventListener('volumechange', () => this.#renderAudio());
  }

  /** Apply fresh camera info from the server. */
  update(camera) {
    const wasOffline = this.camera.status === 'offline';
    this.camera = camera;
    this.nameEl.textContent = camera.name || camera.id;
    this.video.setAttribute('aria-label', `Live video: ${camera.name || camera.id}`);
    if (camera.width > 0 && camera.height > 0) {
      this.el.style.setProperty('--aspect', `${camera.width} / ${camera.height}`);
    }
    this.audioBtn.hidden = !camera.audio;
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

  destroy() {
    this.stats.close();
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
      ? metadata.expectedDisplayTime - performance.now() : 0;
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

  #renderAudio() {
    const muted = this.video.muted;
    this.audioBtn.classList.toggle('is-unmuted', !muted);
    this.audioBtn.setAttribute('aria-pressed', String(!muted));
    this.audioBtn.setAttribute('aria-label', muted ? 'Unmute' : 'Mute');
    this.audioBtn.title = muted ? 'Unmute' : 'Mute';
  }
}
