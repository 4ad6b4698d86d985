// The recordings view's timeline on screen (.timeline-wrap and the zoom menu): the part of
// the period it shows (zoom, earlier/later), the covered ranges, clips, event marks, labels
// and the cursor drawn there, and taps and keys turned into moments to play. The maths are
// timeline.js's; what is drawn and what a chosen moment plays are the owner's business.

import { formatClock, formatDay, parseTime } from '/format.js';
import {
  ZOOMS,
  clampViewStart,
  clampZoom,
  followStart,
  fractionAt,
  keyMoment,
  momentAt,
  placeRange,
  startingIn,
  timelineLabels,
  viewSpan,
  visibleRanges,
} from '/timeline.js';

const KEY_PLAY_DELAY_MS = 450; // arrow keys move the moment; it plays once they rest

export class TimelineTrack {
  /** The moment chosen or shown (ms), or null. */
  cursor = null;

  #els = {};
  #range = { start: 0, end: 0 };
  #zoom = 0;
  #viewStart = 0;
  #keyTimer = 0;
  #onPick;
  #onChange;
  #lastRecorded;

  /**
   * @param {HTMLElement} root  the recordings view (holds the timeline and the zoom menu)
   * @param {object} options
   * @param {(ms: number) => void} options.onPick  a moment was chosen: play it
   * @param {() => void} options.onChange  the part shown changed: draw() again
   * @param {() => void} options.onResize  the track's width changed (labels to redo)
   * @param {() => boolean} options.visible  whether the view is open
   * @param {() => number|null} options.lastRecorded  where the recordings end (keys, zoom)
   */
  constructor(root, { onPick, onChange, onResize, visible, lastRecorded }) {
    this.#onPick = onPick;
    this.#onChange = onChange;
    this.#lastRecorded = lastRecorded;
    const $ = (selector) => root.querySelector(selector);
    for (const [key, selector] of Object.entries({
      zoom: '.rec-zoom',
      timeline: '.timeline',
      track: '.tl-track',
      ranges: '.tl-ranges',
      clipRanges: '.tl-clips',
      markers: '.tl-events',
      cursor: '.tl-cursor',
      labels: '.tl-labels',
      earlier: '.rec-earlier',
      later: '.rec-later',
    })) {
      this.#els[key] = $(selector);
    }
    ZOOMS.forEach((zoom, index) => this.#els.zoom.append(new Option(zoom.label, String(index))));
    this.#els.zoom.addEventListener('change', () => this.#setZoom(Number(this.#els.zoom.value)));
    this.#els.earlier.addEventListener('click', () => this.#pan(-0.5));
    this.#els.later.addEventListener('click', () => this.#pan(0.5));
    this.#els.timeline.addEventListener('click', (event) => this.#onClick(event));
    this.#els.timeline.addEventListener('keydown', (event) => this.#onKey(event));
    // The labels depend on the timeline's width (phone turned, window resized).
    let lastWidth = 0;
    new ResizeObserver(() => {
      const width = this.#els.track.clientWidth;
      if (width && width !== lastWidth && visible()) {
        lastWidth = width;
        onResize();
      }
    }).observe(this.#els.track);
  }

  /** What the track shows: {start, span}. */
  get view() {
    return { start: this.#viewStart, span: viewSpan(this.#zoom, this.#range) };
  }

  /** Back to the widest zoom and no moment chosen (another camera). */
  reset() {
    this.cursor = null;
    this.#zoom = 0;
    this.#els.zoom.value = '0';
  }

  /** The period is now RANGE: the part shown stays where it was, inside it. */
  setRange(range) {
    this.#range = range;
    this.#clampView(this.#viewStart);
  }

  /** The last 24 hours moved on to RANGE: a track showing the end keeps showing it. */
  slide(range) {
    const followingEnd = this.#viewStart + ZOOMS[this.#zoom].span >= this.#range.end - 1000;
    this.#range = range;
    this.#clampView(followingEnd ? Infinity : this.#viewStart);
  }

  /** Keep the cursor on screen when zoomed in: centred, or ahead of it while it plays on. */
  follow(center) {
    if (this.cursor === null) return;
    const start = followStart(this.cursor, this.#viewStart, this.#zoom, center);
    if (start === null) return;
    this.#clampView(start);
    this.#onChange();
  }

  /** The view is closing: a moment chosen with the keys is not played any more. */
  stop() {
    clearTimeout(this.#keyTimer);
  }

  /** Draw the covered RANGES and CLIPRANGES ([[from, to], ...]) and the EVENTS' marks. */
  draw(ranges, clipRanges, events) {
    const view = this.view;
    const viewEnd = view.start + view.span;
    const spans = (className, list) =>
      visibleRanges(list, view).map(([a, b]) => {
        const el = document.createElement('span');
        el.className = className;
        const place = placeRange(a, b, view);
        el.style.setProperty('--from', String(place.from));
        el.style.setProperty('--width', String(place.width));
        return el;
      });
    this.#els.ranges.replaceChildren(...spans('tl-range', ranges));
    this.#els.clipRanges.replaceChildren(...spans('tl-clip', clipRanges));
    this.#els.markers.replaceChildren(
      ...startingIn(events, view).map((event) => {
        const el = document.createElement('span');
        el.className = `tl-event kind-${event.kind}`;
        el.style.setProperty('--from', String(fractionAt(parseTime(event.start), view)));
        return el;
      }),
    );

    // Labels every tick, in local time, as many as fit.
    this.#els.labels.replaceChildren(
      ...timelineLabels(view, this.#els.track.clientWidth).map((label) => {
        const el = document.createElement('span');
        el.className = 'tl-label';
        el.textContent = label.text;
        el.style.setProperty('--from', String(label.from));
        return el;
      }),
    );

    // The slider's numbers: seconds into the range.
    const timeline = this.#els.timeline;
    const { earlier, later } = this.#els;
    timeline.setAttribute('aria-valuemin', '0');
    timeline.setAttribute('aria-valuemax', String(Math.round(view.span / 1000)));
    earlier.disabled = view.start <= this.#range.start;
    later.disabled = viewEnd >= this.#range.end;
    earlier.hidden = later.hidden = view.span >= this.#range.end - this.#range.start;
    timeline.dataset.start = String(view.start);
    timeline.dataset.span = String(view.span);
    this.renderCursor();
  }

  renderCursor() {
    const cursor = this.#els.cursor;
    const view = this.view;
    const at = this.cursor;
    const inside = at !== null && at >= view.start && at <= view.start + view.span;
    cursor.hidden = !inside;
    if (inside) cursor.style.setProperty('--from', String(fractionAt(at, view)));
    const timeline = this.#els.timeline;
    if (at !== null) {
      timeline.setAttribute('aria-valuenow', String(Math.round((at - view.start) / 1000)));
      timeline.setAttribute('aria-valuetext', `${formatDay(at)} ${formatClock(at)}`);
    } else {
      timeline.setAttribute('aria-valuenow', '0');
      timeline.setAttribute('aria-valuetext', 'No moment chosen');
    }
  }

  #setZoom(index) {
    const zoom = clampZoom(index);
    this.#zoom = zoom;
    this.#els.zoom.value = String(zoom);
    const center = this.cursor ?? this.#lastRecorded() ?? this.#range.end;
    this.#clampView(center - ZOOMS[zoom].span / 2);
    this.#onChange();
  }

  #pan(fraction) {
    this.#clampView(this.#viewStart + fraction * ZOOMS[this.#zoom].span);
    this.#onChange();
  }

  #clampView(start) {
    this.#viewStart = clampViewStart(start, this.#zoom, this.#range);
  }

  #onClick(event) {
    const rect = this.#els.track.getBoundingClientRect();
    const ms = momentAt(event.clientX - rect.left, rect.width, this.view);
    if (ms === null) return;
    this.#els.timeline.focus({ preventScroll: true });
    this.#onPick(ms);
  }

  #onKey(event) {
    const last = this.#lastRecorded();
    const from = this.cursor ?? last ?? this.#range.end;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      clearTimeout(this.#keyTimer);
      this.#onPick(from);
      return;
    }
    const target = keyMoment(event.key, from, this.view.span, this.#range, last);
    if (target === null) return;
    event.preventDefault();
    this.cursor = target;
    this.renderCursor();
    this.follow(false);
    clearTimeout(this.#keyTimer);
    this.#keyTimer = setTimeout(() => this.#onPick(target), KEY_PLAY_DELAY_MS);
  }
}
