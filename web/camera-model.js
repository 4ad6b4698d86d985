// The camera form's data, pure: ids from names, the merge patch between what was loaded
// and what was edited, the devices GET /api/devices lists (issue 11), and the server's
// 422 errors by field.

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

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
 * Devices from GET /api/devices, whatever its exact shape: a list, or {video, audio} or
 * {devices}; each with a path (path, device, node, id), a name (name, label, card) and
 * perhaps `in_use` / `camera` (the camera using it) and a paired microphone (`audio`,
 * `paired_audio`, `microphone`).
 */
export function devicesFrom(body) {
  const list = Array.isArray(body)
    ? body
    : [...(body?.video ?? []), ...(body?.audio ?? []), ...(body?.devices ?? [])];
  const video = [];
  const audio = [];
  for (const item of list) {
    if (!isObject(item)) continue;
    const path = item.path ?? item.device ?? item.node ?? item.id;
    if (typeof path !== 'string' || !path) continue;
    const kind = item.kind ?? item.type ?? (path.startsWith('/dev/video') ? 'video' : 'audio');
    const label = item.name ?? item.label ?? item.card ?? path;
    const inUse = item.in_use ?? item.used_by ?? item.camera ?? null;
    const paired = item.paired_audio ?? item.microphone ?? item.audio;
    const entry = {
      path,
      label: String(label),
      inUse: inUse === true ? 'another camera' : inUse || null,
      audio: typeof paired === 'string' ? paired : (paired?.path ?? paired?.device ?? null),
    };
    (String(kind).startsWith('video') ? video : audio).push(entry);
  }
  return { video, audio };
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
  if (String(source).startsWith('/dev/video')) return 'v4l2';
  if (String(source).includes('://')) return 'url';
  return 'file';
}
