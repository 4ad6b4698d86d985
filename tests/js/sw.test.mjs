// web/sw.js, run in a node vm with stand-ins for the service worker's globals: push shows
// a notification inside waitUntil, the actions call the API, a tap focuses or opens the
// dashboard, the subscription renews itself, page loads fall back to the cache.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';

const SOURCE = readFileSync(new URL('../../web/sw.js', import.meta.url), 'utf8');
const ORIGIN = 'https://cam.example.org';
// Objects made inside the vm have its own prototypes: compare them as plain data.
const plain = (value) => JSON.parse(JSON.stringify(value));

function worker({ fetchAnswer = () => new Response('{}', { status: 200 }), windows = [] } = {}) {
  const listeners = {};
  const shown = [];
  const fetched = [];
  const opened = [];
  const store = new Map();
  const cache = {
    put: async (request, response) => store.set(String(request), response),
    match: async (request) => store.get(typeof request === 'string' ? request : request.url),
  };
  const self = {
    location: new URL(ORIGIN + '/sw.js'),
    addEventListener: (type, fn) => (listeners[type] = fn),
    registration: {
      showNotification: async (title, options) => shown.push({ title, options }),
      pushManager: {
        subscribe: async (options) => ({
          toJSON: () => ({ endpoint: 'https://push/new', keys: { p256dh: 'p', auth: 'a' } }),
          options,
        }),
      },
    },
    clients: {
      matchAll: async () => windows,
      openWindow: async (url) => opened.push(url),
      claim: async () => {},
    },
    skipWaiting: async () => {},
  };
  const context = {
    self,
    caches: { open: async () => cache, keys: async () => [], delete: async () => true },
    fetch: async (request, init) => {
      fetched.push({ url: String(request.url ?? request), init });
      return fetchAnswer(request, init);
    },
    URL,
    Response,
    setTimeout,
    clearTimeout,
    Date,
    Number,
    JSON,
    Promise,
  };
  vm.runInNewContext(SOURCE, context);
  const fire = async (type, event) => {
    const waited = [];
    listeners[type]({ waitUntil: (p) => waited.push(p), ...event });
    await Promise.all(waited);
    return waited.length;
  };
  return { listeners, shown, fetched, opened, store, fire };
}

const PAYLOAD = {
  title: 'Motion · Porch',
  body: '12:00:05',
  camera: 'porch',
  event: 42,
  kind: 'motion',
  url: '/#/events/42',
  image: '/api/events/42/snapshot.jpg',
  tag: 'sentrycam-porch',
  folded: 0,
  at: '2026-12-07T12:00:05Z',
};

test('push shows the notification inside waitUntil, with image, tag and actions', async () => {
  const sw = worker();
  const waited = await sw.fire('push', { data: { json: () => PAYLOAD } });
  assert.equal(waited, 1);
  assert.equal(sw.shown.length, 1);
  const { title, options } = sw.shown[0];
  assert.equal(title, 'Motion · Porch');
  assert.equal(options.image, '/api/events/42/snapshot.jpg');
  assert.equal(options.tag, 'sentrycam-porch');
  assert.equal(options.renotify, true);
  assert.deepEqual(plain(options.actions.map((a) => [a.action, a.title])), [
    ['ack', 'Acknowledge'],
    ['snooze', 'Snooze 1 h'],
  ]);
  assert.deepEqual(plain(options.data), { url: '/#/events/42', event: 42, camera: 'porch' });
});

test('a summary updates quietly; a test has no actions; a bad payload still shows', async () => {
  const sw = worker();
  await sw.fire('push', { data: { json: () => ({ ...PAYLOAD, folded: 3 }) } });
  await sw.fire('push', { data: { json: () => ({ title: 'Test', event: 0, camera: '' }) } });
  const bad = {
    json: () => {
      throw new SyntaxError('no');
    },
    text: () => 'hello',
  };
  await sw.fire('push', { data: bad });
  assert.equal(sw.shown[0].options.renotify, false);
  assert.equal(sw.shown[1].options.actions.length, 0);
  assert.deepEqual([sw.shown[2].title, sw.shown[2].options.body], ['Sentrycam', 'hello']);
});

