// web/timeline.js: the recordings timeline's maths. Local time is Europe/Berlin
// (setup.mjs): 31 March 2024 has 23 hours (02:00 -> 03:00 at 01:00 UTC), 27 October 2024
// has 25 (03:00 -> 02:00 at 01:00 UTC).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  AT_END_TOLERANCE_MS,
  DAY_MS,
  HOUR_MS,
  TICKS,
  ZOOMS,
  byStart,
  clampViewStart,
  clampZoom,
  clipAt,
  coveredLength,
  coveredRanges,
  firstAfter,
  followStart,
  fractionAt,
  keyMoment,
  lastRecorded,
  localDay,
  mergeRanges,
  momentAt,
  nextSegment,
  periodRange,
  placeRange,
  playbackAt,
  recordingEnd,
  segmentAt,
  startingIn,
  tickStep,
  timeOfDay,
  timelineLabels,
  viewSpan,
  visibleRanges,
} from '../../web/timeline.js';

const MIN = 60 * 1000;
const T0 = Date.UTC(2024, 5, 15, 10, 0, 0); // Saturday 15 June 2024, 12:00 in Berlin
const iso = (ms) => new Date(ms).toISOString();

/** A recording as the API lists it: START ms, SECONDS long (end null while recording). */
function rec(id, start, seconds, { kind = 'continuous', state = 'complete' } = {}) {
  const end = state === 'recording' ? null : iso(start + seconds * 1000);
  return { id, kind, state, start: iso(start), end, duration: seconds };
}

describe('recordingEnd', () => {
  test('a finished recording ends at its end', () => {
    assert.equal(recordingEnd(rec(1, T0, 60), T0 + DAY_MS), T0 + 60_000);
  });

  test('one being written ends now, never before its start', () => {
    const live = rec(1, T0, 0, { state: 'recording' });
    assert.equal(recordingEnd(live, T0 + 5000), T0 + 5000);
    assert.equal(recordingEnd(live, T0 - 5000), T0); // our clock behind the server's
  });

  test('without an end it is start + duration (none: the start)', () => {
    assert.equal(recordingEnd({ start: iso(T0), end: null, duration: 2.5 }, 0), T0 + 2500);
    assert.equal(recordingEnd({ start: iso(T0), end: null }, 0), T0);
  });

  test('microsecond ISO times are read to the millisecond', () => {
    const recording = { start: '2024-06-15T10:00:00.123456Z', end: '2024-06-15T10:00:59.999999Z' };
    assert.equal(recordingEnd(recording, 0), T0 + 59_999);
  });
});

describe('mergeRanges', () => {
  test('nothing in, nothing out', () => {
    assert.deepEqual(mergeRanges([]), []);
  });

  test('sorts, and keeps ranges apart past the 3 s gap', () => {
    assert.deepEqual(
      mergeRanges([
        [10_000, 20_000],
        [0, 5_000],
      ]),
      [
        [0, 5_000],
        [10_000, 20_000],
      ],
    );
  });

  test('joins adjacent ranges and ones up to exactly 3 s apart', () => {
    assert.deepEqual(
      mergeRanges([
        [0, 1000],
        [1000, 2000],
        [5000, 6000],
      ]),
      [[0, 6000]],
    );
    assert.deepEqual(
      mergeRanges([
        [0, 1000],
        [4001, 5000],
      ]),
      [
        [0, 1000],
        [4001, 5000],
      ],
    );
  });

  test('an overlapping or contained range does not shrink the merged one', () => {
    assert.deepEqual(
      mergeRanges([
        [0, 10_000],
        [2000, 3000],
        [9000, 12_000],
      ]),
      [[0, 12_000]],
    );
  });

  test('drops ranges with a missing end and honours another gap', () => {
    assert.deepEqual(
      mergeRanges([
        [NaN, 5],
        [1, Infinity],
        [0, 1000],
        [1001, 2000],
      ]),
      [[0, 2000]],
    );
    assert.deepEqual(
      mergeRanges(
        [
          [0, 1000],
          [1001, 2000],
        ],
        0,
      ),
      [
        [0, 1000],
        [1001, 2000],
      ],
    );
  });

  test('leaves its input alone', () => {
    const spans = [
      [0, 1000],
      [500, 2000],
    ];
    mergeRanges(spans);
    assert.deepEqual(spans, [
      [0, 1000],
      [500, 2000],
    ]);
  });
});

