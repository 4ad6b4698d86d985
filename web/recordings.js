// A camera's recordings (#/recordings/<camera>[/<ms>]): a timeline of the last 24 hours or
// of a chosen day with the continuously recorded ranges, the event clips and the events;
// tapping a moment plays it. Continuous recording comes in fixed-length segments (one MP4
// each): playback finds the segment covering the moment, seeks into it, and when it ends
// goes on with the next one (preloaded in a second <video>, so the switch is seamless).
//
// window.sentrycam.playback (kept up to date while the view is open):
//   {camera, recording: id|null, kind: 'continuous'|'clip'|null, at: ms|null, playing: bool,
//    switches: n}   at: wall-clock time shown now; switches: segment boundaries crossed

import { getJson, UnauthorizedError } from '/http.js';
import {
  formatClock,
  formatDay,
  formatDuration,
  formatHourMinute,
  formatSeconds,
  kindLabel,
  parseTime,
} from '/format.js';
import { videoUrl } from '/clip.js';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
// Zoom levels: how much time the timeline spans.
const ZOOMS = [
  { span: DAY_MS, label: '24 hours' },
  { span: 4 * HOUR_MS, label: '4 hours' },
  { span: HOUR_MS, label: '1 hour' },
  { span: 10 * 60 * 1000, label: '10 minutes' },
  { span: 2 * 60 * 1000, label: '2 minutes' },
];
// Label spacing: the finest of these that leaves each label room on the screen.
const TICKS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200].map(
  (seconds) => seconds * 1000,
);
const LABEL_PX = 64; // room for "12:45" / "12:45 PM"
const LABEL_SECONDS_PX = 88; // and for "12:45:30 PM"
const LABEL_EDGE = 0.05; // no label this close to either end (it would be cut)
const MERGE_GAP_MS = 3000; // segments this close draw as one covered range
const AT_END_TOLERANCE_MS = 1500; // a moment just past a segment's last frame still plays it
const GAP_NOTE_MS = 5000; // longer jumps between segments are announced
const PAGE_SIZE = 1000; // recordings per request (the API's maximum)
const MAX_PAGES = 20;
const EVENT_PAGE = 500;
const MAX_EVENT_PAGES = 4;
const REFRESH_MS = 60 * 1000; // "last 24 hours" moves on
const RELOAD_MS = 10 * 60 * 1000; // and is fetched again now and then
const LIVE_RENDER_MS = 300;
const KEY_PLAY_DELAY_MS = 450; // arrow keys move the moment; it plays once they rest
const MAX_LISTED_CLIPS = 200;
// A segment's audio may run on a little past its last picture (the sound reaches the
// recorder sooner than the encoded video): the next segment takes over after the last
// picture instead of at the media's end, so that sound is not heard twice.
const BOUNDARY_LOOKAHEAD_S = 0.75;
const FRAME_S = 0.04; // the last picture's own display time

