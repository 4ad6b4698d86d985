// Sentrycam's service worker (scope /): the app shell for offline starts, and Web Push.
// A classic script (not a module): every browser that does Web Push runs it.
//
// - install/activate: caches the dashboard's files; page loads go to the network first and
//   fall back to the cache, so with the server out of reach the dashboard still opens and
//   says so (its "Cannot reach the Sentrycam server" banner), never a browser error page.
//   The API is never cached.
// - push: shows the notification inside event.waitUntil (a push that shows nothing gets a
//   subscription revoked on iOS), with the event's snapshot, a tag per camera, and the
//   actions "Acknowledge" and "Snooze 1 h", which call the API.
// - notificationclick: focuses an open dashboard and shows the event there, or opens it.
// - pushsubscriptionchange: subscribes again and tells the server (same choices).

const CACHE = 'sentrycam-shell-v1';
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/favicon.svg',
  '/icon-192.png',
  '/alerts.css',
  '/base.css',
  '/clip.css',
  '/controls.css',
  '/devices.css',
  '/events.css',
  '/forms.css',
  '/header.css',
  '/login.css',
  '/notifications.css',
  '/recordings.css',
  '/settings.css',
  '/storage.css',
  '/system.css',
  '/tiles.css',
  '/account.js',
  '/alerts.js',
  '/app.js',
  '/camera-editor.js',
  '/camera-form.js',
  '/camera-model.js',
  '/chart.js',
  '/clip.js',
  '/connectivity.js',
  '/device-format.js',
  '/devices.js',
  '/events.js',
  '/format.js',
  '/http.js',
  '/latency.js',
  '/live-resume.js',
  '/live.js',
  '/login.js',
  '/mask-editor.js',
  '/motion-scale.js',
  '/netcheck.js',
  '/notifications.js',
  '/player.js',
  '/polygon.js',
  '/push-support.js',
  '/quality.js',
  '/recording-lists.js',
  '/recordings.js',
  '/schedule-math.js',
  '/schedule.js',
  '/segment-player.js',
  '/settings.js',
  '/stats.js',
  '/storage.js',
  '/system-format.js',
  '/system.js',
  '/talk.js',
  '/tile.js',
  '/timeline-track.js',
  '/timeline.js',
  '/tokens.js',
  '/tuner.js',
  '/ui.js',
  '/users.js',
  '/whep.js',
];
const NAVIGATION_TIMEOUT_MS = 5000;
const SNOOZE_MINUTES = 60;

/** ExtendableEvent.waitUntil, which throws for synthetic (untrusted) events: the work
 * still runs then, it just does not keep the worker alive. */
function keepAlive(event, promise) {
  try {
    event.waitUntil(promise);
  } catch {
    // a synthetic event (tests); nothing to extend
  }
  return promise;
}

// ----- the app shell ----------------------------------------------------------------------

