// web/push-support.js: when Web Push can work, and the words when it cannot.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  describeEntry,
  deviceName,
  isIos,
  keyToBytes,
  pushAvailability,
  subscriptionBody,
} from '../../web/push-support.js';

const READY = {
  pushEnabled: true,
  secure: true,
  serviceWorker: true,
  pushManager: true,
  notification: true,
  ios: false,
  standalone: false,
  permission: 'default',
};

describe('pushAvailability', () => {
  test('a secure context with the APIs can subscribe', () => {
    assert.deepEqual(pushAvailability(READY), { ok: true, reason: '', action: '' });
  });

  test('plain HTTP on a LAN address: HTTPS with a trusted certificate, and how', () => {
    const answer = pushAvailability({ ...READY, secure: false });
    assert.equal(answer.ok, false);
    assert.match(answer.reason, /not a secure context/);
    assert.match(answer.action, /server\.tls/);
    assert.match(answer.action, /reverse proxy/);
  });

  test('iOS outside a Home Screen app: add it to the Home Screen', () => {
    const answer = pushAvailability({ ...READY, ios: true, pushManager: false });
    assert.match(answer.reason, /Home Screen app/);
    assert.match(answer.action, /Add to Home Screen/);
    assert.equal(pushAvailability({ ...READY, ios: true, standalone: true }).ok, true);
  });

  test('server off, no support, blocked: each says so', () => {
    assert.match(pushAvailability({ ...READY, pushEnabled: false }).action, /web_push\.contact/);
    assert.match(pushAvailability({ ...READY, pushManager: false }).reason, /does not support/);
    assert.match(pushAvailability({ ...READY, permission: 'denied' }).reason, /blocked/);
  });
});

test('isIos: iPhone, and an iPad that says it is a Mac', () => {
  assert.equal(
    isIos({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)' }),
    true,
  );
  assert.equal(isIos({ userAgent: 'Macintosh', platform: 'MacIntel', maxTouchPoints: 5 }), true);
  assert.equal(isIos({ userAgent: 'Macintosh', platform: 'MacIntel', maxTouchPoints: 0 }), false);
  assert.equal(isIos({ userAgent: 'Mozilla/5.0 (Linux; Android 14)' }), false);
});

test('keyToBytes decodes base64url without padding', () => {
  assert.deepEqual([...keyToBytes('BAEC_-8')], [4, 1, 2, 255, 239]);
});

test('subscriptionBody: everything or nothing chosen means all (null)', () => {
  const json = { endpoint: 'https://push/x', keys: { p256dh: 'p', auth: 'a' } };
  const all = { allCameras: ['porch', 'door'], allKinds: ['motion', 'sound'] };
  assert.deepEqual(
    subscriptionBody(json, { ...all, name: 'Phone', cameras: ['porch'], kinds: [] }),
    {
      endpoint: 'https://push/x',
      expirationTime: null,
      keys: { p256dh: 'p', auth: 'a' },
      name: 'Phone',
      cameras: ['porch'],
      kinds: null,
    },
  );
  const every = subscriptionBody(json, {
    ...all,
    name: '',
    cameras: ['door', 'porch'],
    kinds: ['sound'],
  });
  assert.equal(every.cameras, null);
  assert.deepEqual(every.kinds, ['sound']);
  assert.equal(every.name, 'This device');
});

test('deviceName', () => {
  const android =
    'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36';
  const iphone =
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit Version/17.0 Safari/604.1';
  assert.equal(deviceName(android), 'Chrome on Android');
  assert.equal(deviceName(iphone), 'Safari on iPhone');
  assert.equal(deviceName(''), 'Browser');
});

test('describeEntry says why', () => {
  assert.equal(
    describeEntry({ outcome: 'suppressed', reason: 'quiet_hours', detail: '' }),
    'quiet hours',
  );
  assert.equal(
    describeEntry({ outcome: 'failed', reason: 'error', detail: 'push service answered 403' }),
    'failed — push service answered 403',
  );
  assert.equal(describeEntry({ outcome: 'sent', reason: 'newthing', detail: '' }), 'newthing');
});
