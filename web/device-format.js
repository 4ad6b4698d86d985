// Capture devices (GET /api/devices) and V4L2 controls (GET /api/cameras/<id>/controls)
// in words and form fields. Pure: no DOM, no fetch (unit-tested in tests/js).

const FORMAT_ORDER = ['H264', 'MJPG', 'JPEG'];

/** The fastest rate of a size, or null when the driver does not say. */
function topRate(size) {
  return size.fps?.length ? Math.max(...size.fps) : null;
}

/**
 * "H.264 1920x1080@30, 1280x720@30 · MJPEG ... · YUYV 640x480@30": the formats a webcam
 * offers, compressed ones first, the largest `sizes` sizes of each, at most `formats` of them.
 */
export function describeFormats(device, { formats = 3, sizes = 2 } = {}) {
  const list = [...(device.formats ?? [])].filter((f) => f.input_format);
  const rank = (f) => {
    const index = FORMAT_ORDER.indexOf(f.fourcc);
    return index < 0 ? FORMAT_ORDER.length : index;
  };
  list.sort((a, b) => rank(a) - rank(b));
  return list
    .slice(0, formats)
    .map((format) => {
      const largest = [...format.sizes]
        .sort((a, b) => b.width * b.height - a.width * a.height)
        .slice(0, sizes)
        .map((s) => {
          const rate = topRate(s);
          return `${s.width}x${s.height}${rate === null ? '' : `@${rate}`}`;
        });
      return `${format.label} ${largest.join(', ')}`;
    })
    .join(' · ');
}

/** The config a found webcam would get, as YAML lines for cameras: in the config file. */
export function configSnippet(device) {
  const suggested = device.suggested ?? {};
  const lines = [
    `  - id: ${suggested.id ?? 'webcam'}`,
    `    name: ${JSON.stringify(suggested.name ?? device.card ?? 'Webcam')}`,
    `    source: ${JSON.stringify(device.source)}`,
  ];
  if (suggested.audio) lines.push(`    audio: ${suggested.audio}`);
  return lines.join('\n');
}

/** One line naming a device for a person: card, where it is plugged, its path. */
export function deviceTitle(device) {
  const usb = device.usb;
  const where = usb ? `USB ${usb.vendor}:${usb.product}` : device.bus;
  return `${device.card} (${where}, ${device.path})`;
}

/**
 * How to show a control: {kind: 'range'|'checkbox'|'select', ...}. Read-only and inactive
 * controls (e.g. exposure while auto exposure is on) are shown disabled.
 */
export function controlField(control) {
  const disabled = Boolean(control.read_only || control.inactive);
  if (control.type === 'boolean') {
    return { kind: 'checkbox', checked: Boolean(control.value), disabled };
  }
  if (control.menu) {
    const options = Object.entries(control.menu)
      .map(([value, label]) => ({ value: Number(value), label }))
      .sort((a, b) => a.value - b.value);
    return { kind: 'select', options, value: control.value, disabled };
  }
  return {
    kind: 'range',
    min: control.min,
    max: control.max,
    step: control.step || 1,
    value: control.value ?? control.default,
    disabled,
  };
}

/** The value to PATCH for a field's raw input (a checkbox's checked, a range's text). */
export function fieldValue(control, raw) {
  if (control.type === 'boolean') return Boolean(raw);
  const number = Number(raw);
  if (!Number.isFinite(number)) return null;
  return Math.round(number);
}

// The controls people look for first, in this order; the rest follow by label.
const COMMON = [
  'brightness',
  'contrast',
  'saturation',
  'sharpness',
  'gain',
  'auto_exposure',
  'exposure_time_absolute',
  'white_balance_automatic',
  'white_balance_temperature',
  'power_line_frequency',
  'focus_automatic_continuous',
  'focus_absolute',
];

/** Controls sorted: the common ones first (as in COMMON), then the rest by label. */
export function sortControls(controls) {
  const rank = (c) => {
    const index = COMMON.indexOf(c.name);
    return index < 0 ? COMMON.length : index;
  };
  return [...controls].sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label));
}
