// The live channel's bookkeeping, pure (LiveClient in live.js does the I/O and the timers):
// reading a message, which numbered messages were handed out already, what a hello means
// for resuming, how long to wait before dialling again, and the server's clock offset.
// Unit-tested in node.

const BACKOFF_INITIAL_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const BACKOFF_JITTER = 0.25; // ±25 %
const MAX_ATTEMPT = 16; // 2 ** 16 s is far past the cap already

/** A message's JSON text as an object, or null (not JSON, or not an object). */
export function parseMessage(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return null;
  }
  return message && typeof message === 'object' ? message : null;
}

/** Whether the message numbered ID was handed out already (a replay overlaps what was
 * seen): LASTID is the last one handed out, or null. */
export function seenAlready(lastId, id) {
  return lastId !== null && id <= lastId;
}

/** The id kept by an earlier page (sessionStorage's text, or null), or null when unusable. */
/** The last id after a `skipped` message (ids the server never stored: superseded
 * motion-box updates), or null when it moves nothing forward. */
export function skippedTo(lastId, message) {
  const to = message.to;
  if (typeof to !== 'number' || !Number.isSafeInteger(to)) return null;
  return lastId === null || to > lastId ? to : null;
}

export function parseStoredId(text) {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : null;
}

/** Whether ID can be resumed from (a finite number). */
export function usableId(id) {
  return typeof id === 'number' && Number.isFinite(id);
}

/**
 * What a hello whose last_id is SERVERLAST means after LASTID (ours, null before the
 * first message): {adopt, resumed, resync}. adopt: the id to go on from, or null to keep
 * ours; resumed: the server replays what we missed; resync: it cannot (its numbering went
 * back: the database was replaced), so the lists must be reloaded.
 */
export function helloOutcome(lastId, serverLast) {
  const known = typeof serverLast === 'number' ? serverLast : null;
  const resuming = lastId !== null;
  if (known !== null && (!resuming || known < lastId)) {
    // First connection: start here. Or our id means nothing there any more.
    return { adopt: known, resumed: false, resync: resuming };
  }
  return { adopt: null, resumed: resuming, resync: false };
}

/** How long to wait (ms) before dialling again after ATTEMPT failed tries in a row: 1 s
 * doubling to 30 s, ±25 % by RANDOM (0 <= RANDOM < 1, e.g. Math.random()). */
export function retryDelay(attempt, random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** attempt);
  return base * (1 - BACKOFF_JITTER + random * 2 * BACKOFF_JITTER);
}

/** The count of failed tries after one more (capped: the delay stopped growing long ago). */
export function nextAttempt(attempt) {
  return Math.min(attempt + 1, MAX_ATTEMPT);
}

/** The server's clock minus ours (ms) from a hello's CAMERAS ({at: seconds} each) and our
 * NOW (ms); null when no camera has a time. */
export function clockOffset(cameras, now) {
  const stamps = (cameras ?? []).map((camera) => camera.at).filter(Number.isFinite);
  return stamps.length ? Math.max(...stamps) * 1000 - now : null;
}
