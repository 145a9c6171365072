import assert from "node:assert/strict";
import { ARTICULATION_DIM } from "../articulation/mod.ts";
import { pickFrames } from "./video_compare.ts";

Deno.test("pickFrames() spreads pictures over the clip and adds the largest articulation changes", () => {
  assert.deepEqual(pickFrames(100, 4, 0, null).map((p) => p.index), [12, 37, 62, 87]);
  // Articulation jumps at frames 50 (large) and 80 (smaller); 51 is too close to 50.
  const a = new Float32Array(100 * ARTICULATION_DIM);
  for (let i = 50; i < 100; i++) a[i * ARTICULATION_DIM] = 0.8;
  for (let i = 51; i < 100; i++) a[i * ARTICULATION_DIM + 1] = 0.3;
  for (let i = 80; i < 100; i++) a[i * ARTICULATION_DIM + 2] = 0.5;
  const picks = pickFrames(100, 4, 2, a);
  const change = picks.filter((p) => p.why === "largest articulation change").map((p) => p.index);
  assert.deepEqual(change, [50, 80]);
  assert.deepEqual(picks.map((p) => p.index), [12, 37, 50, 62, 80, 87]);
  // A change frame within 5 frames of a spread frame replaces it (no near-duplicate pictures).
  const b = new Float32Array(100 * ARTICULATION_DIM);
  for (let i = 36; i < 100; i++) b[i * ARTICULATION_DIM] = 1;
  assert.deepEqual(pickFrames(100, 4, 1, b).map((p) => p.index), [12, 36, 62, 87]);
  // NaN rows (frames without a face) are skipped, not picked.
  a.fill(NaN, 60 * ARTICULATION_DIM, 61 * ARTICULATION_DIM);
  assert.ok(!pickFrames(100, 0, 3, a).some((p) => p.index === 60 || p.index === 61));
});
