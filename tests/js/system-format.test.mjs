// web/system-format.js: the machine's health in words.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { describeSystem, formatUptime } from '../../web/system-format.js';

const PI4 = {
  temperature_c: 61.835,
  throttled: {
    undervoltage: true,
    frequency_capped: false,
    throttled: true,
    soft_temperature_limit: false,
    undervoltage_since_boot: true,
    frequency_capped_since_boot: true,
    throttled_since_boot: true,
    soft_temperature_limit_since_boot: false,
  },
  undervoltage: true,
  cpu_percent: [12.4, 3, 0, 99.6],
  load: [1.34, 1.08, 0.97],
  memory_total_bytes: 3978678272,
  memory_available_bytes: 3235192832,
  disk_total_bytes: 31e9,
  disk_free_bytes: 12.5e9,
  disk_write_bytes_per_second: 2048,
  uptime_seconds: 568214.31,
  process_rss_bytes: 150e6,
  process_cpu_percent: 21.6,
  alerts: ['undervoltage', 'throttled'],
};

describe('describeSystem', () => {
  test('a Pi 4 on a weak supply: rows, warnings now, and what happened since boot', () => {
    const { rows, warnings, sinceBoot, alert } = describeSystem(PI4);
    assert.deepEqual(rows, [
      ['Temperature', '61.8 °C'],
      ['CPU', '12 % · 3 % · 0 % · 100 %'],
      ['Load', '1.34 1.08 0.97'],
      ['Memory', '3.2 GB free of 4.0 GB'],
      ['Disk', '12.5 GB free of 31.0 GB'],
      ['Disk writes', '2.0 kB/s'],
      ['Sentrycam', '150 MB memory · 22 % CPU'],
      ['Up', '6 d 13 h'],
    ]);
    assert.deepEqual(warnings, ['Under-voltage', 'Throttled']);
    assert.deepEqual(sinceBoot, ['CPU capped']);
    assert.equal(alert, true);
  });

  test('a PC: no firmware flags, alerts from the server still show', () => {
    const result = describeSystem({ cpu_percent: null, alerts: ['disk_low'], uptime_seconds: 59 });
    assert.deepEqual(result.rows, [['Up', '0 min']]);
    assert.deepEqual(result.warnings, ['Disk low']);
    assert.deepEqual(result.sinceBoot, []);
    assert.deepEqual(describeSystem({ alerts: [] }).warnings, []);
  });
});

test('formatUptime', () => {
  assert.equal(formatUptime(3 * 3600 + 12 * 60), '3 h 12 min');
  assert.equal(formatUptime(-1), '');
  assert.equal(formatUptime('soon'), '');
});
