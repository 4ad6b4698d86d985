// A camera's recordings (#/recordings/<camera>[/<ms>]): a timeline of the last 24 hours or
// of a chosen day with the continuously recorded ranges, the event clips and the events;
// tapping a moment plays it. Continuous recording comes in fixed-length segments (one MP4
// each): playback finds the segment covering the moment, seeks into it, and when it ends
// goes on with the next one (preloaded, so the switch is seamless).
//
// The parts: timeline.js (the maths: period, zoom, positions, labels, what plays a moment),
// timeline-track.js (the timeline on screen: drawing, taps, keys, zoom), recording-lists.js
// (the lists, kept current from the live channel), segment-player.js (the two <video>s,
// preloading, crossing boundaries). This view loads the lists, wires the parts together
// and shows the messages, the status and the list of event clips.
//
// window.sentrycam.playback (kept up to date while the view is open):
//   {camera, recording: id|null, kind: 'continuous'|'clip'|null, at: ms|null, playing: bool,
//    switches: n}   at: wall-clock time shown now; switches: segment boundaries crossed

import { getJson, getPages, UnauthorizedError } from '/http.js';
import {
  formatClock,
  formatDay,
  formatSeconds,
  formatSpan,
  kindLabel,
  parseTime,
} from '/format.js';
import { RecordingLists } from '/recording-lists.js';
import { SegmentPlayer } from '/segment-player.js';
import {
  DAY_MS,
  coveredLength,
  coveredRanges,
  firstAfter,
  lastRecorded,
  localDay,
  periodRange,
  playbackAt,
  recordingEnd,
  timeOfDay,
} from '/timeline.js';
import { TimelineTrack } from '/timeline-track.js';

const GAP_NOTE_MS = 5000; // longer jumps between segments are announced
const PAGE_SIZE = 1000; // recordings per request (the API's maximum)
const MAX_PAGES = 20;
const EVENT_PAGE = 500;
const MAX_EVENT_PAGES = 4;
const REFRESH_MS = 60 * 1000; // "last 24 hours" moves on
const RELOAD_MS = 10 * 60 * 1000; // and is fetched again now and then
const LIVE_RENDER_MS = 300;
const MAX_LISTED_CLIPS = 200;

export class RecordingsView {
  #root;
  #live;
  #cameraName;
  #metrics;
  #onClose;
  #els = {};
  #player;
  #track;
  #camera = null;
  #day = ''; // '' = the last 24 hours, else YYYY-MM-DD (local)
  #range = { start: 0, end: 0 };
  #lists = new RecordingLists();
  #loaded = false;
  #failed = false;
  #generation = 0; // bumped by every (re)load: stale answers are dropped
  #note = '';
  #timers = { refresh: 0, render: 0, reload: 0 };

