// web/format.js: wording and formatting. Europe/Berlin, en-GB (setup.mjs).

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import {
  KINDS,
  SYSTEM_CAMERA,
  cameraHref,
  formatBytes,
  formatClock,
  formatDay,
  formatDuration,
  formatHourMinute,
  formatOffset,
  formatSeconds,
  formatSpan,
  formatWhen,
  kindLabel,
  parseTime,
  setSystemHref,
  shortHash,
} from '../../web/format.js';

const at = (seconds) => new Date(Date.UTC(2024, 5, 15, 10, 0, 0) + seconds * 1000).toISOString();

describe('kinds', () => {
  test('every kind has a label; unknown ones show as they are', () => {
    assert.deepEqual(KINDS.map(kindLabel), [
      'Motion',
      'Sound',
      'Tampering',
      'Frozen picture',
      'Offline',
      'Back online',
      'Storage',
      'MQTT',
      'Under-voltage',
      'Throttled',
      'Overheating',
      'Disk low',
      'Memory low',
      'Encoder fallback',
    ]);
    assert.equal(kindLabel('meteor'), 'meteor');
    assert.equal(kindLabel(undefined), 'undefined');
  });
});

describe('formatDuration', () => {
  test('an event without an end is going on', () => {
    assert.equal(formatDuration(at(0), null), 'ongoing');
    assert.equal(formatDuration(at(0), ''), 'ongoing');
  });

  test('rounded to the second; none (or a negative one) is instant', () => {
    assert.equal(formatDuration(at(0), at(0)), 'instant');
    assert.equal(formatDuration(at(0), at(0.4)), 'instant');
    assert.equal(formatDuration(at(10), at(0)), 'instant');
    assert.equal(formatDuration(at(0), at(0.5)), '1 s');
    assert.equal(formatDuration(at(0), at(59)), '59 s');
  });

  test('minutes, then hours; zero parts left out', () => {
    assert.equal(formatDuration(at(0), at(60)), '1 min');
    assert.equal(formatDuration(at(0), at(61)), '1 min 1 s');
    assert.equal(formatDuration(at(0), at(3599)), '59 min 59 s');
    assert.equal(formatDuration(at(0), at(3600)), '1 h');
    assert.equal(formatDuration(at(0), at(3600 + 59)), '1 h'); // seconds do not show
    assert.equal(formatDuration(at(0), at(26 * 3600 + 300)), '26 h 5 min');
  });

  test('unreadable times give nothing', () => {
    assert.equal(formatDuration('nonsense', at(5)), '');
  });
});

describe('formatSpan', () => {
  test('a length in ms in words', () => {
    assert.equal(formatSpan(0), 'under a second');
    assert.equal(formatSpan(499), 'under a second');
    assert.equal(formatSpan(-5000), 'under a second');
    assert.equal(formatSpan(500), '1 s');
    assert.equal(formatSpan(7_000), '7 s');
    assert.equal(formatSpan((3 * 3600 + 5 * 60) * 1000), '3 h 5 min');
  });
});

describe('links', () => {
  afterEach(() => setSystemHref('#events'));

  test('a camera links to its full view, its id escaped', () => {
    assert.equal(cameraHref('front door'), '#/camera/front%20door');
    assert.equal(cameraHref('a/b#c'), '#/camera/a%2Fb%23c');
  });

  test('system events link to the event list, or where setSystemHref says', () => {
    assert.equal(cameraHref(SYSTEM_CAMERA), '#events');
    setSystemHref('#storage');
    assert.equal(cameraHref(SYSTEM_CAMERA), '#storage');
  });
});

describe('parseTime', () => {
  test('ISO instants with any number of fractional digits', () => {
    const base = Date.UTC(2024, 5, 15, 10, 0, 0);
    assert.equal(parseTime('2024-06-15T10:00:00Z'), base);
    assert.equal(parseTime('2024-06-15T10:00:00.5Z'), base + 500);
    assert.equal(parseTime('2024-06-15T10:00:00.123456Z'), base + 123);
    assert.equal(parseTime('2024-06-15T10:00:00.999999+00:00'), base + 999);
    assert.equal(parseTime('2024-06-15T12:00:00+02:00'), base);
  });

  test('anything else is NaN', () => {
    for (const value of [null, undefined, 1718445600000, '', 'yesterday']) {
      assert.ok(Number.isNaN(parseTime(value)), String(value));
    }
  });
});

