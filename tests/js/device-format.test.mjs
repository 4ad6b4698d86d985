// web/device-format.js: capture devices and V4L2 controls in words and form fields.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  configSnippet,
  controlField,
  describeFormats,
  deviceTitle,
  fieldValue,
  sortControls,
} from '/device-format.js';

const C920 = {
  path: '/dev/video2',
  card: 'HD Pro Webcam C920',
  bus: 'usb',
  source: 'v4l2:usb-046d:082d-A1B2C3D4',
  usb: { vendor: '046d', product: '082d' },
  formats: [
    {
      fourcc: 'YUYV',
      label: 'YUYV',
      input_format: 'yuyv422',
      sizes: [
        { width: 640, height: 480, fps: [30, 15] },
        { width: 1280, height: 720, fps: [10, 5] },
      ],
    },
    {
      fourcc: 'MJPG',
      label: 'MJPEG',
      input_format: 'mjpeg',
      sizes: [
        { width: 1280, height: 720, fps: [30] },
        { width: 1920, height: 1080, fps: [30] },
        { width: 640, height: 480, fps: [] },
      ],
    },
    { fourcc: 'Y10B', label: 'Y10B', input_format: null, sizes: [] },
  ],
  suggested: { id: 'hd-pro-webcam-c920', name: 'HD Pro Webcam C920', audio: 'auto' },
};

describe('devices', () => {
  test('formats: compressed first, largest sizes, unreadable ones left out', () => {
    assert.equal(
      describeFormats(C920),
      'MJPEG 1920x1080@30, 1280x720@30 · YUYV 1280x720@10, 640x480@30',
    );
    assert.equal(describeFormats({ formats: [] }), '');
  });

  test('a size without known rates has none shown', () => {
    assert.equal(
      describeFormats(C920, { formats: 1, sizes: 3 }),
      'MJPEG 1920x1080@30, 1280x720@30, 640x480',
    );
  });

  test('the config snippet names the device by identity', () => {
    assert.equal(
      configSnippet(C920),
      [
        '  - id: hd-pro-webcam-c920',
        '    name: "HD Pro Webcam C920"',
        '    source: "v4l2:usb-046d:082d-A1B2C3D4"',
        '    audio: auto',
      ].join('\n'),
    );
  });

  test('title', () => {
    assert.equal(deviceTitle(C920), 'HD Pro Webcam C920 (USB 046d:082d, /dev/video2)');
    assert.equal(
      deviceTitle({ card: 'vivid', bus: 'platform', path: '/dev/video0' }),
      'vivid (platform, /dev/video0)',
    );
  });
});

describe('controls', () => {
  const brightness = {
    name: 'brightness',
    label: 'Brightness',
    type: 'integer',
    min: 0,
    max: 255,
    step: 1,
    default: 128,
    value: 140,
    menu: null,
  };
  const power = {
    name: 'power_line_frequency',
    label: 'Power Line Frequency',
    type: 'menu',
    min: 0,
    max: 2,
    step: 1,
    default: 1,
    value: 1,
    menu: { 2: '60 Hz', 0: 'Disabled', 1: '50 Hz' },
  };
  const exposure = {
    name: 'exposure_time_absolute',
    label: 'Exposure Time, Absolute',
    type: 'integer',
    min: 3,
    max: 2047,
    step: 1,
    default: 250,
    value: 250,
    menu: null,
    inactive: true,
  };
  const flip = {
    name: 'horizontal_flip',
    label: 'Horizontal Flip',
    type: 'boolean',
    min: 0,
    max: 1,
    step: 1,
    default: 0,
    value: true,
    menu: null,
  };

  test('fields by type; inactive ones disabled', () => {
    assert.deepEqual(controlField(brightness), {
      kind: 'range',
      min: 0,
      max: 255,
      step: 1,
      value: 140,
      disabled: false,
    });
    assert.deepEqual(
      controlField(power).options.map((o) => o.label),
      ['Disabled', '50 Hz', '60 Hz'],
    );
    assert.equal(controlField(exposure).disabled, true);
    assert.deepEqual(controlField(flip), { kind: 'checkbox', checked: true, disabled: false });
  });

  test('values sent', () => {
    assert.equal(fieldValue(brightness, '200'), 200);
    assert.equal(fieldValue(brightness, 'x'), null);
    assert.equal(fieldValue(flip, false), false);
    assert.equal(fieldValue(power, '2'), 2);
  });

  test('common controls first', () => {
    const other = { name: 'zoom', label: 'A zoom' };
    assert.deepEqual(
      sortControls([other, power, flip, brightness]).map((c) => c.name),
      ['brightness', 'power_line_frequency', 'zoom', 'horizontal_flip'],
    );
  });
});
