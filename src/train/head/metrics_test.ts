import assert from "node:assert/strict";
import { bestLag, closureShare, maskedPsnr, pearson } from "./metrics.ts";

Deno.test("maskedPsnr() ignores pixels outside the mask and is 20 dB for a 0.1 error", () => {
  const a = new Float32Array(4 * 3).fill(0.5);
  const b = Float32Array.from(a);
  for (let c = 0; c < 3; c++) b[c] = 0.6, b[9 + c] = 0; // pixel 0 off by 0.1, pixel 3 way off
  const mask = Float32Array.of(1, 1, 1, 0);
  // MSE over pixels 0–2 = 0.01 / 3 → 10·log10(300) dB.
  assert.ok(Math.abs(maskedPsnr(a, b, mask) - 10 * Math.log10(300)) < 1e-4);
  assert.equal(maskedPsnr(a, a, mask), Infinity);
});

Deno.test("pearson() and bestLag() find a shifted copy", () => {
  const x = Array.from({ length: 80 }, (_, t) => Math.sin(t / 3) + 0.3 * Math.sin(t / 1.7));
  const late = x.map((_, t) => x[Math.max(0, t - 2)]!); // measured 2 frames late
  const { lag, r } = bestLag(x, late, 5);
  assert.equal(lag, 2);
  assert.ok(r > 0.99);
  assert.ok(pearson(x, x.map((v) => -v)) < -0.999);
  assert.ok(Number.isNaN(pearson(x, x.map(() => 1))));
});

Deno.test("closureShare() counts closed among driven closures only", () => {
  assert.equal(closureShare([true, true, false, true], [true, false, false, true]), 2 / 3);
  assert.ok(Number.isNaN(closureShare([false], [true])));
});