describe('coveredRanges and coveredLength', () => {
  const segments = [
    rec(1, T0, 60),
    rec(2, T0 + 60_000, 60),
    rec(3, T0 + 10 * MIN, 60),
    rec(4, T0 + 20 * MIN, 0, { state: 'recording' }),
  ];
  const now = T0 + 21 * MIN;

  test('segments merge into covered ranges; the one being written reaches now', () => {
    assert.deepEqual(coveredRanges(segments, now), [
      [T0, T0 + 2 * MIN],
      [T0 + 10 * MIN, T0 + 11 * MIN],
      [T0 + 20 * MIN, now],
    ]);
    assert.deepEqual(coveredRanges([], now), []);
  });

  test('the length covered counts only what lies inside the period', () => {
    const ranges = coveredRanges(segments, now);
    assert.equal(coveredLength(ranges, { start: T0, end: now }), 4 * MIN);
    assert.equal(coveredLength(ranges, { start: T0 + MIN, end: T0 + 20.5 * MIN }), 2.5 * MIN);
    assert.equal(coveredLength([], { start: 0, end: DAY_MS }), 0);
  });
});

describe('finding what plays a moment', () => {
  const segments = [rec(1, T0, 60), rec(2, T0 + 60_000, 60), rec(3, T0 + 10 * MIN, 60)];
  const clips = [rec(10, T0 + 5 * MIN, 20, { kind: 'clip' })];
  const now = T0 + DAY_MS;

  test('the segment covering it, up to 1.5 s past its last frame', () => {
    assert.equal(segmentAt(segments, T0, now).id, 1);
    assert.equal(segmentAt(segments, T0 + 90_000, now).id, 2);
    const end = T0 + 11 * MIN;
    assert.equal(AT_END_TOLERANCE_MS, 1500);
    assert.equal(segmentAt(segments, end + 1500, now).id, 3);
    assert.equal(segmentAt(segments, end + 1501, now), undefined);
    assert.equal(segmentAt(segments, T0 - 1, now), undefined);
    assert.equal(segmentAt([], T0, now), undefined);
  });

  test('a clip covers only its own length', () => {
    assert.equal(clipAt(clips, T0 + 5 * MIN + 20_000, now).id, 10);
    assert.equal(clipAt(clips, T0 + 5 * MIN + 20_001, now), undefined);
  });

  test('playbackAt: segment, else clip, else the next segment from its start', () => {
    assert.deepEqual(playbackAt(T0 + 30_000, segments, clips, now), {
      recording: segments[0],
      offset: 30,
      later: false,
    });
    assert.deepEqual(playbackAt(T0 + 5 * MIN + 2500, segments, clips, now), {
      recording: clips[0],
      offset: 2.5,
      later: false,
    });
    assert.deepEqual(playbackAt(T0 + 4 * MIN, segments, clips, now), {
      recording: segments[2],
      offset: 0,
      later: true,
    });
    assert.deepEqual(playbackAt(T0 - HOUR_MS, segments, [], now), {
      recording: segments[0],
      offset: 0,
      later: true,
    });
    assert.equal(playbackAt(T0 + 12 * MIN, segments, clips, now), null);
    assert.equal(playbackAt(T0, [], [], now), null);
  });

  test('just past a segment the offset runs past its end (the player moves on at once)', () => {
    const found = playbackAt(T0 + 11 * MIN + 1000, segments, clips, now);
    assert.equal(found.recording.id, 3);
    assert.equal(found.offset, 61);
  });

  test('firstAfter: strictly after the moment', () => {
    assert.equal(firstAfter(segments, T0).id, 2);
    assert.equal(firstAfter(segments, T0 - 1).id, 1);
    assert.equal(firstAfter(segments, T0 + 10 * MIN), undefined);
  });
});

describe('nextSegment, byStart, lastRecorded', () => {
  test('the next one starts later, or at the same time with a higher id', () => {
    const segments = [rec(1, T0, 60), rec(5, T0, 60), rec(2, T0 + MIN, 60)].sort(byStart);
    assert.deepEqual(
      segments.map((item) => item.id),
      [1, 5, 2],
    );
    assert.equal(nextSegment(segments, segments[0]).id, 5);
    assert.equal(nextSegment(segments, segments[1]).id, 2);
    assert.equal(nextSegment(segments, segments[2]), null);
    assert.equal(nextSegment([], segments[0]), null);
  });

  test('a segment not in the list still finds its follower (a fresh copy of it)', () => {
    const segments = [rec(1, T0, 60), rec(2, T0 + MIN, 60)];
    assert.equal(nextSegment(segments, { ...segments[0] }).id, 2);
  });

  test('lastRecorded: the last segment, else the last clip, else null', () => {
    const segment = rec(1, T0, 60);
    const clip = rec(2, T0 + HOUR_MS, 20, { kind: 'clip' });
    assert.equal(lastRecorded([segment], [clip], 0), T0 + 60_000);
    assert.equal(lastRecorded([], [clip], 0), T0 + HOUR_MS + 20_000);
    assert.equal(lastRecorded([], [], 0), null);
  });
});

