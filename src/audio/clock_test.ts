import assert from "node:assert/strict";
import {
  frameCountFor,
  framePosition,
  frameTime,
  parseFps,
  rational,
  resampleToFrameRate,
} from "./clock.ts";

Deno.test("parseFps() maps integers, rationals and NTSC decimals to exact rationals", () => {
  assert.deepEqual(parseFps(25), { num: 25, den: 1 });
  assert.deepEqual(parseFps("30000/1001"), { num: 30000, den: 1001 });
  assert.deepEqual(parseFps("29.97"), { num: 30000, den: 1001 });
  assert.deepEqual(parseFps(23.976), { num: 24000, den: 1001 });
  assert.deepEqual(parseFps(59.94), { num: 60000, den: 1001 });
  assert.deepEqual(parseFps("50/2"), { num: 25, den: 1 });
  assert.deepEqual(parseFps("12.5"), { num: 25, den: 2 });
  assert.throws(() => parseFps("fast"), /Invalid frame rate "fast"/);
  assert.throws(() => rational(0, 1), /Invalid frame rate "0\/1"/);
});

Deno.test("frameTime() of the last frame of a 10-minute 29.97 fps track is exact", () => {
  const fps = parseFps("30000/1001");
  const n = frameCountFor(600, fps);
  assert.equal(n, 17983); // ceil(600 · 30000 / 1001) = ceil(17982.02)
  const last = frameTime(n - 1, fps); // 17982·1001/30000 s = 599.9994 s
  assert.equal(last.num * 30000, last.den * 17982 * 1001);
  assert.deepEqual(last, { num: 2999997, den: 5000 }); // lowest terms
  const { base, frac } = framePosition(n - 1, fps, 100);
  // 599.9994 s at 100 Hz = model frame 59999.94.
  assert.equal(base, 59999);
  assert.ok(Math.abs(frac - 0.94) < 1e-9);
});

Deno.test("resampleToFrameRate() has no drift over 10 minutes at every common rate", () => {
  // A ramp whose value is its own time in seconds: after resampling, each
  // video frame must read back its exact time.
  const clockHz = 100;
  const t = 600 * clockHz + 1;
  const ramp = new Float32Array(t);
  for (let j = 0; j < t; j++) ramp[j] = j / clockHz;
  for (const f of ["25", "24", "24000/1001", "30000/1001", "30", "60"]) {
    const fps = parseFps(f);
    const frames = frameCountFor(600, fps);
    const out = resampleToFrameRate(ramp, 1, clockHz, fps, frames);
    let maxErr = 0;
    for (let i = 0; i < frames; i++) {
      const exact = (i * fps.den) / fps.num;
      maxErr = Math.max(maxErr, Math.abs(out[i]! - Math.min(exact, 600)));
    }
    // float32 holds 600 s to ≈ 3e-5 s; any drift would be milliseconds.
    assert.ok(maxErr < 1e-4, `${f}: max error ${maxErr} s`);
    // The naive float accumulation this replaces is measurably off at the end.
    assert.equal(frames, Math.ceil((600 * fps.num) / fps.den - 1e-9));
  }
});

Deno.test("resampleToFrameRate() keeps channels apart and holds the last value past the end", () => {
  const track = Float32Array.from([0, 10, 1, 11, 2, 12]); // [3, 2]
  const out = resampleToFrameRate(track, 2, 100, rational(50), 3); // frames at 0, 2, 4 (clock frames)
  assert.deepEqual(Array.from(out), [0, 10, 2, 12, 2, 12]);
});
