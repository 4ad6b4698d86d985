// Pure helpers of "Notifications on this device": whether Web Push can work here and, if
// not, exactly why and what to do; the VAPID key as bytes; the subscription request; how
// the notification log reads. No DOM: unit-tested with node (tests/js).

/** iPhone, iPad (which says it is a Mac, but has a touch screen) or iPod. */
export function isIos({ userAgent = '', platform = '', maxTouchPoints = 0 } = {}) {
  return /iPad|iPhone|iPod/.test(userAgent) || (platform === 'MacIntel' && maxTouchPoints > 1);
}

/**
 * Whether this browser can receive Web Push from this page:
 * {ok: true} or {ok: false, reason, action}, the words shown to the user.
 * @param {object} env  secure (window.isSecureContext), serviceWorker, pushManager,
 *   notification (the APIs exist), ios, standalone (a Home Screen app), permission
 *   (Notification.permission), pushEnabled (the server has Web Push on)
 */
export function pushAvailability(env) {
  if (env.pushEnabled === false) {
    return {
      ok: false,
      reason: 'Web Push is off on this server.',
      action: 'An admin turns it on with notifications.web_push.contact in the config file.',
    };
  }
  if (!env.secure) {
    return {
      ok: false,
      reason:
        'This page is not a secure context: browsers allow notifications only over HTTPS ' +
        'with a certificate they trust (plain HTTP works only on localhost).',
      action:
        'Serve Sentrycam over HTTPS with a certificate your devices trust: server.tls with ' +
        'such a certificate, or a reverse proxy with HTTPS in front of it.',
    };
  }
  if (env.ios && !env.standalone) {
    return {
      ok: false,
      reason: 'On iPhone and iPad, notifications work only in the Home Screen app.',
      action: 'Tap Share, then "Add to Home Screen", and open Sentrycam from there (iOS 16.4+).',
    };
  }
  if (!env.serviceWorker || !env.pushManager || !env.notification) {
    return {
      ok: false,
      reason: 'This browser does not support Web Push.',
      action: 'Use a current Chrome, Edge, Firefox or Safari.',
    };
  }
  if (env.permission === 'denied') {
    return {
      ok: false,
      reason: 'Notifications are blocked for this site.',
      action: "Allow them in the browser's site settings, then reload the page.",
    };
  }
  return { ok: true, reason: '', action: '' };
}

/** A base64url string (the VAPID public key) as bytes, for applicationServerKey. */
export function keyToBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** The body of POST /api/push/subscriptions: PushSubscription.toJSON() and the choices
 * (an empty choice, or every camera/kind chosen, means "all": null). */
export function subscriptionBody(json, { name, cameras, allCameras, kinds, allKinds }) {
  const all = (chosen, every) => chosen.length === 0 || chosen.length === every.length;
  return {
    endpoint: json.endpoint,
    expirationTime: json.expirationTime ?? null,
    keys: { p256dh: json.keys?.p256dh, auth: json.keys?.auth },
    name: name || 'This device',
    cameras: all(cameras, allCameras) ? null : [...cameras],
    kinds: all(kinds, allKinds) ? null : [...kinds],
  };
}

/** A short name for this device: "Chrome on Android", "Safari on iPhone", ... */
export function deviceName(userAgent = '') {
  const browser =
    [
      ['Edge', /Edg\//],
      ['Firefox', /Firefox\//],
      ['Chrome', /Chrome\//],
      ['Safari', /Safari\//],
    ].find(([, pattern]) => pattern.test(userAgent))?.[0] ?? 'Browser';
  const system =
    [
      ['iPhone', /iPhone/],
      ['iPad', /iPad/],
      ['Android', /Android/],
      ['Windows', /Windows/],
      ['Mac', /Mac OS X/],
      ['Linux', /Linux/],
    ].find(([, pattern]) => pattern.test(userAgent))?.[0] ?? '';
  return system ? `${browser} on ${system}` : browser;
}

const REASONS = {
  alert: 'sent',
  summary: 'sent (summary)',
  test: 'test sent',
  no_rights: 'not allowed to see this camera',
  filtered: 'not chosen for this device',
  disarmed: 'camera disarmed',
  snoozed: 'snoozed',
  schedule: 'outside the schedule',
  quiet_hours: 'quiet hours',
  cooldown: 'cooldown: folded into the next one',
  gone: 'subscription expired: removed',
  error: 'failed',
};

/** One line of the notification log: what happened and why. */
export function describeEntry(entry) {
  const why = REASONS[entry.reason] ?? entry.reason;
  const outcome = entry.outcome === 'failed' && entry.reason === 'error' ? '' : why;
  const text = outcome || why;
  return entry.detail ? `${text} — ${entry.detail}` : text;
}
