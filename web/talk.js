// Push-to-talk: while the tile's talk button is held, this device's microphone goes to the
// camera's speaker as its own WHIP-style session (POST .../talk with an offer that sends
// one audio track, DELETE to end). Browsers give the microphone only to secure pages
// (HTTPS, or http://localhost). One talker per camera: the server refuses a second (409)
// and says who is talking; the live channel's `talk` messages keep everyone's tiles told.

import { apiFetch, httpError } from '/http.js';
import { rtcConfiguration } from '/whep.js';

const ICE_GATHER_TIMEOUT_MS = 2000;

export class TalkSession {
  #endpoint;
  #stream = null;
  #pc = null;
  #url = null;
  #closed = false;

  /** @param {string} endpoint  the camera's links.talk */
  constructor(endpoint) {
    this.#endpoint = endpoint;
  }

  /** Open the microphone and start talking; rejects with HttpError or a media error. */
  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error('The microphone needs a secure page (HTTPS or localhost).');
    }
    this.#stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    this.#throwIfClosed();
    const pc = new RTCPeerConnection(await rtcConfiguration());
    this.#pc = pc;
    for (const track of this.#stream.getAudioTracks()) {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [this.#stream] });
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    this.#throwIfClosed();
    const res = await apiFetch(this.#endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    if (!res.ok) throw await httpError(res);
    this.#url = new URL(res.headers.get('Location'), res.url).href;
    const answer = await res.text();
    if (this.#closed) {
      await this.#delete();
      this.#throwIfClosed();
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  /** Stop talking: end the server session, release the microphone (safe to call twice). */
  async stop() {
    if (this.#closed) return;
    this.#closed = true;
    await this.#delete();
    this.#pc?.close();
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
  }

  async #delete() {
    const url = this.#url;
    this.#url = null;
    if (!url) return;
    try {
      await apiFetch(url, { method: 'DELETE', keepalive: true });
    } catch {
      // The server ends it anyway when the peer goes away.
    }
  }

  #throwIfClosed() {
    if (this.#closed) throw new DOMException('talk session closed', 'AbortError');
  }
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ICE_GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * Wire a hold-to-talk button. `onState(state, detail)`: 'idle' | 'starting' | 'talking' |
 * 'refused'.
 */
export function holdToTalk(button, endpoint, onState) {
  let session = null;
  const begin = async (event) => {
    event.preventDefault();
    if (session) return;
    const current = new TalkSession(endpoint);
    session = current;
    onState('starting', null);
    try {
      await current.start();
      if (session === current) onState('talking', null);
    } catch (err) {
      if (session === current) session = null;
      await current.stop();
      if (err?.name !== 'AbortError') onState('refused', err?.message ?? String(err));
    }
  };
  const end = () => {
    const current = session;
    session = null;
    if (!current) return;
    current.stop();
    onState('idle', null);
  };
  button.addEventListener('pointerdown', begin);
  for (const type of ['pointerup', 'pointercancel', 'pointerleave']) {
    button.addEventListener(type, end);
  }
  button.addEventListener('keydown', (event) => {
    if ((event.key === ' ' || event.key === 'Enter') && !event.repeat) begin(event);
  });
  button.addEventListener('keyup', (event) => {
    if (event.key === ' ' || event.key === 'Enter') end();
  });
  return { stop: end };
}