self.addEventListener('install', (event) => {
  keepAlive(
    event,
    caches
      .open(CACHE)
      // One by one and best effort: a file that fails (logged out: a redirect) is simply
      // cached later, when the page loads it.
      .then((cache) => Promise.all(SHELL.map((path) => cacheIfGood(cache, path))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  keepAlive(
    event,
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function cacheIfGood(cache, request) {
  try {
    const response = await fetch(request, { credentials: 'same-origin', cache: 'no-cache' });
    if (isCacheable(response)) await cache.put(request, response);
  } catch {
    // offline at install time: nothing to cache yet
  }
}

function isCacheable(response) {
  return response.ok && !response.redirected && response.type === 'basic';
}

/** Which requests the worker answers: same-origin GETs of pages and files, not the API. */
function isShellRequest(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  return url.origin === self.location.origin && !url.pathname.startsWith('/api/');
}

self.addEventListener('fetch', (event) => {
  if (!isShellRequest(event.request)) return;
  event.respondWith(networkFirst(event.request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const navigation = request.mode === 'navigate';
  try {
    const response = await withTimeout(fetch(request), navigation ? NAVIGATION_TIMEOUT_MS : 0);
    if (isCacheable(response) && new URL(request.url).search === '') {
      await cache.put(request, response.clone());
    }
    return response;
  } catch {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    // A page we never cached: the dashboard opens and shows that the server is out of reach.
    const shell = navigation ? await cache.match('/') : undefined;
    return shell ?? Response.error();
  }
}

function withTimeout(promise, ms) {
  if (!ms) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

// ----- push -------------------------------------------------------------------------------

/** The notification's title and options from a push payload (docs/api.md). */
function notificationFor(payload) {
  const data = {
    url: typeof payload.url === 'string' ? payload.url : '/',
    event: Number.isInteger(payload.event) && payload.event > 0 ? payload.event : null,
    camera: typeof payload.camera === 'string' ? payload.camera : '',
  };
  const options = {
    body: typeof payload.body === 'string' ? payload.body : '',
    tag: typeof payload.tag === 'string' ? payload.tag : 'sentrycam',
    // A new alert rings again; the "and N more" that follows it updates it quietly.
    renotify: !(payload.folded > 0),
    icon: '/icon-192.png',
    badge: '/icon-192.png',
    timestamp: Date.parse(payload.at) || Date.now(),
    data,
    actions: [],
  };
  if (typeof payload.image === 'string' && payload.image) options.image = payload.image;
  if (data.event !== null) {
    options.actions.push({ action: 'ack', title: 'Acknowledge' });
    if (data.camera && data.camera !== '*') {
      options.actions.push({ action: 'snooze', title: 'Snooze 1 h' });
    }
  }
  const title = typeof payload.title === 'string' && payload.title ? payload.title : 'Sentrycam';
  return { title, options };
}

function readPayload(event) {
  if (!event.data) return {};
  try {
    return event.data.json();
  } catch {
    return { body: event.data.text() };
  }
}

self.addEventListener('push', (event) => {
  const { title, options } = notificationFor(readPayload(event));
  keepAlive(event, self.registration.showNotification(title, options));
});

// ----- clicks and actions -----------------------------------------------------------------

async function callApi(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  return response.ok;
}

/** Show URL in an open dashboard (focused), or open a new one. */
async function openDashboard(url) {
  const target = new URL(url, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
  if (open) {
    let focused = open;
    try {
      focused = (await open.focus()) ?? open;
    } catch {
      // Focusing needs the tap's user activation; the page still gets the message.
    }
    focused.postMessage({ type: 'sentrycam-open', url: target });
    return;
  }
  await self.clients.openWindow(target);
}

async function onAction(action, data) {
  let ok = false;
  try {
    if (action === 'ack' && data.event) {
      ok = await callApi('POST', `/api/events/${data.event}/ack`);
    } else if (action === 'snooze' && data.camera) {
      const path = `/api/cameras/${encodeURIComponent(data.camera)}/snooze`;
      ok = await callApi('PUT', path, { minutes: SNOOZE_MINUTES });
    }
  } catch {
    ok = false;
  }
  // Logged out or unreachable: the dashboard shows the event and asks to log in.
  if (!ok) await openDashboard(data.url);
}

self.addEventListener('notificationclick', (event) => {
  const { notification, action } = event;
  notification.close();
  const data = notification.data ?? { url: '/' };
  keepAlive(event, action ? onAction(action, data) : openDashboard(data.url));
});

// ----- the subscription renewed by the browser ----------------------------------------------

async function resubscribe(event) {
  let key = event.oldSubscription?.options?.applicationServerKey ?? null;
  if (!key) {
    const response = await fetch('/api/push/key', { credentials: 'same-origin' });
    if (!response.ok) return;
    key = (await response.json()).public_key;
  }
  const subscription =
    event.newSubscription ??
    (await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: key,
    }));
  const body = subscription.toJSON();
  if (event.oldSubscription) body.previous_endpoint = event.oldSubscription.endpoint;
  await callApi('POST', '/api/push/subscriptions', body);
}

self.addEventListener('pushsubscriptionchange', (event) => {
  keepAlive(event, resubscribe(event));
});
