// A camera's arming schedule: always, never, or weekly periods in the camera's time zone,
// with a week preview, the arming now and its next change (GET /api/cameras/{id}/arm), and
// "arm now" / "disarm now", which last until the schedule's next change. The maths is in
// schedule-math.js; the server decides (camera/schedule.py).

import { getJson } from '/http.js';
import {
  DAYS,
  DAY_MINUTES,
  DAY_NAMES,
  PRESETS,
  armedHours,
  describeArming,
  periodProblem,
  scheduleConfig,
  weekBars,
} from '/schedule-math.js';
import { h, note, problemText, select, send } from '/ui.js';

const MODES = [
  ['always', 'Always armed'],
  ['never', 'Never armed'],
  ['weekly', 'On a schedule'],
];

export class SchedulePanel {
  el;
  #ctx;
  #mode;
  #zone;
  #periods = [];
  #rows = h('ul', { class: 'set-periods', testid: 'schedule-periods' });
  #week = h('div', { class: 'set-week', testid: 'schedule-week' });
  #hours = h('p', { class: 'field-help' });
  #weekly = h('div');
  #now = h('p', { class: 'set-now', testid: 'arming-now', role: 'status' });
  #status = h('p', { role: 'status', hidden: true, testid: 'schedule-status' });
  #unsubscribe = null;
  #closed = false;

