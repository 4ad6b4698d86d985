// The camera form's data, pure: ids from names, the merge patch between what was loaded
// and what was edited, the webcams and microphones GET /api/devices lists and the choices
// they give, and the server's 422 errors by field.

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

// What the server takes as a webcam (camera/config.py V4L2_PREFIXES).
const V4L2_PREFIXES = ['/dev/video', '/dev/v4l/', 'v4l2:'];

export const RESOLUTIONS = [
  [640, 360],
  [640, 480],
  [1280, 720],
  [1920, 1080],
];

/** A camera id from a display name: 'Front door' -> 'front-door'. */
export function slugify(name) {
  const slug = String(name ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return slug || 'camera';
}

/** An id not in `taken`: 'porch', 'porch-2', ... */
export function freeId(base, taken) {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) {
    const candidate = `${base.slice(0, 29)}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The JSON Merge Patch (RFC 7396) that turns `before` into `after`: changed keys, null for
 * keys that went, nested objects patched, arrays whole. null when nothing changed.
 */
export function mergePatch(before, after) {
  if (!isObject(before) || !isObject(after)) {
    return JSON.stringify(before) === JSON.stringify(after) ? null : after;
  }
  const patch = {};
  for (const key of Object.keys(before)) {
    if (!(key in after)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(after)) {
    if (!(key in before)) {
      patch[key] = value;
      continue;
    }
    const inner = mergePatch(before[key], value);
    if (inner !== null || (value === null && before[key] !== null)) patch[key] = inner;
  }
  return Object.keys(patch).length ? patch : null;
}

/**
 * The capture devices of GET /api/devices (docs/api.md, "Devices and controls") as the
 * camera form offers them:
 *   video: {source, links, label, usedBy, suggested: {id, name, audio}, microphone}
 *   audio: {alsa, label, usedBy}
 * `source` is what a camera's config takes (`v4l2:<identity>`, stable across replugs);
 * `links` are the other names a config may use for the same webcam (/dev/videoN, by-id,
 * by-path); `usedBy` is the camera using the device; `microphone` is the ALSA name of the
 * webcam's own microphone (what `audio: auto` opens). null (an older server) gives none.
 */
export function devicesFrom(body) {
  const video = (body?.video ?? [])
    .filter((d) => isObject(d) && typeof d.source === 'string')
    .map((d) => ({
      source: d.source,
      links: [d.path, d.by_id, d.by_path].filter(Boolean),
      label: `${d.suggested?.name || d.card || d.source}${d.path ? ` (${d.path})` : ''}`,
      usedBy: d.camera ?? null,
      suggested: { id: null, name: null, audio: null, ...d.suggested },
      microphone: d.microphone?.alsa ?? null,
    }));
  const audio = (body?.audio ?? [])
    .filter((a) => isObject(a) && typeof a.alsa === 'string')
    .map((a) => ({
      alsa: a.alsa,
      label: `${[a.card_name, a.name].filter(Boolean).join(', ')} (${a.alsa})`,
      usedBy: a.camera ?? null,
    }));
  return { video, audio };
}

/** The webcam a camera's `source` names, if it is plugged in now. */
export function webcamOf(devices, source) {
  return devices.video.find((d) => d.source === source || d.links.includes(source)) ?? null;
}

const usedNote = (usedBy, editing) => (usedBy && usedBy !== editing ? ` (used by ${usedBy})` : '');

/**
 * The "Picture from" choices: each webcam (those another camera uses shown, not offered),
 * a URL, a file, the demo; `source` (a webcam not plugged in now) kept as a choice.
 * Each is {value, label, disabled}; a webcam's value is `device:<its source>`.
 */
export function kindOptions(devices, source, editing = null) {
  const options = devices.video.map((d) => ({
    value: `device:${d.source}`,
    label: `${d.label}${usedNote(d.usedBy, editing)}`,
    disabled: Boolean(d.usedBy && d.usedBy !== editing),
  }));
  if (source && sourceKind(source) === 'v4l2' && !webcamOf(devices, source)) {
    options.push({ value: `device:${source}`, label: `${source} (not plugged in now)` });
  }
  options.push(
    { value: 'url', label: 'A network camera (URL)' },
    { value: 'file', label: 'A video file' },
    { value: 'demo', label: 'The demo picture' },
  );
  return options.map((o) => ({ disabled: false, ...o }));
}

/** The kind choice a camera's `source` is: its webcam's, or url / file / demo. */
export function kindOf(devices, source) {
  const kind = sourceKind(source);
  if (kind !== 'v4l2') return kind;
  return `device:${webcamOf(devices, source)?.source ?? source}`;
}

/**
 * The "Sound" choices for a camera whose picture comes from `kind` (a kindOptions value):
 * none; a webcam's own microphone (`auto`) when it has one; the sound of a URL or file;
 * any ALSA capture device by its name (those another camera uses shown, not offered); a
 * test tone; and `current` when it is none of these (a name only ALSA knows).
 */
export function audioOptions(devices, kind, current = null, editing = null) {
  const options = [{ value: '', label: 'None' }];
  const webcam = kind.startsWith('device:') ? webcamOf(devices, kind.slice(7)) : null;
  if (webcam?.microphone) {
    options.push({ value: 'auto', label: `The webcam’s own microphone (${webcam.microphone})` });
  } else if (kind.startsWith('device:') && current === 'auto') {
    options.push({ value: 'auto', label: 'The webcam’s own microphone (when it has one)' });
  }
  if (kind === 'url' || kind === 'file') {
    options.push({ value: 'source', label: 'The source’s own sound' });
  }
  for (const mic of devices.audio) {
    options.push({
      value: mic.alsa,
      label: `${mic.label}${usedNote(mic.usedBy, editing)}`,
      disabled: Boolean(mic.usedBy && mic.usedBy !== editing),
    });
  }
  options.push({ value: 'demo', label: 'A test tone' });
  if (current && !options.some((o) => o.value === current)) {
    options.push({ value: current, label: current });
  }
  return options.map((o) => ({ disabled: false, ...o }));
}

/** A new camera for a webcam: {name, id, audio}, as the server suggests, with a free id. */
export function cameraFor(webcam, taken) {
  const name = webcam.suggested.name || webcam.label;
  return {
    name,
    id: freeId(webcam.suggested.id || slugify(name), taken),
    audio: webcam.suggested.audio ?? '',
  };
}

/** The 422 answer's errors as field -> message (fields as the form names them). */
export function errorsByField(errors, prefix = '') {
  const out = new Map();
  for (const error of errors ?? []) {
    const field = String(error.field ?? '').replace(prefix, '');
    if (!out.has(field)) out.set(field, error.message);
  }
  return out;
}

/** Whether a source is a device, a URL, a file, or the demo (as the server sees it). */
export function sourceKind(source) {
  if (source === 'demo') return 'demo';
  if (V4L2_PREFIXES.some((prefix) => String(source).startsWith(prefix))) return 'v4l2';
  if (String(source).includes('://')) return 'url';
  return 'file';
}