export class RecordingsView {
  #root;
  #live;
  #cameraName;
  #metrics;
  #onClose;
  #els = {};
  #videos = [];
  #active = 0; // index of the visible <video>
  #camera = null;
  #day = ''; // '' = the last 24 hours, else YYYY-MM-DD (local)
  #range = { start: 0, end: 0 };
  #zoom = 0;
  #viewStart = 0;
  #segments = []; // continuous recordings, oldest first
  #clips = []; // clip recordings, oldest first
  #events = []; // events (markers), oldest first
  #continuousNow = null; // id of the segment being written now (from /api/storage), if any
  #loaded = false;
  #failed = false;
  #generation = 0; // bumped by every (re)load: stale answers are dropped
  #cursor = null; // the moment chosen or shown (ms)
  #current = null; // the recording in the visible video
  #currentPartial = false; // loaded while it was still being written
  #standby = null; // the recording preloaded in the other video
  #loadToken = 0;
  #note = '';
  #timers = { refresh: 0, render: 0, key: 0, reload: 0, boundary: 0 };
  #advancing = null; // the recording being left for the next one (async lookup)

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
      zoom: '.rec-zoom',
      goto: '.rec-goto',
      time: '.rec-time',
      timeline: '.timeline',
      track: '.tl-track',
      ranges: '.tl-ranges',
      clipRanges: '.tl-clips',
      markers: '.tl-events',
      cursor: '.tl-cursor',
      labels: '.tl-labels',
      earlier: '.rec-earlier',
      later: '.rec-later',
      status: '.rec-status',
      clips: '.rec-clips',
      clipsNone: '.rec-clips-none',
    })) {
      this.#els[key] = $(selector);
    }
    this.#videos = [...root.querySelectorAll('.rec-video')];
    ZOOMS.forEach((zoom, index) => this.#els.zoom.append(new Option(zoom.label, String(index))));

    this.#els.close.addEventListener('click', () => this.#onClose());
    this.#els.day.addEventListener('change', () => this.#setDay(this.#els.day.value));
    this.#els.last24.addEventListener('click', () => this.#setDay(''));
    this.#els.zoom.addEventListener('change', () => this.#setZoom(Number(this.#els.zoom.value)));
    this.#els.earlier.addEventListener('click', () => this.#pan(-0.5));
    this.#els.later.addEventListener('click', () => this.#pan(0.5));
    this.#els.goto.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#goToTime();
    });
    this.#els.timeline.addEventListener('click', (event) => this.#onTimelineClick(event));
    this.#els.timeline.addEventListener('keydown', (event) => this.#onTimelineKey(event));
    this.#els.clips.addEventListener('click', (event) => this.#onClipClick(event));
    this.#videos.forEach((video, index) => {
      video.addEventListener('ended', () => index === this.#active && this.#advance());
      video.addEventListener('timeupdate', () => index === this.#active && this.#onTime());
      video.addEventListener('play', () => index === this.#active && this.#publish());
      video.addEventListener('pause', () => index === this.#active && this.#publish());
      video.addEventListener('error', () => index === this.#active && this.#onVideoError());
    });
    root.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.isOpen) this.#onClose();
    });
    live.subscribe((message) => this.#onLive(message));
    // The labels depend on the timeline's width (phone turned, window resized).
    let lastWidth = 0;
    new ResizeObserver(() => {
      const width = this.#els.track.clientWidth;
      if (width && width !== lastWidth && this.isOpen) {
        lastWidth = width;
        this.#renderSoon();
      }
    }).observe(this.#els.track);
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
      this.#cursor = null;
      this.#note = '';
      this.#zoom = 0;
      this.#els.zoom.value = '0';
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
    this.#current = null;
    this.#generation += 1;
    for (const timer of Object.values(this.#timers)) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.#metrics.playback = null;
  }

  // ---- loading -------------------------------------------------------------------------------

  #computeRange() {
    if (!this.#day) {
      const end = this.#live.serverNow();
      this.#range = { start: end - DAY_MS, end };
    } else {
      const [y, m, d] = this.#day.split('-').map(Number);
      const start = new Date(y, m - 1, d).getTime();
      this.#range = { start, end: new Date(y, m - 1, d + 1).getTime() }; // 23-25 h with DST
    }
  }

  async #load(playFrom = null, quiet = false) {
    const generation = ++this.#generation;
    this.#computeRange();
    this.#renderDay();
    this.#clampView(this.#viewStart);
    if (!quiet) {
      this.#loaded = false;
      this.#failed = false;
      this.#segments = [];
      this.#clips = [];
      this.#events = [];
      this.#render();
    }
    const { start, end } = this.#range;
    const camera = this.#camera;
    const base = {
      camera,
      since: new Date(start).toISOString(),
      until: new Date(end).toISOString(),
    };
    try {
      const [segments, clips, events, storage] = await Promise.all([
        pages(
          '/api/recordings',
          { ...base, kind: 'continuous', order: 'oldest', limit: PAGE_SIZE },
          'recordings',
          MAX_PAGES,
        ),
        pages(
          '/api/recordings',
          { ...base, kind: 'clip', order: 'oldest', limit: PAGE_SIZE },
          'recordings',
          MAX_PAGES,
        ),
        pages('/api/events', { ...base, limit: EVENT_PAGE }, 'events', MAX_EVENT_PAGES),
        getJson('/api/storage').catch(() => null),
      ]);
      if (generation !== this.#generation) return;
      this.#segments = segments;
      this.#clips = clips;
      this.#events = events.reverse(); // the API lists events newest first
      this.#continuousNow = storage?.recording?.[camera]?.continuous ?? null;
      this.#loaded = true;
    } catch (err) {
      if (err instanceof UnauthorizedError || generation !== this.#generation) return;
      if (!quiet) this.#failed = true;
    }
    clearTimeout(this.#timers.reload);
    this.#timers.reload = setTimeout(() => this.#reloadQuietly(), RELOAD_MS);
    this.#render();
    this.#prepareNext();
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
    const followingEnd = this.#viewStart + ZOOMS[this.#zoom].span >= this.#range.end - 1000;
    this.#computeRange();
    const { start } = this.#range;
    const keep = (recording) => recordingEnd(recording, this.#live) >= start;
    this.#segments = this.#segments.filter(keep);
    this.#clips = this.#clips.filter(keep);
    this.#events = this.#events.filter((event) => (parseTime(event.end) || Infinity) >= start);
    this.#clampView(followingEnd ? Infinity : this.#viewStart);
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
      const list = recording.kind === 'clip' ? this.#clips : this.#segments;
      const index = list.findIndex((item) => item.id === recording.id);
      if (message.phase === 'deleted') {
        if (index >= 0) list.splice(index, 1);
      } else if (index >= 0) {
        list[index] = recording;
      } else if (
        parseTime(recording.start) < this.#range.end ||
        (!this.#day && recording.state === 'recording')
      ) {
        list.push(recording);
        list.sort(byStart);
      }
      if (recording.kind === 'continuous') {
        if (message.phase === 'start') this.#continuousNow = recording.id;
        else if (this.#continuousNow === recording.id) this.#continuousNow = null;
        if (this.#current?.id === recording.id && message.phase !== 'deleted') {
          this.#current = recording;
        }
        this.#prepareNext();
      }
      this.#renderSoon();
    } else if (message.type === 'event' && message.event?.camera === this.#camera) {
      const event = message.event;
      const index = this.#events.findIndex((item) => item.id === event.id);
      if (index >= 0) this.#events[index] = event;
      else if (parseTime(event.start) < this.#range.end || !this.#day) this.#events.push(event);
      this.#renderSoon();
    }
  }

  #renderSoon() {
    clearTimeout(this.#timers.render);
    this.#timers.render = setTimeout(() => this.#render(), LIVE_RENDER_MS);
  }

  // ---- playback ------------------------------------------------------------------------------

  /** Play from the moment MS (wall clock): the continuous segment covering it, else the
   * next one, else an event clip covering it. */
  playAt(ms) {
    if (!Number.isFinite(ms)) return;
    this.#cursor = ms;
    this.#note = '';
    const segment = this.#segments.find(
      (item) =>
        parseTime(item.start) <= ms && ms <= recordingEnd(item, this.#live) + AT_END_TOLERANCE_MS,
    );
    if (segment) {
      this.#play(segment, Math.max(0, (ms - parseTime(segment.start)) / 1000));
    } else {
      const clip = this.#clips.find(
        (item) => parseTime(item.start) <= ms && ms <= recordingEnd(item, this.#live),
      );
      const next = this.#segments.find((item) => parseTime(item.start) > ms);
      if (clip) {
        this.#play(clip, Math.max(0, (ms - parseTime(clip.start)) / 1000));
      } else if (next) {
        this.#note =
          `Nothing was recorded at ${formatClock(ms)}: ` +
          `playing from ${formatClock(parseTime(next.start))}.`;
        this.#play(next, 0);
      } else {
        this.#note = `Nothing was recorded at or after ${formatClock(ms)}.`;
        this.#renderMessage();
      }
    }
    this.#renderCursor();
    this.#followCursor(true);
  }

  get #video() {
    return this.#videos[this.#active];
  }

  get #other() {
    return this.#videos[1 - this.#active];
  }

  #play(recording, offset) {
    const token = ++this.#loadToken;
    const standby = this.#other;
    if (
      this.#standby?.id === recording.id &&
      standby.getAttribute('src') &&
      !standby.error &&
      recording.state === this.#standby.state
    ) {
      this.#swap();
    } else {
      const video = this.#video;
      video.src = videoUrl(recording);
      this.#currentPartial = recording.state === 'recording';
    }
    const video = this.#video;
    this.#current = recording;
    this.#root.dataset.recording = String(recording.id);
    this.#root.dataset.kind = recording.kind;
    const seek = () => {
      if (token !== this.#loadToken) return;
      if (offset > 0.05 && Math.abs(video.currentTime - offset) > 0.05) {
        video.currentTime = offset;
      }
      this.#start(video);
    };
    if (video.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
    else video.addEventListener('loadedmetadata', seek, { once: true });
    this.#renderMessage();
    this.#renderWhich();
    this.#renderClipList();
    this.#prepareNext();
    this.#publish();
  }

  #start(video) {
    video.play().catch((err) => {
      if (err?.name === 'NotAllowedError' && !video.muted) {
        // No fresh tap (the next segment, phones): go on muted; the controls unmute.
        video.muted = true;
        video.play().catch(() => {});
      }
    });
  }

  /** The preloaded video becomes the visible one. */
  #swap() {
    const old = this.#video;
    const next = this.#other;
    const hadFocus = document.activeElement === old;
    next.muted = old.muted;
    next.volume = old.volume;
    next.playbackRate = old.playbackRate;
    this.#active = 1 - this.#active;
    this.#setActive(next, true);
    this.#setActive(old, false);
    old.pause();
    old.removeAttribute('src');
    old.load();
    this.#currentPartial = this.#standby?.state === 'recording';
    this.#standby = null;
    if (hadFocus) next.focus({ preventScroll: true });
  }

  #setActive(video, active) {
    video.classList.toggle('is-active', active);
    video.classList.toggle('is-standby', !active);
    video.controls = active;
    video.tabIndex = active ? 0 : -1;
    if (active) video.removeAttribute('aria-hidden');
    else video.setAttribute('aria-hidden', 'true');
    video.dataset.testid = active ? 'recording-video' : 'recording-video-next';
  }

  /** Load the segment after the current one into the hidden video, ready to take over. */
  #prepareNext() {
    const current = this.#current;
    const next = current?.kind === 'continuous' ? this.#nextSegment(current) : null;
    const wanted = next && next.state !== 'recording' ? next : null;
    if (wanted?.id === this.#standby?.id && wanted?.state === this.#standby?.state) return;
    const standby = this.#other;
    this.#standby = wanted;
    if (!wanted) {
      if (standby.getAttribute('src')) {
        standby.removeAttribute('src');
        standby.load();
      }
      return;
    }
    standby.preload = 'auto';
    standby.src = videoUrl(wanted);
    const overlap = (recordingEnd(current, this.#live) - parseTime(wanted.start)) / 1000;
    if (overlap > 0.05) {
      standby.addEventListener(
        'loadedmetadata',
        () => {
          if (this.#standby?.id === wanted.id) standby.currentTime = overlap;
        },
        { once: true },
      );
    }
  }

  #nextSegment(current) {
    const start = parseTime(current.start);
    return (
      this.#segments.find(
        (item) =>
          parseTime(item.start) > start ||
          (parseTime(item.start) === start && item.id > current.id),
      ) ?? null
    );
  }

  /** The visible video reached its end: go on with what follows. */
  async #advance() {
    const current = this.#current;
    if (!current || this.#advancing === current) return;
    clearTimeout(this.#timers.boundary);
    const video = this.#video;
    if (current.kind === 'clip') {
      this.#note = 'End of the clip.';
      this.#renderMessage();
      return;
    }
    const fresh = this.#segments.find((item) => item.id === current.id) ?? current;
    if (this.#currentPartial) {
      // Loaded while being written: more of it may exist now.
      const position = video.currentTime;
      if (fresh.state === 'recording' || fresh.duration - position > 0.5) {
        this.#cursor = parseTime(fresh.start) + position * 1000;
        this.#play(fresh, position);
        return;
      }
    }
    let next = this.#nextSegment(fresh);
    if (!next) {
      this.#advancing = current;
      try {
        next = await this.#fetchNext(fresh);
      } finally {
        this.#advancing = null;
      }
    }
    if (current !== this.#current) return; // something else was chosen meanwhile
    if (!next) {
      this.#note = 'End of the recordings.';
      this.#renderMessage();
      return;
    }
    const gap = parseTime(next.start) - recordingEnd(fresh, this.#live);
    this.#note = gap > GAP_NOTE_MS ? `Skipped ${spanText(gap)} without recording.` : '';
    const overlap = Math.max(0, -gap / 1000);
    this.#cursor = parseTime(next.start) + overlap * 1000;
    if (this.#metrics.playback) this.#metrics.playback.switches += 1;
    this.#play(next, overlap);
  }

  /** A segment that starts after CURRENT, beyond the loaded range (after midnight). */
  async #fetchNext(current) {
    const params = {
      camera: this.#camera,
      kind: 'continuous',
      order: 'oldest',
      since: new Date(recordingEnd(current, this.#live) + 1).toISOString(),
      limit: 5,
    };
    try {
      const page = await getJson(`/api/recordings?${new URLSearchParams(params)}`);
      const start = parseTime(current.start);
      return (page.recordings ?? []).find((item) => parseTime(item.start) > start) ?? null;
    } catch {
      return null;
    }
  }

  /** Shortly before the current segment's last picture: switch right after it. */
  #watchBoundary() {
    clearTimeout(this.#timers.boundary);
    const current = this.#current;
    const video = this.#video;
    if (
      current?.kind !== 'continuous' ||
      this.#currentPartial ||
      current.state === 'recording' ||
      !(current.duration > 0) ||
      video.paused ||
      !this.#nextSegment(current)
    ) {
      return;
    }
    const remaining = (current.duration + FRAME_S - video.currentTime) / (video.playbackRate || 1);
    if (remaining > BOUNDARY_LOOKAHEAD_S) return;
    const token = this.#loadToken;
    this.#timers.boundary = setTimeout(
      () => {
        if (token !== this.#loadToken || video !== this.#video || video.paused) return;
        if (video.currentTime + 0.01 >= current.duration) this.#advance();
        else this.#watchBoundary();
      },
      Math.max(0, remaining * 1000),
    );
  }

  #onTime() {
    const current = this.#current;
    if (!current) return;
    this.#watchBoundary();
    this.#cursor = parseTime(current.start) + this.#video.currentTime * 1000;
    this.#renderCursor();
    this.#renderClock();
    this.#followCursor(false);
    this.#publish();
  }

  #onVideoError() {
    if (!this.#current) return;
    this.#note = 'This recording cannot be played here.';
    this.#renderMessage();
  }

  #stopVideos() {
    this.#loadToken += 1;
    this.#standby = null;
    this.#current = null;
    this.#videos.forEach((video, index) => {
      video.pause();
      if (video.getAttribute('src')) {
        video.removeAttribute('src');
        video.load();
      }
      this.#setActive(video, index === this.#active);
    });
    delete this.#root.dataset.recording;
    delete this.#root.dataset.kind;
  }

  #publish() {
    if (!this.isOpen) return;
    const previous = this.#metrics.playback;
    const current = this.#current;
    this.#metrics.playback = {
      camera: this.#camera,
      recording: current?.id ?? null,
      kind: current?.kind ?? null,
      at: current ? this.#cursor : null,
      playing: Boolean(current) && !this.#video.paused,
      switches: previous?.camera === this.#camera ? previous.switches : 0,
    };
  }

  // ---- user input ----------------------------------------------------------------------------

  #setDay(day) {
    this.#day = day;
    this.#load(null);
  }

  #setZoom(index) {
    const zoom = Math.max(0, Math.min(ZOOMS.length - 1, index));
    const span = ZOOMS[zoom].span;
    this.#zoom = zoom;
    this.#els.zoom.value = String(zoom);
    const center = this.#cursor ?? this.#lastRecorded() ?? this.#range.end;
    this.#clampView(center - span / 2);
    this.#render();
  }

  #pan(fraction) {
    this.#clampView(this.#viewStart + fraction * ZOOMS[this.#zoom].span);
    this.#render();
  }

  #clampView(start) {
    const span = Math.min(ZOOMS[this.#zoom].span, this.#range.end - this.#range.start);
    const max = this.#range.end - span;
    this.#viewStart = Math.max(
      this.#range.start,
      Math.min(max, Number.isFinite(start) ? start : max),
    );
  }

  /** Keep the playing moment on screen when zoomed in. */
  #followCursor(center) {
    if (this.#cursor === null) return;
    const span = ZOOMS[this.#zoom].span;
    const start = this.#viewStart;
    if (this.#cursor >= start && this.#cursor <= start + span) return;
    this.#clampView(center ? this.#cursor - span / 2 : this.#cursor - span * 0.1);
    this.#render();
  }

  #lastRecorded() {
    const last = this.#segments.at(-1) ?? this.#clips.at(-1);
    return last ? recordingEnd(last, this.#live) : null;
  }

  #momentAt(clientX) {
    const rect = this.#els.track.getBoundingClientRect();
    if (!rect.width) return null;
    const fraction = Math.max(0, Math.min(1, (clientX - rect.left) / rect.width));
    const span = Math.min(ZOOMS[this.#zoom].span, this.#range.end - this.#range.start);
    return this.#viewStart + fraction * span;
  }

  #onTimelineClick(event) {
    const ms = this.#momentAt(event.clientX);
    if (ms === null) return;
    this.#els.timeline.focus({ preventScroll: true });
    this.playAt(ms);
  }

  #onTimelineKey(event) {
    const span = Math.min(ZOOMS[this.#zoom].span, this.#range.end - this.#range.start);
    const from = this.#cursor ?? this.#lastRecorded() ?? this.#range.end;
    const steps = {
      ArrowLeft: -span / 48,
      ArrowRight: span / 48,
      ArrowDown: -span / 48,
      ArrowUp: span / 48,
      PageDown: -span / 8,
      PageUp: span / 8,
    };
    let target = null;
    if (event.key in steps) target = from + steps[event.key];
    else if (event.key === 'Home') target = this.#range.start;
    else if (event.key === 'End') target = this.#lastRecorded() ?? this.#range.end;
    else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      clearTimeout(this.#timers.key);
      this.playAt(from);
      return;
    } else {
      return;
    }
    event.preventDefault();
    target = Math.max(this.#range.start, Math.min(this.#range.end, target));
    this.#cursor = target;
    this.#renderCursor();
    this.#followCursor(false);
    clearTimeout(this.#timers.key);
    this.#timers.key = setTimeout(() => this.playAt(target), KEY_PLAY_DELAY_MS);
  }

  #goToTime() {
    const input = this.#els.time;
    if (!input.value) {
      input.reportValidity();
      return;
    }
    const [h, m, s = 0] = input.value.split(':').map(Number);
    const { start, end } = this.#range;
    const base = new Date(end);
    // The latest moment with that time of day inside the range (today or the day before).
    for (let back = 0; back <= 1; back += 1) {
      const day = this.#day ? new Date(start) : new Date(base);
      if (!this.#day) day.setDate(day.getDate() - back);
      day.setHours(h, m, Math.floor(s), 0);
      const ms = day.getTime();
      if (ms >= start && ms <= end) {
        this.playAt(ms);
        return;
      }
      if (this.#day) break;
    }
    this.#note = `${input.value} is outside the period shown.`;
    this.#renderMessage();
  }

  #onClipClick(event) {
    const button = event.target.closest('.rec-clip');
    if (!button) return;
    const clip = this.#clips.find((item) => item.id === Number(button.dataset.id));
    if (!clip) return;
    this.#cursor = parseTime(clip.start);
    this.#note = '';
    this.#play(clip, 0);
    this.#renderCursor();
    this.#followCursor(true);
    this.#els.media.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  // ---- rendering -----------------------------------------------------------------------------

  #render() {
    if (!this.isOpen) return;
    clearTimeout(this.#timers.render);
    const span = Math.min(ZOOMS[this.#zoom].span, this.#range.end - this.#range.start);
    const viewStart = this.#viewStart;
    const viewEnd = viewStart + span;
    const place = (el, from, to) => {
      const left = Math.max(0, (from - viewStart) / span);
      const right = Math.min(1, (to - viewStart) / span);
      el.style.setProperty('--from', String(left));
      el.style.setProperty('--width', String(Math.max(0, right - left)));
    };

    // Continuous ranges (segments merged), then clips, then events.
    const ranges = mergeRanges(
      this.#segments.map((item) => [parseTime(item.start), recordingEnd(item, this.#live)]),
    );
    this.#els.ranges.replaceChildren(
      ...ranges
        .filter(([a, b]) => b >= viewStart && a <= viewEnd)
        .map(([a, b]) => {
          const el = document.createElement('span');
          el.className = 'tl-range';
          place(el, a, b);
          return el;
        }),
    );
    const clipRanges = mergeRanges(
      this.#clips.map((item) => [parseTime(item.start), recordingEnd(item, this.#live)]),
    );
    this.#els.clipRanges.replaceChildren(
      ...clipRanges
        .filter(([a, b]) => b >= viewStart && a <= viewEnd)
        .map(([a, b]) => {
          const el = document.createElement('span');
          el.className = 'tl-clip';
          place(el, a, b);
          return el;
        }),
    );
    this.#els.markers.replaceChildren(
      ...this.#events
        .filter((event) => {
          const at = parseTime(event.start);
          return at >= viewStart && at <= viewEnd;
        })
        .map((event) => {
          const el = document.createElement('span');
          el.className = `tl-event kind-${event.kind}`;
          el.style.setProperty('--from', String((parseTime(event.start) - viewStart) / span));
          return el;
        }),
    );

    // Labels every tick, in local time, as many as fit.
    const width = this.#els.track.clientWidth || 320;
    const room = (step) => (step < 60 * 1000 ? LABEL_SECONDS_PX : LABEL_PX);
    const tick = TICKS.find((step) => (span / step) * room(step) <= width) ?? TICKS.at(-1);
    const labels = [];
    const offset = new Date(viewStart).getTimezoneOffset() * 60 * 1000;
    for (let t = Math.ceil((viewStart - offset) / tick) * tick + offset; t <= viewEnd; t += tick) {
      const from = (t - viewStart) / span;
      if (from < LABEL_EDGE || from > 1 - LABEL_EDGE) continue;
      const el = document.createElement('span');
      el.className = 'tl-label';
      el.textContent = tick >= 60 * 1000 ? formatHourMinute(t) : formatClock(t);
      el.style.setProperty('--from', String(from));
      labels.push(el);
    }
    this.#els.labels.replaceChildren(...labels);

    // The slider's numbers: seconds into the range.
    const timeline = this.#els.timeline;
    timeline.setAttribute('aria-valuemin', '0');
    timeline.setAttribute('aria-valuemax', String(Math.round(span / 1000)));
    this.#els.earlier.disabled = viewStart <= this.#range.start;
    this.#els.later.disabled = viewEnd >= this.#range.end;
    this.#els.earlier.hidden = this.#els.later.hidden = span >= this.#range.end - this.#range.start;
    timeline.dataset.start = String(viewStart);
    timeline.dataset.span = String(span);

    this.#renderCursor();
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

  #renderCursor() {
    const cursor = this.#els.cursor;
    const span = Math.min(ZOOMS[this.#zoom].span, this.#range.end - this.#range.start);
    const at = this.#cursor;
    const inside = at !== null && at >= this.#viewStart && at <= this.#viewStart + span;
    cursor.hidden = !inside;
    if (inside) cursor.style.setProperty('--from', String((at - this.#viewStart) / span));
    const timeline = this.#els.timeline;
    if (at !== null) {
      timeline.setAttribute('aria-valuenow', String(Math.round((at - this.#viewStart) / 1000)));
      timeline.setAttribute('aria-valuetext', `${formatDay(at)} ${formatClock(at)}`);
    } else {
      timeline.setAttribute('aria-valuenow', '0');
      timeline.setAttribute('aria-valuetext', 'No moment chosen');
    }
  }

  #renderClock() {
    const clock = this.#els.clock;
    const at = this.#current ? this.#cursor : null;
    clock.hidden = at === null;
    if (at === null) return;
    clock.dateTime = new Date(at).toISOString();
    clock.textContent = `${formatDay(at)} ${formatClock(at)}`;
  }

  #renderWhich() {
    const current = this.#current;
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
    if (!text && !this.#current && this.#loaded && (this.#segments.length || this.#clips.length)) {
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
    else if (!this.#segments.length) {
      none = true;
      text =
        this.#continuousNow === null
          ? (this.#day
              ? 'No continuous recording on this day'
              : 'No continuous recording in the ' + 'last 24 hours') +
            ': this camera keeps event clips only, listed below.'
          : 'No continuous recording in this period yet.';
    } else {
      const total = ranges.reduce(
        (sum, [a, b]) => sum + (Math.min(b, this.#range.end) - Math.max(a, this.#range.start)),
        0,
      );
      const period = this.#day ? `on ${formatDay(this.#range.start)}` : 'in the last 24 hours';
      text = `${spanText(total)} of continuous recording ${period}.`;
    }
    status.textContent = text;
    status.classList.toggle('is-none', none);
    this.#root.dataset.continuous = this.#loaded ? String(this.#segments.length > 0) : '';
  }

  #renderClipList() {
    const list = this.#els.clips;
    const clips = this.#clips.slice(-MAX_LISTED_CLIPS).reverse(); // newest first
    const kindsOf = new Map();
    for (const event of this.#events) kindsOf.set(event.id, event.kind);
    const items = clips.map((clip) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'rec-clip';
      button.dataset.id = String(clip.id);
      button.dataset.testid = `recordings-clip-${clip.id}`;
      if (this.#current?.id === clip.id) button.setAttribute('aria-current', 'true');
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

// ---- helpers ---------------------------------------------------------------------------------

/** Every page of a cursor-paged list (at most MAX pages). */
async function pages(path, params, key, max) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < max; page += 1) {
    const query = new URLSearchParams(params);
    if (cursor) query.set('cursor', cursor);
    const body = await getJson(`${path}?${query}`);
    out.push(...(body[key] ?? []));
    cursor = body.next_cursor ?? null;
    if (!cursor) break;
  }
  return out;
}

/** When a recording ends (ms): its last frame, or now while it is being written. */
function recordingEnd(recording, live) {
  const end = parseTime(recording.end);
  if (Number.isFinite(end)) return end;
  const start = parseTime(recording.start);
  if (recording.state === 'recording') return Math.max(start, live.serverNow());
  return start + (recording.duration || 0) * 1000;
}

function byStart(a, b) {
  return parseTime(a.start) - parseTime(b.start) || a.id - b.id;
}

/** [[from, to], ...] sorted and joined where they touch (within MERGE_GAP_MS). */
function mergeRanges(spans) {
  const sorted = spans
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
    .sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a - last[1] <= MERGE_GAP_MS) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** A length of time in words: "under a second", "12 s", "3 h 5 min". */
function spanText(ms) {
  const text = formatDuration(new Date(0).toISOString(), new Date(Math.max(0, ms)).toISOString());
  return text === 'instant' ? 'under a second' : text;
}

/** YYYY-MM-DD of a moment, in local time (what <input type="date"> holds). */
function localDay(ms) {
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
