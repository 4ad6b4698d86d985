// Zones and masks drawn on the live picture, with a mouse or a finger (pointer events).
//
// A new shape starts as a rectangle in the middle; drag its corners (points) where they
// belong, tap or click on an edge to add a point there, select a point and "Delete point",
// drag inside a shape to move it. Masks are never counted as motion (a tree, a road);
// zones are named areas: with zones, only motion touching one counts, and each zone says
// whether it raises alerts. Saved with PATCH {motion: {masks, zones}}; the detector uses
// them from its next frame. The geometry is polygon.js's.

import {
  contains,
  edgeAt,
  insertPoint,
  movePoint,
  movePolygon,
  pointIn,
  problem,
  removePoint,
  starter,
  vertexAt,
} from '/polygon.js';
import { h, note, problemText, toggle } from '/ui.js';

const SVG = 'http://www.w3.org/2000/svg';
const ZONE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const HIT = { mouse: 12, pen: 14, touch: 24 }; // pixels from a point or edge that count

export class MaskEditor {
  el;
  #ctx;
  #shapes = []; // {kind: 'mask'|'zone', points, name, alert}
  #selected = -1;
  #point = -1; // the selected point of the selected shape
  #drag = null; // {kind: 'point'|'shape', start, moved, before}
  #svg;
  #list = h('ul', { class: 'set-shapes', testid: 'shape-list' });
  #status = h('p', { role: 'status', hidden: true, testid: 'mask-status' });
  #deletePoint;
  #deleteShape;
  #resize;

  constructor(ctx) {
    this.#ctx = ctx;
    const motion = ctx.camera.motion;
    this.#shapes = [
      ...motion.masks.map((points) => ({ kind: 'mask', points, name: '', alert: false })),
      ...motion.zones.map((z) => ({
        kind: 'zone',
        points: z.points,
        name: z.name,
        alert: z.alert ?? true,
      })),
    ];
    this.#svg = document.createElementNS(SVG, 'svg');
    this.#svg.classList.add('set-shapes-svg');
    this.#svg.dataset.testid = 'mask-canvas';
    this.#svg.addEventListener('pointerdown', (e) => this.#down(e));
    this.#svg.addEventListener('pointermove', (e) => this.#move(e));
    this.#svg.addEventListener('pointerup', (e) => this.#up(e));
    this.#svg.addEventListener('pointercancel', (e) => this.#up(e));
    const media = ctx.media();
    media.append(this.#svg);
    this.#resize = new ResizeObserver(() => this.#render());
    this.#resize.observe(media);
    const button = (text, testid, onclick) =>
      h('button', { type: 'button', class: 'btn btn-small', text, testid, onclick });
    this.#deletePoint = button('Delete point', 'delete-point', () => this.#removePoint());
    this.#deleteShape = button('Delete shape', 'delete-shape', () => this.#removeShape());
    this.el = h(
      'div',
      { class: 'set-editor' },
      media,
      h('p', {
        class: 'field-help',
        text: 'Drag the points of a shape where they belong; tap an edge to add a point; drag inside a shape to move it.',
      }),
      h(
        'div',
        { class: 'set-toolbar' },
        button('Add mask', 'add-mask', () => this.#add('mask')),
        button('Add zone', 'add-zone', () => this.#add('zone')),
        this.#deletePoint,
        this.#deleteShape,
      ),
      this.#list,
      this.#status,
      h(
        'div',
        { class: 'set-actions' },
        h('button', {
          type: 'button',
          class: 'btn',
          text: 'Undo changes',
          onclick: () => ctx.reload(),
        }),
        h('button', {
          type: 'button',
          class: 'btn btn-primary',
          text: 'Save',
          testid: 'mask-save',
          onclick: () => this.#save(),
        }),
      ),
    );
    this.#render();
  }

  close() {
    this.#resize.disconnect();
    this.#svg.remove();
  }

  // ----- editing -------------------------------------------------------------------------

  #add(kind) {
    const taken = new Set(this.#shapes.map((s) => s.name));
    let n = 1;
    while (taken.has(`zone-${n}`)) n += 1;
    this.#shapes.push({
      kind,
      points: starter(this.#shapes.length),
      name: kind === 'zone' ? `zone-${n}` : '',
      alert: true,
    });
    this.#select(this.#shapes.length - 1);
  }

  #select(index, point = -1) {
    this.#selected = index;
    this.#point = point;
    this.#render();
  }