describe('the period', () => {
  test('the last 24 hours end now', () => {
    assert.deepEqual(periodRange('', T0), { start: T0 - DAY_MS, end: T0 });
  });

  test('a day runs from local midnight to local midnight', () => {
    assert.deepEqual(periodRange('2024-06-15', T0), {
      start: Date.UTC(2024, 5, 14, 22),
      end: Date.UTC(2024, 5, 15, 22),
    });
  });

  test('with DST a day has 23 or 25 hours', () => {
    const spring = periodRange('2024-03-31', T0);
    assert.equal(spring.start, Date.UTC(2024, 2, 30, 23));
    assert.equal(spring.end - spring.start, 23 * HOUR_MS);
    const autumn = periodRange('2024-10-27', T0);
    assert.equal(autumn.start, Date.UTC(2024, 9, 26, 22));
    assert.equal(autumn.end - autumn.start, 25 * HOUR_MS);
  });

  test('the last day of a year ends at the next one', () => {
    assert.deepEqual(periodRange('2024-12-31', T0), {
      start: Date.UTC(2024, 11, 30, 23),
      end: Date.UTC(2024, 11, 31, 23),
    });
  });

  test('localDay: the local date, changing at local midnight', () => {
    assert.equal(localDay(Date.UTC(2024, 2, 30, 23)), '2024-03-31');
    assert.equal(localDay(Date.UTC(2024, 2, 30, 23) - 1), '2024-03-30');
    assert.equal(localDay(Date.UTC(2024, 0, 1, 8)), '2024-01-01');
  });
});

describe('the view', () => {
  const day = { start: T0 - DAY_MS, end: T0 };

  test('zoom levels: 24 h down to 2 min, clamped', () => {
    assert.deepEqual(
      ZOOMS.map((zoom) => zoom.span),
      [DAY_MS, 4 * HOUR_MS, HOUR_MS, 10 * MIN, 2 * MIN],
    );
    assert.equal(clampZoom(-1), 0);
    assert.equal(clampZoom(2), 2);
    assert.equal(clampZoom(99), ZOOMS.length - 1);
  });

  test('the span shown is the zoom, at most the period', () => {
    assert.equal(viewSpan(2, day), HOUR_MS);
    assert.equal(viewSpan(0, periodRange('2024-03-31', 0)), 23 * HOUR_MS);
  });

  test('the view stays inside the period; no start means its end', () => {
    assert.equal(clampViewStart(day.start - HOUR_MS, 2, day), day.start);
    assert.equal(clampViewStart(day.start + HOUR_MS, 2, day), day.start + HOUR_MS);
    assert.equal(clampViewStart(day.end, 2, day), day.end - HOUR_MS);
    assert.equal(clampViewStart(Infinity, 2, day), day.end - HOUR_MS);
    assert.equal(clampViewStart(NaN, 2, day), day.end - HOUR_MS);
    // The whole (short) DST day fits at the widest zoom: it can only start at midnight.
    const spring = periodRange('2024-03-31', 0);
    assert.equal(clampViewStart(spring.start + HOUR_MS, 0, spring), spring.start);
  });

  test('followStart: nothing while the cursor shows, else centred or just ahead', () => {
    const start = T0;
    assert.equal(followStart(T0 + 30 * MIN, start, 2, true), null);
    assert.equal(followStart(T0 + HOUR_MS, start, 2, true), null); // the right edge counts
    assert.equal(followStart(T0 - MIN, start, 2, true), T0 - MIN - 30 * MIN);
    assert.equal(followStart(T0 + 2 * HOUR_MS, start, 2, false), T0 + 2 * HOUR_MS - 6 * MIN);
  });
});

