// Shared wording and formatting for events: kind names, local times, durations.

export const KINDS = ['motion', 'sound', 'tamper', 'frozen', 'offline', 'online'];

const KIND_LABELS = {
  motion: 'Motion',
  sound: 'Sound',
  offline: 'Offline',
  online: 'Back online',
  frozen: 'Frozen picture',
  tamper: 'Tampering',
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
