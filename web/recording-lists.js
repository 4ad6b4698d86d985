// What a camera recorded in the period the recordings view shows: its continuous segments,
// event clips and events, oldest first, as loaded and then kept current by the live
// channel's messages (the lists only grow or shrink between loads).
//
// Pure (no DOM, no fetch, no clock: callers pass the period and "now"), unit-tested in node.
// A period is a range {start, end} (ms) and a day: '' for the last 24 hours, which go on
// growing (a recording still being written belongs there even if it began after the end
// last computed), else YYYY-MM-DD.

import { parseTime } from '/format.js';
import { byStart, recordingEnd } from '/timeline.js';

export class RecordingLists {
  segments = []; // continuous recordings, oldest first
  clips = []; // clip recordings, oldest first
  events = []; // events (timeline marks), oldest first
  continuousNow = null; // id of the segment being written now, if any

  /** Nothing loaded (yet). */
  clear() {
    this.segments = [];
    this.clips = [];
    this.events = [];
  }

  /** What a load found: recordings oldest first, EVENTS newest first (as the API lists them;
   * the array is reversed in place), CONTINUOUSNOW the id of the segment being written. */
  set({ segments, clips, events, continuousNow }) {
    this.segments = segments;
    this.clips = clips;
    this.events = events.reverse();
    this.continuousNow = continuousNow;
  }

  /** A "recording" message (PHASE: start, end, deleted, ...) about RECORDING. */
  applyRecording(phase, recording, range, day) {
    const list = recording.kind === 'clip' ? this.clips : this.segments;
    const index = list.findIndex((item) => item.id === recording.id);
    if (phase === 'deleted') {
      if (index >= 0) list.splice(index, 1);
    } else if (index >= 0) {
      list[index] = recording;
    } else if (
      parseTime(recording.start) < range.end ||
      (!day && recording.state === 'recording')
    ) {
      list.push(recording);
      list.sort(byStart);
    }
    if (recording.kind === 'continuous') {
      if (phase === 'start') this.continuousNow = recording.id;
      else if (this.continuousNow === recording.id) this.continuousNow = null;
    }
  }

  /** An "event" message: EVENT is new or changed. */
  applyEvent(event, range, day) {
    const index = this.events.findIndex((item) => item.id === event.id);
    if (index >= 0) this.events[index] = event;
    else if (parseTime(event.start) < range.end || !day) this.events.push(event);
  }

  /** The last 24 hours moved on to start at START: forget what ended before (an event
   * still going on stays). NOW: the server's time. */
  trim(start, now) {
    const keep = (recording) => recordingEnd(recording, now) >= start;
    this.segments = this.segments.filter(keep);
    this.clips = this.clips.filter(keep);
    this.events = this.events.filter((event) => (parseTime(event.end) || Infinity) >= start);
  }
}
