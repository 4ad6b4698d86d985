// web/schedule-math.js: weekly arming periods as minutes of the week.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  PRESETS,
  armedHours,
  describeArming,
  minutes,
  periodProblem,
  scheduleConfig,
  weekBars,
} from '../../web/schedule-math.js';

test('clock times', () => {
  assert.equal(minutes('07:30'), 450);
  assert.equal(minutes('24:00'), 1440);
  assert.equal(minutes('7:30'), null);
  assert.equal(minutes('25:00'), null);
});

test('a night runs into the next morning, Sunday into Monday', () => {
  const bars = weekBars([{ days: ['sun'], start: '22:00', end: '07:00' }]);
  assert.deepEqual(bars[6], [[1320, 1440]]);
  assert.deepEqual(bars[0], [[0, 420]]);
  assert.deepEqual(bars.slice(1, 6), [[], [], [], [], []]);
});

test('overlapping periods merge, and the presets add up', () => {
  const bars = weekBars([
    PRESETS.nights,
    PRESETS.workdays,
    { days: ['mon'], start: '16:00', end: '23:00' },
  ]);
  assert.deepEqual(bars[0], [
    [0, 420],
    [540, 1440],
  ]);
  assert.equal(armedHours([PRESETS.nights]), 63);
  assert.equal(armedHours([PRESETS.weekend]), 48);
  assert.equal(armedHours([{ days: ['mon'], start: '08:00', end: '08:00' }]), 24);
});

test('bad periods are named and left out of the preview', () => {
  assert.equal(
    periodProblem({ days: [], start: '22:00', end: '07:00' }),
    'choose at least one day',
  );
  assert.equal(
    periodProblem({ days: ['mon'], start: '24:00', end: '07:00' }),
    'the start is not HH:MM',
  );
  assert.equal(periodProblem(PRESETS.nights), null);
  assert.deepEqual(weekBars([{ days: ['mon'], start: 'x', end: '07:00' }])[0], []);
});

test('the config the API takes: days in week order, no periods unless weekly', () => {
  assert.deepEqual(
    scheduleConfig('weekly', '', [{ days: ['fri', 'mon'], start: '09:00', end: '17:00' }]),
    {
      mode: 'weekly',
      timezone: null,
      periods: [{ days: ['mon', 'fri'], start: '09:00', end: '17:00' }],
    },
  );
  assert.deepEqual(scheduleConfig('always', 'Europe/Paris', [PRESETS.nights]), {
    mode: 'always',
    timezone: 'Europe/Paris',
    periods: [],
  });
});

test('the arming now and next, in words', () => {
  const when = (ms) => new Date(ms).toISOString().slice(11, 16);
  const scheduled = {
    armed: true,
    mode: 'weekly',
    override: false,
    next_change: '2026-12-08T06:00:00Z',
    next_armed: false,
  };
  assert.equal(describeArming(scheduled, when), 'Armed by the schedule · disarms at 06:00');
  const byHand = {
    armed: false,
    mode: 'always',
    override: true,
    next_change: null,
    next_armed: null,
  };
  assert.equal(describeArming(byHand, when), 'Disarmed by hand · until changed by hand');
  assert.equal(describeArming({ ...byHand, armed: true, override: false }, when), 'Armed');
});