test('Acknowledge and Snooze call the API; a refusal opens the event instead', async () => {
  const sw = worker();
  const notification = { data: { url: '/#/events/42', event: 42, camera: 'porch' }, close() {} };
  await sw.fire('notificationclick', { notification, action: 'ack' });
  await sw.fire('notificationclick', { notification, action: 'snooze' });
  assert.deepEqual(
    sw.fetched.map((f) => [f.init.method, f.url, f.init.body]),
    [
      ['POST', '/api/events/42/ack', undefined],
      ['PUT', '/api/cameras/porch/snooze', '{"minutes":60}'],
    ],
  );
  assert.deepEqual(plain(sw.opened), []);
  const loggedOut = worker({ fetchAnswer: () => new Response('', { status: 401 }) });
  await loggedOut.fire('notificationclick', { notification, action: 'ack' });
  assert.deepEqual(plain(loggedOut.opened), [`${ORIGIN}/#/events/42`]);
});

test('a tap focuses an open dashboard and shows the event there, else opens one', async () => {
  const messages = [];
  const open = {
    url: `${ORIGIN}/`,
    focus: async () => open,
    postMessage: (m) => messages.push(m),
  };
  const notification = { data: { url: '/#/events/42', event: 42, camera: 'porch' }, close() {} };
  const sw = worker({ windows: [{ url: 'https://elsewhere.example/' }, open] });
  await sw.fire('notificationclick', { notification, action: '' });
  assert.deepEqual(plain(messages), [{ type: 'sentrycam-open', url: `${ORIGIN}/#/events/42` }]);
  const none = worker();
  await none.fire('notificationclick', { notification, action: '' });
  assert.deepEqual(plain(none.opened), [`${ORIGIN}/#/events/42`]);
});

test('pushsubscriptionchange subscribes again and tells the server what it replaces', async () => {
  const sw = worker();
  const oldSubscription = { endpoint: 'https://push/old', options: { applicationServerKey: 'k' } };
  await sw.fire('pushsubscriptionchange', { oldSubscription });
  const post = sw.fetched.find((f) => f.url === '/api/push/subscriptions');
  assert.deepEqual(JSON.parse(post.init.body), {
    endpoint: 'https://push/new',
    keys: { p256dh: 'p', auth: 'a' },
    previous_endpoint: 'https://push/old',
  });
});

test('pages come from the network, and from the cache when it is out of reach', async () => {
  let online = true;
  const sw = worker({
    fetchAnswer: () => {
      if (!online) throw new TypeError('Failed to fetch');
      const response = new Response('<html>', { status: 200 });
      Object.defineProperty(response, 'type', { value: 'basic' });
      return response;
    },
  });
  const respond = async (url, mode = 'navigate') => {
    let answer;
    sw.listeners.fetch({
      request: { url: ORIGIN + url, method: 'GET', mode },
      respondWith: (p) => (answer = p),
    });
    return answer;
  };
  await sw.fire('install', {});
  assert.ok(sw.store.has('/'));
  online = false;
  const page = await respond('/');
  assert.equal(await page.text(), '<html>');
  const deep = await respond('/#/camera/porch'); // never cached as such: the dashboard
  assert.equal(deep.status, 200);
  let api = 'untouched';
  sw.listeners.fetch({
    request: { url: `${ORIGIN}/api/cameras`, method: 'GET', mode: 'cors' },
    respondWith: () => (api = 'answered'),
  });
  assert.equal(api, 'untouched');
});

test('the app shell lists every script and style sheet: an offline start needs them all', () => {
  const shell = SOURCE.slice(SOURCE.indexOf('const SHELL = ['), SOURCE.indexOf('];'));
  const listed = new Set([...shell.matchAll(/'\/([^']*)'/g)].map((m) => m[1]));
  const files = readdirSync(new URL('../../web/', import.meta.url)).filter(
    (name) => /\.(js|css)$/.test(name) && name !== 'sw.js',
  );
  assert.deepEqual(
    files.filter((name) => !listed.has(name)),
    [],
  );
});
