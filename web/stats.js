// WebRTC statistics: a one-shot reader (used by the stall watchdog) and the per-tile
// overlay that samples pc.getStats() once a second.

const SAMPLE_MS = 1000;

/** The stats we need from one getStats() report: video inbound-rtp, selected pair, codec. */
export async function readVideoStats(pc) {
  if (!pc || pc.connectionState === 'closed') return null;
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return null; // the connection was closed while we asked
  }
  let inbound = null;
  let transport = null;
  const pairs = [];
  report.forEach((stat) => {
    if (stat.type === 'inbound-rtp' && stat.kind === 'video') inbound = stat;
    else if (stat.type === 'transport') transport = stat;
    else if (stat.type === 'candidate-pair') pairs.push(stat);
  });
  const pair =
    (transport?.selectedCandidatePairId && report.get(transport.selectedCandidatePairId)) ||
    pairs.find((p) => p.selected) ||
    pairs.find((p) => p.nominated && p.state === 'succeeded') ||
    null;
  const codec = inbound?.codecId ? report.get(inbound.codecId) : null;
  const local = pair?.localCandidateId ? report.get(pair.localCandidateId) : null;
  const remote = pair?.remoteCandidateId ? report.get(pair.remoteCandidateId) : null;
  return { inbound, pair, codec, local, remote };
}

/** Overlay listing live stream numbers; only samples while open. */
export class StatsOverlay {
  #el;
  #getPc;
  #getLatency;
  #timer = 0;
  #prev = null; // previous inbound-rtp sample, for per-second deltas
  #prevPc = null;
  #cells = new Map();

  /**
   * @param {HTMLElement} el          a <dl> to fill
   * @param {() => RTCPeerConnection|null} getPc
   * @param {() => number|null} getLatency  recent glass-to-glass latency in ms
   */
  constructor(el, getPc, getLatency) {
    this.#el = el;
    this.#getPc = getPc;
    this.#getLatency = getLatency;
    for (const label of [
      'Resolution',
      'Frame rate',
      'Bitrate',
      'Codec',
      'Round trip',
      'Jitter buffer',
      'Dropped',
      'Latency',
    ]) {
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = label;
      dd.textContent = '—';
      el.append(dt, dd);
      this.#cells.set(label, dd);
    }
  }

  get isOpen() {
    return this.#timer !== 0;
  }

  open() {
    if (this.isOpen) return;
    this.#el.hidden = false;
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#sample();
  }

  close() {
    clearInterval(this.#timer);
    this.#timer = 0;
    this.#el.hidden = true;
    this.#prev = null;
  }

  async #sample() {
    const pc = this.#getPc();
    if (pc !== this.#prevPc) {
      this.#prev = null; // new session: deltas would span two connections
      this.#prevPc = pc;
    }
    const stats = await readVideoStats(pc);
    if (!this.isOpen) return;
    this.#render(stats?.inbound ?? null, stats?.pair ?? null, stats?.codec ?? null);
    this.#prev = stats?.inbound ?? null;
  }

  #render(inbound, pair, codec) {
    const prev = this.#prev;
    const seconds = prev && inbound ? (inbound.timestamp - prev.timestamp) / 1000 : 0;
    const emitted =
      prev && inbound ? inbound.jitterBufferEmittedCount - prev.jitterBufferEmittedCount : 0;
    const latency = this.#getLatency();

    this.#set(
      'Resolution',
      inbound?.frameWidth ? `${inbound.frameWidth}×${inbound.frameHeight}` : null,
    );
    this.#set(
      'Frame rate',
      inbound?.framesPerSecond != null ? `${Math.round(inbound.framesPerSecond)} fps` : null,
    );
    this.#set(
      'Bitrate',
      seconds > 0
        ? formatBitrate(((inbound.bytesReceived - prev.bytesReceived) * 8) / seconds)
        : null,
    );
    this.#set('Codec', codec?.mimeType ? codec.mimeType.replace(/^video\//, '') : null);
    this.#set(
      'Round trip',
      pair?.currentRoundTripTime != null
        ? `${Math.round(pair.currentRoundTripTime * 1000)} ms`
        : null,
    );
    this.#set(
      'Jitter buffer',
      emitted > 0
        ? `${Math.round(((inbound.jitterBufferDelay - prev.jitterBufferDelay) / emitted) * 1000)} ms`
        : null,
    );
    this.#set('Dropped', inbound?.framesDropped != null ? String(inbound.framesDropped) : null);
    this.#set('Latency', latency != null ? `${Math.round(latency)} ms` : null);
  }

  #set(label, text) {
    this.#cells.get(label).textContent = text ?? '—';
  }
}

function formatBitrate(bitsPerSecond) {
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`;
  return `${Math.round(bitsPerSecond / 1e3)} kbit/s`;
}
