// Shared wording and formatting: event kinds, local times, durations, sizes.

/** The machine's own alerts (api/health_alerts.py, the encoder fallback): system events. */
export const APPLIANCE_KINDS = [
  'undervoltage',
  'throttled',
  'overheat',
  'disk_low',
  'memory',
  'encoder',
];
export const KINDS = [
  'motion',
  'sound',
  'tamper',
  'frozen',
  'offline',
  'online',
  'storage',
  'mqtt',
  ...APPLIANCE_KINDS,
];
/** Kinds only users who may see every camera ever get (the disk guard's storage alerts, the
 * MQTT broker's refusals, the machine's own alerts). */
export const SYSTEM_KINDS = new Set(['storage', 'mqtt', ...APPLIANCE_KINDS]);
/** The "camera" of events not tied to one camera (storage alerts). */
export const SYSTEM_CAMERA = '*';
let systemHref = '#events';

const KIND_LABELS = {
  motion: 'Motion',
  sound: 'Sound',
  offline: 'Offline',
  online: 'Back online',
  frozen: 'Frozen picture',
  tamper: 'Tampering',
  storage: 'Storage',
  mqtt: 'MQTT',
  undervoltage: 'Under-voltage',
  throttled: 'Throttled',
  overheat: 'Overheating',
  disk_low: 'Disk low',
  memory: 'Memory low',
  encoder: 'Encoder fallback',
};

export function kindLabel(kind) {
  return KIND_LABELS[kind] ?? String(kind);
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});

/** Local time of an ISO instant: just the time today, day and time otherwise. */
export function formatWhen(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const now = new Date();
  const today = date.toDateString() === now.toDateString();
  return today ? timeFormat.format(date) : dateTimeFormat.format(date);
}

/** "ongoing", "instant", "12 s", "3 min 4 s", "2 h 5 min". */
export function formatDuration(startIso, endIso) {
  if (!endIso) return 'ongoing';
  const seconds = Math.max(0, Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000));
  if (!Number.isFinite(seconds)) return '';
  if (seconds === 0) return 'instant';
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/** A length of time (ms) in words: "under a second", "12 s", "3 h 5 min". */
export function formatSpan(ms) {
  const text = formatDuration(new Date(0).toISOString(), new Date(Math.max(0, ms)).toISOString());
  return text === 'instant' ? 'under a second' : text;
}

/** Where a camera's name links to: its full view (system events: the storage panel). */
export function cameraHref(id) {
  return id === SYSTEM_CAMERA ? systemHref : `#/camera/${encodeURIComponent(id)}`;
}

/** Where system events link to: the storage panel for admins (who see it), else the list. */
export function setSystemHref(href) {
  systemHref = href;
}

/** Milliseconds since the epoch of an ISO instant (any number of fractional digits). */
export function parseTime(iso) {
  if (typeof iso !== 'string') return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
}

/** A media length: "0.8 s", "7.7 s", "1:04", "1:02:03". */
export function formatSeconds(seconds) {
  const value = Number(seconds);
  if (!Number.isFinite(value) || value < 0) return '';
  if (value < 10) return `${value.toFixed(1)} s`;
  if (value < 60) return `${Math.round(value)} s`;
  const whole = Math.round(value);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A position inside a clip, for buttons: "0:03", "1:04:05". */
export function formatOffset(seconds) {
  const whole = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Bytes in decimal units, as disks are sold: "812 kB", "1.4 MB", "58.2 GB". */
export function formatBytes(bytes) {
  const value = Number(bytes);
  if (!Number.isFinite(value) || value < 0) return '';
  if (value < 1000) return `${Math.round(value)} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let scaled = value;
  let unit = -1;
  while (scaled >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit += 1;
  }
  return `${scaled < 100 ? scaled.toFixed(1) : Math.round(scaled)} ${units[unit]}`;
}

const clockFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
});
const hourMinuteFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** Local wall-clock time of a moment (ms): "14:03:27". */
export function formatClock(ms) {
  return Number.isFinite(ms) ? clockFormat.format(new Date(ms)) : '';
}

/** Local "14:03" of a moment (ms), for timeline labels. */
export function formatHourMinute(ms) {
  return Number.isFinite(ms) ? hourMinuteFormat.format(new Date(ms)) : '';
}

/** Local day of a moment (ms): "Sun 29 Nov". */
export function formatDay(ms) {
  return Number.isFinite(ms) ? dayFormat.format(new Date(ms)) : '';
}

/** A SHA-256 (hex) shortened for display: "d82164f9…17420f62". */
export function shortHash(hex) {
  const value = String(hex ?? '');
  return value.length > 20 ? `${value.slice(0, 8)}…${value.slice(-8)}` : value;
}
