// The recordings timeline's maths: the period shown, zoom levels, where moments and ranges
// sit on the track, label spacing, merging segments into covered ranges, and finding the
// recording that plays a moment.
//
// Pure on purpose (no DOM, no fetch, no clock, no state): callers pass "now" (the server's
// time, LiveClient.serverNow()) and the track's width. The only environment it reads is the
// local time zone, as the dashboard shows local time. Unit-tested in node (tests/js/).
//
// Times are ms since the epoch; a "range" is {start, end}; a "view" is {start, span}: the
// part of the range the track shows. Recordings are the API's objects ({id, start, end,
// duration, state, kind}, ISO times).

import { formatClock, formatHourMinute, parseTime } from '/format.js';

export const HOUR_MS = 3600 * 1000;
export const DAY_MS = 24 * HOUR_MS;
/** Zoom levels: how much time the timeline spans. */
export const ZOOMS = [
  { span: DAY_MS, label: '24 hours' },
  { span: 4 * HOUR_MS, label: '4 hours' },
  { span: HOUR_MS, label: '1 hour' },
  { span: 10 * 60 * 1000, label: '10 minutes' },
  { span: 2 * 60 * 1000, label: '2 minutes' },
];
/** Label spacing: the finest of these that leaves each label room on the screen. */
export const TICKS = [
  10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
].map((seconds) => seconds * 1000);
const LABEL_PX = 64; // room for "12:45" / "12:45 PM"
const LABEL_SECONDS_PX = 88; // and for "12:45:30 PM"
const LABEL_EDGE = 0.05; // no label this close to either end (it would be cut)
const FALLBACK_WIDTH_PX = 320; // a track not laid out yet
export const MERGE_GAP_MS = 3000; // segments this close draw as one covered range
export const AT_END_TOLERANCE_MS = 1500; // a moment just past a segment's last frame still plays it
/** Timeline keys and how far they move the moment: the span shown divided by this. */
const KEY_STEPS = {
  ArrowLeft: -48,
  ArrowRight: 48,
  ArrowDown: -48,
  ArrowUp: 48,
  PageDown: -8,
  PageUp: 8,
};

// ---- recordings ------------------------------------------------------------------------

/** When a recording ends (ms): its last frame, or NOW while it is being written. */
export function recordingEnd(recording, now) {
  const end = parseTime(recording.end);
  if (Number.isFinite(end)) return end;
  const start = parseTime(recording.start);
  if (recording.state === 'recording') return Math.max(start, now);
  return start + (recording.duration || 0) * 1000;
}

/** Sort order of the lists: oldest first, ties by id. */
export function byStart(a, b) {
  return parseTime(a.start) - parseTime(b.start) || a.id - b.id;
}

/** [[from, to], ...] sorted and joined where they touch (within GAP ms); drops non-finite. */
export function mergeRanges(spans, gap = MERGE_GAP_MS) {
  const sorted = spans
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
    .sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a - last[1] <= gap) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The merged [[from, to], ...] that RECORDINGS cover. */
export function coveredRanges(recordings, now) {
  return mergeRanges(recordings.map((item) => [parseTime(item.start), recordingEnd(item, now)]));
}

/** How much of RANGE the covered RANGES fill (ms). */
export function coveredLength(ranges, range) {
  return ranges.reduce(
    (sum, [a, b]) => sum + (Math.min(b, range.end) - Math.max(a, range.start)),
    0,
  );
}

/** The segment covering MS (up to AT_END_TOLERANCE_MS past its end), or undefined. */
export function segmentAt(segments, ms, now) {
  return segments.find(
    (item) => parseTime(item.start) <= ms && ms <= recordingEnd(item, now) + AT_END_TOLERANCE_MS,
  );
}

/** The clip covering MS, or undefined. */
export function clipAt(clips, ms, now) {
  return clips.find((item) => parseTime(item.start) <= ms && ms <= recordingEnd(item, now));
}

/** The first of LIST (oldest first) that starts after MS, or undefined. */
export function firstAfter(list, ms) {
  return list.find((item) => parseTime(item.start) > ms);
}

/** The segment after CURRENT in SEGMENTS (oldest first; same start: the higher id), or null. */
export function nextSegment(segments, current) {
  const start = parseTime(current.start);
  return (
    segments.find(
      (item) =>
        parseTime(item.start) > start || (parseTime(item.start) === start && item.id > current.id),
    ) ?? null
  );
}

/** What plays the moment MS: the segment covering it, else the clip covering it, else the
 * next segment from its start (later: true); null when nothing does. OFFSET: seconds into
 * the recording. */
export function playbackAt(ms, segments, clips, now) {
  const into = (recording) => Math.max(0, (ms - parseTime(recording.start)) / 1000);
  const covering = segmentAt(segments, ms, now) ?? clipAt(clips, ms, now);
  if (covering) return { recording: covering, offset: into(covering), later: false };
  const next = firstAfter(segments, ms);
  return next ? { recording: next, offset: 0, later: true } : null;
}

/** Where the last recording (segments, else clips) ends, or null when there is none. */
export function lastRecorded(segments, clips, now) {
  const last = segments.at(-1) ?? clips.at(-1);
  return last ? recordingEnd(last, now) : null;
}

// ---- the period and the view ----------------------------------------------------------

