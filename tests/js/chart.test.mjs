// web/chart.js: the activity chart's pure parts (scale, totals, labels).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { activityLabel, hourLabels, kindTotals, niceMax, slotTotals } from '../../web/chart.js';

describe('niceMax: a round top for the y axis, even so that half of it is whole', () => {
  const cases = [
    [0, 2],
    [1, 2],
    [2, 2],
    [2.5, 4],
    [3, 4],
    [5, 6],
    [7, 8],
    [8, 8],
    [9, 10],
    [10, 10],
    [11, 20],
    [20, 20],
    [21, 40],
    [41, 60],
    [61, 80],
    [81, 100],
    [100, 100],
    [101, 200],
    [999, 1000],
    [1001, 2000],
  ];
  for (const [value, top] of cases) {
    test(`${value} -> ${top}`, () => assert.equal(niceMax(value), top));
  }
});

describe('totals', () => {
  const counts = {
    sound: [0, 2, 0],
    motion: [1, 0, 3],
    tamper: [0, 0, 0],
    bogus: [50, 50, 50], // not a kind the dashboard knows: left out
  };

  test('per kind: in the legend order, kinds without events left out', () => {
    assert.deepEqual(kindTotals(counts), [
      ['motion', 4],
      ['sound', 2],
    ]);
    assert.deepEqual(kindTotals({}), []);
  });

  test('per hour: every kind added up; missing hours count 0', () => {
    assert.deepEqual(slotTotals(counts, 3), [1, 2, 3]);
    assert.deepEqual(slotTotals({ motion: [4] }, 3), [4, 0, 0]);
    assert.deepEqual(slotTotals({}, 0), []);
  });

  test('the accessible name says what the bars show', () => {
    assert.equal(
      activityLabel([
        ['motion', 3],
        ['online', 1],
      ]),
      'Events per hour over the last 24 hours: 3 motion, 1 back online',
    );
    assert.equal(activityLabel([]), 'Events per hour over the last 24 hours: none');
  });
});

describe('hourLabels: every 6 hours in local time (Europe/Berlin)', () => {
  const hoursFrom = (startMs, count) =>
    Array.from({ length: count }, (_, i) => new Date(startMs + i * 3600 * 1000).toISOString());

  test('an ordinary day: 00:00, 06:00, 12:00, 18:00', () => {
    const hours = hoursFrom(Date.UTC(2024, 5, 14, 22), 24); // from 00:00 local
    assert.deepEqual(hourLabels(hours), [
      { index: 0, text: '00:00' },
      { index: 6, text: '06:00' },
      { index: 12, text: '12:00' },
      { index: 18, text: '18:00' },
    ]);
  });

  test('the hour the clocks go forward is skipped: 06:00 is the 5th bucket', () => {
    const hours = hoursFrom(Date.UTC(2024, 2, 30, 23), 24); // 31 March from 00:00 local
    assert.deepEqual(
      hourLabels(hours).map((label) => [label.index, label.text]),
      [
        [0, '00:00'],
        [5, '06:00'],
        [11, '12:00'],
        [17, '18:00'],
        [23, '00:00'],
      ],
    );
  });

  test('no hours, or unreadable ones: no labels', () => {
    assert.deepEqual(hourLabels([]), []);
    assert.deepEqual(hourLabels(['not a time']), []);
  });
});