describe('time <-> position on the track', () => {
  const view = { start: T0, span: HOUR_MS };

  test('fractionAt: 0 at the left, 1 at the right, beyond outside', () => {
    assert.equal(fractionAt(T0, view), 0);
    assert.equal(fractionAt(T0 + 15 * MIN, view), 0.25);
    assert.equal(fractionAt(T0 + HOUR_MS, view), 1);
    assert.equal(fractionAt(T0 - 30 * MIN, view), -0.5);
  });

  test('momentAt: the moment under a tap, clamped to the track', () => {
    assert.equal(momentAt(100, 400, view), T0 + 15 * MIN);
    assert.equal(momentAt(0, 400, view), T0);
    assert.equal(momentAt(-20, 400, view), T0);
    assert.equal(momentAt(500, 400, view), T0 + HOUR_MS);
    assert.equal(momentAt(100, 0, view), null); // not laid out
  });

  test('placeRange: a range clamped to the track', () => {
    assert.deepEqual(placeRange(T0 + 15 * MIN, T0 + 30 * MIN, view), { from: 0.25, width: 0.25 });
    assert.deepEqual(placeRange(T0 - HOUR_MS, T0 + 30 * MIN, view), { from: 0, width: 0.5 });
    assert.deepEqual(placeRange(T0 + 45 * MIN, T0 + 2 * HOUR_MS, view), {
      from: 0.75,
      width: 0.25,
    });
    assert.deepEqual(placeRange(T0 - 2 * HOUR_MS, T0 - HOUR_MS, view), { from: 0, width: 0 });
  });

  test('what shows: ranges touching the view, events starting in it', () => {
    const ranges = [
      [T0 - 2 * HOUR_MS, T0 - HOUR_MS],
      [T0 - MIN, T0],
      [T0 + HOUR_MS, T0 + 2 * HOUR_MS],
      [T0 + HOUR_MS + 1, T0 + 2 * HOUR_MS],
    ];
    assert.deepEqual(visibleRanges(ranges, view), ranges.slice(1, 3));
    const events = [
      { id: 1, start: iso(T0 - 1) },
      { id: 2, start: iso(T0) },
      { id: 3, start: iso(T0 + HOUR_MS) },
      { id: 4, start: iso(T0 + HOUR_MS + 1) },
    ];
    assert.deepEqual(
      startingIn(events, view).map((event) => event.id),
      [2, 3],
    );
    assert.deepEqual(startingIn([], view), []);
  });
});

describe('labels', () => {
  test('tickStep: the finest spacing that leaves each label room', () => {
    assert.equal(tickStep(DAY_MS, 320), 6 * HOUR_MS); // 4 labels of 64 px
    assert.equal(tickStep(DAY_MS, 1000), 2 * HOUR_MS); // 12 x 64 = 768 px
    assert.equal(tickStep(2 * MIN, 320), MIN); // 30 s would need 4 x 88 = 352 px
    assert.equal(tickStep(2 * MIN, 352), 30_000);
    assert.equal(tickStep(10 * DAY_MS, 10), TICKS.at(-1)); // nothing fits: the widest
  });

  test('every 6 hours on a phone, none at either end', () => {
    const midnight = Date.UTC(2024, 5, 14, 22); // 15 June, 00:00 local
    assert.deepEqual(timelineLabels({ start: midnight, span: DAY_MS }, 320), [
      { at: midnight + 6 * HOUR_MS, from: 0.25, text: '06:00' },
      { at: midnight + 12 * HOUR_MS, from: 0.5, text: '12:00' },
      { at: midnight + 18 * HOUR_MS, from: 0.75, text: '18:00' },
    ]);
  });

  test('labels sit on local round times even when the view does not start on one', () => {
    const start = Date.UTC(2024, 5, 15, 9, 50); // 11:50 local
    const texts = timelineLabels({ start, span: HOUR_MS }, 320).map((label) => label.text);
    assert.deepEqual(texts, ['12:00', '12:15', '12:30', '12:45']);
  });

  test('seconds when the spacing is under a minute; no width yet: a phone is assumed', () => {
    const view = { start: T0, span: 2 * MIN };
    assert.deepEqual(
      timelineLabels(view, 390).map((label) => label.text),
      ['12:00:30', '12:01:00', '12:01:30'],
    );
    assert.deepEqual(
      timelineLabels(view, 0).map((label) => label.text),
      ['12:01'],
    );
  });

  test('on DST days the labels step by elapsed time from midnight, each true to its place', () => {
    // 23-hour day: 6-hourly labels after the clocks went forward read 07:00, 13:00, 19:00.
    const spring = periodRange('2024-03-31', 0);
    const springLabels = timelineLabels({ start: spring.start, span: 23 * HOUR_MS }, 320);
    assert.deepEqual(
      springLabels.map((label) => [label.at - spring.start, label.text]),
      [
        [6 * HOUR_MS, '07:00'],
        [12 * HOUR_MS, '13:00'],
        [18 * HOUR_MS, '19:00'],
      ],
    );
    // 25-hour day: after the clocks went back, 05:00, 11:00, 17:00.
    const autumn = periodRange('2024-10-27', 0);
    const autumnLabels = timelineLabels({ start: autumn.start, span: 25 * HOUR_MS }, 320);
    assert.deepEqual(
      autumnLabels.map((label) => [label.from, label.text]),
      [
        [0.24, '05:00'],
        [0.48, '11:00'],
        [0.72, '17:00'],
      ],
    );
  });
});

