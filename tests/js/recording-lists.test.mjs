// web/recording-lists.js: the recordings view's lists, kept current by live messages.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';

import { RecordingLists } from '../../web/recording-lists.js';

const HOUR = 3600 * 1000;
const T0 = Date.UTC(2024, 5, 15, 10, 0, 0);
const iso = (ms) => new Date(ms).toISOString();
const RANGE = { start: T0 - 24 * HOUR, end: T0 };

function rec(id, start, { kind = 'continuous', state = 'complete', seconds = 60 } = {}) {
  const end = state === 'recording' ? null : iso(start + seconds * 1000);
  return { id, kind, state, start: iso(start), end, duration: seconds };
}

const ids = (list) => list.map((item) => item.id);

describe('RecordingLists', () => {
  let lists;
  beforeEach(() => {
    lists = new RecordingLists();
    lists.set({
      segments: [rec(1, T0 - 3 * HOUR), rec(2, T0 - 2 * HOUR)],
      clips: [rec(10, T0 - 2 * HOUR, { kind: 'clip' })],
      events: [
        { id: 101, start: iso(T0 - HOUR), end: null },
        { id: 100, start: iso(T0 - 2 * HOUR), end: iso(T0 - 2 * HOUR + 5000) },
      ],
      continuousNow: 3,
    });
  });

  test('starts empty; a load sets the lists, events turned oldest first', () => {
    const empty = new RecordingLists();
    assert.deepEqual([empty.segments, empty.clips, empty.events], [[], [], []]);
    assert.equal(empty.continuousNow, null);
    assert.deepEqual(ids(lists.events), [100, 101]);
    assert.equal(lists.continuousNow, 3);
  });

  test('clear() empties the lists but keeps what is being written', () => {
    lists.clear();
    assert.deepEqual([lists.segments, lists.clips, lists.events], [[], [], []]);
    assert.equal(lists.continuousNow, 3);
  });

  test('a new segment goes in start order; a clip to the clips', () => {
    lists.applyRecording('end', rec(4, T0 - 2.5 * HOUR), RANGE, '');
    assert.deepEqual(ids(lists.segments), [1, 4, 2]);
    lists.applyRecording(
      'start',
      rec(11, T0 - HOUR, { kind: 'clip', state: 'recording' }),
      RANGE,
      '',
    );
    assert.deepEqual(ids(lists.clips), [10, 11]);
    assert.equal(lists.continuousNow, 3); // clips do not change it
  });

  test('same start: the lower id first', () => {
    lists.applyRecording('end', rec(0, T0 - 2 * HOUR), RANGE, '');
    assert.deepEqual(ids(lists.segments), [1, 0, 2]);
  });

  test('a known recording is replaced where it is', () => {
    const newer = { ...rec(1, T0 - 3 * HOUR), size: 123 };
    lists.applyRecording('end', newer, RANGE, '');
    assert.deepEqual(ids(lists.segments), [1, 2]);
    assert.equal(lists.segments[0], newer);
  });

  test('deleted: removed; an unknown one changes nothing', () => {
    lists.applyRecording('deleted', rec(1, T0 - 3 * HOUR), RANGE, '');
    assert.deepEqual(ids(lists.segments), [2]);
    lists.applyRecording('deleted', rec(99, T0 - HOUR), RANGE, '');
    assert.deepEqual(ids(lists.segments), [2]);
  });

  test('after the period: only a recording going on in the last 24 hours joins', () => {
    const after = T0 + 1000; // the range was computed a moment ago
    lists.applyRecording('start', rec(5, after, { state: 'recording' }), RANGE, '');
    assert.deepEqual(ids(lists.segments), [1, 2, 5]);
    lists.applyRecording('end', rec(6, after), RANGE, '');
    assert.deepEqual(ids(lists.segments), [1, 2, 5]);
    const day = new RecordingLists();
    day.applyRecording('start', rec(7, after, { state: 'recording' }), RANGE, '2024-06-14');
    assert.deepEqual(day.segments, []);
  });

  test('the segment being written follows start and end messages', () => {
    lists.applyRecording('start', rec(8, T0 - 60_000, { state: 'recording' }), RANGE, '');
    assert.equal(lists.continuousNow, 8);
    lists.applyRecording('end', rec(2, T0 - 2 * HOUR), RANGE, ''); // another one ends
    assert.equal(lists.continuousNow, 8);
    lists.applyRecording('end', rec(8, T0 - 60_000), RANGE, '');
    assert.equal(lists.continuousNow, null);
    lists.applyRecording('start', rec(9, T0 - 1000, { state: 'recording' }), RANGE, '');
    lists.applyRecording('deleted', rec(9, T0 - 1000), RANGE, '');
    assert.equal(lists.continuousNow, null);
    assert.deepEqual(ids(lists.segments), [1, 2, 8]);
  });

  test('events: updated in place, new ones appended; after a chosen day not at all', () => {
    lists.applyEvent({ id: 100, start: iso(T0 - 2 * HOUR), end: iso(T0) }, RANGE, '');
    assert.equal(lists.events[0].end, iso(T0));
    lists.applyEvent({ id: 102, start: iso(T0 - 10), end: null }, RANGE, '2024-06-14');
    assert.deepEqual(ids(lists.events), [100, 101, 102]);
    lists.applyEvent({ id: 103, start: iso(T0 + 10), end: null }, RANGE, '2024-06-14');
    assert.deepEqual(ids(lists.events), [100, 101, 102]);
    lists.applyEvent({ id: 104, start: iso(T0 + 10), end: null }, RANGE, '');
    assert.deepEqual(ids(lists.events), [100, 101, 102, 104]);
  });

  test('trim: what ended before the new start goes; what goes on stays', () => {
    lists.applyRecording('start', rec(5, T0 - HOUR, { state: 'recording' }), RANGE, '');
    const start = T0 - 2 * HOUR + 30_000; // in the middle of segment 2 and clip 10
    lists.trim(start, T0);
    assert.deepEqual(ids(lists.segments), [2, 5]);
    assert.deepEqual(ids(lists.clips), [10]);
    assert.deepEqual(ids(lists.events), [101]); // 100 ended; 101 is still going on
    lists.trim(T0 + 1000, T0 + 2000); // the one being written ends "now"
    assert.deepEqual(ids(lists.segments), [5]);
    assert.deepEqual(lists.clips, []);
  });
});
