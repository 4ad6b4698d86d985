// Minimal receive-only WHEP client (https://datatracker.ietf.org/doc/draft-ietf-wish-whep/).
// The Sentrycam server does not do trickle ICE: we gather every candidate first (or give up
// waiting after ICE_GATHER_TIMEOUT_MS) and send one complete offer.

import { apiFetch, getJson, httpError } from '/http.js';

const ICE_GATHER_TIMEOUT_MS = 2000;
const DELETE_GRACE_MS = 1000; // how long close() lets DELETE go first before closing the pc

const REFRESH_BEFORE_EXPIRY_S = 120; // fetch new TURN logins this long before they expire

let configPromise = null;
let configExpiresAt = null; // Unix seconds; null when the server minted no TURN logins

/**
 * The RTCConfiguration the server asks for (its configured STUN/TURN servers; none by
 * default, so nothing leaves the LAN). TURN logins minted by the server expire, so the
 * answer is kept only until shortly before `expires_at`; a failed fetch is retried next
 * time.
 * @param {{ iceTransportPolicy?: 'all'|'relay' }} [options]
 */
export async function rtcConfiguration(options = {}) {
  const stale =
    configExpiresAt !== null && Date.now() / 1000 > configExpiresAt - REFRESH_BEFORE_EXPIRY_S;
  if (stale) configPromise = null;
  configPromise ??= getJson('/api/webrtc').then(
    (body) => {
      configExpiresAt = body.expires_at ?? null;
      return body.ice_servers ?? [];
    },
    (err) => {
      configPromise = null;
      throw err;
    },
  );
  const iceServers = await configPromise;
  return { iceServers, ...options };
}

/** One viewing session: an RTCPeerConnection plus the server-side session resource. */
export class WhepSession {
  /**
   * @param {string} endpoint  the camera's WHEP URL (links.whep)
   * @param {RTCConfiguration} [config]
   */
  constructor(endpoint, config = {}) {
    this.endpoint = endpoint;
    this.pc = new RTCPeerConnection(config);
    this.sessionUrl = null; // absolute URL from the Location header, for DELETE
    this.closed = false;
  }

  /**
   * Negotiate and return the MediaStream carrying the remote video (+ audio) tracks.
   * Rejects with HttpError for HTTP errors, TypeError for network errors.
   */
  async start() {
    const { pc } = this;
    const video = pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    preferH264(video);

    // ontrack fires during setRemoteDescription, so the stream is complete when we return it.
    const stream = new MediaStream();
    pc.addEventListener('track', (event) => stream.addTrack(event.track));

    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, ICE_GATHER_TIMEOUT_MS);
    this.#throwIfClosed();

    const res = await apiFetch(this.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    if (!res.ok) throw await httpError(res);
    const location = res.headers.get('Location');
    if (location) this.sessionUrl = new URL(location, res.url).href;
    const answer = await res.text();

    // close() may have been called while the POST was in flight: the server session
    // now exists, so end it instead of leaking it until the server times it out.
    if (this.closed) await this.#deleteSession();
    this.#throwIfClosed();

    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return stream;
  }

  /**
   * DELETE the server session, then close the peer connection (safe to call twice).
   * DELETE goes first: closing the pc first makes the server end the session on its own,
   * and the DELETE would then find nothing (404).
   */
  close() {
    if (this.closed) return;
    this.closed = true;
    const { pc } = this;
    const timer = setTimeout(() => pc.close(), DELETE_GRACE_MS); // server not answering
    this.#deleteSession().finally(() => {
      clearTimeout(timer);
      pc.close();
    });
  }

  /** @returns {Promise<void>} settles when the DELETE is done (never rejects) */
  async #deleteSession() {
    const url = this.sessionUrl;
    this.sessionUrl = null;
    if (!url) return;
    try {
      // keepalive lets the request outlive the page (pagehide / unload).
      await apiFetch(url, { method: 'DELETE', keepalive: true });
    } catch {
      // The session ends on the server anyway once ICE times out.
    }
  }

  #throwIfClosed() {
    if (this.closed) throw new DOMException('WHEP session closed', 'AbortError');
  }
}

/** Put H.264 first in the codec list (the server sends H.264), keeping the others after it. */
function preferH264(transceiver) {
  if (typeof transceiver.setCodecPreferences !== 'function') return;
  const codecs = globalThis.RTCRtpReceiver?.getCapabilities?.('video')?.codecs;
  if (!codecs?.length) return;
  const isH264 = (codec) => codec.mimeType.toLowerCase() === 'video/h264';
  const ordered = [...codecs.filter(isH264), ...codecs.filter((codec) => !isH264(codec))];
  try {
    transceiver.setCodecPreferences(ordered);
  } catch {
    // Not fatal: the browser's default order still includes H.264.
  }
}

/** Resolve when ICE gathering is complete, or after timeoutMs with whatever we have. */
function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onStateChange);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const onStateChange = () => {
      if (pc.iceGatheringState === 'complete') finish();
    };
    const onCandidate = (event) => {
      if (!event.candidate) finish(); // a null candidate marks the end of gathering
    };
    const timer = setTimeout(finish, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onStateChange);
    pc.addEventListener('icecandidate', onCandidate);
  });
}