  constructor(ctx) {
    this.#ctx = ctx;
    const schedule = ctx.camera.schedule;
    this.#periods = schedule.periods.map((p) => ({ ...p, days: [...p.days] }));
    this.#mode = h(
      'div',
      { class: 'set-choice', role: 'radiogroup', 'aria-label': 'When the camera is armed' },
      MODES.map(([value, label]) =>
        h(
          'label',
          { class: 'set-radio' },
          h('input', {
            type: 'radio',
            name: 'mode',
            value,
            checked: schedule.mode === value,
            testid: `schedule-mode-${value}`,
            onchange: () => this.#render(),
          }),
          h('span', { text: label }),
        ),
      ),
    );
    this.#zone = select(zoneOptions(schedule.timezone), schedule.timezone ?? '', {
      testid: 'schedule-timezone',
      'aria-label': 'Time zone',
    });
    const preset = (key) =>
      h('button', {
        type: 'button',
        class: 'btn btn-small',
        text: `+ ${PRESETS[key].label}`,
        testid: `schedule-preset-${key}`,
        onclick: () => this.#addPeriod(PRESETS[key]),
      });
    this.#weekly.append(
      h('label', { class: 'set-slider' }, h('span', { text: 'Time zone' }), this.#zone),
      this.#rows,
      h(
        'div',
        { class: 'set-toolbar' },
        preset('nights'),
        preset('workdays'),
        preset('weekend'),
        h('button', {
          type: 'button',
          class: 'btn btn-small',
          text: '+ Period',
          testid: 'schedule-add',
          onclick: () => this.#addPeriod({ days: [...DAYS], start: '08:00', end: '18:00' }),
        }),
      ),
      this.#week,
      this.#hours,
    );
    this.el = h(
      'div',
      { class: 'set-page' },
      h(
        'div',
        { class: 'set-card' },
        this.#now,
        h(
          'div',
          { class: 'set-toolbar' },
          h('button', {
            type: 'button',
            class: 'btn btn-small',
            text: 'Arm now',
            testid: 'arm-now',
            onclick: () => this.#arm(true),
          }),
          h('button', {
            type: 'button',
            class: 'btn btn-small',
            text: 'Disarm now',
            testid: 'disarm-now',
            onclick: () => this.#arm(false),
          }),
        ),
        h('p', {
          class: 'field-help',
          text: 'Arming or disarming by hand lasts until the schedule next changes.',
        }),
      ),
      h(
        'fieldset',
        { class: 'set-card' },
        h('legend', { text: 'Armed (alerts on)' }),
        this.#mode,
        this.#weekly,
      ),
      this.#status,
      h(
        'div',
        { class: 'set-actions' },
        h('button', {
          type: 'button',
          class: 'btn btn-primary',
          text: 'Save schedule',
          testid: 'schedule-save',
          onclick: () => this.#save(),
        }),
      ),
    );
    this.#unsubscribe = ctx.live.subscribe((message) => {
      if (message.type === 'armed' && message.camera === ctx.id) this.#loadArming();
    });
    this.#render();
    this.#loadArming();
  }

  close() {
    this.#closed = true;
    this.#unsubscribe?.();
  }

  get #modeValue() {
    return this.#mode.querySelector('input:checked')?.value ?? 'always';
  }

  #addPeriod(period) {
    this.#periods.push({ days: [...period.days], start: period.start, end: period.end });
    this.#render();
  }

  #render() {
    this.#weekly.hidden = this.#modeValue !== 'weekly';
    this.#rows.replaceChildren(...this.#periods.map((period, index) => this.#row(period, index)));
    const bars = weekBars(this.#periods);
    this.#week.replaceChildren(
      ...bars.map((spans, day) =>
        h(
          'div',
          { class: 'set-week-row' },
          h('span', { class: 'set-week-day', text: DAY_NAMES[day] }),
          h(
            'span',
            { class: 'set-week-track' },
            spans.map(([from, to]) => {
              const bar = h('span', { class: 'set-week-bar' });
              bar.style.left = `${(from / DAY_MINUTES) * 100}%`;
              bar.style.width = `${((to - from) / DAY_MINUTES) * 100}%`;
              return bar;
            }),
          ),
        ),
      ),
    );
    this.#hours.textContent = `Armed ${armedHours(this.#periods)} hours a week.`;
  }

  #row(period, index) {
    const chips = DAYS.map((day, d) =>
      h('button', {
        type: 'button',
        class: 'set-chip',
        text: DAY_NAMES[d],
        'aria-pressed': String(period.days.includes(day)),
        testid: `period-${index}-${day}`,
        onclick: () => {
          period.days = period.days.includes(day)
            ? period.days.filter((x) => x !== day)
            : [...period.days, day];
          this.#render();
        },
      }),
    );
    const time = (key) =>
      h('input', {
        type: 'time',
        value: period[key] === '24:00' ? '00:00' : period[key],
        testid: `period-${index}-${key}`,
        'aria-label': key === 'start' ? 'From' : 'Until',
        onchange: (e) => {
          period[key] = e.target.value;
          this.#render();
        },
      });
    const problem = periodProblem(period);
    return h(
      'li',
      { class: 'set-period' },
      h('div', { class: 'set-chips' }, chips),
      h(
        'div',
        { class: 'set-times' },
        time('start'),
        h('span', { text: '–' }),
        time('end'),
        h('button', {
          type: 'button',
          class: 'btn btn-small',
          text: 'Remove',
          onclick: () => {
            this.#periods.splice(index, 1);
            this.#render();
          },
        }),
      ),
      problem ? h('p', { class: 'field-error', text: problem }) : null,
    );
  }

  async #loadArming() {
    try {
      const arm = await getJson(`/api/cameras/${encodeURIComponent(this.#ctx.id)}/arm`);
      if (this.#closed) return;
      this.#now.textContent = describeArming(arm, (ms) => formatIn(ms, arm.timezone));
      this.#now.classList.toggle('is-armed', arm.armed);
    } catch (err) {
      this.#now.textContent = `Arming unknown: ${err.message}`;
    }
  }

  async #arm(armed) {
    const result = await send('PUT', `/api/cameras/${encodeURIComponent(this.#ctx.id)}/arm`, {
      armed,
    });
    if (!result.ok) return note(this.#status, problemText(result), 'error');
    this.#loadArming();
  }

  async #save() {
    const mode = this.#modeValue;
    const wrong =
      mode === 'weekly'
        ? (this.#periods.map(periodProblem).find(Boolean) ??
          (this.#periods.length ? null : 'add at least one period'))
        : null;
    if (wrong) return note(this.#status, `Not saved: ${wrong}.`, 'error');
    const schedule = scheduleConfig(mode, this.#zone.value, this.#periods);
    const result = await this.#ctx.save({ schedule });
    if (!result.ok) return note(this.#status, problemText(result), 'error');
    note(this.#status, 'Saved: it applies now.', 'ok');
    this.#loadArming();
  }
}

function zoneOptions(current) {
  const browser = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zones = new Set([browser, 'UTC', ...(Intl.supportedValuesOf?.('timeZone') ?? [])]);
  if (current) zones.add(current);
  return [['', 'The server’s time zone'], ...[...zones].sort().map((z) => [z, z])];
}

function formatIn(ms, timeZone) {
  const options = { weekday: 'short', hour: '2-digit', minute: '2-digit' };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(ms);
  } catch {
    return new Intl.DateTimeFormat(undefined, options).format(ms);
  }
}