describe('choosing a moment', () => {
  const range = { start: T0 - DAY_MS, end: T0 };

  test('arrows move by 1/48 of the span shown, pages by 1/8', () => {
    const from = T0 - 12 * HOUR_MS;
    assert.equal(keyMoment('ArrowLeft', from, DAY_MS, range, null), from - 30 * MIN);
    assert.equal(keyMoment('ArrowDown', from, DAY_MS, range, null), from - 30 * MIN);
    assert.equal(keyMoment('ArrowRight', from, HOUR_MS, range, null), from + 75_000);
    assert.equal(keyMoment('ArrowUp', from, HOUR_MS, range, null), from + 75_000);
    assert.equal(keyMoment('PageUp', from, DAY_MS, range, null), from + 3 * HOUR_MS);
    assert.equal(keyMoment('PageDown', from, DAY_MS, range, null), from - 3 * HOUR_MS);
  });

  test('Home and End; never outside the period', () => {
    assert.equal(keyMoment('Home', T0 - HOUR_MS, DAY_MS, range, null), range.start);
    assert.equal(keyMoment('End', range.start, DAY_MS, range, T0 - HOUR_MS), T0 - HOUR_MS);
    assert.equal(keyMoment('End', range.start, DAY_MS, range, null), range.end);
    assert.equal(keyMoment('ArrowLeft', range.start, DAY_MS, range, null), range.start);
    assert.equal(keyMoment('PageUp', T0 - MIN, DAY_MS, range, null), range.end);
  });

  test('other keys choose nothing', () => {
    for (const key of ['x', 'Enter', ' ', 'Tab', 'toString', 'constructor']) {
      assert.equal(keyMoment(key, T0, DAY_MS, range, null), null, key);
    }
  });

  test('a time of day in the last 24 hours: today, or yesterday if still to come', () => {
    // Now is 12:00 local on 15 June.
    assert.equal(timeOfDay('11:30', '', range), Date.UTC(2024, 5, 15, 9, 30));
    assert.equal(timeOfDay('12:00', '', range), T0); // exactly now
    assert.equal(timeOfDay('13:00', '', range), Date.UTC(2024, 5, 14, 11, 0));
    assert.equal(timeOfDay('12:00:01', '', range), Date.UTC(2024, 5, 14, 10, 0, 1));
    assert.equal(timeOfDay('00:00', '', range), Date.UTC(2024, 5, 14, 22, 0)); // midnight
    assert.equal(timeOfDay('23:59:59', '', range), Date.UTC(2024, 5, 14, 21, 59, 59));
  });

  test('a time of day on a chosen day, across DST', () => {
    const spring = periodRange('2024-03-31', 0);
    // 02:30 does not exist that night: the clock reads 03:30 then.
    assert.equal(timeOfDay('02:30', '2024-03-31', spring), Date.UTC(2024, 2, 31, 1, 30));
    assert.equal(timeOfDay('00:00', '2024-03-31', spring), spring.start);
    assert.equal(timeOfDay('23:59:59', '2024-03-31', spring), spring.end - 1000);
    // 02:30 happens twice in October: the first one (still summer time).
    const autumn = periodRange('2024-10-27', 0);
    assert.equal(timeOfDay('02:30', '2024-10-27', autumn), Date.UTC(2024, 9, 27, 0, 30));
  });

  test('a time of day outside the period is none', () => {
    const hour = { start: T0 - HOUR_MS, end: T0 };
    assert.equal(timeOfDay('09:00', '', hour), null);
    assert.equal(timeOfDay('11:15', '', hour), Date.UTC(2024, 5, 15, 9, 15));
  });
});
