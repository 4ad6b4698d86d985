// One camera's live stream in one <video>: connects over WHEP, watches the connection and
// the picture, and reconnects by itself with exponential backoff.
//
// States: 'connecting' (first attempt), 'live' (frames arriving), 'reconnecting' (lost it,
// retrying), 'offline' (the server refused: camera offline / viewer cap / unknown camera),
// 'idle' (stopped on purpose: another camera is in full view, or the page is hidden).

import { WhepSession, rtcConfiguration } from '/whep.js';
import { HttpError, UnauthorizedError, apiFetch } from '/http.js';
import { describePath } from '/connectivity.js';
import { whepUrlWith } from '/quality.js';
import { readVideoStats } from '/stats.js';

const BACKOFF_INITIAL_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const BACKOFF_JITTER = 0.2; // ±20 %
const DISCONNECTED_GRACE_MS = 3000;
const STALL_MS = 5000; // no new frame for this long while live => reconnect
const FIRST_FRAME_TIMEOUT_MS = 15000; // no frame at all after negotiating => reconnect
const WATCHDOG_MS = 1000;

const hasFrameCallback = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;

export class CameraPlayer {
  state = 'idle';
  detail = null; // human-readable reason for the current state, if any
  path = null; // describePath(): direct or relayed, the round trip (while connected)
  quality = 'auto'; // high | low | auto (quality.js), sent with the offer

  #video;
  #whepUrl;
  #onState;
  #onFrames;
  #offlineReason;
  #onPath;
  #running = false;
  #gen = 0; // bumped on every teardown; stale async callbacks compare and bail out
  #session = null;
  #attempt = 0;
  #reason = null; // why the last attempt failed, shown while retrying
  #retryTimer = 0;
  #disconnectTimer = 0;
  #watchdogTimer = 0;
  #ticking = false;
  #lastProgressAt = 0;
  #framesDecoded = 0;
  #playbackFrames = 0;
  #frameHandle = 0;

  /**
   * @param {HTMLVideoElement} video
   * @param {string} whepUrl
   * @param {object} hooks
   * @param {(player: CameraPlayer) => void} [hooks.onState]  state or detail changed
   * @param {(count: number, metadata: object|null) => void} [hooks.onFrames]  frames shown
   * @param {() => string|null} [hooks.offlineReason]  non-null while the server lists the
   *     camera as offline: we then wait (retryNow() is called when it comes back) instead
   *     of asking for a session the server would refuse
   * @param {(path: object|null) => void} [hooks.onPath]  direct/relayed changed
   */
  constructor(video, whepUrl, hooks = {}) {
    this.#video = video;
    this.#whepUrl = whepUrl;
    this.#onState = hooks.onState ?? (() => {});
    this.#onFrames = hooks.onFrames ?? (() => {});
    this.#offlineReason = hooks.offlineReason ?? (() => null);
    this.#onPath = hooks.onPath ?? (() => {});
    if (hasFrameCallback) this.#frameHandle = video.requestVideoFrameCallback(this.#onFrame);
  }

  /** The current RTCPeerConnection, or null between sessions. */
  get pc() {
    return this.#session?.pc ?? null;
  }

