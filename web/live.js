// The page's one WebSocket to /api/ws: camera status, events, alerts and arming, live.
//
// Reconnects by itself (1 s doubling to 30 s, with jitter) and resumes where it stopped:
// the id of the last message seen is kept in memory and sessionStorage (so a reload
// resumes too) and sent as ?last_id=N; the server replays what was missed. A message id
// is never handed to subscribers twice (the rules for that, pure: live-resume.js).
// Subscribers get every numbered message plus:
//   {type: 'hello', ..., resumed: bool}   on every (re)connection
//   {type: 'resync'}                      what was missed is gone: reload through REST
//
// Status (also window.sentrycam.ws, kept up to date):
//   {state: 'open'|'connecting'|'closed', lastId: number|null, received: n, connects: n}
// received: numbered messages handed to subscribers; connects: hellos received.

import { getJson, UnauthorizedError } from '/http.js';
import {
  clockOffset,
  helloOutcome,
  nextAttempt,
  parseMessage,
  parseStoredId,
  retryDelay,
  seenAlready,
  skippedTo,
  usableId,
} from '/live-resume.js';

const STORAGE_KEY = 'sentrycam.lastId';
const DEAD_MS = 40000; // heartbeats come every 15 s: silence this long means a dead link
const CONNECT_TIMEOUT_MS = 10000; // no hello this long after dialling: try again
const CLOSE_REVOKED = 4401;
// A 4401 may mean "this session was renewed" (changing one's password ends every session
// and gives this page a new cookie): after a moment, ask the server who we are. A 401
// there sends the page to the login page (http.js); otherwise just reconnect.
const REVOKED_CHECK_MS = 1500;

export class LiveClient {
  /** @type {{state: string, lastId: number|null, received: number, connects: number}} */
  status = { state: 'closed', lastId: null, received: 0, connects: 0 };

  #subscribers = new Set();
  #ws = null;
  #running = false;
  #attempt = 0;
  #retryTimer = 0;
  #deadTimer = 0;
  #clockOffsetMs = 0; // server clock minus ours, from the hello (the appliance may be off)

  constructor() {
    this.status.lastId = readStoredId();
  }

  /** Call fn(message) for every message; returns a function that unsubscribes. */
  subscribe(fn) {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
    // Come back at once rather than waiting out the backoff.
    window.addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.retryNow();
    });
    // An open WebSocket keeps the page out of the back/forward cache.
    window.addEventListener('pagehide', () => this.#stop());
    window.addEventListener('pageshow', (event) => {
      if (event.persisted) {
        this.#running = true;
        this.#connect();
      }
    });
  }

  /** The server's current time in ms (as its event timestamps count it). */
  serverNow() {
    return Date.now() + this.#clockOffsetMs;
  }

  /** Reconnect now if not connected (network back, page visible again). */
  retryNow() {
    if (!this.#running || this.status.state === 'open' || this.#ws) return;
    this.#attempt = 0;
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  // ---- connection ----------------------------------------------------------------------

  #connect() {
    clearTimeout(this.#retryTimer);
    this.status.state = 'connecting';
    const url = new URL('/api/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.status.lastId !== null) url.searchParams.set('last_id', String(this.status.lastId));
    let ws;
    try {
      ws = new WebSocket(url.href);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#ws = ws;
    this.#armDeadTimer(CONNECT_TIMEOUT_MS);
    ws.addEventListener('message', (event) => {
      if (ws === this.#ws) this.#onMessage(event.data);
    });
    ws.addEventListener('close', (event) => {
      if (ws === this.#ws) this.#onClose(event.code);
    });
  }

  #onClose(code) {
    this.#ws = null;
    clearTimeout(this.#deadTimer);
    if (code === CLOSE_REVOKED) {
      this.status.state = 'connecting';
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => this.#checkSession(), REVOKED_CHECK_MS);
      return;
    }
    // 4008 (we read too slowly), 1001 (server going away), network loss: come back.
    this.#scheduleRetry();
  }

  async #checkSession() {
    try {
      await getJson('/api/auth/me');
    } catch (err) {
      if (err instanceof UnauthorizedError) {
        this.#stop(); // on the way to the login page
        return;
      }
      this.#scheduleRetry(); // server unreachable: try again later
      return;
    }
    if (this.#running && !this.#ws) this.#connect(); // still signed in: a new session
  }

  /** Give up on the current socket (silent or hung) and dial again. */
  #drop() {
    const ws = this.#ws;
    this.#ws = null;
    if (ws) ws.close();
    this.#scheduleRetry();
  }

  #stop() {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#deadTimer);
    const ws = this.#ws;
    this.#ws = null;
    if (ws) ws.close(1000);
    this.status.state = 'closed';
  }

  #scheduleRetry() {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#deadTimer);
    if (!this.#running) {
      this.status.state = 'closed';
      return;
    }
    this.status.state = 'connecting';
    const delay = retryDelay(this.#attempt, Math.random());
    this.#attempt = nextAttempt(this.#attempt);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #armDeadTimer(ms) {
    clearTimeout(this.#deadTimer);
    this.#deadTimer = setTimeout(() => this.#drop(), ms);
  }

  // ---- messages ------------------------------------------------------------------------

  #onMessage(data) {
    const message = parseMessage(data);
    if (!message) return;
    if (this.status.state === 'open') this.#armDeadTimer(DEAD_MS);

    if (typeof message.id === 'number') {
      if (seenAlready(this.status.lastId, message.id)) return; // replay overlap
      this.#setLastId(message.id);
      this.status.received += 1;
      this.#dispatch(message);
      return;
    }
    switch (message.type) {
      case 'hello':
        this.#onHello(message);
        break;
      case 'skipped': {
        // Ids the server never stored (motion-box updates, superseded): nothing lost.
        const to = skippedTo(this.status.lastId, message);
        if (to !== null) this.#setLastId(to);
        break;
      }
      case 'resync':
        // The gap reached back past what the server keeps: start over from its id.
        this.#setLastId(message.last_id);
        this.#dispatch({ type: 'resync' });
        break;
      default:
        break; // heartbeat (kept the dead timer alive above), pong, error
    }
  }

  #onHello(message) {
    const { adopt, resumed, resync } = helloOutcome(this.status.lastId, message.last_id);
    this.status.state = 'open';
    this.status.connects += 1;
    this.#attempt = 0;
    this.#armDeadTimer(DEAD_MS);
    const offset = clockOffset(message.cameras, Date.now());
    if (offset !== null) this.#clockOffsetMs = offset;
    if (adopt !== null) this.#setLastId(adopt);
    this.#dispatch({ ...message, resumed });
    if (resync) this.#dispatch({ type: 'resync' });
  }

  #setLastId(id) {
    if (!usableId(id)) return;
    this.status.lastId = id;
    try {
      sessionStorage.setItem(STORAGE_KEY, String(id));
    } catch {
      // Private mode or storage full: resuming after a reload then starts afresh.
    }
  }

  #dispatch(message) {
    for (const fn of this.#subscribers) {
      try {
        fn(message);
      } catch (err) {
        // One broken subscriber must not starve the others; still report it.
        if (typeof reportError === 'function') reportError(err);
        else console.error(err);
      }
    }
  }
}

function readStoredId() {
  try {
    return parseStoredId(sessionStorage.getItem(STORAGE_KEY));
  } catch {
    return null;
  }
}
