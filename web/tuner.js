// The motion tuner: while the sliders move, the live picture shows what the detector sees
// with those settings (changed pixels, the moving areas that count, the score against the
// smallest object, and when an event would start), beside what the saved settings do. The
// trial runs on the server on a copy of the detector (WebSocket /api/cameras/{id}/tuner,
// docs/api.md); nothing changes until Save.
//
// Test hook: window.sentrycam.tuner = {reports, last, trial} (reports received, the last
// one, the trial settings sent last).

import {
  minAreaOf,
  percent,
  scoreShare,
  sensitivityOf,
  sliderOf,
  thresholdOf,
  unpackBits,
} from '/motion-scale.js';
import { h, note, problemText } from '/ui.js';

const SEND_EVERY_MS = 150; // slider moves are sent at most this often
const REOPEN_MS = 1500; // after the camera restarted (close code 4410)

export class MotionTuner {
  el;
  #ctx;
  #ws = null;
  #closed = false;
  #canvas = h('canvas', { class: 'set-tuner-canvas', testid: 'tuner-canvas' });
  #image = null;
  #inputs = {};
  #out = {};
  #status = h('p', { role: 'status', hidden: true, testid: 'tuner-status' });
  #sendTimer = 0;
  #hook;

  constructor(ctx) {
    this.#ctx = ctx;
    const motion = ctx.camera.motion;
    this.#hook = { reports: 0, last: null, trial: null };
    if (window.sentrycam) window.sentrycam.tuner = this.#hook;
    const media = ctx.media();
    media.append(this.#canvas);
    const slider = (key, value, label) => {
      this.#inputs[key] = h('input', {
        type: 'range',
        min: key === 'area' ? 0 : 1,
        max: 100,
        step: key === 'area' ? 0.1 : 1,
        value,
        testid: `tuner-${key}`,
        'aria-label': label,
        oninput: () => this.#changed(),
      });
      this.#out[key] = h('output', { class: 'set-value' });
      return h(
        'label',
        { class: 'set-slider' },
        h('span', { text: label }),
        this.#inputs[key],
        this.#out[key],
      );
    };
    this.#inputs.frames = h('input', {
      type: 'number',
      min: 1,
      max: 20,
      value: motion.frames_to_start,
      testid: 'tuner-frames',
      oninput: () => this.#changed(),
    });
    for (const key of ['score', 'threshold', 'streak', 'verdict', 'saved']) {
      this.#out[key] = h('p', { class: `set-read set-read-${key}`, testid: `tuner-${key}` });
    }
    this.#out.bar = h('span', { class: 'set-bar-fill' });
    this.el = h(
      'div',
      { class: 'set-editor' },
      media,
      h(
        'div',
        { class: 'set-meter', 'aria-hidden': 'true' },
        this.#out.bar,
        h('span', { class: 'set-bar-line' }),
      ),
      this.#out.score,
      this.#out.verdict,
      slider('sensitivity', sensitivityOf(motion.threshold), 'Sensitivity'),
      slider('area', sliderOf(motion.min_area), 'Smallest object'),
      h(
        'label',
        { class: 'set-slider' },
        h('span', { text: 'Pictures in a row before an event' }),
        this.#inputs.frames,
      ),
      this.#out.threshold,
      this.#out.streak,
      this.#out.saved,
      this.#status,
      h(
        'div',
        { class: 'set-actions' },
        h('button', {
          type: 'button',
          class: 'btn',
          text: 'Back to saved',
          onclick: () => this.#reset(),
        }),
        h('button', {
          type: 'button',
          class: 'btn btn-primary',
          text: 'Save',
          testid: 'tuner-save',
          onclick: () => this.#save(),
        }),
      ),
    );
    this.#labels();
    this.#open();
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#sendTimer);
    this.#ws?.close();
    this.#canvas.remove();
  }

  #trial() {
    return {
      threshold: thresholdOf(Number(this.#inputs.sensitivity.value)),
      min_area: minAreaOf(Number(this.#inputs.area.value)),
      frames_to_start: Math.min(
        20,
        Math.max(1, Math.round(Number(this.#inputs.frames.value) || 1)),
      ),
    };
  }

  #labels() {
    const trial = this.#trial();
    this.#out.sensitivity.textContent = `${this.#inputs.sensitivity.value} (changes over ${trial.threshold} levels)`;
    this.#out.area.textContent = `${percent(trial.min_area)} of the picture`;
  }

  #changed() {
    this.#labels();
    if (this.#sendTimer) return;
    this.#sendTimer = setTimeout(() => {
      this.#sendTimer = 0;
      this.#send();
    }, SEND_EVERY_MS);
  }

  #send() {
    const trial = this.#trial();
    this.#hook.trial = trial;
    if (this.#ws?.readyState === WebSocket.OPEN)
      this.#ws.send(JSON.stringify({ type: 'trial', motion: trial }));
  }

  #open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(
      `${scheme}://${location.host}/api/cameras/${encodeURIComponent(this.#ctx.id)}/tuner`,
    );
    this.#ws = ws;
    ws.addEventListener('open', () => this.#send());
    ws.addEventListener('message', (event) => this.#onMessage(JSON.parse(event.data)));
    ws.addEventListener('close', (event) => {
      if (this.#closed || ws !== this.#ws) return;
      if (event.code === 4410) setTimeout(() => !this.#closed && this.#open(), REOPEN_MS);
      else
        note(
          this.#status,
          `The tuner stopped (${event.reason || event.code}). Open this tab again.`,
          'error',
        );
    });
  }

  #onMessage(message) {
    if (message.type === 'error') return note(this.#status, message.detail, 'error');
    if (message.type !== 'frame') return;
    this.#hook.reports += 1;
    this.#hook.last = message;
    this.#draw(message);
    const counts = message.score >= message.min_area && message.motion;
    this.#out.bar.style.width = `${scoreShare(message.score, message.min_area) * 100}%`;
    this.#out.bar.classList.toggle('is-over', counts);
    this.#out.score.textContent = `Moving: ${percent(message.score)} of the picture · counts from ${percent(message.min_area)}`;
    const lowered =
      message.effective_threshold < message.threshold
        ? ` (${message.effective_threshold} in this flat, dark scene)`
        : '';
    this.#out.threshold.textContent = `A pixel counts when it changes by ${message.threshold} levels${lowered}.`;
    this.#out.streak.textContent = `Motion in ${Math.min(message.streak, message.frames_to_start)} of the ${message.frames_to_start} pictures in a row an event needs.`;
    const verdict = message.would_start
      ? 'This would start an event now'
      : message.active
        ? 'An event would be going on'
        : message.recalibrated
          ? 'The light changed all at once: starting afresh'
          : 'Nothing that would start an event';
    this.#out.verdict.textContent = verdict;
    this.#out.verdict.classList.toggle('is-event', message.would_start || message.active);
    const saved = message.saved;
    this.#out.saved.textContent = saved
      ? `With the saved settings: ${saved.motion ? `moving ${percent(saved.score)}` : 'no motion'}${saved.event === 'start' ? ', an event starts' : ''}.`
      : 'Motion detection is off in the saved settings.';
  }

  #draw(report) {
    const { width, height } = report;
    const canvas = this.#canvas;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
      this.#image = null;
    }
    const context = canvas.getContext('2d');
    this.#image ??= context.createImageData(width, height);
    const bits = unpackBits(report.changed, width, height);
    const data = this.#image.data;
    for (let i = 0; i < bits.length; i += 1) {
      const on = bits[i];
      data[i * 4] = 255;
      data[i * 4 + 1] = 80;
      data[i * 4 + 2] = 60;
      data[i * 4 + 3] = on ? 150 : 0;
    }
    context.putImageData(this.#image, 0, 0);
    context.strokeStyle = report.would_start || report.active ? '#f2b84b' : '#8ab4f8';
    context.lineWidth = 1.5;
    for (const [x, y, w, hgt] of report.regions)
      context.strokeRect(x * width, y * height, w * width, hgt * height);
  }

  #reset() {
    const motion = this.#ctx.camera.motion;
    this.#inputs.sensitivity.value = sensitivityOf(motion.threshold);
    this.#inputs.area.value = sliderOf(motion.min_area);
    this.#inputs.frames.value = motion.frames_to_start;
    this.#changed();
  }

  async #save() {
    const result = await this.#ctx.save({ motion: this.#trial() });
    if (result.ok)
      note(this.#status, 'Saved: the detector uses these settings from its next picture.', 'ok');
    else note(this.#status, problemText(result), 'error');
  }
}
