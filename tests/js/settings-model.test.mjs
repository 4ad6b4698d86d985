// web/camera-model.js and web/motion-scale.js: the camera form's and the tuner's pure parts.
// The devices come from tests/js/fixtures/devices.json, a real server's answer.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  audioOptions,
  cameraFor,
  devicesFrom,
  errorsByField,
  freeId,
  kindOf,
  kindOptions,
  mergePatch,
  slugify,
  sourceKind,
  webcamOf,
} from '../../web/camera-model.js';
import {
  minAreaOf,
  percent,
  scoreShare,
  sensitivityOf,
  sliderOf,
  thresholdOf,
  unpackBits,
} from '../../web/motion-scale.js';

test('ids from names', () => {
  assert.equal(slugify('Front door'), 'front-door');
  assert.equal(slugify('  Garage (RTSP) #2 '), 'garage-rtsp-2');
  assert.equal(slugify('Café'), 'cafe');
  assert.equal(slugify('!!!'), 'camera');
  assert.equal(slugify('x'.repeat(40)).length, 32);
  assert.equal(freeId('porch', new Set(['porch', 'porch-2'])), 'porch-3');
  assert.equal(freeId('yard', new Set(['porch'])), 'yard');
});

test('the merge patch holds only what changed', () => {
  const before = {
    name: 'A',
    audio: 'hw:1,0',
    motion: {
      threshold: 25,
      masks: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
        ],
      ],
    },
  };
  assert.equal(mergePatch(before, structuredClone(before)), null);
  assert.deepEqual(mergePatch(before, { ...before, name: 'B' }), { name: 'B' });
  assert.deepEqual(mergePatch(before, { ...before, audio: null }), { audio: null });
  assert.deepEqual(mergePatch(before, { ...before, motion: { ...before.motion, masks: [] } }), {
    motion: { masks: [] },
  });
  const { audio, ...withoutAudio } = before;
  assert.equal(audio, 'hw:1,0');
  assert.deepEqual(mergePatch(before, withoutAudio), { audio: null });
});

// GET /api/devices as a real server answers it (tests/test_devices_fixture.py checks it
// still is): a free C920 with its own microphone, vivid used by `yard`, the ALSA loopback.
const LISTING = JSON.parse(readFileSync(new URL('./fixtures/devices.json', import.meta.url)));
const C920 = 'v4l2:usb-046d:082d-A1B2C3D4';
const VIVID = 'v4l2:platform:vivid-000';
const values = (options) => options.map((o) => o.value);
const offered = (options) => options.filter((o) => !o.disabled).map((o) => o.value);

test('webcams and microphones from the devices route', () => {
  const devices = devicesFrom(LISTING);
  assert.deepEqual(devices.video[0], {
    source: C920,
    links: [
      '/dev/video0',
      '/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_A1B2C3D4-video-index0',
      '/dev/v4l/by-path/pci-0000:00:14.0-usb-0:1.3:1.0-video-index0',
    ],
    label: 'HD Pro Webcam C920 (/dev/video0)',
    usedBy: null,
    suggested: { id: 'hd-pro-webcam-c920', name: 'HD Pro Webcam C920', audio: 'auto' },
    microphone: 'hw:CARD=C920,DEV=0',
  });
  assert.equal(devices.video[1].usedBy, 'yard');
  assert.deepEqual(devices.audio, [
    {
      alsa: 'hw:CARD=Loopback,DEV=0',
      label: 'Loopback, Loopback PCM (hw:CARD=Loopback,DEV=0)',
      usedBy: null,
    },
    {
      alsa: 'hw:CARD=Loopback,DEV=1',
      label: 'Loopback, Loopback PCM (hw:CARD=Loopback,DEV=1)',
      usedBy: 'yard',
    },
    {
      alsa: 'hw:CARD=C920,DEV=0',
      label: 'HD Pro Webcam C920, USB Audio (hw:CARD=C920,DEV=0)',
      usedBy: null,
    },
  ]);
  assert.deepEqual(devicesFrom(null), { video: [], audio: [] }); // an older server: 404
  assert.deepEqual(devicesFrom({ video: [{ path: '/dev/video0' }], audio: ['x'] }), {
    video: [],
    audio: [],
  });
});

test('a webcam is named by its stable source, or the /dev and udev links to it', () => {
  const devices = devicesFrom(LISTING);
  for (const source of [C920, '/dev/video0', devices.video[0].links[1]]) {
    assert.equal(webcamOf(devices, source)?.source, C920);
    assert.equal(kindOf(devices, source), `device:${C920}`);
  }
  assert.equal(webcamOf(devices, '/dev/video9'), null);
  assert.equal(kindOf(devices, 'v4l2:usb-1234:5678-gone'), 'device:v4l2:usb-1234:5678-gone');
  assert.equal(kindOf(devices, 'rtsp://cam/s'), 'url');
  assert.equal(kindOf(devices, 'demo'), 'demo');
});

