import assert from "node:assert/strict";
import {
  decodePng,
  decodePngFloat,
  encodePng,
  encodePngFloat,
  ImageInputError,
  readPng,
  readPngFloat,
  writePng,
  writePngFloat,
} from "./png.ts";

Deno.test("encodePng()/decodePng() round-trip gray, RGB and RGBA 8-bit images", () => {
  const W = 7, H = 3;
  for (const C of [1, 3, 4] as const) {
    const data = new Uint8Array(W * H * C).map((_, i) => (i * 37 + C) & 255);
    const back = decodePng(encodePng({ width: W, height: H, channels: C, data }));
    assert.equal(back.channels, 4);
    for (let p = 0; p < W * H; p++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(
          back.data[p * 4 + c],
          data[p * C + (C === 1 ? 0 : c)],
          `C=${C} px ${p} ch ${c}`,
        );
      }
      assert.equal(back.data[p * 4 + 3], C === 4 ? data[p * 4 + 3] : 255);
    }
  }
  assert.throws(
    () => encodePng({ width: W, height: H, channels: 3, data: new Uint8Array(5) }),
    RangeError,
  );
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3]), "x.png"), ImageInputError);
});

Deno.test("encodePngFloat()/decodePngFloat() round-trip 8-bit values and clamp out-of-range floats", () => {
  const W = 5, H = 3;
  const rgb = new Float32Array(W * H * 3).map((_, i) => (i % 256) / 255);
  rgb[0] = -0.5, rgb[1] = 1.7;
  const alpha = new Float32Array(W * H).map((_, i) => i / (W * H - 1));
  const img = decodePngFloat(encodePngFloat(rgb, W, H, alpha));
  assert.equal(img.width, W);
  assert.equal(img.rgb[0], 0);
  assert.equal(img.rgb[1], 1);
  for (let i = 2; i < rgb.length; i++) {
    assert.ok(Math.abs(img.rgb[i]! - rgb[i]!) < 1e-6, `value ${i}`);
  }
  for (let i = 0; i < alpha.length; i++) {
    assert.ok(Math.abs(img.alpha[i]! - alpha[i]!) <= 0.5 / 255 + 1e-6);
  }
  assert.throws(() => encodePngFloat(rgb, W + 1, H), RangeError);
});

Deno.test("writePng()/writePngFloat() write atomically; readPng() names a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writePngFloat(`${dir}/a.png`, new Float32Array(4 * 2 * 3).fill(0.2), 4, 2);
    await writePng(`${dir}/b.png`, { width: 1, height: 1, channels: 1, data: new Uint8Array([9]) });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.png", "b.png"]);
    assert.equal(Math.round((await readPngFloat(`${dir}/a.png`)).rgb[5]! * 255), 51);
    assert.deepEqual([...(await readPng(`${dir}/b.png`)).data], [9, 9, 9, 255]);
    await assert.rejects(() => readPng(`${dir}/none.png`), (e: Error) => {
      assert.ok(e instanceof ImageInputError);
      assert.match(e.message, /Cannot read ".*none\.png": file not found/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
