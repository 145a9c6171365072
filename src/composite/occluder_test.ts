import assert from "node:assert/strict";
import { lcg } from "./_testutil.ts";
import { occlusionWeight } from "./occluder.ts";

/** 80×80 differences: |N(0, 3)| + 4 everywhere (the render's usual error), plus `blob` levels in a disc. */
function diffScene(blob: number, seed = 1) {
  const w = 80, h = 80, rnd = lcg(seed), diff = new Float32Array(w * h);
  const region = new Uint8Array(w * h).fill(1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const g = Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
      const inBlob = Math.hypot(x - 50, y - 30) < 10;
      diff[y * w + x] = Math.abs(3 * g) + 4 + (inBlob ? blob : 0);
    }
  }
  return { w, h, diff, region };
}

Deno.test("occlusionWeight() finds a blob far beyond the render's usual error, not the error itself", () => {
  const s = diffScene(40);
  const { weight, map, threshold } = occlusionWeight(s.diff, s.region, s.w, s.h, 2, 3, null);
  let inBlob = 0, blobN = 0, outside = 0;
  for (let y = 0; y < s.h; y++) {
    for (let x = 0; x < s.w; x++) {
      const r = Math.hypot(x - 50, y - 30), i = y * s.w + x;
      if (r < 8) blobN++, inBlob += weight[i]!;
      if (r > 16) outside += map[i]!;
    }
  }
  assert.ok(threshold >= 20 && threshold < 44, `threshold ${threshold}`);
  assert.ok(inBlob / blobN > 0.99, `blob covered ${inBlob / blobN}`);
  assert.equal(outside, 0, "no occluder away from the blob");
  // Nothing stands out: nothing is occluded.
  const none = diffScene(0, 2);
  const r = occlusionWeight(none.diff, none.region, none.w, none.h, 2, 3, null);
  assert.equal(r.share, 0);
});

Deno.test("occlusionWeight() keeps last frame's occluder down to 60 % of the threshold (no flicker at the edge)", () => {
  const strong = diffScene(40, 3), weak = diffScene(9, 4); // weak: ≈ 13–21 levels in the blob
  const first = occlusionWeight(strong.diff, strong.region, 80, 80, 2, 3, null);
  const alone = occlusionWeight(weak.diff, weak.region, 80, 80, 2, 3, null);
  const held = occlusionWeight(weak.diff, weak.region, 80, 80, 2, 3, first.map);
  assert.ok(alone.share < 0.01, `weak blob alone: ${alone.share}`);
  assert.ok(held.share > 0.03, `weak blob held after a strong one: ${held.share}`);
  // Only inside the region.
  const region = new Uint8Array(80 * 80);
  const off = occlusionWeight(strong.diff, region, 80, 80, 2, 3, null);
  assert.equal(off.share, 0);
});
