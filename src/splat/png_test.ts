import assert from "node:assert/strict";
import { decodePng, encodePng, readPng, writePng } from "./png.ts";
import { SplatInputError } from "./errors.ts";

Deno.test("encodePng()/decodePng() round-trip 8-bit values and clamp out-of-range floats", () => {
  const W = 5, H = 3;
  const rgb = new Float32Array(W * H * 3).map((_, i) => (i % 256) / 255);
  rgb[0] = -0.5, rgb[1] = 1.7;
  const alpha = new Float32Array(W * H).map((_, i) => i / (W * H - 1));
  const img = decodePng(encodePng(rgb, W, H, alpha));
  assert.equal(img.width, W);
  assert.equal(img.height, H);
  assert.equal(img.rgb[0], 0);
  assert.equal(img.rgb[1], 1);
  for (let i = 2; i < rgb.length; i++) {
    assert.ok(Math.abs(img.rgb[i]! - rgb[i]!) < 1e-6, `value ${i}`);
  }
  for (let i = 0; i < alpha.length; i++) {
    assert.ok(Math.abs(img.alpha[i]! - alpha[i]!) <= 0.5 / 255 + 1e-6);
  }
  assert.throws(() => encodePng(rgb, W + 1, H), RangeError);
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3]), "x.png"), SplatInputError);
});

Deno.test("writePng() writes atomically and readPng() reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rgb = new Float32Array(4 * 2 * 3).fill(0.2);
    await writePng(`${dir}/a.png`, rgb, 4, 2);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.png"]);
    const img = await readPng(`${dir}/a.png`);
    assert.equal(Math.round(img.rgb[5]! * 255), 51);
    assert.equal(img.alpha[0], 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