  /**
   * Ask for another stream: the running session moves at the server's next keyframe, with
   * no renegotiation (PUT .../quality); a failure only means the next session asks anew.
   */
  setQuality(quality) {
    if (quality === this.quality) return;
    this.quality = quality;
    const url = this.#session?.sessionUrl;
    if (!url) return;
    apiFetch(`${url}/quality`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ quality }),
    }).catch(() => {});
  }

  /** Start streaming (no-op if already running). */
  start() {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    this.#connect();
  }

  /** Stop streaming and end the server session. */
  stop() {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
    this.#teardown();
    this.#setState('idle', null);
  }

  /** If waiting to retry, retry now with a fresh backoff (e.g. the server is back). */
  retryNow() {
    if (!this.#running || !this.#retryTimer) return;
    clearTimeout(this.#retryTimer);
    this.#attempt = 0;
    this.#connect();
  }

  destroy() {
    this.stop();
    if (hasFrameCallback) this.#video.cancelVideoFrameCallback(this.#frameHandle);
  }

  async #connect() {
    this.#retryTimer = 0;
    const offline = this.#offlineReason();
    if (offline !== null) {
      this.#setState('offline', offline);
      this.#retryTimer = setTimeout(() => this.#connect(), BACKOFF_MAX_MS); // safety net
      return;
    }
    const gen = ++this.#gen;
    if (this.#attempt === 0) {
      this.#setState('connecting', null);
    } else {
      // Keep showing 'offline' while re-asking a camera that refused, rather than flicker.
      this.#setState(this.state === 'offline' ? 'offline' : 'reconnecting', this.#reason);
    }
    let session;
    try {
      session = new WhepSession(whepUrlWith(this.#whepUrl, this.quality), await rtcConfiguration());
      if (gen !== this.#gen) return;
      this.#session = session;
      session.pc.addEventListener('connectionstatechange', () => this.#onConnectionState(gen));
      const stream = await session.start();
      if (gen !== this.#gen) return;
      this.#video.srcObject = stream;
      this.#play();
      this.#lastProgressAt = performance.now();
      this.#watchdogTimer = setInterval(() => this.#tick(gen), WATCHDOG_MS);
    } catch (err) {
      if (gen === this.#gen) this.#fail(err);
    }
  }

  /** Tear down, then schedule the next attempt with backoff. */
  #fail(err) {
    this.#teardown();
    if (err instanceof UnauthorizedError) {
      this.#running = false; // the page is on its way to /login
      return;
    }
    if (!this.#running) return;
    const { state, detail, minDelayMs } = describeFailure(err);
    const delay = this.#nextDelay(minDelayMs);
    this.#reason = detail;
    this.#setState(state, `${detail} — retrying in ${Math.max(1, Math.round(delay / 1000))} s`);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #nextDelay(minDelayMs) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 10);
    const jittered = base * (1 - BACKOFF_JITTER + Math.random() * 2 * BACKOFF_JITTER);
    return Math.min(BACKOFF_MAX_MS, Math.max(minDelayMs, jittered));
  }

  #teardown() {
    this.#gen += 1;
    clearTimeout(this.#disconnectTimer);
    clearInterval(this.#watchdogTimer);
    this.#disconnectTimer = 0;
    this.#watchdogTimer = 0;
    this.#session?.close();
    this.#session = null;
    this.#framesDecoded = 0;
    if (this.#video.srcObject) this.#video.srcObject = null; // the poster shows again
  }

  #onConnectionState(gen) {
    if (gen !== this.#gen) return;
    const state = this.#session.pc.connectionState;
    if (state === 'failed') {
      this.#fail(new Error('Connection failed'));
    } else if (state === 'disconnected' && !this.#disconnectTimer) {
      // 'disconnected' often heals by itself; give it a few seconds.
      this.#disconnectTimer = setTimeout(() => {
        this.#disconnectTimer = 0;
        if (gen === this.#gen) this.#fail(new Error('Connection lost'));
      }, DISCONNECTED_GRACE_MS);
    } else if (state === 'connected') {
      clearTimeout(this.#disconnectTimer);
      this.#disconnectTimer = 0;
    }
  }

  /** requestVideoFrameCallback: one call per frame presented. */
  #onFrame = (now, metadata) => {
    this.#frameHandle = this.#video.requestVideoFrameCallback(this.#onFrame);
    if (!this.#session) return;
    this.#markProgress();
    this.#onFrames(1, metadata);
  };

  /**
   * Once a second: count progress from decoder stats too (a video that is off screen or
   * paused by the browser presents no frames but still decodes), then detect stalls.
   */
  async #tick(gen) {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      if (!hasFrameCallback) this.#countPlaybackFrames();
      const stats = await readVideoStats(this.pc);
      if (gen !== this.#gen) return;
      this.#updatePath(stats);
      const decoded = stats?.inbound?.framesDecoded ?? 0;
      if (decoded > this.#framesDecoded) {
        this.#framesDecoded = decoded;
        this.#markProgress();
      }
      const quietMs = performance.now() - this.#lastProgressAt;
      if (this.state === 'live' && quietMs > STALL_MS) {
        this.#fail(new Error('Video stalled'));
      } else if (this.state !== 'live' && quietMs > FIRST_FRAME_TIMEOUT_MS) {
        this.#fail(new Error('No video received'));
      }
    } finally {
      this.#ticking = false;
    }
  }

  /** Direct or relayed, and the round trip, from the selected candidate pair. */
  #updatePath(stats) {
    const path = stats ? describePath(stats.pair, stats.local, stats.remote) : null;
    if (path?.kind === this.path?.kind && path?.local === this.path?.local) return;
    this.path = path;
    this.#onPath(path);
  }

  /** Fallback frame counting for browsers without requestVideoFrameCallback. */
  #countPlaybackFrames() {
    const total = this.#video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
    const delta = total - this.#playbackFrames;
    this.#playbackFrames = total;
    if (delta > 0) {
      this.#markProgress();
      this.#onFrames(delta, null);
    }
  }

  #markProgress() {
    this.#lastProgressAt = performance.now();
    if (this.state !== 'live' && this.#session) {
      this.#attempt = 0; // live again: reset the backoff
      this.#setState('live', null);
    }
  }

  #play() {
    const video = this.#video;
    video.play().catch((err) => {
      // Unmuted autoplay can be refused (no user gesture yet): fall back to muted.
      if (err.name === 'NotAllowedError' && !video.muted) {
        video.muted = true;
        video.play().catch(() => {});
      }
    });
  }

  #setState(state, detail) {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this.#onState(this);
  }
}

/** Map an error to the state to show, a message, and the minimum wait before retrying. */
function describeFailure(err) {
  if (err instanceof HttpError) {
    // 503: camera offline or viewer cap reached; 404: no such camera. The server said no.
    const refused = err.status === 503 || err.status === 404;
    return {
      state: refused ? 'offline' : 'reconnecting',
      detail: err.message,
      minDelayMs: err.retryAfterMs,
    };
  }
  if (err instanceof TypeError) {
    return { state: 'reconnecting', detail: 'Server unreachable', minDelayMs: 0 };
  }
  return { state: 'reconnecting', detail: err?.message || 'Connection error', minDelayMs: 0 };
}
