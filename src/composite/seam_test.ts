import assert from "node:assert/strict";
import { type Contour, contourWeight, optimalSeam } from "./seam.ts";

/** A w×h scene round (40, 40): inner disc r < rIn, allowed disc r < rOut, cost from `f(r)`. */
function scene(rIn: number, rOut: number, f: (r: number) => number) {
  const w = 80, h = 80, cost = new Float32Array(w * h);
  const inner = new Uint8Array(w * h), allowed = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const r = Math.hypot(x + 0.5 - 40, y + 0.5 - 40), i = y * w + x;
      cost[i] = f(r);
      inner[i] = r < rIn ? 1 : 0;
      allowed[i] = r < rOut ? 1 : 0;
    }
  }
  return { w, h, cost, inner, allowed };
}

const stats = (c: Contour) => {
  const r = Array.from(c.radii);
  return { min: Math.min(...r), max: Math.max(...r) };
};

Deno.test("optimalSeam() runs along the cheap ring between the inner and outer limits", () => {
  const s = scene(10, 35, (r) => (r >= 20 && r <= 23 ? 1 : 10));
  const c = optimalSeam(s.cost, s.inner, s.allowed, s.w, s.h, [40, 40], 0.3, 60, 2, null);
  const { min, max } = stats(c);
  assert.ok(min >= 19.5 && max <= 23.5, `radii ${min}..${max}, the cheap ring is 20..23`);
});

Deno.test("optimalSeam() keeps the margin to both limits even when the cheapest place is outside them", () => {
  // Cheapest inside the inner region (r ≈ 5) → the contour sits at inner + margin.
  const a = scene(10, 35, (r) => (r < 8 ? 0 : 10 + r));
  const ca = optimalSeam(a.cost, a.inner, a.allowed, a.w, a.h, [40, 40], 0, 60, 3, null);
  assert.ok(stats(ca).min >= 12, `min radius ${stats(ca).min} (inner 10 + margin 3)`);
  // Cheapest outside the allowed region → the contour sits at the outer limit − margin.
  const b = scene(10, 30, (r) => Math.max(0, 40 - r));
  const cb = optimalSeam(b.cost, b.inner, b.allowed, b.w, b.h, [40, 40], 0, 60, 3, null);
  assert.ok(stats(cb).max <= 27.5, `max radius ${stats(cb).max} (outer 30 − margin 3)`);
  assert.ok(stats(cb).min >= 24, `min radius ${stats(cb).min}: it went as far out as allowed`);
});

Deno.test("optimalSeam() stays near the previous frame's contour when the cost does not prefer a place", () => {
  const s = scene(10, 35, () => 5);
  const free = optimalSeam(s.cost, s.inner, s.allowed, s.w, s.h, [40, 40], 0, 60, 2, null);
  // Without a prior the arc-length cost pulls the contour in to the inner limit.
  assert.ok(stats(free).max <= 13, `free contour max ${stats(free).max}`);
  const prev: Contour = {
    center: [40, 40],
    angle0: 0,
    radii: new Float32Array(96).fill(24),
    sizePx: 60,
  };
  const held = optimalSeam(s.cost, s.inner, s.allowed, s.w, s.h, [40, 40], 0, 60, 2, prev);
  const { min, max } = stats(held);
  assert.ok(min >= 23 && max <= 25, `with the prior at 24: ${min}..${max}`);
});

Deno.test("contourWeight() is 1 inside, 0 outside and ½ on the contour", () => {
  const c: Contour = {
    center: [20, 20],
    angle0: 0,
    radii: new Float32Array(32).fill(10),
    sizePx: 40,
  };
  const wgt = contourWeight(c, 40, 40, 4);
  assert.equal(wgt[19 * 40 + 19], 1);
  assert.equal(wgt[0], 0);
  // (29.5, 19.5) is 9.5 px out from (20, 20): t = (10 − 9.5)/4 + 0.5 = 0.625.
  const v = wgt[19 * 40 + 29]!;
  assert.ok(Math.abs(v - 0.625 * 0.625 * (3 - 2 * 0.625)) < 0.02, `weight ${v}`);
});
