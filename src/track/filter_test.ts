import assert from "node:assert/strict";
import { OneEuroFilter } from "./filter.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

Deno.test("OneEuroFilter removes jitter from a still signal and follows a fast step with little lag", () => {
  const f = new OneEuroFilter(1, { minCutoffHz: 1, beta: 0.5, derivativeCutoffHz: 1 });
  const r = rng(3);
  const dt = 1 / 25;
  let rawJ = 0, outJ = 0, prevRaw = 0, prevOut = 0;
  for (let i = 0; i < 100; i++) {
    const x = 10 + r(); // ±0.5 jitter
    const y = f.filter([x], dt)[0]!;
    if (i > 10) {
      rawJ += (x - prevRaw) ** 2;
      outJ += (y - prevOut) ** 2;
    }
    [prevRaw, prevOut] = [x, y];
  }
  assert.ok(outJ < rawJ / 10, `jitter energy ${outJ} vs raw ${rawJ}`);
  // A 20-unit jump (a mouth opening): within 3 frames the output is > 80% there.
  let y = 0;
  for (let i = 0; i < 3; i++) y = f.filter([30], dt)[0]!;
  assert.ok(y > 10 + 0.8 * 20, `after 3 frames: ${y}`);
  // A plain low-pass at the same still-cut-off would lag far more.
  const slow = new OneEuroFilter(1, { minCutoffHz: 1, beta: 0, derivativeCutoffHz: 1 });
  slow.filter([10], dt);
  let z = 0;
  for (let i = 0; i < 3; i++) z = slow.filter([30], dt)[0]!;
  assert.ok(z < y - 5, `beta = 0 reaches ${z}`);
});

Deno.test("OneEuroFilter.reset() restarts from the next sample", () => {
  const f = new OneEuroFilter(2);
  f.filter([0, 0], 0.04);
  f.reset();
  assert.deepEqual(Array.from(f.filter([5, 7], 0.04)), [5, 7]);
  assert.throws(() => f.filter([1], 0.04), RangeError);
});