/** YYYY-MM-DD of a moment, in local time (what <input type="date"> holds). */
export function localDay(ms) {
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The period shown: the local day DAY (YYYY-MM-DD; 23 to 25 hours with DST), or with
 * DAY '' the last 24 hours up to NOW. */
export function periodRange(day, now) {
  if (!day) return { start: now - DAY_MS, end: now };
  const [y, m, d] = day.split('-').map(Number);
  return { start: new Date(y, m - 1, d).getTime(), end: new Date(y, m - 1, d + 1).getTime() };
}

/** ZOOM clamped to a valid zoom level index. */
export function clampZoom(zoom) {
  return Math.max(0, Math.min(ZOOMS.length - 1, zoom));
}

/** How much time the track shows at ZOOM: the zoom's span, at most the whole RANGE. */
export function viewSpan(zoom, range) {
  return Math.min(ZOOMS[zoom].span, range.end - range.start);
}

/** Where the view starts when asked to start at START: inside RANGE (a non-finite START:
 * at the end of it). */
export function clampViewStart(start, zoom, range) {
  const max = range.end - viewSpan(zoom, range);
  return Math.max(range.start, Math.min(max, Number.isFinite(start) ? start : max));
}

/** Where the view should start to keep CURSOR on screen (centred, or near the left edge
 * while it plays on), or null when it is on screen already. ZOOMS' span, not the view's:
 * as the recordings view always did. */
export function followStart(cursor, viewStart, zoom, center) {
  const span = ZOOMS[zoom].span;
  if (cursor >= viewStart && cursor <= viewStart + span) return null;
  return center ? cursor - span / 2 : cursor - span * 0.1;
}

// ---- time <-> position on the track -----------------------------------------------------

/** The fraction of the track (0 left, 1 right; outside: beyond the ends) where MS is. */
export function fractionAt(ms, view) {
  return (ms - view.start) / view.span;
}

/** The moment at X px from the left of a track WIDTH px wide (clamped to the track), or
 * null when the track has no width (not laid out). */
export function momentAt(x, width, view) {
  if (!width) return null;
  const fraction = Math.max(0, Math.min(1, x / width));
  return view.start + fraction * view.span;
}

/** A range's place on the track, clamped to it: {from, width}, fractions of the track. */
export function placeRange(from, to, view) {
  const left = Math.max(0, fractionAt(from, view));
  const right = Math.min(1, fractionAt(to, view));
  return { from: left, width: Math.max(0, right - left) };
}

/** The ranges of [[from, to], ...] that show (even partly) in VIEW. */
export function visibleRanges(ranges, view) {
  const end = view.start + view.span;
  return ranges.filter(([a, b]) => b >= view.start && a <= end);
}

/** The items whose start shows in VIEW (events: their marks). */
export function startingIn(items, view) {
  const end = view.start + view.span;
  return items.filter((item) => {
    const at = parseTime(item.start);
    return at >= view.start && at <= end;
  });
}

/** The label spacing (ms) for a track WIDTH px wide showing SPAN: the finest tick that
 * leaves each label room; the coarsest when none does. */
export function tickStep(span, width) {
  const room = (step) => (step < 60 * 1000 ? LABEL_SECONDS_PX : LABEL_PX);
  return TICKS.find((step) => (span / step) * room(step) <= width) ?? TICKS.at(-1);
}

/** The track's labels: [{at, from, text}], every tick in local time (aligned with the
 * time zone offset at the view's start), none too close to either end. WIDTH: the track's
 * width in px (0: not laid out yet, assume a phone's). */
export function timelineLabels(view, width) {
  const tick = tickStep(view.span, width || FALLBACK_WIDTH_PX);
  const viewEnd = view.start + view.span;
  const offset = new Date(view.start).getTimezoneOffset() * 60 * 1000;
  const labels = [];
  for (let t = Math.ceil((view.start - offset) / tick) * tick + offset; t <= viewEnd; t += tick) {
    const from = fractionAt(t, view);
    if (from < LABEL_EDGE || from > 1 - LABEL_EDGE) continue;
    labels.push({ at: t, from, text: tick >= 60 * 1000 ? formatHourMinute(t) : formatClock(t) });
  }
  return labels;
}

// ---- choosing a moment ----------------------------------------------------------------

/** Where a timeline key moves the moment FROM: clamped to RANGE; null for other keys.
 * SPAN: the time shown; LAST: where the recordings end (End goes there), or null. */
export function keyMoment(key, from, span, range, last) {
  let target;
  if (Object.hasOwn(KEY_STEPS, key)) target = from + span / KEY_STEPS[key];
  else if (key === 'Home') target = range.start;
  else if (key === 'End') target = last ?? range.end;
  else return null;
  return Math.max(range.start, Math.min(range.end, target));
}

/** The moment a time of day VALUE ("HH:MM" or "HH:MM:SS", local) names in the period:
 * on the day DAY, or with DAY '' the latest such moment in RANGE (today or the day before).
 * Null when it falls outside RANGE. */
export function timeOfDay(value, day, range) {
  const [h, m, s = 0] = value.split(':').map(Number);
  const { start, end } = range;
  for (let back = 0; back <= 1; back += 1) {
    const date = new Date(day ? start : end);
    if (!day) date.setDate(date.getDate() - back);
    date.setHours(h, m, Math.floor(s), 0);
    const ms = date.getTime();
    if (ms >= start && ms <= end) return ms;
    if (day) break;
  }
  return null;
}