  #removePoint() {
    const shape = this.#shapes[this.#selected];
    if (!shape || this.#point < 0) return;
    const fewer = removePoint(shape.points, this.#point);
    if (fewer === shape.points)
      return note(this.#status, 'A shape keeps at least three points.', 'error');
    shape.points = fewer;
    this.#select(this.#selected);
  }

  #removeShape() {
    if (this.#selected < 0) return;
    this.#shapes.splice(this.#selected, 1);
    this.#select(-1);
  }

  #size() {
    const box = this.#svg.getBoundingClientRect();
    return { box, size: { width: box.width || 1, height: box.height || 1 } };
  }

  #down(event) {
    const { box, size } = this.#size();
    const at = pointIn(box, event.clientX, event.clientY);
    const radius = HIT[event.pointerType] ?? HIT.mouse;
    const shape = this.#shapes[this.#selected];
    let index = shape ? vertexAt(shape.points, at, size, radius) : -1;
    if (shape && index < 0) {
      const edge = edgeAt(shape.points, at, size, radius);
      if (edge) {
        shape.points = insertPoint(shape.points, edge.index, at);
        index = edge.index + 1;
      }
    }
    if (shape && index >= 0) {
      this.#drag = { kind: 'point', start: at, moved: false };
      this.#select(this.#selected, index);
    } else {
      const hit = this.#shapes
        .map((s, i) => i)
        .reverse()
        .find((i) => contains(this.#shapes[i].points, at));
      this.#select(hit ?? -1);
      if (hit !== undefined)
        this.#drag = { kind: 'shape', start: at, moved: false, before: this.#shapes[hit].points };
    }
    if (this.#drag) {
      this.#svg.setPointerCapture(event.pointerId);
      event.preventDefault();
    }
  }

  #move(event) {
    if (!this.#drag) return;
    const { box } = this.#size();
    const at = pointIn(box, event.clientX, event.clientY);
    const shape = this.#shapes[this.#selected];
    this.#drag.moved = true;
    if (this.#drag.kind === 'point') shape.points = movePoint(shape.points, this.#point, at);
    else
      shape.points = movePolygon(
        this.#drag.before,
        at[0] - this.#drag.start[0],
        at[1] - this.#drag.start[1],
      );
    this.#render();
  }

  #up() {
    this.#drag = null;
  }

  // ----- showing -------------------------------------------------------------------------

  #render() {
    const { size } = this.#size();
    this.#svg.setAttribute('viewBox', `0 0 ${size.width} ${size.height}`);
    const children = [];
    this.#shapes.forEach((shape, index) => {
      const polygon = document.createElementNS(SVG, 'polygon');
      polygon.setAttribute(
        'points',
        shape.points.map(([x, y]) => `${x * size.width},${y * size.height}`).join(' '),
      );
      polygon.classList.add(`shape-${shape.kind}`);
      polygon.classList.toggle('is-selected', index === this.#selected);
      polygon.dataset.testid = `shape-${index}`;
      children.push(polygon);
    });
    const selected = this.#shapes[this.#selected];
    selected?.points.forEach(([x, y], index) => {
      const handle = document.createElementNS(SVG, 'circle');
      handle.setAttribute('cx', x * size.width);
      handle.setAttribute('cy', y * size.height);
      handle.setAttribute('r', index === this.#point ? 10 : 8);
      handle.classList.add('shape-point');
      handle.classList.toggle('is-selected', index === this.#point);
      children.push(handle);
    });
    this.#svg.replaceChildren(...children);
    this.#deletePoint.disabled = this.#point < 0;
    this.#deleteShape.disabled = this.#selected < 0;
    this.#renderList();
  }

  #renderList() {
    const rows = this.#shapes.map((shape, index) => {
      const row = h('li', {
        class: `set-shape${index === this.#selected ? ' is-selected' : ''}`,
        testid: `shape-row-${index}`,
      });
      const pick = h('button', {
        type: 'button',
        class: `swatch swatch-${shape.kind}`,
        'aria-label': `Select ${shape.kind} ${index + 1}`,
        onclick: () => this.#select(index),
      });
      if (shape.kind === 'mask') {
        row.append(
          pick,
          h('span', { text: `Mask ${index + 1} · ${shape.points.length} points (never counted)` }),
        );
        return row;
      }
      const name = h('input', {
        value: shape.name,
        'aria-label': 'Zone name',
        testid: `zone-name-${index}`,
        oninput: () => (shape.name = name.value.trim().toLowerCase()),
      });
      const alert = toggle('Alerts', shape.alert, { testid: `zone-alert-${index}` });
      alert.input.addEventListener('change', () => (shape.alert = alert.input.checked));
      row.append(pick, name, alert.el);
      return row;
    });
    this.#list.replaceChildren(...rows);
    if (!rows.length)
      this.#list.append(
        h('li', { class: 'set-empty', text: 'No zones or masks: all motion counts.' }),
      );
  }

  async #save() {
    const zones = this.#shapes.filter((s) => s.kind === 'zone');
    for (const [index, shape] of this.#shapes.entries()) {
      const wrong =
        problem(shape.points) ??
        (shape.kind === 'zone' && !ZONE_NAME.test(shape.name)
          ? 'a zone name is lowercase letters, digits, - and _'
          : null);
      if (wrong) {
        this.#select(index);
        return note(this.#status, `Shape ${index + 1}: ${wrong}.`, 'error');
      }
    }
    if (new Set(zones.map((z) => z.name)).size !== zones.length)
      return note(this.#status, 'Two zones have the same name.', 'error');
    const motion = {
      masks: this.#shapes.filter((s) => s.kind === 'mask').map((s) => s.points),
      zones: zones.map((z) => ({ name: z.name, points: z.points, alert: z.alert })),
    };
    const result = await this.#ctx.save({ motion });
    if (result.ok) note(this.#status, 'Saved: the detector uses them from its next picture.', 'ok');
    else note(this.#status, problemText(result), 'error');
  }
}
