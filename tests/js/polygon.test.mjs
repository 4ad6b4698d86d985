// web/polygon.js: the zone and mask editor's geometry.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  area,
  contains,
  edgeAt,
  insertPoint,
  movePoint,
  movePolygon,
  pointIn,
  problem,
  removePoint,
  selfIntersects,
  starter,
  tidy,
  toSegment,
  vertexAt,
} from '../../web/polygon.js';

const SQUARE = [
  [0.2, 0.2],
  [0.6, 0.2],
  [0.6, 0.6],
  [0.2, 0.6],
];
const SIZE = { width: 400, height: 200 };

test('points are rounded to the config precision and kept inside the picture', () => {
  assert.deepEqual(tidy([0.123456, -0.2]), [0.1235, 0]);
  assert.deepEqual(tidy([1.7, 0.5]), [1, 0.5]);
  assert.deepEqual(pointIn({ left: 10, top: 20, width: 400, height: 200 }, 110, 70), [0.25, 0.25]);
});

test('a vertex is hit within the radius in pixels, the nearest first', () => {
  assert.equal(vertexAt(SQUARE, [0.21, 0.21], SIZE, 10), 0);
  assert.equal(vertexAt(SQUARE, [0.4, 0.4], SIZE, 10), -1);
  // 0.03 of the width is 12 px: out of a 10 px radius, inside a 15 px one.
  assert.equal(vertexAt(SQUARE, [0.63, 0.6], SIZE, 10), -1);
  assert.equal(vertexAt(SQUARE, [0.63, 0.6], SIZE, 15), 2);
});

test('an edge is hit near its line, and a point is inserted after its first vertex', () => {
  assert.deepEqual(toSegment([5, 5], [0, 0], [10, 0]), { distance: 5, t: 0.5 });
  const hit = edgeAt(SQUARE, [0.4, 0.21], SIZE, 8);
  assert.equal(hit.index, 0);
  assert.equal(edgeAt(SQUARE, [0.4, 0.4], SIZE, 8), null);
  const more = insertPoint(SQUARE, hit.index, [0.4, 0.21]);
  assert.deepEqual(more[1], [0.4, 0.21]);
  assert.equal(more.length, 5);
});

test('moving and removing points', () => {
  assert.deepEqual(movePoint(SQUARE, 1, [0.9, 1.5])[1], [0.9, 1]);
  assert.equal(removePoint(SQUARE, 0).length, 3);
  const triangle = removePoint(SQUARE, 0);
  assert.equal(removePoint(triangle, 0), triangle); // three is the least
});

test('a moved polygon stops at the edges and keeps its shape', () => {
  const moved = movePolygon(SQUARE, 0.7, -0.5);
  assert.deepEqual(moved, [
    [0.6, 0],
    [1, 0],
    [1, 0.4],
    [0.6, 0.4],
  ]);
});

test('inside, area and crossing edges', () => {
  assert.equal(contains(SQUARE, [0.4, 0.4]), true);
  assert.equal(contains(SQUARE, [0.7, 0.4]), false);
  assert.ok(Math.abs(area(SQUARE) - 0.16) < 1e-9);
  const bowtie = [
    [0.2, 0.2],
    [0.6, 0.6],
    [0.6, 0.2],
    [0.2, 0.6],
  ];
  assert.equal(selfIntersects(SQUARE), false);
  assert.equal(selfIntersects(bowtie), true);
  assert.equal(problem(bowtie), 'the shape crosses itself');
  assert.equal(problem(SQUARE.slice(0, 2)), 'a shape needs at least 3 points');
  assert.equal(
    problem([
      [0.1, 0.1],
      [0.2, 0.2],
      [0.3, 0.3],
    ]),
    'the shape has no area',
  );
  assert.equal(problem(SQUARE), null);
  assert.equal(problem(starter(1)), null);
});