  /**
   * @param {HTMLElement} root  the #recordings section
   * @param {object} options
   * @param {import('/live.js').LiveClient} options.live
   * @param {(id: string) => string} options.cameraName
   * @param {object} options.metrics  window.sentrycam
   * @param {() => void} options.onClose
   */
  constructor(root, { live, cameraName, metrics, onClose }) {
    this.#root = root;
    this.#live = live;
    this.#cameraName = cameraName;
    this.#metrics = metrics;
    this.#onClose = onClose;
    const $ = (selector) => root.querySelector(selector);
    for (const [key, selector] of Object.entries({
      camera: '.rec-camera',
      close: '.rec-close',
      media: '.rec-media',
      msg: '.rec-msg',
      clock: '.rec-clock',
      which: '.rec-which',
      day: '.rec-day',
      last24: '.rec-last24',
      goto: '.rec-goto',
      time: '.rec-time',
      status: '.rec-status',
      clips: '.rec-clips',
      clipsNone: '.rec-clips-none',
    })) {
      this.#els[key] = $(selector);
    }
    this.#player = new SegmentPlayer([...root.querySelectorAll('.rec-video')], {
      segments: () => this.#lists.segments,
      now: () => this.#now(),
      fetchAfter: (recording) => this.#fetchNext(recording),
      onMoveOn: (recording, offset, gap) => this.#moveOn(recording, offset, gap),
      onEnd: (kind) => this.#onEnd(kind),
      onTime: (recording, seconds) => this.#onTime(recording, seconds),
      onPlayState: () => this.#publish(),
      onError: () => this.#onVideoError(),
    });
    this.#track = new TimelineTrack(root, {
      onPick: (ms) => this.playAt(ms),
      onChange: () => this.#render(),
      onResize: () => this.#renderSoon(),
      visible: () => this.isOpen,
      lastRecorded: () => lastRecorded(this.#lists.segments, this.#lists.clips, this.#now()),
    });

    this.#els.close.addEventListener('click', () => this.#onClose());
    this.#els.day.addEventListener('change', () => this.#setDay(this.#els.day.value));
    this.#els.last24.addEventListener('click', () => this.#setDay(''));
    this.#els.goto.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#goToTime();
    });
    this.#els.clips.addEventListener('click', (event) => this.#onClipClick(event));
    root.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.isOpen) this.#onClose();
    });
    live.subscribe((message) => this.#onLive(message));
  }

  get isOpen() {
    return !this.#root.hidden;
  }

  get camera() {
    return this.#camera;
  }

  /** Show CAMERA's recordings; play from AT (ms) if given. */
  open(camera, at = null) {
    const again = this.isOpen && camera === this.#camera;
    if (!again) {
      this.#stopVideos();
      this.#camera = camera;
      this.#track.reset();
      this.#note = '';
    }
    this.#els.camera.textContent = this.#cameraName(camera);
    this.#root.dataset.camera = camera;
    this.#root.hidden = false;
    const day = at !== null && this.#live.serverNow() - at > DAY_MS ? localDay(at) : '';
    clearInterval(this.#timers.refresh);
    this.#timers.refresh = setInterval(() => this.#tick(), REFRESH_MS);
    if (!again || day !== this.#day || !this.#loaded) {
      this.#day = day;
      this.#load(at);
    } else if (at !== null) {
      this.playAt(at);
    }
    this.#publish();
    if (!again) this.#els.close.focus({ preventScroll: true });
  }

  close() {
    if (!this.isOpen) return;
    this.#root.hidden = true;
    this.#stopVideos();
    this.#generation += 1;
    for (const timer of Object.values(this.#timers)) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.#track.stop();
    this.#metrics.playback = null;
  }

  /** The server's time now (ms): the end of a recording still being written. */
  #now() {
    return this.#live.serverNow();
  }

  // ---- loading -------------------------------------------------------------------------------

  async #load(playFrom = null, quiet = false) {
    const generation = ++this.#generation;
    this.#range = periodRange(this.#day, this.#now());
    this.#renderDay();
    this.#track.setRange(this.#range);
    if (!quiet) {
      this.#loaded = false;
      this.#failed = false;
      this.#lists.clear();
      this.#render();
    }
    const { start, end } = this.#range;
    const camera = this.#camera;
    const base = {
      camera,
      since: new Date(start).toISOString(),
      until: new Date(end).toISOString(),
    };
    const recordings = (kind) => ({ ...base, kind, order: 'oldest', limit: PAGE_SIZE });
    try {
      const [segments, clips, events, storage] = await Promise.all([
        getPages('/api/recordings', recordings('continuous'), 'recordings', MAX_PAGES),
        getPages('/api/recordings', recordings('clip'), 'recordings', MAX_PAGES),
        getPages('/api/events', { ...base, limit: EVENT_PAGE }, 'events', MAX_EVENT_PAGES),
        getJson('/api/storage').catch(() => null),
      ]);
      if (generation !== this.#generation) return;
      const continuousNow = storage?.recording?.[camera]?.continuous ?? null;
      this.#lists.set({ segments, clips, events, continuousNow });
      this.#loaded = true;
    } catch (err) {
      if (err instanceof UnauthorizedError || generation !== this.#generation) return;
      if (!quiet) this.#failed = true;
    }
    clearTimeout(this.#timers.reload);
    this.#timers.reload = setTimeout(() => this.#reloadQuietly(), RELOAD_MS);
    this.#render();
    this.#player.prepareNext();
    if (playFrom !== null && this.#loaded) this.playAt(playFrom);
  }

  /** Fetch again without disturbing playback (the lists only grow or shrink). */
  #reloadQuietly() {
    if (!this.isOpen) return;
    this.#load(null, true);
  }

  #tick() {
    if (!this.isOpen || this.#day) return;
    // The last 24 hours moved on: slide the range, forget what fell out of it.
    const now = this.#now();
    this.#range = periodRange(this.#day, now);
    this.#track.slide(this.#range);
    this.#lists.trim(this.#range.start, now);
    this.#render();
  }

  // ---- live updates --------------------------------------------------------------------------

  #onLive(message) {
    if (!this.isOpen || !this.#loaded) return;
    if (message.type === 'resync' || (message.type === 'hello' && !message.resumed)) {
      this.#reloadQuietly(); // messages were missed: the lists may be out of date
      return;
    }
    if (message.type === 'recording' && message.recording?.camera === this.#camera) {
      const recording = message.recording;
      this.#lists.applyRecording(message.phase, recording, this.#range, this.#day);
      if (recording.kind === 'continuous') {
        if (message.phase !== 'deleted') this.#player.refresh(recording);
        this.#player.prepareNext();
      }
      this.#renderSoon();
    } else if (message.type === 'event' && message.event?.camera === this.#camera) {
      this.#lists.applyEvent(message.event, this.#range, this.#day);
      this.#renderSoon();
    }
  }

  #renderSoon() {
    clearTimeout(this.#timers.render);
    this.#timers.render = setTimeout(() => this.#render(), LIVE_RENDER_MS);
  }

  // ---- playback ------------------------------------------------------------------------------

  /** Play from the moment MS (wall clock): the continuous segment covering it, else an
   * event clip covering it, else the next segment. */
  playAt(ms) {
    if (!Number.isFinite(ms)) return;
    this.#track.cursor = ms;
    this.#note = '';
    const found = playbackAt(ms, this.#lists.segments, this.#lists.clips, this.#now());
    if (found?.later) {
      const from = formatClock(parseTime(found.recording.start));
      this.#note = `Nothing was recorded at ${formatClock(ms)}: playing from ${from}.`;
    }
    if (found) {
      this.#play(found.recording, found.offset);
    } else {
      this.#note = `Nothing was recorded at or after ${formatClock(ms)}.`;
      this.#renderMessage();
    }
    this.#track.renderCursor();
    this.#track.follow(true);
  }

  #play(recording, offset) {
    this.#player.play(recording, offset);
    this.#root.dataset.recording = String(recording.id);
    this.#root.dataset.kind = recording.kind;
    this.#renderMessage();
    this.#renderWhich();
    this.#renderClipList();
    this.#player.prepareNext();
    this.#publish();
  }

  /** The player goes on with RECORDING from OFFSET (s): more of the same, or the next
   * segment after GAP ms without recording. */
  #moveOn(recording, offset, gap) {
    if (gap !== null) {
      this.#note = gap > GAP_NOTE_MS ? `Skipped ${formatSpan(gap)} without recording.` : '';
      if (this.#metrics.playback) this.#metrics.playback.switches += 1;
    }
    this.#track.cursor = parseTime(recording.start) + offset * 1000;
    this.#play(recording, offset);
  }

  #onEnd(kind) {
    this.#note = kind === 'clip' ? 'End of the clip.' : 'End of the recordings.';
    this.#renderMessage();
  }

  /** A segment that starts after CURRENT, beyond the loaded range (after midnight). */
  async #fetchNext(current) {
    const params = {
      camera: this.#camera,
      kind: 'continuous',
      order: 'oldest',
      since: new Date(recordingEnd(current, this.#now()) + 1).toISOString(),
      limit: 5,
    };
    try {
      const page = await getJson(`/api/recordings?${new URLSearchParams(params)}`);
      return firstAfter(page.recordings ?? [], parseTime(current.start)) ?? null;
    } catch {
      return null;
    }
  }

  #onTime(recording, seconds) {
    this.#track.cursor = parseTime(recording.start) + seconds * 1000;
    this.#track.renderCursor();
    this.#renderClock();
    this.#track.follow(false);
    this.#publish();
  }

  #onVideoError() {
    if (!this.#player.current) return;
    this.#note = 'This recording cannot be played here.';
    this.#renderMessage();
  }

  #stopVideos() {
    this.#player.stop();
    delete this.#root.dataset.recording;
    delete this.#root.dataset.kind;
  }

  #publish() {
    if (!this.isOpen) return;
    const previous = this.#metrics.playback;
    const current = this.#player.current;
    this.#metrics.playback = {
      camera: this.#camera,
      recording: current?.id ?? null,
      kind: current?.kind ?? null,
      at: current ? this.#track.cursor : null,
      playing: Boolean(current) && !this.#player.paused,
      switches: previous?.camera === this.#camera ? previous.switches : 0,
    };
  }

  // ---- user input ----------------------------------------------------------------------------

  #setDay(day) {
    this.#day = day;
    this.#load(null);
  }

  #goToTime() {
    const input = this.#els.time;
    if (!input.value) {
      input.reportValidity();
      return;
    }
    const ms = timeOfDay(input.value, this.#day, this.#range);
    if (ms !== null) {
      this.playAt(ms);
      return;
    }
    this.#note = `${input.value} is outside the period shown.`;
    this.#renderMessage();
  }

  #onClipClick(event) {
    const button = event.target.closest('.rec-clip');
    if (!button) return;
    const clip = this.#lists.clips.find((item) => item.id === Number(button.dataset.id));
    if (!clip) return;
    this.#track.cursor = parseTime(clip.start);
    this.#note = '';
    this.#play(clip, 0);
    this.#track.renderCursor();
    this.#track.follow(true);
    this.#els.media.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  // ---- rendering -----------------------------------------------------------------------------

  #render() {
    if (!this.isOpen) return;
    clearTimeout(this.#timers.render);
    // Continuous ranges (segments merged), then clips, then events.
    const now = this.#now();
    const ranges = coveredRanges(this.#lists.segments, now);
    this.#track.draw(ranges, coveredRanges(this.#lists.clips, now), this.#lists.events);
    this.#renderStatus(ranges);
    this.#renderClipList();
    this.#renderMessage();
    this.#renderWhich();
    this.#renderClock();
  }

  #renderDay() {
    const day = this.#els.day;
    day.max = localDay(Date.now());
    day.value = this.#day;
    this.#els.last24.hidden = !this.#day;
  }

  #renderClock() {
    const clock = this.#els.clock;
    const at = this.#player.current ? this.#track.cursor : null;
    clock.hidden = at === null;
    if (at === null) return;
    clock.dateTime = new Date(at).toISOString();
    clock.textContent = `${formatDay(at)} ${formatClock(at)}`;
  }

  #renderWhich() {
    const current = this.#player.current;
    const which = this.#els.which;
    if (!current) {
      which.textContent = '';
      return;
    }
    const from = formatClock(parseTime(current.start));
    const to = current.end ? formatClock(parseTime(current.end)) : 'now';
    const what = current.kind === 'clip' ? 'Event clip' : 'Continuous recording';
    which.textContent =
      `${what}, ${from} – ${to}` + (current.state === 'recording' ? ' (still recording)' : '');
  }

  #renderMessage() {
    const msg = this.#els.msg;
    let text = this.#note;
    const some = this.#lists.segments.length || this.#lists.clips.length;
    if (!text && !this.#player.current && this.#loaded && some) {
      text = 'Tap the timeline to play from that moment.';
    }
    msg.textContent = text;
    msg.hidden = !text;
  }

  #renderStatus(ranges) {
    const status = this.#els.status;
    let text;
    let none = false;
    if (this.#failed) text = 'Could not load the recordings.';
    else if (!this.#loaded) text = 'Loading recordings…';
    else if (!this.#lists.segments.length) {
      none = true;
      const where = this.#day ? 'on this day' : 'in the last 24 hours';
      text =
        this.#lists.continuousNow === null
          ? `No continuous recording ${where}: this camera keeps event clips only, listed below.`
          : 'No continuous recording in this period yet.';
    } else {
      const total = coveredLength(ranges, this.#range);
      const period = this.#day ? `on ${formatDay(this.#range.start)}` : 'in the last 24 hours';
      text = `${formatSpan(total)} of continuous recording ${period}.`;
    }
    status.textContent = text;
    status.classList.toggle('is-none', none);
    this.#root.dataset.continuous = this.#loaded ? String(this.#lists.segments.length > 0) : '';
  }

  #renderClipList() {
    const list = this.#els.clips;
    const clips = this.#lists.clips.slice(-MAX_LISTED_CLIPS).reverse(); // newest first
    const kindsOf = new Map();
    for (const event of this.#lists.events) kindsOf.set(event.id, event.kind);
    const current = this.#player.current;
    const items = clips.map((clip) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'rec-clip';
      button.dataset.id = String(clip.id);
      button.dataset.testid = `recordings-clip-${clip.id}`;
      if (current?.id === clip.id) button.setAttribute('aria-current', 'true');
      const time = document.createElement('time');
      time.dateTime = clip.start;
      const start = parseTime(clip.start);
      time.textContent = this.#day
        ? formatClock(start)
        : `${formatDay(start)} ${formatClock(start)}`;
      const kinds = [...new Set((clip.events ?? []).map((id) => kindsOf.get(id)).filter(Boolean))];
      const what = document.createElement('span');
      what.className = 'rec-clip-what';
      what.textContent = kinds.length ? kinds.map(kindLabel).join(', ') : 'Event clip';
      const length = document.createElement('span');
      length.className = 'rec-clip-length';
      length.textContent = clip.state === 'recording' ? 'recording' : formatSeconds(clip.duration);
      button.append(time, what, length);
      button.setAttribute(
        'aria-label',
        `Play the ${what.textContent.toLowerCase()} clip of ` +
          `${time.textContent} (${length.textContent})`,
      );
      item.append(button);
      return item;
    });
    list.replaceChildren(...items);
    this.#els.clipsNone.hidden = !this.#loaded || items.length > 0;
  }
}
