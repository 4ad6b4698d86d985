// Polygons for the zone and mask editor, pure: points are [x, y] normalised 0..1 from the
// picture's top-left corner (the config's format); hit tests take the picture's size in
// pixels so that "near" means the same distance under a finger whatever the picture.

export const MIN_POINTS = 3;
export const MAX_POINTS = 64;
const DIGITS = 4; // the config keeps 4 decimals: a tenth of a pixel of a 4K picture

export const clamp01 = (v) => Math.min(1, Math.max(0, v));

/** Round to the config's precision and keep inside the picture. */
export function tidy(point) {
  const round = (v) => Math.round(clamp01(v) * 10 ** DIGITS) / 10 ** DIGITS;
  return [round(point[0]), round(point[1])];
}

/** A pointer position (client pixels) as a normalised point on a box (a DOMRect). */
export function pointIn(box, clientX, clientY) {
  return tidy([(clientX - box.left) / box.width, (clientY - box.top) / box.height]);
}

const px = (p, size) => [p[0] * size.width, p[1] * size.height];

function distance(a, b) {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Distance (pixels) from p to the segment a-b, and where along it (0..1) it is nearest. */
export function toSegment(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = dx * dx + dy * dy;
  const t = length
    ? Math.min(1, Math.max(0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length))
    : 0;
  return { distance: distance(p, [a[0] + t * dx, a[1] + t * dy]), t };
}

/** The index of the vertex within `radius` pixels of `point` (the nearest), or -1. */
export function vertexAt(points, point, size, radius) {
  let best = -1;
  let bestDistance = radius;
  points.forEach((vertex, index) => {
    const d = distance(px(vertex, size), px(point, size));
    if (d <= bestDistance) {
      best = index;
      bestDistance = d;
    }
  });
  return best;
}

/** The edge within `radius` pixels of `point`: {index} to insert after, or null. */
export function edgeAt(points, point, size, radius) {
  let best = null;
  for (let i = 0; i < points.length; i += 1) {
    const a = px(points[i], size);
    const b = px(points[(i + 1) % points.length], size);
    const hit = toSegment(px(point, size), a, b);
    if (hit.distance <= radius && (!best || hit.distance < best.distance)) {
      best = { index: i, distance: hit.distance };
    }
  }
  return best;
}

/** Points with `point` inserted after `index` (a new vertex on that edge). */
export function insertPoint(points, index, point) {
  if (points.length >= MAX_POINTS) return points;
  return [...points.slice(0, index + 1), tidy(point), ...points.slice(index + 1)];
}

export function movePoint(points, index, point) {
  return points.map((vertex, i) => (i === index ? tidy(point) : vertex));
}

/** Points without the vertex at `index`; unchanged when that would leave fewer than 3. */
export function removePoint(points, index) {
  if (points.length <= MIN_POINTS) return points;
  return points.filter((_, i) => i !== index);
}

/** The polygon moved by (dx, dy), stopped at the picture's edges (its shape kept). */
export function movePolygon(points, dx, dy) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const mx = Math.min(Math.max(dx, -Math.min(...xs)), 1 - Math.max(...xs));
  const my = Math.min(Math.max(dy, -Math.min(...ys)), 1 - Math.max(...ys));
  return points.map((p) => tidy([p[0] + mx, p[1] + my]));
}

/** Whether a point is inside the polygon (even-odd rule). */
export function contains(points, point) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > point[1] !== yj > point[1]) {
      const x = ((xj - xi) * (point[1] - yi)) / (yj - yi) + xi;
      if (point[0] < x) inside = !inside;
    }
  }
  return inside;
}

/** The area (normalised: 1 is the whole picture). */
export function area(points) {
  let sum = 0;
  for (let i = 0; i < points.length; i += 1) {
    const [x1, y1] = points[i];
    const [x2, y2] = points[(i + 1) % points.length];
    sum += x1 * y2 - x2 * y1;
  }
  return Math.abs(sum) / 2;
}

function crosses(a, b, c, d) {
  const turn = (p, q, r) =>
    Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  return turn(a, b, c) * turn(a, b, d) < 0 && turn(c, d, a) * turn(c, d, b) < 0;
}

/** Whether two edges that do not share a vertex cross (a figure of eight). */
export function selfIntersects(points) {
  const n = points.length;
  for (let i = 0; i < n; i += 1) {
    for (let j = i + 2; j < n; j += 1) {
      if (i === 0 && j === n - 1) continue; // neighbours through the closing edge
      if (crosses(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n])) return true;
    }
  }
  return false;
}

/** What is wrong with a polygon for the config, or null. */
export function problem(points) {
  if (points.length < MIN_POINTS) return `a shape needs at least ${MIN_POINTS} points`;
  if (points.length > MAX_POINTS) return `a shape has at most ${MAX_POINTS} points`;
  if (selfIntersects(points)) return 'the shape crosses itself';
  if (area(points) < 1e-5) return 'the shape has no area';
  return null;
}

/** A rectangle covering the middle of the picture: the starting shape. */
export function starter(index = 0) {
  const o = 0.05 * (index % 4);
  return [
    [0.3 + o, 0.3 + o],
    [0.7 + o, 0.3 + o],
    [0.7 + o, 0.7 + o],
    [0.3 + o, 0.7 + o],
  ].map(tidy);
}
