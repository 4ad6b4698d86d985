// Plays recordings in two stacked <video> elements: the visible one, and a hidden one that
// preloads the segment that follows, so that playback goes on across a boundary between
// continuous segments without a gap (the preloaded video is swapped in). Shortly before the
// visible segment's last picture a timer is armed, so the switch happens right after it.
// At a segment's end it finds what follows (in the owner's list, else fetchAfter: beyond
// the period loaded) and asks the owner to go on there (onMoveOn), or says it is the end.

import { videoUrl } from '/clip.js';
import { parseTime } from '/format.js';
import { nextSegment, recordingEnd } from '/timeline.js';

// A segment's audio may run on a little past its last picture (the sound reaches the
// recorder sooner than the encoded video): the next segment takes over after the last
// picture instead of at the media's end, so that sound is not heard twice.
const BOUNDARY_LOOKAHEAD_S = 0.75;
const FRAME_S = 0.04; // the last picture's own display time

export class SegmentPlayer {
  #videos;
  #segments;
  #now;
  #fetchAfter;
  #onMoveOn;
  #onEnd;
  #active = 0; // index of the visible <video>
  #current = null; // the recording in the visible video
  #partial = false; // loaded while it was still being written
  #standby = null; // the recording preloaded in the other video
  #token = 0; // bumped by every play() and stop(): stale callbacks do nothing
  #boundaryTimer = 0;
  #advancing = null; // the recording being left for the next one (async lookup)

  /**
   * @param {HTMLVideoElement[]} videos  the two .rec-video elements
   * @param {object} options
   * @param {() => object[]} options.segments  the continuous segments known, oldest first
   * @param {() => number} options.now  the server's time (ms)
   * @param {(recording: object) => Promise<object|null>} options.fetchAfter  the segment
   *   after one that is the last known (never rejects)
   * @param {(recording: object, seconds: number, gap: number|null) => void} options.onMoveOn
   *   go on with RECORDING from SECONDS (call play()); GAP: ms without recording skipped,
   *   null when it is more of the same recording (loaded while it was being written)
   * @param {(kind: 'clip'|'continuous') => void} options.onEnd  nothing follows
   * @param {(recording: object, seconds: number) => void} options.onTime  playing on
   * @param {() => void} options.onPlayState  started or paused
   * @param {() => void} options.onError  the visible video cannot play
   */
  constructor(
    videos,
    { segments, now, fetchAfter, onMoveOn, onEnd, onTime, onPlayState, onError },
  ) {
    this.#videos = videos;
    this.#segments = segments;
    this.#now = now;
    this.#fetchAfter = fetchAfter;
    this.#onMoveOn = onMoveOn;
    this.#onEnd = onEnd;
    videos.forEach((video, index) => {
      const visible = () => index === this.#active;
      video.addEventListener('ended', () => visible() && this.#advance());
      video.addEventListener('timeupdate', () => {
        if (!visible() || !this.#current) return;
        this.#watchBoundary();
        onTime(this.#current, this.#video.currentTime);
      });
      video.addEventListener('play', () => visible() && onPlayState());
      video.addEventListener('pause', () => visible() && onPlayState());
      video.addEventListener('error', () => visible() && onError());
    });
  }

  /** The recording in the visible video, or null. */
  get current() {
    return this.#current;
  }

  get paused() {
    return this.#video.paused;
  }

  get #video() {
    return this.#videos[this.#active];
  }

  get #other() {
    return this.#videos[1 - this.#active];
  }

  /** Play RECORDING from OFFSET seconds: the preloaded video if it holds it, else the
   * visible one. Call prepareNext() after. */
  play(recording, offset) {
    const token = ++this.#token;
    const standby = this.#other;
    if (
      this.#standby?.id === recording.id &&
      standby.getAttribute('src') &&
      !standby.error &&
      recording.state === this.#standby.state
    ) {
      this.#swap();
    } else {
      this.#video.src = videoUrl(recording);
      this.#partial = recording.state === 'recording';
    }
    const video = this.#video;
    this.#current = recording;
    const seek = () => {
      if (token !== this.#token) return;
      if (offset > 0.05 && Math.abs(video.currentTime - offset) > 0.05) {
        video.currentTime = offset;
      }
      this.#start(video);
    };
    if (video.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
    else video.addEventListener('loadedmetadata', seek, { once: true });
  }

  /** The live channel brought a newer version of the visible recording. */
  refresh(recording) {
    if (this.#current?.id === recording.id) this.#current = recording;
  }

  /** Load the segment after the visible one into the hidden video, ready to take over. */
  prepareNext() {
    const current = this.#current;
    const next = current?.kind === 'continuous' ? this.#nextOf(current) : null;
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
    const overlap = (recordingEnd(current, this.#now()) - parseTime(wanted.start)) / 1000;
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

  /** Stop both videos and forget what they held. */
  stop() {
    this.#token += 1;
    clearTimeout(this.#boundaryTimer);
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
  }

  #nextOf(recording) {
    return nextSegment(this.#segments(), recording);
  }

  /** The visible video reached its end: go on with what follows. */
  async #advance() {
    const current = this.#current;
    if (!current || this.#advancing === current) return;
    clearTimeout(this.#boundaryTimer);
    if (current.kind === 'clip') {
      this.#onEnd('clip');
      return;
    }
    const fresh = this.#segments().find((item) => item.id === current.id) ?? current;
    if (this.#partial) {
      // Loaded while being written: more of it may exist now.
      const position = this.#video.currentTime;
      if (fresh.state === 'recording' || fresh.duration - position > 0.5) {
        this.#onMoveOn(fresh, position, null);
        return;
      }
    }
    let next = this.#nextOf(fresh);
    if (!next) {
      this.#advancing = current;
      try {
        next = await this.#fetchAfter(fresh);
      } finally {
        this.#advancing = null;
      }
    }
    if (current !== this.#current) return; // something else was chosen meanwhile
    if (!next) {
      this.#onEnd('continuous');
      return;
    }
    const gap = parseTime(next.start) - recordingEnd(fresh, this.#now());
    this.#onMoveOn(next, Math.max(0, -gap / 1000), gap);
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
    this.#partial = this.#standby?.state === 'recording';
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

  /** Shortly before the visible segment's last picture: switch right after it. */
  #watchBoundary() {
    clearTimeout(this.#boundaryTimer);
    const current = this.#current;
    const video = this.#video;
    if (
      current?.kind !== 'continuous' ||
      this.#partial ||
      current.state === 'recording' ||
      !(current.duration > 0) ||
      video.paused ||
      !this.#nextOf(current)
    ) {
      return;
    }
    const remaining = (current.duration + FRAME_S - video.currentTime) / (video.playbackRate || 1);
    if (remaining > BOUNDARY_LOOKAHEAD_S) return;
    const token = this.#token;
    this.#boundaryTimer = setTimeout(
      () => {
        if (token !== this.#token || video !== this.#video || video.paused) return;
        if (video.currentTime + 0.01 >= current.duration) this.#advance();
        else this.#watchBoundary();
      },
      Math.max(0, remaining * 1000),
    );
  }
}
