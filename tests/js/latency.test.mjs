// web/latency.js: latency from the demo camera's 40-bit timestamp, across its wrap.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { latencyFromStamp, recordLatency } from '../../web/latency.js';

const MODULO = 2 ** 40;

describe('latencyFromStamp', () => {
  const now = Date.UTC(2024, 5, 15, 10, 0, 0);

  test('milliseconds since the stamped capture', () => {
    assert.equal(latencyFromStamp((now - 120) % MODULO, now), 120);
    assert.equal(latencyFromStamp(now % MODULO, now), 0);
    assert.equal(latencyFromStamp((now - 10_000) % MODULO, now), 10_000);
  });

  test('across the 2^40 wrap', () => {
    const wrapped = 5 * MODULO + 50; // now just after a wrap; the frame just before it
    assert.equal(latencyFromStamp(MODULO - 70, wrapped), 120);
  });

  test('implausible values are "no timestamp"', () => {
    assert.equal(latencyFromStamp((now + 5) % MODULO, now), null); // from the future
    assert.equal(latencyFromStamp((now - 10_001) % MODULO, now), null);
    assert.equal(latencyFromStamp(0, now), null); // a black strip (a real camera)
  });
});

describe('recordLatency', () => {
  test('keeps the last 10000 measurements', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => i);
    recordLatency(list, 123);
    assert.equal(list.length, 10_000);
    assert.equal(list[0], 1);
    assert.equal(list.at(-1), 123);
    const short = [];
    recordLatency(short, 5);
    assert.deepEqual(short, [5]);
  });
});
