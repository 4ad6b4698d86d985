// Glass-to-glass latency from the demo camera's timestamp strip.
//
// The demo camera paints 40 square blocks along the top edge of every frame, starting at
// (0, 0), each floor(width / 40) px wide (same rule as camera/demo.py). Block i from the
// left is bit (39 - i) - most significant first - white = 1, black = 0. The 40-bit value is
// Unix time in ms modulo 2^40 at capture. 2^40 < 2^53, so plain Numbers are exact.

const BITS = 40;
const MODULO = 2 ** BITS;
const MAX_PLAUSIBLE_MS = 10000; // anything else is "no timestamp" (e.g. a real camera)
const KEEP_MEASUREMENTS = 10000;

/** True when latency should be measured regardless of the stats overlay (?measure=1). */
export function measurementForced() {
  return window.sentrycamLatency === true;
}

/** Enable forced measurement when the page URL carries ?measure=1. */
export function initMeasurementFromUrl() {
  if (new URLSearchParams(location.search).get('measure') === '1') {
    window.sentrycamLatency = true;
  }
}

/** Reads the 40-bit timestamp from the current frame of a <video>. One per video element. */
export class TimestampReader {
  #canvas = null;
  #ctx = null;

  /** @returns {number|null} the raw 40-bit value, or null if the frame is too small */
  read(video) {
    const width = video.videoWidth;
    const block = Math.floor(width / BITS);
    if (block < 1 || video.videoHeight < block) return null;
    const ctx = this.#context(width, block);
    // Only the strip is needed: copy the top `block` rows of the frame.
    ctx.drawImage(video, 0, 0, width, block, 0, 0, width, block);
    const centre = Math.floor(block / 2);
    const row = ctx.getImageData(0, centre, width, 1).data;
    let value = 0;
    for (let i = 0; i < BITS; i += 1) {
      const o = (i * block + centre) * 4;
      const luma = 0.299 * row[o] + 0.587 * row[o + 1] + 0.114 * row[o + 2];
      value = value * 2 + (luma > 128 ? 1 : 0);
    }
    return value;
  }

  #context(width, height) {
    if (!this.#canvas) {
      this.#canvas =
        typeof OffscreenCanvas === 'function'
          ? new OffscreenCanvas(width, height)
          : document.createElement('canvas');
    }
    if (this.#canvas.width !== width || this.#canvas.height !== height) {
      this.#canvas.width = width;
      this.#canvas.height = height;
      this.#ctx = null; // resizing resets the context state
    }
    this.#ctx ??= this.#canvas.getContext('2d', { willReadFrequently: true, alpha: false });
    return this.#ctx;
  }
}

/**
 * Milliseconds from capture (stamp) to nowMs, across the 2^40 wrap.
 * @returns {number|null} null when outside 0..10000 ms (no valid timestamp)
 */
export function latencyFromStamp(stamp, nowMs) {
  let diff = (nowMs % MODULO) - stamp;
  if (diff < -MODULO / 2) diff += MODULO;
  else if (diff > MODULO / 2) diff -= MODULO;
  return diff >= 0 && diff <= MAX_PLAUSIBLE_MS ? diff : null;
}

/** Append to the public measurement list, keeping only the last KEEP_MEASUREMENTS. */
export function recordLatency(list, ms) {
  list.push(ms);
  if (list.length > KEEP_MEASUREMENTS) list.splice(0, list.length - KEEP_MEASUREMENTS);
}
