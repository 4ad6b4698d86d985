// web/quality.js: which stream a tile asks for.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { qualityFor, whepUrlWith } from '../../web/quality.js';

test('a grid of cameras on a phone takes the light stream', () => {
  assert.equal(qualityFor({ full: false, narrow: true, tiles: 4 }), 'low');
  assert.equal(qualityFor({ full: false, narrow: true, tiles: 1 }), 'auto');
  assert.equal(qualityFor({ full: false, narrow: false, tiles: 9 }), 'auto');
});

test('the full view lets the link decide; save-data asks for the light stream', () => {
  assert.equal(qualityFor({ full: true, narrow: true, tiles: 9 }), 'auto');
  assert.equal(qualityFor({ full: true, narrow: true, tiles: 9, saveData: true }), 'auto');
  assert.equal(qualityFor({ full: false, narrow: false, tiles: 2, saveData: true }), 'low');
});

test('whepUrlWith sets the quality parameter once', () => {
  assert.equal(whepUrlWith('/api/cameras/a/whep', 'low'), '/api/cameras/a/whep?quality=low');
  assert.equal(
    whepUrlWith('/api/cameras/a/whep?quality=low', 'auto'),
    '/api/cameras/a/whep?quality=auto',
  );
  assert.equal(whepUrlWith('/api/cameras/a/whep', 'best'), '/api/cameras/a/whep');
});
