import assert from "node:assert/strict";
import {
  collapseLaplacian,
  convertChannels,
  downscaleBox,
  f32ToU8,
  gaussianPyramid,
  joinAlpha,
  laplacianPyramid,
  pyramidLevels,
  resizeBilinear,
  splitAlpha,
  u8ToF32,
} from "./mod.ts";

Deno.test("u8ToF32()/f32ToU8() round-trip every 8-bit value and clamp", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(f32ToU8(u8ToF32(all)), all);
  assert.deepEqual([...f32ToU8(new Float32Array([-1, 2, 0.5]))], [0, 255, 128]);
});

Deno.test("convertChannels() replicates gray, takes Rec.601 luma, adds and drops alpha", () => {
  assert.deepEqual([...convertChannels(new Uint8Array([10, 200]), 1, 3, 255)], [
    10,
    10,
    10,
    200,
    200,
    200,
  ]);
  assert.deepEqual([...convertChannels(new Uint8Array([255, 0, 0]), 3, 1, 255)], [76]);
  assert.deepEqual([...convertChannels(new Uint8Array([1, 2, 3]), 3, 4, 255)], [1, 2, 3, 255]);
  assert.deepEqual([...convertChannels(new Uint8Array([1, 2, 3, 4]), 4, 3, 255)], [1, 2, 3]);
  const rgba = new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  const { rgb, alpha } = splitAlpha(rgba);
  assert.deepEqual([...alpha], [rgba[3], rgba[7]]);
  assert.deepEqual(joinAlpha(rgb, alpha), rgba);
});

Deno.test("resizeBilinear() keeps a constant and a linear ramp; downscaleBox() averages blocks", () => {
  const W = 8, H = 6;
  const ramp = new Float32Array(W * H).map((_, i) => i % W); // value = x
  const r = resizeBilinear({ width: W, height: H, channels: 1, data: ramp }, 16, 3);
  // x_src = (x + 0.5)/2 − 0.5 for interior pixels (away from the clamped edge).
  for (let x = 1; x < 15; x++) assert.ok(Math.abs(r.data[x]! - ((x + 0.5) / 2 - 0.5)) < 1e-6);
  const src = new Uint8Array([0, 2, 4, 6, 10, 12, 14, 16]); // 4×2 gray
  const dst = new Uint8Array(2);
  downscaleBox(src, 4, 2, 1, dst, 2, 1);
  assert.deepEqual([...dst], [
    Math.floor((0 + 2 + 10 + 12) / 4),
    Math.floor((4 + 6 + 14 + 16) / 4),
  ]);
});

Deno.test("laplacianPyramid() collapses back exactly; the Gaussian top is the blurred mean", () => {
  const W = 37, H = 29, C = 3;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const img = { width: W, height: H, channels: C, data: new Float32Array(W * H * C).map(rand) };
  const levels = pyramidLevels(W, H, 6, 4);
  assert.equal(levels, 4); // sides halve (rounded up) while the smaller one stays ≥ 4
  const lap = laplacianPyramid(img, levels);
  assert.deepEqual(lap.map((l) => [l.width, l.height]), [[37, 29], [19, 15], [10, 8], [5, 4]]);
  const back = collapseLaplacian(lap);
  for (let i = 0; i < img.data.length; i++) {
    assert.ok(Math.abs(back.data[i]! - img.data[i]!) < 1e-5);
  }
  // A constant image has zero detail bands and a constant top.
  const flat = { width: W, height: H, channels: 1, data: new Float32Array(W * H).fill(0.25) };
  const g = gaussianPyramid(flat, 3);
  for (const v of g[2]!.data) assert.ok(Math.abs(v - 0.25) < 1e-6);
  for (const v of laplacianPyramid(flat, 3)[0]!.data) assert.ok(Math.abs(v) < 1e-6);
});