describe('media lengths and positions', () => {
  test('formatSeconds: tenths under 10 s, then seconds, then m:ss and h:mm:ss', () => {
    assert.equal(formatSeconds(0), '0.0 s');
    assert.equal(formatSeconds(0.84), '0.8 s');
    assert.equal(formatSeconds(9.94), '9.9 s');
    assert.equal(formatSeconds(10), '10 s');
    assert.equal(formatSeconds(59.4), '59 s');
    assert.equal(formatSeconds(60), '1:00');
    assert.equal(formatSeconds(64.4), '1:04');
    assert.equal(formatSeconds(3599), '59:59');
    assert.equal(formatSeconds(3600), '1:00:00');
    assert.equal(formatSeconds(3723), '1:02:03');
    assert.equal(formatSeconds('7.7'), '7.7 s');
  });

  test('formatSeconds: nothing for a negative or unknown length', () => {
    for (const value of [-1, NaN, 'x', undefined, Infinity]) {
      assert.equal(formatSeconds(value), '', String(value));
    }
  });

  test('formatOffset: whole seconds, rounded down, never negative', () => {
    assert.equal(formatOffset(0), '0:00');
    assert.equal(formatOffset(3.9), '0:03');
    assert.equal(formatOffset(59.999), '0:59');
    assert.equal(formatOffset(3725), '1:02:05');
    assert.equal(formatOffset(-5), '0:00');
    assert.equal(formatOffset('nope'), '0:00');
  });
});

describe('formatBytes', () => {
  test('decimal units, one decimal under 100', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1000), '1.0 kB');
    assert.equal(formatBytes(812_000), '812 kB');
    assert.equal(formatBytes(1_400_000), '1.4 MB');
    assert.equal(formatBytes(58_200_000_000), '58.2 GB');
    assert.equal(formatBytes(2e12), '2.0 TB');
  });

  test('petabytes are the largest unit; nothing for nonsense', () => {
    assert.equal(formatBytes(1e15), '1.0 PB');
    assert.equal(formatBytes(1e18), '1000 PB');
    assert.equal(formatBytes(-1), '');
    assert.equal(formatBytes('many'), '');
  });
});

describe('local times (Europe/Berlin)', () => {
  // CLDR versions differ on a comma after the weekday ("Sat, 15 Jun" in node 18's ICU,
  // "Sat 15 Jun" in later ones): compared without it.
  const plain = (text) => text.replace(/^(\p{L}+),/u, '$1');
  const springForward = Date.UTC(2024, 2, 31, 1, 0, 0); // 02:00 CET -> 03:00 CEST

  test('formatClock: the wall-clock time, across the DST change', () => {
    assert.equal(formatClock(springForward - 1000), '01:59:59');
    assert.equal(formatClock(springForward), '03:00:00');
    assert.equal(formatClock(Date.UTC(2024, 9, 27, 0, 30)), '02:30:00'); // CEST
    assert.equal(formatClock(Date.UTC(2024, 9, 27, 1, 30)), '02:30:00'); // again, CET
    assert.equal(formatClock(NaN), '');
  });

  test('formatHourMinute and formatDay, around midnight', () => {
    const midnight = Date.UTC(2024, 5, 14, 22, 0, 0); // Saturday 15 June, 00:00
    assert.equal(formatHourMinute(midnight), '00:00');
    assert.equal(formatHourMinute(midnight - 1), '23:59');
    assert.equal(plain(formatDay(midnight)), 'Sat 15 Jun');
    assert.equal(plain(formatDay(midnight - 1)), 'Fri 14 Jun');
    assert.equal(formatDay(undefined), '');
  });

  test('formatWhen: the time today, day and time before', () => {
    assert.match(formatWhen(new Date().toISOString()), /^\d\d:\d\d:\d\d$/);
    assert.equal(plain(formatWhen('2024-03-31T12:00:00Z')), 'Sun 31 Mar, 14:00');
    assert.equal(formatWhen('garbage'), '');
  });
});

describe('shortHash', () => {
  test('long hashes are shortened to their ends', () => {
    const sha = 'd82164f9' + '0'.repeat(48) + '17420f62';
    assert.equal(shortHash(sha), 'd82164f9…17420f62');
  });

  test('short values stay; missing ones are empty', () => {
    assert.equal(shortHash('a'.repeat(20)), 'a'.repeat(20));
    assert.equal(shortHash(null), '');
    assert.equal(shortHash(undefined), '');
  });
});
