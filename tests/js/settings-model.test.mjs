// web/camera-model.js and web/motion-scale.js: the camera form's and the tuner's pure parts.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  devicesFrom,
  errorsByField,
  freeId,
  mergePatch,
  slugify,
  sourceKind,
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

test('devices from the devices route, whatever its exact shape', () => {
  const nested = {
    video: [{ path: '/dev/video0', name: 'HD Webcam', in_use: 'porch', paired_audio: 'hw:1,0' }],
    audio: [{ device: 'hw:1,0', label: 'Webcam mic' }],
  };
  assert.deepEqual(devicesFrom(nested), {
    video: [{ path: '/dev/video0', label: 'HD Webcam', inUse: 'porch', audio: 'hw:1,0' }],
    audio: [{ path: 'hw:1,0', label: 'Webcam mic', inUse: null, audio: null }],
  });
  const flat = [{ id: '/dev/video2', kind: 'video', in_use: true }, { nothing: 1 }, 'x'];
  assert.deepEqual(devicesFrom(flat).video, [
    { path: '/dev/video2', label: '/dev/video2', inUse: 'another camera', audio: null },
  ]);
  assert.deepEqual(devicesFrom(null), { video: [], audio: [] });
});

test('the server errors by field, and source kinds', () => {
  const errors = [
    { field: 'cameras.yard.fps', message: 'too fast' },
    { field: 'cameras.yard.fps', message: 'second' },
  ];
  assert.deepEqual([...errorsByField(errors, 'cameras.yard.')], [['fps', 'too fast']]);
  assert.equal(sourceKind('demo'), 'demo');
  assert.equal(sourceKind('/dev/video0'), 'v4l2');
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