test('webcams another camera uses are shown, not offered', () => {
  const devices = devicesFrom(LISTING);
  const adding = kindOptions(devices, '');
  assert.deepEqual(values(adding), [`device:${C920}`, `device:${VIVID}`, 'url', 'file', 'demo']);
  assert.deepEqual(offered(adding), [`device:${C920}`, 'url', 'file', 'demo']);
  assert.equal(adding[1].label, 'vivid (/dev/video2) (used by yard)');
  const editingYard = kindOptions(devices, VIVID, 'yard');
  assert.deepEqual(offered(editingYard), values(editingYard));
  assert.equal(editingYard[1].label, 'vivid (/dev/video2)');
  const unplugged = kindOptions(devices, 'v4l2:usb-1234:5678-gone', 'attic');
  assert.deepEqual(unplugged[2], {
    value: 'device:v4l2:usb-1234:5678-gone',
    label: 'v4l2:usb-1234:5678-gone (not plugged in now)',
    disabled: false,
  });
});

test('sound: the webcam’s own microphone, any free ALSA device, or none', () => {
  const devices = devicesFrom(LISTING);
  const c920 = audioOptions(devices, `device:${C920}`);
  assert.deepEqual(offered(c920), [
    '',
    'auto',
    'hw:CARD=Loopback,DEV=0',
    'hw:CARD=C920,DEV=0',
    'demo',
  ]);
  assert.equal(c920.find((o) => o.value === 'hw:CARD=Loopback,DEV=1').disabled, true);
  const vivid = audioOptions(devices, `device:${VIVID}`, 'hw:CARD=Loopback,DEV=1', 'yard');
  assert.deepEqual(offered(vivid), [
    '',
    'hw:CARD=Loopback,DEV=0',
    'hw:CARD=Loopback,DEV=1',
    'hw:CARD=C920,DEV=0',
    'demo',
  ]); // no microphone of its own: no auto
  assert.deepEqual(values(audioOptions(devices, 'url')).slice(0, 2), ['', 'source']);
  assert.deepEqual(values(audioOptions(devices, 'url', 'dsnoop:1')).at(-1), 'dsnoop:1');
  assert.ok(values(audioOptions(devices, 'device:v4l2:gone', 'auto')).includes('auto'));
});

test('a new camera for a webcam takes the server’s suggestion, with a free id', () => {
  const [c920] = devicesFrom(LISTING).video;
  assert.deepEqual(cameraFor(c920, new Set(['demo'])), {
    name: 'HD Pro Webcam C920',
    id: 'hd-pro-webcam-c920',
    audio: 'auto',
  });
  assert.equal(cameraFor(c920, new Set(['hd-pro-webcam-c920'])).id, 'hd-pro-webcam-c920-2');
});

test('the server errors by field, and source kinds', () => {
  const errors = [
    { field: 'cameras.yard.fps', message: 'too fast' },
    { field: 'cameras.yard.fps', message: 'second' },
  ];
  assert.deepEqual([...errorsByField(errors, 'cameras.yard.')], [['fps', 'too fast']]);
  assert.equal(sourceKind('demo'), 'demo');
  assert.equal(sourceKind('/dev/video0'), 'v4l2');
  assert.equal(sourceKind('v4l2:usb-046d:082d-A1B2C3D4'), 'v4l2');
  assert.equal(sourceKind('/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0'), 'v4l2');
  assert.equal(sourceKind('rtsp://x'), 'url');
  assert.equal(sourceKind('/srv/clip.mp4'), 'file');
});

test('the tuner sliders and the settings behind them', () => {
  assert.equal(thresholdOf(sensitivityOf(25)), 25);
  assert.equal(sensitivityOf(25), 76);
  assert.equal(thresholdOf(0), 100);
  assert.equal(sensitivityOf(200), 1);
  assert.equal(minAreaOf(0), 0.0001);
  assert.equal(minAreaOf(100), 0.1);
  assert.equal(minAreaOf(sliderOf(0.001)), 0.001);
  assert.equal(sliderOf(0), 0);
  assert.equal(percent(0.001), '0.10 %');
  assert.equal(percent(0.25), '25 %');
  assert.equal(scoreShare(0.001, 0.001), 0.5);
  assert.equal(scoreShare(1, 0.001), 1);
  assert.equal(scoreShare(0, 0), 0);
});

test('the changed-pixel bitmap, 8 pixels a byte', () => {
  const bits = unpackBits(btoa(String.fromCharCode(0b10100000, 0b00000001)), 4, 4);
  assert.deepEqual([...bits], [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...unpackBits('', 2, 1)], [0, 0]);
});
