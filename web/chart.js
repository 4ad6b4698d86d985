// A camera's activity over the last 24 h (GET /api/cameras/{id}/activity): events per hour
// as stacked bars by kind on a <canvas>, with a small legend. Shown in the full view;
// refreshed (debounced) when that camera's events arrive.

import { getJson, UnauthorizedError } from '/http.js';
import { KINDS, kindLabel } from '/format.js';

const HOURS = 24;
const REFRESH_DEBOUNCE_MS = 2500;
const REFRESH_EVERY_MS = 5 * 60 * 1000; // the hour buckets move on even when nothing happens
const PAD = { top: 8, right: 4, bottom: 18, left: 26 };

export class ActivityChart {
  #cameraId;
  #canvas;
  #legend;
  #data = null;
  #visible = false;
  #timer = 0;
  #periodic = 0;
  #loading = false;
  #again = false;
  #resize;

  /**
   * @param {HTMLElement} section  .tile-activity (holds the canvas and the legend)
   * @param {string} cameraId
   */
  constructor(section, cameraId) {
    this.#cameraId = cameraId;
    this.#canvas = section.querySelector('canvas');
    this.#legend = section.querySelector('.activity-legend');
    this.#canvas.dataset.testid = `activity-${cameraId}`;
    this.#resize = new ResizeObserver(() => this.#draw());
  }

  show() {
    if (this.#visible) return;
    this.#visible = true;
    this.#resize.observe(this.#canvas);
    this.#load();
    this.#periodic = setInterval(() => this.#load(), REFRESH_EVERY_MS);
  }

  hide() {
    this.#visible = false;
    this.#resize.disconnect();
    clearTimeout(this.#timer);
    clearInterval(this.#periodic);
  }

  /** Something happened on this camera: reload soon (many events make one request). */
  refreshSoon() {
    if (!this.#visible) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#load(), REFRESH_DEBOUNCE_MS);
  }

  async #load() {
    if (this.#loading) {
      this.#again = true;
      return;
    }
    this.#loading = true;
    try {
      const url = `/api/cameras/${encodeURIComponent(this.#cameraId)}/activity?hours=${HOURS}`;
      this.#data = await getJson(url);
      this.#renderLegend();
      this.#draw();
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) {
        this.#canvas.setAttribute('aria-label', 'The activity could not be loaded');
      }
    } finally {
      this.#loading = false;
    }
    if (this.#again && this.#visible) {
      this.#again = false;
      this.#load();
    }
  }

  #renderLegend() {
    const totals = kindTotals(this.#data?.counts ?? {});
    const sum = totals.reduce((a, [, total]) => a + total, 0);
    this.#canvas.dataset.total = String(sum);
    const items = totals.map(([kind, total]) => {
      const item = document.createElement('li');
      item.className = `kind-${kind}`;
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.setAttribute('aria-hidden', 'true');
      item.append(swatch, `${kindLabel(kind)} ${total}`);
      return item;
    });
    if (!items.length) {
      const item = document.createElement('li');
      item.className = 'activity-none';
      item.textContent = 'No events';
      items.push(item);
    }
    this.#legend.replaceChildren(...items);
    this.#canvas.setAttribute('aria-label', activityLabel(totals));
  }

  #draw() {
    const canvas = this.#canvas;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!this.#visible || !this.#data || width === 0 || height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const style = getComputedStyle(canvas);
    const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    const muted = color('--muted', '#9aa0a6');
    const grid = color('--surface-2', '#22262e');
    const hours = this.#data.hours ?? [];
    const counts = this.#data.counts ?? {};
    const slots = hours.length || HOURS;
    const top = niceMax(Math.max(0, ...slotTotals(counts, slots)));
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const y = (value) => PAD.top + plotH - (value / top) * plotH;

    // Grid lines and the y scale.
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    ctx.lineWidth = 1;
    for (const value of [0, top / 2, top]) {
      if (value !== Math.round(value)) continue;
      const lineY = Math.round(y(value)) + 0.5;
      ctx.strokeStyle = grid;
      ctx.beginPath();
      ctx.moveTo(PAD.left, lineY);
      ctx.lineTo(width - PAD.right, lineY);
      ctx.stroke();
      ctx.fillStyle = muted;
      ctx.fillText(String(value), PAD.left - 5, lineY);
    }

    // Stacked bars, oldest hour on the left.
    const slot = plotW / slots;
    const barW = Math.max(2, slot * 0.7);
    for (let i = 0; i < slots; i += 1) {
      let value = 0;
      const x = PAD.left + i * slot + (slot - barW) / 2;
      for (const kind of KINDS) {
        const count = counts[kind]?.[i] ?? 0;
        if (!count) continue;
        ctx.fillStyle = color(`--kind-${kind}`, muted);
        const y0 = y(value);
        const y1 = y(value + count);
        ctx.fillRect(x, y1, barW, Math.max(1, y0 - y1 - 1));
        value += count;
      }
    }

    // Hour labels (local time) every 6 hours.
    ctx.fillStyle = muted;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    for (const { index, text } of hourLabels(hours)) {
      ctx.fillText(text, PAD.left + index * slot + slot / 2, height - 4);
    }
  }
}

// ---- the pure parts (unit-tested in node) -------------------------------------------------

/** [[kind, total], ...] of the kinds with events, in KINDS order. COUNTS: {kind: [n, ...]}. */
export function kindTotals(counts) {
  return KINDS.map((kind) => [kind, (counts[kind] ?? []).reduce((a, b) => a + b, 0)]).filter(
    ([, total]) => total > 0,
  );
}

/** The events of every kind in each of SLOTS hours: [n, ...]. */
export function slotTotals(counts, slots) {
  return Array.from({ length: slots }, (_, i) =>
    KINDS.reduce((sum, kind) => sum + (counts[kind]?.[i] ?? 0), 0),
  );
}

/** The chart's accessible name, from kindTotals(). */
export function activityLabel(totals) {
  const words = totals.map(([kind, total]) => `${total} ${kindLabel(kind).toLowerCase()}`);
  return `Events per hour over the last 24 hours: ${words.length ? words.join(', ') : 'none'}`;
}

/** The hour labels under the bars, every 6 hours (local time): [{index, text: "06:00"}]. */
export function hourLabels(hours) {
  const labels = [];
  hours.forEach((iso, index) => {
    const date = new Date(iso);
    if (date.getHours() % 6 !== 0) return;
    labels.push({ index, text: `${String(date.getHours()).padStart(2, '0')}:00` });
  });
  return labels;
}

/** A round upper bound for the y axis: 2, 4, 6, 10, 20, 40, ... (even, so top/2 is whole). */
export function niceMax(value) {
  if (value <= 2) return 2;
  for (const step of [4, 6, 8, 10]) if (value <= step) return step;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 4, 6, 8, 10]) {
    if (value <= factor * magnitude) return factor * magnitude;
  }
  return 10 * magnitude;
}
