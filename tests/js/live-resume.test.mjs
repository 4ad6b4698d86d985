// web/live-resume.js: the live channel's resume and duplicate rules, and its backoff.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  clockOffset,
  helloOutcome,
  nextAttempt,
  parseMessage,
  parseStoredId,
  retryDelay,
  seenAlready,
  skippedTo,
  usableId,
} from '../../web/live-resume.js';

describe('reading messages', () => {
  test('JSON objects are messages', () => {
    assert.deepEqual(parseMessage('{"type":"hello","last_id":3}'), { type: 'hello', last_id: 3 });
  });

  test('anything else is dropped', () => {
    for (const data of ['', 'nope', '{"type":', 'null', '42', '"hello"', 'true']) {
      assert.equal(parseMessage(data), null, data);
    }
  });
});

describe('duplicates', () => {
  test('nothing seen yet: nothing is a duplicate', () => {
    assert.equal(seenAlready(null, 1), false);
    assert.equal(seenAlready(null, 0), false);
  });

  test('ids up to the last one handed out are replays', () => {
    assert.equal(seenAlready(5, 4), true);
    assert.equal(seenAlready(5, 5), true);
    assert.equal(seenAlready(5, 6), false);
  });
});

describe('the id kept across reloads', () => {
  test('a positive whole number', () => {
    assert.equal(parseStoredId('42'), 42);
    assert.equal(parseStoredId(' 7 '), 7);
  });

  test('anything else: start afresh', () => {
    for (const text of [null, '', '0', '-3', '1.5', 'abc', 'Infinity', '1e400']) {
      assert.equal(parseStoredId(text), null, String(text));
    }
  });

  test('only finite numbers are kept', () => {
    assert.equal(usableId(0), true);
    assert.equal(usableId(12), true);
    for (const id of [NaN, Infinity, '3', null, undefined]) assert.equal(usableId(id), false);
  });
});

describe('a hello', () => {
  test('first connection: start from the server id, nothing resumed', () => {
    assert.deepEqual(helloOutcome(null, 10), { adopt: 10, resumed: false, resync: false });
    assert.deepEqual(helloOutcome(null, undefined), { adopt: null, resumed: false, resync: false });
  });

  test('reconnection: the server replays what we missed', () => {
    assert.deepEqual(helloOutcome(5, 10), { adopt: null, resumed: true, resync: false });
    assert.deepEqual(helloOutcome(10, 10), { adopt: null, resumed: true, resync: false });
    assert.deepEqual(helloOutcome(5, undefined), { adopt: null, resumed: true, resync: false });
    assert.deepEqual(helloOutcome(5, '3'), { adopt: null, resumed: true, resync: false });
  });

  test('the server numbering went back (database replaced): adopt it and reload', () => {
    assert.deepEqual(helloOutcome(10, 3), { adopt: 3, resumed: false, resync: true });
    assert.deepEqual(helloOutcome(10, 0), { adopt: 0, resumed: false, resync: true });
  });
});

describe('dialling again', () => {
  test('1 s doubling, capped at 30 s', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 16].map((attempt) => retryDelay(attempt, 0.5)),
      [1000, 2000, 4000, 8000, 16000, 30000, 30000],
    );
  });

  test('plus or minus 25 %', () => {
    assert.equal(retryDelay(0, 0), 750);
    assert.equal(retryDelay(5, 0), 22500);
    assert.ok(Math.abs(retryDelay(5, 0.999999) - 37500) < 0.1);
  });

  test('the count of tries stops growing at 16', () => {
    assert.equal(nextAttempt(0), 1);
    assert.equal(nextAttempt(15), 16);
    assert.equal(nextAttempt(16), 16);
  });
});

describe('the server clock', () => {
  test('its newest camera time minus ours', () => {
    const cameras = [{ at: 100.5 }, { at: null }, { at: 99 }, {}];
    assert.equal(clockOffset(cameras, 90_000), 10_500);
    assert.equal(clockOffset([{ at: 100 }], 100_000), 0);
  });

  test('no camera time: unknown', () => {
    assert.equal(clockOffset([], 1), null);
    assert.equal(clockOffset(undefined, 1), null);
    assert.equal(clockOffset([{ at: NaN }, { at: 'x' }], 1), null);
  });
});

describe('skipped ranges', () => {
  test('a skipped range moves the last id to its end', () => {
    assert.equal(skippedTo(5, { type: 'skipped', from: 6, to: 9 }), 9);
    assert.equal(skippedTo(null, { type: 'skipped', from: 1, to: 2 }), 2);
  });

  test('a range already behind, or malformed, moves nothing', () => {
    assert.equal(skippedTo(9, { type: 'skipped', from: 6, to: 9 }), null);
    assert.equal(skippedTo(9, { type: 'skipped', from: 6, to: '12' }), null);
    assert.equal(skippedTo(9, { type: 'skipped' }), null);
  });
});
