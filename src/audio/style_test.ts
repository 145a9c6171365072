import assert from "node:assert/strict";
import { ARTICULATION_DIM, channelIndex } from "../articulation/mod.ts";
import { applyStyle, calibrateStyle } from "./style.ts";

function track(t: number, f: (j: number, ch: number) => number): Float32Array {
  const x = new Float32Array(t * ARTICULATION_DIM);
  for (let j = 0; j < t; j++) {
    for (let ch = 0; ch < ARTICULATION_DIM; ch++) x[j * ARTICULATION_DIM + ch] = f(j, ch);
  }
  return x;
}

Deno.test("calibrateStyle() matches each channel's spread to the speaker's and keeps neutral neutral", () => {
  const jaw = channelIndex("jaw_open");
  const prot = channelIndex("lip_protrusion");
  const tongue = channelIndex("tongue_visible");
  // Predicted: a 0..0.8 triangle wave on every channel.
  const pred = track(500, (j) => 0.8 * Math.abs(((j % 50) - 25) / 25));
  // Measured (different length, some frames without a face): this speaker opens
  // the jaw half as much, rounds 1.5× as much with an offset, tongue unobservable (0).
  const meas = track(400, (j, ch) => {
    if (j % 37 === 0) return NaN;
    const v = 0.8 * Math.abs((((j + 7) % 50) - 25) / 25);
    return ch === jaw ? 0.5 * v : ch === prot ? 1.5 * v * 0.8 + 0.05 : ch === tongue ? 0 : v;
  });
  const style = calibrateStyle(pred, meas);
  assert.ok(Math.abs(style.scale[jaw]! - 0.5) < 0.03, `jaw scale ${style.scale[jaw]}`);
  assert.ok(Math.abs(style.scale[prot]! - 1.2) < 0.05, `protrusion scale ${style.scale[prot]}`);
  // The measured +0.05 bias is not transferred: neutral (0) still maps to neutral.
  assert.equal(style.offset[prot], 0);
  assert.equal(style.scale[tongue], 1, "unobservable channel keeps the identity");
  assert.equal(style.offset[tongue], 0);
  const styled = applyStyle(pred, style);
  let maxJaw = 0;
  for (let j = 0; j < 500; j++) maxJaw = Math.max(maxJaw, styled[j * ARTICULATION_DIM + jaw]!);
  assert.ok(Math.abs(maxJaw - 0.4) < 0.03, `styled jaw max ${maxJaw}`);
  const rest = applyStyle(new Float32Array(ARTICULATION_DIM), style);
  assert.ok(rest.every((v) => v === 0), "a neutral frame stays neutral");
});

Deno.test("calibrateStyle() bounds the scale and rejects mismatched shapes", () => {
  const pred = track(100, (j) => (j % 10) / 10);
  const meas = track(100, (j) => (j % 10) / 1000 + 0.3); // spread 0.009 < minSpread 0.02
  const s = calibrateStyle(pred, meas);
  assert.ok(s.scale.every((v) => v === 1), "spread below minSpread keeps identity");
  const big = track(100, (j) => ((j % 10) / 10) * 0.9);
  const s2 = calibrateStyle(track(100, (j) => (j % 10) / 1000), big, { minSpread: 0.001 });
  assert.ok(s2.scale.every((v) => v <= 4), "scale bounded");
  assert.throws(
    () => calibrateStyle(new Float32Array(7), pred),
    /predicted track length 7 is not a multiple of 8/,
  );
});
