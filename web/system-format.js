// The machine's health in words (GET /api/system): pure, so node --test checks it.

import { formatBytes } from '/format.js';

/** Warnings shown as badges, in order of urgency: [flag, label]. */
const FLAGS = [
  ['undervoltage', 'Under-voltage'],
  ['throttled', 'Throttled'],
  ['frequency_capped', 'CPU capped'],
  ['soft_temperature_limit', 'Hot: soft limit'],
];
const ALERT_LABELS = {
  undervoltage: 'Under-voltage',
  throttled: 'Throttled',
  overheat: 'Overheating',
  disk_low: 'Disk low',
  memory: 'Memory low',
};

/** "6 d 4 h", "3 h 12 min", "42 min" */
export function formatUptime(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s < 0) return '';
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days) return `${days} d ${hours} h`;
  if (hours) return `${hours} h ${minutes} min`;
  return `${minutes} min`;
}

/**
 * The panel's content: rows of [label, value], warnings now, and what happened since boot.
 * @returns {{rows: [string, string][], warnings: string[], sinceBoot: string[], alert: boolean}}
 */
export function describeSystem(data) {
  const rows = [];
  if (typeof data.temperature_c === 'number') {
    rows.push(['Temperature', `${data.temperature_c.toFixed(1)} °C`]);
  }
  if (Array.isArray(data.cpu_percent) && data.cpu_percent.length) {
    rows.push(['CPU', data.cpu_percent.map((p) => `${Math.round(p)} %`).join(' · ')]);
  }
  if (Array.isArray(data.load)) rows.push(['Load', data.load.map((v) => v.toFixed(2)).join(' ')]);
  if (data.memory_total_bytes) {
    const free = formatBytes(data.memory_available_bytes);
    rows.push(['Memory', `${free} free of ${formatBytes(data.memory_total_bytes)}`]);
  }
  if (data.disk_total_bytes) {
    const free = formatBytes(data.disk_free_bytes);
    rows.push(['Disk', `${free} free of ${formatBytes(data.disk_total_bytes)}`]);
  }
  if (typeof data.disk_write_bytes_per_second === 'number') {
    rows.push(['Disk writes', `${formatBytes(data.disk_write_bytes_per_second)}/s`]);
  }
  if (data.process_rss_bytes) {
    const cpu =
      typeof data.process_cpu_percent === 'number'
        ? ` · ${Math.round(data.process_cpu_percent)} % CPU`
        : '';
    rows.push(['Sentrycam', `${formatBytes(data.process_rss_bytes)} memory${cpu}`]);
  }
  if (data.uptime_seconds !== null && data.uptime_seconds !== undefined) {
    rows.push(['Up', formatUptime(data.uptime_seconds)]);
  }
  const flags = data.throttled ?? {};
  const warnings = FLAGS.filter(([flag]) => flags[flag]).map(([, label]) => label);
  if (data.undervoltage && !warnings.includes('Under-voltage')) warnings.unshift('Under-voltage');
  for (const kind of data.alerts ?? []) {
    const label = ALERT_LABELS[kind] ?? kind;
    if (!warnings.includes(label)) warnings.push(label);
  }
  const sinceBoot = FLAGS.filter(([flag]) => flags[`${flag}_since_boot`] && !flags[flag]).map(
    ([, label]) => label,
  );
  return { rows, warnings, sinceBoot, alert: warnings.length > 0 };
}
