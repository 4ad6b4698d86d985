// The motion tuner's scales, pure: the two sliders a person moves and the detector's
// settings behind them, and the tuner stream's changed-pixel bitmap (docs/api.md).

// Sensitivity 1..100 is the pixel threshold turned round: 100 counts a change of 1 level,
// 1 needs 100 levels (the default threshold 25 is sensitivity 76).
export const thresholdOf = (sensitivity) =>
  101 - Math.min(100, Math.max(1, Math.round(sensitivity)));
export const sensitivityOf = (threshold) => Math.min(100, Math.max(1, 101 - threshold));

// The smallest object, as a share of the picture, on a logarithmic slider 0..100:
// 0.01 % (a far bird) to 10 % (a car close by); the default 0.1 % sits at a third.
const AREA_MIN_EXP = -4;
const AREA_SPAN_EXP = 3;

export function minAreaOf(slider) {
  const value = 10 ** (AREA_MIN_EXP + (AREA_SPAN_EXP * Math.min(100, Math.max(0, slider))) / 100);
  return Number(value.toPrecision(2));
}

export function sliderOf(minArea) {
  if (!(minArea > 0)) return 0;
  const position = ((Math.log10(minArea) - AREA_MIN_EXP) / AREA_SPAN_EXP) * 100;
  return Math.min(100, Math.max(0, Math.round(position * 10) / 10));
}

/** A share of the picture in words: 0.001 -> '0.1 %'. */
export function percent(share) {
  const value = share * 100;
  const digits = value >= 10 ? 0 : value >= 1 ? 1 : value >= 0.1 ? 2 : 3;
  return `${value.toFixed(digits)} %`;
}

/** The tuner's bitmap (base64, 8 pixels a byte, row by row) as one 0/1 byte per pixel. */
export function unpackBits(base64, width, height) {
  const out = new Uint8Array(width * height);
  if (!base64) return out;
  const bytes = atob(base64);
  for (let i = 0; i < out.length; i += 1) {
    out[i] = (bytes.charCodeAt(i >> 3) >> (7 - (i & 7))) & 1;
  }
  return out;
}

/** How far the score is towards the smallest object (1 = enough to count), for a bar. */
export function scoreShare(score, minArea) {
  if (!(minArea > 0)) return score > 0 ? 1 : 0;
  return Math.min(2, score / minArea) / 2; // the bar's middle is the line to cross
}
