// Arming schedules, pure: the config's weekly periods ({days, start, end}, local times
// 'HH:MM', an end at or before the start runs into the next day) as minutes of the week,
// for the week preview and the checks made before saving. The server decides what is
// armed when (camera/schedule.py); this only shows it.

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
export const DAY_MINUTES = 24 * 60;
const CLOCK = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

export const PRESETS = {
  nights: { label: 'Every night 22:00-07:00', days: [...DAYS], start: '22:00', end: '07:00' },
  workdays: {
    label: 'Weekdays 09:00-17:00',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '09:00',
    end: '17:00',
  },
  weekend: { label: 'All weekend', days: ['sat', 'sun'], start: '00:00', end: '00:00' },
};

/** Minutes since midnight of 'HH:MM' ('24:00' is 1440), or null. */
export function minutes(clock) {
  if (clock === '24:00') return DAY_MINUTES;
  if (!CLOCK.test(clock ?? '')) return null;
  const [h, m] = clock.split(':').map(Number);
  return h * 60 + m;
}

/** What is wrong with a period, or null. */
export function periodProblem(period) {
  if (!period.days?.length) return 'choose at least one day';
  if (minutes(period.start) === null || period.start === '24:00') return 'the start is not HH:MM';
  if (minutes(period.end) === null) return 'the end is not HH:MM';
  return null;
}

/** The armed stretches of each day of the week: 7 lists of merged [from, to] minutes. */
export function weekBars(periods) {
  const days = DAYS.map(() => []);
  for (const period of periods) {
    if (periodProblem(period)) continue;
    const start = minutes(period.start);
    let end = minutes(period.end);
    if (end <= start) end += DAY_MINUTES; // overnight (or all day when equal)
    for (const day of period.days) {
      const index = DAYS.indexOf(day);
      days[index].push([start, Math.min(end, DAY_MINUTES)]);
      if (end > DAY_MINUTES) days[(index + 1) % 7].push([0, end - DAY_MINUTES]);
    }
  }
  return days.map(merge);
}

function merge(spans) {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const out = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** Total armed hours in a week (a sanity figure shown under the preview). */
export function armedHours(periods) {
  const total = weekBars(periods)
    .flat()
    .reduce((sum, [from, to]) => sum + to - from, 0);
  return Math.round((total / 60) * 10) / 10;
}

/** The schedule object the API takes, from what the form holds. */
export function scheduleConfig(mode, timezone, periods) {
  const body = { mode, timezone: timezone || null };
  body.periods =
    mode === 'weekly'
      ? periods.map((p) => ({
          days: DAYS.filter((d) => p.days.includes(d)),
          start: p.start,
          end: p.end,
        }))
      : [];
  return body;
}

/**
 * A sentence about the arming now and next, from GET /api/cameras/{id}/arm.
 * @param {object} arm  {armed, mode, scheduled, override, next_change, next_armed, timezone}
 * @param {(ms: number) => string} when  formats a moment (the camera's time zone)
 */
export function describeArming(arm, when) {
  const now = arm.armed ? 'Armed' : 'Disarmed';
  const why = arm.override ? ' by hand' : arm.mode === 'weekly' ? ' by the schedule' : '';
  let next = '';
  if (arm.next_change) {
    const at = when(Date.parse(arm.next_change));
    next = ` · ${arm.next_armed ? 'arms' : 'disarms'} at ${at}`;
  } else if (arm.override) {
    next = ' · until changed by hand';
  }
  return `${now}${why}${next}`;
}
